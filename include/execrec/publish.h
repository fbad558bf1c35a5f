/* Publishing: the producer half of the contract, for trading applications that link
 * libexecrec and for `execrec publish`, which is built on it (one path).
 *
 * Every record is validated by the same normaliser the recorder uses before it is
 * produced: a record is published only if execrec would record it. Its message key
 * is its natural key, order_id for orders, order events and trades, and
 * unique_identifier for order managers, so that all messages of one order land on
 * one partition (in order). The producer is idempotent (enable.idempotence=true:
 * no duplicates or reordering from librdkafka's retries); every message's delivery
 * is confirmed by librdkafka's delivery report, counted in execrec_publish_stats_t.
 *
 * Formats: JSON produces the record's text as given (exact decimals and any extra
 * fields kept); Avro produces the Confluent wire format (magic 0, 4-byte big-endian
 * schema id, Avro binary of the contract's schema, avro_encode.h). The schema id
 * comes from the Schema Registry (registry.h: the schema is registered under the
 * subject "<topic>-value", which returns the existing id when it is already there)
 * or, offline, from a registry map holding the contract's schema.
 *
 * A publisher is not thread-safe: one thread publishes, or the caller locks. */
#ifndef EXECREC_PUBLISH_H
#define EXECREC_PUBLISH_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "execrec/schemamap.h"
#include "execrec/config.h"
#include "execrec/err.h"
#include "execrec/record.h"
#include "execrec/registry.h"

typedef enum execrec_publish_format_e {
    EXECREC_PUBLISH_JSON = 0,
    EXECREC_PUBLISH_AVRO /* Confluent wire format */
} execrec_publish_format_t;

typedef struct execrec_publisher_conf_s {
    const char *brokers;                  /* bootstrap.servers; required */
    const execrec_config_t *kafka;        /* -X properties (may be NULL), borrowed */
    const char *topic[EXECREC_KIND__CNT]; /* NULL: "orders", "order-events", "trades",
                                             "order-managers" */
    execrec_publish_format_t format;
    /* Avro only. Schema text per kind; NULL: the contract's (schemas/, built in). */
    const char *avro_schema[EXECREC_KIND__CNT];
    execrec_registry_t *registry;       /* borrowed: register schemas, get ids */
    const execrec_schemamap_t *offline; /* borrowed: without registry, the id of
                                               the map entry with the schema's name */
    /* Called from execrec_publisher_poll/flush for every delivery report (optional). */
    void (*on_delivery)(void *opaque, const rd_kafka_message_t *rkm);
    void *opaque;
} execrec_publisher_conf_t;

typedef struct execrec_publish_stats_s {
    int64_t produced;  /* handed to librdkafka */
    int64_t delivered; /* confirmed by the broker */
    int64_t failed;    /* delivery failed (reported and logged) */
    int64_t refused;   /* refused before producing: contract, encoding, or produce error */
} execrec_publish_stats_t;

typedef struct execrec_publisher_s execrec_publisher_t;

/** Creates the producer (client configuration from kafka.h: defaults, -X, and the
 *  required enable.idempotence=true). Connects lazily; Avro schema ids are
 *  resolved at the first record of each kind.
 *  @returns NULL and errstr on a bad configuration. */
execrec_publisher_t *execrec_publisher_new(const execrec_publisher_conf_t *conf, char *errstr,
                                           size_t errstr_size);

/** Validates one JSON object of kind and produces it (asynchronously; delivery is
 *  confirmed by poll/flush). json need not be NUL-terminated.
 *  @returns EXECREC_OK (queued); EXECREC_ERR_REJECT (breaks the contract: errstr
 *  is "<reject code>: <message>", as the recorder would store it); EXECREC_ERR_INVALID
 *  (cannot be encoded as Avro); EXECREC_ERR_IO (schema registry); EXECREC_ERR_KAFKA
 *  (librdkafka refused it, e.g. the handle is fatally failed); EXECREC_ERR_NOMEM.
 *  Nothing is produced unless EXECREC_OK. */
execrec_err_t execrec_publish_json(execrec_publisher_t *pub, execrec_kind_t kind, const char *json,
                                   size_t len, char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;

/* Typed records: every field is text (NULL: absent), so that decimals keep every
 * digit ("0.1", "123456789.12345678") and times are RFC 3339 ("2026-11-03T14:30:00Z")
 * or epoch digits, as the contract reads them; the one integer, sequence, is an
 * int64_t with has_sequence. Each is turned into a JSON object and published with
 * execrec_publish_json (same validation, same errors). */
typedef struct execrec_order_s {
    const char *order_id, *account_uid, *asset, *side, *quantity, *order_time; /* required */
    const char *client_order_id, *order_manager_uid, *strategy, *venue, *order_type, *time_in_force,
        *limit_price, *stop_price, *reference_price, *currency, *status;
} execrec_order_t;

typedef struct execrec_order_event_s {
    const char *order_id, *event_type, *event_time; /* required */
    const char *event_id;
    int64_t sequence;
    int has_sequence;
    const char *filled_quantity, *remaining_quantity, *avg_fill_price, *reject_code, *reject_reason,
        *policy, *venue_event_id;
} execrec_order_event_t;

typedef struct execrec_trade_s {
    const char *trade_id, *order_id, *quantity, *price, *trade_time; /* required */
    const char *account_uid, *asset, *side, *fee, *fee_currency, *liquidity, *venue;
} execrec_trade_t;

typedef struct execrec_order_manager_s {
    const char *unique_identifier, *target_account_uid, *target_time, *status; /* required */
    const char *strategy, *created_at, *updated_at;
} execrec_order_manager_t;

execrec_err_t execrec_publish_order(execrec_publisher_t *pub, const execrec_order_t *order,
                                    char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;
execrec_err_t execrec_publish_order_event(execrec_publisher_t *pub,
                                          const execrec_order_event_t *event, char *errstr,
                                          size_t errstr_size) EXECREC_MUSTCHECK;
execrec_err_t execrec_publish_trade(execrec_publisher_t *pub, const execrec_trade_t *trade,
                                    char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;
execrec_err_t execrec_publish_order_manager(execrec_publisher_t *pub,
                                            const execrec_order_manager_t *om, char *errstr,
                                            size_t errstr_size) EXECREC_MUSTCHECK;

/** Serves delivery reports and librdkafka's log and error events for up to
 *  timeout_ms. Call it regularly when publishing continuously. */
void execrec_publisher_poll(execrec_publisher_t *pub, int timeout_ms);

/** Waits up to timeout_ms until every produced message is confirmed or failed.
 *  @returns EXECREC_OK when all were delivered; EXECREC_ERR_KAFKA when some failed
 *  or are still in flight at the timeout (see the stats). */
execrec_err_t execrec_publisher_flush(execrec_publisher_t *pub, int timeout_ms) EXECREC_MUSTCHECK;

/** Copies the counters into *stats. */
void execrec_publisher_stats(const execrec_publisher_t *pub, execrec_publish_stats_t *stats);

/** Destroys the producer; messages not yet delivered are purged and counted failed:
 *  flush first. NULL is a no-op. */
void execrec_publisher_destroy(execrec_publisher_t *pub);

#endif
