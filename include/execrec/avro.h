/* Avro decoding: plain Avro binary with a given schema, and the Confluent wire
 * format (magic byte 0, 4-byte big-endian schema id, Avro body) with schemas
 * resolved by id. Every datum is rendered to JSON text, which is both the
 * raw_payload stored for audit and the input of the normaliser.
 *
 * Rendering rules: records -> objects; unions -> the branch's value (null stays
 * null); decimal logical type (bytes or fixed; avro-c does not implement it) ->
 * a JSON number with the exact decimal text from the two's-complement value and the
 * schema's scale; timestamp-millis / timestamp-micros -> RFC 3339 strings in UTC
 * with microseconds; enums -> their symbol; bytes/fixed -> strings of \u00XX. */
#ifndef EXECREC_AVRO_H
#define EXECREC_AVRO_H

#include <stddef.h>
#include <stdint.h>
#include "execrec/err.h"
#include "execrec/buf.h"
#include "execrec/record.h"

typedef struct execrec_avro_schema_s execrec_avro_schema_t;
typedef struct execrec_avro_registry_s execrec_avro_registry_t;

/** Parses an Avro schema (JSON text). @returns NULL and fills errstr on error. */
execrec_avro_schema_t *execrec_avro_schema_new(const char *json, size_t len, char *errstr,
                                               size_t errstr_size);
/** Reads an .avsc file. @returns NULL and fills errstr on error. */
execrec_avro_schema_t *execrec_avro_schema_load(const char *path, char *errstr,
                                                size_t errstr_size);
void execrec_avro_schema_destroy(execrec_avro_schema_t *schema);

/** Renders one Avro binary datum (exactly len bytes: trailing bytes are an error) as
 *  JSON text appended to out.
 *  @returns EXECREC_OK; EXECREC_ERR_REJECT with rej->code avro_truncated or
 *           avro_bad_data (rej->message says where); EXECREC_ERR_NOMEM. Never
 *           allocates more than a small multiple of len, whatever lengths the
 *           data claims. */
execrec_err_t execrec_avro_to_json(const execrec_avro_schema_t *schema, const void *body,
                                   size_t len, execrec_buf_t *out,
                                   execrec_reject_t *rej) EXECREC_MUSTCHECK;

/** A map from schema id to schema: the offline registry. */
execrec_avro_registry_t *execrec_avro_registry_new(void);
void execrec_avro_registry_destroy(execrec_avro_registry_t *reg);
/** Adds id -> schema; the registry takes ownership of schema (the caller's pointer
 *  must be considered gone). Replacing an id is allowed. */
execrec_err_t execrec_avro_registry_add(execrec_avro_registry_t *reg, int32_t id,
                                        execrec_avro_schema_t *schema, char *errstr,
                                        size_t errstr_size) EXECREC_MUSTCHECK;
/** Loads a map file: one "<id> <path.avsc>" per line, '#' comments, paths relative
 *  to the map file's directory. */
execrec_err_t execrec_avro_registry_load_map(execrec_avro_registry_t *reg, const char *path,
                                             char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;
/** @returns the schema for id, or NULL. */
const execrec_avro_schema_t *execrec_avro_registry_get(const execrec_avro_registry_t *reg,
                                                       int32_t id);

/** Decodes a Confluent wire-format value with reg and renders it as JSON into out.
 *  @returns EXECREC_OK; EXECREC_ERR_REJECT (avro_truncated when shorter than 5 bytes,
 *           avro_unknown_schema for an id reg does not know, or a body error). */
execrec_err_t execrec_avro_confluent_to_json(const execrec_avro_registry_t *reg,
                                             const void *value, size_t len, execrec_buf_t *out,
                                             execrec_reject_t *rej) EXECREC_MUSTCHECK;

#endif
