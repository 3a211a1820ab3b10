/* The base64 SASL travels in (RFC 4648): pure functions, shared by IMAP AUTHENTICATE, POP AUTH
 * and webmail. SASL PLAIN itself is GNU SASL's (auth-gsasl.c). */
#include <string.h>

#include "auth-sasl.h"
#include "auth.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t auth_base64_encode(const unsigned char *in, size_t len, char *out, size_t size)
{
    size_t need = (len + 2) / 3 * 4, o = 0;

    if (need + 1 > size)
        return 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned long)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static int auth_b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long auth_base64_decode(const char *in, size_t len, unsigned char *out, size_t out_size)
{
    size_t o = 0;

    if (len % 4 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        size_t pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + (size_t)k];
            /* '=' only at the end, and only in the last two places */
            if (c == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad > 0 || (v[k] = auth_b64_value(c)) < 0)
                return -1;
        }
        unsigned long triple = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
                               (unsigned long)v[2] << 6 | (unsigned long)v[3];
        for (size_t k = 0; k < 3 - pad; k++) {
            if (o == out_size)
                return -1;
            out[o++] = (unsigned char)(triple >> (16 - 8 * k));
        }
    }
    return (long)o;
}
