/* reconstruct, a readable index as a whole: name records, mailbox directories and sidecars,
 * records of mailboxes that are gone, the user's counters and quota usage; each mailbox's own
 * records are store-reconstruct-box.c's. Runs inside the user's index transaction. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store-reconstruct-private.h"

static int check_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Every (mailbox id, UID) a message record names as its body file, sorted. */
static uint64_t *check_refs(const struct store_rc_index *idx, size_t *n_r)
{
    size_t n = 0, k = 0;
    uint64_t *refs;

    for (size_t i = 0; i < idx->nboxes; i++)
        n += idx->boxes[i].nmsgs;
    refs = calloc(n + 1, sizeof(*refs));
    if (refs == NULL)
        abort();
    for (size_t i = 0; i < idx->nboxes; i++)
        for (size_t j = 0; j < idx->boxes[i].nmsgs; j++) {
            const struct store_msg *m = &idx->boxes[i].msgs[j];
            refs[k++] = (uint64_t)m->body_mailbox << 32 | m->body_uid;
        }
    store_rc_sort(refs, n, sizeof(*refs), check_u64_cmp);
    *n_r = n;
    return refs;
}

static bool check_dir_referenced(const uint64_t *refs, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++) /* only for directories without a mailbox: rare */
        if (refs[i] >> 32 == id)
            return true;
    return false;
}

/* Name records against mailbox records: each mailbox is found under its own name. */
static enum store_err check_names(struct store_tx *tx, struct store_rc_run *run,
                                  struct store_rc_index *idx, struct store_error *err)
{
    bool *named = calloc(idx->nboxes + 1, sizeof(*named));
    struct store_buf k = {0};
    unsigned char idbuf[4];
    enum store_err rc = STORE_OK;

    if (named == NULL)
        abort();
    for (size_t i = 0; rc == STORE_OK && i < idx->nnames; i++) {
        struct store_rc_name *n = &idx->names[i];
        struct store_rc_box *box = n->id ? store_rc_find_box(idx, n->id) : NULL;
        if (box != NULL && strcmp(box->mb.name, n->name) == 0) {
            named[box - idx->boxes] = true;
            continue;
        }
        store_rc_report(run, STORE_RC_NAMES, NULL, 0, "removed",
                        "name record \"%s\" names no mailbox of that name", n->name);
        store_key_name(&k, STORE_KEY_NAME, n->name);
        if (run->opt->repair)
            rc = store_tx_del(tx, k.data, k.len, err);
    }
    for (size_t i = 0; rc == STORE_OK && i < idx->nboxes; i++) {
        struct store_mailbox *mb = &idx->boxes[i].mb;
        bool taken = false;
        if (named[i])
            continue;
        for (size_t j = 0; j < idx->nboxes; j++)
            taken |= named[j] && strcmp(idx->boxes[j].mb.name, mb->name) == 0;
        if (taken) {
            char *old = mb->name;
            if (asprintf(&mb->name, "Recovered/%08" PRIx32, mb->id) < 0)
                abort();
            store_rc_report(run, STORE_RC_NAMES, old, 0, "mailbox renamed",
                            "a second mailbox (id %08" PRIx32 ") of this name; renamed to %s",
                            mb->id, mb->name);
            free(old);
        } else {
            store_rc_report(run, STORE_RC_NAMES, mb->name, 0, "added", "name record missing");
        }
        store_key_name(&k, STORE_KEY_NAME, mb->name);
        store_be32_put(idbuf, mb->id);
        if (run->opt->repair)
            rc = store_tx_put(tx, k.data, k.len, idbuf, 4, err);
        if (rc == STORE_OK && run->opt->repair && taken)
            rc = store_mbx_save(tx, mb, err);
    }
    store_buf_free(&k);
    free(named);
    return rc;
}

/* The mailbox's directory exists and its sidecar agrees with the index. */
static enum store_err check_dir(struct store_rc_run *run, const struct store_mailbox *mb,
                                const struct store_rc_dir *dir, struct store_error *err)
{
    char *path;
    enum store_err rc = STORE_OK;

    if (dir == NULL) {
        store_rc_report(run, STORE_RC_DIR_MISSING, mb->name, 0, "directory recreated",
                        "mailbox directory %08" PRIx32 " missing", mb->id);
        if (!run->opt->repair)
            return STORE_OK;
        path = store_path_mailbox_dir(run->u.home, mb->id);
        if (mkdir(path, 0750) != 0 && errno != EEXIST)
            rc = store_fail_errno(err, errno, "mkdir %s", path);
        free(path);
    } else if (dir->name == NULL || strcmp(dir->name, mb->name) != 0 ||
               dir->uidvalidity != mb->uidvalidity) {
        if (dir->name == NULL)
            store_rc_report(run, STORE_RC_SIDECAR, mb->name, 0, "rewritten",
                            "sidecar missing or unreadable");
        else
            store_rc_report(run, STORE_RC_SIDECAR, mb->name, 0, "rewritten",
                            "sidecar says name \"%s\", UIDVALIDITY %" PRIu32
                            "; the index UIDVALIDITY %" PRIu32,
                            dir->name, dir->uidvalidity, mb->uidvalidity);
    } else {
        return STORE_OK;
    }
    if (rc == STORE_OK && run->opt->repair)
        rc = store_sidecar_write(run->u.home, mb, err);
    return rc;
}

/* Directories no mailbox record owns: a DELETE whose removal did not finish, or a CREATE that
 * never committed. Neither holds anything the index refers to. */
