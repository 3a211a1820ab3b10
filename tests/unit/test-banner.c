/* banner_expand: the seed's %h %p %P %V substitutions and protocol safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "banner.h"

static void test_expand(void **state)
{
    static const struct {
        const char *tmpl, *want;
    } cases[] = {
        {"%h %p service (%P %V)", "mail.example.com IMAP4 service (Halyard 1.2)"},
        {"plain text", "plain text"},
        {"100%% sure", "100% sure"},
        {"%x %", "%x %"},
        {"", ""},
        {"line\r\nbreak\tx", "line  break x"},
        {"%h%h", "mail.example.commail.example.com"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = banner_expand(cases[i].tmpl, "mail.example.com", "IMAP4", "Halyard", "1.2");
        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_expand)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
