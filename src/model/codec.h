/* Decode: a Kafka message value of a known kind -> record or reject. Detects the
 * wire format (JSON object, Confluent Avro) or uses the one configured, enforces
 * the size limit, and hands the JSON rendering to the normaliser. */
#ifndef EXECREC_CODEC_H
#define EXECREC_CODEC_H

#include <stddef.h>
#include "execrec/err.h"
#include "execrec/arena.h"
#include "execrec/record.h"
#include "execrec/avro.h"
#include "execrec/schemamap.h"

typedef enum execrec_format_e {
    EXECREC_FORMAT_AUTO = 0, /* JSON object, or Confluent Avro when byte 0 is 0 */
    EXECREC_FORMAT_JSON,
    EXECREC_FORMAT_AVRO /* plain Avro binary with the kind's configured schema */
} execrec_format_t;

#define EXECREC_MAX_MESSAGE_DEFAULT (1024 * 1024)

typedef struct execrec_codec_conf_s {
    size_t max_message_bytes; /* 0 = EXECREC_MAX_MESSAGE_DEFAULT */
    execrec_format_t format[EXECREC_KIND__CNT];
    const execrec_avro_schema_t *plain_schema[EXECREC_KIND__CNT]; /* borrowed */
    const execrec_schemamap_t *schemas; /* borrowed; NULL: no Confluent Avro */
} execrec_codec_conf_t;

typedef struct execrec_codec_s execrec_codec_t;

/** @returns a codec (conf is copied; borrowed pointers must outlive it), or NULL
 *  and errstr (e.g. format avro without a plain schema). */
execrec_codec_t *execrec_codec_new(const execrec_codec_conf_t *conf, char *errstr,
                                   size_t errstr_size);
/** @returns a codec with codec's configuration and buffers of its own, or NULL with
 *  errstr. A codec is not shared between threads: each of the recorder's writers
 *  decodes with its own clone (the borrowed schemas are shared, read-only, and the
 *  Schema Registry cache behind them locks, schemamap.h). */
execrec_codec_t *execrec_codec_clone(const execrec_codec_t *codec, char *errstr,
                                     size_t errstr_size);
void execrec_codec_destroy(execrec_codec_t *codec);

/** Decodes one value. On EXECREC_OK *rec points into arena (and, for JSON, at value
 *  itself: keep it alive while rec is used). On EXECREC_ERR_REJECT *rej says why.
 *  EXECREC_ERR_NOMEM otherwise. */
execrec_err_t execrec_codec_decode(execrec_codec_t *codec, execrec_kind_t kind, const void *value,
                                   size_t len, execrec_arena_t *arena, execrec_record_t *rec,
                                   execrec_reject_t *rej) EXECREC_MUSTCHECK;

#endif
