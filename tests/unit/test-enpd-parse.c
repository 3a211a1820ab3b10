/* enpd's line parser, table-driven, each case also fed byte by byte (NEED_MORE until the line
 * ends, then the same answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "enpd-parse.h"

static const struct {
    const char *line;
    enum enp_parse_result result;
    enum enp_verb verb;
    const char *key, *body;
} cases[] = {
    {"SUBSCRIBE enp://127.0.0.1/store/alice\r\n", ENP_PARSE_OK, ENP_SUBSCRIBE,
     "enp://127.0.0.1/store/alice", NULL},
    {"subscribe k\n", ENP_PARSE_OK, ENP_SUBSCRIBE, "k", NULL},
    {"UNSUBSCRIBE k\r\n", ENP_PARSE_OK, ENP_UNSUBSCRIBE, "k", NULL},
    {"PUBLISH k evtType=NewMsg&imapUid=3\r\n", ENP_PARSE_OK, ENP_PUBLISH, "k",
     "evtType=NewMsg&imapUid=3"},
    {"PUBLISH k a body with blanks\r\n", ENP_PARSE_OK, ENP_PUBLISH, "k", "a body with blanks"},
    {"PUBLISH k\r\n", ENP_PARSE_OK, ENP_PUBLISH, "k", ""},
    {"PUBLISH k \r\n", ENP_PARSE_OK, ENP_PUBLISH, "k", ""},
    {"PING\r\n", ENP_PARSE_OK, ENP_PING, NULL, NULL},
    {"quit\n", ENP_PARSE_OK, ENP_QUIT, NULL, NULL},
    {"\r\n", ENP_PARSE_ERROR, 0, NULL, NULL},
    {"HELLO\r\n", ENP_PARSE_ERROR, 0, NULL, NULL},
    {"SUBSCRIBE\r\n", ENP_PARSE_ERROR, 0, NULL, NULL},
    {"SUBSCRIBE \r\n", ENP_PARSE_ERROR, 0, NULL, NULL},
    {"SUBSCRIBE  k\r\n", ENP_PARSE_ERROR, 0, NULL, NULL},
    {"SUBSCRIBE a b\r\n", ENP_PARSE_ERROR, 0, NULL, NULL},
    {"PING now\r\n", ENP_PARSE_ERROR, 0, NULL, NULL},
    {"PUBLISH k a\x01z\r\n", ENP_PARSE_ERROR, 0, NULL, NULL},
    {"SUBSCRIBE k\x7f\r\n", ENP_PARSE_ERROR, 0, NULL, NULL},
};

static void check(const char *line, size_t len, size_t i)
{
    struct enp_cmd cmd;
    size_t used = 0;
    const char *why;
    enum enp_parse_result r = enp_parse_line(line, len, &cmd, &used, &why);

    assert_int_equal(r, cases[i].result);
    assert_int_equal(used, len);
    if (r == ENP_PARSE_ERROR) {
        assert_non_null(why);
        return;
    }
    assert_int_equal(cmd.verb, cases[i].verb);
    if (cases[i].key != NULL) {
        assert_int_equal(cmd.key_len, strlen(cases[i].key));
        assert_memory_equal(cmd.key, cases[i].key, cmd.key_len);
    }
    if (cases[i].body != NULL) {
        assert_int_equal(cmd.body_len, strlen(cases[i].body));
        assert_memory_equal(cmd.body, cases[i].body, cmd.body_len);
    }
}

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check(cases[i].line, strlen(cases[i].line), i);
}

static void test_byte_by_byte(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].line);
        for (size_t k = 0; k < len; k++) {
            struct enp_cmd cmd;
            size_t used;
            const char *why;
            assert_int_equal(enp_parse_line(cases[i].line, k, &cmd, &used, &why),
                             ENP_PARSE_NEED_MORE);
        }
        check(cases[i].line, len, i);
    }
}

static void test_limits(void **state)
{
    static char line[ENP_LINE_MAX + 16];
    struct enp_cmd cmd;
    size_t used;
    const char *why;

    /* a key one byte too long */
    memcpy(line, "SUBSCRIBE ", 10);
    memset(line + 10, 'k', ENP_KEY_MAX + 1);
    memcpy(line + 10 + ENP_KEY_MAX + 1, "\r\n", 2);
    assert_int_equal(enp_parse_line(line, 10 + ENP_KEY_MAX + 3, &cmd, &used, &why),
                     ENP_PARSE_ERROR);
    /* exactly the longest key */
    memcpy(line + 10 + ENP_KEY_MAX, "\r\n", 2);
    assert_int_equal(enp_parse_line(line, 10 + ENP_KEY_MAX + 2, &cmd, &used, &why), ENP_PARSE_OK);
    /* no line end within the limit */
    memset(line, 'x', sizeof(line));
    assert_int_equal(enp_parse_line(line, ENP_LINE_MAX, &cmd, &used, &why), ENP_PARSE_TOO_LONG);
    assert_int_equal(enp_parse_line(line, ENP_LINE_MAX - 1, &cmd, &used, &why),
                     ENP_PARSE_NEED_MORE);
    /* the next line is not looked at */
    assert_int_equal(enp_parse_line("PING\r\nQUIT\r\n", 12, &cmd, &used, &why), ENP_PARSE_OK);
    assert_int_equal(used, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_limits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
