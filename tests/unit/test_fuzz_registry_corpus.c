/* Regression test for the fuzz_registry target (the Schema Registry client's answer handling): every file of
 * tests/fuzz/corpus_registry/ (the corpus, rewritten by deploy/fuzz.sh SECONDS registry) and
 * of tests/fuzz/regress/registry/ (reproducers of what fuzz_registry found, kept by hand: a
 * merge could drop them) goes through the same invariant checks as the libFuzzer
 * target (tests/fuzz/fuzz_registry_check.c), in the ordinary sanitizer build. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz/fuzz_registry_check.h"
#include "testutil.h"

/* Fewer files than this means the corpus went missing, not that all is well. */
#define CORPUS_MIN_FILES 10

/* Runs every regular file of tests/fuzz/<sub> through the checks.
 * @returns the number of files; *failed counts those that broke an invariant. */
static size_t run_dir(const char *sub, int *failed) {
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/fuzz/%s", sub);
    char *dir = tu_source_path(rel);
    size_t n = tu_replay_dir(dir, fuzz_registry_check_input, failed);
    free(dir);
    return n;
}

START_TEST(test_registry_corpus_invariants) {

    int failed = 0;
    size_t n = run_dir("corpus_registry", &failed);
    ck_assert_msg(n >= CORPUS_MIN_FILES,
                  "tests/fuzz/corpus_registry holds %zu files, expected >= %d", n,
                  CORPUS_MIN_FILES);
    size_t r = run_dir("regress/registry", &failed);
    ck_assert_msg(r >= 1, "tests/fuzz/regress/registry is empty");
    fuzz_registry_fini();
    ck_assert_msg(failed == 0,
                  "%d of %zu fuzz_registry inputs violate the invariants (listed above)", failed,
                  n + r);
}
END_TEST

Suite *fuzz_registry_corpus_suite(void);
Suite *fuzz_registry_corpus_suite(void) {
    Suite *s = suite_create("fuzz_registry_corpus");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_registry_corpus_invariants);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(fuzz_registry_corpus_suite)
