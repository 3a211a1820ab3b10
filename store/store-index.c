/* The one module that calls Tokyo Cabinet: open a B+ tree file for one transaction under a
 * non-blocking lock with bounded retry, run the caller's reads and writes, commit, close. */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <tcbdb.h>
#include <tcutil.h>
#include <time.h>
#include <unistd.h>

#include "store-private.h"

/* Back-off between lock attempts: doubling from 1 ms to 50 ms, with jitter so that waiting
 * processes do not retry in step. */
#define BACKOFF_FIRST_US 1000
#define BACKOFF_MAX_US   50000

/* Where Tokyo Cabinet keeps its flags in a file's header (tchdb.c, HDBFLAGSOFF). */
#define BULK_FLAGS_OFF 33

/* A read transaction's private in-memory layer (store_tx_shadow): keys in Tokyo Cabinet's
 * lexical order, a NULL value standing for a removed key. */
struct shadow_rec {
    unsigned char *key, *val;
    size_t klen, vlen;
};

struct shadow {
    struct shadow_rec *v;
    size_t n, cap;
};

struct store_tx {
    TCBDB *bdb;
    const char *path;
    struct shadow *shadow;
    bool reader;          /* opened as a reader (not to roll back a dead writer's WAL) */
    bool shadow_borrowed; /* shadow is the path's kept one: copied before any change */
    bool gen_known;
    uint64_t gen; /* the file's generation during the transaction */
    struct path_lock *pl;
};

/* Tokyo Cabinet refuses a second open of one path in a process (TCETHREAD), so threads of a
 * process queue here, one mutex per path, before taking the file lock that orders processes. */
struct path_lock {
    struct path_lock *next;
    char *path;
    pthread_mutex_t mu;
    unsigned refs;
    /* a reader's handle kept after its transaction, unlocked (see "reader handles kept") */
    TCBDB *cached;
    uint64_t gen;  /* the file's generation it was current at */
    int genfd;     /* <path>.gen, open while a handle is cached (-1: none yet) */
    uint64_t used; /* for choosing which one to close */
    /* a read's shadow of the journal, kept for the next read while nothing changed */
    struct shadow *kept_shadow;
    uint64_t kept_gen;
    off_t kept_jlen;
};

/* Debian builds Tokyo Cabinet with TCMICROYIELD, a testing aid that yields the CPU from inside
 * its assertions: a sched_yield(2) every 32 of them, thousands per transaction over a large
 * mailbox (a third of imapd's time in STORE 1:* on 100,000 messages, and on a busy machine each
 * one hands the core to another process). Nothing in Tokyo Cabinet waits by yielding: its locks
 * are pthread rwlocks and its retries sleep. This definition, linked into every program that
 * uses the store, is the one the library's calls resolve to; it makes those yields no-ops. The
 * kernel's scheduler is preemptive, so no other code in these programs needs a voluntary yield
 * to make progress. */
int sched_yield(void)
{
    return 0;
}

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct path_lock *registry;

static struct path_lock *path_lock_ref(const char *path)
{
    struct path_lock *pl;

    pthread_mutex_lock(&registry_mu);
    for (pl = registry; pl != NULL; pl = pl->next)
        if (strcmp(pl->path, path) == 0)
            break;
    if (pl == NULL) {
        pl = calloc(1, sizeof(*pl));
        if (pl == NULL || (pl->path = strdup(path)) == NULL)
            abort();
        pthread_mutex_init(&pl->mu, NULL);
        pl->genfd = -1;
        pl->next = registry;
        registry = pl;
    }
    pl->refs++;
    pthread_mutex_unlock(&registry_mu);
    return pl;
}

/* Frees pl, unlinked from the registry (registry_mu held, no references, nothing cached). */
static void shadow_free(struct shadow **sh);

static void path_lock_free(struct path_lock *pl)
{
    struct path_lock **pp;

    shadow_free(&pl->kept_shadow);
    for (pp = &registry; *pp != pl; pp = &(*pp)->next)
        ;
    *pp = pl->next;
    pthread_mutex_destroy(&pl->mu);
    free(pl->path);
    free(pl);
}

