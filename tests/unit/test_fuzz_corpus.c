/* Regression test for the fuzzing corpus: every file of tests/fuzz/corpus/ (inputs
 * the fuzzer found interesting, and the reproducers of bugs it found) goes through
 * the same invariant checks as the libFuzzer target (tests/fuzz/fuzz_check.c), in
 * the ordinary sanitizer build, without libFuzzer. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz/fuzz_check.h"
#include "testutil.h"

/* Fewer files than this means the corpus went missing, not that all is well. */
#define CORPUS_MIN_FILES 50

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_corpus_invariants) {
    char errstr[512] = "";
    ck_assert_msg(fuzz_check_init(tu_source_dir(), errstr, sizeof(errstr)) == 0, "%s", errstr);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus", tu_source_dir());
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
    ck_assert_msg(n >= CORPUS_MIN_FILES, "%s holds %zu files, expected at least %d", dir, n,
                  CORPUS_MIN_FILES);
    qsort(names, n, sizeof(*names), cmp_names);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        char path[8192], why[512];
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        char *data = tu_read_file(path, &len);
        if (fuzz_check_input((const uint8_t *)data, len, why, sizeof(why)) != 0) {
            fprintf(stderr, "%s: %s\n", names[i], why);
            failed++;
        }
        free(data);
        free(names[i]);
    }
    free(names);
    fuzz_check_fini();
    ck_assert_msg(failed == 0, "%d of %zu corpus files violate the invariants (listed above)",
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
