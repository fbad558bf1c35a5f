/* Unit tests for arena.c: alignment, reuse after reset, and requests so large that
 * their size computation would wrap. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/arena.h"
#include "testutil.h"

START_TEST(test_alloc_aligned) {
    execrec_arena_t *arena = execrec_arena_new();
    ck_assert_ptr_nonnull(arena);
    for (size_t n = 0; n < 100; n++) {
        unsigned char *p = execrec_arena_alloc(arena, n);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 16, 0);
        memset(p, 0xAB, n);
    }
    /* A one-off larger than a block, then small ones again. */
    unsigned char *big = execrec_arena_alloc(arena, 1 << 20);
    ck_assert_ptr_nonnull(big);
    memset(big, 1, 1 << 20);
    char *s = execrec_arena_strndup(arena, "abcdef", 3);
    ck_assert_str_eq(s, "abc");
    execrec_arena_reset(arena);
    ck_assert_ptr_nonnull(execrec_arena_alloc(arena, 10));
    execrec_arena_destroy(arena);
    execrec_arena_destroy(NULL);
}
END_TEST

/* (n + 15) & ~15 wrapped to 0 for n near SIZE_MAX and was served as 16 bytes. */
START_TEST(test_alloc_huge_fails) {
    execrec_arena_t *arena = execrec_arena_new();
    ck_assert_ptr_nonnull(arena);
    ck_assert_ptr_null(execrec_arena_alloc(arena, SIZE_MAX));
    ck_assert_ptr_null(execrec_arena_alloc(arena, SIZE_MAX - 1));
    ck_assert_ptr_null(execrec_arena_alloc(arena, SIZE_MAX - 15));
    ck_assert_ptr_null(execrec_arena_alloc(arena, SIZE_MAX - 16)); /* the block header too */
    ck_assert_ptr_null(execrec_arena_strndup(arena, "x", SIZE_MAX));
    /* The arena is still usable. */
    ck_assert_ptr_nonnull(execrec_arena_alloc(arena, 32));
    execrec_arena_destroy(arena);
}
END_TEST

Suite *arena_suite(void);

Suite *arena_suite(void) {
    Suite *s = suite_create("arena");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, test_alloc_aligned);
    tcase_add_test(tc, test_alloc_huge_fails);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(arena_suite)
