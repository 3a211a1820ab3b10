/* imapd: the IMAP4rev1 server on the shared daemon skeleton. This file connects the
 * skeleton's callbacks to the session: greeting, command dispatch, goodbyes. */
#include <stdlib.h>
#include <string.h>

#include "imapd-parse.h"
#include "imapd.h"

static int imapd_on_open(struct conn *c)
{
    struct imap_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -1;
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

/* Consumes an over-long line up to its end, then answers it once. */
static ssize_t imapd_discard(struct imap_session *s, const char *data, size_t len)
{
    const char *nl = memchr(data, '\n', len);

    if (nl == NULL)
        return (ssize_t)len;
    conn_printf(s->conn, "%s BAD Command line too long (limit %d octets)\r\n", s->tag,
                IMAP_LINE_MAX);
    s->discarding = false;
    return nl - data + 1;
}

static ssize_t imapd_on_input(struct conn *c, const char *data, size_t len)
{
    struct imap_session *s = conn_data(c);
    struct imap_cmd cmd;
    size_t used;

    if (s->state == IMAP_STATE_LOGOUT)
        return (ssize_t)len;
    if (s->discarding)
        return imapd_discard(s, data, len);
    switch (imap_parse_line(data, len, &cmd, &used)) {
    case IMAP_PARSE_NEED_MORE:
        return 0;
    case IMAP_PARSE_TOO_LONG: {
        size_t i = 0;
        while (i < IMAP_TAG_MAX && imap_is_tag_char((unsigned char)data[i]))
            i++;
        if (i == 0 || data[i] != ' ')
            strcpy(s->tag, "*");
        else
            memcpy(s->tag, data, i), s->tag[i] = '\0';
        conn_notice(c, "command line over %d octets", IMAP_LINE_MAX);
        s->discarding = true;
        return imapd_discard(s, data, len); /* the line's end may already be here */
    }
    case IMAP_PARSE_BAD_TAG:
        conn_puts(c, "* BAD Missing or invalid tag\r\n");
        return (ssize_t)used;
    case IMAP_PARSE_NO_COMMAND:
        conn_printf(c, "%.*s BAD Missing or invalid command name\r\n", (int)cmd.tag_len, cmd.tag);
        return (ssize_t)used;
    case IMAP_PARSE_OK:
        break;
    }
    imapd_dispatch(s, &cmd);
    return (ssize_t)used;
}

static void imapd_on_close(struct conn *c)
{
    conn_info(c, "disconnected");
    free(conn_data(c));
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
