/* LANGUAGE (RFC 5255 section 3): Halyard's texts exist only in English, so the languages are
 * i-default and en; a request picks the first range that one of them satisfies. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "imapd-args.h"
#include "imapd.h"

/* RFC 4647 language-range: "*" or 1*8ALPHA *("-" 1*8alphanum). */
static bool language_range_valid(const char *r, size_t len)
{
    size_t run = 0;

    if (len == 1 && r[0] == '*')
        return true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)r[i];
        if (c == '-' && run > 0 && i + 1 < len) {
            run = 0;
            continue;
        }
        if (!(run < 8 && (isalpha(c) || (isdigit(c) && i > run))))
            return false;
        run++;
    }
    return len > 0;
}

/* RFC 4647 3.4 lookup against what exists: a range names en when its primary subtag is en
 * (en-GB falls back to en); i-default is its own tag; "*" takes the server's default. */
static const char *language_lookup(const char *r, size_t len)
{
    if ((len == 9 && strncasecmp(r, "i-default", 9) == 0) || (len == 1 && r[0] == '*'))
        return "i-default";
    if (len >= 2 && strncasecmp(r, "en", 2) == 0 && (len == 2 || r[2] == '-'))
        return "en";
    return NULL;
}

void imap_cmd_language(struct imap_session *s, struct imap_cmd **cmd)
{
    const struct imap_arg *a;
    const char *r, *chosen = NULL;
    size_t len;

    if ((*cmd)->nargs == 0) { /* RFC 5255 3.2: the list of languages the server has */
        conn_puts(s->conn, "* LANGUAGE (i-default en)\r\n");
        imap_reply_tagged(s, *cmd, "OK", "Supported languages listed");
        return;
    }
    for (a = (*cmd)->args; a != NULL; a = a->next) {
        if (!imap_arg_get_astring(a, &r, &len) || !language_range_valid(r, len)) {
            imap_reply_tagged(s, *cmd, "BAD", "LANGUAGE takes language ranges such as en");
            return;
        }
        if (chosen == NULL)
            chosen = language_lookup(r, len);
    }
    if (chosen == NULL) {
        imap_reply_tagged(s, *cmd, "NO", "Unsupported language");
        return;
    }
    conn_printf(s->conn, "* LANGUAGE (%s)\r\n", chosen);
    /* RFC 5255 3.2: a language change re-sends the namespaces (their names may be translated);
     * before login there are none to send */
    if (s->state != IMAP_STATE_NOT_AUTH)
        conn_puts(s->conn, imap_namespace_line);
    imap_reply_tagged(s, *cmd, "OK", "Language changed");
}
