/* SASL exchanges on GNU SASL: libgsasl parses and computes the mechanisms; its callback, run
 * inside auth_sasl_step on a pool thread, asks Halyard's directory (auth_password, auth_proxy,
 * auth_account, auth_certificate), so every mechanism meets the same access rules, statuses,
 * proxy rule and login cache. */
#include <gnutls/crypto.h>
#include <gsasl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "auth-sasl.h"

/* RFC 5802 leaves the count to the server; RFC 7677 asks for at least 4096 */
#define SCRAM_FAKE_ITER 4096
/* A client's response, decoded, is at most this long (IMAP and POP lines are shorter). */
#define SASL_INPUT_MAX 8192
/* Round trips one exchange may take (the longest mechanism needs three). */
#define SASL_STEPS_MAX 6

static const char *const mech_names[AUTH_MECH_COUNT] = {
    "PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "EXTERNAL",
};

static pthread_once_t gs_once = PTHREAD_ONCE_INIT;
static Gsasl *gs_ctx;
static unsigned gs_supported;      /* mechanisms libgsasl serves */
static unsigned char fake_key[32]; /* made-up salts for unknown SCRAM users */

struct auth_sasl {
    enum auth_mech mech;
    Gsasl_session *gs;
    struct store *store;
    const struct conf *conf;
    bool proxy_ok, has_peer;
    struct auth_peer peer;
    bool has_cert;
    struct auth_cert cert; /* strings owned */
    unsigned steps;
    /* what a callback decided: reply is the answer when decided */
    bool decided;
    bool abort; /* end the exchange with reply after this step, whatever libgsasl says */
    struct auth_reply reply;
    /* SCRAM: the account found when the client named it */
    bool scram_looked_up, scram_fake;
    struct auth_reply found;
    char id[AUTH_ID_MAX + 1];
};

static int gs_callback(Gsasl *ctx, Gsasl_session *gs, Gsasl_property prop);

static void gs_init(void)
{
    if (gsasl_init(&gs_ctx) != GSASL_OK) {
        gs_ctx = NULL;
        return;
    }
    gsasl_callback_set(gs_ctx, gs_callback);
    for (int m = 0; m < AUTH_MECH_COUNT; m++)
        if (gsasl_server_support_p(gs_ctx, mech_names[m]))
            gs_supported |= 1u << m;
    if (getrandom(fake_key, sizeof(fake_key), 0) != (ssize_t)sizeof(fake_key))
        gs_supported &= ~((1u << AUTH_MECH_SCRAM) | (1u << AUTH_MECH_SCRAM_PLUS));
}

const char *auth_mech_name(enum auth_mech mech)
{
    return (unsigned)mech < AUTH_MECH_COUNT ? mech_names[mech] : "?";
}

bool auth_mech_parse(const char *name, size_t len, enum auth_mech *mech_r)
{
    for (int m = 0; m < AUTH_MECH_COUNT; m++)
        if (strlen(mech_names[m]) == len && strncasecmp(name, mech_names[m], len) == 0) {
            *mech_r = (enum auth_mech)m;
            return true;
        }
    return false;
}

unsigned auth_sasl_mechs(const struct auth_sasl_setup *setup)
{
    unsigned m = 0;

    pthread_once(&gs_once, gs_init);
    if (setup->password_ok) {
        m |= 1u << AUTH_MECH_PLAIN | 1u << AUTH_MECH_LOGIN | 1u << AUTH_MECH_SCRAM;
        if (setup->cb_unique != NULL || setup->cb_exporter != NULL)
            m |= 1u << AUTH_MECH_SCRAM_PLUS;
    }
    if (setup->cert != NULL)
        m |= 1u << AUTH_MECH_EXTERNAL;
    return m & gs_supported;
}

