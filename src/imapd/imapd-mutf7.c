/* Modified UTF-7 (RFC 3501 section 5.1.3) to and from UTF-8, strictly canonical so a name has
 * exactly one spelling on the wire. */
#include "imapd-mutf7.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

static const char mutf7_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

struct mutf7_out {
    char *buf;
    size_t size, len;
    bool full;
};

static void mutf7_put(struct mutf7_out *o, char c)
{
    if (o->len + 1 >= o->size) { /* keep room for the NUL */
        o->full = true;
        return;
    }
    o->buf[o->len++] = c;
}

static int mutf7_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == ',')
        return 63;
    return -1;
}

static void mutf7_put_utf8(struct mutf7_out *o, uint32_t cp)
{
    if (cp < 0x80) {
        mutf7_put(o, (char)cp);
    } else if (cp < 0x800) {
        mutf7_put(o, (char)(0xc0 | (cp >> 6)));
        mutf7_put(o, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        mutf7_put(o, (char)(0xe0 | (cp >> 12)));
        mutf7_put(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
        mutf7_put(o, (char)(0x80 | (cp & 0x3f)));
    } else {
        mutf7_put(o, (char)(0xf0 | (cp >> 18)));
        mutf7_put(o, (char)(0x80 | ((cp >> 12) & 0x3f)));
        mutf7_put(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
        mutf7_put(o, (char)(0x80 | (cp & 0x3f)));
    }
}

/* One "&...-" run starting after the '&'; returns the octets used up to and including '-',
 * or 0 when the run is not canonical modified BASE64 of UTF-16. */
static size_t mutf7_decode_run(const unsigned char *in, size_t len, struct mutf7_out *o)
{
    uint32_t bits = 0, high = 0;
    unsigned nbits = 0;
    bool any = false;
    size_t i;

    for (i = 0; i < len && in[i] != '-'; i++) {
        int v = mutf7_b64_value(in[i]);
        if (v < 0)
            return 0;
        bits = (bits << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits < 16)
            continue;
        nbits -= 16;
        uint32_t u = (bits >> nbits) & 0xffff;
        bits &= (1u << nbits) - 1;
        any = true;
        if (high != 0) {
            if (u < 0xdc00 || u > 0xdfff)
                return 0;
            mutf7_put_utf8(o, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
            high = 0;
        } else if (u >= 0xd800 && u <= 0xdbff) {
            high = u;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
            return 0;
        } else if ((u >= 0x20 && u <= 0x7e) || u == 0) {
            return 0; /* printable ASCII must stand for itself; NUL ends C strings */
        } else {
            mutf7_put_utf8(o, u);
        }
    }
    /* the run must end with '-', hold a whole character, and pad with fewer than six zero bits */
    if (i == len || !any || high != 0 || nbits >= 6 || bits != 0)
        return 0;
    return i + 1;
}

int imap_mutf7_decode(const char *in, size_t len, char *out, size_t out_size, size_t *out_len_r)
{
    const unsigned char *s = (const unsigned char *)in;
    struct mutf7_out o = {out, out_size, 0, false};
    bool after_run = false;
    size_t i = 0;

    while (i < len) {
        if (s[i] == '&' && i + 1 < len && s[i + 1] == '-') {
            mutf7_put(&o, '&');
            i += 2;
            after_run = false;
        } else if (s[i] == '&') {
            size_t n = after_run ? 0 : mutf7_decode_run(s + i + 1, len - i - 1, &o);
            if (n == 0) /* two runs in a row would be one in the canonical spelling */
                return -EINVAL;
            i += 1 + n;
            after_run = true;
        } else if (s[i] >= 0x20 && s[i] <= 0x7e) {
            mutf7_put(&o, (char)s[i++]);
            after_run = false;
        } else {
            return -EINVAL;
        }
    }
    if (o.full || out_size == 0)
        return -ENOBUFS;
    out[o.len] = '\0';
    *out_len_r = o.len;
    return 0;
}

/* The next code point of strict UTF-8 at s (len > 0 octets); 0 octets used when invalid. */
static size_t mutf7_utf8_next(const unsigned char *s, size_t len, uint32_t *cp_r)
{
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n;
    uint32_t cp;

    if (s[0] < 0x80)
        n = 1, cp = s[0];
    else if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *cp_r = cp;
    return n;
}

struct mutf7_run {
    bool open;
    uint32_t bits;
    unsigned nbits;
};

static void mutf7_run_unit(struct mutf7_out *o, struct mutf7_run *r, uint32_t u)
{
    if (!r->open) {
        mutf7_put(o, '&');
        r->open = true;
        r->bits = r->nbits = 0;
    }
    r->bits = (r->bits << 16) | u;
    r->nbits += 16;
    while (r->nbits >= 6) {
        r->nbits -= 6;
        mutf7_put(o, mutf7_b64[(r->bits >> r->nbits) & 0x3f]);
    }
    r->bits &= (1u << r->nbits) - 1;
}

static void mutf7_run_close(struct mutf7_out *o, struct mutf7_run *r)
{
    if (!r->open)
        return;
    if (r->nbits > 0)
        mutf7_put(o, mutf7_b64[(r->bits << (6 - r->nbits)) & 0x3f]);
    mutf7_put(o, '-');
    r->open = false;
}

int imap_mutf7_encode(const char *in, size_t len, char *out, size_t out_size, size_t *out_len_r)
{
    const unsigned char *s = (const unsigned char *)in;
    struct mutf7_out o = {out, out_size, 0, false};
    struct mutf7_run run = {false, 0, 0};
    size_t i = 0;

    while (i < len) {
        uint32_t cp;
        size_t n = mutf7_utf8_next(s + i, len - i, &cp);
        if (n == 0 || cp == 0)
            return -EINVAL;
        i += n;
        if (cp >= 0x20 && cp <= 0x7e) {
            mutf7_run_close(&o, &run);
            mutf7_put(&o, (char)cp);
            if (cp == '&')
                mutf7_put(&o, '-');
        } else if (cp >= 0x10000) {
            mutf7_run_unit(&o, &run, 0xd800 + ((cp - 0x10000) >> 10));
            mutf7_run_unit(&o, &run, 0xdc00 + ((cp - 0x10000) & 0x3ff));
        } else {
            mutf7_run_unit(&o, &run, cp);
        }
    }
    mutf7_run_close(&o, &run);
    if (o.full || out_size == 0)
        return -ENOBUFS;
    out[o.len] = '\0';
    *out_len_r = o.len;
    return 0;
}
