/* users.tcb: name -> status, quotas, allowed services, a yescrypt hash and the SCRAM secret
 * (opaque text made by libauth). Hashing happens outside the table's lock, since yescrypt is
 * deliberately slow. */
#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store-key.h"
#include "store-user.h"

#define PASSWORD_MAX 4096

static const char *const status_names[] = {"active", "inactive", "disabled",
                                           "hold",   "deleted",  "removed"};

const char *store_user_status_name(enum store_user_status status)
{
    return (unsigned)status < sizeof(status_names) / sizeof(*status_names) ? status_names[status]
                                                                           : "unknown";
}

bool store_user_status_parse(const char *s, enum store_user_status *status_r)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(*status_names); i++)
        if (strcmp(s, status_names[i]) == 0) {
            *status_r = (enum store_user_status)i;
            return true;
        }
    return false;
}

bool store_user_inet_status_valid(enum store_user_status status)
{
    return status == STORE_USER_ACTIVE || status == STORE_USER_INACTIVE ||
           status == STORE_USER_DELETED;
}

enum store_user_status store_user_effective_status(const struct store_user *u)
{
    return u->inet_status != STORE_USER_ACTIVE ? u->inet_status : u->status;
}

/* Checks the status fields named in fields (STORE_USER_SET_*). */
static enum store_err status_check(const struct store_user *u, unsigned fields,
                                   struct store_error *err)
{
    if ((fields & STORE_USER_SET_STATUS) && (unsigned)u->status > STORE_USER_STATUS_LAST)
        return store_fail(err, STORE_EINVAL, "unknown user status");
    if ((fields & STORE_USER_SET_INET_STATUS) && !store_user_inet_status_valid(u->inet_status))
        return store_fail(err, STORE_EINVAL, "inetUserStatus is one of active, inactive, deleted");
    return STORE_OK;
}

void store_user_clear(struct store_user *u)
{
    free(u->services);
    memset(u, 0, sizeof(*u));
}

void store_user_list_free(struct store_user **users, size_t n)
{
    if (*users == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        store_user_clear(&(*users)[i]);
    free(*users);
    *users = NULL;
}

/* ---- record ---- */

struct user_rec {
    struct store_user u;
    char *hash;  /* NULL: no password */
    char *scram; /* NULL: no SCRAM secret (records written before it existed have none) */
};

static void rec_put(struct store_buf *b, const struct user_rec *r)
{
    b->len = 0;
    store_buf_u8(b, STORE_RECORD_VERSION);
    store_buf_u8(b, (uint8_t)r->u.status);
    store_buf_u64(b, r->u.quota_bytes);
    store_buf_u64(b, r->u.quota_messages);
    store_buf_str(b, r->hash);
    store_buf_str(b, r->u.services);
    store_buf_u8(b, (uint8_t)r->u.inet_status); /* absent in records written before it existed */
    store_buf_str(b, r->scram);                 /* likewise */
}

static bool rec_get(const void *v, size_t len, const char *name, size_t nlen, struct user_rec *r)
{
    struct store_rd rd = {v, len, false};

    memset(r, 0, sizeof(*r));
    if (store_rd_u8(&rd) != STORE_RECORD_VERSION || nlen > STORE_USER_MAX)
        return false;
    memcpy(r->u.name, name, nlen);
    r->u.status = (enum store_user_status)store_rd_u8(&rd);
    r->u.quota_bytes = store_rd_u64(&rd);
    r->u.quota_messages = store_rd_u64(&rd);
    r->hash = store_rd_str(&rd, true);
    r->u.services = store_rd_str(&rd, false);
    r->u.inet_status = rd.left > 0 ? (enum store_user_status)store_rd_u8(&rd) : STORE_USER_ACTIVE;
    r->scram = rd.left > 0 ? store_rd_str(&rd, true) : NULL;
    r->u.has_password = r->hash != NULL;
    r->u.has_scram = r->scram != NULL;
    if (rd.bad || rd.left != 0 || r->u.services == NULL) {
        free(r->hash);
        free(r->scram);
        store_user_clear(&r->u);
        return false;
    }
    return true;
}

static void rec_clear(struct user_rec *r)
{
    store_user_hash_free(&r->hash);
    store_user_hash_free(&r->scram);
    store_user_clear(&r->u);
}

/* ---- hashing ---- */

/* A yescrypt hash of password with a fresh salt (caller frees), or NULL. */
static char *hash_password(const char *password, struct store_error *err)
{
    char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0), *out = NULL;
    void *data = NULL;
    int size = 0;
    const char *h;

    if (setting == NULL) {
        store_fail(err, STORE_EIO, "crypt_gensalt: no yescrypt support");
        return NULL;
    }
    h = crypt_ra(password, setting, &data, &size);
    if (h == NULL || h[0] == '*')
        store_fail(err, STORE_EIO, "crypt: hashing failed");
    else if ((out = strdup(h)) == NULL)
        abort();
    if (data != NULL)
        explicit_bzero(data, (size_t)size);
    free(data);
    free(setting);
    return out;
}

