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
    case AUTH_INACTIVE:
        return "account inactive";
    case AUTH_DISABLED:
        return "account disabled";
    case AUTH_HOLD:
        return "account on hold";
    }
    return "?";
}

void auth_password(struct store *st, const struct conf *conf, const char *id, const char *password,
                   struct auth_reply *reply)
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
        switch (u.status) {
        case STORE_USER_ACTIVE:
            reply->result = AUTH_OK;
            break;
        case STORE_USER_INACTIVE:
            reply->result = AUTH_INACTIVE;
            break;
        case STORE_USER_DISABLED:
            reply->result = AUTH_DISABLED;
            break;
        case STORE_USER_HOLD:
            reply->result = AUTH_HOLD;
            break;
        }
        snprintf(reply->detail, sizeof(reply->detail), "%s", auth_result_name(reply->result));
        store_user_clear(&u);
        return;
    }
    /* no such user: the same work as a real check, so timing does not tell */
    store_user_hash_matches(password, NULL);
}
