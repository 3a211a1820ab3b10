/* popd: the POP3 server (RFC 1939, 2449, 2595, 5034) on the shared daemon skeleton. This file
 * connects the skeleton's callbacks to the session and dispatches commands by state. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"
#include "popd.h"
#include "store-conf.h"

static struct store *popd_store_handle;

struct store *popd_store(void)
{
    return popd_store_handle;
}

static int popd_on_open(struct conn *c)
{
    struct pop_session *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return -1;
    s->conn = c;
    s->lock_fd = -1;
    s->body_fd = -1;
    conn_set_data(c, s);
    conn_info(c, "connected%s", conn_on_tls_port(c) ? " (TLS)" : "");
    /* no APOP timestamp: passwords are stored hashed (RFC 1939 section 7) */
    conn_printf(c, "+OK %s\r\n", server_banner(conn_server(c)));
    return 0;
}

static void popd_dispatch(struct pop_session *s, const struct pop_cmd *cmd)
{
    const struct conf *conf = server_conf(conn_server(s->conn));
    const char *k = cmd->keyword;

    if (strcmp(k, "CAPA") == 0) {
        popd_write_capa(s);
        return;
    }
    if (strcmp(k, "QUIT") == 0) {
        if (s->state == POP_TRANSACTION) {
            popd_update(s);
            return;
        }
        conn_puts(s->conn, "+OK Bye\r\n");
        conn_close(s->conn);
        return;
    }
    if (s->state == POP_AUTHORIZATION) {
        if ((long)++s->commands > conf_int(conf, "service.prelogincommands")) {
            conn_notice(s->conn, "too many commands before login: disconnecting");
            conn_puts(s->conn, "-ERR Too many commands before login\r\n");
            conn_close(s->conn);
            return;
        }
        if (!popd_auth_command(s, cmd))
            conn_puts(s->conn, "-ERR Unknown command or not valid before login\r\n");
        return;
    }
    if (!popd_mail_command(s, cmd))
        conn_puts(s->conn, "-ERR Unknown command or not valid after login\r\n");
}

/* The reply once an over-long line has been skipped to its end. */
static const char popd_too_long[] = "-ERR Line too long\r\n";

static ssize_t popd_on_input(struct conn *c, const char *data, size_t len)
{
    struct pop_session *s = conn_data(c);
    struct pop_cmd cmd;
    size_t used;

    if (s->state == POP_UPDATE)
        return (ssize_t)len;
    if (s->discarding)
        return conn_discard_line(s->conn, data, len, &s->discarding, popd_too_long);
    switch (pop_parse_line(data, len, &cmd, &used)) {
    case POP_PARSE_NEED_MORE:
        return 0;
    case POP_PARSE_TOO_LONG:
        conn_notice(c, "command line over %d octets", POP_LINE_MAX);
        s->discarding = true;
        return conn_discard_line(s->conn, data, len, &s->discarding, popd_too_long);
    case POP_PARSE_ERROR:
        if (s->sasl_pending) { /* a continuation line is base64, not a command */
            const char *end = memchr(data, '\n', used);
            size_t n = (size_t)(end - data);
            popd_sasl_input(s, data, n > 0 && data[n - 1] == '\r' ? n - 1 : n);
            return (ssize_t)used;
        }
        conn_puts(c, "-ERR Malformed command\r\n");
        return (ssize_t)used;
    case POP_PARSE_OK:
        break;
    }
    if (s->sasl_pending) {
        /* the line parsed as a command but is the SASL response (base64 can look like one) */
        const char *end = memchr(data, '\n', used);
        size_t n = (size_t)(end - data);
        popd_sasl_input(s, data, n > 0 && data[n - 1] == '\r' ? n - 1 : n);
        return (ssize_t)used;
    }
    popd_dispatch(s, &cmd);
    return (ssize_t)used;
}

static void popd_on_drain(struct conn *c)
{
    struct pop_session *s = conn_data(c);

    if (s != NULL)
        popd_stream_more(s);
}

static void popd_on_close(struct conn *c)
{
    struct pop_session *s = conn_data(c);

    if (s == NULL)
        return;
    if (s->state == POP_TRANSACTION)
        conn_info(c, "disconnected without QUIT: nothing deleted");
    else
        conn_info(c, "disconnected");
    if (s->user[0] != '\0')
        notify_session(s->user, "pop", conn_client(c), false);
    popd_sasl_close(s);
    popd_maildrop_release(s);
    free(s);
    conn_set_data(c, NULL);
}

static void popd_on_refuse(struct conn *c)
{
    conn_puts(c, "-ERR [SYS/TEMP] Too many connections; try again later\r\n");
}

static void popd_on_denied(struct conn *c)
{
    conn_puts(c, "-ERR [SYS/PERM] Connections from your address are not accepted by this POP "
                 "service\r\n");
}

static void popd_on_idle(struct conn *c)
{
    conn_puts(c, "-ERR Autologout; idle for too long\r\n");
}

static void popd_on_shutdown(struct conn *c)
{
    conn_puts(c, "-ERR [SYS/TEMP] Server shutting down\r\n");
}

static int popd_on_config(struct server *srv, bool reload)
{
    struct store_error err;
    bool moved;

    if (store_conf_refresh(&popd_store_handle, server_conf(srv), &moved, &err) != STORE_OK) {
        log_err("cannot open the store: %s", err.msg);
        return -1;
    }
    if (moved)
        log_warning("store.partition.primary.path changed: restart popd to use it");
    notify_configure(popd_store_handle, server_conf(srv), "popd");
    store_set_fold_error(popd_store_handle, log_warning_line);
    return 0;
}

static const struct proto popd_proto = {
    .service = "pop",
    .banner_tag = "POP3",
    .fd_plain = "pop",
    .fd_tls = "pops",
    .has_login_timeout = true,
    .on_open = popd_on_open,
    .on_input = popd_on_input,
    .on_drain = popd_on_drain,
    .on_close = popd_on_close,
    .on_refuse = popd_on_refuse,
    .on_denied = popd_on_denied,
    .on_idle = popd_on_idle,
    .on_shutdown = popd_on_shutdown,
    .on_config = popd_on_config,
};

int main(int argc, char **argv)
{
    int rc = server_main(&popd_proto, argc, argv);

    store_close(&popd_store_handle);
    return rc;
}
