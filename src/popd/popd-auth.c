/* POP3 authorization: USER/PASS (RFC 1939), AUTH (RFC 5034) through GNU SASL - PLAIN, LOGIN,
 * SCRAM-SHA-256(-PLUS), EXTERNAL for a verified TLS client certificate - and STLS (RFC 2595),
 * with the seed's plaintextmincipher rule, a delay and a limit for failures, and the maildrop
 * lock taken before "+OK" (RFC 1939 section 8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth-conn.h"
#include "banner.h"
#include "halyard-build.h"
#include "notify.h"
#include "popd.h"
#include "tls.h"

/* plaintextmincipher for POP: password login is always on (the seed), so -1 counts as 0; N > 0
 * demands TLS of at least N bits. */
static bool popd_password_allowed(struct pop_session *s)
{
    long min = conf_int(server_conf(conn_server(s->conn)), "service.pop.plaintextmincipher");

    return min <= 0 || conn_tls_bits(s->conn) >= (unsigned)min;
}

static bool popd_refuse_plaintext(struct pop_session *s)
{
    if (popd_password_allowed(s))
        return false;
    conn_puts(s->conn, "-ERR [AUTH] Password login needs TLS here: use STLS first\r\n");
    return true;
}

/* What this connection offers SASL (auth-conn.h), with no proxy authorisation. */
static void popd_sasl_conn_get(struct pop_session *s, struct auth_sasl_conn *c)
{
    /* no proxy authorisation: POP3 has no front end to act for users */
    auth_sasl_conn_get(c, s->conn, popd_store(), popd_password_allowed(s), false);
}

/* The mechanisms this connection may use (bit 1u << mech). */
static unsigned popd_mechs(struct pop_session *s)
{
    struct auth_sasl_conn c;
    unsigned mechs;

    popd_sasl_conn_get(s, &c);
    mechs = auth_sasl_mechs(&c.setup);
    auth_sasl_conn_clear(&c);
    return mechs;
}

/* Writes each of mechs as before NAME after. */
static void popd_write_mechs(struct pop_session *s, unsigned mechs, const char *before,
                             const char *after)
{
    for (int m = 0; m < AUTH_MECH_COUNT; m++)
        if (mechs & 1u << m)
            conn_printf(s->conn, "%s%s%s", before, auth_mech_name((enum auth_mech)m), after);
}

void popd_write_capa(struct pop_session *s)
{
    const struct conf *conf = server_conf(conn_server(s->conn));

    conn_puts(s->conn, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
                       "AUTH-RESP-CODE\r\nPIPELINING\r\n");
    if (s->state == POP_AUTHORIZATION) {
        if (popd_password_allowed(s))
            conn_puts(s->conn, "USER\r\n");
        /* RFC 2449 6.3: the SASL mechanisms usable now (a verified client certificate adds
         * EXTERNAL even where passwords are refused) */
        unsigned mechs = popd_mechs(s);
        if (mechs != 0) {
            conn_puts(s->conn, "SASL");
            popd_write_mechs(s, mechs, " ", "");
            conn_puts(s->conn, "\r\n");
        }
        if (server_tls_configured(conn_server(s->conn)) && !conn_tls_active(s->conn))
            conn_puts(s->conn, "STLS\r\n");
    }
    if (conf_bool(conf, "service.pop.capaimplementation"))
        conn_printf(s->conn, "IMPLEMENTATION %s %s\r\n", HALYARD_PRODUCT, HALYARD_VERSION);
    conn_puts(s->conn, ".\r\n");
}

/* --- the login job: password check or SASL step, maildrop lock, message list (blocking) --- */

