/* FETCH's filters as pure functions of the bytes fed: each case is fed whole, byte at a time
 * and in uneven pieces, and must come out the same (HEADER.FIELDS[.NOT] with folded and
 * colon-less lines, base64 and quoted-printable after a raw prefix). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-fetch.h"

struct filter_case {
    enum imap_filter_kind kind;
    uint64_t raw_prefix;
    const char *fields[4];
    const char *in;
    size_t in_len; /* 0: strlen(in) */
    const char *out;
    size_t out_len; /* 0: strlen(out) */
};

static const char hdr[] = "From: a@example.org\r\n"
                          "Subject: folded\r\n  on two lines\r\n"
                          "X-No-Colon-Here\r\n"
                          "subject : not the same name\r\n"
                          "To: b@example.org,\r\n\tc@example.org\r\n";

static const struct filter_case cases[] = {
    {IMAP_FILTER_FIELDS,
     0,
     {"SUBJECT", "to"},
     hdr,
     0,
     "Subject: folded\r\n  on two lines\r\nTo: b@example.org,\r\n\tc@example.org\r\n\r\n",
     0},
    {IMAP_FILTER_FIELDS_NOT,
     0,
     {"Subject", "To"},
     hdr,
     0,
     "From: a@example.org\r\nsubject : not the same name\r\n\r\n",
     0},
    {IMAP_FILTER_FIELDS, 0, {"Cc"}, hdr, 0, "\r\n", 0},
    {IMAP_FILTER_FIELDS, 0, {"From"}, "", 0, "\r\n", 0},
    {IMAP_FILTER_FIELDS, 0, {"B"}, "A: 1\r\nB: 2", 0, "B: 2\r\n\r\n", 0},
    {IMAP_FILTER_FIELDS, 0, {"B"}, "B: 1\r\nA: 2", 0, "B: 1\r\n\r\n", 0},
    {IMAP_FILTER_RAW, 0, {NULL}, "as it is\r\n", 0, "as it is\r\n", 0},
    {IMAP_FILTER_BASE64, 0, {NULL}, "AAEC\r\nAwQF\r\nBg==\r\n", 0, "\0\1\2\3\4\5\6", 7},
    {IMAP_FILTER_BASE64,
     6,
     {NULL},
     "H: v\r\n"
     "aGVs\r\nbG8=",
     0,
     "H: v\r\nhello",
     0},
    {IMAP_FILTER_QP,
     0,
     {NULL},
     "caf=C3=A9 soft=\r\nbreak=20\r\nnext=3d",
     0,
     "caf\xc3\xa9 softbreak \r\nnext=",
     0},
};

static size_t feed(const struct filter_case *c, size_t piece, char *out)
{
    struct imap_filter f;
    size_t n = c->in_len ? c->in_len : strlen(c->in), o = 0, nf = 0;
    char buf[IMAP_FILTER_OUT_MAX(4096)];

    while (nf < 4 && c->fields[nf] != NULL)
        nf++;
    imap_filter_init(&f, c->kind, c->raw_prefix, c->fields, (unsigned)nf);
    for (size_t i = 0; i < n; i += piece) {
        size_t k = n - i < piece ? n - i : piece;
        size_t w = imap_filter_step(&f, c->in + i, k, buf);
        memcpy(out + o, buf, w);
        o += w;
    }
    o += imap_filter_finish(&f, out + o);
    return o;
}

static void test_filters(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct filter_case *c = &cases[i];
        size_t want = c->out_len ? c->out_len : strlen(c->out);
        static const size_t pieces[] = {4096, 1, 2, 3, 7};
        for (size_t p = 0; p < sizeof(pieces) / sizeof(pieces[0]); p++) {
            char out[IMAP_FILTER_OUT_MAX(4096)];
            size_t got = feed(c, pieces[p], out);
            if (got != want || memcmp(out, c->out, want) != 0)
                fail_msg("case %zu fed in pieces of %zu: got %zu octets \"%.*s\"", i, pieces[p],
                         got, (int)got, out);
        }
    }
}

/* A field name longer than any asked for is not one of them, and is passed by .NOT whole. */
static void test_long_field_name(void **state)
{
    char in[3000], out[IMAP_FILTER_OUT_MAX(sizeof(in))];
    const char *fields[] = {"X"};
    struct imap_filter f;
    size_t o;

    (void)state;
    memset(in, 'n', 2000);
    memcpy(in + 2000, ": v\r\nX: 1\r\n", 11);
    imap_filter_init(&f, IMAP_FILTER_FIELDS, 0, fields, 1);
    o = imap_filter_step(&f, in, 2011, out);
    o += imap_filter_finish(&f, out + o);
    assert_int_equal(o, 8);
    assert_memory_equal(out, "X: 1\r\n\r\n", 8);
    imap_filter_init(&f, IMAP_FILTER_FIELDS_NOT, 0, fields, 1);
    o = imap_filter_step(&f, in, 2011, out);
    o += imap_filter_finish(&f, out + o);
    assert_int_equal(o, 2007);
    assert_memory_equal(out, in, 2005);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_long_field_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
