/* ENVELOPE, BODYSTRUCTURE and BODY as computed at delivery, against hand-checked RFC 3501
 * 7.4.2 answers: defaults, groups, encoded names, literals, multipart offsets, nested
 * messages, digests, broken boundaries and deep nesting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store-mime.h"
#include "store-private.h"

struct mime_case {
    const char *msg;
    const char *envelope, *bodystructure, *body; /* NULL: not checked */
    uint32_t header_size;
};

static const struct mime_case cases[] = {
    /* Sender and Reply-To default to From; the body is 14 octets in 2 lines */
    {"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: Hi\r\n"
     "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <1@x>\r\n\r\nHello\r\nWorld\r\n",
     "(\"Mon, 1 Jan 2024 10:00:00 +0000\" \"Hi\" ((\"Alice\" NIL \"alice\" \"example.com\")) "
     "((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Alice\" NIL \"alice\" \"example.com\")) "
     "((NIL NIL \"bob\" \"example.org\")) NIL NIL NIL \"<1@x>\")",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 14 2 NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 14 2)", 126},
    /* groups: the name in the mailbox field, host NIL; an end marker after the members; an
     * 8-bit subject as a literal; a decoded non-ASCII name goes back out as RFC 2047 */
    {"From: =?utf-8?q?J=C3=B6rg?= <j@x.de>\r\nTo: undisclosed-recipients:;\r\n"
     "Cc: Team: a@x, \"B \\\"q\\\"\" <b@y>;, c@z\r\nReply-To: r@x\r\nSubject: caf\xc3\xa9\r\n\r\n",
     "(NIL {5}\r\ncaf\xc3\xa9 ((\"=?UTF-8?b?SsO2cmc=?=\" NIL \"j\" \"x.de\")) "
     "((\"=?UTF-8?b?SsO2cmc=?=\" NIL \"j\" \"x.de\")) ((NIL NIL \"r\" \"x\")) "
     "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
     "((NIL NIL \"Team\" NIL)(NIL NIL \"a\" \"x\")(\"B \\\"q\\\"\" NIL \"b\" \"y\")"
     "(NIL NIL NIL NIL)(NIL NIL \"c\" \"z\")) NIL NIL NIL)",
     NULL, NULL, 139},
    /* multipart: the CRLF before a delimiter is not part of the body; preamble and epilogue
     * are in no part; extension data only in BODYSTRUCTURE */
    {"Content-Type: multipart/Mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\n\r\nplain\r\n"
     "--XX\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n"
     "Content-Disposition: attachment; filename=a.pdf\r\nContent-Language: en, de\r\n"
     "Content-ID: <c1>\r\nContent-Description: the file\r\n\r\nQUJD\r\n--XX--\r\nepilogue\r\n",
     "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 5 1 NIL NIL NIL NIL)"
     "(\"application\" \"pdf\" (\"name\" \"a.pdf\") \"<c1>\" \"the file\" \"base64\" 4 NIL "
     "(\"attachment\" (\"filename\" \"a.pdf\")) (\"en\" \"de\") NIL) \"Mixed\" "
     "(\"boundary\" \"XX\") NIL NIL NIL)",
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 5 1)"
     "(\"application\" \"pdf\" (\"name\" \"a.pdf\") \"<c1>\" \"the file\" \"base64\" 4) "
     "\"Mixed\")",
     48},
    /* message/rfc822: envelope and structure of the inner message, lines of all of it */
    {"Content-Type: message/rfc822\r\n\r\nSubject: inner\r\n"
     "Content-Type: text/html; charset=utf-8\r\nContent-Language: fr\r\n\r\n<p>x</p>\r\n",
     NULL,
     "(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 90 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL "
     "NIL) (\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 10 1 NIL NIL \"fr\" NIL) 5 "
     "NIL NIL NIL NIL)",
     "(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 90 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL "
     "NIL) (\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7BIT\" 10 1) 5)",
     32},
    /* all header, no blank line: an empty text body */
    {"Subject: nobody", "(NIL \"nobody\" NIL NIL NIL NIL NIL NIL NIL NIL)",
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)", NULL,
     15},
    /* in a digest a part without Content-Type is message/rfc822 */
    {"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: in digest\r\n\r\n"
     "body\r\n--d--\r\n",
     NULL,
     "((\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 26 (NIL \"in digest\" NIL NIL NIL NIL NIL NIL "
     "NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 4 1 NIL NIL NIL "
     "NIL) 3 NIL NIL NIL NIL) \"digest\" (\"boundary\" \"d\") NIL NIL NIL)",
     NULL, 46},
    /* no closing delimiter: the last part runs to the end; "--bb" is not the delimiter "--b" */
    {"Content-Type: multipart/alternative; boundary=b\n\n--b\n\none\n--bb\n--b\n\ntwo\n", NULL,
     NULL,
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 8 2)"
     "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 4 1) \"alternative\")",
     49},
    /* a multipart that never shows its boundary gets one empty text part */
    {"Content-Type: multipart/mixed; boundary=zz\r\n\r\njust text\r\n", NULL, NULL,
     "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0) \"mixed\")", 46},
    /* folded header fields are unfolded; a quoted-printable message/rfc822 stays opaque */
    {"Subject: a\r\n  folded\r\n\tline\r\nContent-Type: message/rfc822\r\n"
     "Content-Transfer-Encoding: quoted-printable\r\n\r\nx=3D\r\n",
     "(NIL \"a  folded\tline\" NIL NIL NIL NIL NIL NIL NIL NIL)", NULL,
     "(\"message\" \"rfc822\" NIL NIL NIL \"quoted-printable\" 6)", 106},
};

static void test_mime_cases(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct store_mime m;
        uint32_t hs;

        store_mime_compute(cases[i].msg, strlen(cases[i].msg), &m, &hs);
        if (cases[i].envelope)
            assert_string_equal(m.envelope, cases[i].envelope);
        if (cases[i].bodystructure)
            assert_string_equal(m.bodystructure, cases[i].bodystructure);
        if (cases[i].body)
            assert_string_equal(m.body, cases[i].body);
        assert_int_equal(hs, cases[i].header_size);
        store_mime_clear(&m);
    }
}

/* Nesting past the limit still gives balanced output, with the deep parts opaque. */
static void test_mime_deep(void **state)
{
    struct store_buf msg = {0};
    struct store_mime m;
    uint32_t hs;
    int depth = 0;

    for (int i = 0; i < STORE_MIME_MAX_DEPTH + 20; i++)
        store_buf_printf(&msg, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i,
                         i);
    store_buf_adds(&msg, "\r\ndeep\r\n");
    store_mime_compute((const char *)msg.data, msg.len, &m, &hs);
    for (const char *p = m.bodystructure; *p; p++) {
        depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
        assert_true(depth >= 0);
    }
    assert_int_equal(depth, 0);
    assert_non_null(strstr(m.bodystructure, "\"multipart\" \"mixed\""));
    store_mime_clear(&m);
    store_buf_free(&msg);
}

/* An empty message is a valid, empty text/plain. */
static void test_mime_empty(void **state)
{
    struct store_mime m;
    uint32_t hs;

    store_mime_compute("", 0, &m, &hs);
    assert_string_equal(m.envelope, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    assert_string_equal(m.body,
                        "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7BIT\" 0 0)");
    assert_int_equal(hs, 0);
    store_mime_clear(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mime_cases),
        cmocka_unit_test(test_mime_deep),
        cmocka_unit_test(test_mime_empty),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
