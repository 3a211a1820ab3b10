/* Internals shared by the store's own files and its admin tools (reconstruct, mboxutil): the
 * handle, byte buffers, the transaction runner around Tokyo Cabinet, paths and change lists. */
#ifndef HALYARD_STORE_PRIVATE_H
#define HALYARD_STORE_PRIVATE_H

#include <stdarg.h>

#include "store.h"

struct store {
    char *root;
    unsigned lock_timeout_ms;
    store_hook_fn *hook;
    void *hook_ctx;
    store_fold_error_fn *fold_error;
};

/* ---- errors (store-error.c) ---- */

/* Sets err (when not NULL) and returns code. */
enum store_err store_fail(struct store_error *err, enum store_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* From an errno value: ENOENT -> STORE_ENOTFOUND, ENOSPC/EDQUOT -> STORE_ENOSPC, EEXIST ->
 * STORE_EEXIST, else STORE_EIO; the message is "<what>: strerror". */
enum store_err store_fail_errno(struct store_error *err, int errnum, const char *what, ...)
    __attribute__((format(printf, 3, 4)));
void store_ok(struct store_error *err);

/* ---- growable byte buffer (store-buf.c) ---- */

/* A failed allocation aborts: the store has no way to continue half-written. */
struct store_buf {
    unsigned char *data;
    size_t len, cap;
};

void store_buf_add(struct store_buf *b, const void *p, size_t n);
void store_buf_addc(struct store_buf *b, char c);
void store_buf_adds(struct store_buf *b, const char *s);
void store_buf_printf(struct store_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void store_buf_u8(struct store_buf *b, uint8_t v);
void store_buf_u16(struct store_buf *b, uint16_t v);
void store_buf_u32(struct store_buf *b, uint32_t v);
void store_buf_u64(struct store_buf *b, uint64_t v);
/* 32-bit big-endian length then the bytes (NULL is written as length 0). */
void store_buf_str(struct store_buf *b, const char *s);
/* NUL-terminates and hands the bytes over (caller frees); b is empty afterwards. */
char *store_buf_steal(struct store_buf *b);
void store_buf_free(struct store_buf *b);

/* Reader over a record; any read past the end sets bad and yields zeros. */
struct store_rd {
    const unsigned char *p;
    size_t left;
    bool bad;
};

uint8_t store_rd_u8(struct store_rd *r);
uint16_t store_rd_u16(struct store_rd *r);
uint32_t store_rd_u32(struct store_rd *r);
uint64_t store_rd_u64(struct store_rd *r);
/* A store_buf_str field as a new NUL-terminated string (NULL when empty and empty_null). */
char *store_rd_str(struct store_rd *r, bool empty_null);
/* A store_buf_str field in place: its octets in the record and *len_r (NULL when truncated). */
const unsigned char *store_rd_blob(struct store_rd *r, size_t *len_r);

void store_be32_put(unsigned char *p, uint32_t v);
void store_be64_put(unsigned char *p, uint64_t v);
/* Inline: record decoding calls these for every field of every record a scan reads. */
static inline uint32_t store_be32_get(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t store_be64_get(const unsigned char *p)
{
    return (uint64_t)store_be32_get(p) << 32 | store_be32_get(p + 4);
}

/* ---- transactions on one Tokyo Cabinet B+ tree file (store-index.c, the only TC caller) ---- */

enum store_tx_mode {
    STORE_TX_READ,   /* shared lock, no transaction; a missing file is STORE_ENOTFOUND */
    STORE_TX_WRITE,  /* exclusive lock, inside tranbegin/trancommit with BDBOTSYNC */
    STORE_TX_CREATE, /* as WRITE, creating the file when missing */
    STORE_TX_BULK,   /* as WRITE, for a change to many records: made on a copy of the file
                      * without Tokyo Cabinet's syncs, then fsynced and renamed over it */
};

/* Whether changing about nrecords records of the file at path is cheaper as STORE_TX_BULK
 * (one copy of the file and one fsync) than as STORE_TX_WRITE (Tokyo Cabinet's syncs, a few
 * per page the change touches). */
bool store_tx_bulk_worth(const char *path, size_t nrecords);

struct store_tx;
typedef enum store_err store_tx_fn(struct store_tx *tx, void *ctx, struct store_error *err);

/* Serialises on path within the process (Tokyo Cabinet allows one open per path per process),
 * opens it with a non-blocking lock retried with back-off until the store's lock timeout
 * (STORE_EBUSY), runs fn, then commits when fn returned STORE_OK and mode writes, else aborts.
 * The handle is always closed before returning. */
enum store_err store_tx_run(struct store *st, const char *path, enum store_tx_mode mode,
                            store_tx_fn *fn, void *ctx, struct store_error *err);
/* As store_tx_run, and after a successful fn (and commit) calls after(ctx) while the file is
 * still held. */
typedef void store_tx_after_fn(void *ctx);
enum store_err store_tx_run_then(struct store *st, const char *path, enum store_tx_mode mode,
                                 store_tx_fn *fn, void *ctx, store_tx_after_fn *after,
                                 struct store_error *err);

/* A read's shadow of the journal as an earlier read of the same file made it (taking it as the
 * transaction's shadow, copied before any change), when the index's generation is the same and
 * the journal as long as then; store_tx_shadow_offer keeps tx's shadow for such reads. */
bool store_tx_shadow_reuse(struct store_tx *tx, off_t journal_len);
void store_tx_shadow_offer(struct store_tx *tx, off_t journal_len);
/* Advances the generation of the file at path: kept handles and shadows of it are stale. */
void store_tx_advance(const char *path);

/* Closes the reader's handle this process keeps for path, if any (store-index.c keeps one
 * between reads while no writer changes the file): for a look at the file as it is, damage
 * included. */
void store_tx_forget(struct store *st, const char *path);

/* Gets key's value: STORE_OK with *val_r (malloc'd, NUL-terminated beyond *len_r; caller
 * frees), STORE_ENOTFOUND, or STORE_EIO. */
enum store_err store_tx_get(struct store_tx *tx, const void *key, size_t klen, void **val_r,
                            size_t *len_r, struct store_error *err);
enum store_err store_tx_put(struct store_tx *tx, const void *key, size_t klen, const void *val,
                            size_t vlen, struct store_error *err);
/* Removing an absent key is not an error. */
enum store_err store_tx_del(struct store_tx *tx, const void *key, size_t klen,
                            struct store_error *err);
/* Removes every key starting with prefix (not in a shadowed transaction). */
enum store_err store_tx_del_prefix(struct store_tx *tx, const void *prefix, size_t plen,
                                   struct store_error *err);

/* Inside a read transaction: from here on its puts and deletes go to a private layer in memory
 * that its later reads and scans see over the file, and that is dropped when it ends. How a
 * reader sees journalled deliveries without writing the index (store_user_tx). */
void store_tx_shadow(struct store_tx *tx);

/* Calls fn for each key >= start that begins with prefix, in key order, until fn returns
 * false. Key and value are valid only during the call; fn must not modify the index. */
typedef bool store_scan_fn(const unsigned char *key, size_t klen, const unsigned char *val,
                           size_t vlen, void *ctx);
enum store_err store_tx_scan(struct store_tx *tx, const void *prefix, size_t plen,
                             const void *start, size_t slen, store_scan_fn *fn, void *ctx,
                             struct store_error *err);

/* ---- paths (store-path.c); results malloc'd ---- */

char *store_path_home(const struct store *st, const char *user_canon);
char *store_path_index(const struct store *st, const char *user_canon);
char *store_path_users(const struct store *st);
char *store_path_tmp(const struct store *st);
char *store_path_mailbox_dir(const char *home, uint32_t mailbox_id);
char *store_path_body(const char *home, uint32_t mailbox_id, uint32_t uid);
char *store_path_join(const char *a, const char *b);
/* mkdir -p with mode 0750 for missing parts. */
enum store_err store_mkdirs(const char *path, struct store_error *err);
/* fsync of a directory, so a link or rename in it is durable. */
enum store_err store_fsync_dir(const char *path, struct store_error *err);
/* rm -r of a mailbox or home directory (only regular files and directories expected). */
enum store_err store_remove_tree(const char *path, struct store_error *err);

/* ---- change lists for the commit hook (store.c) ---- */

struct store_changeset {
    struct store_change *v; /* strings and uids owned */
    size_t n, cap;
};

/* Adds a change with mb's counters after it; returns it, valid until the next add, for the
 * fields only its caller knows (appended, flags_on). */
struct store_change *store_changeset_add(struct store_changeset *cs, enum store_change_kind kind,
                                         const char *user, const struct store_mailbox *mb,
                                         const char *old_name, const uint32_t *uids, size_t nuids);
/* Calls the hook for each change (nothing without a hook), then frees. */
void store_changeset_emit(struct store *st, struct store_changeset *cs);
void store_changeset_free(struct store_changeset *cs);

/* ---- the sharing index (store-share.c), kept by store_acl_set ---- */

/* Records that owner gave id (lower case, not negative) an ACL entry. */
enum store_err store_share_note(struct store *st, const char *id, const char *owner,
                                struct store_error *err);
/* Drops (id, owner) unless owner's ACLs still name id. */
enum store_err store_share_forget(struct store *st, const char *id, const char *owner,
                                  struct store_error *err);

/* Indexes up to this size are folded on a copy (STORE_TX_BULK), larger ones in a transaction;
 * tests lower it to reach the transaction. */
extern off_t store_fold_copy_max;

/* ---- fault injection for the crash tests ---- */

/* When set, called at named points of a write ("deliver-linked", "deliver-commit"); a test
 * makes it _exit() to stand for a crash there. NULL in production. */
extern void (*store_fault_hook)(const char *point);
#define STORE_FAULT(point)                                                                         \
    do {                                                                                           \
        if (store_fault_hook != NULL)                                                              \
            store_fault_hook(point);                                                               \
    } while (0)

/* ---- helpers shared between files ---- */

uint32_t *store_uids_sorted_unique(const uint32_t *uids, size_t n, size_t *n_r);
int store_uid_cmp(const void *a, const void *b);

#endif
