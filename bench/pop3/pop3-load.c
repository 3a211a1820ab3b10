/* pop3-load: a POP3 load generator for bench/pop3. One thread and one connection at a time per
 * client; client i owns users i, i+C, i+2C ... and loops over them: USER/PASS, STAT, UIDL, RETR
 * of every message read to the terminating dot, QUIT; then the next user, until R passes are
 * done or T seconds have passed (checked before each session), with a hard alarm() past that.
 * Every reply is checked and every message is compared byte for byte with the one the message
 * set says it is; any -ERR or difference is printed and makes the exit status 1.
 *
 * The message set is generated from a seed: M messages whose sizes spread from -a to -b bytes
 * (default 2 KB to 100 KB, skewed to the small end: size = a + (b - a) * u^2, mean about 34 KB),
 * plain-text lines of varying length, some starting with '.' (so dot-stuffing is exercised),
 * and a header "X-Bench-Id: K" that names message K. Every user holds the same M messages.
 *
 *   pop3-load -g DIR -m M [-z SEED] [-a MIN] [-b MAX]
 *       writes the set: DIR/crlf/K (CRLF lines, as delivered), DIR/lf/K (LF lines, as a
 *       Maildir written by Dovecot holds them) and DIR/index ("K crlf_size lf_size" lines).
 *
 *   pop3-load -P PORT [-H 127.0.0.1] -u USERS -m M [-z SEED] [-a MIN] [-b MAX] [-c CLIENTS]
 *             [-r ROUNDS] [-t SECONDS] [-T HARD_SECONDS] [-n USERFMT] [-p PASSWORD]
 *             [-k UIDLFILE] [-l LABEL]
 *       the load: users are printf(USERFMT, i) for i = 1..USERS (default "user%03d"), all with
 *       password -p (default "bench-secret"). -k keeps a digest of each user's UIDL listing in
 *       a file: written by the first run, checked by the later ones (UIDs stable across
 *       sessions and runs); the listing must also be the same in every session of a run.
 *
 * Prints one line: label, clients, users, sessions, messages retrieved, bytes (message octets,
 * before dot-stuffing), failures, seconds, msgs/s, MB/s (10^6), MiB/s, login latency p50/p99 (USER
 * sent to PASS's +OK), session time p50/p99 (connect to QUIT's +OK), and the CPU seconds the
 * generator itself used. Exit 0 when every session went through without a fault; 1 otherwise.
 * Built with plain `cc -O2 -pthread` by bench/pop3/run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S 30
#define MAX_CLIENTS  256
#define MAX_USERS    9999
#define MAX_MESSAGES 100000
#define MAX_SAMPLES  1000000
#define LINE_MAX_LEN 4096 /* longer reply lines are a fault here: the set has none */
#define UIDL_MAX     70   /* RFC 1939: 1 to 70 characters */

static const char *opt_host = "127.0.0.1", *opt_label = "pop3", *opt_userfmt = "user%03d";
static const char *opt_password = "bench-secret", *opt_gendir, *opt_uidlfile;
static int opt_port, opt_clients = 1, opt_users, opt_rounds = 1000000;
static long opt_messages, opt_min = 2048, opt_max = 102400;
static unsigned long long opt_seed = 20261127;
static double opt_seconds = 60, opt_hard;

/* the message set */
static char **msg_data;
static size_t *msg_len;
static unsigned long long set_octets;

/* per user: digest of the UIDL listing (0: not seen yet), guarded by its client */
static uint64_t *uidl_digest, *uidl_expect;

static atomic_long n_sessions, n_msgs, n_bytes, n_fail, n_lat_login, n_lat_session;
static double *lat_login, *lat_session;
static double t_deadline;
static pthread_barrier_t start_barrier;

struct client {
    int id, fd;
    const char *user;
    char buf[65536];
    size_t have, pos;
    char line[LINE_MAX_LEN + 1];
    size_t line_len;
    char *msg; /* the message being received, dot-stuffing undone */
    size_t msg_len, msg_cap;
    unsigned char *seen; /* per message of the set: retrieved in this session */
    char (*uids)[UIDL_MAX + 1];
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
    static const char msg[] = "pop3-load: hard timeout reached, giving up\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(3);
}

