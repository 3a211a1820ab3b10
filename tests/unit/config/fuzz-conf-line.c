/* libFuzzer target for the msg.conf line syntax: any bytes as one line; an entry's value, written
 * back the way configutil writes it, must parse to the same value. */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_control(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = strndup((const char *)data, size), *name, *value, *text, *again, *name2, *value2;
    const char *why;

    if (line == NULL)
        return 0;
    if (conf_parse_line(line, &name, &value, &why) == CONF_LINE_ENTRY) {
        assert(name[0] != '\0');
        /* Control characters never reach msg.conf: param_validate refuses them. */
        if (!has_control(value)) {
            text = conf_format_value(value);
            assert(text != NULL);
            assert(asprintf(&again, "%s = %s", name, text) > 0);
            assert(conf_parse_line(again, &name2, &value2, &why) == CONF_LINE_ENTRY);
            assert(strcmp(name, name2) == 0 && strcmp(value, value2) == 0);
            free(text);
            free(again);
            free(name2);
            free(value2);
        }
        free(name);
        free(value);
    }
    free(line);
    return 0;
}
