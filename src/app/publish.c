/* The publisher, see publish.h: validate with the normaliser, key by the natural
 * key, encode (JSON as given, or Confluent Avro), produce with an idempotent
 * librdkafka producer, and count every delivery report. */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/arena.h"
#include "wire/avro_encode.h"
#include "base/buf.h"
#include "wire/json.h"
#include "kafka/kafka.h"
#include "base/log.h"
#include "model/normalise.h"
#include "execrec/publish.h"

typedef struct avro_kind_s {
    execrec_avro_schema_t *schema; /* parsed at the first record of the kind */
    int32_t id;
    int resolved;
} avro_kind_t;

struct execrec_publisher_s {
    execrec_publisher_conf_t conf;
    rd_kafka_t *rk;
    execrec_arena_t *arena;
    execrec_buf_t value; /* the Avro message being built, reused */
    avro_kind_t avro[EXECREC_KIND__CNT];
    execrec_publish_stats_t stats;
    int fatal;
};

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    (void)rk;
    execrec_publisher_t *pub = opaque;
    if (rkm->err) {
        pub->stats.failed++;
        execrec_log_error("publish: delivery to %s failed: %s (key %.*s)",
                          rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err),
                          (int)(rkm->key_len > 200 ? 200 : rkm->key_len),
                          rkm->key ? (const char *)rkm->key : "");
    } else {
        pub->stats.delivered++;
    }
    if (pub->conf.on_delivery)
        pub->conf.on_delivery(pub->conf.opaque, rkm);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    execrec_publisher_t *pub = opaque;
    if (execrec_kafka_log_error(rk, err, reason))
        pub->fatal = 1;
}

