/* SEARCH programs: every key parsed into its tree (shown with imap_search_dump), CHARSET,
 * literals, the errors and the nesting bound (deep programs are BAD, not a stack overflow);
 * dates; case folding and the chunked substring search split at every octet (header fields:
 * tests/unit/store/test-store-hfield.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imapd-arena.h"
#include "imapd-parse.h"
#include "imapd-search.h"

/* Large enough for the deep programs below. */
static const struct imap_parser_limits roomy = {
    .line_max = 1u << 20,
    .literal_max = 65536,
    .stream_max = 65536,
    .discard_max = 65536,
    .depth_max = 100000,
    .args_max = 1u << 20,
};

/* "a SEARCH <program>\r\n" through the command parser (literals included). */
static struct imap_cmd *parse_cmd(const char *program)
{
    struct imap_parser *p = imap_parser_new(&roomy, NULL);
    struct imap_parse_out out;
    size_t used, off = 0, len;
    enum imap_parse_result r;
    char *in;

    assert_true(asprintf(&in, "a SEARCH%s%s\r\n", program[0] ? " " : "", program) > 0);
    len = strlen(in);
    while ((r = imap_parser_feed(p, in + off, len - off, &used, &out)) == IMAP_PARSE_CONTINUE)
        off += used;
    assert_int_equal(r, IMAP_PARSE_DONE);
    imap_parser_free(&p);
    free(in);
    return out.cmd;
}

/* The dump of the parsed program, "BAD <why>[: what]" or "BADCHARSET". Caller frees. */
static char *search_text(const char *program, bool charset_allowed, unsigned depth_max)
{
    struct imap_cmd *cmd = parse_cmd(program);
    struct imap_search_program prog;
    const char *why = NULL, *what = NULL;
    char *text = NULL;

    switch (
        imap_search_parse(cmd->args, charset_allowed, depth_max, cmd->arena, &prog, &why, &what)) {
    case IMAP_SEARCH_OK: {
        size_t n = imap_search_dump(prog.root, NULL, 0);
        text = malloc(n + 1);
        assert_non_null(text);
        assert_int_equal(imap_search_dump(prog.root, text, n + 1), n);
        assert_true(prog.nkeys > 0);
        break;
    }
    case IMAP_SEARCH_BAD:
        assert_non_null(why);
        assert_true(asprintf(&text, "BAD %s%s%s", why, what ? ": " : "", what ? what : "") > 0);
        break;
    case IMAP_SEARCH_BADCHARSET:
        text = strdup("BADCHARSET");
        break;
    }
    imap_cmd_free(&cmd);
    return text;
}

struct search_case {
    const char *program;
    const char *expect;
};

