/* imap-hold: holds N IMAP sessions open from one process, for bench/imap-sessions. One epoll
 * loop, non-blocking sockets, no threads. Two phases, each bounded in time:
 *
 *   1. connect: open N connections (at most -c connecting at once) and read each greeting;
 *      print "connected ..." and wait for SIGUSR1 (or go on at once with -g);
 *   2. login: per connection `a LOGIN user secret`, then `b SELECT INBOX` (then `c IDLE` with
 *      -I), at most -l sessions in flight; print "ready ..." and hold every session idle until
 *      SIGTERM or SIGINT ("end ..."), or the hard timeout (exit 3). A LOGIN answered
 *      `NO [UNAVAILABLE]` (RFC 5530: try again later) is sent again at once, up to 5 times per
 *      session, and counted in login_retried.
 *
 *   imap-hold -p PORT [-a 127.0.0.1] [-n N] [-u USERS] [-U PREFIX] [-W WIDTH] [-w PASSWORD]
 *             [-m MAILBOX] [-c CONNECTING] [-l INFLIGHT] [-I] [-g] [-t STAGE_S] [-T HARD_S]
 *
 *   -n N          sessions (default 10000)
 *   -u USERS      session i logs in as user number (i % USERS) + 1 (default 100)
 *   -U PREFIX, -W WIDTH   user names are PREFIX and the number zero-padded to WIDTH digits
 *                 (default "user", 4: user0001)
 *   -w PASSWORD   (default "secret"); -m MAILBOX (default INBOX)
 *   -c N          connections waiting for their greeting at once (default 200)
 *   -l N          sessions between LOGIN sent and SELECT (or IDLE) answered at once (default 100)
 *   -I            after SELECT, send IDLE and hold the session in IDLE (a server that answers
 *                 BAD or NO is counted in idle_refused and the session is held all the same)
 *   -g            start logging in as soon as phase 1 ends, without waiting for SIGUSR1
 *   -t S          bound on each phase (default 1200); what has not finished by then fails
 *   -T S          hard bound on the whole run (default 3600): exit 3
 *
 * Lines on stdout (key=value, for the runner), progress every 5 s on stderr. A session that
 * fails is closed and counted; the first few failures are described on stderr. The process
 * raises its own RLIMIT_NOFILE (its hard limit too, when it may) to N + 64.
 * Built with plain `cc -O2` by bench/imap-sessions/run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_KEEP     160 /* bytes of a response line kept: enough to read its tag and status */
#define PROGRESS_S    5.0
#define MAX_REPORTED  10 /* failures described on stderr */
#define SIGNAL_TAG    0xffffffffu
#define MAX_SESSIONS  1000000
#define LOGIN_RETRIES 5 /* a LOGIN answered NO [UNAVAILABLE] is sent again this many times */

enum state {
    ST_IDLE_SLOT,  /* not started */
    ST_CONNECTING, /* connect() in progress */
    ST_GREETING,   /* connected, waiting for "* OK" */
    ST_PRELOGIN,   /* greeted, not logged in */
    ST_LOGIN,      /* "a LOGIN" sent */
    ST_SELECT,     /* "b SELECT" sent */
    ST_IDLE_CMD,   /* "c IDLE" sent */
    ST_HELD,       /* logged in, mailbox selected (and IDLE-ing with -I): the steady state */
    ST_FAILED,
    ST_DROPPED, /* the server closed a session that had reached PRELOGIN or HELD */
};

struct sess {
    int fd;
    unsigned char state;
    unsigned char tries; /* LOGINs sent */
    unsigned short len;  /* bytes of the current line kept in line[] */
    char line[LINE_KEEP];
};

static const char *opt_addr = "127.0.0.1", *opt_prefix = "user", *opt_password = "secret";
static const char *opt_mailbox = "INBOX";
static int opt_port, opt_width = 4, opt_users = 100, opt_connecting = 200, opt_inflight = 100;
static long opt_n = 10000;
static bool opt_idle, opt_go;
static double opt_stage = 1200, opt_hard = 3600;

