/* Password login against the embedded user table or the LDAP directory, with the access rules
 * and the account status Sun defines: the first status that is not active decides. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth-ldap.h"
#include "auth.h"

const char *auth_result_name(enum auth_result result)
{
    switch (result) {
    case AUTH_OK:
        return "ok";
    case AUTH_FAILED:
        return "failed";
    case AUTH_TEMPFAIL:
        return "temporary failure";
    case AUTH_DENIED:
        return "access denied";
    case AUTH_BADRULES:
        return "malformed access rules";
    case AUTH_INACTIVE:
        return "account inactive";
    case AUTH_DISABLED:
        return "account disabled";
    case AUTH_DELETED:
        return "account deleted";
    case AUTH_REMOVED:
        return "account removed";
    case AUTH_HOLD:
        return "account on hold";
    case AUTH_ELSEWHERE:
        return "account on another mail host";
    case AUTH_NOAUTHZ:
        return "not allowed to act as another user";
    case AUTH_NOSECRET:
        return "no secret for this mechanism";
    }
    return "?";
}

enum auth_result auth_access(const char *rules, struct auth_peer *peer, char *detail, size_t size)
{
    struct access_rules *r;
    struct access_error err;
    struct access_result res;
    char addr[64];

    access_peer_addr_text(&peer->client, addr, sizeof(addr));
    if (access_rules_parse(rules, strlen(rules), ACCESS_SYNTAX_RULES, true, &r, &err) < 0) {
        snprintf(detail, size, "mailAllowedServiceAccess does not parse (%s at byte %zu)", err.why,
                 err.offset);
        return AUTH_BADRULES;
    }
    const struct access_rules *sets[] = {r};
    access_check(sets, 1, peer->service, &peer->client,
                 peer->resolve != NULL ? peer->resolve : access_resolve_dns, &res);
    if (res.verdict == ACCESS_ALLOW) {
        access_rules_free(&r);
        return AUTH_OK;
    }
    if (res.rule_text != NULL)
        snprintf(detail, size, "mailAllowedServiceAccess rule %u \"%.*s\" denies %s from %s%s%s",
                 res.rule_index, (int)res.rule_len, res.rule_text, peer->service, addr,
                 peer->client.name_state == ACCESS_NAME_OK ? " " : "",
                 peer->client.name_state == ACCESS_NAME_OK ? peer->client.name : "");
    else
        snprintf(detail, size, "mailAllowedServiceAccess denies %s from %s: %s", peer->service,
                 addr, res.reason);
    access_rules_free(&r);
    return AUTH_DENIED;
}

static enum auth_result auth_status_result(enum store_user_status status)
{
    switch (status) {
    case STORE_USER_ACTIVE:
        return AUTH_OK;
    case STORE_USER_INACTIVE:
        return AUTH_INACTIVE;
    case STORE_USER_DISABLED:
        return AUTH_DISABLED;
    case STORE_USER_DELETED:
        return AUTH_DELETED;
    case STORE_USER_REMOVED:
        return AUTH_REMOVED;
    case STORE_USER_HOLD:
        return AUTH_HOLD;
    }
    return AUTH_DISABLED; /* a number from a newer table: refuse */
}

bool auth_mailhost_is_local(const struct conf *conf, const char *mailhost)
{
    char host[256];
    const char *me = conf_str(conf, "local.hostname");
    size_t ml = strlen(mailhost), hl;

    if (ml == 0)
        return true;
    if (me[0] == '\0') {
        if (gethostname(host, sizeof(host)) < 0)
            return false;
        host[sizeof(host) - 1] = '\0';
        me = host;
    }
    hl = strlen(me);
    if (mailhost[ml - 1] == '.')
        ml--;
    if (hl > 0 && me[hl - 1] == '.')
        hl--;
    return ml == hl && strncasecmp(mailhost, me, ml) == 0;
}

/* The steps after the user is found, the same for both directories: the access rules (before
 * the password), the password, then the status. */
struct auth_account {
    struct store_user *u;
    const char *cache_user, *cache_stamp; /* login-cache key: name and hash, or DN and entryCSN */
    const char *hash;                     /* embedded: the stored hash */
    const char *scram;                    /* the SCRAM secret text, or NULL */
    const char *dn;                       /* LDAP: where to bind */
    const char *mailhost;                 /* LDAP: mailHost */
    const char *bad_status;               /* LDAP: why a status value reads as disabled */
};

