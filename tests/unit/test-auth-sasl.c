/* libauth's SASL parts, table-driven: base64 out, SCRAM-SHA-256 secrets (the forms read and
 * written, a derivation checked against RFC 7677's example), mechanism names, the
 * certificate-mapping helpers and their parameter checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gsasl.h>

#include "auth-sasl.h"
#include "params.h"

static void test_base64_encode(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[16];
        unsigned char back[16];
        size_t n = auth_base64_encode((const unsigned char *)cases[i].in, strlen(cases[i].in), out,
                                      sizeof(out));
        assert_int_equal(n, strlen(cases[i].out));
        assert_string_equal(out, cases[i].out);
        assert_int_equal(auth_base64_decode(out, n, back, sizeof(back)), (long)strlen(cases[i].in));
        assert_memory_equal(back, cases[i].in, strlen(cases[i].in));
    }
    char small[9];
    assert_int_equal(auth_base64_encode((const unsigned char *)"foobar", 6, small, 8), 0);
    assert_int_equal(auth_base64_encode((const unsigned char *)"foobar", 6, small, 9), 8);
}

/* RFC 7677 section 3: user "user", password "pencil", this salt, 4096 iterations; the keys
 * computed independently (Python hashlib). */
#define RFC_SALT   "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_STORED "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
#define RFC_SERVER "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="

