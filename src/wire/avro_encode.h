/* Avro encoding: a JSON DOM (json.h) -> one Avro binary datum of a compiled schema
 * (avro.h), the inverse of avro_decode.h for what our schemas use. The publisher
 * encodes with it. */
#ifndef EXECREC_AVRO_ENCODE_H
#define EXECREC_AVRO_ENCODE_H

#include <stddef.h>
#include "execrec/avro.h"
#include "base/buf.h"
#include "execrec/err.h"
#include "wire/json.h"

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
                                     const execrec_json_t *root, execrec_buf_t *out, char *errstr,
                                     size_t errstr_size) EXECREC_MUSTCHECK;

#endif
