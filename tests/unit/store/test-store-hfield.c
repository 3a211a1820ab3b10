/* The header fields SEARCH reads: the walk over a header block, and the copy of the common
 * fields delivery keeps in the MIME record (every occurrence decoded, fields left out when too
 * long or not UTF-8, the block bound), read back from version 2 records and absent from
 * version 1 ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store-hfield.h"
#include "store-key.h"
#include "store-mime.h"
#include "store-private.h"

static void test_walk(void **state)
{
    static const char hdr[] = "From: a@b\r\n"
                              "Subject: one\r\n two\r\n\tthree  \r\n"
                              "no colon here\r\n"
                              "X-Empty:\r\n"
                              "Odd : spaced\n"
                              "\r\n"
                              "Body: not a field\r\n";
    static const char *const want[][2] = {
        {"From", "a@b"}, {"Subject", "one two\tthree"}, {"X-Empty", ""}, {"Odd", "spaced"}};
    struct store_hfield f;
    size_t pos = 0, n = 0;
    char out[64];

    (void)state;
    while (store_hfield_next(hdr, sizeof(hdr) - 1, &pos, &f)) {
        assert_true(n < 4);
        assert_int_equal(f.name_len, strlen(want[n][0]));
        assert_memory_equal(f.name, want[n][0], f.name_len);
        assert_int_equal(store_hfield_unfold(f.value, f.value_len, out), strlen(want[n][1]));
        assert_string_equal(out, want[n][1]);
        n++;
    }
    assert_int_equal(n, 4);
    pos = 0;
    assert_false(store_hfield_next("", 0, &pos, &f));
    pos = 0;
    assert_true(store_hfield_next("A: b", 4, &pos, &f)); /* no line end at all */
    assert_int_equal(f.value_len, 2);
    assert_false(store_hfield_next("A: b", 4, &pos, &f));
}

static void test_ids(void **state)
{
    (void)state;
    assert_int_equal(store_hfield_id("subject", 7), STORE_HF_SUBJECT);
    assert_int_equal(store_hfield_id("MESSAGE-ID", 10), STORE_HF_MESSAGE_ID);
    assert_int_equal(store_hfield_id("In-Reply-To", 11), STORE_HF_IN_REPLY_TO);
    assert_int_equal(store_hfield_id("Subjec", 6), -1);
    assert_int_equal(store_hfield_id("X-Tag", 5), -1);
    assert_int_equal(store_hfield_id("", 0), -1);
}

/* The entries of id in part as "v1|v2|...", or NULL when the part does not cover id. */
static char *entries(const struct store_mime *m, enum store_hfield_id id)
{
    static char out[8192];
    enum store_hfield_id fid;
    const char *v;
    size_t pos = 0, vlen, n = 0;

    if (!store_hfields_covers(m->hfields, m->hfields_len, id))
        return NULL;
    out[0] = '\0';
    while (store_hfields_next(m->hfields, m->hfields_len, &pos, &fid, &v, &vlen)) {
        if (fid != id)
            continue;
        assert_true(n + vlen + 2 < sizeof(out));
        if (n > 0)
            out[n++] = '|';
        memcpy(out + n, v, vlen);
        n += vlen;
        out[n] = '\0';
    }
    /* every entry read, nothing malformed (pos stays 0 when there is none) */
    assert_true(pos == m->hfields_len || (pos == 0 && m->hfields_len == 1));
    return out;
}

static void compute(const char *msg, struct store_mime *m)
{
    uint32_t hs;

    store_mime_compute(msg, strlen(msg), m, &hs);
    assert_non_null(m->hfields);
}

