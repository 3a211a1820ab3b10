/* The thread pool: every job runs once, off the loop thread, never more than max_threads at
 * a time, and every completion runs on the loop thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool.h"

#define JOBS        200
#define MAX_THREADS 3

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int running, max_running, done_count;
static pthread_t loop_thread;
static sd_event *event;

struct job {
    int ran;
    pthread_t ran_on;
};

static void job_work(void *arg)
{
    struct job *j = arg;

    pthread_mutex_lock(&lock);
    if (++running > max_running)
        max_running = running;
    pthread_mutex_unlock(&lock);
    usleep(200);
    j->ran++;
    j->ran_on = pthread_self();
    pthread_mutex_lock(&lock);
    running--;
    pthread_mutex_unlock(&lock);
}

static void job_done(void *arg)
{
    struct job *j = arg;

    assert_true(pthread_equal(pthread_self(), loop_thread));
    assert_false(pthread_equal(j->ran_on, loop_thread));
    assert_int_equal(j->ran, 1);
    if (++done_count == JOBS)
        sd_event_exit(event, 0);
}

static void test_pool(void **state)
{
    static struct job jobs[JOBS];
    struct pool *pool;

    loop_thread = pthread_self();
    assert_int_equal(sd_event_new(&event), 0);
    assert_int_equal(pool_new(event, MAX_THREADS, &pool), 0);
    for (int i = 0; i < JOBS; i++)
        assert_int_equal(pool_submit(pool, job_work, job_done, &jobs[i]), 0);
    assert_int_equal(pool_pending(pool), JOBS);
    assert_int_equal(sd_event_loop(event), 0);
    assert_int_equal(done_count, JOBS);
    assert_int_equal(pool_pending(pool), 0);
    assert_true(max_running >= 1 && max_running <= MAX_THREADS);
    pool_free(&pool);
    assert_null(pool);
    sd_event_unref(event);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pool)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
