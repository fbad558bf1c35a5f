/* The schema map: schema id -> compiled Avro schema (avro.h). Filled from a map
 * file for offline decoding, and the cache of a lookup hook behind it (the Schema
 * Registry client over HTTP, registry.h, which is the only thing called
 * "registry"). The Confluent decoder (avro_decode.h) resolves ids through it. */
#ifndef EXECREC_SCHEMAMAP_H
#define EXECREC_SCHEMAMAP_H

#include <stddef.h>
#include <stdint.h>
#include "execrec/avro.h"
#include "execrec/err.h"

typedef struct execrec_schemamap_s execrec_schemamap_t;

/** @returns a new empty map, or NULL on OOM. */
execrec_schemamap_t *execrec_schemamap_new(void);
/** Frees the map and every schema it holds. NULL is a no-op. */
void execrec_schemamap_destroy(execrec_schemamap_t *map);
/** Adds id -> schema; the map takes ownership of schema (also on error) (the caller's pointer
 *  must be considered gone). Replacing an id is allowed. */
execrec_err_t execrec_schemamap_add(execrec_schemamap_t *map, int32_t id,
                                    execrec_avro_schema_t *schema, char *errstr,
                                    size_t errstr_size) EXECREC_MUSTCHECK;
/** Loads a map file: one "<id> <path.avsc>" per line, '#' comments, paths relative
 *  to the map file's directory. */
execrec_err_t execrec_schemamap_load(execrec_schemamap_t *map, const char *path, char *errstr,
                                     size_t errstr_size) EXECREC_MUSTCHECK;
/** A lookup behind the map's entries: called for an id the map does not hold.
 *  @returns a new schema (the map takes it and keeps it: a registry id is
 *  immutable, so it is never asked again), or NULL with errstr saying why
 *  (that reason becomes the avro_unknown_schema reject's message). */
typedef execrec_avro_schema_t *(*execrec_schemamap_fetch_cb)(void *opaque, int32_t id, char *errstr,
                                                             size_t errstr_size);
/** Installs cb (NULL: none) with its opaque pointer, which must outlive map. */
void execrec_schemamap_set_fetch(execrec_schemamap_t *map, execrec_schemamap_fetch_cb cb,
                                 void *opaque);
/** @returns the schema for id: from the entries, else from the fetch hook (then
 *  cached in map, which is why a const map may still grow), or NULL with the
 *  reason in errstr (may be NULL). Thread-safe: threads may look up in one map
 *  (one fetch per missing id; the fetch hook is called under the map's lock). */
const execrec_avro_schema_t *execrec_schemamap_lookup(const execrec_schemamap_t *map, int32_t id,
                                                      char *errstr, size_t errstr_size);
/** @returns execrec_schemamap_lookup(map, id, NULL, 0). */
const execrec_avro_schema_t *execrec_schemamap_get(const execrec_schemamap_t *map, int32_t id);
/** Finds the id of an entry whose root type is named fullname (lowest id first).
 *  @returns 0 and *id, or -1. */
int execrec_schemamap_find_name(const execrec_schemamap_t *map, const char *fullname, int32_t *id);

#endif
