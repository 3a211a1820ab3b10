/* imapd's session state and command table. */
#ifndef HALYARD_IMAPD_H
#define HALYARD_IMAPD_H

#include <stdbool.h>
#include <stddef.h>

#include "imapd-parse.h"
#include "server.h"

/* RFC 3501 section 3 states, as a bit set so a command can name where it is valid. */
enum imap_state {
    IMAP_STATE_NOT_AUTH = 1u << 0,
    IMAP_STATE_AUTH = 1u << 1,
    IMAP_STATE_SELECTED = 1u << 2,
    IMAP_STATE_LOGOUT = 1u << 3,
};
#define IMAP_STATE_ANY (IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

struct imap_session {
    struct conn *conn;
    enum imap_state state;
    struct imap_parser *parser; /* holds nothing between commands */
};

/* cmd (see imapd-parse.h) is freed when the handler returns. */
typedef void imap_handler(struct imap_session *s, const struct imap_cmd *cmd);

struct imap_command {
    const char *name;
    imap_handler *handler;
    unsigned states; /* enum imap_state bits where the command is valid */
};

/* Finds a command by name (case-insensitive); NULL when unknown. */
const struct imap_command *imap_command_find(const char *name, size_t len);

/* Writes the capability list (without "* CAPABILITY ") for this session's state. */
void imap_capability_write(struct imap_session *s);

/* Replies. */
void imap_reply_tagged(struct imap_session *s, const struct imap_cmd *cmd, const char *status,
                       const char *text);

#endif
