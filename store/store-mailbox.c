/* Mailbox operations: lookup, LIST, CREATE with superiors, DELETE, RENAME (INBOX's special
 * rule included) and the \Recent claim. Names go in as given and are checked here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-journal.h"

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

enum store_err store_mbx_create_one(struct store_tx *tx, const struct store_userctx *u,
                                    const char *name, struct store_changeset *cs, bool *created,
                                    struct store_error *err)
{
    struct store_mailbox mb;
    uint32_t id;
    enum store_err rc = store_mbx_lookup(tx, name, &id, err);

    *created = false;
    if (rc != STORE_ENOTFOUND)
        return rc;
    rc = store_mbx_new(tx, u, name, &mb, err);
    if (rc == STORE_OK) {
        *created = true;
        store_changeset_add(cs, STORE_CHANGE_MAILBOX_CREATE, u->user, &mb, NULL, NULL, 0);
    }
    store_mailbox_clear(&mb);
    return rc;
}

/* RFC 3501 6.3.3: the superior hierarchy names needed for name. */
enum store_err store_mbx_create_superiors(struct store_tx *tx, const struct store_userctx *u,
                                          const char *name, struct store_changeset *cs,
                                          struct store_error *err)
{
    char *p = strdup(name);
    enum store_err rc = STORE_OK;
    bool created;

    if (p == NULL)
        abort();
    for (char *s = strchr(p, '/'); s != NULL && rc == STORE_OK; s = strchr(s + 1, '/')) {
        *s = '\0';
        rc = store_mbx_create_one(tx, u, p, cs, &created, err);
        *s = '/';
    }
    free(p);
    return rc;
}

static enum store_err create_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct create_ctx *c = vctx;
    enum store_err rc = store_mbx_create_superiors(tx, c->u, c->canon, &c->cs, err);
    bool created;

    if (rc == STORE_OK)
        rc = store_mbx_create_one(tx, c->u, c->canon, &c->cs, &created, err);
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

/* ---- names in the index ---- */

void store_names_free(struct store_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->name[i]);
    free(l->name);
    free(l->id);
    memset(l, 0, sizeof(*l));
}

struct names_scan {
    struct store_names *out;
    const char *pattern;
};

static bool names_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                      void *vctx)
{
    struct names_scan *s = vctx;
    struct store_names *l = s->out;
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

enum store_err store_names_scan(struct store_tx *tx, const char *prefix, const char *pattern,
                                struct store_names *out, struct store_error *err)
{
    struct store_buf k = {0};
    struct names_scan s = {out, pattern};
    enum store_err rc;

    store_key_name(&k, STORE_KEY_NAME, prefix);
    rc = store_tx_scan(tx, k.data, k.len, NULL, 0, names_add, &s, err);
    store_buf_free(&k);
    return rc;
}

char *store_name_inferiors(const char *name)
{
    char *p;

    if (asprintf(&p, "%s/", name) < 0)
        abort();
    return p;
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
    struct store_names l = {0};
    enum store_err rc = store_names_scan(tx, "", c->pattern, &l, err);

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
    store_names_free(&l);
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
        rc = store_user_tx(&u, STORE_TX_READ, list_fn, &c, err);
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
    struct store_buf *journal; /* journal path: the change is encoded here */
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
        if (c->journal != NULL)
            store_journal_encode_recent(c->journal, c->id, mb.uidvalidity, mb.recent_uid);
        rc = store_mbx_save(tx, &mb, err);
    }
    store_mailbox_clear(&mb);
    return rc;
}

enum store_err store_mailbox_take_recent(struct store *st, const char *user, uint32_t id,
                                         uint32_t *first_recent_r, struct store_error *err)
{
    struct store_userctx u;
    struct recent_ctx c = {id, 0, NULL};
    enum store_err rc = store_userctx_init(&u, st, user, err);

    /* Most SELECTs find nothing new and write nothing; the others one journal record, not
     * synced: \Recent is advisory (RFC 3501 2.3.2), and a crash that loses the record only
     * shows the messages as recent once more. */
    if (rc == STORE_OK)
        rc = store_journal_change(&u, recent_fn, &c, &c.journal, false, err);
    *first_recent_r = c.first;
    store_userctx_free(&u);
    return rc;
}
