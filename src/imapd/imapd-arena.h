/* A per-command arena: many small allocations, one free. The parser builds a command's argument
 * tree in one, and the command owns it until it ends (style.md practice 8). */
#ifndef HALYARD_IMAPD_ARENA_H
#define HALYARD_IMAPD_ARENA_H

#include <stddef.h>

struct imap_arena;

/* A new arena whose first chunk holds about first_size bytes. NULL when out of memory. */
struct imap_arena *imap_arena_new(size_t first_size);

/* size bytes aligned for any object, zeroed; valid until imap_arena_free(). NULL when out of
 * memory (the arena stays usable). */
void *imap_arena_alloc(struct imap_arena *a, size_t size);

/* Resizes ptr (old_size bytes, from this arena) to new_size > old_size: in place when ptr is
 * the latest allocation and its chunk has room, else by copying. NULL when out of memory (ptr
 * stays valid). Lets a token of unknown length grow without a separate buffer. */
void *imap_arena_grow(struct imap_arena *a, void *ptr, size_t old_size, size_t new_size);

/* A NUL-terminated copy of len bytes of s. */
char *imap_arena_strndup(struct imap_arena *a, const char *s, size_t len);

/* Bytes taken from malloc, headers included (for memory accounting and the tests). */
size_t imap_arena_footprint(const struct imap_arena *a);

/* Frees every allocation and the arena, and sets *a to NULL. NULL and *a == NULL are fine. */
void imap_arena_free(struct imap_arena **a);

#endif
