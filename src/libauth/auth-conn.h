/* What a client connection offers SASL (auth_sasl_setup filled from the connection: peer,
 * service, TLS channel bindings, verified client certificate), shared by imapd and popd. */
#ifndef HALYARD_AUTH_CONN_H
#define HALYARD_AUTH_CONN_H

#include <stdbool.h>

#include "auth-sasl.h"
#include "server.h"

/* The setup and what it points into (the certificate's fields are the connection's; the
 * channel-binding strings are owned here). */
struct auth_sasl_conn {
    struct auth_sasl_setup setup;
    struct auth_cert cert;
    char *cb_unique, *cb_exporter;
};

/* password_ok: password mechanisms are allowed on this connection; proxy_ok: PLAIN's
 * authorisation id may name another user (IMAP's webmail front end). Release with
 * auth_sasl_conn_clear. */
void auth_sasl_conn_get(struct auth_sasl_conn *c, struct conn *conn, struct store *st,
                        bool password_ok, bool proxy_ok);
void auth_sasl_conn_clear(struct auth_sasl_conn *c);

#endif
