/* The daemon skeleton every Halyard daemon runs on: start-up sequence, sockets from systemd,
 * worker processes, one sd-event loop per process, connections with optional TLS, limits,
 * reload and drain. A daemon supplies a struct proto and calls server_main(). */
#ifndef HALYARD_SERVER_H
#define HALYARD_SERVER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "access.h"
#include "conf.h"
#include "log.h"
#include "pool.h"

struct server;
struct conn;
struct tls_peer_cert; /* tls.h */

/* What a protocol plugs into the skeleton. Callbacks run on the event loop thread. */
struct proto {
    const char *service;    /* parameter prefix: "imap" reads service.imap.* */
    const char *banner_tag; /* %p in banners: "IMAP4", "POP3" */
    const char *fd_plain;   /* FileDescriptorName of the plain socket: "imap" */
    const char *fd_tls;     /* ... and of the implicit-TLS socket: "imaps" (NULL: none) */
    bool has_login_timeout; /* reads service.<svc>.loginidletimeout */

    /* The connection is ready (after the TLS handshake on an implicit-TLS socket): send the
     * greeting. Return -1 to close. */
    int (*on_open)(struct conn *c);
    /* Input is available: consume a prefix and return its length, 0 when more bytes are
     * needed, -1 to drop the connection at once. Called again while it consumes. */
    ssize_t (*on_input)(struct conn *c, const char *data, size_t len);
    /* Optional: all queued output has been written (for streaming large replies). */
    void (*on_drain)(struct conn *c);
    /* The connection is going away: free protocol state. */
    void (*on_close)(struct conn *c);
    /* Write the protocol's "too many connections" reply (the skeleton closes afterwards). */
    void (*on_refuse)(struct conn *c);
    /* Write the protocol's refusal for a client service.<svc>.domainallowed /
     * domainnotallowed keep out (the skeleton closes afterwards). */
    void (*on_denied)(struct conn *c);
    /* Write the protocol's idle-timeout goodbye (the skeleton closes afterwards). */
    void (*on_idle)(struct conn *c);
    /* The server is stopping: write the goodbye (the skeleton closes afterwards). */
    void (*on_shutdown)(struct conn *c);
    /* Optional: parameters were read at start, or re-read on SIGHUP (only REFRESHABLE ones
     * may be taken then). Returning -1 at start stops the daemon (after logging why); on a
     * reload the daemon keeps running as it was. */
    int (*on_config)(struct server *s, bool reload);
};

/* Runs the daemon: -f FILE picks msg.conf. Returns the process exit status. */
int server_main(const struct proto *proto, int argc, char **argv);

const struct conf *server_conf(const struct server *s);
const struct proto *server_proto(const struct server *s);
/* The expanded banner for new connections (REFRESHABLE). */
const char *server_banner(const struct server *s);
/* The host name used for %h (local.hostname or the machine's). */
const char *server_hostname(const struct server *s);
bool server_tls_configured(const struct server *s);
/* The process's event loop once it runs (NULL during start-up), for a protocol's own timers
 * and sockets (sd-event). */
struct sd_event *server_event(const struct server *s);
unsigned server_sessions(const struct server *s);

/* --- connections --- */

/* Queues output; never blocks. Returns 0, or -1 when the connection is already failing. */
int conn_write(struct conn *c, const void *data, size_t len);
int conn_puts(struct conn *c, const char *s);
int conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Bytes queued and not yet written. */
size_t conn_pending_output(const struct conn *c);

/* Close once the queued output is written (bounded by the drain timeout). */
void conn_close(struct conn *c);
/* Upgrade to TLS once queued output is written. Input already received after the command
 * that asked for it is discarded (no command injection across the upgrade, CVE-2011-0411). */
void conn_starttls(struct conn *c);
bool conn_tls_active(const struct conn *c);
/* Key bits of the TLS cipher, 0 on plaintext. */
unsigned conn_tls_bits(const struct conn *c);
/* The client certificate local.tls.cafile verified in this TLS session, or NULL. */
const struct tls_peer_cert *conn_tls_peer_cert(const struct conn *c);
/* The TLS session's channel binding, base64 (caller frees): tls-exporter (RFC 9266) when
 * exporter, else tls-unique (RFC 5929, TLS 1.2 only). NULL when there is none. */
char *conn_tls_channel_binding(const struct conn *c, bool exporter);
/* Whether the connection arrived on the implicit-TLS socket. */
bool conn_on_tls_port(const struct conn *c);

/* Skips the rest of an over-long line (its end may already be in data): returns how much of
 * data to consume; once the line end is found, writes reply and clears *discarding. For
 * on_input of line protocols. */
ssize_t conn_discard_line(struct conn *c, const char *data, size_t len, bool *discarding,
                          const char *reply);

/* Turns on TCP keep-alive probes, for sessions that may stay silent for long (IDLE). */
void conn_set_keepalive(struct conn *c);

/* Idle limit for this connection in seconds (0 = none); re-armed by every input. */
void conn_set_idle_timeout(struct conn *c, uint64_t seconds);

/* Runs work(arg) on the pool; input processing pauses until done(arg) has run on the loop.
 * The connection stays alive until then even if the client goes away. */
int conn_submit(struct conn *c, pool_fn *work, pool_fn *done, void *arg);

/* While busy, input waits (a reply is being streamed and pipelined commands must not run). */
void conn_set_busy(struct conn *c, bool busy);
/* Whether the connection has failed (the client went away): nothing written reaches it. */
bool conn_failed(const struct conn *c);

/* Runs fn(arg) on the loop after usec microseconds, with input paused until then (a failed
 * login's delay). Like a job, it keeps the connection alive. */
int conn_defer(struct conn *c, uint64_t usec, pool_fn *fn, void *arg);

void *conn_data(const struct conn *c);
void conn_set_data(struct conn *c, void *data);
struct server *conn_server(const struct conn *c);
const struct log_ctx *conn_log(const struct conn *c);
/* Records the authenticated user for log lines. */
void conn_set_user(struct conn *c, const char *user);
const char *conn_client(const struct conn *c);
/* The client's address: AF_INET (4 bytes, also for IPv4-mapped IPv6) or AF_INET6 (16); false
 * for a unix socket or a vanished peer. */
bool conn_peer_addr(const struct conn *c, int *family_r, unsigned char addr_r[16]);
/* The client's address for access rules (name not looked up). Returns -1 when unknown. */
int conn_peer(const struct conn *c, struct access_peer *peer_r);
/* The service name access rules know this session by: the implicit-TLS socket's name, or the
 * plain one's with an "s" once STARTTLS is done ("imap", "imaps", "pop", "pops"). */
const char *conn_service(const struct conn *c);

#define conn_info(c, ...)    log_ctx_msg(LOG_INFO, conn_log(c), __VA_ARGS__)
#define conn_notice(c, ...)  log_ctx_msg(LOG_NOTICE, conn_log(c), __VA_ARGS__)
#define conn_warning(c, ...) log_ctx_msg(LOG_WARNING, conn_log(c), __VA_ARGS__)

#endif
