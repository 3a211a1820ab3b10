/* reconstruct without a readable index: hold the lock every Tokyo Cabinet opener of index.tcb
 * takes, keep the broken file aside, build a new index from the body files in a temporary file
 * and rename it into place. A crash anywhere leaves the old file (or a placeholder) at the path,
 * which the daemons refuse to read, and a later run starts over. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store-reconstruct-private.h"

/* What stands at the index path while there is none: not a Tokyo Cabinet file, so a daemon
 * that opens it fails ("index is corrupt") instead of starting an empty index over the mail. */
#define REBUILD_MARKER       "halyard: this index is being rebuilt by reconstruct\n"
#define REBUILD_LOCK_POLL_US 10000

struct rebuild {
    struct store_rc_run *run;
    int fd;           /* the file at the index path, write-locked */
    bool placeholder; /* that file is a marker, not a broken index worth keeping */
    char *kept;       /* where the broken index was kept, or NULL */
};

/* Puts a marker at the index path, never over a file someone created meanwhile. */
static enum store_err rebuild_place_marker(struct rebuild *r, bool *retry_r,
                                           struct store_error *err)
{
    enum store_err rc = STORE_OK;
    size_t len = strlen(REBUILD_MARKER);
    char *tmp;

    if (asprintf(&tmp, "%s.placeholder.%ld", r->run->u.index, (long)getpid()) < 0)
        abort();

    unlink(tmp);
    r->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (r->fd < 0 || write(r->fd, REBUILD_MARKER, len) != (ssize_t)len || fsync(r->fd) != 0)
        rc = store_fail_errno(err, errno, "write %s", tmp);
    else if (link(tmp, r->run->u.index) != 0 && !(*retry_r = errno == EEXIST))
        rc = store_fail_errno(err, errno, "link %s", r->run->u.index);
    r->placeholder = true;
    unlink(tmp);
    free(tmp);
    return rc;
}

static bool rebuild_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Takes the write lock Tokyo Cabinet takes (fcntl, whole file) on the file at the index path,
 * retried until the store's lock timeout, and makes sure it is still the file judged broken. */
static enum store_err rebuild_lock(struct rebuild *r, const struct stat *seen, bool *retry_r,
                                   struct store_error *err)
{
    struct timespec t0, t;
    struct stat held, at;
    char head[sizeof(REBUILD_MARKER)] = "";
    enum store_err rc = STORE_OK;

    if (seen == NULL)
        rc = rebuild_place_marker(r, retry_r, err);
    else if ((r->fd = open(r->run->u.index, O_RDWR | O_CLOEXEC)) < 0 &&
             !(*retry_r = errno == ENOENT))
        rc = store_fail_errno(err, errno, "open %s", r->run->u.index);
    if (rc != STORE_OK || *retry_r)
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        if (fcntl(r->fd, F_SETLK, &fl) == 0)
            break;
        if (errno != EACCES && errno != EAGAIN)
            return store_fail_errno(err, errno, "lock %s", r->run->u.index);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >=
            (long)r->run->u.st->lock_timeout_ms)
            return store_fail(err, STORE_EBUSY, "%s: still locked after the retry bound",
                              r->run->u.index);
        usleep(REBUILD_LOCK_POLL_US);
    }
    if (fstat(r->fd, &held) != 0 || stat(r->run->u.index, &at) != 0 || held.st_ino != at.st_ino ||
        held.st_dev != at.st_dev || (seen != NULL && !rebuild_same_file(seen, &held))) {
        *retry_r = true;
        return STORE_OK;
    }
    if (pread(r->fd, head, sizeof(head) - 1, 0) == (ssize_t)sizeof(head) - 1 &&
        strcmp(head, REBUILD_MARKER) == 0)
        r->placeholder = true; /* left by a rebuild that did not finish */
    return STORE_OK;
}

/* index.tcb.broken.<time> is a second name of the broken file, so the path never goes empty;
 * its WAL goes aside too, or Tokyo Cabinet would replay it onto the new index. */
static enum store_err rebuild_keep(struct rebuild *r, struct store_error *err)
{
    long now = (long)time(NULL);
    char *wal, *walkept;
    enum store_err rc = STORE_OK;

    for (unsigned n = 0; !r->placeholder && r->kept == NULL; n++) {
        if ((n ? asprintf(&r->kept, "%s.broken.%ld.%u", r->run->u.index, now, n)
               : asprintf(&r->kept, "%s.broken.%ld", r->run->u.index, now)) < 0)
            abort();
        if (link(r->run->u.index, r->kept) == 0)
            break;
        rc = errno == EEXIST ? STORE_OK : store_fail_errno(err, errno, "link %s", r->kept);
        free(r->kept);
        r->kept = NULL;
        if (rc != STORE_OK)
            return rc;
    }
    if (asprintf(&wal, "%s.wal", r->run->u.index) < 0 ||
        (r->kept ? asprintf(&walkept, "%s.wal", r->kept)
                 : asprintf(&walkept, "%s.broken.%ld.wal", r->run->u.index, now)) < 0)
        abort();
    if (rename(wal, walkept) != 0 && errno != ENOENT)
        rc = store_fail_errno(err, errno, "rename %s", wal);
    free(wal);
    free(walkept);
    return rc;
}

