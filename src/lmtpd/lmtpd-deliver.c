/* Delivery for lmtpd and deliver(1): group commit of concurrent deliveries into one store call,
 * and the mapping of each outcome to its LMTP reply (RFC 2033 4.2, codes from RFC 3463). */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmtpd.h"
#include "notify.h"

static void lmtpd_reply_for(struct lmtpd_rcpt *r, const struct store_delivery *d)
{
    switch (d->err.code) {
    case STORE_OK:
        snprintf(r->reply, sizeof(r->reply), "250 2.0.0 <%s> delivered as UID %u", r->addr, d->uid);
        break;
    case STORE_EQUOTA:
        snprintf(r->reply, sizeof(r->reply), "552 5.2.2 <%s> mailbox full", r->addr);
        break;
    case STORE_ENOTFOUND:
        snprintf(r->reply, sizeof(r->reply), "550 5.1.1 <%s> no such user here", r->addr);
        break;
    case STORE_ENOSPC:
        snprintf(r->reply, sizeof(r->reply), "452 4.3.1 <%s> insufficient system storage", r->addr);
        break;
    case STORE_EBUSY:
        snprintf(r->reply, sizeof(r->reply), "452 4.3.1 <%s> mailbox busy, try again later",
                 r->addr);
        break;
    default:
        snprintf(r->reply, sizeof(r->reply), "451 4.3.0 <%s> local error in delivery", r->addr);
        break;
    }
}

/* Group commit, per user. Deliveries to the same user that finish at the same moment on
 * different pool threads are filed by one store_deliver() call: the first thread to arrive
 * commits for everyone queued (one index transaction and one directory fsync instead of one per
 * message), the others wait for their outcome. Different users never wait for each other (each
 * user hashes to a lane; two users sharing a lane only share its queue); a message for several
 * users is filed directly. The spool's own fsync has already happened on each caller's thread. */
struct lmtpd_batch {
    struct lmtpd_batch *next;
    struct store_spool *spool;
    struct lmtpd_rcpt *rcpts;
    unsigned n;
    bool done;
};

#define LMTPD_LANES 64

struct lmtpd_lane {
    struct lmtpd_batch *queue;
    bool busy;
};

static pthread_mutex_t lmtpd_gc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lmtpd_gc_cond = PTHREAD_COND_INITIALIZER;
static struct lmtpd_lane lmtpd_lanes[LMTPD_LANES];

/* The single user all accepted recipients resolved to, or NULL. */
static const char *lmtpd_only_user(const struct lmtpd_rcpt *rcpts, unsigned n)
{
    const char *user = NULL;

    for (unsigned i = 0; i < n; i++) {
        if (!rcpts[i].accepted)
            continue;
        if (user != NULL && strcmp(user, rcpts[i].user) != 0)
            return NULL;
        user = rcpts[i].user;
    }
    return user;
}

static unsigned lmtpd_lane_of(const char *user)
{
    uint32_t h = 2166136261u; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)user; *p != '\0'; p++)
        h = (h ^ *p) * 16777619u;
    return h % LMTPD_LANES;
}

static void lmtpd_fail_all(struct lmtpd_batch *list, const char *why)
{
    for (; list != NULL; list = list->next)
        for (unsigned i = 0; i < list->n; i++)
            if (list->rcpts[i].accepted) {
                snprintf(list->rcpts[i].reply, sizeof(list->rcpts[i].reply),
                         "451 4.3.0 <%s> local error in delivery", list->rcpts[i].addr);
                snprintf(list->rcpts[i].detail, sizeof(list->rcpts[i].detail), "%s", why);
            }
}

/* Files every accepted recipient of every batch in list with one store call. */
static void lmtpd_commit(struct store *st, struct lmtpd_batch *list)
{
    size_t total = 0, k = 0;
    struct store_delivery *d;
    struct lmtpd_rcpt **who;

    for (struct lmtpd_batch *b = list; b != NULL; b = b->next)
        for (unsigned i = 0; i < b->n; i++)
            total += b->rcpts[i].accepted;
    if (total == 0)
        return;
    d = calloc(total, sizeof(*d));
    who = calloc(total, sizeof(*who));
    if (d == NULL || who == NULL) {
        lmtpd_fail_all(list, "out of memory");
        free(d);
        free(who);
        return;
    }
    for (struct lmtpd_batch *b = list; b != NULL; b = b->next) {
        for (unsigned i = 0; i < b->n; i++) {
            struct lmtpd_rcpt *r = &b->rcpts[i];
            if (!r->accepted)
                continue;
            d[k] = (struct store_delivery){
                .spool = b->spool,
                .user = r->user,
                .mailbox = r->folder[0] != '\0' ? r->folder : NULL,
                .fallback_inbox = true,
                .limits = r->limits,
            };
            who[k++] = r;
        }
    }
    store_deliver(st, d, total);
    for (size_t j = 0; j < total; j++) {
        lmtpd_reply_for(who[j], &d[j]);
        snprintf(who[j]->detail, sizeof(who[j]->detail), "%s",
                 d[j].err.code == STORE_OK ? "" : d[j].err.msg);
        who[j]->fold_due = d[j].fold_due;
        if (d[j].err.code == STORE_EQUOTA)
            notify_overquota(d[j].user, d[j].mailbox);
    }
    free(d);
    free(who);
}

void lmtpd_deliver(struct store *st, struct store_spool *spool, struct lmtpd_rcpt *rcpts,
                   unsigned n)
{
    struct lmtpd_batch me = {.spool = spool, .rcpts = rcpts, .n = n};
    const char *user = lmtpd_only_user(rcpts, n);
    struct lmtpd_lane *lane;

    if (user == NULL) { /* several users (or none): nothing to share a commit with */
        lmtpd_commit(st, &me);
        return;
    }
    lane = &lmtpd_lanes[lmtpd_lane_of(user)];
    pthread_mutex_lock(&lmtpd_gc_lock);
    me.next = lane->queue;
    lane->queue = &me;
    while (!me.done && lane->busy)
        pthread_cond_wait(&lmtpd_gc_cond, &lmtpd_gc_lock);
    /* either someone filed this batch already, or this thread commits what is queued */
    while (!me.done) {
        struct lmtpd_batch *list = lane->queue;
        lane->queue = NULL;
        lane->busy = true;
        pthread_mutex_unlock(&lmtpd_gc_lock);
        lmtpd_commit(st, list);
        pthread_mutex_lock(&lmtpd_gc_lock);
        for (struct lmtpd_batch *b = list; b != NULL;) {
            struct lmtpd_batch *next = b->next; /* b may vanish once done is seen */
            b->done = true;
            b = next;
        }
        lane->busy = false;
        pthread_cond_broadcast(&lmtpd_gc_cond);
    }
    pthread_mutex_unlock(&lmtpd_gc_lock);
}
