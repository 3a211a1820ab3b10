/* Connections: non-blocking reads and writes, optional TLS (implicit or STARTTLS), idle timer,
 * and a pause while a pool job runs. Buffers exist only while they hold bytes, so an idle
 * connection costs its struct and two event sources. */
#include "server-private.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#define CONN_READ_CHUNK 16384
#define CONN_IN_MAX     (256 * 1024) /* a protocol that consumes nothing by then is broken */
#define CONN_OUT_HIGH   (256 * 1024) /* stop reading input while this much output waits */

struct conn {
    struct server *srv;
    struct conn *prev, *next;
    int fd;
    gnutls_session_t tls;
    struct tls_peer_cert *peer_cert; /* a client certificate local.tls.cafile verified */
    sd_event_source *io, *timer;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_off, out_len, out_cap;
    size_t tls_retry; /* gnutls_record_send must be retried with the same length */
    uint64_t idle_usec;
    void *data;
    char *user;
    unsigned jobs;
    bool on_tls_port, handshaking, starttls_pending, closing, refused, dead, in_event, opened;
    bool shutdown_pending; /* the server is stopping; say goodbye once the job in flight ends */
    struct conn_deferred *deferred; /* conn_defer() call waiting for its time */
    bool busy;                      /* conn_set_busy(): input waits */
    bool drain_again;               /* on_drain wants another round: wake on EPOLLOUT */
    uint64_t written;               /* bytes ever queued, to see whether on_drain produced */
    char session[24];
    char client[64];
    struct log_ctx log;
};

struct conn_deferred;
static void conn_update_events(struct conn *c);
static void conn_finish(struct conn *c);
static void conn_deferred_free(struct conn *c);
static bool conn_flush(struct conn *c);

static void conn_format_peer(int fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char addr[INET6_ADDRSTRLEN];

    snprintf(buf, size, "unknown");
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
        snprintf(buf, size, "%s:%u", addr, ntohs(sin->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        /* a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; log them as IPv4 */
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], addr, sizeof(addr));
            snprintf(buf, size, "%s:%u", addr, ntohs(sin6->sin6_port));
        } else {
            inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
            snprintf(buf, size, "[%s]:%u", addr, ntohs(sin6->sin6_port));
        }
    } else if (ss.ss_family == AF_UNIX) {
        snprintf(buf, size, "local");
    }
}

static int conn_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
    struct conn *c = userdata;

    conn_info(c, "idle timeout: disconnecting");
    c->in_event = true;
    if (c->opened && !c->closing && c->srv->proto->on_idle != NULL)
        c->srv->proto->on_idle(c);
    c->closing = true;
    conn_flush(c);
    c->in_event = false;
    /* a client that stopped reading cannot hold the connection open: drop what is queued */
    c->dead = true;
    conn_finish(c);
    return 0;
}

static void conn_arm_timer(struct conn *c)
{
    if (c->timer == NULL)
        return;
    if (c->idle_usec == 0 || c->dead) {
        sd_event_source_set_enabled(c->timer, SD_EVENT_OFF);
        return;
    }
    sd_event_source_set_time_relative(c->timer, c->idle_usec);
    sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

void conn_set_idle_timeout(struct conn *c, uint64_t seconds)
{
    c->idle_usec = seconds * 1000000ULL;
    conn_arm_timer(c);
}

static void conn_destroy(struct conn *c)
{
    struct server *srv = c->srv;

    if (c->opened && srv->proto->on_close != NULL)
        srv->proto->on_close(c);
    if (c->refused)
        srv->refusing--;
    else
        srv->sessions--;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    sd_event_source_disable_unref(c->io);
    sd_event_source_disable_unref(c->timer);
    conn_deferred_free(c);
    if (c->tls != NULL)
        gnutls_deinit(c->tls);
    tls_peer_cert_free(&c->peer_cert);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c->user);
    free(c);
    if (srv->stopping)
        server_exit_if_drained(srv);
}

