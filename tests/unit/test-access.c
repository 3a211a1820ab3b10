/* Access rules, table-driven: mailAllowedServiceAccess and domainallowed syntax (good and bad,
 * with the offset of the error), every client pattern, EXCEPT, Sun's evaluation order, and that
 * a host name is looked up only when a rule reached needs it (a fake resolver). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "access.h"

static void test_parse_good(void **state)
{
    static const struct {
        const char *text;
        enum access_syntax syntax;
        size_t rules;
        bool need_name;
    } cases[] = {
        {"", ACCESS_SYNTAX_RULES, 0, false},
        {"   ", ACCESS_SYNTAX_RULES, 0, false},
        /* the Schema Reference's examples */
        {"+imap,pop,http:*", ACCESS_SYNTAX_RULES, 1, false},
        {"+imap:ALL$+pop:ALL$+http:ALL", ACCESS_SYNTAX_RULES, 3, false},
        {"-imap:*$-pop:*$-http:*", ACCESS_SYNTAX_RULES, 3, false},
        {"-ALL:ALL EXCEPT server1.example.com", ACCESS_SYNTAX_RULES, 1, true},
        {"+imaps,pops:*$+imap,pop:192.0.2.10", ACCESS_SYNTAX_RULES, 2, false},
        /* blanks, case, separators */
        {" + imap , pop : 127.0.0.1 , 10.0.0.0/8 $ - all : all ", ACCESS_SYNTAX_RULES, 2, false},
        {"+IMAP POP3:LOCAL KNOWN", ACCESS_SYNTAX_RULES, 1, true},
        {"-imap:UNKNOWN,DNSSPOOFER", ACCESS_SYNTAX_RULES, 1, true},
        {"+imap:.example.com EXCEPT a.example.com EXCEPT 192.0.2.1", ACCESS_SYNTAX_RULES, 1, true},
        {"+ALL EXCEPT http:*", ACCESS_SYNTAX_RULES, 1, false},
        {"+https,smtp,smtps,smime,imaps:*", ACCESS_SYNTAX_RULES, 1, false},
        /* addresses */
        {"+imap:192.0.2.0/255.255.255.0", ACCESS_SYNTAX_RULES, 1, false},
        {"+imap:192.0.2.0/24,0.0.0.0/0", ACCESS_SYNTAX_RULES, 1, false},
        {"+imap:192.168.,10.", ACCESS_SYNTAX_RULES, 1, false},
        {"+imap:::1", ACCESS_SYNTAX_RULES, 1, false},
        {"+imap:[::1],[2001:db8::]/32,2001:db8::/ffff:ffff::", ACCESS_SYNTAX_RULES, 1, false},
        {"+imap:::ffff:192.0.2.1", ACCESS_SYNTAX_RULES, 1, false},
        /* filters */
        {"ALL: LOCAL", ACCESS_SYNTAX_FILTER, 1, true},
        {"imap: 127.0.0.1 $ imaps: ALL EXCEPT 127.0.0.2", ACCESS_SYNTAX_FILTER, 2, false},
        {"ALL EXCEPT pop: contractor.example.com, .example.com", ACCESS_SYNTAX_FILTER, 1, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct access_rules *r = NULL;
        struct access_error err;
        int rc = access_rules_parse(cases[i].text, strlen(cases[i].text), cases[i].syntax, true, &r,
                                    &err);
        if (rc != 0)
            fail_msg("case %zu \"%s\": %s at %zu", i, cases[i].text, err.why, err.offset);
        assert_int_equal(access_rules_count(r), cases[i].rules);
        assert_int_equal(access_rules_need_name(r), cases[i].need_name);
        access_rules_free(&r);
        assert_null(r);
    }
}

