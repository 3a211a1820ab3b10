/* Sequence sets: parsing into ranges ("*" kept symbolic, reversed ranges turned round),
 * errors (0, overflow, syntax), then resolving against a mailbox and looking numbers up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-arena.h"
#include "imapd-seqset.h"

struct seq_case {
    const char *in;
    const char *parsed; /* ranges as "lo:hi,..." with * for IMAP_SEQ_STAR, or the error */
    uint32_t max;
    const char *resolved;
};

static const struct seq_case cases[] = {
    {"1", "1:1", 10, "1:1"},
    {"1:*", "1:*", 10, "1:10"},
    {"*:4", "*:4", 10, "4:10"},
    {"*:4", "*:4", 2, "2:4"},
    {"*", "*:*", 7, "7:7"},
    {"2,4:7,9", "2:2,4:7,9:9", 10, "2:2,4:7,9:9"},
    {"7:4", "4:7", 10, "4:7"},
    {"9,1:3,2:5,7:8", "9:9,1:3,2:5,7:8", 10, "1:5,7:9"},
    {"559:*", "559:*", 500, "500:559"},
    {"1:*", "1:*", 0, "0:1"},
    {"4294967295", "4294967295:4294967295", 5, "4294967295:4294967295"},
    {"1:4294967295,5", "1:4294967295,5:5", 5, "1:4294967295"},
    {"3:3,3", "3:3,3:3", 9, "3:3"},
    {"0", "Invalid sequence number 0", 0, NULL},
    {"1:0", "Invalid sequence number 0", 0, NULL},
    {"0:*", "Invalid sequence number 0", 0, NULL},
    {"01", "Invalid sequence set", 0, NULL},
    {"4294967296", "Sequence number too large", 0, NULL},
    {"1:99999999999999999999", "Sequence number too large", 0, NULL},
    {"", "Invalid sequence set", 0, NULL},
    {",", "Invalid sequence set", 0, NULL},
    {"1,", "Invalid sequence set", 0, NULL},
    {",1", "Invalid sequence set", 0, NULL},
    {"1::2", "Invalid sequence set", 0, NULL},
    {"1:2:3", "Invalid sequence set", 0, NULL},
    {"1 2", "Invalid sequence set", 0, NULL},
    {"**", "Invalid sequence set", 0, NULL},
    {"-1", "Invalid sequence set", 0, NULL},
    {"1:", "Invalid sequence set", 0, NULL},
    {"a", "Invalid sequence set", 0, NULL},
    {"$", "Invalid sequence set", 0, NULL},
};

static void seq_text(const struct imap_seqset *set, bool resolved, char *buf, size_t size)
{
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < set->count; i++) {
        char lo[16], hi[16];
        snprintf(lo, sizeof(lo), "%u", set->ranges[i].lo);
        snprintf(hi, sizeof(hi), "%u", set->ranges[i].hi);
        n += (size_t)snprintf(buf + n, size - n, "%s%s:%s", i > 0 ? "," : "",
                              !resolved && set->ranges[i].lo == IMAP_SEQ_STAR ? "*" : lo,
                              !resolved && set->ranges[i].hi == IMAP_SEQ_STAR ? "*" : hi);
    }
}

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct imap_arena *a = imap_arena_new(64);
        struct imap_seqset set;
        const char *error = NULL;
        char buf[256];

        if (imap_seqset_parse(cases[i].in, strlen(cases[i].in), a, &set, &error) < 0) {
            assert_non_null(error);
            assert_string_equal(error, cases[i].parsed);
            assert_null(cases[i].resolved);
        } else {
            seq_text(&set, false, buf, sizeof(buf));
            assert_string_equal(buf, cases[i].parsed);
            imap_seqset_resolve(&set, cases[i].max);
            seq_text(&set, true, buf, sizeof(buf));
            assert_string_equal(buf, cases[i].resolved);
        }
        imap_arena_free(&a);
    }
}

/* Only the given length is read: the atom may be followed by anything. */
static void test_length_bound(void **state)
{
    struct imap_arena *a = imap_arena_new(64);
    struct imap_seqset set;
    const char *error;

    assert_int_equal(imap_seqset_parse("12:3x", 4, a, &set, &error), 0);
    assert_int_equal(set.count, 1);
    assert_int_equal(set.ranges[0].lo, 3);
    assert_int_equal(set.ranges[0].hi, 12);
    imap_arena_free(&a);
}

static void test_contains(void **state)
{
    struct imap_arena *a = imap_arena_new(64);
    struct imap_seqset set;
    const char *error;
    const char in[] = "20:*,2,4:7,9";

    assert_int_equal(imap_seqset_parse(in, strlen(in), a, &set, &error), 0);
    imap_seqset_resolve(&set, 25);
    for (uint32_t n = 0; n <= 30; n++) {
        bool want = n == 2 || (n >= 4 && n <= 7) || n == 9 || (n >= 20 && n <= 25);
        assert_int_equal(imap_seqset_contains(&set, n), want);
    }
    assert_false(imap_seqset_contains(&set, UINT32_MAX));
    imap_arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_length_bound),
        cmocka_unit_test(test_contains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
