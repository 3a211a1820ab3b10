/* imap-load: the IMAP load generator of bench/imap, and the tool that fills both servers' stores
 * with the same messages. C, pthreads, one connection at a time per client thread, OpenSSL for
 * imaps (TLS from the first byte; the certificate is not checked, no session resumption).
 *
 * One "op" is one IMAP command sent and its tagged reply read, untagged replies and literals
 * included; only commands that end in a tagged OK and pass the checks below count.
 *
 *   imap-load churn|stay|logins -P PORT [-s] [-c CLIENTS] [-u USERS] [-n USERFMT] [-p PASSWORD]
 *             -M MESSAGES [SET] [-N SCRIPTS] [-t SECONDS] [-T HARD_SECONDS] [-w] [-l LABEL]
 *     churn   each iteration: connect, greeting, LOGIN, the mixed script, LOGOUT (14 ops)
 *     stay    each client logs in once (before the clock starts), then loops the script (12 ops)
 *     logins  each iteration: connect, greeting, LOGIN, LOGOUT (2 ops)
 *   The mixed script, on a mailbox holding messages 1..M of the set (k random in 1..M):
 *     LIST "" "*"                      an INBOX line
 *     STATUS INBOX (MESSAGES UIDNEXT UNSEEN)   MESSAGES = M
 *     SELECT INBOX                     EXISTS = M
 *     FETCH 1:* (UID FLAGS)            M FETCH replies, each with UID and FLAGS
 *     FETCH M-19:M (UID ENVELOPE)      20 FETCH replies, each with an ENVELOPE
 *     FETCH k (BODY.PEEK[])            the literal is byte for byte message X-Bench-Id of the set
 *     STORE k +FLAGS (\Seen) or -FLAGS (\Seen), at random; a FETCH reply for k, if any, agrees
 *     UID SEARCH UNSEEN, or on every other script UID SEARCH SUBJECT topicNNNN (a topic of a
 *                                      random message): as many hits as the set says
 *     APPEND INBOX (\Seen) {5 KB}      synchronising literal; [APPENDUID v u] in the tagged OK
 *     NOOP                             EXISTS = M + 1 (counted when APPEND had not said so)
 *     UID STORE u +FLAGS.SILENT (\Deleted)
 *     EXPUNGE                          exactly one EXPUNGE, and EXISTS back at M
 *   so every mailbox holds its M messages again after each script. Client i (0-based) uses
 *   users i+1, i+1+C, i+1+2C ... in turn (churn, logins) or user i+1 (stay), so no two clients
 *   share a mailbox; USERS must be at least CLIENTS.
 *
 *   imap-load big -P PORT [-s] -U USER [-p PASSWORD] -M MESSAGES [SET] [-R REPS] [-T HARD] [-l L]
 *     REPS + 1 rounds on one mailbox holding messages 1..M of the set; round 0 is the first
 *     (reported as first_*), the rest give min and median. Each round: connect, LOGIN,
 *     SELECT INBOX (login_select: connect to SELECT's tagged OK; EXISTS = M), UID FETCH 1:*
 *     (UID FLAGS) (M replies), UID SEARCH SUBJECT topicNNNN (a different topic each round; the
 *     hits the set says), UID SEARCH HEADER Message-ID bench-K.SEED@bench.test (exactly 1 hit),
 *     STORE 1:* +FLAGS (\Seen) (timed), STORE 1:* -FLAGS.SILENT (\Seen) (timed apart, as
 *     unstore), LOGOUT.
 *
 *   imap-load lmtp -S SOCKET [-c CONNECTIONS] (-u USERS [-n USERFMT] | -U USER) -M M [SET]
 *     delivers messages 1..M of the set over LMTP, each in one transaction to all the users
 *     (RCPT TO:<user@example.org> each), CONNECTIONS transactions at once; every reply checked.
 *
 *   imap-load maildir -M M [SET] MAILDIR...
 *     writes messages 1..M of the set into each MAILDIR/cur as Dovecot's LMTP would leave them:
 *     a Return-Path and a Received header first (as long as those Halyard's lmtpd adds), LF line
 *     ends, ",S=<size>,W=<CRLF size>:2," names; the caller syncs. A BODY[] fetched back must
 *     be such trace headers (at most 1 KB, starting with Return-Path:) and the set's bytes.
 *
 *   SET: -z SEED -a MIN -b MAX: message k has a size drawn in MIN..MAX bytes (skewed small:
 *   MIN + (MAX - MIN) u^2), headers From/To/Subject "Bench message K about topicAAAA and
 *   topicBBBB" (two of 1000 topics)/Message-ID <bench-K.SEED@bench.test>/Date/X-Bench-Id: K,
 *   and plain-text lines, some starting with '.'. The same SET must be given to every mode.
 *
 * With -w, a load mode prints "ready" once its sessions are set up (stay: logged in), waits for
 * SIGUSR1, runs, prints its result lines, waits for a second SIGUSR1, then logs out and exits,
 * so the caller can measure exactly the timed phase. Result lines on stdout (key=value):
 * "result ..." and "cmds ..." (per command kind: count, mean and max ms). The first 20 faults
 * go to stderr with the command and the reply. Exit 0 when nothing failed. Built with
 * `cc -O2 -pthread ... -lssl -lcrypto` by bench/imap/run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_S  120
#define MAX_CLIENTS   256
#define MAX_USERS     9999
#define MAX_MESSAGES  1000000
#define MAX_SAMPLES   2000000
#define MAX_FAULTS    20
#define TOPICS        1000
#define ENVELOPE_SPAN 20
#define APPEND_SIZE   5120
#define RESP_MAX      (64 * 1024 * 1024)
#define TRACE_MAX     1024 /* trace headers a delivery may put before a message */

enum mode { MODE_CHURN, MODE_STAY, MODE_LOGINS, MODE_BIG, MODE_LMTP, MODE_MAILDIR };

enum kind {
    K_LOGIN,
    K_LIST,
    K_STATUS,
    K_SELECT,
    K_FETCH_FLAGS,
    K_FETCH_ENVELOPE,
    K_FETCH_BODY,
    K_STORE,
    K_SEARCH,
    K_APPEND,
    K_NOOP,
    K_STORE_DELETED,
    K_EXPUNGE,
    K_LOGOUT,
    K_STORE_ALL,
    K_UNSTORE_ALL,
    K_SEARCH_HEADER,
    K_COUNT
};

static const char *const kind_name[K_COUNT] = {
    "LOGIN",      "LIST",   "STATUS",    "SELECT",      "FETCH_FLAGS",  "FETCH_ENVELOPE",
    "FETCH_BODY", "STORE",  "SEARCH",    "APPEND",      "NOOP",         "STORE_DELETED",
    "EXPUNGE",    "LOGOUT", "STORE_ALL", "UNSTORE_ALL", "SEARCH_HEADER"};

