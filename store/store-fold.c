/* Applying the journal: into the index by a writer's fold, into a read transaction's shadow by
 * a reader, and into the shadow of a change made through the journal (store_journal_change),
 * which so sees the state its record will follow. All three run the same code in the same
 * order, so the MODSEQs a reader sees are the ones the fold gives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-journal.h"

/* A mailbox the records change: loaded once, saved once. */
struct fold_box {
    uint32_t id;
    bool missing, dirty;
    struct store_mailbox mb;
};

struct fold {
    struct store_tx *tx;
    const struct store_userctx *u;
    struct fold_box *boxes;
    size_t nboxes;
    struct store_usage usage;
    bool usage_dirty;
    struct store_fold_out *out;
    uint64_t *expunged; /* (mailbox id << 32 | uid) of every EXPUNGE record, sorted */
    size_t nexpunged;
};

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* An expunge unlinks its bodies as soon as its record is durable, so a delivery the same
 * journal later expunges may have lost its file already: it is still a delivery (its UID must
 * be taken), and every application of the journal must agree on that. */
static void expunged_collect(struct fold *f, const struct store_journal *j)
{
    size_t n = 0;

    for (size_t i = 0; i < j->n; i++)
        if (j->recs[i].kind == STORE_JREC_EXPUNGE)
            n += j->recs[i].n;
    if (n == 0)
        return;
    f->expunged = malloc(n * sizeof(*f->expunged));
    if (f->expunged == NULL)
        abort();
    for (size_t i = 0; i < j->n; i++)
        if (j->recs[i].kind == STORE_JREC_EXPUNGE)
            for (size_t k = 0; k < j->recs[i].n; k++)
                f->expunged[f->nexpunged++] =
                    (uint64_t)j->recs[i].mailbox_id << 32 | j->recs[i].uids[k];
    qsort(f->expunged, f->nexpunged, sizeof(*f->expunged), u64_cmp);
}

static bool expunged_later(const struct fold *f, const struct store_jrec *r)
{
    uint64_t key = (uint64_t)r->mailbox_id << 32 | r->uid;

    return f->nexpunged > 0 &&
           bsearch(&key, f->expunged, f->nexpunged, sizeof(key), u64_cmp) != NULL;
}

void store_fold_out_free(struct store_fold_out *out)
{
    store_strings_free(&out->unlink, out->n);
    out->n = out->cap = 0;
}

static void out_add(struct store_fold_out *out, char *path)
{
    if (out == NULL) {
        free(path);
        return;
    }
    if (out->n == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 16;
        out->unlink = realloc(out->unlink, out->cap * sizeof(*out->unlink));
        if (out->unlink == NULL)
            abort();
    }
    out->unlink[out->n++] = path;
}

/* The record's mailbox, or NULL when it is gone or has another UIDVALIDITY now (cannot happen:
 * deleting a mailbox folds first; but never apply a record to the wrong mailbox). */
static struct fold_box *box_of(struct fold *f, const struct store_jrec *r, enum store_err *rc,
                               struct store_error *err)
{
    struct fold_box *b = NULL;

    for (size_t i = 0; i < f->nboxes && b == NULL; i++)
        if (f->boxes[i].id == r->mailbox_id)
            b = &f->boxes[i];
    if (b == NULL) {
        f->boxes = realloc(f->boxes, (f->nboxes + 1) * sizeof(*f->boxes));
        if (f->boxes == NULL)
            abort();
        b = &f->boxes[f->nboxes++];
        memset(b, 0, sizeof(*b));
        b->id = r->mailbox_id;
        *rc = store_mbx_load(f->tx, r->mailbox_id, &b->mb, err);
        if (*rc == STORE_ENOTFOUND) {
            b->missing = true;
            *rc = STORE_OK;
        }
    }
    return b->missing || b->mb.uidvalidity != r->uidvalidity ? NULL : b;
}

static enum store_err apply_deliver(struct fold *f, struct fold_box *b, const struct store_jrec *r,
                                    struct store_error *err)
{
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_msg m;
    char *path;
    bool present;
    enum store_err rc;

