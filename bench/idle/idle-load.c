/* idle-load: holds N IMAP sessions in IDLE from one process and measures how long a delivery
 * takes to reach them, for bench/idle. One epoll loop, non-blocking sockets, no threads; the
 * LMTP client that delivers runs in the same loop, so every time below is CLOCK_MONOTONIC read
 * in this one process. Two phases, each bounded in count and time:
 *
 *   1. sessions: per session connect (TLS handshake with -s), greeting, `a LOGIN user secret`,
 *      `b SELECT INBOX` (its `* n EXISTS` is the session's base count), `c IDLE`, until the
 *      server's `+` continuation: at most -l sessions on their way at once. A LOGIN answered
 *      `NO [UNAVAILABLE]` is sent again at once, up to 5 times per session. Prints "ready ..."
 *      and waits for SIGUSR1 (or goes on at once with -g).
 *   2. deliveries: over one LMTP connection (unix socket -L), D messages one at a time, each to
 *      a user picked at random (seeded) among the users that have sessions: MAIL, RCPT and DATA
 *      in one write, the body after 354, and the time the final `250` is read is the delivery's
 *      time; the next MAIL goes -G ms after that 250. Every session of that user is then
 *      expected to report `* n EXISTS` with n >= its base + the deliveries to its user so far;
 *      the time the line is read, minus the delivery's 250, is one latency sample. A session
 *      that reports it before its 250 was read (the server notified before the LMTP reply got
 *      here) counts as 0 ms and is counted in `early`. An EXISTS that covers several
 *      deliveries at once is one sample for each of them. The phase ends after D deliveries
 *      (or -t seconds), then waits at most -x seconds for notifications still missing; what
 *      has not come by then is `missing`. Prints "delivered ..." with the percentiles, then
 *      holds the sessions until SIGTERM or SIGINT ("end ..."), or the hard timeout (exit 3).
 *
 *   idle-load -p PORT [-a 127.0.0.1] [-s] [-n N] [-u USERS] [-U PREFIX] [-W WIDTH]
 *             [-w PASSWORD] [-c CONNECTING] [-l INFLIGHT] [-L LMTP_SOCKET] [-R DOMAIN]
 *             [-d DELIVERIES] [-G GAP_MS] [-z SEED] [-x WAIT_S] [-g] [-t STAGE_S] [-T HARD_S]
 *             [-o SAMPLES_FILE] [-r ROUNDS]
 *
 *   -s            IMAP over TLS from the first byte (imaps; the certificate is not checked)
 *   -n N          sessions (default 10000)
 *   -u USERS      session i logs in as user number (i % USERS) + 1 (default 1000)
 *   -U, -W        user names are PREFIX and the number zero-padded to WIDTH (default user, 4)
 *   -w PASSWORD   (default "secret")
 *   -c N          connections waiting for their greeting at once (default 200)
 *   -l N          sessions between connect and IDLE's `+` at once (default 100)
 *   -L PATH       the LMTP server's unix socket; without it phase 2 is skipped
 *   -R DOMAIN     RCPT TO:<userNNNN@DOMAIN> (default example.org)
 *   -d D          deliveries (default 1000)
 *   -G MS         pause between a 250 and the next MAIL (default 20)
 *   -z SEED       seed of the user choice (default 1)
 *   -x S          wait after the last 250 for missing notifications (default 15)
 *   -g            start phase 2 as soon as phase 1 ends, without waiting for SIGUSR1
 *   -t S          bound on each phase (default 1200)
 *   -T S          hard bound on the whole run (default 3600): exit 3
 *   -o FILE       one line per sample: delivery user session latency_ms (or "missing");
 *                 rewritten by each round
 *   -r ROUNDS     phase 2 may run this many times: each further SIGUSR1 after a "delivered"
 *                 line starts another round of D deliveries over the same sessions and LMTP
 *                 connection (the runner takes a round again when other work disturbed it);
 *                 each round reports its own deliveries only (default 1)
 *
 * Lines on stdout (key=value, for the runner), progress every 5 s on stderr. The process raises
 * its own RLIMIT_NOFILE to N + 64 when it may. Built with `cc -O2 ... -lssl -lcrypto` by
 * bench/idle/run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LINE_KEEP     160
#define PROGRESS_S    5.0
#define MAX_REPORTED  10
#define SIGNAL_TAG    0xffffffffu
#define LMTP_TAG      0xfffffffeu
#define MAX_SESSIONS  200000
#define LOGIN_RETRIES 5

enum state {
    ST_IDLE_SLOT,  /* not started */
    ST_CONNECTING, /* connect() in progress */
    ST_HANDSHAKE,  /* TLS handshake (-s) */
    ST_GREETING,   /* waiting for "* OK" */
    ST_LOGIN,      /* "a LOGIN" sent */
    ST_SELECT,     /* "b SELECT" sent */
    ST_IDLE_CMD,   /* "c IDLE" sent */
    ST_HELD,       /* in IDLE: the steady state */
    ST_FAILED,
    ST_DROPPED, /* the server closed a session that was held */
};

