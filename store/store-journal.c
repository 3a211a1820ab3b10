/* The delivery journal: records appended under flock by deliveries holding the index shared,
 * folded into the index by whoever next holds it exclusively. Each record is framed by a magic
 * number, its length and a CRC, so a tail torn by a crash is recognised and cut off. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "store-journal.h"

#define JOURNAL_MAGIC   0x484a4e31u /* "HJN1" */
#define JOURNAL_HEAD    12          /* magic, payload length, CRC-32 of the payload */
#define JOURNAL_REC_MAX (16u * 1024 * 1024)
#define JOURNAL_VERSION 1

char *store_journal_path(const char *home)
{
    return store_path_join(home, "index.jnl");
}

off_t store_journal_size(const struct store_userctx *u)
{
    char *path = store_journal_path(u->home);
    struct stat sb;
    off_t size = stat(path, &sb) == 0 ? sb.st_size : 0;

    free(path);
    return size;
}

void store_journal_encode(struct store_buf *buf, const struct store_jrec *r)
{
    size_t start = buf->len;
    uint32_t crc;

    store_buf_u32(buf, JOURNAL_MAGIC);
    store_buf_u32(buf, 0); /* length and CRC filled in below */
    store_buf_u32(buf, 0);
    store_buf_u8(buf, JOURNAL_VERSION);
    store_buf_u32(buf, r->mailbox_id);
    store_buf_u32(buf, r->uidvalidity);
    store_buf_u32(buf, r->uid);
    store_buf_u32(buf, r->flags);
    store_buf_str(buf, r->keywords);
    store_buf_u64(buf, (uint64_t)r->internaldate);
    store_buf_u32(buf, (uint32_t)r->tzoff);
    store_buf_u64(buf, r->size);
    store_buf_u32(buf, r->header_size);
    store_buf_u32(buf, (uint32_t)r->mime_len);
    store_buf_add(buf, r->mime, r->mime_len);
    size_t plen = buf->len - start - JOURNAL_HEAD;
    crc = (uint32_t)crc32(0L, buf->data + start + JOURNAL_HEAD, (uInt)plen);
    store_be32_put(buf->data + start + 4, (uint32_t)plen);
    store_be32_put(buf->data + start + 8, crc);
}

void store_journal_rec(struct store_jrec *r, uint32_t id, uint32_t uidvalidity,
                       const struct store_msg *m, const unsigned char *mime, size_t mime_len)
{
    *r = (struct store_jrec){
        .mailbox_id = id,
        .uidvalidity = uidvalidity,
        .uid = m->uid,
        .flags = m->flags,
        .keywords = m->keywords,
        .internaldate = m->internaldate,
        .tzoff = m->tzoff,
        .size = m->size,
        .header_size = m->header_size,
        .mime = (unsigned char *)mime,
        .mime_len = mime_len,
    };
}

void store_journal_msg(const struct store_jrec *r, uint64_t modseq, struct store_msg *m)
{
    *m = (struct store_msg){
        .uid = r->uid,
        .flags = r->flags & STORE_FLAGS_ALL,
        .internaldate = r->internaldate,
        .tzoff = r->tzoff,
        .size = r->size,
        .modseq = modseq,
        .header_size = r->header_size,
        .body_mailbox = r->mailbox_id,
        .body_uid = r->uid,
        .keywords = r->keywords,
    };
}

bool store_journal_pending(const struct store_jrec *r, const struct store_mailbox *mb)
{
    return r->uidvalidity == mb->uidvalidity && r->uid >= mb->uidnext;
}

void store_journal_account(struct store_mailbox *mb, struct store_usage *usage,
                           const struct store_msg *m)
{
    mb->uidnext = m->uid + 1;
    mb->highestmodseq = m->modseq;
    store_mbx_count_add(mb, m);
    store_kw_union(&mb->keywords, m->keywords);
    usage->bytes += m->size;
    usage->messages++;
}

/* One payload into r; the strings it points to stay in the caller's buffer or are copied. */
static bool journal_decode(const unsigned char *p, size_t len, struct store_jrec *r)
{
    struct store_rd rd = {p, len, false};
    uint32_t n;

    memset(r, 0, sizeof(*r));
    if (store_rd_u8(&rd) != JOURNAL_VERSION)
        return false;
    r->mailbox_id = store_rd_u32(&rd);
    r->uidvalidity = store_rd_u32(&rd);
    r->uid = store_rd_u32(&rd);
    r->flags = store_rd_u32(&rd);
    r->keywords = store_rd_str(&rd, true);
    r->internaldate = (int64_t)store_rd_u64(&rd);
    r->tzoff = (int32_t)store_rd_u32(&rd);
    r->size = store_rd_u64(&rd);
    r->header_size = store_rd_u32(&rd);
    n = store_rd_u32(&rd);
    if (rd.bad || rd.left != n || r->uid == 0) {
        free(r->keywords);
        r->keywords = NULL;
        return false;
    }
    r->mime = malloc(n ? n : 1);
    if (r->mime == NULL)
        abort();
    memcpy(r->mime, rd.p, n);
    r->mime_len = n;
    return true;
}