static const struct search_case cases[] = {
    {"ALL", "(AND ALL)"},
    {"all Seen UNSEEN", "(AND ALL SEEN UNSEEN)"},
    {"ANSWERED UNANSWERED DELETED UNDELETED", "(AND ANSWERED UNANSWERED DELETED UNDELETED)"},
    {"DRAFT UNDRAFT FLAGGED UNFLAGGED", "(AND DRAFT UNDRAFT FLAGGED UNFLAGGED)"},
    {"RECENT NEW OLD", "(AND RECENT (AND RECENT UNSEEN) (NOT RECENT))"},
    {"FROM joe TO \"a b\" CC c BCC d SUBJECT e",
     "(AND (HEADER \"FROM\" \"joe\") (HEADER \"TO\" \"a b\") (HEADER \"CC\" \"c\") "
     "(HEADER \"BCC\" \"d\") (HEADER \"SUBJECT\" \"e\"))"},
    {"HEADER X-Spam \"\" header \"Reply-To\" x",
     "(AND (HEADER \"X-Spam\" \"\") (HEADER \"Reply-To\" \"x\"))"},
    {"BODY hello TEXT \"\"", "(AND (BODY \"hello\") (TEXT \"\"))"},
    {"SUBJECT {5}\r\ncaf\xc3\xa9", "(AND (HEADER \"SUBJECT\" \"caf\\xc3\\xa9\"))"},
    {"TO {3+}\r\nabc SEEN", "(AND (HEADER \"TO\" \"abc\") SEEN)"},
    {"CHARSET UTF-8 BODY {2}\r\n\xc3\xa9", "(AND (BODY \"\\xc3\\xa9\"))"},
    {"charset \"us-ascii\" text x", "(AND (TEXT \"x\"))"},
    {"KEYWORD $Junk UNKEYWORD foo", "(AND (KEYWORD $Junk) (NOT (KEYWORD foo)))"},
    {"KEYWORD \\Seen UNKEYWORD \\flagged KEYWORD \\Recent UNKEYWORD \\Recent",
     "(AND SEEN UNFLAGGED RECENT (NOT RECENT))"},
    {"LARGER 0 SMALLER 18446744073709551615", "(AND (LARGER 0) (SMALLER 18446744073709551615))"},
    {"BEFORE 1-Feb-1994 ON 29-feb-2024 SINCE \"01-JAN-1970\"",
     "(AND (BEFORE 1994-02-01) (ON 2024-02-29) (SINCE 1970-01-01))"},
    {"SENTBEFORE 31-Dec-1969 SENTON 29-Feb-2000 SENTSINCE 1-Mar-2100",
     "(AND (SENTBEFORE 1969-12-31) (SENTON 2000-02-29) (SENTSINCE 2100-03-01))"},
    {"1:3,5:* UID 4,2:* *", "(AND (SEQ 1:3,5:*) (UID 4:4,2:*) (SEQ *:*))"},
    {"OR SEEN (FLAGGED DRAFT)", "(AND (OR SEEN (AND FLAGGED DRAFT)))"},
    {"OR OR SEEN DRAFT NOT FROM x", "(AND (OR (OR SEEN DRAFT) (NOT (HEADER \"FROM\" \"x\"))))"},
    {"NOT NOT DELETED (SEEN) ((1))", "(AND (NOT (NOT DELETED)) (AND SEEN) (AND (AND (SEQ 1:1))))"},
    /* errors */
    {"", "BAD Missing search keys"},
    {"CHARSET", "BAD Missing charset"},
    {"CHARSET (UTF-8) ALL", "BAD Missing charset"},
    {"CHARSET UTF-8", "BAD Missing search keys"},
    {"CHARSET KOI8-R ALL", "BADCHARSET"},
    {"CHARSET \"\" ALL", "BADCHARSET"},
    {"CHARSET KOI8-R FROB", "BAD Unknown search key: FROB"},
    {"ALL CHARSET UTF-8", "BAD Unknown search key: CHARSET"},
    {"FROB", "BAD Unknown search key: FROB"},
    {"NIL", "BAD Unknown search key: NIL"},
    {"\"SEEN\"", "BAD Expected a search key, not a string"},
    {"FROM", "BAD Missing or invalid argument to search key: FROM"},
    {"FROM (a)", "BAD Missing or invalid argument to search key: FROM"},
    {"HEADER Subject", "BAD Missing or invalid argument to search key: HEADER"},
    {"HEADER \"\" x", "BAD Missing or invalid argument to search key: HEADER"},
    {"BEFORE", "BAD Missing or invalid argument to search key: BEFORE"},
    {"BEFORE 30-Feb-2024", "BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"},
    {"BEFORE 29-Feb-1900", "BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"},
    {"ON 1-Feb-94", "BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"},
    {"ON 001-Feb-1994", "BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"},
    {"ON 0-Feb-1994", "BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"},
    {"ON 1-Fev-1994", "BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"},
    {"ON 1/Feb/1994", "BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"},
    {"SINCE \"1-Feb-1994 \"", "BAD Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)"},
    {"LARGER", "BAD Invalid number for search key: LARGER"},
    {"LARGER x", "BAD Invalid number for search key: LARGER"},
    {"SMALLER -1", "BAD Invalid number for search key: SMALLER"},
    {"SMALLER 18446744073709551616", "BAD Invalid number for search key: SMALLER"},
    {"LARGER \"5\"", "BAD Invalid number for search key: LARGER"},
    {"KEYWORD", "BAD Missing or invalid argument to search key: KEYWORD"},
    {"KEYWORD \"x y\"", "BAD Missing or invalid argument to search key: KEYWORD"},
    {"KEYWORD \\Frob", "BAD KEYWORD takes a keyword or a system flag"},
    {"NOT", "BAD Missing operand of search key: NOT"},
    {"OR SEEN", "BAD Missing operand of search key: OR"},
    {"SEEN ()", "BAD Empty list of search keys"},
    {"UID", "BAD Missing or invalid argument to search key: UID"},
    {"UID (1)", "BAD Missing or invalid argument to search key: UID"},
    {"UID 0", "BAD Invalid sequence number 0"},
    {"0", "BAD Invalid sequence number 0"},
    {"1:x", "BAD Invalid sequence set"},
    {"4294967296", "BAD Sequence number too large"},
};

