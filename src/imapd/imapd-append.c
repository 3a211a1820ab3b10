/* APPEND (RFC 3501 6.3.11) with the message literal streamed into a store spool as it
 * arrives, so a large message never sits in memory; LITERAL+ and synchronising literals alike.
 * Answered with APPENDUID (RFC 4315). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "imapd-args.h"
#include "imapd.h"

/* The parser streams APPEND's literals from its second argument on (the message). */
const struct imap_stream_rule imap_stream_rules[] = {{"APPEND", 1}, {NULL, 0}};

/* RFC 3501 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"). Pure. */
int imap_parse_datetime(const char *s, size_t len, time_t *t_r, int *tzoff_r)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char buf[40], mon[4], sign;
    int day, year, hh, mm, ss, zone, n = 0;

    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (sscanf(buf, "%2d-%3c-%4d %2d:%2d:%2d %c%4d%n", &day, mon, &year, &hh, &mm, &ss, &sign,
               &zone, &n) != 8 ||
        (size_t)n != len || (sign != '+' && sign != '-'))
        return -1;
    mon[3] = '\0';
    const char *m = strstr(months, mon);
    if (m == NULL || (m - months) % 3 != 0 || day < 1 || day > 31 || hh > 23 || mm > 59 ||
        ss > 60 || zone % 100 > 59 || year < 1970)
        return -1;
    struct tm tm = {.tm_mday = day,
                    .tm_mon = (int)(m - months) / 3,
                    .tm_year = year - 1900,
                    .tm_hour = hh,
                    .tm_min = mm,
                    .tm_sec = ss};
    int off = (zone / 100) * 60 + zone % 100;
    *tzoff_r = sign == '-' ? -off : off;
    *t_r = timegm(&tm) - (time_t)*tzoff_r * 60;
    return 0;
}

void imap_append_drop(struct imap_session *s)
{
    store_spool_free(&s->append_spool);
    s->append_failed = false;
}

/* Whether APPEND goes to another user's mailbox, whose owner's quota applies (checked once
 * the message is in): the session's own quota says nothing about it. */
static bool append_shared(const struct imap_cmd *cmd)
{
    const char *name;
    size_t len;

    return imap_arg_get_astring(cmd->args, &name, &len) && len >= sizeof(IMAP_SHARED_ROOT) - 1 &&
           strncmp(name, IMAP_SHARED_ROOT, sizeof(IMAP_SHARED_ROOT) - 1) == 0;
}

bool imap_append_begin(struct imap_session *s, const struct imap_parse_out *out)
{
    const struct imap_cmd *cmd = out->cmd;
    const char *no = NULL;

    imap_append_drop(s);
    if (s->state == IMAP_STATE_NOT_AUTH)
        no = "BAD Command not valid in this state";
    else if (s->limits.bytes != 0 && out->stream.size > s->limits.bytes && !append_shared(cmd))
        no = "NO [OVERQUOTA] Message larger than the quota"; /* RFC 7889: before the data */
    else if (store_spool_create(imapd_store(), &s->append_spool, &s->append_err) != STORE_OK)
        no = "NO [UNAVAILABLE] Cannot take the message now";
    if (no != NULL) {
        conn_printf(s->conn, "%.*s %s\r\n", (int)cmd->tag_len, cmd->tag, no);
        return false;
    }
    return true;
}

void imap_append_data(struct imap_session *s, const char *data, size_t len)
{
    if (s->append_spool == NULL || s->append_failed)
        return;
    if (store_spool_write(s->append_spool, data, len, &s->append_err) != STORE_OK) {
        conn_warning(s->conn, "APPEND spool: %s", s->append_err.msg);
        s->append_failed = true;
    }
}

struct imap_append_args {
    const char *mailbox;
    uint32_t flags;
    char *keywords;
    time_t date;
    int tzoff;
};

static void append_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const struct imap_arg *a = cmd->args;
    const char *why = "Usage: APPEND mailbox [(flags)] [date-time] literal";
    struct store_delivery d = {0};
    struct imap_append_args args = {0};
    struct imap_mbox m = {0};
    struct store_limits limits;

    if (a == NULL || imap_arg_get_mailbox(a, cmd->arena, &args.mailbox, &why) != 0) {
        imap_out_tagged(out, cmd, "BAD", "%s", why);
        goto out;
    }
    a = a->next;
    if (a != NULL && a->type == IMAP_ARG_LIST) {
        if (!imap_parse_flag_list(a, &args.flags, &args.keywords)) {
            imap_out_tagged(out, cmd, "BAD", "Bad flag list");
            goto out;
        }
        a = a->next;
    }
    if (a != NULL && a->type == IMAP_ARG_QUOTED) {
        if (imap_parse_datetime(a->str, a->len, &args.date, &args.tzoff) != 0) {
            imap_out_tagged(out, cmd, "BAD", "Bad date-time");
            goto out;
        }
        a = a->next;
    }
    if (a == NULL || a->type != IMAP_ARG_STREAMED || a->next != NULL || s->append_spool == NULL) {
        imap_out_tagged(out, cmd, "BAD", "%s", why);
        goto out;
    }
    if (s->append_failed ||
        store_spool_finish(s->append_spool, args.date, args.tzoff, &s->append_err) != STORE_OK) {
        imap_out_store_error(out, cmd, &s->append_err);
        goto out;
    }
    /* RFC 4314 4: APPEND to another user's mailbox needs i; flags the user may not set are
     * left off, not refused. The user's own mailboxes need no look first. */
    imap_mbox_resolve(s, args.mailbox, &m);
    limits = s->limits;
    if (m.kind != IMAP_NAME_PERSONAL &&
        (imap_mbox_open(s, cmd, args.mailbox, IMAP_RIGHT_I, true, &m, out) < 0 ||
         imap_owner_limits(s, m.owner, &limits, cmd, out) < 0))
        goto out;
    d = (struct store_delivery){.append = true,
                                .spool = s->append_spool,
                                .user = m.owner,
                                .mailbox = m.kind == IMAP_NAME_PERSONAL ? m.name : m.mb.name,
                                .flags = args.flags & imap_rights_flags(m.rights),
                                .keywords = (m.rights & IMAP_RIGHT_W) ? args.keywords : NULL,
                                .limits = limits};
    if (store_deliver(imapd_store(), &d, 1) != STORE_OK) {
        if (d.err.code == STORE_ENOTFOUND) /* RFC 3501 6.3.11: the client may CREATE it */
            imap_out_tagged(out, cmd, "NO", "[TRYCREATE] No such mailbox");
        else
            imap_out_store_error(out, cmd, &d.err);
    } else {
        /* RFC 3501 6.3.11: into the selected mailbox, the new message is announced at once */
        if (s->state == IMAP_STATE_SELECTED && d.mailbox_id == s->sel.id &&
            strcmp(d.user, s->sel.owner) == 0)
            imap_sync(s, out);
        imap_out_tagged(out, cmd, "OK", "[APPENDUID %u %u] APPEND completed", d.uidvalidity, d.uid);
        /* folding keeps the journal every read applies short */
        if (d.fold_due)
            store_fold_later(imapd_store(), d.user);
    }
out:
    imap_mbox_close(&m);
    free(args.keywords);
    imap_append_drop(s);
}

void imap_cmd_append(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, append_work);
}
