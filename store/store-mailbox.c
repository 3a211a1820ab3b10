/* Mailbox operations: lookup, LIST, CREATE with superiors, DELETE, RENAME (INBOX's special
 * rule included) and the \Recent claim. Names go in as given and are checked here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-tx.h"

struct get_ctx {
    const char *canon;
    uint32_t id;
    struct store_mailbox *mb;
};

static enum store_err get_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct get_ctx *c = vctx;
    enum store_err rc = STORE_OK;

    if (c->canon != NULL)
        rc = store_mbx_lookup(tx, c->canon, &c->id, err);
    if (rc == STORE_OK)
        rc = store_mbx_load(tx, c->id, c->mb, err);
    return rc;
}

static enum store_err mailbox_get(struct store *st, const char *user, const char *name, uint32_t id,
                                  struct store_mailbox *mb_r, struct store_error *err)
{
    struct store_userctx u;
    struct get_ctx c = {NULL, id, mb_r};
    char *canon = NULL;
    enum store_err rc;

    memset(mb_r, 0, sizeof(*mb_r));
    rc = store_userctx_init(&u, st, user, err);
    if (rc == STORE_OK && name != NULL)
        rc = store_name_canon(name, &canon, err);
    c.canon = canon;
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_READ, get_fn, &c, err);
    free(canon);
    store_userctx_free(&u);
    return rc;
}

enum store_err store_mailbox_get(struct store *st, const char *user, const char *name,
                                 struct store_mailbox *mb_r, struct store_error *err)
{
    return mailbox_get(st, user, name, 0, mb_r, err);
}

enum store_err store_mailbox_get_id(struct store *st, const char *user, uint32_t id,
                                    struct store_mailbox *mb_r, struct store_error *err)
{
    return mailbox_get(st, user, NULL, id, mb_r, err);
}

/* ---- CREATE ---- */

struct create_ctx {
    const struct store_userctx *u;
    const char *canon;
    struct store_changeset cs;
};

/* Creates name unless it exists; *created says which. */
static enum store_err create_one(struct store_tx *tx, struct create_ctx *c, const char *name,
                                 bool *created, struct store_error *err)
{
    struct store_mailbox mb;
    uint32_t id;
    enum store_err rc = store_mbx_lookup(tx, name, &id, err);

    *created = false;
    if (rc != STORE_ENOTFOUND)
        return rc;
    rc = store_mbx_new(tx, c->u, name, &mb, err);
    if (rc == STORE_OK) {
        *created = true;
        store_changeset_add(&c->cs, STORE_CHANGE_MAILBOX_CREATE, c->u->user, &mb, NULL, NULL, 0);
    }
    store_mailbox_clear(&mb);
    return rc;
}

/* RFC 3501 6.3.3: create the superior hierarchy names needed for name. */
static enum store_err create_superiors(struct store_tx *tx, struct create_ctx *c, const char *name,
                                       struct store_error *err)
{
    char *p = strdup(name);
    enum store_err rc = STORE_OK;
    bool created;

    if (p == NULL)
        abort();
    for (char *s = strchr(p, '/'); s != NULL && rc == STORE_OK; s = strchr(s + 1, '/')) {
        *s = '\0';
        rc = create_one(tx, c, p, &created, err);
        *s = '/';
    }
    free(p);
    return rc;
}

static enum store_err create_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct create_ctx *c = vctx;
    enum store_err rc = create_superiors(tx, c, c->canon, err);
    bool created;

    if (rc == STORE_OK)
        rc = create_one(tx, c, c->canon, &created, err);
    if (rc == STORE_OK && !created)
        rc = store_fail(err, STORE_EEXIST, "mailbox %s already exists", c->canon);
    return rc;
}

enum store_err store_mailbox_create(struct store *st, const char *user, const char *name,
                                    struct store_error *err)
{
    struct store_userctx u;
    struct create_ctx c = {&u, NULL, {0}};
    char *canon = NULL;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc == STORE_OK)
        rc = store_name_canon(name, &canon, err);
    if (rc == STORE_OK)
        rc = store_home_ensure(st, u.user, err);
    c.canon = canon;
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_WRITE, create_fn, &c, err);
    if (rc == STORE_OK)
        store_changeset_emit(st, &c.cs);
    store_changeset_free(&c.cs);
    free(canon);
    store_userctx_free(&u);
    return rc;
}

