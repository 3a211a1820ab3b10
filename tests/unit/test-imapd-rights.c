/* RFC 4314 rights and the shared-folder names: rights strings both ways (c and d, unknown
 * letters), a user's rights from ACL entries (user, anyone, anyone@domain, negative entries,
 * case), what rights allow a SELECT and a STORE, where a client's name points, and which LIST
 * patterns can reach the other users' namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-rights.h"

static unsigned parse(const char *s)
{
    unsigned mask = 0;
    char bad = 0;

    assert_true(imap_rights_parse(s, strlen(s), &mask, &bad));
    return mask;
}

static void test_parse_format(void **state)
{
    static const struct {
        const char *in, *plain, *virtual;
    } cases[] = {
        {"", "", ""},
        {"l", "l", "l"},
        {"rl", "lr", "lr"},
        {"lrswipkxtea", "lrswipkxtea", "lrswipkxteacd"},
        {"c", "k", "kc"},
        {"d", "xte", "xted"},
        {"lrcd", "lrkxte", "lrkxtecd"},
        {"t", "t", "td"},
        {"aa", "a", "a"},
    };
    char out[16], bad = 0;
    unsigned mask;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        imap_rights_format(parse(cases[i].in), false, out);
        assert_string_equal(out, cases[i].plain);
        imap_rights_format(parse(cases[i].in), true, out);
        assert_string_equal(out, cases[i].virtual);
    }
    assert_false(imap_rights_parse("lrz", 3, &mask, &bad));
    assert_int_equal(bad, 'z');
    assert_false(imap_rights_parse("L", 1, &mask, &bad));
    assert_int_equal(bad, 'L');
    assert_false(imap_rights_parse("l\0r", 3, &mask, &bad)); /* a NUL is no right */
    assert_int_equal(imap_right_bit('a'), IMAP_RIGHT_A);
    assert_int_equal(imap_right_bit('c'), 0);
    assert_int_equal(parse("lrswipkxtea"), IMAP_RIGHTS_ALL);
}

static void test_effective(void **state)
{
    struct store_acl acl[] = {
        {1, "bob", "lrs"},         {1, "anyone", "l"},
        {1, "-carol", "l"},        {1, "anyone@example.com", "i"},
        {1, "Dave", "lr"},         {1, "-anyone", "s"},
        {2, "bob", "lrswipkxtea"}, {1, "eve", "lrz"},
    };
    static const struct {
        const char *user, *want;
    } cases[] = {
        {"bob", "lr"},              /* lrs | l, less the s every user lost */
        {"carol", ""},              /* anyone's l taken away */
        {"dave", "lr"},             /* identifiers are case-insensitive */
        {"frank", "l"},             /* anyone */
        {"gina@example.com", "li"}, /* anyone@domain of the user's domain */
        {"hal@example.org", "l"},
        {"eve", "l"}, /* an entry that does not parse grants nothing */
    };
    char out[16];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        imap_rights_format(
            imap_rights_effective(acl, sizeof(acl) / sizeof(acl[0]), 1, cases[i].user), false, out);
        assert_string_equal(out, cases[i].want);
    }
    imap_rights_format(imap_rights_effective(acl, sizeof(acl) / sizeof(acl[0]), 2, "bob"), false,
                       out);
    assert_string_equal(out, "lrswipkxtea");
    assert_int_equal(imap_rights_effective(acl, sizeof(acl) / sizeof(acl[0]), 3, "bob"), 0);
    assert_int_equal(imap_rights_effective(NULL, 0, 1, "bob"), 0);
}

static void test_select_and_store(void **state)
{
    (void)state;
    /* RFC 4314 5.2: read-write with i, e or a flag right */
    assert_false(imap_rights_writable(parse("lr")));
    assert_false(imap_rights_writable(parse("lrkxpa")));
    for (const char *p = "iswte"; *p; p++)
        assert_true(imap_rights_writable(imap_right_bit(*p)));
    assert_int_equal(imap_rights_flags(parse("lr")), 0);
    assert_int_equal(imap_rights_flags(parse("s")), STORE_FLAG_SEEN);
    assert_int_equal(imap_rights_flags(parse("t")), STORE_FLAG_DELETED);
    assert_int_equal(imap_rights_flags(parse("w")),
                     STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT);
    assert_int_equal(imap_rights_flags(IMAP_RIGHTS_ALL), STORE_FLAGS_ALL);
}

static void test_name_split(void **state)
{
    static const struct {
        const char *name;
        enum imap_name_kind kind;
        const char *owner, *rest;
    } cases[] = {
        {"INBOX", IMAP_NAME_PERSONAL, NULL, "INBOX"},
        {"Shared", IMAP_NAME_PERSONAL, NULL, "Shared"},
        {"Shared Folders2", IMAP_NAME_PERSONAL, NULL, "Shared Folders2"},
        {"Shared Folders X/Y", IMAP_NAME_PERSONAL, NULL, "Shared Folders X/Y"},
        {"shared folders/User/bob/A", IMAP_NAME_PERSONAL, NULL, "shared folders/User/bob/A"},
        {"Shared Folders", IMAP_NAME_LEVEL, NULL, NULL},
        {"Shared Folders/User", IMAP_NAME_LEVEL, NULL, NULL},
        {"Shared Folders/User/bob", IMAP_NAME_LEVEL, "bob", NULL},
        {"Shared Folders/User/bob/INBOX", IMAP_NAME_SHARED, "bob", "INBOX"},
        {"Shared Folders/User/bob/A/B", IMAP_NAME_SHARED, "bob", "A/B"},
        {"Shared Folders/User/", IMAP_NAME_NONE, NULL, NULL},
        {"Shared Folders/User/bob/", IMAP_NAME_NONE, NULL, NULL},
        {"Shared Folders/User//A", IMAP_NAME_NONE, NULL, NULL},
        {"Shared Folders/Public/A", IMAP_NAME_NONE, NULL, NULL},
        {"Shared Folders/Users", IMAP_NAME_NONE, NULL, NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *owner, *rest;
        size_t len;
        enum imap_name_kind kind = imap_name_split(cases[i].name, &owner, &len, &rest);
        assert_int_equal(kind, cases[i].kind);
        if (cases[i].owner != NULL) {
            assert_int_equal(len, strlen(cases[i].owner));
            assert_memory_equal(owner, cases[i].owner, len);
        }
        if (cases[i].rest != NULL)
            assert_string_equal(rest, cases[i].rest);
    }
}

static void test_pattern_reaches(void **state)
{
    static const struct {
        const char *pattern;
        bool reaches;
    } cases[] = {
        {"*", true},
        {"%", true},
        {"S%", true},
        {"Shared Folders", true},
        {"Shared Folders/User/%", true},
        {"Shared Folders/User/bob/A*", true},
        {"Sh*", true},
        {"INBOX", false},
        {"INBOX*", false},
        {"Shared Folderz*", false},
        {"Shared Folders/Pub*", false},
        {"T%", false},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(imap_pattern_reaches_shared(cases[i].pattern), cases[i].reaches);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format),     cmocka_unit_test(test_effective),
        cmocka_unit_test(test_select_and_store), cmocka_unit_test(test_name_split),
        cmocka_unit_test(test_pattern_reaches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
