/* Delivery: each recipient's body is a hard link to the finished spool, made and its directory
 * fsynced while the user's index is locked, and only then the records are committed: as one
 * durable record in the user's delivery journal (the usual way, under a shared lock on the
 * index), or by a transaction on the index itself (a first delivery, or a journal past its
 * bound, which that transaction folds in). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-journal.h"
#include "store-spool.h"
#include "store-tx.h"

/* A mailbox touched by this batch: loaded once, saved once, one NEW event. */
struct dlv_box {
    struct store_mailbox mb;
    uint32_t *uids;
    size_t nuids;
    bool appended; /* an APPEND among them */
};

struct dlv_ctx {
    const struct store_userctx *u;
    struct store_delivery **d; /* this user's deliveries */
    size_t n;
    bool *ok;      /* d[i] made its link and records */
    char **linked; /* links to undo if the commit fails */
    size_t nlinked;
    struct dlv_box *box;
    size_t nbox;
    struct store_changeset cs;
    struct store_buf *journal; /* journal path: the records go here, not into the index */
    bool slow;                 /* journal path refused: run the transaction instead */
    bool fold_due;
};

static enum store_err box_get(struct store_tx *tx, struct dlv_ctx *c, uint32_t id,
                              struct dlv_box **box_r, struct store_error *err)
{
    enum store_err rc;

    for (size_t i = 0; i < c->nbox; i++)
        if (c->box[i].mb.id == id) {
            *box_r = &c->box[i];
            return STORE_OK;
        }
    c->box = realloc(c->box, (c->nbox + 1) * sizeof(*c->box));
    if (c->box == NULL)
        abort();
    memset(&c->box[c->nbox], 0, sizeof(*c->box));
    rc = store_mbx_load(tx, id, &c->box[c->nbox].mb, err);
    if (rc != STORE_OK)
        return rc;
    c->box[c->nbox].uids = calloc(c->n, sizeof(uint32_t));
    if (c->box[c->nbox].uids == NULL)
        abort();
    *box_r = &c->box[c->nbox++];
    return STORE_OK;
}

/* Target mailbox of d: its name, else INBOX when allowed. Per-delivery failures stay in d. */
static enum store_err dlv_target(struct store_tx *tx, struct store_delivery *d, uint32_t *id_r,
                                 struct store_error *err)
{
    char *canon = NULL;
    enum store_err rc;

    if (d->mailbox == NULL)
        return store_mbx_lookup(tx, "INBOX", id_r, err);
    rc = store_name_canon(d->mailbox, &canon, &d->err);
    if (rc == STORE_OK)
        rc = store_mbx_lookup(tx, canon, id_r, &d->err);
    free(canon);
    if (rc == STORE_ENOTFOUND && d->fallback_inbox) {
        store_ok(&d->err);
        rc = store_mbx_lookup(tx, "INBOX", id_r, err);
    }
    return rc;
}

static enum store_err dlv_one(struct store_tx *tx, struct dlv_ctx *c, size_t i,
                              struct store_usage *usage, struct store_error *err)
{
    struct store_delivery *d = c->d[i];
    struct store_spool *sp = d->spool;
    struct dlv_box *box;
    struct store_msg m = {0};
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_buf v = {0};
    uint32_t id;
    char *path;
    enum store_err rc;

    if (sp == NULL || !sp->finished)
        return store_fail(&d->err, STORE_EINVAL, "delivery without a finished spool");
    if (!store_kw_valid(d->keywords))
        return store_fail(&d->err, STORE_EINVAL, "invalid keyword");
    rc = dlv_target(tx, d, &id, &d->err);
    if (rc == STORE_OK)
        rc = box_get(tx, c, id, &box, err);
    if (rc != STORE_OK)
        return rc;
    if ((d->limits.bytes && usage->bytes + sp->size > d->limits.bytes) ||
        (d->limits.messages && usage->messages + 1 > d->limits.messages))
        return store_fail(&d->err, STORE_EQUOTA, "mailbox of %s is over quota", c->u->user);
    if (box->mb.uidnext == UINT32_MAX)
        return store_fail(&d->err, STORE_EINVAL, "UID space of %s exhausted", box->mb.name);

    m.uid = box->mb.uidnext;
    path = store_path_body(c->u->home, id, m.uid);
    if (link(sp->path, path) != 0) {
        /* A file under a UID at or above UIDNEXT is an orphan of a crash before its commit. */
        if (errno != EEXIST || unlink(path) != 0 || link(sp->path, path) != 0) {
            rc = store_fail_errno(&d->err, errno, "link %s", path);
            free(path);
            return rc;
        }
    }
    c->linked[c->nlinked++] = path;
    STORE_FAULT("deliver-linked");

