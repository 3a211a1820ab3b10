/* pop_parse_line and pop_parse_number: table-driven, each line also fed byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "popd-parse.h"

static void test_lines(void **state)
{
    static const struct {
        const char *in;
        enum pop_parse_result r;
        const char *kw;
        size_t nargs;
        const char *arg0, *rest;
    } cases[] = {
        {"STAT\r\n", POP_PARSE_OK, "STAT", 0, NULL, NULL},
        {"stat\n", POP_PARSE_OK, "STAT", 0, NULL, NULL},
        {"TOP 1 10\r\n", POP_PARSE_OK, "TOP", 2, "1", "1 10"},
        {"PASS pass word  x\r\n", POP_PARSE_OK, "PASS", 4, "pass", "pass word  x"},
        {"USER alice\r\n", POP_PARSE_OK, "USER", 1, "alice", "alice"},
        {"QUITX\r\n", POP_PARSE_ERROR, NULL, 0, NULL, NULL},
        {"QU\r\n", POP_PARSE_ERROR, NULL, 0, NULL, NULL},
        {"\r\n", POP_PARSE_ERROR, NULL, 0, NULL, NULL},
        {"ST1T\r\n", POP_PARSE_ERROR, NULL, 0, NULL, NULL},
        {"RETR 1\rX\r\n", POP_PARSE_ERROR, NULL, 0, NULL, NULL},
        {"STAT", POP_PARSE_NEED_MORE, NULL, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].in), used;
        struct pop_cmd cmd;
        for (size_t n = 0; n < len && cases[i].r != POP_PARSE_NEED_MORE; n++) {
            if (memchr(cases[i].in, '\n', n) != NULL)
                break;
            assert_int_equal(pop_parse_line(cases[i].in, n, &cmd, &used), POP_PARSE_NEED_MORE);
        }
        assert_int_equal(pop_parse_line(cases[i].in, len, &cmd, &used), cases[i].r);
        if (cases[i].r != POP_PARSE_OK)
            continue;
        assert_int_equal(used, len);
        assert_string_equal(cmd.keyword, cases[i].kw);
        assert_int_equal(cmd.nargs, cases[i].nargs);
        if (cases[i].arg0 != NULL) {
            assert_int_equal(cmd.args[0].len, strlen(cases[i].arg0));
            assert_memory_equal(cmd.args[0].s, cases[i].arg0, cmd.args[0].len);
            assert_int_equal(cmd.rest.len, strlen(cases[i].rest));
            assert_memory_equal(cmd.rest.s, cases[i].rest, cmd.rest.len);
        }
    }
}

static void test_nul_and_long(void **state)
{
    static const char nul[] = "ST\0T\r\n";
    struct pop_cmd cmd;
    size_t used;
    char *big = malloc(POP_LINE_MAX + 1);

    assert_int_equal(pop_parse_line(nul, sizeof(nul) - 1, &cmd, &used), POP_PARSE_ERROR);
    assert_int_equal(used, sizeof(nul) - 1);
    memset(big, 'A', POP_LINE_MAX + 1);
    assert_int_equal(pop_parse_line(big, POP_LINE_MAX + 1, &cmd, &used), POP_PARSE_TOO_LONG);
    free(big);
}

static void test_numbers(void **state)
{
    static const struct {
        const char *s;
        unsigned long max, want;
    } cases[] = {
        {"1", 3, 1},  {"3", 3, 3},  {"4", 3, 0},           {"0", 3, 0},   {"", 3, 0},
        {"-1", 3, 0}, {"1x", 3, 0}, {"99999999999", 5, 0}, {"007", 9, 7},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pop_arg a = {.s = cases[i].s, .len = strlen(cases[i].s)};
        assert_int_equal(pop_parse_number(&a, cases[i].max), cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_nul_and_long),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