struct sess {
    int fd;
    SSL *ssl;
    unsigned char state;
    unsigned char tries;
    unsigned short len;
    int base; /* EXISTS at SELECT; -1 until seen */
    int seen; /* deliveries to its user this session has reported */
    char line[LINE_KEEP];
};

struct user {
    int *dlv; /* delivery ids in the order they were sent */
    int n, cap;
};

struct dlv {
    int user;
    bool ok, failed;
    double t_sent, t_250;
    double *arr; /* per session of the user (index i / USERS): when its EXISTS came, or -1 */
};

static const char *opt_addr = "127.0.0.1", *opt_prefix = "user", *opt_password = "secret";
static const char *opt_lmtp, *opt_domain = "example.org", *opt_samples;
static int opt_port, opt_width = 4, opt_users = 1000, opt_connecting = 200, opt_inflight = 100;
static long opt_n = 10000, opt_deliveries = 1000, opt_rounds = 1;
static long round_start, rounds_done; /* first delivery id of the current round */
static double opt_gap_ms = 20, opt_wait = 15, opt_stage = 1200, opt_hard = 3600;
static bool opt_tls, opt_go;
static uint64_t rng = 1;

static struct sess *sess;
static struct user *users;
static struct dlv *dlvs;
static SSL_CTX *ssl_ctx;
static int ep;
static struct sockaddr_in server;
static long n_held, n_failed, n_dropped, n_idling, n_idle_refused, n_login_retried, n_reported;
static long n_extra; /* EXISTS beyond what was delivered */
static long in_connect, in_flight;

/* LMTP client */
static struct {
    int fd;
    enum { L_OFF, L_GREETING, L_LHLO, L_ENVELOPE, L_BODY, L_READY, L_QUIT, L_DEAD } state;
    int expect; /* replies still due for the commands sent */
    int bad;    /* of those, how many were not the expected code */
    char line[512];
    size_t len;
    long cur; /* delivery in progress */
    long sent, ok, failed;
    double next_at; /* when the next MAIL may go */
} lm = {.fd = -1};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("idle-load: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void usage(void)
{
    fputs("usage: idle-load -p PORT [-a ADDR] [-s] [-n N] [-u USERS] [-U PREFIX] [-W WIDTH] "
          "[-w PASSWORD] [-c CONNECTING] [-l INFLIGHT] [-L LMTP_SOCKET] [-R DOMAIN] "
          "[-d DELIVERIES] [-G GAP_MS] [-z SEED] [-x WAIT_S] [-g] [-t STAGE_S] [-T HARD_S] "
          "[-o FILE] [-r ROUNDS]\n",
          stderr);
    exit(2);
}

static long num(const char *s, long lo, long hi)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        usage();
    return v;
}

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- IMAP sessions ---- */

static void sess_close(long i, enum state to, const char *why)
{
    struct sess *s = &sess[i];
    enum state from = (enum state)s->state;

    if (from == ST_CONNECTING || from == ST_HANDSHAKE || from == ST_GREETING)
        in_connect--;
    if (from >= ST_CONNECTING && from <= ST_IDLE_CMD)
        in_flight--;
    if (from == ST_HELD)
        n_held--;
    if (s->ssl != NULL) {
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
    s->state = (unsigned char)to;
    if (to == ST_FAILED)
        n_failed++;
    else
        n_dropped++;
    if (why != NULL && n_reported < MAX_REPORTED) {
        n_reported++;
        fprintf(stderr, "idle-load: session %ld %s: %s%s%.*s\n", i,
                to == ST_FAILED ? "failed" : "dropped", why, s->len ? "; last line: " : "",
                (int)s->len, s->line);
    }
}

static bool sess_send(long i, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int len;
    ssize_t w;

    va_start(ap, fmt);
    len = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof(buf)) {
        sess_close(i, ST_FAILED, "command too long");
        return false;
    }
    /* a few dozen bytes on a connection with nothing else queued: all or nothing */
    if (sess[i].ssl != NULL) {
        ERR_clear_error();
        w = SSL_write(sess[i].ssl, buf, len);
    } else {
        w = send(sess[i].fd, buf, (size_t)len, MSG_NOSIGNAL);
    }
    if (w != len) {
        sess_close(i, ST_FAILED, w < 0 ? strerror(errno) : "short write");
        return false;
    }
    return true;
}

