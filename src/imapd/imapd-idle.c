/* IMAP IDLE (RFC 2177) as the seed builds it: each imapd process keeps one connection to enpd
 * and subscribes to the event key of every mailbox one of its sessions idles on; an event
 * makes those sessions look at the store (imap_sync on a pool thread) and send what changed.
 * An idling session holds no thread and no timer of its own: one process-wide tick writes the
 * keep-alives and, while enpd is unreachable, makes idlers look at the store themselves.
 * A subscription counts from enpd's answer to it, not from its sending: enpd may read another
 * connection's PUBLISH first (it serves connections in no set order, and at socket activation
 * a whole backlog at once), so the look that catches up with the store runs on the answer. */
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "imapd.h"
#include "notify.h"

#define IDLE_IN_MAX        65536 /* enpd's lines are at most 8 KiB; room for a few */
#define IDLE_RETRY_FIRST_S 1
#define IDLE_RETRY_MAX_S   30
#define IDLE_DONE_MAX      64 /* an unfinished line this long cannot be DONE: IDLE ends */

/* The last change list taken for a key's mailbox, shared by the looks its event causes: the
 * first session's look reads the store, the others report from the same list (imap_sync_apply
 * skips what each has seen). Taken and read under mu on pool threads; refs are counted on the
 * loop (the key holds one, each job in flight one). */
struct idle_changes {
    pthread_mutex_t mu;
    unsigned refs;
    bool valid;
    uint64_t gen; /* the key's generation when the list was taken */
    uint32_t mailbox_id;
    uint64_t since;
    struct store_msg *changed;
    size_t nchanged;
    uint32_t *gone;
    size_t ngone;
};

/* One subscribed key and the sessions idling on it. gen counts the events (and polls) that
 * asked for a fresh look. */
struct imap_idle_key {
    struct imap_idle_key *next;
    char *key;
    struct imap_session **sessions;
    size_t n, cap;
    uint64_t gen;
    struct idle_changes *changes;
    unsigned unanswered; /* its SUBSCRIBEs written on this connection, not yet answered */
};

static struct {
    struct server *srv;
    bool enabled, configured;
    struct notify_target t;
    unsigned keepalive_s, poll_s;
    /* the connection to enpd */
    int fd;
    bool connected, connecting, down_logged;
    sd_event_source *io, *retry;
    unsigned retry_s;
    char in[IDLE_IN_MAX];
    size_t in_len;
    bool greeted; /* the first line on a connection is enpd's greeting (or refusal) */
    /* what enpd's next answers are for, in the order the commands were written: the key of a
     * SUBSCRIBE, NULL for an UNSUBSCRIBE or a key dropped since */
    struct imap_idle_key **asked;
    size_t asked_head, asked_len, asked_cap;
    /* idlers and their keys */
    struct imap_idle_key *keys;
    struct imap_session *idlers;
    sd_event_source *tick;
    uint64_t last_keepalive, last_poll; /* CLOCK_MONOTONIC usec */
} idle = {.fd = -1};

static uint64_t now_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

bool imap_idle_enabled(void)
{
    return idle.enabled;
}

void imap_idle_configure(struct server *srv, const struct conf *conf)
{
    const char *missing = notify_idle_missing(conf);

    idle.srv = srv;
    if (missing != NULL && (idle.enabled || !idle.configured))
        log_info("IDLE not announced: %s", missing);
    /* sessions idling now keep going; new ones follow the new settings */
    idle.enabled = missing == NULL;
    idle.configured = true;
    notify_target_read(conf, &idle.t);
    idle.keepalive_s = (unsigned)conf_int(conf, "service.imap.idlekeepalive");
    idle.poll_s = (unsigned)conf_int(conf, "service.imap.idlepoll");
}

/* ---- the connection to enpd ---- */

static void idle_connect(void);

static int idle_on_retry(sd_event_source *src, uint64_t usec, void *ud)
{
    (void)src, (void)usec, (void)ud;
    idle.retry = sd_event_source_unref(idle.retry);
    if (idle.idlers != NULL)
        idle_connect();
    return 0;
}

