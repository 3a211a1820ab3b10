/* Concurrent writers: 4 processes with 4 threads each deliver into one user at once. Every
 * delivery must succeed, every UID be unique and dense, every body hold what was sent to it,
 * and the mailbox counters and quota usage add up. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-test.h"

#define PROCS      4
#define THREADS    4
#define PER_THREAD 25
#define TOTAL      (PROCS * THREADS * PER_THREAD)

struct writer {
    struct store *st;
    int proc, thread;
    int failures;
};

/* A body that says who sent it, with a size that varies so the byte count is checked too. */
static void writer_text(char *buf, size_t size, int proc, int thread, int i)
{
    int n = snprintf(buf, size, "Subject: p%d t%d n%d\n\nmarker p%d t%d n%d\n", proc, thread, i,
                     proc, thread, i);

    for (int k = 0; k < (proc * 7 + thread * 3 + i) % 50 && (size_t)n + 2 < size; k++)
        buf[n++] = 'x';
    buf[n] = '\0';
}

static void *writer_run(void *arg)
{
    struct writer *w = arg;
    char text[256];

    for (int i = 0; i < PER_THREAD; i++) {
        struct store_spool *sp;
        struct store_delivery d = {.user = "shared"};
        struct store_error err;

        writer_text(text, sizeof(text), w->proc, w->thread, i);
        if (store_spool_create(w->st, &sp, &err) != STORE_OK ||
            store_spool_write(sp, text, strlen(text), &err) != STORE_OK ||
            store_spool_finish(sp, 0, 0, &err) != STORE_OK) {
            w->failures++;
            continue;
        }
        d.spool = sp;
        if (store_deliver(w->st, &d, 1) != STORE_OK || d.uid == 0) {
            fprintf(stderr, "p%d t%d: %s\n", w->proc, w->thread, d.err.msg);
            w->failures++;
        }
        store_spool_free(&sp);
    }
    return NULL;
}

/* One process: THREADS writers on one shared handle; the exit status counts failures. */
static int process_run(struct store *st, int proc)
{
    pthread_t th[THREADS];
    struct writer w[THREADS];
    int failures = 0;

    for (int t = 0; t < THREADS; t++) {
        w[t] = (struct writer){st, proc, t, 0};
        if (pthread_create(&th[t], NULL, writer_run, &w[t]) != 0)
            return 100;
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        failures += w[t].failures;
    }
    return failures > 99 ? 99 : failures;
}

static void test_four_processes_four_threads(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;
    struct store_mailbox mb;
    struct store_usage usage;
    struct store_msg *msgs;
    size_t n;
    pid_t pids[PROCS];
    bool seen[PROCS][THREADS][PER_THREAD] = {{{false}}};
    uint64_t bytes = 0;
    char text[256];

    store_set_lock_timeout(st, 120000);
    assert_int_equal(store_home_ensure(st, "shared", &err), STORE_OK);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0)
            _exit(process_run(st, p));
    }
    for (int p = 0; p < PROCS; p++) {
        int status;

        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }

    assert_int_equal(store_mailbox_get(st, "shared", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, TOTAL);
    assert_int_equal(mb.uidnext, TOTAL + 1);
    assert_int_equal(mb.unseen, TOTAL);
    assert_int_equal(store_msg_list(st, "shared", mb.id, 1, 0, &msgs, &n, &err), STORE_OK);
    assert_int_equal(n, TOTAL);
    for (size_t i = 0; i < n; i++) {
        int p, t, k;
        char *body;

        assert_int_equal(msgs[i].uid, i + 1); /* unique, dense, ascending */
        body = test_body_read(st, "shared", mb.id, msgs[i].uid);
        assert_int_equal(sscanf(body, "Subject: p%d t%d n%d", &p, &t, &k), 3);
        assert_true(p >= 0 && p < PROCS && t >= 0 && t < THREADS && k >= 0 && k < PER_THREAD);
        assert_false(seen[p][t][k]);
        seen[p][t][k] = true;
        /* the body is exactly what that writer sent, with CRLF line ends */
        writer_text(text, sizeof(text), p, t, k);
        assert_int_equal(msgs[i].size, strlen(text) + 3);
        assert_non_null(strstr(body, "marker"));
        bytes += msgs[i].size;
        free(body);
    }
    assert_true(bytes == mb.bytes);
    assert_int_equal(store_usage_get(st, "shared", &usage, &err), STORE_OK);
    assert_true(usage.bytes == bytes);
    assert_int_equal(usage.messages, TOTAL);
    store_msg_list_free(&msgs, n);
    store_mailbox_clear(&mb);
    test_store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_processes_four_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
