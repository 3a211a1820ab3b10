/* COPY and MOVE by hard link: the new names are linked and their directory fsynced before the
 * commit; MOVE's source names are unlinked only after it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-tx.h"

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
                            c->res.n)
            ->appended = true;
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
    rc = store_user_tx(&u,
                       store_tx_bulk_worth(u.index, 3 * c.nuids) ? STORE_TX_BULK : STORE_TX_WRITE,
                       copy_fn, &c, err);
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

/* ---- between two users (a shared mailbox on one side) ---- */

struct xcopy_ctx {
    const struct store_userctx *src, *dst;
    uint32_t src_id, dst_id;
    const uint32_t *uids;
    size_t nuids;
    const struct store_limits *limits;
    /* read from the source: each message's record and MIME value */
    struct store_msg *msgs;
    void **mime;
    size_t *mlen;
    size_t n;
    struct store_copy_result res;
    char **linked;
    size_t nlinked;
    struct store_changeset cs;
};

static enum store_err xcopy_read_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct xcopy_ctx *c = vctx;
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_mailbox mb;
    enum store_err rc = store_mbx_load(tx, c->src_id, &mb, err);

    store_mailbox_clear(&mb);
    for (size_t i = 0; rc == STORE_OK && i < c->nuids; i++) {
        struct store_msg *m = &c->msgs[c->n];
        rc = store_msgrec_load(tx, c->src_id, c->uids[i], m, err);
        if (rc == STORE_ENOTFOUND) {
            rc = STORE_OK;
            continue;
        }
        if (rc == STORE_OK)
            rc = store_tx_get(tx, k, store_key_msg(k, STORE_KEY_MIME, c->src_id, m->uid),
                              &c->mime[c->n], &c->mlen[c->n], err);
        if (rc == STORE_ENOTFOUND)
            rc = store_fail(err, STORE_EIO, "index: message %u/%u has no MIME record", c->src_id,
                            m->uid);
        if (rc == STORE_OK)
            c->n++;
        else
            store_msg_clear(m);
    }
    return rc;
}

static enum store_err xcopy_write_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct xcopy_ctx *c = vctx;
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_mailbox dst;
    struct store_usage usage;
    uint64_t bytes = 0, count = 0;
    enum store_err rc = store_mbx_load(tx, c->dst_id, &dst, err);

    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; i < c->n; i++)
        bytes += c->msgs[i].size;
    rc = store_usage_load(tx, &usage, err);
    if (rc == STORE_OK && c->limits != NULL &&
        ((c->limits->bytes && usage.bytes + bytes > c->limits->bytes) ||
         (c->limits->messages && usage.messages + c->n > c->limits->messages)))
        rc = store_fail(err, STORE_EQUOTA, "copy would exceed the quota of %s", c->dst->user);
    c->res.uidvalidity = dst.uidvalidity;
    bytes = 0;
    for (size_t i = 0; rc == STORE_OK && i < c->n; i++) {
        struct store_msg m = c->msgs[i];
        if (dst.uidnext == UINT32_MAX) {
            rc = store_fail(err, STORE_EINVAL, "UID space of mailbox %s exhausted", dst.name);
            break;
        }
        char *src = store_path_body(c->src->home, m.body_mailbox, m.body_uid);
        m.uid = dst.uidnext;
        char *dstp = store_path_body(c->dst->home, dst.id, m.uid);
        rc = body_link(src, dstp, err);
        free(src);
        if (rc == STORE_ENOTFOUND) { /* expunged from the source since it was read */
            free(dstp);
            rc = STORE_OK;
            store_ok(err);
            continue;
        }
        if (rc != STORE_OK) {
            free(dstp);
            break;
        }
        c->linked[c->nlinked++] = dstp;
        dst.uidnext++;
        m.body_mailbox = dst.id;
        m.body_uid = m.uid;
        m.modseq = ++dst.highestmodseq;
        rc = store_msgrec_save(tx, dst.id, &m, 0, err);
        if (rc == STORE_OK)
            rc = store_tx_put(tx, k, store_key_msg(k, STORE_KEY_MIME, dst.id, m.uid), c->mime[i],
                              c->mlen[i], err);
        if (rc == STORE_OK) {
            store_mbx_count_add(&dst, &m);
            store_kw_union(&dst.keywords, m.keywords);
            c->res.src_uids[c->res.n] = c->msgs[i].uid;
            c->res.dst_uids[c->res.n++] = m.uid;
            bytes += m.size;
            count++;
        }
    }
    if (rc == STORE_OK) {
        usage.bytes += bytes;
        usage.messages += count;
        rc = store_usage_save(tx, &usage, err);
    }
    if (rc == STORE_OK && count > 0) {
        char *dir = store_path_mailbox_dir(c->dst->home, dst.id);
        rc = store_fsync_dir(dir, err);
        free(dir);
    }
    if (rc == STORE_OK)
        rc = store_mbx_save(tx, &dst, err);
    if (rc == STORE_OK && count > 0)
        store_changeset_add(&c->cs, STORE_CHANGE_NEW, c->dst->user, &dst, NULL, c->res.dst_uids,
                            c->res.n);
    store_mailbox_clear(&dst);
    return rc;
}

