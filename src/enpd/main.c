/* enpd: the event notification daemon on the shared skeleton. A connection is checked against
 * ENS_ACCESS, greeted, and then subscribes and publishes; an event goes to every subscriber of
 * its key at once, and a subscriber that does not read its events is dropped, never waited
 * for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ens-access.h"
#include "enpd-parse.h"
#include "enpd.h"

static struct ens_access_rule enpd_rules[ENS_ACCESS_MAX];
static size_t enpd_nrules;
static size_t enpd_maxqueue, enpd_maxkeys;
static unsigned long long enpd_published, enpd_delivered, enpd_dropped;

static void enpd_drop(struct enp_session *s, const char *why)
{
    if (s->dropped)
        return;
    s->dropped = true;
    enpd_dropped++;
    conn_warning(s->conn, "dropping subscriber: %s", why);
    enp_unsubscribe_all(s);
    conn_close(s->conn);
}

static int enpd_on_open(struct conn *c)
{
    struct enp_session *s;
    unsigned char addr[16];
    int family;

    if (!conn_peer_addr(c, &family, addr) ||
        !ens_access_allows(enpd_rules, enpd_nrules, family, addr)) {
        conn_notice(c, "refused by ENS_ACCESS");
        conn_puts(c, "-ERR Access denied by ENS_ACCESS\r\n");
        conn_close(c);
        return 0;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -1;
    s->conn = c;
    conn_set_data(c, s);
    conn_info(c, "connected");
    conn_printf(c, "+OK %s\r\n", server_banner(conn_server(c)));
    return 0;
}

struct enpd_event {
    const char *line;
    size_t len;
};

static void enpd_send(struct enp_session *s, void *ctx)
{
    const struct enpd_event *ev = ctx;

    if (s->dropped)
        return;
    if (conn_pending_output(s->conn) + ev->len > enpd_maxqueue) {
        enpd_drop(s, "over service.enp.maxqueue bytes of events not read");
        return;
    }
    conn_write(s->conn, ev->line, ev->len);
    enpd_delivered++;
}

static void enpd_publish(const struct enp_cmd *cmd)
{
    char stack[2048], *line = stack;
    size_t len = 6 + cmd->key_len + 1 + cmd->body_len + 2;
    struct enpd_event ev;

    if (len > sizeof(stack) && (line = malloc(len)) == NULL)
        return;
    memcpy(line, "EVENT ", 6);
    memcpy(line + 6, cmd->key, cmd->key_len);
    line[6 + cmd->key_len] = ' ';
    memcpy(line + 7 + cmd->key_len, cmd->body, cmd->body_len);
    memcpy(line + len - 2, "\r\n", 2);
    ev.line = line;
    ev.len = len;
    enpd_published++;
    enp_each_subscriber(cmd->key, cmd->key_len, enpd_send, &ev);
    if (line != stack)
        free(line);
}

static void enpd_dispatch(struct enp_session *s, const struct enp_cmd *cmd)
{
    switch (cmd->verb) {
    case ENP_SUBSCRIBE:
        switch (enp_subscribe(s, cmd->key, cmd->key_len, enpd_maxkeys)) {
        case 0:
            conn_puts(s->conn, "+OK Subscribed\r\n");
            break;
        case 1:
            conn_puts(s->conn, "+OK Already subscribed\r\n");
            break;
        default:
            conn_notice(s->conn, "over service.enp.maxkeys subscriptions");
            conn_puts(s->conn, "-ERR Too many subscriptions on this connection\r\n");
            break;
        }
        return;
    case ENP_UNSUBSCRIBE:
        conn_puts(s->conn, enp_unsubscribe(s, cmd->key, cmd->key_len) == 0
                               ? "+OK Unsubscribed\r\n"
                               : "-ERR Not subscribed to that key\r\n");
        return;
    case ENP_PUBLISH:
        enpd_publish(cmd); /* no reply: publishers never wait for enpd */
        return;
    case ENP_PING:
        conn_puts(s->conn, "+OK Pong\r\n");
        return;
    case ENP_QUIT:
        conn_puts(s->conn, "+OK Bye\r\n");
        conn_close(s->conn);
        return;
    }
}