    m.flags = d->flags & STORE_FLAGS_ALL;
    m.internaldate = sp->internaldate;
    m.tzoff = sp->tzoff;
    m.size = sp->size;
    m.modseq = box->mb.highestmodseq + 1;
    m.header_size = sp->header_size;
    m.body_mailbox = id;
    m.body_uid = m.uid;
    m.keywords = store_kw_apply(NULL, STORE_FLAGS_REPLACE, d->keywords);
    store_rec_mime_put(&v, &sp->mime);
    if (c->journal != NULL) {
        struct store_jrec r;
        store_journal_rec(&r, id, box->mb.uidvalidity, &m, v.data, v.len);
        store_journal_encode(c->journal, &r);
    } else {
        rc = store_msgrec_save(tx, id, &m, 0, err);
        if (rc == STORE_OK)
            rc = store_tx_put(tx, k, store_key_msg(k, STORE_KEY_MIME, id, m.uid), v.data, v.len,
                              err);
    }
    store_buf_free(&v);
    if (rc == STORE_OK) {
        store_journal_account(&box->mb, usage, &m);
        box->uids[box->nuids++] = m.uid;
        box->appended |= d->append;
        d->mailbox_id = id;
        d->uidvalidity = box->mb.uidvalidity;
        d->uid = m.uid;
        c->ok[i] = true;
    }
    store_msg_clear(&m);
    return rc;
}

/* The links must be durable before the records that point at them: one fsync per mailbox
 * directory that got links. */
static enum store_err dlv_sync_dirs(const struct dlv_ctx *c, struct store_error *err)
{
    enum store_err rc = STORE_OK;

    for (size_t i = 0; rc == STORE_OK && i < c->nbox; i++) {
        if (c->box[i].nuids == 0)
            continue;
        char *dir = store_path_mailbox_dir(c->u->home, c->box[i].mb.id);
        rc = store_fsync_dir(dir, err);
        free(dir);
    }
    return rc;
}

/* One NEW event per mailbox that got messages. */
static void dlv_events(struct dlv_ctx *c)
{
    for (size_t i = 0; i < c->nbox; i++)
        if (c->box[i].nuids > 0)
            store_changeset_add(&c->cs, STORE_CHANGE_NEW, c->u->user, &c->box[i].mb, NULL,
                                c->box[i].uids, c->box[i].nuids)
                ->appended = c->box[i].appended;
}

static enum store_err dlv_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct dlv_ctx *c = vctx;
    struct store_usage usage;
    struct store_mailbox inbox;
    uint32_t id;
    enum store_err rc = store_mbx_lookup(tx, "INBOX", &id, NULL);

    /* A home without INBOX (store_home_ensure makes it before a first delivery, so only a
     * damaged one) gets it back here. */
    if (rc == STORE_ENOTFOUND) {
        rc = store_mbx_new(tx, c->u, "INBOX", &inbox, err);
        if (rc == STORE_OK)
            store_changeset_add(&c->cs, STORE_CHANGE_MAILBOX_CREATE, c->u->user, &inbox, NULL, NULL,
                                0);
        store_mailbox_clear(&inbox);
    }
    if (rc == STORE_OK)
        rc = store_usage_load(tx, &usage, err);

    for (size_t i = 0; rc == STORE_OK && i < c->n; i++) {
        rc = dlv_one(tx, c, i, &usage, err);
        /* A failure recorded in the delivery itself concerns only that recipient. */
        if (rc != STORE_OK && c->d[i]->err.code != STORE_OK)
            rc = STORE_OK;
    }
    if (rc == STORE_OK)
        rc = dlv_sync_dirs(c, err);
    for (size_t i = 0; rc == STORE_OK && i < c->nbox; i++)
        if (c->box[i].nuids > 0)
            rc = store_mbx_save(tx, &c->box[i].mb, err);
    if (rc == STORE_OK)
        rc = store_usage_save(tx, &usage, err);
    STORE_FAULT("deliver-commit");
    if (rc == STORE_OK)
        dlv_events(c);
    return rc;
}

/* An APPEND comes from a client, which reads the journal at every command. */
static off_t fold_at(const struct dlv_ctx *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->d[i]->append)
            return STORE_JOURNAL_FOLD_READERS_AT;
    return STORE_JOURNAL_FOLD_AT;
}

/* The journal path, under a shared lock on the index: links and records as in dlv_fn, the
 * records appended to the journal with one fdatasync instead of an index transaction. */