static void start_connect(long i)
{
    struct sess *s = &sess[i];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    in_connect++;
    in_flight++;
    s->state = ST_CONNECTING;
    s->len = 0;
    s->base = -1;
    if (fd < 0) {
        s->fd = -1;
        sess_close(i, ST_FAILED, strerror(errno));
        return;
    }
    s->fd = fd;
    if (connect(fd, (struct sockaddr *)&server, sizeof(server)) < 0 && errno != EINPROGRESS) {
        sess_close(i, ST_FAILED, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        sess_close(i, ST_FAILED, strerror(errno));
}

static void send_login(long i)
{
    long u = i % opt_users + 1;

    sess[i].tries++;
    sess_send(i, "a LOGIN %s%0*ld %s\r\n", opt_prefix, opt_width, u, opt_password);
}

static bool tagged(const struct sess *s, const char *tag_status)
{
    size_t n = strlen(tag_status);

    return s->len >= n && strncasecmp(s->line, tag_status, n) == 0;
}

/* "* <n> EXISTS": n, or -1 */
static long exists_count(const struct sess *s)
{
    char buf[LINE_KEEP + 1], word[16];
    long n;

    if (s->len < 10 || s->line[0] != '*')
        return -1;
    memcpy(buf, s->line, s->len);
    buf[s->len] = '\0';
    if (sscanf(buf, "* %ld %15s", &n, word) != 2 || strcasecmp(word, "EXISTS") != 0)
        return -1;
    return n;
}

/* Session i (held) read "* n EXISTS" at time t: every delivery it covers gets its sample. */
static void on_exists(long i, long n, double t)
{
    struct sess *s = &sess[i];
    struct user *u = &users[i % opt_users];
    long e = n - s->base;

    while (s->seen < e) {
        if (s->seen >= u->n) {
            n_extra++;
            s->seen = (int)e;
            break;
        }
        struct dlv *d = &dlvs[u->dlv[s->seen]];
        d->arr[i / opt_users] = t;
        s->seen++;
    }
}

static void on_line(long i, double t)
{
    struct sess *s = &sess[i];
    char tag = s->len >= 2 && s->line[1] == ' ' ? s->line[0] : '*';
    long n;

    switch ((enum state)s->state) {
    case ST_GREETING:
        if (!tagged(s, "* OK")) {
            sess_close(i, ST_FAILED, "greeting is not * OK");
            return;
        }
        in_connect--;
        s->state = ST_LOGIN;
        send_login(i);
        break;
    case ST_LOGIN:
        if (tag != 'a')
            break;
        if (tagged(s, "a NO [UNAVAILABLE]") && s->tries <= LOGIN_RETRIES) {
            n_login_retried++;
            s->len = 0;
            send_login(i);
            return;
        }
        if (!tagged(s, "a OK")) {
            sess_close(i, ST_FAILED, "LOGIN refused");
            return;
        }
        s->state = ST_SELECT;
        sess_send(i, "b SELECT INBOX\r\n");
        break;
    case ST_SELECT:
        if ((n = exists_count(s)) >= 0) {
            s->base = (int)n;
            break;
        }
        if (tag != 'b')
            break;
        if (!tagged(s, "b OK") || s->base < 0) {
            sess_close(i, ST_FAILED, s->base < 0 ? "SELECT without EXISTS" : "SELECT refused");
            return;
        }
        s->state = ST_IDLE_CMD;
        sess_send(i, "c IDLE\r\n");
        break;
    case ST_IDLE_CMD:
        if (s->len >= 1 && s->line[0] == '+') {
            n_idling++;
        } else if (tag == 'c') {
            n_idle_refused++;
            sess_close(i, ST_FAILED, "IDLE refused");
            return;
        } else {
            if ((n = exists_count(s)) >= 0)
                on_exists(i, n, t);
            break;
        }
        s->state = ST_HELD;
        in_flight--;
        n_held++;
        break;
    case ST_HELD:
        if ((n = exists_count(s)) >= 0)
            on_exists(i, n, t);
        break; /* "* OK Still here", RECENT, ...: nothing to do */
    default:
        break;
    }
    s->len = 0;
}

static void on_readable(long i, double t)
{
    static char buf[16384];
    struct sess *s = &sess[i];

    for (int rounds = 0; rounds < 8 && s->fd >= 0; rounds++) {
        ssize_t n;
        if (s->ssl != NULL) {
            ERR_clear_error();
            n = SSL_read(s->ssl, buf, sizeof(buf));
            if (n <= 0) {
                int err = SSL_get_error(s->ssl, (int)n);
                if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
                    return;
                bool steady = s->state == ST_HELD;
                sess_close(i, steady ? ST_DROPPED : ST_FAILED,
                           err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL
                               ? "server closed the connection"
                               : "TLS error");
                return;
            }
        } else {
            n = recv(s->fd, buf, sizeof(buf), 0);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
            if (n <= 0) {
                bool steady = s->state == ST_HELD;
                sess_close(i, steady ? ST_DROPPED : ST_FAILED,
                           n == 0 ? "server closed the connection" : strerror(errno));
                return;
            }
        }
        for (ssize_t k = 0; k < n && s->fd >= 0; k++) {
            if (buf[k] == '\n') {
                if (s->len > 0 && s->line[s->len - 1] == '\r')
                    s->len--;
                on_line(i, t);
                s->len = 0;
            } else if (s->len < LINE_KEEP) {
                s->line[s->len++] = buf[k];
            }
        }
    }
}

static void handshake(long i, double t)
{
    struct sess *s = &sess[i];

    ERR_clear_error();
    int r = SSL_connect(s->ssl);
    if (r == 1) {
        struct epoll_event in = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &in);
        s->state = ST_GREETING;
        on_readable(i, t); /* the greeting may already be in the TLS buffer */
        return;
    }
    int err = SSL_get_error(s->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        struct epoll_event ev = {.events = err == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT,
                                 .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
        return;
    }
    char msg[200];
    ERR_error_string_n(ERR_get_error(), msg, sizeof(msg));
    sess_close(i, ST_FAILED, msg);
}

static void on_event(const struct epoll_event *ev, double t)
{
    long i = (long)ev->data.u32;
    struct sess *s = &sess[i];

    if (s->fd < 0)
        return;
    if (s->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            err = errno;
        if (err != 0) {
            sess_close(i, ST_FAILED, strerror(err));
            return;
        }
        if (!(ev->events & (EPOLLOUT | EPOLLIN)))
            return;
        if (opt_tls) {
            s->ssl = SSL_new(ssl_ctx);
            if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
                sess_close(i, ST_FAILED, "SSL_new");
                return;
            }
            s->state = ST_HANDSHAKE;
            handshake(i, t);
            return;
        }
        struct epoll_event in = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &in);
        s->state = ST_GREETING;
        if (!(ev->events & EPOLLIN))
            return;
    }
    if (s->state == ST_HANDSHAKE) {
        handshake(i, t);
        return;
    }
    if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(i, t);
}