/* ---- inferiors ---- */

struct names {
    char **name;
    uint32_t *id;
    size_t n, cap;
};

static void names_free(struct names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->name[i]);
    free(l->name);
    free(l->id);
    memset(l, 0, sizeof(*l));
}

struct names_scan {
    struct names *out;
    const char *pattern;
};

static bool names_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                      void *vctx)
{
    struct names_scan *s = vctx;
    struct names *l = s->out;
    char *name = strndup((const char *)k + 1, kl - 1);

    if (name == NULL)
        abort();
    if (vl != 4 || (s->pattern != NULL && !store_name_match(s->pattern, name))) {
        free(name);
        return true;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->name = realloc(l->name, l->cap * sizeof(*l->name));
        l->id = realloc(l->id, l->cap * sizeof(*l->id));
        if (l->name == NULL || l->id == NULL)
            abort();
    }
    l->name[l->n] = name;
    l->id[l->n] = store_be32_get(v);
    l->n++;
    return true;
}

/* Mailboxes whose names start with prefix (all when prefix is ""), matching pattern if set. */
static enum store_err names_scan(struct store_tx *tx, const char *prefix, const char *pattern,
                                 struct names *out, struct store_error *err)
{
    struct store_buf k = {0};
    struct names_scan s = {out, pattern};
    enum store_err rc;

    store_key_name(&k, STORE_KEY_NAME, prefix);
    rc = store_tx_scan(tx, k.data, k.len, NULL, 0, names_add, &s, err);
    store_buf_free(&k);
    return rc;
}

static char *inferior_prefix(const char *name)
{
    char *p;

    if (asprintf(&p, "%s/", name) < 0)
        abort();
    return p;
}

/* ---- DELETE ---- */

struct delete_ctx {
    const struct store_userctx *u;
    const char *canon;
    uint32_t id;
    struct store_changeset cs;
};

static enum store_err delete_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    static const enum store_key_type per_mailbox[] = {
        STORE_KEY_MESSAGE,  STORE_KEY_MIME, STORE_KEY_MODSEQ,
        STORE_KEY_EXPUNGED, STORE_KEY_ACL,  STORE_KEY_ANNOTATION,
    };
    struct delete_ctx *c = vctx;
    struct names kids = {0};
    struct store_mailbox mb;
    struct store_usage usage;
    struct store_buf k = {0};
    unsigned char pk[STORE_KEY_FIXED_MAX];
    char *prefix = inferior_prefix(c->canon);
    enum store_err rc = store_mbx_lookup(tx, c->canon, &c->id, err);

    if (rc == STORE_OK)
        rc = names_scan(tx, prefix, NULL, &kids, err);
    free(prefix);
    if (rc == STORE_OK && kids.n > 0)
        rc = store_fail(err, STORE_ECHILDREN, "mailbox %s has inferior mailboxes", c->canon);
    names_free(&kids);
    if (rc != STORE_OK)
        return rc;
    rc = store_mbx_load(tx, c->id, &mb, err);
    if (rc != STORE_OK)
        return rc;
    for (size_t i = 0; rc == STORE_OK && i < sizeof(per_mailbox) / sizeof(*per_mailbox); i++)
        rc = store_tx_del_prefix(tx, pk, store_key_msg(pk, per_mailbox[i], c->id, 0), err);
    if (rc == STORE_OK)
        rc = store_tx_del(tx, pk, store_key_mailbox(pk, c->id), err);
    if (rc == STORE_OK) {
        store_key_name(&k, STORE_KEY_NAME, c->canon);
        rc = store_tx_del(tx, k.data, k.len, err);
    }
    if (rc == STORE_OK)
        rc = store_usage_load(tx, &usage, err);
    if (rc == STORE_OK) {
        usage.bytes -= usage.bytes >= mb.bytes ? mb.bytes : usage.bytes;
        usage.messages -= usage.messages >= mb.messages ? mb.messages : usage.messages;
        rc = store_usage_save(tx, &usage, err);
    }
    if (rc == STORE_OK)
        store_changeset_add(&c->cs, STORE_CHANGE_MAILBOX_DELETE, c->u->user, &mb, NULL, NULL, 0);
    store_buf_free(&k);
    store_mailbox_clear(&mb);
    return rc;
}

