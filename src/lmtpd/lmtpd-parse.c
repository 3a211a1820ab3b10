/* LMTP command-line parsing (RFC 2033 on RFC 5321 syntax) and the DATA decoder. Every reply a
 * syntax error produces is written here, once. */
#include "lmtpd-parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define R_SYNTAX   "500 5.5.2 Syntax error"
#define R_UNKNOWN  "500 5.5.1 Unknown command"
#define R_ARGS     "501 5.5.4 Syntax error in parameters or arguments"
#define R_PATH     "501 5.1.7 Bad address syntax"
#define R_PATH_LEN "501 5.5.4 Path too long"
#define R_PARAM    "555 5.5.4 Unsupported MAIL/RCPT parameter"
#define R_NOARGS   "501 5.5.4 No arguments allowed"

static const struct {
    const char *name;
    enum lmtp_verb verb;
    bool args; /* takes an argument */
} lmtp_verbs[] = {
    {"LHLO", LMTP_LHLO, true},  {"MAIL", LMTP_MAIL, true},  {"RCPT", LMTP_RCPT, true},
    {"DATA", LMTP_DATA, false}, {"RSET", LMTP_RSET, false}, {"NOOP", LMTP_NOOP, false},
    {"QUIT", LMTP_QUIT, false}, {"VRFY", LMTP_VRFY, true},  {"HELO", LMTP_HELO, false},
    {"EHLO", LMTP_HELO, false},
};

