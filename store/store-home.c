/* A user's home: the folder with index.tcb and one directory per mailbox. Created on first
 * use (delivery or login) with its INBOX, removed with the user. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-journal.h"
#include "store-tx.h"

enum store_err store_userctx_init(struct store_userctx *u, struct store *st, const char *user,
                                  struct store_error *err)
{
    enum store_err rc;

    memset(u, 0, sizeof(*u));
    u->st = st;
    rc = store_user_canon(user, u->user, err);
    if (rc != STORE_OK)
        return rc;
    u->home = store_path_home(st, u->user);
    u->index = store_path_index(st, u->user);
    return STORE_OK;
}

void store_userctx_free(struct store_userctx *u)
{
    free(u->home);
    free(u->index);
    u->home = u->index = NULL;
}

/* A transaction that first folds the journal in. */
struct fold_wrap {
    const struct store_userctx *u;
    store_tx_fn *fn;
    void *ctx;
    size_t folded;             /* records the fold read */
    off_t journal_len;         /* a reader: the journal's length when it looked */
    struct store_fold_out out; /* expunged bodies, unlinked once the fold is committed */
};

static enum store_err fold_then(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct fold_wrap *w = vctx;
    enum store_err rc = store_journal_fold(tx, w->u, &w->folded, &w->out, err);

    if (rc == STORE_OK && w->fn != NULL)
        rc = w->fn(tx, w->ctx, err);
    return rc;
}

/* A read: the same records, applied to the transaction's shadow instead of the file. */
static enum store_err fold_shadow_then(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct fold_wrap *w = vctx;
    size_t folded;
    enum store_err rc;

    store_tx_shadow(tx);
    /* The journal as long as when the kept shadow was made, and the index's generation the
     * same: nothing was committed since (an append in progress may have reached the file, but
     * until it returns a read may come before it). */
    if (store_tx_shadow_reuse(tx, w->journal_len))
        rc = STORE_OK;
    else
        rc = store_journal_fold(tx, w->u, &folded, NULL, err);
    if (rc == STORE_OK)
        rc = w->fn(tx, w->ctx, err);
    return rc;
}

static void fold_reset(void *vctx)
{
    struct fold_wrap *w = vctx;

    if (w->folded == 0)
        return;
    store_journal_reset(w->u);
    /* After the commit: a crash before this leaves orphan files for reconstruct. */
    for (size_t i = 0; i < w->out.n; i++)
        unlink(w->out.unlink[i]);
}

enum store_err store_user_tx(struct store_userctx *u, enum store_tx_mode mode, store_tx_fn *fn,
                             void *ctx, struct store_error *err)
{
    struct fold_wrap w = {.u = u, .fn = fn, .ctx = ctx};
    enum store_err rc;

    /* Every reader sees what the journal holds. A writer folds it in first, under its lock
     * (an appender may have added records since any look before it): appenders hold the index
     * shared, so none runs during the fold, and the journal can be emptied before the index is
     * let go. A reader applies it to its transaction's shadow, writing nothing and waiting for
     * no sync; the MODSEQs it sees are the ones the real fold will give, since every write
     * folds before it changes anything. */
    if (mode != STORE_TX_READ)
        rc = store_tx_run_then(u->st, u->index, mode, fold_then, &w, fold_reset, err);
    else if (fn == NULL)
        return STORE_OK;
    else if ((w.journal_len = store_journal_size(u)) > 0)
        rc = store_tx_run(u->st, u->index, mode, fold_shadow_then, &w, err);
    else
        rc = store_tx_run(u->st, u->index, mode, fn, ctx, err);

    store_fold_out_free(&w.out);
    if (rc == STORE_ENOTFOUND && access(u->index, F_OK) != 0)
        store_fail(err, STORE_ENOTFOUND, "user %s has no mail folder", u->user);
    return rc;
}

static enum store_err ensure_check(struct store_tx *tx, void *ctx, struct store_error *err)
{
    uint32_t id;

    return store_mbx_lookup(tx, "INBOX", &id, err);
}

struct ensure_ctx {
    const struct store_userctx *u;
    struct store_changeset cs;
};

