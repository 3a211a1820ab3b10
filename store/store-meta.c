/* Subscriptions, ACLs and annotations: small records beside the mailboxes in the same index,
 * so that DELETE removes a mailbox's ACLs and annotations in its own transaction. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store-tx.h"

struct meta_ctx {
    struct store_buf key;
    const char *value; /* NULL or "": delete */
    uint32_t mailbox_id;
    /* results of reads */
    char **strs;
    char **vals;
    uint32_t *ids; /* store_acl_list of every mailbox: each entry's mailbox id */
    size_t n, cap;
};

static void meta_push(struct meta_ctx *c, const unsigned char *k, size_t kl, const unsigned char *v,
                      size_t vl)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->strs = realloc(c->strs, c->cap * sizeof(*c->strs));
        c->vals = realloc(c->vals, c->cap * sizeof(*c->vals));
        if (c->strs == NULL || c->vals == NULL)
            abort();
    }
    c->strs[c->n] = strndup((const char *)k, kl);
    c->vals[c->n] = strndup((const char *)v, vl);
    if (c->strs[c->n] == NULL || c->vals[c->n] == NULL)
        abort();
    c->n++;
}

static enum store_err set_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct meta_ctx *c = vctx;
    struct store_mailbox mb;
    enum store_err rc;

    if (c->mailbox_id != 0) { /* per-mailbox data needs its mailbox */
        rc = store_mbx_load(tx, c->mailbox_id, &mb, err);
        if (rc != STORE_OK)
            return rc;
        store_mailbox_clear(&mb);
    }
    if (c->value == NULL || c->value[0] == '\0')
        return store_tx_del(tx, c->key.data, c->key.len, err);
    return store_tx_put(tx, c->key.data, c->key.len, c->value, strlen(c->value), err);
}

static enum store_err meta_set(struct store *st, const char *user, struct meta_ctx *c,
                               struct store_error *err)
{
    struct store_userctx u;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc == STORE_OK)
        rc = store_home_ensure(st, u.user, err);
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_WRITE, set_fn, c, err);
    store_userctx_free(&u);
    store_buf_free(&c->key);
    return rc;
}

static bool scan_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                     void *vctx)
{
    struct meta_ctx *c = vctx;
    size_t skip = c->mailbox_id ? 5 : 1; /* type byte, and the id when there is one */

    meta_push(c, k + skip, kl - skip, v, vl);
    return true;
}

static enum store_err scan_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct meta_ctx *c = vctx;

    return store_tx_scan(tx, c->key.data, c->key.len, NULL, 0, scan_add, c, err);
}

static enum store_err meta_scan(struct store *st, const char *user, struct meta_ctx *c,
                                struct store_error *err)
{
    struct store_userctx u;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_READ, scan_fn, c, err);
    if (rc == STORE_ENOTFOUND) { /* no home: nothing stored */
        rc = STORE_OK;
        store_ok(err);
    }
    store_userctx_free(&u);
    store_buf_free(&c->key);
    return rc;
}

static void meta_free(struct meta_ctx *c)
{
    store_strings_free(&c->strs, c->n);
    store_strings_free(&c->vals, c->n);
}

/* ---- subscriptions ---- */

enum store_err store_subscribe(struct store *st, const char *user, const char *name, bool on,
                               struct store_error *err)
{
    struct meta_ctx c = {.value = on ? "1" : NULL, .mailbox_id = 0};
    char *canon;
    enum store_err rc = store_name_canon(name, &canon, err);

    if (rc != STORE_OK)
        return rc;
    store_key_name(&c.key, STORE_KEY_SUBSCRIPTION, canon);
    free(canon);
    return meta_set(st, user, &c, err);
}

enum store_err store_subscriptions_list(struct store *st, const char *user, char ***names_r,
                                        size_t *n_r, struct store_error *err)
{
    struct meta_ctx c = {.value = NULL, .mailbox_id = 0};
    enum store_err rc;

    store_key_name(&c.key, STORE_KEY_SUBSCRIPTION, "");
    rc = meta_scan(st, user, &c, err);
    *names_r = NULL;
    *n_r = 0;
    if (rc == STORE_OK) {
        *names_r = c.strs;
        *n_r = c.n;
        c.strs = NULL;
    }
    meta_free(&c);
    return rc;
}

/* ---- ACLs ---- */

