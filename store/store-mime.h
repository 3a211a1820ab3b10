/* ENVELOPE and BODYSTRUCTURE of a message, computed once at delivery and kept as IMAP text. */
#ifndef HALYARD_STORE_MIME_H
#define HALYARD_STORE_MIME_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Reads the message in buf[0..len) (CRLF or LF line ends) and fills mime_r with ENVELOPE,
 * BODYSTRUCTURE and BODY as RFC 3501 section 7.4.2 spells them and the header fields SEARCH
 * reads (store_hfields_compute; all owned by the caller), and *header_size_r with the octets of the
 * top-level header block including its blank line. A pure function of the bytes: malformed input
 * gets the most sensible reading, never a failure. Nesting deeper than STORE_MIME_MAX_DEPTH is
 * shown as opaque parts. */
#define STORE_MIME_MAX_DEPTH 32
void store_mime_compute(const char *buf, size_t len, struct store_mime *mime_r,
                        uint32_t *header_size_r);

/* The hfields part of a MIME record (store-hfield.h) for the message in msg[0..len) whose
 * header block takes header_size octets, appended to out. */
struct store_buf;
void store_hfields_compute(const char *msg, size_t len, size_t header_size, struct store_buf *out);

/* g_mime_init(), once per process (GMime's own is not thread-safe). */
void store_gmime_init(void);

#endif
