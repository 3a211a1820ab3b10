/* The journal's format and file: records appended under flock by writers holding the index
 * shared, read back by whoever folds them (store-fold.c). Each record is framed by a magic
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

/* Starts a record of kind in buf; frame_end fills in its length and CRC. */
static size_t frame_begin(struct store_buf *buf, enum store_jkind kind, uint32_t id,
                          uint32_t uidvalidity)
{
    size_t start = buf->len;

    store_buf_u32(buf, JOURNAL_MAGIC);
    store_buf_u32(buf, 0); /* length and CRC filled in by frame_end */
    store_buf_u32(buf, 0);
    store_buf_u8(buf, (uint8_t)kind);
    store_buf_u32(buf, id);
    store_buf_u32(buf, uidvalidity);
    return start;
}

static void frame_end(struct store_buf *buf, size_t start)
{
    size_t plen = buf->len - start - JOURNAL_HEAD;
    uint32_t crc = (uint32_t)crc32(0L, buf->data + start + JOURNAL_HEAD, (uInt)plen);

    store_be32_put(buf->data + start + 4, (uint32_t)plen);
    store_be32_put(buf->data + start + 8, crc);
}

void store_journal_encode(struct store_buf *buf, const struct store_jrec *r)
{
    size_t start = frame_begin(buf, STORE_JREC_DELIVER, r->mailbox_id, r->uidvalidity);

    store_buf_u32(buf, r->uid);
    store_buf_u32(buf, r->flags);
    store_buf_str(buf, r->keywords);
    store_buf_u64(buf, (uint64_t)r->internaldate);
    store_buf_u32(buf, (uint32_t)r->tzoff);
    store_buf_u64(buf, r->size);
    store_buf_u32(buf, r->header_size);
    store_buf_u32(buf, (uint32_t)r->mime_len);
    store_buf_add(buf, r->mime, r->mime_len);
    frame_end(buf, start);
}

void store_journal_encode_flags(struct store_buf *buf, uint32_t id, uint32_t uidvalidity,
                                const struct store_msg *msgs, size_t n)
{
    size_t start = frame_begin(buf, STORE_JREC_FLAGS, id, uidvalidity);

    store_buf_u32(buf, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        store_buf_u32(buf, msgs[i].uid);
        store_buf_u32(buf, msgs[i].flags);
        store_buf_str(buf, msgs[i].keywords);
    }
    frame_end(buf, start);
}

