/* QUOTA (RFC 2087): every mailbox of a user shares one quota root, "", whose limits are the
 * user's (embedded user table or LDAP mailQuota / mailMsgQuota) and whose usage is the store's
 * count. Limits are the administrator's to set, so SETQUOTA is refused. */
#include <string.h>

#include "imapd-args.h"
#include "imapd.h"

/* '* QUOTA "" (...)': the resources that have a limit, STORAGE in units of 1024 octets (usage
 * rounded up, the limit down, so a client never sees more room than there is). */
static void quota_out(const struct imap_session *s, const struct store_usage *use, FILE *out)
{
    const char *sep = "";

    fputs("* QUOTA \"\" (", out);
    if (s->limits.bytes != 0) {
        fprintf(out, "STORAGE %llu %llu", (unsigned long long)((use->bytes + 1023) / 1024),
                (unsigned long long)(s->limits.bytes / 1024));
        sep = " ";
    }
    if (s->limits.messages != 0)
        fprintf(out, "%sMESSAGE %llu %llu", sep, (unsigned long long)use->messages,
                (unsigned long long)s->limits.messages);
    fputs(")\r\n", out);
}

static void getquotaroot_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const char *name, *why = imap_text_mailbox_missing;
    struct store_mailbox mb;
    struct store_usage use;
    struct store_error err;

    if (cmd->nargs != 1 || imap_arg_get_mailbox(cmd->args, cmd->arena, &name, &why) < 0) {
        imap_out_tagged(out, cmd, "BAD", "%s",
                        cmd->nargs != 1 ? "Usage: GETQUOTAROOT mailbox" : why);
        return;
    }
    if (store_mailbox_get(imapd_store(), s->user, name, &mb, &err) != STORE_OK ||
        store_usage_get(imapd_store(), s->user, &use, &err) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
        return;
    }
    store_mailbox_clear(&mb);
    fputs("* QUOTAROOT ", out);
    imap_out_mailbox(out, name);
    fputs(" \"\"\r\n", out);
    quota_out(s, &use, out);
    imap_out_tagged(out, cmd, "OK", "GETQUOTAROOT completed");
}

void imap_cmd_getquotaroot(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, getquotaroot_work);
}

static void getquota_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const char *root;
    size_t len;
    struct store_usage use;
    struct store_error err;

    if (cmd->nargs != 1 || !imap_arg_get_astring(cmd->args, &root, &len)) {
        imap_out_tagged(out, cmd, "BAD", "Usage: GETQUOTA quota-root");
        return;
    }
    if (len != 0) {
        imap_out_tagged(out, cmd, "NO", "No such quota root; the user's only one is \"\"");
        return;
    }
    if (store_usage_get(imapd_store(), s->user, &use, &err) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
        return;
    }
    quota_out(s, &use, out);
    imap_out_tagged(out, cmd, "OK", "GETQUOTA completed");
}

void imap_cmd_getquota(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, getquota_work);
}

/* RFC 2087 4.1: "SETQUOTA" SP astring SP "(" [atom SP number *(SP atom SP number)] ")". The
 * syntax is checked so a broken command still gets BAD; a good one gets NO. */
void imap_cmd_setquota(struct imap_session *s, struct imap_cmd **cmd)
{
    const struct imap_arg *list = NULL, *a;
    const char *root, *word;
    size_t len;
    unsigned count;
    bool ok = (*cmd)->nargs == 2 && imap_arg_get_astring((*cmd)->args, &root, &len) &&
              imap_arg_get_list((*cmd)->args->next, &list, &count) && count % 2 == 0;

    for (a = list; ok && a != NULL; a = a->next->next)
        ok = imap_arg_get_atom(a, &word) && imap_arg_get_atom(a->next, &word) &&
             word[strspn(word, "0123456789")] == '\0';
    if (!ok) {
        imap_reply_tagged(s, *cmd, "BAD", "Usage: SETQUOTA quota-root (resource limit ...)");
        return;
    }
    imap_reply_tagged(s, *cmd, "NO",
                      "[NOPERM] Quotas are set by the administrator (mailuser set --quota-bytes, "
                      "--quota-messages, or mailQuota in LDAP)");
}