static struct sess *sess;
static int ep;
static struct sockaddr_in server;
static long n_greeted, n_failed, n_login_ok, n_held, n_idling, n_idle_refused, n_dropped;
static long n_login_retried, n_login_retry_max; /* LOGINs answered NO [UNAVAILABLE], sent again */
static long n_reported;
static long in_connect, in_login; /* sessions in flight in each phase */

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("imap-hold: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void usage(void)
{
    fputs("usage: imap-hold -p PORT [-a ADDR] [-n N] [-u USERS] [-U PREFIX] [-W WIDTH] "
          "[-w PASSWORD] [-m MAILBOX] [-c CONNECTING] [-l INFLIGHT] [-I] [-g] [-t STAGE_S] "
          "[-T HARD_S]\n",
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

/* Closes session i and counts it as failed or dropped; why (if any) is described on stderr. */
static void sess_close(long i, enum state to, const char *why)
{
    struct sess *s = &sess[i];
    enum state from = (enum state)s->state;

    if (from == ST_CONNECTING || from == ST_GREETING)
        in_connect--;
    if (from == ST_LOGIN || from == ST_SELECT || from == ST_IDLE_CMD)
        in_login--;
    if (from == ST_HELD)
        n_held--;
    if (s->fd >= 0) {
        close(s->fd); /* also removes it from the epoll set */
        s->fd = -1;
    }
    s->state = (unsigned char)to;
    if (to == ST_FAILED)
        n_failed++;
    else
        n_dropped++;
    if (why != NULL && n_reported < MAX_REPORTED) {
        n_reported++;
        fprintf(stderr, "imap-hold: session %ld %s: %s%s%.*s\n", i,
                to == ST_FAILED ? "failed" : "dropped", why, s->len ? "; last line: " : "",
                (int)s->len, s->line);
    }
}

static bool sess_send(long i, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof(buf)) {
        sess_close(i, ST_FAILED, "command too long");
        return false;
    }
    /* a few dozen bytes on a connection with nothing else queued: all or nothing */
    ssize_t w = send(sess[i].fd, buf, (size_t)len, MSG_NOSIGNAL);
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
    s->state = ST_CONNECTING;
    s->len = 0;
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

static void start_login(long i)
{
    in_login++;
    sess[i].state = ST_LOGIN;
    send_login(i);
}

static bool tagged(const struct sess *s, const char *tag_status)
{
    size_t n = strlen(tag_status);

    return s->len >= n && strncasecmp(s->line, tag_status, n) == 0;
}

/* One complete response line (the first LINE_KEEP bytes of it) for session i. */
static void on_line(long i)
{
    struct sess *s = &sess[i];
    char tag = s->len >= 2 && s->line[1] == ' ' ? s->line[0] : '*';

    switch ((enum state)s->state) {
    case ST_GREETING:
        if (!tagged(s, "* OK")) {
            sess_close(i, ST_FAILED, "greeting is not * OK");
            return;
        }
        s->state = ST_PRELOGIN;
        in_connect--;
        n_greeted++;
        break;
    case ST_LOGIN:
        if (tag != 'a')
            break;
        if (tagged(s, "a NO [UNAVAILABLE]") && s->tries <= LOGIN_RETRIES) {
            /* the server says "try again later": a client would, at once here */
            n_login_retried++;
            if (s->tries > n_login_retry_max)
                n_login_retry_max = s->tries;
            if (n_reported < MAX_REPORTED) {
                n_reported++;
                fprintf(stderr, "imap-hold: session %ld: LOGIN sent again after: %.*s\n", i,
                        (int)s->len, s->line);
            }
            s->len = 0;
            send_login(i);
            return;
        }
        if (!tagged(s, "a OK")) {
            sess_close(i, ST_FAILED, "LOGIN refused");
            return;
        }
        n_login_ok++;
        s->state = ST_SELECT;
        sess_send(i, "b SELECT %s\r\n", opt_mailbox);
        break;
    case ST_SELECT:
        if (tag != 'b')
            break;
        if (!tagged(s, "b OK")) {
            sess_close(i, ST_FAILED, "SELECT refused");
            return;
        }
        if (opt_idle) {
            s->state = ST_IDLE_CMD;
            sess_send(i, "c IDLE\r\n");
            break;
        }
        s->state = ST_HELD;
        in_login--;
        n_held++;
        break;
    case ST_IDLE_CMD:
        if (s->len >= 1 && s->line[0] == '+') {
            n_idling++;
        } else if (tag == 'c') {
            n_idle_refused++;
        } else {
            break;
        }
        s->state = ST_HELD;
        in_login--;
        n_held++;
        break;
    default: /* untagged data while pre-login or held (EXISTS, BYE, ...): nothing to do */
        break;
    }
    s->len = 0;
}

static void on_readable(long i)
{
    static char buf[16384];
    struct sess *s = &sess[i];

    for (int rounds = 0; rounds < 8 && s->fd >= 0; rounds++) {
        ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            bool steady = s->state == ST_PRELOGIN || s->state == ST_HELD;
            sess_close(i, steady ? ST_DROPPED : ST_FAILED,
                       n == 0 ? "server closed the connection" : strerror(errno));
            return;
        }
        for (ssize_t k = 0; k < n && s->fd >= 0; k++) {
            if (buf[k] == '\n') {
                if (s->len > 0 && s->line[s->len - 1] == '\r')
                    s->len--;
                on_line(i);
                s->len = 0;
            } else if (s->len < LINE_KEEP) {
                s->line[s->len++] = buf[k];
            }
        }
    }
}

static void on_event(const struct epoll_event *ev)
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
        struct epoll_event in = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &in);
        s->state = ST_GREETING;
        if (!(ev->events & EPOLLIN))
            return;
    }
    if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(i);
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

