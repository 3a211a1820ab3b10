/* TLS with GnuTLS: server credentials from the local.tls.* parameters, TLS 1.2 minimum. */
#ifndef HALYARD_TLS_H
#define HALYARD_TLS_H

#include <gnutls/gnutls.h>

struct tls_ctx;

/* Loads certificate and key (PEM) and the optional CA file that verifies client certificates.
 * priority is a GnuTLS priority string; versions below TLS 1.2 are always removed from it.
 * Returns 0, or -1 with a message in err_r (caller frees). */
int tls_ctx_new(const char *certfile, const char *keyfile, const char *cafile, const char *priority,
                struct tls_ctx **ctx_r, char **err_r);
void tls_ctx_free(struct tls_ctx **ctx);

/* A server session on fd, non-blocking. Returns 0 or a GnuTLS error code. */
int tls_session_new(const struct tls_ctx *ctx, int fd, gnutls_session_t *session_r);

/* Cipher strength in bits of an established session (for plaintextmincipher). */
unsigned tls_session_bits(gnutls_session_t session);

#endif
