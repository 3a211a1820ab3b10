/* The store's notify plugin (Sun's libibiff): after each committed change, an event to enpd
 * under local.store.notifyplugin.enseventkey, %M replaced by the mailbox, with a body in Sun's
 * iBiff form. Publishing never blocks and never fails the change: while enpd is away events
 * are dropped, and the connection is tried again with back-off. */
#ifndef HALYARD_NOTIFY_H
#define HALYARD_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "store.h"

/* Installs (local.store.notifyplugin set) or removes the commit hook on st, taking the
 * REFRESHABLE event switches from conf; process names the publisher in events ("lmtpd"). Call
 * at start and on every reload. */
void notify_configure(struct store *st, const struct conf *conf, const char *process);

/* Login and Logout events (Sun's types) under the user's INBOX key, naming the service ("imap",
 * "pop") and the client's address; nothing unless the plugin and the event's switch are on. */
void notify_session(const char *user, const char *service, const char *client, bool login);
/* OverQuota: a delivery to user's mailbox (NULL: INBOX) was refused for the quota. */
void notify_overquota(const char *user, const char *mailbox);

/* Whether an event's body (as enpd forwards it) says a mailbox's messages changed, as opposed
 * to a login, a logout or a quota event: what an IMAP IDLE subscriber must look at. */
bool notify_event_is_message(const char *body, size_t len);

/* The mailbox's name in events and keys, as Sun's mailboxName: "alice" for alice's INBOX,
 * "alice/Sent" for her folder Sent. */
void notify_mailbox_name(char *buf, size_t size, const char *user, const char *mailbox);

/* The event key for a mailbox name: the key format with %M replaced by the name,
 * percent-encoded so the key has no blanks. Returns false when it does not fit. */
bool notify_event_key(char *buf, size_t size, const char *keyfmt, const char *mailbox_name);

/* Where enpd is and what keys look like: local.store.notifyplugin.{enshost,ensport,
 * enseventkey}, read by the publisher here and by imapd's IDLE subscriber alike. */
struct notify_target {
    char host[256], port[16], keyfmt[1024];
};
void notify_target_read(const struct conf *conf, struct notify_target *t);

/* Starts a non-blocking TCP connection to enpd (a numeric host only: a name lookup could
 * block the caller), with TCP_NODELAY and SO_KEEPALIVE. Returns the socket, *pending true while
 * the connect is still under way; -1 with a reason in *why_r. */
int notify_target_connect(const struct notify_target *t, bool *pending, const char **why_r);

/* IMAP IDLE's rule (the seed): events must be published (the plugin loaded), the key must not
 * be the default and must end in %M, and every mailbox must publish. NULL when IDLE may be
 * announced, else the setting that is missing, for the journal. */
const char *notify_idle_missing(const struct conf *conf);

#endif
