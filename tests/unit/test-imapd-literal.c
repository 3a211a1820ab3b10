/* The IMAP command parser's literals and limits: synchronising and non-synchronising
 * (RFC 7888) literals, literal8 (RFC 3516), streamed APPEND literals, [TOOBIG], and the line,
 * nesting and argument limits; each case fed whole, byte by byte and in random chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-parse.h"
#include "test-imapd-feed.h"

#define N_CASES(a) (sizeof(a) / sizeof((a)[0]))

static const struct feed_case literal_cases[] = {
    FEED_CASE("a LOGIN {3}\r\nbob {6}\r\nsecret\r\n", "+ | + | a LOGIN {3}bob {6}secret"),
    FEED_CASE("a LOGIN {3+}\r\nbob {6+}\r\nsecret\r\n", "a LOGIN {3}bob {6}secret"),
    FEED_CASE("a LOGIN {3}\nbob {6+}\nsecret\n", "+ | a LOGIN {3}bob {6}secret"),
    FEED_CASE("a X {0}\r\n\r\n", "+ | a X {0}"),
    FEED_CASE("a X {0+}\r\n \"b\"\r\n", "a X {0} \"b\""),
    FEED_CASE("a X {00003}\r\nabc\r\n", "+ | a X {3}abc"),
    FEED_CASE("a X ({2}\r\nab {1+}\r\nc)\r\n", "+ | a X ({2}ab {1}c)"),
    /* a literal's octets are data, whatever they look like */
    FEED_CASE("a X {10}\r\n\r\nb NOOP\r\n\r\n", "+ | a X {10}\\x0d\\x0ab NOOP\\x0d\\x0a"),
    FEED_CASE("a X {4+}\r\n\"(){ \"x\"\r\n", "a X {4}\"(){ \"x\""),
    FEED_CASE("a X {5}\r\n\xff\x80\x01\x7f\x1b\r\n", "+ | a X {5}\\xff\\x80\\x01\\x7f\\x1b"),
    FEED_CASE("a X ~{3}\r\na\0b\r\n", "+ | a X ~{3}a\\x00b"),
    FEED_CASE("a X ~{3+}\r\na\0b ~{0}\r\n\r\n", "+ | a X ~{3}a\\x00b ~{0}"),
    FEED_CASE("a X {3}\r\nab", "+ | (busy)"),
    FEED_CASE("a X {3}\r\na\0b\r\nb NOOP\r\n",
              "+ | a BAD NUL octet in literal (use literal8) | b NOOP"),
    FEED_CASE("a X {3+}\r\na\0b c\r\nb NOOP\r\n",
              "a BAD NUL octet in literal (use literal8) | b NOOP"),
    FEED_CASE("a X {1}\r\nab\r\n", "+ | a BAD Missing space between arguments"),
    FEED_CASE("a X {}\r\n", "a BAD Invalid literal size"),
    FEED_CASE("a X {+}\r\n", "a BAD Invalid literal size"),
    FEED_CASE("a X {12a}\r\n", "a BAD Invalid literal size"),
    FEED_CASE("a X {5++}\r\n", "a BAD Invalid literal size"),
    FEED_CASE("a X {5}x\r\n", "a BAD Literal size not followed by CRLF"),
    FEED_CASE("a X {5} \r\n", "a BAD Literal size not followed by CRLF"),
    FEED_CASE("a X ~x{5}\r\n", "a BAD Invalid character in atom"),
    /* after an error a non-synchronising literal at the end of the line is still read: its
     * octets never run as commands (RFC 7888 section 4) */
    FEED_CASE("a X (\x01 {8+}\r\nb NOOP\r\n)\r\nc NOOP\r\n",
              "a BAD Invalid character in atom | c NOOP"),
    FEED_CASE("a X \x01 ~{8+}\r\nb NOOP\r\n {3+}\r\nd X\r\nc NOOP\r\n",
              "a BAD Invalid character in atom | c NOOP"),
    /* ... while a synchronising one is never sent: the next line is the next command */
    FEED_CASE("a X \x01 {8}\r\nb NOOP\r\n", "a BAD Invalid character in atom | b NOOP"),
    FEED_CASE("{3}\r\nabc NOOP\r\n", "* BAD Missing or invalid tag | abc NOOP"),
    FEED_CASE("{3+}\r\nabc NOOP\r\nd NOOP\r\n", "* BAD Missing or invalid tag | d NOOP"),
    FEED_CASE("a X {99999999999999999999999}\r\nb NOOP\r\n",
              "a NO [TOOBIG] Literal too big (limit 65536 octets) | b NOOP"),
    FEED_CASE("a X {65537}\r\nb NOOP\r\n",
              "a NO [TOOBIG] Literal too big (limit 65536 octets) | b NOOP"),
    FEED_CASE("a X {65536}\r\n", "+ | (busy)"),
    FEED_CASE("a X {99999999999999999999999+}\r\nxyz",
              "* BYE [TOOBIG] Literal too big to skip (limit 104857600 octets) (close)"),
};

