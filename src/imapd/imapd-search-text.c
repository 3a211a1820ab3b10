/* SEARCH's text matching without the store: case folding (libunistring's simple mappings) and
 * a substring search over text fed in chunks with the needle's length kept between them. */
#include "imapd-search.h"

#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unistr.h>

size_t imap_search_fold(const char *in, size_t len, char *out, size_t *used_r, bool final)
{
    const uint8_t *s = (const uint8_t *)in;
    uint8_t *o = (uint8_t *)out;
    size_t i = 0;

    while (i < len) {
        if (s[i] < 0x80) {
            *o++ = s[i] >= 'A' && s[i] <= 'Z' ? s[i] + ('a' - 'A') : s[i];
            i++;
            continue;
        }
        ucs4_t uc;
        int r = u8_mbtoucr(&uc, s + i, len - i);
        if (r == -2 && !final)
            break; /* the rest of this character comes with the next chunk */
        if (r < 0) {
            *o++ = s[i++]; /* not UTF-8: matched as it is */
            continue;
        }
        /* r >= 2 octets in, at most 4 out: out stays within 2 * len */
        int w = u8_uctomb(o, uc_tolower(uc_toupper(uc)), 4);
        if (w <= 0) {
            memcpy(o, s + i, (size_t)r);
            w = r;
        }
        o += w;
        i += (size_t)r;
    }
    *used_r = i;
    return (size_t)(o - (uint8_t *)out);
}

int imap_search_matcher_init(struct imap_search_matcher *m, const char *needle, size_t len)
{
    size_t used;

    memset(m, 0, sizeof(*m));
    m->needle = malloc(2 * len + 1);
    if (m->needle == NULL)
        return -1;
    m->nlen = imap_search_fold(needle, len, m->needle, &used, true);
    m->found = m->nlen == 0;
    return 0;
}

void imap_search_matcher_reset(struct imap_search_matcher *m)
{
    m->tail = 0;
    m->npending = 0;
    m->found = m->nlen == 0;
}

/* Folds in[0..len) after the kept tail, searches, and keeps the new tail. */
static void matcher_fold(struct imap_search_matcher *m, const char *in, size_t len, bool final,
                         size_t *used_r)
{
    size_t need = m->tail + 2 * len + 1;

    *used_r = len;
    if (need > m->cap) {
        char *grown = realloc(m->buf, need);
        if (grown == NULL)
            return;
        m->buf = grown;
        m->cap = need;
    }
    size_t n = m->tail + imap_search_fold(in, len, m->buf + m->tail, used_r, final);
    if (m->nlen > 0 && n >= m->nlen && memmem(m->buf, n, m->needle, m->nlen) != NULL)
        m->found = true;
    size_t keep = m->nlen > 0 ? m->nlen - 1 : 0;
    keep = keep < n ? keep : n;
    memmove(m->buf, m->buf + n - keep, keep);
    m->tail = keep;
}

bool imap_search_matcher_feed(struct imap_search_matcher *m, const char *data, size_t len)
{
    size_t used;

    if (m->found || len == 0)
        return m->found;
    if (m->npending > 0) {
        /* the split character, completed from the first octets of data (a character has at
         * most 4); the fold may stop again inside data, which is then folded from there */
        char tmp[8];
        size_t k = len < 4 ? len : 4;
        memcpy(tmp, m->pending, m->npending);
        memcpy(tmp + m->npending, data, k);
        matcher_fold(m, tmp, m->npending + k, false, &used);
        if (used == 0) { /* still incomplete: all of data (k == len) joins it */
            memcpy(m->pending, tmp, m->npending + k);
            m->npending += k;
            return m->found;
        }
        data += used - m->npending;
        len -= used - m->npending;
        m->npending = 0;
        if (m->found || len == 0)
            return m->found;
    }
    matcher_fold(m, data, len, false, &used);
    m->npending = len - used; /* fewer than 4: a character's beginning */
    memcpy(m->pending, data + used, m->npending);
    return m->found;
}

bool imap_search_matcher_end(struct imap_search_matcher *m)
{
    size_t used;

    if (m->npending > 0 && !m->found)
        matcher_fold(m, m->pending, m->npending, true, &used);
    m->npending = 0;
    return m->found;
}

void imap_search_matcher_free(struct imap_search_matcher *m)
{
    free(m->needle);
    free(m->buf);
    memset(m, 0, sizeof(*m));
}