static void path_lock_unref(struct path_lock *pl)
{
    pthread_mutex_lock(&registry_mu);
    if (--pl->refs == 0 && pl->cached == NULL)
        path_lock_free(pl);
    pthread_mutex_unlock(&registry_mu);
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static unsigned jitter(unsigned max)
{
    static _Thread_local uint32_t seed;

    if (seed == 0)
        seed = (uint32_t)getpid() * 2654435761u ^ (uint32_t)now_us() ^ (uint32_t)(uintptr_t)&seed;
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return max ? seed % max : 0;
}

/* A failed Tokyo Cabinet write does not say why; errno usually survives from the write(2), and
 * a file system without free blocks settles it when errno was overwritten. */
static enum store_err tc_fail(struct store_tx *tx, int ecode, int errnum, const char *op,
                              struct store_error *err)
{
    struct statvfs vfs;
    char *dir, *slash;

    if (errnum == ENOSPC || errnum == EDQUOT)
        return store_fail(err, STORE_ENOSPC, "%s %s: %s", op, tx->path, strerror(errnum));
    if (ecode == TCEWRITE || ecode == TCETRUNC || ecode == TCESYNC || ecode == TCEMMAP) {
        dir = strdup(tx->path);
        if (dir != NULL && (slash = strrchr(dir, '/')) != NULL)
            *slash = '\0';
        if (dir != NULL && statvfs(dir, &vfs) == 0 && vfs.f_bavail == 0) {
            free(dir);
            return store_fail(err, STORE_ENOSPC, "%s %s: file system full", op, tx->path);
        }
        free(dir);
    }
    if (ecode == TCEMETA || ecode == TCERHEAD)
        return store_fail(err, STORE_EIO, "%s %s: index is corrupt (%s)", op, tx->path,
                          tcerrmsg(ecode));
    return store_fail(err, STORE_EIO, "%s %s: %s", op, tx->path, tcerrmsg(ecode));
}

static enum store_err tx_fail(struct store_tx *tx, const char *op, struct store_error *err)
{
    int errnum = errno;

    return tc_fail(tx, tcbdbecode(tx->bdb), errnum, op, err);
}

static bool wal_exists(const char *path)
{
    char wal[4096];

    snprintf(wal, sizeof(wal), "%s.wal", path);
    return access(wal, F_OK) == 0;
}

/* Leaves a reader's handle keeps (Tokyo Cabinet's least, its default being 1024). A read
 * transaction walks its ranges in key order and meets each leaf about once, so a large cache
 * only holds the whole walk until the close frees it: a scan of 100,000 message records took
 * about an eighth longer with the default (leaves spread over more memory, a larger map to look
 * each one up in). Writers keep the default: their leaves stay until the commit anyway. */
#define READER_LEAF_CACHE 64

/* A header Tokyo Cabinet could not read, seen by a reader: most likely a writer created the file
 * and has not yet taken its lock to write the header, so it is worth a few more tries. */
#define TORN_HEADER_RETRIES 3

#define CACHED_MAX 64 /* handles a process keeps (about 130 KiB each: mapped pages) */

static unsigned ncached; /* under registry_mu */
static uint64_t cache_clock;

static char *gen_path(const char *path)
{
    size_t n = strlen(path);
    char *g = malloc(n + sizeof(".gen"));

    if (g == NULL)
        abort();
    memcpy(g, path, n);
    memcpy(g + n, ".gen", sizeof(".gen"));
    return g;
}

static uint64_t gen_read(int fd)
{
    unsigned char b[8];

    return fd >= 0 && pread(fd, b, sizeof(b), 0) == (ssize_t)sizeof(b) ? store_be64_get(b) : 0;
}

/* A writer holding path exclusively: readers' kept handles are not current any more. */
void store_tx_advance(const char *path)
{
    char *g = gen_path(path);
    int fd = open(g, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    unsigned char b[8];

    if (fd >= 0) {
        store_be64_put(b, gen_read(fd) + 1);
        if (pwrite(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
            ftruncate(fd, 0); /* reads as 0: every kept handle older than that is dropped */
        close(fd);
    }
    free(g);
}

/* Whether the file tx->bdb holds (and has locked) is still the one at tx->path. */
static bool same_file(struct store_tx *tx)
{
    struct stat sb;

    return stat(tx->path, &sb) == 0 && (uint64_t)sb.st_ino == tcbdbinode(tx->bdb);
}

/* Opens tx->bdb, retrying a held lock until deadline_us. */
static enum store_err tx_open(struct store_tx *tx, enum store_tx_mode mode, uint64_t deadline_us,
                              struct store_error *err)
{
    unsigned delay = BACKOFF_FIRST_US, torn = 0;
    int omode, ecode, errnum, fd;
    struct stat sb;
    uint64_t now;
    bool fresh;

    /* Files are created here, private to the store's owner, before Tokyo Cabinet (whose mode
     * would be 0644) fills in the empty file under its lock. An empty file holds nothing yet. */
    if (mode == STORE_TX_CREATE &&
        (fd = open(tx->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0)
        close(fd);
    if (mode == STORE_TX_READ && stat(tx->path, &sb) == 0 && sb.st_size == 0)
        return store_fail(err, STORE_ENOTFOUND, "%s: empty", tx->path);
    for (;;) {
        omode = BDBOLCKNB | BDBOTSYNC;
        if (mode == STORE_TX_READ && !wal_exists(tx->path))
            omode |= BDBOREADER;
        else
            omode |= BDBOWRITER; /* a reader meeting a crashed writer's WAL restores it */
        if (mode == STORE_TX_CREATE)
            omode |= BDBOCREAT;
        tx->bdb = tcbdbnew();
        if (tx->bdb == NULL)
            abort();
        tx->reader = (omode & BDBOREADER) != 0;
        if (tx->reader && !tcbdbsetcache(tx->bdb, READER_LEAF_CACHE, 0))
            abort();
        fresh = mode == STORE_TX_CREATE && stat(tx->path, &sb) == 0 && sb.st_size == 0;
        errno = 0;
        if (tcbdbopen(tx->bdb, tx->path, omode)) {
            if (!fresh && same_file(tx)) {
                if (!tx->reader)
                    store_tx_advance(tx->path);
                return STORE_OK;
            }
            if (!fresh) {
                /* A bulk writer renamed a new file over the one opened before its lock was
                 * had: what it holds is the past. Open the path again. */
                tcbdbclose(tx->bdb);
                tcbdbdel(tx->bdb);
                tx->bdb = NULL;
                if (now_us() >= deadline_us)
                    return store_fail(err, STORE_EBUSY, "%s: replaced past the retry bound",
                                      tx->path);
                continue;
            }
            /* A new file's empty tree is written by an open of its own: a transaction that
             * died in the open that created the file would leave one Tokyo Cabinet cannot
             * read back (its WAL restores the file to before the tree existed). */
            bool closed = tcbdbclose(tx->bdb);
            ecode = tcbdbecode(tx->bdb);
            tcbdbdel(tx->bdb);
            tx->bdb = NULL;
            if (!closed)
                return tc_fail(tx, ecode, errno, "create", err);
            continue;
        }
        ecode = tcbdbecode(tx->bdb);
        errnum = errno;
        tcbdbdel(tx->bdb);
        tx->bdb = NULL;
        if (ecode == TCENOFILE)
            return store_fail(err, STORE_ENOTFOUND, "%s: no such file", tx->path);
        if ((ecode == TCEREAD || ecode == TCEMETA || ecode == TCERHEAD) && mode == STORE_TX_READ &&
            torn++ < TORN_HEADER_RETRIES)
            ecode = TCELOCK;
        if (ecode != TCELOCK && ecode != TCETHREAD)
            return tc_fail(tx, ecode, errnum, "open", err);
        now = now_us();
        if (now >= deadline_us)
            return store_fail(err, STORE_EBUSY, "%s: still locked after the retry bound", tx->path);
        if (delay > deadline_us - now)
            delay = (unsigned)(deadline_us - now);
        usleep(delay / 2 + jitter(delay / 2 + 1));
        if (delay < BACKOFF_MAX_US)
            delay *= 2;
    }
}

/* ---- reader handles kept between transactions ---- */

/* Opening a Tokyo Cabinet file costs a dozen system calls (its realpath alone one readlink per
 * path component), a mapping and the parse of its meta, and every leaf a reader loaded is
 * forgotten at the close. So a reader's handle is kept after its transaction, its lock let
 * go, in its path's entry, and the next read of the path takes it again once it is shown
 * current: the path still names the file it holds (same_file) and the file's generation is the
 * one the handle was last current at. The generation is a
 * counter in <path>.gen that every writer advances as soon as it holds the file exclusively,
 * before it changes anything, so a writer that dies half-way has advanced it too. */
/* fcntl lock on the handle's own descriptor, the lock Tokyo Cabinet itself takes (whole file,
 * shared for a reader). */
static bool file_lock(TCBDB *bdb, short type)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET};

    return fcntl(bdb->hdb->fd, F_SETLK, &fl) == 0;
}

static void cached_close(struct path_lock *pl)
{
    shadow_free(&pl->kept_shadow);
    if (pl->cached != NULL) {
        tcbdbclose(pl->cached);
        tcbdbdel(pl->cached);
        pl->cached = NULL;
        pthread_mutex_lock(&registry_mu);
        ncached--;
        pthread_mutex_unlock(&registry_mu);
    }
    if (pl->genfd >= 0)
        close(pl->genfd);
    pl->genfd = -1;
}

/* The kept handle of pl (path mutex held), locked shared and current, into tx: STORE_OK with
 * tx->bdb set, STORE_OK without (none, or not current: closed), or STORE_EBUSY. */
static enum store_err cached_take(struct path_lock *pl, struct store_tx *tx, uint64_t deadline_us,
                                  struct store_error *err)
{
    unsigned delay = BACKOFF_FIRST_US;
    uint64_t now;

    if (pl->cached == NULL)
        return STORE_OK;
    while (!file_lock(pl->cached, F_RDLCK)) {
        now = now_us();
        if ((errno != EAGAIN && errno != EACCES) || now >= deadline_us) {
            cached_close(pl);
            if (now >= deadline_us)
                return store_fail(err, STORE_EBUSY, "%s: still locked after the retry bound",
                                  tx->path);
            return STORE_OK;
        }
        if (delay > deadline_us - now)
            delay = (unsigned)(deadline_us - now);
        usleep(delay / 2 + jitter(delay / 2 + 1));
        if (delay < BACKOFF_MAX_US)
            delay *= 2;
    }
    tx->bdb = pl->cached;
    if (pl->genfd < 0) {
        char *g = gen_path(tx->path);
        pl->genfd = open(g, O_RDONLY | O_CLOEXEC);
        free(g);
    }
    /* A writer that died inside its transaction advanced the generation first, so the WAL it
     * left is found by the open that follows a mismatch. */
    if (!same_file(tx) || gen_read(pl->genfd) != pl->gen) {
        file_lock(pl->cached, F_UNLCK);
        tx->bdb = NULL;
        cached_close(pl);
        return STORE_OK;
    }
    pl->cached = NULL; /* in use; counted still */
    tx->reader = true;
    tx->gen = pl->gen;
    tx->gen_known = true;
    return STORE_OK;
}

void store_tx_forget(struct store *st, const char *path)
{
    struct path_lock *pl = path_lock_ref(path);

    (void)st;
    pthread_mutex_lock(&pl->mu);
    cached_close(pl);
    pthread_mutex_unlock(&pl->mu);
    path_lock_unref(pl);
}

/* Closes the least recently used handle no thread is using (registry_mu held). */
static bool cached_evict(void)
{
    struct path_lock *victim = NULL;

    for (struct path_lock *pl = registry; pl != NULL; pl = pl->next)
        if (pl->refs == 0 && pl->cached != NULL && (victim == NULL || pl->used < victim->used))
            victim = pl;
    if (victim == NULL)
        return false;
    tcbdbclose(victim->cached);
    tcbdbdel(victim->cached);
    victim->cached = NULL;
    if (victim->genfd >= 0)
        close(victim->genfd);
    ncached--;
    path_lock_free(victim);
    return true;
}

/* After a read on tx->bdb (still locked): keep it in pl, unlocked, or close it. was_cached says
 * it is already counted. */
static void cached_keep(struct path_lock *pl, struct store_tx *tx, bool was_cached)
{
    bool keep = true;

    if (pl->genfd < 0) {
        char *g = gen_path(tx->path);
        pl->genfd = open(g, O_RDONLY | O_CLOEXEC);
        free(g);
    }
    /* still locked: the generation read when the transaction began holds */
    pl->gen = tx->gen_known ? tx->gen : gen_read(pl->genfd);
    pthread_mutex_lock(&registry_mu);
    if (!was_cached) {
        if (ncached >= CACHED_MAX && !cached_evict())
            keep = false;
        else
            ncached++;
    }
    pl->used = ++cache_clock;
    pthread_mutex_unlock(&registry_mu);
    if (keep && file_lock(tx->bdb, F_UNLCK)) {
        pl->cached = tx->bdb;
        tx->bdb = NULL;
        return;
    }
    if (keep) {
        pthread_mutex_lock(&registry_mu);
        ncached--;
        pthread_mutex_unlock(&registry_mu);
    }
    tcbdbclose(tx->bdb);
    tcbdbdel(tx->bdb);
    tx->bdb = NULL;
    if (pl->genfd >= 0)
        close(pl->genfd);
    pl->genfd = -1;
}

/* ---- bulk changes on a copy ---- */

/* Under BDBOTSYNC Tokyo Cabinet fsyncs its WAL once for every region of the file a transaction
 * overwrites, a few times per B+ tree page: some 11,000 syncs to change one flag on 100,000
 * messages. Copying the file and fsyncing the copy once costs about as much as this many
 * touched records per MiB of file (measured: 40 MiB copied and fsynced in 0.1 s; a sync
 * about 0.2 ms). */
#define BULK_RECORDS_PER_MIB 256

bool store_tx_bulk_worth(const char *path, size_t nrecords)
{
    struct stat sb;

    if (stat(path, &sb) != 0)
        return false;
    return (uint64_t)nrecords * 1024 * 1024 > (uint64_t)sb.st_size * BULK_RECORDS_PER_MIB;
}

static enum store_err copy_range(int in, int out, off_t size, const char *path,
                                 struct store_error *err)
{
    loff_t off_in = 0, off_out = 0;
    ssize_t n;

    while (off_in < size) {
        n = copy_file_range(in, &off_in, out, &off_out, (size_t)(size - off_in), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return store_fail_errno(err, errno, "copy %s", path);
        if (n == 0)
            return store_fail(err, STORE_EIO, "copy %s: file shrank", path);
    }
    return STORE_OK;
}

/* Copies the file tx->bdb holds (opened as writer, nothing changed yet) to copy, as a file
 * closed cleanly: Tokyo Cabinet marks a file open for writing in its header (the flags byte at
 * offset 33), and a writer opening a file so marked does not load its free-block pool. */
static enum store_err bulk_copy(struct store_tx *tx, const char *copy, struct store_error *err)
{
    int in = tx->bdb->hdb->fd, out;
    unsigned char flags = 0;
    struct stat sb;
    enum store_err rc;

    if (fstat(in, &sb) != 0)
        return store_fail_errno(err, errno, "stat %s", tx->path);
    unlink(copy); /* left by a crash */
    out = open(copy, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0)
        return store_fail_errno(err, errno, "create %s", copy);
    rc = copy_range(in, out, sb.st_size, tx->path, err);
    if (rc == STORE_OK && pread(out, &flags, 1, BULK_FLAGS_OFF) != 1)
        rc = store_fail_errno(err, errno, "read %s", copy);
    flags &= (unsigned char)~BDBFOPEN;
    if (rc == STORE_OK && pwrite(out, &flags, 1, BULK_FLAGS_OFF) != 1)
        rc = store_fail_errno(err, errno, "write %s", copy);
    close(out);
    return rc;
}

/* Puts the synced copy at tx->path, durably. */
static enum store_err bulk_install(struct store_tx *tx, const char *copy, struct store_error *err)
{
    char *dir, *slash;

    STORE_FAULT("bulk-synced");
    if (rename(copy, tx->path) != 0)
        return store_fail_errno(err, errno, "rename %s", copy);
    dir = strdup(tx->path);
    if (dir == NULL)
        abort();
    if ((slash = strrchr(dir, '/')) != NULL)
        *slash = '\0';
    /* The rename is the commit; a failed directory sync leaves it in the page cache only, but
     * every later reader already sees the new file, so it cannot be undone here. */
    store_fsync_dir(slash != NULL ? dir : ".", err);
    free(dir);
    return STORE_OK;
}

/* fn on a copy of the file, without a Tokyo Cabinet transaction or its per-page syncs; the
 * copy is synced once and replaces the file only when fn succeeded. The original, held
 * exclusively, keeps every other writer and appender out meanwhile, and readers read it until
 * the rename; whoever opened it before then and locks it after finds it replaced (same_file).
 * The copy stays locked until after() has run, so nobody reads the new file before, say, the
 * journal it folded is emptied. */
static enum store_err tx_bulk(struct store_tx *tx, store_tx_fn *fn, void *ctx,
                              store_tx_after_fn *after, struct store_error *err)
{
    size_t plen = strlen(tx->path);
    char *copy = malloc(plen + sizeof(".bulk"));
    TCBDB *orig = tx->bdb;
    enum store_err rc;

    if (copy == NULL)
        abort();
    memcpy(copy, tx->path, plen);
    memcpy(copy + plen, ".bulk", sizeof(".bulk"));
    rc = bulk_copy(tx, copy, err);
    if (rc == STORE_OK) {
        tx->bdb = tcbdbnew();
        if (tx->bdb == NULL)
            abort();
        if (!tcbdbopen(tx->bdb, copy, BDBOWRITER | BDBOLCKNB))
            rc = tx_fail(tx, "open copy", err);
        else {
            rc = fn(tx, ctx, err);
            if (rc == STORE_OK && !tcbdbsync(tx->bdb))
                rc = tx_fail(tx, "sync copy", err);
            if (rc == STORE_OK)
                rc = bulk_install(tx, copy, err);
            if (rc == STORE_OK && after != NULL)
                after(ctx);
            tcbdbclose(tx->bdb);
        }
        tcbdbdel(tx->bdb);
        tx->bdb = orig;
    }
    if (rc != STORE_OK)
        unlink(copy);
    free(copy);
    return rc;
}

/* fn inside a Tokyo Cabinet transaction, committed when it succeeds. */
static enum store_err tx_commit(struct store_tx *tx, store_tx_fn *fn, void *ctx,
                                struct store_error *err)
{
    enum store_err rc;

    if (!tcbdbtranbegin(tx->bdb))
        return tx_fail(tx, "begin transaction on", err);
    rc = fn(tx, ctx, err);
    if (rc == STORE_OK) {
        STORE_FAULT("tx-commit");
        if (!tcbdbtrancommit(tx->bdb)) {
            rc = tx_fail(tx, "commit", err);
            tcbdbtranabort(tx->bdb);
        }
    } else {
        tcbdbtranabort(tx->bdb);
    }
    return rc;
}

/* fn, committed when it succeeds and mode writes; after(ctx) once it is, with the file still
 * held. */
static enum store_err tx_body(struct store_tx *tx, enum store_tx_mode mode, store_tx_fn *fn,
                              void *ctx, store_tx_after_fn *after, struct store_error *err)
{
    enum store_err rc;

    if (mode == STORE_TX_BULK)
        return tx_bulk(tx, fn, ctx, after, err);
    rc = mode == STORE_TX_READ ? fn(tx, ctx, err) : tx_commit(tx, fn, ctx, err);
    if (rc == STORE_OK && after != NULL)
        after(ctx);
    return rc;
}

/* ---- the shadow layer ---- */

/* Tokyo Cabinet's default B+ tree order (tccmplexical): bytes, then the shorter key first. */
static int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);

    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Index of the first record whose key is >= key. */
static size_t shadow_find(const struct shadow *sh, const void *key, size_t klen)
{
    size_t lo = 0, hi = sh->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(sh->v[mid].key, sh->v[mid].klen, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void *memdup_or_abort(const void *p, size_t len)
{
    unsigned char *q = malloc(len + 1);

    if (q == NULL)
        abort();
    memcpy(q, p, len);
    q[len] = '\0';
    return q;
}

/* Sets key to val (NULL: removed). */
static void shadow_set(struct shadow *sh, const void *key, size_t klen, const void *val,
                       size_t vlen)
{
    size_t i = shadow_find(sh, key, klen);
    struct shadow_rec *r;

    if (i < sh->n && key_cmp(sh->v[i].key, sh->v[i].klen, key, klen) == 0) {
        r = &sh->v[i];
        free(r->val);
    } else {
        if (sh->n == sh->cap) {
            sh->cap = sh->cap ? 2 * sh->cap : 32;
            sh->v = realloc(sh->v, sh->cap * sizeof(*sh->v));
            if (sh->v == NULL)
                abort();
        }
        memmove(&sh->v[i + 1], &sh->v[i], (sh->n - i) * sizeof(*sh->v));
        sh->n++;
        r = &sh->v[i];
        r->key = memdup_or_abort(key, klen);
        r->klen = klen;
    }
    r->val = val != NULL ? memdup_or_abort(val, vlen) : NULL;
    r->vlen = val != NULL ? vlen : 0;
}

static void shadow_free(struct shadow **sh)
{
    if (*sh == NULL)
        return;
    for (size_t i = 0; i < (*sh)->n; i++) {
        free((*sh)->v[i].key);
        free((*sh)->v[i].val);
    }
    free((*sh)->v);
    free(*sh);
    *sh = NULL;
}

void store_tx_shadow(struct store_tx *tx)
{
    if (tx->shadow == NULL && (tx->shadow = calloc(1, sizeof(*tx->shadow))) == NULL)
        abort();
}

/* ---- shadows kept between reads ---- */

/* Applying the journal costs a read of the index for every message a record changes, and most
 * reads of a user follow one another with the journal and the index unchanged. So a read's
 * shadow is kept in its path's entry, keyed by the file's generation and the journal's length:
 * appends only make the journal longer, a fold (which empties it) advances the generation, and
 * so does an appender that overwrites a torn tail. A transaction that takes a kept shadow
 * copies it before it changes anything in it. */

static uint64_t tx_gen(struct store_tx *tx)
{
    if (!tx->gen_known) {
        char *g = gen_path(tx->path);
        int fd = open(g, O_RDONLY | O_CLOEXEC);
        tx->gen = gen_read(fd);
        if (fd >= 0)
            close(fd);
        free(g);
        tx->gen_known = true;
    }
    return tx->gen;
}

bool store_tx_shadow_reuse(struct store_tx *tx, off_t journal_len)
{
    struct path_lock *pl = tx->pl;

    if (pl == NULL || pl->kept_shadow == NULL || pl->kept_jlen != journal_len ||
        pl->kept_gen != tx_gen(tx))
        return false;
    if (!tx->shadow_borrowed)
        shadow_free(&tx->shadow);
    tx->shadow = pl->kept_shadow;
    tx->shadow_borrowed = true;
    return true;
}

void store_tx_shadow_offer(struct store_tx *tx, off_t journal_len)
{
    struct path_lock *pl = tx->pl;

    if (pl == NULL || tx->shadow == NULL || tx->shadow_borrowed)
        return;
    shadow_free(&pl->kept_shadow);
    pl->kept_shadow = tx->shadow;
    pl->kept_gen = tx_gen(tx);
    pl->kept_jlen = journal_len;
    tx->shadow_borrowed = true;
}

/* Before a change to a kept shadow: the transaction's own copy. */
static void shadow_own(struct store_tx *tx)
{
    const struct shadow *from = tx->shadow;
    struct shadow *sh;

    if (!tx->shadow_borrowed)
        return;
    sh = calloc(1, sizeof(*sh));
    if (sh == NULL || (sh->v = calloc(from->n + 1, sizeof(*sh->v))) == NULL)
        abort();
    for (size_t i = 0; i < from->n; i++) {
        sh->v[i].key = memdup_or_abort(from->v[i].key, from->v[i].klen);
        sh->v[i].klen = from->v[i].klen;
        sh->v[i].val =
            from->v[i].val != NULL ? memdup_or_abort(from->v[i].val, from->v[i].vlen) : NULL;
        sh->v[i].vlen = from->v[i].vlen;
    }
    sh->n = from->n;
    sh->cap = from->n + 1;
    tx->shadow = sh;
    tx->shadow_borrowed = false;
}

enum store_err store_tx_run(struct store *st, const char *path, enum store_tx_mode mode,
                            store_tx_fn *fn, void *ctx, struct store_error *err)
{
    return store_tx_run_then(st, path, mode, fn, ctx, NULL, err);
}

enum store_err store_tx_run_then(struct store *st, const char *path, enum store_tx_mode mode,
                                 store_tx_fn *fn, void *ctx, store_tx_after_fn *after,
                                 struct store_error *err)
{
    struct store_tx tx = {.path = path};
    uint64_t deadline = now_us() + (uint64_t)st->lock_timeout_ms * 1000u;
    struct path_lock *pl = path_lock_ref(path);
    struct timespec abs;
    enum store_err rc;
    bool was_cached;
    int e;

    clock_gettime(CLOCK_REALTIME, &abs);
    abs.tv_sec += st->lock_timeout_ms / 1000;
    abs.tv_nsec += (long)(st->lock_timeout_ms % 1000) * 1000000L;
    if (abs.tv_nsec >= 1000000000L) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000L;
    }
    e = pthread_mutex_timedlock(&pl->mu, &abs);
    if (e != 0) {
        path_lock_unref(pl);
        if (e == ETIMEDOUT)
            return store_fail(err, STORE_EBUSY, "%s: busy in this process past the retry bound",
                              path);
        return store_fail_errno(err, e, "lock %s", path);
    }
    tx.pl = pl;
    rc = mode == STORE_TX_READ ? cached_take(pl, &tx, deadline, err) : STORE_OK;
    was_cached = tx.bdb != NULL;
    if (rc == STORE_OK && tx.bdb == NULL) {
        cached_close(pl); /* a writer; Tokyo Cabinet opens a path once per process */
        rc = tx_open(&tx, mode, deadline, err);
    }
    if (rc == STORE_OK) {
        rc = tx_body(&tx, mode, fn, ctx, after, err);
        if (!tx.shadow_borrowed)
            shadow_free(&tx.shadow);
        if (mode == STORE_TX_READ && tx.reader)
            cached_keep(pl, &tx, was_cached);
        else {
            /* After a successful commit the data is durable; a failing close must not make
             * the caller report failure (an MTA would then deliver the message twice). */
            tcbdbclose(tx.bdb);
            tcbdbdel(tx.bdb);
        }
    }
    pthread_mutex_unlock(&pl->mu);
    path_lock_unref(pl);
    if (rc == STORE_OK)
        store_ok(err);
    return rc;
}

enum store_err store_tx_get(struct store_tx *tx, const void *key, size_t klen, void **val_r,
                            size_t *len_r, struct store_error *err)
{
    int sp = 0;
    void *v;

    if (tx->shadow != NULL) {
        const struct shadow *sh = tx->shadow;
        size_t i = shadow_find(sh, key, klen);
        if (i < sh->n && key_cmp(sh->v[i].key, sh->v[i].klen, key, klen) == 0) {
            if (sh->v[i].val == NULL)
                return STORE_ENOTFOUND;
            *val_r = memdup_or_abort(sh->v[i].val, sh->v[i].vlen);
            *len_r = sh->v[i].vlen;
            return STORE_OK;
        }
    }
    v = tcbdbget(tx->bdb, key, (int)klen, &sp);
    if (v == NULL) {
        if (tcbdbecode(tx->bdb) == TCENOREC)
            return STORE_ENOTFOUND; /* a normal answer: no message set in err */
        return tx_fail(tx, "read", err);
    }
    *val_r = v;
    *len_r = (size_t)sp;
    return STORE_OK;
}

enum store_err store_tx_put(struct store_tx *tx, const void *key, size_t klen, const void *val,
                            size_t vlen, struct store_error *err)
{
    if (tx->shadow != NULL) {
        shadow_own(tx);
        shadow_set(tx->shadow, key, klen, val, vlen);
        return STORE_OK;
    }
    if (!tcbdbput(tx->bdb, key, (int)klen, val, (int)vlen))
        return tx_fail(tx, "write", err);
    return STORE_OK;
}

enum store_err store_tx_del(struct store_tx *tx, const void *key, size_t klen,
                            struct store_error *err)
{
    if (tx->shadow != NULL) {
        shadow_own(tx);
        shadow_set(tx->shadow, key, klen, NULL, 0);
        return STORE_OK;
    }
    if (!tcbdbout(tx->bdb, key, (int)klen) && tcbdbecode(tx->bdb) != TCENOREC)
        return tx_fail(tx, "delete in", err);
    return STORE_OK;
}

enum store_err store_tx_del_prefix(struct store_tx *tx, const void *prefix, size_t plen,
                                   struct store_error *err)
{
    BDBCUR *cur;
    enum store_err rc = STORE_OK;
    const void *k;
    int ks;

    /* A shadow only ever takes a fold's records (puts); nothing removes ranges in one. */
    assert(tx->shadow == NULL);
    cur = tcbdbcurnew(tx->bdb);
    if (cur == NULL)
        abort();
    if (!tcbdbcurjump(cur, prefix, (int)plen))
        goto out; /* nothing at or after prefix */
    while ((k = tcbdbcurkey3(cur, &ks)) != NULL && (size_t)ks >= plen &&
           memcmp(k, prefix, plen) == 0) {
        if (!tcbdbcurout(cur)) {
            if (tcbdbecode(tx->bdb) != TCENOREC)
                rc = tx_fail(tx, "delete in", err);
            break;
        }
    }
out:
    tcbdbcurdel(cur);
    return rc;
}

static bool has_prefix(const void *key, size_t klen, const void *prefix, size_t plen)
{
    return klen >= plen && memcmp(key, prefix, plen) == 0;
}

/* Walks the file's keys and the shadow's together in key order; a shadow record hides the
 * file's record with its key, and a removed one hides it without being shown. Each file record
 * is read with tcbdbcurrec, key and value in one look-up of its leaf (tcbdbcurkey3 and
 * tcbdbcurval3 each look the leaf up in the cache again: a third of a large scan's time). */
enum store_err store_tx_scan(struct store_tx *tx, const void *prefix, size_t plen,
                             const void *start, size_t slen, store_scan_fn *fn, void *ctx,
                             struct store_error *err)
{
    const struct shadow *sh = tx->shadow;
    BDBCUR *cur = tcbdbcurnew(tx->bdb);
    TCXSTR *kx = tcxstrnew(), *vx = tcxstrnew();
    const struct shadow_rec *r;
    const void *k;
    size_t i = 0, ks = 0;
    bool in_file;

    if (cur == NULL || kx == NULL || vx == NULL)
        abort();
    if (start == NULL) {
        start = prefix;
        slen = plen;
    }
    if (sh != NULL)
        i = shadow_find(sh, start, slen);
    in_file = tcbdbcurjump(cur, start, (int)slen);
    for (;;) {
        k = NULL;
        if (in_file && tcbdbcurrec(cur, kx, vx)) {
            k = kx->ptr; /* the fields, not tcxstrptr/tcxstrsize: a call each per record */
            ks = (size_t)kx->size;
            if (!has_prefix(k, ks, prefix, plen))
                k = NULL; /* past the range: keys only grow from here */
        }
        r = sh != NULL && i < sh->n && has_prefix(sh->v[i].key, sh->v[i].klen, prefix, plen)
                ? &sh->v[i]
                : NULL;
        if (k == NULL && r == NULL)
            break;
        int c = k == NULL ? -1 : r == NULL ? 1 : key_cmp(r->key, r->klen, k, ks);
        if (c <= 0) {
            i++;
            if (c == 0)
                in_file = tcbdbcurnext(cur);
            if (r->val != NULL && !fn(r->key, r->klen, r->val, r->vlen, ctx))
                break;
            continue;
        }
        if (!fn(k, ks, (const unsigned char *)vx->ptr, (size_t)vx->size, ctx))
            break;
        in_file = tcbdbcurnext(cur);
    }
    tcbdbcurdel(cur);
    tcxstrdel(kx);
    tcxstrdel(vx);
    if (tcbdbecode(tx->bdb) != TCESUCCESS && tcbdbecode(tx->bdb) != TCENOREC)
        return tx_fail(tx, "scan", err);
    return STORE_OK;
}
