/* Reading messages: ranges of message records, what changed since a MODSEQ, the cached MIME
 * structure, and the body file. Readers take the shared lock only for the index read. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-tx.h"

struct msgs {
    struct store_msg *v;
    size_t n, cap;
    bool bad;
};

static void msgs_push(struct msgs *l, const struct store_msg *m)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        if (l->v == NULL)
            abort();
    }
    l->v[l->n++] = *m;
}

#define LIST_RESERVE_MAX (1u << 22)

struct list_ctx {
    uint32_t id, first, last;
    struct msgs out;
};

static bool list_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                     void *vctx)
{
    struct list_ctx *c = vctx;
    struct store_msg m;
    uint32_t uid;

    if (kl != 9)
        return true;
    uid = store_be32_get(k + 5);
    if (c->last != 0 && uid > c->last)
        return false;
    if (!store_rec_msg_get(v, vl, uid, &m)) {
        c->out.bad = true;
        return false;
    }
    msgs_push(&c->out, &m);
    return true;
}

static enum store_err list_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct list_ctx *c = vctx;
    unsigned char prefix[STORE_KEY_FIXED_MAX], start[STORE_KEY_FIXED_MAX];
    struct store_mailbox mb;
    size_t plen = store_key_msg(prefix, STORE_KEY_MESSAGE, c->id, 0);
    size_t slen = store_key_msg(start, STORE_KEY_MESSAGE, c->id, c->first ? c->first : 1);
    enum store_err rc = store_mbx_load(tx, c->id, &mb, err);

    if (rc != STORE_OK)
        return rc;
    /* room for every message at once: a large mailbox would otherwise be copied ~17 times */
    size_t want = mb.messages;
    store_mailbox_clear(&mb);
    if (c->last != 0 && c->last >= c->first && (size_t)(c->last - c->first) + 1 < want)
        want = (size_t)(c->last - c->first) + 1;
    if (want > LIST_RESERVE_MAX) /* a counter is not proof: past this, grow as records come */
        want = LIST_RESERVE_MAX;
    if (want > c->out.cap) {
        struct store_msg *v = realloc(c->out.v, want * sizeof(*v));
        if (v == NULL)
            abort();
        c->out.v = v;
        c->out.cap = want;
    }
    rc = store_tx_scan(tx, prefix, plen, start, slen, list_add, c, err);
    if (rc == STORE_OK && c->out.bad)
        rc = store_fail(err, STORE_EIO, "index: malformed message record in mailbox %u", c->id);
    return rc;
}

enum store_err store_msg_list(struct store *st, const char *user, uint32_t mailbox_id,
                              uint32_t first_uid, uint32_t last_uid, struct store_msg **msgs_r,
                              size_t *n_r, struct store_error *err)
{
    struct store_userctx u;
    struct list_ctx c = {mailbox_id, first_uid, last_uid, {0}};
    enum store_err rc = store_userctx_init(&u, st, user, err);

    *msgs_r = NULL;
    *n_r = 0;
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_READ, list_fn, &c, err);
    if (rc == STORE_OK) {
        *msgs_r = c.out.v;
        *n_r = c.out.n;
    } else {
        store_msg_list_free(&c.out.v, c.out.n);
    }
    store_userctx_free(&u);
    return rc;
}

struct get_ctx {
    uint32_t id, uid;
    struct store_msg *m;
};

static enum store_err get_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct get_ctx *c = vctx;
    enum store_err rc = store_msgrec_load(tx, c->id, c->uid, c->m, err);

    if (rc == STORE_ENOTFOUND)
        return store_fail(err, STORE_ENOTFOUND, "no message %u in mailbox %u", c->uid, c->id);
    return rc;
}

enum store_err store_msg_get(struct store *st, const char *user, uint32_t mailbox_id, uint32_t uid,
                             struct store_msg *m_r, struct store_error *err)
{
    struct store_userctx u;
    struct get_ctx c = {mailbox_id, uid, m_r};
    enum store_err rc = store_userctx_init(&u, st, user, err);

    memset(m_r, 0, sizeof(*m_r));
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_READ, get_fn, &c, err);
    store_userctx_free(&u);
    return rc;
}

/* ---- changes since a MODSEQ ---- */

