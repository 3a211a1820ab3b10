/* Header fields as SEARCH sees them (store-hfield.h), the pure half: the walk over a header
 * block both delivery and imapd use, and the reader of the MIME record's part that lists them.
 * No GMime and no store internals, so the fuzz target compiles it in as it is. */
#include <string.h>
#include <strings.h>

#include "store-hfield.h"

static const char *const hfield_names[STORE_HF_COUNT] = {
    [STORE_HF_SUBJECT] = "Subject",
    [STORE_HF_FROM] = "From",
    [STORE_HF_TO] = "To",
    [STORE_HF_CC] = "Cc",
    [STORE_HF_BCC] = "Bcc",
    [STORE_HF_MESSAGE_ID] = "Message-ID",
    [STORE_HF_IN_REPLY_TO] = "In-Reply-To",
};

/* ---- walking a header block ---- */

static size_t line_end(const char *b, size_t p, size_t len)
{
    const char *q = memchr(b + p, '\n', len - p);

    return q != NULL ? (size_t)(q - b) + 1 : len;
}

bool store_hfield_next(const char *hdr, size_t len, size_t *pos, struct store_hfield *f_r)
{
    size_t p = *pos;

    while (p < len) {
        size_t e = line_end(hdr, p, len);
        if (hdr[p] == '\n' || (hdr[p] == '\r' && (p + 1 >= len || hdr[p + 1] == '\n')))
            break; /* the blank line ends the block */
        /* a field runs on over lines that start with white space */
        while (e < len && (hdr[e] == ' ' || hdr[e] == '\t'))
            e = line_end(hdr, e, len);
        const char *colon = memchr(hdr + p, ':', e - p);
        if (colon == NULL || hdr[p] == ' ' || hdr[p] == '\t') {
            p = e; /* not a field: skipped */
            continue;
        }
        size_t vend = e;
        if (vend > p && hdr[vend - 1] == '\n')
            vend--;
        if (vend > p && hdr[vend - 1] == '\r')
            vend--;
        f_r->name = hdr + p;
        f_r->name_len = (size_t)(colon - (hdr + p));
        while (f_r->name_len > 0 &&
               (f_r->name[f_r->name_len - 1] == ' ' || f_r->name[f_r->name_len - 1] == '\t'))
            f_r->name_len--;
        f_r->value = colon + 1;
        f_r->value_len = vend > (size_t)(colon + 1 - hdr) ? vend - (size_t)(colon + 1 - hdr) : 0;
        *pos = e;
        return true;
    }
    *pos = len;
    return false;
}

size_t store_hfield_unfold(const char *value, size_t len, char *out)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        if (value[i] == '\r' || value[i] == '\n')
            continue; /* a fold: the white space after it stays */
        out[n++] = value[i];
    }
    size_t b = 0;
    while (b < n && (out[b] == ' ' || out[b] == '\t'))
        b++;
    while (n > b && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    memmove(out, out + b, n - b);
    out[n - b] = '\0';
    return n - b;
}

int store_hfield_id(const char *name, size_t len)
{
    for (int i = 0; i < STORE_HF_COUNT; i++)
        if (strlen(hfield_names[i]) == len && strncasecmp(hfield_names[i], name, len) == 0)
            return i;
    return -1;
}

/* ---- the record's part ---- */

bool store_hfields_covers(const unsigned char *part, size_t len, enum store_hfield_id id)
{
    return part != NULL && len > 0 && (part[0] & (1u << id)) != 0;
}

bool store_hfields_next(const unsigned char *part, size_t len, size_t *pos,
                        enum store_hfield_id *id_r, const char **value_r, size_t *value_len_r)
{
    size_t p = *pos == 0 ? 1 : *pos; /* past the coverage byte */

    if (part == NULL || p + 3 > len || part[p] >= STORE_HF_COUNT)
        return false;
    size_t n = (size_t)part[p + 1] << 8 | part[p + 2];
    if (n > len - p - 3)
        return false;
    *id_r = (enum store_hfield_id)part[p];
    *value_r = (const char *)part + p + 3;
    *value_len_r = n;
    *pos = p + 3 + n;
    return true;
}
