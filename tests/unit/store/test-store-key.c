/* Pure parts of the store: key byte order (what makes Tokyo Cabinet's lexical order numeric),
 * record round trips, mailbox and user name rules, LIST matching and keyword sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store-key.h"
#include "store-tx.h"

static int key_cmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);

    return c != 0 ? c : (al > bl) - (al < bl);
}

/* Pairs that must sort with the first strictly before the second. */
static void test_message_key_order(void **state)
{
    static const struct {
        uint32_t id1, uid1, id2, uid2;
    } cases[] = {
        {1, 1, 1, 2},          {1, 255, 1, 256},
        {1, 65535, 1, 65536},  {1, 0xffffff, 1, 0x1000000},
        {1, 0xfffffffe, 2, 1}, {255, 7, 256, 1},
        {1, 9, 1, 10},         {0x7fffffff, 1, 0x80000000u, 1},
    };
    unsigned char a[STORE_KEY_FIXED_MAX], b[STORE_KEY_FIXED_MAX];

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        size_t al = store_key_msg(a, STORE_KEY_MESSAGE, cases[i].id1, cases[i].uid1);
        size_t bl = store_key_msg(b, STORE_KEY_MESSAGE, cases[i].id2, cases[i].uid2);

        assert_int_equal(al, 9);
        assert_true(key_cmp(a, al, b, bl) < 0);
    }
}

static void test_message_key_bytes(void **state)
{
    unsigned char k[STORE_KEY_FIXED_MAX];
    static const unsigned char want[] = {'M', 0x00, 0x00, 0x01, 0x02, 0x12, 0x34, 0x56, 0x78};

    assert_int_equal(store_key_msg(k, STORE_KEY_MESSAGE, 0x102, 0x12345678), sizeof(want));
    assert_memory_equal(k, want, sizeof(want));
    /* uid 0 gives the mailbox prefix, a prefix of every message key of that mailbox */
    assert_int_equal(store_key_msg(k, STORE_KEY_MESSAGE, 0x102, 0), 5);
    assert_memory_equal(k, want, 5);
}

static void test_modseq_key_order(void **state)
{
    static const struct {
        uint64_t m1;
        uint32_t u1;
        uint64_t m2;
        uint32_t u2;
    } cases[] = {
        {1, 5, 2, 1},
        {255, 1, 256, 1},
        {0xffffffffu, 9, 0x100000000ull, 1},
        {7, 1, 7, 2},
    };
    unsigned char a[STORE_KEY_FIXED_MAX], b[STORE_KEY_FIXED_MAX];

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        size_t al = store_key_modseq(a, STORE_KEY_MODSEQ, 3, cases[i].m1, cases[i].u1);
        size_t bl = store_key_modseq(b, STORE_KEY_MODSEQ, 3, cases[i].m2, cases[i].u2);

        assert_int_equal(al, 17);
        assert_true(key_cmp(a, al, b, bl) < 0);
    }
}

/* Different record types never interleave: every key of a type shares its first byte, and the
 * mailbox prefixes of different types differ. */
static void test_key_types_distinct(void **state)
{
    static const enum store_key_type types[] = {
        STORE_KEY_COUNTERS,     STORE_KEY_USAGE, STORE_KEY_NAME,       STORE_KEY_MAILBOX,
        STORE_KEY_MESSAGE,      STORE_KEY_MIME,  STORE_KEY_MODSEQ,     STORE_KEY_EXPUNGED,
        STORE_KEY_SUBSCRIPTION, STORE_KEY_ACL,   STORE_KEY_ANNOTATION,
    };
    size_t n = sizeof(types) / sizeof(*types);

    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_int_not_equal(types[i], types[j]);
}

static void test_name_key_is_sorted_by_name(void **state)
{
    struct store_buf a = {0}, b = {0};

    store_key_name(&a, STORE_KEY_NAME, "A");
    store_key_name(&b, STORE_KEY_NAME, "A/b");
    assert_true(key_cmp(a.data, a.len, b.data, b.len) < 0);
    assert_int_equal(a.len, 2);
    assert_int_equal(a.data[0], 'N');
    store_buf_free(&a);
    store_buf_free(&b);
}