enum store_err store_mailbox_delete(struct store *st, const char *user, const char *name,
                                    struct store_error *err)
{
    struct store_userctx u;
    struct delete_ctx c = {&u, NULL, 0, {0}};
    char *canon = NULL, *dir;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc == STORE_OK)
        rc = store_name_canon(name, &canon, err);
    if (rc == STORE_OK && strcmp(canon, "INBOX") == 0)
        rc = store_fail(err, STORE_EINVAL, "INBOX cannot be deleted");
    c.canon = canon;
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_WRITE, delete_fn, &c, err);
    if (rc == STORE_OK) {
        /* Bodies go only after the commit: a crash in between leaves orphan files, never a
         * record without its file. A failure here is left for reconstruct to sweep. */
        dir = store_path_mailbox_dir(u.home, c.id);
        store_remove_tree(dir, NULL);
        free(dir);
        store_changeset_emit(st, &c.cs);
    }
    store_changeset_free(&c.cs);
    free(canon);
    store_userctx_free(&u);
    return rc;
}

/* ---- RENAME ---- */

struct rename_ctx {
    const struct store_userctx *u;
    const char *from, *to;
    struct create_ctx create; /* for superiors of `to` and the new INBOX */
    struct store_mailbox *renamed;
    size_t nrenamed;
};

static enum store_err rename_one(struct store_tx *tx, struct rename_ctx *c, const char *old,
                                 const char *new, uint32_t id, struct store_error *err)
{
    struct store_mailbox mb;
    struct store_buf k = {0};
    unsigned char idbuf[4];
    enum store_err rc = store_mbx_load(tx, id, &mb, err);

    if (rc != STORE_OK)
        return rc;
    store_key_name(&k, STORE_KEY_NAME, old);
    rc = store_tx_del(tx, k.data, k.len, err);
    if (rc == STORE_OK) {
        store_key_name(&k, STORE_KEY_NAME, new);
        store_be32_put(idbuf, id);
        rc = store_tx_put(tx, k.data, k.len, idbuf, 4, err);
    }
    free(mb.name);
    mb.name = strdup(new);
    if (mb.name == NULL)
        abort();
    if (rc == STORE_OK)
        rc = store_mbx_save(tx, &mb, err);
    if (rc == STORE_OK) {
        store_changeset_add(&c->create.cs, STORE_CHANGE_MAILBOX_RENAME, c->u->user, &mb, old, NULL,
                            0);
        c->renamed = realloc(c->renamed, (c->nrenamed + 1) * sizeof(*c->renamed));
        if (c->renamed == NULL)
            abort();
        c->renamed[c->nrenamed++] = mb;
    } else {
        store_mailbox_clear(&mb);
    }
    store_buf_free(&k);
    return rc;
}

static enum store_err rename_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct rename_ctx *c = vctx;
    bool inbox = strcmp(c->from, "INBOX") == 0;
    struct names kids = {0};
    uint32_t id, other;
    char *prefix = inferior_prefix(c->from), *new;
    size_t flen = strlen(c->from);
    enum store_err rc = store_mbx_lookup(tx, c->from, &id, err);
    bool created;

    if (rc == STORE_OK && store_mbx_lookup(tx, c->to, &other, NULL) == STORE_OK)
        rc = store_fail(err, STORE_EEXIST, "mailbox %s already exists", c->to);
    /* INBOX keeps its inferiors when renamed (RFC 3501 6.3.5); others take them along. */
    if (rc == STORE_OK && !inbox)
        rc = names_scan(tx, prefix, NULL, &kids, err);
    free(prefix);
    for (size_t i = 0; rc == STORE_OK && i < kids.n; i++) {
        if (asprintf(&new, "%s%s", c->to, kids.name[i] + flen) < 0)
            abort();
        if (store_mbx_lookup(tx, new, &other, NULL) == STORE_OK)
            rc = store_fail(err, STORE_EEXIST, "mailbox %s already exists", new);
        else
            rc = rename_one(tx, c, kids.name[i], new, kids.id[i], err);
        free(new);
    }
    names_free(&kids);
    if (rc == STORE_OK)
        rc = rename_one(tx, c, c->from, c->to, id, err);
    if (rc == STORE_OK && inbox)
        rc = create_one(tx, &c->create, "INBOX", &created, err);
    if (rc == STORE_OK)
        rc = create_superiors(tx, &c->create, c->to, err);
    return rc;
}

