/* GnuTLS credentials and sessions. Keys are read before privileges are dropped; the
 * credentials are then shared read-only by every session of the process. */
#include "tls.h"

#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tls_ctx {
    gnutls_certificate_credentials_t cred;
    gnutls_priority_t prio;
    int request_cert;
};

static int tls_fail(char **err_r, const char *what, const char *file, int rc)
{
    if (asprintf(err_r, "%s%s%s: %s", what, file ? " " : "", file ? file : "",
                 gnutls_strerror(rc)) < 0)
        *err_r = NULL;
    return -1;
}

int tls_ctx_new(const char *certfile, const char *keyfile, const char *cafile, const char *priority,
                struct tls_ctx **ctx_r, char **err_r)
{
    struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
    char *prio = NULL;
    int rc;

    *ctx_r = NULL;
    if (ctx == NULL)
        return tls_fail(err_r, "TLS context", NULL, GNUTLS_E_MEMORY_ERROR);
    rc = gnutls_certificate_allocate_credentials(&ctx->cred);
    if (rc < 0)
        goto fail_cred;
    rc = gnutls_certificate_set_x509_key_file(ctx->cred, certfile, keyfile, GNUTLS_X509_FMT_PEM);
    if (rc < 0) {
        tls_fail(err_r, "cannot load certificate/key", certfile, rc);
        goto fail;
    }
    if (cafile != NULL && *cafile != '\0') {
        rc = gnutls_certificate_set_x509_trust_file(ctx->cred, cafile, GNUTLS_X509_FMT_PEM);
        if (rc < 0) {
            tls_fail(err_r, "cannot load CA file", cafile, rc);
            goto fail;
        }
        ctx->request_cert = 1;
    }
    /* TLS 1.2 is the floor whatever the administrator's priority string says (RFC 8996). */
    if (asprintf(&prio, "%s:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1", priority) < 0) {
        rc = GNUTLS_E_MEMORY_ERROR;
        goto fail_cred;
    }
    rc = gnutls_priority_init(&ctx->prio, prio, NULL);
    free(prio);
    if (rc < 0) {
        tls_fail(err_r, "bad local.tls.priority", priority, rc);
        goto fail;
    }
    *ctx_r = ctx;
    return 0;
fail_cred:
    tls_fail(err_r, "TLS credentials", NULL, rc);
fail:
    if (ctx->cred != NULL)
        gnutls_certificate_free_credentials(ctx->cred);
    free(ctx);
    return -1;
}

void tls_ctx_free(struct tls_ctx **ctx)
{
    if (*ctx == NULL)
        return;
    gnutls_priority_deinit((*ctx)->prio);
    gnutls_certificate_free_credentials((*ctx)->cred);
    free(*ctx);
    *ctx = NULL;
}

int tls_session_new(const struct tls_ctx *ctx, int fd, gnutls_session_t *session_r)
{
    gnutls_session_t s;
    int rc = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);

    if (rc < 0)
        return rc;
    rc = gnutls_priority_set(s, ctx->prio);
    if (rc == 0)
        rc = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, ctx->cred);
    if (rc < 0) {
        gnutls_deinit(s);
        return rc;
    }
    if (ctx->request_cert)
        gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUEST);
    gnutls_transport_set_int(s, fd);
    gnutls_handshake_set_timeout(s, 0);
    *session_r = s;
    return 0;
}

unsigned tls_session_bits(gnutls_session_t session)
{
    return (unsigned)gnutls_cipher_get_key_size(gnutls_cipher_get(session)) * 8;
}

void tls_peer_cert_free(struct tls_peer_cert **cert)
{
    if (*cert == NULL)
        return;
    free((*cert)->subject);
    free((*cert)->uid);
    free((*cert)->email);
    free((*cert)->cn);
    free(*cert);
    *cert = NULL;
}

/* The first value of a subject attribute as text; NULL when absent, not text or too long. */
static char *tls_dn_value(gnutls_x509_crt_t crt, const char *oid)
{
    char buf[257];
    size_t size = sizeof(buf);

    if (gnutls_x509_crt_get_dn_by_oid(crt, oid, 0, 0, buf, &size) < 0 || size >= sizeof(buf))
        return NULL;
    buf[size] = '\0';
    if (strlen(buf) != size || size == 0) /* an embedded NUL: not a name */
        return NULL;
    return strdup(buf);
}

int tls_session_peer_cert(const struct tls_ctx *ctx, gnutls_session_t session,
                          struct tls_peer_cert **cert_r, char *why_r, size_t why_size)
{
    const gnutls_datum_t *certs;
    unsigned n = 0, status = 0;
    gnutls_x509_crt_t crt;
    gnutls_datum_t dn = {NULL, 0};
    gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                     .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
    struct tls_peer_cert *c;
    int rc;

    *cert_r = NULL;
    if (!ctx->request_cert || gnutls_certificate_type_get(session) != GNUTLS_CRT_X509 ||
        (certs = gnutls_certificate_get_peers(session, &n)) == NULL || n == 0)
        return 0;
    if (gnutls_x509_crt_init(&crt) < 0)
        return 0;
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) < 0 ||
        gnutls_x509_crt_get_dn3(crt, &dn, 0) < 0) {
        gnutls_x509_crt_deinit(crt);
        snprintf(why_r, why_size, "client certificate cannot be read");
        return -1;
    }
    /* the chain up to a CA in local.tls.cafile, the dates, and (when the certificate lists key
     * purposes) TLS client authentication; no name to compare, unlike a server's */
    rc = gnutls_certificate_verify_peers(session, &purpose, 1, &status);
    if (rc < 0 || status != 0) {
        gnutls_datum_t text = {NULL, 0};
        if (rc >= 0)
            gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
        snprintf(why_r, why_size, "client certificate \"%.150s\" not verified: %.200s",
                 (char *)dn.data, rc < 0 ? gnutls_strerror(rc) : (char *)text.data);
        gnutls_free(text.data);
        gnutls_free(dn.data);
        gnutls_x509_crt_deinit(crt);
        return -1;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->subject = strdup((char *)dn.data)) == NULL) {
        free(c);
        gnutls_free(dn.data);
        gnutls_x509_crt_deinit(crt);
        return 0;
    }
    c->uid = tls_dn_value(crt, GNUTLS_OID_LDAP_UID);
    c->email = tls_dn_value(crt, GNUTLS_OID_PKCS9_EMAIL);
    c->cn = tls_dn_value(crt, GNUTLS_OID_X520_COMMON_NAME);
    gnutls_free(dn.data);
    gnutls_x509_crt_deinit(crt);
    *cert_r = c;
    return 1;
}

char *tls_session_channel_binding(gnutls_session_t session, gnutls_channel_binding_t type)
{
    gnutls_datum_t cb = {NULL, 0}, text = {NULL, 0};
    char *out = NULL;

    /* tls-unique is undefined for TLS 1.3 (RFC 9266 section 3) */
    if (type == GNUTLS_CB_TLS_UNIQUE && gnutls_protocol_get_version(session) == GNUTLS_TLS1_3)
        return NULL;
    if (gnutls_session_channel_binding(session, type, &cb) == 0 && cb.size > 0 &&
        gnutls_base64_encode2(&cb, &text) == 0 && (out = malloc(text.size + 1)) != NULL) {
        memcpy(out, text.data, text.size);
        out[text.size] = '\0';
    }
    gnutls_free(cb.data);
    gnutls_free(text.data);
    return out;
}