/* Whether the signal fd says go on (SIGUSR1) or stop (SIGTERM, SIGINT). */
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

    while ((opt = getopt(argc, argv, "a:p:n:u:U:W:w:m:c:l:Igt:T:")) != -1) {
        switch (opt) {
        case 'a':
            opt_addr = optarg;
            break;
        case 'p':
            opt_port = (int)num(optarg, 1, 65535);
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
        case 'm':
            opt_mailbox = optarg;
            break;
        case 'c':
            opt_connecting = (int)num(optarg, 1, 100000);
            break;
        case 'l':
            opt_inflight = (int)num(optarg, 1, 100000);
            break;
        case 'I':
            opt_idle = true;
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

    sess = calloc((size_t)opt_n, sizeof(*sess));
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (sess == NULL || ep < 0)
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

    enum { PH_CONNECT, PH_WAIT_GO, PH_LOGIN, PH_HOLD } phase = PH_CONNECT;
    double t0 = now(), t_phase = t0, t_progress = t0 + PROGRESS_S, t_last_login = t0;
    long next = 0, greeted_at_end = 0;
    bool go = opt_go, stop = false, timed_out = false;
    static struct epoll_event evs[1024];

    while (!stop) {
        double t = now();
        if (t - t0 >= opt_hard) {
            timed_out = true;
            break;
        }
        /* --- phase transitions and starts --- */
        if (phase == PH_CONNECT) {
            while (next < opt_n && in_connect < opt_connecting)
                start_connect(next++);
            bool late = t - t_phase >= opt_stage;
            if ((next == opt_n && in_connect == 0) || late) {
                for (long i = 0; late && i < opt_n; i++) {
                    if (sess[i].state == ST_CONNECTING || sess[i].state == ST_GREETING)
                        sess_close(i, ST_FAILED, "no greeting within the phase's time bound");
                    else if (sess[i].state == ST_IDLE_SLOT)
                        sess[i].state = ST_FAILED, n_failed++;
                }
                greeted_at_end = n_greeted;
                printf("connected n=%ld greeted=%ld failed=%ld dropped=%ld seconds=%.2f\n", opt_n,
                       n_greeted, n_failed, n_dropped, t - t_phase);
                phase = PH_WAIT_GO;
            }
        }
        if (phase == PH_WAIT_GO && go) {
            phase = PH_LOGIN;
            t_phase = t_last_login = now();
            next = 0;
        }
        if (phase == PH_LOGIN) {
            while (next < opt_n && in_login < opt_inflight) {
                if (sess[next].state == ST_PRELOGIN)
                    start_login(next);
                next++;
            }
            bool late = t - t_phase >= opt_stage;
            if ((next == opt_n && in_login == 0) || late) {
                for (long i = 0; late && i < opt_n; i++) {
                    enum state st = (enum state)sess[i].state;
                    if (st == ST_LOGIN || st == ST_SELECT || st == ST_IDLE_CMD || st == ST_PRELOGIN)
                        sess_close(i, ST_FAILED, "not logged in within the phase's time bound");
                }
                double secs = t_last_login - t_phase;
                printf("ready n=%ld held=%ld failed=%ld dropped=%ld logins=%ld "
                       "login_seconds=%.2f logins_per_s=%.1f login_retried=%ld "
                       "login_retry_max=%ld idling=%ld idle_refused=%ld seconds=%.2f\n",
                       opt_n, n_held, n_failed, n_dropped, n_login_ok, secs,
                       secs > 0 ? (double)n_login_ok / secs : 0.0, n_login_retried,
                       n_login_retry_max, n_idling, n_idle_refused, t - t_phase);
                phase = PH_HOLD;
            }
        }
        if (t >= t_progress) {
            t_progress = t + PROGRESS_S;
            if (phase == PH_CONNECT)
                fprintf(stderr, "imap-hold: connect %ld/%ld greeted, %ld failed, %ld waiting\n",
                        n_greeted, opt_n, n_failed, in_connect);
            else if (phase == PH_LOGIN)
                fprintf(stderr,
                        "imap-hold: login %ld/%ld logged in, %ld held, %ld failed, %ld in "
                        "flight, %.1f logins/s\n",
                        n_login_ok, greeted_at_end, n_held, n_failed, in_login,
                        t > t_phase ? (double)n_login_ok / (t - t_phase) : 0.0);
        }

        /* --- wait --- */
        double wake = t_progress;
        if (t0 + opt_hard < wake)
            wake = t0 + opt_hard;
        if ((phase == PH_CONNECT || phase == PH_LOGIN) && t_phase + opt_stage < wake)
            wake = t_phase + opt_stage;
        int ms = (int)((wake - t) * 1000) + 1;
        int n = epoll_wait(ep, evs, 1024, ms < 0 ? 0 : ms);
        if (n < 0 && errno != EINTR)
            die("epoll_wait: %s", strerror(errno));
        for (int k = 0; k < n; k++) {
            if (evs[k].data.u32 == SIGNAL_TAG) {
                int sig = read_signal(sfd);
                if (sig > 0)
                    go = true;
                else if (sig < 0)
                    stop = true;
                continue;
            }
            long before = n_login_ok;
            on_event(&evs[k]);
            if (n_login_ok != before)
                t_last_login = now();
        }
    }
    printf("end held=%ld failed=%ld dropped=%ld seconds=%.2f%s\n", n_held, n_failed, n_dropped,
           now() - t0, timed_out ? " hard_timeout=1" : "");
    return timed_out ? 3 : 0;
}
