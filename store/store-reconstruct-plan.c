/* reconstruct without an index: the mailboxes and messages a new index gets from the mailbox
 * directories alone (sidecar: name and old UIDVALIDITY; body file: UID, INTERNALDATE, size and
 * content), and the transaction that writes them into a new file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "store-reconstruct-private.h"

static void plan_add(struct store_rc_plan *p, uint32_t id, char *name,
                     const struct store_rc_dir *dir)
{
    struct store_rc_newbox *b;

    p->boxes = store_rc_grow(p->boxes, &p->cap, p->n, sizeof(*p->boxes));
    b = &p->boxes[p->n++];
    memset(b, 0, sizeof(*b));
    b->mb.id = id;
    b->mb.name = name;
    if ((b->mb.keywords = strdup("")) == NULL)
        abort();
    b->dir = dir;
    b->old_uidvalidity = dir != NULL && dir->name != NULL ? dir->uidvalidity : 0;
}

static bool plan_has_name(const struct store_rc_plan *p, const char *name, size_t skip)
{
    for (size_t i = 0; i < p->n; i++)
        if (i != skip && strcmp(p->boxes[i].mb.name, name) == 0)
            return true;
    return false;
}

/* Recovered/<id>, with -2, -3... if a real mailbox is called that already. */
static char *plan_recovered_name(const struct store_rc_plan *p, uint32_t id)
{
    char *name;

    if (asprintf(&name, "Recovered/%08" PRIx32, id) < 0)
        abort();
    for (unsigned n = 2; plan_has_name(p, name, SIZE_MAX); n++) {
        free(name);
        if (asprintf(&name, "Recovered/%08" PRIx32 "-%u", id, n) < 0)
            abort();
    }
    return name;
}

/* Same name: the newest mailbox (greatest UIDVALIDITY) first. */
static int plan_name_cmp(const void *a, const void *b)
{
    const struct store_rc_newbox *x = a, *y = b;
    int c = strcmp(x->mb.name, y->mb.name);

    if (c != 0)
        return c;
    return x->old_uidvalidity > y->old_uidvalidity ? -1 : x->old_uidvalidity < y->old_uidvalidity;
}

static int plan_id_cmp(const void *a, const void *b)
{
    const struct store_rc_newbox *x = a, *y = b;

    return x->mb.id < y->mb.id ? -1 : x->mb.id > y->mb.id;
}

/* One mailbox per directory with a usable sidecar; clashes and directories without one are
 * filed under Recovered/ rather than dropped, since they may hold mail. */
static enum store_err plan_dirs(struct store_rc_run *run, struct store_rc_plan *p,
                                struct store_error *err)
{
    enum store_err rc = STORE_OK;
    char *canon;

    for (size_t i = 0; i < p->disk.n; i++) {
        struct store_rc_dir *d = &p->disk.dirs[i];
        if (d->name != NULL && store_name_canon(d->name, &canon, NULL) == STORE_OK)
            plan_add(p, d->id, canon, d);
    }
    store_rc_sort(p->boxes, p->n, sizeof(*p->boxes), plan_name_cmp);
    for (size_t i = 1, kept = 0; i < p->n; i++) {
        struct store_rc_newbox *b = &p->boxes[i];
        if (strcmp(b->mb.name, p->boxes[kept].mb.name) != 0) {
            kept = i;
            continue;
        }
        char *name = plan_recovered_name(p, b->mb.id);
        store_rc_report(run, STORE_RC_NAME_CLASH, b->mb.name, 0, "filed under the new name",
                        "directory %08" PRIx32 " (UIDVALIDITY %" PRIu32
                        ") claims this name too; it becomes %s",
                        b->mb.id, b->old_uidvalidity, name);
        free(b->mb.name);
        b->mb.name = name;
    }
    for (size_t i = 0; rc == STORE_OK && i < p->disk.n; i++) {
        struct store_rc_dir *d = &p->disk.dirs[i];
        if (d->name != NULL && store_name_canon(d->name, &canon, NULL) == STORE_OK) {
            free(canon);
            continue;
        }
        if (d->nfiles == 0) {
            store_rc_report(run, STORE_RC_DIR_ORPHAN, NULL, 0, "directory removed",
                            "directory %08" PRIx32 " has neither a sidecar nor body files", d->id);
            if (run->opt->repair) {
                char *path = store_path_mailbox_dir(run->u.home, d->id);
                rc = store_remove_tree(path, err);
                free(path);
            }
            continue;
        }
        plan_add(p, d->id, plan_recovered_name(p, d->id), d);
        store_rc_report(run, STORE_RC_SIDECAR_BAD, NULL, 0, "filed under Recovered/",
                        "directory %08" PRIx32 " has no usable sidecar (%zu body files); it "
                        "becomes %s",
                        d->id, d->nfiles, p->boxes[p->n - 1].mb.name);
    }
    return rc;
}

