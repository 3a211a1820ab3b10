/* libauth's pure parts, table-driven: login IDs (the seed's separator and default domain),
 * base64 (SASL PLAIN itself is GNU SASL's: test-auth-sasl.c, test_sasl.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth.h"

static void test_candidates(void **state)
{
    static const struct {
        const char *id, *sep, *dom;
        size_t n;
        const char *first, *second;
    } cases[] = {
        {"alice", "+", "", 1, "alice", NULL},
        {"alice", "+", "example.org", 2, "alice@example.org", "alice"},
        {"alice@example.org", "+", "", 2, "alice@example.org", "alice"},
        {"alice@example.org", "+", "example.org", 2, "alice@example.org", "alice"},
        {"alice@other.org", "+", "example.org", 1, "alice@other.org", NULL},
        {"alice+example.org", "+", "", 2, "alice@example.org", "alice"},
        {"alice+example.org", "", "", 1, "alice+example.org", NULL},
        {"a+b+example.org", "+", "", 2, "a+b@example.org", "a+b"},
        {"alice%example.org", "%", "example.org", 2, "alice@example.org", "alice"},
        {"alice+", "+", "", 1, "alice+", NULL},
        {"+alice", "+", "", 1, "+alice", NULL},
        {"@example.org", "+", "", 0, NULL, NULL},
        {"alice@", "+", "", 0, NULL, NULL},
        {"a@b@c", "+", "", 0, NULL, NULL},
        {"", "+", "", 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char names[2][AUTH_ID_MAX + 1];
        size_t n = auth_id_candidates(cases[i].id, cases[i].sep, cases[i].dom, names);
        assert_int_equal(n, cases[i].n);
        if (n >= 1)
            assert_string_equal(names[0], cases[i].first);
        if (n >= 2)
            assert_string_equal(names[1], cases[i].second);
    }
}

static void test_too_long(void **state)
{
    char id[AUTH_ID_MAX + 2];
    char names[2][AUTH_ID_MAX + 1];

    memset(id, 'a', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    assert_int_equal(auth_id_candidates(id, "+", "", names), 0);
    id[AUTH_ID_MAX] = '\0';
    assert_int_equal(auth_id_candidates(id, "+", "", names), 1);
    /* qualifying would overflow: only the bare name is offered */
    assert_int_equal(auth_id_candidates(id, "+", "example.org", names), 1);
}

static void test_base64(void **state)
{
    static const struct {
        const char *in;
        long len;
        const char *out;
    } cases[] = {
        {"", 0, ""},
        {"Zg==", 1, "f"},
        {"Zm8=", 2, "fo"},
        {"Zm9v", 3, "foo"},
        {"AGFsaWNlAHNlY3JldA==", 13, "\0alice\0secret"},
        {"Zm9", -1, NULL},
        {"Zm9v\r\n", -1, NULL},
        {"Z===", -1, NULL},
        {"Zg=a", -1, NULL},
        {"Zg==Zg==", -1, NULL},
        {"Zm9*", -1, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char out[64];
        long n = auth_base64_decode(cases[i].in, strlen(cases[i].in), out, sizeof(out));
        assert_int_equal(n, cases[i].len);
        if (n > 0)
            assert_memory_equal(out, cases[i].out, (size_t)n);
    }
    unsigned char small[2];
    assert_int_equal(auth_base64_decode("Zm9v", 4, small, sizeof(small)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_candidates),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
