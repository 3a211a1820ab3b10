/* imapd: the IMAP4rev1 server on the shared daemon skeleton. This file connects the
 * skeleton's callbacks to the session: greeting, command dispatch, goodbyes. */
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "imapd-parse.h"
#include "imapd-sort.h"
#include "imapd-fetch.h"
#include "imapd.h"
#include "store-conf.h"

static struct store *imapd_store_handle;
/* The parser's bounds from service.imap.max*: read at start and on every reload, seen by every
 * session from its next check on. */
static struct imap_parser_limits imapd_limits;

struct store *imapd_store(void)
{
    return imapd_store_handle;
}

/* RFC 3501 section 7.5: the command continuation request for a synchronising literal. */
static const char imapd_continuation[] = "+ Ready for literal data\r\n";

static int imapd_on_open(struct conn *c)
{
    struct imap_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -1;
    s->parser = imap_parser_new(&imapd_limits, imap_stream_rules);
    if (s->parser == NULL) {
        free(s);
        return -1;
    }
    s->conn = c;
    s->state = IMAP_STATE_NOT_AUTH;
    conn_set_data(c, s);
    conn_info(c, "connected%s", conn_on_tls_port(c) ? " (TLS)" : "");
    conn_puts(c, "* OK [CAPABILITY ");
    imap_capability_write(s);
    conn_printf(c, "] %s\r\n", server_banner(conn_server(c)));
    return 0;
}

static void imapd_dispatch(struct imap_session *s, struct imap_cmd **cmd)
{
    const struct imap_command *command = imap_command_find((*cmd)->name, (*cmd)->name_len);
    const struct conf *conf = server_conf(conn_server(s->conn));

    if (s->state == IMAP_STATE_NOT_AUTH &&
        (long)++s->commands > conf_int(conf, "service.prelogincommands")) {
        conn_notice(s->conn, "too many commands before login: disconnecting");
        conn_puts(s->conn, "* BYE Too many commands before login\r\n");
        s->state = IMAP_STATE_LOGOUT;
        conn_close(s->conn);
        return;
    }
    if (command == NULL) {
        imap_reply_tagged(s, *cmd, "BAD", "Unknown command");
        return;
    }
    if ((command->states & s->state) == 0) {
        imap_reply_tagged(s, *cmd, "BAD", "Command not valid in this state");
        return;
    }
    command->handler(s, cmd);
}

/* One reply for a command the parser refused, a journal line when it hit a limit. */
static void imapd_parse_failed(struct imap_session *s, const struct imap_parse_error *e)
{
    char line[256];
    size_t n = imap_parse_error_reply(e, line, sizeof(line));

    conn_write(s->conn, line, n);
    if (imap_parse_error_journal(e, line, sizeof(line)))
        conn_notice(s->conn, "%s", line);
    if (e->close) {
        s->state = IMAP_STATE_LOGOUT;
        conn_close(s->conn);
    }
}

/* Feeds the parser; handles at most one result per call, so nothing after STARTTLS or LOGOUT
 * is read by this code (the skeleton calls again while input is consumed). */
static ssize_t imapd_on_input(struct conn *c, const char *data, size_t len)
{
    struct imap_session *s = conn_data(c);
    struct imap_parse_out out;
    size_t used;

    if (s->state == IMAP_STATE_LOGOUT)
        return (ssize_t)len;
    if (s->sasl != NULL) /* AUTHENTICATE's continuation line is not a command */
        return imap_sasl_input(s, data, len);
    if (s->idle_cmd != NULL) { /* only DONE ends IDLE */
        ssize_t n = imap_idle_input(s, data, len);
        if (n != 0 || s->idle_cmd != NULL)
            return n;
        /* IDLE ended on an unfinished long line: the parser takes it from here */
    }
    switch (imap_parser_feed(s->parser, data, len, &used, &out)) {
    case IMAP_PARSE_NEED_MORE:
        break;
    case IMAP_PARSE_CONTINUE:
        conn_puts(c, imapd_continuation);
        break;
    case IMAP_PARSE_STREAM_BEGIN: /* APPEND's message (imap_stream_rules) */
        if (!imap_append_begin(s, &out))
            imap_parser_stream_refuse(s->parser);
        else if (out.stream.sync)
            conn_puts(c, imapd_continuation);
        break;
    case IMAP_PARSE_STREAM_DATA:
        imap_append_data(s, out.data, out.data_len);
        break;
    case IMAP_PARSE_DONE:
        imapd_dispatch(s, &out.cmd);
        imap_cmd_free(&out.cmd); /* unless the handler took it */
        break;
    case IMAP_PARSE_ERROR:
        imap_append_drop(s); /* a message begun in this command is not filed */
        imapd_parse_failed(s, &out.error);
        break;
    }
    return (ssize_t)used;
}

