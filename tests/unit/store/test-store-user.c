/* The embedded user table and mailuser: add, password checks (yescrypt, wrong, unknown, none),
 * passwd, set, list, del, and the mailuser commands with their exit statuses and messages. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailuser.h"
#include "store-private.h"
#include "store-test.h"
#include "store-user.h"

static int setup(void **state)
{
    *state = test_store_new();
    return 0;
}

static int teardown(void **state)
{
    struct store *st = *state;

    test_store_free(&st);
    return 0;
}

static void test_add_and_check(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_user u = {
        .name = "Alice", .quota_bytes = 1000, .quota_messages = 10, .services = "+imap:ALL"};
    struct store_user got;

    assert_int_equal(store_user_add(st, &u, "s3cret pass", &err), STORE_OK);
    assert_int_equal(store_user_add(st, &u, "other", &err), STORE_EEXIST);
    assert_int_equal(store_user_get(st, "ALICE", &got, &err), STORE_OK);
    assert_string_equal(got.name, "alice");
    assert_int_equal(got.status, STORE_USER_ACTIVE);
    assert_true(got.quota_bytes == 1000 && got.quota_messages == 10);
    assert_string_equal(got.services, "+imap:ALL");
    assert_true(got.has_password);
    store_user_clear(&got);

    /* the hash on disk is yescrypt and never the password, in a file only the owner reads */
    char *path = store_path_users(st);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    FILE *f = fopen(path, "rb");
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    free(path);
    assert_non_null(memmem(buf, n, "$y$", 3));
    assert_null(memmem(buf, n, "s3cret", 6));

    assert_int_equal(store_user_check_password(st, "alice", "s3cret pass", &got, &err), STORE_OK);
    assert_string_equal(got.name, "alice");
    store_user_clear(&got);
    assert_int_equal(store_user_check_password(st, "alice", "s3cret", NULL, &err), STORE_EDENIED);
    assert_null(strstr(err.msg, "s3cret"));
    assert_int_equal(store_user_check_password(st, "alice", "", NULL, &err), STORE_EDENIED);
    assert_int_equal(store_user_check_password(st, "alice", NULL, NULL, &err), STORE_EDENIED);
    assert_int_equal(store_user_check_password(st, "mallory", "s3cret pass", NULL, &err),
                     STORE_ENOTFOUND);

    struct store_user bad = {.name = "bad/name"};
    assert_int_equal(store_user_add(st, &bad, "x", &err), STORE_EINVAL);
    struct store_user empty = {.name = "nopw"};
    assert_int_equal(store_user_add(st, &empty, "", &err), STORE_EINVAL);
    assert_int_equal(store_user_add(st, &empty, NULL, &err), STORE_OK);
    assert_int_equal(store_user_check_password(st, "nopw", "", NULL, &err), STORE_EDENIED);
    assert_int_equal(store_user_check_password(st, "nopw", "anything", NULL, &err), STORE_EDENIED);
}