/* Small limits, so each can be hit by a short input. */
static const struct imap_parser_limits small = {
    .line_max = 32,
    .literal_max = 8,
    .stream_max = 10,
    .discard_max = 16,
    .depth_max = 3,
    .args_max = 5,
};

static const struct feed_case limit_cases[] = {
    FEED_CASE("a X {8}\r\n12345678\r\n", "+ | a X {8}12345678"),
    FEED_CASE("a X {9}\r\nb NOOP\r\n", "a NO [TOOBIG] Literal too big (limit 8 octets) | b NOOP"),
    /* the limit is on the command's literals together */
    FEED_CASE("a X {5}\r\n12345 {4}\r\nb NOOP\r\n",
              "+ | a NO [TOOBIG] Literal too big (limit 8 octets) | b NOOP"),
    FEED_CASE("a X {5+}\r\n12345 {3+}\r\n678\r\n", "a X {5}12345 {3}678"),
    /* a non-synchronising one over the limit is read and thrown away, then answered */
    FEED_CASE("a X {12+}\r\nb NOOP\r\nxyz more\r\nc NOOP\r\n",
              "a BAD [TOOBIG] Literal too big (limit 8 octets) | c NOOP"),
    FEED_CASE("a X {9+}\r\n123456789 {16+}\r\n0123456789abcdef\r\nc NOOP\r\n",
              "a BAD [TOOBIG] Literal too big (limit 8 octets) | c NOOP"),
    /* ... unless it is too big even for that: RFC 7888 section 4 option 2 */
    FEED_CASE("a X {17+}\r\n", "* BYE [TOOBIG] Literal too big to skip (limit 16 octets) (close)"),
    FEED_CASE("a X \x01 {17+}\r\n",
              "* BYE [TOOBIG] Literal too big to skip (limit 16 octets) (close)"),
    /* the line limit counts command text, CRLFs included, literal data not */
    FEED_CASE("a X 67890123456789012345678901\r\n", "a X 67890123456789012345678901"),
    FEED_CASE("a X 678901234567890123456789012\r\nb NOOP\r\n",
              "a BAD Command line too long (limit 32 octets) | b NOOP"),
    FEED_CASE("a X {8+}\r\n12345678 {0}\r\n 1234567890123\r\n",
              "+ | a X {8}12345678 {0} 1234567890123"),
    FEED_CASE("a X {8+}\r\n12345678 {0}\r\n 12345678901234\r\n",
              "+ | a BAD Command line too long (limit 32 octets)"),
    FEED_CASE("no-tag-at-all-but-a-very-long-line\r\n",
              "* BAD Command line too long (limit 32 octets)"),
    FEED_CASE("a X 678901234567890123456789012 {3+}\r\nb Y\r\nc NOOP\r\n",
              "a BAD Command line too long (limit 32 octets) | c NOOP"),
    FEED_CASE("a X (((1)))\r\n", "a X (((1)))"),
    FEED_CASE("a X ((((1))))\r\nb NOOP\r\n", "a BAD Lists nested too deeply (limit 3) | b NOOP"),
    FEED_CASE("a X 1 2 3 4 5\r\n", "a X 1 2 3 4 5"),
    FEED_CASE("a X 1 2 3 4 5 6\r\n", "a BAD Too many arguments (limit 5)"),
    FEED_CASE("a X (1 2) (3)\r\n", "a X (1 2) (3)"),
    FEED_CASE("a X (1 2) (3 4)\r\n", "a BAD Too many arguments (limit 5)"),
    FEED_CASE("a X 1 2 3 4 5 {3}\r\nb NOOP\r\n", "a BAD Too many arguments (limit 5) | b NOOP"),
    FEED_CASE("a X 1 2 3 4 5 {3+}\r\nabc\r\nb NOOP\r\n",
              "a BAD Too many arguments (limit 5) | b NOOP"),
};

