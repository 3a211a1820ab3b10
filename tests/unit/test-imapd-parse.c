/* The IMAP command parser on lines without literals: tags, command names, atoms, NIL, quoted
 * strings, lists, fetch attributes with brackets, line ends and syntax errors. Every case is
 * fed whole, byte by byte and in random chunks, and must give the same transcript. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-parse.h"
#include "test-imapd-feed.h"

static const struct feed_case command_cases[] = {
    FEED_CASE("a1 CAPABILITY\r\n", "a1 CAPABILITY"),
    FEED_CASE("a1 noop\n", "a1 noop"),
    FEED_CASE("x LOGIN bob secret\r\n", "x LOGIN bob secret"),
    FEED_CASE("t.1 SELECT \"INBOX\"\r\n", "t.1 SELECT \"INBOX\""),
    FEED_CASE("a1 CAPABILITY", "(busy)"),
    FEED_CASE("", ""),
    FEED_CASE("p1 NOOP\r\np2 CAPABILITY\r\np3 NOOP\r\n", "p1 NOOP | p2 CAPABILITY | p3 NOOP"),
    FEED_CASE("a] NOOP\r\n", "a] NOOP"),
    FEED_CASE("\r\n", "* BAD Missing or invalid tag"),
    FEED_CASE(" a1 NOOP\r\n", "* BAD Missing or invalid tag"),
    FEED_CASE("a+1 NOOP\r\n", "* BAD Missing or invalid tag"),
    FEED_CASE("a{1 NOOP\r\n", "* BAD Missing or invalid tag"),
    FEED_CASE("a*1 NOOP\r\n", "* BAD Missing or invalid tag"),
    FEED_CASE("a1\r\n", "a1 BAD Missing or invalid command name"),
    FEED_CASE("a1 \r\n", "a1 BAD Missing or invalid command name"),
    FEED_CASE("a1  NOOP\r\n", "a1 BAD Missing or invalid command name"),
    FEED_CASE("a1 (NOOP)\r\n", "a1 BAD Missing or invalid command name"),
    FEED_CASE("a1 NO\x01OP\r\n", "a1 BAD Missing or invalid command name"),
    FEED_CASE("a1 NOOP\x80\r\n", "a1 BAD Missing or invalid command name"),
    FEED_CASE("t2 NO\0OP\r\nt3 NOOP\r\n", "t2 BAD Missing or invalid command name | t3 NOOP"),
    FEED_CASE("a1 NOOP]\r\n", "a1 BAD Missing or invalid command name"),
    /* 64 tag characters are the most */
    FEED_CASE("t234567890123456789012345678901234567890123456789012345678901234 NOOP\r\n",
              "t234567890123456789012345678901234567890123456789012345678901234 NOOP"),
    FEED_CASE("t2345678901234567890123456789012345678901234567890123456789012345 NOOP\r\n",
              "* BAD Missing or invalid tag"),
};

