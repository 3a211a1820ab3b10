/* The sharing index, Sun's lright: one B+ tree for the store (<root>/lright.tcb) saying which
 * owners gave an identifier an ACL entry, so that LIST finds other users' shared mailboxes
 * without opening every index. Key: identifier NUL owner; value "1". The owners' ACLs decide;
 * this is a hint kept after them (store-meta.c). */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

static char *lright_path(struct store *st)
{
    return store_path_join(store_root(st), "lright.tcb");
}

struct share_ctx {
    struct store *st;
    struct store_buf key;
    const char *id, *owner; /* note / forget */
    const char *const *ids; /* owners: the identifiers asked */
    size_t nids;
    char **a, **b; /* results: owners, or identifiers and owners */
    size_t n, cap;
};

static void share_push(struct share_ctx *c, const char *a, size_t alen, const char *b, size_t blen)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->a = realloc(c->a, c->cap * sizeof(*c->a));
        c->b = realloc(c->b, c->cap * sizeof(*c->b));
        if (c->a == NULL || c->b == NULL)
            abort();
    }
    c->a[c->n] = strndup(a, alen);
    c->b[c->n] = b != NULL ? strndup(b, blen) : NULL;
    if (c->a[c->n] == NULL || (b != NULL && c->b[c->n] == NULL))
        abort();
    c->n++;
}

static void share_key(struct store_buf *k, const char *id, const char *owner)
{
    k->len = 0;
    store_buf_adds(k, id);
    store_buf_addc(k, '\0');
    if (owner != NULL)
        store_buf_adds(k, owner);
}

static enum store_err note_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct share_ctx *c = vctx;

    return store_tx_put(tx, c->key.data, c->key.len, "1", 1, err);
}

enum store_err store_share_note(struct store *st, const char *id, const char *owner,
                                struct store_error *err)
{
    struct share_ctx c = {.st = st};
    char *path = lright_path(st);
    enum store_err rc;

    share_key(&c.key, id, owner);
    rc = store_tx_run(st, path, STORE_TX_CREATE, note_fn, &c, err);
    store_buf_free(&c.key);
    free(path);
    return rc;
}

/* Under the index's exclusive lock, so that a grant cannot slip between the look at the
 * owner's ACL and the removal: store_acl_set commits the ACL before it notes the owner here. */
static enum store_err forget_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct share_ctx *c = vctx;
    struct store_acl *acl;
    size_t n;
    bool left = false;
    enum store_err rc = store_acl_list(c->st, c->owner, 0, &acl, &n, err);

    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; i < n && !left; i++)
        left = strcmp(acl[i].identifier, c->id) == 0;
    store_acl_list_free(&acl, n);
    return left ? STORE_OK : store_tx_del(tx, c->key.data, c->key.len, err);
}

enum store_err store_share_forget(struct store *st, const char *id, const char *owner,
                                  struct store_error *err)
{
    struct share_ctx c = {.st = st, .id = id, .owner = owner};
    char *path = lright_path(st);
    enum store_err rc;

    share_key(&c.key, id, owner);
    rc = store_tx_run(st, path, STORE_TX_WRITE, forget_fn, &c, err);
    if (rc == STORE_ENOTFOUND) { /* no index yet: nothing to forget */
        rc = STORE_OK;
        store_ok(err);
    }
    store_buf_free(&c.key);
    free(path);
    return rc;
}

static bool owners_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                       void *vctx)
{
    struct share_ctx *c = vctx;
    const char *nul = memchr(k, '\0', kl);

    (void)v, (void)vl;
    if (nul != NULL && (size_t)(nul - (const char *)k) + 1 < kl)
        share_push(c, nul + 1, kl - (size_t)(nul - (const char *)k) - 1, NULL, 0);
    return true;
}

static enum store_err owners_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct share_ctx *c = vctx;
    enum store_err rc = STORE_OK;

    for (size_t i = 0; rc == STORE_OK && i < c->nids; i++) {
        share_key(&c->key, c->ids[i], NULL);
        rc = store_tx_scan(tx, c->key.data, c->key.len, NULL, 0, owners_add, c, err);
    }
    return rc;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

