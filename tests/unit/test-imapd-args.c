/* Argument getters over parsed commands (atom, string, astring, nstring, list, mailbox name)
 * and the per-command arena they live in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-arena.h"
#include "imapd-args.h"
#include "imapd-parse.h"

static struct imap_cmd *parse(const char *in, size_t len)
{
    struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, NULL);
    struct imap_parse_out out;
    size_t used, off = 0;
    enum imap_parse_result r;

    while ((r = imap_parser_feed(p, in + off, len - off, &used, &out)) == IMAP_PARSE_CONTINUE)
        off += used;
    assert_int_equal(r, IMAP_PARSE_DONE);
    imap_parser_free(&p);
    return out.cmd;
}

#define PARSE(s) parse(s, sizeof(s) - 1)

static void test_getters(void **state)
{
    struct imap_cmd *cmd = PARSE("a X atom \"q s\" {3}\r\nl\xc3\xa4 NIL (1 2) ~{1}\r\n\0 \\Seen "
                                 "a]b a%b BODY[HEADER.FIELDS (A)]\r\n");
    const struct imap_arg *first, *arg;
    const char *s;
    size_t len;
    unsigned count;

    assert_int_equal(cmd->nargs, 10);
    arg = imap_arg_at(cmd->args, 0);
    assert_true(imap_arg_get_atom(arg, &s));
    assert_string_equal(s, "atom");
    assert_false(imap_arg_get_string(arg, &s, &len));
    assert_true(imap_arg_get_astring(arg, &s, &len));
    assert_false(imap_arg_get_nstring(arg, &s, &len));
    assert_false(imap_arg_get_list(arg, &first, &count));

    arg = imap_arg_at(cmd->args, 1);
    assert_false(imap_arg_get_atom(arg, &s));
    assert_true(imap_arg_get_string(arg, &s, &len));
    assert_string_equal(s, "q s");
    assert_true(imap_arg_get_astring(arg, &s, &len));
    assert_true(imap_arg_get_nstring(arg, &s, &len));
    assert_string_equal(s, "q s");

    arg = imap_arg_at(cmd->args, 2);
    assert_true(imap_arg_get_string(arg, &s, &len));
    assert_int_equal(len, 3);
    assert_string_equal(s, "l\xc3\xa4");

    arg = imap_arg_at(cmd->args, 3);
    assert_false(imap_arg_get_atom(arg, &s));
    assert_false(imap_arg_get_string(arg, &s, &len));
    assert_true(imap_arg_get_astring(arg, &s, &len)); /* the mailbox "NIL" */
    assert_string_equal(s, "NIL");
    assert_true(imap_arg_get_nstring(arg, &s, &len));
    assert_null(s);

    arg = imap_arg_at(cmd->args, 4);
    assert_true(imap_arg_get_list(arg, &first, &count));
    assert_int_equal(count, 2);
    assert_true(imap_arg_get_atom(imap_arg_at(first, 1), &s));
    assert_string_equal(s, "2");
    assert_null(imap_arg_at(first, 2));

    arg = imap_arg_at(cmd->args, 5); /* literal8: not a string */
    assert_false(imap_arg_get_string(arg, &s, &len));
    assert_false(imap_arg_get_astring(arg, &s, &len));
    assert_int_equal(arg->len, 1);

    arg = imap_arg_at(cmd->args, 6); /* a flag is an atom, not an astring */
    assert_true(imap_arg_get_atom(arg, &s));
    assert_false(imap_arg_get_astring(arg, &s, &len));
    assert_true(imap_arg_get_astring(imap_arg_at(cmd->args, 7), &s, &len));  /* "a]b" */
    assert_false(imap_arg_get_astring(imap_arg_at(cmd->args, 8), &s, &len)); /* "a%b" */
    assert_false(imap_arg_get_astring(imap_arg_at(cmd->args, 9), &s, &len));
    assert_null(imap_arg_at(cmd->args, 10));
    assert_false(imap_arg_get_atom(NULL, &s));
    assert_false(imap_arg_get_astring(NULL, &s, &len));
    assert_false(imap_arg_get_list(NULL, &first, &count));
    imap_cmd_free(&cmd);
}

