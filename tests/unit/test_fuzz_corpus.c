/* Regression test for fuzzing: every file of tests/fuzz/corpus/ (the minimised
 * corpus, rewritten by deploy/fuzz.sh) and of tests/fuzz/regress/ (reproducers of
 * the bugs the fuzzer found, kept by hand: a merge could drop them) goes through the
 * same invariant checks as the libFuzzer target (tests/fuzz/fuzz_check.c), in the
 * ordinary sanitizer build, without libFuzzer. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz/fuzz_check.h"
#include "testutil.h"

/* Fewer files than this means the corpus went missing, not that all is well. */
#define CORPUS_MIN_FILES 50

/* Runs every regular file of tests/fuzz/<sub> through the checks.
 * @returns the number of files; *failed counts those that broke an invariant. */
static size_t run_dir(const char *sub, int *failed) {
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/fuzz/%s", sub);
    char *dir = tu_source_path(rel);
    size_t n = tu_replay_dir(dir, fuzz_check_input, failed);
    free(dir);
    return n;
}

START_TEST(test_corpus_invariants) {
    char errstr[512] = "";
    ck_assert_msg(fuzz_check_init(tu_source_dir(), errstr, sizeof(errstr)) == 0, "%s", errstr);
    int failed = 0;
    size_t n = run_dir("corpus", &failed);
    ck_assert_msg(n >= CORPUS_MIN_FILES, "tests/fuzz/corpus holds %zu files, expected >= %d", n,
                  CORPUS_MIN_FILES);
    n += run_dir("regress", &failed);
    fuzz_check_fini();
    ck_assert_msg(failed == 0, "%d of %zu fuzz inputs violate the invariants (listed above)",
                  failed, n);
}
END_TEST

Suite *fuzz_corpus_suite(void);
Suite *fuzz_corpus_suite(void) {
    Suite *s = suite_create("fuzz_corpus");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_corpus_invariants);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(fuzz_corpus_suite)