static void imapd_on_close(struct conn *c)
{
    struct imap_session *s = conn_data(c);

    conn_info(c, "disconnected");
    if (s != NULL) {
        imap_parser_free(&s->parser);
        imap_sasl_close(s);
        imap_idle_close(s);
        imap_append_drop(s);
        imap_fetch_abort(s);
        imap_selected_clear(&s->sel);
        if (s->user != NULL)
            notify_session(s->user, "imap", conn_client(c), false);
        free(s->user);
    }
    free(s);
    conn_set_data(c, NULL);
}

static void imapd_on_refuse(struct conn *c)
{
    conn_puts(c, "* BYE [UNAVAILABLE] Too many connections; try again later\r\n");
}

static void imapd_on_denied(struct conn *c)
{
    conn_puts(c, "* BYE Connections from your address are not accepted by this IMAP service\r\n");
}

static void imapd_on_idle(struct conn *c)
{
    struct imap_session *s = conn_data(c);

    if (s == NULL || s->fetch == NULL) /* not into a FETCH literal (see imapd_on_shutdown) */
        conn_puts(c, "* BYE Autologout; idle for too long\r\n");
}

static void imapd_on_shutdown(struct conn *c)
{
    struct imap_session *s = conn_data(c);

    /* in the middle of a FETCH literal a BYE would become part of the message: just close */
    if (s == NULL || s->fetch == NULL)
        conn_puts(c, "* BYE [UNAVAILABLE] Server shutting down\r\n");
}

/* Output has drained: a streamed FETCH sends its next piece. */
static void imapd_on_drain(struct conn *c)
{
    struct imap_session *s = conn_data(c);

    if (s != NULL)
        imap_fetch_drain(s);
}

static int imapd_on_config(struct server *srv, bool reload)
{
    struct store_error err;
    bool moved;

    if (store_conf_refresh(&imapd_store_handle, server_conf(srv), &moved, &err) != STORE_OK) {
        log_err("cannot open the store: %s", err.msg);
        return -1;
    }
    if (moved)
        log_warning("store.partition.primary.path changed: restart imapd to use it");
    imapd_limits = (struct imap_parser_limits){
        .line_max = (size_t)conf_int(server_conf(srv), "service.imap.maxlinelength"),
        .literal_max = (uint64_t)conf_int(server_conf(srv), "service.imap.maxliteral"),
        .stream_max = (uint64_t)conf_int(server_conf(srv), "service.imap.maxmessagesize"),
        .discard_max = (uint64_t)conf_int(server_conf(srv), "service.imap.maxdiscard"),
        .depth_max = (unsigned)conf_int(server_conf(srv), "service.imap.maxnesting"),
        .args_max = (unsigned)conf_int(server_conf(srv), "service.imap.maxarguments"),
    };
    notify_configure(imapd_store_handle, server_conf(srv), "imapd");
    store_set_fold_error(imapd_store_handle, log_warning_line);
    imap_idle_configure(srv, server_conf(srv));
    return 0;
}

static const struct proto imapd_proto = {
    .service = "imap",
    .banner_tag = "IMAP4",
    .fd_plain = "imap",
    .fd_tls = "imaps",
    .has_login_timeout = true,
    .on_open = imapd_on_open,
    .on_input = imapd_on_input,
    .on_drain = imapd_on_drain,
    .on_close = imapd_on_close,
    .on_refuse = imapd_on_refuse,
    .on_denied = imapd_on_denied,
    .on_idle = imapd_on_idle,
    .on_shutdown = imapd_on_shutdown,
    .on_config = imapd_on_config,
};

int main(int argc, char **argv)
{
    int rc;

    imap_sort_init(); /* before any thread: GMime's start-up is not thread-safe */
    rc = server_main(&imapd_proto, argc, argv);

    store_close(&imapd_store_handle);
    return rc;
}