/* ---- LMTP ---- */

static void lmtp_fail(const char *why)
{
    fprintf(stderr, "idle-load: LMTP: %s%s%.*s\n", why, lm.len ? "; last line: " : "", (int)lm.len,
            lm.line);
    if (lm.fd >= 0)
        close(lm.fd);
    lm.fd = -1;
    lm.state = L_DEAD;
}

static bool lmtp_write(const char *buf, size_t len)
{
    /* a few hundred bytes to a local server that has read everything before: the socket buffer
     * takes them; block for the rest rather than complicate the loop */
    while (len > 0) {
        ssize_t w = send(lm.fd, buf, len, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            usleep(100);
            continue;
        }
        if (w <= 0) {
            lmtp_fail(strerror(errno));
            return false;
        }
        buf += w;
        len -= (size_t)w;
    }
    return true;
}

static void lmtp_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};

    if (strlen(opt_lmtp) >= sizeof(sa.sun_path))
        die("LMTP socket path too long");
    strcpy(sa.sun_path, opt_lmtp);
    lm.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lm.fd < 0 || connect(lm.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        die("LMTP connect %s: %s", opt_lmtp, strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = LMTP_TAG};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lm.fd, &ev) < 0)
        die("epoll: %s", strerror(errno));
    /* non-blocking reads from here on */
    if (fcntl(lm.fd, F_SETFL, fcntl(lm.fd, F_GETFL) | O_NONBLOCK) < 0)
        die("fcntl: %s", strerror(errno));
    lm.state = L_GREETING;
    lm.expect = 1;
}

static void lmtp_start_delivery(double t)
{
    long nusers = opt_users < opt_n ? opt_users : opt_n;
    int u = (int)(next_rand() % (uint64_t)nusers);
    long id = lm.sent++;
    struct dlv *d = &dlvs[id];
    struct user *us = &users[u];
    char cmd[2048];
    int n;

    d->user = u;
    d->t_sent = t;
    d->t_250 = -1;
    long nsess = (opt_n - u + opt_users - 1) / opt_users;
    d->arr = malloc((size_t)nsess * sizeof(double));
    if (d->arr == NULL)
        die("out of memory");
    for (long k = 0; k < nsess; k++)
        d->arr[k] = -1;
    if (us->n == us->cap) {
        us->cap = us->cap ? 2 * us->cap : 4;
        us->dlv = realloc(us->dlv, (size_t)us->cap * sizeof(int));
        if (us->dlv == NULL)
            die("out of memory");
    }
    /* registered before MAIL: a notification that beats the 250 here finds its delivery */
    us->dlv[us->n++] = (int)id;
    lm.cur = id;
    n = snprintf(cmd, sizeof(cmd),
                 "MAIL FROM:<idle-load@bench.test>\r\nRCPT TO:<%s%0*d@%s>\r\nDATA\r\n", opt_prefix,
                 opt_width, u + 1, opt_domain);
    lm.state = L_ENVELOPE;
    lm.expect = 3;
    lm.bad = 0;
    lmtp_write(cmd, (size_t)n);
}

