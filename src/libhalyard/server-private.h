/* Internals shared by server.c and conn.c; not for daemons. */
#ifndef HALYARD_SERVER_PRIVATE_H
#define HALYARD_SERVER_PRIVATE_H

#include <gnutls/gnutls.h>
#include <systemd/sd-event.h>

#include "server.h"
#include "tls.h"

#define SERVER_MAX_LISTENERS 16

struct listener {
    struct server *srv;
    int fd;
    bool tls;
    sd_event_source *source;
};

struct server {
    const struct proto *proto;
    const char *conf_path;
    struct conf *conf;
    sd_event *event;
    struct tls_ctx *tls;
    struct pool *pool;
    struct listener listeners[SERVER_MAX_LISTENERS];
    unsigned nlisteners;
    char *hostname;
    char *banner;
    /* NOT REFRESHABLE: fixed at start */
    long maxsessions, maxthreads, numprocesses;
    /* REFRESHABLE */
    uint64_t idle_usec, login_idle_usec;
    struct access_rules *allowed, *denied; /* domainallowed / domainnotallowed (NULL: empty) */
    unsigned sessions, refusing;
    struct conn *conns; /* every open connection, doubly linked */
    uint64_t next_conn_id;
    bool stopping;
    sd_event_source *drain_timer;
};

/* conn.c: takes ownership of fd (accepted, non-blocking). refuse: log, write the "too many"
 * reply and close. The connection may already be gone when this returns. */
void conn_new(struct server *srv, int fd, bool tls, bool refuse);
/* conn.c: server is stopping: say goodbye and close. */
void conn_shutdown(struct conn *c);
/* server.c: ends the loop once a stopping server has no connections or jobs left. */
void server_exit_if_drained(struct server *s);
/* server.c: whether a filter (service.<svc>.domainallowed / domainnotallowed) needs the
 * client's name, to be looked up on the pool before server_filters_allow; and whether the
 * filters let peer in (a refusal is journalled for c, naming the filter). */
bool server_filters_need_name(const struct server *s);
bool server_filters_allow(struct server *s, struct conn *c, struct access_peer *peer);
/* conn.c: the next connection in srv->conns. */
struct conn *conn_next(const struct conn *c);
/* conn.c: close now without further output. */
void conn_abort(struct conn *c);

#endif
