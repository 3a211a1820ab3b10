/* The header fields SEARCH reads, for the store and imapd alike: one way to walk a header block
 * and decode a field's value, and the copy of the common fields that delivery keeps in the
 * message's MIME record, so SEARCH FROM / TO / CC / BCC / SUBJECT and HEADER with those names
 * answer from the index instead of reading every body file. Pure functions of bytes. */
#ifndef HALYARD_STORE_HFIELD_H
#define HALYARD_STORE_HFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Octets of a header block SEARCH looks at: fields past them are not seen (the block is read
 * whole, and RFC 5322 headers are rarely a few kB). */
#define STORE_HFIELD_BLOCK_MAX (1024u * 1024)
/* Decoded octets of one field (all its occurrences) that the record may hold; a field with
 * more is left out and SEARCH reads the file for it. */
#define STORE_HFIELD_FIELD_MAX 2048u

/* One field of a header block: the name (without the colon) and the raw value (after the
 * colon, folds included, up to and without the CRLF that ends the field). */
struct store_hfield {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};

/* The field at *pos in hdr[0..len), advancing *pos; false at the end of the block (a blank
 * line or len). Lines without a colon are skipped. */
bool store_hfield_next(const char *hdr, size_t len, size_t *pos, struct store_hfield *f_r);

/* A value unfolded (RFC 5322 2.2.3: CRLF before white space removed) with white space at
 * both ends trimmed, into out (room for len + 1 octets, NUL-terminated). Returns its length. */
size_t store_hfield_unfold(const char *value, size_t len, char *out);

/* The text SEARCH matches for a raw value: unfolded, RFC 2047 encoded words decoded to UTF-8
 * (GMime; the unfolded octets when that fails). Caller frees; NULL when out of memory. */
char *store_hfield_decode(const char *raw, size_t len);

/* The fields the record holds, by id. */
enum store_hfield_id {
    STORE_HF_SUBJECT,
    STORE_HF_FROM,
    STORE_HF_TO,
    STORE_HF_CC,
    STORE_HF_BCC,
    STORE_HF_MESSAGE_ID,
    STORE_HF_IN_REPLY_TO,
    STORE_HF_COUNT
};

/* The id of a field name (any case), or -1 when the record does not hold that field. */
int store_hfield_id(const char *name, size_t len);

/* The record's part (store_mime.hfields): a byte with one bit per id, set when every
 * occurrence of that field in the header block is listed, then the entries, by id and in header
 * order within one id, each an id byte, a 16-bit big-endian length and the decoded value
 * (store_hfield_decode). */

/* Whether the part lists every occurrence of field id (false for a malformed or absent part,
 * where SEARCH must read the file). */
bool store_hfields_covers(const unsigned char *part, size_t len, enum store_hfield_id id);
/* The next entry from *pos (start at 0); false at the end or at a malformed entry. */
bool store_hfields_next(const unsigned char *part, size_t len, size_t *pos,
                        enum store_hfield_id *id_r, const char **value_r, size_t *value_len_r);

#endif
