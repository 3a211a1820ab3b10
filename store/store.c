/* The store handle (root, lock bound, commit hook) and the change lists handed to the hook
 * once a transaction has committed and its lock is released. */
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

void (*store_fault_hook)(const char *point);

enum store_err store_open(const char *root, struct store **st_r, struct store_error *err)
{
    struct store *st;
    enum store_err rc;
    char *p;

    *st_r = NULL;
    if (root == NULL || root[0] != '/')
        return store_fail(err, STORE_EINVAL, "store root must be an absolute path: %s",
                          root ? root : "(none)");
    st = calloc(1, sizeof(*st));
    if (st == NULL || (st->root = strdup(root)) == NULL)
        abort();
    /* Trailing slashes would give the same file two spellings, hence two path locks. */
    for (size_t n = strlen(st->root); n > 1 && st->root[n - 1] == '/'; n--)
        st->root[n - 1] = '\0';
    st->lock_timeout_ms = STORE_LOCK_TIMEOUT_MS;
    p = store_path_tmp(st);
    rc = store_mkdirs(p, err);
    free(p);
    if (rc == STORE_OK) {
        p = store_path_join(st->root, "user");
        rc = store_mkdirs(p, err);
        free(p);
    }
    if (rc != STORE_OK) {
        store_close(&st);
        return rc;
    }
    *st_r = st;
    store_ok(err);
    return STORE_OK;
}

void store_close(struct store **st)
{
    if (*st == NULL)
        return;
    free((*st)->root);
    free(*st);
    *st = NULL;
}

const char *store_root(const struct store *st)
{
    return st->root;
}

void store_set_lock_timeout(struct store *st, unsigned ms)
{
    st->lock_timeout_ms = ms;
}

void store_set_commit_hook(struct store *st, store_hook_fn *hook, void *ctx)
{
    st->hook = hook;
    st->hook_ctx = ctx;
}

static char *dup_or_null(const char *s)
{
    char *d;

    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        abort();
    return d;
}

struct store_change *store_changeset_add(struct store_changeset *cs, enum store_change_kind kind,
                                         const char *user, const struct store_mailbox *mb,
                                         const char *old_name, const uint32_t *uids, size_t nuids)
{
    struct store_change *c;
    uint32_t *u = NULL;

    if (cs->n == cs->cap) {
        cs->cap = cs->cap ? cs->cap * 2 : 4;
        cs->v = realloc(cs->v, cs->cap * sizeof(*cs->v));
        if (cs->v == NULL)
            abort();
    }
    if (nuids > 0) {
        u = malloc(nuids * sizeof(*u));
        if (u == NULL)
            abort();
        memcpy(u, uids, nuids * sizeof(*u));
        qsort(u, nuids, sizeof(*u), store_uid_cmp);
    }
    c = &cs->v[cs->n++];
    *c = (struct store_change){
        .kind = kind,
        .user = dup_or_null(user),
        .mailbox = dup_or_null(mb->name),
        .old_mailbox = dup_or_null(old_name),
        .mailbox_id = mb->id,
        .uidvalidity = mb->uidvalidity,
        .uidnext = mb->uidnext,
        .modseq = mb->highestmodseq,
        .messages = mb->messages,
        .unseen = mb->unseen,
        .deleted = mb->deleted,
        .uids = u,
        .nuids = nuids,
    };
    return c;
}

void store_changeset_free(struct store_changeset *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        free((char *)cs->v[i].user);
        free((char *)cs->v[i].mailbox);
        free((char *)cs->v[i].old_mailbox);
        free((uint32_t *)cs->v[i].uids);
    }
    free(cs->v);
    cs->v = NULL;
    cs->n = cs->cap = 0;
}

void store_changeset_emit(struct store *st, struct store_changeset *cs)
{
    if (st->hook != NULL)
        for (size_t i = 0; i < cs->n; i++)
            st->hook(&cs->v[i], st->hook_ctx);
    store_changeset_free(cs);
}

int store_uid_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

uint32_t *store_uids_sorted_unique(const uint32_t *uids, size_t n, size_t *n_r)
{
    uint32_t *u = malloc((n ? n : 1) * sizeof(*u));
    size_t k = 0;

    if (u == NULL)
        abort();
    if (n > 0)
        memcpy(u, uids, n * sizeof(*u));
    qsort(u, n, sizeof(*u), store_uid_cmp);
    for (size_t i = 0; i < n; i++)
        if (u[i] != 0 && (k == 0 || u[k - 1] != u[i]))
            u[k++] = u[i];
    *n_r = k;
    return u;
}

void store_mailbox_clear(struct store_mailbox *mb)
{
    free(mb->name);
    free(mb->keywords);
    memset(mb, 0, sizeof(*mb));
}

void store_mailbox_list_free(struct store_mailbox **mbs, size_t n)
{
    if (*mbs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        store_mailbox_clear(&(*mbs)[i]);
    free(*mbs);
    *mbs = NULL;
}

void store_msg_clear(struct store_msg *m)
{
    free(m->keywords);
    memset(m, 0, sizeof(*m));
}

void store_msg_list_free(struct store_msg **msgs, size_t n)
{
    if (*msgs == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free((*msgs)[i].keywords);
    free(*msgs);
    *msgs = NULL;
}

void store_mime_clear(struct store_mime *mime)
{
    free(mime->envelope);
    free(mime->bodystructure);
    free(mime->body);
    free(mime->hfields);
    memset(mime, 0, sizeof(*mime));
}

void store_strings_free(char ***v, size_t n)
{
    if (*v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
}
