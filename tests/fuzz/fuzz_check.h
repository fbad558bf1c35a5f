/* The decoder's robustness invariants, shared by the libFuzzer target
 * (fuzz_decode.c) and the corpus regression test (tests/unit/test_fuzz_corpus.c):
 * any input gets a record that PostgreSQL will take, or a reject with a stable
 * reason, and never anything else. See docs/fuzzing.md. */
#ifndef EXECREC_FUZZ_CHECK_H
#define EXECREC_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>

/** Loads schemas/registry.map and schemas/<kind>.avsc under source_dir and builds
 *  the codecs. Call once. @returns 0, or -1 and errstr. */
int fuzz_check_init(const char *source_dir, char *errstr, size_t errstr_size);
/** Frees what fuzz_check_init built. */
void fuzz_check_fini(void);

/** Decodes one fuzz input: byte 0 selects the kind (bits 0-1), the format
 *  ((bits 2-3) mod 3: auto, json, plain Avro with the kind's schema) and the size
 *  limit (bit 7: 256 bytes instead of the default); the rest is the message value.
 *  Checks every invariant (docs/fuzzing.md), decoding twice to check that the
 *  result does not depend on state left by earlier messages.
 *  @returns 0 if they hold (an empty input is skipped), -1 and a description of the
 *  first violation in why. */
int fuzz_check_input(const uint8_t *data, size_t size, char *why, size_t why_size);

#endif
