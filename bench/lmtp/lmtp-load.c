/* lmtp-load: an LMTP load generator for bench/lmtp. One thread and one connection per client;
 * LHLO once, then MAIL/RCPT/DATA per message, every reply checked, until N messages are sent
 * or T seconds have passed, whichever comes first (and a hard alarm() past that).
 *
 *   lmtp-load -S SOCKET | -H HOST -P PORT   where to connect (unix socket or TCP on loopback)
 *             -c CLIENTS   concurrent connections (default 1)
 *             -n COUNT     messages in all, shared by the clients (default 1000)
 *             -t SECONDS   time bound (default 60); -T SECONDS hard bound (default t + 60)
 *             -s BYTES     message size, headers included (default 5120)
 *             -u USERS     recipients user01..userNN @ -d DOMAIN (default 10, example.org)
 *             -l LABEL     label printed on the result line
 *
 * Prints one line: label, clients, size, ok, failed, seconds, msgs/s, MiB/s, latency p50/p99 ms
 * (from MAIL to the last 250), and the CPU seconds the generator itself used.
 * Exit 0 when every message got 250 for MAIL, RCPT and after the final dot; 1 otherwise.
 * Built with plain `cc -O2 -pthread` by bench/lmtp/run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S 30
#define MAX_CLIENTS  64
#define MAX_LAT      1000000

static const char *opt_sock, *opt_host = "127.0.0.1", *opt_domain = "example.org";
static const char *opt_label = "lmtp";
static int opt_port, opt_clients = 1, opt_users = 10;
static long opt_count = 1000, opt_size = 5120;
static double opt_seconds = 60, opt_hard;

static atomic_long next_msg, n_ok, n_fail, n_bytes;
static double t_start, t_deadline;
static char *body_template; /* the message after its headers, dot-stuffing-free, ending CRLF */
static size_t body_len;
static double *latencies;
static atomic_long n_lat;

struct client {
    int id, fd;
    char buf[65536];
    size_t have, pos;
    char lastline[512];
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
    static const char msg[] = "lmtp-load: hard timeout reached, giving up\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(3);
}

