/* The shipped socket units carry the table's defaults: drop-ins are only written for values an
 * administrator set, so a ListenStream= that differs from the default would go unnoticed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "params.h"

/* The port of a ListenStream= value: "143", "0.0.0.0:143", "[::]:143". */
static const char *port_of(const char *value)
{
    const char *colon = strrchr(value, ':');

    return colon != NULL ? colon + 1 : value;
}

/* Checks every ListenStream= of one socket file against the row; returns how many it saw. */
static int check_socket(const char *path, const struct param *p)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int seen = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "ListenStream=", 13) != 0)
            continue;
        seen++;
        if (strcmp(port_of(line + 13), p->def) != 0)
            fail_msg("%s: %s, but %s defaults to %s", path, line, p->name, p->def);
    }
    fclose(f);
    return seen;
}

static void test_socket_defaults(void **state)
{
    const char *dir = getenv("HALYARD_UNITS_DIR");
    int files = 0;

    assert_non_null(dir);
    for (size_t i = 0; i < param_count; i++) {
        const struct param *p = &param_table[i];
        char path[4096];
        int seen;

        if (p->dropin != DROPIN_LISTEN)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, p->unit);
        seen = check_socket(path, p);
        if (seen < 0)
            continue; /* that daemon's units land with it */
        if (seen == 0)
            fail_msg("%s has no ListenStream=", path);
        files++;
    }
    /* halyard-imap.socket and halyard-imaps.socket ship with the first daemon. */
    assert_true(files >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_socket_defaults)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