static void test_passwd_set_list_del(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_user u = {.name = "bob"}, c = {.name = "carol"}, got, *all;
    size_t n;

    assert_int_equal(store_user_list(st, &all, &n, &err), STORE_OK); /* no table yet */
    assert_int_equal(n, 0);
    assert_int_equal(store_user_add(st, &u, "first", &err), STORE_OK);
    assert_int_equal(store_user_add(st, &c, "carolpw", &err), STORE_OK);
    assert_int_equal(store_user_passwd(st, "bob", "second", &err), STORE_OK);
    assert_int_equal(store_user_check_password(st, "bob", "first", NULL, &err), STORE_EDENIED);
    assert_int_equal(store_user_check_password(st, "bob", "second", NULL, &err), STORE_OK);
    assert_int_equal(store_user_passwd(st, "nobody", "x", &err), STORE_ENOTFOUND);

    u.status = STORE_USER_HOLD;
    u.quota_bytes = 5;
    u.services = "-pop:*";
    assert_int_equal(store_user_set(st, &u, STORE_USER_SET_STATUS | STORE_USER_SET_SERVICES, &err),
                     STORE_OK);
    assert_int_equal(store_user_get(st, "bob", &got, &err), STORE_OK);
    assert_int_equal(got.status, STORE_USER_HOLD);
    assert_true(got.quota_bytes == 0); /* not in the field mask */
    assert_string_equal(got.services, "-pop:*");
    store_user_clear(&got);
    /* set keeps the password */
    assert_int_equal(store_user_check_password(st, "bob", "second", NULL, &err), STORE_OK);

    assert_int_equal(store_user_list(st, &all, &n, &err), STORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].name, "bob");
    assert_string_equal(all[1].name, "carol");
    store_user_list_free(&all, n);

    assert_int_equal(store_user_passwd(st, "bob", NULL, &err), STORE_OK);
    assert_int_equal(store_user_check_password(st, "bob", "second", NULL, &err), STORE_EDENIED);
    assert_int_equal(store_user_del(st, "bob", &err), STORE_OK);
    assert_int_equal(store_user_del(st, "bob", &err), STORE_ENOTFOUND);
    assert_int_equal(store_user_get(st, "bob", &got, &err), STORE_ENOTFOUND);
    assert_int_equal(store_user_check_password(st, "carol", "carolpw", NULL, &err), STORE_OK);

    /* inetUserStatus beside mailUserStatus: the first that is not active decides */
    struct store_user v = {
        .name = "carol", .status = STORE_USER_HOLD, .inet_status = STORE_USER_DELETED};
    assert_int_equal(
        store_user_set(st, &v, STORE_USER_SET_STATUS | STORE_USER_SET_INET_STATUS, &err), STORE_OK);
    assert_int_equal(store_user_get(st, "carol", &got, &err), STORE_OK);
    assert_int_equal(got.inet_status, STORE_USER_DELETED);
    assert_int_equal(store_user_effective_status(&got), STORE_USER_DELETED);
    store_user_clear(&got);
    v.inet_status = STORE_USER_ACTIVE;
    assert_int_equal(store_user_set(st, &v, STORE_USER_SET_INET_STATUS, &err), STORE_OK);
    assert_int_equal(store_user_get(st, "carol", &got, &err), STORE_OK);
    assert_int_equal(store_user_effective_status(&got), STORE_USER_HOLD);
    store_user_clear(&got);
    v.inet_status = STORE_USER_HOLD; /* not an inetUserStatus value */
    assert_int_equal(store_user_set(st, &v, STORE_USER_SET_INET_STATUS, &err), STORE_EINVAL);
    v.status = (enum store_user_status)(STORE_USER_STATUS_LAST + 1);
    assert_int_equal(store_user_set(st, &v, STORE_USER_SET_STATUS, &err), STORE_EINVAL);

    enum store_user_status s;
    assert_true(store_user_status_parse("removed", &s));
    assert_int_equal(s, STORE_USER_REMOVED);
    assert_string_equal(store_user_status_name(STORE_USER_DELETED), "deleted");
    assert_true(store_user_status_parse("disabled", &s));
    assert_int_equal(s, STORE_USER_DISABLED);
    assert_false(store_user_status_parse("Active", &s));
    assert_string_equal(store_user_status_name(STORE_USER_INACTIVE), "inactive");
}

/* ---- mailuser ---- */

struct run {
    int status;
    char out[4096], err[4096];
};

/* Runs `mailuser ARGS` on st with stdin_text (NULL: none) as standard input. */
static void run_cli(struct store *st, struct run *r, const char *stdin_text, ...)
{
    char *argv[16];
    int argc = 0, pfd[2], saved = dup(STDIN_FILENO);
    FILE *out = tmpfile(), *errf = tmpfile();
    va_list ap;

    va_start(ap, stdin_text);
    while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    argv[argc] = NULL;
    assert_int_equal(pipe(pfd), 0);
    if (stdin_text != NULL)
        assert_int_equal(write(pfd[1], stdin_text, strlen(stdin_text)),
                         (ssize_t)strlen(stdin_text));
    close(pfd[1]);
    dup2(pfd[0], STDIN_FILENO);
    close(pfd[0]);
    r->status = mailuser_run(st, argc, argv, out, errf);
    dup2(saved, STDIN_FILENO);
    close(saved);
    rewind(out);
    rewind(errf);
    r->out[fread(r->out, 1, sizeof(r->out) - 1, out)] = '\0';
    r->err[fread(r->err, 1, sizeof(r->err) - 1, errf)] = '\0';
    fclose(out);
    fclose(errf);
}

