/* ACL (RFC 4314) on the user's own mailboxes: SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS.
 * Entries are stored per mailbox (they follow RENAME, go with DELETE) and reported, but grant
 * nothing yet: no other user can reach these mailboxes (docs/decisions.md). The owner always
 * has every right, so the owner's entry is not stored and cannot be lowered. */
#include <string.h>
#include <strings.h>

#include "imapd-args.h"
#include "imapd.h"

/* RFC 4314 2.1, in its order; a right is bit i of a mask for imap_acl_rights[i]. */
static const char imap_acl_rights[] = "lrswipkxtea";
#define ACL_ALL    ((1u << (sizeof(imap_acl_rights) - 1)) - 1)
#define ACL_BIT(c) (1u << (strchr(imap_acl_rights, (c)) - imap_acl_rights))

enum acl_mod { ACL_REPLACE, ACL_ADD, ACL_REMOVE };

/* A rights string (after any +/-) into a mask; the obsolete c and d stand for their members
 * (RFC 4314 2.1.1, as servers that use x for DELETE read them: c = k, d = xte). Returns false
 * with *bad_r set to the first letter that is no right. */
static bool acl_parse_rights(const char *str, size_t len, unsigned *mask_r, char *bad_r)
{
    unsigned mask = 0;

    for (size_t i = 0; i < len; i++) {
        char c = str[i];
        const char *p = c != '\0' ? strchr(imap_acl_rights, c) : NULL;
        if (p != NULL)
            mask |= 1u << (p - imap_acl_rights);
        else if (c == 'c')
            mask |= ACL_BIT('k');
        else if (c == 'd')
            mask |= ACL_BIT('x') | ACL_BIT('t') | ACL_BIT('e');
        else {
            *bad_r = c;
            return false;
        }
    }
    *mask_r = mask;
    return true;
}

/* The letters of mask in RFC order; with virtual, also c and d when a member is set (RFC 4314
 * 2.1.1: ACL and MYRIGHTS responses must include them for RFC 2086 clients). */
static void acl_format(unsigned mask, bool virtual, char out[16])
{
    size_t n = 0;

    for (size_t i = 0; imap_acl_rights[i] != '\0'; i++)
        if (mask & (1u << i))
            out[n++] = imap_acl_rights[i];
    if (virtual && (mask & ACL_BIT('k')))
        out[n++] = 'c';
    if (virtual && (mask & (ACL_BIT('x') | ACL_BIT('t') | ACL_BIT('e'))))
        out[n++] = 'd';
    out[n] = '\0';
}

static bool acl_is_owner(const struct imap_session *s, const char *id)
{
    return strcasecmp(id, s->user) == 0;
}

/* The identifier's stored rights (0 when it has no entry). */
static enum store_err acl_current(struct imap_session *s, uint32_t mailbox_id, const char *id,
                                  unsigned *mask_r, struct store_error *err)
{
    struct store_acl *acl;
    size_t n;
    char bad;
    enum store_err rc = store_acl_list(imapd_store(), s->user, mailbox_id, &acl, &n, err);

    *mask_r = 0;
    for (size_t i = 0; rc == STORE_OK && i < n; i++)
        if (strcmp(acl[i].identifier, id) == 0)
            acl_parse_rights(acl[i].rights, strlen(acl[i].rights), mask_r, &bad);
    store_acl_list_free(&acl, n);
    return rc;
}

static const char acl_owner_text[] =
    "[CANNOT] The owner of a mailbox always has all rights (lrswipkxtea)";

/* Each command's arguments: the mailbox, then (SETACL, DELETEACL, LISTRIGHTS) an identifier,
 * then (SETACL) the rights. */
struct acl_args {
    const char *mailbox, *id, *rights;
    size_t rights_len;
    enum acl_mod mod;
    unsigned mask;
};

static const struct {
    const char *name, *usage;
    unsigned nargs;
} acl_commands[] = {
    {"SETACL", "Usage: SETACL mailbox identifier rights", 3},
    {"DELETEACL", "Usage: DELETEACL mailbox identifier", 2},
    {"GETACL", "Usage: GETACL mailbox", 1},
    {"LISTRIGHTS", "Usage: LISTRIGHTS mailbox identifier", 2},
    {"MYRIGHTS", "Usage: MYRIGHTS mailbox", 1},
};
enum { CMD_SETACL, CMD_DELETEACL, CMD_GETACL, CMD_LISTRIGHTS, CMD_MYRIGHTS };

static int acl_which(const struct imap_cmd *cmd)
{
    for (size_t i = 0; i < sizeof(acl_commands) / sizeof(acl_commands[0]); i++)
        if (strlen(acl_commands[i].name) == cmd->name_len &&
            strncasecmp(cmd->name, acl_commands[i].name, cmd->name_len) == 0)
            return (int)i;
    return -1;
}