static void test_parse_bad(void **state)
{
    static const struct {
        const char *text;
        enum access_syntax syntax;
        size_t offset;
        const char *why; /* a part of the message */
    } cases[] = {
        {"imap:ALL", ACCESS_SYNTAX_RULES, 0, "starts with +"},
        {"+imap", ACCESS_SYNTAX_RULES, 1, "no ':'"},
        {"+:ALL", ACCESS_SYNTAX_RULES, 1, "empty list"},
        {"+imap:", ACCESS_SYNTAX_RULES, 6, "empty list"},
        {"+imap:  ", ACCESS_SYNTAX_RULES, 6, "empty list"},
        {"+imap4:ALL", ACCESS_SYNTAX_RULES, 1, "unknown service"},
        {"+imap@host:ALL", ACCESS_SYNTAX_RULES, 1, "service@host"},
        {"+imap:ALL$", ACCESS_SYNTAX_RULES, 10, "empty rule"},
        {"$+imap:ALL", ACCESS_SYNTAX_RULES, 0, "empty rule"},
        {"+imap:ALL$$-pop:ALL", ACCESS_SYNTAX_RULES, 10, "empty rule"},
        {"+imap:EXCEPT a.example.com", ACCESS_SYNTAX_RULES, 6, "before it"},
        {"+imap:ALL EXCEPT", ACCESS_SYNTAX_RULES, 10, "after it"},
        {"+imap:ALL EXCEPT EXCEPT x", ACCESS_SYNTAX_RULES, 17, "before it"},
        {"+imap:@staff", ACCESS_SYNTAX_RULES, 6, "netgroups"},
        {"+imap:bob@host.example.com", ACCESS_SYNTAX_RULES, 6, "user@host"},
        {"+imap:*.example.com", ACCESS_SYNTAX_RULES, 6, "wildcards"},
        {"+imap:192.0.2.256", ACCESS_SYNTAX_RULES, 6, "bad address"},
        {"+imap:192.0.2", ACCESS_SYNTAX_RULES, 6, "bad address"},
        {"+imap:192.0.2.1/255.0.255.0", ACCESS_SYNTAX_RULES, 16, "not contiguous"},
        {"+imap:192.0.2.1/24", ACCESS_SYNTAX_RULES, 6, "outside the mask"},
        {"+imap:192.0.2.0/33", ACCESS_SYNTAX_RULES, 16, "too long"},
        {"+imap:192.0.2.0/ffff::", ACCESS_SYNTAX_RULES, 16, "different families"},
        {"+imap:192.0.2.0/x", ACCESS_SYNTAX_RULES, 16, "bad mask"},
        {"+imap:[192.0.2.1]", ACCESS_SYNTAX_RULES, 6, "IPv6"},
        {"+imap:1.2.3.4.5.", ACCESS_SYNTAX_RULES, 6, "bad address"},
        {"+imap:.", ACCESS_SYNTAX_RULES, 6, "after the dot"},
        {"+imap:host_a!", ACCESS_SYNTAX_RULES, 12, "bad character"},
        {"+imap:host.", ACCESS_SYNTAX_RULES, 6, "ending in a dot"},
        {"+imap:ALL\n", ACCESS_SYNTAX_RULES, 9, "control character"},
        {"+imap:ALL", ACCESS_SYNTAX_FILTER, 0, "no + or -"},
        {"127.0.0.1", ACCESS_SYNTAX_FILTER, 0, "no ':'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct access_rules *r = (struct access_rules *)1;
        struct access_error err;
        int rc = access_rules_parse(cases[i].text, strlen(cases[i].text), cases[i].syntax, true, &r,
                                    &err);
        if (rc == 0)
            fail_msg("case %zu \"%s\" parsed", i, cases[i].text);
        assert_null(r);
        if (strstr(err.why, cases[i].why) == NULL || err.offset != cases[i].offset)
            fail_msg("case %zu \"%s\": \"%s\" at %zu", i, cases[i].text, err.why, err.offset);
    }
}

static void test_parse_limits(void **state)
{
    size_t len = ACCESS_TEXT_MAX + 1;
    char *text = malloc(len + 1);
    struct access_rules *r;
    struct access_error err;

    /* "+imap:ALL$" repeated: more than ACCESS_RULES_MAX rules */
    for (size_t i = 0; i < len; i++)
        text[i] = "+imap:ALL$"[i % 10];
    assert_int_equal(access_rules_parse(text, len, ACCESS_SYNTAX_RULES, true, &r, &err), -1);
    assert_string_equal(err.why, "too long");
    assert_int_equal(
        access_rules_parse(text, 10 * ACCESS_RULES_MAX + 9, ACCESS_SYNTAX_RULES, true, &r, &err),
        -1);
    assert_string_equal(err.why, "too many rules");
    assert_int_equal(
        access_rules_parse(text, 10 * ACCESS_RULES_MAX - 1, ACCESS_SYNTAX_RULES, true, &r, &err),
        0);
    assert_int_equal(access_rules_count(r), ACCESS_RULES_MAX);
    access_rules_free(&r);
    /* every prefix of a rich text either parses or fails cleanly */
    const char *rich = "+imap,pop:.example.com EXCEPT a.example.com,[2001:db8::]/32$-ALL:ALL";
    for (size_t n = 0; n <= strlen(rich); n++) {
        if (access_rules_parse(rich, n, ACCESS_SYNTAX_RULES, true, &r, &err) == 0)
            access_rules_free(&r);
        else
            assert_true(err.why != NULL && err.offset <= n);
    }
    free(text);
}

/* The fake DNS: a few known names, one spoofed, the rest without a name. */
static unsigned resolve_calls;

static void fake_resolve(struct access_peer *peer)
{
    static const struct {
        const char *addr, *name;
        enum access_name_state state;
    } hosts[] = {
        {"127.0.0.1", "localhost", ACCESS_NAME_OK},
        {"192.0.2.10", "server1.example.com", ACCESS_NAME_OK},
        {"192.0.2.11", "host.sub.example.com", ACCESS_NAME_OK},
        {"192.0.2.66", "evil.example.com", ACCESS_NAME_SPOOFED},
        {"2001:db8::1", "v6.example.com", ACCESS_NAME_OK},
    };
    char text[64];

    resolve_calls++;
    access_peer_addr_text(peer, text, sizeof(text));
    peer->name_state = ACCESS_NAME_NONE;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(*hosts); i++)
        if (strcmp(text, hosts[i].addr) == 0) {
            peer->name_state = hosts[i].state;
            strcpy(peer->name, hosts[i].name);
        }
}