const char *auth_sasl_refusal(const struct auth_sasl_setup *setup, enum auth_mech mech)
{
    pthread_once(&gs_once, gs_init);
    if (!(gs_supported & 1u << mech))
        return "this mechanism is not available in the server's GNU SASL library";
    if (mech == AUTH_MECH_SCRAM_PLUS && setup->cb_unique == NULL && setup->cb_exporter == NULL)
        return "SCRAM-SHA-256-PLUS needs TLS with channel binding";
    if (mech == AUTH_MECH_EXTERNAL && setup->cert == NULL)
        return "EXTERNAL needs a TLS client certificate that the server's CA list verifies";
    return NULL;
}

static char *dup_or_null(const char *s, bool *ok)
{
    char *d;

    if (s == NULL)
        return NULL;
    if ((d = strdup(s)) == NULL)
        *ok = false;
    return d;
}

struct auth_sasl *auth_sasl_new(enum auth_mech mech, const struct auth_sasl_setup *setup)
{
    struct auth_sasl *a;
    bool ok = true;

    pthread_once(&gs_once, gs_init);
    if (gs_ctx == NULL || !(gs_supported & 1u << mech) || (a = calloc(1, sizeof(*a))) == NULL)
        return NULL;
    a->mech = mech;
    a->store = setup->store;
    a->conf = setup->conf;
    a->proxy_ok = setup->proxy_ok;
    a->has_peer = setup->has_peer;
    a->peer = setup->peer;
    if (setup->cert != NULL) {
        a->has_cert = true;
        a->cert.subject = dup_or_null(setup->cert->subject ? setup->cert->subject : "", &ok);
        a->cert.uid = dup_or_null(setup->cert->uid, &ok);
        a->cert.email = dup_or_null(setup->cert->email, &ok);
        a->cert.cn = dup_or_null(setup->cert->cn, &ok);
    }
    if (!ok || gsasl_server_start(gs_ctx, mech_names[mech], &a->gs) != GSASL_OK) {
        auth_sasl_free(&a);
        return NULL;
    }
    gsasl_session_hook_set(a->gs, a);
    /* Channel bindings go with both SCRAM mechanisms: with them a client that could bind but
     * picked SCRAM-SHA-256 ("y" flag) is refused, as RFC 5802 section 6 asks (a downgrade). */
    if (mech == AUTH_MECH_SCRAM || mech == AUTH_MECH_SCRAM_PLUS) {
        if (setup->cb_unique != NULL)
            gsasl_property_set(a->gs, GSASL_CB_TLS_UNIQUE, setup->cb_unique);
        if (setup->cb_exporter != NULL)
            gsasl_property_set(a->gs, GSASL_CB_TLS_EXPORTER, setup->cb_exporter);
    }
    return a;
}

void auth_sasl_free(struct auth_sasl **sasl)
{
    struct auth_sasl *a = *sasl;

    if (a == NULL)
        return;
    if (a->gs != NULL)
        gsasl_finish(a->gs);
    free((char *)a->cert.subject);
    free((char *)a->cert.uid);
    free((char *)a->cert.email);
    free((char *)a->cert.cn);
    explicit_bzero(a, sizeof(*a));
    free(a);
    *sasl = NULL;
}

const char *auth_sasl_id(const struct auth_sasl *sasl)
{
    if (sasl->mech == AUTH_MECH_EXTERNAL && sasl->has_cert)
        return sasl->cert.subject;
    return sasl->id;
}

enum auth_mech auth_sasl_mech(const struct auth_sasl *sasl)
{
    return sasl->mech;
}

static void sasl_note_id(struct auth_sasl *a)
{
    const char *id = gsasl_property_fast(a->gs, GSASL_AUTHID);

    if (id != NULL && a->id[0] == '\0')
        snprintf(a->id, sizeof(a->id), "%s", id);
}

