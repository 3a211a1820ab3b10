/* lmtpd: RFC 2033 LMTP delivery into the store, on the shared daemon skeleton. One reply per
 * recipient after DATA, each 250 only once that recipient's copy is committed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"
#include "banner.h"
#include "halyard-build.h"
#include "lmtpd.h"
#include "store-conf.h"

enum lmtpd_phase {
    PHASE_GREETED, /* before LHLO */
    PHASE_READY,   /* after LHLO, no transaction */
    PHASE_MAIL,    /* MAIL accepted, collecting RCPT */
    PHASE_DATA,    /* reading the message */
    PHASE_BUSY,    /* a pool job (RCPT lookup or delivery) is running */
};

struct lmtpd_session {
    struct conn *conn;
    enum lmtpd_phase phase, resume;
    char helo[LMTP_PATH_MAX + 1];
    char from[LMTP_PATH_MAX + 1];
    struct lmtpd_rcpt *rcpts;
    unsigned nrcpts, naccepted;
    struct store_spool *spool;
    struct store_error spool_err;
    struct lmtp_data data;
    bool too_big, spool_failed, discarding;
    time_t received;
    struct lmtpd_rcpt *pending_rcpt; /* RCPT lookup in flight */
};

/* The process's store, opened from store.partition.primary.path at start (lmtpd_on_config). */
static struct store *lmtpd_store_handle;

static uint64_t lmtpd_max_size(const struct conn *c)
{
    return (uint64_t)conf_int(server_conf(conn_server(c)), "service.lmtp.maxmessagesize");
}

static void lmtpd_reset(struct lmtpd_session *s)
{
    free(s->rcpts);
    s->rcpts = NULL;
    s->nrcpts = s->naccepted = 0;
    s->from[0] = '\0';
    store_spool_free(&s->spool); /* deliveries made keep their own links */
    s->too_big = s->spool_failed = false;
}

static int lmtpd_on_open(struct conn *c)
{
    struct lmtpd_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -1;
    s->conn = c;
    conn_set_data(c, s);
    conn_printf(c, "220 %s\r\n", server_banner(conn_server(c)));
    return 0;
}

/* --- RCPT: the user lookup runs on the pool --- */

static void lmtpd_rcpt_work(void *arg)
{
    struct lmtpd_session *s = arg;

    lmtpd_rcpt_resolve(lmtpd_store_handle, server_conf(conn_server(s->conn)), s->pending_rcpt);
}

static void lmtpd_rcpt_done(void *arg)
{
    struct lmtpd_session *s = arg;
    struct lmtpd_rcpt *r = s->pending_rcpt;

    s->pending_rcpt = NULL;
    s->phase = PHASE_MAIL;
    if (r->accepted) {
        s->naccepted++;
        conn_printf(s->conn, "250 2.1.5 <%s> recipient ok\r\n", r->addr);
    } else {
        if (r->detail[0] != '\0')
            conn_info(s->conn, "RCPT <%s> refused: %s (%s)", r->addr, r->reply, r->detail);
        else
            conn_info(s->conn, "RCPT <%s> refused: %s", r->addr, r->reply);
        r->detail[0] = '\0';
        conn_printf(s->conn, "%s\r\n", r->reply);
    }
}

static void lmtpd_cmd_rcpt(struct lmtpd_session *s, const struct lmtp_cmd *cmd)
{
    struct lmtpd_rcpt *r;

    if (s->phase != PHASE_MAIL) {
        conn_puts(s->conn, "503 5.5.1 Need MAIL before RCPT\r\n");
        return;
    }
    if (s->nrcpts >= LMTPD_MAX_RCPTS) {
        conn_puts(s->conn, "452 4.5.3 Too many recipients\r\n");
        return;
    }
    r = realloc(s->rcpts, (s->nrcpts + 1) * sizeof(*r));
    if (r == NULL) {
        conn_puts(s->conn, "452 4.3.0 Out of memory\r\n");
        return;
    }
    s->rcpts = r;
    r = &s->rcpts[s->nrcpts++];
    memset(r, 0, sizeof(*r));
    snprintf(r->addr, sizeof(r->addr), "%s", cmd->arg);
    s->pending_rcpt = r;
    s->phase = PHASE_BUSY;
    if (conn_submit(s->conn, lmtpd_rcpt_work, lmtpd_rcpt_done, s) < 0) {
        s->phase = PHASE_MAIL;
        s->pending_rcpt = NULL;
        s->nrcpts--;
        conn_puts(s->conn, "451 4.3.0 Cannot look up the recipient now\r\n");
    }
}

