/* Login IDs to directory names: the seed's login separator and default domain. A pure
 * function, so every rule has a table-driven test. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"

size_t auth_id_candidates(const char *id, const char *separator, const char *defdomain,
                          char names_r[2][AUTH_ID_MAX + 1])
{
    char q[AUTH_ID_MAX + 1];
    size_t len = strlen(id), n = 0;

    if (len == 0 || len > AUTH_ID_MAX)
        return 0;
    memcpy(q, id, len + 1);
    /* clients that cannot type '@' use the separator instead (the seed's login separator) */
    if (strchr(q, '@') == NULL && separator != NULL && separator[0] != '\0') {
        char *sep = strrchr(q, separator[0]);
        if (sep != NULL && sep != q && sep[1] != '\0')
            *sep = '@';
    }
    char *at = strchr(q, '@');
    if (at == q || (at != NULL && (at[1] == '\0' || strchr(at + 1, '@') != NULL)))
        return 0;
    if (at == NULL && defdomain[0] != '\0') {
        if ((size_t)snprintf(names_r[n], AUTH_ID_MAX + 1, "%s@%s", q, defdomain) <= AUTH_ID_MAX)
            n++;
        snprintf(names_r[n++], AUTH_ID_MAX + 1, "%s", q);
        return n;
    }
    snprintf(names_r[n++], AUTH_ID_MAX + 1, "%s", q);
    if (at != NULL && (defdomain[0] == '\0' || strcasecmp(at + 1, defdomain) == 0)) {
        *at = '\0';
        snprintf(names_r[n++], AUTH_ID_MAX + 1, "%s", q);
    }
    return n;
}
