/* The parameter table: its invariants, the Sun defaults it must carry, lookups and validation
 * messages, and the syntax checks rows point at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "halyard-build.h"
#include "params.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void test_table_invariants(void **state)
{
    assert_true(param_count >= 85);
    for (size_t i = 0; i < param_count; i++) {
        const struct param *p = &param_table[i];
        char *err = NULL;

        /* Every default passes its own row's check. */
        if (!param_validate(p, NULL, p->def, &err))
            fail_msg("%s: default rejected: %s", p->name, err);
        assert_non_null(p->help);
        assert_true(strlen(p->help) > 10);
        assert_null(strchr(p->help, '\n'));
        assert_int_not_equal(p->readers, 0);
        if (p->type == PARAM_INT)
            assert_true(p->min <= p->max);
        if (p->type == PARAM_ENUM)
            assert_non_null(p->enumvals);
        if (p->dropin == DROPIN_NONE)
            assert_null(p->unit);
        else
            assert_non_null(p->unit);
        if (p->dropin == DROPIN_LISTEN || p->dropin == DROPIN_ENABLE)
            assert_true(ends_with(p->unit, ".socket"));
        if (p->dropin == DROPIN_ENV || p->dropin == DROPIN_RWPATHS)
            assert_true(ends_with(p->unit, ".service"));
        if (p->dropin == DROPIN_ENV)
            assert_non_null(p->envname);
        else
            assert_null(p->envname);
        if (p->dropin == DROPIN_LISTEN)
            assert_int_equal(p->type, PARAM_INT);
        if (p->dropin == DROPIN_ENABLE)
            assert_int_equal(p->type, PARAM_BOOL);
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(p->name, param_table[j].name) == 0)
                fail_msg("%s declared twice", p->name);
        }
        assert_ptr_equal(param_find(p->name), p);
    }
}