static void sasl_decide(struct auth_sasl *a, enum auth_result result, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sasl_decide(struct auth_sasl *a, enum auth_result result, const char *fmt, ...)
{
    va_list ap;

    memset(&a->reply, 0, sizeof(a->reply));
    a->reply.result = result;
    va_start(ap, fmt);
    vsnprintf(a->reply.detail, sizeof(a->reply.detail), fmt, ap);
    va_end(ap);
    a->decided = true;
}

/* An authorisation identity other than the authenticated user (in reply): proxy authorisation
 * where the protocol allows it (IMAP: local.service.proxy.admin), else refused. */
static void sasl_authz(struct auth_sasl *a, const char *authz)
{
    if (a->reply.result != AUTH_OK || authz == NULL || authz[0] == '\0' ||
        auth_id_is(a->conf, authz, a->reply.user))
        return;
    if (a->proxy_ok) {
        auth_proxy_as(a->store, a->conf, authz, &a->reply);
        return;
    }
    sasl_decide(a, AUTH_NOAUTHZ, "%s may not act as \"%.64s\" here", a->reply.user, authz);
}

/* PLAIN and LOGIN: the password, through auth_password (login cache included). */
static int gs_validate_simple(struct auth_sasl *a)
{
    const char *authc = gsasl_property_fast(a->gs, GSASL_AUTHID);
    const char *authz = gsasl_property_fast(a->gs, GSASL_AUTHZID);
    const char *password = gsasl_property_fast(a->gs, GSASL_PASSWORD);
    struct auth_peer *peer = a->has_peer ? &a->peer : NULL;

    if (authc == NULL || password == NULL)
        return GSASL_AUTHENTICATION_ERROR;
    sasl_note_id(a);
    a->decided = true;
    /* PLAIN's authorisation identity: the webmail front end acting as a user (auth_proxy) */
    if (authz != NULL && authz[0] != '\0' && strcmp(authz, authc) != 0) {
        if (!a->proxy_ok) /* refused before the password is tried */
            sasl_decide(a, AUTH_NOAUTHZ, "authorisation identity \"%.64s\" is not permitted",
                        authz);
        else
            auth_proxy(a->store, a->conf, authz, authc, password, peer, &a->reply);
    } else {
        auth_password(a->store, a->conf, authc, password, peer, &a->reply);
    }
    return a->reply.result == AUTH_OK ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
}

static int gs_validate_external(struct auth_sasl *a)
{
    if (!a->has_cert) {
        sasl_decide(a, AUTH_FAILED, "no verified client certificate");
        return GSASL_AUTHENTICATION_ERROR;
    }
    auth_certificate(a->store, a->conf, &a->cert, a->has_peer ? &a->peer : NULL, &a->reply);
    a->decided = true;
    if (a->reply.result == AUTH_OK)
        sasl_authz(a, gsasl_property_fast(a->gs, GSASL_AUTHZID));
    return a->reply.result == AUTH_OK ? GSASL_OK : GSASL_AUTHENTICATION_ERROR;
}

/* Salt and keys for a name that is no account: the salt is the same for the same name (so it
 * does not tell the name is unknown), the keys match no proof. */
static void scram_fake(struct auth_sasl *a, const char *id, struct auth_scram_secret *s)
{
    unsigned char mac[32], key[32];

    gnutls_hmac_fast(GNUTLS_MAC_SHA256, fake_key, sizeof(fake_key), id, strlen(id), mac);
    s->iter = SCRAM_FAKE_ITER;
    auth_base64_encode(mac, 16, s->salt, sizeof(s->salt));
    if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
        memcpy(key, mac, sizeof(key)); /* still no proof can match it: StoredKey is H(ClientKey) */
    auth_base64_encode(key, sizeof(key), s->stored_key, sizeof(s->stored_key));
    auth_base64_encode(key, sizeof(key), s->server_key, sizeof(s->server_key));
    a->scram_fake = true;
}

/* SCRAM: the client named its account; gsasl wants its salt and iterations now and its keys
 * at the next step. Everything is looked up once, here. */
static int gs_scram_lookup(struct auth_sasl *a)
{
    const char *id = gsasl_property_fast(a->gs, GSASL_AUTHID);
    struct auth_scram_secret s;
    char *text = NULL, iter[16];

    if (a->scram_looked_up || id == NULL)
        return GSASL_NO_CALLBACK;
    a->scram_looked_up = true;
    sasl_note_id(a);
    auth_account(a->store, a->conf, id, a->has_peer ? &a->peer : NULL, &a->found, &text);
    switch (a->found.result) {
    case AUTH_FAILED: /* no such user: go on, the proof will fail */
        scram_fake(a, id, &s);
        break;
    case AUTH_TEMPFAIL:
    case AUTH_DENIED:
    case AUTH_BADRULES: /* told whatever the password, as for PLAIN */
        a->reply = a->found;
        a->decided = a->abort = true;
        scram_fake(a, id, &s);
        break;
    default: /* the account exists; its status is told only after a right proof */
        if (text == NULL || auth_scram_parse(text, &s) < 0) {
            sasl_decide(a, AUTH_NOSECRET,
                        "%s has no SCRAM-SHA-256 keys (set the password again with mailuser, or "
                        "give the LDAP entry a {SCRAM-SHA-256} userPassword)",
                        a->found.user);
            a->abort = true;
            scram_fake(a, id, &s);
        }
        break;
    }
    store_user_hash_free(&text);
    snprintf(iter, sizeof(iter), "%lu", s.iter);
    gsasl_property_set(a->gs, GSASL_SCRAM_ITER, iter);
    gsasl_property_set(a->gs, GSASL_SCRAM_SALT, s.salt);
    gsasl_property_set(a->gs, GSASL_SCRAM_STOREDKEY, s.stored_key);
    gsasl_property_set(a->gs, GSASL_SCRAM_SERVERKEY, s.server_key);
    explicit_bzero(&s, sizeof(s));
    return GSASL_OK;
}

static int gs_callback(Gsasl *ctx, Gsasl_session *gs, Gsasl_property prop)
{
    struct auth_sasl *a = gsasl_session_hook_get(gs);

    if (a == NULL)
        return GSASL_NO_CALLBACK;
    switch (prop) {
    case GSASL_VALIDATE_SIMPLE:
        return gs_validate_simple(a);
    case GSASL_VALIDATE_EXTERNAL:
        return gs_validate_external(a);
    case GSASL_SCRAM_ITER:
    case GSASL_SCRAM_SALT:
    case GSASL_SCRAM_STOREDKEY:
    case GSASL_SCRAM_SERVERKEY:
        return gs_scram_lookup(a);
    default:
        return GSASL_NO_CALLBACK;
    }
}

/* libgsasl's output as base64 for the client. */
static char *out_b64(const char *out, size_t len)
{
    size_t size = (len + 2) / 3 * 4 + 1;
    char *b = malloc(size);

    if (b != NULL)
        auth_base64_encode((const unsigned char *)out, len, b, size);
    return b;
}

/* The reply once libgsasl says the proof failed (gsasl_rc) and no callback decided. */
static void sasl_failed(struct auth_sasl *a, int gsasl_rc)
{
    if (gsasl_rc == GSASL_NO_CB_TLS_UNIQUE || gsasl_rc == GSASL_NO_CB_TLS_EXPORTER)
        sasl_decide(a, AUTH_FAILED,
                    "%s: the client asked for a channel binding this TLS session "
                    "cannot give (%s)",
                    auth_mech_name(a->mech), gsasl_strerror_name(gsasl_rc));
    else if (a->mech == AUTH_MECH_SCRAM || a->mech == AUTH_MECH_SCRAM_PLUS) {
        if (!a->scram_looked_up)
            sasl_decide(a, AUTH_FAILED,
                        "%s: client-first message refused (user name, or a "
                        "channel-binding flag that does not fit what is offered)",
                        auth_mech_name(a->mech));
        else if (a->scram_fake)
            sasl_decide(a, AUTH_FAILED, "no such user");
        else
            sasl_decide(a, AUTH_FAILED,
                        "wrong password for %s (%s proof or channel binding "
                        "did not verify)",
                        a->found.user, auth_mech_name(a->mech));
    } else {
        sasl_decide(a, AUTH_FAILED, "%s refused: %s", auth_mech_name(a->mech),
                    gsasl_strerror_name(gsasl_rc));
    }
}

enum auth_sasl_rc auth_sasl_step(struct auth_sasl *a, const char *in, size_t len, char **out_r,
                                 struct auth_reply *reply)
{
    unsigned char *buf = NULL;
    long n = 0;
    char *out = NULL;
    size_t out_len = 0;
    int rc;

    *out_r = NULL;
    memset(reply, 0, sizeof(*reply));
    if (++a->steps > SASL_STEPS_MAX)
        return AUTH_SASL_MALFORMED;
    if (in != NULL) {
        if (len > SASL_INPUT_MAX / 3 * 4 || (buf = malloc(len / 4 * 3 + 1)) == NULL)
            return AUTH_SASL_MALFORMED;
        if ((n = auth_base64_decode(in, len, buf, len / 4 * 3 + 1)) < 0) {
            free(buf);
            return AUTH_SASL_MALFORMED;
        }
        buf[n] = '\0';
    }
    /* LOGIN's "User Name" challenge comes first even when the client sent the name at once
     * (an initial response, RFC 4959): skip it */
    if (a->mech == AUTH_MECH_LOGIN && a->steps == 1 && buf != NULL) {
        rc = gsasl_step(a->gs, NULL, 0, &out, &out_len);
        gsasl_free(out);
        out = NULL;
    }
    rc = gsasl_step(a->gs, buf != NULL ? (const char *)buf : NULL, (size_t)n, &out, &out_len);
    if (buf != NULL) {
        explicit_bzero(buf, (size_t)n);
        free(buf);
    }
    sasl_note_id(a);
    if (a->abort) {
        *reply = a->reply;
        gsasl_free(out);
        return AUTH_SASL_DONE;
    }
    switch (rc) {
    case GSASL_NEEDS_MORE:
        *out_r = out_b64(out != NULL ? out : "", out_len);
        gsasl_free(out);
        return *out_r != NULL ? AUTH_SASL_CHALLENGE : AUTH_SASL_MALFORMED;
    case GSASL_OK:
        if (a->mech == AUTH_MECH_SCRAM || a->mech == AUTH_MECH_SCRAM_PLUS) {
            /* the proof verified: what the account's status says, and its authzid ("a=") */
            a->reply = a->found;
            sasl_authz(a, gsasl_property_fast(a->gs, GSASL_AUTHZID));
            if (a->reply.result == AUTH_OK && out != NULL && out_len > 0)
                *out_r = out_b64(out, out_len); /* v=ServerSignature */
        } else if (!a->decided) {
            sasl_decide(a, AUTH_TEMPFAIL, "%s: nothing checked the credentials",
                        auth_mech_name(a->mech));
        }
        break;
    case GSASL_MECHANISM_PARSE_ERROR:
    case GSASL_MECHANISM_CALLED_TOO_MANY_TIMES:
    case GSASL_BASE64_ERROR:
        gsasl_free(out);
        return AUTH_SASL_MALFORMED;
    case GSASL_AUTHENTICATION_ERROR:
    case GSASL_SASLPREP_ERROR:
    case GSASL_NO_CB_TLS_UNIQUE:
    case GSASL_NO_CB_TLS_EXPORTER:
        if (!a->decided)
            sasl_failed(a, rc);
        break;
    default:
        if (!a->decided)
            sasl_decide(a, AUTH_TEMPFAIL, "%s: GNU SASL: %s", auth_mech_name(a->mech),
                        gsasl_strerror(rc));
        break;
    }
    gsasl_free(out);
    *reply = a->reply;
    return AUTH_SASL_DONE;
}
