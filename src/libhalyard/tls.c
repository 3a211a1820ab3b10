/* GnuTLS credentials and sessions. Keys are read before privileges are dropped; the
 * credentials are then shared read-only by every session of the process. */
#include "tls.h"

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