/* one complete reply line from the LMTP server */
static void lmtp_line(double t)
{
    char buf[600];
    int n, code;

    if (lm.len < 3) {
        lmtp_fail("short reply");
        return;
    }
    code = (lm.line[0] - '0') * 100 + (lm.line[1] - '0') * 10 + (lm.line[2] - '0');
    if (lm.len > 3 && lm.line[3] == '-')
        return; /* continued */
    lm.expect--;
    switch (lm.state) {
    case L_GREETING:
        if (code != 220) {
            lmtp_fail("no 220 greeting");
            return;
        }
        lmtp_write("LHLO idle-load.bench.test\r\n", 27);
        lm.state = L_LHLO;
        lm.expect = 1;
        return;
    case L_LHLO:
        if (code != 250) {
            lmtp_fail("LHLO refused");
            return;
        }
        lm.state = L_READY;
        lm.next_at = t;
        return;
    case L_ENVELOPE:
        if (code != (lm.expect == 0 ? 354 : 250))
            lm.bad++;
        if (lm.expect > 0)
            return;
        if (lm.bad > 0) { /* the DATA was refused too: nothing to send */
            if (code == 354)
                lmtp_write(".\r\n", 3);
            dlvs[lm.cur].failed = true;
            lm.failed++;
            if (lm.failed <= 5)
                fprintf(stderr, "idle-load: delivery %ld refused: %.*s\n", lm.cur, (int)lm.len,
                        lm.line);
            lm.state = code == 354 ? L_BODY : L_READY;
            lm.expect = code == 354 ? 1 : 0;
            lm.next_at = t + opt_gap_ms / 1000;
            return;
        }
        n = snprintf(buf, sizeof(buf),
                     "From: idle-load@bench.test\r\nTo: %s%0*d@%s\r\n"
                     "Subject: idle bench %ld\r\nMessage-ID: <idle-%ld.%ld@bench.test>\r\n"
                     "\r\nDelivery %ld for the IDLE benchmark.\r\n.\r\n",
                     opt_prefix, opt_width, dlvs[lm.cur].user + 1, opt_domain, lm.cur, lm.cur,
                     (long)getpid(), lm.cur);
        lm.state = L_BODY;
        lm.expect = 1;
        lmtp_write(buf, (size_t)n);
        return;
    case L_BODY:
        if (!dlvs[lm.cur].failed) {
            if (code == 250) {
                dlvs[lm.cur].ok = true;
                dlvs[lm.cur].t_250 = t;
                lm.ok++;
            } else {
                dlvs[lm.cur].failed = true;
                lm.failed++;
                if (lm.failed <= 5)
                    fprintf(stderr, "idle-load: delivery %ld: %.*s\n", lm.cur, (int)lm.len,
                            lm.line);
            }
        }
        lm.state = L_READY;
        lm.next_at = t + opt_gap_ms / 1000;
        return;
    case L_QUIT:
        close(lm.fd);
        lm.fd = -1;
        lm.state = L_OFF;
        return;
    default:
        lmtp_fail("reply nobody asked for");
    }
}

static void lmtp_readable(double t)
{
    char buf[4096];

    while (lm.fd >= 0) {
        ssize_t n = recv(lm.fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            lmtp_fail(n == 0 ? "server closed the connection" : strerror(errno));
            return;
        }
        for (ssize_t k = 0; k < n && lm.fd >= 0; k++) {
            if (buf[k] == '\n') {
                if (lm.len > 0 && lm.line[lm.len - 1] == '\r')
                    lm.len--;
                lmtp_line(t);
                lm.len = 0;
            } else if (lm.len < sizeof(lm.line)) {
                lm.line[lm.len++] = buf[k];
            }
        }
    }
}

/* ---- results ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p) /* nearest rank */
{
    if (n == 0)
        return NAN;
    long k = (long)ceil(p / 100.0 * (double)n);
    if (k < 1)
        k = 1;
    return v[k - 1];
}

