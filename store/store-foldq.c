/* Folding journals on one background thread per process, so that no client waits for it: a
 * user whose journal has grown is queued once, folded, then forgotten. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "store-private.h"

/* Users waiting for a fold. When it is full a request is dropped: the journal is then folded
 * by the next writer, or by a change once it passes the store's hard bound. */
#define FOLD_QUEUE 256

static pthread_mutex_t fold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fold_cond = PTHREAD_COND_INITIALIZER;
static char fold_queue[FOLD_QUEUE][STORE_USER_MAX + 1];
static unsigned fold_head, fold_len;
static struct store *fold_store;
static bool fold_started;

static void fold_failed(struct store *st, const char *user, const struct store_error *err)
{
    char line[STORE_USER_MAX + STORE_ERRMSG_MAX + 64];

    if (st->fold_error == NULL)
        return;
    snprintf(line, sizeof(line), "folding the journal of %s: %s", user, err->msg);
    st->fold_error(line);
}

static void *fold_main(void *arg)
{
    char user[STORE_USER_MAX + 1];
    struct store_error err;

    (void)arg;
    for (;;) {
        pthread_mutex_lock(&fold_mu);
        while (fold_len == 0)
            pthread_cond_wait(&fold_cond, &fold_mu);
        memcpy(user, fold_queue[fold_head], sizeof(user));
        fold_head = (fold_head + 1) % FOLD_QUEUE;
        fold_len--;
        pthread_mutex_unlock(&fold_mu);
        if (store_fold(fold_store, user, &err) != STORE_OK)
            fold_failed(fold_store, user, &err);
    }
    return NULL;
}

void store_set_fold_error(struct store *st, store_fold_error_fn *fn)
{
    st->fold_error = fn;
}

void store_fold_later(struct store *st, const char *user)
{
    pthread_t t;
    pthread_attr_t attr;

    pthread_mutex_lock(&fold_mu);
    if (!fold_started) {
        fold_store = st;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        fold_started = pthread_create(&t, &attr, fold_main, NULL) == 0;
        pthread_attr_destroy(&attr);
    }
    for (unsigned i = 0; i < fold_len; i++)
        if (strcmp(fold_queue[(fold_head + i) % FOLD_QUEUE], user) == 0)
            goto out;
    if (!fold_started) {
        /* no thread: fold now rather than never */
        pthread_mutex_unlock(&fold_mu);
        struct store_error err;
        if (store_fold(st, user, &err) != STORE_OK)
            fold_failed(st, user, &err);
        return;
    }
    if (fold_len < FOLD_QUEUE && st == fold_store) {
        snprintf(fold_queue[(fold_head + fold_len) % FOLD_QUEUE], STORE_USER_MAX + 1, "%s", user);
        fold_len++;
        pthread_cond_signal(&fold_cond);
    }
out:
    pthread_mutex_unlock(&fold_mu);
}
