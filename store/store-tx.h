/* Building blocks used inside an index transaction of one user: load and save mailbox,
 * message and usage records, create a mailbox, keyword sets. Internal to store/ and its tools. */
#ifndef HALYARD_STORE_TX_H
#define HALYARD_STORE_TX_H

#include "store-key.h"
#include "store-private.h"

/* The user a call works on: canonical name and the paths of its home and index. */
struct store_userctx {
    struct store *st;
    char user[STORE_USER_MAX + 1];
    char *home, *index;
};

/* Fills u (STORE_EINVAL for a bad user name); store_userctx_free releases the paths. */
enum store_err store_userctx_init(struct store_userctx *u, struct store *st, const char *user,
                                  struct store_error *err);
void store_userctx_free(struct store_userctx *u);

/* Runs fn on the user's index; a missing index reads as STORE_ENOTFOUND with a message naming
 * the user. */
enum store_err store_user_tx(struct store_userctx *u, enum store_tx_mode mode, store_tx_fn *fn,
                             void *ctx, struct store_error *err);

/* STORE_ENOTFOUND (with a message) when the name or id has no mailbox. */
enum store_err store_mbx_lookup(struct store_tx *tx, const char *canon, uint32_t *id_r,
                                struct store_error *err);
enum store_err store_mbx_load(struct store_tx *tx, uint32_t id, struct store_mailbox *mb,
                              struct store_error *err);
enum store_err store_mbx_save(struct store_tx *tx, const struct store_mailbox *mb,
                              struct store_error *err);

/* Creates mailbox canon (which must not exist): a new id and UIDVALIDITY from the counters,
 * its directory with the sidecar file, then its index records. *mb_r is owned by the caller. */
enum store_err store_mbx_new(struct store_tx *tx, const struct store_userctx *u, const char *canon,
                             struct store_mailbox *mb_r, struct store_error *err);

/* Creates name unless it exists (*created says which), with a CREATE event in cs. */
enum store_err store_mbx_create_one(struct store_tx *tx, const struct store_userctx *u,
                                    const char *name, struct store_changeset *cs, bool *created,
                                    struct store_error *err);
/* Creates the missing superiors of name (RFC 3501 6.3.3), with their events in cs. */
enum store_err store_mbx_create_superiors(struct store_tx *tx, const struct store_userctx *u,
                                          const char *name, struct store_changeset *cs,
                                          struct store_error *err);

/* Mailbox names and ids from the name records, in name order. */
struct store_names {
    char **name;
    uint32_t *id;
    size_t n, cap;
};

/* Adds to out the mailboxes whose names start with prefix ("" for all) and match pattern
 * (NULL: any). store_names_free releases the lists. */
enum store_err store_names_scan(struct store_tx *tx, const char *prefix, const char *pattern,
                                struct store_names *out, struct store_error *err);
void store_names_free(struct store_names *l);

/* "name/": the prefix of name's inferiors (caller frees). */
char *store_name_inferiors(const char *name);

/* Writes <home>/<id>/mailbox (name and UIDVALIDITY, for reconstruct) atomically and durably. */
enum store_err store_sidecar_write(const char *home, const struct store_mailbox *mb,
                                   struct store_error *err);

enum store_err store_usage_load(struct store_tx *tx, struct store_usage *usage,
                                struct store_error *err);
enum store_err store_usage_save(struct store_tx *tx, const struct store_usage *usage,
                                struct store_error *err);

/* STORE_ENOTFOUND quietly (no message) when the message is absent. */
enum store_err store_msgrec_load(struct store_tx *tx, uint32_t id, uint32_t uid,
                                 struct store_msg *m, struct store_error *err);
/* Writes the message record and moves its modseq index entry from old_modseq (0: none). */
enum store_err store_msgrec_save(struct store_tx *tx, uint32_t id, const struct store_msg *m,
                                 uint64_t old_modseq, struct store_error *err);
/* Removes a message's records and leaves an expunge tombstone at modseq. */
enum store_err store_msgrec_expunge(struct store_tx *tx, uint32_t id, const struct store_msg *m,
                                    uint64_t modseq, struct store_error *err);

/* Counter bookkeeping when a message with these flags enters or leaves mb. */
void store_mbx_count_add(struct store_mailbox *mb, const struct store_msg *m);
void store_mbx_count_remove(struct store_mailbox *mb, const struct store_msg *m);

/* Keyword sets are space-separated, compared without regard to case (RFC 9051 2.3.2).
 * store_kw_apply returns the new set for op (NULL when empty; caller frees). store_kw_union
 * adds the words of add to *set (keeping the first spelling). store_kw_valid checks atoms. */
char *store_kw_apply(const char *cur, enum store_flag_op op, const char *words);
void store_kw_union(char **set, const char *add);
bool store_kw_equal(const char *a, const char *b);
bool store_kw_valid(const char *words);

#endif
