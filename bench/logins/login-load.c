/* login-load: an IMAP login-rate load generator for bench/logins. C client threads, each with one
 * connection at a time, loop: connect, read the greeting, "a LOGIN userNNN PASSWORD", check the
 * tagged OK, "b LOGOUT", read to its tagged OK, close. Which user a login uses comes from one
 * shared counter (login k is user k mod U + 1), so the U users repeat evenly and caches on the
 * server side see every user again after U logins. The run stops after N logins in all (claimed
 * before each connection) or after T seconds (checked before each connection), with a hard
 * alarm() past that.
 *
 *   login-load -P PORT [-H 127.0.0.1] [-c CLIENTS] [-u USERS] [-N LOGINS] [-t SECONDS]
 *              [-T HARD_SECONDS] [-n USERFMT] [-p PASSWORD] [-o FIRST] [-l LABEL]
 *
 * -o FIRST starts the shared counter at FIRST (so a warm-up pass of -N U -o 0 logs every user in
 * once). Users are printf(USERFMT, i) for i = 1..U (default "user%03d"), all with password -p
 * (default "secret").
 *
 * Every reply is checked: the greeting must be "* OK", LOGIN must end in "a OK" (untagged lines
 * before it are allowed), LOGOUT must end in "b OK" after an untagged BYE. A login that is not
 * OK, a connection that fails or closes early, or a reply that is not what IMAP says counts as
 * failed; the first 20 faults are printed on stderr.
 *
 * Prints one line: label, clients, users, logins attempted and done (OK through LOGOUT),
 * failures, seconds, logins/s (completed ones), login latency p50/p99 (LOGIN sent to its tagged
 * OK), session time p50/p99 (connect to LOGOUT's tagged OK) and the CPU seconds the generator
 * itself used. Exit 0 when every login went through; 1 otherwise. Built with plain
 * `cc -O2 -pthread` by bench/logins/run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S 30
#define MAX_CLIENTS  256
#define MAX_USERS    9999
#define MAX_SAMPLES  1000000
#define LINE_MAX_LEN 8192

static const char *opt_host = "127.0.0.1", *opt_label = "imap", *opt_userfmt = "user%03d";
static const char *opt_password = "secret";
static int opt_port, opt_clients = 1, opt_users = 50;
static long opt_logins = 2000, opt_first;
static double opt_seconds = 20, opt_hard;

static atomic_long next_login, n_done, n_fail, n_lat_login, n_lat_session;
static double *lat_login, *lat_session;
static double t_deadline;
static pthread_barrier_t start_barrier;

struct client {
    int id, fd;
    const char *user;
    char buf[16384];
    size_t have, pos;
    char line[LINE_MAX_LEN + 1];
    size_t line_len;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "login-load: hard timeout reached, giving up\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(3);
}

static void fault(struct client *c, const char *fmt, ...)
{
    long f = atomic_fetch_add(&n_fail, 1);
    if (f >= 20)
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fprintf(stderr, "login-load: %s client %d user %s: %s\n", opt_label, c->id,
            c->user ? c->user : "-", text);
}

static int client_connect(struct client *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    int one = 1;

    c->have = c->pos = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || inet_pton(AF_INET, opt_host, &sa.sin_addr) != 1 ||
        connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fault(c, "connect: %s", strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return 0;
}

static int send_str(struct client *c, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fault(c, "send: %s", n < 0 ? strerror(errno) : "nothing sent");
            return -1;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one line into c->line without its CRLF; a line must end in CRLF. 0, or -1 after
 * reporting the fault. */