static void test_scram_parse(void **state)
{
    static const struct {
        const char *text;
        int rc;
        unsigned long iter;
    } cases[] = {
        {"SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER, 0, 4096},
        {"scram-sha-256$4096:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER, 0, 4096},
        {"{SCRAM-SHA-256}SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER, 0, 4096},
        {"{SCRAM-SHA-256}4096," RFC_SALT "," RFC_STORED "," RFC_SERVER, 0, 4096},
        {"{SCRAM-SHA-256}65536," RFC_SALT "," RFC_STORED "," RFC_SERVER "," RFC_STORED, 0, 65536},
        {"{scram-sha-256}1," RFC_SALT "," RFC_STORED "," RFC_SERVER, 0, 1},
        /* refused */
        {"SCRAM-SHA-1$4096:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER, -1, 0},
        {"{SSHA}abcdefgh", -1, 0},
        {"$y$j9T$abc$def", -1, 0},
        {"SCRAM-SHA-256$0:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER, -1, 0},
        {"SCRAM-SHA-256$04096:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER, -1, 0},
        {"SCRAM-SHA-256$99999999:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER, -1, 0},
        {"SCRAM-SHA-256$4096:$" RFC_STORED ":" RFC_SERVER, -1, 0},
        {"SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_STORED, -1, 0},
        {"SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER ":x", -1, 0},
        {"SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_SALT ":" RFC_SERVER, -1, 0}, /* 16 bytes */
        {"SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER "=", -1, 0},
        {"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ$" RFC_STORED ":" RFC_SERVER, -1, 0},
        {"SCRAM-SHA-256$4x96:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER, -1, 0},
        {"{SCRAM-SHA-256}4096," RFC_SALT "," RFC_STORED, -1, 0},
        {"{SCRAM-SHA-256}4096," RFC_SALT "," RFC_STORED "," RFC_SERVER ",a,b", -1, 0},
        {"", -1, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct auth_scram_secret s;
        int rc = auth_scram_parse(cases[i].text, &s);
        if (rc != cases[i].rc)
            fail_msg("case %zu: %s", i, cases[i].text);
        if (rc == 0) {
            assert_int_equal(s.iter, cases[i].iter);
            assert_string_equal(s.salt, RFC_SALT);
            assert_string_equal(s.stored_key, RFC_STORED);
            assert_string_equal(s.server_key, RFC_SERVER);
        }
    }
}

static void test_scram_format(void **state)
{
    struct auth_scram_secret s, back;
    char text[256];

    assert_int_equal(
        auth_scram_parse("{SCRAM-SHA-256}4096," RFC_SALT "," RFC_STORED "," RFC_SERVER, &s), 0);
    assert_int_equal(auth_scram_format(&s, text, sizeof(text)), 0);
    assert_string_equal(text, "SCRAM-SHA-256$4096:" RFC_SALT "$" RFC_STORED ":" RFC_SERVER);
    assert_int_equal(auth_scram_parse(text, &back), 0);
    assert_memory_equal(&s, &back, sizeof(s));
    assert_int_equal(auth_scram_format(&s, text, 20), -1);
}

static void test_scram_make(void **state)
{
    struct auth_scram_secret s;
    char *text, *again, salted[32], client[32], server[32], stored[32], b[64];
    unsigned char salt[64];
    const char *why;

    assert_int_equal(auth_scram_make("pencil", 4096, &text, &why), 0);
    assert_int_equal(auth_scram_parse(text, &s), 0);
    assert_int_equal(s.iter, 4096);
    /* the keys are those a client derives from the password and the stored salt */
    long n = auth_base64_decode(s.salt, strlen(s.salt), salt, sizeof(salt));
    assert_int_equal(n, 16);
    assert_int_equal(gsasl_scram_secrets_from_password(GSASL_HASH_SHA256, "pencil", 4096,
                                                       (char *)salt, (size_t)n, salted, client,
                                                       server, stored),
                     GSASL_OK);
    auth_base64_encode((unsigned char *)stored, 32, b, sizeof(b));
    assert_string_equal(s.stored_key, b);
    auth_base64_encode((unsigned char *)server, 32, b, sizeof(b));
    assert_string_equal(s.server_key, b);
    /* a fresh salt each time */
    assert_int_equal(auth_scram_make("pencil", 4096, &again, &why), 0);
    assert_string_not_equal(text, again);
    free(text);
    free(again);
    /* SASLprep (RFC 4013) refuses control characters; the count is bounded */
    assert_int_equal(auth_scram_make("pen\001cil", 4096, &text, &why), -1);
    assert_null(text);
    assert_int_equal(auth_scram_make("pencil", 0, &text, &why), -1);
    assert_int_equal(auth_scram_make("pencil", AUTH_SCRAM_ITER_MAX + 1, &text, &why), -1);
}

static void test_saslprep_changes(void **state)
{
    assert_false(auth_saslprep_changes("secret"));
    assert_false(auth_saslprep_changes("p\xc3\xa4ssword")); /* precomposed: NFKC keeps it */
    assert_true(auth_saslprep_changes("a\xc2\xa0"
                                      "b")); /* no-break space maps to space */
    assert_true(auth_saslprep_changes("a\xc2\xad"
                                      "b"));      /* soft hyphen maps to nothing */
    assert_true(auth_saslprep_changes("a\001b")); /* control character: refused */
    assert_true(auth_saslprep_changes("\xff"));   /* not UTF-8: refused */
}

static void test_mech_names(void **state)
{
    enum auth_mech m;

    assert_true(auth_mech_parse("scram-sha-256", 13, &m));
    assert_int_equal(m, AUTH_MECH_SCRAM);
    assert_true(auth_mech_parse("SCRAM-SHA-256-PLUS", 18, &m));
    assert_int_equal(m, AUTH_MECH_SCRAM_PLUS);
    assert_true(auth_mech_parse("External", 8, &m));
    assert_int_equal(m, AUTH_MECH_EXTERNAL);
    assert_true(auth_mech_parse("LOGINX", 5, &m)); /* the length decides */
    assert_int_equal(m, AUTH_MECH_LOGIN);
    assert_false(auth_mech_parse("CRAM-MD5", 8, &m));
    assert_false(auth_mech_parse("SCRAM-SHA-1", 11, &m));
    assert_false(auth_mech_parse("", 0, &m));
    for (int i = 0; i < AUTH_MECH_COUNT; i++) {
        const char *name = auth_mech_name((enum auth_mech)i);
        assert_true(auth_mech_parse(name, strlen(name), &m));
        assert_int_equal(m, i);
    }
}

static void test_mechs_offered(void **state)
{
    struct auth_cert cert = {"UID=alice", "alice", NULL, NULL};
    struct auth_sasl_setup setup = {0};
    const unsigned password = AUTH_MECHS_PASSWORD & ~(1u << AUTH_MECH_SCRAM_PLUS);

    assert_int_equal(auth_sasl_mechs(&setup), 0);
    setup.password_ok = true;
    assert_int_equal(auth_sasl_mechs(&setup), password);
    setup.cb_exporter = "AAAA";
    assert_int_equal(auth_sasl_mechs(&setup), AUTH_MECHS_PASSWORD);
    setup.cert = &cert;
    assert_int_equal(auth_sasl_mechs(&setup), AUTH_MECHS_PASSWORD | 1u << AUTH_MECH_EXTERNAL);
    setup.password_ok = false;
    assert_int_equal(auth_sasl_mechs(&setup), 1u << AUTH_MECH_EXTERNAL);
    assert_null(auth_sasl_refusal(&setup, AUTH_MECH_EXTERNAL));
    setup.cert = NULL;
    setup.cb_exporter = NULL;
    assert_non_null(auth_sasl_refusal(&setup, AUTH_MECH_EXTERNAL));
    assert_non_null(auth_sasl_refusal(&setup, AUTH_MECH_SCRAM_PLUS));
}

static void test_certmap_value(void **state)
{
    struct auth_cert full = {"UID=alice,CN=Alice", "alice", "alice@example.org", "Alice"};
    struct auth_cert mail_only = {"E=bob@example.org", NULL, "bob@example.org", NULL};
    struct auth_cert empty_uid = {"UID=", "", "carol@example.org", NULL};
    static const struct {
        const char *comps;
        int which; /* 0 full, 1 mail_only, 2 empty_uid */
        const char *comp, *value;
    } cases[] = {
        {"uid,e", 0, "uid", "alice"},
        {"e,uid", 0, "e", "alice@example.org"},
        {" E , UID ", 0, "e", "alice@example.org"},
        {"cn", 0, "cn", "Alice"},
        {"uid,e", 1, "e", "bob@example.org"},
        {"uid", 1, NULL, NULL},
        {"cn uid", 1, NULL, NULL},
        {"uid,e", 2, "e", "carol@example.org"}, /* an empty value is no value */
        {"ou,uid", 0, "uid", "alice"},          /* unknown names are skipped */
        {"", 0, NULL, NULL},
    };
    const struct auth_cert *certs[] = {&full, &mail_only, &empty_uid};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *value;
        const char *comp = auth_certmap_value(cases[i].comps, certs[cases[i].which], &value);
        if (cases[i].comp == NULL) {
            assert_null(comp);
            assert_null(value);
        } else {
            assert_string_equal(comp, cases[i].comp);
            assert_string_equal(value, cases[i].value);
        }
    }
}

static void test_certmap_filter(void **state)
{
    static const struct {
        const char *tmpl, *value;
        int rc;
        const char *out;
    } cases[] = {
        {"(mail=%s)", "bob@example.org", 0, "(mail=bob@example.org)"},
        {"(|(mail=%s)(uid=%s))", "bob", 0, "(|(mail=bob)(uid=bob))"},
        {"(cn=%s)", "a*b(c)\\", 0, "(cn=a\\2ab\\28c\\29\\5c)"},
        {"(&(objectClass=person)(x=100%%)(cn=%s))", "z", 0,
         "(&(objectClass=person)(x=100%)(cn=z))"},
        {"(mail=%d)", "bob", -1, NULL},
        {"(mail=%", "bob", -1, NULL},
        {"(mail=%s)", "", -1, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[128];
        assert_int_equal(auth_certmap_filter(cases[i].tmpl, cases[i].value, out, sizeof(out)),
                         cases[i].rc);
        if (cases[i].rc == 0)
            assert_string_equal(out, cases[i].out);
    }
    char small[10];
    assert_int_equal(auth_certmap_filter("(mail=%s)", "bob@example.org", small, sizeof(small)), -1);
}

static void test_param_checks(void **state)
{
    static const struct {
        const char *value;
        bool ok;
    } comps[] =
        {
            {"uid,e", true}, {"e", true},  {"cn, uid", true}, {"UID E", true},
            {"", false},     {",", false}, {"uid,ou", false}, {"email", false},
        },
      filters[] = {
          {"", true},
          {"(mail=%s)", true},
          {"(|(mail=%s)(mailAlternateAddress=%s))", true},
          {"(&(x=100%%)(uid=%s))", true},
          {"mail=%s", false},
          {"(mail=%s", false},
          {"(mail=%s))", false},
          {"(a=%s)(b=%s)", false},
          {"(mail=%d)", false},
          {"(mail=bob)", false},
      };
    const char *why;
    for (size_t i = 0; i < sizeof(comps) / sizeof(comps[0]); i++)
        if (param_check_certmap_components(comps[i].value, &why) != comps[i].ok)
            fail_msg("components \"%s\"", comps[i].value);
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
        if (param_check_certmap_filter(filters[i].value, &why) != filters[i].ok)
            fail_msg("filter \"%s\"", filters[i].value);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_encode),    cmocka_unit_test(test_scram_parse),
        cmocka_unit_test(test_scram_format),     cmocka_unit_test(test_scram_make),
        cmocka_unit_test(test_saslprep_changes), cmocka_unit_test(test_mech_names),
        cmocka_unit_test(test_mechs_offered),    cmocka_unit_test(test_certmap_value),
        cmocka_unit_test(test_certmap_filter),   cmocka_unit_test(test_param_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
