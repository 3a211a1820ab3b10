/* libFuzzer target for imapd's command-line splitter: any bytes, split line after line as
 * imapd does; the splitter must never read past the input or report impossible lengths. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd-parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;

    while (size > 0) {
        struct imap_cmd cmd;
        size_t used;
        enum imap_parse_result r = imap_parse_line(p, size, &cmd, &used);
        if (r == IMAP_PARSE_NEED_MORE || r == IMAP_PARSE_TOO_LONG)
            break;
        assert(used > 0 && used <= size);
        if (r == IMAP_PARSE_OK) {
            assert(cmd.tag_len > 0 && cmd.name_len > 0);
            assert(cmd.args + cmd.args_len <= p + used);
        }
        p += used;
        size -= used;
    }
    return 0;
}