/* The same with room for APPEND's date-time. */
static const struct imap_parser_limits stream_limits = {
    .line_max = 128,
    .literal_max = 8,
    .stream_max = 10,
    .discard_max = 16,
    .depth_max = 3,
    .args_max = 5,
};

static const struct imap_stream_rule append_rules[] = {
    {"APPEND", 1},
    {NULL, 0},
};

static const struct feed_case stream_cases[] = {
    FEED_CASE("a APPEND INBOX (\\Seen) {5}\r\nhello\r\n",
              "stream 5 arg 2 | data hello | a APPEND INBOX (\\Seen) <streamed 5>"),
    FEED_CASE("a append INBOX \"1-Jan-2020 00:00:00 +0000\" {5+}\r\nhello\r\nb NOOP\r\n",
              "stream 5+ arg 2 | data hello | a append INBOX \"1-Jan-2020 00:00:00 +0000\" "
              "<streamed 5> | b NOOP"),
    FEED_CASE("a APPEND INBOX ~{3}\r\na\0b\r\n",
              "stream 3 ~ arg 1 | data a\\x00b | a APPEND INBOX <streamed8 3>"),
    FEED_CASE("a APPEND {5}\r\nINBOX {3}\r\nabc\r\n",
              "+ | stream 3 arg 1 | data abc | a APPEND {5}INBOX <streamed 3>"),
    FEED_CASE("a APPEND INBOX {1+}\r\nx {2+}\r\nyz\r\n",
              "stream 1+ arg 1 | data x | stream 2+ arg 2 | data yz | a APPEND INBOX "
              "<streamed 1> <streamed 2>"),
    FEED_CASE("a APPEND INBOX {0}\r\n\r\n", "stream 0 arg 1 | a APPEND INBOX <streamed 0>"),
    /* the stream limit, not the in-memory one, bounds a streamed literal */
    FEED_CASE("a APPEND INBOX {10}\r\n0123456789\r\n",
              "stream 10 arg 1 | data 0123456789 | a APPEND INBOX <streamed 10>"),
    FEED_CASE("a APPEND INBOX {11}\r\nb NOOP\r\n",
              "a NO [TOOBIG] Literal too big (limit 10 octets) | b NOOP"),
    FEED_CASE("a APPEND INBOX {11+}\r\n0123456789a\r\nb NOOP\r\n",
              "a BAD [TOOBIG] Literal too big (limit 10 octets) | b NOOP"),
    /* only top-level literals stream */
    FEED_CASE("a APPEND INBOX ({1}\r\nx)\r\n", "+ | a APPEND INBOX ({1}x)"),
    FEED_CASE("a NOOP {1}\r\nx\r\n", "+ | a NOOP {1}x"),
    /* a failed stream's data is the caller's to throw away */
    FEED_CASE("a APPEND INBOX {4+}\r\nab\0c\r\nb NOOP\r\n",
              "stream 4+ arg 1 | a BAD NUL octet in literal (use literal8) | b NOOP"),
    FEED_CASE("a APPEND INBOX {2+}\r\nab)\r\nb NOOP\r\n",
              "stream 2+ arg 1 | a BAD Unexpected ')' | b NOOP"),
    FEED_CASE("a APPEND INBOX {4}\r\nab", "stream 4 arg 1 | data ab | (busy)"),
};

