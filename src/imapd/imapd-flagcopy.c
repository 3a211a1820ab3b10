/* The session's copy of the selected mailbox's UIDs and flags, kept up to date from what changed
 * since (store_msg_changes_max), so that FETCH (UID FLAGS) over a large mailbox reads the
 * changes rather than every message record. */
#include <stdlib.h>
#include <string.h>

#include "imapd.h"

/* Past this many changes (plus an eighth of the copy) the whole list is cheaper to read again
 * than the changed records one by one. */
#define FLAGCOPY_CHANGES_MIN 256

void imap_flagcopy_clear(struct imap_flagcopy *fc)
{
    for (size_t i = 0; i < fc->n; i++)
        free(fc->v[i].keywords);
    free(fc->v);
    memset(fc, 0, sizeof(*fc));
}

void imap_flagcopy_set(struct imap_flagcopy *fc, struct store_msg *msgs, size_t n, uint64_t modseq)
{
    imap_flagcopy_clear(fc);
    fc->v = malloc((n + 1) * sizeof(*fc->v));
    if (fc->v == NULL)
        return; /* no copy: FETCH reads the records */
    for (size_t i = 0; i < n; i++) {
        fc->v[i] = (struct imap_flagrec){msgs[i].uid, msgs[i].flags, msgs[i].keywords};
        msgs[i].keywords = NULL; /* the copy owns them now */
        if (msgs[i].modseq > modseq)
            modseq = msgs[i].modseq;
    }
    fc->n = n;
    fc->modseq = modseq;
    fc->valid = true;
}

size_t imap_flagcopy_find(const struct imap_flagcopy *fc, uint32_t uid)
{
    size_t lo = 0, hi = fc->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fc->v[mid].uid < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Applies changed records (ascending UID) and expunged UIDs; false when a change does not fit
 * the copy (the caller then throws it away). */
static bool flagcopy_apply(struct imap_flagcopy *fc, struct store_msg *changed, size_t nchanged,
                           const uint32_t *gone, size_t ngone)
{
    size_t removed = 0, added = 0;

    for (size_t i = 0; i < ngone; i++) {
        size_t k = imap_flagcopy_find(fc, gone[i]);
        if (k < fc->n && fc->v[k].uid == gone[i]) {
            free(fc->v[k].keywords);
            fc->v[k] = (struct imap_flagrec){0};
            removed++;
        }
    }
    if (removed > 0) { /* UID 0 marks what went */
        size_t w = 0;
        for (size_t r = 0; r < fc->n; r++)
            if (fc->v[r].uid != 0)
                fc->v[w++] = fc->v[r];
        fc->n = w;
    }
    /* changed records of messages the copy holds, then new messages (UIDs only grow) */
    uint32_t last = fc->n > 0 ? fc->v[fc->n - 1].uid : 0;
    for (size_t i = 0; i < nchanged; i++) {
        struct store_msg *m = &changed[i];
        if (m->uid > last) {
            added++;
            continue;
        }
        size_t k = imap_flagcopy_find(fc, m->uid);
        if (k == fc->n || fc->v[k].uid != m->uid)
            return false; /* a message the copy should have held */
        free(fc->v[k].keywords);
        fc->v[k].flags = m->flags;
        fc->v[k].keywords = m->keywords;
        m->keywords = NULL;
    }
    if (added == 0)
        return true;
    struct imap_flagrec *v = realloc(fc->v, (fc->n + added + 1) * sizeof(*v));
    if (v == NULL)
        return false;
    fc->v = v;
    for (size_t i = nchanged - added; i < nchanged; i++) {
        fc->v[fc->n++] =
            (struct imap_flagrec){changed[i].uid, changed[i].flags, changed[i].keywords};
        changed[i].keywords = NULL;
    }
    return true;
}

enum store_err imap_flagcopy_refresh(struct imap_session *s, struct store_error *err)
{
    struct imap_flagcopy *fc = &s->sel.flags;
    struct store *st = imapd_store();
    struct store_msg *msgs = NULL;
    uint32_t *gone = NULL;
    size_t n = 0, ngone = 0;
    uint64_t highest;
    bool over = false;
    enum store_err rc;

    if (fc->valid) {
        rc = store_msg_changes_max(st, s->sel.owner, s->sel.id, fc->modseq,
                                   FLAGCOPY_CHANGES_MIN + fc->n / 8, &msgs, &n, &gone, &ngone,
                                   &highest, &over, err);
        if (rc != STORE_OK)
            return rc;
        if (!over && flagcopy_apply(fc, msgs, n, gone, ngone)) {
            if (highest > fc->modseq)
                fc->modseq = highest;
        } else {
            imap_flagcopy_clear(fc);
        }
        store_msg_list_free(&msgs, n);
        free(gone);
        if (fc->valid)
            return STORE_OK;
    }
    rc = store_msg_list(st, s->sel.owner, s->sel.id, 1, 0, &msgs, &n, err);
    if (rc == STORE_OK)
        imap_flagcopy_set(fc, msgs, n, 0);
    store_msg_list_free(&msgs, n);
    return rc;
}
