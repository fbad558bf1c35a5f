/* Invariants of the Avro decoder (execrec_avro_to_json) for arbitrary bytes, shared
 * by the libFuzzer target fuzz_avro.c and the corpus test
 * tests/unit/test_fuzz_avro_corpus.c. The test schemas are
 * tests/fuzz/avro_schemas/<name>.avsc, chosen by byte 0 of an input; together they
 * use every Avro type and every logical type src/avro.c renders. See
 * docs/fuzzing.md. */
#ifndef EXECREC_FUZZ_AVRO_CHECK_H
#define EXECREC_FUZZ_AVRO_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* The schemas in input order: byte 0 of an input, modulo the count, picks one.
 * Append only, or the committed corpus changes meaning. */
#define FUZZ_AVRO_SCHEMAS                                                                          \
    X(all_types) X(recursive) X(decimal_edges) X(decimal_bytes) X(decimal_fixed) X(deep)
#define X(name) +1
enum { FUZZ_AVRO_NSCHEMAS = 0 FUZZ_AVRO_SCHEMAS };
#undef X

/** @returns the file name (without .avsc) of schema i. */
const char *fuzz_avro_schema_name(int i);

/** Loads the schemas from source_dir/tests/fuzz/avro_schemas. Call once.
 *  @returns 0, or -1 and errstr. */
int fuzz_avro_init(const char *source_dir, char *errstr, size_t errstr_size);
void fuzz_avro_fini(void);

/** Decodes data[1..] with schema data[0] % FUZZ_AVRO_NSCHEMAS and checks every
 *  invariant (docs/fuzzing.md), decoding twice.
 *  @returns 0 if they hold (an empty input is skipped), -1 and the first violation
 *  in why. */
int fuzz_avro_check_input(const uint8_t *data, size_t size, char *why, size_t why_size);

#endif