struct changes_ctx {
    uint32_t id;
    uint64_t since;
    size_t max;       /* 0: no bound */
    bool over;        /* more than max changed: nothing read */
    uint64_t highest; /* the mailbox's HIGHESTMODSEQ in this read */
    uint32_t *uids;
    size_t n, cap;
    struct msgs out;
};

static bool changes_add(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                        void *vctx)
{
    struct changes_ctx *c = vctx;

    if (kl != 17)
        return true;
    if (c->max != 0 && c->n == c->max) {
        c->over = true;
        return false;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->uids = realloc(c->uids, c->cap * sizeof(*c->uids));
        if (c->uids == NULL)
            abort();
    }
    c->uids[c->n++] = store_be32_get(k + 13);
    return true;
}

static enum store_err changes_scan(struct store_tx *tx, struct changes_ctx *c,
                                   enum store_key_type type, struct store_error *err)
{
    unsigned char prefix[STORE_KEY_FIXED_MAX], start[STORE_KEY_FIXED_MAX];
    size_t plen = store_key_msg(prefix, type, c->id, 0);
    size_t slen = store_key_modseq(start, type, c->id, c->since + 1, 0);

    c->n = 0;
    return store_tx_scan(tx, prefix, plen, start, slen, changes_add, c, err);
}

static enum store_err changes_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct changes_ctx *c = vctx;
    struct store_mailbox mb;
    struct store_msg m;
    enum store_err rc = store_mbx_load(tx, c->id, &mb, err);

    if (rc != STORE_OK)
        return rc;
    c->highest = mb.highestmodseq;
    store_mailbox_clear(&mb);
    rc = changes_scan(tx, c, STORE_KEY_MODSEQ, err);
    if (rc != STORE_OK || c->over)
        return rc;
    if (c->n > 1) /* qsort wants a real array even for zero elements (UBSan) */
        qsort(c->uids, c->n, sizeof(*c->uids), store_uid_cmp);
    for (size_t i = 0; rc == STORE_OK && i < c->n; i++) {
        rc = store_msgrec_load(tx, c->id, c->uids[i], &m, err);
        if (rc == STORE_OK)
            msgs_push(&c->out, &m);
        else if (rc == STORE_ENOTFOUND)
            rc = store_fail(err, STORE_EIO, "index: modseq entry without message %u/%u", c->id,
                            c->uids[i]);
    }
    if (rc == STORE_OK)
        rc = changes_scan(tx, c, STORE_KEY_EXPUNGED, err);
    return rc;
}

static enum store_err changes_run(struct store *st, const char *user, struct changes_ctx *c,
                                  struct store_msg **changed_r, size_t *nchanged_r,
                                  uint32_t **expunged_r, size_t *nexpunged_r,
                                  struct store_error *err)
{
    struct store_userctx u;
    enum store_err rc = store_userctx_init(&u, st, user, err);

    *changed_r = NULL;
    *expunged_r = NULL;
    *nchanged_r = *nexpunged_r = 0;
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_READ, changes_fn, c, err);
    if (rc == STORE_OK && !c->over) {
        *changed_r = c->out.v;
        *nchanged_r = c->out.n;
        /* A UID is tombstoned once (UIDs are never reused), so sorting is all it needs. */
        if (c->n > 1) /* c->uids is NULL when nothing was expunged (qsort's argument is nonnull) */
            qsort(c->uids, c->n, sizeof(*c->uids), store_uid_cmp);
        *expunged_r = c->uids;
        *nexpunged_r = c->n;
    } else {
        store_msg_list_free(&c->out.v, c->out.n);
        free(c->uids);
    }
    store_userctx_free(&u);
    return rc;
}

enum store_err store_msg_changes(struct store *st, const char *user, uint32_t mailbox_id,
                                 uint64_t since, struct store_msg **changed_r, size_t *nchanged_r,
                                 uint32_t **expunged_r, size_t *nexpunged_r,
                                 struct store_error *err)
{
    struct changes_ctx c = {.id = mailbox_id, .since = since};

    return changes_run(st, user, &c, changed_r, nchanged_r, expunged_r, nexpunged_r, err);
}

