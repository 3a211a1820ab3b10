/* LMTP (RFC 2033) command lines and the DATA stream, as pure functions of bytes: no socket, no
 * store. lmtpd feeds them from its input buffer; the unit tests feed them byte by byte. */
#ifndef HALYARD_LMTPD_PARSE_H
#define HALYARD_LMTPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5321 section 4.5.3.1: 512-octet command lines, 256-octet paths; extensions (SIZE, BODY)
 * may lengthen the line, so the command limit leaves room for them. */
#define LMTP_LINE_MAX 2048
#define LMTP_PATH_MAX 256

enum lmtp_verb {
    LMTP_LHLO,
    LMTP_MAIL,
    LMTP_RCPT,
    LMTP_DATA,
    LMTP_RSET,
    LMTP_NOOP,
    LMTP_QUIT,
    LMTP_VRFY,
    LMTP_HELO, /* HELO and EHLO are SMTP's: LMTP answers them with an error (RFC 2033 4.1) */
};

enum lmtp_body {
    LMTP_BODY_7BIT,
    LMTP_BODY_8BITMIME,
};

struct lmtp_cmd {
    enum lmtp_verb verb;
    char arg[LMTP_PATH_MAX + 1]; /* LHLO domain, MAIL/RCPT path without <>, VRFY text */
    bool has_size;
    uint64_t size; /* MAIL ... SIZE= */
    enum lmtp_body body;
};

enum lmtp_parse_result {
    LMTP_PARSE_OK,
    LMTP_PARSE_NEED_MORE, /* no line end yet */
    LMTP_PARSE_TOO_LONG,  /* no line end within LMTP_LINE_MAX */
    LMTP_PARSE_ERROR,     /* line consumed; *reply_r is the full SMTP reply (code + text) */
};

/* Parses one command line off data. On OK and ERROR, *consumed_r is the line's length. */
enum lmtp_parse_result lmtp_parse_line(const char *data, size_t len, struct lmtp_cmd *cmd,
                                       size_t *consumed_r, const char **reply_r);

/* The DATA decoder: removes dot-stuffing, turns bare LF into CRLF, stops after <CRLF>.<CRLF>. */
struct lmtp_data {
    int state;
    bool done;
    uint64_t size; /* body octets produced so far */
};

void lmtp_data_init(struct lmtp_data *d);

/* Consumes up to len bytes of in, writing body bytes to out, which must hold 2 * len bytes.
 * Returns how many input bytes were used: fewer than len only when the end of data was reached
 * (d->done), so what follows belongs to the next command. *out_len_r is set to what was written. */
size_t lmtp_data_feed(struct lmtp_data *d, const char *in, size_t len, char *out,
                      size_t *out_len_r);

#endif