    if (!store_journal_pending(r, &b->mb))
        return STORE_OK; /* already in the index */
    path = store_path_body(f->u->home, r->mailbox_id, r->uid);
    /* A shadow (no out) takes the file as there: only damage removes a body before its
     * record is folded, and a read is not where to find that out, one access(2) a record. */
    present = f->out == NULL || expunged_later(f, r) || access(path, F_OK) == 0;
    free(path);
    if (!present)
        return STORE_OK; /* the link was made durable before the record: not a delivery */
    store_journal_msg(r, b->mb.highestmodseq + 1, &m);
    rc = store_msgrec_save(f->tx, r->mailbox_id, &m, 0, err);
    if (rc == STORE_OK)
        rc = store_tx_put(f->tx, k, store_key_msg(k, STORE_KEY_MIME, r->mailbox_id, r->uid),
                          r->mime, r->mime_len, err);
    if (rc != STORE_OK)
        return rc;
    store_journal_account(&b->mb, &f->usage, &m);
    b->dirty = f->usage_dirty = true;
    return STORE_OK;
}

static enum store_err apply_flags(struct fold *f, struct fold_box *b, const struct store_jrec *r,
                                  struct store_error *err)
{
    uint64_t modseq = b->mb.highestmodseq + 1, old;
    enum store_err rc = STORE_OK;
    struct store_msg m;
    bool changed = false;

    for (size_t i = 0; rc == STORE_OK && i < r->n; i++) {
        const struct store_jflags *e = &r->set[i];
        rc = store_msgrec_load(f->tx, r->mailbox_id, e->uid, &m, err);
        if (rc == STORE_ENOTFOUND) {
            rc = STORE_OK;
            continue;
        }
        if (rc != STORE_OK)
            break;
        if (m.flags != e->flags || !store_kw_equal(m.keywords, e->keywords)) {
            store_mbx_count_remove(&b->mb, &m);
            m.flags = e->flags;
            free(m.keywords);
            m.keywords = e->keywords != NULL ? strdup(e->keywords) : NULL;
            if (e->keywords != NULL && m.keywords == NULL)
                abort();
            store_mbx_count_add(&b->mb, &m);
            store_kw_union(&b->mb.keywords, m.keywords);
            old = m.modseq;
            m.modseq = modseq;
            rc = store_msgrec_save(f->tx, r->mailbox_id, &m, old, err);
            changed = true;
        }
        store_msg_clear(&m);
    }
    if (changed) {
        b->mb.highestmodseq = modseq;
        b->dirty = true;
    }
    return rc;
}

static enum store_err apply_expunge(struct fold *f, struct fold_box *b, const struct store_jrec *r,
                                    struct store_error *err)
{
    uint64_t modseq = b->mb.highestmodseq + 1;
    enum store_err rc = STORE_OK;
    struct store_msg m;
    bool changed = false;

    for (size_t i = 0; rc == STORE_OK && i < r->n; i++) {
        rc = store_msgrec_load(f->tx, r->mailbox_id, r->uids[i], &m, err);
        if (rc == STORE_ENOTFOUND) {
            rc = STORE_OK;
            continue;
        }
        if (rc == STORE_OK)
            rc = store_msgrec_expunge(f->tx, r->mailbox_id, &m, modseq, err);
        if (rc == STORE_OK) {
            store_mbx_count_remove(&b->mb, &m);
            f->usage.bytes -= f->usage.bytes >= m.size ? m.size : f->usage.bytes;
            f->usage.messages -= f->usage.messages > 0;
            out_add(f->out, store_path_body(f->u->home, m.body_mailbox, m.body_uid));
            changed = true;
        }
        store_msg_clear(&m);
    }
    if (changed) {
        b->mb.highestmodseq = modseq;
        b->dirty = f->usage_dirty = true;
    }
    return rc;
}

static enum store_err apply_one(struct fold *f, const struct store_jrec *r, struct store_error *err)
{
    enum store_err rc = STORE_OK;
    struct fold_box *b = box_of(f, r, &rc, err);

    if (b == NULL)
        return rc;
    switch (r->kind) {
    case STORE_JREC_DELIVER:
        return apply_deliver(f, b, r, err);
    case STORE_JREC_FLAGS:
        return apply_flags(f, b, r, err);
    case STORE_JREC_EXPUNGE:
        return apply_expunge(f, b, r, err);
    case STORE_JREC_RECENT:
        if (r->uid > b->mb.recent_uid && r->uid < b->mb.uidnext) {
            b->mb.recent_uid = r->uid;
            b->dirty = true;
        }
        return STORE_OK;
    }
    return STORE_OK;
}

enum store_err store_journal_apply(struct store_tx *tx, const struct store_userctx *u,
                                   const struct store_journal *j, struct store_fold_out *out,
                                   struct store_error *err)
{
    struct fold f = {.tx = tx, .u = u, .out = out};
    enum store_err rc = STORE_OK;

