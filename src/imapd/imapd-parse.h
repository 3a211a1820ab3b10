/* The command-line splitter: a pure function of bytes (no socket), fed from the input buffer. */
#ifndef HALYARD_IMAPD_PARSE_H
#define HALYARD_IMAPD_PARSE_H

#include <stddef.h>
#include <sys/types.h>

#include "imapd.h"

enum imap_parse_result {
    IMAP_PARSE_OK,         /* cmd filled, *consumed_r bytes used */
    IMAP_PARSE_NEED_MORE,  /* no complete line yet */
    IMAP_PARSE_TOO_LONG,   /* no line end within IMAP_LINE_MAX bytes */
    IMAP_PARSE_BAD_TAG,    /* line consumed; no valid tag */
    IMAP_PARSE_NO_COMMAND, /* line consumed; tag but no command name */
};

/* Splits one CRLF-terminated (or bare LF) command line off data. */
enum imap_parse_result imap_parse_line(const char *data, size_t len, struct imap_cmd *cmd,
                                       size_t *consumed_r);

/* Whether c may appear in a tag: ASTRING-CHAR except '+' (RFC 3501 section 9). */
int imap_is_tag_char(unsigned char c);

#endif