/* The reply once an over-long line has been skipped to its end. */
static const char enpd_too_long[] = "-ERR Line too long\r\n";

static ssize_t enpd_on_input(struct conn *c, const char *data, size_t len)
{
    struct enp_session *s = conn_data(c);
    struct enp_cmd cmd;
    const char *why;
    size_t used;

    if (s == NULL || s->dropped)
        return (ssize_t)len;
    if (s->discarding)
        return conn_discard_line(s->conn, data, len, &s->discarding, enpd_too_long);
    switch (enp_parse_line(data, len, &cmd, &used, &why)) {
    case ENP_PARSE_NEED_MORE:
        return 0;
    case ENP_PARSE_TOO_LONG:
        conn_notice(c, "line over %d octets", ENP_LINE_MAX);
        s->discarding = true;
        return conn_discard_line(s->conn, data, len, &s->discarding, enpd_too_long);
    case ENP_PARSE_ERROR:
        conn_printf(c, "-ERR %s\r\n", why);
        return (ssize_t)used;
    case ENP_PARSE_OK:
        break;
    }
    enpd_dispatch(s, &cmd);
    return (ssize_t)used;
}

static void enpd_on_close(struct conn *c)
{
    struct enp_session *s = conn_data(c);

    if (s == NULL)
        return;
    enp_unsubscribe_all(s);
    conn_info(c, "disconnected");
    free(s);
    conn_set_data(c, NULL);
}

static void enpd_on_refuse(struct conn *c)
{
    conn_puts(c, "-ERR Too many connections\r\n");
}

static void enpd_on_idle(struct conn *c)
{
    conn_puts(c, "-ERR Idle for too long\r\n");
}

static void enpd_on_shutdown(struct conn *c)
{
    conn_puts(c, "-ERR Server shutting down\r\n");
}

static int enpd_on_config(struct server *srv, bool reload)
{
    const struct conf *conf = server_conf(srv);
    const char *list = getenv("ENS_ACCESS"), *why;
    struct ens_access_rule rules[ENS_ACCESS_MAX];
    int n;

    /* Sun's enpd reads ENS_ACCESS from its environment (configutil puts
     * local.enpd.access there through the unit's drop-in); without it, the parameter. */
    if (list == NULL || *list == '\0')
        list = conf_str(conf, "local.enpd.access");
    n = ens_access_parse(list, rules, ENS_ACCESS_MAX, &why);
    if (n < 0) {
        log_err("ENS_ACCESS \"%s\" %s", list, why);
        return -1;
    }
    if (!reload) {
        memcpy(enpd_rules, rules, sizeof(rules));
        enpd_nrules = (size_t)n;
    }
    enpd_maxqueue = (size_t)conf_int(conf, "service.enp.maxqueue");
    enpd_maxkeys = (size_t)conf_int(conf, "service.enp.maxkeys");
    if (reload)
        log_info("%llu events published, %llu delivered, %llu subscribers dropped; %zu keys",
                 enpd_published, enpd_delivered, enpd_dropped, enp_key_count());
    return 0;
}

static const struct proto enpd_proto = {
    .service = "enp",
    .banner_tag = "ENP",
    .fd_plain = "ens",
    .fd_tls = NULL,
    .on_open = enpd_on_open,
    .on_input = enpd_on_input,
    .on_close = enpd_on_close,
    .on_refuse = enpd_on_refuse,
    .on_idle = enpd_on_idle,
    .on_shutdown = enpd_on_shutdown,
    .on_config = enpd_on_config,
};

int main(int argc, char **argv)
{
    return server_main(&enpd_proto, argc, argv);
}
