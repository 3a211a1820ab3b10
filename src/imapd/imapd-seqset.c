/* Sequence sets: parse "2,4:7,9" / "1:*" into ranges, then resolve "*" against a mailbox and
 * merge, so FETCH, STORE, SEARCH and COPY walk plain sorted ranges. */
#include "imapd-seqset.h"

#include <stdlib.h>

#include "imapd-arena.h"
#include "imapd-parse.h"

/* One seq-number at s[*i]: "*" or an nz-number. */
static int seqset_number(const char *s, size_t len, size_t *i, uint32_t *n_r, const char **error_r)
{
    uint64_t n = 0;
    size_t start = *i;

    if (*i < len && s[*i] == '*') {
        (*i)++;
        *n_r = IMAP_SEQ_STAR;
        return 0;
    }
    while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
        n = n * 10 + (uint64_t)(s[*i] - '0');
        if (n > UINT32_MAX) {
            *error_r = imap_text_seqset_big;
            return -1;
        }
        (*i)++;
    }
    if (*i == start) {
        *error_r = imap_text_seqset_invalid;
        return -1;
    }
    if (s[start] == '0') {
        *error_r = n == 0 && *i == start + 1 ? imap_text_seqset_zero : imap_text_seqset_invalid;
        return -1;
    }
    *n_r = (uint32_t)n;
    return 0;
}

int imap_seqset_parse(const char *s, size_t len, struct imap_arena *a, struct imap_seqset *set_r,
                      const char **error_r)
{
    size_t count = 1, i = 0, k = 0;

    for (size_t j = 0; j < len; j++)
        count += s[j] == ',';
    set_r->count = 0;
    set_r->ranges = imap_arena_alloc(a, count * sizeof(*set_r->ranges));
    if (set_r->ranges == NULL) {
        *error_r = imap_text_nomem;
        return -1;
    }
    for (;;) {
        struct imap_seq_range *r = &set_r->ranges[k++];
        if (seqset_number(s, len, &i, &r->lo, error_r) < 0)
            return -1;
        r->hi = r->lo;
        if (i < len && s[i] == ':') {
            i++;
            if (seqset_number(s, len, &i, &r->hi, error_r) < 0)
                return -1;
            if (r->lo != IMAP_SEQ_STAR && r->hi != IMAP_SEQ_STAR && r->lo > r->hi) {
                uint32_t t = r->lo; /* "7:4" is "4:7" (RFC 3501 section 9, seq-range) */
                r->lo = r->hi;
                r->hi = t;
            }
        }
        if (i == len)
            break;
        if (s[i] != ',') {
            *error_r = imap_text_seqset_invalid;
            return -1;
        }
        i++;
    }
    set_r->count = k;
    return 0;
}

static int seqset_cmp(const void *x, const void *y)
{
    const struct imap_seq_range *a = x, *b = y;

    return a->lo < b->lo ? -1 : a->lo > b->lo;
}

void imap_seqset_resolve(struct imap_seqset *set, uint32_t max)
{
    size_t out = 0;

    for (size_t i = 0; i < set->count; i++) {
        struct imap_seq_range *r = &set->ranges[i];
        if (r->lo == IMAP_SEQ_STAR)
            r->lo = max;
        if (r->hi == IMAP_SEQ_STAR)
            r->hi = max;
        if (r->lo > r->hi) {
            uint32_t t = r->lo;
            r->lo = r->hi;
            r->hi = t;
        }
    }
    if (set->count == 0)
        return;
    qsort(set->ranges, set->count, sizeof(*set->ranges), seqset_cmp);
    for (size_t i = 1; i < set->count; i++) {
        struct imap_seq_range *last = &set->ranges[out];
        const struct imap_seq_range *r = &set->ranges[i];
        if (last->hi == UINT32_MAX || r->lo <= last->hi + 1) {
            if (r->hi > last->hi)
                last->hi = r->hi;
        } else {
            set->ranges[++out] = *r;
        }
    }
    set->count = out + 1;
}

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
    size_t lo = 0, hi = set->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (n < set->ranges[mid].lo)
            hi = mid;
        else if (n > set->ranges[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}