/* Notes that enpd will answer one more command; k: a SUBSCRIBE of that key. */
static bool idle_asked_push(struct imap_idle_key *k)
{
    if (idle.asked_len == idle.asked_cap) {
        size_t live = idle.asked_len - idle.asked_head;
        if (idle.asked_head > 0) { /* room at the front: move the unanswered there */
            memmove(idle.asked, idle.asked + idle.asked_head, live * sizeof(*idle.asked));
        } else {
            size_t cap = idle.asked_cap ? 2 * idle.asked_cap : 64;
            struct imap_idle_key **v = realloc(idle.asked, cap * sizeof(*v));
            if (v == NULL)
                return false;
            idle.asked = v;
            idle.asked_cap = cap;
        }
        idle.asked_head = 0;
        idle.asked_len = live;
    }
    idle.asked[idle.asked_len++] = k;
    if (k != NULL)
        k->unanswered++;
    return true;
}

/* A key going away: its unanswered SUBSCRIBEs are answered into the void. */
static void idle_asked_forget(const struct imap_idle_key *k)
{
    unsigned left = k->unanswered;

    for (size_t i = idle.asked_head; left > 0 && i < idle.asked_len; i++)
        if (idle.asked[i] == k) {
            idle.asked[i] = NULL;
            left--;
        }
}

static void idle_asked_clear(void)
{
    idle.asked_head = idle.asked_len = 0;
    for (struct imap_idle_key *k = idle.keys; k != NULL; k = k->next)
        k->unanswered = 0;
}

static void idle_disconnect(const char *why)
{
    idle.io = sd_event_source_disable_unref(idle.io);
    if (idle.fd >= 0)
        close(idle.fd);
    idle.fd = -1;
    idle.in_len = 0;
    idle.greeted = false;
    idle_asked_clear();
    if (why != NULL && !idle.down_logged)
        log_warning("enpd at %s:%s unreachable (%s): idling sessions look at the store every "
                    "%u s until it is back",
                    idle.t.host, idle.t.port, why, idle.poll_s);
    if (why != NULL)
        idle.down_logged = true;
    idle.connected = idle.connecting = false;
    if (why != NULL && idle.retry == NULL && server_event(idle.srv) != NULL) {
        sd_event_add_time_relative(server_event(idle.srv), &idle.retry, CLOCK_MONOTONIC,
                                   (uint64_t)idle.retry_s * 1000000u, 100000, idle_on_retry, NULL);
        idle.retry_s = idle.retry_s * 2 > IDLE_RETRY_MAX_S ? IDLE_RETRY_MAX_S : idle.retry_s * 2;
    }
}

/* Whole lines only; false when the socket could not take them (the connection is then given up
 * and subscriptions are made again on the next one). */
static bool idle_send(const char *line, size_t len)
{
    ssize_t n;

    if (!idle.connected)
        return false;
    n = send(idle.fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == (ssize_t)len)
        return true;
    idle_disconnect(n < 0 ? strerror(errno) : "enpd does not keep up");
    return false;
}

static void idle_subscribe(struct imap_idle_key *k, bool on)
{
    char line[2100];
    int n = snprintf(line, sizeof(line), "%s %s\r\n", on ? "SUBSCRIBE" : "UNSUBSCRIBE", k->key);

    if (n <= 0 || (size_t)n >= sizeof(line) || !idle_send(line, (size_t)n))
        return;
    if (!idle_asked_push(on ? k : NULL))
        idle_disconnect("out of memory"); /* answers could no longer be told apart */
}

static void idle_poke(struct imap_session *s);

/* Every key's next look reads the store afresh. */
static void idle_keys_stale(void)
{
    for (struct imap_idle_key *k = idle.keys; k != NULL; k = k->next)
        k->gen++;
}

/* enpd answered the oldest command still unanswered: from a SUBSCRIBE's answer on, every
 * event of its key reaches us, so this is when its sessions look at what came before. */
static void idle_answer(void)
{
    struct imap_idle_key *k;

    if (idle.asked_head == idle.asked_len)
        return; /* an -ERR of enpd's own (idle, shutting down): it closes next */
    k = idle.asked[idle.asked_head++];
    if (idle.asked_head == idle.asked_len)
        idle.asked_head = idle.asked_len = 0;
    if (k == NULL)
        return;
    k->unanswered--;
    k->gen++;
    for (size_t i = 0; i < k->n; i++)
        idle_poke(k->sessions[i]);
}