/* Frees the connection once nothing refers to it any more. */
static void conn_finish(struct conn *c)
{
    if (c->in_event || c->jobs > 0)
        return;
    if (c->dead || (c->closing && c->out_len == c->out_off && !c->handshaking))
        conn_destroy(c);
}

void conn_abort(struct conn *c)
{
    c->dead = true;
    c->closing = true;
    conn_finish(c);
}

static void conn_fail(struct conn *c, const char *what, const char *why)
{
    if (!c->dead && !c->closing)
        conn_info(c, "%s: %s", what, why);
    c->dead = true;
    c->closing = true;
}

/* Writes queued output. Returns false when the connection failed. */
static bool conn_flush(struct conn *c)
{
    while (c->out_off < c->out_len && !c->dead) {
        size_t len = c->out_len - c->out_off;
        ssize_t n;
        if (c->tls != NULL) {
            if (c->tls_retry > 0)
                len = c->tls_retry;
            else if (len > CONN_READ_CHUNK)
                len = CONN_READ_CHUNK;
            n = gnutls_record_send(c->tls, c->out + c->out_off, len);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
                c->tls_retry = len;
                return true;
            }
            c->tls_retry = 0;
            if (n < 0) {
                conn_fail(c, "TLS write failed", gnutls_strerror((int)n));
                return false;
            }
        } else {
            n = send(c->fd, c->out + c->out_off, len, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
            if (n < 0) {
                conn_fail(c, "write failed", strerror(errno));
                return false;
            }
        }
        c->out_off += (size_t)n;
    }
    if (c->out_off == c->out_len) {
        free(c->out);
        c->out = NULL;
        c->out_off = c->out_len = c->out_cap = 0;
    }
    return true;
}