static enum mode opt_mode;
static const char *opt_host = "127.0.0.1", *opt_label = "imap", *opt_userfmt = "user%03d";
static const char *opt_password = "secret", *opt_user, *opt_socket;
static int opt_port, opt_clients = 1, opt_users = 1, opt_reps = 5;
static bool opt_tls, opt_wait;
static long opt_messages, opt_scripts = 1000000, opt_min = 2048, opt_max = 102400;
static unsigned long long opt_seed = 20261127;
static double opt_seconds = 20, opt_hard;

static SSL_CTX *ssl_ctx;
static char tls_desc[96] = "-";
static pthread_mutex_t tls_desc_lock = PTHREAD_MUTEX_INITIALIZER;

/* the message set, generated on demand; topics are cheap, bodies are built when needed */
static uint16_t (*set_topics)[2];
static char **set_data;
static size_t *set_len;
static char *append_msg;
static size_t append_len;

static atomic_long n_append_quiet; /* APPENDs whose tagged OK came before any EXISTS for it */
static atomic_long next_script, n_scripts, n_sessions, n_ops, n_fail, n_lat;
static double *lat_ops;
static double t_deadline;
static pthread_barrier_t start_barrier;
static long kind_count[K_COUNT];
static double kind_sum[K_COUNT], kind_max[K_COUNT];

struct conn {
    int fd;
    SSL *ssl;
    char rbuf[65536];
    size_t rhave, rpos;
    char *resp; /* one response: its lines and literals, NUL-terminated, CRLFs removed */
    size_t rlen, rcap;
    size_t lit_off, lit_len; /* the first literal in resp */
    bool has_lit;
    unsigned tag;
    long exists;
};

struct client {
    int id;
    struct conn c;
    const char *user;
    char name[64];
    uint64_t rng;
    long script_no;
    long kcount[K_COUNT];
    double ksum[K_COUNT], kmax[K_COUNT];
};

/* what the untagged replies of one command said */
struct result {
    long fetches, fetch_bad, expunges, search_hits, status_messages;
    bool search_seen, list_inbox, bye, body_ok, body_seen, store_bad;
    uint32_t appenduid;
    char why[160];
};

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

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "imap-load: hard timeout reached, giving up\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(3);
}