static void test_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = search_text(cases[i].program, true, IMAP_SEARCH_DEPTH_MAX);
        if (strcmp(got, cases[i].expect) != 0)
            fail_msg("program %s\n  got    %s\n  wanted %s", cases[i].program, got,
                     cases[i].expect);
        free(got);
    }
}

/* SORT names its charset itself: there CHARSET is no key. */
static void test_no_charset(void **state)
{
    char *got = search_text("CHARSET UTF-8 ALL", false, IMAP_SEARCH_DEPTH_MAX);

    assert_string_equal(got, "BAD Unknown search key: CHARSET");
    free(got);
}

static char *repeat(const char *head, unsigned n, const char *mid, const char *tail)
{
    size_t hl = strlen(head), ml = strlen(mid), tl = strlen(tail);
    char *s = malloc(hl * n + ml + tl * n + 1), *p = s;

    assert_non_null(s);
    for (unsigned i = 0; i < n; i++, p += hl)
        memcpy(p, head, hl);
    memcpy(p, mid, ml);
    p += ml;
    for (unsigned i = 0; i < n; i++, p += tl)
        memcpy(p, tail, tl);
    *p = '\0';
    return s;
}

/* Each NOT, OR and list adds one level; depth_max levels pass, one more is BAD. Programs far
 * deeper than the stack could bear come back BAD as well. */
static void test_depth(void **state)
{
    static const struct {
        const char *head, *mid, *tail;
    } shapes[] = {{"NOT ", "SEEN", ""},
                  {"(", "SEEN", ")"},
                  {"OR ", "SEEN", " DRAFT"},
                  {"NOT (", "SEEN", ")"}};
    const char *bad = "BAD Search keys nested too deeply";

    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        unsigned per = i == 3 ? 2 : 1; /* levels per repetition */
        for (unsigned max = 1; max <= 6; max++) {
            char *ok = repeat(shapes[i].head, max / per, shapes[i].mid, shapes[i].tail);
            char *deep = repeat(shapes[i].head, max / per + 1, shapes[i].mid, shapes[i].tail);
            char *got = search_text(ok, true, max);
            assert_true(strncmp(got, "(AND", 4) == 0);
            free(got);
            got = search_text(deep, true, max);
            assert_string_equal(got, bad);
            free(got);
            free(ok);
            free(deep);
        }
        char *huge = repeat(shapes[i].head, 50000, shapes[i].mid, shapes[i].tail);
        char *got = search_text(huge, true, IMAP_SEARCH_DEPTH_MAX);
        assert_string_equal(got, bad);
        free(got);
        free(huge);
    }
    /* many keys side by side are not deep */
    char *wide = repeat("SEEN ", 50000, "ALL", "");
    char *got = search_text(wide, true, 1);
    assert_true(strncmp(got, "(AND SEEN SEEN", 14) == 0);
    free(got);
    free(wide);
}