enum store_err store_msg_changes_max(struct store *st, const char *user, uint32_t mailbox_id,
                                     uint64_t since, size_t max, struct store_msg **changed_r,
                                     size_t *nchanged_r, uint32_t **expunged_r, size_t *nexpunged_r,
                                     uint64_t *highest_r, bool *over_r, struct store_error *err)
{
    struct changes_ctx c = {.id = mailbox_id, .since = since, .max = max};
    enum store_err rc =
        changes_run(st, user, &c, changed_r, nchanged_r, expunged_r, nexpunged_r, err);

    *highest_r = c.highest;
    *over_r = c.over;
    return rc;
}

/* ---- MIME structure and body ---- */

struct mime_ctx {
    uint32_t id, uid;
    struct store_mime *mime;
};

static enum store_err mime_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct mime_ctx *c = vctx;
    unsigned char k[STORE_KEY_FIXED_MAX];
    void *v;
    size_t len;
    enum store_err rc =
        store_tx_get(tx, k, store_key_msg(k, STORE_KEY_MIME, c->id, c->uid), &v, &len, err);

    if (rc == STORE_ENOTFOUND)
        return store_fail(err, STORE_ENOTFOUND, "no message %u in mailbox %u", c->uid, c->id);
    if (rc != STORE_OK)
        return rc;
    if (!store_rec_mime_get(v, len, c->mime))
        rc = store_fail(err, STORE_EIO, "index: malformed MIME record %u/%u", c->id, c->uid);
    free(v);
    return rc;
}

enum store_err store_msg_get_mime(struct store *st, const char *user, uint32_t mailbox_id,
                                  uint32_t uid, struct store_mime *mime_r, struct store_error *err)
{
    struct store_userctx u;
    struct mime_ctx c = {mailbox_id, uid, mime_r};
    enum store_err rc = store_userctx_init(&u, st, user, err);

    memset(mime_r, 0, sizeof(*mime_r));
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_READ, mime_fn, &c, err);
    store_userctx_free(&u);
    return rc;
}

struct mime_range_ctx {
    uint32_t id, last;
    size_t max;
    struct store_mime_set *set;
    bool bad;
    struct store_buf arena; /* hfields_only: the parts, one after another */
    size_t *offs;           /* where each record's part starts in arena (SIZE_MAX: none) */
};

/* The hfields part alone, copied into the batch's arena: one allocation per batch, not one
 * per message (SEARCH reads tens of thousands). */
static bool mime_range_add_hfields(struct mime_range_ctx *c, const unsigned char *val, size_t vlen)
{
    struct store_mime_set *set = c->set;
    const unsigned char *part;
    size_t len;

    if (c->offs == NULL && (c->offs = malloc(c->max * sizeof(*c->offs))) == NULL)
        abort();
    if (!store_rec_mime_hfields_at(val, vlen, &part, &len))
        return false;
    c->offs[set->n] = part != NULL ? c->arena.len : SIZE_MAX;
    set->mimes[set->n].hfields_len = len;
    if (part != NULL)
        store_buf_add(&c->arena, part, len);
    return true;
}

/* Points the records' hfields into the arena, now that it no longer moves. */
static void mime_range_arena_done(struct mime_range_ctx *c)
{
    struct store_mime_set *set = c->set;

    if (set->n == 0 || c->offs == NULL) {
        store_buf_free(&c->arena);
        return;
    }
    set->arena = (unsigned char *)store_buf_steal(&c->arena);
    for (size_t i = 0; i < set->n; i++)
        set->mimes[i].hfields = c->offs[i] != SIZE_MAX ? set->arena + c->offs[i] : NULL;
}

static bool mime_range_add(const unsigned char *key, size_t klen, const unsigned char *val,
                           size_t vlen, void *vctx)
{
    struct mime_range_ctx *c = vctx;
    struct store_mime_set *set = c->set;
    uint32_t uid = store_be32_get(key + klen - 4);

    if ((c->last != 0 && uid > c->last) || set->n == c->max)
        return false;
    if (set->n == 0) {
        set->uids = calloc(c->max, sizeof(*set->uids));
        set->mimes = calloc(c->max, sizeof(*set->mimes));
        if (set->uids == NULL || set->mimes == NULL)
            abort();
    }
    if (!(set->hfields_only ? mime_range_add_hfields(c, val, vlen)
                            : store_rec_mime_get(val, vlen, &set->mimes[set->n]))) {
        c->bad = true;
        return false;
    }
    set->uids[set->n++] = uid;
    return true;
}

