/* The journal: <home>/index.jnl, an append-only log of committed changes that are not yet in
 * index.tcb — deliveries, and the small changes of flags, expunges and \Recent. A change is
 * committed when its record is durable in the journal (one fdatasync, where a Tokyo Cabinet
 * transaction costs about ten syncs); any later writer of the index folds the journal in
 * first, inside its own transaction, and readers apply it to a shadow. Internal to store/. */
#ifndef HALYARD_STORE_JOURNAL_H
#define HALYARD_STORE_JOURNAL_H

#include "store-tx.h"

/* What a record holds: a delivery, or a change to messages the index already has or the
 * journal holds before it. */
enum store_jkind {
    STORE_JREC_DELIVER = 1, /* a new message (the format's first version byte) */
    STORE_JREC_FLAGS = 2,   /* flags and keywords of some messages, as they are after */
    STORE_JREC_EXPUNGE = 3, /* messages expunged */
    STORE_JREC_RECENT = 4,  /* the mailbox's \Recent marker moved up to uid */
};

/* One message's flags after a STORE. */
struct store_jflags {
    uint32_t uid, flags;
    char *keywords; /* NULL when none */
};

/* One record. A delivery's mime is the E record's value, kept as bytes. */
struct store_jrec {
    enum store_jkind kind;
    uint32_t mailbox_id, uidvalidity, uid, flags;
    char *keywords; /* NULL when none */
    int64_t internaldate;
    int32_t tzoff;
    uint64_t size;
    uint32_t header_size;
    unsigned char *mime;
    size_t mime_len;
    struct store_jflags *set; /* FLAGS: n entries */
    uint32_t *uids;           /* EXPUNGE: n UIDs */
    size_t n;
};

/* The journal of one user, open and locked (flock) for appending or reading. */
struct store_journal {
    int fd;
    char *path;
    const char *index; /* the user's index (borrowed) */
    off_t size;        /* of the file when opened */
    off_t end;         /* end of the last whole record: a torn tail beyond it was cut off */
    struct store_jrec *recs;
    size_t n;
};

/* Past this many bytes a delivery folds the journal into the index itself before appending:
 * the bound on the journal when no daemon folds it in the background. */
#define STORE_JOURNAL_HARD_MAX (1024 * 1024)
/* Past this many bytes store_deliver asks its caller to fold (store_delivery.fold_due). */
#define STORE_JOURNAL_FOLD_AT (64 * 1024)
/* Past this many bytes a change made through the journal folds it, and an APPEND asks its
 * caller to: where a client reads, every read applies the whole journal to its shadow, so it
 * is kept shorter than where only deliveries come. */
#define STORE_JOURNAL_FOLD_READERS_AT (4 * 1024)

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
/* Opens u's journal under a shared flock (for a fold: appenders hold the index shared, so only
 * one may be between its records and its fdatasync), its size in j->size; store_journal_load
 * reads its records. No journal is an empty one. */
enum store_err store_journal_open_shared(const struct store_userctx *u, struct store_journal *j,
                                         struct store_error *err);
enum store_err store_journal_load(struct store_journal *j, struct store_error *err);

/* Appends the records in buf (made by the store_journal_encode functions) and, when sync, makes
 * them durable (an fdatasync; records appended without one become durable with the next that
 * has one). On failure the journal is cut back to where it was. */
enum store_err store_journal_append(struct store_journal *j, const struct store_buf *buf, bool sync,
                                    struct store_error *err);
void store_journal_encode(struct store_buf *buf, const struct store_jrec *r);

/* The change records: flags of n messages (uid, flags, keywords as they are after the
 * change), an expunge of n UIDs, the \Recent marker of a mailbox moved up to recent_uid. */
void store_journal_encode_flags(struct store_buf *buf, uint32_t id, uint32_t uidvalidity,
                                const struct store_msg *msgs, size_t n);
void store_journal_encode_expunge(struct store_buf *buf, uint32_t id, uint32_t uidvalidity,
                                  const uint32_t *uids, size_t n);
void store_journal_encode_recent(struct store_buf *buf, uint32_t id, uint32_t uidvalidity,
                                 uint32_t recent_uid);

/* What applying records leaves to do after the commit: body files of expunged messages. */
struct store_fold_out {
    char **unlink;
    size_t n, cap;
};
void store_fold_out_free(struct store_fold_out *out);

/* Applies j's records in order to tx, as the index would have them: a delivery whose UID is at
 * or above its mailbox's UIDNEXT (same UIDVALIDITY, body file present) is added, each change
 * record that changes something takes its mailbox's next MODSEQ (one for the whole record), and
 * what is already so is skipped (records replayed after a fold whose reset did not survive).
 * out (NULL in a shadow) collects the body files to unlink once the change is committed. */
enum store_err store_journal_apply(struct store_tx *tx, const struct store_userctx *u,
                                   const struct store_journal *j, struct store_fold_out *out,
                                   struct store_error *err);

/* Inside a write transaction on u's index, or a read one with a shadow (store_tx_shadow): opens
 * the journal (shared flock) and applies it. *applied_r counts the records read. The journal
 * itself is emptied by store_journal_reset after the commit. */
enum store_err store_journal_fold(struct store_tx *tx, const struct store_userctx *u,
                                  size_t *applied_r, struct store_fold_out *out,
                                  struct store_error *err);
/* After the commit of a fold, still holding the index: the journal is empty again, durably
 * (so records of this fold never come back after a later commit that did not fold them). */
void store_journal_reset(const struct store_userctx *u);

/* Inside a read transaction on u's index: opens the journal for appending (locked, j->end where
 * records go) and makes the transaction's shadow the journal applied (the one kept by an
 * earlier read when still current). *declined_r: the journal is past STORE_JOURNAL_HARD_MAX
 * (closed again; the caller makes its change in a write transaction, which folds it). */
enum store_err store_journal_begin(struct store_tx *tx, const struct store_userctx *u,
                                   struct store_journal *j, bool *declined_r,
                                   struct store_error *err);

/* A change made through the journal: fn runs in a read transaction on u's index whose shadow
 * holds the journal applied, so it sees the current state, and whose writes go nowhere; fn
 * encodes its records into *slot (a buffer set for the call), which are then appended with one
 * fdatasync (none unless durable: the record becomes durable with the next one synced, and a
 * crash may lose it). Past STORE_JOURNAL_FOLD_READERS_AT a fold is queued. Where the journal
 * path declines (no index yet, or a journal past STORE_JOURNAL_HARD_MAX) fn runs in a write
 * transaction instead, with *slot NULL. */
enum store_err store_journal_change(struct store_userctx *u, store_tx_fn *fn, void *ctx,
                                    struct store_buf **slot, bool durable, struct store_error *err);

#endif
