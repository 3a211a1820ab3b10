/* imapd: the IMAP4rev1 server on the shared daemon skeleton. This file connects the
 * skeleton's callbacks to the session: greeting, command dispatch, goodbyes. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "imapd-parse.h"
#include "imapd.h"

/* RFC 3501 section 7.5: the command continuation request for a synchronising literal. */
static const char imapd_continuation[] = "+ Ready for literal data\r\n";

static int imapd_on_open(struct conn *c)
{
    struct imap_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -1;
    s->parser = imap_parser_new(&imap_parser_limits_default, NULL);
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

static void imapd_dispatch(struct imap_session *s, const struct imap_cmd *cmd)
{
    const struct imap_command *command = imap_command_find(cmd->name, cmd->name_len);

    if (command == NULL) {
        imap_reply_tagged(s, cmd, "BAD", "Unknown command");
        return;
    }
    if ((command->states & s->state) == 0) {
        imap_reply_tagged(s, cmd, "BAD", "Command not valid in this state");
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
    switch (imap_parser_feed(s->parser, data, len, &used, &out)) {
    case IMAP_PARSE_NEED_MORE:
        break;
    case IMAP_PARSE_CONTINUE:
        conn_puts(c, imapd_continuation);
        break;
    case IMAP_PARSE_STREAM_BEGIN:
    case IMAP_PARSE_STREAM_DATA:
        /* no command is given a stream rule yet, so the parser never streams */
        assert(false);
        return -1;
    case IMAP_PARSE_DONE:
        imapd_dispatch(s, out.cmd);
        imap_cmd_free(&out.cmd);
        break;
    case IMAP_PARSE_ERROR:
        imapd_parse_failed(s, &out.error);
        break;
    }
    return (ssize_t)used;
}

static void imapd_on_close(struct conn *c)
{
    struct imap_session *s = conn_data(c);

    conn_info(c, "disconnected");
    if (s != NULL)
        imap_parser_free(&s->parser);
    free(s);
    conn_set_data(c, NULL);
}

static void imapd_on_refuse(struct conn *c)
{
    conn_puts(c, "* BYE [UNAVAILABLE] Too many connections; try again later\r\n");
}

static void imapd_on_idle(struct conn *c)
{
    conn_puts(c, "* BYE Autologout; idle for too long\r\n");
}

static void imapd_on_shutdown(struct conn *c)
{
    conn_puts(c, "* BYE [UNAVAILABLE] Server shutting down\r\n");
}

static const struct proto imapd_proto = {
    .service = "imap",
    .banner_tag = "IMAP4",
    .fd_plain = "imap",
    .fd_tls = "imaps",
    .has_login_timeout = true,
    .on_open = imapd_on_open,
    .on_input = imapd_on_input,
    .on_close = imapd_on_close,
    .on_refuse = imapd_on_refuse,
    .on_idle = imapd_on_idle,
    .on_shutdown = imapd_on_shutdown,
};

int main(int argc, char **argv)
{
    return server_main(&imapd_proto, argc, argv);
}
