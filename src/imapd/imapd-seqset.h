/* Sequence sets (RFC 3501 section 9: "2,4:7,9", "1:*", "*:4") as a pure function of bytes,
 * and the resolved form commands iterate over. */
#ifndef HALYARD_IMAPD_SEQSET_H
#define HALYARD_IMAPD_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arena;

/* "*" as parsed: the largest number in use, known only when the set is applied. 0 is never a
 * valid seq-number, so it cannot be confused with one. */
#define IMAP_SEQ_STAR 0u

/* lo <= hi once resolved; as parsed, either may be IMAP_SEQ_STAR. */
struct imap_seq_range {
    uint32_t lo, hi;
};

struct imap_seqset {
    struct imap_seq_range *ranges; /* in the arena given to imap_seqset_parse() */
    size_t count;
};

/* Parses len octets of s (an atom's text). Numbers are nz-number (1..4294967295, no leading
 * zero); "a:b" is kept with a <= b unless one of them is "*". Returns 0, or -1 with *error_r
 * set to the BAD text. The ranges are allocated in a (NULL error "Out of memory"). */
int imap_seqset_parse(const char *s, size_t len, struct imap_arena *a, struct imap_seqset *set_r,
                      const char **error_r);

/* Applies the set to a mailbox whose largest number (message count or highest UID) is max, 0
 * when it is empty: "*" becomes max, each range runs low to high (so "559:*" with max 500 is
 * 500:559, as RFC 3501 6.4.8 wants), and ranges are sorted and merged. In place. */
void imap_seqset_resolve(struct imap_seqset *set, uint32_t max);

/* Whether n is in a resolved set. */
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);

#endif