struct check_case {
    const char *rules, *service, *addr;
    enum access_verdict verdict;
    unsigned rule; /* 1-based deciding rule, 0: none */
    unsigned lookups;
};

static void run_checks(const struct check_case *cases, size_t n, enum access_syntax syntax)
{
    for (size_t i = 0; i < n; i++) {
        struct access_rules *r;
        struct access_error err;
        struct access_peer peer;
        struct access_result res;

        if (access_rules_parse(cases[i].rules, strlen(cases[i].rules), syntax, false, &r, &err) < 0)
            fail_msg("case %zu: %s at %zu", i, err.why, err.offset);
        assert_int_equal(access_peer_from_text(&peer, cases[i].addr), 0);
        resolve_calls = 0;
        const struct access_rules *sets[] = {r};
        access_check(sets, 1, cases[i].service, &peer, fake_resolve, &res);
        if (res.verdict != cases[i].verdict || res.rule_index != cases[i].rule ||
            resolve_calls != cases[i].lookups)
            fail_msg("case %zu \"%s\" %s from %s: verdict %d rule %u lookups %u (%s)", i,
                     cases[i].rules, cases[i].service, cases[i].addr, res.verdict, res.rule_index,
                     resolve_calls, res.reason);
        assert_true(res.rule_index == 0 || res.rule_text != NULL);
        access_rules_free(&r);
    }
}

