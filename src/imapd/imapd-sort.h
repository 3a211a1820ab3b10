/* SORT (RFC 5256) without the store: the criteria list, the sort keys taken from a message's
 * ENVELOPE text, the base subject (section 2.1), and the ordering (i;ascii-casemap, ties by
 * sequence number). */
#ifndef HALYARD_IMAPD_SORT_H
#define HALYARD_IMAPD_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd-parse.h"

/* Starts GMime once (also done on first use); call before threads run, as g_mime_init() is not
 * thread-safe. */
void imap_sort_init(void);

enum imap_sort_key {
    IMAP_SORT_ARRIVAL,
    IMAP_SORT_CC,
    IMAP_SORT_DATE,
    IMAP_SORT_FROM,
    IMAP_SORT_SIZE,
    IMAP_SORT_SUBJECT,
    IMAP_SORT_TO,
};

#define IMAP_SORT_CRITERIA_MAX 16

struct imap_sort_criterion {
    enum imap_sort_key key;
    bool reverse;
};

/* Parses the parenthesised list arg ("(REVERSE DATE SUBJECT)") into crit_r (room for
 * IMAP_SORT_CRITERIA_MAX). Returns the number of criteria, or -1 with *why_r set to the text
 * of the BAD reply. */
int imap_sort_criteria_parse(const struct imap_arg *arg, struct imap_sort_criterion *crit_r,
                             const char **why_r);

/* Whether the criteria need the ENVELOPE (anything but ARRIVAL and SIZE). */
bool imap_sort_needs_envelope(const struct imap_sort_criterion *crit, size_t n);

/* Whether SORT accepts the charset (UTF-8 and US-ASCII, any case). */
bool imap_sort_charset_ok(const char *charset);

/* One message as SORT sees it. Strings are owned (imap_sort_msg_clear) and never NULL after
 * imap_sort_msg_from_envelope; addresses are the first address's addr-mailbox. */
struct imap_sort_msg {
    uint32_t seq, uid;
    int64_t arrival, date; /* seconds since the epoch; date is the sent date, in UTC */
    uint64_t size;
    char *from, *to, *cc, *subject; /* subject: the base subject */
};

/* Fills date, from, to, cc and subject of m from an ENVELOPE text as the store keeps it
 * (RFC 3501 7.4.2 form, strings quoted or literal). The date falls back to m->arrival when
 * Date is missing or cannot be parsed (RFC 5256 section 2.2). Returns -1 when the text is not
 * an envelope or memory runs out; the fields are then "" and arrival. */
int imap_sort_msg_from_envelope(struct imap_sort_msg *m, const char *envelope);

void imap_sort_msg_clear(struct imap_sort_msg *m);

/* The base subject of a raw Subject value (RFC 5256 section 2.1): RFC 2047 words decoded to
 * UTF-8, white space folded, "Re:", "Fwd:", "[blob]", "(fwd)" and "[fwd: ...]" removed.
 * Returns a malloc'd string, NULL when out of memory. */
char *imap_sort_base_subject(const char *raw);

/* i;ascii-casemap (RFC 4790 9.2): octets compared with a-z as A-Z. */
int imap_sort_casemap_cmp(const char *a, const char *b);

/* Orders msgs by the criteria, ties by ascending sequence number. */
void imap_sort_msgs(struct imap_sort_msg *msgs, size_t n, const struct imap_sort_criterion *crit,
                    size_t ncrit);

#endif
