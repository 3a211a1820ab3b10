/* SORT's pure half (RFC 5256): base subjects (section 2.1, with RFC 2047 words), sort criteria
 * lists, sort keys read from ENVELOPE texts, i;ascii-casemap and the ordering with its ties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-parse.h"
#include "imapd-sort.h"

struct subject_case {
    const char *raw, *base;
};

static const struct subject_case subject_cases[] = {
    {"hello", "hello"},
    {"", ""},
    {"Re: hello", "hello"},
    {"RE: Re: re:hello", "hello"},
    {"Fwd: hello", "hello"},
    {"FW: hello", "hello"},
    {"fw:hello", "hello"},
    {"re : hello", "hello"},
    {"Re[2]: hello", "hello"},
    {"Re [2]: hello", "hello"},
    {"Re:", ""},
    {"Re: Re: (fwd)", ""},
    {"Refactor the parser", "Refactor the parser"},
    {"Re hello", "Re hello"},
    {"Fwdx: hello", "Fwdx: hello"},
    {"[list] Re: hello", "hello"},
    {"[list] hello", "hello"},
    {"[list]", "[list]"},
    {"[list]   ", "[list]"},
    {"[a][b] hello", "hello"},
    {"[x] Fwd: [y] hello", "hello"},
    {"[a[b] hello", "[a[b] hello"},
    {"hello (fwd)", "hello"},
    {"hello (FWD) (fwd)  ", "hello"},
    {"hello(fwd)", "hello"},
    {"(fwd) hello", "(fwd) hello"},
    {"[fwd: hello]", "hello"},
    {"[Fwd: Re: hello (fwd)]", "hello"},
    {"Re: [fwd: [list] Re: hello]", "hello"},
    {"[fwd: [fwd: hello] ]", "hello"},
    {"[fwd:]", "[fwd:]"},
    {"[fwd:  ]", "[fwd: ]"},
    {"[FWD:x]", "x"},
    {"  hello \t  world  ", "hello world"},
    {"hello\r\n\tworld", "hello world"},
    {"=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9"},
    {"Re: =?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9"},
    {"=?ISO-8859-1?Q?Re=3A_caf=E9?=", "caf\xc3\xa9"},
    {"=?utf-8?B?UmU6IFtsaXN0XSBoZWxsbw==?=", "hello"},
    {"Re: caf\xc3\xa9", "caf\xc3\xa9"},
};

static void test_base_subject(void **state)
{
    for (size_t i = 0; i < sizeof(subject_cases) / sizeof(subject_cases[0]); i++) {
        char *base = imap_sort_base_subject(subject_cases[i].raw);
        assert_non_null(base);
        if (strcmp(base, subject_cases[i].base) != 0)
            fail_msg("\"%s\": got \"%s\", want \"%s\"", subject_cases[i].raw, base,
                     subject_cases[i].base);
        free(base);
    }
    char *base = imap_sort_base_subject(NULL);
    assert_string_equal(base, "");
    free(base);
}

static struct imap_cmd *parse(const char *in)
{
    struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, NULL);
    struct imap_parse_out out;
    size_t used, off = 0, len = strlen(in);
    enum imap_parse_result r;

    while ((r = imap_parser_feed(p, in + off, len - off, &used, &out)) == IMAP_PARSE_CONTINUE)
        off += used;
    assert_int_equal(r, IMAP_PARSE_DONE);
    imap_parser_free(&p);
    return out.cmd;
}

struct criteria_case {
    const char *args; /* after "a SORT " */
    int n;            /* criteria, or -1 */
    const char *want; /* keys as letters, lower case when reversed; or the error */
};

#define ARR4 "ARRIVAL ARRIVAL ARRIVAL ARRIVAL"

static const struct criteria_case criteria_cases[] = {
    {"(DATE)", 1, "D"},
    {"(reverse date subject)", 2, "dS"},
    {"(ARRIVAL CC DATE FROM SIZE SUBJECT TO)", 7, "ACDFZST"},
    {"(REVERSE ARRIVAL REVERSE SIZE TO)", 3, "azT"},
    {"()", -1, "Sort criteria must be a parenthesised list of sort keys"},
    {"DATE", -1, "Sort criteria must be a parenthesised list of sort keys"},
    {"(REVERSE)", -1, "REVERSE must be followed by a sort key"},
    {"(DATE REVERSE)", -1, "REVERSE must be followed by a sort key"},
    {"(REVERSE REVERSE DATE)", -1, "REVERSE must be followed by a sort key"},
    {"(DATE FROBNICATE)", -1, "Unknown sort key"},
    {"(DATE \"SUBJECT\")", -1, "Sort criteria must be sort keys (atoms)"},
    {"((DATE))", -1, "Sort criteria must be sort keys (atoms)"},
    {"(" ARR4 " " ARR4 " " ARR4 " " ARR4 ")", 16, "AAAAAAAAAAAAAAAA"},
    {"(" ARR4 " " ARR4 " " ARR4 " " ARR4 " SIZE)", -1, "Too many sort criteria"},
};

