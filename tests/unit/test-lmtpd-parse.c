/* LMTP command lines and the DATA decoder: table-driven, and the decoder fed byte by byte must
 * give the same body as when fed whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lmtpd-parse.h"

struct line_case {
    const char *input;
    enum lmtp_parse_result result;
    int verb;
    const char *arg;
    const char *reply_prefix; /* for errors */
    uint64_t size;
};

static const struct line_case line_cases[] = {
    {"LHLO mx.example.org\r\n", LMTP_PARSE_OK, LMTP_LHLO, "mx.example.org", NULL, 0},
    {"lhlo x\n", LMTP_PARSE_OK, LMTP_LHLO, "x", NULL, 0},
    {"LHLO\r\n", LMTP_PARSE_ERROR, 0, NULL, "501 ", 0},
    {"MAIL FROM:<a@b.example>\r\n", LMTP_PARSE_OK, LMTP_MAIL, "a@b.example", NULL, 0},
    {"MAIL FROM:<>\r\n", LMTP_PARSE_OK, LMTP_MAIL, "", NULL, 0},
    {"mail from: <a@b> SIZE=1234 BODY=8BITMIME\r\n", LMTP_PARSE_OK, LMTP_MAIL, "a@b", NULL, 1234},
    {"MAIL FROM:<a@b> SIZE=12x\r\n", LMTP_PARSE_ERROR, 0, NULL, "501 ", 0},
    {"MAIL FROM:<a@b> FOO=1\r\n", LMTP_PARSE_ERROR, 0, NULL, "555 ", 0},
    {"MAIL FROM:<a@b\r\n", LMTP_PARSE_ERROR, 0, NULL, "501 5.1.7", 0},
    {"MAIL TO:<a@b>\r\n", LMTP_PARSE_ERROR, 0, NULL, "501 ", 0},
    {"RCPT TO:<alice@example.org>\r\n", LMTP_PARSE_OK, LMTP_RCPT, "alice@example.org", NULL, 0},
    {"RCPT TO:<alice+lists@example.org>\r\n", LMTP_PARSE_OK, LMTP_RCPT, "alice+lists@example.org",
     NULL, 0},
    {"RCPT TO:<\"odd name\"@example.org>\r\n", LMTP_PARSE_OK, LMTP_RCPT, "\"odd name\"@example.org",
     NULL, 0},
    {"RCPT TO:<@relay.example:bob@example.org>\r\n", LMTP_PARSE_OK, LMTP_RCPT, "bob@example.org",
     NULL, 0},
    {"RCPT TO:<>\r\n", LMTP_PARSE_ERROR, 0, NULL, "501 5.1.7", 0},
    {"RCPT TO:<nodomain>\r\n", LMTP_PARSE_ERROR, 0, NULL, "501 5.1.7", 0},
    {"RCPT TO:<a b@c>\r\n", LMTP_PARSE_ERROR, 0, NULL, "501 5.1.7", 0},
    {"RCPT TO:<a@b> SIZE=1\r\n", LMTP_PARSE_ERROR, 0, NULL, "555 ", 0},
    {"DATA\r\n", LMTP_PARSE_OK, LMTP_DATA, "", NULL, 0},
    {"DATA now\r\n", LMTP_PARSE_ERROR, 0, NULL, "501 ", 0},
    {"NOOP\r\n", LMTP_PARSE_OK, LMTP_NOOP, "", NULL, 0},
    {"NOOP anything\r\n", LMTP_PARSE_OK, LMTP_NOOP, "", NULL, 0},
    {"RSET\r\n", LMTP_PARSE_OK, LMTP_RSET, "", NULL, 0},
    {"QUIT\r\n", LMTP_PARSE_OK, LMTP_QUIT, "", NULL, 0},
    {"EHLO x\r\n", LMTP_PARSE_OK, LMTP_HELO, "", NULL, 0},
    {"FROB\r\n", LMTP_PARSE_ERROR, 0, NULL, "500 5.5.1", 0},
    {"\r\n", LMTP_PARSE_ERROR, 0, NULL, "500 5.5.1", 0},
    {"NO\0OP\r\n", LMTP_PARSE_NEED_MORE, 0, NULL, NULL, 0}, /* strlen stops at NUL */
    {"RCPT TO:<a@b>", LMTP_PARSE_NEED_MORE, 0, NULL, NULL, 0},
};

