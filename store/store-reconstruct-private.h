/* Internals of reconstruct shared by its files: what the home holds on disk, what the index
 * holds, one user's run with its reporting, and the check and rebuild passes. */
#ifndef HALYARD_STORE_RECONSTRUCT_PRIVATE_H
#define HALYARD_STORE_RECONSTRUCT_PRIVATE_H

#include <sys/stat.h>

#include "store-reconstruct.h"
#include "store-tx.h"

/* ---- the home on disk (store-reconstruct-disk.c) ---- */

struct store_rc_file {
    uint32_t uid;
    uint64_t size;
    int64_t mtime; /* INTERNALDATE */
};

struct store_rc_dir {
    uint32_t id;
    char *name;                  /* from the sidecar; NULL when it is missing or unreadable */
    uint32_t uidvalidity;        /* from the sidecar */
    struct store_rc_file *files; /* ascending UID */
    size_t nfiles;
};

struct store_rc_disk {
    struct store_rc_dir *dirs; /* ascending id */
    size_t n;
    size_t nfiles; /* over all directories */
};

/* Lists the mailbox directories of home (8 hex digits), their sidecars and body files (decimal
 * names); anything else is left out. */
enum store_err store_rc_scan_disk(const char *home, struct store_rc_disk *disk,
                                  struct store_error *err);
void store_rc_disk_free(struct store_rc_disk *disk);
struct store_rc_dir *store_rc_find_dir(const struct store_rc_disk *disk, uint32_t id);
const struct store_rc_file *store_rc_find_file(const struct store_rc_dir *dir, uint32_t uid);

/* ENVELOPE/BODYSTRUCTURE, header size and length of a body file. */
enum store_err store_rc_read_mime(const char *path, struct store_mime *mime_r,
                                  uint32_t *header_size_r, uint64_t *size_r,
                                  struct store_error *err);

/* v (elements of size bytes, *cap of them) grown to hold at least n + 1; aborts without
 * memory. */
void *store_rc_grow(void *v, size_t *cap, size_t n, size_t size);

/* qsort and bsearch that accept an empty (NULL) array. */
void store_rc_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void *store_rc_search(const void *key, const void *base, size_t n, size_t size,
                      int (*cmp)(const void *, const void *));

/* ---- one user's run (store-reconstruct.c) ---- */

struct store_rc_run {
    struct store_userctx u;
    const struct store_rc_options *opt;
    unsigned problems;
};

/* Reports a finding; action is shown only when repairing. */
void store_rc_report(struct store_rc_run *run, enum store_rc_kind kind, const char *mailbox,
                     uint32_t uid, const char *action, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* ---- what the index holds (store-reconstruct-load.c) ---- */

struct store_rc_seq {
    uint64_t modseq;
    uint32_t uid;
};

struct store_rc_mimerec {
    uint32_t uid;
    bool ok; /* parses */
};

struct store_rc_box {
    struct store_mailbox mb;
    struct store_msg *msgs; /* message records, ascending UID */
    size_t nmsgs, capmsgs;
    uint32_t *badmsgs; /* UIDs whose message record does not parse */
    size_t nbadmsgs, capbadmsgs;
    struct store_rc_mimerec *mime; /* ascending UID */
    size_t nmime, capmime;
    struct store_rc_seq *seqs; /* changes-since entries */
    size_t nseqs, capseqs;
    struct store_rc_seq *tombs; /* expunge tombstones */
    size_t ntombs, captombs;
};

struct store_rc_name {
    char *name;
    uint32_t id; /* 0 when the record is malformed */
};

struct store_rc_index {
    bool has_counters; /* present and well-formed */
    bool usage_bad;    /* the usage record is there but does not parse (usage reads 0) */
    struct store_counters counters;
    struct store_usage usage;
    struct store_rc_box *boxes; /* ascending id */
    size_t nboxes, capboxes;
    struct store_rc_name *names;
    size_t nnames, capnames;
    struct store_buf *stale; /* keys of records whose mailbox does not exist */
    size_t nstale, capstale;
    bool lost; /* a mailbox record is unreadable or a scan failed */
    char why[STORE_ERRMSG_MAX];
};

/* Reads every record of the index. A failure that means the index cannot be trusted sets
 * idx->lost with the reason and returns STORE_OK; other failures are returned. */
enum store_err store_rc_load_index(struct store_tx *tx, struct store_rc_index *idx,
                                   struct store_error *err);
void store_rc_index_free(struct store_rc_index *idx);
struct store_rc_box *store_rc_find_box(const struct store_rc_index *idx, uint32_t id);

/* ---- passes ---- */

/* Checks (and with opt->repair, repairs inside tx) a readable index against disk
 * (store-reconstruct-check.c, store-reconstruct-box.c). */
enum store_err store_rc_check_index(struct store_tx *tx, struct store_rc_run *run,
                                    struct store_rc_index *idx, struct store_rc_disk *disk,
                                    struct store_error *err);
/* Per mailbox: messages against files, counters, UIDNEXT, MODSEQ, keywords. *usage gets the
 * mailbox's messages and bytes after the repair. */
enum store_err store_rc_check_box(struct store_tx *tx, struct store_rc_run *run,
                                  struct store_rc_box *box, const struct store_rc_disk *disk,
                                  const uint64_t *refs, size_t nrefs, struct store_usage *usage,
                                  struct store_error *err);

/* Rebuilds the index from the body files alone (store-reconstruct-rebuild.c): kind says why
 * (STORE_RC_INDEX_UNREADABLE, _MISSING or STORE_RC_REBUILD_ASKED), and why in words; seen is what
 * was at the index path when that was decided (NULL: nothing). *retry_r is set, with nothing done,
 * when the path no longer holds that file. Without opt->repair it only reports. */
enum store_err store_rc_rebuild(struct store_rc_run *run, enum store_rc_kind kind, const char *why,
                                const struct stat *seen, bool *retry_r, struct store_error *err);

/* ---- the rebuilt index (store-reconstruct-plan.c) ---- */

struct store_rc_newbox {
    struct store_mailbox mb;        /* as the new index will hold it */
    const struct store_rc_dir *dir; /* its files; NULL for a mailbox the rebuild made */
    uint32_t old_uidvalidity;       /* from the sidecar; 0 when none */
};

struct store_rc_plan {
    struct store_rc_disk disk;
    struct store_rc_newbox *boxes; /* sorted by name once planned */
    size_t n, cap;
    struct store_counters counters;
    struct store_usage usage;
};

/* Lists the home and decides every mailbox of the new index: names from the sidecars (a clash
 * or a missing sidecar gives Recovered/<id>), INBOX and missing superiors made, new UIDVALIDITYs
 * above every old one. Then writes the new mailboxes' directories and every sidecar. */
enum store_err store_rc_plan_make(struct store_rc_run *run, struct store_rc_plan *p,
                                  struct store_error *err);
/* Writes the planned index into a new file at path, in one transaction. */
enum store_err store_rc_plan_build(struct store_rc_run *run, struct store_rc_plan *p,
                                   const char *path, struct store_error *err);
void store_rc_plan_free(struct store_rc_plan *p);

#endif
