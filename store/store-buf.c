/* Byte buffers and big-endian encoding for index records and IMAP text. Allocation failure
 * aborts: a half-built record must never reach the index. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-private.h"

static void buf_grow(struct store_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 64;

    if (b->len + need + 1 <= b->cap)
        return;
    while (cap < b->len + need + 1)
        cap *= 2;
    b->data = realloc(b->data, cap);
    if (b->data == NULL)
        abort();
    b->cap = cap;
}

void store_buf_add(struct store_buf *b, const void *p, size_t n)
{
    buf_grow(b, n);
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void store_buf_addc(struct store_buf *b, char c)
{
    store_buf_add(b, &c, 1);
}

void store_buf_adds(struct store_buf *b, const char *s)
{
    store_buf_add(b, s, strlen(s));
}

void store_buf_printf(struct store_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    if ((size_t)n < sizeof(small)) {
        store_buf_add(b, small, (size_t)n);
        return;
    }
    buf_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void store_be32_put(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

void store_be64_put(unsigned char *p, uint64_t v)
{
    store_be32_put(p, (uint32_t)(v >> 32));
    store_be32_put(p + 4, (uint32_t)v);
}

void store_buf_u8(struct store_buf *b, uint8_t v)
{
    store_buf_add(b, &v, 1);
}

void store_buf_u16(struct store_buf *b, uint16_t v)
{
    unsigned char p[2] = {(unsigned char)(v >> 8), (unsigned char)v};

    store_buf_add(b, p, 2);
}

void store_buf_u32(struct store_buf *b, uint32_t v)
{
    unsigned char p[4];

    store_be32_put(p, v);
    store_buf_add(b, p, 4);
}

void store_buf_u64(struct store_buf *b, uint64_t v)
{
    unsigned char p[8];

    store_be64_put(p, v);
    store_buf_add(b, p, 8);
}

void store_buf_str(struct store_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    store_buf_u32(b, (uint32_t)n);
    store_buf_add(b, s, n);
}

char *store_buf_steal(struct store_buf *b)
{
    char *s;

    buf_grow(b, 0);
    b->data[b->len] = '\0';
    s = (char *)b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void store_buf_free(struct store_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static const unsigned char *rd_take(struct store_rd *r, size_t n)
{
    const unsigned char *p = r->p;

    if (r->bad || r->left < n) {
        r->bad = true;
        return NULL;
    }
    r->p += n;
    r->left -= n;
    return p;
}

uint8_t store_rd_u8(struct store_rd *r)
{
    const unsigned char *p = rd_take(r, 1);

    return p ? p[0] : 0;
}

uint16_t store_rd_u16(struct store_rd *r)
{
    const unsigned char *p = rd_take(r, 2);

    return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

uint32_t store_rd_u32(struct store_rd *r)
{
    const unsigned char *p = rd_take(r, 4);

    return p ? store_be32_get(p) : 0;
}

uint64_t store_rd_u64(struct store_rd *r)
{
    const unsigned char *p = rd_take(r, 8);

    return p ? store_be64_get(p) : 0;
}

const unsigned char *store_rd_blob(struct store_rd *r, size_t *len_r)
{
    uint32_t n = store_rd_u32(r);
    const unsigned char *p = rd_take(r, n);

    *len_r = p != NULL ? n : 0;
    return p;
}

char *store_rd_str(struct store_rd *r, bool empty_null)
{
    uint32_t n = store_rd_u32(r);
    const unsigned char *p = rd_take(r, n);
    char *s;

    if (p == NULL || (n == 0 && empty_null))
        return NULL;
    s = malloc((size_t)n + 1);
    if (s == NULL)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}