static void test_check_rules(void **state)
{
    static const struct check_case cases[] = {
        /* no attribute: everything */
        {"", "imap", "192.0.2.1", ACCESS_ALLOW, 0, 0},
        /* the Schema Reference's examples */
        {"+imap,pop,http:*", "imap", "192.0.2.1", ACCESS_ALLOW, 1, 0},
        {"+imap,pop,http:*", "imaps", "192.0.2.1", ACCESS_DENY, 0, 0}, /* allow rules only */
        {"+imap:ALL$+pop:ALL$+http:ALL", "pop", "192.0.2.1", ACCESS_ALLOW, 2, 0},
        {"-imap:*$-pop:*$-http:*", "pop", "192.0.2.1", ACCESS_DENY, 2, 0},
        {"-imap:*$-pop:*$-http:*", "https", "192.0.2.1", ACCESS_ALLOW, 0, 0},
        {"-ALL:ALL EXCEPT server1.example.com", "imap", "192.0.2.10", ACCESS_ALLOW, 0, 1},
        {"-ALL:ALL EXCEPT server1.example.com", "imap", "192.0.2.11", ACCESS_DENY, 1, 1},
        {"+imaps,pops:*$+imap,pop:192.0.2.10", "imaps", "198.51.100.1", ACCESS_ALLOW, 1, 0},
        {"+imaps,pops:*$+imap,pop:192.0.2.10", "pop", "192.0.2.10", ACCESS_ALLOW, 2, 0},
        {"+imaps,pops:*$+imap,pop:192.0.2.10", "pop", "192.0.2.11", ACCESS_DENY, 0, 0},
        /* allow rules come first, whatever the order written */
        {"-imap:ALL$+imap:127.0.0.1", "imap", "127.0.0.1", ACCESS_ALLOW, 2, 0},
        {"-imap:ALL$+imap:127.0.0.1", "imap", "127.0.0.2", ACCESS_DENY, 1, 0},
        /* deny rules present: no match allows */
        {"+imap:127.0.0.1$-pop:ALL", "imap", "127.0.0.2", ACCESS_ALLOW, 0, 0},
        /* services */
        {"-ALL EXCEPT pop:ALL", "pop", "192.0.2.1", ACCESS_ALLOW, 0, 0},
        {"-ALL EXCEPT pop:ALL", "imap", "192.0.2.1", ACCESS_DENY, 1, 0},
        {"-ALL EXCEPT imap EXCEPT imap:ALL", "imap", "192.0.2.1", ACCESS_DENY, 1, 0},
        {"-*:ALL", "http", "192.0.2.1", ACCESS_DENY, 1, 0},
        {"-pop3:ALL", "pop", "192.0.2.1", ACCESS_DENY, 1, 0},
        /* addresses */
        {"-imap:192.0.2.0/255.255.255.0", "imap", "192.0.2.200", ACCESS_DENY, 1, 0},
        {"-imap:192.0.2.0/255.255.255.0", "imap", "192.0.3.1", ACCESS_ALLOW, 0, 0},
        {"-imap:192.0.2.128/25", "imap", "192.0.2.127", ACCESS_ALLOW, 0, 0},
        {"-imap:192.0.2.128/25", "imap", "192.0.2.129", ACCESS_DENY, 1, 0},
        {"-imap:192.0.", "imap", "192.0.9.9", ACCESS_DENY, 1, 0},
        {"-imap:192.0.", "imap", "192.1.0.1", ACCESS_ALLOW, 0, 0},
        {"-imap:0.0.0.0/0", "imap", "203.0.113.7", ACCESS_DENY, 1, 0},
        {"-imap:0.0.0.0/0", "imap", "::1", ACCESS_ALLOW, 0, 0},
        {"-imap:127.0.0.1", "imap", "::ffff:127.0.0.1", ACCESS_DENY, 1, 0},
        {"-imap:::1", "imap", "::1", ACCESS_DENY, 1, 0},
        {"-imap:[2001:db8::]/32", "imap", "2001:db8:1::5", ACCESS_DENY, 1, 0},
        {"-imap:[2001:db8::]/32", "imap", "2001:db9::5", ACCESS_ALLOW, 0, 0},
        /* names: looked up once, and only when reached */
        {"-imap:server1.example.com", "imap", "192.0.2.10", ACCESS_DENY, 1, 1},
        {"-imap:SERVER1.Example.COM", "imap", "192.0.2.10", ACCESS_DENY, 1, 1},
        {"-imap:server1.example.com", "pop", "192.0.2.10", ACCESS_ALLOW, 0, 0},
        {"-imap:.example.com", "imap", "192.0.2.11", ACCESS_DENY, 1, 1},
        {"-imap:.sub.example.com,.example.com", "imap", "192.0.2.11", ACCESS_DENY, 1, 1},
        {"-imap:.example.com", "imap", "192.0.2.1", ACCESS_ALLOW, 0, 1},
        {"-imap:.ample.com", "imap", "192.0.2.11", ACCESS_ALLOW, 0, 1},
        {"-imap:example.com", "imap", "192.0.2.11", ACCESS_ALLOW, 0, 1},
        {"-imap:127.0.0.1,localhost", "imap", "127.0.0.1", ACCESS_DENY, 1, 0},
        {"-imap:.example.com", "imap", "192.0.2.66", ACCESS_ALLOW, 0, 1}, /* not confirmed */
        {"-imap:evil.example.com", "imap", "192.0.2.66", ACCESS_ALLOW, 0, 1},
        {"-imap:.example.com", "imap", "2001:db8::1", ACCESS_DENY, 1, 1},
        /* wildcards */
        {"-imap:LOCAL", "imap", "127.0.0.1", ACCESS_DENY, 1, 1},
        {"-imap:LOCAL", "imap", "192.0.2.10", ACCESS_ALLOW, 0, 1},
        {"-imap:LOCAL", "imap", "192.0.2.1", ACCESS_ALLOW, 0, 1},
        {"-imap:KNOWN", "imap", "192.0.2.10", ACCESS_DENY, 1, 1},
        {"-imap:KNOWN", "imap", "192.0.2.1", ACCESS_ALLOW, 0, 1},
        {"-imap:KNOWN", "imap", "192.0.2.66", ACCESS_ALLOW, 0, 1},
        {"-imap:UNKNOWN", "imap", "192.0.2.1", ACCESS_DENY, 1, 1},
        {"-imap:UNKNOWN", "imap", "192.0.2.66", ACCESS_DENY, 1, 1},
        {"-imap:UNKNOWN", "imap", "127.0.0.1", ACCESS_ALLOW, 0, 1},
        {"-imap:DNSSPOOFER", "imap", "192.0.2.66", ACCESS_DENY, 1, 1},
        {"-imap:DNSSPOOFER", "imap", "192.0.2.11", ACCESS_ALLOW, 0, 1},
        /* EXCEPT nests from the right */
        {"-imap:ALL EXCEPT 192.0.2.0/24 EXCEPT 192.0.2.10", "imap", "192.0.2.10", ACCESS_DENY, 1,
         0},
        {"-imap:ALL EXCEPT 192.0.2.0/24 EXCEPT 192.0.2.10", "imap", "192.0.2.11", ACCESS_ALLOW, 0,
         0},
        {"-imap:ALL EXCEPT 192.0.2.0/24 EXCEPT 192.0.2.10", "imap", "198.51.100.1", ACCESS_DENY, 1,
         0},
        {"+imap:.example.com EXCEPT server1.example.com", "imap", "192.0.2.10", ACCESS_DENY, 0, 1},
        {"+imap:.example.com EXCEPT server1.example.com", "imap", "192.0.2.11", ACCESS_ALLOW, 1, 1},
        /* an address rule before a name rule: no lookup when the address decides */
        {"+imap:192.0.2.11$+imap:.example.com", "imap", "192.0.2.11", ACCESS_ALLOW, 1, 0},
        {"+imap:192.0.2.12$+imap:.example.com", "imap", "192.0.2.11", ACCESS_ALLOW, 2, 1},
        /* one lookup however many name rules are reached */
        {"-imap:a.example.com$-imap:b.example.com$-imap:LOCAL", "imap", "192.0.2.1", ACCESS_ALLOW,
         0, 1},
    };
    run_checks(cases, sizeof(cases) / sizeof(*cases), ACCESS_SYNTAX_RULES);
}