/* Builds the new index beside the old one, makes it durable, renames it into place. */
static enum store_err rebuild_swap(struct rebuild *r, struct store_rc_plan *plan,
                                   struct store_error *err)
{
    char *tmp, *tmpwal;
    enum store_err rc;
    int fd = -1;

    if (asprintf(&tmp, "%s.rebuild", r->run->u.index) < 0 ||
        asprintf(&tmpwal, "%s.rebuild.wal", r->run->u.index) < 0)
        abort();
    unlink(tmp); /* what an interrupted run left */
    unlink(tmpwal);
    rc = store_rc_plan_build(r->run, plan, tmp, err);
    if (rc == STORE_OK && ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0))
        rc = store_fail_errno(err, errno, "sync %s", tmp);
    if (fd >= 0)
        close(fd);
    STORE_FAULT("rebuild-built");
    if (rc == STORE_OK && rename(tmp, r->run->u.index) != 0)
        rc = store_fail_errno(err, errno, "rename %s", tmp);
    if (rc == STORE_OK)
        rc = store_fsync_dir(r->run->u.home, err);
    free(tmp);
    free(tmpwal);
    return rc;
}

static void rebuild_notes(struct store_rc_run *run, const struct store_rc_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++) {
        const struct store_rc_newbox *b = &plan->boxes[i];
        char was[32] = "none";
        if (b->old_uidvalidity != 0)
            snprintf(was, sizeof(was), "%" PRIu32, b->old_uidvalidity);
        store_rc_report(run, STORE_RC_REBUILT, b->mb.name, 0, NULL,
                        "rebuilt: %" PRIu32 " messages, UIDNEXT %" PRIu32 ", UIDVALIDITY %" PRIu32
                        " (was %s)",
                        b->mb.messages, b->mb.uidnext, b->mb.uidvalidity, was);
    }
    store_rc_report(run, STORE_RC_LOST, NULL, 0, NULL,
                    "not kept (the body files do not carry them): flags, keywords, MODSEQs, "
                    "INTERNALDATE zones, ACLs, annotations, subscriptions; every message is "
                    "unseen, every mailbox subscribed");
}

enum store_err store_rc_rebuild(struct store_rc_run *run, enum store_rc_kind kind, const char *why,
                                const struct stat *seen, bool *retry_r, struct store_error *err)
{
    struct rebuild r = {.run = run, .fd = -1};
    struct store_rc_plan plan = {0};
    enum store_err rc;

    *retry_r = false;
    if (!run->opt->repair) {
        rc = store_rc_scan_disk(run->u.home, &plan.disk, err);
        if (rc == STORE_OK)
            store_rc_report(run, kind, NULL, 0, NULL,
                            "%s%s; %zu mailbox directories with %zu body files to rebuild from",
                            kind == STORE_RC_INDEX_UNREADABLE ? "index unreadable: " : "", why,
                            plan.disk.n, plan.disk.nfiles);
        store_rc_plan_free(&plan);
        return rc;
    }
    rc = rebuild_lock(&r, seen, retry_r, err);
    if (rc == STORE_OK && !*retry_r) {
        STORE_FAULT("rebuild-locked");
        rc = rebuild_keep(&r, err);
        if (rc == STORE_OK && r.placeholder && seen != NULL) {
            kind = STORE_RC_INDEX_MISSING;
            why = "index.tcb is the placeholder of a rebuild that did not finish";
        }
        if (rc == STORE_OK)
            store_rc_report(run, kind, NULL, 0, "rebuilt from the body files", "%s%s%s%s",
                            kind == STORE_RC_INDEX_UNREADABLE ? "index unreadable: " : "", why,
                            r.kept ? "; the old file kept as " : "",
                            r.kept ? strrchr(r.kept, '/') + 1 : "");
        if (rc == STORE_OK)
            rc = store_rc_plan_make(run, &plan, err);
        if (rc == STORE_OK)
            rc = rebuild_swap(&r, &plan, err);
        if (rc == STORE_OK)
            rebuild_notes(run, &plan);
    }
    /* On failure the marker or the broken file stays: daemons keep refusing the user's mail
     * (a temporary failure) rather than start a new index over it. */
    if (r.fd >= 0)
        close(r.fd);
    free(r.kept);
    store_rc_plan_free(&plan);
    return rc;
}