/* --- DATA --- */

/* Writes to the spool; the first failure is kept and reported after the final dot. */
static void lmtpd_spool_put(struct lmtpd_session *s, const void *buf, size_t len)
{
    if (s->spool_failed || s->too_big || len == 0)
        return;
    if (store_spool_write(s->spool, buf, len, &s->spool_err) != STORE_OK) {
        conn_warning(s->conn, "spool write failed: %s", s->spool_err.msg);
        s->spool_failed = true;
    }
}

static void lmtpd_cmd_data(struct lmtpd_session *s)
{
    char head[1024], date[64];
    struct tm tm;
    int n;

    if (s->phase != PHASE_MAIL) {
        conn_puts(s->conn, "503 5.5.1 Need MAIL and RCPT before DATA\r\n");
        return;
    }
    if (s->naccepted == 0) {
        conn_puts(s->conn, "554 5.5.1 No valid recipients\r\n");
        return;
    }
    if (store_spool_create(lmtpd_store_handle, &s->spool, &s->spool_err) != STORE_OK) {
        conn_warning(s->conn, "cannot spool a message: %s", s->spool_err.msg);
        conn_puts(s->conn, "452 4.3.1 Insufficient system storage\r\n");
        return;
    }
    s->received = time(NULL);
    /* RFC 5321 4.4: the delivering server records the envelope sender and a trace line */
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", localtime_r(&s->received, &tm));
    n = snprintf(head, sizeof(head),
                 "Return-Path: <%s>\r\nReceived: from %s (%s)\r\n\tby %s (%s %s) with LMTP id "
                 "%s;\r\n\t%s\r\n",
                 s->from, s->helo, conn_client(s->conn), server_hostname(conn_server(s->conn)),
                 HALYARD_PRODUCT, HALYARD_VERSION, conn_log(s->conn)->session, date);
    lmtpd_spool_put(s, head, n > 0 && (size_t)n < sizeof(head) ? (size_t)n : 0);
    lmtp_data_init(&s->data);
    s->phase = PHASE_DATA;
    conn_puts(s->conn, "354 2.0.0 Start mail input; end with <CRLF>.<CRLF>\r\n");
}

/* On a pool thread: fsync the spool, then deliver to every recipient. */
static void lmtpd_deliver_work(void *arg)
{
    struct lmtpd_session *s = arg;
    struct store_error err;

    if (store_spool_finish(s->spool, s->received, 0, &err) != STORE_OK) {
        for (unsigned i = 0; i < s->nrcpts; i++) {
            snprintf(s->rcpts[i].reply, sizeof(s->rcpts[i].reply),
                     err.code == STORE_ENOSPC ? "452 4.3.1 <%s> insufficient system storage"
                                              : "451 4.3.0 <%s> local error in delivery",
                     s->rcpts[i].addr);
            snprintf(s->rcpts[i].detail, sizeof(s->rcpts[i].detail), "%s", err.msg);
        }
        return;
    }
    lmtpd_deliver(lmtpd_store_handle, s->spool, s->rcpts, s->nrcpts);
    for (unsigned i = 0; i < s->nrcpts; i++)
        if (s->rcpts[i].accepted && s->rcpts[i].fold_due)
            store_fold_later(lmtpd_store_handle, s->rcpts[i].user);
}