int conn_write(struct conn *c, const void *data, size_t len)
{
    if (c->dead)
        return -1;
    if (c->out_len + len > c->out_cap) {
        if (c->out_off > 0 && c->tls_retry == 0) {
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        size_t cap = c->out_cap ? c->out_cap : 256;
        while (cap < c->out_len + len)
            cap *= 2;
        if (cap != c->out_cap) {
            char *p = realloc(c->out, cap);
            if (p == NULL) {
                conn_fail(c, "output", "out of memory");
                return -1;
            }
            c->out = p;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    c->written += len;
    /* writes made inside an event handler are flushed when it returns */
    if (!c->in_event && !c->handshaking) {
        conn_flush(c);
        conn_update_events(c);
    }
    return 0;
}

int conn_puts(struct conn *c, const char *s)
{
    return conn_write(c, s, strlen(s));
}

int conn_printf(struct conn *c, const char *fmt, ...)
{
    char buf[1024];
    char *big = NULL;
    va_list ap;
    int n, r;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(buf))
        return conn_write(c, buf, (size_t)n);
    va_start(ap, fmt);
    n = vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    r = conn_write(c, big, (size_t)n);
    free(big);
    return r;
}

size_t conn_pending_output(const struct conn *c)
{
    return c->out_len - c->out_off;
}

void conn_close(struct conn *c)
{
    c->closing = true;
    if (!c->in_event) {
        conn_update_events(c);
        conn_finish(c);
    }
}

void conn_starttls(struct conn *c)
{
    c->starttls_pending = true;
}

bool conn_tls_active(const struct conn *c)
{
    return c->tls != NULL && !c->handshaking;
}

unsigned conn_tls_bits(const struct conn *c)
{
    return conn_tls_active(c) ? tls_session_bits(c->tls) : 0;
}

const struct tls_peer_cert *conn_tls_peer_cert(const struct conn *c)
{
    return conn_tls_active(c) ? c->peer_cert : NULL;
}

char *conn_tls_channel_binding(const struct conn *c, bool exporter)
{
    if (!conn_tls_active(c))
        return NULL;
    return tls_session_channel_binding(c->tls,
                                       exporter ? GNUTLS_CB_TLS_EXPORTER : GNUTLS_CB_TLS_UNIQUE);
}

bool conn_on_tls_port(const struct conn *c)
{
    return c->on_tls_port;
}

void *conn_data(const struct conn *c)
{
    return c->data;
}

void conn_set_data(struct conn *c, void *data)
{
    c->data = data;
}

struct server *conn_server(const struct conn *c)
{
    return c->srv;
}

const struct log_ctx *conn_log(const struct conn *c)
{
    return &c->log;
}

const char *conn_client(const struct conn *c)
{
    return c->client;
}

void conn_set_user(struct conn *c, const char *user)
{
    free(c->user);
    c->user = user != NULL ? strdup(user) : NULL;
    c->log.user = c->user;
}

int conn_peer(const struct conn *c, struct access_peer *peer_r)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    memset(peer_r, 0, sizeof(*peer_r));
    if (getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    return access_peer_from_sockaddr(peer_r, (struct sockaddr *)&ss, len);
}

const char *conn_service(const struct conn *c)
{
    const struct proto *p = c->srv->proto;

    if (c->on_tls_port && p->fd_tls != NULL)
        return p->fd_tls;
    if (conn_tls_active(c) && p->fd_tls != NULL)
        return p->fd_tls;
    return p->fd_plain;
}

static bool conn_wants_input(const struct conn *c)
{
    return !c->closing && c->jobs == 0 && c->deferred == NULL && !c->busy && !c->starttls_pending &&
           c->out_len - c->out_off < CONN_OUT_HIGH;
}

static void conn_update_events(struct conn *c)
{
    uint32_t ev = 0;

    if (c->dead || c->io == NULL)
        return;
    if (c->handshaking) {
        ev = gnutls_record_get_direction(c->tls) ? EPOLLOUT : EPOLLIN;
    } else {
        if (conn_wants_input(c))
            ev |= EPOLLIN;
        if (c->out_off < c->out_len || c->drain_again)
            ev |= EPOLLOUT;
    }
    sd_event_source_set_io_events(c->io, ev);
}

/* The greeting, or the refusal when the connect-time filters keep the client out. */
static void conn_admit(struct conn *c, struct access_peer *peer)
{
    c->opened = true;
    if (peer != NULL && !server_filters_allow(c->srv, c, peer)) {
        if (c->srv->proto->on_denied != NULL)
            c->srv->proto->on_denied(c);
        c->closing = true;
        return;
    }
    if (c->srv->proto->on_open(c) < 0)
        c->closing = true;
}

/* A filter names hosts: the reverse and forward lookups run on the pool. */
struct conn_lookup {
    struct conn *c;
    struct access_peer peer;
};

static void conn_lookup_work(void *arg)
{
    struct conn_lookup *l = arg;

    access_resolve_dns(&l->peer);
}

static void conn_lookup_done(void *arg)
{
    struct conn_lookup *l = arg;
    struct conn *c = l->c;

    if (!c->dead && !c->closing)
        conn_admit(c, &l->peer);
    free(l);
}

static void conn_open(struct conn *c)
{
    struct access_peer peer;

    if (c->refused) {
        c->opened = true;
        conn_warning(c, "service.%s.maxsessions (%ld) reached: too many connections",
                     c->srv->proto->service, c->srv->maxsessions);
        c->srv->proto->on_refuse(c);
        c->closing = true;
        return;
    }
    if (access_rules_count(c->srv->allowed) == 0 && access_rules_count(c->srv->denied) == 0) {
        conn_admit(c, NULL);
        return;
    }
    if (conn_peer(c, &peer) < 0) {
        /* a unix socket, or a client already gone: no address for a filter to judge */
        conn_admit(c, NULL);
        return;
    }
    if (server_filters_need_name(c->srv)) {
        struct conn_lookup *l = malloc(sizeof(*l));
        if (l != NULL) {
            *l = (struct conn_lookup){.c = c, .peer = peer};
            if (conn_submit(c, conn_lookup_work, conn_lookup_done, l) == 0)
                return;
            free(l);
        }
        conn_warning(c, "cannot look up the client's name for the connect filters: the name "
                        "counts as unknown");
    }
    conn_admit(c, &peer);
}

static void conn_begin_tls(struct conn *c)
{
    int rc = tls_session_new(c->srv->tls, c->fd, &c->tls);

    if (rc < 0) {
        conn_fail(c, "TLS setup failed", gnutls_strerror(rc));
        return;
    }
    c->handshaking = true;
}

static void conn_handshake(struct conn *c)
{
    int rc = gnutls_handshake(c->tls);

    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED)
        return;
    if (rc < 0) {
        conn_fail(c, "TLS handshake failed", gnutls_strerror(rc));
        return;
    }
    c->handshaking = false;
    char *desc = gnutls_session_get_desc(c->tls);
    conn_info(c, "TLS established: %s", desc ? desc : "?");
    gnutls_free(desc);
    char why[512];
    switch (tls_session_peer_cert(c->srv->tls, c->tls, &c->peer_cert, why, sizeof(why))) {
    case 1:
        conn_info(c, "client certificate \"%s\" verified", c->peer_cert->subject);
        break;
    case -1: /* the session goes on; the certificate only cannot log in */
        conn_notice(c, "%s", why);
        break;
    }
    if (!c->opened)
        conn_open(c);
}

/* Hands buffered input to the protocol while it consumes and the connection accepts input. */
static void conn_process(struct conn *c)
{
    while (c->in_len > 0 && conn_wants_input(c) && !c->dead) {
        ssize_t n = c->srv->proto->on_input(c, c->in, c->in_len);
        if (n < 0) {
            c->dead = true;
            c->closing = true;
            break;
        }
        if (n == 0)
            break;
        if ((size_t)n > c->in_len)
            n = (ssize_t)c->in_len;
        memmove(c->in, c->in + n, c->in_len - (size_t)n);
        c->in_len -= (size_t)n;
    }
    if (c->starttls_pending && c->in_len > 0) {
        conn_notice(c, "discarding %zu bytes sent before the TLS handshake", c->in_len);
        c->in_len = 0;
    }
    if (c->in_len == 0 && c->in_cap > 0) {
        free(c->in);
        c->in = NULL;
        c->in_cap = 0;
    }
    if (c->in_len >= CONN_IN_MAX)
        conn_fail(c, "input", "protocol input limit exceeded");
}

/* Reads what is available. Returns false at end of input or on error. */
static bool conn_read(struct conn *c)
{
    for (int rounds = 0; rounds < 4; rounds++) {
        if (c->in_cap - c->in_len < CONN_READ_CHUNK) {
            size_t cap = c->in_len + CONN_READ_CHUNK;
            char *p = realloc(c->in, cap);
            if (p == NULL) {
                conn_fail(c, "input", "out of memory");
                return false;
            }
            c->in = p;
            c->in_cap = cap;
        }
        ssize_t n;
        if (c->tls != NULL) {
            n = gnutls_record_recv(c->tls, c->in + c->in_len, c->in_cap - c->in_len);
            if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
                return true;
            if (n < 0) {
                conn_fail(c, "TLS read failed", gnutls_strerror((int)n));
                return false;
            }
        } else {
            n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return true;
            if (n < 0) {
                conn_fail(c, "read failed", strerror(errno));
                return false;
            }
        }
        if (n == 0) {
            conn_fail(c, "disconnected", "client closed the connection");
            return false;
        }
        c->in_len += (size_t)n;
        if (c->in_len >= CONN_IN_MAX)
            return true;
        if (c->tls == NULL || gnutls_record_check_pending(c->tls) == 0)
            break;
    }
    return true;
}

/* Output drained: the protocol may produce more (streaming). A few rounds per wakeup keep one
 * big reply from starving other connections; then EPOLLOUT brings us back. */
static void conn_drain(struct conn *c)
{
    c->drain_again = false;
    for (int round = 0; !c->dead && c->out_off == c->out_len && c->srv->proto->on_drain != NULL &&
                        c->opened && !c->closing;
         round++) {
        if (round == 8) {
            c->drain_again = true;
            break;
        }
        uint64_t before = c->written;
        c->srv->proto->on_drain(c);
        conn_flush(c);
        if (c->written == before)
            break;
    }
}

static void conn_step(struct conn *c, uint32_t revents)
{
    if (c->handshaking) {
        conn_handshake(c);
        if (c->handshaking || c->dead)
            return;
    }
    if (revents & EPOLLOUT)
        conn_flush(c);
    if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && conn_wants_input(c)) {
        if (conn_read(c)) {
            conn_arm_timer(c);
        }
        conn_process(c);
    } else if ((revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN)) {
        conn_fail(c, "disconnected", "connection reset");
    }
    if (!c->dead)
        conn_flush(c);
    if (c->starttls_pending && c->out_off == c->out_len && !c->dead) {
        c->starttls_pending = false;
        conn_begin_tls(c);
        if (!c->dead)
            conn_handshake(c);
    }
    conn_drain(c);
    /* pending input may be processable again after output drained */
    if (!c->dead && c->in_len > 0 && conn_wants_input(c))
        conn_process(c);
    if (!c->dead)
        conn_flush(c);
}

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
    struct conn *c = userdata;

    c->in_event = true;
    conn_step(c, revents);
    c->in_event = false;
    conn_update_events(c);
    conn_finish(c);
    return 0;
}

