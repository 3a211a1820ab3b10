/* The notify plugin: the store's commit hook formats iBiff events and writes them to enpd over
 * one non-blocking TCP connection per process. A connection that cannot take a whole event at
 * once is given up (a torn line would garble the next one) and tried again later. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

#define NOTIFY_RETRY_FIRST_MS  500
#define NOTIFY_RETRY_MAX_MS    30000
#define NOTIFY_LINE_MAX        4096
#define NOTIFY_CONNECT_WAIT_MS 100

/* Sun's event types (ENS guide, "Event Notification Types"), and MsgFlags, the name Sun's JMQ
 * plugin gives a flag change that is neither a read nor a trash: IDLE needs to hear of those
 * too. PurgeMsg (a server-side expire) and UnderQuota have switches but no publisher yet. */
enum notify_event {
    EVT_NEW,
    EVT_UPDATE,
    EVT_READ,
    EVT_TRASH,
    EVT_DELETE,
    EVT_PURGE,
    EVT_OVERQUOTA,
    EVT_UNDERQUOTA,
    EVT_LOGIN,
    EVT_LOGOUT,
    EVT_MSGFLAGS,
    EVT_COUNT
};
static const char *const evt_names[EVT_COUNT] = {
    "NewMsg",    "UpdateMsg",  "ReadMsg", "TrashMsg", "DeleteMsg", "PurgeMsg",
    "OverQuota", "UnderQuota", "Login",   "Logout",   "MsgFlags"};

struct notify {
    pthread_mutex_t mu;
    bool on;
    struct notify_target t;
    char hostname[256], process[32];
    bool noneinbox;
    bool enabled[EVT_COUNT];
    int fd;           /* -1: not connected */
    bool connecting;  /* fd is in a non-blocking connect */
    int64_t retry_at; /* CLOCK_MONOTONIC ms before which no connect is tried */
    unsigned retry_ms;
    bool down_logged;
    unsigned long long sent, dropped;
};

static struct notify notify = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void notify_mailbox_name(char *buf, size_t size, const char *user, const char *mailbox)
{
    if (strcasecmp(mailbox, "INBOX") == 0)
        snprintf(buf, size, "%s", user);
    else
        snprintf(buf, size, "%s/%s", user, mailbox);
}

/* Appends s percent-encoded (RFC 3986 unreserved and '/' kept); false when it does not fit. */
static bool pct_append(char *buf, size_t size, size_t *len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL;
        if (*len + (plain ? 1 : 3) >= size)
            return false;
        if (plain) {
            buf[(*len)++] = (char)*p;
        } else {
            buf[(*len)++] = '%';
            buf[(*len)++] = hex[*p >> 4];
            buf[(*len)++] = hex[*p & 15];
        }
    }
    buf[*len] = '\0';
    return true;
}

bool notify_event_key(char *buf, size_t size, const char *keyfmt, const char *mailbox_name)
{
    size_t len = 0;

    for (const char *p = keyfmt; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 'M') {
            if (!pct_append(buf, size, &len, mailbox_name))
                return false;
            p++;
            continue;
        }
        if (len + 1 >= size)
            return false;
        buf[len++] = *p;
    }
    buf[len] = '\0';
    return len > 0;
}

const char *notify_idle_missing(const struct conf *conf)
{
    const char *key = conf_str(conf, "local.store.notifyplugin.enseventkey");
    size_t n = strlen(key);

    if (*conf_str(conf, "local.store.notifyplugin") == '\0')
        return "local.store.notifyplugin is not set (the notify plugin is not loaded)";
    if (strcmp(key, "enp://127.0.0.1/store") == 0)
        return "local.store.notifyplugin.enseventkey has its default value";
    if (n < 2 || strcmp(key + n - 2, "%M") != 0)
        return "local.store.notifyplugin.enseventkey does not end in %M";
    if (!conf_bool(conf, "local.store.notifyplugin.noneinbox.enable"))
        return "local.store.notifyplugin.noneinbox.enable is off (events from INBOX only)";
    return NULL;
}

void notify_target_read(const struct conf *conf, struct notify_target *t)
{
    snprintf(t->host, sizeof(t->host), "%s", conf_str(conf, "local.store.notifyplugin.enshost"));
    snprintf(t->port, sizeof(t->port), "%ld", conf_int(conf, "local.store.notifyplugin.ensport"));
    snprintf(t->keyfmt, sizeof(t->keyfmt), "%s",
             conf_str(conf, "local.store.notifyplugin.enseventkey"));
}

int notify_target_connect(const struct notify_target *t, bool *pending, const char **why_r)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int fd, one = 1;

    *pending = false;
    if (getaddrinfo(t->host, t->port, &hints, &ai) != 0 || ai == NULL) {
        *why_r = "local.store.notifyplugin.enshost must be an IP address";
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno == EINPROGRESS) {
            *pending = true;
        } else {
            int e = errno;
            close(fd);
            fd = -1;
            errno = e;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0) {
        *why_r = strerror(errno);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    return fd;
}

/* ---- the connection (callers hold notify.mu) ---- */

