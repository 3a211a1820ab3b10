/* libFuzzer target for lmtpd's command parser and DATA decoder: any bytes, read as commands
 * until DATA, then as message data, then as commands again, as lmtpd does. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lmtpd-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    char *out = malloc(2 * size + 1);

    while (size > 0) {
        struct lmtp_cmd cmd;
        size_t used, olen;
        const char *reply;
        enum lmtp_parse_result r = lmtp_parse_line(p, size, &cmd, &used, &reply);
        if (r == LMTP_PARSE_NEED_MORE || r == LMTP_PARSE_TOO_LONG)
            break;
        assert(used > 0 && used <= size);
        assert(r == LMTP_PARSE_OK ? reply == NULL : reply != NULL && strlen(reply) > 4);
        assert(strlen(cmd.arg) <= LMTP_PATH_MAX);
        p += used;
        size -= used;
        if (r == LMTP_PARSE_OK && cmd.verb == LMTP_DATA) {
            struct lmtp_data d;
            lmtp_data_init(&d);
            used = lmtp_data_feed(&d, p, size, out, &olen);
            assert(used <= size && olen <= 2 * used);
            assert(used == size || d.done);
            p += used;
            size -= used;
        }
    }
    free(out);
    return 0;
}