void conn_new(struct server *srv, int fd, bool tls, bool refuse)
{
    struct conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        close(fd);
        return;
    }
    c->srv = srv;
    c->fd = fd;
    c->on_tls_port = tls;
    c->refused = refuse;
    if (refuse)
        srv->refusing++;
    else
        srv->sessions++;
    c->next = srv->conns;
    if (c->next != NULL)
        c->next->prev = c;
    srv->conns = c;
    snprintf(c->session, sizeof(c->session), "%x.%llx", (unsigned)getpid(),
             (unsigned long long)++srv->next_conn_id);
    conn_format_peer(fd, c->client, sizeof(c->client));
    c->log = (struct log_ctx){.session = c->session, .client = c->client};

    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    /* Replies leave in several writes (a FETCH's lines and body, TLS records); with Nagle's
     * algorithm the last of them would wait for the client's delayed ACK, 40 ms and more.
     * Fails harmlessly on a unix socket. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    if (sd_event_add_io(srv->event, &c->io, fd, EPOLLIN, conn_on_io, c) < 0 ||
        sd_event_add_time_relative(srv->event, &c->timer, CLOCK_MONOTONIC, UINT64_MAX / 2, 1000000,
                                   conn_on_timer, c) < 0) {
        log_ctx_msg(LOG_ERR, &c->log, "cannot watch connection");
        conn_abort(c);
        return;
    }
    c->idle_usec = srv->proto->has_login_timeout ? srv->login_idle_usec : srv->idle_usec;
    if (refuse)
        c->idle_usec = 10 * 1000000ULL; /* a refused TLS client gets 10 s to finish handshaking */
    conn_arm_timer(c);

    c->in_event = true;
    if (tls) {
        conn_begin_tls(c);
        if (!c->dead)
            conn_handshake(c);
    } else {
        conn_open(c);
    }
    if (!c->dead)
        conn_flush(c);
    c->in_event = false;
    conn_update_events(c);
    conn_finish(c); /* may free c */
}

