/* Invariants of the Schema Registry client's answer handling
 * (src/wire/registry_answer.h) for arbitrary answers, shared by the libFuzzer
 * target fuzz_registry.c and the corpus test tests/unit/test_fuzz_registry_corpus.c.
 * An answer is input from the network: whatever its status and body, the client
 * returns the schema (or id) the body holds, or an error with the documented code
 * and a message that any layer may cut and PostgreSQL may store. See
 * docs/fuzzing.md. */
#ifndef EXECREC_FUZZ_REGISTRY_CHECK_H
#define EXECREC_FUZZ_REGISTRY_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* The HTTP statuses an input can carry: byte 0 bits 1-4 pick one. Append only, or
 * the committed corpus changes meaning (16 entries at most). */
#define FUZZ_REGISTRY_STATUSES                                                                     \
    { 200, 404, 409, 422, 401, 403, 400, 200, 204, 301, 415, 499, 0, 100, 999, 200 }

/** Checks one input: byte 0 bit 0 picks the request (0: GET /schemas/ids/{id},
 *  read by execrec_registry_schema_answer and, on success, compiled as
 *  registry.c does; 1: POST /subjects/{subject}/versions, read by
 *  execrec_registry_id_answer), bits 1-4 the status; the rest is the body.
 *  @returns 0 if every invariant holds (an empty input is skipped), -1 and the
 *  first violation in why. */
int fuzz_registry_check_input(const uint8_t *data, size_t size, char *why, size_t why_size);

/** Frees what the checks keep between inputs (an arena). */
void fuzz_registry_fini(void);

#endif