    if (j->n == 0)
        return STORE_OK;
    expunged_collect(&f, j);
    rc = store_usage_load(tx, &f.usage, err);
    for (size_t i = 0; rc == STORE_OK && i < j->n; i++)
        rc = apply_one(&f, &j->recs[i], err);
    for (size_t i = 0; rc == STORE_OK && i < f.nboxes; i++)
        if (f.boxes[i].dirty)
            rc = store_mbx_save(tx, &f.boxes[i].mb, err);
    if (rc == STORE_OK && f.usage_dirty)
        rc = store_usage_save(tx, &f.usage, err);
    for (size_t i = 0; i < f.nboxes; i++)
        store_mailbox_clear(&f.boxes[i].mb);
    free(f.boxes);
    free(f.expunged);
    return rc;
}

enum store_err store_journal_fold(struct store_tx *tx, const struct store_userctx *u,
                                  size_t *applied_r, struct store_fold_out *out,
                                  struct store_error *err)
{
    struct store_journal j;
    enum store_err rc = store_journal_open_shared(u, &j, err);

    *applied_r = 0;
    if (rc != STORE_OK)
        return rc;
    /* a reader: the shadow an earlier read made of this same journal and index, if kept */
    if (out == NULL && store_tx_shadow_reuse(tx, j.size)) {
        store_journal_close(&j);
        return STORE_OK;
    }
    rc = store_journal_load(&j, err);
    if (rc == STORE_OK)
        rc = store_journal_apply(tx, u, &j, out, err);
    if (rc == STORE_OK && out == NULL)
        store_tx_shadow_offer(tx, j.size);
    if (rc == STORE_OK)
        *applied_r = j.n;
    store_journal_close(&j);
    return rc;
}

/* ---- changes made through the journal ---- */

enum store_err store_journal_begin(struct store_tx *tx, const struct store_userctx *u,
                                   struct store_journal *j, bool *declined_r,
                                   struct store_error *err)
{
    enum store_err rc = store_journal_open(u, j, err);

    *declined_r = false;
    if (rc != STORE_OK)
        return rc;
    if (j->end > STORE_JOURNAL_HARD_MAX) {
        *declined_r = true; /* nobody folded it: the caller's transaction does */
        store_journal_close(j);
        return STORE_OK;
    }
    store_tx_shadow(tx);
    if (!store_tx_shadow_reuse(tx, j->size)) {
        rc = store_journal_apply(tx, u, j, NULL, err);
        if (rc == STORE_OK)
            store_tx_shadow_offer(tx, j->size);
    }
    if (rc != STORE_OK)
        store_journal_close(j);
    return rc;
}

struct change {
    struct store_userctx *u;
    store_tx_fn *fn;
    void *ctx;
    struct store_buf *buf;
    bool durable, declined, fold_due;
};

static enum store_err change_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct change *c = vctx;
    struct store_journal j;
    enum store_err rc = store_journal_begin(tx, c->u, &j, &c->declined, err);

    if (rc != STORE_OK || c->declined)
        return rc;
    rc = c->fn(tx, c->ctx, err);
    STORE_FAULT("change-encoded");
    if (rc == STORE_OK && c->buf->len > 0)
        rc = store_journal_append(&j, c->buf, c->durable, err);
    /* fn made its change in the shadow by the same steps as applying its record does, so the
     * shadow is now the journal applied as it stands: the next read need not apply it again */
    if (rc == STORE_OK && c->buf->len > 0)
        store_tx_shadow_offer(tx, j.end);
    c->fold_due = rc == STORE_OK && j.end > STORE_JOURNAL_FOLD_READERS_AT;
    store_journal_close(&j);
    return rc;
}

enum store_err store_journal_change(struct store_userctx *u, store_tx_fn *fn, void *ctx,
                                    struct store_buf **slot, bool durable, struct store_error *err)
{
    struct store_buf buf = {0};
    struct change c = {u, fn, ctx, &buf, durable, true, false};
    enum store_err rc = STORE_OK;

    *slot = &buf;
    /* Not store_user_tx: its read would apply the journal under a lock of its own. A missing
     * index is left to the write transaction, which says what is missing. */
    if (access(u->index, F_OK) == 0)
        rc = store_tx_run(u->st, u->index, STORE_TX_READ, change_fn, &c, err);
    *slot = NULL;
    store_buf_free(&buf);
    if (rc == STORE_OK && c.declined) /* before fn ran */
        return store_user_tx(u, STORE_TX_WRITE, fn, ctx, err);
    /* The change is committed; a fold that fails leaves it in the journal, where every reader
     * sees it and the next writer folds it. */
    if (rc == STORE_OK && c.fold_due)
        store_fold_later(u->st, u->user);
    return rc;
}
