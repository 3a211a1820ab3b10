/* The embedded user table (root/users.tcb): the default directory when no LDAP host is set.
 * Passwords are kept only as crypt(3) yescrypt hashes and never appear in messages; beside the
 * hash a record may hold a SCRAM secret (salt, iterations, StoredKey, ServerKey as text that
 * libauth makes and reads; opaque here). */
#ifndef HALYARD_STORE_USER_H
#define HALYARD_STORE_USER_H

#include "store.h"

/* The account states Sun defines for inetUserStatus (active, inactive, deleted) and
 * mailUserStatus (all of them). What each means for login and delivery is the protocol layer's
 * rule; the suggested reading: active - everything works; inactive - no login, deliveries
 * deferred (4xx); disabled, deleted, removed - no login, deliveries refused (5xx); hold - no
 * login, deliveries accepted. The numbers are stored: new states go at the end. */
enum store_user_status {
    STORE_USER_ACTIVE,
    STORE_USER_INACTIVE,
    STORE_USER_DISABLED,
    STORE_USER_HOLD,
    STORE_USER_DELETED,
    STORE_USER_REMOVED,
};
#define STORE_USER_STATUS_LAST STORE_USER_REMOVED

/* "active", "inactive", "disabled", "hold", "deleted", "removed". */
const char *store_user_status_name(enum store_user_status status);
bool store_user_status_parse(const char *s, enum store_user_status *status_r);
/* Whether status is one inetUserStatus may take (active, inactive, deleted). */
bool store_user_inet_status_valid(enum store_user_status status);

struct store_user {
    char name[STORE_USER_MAX + 1];        /* canonical (lower case) */
    enum store_user_status status;        /* mailUserStatus */
    enum store_user_status inet_status;   /* inetUserStatus: active, inactive or deleted */
    uint64_t quota_bytes, quota_messages; /* 0: unlimited */
    char *services; /* owned; mailAllowedServiceAccess rules verbatim, "" for no restriction */
    bool has_password;
    bool has_scram; /* a SCRAM secret is stored (store_user_set_scram) */
};

/* What decides about the account: Sun checks inetUserStatus, then mailUserStatus, and the
 * first that is not active decides (the domain statuses come before them with LDAP). */
enum store_user_status store_user_effective_status(const struct store_user *u);

void store_user_clear(struct store_user *u);
void store_user_list_free(struct store_user **users, size_t n);

/* Adds u (u->name is canonicalised; has_password is ignored). password NULL creates an
 * account that cannot log in with a password. STORE_EEXIST, STORE_EINVAL. */
enum store_err store_user_add(struct store *st, const struct store_user *u, const char *password,
                              struct store_error *err);

/* STORE_ENOTFOUND when there is no such user. *u_r is owned by the caller. */
enum store_err store_user_get(struct store *st, const char *name, struct store_user *u_r,
                              struct store_error *err);

/* Changes the fields of u named in `fields` (STORE_USER_SET_*) on user u->name. */
#define STORE_USER_SET_STATUS         0x1u
#define STORE_USER_SET_QUOTA_BYTES    0x2u
#define STORE_USER_SET_QUOTA_MESSAGES 0x4u
#define STORE_USER_SET_SERVICES       0x8u
#define STORE_USER_SET_INET_STATUS    0x10u
enum store_err store_user_set(struct store *st, const struct store_user *u, unsigned fields,
                              struct store_error *err);

/* New password (NULL: remove it, so password login is impossible). The SCRAM secret is removed
 * with the old password: set the new one with store_user_set_scram. */
enum store_err store_user_passwd(struct store *st, const char *name, const char *password,
                                 struct store_error *err);

/* Stores scram (text of at most 4096 bytes, not checked here) beside the password hash; NULL
 * removes it. STORE_ENOTFOUND, STORE_EINVAL. */
enum store_err store_user_set_scram(struct store *st, const char *name, const char *scram,
                                    struct store_error *err);

/* Removes the user from the table (its mail stays: see store_home_remove). */
enum store_err store_user_del(struct store *st, const char *name, struct store_error *err);

/* Every user, sorted by name; caller frees with store_user_list_free. */
enum store_err store_user_list(struct store *st, struct store_user **users_r, size_t *n_r,
                               struct store_error *err);

/* Checks password: STORE_OK (and *u_r filled when not NULL), STORE_EDENIED for a wrong or
 * absent password, STORE_ENOTFOUND for an unknown user - after the same hashing work, so the
 * answer's timing does not tell which. The status is not checked here. The hashing runs after
 * the table's lock is released. */
enum store_err store_user_check_password(struct store *st, const char *name, const char *password,
                                         struct store_user *u_r, struct store_error *err);

/* The two halves of store_user_check_password, for a caller that may skip the hashing (the
 * login cache): the record with its stored hash (*hash_r NULL when the user has no password;
 * release it with store_user_hash_free, which wipes it), then the check itself. */
enum store_err store_user_get_auth(struct store *st, const char *name, struct store_user *u_r,
                                   char **hash_r, struct store_error *err);
void store_user_hash_free(char **hash);
/* store_user_get_auth that also gives the SCRAM secret (*scram_r NULL when none; release it
 * with store_user_hash_free). scram_r may be NULL. */
enum store_err store_user_get_secrets(struct store *st, const char *name, struct store_user *u_r,
                                      char **hash_r, char **scram_r, struct store_error *err);
/* Whether password matches hash (crypt(3), compared without an early exit). NULL hash spends the
 * same work on a dummy hash and answers false, so timing does not tell a missing user. */
bool store_user_hash_matches(const char *password, const char *hash);

#endif
