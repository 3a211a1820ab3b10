/* imapd's session state and command table. */
#ifndef HALYARD_IMAPD_H
#define HALYARD_IMAPD_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

/* RFC 3501 section 3 states, as a bit set so a command can name where it is valid. */
enum imap_state {
    IMAP_STATE_NOT_AUTH = 1u << 0,
    IMAP_STATE_AUTH = 1u << 1,
    IMAP_STATE_SELECTED = 1u << 2,
    IMAP_STATE_LOGOUT = 1u << 3,
};
#define IMAP_STATE_ANY (IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

/* RFC 7162 section 4 recommends accepting command lines of at least 8000 octets. */
#define IMAP_LINE_MAX 8192
#define IMAP_TAG_MAX  64

struct imap_session {
    struct conn *conn;
    enum imap_state state;
    bool discarding;            /* skipping the rest of an over-long line */
    char tag[IMAP_TAG_MAX + 1]; /* of the line being discarded */
};

/* A parsed command line: tag, command name and the raw argument text (may be empty). */
struct imap_cmd {
    const char *tag;
    size_t tag_len;
    const char *name;
    size_t name_len;
    const char *args;
    size_t args_len;
};

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