static enum store_err check_orphan_dirs(struct store_rc_run *run, const struct store_rc_index *idx,
                                        const struct store_rc_disk *disk, const uint64_t *refs,
                                        size_t nrefs, struct store_error *err)
{
    enum store_err rc = STORE_OK;

    for (size_t i = 0; rc == STORE_OK && i < disk->n; i++) {
        const struct store_rc_dir *d = &disk->dirs[i];
        if (store_rc_find_box(idx, d->id) != NULL || check_dir_referenced(refs, nrefs, d->id))
            continue;
        store_rc_report(run, STORE_RC_DIR_ORPHAN, NULL, 0, "directory removed",
                        "directory %08" PRIx32 " (sidecar name \"%s\") has no mailbox record, "
                        "%zu body files",
                        d->id, d->name ? d->name : "", d->nfiles);
        if (run->opt->repair) {
            char *path = store_path_mailbox_dir(run->u.home, d->id);
            rc = store_remove_tree(path, err);
            free(path);
        }
    }
    return rc;
}

static enum store_err check_stale(struct store_tx *tx, struct store_rc_run *run,
                                  const struct store_rc_index *idx, struct store_error *err)
{
    enum store_err rc = STORE_OK;

    if (idx->nstale == 0)
        return STORE_OK;
    store_rc_report(run, STORE_RC_STALE, NULL, 0, "removed",
                    "%zu records of mailboxes that do not exist", idx->nstale);
    for (size_t i = 0; rc == STORE_OK && run->opt->repair && i < idx->nstale; i++)
        rc = store_tx_del(tx, idx->stale[i].data, idx->stale[i].len, err);
    return rc;
}

/* Next mailbox id and last UIDVALIDITY only grow: they stay ahead of everything in use. */
static enum store_err check_counters(struct store_tx *tx, struct store_rc_run *run,
                                     const struct store_rc_index *idx, struct store_error *err)
{
    struct store_counters c = idx->counters;
    struct store_buf v = {0};
    unsigned char k[1];
    enum store_err rc;

    if (!idx->has_counters)
        c = (struct store_counters){1, 0};
    for (size_t i = 0; i < idx->nboxes; i++) {
        const struct store_mailbox *mb = &idx->boxes[i].mb;
        c.next_mailbox_id = mb->id >= c.next_mailbox_id ? mb->id + 1 : c.next_mailbox_id;
        c.last_uidvalidity =
            mb->uidvalidity > c.last_uidvalidity ? mb->uidvalidity : c.last_uidvalidity;
    }
    if (idx->nboxes == 0 ||
        (idx->has_counters && c.next_mailbox_id == idx->counters.next_mailbox_id &&
         c.last_uidvalidity == idx->counters.last_uidvalidity))
        return STORE_OK;
    store_rc_report(run, STORE_RC_USER_COUNTERS, NULL, 0, "raised",
                    "mailbox id and UIDVALIDITY counters %s",
                    idx->has_counters ? "behind the mailboxes in use" : "missing or unreadable");
    if (!run->opt->repair)
        return STORE_OK;
    store_rec_counters_put(&v, &c);
    rc = store_tx_put(tx, k, store_key_singleton(k, STORE_KEY_COUNTERS), v.data, v.len, err);
    store_buf_free(&v);
    return rc;
}

enum store_err store_rc_check_index(struct store_tx *tx, struct store_rc_run *run,
                                    struct store_rc_index *idx, struct store_rc_disk *disk,
                                    struct store_error *err)
{
    struct store_usage loaded = {0}, after = {0};
    size_t nrefs;
    uint64_t *refs = check_refs(idx, &nrefs);
    enum store_err rc;

    for (size_t i = 0; i < idx->nboxes; i++)
        for (size_t j = 0; j < idx->boxes[i].nmsgs; j++) {
            loaded.bytes += idx->boxes[i].msgs[j].size;
            loaded.messages++;
        }
    rc = check_names(tx, run, idx, err);
    for (size_t i = 0; rc == STORE_OK && i < idx->nboxes; i++) {
        struct store_rc_box *box = &idx->boxes[i];
        rc = check_dir(run, &box->mb, store_rc_find_dir(disk, box->mb.id), err);
        if (rc == STORE_OK)
            rc = store_rc_check_box(tx, run, box, disk, refs, nrefs, &after, err);
    }
    if (rc == STORE_OK)
        rc = check_orphan_dirs(run, idx, disk, refs, nrefs, err);
    if (rc == STORE_OK)
        rc = check_stale(tx, run, idx, err);
    if (rc == STORE_OK)
        rc = check_counters(tx, run, idx, err);
    if (rc == STORE_OK && idx->usage_bad)
        store_rc_report(run, STORE_RC_USAGE, NULL, 0, "recounted", "quota usage record unreadable");
    else if (rc == STORE_OK &&
             (loaded.bytes != idx->usage.bytes || loaded.messages != idx->usage.messages))
        store_rc_report(run, STORE_RC_USAGE, NULL, 0, "recounted",
                        "quota usage says %" PRIu64 " bytes in %" PRIu64
                        " messages; the mailboxes hold %" PRIu64 " in %" PRIu64,
                        idx->usage.bytes, idx->usage.messages, loaded.bytes, loaded.messages);
    if (rc == STORE_OK && run->opt->repair &&
        (idx->usage_bad || after.bytes != idx->usage.bytes ||
         after.messages != idx->usage.messages))
        rc = store_usage_save(tx, &after, err);
    free(refs);
    return rc;
}
