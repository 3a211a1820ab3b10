/* A bounded thread pool for blocking work (store, LDAP, password hashing). Jobs run on at most
 * max_threads threads; their completions run back on the event loop thread. */
#ifndef HALYARD_POOL_H
#define HALYARD_POOL_H

#include <systemd/sd-event.h>

struct pool;

typedef void pool_fn(void *arg);

/* Threads start lazily, up to max_threads (>= 1). Returns 0 or -errno. */
int pool_new(sd_event *event, unsigned max_threads, struct pool **pool_r);

/* Queues work(arg) on a pool thread; done(arg) then runs on the event loop. Returns 0 or
 * -ENOMEM. Neither callback may be NULL. */
int pool_submit(struct pool *pool, pool_fn *work, pool_fn *done, void *arg);

/* Jobs queued or running. */
unsigned pool_pending(const struct pool *pool);

/* Waits for running and queued jobs to finish (their done callbacks run), stops the threads. */
void pool_free(struct pool **pool);

#endif