bool conn_failed(const struct conn *c)
{
    return c->dead;
}

void conn_set_busy(struct conn *c, bool busy)
{
    c->busy = busy;
    if (!c->in_event)
        conn_update_events(c);
}

struct conn *conn_next(const struct conn *c)
{
    return c->next;
}

void conn_shutdown(struct conn *c)
{
    if (c->closing)
        return;
    /* a reply in the making (a delivery, a store write) is finished and sent first: cutting it
     * off would make the client retry what already happened */
    if (c->jobs > 0) {
        c->shutdown_pending = true;
        return;
    }
    if (c->opened && !c->handshaking && c->srv->proto->on_shutdown != NULL) {
        c->in_event = true;
        c->srv->proto->on_shutdown(c);
        conn_flush(c);
        c->in_event = false;
    }
    conn_close(c);
}

struct conn_job {
    struct conn *c;
    pool_fn *work, *done;
    void *arg;
};

static void conn_job_work(void *arg)
{
    struct conn_job *job = arg;

    job->work(job->arg);
}

/* What follows a job or a deferred call: goodbye if the server is stopping, then input that
 * waited is processed again. */
static void conn_resume(struct conn *c)
{
    if (c->shutdown_pending && c->jobs == 0 && !c->dead && !c->closing) {
        if (c->srv->proto->on_shutdown != NULL)
            c->srv->proto->on_shutdown(c);
        c->closing = true;
    }
    if (!c->dead) {
        conn_flush(c);
        /* a job's reply may go on streaming (a FETCH body): no EPOLLOUT would ask for it */
        if (c->jobs == 0 && c->deferred == NULL)
            conn_drain(c);
        if (c->in_len > 0 && conn_wants_input(c))
            conn_process(c);
        conn_flush(c);
    }
    c->in_event = false;
    conn_update_events(c);
    conn_finish(c);
}