static void popd_maildrop_open(struct pop_session *s)
{
    struct store *st = popd_store();
    struct store_mailbox mb;
    struct store_msg *msgs = NULL;
    size_t n = 0;

    s->rc = store_maildrop_lock(st, s->auth.user, &s->lock_fd, &s->err);
    s->maildrop_busy = s->rc == STORE_EBUSY;
    if (s->rc != STORE_OK)
        return;
    s->rc = store_mailbox_get(st, s->auth.user, "INBOX", &mb, &s->err);
    if (s->rc == STORE_OK) {
        s->mailbox_id = mb.id;
        s->uidvalidity = mb.uidvalidity;
        store_mailbox_clear(&mb);
        s->rc = store_msg_list(st, s->auth.user, s->mailbox_id, 1, 0, &msgs, &n, &s->err);
    }
    if (s->rc == STORE_OK && n > 0) {
        s->msgs = calloc(n, sizeof(*s->msgs));
        if (s->msgs == NULL)
            s->rc = STORE_EIO;
        for (size_t i = 0; s->msgs != NULL && i < n; i++)
            s->msgs[i] = (struct pop_msg){.uid = msgs[i].uid,
                                          .size = msgs[i].size,
                                          .body_mailbox = msgs[i].body_mailbox,
                                          .body_uid = msgs[i].body_uid,
                                          .seen = (msgs[i].flags & STORE_FLAG_SEEN) != 0};
        s->nmsgs = s->msgs != NULL ? n : 0;
    }
    store_msg_list_free(&msgs, n);
    if (s->rc != STORE_OK) {
        close(s->lock_fd);
        s->lock_fd = -1;
    }
}

static void popd_login_work(void *arg)
{
    struct pop_session *s = arg;

    auth_password(popd_store(), server_conf(conn_server(s->conn)), s->login_id, s->password,
                  s->peer, &s->auth);
    explicit_bzero(s->password, strlen(s->password));
    free(s->password);
    s->password = NULL;
    if (s->auth.result == AUTH_OK)
        popd_maildrop_open(s);
}

static void popd_fail_reply(void *arg)
{
    struct pop_session *s = arg;
    long max = conf_int(server_conf(conn_server(s->conn)), "service.authfailuremax");

    conn_puts(s->conn, "-ERR [AUTH] Authentication failed\r\n");
    if ((long)s->failures >= max) {
        conn_notice(s->conn, "%u failed logins: disconnecting", s->failures);
        conn_puts(s->conn, "-ERR Too many failed logins\r\n");
        conn_close(s->conn);
    }
}

/* The reply to a login the account's status or access rules refuse (RFC 3206 codes). */
static const char *popd_refusal(enum auth_result result)
{
    switch (result) {
    case AUTH_DENIED:
        return "-ERR [SYS/PERM] Access denied: this account may not use POP from your "
               "address\r\n";
    case AUTH_BADRULES:
        return "-ERR [SYS/PERM] The access rules of this account are broken; ask your "
               "administrator\r\n";
    case AUTH_INACTIVE:
        return "-ERR [SYS/TEMP] Account temporarily inactive; try again later\r\n";
    case AUTH_DISABLED:
        return "-ERR [SYS/PERM] Account disabled; contact your administrator\r\n";
    case AUTH_DELETED:
        return "-ERR [SYS/PERM] Account deleted; contact your administrator\r\n";
    case AUTH_REMOVED:
        return "-ERR [SYS/PERM] Account removed; contact your administrator\r\n";
    case AUTH_HOLD:
        return "-ERR [SYS/PERM] Account on hold: its mail is kept but login is not "
               "possible\r\n";
    case AUTH_ELSEWHERE:
        return "-ERR [SYS/PERM] This account is served by another mail host\r\n";
    case AUTH_NOAUTHZ:
        return "-ERR [AUTH] Authorization identity not permitted\r\n";
    case AUTH_NOSECRET:
        return "-ERR [AUTH] This account cannot use SCRAM-SHA-256 (no SCRAM keys are stored "
               "for it); use another mechanism\r\n";
    default:
        return "-ERR [SYS/TEMP] Authentication is unavailable; try again later\r\n";
    }
}

