/* libFuzzer target for the configuration parser: byte 0 picks the entry point
 * (properties file, -X, whole command line), the rest is its text;
 * fuzz_config_check.c states the invariants, and any violation aborts so that
 * libFuzzer saves the input. Run with deploy/fuzz.sh SECONDS config. */
#include <stdio.h>
#include <stdlib.h>
#include "fuzz_config_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void cleanup(void) {
    fuzz_config_fini();
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    char errstr[512] = "";
    if (fuzz_config_init(errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "fuzz_config: set-up failed: %s\n", errstr);
        abort();
    }
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char why[1024];
    if (fuzz_config_check_input(data, size, why, sizeof(why)) != 0) {
        fprintf(stderr, "fuzz_config: invariant violated: %s\n", why);
        abort();
    }
    return 0;
}