static int read_line(struct client *c)
{
    c->line_len = 0;
    c->line[0] = '\0';
    for (;;) {
        if (c->pos == c->have) {
            ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) {
                fault(c, "connection %s after \"%.80s\"", r == 0 ? "closed" : strerror(errno),
                      c->line);
                return -1;
            }
            c->have = (size_t)r;
            c->pos = 0;
        }
        const char *p = c->buf + c->pos, *nl = memchr(p, '\n', c->have - c->pos);
        size_t n = nl ? (size_t)(nl - p) : c->have - c->pos;
        if (c->line_len + n > LINE_MAX_LEN) {
            fault(c, "reply line over %d octets", LINE_MAX_LEN);
            return -1;
        }
        memcpy(c->line + c->line_len, p, n);
        c->line_len += n;
        c->line[c->line_len] = '\0';
        c->pos += n + (nl != NULL);
        if (nl != NULL)
            break;
    }
    if (c->line_len == 0 || c->line[c->line_len - 1] != '\r') {
        fault(c, "line without CR before LF: \"%.80s\"", c->line);
        return -1;
    }
    c->line[--c->line_len] = '\0';
    return 0;
}

/* Reads lines up to the one tagged TAG; untagged ("* ...") lines before it are skipped, and
 * *bye is set when one of them is a BYE. 0 when the tagged line says OK; -1 after reporting. */
static int expect_tagged_ok(struct client *c, const char *tag, const char *what, int *bye)
{
    size_t tl = strlen(tag);
    for (;;) {
        if (read_line(c) != 0)
            return -1;
        if (c->line[0] == '*' && c->line[1] == ' ') {
            if (bye != NULL && strncasecmp(c->line + 2, "BYE", 3) == 0)
                *bye = 1;
            continue;
        }
        if (strncmp(c->line, tag, tl) == 0 && c->line[tl] == ' ') {
            if (strncasecmp(c->line + tl + 1, "OK", 2) == 0 &&
                (c->line[tl + 3] == ' ' || c->line[tl + 3] == '\0'))
                return 0;
            fault(c, "%s: %.200s", what, c->line);
            return -1;
        }
        fault(c, "%s: unexpected line \"%.200s\"", what, c->line);
        return -1;
    }
}

static void sample(double *arr, atomic_long *n, double v)
{
    long i = atomic_fetch_add(n, 1);
    if (i < MAX_SAMPLES)
        arr[i] = v;
}

/* One connection: greeting, LOGIN, LOGOUT. 0 when all of it went through. */
static int session(struct client *c, char *name)
{
    char cmd[600];
    double t0 = now();
    int bye = 0;

    c->user = name;
    if (client_connect(c) != 0)
        return -1;
    if (read_line(c) != 0)
        goto fail;
    if (strncmp(c->line, "* OK", 4) != 0) {
        fault(c, "greeting: %.200s", c->line);
        goto fail;
    }
    double tl = now();
    snprintf(cmd, sizeof(cmd), "a LOGIN %s %s\r\n", name, opt_password);
    if (send_str(c, cmd) != 0 || expect_tagged_ok(c, "a", "LOGIN", NULL) != 0)
        goto fail;
    sample(lat_login, &n_lat_login, now() - tl);
    if (send_str(c, "b LOGOUT\r\n") != 0 || expect_tagged_ok(c, "b", "LOGOUT", &bye) != 0)
        goto fail;
    if (!bye) {
        fault(c, "LOGOUT: no untagged BYE before b OK");
        goto fail;
    }
    close(c->fd);
    c->fd = -1;
    atomic_fetch_add(&n_done, 1);
    sample(lat_session, &n_lat_session, now() - t0);
    return 0;
fail:
    close(c->fd);
    c->fd = -1;
    return -1;
}