/* --- the message set --- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Message k (1-based) of the set, with CRLF line ends; exactly its drawn size. */
static char *make_message(long k, size_t *len_r)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t rs = opt_seed * 1000003ULL + (uint64_t)k;
    double u = (double)(splitmix(&rs) >> 11) / 9007199254740992.0;
    size_t size = (size_t)opt_min + (size_t)((double)(opt_max - opt_min) * u * u);
    char *m = malloc(size + 1);
    if (m == NULL)
        abort();
    int h = snprintf(m, size + 1,
                     "From: Bench Sender <sender@bench.test>\r\n"
                     "To: Bench Users <users@bench.test>\r\n"
                     "Subject: POP3 bench message %ld\r\n"
                     "Message-ID: <pop3-bench-%ld.%llu@bench.test>\r\n"
                     "Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n"
                     "X-Bench-Id: %ld\r\n"
                     "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                     k, k, opt_seed, k);
    if (h < 0 || (size_t)h >= size) {
        fprintf(stderr, "pop3-load: -a is too small for the headers\n");
        exit(2);
    }
    size_t o = (size_t)h;
    while (o < size) {
        size_t left = size - o, n = 20 + splitmix(&rs) % 57; /* 20..76 characters + CRLF */
        if (left <= n + 2 + 3)                               /* the last line takes the rest */
            n = left - 2;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = splitmix(&rs);
            m[o + i] = (i % 9 == 8) ? ' ' : alphabet[r % (sizeof(alphabet) - 1)];
        }
        if (n > 0 && splitmix(&rs) % 40 == 0) /* a line for dot-stuffing */
            m[o] = '.';
        if (n > 1 && m[o + n - 1] == ' ')
            m[o + n - 1] = 'x';
        m[o + n] = '\r';
        m[o + n + 1] = '\n';
        o += n + 2;
    }
    m[size] = '\0';
    *len_r = size;
    return m;
}

static void make_set(void)
{
    msg_data = calloc((size_t)opt_messages + 1, sizeof(*msg_data));
    msg_len = calloc((size_t)opt_messages + 1, sizeof(*msg_len));
    if (msg_data == NULL || msg_len == NULL)
        abort();
    for (long k = 1; k <= opt_messages; k++) {
        msg_data[k] = make_message(k, &msg_len[k]);
        set_octets += msg_len[k];
    }
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "pop3-load: writing %s: %s\n", path, strerror(errno));
        exit(2);
    }
}

static int generate(void)
{
    char path[4096];
    size_t lfmax = 0;
    unsigned long long lf_total = 0;

    make_set();
    snprintf(path, sizeof(path), "%s/crlf", opt_gendir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/lf", opt_gendir);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/index", opt_gendir);
    FILE *idx = fopen(path, "w");
    if (idx == NULL) {
        fprintf(stderr, "pop3-load: %s: %s\n", path, strerror(errno));
        return 2;
    }
    for (long k = 1; k <= opt_messages; k++)
        if (msg_len[k] > lfmax)
            lfmax = msg_len[k];
    char *lf = malloc(lfmax + 1);
    if (lf == NULL)
        abort();
    for (long k = 1; k <= opt_messages; k++) {
        size_t n = 0;
        for (size_t i = 0; i < msg_len[k]; i++)
            if (!(msg_data[k][i] == '\r' && i + 1 < msg_len[k] && msg_data[k][i + 1] == '\n'))
                lf[n++] = msg_data[k][i];
        snprintf(path, sizeof(path), "%s/crlf/%05ld", opt_gendir, k);
        write_file(path, msg_data[k], msg_len[k]);
        snprintf(path, sizeof(path), "%s/lf/%05ld", opt_gendir, k);
        write_file(path, lf, n);
        fprintf(idx, "%05ld %zu %zu\n", k, msg_len[k], n);
        lf_total += n;
    }
    fclose(idx);
    free(lf);
    printf("messages=%ld octets=%llu mean=%.0f lf_octets=%llu\n", opt_messages, set_octets,
           (double)set_octets / (double)opt_messages, lf_total);
    return 0;
}

/* --- the protocol --- */

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
    fprintf(stderr, "pop3-load: %s client %d user %s: %s\n", opt_label, c->id,
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
        c->pos += n + (nl != NULL);
        if (nl != NULL)
            break;
    }
    if (c->line_len == 0 || c->line[c->line_len - 1] != '\r') {
        c->line[c->line_len] = '\0';
        fault(c, "line without CR before LF: \"%.80s\"", c->line);
        return -1;
    }
    c->line[--c->line_len] = '\0';
    return 0;
}