void store_journal_encode_expunge(struct store_buf *buf, uint32_t id, uint32_t uidvalidity,
                                  const uint32_t *uids, size_t n)
{
    size_t start = frame_begin(buf, STORE_JREC_EXPUNGE, id, uidvalidity);

    store_buf_u32(buf, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        store_buf_u32(buf, uids[i]);
    frame_end(buf, start);
}

void store_journal_encode_recent(struct store_buf *buf, uint32_t id, uint32_t uidvalidity,
                                 uint32_t recent_uid)
{
    size_t start = frame_begin(buf, STORE_JREC_RECENT, id, uidvalidity);

    store_buf_u32(buf, recent_uid);
    frame_end(buf, start);
}

void store_journal_rec(struct store_jrec *r, uint32_t id, uint32_t uidvalidity,
                       const struct store_msg *m, const unsigned char *mime, size_t mime_len)
{
    *r = (struct store_jrec){
        .kind = STORE_JREC_DELIVER,
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

static bool decode_deliver(struct store_rd *rd, struct store_jrec *r)
{
    uint32_t n;

    r->uid = store_rd_u32(rd);
    r->flags = store_rd_u32(rd);
    r->keywords = store_rd_str(rd, true);
    r->internaldate = (int64_t)store_rd_u64(rd);
    r->tzoff = (int32_t)store_rd_u32(rd);
    r->size = store_rd_u64(rd);
    r->header_size = store_rd_u32(rd);
    n = store_rd_u32(rd);
    if (rd->bad || rd->left != n || r->uid == 0)
        return false;
    r->mime = malloc(n ? n : 1);
    if (r->mime == NULL)
        abort();
    memcpy(r->mime, rd->p, n);
    r->mime_len = n;
    return true;
}

/* A count of entries, each at least min bytes, that the rest of the payload can hold. */
static bool decode_count(struct store_rd *rd, size_t min, size_t *n_r)
{
    uint32_t n = store_rd_u32(rd);

    if (rd->bad || (size_t)n > rd->left / min)
        return false;
    *n_r = n;
    return true;
}

static bool decode_flags(struct store_rd *rd, struct store_jrec *r)
{
    if (!decode_count(rd, 12, &r->n))
        return false;
    r->set = calloc(r->n + 1, sizeof(*r->set));
    if (r->set == NULL)
        abort();
    for (size_t i = 0; i < r->n; i++) {
        r->set[i].uid = store_rd_u32(rd);
        r->set[i].flags = store_rd_u32(rd) & STORE_FLAGS_ALL;
        r->set[i].keywords = store_rd_str(rd, true);
    }
    return !rd->bad && rd->left == 0;
}

static bool decode_uids(struct store_rd *rd, struct store_jrec *r)
{
    if (!decode_count(rd, 4, &r->n))
        return false;
    r->uids = calloc(r->n + 1, sizeof(*r->uids));
    if (r->uids == NULL)
        abort();
    for (size_t i = 0; i < r->n; i++)
        r->uids[i] = store_rd_u32(rd);
    return !rd->bad && rd->left == 0;
}

static void jrec_clear(struct store_jrec *r)
{
    free(r->keywords);
    free(r->mime);
    for (size_t i = 0; r->set != NULL && i < r->n; i++)
        free(r->set[i].keywords);
    free(r->set);
    free(r->uids);
    memset(r, 0, sizeof(*r));
}

/* One payload into r (everything copied out of p). */
static bool journal_decode(const unsigned char *p, size_t len, struct store_jrec *r)
{
    struct store_rd rd = {p, len, false};
    bool ok = false;

    memset(r, 0, sizeof(*r));
    r->kind = store_rd_u8(&rd);
    r->mailbox_id = store_rd_u32(&rd);
    r->uidvalidity = store_rd_u32(&rd);
    if (rd.bad)
        return false;
    switch (r->kind) {
    case STORE_JREC_DELIVER:
        ok = decode_deliver(&rd, r);
        break;
    case STORE_JREC_FLAGS:
        ok = decode_flags(&rd, r);
        break;
    case STORE_JREC_EXPUNGE:
        ok = decode_uids(&rd, r);
        break;
    case STORE_JREC_RECENT:
        r->uid = store_rd_u32(&rd);
        ok = !rd.bad && rd.left == 0;
        break;
    }
    if (!ok)
        jrec_clear(r);
    return ok;
}

static void journal_free_recs(struct store_journal *j)
{
    for (size_t i = 0; i < j->n; i++)
        jrec_clear(&j->recs[i]);
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
    j->size = sb.st_size;
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
    j->index = u->index;
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

enum store_err store_journal_open_shared(const struct store_userctx *u, struct store_journal *j,
                                         struct store_error *err)
{
    struct stat sb;
    enum store_err rc;

    memset(j, 0, sizeof(*j));
    j->path = store_journal_path(u->home);
    j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
    if (j->fd < 0) {
        rc = errno == ENOENT ? STORE_OK : store_fail_errno(err, errno, "open %s", j->path);
        free(j->path);
        j->path = NULL;
        return rc;
    }
    /* A reader folding into its shadow runs beside appenders: waiting for the one that holds
     * the journal (one fdatasync at most) means it sees only records made durable. */
    while (flock(j->fd, LOCK_SH) != 0)
        if (errno != EINTR) {
            rc = store_fail_errno(err, errno, "lock %s", j->path);
            store_journal_close(j);
            return rc;
        }
    if (fstat(j->fd, &sb) != 0) {
        rc = store_fail_errno(err, errno, "stat %s", j->path);
        store_journal_close(j);
        return rc;
    }
    j->size = sb.st_size;
    return STORE_OK;
}

enum store_err store_journal_load(struct store_journal *j, struct store_error *err)
{
    return j->fd >= 0 ? journal_load(j, err) : STORE_OK;
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

enum store_err store_journal_append(struct store_journal *j, const struct store_buf *buf, bool sync,
                                    struct store_error *err)
{
    size_t off = 0;
    ssize_t n;
    enum store_err rc = STORE_OK;

    /* A torn tail (a crashed appender's, never acknowledged) goes before anything follows it;
     * the journal can then hold other bytes at a length a reader saw before, so readers'
     * kept shadows (keyed by that length) must go. */
    if (j->size > j->end && j->index != NULL)
        store_tx_advance(j->index);
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
    if (rc == STORE_OK && sync && fdatasync(j->fd) != 0)
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

void store_journal_reset(const struct store_userctx *u)
{
    char *path = store_journal_path(u->home);
    int fd = open(path, O_WRONLY | O_CLOEXEC);

    /* Synced, so that a later commit that did not fold these records (a transaction that
     * found the journal empty) can never see them come back after a crash. A reset that fails
     * or is lost leaves records the index already has: applying them again changes nothing
     * (store_journal_apply skips what is already so). */
    if (fd >= 0) {
        if (ftruncate(fd, 0) == 0)
            fdatasync(fd);
        close(fd);
    }
    free(path);
}