enum store_err store_copy_between(struct store *st, const char *src_user, uint32_t src_id,
                                  const uint32_t *uids, size_t nuids, const char *dst_user,
                                  uint32_t dst_id, const struct store_limits *limits,
                                  struct store_copy_result *res, struct store_error *err)
{
    struct store_userctx su, du;
    struct xcopy_ctx c = {
        .src = &su, .dst = &du, .src_id = src_id, .dst_id = dst_id, .limits = limits};
    uint32_t *sorted = NULL;
    enum store_err rc;

    if (res != NULL)
        memset(res, 0, sizeof(*res));
    rc = store_userctx_init(&su, st, src_user, err);
    if (rc != STORE_OK)
        return rc;
    rc = store_userctx_init(&du, st, dst_user, err);
    if (rc != STORE_OK) {
        store_userctx_free(&su);
        return rc;
    }
    if (strcmp(su.user, du.user) == 0) {
        store_userctx_free(&su);
        store_userctx_free(&du);
        return store_copy(st, src_user, src_id, uids, nuids, dst_id, limits, false, res, err);
    }
    sorted = store_uids_sorted_unique(uids, nuids, &c.nuids);
    c.uids = sorted;
    c.msgs = calloc(c.nuids + 1, sizeof(*c.msgs));
    c.mime = calloc(c.nuids + 1, sizeof(*c.mime));
    c.mlen = calloc(c.nuids + 1, sizeof(*c.mlen));
    c.res.src_uids = calloc(c.nuids + 1, sizeof(uint32_t));
    c.res.dst_uids = calloc(c.nuids + 1, sizeof(uint32_t));
    c.linked = calloc(c.nuids + 1, sizeof(char *));
    if (!c.msgs || !c.mime || !c.mlen || !c.res.src_uids || !c.res.dst_uids || !c.linked)
        abort();
    /* two transactions, never one inside the other: the source is read, then the target
     * written; a body is immutable, so what was read stays true but for an expunge */
    rc = store_user_tx(&su, STORE_TX_READ, xcopy_read_fn, &c, err);
    if (rc == STORE_OK && c.n > 0)
        rc = store_user_tx(&du,
                           store_tx_bulk_worth(du.index, 3 * c.n) ? STORE_TX_BULK : STORE_TX_WRITE,
                           xcopy_write_fn, &c, err);
    if (rc != STORE_OK) {
        for (size_t i = 0; i < c.nlinked; i++)
            unlink(c.linked[i]);
    } else {
        store_changeset_emit(st, &c.cs);
        if (res != NULL) {
            *res = c.res;
            memset(&c.res, 0, sizeof(c.res));
        }
    }
    for (size_t i = 0; i < c.n; i++) {
        store_msg_clear(&c.msgs[i]);
        free(c.mime[i]);
    }
    free(c.msgs);
    free(c.mime);
    free(c.mlen);
    store_strings_free(&c.linked, c.nlinked);
    store_copy_result_clear(&c.res);
    store_changeset_free(&c.cs);
    free(sorted);
    store_userctx_free(&su);
    store_userctx_free(&du);
    return rc;
}
