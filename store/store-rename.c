/* DELETE and RENAME of mailboxes: the index changes in one transaction, the file system
 * follows after the commit (directory removal, sidecar names). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-tx.h"

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
    struct store_names kids = {0};
    struct store_mailbox mb;
    struct store_usage usage;
    struct store_buf k = {0};
    unsigned char pk[STORE_KEY_FIXED_MAX];
    char *prefix = store_name_inferiors(c->canon);
    enum store_err rc = store_mbx_lookup(tx, c->canon, &c->id, err);

    if (rc == STORE_OK)
        rc = store_names_scan(tx, prefix, NULL, &kids, err);
    free(prefix);
    if (rc == STORE_OK && kids.n > 0)
        rc = store_fail(err, STORE_ECHILDREN, "mailbox %s has inferior mailboxes", c->canon);
    store_names_free(&kids);
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
    struct store_changeset cs;
    struct store_mailbox *renamed; /* after the rename, for their sidecars */
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
        store_changeset_add(&c->cs, STORE_CHANGE_MAILBOX_RENAME, c->u->user, &mb, old, NULL, 0);
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
    struct store_names kids = {0};
    uint32_t id, other;
    char *prefix = store_name_inferiors(c->from), *new;
    size_t flen = strlen(c->from);
    enum store_err rc = store_mbx_lookup(tx, c->from, &id, err);
    bool created;

    if (rc == STORE_OK && store_mbx_lookup(tx, c->to, &other, NULL) == STORE_OK)
        rc = store_fail(err, STORE_EEXIST, "mailbox %s already exists", c->to);
    /* INBOX keeps its inferiors when renamed (RFC 3501 6.3.5); others take them along. */
    if (rc == STORE_OK && !inbox)
        rc = store_names_scan(tx, prefix, NULL, &kids, err);
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
    store_names_free(&kids);
    if (rc == STORE_OK)
        rc = rename_one(tx, c, c->from, c->to, id, err);
    if (rc == STORE_OK && inbox)
        rc = store_mbx_create_one(tx, c->u, "INBOX", &c->cs, &created, err);
    if (rc == STORE_OK)
        rc = store_mbx_create_superiors(tx, c->u, c->to, &c->cs, err);
    return rc;
}

enum store_err store_mailbox_rename(struct store *st, const char *user, const char *from,
                                    const char *to, struct store_error *err)
{
    struct store_userctx u;
    struct rename_ctx c = {.u = &u};
    char *cfrom = NULL, *cto = NULL, *inside = NULL;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    if (rc == STORE_OK)
        rc = store_name_canon(from, &cfrom, err);
    if (rc == STORE_OK)
        rc = store_name_canon(to, &cto, err);
    if (rc == STORE_OK && strcmp(cfrom, "INBOX") != 0) {
        inside = store_name_inferiors(cfrom);
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
        store_changeset_emit(st, &c.cs);
    }
    store_mailbox_list_free(&c.renamed, c.nrenamed);
    store_changeset_free(&c.cs);
    free(inside);
    free(cfrom);
    free(cto);
    store_userctx_free(&u);
    return rc;
}
