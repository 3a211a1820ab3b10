/* Helpers shared by the store tests: a throw-away store root and one-call delivery. */
#ifndef HALYARD_STORE_TEST_H
#define HALYARD_STORE_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* A fresh store in a new temporary directory (TMPDIR or /tmp); aborts the test on failure. */
struct store *test_store_new(void);
/* Closes the store and removes its directory. */
void test_store_free(struct store **st);

/* Delivers text (LF or CRLF line ends) to user's mailbox (NULL: INBOX) with the given limits
 * (NULL: none); returns the store's answer and the new UID in *uid_r when not NULL. */
enum store_err test_deliver(struct store *st, const char *user, const char *mailbox,
                            const char *text, const struct store_limits *limits, uint32_t *uid_r);

/* Id of user's mailbox name (fails the test when absent). */
uint32_t test_mailbox_id(struct store *st, const char *user, const char *name);

/* Copies the file from over to (created 0600 or truncated); fails the test on error. */
void test_copy_file(const char *from, const char *to);

/* The bytes of a message's body file, NUL-terminated (caller frees). */
char *test_body_read(struct store *st, const char *user, uint32_t mailbox_id, uint32_t uid);

#endif
