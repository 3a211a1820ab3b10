/* FETCH's sectioned attributes as a pure function of one atom: BODY[section]<partial>,
 * BODY.PEEK[...], BINARY[part]<partial>, BINARY.PEEK[...], BINARY.SIZE[part] (RFC 3501 6.4.5
 * and section 9 fetch-att; RFC 3516 section 4.1). The parser keeps "[...]" inside the atom. */
#ifndef HALYARD_IMAPD_SECTION_H
#define HALYARD_IMAPD_SECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arena;

enum imap_fetch_body {
    IMAP_FETCH_BODY,
    IMAP_FETCH_BODY_PEEK,
    IMAP_FETCH_BINARY,
    IMAP_FETCH_BINARY_PEEK,
    IMAP_FETCH_BINARY_SIZE,
};

enum imap_section_text {
    IMAP_SECTION_WHOLE, /* [] or [1.2]: the message or the part, headers included */
    IMAP_SECTION_HEADER,
    IMAP_SECTION_HEADER_FIELDS,
    IMAP_SECTION_HEADER_FIELDS_NOT,
    IMAP_SECTION_TEXT,
    IMAP_SECTION_MIME, /* only after a part number */
};

struct imap_section {
    enum imap_fetch_body item;
    uint32_t *parts; /* the part path "1.2.3"; nparts == 0 for the whole message */
    unsigned nparts;
    enum imap_section_text text;
    const char **fields; /* HEADER.FIELDS[.NOT]: the field names, NUL-terminated */
    unsigned nfields;
    bool partial; /* <offset.length> given */
    uint32_t offset, length;
};

/* Parses an atom's text. Returns 1 with *r filled (arrays in a), 0 when the atom is not a
 * sectioned attribute at all (no '[' after one of the names above: "FLAGS", "BODY"), or -1
 * with *error_r set to the BAD text. Field names may be atoms or quoted strings. */
int imap_section_parse(const char *s, size_t len, struct imap_arena *a, struct imap_section *r,
                       const char **error_r);

#endif