/* Parses "<path>" (or a bare path, as some clients send) at *p; stores it without brackets. */
static const char *lmtp_parse_path(const char **pp, const char *end, char *out, bool allow_empty)
{
    const char *p = *pp;
    bool bracket = p < end && *p == '<';
    size_t n = 0;
    bool quoted = false;

    if (bracket)
        p++;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (quoted) {
            if (c == '\\' && p + 1 < end) {
                if (n + 2 > LMTP_PATH_MAX)
                    return R_PATH_LEN;
                out[n++] = *p++;
            } else if (c == '"') {
                quoted = false;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (bracket ? c == '>' : c == ' ') {
            break;
        } else if (c <= ' ' || c >= 0x7f || c == '<' || c == '>') {
            return R_PATH;
        }
        if (n + 1 > LMTP_PATH_MAX)
            return R_PATH_LEN;
        out[n++] = *p++;
    }
    out[n] = '\0';
    if (quoted || (bracket && (p == end || *p != '>')))
        return R_PATH;
    if (bracket)
        p++;
    /* a source route (<@a,@b:user@c>) is accepted and ignored, RFC 5321 4.1.2 */
    if (out[0] == '@') {
        char *colon = strchr(out, ':');
        if (colon == NULL)
            return R_PATH;
        memmove(out, colon + 1, strlen(colon + 1) + 1);
    }
    if (out[0] == '\0' && !allow_empty)
        return R_PATH;
    if (out[0] != '\0') {
        const char *at = strrchr(out, '@');
        if (at == NULL || at == out || at[1] == '\0')
            return R_PATH;
    }
    *pp = p;
    return NULL;
}

/* MAIL parameters: SIZE=n and BODY=7BIT|8BITMIME (RFC 1870, 6152). */
static const char *lmtp_parse_params(const char *p, const char *end, struct lmtp_cmd *cmd)
{
    while (p < end) {
        if (*p != ' ')
            return R_ARGS;
        while (p < end && *p == ' ')
            p++;
        const char *kw = p;
        while (p < end && *p != ' ')
            p++;
        size_t len = (size_t)(p - kw);
        if (len == 0)
            break;
        if (cmd->verb == LMTP_MAIL && len > 5 && strncasecmp(kw, "SIZE=", 5) == 0) {
            uint64_t v = 0;
            for (const char *d = kw + 5; d < p; d++) {
                if (!isdigit((unsigned char)*d) || v > UINT64_MAX / 10 - 10)
                    return R_ARGS;
                v = v * 10 + (uint64_t)(*d - '0');
            }
            cmd->has_size = true;
            cmd->size = v;
        } else if (cmd->verb == LMTP_MAIL && len == 9 && strncasecmp(kw, "BODY=7BIT", 9) == 0) {
            cmd->body = LMTP_BODY_7BIT;
        } else if (cmd->verb == LMTP_MAIL && len == 13 &&
                   strncasecmp(kw, "BODY=8BITMIME", 13) == 0) {
            cmd->body = LMTP_BODY_8BITMIME;
        } else {
            return R_PARAM;
        }
    }
    return NULL;
}

static const char *lmtp_parse_args(const char *p, const char *end, struct lmtp_cmd *cmd)
{
    const char *prefix = cmd->verb == LMTP_MAIL ? "FROM:" : "TO:";
    size_t plen = strlen(prefix);
    const char *why;

    switch (cmd->verb) {
    case LMTP_LHLO:
    case LMTP_VRFY:
        if (p == end || (size_t)(end - p) > LMTP_PATH_MAX)
            return R_ARGS;
        memcpy(cmd->arg, p, (size_t)(end - p));
        cmd->arg[end - p] = '\0';
        return NULL;
    case LMTP_MAIL:
    case LMTP_RCPT:
        if ((size_t)(end - p) < plen || strncasecmp(p, prefix, plen) != 0)
            return R_ARGS;
        p += plen;
        while (p < end && *p == ' ') /* tolerated, though RFC 5321 has none */
            p++;
        why = lmtp_parse_path(&p, end, cmd->arg, cmd->verb == LMTP_MAIL);
        if (why != NULL)
            return why;
        return lmtp_parse_params(p, end, cmd);
    default:
        return NULL;
    }
}

enum lmtp_parse_result lmtp_parse_line(const char *data, size_t len, struct lmtp_cmd *cmd,
                                       size_t *consumed_r, const char **reply_r)
{
    const char *nl = memchr(data, '\n', len < LMTP_LINE_MAX ? len : LMTP_LINE_MAX);
    const char *end, *p = data;

    *consumed_r = 0;
    *reply_r = NULL;
    if (nl == NULL)
        return len >= LMTP_LINE_MAX ? LMTP_PARSE_TOO_LONG : LMTP_PARSE_NEED_MORE;
    *consumed_r = (size_t)(nl - data) + 1;
    end = nl > data && nl[-1] == '\r' ? nl - 1 : nl;
    memset(cmd, 0, sizeof(*cmd));

    for (const char *q = data; q < end; q++) {
        if (*q == '\0' || *q == '\r') {
            *reply_r = R_SYNTAX;
            return LMTP_PARSE_ERROR;
        }
    }
    while (p < end && *p != ' ')
        p++;
    size_t vlen = (size_t)(p - data);
    for (size_t i = 0; i < sizeof(lmtp_verbs) / sizeof(lmtp_verbs[0]); i++) {
        if (vlen != 4 || strncasecmp(data, lmtp_verbs[i].name, 4) != 0)
            continue;
        cmd->verb = lmtp_verbs[i].verb;
        while (p < end && *p == ' ')
            p++;
        if (!lmtp_verbs[i].args) {
            /* NOOP may carry a string (RFC 5321 4.1.1.9); the others take nothing */
            if (p != end && cmd->verb != LMTP_NOOP && cmd->verb != LMTP_HELO) {
                *reply_r = R_NOARGS;
                return LMTP_PARSE_ERROR;
            }
            return LMTP_PARSE_OK;
        }
        *reply_r = lmtp_parse_args(p, end, cmd);
        return *reply_r == NULL ? LMTP_PARSE_OK : LMTP_PARSE_ERROR;
    }
    *reply_r = R_UNKNOWN;
    return LMTP_PARSE_ERROR;
}

/* DATA decoder states */
enum { D_BOL, D_MID, D_CR, D_DOT, D_DOT_CR };

void lmtp_data_init(struct lmtp_data *d)
{
    memset(d, 0, sizeof(*d));
    d->state = D_BOL;
}

size_t lmtp_data_feed(struct lmtp_data *d, const char *in, size_t len, char *out, size_t *out_len_r)
{
    size_t i = 0, o = 0;

    while (i < len && !d->done) {
        char c = in[i++];
        switch (d->state) {
        case D_BOL:
            if (c == '.') {
                d->state = D_DOT;
                break;
            }
            /* any other first character is ordinary content */
            /* fall through */
        case D_MID:
            if (c == '\r') {
                d->state = D_CR;
            } else if (c == '\n') { /* bare LF: stored as CRLF */
                out[o++] = '\r';
                out[o++] = '\n';
                d->state = D_BOL;
            } else {
                out[o++] = c;
                d->state = D_MID;
            }
            break;
        case D_CR:
            if (c == '\n') {
                out[o++] = '\r';
                out[o++] = '\n';
                d->state = D_BOL;
            } else if (c == '\r') {
                out[o++] = '\r';
            } else {
                out[o++] = '\r';
                out[o++] = c;
                d->state = D_MID;
            }
            break;
        case D_DOT: /* the leading dot is stuffing (RFC 5321 4.5.2) or the end marker */
            if (c == '\r') {
                d->state = D_DOT_CR;
            } else if (c == '\n') {
                d->done = true;
            } else {
                out[o++] = c;
                d->state = D_MID;
            }
            break;
        case D_DOT_CR:
            if (c == '\n') {
                d->done = true;
            } else {
                /* ".\rX": the dot was stuffing, the CR is content */
                d->state = D_CR;
                i--;
            }
            break;
        }
    }
    d->size += o;
    *out_len_r = o;
    return i;
}