static void popd_login_done(void *arg)
{
    struct pop_session *s = arg;
    const struct conf *conf = server_conf(conn_server(s->conn));
    enum auth_mech mech = s->sasl != NULL ? auth_sasl_mech(s->sasl) : AUTH_MECH_PLAIN;
    bool sasl = s->sasl != NULL;

    free(s->peer);
    s->peer = NULL;
    auth_sasl_free(&s->sasl);

    switch (s->auth.result) {
    case AUTH_OK:
        break;
    case AUTH_FAILED:
        s->failures++;
        conn_notice(s->conn, "login as \"%s\" failed: %s", s->login_id, s->auth.detail);
        /* the answer waits, so guessing passwords is slow (service.authfailuredelay) */
        if (conn_defer(s->conn, (uint64_t)conf_int(conf, "service.authfailuredelay") * 1000000,
                       popd_fail_reply, s) < 0)
            popd_fail_reply(s);
        s->login_id[0] = '\0';
        return;
    case AUTH_TEMPFAIL:
        conn_warning(s->conn, "login as \"%s\": %s", s->login_id, s->auth.detail);
        conn_puts(s->conn, "-ERR [SYS/TEMP] Authentication is unavailable; try again later\r\n");
        return;
    case AUTH_DENIED:
    case AUTH_BADRULES:
    case AUTH_INACTIVE:
    case AUTH_DISABLED:
    case AUTH_DELETED:
    case AUTH_REMOVED:
    case AUTH_HOLD:
    case AUTH_ELSEWHERE:
    case AUTH_NOAUTHZ:
    case AUTH_NOSECRET:
        conn_notice(s->conn, "login as \"%s\" refused: %s", s->login_id, s->auth.detail);
        conn_puts(s->conn, popd_refusal(s->auth.result));
        s->login_id[0] = '\0';
        return;
    }
    if (s->maildrop_busy) {
        conn_notice(s->conn, "%s: maildrop in use by another POP session", s->auth.user);
        conn_puts(s->conn, "-ERR [IN-USE] Maildrop already locked by another session\r\n");
        return;
    }
    if (s->rc != STORE_OK) {
        conn_warning(s->conn, "%s: cannot open the maildrop: %s", s->auth.user, s->err.msg);
        conn_puts(s->conn, "-ERR [SYS/TEMP] Cannot open the maildrop; try again later\r\n");
        return;
    }
    snprintf(s->user, sizeof(s->user), "%s", s->auth.user);
    s->state = POP_TRANSACTION;
    conn_set_user(s->conn, s->user);
    notify_session(s->user, "pop", conn_client(s->conn), true);
    conn_set_idle_timeout(s->conn, (uint64_t)conf_int(conf, "service.pop.idletimeout") * 60);
    uint64_t octets = 0;
    for (unsigned long i = 0; i < s->nmsgs; i++)
        octets += s->msgs[i].size;
    conn_info(s->conn, "logged in%s%s%s: %lu messages",
              s->auth.cached ? " (password from the login cache)" : "",
              sasl && mech != AUTH_MECH_PLAIN ? " with " : "",
              sasl && mech != AUTH_MECH_PLAIN ? auth_mech_name(mech) : "", s->nmsgs);
    conn_printf(s->conn, "+OK Maildrop locked and ready: %lu messages (%llu octets)\r\n", s->nmsgs,
                (unsigned long long)octets);
}

/* Resets what the login job fills. */
static void popd_login_prepare(struct pop_session *s)
{
    s->lock_fd = -1;
    s->rc = STORE_OK;
    s->maildrop_busy = false;
}

static void popd_login(struct pop_session *s, const char *id, size_t id_len, const char *pw,
                       size_t pw_len)
{
    if (id_len == 0 || id_len > AUTH_ID_MAX) {
        conn_puts(s->conn, "-ERR [AUTH] Authentication failed\r\n");
        return;
    }
    memcpy(s->login_id, id, id_len);
    s->login_id[id_len] = '\0';
    s->password = strndup(pw, pw_len);
    popd_login_prepare(s);
    s->peer = calloc(1, sizeof(*s->peer));
    if (s->peer != NULL) {
        s->peer->service = conn_service(s->conn);
        if (conn_peer(s->conn, &s->peer->client) < 0) {
            free(s->peer);
            s->peer = NULL;
        }
    }
    if (s->password == NULL || conn_submit(s->conn, popd_login_work, popd_login_done, s) < 0) {
        free(s->password);
        s->password = NULL;
        free(s->peer);
        s->peer = NULL;
        conn_puts(s->conn, "-ERR [SYS/TEMP] Server busy; try again later\r\n");
    }
}

