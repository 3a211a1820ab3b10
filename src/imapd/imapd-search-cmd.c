/* SEARCH and UID SEARCH (RFC 3501 6.4.4): the program (imapd-search.c) over the selected
 * mailbox, either over the message records listed or, when only UIDs and the header fields of
 * the MIME records are asked about, over the view's UIDs without listing them. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "imapd.h"

/* The matching messages of the view by sequence number into match (room for the view), from
 * the message records listed; the count, or -1 with *err_r. */
static ssize_t search_listed(struct imap_session *s, struct imap_search_run *run, uint32_t *match,
                             struct store_error *err)
{
    struct imap_selected *sel = &s->sel;
    struct store_msg *msgs = NULL;
    size_t n = 0, nmatch = 0;

    if (store_msg_list(imapd_store(), sel->owner, sel->id, 1, 0, &msgs, &n, err) != STORE_OK)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (imap_search_match(run, &msgs[i]))
            match[nmatch++] = imap_seq_of(s, msgs[i].uid);
    store_msg_list_free(&msgs, n);
    return (ssize_t)nmatch;
}

/* The same over the view's UIDs when imap_search_view_only: a message's record is needed only where
 * its MIME record cannot answer (one written before the header fields were kept, a field left
 * out), and then the records are listed once, from that message on. */
static ssize_t search_view(struct imap_session *s, struct imap_search_run *run, uint32_t *match,
                           struct store_error *err)
{
    struct imap_selected *sel = &s->sel;
    struct store_msg *msgs = NULL;
    size_t n = 0, next = 0, nmatch = 0;
    bool listed = false;

    for (size_t i = 0; i < sel->n; i++) {
        uint32_t uid = sel->uids[i];
        int r = imap_search_match_bare(run, uid, (uint32_t)i + 1);
        if (r < 0) {
            if (!listed && store_msg_list(imapd_store(), sel->owner, sel->id, uid, 0, &msgs, &n,
                                          err) != STORE_OK)
                return -1;
            listed = true;
            while (next < n && msgs[next].uid < uid)
                next++;
            /* not listed: expunged since the view was taken, as search_listed would skip it */
            r = next < n && msgs[next].uid == uid && imap_search_match(run, &msgs[next]);
        }
        if (r > 0)
            match[nmatch++] = (uint32_t)i + 1;
    }
    store_msg_list_free(&msgs, n);
    return (ssize_t)nmatch;
}

static void search_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    bool uid = cmd->name_len == 3 && strncasecmp(cmd->name, "UID", 3) == 0;
    const struct imap_arg *keys = uid ? cmd->args->next : cmd->args;
    struct imap_search_run *run;
    struct store_error err;
    uint32_t *match;
    ssize_t n;

    if (imap_search_begin(s, cmd, keys, true, &run, out) < 0)
        return;
    if (!imap_sel_check(s, cmd, IMAP_RIGHT_R, out)) { /* RFC 4314 4 */
        imap_search_end(&run);
        return;
    }
    if ((match = malloc((s->sel.n + 1) * sizeof(*match))) == NULL) {
        imap_out_tagged(out, cmd, "NO", "[SERVERBUG] Out of memory");
        imap_search_end(&run);
        return;
    }
    n = imap_search_view_only(run) ? search_view(s, run, match, &err)
                                   : search_listed(s, run, match, &err);
    if (n < 0) {
        imap_out_store_error(out, cmd, &err);
    } else {
        fputs("* SEARCH", out);
        for (ssize_t i = 0; i < n; i++)
            fprintf(out, " %u", uid ? s->sel.uids[match[i] - 1] : match[i]);
        fputs("\r\n", out);
        imap_out_tagged(out, cmd, "OK", "%sSEARCH completed", uid ? "UID " : "");
    }
    free(match);
    imap_search_end(&run);
}

void imap_cmd_search(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, search_work);
}
