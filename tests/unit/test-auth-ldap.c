/* The pure half of the LDAP directory: RFC 4515 escaping, the search filter, and Sun's status
 * and quota values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth-ldap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_escape(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"alice", "alice"},
        {"a*", "a\\2a"},
        {"(uid=*)", "\\28uid=\\2a\\29"},
        {"back\\slash", "back\\5cslash"},
        {"*)(|(uid=*", "\\2a\\29\\28|\\28uid=\\2a"},
        {"j\xc3\xa9r\xc3\xb4me", "j\\c3\\a9r\\c3\\b4me"},
        {"a@example.com", "a@example.com"},
    };
    char out[64];

    for (size_t i = 0; i < N(cases); i++) {
        size_t n = auth_ldap_escape(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].out);
        assert_int_equal(n, strlen(cases[i].out));
    }
    assert_int_equal(auth_ldap_escape("", out, sizeof(out)), 0);
    assert_int_equal(auth_ldap_escape("abc", out, 3), 0); /* no room for the NUL */
    assert_int_equal(auth_ldap_escape("a*", out, 4), 0);  /* \2a does not fit */
    assert_int_equal(auth_ldap_escape("a*", out, 5), 4);
}

static void test_filter(void **state)
{
    struct auth_ldap_key one[] = {{"uid", "alice"}};
    struct auth_ldap_key login[] = {{"uid", "alice@example.com"},
                                    {"uid", "alice"},
                                    {"mail", "alice@example.com"},
                                    {"mailAlternateAddress", "alice@example.com"}};
    struct auth_ldap_key evil[] = {{"uid", "*)(uid=*"}};
    struct auth_ldap_key badattr[] = {{"uid)(x", "a"}};
    struct auth_ldap_key empty[] = {{"uid", ""}};
    char out[AUTH_LDAP_FILTER_MAX];

    assert_int_equal(auth_ldap_filter(one, 1, out, sizeof(out)), 0);
    assert_string_equal(out, "(uid=alice)");
    assert_int_equal(auth_ldap_filter(login, 4, out, sizeof(out)), 0);
    assert_string_equal(out, "(|(uid=alice@example.com)(uid=alice)(mail=alice@example.com)"
                             "(mailAlternateAddress=alice@example.com))");
    assert_int_equal(auth_ldap_filter(evil, 1, out, sizeof(out)), 0);
    assert_string_equal(out, "(uid=\\2a\\29\\28uid=\\2a)");
    assert_int_equal(auth_ldap_filter(badattr, 1, out, sizeof(out)), -1);
    assert_int_equal(auth_ldap_filter(empty, 1, out, sizeof(out)), -1);
    assert_int_equal(auth_ldap_filter(one, 0, out, sizeof(out)), -1);
    assert_int_equal(auth_ldap_filter(one, 1, out, 11), -1); /* one byte short */
    assert_int_equal(auth_ldap_filter(one, 1, out, 12), 0);
    assert_int_equal(auth_ldap_filter(login, 2, out, 30), -1);
}

static void test_status(void **state)
{
    static const struct {
        const char *in;
        bool ok;
        enum store_user_status s;
    } cases[] = {
        {"active", true, STORE_USER_ACTIVE},
        {"Active", true, STORE_USER_ACTIVE},
        {"inactive", true, STORE_USER_INACTIVE},
        {"disabled", true, STORE_USER_DISABLED},
        {"deleted", true, STORE_USER_DELETED},
        {"removed", true, STORE_USER_REMOVED},
        {"HOLD", true, STORE_USER_HOLD},
        {"overquota", true, STORE_USER_ACTIVE},
        {"", false, 0},
        {"locked", false, 0},
        {"active ", false, 0},
    };
    enum store_user_status s;

    for (size_t i = 0; i < N(cases); i++) {
        s = STORE_USER_REMOVED;
        assert_int_equal(auth_ldap_status_parse(cases[i].in, &s), cases[i].ok);
        if (cases[i].ok)
            assert_int_equal(s, cases[i].s);
    }
}

static void test_quota(void **state)
{
    assert_int_equal(auth_ldap_quota_parse(NULL), 0);
    assert_int_equal(auth_ldap_quota_parse("-1"), 0);
    assert_int_equal(auth_ldap_quota_parse("0"), 0);
    assert_int_equal(auth_ldap_quota_parse("1048576"), 1048576);
    assert_int_equal(auth_ldap_quota_parse("10M"), 0);
    assert_int_equal(auth_ldap_quota_parse(""), 0);
    assert_int_equal(auth_ldap_quota_parse("99999999999999999999999"), 0);
    assert_true(auth_ldap_quota_parse("18446744073709551615") == UINT64_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_filter),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_quota),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
