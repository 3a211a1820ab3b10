/* POP3 authorization: USER/PASS (RFC 1939), AUTH PLAIN (RFC 5034), STLS (RFC 2595), with the
 * seed's plaintextmincipher rule, a delay and a limit for failures, and the maildrop lock taken
 * before "+OK" (RFC 1939 section 8). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "banner.h"
#include "halyard-build.h"
#include "popd.h"

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

void popd_write_capa(struct pop_session *s)
{
    const struct conf *conf = server_conf(conn_server(s->conn));

    conn_puts(s->conn, "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
                       "AUTH-RESP-CODE\r\nPIPELINING\r\n");
    if (s->state == POP_AUTHORIZATION) {
        if (popd_password_allowed(s))
            conn_puts(s->conn, "USER\r\nSASL PLAIN\r\n");
        if (server_tls_configured(conn_server(s->conn)) && !conn_tls_active(s->conn))
            conn_puts(s->conn, "STLS\r\n");
    }
    if (conf_bool(conf, "service.pop.capaimplementation"))
        conn_printf(s->conn, "IMPLEMENTATION %s %s\r\n", HALYARD_PRODUCT, HALYARD_VERSION);
    conn_puts(s->conn, ".\r\n");
}

/* --- the login job: password check, maildrop lock, message list (all blocking) --- */

static void popd_login_work(void *arg)
{
    struct pop_session *s = arg;
    struct store *st = popd_store();
    struct store_mailbox mb;
    struct store_msg *msgs = NULL;
    size_t n = 0;

    auth_password(st, server_conf(conn_server(s->conn)), s->login_id, s->password, s->peer,
                  &s->auth);
    explicit_bzero(s->password, strlen(s->password));
    free(s->password);
    s->password = NULL;
    if (s->auth.result != AUTH_OK)
        return;
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
    default:
        return "-ERR [SYS/TEMP] Authentication is unavailable; try again later\r\n";
    }
}

static void popd_login_done(void *arg)
{
    struct pop_session *s = arg;
    const struct conf *conf = server_conf(conn_server(s->conn));

    free(s->peer);
    s->peer = NULL;

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
    conn_set_idle_timeout(s->conn, (uint64_t)conf_int(conf, "service.pop.idletimeout") * 60);
    uint64_t octets = 0;
    for (unsigned long i = 0; i < s->nmsgs; i++)
        octets += s->msgs[i].size;
    conn_info(s->conn, "logged in%s: %lu messages",
              s->auth.cached ? " (password from the login cache)" : "", s->nmsgs);
    conn_printf(s->conn, "+OK Maildrop locked and ready: %lu messages (%llu octets)\r\n", s->nmsgs,
                (unsigned long long)octets);
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
    s->lock_fd = -1;
    s->rc = STORE_OK;
    s->maildrop_busy = false;
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

void popd_auth_plain(struct pop_session *s, const char *b64, size_t len)
{
    unsigned char buf[1024];
    const char *authz, *authc, *pw;
    long n;

    s->sasl_pending = false;
    if (len == 1 && b64[0] == '*') {
        conn_puts(s->conn, "-ERR Authentication cancelled\r\n");
        return;
    }
    n = auth_base64_decode(b64, len, buf, sizeof(buf) - 1);
    if (n < 0 || auth_plain_split((char *)buf, (size_t)n, &authz, &authc, &pw) < 0) {
        conn_puts(s->conn, "-ERR Malformed SASL PLAIN response\r\n");
        return;
    }
    /* acting as another user (proxy authorisation) comes with the auth issue */
    if (authz[0] != '\0' && strcmp(authz, authc) != 0) {
        conn_puts(s->conn, "-ERR [AUTH] Authorization identity not permitted\r\n");
        return;
    }
    popd_login(s, authc, strlen(authc), pw, strlen(pw));
    explicit_bzero(buf, sizeof(buf));
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
        if (cmd->nargs == 0) {
            conn_puts(s->conn, "+OK Mechanisms follow\r\nPLAIN\r\n.\r\n");
            return true;
        }
        if (cmd->args[0].len != 5 || strncasecmp(cmd->args[0].s, "PLAIN", 5) != 0) {
            conn_puts(s->conn, "-ERR Unsupported SASL mechanism\r\n");
            return true;
        }
        if (popd_refuse_plaintext(s))
            return true;
        if (cmd->nargs >= 2) {
            popd_auth_plain(s, cmd->args[1].s, cmd->args[1].len);
        } else {
            s->sasl_pending = true;
            conn_puts(s->conn, "+ \r\n");
        }
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