static void test_literals(void **state)
{
    feed_check_cases(literal_cases, N_CASES(literal_cases), &imap_parser_limits_default, NULL);
}

static void test_limits(void **state)
{
    feed_check_cases(limit_cases, N_CASES(limit_cases), &small, NULL);
}

static void test_streams(void **state)
{
    feed_check_cases(stream_cases, N_CASES(stream_cases), &stream_limits, append_rules);
}

/* The default line limit, 8192 octets with the CRLF, and what follows an over-long line. */
static void test_default_line_limit(void **state)
{
    size_t len = 8192 + 64;
    char *in = malloc(len), *got;

    memset(in, 'X', len);
    memcpy(in, "t1 NOOP ", 8);
    memcpy(in + 8190, "\r\nt2 NOOP\r\n", 11);
    got = feed_transcript(&imap_parser_limits_default, NULL, in, 8190 + 11, FEED_WHOLE);
    assert_int_equal(strlen(got), 8 + 8182 + strlen(" | t2 NOOP"));
    free(got);
    in[8190] = 'X';
    memcpy(in + 8191, "\r\nt2 NOOP\r\n", 11);
    for (unsigned chunking = 0; chunking < FEED_SEEDS; chunking++) {
        got = feed_transcript(&imap_parser_limits_default, NULL, in, 8191 + 11, chunking);
        assert_string_equal(got, "t1 BAD Command line too long (limit 8192 octets) | t2 NOOP");
        free(got);
    }
    free(in);
}

/* A refused streamed literal: a synchronising one ends the command there, a
 * non-synchronising one and its command are skipped without an error. */
static void test_stream_refuse(void **state)
{
    struct imap_parser *p = imap_parser_new(&stream_limits, append_rules);
    const char sync[] = "a APPEND Nowhere {5}\r\nb NOOP\r\n";
    const char plus[] = "a APPEND Nowhere {5+}\r\nhello (x\r\nb NOOP\r\n";
    struct imap_parse_out out;
    size_t used, off;

    assert_int_equal(imap_parser_feed(p, sync, sizeof(sync) - 1, &used, &out),
                     IMAP_PARSE_STREAM_BEGIN);
    assert_string_equal(out.cmd->tag, "a");
    assert_int_equal(out.cmd->nargs, 2);
    assert_true(out.stream.sync);
    imap_parser_stream_refuse(p);
    assert_false(imap_parser_busy(p));
    off = used;
    assert_int_equal(imap_parser_feed(p, sync + off, sizeof(sync) - 1 - off, &used, &out),
                     IMAP_PARSE_DONE);
    assert_string_equal(out.cmd->tag, "b");
    imap_cmd_free(&out.cmd);

    assert_int_equal(imap_parser_feed(p, plus, sizeof(plus) - 1, &used, &out),
                     IMAP_PARSE_STREAM_BEGIN);
    assert_false(out.stream.sync);
    imap_parser_stream_refuse(p);
    assert_true(imap_parser_busy(p));
    off = used;
    assert_int_equal(imap_parser_feed(p, plus + off, sizeof(plus) - 1 - off, &used, &out),
                     IMAP_PARSE_DONE);
    assert_string_equal(out.cmd->tag, "b");
    assert_int_equal(off + used, sizeof(plus) - 1);
    imap_cmd_free(&out.cmd);
    imap_parser_free(&p);

    /* a refused stream is read to its end even when over discard_max: it was accepted */
    static const struct imap_parser_limits odd = {.line_max = 128,
                                                  .literal_max = 8,
                                                  .stream_max = 20,
                                                  .discard_max = 4,
                                                  .depth_max = 3,
                                                  .args_max = 5};
    const char big[] = "a APPEND Nowhere {10+}\r\n0123456789\r\nb NOOP\r\n";
    p = imap_parser_new(&odd, append_rules);
    assert_int_equal(imap_parser_feed(p, big, sizeof(big) - 1, &used, &out),
                     IMAP_PARSE_STREAM_BEGIN);
    imap_parser_stream_refuse(p);
    off = used;
    assert_int_equal(imap_parser_feed(p, big + off, sizeof(big) - 1 - off, &used, &out),
                     IMAP_PARSE_DONE);
    assert_string_equal(out.cmd->tag, "b");
    imap_cmd_free(&out.cmd);
    imap_parser_free(&p);
}

