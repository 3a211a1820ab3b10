/* IMAP login: LOGIN and AUTHENTICATE PLAIN with SASL-IR (RFC 3501 6.2, RFC 4959), under the
 * seed's plaintextmincipher rule, with a delay and a limit for failures. The password check
 * and the first touch of the store run on the pool. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "imapd-args.h"
#include "imapd.h"

bool imap_password_allowed(struct imap_session *s)
{
    long min = conf_int(server_conf(conn_server(s->conn)), "service.imap.plaintextmincipher");

    if (min < 0)
        return false;
    return min == 0 || conn_tls_bits(s->conn) >= (unsigned)min;
}

struct imap_login {
    struct imap_session *s;
    struct imap_cmd *cmd;
    char *id, *password;
    char *authz; /* SASL PLAIN's authorisation identity when it names another user */
    bool has_peer;
    struct auth_peer peer;
    struct auth_reply auth;
    struct store_error err;
    enum store_err rc;
};

static void imap_login_work(void *arg)
{
    struct imap_login *l = arg;

    if (l->authz != NULL)
        auth_proxy(imapd_store(), server_conf(conn_server(l->s->conn)), l->authz, l->id,
                   l->password, l->has_peer ? &l->peer : NULL, &l->auth);
    else
        auth_password(imapd_store(), server_conf(conn_server(l->s->conn)), l->id, l->password,
                      l->has_peer ? &l->peer : NULL, &l->auth);
    explicit_bzero(l->password, strlen(l->password));
    if (l->auth.result == AUTH_OK)
        l->rc = store_home_ensure(imapd_store(), l->auth.user, &l->err);
}

static void imap_referral(char *out, size_t size, const char *user, const char *host)
{
    size_t o = (size_t)snprintf(out, size, "[REFERRAL imap://");

    for (const char *p = user; *p != '\0' && o + 4 < size; p++)
        o += (size_t)(*p == '@' ? snprintf(out + o, size - o, "%%40")
                                : snprintf(out + o, size - o, "%c", *p));
    snprintf(out + o, size - o, "@%s/] This account is served by another mail host", host);
}

static void imap_login_free(struct imap_login *l)
{
    imap_cmd_free(&l->cmd);
    free(l->id);
    free(l->password);
    free(l->authz);
    free(l);
}

