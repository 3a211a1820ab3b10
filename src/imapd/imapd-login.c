/* IMAP login: LOGIN, and AUTHENTICATE (RFC 3501 6.2.2) with SASL-IR (RFC 4959) through GNU SASL
 * - PLAIN, LOGIN, SCRAM-SHA-256(-PLUS), EXTERNAL for a verified TLS client certificate - under
 * the seed's plaintextmincipher rule, with a delay and a limit for failures. Password checks,
 * SASL steps and the first touch of the store run on the pool. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth-conn.h"
#include "auth-sasl.h"
#include "auth.h"
#include "imapd-args.h"
#include "imapd.h"
#include "notify.h"
#include "tls.h"

bool imap_password_allowed(struct imap_session *s)
{
    long min = conf_int(server_conf(conn_server(s->conn)), "service.imap.plaintextmincipher");

    if (min < 0)
        return false;
    return min == 0 || conn_tls_bits(s->conn) >= (unsigned)min;
}

/* What this connection offers SASL (auth-conn.h), with IMAP's proxy authorisation. */
static void imap_sasl_conn_get(struct imap_session *s, struct auth_sasl_conn *c)
{
    /* proxy authorisation: the webmail front end acts for users */
    auth_sasl_conn_get(c, s->conn, imapd_store(), imap_password_allowed(s), true);
}

void imap_auth_capability_write(struct imap_session *s)
{
    struct auth_sasl_conn c;
    unsigned mechs;

    imap_sasl_conn_get(s, &c);
    mechs = auth_sasl_mechs(&c.setup);
    auth_sasl_conn_clear(&c);
    /* LOGINDISABLED is about the LOGIN command (RFC 3501 7.2.1); the password mechanisms go
     * with it, EXTERNAL does not */
    if (!imap_password_allowed(s))
        conn_puts(s->conn, " LOGINDISABLED");
    for (int m = 0; m < AUTH_MECH_COUNT; m++)
        if (mechs & 1u << m)
            conn_printf(s->conn, " AUTH=%s", auth_mech_name((enum auth_mech)m));
}

/* One login: LOGIN's id and password, or an AUTHENTICATE exchange across its round trips. */
struct imap_login {
    struct imap_session *s;
    struct imap_cmd *cmd;
    char *id, *password; /* LOGIN */
    struct auth_sasl *sasl;
    char *input; /* the response the next step takes (base64); NULL: none yet */
    size_t input_len;
    enum auth_sasl_rc step;
    char *challenge;    /* what the step wants sent */
    bool final_pending; /* SCRAM's server-final sent as a challenge: an empty response ends it */
    bool has_peer;
    struct auth_peer peer;
    struct auth_reply auth;
    struct store_error err;
    enum store_err rc;
};

static void imap_login_free(struct imap_login *l)
{
    imap_cmd_free(&l->cmd);
    free(l->id);
    if (l->password != NULL)
        explicit_bzero(l->password, strlen(l->password));
    free(l->password);
    auth_sasl_free(&l->sasl);
    if (l->input != NULL)
        explicit_bzero(l->input, l->input_len);
    free(l->input);
    free(l->challenge);
    free(l);
}

/* Who the journal says tried to log in. */
static const char *imap_login_id(const struct imap_login *l)
{
    return l->sasl != NULL ? auth_sasl_id(l->sasl) : l->id;
}