static void test_dates(void **state)
{
    int32_t d;

    assert_int_equal(imap_search_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(imap_search_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(imap_search_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(imap_search_day_of(0), 0);
    assert_int_equal(imap_search_day_of(86399), 0);
    assert_int_equal(imap_search_day_of(86400), 1);
    assert_int_equal(imap_search_day_of(-1), -1);
    assert_int_equal(imap_search_day_of(-86400), -1);
    assert_int_equal(imap_search_day_of(-86401), -2);
    assert_int_equal(imap_search_parse_date("1-Feb-1994", 10, &d), 0);
    assert_int_equal(d, imap_search_days_from_civil(1994, 2, 1));
    assert_int_equal(imap_search_parse_date("29-Feb-2000", 11, &d), 0);
    assert_int_equal(imap_search_parse_date("31-Apr-2000", 11, &d), -1);
    assert_int_equal(imap_search_parse_date("1-Feb-1994", 9, &d), -1);
    assert_int_equal(imap_search_parse_date("", 0, &d), -1);
}

static char *fold(const char *s, bool final, size_t *used_r)
{
    size_t len = strlen(s);
    char *out = calloc(2 * len + 1, 1);

    assert_non_null(out);
    out[imap_search_fold(s, len, out, used_r, final)] = '\0';
    return out;
}

static void test_fold(void **state)
{
    static const struct {
        const char *in, *out;
    } tcases[] = {
        {"HeLLo, World 09", "hello, world 09"},
        {"\xc3\x89\x43LAIR", "\xc3\xa9\x63lair"},                 /* ÉCLAIR */
        {"\xc5\xbf", "s"},                                        /* long s */
        {"\xe2\x84\xaa", "k"},                                    /* Kelvin sign */
        {"\xce\xa3\xce\xb1\xcf\x82", "\xcf\x83\xce\xb1\xcf\x83"}, /* Σας: final sigma too */
        {"\xff\xfe x \xc3", "\xff\xfe x \xc3"},                   /* not UTF-8: as it is */
        {"\xc8\xba", "\xe2\xb1\xa5"},                             /* 2 octets become 3 */
    };
    size_t used;

    for (size_t i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++) {
        char *got = fold(tcases[i].in, true, &used);
        assert_string_equal(got, tcases[i].out);
        assert_int_equal(used, strlen(tcases[i].in));
        free(got);
    }
    /* an incomplete character at the end waits unless final */
    char *got = fold("ab\xe2\x84", false, &used);
    assert_string_equal(got, "ab");
    assert_int_equal(used, 2);
    free(got);
}

static bool chunked(const char *needle, const char *text, const size_t *cuts, size_t ncuts)
{
    struct imap_search_matcher m;
    size_t at = 0, len = strlen(text);
    bool found;

    assert_int_equal(imap_search_matcher_init(&m, needle, strlen(needle)), 0);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        imap_search_matcher_feed(&m, text + at, end - at);
        at = end;
    }
    found = imap_search_matcher_end(&m);
    imap_search_matcher_free(&m);
    return found;
}

/* Every split into two and three chunks, and one octet at a time, finds what the whole text
 * gives. */
static void test_matcher(void **state)
{
    static const struct {
        const char *needle, *text;
        bool found;
    } tcases[] = {
        {"caf\xc3\xa9", "menu: CAF\xc3\x89 au lait", true},
        {"\xc3\xa9\x63lair", "un \xc3\x89\x43LAIR", true},
        {"clair", "un \xc3\x89\x43LAIR", true},
        {"hello", "HELL\r\nO", false},
        {"", "", true},
        {"", "anything", true},
        {"x", "", false},
        {"needle", "needl", false},
        {"\xe2\x84\xaa\x65y", "the KEY", true},
        {"\xff", "a\xff", true},
        {"\xc3", "a\xc3", true}, /* an incomplete character at the end is matched as it is */
        {"ab",
         "\xe2\x84"
         "ab",
         true},
    };

    for (size_t i = 0; i < sizeof(tcases) / sizeof(tcases[0]); i++) {
        size_t len = strlen(tcases[i].text);
        assert_int_equal(chunked(tcases[i].needle, tcases[i].text, NULL, 0), tcases[i].found);
        for (size_t a = 0; a <= len; a++) {
            assert_int_equal(chunked(tcases[i].needle, tcases[i].text, &a, 1), tcases[i].found);
            for (size_t b = a; b <= len; b++) {
                size_t cuts[2] = {a, b};
                assert_int_equal(chunked(tcases[i].needle, tcases[i].text, cuts, 2),
                                 tcases[i].found);
            }
        }
        size_t cuts[64];
        for (size_t k = 0; k < len && k < 64; k++)
            cuts[k] = k + 1;
        assert_int_equal(chunked(tcases[i].needle, tcases[i].text, cuts, len < 64 ? len : 64),
                         tcases[i].found);
    }
    /* reset: no match across two texts */
    struct imap_search_matcher m;
    assert_int_equal(imap_search_matcher_init(&m, "ab", 2), 0);
    imap_search_matcher_feed(&m, "xa", 2);
    imap_search_matcher_reset(&m);
    assert_false(imap_search_matcher_feed(&m, "bx", 2));
    assert_false(imap_search_matcher_end(&m));
    imap_search_matcher_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table), cmocka_unit_test(test_no_charset),
        cmocka_unit_test(test_depth), cmocka_unit_test(test_dates),
        cmocka_unit_test(test_fold),  cmocka_unit_test(test_matcher),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