static void test_mailbox(void **state)
{
    struct imap_cmd *cmd = PARSE("a X inbox \"InBoX\" Entw&APw-rfe {5}\r\nINBOX &AOQ &AGE- "
                                 "INBOX.x (a) \"\"\r\n");
    const char *name, *error;

    assert_int_equal(imap_arg_get_mailbox(imap_arg_at(cmd->args, 0), cmd->arena, &name, &error), 0);
    assert_string_equal(name, "INBOX");
    assert_int_equal(imap_arg_get_mailbox(imap_arg_at(cmd->args, 1), cmd->arena, &name, &error), 0);
    assert_string_equal(name, "INBOX");
    assert_int_equal(imap_arg_get_mailbox(imap_arg_at(cmd->args, 2), cmd->arena, &name, &error), 0);
    assert_string_equal(name, "Entw\xc3\xbcrfe");
    assert_int_equal(imap_arg_get_mailbox(imap_arg_at(cmd->args, 3), cmd->arena, &name, &error), 0);
    assert_string_equal(name, "INBOX");
    for (unsigned i = 4; i <= 5; i++) {
        assert_int_equal(imap_arg_get_mailbox(imap_arg_at(cmd->args, i), cmd->arena, &name, &error),
                         -1);
        assert_string_equal(error, "Mailbox name is not valid modified UTF-7");
    }
    /* only INBOX itself is case-insensitive (RFC 3501 section 5.1) */
    assert_int_equal(imap_arg_get_mailbox(imap_arg_at(cmd->args, 6), cmd->arena, &name, &error), 0);
    assert_string_equal(name, "INBOX.x");
    assert_int_equal(imap_arg_get_mailbox(imap_arg_at(cmd->args, 7), cmd->arena, &name, &error),
                     -1);
    assert_string_equal(error, "Missing or invalid mailbox name");
    assert_int_equal(imap_arg_get_mailbox(imap_arg_at(cmd->args, 8), cmd->arena, &name, &error), 0);
    assert_string_equal(name, "");
    imap_cmd_free(&cmd);
}

static void test_arena(void **state)
{
    struct imap_arena *a = imap_arena_new(64);
    size_t start = imap_arena_footprint(a);
    char *p, *q;

    p = imap_arena_alloc(a, 10);
    memset(p, 'x', 10);
    /* the latest allocation grows in place while its chunk has room */
    q = imap_arena_grow(a, p, 10, 40);
    assert_ptr_equal(p, q);
    assert_memory_equal(q, "xxxxxxxxxx", 10);
    assert_int_equal(q[39], 0);
    assert_int_equal(imap_arena_footprint(a), start);
    /* ... and moves when it has not, keeping the contents */
    q = imap_arena_grow(a, p, 40, 1000);
    assert_ptr_not_equal(p, q);
    assert_memory_equal(q, "xxxxxxxxxx", 10);
    assert_true(imap_arena_footprint(a) >= start + 1000);
    /* an older allocation is copied */
    p = imap_arena_alloc(a, 8);
    assert_ptr_not_equal(imap_arena_grow(a, q, 1000, 1001), q);
    assert_string_equal(imap_arena_strndup(a, "abcdef", 3), "abc");
    assert_true(((uintptr_t)imap_arena_alloc(a, 1) & 7) == 0);
    assert_true(((uintptr_t)imap_arena_alloc(a, 3) & 7) == 0);
    assert_null(imap_arena_alloc(a, SIZE_MAX));
    imap_arena_free(&a);
    assert_null(a);
    imap_arena_free(&a);
    imap_arena_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_mailbox),
        cmocka_unit_test(test_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