static enum store_err ensure_create(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct ensure_ctx *c = vctx;
    struct store_mailbox mb;
    uint32_t id;
    enum store_err rc = store_mbx_lookup(tx, "INBOX", &id, err);

    if (rc != STORE_ENOTFOUND)
        return rc; /* another process made it first, or a real error */
    rc = store_mbx_new(tx, c->u, "INBOX", &mb, err);
    if (rc == STORE_OK)
        store_changeset_add(&c->cs, STORE_CHANGE_MAILBOX_CREATE, c->u->user, &mb, NULL, NULL, 0);
    store_mailbox_clear(&mb);
    return rc;
}

enum store_err store_home_ensure(struct store *st, const char *user, struct store_error *err)
{
    struct store_userctx u;
    struct ensure_ctx c = {&u, {0}};
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc != STORE_OK)
        return rc;
    rc = store_tx_run(st, u.index, STORE_TX_READ, ensure_check, NULL, err);
    if (rc == STORE_ENOTFOUND) {
        rc = store_mkdirs(u.home, err);
        if (rc == STORE_OK)
            rc = store_tx_run(st, u.index, STORE_TX_CREATE, ensure_create, &c, err);
        if (rc == STORE_OK)
            store_changeset_emit(st, &c.cs);
        store_changeset_free(&c.cs);
    }
    store_userctx_free(&u);
    return rc;
}

enum store_err store_home_exists(struct store *st, const char *user, struct store_error *err)
{
    struct store_userctx u;
    struct stat sb;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc != STORE_OK)
        return rc;
    if (stat(u.index, &sb) != 0)
        rc = store_fail_errno(err, errno, "%s", u.index);
    store_userctx_free(&u);
    return rc;
}

enum store_err store_home_remove(struct store *st, const char *user, struct store_error *err)
{
    struct store_userctx u;
    enum store_err rc = store_userctx_init(&u, st, user, err);
    char *gone;

    if (rc != STORE_OK)
        return rc;
    /* One rename takes the whole home out of sight; the slow removal happens in tmp/. */
    if (asprintf(&gone, "%s/tmp/removed.%s.%ld", st->root, u.user, (long)getpid()) < 0)
        abort();
    if (rename(u.home, gone) != 0)
        rc = store_fail_errno(err, errno, "remove %s", u.home);
    else
        rc = store_remove_tree(gone, err);
    free(gone);
    store_userctx_free(&u);
    return rc;
}

static enum store_err usage_read(struct store_tx *tx, void *ctx, struct store_error *err)
{
    return store_usage_load(tx, ctx, err);
}

enum store_err store_usage_get(struct store *st, const char *user, struct store_usage *usage_r,
                               struct store_error *err)
{
    struct store_userctx u;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    memset(usage_r, 0, sizeof(*usage_r));
    if (rc != STORE_OK)
        return rc;
    rc = store_user_tx(&u, STORE_TX_READ, usage_read, usage_r, err);
    if (rc == STORE_ENOTFOUND) { /* no home yet: nothing used */
        memset(usage_r, 0, sizeof(*usage_r));
        rc = STORE_OK;
        store_ok(err);
    }
    store_userctx_free(&u);
    return rc;
}

/* A fold changes a few records on a few pages each of several kinds (message, MIME, MODSEQ,
 * mailbox, usage): some 25 syncs as a transaction. Copying a small index and syncing the copy
 * once costs less, in time and in the kernel's CPU. */
off_t store_fold_copy_max = 1024 * 1024;

static enum store_tx_mode fold_mode(const struct store_userctx *u)
{
    struct stat sb;

    return stat(u->index, &sb) == 0 && sb.st_size <= store_fold_copy_max ? STORE_TX_BULK
                                                                         : STORE_TX_WRITE;
}

enum store_err store_fold(struct store *st, const char *user, struct store_error *err)
{
    struct store_userctx u;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc == STORE_OK)
        rc = store_user_tx(&u, fold_mode(&u), NULL, NULL, err);
    store_userctx_free(&u);
    return rc;
}
