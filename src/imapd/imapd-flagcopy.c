/* The session's copy of the selected mailbox's UIDs and flags, kept up to date from what changed
 * since (store_msg_changes_max), so that SELECT and FETCH (UID FLAGS) of a large mailbox read
 * the changes rather than every message record. A session leaving a large mailbox leaves its
 * copy to the process for the next session that selects it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "imapd.h"

/* Past this many changes (plus an eighth of the copy) the whole list is cheaper to read again
 * than the changed records one by one. */
#define FLAGCOPY_CHANGES_MIN 256

/* Copies the process keeps between sessions, and the least messages a mailbox must hold for its
 * copy to be kept (a small one is read whole in less than a millisecond). */
#define FLAGCOPY_KEEP     8
#define FLAGCOPY_KEEP_MIN 1024

struct kept_copy {
    char *owner;
    uint32_t id, uidvalidity;
    uint64_t used; /* kept_clock when left, for choosing which to drop */
    struct imap_flagcopy fc;
};

static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;
static struct kept_copy kept[FLAGCOPY_KEEP];
static uint64_t kept_clock;

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

static void kept_drop(struct kept_copy *k)
{
    free(k->owner);
    imap_flagcopy_clear(&k->fc);
    memset(k, 0, sizeof(*k));
}

void imap_flagcopy_leave(struct imap_selected *sel)
{
    struct kept_copy *slot = NULL;
    char *owner;

    if (!sel->flags.valid || sel->flags.n < FLAGCOPY_KEEP_MIN || sel->owner == NULL ||
        (owner = strdup(sel->owner)) == NULL)
        return;
    pthread_mutex_lock(&kept_mu);
    for (size_t i = 0; i < FLAGCOPY_KEEP && slot == NULL; i++)
        if (kept[i].owner != NULL && kept[i].id == sel->id && strcmp(kept[i].owner, owner) == 0)
            slot = &kept[i]; /* an older copy of the same mailbox */
    for (size_t i = 0; i < FLAGCOPY_KEEP && slot == NULL; i++)
        if (kept[i].owner == NULL)
            slot = &kept[i];
    if (slot == NULL) { /* all taken: the least recently left goes */
        slot = &kept[0];
        for (size_t i = 1; i < FLAGCOPY_KEEP; i++)
            if (kept[i].used < slot->used)
                slot = &kept[i];
    }
    kept_drop(slot);
    *slot = (struct kept_copy){owner, sel->id, sel->uidvalidity, ++kept_clock, sel->flags};
    memset(&sel->flags, 0, sizeof(sel->flags));
    pthread_mutex_unlock(&kept_mu);
}

void imap_flagcopy_take(struct imap_flagcopy *fc, const char *owner, uint32_t id,
                        uint32_t uidvalidity)
{
    imap_flagcopy_clear(fc);
    pthread_mutex_lock(&kept_mu);
    for (size_t i = 0; i < FLAGCOPY_KEEP; i++) {
        struct kept_copy *k = &kept[i];
        if (k->owner == NULL || k->id != id || strcmp(k->owner, owner) != 0)
            continue;
        if (k->uidvalidity == uidvalidity) { /* another UIDVALIDITY: not the same mailbox */
            *fc = k->fc;
            memset(&k->fc, 0, sizeof(k->fc));
        }
        kept_drop(k);
        break;
    }
    pthread_mutex_unlock(&kept_mu);
}

void imap_flagcopy_stored(struct imap_flagcopy *fc, struct store_msg *result, size_t n)
{
    uint64_t top = 0;

    for (size_t i = 0; i < n; i++)
        top = result[i].modseq > top ? result[i].modseq : top;
    /* The copy may take the result as the mailbox at MODSEQ top only when the result holds
     * every message it holds (so no change at top can lie outside it) and top follows the
     * copy's MODSEQ directly (so no change lies between). A STORE that changed nothing may
     * show another session's change at top, made to messages beyond those it names. */
    if (!fc->valid || top != fc->modseq + 1 || n != fc->n)
        return;
    for (size_t i = 0, k = 0; i < n; i++, k++) {
        if (k >= fc->n || fc->v[k].uid != result[i].uid) /* results come in UID order */
            k = imap_flagcopy_find(fc, result[i].uid);
        if (k == fc->n || fc->v[k].uid != result[i].uid) {
            imap_flagcopy_clear(fc); /* a message the copy should have held */
            return;
        }
        free(fc->v[k].keywords);
        fc->v[k].flags = result[i].flags;
        fc->v[k].keywords = result[i].keywords;
        result[i].keywords = NULL;
    }
    fc->modseq = top;
}

enum store_err imap_flagcopy_refresh(struct imap_session *s, uint64_t floor,
                                     struct store_error *err)
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
        /* a HIGHESTMODSEQ below the copy's: not the mailbox it was taken from */
        if (!over && highest >= fc->modseq && flagcopy_apply(fc, msgs, n, gone, ngone)) {
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
        imap_flagcopy_set(fc, msgs, n, floor);
    store_msg_list_free(&msgs, n);
    return rc;
}
