/* The delivery journal: <home>/index.jnl, an append-only log of committed deliveries that are
 * not yet in index.tcb. A delivery is committed when its record is durable in the journal
 * (one fdatasync, where a Tokyo Cabinet transaction costs about ten syncs); any later writer of
 * the index folds the journal in first, inside its own transaction. Internal to store/. */
#ifndef HALYARD_STORE_JOURNAL_H
#define HALYARD_STORE_JOURNAL_H

#include "store-tx.h"

/* One delivery as the journal keeps it; mime is the E record's value, kept as bytes. */
struct store_jrec {
    uint32_t mailbox_id, uidvalidity, uid, flags;
    char *keywords; /* NULL when none */
    int64_t internaldate;
    int32_t tzoff;
    uint64_t size;
    uint32_t header_size;
    unsigned char *mime;
    size_t mime_len;
};

/* The journal of one user, open and locked (flock, exclusive) for appending. */
struct store_journal {
    int fd;
    char *path;
    off_t end; /* end of the last whole record: a torn tail beyond it was cut off */
    struct store_jrec *recs;
    size_t n;
};

/* Past this many bytes a delivery folds the journal into the index itself before appending:
 * the bound on the journal when no daemon folds it in the background. */
#define STORE_JOURNAL_HARD_MAX (1024 * 1024)
/* Past this many bytes store_deliver asks its caller to fold (store_delivery.fold_due). */
#define STORE_JOURNAL_FOLD_AT (64 * 1024)

char *store_journal_path(const char *home);

/* r describes message m (uid, flags, dates, sizes, keywords borrowed) delivered to mailbox id;
 * mime (borrowed) is its E record. store_journal_msg is the reverse (keywords borrowed), with
 * the MODSEQ the record gets when folded. */
void store_journal_rec(struct store_jrec *r, uint32_t id, uint32_t uidvalidity,
                       const struct store_msg *m, const unsigned char *mime, size_t mime_len);
void store_journal_msg(const struct store_jrec *r, uint64_t modseq, struct store_msg *m);

/* The record is not in the index yet: its mailbox still has the UIDVALIDITY and its UID is
 * at or above the mailbox's UIDNEXT. */
bool store_journal_pending(const struct store_jrec *r, const struct store_mailbox *mb);

/* What adding message m (the mailbox's next UID) does to mb's counters and the usage; the same
 * bookkeeping for a delivery, a fold and a look at what the journal holds. */
void store_journal_account(struct store_mailbox *mb, struct store_usage *usage,
                           const struct store_msg *m);

/* Bytes in u's journal (0 when there is none). */
off_t store_journal_size(const struct store_userctx *u);

/* Opens (creating it durably when missing), locks and reads u's journal. Caller must hold the
 * index (a read transaction), so no fold runs meanwhile. store_journal_close unlocks. */
enum store_err store_journal_open(const struct store_userctx *u, struct store_journal *j,
                                  struct store_error *err);
void store_journal_close(struct store_journal *j);

/* Appends the records in buf (made by store_journal_encode) and makes them durable. On failure
 * the journal is cut back to where it was. */
enum store_err store_journal_append(struct store_journal *j, const struct store_buf *buf,
                                    struct store_error *err);
void store_journal_encode(struct store_buf *buf, const struct store_jrec *r);

/* Inside a write transaction on u's index, or a read one with a shadow (store_tx_shadow): adds
 * every journalled delivery the index does not have yet (a record whose UID is below its mailbox's
 * UIDNEXT is already in). *applied_r counts what was added. The journal itself is emptied by
 * store_journal_reset after the commit. */
enum store_err store_journal_fold(struct store_tx *tx, const struct store_userctx *u,
                                  size_t *applied_r, struct store_error *err);
/* After the commit of a fold, still holding the index: the journal is empty again. */
void store_journal_reset(const struct store_userctx *u);

#endif
