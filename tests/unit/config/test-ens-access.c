/* ENS_ACCESS lists: parsing (good lists, every kind of mistake) and first-match evaluation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "ens-access.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_parse(void **state)
{
    static const struct {
        const char *text;
        int n;           /* -1: refused */
        const char *why; /* expected reason when refused */
    } cases[] = {
        {"+127.0.0.1|255.255.255.255", 1, NULL},
        {"+127.0.0.1|255.255.255.255;-192.168.0.17|255.255.255.255", 2, NULL},
        {" +10.0.0.0|255.0.0.0 ; -0.0.0.0|0.0.0.0 ", 2, NULL},
        {"+::1|ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, NULL},
        {"+2001:db8::|ffff:ffff::;+127.0.0.1|255.255.255.255", 2, NULL},
        {"", -1, "an empty list would refuse every client"},
        {"   ", -1, "an empty list would refuse every client"},
        {"+127.0.0.1|255.255.255.255;", -1, "empty item"},
        {";+127.0.0.1|255.255.255.255", -1, "empty item"},
        {"127.0.0.1|255.255.255.255", -1, "an item must start with + (allow) or - (deny)"},
        {"*127.0.0.1|255.255.255.255", -1, "an item must start with + (allow) or - (deny)"},
        {"+127.0.0.1", -1, "an item needs addr|mask"},
        {"+127.0.0|255.255.255.255", -1, "bad address"},
        {"+localhost|255.255.255.255", -1, "bad address"},
        {"+|255.255.255.255", -1, "bad address"},
        {"+127.0.0.1|", -1, "bad mask"},
        {"+127.0.0.1|255.255.255.256", -1, "bad mask"},
        {"+127.0.0.1|ffff::", -1, "address and mask are of different families"},
        {"+ 127.0.0.1|255.255.255.255", -1, "bad address"},
        {"+127.0.0.1|255.255.255.255|1", -1, "bad mask"},
    };
    struct ens_access_rule rules[ENS_ACCESS_MAX];

    for (size_t i = 0; i < N(cases); i++) {
        const char *why = NULL;
        int n = ens_access_parse(cases[i].text, rules, ENS_ACCESS_MAX, &why);

        if (n != cases[i].n)
            fail_msg("\"%s\": got %d (%s), want %d", cases[i].text, n, why ? why : "", cases[i].n);
        if (n < 0)
            assert_string_equal(why, cases[i].why);
    }
}

static void test_parse_fields(void **state)
{
    struct ens_access_rule rules[2];
    const char *why;
    const unsigned char addr[4] = {192, 168, 0, 17}, mask[4] = {255, 255, 255, 0};

    assert_int_equal(
        ens_access_parse("+127.0.0.1|255.0.0.0;-192.168.0.17|255.255.255.0", rules, 2, &why), 2);
    assert_true(rules[0].allow);
    assert_false(rules[1].allow);
    assert_int_equal(rules[1].family, AF_INET);
    assert_memory_equal(rules[1].addr, addr, 4);
    assert_memory_equal(rules[1].mask, mask, 4);
    assert_int_equal(ens_access_parse("+1.1.1.1|255.0.0.0;+2.2.2.2|255.0.0.0;+3.3.3.3|255.0.0.0",
                                      rules, 2, &why),
                     -1);
    assert_string_equal(why, "too many items");
}

static void test_allows(void **state)
{
    static const struct {
        const char *list, *client;
        bool allowed;
    } cases[] = {
        {"+127.0.0.1|255.255.255.255", "127.0.0.1", true},
        {"+127.0.0.1|255.255.255.255", "127.0.0.2", false},
        {"+127.0.0.1|255.255.255.255", "::1", false},
        {"+127.0.0.1|255.255.255.255", "::ffff:127.0.0.1", true},
        {"+127.0.0.0|255.0.0.0", "127.9.8.7", true},
        {"-192.168.0.17|255.255.255.255;+192.168.0.0|255.255.0.0", "192.168.0.17", false},
        {"-192.168.0.17|255.255.255.255;+192.168.0.0|255.255.0.0", "192.168.4.4", true},
        {"+192.168.0.0|255.255.0.0;-192.168.0.17|255.255.255.255", "192.168.0.17", true},
        {"-10.0.0.0|255.0.0.0;+0.0.0.0|0.0.0.0", "10.1.1.1", false},
        {"-10.0.0.0|255.0.0.0;+0.0.0.0|0.0.0.0", "11.1.1.1", true},
        {"+2001:db8::|ffff:ffff::", "2001:db8:1::5", true},
        {"+2001:db8::|ffff:ffff::", "2001:db9::5", false},
    };

    for (size_t i = 0; i < N(cases); i++) {
        struct ens_access_rule rules[ENS_ACCESS_MAX];
        unsigned char addr[16];
        int family = strchr(cases[i].client, ':') != NULL ? AF_INET6 : AF_INET;
        const char *why;
        int n = ens_access_parse(cases[i].list, rules, ENS_ACCESS_MAX, &why);

        assert_true(n > 0);
        assert_int_equal(inet_pton(family, cases[i].client, addr), 1);
        if (ens_access_allows(rules, (size_t)n, family, addr) != cases[i].allowed)
            fail_msg("%s for %s: want %d", cases[i].list, cases[i].client, cases[i].allowed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_allows),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