enum store_err store_acl_set(struct store *st, const char *user, uint32_t mailbox_id,
                             const char *identifier, const char *rights, struct store_error *err)
{
    struct meta_ctx c = {.value = rights, .mailbox_id = mailbox_id};
    char owner[STORE_USER_MAX + 1];
    enum store_err rc;

    if (identifier == NULL || *identifier == '\0' || mailbox_id == 0)
        return store_fail(err, STORE_EINVAL, "ACL needs a mailbox and an identifier");
    if (store_user_canon(user, owner, err) != STORE_OK)
        return STORE_EINVAL;
    char *id = strdup(identifier);
    if (id == NULL)
        abort();
    for (char *p = id; *p != '\0'; p++) /* identifiers are case-insensitive */
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    store_key_id_str(&c.key, STORE_KEY_ACL, mailbox_id, id);
    rc = meta_set(st, owner, &c, err);
    /* the sharing index follows the ACL: a hint for LIST, so its failure fails nothing */
    if (rc == STORE_OK && id[0] != '-') {
        struct store_error ignored;
        if (rights != NULL && rights[0] != '\0')
            store_share_note(st, id, owner, &ignored);
        else
            store_share_forget(st, id, owner, &ignored);
    }
    free(id);
    return rc;
}

static bool acl_all_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                        void *vctx)
{
    struct meta_ctx *c = vctx;

    if (kl < 6) /* not a key store_key_id_str wrote for an identifier */
        return true;
    meta_push(c, k + 5, kl - 5, v, vl);
    c->ids = realloc(c->ids, c->cap * sizeof(*c->ids));
    if (c->ids == NULL)
        abort();
    c->ids[c->n - 1] = store_be32_get(k + 1);
    return true;
}

static enum store_err acl_all_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct meta_ctx *c = vctx;

    return store_tx_scan(tx, c->key.data, 1, NULL, 0, acl_all_add, c, err);
}

enum store_err store_acl_list(struct store *st, const char *user, uint32_t mailbox_id,
                              struct store_acl **acl_r, size_t *n_r, struct store_error *err)
{
    struct meta_ctx c = {.value = NULL, .mailbox_id = mailbox_id};
    enum store_err rc;

    *acl_r = NULL;
    *n_r = 0;
    store_key_id_str(&c.key, STORE_KEY_ACL, mailbox_id, "");
    if (mailbox_id != 0) {
        rc = meta_scan(st, user, &c, err);
    } else { /* every mailbox: the type byte alone is the prefix */
        struct store_userctx u;
        rc = store_userctx_init(&u, st, user, err);
        if (rc == STORE_OK)
            rc = store_user_tx(&u, STORE_TX_READ, acl_all_fn, &c, err);
        if (rc == STORE_ENOTFOUND) { /* no home: nothing stored */
            rc = STORE_OK;
            store_ok(err);
        }
        store_userctx_free(&u);
        store_buf_free(&c.key);
    }
    if (rc == STORE_OK && c.n > 0) {
        *acl_r = calloc(c.n, sizeof(**acl_r));
        if (*acl_r == NULL)
            abort();
        for (size_t i = 0; i < c.n; i++) {
            (*acl_r)[i].mailbox_id = c.ids != NULL ? c.ids[i] : mailbox_id;
            (*acl_r)[i].identifier = c.strs[i];
            (*acl_r)[i].rights = c.vals[i];
        }
        *n_r = c.n;
        free(c.strs);
        free(c.vals);
        c.strs = c.vals = NULL;
    }
    free(c.ids);
    meta_free(&c);
    return rc;
}

void store_acl_list_free(struct store_acl **acl, size_t n)
{
    if (*acl == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free((*acl)[i].identifier);
        free((*acl)[i].rights);
    }
    free(*acl);
    *acl = NULL;
}

/* ---- annotations ---- */

enum store_err store_annotation_set(struct store *st, const char *user, uint32_t mailbox_id,
                                    const char *entry, const char *value, struct store_error *err)
{
    struct meta_ctx c = {.value = value, .mailbox_id = mailbox_id};

    if (entry == NULL || entry[0] != '/')
        return store_fail(err, STORE_EINVAL, "annotation entry must start with '/'");
    store_key_id_str(&c.key, STORE_KEY_ANNOTATION, mailbox_id, entry);
    return meta_set(st, user, &c, err);
}