static void imap_login_fail_reply(void *arg)
{
    struct imap_login *l = arg;
    struct imap_session *s = l->s;
    long max = conf_int(server_conf(conn_server(s->conn)), "service.authfailuremax");

    imap_reply_tagged(s, l->cmd, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
    if ((long)s->failures >= max) {
        conn_notice(s->conn, "%u failed logins: disconnecting", s->failures);
        conn_puts(s->conn, "* BYE Too many failed logins\r\n");
        s->state = IMAP_STATE_LOGOUT;
        conn_close(s->conn);
    }
    imap_login_free(l);
}

static void imap_login_done(void *arg)
{
    struct imap_login *l = arg;
    struct imap_session *s = l->s;
    const struct conf *conf = server_conf(conn_server(s->conn));
    const char *no = NULL;
    char referral[STORE_USER_MAX * 3 + sizeof(l->auth.mailhost) + 96];

    switch (l->auth.result) {
    case AUTH_OK:
        break;
    case AUTH_FAILED:
        s->failures++;
        conn_notice(s->conn, "login as \"%s\" failed: %s", l->id, l->auth.detail);
        if (conn_defer(s->conn, (uint64_t)conf_int(conf, "service.authfailuredelay") * 1000000,
                       imap_login_fail_reply, l) < 0)
            imap_login_fail_reply(l);
        return;
    case AUTH_TEMPFAIL:
        no = "[UNAVAILABLE] Authentication is unavailable; try again later";
        break;
    case AUTH_DENIED:
        no = "[CONTACTADMIN] Access denied: this account may not use IMAP from your address";
        break;
    case AUTH_BADRULES:
        no = "[CONTACTADMIN] The access rules of this account are broken; ask your "
             "administrator";
        break;
    case AUTH_INACTIVE:
        no = "[UNAVAILABLE] Account temporarily inactive; try again later";
        break;
    case AUTH_DISABLED:
        no = "[CONTACTADMIN] Account disabled";
        break;
    case AUTH_DELETED:
        no = "[CONTACTADMIN] Account deleted";
        break;
    case AUTH_REMOVED:
        no = "[CONTACTADMIN] Account removed";
        break;
    case AUTH_HOLD:
        no = "[CONTACTADMIN] Account on hold: its mail is kept but login is not possible";
        break;
    case AUTH_NOAUTHZ:
        no = "[AUTHORIZATIONFAILED] Not allowed to act as that user";
        break;
    case AUTH_ELSEWHERE:
        /* RFC 2221 login referral to the account's mailHost (RFC 5092 URL, '@' escaped) */
        imap_referral(referral, sizeof(referral), l->auth.user, l->auth.mailhost);
        no = referral;
        break;
    }
    if (no == NULL && l->rc != STORE_OK) {
        conn_warning(s->conn, "%s: cannot open the mail folder: %s", l->auth.user, l->err.msg);
        no = "[UNAVAILABLE] Mail store unavailable; try again later";
    }
    if (no != NULL) {
        conn_notice(s->conn, "login as \"%s\" refused: %s", l->id, l->auth.detail);
        imap_reply_tagged(s, l->cmd, "NO", no);
        imap_login_free(l);
        return;
    }
    s->user = strdup(l->auth.user);
    s->limits = l->auth.limits;
    s->state = IMAP_STATE_AUTH;
    conn_set_user(s->conn, l->auth.user);
    conn_set_idle_timeout(s->conn, (uint64_t)conf_int(conf, "service.imap.idletimeout") * 60);
    if (l->authz != NULL)
        conn_info(s->conn, "logged in (%s)", l->auth.detail);
    else
        conn_info(s->conn,
                  l->auth.cached ? "logged in (password from the login cache)" : "logged in");
    conn_printf(s->conn, "%.*s OK [CAPABILITY ", (int)l->cmd->tag_len, l->cmd->tag);
    imap_capability_write(s);
    conn_puts(s->conn, "] Logged in\r\n");
    imap_login_free(l);
}

static void imap_login_start(struct imap_session *s, struct imap_cmd **cmd, const char *id,
                             size_t id_len, const char *pw, size_t pw_len, const char *authz)
{
    struct imap_login *l = calloc(1, sizeof(*l));

    if (l == NULL || (l->id = strndup(id, id_len)) == NULL ||
        (l->password = strndup(pw, pw_len)) == NULL ||
        (authz != NULL && (l->authz = strdup(authz)) == NULL)) {
        if (l != NULL) {
            free(l->id);
            free(l->password);
        }
        free(l);
        imap_reply_tagged(s, *cmd, "NO", "[UNAVAILABLE] Out of memory");
        return;
    }
    l->s = s;
    l->cmd = *cmd;
    l->peer.service = conn_service(s->conn);
    l->has_peer = conn_peer(s->conn, &l->peer.client) == 0;
    if (conn_submit(s->conn, imap_login_work, imap_login_done, l) < 0) {
        l->cmd = NULL;
        imap_login_free(l);
        imap_reply_tagged(s, *cmd, "NO", "[UNAVAILABLE] Server busy; try again later");
        return;
    }
    *cmd = NULL;
}

/* The refusal for a password login this connection may not make, or NULL. */
static const char *imap_password_refusal(struct imap_session *s)
{
    if (imap_password_allowed(s))
        return NULL;
    if (conf_int(server_conf(conn_server(s->conn)), "service.imap.plaintextmincipher") < 0)
        return "[CANNOT] Password login is disabled on this server";
    return "[PRIVACYREQUIRED] Password login needs TLS here: use STARTTLS or the IMAPS port";
}

void imap_cmd_login(struct imap_session *s, struct imap_cmd **cmd)
{
    const char *id, *pw, *why = imap_password_refusal(s);
    size_t id_len, pw_len;

    if ((*cmd)->nargs != 2 || !imap_arg_get_astring((*cmd)->args, &id, &id_len) ||
        !imap_arg_get_astring((*cmd)->args->next, &pw, &pw_len)) {
        imap_reply_tagged(s, *cmd, "BAD", "Usage: LOGIN user password");
        return;
    }
    if (why != NULL) {
        imap_reply_tagged(s, *cmd, "NO", why);
        return;
    }
    imap_login_start(s, cmd, id, id_len, pw, pw_len, NULL);
}

/* SASL PLAIN's response (base64). */
static void imap_sasl_plain(struct imap_session *s, struct imap_cmd **cmd, const char *b64,
                            size_t len)
{
    unsigned char buf[1024];
    const char *authz, *authc, *pw;
    long n;

    if (len == 1 && b64[0] == '*') {
        imap_reply_tagged(s, *cmd, "BAD", "Authentication cancelled");
        return;
    }
    n = auth_base64_decode(b64, len, buf, sizeof(buf) - 1);
    if (n < 0 || auth_plain_split((char *)buf, (size_t)n, &authz, &authc, &pw) < 0) {
        imap_reply_tagged(s, *cmd, "BAD", "Malformed SASL PLAIN response");
        return;
    }
    /* acting as another user: the webmail front end's proxy authorisation (auth_proxy) */
    imap_login_start(s, cmd, authc, strlen(authc), pw, strlen(pw),
                     authz[0] != '\0' && strcmp(authz, authc) != 0 ? authz : NULL);
    explicit_bzero(buf, sizeof(buf));
}

void imap_cmd_authenticate(struct imap_session *s, struct imap_cmd **cmd)
{
    const char *mech, *ir = NULL, *why = imap_password_refusal(s);
    size_t ir_len = 0;

    if ((*cmd)->nargs < 1 || (*cmd)->nargs > 2 || !imap_arg_get_atom((*cmd)->args, &mech) ||
        ((*cmd)->nargs == 2 && !imap_arg_get_atom((*cmd)->args->next, &ir))) {
        imap_reply_tagged(s, *cmd, "BAD", "Usage: AUTHENTICATE mechanism [initial-response]");
        return;
    }
    if (strcasecmp(mech, "PLAIN") != 0) {
        imap_reply_tagged(s, *cmd, "NO", "[CANNOT] Unsupported authentication mechanism");
        return;
    }
    if (why != NULL) {
        imap_reply_tagged(s, *cmd, "NO", why);
        return;
    }
    if (ir != NULL) { /* RFC 4959: "=" is an empty initial response */
        ir_len = strcmp(ir, "=") == 0 ? 0 : strlen(ir);
        imap_sasl_plain(s, cmd, ir, ir_len);
        return;
    }
    conn_puts(s->conn, "+ \r\n");
    s->sasl_cmd = *cmd; /* the next line is the response, not a command */
    *cmd = NULL;
}

ssize_t imap_sasl_input(struct imap_session *s, const char *data, size_t len)
{
    const char *nl = memchr(data, '\n', len);
    struct imap_cmd *cmd = s->sasl_cmd;

    if (nl == NULL)
        return len > 8192 ? -1 : 0;
    size_t n = (size_t)(nl - data);
    if (n > 0 && data[n - 1] == '\r')
        n--;
    s->sasl_cmd = NULL;
    imap_sasl_plain(s, &cmd, data, n);
    imap_cmd_free(&cmd);
    return nl - data + 1;
}
