/* libFuzzer target for the Schema Registry client's answer handling: byte 0 picks
 * the request and the HTTP status, the rest is the body; fuzz_registry_check.c
 * states the invariants, and any violation aborts so that libFuzzer saves the
 * input. Run with deploy/fuzz.sh SECONDS registry. */
#include <stdio.h>
#include <stdlib.h>
#include "fuzz_registry_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char why[512];
    if (fuzz_registry_check_input(data, size, why, sizeof(why)) != 0) {
        fprintf(stderr, "fuzz_registry: invariant violated: %s\n", why);
        abort();
    }
    return 0;
}
