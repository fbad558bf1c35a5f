/* The codec: one Kafka value of a known kind -> record or reject. Enforces the size
 * limit, detects the wire format (or uses the configured one), renders Avro to JSON
 * text, and hands every payload to the one normaliser (normalise.h). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/codec.h"
#include "wire/avro_decode.h"
#include "model/normalise.h"

struct execrec_codec_s {
    execrec_codec_conf_t conf;
    execrec_buf_t json; /* Avro rendering, reused across messages: no malloc per message */
};

static const char *format_name(execrec_format_t format) {
    switch (format) {
    case EXECREC_FORMAT_AUTO:
        return "auto";
    case EXECREC_FORMAT_JSON:
        return "json";
    case EXECREC_FORMAT_AVRO:
        return "avro";
    }
    return "unknown";
}

execrec_codec_t *execrec_codec_new(const execrec_codec_conf_t *conf, char *errstr,
                                   size_t errstr_size) {
    assert(conf);
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_format_t format = conf->format[k];
        if (format != EXECREC_FORMAT_AUTO && format != EXECREC_FORMAT_JSON &&
            format != EXECREC_FORMAT_AVRO) {
            snprintf(errstr, errstr_size, "kind %s: unknown format %d",
                     execrec_kind_name((execrec_kind_t)k), (int)format);
            return NULL;
        }
        if (format == EXECREC_FORMAT_AVRO && !conf->plain_schema[k]) {
            snprintf(errstr, errstr_size, "kind %s: format %s needs an Avro schema (.avsc)",
                     execrec_kind_name((execrec_kind_t)k), format_name(format));
            return NULL;
        }
    }
    execrec_codec_t *codec = calloc(1, sizeof(*codec));
    if (!codec) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    codec->conf = *conf;
    if (!codec->conf.max_message_bytes)
        codec->conf.max_message_bytes = EXECREC_MAX_MESSAGE_DEFAULT;
    return codec;
}

execrec_codec_t *execrec_codec_clone(const execrec_codec_t *codec, char *errstr,
                                     size_t errstr_size) {
    return execrec_codec_new(&codec->conf, errstr, errstr_size);
}

void execrec_codec_destroy(execrec_codec_t *codec) {
    if (!codec)
        return;
    execrec_buf_free(&codec->json);
    free(codec);
}

/* Renders Avro (Confluent framing when schema is NULL) and normalises the JSON text,
 * copied into the arena so that rec->raw outlives the codec's reusable buffer. */
static execrec_err_t decode_avro(execrec_codec_t *codec, execrec_kind_t kind,
                                 const execrec_avro_schema_t *schema, const void *value, size_t len,
                                 execrec_arena_t *arena, execrec_record_t *rec,
                                 execrec_reject_t *rej) {
    execrec_buf_t *json = &codec->json;
    execrec_buf_reset(json);
    execrec_err_t err =
        schema ? execrec_avro_to_json(schema, value, len, json, rej)
               : execrec_avro_confluent_to_json(codec->conf.schemas, value, len, json, rej);
    if (err != EXECREC_OK) {
        if (json->oom) /* sticky: start afresh next time */
            execrec_buf_free(json);
        return err;
    }
    char *raw = execrec_arena_strndup(arena, json->data ? json->data : "", json->len);
    if (!raw)
        return EXECREC_ERR_NOMEM;
    return execrec_normalise_json(kind, raw, json->len, arena, rec, rej);
}

execrec_err_t execrec_codec_decode(execrec_codec_t *codec, execrec_kind_t kind, const void *value,
                                   size_t len, execrec_arena_t *arena, execrec_record_t *rec,
                                   execrec_reject_t *rej) {
    assert(codec && arena && rec && rej && (value || len == 0));
    assert(kind >= 0 && kind < EXECREC_KIND__CNT); /* a kind comes from our topic table */
    const unsigned char *b = value;
    if (len > codec->conf.max_message_bytes)
        return execrec_reject(rej, EXECREC_REJ_TOO_LARGE,
                              "message of %zu bytes exceeds the limit of %zu bytes", len,
                              codec->conf.max_message_bytes);
    if (len == 0)
        return execrec_reject(rej, EXECREC_REJ_EMPTY, "empty message (0 bytes)");

    switch (codec->conf.format[kind]) {
    case EXECREC_FORMAT_JSON:
        return execrec_normalise_json(kind, value, len, arena, rec, rej);
    case EXECREC_FORMAT_AVRO:
        return decode_avro(codec, kind, codec->conf.plain_schema[kind], value, len, arena, rec,
                           rej);
    case EXECREC_FORMAT_AUTO:
        break;
    }

    /* Confluent's magic byte first: a JSON text never starts with NUL. */
    if (b[0] == 0x00) {
        if (!codec->conf.schemas)
            return execrec_reject(rej, EXECREC_REJ_AVRO_SCHEMA,
                                  "Confluent Avro message (magic byte 0) but no schema registry is "
                                  "configured");
        return decode_avro(codec, kind, NULL, value, len, arena, rec, rej);
    }
    size_t i = 0;
    while (i < len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r'))
        i++;
    /* An object is the normal case; other JSON texts (and whitespace only) go to the
     * JSON path too, so that they get its precise reject (json_not_object,
     * json_syntax, empty_message) rather than a vague unknown_format. */
    /* A UTF-8 byte order mark before the JSON is a JSON problem too (RFC 8259 says
     * producers must not add one), so it gets json_syntax in both modes. */
    int bom = len - i >= 3 && b[i] == 0xEF && b[i + 1] == 0xBB && b[i + 2] == 0xBF;
    if (i == len || bom || b[i] == '{' || b[i] == '[' || b[i] == '"' || b[i] == '-' ||
        (b[i] >= '0' && b[i] <= '9') || b[i] == 't' || b[i] == 'f' || b[i] == 'n')
        return execrec_normalise_json(kind, value, len, arena, rec, rej);
    return execrec_reject(rej, EXECREC_REJ_FORMAT,
                          "neither JSON nor Confluent Avro: first byte 0x%02x at offset %zu", b[i],
                          i);
}