static int client_connect(struct client *c)
{
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    int fd;

    if (opt_sock != NULL) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(opt_sock) >= sizeof(sa.sun_path))
            return -1;
        strcpy(sa.sun_path, opt_sock);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            goto fail;
    } else {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
        int one = 1;
        if (inet_pton(AF_INET, opt_host, &sa.sin_addr) != 1 ||
            (ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
            fprintf(stderr, "lmtp-load: %s is not a loopback address\n", opt_host);
            return -1;
        }
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            goto fail;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c->fd = fd;
    c->have = c->pos = 0;
    return 0;
fail:
    fprintf(stderr, "lmtp-load: client %d: connect: %s\n", c->id, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static int send_all(struct client *c, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one reply line (without CRLF) into c->lastline; returns its 3-digit code, -1 on error.
 * *more is set when the line is a continuation ("250-..."). */
static int read_line(struct client *c, int *more)
{
    size_t n = 0;

    for (;;) {
        while (c->pos < c->have) {
            char ch = c->buf[c->pos++];
            if (ch == '\n') {
                if (n > 0 && c->lastline[n - 1] == '\r')
                    n--;
                c->lastline[n] = '\0';
                if (n < 4 || c->lastline[0] < '1' || c->lastline[0] > '5')
                    return -1;
                *more = c->lastline[3] == '-';
                return atoi(c->lastline);
            }
            if (n < sizeof(c->lastline) - 1)
                c->lastline[n++] = ch;
        }
        ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c->have = (size_t)r;
        c->pos = 0;
    }
}

/* One whole reply (multi-line replies read to their last line); returns the code. */
static int read_reply(struct client *c)
{
    int more = 0, code;

    do
        code = read_line(c, &more);
    while (code >= 0 && more);
    return code;
}

static int client_greet(struct client *c)
{
    char lhlo[64];

    if (read_reply(c) != 220)
        return -1;
    snprintf(lhlo, sizeof(lhlo), "LHLO load%d.bench.test\r\n", c->id);
    if (send_all(c, lhlo, strlen(lhlo)) != 0 || read_reply(c) != 250)
        return -1;
    return 0;
}

static void fail_reply(struct client *c, long msg, const char *what, int code)
{
    long f = atomic_fetch_add(&n_fail, 1);
    if (f < 10)
        fprintf(stderr, "lmtp-load: client %d message %ld: %s got %d: %s\n", c->id, msg, what, code,
                code < 0 ? "(connection error)" : c->lastline);
}

/* Sends one message; 0 when every reply was as expected, -1 on a refused command (the session
 * stays usable), -2 when the connection is lost. MAIL, RCPT and DATA go in one write
 * (PIPELINING, which both servers announce); the body follows the 354. */
static int client_send(struct client *c, long msg)
{
    char cmd[512], head[512];
    int user = (int)(msg % opt_users) + 1, code, bad = 0;

    int n = snprintf(cmd, sizeof(cmd),
                     "MAIL FROM:<sender%d@bench.test>\r\nRCPT TO:<user%02d@%s>\r\nDATA\r\n", c->id,
                     user, opt_domain);
    if (send_all(c, cmd, (size_t)n) != 0)
        return -2;
    if ((code = read_reply(c)) != 250) {
        fail_reply(c, msg, "MAIL", code);
        bad = 1;
        if (code < 0)
            return -2;
    }
    if ((code = read_reply(c)) != 250) {
        if (!bad)
            fail_reply(c, msg, "RCPT", code);
        bad = 1;
        if (code < 0)
            return -2;
    }
    if ((code = read_reply(c)) != 354) {
        if (!bad)
            fail_reply(c, msg, "DATA", code);
        return code < 0 ? -2 : -1;
    }
    int h = snprintf(head, sizeof(head),
                     "From: sender%d@bench.test\r\nTo: user%02d@%s\r\n"
                     "Subject: bench message %ld\r\nMessage-ID: <%ld.%d@bench.test>\r\n"
                     "Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                     c->id, user, opt_domain, msg, msg, c->id);
    /* the body: whole template lines, then one shorter line ending in CRLF, so the message is
     * exactly opt_size bytes (the template never has a '.' at a line start) */
    size_t blen = (size_t)opt_size - (size_t)h, full = blen / 78 * 78, rest = blen - full;
    if (rest == 1 && full >= 78) {
        full -= 78;
        rest += 78;
    }
    char tail[160];
    memcpy(tail, body_template, rest);
    if (rest >= 2) {
        tail[rest - 2] = '\r';
        tail[rest - 1] = '\n';
    }
    if (send_all(c, head, (size_t)h) != 0 || send_all(c, body_template, full) != 0 ||
        send_all(c, tail, rest) != 0 || send_all(c, ".\r\n", 3) != 0)
        return -2;
    if ((code = read_reply(c)) != 250) { /* one reply per accepted recipient: one here */
        if (!bad)
            fail_reply(c, msg, "end of DATA", code);
        return code < 0 ? -2 : -1;
    }
    if (bad)
        return -1;
    atomic_fetch_add(&n_bytes, (long)((size_t)h + blen));
    return 0;
}

static void *client_run(void *arg)
{
    struct client *c = arg;
    int reconnects = 0;

    if (client_connect(c) != 0 || client_greet(c) != 0) {
        fprintf(stderr, "lmtp-load: client %d: no greeting or LHLO refused: %s\n", c->id,
                c->lastline);
        atomic_fetch_add(&n_fail, 1);
        return NULL;
    }
    for (;;) {
        if (now() >= t_deadline)
            break;
        long msg = atomic_fetch_add(&next_msg, 1);
        if (msg >= opt_count)
            break;
        double t0 = now();
        int rc = client_send(c, msg);
        if (rc == 0) {
            atomic_fetch_add(&n_ok, 1);
            long i = atomic_fetch_add(&n_lat, 1);
            if (i < MAX_LAT)
                latencies[i] = now() - t0;
            continue;
        }
        if (rc == -1) { /* a refused transaction: reset it before the next one */
            if (send_all(c, "RSET\r\n", 6) != 0 || read_reply(c) != 250)
                rc = -2;
        }
        if (rc == -2) {
            fprintf(stderr, "lmtp-load: client %d: connection lost at message %ld: %s\n", c->id,
                    msg, strerror(errno));
            close(c->fd);
            if (++reconnects > 3 || client_connect(c) != 0 || client_greet(c) != 0)
                return NULL;
        }
    }
    send_all(c, "QUIT\r\n", 6);
    read_reply(c);
    close(c->fd);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void make_body(void)
{
    /* lines of 76 printable characters + CRLF; never a leading '.', so no dot-stuffing */
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t lines = (size_t)opt_size / 78 + 2;
    body_template = malloc(lines * 78);
    if (body_template == NULL)
        abort();
    unsigned seed = 12345;
    for (size_t l = 0; l < lines; l++) {
        char *p = body_template + l * 78;
        for (int i = 0; i < 76; i++) {
            seed = seed * 1103515245u + 12345u;
            p[i] = (i % 11 == 10) ? ' ' : alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        p[76] = '\r';
        p[77] = '\n';
    }
    body_len = lines * 78;
}

static void usage(void)
{
    fputs("usage: lmtp-load (-S SOCKET | -H 127.0.0.1 -P PORT) [-c CLIENTS] [-n COUNT] "
          "[-t SECONDS] [-T HARD_SECONDS] [-s BYTES] [-u USERS] [-d DOMAIN] [-l LABEL]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    struct client *clients;
    pthread_t th[MAX_CLIENTS];
    int ch;

    while ((ch = getopt(argc, argv, "S:H:P:c:n:t:T:s:u:d:l:h")) != -1) {
        switch (ch) {
        case 'S':
            opt_sock = optarg;
            break;
        case 'H':
            opt_host = optarg;
            break;
        case 'P':
            opt_port = atoi(optarg);
            break;
        case 'c':
            opt_clients = atoi(optarg);
            break;
        case 'n':
            opt_count = atol(optarg);
            break;
        case 't':
            opt_seconds = atof(optarg);
            break;
        case 'T':
            opt_hard = atof(optarg);
            break;
        case 's':
            opt_size = atol(optarg);
            break;
        case 'u':
            opt_users = atoi(optarg);
            break;
        case 'd':
            opt_domain = optarg;
            break;
        case 'l':
            opt_label = optarg;
            break;
        default:
            usage();
        }
    }
    if ((opt_sock == NULL && opt_port <= 0) || opt_clients < 1 || opt_clients > MAX_CLIENTS ||
        opt_count < 1 || opt_seconds <= 0 || opt_size < 512 || opt_users < 1 || opt_users > 99)
        usage();
    if (opt_hard <= 0)
        opt_hard = opt_seconds + 60;
    signal(SIGALRM, on_alarm);
    alarm((unsigned)opt_hard + 1);
    make_body();
    latencies = calloc(MAX_LAT, sizeof(double));
    clients = calloc((size_t)opt_clients, sizeof(*clients));
    if (latencies == NULL || clients == NULL)
        abort();

    t_start = now();
    t_deadline = t_start + opt_seconds;
    for (int i = 0; i < opt_clients; i++) {
        clients[i].id = i + 1;
        clients[i].fd = -1;
        if (pthread_create(&th[i], NULL, client_run, &clients[i]) != 0)
            abort();
    }
    for (int i = 0; i < opt_clients; i++)
        pthread_join(th[i], NULL);
    double secs = now() - t_start;

    long ok = atomic_load(&n_ok), failed = atomic_load(&n_fail);
    long nl = atomic_load(&n_lat);
    if (nl > MAX_LAT)
        nl = MAX_LAT;
    qsort(latencies, (size_t)nl, sizeof(double), cmp_double);
    double p50 = nl ? latencies[nl / 2] * 1e3 : 0, p99 = nl ? latencies[nl * 99 / 100] * 1e3 : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("%s clients=%d size=%ld ok=%ld failed=%ld seconds=%.3f msgs_per_s=%.1f "
           "mib_per_s=%.2f p50_ms=%.2f p99_ms=%.2f client_cpu_s=%.3f\n",
           opt_label, opt_clients, opt_size, ok, failed, secs, ok / secs,
           (double)atomic_load(&n_bytes) / secs / 1048576.0, p50, p99, cpu);
    return failed == 0 && ok > 0 ? 0 : 1;
}