static const struct feed_case arg_cases[] = {
    FEED_CASE("a STORE 1:* +FLAGS (\\Seen \\Deleted)\r\n", "a STORE 1:* +FLAGS (\\Seen \\Deleted)"),
    FEED_CASE("a X NIL nil Nil NILS \"NIL\"\r\n", "a X NIL nil Nil NILS \"NIL\""),
    FEED_CASE("a X \"a\\\"b\\\\c\"\r\n", "a X \"a\\\"b\\\\c\""),
    FEED_CASE("a X \"\" \"\"\r\n", "a X \"\" \"\""),
    FEED_CASE("a X \"\xc3\xa4 (x) {3}\"\r\n", "a X \"\\xc3\\xa4 (x) {3}\""),
    FEED_CASE("a X (1 (2 (3)) () \"q\")\r\n", "a X (1 (2 (3)) () \"q\")"),
    FEED_CASE("a X  a   b \r\n", "a X a b"),
    FEED_CASE("a X ( a  b )\r\n", "a X (a b)"),
    FEED_CASE("a LIST \"\" %/*\r\n", "a LIST \"\" %/*"),
    FEED_CASE("a SELECT [Gmail]/Sent\r\n", "a SELECT [Gmail]/Sent"),
    FEED_CASE("a X ~foo ~ a~b\r\n", "a X ~foo ~ a~b"),
    FEED_CASE("a X \\Seen \\*\r\n", "a X \\Seen \\*"),
    /* a fetch attribute keeps its brackets, spaces and parentheses inside one atom */
    FEED_CASE("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> FLAGS)\r\n",
              "a FETCH 1 (BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100> FLAGS)"),
    FEED_CASE("a FETCH 1 BODY[]\r\n", "a FETCH 1 BODY[]"),
    FEED_CASE("a UID FETCH 1:* binary.peek[1.2]<0.10>\r\n",
              "a UID FETCH 1:* binary.peek[1.2]<0.10>"),
    FEED_CASE("a FETCH 1 (BODY[HEADER.FIELDS (\"X-A]\" B)])\r\n",
              "a FETCH 1 (BODY[HEADER.FIELDS (\"X-A]\" B)])"),
    FEED_CASE("a FETCH 1 BODY[HEADER.FIELDS (\"a\\\"]\")]\r\n",
              "a FETCH 1 BODY[HEADER.FIELDS (\"a\\\"]\")]"),
    /* only fetch attributes: anywhere else "[" is an ordinary atom character */
    FEED_CASE("a X foo[a b]\r\n", "a X foo[a b]"),
    FEED_CASE("a X (foo[a b])\r\n", "a X (foo[a b])"),
};

static const struct feed_case error_cases[] = {
    FEED_CASE("a X \"a\\nb\"\r\nb NOOP\r\n", "a BAD Invalid escape in quoted string | b NOOP"),
    FEED_CASE("a X \"ab\rcd\"\r\nb NOOP\r\n", "a BAD CR or LF in quoted string | b NOOP"),
    /* an LF ends the command even inside a quoted string: the rest is a new line */
    FEED_CASE("a X \"ab\ncd\"\r\n",
              "a BAD CR or LF in quoted string | * BAD Missing or invalid tag"),
    FEED_CASE("a X \"a\0b\"\r\n", "a BAD NUL octet in command"),
    FEED_CASE("a X fo\0o\r\n", "a BAD NUL octet in command"),
    FEED_CASE("a X foo)\r\n", "a BAD Unexpected ')'"),
    FEED_CASE("a X )\r\n", "a BAD Unexpected ')'"),
    FEED_CASE("a X (foo\r\nb NOOP\r\n", "a BAD Missing ')' | b NOOP"),
    FEED_CASE("a X ((a) b\r\n", "a BAD Missing ')'"),
    FEED_CASE("a X \"a\"\"b\"\r\n", "a BAD Missing space between arguments"),
    FEED_CASE("a X (a)(b)\r\n", "a BAD Missing space between arguments"),
    FEED_CASE("a X (a)b\r\n", "a BAD Missing space between arguments"),
    FEED_CASE("a X fo\"o\r\n", "a BAD Invalid character in atom"),
    FEED_CASE("a X fo{o\r\n", "a BAD Invalid character in atom"),
    FEED_CASE("a X a(b\r\n", "a BAD Invalid character in atom"),
    FEED_CASE("a X a\\b\r\n", "a BAD Invalid character in atom"),
    FEED_CASE("a X \x01\r\n", "a BAD Invalid character in atom"),
    FEED_CASE("a X \xc3\xa4\r\n", "a BAD Invalid character in atom"),
    FEED_CASE("a X a\x7f\r\n", "a BAD Invalid character in atom"),
    FEED_CASE("a FETCH 1 BODY[HEADER.FIELDS (A\r\nb NOOP\r\n", "a BAD Missing ']' | b NOOP"),
    FEED_CASE("a FETCH 1 BODY[\x01]\r\n", "a BAD Invalid character in atom"),
    FEED_CASE("a NOOP\rX\r\nb NOOP\r\n", "a BAD CR not followed by LF | b NOOP"),
    FEED_CASE("a NOOP\r\r\n", "a BAD CR not followed by LF"),
    FEED_CASE("a X y\rz\r\n", "a BAD CR not followed by LF"),
    /* only the first error of a command is answered */
    FEED_CASE("a X ) ( \x01 \"\r\n", "a BAD Unexpected ')'"),
};