static void idle_event(const char *line, size_t len)
{
    const char *key, *sp;

    if (len < 6 || memcmp(line, "EVENT ", 6) != 0)
        return;
    key = line + 6;
    sp = memchr(key, ' ', len - 6);
    size_t klen = sp != NULL ? (size_t)(sp - key) : len - 6;
    if (sp != NULL && !notify_event_is_message(sp + 1, len - 6 - klen - 1))
        return; /* a login or quota event: nothing in the mailbox changed */
    for (struct imap_idle_key *k = idle.keys; k != NULL; k = k->next)
        if (strlen(k->key) == klen && memcmp(k->key, key, klen) == 0) {
            k->gen++;
            for (size_t i = 0; i < k->n; i++)
                idle_poke(k->sessions[i]);
            return;
        }
}

static int idle_on_io(sd_event_source *src, int fd, uint32_t revents, void *ud)
{
    ssize_t n;
    int err = 0;
    socklen_t elen = sizeof(err);

    (void)src, (void)ud;
    if (idle.connecting) {
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
            idle_disconnect(strerror(err ? err : errno));
            return 0;
        }
        idle.connecting = false;
        idle.connected = true;
        idle.retry_s = IDLE_RETRY_FIRST_S;
        sd_event_source_set_io_events(idle.io, EPOLLIN);
        if (idle.down_logged)
            log_info("enpd at %s:%s reached again: idling sessions follow its events", idle.t.host,
                     idle.t.port);
        idle.down_logged = false;
        /* what happened while enpd was away is not in its events: each key's sessions look
         * once enpd has answered its SUBSCRIBE (idle_answer); the others look now */
        for (struct imap_idle_key *k = idle.keys; k != NULL && idle.connected; k = k->next)
            idle_subscribe(k, true);
        for (struct imap_session *s = idle.idlers; s != NULL; s = s->idle_next)
            if (s->idle_key == NULL)
                idle_poke(s);
        return 0;
    }
    if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        return 0;
    n = recv(fd, idle.in + idle.in_len, sizeof(idle.in) - idle.in_len, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        idle_disconnect(n == 0 ? "enpd closed the connection" : strerror(errno));
        return 0;
    }
    idle.in_len += (size_t)n;
    char *p = idle.in, *end = idle.in + idle.in_len, *nl;
    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        size_t len = (size_t)(nl - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len >= 4 && memcmp(p, "-ERR", 4) == 0)
            log_warning("enpd: %.*s", (int)len, p);
        if (!idle.greeted)
            idle.greeted = true;
        else if ((len >= 3 && memcmp(p, "+OK", 3) == 0) || (len >= 4 && memcmp(p, "-ERR", 4) == 0))
            idle_answer();
        else
            idle_event(p, len);
        p = nl + 1;
    }
    idle.in_len = (size_t)(end - p);
    memmove(idle.in, p, idle.in_len);
    if (idle.in_len == sizeof(idle.in))
        idle_disconnect("line from enpd too long");
    return 0;
}

static void idle_connect(void)
{
    sd_event *ev = server_event(idle.srv);
    const char *why;
    bool pending;

    if (idle.fd >= 0 || idle.retry != NULL || ev == NULL)
        return;
    if (idle.retry_s == 0)
        idle.retry_s = IDLE_RETRY_FIRST_S;
    idle.fd = notify_target_connect(&idle.t, &pending, &why);
    if (idle.fd < 0) {
        idle_disconnect(why);
        return;
    }
    /* done or not, EPOLLOUT says when it is (idle_on_io checks SO_ERROR) */
    idle.connecting = true;
    if (sd_event_add_io(ev, &idle.io, idle.fd, EPOLLOUT, idle_on_io, NULL) < 0)
        idle_disconnect("cannot watch the socket");
}

/* ---- the process-wide tick: keep-alives, and looks at the store while enpd is away ---- */

static int idle_on_tick(sd_event_source *src, uint64_t usec, void *ud)
{
    uint64_t now = now_usec();

    (void)usec, (void)ud;
    if (now - idle.last_keepalive >= (uint64_t)idle.keepalive_s * 1000000u) {
        idle.last_keepalive = now;
        for (struct imap_session *s = idle.idlers; s != NULL; s = s->idle_next)
            conn_puts(s->conn, "* OK Still here\r\n");
    }
    if (!idle.connected && now - idle.last_poll >= (uint64_t)idle.poll_s * 1000000u) {
        idle.last_poll = now;
        idle_keys_stale();
        for (struct imap_session *s = idle.idlers; s != NULL; s = s->idle_next)
            idle_poke(s);
    }
    if (idle.idlers == NULL) {
        idle.tick = sd_event_source_disable_unref(idle.tick);
        return 0;
    }
    sd_event_source_set_time(src, now + 1000000u);
    sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
    return 0;
}

