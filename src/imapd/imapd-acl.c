/* ACL (RFC 4314): SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS on the user's own mailboxes
 * and, with the a right, on others' (imapd-share.c). Entries are stored per mailbox (they
 * follow RENAME, go with DELETE) and grant what they say to other users through the shared
 * namespace. The owner always has every right, so the owner's entry is not stored and cannot
 * be lowered. Negative rights ("-identifier") take rights away (RFC 4314 2). */
#include <string.h>
#include <strings.h>

#include "imapd-args.h"
#include "imapd.h"

enum acl_mod { ACL_REPLACE, ACL_ADD, ACL_REMOVE };

/* Identifiers name users without regard to case; the owner's is its user name. */
static bool acl_is_owner(const char *owner, const char *id)
{
    return strcasecmp(id, owner) == 0;
}

/* The identifier's stored rights on the owner's mailbox (0 when it has no entry). */
static enum store_err acl_current(const char *owner, uint32_t mailbox_id, const char *id,
                                  unsigned *mask_r, struct store_error *err)
{
    struct store_acl *acl;
    size_t n;
    char bad;
    enum store_err rc = store_acl_list(imapd_store(), owner, mailbox_id, &acl, &n, err);

    *mask_r = 0;
    for (size_t i = 0; rc == STORE_OK && i < n; i++)
        if (strcasecmp(acl[i].identifier, id) == 0)
            imap_rights_parse(acl[i].rights, strlen(acl[i].rights), mask_r, &bad);
    store_acl_list_free(&acl, n);
    return rc;
}

/* The domain of a user name or anyone@domain ("" for none). */
static const char *acl_domain(const char *id)
{
    const char *at = strchr(id, '@');

    return at != NULL ? at + 1 : "";
}

/* Sun's store.privatesharedfolders.restrictanyone and .restrictdomain: which grants owners may
 * not make. NULL when allowed, else the NO's text. */
static const char *acl_restricted(struct imap_session *s, const char *id)
{
    const struct conf *conf = server_conf(conn_server(s->conn));
    bool anyone = strcasecmp(id, "anyone") == 0 || strncasecmp(id, "anyone@", 7) == 0;

    if (anyone && conf_bool(conf, "store.privatesharedfolders.restrictanyone"))
        return "[NOPERM] Sharing with anyone is not allowed on this server";
    if (strcasecmp(id, "anyone") != 0 &&
        conf_bool(conf, "store.privatesharedfolders.restrictdomain") &&
        strcasecmp(acl_domain(id), acl_domain(s->user)) != 0)
        return "[NOPERM] Sharing outside your domain is not allowed on this server";
    return NULL;
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
        if (!imap_rights_parse(str, len, &a->mask, &bad)) {
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

/* "* ACL mailbox", ...: the mailbox as the client names it, spelt as stored. */
static void acl_out_line(FILE *out, const char *what, const struct imap_mbox *m)
{
    fprintf(out, "* %s ", what);
    imap_out_mbox(out, m);
}

static void acl_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    int which = acl_which(cmd);
    struct acl_args a = {0};
    struct imap_mbox m;
    struct store_error err;
    struct store_acl *acl = NULL;
    size_t n = 0;
    char rights[16];
    unsigned cur;
    const char *no;

    if (!acl_check(cmd, which, &a, out))
        return;
    /* RFC 4314 4: MYRIGHTS needs any right, the others a; RFC 4314 6: without l the mailbox
     * is answered as one that does not exist */
    if (imap_mbox_open(s, cmd, a.mailbox, which == CMD_MYRIGHTS ? IMAP_NEED_ANY : IMAP_RIGHT_A,
                       false, &m, out) < 0)
        return;
    const char *owner = m.owner;
    const char *id = a.id != NULL && a.id[0] == '-' ? a.id + 1 : a.id; /* negative rights */
    switch (which) {
    case CMD_SETACL:
    case CMD_DELETEACL:
        if (acl_is_owner(owner, id)) { /* granting the owner what it has is no change */
            bool negative = a.id[0] == '-';
            bool lowers = negative
                              ? which == CMD_SETACL && a.mod != ACL_REMOVE && a.mask != 0
                              : which == CMD_DELETEACL || (a.mod == ACL_REMOVE && a.mask != 0) ||
                                    (a.mod == ACL_REPLACE && a.mask != IMAP_RIGHTS_ALL);
            if (lowers)
                imap_out_tagged(out, cmd, "NO", "%s", acl_owner_text);
            else
                imap_out_tagged(out, cmd, "OK", "%s completed", acl_commands[which].name);
            break;
        }
        if (acl_current(owner, m.mb.id, a.id, &cur, &err) != STORE_OK) {
            imap_out_store_error(out, cmd, &err);
            break;
        }
        cur = which == CMD_DELETEACL ? 0
              : a.mod == ACL_ADD     ? cur | a.mask
              : a.mod == ACL_REMOVE  ? cur & ~a.mask
                                     : a.mask;
        if (cur != 0 && a.id[0] != '-' && (no = acl_restricted(s, a.id)) != NULL) {
            imap_out_tagged(out, cmd, "NO", "%s", no);
            break;
        }
        imap_rights_format(cur, false, rights);
        if (store_acl_set(imapd_store(), owner, m.mb.id, a.id, rights, &err) != STORE_OK)
            imap_out_store_error(out, cmd, &err);
        else
            imap_out_tagged(out, cmd, "OK", "%s completed", acl_commands[which].name);
        break;
    case CMD_GETACL:
        if (store_acl_list(imapd_store(), owner, m.mb.id, &acl, &n, &err) != STORE_OK) {
            imap_out_store_error(out, cmd, &err);
            break;
        }
        acl_out_line(out, "ACL", &m);
        imap_rights_format(IMAP_RIGHTS_ALL, true, rights);
        fputc(' ', out);
        imap_out_string(out, owner, strlen(owner));
        fprintf(out, " %s", rights);
        for (size_t i = 0; i < n; i++) {
            unsigned mask = 0;
            char bad;
            if (acl_is_owner(owner, acl[i].identifier))
                continue;
            imap_rights_parse(acl[i].rights, strlen(acl[i].rights), &mask, &bad);
            imap_rights_format(mask, true, rights);
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
        acl_out_line(out, "LISTRIGHTS", &m);
        fputc(' ', out);
        imap_out_string(out, a.id, strlen(a.id));
        if (acl_is_owner(owner, a.id)) {
            fprintf(out, " %s\r\n", imap_rights);
        } else {
            fputs(" \"\"", out);
            for (size_t i = 0; imap_rights[i] != '\0'; i++)
                fprintf(out, " %c", imap_rights[i]);
            fputs("\r\n", out);
        }
        imap_out_tagged(out, cmd, "OK", "LISTRIGHTS completed");
        break;
    case CMD_MYRIGHTS:
        imap_rights_format(m.rights, true, rights);
        acl_out_line(out, "MYRIGHTS", &m);
        fprintf(out, " %s\r\n", rights);
        imap_out_tagged(out, cmd, "OK", "MYRIGHTS completed");
        break;
    default:
        imap_out_tagged(out, cmd, "BAD", "Unknown command");
        break;
    }
    store_acl_list_free(&acl, n);
    imap_mbox_close(&m);
}

void imap_cmd_acl(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, acl_work);
}
