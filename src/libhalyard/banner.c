/* Banner expansion. A pure function: configuration text in, one protocol-safe line out. */
#include "banner.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *banner_expand(const char *tmpl, const char *host, const char *protocol, const char *product,
                    const char *version)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    if (f == NULL)
        return NULL;
    for (const char *p = tmpl; *p != '\0'; p++) {
        const char *sub = NULL;
        if (*p == '%' && p[1] != '\0') {
            switch (p[1]) {
            case 'h':
                sub = host;
                break;
            case 'p':
                sub = protocol;
                break;
            case 'P':
                sub = product;
                break;
            case 'V':
                sub = version;
                break;
            case '%':
                sub = "%";
                break;
            default:
                break;
            }
        }
        if (sub != NULL) {
            fputs(sub, f);
            p++;
        } else {
            fputc((unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p, f);
        }
    }
    if (fclose(f) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