static void test_criteria(void **state)
{
    static const char letters[] = "ACDFZST"; /* enum order */

    for (size_t i = 0; i < sizeof(criteria_cases) / sizeof(criteria_cases[0]); i++) {
        const struct criteria_case *c = &criteria_cases[i];
        char line[256], got[IMAP_SORT_CRITERIA_MAX + 1] = "";
        struct imap_sort_criterion crit[IMAP_SORT_CRITERIA_MAX];
        const char *why = NULL;

        snprintf(line, sizeof(line), "a SORT %s\r\n", c->args);
        struct imap_cmd *cmd = parse(line);
        int n = imap_sort_criteria_parse(cmd->args, crit, &why);
        assert_int_equal(n, c->n);
        if (n < 0) {
            assert_string_equal(why, c->want);
        } else {
            for (int k = 0; k < n; k++) {
                got[k] = letters[crit[k].key];
                if (crit[k].reverse)
                    got[k] = (char)(got[k] - 'A' + 'a');
            }
            assert_string_equal(got, c->want);
        }
        imap_cmd_free(&cmd);
    }
    struct imap_sort_criterion size = {IMAP_SORT_SIZE, false},
                               both[] = {{IMAP_SORT_ARRIVAL, 1}, {IMAP_SORT_CC, 0}};
    assert_false(imap_sort_needs_envelope(&size, 1));
    assert_true(imap_sort_needs_envelope(both, 2));
    assert_true(imap_sort_charset_ok("UTF-8"));
    assert_true(imap_sort_charset_ok("us-ascii"));
    assert_false(imap_sort_charset_ok("ISO-8859-1"));
    assert_false(imap_sort_charset_ok("UTF8"));
}

struct envelope_case {
    const char *envelope;
    int rc;
    int64_t date; /* with arrival 1000 */
    const char *from, *to, *cc, *subject;
};

static const struct envelope_case envelope_cases[] = {
    {"(\"Fri, 27 Nov 2026 10:00:00 +0000\" \"Re: hi\" ((\"Sender\" NIL \"s\" \"example.org\")) "
     "((\"Sender\" NIL \"s\" \"example.org\")) ((\"Sender\" NIL \"s\" \"example.org\")) "
     "((NIL NIL \"alice\" \"example.org\")(NIL NIL \"bob\" \"x\")) NIL NIL NIL \"<id@x>\")",
     0, 1795773600, "s", "alice", "", "hi"},
    /* another zone is the same instant in UTC */
    {"(\"Fri, 27 Nov 2026 12:00:00 +0200\" NIL NIL NIL NIL NIL ((NIL NIL \"c\" \"d\")) NIL NIL "
     "NIL)",
     0, 1795773600, "", "", "c", ""},
    /* no Date, or one that does not parse: INTERNALDATE (RFC 5256 2.2) */
    {"(NIL \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)", 0, 1000, "", "", "", "x"},
    {"(\"not a date at all\" \"x\" NIL NIL NIL NIL NIL NIL NIL NIL)", 0, 1000, "", "", "", "x"},
    /* a literal subject with 8-bit text, escapes in quoted strings, a group before an address */
    {"(NIL {13}\r\nRe: caf\xc3\xa9 \"x\" ((\"a \\\"q\\\" b\" NIL \"q\\\\uote\" \"h\")) NIL NIL "
     "((NIL NIL \"team\" NIL)(NIL NIL \"carol\" \"x\")(NIL NIL NIL NIL)) NIL NIL NIL NIL)",
     0, 1000, "q\\uote", "carol", "", "caf\xc3\xa9 \"x\""},
    /* an address without a mailbox part */
    {"(NIL NIL ((NIL NIL NIL \"h\")) NIL NIL NIL NIL NIL NIL NIL)", 0, 1000, "", "", "", ""},
    /* not an envelope: empty keys, arrival as date */
    {"garbage", -1, 1000, "", "", "", ""},
    {"(\"unterminated", -1, 1000, "", "", "", ""},
    {"(NIL {99}\r\nshort)", -1, 1000, "", "", "", ""},
    {"(NIL NIL ((NIL NIL \"a\" \"b\") NIL", -1, 1000, "", "", "", ""},
    {"", -1, 1000, "", "", "", ""},
    {NULL, -1, 1000, "", "", "", ""},
};