/* A status line that must be +OK: 0, or -1 after reporting what came instead. */
static int expect_ok(struct client *c, const char *what)
{
    if (read_line(c) != 0)
        return -1;
    if (strncmp(c->line, "+OK", 3) == 0 && (c->line[3] == '\0' || c->line[3] == ' '))
        return 0;
    fault(c, "%s: %s", what, c->line);
    return -1;
}

static int command(struct client *c, const char *cmd, const char *what)
{
    return send_str(c, cmd) == 0 ? expect_ok(c, what) : -1;
}

static int cmp_uid(const void *a, const void *b)
{
    return strcmp(a, b);
}

static int do_uidl(struct client *c, long user, long count)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the listing */
    long n = 0;

    if (command(c, "UIDL\r\n", "UIDL") != 0)
        return -1;
    for (;;) {
        if (read_line(c) != 0)
            return -1;
        if (strcmp(c->line, ".") == 0)
            break;
        char *sp = strchr(c->line, ' ');
        long k = strtol(c->line, NULL, 10);
        size_t ulen = sp ? strlen(sp + 1) : 0;
        if (sp == NULL || k != n + 1 || n >= count || ulen == 0 || ulen > UIDL_MAX) {
            fault(c, "UIDL: bad line %ld: \"%.80s\"", n + 1, c->line);
            return -1;
        }
        for (size_t i = 0; i < ulen; i++)
            if (sp[1 + i] < 0x21 || sp[1 + i] > 0x7e) {
                fault(c, "UIDL: bad character in \"%.80s\"", c->line);
                return -1;
            }
        memcpy(c->uids[n], sp + 1, ulen + 1);
        for (const char *p = c->line; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        n++;
    }
    if (n != count) {
        fault(c, "UIDL listed %ld messages, STAT said %ld", n, count);
        return -1;
    }
    qsort(c->uids, (size_t)n, sizeof(c->uids[0]), cmp_uid);
    for (long i = 1; i < n; i++)
        if (strcmp(c->uids[i - 1], c->uids[i]) == 0) {
            fault(c, "UIDL: unique-id %s appears twice", c->uids[i]);
            return -1;
        }
    if (uidl_expect[user] != 0 && uidl_expect[user] != h) {
        fault(c, "UIDL listing differs from the earlier run's (-k file)");
        return -1;
    }
    if (uidl_digest[user] != 0 && uidl_digest[user] != h) {
        fault(c, "UIDL listing changed between sessions");
        return -1;
    }
    uidl_digest[user] = h;
    return 0;
}

/* RETR k: the status line's size, the lines to the dot with stuffing undone, then the message
 * must be exactly the set's message its X-Bench-Id names, once per session. */
static int do_retr(struct client *c, long k)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "RETR %ld\r\n", k);
    if (command(c, cmd, "RETR") != 0)
        return -1;
    long said = strtol(c->line + 3, NULL, 10);
    c->msg_len = 0;
    for (;;) {
        if (read_line(c) != 0)
            return -1;
        const char *p = c->line;
        size_t n = c->line_len;
        if (p[0] == '.') {
            if (n == 1)
                break;
            p++;
            n--;
        }
        if (c->msg_len + n + 2 > c->msg_cap) {
            fault(c, "RETR %ld: message longer than any in the set", k);
            return -1;
        }
        memcpy(c->msg + c->msg_len, p, n);
        c->msg[c->msg_len + n] = '\r';
        c->msg[c->msg_len + n + 1] = '\n';
        c->msg_len += n + 2;
    }
    const char *id = memmem(c->msg, c->msg_len < 2048 ? c->msg_len : 2048, "\r\nX-Bench-Id: ", 14);
    long m = id ? strtol(id + 14, NULL, 10) : 0;
    if (m < 1 || m > opt_messages) {
        fault(c, "RETR %ld: no X-Bench-Id of the set in the message (%zu octets)", k, c->msg_len);
        return -1;
    }
    if (c->msg_len != msg_len[m] || memcmp(c->msg, msg_data[m], c->msg_len) != 0) {
        fault(c, "RETR %ld: message %ld differs from the set's (%zu octets, expected %zu)", k, m,
              c->msg_len, msg_len[m]);
        return -1;
    }
    if (said != (long)msg_len[m]) {
        fault(c, "RETR %ld: status line says %ld octets, the message has %zu", k, said, msg_len[m]);
        return -1;
    }
    if (c->seen[m]) {
        fault(c, "RETR %ld: message %ld retrieved twice in one session", k, m);
        return -1;
    }
    c->seen[m] = 1;
    return 0;
}

