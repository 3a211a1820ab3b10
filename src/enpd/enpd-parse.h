/* enpd's line protocol, parsed as a pure function of bytes (docs/enp.md):
 *   SUBSCRIBE key | UNSUBSCRIBE key | PUBLISH key body | PING | QUIT
 * Keywords are case-insensitive; a key is 1..ENP_KEY_MAX printable non-blank bytes; a body is
 * the rest of the line (printable, blanks allowed, may be empty). Lines end in LF or CRLF. */
#ifndef HALYARD_ENPD_PARSE_H
#define HALYARD_ENPD_PARSE_H

#include <stddef.h>

#define ENP_LINE_MAX 8192 /* bytes of one line, CRLF included */
#define ENP_KEY_MAX  1024

enum enp_verb {
    ENP_SUBSCRIBE,
    ENP_UNSUBSCRIBE,
    ENP_PUBLISH,
    ENP_PING,
    ENP_QUIT,
};

struct enp_cmd {
    enum enp_verb verb;
    const char *key; /* into the input; not NUL-terminated */
    size_t key_len;
    const char *body; /* PUBLISH only */
    size_t body_len;
};

enum enp_parse_result {
    ENP_PARSE_OK,
    ENP_PARSE_NEED_MORE, /* no whole line yet */
    ENP_PARSE_TOO_LONG,  /* no line end within ENP_LINE_MAX bytes */
    ENP_PARSE_ERROR, /* a whole line that is not a command; *used_r covers it, *why_r says why */
};

/* Parses the first line of data. On OK and ERROR, *used_r is the line's length with its end. */
enum enp_parse_result enp_parse_line(const char *data, size_t len, struct enp_cmd *cmd,
                                     size_t *used_r, const char **why_r);

#endif
