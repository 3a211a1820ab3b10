/* configutil's parts: editing msg.conf with its comments kept, rendering and syncing the
 * drop-ins, and the systemctl plan for each kind of change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cu-apply.h"
#include "cu-doc.h"
#include "cu-dropin.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A conf from "name=value" items separated by '\n'. */
static struct conf *conf_of(const char *items)
{
    struct conf *conf = conf_defaults();
    char *copy = strdup(items), *save = NULL;

    for (char *item = strtok_r(copy, "\n", &save); item != NULL;
         item = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(item, '='), *err = NULL;

        assert_non_null(eq);
        *eq = '\0';
        if (conf_set(conf, item, eq + 1, &err) < 0)
            fail_msg("%s", err);
    }
    free(copy);
    return conf;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 65536);

    assert_non_null(f);
    assert_true(fread(text, 1, 65535, f) < 65535);
    fclose(f);
    return text;
}

static char *temp_dir(void)
{
    char *dir = strdup("/tmp/halyard-test-cu-XXXXXX");

    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_tree(const char *dir)
{
    char *cmd;

    assert_true(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void test_doc_edit(void **state)
{
    static const char before[] = "# Halyard settings\n"
                                 "\n"
                                 "service.imap.port   =   1143   \n"
                                 "# the banner\n"
                                 "service.imap.banner = old\n"
                                 "custom.unknown = kept\n"
                                 "service.imap.banner = dup\n";
    static const char after[] = "# Halyard settings\n"
                                "\n"
                                "service.imap.port   =   1143   \n"
                                "# the banner\n"
                                "service.imap.banner = \"new # banner\"\n"
                                "custom.unknown = kept\n"
                                "service.pop.port = 1110\n";
    char *dir = temp_dir(), *path, *err = NULL, *text, *problem;
    struct cu_doc *doc;
    struct conf *conf;

    assert_true(asprintf(&path, "%s/etc/halyard/msg.conf", dir) > 0);
    assert_int_equal(cu_mkdirs(dir), 0);
    assert_int_equal(cu_doc_read(path, &doc, &err), 0); /* missing: empty */
    assert_int_equal(doc->count, 0);
    cu_doc_free(&doc);
    assert_int_equal(cu_write_atomic(path, before, 0640, &err), 0);
    assert_int_equal(cu_doc_read(path, &doc, &err), 0);
    assert_string_equal(cu_doc_get(doc, "service.imap.banner"), "old");
    /* The same value again changes nothing, so the file keeps its layout. */
    assert_int_equal(cu_doc_set(doc, "service.imap.port", "1143"), 0);
    assert_int_equal(cu_doc_set(doc, "service.imap.banner", "new # banner"), 1);
    assert_int_equal(cu_doc_set(doc, "service.pop.port", "1110"), 1);
    assert_int_equal(cu_doc_set(doc, "service.pop.banner", NULL), 0);
    assert_int_equal(cu_doc_write(doc, path, &err), 0);
    text = read_file(path);
    assert_string_equal(text, after);
    free(text);
    /* The unknown line stays in the file and is reported. */
    conf = cu_doc_conf(doc, path, &problem);
    assert_non_null(problem);
    assert_non_null(strstr(problem, "msg.conf:6: custom.unknown: unknown parameter"));
    assert_int_equal(conf_int(conf, "service.pop.port"), 1110);
    free(problem);
    conf_free(&conf);
    assert_int_equal(cu_doc_set(doc, "service.imap.port", NULL), 1);
    assert_null(cu_doc_get(doc, "service.imap.port"));
    cu_doc_free(&doc);
    assert_null(doc);
    remove_tree(dir);
    free(dir);
    free(path);
}

static void test_doc_keeps_mode(void **state)
{
    char *dir = temp_dir(), *path, *err = NULL;
    struct cu_doc *doc;
    struct stat st;

    assert_true(asprintf(&path, "%s/msg.conf", dir) > 0);
    assert_int_equal(cu_write_atomic(path, "service.imap.port = 1143\n", 0604, &err), 0);
    assert_int_equal(cu_doc_read(path, &doc, &err), 0);
    assert_int_equal(cu_doc_set(doc, "service.imap.port", "1144"), 1);
    assert_int_equal(cu_doc_write(doc, path, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0604);
    cu_doc_free(&doc);
    remove_tree(dir);
    free(dir);
    free(path);
}

static void test_import(void **state)
{
    static const struct {
        const char *text, *err; /* err NULL: accepted; else a substring of the message */
    } cases[] = {
        {"service.imap.port = 1143\n# comment\n\nservice.imap.banner = \"a b\"\n", NULL},
        {"service.imap.port =\n", NULL}, /* an empty value clears */
        {"service.imap.port = 0\n", ":1: service.imap.port: \"0\" is not an integer in 1..65535"},
        {"x.y = 1\n", ":1: x.y: unknown parameter"},
        {"service.imap.port = 1\nservice.imap.port = 2\n",
         ":2: service.imap.port: set again (first at line 1)"},
        {"garbage\n", ":1: expected name = value"},
    };
    char *dir = temp_dir(), *path;

    assert_true(asprintf(&path, "%s/import", dir) > 0);
    for (size_t i = 0; i < N(cases); i++) {
        struct cu_doc *doc = NULL;
        char *err = NULL;
        int ret;

        assert_int_equal(cu_write_atomic(path, cases[i].text, 0644, &err), 0);
        ret = cu_doc_read_import(path, &doc, &err);
        if (cases[i].err == NULL) {
            if (ret != 0)
                fail_msg("case %zu: %s", i, err);
        } else {
            assert_int_equal(ret, -1);
            assert_null(doc);
            if (strstr(err, cases[i].err) == NULL)
                fail_msg("case %zu: %s", i, err);
        }
        free(err);
        cu_doc_free(&doc);
    }
    remove_tree(dir);
    free(dir);
    free(path);
}

static void test_dropin_units(void **state)
{
    static const char *const want[] = {
        "halyard-imap.socket",   "halyard-imaps.socket",    "halyard-pop.socket",
        "halyard-pops.socket",   "halyard-lmtp-tcp.socket", "halyard-http.socket",
        "halyard-https.socket",  "halyard-mshttpd.service", "halyard-enp.socket",
        "halyard-enpd.service",  "halyard-imapd.service",   "halyard-popd.service",
        "halyard-lmtpd.service",
    };
    char units[CU_UNITS_MAX][CU_UNIT_NAME_MAX];
    size_t n = cu_table_units(CU_DROPIN_FILE_KINDS, units, CU_UNITS_MAX);

    assert_int_equal(n, N(want));
    for (size_t i = 0; i < n; i++)
        assert_string_equal(units[i], want[i]);
    assert_true(cu_unit_listed("a.service b.service", "b.service"));
    assert_false(cu_unit_listed("a.service b.service", "a.servic"));
    assert_false(cu_unit_listed("a.service", ""));
}

static void test_dropin_render(void **state)
{
    static const struct {
        const char *items, *unit, *want; /* want NULL: no drop-in */
    } cases[] = {
        {"service.imap.port=1143", "halyard-imap.socket",
         "[Socket]\nListenStream=\nListenStream=1143\n"},
        {"service.imap.port=143", "halyard-imap.socket",
         "[Socket]\nListenStream=\nListenStream=143\n"},
        {"service.imap.port=1143", "halyard-imaps.socket", NULL},
        {"service.imap.sslport=1993\nservice.imap.port=1143", "halyard-imaps.socket",
         "[Socket]\nListenStream=\nListenStream=1993\n"},
        {"service.imap.enable=no", "halyard-imap.socket", NULL},
        {"service.imap.banner=x", "halyard-imapd.service", NULL},
        {"local.enpd.port=7998", "halyard-enp.socket",
         "[Socket]\nListenStream=\nListenStream=7998\n"},
        {"local.enpd.access=+127.0.0.1|255.255.255.255;-10.0.0.0|255.0.0.0", "halyard-enpd.service",
         "[Service]\nEnvironment=\"ENS_ACCESS=+127.0.0.1|255.255.255.255;-10.0.0.0|255.0.0.0\"\n"},
        {"store.partition.primary.path=/srv/store", "halyard-popd.service",
         "[Service]\nReadWritePaths=/srv/store\n"},
        {"store.partition.primary.path=/srv/my store%1", "halyard-lmtpd.service",
         "[Service]\nReadWritePaths=\"/srv/my store%%1\"\n"},
        {"store.partition.primary.path=/srv/store", "halyard-enpd.service", NULL},
        {"service.http.spooldir=/srv/spool", "halyard-mshttpd.service",
         "[Service]\nReadWritePaths=/srv/spool\n"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        struct conf *conf = conf_of(cases[i].items);
        char *text = NULL, *want = NULL;

        assert_int_equal(cu_dropin_render(conf, cases[i].unit, &text), 0);
        if (cases[i].want == NULL) {
            assert_null(text);
        } else {
            assert_true(asprintf(&want, "%s%s", CU_DROPIN_HEADER, cases[i].want) > 0);
            assert_non_null(text);
            assert_string_equal(text, want);
        }
        free(text);
        free(want);
        conf_free(&conf);
    }
}

static void test_dropin_sync(void **state)
{
    char *root = temp_dir(), *path, *err = NULL, *text;
    struct conf *set = conf_of("service.imap.port=1143"), *none = conf_defaults();
    bool changed;
    struct stat st;

    assert_true(asprintf(&path, "%s/etc/systemd/system/halyard-imap.socket.d/%s", root,
                         CU_DROPIN_NAME) > 0);
    assert_int_equal(cu_dropin_sync(set, root, &changed, &err), 0);
    assert_true(changed);
    text = read_file(path);
    assert_non_null(strstr(text, "ListenStream=1143\n"));
    free(text);
    assert_int_equal(cu_dropin_sync(set, root, &changed, &err), 0);
    assert_false(changed);
    assert_int_equal(cu_dropin_sync(none, root, &changed, &err), 0);
    assert_true(changed);
    assert_int_equal(stat(path, &st), -1);
    *strrchr(path, '/') = '\0';
    assert_int_equal(stat(path, &st), -1); /* the emptied .d directory goes too */
    assert_int_equal(cu_dropin_sync(none, root, &changed, &err), 0);
    assert_false(changed);
    conf_free(&set);
    conf_free(&none);
    remove_tree(root);
    free(root);
    free(path);
}

static const char *const action_names[] = {
    [CU_DAEMON_RELOAD] = "daemon-reload",
    [CU_STOP] = "stop",
    [CU_SOCKET_RESTART] = "socket-restart",
    [CU_ENABLE] = "enable",
    [CU_DISABLE] = "disable",
    [CU_SETTLE] = "settle",
    [CU_RESTART] = "restart",
    [CU_RELOAD] = "reload",
};

static void test_plan(void **state)
{
    static const struct {
        const char *before, *after;
        bool dropins_changed;
        const char *want;
    } cases[] = {
        {"", "service.imap.banner=hi", false, "reload halyard-imapd.service;"},
        {"service.imap.banner=hi", "", false, "reload halyard-imapd.service;"},
        {"service.imap.port=1143", "service.imap.port=1143", false, ""},
        {"", "service.imap.port=1143", true,
         "daemon-reload;stop halyard-imapd.service;socket-restart halyard-imap.socket;"},
        {"service.imap.port=1143", "", true,
         "daemon-reload;stop halyard-imapd.service;socket-restart halyard-imap.socket;"},
        {"", "service.imap.enable=no", false,
         "disable halyard-imap.socket;settle halyard-imapd.service;"},
        {"service.imap.enable=no", "", false,
         "stop halyard-imapd.service;enable halyard-imap.socket;"},
        {"", "service.imap.enablesslport=yes", false,
         "stop halyard-imapd.service;enable halyard-imaps.socket;"},
        {"", "service.imap.enable=no\nservice.imap.enablesslport=yes", false,
         "stop halyard-imapd.service;disable halyard-imap.socket;enable halyard-imaps.socket;"},
        {"", "service.pop.enablesslport=no\nservice.pop.banner=x", false,
         "disable halyard-pops.socket;settle halyard-popd.service;"},
        {"", "service.imap.sslport=1993\nservice.imap.enablesslport=1", true,
         "daemon-reload;stop halyard-imapd.service;socket-restart halyard-imaps.socket;"
         "enable halyard-imaps.socket;"},
        {"", "service.imap.banner=x\nservice.imap.maxsessions=10", false,
         "restart halyard-imapd.service;"},
        {"", "service.imap.port=1143\nservice.imap.banner=x", true,
         "daemon-reload;stop halyard-imapd.service;socket-restart halyard-imap.socket;"},
        {"", "service.pop.idletimeout=20", false, "reload halyard-popd.service;"},
        {"", "service.http.port=8080", true,
         "daemon-reload;stop halyard-mshttpd.service;socket-restart halyard-http.socket;"},
        {"", "store.partition.primary.path=/srv/store", true,
         "daemon-reload;restart halyard-imapd.service;restart halyard-popd.service;"
         "restart halyard-lmtpd.service;"},
        {"", "local.enpd.access=+10.0.0.1|255.255.255.255", true,
         "daemon-reload;restart halyard-enpd.service;"},
        {"", "local.enpd.port=7998", true,
         "daemon-reload;stop halyard-enpd.service;socket-restart halyard-enp.socket;"},
        {"", "local.store.notifyplugin.NewMsg.enable=no", false,
         "reload halyard-imapd.service;reload halyard-popd.service;reload halyard-lmtpd.service;"},
        {"", "local.service.proxy.admin.store2=admin", false,
         "reload halyard-imapd.service;reload halyard-popd.service;"
         "reload halyard-mshttpd.service;"},
        {"", "local.hostname=mail.example.com", false,
         "reload halyard-imapd.service;reload halyard-popd.service;"
         "reload halyard-mshttpd.service;reload halyard-lmtpd.service;reload "
         "halyard-enpd.service;"},
        {"", "local.tls.priority=NORMAL\nlocal.hostname=m", false,
         "restart halyard-imapd.service;restart halyard-popd.service;"
         "restart halyard-mshttpd.service;reload halyard-lmtpd.service;"
         "reload halyard-enpd.service;"},
    };

    for (size_t i = 0; i < N(cases); i++) {
        struct conf *before = conf_of(cases[i].before), *after = conf_of(cases[i].after);
        struct cu_plan plan;
        char got[2048] = "";

        cu_plan_build(before, after, cases[i].dropins_changed, &plan);
        for (size_t j = 0; j < plan.count; j++) {
            size_t len = strlen(got);

            snprintf(got + len, sizeof(got) - len, "%s%s%s;", action_names[plan.steps[j].action],
                     plan.steps[j].unit[0] ? " " : "", plan.steps[j].unit);
        }
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu:\n got  %s\n want %s", i, got, cases[i].want);
        conf_free(&before);
        conf_free(&after);
    }
}

static void test_service_sockets(void **state)
{
    char units[CU_UNITS_MAX][CU_UNIT_NAME_MAX];

    assert_int_equal(cu_service_sockets("halyard-imapd.service", units, CU_UNITS_MAX), 2);
    assert_string_equal(units[0], "halyard-imap.socket");
    assert_string_equal(units[1], "halyard-imaps.socket");
    assert_int_equal(cu_service_sockets("halyard-enpd.service", units, CU_UNITS_MAX), 1);
    assert_string_equal(units[0], "halyard-enp.socket");
    /* the unix socket halyard-lmtp.socket has no parameter; only the TCP one is configurable */
    assert_int_equal(cu_service_sockets("halyard-lmtpd.service", units, CU_UNITS_MAX), 1);
    assert_string_equal(units[0], "halyard-lmtp-tcp.socket");
    assert_int_equal(cu_reader_services(READER_STORE | READER_IMAPD, units, CU_UNITS_MAX), 3);
    assert_int_equal(cu_reader_services(READER_CONFIGUTIL, units, CU_UNITS_MAX), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_edit),      cmocka_unit_test(test_doc_keeps_mode),
        cmocka_unit_test(test_import),        cmocka_unit_test(test_dropin_units),
        cmocka_unit_test(test_dropin_render), cmocka_unit_test(test_dropin_sync),
        cmocka_unit_test(test_plan),          cmocka_unit_test(test_service_sockets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
