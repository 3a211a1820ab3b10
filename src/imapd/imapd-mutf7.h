/* Mailbox names in modified UTF-7 (RFC 3501 section 5.1.3), to and from UTF-8: pure functions
 * of bytes, no allocation. */
#ifndef HALYARD_IMAPD_MUTF7_H
#define HALYARD_IMAPD_MUTF7_H

#include <stddef.h>

/* Output buffer sizes that always suffice, the terminating NUL included: decoding never
 * lengthens a name; encoding at worst turns one octet into five ("\x01" -> "&AAE-"). */
#define IMAP_MUTF7_DECODE_MAX(len) ((len) + 1)
#define IMAP_MUTF7_ENCODE_MAX(len) (5 * (len) + 1)

/* Decodes in (len octets) into out as NUL-terminated UTF-8. Only the canonical form is
 * accepted, so that encoding the result gives in back: printable ASCII stands for itself
 * ("&" as "&-"), everything else is in "&...-" runs of modified BASE64 of UTF-16 with zero
 * padding, never two runs in a row and never a printable ASCII character inside one.
 * Returns 0, -EINVAL for input that is not that, -ENOBUFS when out_size is too small. */
int imap_mutf7_decode(const char *in, size_t len, char *out, size_t out_size, size_t *out_len_r);

/* Encodes UTF-8 (len octets; no NUL, no overlong forms, no surrogates) into out as
 * NUL-terminated modified UTF-7. Returns 0, -EINVAL, or -ENOBUFS. */
int imap_mutf7_encode(const char *in, size_t len, char *out, size_t out_size, size_t *out_len_r);

#endif