static void test_envelope(void **state)
{
    for (size_t i = 0; i < sizeof(envelope_cases) / sizeof(envelope_cases[0]); i++) {
        const struct envelope_case *c = &envelope_cases[i];
        struct imap_sort_msg m = {.arrival = 1000};

        assert_int_equal(imap_sort_msg_from_envelope(&m, c->envelope), c->rc);
        assert_int_equal(m.date, c->date);
        assert_string_equal(m.from, c->from);
        assert_string_equal(m.to, c->to);
        assert_string_equal(m.cc, c->cc);
        assert_string_equal(m.subject, c->subject);
        imap_sort_msg_clear(&m);
        assert_null(m.subject);
    }
}

static void test_casemap(void **state)
{
    assert_int_equal(imap_sort_casemap_cmp("abc", "ABC"), 0);
    assert_true(imap_sort_casemap_cmp("a", "B") < 0);
    assert_true(imap_sort_casemap_cmp("B", "a") > 0);
    assert_true(imap_sort_casemap_cmp("ab", "abc") < 0);
    assert_true(imap_sort_casemap_cmp("", "a") < 0);
    /* 'a' maps to 'A' (0x41), below '[' (0x5b) and '_' (0x5f) */
    assert_true(imap_sort_casemap_cmp("a", "[") < 0);
    assert_true(imap_sort_casemap_cmp("z", "_") < 0);
    /* only ASCII is folded: octets above 0x7f compare as they are */
    assert_true(imap_sort_casemap_cmp("\xc3\xa9", "z") > 0);
    assert_true(imap_sort_casemap_cmp("\xc3\xa9", "\xc3\x89") != 0);
}

static void test_order(void **state)
{
    struct imap_sort_msg msgs[] = {
        {.seq = 1, .arrival = 30, .date = 5, .size = 10, .from = "b", .subject = "x"},
        {.seq = 2, .arrival = 10, .date = 5, .size = 30, .from = "A", .subject = "y"},
        {.seq = 3, .arrival = 20, .date = 1, .size = 10, .from = "a", .subject = "X"},
        {.seq = 4, .arrival = 20, .date = 9, .size = 20, .from = "c", .subject = "x"},
        {.seq = 5, .arrival = 10, .date = 5, .size = 10, .from = "B", .subject = "w"},
    };
    static const struct {
        struct imap_sort_criterion crit[2];
        size_t n;
        uint32_t want[5];
    } cases[] = {
        {{{IMAP_SORT_ARRIVAL, false}}, 1, {2, 5, 3, 4, 1}},
        {{{IMAP_SORT_ARRIVAL, true}}, 1, {1, 3, 4, 2, 5}}, /* ties stay in sequence order */
        {{{IMAP_SORT_DATE, false}}, 1, {3, 1, 2, 5, 4}},
        {{{IMAP_SORT_SIZE, true}, {IMAP_SORT_DATE, true}}, 2, {2, 4, 1, 5, 3}},
        {{{IMAP_SORT_FROM, false}}, 1, {2, 3, 1, 5, 4}},
        {{{IMAP_SORT_SUBJECT, false}, {IMAP_SORT_ARRIVAL, true}}, 2, {5, 1, 3, 4, 2}},
        {{{IMAP_SORT_CC, false}}, 1, {1, 2, 3, 4, 5}}, /* NULL sorts as "" */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct imap_sort_msg m[5];
        memcpy(m, msgs, sizeof(m));
        imap_sort_msgs(m, 5, cases[i].crit, cases[i].n);
        for (size_t k = 0; k < 5; k++)
            if (m[k].seq != cases[i].want[k])
                fail_msg("case %zu: position %zu is %u, want %u", i, k, m[k].seq, cases[i].want[k]);
    }
    imap_sort_msgs(msgs, 0, cases[0].crit, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_subject), cmocka_unit_test(test_criteria),
        cmocka_unit_test(test_envelope),     cmocka_unit_test(test_casemap),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
