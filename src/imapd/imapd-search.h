/* SEARCH programs (RFC 3501 6.4.4, section 9 "search-key") without the store: the parser that
 * turns a command's arguments into a tree of keys, dates, and the text matching the evaluator
 * (imapd-search-eval.c) uses: case folding and a substring search over text that arrives in
 * chunks. Header blocks are walked with the store's store_hfield_next (store-hfield.h). */
#ifndef HALYARD_IMAPD_SEARCH_H
#define HALYARD_IMAPD_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imapd-parse.h"
#include "imapd-seqset.h"

struct imap_arena;

/* How deeply NOT, OR and parenthesised lists may nest (each adds one level to its operands).
 * RFC 3501 sets no bound; clients rarely pass 3. Deeper programs get BAD, so neither the
 * parser nor the evaluator, both recursive, can run out of stack. */
#define IMAP_SEARCH_DEPTH_MAX 32

enum imap_search_kind {
    IMAP_SK_ALL,
    IMAP_SK_AND, /* child: the operands (a parenthesised list, or the whole program) */
    IMAP_SK_OR,  /* child: two operands */
    IMAP_SK_NOT, /* child: one operand */
    IMAP_SK_FLAG,
    IMAP_SK_KEYWORD,
    IMAP_SK_RECENT,
    IMAP_SK_SEQSET,
    IMAP_SK_UIDSET,
    IMAP_SK_LARGER,
    IMAP_SK_SMALLER,
    IMAP_SK_BEFORE, /* INTERNALDATE's date */
    IMAP_SK_ON,
    IMAP_SK_SINCE,
    IMAP_SK_SENTBEFORE, /* the Date: field's date */
    IMAP_SK_SENTON,
    IMAP_SK_SENTSINCE,
    IMAP_SK_HEADER, /* also FROM, TO, CC, BCC and SUBJECT, with their field names */
    IMAP_SK_BODY,
    IMAP_SK_TEXT,
};

/* System flags as SEARCH names them (the evaluator maps them to the store's bits). */
enum imap_search_flag {
    IMAP_SF_SEEN,
    IMAP_SF_ANSWERED,
    IMAP_SF_FLAGGED,
    IMAP_SF_DELETED,
    IMAP_SF_DRAFT,
};

/* What evaluating a key needs, cheapest first: the message record, the MIME record's copy of
 * the common header fields (HEADER keys on those fields; the evaluator sets it, the parser
 * leaves HEADER keys at the header block), the header block, or the body. */
enum imap_search_cost {
    IMAP_SEARCH_COST_RECORD,
    IMAP_SEARCH_COST_INDEX,
    IMAP_SEARCH_COST_HEADER,
    IMAP_SEARCH_COST_BODY,
};

/* One key; everything lives in the arena given to imap_search_parse(). */
struct imap_search_key {
    enum imap_search_kind kind;
    enum imap_search_cost cost;    /* the dearest key of this subtree */
    unsigned index;                /* 0..nkeys-1 in the program, for the evaluator's state */
    struct imap_search_key *next;  /* the next operand of the enclosing AND or OR */
    struct imap_search_key *child; /* AND, OR, NOT: the first operand */
    enum imap_search_flag flag;    /* FLAG */
    bool want;                     /* FLAG: set (SEEN) or clear (UNSEEN); KEYWORD: set */
    uint64_t number;               /* LARGER, SMALLER */
    int32_t day;                   /* dates: days since 1970-01-01 */
    const char *field;             /* HEADER: the field name */
    const char *str;               /* HEADER, BODY, TEXT: the string; KEYWORD: the keyword */
    size_t len;
    struct imap_seqset set; /* SEQSET, UIDSET: as parsed; the evaluator resolves it */
};

struct imap_search_program {
    struct imap_search_key *root; /* an AND of the program's keys */
    const char *charset;          /* as given after CHARSET, "US-ASCII" when absent */
    unsigned nkeys;
};

enum imap_search_status {
    IMAP_SEARCH_OK,
    IMAP_SEARCH_BAD,        /* a syntax error: *why_r (and *what_r) say which */
    IMAP_SEARCH_BADCHARSET, /* well formed, but the charset is not one we search in */
};

/* Parses the arguments from keys on into *prog_r, in a. With charset_allowed (SEARCH, not
 * SORT, which names its charset itself) a leading "CHARSET astring" is taken first. At least
 * one key must follow. depth_max bounds nesting (IMAP_SEARCH_DEPTH_MAX in imapd). On BAD,
 * *why_r is the text of the reply and *what_r the atom it is about, or NULL. */
enum imap_search_status imap_search_parse(const struct imap_arg *keys, bool charset_allowed,
                                          unsigned depth_max, struct imap_arena *a,
                                          struct imap_search_program *prog_r, const char **why_r,
                                          const char **what_r);

/* Whether SEARCH and SORT search in this charset: UTF-8 or US-ASCII, in any case. */
bool imap_search_charset_ok(const char *charset, size_t len);

/* RFC 3501 date-text ("1-Feb-1994", "01-feb-1994"; day checked against the month) as days
 * since 1970-01-01. Returns 0 or -1. */
int imap_search_parse_date(const char *s, size_t len, int32_t *day_r);

/* Days since 1970-01-01 of a proleptic Gregorian date, and of a time in seconds (its UTC
 * date; add a zone's offset first for a local date). */
int32_t imap_search_days_from_civil(int year, unsigned month, unsigned day);
int32_t imap_search_day_of(int64_t t);

/* The tree as one line, for tests and the fuzz target: "(AND (FLAG SEEN) (NOT (HEADER
 * \"FROM\" \"x\")))". Returns the length it needed (like snprintf). */
size_t imap_search_dump(const struct imap_search_key *k, char *buf, size_t size);

/* ---- text matching (imapd-search-text.c) ---- */

/* Case folding for substring search: each UTF-8 character mapped to the lower case of its
 * upper case (libunistring's simple mappings, so "ſ", "S" and "s" meet); invalid octets pass
 * unchanged. out must hold 2 * len octets. Stops before an incomplete sequence at the end
 * unless final; *used_r says how much of in was folded. Returns the octets written. */
size_t imap_search_fold(const char *in, size_t len, char *out, size_t *used_r, bool final);

/* A substring search over one text fed in chunks of any size: the needle is folded once,
 * each chunk is folded as it comes (a character split between chunks is held back), and the
 * last needle-length octets are kept, so a match across chunks is found. */
struct imap_search_matcher {
    char *needle; /* folded */
    size_t nlen;
    char *buf; /* the kept tail, then the folded chunk */
    size_t tail, cap;
    char pending[4]; /* an incomplete character at the end of the last chunk */
    size_t npending;
    bool found;
};

/* Returns 0, or -1 when out of memory. An empty needle is found in every text. */
int imap_search_matcher_init(struct imap_search_matcher *m, const char *needle, size_t len);
/* Starts a new text: no match spans two texts. */
void imap_search_matcher_reset(struct imap_search_matcher *m);
/* Feeds the next octets of the text; returns m->found. Out of memory is "not found". */
bool imap_search_matcher_feed(struct imap_search_matcher *m, const char *data, size_t len);
/* Ends the text (an incomplete character left over is matched as it is); returns m->found. */
bool imap_search_matcher_end(struct imap_search_matcher *m);
void imap_search_matcher_free(struct imap_search_matcher *m);

#endif