static bool auth_verify(const struct conf *conf, const struct auth_account *a, const char *password,
                        struct auth_reply *reply)
{
    if (a->dn == NULL)
        return store_user_hash_matches(password, a->hash);
    switch (auth_ldap_bind(conf, a->dn, password, reply->detail, sizeof(reply->detail))) {
    case AUTH_LDAP_OK:
        return true;
    case AUTH_LDAP_BADPASS:
        return false;
    default:
        reply->result = AUTH_TEMPFAIL;
        return false;
    }
}

static void auth_decide(const struct conf *conf, const struct auth_account *a, const char *password,
                        struct auth_peer *peer, struct auth_reply *reply)
{
    struct store_user *u = a->u;
    unsigned ttl = (unsigned)conf_int(conf, "service.authcachettl");

    snprintf(reply->user, sizeof(reply->user), "%s", u->name);
    /* the rules decide before the password does: a client they refuse learns nothing
     * about the password */
    if (peer != NULL) {
        enum auth_result r = auth_access(u->services, peer, reply->detail, sizeof(reply->detail));
        if (r != AUTH_OK) {
            reply->result = r;
            return;
        }
    }
    /* A hit skips crypt(3) or the bind; a failure forgets the user's entries, so a guessed
     * password never meets a cached one. A missing hash (no password) still costs a hashing.
     * No password at all: the proxy administrator vouches for the login (auth_proxy). */
    bool ok = password == NULL ||
              (reply->cached = auth_cache_check(a->cache_user, password, a->cache_stamp, ttl));
    if (!ok) {
        ok = auth_verify(conf, a, password, reply);
        if (reply->result == AUTH_TEMPFAIL)
            return;
        if (ok)
            auth_cache_store(a->cache_user, password, a->cache_stamp, ttl);
        else
            auth_cache_forget(a->cache_user);
    }
    if (!ok) {
        reply->result = AUTH_FAILED;
        reply->user[0] = '\0';
        if (a->dn == NULL) /* LDAP: auth_ldap_bind wrote why */
            snprintf(reply->detail, sizeof(reply->detail), "wrong password for %s", u->name);
        return;
    }
    reply->limits = (struct store_limits){.bytes = u->quota_bytes, .messages = u->quota_messages};
    enum store_user_status status = store_user_effective_status(u);
    reply->result = auth_status_result(status);
    if (reply->result != AUTH_OK) {
        if (a->bad_status != NULL && a->bad_status[0] != '\0')
            snprintf(reply->detail, sizeof(reply->detail), "%s", a->bad_status);
        else
            snprintf(reply->detail, sizeof(reply->detail), "%s is %s",
                     u->inet_status != STORE_USER_ACTIVE ? "inetUserStatus" : "mailUserStatus",
                     store_user_status_name(status));
        return;
    }
    if (a->mailhost != NULL && !auth_mailhost_is_local(conf, a->mailhost)) {
        reply->result = AUTH_ELSEWHERE;
        snprintf(reply->detail, sizeof(reply->detail), "mailHost is %s, not this host",
                 a->mailhost);
        return;
    }
    snprintf(reply->detail, sizeof(reply->detail), "ok");
}

/* LDAP: one search for every name the ID may stand for (uid first, in the order of
 * auth_id_candidates, then mail and mailAlternateAddress for a qualified ID). */
/* Copies the account's SCRAM secret for auth_account. */
static void auth_scram_copy(const struct auth_account *a, char **scram_r)
{
    if (scram_r != NULL && a->scram != NULL && (*scram_r = strdup(a->scram)) == NULL)
        abort();
}

static void auth_password_ldap(const struct conf *conf, char names[2][AUTH_ID_MAX + 1], size_t n,
                               const char *password, struct auth_peer *peer,
                               struct auth_reply *reply, char **scram_r)
{
    struct auth_ldap_key keys[4];
    struct auth_ldap_user lu;
    size_t nk = 0;

    for (size_t i = 0; i < n; i++)
        keys[nk++] = (struct auth_ldap_key){"uid", names[i]};
    if (strchr(names[0], '@') != NULL) {
        keys[nk++] = (struct auth_ldap_key){"mail", names[0]};
        keys[nk++] = (struct auth_ldap_key){"mailAlternateAddress", names[0]};
    }
    switch (auth_ldap_find(conf, keys, nk, &lu, reply->detail, sizeof(reply->detail))) {
    case AUTH_LDAP_OK:
        break;
    case AUTH_LDAP_TEMPFAIL:
        reply->result = AUTH_TEMPFAIL;
        return;
    default:
        return; /* AUTH_FAILED, with the reason in detail */
    }
    struct auth_account a = {.u = &lu.u,
                             .cache_user = lu.dn,
                             .cache_stamp = lu.stamp,
                             .dn = lu.dn,
                             .mailhost = lu.mailhost,
                             .bad_status = lu.bad_status,
                             .scram = lu.scram};
    snprintf(reply->mailhost, sizeof(reply->mailhost), "%s", lu.mailhost);
    snprintf(reply->language, sizeof(reply->language), "%s", lu.language);
    auth_decide(conf, &a, password, peer, reply);
    auth_scram_copy(&a, scram_r);
    auth_ldap_user_clear(&lu);
}

