/* The LDAP user directory over libldap: a small pool of connections per process (each used by
 * one thread at a time, reopened when the server went away), one search per lookup, a simple
 * bind per password check, and a short cache of search answers. */
#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth-ldap.h"
#include "auth-sasl.h"

#define POOL_MAX 32

/* The settings the pool was made with: local.ugldap* are NOT REFRESHABLE (a restart applies
 * them) except the cache's ttl, read at every lookup. */
struct ldap_settings {
    char *uris; /* space-separated ldap:// or ldaps:// URIs, one per host */
    char *binddn, *bindcred, *basedn, *cafile;
    bool starttls;
    int timeout_s;
    size_t size;
};

struct ldap_slot {
    LDAP *ld;        /* NULL: not connected */
    bool busy;       /* a thread holds it */
    bool as_service; /* bound as local.ugldapbinddn (or anonymous), ready to search */
};

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cv = PTHREAD_COND_INITIALIZER;
static struct ldap_settings settings;
static bool settings_made;
static struct ldap_slot pool[POOL_MAX];

bool auth_ldap_enabled(const struct conf *conf)
{
    return conf_str(conf, "local.ugldaphost")[0] != '\0';
}

/* "host", "host:port", "[v6]", "[v6]:port" tokens of local.ugldaphost become URIs. */
static char *ldap_uris(const char *hosts, long port, bool ldaps)
{
    size_t cap = strlen(hosts) * 2 + 64, len = 0;
    char *out = malloc(cap), *copy = strdup(hosts), *save = NULL;

    if (out == NULL || copy == NULL) {
        free(out);
        free(copy);
        return NULL;
    }
    out[0] = '\0';
    for (char *h = strtok_r(copy, " \t,", &save); h != NULL; h = strtok_r(NULL, " \t,", &save)) {
        const char *close = strrchr(h, ']');
        bool has_port = close != NULL ? close[1] == ':' : strchr(h, ':') != NULL;
        int w = has_port ? snprintf(out + len, cap - len, "%s%s://%s", len ? " " : "",
                                    ldaps ? "ldaps" : "ldap", h)
                         : snprintf(out + len, cap - len, "%s%s://%s:%ld", len ? " " : "",
                                    ldaps ? "ldaps" : "ldap", h, port);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
    }
    free(copy);
    return out;
}

static char *dup_or_null(const char *s)
{
    return s[0] != '\0' ? strdup(s) : NULL;
}

/* Called with pool_mu held. */
static void settings_make(const struct conf *conf)
{
    if (settings_made)
        return;
    settings.uris =
        ldap_uris(conf_str(conf, "local.ugldaphost"), conf_int(conf, "local.ugldapport"),
                  conf_bool(conf, "local.ugldapusessl"));
    settings.binddn = dup_or_null(conf_str(conf, "local.ugldapbinddn"));
    settings.bindcred = dup_or_null(conf_str(conf, "local.ugldapbindcred"));
    settings.basedn = strdup(conf_str(conf, "local.ugldapbasedn"));
    settings.cafile = dup_or_null(conf_str(conf, "local.ugldapcafile"));
    settings.starttls = conf_bool(conf, "local.ugldapstarttls");
    settings.timeout_s = (int)conf_int(conf, "local.ugldaptimeout");
    settings.size = (size_t)conf_int(conf, "local.ugldappoolsize");
    if (settings.size > POOL_MAX)
        settings.size = POOL_MAX;
    settings_made = true;
}

/* Takes a free slot, preferring one already bound as the service (for a search) or one that is
 * not (for a user's bind, which changes the connection's identity). NULL when every slot stays
 * busy for the operation timeout. */
static struct ldap_slot *pool_take(const struct conf *conf, bool for_search)
{
    struct ldap_slot *got = NULL;
    struct timespec until;

