/* popd's session: RFC 1939's AUTHORIZATION / TRANSACTION / UPDATE states over the store's
 * INBOX, with the maildrop locked for the session. */
#ifndef HALYARD_POPD_H
#define HALYARD_POPD_H

#include <stdbool.h>
#include <stdint.h>

#include "auth-sasl.h"
#include "auth.h"
#include "popd-parse.h"
#include "server.h"
#include "store.h"

enum pop_state { POP_AUTHORIZATION, POP_TRANSACTION, POP_UPDATE };

struct pop_msg {
    uint32_t uid;
    uint64_t size;
    uint32_t body_mailbox, body_uid; /* the body file, known from login: RETR opens it directly */
    bool deleted, retrieved, seen;
};

struct pop_session {
    struct conn *conn;
    enum pop_state state;
    bool discarding;
    bool sasl_pending; /* the next line is the client's SASL response, not a command */
    unsigned failures, commands;
    char login_id[AUTH_ID_MAX + 1]; /* from USER; "" until then */
    /* the login job */
    char *password; /* owned while the job runs, wiped after */
    /* AUTH: the exchange, the response its next step takes, what the step says */
    struct auth_sasl *sasl;
    char *sasl_input; /* base64; NULL: none yet */
    size_t sasl_input_len;
    enum auth_sasl_rc sasl_step;
    char *sasl_out;  /* challenge to send */
    bool sasl_final; /* the server's last SASL message was sent: an empty line ends AUTH */
    struct auth_reply auth;
    struct auth_peer *peer; /* during the login job: where the login comes from */
    int lock_fd;
    bool maildrop_busy; /* another POP session holds the lock */
    struct store_error err;
    enum store_err rc;
    /* the maildrop */
    char user[STORE_USER_MAX + 1];
    uint32_t mailbox_id, uidvalidity;
    struct pop_msg *msgs;
    unsigned long nmsgs;
    /* RETR / TOP in progress */
    int body_fd;
    uint64_t body_off, body_size;
    long top_lines; /* -1: whole message; else body lines still to send after the header */
    bool in_header, at_bol;
    unsigned line_len; /* octets of the current line so far */
};

/* The process's store (main.c). */
struct store *popd_store(void);

/* Authorization state: USER, PASS, AUTH, APOP, STLS. Return false when the keyword is not one
 * of theirs. */
bool popd_auth_command(struct pop_session *s, const struct pop_cmd *cmd);

/* Transaction state: STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET, QUIT. */
bool popd_mail_command(struct pop_session *s, const struct pop_cmd *cmd);

/* QUIT in the transaction state: deletions happen now (RFC 1939 section 6). */
void popd_update(struct pop_session *s);

/* Continues a RETR/TOP (skeleton's on_drain). */
void popd_stream_more(struct pop_session *s);

/* Releases the maildrop and frees the message list. */
void popd_maildrop_release(struct pop_session *s);

/* A line answering an AUTH challenge (RFC 5034). */
void popd_sasl_input(struct pop_session *s, const char *b64, size_t len);
/* Drops an AUTH in progress (the connection is closing). */
void popd_sasl_close(struct pop_session *s);

/* CAPA's response (RFC 2449), which depends on the state and TLS. */
void popd_write_capa(struct pop_session *s);

#endif