/* Compares password with hash without an early exit on the first differing byte. */
static bool hash_matches(const char *password, const char *hash)
{
    void *data = NULL;
    int size = 0;
    const char *h = crypt_ra(password, hash, &data, &size);
    bool ok = false;

    if (h != NULL && h[0] != '*') {
        size_t hl = strlen(h), sl = strlen(hash);
        unsigned char diff = hl != sl;

        for (size_t i = 0; i < hl && i < sl; i++)
            diff |= (unsigned char)(h[i] ^ hash[i]);
        ok = diff == 0;
    }
    if (data != NULL)
        explicit_bzero(data, (size_t)size);
    free(data);
    return ok;
}

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char *dummy_hash;

static void dummy_make(void)
{
    dummy_hash = hash_password("halyard: no such user", NULL);
}

static enum store_err password_check(const char *password, struct store_error *err)
{
    if (password == NULL || password[0] == '\0')
        return store_fail(err, STORE_EINVAL, "empty password");
    if (strlen(password) > PASSWORD_MAX)
        return store_fail(err, STORE_EINVAL, "password longer than %d bytes", PASSWORD_MAX);
    return STORE_OK;
}

/* ---- table access ---- */

enum user_op { OP_ADD, OP_GET, OP_SET, OP_PASSWD, OP_SCRAM, OP_DEL };

struct user_ctx {
    enum user_op op;
    const char *name;
    struct user_rec rec; /* ADD, SET, PASSWD: the new values; GET: the result */
    unsigned fields;
};

static enum store_err user_load(struct store_tx *tx, const char *name, struct user_rec *r,
                                struct store_error *err)
{
    struct store_buf k = {0};
    void *v;
    size_t len;
    enum store_err rc;

    memset(r, 0, sizeof(*r));
    store_buf_adds(&k, name);
    rc = store_tx_get(tx, k.data, k.len, &v, &len, err);
    store_buf_free(&k);
    if (rc == STORE_ENOTFOUND)
        return store_fail(err, STORE_ENOTFOUND, "no user %s", name);
    if (rc != STORE_OK)
        return rc;
    if (!rec_get(v, len, name, strlen(name), r))
        rc = store_fail(err, STORE_EIO, "users.tcb: malformed record for %s", name);
    explicit_bzero(v, len);
    free(v);
    return rc;
}

static enum store_err user_save(struct store_tx *tx, const struct user_rec *r,
                                struct store_error *err)
{
    struct store_buf v = {0};
    enum store_err rc;

    rec_put(&v, r);
    rc = store_tx_put(tx, r->u.name, strlen(r->u.name), v.data, v.len, err);
    explicit_bzero(v.data, v.len);
    store_buf_free(&v);
    return rc;
}

static enum store_err user_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct user_ctx *c = vctx;
    struct user_rec cur;
    enum store_err rc = user_load(tx, c->name, &cur, err);

    if (c->op == OP_ADD) {
        if (rc == STORE_OK)
            rc = store_fail(err, STORE_EEXIST, "user %s already exists", c->name);
        else if (rc == STORE_ENOTFOUND)
            rc = user_save(tx, &c->rec, err);
        rec_clear(&cur);
        return rc;
    }
    if (rc != STORE_OK)
        return rc;
    switch (c->op) {
    case OP_GET:
        c->rec = cur;
        return STORE_OK;
    case OP_SET:
        if (c->fields & STORE_USER_SET_STATUS)
            cur.u.status = c->rec.u.status;
        if (c->fields & STORE_USER_SET_INET_STATUS)
            cur.u.inet_status = c->rec.u.inet_status;
        if (c->fields & STORE_USER_SET_QUOTA_BYTES)
            cur.u.quota_bytes = c->rec.u.quota_bytes;
        if (c->fields & STORE_USER_SET_QUOTA_MESSAGES)
            cur.u.quota_messages = c->rec.u.quota_messages;
        if (c->fields & STORE_USER_SET_SERVICES) {
            free(cur.u.services);
            cur.u.services = strdup(c->rec.u.services ? c->rec.u.services : "");
            if (cur.u.services == NULL)
                abort();
        }
        rc = user_save(tx, &cur, err);
        break;
    case OP_PASSWD:
        store_user_hash_free(&cur.hash);
        cur.hash = c->rec.hash ? strdup(c->rec.hash) : NULL;
        if (c->rec.hash != NULL && cur.hash == NULL)
            abort();
        /* a SCRAM secret of the old password must not outlive it */
        store_user_hash_free(&cur.scram);
        rc = user_save(tx, &cur, err);
        break;
    case OP_SCRAM:
        store_user_hash_free(&cur.scram);
        cur.scram = c->rec.scram ? strdup(c->rec.scram) : NULL;
        if (c->rec.scram != NULL && cur.scram == NULL)
            abort();
        rc = user_save(tx, &cur, err);
        break;
    case OP_DEL:
        rc = store_tx_del(tx, c->name, strlen(c->name), err);
        break;
    case OP_ADD:
        break;
    }
    rec_clear(&cur);
    return rc;
}

