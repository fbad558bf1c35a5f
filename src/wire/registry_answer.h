/* The Schema Registry's answers, parsed: pure functions from an HTTP status and a
 * body to a schema text, an id or an error, with no HTTP in sight, so that the
 * part of the client that reads network input is testable and fuzzable alone
 * (tests/fuzz/fuzz_registry.c). registry.c sends the requests and calls these.
 *
 * Every error text they write is printable ASCII: the registry's own words (its
 * "message", or the start of a body that is not Confluent's error JSON) reach the
 * log and, through an avro_unknown_schema reject, a PostgreSQL text column, and any
 * layer may cut a message to fit its buffer. A byte outside 0x20-0x7e becomes '?',
 * so no cut can leave half a UTF-8 character or a control byte behind. A body
 * holding a NUL byte is not JSON (jansson would read past it in places). */
#ifndef EXECREC_REGISTRY_ANSWER_H
#define EXECREC_REGISTRY_ANSWER_H

#include <stddef.h>
#include <stdint.h>
#include "execrec/avro.h"
#include "execrec/err.h"

/** The longest excerpt of a body that is not Confluent's error JSON quoted in an
 *  error, in bytes. */
#define EXECREC_REGISTRY_EXCERPT_MAX 120

/** Reads the answer to GET /schemas/ids/{id}: status and len bytes of body (any
 *  bytes, need not be NUL-terminated; NULL when len is 0).
 *  @returns EXECREC_OK and *schema_json (malloc'd, NUL-terminated, no NUL inside;
 *           the caller frees it) when status is 200 and the body is a JSON object
 *           whose "schema" member is a string; EXECREC_ERR_NOTFOUND when status is
 *           404; EXECREC_ERR_IO for any other status or a 200 without a "schema"
 *           string; EXECREC_ERR_NOMEM. On error, why holds "HTTP <status>: <the
 *           registry's reason>" or "answer without a \"schema\" string" (printable
 *           ASCII) and *schema_json is untouched. */
execrec_err_t execrec_registry_schema_answer(long status, const char *body, size_t len,
                                             char **schema_json, char *why,
                                             size_t why_size) EXECREC_MUSTCHECK;

/** Reads the answer to POST /subjects/{subject}/versions.
 *  @returns EXECREC_OK and *id when status is 200 and the body is a JSON object
 *           whose "id" is an integer in 0..INT32_MAX; EXECREC_ERR_IO when status is
 *           200 without such an id; EXECREC_ERR_INVALID for any other status (the
 *           registry refused the schema, e.g. 409 incompatible, 422 invalid). On
 *           error, why holds "HTTP <status>: <the registry's reason>" (printable
 *           ASCII) and *id is untouched. */
execrec_err_t execrec_registry_id_answer(long status, const char *body, size_t len, int32_t *id,
                                         char *why, size_t why_size) EXECREC_MUSTCHECK;

/** Compiles the schema text of an answer (execrec_avro_schema_new).
 *  @returns the schema, or NULL with why (printable ASCII: avro-c's reason may quote
 *  the registry's text). */
execrec_avro_schema_t *execrec_registry_schema_compile(const char *schema_json, char *why,
                                                       size_t why_size);

#endif