/* What the seed and the brief fix: Sun's defaults, bounds, REFRESHABLE and the drop-ins. */
static void test_table_rows(void **state)
{
    enum { R = 1, NR = 0 };
    static const struct {
        const char *name, *def;
        long min, max;
        int refreshable;
        enum param_dropin dropin;
        const char *unit;
    } rows[] = {
        {"service.imap.enable", "yes", 0, 0, NR, DROPIN_ENABLE, "halyard-imap.socket"},
        {"service.imap.port", "143", 1, 65535, NR, DROPIN_LISTEN, "halyard-imap.socket"},
        {"service.imap.enablesslport", "no", 0, 0, NR, DROPIN_ENABLE, "halyard-imaps.socket"},
        {"service.imap.sslport", "993", 1, 65535, NR, DROPIN_LISTEN, "halyard-imaps.socket"},
        {"service.imap.maxsessions", "4000", 1, 100000, NR, DROPIN_NONE, NULL},
        {"service.imap.maxthreads", "250", 1, 1024, NR, DROPIN_NONE, NULL},
        {"service.imap.numprocesses", "1", 1, 64, NR, DROPIN_NONE, NULL},
        {"service.imap.idletimeout", "30", 30, 1440, R, DROPIN_NONE, NULL},
        {"service.imap.banner", "%h %p service (%P %V)", 0, 0, R, DROPIN_NONE, NULL},
        {"service.imap.plaintextmincipher", "0", -1, 256, R, DROPIN_NONE, NULL},
        {"service.imap.loginidletimeout", "180", 5, 3600, R, DROPIN_NONE, NULL},
        {"service.imap.domainallowed", "", 0, 0, R, DROPIN_NONE, NULL},
        {"service.pop.enable", "yes", 0, 0, NR, DROPIN_ENABLE, "halyard-pop.socket"},
        {"service.pop.port", "110", 1, 65535, NR, DROPIN_LISTEN, "halyard-pop.socket"},
        {"service.pop.enablesslport", "no", 0, 0, NR, DROPIN_ENABLE, "halyard-pops.socket"},
        {"service.pop.sslport", "995", 1, 65535, NR, DROPIN_LISTEN, "halyard-pops.socket"},
        {"service.pop.maxsessions", "600", 1, 100000, NR, DROPIN_NONE, NULL},
        {"service.pop.idletimeout", "10", 10, 1440, R, DROPIN_NONE, NULL},
        {"service.pop.allowanonymouslogin", "no", 0, 0, R, DROPIN_NONE, NULL},
        {"service.pop.loginidletimeout", "180", 5, 3600, R, DROPIN_NONE, NULL},
        {"service.http.enable", "yes", 0, 0, NR, DROPIN_ENABLE, "halyard-http.socket"},
        {"service.http.port", "80", 1, 65535, NR, DROPIN_LISTEN, "halyard-http.socket"},
        {"service.http.enablesslport", "no", 0, 0, NR, DROPIN_ENABLE, "halyard-https.socket"},
        {"service.http.sslport", "443", 1, 65535, NR, DROPIN_LISTEN, "halyard-https.socket"},
        {"service.http.maxsessions", "6000", 1, 100000, NR, DROPIN_NONE, NULL},
        {"service.http.idletimeout", "3", 3, 1440, R, DROPIN_NONE, NULL},
        {"service.http.sessiontimeout", "7200", 60, 604800, R, DROPIN_NONE, NULL},
        {"service.http.spooldir", LOCALSTATEDIR "/spool/halyard/http", 0, 0, NR, DROPIN_RWPATHS,
         "halyard-mshttpd.service"},
        {"service.http.maxmessagesize", "5242880", 1024, 2147483647, R, DROPIN_NONE, NULL},
        {"service.http.smtphost", "127.0.0.1", 0, 0, R, DROPIN_NONE, NULL},
        {"service.http.smtpport", "25", 1, 65535, R, DROPIN_NONE, NULL},
        {"service.http.sslusessl", "no", 0, 0, NR, DROPIN_NONE, NULL},
        {"service.defaultdomain", "", 0, 0, R, DROPIN_NONE, NULL},
        {"service.loginseparator", "+", 0, 0, R, DROPIN_NONE, NULL},
        {"local.service.proxy.imapport", "143", 1, 65535, R, DROPIN_NONE, NULL},
        {"local.service.proxy.imapssl", "no", 0, 0, R, DROPIN_NONE, NULL},
        {"local.service.proxy.admin", "", 0, 0, R, DROPIN_NONE, NULL},
        {"local.service.proxy.adminpass", "", 0, 0, R, DROPIN_NONE, NULL},
        {"local.store.notifyplugin", "", 0, 0, NR, DROPIN_NONE, NULL},
        {"local.store.notifyplugin.enshost", "127.0.0.1", 0, 0, NR, DROPIN_NONE, NULL},
        {"local.store.notifyplugin.ensport", "7997", 1, 65535, NR, DROPIN_NONE, NULL},
        {"local.store.notifyplugin.enseventkey", "enp://127.0.0.1/store", 0, 0, R, DROPIN_NONE,
         NULL},
        {"local.store.notifyplugin.noneinbox.enable", "no", 0, 0, R, DROPIN_NONE, NULL},
        {"local.store.notifyplugin.maxheadersize", "0", 0, 1048576, R, DROPIN_NONE, NULL},
        {"local.store.notifyplugin.maxbodysize", "0", 0, 1048576, R, DROPIN_NONE, NULL},
        {"local.store.notifyplugin.NewMsg.enable", "yes", 0, 0, R, DROPIN_NONE, NULL},
        {"local.store.notifyplugin.Logout.enable", "yes", 0, 0, R, DROPIN_NONE, NULL},
        {"local.enpd.port", "7997", 1, 65535, NR, DROPIN_LISTEN, "halyard-enp.socket"},
        {"local.enpd.access", "+127.0.0.1|255.255.255.255", 0, 0, NR, DROPIN_ENV,
         "halyard-enpd.service"},
        {"store.partition.primary.path", LOCALSTATEDIR "/lib/halyard/store", 0, 0, NR,
         DROPIN_RWPATHS, "halyard-imapd.service halyard-popd.service halyard-lmtpd.service"},
        {"local.tls.certfile", "", 0, 0, NR, DROPIN_NONE, NULL},
        {"local.tls.keyfile", "", 0, 0, NR, DROPIN_NONE, NULL},
        {"local.tls.cafile", "", 0, 0, NR, DROPIN_NONE, NULL},
        {"local.tls.priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", 0, 0, NR, DROPIN_NONE,
         NULL},
        {"local.ugldaphost", "", 0, 0, NR, DROPIN_NONE, NULL},
        {"local.ugldapport", "389", 1, 65535, NR, DROPIN_NONE, NULL},
        {"local.ugldapbindcred", "", 0, 0, NR, DROPIN_NONE, NULL},
        {"local.ugldapcachettl", "60", 0, 86400, R, DROPIN_NONE, NULL},
        {"local.ugldapcafile", "", 0, 0, NR, DROPIN_NONE, NULL},
        {"local.ugldaptimeout", "5", 1, 300, NR, DROPIN_NONE, NULL},
        {"local.ugldappoolsize", "4", 1, 32, NR, DROPIN_NONE, NULL},
        {"local.hostname", "", 0, 0, R, DROPIN_NONE, NULL},
        {"local.serveruser", "halyard", 0, 0, NR, DROPIN_NONE, NULL},
    };

    for (size_t i = 0; i < N(rows); i++) {
        const struct param *p = param_find(rows[i].name);

        if (p == NULL)
            fail_msg("%s missing", rows[i].name);
        assert_string_equal(p->name, rows[i].name);
        assert_string_equal(p->def, rows[i].def);
        if (p->type == PARAM_INT) {
            assert_int_equal(p->min, rows[i].min);
            assert_int_equal(p->max, rows[i].max);
        }
        if (((p->flags & PARAM_REFRESHABLE) != 0) != rows[i].refreshable)
            fail_msg("%s: REFRESHABLE should be %d", p->name, rows[i].refreshable);
        assert_int_equal(p->dropin, rows[i].dropin);
        if (rows[i].unit != NULL)
            assert_string_equal(p->unit, rows[i].unit);
    }
    assert_string_equal(param_find("local.enpd.access")->envname, "ENS_ACCESS");
    assert_true(param_find("local.service.proxy.adminpass")->flags & PARAM_SECRET);
    assert_true(param_find("local.ugldapbindcred")->flags & PARAM_SECRET);
    assert_true(param_find("local.service.proxy.admin")->flags & PARAM_HOST_SUFFIX);
    assert_false(param_find("local.service.proxy.imapssl")->flags & PARAM_HOST_SUFFIX);
    assert_int_equal(param_find("local.store.notifyplugin.enshost")->readers, READER_STORE);
}