static void check_line(const struct line_case *tc, size_t len)
{
    struct lmtp_cmd cmd;
    size_t used;
    const char *reply;
    enum lmtp_parse_result r = lmtp_parse_line(tc->input, len, &cmd, &used, &reply);

    assert_int_equal(r, tc->result);
    if (r == LMTP_PARSE_OK) {
        assert_int_equal(cmd.verb, tc->verb);
        assert_string_equal(cmd.arg, tc->arg);
        assert_int_equal(cmd.size, tc->size);
        assert_int_equal(used, len);
    } else if (r == LMTP_PARSE_ERROR) {
        assert_non_null(reply);
        assert_memory_equal(reply, tc->reply_prefix, strlen(tc->reply_prefix));
        assert_int_equal(used, len);
    } else {
        assert_int_equal(used, 0);
    }
}

static void test_lines(void **state)
{
    for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
        const struct line_case *tc = &line_cases[i];
        size_t len = strlen(tc->input);
        for (size_t n = 0; n < len && tc->result != LMTP_PARSE_NEED_MORE; n++) {
            struct lmtp_cmd cmd;
            size_t used;
            const char *reply;
            if (memchr(tc->input, '\n', n) != NULL)
                break;
            assert_int_equal(lmtp_parse_line(tc->input, n, &cmd, &used, &reply),
                             LMTP_PARSE_NEED_MORE);
        }
        check_line(tc, len);
    }
}

static void test_nul_in_line(void **state)
{
    static const char line[] = "NO\0OP\r\n";
    struct lmtp_cmd cmd;
    size_t used;
    const char *reply;

    assert_int_equal(lmtp_parse_line(line, sizeof(line) - 1, &cmd, &used, &reply),
                     LMTP_PARSE_ERROR);
    assert_int_equal(used, sizeof(line) - 1);
}

static void test_too_long(void **state)
{
    char *buf = malloc(LMTP_LINE_MAX + 1);
    struct lmtp_cmd cmd;
    size_t used;
    const char *reply;

    memset(buf, 'a', LMTP_LINE_MAX + 1);
    assert_int_equal(lmtp_parse_line(buf, LMTP_LINE_MAX + 1, &cmd, &used, &reply),
                     LMTP_PARSE_TOO_LONG);
    free(buf);
}

struct data_case {
    const char *input;
    const char *body;
    size_t used; /* input bytes that belong to the data (0 = all, not done) */
};

static const struct data_case data_cases[] = {
    {"Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n", "Subject: x\r\n\r\nhello\r\n", 24},
    {"..leading dot\r\n.\r\n", ".leading dot\r\n", 18},
    {".\r\n", "", 3},
    {"bare\nlf\n.\n", "bare\r\nlf\r\n", 10},
    {"a\rb\r\n.\r\n", "a\rb\r\n", 8},
    {".\rX\r\n.\r\n", "\rX\r\n", 8},
    {"no end\r\n", "no end\r\n", 0},
    {"x\r\n..\r\n.\r\n", "x\r\n.\r\n", 10},
    {"x\r\n.y\r\n.\r\n", "x\r\ny\r\n", 10},
};

static void run_data(const struct data_case *tc, size_t chunk)
{
    size_t len = strlen(tc->input), pos = 0, blen = 0;
    char *body = calloc(1, 2 * len + 1);
    struct lmtp_data d;

    lmtp_data_init(&d);
    while (pos < len && !d.done) {
        size_t n = len - pos < chunk ? len - pos : chunk;
        char out[64];
        size_t olen;
        assert_true(n <= sizeof(out) / 2);
        size_t used = lmtp_data_feed(&d, tc->input + pos, n, out, &olen);
        assert_true(used == n || d.done);
        memcpy(body + blen, out, olen);
        blen += olen;
        pos += used;
    }
    assert_int_equal(d.done, tc->used != 0);
    if (tc->used != 0)
        assert_int_equal(pos, tc->used);
    assert_int_equal(blen, strlen(tc->body));
    assert_memory_equal(body, tc->body, blen);
    assert_int_equal(d.size, blen);
    free(body);
}

static void test_data(void **state)
{
    for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
        run_data(&data_cases[i], 1);
        run_data(&data_cases[i], 3);
        run_data(&data_cases[i], 32);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_nul_in_line),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
