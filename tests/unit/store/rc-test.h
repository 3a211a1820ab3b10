/* Helpers for the reconstruct tests: run it and keep what it reported, look at a user's files,
 * and snapshot a mailbox to compare before and after. */
#ifndef HALYARD_RC_TEST_H
#define HALYARD_RC_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store-reconstruct.h"

#define RC_LOG_MAX 64

struct rc_seen {
    enum store_rc_kind kind;
    bool note, acted; /* acted: the finding came with an action */
    char mailbox[128];
    uint32_t uid;
    char text[512];
};

struct rc_log {
    struct rc_seen v[RC_LOG_MAX];
    size_t n;
    unsigned problems;
};

/* Runs reconstruct on user (repair or check only), asserts it succeeded, fills log. */
void rc_run(struct store *st, const char *user, bool repair, struct rc_log *log);
/* The same, returning the store's answer instead of asserting it. */
enum store_err rc_try(struct store *st, const char *user, const struct store_rc_options *opt,
                      struct rc_log *log);

/* How many findings of kind; the one of kind about mailbox (NULL: any) and uid (0: any). */
size_t rc_count(const struct rc_log *log, enum store_rc_kind kind);
const struct rc_seen *rc_find(const struct rc_log *log, enum store_rc_kind kind,
                              const char *mailbox, uint32_t uid);

/* Paths under user's home (caller frees). */
char *rc_home(struct store *st, const char *user);
char *rc_body(struct store *st, const char *user, uint32_t mailbox_id, uint32_t uid);
char *rc_index(struct store *st, const char *user);

/* Every message of a mailbox, ascending UID (store_msg_list_free). */
struct store_msg *rc_msgs(struct store *st, const char *user, const char *mailbox, size_t *n_r);

/* Whole-file contents (caller frees); *len_r its length. NULL when absent. */
char *rc_slurp(const char *path, size_t *len_r);

#endif
