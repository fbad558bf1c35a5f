/* Regression test for fuzzing: every file of tests/fuzz/corpus/ (the minimised
 * corpus, rewritten by deploy/fuzz.sh) and of tests/fuzz/regress/ (reproducers of
 * the bugs the fuzzer found, kept by hand: a merge could drop them) goes through the
 * same invariant checks as the libFuzzer target (tests/fuzz/fuzz_check.c), in the
 * ordinary sanitizer build, without libFuzzer. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz/fuzz_check.h"
#include "testutil.h"

/* Fewer files than this means the corpus went missing, not that all is well. */
#define CORPUS_MIN_FILES 50

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every file of tests/fuzz/<sub> through the checks, reporting each failure.
 * @returns the number of files; *failed counts those that broke an invariant. */
static size_t run_dir(const char *sub, int *failed) {
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s", tu_source_dir(), sub);
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            names = realloc(names, cap * sizeof(*names));
            ck_assert_ptr_nonnull(names);
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    size_t skipped = 0;
    for (size_t i = 0; i < n; i++) {
        char path[8192], why[512];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        /* regress/avro/ holds the fuzz_avro target's reproducers (its own test). */
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(names[i]);
            skipped++;
            continue;
        }
        char *data = tu_read_file(path, &len);
        if (fuzz_check_input((const uint8_t *)data, len, why, sizeof(why)) != 0) {
            fprintf(stderr, "%s/%s: %s\n", sub, names[i], why);
            (*failed)++;
        }
        free(data);
        free(names[i]);
    }
    free(names);
    return n - skipped;
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

int main(void) {
    SRunner *sr = srunner_create(fuzz_corpus_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