/* INBOX and every superior of a name exist in an index (RFC 3501 6.3.3 creates them too). */
static void plan_missing(struct store_rc_run *run, struct store_rc_plan *p)
{
    char *inbox = strdup("INBOX");

    if (inbox == NULL)
        abort();
    if (!plan_has_name(p, inbox, SIZE_MAX)) {
        plan_add(p, p->counters.next_mailbox_id++, inbox, NULL);
        store_rc_report(run, STORE_RC_REBUILT, inbox, 0, NULL, "made new: no directory claims it");
    } else {
        free(inbox);
    }
    for (size_t i = 0; i < p->n; i++) {
        for (const char *s = strchr(p->boxes[i].mb.name, '/'); s != NULL; s = strchr(s + 1, '/')) {
            char *sup = strndup(p->boxes[i].mb.name, (size_t)(s - p->boxes[i].mb.name));
            if (sup == NULL)
                abort();
            if (plan_has_name(p, sup, SIZE_MAX)) {
                free(sup);
                continue;
            }
            plan_add(p, p->counters.next_mailbox_id++, sup, NULL);
            store_rc_report(run, STORE_RC_REBUILT, sup, 0, NULL,
                            "made new as the superior of other mailboxes");
        }
    }
}

/* New UIDVALIDITYs above every old one: UIDs of expunged messages above the highest file left
 * no trace, so the old UIDVALIDITY cannot promise they will not come back (RFC 3501 2.3.1.1),
 * and MODSEQs start again (RFC 7162 3.1.2.1). */
static void plan_numbers(struct store_rc_plan *p)
{
    uint32_t last = 0, now = (uint32_t)time(NULL);

    for (size_t i = 0; i < p->disk.n; i++)
        last = p->disk.dirs[i].uidvalidity > last ? p->disk.dirs[i].uidvalidity : last;
    store_rc_sort(p->boxes, p->n, sizeof(*p->boxes), plan_id_cmp);
    for (size_t i = 0; i < p->n; i++) {
        struct store_mailbox *mb = &p->boxes[i].mb;
        const struct store_rc_dir *d = p->boxes[i].dir;
        mb->uidvalidity = last = now > last ? now : last + 1;
        uint32_t top = d != NULL && d->nfiles > 0 ? d->files[d->nfiles - 1].uid : 0;
        mb->uidnext = top == UINT32_MAX ? top : top + 1;
        mb->recent_uid = mb->uidnext - 1; /* nothing is \Recent after a rebuild */
        mb->highestmodseq = 1 + (d != NULL ? d->nfiles : 0);
    }
    p->counters.last_uidvalidity = last;
    store_rc_sort(p->boxes, p->n, sizeof(*p->boxes), plan_name_cmp);
}

enum store_err store_rc_plan_make(struct store_rc_run *run, struct store_rc_plan *p,
                                  struct store_error *err)
{
    enum store_err rc;