static void *client_run(void *arg)
{
    struct client *c = arg;
    char name[256];

    pthread_barrier_wait(&start_barrier);
    for (;;) {
        if (now() >= t_deadline)
            return NULL;
        long k = atomic_fetch_add(&next_login, 1);
        if (k >= opt_first + opt_logins)
            return NULL;
        snprintf(name, sizeof(name), opt_userfmt, (int)(k % opt_users) + 1);
        session(c, name);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *arr, atomic_long *n, int p)
{
    long cnt = atomic_load(n);
    if (cnt > MAX_SAMPLES)
        cnt = MAX_SAMPLES;
    if (cnt == 0)
        return 0;
    qsort(arr, (size_t)cnt, sizeof(double), cmp_double);
    long i = cnt * p / 100;
    return arr[i < cnt ? i : cnt - 1] * 1e3;
}

static void usage(void)
{
    fputs("usage: login-load -P PORT [-H 127.0.0.1] [-c CLIENTS] [-u USERS] [-N LOGINS]\n"
          "                  [-t SECONDS] [-T HARD_SECONDS] [-n USERFMT] [-p PASSWORD]\n"
          "                  [-o FIRST] [-l LABEL]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    struct client *clients;
    pthread_t th[MAX_CLIENTS];
    struct in_addr a;
    int ch;

    while ((ch = getopt(argc, argv, "H:P:c:u:N:t:T:n:p:o:l:h")) != -1) {
        switch (ch) {
        case 'H':
            opt_host = optarg;
            break;
        case 'P':
            opt_port = atoi(optarg);
            break;
        case 'c':
            opt_clients = atoi(optarg);
            break;
        case 'u':
            opt_users = atoi(optarg);
            break;
        case 'N':
            opt_logins = atol(optarg);
            break;
        case 't':
            opt_seconds = atof(optarg);
            break;
        case 'T':
            opt_hard = atof(optarg);
            break;
        case 'n':
            opt_userfmt = optarg;
            break;
        case 'p':
            opt_password = optarg;
            break;
        case 'o':
            opt_first = atol(optarg);
            break;
        case 'l':
            opt_label = optarg;
            break;
        default:
            usage();
        }
    }
    if (opt_port <= 0 || opt_clients < 1 || opt_clients > MAX_CLIENTS || opt_users < 1 ||
        opt_users > MAX_USERS || opt_logins < 1 || opt_seconds <= 0 || opt_first < 0)
        usage();
    if (inet_pton(AF_INET, opt_host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
        fprintf(stderr, "login-load: %s is not a loopback address\n", opt_host);
        return 2;
    }
    if (opt_hard <= 0)
        opt_hard = opt_seconds + 60;
    signal(SIGALRM, on_alarm);
    alarm((unsigned)opt_hard + 1);
    lat_login = calloc(MAX_SAMPLES, sizeof(double));
    lat_session = calloc(MAX_SAMPLES, sizeof(double));
    clients = calloc((size_t)opt_clients, sizeof(*clients));
    if (lat_login == NULL || lat_session == NULL || clients == NULL)
        abort();
    atomic_store(&next_login, opt_first);
    pthread_barrier_init(&start_barrier, NULL, (unsigned)opt_clients + 1);
    for (int i = 0; i < opt_clients; i++) {
        struct client *c = &clients[i];
        c->id = i + 1;
        c->fd = -1;
        if (pthread_create(&th[i], NULL, client_run, c) != 0)
            abort();
    }
    double t_start = now();
    t_deadline = t_start + opt_seconds;
    pthread_barrier_wait(&start_barrier);
    for (int i = 0; i < opt_clients; i++)
        pthread_join(th[i], NULL);
    double secs = now() - t_start;

    long attempted = atomic_load(&next_login) - opt_first, done = atomic_load(&n_done);
    long failed = atomic_load(&n_fail);
    if (attempted > opt_logins)
        attempted = opt_logins;
    if (attempted < done + failed) /* a fault before the counter: cannot happen, but stay sane */
        attempted = done + failed;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("%s clients=%d users=%d attempted=%ld logins=%ld failed=%ld seconds=%.3f "
           "logins_per_s=%.1f login_p50_ms=%.2f login_p99_ms=%.2f session_p50_ms=%.2f "
           "session_p99_ms=%.2f client_cpu_s=%.3f\n",
           opt_label, opt_clients, opt_users, attempted, done, failed, secs, done / secs,
           pct(lat_login, &n_lat_login, 50), pct(lat_login, &n_lat_login, 99),
           pct(lat_session, &n_lat_session, 50), pct(lat_session, &n_lat_session, 99), cpu);
    return failed == 0 && done > 0 && done == attempted ? 0 : 1;
}
