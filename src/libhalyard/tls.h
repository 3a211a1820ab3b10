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

/* A client certificate that the CA file verified, as certificate login reads it. */
struct tls_peer_cert {
    char *subject; /* RFC 4514 text */
    char *uid;     /* subject UID (0.9.2342.19200300.100.1.1), NULL when absent */
    char *email;   /* subject emailAddress (1.2.840.113549.1.9.1, Sun's "e"), NULL when absent */
    char *cn;      /* subject CN, NULL when absent */
};

/* After the handshake: the client's certificate, verified against the CA file (chain, dates,
 * and the TLS web client key purpose when the certificate names purposes). Returns 1 with
 * *cert_r (free with tls_peer_cert_free), 0 when the client sent none or no CA file is set, -1
 * when it does not verify (why_r: a line for the journal, with the subject). */
int tls_session_peer_cert(const struct tls_ctx *ctx, gnutls_session_t session,
                          struct tls_peer_cert **cert_r, char *why_r, size_t why_size);
void tls_peer_cert_free(struct tls_peer_cert **cert);

/* Channel-binding data of the session, base64 (caller frees): type GNUTLS_CB_TLS_UNIQUE (TLS
 * 1.2 only) or GNUTLS_CB_TLS_EXPORTER (TLS 1.3, or 1.2 with extended master secret). NULL when
 * the session has none of that type. */
char *tls_session_channel_binding(gnutls_session_t session, gnutls_channel_binding_t type);

#endif