static void test_records_round_trip(void **state)
{
    struct store_mailbox mb = {.id = 7,
                               .uidvalidity = 1700000000,
                               .uidnext = 42,
                               .recent_uid = 40,
                               .highestmodseq = 1ull << 40,
                               .messages = 41,
                               .unseen = 3,
                               .deleted = 2,
                               .bytes = 5ull << 33,
                               .name = "Archive/2024",
                               .keywords = "$Junk Work"};
    struct store_msg m = {.uid = 9,
                          .flags = STORE_FLAG_SEEN | STORE_FLAG_DRAFT,
                          .internaldate = -5,
                          .tzoff = -480,
                          .size = 1ull << 35,
                          .modseq = 77,
                          .header_size = 312,
                          .body_mailbox = 7,
                          .body_uid = 9,
                          .keywords = "$Forwarded"};
    struct store_mime mime = {"(NIL)", "(\"text\" \"plain\")", "", NULL, 0};
    struct store_mailbox mb2;
    struct store_msg m2;
    struct store_mime mime2;
    struct store_buf b = {0};

    store_rec_mailbox_put(&b, &mb);
    assert_true(store_rec_mailbox_get(b.data, b.len, 7, &mb2));
    assert_int_equal(mb2.uidvalidity, mb.uidvalidity);
    assert_int_equal(mb2.uidnext, 42);
    assert_int_equal(mb2.recent_uid, 40);
    assert_true(mb2.highestmodseq == mb.highestmodseq);
    assert_int_equal(mb2.messages, 41);
    assert_int_equal(mb2.unseen, 3);
    assert_int_equal(mb2.deleted, 2);
    assert_true(mb2.bytes == mb.bytes);
    assert_string_equal(mb2.name, "Archive/2024");
    assert_string_equal(mb2.keywords, "$Junk Work");
    store_mailbox_clear(&mb2);
    /* a truncated record is refused, not half read */
    assert_false(store_rec_mailbox_get(b.data, b.len - 1, 7, &mb2));
    assert_null(mb2.name);

    store_rec_msg_put(&b, &m);
    assert_true(store_rec_msg_get(b.data, b.len, 9, &m2));
    assert_int_equal(m2.flags, m.flags);
    assert_true(m2.internaldate == -5);
    assert_int_equal(m2.tzoff, -480);
    assert_true(m2.size == m.size);
    assert_true(m2.modseq == 77);
    assert_int_equal(m2.header_size, 312);
    assert_int_equal(m2.body_mailbox, 7);
    assert_int_equal(m2.body_uid, 9);
    assert_string_equal(m2.keywords, "$Forwarded");
    store_msg_clear(&m2);
    m.keywords = NULL;
    store_rec_msg_put(&b, &m);
    assert_true(store_rec_msg_get(b.data, b.len, 9, &m2));
    assert_null(m2.keywords);
    b.data[0] = 99; /* unknown record version */
    assert_false(store_rec_msg_get(b.data, b.len, 9, &m2));

    store_rec_mime_put(&b, &mime);
    assert_true(store_rec_mime_get(b.data, b.len, &mime2));
    assert_string_equal(mime2.envelope, "(NIL)");
    assert_string_equal(mime2.bodystructure, "(\"text\" \"plain\")");
    assert_string_equal(mime2.body, "");
    store_mime_clear(&mime2);
    store_buf_free(&b);
}

static void test_name_canon(void **state)
{
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } cases[] = {
        {"INBOX", "INBOX"},
        {"inbox", "INBOX"},
        {"InBoX/Sub", "INBOX/Sub"},
        {"inboxes", "inboxes"},
        {"Archive/2024/Q1", "Archive/2024/Q1"},
        {"Entw&APw-rfe", "Entw&APw-rfe"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"", NULL},
        {"/lead", NULL},
        {"trail/", NULL},
        {"dou//ble", NULL},
        {"wild*", NULL},
        {"per%cent", NULL},
        {"tab\there", NULL},
        {"del\x7f", NULL},
    };
    struct store_error err;
    char *canon;

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        enum store_err rc = store_name_canon(cases[i].in, &canon, &err);

        if (cases[i].out == NULL) {
            assert_int_equal(rc, STORE_EINVAL);
            assert_null(canon);
        } else {
            assert_int_equal(rc, STORE_OK);
            assert_string_equal(canon, cases[i].out);
            free(canon);
        }
    }
    char *longname = malloc(STORE_NAME_MAX + 2);
    memset(longname, 'a', STORE_NAME_MAX + 1);
    longname[STORE_NAME_MAX + 1] = '\0';
    assert_int_equal(store_name_canon(longname, &canon, &err), STORE_EINVAL);
    longname[STORE_NAME_MAX] = '\0';
    assert_int_equal(store_name_canon(longname, &canon, &err), STORE_OK);
    free(canon);
    free(longname);
}

