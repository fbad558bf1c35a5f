/* Bump allocator in chained blocks. Reset keeps the first block so that steady
 * state decoding does no malloc at all; oversized requests get a block of their own. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/arena.h"

#define ARENA_BLOCK 65536

typedef struct block_s {
    struct block_s *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} block_t;

struct execrec_arena_s {
    block_t *head; /* current block; older blocks follow */
};

static block_t *block_new(size_t size) {
    block_t *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

execrec_arena_t *execrec_arena_new(void) {
    execrec_arena_t *arena = malloc(sizeof(*arena));
    if (!arena)
        return NULL;
    arena->head = block_new(ARENA_BLOCK);
    if (!arena->head) {
        free(arena);
        return NULL;
    }
    return arena;
}

void execrec_arena_destroy(execrec_arena_t *arena) {
    if (!arena)
        return;
    block_t *b = arena->head;
    while (b) {
        block_t *next = b->next;
        free(b);
        b = next;
    }
    free(arena);
}

void *execrec_arena_alloc(execrec_arena_t *arena, size_t n) {
    assert(arena && arena->head);
    /* Checked before rounding up: rounded first, a request within 15 bytes of
     * SIZE_MAX wrapped to 0 and got a 16-byte allocation. */
    if (n > SIZE_MAX - 15 - sizeof(block_t))
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    block_t *b = arena->head;
    assert(b->used <= b->size);
    if (b->size - b->used < n) {
        size_t size = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
        block_t *nb = block_new(size);
        if (!nb)
            return NULL;
        if (size == n && b->used < b->size) {
            /* A big one-off: keep filling the current block afterwards. */
            nb->next = b->next;
            b->next = nb;
            nb->used = n;
            return nb->data;
        }
        nb->next = b;
        arena->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

char *execrec_arena_strndup(execrec_arena_t *arena, const char *s, size_t n) {
    assert(s || n == 0);
    if (n == SIZE_MAX) /* n + 1 would wrap */
        return NULL;
    char *p = execrec_arena_alloc(arena, n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void execrec_arena_reset(execrec_arena_t *arena) {
    assert(arena && arena->head);
    /* Keep the oldest block (the first one allocated, of ARENA_BLOCK size). */
    block_t *b = arena->head;
    while (b->next) {
        block_t *next = b->next;
        free(b);
        b = next;
    }
    b->used = 0;
    arena->head = b;
}
