/* SORT and UID SORT (RFC 5256): the search keys go through SEARCH's evaluation, the sort keys
 * come from the message records and the ENVELOPE the store computed at delivery. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd-args.h"
#include "imapd-sort.h"
#include "imapd.h"

#define SORT_MIME_BATCH 256

static void sort_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    bool uid = cmd->name_len == 3 && strncasecmp(cmd->name, "UID", 3) == 0;
    const struct imap_arg *args = uid ? cmd->args->next : cmd->args;
    struct imap_sort_criterion crit[IMAP_SORT_CRITERIA_MAX];
    struct imap_sort_msg *sm = NULL;
    struct imap_search_run *q = NULL;
    struct store_msg *msgs = NULL;
    struct store_mime_set mimes = {0};
    struct store_error err;
    const char *why, *charset;
    size_t n = 0, ns = 0, charset_len;
    int ncrit;

    if (args == NULL || args->next == NULL || args->next->next == NULL) {
        imap_out_tagged(out, cmd, "BAD", "Usage: %sSORT (criteria) charset search-keys",
                        uid ? "UID " : "");
        return;
    }
    if ((ncrit = imap_sort_criteria_parse(args, crit, &why)) < 0) {
        imap_out_tagged(out, cmd, "BAD", "%s", why);
        return;
    }
    if (!imap_arg_get_astring(args->next, &charset, &charset_len)) {
        imap_out_tagged(out, cmd, "BAD", "Missing charset");
        return;
    }
    if (strlen(charset) != charset_len || !imap_sort_charset_ok(charset)) {
        imap_out_tagged(out, cmd, "NO", "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
        return;
    }
    if (imap_search_begin(s, cmd, args->next->next, false, &q, out) < 0)
        return;
    if (!imap_sel_check(s, cmd, IMAP_RIGHT_R, out)) /* RFC 4314 4 */
        goto out;
    if (store_msg_list(imapd_store(), s->sel.owner, s->sel.id, 1, 0, &msgs, &n, &err) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
        goto out;
    }
    sm = calloc(n + 1, sizeof(*sm));
    if (sm == NULL) {
        imap_out_tagged(out, cmd, "NO", "[SERVERBUG] Out of memory");
        goto out;
    }
    bool envelope = imap_sort_needs_envelope(crit, (size_t)ncrit);
    for (size_t i = 0; i < n; i++) {
        const struct store_msg *m = &msgs[i];
        if (!imap_search_match(q, m))
            continue;
        struct imap_sort_msg *x = &sm[ns++];
        x->seq = imap_seq_of(s, m->uid);
        x->uid = m->uid;
        x->arrival = m->internaldate;
        x->date = m->internaldate;
        x->size = m->size;
        if (envelope) {
            /* SORT_MIME_BATCH records per store read; a message without its MIME record
             * sorts as one with empty fields */
            const struct store_mime *mime = store_mime_set_next(
                imapd_store(), s->sel.owner, s->sel.id, m->uid, 0, SORT_MIME_BATCH, &mimes);
            imap_sort_msg_from_envelope(x, mime != NULL ? mime->envelope : NULL);
        }
    }
    imap_sort_msgs(sm, ns, crit, (size_t)ncrit);
    fputs("* SORT", out);
    for (size_t i = 0; i < ns; i++)
        fprintf(out, " %u", uid ? sm[i].uid : sm[i].seq);
    fputs("\r\n", out);
    imap_out_tagged(out, cmd, "OK", "%sSORT completed", uid ? "UID " : "");
out:
    store_mime_set_clear(&mimes);
    for (size_t i = 0; i < ns; i++)
        imap_sort_msg_clear(&sm[i]);
    free(sm);
    store_msg_list_free(&msgs, n);
    imap_search_end(&q);
}

void imap_cmd_sort(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, sort_work);
}
