/* EXPUNGE: records and tombstones change in one transaction, and the body files are unlinked
 * only after it commits, so no record ever lacks its file. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-journal.h"

/* ---- EXPUNGE ---- */

struct expunge_ctx {
    const struct store_userctx *u;
    uint32_t id;
    const uint32_t *uids; /* NULL: scan for \Deleted */
    size_t nuids;
    uint32_t *gone;
    char **paths; /* body files to unlink after the commit */
    size_t ngone, cap;
    struct store_changeset cs;
    struct store_buf *journal; /* journal path: the change is encoded here */
};

static bool collect_deleted(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                            void *vctx)
{
    struct expunge_ctx *c = vctx;
    struct store_msg m;

    if (kl != 9 || !store_rec_msg_get(v, vl, store_be32_get(k + 5), &m))
        return true;
    if (m.flags & STORE_FLAG_DELETED) {
        if (c->ngone == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->gone = realloc(c->gone, c->cap * sizeof(*c->gone));
            if (c->gone == NULL)
                abort();
        }
        c->gone[c->ngone++] = m.uid;
    }
    store_msg_clear(&m);
    return true;
}

static enum store_err expunge_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct expunge_ctx *c = vctx;
    unsigned char prefix[STORE_KEY_FIXED_MAX];
    struct store_mailbox mb;
    struct store_usage usage;
    struct store_msg m;
    size_t kept = 0;
    enum store_err rc = store_mbx_load(tx, c->id, &mb, err);

    if (rc != STORE_OK)
        return rc;
    if (c->uids == NULL) {
        rc = store_tx_scan(tx, prefix, store_key_msg(prefix, STORE_KEY_MESSAGE, c->id, 0), NULL, 0,
                           collect_deleted, c, err);
    } else {
        c->gone = store_uids_sorted_unique(c->uids, c->nuids, &c->ngone);
    }
    if (rc == STORE_OK)
        rc = store_usage_load(tx, &usage, err);
    c->paths = calloc(c->ngone + 1, sizeof(*c->paths));
    if (c->paths == NULL)
        abort();
    for (size_t i = 0; rc == STORE_OK && i < c->ngone; i++) {
        rc = store_msgrec_load(tx, c->id, c->gone[i], &m, err);
        if (rc == STORE_ENOTFOUND || (rc == STORE_OK && !(m.flags & STORE_FLAG_DELETED))) {
            store_msg_clear(&m);
            rc = STORE_OK;
            continue;
        }
        if (rc != STORE_OK)
            break;
        rc = store_msgrec_expunge(tx, c->id, &m, mb.highestmodseq + 1, err);
        store_mbx_count_remove(&mb, &m);
        usage.bytes -= usage.bytes >= m.size ? m.size : usage.bytes;
        usage.messages -= usage.messages > 0;
        c->paths[kept] = store_path_body(c->u->home, m.body_mailbox, m.body_uid);
        c->gone[kept++] = m.uid;
        store_msg_clear(&m);
    }
    c->ngone = kept;
    if (rc == STORE_OK && kept > 0) {
        if (c->journal != NULL)
            store_journal_encode_expunge(c->journal, c->id, mb.uidvalidity, c->gone, kept);
        mb.highestmodseq++;
        rc = store_mbx_save(tx, &mb, err);
        if (rc == STORE_OK)
            rc = store_usage_save(tx, &usage, err);
        if (rc == STORE_OK)
            store_changeset_add(&c->cs, STORE_CHANGE_EXPUNGE, c->u->user, &mb, NULL, c->gone, kept);
    }
    store_mailbox_clear(&mb);
    return rc;
}

/* An expunge changes four records a message (M, E, S, X); how many messages an expunge of
 * every \Deleted one takes, its mailbox's counter says. */
static enum store_tx_mode expunge_mode(struct store *st, const struct store_userctx *u, uint32_t id,
                                       const uint32_t *uids, size_t nuids)
{
    struct store_mailbox mb;
    struct store_error err;

    if (uids == NULL && store_mailbox_get_id(st, u->user, id, &mb, &err) == STORE_OK) {
        nuids = mb.deleted;
        store_mailbox_clear(&mb);
    }
    return store_tx_bulk_worth(u->index, 4 * nuids) ? STORE_TX_BULK : STORE_TX_WRITE;
}

/* A few messages: one record in the journal; many: a bulk change of the index. */
static enum store_err expunge_commit(struct store *st, struct store_userctx *u,
                                     struct expunge_ctx *c, struct store_error *err)
{
    if (expunge_mode(st, u, c->id, c->uids, c->nuids) == STORE_TX_BULK)
        return store_user_tx(u, STORE_TX_BULK, expunge_fn, c, err);
    return store_journal_change(u, expunge_fn, c, &c->journal, true, err);
}

enum store_err store_expunge(struct store *st, const char *user, uint32_t mailbox_id,
                             const uint32_t *uids, size_t nuids, uint32_t **expunged_r,
                             size_t *nexpunged_r, struct store_error *err)
{
    struct store_userctx u;
    struct expunge_ctx c = {.u = &u, .id = mailbox_id, .uids = uids, .nuids = nuids};
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (expunged_r != NULL)
        *expunged_r = NULL;
    if (nexpunged_r != NULL)
        *nexpunged_r = 0;
    if (rc == STORE_OK)
        rc = expunge_commit(st, &u, &c, err);
    if (rc == STORE_OK) {
        /* After the commit: a crash before this leaves orphan files, which the fold of a
         * journalled expunge or reconstruct removes. */
        for (size_t i = 0; i < c.ngone; i++)
            unlink(c.paths[i]);
        store_changeset_emit(st, &c.cs);
        if (expunged_r != NULL) {
            *expunged_r = c.gone;
            c.gone = NULL;
        }
        if (nexpunged_r != NULL)
            *nexpunged_r = c.ngone;
    }
    store_strings_free(&c.paths, c.ngone);
    store_changeset_free(&c.cs);
    free(c.gone);
    store_userctx_free(&u);
    return rc;
}