enum store_err store_mailbox_rename(struct store *st, const char *user, const char *from,
                                    const char *to, struct store_error *err)
{
    struct store_userctx u;
    struct rename_ctx c = {&u, NULL, NULL, {&u, NULL, {0}}, NULL, 0};
    char *cfrom = NULL, *cto = NULL, *inside = NULL;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc == STORE_OK)
        rc = store_name_canon(from, &cfrom, err);
    if (rc == STORE_OK)
        rc = store_name_canon(to, &cto, err);
    if (rc == STORE_OK && strcmp(cfrom, "INBOX") != 0) {
        inside = inferior_prefix(cfrom);
        if (strncmp(cto, inside, strlen(inside)) == 0)
            rc = store_fail(err, STORE_EINVAL, "cannot rename %s to its own inferior %s", cfrom,
                            cto);
    }
    c.from = cfrom;
    c.to = cto;
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_WRITE, rename_fn, &c, err);
    if (rc == STORE_OK) {
        /* The index is the truth; the sidecars only serve a rebuild without it, so a failure
         * to refresh one is not worth failing a committed RENAME. */
        for (size_t i = 0; i < c.nrenamed; i++)
            store_sidecar_write(u.home, &c.renamed[i], NULL);
        store_changeset_emit(st, &c.create.cs);
    }
    store_mailbox_list_free(&c.renamed, c.nrenamed);
    store_changeset_free(&c.create.cs);
    free(inside);
    free(cfrom);
    free(cto);
    store_userctx_free(&u);
    return rc;
}

/* ---- LIST ---- */

struct list_ctx {
    const char *pattern;
    struct store_mailbox *mbs;
    size_t n;
};

static enum store_err list_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct list_ctx *c = vctx;
    struct names l = {0};
    enum store_err rc = names_scan(tx, "", c->pattern, &l, err);

    if (rc == STORE_OK && l.n > 0) {
        c->mbs = calloc(l.n, sizeof(*c->mbs));
        if (c->mbs == NULL)
            abort();
    }
    for (size_t i = 0; rc == STORE_OK && i < l.n; i++) {
        rc = store_mbx_load(tx, l.id[i], &c->mbs[c->n], err);
        if (rc == STORE_OK)
            c->n++;
    }
    names_free(&l);
    return rc;
}

enum store_err store_mailbox_list(struct store *st, const char *user, const char *pattern,
                                  struct store_mailbox **mbs_r, size_t *n_r,
                                  struct store_error *err)
{
    struct store_userctx u;
    struct list_ctx c = {pattern, NULL, 0};
    enum store_err rc = store_userctx_init(&u, st, user, err);

    *mbs_r = NULL;
    *n_r = 0;
    if (rc == STORE_OK)
        rc = store_tx_run(st, u.index, STORE_TX_READ, list_fn, &c, err);
    if (rc == STORE_ENOTFOUND) { /* no home: no mailboxes */
        rc = STORE_OK;
        store_ok(err);
    }
    if (rc == STORE_OK) {
        *mbs_r = c.mbs;
        *n_r = c.n;
    } else {
        store_mailbox_list_free(&c.mbs, c.n);
    }
    store_userctx_free(&u);
    return rc;
}

/* ---- \Recent ---- */

struct recent_ctx {
    uint32_t id, first;
};

static enum store_err recent_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct recent_ctx *c = vctx;
    struct store_mailbox mb;
    enum store_err rc = store_mbx_load(tx, c->id, &mb, err);

    if (rc != STORE_OK)
        return rc;
    c->first = mb.recent_uid + 1;
    if (mb.recent_uid + 1 < mb.uidnext) {
        mb.recent_uid = mb.uidnext - 1;
        rc = store_mbx_save(tx, &mb, err);
    }
    store_mailbox_clear(&mb);
    return rc;
}

enum store_err store_mailbox_take_recent(struct store *st, const char *user, uint32_t id,
                                         uint32_t *first_recent_r, struct store_error *err)
{
    struct store_userctx u;
    struct recent_ctx c = {id, 0};
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_WRITE, recent_fn, &c, err);
    *first_recent_r = c.first;
    store_userctx_free(&u);
    return rc;
}
