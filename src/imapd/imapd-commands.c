/* The IMAP command table and the commands of the connection itself (RFC 3501 section 6.1):
 * CAPABILITY, NOOP, LOGOUT, STARTTLS. */
#include <strings.h>

#include "imapd.h"

static bool imap_no_args(struct imap_session *s, const struct imap_cmd *cmd)
{
    if (cmd->nargs == 0)
        return true;
    conn_printf(s->conn, "%.*s BAD %.*s takes no arguments\r\n", (int)cmd->tag_len, cmd->tag,
                (int)cmd->name_len, cmd->name);
    return false;
}

static void cmd_capability(struct imap_session *s, const struct imap_cmd *cmd)
{
    if (!imap_no_args(s, cmd))
        return;
    conn_puts(s->conn, "* CAPABILITY ");
    imap_capability_write(s);
    conn_puts(s->conn, "\r\n");
    imap_reply_tagged(s, cmd, "OK", "CAPABILITY completed");
}

static void cmd_noop(struct imap_session *s, const struct imap_cmd *cmd)
{
    if (imap_no_args(s, cmd))
        imap_reply_tagged(s, cmd, "OK", "NOOP completed");
}

static void cmd_logout(struct imap_session *s, const struct imap_cmd *cmd)
{
    if (!imap_no_args(s, cmd))
        return;
    conn_puts(s->conn, "* BYE Logging out\r\n");
    imap_reply_tagged(s, cmd, "OK", "LOGOUT completed");
    s->state = IMAP_STATE_LOGOUT;
    conn_close(s->conn);
}

static void cmd_starttls(struct imap_session *s, const struct imap_cmd *cmd)
{
    if (!imap_no_args(s, cmd))
        return;
    if (conn_tls_active(s->conn)) {
        imap_reply_tagged(s, cmd, "BAD", "TLS is already active");
        return;
    }
    if (!server_tls_configured(conn_server(s->conn))) {
        imap_reply_tagged(s, cmd, "BAD", "STARTTLS is not available: no certificate configured");
        return;
    }
    imap_reply_tagged(s, cmd, "OK", "Begin TLS negotiation now");
    conn_starttls(s->conn);
}

/* Sorted by name for the binary search. */
static const struct imap_command imap_commands[] = {
    {"CAPABILITY", cmd_capability, IMAP_STATE_ANY},
    {"LOGOUT", cmd_logout, IMAP_STATE_ANY},
    {"NOOP", cmd_noop, IMAP_STATE_ANY},
    {"STARTTLS", cmd_starttls, IMAP_STATE_NOT_AUTH},
};

const struct imap_command *imap_command_find(const char *name, size_t len)
{
    size_t lo = 0, hi = sizeof(imap_commands) / sizeof(imap_commands[0]);

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *cand = imap_commands[mid].name;
        int cmp = strncasecmp(name, cand, len);
        if (cmp == 0 && cand[len] != '\0')
            cmp = -1;
        if (cmp == 0)
            return &imap_commands[mid];
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

void imap_capability_write(struct imap_session *s)
{
    conn_puts(s->conn, "IMAP4 IMAP4rev1");
    if (server_tls_configured(conn_server(s->conn)) && !conn_tls_active(s->conn))
        conn_puts(s->conn, " STARTTLS");
    /* no password login exists yet in this build: say so rather than fail LOGIN later */
    conn_puts(s->conn, " LOGINDISABLED");
}

void imap_reply_tagged(struct imap_session *s, const struct imap_cmd *cmd, const char *status,
                       const char *text)
{
    conn_printf(s->conn, "%.*s %s %s\r\n", (int)cmd->tag_len, cmd->tag, status, text);
}