/* ---- sessions ---- */

static struct idle_changes *idle_changes_new(void)
{
    struct idle_changes *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->refs = 1;
    return c;
}

static void idle_changes_drop(struct idle_changes *c)
{
    store_msg_list_free(&c->changed, c->nchanged);
    free(c->gone);
    c->gone = NULL;
    c->ngone = 0;
    c->valid = false;
}

static void idle_changes_unref(struct idle_changes **cp)
{
    struct idle_changes *c = *cp;

    *cp = NULL;
    if (c == NULL || --c->refs > 0)
        return;
    idle_changes_drop(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

struct idle_job {
    struct imap_session *s;
    struct idle_changes *changes; /* NULL: the session looks on its own */
    uint64_t gen;
    char *buf;
    size_t len;
};

/* The session's look through the shared list, taking it afresh when it is older than the
 * event that asked for this look, of another mailbox, or starts above the session's MODSEQ. */
static void idle_sync_shared(struct imap_session *s, struct idle_changes *c, uint64_t gen,
                             FILE *out)
{
    struct store_error err;

    imap_sel_refresh(s); /* a revoked right counts at once, as in imap_sync */
    if (!(s->sel.rights & IMAP_RIGHT_R))
        return;
    pthread_mutex_lock(&c->mu);
    if (!c->valid || c->gen < gen || c->mailbox_id != s->sel.id || c->since > s->sel.modseq) {
        idle_changes_drop(c);
        c->valid =
            store_msg_changes(imapd_store(), s->sel.owner, s->sel.id, s->sel.modseq, &c->changed,
                              &c->nchanged, &c->gone, &c->ngone, &err) == STORE_OK;
        c->gen = gen;
        c->mailbox_id = s->sel.id;
        c->since = s->sel.modseq;
    }
    if (c->valid)
        imap_sync_apply(s, c->changed, c->nchanged, c->gone, c->ngone, out);
    pthread_mutex_unlock(&c->mu);
}

static void idle_sync_work(void *arg)
{
    struct idle_job *job = arg;
    FILE *out = open_memstream(&job->buf, &job->len);

    if (out == NULL)
        return;
    if (job->s->state == IMAP_STATE_SELECTED && job->changes != NULL)
        idle_sync_shared(job->s, job->changes, job->gen, out);
    else if (job->s->state == IMAP_STATE_SELECTED)
        imap_sync(job->s, out);
    if (fclose(out) != 0) {
        free(job->buf);
        job->buf = NULL;
        job->len = 0;
    }
}

static void idle_sync_done(void *arg)
{
    struct idle_job *job = arg;
    struct imap_session *s = job->s;

    if (job->buf != NULL && job->len > 0)
        conn_write(s->conn, job->buf, job->len);
    free(job->buf);
    idle_changes_unref(&job->changes);
    free(job);
    s->idle_syncing = false;
    if (s->idle_again && s->idle_cmd != NULL) {
        s->idle_again = false;
        idle_poke(s);
    }
}

/* Runs one look at the store for s, or notes that another is due after the running one. */
static void idle_poke(struct imap_session *s)
{
    struct idle_job *job;

    if (s->idle_cmd == NULL || s->state != IMAP_STATE_SELECTED)
        return;
    if (s->idle_syncing) {
        s->idle_again = true;
        return;
    }
    job = calloc(1, sizeof(*job));
    if (job == NULL)
        return;
    job->s = s;
    if (s->idle_key != NULL && s->idle_key->changes != NULL) {
        job->changes = s->idle_key->changes;
        job->changes->refs++;
        job->gen = s->idle_key->gen;
    }
    if (conn_submit(s->conn, idle_sync_work, idle_sync_done, job) < 0) {
        idle_changes_unref(&job->changes);
        free(job);
        return;
    }
    s->idle_syncing = true;
}

static struct imap_idle_key *idle_key_ref(const char *key, struct imap_session *s)
{
    struct imap_idle_key *k;

    for (k = idle.keys; k != NULL; k = k->next)
        if (strcmp(k->key, key) == 0)
            break;
    if (k == NULL) {
        k = calloc(1, sizeof(*k));
        if (k == NULL || (k->key = strdup(key)) == NULL) {
            free(k);
            return NULL;
        }
        k->changes = idle_changes_new(); /* without it each session looks on its own */
        k->next = idle.keys;
        idle.keys = k;
        idle_subscribe(k, true);
    }
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 4;
        struct imap_session **v = realloc(k->sessions, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        k->sessions = v;
        k->cap = cap;
    }
    k->sessions[k->n++] = s;
    return k;
}

static void idle_key_unref(struct imap_idle_key *k, struct imap_session *s)
{
    struct imap_idle_key **pp;

    for (size_t i = 0; i < k->n; i++)
        if (k->sessions[i] == s) {
            k->sessions[i] = k->sessions[--k->n];
            break;
        }
    if (k->n > 0)
        return;
    idle_subscribe(k, false);
    idle_asked_forget(k);
    for (pp = &idle.keys; *pp != k; pp = &(*pp)->next)
        ;
    *pp = k->next;
    idle_changes_unref(&k->changes);
    free(k->sessions);
    free(k->key);
    free(k);
}

/* Takes s out of the idlers (DONE, a bad line, or the connection going away). */
static void idle_leave(struct imap_session *s)
{
    if (s->idle_key != NULL)
        idle_key_unref(s->idle_key, s);
    s->idle_key = NULL;
    if (s->idle_prev != NULL)
        s->idle_prev->idle_next = s->idle_next;
    else if (idle.idlers == s)
        idle.idlers = s->idle_next;
    if (s->idle_next != NULL)
        s->idle_next->idle_prev = s->idle_prev;
    s->idle_prev = s->idle_next = NULL;
    s->idle_again = false;
}

void imap_cmd_idle(struct imap_session *s, struct imap_cmd **cmd)
{
    char name[1024], key[2048];
    sd_event *ev = server_event(conn_server(s->conn));

    if (!imap_no_args(s, *cmd))
        return;
    if (!idle.enabled) {
        imap_reply_tagged(s, *cmd, "BAD", "IDLE is not enabled on this server");
        return;
    }
    s->idle_cmd = *cmd;
    *cmd = NULL;
    s->idle_next = idle.idlers;
    if (idle.idlers != NULL)
        idle.idlers->idle_prev = s;
    idle.idlers = s;
    if (s->state == IMAP_STATE_SELECTED) {
        notify_mailbox_name(name, sizeof(name), s->sel.owner, s->sel.name);
        if (notify_event_key(key, sizeof(key), idle.t.keyfmt, name))
            s->idle_key = idle_key_ref(key, s);
    }
    conn_set_keepalive(s->conn);
    if (idle.tick == NULL && ev != NULL) {
        idle.last_keepalive = idle.last_poll = now_usec();
        sd_event_add_time_relative(ev, &idle.tick, CLOCK_MONOTONIC, 1000000u, 100000, idle_on_tick,
                                   NULL);
    }
    idle_connect();
    conn_puts(s->conn, "+ idling\r\n");
    /* whatever changed since the last command is reported at once, or, while enpd has not yet
     * answered the key's SUBSCRIBE, on its answer (which makes every session of the key look) */
    if (s->idle_key == NULL || s->idle_key->unanswered == 0)
        idle_poke(s);
}

ssize_t imap_idle_input(struct imap_session *s, const char *data, size_t len)
{
    const char *nl = memchr(data, '\n', len);
    struct imap_cmd *cmd = s->idle_cmd;
    size_t w;

    if (nl == NULL && len < IDLE_DONE_MAX)
        return 0;
    /* a line ends IDLE whatever it is; only DONE ends it well (RFC 2177 3) */
    idle_leave(s);
    s->idle_cmd = NULL;
    w = nl != NULL ? (size_t)(nl - data) : len;
    if (w > 0 && data[w - 1] == '\r')
        w--;
    if (w == 4 && strncasecmp(data, "DONE", 4) == 0)
        imap_reply_tagged(s, cmd, "OK", "IDLE terminated");
    else
        imap_reply_tagged(s, cmd, "BAD", "Expected DONE to end IDLE");
    imap_cmd_free(&cmd);
    /* a long line with no end yet is left to the command parser, which skips it within its
     * own bounds; a whole line is consumed here, and whatever follows it is a command */
    return nl != NULL ? nl - data + 1 : 0;
}

void imap_idle_close(struct imap_session *s)
{
    if (s->idle_cmd == NULL)
        return;
    idle_leave(s);
    imap_cmd_free(&s->idle_cmd);
}