static enum store_err user_run(struct store *st, struct user_ctx *c, struct store_error *err)
{
    char *path = store_path_users(st);
    enum store_tx_mode mode = c->op == OP_GET   ? STORE_TX_READ
                              : c->op == OP_ADD ? STORE_TX_CREATE
                                                : STORE_TX_WRITE;
    enum store_err rc = store_tx_run(st, path, mode, user_fn, c, err);

    if (rc == STORE_ENOTFOUND && c->op != OP_ADD)
        store_fail(err, STORE_ENOTFOUND, "no user %s", c->name);
    free(path);
    return rc;
}

enum store_err store_user_add(struct store *st, const struct store_user *u, const char *password,
                              struct store_error *err)
{
    struct user_ctx c = {.op = OP_ADD};
    enum store_err rc = store_user_canon(u->name, c.rec.u.name, err);

    if (rc == STORE_OK)
        rc = status_check(u, STORE_USER_SET_STATUS | STORE_USER_SET_INET_STATUS, err);
    if (rc == STORE_OK && password != NULL)
        rc = password_check(password, err);
    if (rc == STORE_OK && password != NULL && (c.rec.hash = hash_password(password, err)) == NULL)
        rc = STORE_EIO;
    if (rc != STORE_OK)
        return rc;
    c.name = c.rec.u.name;
    c.rec.u.status = u->status;
    c.rec.u.inet_status = u->inet_status;
    c.rec.u.quota_bytes = u->quota_bytes;
    c.rec.u.quota_messages = u->quota_messages;
    c.rec.u.services = strdup(u->services ? u->services : "");
    if (c.rec.u.services == NULL)
        abort();
    rc = user_run(st, &c, err);
    rec_clear(&c.rec);
    return rc;
}

enum store_err store_user_get(struct store *st, const char *name, struct store_user *u_r,
                              struct store_error *err)
{
    char *hash;
    enum store_err rc = store_user_get_auth(st, name, u_r, &hash, err);

    store_user_hash_free(&hash);
    return rc;
}

enum store_err store_user_set(struct store *st, const struct store_user *u, unsigned fields,
                              struct store_error *err)
{
    char canon[STORE_USER_MAX + 1];
    struct user_ctx c = {.op = OP_SET, .name = canon};
    enum store_err rc = store_user_canon(u->name, canon, err);

    if (rc == STORE_OK)
        rc = status_check(u, fields, err);
    if (rc != STORE_OK)
        return rc;
    c.rec.u = *u;
    c.fields = fields;
    rc = user_run(st, &c, err);
    return rc;
}

enum store_err store_user_passwd(struct store *st, const char *name, const char *password,
                                 struct store_error *err)
{
    char canon[STORE_USER_MAX + 1];
    struct user_ctx c = {.op = OP_PASSWD, .name = canon};
    enum store_err rc = store_user_canon(name, canon, err);

    if (rc == STORE_OK && password != NULL)
        rc = password_check(password, err);
    if (rc == STORE_OK && password != NULL && (c.rec.hash = hash_password(password, err)) == NULL)
        rc = STORE_EIO;
    if (rc == STORE_OK)
        rc = user_run(st, &c, err);
    if (c.rec.hash != NULL)
        explicit_bzero(c.rec.hash, strlen(c.rec.hash));
    free(c.rec.hash);
    return rc;
}

enum store_err store_user_set_scram(struct store *st, const char *name, const char *scram,
                                    struct store_error *err)
{
    char canon[STORE_USER_MAX + 1];
    struct user_ctx c = {.op = OP_SCRAM, .name = canon};
    enum store_err rc = store_user_canon(name, canon, err);

    if (rc == STORE_OK && scram != NULL && (scram[0] == '\0' || strlen(scram) > PASSWORD_MAX))
        rc = store_fail(err, STORE_EINVAL, "malformed SCRAM secret");
    if (rc != STORE_OK)
        return rc;
    c.rec.scram = (char *)scram; /* only read */
    return user_run(st, &c, err);
}

enum store_err store_user_del(struct store *st, const char *name, struct store_error *err)
{
    char canon[STORE_USER_MAX + 1];
    struct user_ctx c = {.op = OP_DEL, .name = canon};
    enum store_err rc = store_user_canon(name, canon, err);

    if (rc == STORE_OK)
        rc = user_run(st, &c, err);
    return rc;
}

