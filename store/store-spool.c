/* Receiving a message into root/tmp: bare LF becomes CRLF on the way in, so a body file is
 * served as stored; at the end one fsync and one MIME parse serve every recipient. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-mime.h"
#include "store-spool.h"

enum store_err store_spool_create(struct store *st, struct store_spool **sp_r,
                                  struct store_error *err)
{
    struct store_spool *sp = calloc(1, sizeof(*sp));

    if (sp == NULL)
        abort();
    sp->st = st;
    if (asprintf(&sp->path, "%s/tmp/spool.XXXXXX", st->root) < 0)
        abort();
    sp->fd = mkostemp(sp->path, O_CLOEXEC);
    if (sp->fd < 0) {
        enum store_err rc = store_fail_errno(err, errno, "create spool file in %s/tmp", st->root);
        free(sp->path);
        free(sp);
        *sp_r = NULL;
        return rc;
    }
    *sp_r = sp;
    return STORE_OK;
}

static enum store_err spool_flush(struct store_spool *sp, struct store_error *err)
{
    size_t off = 0;
    ssize_t n;

    while (off < sp->blen) {
        n = write(sp->fd, sp->buf + off, sp->blen - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return store_fail_errno(err, n < 0 ? errno : EIO, "write %s", sp->path);
        off += (size_t)n;
    }
    sp->blen = 0;
    return STORE_OK;
}

static enum store_err spool_put(struct store_spool *sp, const unsigned char *p, size_t n,
                                struct store_error *err)
{
    enum store_err rc;
    size_t k;

    while (n > 0) {
        if (sp->blen == STORE_SPOOL_BUF && (rc = spool_flush(sp, err)) != STORE_OK)
            return rc;
        k = STORE_SPOOL_BUF - sp->blen < n ? STORE_SPOOL_BUF - sp->blen : n;
        memcpy(sp->buf + sp->blen, p, k);
        sp->blen += k;
        sp->size += k;
        p += k;
        n -= k;
    }
    return STORE_OK;
}

enum store_err store_spool_write(struct store_spool *sp, const void *buf, size_t len,
                                 struct store_error *err)
{
    const unsigned char *p = buf, *end = p + len, *nl;
    enum store_err rc = STORE_OK;

    if (sp->finished)
        return store_fail(err, STORE_EINVAL, "write to a finished spool");
    while (p < end && rc == STORE_OK) {
        nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            rc = spool_put(sp, p, (size_t)(end - p), err);
            sp->last_cr = end[-1] == '\r';
            break;
        }
        /* The CR is either the byte before LF in this chunk or the last of the previous. */
        bool paired = nl > p ? nl[-1] == '\r' : sp->last_cr;
        rc = spool_put(sp, p, (size_t)(nl - p), err);
        if (rc == STORE_OK && !paired)
            rc = spool_put(sp, (const unsigned char *)"\r", 1, err);
        if (rc == STORE_OK)
            rc = spool_put(sp, nl, 1, err);
        sp->last_cr = false;
        p = nl + 1;
    }
    return rc;
}

enum store_err store_spool_write_fd(struct store_spool *sp, int fd, struct store_error *err)
{
    char buf[65536];
    ssize_t n;
    enum store_err rc = STORE_OK;

    while (rc == STORE_OK && (n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return store_fail_errno(err, errno, "read message");
        }
        rc = store_spool_write(sp, buf, (size_t)n, err);
    }
    return rc;
}

enum store_err store_spool_finish(struct store_spool *sp, time_t internaldate, int tzoff,
                                  struct store_error *err)
{
    struct timespec times[2];
    enum store_err rc;
    void *map = NULL;

    if (sp->finished)
        return store_fail(err, STORE_EINVAL, "spool already finished");
    rc = spool_flush(sp, err);
    if (rc != STORE_OK)
        return rc;
    sp->internaldate = internaldate ? internaldate : time(NULL);
    sp->tzoff = tzoff;
    /* The file's mtime carries INTERNALDATE for reconstruct; hard links share it, as COPY
     * shares the date (RFC 3501 6.4.7). */
    times[0].tv_sec = times[1].tv_sec = sp->internaldate;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    if (futimens(sp->fd, times) != 0)
        return store_fail_errno(err, errno, "set time of %s", sp->path);
    if (fsync(sp->fd) != 0)
        return store_fail_errno(err, errno, "fsync %s", sp->path);
    if (sp->size > 0) {
        map = mmap(NULL, sp->size, PROT_READ, MAP_SHARED, sp->fd, 0);
        if (map == MAP_FAILED)
            return store_fail_errno(err, errno, "map %s", sp->path);
    }
    store_mime_compute(map ? map : "", sp->size, &sp->mime, &sp->header_size);
    if (map != NULL)
        munmap(map, sp->size);
    sp->finished = true;
    return STORE_OK;
}

uint64_t store_spool_size(const struct store_spool *sp)
{
    return sp->size;
}

void store_spool_free(struct store_spool **sp)
{
    if (*sp == NULL)
        return;
    unlink((*sp)->path);
    close((*sp)->fd);
    free((*sp)->path);
    store_mime_clear(&(*sp)->mime);
    free(*sp);
    *sp = NULL;
}

enum store_err store_tmp_sweep(struct store *st, unsigned max_age, unsigned *removed_r,
                               struct store_error *err)
{
    char *dir = store_path_tmp(st), *path;
    DIR *d = opendir(dir);
    struct dirent *de;
    struct stat sb;
    time_t now = time(NULL);
    unsigned removed = 0;
    enum store_err rc = STORE_OK;

    if (removed_r != NULL)
        *removed_r = 0;
    if (d == NULL) {
        rc = store_fail_errno(err, errno, "open %s", dir);
        free(dir);
        return rc;
    }
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "spool.", 6) != 0 && strncmp(de->d_name, "removed.", 8) != 0)
            continue;
        path = store_path_join(dir, de->d_name);
        /* ctime, not mtime: a spool's mtime is set to INTERNALDATE, which may be long past. */
        if (lstat(path, &sb) == 0 && now - sb.st_ctime > (time_t)max_age &&
            store_remove_tree(path, err) == STORE_OK)
            removed++;
        free(path);
    }
    closedir(d);
    free(dir);
    if (removed_r != NULL)
        *removed_r = removed;
    return STORE_OK;
}
