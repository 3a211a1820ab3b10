/* enpd's command lines: split into verb, key and body, or say what is wrong with them. */
#include <string.h>
#include <strings.h>

#include "enpd-parse.h"

static const struct {
    const char *name;
    enum enp_verb verb;
    int args; /* 0: none, 1: key, 2: key and body */
} enp_verbs[] = {
    {"SUBSCRIBE", ENP_SUBSCRIBE, 1}, {"UNSUBSCRIBE", ENP_UNSUBSCRIBE, 1},
    {"PUBLISH", ENP_PUBLISH, 2},     {"PING", ENP_PING, 0},
    {"QUIT", ENP_QUIT, 0},
};

static int printable(unsigned char c)
{
    return c >= 0x20 && c != 0x7f;
}

enum enp_parse_result enp_parse_line(const char *data, size_t len, struct enp_cmd *cmd,
                                     size_t *used_r, const char **why_r)
{
    const char *nl = memchr(data, '\n', len < ENP_LINE_MAX ? len : ENP_LINE_MAX);
    const char *p, *end, *sp;
    size_t n;
    int args = -1;

    memset(cmd, 0, sizeof(*cmd));
    *why_r = NULL;
    if (nl == NULL)
        return len >= ENP_LINE_MAX ? ENP_PARSE_TOO_LONG : ENP_PARSE_NEED_MORE;
    *used_r = (size_t)(nl - data) + 1;
    end = nl > data && nl[-1] == '\r' ? nl - 1 : nl;
    for (p = data; p < end; p++)
        if (!printable((unsigned char)*p)) {
            *why_r = "control character in line";
            return ENP_PARSE_ERROR;
        }
    sp = memchr(data, ' ', (size_t)(end - data));
    n = (size_t)((sp != NULL ? sp : end) - data);
    for (size_t i = 0; i < sizeof(enp_verbs) / sizeof(enp_verbs[0]); i++)
        if (strlen(enp_verbs[i].name) == n && strncasecmp(enp_verbs[i].name, data, n) == 0) {
            cmd->verb = enp_verbs[i].verb;
            args = enp_verbs[i].args;
        }
    if (args < 0) {
        *why_r = n == 0 ? "empty line" : "unknown command";
        return ENP_PARSE_ERROR;
    }
    if (args == 0) {
        if (sp != NULL) {
            *why_r = "unexpected argument";
            return ENP_PARSE_ERROR;
        }
        return ENP_PARSE_OK;
    }
    if (sp == NULL || sp + 1 >= end || sp[1] == ' ') {
        *why_r = "missing event key";
        return ENP_PARSE_ERROR;
    }
    cmd->key = sp + 1;
    p = memchr(cmd->key, ' ', (size_t)(end - cmd->key));
    cmd->key_len = (size_t)((p != NULL ? p : end) - cmd->key);
    if (cmd->key_len > ENP_KEY_MAX) {
        *why_r = "event key too long";
        return ENP_PARSE_ERROR;
    }
    if (args == 1) {
        if (p != NULL) {
            *why_r = "unexpected argument after the event key";
            return ENP_PARSE_ERROR;
        }
        return ENP_PARSE_OK;
    }
    if (p != NULL) {
        cmd->body = p + 1;
        cmd->body_len = (size_t)(end - cmd->body);
    } else {
        cmd->body = end;
    }
    return ENP_PARSE_OK;
}
