/* POP3 command lines (RFC 1939 section 3, RFC 2449 section 4) as a pure function of bytes. */
#ifndef HALYARD_POPD_PARSE_H
#define HALYARD_POPD_PARSE_H

#include <stddef.h>

/* RFC 2449 section 4: commands are at most 255 octets including CRLF; AUTH initial responses
 * (RFC 5034) may be longer, so lines up to POP_LINE_MAX are read. */
#define POP_LINE_MAX    8192
#define POP_KEYWORD_MAX 4
#define POP_ARGS_MAX    2

enum pop_parse_result {
    POP_PARSE_OK,
    POP_PARSE_NEED_MORE,
    POP_PARSE_TOO_LONG, /* no line end within POP_LINE_MAX */
    POP_PARSE_ERROR,    /* line consumed; not a command (empty, keyword too long, NUL, ...) */
};

struct pop_arg {
    const char *s; /* points into the caller's buffer; not NUL-terminated */
    size_t len;
};

struct pop_cmd {
    char keyword[POP_KEYWORD_MAX + 1]; /* upper case */
    struct pop_arg args[POP_ARGS_MAX]; /* the first arguments, split at single spaces */
    size_t nargs;                      /* how many there are (more are counted, not kept) */
    struct pop_arg rest; /* everything after the keyword's space (PASS allows spaces) */
};

/* Parses one line of data. */
enum pop_parse_result pop_parse_line(const char *data, size_t len, struct pop_cmd *cmd,
                                     size_t *consumed_r);

/* A message number argument: 1..max, else 0. */
unsigned long pop_parse_number(const struct pop_arg *arg, unsigned long max);

#endif