static void conn_job_done(void *arg)
{
    struct conn_job *job = arg;
    struct conn *c = job->c;

    c->jobs--;
    c->in_event = true;
    job->done(job->arg);
    free(job);
    conn_resume(c);
}

/* One deferred call at a time per connection; input waits while it is pending. */
struct conn_deferred {
    struct conn *c;
    pool_fn *fn;
    void *arg;
    sd_event_source *src;
};

static void conn_deferred_free(struct conn *c)
{
    if (c->deferred == NULL)
        return;
    sd_event_source_disable_unref(c->deferred->src);
    free(c->deferred);
    c->deferred = NULL;
}

static int conn_on_deferred(sd_event_source *src, uint64_t usec, void *userdata)
{
    struct conn *c = userdata;
    pool_fn *fn = c->deferred->fn;
    void *arg = c->deferred->arg;

    conn_deferred_free(c);
    c->in_event = true;
    fn(arg);
    conn_resume(c);
    return 0;
}

int conn_defer(struct conn *c, uint64_t usec, pool_fn *fn, void *arg)
{
    struct conn_deferred *d;

    if (c->deferred != NULL || (d = malloc(sizeof(*d))) == NULL)
        return -1;
    *d = (struct conn_deferred){.c = c, .fn = fn, .arg = arg};
    if (sd_event_add_time_relative(c->srv->event, &d->src, CLOCK_MONOTONIC, usec, 1000,
                                   conn_on_deferred, c) < 0) {
        free(d);
        return -1;
    }
    c->deferred = d;
    if (!c->in_event)
        conn_update_events(c);
    return 0;
}

int conn_submit(struct conn *c, pool_fn *work, pool_fn *done, void *arg)
{
    struct conn_job *job = malloc(sizeof(*job));

    if (job == NULL)
        return -1;
    *job = (struct conn_job){.c = c, .work = work, .done = done, .arg = arg};
    if (pool_submit(c->srv->pool, conn_job_work, conn_job_done, job) < 0) {
        free(job);
        return -1;
    }
    c->jobs++;
    if (!c->in_event)
        conn_update_events(c);
    return 0;
}

bool conn_peer_addr(const struct conn *c, int *family_r, unsigned char addr_r[16])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0)
        return false;
    if (ss.ss_family == AF_INET) {
        *family_r = AF_INET;
        memcpy(addr_r, &((struct sockaddr_in *)&ss)->sin_addr, 4);
        return true;
    }
    if (ss.ss_family == AF_INET6) {
        const unsigned char *a = ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a)) {
            *family_r = AF_INET;
            memcpy(addr_r, a + 12, 4);
        } else {
            *family_r = AF_INET6;
            memcpy(addr_r, a, 16);
        }
        return true;
    }
    return false;
}

void conn_set_keepalive(struct conn *c)
{
    int one = 1;

    setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

ssize_t conn_discard_line(struct conn *c, const char *data, size_t len, bool *discarding,
                          const char *reply)
{
    const char *nl = memchr(data, '\n', len);

    if (nl == NULL)
        return (ssize_t)len;
    *discarding = false;
    conn_puts(c, reply);
    return nl - data + 1;
}