static void report_deliveries(double seconds, double cpu)
{
    long from = round_start;
    long expected = 0, seen = 0, missing = 0, early = 0, nfirst = 0, nlast = 0, nd = 0;
    double *lat = NULL, *first = NULL, *last = NULL, *dl = NULL, sum = 0;
    FILE *out = opt_samples ? fopen(opt_samples, "w") : NULL;

    long cap = 0;
    for (long id = from; id < lm.sent; id++)
        if (dlvs[id].ok)
            cap += (opt_n - dlvs[id].user + opt_users - 1) / opt_users;
    lat = malloc((size_t)(cap + 1) * sizeof(double));
    first = malloc((size_t)(lm.sent + 1) * sizeof(double));
    last = malloc((size_t)(lm.sent + 1) * sizeof(double));
    dl = malloc((size_t)(lm.sent + 1) * sizeof(double));
    if (lat == NULL || first == NULL || last == NULL || dl == NULL)
        die("out of memory");
    for (long id = from; id < lm.sent; id++) {
        struct dlv *d = &dlvs[id];
        if (!d->ok)
            continue;
        dl[nd++] = (d->t_250 - d->t_sent) * 1000;
        long nsess = (opt_n - d->user + opt_users - 1) / opt_users;
        double lo = INFINITY, hi = -1;
        bool all = true;
        for (long k = 0; k < nsess; k++) {
            long i = k * opt_users + d->user;
            if (sess[i].state != ST_HELD)
                continue; /* never held, or dropped: counted as such, not as missing */
            expected++;
            if (d->arr[k] < 0) {
                missing++;
                all = false;
                if (out)
                    fprintf(out, "%ld %d %ld missing\n", id, d->user + 1, i);
                continue;
            }
            double ms = (d->arr[k] - d->t_250) * 1000;
            if (ms < 0) {
                early++;
                ms = 0;
            }
            lat[seen++] = ms;
            sum += ms;
            if (ms < lo)
                lo = ms;
            if (ms > hi)
                hi = ms;
            if (out)
                fprintf(out, "%ld %d %ld %.3f\n", id, d->user + 1, i, ms);
        }
        if (hi >= 0)
            first[nfirst++] = lo;
        if (hi >= 0 && all)
            last[nlast++] = hi;
    }
    if (out)
        fclose(out);
    qsort(lat, (size_t)seen, sizeof(double), cmp_double);
    qsort(first, (size_t)nfirst, sizeof(double), cmp_double);
    qsort(last, (size_t)nlast, sizeof(double), cmp_double);
    qsort(dl, (size_t)nd, sizeof(double), cmp_double);
    long ok = 0, failed = 0;
    for (long id = from; id < lm.sent; id++)
        ok += dlvs[id].ok, failed += dlvs[id].failed;
    printf("delivered round=%ld sent=%ld ok=%ld failed=%ld seconds=%.2f client_cpu_s=%.2f "
           "lmtp_p50_ms=%.2f lmtp_p99_ms=%.2f expected=%ld seen=%ld missing=%ld early=%ld "
           "extra=%ld held=%ld dropped=%ld "
           "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f "
           "first_p50_ms=%.2f first_p99_ms=%.2f first_max_ms=%.2f "
           "all_p50_ms=%.2f all_p99_ms=%.2f all_max_ms=%.2f\n",
           rounds_done + 1, lm.sent - from, ok, failed, seconds, cpu, pct(dl, nd, 50),
           pct(dl, nd, 99), expected, seen, missing, early, n_extra, n_held, n_dropped,
           pct(lat, seen, 50), pct(lat, seen, 90), pct(lat, seen, 99), seen ? lat[seen - 1] : NAN,
           seen ? sum / (double)seen : NAN, pct(first, nfirst, 50), pct(first, nfirst, 99),
           nfirst ? first[nfirst - 1] : NAN, pct(last, nlast, 50), pct(last, nlast, 99),
           nlast ? last[nlast - 1] : NAN);
    free(lat);
    free(first);
    free(last);
    free(dl);
}