/* Finds id in the directory and decides; password NULL checks none (auth_proxy,
 * auth_account). scram_r (may be NULL) gets the account's SCRAM secret. */
static void auth_find(struct store *st, const struct conf *conf, const char *id,
                      const char *password, struct auth_peer *peer, struct auth_reply *reply,
                      char **scram_r)
{
    char names[2][AUTH_ID_MAX + 1];
    size_t n = auth_id_candidates(id, conf_str(conf, "service.loginseparator"),
                                  conf_str(conf, "service.defaultdomain"), names);
    struct store_user u;
    struct store_error err;
    char *hash, *scram;

    if (scram_r != NULL)
        *scram_r = NULL;
    memset(reply, 0, sizeof(*reply));
    reply->result = AUTH_FAILED;
    snprintf(reply->detail, sizeof(reply->detail), "no such user");
    if (n > 0 && auth_ldap_enabled(conf)) {
        auth_password_ldap(conf, names, n, password, peer, reply, scram_r);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char canon[STORE_USER_MAX + 1];
        if (store_user_canon(names[i], canon, &err) != STORE_OK)
            continue;
        enum store_err rc = store_user_get_secrets(st, canon, &u, &hash, &scram, &err);
        if (rc == STORE_ENOTFOUND)
            continue;
        if (rc != STORE_OK) {
            reply->result = AUTH_TEMPFAIL;
            snprintf(reply->detail, sizeof(reply->detail), "%s", err.msg);
            return;
        }
        struct auth_account a = {
            .u = &u, .cache_user = canon, .cache_stamp = hash, .hash = hash, .scram = scram};
        auth_decide(conf, &a, password, peer, reply);
        auth_scram_copy(&a, scram_r);
        store_user_hash_free(&hash);
        store_user_hash_free(&scram);
        store_user_clear(&u);
        return;
    }
    /* no such user: the same work as a real check, so timing does not tell */
    if (!auth_ldap_enabled(conf) && password != NULL)
        store_user_hash_matches(password, NULL);
}

void auth_password(struct store *st, const struct conf *conf, const char *id, const char *password,
                   struct auth_peer *peer, struct auth_reply *reply)
{
    auth_find(st, conf, id, password ? password : "", peer, reply, NULL);
}

void auth_account(struct store *st, const struct conf *conf, const char *id, struct auth_peer *peer,
                  struct auth_reply *reply, char **scram_r)
{
    auth_find(st, conf, id, NULL, peer, reply, scram_r);
}

bool auth_id_is(const struct conf *conf, const char *id, const char *user)
{
    char names[2][AUTH_ID_MAX + 1], canon[STORE_USER_MAX + 1];
    struct store_error err;
    size_t n = auth_id_candidates(id, conf_str(conf, "service.loginseparator"),
                                  conf_str(conf, "service.defaultdomain"), names);

    for (size_t i = 0; i < n; i++)
        if (store_user_canon(names[i], canon, &err) == STORE_OK && strcmp(canon, user) == 0)
            return true;
    return false;
}

void auth_proxy(struct store *st, const struct conf *conf, const char *authz, const char *authc,
                const char *password, struct auth_peer *peer, struct auth_reply *reply)
{
    auth_password(st, conf, authc, password, peer, reply);
    if (reply->result == AUTH_OK)
        auth_proxy_as(st, conf, authz, reply);
}

void auth_proxy_as(struct store *st, const struct conf *conf, const char *authz,
                   struct auth_reply *reply)
{
    const char *admin = conf_str(conf, "local.service.proxy.admin");
    char who[STORE_USER_MAX + 1];

    snprintf(who, sizeof(who), "%s", reply->user);
    if (admin[0] == '\0' || !auth_id_is(conf, admin, who)) {
        memset(reply, 0, sizeof(*reply));
        reply->result = AUTH_NOAUTHZ;
        snprintf(reply->detail, sizeof(reply->detail),
                 "%s may not act as another user (not local.service.proxy.admin)", who);
        return;
    }
    /* the target's own status and mailHost still decide; its access rules are the front
     * end's to apply (it knows the real client) */
    auth_find(st, conf, authz, NULL, NULL, reply, NULL);
    if (reply->result == AUTH_OK)
        snprintf(reply->detail, sizeof(reply->detail), "ok, by proxy administrator %.64s", who);
}