static void test_mailuser_cli(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_user got;
    struct run r;

    run_cli(st, &r, "pw one\n", "add", "Dave", "--password-stdin", "--quota-bytes", "2M",
            "--services", "+imap:ALL", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "added dave\n");
    assert_int_equal(store_user_check_password(st, "dave", "pw one", NULL, &err), STORE_OK);
    assert_int_equal(store_home_exists(st, "dave", &err), STORE_OK); /* INBOX made too */

    run_cli(st, &r, "pw\n", "add", "dave", "--password-stdin", NULL);
    assert_int_equal(r.status, MAILUSER_EXIT_FAIL);
    assert_non_null(strstr(r.err, "already exists"));

    run_cli(st, &r, NULL, "show", "dave", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(
        r.out, "name: dave\nstatus: active\ninet-status: active\npassword: set (yescrypt)\n"));
    assert_non_null(strstr(r.out, "quota.bytes: 2097152\nquota.messages: unlimited\n"));
    assert_non_null(strstr(r.out, "services: +imap:ALL\n"));
    assert_non_null(strstr(r.out, "mailboxes: 1\n"));
    assert_null(strstr(r.out, "pw one"));

    run_cli(st, &r, NULL, "set", "dave", "--status", "inactive", "--quota-messages", "50", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(store_user_get(st, "dave", &got, &err), STORE_OK);
    assert_int_equal(got.status, STORE_USER_INACTIVE);
    assert_true(got.quota_messages == 50 && got.quota_bytes == 2097152);
    store_user_clear(&got);

    run_cli(st, &r, "pw two\r\n", "passwd", "dave", "--password-stdin", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(store_user_check_password(st, "dave", "pw two", NULL, &err), STORE_OK);

    run_cli(st, &r, NULL, "list", NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "dave inactive\n");

    /* usage errors come before anything is changed */
    static const char *const bad[][4] = {
        {"set", "dave", NULL},
        {"set", "dave", "--status", "gone"},
        {"add", "x", "--quota-bytes", "lots"},
        {"show", NULL},
        {"frob", "dave"},
        {"del", "dave", "--password-stdin"},
        {"list", "extra"},
        {"set", "dave", "--services", "imap:ALL"},
        {"set", "dave", "--services", "+imap:*.example.com"},
        {"set", "dave", "--inet-status", "disabled"},
        {"set", "dave", "--status", "overquota"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        run_cli(st, &r, NULL, bad[i][0], bad[i][1], bad[i][2], bad[i][3], NULL);
        assert_int_equal(r.status, MAILUSER_EXIT_USAGE);
        assert_true(strlen(r.err) > 0);
    }
    run_cli(st, &r, NULL, "set", "dave", "--services", "+imap:ALL EXCEPT", NULL);
    assert_non_null(strstr(r.err, "--services \"+imap:ALL EXCEPT\": EXCEPT needs a list after it"));
    assert_int_equal(store_user_get(st, "dave", &got, &err), STORE_OK);
    assert_string_equal(got.services, "+imap:ALL"); /* unchanged */
    store_user_clear(&got);
    run_cli(st, &r, NULL, "set", "dave", "--inet-status", "inactive", "--services", "", NULL);
    assert_int_equal(r.status, 0);
    run_cli(st, &r, NULL, "list", NULL);
    assert_string_equal(r.out, "dave inactive inet-status=inactive\n");
    run_cli(st, &r, "", "add", "erin", "--password-stdin", NULL);
    assert_int_equal(r.status, MAILUSER_EXIT_FAIL); /* no password on stdin */
    assert_int_equal(store_user_get(st, "erin", &got, &err), STORE_ENOTFOUND);
    run_cli(st, &r, NULL, "show", "nobody", NULL);
    assert_int_equal(r.status, MAILUSER_EXIT_FAIL);

    /* del removes the mail too, unless --keep-mail */
    run_cli(st, &r, NULL, "del", "dave", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(store_home_exists(st, "dave", &err), STORE_ENOTFOUND);
    run_cli(st, &r, NULL, "add", "frank", "--no-password", NULL);
    assert_int_equal(r.status, 0);
    run_cli(st, &r, NULL, "del", "frank", "--keep-mail", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(store_home_exists(st, "frank", &err), STORE_OK);
    run_cli(st, &r, NULL, "del", "frank", NULL);
    assert_int_equal(r.status, MAILUSER_EXIT_FAIL);
}

static void test_parse_size(void **state)
{
    static const struct {
        const char *in;
        bool ok;
        uint64_t v;
    } cases[] = {
        {"0", true, 0},
        {"1024", true, 1024},
        {"100K", true, 102400},
        {"20m", true, 20971520},
        {"2G", true, 2147483648ull},
        {"1T", true, 1099511627776ull},
        {"", false, 0},
        {"-1", false, 0},
        {"10KB", false, 0},
        {"K", false, 0},
        {"99999999999999999999", false, 0},
        {"17179869184G", false, 0},
    };
    uint64_t v;

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        assert_int_equal(mailuser_parse_size(cases[i].in, &v), cases[i].ok);
        if (cases[i].ok)
            assert_true(v == cases[i].v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_and_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passwd_set_list_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mailuser_cli, setup, teardown),
        cmocka_unit_test(test_parse_size),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
