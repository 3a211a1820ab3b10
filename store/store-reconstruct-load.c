/* reconstruct reads every record of a user's index into memory before judging any of it, so
 * that an index it cannot trust is known before a single finding is reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-reconstruct-private.h"

struct load_ctx {
    struct store_rc_index *idx;
    store_scan_fn *fn;     /* the record type's reader */
    struct store_buf last; /* the previous key of this scan */
};

static void load_lost(struct store_rc_index *idx, const char *why)
{
    if (!idx->lost)
        snprintf(idx->why, sizeof(idx->why), "%s", why);
    idx->lost = true;
}

static int load_box_cmp(const void *a, const void *b)
{
    const struct store_rc_box *x = a, *y = b;

    return x->mb.id < y->mb.id ? -1 : x->mb.id > y->mb.id;
}

struct store_rc_box *store_rc_find_box(const struct store_rc_index *idx, uint32_t id)
{
    struct store_rc_box key = {.mb.id = id};

    return store_rc_search(&key, idx->boxes, idx->nboxes, sizeof(*idx->boxes), load_box_cmp);
}

static void load_stale(struct store_rc_index *idx, const unsigned char *k, size_t kl)
{
    idx->stale = store_rc_grow(idx->stale, &idx->capstale, idx->nstale, sizeof(*idx->stale));
    idx->stale[idx->nstale] = (struct store_buf){0};
    store_buf_add(&idx->stale[idx->nstale++], k, kl);
}

static bool load_mailbox(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                         void *vctx)
{
    struct store_rc_index *idx = ((struct load_ctx *)vctx)->idx;
    struct store_rc_box *box;

    if (kl != 5) {
        load_lost(idx, "malformed mailbox key");
        return false;
    }
    idx->boxes = store_rc_grow(idx->boxes, &idx->capboxes, idx->nboxes, sizeof(*idx->boxes));
    box = &idx->boxes[idx->nboxes];
    memset(box, 0, sizeof(*box));
    if (!store_rec_mailbox_get(v, vl, store_be32_get(k + 1), &box->mb)) {
        load_lost(idx, "malformed mailbox record");
        return false;
    }
    idx->nboxes++;
    return true;
}

static bool load_name(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                      void *vctx)
{
    struct store_rc_index *idx = ((struct load_ctx *)vctx)->idx;
    struct store_rc_name *n;

    idx->names = store_rc_grow(idx->names, &idx->capnames, idx->nnames, sizeof(*idx->names));
    n = &idx->names[idx->nnames++];
    n->name = strndup((const char *)k + 1, kl - 1);
    if (n->name == NULL)
        abort();
    n->id = vl == 4 ? store_be32_get(v) : 0;
    return true;
}

/* The box a per-mailbox key belongs to (well_formed: the key's length is right), or NULL after
 * filing the key as stale. */
static struct store_rc_box *load_owner(struct store_rc_index *idx, const unsigned char *k,
                                       size_t kl, bool well_formed)
{
    struct store_rc_box *box = well_formed ? store_rc_find_box(idx, store_be32_get(k + 1)) : NULL;

    if (box == NULL)
        load_stale(idx, k, kl);
    return box;
}

static bool load_message(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                         void *vctx)
{
    struct store_rc_index *idx = ((struct load_ctx *)vctx)->idx;
    struct store_rc_box *box = load_owner(idx, k, kl, kl == 9);
    uint32_t uid = kl == 9 ? store_be32_get(k + 5) : 0;

    if (box == NULL)
        return true;
    box->msgs = store_rc_grow(box->msgs, &box->capmsgs, box->nmsgs, sizeof(*box->msgs));
    if (uid != 0 && store_rec_msg_get(v, vl, uid, &box->msgs[box->nmsgs])) {
        box->nmsgs++;
        return true;
    }
    box->badmsgs =
        store_rc_grow(box->badmsgs, &box->capbadmsgs, box->nbadmsgs, sizeof(*box->badmsgs));
    box->badmsgs[box->nbadmsgs++] = uid;
    return true;
}

static bool load_mime(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                      void *vctx)
{
    struct store_rc_index *idx = ((struct load_ctx *)vctx)->idx;
    struct store_rc_box *box = load_owner(idx, k, kl, kl == 9);
    struct store_mime mime;

    if (box == NULL)
        return true;
    box->mime = store_rc_grow(box->mime, &box->capmime, box->nmime, sizeof(*box->mime));
    box->mime[box->nmime].uid = store_be32_get(k + 5);
    box->mime[box->nmime++].ok = store_rec_mime_get(v, vl, &mime);
    store_mime_clear(&mime);
    return true;
}