enum store_err store_share_owners(struct store *st, const char *const *ids, size_t nids,
                                  char ***owners_r, size_t *n_r, struct store_error *err)
{
    struct share_ctx c = {.st = st, .ids = ids, .nids = nids};
    char *path = lright_path(st);
    enum store_err rc = store_tx_run(st, path, STORE_TX_READ, owners_fn, &c, err);
    size_t n = 0;

    if (rc == STORE_ENOTFOUND) { /* nothing was ever shared */
        rc = STORE_OK;
        store_ok(err);
    }
    if (rc == STORE_OK && c.n > 0) { /* sorted, each owner once */
        qsort(c.a, c.n, sizeof(*c.a), str_cmp);
        for (size_t i = 0; i < c.n; i++) {
            if (n > 0 && strcmp(c.a[n - 1], c.a[i]) == 0)
                free(c.a[i]);
            else
                c.a[n++] = c.a[i];
        }
    }
    if (rc != STORE_OK) {
        store_strings_free(&c.a, c.n);
        n = 0;
    }
    *owners_r = c.a;
    *n_r = n;
    free(c.b);
    store_buf_free(&c.key);
    free(path);
    return rc;
}

static bool pairs_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                      void *vctx)
{
    struct share_ctx *c = vctx;
    const char *nul = memchr(k, '\0', kl);

    (void)v, (void)vl;
    if (nul != NULL && nul != (const char *)k && (size_t)(nul - (const char *)k) + 1 < kl)
        share_push(c, (const char *)k, (size_t)(nul - (const char *)k), nul + 1,
                   kl - (size_t)(nul - (const char *)k) - 1);
    return true;
}

static enum store_err pairs_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    return store_tx_scan(tx, "", 0, NULL, 0, pairs_add, vctx, err);
}

enum store_err store_share_list(struct store *st, char ***ids_r, char ***owners_r, size_t *n_r,
                                struct store_error *err)
{
    struct share_ctx c = {.st = st};
    char *path = lright_path(st);
    enum store_err rc = store_tx_run(st, path, STORE_TX_READ, pairs_fn, &c, err);

    if (rc == STORE_ENOTFOUND) {
        rc = STORE_OK;
        store_ok(err);
    }
    if (rc != STORE_OK) {
        store_strings_free(&c.a, c.n);
        store_strings_free(&c.b, c.n);
    }
    *ids_r = c.a;
    *owners_r = c.b;
    *n_r = rc == STORE_OK ? c.n : 0;
    free(path);
    return rc;
}

static bool str_in(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

enum store_err store_share_sync(struct store *st, const char *owner, bool repair,
                                store_share_report_fn *report, void *ctx, unsigned *changes_r,
                                struct store_error *err)
{
    struct store_acl *acl = NULL;
    char **ids = NULL, **owners = NULL, canon[STORE_USER_MAX + 1];
    size_t nacl = 0, n = 0;
    enum store_err rc;

    *changes_r = 0;
    if ((rc = store_user_canon(owner, canon, err)) != STORE_OK ||
        (rc = store_acl_list(st, canon, 0, &acl, &nacl, err)) != STORE_OK ||
        (rc = store_share_list(st, &ids, &owners, &n, err)) != STORE_OK)
        goto out;
    /* what the owner's ACLs name and the index lacks */
    for (size_t i = 0; rc == STORE_OK && i < nacl; i++) {
        const char *id = acl[i].identifier;
        bool known = false, earlier = false;
        if (id[0] == '-')
            continue;
        for (size_t j = 0; j < i && !earlier; j++)
            earlier = strcmp(acl[j].identifier, id) == 0;
        for (size_t j = 0; j < n && !known; j++)
            known = strcmp(owners[j], canon) == 0 && strcmp(ids[j], id) == 0;
        if (earlier || known)
            continue;
        ++*changes_r;
        if (report != NULL)
            report(id, true, ctx);
        if (repair)
            rc = store_share_note(st, id, canon, err);
    }
    /* what the index says of the owner that no entry names */
    for (size_t j = 0; rc == STORE_OK && j < n; j++) {
        bool named = false;
        if (strcmp(owners[j], canon) != 0)
            continue;
        for (size_t i = 0; i < nacl && !named; i++)
            named = strcmp(acl[i].identifier, ids[j]) == 0;
        if (named || str_in(ids, j, ids[j]))
            continue;
        ++*changes_r;
        if (report != NULL)
            report(ids[j], false, ctx);
        if (repair)
            rc = store_share_forget(st, ids[j], canon, err);
    }
out:
    store_acl_list_free(&acl, nacl);
    store_strings_free(&ids, n);
    store_strings_free(&owners, n);
    return rc;
}
