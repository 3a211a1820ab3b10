/* The per-command arena: a list of malloc'd chunks, each bump-allocated, all freed at once.
 * Chunks double in size so a command with a large literal costs few mallocs. */
#include "imapd-arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN alignof(max_align_t)

struct arena_chunk {
    struct arena_chunk *prev;
    size_t size; /* usable bytes in data[] */
    size_t used;
    alignas(max_align_t) unsigned char data[];
};

struct imap_arena {
    struct arena_chunk *cur;
    void *last; /* the latest allocation, which imap_arena_grow may extend in place */
    size_t footprint;
};

static size_t arena_round(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static struct arena_chunk *arena_chunk_new(struct imap_arena *a, size_t size)
{
    struct arena_chunk *c;

    if (size > SIZE_MAX - sizeof(*c))
        return NULL;
    c = malloc(sizeof(*c) + size);
    if (c == NULL)
        return NULL;
    c->prev = a->cur;
    c->size = size;
    c->used = 0;
    a->cur = c;
    a->footprint += sizeof(*c) + size;
    return c;
}

struct imap_arena *imap_arena_new(size_t first_size)
{
    struct imap_arena *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->footprint = sizeof(*a);
    if (arena_chunk_new(a, arena_round(first_size > 0 ? first_size : 1)) == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

void *imap_arena_alloc(struct imap_arena *a, size_t size)
{
    struct arena_chunk *c = a->cur;
    size_t need;
    void *p;

    if (size > SIZE_MAX / 2)
        return NULL;
    need = arena_round(size > 0 ? size : 1);
    if (c->size - c->used < need) {
        size_t next = c->size * 2;
        c = arena_chunk_new(a, next > need ? next : need);
        if (c == NULL)
            return NULL;
    }
    p = c->data + c->used;
    c->used += need;
    memset(p, 0, size);
    a->last = p;
    return p;
}

void *imap_arena_grow(struct imap_arena *a, void *ptr, size_t old_size, size_t new_size)
{
    struct arena_chunk *c = a->cur;
    void *p;

    if (ptr != NULL && ptr == a->last && new_size <= SIZE_MAX / 2) {
        size_t start = (size_t)((unsigned char *)ptr - c->data);
        size_t need = arena_round(new_size);
        if (c->size - start >= need) {
            memset((unsigned char *)ptr + old_size, 0, new_size - old_size);
            c->used = start + need;
            return ptr;
        }
    }
    p = imap_arena_alloc(a, new_size);
    if (p != NULL && old_size > 0)
        memcpy(p, ptr, old_size);
    return p;
}

char *imap_arena_strndup(struct imap_arena *a, const char *s, size_t len)
{
    char *p = len < SIZE_MAX ? imap_arena_alloc(a, len + 1) : NULL;

    if (p != NULL && len > 0)
        memcpy(p, s, len);
    return p;
}

size_t imap_arena_footprint(const struct imap_arena *a)
{
    return a->footprint;
}

void imap_arena_free(struct imap_arena **a)
{
    struct arena_chunk *c;

    if (a == NULL || *a == NULL)
        return;
    c = (*a)->cur;
    while (c != NULL) {
        struct arena_chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    free(*a);
    *a = NULL;
}
