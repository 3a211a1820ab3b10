/* The subscription table: a hash of keys, each with the sessions subscribed to it, and each
 * session with its keys, so a departing connection leaves nothing behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enpd.h"

struct enp_key {
    struct enp_key *next; /* hash chain */
    char *key;
    size_t len;
    struct enp_session **subs;
    size_t nsubs, cap;
};

static struct enp_key **table;
static size_t table_size, table_keys;

static uint64_t key_hash(const char *key, size_t len)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */

    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 1099511628211u;
    return h;
}

static struct enp_key **key_slot(const char *key, size_t len)
{
    struct enp_key **pp;

    if (table_size == 0)
        return NULL;
    for (pp = &table[key_hash(key, len) % table_size]; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->len == len && memcmp((*pp)->key, key, len) == 0)
            break;
    return pp;
}

static void table_grow(void)
{
    size_t size = table_size ? table_size * 2 : 256;
    struct enp_key **t = calloc(size, sizeof(*t));

    if (t == NULL)
        abort();
    for (size_t i = 0; i < table_size; i++)
        for (struct enp_key *k = table[i], *next; k != NULL; k = next) {
            next = k->next;
            size_t b = key_hash(k->key, k->len) % size;
            k->next = t[b];
            t[b] = k;
        }
    free(table);
    table = t;
    table_size = size;
}

static void *grow(void *v, size_t *cap, size_t elem)
{
    *cap = *cap ? *cap * 2 : 4;
    v = realloc(v, *cap * elem);
    if (v == NULL)
        abort();
    return v;
}

int enp_subscribe(struct enp_session *s, const char *key, size_t len, size_t max)
{
    struct enp_key **pp = key_slot(key, len), *k;

    if (pp != NULL && (k = *pp) != NULL) {
        for (size_t i = 0; i < k->nsubs; i++)
            if (k->subs[i] == s)
                return 1;
    } else {
        if (s->nkeys >= max)
            return -1;
        if (table_keys >= table_size)
            table_grow();
        pp = key_slot(key, len);
        k = calloc(1, sizeof(*k));
        if (k == NULL || (k->key = malloc(len)) == NULL)
            abort();
        memcpy(k->key, key, len);
        k->len = len;
        *pp = k;
        table_keys++;
    }
    if (s->nkeys >= max)
        return -1;
    if (k->nsubs == k->cap)
        k->subs = grow(k->subs, &k->cap, sizeof(*k->subs));
    k->subs[k->nsubs++] = s;
    if (s->nkeys == s->cap)
        s->keys = grow(s->keys, &s->cap, sizeof(*s->keys));
    s->keys[s->nkeys++] = k;
    return 0;
}

/* Takes s off k's list, and k out of the table when nobody is left. */
static void key_drop(struct enp_key *k, struct enp_session *s)
{
    struct enp_key **pp;

    for (size_t i = 0; i < k->nsubs; i++)
        if (k->subs[i] == s) {
            k->subs[i] = k->subs[--k->nsubs];
            break;
        }
    if (k->nsubs > 0)
        return;
    pp = key_slot(k->key, k->len);
    *pp = k->next;
    table_keys--;
    free(k->subs);
    free(k->key);
    free(k);
}

int enp_unsubscribe(struct enp_session *s, const char *key, size_t len)
{
    for (size_t i = 0; i < s->nkeys; i++) {
        struct enp_key *k = s->keys[i];
        if (k->len == len && memcmp(k->key, key, len) == 0) {
            s->keys[i] = s->keys[--s->nkeys];
            key_drop(k, s);
            return 0;
        }
    }
    return -1;
}

void enp_unsubscribe_all(struct enp_session *s)
{
    while (s->nkeys > 0)
        key_drop(s->keys[--s->nkeys], s);
    free(s->keys);
    s->keys = NULL;
    s->cap = 0;
}

size_t enp_each_subscriber(const char *key, size_t len,
                           void (*fn)(struct enp_session *s, void *ctx), void *ctx)
{
    struct enp_key **pp = key_slot(key, len), *k;
    size_t n = 0, i = 0;

    if (pp == NULL || (k = *pp) == NULL)
        return 0;
    /* fn may drop the session it gets (a slow subscriber), which shrinks this list (and may
     * free k when it was the last): look at the count again each time */
    while (i < k->nsubs) {
        struct enp_session *s = k->subs[i];
        size_t before = k->nsubs;
        n++;
        fn(s, ctx);
        if (s->dropped && before == 1)
            break; /* s was the last: k is gone */
        if (k->nsubs == before)
            i++;
    }
    return n;
}

size_t enp_key_count(void)
{
    return table_keys;
}