execrec_publisher_t *execrec_publisher_new(const execrec_publisher_conf_t *conf, char *errstr,
                                           size_t errstr_size) {
    assert(conf);
    if (!conf->brokers || !*conf->brokers) {
        execrec_errstr(errstr, errstr_size, "no brokers given");
        return NULL;
    }
    execrec_publisher_t *pub = calloc(1, sizeof(*pub));
    if (!pub || !(pub->arena = execrec_arena_new())) {
        free(pub);
        execrec_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pub->conf = *conf;
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        if (!pub->conf.topic[k] || !*pub->conf.topic[k])
            pub->conf.topic[k] = execrec_kind_default_topic((execrec_kind_t)k);
    /* murmur2_random: the partition of a key is the one Java clients pick, so other
     * producers of the same topics agree on where an order's messages go. */
    static const char *const defaults[] = {
        "linger.ms", "5", "message.timeout.ms", "30000", "partitioner", "murmur2_random", NULL};
    static const char *const required[] = {"enable.idempotence", "true", NULL};
    execrec_kafka_client_t client = {.type = RD_KAFKA_PRODUCER,
                                     .brokers = conf->brokers,
                                     .props = conf->kafka,
                                     .defaults = defaults,
                                     .required = required,
                                     .opaque = pub,
                                     .error_cb = error_cb,
                                     .dr_msg_cb = dr_msg_cb};
    /* librdkafka's log lines come out of rd_kafka_poll, on the caller's thread. */
    if (!(pub->rk = execrec_kafka_new(&client, errstr, errstr_size)))
        goto fail;
    return pub;
fail:
    execrec_publisher_destroy(pub);
    return NULL;
}

void execrec_publisher_destroy(execrec_publisher_t *pub) {
    if (!pub)
        return;
    if (pub->rk) {
        rd_kafka_purge(pub->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(pub->rk, 0); /* purged messages' reports: counted failed */
        rd_kafka_destroy(pub->rk);
    }
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        execrec_avro_schema_destroy(pub->avro[k].schema);
    execrec_buf_free(&pub->value);
    execrec_arena_destroy(pub->arena);
    free(pub);
}

/* @returns the text of the contract's schema for kind (schemas/<kind>.avsc, as
 * built in) and sets *len, or NULL if it was not built in. */
static const char *contract_schema(execrec_kind_t kind, size_t *len) {
    char name[64];
    snprintf(name, sizeof(name), "%s.avsc", execrec_kind_name(kind));
    for (const execrec_avro_file_t *f = execrec_avro_schemas_embedded; f->name; f++)
        if (!strcmp(f->name, name)) {
            *len = f->len;
            return (const char *)f->data;
        }
    return NULL;
}

/* Parses the kind's schema and finds its id, once per kind (a failure is retried
 * at the next record: the registry may be back). */
static execrec_err_t avro_resolve(execrec_publisher_t *pub, execrec_kind_t kind, char *errstr,
                                  size_t errstr_size) {
    avro_kind_t *ak = &pub->avro[kind];
    if (ak->resolved)
        return EXECREC_OK;
    size_t len = 0;
    const char *text = pub->conf.avro_schema[kind];
    if (text)
        len = strlen(text);
    else if (!(text = contract_schema(kind, &len))) {
        execrec_errstr(errstr, errstr_size, "no Avro schema for %s", execrec_kind_name(kind));
        return EXECREC_ERR_INVALID;
    }
    char why[384];
    if (!ak->schema && !(ak->schema = execrec_avro_schema_new(text, len, why, sizeof(why)))) {
        execrec_errstr(errstr, errstr_size, "%s schema: %s", execrec_kind_name(kind), why);
        return EXECREC_ERR_INVALID;
    }
    if (pub->conf.registry) {
        char subject[512], *copy = strndup(text, len);
        snprintf(subject, sizeof(subject), "%s-value", pub->conf.topic[kind]);
        if (!copy)
            return EXECREC_ERR_NOMEM;
        execrec_err_t err = execrec_registry_register(pub->conf.registry, subject, copy, &ak->id,
                                                      errstr, errstr_size);
        free(copy);
        if (err)
            return err;
        execrec_log_info("publish: subject %s: schema id %" PRId32, subject, ak->id);
    } else {
        const char *name = execrec_avro_schema_name(ak->schema);
        if (!pub->conf.offline || !name ||
            execrec_schemamap_find_name(pub->conf.offline, name, &ak->id) < 0) {
            execrec_errstr(
                errstr, errstr_size,
                "Avro needs a schema id for %s: give a Schema Registry URL, or a registry "
                "map that lists the schema",
                name ? name : execrec_kind_name(kind));
            return EXECREC_ERR_INVALID;
        }
    }
    ak->resolved = 1;
    return EXECREC_OK;
}

/* Confluent wire format of json into pub->value. */
static execrec_err_t avro_message(execrec_publisher_t *pub, execrec_kind_t kind, const char *json,
                                  size_t len, char *errstr, size_t errstr_size) {
    execrec_err_t err = avro_resolve(pub, kind, errstr, errstr_size);
    if (err)
        return err;
    execrec_json_t *root;
    execrec_reject_t rej;
    if ((err = execrec_json_parse(json, len, pub->arena, &root, &rej)) != EXECREC_OK) {
        /* The normaliser has parsed it already: only NOMEM is possible here. */
        execrec_errstr(errstr, errstr_size, "%s",
                       err == EXECREC_ERR_REJECT ? rej.message : "out of memory");
        return err;
    }
    uint32_t id = (uint32_t)pub->avro[kind].id;
    unsigned char head[5] = {0, (unsigned char)(id >> 24), (unsigned char)(id >> 16),
                             (unsigned char)(id >> 8), (unsigned char)id};
    execrec_buf_reset(&pub->value);
    execrec_buf_append(&pub->value, head, sizeof(head));
    err = execrec_avro_from_json(pub->avro[kind].schema, root, &pub->value, errstr, errstr_size);
    if (err == EXECREC_OK && pub->value.oom)
        err = EXECREC_ERR_NOMEM;
    if (err == EXECREC_ERR_NOMEM) {
        execrec_buf_free(&pub->value);
        execrec_errstr(errstr, errstr_size, "out of memory");
    }
    return err;
}

execrec_err_t execrec_publish_json(execrec_publisher_t *pub, execrec_kind_t kind, const char *json,
                                   size_t len, char *errstr, size_t errstr_size) {
    assert(pub && (json || !len));
    /* The kind is checked, not asserted: this is the library's public entry. */
    if ((int)kind < 0 || kind >= EXECREC_KIND__CNT) {
        execrec_errstr(errstr, errstr_size, "unknown kind %d", (int)kind);
        return EXECREC_ERR_INVALID;
    }
    execrec_record_t rec;
    execrec_reject_t rej;
    execrec_arena_reset(pub->arena);
    execrec_err_t err = execrec_normalise_json(kind, json, len, pub->arena, &rec, &rej);
    if (err == EXECREC_ERR_REJECT)
        execrec_errstr(errstr, errstr_size, "%s: %s", rej.code, rej.message);
    else if (err)
        execrec_errstr(errstr, errstr_size, "out of memory");
    const void *value = json;
    size_t value_len = len;
    if (!err && pub->conf.format == EXECREC_PUBLISH_AVRO) {
        err = avro_message(pub, kind, json, len, errstr, errstr_size);
        value = pub->value.data;
        value_len = pub->value.len;
    }
    if (!err && pub->fatal) {
        execrec_errstr(errstr, errstr_size, "the Kafka producer has failed fatally (see the log)");
        err = EXECREC_ERR_KAFKA;
    }
    if (err) {
        pub->stats.refused++;
        return err;
    }
    int key_col = execrec_kind_key_column(kind);
    assert(rec.val[key_col]); /* a required column */
    rd_kafka_resp_err_t kerr;
    for (;;) {
        kerr = rd_kafka_producev(pub->rk, RD_KAFKA_V_TOPIC(pub->conf.topic[kind]),
                                 RD_KAFKA_V_KEY(rec.val[key_col], rec.len[key_col]),
                                 RD_KAFKA_V_VALUE((void *)value, value_len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (kerr != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        /* The local queue is full: serve delivery reports until there is room. */
        rd_kafka_poll(pub->rk, 100);
    }
    if (kerr) {
        pub->stats.refused++;
        execrec_errstr(errstr, errstr_size, "cannot produce to %s: %s", pub->conf.topic[kind],
                       rd_kafka_err2str(kerr));
        return EXECREC_ERR_KAFKA;
    }
    pub->stats.produced++;
    rd_kafka_poll(pub->rk, 0);
    return EXECREC_OK;
}

/* ------------------------------------------------------- typed records */

typedef struct field_s {
    const char *name;
    size_t offset; /* of a const char * in the struct */
} field_t;

#define F(type, name)                                                                              \
    { #name, offsetof(type, name) }
static const field_t order_fields[] = {
    F(execrec_order_t, order_id),        F(execrec_order_t, account_uid),
    F(execrec_order_t, asset),           F(execrec_order_t, side),
    F(execrec_order_t, quantity),        F(execrec_order_t, order_time),
    F(execrec_order_t, client_order_id), F(execrec_order_t, order_manager_uid),
    F(execrec_order_t, strategy),        F(execrec_order_t, venue),
    F(execrec_order_t, order_type),      F(execrec_order_t, time_in_force),
    F(execrec_order_t, limit_price),     F(execrec_order_t, stop_price),
    F(execrec_order_t, reference_price), F(execrec_order_t, currency),
    F(execrec_order_t, status),          {NULL, 0}};
static const field_t event_fields[] = {
    F(execrec_order_event_t, order_id),        F(execrec_order_event_t, event_type),
    F(execrec_order_event_t, event_time),      F(execrec_order_event_t, event_id),
    F(execrec_order_event_t, filled_quantity), F(execrec_order_event_t, remaining_quantity),
    F(execrec_order_event_t, avg_fill_price),  F(execrec_order_event_t, reject_code),
    F(execrec_order_event_t, reject_reason),   F(execrec_order_event_t, policy),
    F(execrec_order_event_t, venue_event_id),  {NULL, 0}};
static const field_t trade_fields[] = {F(execrec_trade_t, trade_id),
                                       F(execrec_trade_t, order_id),
                                       F(execrec_trade_t, quantity),
                                       F(execrec_trade_t, price),
                                       F(execrec_trade_t, trade_time),
                                       F(execrec_trade_t, account_uid),
                                       F(execrec_trade_t, asset),
                                       F(execrec_trade_t, side),
                                       F(execrec_trade_t, fee),
                                       F(execrec_trade_t, fee_currency),
                                       F(execrec_trade_t, liquidity),
                                       F(execrec_trade_t, venue),
                                       {NULL, 0}};
static const field_t manager_fields[] = {
    F(execrec_order_manager_t, unique_identifier), F(execrec_order_manager_t, target_account_uid),
    F(execrec_order_manager_t, target_time),       F(execrec_order_manager_t, status),
    F(execrec_order_manager_t, strategy),          F(execrec_order_manager_t, created_at),
    F(execrec_order_manager_t, updated_at),        {NULL, 0}};
#undef F

/* The struct's fields as a JSON object of strings (NULL fields left out), plus
 * "sequence" when given; then the one path, execrec_publish_json. */
static execrec_err_t publish_struct(execrec_publisher_t *pub, execrec_kind_t kind,
                                    const field_t *fields, const void *rec, const int64_t *sequence,
                                    char *errstr, size_t errstr_size) {
    assert(fields && rec);
    execrec_buf_t json = EXECREC_BUF_INIT;
    execrec_buf_putc(&json, '{');
    for (const field_t *f = fields; f->name; f++) {
        const char *v = *(const char *const *)((const char *)rec + f->offset);
        if (!v)
            continue;
        if (json.len > 1)
            execrec_buf_putc(&json, ',');
        execrec_json_append_string(&json, f->name, strlen(f->name));
        execrec_buf_putc(&json, ':');
        execrec_json_append_string(&json, v, strlen(v));
    }
    if (sequence)
        execrec_buf_printf(&json, "%s\"sequence\":%" PRId64, json.len > 1 ? "," : "", *sequence);
    execrec_buf_putc(&json, '}');
    execrec_err_t err;
    if (json.oom) {
        execrec_errstr(errstr, errstr_size, "out of memory");
        err = EXECREC_ERR_NOMEM;
    } else {
        err = execrec_publish_json(pub, kind, json.data, json.len, errstr, errstr_size);
    }
    execrec_buf_free(&json);
    return err;
}

execrec_err_t execrec_publish_order(execrec_publisher_t *pub, const execrec_order_t *order,
                                    char *errstr, size_t errstr_size) {
    return publish_struct(pub, EXECREC_KIND_ORDER, order_fields, order, NULL, errstr, errstr_size);
}

execrec_err_t execrec_publish_order_event(execrec_publisher_t *pub,
                                          const execrec_order_event_t *event, char *errstr,
                                          size_t errstr_size) {
    return publish_struct(pub, EXECREC_KIND_ORDER_EVENT, event_fields, event,
                          event->has_sequence ? &event->sequence : NULL, errstr, errstr_size);
}

execrec_err_t execrec_publish_trade(execrec_publisher_t *pub, const execrec_trade_t *trade,
                                    char *errstr, size_t errstr_size) {
    return publish_struct(pub, EXECREC_KIND_TRADE, trade_fields, trade, NULL, errstr, errstr_size);
}

execrec_err_t execrec_publish_order_manager(execrec_publisher_t *pub,
                                            const execrec_order_manager_t *om, char *errstr,
                                            size_t errstr_size) {
    return publish_struct(pub, EXECREC_KIND_ORDER_MANAGER, manager_fields, om, NULL, errstr,
                          errstr_size);
}

/* ------------------------------------------------------ delivery, stats */

void execrec_publisher_poll(execrec_publisher_t *pub, int timeout_ms) {
    rd_kafka_poll(pub->rk, timeout_ms);
}

execrec_err_t execrec_publisher_flush(execrec_publisher_t *pub, int timeout_ms) {
    rd_kafka_resp_err_t kerr = rd_kafka_flush(pub->rk, timeout_ms);
    if (kerr)
        execrec_log_error("publish: %d messages not confirmed after %d ms: %s",
                          rd_kafka_outq_len(pub->rk), timeout_ms, rd_kafka_err2str(kerr));
    return kerr || pub->stats.failed ? EXECREC_ERR_KAFKA : EXECREC_OK;
}

void execrec_publisher_stats(const execrec_publisher_t *pub, execrec_publish_stats_t *stats) {
    *stats = pub->stats;
}