static enum store_err mime_range_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct mime_range_ctx *c = vctx;
    unsigned char prefix[STORE_KEY_FIXED_MAX], start[STORE_KEY_FIXED_MAX];
    size_t plen = store_key_msg(prefix, STORE_KEY_MIME, c->id, 0); /* uid 0: the prefix */
    size_t slen = store_key_msg(start, STORE_KEY_MIME, c->id, c->set->first);
    enum store_err rc = store_tx_scan(tx, prefix, plen, start, slen, mime_range_add, c, err);

    if (rc == STORE_OK && c->bad)
        rc = store_fail(err, STORE_EIO, "index: malformed MIME record in mailbox %u", c->id);
    return rc;
}

static enum store_err mime_range(struct store *st, const char *user, uint32_t mailbox_id,
                                 uint32_t first_uid, uint32_t last_uid, size_t max,
                                 bool hfields_only, struct store_mime_set *set_r,
                                 struct store_error *err)
{
    struct store_userctx u;
    struct mime_range_ctx c = {mailbox_id, last_uid, max, set_r, false, {0}, NULL};
    enum store_err rc = store_userctx_init(&u, st, user, err);

    memset(set_r, 0, sizeof(*set_r));
    set_r->hfields_only = hfields_only;
    set_r->first = first_uid;
    if (rc == STORE_OK && max > 0)
        rc = store_user_tx(&u, STORE_TX_READ, mime_range_fn, &c, err);
    mime_range_arena_done(&c);
    free(c.offs);
    if (rc != STORE_OK) {
        store_mime_set_clear(set_r);
        set_r->hfields_only = hfields_only;
    }
    store_userctx_free(&u);
    return rc;
}

enum store_err store_msg_mime_range(struct store *st, const char *user, uint32_t mailbox_id,
                                    uint32_t first_uid, uint32_t last_uid, size_t max,
                                    struct store_mime_set *set_r, struct store_error *err)
{
    return mime_range(st, user, mailbox_id, first_uid, last_uid, max, false, set_r, err);
}

const struct store_mime *store_mime_set_find(struct store_mime_set *set, uint32_t uid)
{
    while (set->next < set->n && set->uids[set->next] < uid)
        set->next++;
    return set->next < set->n && set->uids[set->next] == uid ? &set->mimes[set->next] : NULL;
}

const struct store_mime *store_mime_set_next(struct store *st, const char *user,
                                             uint32_t mailbox_id, uint32_t uid, uint32_t last_uid,
                                             size_t batch, struct store_mime_set *set)
{
    struct store_error err;

    if (uid > set->upto) {
        bool hfields_only = set->hfields_only;
        store_mime_set_clear(set);
        enum store_err rc =
            mime_range(st, user, mailbox_id, uid, last_uid, batch, hfields_only, set, &err);
        if (rc != STORE_OK)
            set->upto = uid;
        else if (set->n == batch)
            set->upto = set->uids[set->n - 1];
        else
            set->upto = last_uid != 0 ? last_uid : UINT32_MAX;
    }
    return store_mime_set_find(set, uid);
}

void store_mime_set_clear(struct store_mime_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        if (set->arena != NULL)
            set->mimes[i].hfields = NULL; /* the arena's */
        store_mime_clear(&set->mimes[i]);
    }
    free(set->arena);
    free(set->mimes);
    free(set->uids);
    memset(set, 0, sizeof(*set));
}

enum store_err store_msg_open(struct store *st, const char *user, const struct store_msg *m,
                              int *fd_r, struct store_error *err)
{
    struct store_userctx u;
    enum store_err rc = store_userctx_init(&u, st, user, err);
    char *path;

    *fd_r = -1;
    if (rc != STORE_OK)
        return rc;
    path = store_path_body(u.home, m->body_mailbox, m->body_uid);
    *fd_r = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd_r < 0)
        rc = store_fail_errno(err, errno, "open %s", path);
    free(path);
    store_userctx_free(&u);
    return rc;
}
