/* msg.conf: the line syntax, value quoting, loading with file:line errors, and the accessors
 * daemons use (defaults, overrides, per-host values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_parse_line(void **state)
{
    static const struct {
        const char *line;
        enum conf_line_kind kind;
        const char *name, *value_or_why;
    } cases[] = {
        {"", CONF_LINE_NONE, NULL, NULL},
        {"   \t", CONF_LINE_NONE, NULL, NULL},
        {"# service.imap.port = 1", CONF_LINE_NONE, NULL, NULL},
        {"  #x", CONF_LINE_NONE, NULL, NULL},
        {"\r", CONF_LINE_NONE, NULL, NULL},
        {"service.imap.port = 1143", CONF_LINE_ENTRY, "service.imap.port", "1143"},
        {"service.imap.port=1143", CONF_LINE_ENTRY, "service.imap.port", "1143"},
        {"  service.imap.port\t=\t1143  \r", CONF_LINE_ENTRY, "service.imap.port", "1143"},
        {"a.b = two words here ", CONF_LINE_ENTRY, "a.b", "two words here"},
        {"a.b = x # not a comment", CONF_LINE_ENTRY, "a.b", "x # not a comment"},
        {"a.b = back\\slash", CONF_LINE_ENTRY, "a.b", "back\\slash"},
        {"a.b =", CONF_LINE_ENTRY, "a.b", ""},
        {"a.b = \"\"", CONF_LINE_ENTRY, "a.b", ""},
        {"a.b = \"  padded  \"", CONF_LINE_ENTRY, "a.b", "  padded  "},
        {"a.b = \"say \\\"hi\\\" \\\\o/\"", CONF_LINE_ENTRY, "a.b", "say \"hi\" \\o/"},
        {"a.b = \"#x\"  ", CONF_LINE_ENTRY, "a.b", "#x"},
        {"a.b = x=y", CONF_LINE_ENTRY, "a.b", "x=y"},
        {"a-b_C.9 = 1", CONF_LINE_ENTRY, "a-b_C.9", "1"},
        {"= 1", CONF_LINE_ERROR, NULL, "expected name = value"},
        {"a.b 1", CONF_LINE_ERROR, NULL, "expected name = value"},
        {"a.b", CONF_LINE_ERROR, NULL, "expected name = value"},
        {"a b = 1", CONF_LINE_ERROR, NULL, "expected name = value"},
        {"a.b = \"open", CONF_LINE_ERROR, NULL, "the quoted value has no closing quote"},
        {"a.b = \"x\" y", CONF_LINE_ERROR, NULL, "text after the closing quote"},
        {"a.b = \"x\\n\"", CONF_LINE_ERROR, NULL,
         "only \\\" and \\\\ may follow a backslash in a quoted value"},
        {"a.b = \"x\\", CONF_LINE_ERROR, NULL,
         "only \\\" and \\\\ may follow a backslash in a quoted value"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        char *name = NULL, *value = NULL;
        const char *why = NULL;
        enum conf_line_kind kind = conf_parse_line(cases[i].line, &name, &value, &why);

        if (kind != cases[i].kind)
            fail_msg("\"%s\": kind %d, want %d", cases[i].line, kind, cases[i].kind);
        if (kind == CONF_LINE_ENTRY) {
            assert_string_equal(name, cases[i].name);
            assert_string_equal(value, cases[i].value_or_why);
        } else if (kind == CONF_LINE_ERROR) {
            assert_string_equal(why, cases[i].value_or_why);
        }
        free(name);
        free(value);
    }
}

static void test_format_value(void **state)
{
    static const struct {
        const char *value, *text;
    } cases[] = {
        {"1143", "1143"},
        {"/var/lib/x", "/var/lib/x"},
        {"+127.0.0.1|255.255.255.255", "+127.0.0.1|255.255.255.255"},
        {"back\\slash", "back\\slash"},
        {"", "\"\""},
        {"%h %p service (%P %V)", "\"%h %p service (%P %V)\""},
        {" lead", "\" lead\""},
        {"tail\t", "\"tail\t\""},
        {"a#b", "\"a#b\""},
        {"say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\""},
    };

    for (size_t i = 0; i < N(cases); i++) {
        char *text = conf_format_value(cases[i].value), *line, *name, *value;
        const char *why;

        assert_string_equal(text, cases[i].text);
        /* What is written reads back as the same value. */
        assert_true(asprintf(&line, "x.y = %s", text) > 0);
        assert_int_equal(conf_parse_line(line, &name, &value, &why), CONF_LINE_ENTRY);
        assert_string_equal(value, cases[i].value);
        free(text);
        free(line);
        free(name);
        free(value);
    }
}

