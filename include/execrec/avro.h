/* Avro decoding: plain Avro binary with a given schema, and the Confluent wire
 * format (magic byte 0, 4-byte big-endian schema id, Avro body) with schemas
 * resolved by id. Every datum is rendered to JSON text, which is both the
 * raw_payload stored for audit and the input of the normaliser.
 *
 * Rendering rules: records -> objects; unions -> the branch's value (null stays
 * null); decimal logical type (bytes or fixed; avro-c does not implement it) ->
 * a JSON number with the exact decimal text from the two's-complement value and the
 * schema's scale (12345 scale 2 -> 123.45, zero at scale 2 -> 0.00);
 * timestamp-millis / timestamp-micros -> RFC 3339 strings in UTC with microseconds
 * ("2026-11-21T07:51:23.123456Z"); local-timestamp-* -> the same without "Z";
 * date -> "YYYY-MM-DD"; time-millis -> "HH:MM:SS.mmm"; time-micros ->
 * "HH:MM:SS.ffffff"; uuid -> the string; enums -> their symbol; bytes/fixed ->
 * strings of one code point per byte (printable ASCII as itself, others \u00XX);
 * float/double -> the shortest text that reads back to the same value, NaN and
 * infinities as the strings "NaN", "Infinity", "-Infinity" (JSON has no such
 * numbers; a decimal column then rejects them as bad_decimal, never a silent NULL).
 *
 * Schemas are validated by avro-c, then compiled into our own decoding plan; the
 * binary decoder is ours (see avro.c for why). A decimal schema without a valid
 * precision/scale is refused at load time rather than read as plain bytes. */
#ifndef EXECREC_AVRO_H
#define EXECREC_AVRO_H

#include <stddef.h>
#include <stdint.h>
#include "execrec/err.h"
#include "execrec/buf.h"
#include "execrec/json.h"
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
/** @returns the full name of the schema's root type ("io.execrec.Trade"), or NULL
 *  when the root is not a named type. Owned by schema. */
const char *execrec_avro_schema_name(const execrec_avro_schema_t *schema);

/** Renders one Avro binary datum (exactly len bytes: trailing bytes are an error) as
 *  JSON text appended to out.
 *  @returns EXECREC_OK; EXECREC_ERR_REJECT with rej->code avro_truncated (input ends,
 *           or a length/count exceeds the bytes left), avro_bad_data (over-long
 *           varint, bad union/enum index, boolean byte > 1, trailing bytes, nesting
 *           deeper than 64), invalid_utf8 (a string or map key),
 *           decimal_out_of_range (more than 64 bytes or more digits than the
 *           precision) or time_out_of_range (outside years 1-9999); rej->message
 *           names the field path and byte offset, and out is left as it was;
 *           EXECREC_ERR_NOMEM. Never allocates more than a small multiple of len,
 *           whatever lengths the data claims. */
execrec_err_t execrec_avro_to_json(const execrec_avro_schema_t *schema, const void *body,
                                   size_t len, execrec_buf_t *out,
                                   execrec_reject_t *rej) EXECREC_MUSTCHECK;

/** Encodes root (a JSON value from execrec_json_parse) as one Avro binary datum of
 *  schema, appended to out: the inverse of execrec_avro_to_json for what our
 *  schemas use. Records take their fields by name (members not in the schema are
 *  ignored; a missing member is null); a ["null", T] union takes null for a missing
 *  or null member, else the first other branch that accepts the value; string takes
 *  a JSON string, or a number's exact text (so a decimal 0.1 is written "0.1");
 *  int/long take an integer number or a string of digits; timestamp-millis/micros
 *  (and local-) take RFC 3339 text or an epoch, by timeutil.h's rules; boolean,
 *  float, double, enum (symbol), array and map as expected; bytes/fixed take a
 *  string's bytes. Not supported (EXECREC_ERR_INVALID): the decimal, date and time
 *  logical types.
 *  @returns EXECREC_OK; EXECREC_ERR_INVALID with errstr naming the field path and
 *           out left as it was; EXECREC_ERR_NOMEM. */
execrec_err_t execrec_avro_from_json(const execrec_avro_schema_t *schema,
                                     const execrec_json_t *root, execrec_buf_t *out,
                                     char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;

/** A map from schema id to schema: the offline registry, and the cache of a
 *  lookup hook behind it (a Schema Registry over HTTP, registry.h). */
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
/** A lookup behind the registry's entries: called for an id the registry does not
 *  hold. @returns a new schema (the registry takes it and keeps it: a registry id
 *  is immutable, so it is never asked again), or NULL with errstr saying why
 *  (that reason becomes the avro_unknown_schema reject's message). */
typedef execrec_avro_schema_t *(*execrec_avro_fetch_cb)(void *opaque, int32_t id, char *errstr,
                                                       size_t errstr_size);
/** Installs cb (NULL: none) with its opaque pointer, which must outlive reg. */
void execrec_avro_registry_set_fetch(execrec_avro_registry_t *reg, execrec_avro_fetch_cb cb,
                                     void *opaque);
/** @returns the schema for id: from the entries, else from the fetch hook (then
 *  cached in reg, which is why a const registry may still grow; not thread-safe),
 *  or NULL with the reason in errstr (may be NULL). */
const execrec_avro_schema_t *execrec_avro_registry_lookup(const execrec_avro_registry_t *reg,
                                                          int32_t id, char *errstr,
                                                          size_t errstr_size);
/** @returns execrec_avro_registry_lookup(reg, id, NULL, 0). */
const execrec_avro_schema_t *execrec_avro_registry_get(const execrec_avro_registry_t *reg,
                                                       int32_t id);
/** Finds the id of an entry whose root type is named fullname (lowest id first).
 *  @returns 0 and *id, or -1. */
int execrec_avro_registry_find_name(const execrec_avro_registry_t *reg, const char *fullname,
                                    int32_t *id);

/** Decodes a Confluent wire-format value with reg and renders it as JSON into out.
 *  reg may be NULL (no registry configured: every id is unknown).
 *  @returns EXECREC_OK; EXECREC_ERR_REJECT (avro_truncated when shorter than 5 bytes,
 *           avro_bad_data when byte 0 is not 0, avro_unknown_schema for an id reg
 *           does not know, or a body error, with offsets counted from byte 0 of
 *           value). */
execrec_err_t execrec_avro_confluent_to_json(const execrec_avro_registry_t *reg,
                                             const void *value, size_t len, execrec_buf_t *out,
                                             execrec_reject_t *rej) EXECREC_MUSTCHECK;

#endif