    pthread_mutex_lock(&pool_mu);
    settings_make(conf);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += settings.timeout_s;
    for (;;) {
        for (size_t i = 0; i < settings.size; i++) {
            if (pool[i].busy)
                continue;
            if (got == NULL || (pool[i].ld != NULL && pool[i].as_service == for_search))
                got = &pool[i];
        }
        if (got != NULL || pthread_cond_timedwait(&pool_cv, &pool_mu, &until) != 0)
            break;
    }
    if (got != NULL)
        got->busy = true;
    pthread_mutex_unlock(&pool_mu);
    return got;
}

static void pool_give(struct ldap_slot *slot)
{
    pthread_mutex_lock(&pool_mu);
    slot->busy = false;
    pthread_cond_signal(&pool_cv);
    pthread_mutex_unlock(&pool_mu);
}

static void slot_close(struct ldap_slot *slot)
{
    if (slot->ld != NULL)
        ldap_unbind_ext_s(slot->ld, NULL, NULL);
    slot->ld = NULL;
    slot->as_service = false;
}

/* Whether rc says the connection (not the request) failed: reopen it. */
static bool rc_is_connection(int rc)
{
    return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
           rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_LOCAL_ERROR ||
           rc == LDAP_OTHER || rc == LDAP_NO_MEMORY;
}