static void test_find(void **state)
{
    static const struct {
        const char *name, *row; /* row NULL: unknown */
    } cases[] = {
        {"service.imap.port", "service.imap.port"},
        {"SERVICE.IMAP.PORT", "service.imap.port"},
        {"local.store.notifyplugin.newmsg.enable", "local.store.notifyplugin.NewMsg.enable"},
        {"local.service.proxy.admin", "local.service.proxy.admin"},
        {"local.service.proxy.adminpass", "local.service.proxy.adminpass"},
        {"local.service.proxy.admin.mail1.example.com", "local.service.proxy.admin"},
        {"local.service.proxy.adminpass.mail1", "local.service.proxy.adminpass"},
        {"local.service.proxy.imapport.store2", "local.service.proxy.imapport"},
        {"local.service.proxy.imapssl.store2", NULL}, /* not per host */
        {"service.imap.port.host", NULL},
        {"local.service.proxy.admin.", NULL},
        {"service.imap", NULL},
        {"service.imap.portx", NULL},
        {"", NULL},
    };

    for (size_t i = 0; i < N(cases); i++) {
        const struct param *p = param_find(cases[i].name);

        if (cases[i].row == NULL) {
            if (p != NULL)
                fail_msg("%s found as %s", cases[i].name, p->name);
        } else {
            assert_non_null(p);
            assert_string_equal(p->name, cases[i].row);
        }
    }
}