static bool load_seq(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                     void *vctx)
{
    struct store_rc_index *idx = ((struct load_ctx *)vctx)->idx;
    struct store_rc_box *box = load_owner(idx, k, kl, kl == 17);
    struct store_rc_seq s;

    if (box == NULL)
        return true;
    s.modseq = store_be64_get(k + 5);
    s.uid = store_be32_get(k + 13);
    if (k[0] == STORE_KEY_MODSEQ) {
        box->seqs = store_rc_grow(box->seqs, &box->capseqs, box->nseqs, sizeof(*box->seqs));
        box->seqs[box->nseqs++] = s;
    } else {
        box->tombs = store_rc_grow(box->tombs, &box->captombs, box->ntombs, sizeof(*box->tombs));
        box->tombs[box->ntombs++] = s;
    }
    return true;
}

/* ACLs and annotations: only their mailbox matters here (annotation id 0 is the user's). */
static bool load_meta(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                      void *vctx)
{
    struct store_rc_index *idx = ((struct load_ctx *)vctx)->idx;

    if (kl >= 5 && k[0] == STORE_KEY_ANNOTATION && store_be32_get(k + 1) == 0)
        return true;
    load_owner(idx, k, kl, kl >= 5);
    return true;
}

static enum store_err load_singletons(struct store_tx *tx, struct store_rc_index *idx,
                                      struct store_error *err)
{
    unsigned char k[1];
    void *v;
    size_t len;
    enum store_err rc;

    rc = store_tx_get(tx, k, store_key_singleton(k, STORE_KEY_COUNTERS), &v, &len, err);
    if (rc == STORE_OK) {
        idx->has_counters = store_rec_counters_get(v, len, &idx->counters);
        free(v);
    }
    if (rc != STORE_OK && rc != STORE_ENOTFOUND)
        return rc;
    rc = store_tx_get(tx, k, store_key_singleton(k, STORE_KEY_USAGE), &v, &len, err);
    if (rc == STORE_OK) {
        if (!store_rec_usage_get(v, len, &idx->usage)) {
            idx->usage_bad = true;
            idx->usage = (struct store_usage){0};
        }
        free(v);
    }
    return rc == STORE_ENOTFOUND ? STORE_OK : rc;
}

/* Keys come strictly ascending from an intact B+ tree. A damaged one may hand out a key where it
 * does not belong, and such a record can be read but never found again to be repaired. */
static bool load_in_order(const unsigned char *k, size_t kl, const unsigned char *v, size_t vl,
                          void *vctx)
{
    struct load_ctx *c = vctx;
    size_t n = kl < c->last.len ? kl : c->last.len;
    int cmp = c->last.len > 0 ? memcmp(k, c->last.data, n) : 1;

    if (cmp < 0 || (cmp == 0 && kl <= c->last.len)) {
        load_lost(c->idx, "keys out of order, the B+ tree is damaged");
        return false;
    }
    c->last.len = 0;
    store_buf_add(&c->last, k, kl);
    return c->fn(k, kl, v, vl, vctx);
}

enum store_err store_rc_load_index(struct store_tx *tx, struct store_rc_index *idx,
                                   struct store_error *err)
{
    static const struct {
        enum store_key_type type;
        store_scan_fn *fn;
    } scans[] = {
        {STORE_KEY_MAILBOX, load_mailbox}, {STORE_KEY_NAME, load_name},
        {STORE_KEY_MESSAGE, load_message}, {STORE_KEY_MIME, load_mime},
        {STORE_KEY_MODSEQ, load_seq},      {STORE_KEY_EXPUNGED, load_seq},
        {STORE_KEY_ACL, load_meta},        {STORE_KEY_ANNOTATION, load_meta},
    };
    struct load_ctx c = {.idx = idx};
    enum store_err rc;

    memset(idx, 0, sizeof(*idx));
    rc = load_singletons(tx, idx, err);
    /* Keys come in order, so the boxes are sorted by id before any lookup. */
    for (size_t i = 0; rc == STORE_OK && !idx->lost && i < sizeof(scans) / sizeof(*scans); i++) {
        unsigned char prefix = (unsigned char)scans[i].type;
        c.fn = scans[i].fn;
        c.last.len = 0;
        rc = store_tx_scan(tx, &prefix, 1, NULL, 0, load_in_order, &c, err);
    }
    store_buf_free(&c.last);
    if (rc == STORE_EIO) { /* Tokyo Cabinet could not read a page: nothing here is sure */
        load_lost(idx, err != NULL ? err->msg : "index read failed");
        rc = STORE_OK;
    }
    return rc;
}

void store_rc_index_free(struct store_rc_index *idx)
{
    for (size_t i = 0; i < idx->nboxes; i++) {
        struct store_rc_box *b = &idx->boxes[i];
        store_mailbox_clear(&b->mb);
        store_msg_list_free(&b->msgs, b->nmsgs);
        free(b->badmsgs);
        free(b->mime);
        free(b->seqs);
        free(b->tombs);
    }
    free(idx->boxes);
    for (size_t i = 0; i < idx->nnames; i++)
        free(idx->names[i].name);
    free(idx->names);
    for (size_t i = 0; i < idx->nstale; i++)
        store_buf_free(&idx->stale[i]);
    free(idx->stale);
    memset(idx, 0, sizeof(*idx));
}
