/* A bump allocator: decoding one message allocates from it and the whole message's
 * memory is dropped with one reset. No per-field malloc/free on the hot path. */
#ifndef EXECREC_ARENA_H
#define EXECREC_ARENA_H

#include <stddef.h>

typedef struct execrec_arena_s execrec_arena_t;

/** @returns a new arena, or NULL on OOM. */
execrec_arena_t *execrec_arena_new(void);
/** Frees everything. NULL is a no-op. */
void execrec_arena_destroy(execrec_arena_t *arena);
/** @returns n bytes aligned to 16 (n = 0 is served as 16), or NULL on OOM or when n
 *  is too large to allocate at all (near SIZE_MAX). Valid until the next reset. */
void *execrec_arena_alloc(execrec_arena_t *arena, size_t n);
/** Copies n bytes of s and adds a NUL. @returns NULL on OOM. */
char *execrec_arena_strndup(execrec_arena_t *arena, const char *s, size_t n);
/** Forgets all allocations; keeps the first block for reuse, frees the rest. */
void execrec_arena_reset(execrec_arena_t *arena);

#endif