    memset(p, 0, sizeof(*p));
    rc = store_rc_scan_disk(run->u.home, &p->disk, err);
    if (rc != STORE_OK)
        return rc;
    p->counters.next_mailbox_id = p->disk.n > 0 ? p->disk.dirs[p->disk.n - 1].id + 1 : 1;
    rc = plan_dirs(run, p, err);
    if (rc != STORE_OK)
        return rc;
    plan_missing(run, p);
    plan_numbers(p);
    for (size_t i = 0; rc == STORE_OK && i < p->n; i++) {
        if (p->boxes[i].dir == NULL) {
            char *path = store_path_mailbox_dir(run->u.home, p->boxes[i].mb.id);
            if (mkdir(path, 0750) != 0 && errno != EEXIST)
                rc = store_fail_errno(err, errno, "mkdir %s", path);
            free(path);
        }
        if (rc == STORE_OK)
            rc = store_sidecar_write(run->u.home, &p->boxes[i].mb, err);
    }
    if (rc == STORE_OK)
        rc = store_fsync_dir(run->u.home, err);
    return rc;
}

struct build_ctx {
    struct store_rc_run *run;
    struct store_rc_plan *p;
};

static enum store_err build_box(struct store_tx *tx, struct build_ctx *c, struct store_rc_newbox *b,
                                struct store_error *err)
{
    struct store_mailbox *mb = &b->mb;
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_buf v = {0};
    enum store_err rc = STORE_OK;

    mb->messages = mb->unseen = mb->deleted = 0;
    mb->bytes = 0;
    for (size_t i = 0; rc == STORE_OK && b->dir != NULL && i < b->dir->nfiles; i++) {
        const struct store_rc_file *f = &b->dir->files[i];
        struct store_msg m = {.uid = f->uid,
                              .internaldate = f->mtime,
                              .modseq = 2 + i,
                              .body_mailbox = mb->id,
                              .body_uid = f->uid};
        struct store_mime mime;
        char *path = store_path_body(c->run->u.home, mb->id, f->uid);
        rc = store_rc_read_mime(path, &mime, &m.header_size, &m.size, err);
        free(path);
        if (rc != STORE_OK)
            break;
        rc = store_msgrec_save(tx, mb->id, &m, 0, err);
        store_rec_mime_put(&v, &mime);
        store_mime_clear(&mime);
        if (rc == STORE_OK)
            rc = store_tx_put(tx, k, store_key_msg(k, STORE_KEY_MIME, mb->id, m.uid), v.data, v.len,
                              err);
        store_mbx_count_add(mb, &m);
    }
    store_buf_free(&v);
    if (rc == STORE_OK)
        rc = store_mbx_save(tx, mb, err);
    store_key_name(&v, STORE_KEY_NAME, mb->name);
    store_be32_put(k, mb->id);
    if (rc == STORE_OK)
        rc = store_tx_put(tx, v.data, v.len, k, 4, err);
    /* Subscriptions are gone with the index: every mailbox is subscribed, so none hides. */
    store_key_name(&v, STORE_KEY_SUBSCRIPTION, mb->name);
    if (rc == STORE_OK)
        rc = store_tx_put(tx, v.data, v.len, "1", 1, err);
    store_buf_free(&v);
    c->p->usage.messages += mb->messages;
    c->p->usage.bytes += mb->bytes;
    return rc;
}

static enum store_err build_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct build_ctx *c = vctx;
    unsigned char k[1];
    struct store_buf v = {0};
    enum store_err rc = STORE_OK;

    c->p->usage = (struct store_usage){0};
    for (size_t i = 0; rc == STORE_OK && i < c->p->n; i++)
        rc = build_box(tx, c, &c->p->boxes[i], err);
    if (rc == STORE_OK)
        rc = store_usage_save(tx, &c->p->usage, err);
    if (rc == STORE_OK) {
        store_rec_counters_put(&v, &c->p->counters);
        rc = store_tx_put(tx, k, store_key_singleton(k, STORE_KEY_COUNTERS), v.data, v.len, err);
    }
    store_buf_free(&v);
    return rc;
}

enum store_err store_rc_plan_build(struct store_rc_run *run, struct store_rc_plan *p,
                                   const char *path, struct store_error *err)
{
    struct build_ctx c = {run, p};

    return store_tx_run(run->u.st, path, STORE_TX_CREATE, build_fn, &c, err);
}

void store_rc_plan_free(struct store_rc_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        store_mailbox_clear(&p->boxes[i].mb);
    free(p->boxes);
    store_rc_disk_free(&p->disk);
    memset(p, 0, sizeof(*p));
}