/* --- AUTH --- */

static void popd_sasl_work(void *arg)
{
    struct pop_session *s = arg;

    s->sasl_step =
        auth_sasl_step(s->sasl, s->sasl_input, s->sasl_input_len, &s->sasl_out, &s->auth);
    if (s->sasl_input != NULL) {
        explicit_bzero(s->sasl_input, s->sasl_input_len);
        free(s->sasl_input);
        s->sasl_input = NULL;
    }
    snprintf(s->login_id, sizeof(s->login_id), "%s", auth_sasl_id(s->sasl));
    if (s->sasl_step == AUTH_SASL_DONE && s->auth.result == AUTH_OK)
        popd_maildrop_open(s);
}

void popd_sasl_close(struct pop_session *s)
{
    auth_sasl_free(&s->sasl);
    if (s->sasl_input != NULL)
        explicit_bzero(s->sasl_input, s->sasl_input_len);
    free(s->sasl_input);
    s->sasl_input = NULL;
    free(s->sasl_out);
    s->sasl_out = NULL;
    s->sasl_pending = s->sasl_final = false;
}

static void popd_sasl_malformed(struct pop_session *s)
{
    conn_printf(s->conn, "-ERR Malformed SASL %s response\r\n",
                auth_mech_name(auth_sasl_mech(s->sasl)));
    popd_sasl_close(s);
}

/* A challenge goes out; the next line is the client's response. */
static void popd_sasl_challenge(struct pop_session *s)
{
    conn_printf(s->conn, "+ %s\r\n", s->sasl_out);
    free(s->sasl_out);
    s->sasl_out = NULL;
    s->sasl_pending = true;
}

static void popd_sasl_done(void *arg)
{
    struct pop_session *s = arg;

    switch (s->sasl_step) {
    case AUTH_SASL_CHALLENGE:
        popd_sasl_challenge(s);
        return;
    case AUTH_SASL_MALFORMED:
        popd_sasl_malformed(s);
        return;
    case AUTH_SASL_DONE:
        break;
    }
    /* the server's last message (SCRAM's verifier) goes as a challenge that the client
     * answers with an empty line before "+OK" (RFC 4422 section 4) */
    if (s->auth.result == AUTH_OK && s->rc == STORE_OK && !s->maildrop_busy &&
        s->sasl_out != NULL) {
        s->sasl_final = true;
        popd_sasl_challenge(s);
        return;
    }
    free(s->sasl_out);
    s->sasl_out = NULL;
    popd_login_done(s);
}

/* Steps with the client's response (base64; NULL: none yet). */
static void popd_sasl_next(struct pop_session *s, const char *b64, size_t len)
{
    if (b64 != NULL && (s->sasl_input = strndup(b64, len)) == NULL) {
        popd_sasl_close(s);
        conn_puts(s->conn, "-ERR [SYS/TEMP] Out of memory\r\n");
        return;
    }
    s->sasl_input_len = len;
    if (conn_submit(s->conn, popd_sasl_work, popd_sasl_done, s) < 0) {
        popd_sasl_close(s);
        conn_puts(s->conn, "-ERR [SYS/TEMP] Server busy; try again later\r\n");
    }
}

void popd_sasl_input(struct pop_session *s, const char *b64, size_t len)
{
    s->sasl_pending = false;
    if (s->sasl == NULL)
        return;
    if (len == 1 && b64[0] == '*') { /* RFC 5034 section 4: the client cancels */
        popd_maildrop_release(s);
        popd_sasl_close(s);
        conn_puts(s->conn, "-ERR Authentication cancelled\r\n");
        return;
    }
    if (s->sasl_final) {
        s->sasl_final = false;
        if (len == 0) {
            popd_login_done(s);
        } else {
            popd_maildrop_release(s);
            popd_sasl_malformed(s);
        }
        return;
    }
    popd_sasl_next(s, b64, len);
}

