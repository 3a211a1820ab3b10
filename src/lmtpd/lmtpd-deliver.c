/* Delivery for lmtpd: one store_deliver() call for all recipients of a message, and the mapping
 * of each outcome to its LMTP reply (RFC 2033 4.2, enhanced codes from RFC 3463). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmtpd.h"

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

void lmtpd_deliver(struct store *st, struct store_spool *spool, struct lmtpd_rcpt *rcpts,
                   unsigned n)
{
    struct store_delivery *d = calloc(n, sizeof(*d));
    unsigned *idx = calloc(n, sizeof(*idx)), nd = 0;

    if (d == NULL || idx == NULL) {
        for (unsigned i = 0; i < n; i++)
            snprintf(rcpts[i].reply, sizeof(rcpts[i].reply), "451 4.3.0 <%s> out of memory",
                     rcpts[i].addr);
        free(d);
        free(idx);
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!rcpts[i].accepted)
            continue;
        d[nd] = (struct store_delivery){
            .spool = spool,
            .user = rcpts[i].user,
            .mailbox = rcpts[i].folder[0] != '\0' ? rcpts[i].folder : NULL,
            .fallback_inbox = true,
            .limits = rcpts[i].limits,
        };
        idx[nd++] = i;
    }
    if (nd > 0)
        store_deliver(st, d, nd);
    for (unsigned j = 0; j < nd; j++) {
        lmtpd_reply_for(&rcpts[idx[j]], &d[j]);
        snprintf(rcpts[idx[j]].detail, sizeof(rcpts[idx[j]].detail), "%s",
                 d[j].err.code == STORE_OK ? "" : d[j].err.msg);
    }
    free(d);
    free(idx);
}
