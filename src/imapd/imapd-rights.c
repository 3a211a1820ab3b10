/* RFC 4314 rights as masks, a user's rights from an ACL, and the shared-folder names: pure
 * functions for the ACL commands, the rights checks of every mailbox command and LIST. */
#include "imapd-rights.h"

#include <string.h>
#include <strings.h>

const char imap_rights[] = "lrswipkxtea";

unsigned imap_right_bit(char c)
{
    const char *p = c != '\0' ? strchr(imap_rights, c) : NULL;

    return p != NULL ? 1u << (p - imap_rights) : 0;
}

bool imap_rights_parse(const char *str, size_t len, unsigned *mask_r, char *bad_r)
{
    unsigned mask = 0;

    for (size_t i = 0; i < len; i++) {
        char c = str[i];
        unsigned bit = imap_right_bit(c);
        if (bit != 0)
            mask |= bit;
        else if (c == 'c')
            mask |= IMAP_RIGHT_K;
        else if (c == 'd')
            mask |= IMAP_RIGHT_X | IMAP_RIGHT_T | IMAP_RIGHT_E;
        else {
            *bad_r = c;
            return false;
        }
    }
    *mask_r = mask;
    return true;
}

void imap_rights_format(unsigned mask, bool virtual, char out[16])
{
    size_t n = 0;

    for (size_t i = 0; imap_rights[i] != '\0'; i++)
        if (mask & (1u << i))
            out[n++] = imap_rights[i];
    if (virtual && (mask & IMAP_RIGHT_K))
        out[n++] = 'c';
    if (virtual && (mask & (IMAP_RIGHT_X | IMAP_RIGHT_T | IMAP_RIGHT_E)))
        out[n++] = 'd';
    out[n] = '\0';
}

/* Whether identifier id (without any "-") stands for user: the user, anyone, or
 * anyone@<the user's domain> (Sun: "the access rights for anyone@domain apply to all users in
 * the same domain"). */
static bool id_names(const char *id, const char *user)
{
    const char *at = strchr(user, '@');

    if (strcasecmp(id, user) == 0 || strcasecmp(id, "anyone") == 0)
        return true;
    return at != NULL && strncasecmp(id, "anyone@", 7) == 0 && strcasecmp(id + 7, at + 1) == 0;
}

unsigned imap_rights_effective(const struct store_acl *acl, size_t n, uint32_t mailbox_id,
                               const char *user)
{
    unsigned pos = 0, neg = 0, mask;
    char bad;

    for (size_t i = 0; i < n; i++) {
        const char *id = acl[i].identifier;
        bool negative = id[0] == '-';
        if (acl[i].mailbox_id != mailbox_id || !id_names(id + negative, user))
            continue;
        mask = 0;
        if (!imap_rights_parse(acl[i].rights, strlen(acl[i].rights), &mask, &bad))
            mask = 0; /* only SETACL writes entries, and it checks them */
        if (negative)
            neg |= mask;
        else
            pos |= mask;
    }
    return pos & ~neg;
}

bool imap_rights_writable(unsigned mask)
{
    return (mask & (IMAP_RIGHT_I | IMAP_RIGHT_E | IMAP_RIGHT_S | IMAP_RIGHT_W | IMAP_RIGHT_T)) != 0;
}

uint32_t imap_rights_flags(unsigned mask)
{
    uint32_t flags = 0;

    if (mask & IMAP_RIGHT_S)
        flags |= STORE_FLAG_SEEN;
    if (mask & IMAP_RIGHT_T)
        flags |= STORE_FLAG_DELETED;
    if (mask & IMAP_RIGHT_W)
        flags |= STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT;
    return flags;
}

enum imap_name_kind imap_name_split(const char *name, const char **owner_r, size_t *owner_len_r,
                                    const char **rest_r)
{
    static const size_t root_len = sizeof(IMAP_SHARED_ROOT) - 1;
    static const size_t prefix_len = sizeof(IMAP_SHARED_PREFIX) - 1;

    *owner_r = NULL;
    *owner_len_r = 0;
    *rest_r = name;
    if (strncmp(name, IMAP_SHARED_ROOT, root_len) != 0 ||
        (name[root_len] != '\0' && name[root_len] != '/'))
        return IMAP_NAME_PERSONAL;
    if (name[root_len] == '\0' || strcmp(name + root_len, "/User") == 0)
        return IMAP_NAME_LEVEL;
    if (strncmp(name, IMAP_SHARED_PREFIX, prefix_len) != 0)
        return IMAP_NAME_NONE;
    const char *owner = name + prefix_len, *slash = strchr(owner, '/');
    size_t len = slash != NULL ? (size_t)(slash - owner) : strlen(owner);
    if (len == 0)
        return IMAP_NAME_NONE;
    *owner_r = owner;
    *owner_len_r = len;
    if (slash == NULL)
        return IMAP_NAME_LEVEL;
    if (slash[1] == '\0')
        return IMAP_NAME_NONE;
    *rest_r = slash + 1;
    return IMAP_NAME_SHARED;
}

bool imap_pattern_reaches_shared(const char *pattern)
{
    static const size_t prefix_len = sizeof(IMAP_SHARED_PREFIX) - 1;
    size_t lit = strcspn(pattern, "*%");

    /* the literal part before the first wildcard must agree with the namespace's prefix */
    return strncmp(pattern, IMAP_SHARED_PREFIX, lit < prefix_len ? lit : prefix_len) == 0;
}