static void popd_auth(struct pop_session *s, const struct pop_cmd *cmd)
{
    enum auth_mech mech;
    struct auth_sasl_conn c;
    const char *why;

    if (cmd->nargs == 0) {
        conn_puts(s->conn, "+OK Mechanisms follow\r\n");
        popd_write_mechs(s, popd_mechs(s), "", "\r\n");
        conn_puts(s->conn, ".\r\n");
        return;
    }
    if (!auth_mech_parse(cmd->args[0].s, cmd->args[0].len, &mech)) {
        conn_puts(s->conn, "-ERR Unsupported SASL mechanism\r\n");
        return;
    }
    if ((AUTH_MECHS_PASSWORD & 1u << mech) && popd_refuse_plaintext(s))
        return;
    popd_sasl_conn_get(s, &c);
    if ((why = auth_sasl_refusal(&c.setup, mech)) != NULL) {
        conn_printf(s->conn, "-ERR [AUTH] %s\r\n", why);
        auth_sasl_conn_clear(&c);
        return;
    }
    s->sasl = auth_sasl_new(mech, &c.setup);
    auth_sasl_conn_clear(&c);
    if (s->sasl == NULL) {
        conn_puts(s->conn, "-ERR [SYS/TEMP] Authentication is unavailable\r\n");
        return;
    }
    popd_login_prepare(s);
    if (cmd->nargs >= 2) { /* RFC 5034: "=" is an empty initial response */
        bool empty = cmd->args[1].len == 1 && cmd->args[1].s[0] == '=';
        popd_sasl_next(s, empty ? "" : cmd->args[1].s, empty ? 0 : cmd->args[1].len);
    } else {
        popd_sasl_next(s, NULL, 0);
    }
}

bool popd_auth_command(struct pop_session *s, const struct pop_cmd *cmd)
{
    const char *k = cmd->keyword;

    if (strcmp(k, "USER") == 0) {
        if (popd_refuse_plaintext(s))
            return true;
        if (cmd->nargs != 1 || cmd->args[0].len > AUTH_ID_MAX) {
            conn_puts(s->conn, "-ERR Usage: USER name\r\n");
            return true;
        }
        memcpy(s->login_id, cmd->args[0].s, cmd->args[0].len);
        s->login_id[cmd->args[0].len] = '\0';
        conn_puts(s->conn, "+OK Send PASS\r\n");
    } else if (strcmp(k, "PASS") == 0) {
        if (popd_refuse_plaintext(s))
            return true;
        if (s->login_id[0] == '\0') {
            conn_puts(s->conn, "-ERR Send USER first\r\n");
            return true;
        }
        if (cmd->rest.len == 0) {
            conn_puts(s->conn, "-ERR Usage: PASS password\r\n");
            return true;
        }
        popd_login(s, s->login_id, strlen(s->login_id), cmd->rest.s, cmd->rest.len);
    } else if (strcmp(k, "AUTH") == 0) {
        popd_auth(s, cmd);
    } else if (strcmp(k, "APOP") == 0) {
        /* APOP needs the plaintext password on the server; Halyard keeps only hashes */
        conn_puts(s->conn, "-ERR APOP is not available: use USER/PASS or AUTH over TLS\r\n");
    } else if (strcmp(k, "STLS") == 0) {
        if (conn_tls_active(s->conn))
            conn_puts(s->conn, "-ERR TLS is already active\r\n");
        else if (!server_tls_configured(conn_server(s->conn)))
            conn_puts(s->conn, "-ERR STLS is not available: no certificate configured\r\n");
        else {
            conn_puts(s->conn, "+OK Begin TLS negotiation\r\n");
            conn_starttls(s->conn);
        }
    } else {
        return false;
    }
    return true;
}
