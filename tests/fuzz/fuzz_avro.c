/* libFuzzer target for the Avro decoder: byte 0 picks one of the test schemas in
 * tests/fuzz/avro_schemas/ (fuzz_avro_check.h), the rest is one Avro binary datum;
 * fuzz_avro_check.c states the invariants, and any violation aborts so that
 * libFuzzer saves the input. Run with deploy/fuzz.sh SECONDS avro. */
#include <stdio.h>
#include <stdlib.h>
#include "fuzz_avro_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *dir = getenv("EXECREC_SOURCE_DIR");
    char errstr[512] = "";
    if (fuzz_avro_init(dir ? dir : EXECREC_SOURCE_DIR, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "fuzz_avro: set-up failed: %s\n", errstr);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char why[512];
    if (fuzz_avro_check_input(data, size, why, sizeof(why)) != 0) {
        fprintf(stderr, "fuzz_avro: invariant violated: %s\n", why);
        abort();
    }
    return 0;
}
