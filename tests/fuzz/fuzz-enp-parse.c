/* libFuzzer target for enpd's line parser: any bytes, line after line as enpd reads them; every
 * key and body lies inside the line, keys are non-empty, bounded and without blanks. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "enpd-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;

    while (size > 0) {
        struct enp_cmd cmd;
        size_t used = 0;
        const char *why;
        enum enp_parse_result r = enp_parse_line(p, size, &cmd, &used, &why);
        if (r == ENP_PARSE_NEED_MORE || r == ENP_PARSE_TOO_LONG)
            break;
        assert(used > 0 && used <= size && used <= ENP_LINE_MAX);
        assert(p[used - 1] == '\n');
        if (r == ENP_PARSE_ERROR) {
            assert(why != NULL && *why != '\0');
        } else if (cmd.verb == ENP_SUBSCRIBE || cmd.verb == ENP_UNSUBSCRIBE ||
                   cmd.verb == ENP_PUBLISH) {
            assert(cmd.key > p && cmd.key + cmd.key_len <= p + used);
            assert(cmd.key_len > 0 && cmd.key_len <= ENP_KEY_MAX);
            assert(memchr(cmd.key, ' ', cmd.key_len) == NULL);
            if (cmd.verb == ENP_PUBLISH)
                assert(cmd.body >= cmd.key + cmd.key_len && cmd.body + cmd.body_len <= p + used);
        }
        p += used;
        size -= used;
    }
    return 0;
}