static void lmtpd_deliver_done(void *arg)
{
    struct lmtpd_session *s = arg;

    /* RFC 2033 4.2: one reply per accepted recipient, in RCPT order */
    for (unsigned i = 0; i < s->nrcpts; i++) {
        struct lmtpd_rcpt *r = &s->rcpts[i];
        if (!r->accepted)
            continue;
        conn_printf(s->conn, "%s\r\n", r->reply);
        if (r->detail[0] != '\0')
            conn_warning(s->conn, "delivery to <%s> failed: %s (%s)", r->addr, r->reply, r->detail);
        else
            conn_info(s->conn, "delivery to <%s>: %s", r->addr, r->reply);
    }
    lmtpd_reset(s);
    s->phase = PHASE_READY;
}

/* Replies to every accepted recipient with the same text (size limit, spool failure). */
static void lmtpd_reply_all(struct lmtpd_session *s, const char *reply)
{
    for (unsigned i = 0; i < s->nrcpts; i++)
        if (s->rcpts[i].accepted)
            conn_printf(s->conn, "%s <%s>\r\n", reply, s->rcpts[i].addr);
}

static void lmtpd_data_end(struct lmtpd_session *s)
{
    if (s->too_big) {
        conn_notice(s->conn, "message over service.lmtp.maxmessagesize refused");
        lmtpd_reply_all(s, "552 5.3.4 Message too big for");
    } else if (s->spool_failed) {
        lmtpd_reply_all(s, s->spool_err.code == STORE_ENOSPC
                               ? "452 4.3.1 Insufficient system storage for"
                               : "451 4.3.0 Local error in processing for");
    } else {
        s->phase = PHASE_BUSY;
        if (conn_submit(s->conn, lmtpd_deliver_work, lmtpd_deliver_done, s) == 0)
            return;
        lmtpd_reply_all(s, "451 4.3.0 Cannot deliver now to");
    }
    lmtpd_reset(s);
    s->phase = PHASE_READY;
}

static ssize_t lmtpd_data_input(struct lmtpd_session *s, const char *data, size_t len)
{
    char out[8192];
    size_t take = len < sizeof(out) / 2 ? len : sizeof(out) / 2, olen;
    size_t used = lmtp_data_feed(&s->data, data, take, out, &olen);

    if (s->data.size > lmtpd_max_size(s->conn))
        s->too_big = true;
    lmtpd_spool_put(s, out, olen);
    if (s->data.done)
        lmtpd_data_end(s);
    return (ssize_t)used;
}

/* --- commands --- */

static void lmtpd_cmd_lhlo(struct lmtpd_session *s, const struct lmtp_cmd *cmd)
{
    lmtpd_reset(s);
    snprintf(s->helo, sizeof(s->helo), "%s", cmd->arg);
    s->phase = PHASE_READY;
    conn_printf(s->conn,
                "250-%s\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n"
                "250 SIZE %llu\r\n",
                server_hostname(conn_server(s->conn)), (unsigned long long)lmtpd_max_size(s->conn));
}

static void lmtpd_cmd_mail(struct lmtpd_session *s, const struct lmtp_cmd *cmd)
{
    if (s->phase == PHASE_GREETED) {
        conn_puts(s->conn, "503 5.5.1 Send LHLO first\r\n");
        return;
    }
    if (s->phase != PHASE_READY) {
        conn_puts(s->conn, "503 5.5.1 Nested MAIL command\r\n");
        return;
    }
    if (cmd->has_size && cmd->size > lmtpd_max_size(s->conn)) {
        conn_puts(s->conn, "552 5.3.4 Message size exceeds the fixed maximum\r\n");
        return;
    }
    snprintf(s->from, sizeof(s->from), "%s", cmd->arg);
    s->phase = PHASE_MAIL;
    conn_puts(s->conn, "250 2.1.0 Sender ok\r\n");
}

