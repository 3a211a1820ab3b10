/* EXPUNGE, and COPY / MOVE by hard link. Records change in one transaction; body files are
 * linked before the commit and unlinked only after it, so no record ever lacks its file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-tx.h"

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
        rc = store_user_tx(&u, STORE_TX_WRITE, expunge_fn, &c, err);
    if (rc == STORE_OK) {
        /* After the commit: a crash before this leaves orphan files for reconstruct. */
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

/* ---- COPY / MOVE ---- */

/* A body is shared by hard link; past the file system's link limit (EMLINK) it is copied. */
static enum store_err body_link(const char *src, const char *dst, struct store_error *err)
{
    char buf[65536];
    ssize_t n;
    int in, out;
    enum store_err rc = STORE_OK;
    struct stat sb;

    if (link(src, dst) == 0)
        return STORE_OK;
    if (errno == EEXIST) { /* an orphan from a crash: its UID was never committed */
        unlink(dst);
        if (link(src, dst) == 0)
            return STORE_OK;
    }
    if (errno != EMLINK)
        return store_fail_errno(err, errno, "link %s", dst);
    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return store_fail_errno(err, errno, "open %s", src);
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return store_fail_errno(err, errno, "create %s", dst);
    }
    while (rc == STORE_OK && (n = read(in, buf, sizeof(buf))) != 0) {
        if (n < 0 || write(out, buf, (size_t)n) != n)
            rc = store_fail_errno(err, errno ? errno : EIO, "copy to %s", dst);
    }
    /* INTERNALDATE lives in the file's mtime as well; keep it. */
    if (rc == STORE_OK && fstat(in, &sb) == 0) {
        struct timespec times[2] = {sb.st_atim, sb.st_mtim};
        futimens(out, times);
    }
    if (rc == STORE_OK && fsync(out) != 0)
        rc = store_fail_errno(err, errno, "fsync %s", dst);
    close(in);
    close(out);
    if (rc != STORE_OK)
        unlink(dst);
    return rc;
}

struct copy_ctx {
    const struct store_userctx *u;
    uint32_t src_id, dst_id;
    const uint32_t *uids;
    size_t nuids;
    const struct store_limits *limits;
    bool move;
    struct store_copy_result res;
    char **linked, **src_paths; /* new links (undone on failure), sources (unlinked on MOVE) */
    size_t nlinked;
    struct store_changeset cs;
};

static enum store_err copy_one(struct store_tx *tx, struct copy_ctx *c, struct store_mailbox *dst,
                               struct store_msg *m, struct store_error *err)
{
    unsigned char k[STORE_KEY_FIXED_MAX];
    void *mime = NULL;
    size_t mlen = 0;
    char *src, *dstp;
    uint32_t src_uid = m->uid;
    enum store_err rc;

    if (dst->uidnext == UINT32_MAX)
        return store_fail(err, STORE_EINVAL, "UID space of mailbox %s exhausted", dst->name);
    rc = store_tx_get(tx, k, store_key_msg(k, STORE_KEY_MIME, c->src_id, src_uid), &mime, &mlen,
                      err);
    if (rc != STORE_OK)
        return rc == STORE_ENOTFOUND
                   ? store_fail(err, STORE_EIO, "index: message %u/%u has no MIME record",
                                c->src_id, src_uid)
                   : rc;
    src = store_path_body(c->u->home, m->body_mailbox, m->body_uid);
    m->uid = dst->uidnext++;
    dstp = store_path_body(c->u->home, dst->id, m->uid);
    rc = body_link(src, dstp, err);
    if (rc == STORE_OK) {
        c->linked[c->nlinked] = dstp;
        c->src_paths[c->nlinked++] = src;
        m->body_mailbox = dst->id;
        m->body_uid = m->uid;
        m->modseq = ++dst->highestmodseq;
        rc = store_msgrec_save(tx, dst->id, m, 0, err);
    } else {
        free(src);
        free(dstp);
    }
    if (rc == STORE_OK)
        rc =
            store_tx_put(tx, k, store_key_msg(k, STORE_KEY_MIME, dst->id, m->uid), mime, mlen, err);
    free(mime);
    if (rc == STORE_OK) {
        store_mbx_count_add(dst, m);
        store_kw_union(&dst->keywords, m->keywords);
        c->res.src_uids[c->res.n] = src_uid;
        c->res.dst_uids[c->res.n++] = m->uid;
    }
    return rc;
}

