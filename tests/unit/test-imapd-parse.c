/* imap_parse_line: table-driven cases, each also fed byte by byte (the parser must answer
 * "need more" until the line end arrives, then the same result). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-parse.h"

struct parse_case {
    const char *input;
    enum imap_parse_result result;
    const char *tag, *name, *args;
    size_t consumed;
};

static const struct parse_case cases[] = {
    {"a1 CAPABILITY\r\n", IMAP_PARSE_OK, "a1", "CAPABILITY", "", 15},
    {"a1 noop\n", IMAP_PARSE_OK, "a1", "noop", "", 8},
    {"x LOGIN bob secret\r\nrest", IMAP_PARSE_OK, "x", "LOGIN", "bob secret", 20},
    {"t.1 SELECT \"INBOX\"\r\n", IMAP_PARSE_OK, "t.1", "SELECT", "\"INBOX\"", 20},
    {"a1 CAPABILITY", IMAP_PARSE_NEED_MORE, NULL, NULL, NULL, 0},
    {"", IMAP_PARSE_NEED_MORE, NULL, NULL, NULL, 0},
    {"\r\n", IMAP_PARSE_BAD_TAG, NULL, NULL, NULL, 2},
    {" a1 NOOP\r\n", IMAP_PARSE_BAD_TAG, NULL, NULL, NULL, 10},
    {"a+1 NOOP\r\n", IMAP_PARSE_BAD_TAG, NULL, NULL, NULL, 10},
    {"a{1 NOOP\r\n", IMAP_PARSE_BAD_TAG, NULL, NULL, NULL, 10},
    {"a1\r\n", IMAP_PARSE_NO_COMMAND, "a1", NULL, NULL, 4},
    {"a1 \r\n", IMAP_PARSE_NO_COMMAND, "a1", NULL, NULL, 5},
    {"a1 (NOOP)\r\n", IMAP_PARSE_NO_COMMAND, "a1", NULL, NULL, 11},
    {"a1 NO\x01OP\r\n", IMAP_PARSE_NO_COMMAND, "a1", NULL, NULL, 10},
    {"a1 NOOP\x80\r\n", IMAP_PARSE_NO_COMMAND, "a1", NULL, NULL, 10},
};

static void check_case(const struct parse_case *tc, const char *data, size_t len)
{
    struct imap_cmd cmd;
    size_t used = 99;
    enum imap_parse_result r = imap_parse_line(data, len, &cmd, &used);

    assert_int_equal(r, tc->result);
    assert_int_equal(used, tc->consumed);
    if (tc->tag != NULL) {
        assert_int_equal(cmd.tag_len, strlen(tc->tag));
        assert_memory_equal(cmd.tag, tc->tag, cmd.tag_len);
    }
    if (tc->name != NULL) {
        assert_int_equal(cmd.name_len, strlen(tc->name));
        assert_memory_equal(cmd.name, tc->name, cmd.name_len);
        assert_int_equal(cmd.args_len, strlen(tc->args));
        assert_memory_equal(cmd.args, tc->args, cmd.args_len);
    }
}

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_case(&cases[i], cases[i].input, strlen(cases[i].input));
}

static void test_byte_by_byte(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct parse_case *tc = &cases[i];
        size_t full = strlen(tc->input);
        size_t end = tc->consumed > 0 ? tc->consumed : full;
        /* every proper prefix of the line needs more bytes */
        for (size_t n = 0; n < end; n++) {
            struct imap_cmd cmd;
            size_t used;
            assert_int_equal(imap_parse_line(tc->input, n, &cmd, &used), IMAP_PARSE_NEED_MORE);
            assert_int_equal(used, 0);
        }
        check_case(tc, tc->input, end);
    }
}

static void test_too_long(void **state)
{
    size_t len = IMAP_LINE_MAX + 10;
    char *buf = malloc(len);
    struct imap_cmd cmd;
    size_t used;

    memset(buf, 'a', len);
    memcpy(buf, "a1 NOOP ", 8);
    assert_int_equal(imap_parse_line(buf, IMAP_LINE_MAX - 1, &cmd, &used), IMAP_PARSE_NEED_MORE);
    assert_int_equal(imap_parse_line(buf, IMAP_LINE_MAX, &cmd, &used), IMAP_PARSE_TOO_LONG);
    buf[IMAP_LINE_MAX - 1] = '\n';
    assert_int_equal(imap_parse_line(buf, len, &cmd, &used), IMAP_PARSE_OK);
    assert_int_equal(used, IMAP_LINE_MAX);
    free(buf);
}

static void test_tag_chars(void **state)
{
    assert_true(imap_is_tag_char('a'));
    assert_true(imap_is_tag_char(']'));
    assert_false(imap_is_tag_char('+'));
    assert_false(imap_is_tag_char(' '));
    assert_false(imap_is_tag_char('*'));
    assert_false(imap_is_tag_char(0x7f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_tag_chars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
