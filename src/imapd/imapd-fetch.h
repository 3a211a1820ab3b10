/* FETCH's parts (imapd-fetch*.c): where a section lies in a body file, the filters that turn
 * its octets into what goes on the wire (transfer decoding for BINARY, header field selection),
 * and the reply that streams them to the client. */
#ifndef HALYARD_IMAPD_FETCH_H
#define HALYARD_IMAPD_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd-section.h"

struct imap_session;

/* Body octets read per round, in the job and while streaming. */
#define IMAP_FETCH_CHUNK 65536

/* --- filters (imapd-fetch-filter.c): pure functions of the bytes fed --- */

enum imap_filter_kind {
    IMAP_FILTER_RAW,        /* octets as stored */
    IMAP_FILTER_BASE64,     /* RFC 2045 6.8, after raw_prefix octets passed as they are */
    IMAP_FILTER_QP,         /* RFC 2045 6.7, likewise */
    IMAP_FILTER_FIELDS,     /* HEADER.FIELDS: the named fields of a header block, then CRLF */
    IMAP_FILTER_FIELDS_NOT, /* HEADER.FIELDS.NOT: the others */
};

#define IMAP_FILTER_NAME_MAX 1000 /* a field name longer than this is not one asked for */

struct imap_filter {
    enum imap_filter_kind kind;
    uint64_t raw_left; /* octets still to pass before decoding starts */
    int state;         /* GMime's decoder state */
    uint32_t save;
    const char *const *fields; /* FIELDS: the names asked for (not owned) */
    unsigned nfields;
    bool at_bol, keep, in_name;
    size_t nlen;
    char name[IMAP_FILTER_NAME_MAX];
};

void imap_filter_init(struct imap_filter *f, enum imap_filter_kind kind, uint64_t raw_prefix,
                      const char *const *fields, unsigned nfields);
/* Room out needs for n input octets (and for imap_filter_finish). */
#define IMAP_FILTER_OUT_MAX(n) ((n) + IMAP_FILTER_NAME_MAX + 8)
/* Feeds in[0..n); writes what comes out to out and returns its length. */
size_t imap_filter_step(struct imap_filter *f, const char *in, size_t n, char *out);
/* The end of the input: writes the tail (FIELDS: the closing blank line, after a CRLF for a
 * last field that had none) and returns its length (at most 4). */
size_t imap_filter_finish(struct imap_filter *f, char *out);

/* --- sections (imapd-fetch-part.c) --- */

enum imap_cte { IMAP_CTE_IDENTITY, IMAP_CTE_BASE64, IMAP_CTE_QP, IMAP_CTE_UNKNOWN };

/* Where a section's octets lie in a body file of size octets. */
struct imap_part_loc {
    bool found;          /* false: no such part (the answer is an empty string) */
    uint64_t start, end; /* the octets to filter */
    enum imap_filter_kind filter;
    uint64_t raw_prefix; /* BINARY[] of a whole message: its header is passed as it is */
    enum imap_cte cte;   /* BINARY: the part's Content-Transfer-Encoding */
};

/* Finds sec in the message whose body file is fd (size octets, header_size octets of header
 * with its blank line), reading it in bounded rounds. -1 on a read error. A part path the
 * message does not have gives found false. */
int imap_part_locate(int fd, uint64_t size, uint64_t header_size, const struct imap_section *sec,
                     struct imap_part_loc *loc_r);

/* --- the streamed reply (imapd-fetch-stream.c) --- */

/* A stretch of body octets sent between two pieces of formatted text. */
struct imap_fetch_seg {
    size_t text_end; /* formatted octets of the batch that go before this stretch */
    int fd;          /* owned by the batch */
    uint64_t off, end;
    struct imap_filter filter;
    uint64_t skip, left; /* of the filter's output: octets to drop, then to send */
};

/* One round of a FETCH's reply: formatted text with stretches of body octets between. */
struct imap_fetch_batch {
    char *text;
    size_t len, sent;
    struct imap_fetch_seg *segs;
    size_t nsegs, cur;
    int *fds;
    size_t nfds;
    char *io; /* the stretches' read and filter buffer, made at the first */
};

void imap_fetch_batch_free(struct imap_fetch_batch **b);

/* Sends the next piece of the batch: 1 when something went, 0 once it has all gone, -1 when
 * the connection failed (or was closed because a body could not be read). */
int imap_fetch_batch_send(struct imap_session *s, struct imap_fetch_batch *b);

/* imapd-fetch.c: the session's output drained (on_drain): go on with the FETCH in flight. */
void imap_fetch_drain(struct imap_session *s);
/* The connection is going away: drop a FETCH in flight. */
void imap_fetch_abort(struct imap_session *s);

#endif