static enum store_err copy_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct copy_ctx *c = vctx;
    struct store_mailbox smb, dmb, *dst = &dmb;
    struct store_usage usage;
    struct store_msg *msgs;
    size_t n = 0;
    uint64_t bytes = 0;
    enum store_err rc = store_mbx_load(tx, c->src_id, &smb, err);

    if (rc != STORE_OK)
        return rc;
    if (c->dst_id == c->src_id)
        dst = &smb;
    else if ((rc = store_mbx_load(tx, c->dst_id, &dmb, err)) != STORE_OK) {
        store_mailbox_clear(&smb);
        return rc;
    }
    msgs = calloc(c->nuids + 1, sizeof(*msgs));
    if (msgs == NULL)
        abort();
    for (size_t i = 0; rc == STORE_OK && i < c->nuids; i++) {
        rc = store_msgrec_load(tx, c->src_id, c->uids[i], &msgs[n], err);
        if (rc == STORE_OK)
            bytes += msgs[n++].size;
        else if (rc == STORE_ENOTFOUND)
            rc = STORE_OK;
    }
    if (rc == STORE_OK)
        rc = store_usage_load(tx, &usage, err);
    /* A copy costs its full size against quota, as IMAP QUOTA counts messages, not inodes. */
    if (rc == STORE_OK && !c->move && c->limits != NULL &&
        ((c->limits->bytes && usage.bytes + bytes > c->limits->bytes) ||
         (c->limits->messages && usage.messages + n > c->limits->messages)))
        rc = store_fail(err, STORE_EQUOTA, "copy would exceed the quota of %s", c->u->user);
    c->res.uidvalidity = dst->uidvalidity;
    for (size_t i = 0; rc == STORE_OK && i < n; i++) {
        struct store_msg orig = msgs[i];

        orig.keywords = NULL;
        rc = copy_one(tx, c, dst, &msgs[i], err);
        if (rc == STORE_OK && c->move) {
            rc = store_msgrec_expunge(tx, c->src_id, &orig, smb.highestmodseq + 1, err);
            store_mbx_count_remove(&smb, &orig);
        }
    }
    if (rc == STORE_OK && n > 0 && c->move)
        smb.highestmodseq++;
    if (rc == STORE_OK && !c->move) {
        usage.bytes += bytes;
        usage.messages += n;
        rc = store_usage_save(tx, &usage, err);
    }
    if (rc == STORE_OK && n > 0) {
        char *dir = store_path_mailbox_dir(c->u->home, dst->id);
        rc = store_fsync_dir(dir, err);
        free(dir);
    }
    if (rc == STORE_OK && dst != &smb)
        rc = store_mbx_save(tx, dst, err);
    if (rc == STORE_OK)
        rc = store_mbx_save(tx, &smb, err);
    if (rc == STORE_OK && n > 0) {
        store_changeset_add(&c->cs, STORE_CHANGE_NEW, c->u->user, dst, NULL, c->res.dst_uids,
                            c->res.n);
        if (c->move)
            store_changeset_add(&c->cs, STORE_CHANGE_EXPUNGE, c->u->user, &smb, NULL,
                                c->res.src_uids, c->res.n);
    }
    store_msg_list_free(&msgs, n);
    if (dst != &smb)
        store_mailbox_clear(&dmb);
    store_mailbox_clear(&smb);
    return rc;
}

void store_copy_result_clear(struct store_copy_result *res)
{
    free(res->src_uids);
    free(res->dst_uids);
    memset(res, 0, sizeof(*res));
}

enum store_err store_copy(struct store *st, const char *user, uint32_t src_id, const uint32_t *uids,
                          size_t nuids, uint32_t dst_id, const struct store_limits *limits,
                          bool move, struct store_copy_result *res, struct store_error *err)
{
    struct store_userctx u;
    struct copy_ctx c = {
        .u = &u, .src_id = src_id, .dst_id = dst_id, .limits = limits, .move = move};
    uint32_t *sorted = NULL;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (res != NULL)
        memset(res, 0, sizeof(*res));
    if (rc != STORE_OK)
        goto out;
    sorted = store_uids_sorted_unique(uids, nuids, &c.nuids);
    c.uids = sorted;
    c.res.src_uids = calloc(c.nuids + 1, sizeof(uint32_t));
    c.res.dst_uids = calloc(c.nuids + 1, sizeof(uint32_t));
    c.linked = calloc(c.nuids + 1, sizeof(char *));
    c.src_paths = calloc(c.nuids + 1, sizeof(char *));
    if (!c.res.src_uids || !c.res.dst_uids || !c.linked || !c.src_paths)
        abort();
    rc = store_user_tx(&u, STORE_TX_WRITE, copy_fn, &c, err);
    if (rc != STORE_OK) {
        for (size_t i = 0; i < c.nlinked; i++)
            unlink(c.linked[i]);
    } else {
        if (move)
            for (size_t i = 0; i < c.nlinked; i++)
                unlink(c.src_paths[i]);
        store_changeset_emit(st, &c.cs);
        if (res != NULL) {
            *res = c.res;
            memset(&c.res, 0, sizeof(c.res));
        }
    }
    store_strings_free(&c.linked, c.nlinked);
    store_strings_free(&c.src_paths, c.nlinked);
    store_copy_result_clear(&c.res);
    store_changeset_free(&c.cs);
out:
    free(sorted);
    store_userctx_free(&u);
    return rc;
}