static void notify_disconnect(bool failed)
{
    if (notify.fd >= 0)
        close(notify.fd);
    notify.fd = -1;
    notify.connecting = false;
    if (failed) {
        notify.retry_at = now_ms() + notify.retry_ms;
        notify.retry_ms =
            notify.retry_ms * 2 > NOTIFY_RETRY_MAX_MS ? NOTIFY_RETRY_MAX_MS : notify.retry_ms * 2;
    }
}

static void notify_down(const char *why)
{
    if (!notify.down_logged)
        log_warning("enpd at %s:%s unreachable (%s): events are dropped until it is back",
                    notify.t.host, notify.t.port, why);
    notify.down_logged = true;
    notify_disconnect(true);
}

/* A connect under way, given up to wait_ms: 1 done, 0 still going, -1 failed (and logged). */
static int notify_connect_wait(int wait_ms)
{
    struct pollfd pfd = {.fd = notify.fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof(err);

    if (poll(&pfd, 1, wait_ms) <= 0)
        return 0;
    if (getsockopt(notify.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
        notify_down(strerror(err ? err : errno));
        return -1;
    }
    notify.connecting = false;
    return 1;
}

/* Ready to send: true when connected; starts or checks a non-blocking connect otherwise. */
static bool notify_ready(void)
{
    const char *why;
    bool pending;

    if (notify.fd >= 0 && !notify.connecting)
        return true;
    if (notify.fd >= 0) { /* a connect under way: done yet? */
        if (notify_connect_wait(0) <= 0)
            return false;
    } else {
        if (now_ms() < notify.retry_at)
            return false;
        notify.fd = notify_target_connect(&notify.t, &pending, &why);
        if (notify.fd < 0) {
            notify_down(why);
            return false;
        }
        /* a local enpd answers at once; a far or silent one costs this wait only once per
         * retry period */
        notify.connecting = pending;
        if (pending && notify_connect_wait(NOTIFY_CONNECT_WAIT_MS) <= 0)
            return false;
    }
    if (notify.down_logged)
        log_info("enpd at %s:%s reached again: publishing events", notify.t.host, notify.t.port);
    notify.down_logged = false;
    notify.retry_ms = NOTIFY_RETRY_FIRST_MS;
    return true;
}

/* Drains what enpd said (its greeting, or an -ERR before it closes) so the socket never
 * fills; false when enpd closed the connection. */
static bool notify_drain_input(void)
{
    char buf[512];
    ssize_t n;

    while ((n = recv(notify.fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        if (memcmp(buf, "-ERR", 4) == 0)
            log_warning("enpd refused this publisher: %.*s", (int)strcspn(buf, "\r\n"), buf);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static void notify_send(const char *line, size_t len)
{
    ssize_t n;

    if (!notify_ready() || !notify_drain_input()) {
        if (notify.fd >= 0 && !notify.connecting)
            notify_down("connection closed");
        notify.dropped++;
        return;
    }
    n = send(notify.fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == (ssize_t)len) {
        notify.sent++;
        return;
    }
    notify.dropped++;
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
        notify_down("enpd does not keep up"); /* a torn line: start over */
    else
        notify_down(strerror(errno));
}

/* ---- events ---- */

/* One event: the fixed part every Sun event has, then params (each "&name=value"). Called
 * with notify.mu held. */
static void notify_publish(enum notify_event evt, const char *user, const char *mailbox,
                           const char *params)
{
    char name[1024], key[2048], line[NOTIFY_LINE_MAX], base[1024];
    struct timespec ts;
    size_t blen;
    int n;

    if (!notify.on || !notify.enabled[evt])
        return;
    notify_mailbox_name(name, sizeof(name), user, mailbox);
    if (!notify_event_key(key, sizeof(key), notify.t.keyfmt, name))
        return;
    /* the body starts with the key's fixed part, as Sun's events do */
    snprintf(base, sizeof(base), "%s", notify.t.keyfmt);
    blen = strlen(base);
    if (blen >= 2 && strcmp(base + blen - 2, "%M") == 0)
        base[blen -= 2] = '\0';
    while (blen > 0 && base[blen - 1] == '/')
        base[--blen] = '\0';
    clock_gettime(CLOCK_REALTIME, &ts);
    n = snprintf(line, sizeof(line),
                 "PUBLISH %s %s?evtType=%s&timestamp=%lld&hostname=%s&process=%s&pid=%ld"
                 "&mailboxName=",
                 key, base, evt_names[evt], (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                 notify.hostname, notify.process, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    size_t len = (size_t)n;
    if (!pct_append(line, sizeof(line), &len, name))
        return;
    n = snprintf(line + len, sizeof(line) - len, "%s\r\n", params);
    if (n < 0 || (size_t)n >= sizeof(line) - len)
        return;
    notify_send(line, len + (size_t)n);
}

/* A message event: the mailbox's counts after the change, the first UID concerned and, for a
 * range, the last; ReadMsg and TrashMsg also carry Sun's numSeen and numDel. */
static void notify_message(enum notify_event evt, const struct store_change *c, uint32_t uid,
                           uint32_t last)
{
    char params[256], lastuid[24] = "", counts[48] = "";

    if (last != 0)
        snprintf(lastuid, sizeof(lastuid), "&lastUid=%u", last);
    if (evt == EVT_READ || evt == EVT_TRASH)
        snprintf(counts, sizeof(counts), "&numSeen=%u&numDel=%u", c->messages - c->unseen,
                 c->deleted);
    snprintf(params, sizeof(params),
             "&numMsgs=%u&numUnseen=%u%s&uidValidity=%u&imapUid=%u%s&modseq=%llu", c->messages,
             c->unseen, counts, c->uidvalidity, uid, lastuid, (unsigned long long)c->modseq);
    notify_publish(evt, c->user, c->mailbox, params);
}

/* A flag change is a TrashMsg when some message gained \Deleted, else a ReadMsg when some gained
 * \Seen, else a MsgFlags. */
static enum notify_event notify_flag_event(const struct store_change *c)
{
    if (c->flags_on & STORE_FLAG_DELETED)
        return EVT_TRASH;
    if (c->flags_on & STORE_FLAG_SEEN)
        return EVT_READ;
    return EVT_MSGFLAGS;
}

static void notify_hook(const struct store_change *c, void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&notify.mu);
    if (!notify.on || c->mailbox == NULL || c->user == NULL ||
        (!notify.noneinbox && strcasecmp(c->mailbox, "INBOX") != 0))
        goto out;
    switch (c->kind) {
    case STORE_CHANGE_NEW:
        for (size_t i = 0; i < c->nuids; i++)
            notify_message(c->appended ? EVT_UPDATE : EVT_NEW, c, c->uids[i], 0);
        break;
    case STORE_CHANGE_FLAGS:
        if (c->nuids > 0)
            notify_message(notify_flag_event(c), c, c->uids[0], c->uids[c->nuids - 1]);
        break;
    case STORE_CHANGE_EXPUNGE: /* a client's expunge is Sun's DeleteMsg */
        if (c->nuids > 0)
            notify_message(EVT_DELETE, c, c->uids[0], c->uids[c->nuids - 1]);
        break;
    default:
        break; /* Sun's ENS has no mailbox events */
    }
out:
    pthread_mutex_unlock(&notify.mu);
}

void notify_session(const char *user, const char *service, const char *client, bool login)
{
    char params[512];

    snprintf(params, sizeof(params), "&service=%s&client=%s", service, client);
    pthread_mutex_lock(&notify.mu);
    notify_publish(login ? EVT_LOGIN : EVT_LOGOUT, user, "INBOX", params);
    pthread_mutex_unlock(&notify.mu);
}

void notify_overquota(const char *user, const char *mailbox)
{
    pthread_mutex_lock(&notify.mu);
    if (notify.noneinbox || mailbox == NULL || strcasecmp(mailbox, "INBOX") == 0)
        notify_publish(EVT_OVERQUOTA, user, mailbox != NULL ? mailbox : "INBOX", "");
    pthread_mutex_unlock(&notify.mu);
}

bool notify_event_is_message(const char *body, size_t len)
{
    static const char *const quiet[] = {"Login", "Logout", "OverQuota", "UnderQuota"};
    const char *p = memmem(body, len, "evtType=", 8);

    if (p == NULL)
        return true;
    p += 8;
    size_t left = len - (size_t)(p - body);
    for (size_t i = 0; i < sizeof(quiet) / sizeof(*quiet); i++) {
        size_t n = strlen(quiet[i]);
        if (left >= n && memcmp(p, quiet[i], n) == 0 && (left == n || p[n] == '&'))
            return false;
    }
    return true;
}

void notify_configure(struct store *st, const struct conf *conf, const char *process)
{
    char name[128];
    bool on = *conf_str(conf, "local.store.notifyplugin") != '\0';

    struct notify_target t;

    notify_target_read(conf, &t);
    pthread_mutex_lock(&notify.mu);
    if (on && (strcmp(notify.t.host, t.host) != 0 || strcmp(notify.t.port, t.port) != 0))
        notify_disconnect(false); /* enpd moved: the next event connects afresh */
    notify.on = on;
    notify.t = t;
    snprintf(notify.process, sizeof(notify.process), "%s", process);
    if (*conf_str(conf, "local.hostname") != '\0')
        snprintf(notify.hostname, sizeof(notify.hostname), "%s", conf_str(conf, "local.hostname"));
    else if (gethostname(notify.hostname, sizeof(notify.hostname)) != 0)
        snprintf(notify.hostname, sizeof(notify.hostname), "localhost");
    notify.noneinbox = conf_bool(conf, "local.store.notifyplugin.noneinbox.enable");
    for (int i = 0; i < EVT_COUNT; i++) {
        snprintf(name, sizeof(name), "local.store.notifyplugin.%s.enable", evt_names[i]);
        notify.enabled[i] = conf_bool(conf, name);
    }
    if (notify.retry_ms == 0)
        notify.retry_ms = NOTIFY_RETRY_FIRST_MS;
    if (!on)
        notify_disconnect(false);
    pthread_mutex_unlock(&notify.mu);
    store_set_commit_hook(st, on ? notify_hook : NULL, NULL);
}
