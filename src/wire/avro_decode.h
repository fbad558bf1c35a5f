/* Avro decoding: plain Avro binary with a given schema, and the Confluent wire
 * format (magic byte 0, 4-byte big-endian schema id, Avro body) with schemas
 * resolved by id through a schema map (schemamap.h). Every datum is rendered to JSON text, which is
 both the
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
 * The binary decoder is ours, walking the plan avro.h compiles (see avro_decode.c
 * for why). */
#ifndef EXECREC_AVRO_DECODE_H
#define EXECREC_AVRO_DECODE_H

#include <stddef.h>
#include "execrec/avro.h"
#include "base/buf.h"
#include "execrec/err.h"
#include "execrec/reject.h"
#include "execrec/schemamap.h"

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

/** Decodes a Confluent wire-format value with map and renders it as JSON into out.
 *  map may be NULL (no registry configured: every id is unknown).
 *  @returns EXECREC_OK; EXECREC_ERR_REJECT (avro_truncated when shorter than 5 bytes,
 *           avro_bad_data when byte 0 is not 0, avro_unknown_schema for an id map
 *           does not know, or a body error, with offsets counted from byte 0 of
 *           value). */
execrec_err_t execrec_avro_confluent_to_json(const execrec_schemamap_t *map, const void *value,
                                             size_t len, execrec_buf_t *out,
                                             execrec_reject_t *rej) EXECREC_MUSTCHECK;

#endif