static void imap_login_work(void *arg)
{
    struct imap_login *l = arg;

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

/* The journal line of a login that worked. */
static void imap_login_logged(struct imap_login *l)
{
    struct conn *c = l->s->conn;
    enum auth_mech mech = l->sasl != NULL ? auth_sasl_mech(l->sasl) : AUTH_MECH_PLAIN;

    if (l->auth.cached)
        conn_info(c, "logged in (password from the login cache)");
    else if (strcmp(l->auth.detail, "ok") != 0 && l->auth.detail[0] != '\0')
        conn_info(c, "logged in (%s%s%s)", mech != AUTH_MECH_PLAIN ? auth_mech_name(mech) : "",
                  mech != AUTH_MECH_PLAIN ? ", " : "", l->auth.detail);
    else if (mech != AUTH_MECH_PLAIN)
        conn_info(c, "logged in (%s)", auth_mech_name(mech));
    else
        conn_info(c, "logged in");
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
        conn_notice(s->conn, "login as \"%s\" failed: %s", imap_login_id(l), l->auth.detail);
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
    case AUTH_NOSECRET:
        no = "[CANNOT] This account cannot use SCRAM-SHA-256 (no SCRAM keys are stored for "
             "it); use another mechanism";
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
        conn_notice(s->conn, "login as \"%s\" refused: %s", imap_login_id(l), l->auth.detail);
        imap_reply_tagged(s, l->cmd, "NO", no);
        imap_login_free(l);
        return;
    }
    s->user = strdup(l->auth.user);
    s->limits = l->auth.limits;
    s->state = IMAP_STATE_AUTH;
    conn_set_user(s->conn, l->auth.user);
    notify_session(s->user, "imap", conn_client(s->conn), true);
    conn_set_idle_timeout(s->conn, (uint64_t)conf_int(conf, "service.imap.idletimeout") * 60);
    imap_login_logged(l);
    conn_printf(s->conn, "%.*s OK [CAPABILITY ", (int)l->cmd->tag_len, l->cmd->tag);
    imap_capability_write(s);
    conn_puts(s->conn, "] Logged in\r\n");
    imap_login_free(l);
}

static struct imap_login *imap_login_new(struct imap_session *s, struct imap_cmd **cmd)
{
    struct imap_login *l = calloc(1, sizeof(*l));

    if (l == NULL) {
        imap_reply_tagged(s, *cmd, "NO", "[UNAVAILABLE] Out of memory");
        return NULL;
    }
    l->s = s;
    l->cmd = *cmd;
    *cmd = NULL;
    l->peer.service = conn_service(s->conn);
    l->has_peer = conn_peer(s->conn, &l->peer.client) == 0;
    return l;
}

/* Runs work on the pool; on failure answers and frees l. */
static void imap_login_submit(struct imap_login *l, pool_fn *work, pool_fn *done)
{
    if (conn_submit(l->s->conn, work, done, l) < 0) {
        imap_reply_tagged(l->s, l->cmd, "NO", "[UNAVAILABLE] Server busy; try again later");
        imap_login_free(l);
    }
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
    struct imap_login *l;

    if ((*cmd)->nargs != 2 || !imap_arg_get_astring((*cmd)->args, &id, &id_len) ||
        !imap_arg_get_astring((*cmd)->args->next, &pw, &pw_len)) {
        imap_reply_tagged(s, *cmd, "BAD", "Usage: LOGIN user password");
        return;
    }
    if (why != NULL) {
        imap_reply_tagged(s, *cmd, "NO", why);
        return;
    }
    if ((l = imap_login_new(s, cmd)) == NULL)
        return;
    if ((l->id = strndup(id, id_len)) == NULL || (l->password = strndup(pw, pw_len)) == NULL) {
        imap_reply_tagged(s, l->cmd, "NO", "[UNAVAILABLE] Out of memory");
        imap_login_free(l);
        return;
    }
    imap_login_submit(l, imap_login_work, imap_login_done);
}

/* --- AUTHENTICATE --- */

static void imap_sasl_work(void *arg)
{
    struct imap_login *l = arg;

    l->step = auth_sasl_step(l->sasl, l->input, l->input_len, &l->challenge, &l->auth);
    if (l->input != NULL) {
        explicit_bzero(l->input, l->input_len);
        free(l->input);
        l->input = NULL;
    }
    if (l->step == AUTH_SASL_DONE && l->auth.result == AUTH_OK)
        l->rc = store_home_ensure(imapd_store(), l->auth.user, &l->err);
}

static void imap_sasl_malformed(struct imap_login *l)
{
    char text[96];

    snprintf(text, sizeof(text), "Malformed SASL %s response",
             auth_mech_name(auth_sasl_mech(l->sasl)));
    imap_reply_tagged(l->s, l->cmd, "BAD", text);
    imap_login_free(l);
}

/* A challenge goes out; the next line is the client's response, not a command. */
static void imap_sasl_challenge(struct imap_login *l)
{
    conn_printf(l->s->conn, "+ %s\r\n", l->challenge);
    free(l->challenge);
    l->challenge = NULL;
    l->s->sasl = l;
}