static int slot_open(struct ldap_slot *slot, char *detail, size_t size)
{
    struct timeval tv = {.tv_sec = settings.timeout_s};
    int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, rc;

    if (settings.uris == NULL || settings.uris[0] == '\0') {
        snprintf(detail, size, "local.ugldaphost names no host");
        return -1;
    }
    rc = ldap_initialize(&slot->ld, settings.uris);
    if (rc != LDAP_SUCCESS) {
        snprintf(detail, size, "LDAP %s: %s", settings.uris, ldap_err2string(rc));
        slot->ld = NULL;
        return -1;
    }
    ldap_set_option(slot->ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(slot->ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(slot->ld, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(slot->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(slot->ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
    bool ldaps = strncmp(settings.uris, "ldaps:", 6) == 0;
    if (ldaps || settings.starttls) {
        /* the server's certificate must verify (against local.ugldapcafile, else the system's
         * CAs) and name the host */
        ldap_set_option(slot->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
        if (settings.cafile != NULL)
            ldap_set_option(slot->ld, LDAP_OPT_X_TLS_CACERTFILE, settings.cafile);
        ldap_set_option(slot->ld, LDAP_OPT_X_TLS_NEWCTX, &zero);
    }
    if (settings.starttls && !ldaps) {
        rc = ldap_start_tls_s(slot->ld, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            snprintf(detail, size, "LDAP %s: StartTLS: %s", settings.uris, ldap_err2string(rc));
            slot_close(slot);
            return -1;
        }
    }
    return 0;
}

/* A simple bind on slot (opened first when needed). Returns the LDAP result code; detail says
 * what failed when it is a connection failure. */
static int slot_bind(struct ldap_slot *slot, const char *dn, const char *password, char *detail,
                     size_t size)
{
    struct berval cred = {.bv_val = (char *)(password ? password : ""),
                          .bv_len = password ? strlen(password) : 0};
    int rc;

    if (slot->ld == NULL && slot_open(slot, detail, size) < 0)
        return LDAP_SERVER_DOWN;
    slot->as_service = false;
    rc = ldap_sasl_bind_s(slot->ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    if (rc_is_connection(rc)) {
        snprintf(detail, size, "LDAP %s: bind: %s", settings.uris, ldap_err2string(rc));
        slot_close(slot);
    }
    return rc;
}

/* Makes slot ready to search: open and bound as local.ugldapbinddn (or anonymous). */
static int slot_service(struct ldap_slot *slot, char *detail, size_t size)
{
    if (slot->ld != NULL && slot->as_service)
        return LDAP_SUCCESS;
    int rc = slot_bind(slot, settings.binddn, settings.bindcred, detail, size);
    if (rc == LDAP_SUCCESS)
        slot->as_service = true;
    else if (!rc_is_connection(rc))
        snprintf(detail, size, "LDAP %s: cannot bind as %s: %s", settings.uris,
                 settings.binddn ? settings.binddn : "anonymous", ldap_err2string(rc));
    return rc;
}

/* --- the answer cache: filter text -> entry, for local.ugldapcachettl seconds --- */

#define CACHE_SLOTS 512

struct cache_slot {
    char *filter;
    struct auth_ldap_user user;
    time_t expires; /* CLOCK_MONOTONIC seconds */
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cache_slot cache[CACHE_SLOTS];

static time_t mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static struct cache_slot *cache_slot_for(const char *filter)
{
    unsigned h = 2166136261u; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)filter; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return &cache[h % CACHE_SLOTS];
}

static bool cache_get(const char *filter, unsigned ttl, struct auth_ldap_user *u_r)
{
    bool hit = false;

    if (ttl == 0)
        return false;
    pthread_mutex_lock(&cache_mu);
    struct cache_slot *c = cache_slot_for(filter);
    if (c->filter != NULL && strcmp(c->filter, filter) == 0 && c->expires > mono_s() &&
        c->expires <= mono_s() + (time_t)ttl) /* a shorter ttl after a reload counts at once */
        hit = auth_ldap_user_copy(u_r, &c->user);
    pthread_mutex_unlock(&cache_mu);
    return hit;
}

static void cache_put(const char *filter, unsigned ttl, const struct auth_ldap_user *u)
{
    struct auth_ldap_user copy;
    char *f;

    if (ttl == 0 || !auth_ldap_user_copy(&copy, u))
        return;
    if ((f = strdup(filter)) == NULL) {
        auth_ldap_user_clear(&copy);
        return;
    }
    pthread_mutex_lock(&cache_mu);
    struct cache_slot *c = cache_slot_for(filter);
    free(c->filter);
    auth_ldap_user_clear(&c->user);
    c->filter = f;
    c->user = copy;
    c->expires = mono_s() + (time_t)ttl;
    pthread_mutex_unlock(&cache_mu);
}

void auth_ldap_reset(void)
{
    pthread_mutex_lock(&cache_mu);
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(cache[i].filter);
        cache[i].filter = NULL;
        auth_ldap_user_clear(&cache[i].user);
    }
    pthread_mutex_unlock(&cache_mu);
    pthread_mutex_lock(&pool_mu);
    for (size_t i = 0; i < POOL_MAX; i++)
        if (!pool[i].busy)
            slot_close(&pool[i]);
    free(settings.uris);
    free(settings.binddn);
    free(settings.bindcred);
    free(settings.basedn);
    free(settings.cafile);
    memset(&settings, 0, sizeof(settings));
    settings_made = false;
    pthread_mutex_unlock(&pool_mu);
}

/* --- entries --- */

void auth_ldap_user_clear(struct auth_ldap_user *u)
{
    free(u->dn);
    free(u->stamp);
    free(u->mailhost);
    free(u->language);
    if (u->scram != NULL)
        explicit_bzero(u->scram, strlen(u->scram));
    free(u->scram);
    store_user_clear(&u->u);
    memset(u, 0, sizeof(*u));
}

static char *dup_opt(const char *s, bool *ok)
{
    char *d;

    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        *ok = false;
    return d;
}

bool auth_ldap_user_copy(struct auth_ldap_user *dst, const struct auth_ldap_user *src)
{
    bool ok = true;

    *dst = *src;
    dst->dn = dup_opt(src->dn, &ok);
    dst->stamp = dup_opt(src->stamp, &ok);
    dst->mailhost = dup_opt(src->mailhost, &ok);
    dst->language = dup_opt(src->language, &ok);
    dst->scram = dup_opt(src->scram, &ok);
    dst->u.services = dup_opt(src->u.services, &ok);
    if (!ok)
        auth_ldap_user_clear(dst);
    return ok;
}

static const char *const entry_attrs[] = {
    "uid",
    "mail",
    "mailAlternateAddress",
    "mailAllowedServiceAccess",
    "inetUserStatus",
    "mailUserStatus",
    "mailHost",
    "mailQuota",
    "mailMsgQuota",
    "preferredLanguage",
    "entryCSN",
    "modifyTimestamp",
    "userPassword", /* only to find a SCRAM secret; returned only where the ACL lets us read */
    NULL,
};

/* The first userPassword value that is a SCRAM-SHA-256 secret, or NULL. */
static char *entry_scram(LDAP *ld, LDAPMessage *e)
{
    struct berval **vals = ldap_get_values_len(ld, e, "userPassword");
    struct auth_scram_secret secret;
    char *found = NULL;

    for (size_t i = 0; vals != NULL && vals[i] != NULL && found == NULL; i++)
        if (memchr(vals[i]->bv_val, '\0', vals[i]->bv_len) == NULL &&
            auth_scram_parse(vals[i]->bv_val, &secret) == 0)
            found = strdup(vals[i]->bv_val);
    explicit_bzero(&secret, sizeof(secret));
    ldap_value_free_len(vals);
    return found;
}

/* The first value of attr in e, or NULL; *vals_r is freed by the caller. */
static const char *entry_first(LDAP *ld, LDAPMessage *e, const char *attr, struct berval ***vals_r)
{
    *vals_r = ldap_get_values_len(ld, e, attr);
    if (*vals_r == NULL || (*vals_r)[0] == NULL)
        return NULL;
    return (*vals_r)[0]->bv_val; /* libldap NUL-terminates values */
}

/* Which key (index) e matches best; n when none (the server matched by another rule). */
static size_t entry_rank(LDAP *ld, LDAPMessage *e, const struct auth_ldap_key *keys, size_t n,
                         char *uid_r, size_t uid_size)
{
    for (size_t k = 0; k < n; k++) {
        struct berval **vals = ldap_get_values_len(ld, e, keys[k].attr);
        for (size_t i = 0; vals != NULL && vals[i] != NULL; i++)
            if (strcasecmp(vals[i]->bv_val, keys[k].value) == 0) {
                if (strcasecmp(keys[k].attr, "uid") == 0)
                    snprintf(uid_r, uid_size, "%s", vals[i]->bv_val);
                ldap_value_free_len(vals);
                return k;
            }
        ldap_value_free_len(vals);
    }
    return n;
}

static void status_read(LDAP *ld, LDAPMessage *e, const char *attr, enum store_user_status *s,
                        struct auth_ldap_user *u)
{
    struct berval **vals;
    const char *v = entry_first(ld, e, attr, &vals);

    *s = STORE_USER_ACTIVE; /* absent: active */
    if (v != NULL && !auth_ldap_status_parse(v, s)) {
        *s = STORE_USER_DISABLED; /* a state Sun does not define: refuse */
        if (u->bad_status[0] == '\0')
            snprintf(u->bad_status, sizeof(u->bad_status), "%s \"%.64s\" is not a known status",
                     attr, v);
    }
    ldap_value_free_len(vals);
}

static char *attr_dup(LDAP *ld, LDAPMessage *e, const char *attr, const char *absent)
{
    struct berval **vals;
    const char *v = entry_first(ld, e, attr, &vals);
    char *d = v != NULL ? strdup(v) : absent != NULL ? strdup(absent) : NULL;

    ldap_value_free_len(vals);
    return d;
}

/* Fills u from e; uid is the uid value that matched a key ("" when none did). */
static enum auth_ldap_rc entry_read(LDAP *ld, LDAPMessage *e, const char *uid,
                                    struct auth_ldap_user *u, char *detail, size_t size)
{
    struct store_error err;
    struct berval **vals;
    char *dn = ldap_get_dn(ld, e);
    const char *name = uid;

    memset(u, 0, sizeof(*u));
    if (dn == NULL)
        return AUTH_LDAP_TEMPFAIL;
    u->dn = strdup(dn);
    ldap_memfree(dn);
    /* the store's name: the uid that matched, else the entry's first uid, else its mail */
    char first[AUTH_LDAP_VALUE_MAX + 1] = "";
    if (name[0] == '\0') {
        const char *v = entry_first(ld, e, "uid", &vals);
        if (v == NULL) {
            ldap_value_free_len(vals);
            v = entry_first(ld, e, "mail", &vals);
        }
        if (v != NULL)
            snprintf(first, sizeof(first), "%s", v);
        ldap_value_free_len(vals);
        name = first;
    }
    if (store_user_canon(name, u->u.name, &err) != STORE_OK) {
        snprintf(detail, size, "LDAP entry %s: \"%s\" cannot be a user name here", u->dn, name);
        auth_ldap_user_clear(u);
        return AUTH_LDAP_UNUSABLE;
    }
    status_read(ld, e, "inetUserStatus", &u->u.inet_status, u);
    status_read(ld, e, "mailUserStatus", &u->u.status, u);
    char *q = attr_dup(ld, e, "mailQuota", NULL), *mq = attr_dup(ld, e, "mailMsgQuota", NULL);
    u->u.quota_bytes = auth_ldap_quota_parse(q);
    u->u.quota_messages = auth_ldap_quota_parse(mq);
    free(q);
    free(mq);
    u->u.services = attr_dup(ld, e, "mailAllowedServiceAccess", "");
    u->stamp = attr_dup(ld, e, "entryCSN", NULL);
    if (u->stamp == NULL)
        u->stamp = attr_dup(ld, e, "modifyTimestamp", NULL);
    u->mailhost = attr_dup(ld, e, "mailHost", "");
    u->language = attr_dup(ld, e, "preferredLanguage", "");
    u->scram = entry_scram(ld, e);
    if (u->dn == NULL || u->u.services == NULL || u->mailhost == NULL || u->language == NULL) {
        auth_ldap_user_clear(u);
        snprintf(detail, size, "out of memory");
        return AUTH_LDAP_TEMPFAIL;
    }
    return AUTH_LDAP_OK;
}

/* Picks the entry matching the earliest key; two entries equally good are refused. */
static enum auth_ldap_rc search_pick(LDAP *ld, LDAPMessage *res, const struct auth_ldap_key *keys,
                                     size_t n, struct auth_ldap_user *u_r, char *detail,
                                     size_t size)
{
    LDAPMessage *best = NULL;
    size_t best_rank = n + 1;
    bool tie = false;
    char uid[AUTH_LDAP_VALUE_MAX + 1] = "", best_uid[AUTH_LDAP_VALUE_MAX + 1] = "";

    for (LDAPMessage *e = ldap_first_entry(ld, res); e != NULL; e = ldap_next_entry(ld, e)) {
        uid[0] = '\0';
        size_t r = entry_rank(ld, e, keys, n, uid, sizeof(uid));
        if (r < best_rank) {
            best = e;
            best_rank = r;
            tie = false;
            memcpy(best_uid, uid, sizeof(uid));
        } else if (r == best_rank) {
            tie = true;
        }
    }
    if (best == NULL) {
        snprintf(detail, size, "no such user");
        return AUTH_LDAP_NOTFOUND;
    }
    if (tie) {
        if (best_rank < n)
            snprintf(detail, size, "several LDAP entries have %s=%s", keys[best_rank].attr,
                     keys[best_rank].value);
        else
            snprintf(detail, size, "several LDAP entries match");
        return AUTH_LDAP_NOTFOUND;
    }
    return entry_read(ld, best, best_uid, u_r, detail, size);
}

/* One search for filter (cached); keys rank the entries found (n = 0: one entry must match). */
static enum auth_ldap_rc ldap_find(const struct conf *conf, const char *filter,
                                   const struct auth_ldap_key *keys, size_t n,
                                   struct auth_ldap_user *u_r, char *detail, size_t size)
{
    unsigned ttl = (unsigned)conf_int(conf, "local.ugldapcachettl");
    enum auth_ldap_rc result = AUTH_LDAP_TEMPFAIL;
    struct ldap_slot *slot;

    if (cache_get(filter, ttl, u_r))
        return AUTH_LDAP_OK;
    if ((slot = pool_take(conf, true)) == NULL) {
        snprintf(detail, size, "every LDAP connection stayed busy for local.ugldaptimeout");
        return AUTH_LDAP_TEMPFAIL;
    }
    /* a connection the server dropped fails once; a second try reconnects */
    for (int attempt = 0; attempt < 2; attempt++) {
        bool was_open = slot->ld != NULL;
        int rc = slot_service(slot, detail, size);
        if (rc != LDAP_SUCCESS) {
            if (rc_is_connection(rc) && was_open)
                continue;
            break;
        }
        struct timeval tv = {.tv_sec = settings.timeout_s};
        LDAPMessage *res = NULL;
        rc = ldap_search_ext_s(slot->ld, settings.basedn, LDAP_SCOPE_SUBTREE, filter,
                               (char **)entry_attrs, 0, NULL, NULL, &tv, 16, &res);
        if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED) {
            result = search_pick(slot->ld, res, keys, n, u_r, detail, size);
            ldap_msgfree(res);
            break;
        }
        ldap_msgfree(res);
        if (rc == LDAP_NO_SUCH_OBJECT) { /* the base DN itself is missing */
            snprintf(detail, size, "LDAP search under \"%s\": %s", settings.basedn,
                     ldap_err2string(rc));
            break;
        }
        snprintf(detail, size, "LDAP %s: search %s: %s", settings.uris, filter,
                 ldap_err2string(rc));
        if (!rc_is_connection(rc))
            break;
        bool retry = was_open;
        slot_close(slot);
        if (!retry)
            break;
    }
    pool_give(slot);
    if (result == AUTH_LDAP_OK)
        cache_put(filter, ttl, u_r);
    return result;
}

enum auth_ldap_rc auth_ldap_find(const struct conf *conf, const struct auth_ldap_key *keys,
                                 size_t n, struct auth_ldap_user *u_r, char *detail, size_t size)
{
    char filter[AUTH_LDAP_FILTER_MAX];

    memset(u_r, 0, sizeof(*u_r));
    if (n == 0 || n > AUTH_LDAP_KEYS_MAX || auth_ldap_filter(keys, n, filter, sizeof(filter)) < 0) {
        snprintf(detail, size, "no such user (the name cannot be searched for)");
        return AUTH_LDAP_NOTFOUND;
    }
    return ldap_find(conf, filter, keys, n, u_r, detail, size);
}

enum auth_ldap_rc auth_ldap_find_filter(const struct conf *conf, const char *filter,
                                        struct auth_ldap_user *u_r, char *detail, size_t size)
{
    memset(u_r, 0, sizeof(*u_r));
    return ldap_find(conf, filter, NULL, 0, u_r, detail, size);
}

enum auth_ldap_rc auth_ldap_bind(const struct conf *conf, const char *dn, const char *password,
                                 char *detail, size_t size)
{
    enum auth_ldap_rc result = AUTH_LDAP_TEMPFAIL;
    struct ldap_slot *slot;

    if (password[0] == '\0') {
        snprintf(detail, size, "empty password for %s", dn);
        return AUTH_LDAP_BADPASS;
    }
    if ((slot = pool_take(conf, false)) == NULL) {
        snprintf(detail, size, "every LDAP connection stayed busy for local.ugldaptimeout");
        return AUTH_LDAP_TEMPFAIL;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        bool was_open = slot->ld != NULL;
        int rc = slot_bind(slot, dn, password, detail, size);
        if (rc == LDAP_SUCCESS) {
            result = AUTH_LDAP_OK;
            break;
        }
        if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH ||
            rc == LDAP_UNWILLING_TO_PERFORM || rc == LDAP_INVALID_DN_SYNTAX) {
            snprintf(detail, size, "wrong password for %s (%s)", dn, ldap_err2string(rc));
            result = AUTH_LDAP_BADPASS;
            break;
        }
        if (!rc_is_connection(rc)) {
            snprintf(detail, size, "LDAP %s: bind as %s: %s", settings.uris, dn,
                     ldap_err2string(rc));
            break;
        }
        if (!was_open)
            break;
    }
    pool_give(slot);
    return result;
}