/* domainallowed + domainnotallowed: two sets, the allowed one first. */
static void test_check_filters(void **state)
{
    static const struct {
        const char *allowed, *denied, *service, *addr;
        enum access_verdict verdict;
    } cases[] = {
        {"", "", "imap", "127.0.0.2", ACCESS_ALLOW},
        {"imap: 127.0.0.1", "", "imap", "127.0.0.1", ACCESS_ALLOW},
        {"imap: 127.0.0.1", "", "imap", "127.0.0.2", ACCESS_DENY},
        {"", "imap: 127.0.0.2", "imap", "127.0.0.2", ACCESS_DENY},
        {"", "imap: 127.0.0.2", "imap", "127.0.0.1", ACCESS_ALLOW},
        {"ALL: 127.0.0.2", "ALL: ALL", "imap", "127.0.0.2", ACCESS_ALLOW},
        {"ALL: 127.0.0.2", "ALL: ALL", "imap", "127.0.0.1", ACCESS_DENY},
        {"ALL: LOCAL", "ALL: ALL", "pop", "127.0.0.1", ACCESS_ALLOW},
        {"ALL: LOCAL", "ALL: ALL", "pop", "127.0.0.2", ACCESS_DENY},
        {"imaps: ALL", "imap: ALL", "imap", "127.0.0.1", ACCESS_DENY},
        {"imaps: ALL", "imap: ALL", "imaps", "127.0.0.1", ACCESS_ALLOW},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct access_rules *a, *d;
        struct access_error err;
        struct access_peer peer;
        struct access_result res;

        assert_int_equal(access_rules_parse(cases[i].allowed, strlen(cases[i].allowed),
                                            ACCESS_SYNTAX_FILTER, true, &a, &err),
                         0);
        assert_int_equal(access_rules_parse(cases[i].denied, strlen(cases[i].denied),
                                            ACCESS_SYNTAX_FILTER, false, &d, &err),
                         0);
        assert_int_equal(access_peer_from_text(&peer, cases[i].addr), 0);
        const struct access_rules *sets[] = {a, d};
        access_check(sets, 2, cases[i].service, &peer, fake_resolve, &res);
        if (res.verdict != cases[i].verdict)
            fail_msg("case %zu: verdict %d (%s)", i, res.verdict, res.reason);
        access_rules_free(&a);
        access_rules_free(&d);
    }
}