/* all deliveries done (ok or failed) and every held session has reported its users' ones */
static bool all_seen(void)
{
    for (long i = 0; i < opt_n; i++)
        if (sess[i].state == ST_HELD && sess[i].seen < users[i % opt_users].n) {
            /* a failed delivery is never reported: skip those at the end of the user's list */
            struct user *u = &users[i % opt_users];
            for (int j = sess[i].seen; j < u->n; j++)
                if (u->dlv[j] >= round_start && !dlvs[u->dlv[j]].failed)
                    return false;
        }
    return true;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)opt_n + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    if (rl.rlim_max < want) {
        struct rlimit up = {want, want};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            return;
    }
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        die("file descriptor limit %llu is below %llu (N + 64) and cannot be raised",
            (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static int read_signal(int sfd)
{
    struct signalfd_siginfo si;

    if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return 0;
    return si.ssi_signo == SIGUSR1 ? 1 : -1;
}

int main(int argc, char **argv)
{
    int opt;

    while ((opt = getopt(argc, argv, "a:p:sn:u:U:W:w:c:l:L:R:d:G:z:x:gt:T:o:r:")) != -1) {
        switch (opt) {
        case 'a':
            opt_addr = optarg;
            break;
        case 'p':
            opt_port = (int)num(optarg, 1, 65535);
            break;
        case 's':
            opt_tls = true;
            break;
        case 'n':
            opt_n = num(optarg, 1, MAX_SESSIONS);
            break;
        case 'u':
            opt_users = (int)num(optarg, 1, 99999999);
            break;
        case 'U':
            opt_prefix = optarg;
            break;
        case 'W':
            opt_width = (int)num(optarg, 0, 9);
            break;
        case 'w':
            opt_password = optarg;
            break;
        case 'c':
            opt_connecting = (int)num(optarg, 1, 100000);
            break;
        case 'l':
            opt_inflight = (int)num(optarg, 1, 100000);
            break;
        case 'L':
            opt_lmtp = optarg;
            break;
        case 'R':
            opt_domain = optarg;
            break;
        case 'd':
            opt_deliveries = num(optarg, 0, 10000000);
            break;
        case 'G':
            opt_gap_ms = (double)num(optarg, 0, 60000);
            break;
        case 'z':
            rng = (uint64_t)num(optarg, 1, 1L << 62);
            break;
        case 'x':
            opt_wait = (double)num(optarg, 0, 3600);
            break;
        case 'g':
            opt_go = true;
            break;
        case 't':
            opt_stage = (double)num(optarg, 1, 86400);
            break;
        case 'T':
            opt_hard = (double)num(optarg, 1, 86400);
            break;
        case 'o':
            opt_samples = optarg;
            break;
        case 'r':
            opt_rounds = num(optarg, 1, 100);
            break;
        default:
            usage();
        }
    }
    if (optind != argc || opt_port == 0)
        usage();
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)opt_port);
    if (inet_pton(AF_INET, opt_addr, &server.sin_addr) != 1)
        die("not an IPv4 address: %s", opt_addr);
    if ((ntohl(server.sin_addr.s_addr) >> 24) != 127)
        die("%s is not a loopback address (127.0.0.0/8)", opt_addr);
    raise_nofile();
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int k = 0; k < 4; k++) /* xorshift warms up from a small seed */
        next_rand();

    if (opt_tls) {
        ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (ssl_ctx == NULL)
            die("SSL_CTX_new failed");
        SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_min_proto_version(ssl_ctx, TLS1_2_VERSION);
        /* the client's own memory is not measured, but 10,000 idle sessions need not keep
         * 2 x 16 KiB of buffers each */
        SSL_CTX_set_mode(ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    }
    sess = calloc((size_t)opt_n, sizeof(*sess));
    users = calloc((size_t)opt_users, sizeof(*users));
    dlvs = calloc((size_t)(opt_deliveries * opt_rounds) + 1, sizeof(*dlvs));
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (sess == NULL || users == NULL || dlvs == NULL || ep < 0)
        die("out of memory or epoll: %s", strerror(errno));
    for (long i = 0; i < opt_n; i++)
        sess[i].fd = -1;

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    struct epoll_event sev = {.events = EPOLLIN, .data.u32 = SIGNAL_TAG};
    if (sfd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &sev) < 0)
        die("signalfd: %s", strerror(errno));

    enum { PH_SESSIONS, PH_WAIT_GO, PH_DELIVER, PH_DRAIN, PH_HOLD } phase = PH_SESSIONS;
    double t0 = now(), t_phase = t0, t_progress = t0 + PROGRESS_S, t_drain = 0, cpu0 = 0;
    long next = 0;
    bool go = opt_go, stop = false, timed_out = false;
    static struct epoll_event evs[1024];

    while (!stop) {
        double t = now();
        if (t - t0 >= opt_hard) {
            timed_out = true;
            break;
        }
        if (phase == PH_SESSIONS) {
            while (next < opt_n && in_flight < opt_inflight && in_connect < opt_connecting)
                start_connect(next++);
            bool late = t - t_phase >= opt_stage;
            if ((next == opt_n && in_flight == 0) || late) {
                for (long i = 0; late && i < opt_n; i++) {
                    enum state st = (enum state)sess[i].state;
                    if (st >= ST_CONNECTING && st <= ST_IDLE_CMD)
                        sess_close(i, ST_FAILED, "not in IDLE within the phase's time bound");
                    else if (st == ST_IDLE_SLOT)
                        sess[i].state = ST_FAILED, n_failed++;
                }
                printf("ready n=%ld held=%ld failed=%ld dropped=%ld idling=%ld idle_refused=%ld "
                       "login_retried=%ld seconds=%.2f sessions_per_s=%.1f\n",
                       opt_n, n_held, n_failed, n_dropped, n_idling, n_idle_refused,
                       n_login_retried, t - t_phase,
                       t > t_phase ? (double)n_held / (t - t_phase) : 0.0);
                phase = PH_WAIT_GO;
            }
        }
        if (phase == PH_WAIT_GO && go) {
            go = false;
            if (opt_lmtp == NULL || opt_deliveries == 0) {
                phase = PH_HOLD;
                rounds_done = opt_rounds;
            } else {
                phase = PH_DELIVER;
                t_phase = now();
                cpu0 = cpu_s();
                round_start = lm.sent;
                lmtp_connect();
            }
        }
        if (phase == PH_HOLD && go) { /* another round, when allowed and LMTP still works */
            go = false;
            if (rounds_done < opt_rounds && lm.state == L_READY) {
                phase = PH_DELIVER;
                t_phase = now();
                cpu0 = cpu_s();
                round_start = lm.sent;
                lm.next_at = t_phase;
            } else {
                printf("delivered round=%ld refused=1\n", rounds_done + 1);
            }
        }
        if (phase == PH_DELIVER) {
            bool late = t - t_phase >= opt_stage;
            long end = round_start + opt_deliveries;
            if (lm.state == L_READY && lm.sent < end && !late && t >= lm.next_at)
                lmtp_start_delivery(t);
            if (lm.state == L_DEAD || late || (lm.state == L_READY && lm.sent == end)) {
                if (late && lm.state != L_READY && lm.state != L_DEAD)
                    fprintf(stderr, "idle-load: delivery phase ended by its time bound\n");
                phase = PH_DRAIN;
                t_drain = t;
            }
        }
        if (phase == PH_DRAIN && (t - t_drain >= opt_wait || all_seen())) {
            report_deliveries(t_drain - t_phase, cpu_s() - cpu0);
            printf("drained round=%ld seconds=%.2f\n", rounds_done + 1, t - t_drain);
            rounds_done++;
            if (rounds_done == opt_rounds && lm.fd >= 0 && lm.state == L_READY &&
                lmtp_write("QUIT\r\n", 6))
                lm.state = L_QUIT;
            phase = PH_HOLD;
        }
        if (t >= t_progress) {
            t_progress = t + PROGRESS_S;
            if (phase == PH_SESSIONS)
                fprintf(stderr,
                        "idle-load: %ld/%ld in IDLE, %ld failed, %ld on their way, %.1f/s\n",
                        n_held, opt_n, n_failed, in_flight,
                        t > t_phase ? (double)n_held / (t - t_phase) : 0.0);
            else if (phase == PH_DELIVER)
                fprintf(stderr, "idle-load: round %ld: %ld/%ld delivered, %ld failed\n",
                        rounds_done + 1, lm.sent - round_start, opt_deliveries, lm.failed);
        }

        double wake = t_progress;
        if (t0 + opt_hard < wake)
            wake = t0 + opt_hard;
        if ((phase == PH_SESSIONS || phase == PH_DELIVER) && t_phase + opt_stage < wake)
            wake = t_phase + opt_stage;
        if (phase == PH_DELIVER && lm.state == L_READY && lm.next_at < wake)
            wake = lm.next_at;
        if (phase == PH_DRAIN) /* look again at least every 10 ms */
            wake = t + 0.01 < wake ? t + 0.01 : wake;
        int ms = (int)ceil((wake - t) * 1000);
        int n = epoll_wait(ep, evs, 1024, ms < 0 ? 0 : ms);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int k = 0; k < n; k++) {
            double te = now();
            if (evs[k].data.u32 == SIGNAL_TAG) {
                int sig = read_signal(sfd);
                if (sig > 0)
                    go = true;
                else if (sig < 0)
                    stop = true;
                continue;
            }
            if (evs[k].data.u32 == LMTP_TAG) {
                lmtp_readable(te);
                continue;
            }
            on_event(&evs[k], te);
        }
    }
    /* TLS sessions end with close_notify, so the server sees an orderly end */
    for (long i = 0; opt_tls && i < opt_n; i++)
        if (sess[i].ssl != NULL && sess[i].state == ST_HELD)
            SSL_shutdown(sess[i].ssl);
    printf("end held=%ld failed=%ld dropped=%ld seconds=%.2f%s\n", n_held, n_failed, n_dropped,
           now() - t0, timed_out ? " hard_timeout=1" : "");
    return timed_out ? 3 : 0;
}