static enum store_err get_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct meta_ctx *c = vctx;
    void *v;
    size_t len;
    enum store_err rc = store_tx_get(tx, c->key.data, c->key.len, &v, &len, err);

    if (rc == STORE_OK) {
        meta_push(c, (const unsigned char *)"", 0, v, len);
        free(v);
    }
    return rc;
}

enum store_err store_annotation_get(struct store *st, const char *user, uint32_t mailbox_id,
                                    const char *entry, char **value_r, struct store_error *err)
{
    struct meta_ctx c = {.value = NULL, .mailbox_id = mailbox_id};
    struct store_userctx u;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    *value_r = NULL;
    store_key_id_str(&c.key, STORE_KEY_ANNOTATION, mailbox_id, entry ? entry : "");
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_READ, get_fn, &c, err);
    if (rc == STORE_ENOTFOUND)
        store_fail(err, STORE_ENOTFOUND, "no annotation %s", entry ? entry : "");
    if (rc == STORE_OK) {
        *value_r = c.vals[0];
        c.vals[0] = NULL;
    }
    meta_free(&c);
    store_buf_free(&c.key);
    store_userctx_free(&u);
    return rc;
}

struct annotation_scan {
    struct store_annotation *v;
    size_t n, cap;
};

static bool annotation_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                           void *vctx)
{
    struct annotation_scan *c = vctx;

    if (kl < 5) /* not a key store_key_id_str wrote */
        return true;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = realloc(c->v, c->cap * sizeof(*c->v));
        if (c->v == NULL)
            abort();
    }
    struct store_annotation *a = &c->v[c->n++];
    a->mailbox_id = (uint32_t)k[1] << 24 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 8 | k[4];
    a->entry = strndup((const char *)k + 5, kl - 5);
    a->value = strndup((const char *)v, vl);
    if (a->entry == NULL || a->value == NULL)
        abort();
    return true;
}

struct annotation_list_ctx {
    struct store_buf prefix;
    struct annotation_scan scan;
};

static enum store_err annotation_list_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct annotation_list_ctx *c = vctx;

    return store_tx_scan(tx, c->prefix.data, c->prefix.len, NULL, 0, annotation_add, &c->scan, err);
}

enum store_err store_annotation_list(struct store *st, const char *user, uint32_t mailbox_id,
                                     bool every_mailbox, struct store_annotation **list_r,
                                     size_t *n_r, struct store_error *err)
{
    struct annotation_list_ctx c = {0};
    struct store_userctx u;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    *list_r = NULL;
    *n_r = 0;
    store_key_id_str(&c.prefix, STORE_KEY_ANNOTATION, mailbox_id, "");
    if (every_mailbox)
        c.prefix.len = 1; /* the type byte alone: every id */
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_READ, annotation_list_fn, &c, err);
    if (rc == STORE_ENOTFOUND) { /* no home: nothing stored */
        rc = STORE_OK;
        store_ok(err);
    }
    if (rc == STORE_OK) {
        *list_r = c.scan.v;
        *n_r = c.scan.n;
    } else {
        store_annotation_list_free(&c.scan.v, c.scan.n);
    }
    store_buf_free(&c.prefix);
    store_userctx_free(&u);
    return rc;
}

void store_annotation_list_free(struct store_annotation **list, size_t n)
{
    if (*list == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free((*list)[i].entry);
        free((*list)[i].value);
    }
    free(*list);
    *list = NULL;
}

bool store_specialuse_canon(const char *value, char *canon_r)
{
    static const char *const names[] = {"\\All",  "\\Archive", "\\Drafts", "\\Flagged",
                                        "\\Junk", "\\Sent",    "\\Trash"};
    unsigned seen = 0;
    const char *p = value;

    if (value == NULL || *value == '\0')
        return false;
    while (*p != '\0') {
        size_t len = strcspn(p, " ");
        size_t i;
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strlen(names[i]) == len && strncasecmp(p, names[i], len) == 0)
                break;
        if (i == sizeof(names) / sizeof(names[0]) || (seen & (1u << i)))
            return false;
        seen |= 1u << i;
        if (canon_r != NULL) { /* the name as RFC 6154 spells it, then the separator or NUL */
            memcpy(canon_r, names[i], len);
            canon_r += len;
            *canon_r++ = p[len];
        }
        p += len;
        if (*p == ' ' && *++p == '\0') /* a trailing space */
            return false;
    }
    return true;
}