static void test_commands(void **state)
{
    feed_check_cases(command_cases, sizeof(command_cases) / sizeof(command_cases[0]),
                     &imap_parser_limits_default, NULL);
}

static void test_arguments(void **state)
{
    feed_check_cases(arg_cases, sizeof(arg_cases) / sizeof(arg_cases[0]),
                     &imap_parser_limits_default, NULL);
}

static void test_syntax_errors(void **state)
{
    feed_check_cases(error_cases, sizeof(error_cases) / sizeof(error_cases[0]),
                     &imap_parser_limits_default, NULL);
}

/* The argument tree itself, beyond its transcript: types, counts and links. */
static void test_tree(void **state)
{
    struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, NULL);
    const char in[] = "t1 fetch 2 (UID nil \"q\" (x)) \r\n";
    struct imap_parse_out out;
    size_t used;

    assert_int_equal(imap_parser_feed(p, in, sizeof(in) - 1, &used, &out), IMAP_PARSE_DONE);
    assert_int_equal(used, sizeof(in) - 1);
    assert_false(imap_parser_busy(p));
    struct imap_cmd *cmd = out.cmd;
    assert_string_equal(cmd->tag, "t1");
    assert_string_equal(cmd->name, "fetch");
    assert_int_equal(cmd->nargs, 2);
    assert_int_equal(cmd->args->type, IMAP_ARG_ATOM);
    assert_string_equal(cmd->args->str, "2");
    const struct imap_arg *list = cmd->args->next;
    assert_int_equal(list->type, IMAP_ARG_LIST);
    assert_int_equal(list->count, 4);
    assert_null(list->next);
    assert_int_equal(list->list->type, IMAP_ARG_ATOM);
    assert_int_equal(list->list->next->type, IMAP_ARG_NIL);
    assert_string_equal(list->list->next->str, "nil");
    assert_int_equal(list->list->next->next->type, IMAP_ARG_QUOTED);
    const struct imap_arg *inner = list->list->next->next->next;
    assert_int_equal(inner->type, IMAP_ARG_LIST);
    assert_int_equal(inner->count, 1);
    assert_string_equal(inner->list->str, "x");
    assert_null(inner->next);
    imap_cmd_free(&cmd);
    imap_cmd_free(&cmd); /* a cleared pointer frees nothing */
    imap_parser_free(&p);
    imap_parser_free(&p);
}

/* Between commands the parser holds nothing; one result per call leaves the rest unread. */
static void test_one_result_per_call(void **state)
{
    struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, NULL);
    const char in[] = "s1 STARTTLS\r\ninjected NOOP\r\n";
    struct imap_parse_out out;
    size_t used;

    assert_false(imap_parser_busy(p));
    assert_int_equal(imap_parser_feed(p, in, 5, &used, &out), IMAP_PARSE_NEED_MORE);
    assert_int_equal(used, 5);
    assert_true(imap_parser_busy(p));
    assert_int_equal(imap_parser_feed(p, in + 5, sizeof(in) - 6, &used, &out), IMAP_PARSE_DONE);
    assert_int_equal(used, strlen("ARTTLS\r\n"));
    assert_false(imap_parser_busy(p));
    imap_cmd_free(&out.cmd);
    assert_int_equal(imap_parser_feed(p, in, 0, &used, &out), IMAP_PARSE_NEED_MORE);
    assert_int_equal(used, 0);
    assert_false(imap_parser_busy(p));
    imap_parser_free(&p);
}

static void test_char_classes(void **state)
{
    assert_true(imap_is_tag_char('a'));
    assert_true(imap_is_tag_char(']'));
    assert_false(imap_is_tag_char('+'));
    assert_false(imap_is_tag_char(' '));
    assert_false(imap_is_tag_char('*'));
    assert_false(imap_is_tag_char(0x7f));
    assert_true(imap_is_atom_char('+'));
    assert_false(imap_is_atom_char(']'));
    assert_false(imap_is_atom_char('%'));
    assert_false(imap_is_atom_char('{'));
    assert_false(imap_is_atom_char(0x80));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_tree),
        cmocka_unit_test(test_one_result_per_call),
        cmocka_unit_test(test_char_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