static enum store_err jdlv_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct dlv_ctx *c = vctx;
    struct store_journal j;
    struct store_usage usage;
    size_t delivered = 0;
    uint32_t id;
    enum store_err rc = store_mbx_lookup(tx, "INBOX", &id, err);

    if (rc == STORE_ENOTFOUND) {
        c->slow = true; /* the transaction creates it */
        return STORE_OK;
    }
    if (rc != STORE_OK)
        return rc;
    /* UIDs, quota and the counters of the NEW events continue from what the journal holds;
     * past its bound the transaction folds it, then delivers */
    rc = store_journal_begin(tx, c->u, &j, &c->slow, err);
    if (rc != STORE_OK || c->slow)
        return rc;
    rc = store_usage_load(tx, &usage, err);
    for (size_t i = 0; rc == STORE_OK && i < c->n; i++) {
        rc = dlv_one(tx, c, i, &usage, err);
        if (rc != STORE_OK && c->d[i]->err.code != STORE_OK)
            rc = STORE_OK;
        delivered += c->ok[i];
    }
    if (rc == STORE_OK)
        rc = dlv_sync_dirs(c, err);
    STORE_FAULT("deliver-commit");
    if (rc == STORE_OK && delivered > 0)
        rc = store_journal_append(&j, c->journal, true, err);
    if (rc == STORE_OK && j.end > fold_at(c))
        c->fold_due = true;
    store_journal_close(&j);
    if (rc == STORE_OK)
        dlv_events(c);
    return rc;
}

/* Frees what a run collected (mailboxes, link names, events), keeping the outcomes. */
static void dlv_ctx_reset(struct dlv_ctx *c)
{
    store_changeset_free(&c->cs);
    for (size_t i = 0; i < c->nbox; i++) {
        store_mailbox_clear(&c->box[i].mb);
        free(c->box[i].uids);
    }
    free(c->box);
    c->box = NULL;
    c->nbox = 0;
    for (size_t i = 0; i < c->nlinked; i++)
        free(c->linked[i]);
    c->nlinked = 0;
}

/* Delivers c->d (all for one user): through the journal, or when the journal path declines
 * (a journal nobody folded, a missing INBOX) in one transaction on the index. */
static void deliver_user(struct store *st, const char *user, struct store_delivery **d, size_t n)
{
    struct store_userctx u;
    struct store_buf journal = {0};
    struct dlv_ctx c = {.u = &u, .d = d, .n = n};
    struct store_error err;
    enum store_err rc = store_userctx_init(&u, st, user, &err);

    c.ok = calloc(n, sizeof(*c.ok));
    c.linked = calloc(n, sizeof(*c.linked));
    if (c.ok == NULL || c.linked == NULL)
        abort();
    /* A first delivery commits the user's INBOX on its own first, so that a crash in the
     * delivery's commit leaves a known mailbox with at most an orphan file in it. */
    if (rc == STORE_OK && access(u.index, F_OK) != 0)
        rc = store_home_ensure(st, u.user, &err);
    if (rc == STORE_OK) {
        c.journal = &journal;
        /* not store_user_tx: a read there would fold the journal first */
        rc = store_tx_run(st, u.index, STORE_TX_READ, jdlv_fn, &c, &err);
        c.journal = NULL;
        if (rc == STORE_OK && c.slow)
            dlv_ctx_reset(&c); /* nothing was linked or written yet */
    }
    if (rc == STORE_OK && c.slow)
        rc = store_user_tx(&u, STORE_TX_WRITE, dlv_fn, &c, &err);
    if (rc != STORE_OK) {
        for (size_t i = 0; i < c.nlinked; i++)
            unlink(c.linked[i]);
        for (size_t i = 0; i < n; i++)
            if (c.ok[i] || d[i]->err.code == STORE_OK) {
                d[i]->err = err;
                d[i]->uid = 0;
            }
    } else {
        store_changeset_emit(st, &c.cs);
        for (size_t i = 0; i < n; i++)
            d[i]->fold_due = c.fold_due;
    }
    dlv_ctx_reset(&c);
    store_buf_free(&journal);
    free(c.linked);
    free(c.ok);
    store_userctx_free(&u);
}

enum store_err store_deliver(struct store *st, struct store_delivery *d, size_t n)
{
    struct store_delivery **group = calloc(n + 1, sizeof(*group));
    char(*canon)[STORE_USER_MAX + 1] = calloc(n + 1, sizeof(*canon));
    bool *done = calloc(n + 1, sizeof(*done));
    enum store_err first = STORE_OK;

    if (group == NULL || canon == NULL || done == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        store_ok(&d[i].err);
        d[i].mailbox_id = d[i].uidvalidity = d[i].uid = 0;
        d[i].fold_due = false;
        done[i] = store_user_canon(d[i].user, canon[i], &d[i].err) != STORE_OK;
    }
    /* One transaction per user: concurrent recipients of one user share one commit. */
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;

        if (done[i])
            continue;
        for (size_t j = i; j < n; j++)
            if (!done[j] && strcmp(canon[j], canon[i]) == 0) {
                group[k++] = &d[j];
                done[j] = true;
            }
        deliver_user(st, canon[i], group, k);
    }
    for (size_t i = 0; i < n && first == STORE_OK; i++)
        first = d[i].err.code;
    free(group);
    free(canon);
    free(done);
    return first;
}