static void fault(struct client *cl, const char *fmt, ...)
{
    long f = atomic_fetch_add(&n_fail, 1);
    if (f >= MAX_FAULTS)
        return;
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fprintf(stderr, "imap-load: %s client %d user %s: %s\n", opt_label, cl ? cl->id : 0,
            cl && cl->user ? cl->user : "-", text);
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* --- the message set --- */

static void set_init(void)
{
    set_topics = calloc((size_t)opt_messages + 1, sizeof(*set_topics));
    set_data = calloc((size_t)opt_messages + 1, sizeof(*set_data));
    set_len = calloc((size_t)opt_messages + 1, sizeof(*set_len));
    if (set_topics == NULL || set_data == NULL || set_len == NULL)
        abort();
    for (long k = 1; k <= opt_messages; k++) {
        uint64_t rs = opt_seed * 7919ULL + (uint64_t)k;
        set_topics[k][0] = (uint16_t)(splitmix(&rs) % TOPICS);
        set_topics[k][1] = (uint16_t)(splitmix(&rs) % TOPICS);
    }
}

/* Message k (1-based; 0 is the APPEND message) with CRLF line ends, exactly its drawn size. */
static char *set_make(long k, size_t *len_r)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t rs = opt_seed * 1000003ULL + (uint64_t)k;
    double u = (double)(splitmix(&rs) >> 11) / 9007199254740992.0;
    size_t size =
        k == 0 ? APPEND_SIZE : (size_t)opt_min + (size_t)((double)(opt_max - opt_min) * u * u);
    char *m = malloc(size + 1);
    if (m == NULL)
        abort();
    int h;
    if (k == 0)
        h = snprintf(m, size + 1,
                     "From: Bench Client <client@bench.test>\r\n"
                     "To: Bench Users <users@bench.test>\r\n"
                     "Subject: Appended by the bench\r\n"
                     "Message-ID: <bench-append.%llu@bench.test>\r\n"
                     "Date: Mon, 02 Nov 2026 11:00:00 +0000\r\n"
                     "X-Bench-Id: append\r\n"
                     "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                     opt_seed);
    else
        h = snprintf(m, size + 1,
                     "From: Sender %02d <sender%02d@bench.test>\r\n"
                     "To: Bench Users <users@bench.test>\r\n"
                     "Subject: Bench message %ld about topic%04u and topic%04u\r\n"
                     "Message-ID: <bench-%ld.%llu@bench.test>\r\n"
                     "Date: Mon, 02 Nov 2026 %02ld:%02ld:00 +0000\r\n"
                     "X-Bench-Id: %ld\r\n"
                     "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=us-ascii\r\n\r\n",
                     (int)(k % 50), (int)(k % 50), k, set_topics[k][0], set_topics[k][1], k,
                     opt_seed, (k / 60) % 24, k % 60, k);
    if (h < 0 || (size_t)h >= size) {
        fprintf(stderr, "imap-load: -a is too small for the headers\n");
        exit(2);
    }
    size_t o = (size_t)h;
    while (o < size) {
        size_t left = size - o, n = 20 + splitmix(&rs) % 57; /* 20..76 characters + CRLF */
        if (left <= n + 2 + 3)                               /* the last line takes the rest */
            n = left - 2;
        for (size_t i = 0; i < n; i++)
            m[o + i] = (i % 9 == 8) ? ' ' : alphabet[splitmix(&rs) % (sizeof(alphabet) - 1)];
        if (n > 0 && splitmix(&rs) % 40 == 0) /* a line that LMTP must dot-stuff */
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

static void set_build_all(void)
{
    for (long k = 1; k <= opt_messages; k++)
        set_data[k] = set_make(k, &set_len[k]);
    append_msg = set_make(0, &append_len);
}

static long set_topic_hits(unsigned topic)
{
    long n = 0;
    for (long k = 1; k <= opt_messages; k++)
        n += set_topics[k][0] == topic || set_topics[k][1] == topic;
    return n;
}

/* --- connections --- */

static int conn_open(struct client *cl)
{
    struct conn *c = &cl->c;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    int one = 1;

    c->rhave = c->rpos = 0;
    c->tag = 0;
    c->exists = -1;
    c->ssl = NULL;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || inet_pton(AF_INET, opt_host, &sa.sin_addr) != 1 ||
        connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fault(cl, "connect: %s", strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (!opt_tls)
        return 0;
    c->ssl = SSL_new(ssl_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 || SSL_connect(c->ssl) != 1) {
        char e[256] = "";
        ERR_error_string_n(ERR_get_error(), e, sizeof(e));
        fault(cl, "TLS handshake failed: %s", e);
        if (c->ssl != NULL)
            SSL_free(c->ssl);
        c->ssl = NULL;
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    if (strcmp(tls_desc, "-") == 0) {
        pthread_mutex_lock(&tls_desc_lock);
        snprintf(tls_desc, sizeof(tls_desc), "%s/%s", SSL_get_version(c->ssl),
                 SSL_get_cipher_name(c->ssl));
        pthread_mutex_unlock(&tls_desc_lock);
    }
    return 0;
}

static void conn_close(struct client *cl)
{
    struct conn *c = &cl->c;
    if (c->ssl != NULL) {
        SSL_free(c->ssl); /* no close_notify: the server has said BYE, or the session failed */
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int conn_send(struct client *cl, const char *p, size_t len)
{
    struct conn *c = &cl->c;
    while (len > 0) {
        ssize_t n;
        if (c->ssl != NULL) {
            int r = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
            n = r > 0 ? r : -1;
        } else {
            n = send(c->fd, p, len, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
        }
        if (n <= 0) {
            fault(cl, "send: %s", n < 0 ? strerror(errno) : "nothing sent");
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int conn_fill(struct client *cl)
{
    struct conn *c = &cl->c;
    ssize_t r;
    for (;;) {
        if (c->ssl != NULL) {
            int n = SSL_read(c->ssl, c->rbuf, sizeof(c->rbuf));
            r = n > 0 ? n : (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
        } else {
            r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
            if (r < 0 && errno == EINTR)
                continue;
        }
        break;
    }
    if (r <= 0) {
        fault(cl, "connection %s after \"%.120s\"", r == 0 ? "closed" : "failed (or timed out)",
              c->rlen > 0 && c->resp ? c->resp : "");
        return -1;
    }
    c->rhave = (size_t)r;
    c->rpos = 0;
    return 0;
}

static int resp_reserve(struct client *cl, size_t more)
{
    struct conn *c = &cl->c;
    if (c->rlen + more + 1 <= c->rcap)
        return 0;
    size_t cap = c->rcap ? c->rcap : 4096;
    while (cap < c->rlen + more + 1)
        cap *= 2;
    if (cap > RESP_MAX) {
        fault(cl, "a response over %d bytes", RESP_MAX);
        return -1;
    }
    char *p = realloc(c->resp, cap);
    if (p == NULL)
        abort();
    c->resp = p;
    c->rcap = cap;
    return 0;
}

/* Appends the next line (without CRLF) to resp. */
static int read_line(struct client *cl)
{
    struct conn *c = &cl->c;
    for (;;) {
        if (c->rpos == c->rhave && conn_fill(cl) != 0)
            return -1;
        const char *p = c->rbuf + c->rpos, *nl = memchr(p, '\n', c->rhave - c->rpos);
        size_t n = nl ? (size_t)(nl - p) : c->rhave - c->rpos;
        if (resp_reserve(cl, n) != 0)
            return -1;
        memcpy(c->resp + c->rlen, p, n);
        c->rlen += n;
        c->resp[c->rlen] = '\0';
        c->rpos += n + (nl != NULL);
        if (nl != NULL)
            break;
    }
    if (c->rlen == 0 || c->resp[c->rlen - 1] != '\r') {
        fault(cl, "line without CR before LF: \"%.120s\"", c->resp);
        return -1;
    }
    c->resp[--c->rlen] = '\0';
    return 0;
}

/* Reads one response: a line, and while it ends in {n}, n octets of literal and the rest. */
static int read_resp(struct client *cl)
{
    struct conn *c = &cl->c;
    c->rlen = 0;
    c->has_lit = false;
    for (;;) {
        size_t start = c->rlen;
        if (read_line(cl) != 0)
            return -1;
        if (c->rlen - start < 3 || c->resp[c->rlen - 1] != '}')
            return 0;
        size_t i = c->rlen - 1;
        while (i > start && c->resp[i - 1] >= '0' && c->resp[i - 1] <= '9')
            i--;
        if (i == c->rlen - 1 || i == start || c->resp[i - 1] != '{')
            return 0;
        size_t n = strtoul(c->resp + i, NULL, 10);
        if (resp_reserve(cl, n) != 0)
            return -1;
        if (!c->has_lit) {
            c->has_lit = true;
            c->lit_off = c->rlen;
            c->lit_len = n;
        }
        while (n > 0) {
            if (c->rpos == c->rhave && conn_fill(cl) != 0)
                return -1;
            size_t take = c->rhave - c->rpos < n ? c->rhave - c->rpos : n;
            memcpy(c->resp + c->rlen, c->rbuf + c->rpos, take);
            c->rlen += take;
            c->rpos += take;
            n -= take;
        }
        c->resp[c->rlen] = '\0';
    }
}

/* --- checks of untagged replies --- */

static bool word_at(const char *p, const char *w)
{
    size_t n = strlen(w);
    return strncasecmp(p, w, n) == 0 && (p[n] == ' ' || p[n] == '\0' || p[n] == ')');
}

static void check_body(struct client *cl, struct result *res)
{
    struct conn *c = &cl->c;
    const char *lit = c->resp + c->lit_off;
    size_t n = c->lit_len;
    const char *id = memmem(lit, n < 4096 ? n : 4096, "\r\nX-Bench-Id: ", 14);
    long k = id ? strtol(id + 14, NULL, 10) : 0;
    if (k < 1 || k > opt_messages) {
        snprintf(res->why, sizeof(res->why), "BODY[] literal of %zu octets names no message", n);
        return;
    }
    /* the delivery's trace headers (Return-Path, Received) come first, then the set's bytes */
    size_t trace = n - set_len[k];
    if (n < set_len[k] || trace > TRACE_MAX || memcmp(lit + trace, set_data[k], set_len[k]) != 0 ||
        (trace > 0 && (strncmp(lit, "Return-Path: ", 13) != 0 || lit[trace - 1] != '\n'))) {
        snprintf(res->why, sizeof(res->why),
                 "BODY[] of message %ld differs from the set (%zu octets, the set has %zu)", k, n,
                 set_len[k]);
        return;
    }
    res->body_ok = true;
}

/* One untagged reply ("* ..." in resp), for a command of kind k. */
static void untagged(struct client *cl, enum kind k, struct result *res)
{
    struct conn *c = &cl->c;
    const char *p = c->resp + 2;
    char *end;
    long n = strtol(p, &end, 10);

    if (end != p && *end == ' ') {
        const char *w = end + 1;
        if (word_at(w, "EXISTS")) {
            c->exists = n;
        } else if (word_at(w, "EXPUNGE")) {
            c->exists--;
            res->expunges++;
        } else if (strncasecmp(w, "FETCH (", 7) == 0) {
            res->fetches++;
            bool has_uid = strstr(w, "UID ") != NULL, has_flags = strstr(w, "FLAGS (") != NULL;
            switch (k) {
            case K_FETCH_FLAGS:
                if (!has_uid || !has_flags)
                    res->fetch_bad++;
                break;
            case K_FETCH_ENVELOPE:
                if (!has_uid || strstr(w, "ENVELOPE (") == NULL)
                    res->fetch_bad++;
                break;
            case K_FETCH_BODY:
                if (c->has_lit && strstr(w, "BODY[] {") != NULL)
                    check_body(cl, res);
                break;
            case K_STORE:
                if (has_flags)
                    res->body_seen = strstr(w, "\\Seen") != NULL;
                break;
            default:
                break;
            }
        }
        return;
    }
    if (word_at(p, "SEARCH")) {
        res->search_seen = true;
        for (const char *q = p + 6; *q; q++)
            if (*q >= '0' && *q <= '9' && (q[-1] == ' '))
                res->search_hits++;
    } else if (word_at(p, "STATUS")) {
        const char *m = strcasestr(p, "MESSAGES ");
        res->status_messages = m ? strtol(m + 9, NULL, 10) : -1;
    } else if (word_at(p, "LIST")) {
        size_t len = strlen(p);
        if (len > 0 && p[len - 1] == '"')
            len--;
        if (len >= 5 && strncasecmp(p + len - 5, "INBOX", 5) == 0)
            res->list_inbox = true;
    } else if (word_at(p, "BYE")) {
        res->bye = true;
    }
}

static void stat_add(struct client *cl, enum kind k, double secs)
{
    cl->kcount[k]++;
    cl->ksum[k] += secs;
    if (secs > cl->kmax[k])
        cl->kmax[k] = secs;
    long i = atomic_fetch_add(&n_lat, 1);
    if (i < MAX_SAMPLES)
        lat_ops[i] = secs;
}

/* Sends one command (text after the tag, without CRLF; for APPEND the literal follows the
 * server's "+"), reads to its tagged reply. 0 when it ended in OK; -1 after reporting (the
 * connection is then closed). The caller checks res. */
static int command(struct client *cl, enum kind k, struct result *res, const char *lit,
                   size_t lit_len, const char *fmt, ...)
{
    struct conn *c = &cl->c;
    char line[512], tag[16];
    va_list ap;
    int n;

    memset(res, 0, sizeof(*res));
    snprintf(tag, sizeof(tag), "a%u", ++c->tag);
    n = snprintf(line, sizeof(line), "%s ", tag);
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof(line) - (size_t)n - 2, fmt, ap);
    va_end(ap);
    memcpy(line + n, "\r\n", 3);
    double t0 = now();
    if (conn_send(cl, line, (size_t)n + 2) != 0)
        goto broken;
    size_t tl = strlen(tag);
    for (;;) {
        if (read_resp(cl) != 0)
            goto broken;
        if (c->resp[0] == '*' && c->resp[1] == ' ') {
            untagged(cl, k, res);
            continue;
        }
        if (c->resp[0] == '+' && lit != NULL) {
            if (conn_send(cl, lit, lit_len) != 0 || conn_send(cl, "\r\n", 2) != 0)
                goto broken;
            lit = NULL;
            continue;
        }
        if (strncmp(c->resp, tag, tl) == 0 && c->resp[tl] == ' ') {
            const char *st = c->resp + tl + 1;
            if (word_at(st, "OK")) {
                const char *a = strcasestr(st, "[APPENDUID ");
                if (a != NULL) {
                    char *e;
                    strtoul(a + 11, &e, 10);
                    res->appenduid = (uint32_t)strtoul(e, NULL, 10);
                }
                stat_add(cl, k, now() - t0);
                return 0;
            }
            fault(cl, "%s: %.300s", line, c->resp);
            goto broken;
        }
        fault(cl, "%s: unexpected reply \"%.300s\"", line, c->resp);
        goto broken;
    }
broken:
    conn_close(cl);
    return -1;
}

/* A check that failed after a tagged OK: reported, and the session given up. */
static int check_failed(struct client *cl, const char *what, const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    fault(cl, "%s: %s", what, text);
    conn_close(cl);
    return -1;
}

/* --- sessions --- */

static int session_open(struct client *cl)
{
    struct result res;
    if (conn_open(cl) != 0)
        return -1;
    if (read_resp(cl) != 0) {
        conn_close(cl);
        return -1;
    }
    if (strncmp(cl->c.resp, "* OK", 4) != 0)
        return check_failed(cl, "greeting", "%.200s", cl->c.resp);
    if (command(cl, K_LOGIN, &res, NULL, 0, "LOGIN %s %s", cl->user, opt_password) != 0)
        return -1;
    atomic_fetch_add(&n_ops, 1);
    return 0;
}

static int session_logout(struct client *cl)
{
    struct result res;
    if (command(cl, K_LOGOUT, &res, NULL, 0, "LOGOUT") != 0)
        return -1;
    if (!res.bye)
        return check_failed(cl, "LOGOUT", "no untagged BYE before the tagged OK");
    conn_close(cl);
    atomic_fetch_add(&n_ops, 1);
    return 0;
}

/* The mixed script on the logged-in session; ops are counted as they complete. */
static int script_run(struct client *cl)
{
    struct result r;
    long m = opt_messages, k = 1 + (long)(splitmix(&cl->rng) % (uint64_t)m);
    long k2 = 1 + (long)(splitmix(&cl->rng) % (uint64_t)m);
    bool plus = splitmix(&cl->rng) & 1;
    long from = m > ENVELOPE_SPAN ? m - ENVELOPE_SPAN + 1 : 1;

    if (command(cl, K_LIST, &r, NULL, 0, "LIST \"\" \"*\"") != 0)
        return -1;
    if (!r.list_inbox)
        return check_failed(cl, "LIST", "no INBOX in the reply");
    atomic_fetch_add(&n_ops, 1);
    if (command(cl, K_STATUS, &r, NULL, 0, "STATUS INBOX (MESSAGES UIDNEXT UNSEEN)") != 0)
        return -1;
    if (r.status_messages != m)
        return check_failed(cl, "STATUS", "MESSAGES %ld, expected %ld", r.status_messages, m);
    atomic_fetch_add(&n_ops, 1);
    if (command(cl, K_SELECT, &r, NULL, 0, "SELECT INBOX") != 0)
        return -1;
    if (cl->c.exists != m)
        return check_failed(cl, "SELECT", "EXISTS %ld, expected %ld", cl->c.exists, m);
    atomic_fetch_add(&n_ops, 1);
    if (command(cl, K_FETCH_FLAGS, &r, NULL, 0, "FETCH 1:* (UID FLAGS)") != 0)
        return -1;
    if (r.fetches != m || r.fetch_bad != 0)
        return check_failed(cl, "FETCH 1:* (UID FLAGS)",
                            "%ld replies (%ld without UID/FLAGS), "
                            "expected %ld",
                            r.fetches, r.fetch_bad, m);
    atomic_fetch_add(&n_ops, 1);
    if (command(cl, K_FETCH_ENVELOPE, &r, NULL, 0, "FETCH %ld:%ld (UID ENVELOPE)", from, m) != 0)
        return -1;
    if (r.fetches != m - from + 1 || r.fetch_bad != 0)
        return check_failed(cl, "FETCH (UID ENVELOPE)",
                            "%ld replies (%ld without an ENVELOPE),"
                            " expected %ld",
                            r.fetches, r.fetch_bad, m - from + 1);
    atomic_fetch_add(&n_ops, 1);
    if (command(cl, K_FETCH_BODY, &r, NULL, 0, "FETCH %ld (BODY.PEEK[])", k) != 0)
        return -1;
    if (!r.body_ok)
        return check_failed(cl, "FETCH (BODY.PEEK[])", "%s",
                            r.why[0] ? r.why : "no BODY[] literal in the reply");
    atomic_fetch_add(&n_ops, 1);
    if (command(cl, K_STORE, &r, NULL, 0, "STORE %ld %cFLAGS (\\Seen)", k2, plus ? '+' : '-') != 0)
        return -1;
    if (r.fetches > 0 && r.body_seen != plus)
        return check_failed(cl, "STORE", "the FETCH reply's FLAGS %s \\Seen",
                            plus ? "lack" : "still have");
    atomic_fetch_add(&n_ops, 1);
    if (cl->script_no % 2 == 0) {
        if (command(cl, K_SEARCH, &r, NULL, 0, "UID SEARCH UNSEEN") != 0)
            return -1;
        if (!r.search_seen)
            return check_failed(cl, "UID SEARCH UNSEEN", "no untagged SEARCH");
    } else {
        unsigned topic = set_topics[k][splitmix(&cl->rng) & 1];
        long want = set_topic_hits(topic);
        if (command(cl, K_SEARCH, &r, NULL, 0, "UID SEARCH SUBJECT topic%04u", topic) != 0)
            return -1;
        if (!r.search_seen || r.search_hits != want)
            return check_failed(cl, "UID SEARCH SUBJECT", "topic%04u: %ld hits, the set has %ld",
                                topic, r.search_hits, want);
    }
    atomic_fetch_add(&n_ops, 1);
    if (command(cl, K_APPEND, &r, append_msg, append_len, "APPEND INBOX (\\Seen) {%zu}",
                append_len) != 0)
        return -1;
    if (r.appenduid == 0)
        return check_failed(cl, "APPEND", "no [APPENDUID] in the tagged OK");
    atomic_fetch_add(&n_ops, 1);
    uint32_t uid = r.appenduid;
    /* RFC 3501 6.3.11: the server SHOULD announce the new message at once; NOOP makes sure
     * it has before the message is addressed by UID */
    if (cl->c.exists != m + 1)
        atomic_fetch_add(&n_append_quiet, 1);
    if (command(cl, K_NOOP, &r, NULL, 0, "NOOP") != 0)
        return -1;
    if (cl->c.exists != m + 1)
        return check_failed(cl, "NOOP after APPEND", "EXISTS %ld, expected %ld", cl->c.exists,
                            m + 1);
    atomic_fetch_add(&n_ops, 1);
    if (command(cl, K_STORE_DELETED, &r, NULL, 0, "UID STORE %u +FLAGS.SILENT (\\Deleted)", uid) !=
        0)
        return -1;
    atomic_fetch_add(&n_ops, 1);
    if (command(cl, K_EXPUNGE, &r, NULL, 0, "EXPUNGE") != 0)
        return -1;
    if (r.expunges != 1 || cl->c.exists != m)
        return check_failed(cl, "EXPUNGE",
                            "%ld EXPUNGE replies, EXISTS now %ld (expected 1 and "
                            "%ld; the appended UID was %u)",
                            r.expunges, cl->c.exists, m, uid);
    atomic_fetch_add(&n_ops, 1);
    atomic_fetch_add(&n_scripts, 1);
    return 0;
}

static void client_user(struct client *cl, long iteration)
{
    /* client i owns users i, i + C, i + 2C ... up to USERS, and takes them in turn */
    long own = (opt_users - cl->id) / opt_clients + 1;
    long u = opt_mode == MODE_STAY ? cl->id : cl->id + (iteration % own) * opt_clients;
    snprintf(cl->name, sizeof(cl->name), opt_userfmt, (int)u);
    cl->user = cl->name;
}

static bool claim_script(void)
{
    if (now() >= t_deadline)
        return false;
    return atomic_fetch_add(&next_script, 1) < opt_scripts;
}

static void *client_run(void *arg)
{
    struct client *cl = arg;

    if (opt_mode == MODE_STAY) { /* logged in before the clock starts */
        client_user(cl, 0);
        session_open(cl);
    }
    pthread_barrier_wait(&start_barrier); /* 1: all set up */
    pthread_barrier_wait(&start_barrier); /* 2: the clock runs */
    for (long it = 0; claim_script(); it++) {
        cl->script_no = it;
        if (opt_mode == MODE_STAY) {
            if (cl->c.fd < 0 && session_open(cl) != 0)
                continue;
            script_run(cl);
            continue;
        }
        client_user(cl, it);
        if (session_open(cl) != 0)
            continue;
        if (opt_mode == MODE_CHURN && script_run(cl) != 0)
            continue;
        if (session_logout(cl) == 0)
            atomic_fetch_add(&n_sessions, 1);
    }
    pthread_barrier_wait(&start_barrier); /* 3: this client's loop is over */
    pthread_barrier_wait(&start_barrier); /* 4: the results are out; log out, not counted */
    if (opt_mode == MODE_STAY && cl->c.fd >= 0)
        session_logout(cl);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *arr, long cnt, int p)
{
    if (cnt > MAX_SAMPLES)
        cnt = MAX_SAMPLES;
    if (cnt == 0)
        return 0;
    qsort(arr, (size_t)cnt, sizeof(double), cmp_double);
    long i = cnt * p / 100;
    return arr[i < cnt ? i : cnt - 1] * 1e3;
}

static void wait_signal(void)
{
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigwait(&set, &sig);
}

static void print_cmds(struct client *clients)
{
    for (int i = 0; i < opt_clients; i++)
        for (int k = 0; k < K_COUNT; k++) {
            kind_count[k] += clients[i].kcount[k];
            kind_sum[k] += clients[i].ksum[k];
            if (clients[i].kmax[k] > kind_max[k])
                kind_max[k] = clients[i].kmax[k];
        }
    printf("cmds %s", opt_label);
    for (int k = 0; k < K_COUNT; k++)
        if (kind_count[k] > 0)
            printf(" %s=%ld/%.2f/%.1f", kind_name[k], kind_count[k],
                   kind_sum[k] * 1e3 / (double)kind_count[k], kind_max[k] * 1e3);
    printf("\n");
}

static int run_load(void)
{
    static pthread_t th[MAX_CLIENTS];
    struct client *clients = calloc((size_t)opt_clients, sizeof(*clients));
    lat_ops = calloc(MAX_SAMPLES, sizeof(double));
    if (clients == NULL || lat_ops == NULL)
        abort();
    set_init();
    if (opt_mode != MODE_LOGINS)
        set_build_all();
    pthread_barrier_init(&start_barrier, NULL, (unsigned)opt_clients + 1);
    t_deadline = now() + 1e9;
    for (int i = 0; i < opt_clients; i++) {
        struct client *cl = &clients[i];
        cl->id = i + 1;
        cl->c.fd = -1;
        cl->rng = opt_seed ^ (0x51ed2701ULL * (uint64_t)(i + 1));
        if (pthread_create(&th[i], NULL, client_run, cl) != 0)
            abort();
    }
    pthread_barrier_wait(&start_barrier); /* 1 */
    long fail0 = atomic_load(&n_fail);
    atomic_store(&n_lat, 0);
    for (int i = 0; i < opt_clients; i++) { /* the set-up's commands are not measured */
        memset(clients[i].kcount, 0, sizeof(clients[i].kcount));
        memset(clients[i].ksum, 0, sizeof(clients[i].ksum));
        memset(clients[i].kmax, 0, sizeof(clients[i].kmax));
    }
    if (opt_wait) {
        printf("ready %s setup_failed=%ld\n", opt_label, fail0);
        fflush(stdout);
        wait_signal();
    }
    double c0 = cpu_s(), t_start = now();
    t_deadline = t_start + opt_seconds;
    atomic_store(&n_ops, 0);
    pthread_barrier_wait(&start_barrier); /* 2 */
    pthread_barrier_wait(&start_barrier); /* 3 */
    double secs = now() - t_start, cpu = cpu_s() - c0;
    long ops = atomic_load(&n_ops), failed = atomic_load(&n_fail);
    long scripts = opt_mode == MODE_LOGINS ? atomic_load(&n_sessions) : atomic_load(&n_scripts);
    long sessions = atomic_load(&n_sessions);
    static const char *const names[] = {"churn", "stay", "logins"};
    printf("result %s mode=%s clients=%d users=%d messages=%ld tls=%d scripts=%ld sessions=%ld "
           "ops=%ld failed=%ld seconds=%.3f ops_per_s=%.1f sessions_per_s=%.1f op_p50_ms=%.2f "
           "op_p99_ms=%.2f client_cpu_s=%.3f append_without_exists=%ld tls_version=%s\n",
           opt_label, names[opt_mode], opt_clients, opt_users, opt_messages, opt_tls, scripts,
           sessions, ops, failed, secs, (double)ops / secs, (double)sessions / secs,
           pct(lat_ops, atomic_load(&n_lat), 50), pct(lat_ops, atomic_load(&n_lat), 99), cpu,
           atomic_load(&n_append_quiet), tls_desc);
    print_cmds(clients);
    fflush(stdout);
    if (opt_wait)
        wait_signal();
    pthread_barrier_wait(&start_barrier); /* 4 */
    for (int i = 0; i < opt_clients; i++)
        pthread_join(th[i], NULL);
    return failed == 0 && ops > 0 ? 0 : 1;
}

/* --- the 100,000-message mailbox --- */

static void median_min(double *v, int n, double *min_r, double *med_r)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    *min_r = n > 0 ? v[0] * 1e3 : 0;
    *med_r = n == 0 ? 0 : (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) * 1e3;
}

static int run_big(void)
{
    enum { B_LOGIN_SELECT, B_FETCH, B_SEARCH_SUBJECT, B_SEARCH_HEADER, B_STORE, B_UNSTORE, B_N };
    static const char *const bname[B_N] = {"login_select",  "fetch_uid_flags", "search_subject",
                                           "search_header", "store_seen",      "unstore_seen"};
    struct client cl = {.id = 1, .user = opt_user};
    struct result r;
    double *t[B_N], first[B_N];
    long m = opt_messages, store_replies = -1;
    uint64_t rs = opt_seed;

    cl.c.fd = -1;
    for (int b = 0; b < B_N; b++)
        if ((t[b] = calloc((size_t)opt_reps + 1, sizeof(double))) == NULL)
            abort();
    lat_ops = calloc(MAX_SAMPLES, sizeof(double));
    if (lat_ops == NULL)
        abort();
    set_init();
    double c0 = cpu_s(), w0 = now();
    for (int rep = 0; rep <= opt_reps; rep++) {
        double t0 = now(), d[B_N];
        if (conn_open(&cl) != 0)
            return 1;
        if (read_resp(&cl) != 0 || strncmp(cl.c.resp, "* OK", 4) != 0) {
            fault(&cl, "greeting: %.200s", cl.c.resp ? cl.c.resp : "");
            return 1;
        }
        if (command(&cl, K_LOGIN, &r, NULL, 0, "LOGIN %s %s", opt_user, opt_password) != 0 ||
            command(&cl, K_SELECT, &r, NULL, 0, "SELECT INBOX") != 0)
            return 1;
        d[B_LOGIN_SELECT] = now() - t0;
        if (cl.c.exists != m) {
            check_failed(&cl, "SELECT", "EXISTS %ld, expected %ld", cl.c.exists, m);
            return 1;
        }
        t0 = now();
        if (command(&cl, K_FETCH_FLAGS, &r, NULL, 0, "UID FETCH 1:* (UID FLAGS)") != 0)
            return 1;
        d[B_FETCH] = now() - t0;
        if (r.fetches != m || r.fetch_bad != 0) {
            check_failed(&cl, "UID FETCH 1:* (UID FLAGS)", "%ld replies, expected %ld", r.fetches,
                         m);
            return 1;
        }
        unsigned topic = (unsigned)(splitmix(&rs) % TOPICS);
        long want = set_topic_hits(topic);
        t0 = now();
        if (command(&cl, K_SEARCH, &r, NULL, 0, "UID SEARCH SUBJECT topic%04u", topic) != 0)
            return 1;
        d[B_SEARCH_SUBJECT] = now() - t0;
        if (r.search_hits != want) {
            check_failed(&cl, "UID SEARCH SUBJECT", "topic%04u: %ld hits, the set has %ld", topic,
                         r.search_hits, want);
            return 1;
        }
        long id = 1 + (long)(splitmix(&rs) % (uint64_t)m);
        t0 = now();
        if (command(&cl, K_SEARCH_HEADER, &r, NULL, 0,
                    "UID SEARCH HEADER Message-ID bench-%ld.%llu@bench.test", id, opt_seed) != 0)
            return 1;
        d[B_SEARCH_HEADER] = now() - t0;
        if (r.search_hits != 1) {
            check_failed(&cl, "UID SEARCH HEADER Message-ID",
                         "%ld hits for message %ld, "
                         "expected 1",
                         r.search_hits, id);
            return 1;
        }
        t0 = now();
        if (command(&cl, K_STORE_ALL, &r, NULL, 0, "STORE 1:* +FLAGS (\\Seen)") != 0)
            return 1;
        d[B_STORE] = now() - t0;
        if (r.fetches > m) {
            check_failed(&cl, "STORE 1:* +FLAGS", "%ld FETCH replies for %ld messages", r.fetches,
                         m);
            return 1;
        }
        store_replies = r.fetches;
        t0 = now();
        if (command(&cl, K_UNSTORE_ALL, &r, NULL, 0, "STORE 1:* -FLAGS.SILENT (\\Seen)") != 0)
            return 1;
        d[B_UNSTORE] = now() - t0;
        if (session_logout(&cl) != 0)
            return 1;
        fprintf(stderr, "imap-load: %s round %d:", opt_label, rep);
        for (int b = 0; b < B_N; b++) {
            fprintf(stderr, " %s=%.1f", bname[b], d[b] * 1e3);
            if (rep == 0)
                first[b] = d[b];
            else
                t[b][rep - 1] = d[b];
        }
        fprintf(stderr, " ms\n");
    }
    double secs = now() - w0, cpu = cpu_s() - c0;
    printf("result %s mode=big messages=%ld reps=%d tls=%d failed=%ld seconds=%.3f "
           "store_replies=%ld client_cpu_s=%.3f",
           opt_label, m, opt_reps, opt_tls, atomic_load(&n_fail), secs, store_replies, cpu);
    for (int b = 0; b < B_N; b++) {
        double mn, md;
        median_min(t[b], opt_reps, &mn, &md);
        printf(" %s_first_ms=%.1f %s_min_ms=%.1f %s_med_ms=%.1f", bname[b], first[b] * 1e3,
               bname[b], mn, bname[b], md);
    }
    printf("\n");
    return atomic_load(&n_fail) == 0 ? 0 : 1;
}

/* --- filling the stores --- */

struct lmtp_conn {
    int fd;
    char buf[8192];
    size_t have, pos;
    char line[512];
};

static atomic_long next_msg, n_delivered;
static const char **rcpts;
static int n_rcpts;

static int lmtp_line(struct lmtp_conn *l)
{
    size_t n = 0;
    for (;;) {
        if (l->pos == l->have) {
            ssize_t r = recv(l->fd, l->buf, sizeof(l->buf), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return -1;
            l->have = (size_t)r;
            l->pos = 0;
        }
        char ch = l->buf[l->pos++];
        if (ch == '\n')
            break;
        if (n + 1 < sizeof(l->line))
            l->line[n++] = ch;
    }
    while (n > 0 && l->line[n - 1] == '\r')
        n--;
    l->line[n] = '\0';
    return 0;
}

/* The code of one reply (its last line); -1 when the connection broke. */
static int lmtp_reply(struct lmtp_conn *l)
{
    do {
        if (lmtp_line(l) != 0)
            return -1;
    } while (strlen(l->line) > 3 && l->line[3] == '-');
    return atoi(l->line);
}

static int lmtp_send(struct lmtp_conn *l, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(l->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int lmtp_deliver(struct lmtp_conn *l, long k, char **stuffed, size_t *cap)
{
    char cmd[256];
    size_t len;
    char *m = set_make(k, &len);
    int code;

    snprintf(cmd, sizeof(cmd), "MAIL FROM:<sender%02d@bench.test>\r\n", (int)(k % 50));
    if (lmtp_send(l, cmd, strlen(cmd)) != 0 || (code = lmtp_reply(l)) != 250)
        goto bad;
    for (int i = 0; i < n_rcpts; i++) {
        snprintf(cmd, sizeof(cmd), "RCPT TO:<%s@example.org>\r\n", rcpts[i]);
        if (lmtp_send(l, cmd, strlen(cmd)) != 0 || (code = lmtp_reply(l)) != 250)
            goto bad;
    }
    if (lmtp_send(l, "DATA\r\n", 6) != 0 || (code = lmtp_reply(l)) != 354)
        goto bad;
    if (*cap < len * 2 + 8) {
        *cap = len * 2 + 8;
        if ((*stuffed = realloc(*stuffed, *cap)) == NULL)
            abort();
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (m[i] == '.' && (i == 0 || m[i - 1] == '\n'))
            (*stuffed)[o++] = '.';
        (*stuffed)[o++] = m[i];
    }
    memcpy(*stuffed + o, ".\r\n", 3);
    if (lmtp_send(l, *stuffed, o + 3) != 0)
        goto bad;
    for (int i = 0; i < n_rcpts; i++)
        if ((code = lmtp_reply(l)) != 250)
            goto bad;
    free(m);
    return 0;
bad:
    fault(NULL, "LMTP, message %ld: %s", k, l->line[0] ? l->line : "connection broke");
    free(m);
    return -1;
}

static void *lmtp_run(void *arg)
{
    struct lmtp_conn *l = calloc(1, sizeof(*l));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char *stuffed = NULL;
    size_t cap = 0;
    (void)arg;

    if (l == NULL)
        abort();
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt_socket);
    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l->fd < 0 || connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        lmtp_reply(l) != 220 || lmtp_send(l, "LHLO bench.test\r\n", 17) != 0 ||
        lmtp_reply(l) != 250) {
        fault(NULL, "LMTP: no greeting or LHLO refused: %s", l->line);
        return NULL;
    }
    for (;;) {
        long k = atomic_fetch_add(&next_msg, 1) + 1;
        if (k > opt_messages)
            break;
        if (lmtp_deliver(l, k, &stuffed, &cap) != 0)
            break;
        atomic_fetch_add(&n_delivered, 1);
    }
    lmtp_send(l, "QUIT\r\n", 6);
    close(l->fd);
    free(stuffed);
    free(l);
    return NULL;
}

static int run_lmtp(void)
{
    static pthread_t th[MAX_CLIENTS];
    static char names[MAX_USERS][64];
    const char *one[1] = {opt_user};

    set_init();
    if (opt_user != NULL) {
        rcpts = one;
        n_rcpts = 1;
    } else {
        rcpts = calloc((size_t)opt_users, sizeof(*rcpts));
        if (rcpts == NULL)
            abort();
        for (int u = 1; u <= opt_users; u++) {
            snprintf(names[u - 1], sizeof(names[0]), opt_userfmt, u);
            rcpts[u - 1] = names[u - 1];
        }
        n_rcpts = opt_users;
    }
    double t0 = now();
    for (int i = 0; i < opt_clients; i++)
        if (pthread_create(&th[i], NULL, lmtp_run, NULL) != 0)
            abort();
    for (int i = 0; i < opt_clients; i++)
        pthread_join(th[i], NULL);
    double secs = now() - t0;
    long done = atomic_load(&n_delivered);
    printf("lmtp %s messages=%ld recipients=%d delivered=%ld failed=%ld seconds=%.2f "
           "msgs_per_s=%.1f\n",
           opt_label, opt_messages, n_rcpts, done, atomic_load(&n_fail), secs, (double)done / secs);
    return done == opt_messages && atomic_load(&n_fail) == 0 ? 0 : 1;
}

static int run_maildir(int ndirs, char **dirs)
{
    char path[4096];
    unsigned long long octets = 0;

    set_init();
    double t0 = now();
    for (long k = 1; k <= opt_messages; k++) {
        size_t len, n, crlf;
        char *m = set_make(k, &len), *lf = malloc(len + 512);
        if (lf == NULL)
            abort();
        /* the trace headers an LMTP delivery adds (as long as Halyard's lmtpd's) */
        n = (size_t)snprintf(lf, 512,
                             "Return-Path: <sender%02d@bench.test>\n"
                             "Received: from bench.test (local)\n"
                             "\tby vm (Dovecot) with LMTP id %08lx.1;\n"
                             "\tFri, 27 Nov 2026 16:51:12 +0000\n",
                             (int)(k % 50), (unsigned long)k);
        crlf = n + 4 + len;
        for (size_t i = 0; i < len; i++)
            if (!(m[i] == '\r' && i + 1 < len && m[i + 1] == '\n'))
                lf[n++] = m[i];
        for (int d = 0; d < ndirs; d++) {
            snprintf(path, sizeof(path), "%s/cur/%lld.M%ldP1.bench.test,S=%zu,W=%zu:2,", dirs[d],
                     1700000000LL + k, k, n, crlf);
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd < 0 || write(fd, lf, n) != (ssize_t)n || close(fd) != 0) {
                fprintf(stderr, "imap-load: %s: %s\n", path, strerror(errno));
                return 2;
            }
        }
        octets += crlf;
        free(m);
        free(lf);
    }
    printf("maildir %s messages=%ld dirs=%d crlf_octets=%llu seconds=%.2f\n", opt_label,
           opt_messages, ndirs, octets, now() - t0);
    return 0;
}

static void usage(void)
{
    fputs("usage: imap-load churn|stay|logins -P PORT [-s] [-c CLIENTS] [-u USERS] [-n USERFMT]\n"
          "                 [-p PASSWORD] -M MESSAGES [-z SEED -a MIN -b MAX] [-N SCRIPTS]\n"
          "                 [-t SECONDS] [-T HARD_SECONDS] [-w] [-l LABEL]\n"
          "       imap-load big -P PORT [-s] -U USER [-p PASSWORD] -M MESSAGES [SET] [-R REPS]\n"
          "       imap-load lmtp -S SOCKET [-c CONNECTIONS] (-u USERS [-n USERFMT] | -U USER)\n"
          "                 -M MESSAGES [SET]\n"
          "       imap-load maildir -M MESSAGES [SET] MAILDIR...\n",
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

int main(int argc, char **argv)
{
    static const char *const modes[] = {"churn", "stay", "logins", "big", "lmtp", "maildir"};
    struct in_addr a;
    int ch, m;

    if (argc < 2)
        usage();
    for (m = 0; m < 6 && strcmp(argv[1], modes[m]) != 0; m++)
        ;
    if (m == 6)
        usage();
    opt_mode = (enum mode)m;
    optind = 2;
    while ((ch = getopt(argc, argv, "H:P:sc:u:n:U:p:M:z:a:b:N:t:T:R:S:wl:")) != -1) {
        switch (ch) {
        case 'H':
            opt_host = optarg;
            break;
        case 'P':
            opt_port = (int)num(optarg, 1, 65535);
            break;
        case 's':
            opt_tls = true;
            break;
        case 'c':
            opt_clients = (int)num(optarg, 1, MAX_CLIENTS);
            break;
        case 'u':
            opt_users = (int)num(optarg, 1, MAX_USERS);
            break;
        case 'n':
            opt_userfmt = optarg;
            break;
        case 'U':
            opt_user = optarg;
            break;
        case 'p':
            opt_password = optarg;
            break;
        case 'M':
            opt_messages = num(optarg, 1, MAX_MESSAGES);
            break;
        case 'z':
            opt_seed = strtoull(optarg, NULL, 10);
            break;
        case 'a':
            opt_min = num(optarg, 512, 64L * 1024 * 1024);
            break;
        case 'b':
            opt_max = num(optarg, 512, 64L * 1024 * 1024);
            break;
        case 'N':
            opt_scripts = num(optarg, 1, 1000000000);
            break;
        case 't':
            opt_seconds = atof(optarg);
            break;
        case 'T':
            opt_hard = atof(optarg);
            break;
        case 'R':
            opt_reps = (int)num(optarg, 1, 1000);
            break;
        case 'S':
            opt_socket = optarg;
            break;
        case 'w':
            opt_wait = true;
            break;
        case 'l':
            opt_label = optarg;
            break;
        default:
            usage();
        }
    }
    if (opt_messages < 1 || opt_max < opt_min)
        usage();
    if (opt_mode == MODE_MAILDIR)
        return optind < argc ? run_maildir(argc - optind, argv + optind) : (usage(), 2);
    if (opt_hard <= 0)
        opt_hard = opt_mode == MODE_LMTP ? 3600 : opt_seconds + 120;
    signal(SIGALRM, on_alarm);
    alarm((unsigned)opt_hard + 1);
    if (opt_mode == MODE_LMTP) {
        if (opt_socket == NULL || opt_clients > 64)
            usage();
        return run_lmtp();
    }
    if (opt_port == 0 || opt_seconds <= 0 || (opt_mode == MODE_BIG && opt_user == NULL))
        usage();
    if (opt_mode != MODE_BIG && opt_users < opt_clients) {
        fprintf(stderr, "imap-load: fewer users than clients (no two clients share a mailbox)\n");
        return 2;
    }
    if (inet_pton(AF_INET, opt_host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
        fprintf(stderr, "imap-load: %s is not a loopback address\n", opt_host);
        return 2;
    }
    if (opt_tls) {
        ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (ssl_ctx == NULL)
            abort();
        SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET);
    }
    if (opt_wait) { /* SIGUSR1 is taken with sigwait() in the main thread only */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
    }
    return opt_mode == MODE_BIG ? run_big() : run_load();
}
