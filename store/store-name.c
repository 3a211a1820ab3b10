/* Mailbox and user names: syntax checks, INBOX's case-insensitivity (RFC 3501 5.1) and LIST
 * wildcard matching. Pure functions of their arguments. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store-private.h"

/* Whether name begins with the component "inbox" in any case ("inbox", "Inbox/x"). */
static bool starts_with_inbox(const char *name)
{
    return strncasecmp(name, "inbox", 5) == 0 && (name[5] == '\0' || name[5] == '/');
}

enum store_err store_name_canon(const char *name, char **canon_r, struct store_error *err)
{
    size_t len = name ? strlen(name) : 0;
    char *c;

    *canon_r = NULL;
    if (len == 0)
        return store_fail(err, STORE_EINVAL, "empty mailbox name");
    if (len > STORE_NAME_MAX)
        return store_fail(err, STORE_EINVAL, "mailbox name longer than %d bytes", STORE_NAME_MAX);
    if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "//") != NULL)
        return store_fail(err, STORE_EINVAL, "mailbox name with an empty level");
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '%' || *p == '*')
            return store_fail(err, STORE_EINVAL,
                              "mailbox name with a control or wildcard "
                              "character");
    c = strdup(name);
    if (c == NULL)
        abort();
    if (starts_with_inbox(c))
        memcpy(c, "INBOX", 5);
    *canon_r = c;
    return STORE_OK;
}

static bool match_from(const char *p, const char *n)
{
    for (; *p; p++) {
        if (*p == '*' || *p == '%') {
            bool star = *p == '*';

            /* Try every possible length for the wildcard, shortest first; '%' may not
             * swallow a hierarchy separator. */
            for (const char *s = n;; s++) {
                if (match_from(p + 1, s))
                    return true;
                if (*s == '\0' || (!star && *s == '/'))
                    return false;
            }
        }
        if (*p != *n)
            return false;
        n++;
    }
    return *n == '\0';
}

bool store_name_match(const char *pattern, const char *name)
{
    char *p;
    bool m = match_from(pattern, name);

    /* INBOX is case-insensitive: "inbox*" must find INBOX and INBOX/x, while a pattern
     * "inboxes" still matches a mailbox named "inboxes" as written. */
    if (m || strncasecmp(pattern, "inbox", 5) != 0 || !starts_with_inbox(name))
        return m;
    p = strdup(pattern);
    if (p == NULL)
        abort();
    memcpy(p, "INBOX", 5);
    m = match_from(p, name);
    free(p);
    return m;
}

enum store_err store_user_canon(const char *user, char *canon_r, struct store_error *err)
{
    size_t len = user ? strlen(user) : 0;

    canon_r[0] = '\0';
    if (len == 0 || len > STORE_USER_MAX)
        return store_fail(err, STORE_EINVAL, "user name must be 1 to %d characters",
                          STORE_USER_MAX);
    if (user[0] == '.' || user[0] == '-')
        return store_fail(err, STORE_EINVAL, "user name may not start with '.' or '-'");
    for (size_t i = 0; i < len; i++) {
        char ch = user[i];

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '@' || ch == '-'))
            return store_fail(err, STORE_EINVAL,
                              "user name may hold only letters, digits and . _ @ -");
        canon_r[i] = ch;
    }
    canon_r[len] = '\0';
    return STORE_OK;
}
