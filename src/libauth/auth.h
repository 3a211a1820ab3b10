/* The one authentication module of imapd, popd and mshttpd: login IDs as the seed qualifies
 * them, password checks against the user directory, and account status. Blocking: callers run
 * auth_password() on a pool thread (conn_submit), never on the event loop. */
#ifndef HALYARD_AUTH_H
#define HALYARD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "access.h"
#include "conf.h"
#include "store-user.h"
#include "store.h"

/* Longest login ID accepted (RFC 5321's path limit; user names themselves are shorter). */
#define AUTH_ID_MAX 256

enum auth_result {
    AUTH_OK,
    AUTH_FAILED,   /* unknown user or wrong password: the client is not told which */
    AUTH_TEMPFAIL, /* the directory or store could not answer: try again later */
    AUTH_DENIED,   /* mailAllowedServiceAccess refuses this service from this client */
    AUTH_BADRULES, /* the user's mailAllowedServiceAccess does not parse: refused (fail closed) */
    /* account status (the first of inetUserStatus, mailUserStatus that is not active) */
    AUTH_INACTIVE,  /* inactive: a temporary refusal */
    AUTH_DISABLED,  /* disabled: a permanent refusal */
    AUTH_DELETED,   /* deleted: a permanent refusal */
    AUTH_REMOVED,   /* removed: a permanent refusal */
    AUTH_HOLD,      /* hold: mail is accepted, login is not */
    AUTH_ELSEWHERE, /* LDAP: the account's mailHost is another host (reply.mailhost) */
    AUTH_NOAUTHZ,   /* authenticated, but not allowed to act as the authorisation identity */
    AUTH_NOSECRET,  /* the account has no secret for this mechanism (no SCRAM keys stored) */
};

struct auth_reply {
    enum auth_result result;
    char user[STORE_USER_MAX + 1]; /* AUTH_OK and status/access refusals: the canonical user */
    struct store_limits limits;    /* AUTH_OK: quota */
    bool cached;                   /* the password was found in the login cache */
    char mailhost[256];            /* LDAP: mailHost ("" when absent or embedded) */
    char language[64];             /* LDAP: preferredLanguage ("" when absent or embedded) */
    char detail[STORE_ERRMSG_MAX]; /* for the journal, never for the client */
};

/* Where a login comes from, for mailAllowedServiceAccess. */
struct auth_peer {
    const char *service;        /* "imap", "imaps", "pop", "pops", "http", "https" */
    struct access_peer client;  /* its name is looked up here when a rule needs it */
    access_resolve_fn *resolve; /* NULL: access_resolve_dns */
};

/* The directory names a login ID may stand for, in the order to try (pure; unit-tested):
 * the login separator (service.loginseparator) stands for '@' in IDs without one; an
 * unqualified ID gets service.defaultdomain; an ID in the default domain (or any domain when
 * none is set) may also name an embedded user by its local part. Returns how many names were
 * written to names_r (at most 2), 0 for an ID that cannot be a user name. */
size_t auth_id_candidates(const char *id, const char *separator, const char *defdomain,
                          char names_r[2][AUTH_ID_MAX + 1]);

/* Checks id/password (blocking) against the embedded user table, or the LDAP directory when
 * local.ugldaphost is set (auth-ldap.h). Fills reply. With peer, the user's
 * mailAllowedServiceAccess is checked for any existing user, whatever the password: a denial
 * (AUTH_DENIED, or AUTH_BADRULES) says nothing about the password. The account status (and,
 * with LDAP, a mailHost that is not this host) is told only after a right password. peer NULL:
 * no access check (callers that did it themselves). A password verified within
 * service.authcachettl seconds skips the hashing or the bind (auth-cache.c); an unreachable
 * directory is AUTH_TEMPFAIL, never AUTH_FAILED. */
void auth_password(struct store *st, const struct conf *conf, const char *id, const char *password,
                   struct auth_peer *peer, struct auth_reply *reply);

/* Proxy authorisation (SASL PLAIN's authorisation identity, RFC 4616): authc logs in with its
 * password (as auth_password); only the administrator named by local.service.proxy.admin may
 * then act as authz, whose status and mailHost decide as for a login of its own (AUTH_NOAUTHZ
 * for anybody else). Fills reply for authz. */
void auth_proxy(struct store *st, const struct conf *conf, const char *authz, const char *authc,
                const char *password, struct auth_peer *peer, struct auth_reply *reply);

/* The account id names, decided as after a right password - access rules (with peer), status,
 * mailHost - for a login proven another way (a SCRAM proof, a certificate). scram_r (may be
 * NULL) gets a copy of its SCRAM secret text (NULL when it has none; free with
 * store_user_hash_free). Blocking. */
void auth_account(struct store *st, const struct conf *conf, const char *id, struct auth_peer *peer,
                  struct auth_reply *reply, char **scram_r);

/* Proxy authorisation after another proof: reply holds an AUTH_OK login of the authentication
 * identity; when that is local.service.proxy.admin it becomes authz's (as auth_proxy),
 * otherwise AUTH_NOAUTHZ. */
void auth_proxy_as(struct store *st, const struct conf *conf, const char *authz,
                   struct auth_reply *reply);

/* Whether login ID id names the directory name user (canonical): separator and default domain
 * apply as for a login. */
bool auth_id_is(const struct conf *conf, const char *id, const char *user);

/* Checks a user's mailAllowedServiceAccess text (blocking when a rule needs the client's name).
 * Returns AUTH_OK, AUTH_DENIED or AUTH_BADRULES, with a journal line in detail (size bytes)
 * naming the rule. */
enum auth_result auth_access(const char *rules, struct auth_peer *peer, char *detail, size_t size);

/* Decodes strict base64 (RFC 4648: padded, no blanks) into out. Returns the decoded length, or
 * -1 for malformed input or when out_size is too small. */
long auth_base64_decode(const char *in, size_t len, unsigned char *out, size_t out_size);

/* The login cache (process-wide, thread-safe): HMAC-SHA-256 digests, under a random key made
 * at first use, of user, password and the stored hash - never the password. A digest counts
 * for ttl seconds (0: no cache); a changed password changes the stored hash and so misses.
 * For LDAP users `user` is the entry's DN and `hash` its entryCSN (or modifyTimestamp), which
 * changes with the password; hash NULL: nothing is cached.
 * auth_cache_forget drops every entry of user (after a failed check). */
bool auth_cache_check(const char *user, const char *password, const char *hash, unsigned ttl);
void auth_cache_store(const char *user, const char *password, const char *hash, unsigned ttl);
void auth_cache_forget(const char *user);

/* Whether mailhost ("" : yes) names this host: local.hostname, else the machine's host name
 * (case-insensitive, a trailing dot ignored). */
bool auth_mailhost_is_local(const struct conf *conf, const char *mailhost);

/* A short fixed text for the journal: "ok", "failed", ... */
const char *auth_result_name(enum auth_result result);

#endif
