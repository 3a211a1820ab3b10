/* auth_sasl_setup from a connection: the one place imapd and popd describe a client to SASL. */
#include <stdlib.h>
#include <string.h>

#include "auth-conn.h"
#include "tls.h"

void auth_sasl_conn_get(struct auth_sasl_conn *c, struct conn *conn, struct store *st,
                        bool password_ok, bool proxy_ok)
{
    const struct tls_peer_cert *pc = conn_tls_peer_cert(conn);

    memset(c, 0, sizeof(*c));
    c->setup.store = st;
    c->setup.conf = server_conf(conn_server(conn));
    c->setup.password_ok = password_ok;
    c->setup.proxy_ok = proxy_ok;
    c->setup.peer.service = conn_service(conn);
    c->setup.has_peer = conn_peer(conn, &c->setup.peer.client) == 0;
    c->setup.cb_unique = c->cb_unique = conn_tls_channel_binding(conn, false);
    c->setup.cb_exporter = c->cb_exporter = conn_tls_channel_binding(conn, true);
    if (pc != NULL) {
        c->cert = (struct auth_cert){pc->subject, pc->uid, pc->email, pc->cn};
        c->setup.cert = &c->cert;
    }
}

void auth_sasl_conn_clear(struct auth_sasl_conn *c)
{
    free(c->cb_unique);
    free(c->cb_exporter);
    c->cb_unique = c->cb_exporter = NULL;
}