static void sample(double *arr, atomic_long *n, double v)
{
    long i = atomic_fetch_add(n, 1);
    if (i < MAX_SAMPLES)
        arr[i] = v;
}

/* One session for user index u (1-based). 0 when it went through. */
static int session(struct client *c, long u, char *name)
{
    char cmd[600];
    double t0 = now();
    long msgs = 0, bytes = 0;

    c->user = name;
    if (client_connect(c) != 0)
        return -1;
    if (expect_ok(c, "greeting") != 0)
        goto fail;
    double tl = now();
    snprintf(cmd, sizeof(cmd), "USER %s\r\n", name);
    if (command(c, cmd, "USER") != 0)
        goto fail;
    snprintf(cmd, sizeof(cmd), "PASS %s\r\n", opt_password);
    if (command(c, cmd, "PASS") != 0)
        goto fail;
    sample(lat_login, &n_lat_login, now() - tl);
    if (command(c, "STAT\r\n", "STAT") != 0)
        goto fail;
    long count = -1;
    unsigned long long octets = 0;
    if (sscanf(c->line, "+OK %ld %llu", &count, &octets) != 2 || count != opt_messages ||
        octets != set_octets) {
        fault(c, "STAT: \"%s\", expected +OK %ld %llu", c->line, opt_messages, set_octets);
        goto fail;
    }
    if (do_uidl(c, u, count) != 0)
        goto fail;
    memset(c->seen, 0, (size_t)opt_messages + 1);
    for (long k = 1; k <= count; k++) {
        if (do_retr(c, k) != 0)
            goto fail;
        msgs++;
        bytes += (long)c->msg_len;
    }
    if (command(c, "QUIT\r\n", "QUIT") != 0)
        goto fail;
    close(c->fd);
    c->fd = -1;
    atomic_fetch_add(&n_msgs, msgs);
    atomic_fetch_add(&n_bytes, bytes);
    atomic_fetch_add(&n_sessions, 1);
    sample(lat_session, &n_lat_session, now() - t0);
    return 0;
fail:
    /* what was retrieved was retrieved; the session itself counts as failed */
    atomic_fetch_add(&n_msgs, msgs);
    atomic_fetch_add(&n_bytes, bytes);
    close(c->fd);
    c->fd = -1;
    return -1;
}

static void *client_run(void *arg)
{
    struct client *c = arg;
    char name[256];

    pthread_barrier_wait(&start_barrier);
    for (int r = 0; r < opt_rounds; r++) {
        for (long u = c->id; u <= opt_users; u += opt_clients) {
            if (now() >= t_deadline)
                return NULL;
            snprintf(name, sizeof(name), opt_userfmt, (int)u);
            session(c, u, name);
        }
    }
    return NULL;
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
    return arr[cnt * p / 100] * 1e3;
}

static void uidl_file_load(void)
{
    FILE *f = opt_uidlfile ? fopen(opt_uidlfile, "r") : NULL;
    long u;
    uint64_t h;

    if (f == NULL)
        return;
    while (fscanf(f, "%ld %" SCNx64, &u, &h) == 2)
        if (u >= 1 && u <= opt_users)
            uidl_expect[u] = h;
    fclose(f);
}

static void uidl_file_save(void)
{
    if (opt_uidlfile == NULL || access(opt_uidlfile, F_OK) == 0)
        return;
    FILE *f = fopen(opt_uidlfile, "w");
    if (f == NULL)
        return;
    for (long u = 1; u <= opt_users; u++)
        if (uidl_digest[u] != 0)
            fprintf(f, "%ld %" PRIx64 "\n", u, uidl_digest[u]);
    fclose(f);
}