static void test_no_resolver(void **state)
{
    struct access_rules *r;
    struct access_error err;
    struct access_peer peer;
    struct access_result res;

    /* without a resolver an unresolved name counts as unknown */
    assert_int_equal(access_rules_parse("-imap:UNKNOWN", 13, ACCESS_SYNTAX_RULES, true, &r, &err),
                     0);
    assert_int_equal(access_peer_from_text(&peer, "127.0.0.1"), 0);
    const struct access_rules *sets[] = {r};
    access_check(sets, 1, "imap", &peer, NULL, &res);
    assert_int_equal(res.verdict, ACCESS_DENY);
    assert_int_equal(peer.name_state, ACCESS_NAME_UNRESOLVED);
    access_rules_free(&r);
    assert_int_equal(access_peer_from_text(&peer, "localhost"), -1);
}

static void test_filter_check(void **state)
{
    const char *why = NULL;

    assert_true(access_filter_check("imap: 127.0.0.1 $ ALL: LOCAL", &why));
    assert_false(access_filter_check("127.0.0.1", &why));
    assert_non_null(strstr(why, "service-list:client-list"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),    cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_limits),  cmocka_unit_test(test_check_rules),
        cmocka_unit_test(test_check_filters), cmocka_unit_test(test_no_resolver),
        cmocka_unit_test(test_filter_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
