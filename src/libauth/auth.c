/* Password login against the embedded user table (the LDAP source joins here in its issue),
 * with the account status Sun defines: the first status that is not active decides. */
#include <stdio.h>
#include <string.h>

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

void auth_password(struct store *st, const struct conf *conf, const char *id, const char *password,
                   struct auth_peer *peer, struct auth_reply *reply)
{
    char names[2][AUTH_ID_MAX + 1];
    size_t n = auth_id_candidates(id, conf_str(conf, "service.loginseparator"),
                                  conf_str(conf, "service.defaultdomain"), names);
    unsigned ttl = (unsigned)conf_int(conf, "service.authcachettl");
    struct store_user u;
    struct store_error err;
    char *hash;

    memset(reply, 0, sizeof(*reply));
    reply->result = AUTH_FAILED;
    snprintf(reply->detail, sizeof(reply->detail), "no such user");
    for (size_t i = 0; i < n; i++) {
        char canon[STORE_USER_MAX + 1];
        if (store_user_canon(names[i], canon, &err) != STORE_OK)
            continue;
        enum store_err rc = store_user_get_auth(st, canon, &u, &hash, &err);
        if (rc == STORE_ENOTFOUND)
            continue;
        if (rc != STORE_OK) {
            reply->result = AUTH_TEMPFAIL;
            snprintf(reply->detail, sizeof(reply->detail), "%s", err.msg);
            return;
        }
        /* the rules decide before the password does: a client they refuse learns nothing
         * about the password */
        if (peer != NULL) {
            enum auth_result a =
                auth_access(u.services, peer, reply->detail, sizeof(reply->detail));
            if (a != AUTH_OK) {
                reply->result = a;
                snprintf(reply->user, sizeof(reply->user), "%s", u.name);
                store_user_hash_free(&hash);
                store_user_clear(&u);
                return;
            }
        }
        /* A hit skips crypt(3); a failure forgets the user's entries, so a guessed password
         * never meets a cached one. A missing hash (no password) still costs a hashing. */
        bool ok = reply->cached = auth_cache_check(canon, password, hash, ttl);
        if (!ok) {
            ok = store_user_hash_matches(password, hash);
            if (ok)
                auth_cache_store(canon, password, hash, ttl);
            else
                auth_cache_forget(canon);
        }
        store_user_hash_free(&hash);
        if (!ok) {
            snprintf(reply->detail, sizeof(reply->detail), "wrong password for %s", canon);
            store_user_clear(&u);
            return;
        }
        snprintf(reply->user, sizeof(reply->user), "%s", u.name);
        reply->limits = (struct store_limits){.bytes = u.quota_bytes, .messages = u.quota_messages};
        enum store_user_status status = store_user_effective_status(&u);
        reply->result = auth_status_result(status);
        if (reply->result == AUTH_OK)
            snprintf(reply->detail, sizeof(reply->detail), "ok");
        else
            snprintf(reply->detail, sizeof(reply->detail), "%s is %s",
                     u.inet_status != STORE_USER_ACTIVE ? "inetUserStatus" : "mailUserStatus",
                     store_user_status_name(status));
        store_user_clear(&u);
        return;
    }
    /* no such user: the same work as a real check, so timing does not tell */
    store_user_hash_matches(password, NULL);
}