static void usage(void)
{
    fputs("usage: pop3-load -g DIR -m M [-z SEED] [-a MIN] [-b MAX]\n"
          "       pop3-load -P PORT [-H 127.0.0.1] -u USERS -m M [-z SEED] [-a MIN] [-b MAX]\n"
          "                 [-c CLIENTS] [-r ROUNDS] [-t SECONDS] [-T HARD_SECONDS] [-n USERFMT]\n"
          "                 [-p PASSWORD] [-k UIDLFILE] [-l LABEL]\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    struct client *clients;
    pthread_t th[MAX_CLIENTS];
    struct in_addr a;
    int ch;

    while ((ch = getopt(argc, argv, "g:H:P:c:u:m:z:a:b:r:t:T:n:p:k:l:h")) != -1) {
        switch (ch) {
        case 'g':
            opt_gendir = optarg;
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
        case 'u':
            opt_users = atoi(optarg);
            break;
        case 'm':
            opt_messages = atol(optarg);
            break;
        case 'z':
            opt_seed = strtoull(optarg, NULL, 10);
            break;
        case 'a':
            opt_min = atol(optarg);
            break;
        case 'b':
            opt_max = atol(optarg);
            break;
        case 'r':
            opt_rounds = atoi(optarg);
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
        case 'k':
            opt_uidlfile = optarg;
            break;
        case 'l':
            opt_label = optarg;
            break;
        default:
            usage();
        }
    }
    if (opt_messages < 1 || opt_messages > MAX_MESSAGES || opt_min < 1024 || opt_max < opt_min ||
        opt_max > 64 * 1024 * 1024)
        usage();
    if (opt_gendir != NULL)
        return generate();
    if (opt_port <= 0 || opt_clients < 1 || opt_clients > MAX_CLIENTS || opt_users < 1 ||
        opt_users > MAX_USERS || opt_rounds < 1 || opt_seconds <= 0)
        usage();
    if (opt_clients > opt_users) {
        fprintf(stderr, "pop3-load: more clients than users (a maildrop is locked per session)\n");
        return 2;
    }
    if (inet_pton(AF_INET, opt_host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
        fprintf(stderr, "pop3-load: %s is not a loopback address\n", opt_host);
        return 2;
    }
    if (opt_hard <= 0)
        opt_hard = opt_seconds + 60;
    signal(SIGALRM, on_alarm);
    alarm((unsigned)opt_hard + 1);
    make_set();
    size_t longest = 0;
    for (long k = 1; k <= opt_messages; k++)
        if (msg_len[k] > longest)
            longest = msg_len[k];
    lat_login = calloc(MAX_SAMPLES, sizeof(double));
    lat_session = calloc(MAX_SAMPLES, sizeof(double));
    uidl_digest = calloc((size_t)opt_users + 1, sizeof(uint64_t));
    uidl_expect = calloc((size_t)opt_users + 1, sizeof(uint64_t));
    clients = calloc((size_t)opt_clients, sizeof(*clients));
    if (lat_login == NULL || lat_session == NULL || uidl_digest == NULL || uidl_expect == NULL ||
        clients == NULL)
        abort();
    uidl_file_load();
    pthread_barrier_init(&start_barrier, NULL, (unsigned)opt_clients + 1);
    for (int i = 0; i < opt_clients; i++) {
        struct client *c = &clients[i];
        c->id = i + 1;
        c->fd = -1;
        c->msg_cap = longest + 2;
        c->msg = malloc(c->msg_cap);
        c->seen = calloc((size_t)opt_messages + 1, 1);
        c->uids = calloc((size_t)opt_messages, sizeof(*c->uids));
        if (c->msg == NULL || c->seen == NULL || c->uids == NULL)
            abort();
        if (pthread_create(&th[i], NULL, client_run, c) != 0)
            abort();
    }
    double t_start = now();
    t_deadline = t_start + opt_seconds;
    pthread_barrier_wait(&start_barrier);
    for (int i = 0; i < opt_clients; i++)
        pthread_join(th[i], NULL);
    double secs = now() - t_start;
    uidl_file_save();

    long msgs = atomic_load(&n_msgs), failed = atomic_load(&n_fail);
    double bytes = (double)atomic_load(&n_bytes);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf("%s clients=%d users=%d messages=%ld sessions=%ld retrieved=%ld bytes=%.0f failed=%ld "
           "seconds=%.3f msgs_per_s=%.1f mb_per_s=%.2f mib_per_s=%.2f login_p50_ms=%.2f "
           "login_p99_ms=%.2f session_p50_ms=%.1f session_p99_ms=%.1f client_cpu_s=%.3f\n",
           opt_label, opt_clients, opt_users, opt_messages, atomic_load(&n_sessions), msgs, bytes,
           failed, secs, msgs / secs, bytes / secs / 1e6, bytes / secs / 1048576.0,
           pct(lat_login, &n_lat_login, 50), pct(lat_login, &n_lat_login, 99),
           pct(lat_session, &n_lat_session, 50), pct(lat_session, &n_lat_session, 99), cpu);
    return failed == 0 && atomic_load(&n_sessions) > 0 ? 0 : 1;
}