struct list_ctx {
    struct store_user *v;
    size_t n, cap;
    bool bad;
};

static bool list_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                     void *vctx)
{
    struct list_ctx *c = vctx;
    struct user_rec r;

    if (!rec_get(v, vl, (const char *)k, kl, &r)) {
        c->bad = true;
        return false;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = realloc(c->v, c->cap * sizeof(*c->v));
        if (c->v == NULL)
            abort();
    }
    c->v[c->n++] = r.u;
    r.u.services = NULL;
    rec_clear(&r);
    return true;
}

static enum store_err list_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct list_ctx *c = vctx;
    enum store_err rc = store_tx_scan(tx, "", 0, NULL, 0, list_add, c, err);

    if (rc == STORE_OK && c->bad)
        rc = store_fail(err, STORE_EIO, "users.tcb: malformed record");
    return rc;
}

enum store_err store_user_list(struct store *st, struct store_user **users_r, size_t *n_r,
                               struct store_error *err)
{
    struct list_ctx c = {0};
    char *path = store_path_users(st);
    enum store_err rc = store_tx_run(st, path, STORE_TX_READ, list_fn, &c, err);

    free(path);
    if (rc == STORE_ENOTFOUND) { /* no table yet: no users */
        rc = STORE_OK;
        store_ok(err);
    }
    *users_r = NULL;
    *n_r = 0;
    if (rc == STORE_OK) {
        *users_r = c.v;
        *n_r = c.n;
    } else {
        store_user_list_free(&c.v, c.n);
    }
    return rc;
}

enum store_err store_user_get_secrets(struct store *st, const char *name, struct store_user *u_r,
                                      char **hash_r, char **scram_r, struct store_error *err)
{
    char canon[STORE_USER_MAX + 1];
    struct user_ctx c = {.op = OP_GET, .name = canon};
    enum store_err rc = store_user_canon(name, canon, err);

    memset(u_r, 0, sizeof(*u_r));
    *hash_r = NULL;
    if (scram_r != NULL)
        *scram_r = NULL;
    if (rc == STORE_OK)
        rc = user_run(st, &c, err);
    if (rc == STORE_OK) {
        *u_r = c.rec.u;
        memset(&c.rec.u, 0, sizeof(c.rec.u));
        *hash_r = c.rec.hash;
        c.rec.hash = NULL;
        if (scram_r != NULL) {
            *scram_r = c.rec.scram;
            c.rec.scram = NULL;
        }
    }
    rec_clear(&c.rec);
    return rc;
}

enum store_err store_user_get_auth(struct store *st, const char *name, struct store_user *u_r,
                                   char **hash_r, struct store_error *err)
{
    return store_user_get_secrets(st, name, u_r, hash_r, NULL, err);
}

void store_user_hash_free(char **hash)
{
    if (*hash == NULL)
        return;
    explicit_bzero(*hash, strlen(*hash));
    free(*hash);
    *hash = NULL;
}

bool store_user_hash_matches(const char *password, const char *hash)
{
    if (hash == NULL) {
        pthread_once(&dummy_once, dummy_make);
        if (dummy_hash != NULL)
            hash_matches(password ? password : "", dummy_hash);
        return false;
    }
    return hash_matches(password ? password : "", hash);
}

enum store_err store_user_check_password(struct store *st, const char *name, const char *password,
                                         struct store_user *u_r, struct store_error *err)
{
    char canon[STORE_USER_MAX + 1];
    struct user_ctx c = {.op = OP_GET, .name = canon};
    enum store_err rc;
    bool ok;

    if (u_r != NULL)
        memset(u_r, 0, sizeof(*u_r));
    if (password == NULL)
        password = "";
    rc = store_user_canon(name, canon, err);
    if (rc == STORE_OK)
        rc = user_run(st, &c, err);
    if (rc != STORE_OK && rc != STORE_ENOTFOUND)
        return rc;
    if (rc == STORE_ENOTFOUND || c.rec.hash == NULL) {
        /* Spend the same work as a real check so that timing does not reveal the user. */
        pthread_once(&dummy_once, dummy_make);
        if (dummy_hash != NULL)
            hash_matches(password, dummy_hash);
        rec_clear(&c.rec);
        if (rc == STORE_ENOTFOUND)
            return store_fail(err, STORE_ENOTFOUND, "no user %s", canon);
        return store_fail(err, STORE_EDENIED, "user %s has no password", canon);
    }
    ok = hash_matches(password, c.rec.hash);
    if (ok && u_r != NULL) {
        *u_r = c.rec.u;
        memset(&c.rec.u, 0, sizeof(c.rec.u));
    }
    rec_clear(&c.rec);
    if (!ok)
        return store_fail(err, STORE_EDENIED, "wrong password for %s", canon);
    return STORE_OK;
}
