/* Delivery shared by lmtpd and deliver(1): recipients resolved to store users, the message spooled
 * once and delivered to all of them in one store call. */
#ifndef HALYARD_LMTPD_H
#define HALYARD_LMTPD_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lmtpd-parse.h"
#include "server.h"
#include "store.h"

/* RFC 5321 section 4.5.3.1.8: at least 100 recipients must be accepted. */
#define LMTPD_MAX_RCPTS 1000

struct lmtpd_rcpt {
    char addr[LMTP_PATH_MAX + 1];
    bool accepted;                  /* RCPT got 250: DATA owes it a reply */
    char user[STORE_USER_MAX + 1];  /* the store user the address resolved to */
    char folder[LMTP_PATH_MAX + 1]; /* the +detail folder to try first, or "" */
    struct store_limits limits;
    /* the reply for this recipient: RCPT's at first, then DATA's */
    char reply[LMTP_PATH_MAX + 128];
    /* why a delivery failed, for the journal (the store's message; never sent to the client) */
    char detail[STORE_ERRMSG_MAX];
    bool fold_due; /* the user's delivery journal wants folding (store_fold) */
};

/* Resolves r->addr to a store user (on a pool thread): fills user, folder and limits and sets
 * accepted, or writes the refusal into reply (550 5.1.1 unknown user, 452 4.3.1 store busy...). */
void lmtpd_rcpt_resolve(struct store *st, const struct conf *conf, struct lmtpd_rcpt *r);

/* Delivers the finished spool to every accepted recipient (on a pool thread) and writes each
 * one's final reply: 250 only after its copy is committed (RFC 2033 4.2). */
void lmtpd_deliver(struct store *st, struct store_spool *spool, struct lmtpd_rcpt *rcpts,
                   unsigned n);

#endif