static void journal_free_recs(struct store_journal *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->recs[i].keywords);
        free(j->recs[i].mime);
    }
    free(j->recs);
    j->recs = NULL;
    j->n = 0;
}

/* Reads every whole record of fd; j->end is where the first torn or foreign bytes start. */
static enum store_err journal_load(struct store_journal *j, struct store_error *err)
{
    struct stat sb;
    unsigned char *data = NULL;
    size_t size, off = 0, cap = 0;
    ssize_t got;

    if (fstat(j->fd, &sb) != 0)
        return store_fail_errno(err, errno, "stat %s", j->path);
    size = (size_t)sb.st_size;
    if (size > 0) {
        data = malloc(size);
        if (data == NULL)
            abort();
    }
    while (off < size) {
        got = pread(j->fd, data + off, size - off, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            enum store_err rc = store_fail_errno(err, errno, "read %s", j->path);
            free(data);
            return rc;
        }
        if (got == 0)
            break;
        off += (size_t)got;
    }
    size = off;
    off = 0;
    while (size - off >= JOURNAL_HEAD) {
        uint32_t plen = store_be32_get(data + off + 4);
        if (store_be32_get(data + off) != JOURNAL_MAGIC || plen > JOURNAL_REC_MAX ||
            plen > size - off - JOURNAL_HEAD ||
            (uint32_t)crc32(0L, data + off + JOURNAL_HEAD, plen) != store_be32_get(data + off + 8))
            break;
        if (j->n == cap) {
            cap = cap ? 2 * cap : 16;
            j->recs = realloc(j->recs, cap * sizeof(*j->recs));
            if (j->recs == NULL)
                abort();
        }
        if (!journal_decode(data + off + JOURNAL_HEAD, plen, &j->recs[j->n]))
            break;
        j->n++;
        off += JOURNAL_HEAD + plen;
    }
    j->end = (off_t)off;
    free(data);
    return STORE_OK;
}

enum store_err store_journal_open(const struct store_userctx *u, struct store_journal *j,
                                  struct store_error *err)
{
    enum store_err rc;
    bool created = false;

    memset(j, 0, sizeof(*j));
    j->path = store_journal_path(u->home);
    j->fd = open(j->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (j->fd >= 0)
        created = true;
    else if (errno == EEXIST)
        j->fd = open(j->path, O_RDWR | O_CLOEXEC);
    if (j->fd < 0) {
        rc = store_fail_errno(err, errno, "open %s", j->path);
        free(j->path);
        j->path = NULL;
        return rc;
    }
    /* The journal's own name must survive a crash before any record in it counts. */
    if (created && (rc = store_fsync_dir(u->home, err)) != STORE_OK) {
        store_journal_close(j);
        return rc;
    }
    while (flock(j->fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            rc = store_fail_errno(err, errno, "lock %s", j->path);
            store_journal_close(j);
            return rc;
        }
    }
    rc = journal_load(j, err);
    if (rc != STORE_OK) {
        store_journal_close(j);
        return rc;
    }
    return STORE_OK;
}

void store_journal_close(struct store_journal *j)
{
    journal_free_recs(j);
    if (j->fd >= 0)
        close(j->fd); /* drops the flock */
    j->fd = -1;
    free(j->path);
    j->path = NULL;
}

enum store_err store_journal_append(struct store_journal *j, const struct store_buf *buf,
                                    struct store_error *err)
{
    size_t off = 0;
    ssize_t n;
    enum store_err rc = STORE_OK;