static void imap_sasl_done(void *arg)
{
    struct imap_login *l = arg;

    switch (l->step) {
    case AUTH_SASL_CHALLENGE:
        imap_sasl_challenge(l);
        return;
    case AUTH_SASL_MALFORMED:
        imap_sasl_malformed(l);
        return;
    case AUTH_SASL_DONE:
        break;
    }
    /* RFC 3501 has no "additional data with success": the server's last message goes as a
     * challenge, answered with an empty line (RFC 4422 section 4) */
    if (l->auth.result == AUTH_OK && l->rc == STORE_OK && l->challenge != NULL) {
        l->final_pending = true;
        imap_sasl_challenge(l);
        return;
    }
    imap_login_done(l);
}

/* Steps with the client's response (base64; NULL: none yet). */
static void imap_sasl_next(struct imap_login *l, const char *b64, size_t len)
{
    if (b64 != NULL && (l->input = strndup(b64, len)) == NULL) {
        imap_reply_tagged(l->s, l->cmd, "NO", "[UNAVAILABLE] Out of memory");
        imap_login_free(l);
        return;
    }
    l->input_len = len;
    imap_login_submit(l, imap_sasl_work, imap_sasl_done);
}

void imap_cmd_authenticate(struct imap_session *s, struct imap_cmd **cmd)
{
    const char *mech_name, *ir = NULL, *why;
    enum auth_mech mech;
    struct auth_sasl_conn c;
    struct imap_login *l;

    if ((*cmd)->nargs < 1 || (*cmd)->nargs > 2 || !imap_arg_get_atom((*cmd)->args, &mech_name) ||
        ((*cmd)->nargs == 2 && !imap_arg_get_atom((*cmd)->args->next, &ir))) {
        imap_reply_tagged(s, *cmd, "BAD", "Usage: AUTHENTICATE mechanism [initial-response]");
        return;
    }
    if (!auth_mech_parse(mech_name, strlen(mech_name), &mech)) {
        imap_reply_tagged(s, *cmd, "NO", "[CANNOT] Unsupported authentication mechanism");
        return;
    }
    if ((AUTH_MECHS_PASSWORD & 1u << mech) && (why = imap_password_refusal(s)) != NULL) {
        imap_reply_tagged(s, *cmd, "NO", why);
        return;
    }
    imap_sasl_conn_get(s, &c);
    if ((why = auth_sasl_refusal(&c.setup, mech)) != NULL) {
        char text[160];
        snprintf(text, sizeof(text), "[CANNOT] %s", why);
        imap_reply_tagged(s, *cmd, "NO", text);
        auth_sasl_conn_clear(&c);
        return;
    }
    if ((l = imap_login_new(s, cmd)) == NULL) {
        auth_sasl_conn_clear(&c);
        return;
    }
    l->sasl = auth_sasl_new(mech, &c.setup);
    auth_sasl_conn_clear(&c);
    if (l->sasl == NULL) {
        imap_reply_tagged(s, l->cmd, "NO", "[UNAVAILABLE] Authentication is unavailable");
        imap_login_free(l);
        return;
    }
    /* RFC 4959: "=" is an empty initial response */
    if (ir != NULL)
        imap_sasl_next(l, strcmp(ir, "=") == 0 ? "" : ir, strcmp(ir, "=") == 0 ? 0 : strlen(ir));
    else
        imap_sasl_next(l, NULL, 0);
}

ssize_t imap_sasl_input(struct imap_session *s, const char *data, size_t len)
{
    const char *nl = memchr(data, '\n', len);
    struct imap_login *l = s->sasl;

    if (nl == NULL)
        return len > 8192 ? -1 : 0;
    size_t n = (size_t)(nl - data);
    if (n > 0 && data[n - 1] == '\r')
        n--;
    s->sasl = NULL;
    if (n == 1 && data[0] == '*') { /* RFC 3501 6.2.2: the client cancels */
        imap_reply_tagged(s, l->cmd, "BAD", "Authentication cancelled");
        imap_login_free(l);
    } else if (l->final_pending) {
        if (n == 0)
            imap_login_done(l);
        else
            imap_sasl_malformed(l);
    } else {
        imap_sasl_next(l, data, n);
    }
    return nl - data + 1;
}

void imap_sasl_close(struct imap_session *s)
{
    if (s->sasl != NULL)
        imap_login_free(s->sasl);
    s->sasl = NULL;
}