/* Writes text to a fresh temporary file; returns its path (caller unlinks and frees). */
static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/halyard-test-conf-XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_load_errors(void **state)
{
    static const struct {
        const char *text, *err; /* err NULL: loads; else the message after "<path>:" */
    } cases[] = {
        {"", NULL},
        {"# only comments\n\n", NULL},
        {"service.imap.port = 1143\nservice.imap.banner = \"hi there\"\n", NULL},
        {"service.imap.port = 1143", NULL}, /* no final newline */
        {"service.imap.port = 1143\r\n", NULL},
        {"\n\nservice.imap.port = 99999\n",
         "3: service.imap.port: \"99999\" is not an integer in 1..65535"},
        {"service.imap.prot = 1143\n", "1: service.imap.prot: unknown parameter"},
        {"# x\nservice.imap.port 1143\n", "2: expected name = value"},
        {"service.imap.port = 1143\nSERVICE.IMAP.PORT = 1144\n",
         "2: service.imap.port: set again (first at line 1)"},
        {"local.service.proxy.admin.m1 = a\nlocal.service.proxy.admin.M1 = b\n",
         "2: local.service.proxy.admin.m1: set again (first at line 1)"},
        {"service.imap.banner = \"open\n", "1: the quoted value has no closing quote"},
        {"service.imap.enable = perhaps\n",
         "1: service.imap.enable: \"perhaps\" is not a boolean (yes/no, 1/0, true/false, on/off)"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        char *path = write_temp(cases[i].text), *err = NULL, *want;
        struct conf *conf = NULL;
        int ret = conf_load(path, &conf, &err);

        if (cases[i].err == NULL) {
            if (ret != 0)
                fail_msg("case %zu refused: %s", i, err);
            assert_non_null(conf);
            assert_null(err);
        } else {
            assert_int_equal(ret, -1);
            assert_null(conf);
            assert_true(asprintf(&want, "%s:%s", path, cases[i].err) > 0);
            assert_string_equal(err, want);
            free(want);
        }
        conf_free(&conf);
        assert_null(conf);
        free(err);
        unlink(path);
        free(path);
    }
}

static void test_load_missing_and_unreadable(void **state)
{
    struct conf *conf = NULL;
    char *err = NULL;

    assert_int_equal(conf_load("/nonexistent/halyard/msg.conf", &conf, &err), 0);
    assert_string_equal(conf_str(conf, "service.imap.port"), "143");
    conf_free(&conf);
    /* A directory cannot be read as a file: an error, not defaults. */
    assert_int_equal(conf_load("/", &conf, &err), -1);
    assert_non_null(err);
    assert_null(conf);
    free(err);
}

static void test_values(void **state)
{
    char *path = write_temp("# admin's settings\n"
                            "service.imap.port = 1143\n"
                            "service.imap.enablesslport = yes\n"
                            "Service.Imap.Banner = \"%h ready\"\n"
                            "local.service.proxy.imapport = 1143\n"
                            "local.service.proxy.imapport.Store2.example.com = 2143\n"
                            "local.service.proxy.admin.store2.example.com = proxyadmin\n"
                            "service.imap.plaintextmincipher = -1\n");
    struct conf *conf;
    char *err;
    size_t iter = 0;
    const char *name, *value;

    assert_int_equal(conf_load(path, &conf, &err), 0);
    assert_int_equal(conf_int(conf, "service.imap.port"), 1143);
    assert_int_equal(conf_int(conf, "service.pop.port"), 110);
    assert_int_equal(conf_int(conf, "service.imap.plaintextmincipher"), -1);
    assert_true(conf_bool(conf, "service.imap.enablesslport"));
    assert_true(conf_bool(conf, "service.imap.enable"));
    assert_false(conf_bool(conf, "service.pop.enablesslport"));
    assert_string_equal(conf_str(conf, "service.imap.banner"), "%h ready");
    assert_string_equal(conf_str(conf, "service.pop.banner"), "%h %p service (%P %V)");
    assert_true(conf_is_set(conf, "service.imap.banner"));
    assert_false(conf_is_set(conf, "service.pop.banner"));
    assert_int_equal(conf_int_host(conf, "local.service.proxy.imapport", "store2.example.com"),
                     2143);
    assert_int_equal(conf_int_host(conf, "local.service.proxy.imapport", "STORE2.example.com"),
                     2143);
    assert_int_equal(conf_int_host(conf, "local.service.proxy.imapport", "store3"), 1143);
    assert_int_equal(conf_int_host(conf, "local.service.proxy.imapport", NULL), 1143);
    assert_string_equal(conf_str_host(conf, "local.service.proxy.admin", "store2.example.com"),
                        "proxyadmin");
    assert_string_equal(conf_str_host(conf, "local.service.proxy.admin", "store3"), "");
    assert_true(conf_is_set(conf, "local.service.proxy.admin.store2.example.com"));
    /* Entries come back in file order, in the table's spelling. */
    assert_true(conf_next(conf, &iter, &name, &value));
    assert_string_equal(name, "service.imap.port");
    assert_true(conf_next(conf, &iter, &name, &value));
    assert_true(conf_next(conf, &iter, &name, &value));
    assert_string_equal(name, "service.imap.banner");
    assert_true(conf_next(conf, &iter, &name, &value));
    assert_true(conf_next(conf, &iter, &name, &value));
    assert_string_equal(name, "local.service.proxy.imapport.store2.example.com");
    assert_string_equal(value, "2143");
    assert_true(conf_next(conf, &iter, &name, &value));
    assert_true(conf_next(conf, &iter, &name, &value));
    assert_false(conf_next(conf, &iter, &name, &value));
    conf_free(&conf);
    unlink(path);
    free(path);
}

static void test_set(void **state)
{
    struct conf *conf = conf_defaults();
    char *err = NULL;

    assert_int_equal(conf_set(conf, "service.pop.port", "1110", &err), 0);
    assert_int_equal(conf_int(conf, "service.pop.port"), 1110);
    assert_int_equal(conf_set(conf, "SERVICE.POP.PORT", "2110", &err), 0);
    assert_int_equal(conf_int(conf, "service.pop.port"), 2110);
    assert_int_equal(conf_set(conf, "service.pop.port", "x", &err), -1);
    assert_string_equal(err, "service.pop.port: \"x\" is not an integer in 1..65535");
    free(err);
    assert_int_equal(conf_int(conf, "service.pop.port"), 2110);
    assert_int_equal(conf_set(conf, "no.such.thing", "1", &err), -1);
    assert_string_equal(err, "no.such.thing: unknown parameter");
    free(err);
    conf_free(&conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_line),  cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_load_errors), cmocka_unit_test(test_load_missing_and_unreadable),
        cmocka_unit_test(test_values),      cmocka_unit_test(test_set),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