    /* A torn tail (a crashed appender's, never acknowledged) goes before anything follows it. */
    while (off < buf->len) {
        n = pwrite(j->fd, buf->data + off, buf->len - off, j->end + (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = store_fail_errno(err, n < 0 ? errno : EIO, "write %s", j->path);
            break;
        }
        off += (size_t)n;
    }
    STORE_FAULT("journal-written");
    if (rc == STORE_OK && ftruncate(j->fd, j->end + (off_t)buf->len) != 0)
        rc = store_fail_errno(err, errno, "truncate %s", j->path);
    if (rc == STORE_OK && fdatasync(j->fd) != 0)
        rc = store_fail_errno(err, errno, "fdatasync %s", j->path);
    if (rc != STORE_OK) {
        /* Whatever reached the file must not turn up later as a delivery that failed. */
        if (ftruncate(j->fd, j->end) == 0)
            fdatasync(j->fd);
        return rc;
    }
    j->end += (off_t)buf->len;
    return STORE_OK;
}

/* A mailbox the fold adds to: loaded once, saved once. */
struct fold_box {
    uint32_t id;
    bool missing, dirty;
    struct store_mailbox mb;
};

static struct fold_box *fold_box_get(struct store_tx *tx, struct fold_box **boxes, size_t *n,
                                     uint32_t id, struct store_error *err, enum store_err *rc)
{
    struct fold_box *b;

    for (size_t i = 0; i < *n; i++)
        if ((*boxes)[i].id == id)
            return &(*boxes)[i];
    *boxes = realloc(*boxes, (*n + 1) * sizeof(**boxes));
    if (*boxes == NULL)
        abort();
    b = &(*boxes)[(*n)++];
    memset(b, 0, sizeof(*b));
    b->id = id;
    *rc = store_mbx_load(tx, id, &b->mb, err);
    if (*rc == STORE_ENOTFOUND) {
        /* deleted since (cannot happen: a delete folds first) or a foreign record */
        b->missing = true;
        *rc = STORE_OK;
    }
    return b;
}

static enum store_err fold_one(struct store_tx *tx, const struct store_userctx *u,
                               const struct store_jrec *r, struct fold_box *b,
                               struct store_usage *usage, struct store_error *err)
{
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_msg m;
    char *path;
    bool present;
    enum store_err rc;

    /* Already in the index (a fold whose journal reset did not survive), or not this
     * mailbox any more. */
    if (b->missing || !store_journal_pending(r, &b->mb))
        return STORE_OK;
    path = store_path_body(u->home, r->mailbox_id, r->uid);
    present = access(path, F_OK) == 0;
    free(path);
    if (!present)
        return STORE_OK; /* the link was made durable before the record: not a delivery */
    store_journal_msg(r, b->mb.highestmodseq + 1, &m);
    rc = store_msgrec_save(tx, r->mailbox_id, &m, 0, err);
    if (rc == STORE_OK)
        rc = store_tx_put(tx, k, store_key_msg(k, STORE_KEY_MIME, r->mailbox_id, r->uid), r->mime,
                          r->mime_len, err);
    if (rc != STORE_OK)
        return rc;
    store_journal_account(&b->mb, usage, &m);
    b->dirty = true;
    return STORE_OK;
}

enum store_err store_journal_fold(struct store_tx *tx, const struct store_userctx *u,
                                  size_t *applied_r, struct store_error *err)
{
    struct store_journal j = {.fd = -1};
    struct fold_box *boxes = NULL, *b;
    size_t nboxes = 0, applied = 0;
    struct store_usage usage;
    enum store_err rc;

    *applied_r = 0;
    j.path = store_journal_path(u->home);
    j.fd = open(j.path, O_RDONLY | O_CLOEXEC);
    if (j.fd < 0) {
        free(j.path);
        return errno == ENOENT ? STORE_OK : store_fail_errno(err, errno, "open journal");
    }
    /* A reader folding into its shadow runs beside appenders: waiting for the one that holds
     * the journal (one fdatasync at most) means it sees only records made durable. */
    while (flock(j.fd, LOCK_SH) != 0)
        if (errno != EINTR) {
            rc = store_fail_errno(err, errno, "lock %s", j.path);
            store_journal_close(&j);
            return rc;
        }
    rc = journal_load(&j, err);
    if (rc == STORE_OK && j.n > 0)
        rc = store_usage_load(tx, &usage, err);
    for (size_t i = 0; rc == STORE_OK && i < j.n; i++) {
        b = fold_box_get(tx, &boxes, &nboxes, j.recs[i].mailbox_id, err, &rc);
        if (rc != STORE_OK)
            break;
        uint64_t before = usage.messages;
        rc = fold_one(tx, u, &j.recs[i], b, &usage, err);
        applied += usage.messages - before;
    }
    for (size_t i = 0; rc == STORE_OK && i < nboxes; i++)
        if (boxes[i].dirty)
            rc = store_mbx_save(tx, &boxes[i].mb, err);
    if (rc == STORE_OK && applied > 0)
        rc = store_usage_save(tx, &usage, err);
    for (size_t i = 0; i < nboxes; i++)
        store_mailbox_clear(&boxes[i].mb);
    free(boxes);
    store_journal_close(&j);
    if (rc == STORE_OK)
        *applied_r = applied;
    return rc;
}

void store_journal_reset(const struct store_userctx *u)
{
    char *path = store_journal_path(u->home);
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    /* Not synced, and a failure is harmless: records left behind are ones the index already
     * has, which the next fold skips by their UIDs. */
    if (fd >= 0) {
        int rc = ftruncate(fd, 0);
        (void)rc;
        close(fd);
    }
    free(path);
}
