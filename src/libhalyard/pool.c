/* Thread pool: a mutex-protected job queue, worker threads started on demand, and an eventfd
 * that wakes the event loop to run completions in submission-independent order. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct pool_job {
    struct pool_job *next;
    pool_fn *work, *done;
    void *arg;
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct pool_job *queue_head, *queue_tail; /* waiting to run */
    struct pool_job *done_head;               /* finished, completion not yet run */
    pthread_t *threads;
    unsigned max_threads, nthreads, idle, pending;
    bool stopping;
    int efd;
    sd_event_source *source;
};

static void *pool_thread(void *arg)
{
    struct pool *pool = arg;

    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->queue_head == NULL && !pool->stopping) {
            pool->idle++;
            pthread_cond_wait(&pool->cond, &pool->lock);
            pool->idle--;
        }
        if (pool->queue_head == NULL)
            break;
        struct pool_job *job = pool->queue_head;
        pool->queue_head = job->next;
        if (pool->queue_head == NULL)
            pool->queue_tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        job->work(job->arg);

        pthread_mutex_lock(&pool->lock);
        job->next = pool->done_head;
        pool->done_head = job;
        uint64_t one = 1;
        if (write(pool->efd, &one, sizeof(one)) < 0) {
            /* the counter cannot overflow in practice; the loop drains it on every wakeup */
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

static void pool_run_done(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    struct pool_job *list = pool->done_head;
    pool->done_head = NULL;
    pthread_mutex_unlock(&pool->lock);

    /* the list is newest first; run completions oldest first */
    struct pool_job *rev = NULL;
    while (list != NULL) {
        struct pool_job *next = list->next;
        list->next = rev;
        rev = list;
        list = next;
    }
    while (rev != NULL) {
        struct pool_job *next = rev->next;
        pool->pending--;
        rev->done(rev->arg);
        free(rev);
        rev = next;
    }
}

static int pool_on_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
    uint64_t n;

    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        return 0;
    pool_run_done(userdata);
    return 0;
}

int pool_new(sd_event *event, unsigned max_threads, struct pool **pool_r)
{
    struct pool *pool = calloc(1, sizeof(*pool));
    int r;

    if (pool == NULL)
        return -ENOMEM;
    pool->max_threads = max_threads > 0 ? max_threads : 1;
    pool->threads = calloc(pool->max_threads, sizeof(*pool->threads));
    pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (pool->threads == NULL || pool->efd < 0) {
        r = pool->efd < 0 ? -errno : -ENOMEM;
        goto fail;
    }
    r = sd_event_add_io(event, &pool->source, pool->efd, EPOLLIN, pool_on_event, pool);
    if (r < 0)
        goto fail;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->cond, NULL);
    *pool_r = pool;
    return 0;
fail:
    if (pool->efd >= 0)
        close(pool->efd);
    free(pool->threads);
    free(pool);
    return r;
}

int pool_submit(struct pool *pool, pool_fn *work, pool_fn *done, void *arg)
{
    struct pool_job *job = malloc(sizeof(*job));

    if (job == NULL)
        return -ENOMEM;
    *job = (struct pool_job){.work = work, .done = done, .arg = arg};
    pthread_mutex_lock(&pool->lock);
    if (pool->queue_tail != NULL)
        pool->queue_tail->next = job;
    else
        pool->queue_head = job;
    pool->queue_tail = job;
    pool->pending++;
    if (pool->idle == 0 && pool->nthreads < pool->max_threads &&
        pthread_create(&pool->threads[pool->nthreads], NULL, pool_thread, pool) == 0)
        pool->nthreads++;
    if (pool->nthreads == 0) {
        /* no thread could start: take the job back rather than leave it queued forever */
        pool->queue_head = pool->queue_tail = NULL;
        pool->pending--;
        pthread_mutex_unlock(&pool->lock);
        free(job);
        return -EAGAIN;
    }
    pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->lock);
    return 0;
}

unsigned pool_pending(const struct pool *pool)
{
    return pool->pending;
}

void pool_free(struct pool **poolp)
{
    struct pool *pool = *poolp;

    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    pool_run_done(pool);
    sd_event_source_disable_unref(pool->source);
    close(pool->efd);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->cond);
    free(pool->threads);
    free(pool);
    *poolp = NULL;
}