static void test_compute(void **state)
{
    struct store_mime m;
    char *long_to = malloc(4000), *msg = malloc(5000);

    (void)state;
    compute("From: \"Alice Example\" <alice@example.org>\r\n"
            "To: bob@example.org\r\n"
            "Subject: =?utf-8?q?Caf=C3=A9?=\r\n =?utf-8?q?_cr=C3=A8me?= and\r\n\tmore\r\n"
            "To: second@example.org\r\n"
            "Message-ID:\r\n <folded@id>\r\n"
            "X-Tag: blue\r\n"
            "\r\n"
            "Subject: in the body\r\n",
            &m);
    assert_string_equal(entries(&m, STORE_HF_FROM), "\"Alice Example\" <alice@example.org>");
    assert_string_equal(entries(&m, STORE_HF_TO), "bob@example.org|second@example.org");
    assert_string_equal(entries(&m, STORE_HF_SUBJECT), "Caf\xc3\xa9 cr\xc3\xa8me and\tmore");
    assert_string_equal(entries(&m, STORE_HF_MESSAGE_ID), "<folded@id>");
    assert_string_equal(entries(&m, STORE_HF_CC), ""); /* covered: there is none */
    assert_string_equal(entries(&m, STORE_HF_IN_REPLY_TO), "");
    store_mime_clear(&m);

    /* raw 8-bit octets that are not UTF-8, and a field past STORE_HFIELD_FIELD_MAX: left out */
    memset(long_to, 'x', 3000);
    long_to[3000] = '\0';
    snprintf(msg, 5000, "Subject: caf\xe9\r\nCc: ok@x\r\nTo: %s\r\nFrom: f\xc3\xa9@x\r\n\r\n",
             long_to);
    compute(msg, &m);
    assert_null(entries(&m, STORE_HF_SUBJECT));
    assert_null(entries(&m, STORE_HF_TO));
    assert_string_equal(entries(&m, STORE_HF_CC), "ok@x");
    assert_string_equal(entries(&m, STORE_HF_FROM), "f\xc3\xa9@x"); /* UTF-8 is kept */
    store_mime_clear(&m);

    /* no header block at all, and a bare LF message */
    compute("", &m);
    assert_string_equal(entries(&m, STORE_HF_SUBJECT), "");
    store_mime_clear(&m);
    compute("Subject: lf\nTo: a@b\n\nbody\n", &m);
    assert_string_equal(entries(&m, STORE_HF_SUBJECT), "lf");
    assert_string_equal(entries(&m, STORE_HF_TO), "a@b");
    store_mime_clear(&m);
    free(long_to);
    free(msg);
}

static void test_record(void **state)
{
    struct store_mime m, back, view = {0};
    struct store_buf b = {0};
    const unsigned char *part;
    size_t plen;

    (void)state;
    compute("Subject: kept\r\n\r\nx\r\n", &m);
    store_rec_mime_put(&b, &m);
    assert_int_equal(b.data[0], 2);
    assert_true(store_rec_mime_get(b.data, b.len, &back));
    assert_string_equal(back.envelope, m.envelope);
    assert_int_equal(back.hfields_len, m.hfields_len);
    assert_memory_equal(back.hfields, m.hfields, m.hfields_len);
    store_mime_clear(&back);
    assert_true(store_rec_mime_hfields_at(b.data, b.len, &part, &plen));
    assert_true(part > b.data && part + plen == b.data + b.len); /* in place, at the end */
    view.hfields = (unsigned char *)part;
    view.hfields_len = plen;
    assert_string_equal(entries(&view, STORE_HF_SUBJECT), "kept");
    assert_false(store_rec_mime_hfields_at(b.data, b.len - 1, &part, &plen)); /* truncated */
    assert_null(part);
    assert_false(store_rec_mime_get(b.data, b.len - 1, &back));

    /* a version 1 record (written before the fields were kept) reads with no copy */
    free(m.hfields);
    m.hfields = NULL;
    m.hfields_len = 0;
    store_rec_mime_put(&b, &m);
    assert_int_equal(b.data[0], 1);
    assert_true(store_rec_mime_get(b.data, b.len, &back));
    assert_null(back.hfields);
    store_mime_clear(&back);
    assert_true(store_rec_mime_hfields_at(b.data, b.len, &part, &plen));
    assert_null(part);
    assert_false(store_hfields_covers(part, plen, STORE_HF_SUBJECT));
    b.data[0] = 3;
    assert_false(store_rec_mime_get(b.data, b.len, &back));
    assert_false(store_rec_mime_hfields_at(b.data, b.len, &part, &plen));
    store_mime_clear(&m);
    store_buf_free(&b);
}

static void test_malformed_part(void **state)
{
    /* covers Subject; an entry that claims more than there is, then one with a bad id */
    static const unsigned char part[] = {0x01, 0, 0, 2, 'h', 'i', 0, 0, 9, 'x'};
    static const unsigned char bad_id[] = {0x01, STORE_HF_COUNT, 0, 0};
    enum store_hfield_id id;
    const char *v;
    size_t pos = 0, vlen;

    (void)state;
    assert_true(store_hfields_next(part, sizeof(part), &pos, &id, &v, &vlen));
    assert_int_equal(id, STORE_HF_SUBJECT);
    assert_int_equal(vlen, 2);
    assert_false(store_hfields_next(part, sizeof(part), &pos, &id, &v, &vlen));
    pos = 0;
    assert_false(store_hfields_next(bad_id, sizeof(bad_id), &pos, &id, &v, &vlen));
    assert_false(store_hfields_covers(NULL, 0, STORE_HF_SUBJECT));
    assert_false(store_hfields_covers(part, sizeof(part), STORE_HF_FROM));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),           cmocka_unit_test(test_ids),
        cmocka_unit_test(test_compute),        cmocka_unit_test(test_record),
        cmocka_unit_test(test_malformed_part),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
