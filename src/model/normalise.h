/* Normalise and validate: one JSON payload of a known kind -> one execrec_record_t,
 * or a reject with a stable reason code. This is the single path every message takes
 * (Avro is rendered to JSON text first, see avro.h), so the rules live in one place. */
#ifndef EXECREC_NORMALISE_H
#define EXECREC_NORMALISE_H

#include <stddef.h>
#include "execrec/err.h"
#include "execrec/arena.h"
#include "execrec/record.h"

/** Parses json (len bytes, need not be NUL-terminated, may hold any bytes) as an
 *  object of the given kind and normalises it.
 *  @returns EXECREC_OK and fills *rec: column texts are allocated in arena;
 *           rec->raw points at json itself (the caller keeps it alive);
 *           EXECREC_ERR_REJECT and fills *rej (code + message naming the field);
 *           EXECREC_ERR_NOMEM if the arena could not allocate. */
execrec_err_t execrec_normalise_json(execrec_kind_t kind, const char *json, size_t len,
                                     execrec_arena_t *arena, execrec_record_t *rec,
                                     execrec_reject_t *rej) EXECREC_MUSTCHECK;

#endif
