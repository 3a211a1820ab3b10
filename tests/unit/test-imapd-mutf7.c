/* Modified UTF-7 mailbox names (RFC 3501 section 5.1.3): known pairs both ways, round trips,
 * the non-canonical and broken spellings that must be refused, and output buffer bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-mutf7.h"

struct pair {
    const char *utf8, *mutf7;
};

static const struct pair pairs[] = {
    {"", ""},
    {"INBOX", "INBOX"},
    {"&", "&-"},
    {"a&b&&", "a&-b&-&-"},
    {" ~!", " ~!"},
    /* RFC 3501 5.1.3's example */
    {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
     "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
    {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
    {"\xc3\xa4", "&AOQ-"},
    {"\xc3\xa4\xc3\xb6\xc3\xbc", "&AOQA9gD8-"},
    {"\xc3\xa4&\xc3\xb6", "&AOQ-&-&APY-"},
    {"\xc3\xa4-", "&AOQ--"},
    {"Gel\xc3\xb6scht", "Gel&APY-scht"},
    {"\xf0\x9f\x93\xa7", "&2D3c5w-"},
    {"x\xf0\x9f\x93\xa7\xc3\xa4y", "x&2D3c5wDk-y"},
    {"\x01", "&AAE-"},
    {"\x7f", "&AH8-"},
    {"\xef\xbf\xbf", "&,,8-"},
    {"\xe2\x82\xac 5", "&IKw- 5"},
};

static void test_pairs(void **state)
{
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const struct pair *t = &pairs[i];
        char out[256];
        size_t n;

        assert_int_equal(imap_mutf7_encode(t->utf8, strlen(t->utf8), out, sizeof(out), &n), 0);
        assert_string_equal(out, t->mutf7);
        assert_int_equal(n, strlen(t->mutf7));
        assert_int_equal(imap_mutf7_decode(t->mutf7, strlen(t->mutf7), out, sizeof(out), &n), 0);
        assert_string_equal(out, t->utf8);
        assert_int_equal(n, strlen(t->utf8));
    }
}

static const char *const bad_mutf7[] = {
    "&",          /* unterminated */
    "&AOQ",       /* unterminated run */
    "a&Jjo!",     /* '!' inside a run */
    "&AOQ-&APY-", /* two runs in a row: canonically one */
    "&AGE-",      /* "a" encoded: printable ASCII must stand for itself */
    "&ACY-",      /* "&" encoded */
    "&AOR-",      /* non-zero padding bits */
    "&AOQA-",     /* six padding bits: a partial character */
    "&AA-",       /* no whole character */
    "&2D0-",      /* a lone high surrogate */
    "&3gA-",      /* a lone low surrogate */
    "&2D3YPQ-",   /* high surrogate then high surrogate */
    "&AAA-",      /* NUL */
    "&AOQ/-",     /* '/' is base64 but not modified base64 */
    "a\x01",      /* control octet outside a run */
    "\xc3\xa4",   /* raw 8-bit */
    "a\x7f",      /* DEL */
    "&=-",        /* padding character */
};

static void test_bad_mutf7(void **state)
{
    for (size_t i = 0; i < sizeof(bad_mutf7) / sizeof(bad_mutf7[0]); i++) {
        char out[64];
        size_t n;
        int r = imap_mutf7_decode(bad_mutf7[i], strlen(bad_mutf7[i]), out, sizeof(out), &n);
        if (r != -EINVAL)
            fail_msg("decoding \"%s\" gave %d", bad_mutf7[i], r);
    }
}

static const char *const bad_utf8[] = {
    "\x80",             /* continuation first */
    "\xc3",             /* truncated */
    "\xc3\x28",         /* bad continuation */
    "\xc0\xaf",         /* overlong '/' */
    "\xe0\x80\xaf",     /* overlong */
    "\xed\xa0\x80",     /* surrogate */
    "\xf4\x90\x80\x80", /* past U+10FFFF */
    "\xf8\x88\x80\x80\x80",
    "\xff",
};

static void test_bad_utf8(void **state)
{
    char out[64];
    size_t n;

    for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++)
        assert_int_equal(imap_mutf7_encode(bad_utf8[i], strlen(bad_utf8[i]), out, sizeof(out), &n),
                         -EINVAL);
    assert_int_equal(imap_mutf7_encode("a\0b", 3, out, sizeof(out), &n), -EINVAL);
}

/* The size macros always suffice; one octet less than needed is refused, never overrun. */
static void test_buffer_bounds(void **state)
{
    const char worst[] = "\x01\x02\x03";
    char out[64];
    size_t n;

    assert_int_equal(imap_mutf7_encode("\x01", 1, out, IMAP_MUTF7_ENCODE_MAX(1), &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(imap_mutf7_encode(worst, 3, out, IMAP_MUTF7_ENCODE_MAX(3), &n), 0);
    assert_int_equal(imap_mutf7_encode("\xc3\xa4", 2, out, 5, &n), -ENOBUFS);
    assert_int_equal(imap_mutf7_encode("\xc3\xa4", 2, out, 6, &n), 0);
    assert_int_equal(imap_mutf7_encode("", 0, out, 0, &n), -ENOBUFS);
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        size_t len = strlen(pairs[i].mutf7);
        assert_true(len <= IMAP_MUTF7_ENCODE_MAX(strlen(pairs[i].utf8)) - 1);
        assert_int_equal(
            imap_mutf7_decode(pairs[i].mutf7, len, out, IMAP_MUTF7_DECODE_MAX(len), &n), 0);
        if (strlen(pairs[i].utf8) > 0)
            assert_int_equal(imap_mutf7_decode(pairs[i].mutf7, len, out, strlen(pairs[i].utf8), &n),
                             -ENOBUFS);
    }
}

/* Every BMP character and a sample of the others survive encode then decode. */
static void test_round_trip_all(void **state)
{
    for (uint32_t cp = 1; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 97) {
        char in[8], enc[64], dec[16];
        size_t n = 0, en, dn;
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        if (cp < 0x80) {
            in[n++] = (char)cp;
        } else if (cp < 0x800) {
            in[n++] = (char)(0xc0 | (cp >> 6));
            in[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            in[n++] = (char)(0xe0 | (cp >> 12));
            in[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            in[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            in[n++] = (char)(0xf0 | (cp >> 18));
            in[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            in[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            in[n++] = (char)(0x80 | (cp & 0x3f));
        }
        in[n++] = 'x';
        assert_int_equal(imap_mutf7_encode(in, n, enc, sizeof(enc), &en), 0);
        assert_int_equal(imap_mutf7_decode(enc, en, dec, sizeof(dec), &dn), 0);
        assert_int_equal(dn, n);
        assert_memory_equal(dec, in, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pairs),          cmocka_unit_test(test_bad_mutf7),
        cmocka_unit_test(test_bad_utf8),       cmocka_unit_test(test_buffer_bounds),
        cmocka_unit_test(test_round_trip_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
