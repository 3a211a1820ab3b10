/* The lock bound: a call waits for an index held by another process or thread, retrying with
 * back-off, and fails with STORE_EBUSY once the bound has passed - never sooner, never much
 * later. Also the errno-to-error mapping callers turn into replies. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-test.h"
#include "store-tx.h"

static long ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

struct hold {
    unsigned ms;
    int tell_fd; /* a byte is written here once the lock is held */
};

static enum store_err hold_fn(struct store_tx *tx, void *ctx, struct store_error *err)
{
    struct hold *h = ctx;

    if (write(h->tell_fd, "x", 1) != 1)
        return STORE_EIO;
    usleep(h->ms * 1000);
    return STORE_OK;
}

/* Holds the user's index with a write transaction for ms milliseconds. */
static enum store_err hold_index(struct store *st, unsigned ms, int tell_fd)
{
    struct store_userctx u;
    struct hold h = {ms, tell_fd};
    enum store_err rc = store_userctx_init(&u, st, "locky", NULL);

    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_WRITE, hold_fn, &h, NULL);
    store_userctx_free(&u);
    return rc;
}

static void test_busy_across_processes(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;
    struct store_mailbox mb;
    struct timespec t0;
    int pipefd[2], status;
    char c;
    pid_t pid;

    assert_int_equal(store_home_ensure(st, "locky", &err), STORE_OK);
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(hold_index(st, 1500, pipefd[1]) == STORE_OK ? 0 : 1);
    assert_int_equal(read(pipefd[0], &c, 1), 1); /* the child holds the lock now */
    store_set_lock_timeout(st, 300);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(store_mailbox_get(st, "locky", "INBOX", &mb, &err), STORE_EBUSY);
    long waited = ms_since(&t0);
    assert_true(waited >= 290 && waited < 1200);
    assert_int_equal(err.code, STORE_EBUSY);
    /* a bound longer than the hold gets through once the holder is done */
    store_set_lock_timeout(st, 10000);
    assert_int_equal(store_mailbox_get(st, "locky", "INBOX", &mb, &err), STORE_OK);
    store_mailbox_clear(&mb);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(pipefd[0]);
    close(pipefd[1]);
    test_store_free(&st);
}

struct holder {
    struct store *st;
    int tell_fd;
};

static void *holder_run(void *arg)
{
    struct holder *h = arg;

    hold_index(h->st, 1000, h->tell_fd);
    return NULL;
}

/* Threads of one process queue on the path before Tokyo Cabinet sees them; the bound holds
 * there too. */
static void test_busy_across_threads(void **state)
{
    int pipefd[2];
    struct holder h = {test_store_new(), -1};
    struct store_error err;
    struct store_usage usage;
    struct timespec t0;
    pthread_t th;
    char c;

    assert_int_equal(pipe(pipefd), 0);
    h.tell_fd = pipefd[1];
    assert_int_equal(store_home_ensure(h.st, "locky", &err), STORE_OK);
    assert_int_equal(pthread_create(&th, NULL, holder_run, &h), 0);
    assert_int_equal(read(pipefd[0], &c, 1), 1); /* the thread holds the lock now */
    store_set_lock_timeout(h.st, 200);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(store_usage_get(h.st, "locky", &usage, &err), STORE_EBUSY);
    long waited = ms_since(&t0);
    assert_true(waited >= 190 && waited < 800);
    /* other users' indexes are not held up */
    assert_int_equal(test_deliver(h.st, "other", NULL, "Subject: s\n\nx\n", NULL, NULL), STORE_OK);
    pthread_join(th, NULL);
    assert_int_equal(store_usage_get(h.st, "locky", &usage, &err), STORE_OK);
    close(pipefd[0]);
    close(pipefd[1]);
    test_store_free(&h.st);
}

/* The instant between a writer creating an index and locking it: an empty file. Readers take
 * it for "nothing yet", and the next writer fills it in. */
static void test_empty_index_file(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;
    struct store_mailbox *mbs;
    struct store_userctx u;
    size_t n;
    int fd;

    assert_int_equal(store_userctx_init(&u, st, "early", &err), STORE_OK);
    assert_int_equal(store_mkdirs(u.home, &err), STORE_OK);
    fd = open(u.index, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(store_mailbox_list(st, "early", NULL, &mbs, &n, &err), STORE_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_home_ensure(st, "early", &err), STORE_OK);
    assert_int_equal(store_mailbox_list(st, "early", NULL, &mbs, &n, &err), STORE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(mbs[0].name, "INBOX");
    store_mailbox_list_free(&mbs, n);
    store_userctx_free(&u);
    test_store_free(&st);
}

static void test_errno_mapping(void **state)
{
    static const struct {
        int errnum;
        enum store_err code;
    } cases[] = {
        {ENOSPC, STORE_ENOSPC}, {EDQUOT, STORE_ENOSPC}, {ENOENT, STORE_ENOTFOUND},
        {EEXIST, STORE_EEXIST}, {EACCES, STORE_EIO},    {EIO, STORE_EIO},
    };
    struct store_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        assert_int_equal(store_fail_errno(&err, cases[i].errnum, "write %s", "x"), cases[i].code);
        assert_int_equal(err.code, cases[i].code);
        assert_true(strncmp(err.msg, "write x: ", 9) == 0);
    }
    assert_string_equal(store_err_name(STORE_EQUOTA), "over quota");
    assert_string_equal(store_err_name(STORE_EBUSY), "busy");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_busy_across_processes),
        cmocka_unit_test(test_busy_across_threads),
        cmocka_unit_test(test_empty_index_file),
        cmocka_unit_test(test_errno_mapping),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