/* Syntax (RFC 4314 section 3): false after writing the BAD. */
static bool acl_check(const struct imap_cmd *cmd, int which, struct acl_args *a, FILE *out)
{
    const char *why = acl_commands[which].usage, *str;
    size_t len;
    char bad;

    if (cmd->nargs != acl_commands[which].nargs ||
        imap_arg_get_mailbox(cmd->args, cmd->arena, &a->mailbox, &why) < 0)
        goto bad;
    if (cmd->nargs >= 2) {
        if (!imap_arg_get_astring(cmd->args->next, &str, &len) || len == 0 ||
            memchr(str, '\0', len) != NULL) {
            why = "The identifier must be a non-empty astring";
            goto bad;
        }
        a->id = str;
    }
    if (cmd->nargs == 3) {
        if (!imap_arg_get_astring(cmd->args->next->next, &str, &len)) {
            why = acl_commands[which].usage;
            goto bad;
        }
        a->mod = len > 0 && str[0] == '+'   ? ACL_ADD
                 : len > 0 && str[0] == '-' ? ACL_REMOVE
                                            : ACL_REPLACE;
        if (a->mod != ACL_REPLACE)
            str++, len--;
        /* RFC 4314 3.1: an unrecognised right MUST get BAD, never be ignored */
        if (!acl_parse_rights(str, len, &a->mask, &bad)) {
            imap_out_tagged(out, cmd, "BAD",
                            "Unknown right '%c' (rights are lrswipkxtea, and the "
                            "obsolete c and d)",
                            bad);
            return false;
        }
    }
    return true;
bad:
    imap_out_tagged(out, cmd, "BAD", "%s", why);
    return false;
}

static void acl_out_line(FILE *out, const char *what, const char *mailbox)
{
    fprintf(out, "* %s ", what);
    imap_out_mailbox(out, mailbox);
}

static void acl_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    int which = acl_which(cmd);
    struct acl_args a = {0};
    struct store_mailbox mb;
    struct store_error err;
    struct store_acl *acl = NULL;
    size_t n = 0;
    char rights[16];
    unsigned cur;

    if (!acl_check(cmd, which, &a, out))
        return;
    if (store_mailbox_get(imapd_store(), s->user, a.mailbox, &mb, &err) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
        return;
    }
    switch (which) {
    case CMD_SETACL:
    case CMD_DELETEACL:
        if (a.id[0] == '-') { /* RFC 4314 2: negative rights are optional */
            imap_out_tagged(out, cmd, "NO", "[CANNOT] Negative rights are not supported");
            break;
        }
        if (acl_is_owner(s, a.id)) { /* granting the owner what it has is no change */
            bool lowers = which == CMD_DELETEACL || (a.mod == ACL_REMOVE && a.mask != 0) ||
                          (a.mod == ACL_REPLACE && a.mask != ACL_ALL);
            if (lowers)
                imap_out_tagged(out, cmd, "NO", "%s", acl_owner_text);
            else
                imap_out_tagged(out, cmd, "OK", "SETACL completed");
            break;
        }
        if (acl_current(s, mb.id, a.id, &cur, &err) != STORE_OK) {
            imap_out_store_error(out, cmd, &err);
            break;
        }
        cur = which == CMD_DELETEACL ? 0
              : a.mod == ACL_ADD     ? cur | a.mask
              : a.mod == ACL_REMOVE  ? cur & ~a.mask
                                     : a.mask;
        acl_format(cur, false, rights);
        if (store_acl_set(imapd_store(), s->user, mb.id, a.id, rights, &err) != STORE_OK)
            imap_out_store_error(out, cmd, &err);
        else
            imap_out_tagged(out, cmd, "OK", "%s completed", acl_commands[which].name);
        break;
    case CMD_GETACL:
        if (store_acl_list(imapd_store(), s->user, mb.id, &acl, &n, &err) != STORE_OK) {
            imap_out_store_error(out, cmd, &err);
            break;
        }
        acl_out_line(out, "ACL", mb.name);
        acl_format(ACL_ALL, true, rights);
        fputc(' ', out);
        imap_out_string(out, s->user, strlen(s->user));
        fprintf(out, " %s", rights);
        for (size_t i = 0; i < n; i++) {
            unsigned mask = 0;
            char bad;
            if (acl_is_owner(s, acl[i].identifier))
                continue;
            acl_parse_rights(acl[i].rights, strlen(acl[i].rights), &mask, &bad);
            acl_format(mask, true, rights);
            fputc(' ', out);
            imap_out_string(out, acl[i].identifier, strlen(acl[i].identifier));
            fputc(' ', out);
            imap_out_string(out, rights, strlen(rights));
        }
        fputs("\r\n", out);
        imap_out_tagged(out, cmd, "OK", "GETACL completed");
        break;
    case CMD_LISTRIGHTS:
        /* RFC 4314 3.7: rights always granted, then each right that may be granted alone */
        acl_out_line(out, "LISTRIGHTS", mb.name);
        fputc(' ', out);
        imap_out_string(out, a.id, strlen(a.id));
        if (acl_is_owner(s, a.id)) {
            fprintf(out, " %s\r\n", imap_acl_rights);
        } else {
            fputs(" \"\"", out);
            for (size_t i = 0; imap_acl_rights[i] != '\0'; i++)
                fprintf(out, " %c", imap_acl_rights[i]);
            fputs("\r\n", out);
        }
        imap_out_tagged(out, cmd, "OK", "LISTRIGHTS completed");
        break;
    case CMD_MYRIGHTS:
        acl_format(ACL_ALL, true, rights);
        acl_out_line(out, "MYRIGHTS", mb.name);
        fprintf(out, " %s\r\n", rights);
        imap_out_tagged(out, cmd, "OK", "MYRIGHTS completed");
        break;
    default:
        imap_out_tagged(out, cmd, "BAD", "Unknown command");
        break;
    }
    store_acl_list_free(&acl, n);
    store_mailbox_clear(&mb);
}

void imap_cmd_acl(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, acl_work);
}