static void test_validate(void **state)
{
    static const struct {
        const char *name, *value, *err; /* err NULL: valid */
    } cases[] = {
        {"service.imap.port", "1143", NULL},
        {"service.imap.port", "99999",
         "service.imap.port: \"99999\" is not an integer in 1..65535"},
        {"service.imap.port", "0", "service.imap.port: \"0\" is not an integer in 1..65535"},
        {"service.imap.port", "", "service.imap.port: \"\" is not an integer in 1..65535"},
        {"service.imap.port", " 143", "service.imap.port: \" 143\" is not an integer in 1..65535"},
        {"service.imap.port", "+143", "service.imap.port: \"+143\" is not an integer in 1..65535"},
        {"service.imap.port", "143x", "service.imap.port: \"143x\" is not an integer in 1..65535"},
        {"service.imap.port", "99999999999999999999999",
         "service.imap.port: \"99999999999999999999999\" is not an integer in 1..65535"},
        {"service.imap.idletimeout", "29",
         "service.imap.idletimeout: \"29\" is not an integer in 30..1440"},
        {"service.imap.idletimeout", "30", NULL},
        {"service.imap.plaintextmincipher", "-1", NULL},
        {"service.imap.plaintextmincipher", "-2",
         "service.imap.plaintextmincipher: \"-2\" is not an integer in -1..256"},
        {"service.imap.enable", "no", NULL},
        {"service.imap.enable", "Off", NULL},
        {"service.imap.enable", "1", NULL},
        {"service.imap.enable", "maybe",
         "service.imap.enable: \"maybe\" is not a boolean (yes/no, 1/0, true/false, on/off)"},
        {"service.imap.banner", "", NULL},
        {"service.imap.banner", "a\nb", "service.imap.banner: value contains a control character"},
        {"service.http.spooldir", "/srv/spool", NULL},
        {"service.http.spooldir", "spool",
         "service.http.spooldir: \"spool\" is not an absolute path"},
        {"service.http.spooldir", "", "service.http.spooldir: \"\" is not an absolute path"},
        {"local.tls.certfile", "", NULL},
        {"local.tls.certfile", "cert.pem",
         "local.tls.certfile: \"cert.pem\" is not an absolute path, or empty"},
        {"service.http.smtphost", "smtp.example.com", NULL},
        {"service.http.smtphost", "::1", NULL},
        {"service.http.smtphost", "", "service.http.smtphost: \"\" is not a host name or address"},
        {"service.http.smtphost", "bad host",
         "service.http.smtphost: \"bad host\" is not a host name or address"},
        {"local.hostname", "", NULL},
        {"service.loginseparator", "%", NULL},
        {"service.loginseparator", "", NULL},
        {"service.loginseparator", "@",
         "service.loginseparator: \"@\" is not one punctuation character other than @ . - _ \" "
         "\\"},
        {"local.enpd.access", "+127.0.0.1|255.255.255.255;-10.0.0.0|255.0.0.0", NULL},
        {"local.enpd.access", "+1.2.3.4",
         "local.enpd.access: \"+1.2.3.4\": an item needs addr|mask"},
        {"local.enpd.access", "",
         "local.enpd.access: \"\": an empty list would refuse every client"},
        {"local.store.notifyplugin.enseventkey", "enp://127.0.0.1/store/%M", NULL},
        {"local.store.notifyplugin.enseventkey", "http://x/y",
         "local.store.notifyplugin.enseventkey: \"http://x/y\" is not an event key of the form "
         "enp://host/path"},
        {"local.tls.priority", "NORMAL", NULL},
        {"local.tls.priority", "NORMAL:+NONSENSE",
         "local.tls.priority: \"NORMAL:+NONSENSE\" is not a GnuTLS priority string"},
        {"local.serveruser", "mail", NULL},
        {"local.serveruser", "Root",
         "local.serveruser: \"Root\" is not a user name ([a-z_][a-z0-9_-]*, at most 32 "
         "characters)"},
        {"local.service.proxy.admin.mail1.example.com", "admin", NULL},
        {"local.service.proxy.admin.bad_host", "admin",
         "local.service.proxy.admin.bad_host: \"bad_host\" is not a host name suffix: is not a "
         "host name or address"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        const struct param *p = param_find(cases[i].name);
        char *err = NULL;
        bool ok;

        assert_non_null(p);
        ok = param_validate(p, cases[i].name, cases[i].value, &err);
        if (cases[i].err == NULL) {
            if (!ok)
                fail_msg("%s = \"%s\" refused: %s", cases[i].name, cases[i].value, err);
        } else {
            assert_false(ok);
            assert_non_null(err);
            assert_string_equal(err, cases[i].err);
        }
        free(err);
    }
}

static void test_validate_long_value(void **state)
{
    char *value = malloc(5000), *err = NULL;

    memset(value, 'a', 4999);
    value[4999] = '\0';
    assert_false(param_validate(param_find("service.imap.banner"), NULL, value, &err));
    assert_string_equal(err, "service.imap.banner: value is longer than 4096 bytes");
    free(err);
    value[4096] = '\0';
    assert_true(param_validate(param_find("service.imap.banner"), NULL, value, &err));
    free(value);
}

static void test_enum(void **state)
{
    static const char *const vals[] = {"fast", "safe", NULL};
    const struct param p = {
        .name = "x.mode", .type = PARAM_ENUM, .def = "safe", .enumvals = vals, .help = "test row"};
    char *err = NULL;

    assert_true(param_validate(&p, NULL, "fast", &err));
    assert_false(param_validate(&p, NULL, "slow", &err));
    assert_string_equal(err, "x.mode: \"slow\" is not one of fast, safe");
    free(err);
}

static void test_parse_bool(void **state)
{
    static const struct {
        const char *text;
        int want;
    } cases[] = {
        {"yes", 1},   {"YES", 1}, {"1", 1}, {"true", 1}, {"on", 1},    {"no", 0},    {"0", 0},
        {"false", 0}, {"Off", 0}, {"", -1}, {"2", -1},   {"yess", -1}, {" yes", -1},
    };

    for (size_t i = 0; i < N(cases); i++)
        assert_int_equal(param_parse_bool(cases[i].text), cases[i].want);
}

static void test_canonical_name(void **state)
{
    static const struct {
        const char *name, *want;
    } cases[] = {
        {"Service.IMAP.Port", "service.imap.port"},
        {"local.store.notifyplugin.newmsg.enable", "local.store.notifyplugin.NewMsg.enable"},
        {"LOCAL.service.proxy.admin.Mail1.Example.COM",
         "local.service.proxy.admin.mail1.example.com"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        char *got = param_canonical_name(param_find(cases[i].name), cases[i].name);

        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

static void test_check_host(void **state)
{
    static const struct {
        const char *text;
        bool ok;
    } cases[] = {
        {"localhost", true},
        {"mail.example.com", true},
        {"a-b.c", true},
        {"192.0.2.1", true},
        {"2001:db8::1", true},
        {"-a.com", false},
        {"a-.com", false},
        {"a..com", false},
        {".a.com", false},
        {"a_b.com", false},
        {"", false},
        {"toolonglabel-toolonglabel-toolonglabel-toolonglabel-toolonglabel.com", false},
    };
    const char *why;

    for (size_t i = 0; i < N(cases); i++) {
        if (param_check_host(cases[i].text, &why) != cases[i].ok)
            fail_msg("%s: expected %d", cases[i].text, cases[i].ok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_invariants),
        cmocka_unit_test(test_table_rows),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_validate_long_value),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_canonical_name),
        cmocka_unit_test(test_check_host),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
