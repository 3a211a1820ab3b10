/* STORE: flag and keyword changes with CONDSTORE's UNCHANGEDSINCE (RFC 7162). One MODSEQ per
 * call for everything it changed, counters kept in step, one FLAGS event per call. */
#include <stdlib.h>
#include <string.h>

#include "store-journal.h"

struct flags_ctx {
    const struct store_userctx *u;
    uint32_t id;
    const uint32_t *uids;
    size_t nuids;
    const struct store_flag_update *up;
    struct store_msg *result; /* every existing message, after */
    size_t nresult;
    uint32_t *modified, *changed;
    size_t nmodified, nchanged;
    struct store_changeset cs;
    struct store_buf *journal; /* journal path: the change is encoded here */
};

/* The journal record of the change: every message that changed, as it is after. */
static void flags_encode(struct flags_ctx *c, const struct store_mailbox *mb)
{
    struct store_msg *chg = calloc(c->nchanged + 1, sizeof(*chg));
    size_t n = 0;

    if (chg == NULL)
        abort();
    for (size_t i = 0, k = 0; i < c->nresult && k < c->nchanged; i++)
        if (c->result[i].uid == c->changed[k]) {
            chg[n++] = c->result[i]; /* keywords borrowed */
            k++;
        }
    store_journal_encode_flags(c->journal, c->id, mb->uidvalidity, chg, n);
    free(chg);
}

static uint32_t flags_apply(uint32_t cur, const struct store_flag_update *up)
{
    switch (up->op) {
    case STORE_FLAGS_ADD:
        return cur | up->flags;
    case STORE_FLAGS_REMOVE:
        return cur & ~up->flags;
    case STORE_FLAGS_REPLACE:
        break;
    }
    return up->flags & STORE_FLAGS_ALL;
}

static enum store_err flags_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct flags_ctx *c = vctx;
    struct store_mailbox mb;
    struct store_msg m;
    uint64_t modseq, old;
    uint32_t gained = 0;
    enum store_err rc = store_mbx_load(tx, c->id, &mb, err);
    char *kw;

    if (rc != STORE_OK)
        return rc;
    modseq = mb.highestmodseq + 1;
    for (size_t i = 0; rc == STORE_OK && i < c->nuids; i++) {
        rc = store_msgrec_load(tx, c->id, c->uids[i], &m, err);
        if (rc == STORE_ENOTFOUND) {
            rc = STORE_OK;
            continue;
        }
        if (rc != STORE_OK)
            break;
        if (c->up->unchangedsince != 0 && m.modseq > c->up->unchangedsince) {
            c->modified[c->nmodified++] = m.uid;
            c->result[c->nresult++] = m;
            continue;
        }
        kw = store_kw_apply(m.keywords, c->up->op, c->up->keywords);
        uint32_t nf = flags_apply(m.flags, c->up);
        if (nf == m.flags && store_kw_equal(kw, m.keywords)) {
            free(kw);
            c->result[c->nresult++] = m;
            continue;
        }
        store_mbx_count_remove(&mb, &m);
        gained |= nf & ~m.flags;
        m.flags = nf;
        free(m.keywords);
        m.keywords = kw;
        store_mbx_count_add(&mb, &m);
        store_kw_union(&mb.keywords, kw);
        old = m.modseq;
        m.modseq = modseq;
        rc = store_msgrec_save(tx, c->id, &m, old, err);
        c->changed[c->nchanged++] = m.uid;
        c->result[c->nresult++] = m;
    }
    if (rc == STORE_OK && c->nchanged > 0) {
        mb.highestmodseq = modseq;
        if (c->journal != NULL)
            flags_encode(c, &mb);
        rc = store_mbx_save(tx, &mb, err);
        if (rc == STORE_OK)
            store_changeset_add(&c->cs, STORE_CHANGE_FLAGS, c->u->user, &mb, NULL, c->changed,
                                c->nchanged)
                ->flags_on = gained;
    }
    store_mailbox_clear(&mb);
    return rc;
}

/* A few messages: one record in the journal; many: a bulk change of the index. */
static enum store_err flags_commit(struct store_userctx *u, struct flags_ctx *c,
                                   struct store_error *err)
{
    if (store_tx_bulk_worth(u->index, c->nuids))
        return store_user_tx(u, STORE_TX_BULK, flags_fn, c, err);
    return store_journal_change(u, flags_fn, c, &c->journal, true, err);
}

enum store_err store_flags_update(struct store *st, const char *user, uint32_t mailbox_id,
                                  const uint32_t *uids, size_t nuids,
                                  const struct store_flag_update *up, struct store_msg **result_r,
                                  size_t *nresult_r, uint32_t **modified_r, size_t *nmodified_r,
                                  struct store_error *err)
{
    struct store_userctx u;
    struct flags_ctx c = {.u = &u, .id = mailbox_id, .up = up};
    enum store_err rc = store_userctx_init(&u, st, user, err);
    uint32_t *sorted = NULL;

    if (result_r != NULL)
        *result_r = NULL;
    if (nresult_r != NULL)
        *nresult_r = 0;
    if (modified_r != NULL)
        *modified_r = NULL;
    if (nmodified_r != NULL)
        *nmodified_r = 0;
    if (rc == STORE_OK && !store_kw_valid(up->keywords))
        rc = store_fail(err, STORE_EINVAL, "invalid keyword");
    if (rc != STORE_OK)
        goto out;
    sorted = store_uids_sorted_unique(uids, nuids, &c.nuids);
    c.uids = sorted;
    c.result = calloc(c.nuids + 1, sizeof(*c.result));
    c.modified = calloc(c.nuids + 1, sizeof(*c.modified));
    c.changed = calloc(c.nuids + 1, sizeof(*c.changed));
    if (c.result == NULL || c.modified == NULL || c.changed == NULL)
        abort();
    rc = flags_commit(&u, &c, err);
    if (rc == STORE_OK) {
        store_changeset_emit(st, &c.cs);
        if (result_r != NULL) {
            *result_r = c.result;
            *nresult_r = c.nresult;
            c.result = NULL;
        }
        if (modified_r != NULL) {
            *modified_r = c.modified;
            *nmodified_r = c.nmodified;
            c.modified = NULL;
        }
    }
    store_msg_list_free(&c.result, c.nresult);
    store_changeset_free(&c.cs);
    free(c.modified);
    free(c.changed);
out:
    free(sorted);
    store_userctx_free(&u);
    return rc;
}