static void lmtpd_dispatch(struct lmtpd_session *s, const struct lmtp_cmd *cmd)
{
    switch (cmd->verb) {
    case LMTP_LHLO:
        lmtpd_cmd_lhlo(s, cmd);
        break;
    case LMTP_MAIL:
        lmtpd_cmd_mail(s, cmd);
        break;
    case LMTP_RCPT:
        lmtpd_cmd_rcpt(s, cmd);
        break;
    case LMTP_DATA:
        lmtpd_cmd_data(s);
        break;
    case LMTP_RSET:
        lmtpd_reset(s);
        if (s->phase != PHASE_GREETED)
            s->phase = PHASE_READY;
        conn_puts(s->conn, "250 2.0.0 Reset\r\n");
        break;
    case LMTP_NOOP:
        conn_puts(s->conn, "250 2.0.0 OK\r\n");
        break;
    case LMTP_VRFY:
        conn_puts(s->conn, "252 2.5.2 Cannot VRFY; send the message\r\n");
        break;
    case LMTP_HELO:
        conn_puts(s->conn, "500 5.5.1 This is LMTP: use LHLO\r\n");
        break;
    case LMTP_QUIT:
        conn_puts(s->conn, "221 2.0.0 Bye\r\n");
        conn_close(s->conn);
        break;
    }
}

/* The reply once an over-long line has been skipped to its end. */
static const char lmtpd_too_long[] = "500 5.5.2 Line too long\r\n";

static ssize_t lmtpd_on_input(struct conn *c, const char *data, size_t len)
{
    struct lmtpd_session *s = conn_data(c);
    struct lmtp_cmd cmd;
    const char *reply;
    size_t used;

    if (s->phase == PHASE_DATA)
        return lmtpd_data_input(s, data, len);
    if (s->phase == PHASE_BUSY)
        return 0;
    if (s->discarding)
        return conn_discard_line(s->conn, data, len, &s->discarding, lmtpd_too_long);
    switch (lmtp_parse_line(data, len, &cmd, &used, &reply)) {
    case LMTP_PARSE_NEED_MORE:
        return 0;
    case LMTP_PARSE_TOO_LONG:
        conn_notice(c, "command line over %d octets", LMTP_LINE_MAX);
        s->discarding = true;
        return conn_discard_line(s->conn, data, len, &s->discarding, lmtpd_too_long);
    case LMTP_PARSE_ERROR:
        conn_printf(c, "%s\r\n", reply);
        return (ssize_t)used;
    case LMTP_PARSE_OK:
        break;
    }
    lmtpd_dispatch(s, &cmd);
    return (ssize_t)used;
}

static void lmtpd_on_close(struct conn *c)
{
    struct lmtpd_session *s = conn_data(c);

    if (s == NULL)
        return;
    if (s->phase == PHASE_DATA)
        conn_notice(c, "client went away during DATA: nothing delivered");
    lmtpd_reset(s);
    free(s);
    conn_set_data(c, NULL);
}

static void lmtpd_on_refuse(struct conn *c)
{
    conn_puts(c, "421 4.3.2 Too many connections; try again later\r\n");
}

static void lmtpd_on_idle(struct conn *c)
{
    conn_puts(c, "421 4.4.2 Idle for too long; closing\r\n");
}

static void lmtpd_on_shutdown(struct conn *c)
{
    conn_puts(c, "421 4.3.2 Service shutting down\r\n");
}

/* Opens the store at start; a reload re-applies its REFRESHABLE parameters. */
static int lmtpd_on_config(struct server *srv, bool reload)
{
    struct store_error err;
    bool moved;

    if (store_conf_refresh(&lmtpd_store_handle, server_conf(srv), &moved, &err) != STORE_OK) {
        log_err("cannot open the store: %s", err.msg);
        return -1;
    }
    if (moved)
        log_warning("store.partition.primary.path changed: restart lmtpd to use it");
    notify_configure(lmtpd_store_handle, server_conf(srv), "lmtpd");
    store_set_fold_error(lmtpd_store_handle, log_warning_line);
    return 0;
}

static const struct proto lmtpd_proto = {
    .service = "lmtp",
    .banner_tag = "LMTP",
    .fd_plain = "lmtp",
    .on_open = lmtpd_on_open,
    .on_input = lmtpd_on_input,
    .on_close = lmtpd_on_close,
    .on_refuse = lmtpd_on_refuse,
    .on_idle = lmtpd_on_idle,
    .on_shutdown = lmtpd_on_shutdown,
    .on_config = lmtpd_on_config,
};

int main(int argc, char **argv)
{
    int rc = server_main(&lmtpd_proto, argc, argv);

    store_close(&lmtpd_store_handle);
    return rc;
}