/* Each limit gives its own journal line; plain syntax errors give none. */
static void test_journal(void **state)
{
    struct imap_parse_error e = {.kind = IMAP_PERR_LINE, .limit = 8192};
    char buf[128];

    assert_true(imap_parse_error_journal(&e, buf, sizeof(buf)));
    assert_string_equal(buf, "command line over 8192 octets");
    e = (struct imap_parse_error){.kind = IMAP_PERR_TOOBIG, .limit = 10, .size = 11, .sync = 1};
    assert_true(imap_parse_error_journal(&e, buf, sizeof(buf)));
    assert_string_equal(buf, "literal of 11 octets over the limit of 10 refused");
    e.sync = false;
    assert_true(imap_parse_error_journal(&e, buf, sizeof(buf)));
    assert_string_equal(buf, "literal of 11 octets over the limit of 10 read and discarded");
    e.close = true;
    assert_true(imap_parse_error_journal(&e, buf, sizeof(buf)));
    assert_string_equal(buf, "literal of 11 octets over 10, too big to skip: closing");
    e = (struct imap_parse_error){.kind = IMAP_PERR_DEPTH, .limit = 3};
    assert_true(imap_parse_error_journal(&e, buf, sizeof(buf)));
    assert_string_equal(buf, "lists nested deeper than 3");
    e = (struct imap_parse_error){.kind = IMAP_PERR_ARGS, .limit = 5};
    assert_true(imap_parse_error_journal(&e, buf, sizeof(buf)));
    assert_string_equal(buf, "more than 5 arguments in a command");
    e = (struct imap_parse_error){.kind = IMAP_PERR_NOMEM, .close = true};
    assert_true(imap_parse_error_journal(&e, buf, sizeof(buf)));
    assert_int_equal(imap_parse_error_reply(&e, buf, sizeof(buf)), 35);
    assert_string_equal(buf, "* BYE [UNAVAILABLE] Out of memory\r\n");
    e = (struct imap_parse_error){.kind = IMAP_PERR_SYNTAX, .syntax = IMAP_SYN_SPACE};
    assert_false(imap_parse_error_journal(&e, buf, sizeof(buf)));
    e = (struct imap_parse_error){.kind = IMAP_PERR_TAG};
    assert_false(imap_parse_error_journal(&e, buf, sizeof(buf)));
    /* a short buffer gets a truncated, terminated reply */
    e = (struct imap_parse_error){.kind = IMAP_PERR_COMMAND, .tag = "abc"};
    assert_int_equal(imap_parse_error_reply(&e, buf, 8), 7);
    assert_string_equal(buf, "abc BAD");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),      cmocka_unit_test(test_limits),
        cmocka_unit_test(test_streams),       cmocka_unit_test(test_default_line_limit),
        cmocka_unit_test(test_stream_refuse), cmocka_unit_test(test_journal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
