/* The LDAP user directory (OpenLDAP libldap), used instead of the embedded user table when
 * local.ugldaphost is set: users found by one search, passwords checked by binding as the
 * user's entry, a few pooled connections per process and a short cache of search answers.
 * Blocking: call it on a pool thread. The choices are written down in docs/decisions.md. */
#ifndef HALYARD_AUTH_LDAP_H
#define HALYARD_AUTH_LDAP_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "store-user.h"

/* Longest text a key value may have, and the longest filter auth_ldap_filter builds. */
#define AUTH_LDAP_VALUE_MAX  256
#define AUTH_LDAP_FILTER_MAX 4096
#define AUTH_LDAP_KEYS_MAX   8

/* One way of naming an entry: attribute = value (equality). Keys are tried in one search and
 * the entry matching the earliest key wins. */
struct auth_ldap_key {
    const char *attr; /* "uid", "mail", "mailAlternateAddress" */
    const char *value;
};

/* What Halyard reads of a user entry. */
struct auth_ldap_user {
    char *dn;            /* owned: where to bind with the user's password */
    struct store_user u; /* name (the matching uid, see decisions.md), statuses, quotas, rules */
    char *stamp;         /* owned: entryCSN, else modifyTimestamp; NULL when neither is read */
    char *mailhost;      /* owned: mailHost, "" when absent */
    char *language;      /* owned: preferredLanguage, "" when absent */
    char *scram; /* owned: a userPassword value in a SCRAM-SHA-256 form (auth_scram_parse), when
                    the service DN may read it; NULL otherwise */
    char bad_status[128]; /* a status value that is not Sun's, for the journal ("" none) */
};

enum auth_ldap_rc {
    AUTH_LDAP_OK,
    AUTH_LDAP_NOTFOUND, /* no entry (or several equally good ones: detail says which) */
    AUTH_LDAP_BADPASS,  /* the bind with the user's password was refused */
    AUTH_LDAP_UNUSABLE, /* the entry cannot be a user here (no usable uid / mail) */
    AUTH_LDAP_TEMPFAIL, /* the directory is unreachable, too slow or refuses the service */
};

/* Whether conf names an LDAP directory (local.ugldaphost is not empty). */
bool auth_ldap_enabled(const struct conf *conf);

/* Finds the user named by keys (n <= AUTH_LDAP_KEYS_MAX) with one search under
 * local.ugldapbasedn, or from the answer cache (local.ugldapcachettl). u_r is filled on
 * AUTH_LDAP_OK (free with auth_ldap_user_clear); detail gets a journal line otherwise. */
enum auth_ldap_rc auth_ldap_find(const struct conf *conf, const struct auth_ldap_key *keys,
                                 size_t n, struct auth_ldap_user *u_r, char *detail, size_t size);

/* As auth_ldap_find for an administrator's filter (local.certmap.searchfilter, already escaped):
 * exactly one entry must match. */
enum auth_ldap_rc auth_ldap_find_filter(const struct conf *conf, const char *filter,
                                        struct auth_ldap_user *u_r, char *detail, size_t size);

/* Checks password by a simple bind as dn (an empty password is refused without asking: it
 * would be an unauthenticated bind, RFC 4513 5.1.2). AUTH_LDAP_OK, _BADPASS or _TEMPFAIL. */
enum auth_ldap_rc auth_ldap_bind(const struct conf *conf, const char *dn, const char *password,
                                 char *detail, size_t size);

void auth_ldap_user_clear(struct auth_ldap_user *u);
/* A deep copy (for the cache); false when out of memory. */
bool auth_ldap_user_copy(struct auth_ldap_user *dst, const struct auth_ldap_user *src);

/* Drops every cached answer and closes the pooled connections (tests, and process exit). */
void auth_ldap_reset(void);

/* --- pure parts, unit-tested --- */

/* Escapes value for an assertion value in a search filter (RFC 4515 section 3: '*', '(', ')',
 * '\' and NUL become \2a \28 \29 \5c \00; every byte >= 0x80 is escaped too, so the filter is
 * plain ASCII). Returns the length written; 0 for an empty value or when out (size bytes) is
 * too small. */
size_t auth_ldap_escape(const char *value, char *out, size_t size);

/* (|(attr1=v1)(attr2=v2)...) or (attr1=v1) for one key. Returns 0, or -1 when it does not fit
 * in size bytes, a value is empty or longer than AUTH_LDAP_VALUE_MAX, or an attribute name is
 * not a plain descriptor. */
int auth_ldap_filter(const struct auth_ldap_key *keys, size_t n, char *out, size_t size);

/* inetUserStatus / mailUserStatus text (case-insensitive; Sun's "overquota" reads as active,
 * since the store keeps the quota). False for anything else. */
bool auth_ldap_status_parse(const char *value, enum store_user_status *status_r);

/* mailQuota / mailMsgQuota: a decimal count; -1, 0, absent or malformed mean no limit (the
 * store has no server default). */
uint64_t auth_ldap_quota_parse(const char *value);

#endif
