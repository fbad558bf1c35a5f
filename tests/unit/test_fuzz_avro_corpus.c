/* Regression test for the fuzz_avro target: every file of tests/fuzz/corpus_avro/
 * (the minimised corpus, rewritten by deploy/fuzz.sh SECONDS avro) and of
 * tests/fuzz/regress/avro/ (reproducers of what fuzz_avro found, kept by hand: a
 * merge could drop them) goes through the same invariant checks as the libFuzzer
 * target (tests/fuzz/fuzz_avro_check.c), in the ordinary sanitizer build. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz/fuzz_avro_check.h"
#include "testutil.h"

/* Fewer files than this means the corpus went missing, not that all is well. */
#define CORPUS_MIN_FILES 30

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of tests/fuzz/<sub> through the checks, reporting each
 * failure. @returns the number of files; *failed counts those that broke one. */
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
    size_t files = 0;
    for (size_t i = 0; i < n; i++) {
        char path[8192], why[512];
        struct stat st;
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            char *data = tu_read_file(path, &len);
            if (fuzz_avro_check_input((const uint8_t *)data, len, why, sizeof(why)) != 0) {
                fprintf(stderr, "%s/%s: %s\n", sub, names[i], why);
                (*failed)++;
            }
            free(data);
            files++;
        }
        free(names[i]);
    }
    free(names);
    return files;
}

START_TEST(test_avro_corpus_invariants) {
    char errstr[512] = "";
    ck_assert_msg(fuzz_avro_init(tu_source_dir(), errstr, sizeof(errstr)) == 0, "%s", errstr);
    int failed = 0;
    size_t n = run_dir("corpus_avro", &failed);
    ck_assert_msg(n >= CORPUS_MIN_FILES, "tests/fuzz/corpus_avro holds %zu files, expected >= %d",
                  n, CORPUS_MIN_FILES);
    size_t r = run_dir("regress/avro", &failed);
    ck_assert_msg(r >= 1, "tests/fuzz/regress/avro is empty");
    fuzz_avro_fini();
    ck_assert_msg(failed == 0, "%d of %zu fuzz_avro inputs violate the invariants (listed above)",
                  failed, n + r);
}
END_TEST

Suite *fuzz_avro_corpus_suite(void);
Suite *fuzz_avro_corpus_suite(void) {
    Suite *s = suite_create("fuzz_avro_corpus");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_avro_corpus_invariants);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(fuzz_avro_corpus_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