static void test_name_match(void **state)
{
    static const struct {
        const char *pattern, *name;
        bool match;
    } cases[] = {
        {"*", "INBOX", true},
        {"*", "a/b/c", true},
        {"%", "a", true},
        {"%", "a/b", false},
        {"a/%", "a/b", true},
        {"a/%", "a/b/c", false},
        {"a/*", "a/b/c", true},
        {"a*", "abc", true},
        {"a*c", "a/b/c", true},
        {"a%c", "a/b/c", false},
        {"inbox", "INBOX", true},
        {"iNbOx/%", "INBOX/x", true},
        {"inbox*", "INBOX", true},
        {"inboxes", "inboxes", true},
        {"INBOX", "inboxes", false},
        {"Foo", "foo", false},
        {"", "", true},
        {"*x", "axbx", true},
        {"%%%", "abc", true},
        {"a%/c", "ab/c", true},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        assert_int_equal(store_name_match(cases[i].pattern, cases[i].name), cases[i].match);
}

static void test_user_canon(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"alice", "alice"}, {"Alice.Smith@Example.COM", "alice.smith@example.com"},
        {"a_b-c", "a_b-c"}, {"", NULL},
        {".hidden", NULL},  {"-opt", NULL},
        {"a/b", NULL},      {"a+detail", NULL},
        {"sp ace", NULL},   {"caf\xc3\xa9", NULL},
    };
    char canon[STORE_USER_MAX + 1];
    struct store_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        enum store_err rc = store_user_canon(cases[i].in, canon, &err);

        if (cases[i].out == NULL) {
            assert_int_equal(rc, STORE_EINVAL);
        } else {
            assert_int_equal(rc, STORE_OK);
            assert_string_equal(canon, cases[i].out);
        }
    }
}

static void test_keywords(void **state)
{
    static const struct {
        const char *cur;
        enum store_flag_op op;
        const char *words, *want; /* want NULL: empty set */
    } cases[] = {
        {NULL, STORE_FLAGS_ADD, "$Junk", "$Junk"},
        {"$Junk", STORE_FLAGS_ADD, "$junk Work", "$Junk Work"},
        {"$Junk Work", STORE_FLAGS_REMOVE, "WORK", "$Junk"},
        {"$Junk", STORE_FLAGS_REMOVE, "$Junk", NULL},
        {"a b c", STORE_FLAGS_REPLACE, "  x   y ", "x y"},
        {"a", STORE_FLAGS_REPLACE, NULL, NULL},
        {"a", STORE_FLAGS_ADD, "", "a"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char *got = store_kw_apply(cases[i].cur, cases[i].op, cases[i].words);

        if (cases[i].want == NULL) {
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_string_equal(got, cases[i].want);
        }
        free(got);
    }
    assert_true(store_kw_equal("a B", "b A"));
    assert_true(store_kw_equal(NULL, ""));
    assert_false(store_kw_equal("a", "a b"));
    assert_true(store_kw_valid("$Forwarded NonJunk"));
    assert_false(store_kw_valid("\\Seen"));
    assert_false(store_kw_valid("a(b"));
    assert_false(store_kw_valid("caf\xc3\xa9"));

    char *set = strdup("");
    store_kw_union(&set, "b a");
    store_kw_union(&set, "A c");
    assert_string_equal(set, "b a c");
    free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_key_order),
        cmocka_unit_test(test_message_key_bytes),
        cmocka_unit_test(test_modseq_key_order),
        cmocka_unit_test(test_key_types_distinct),
        cmocka_unit_test(test_name_key_is_sorted_by_name),
        cmocka_unit_test(test_records_round_trip),
        cmocka_unit_test(test_name_canon),
        cmocka_unit_test(test_name_match),
        cmocka_unit_test(test_user_canon),
        cmocka_unit_test(test_keywords),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
