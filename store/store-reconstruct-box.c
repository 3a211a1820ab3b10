/* reconstruct, one mailbox of a readable index: every record against its body file, every body
 * file against the records, then counters, UIDNEXT, HIGHESTMODSEQ and keywords from what is left.
 * Flags, keywords, MODSEQs and UIDs of the messages that stay are never touched. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-reconstruct-private.h"

struct box_ctx {
    struct store_tx *tx;
    struct store_rc_run *run;
    struct store_rc_box *box;
    const struct store_rc_disk *disk;
    const char *name;
    uint32_t id, uidnext;
    uint64_t hm;                /* HIGHESTMODSEQ as repaired so far */
    uint64_t drop_modseq;       /* the one MODSEQ of this run's dropped records (0: none yet) */
    uint32_t *tomb_uids;        /* sorted */
    struct store_mailbox after; /* counters of what stays */
    bool repair;
};

static int box_uid_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

static int box_seq_cmp(const void *a, const void *b)
{
    const struct store_rc_seq *x = a, *y = b;

    if (x->modseq != y->modseq)
        return x->modseq < y->modseq ? -1 : 1;
    return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int box_msg_cmp(const void *a, const void *b)
{
    const struct store_msg *x = a, *y = b;

    return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static const struct store_rc_mimerec *box_find_mime(const struct store_rc_box *box, uint32_t uid)
{
    struct store_rc_mimerec key = {uid, false};

    return store_rc_search(&key, box->mime, box->nmime, sizeof(*box->mime), box_uid_cmp);
}

static bool box_has_seq(const struct store_rc_box *box, uint64_t modseq, uint32_t uid)
{
    struct store_rc_seq key = {modseq, uid};

    return store_rc_search(&key, box->seqs, box->nseqs, sizeof(*box->seqs), box_seq_cmp) != NULL;
}

static bool box_has_msg(const struct store_rc_box *box, uint32_t uid)
{
    struct store_msg key = {.uid = uid};

    return store_rc_search(&key, box->msgs, box->nmsgs, sizeof(*box->msgs), box_msg_cmp) != NULL;
}

static bool box_referenced(const uint64_t *refs, size_t nrefs, uint32_t id, uint32_t uid)
{
    uint64_t key = (uint64_t)id << 32 | uid;
    size_t lo = 0, hi = nrefs;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (refs[mid] == key)
            return true;
        if (refs[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Writes m's ENVELOPE/BODYSTRUCTURE record computed from its body file, and its size and header
 * size when set_size. */
static enum store_err box_mime_from_file(struct box_ctx *c, struct store_msg *m, bool set_size,
                                         struct store_error *err)
{
    char *path = store_path_body(c->run->u.home, m->body_mailbox, m->body_uid);
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_buf v = {0};
    struct store_mime mime;
    uint32_t header_size;
    uint64_t size;
    enum store_err rc = store_rc_read_mime(path, &mime, &header_size, &size, err);

    free(path);
    if (rc != STORE_OK)
        return rc;
    if (set_size) {
        m->size = size;
        m->header_size = header_size;
    }
    store_rec_mime_put(&v, &mime);
    rc =
        store_tx_put(c->tx, k, store_key_msg(k, STORE_KEY_MIME, c->id, m->uid), v.data, v.len, err);
    store_buf_free(&v);
    store_mime_clear(&mime);
    return rc;
}

/* A record's body file, its size, its MIME record and its changes-since entry. */
static enum store_err box_check_msg(struct box_ctx *c, struct store_msg *m, bool *dropped,
                                    struct store_error *err)
{
    struct store_rc_dir *dir = store_rc_find_dir(c->disk, m->body_mailbox);
    const struct store_rc_file *f = store_rc_find_file(dir, m->body_uid);
    const struct store_rc_mimerec *mime = box_find_mime(c->box, m->uid);
    unsigned char k[STORE_KEY_FIXED_MAX];
    enum store_err rc = STORE_OK;

    *dropped = f == NULL;
    if (f == NULL) {
        store_rc_report(c->run, STORE_RC_BODY_MISSING, c->name, m->uid, "record dropped",
                        "body file missing");
        if (!c->repair)
            return STORE_OK;
        /* To a client the message is expunged: one tombstone MODSEQ for all of them. */
        if (c->drop_modseq == 0)
            c->drop_modseq = ++c->hm;
        return store_msgrec_expunge(c->tx, c->id, m, c->drop_modseq, err);
    }
    if (f->size != m->size) {
        store_rc_report(c->run, STORE_RC_BODY_SIZE, c->name, m->uid, "record updated from the file",
                        "body file has %" PRIu64 " bytes, RFC822.SIZE says %" PRIu64, f->size,
                        m->size);
        if (c->repair && (rc = box_mime_from_file(c, m, true, err)) == STORE_OK)
            rc = store_msgrec_save(c->tx, c->id, m, m->modseq, err);
    } else if (mime == NULL || !mime->ok) {
        store_rc_report(c->run, STORE_RC_MIME, c->name, m->uid, "recomputed from the file",
                        "ENVELOPE/BODYSTRUCTURE record %s",
                        mime == NULL ? "missing" : "unreadable");
        if (c->repair)
            rc = box_mime_from_file(c, m, false, err);
    }
    if (rc == STORE_OK && !box_has_seq(c->box, m->modseq, m->uid)) {
        store_rc_report(c->run, STORE_RC_MODSEQ_INDEX, c->name, m->uid, "added",
                        "changes-since entry for MODSEQ %" PRIu64 " missing", m->modseq);
        if (c->repair)
            rc = store_tx_put(c->tx, k,
                              store_key_modseq(k, STORE_KEY_MODSEQ, c->id, m->modseq, m->uid), "",
                              0, err);
    }
    return rc;
}

/* Records without their message: unparsable message records, MIME records and changes-since
 * entries of UIDs that have no record at that MODSEQ. */
static enum store_err box_check_leftovers(struct box_ctx *c, struct store_error *err)
{
    struct store_rc_box *box = c->box;
    unsigned char k[STORE_KEY_FIXED_MAX];
    enum store_err rc = STORE_OK;

    for (size_t i = 0; rc == STORE_OK && i < box->nbadmsgs; i++) {
        store_rc_report(c->run, STORE_RC_RECORD_BAD, c->name, box->badmsgs[i], "record dropped",
                        "message record unreadable");
        if (c->repair)
            rc = store_tx_del(c->tx, k, store_key_msg(k, STORE_KEY_MESSAGE, c->id, box->badmsgs[i]),
                              err);
    }
    for (size_t i = 0; rc == STORE_OK && i < box->nmime; i++) {
        if (box_has_msg(box, box->mime[i].uid))
            continue;
        store_rc_report(c->run, STORE_RC_MIME, c->name, box->mime[i].uid, "removed",
                        "ENVELOPE/BODYSTRUCTURE record without a message record");
        if (c->repair)
            rc = store_tx_del(c->tx, k, store_key_msg(k, STORE_KEY_MIME, c->id, box->mime[i].uid),
                              err);
    }
    for (size_t i = 0; rc == STORE_OK && i < box->nseqs; i++) {
        struct store_msg key = {.uid = box->seqs[i].uid};
        const struct store_msg *m =
            store_rc_search(&key, box->msgs, box->nmsgs, sizeof(*box->msgs), box_msg_cmp);
        if (m != NULL && m->modseq == box->seqs[i].modseq)
            continue;
        store_rc_report(c->run, STORE_RC_MODSEQ_INDEX, c->name, box->seqs[i].uid, "removed",
                        "stale changes-since entry at MODSEQ %" PRIu64, box->seqs[i].modseq);
        if (c->repair)
            rc = store_tx_del(
                c->tx, k,
                store_key_modseq(k, STORE_KEY_MODSEQ, c->id, box->seqs[i].modseq, box->seqs[i].uid),
                err);
    }
    return rc;
}

/* A body file in this mailbox's directory that no record names. */
static enum store_err box_check_orphan(struct box_ctx *c, const struct store_rc_file *f,
                                       struct store_error *err)
{
    char *path = store_path_body(c->run->u.home, c->id, f->uid);
    struct store_msg m = {0};
    enum store_err rc = STORE_OK;

    if (f->uid >= c->uidnext) {
        store_rc_report(c->run, STORE_RC_ORPHAN_NEW, c->name, f->uid, "file removed",
                        "orphan body file at or above UIDNEXT %" PRIu32
                        ", a delivery never committed",
                        c->uidnext);
    } else if (store_rc_search(&f->uid, c->tomb_uids, c->box->ntombs, sizeof(uint32_t),
                               box_uid_cmp) ||
               box_has_msg(c->box, f->uid)) {
        store_rc_report(c->run, STORE_RC_ORPHAN_EXPUNGED, c->name, f->uid, "file removed",
                        "orphan body file of an expunged message");
    } else {
        /* Nothing says this message was ever removed: keeping it loses nothing. */
        store_rc_report(c->run, STORE_RC_RECORD_MISSING, c->name, f->uid,
                        "message re-added without flags",
                        "body file without a message record or expunge tombstone");
        if (c->repair) {
            m = (struct store_msg){.uid = f->uid,
                                   .internaldate = f->mtime,
                                   .modseq = ++c->hm,
                                   .body_mailbox = c->id,
                                   .body_uid = f->uid};
            rc = box_mime_from_file(c, &m, true, err);
            if (rc == STORE_OK)
                rc = store_msgrec_save(c->tx, c->id, &m, 0, err);
            if (rc == STORE_OK)
                store_mbx_count_add(&c->after, &m);
        }
        free(path);
        return rc;
    }
    if (c->repair && unlink(path) != 0)
        rc = store_fail_errno(err, errno, "unlink %s", path);
    free(path);
    return rc;
}

/* The mailbox record's own fields against what its records say. */
static void box_check_fields(struct box_ctx *c)
{
    struct store_mailbox *mb = &c->box->mb, counted = {0};
    uint64_t maxmod = 0;
    uint32_t maxuid = 0;

    for (size_t i = 0; i < c->box->nmsgs; i++) {
        store_mbx_count_add(&counted, &c->box->msgs[i]);
        maxmod = c->box->msgs[i].modseq > maxmod ? c->box->msgs[i].modseq : maxmod;
        maxuid = c->box->msgs[i].uid > maxuid ? c->box->msgs[i].uid : maxuid;
    }
    for (size_t i = 0; i < c->box->ntombs; i++) {
        maxmod = c->box->tombs[i].modseq > maxmod ? c->box->tombs[i].modseq : maxmod;
        maxuid = c->box->tombs[i].uid > maxuid ? c->box->tombs[i].uid : maxuid;
    }
    for (size_t i = 0; i < c->box->nbadmsgs; i++)
        maxuid = c->box->badmsgs[i] > maxuid ? c->box->badmsgs[i] : maxuid;
    if (counted.messages != mb->messages || counted.unseen != mb->unseen ||
        counted.deleted != mb->deleted || counted.bytes != mb->bytes)
        store_rc_report(c->run, STORE_RC_COUNTS, c->name, 0, "recounted",
                        "counters say %" PRIu32 " messages, %" PRIu32 " unseen, %" PRIu32
                        " deleted, %" PRIu64 " bytes; the records %" PRIu32 ", %" PRIu32
                        ", %" PRIu32 ", %" PRIu64,
                        mb->messages, mb->unseen, mb->deleted, mb->bytes, counted.messages,
                        counted.unseen, counted.deleted, counted.bytes);
    if (mb->highestmodseq < maxmod) {
        store_rc_report(c->run, STORE_RC_MODSEQ, c->name, 0, "raised",
                        "HIGHESTMODSEQ %" PRIu64 " below MODSEQ %" PRIu64 " in use",
                        mb->highestmodseq, maxmod);
        c->hm = maxmod;
    }
    if (mb->uidnext <= maxuid) {
        store_rc_report(c->run, STORE_RC_UIDNEXT, c->name, 0, "raised",
                        "UIDNEXT %" PRIu32 " not above UID %" PRIu32 " in use", mb->uidnext,
                        maxuid);
        c->uidnext = maxuid + 1;
    }
}

static void box_check_keywords(struct box_ctx *c)
{
    char *all = strdup(c->box->mb.keywords);

    if (all == NULL)
        abort();
    for (size_t i = 0; i < c->box->nmsgs; i++)
        store_kw_union(&all, c->box->msgs[i].keywords);
    if (!store_kw_equal(all, c->box->mb.keywords)) {
        store_rc_report(c->run, STORE_RC_KEYWORDS, c->name, 0, "added",
                        "keywords in use missing from the mailbox's list \"%s\"",
                        c->box->mb.keywords);
        free(c->box->mb.keywords);
        c->box->mb.keywords = all;
    } else {
        free(all);
    }
}

enum store_err store_rc_check_box(struct store_tx *tx, struct store_rc_run *run,
                                  struct store_rc_box *box, const struct store_rc_disk *disk,
                                  const uint64_t *refs, size_t nrefs, struct store_usage *usage,
                                  struct store_error *err)
{
    struct box_ctx c = {.tx = tx,
                        .run = run,
                        .box = box,
                        .disk = disk,
                        .name = box->mb.name,
                        .id = box->mb.id,
                        .uidnext = box->mb.uidnext,
                        .hm = box->mb.highestmodseq,
                        .repair = run->opt->repair};
    struct store_rc_dir *dir = store_rc_find_dir(disk, c.id);
    unsigned before = run->problems;
    enum store_err rc = STORE_OK;
    bool dropped;

    c.tomb_uids = calloc(box->ntombs + 1, sizeof(uint32_t));
    if (c.tomb_uids == NULL)
        abort();
    for (size_t i = 0; i < box->ntombs; i++)
        c.tomb_uids[i] = box->tombs[i].uid;
    store_rc_sort(c.tomb_uids, box->ntombs, sizeof(uint32_t), box_uid_cmp);

    box_check_fields(&c);
    rc = box_check_leftovers(&c, err);
    for (size_t i = 0; rc == STORE_OK && i < box->nmsgs; i++) {
        rc = box_check_msg(&c, &box->msgs[i], &dropped, err);
        if (!dropped)
            store_mbx_count_add(&c.after, &box->msgs[i]);
    }
    for (size_t i = 0; rc == STORE_OK && dir != NULL && i < dir->nfiles; i++)
        if (!box_referenced(refs, nrefs, c.id, dir->files[i].uid))
            rc = box_check_orphan(&c, &dir->files[i], err);
    box_check_keywords(&c);
    free(c.tomb_uids);

    box->mb.messages = c.after.messages;
    box->mb.unseen = c.after.unseen;
    box->mb.deleted = c.after.deleted;
    box->mb.bytes = c.after.bytes;
    box->mb.uidnext = c.uidnext;
    box->mb.highestmodseq = c.hm;
    usage->messages += c.after.messages;
    usage->bytes += c.after.bytes;
    if (rc == STORE_OK && c.repair && run->problems != before)
        rc = store_mbx_save(tx, &box->mb, err);
    return rc;
}
