/* FETCH section atoms: BODY[section]<partial>, BODY.PEEK, BINARY[part], BINARY.SIZE, their
 * parts, texts, header field lists and partial ranges, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-arena.h"
#include "imapd-section.h"

struct section_case {
    const char *in;
    int result;
    const char *want; /* "item parts text (fields) <offset.length>", or the error text */
};

static const char *const items[] = {"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE"};
static const char *const texts[] = {"WHOLE", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
                                    "TEXT",  "MIME"};

static const struct section_case cases[] = {
    {"BODY[]", 1, "BODY - WHOLE"},
    {"body.peek[]", 1, "BODY.PEEK - WHOLE"},
    {"BODY[]<0.100>", 1, "BODY - WHOLE <0.100>"},
    {"BODY[1]", 1, "BODY 1 WHOLE"},
    {"BODY[1.2.3]", 1, "BODY 1.2.3 WHOLE"},
    {"BODY[HEADER]", 1, "BODY - HEADER"},
    {"BODY[TEXT]<5.1>", 1, "BODY - TEXT <5.1>"},
    {"BODY[2.MIME]", 1, "BODY 2 MIME"},
    {"BODY[1.2.HEADER]", 1, "BODY 1.2 HEADER"},
    {"BODY[4.2.TEXT]", 1, "BODY 4.2 TEXT"},
    {"BODY.PEEK[HEADER.FIELDS (From To Cc)]", 1, "BODY.PEEK - HEADER.FIELDS (From,To,Cc)"},
    {"BODY[header.fields.not (X-Spam \"Received\")]<0.4294967295>", 1,
     "BODY - HEADER.FIELDS.NOT (X-Spam,Received) <0.4294967295>"},
    {"BODY[1.HEADER.FIELDS ( A  B )]", 1, "BODY 1 HEADER.FIELDS (A,B)"},
    {"BODY[HEADER.FIELDS (\"a\\\"b\")]", 1, "BODY - HEADER.FIELDS (a\"b)"},
    {"BINARY[]", 1, "BINARY - WHOLE"},
    {"BINARY[1.2]<0.10>", 1, "BINARY 1.2 WHOLE <0.10>"},
    {"BINARY.PEEK[3]", 1, "BINARY.PEEK 3 WHOLE"},
    {"BINARY.SIZE[1]", 1, "BINARY.SIZE 1 WHOLE"},
    {"BODY[4294967295]", 1, "BODY 4294967295 WHOLE"},
    /* not sectioned attributes */
    {"BODY", 0, NULL},
    {"FLAGS", 0, NULL},
    {"BODYSTRUCTURE", 0, NULL},
    {"RFC822.HEADER", 0, NULL},
    {"X[1]", 0, NULL},
    /* broken ones */
    {"BODY[", -1, "Invalid section in fetch attribute"},
    {"BODY[1", -1, "Invalid section in fetch attribute"},
    {"BODY[0]", -1, "Invalid section in fetch attribute"},
    {"BODY[1.0]", -1, "Invalid section in fetch attribute"},
    {"BODY[4294967296]", -1, "Invalid section in fetch attribute"},
    {"BODY[1.]", -1, "Invalid section in fetch attribute"},
    {"BODY[.1]", -1, "Invalid section in fetch attribute"},
    {"BODY[MIME]", -1, "Invalid section in fetch attribute"},
    {"BODY[HEADERS]", -1, "Invalid section in fetch attribute"},
    {"BODY[1TEXT]", -1, "Invalid section in fetch attribute"},
    {"BODY[HEADER.FIELDS]", -1, "Invalid section in fetch attribute"},
    {"BODY[HEADER.FIELDS ()]", -1, "Invalid section in fetch attribute"},
    {"BODY[HEADER.FIELDS (A]", -1, "Invalid section in fetch attribute"},
    {"BODY[HEADER.FIELDS (A)(B)]", -1, "Invalid section in fetch attribute"},
    {"BODY[HEADER.FIELDS (\"\")]", -1, "Invalid section in fetch attribute"},
    {"BODY[HEADER.FIELDS (A\"B\")]", -1, "Invalid section in fetch attribute"},
    {"BODY[TEXT (A)]", -1, "Invalid section in fetch attribute"},
    {"BINARY[1.TEXT]", -1, "Invalid section in fetch attribute"},
    {"BINARY[HEADER]", -1, "Invalid section in fetch attribute"},
    {"BODY[]x", -1, "Invalid partial range in fetch attribute"},
    {"BODY[]<1>", -1, "Invalid partial range in fetch attribute"},
    {"BODY[]<1.0>", -1, "Invalid partial range in fetch attribute"},
    {"BODY[]<1.2", -1, "Invalid partial range in fetch attribute"},
    {"BODY[]<1.2>>", -1, "Invalid partial range in fetch attribute"},
    {"BODY[]<4294967296.1>", -1, "Invalid partial range in fetch attribute"},
    {"BODY[]<.1>", -1, "Invalid partial range in fetch attribute"},
    {"BINARY.SIZE[1]<0.1>", -1, "BINARY.SIZE takes no partial range"},
};

static void section_text(const struct imap_section *s, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "%s ", items[s->item]);

    if (s->nparts == 0)
        n += (size_t)snprintf(buf + n, size - n, "-");
    for (unsigned i = 0; i < s->nparts; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%u", i > 0 ? "." : "", s->parts[i]);
    n += (size_t)snprintf(buf + n, size - n, " %s", texts[s->text]);
    for (unsigned i = 0; i < s->nfields; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s%s", i == 0 ? " (" : ",", s->fields[i],
                              i + 1 == s->nfields ? ")" : "");
    if (s->partial)
        snprintf(buf + n, size - n, " <%u.%u>", s->offset, s->length);
}

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct imap_arena *a = imap_arena_new(32);
        struct imap_section s;
        const char *error = NULL;
        char buf[256];
        int r = imap_section_parse(cases[i].in, strlen(cases[i].in), a, &s, &error);

        if (r != cases[i].result)
            fail_msg("%s: got %d, want %d", cases[i].in, r, cases[i].result);
        if (r == 1) {
            section_text(&s, buf, sizeof(buf));
            assert_string_equal(buf, cases[i].want);
        } else if (r < 0) {
            assert_string_equal(error, cases[i].want);
        }
        imap_arena_free(&a);
    }
}

/* Only len octets are looked at. */
static void test_length_bound(void **state)
{
    struct imap_arena *a = imap_arena_new(32);
    struct imap_section s;
    const char *error;

    assert_int_equal(imap_section_parse("BODY[1]<0.5>", 7, a, &s, &error), 1);
    assert_false(s.partial);
    assert_int_equal(imap_section_parse("BODY[1]<0.5>", 6, a, &s, &error), -1);
    assert_int_equal(imap_section_parse("BODY[HEADER.FIELDS (A)]", 21, a, &s, &error), -1);
    imap_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_length_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
