/* enpd: the event notification daemon (Sun's ENS, as the seed configures it): publishers send
 * events under a key, every connection subscribed to that key gets them. Its line protocol is
 * in docs/enp.md. One process, one event loop: the subscription table is in memory. */
#ifndef HALYARD_ENPD_H
#define HALYARD_ENPD_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

struct enp_key;

/* A connection: what it subscribed to. */
struct enp_session {
    struct conn *conn;
    struct enp_key **keys;
    size_t nkeys, cap;
    bool dropped;    /* a slow subscriber being closed: no more events */
    bool discarding; /* skipping the rest of an over-long line */
};

/* The subscription table (enpd-subs.c). Subscribing twice to one key is one subscription.
 * enp_subscribe returns 0, 1 when already subscribed, -1 past max keys for the session. */
int enp_subscribe(struct enp_session *s, const char *key, size_t len, size_t max);
/* 0, or -1 when s was not subscribed to key. */
int enp_unsubscribe(struct enp_session *s, const char *key, size_t len);
void enp_unsubscribe_all(struct enp_session *s);
/* Calls fn for every session subscribed to key; fn may not change subscriptions of others
 * but may drop the session it is given (enp_unsubscribe_all). Returns how many. */
size_t enp_each_subscriber(const char *key, size_t len,
                           void (*fn)(struct enp_session *s, void *ctx), void *ctx);
/* Keys with at least one subscriber. */
size_t enp_key_count(void);

#endif
