/* POP3 command-line parsing: keyword, then arguments separated by single spaces. Pure; the
 * unit tests feed it byte by byte. */
#include "popd-parse.h"

#include <ctype.h>
#include <string.h>

enum pop_parse_result pop_parse_line(const char *data, size_t len, struct pop_cmd *cmd,
                                     size_t *consumed_r)
{
    const char *nl = memchr(data, '\n', len < POP_LINE_MAX ? len : POP_LINE_MAX);
    const char *end, *p = data;
    size_t k = 0;

    *consumed_r = 0;
    if (nl == NULL)
        return len >= POP_LINE_MAX ? POP_PARSE_TOO_LONG : POP_PARSE_NEED_MORE;
    *consumed_r = (size_t)(nl - data) + 1;
    end = nl > data && nl[-1] == '\r' ? nl - 1 : nl;
    memset(cmd, 0, sizeof(*cmd));
    if (memchr(data, '\0', (size_t)(end - data)) != NULL ||
        memchr(data, '\r', (size_t)(end - data)) != NULL)
        return POP_PARSE_ERROR;
    while (p < end && *p != ' ') {
        if (k == POP_KEYWORD_MAX || !isalpha((unsigned char)*p))
            return POP_PARSE_ERROR;
        cmd->keyword[k++] = (char)toupper((unsigned char)*p++);
    }
    if (k < 3)
        return POP_PARSE_ERROR;
    if (p == end)
        return POP_PARSE_OK;
    p++;
    cmd->rest = (struct pop_arg){.s = p, .len = (size_t)(end - p)};
    while (p < end) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        const char *stop = sp != NULL ? sp : end;
        if (cmd->nargs < POP_ARGS_MAX)
            cmd->args[cmd->nargs] = (struct pop_arg){.s = p, .len = (size_t)(stop - p)};
        cmd->nargs++;
        p = sp != NULL ? sp + 1 : end;
    }
    return POP_PARSE_OK;
}

unsigned long pop_parse_number(const struct pop_arg *arg, unsigned long max)
{
    unsigned long v = 0;

    if (arg->len == 0 || arg->len > 10)
        return 0;
    for (size_t i = 0; i < arg->len; i++) {
        if (!isdigit((unsigned char)arg->s[i]))
            return 0;
        v = v * 10 + (unsigned long)(arg->s[i] - '0');
    }
    return v >= 1 && v <= max ? v : 0;
}
