/* What every librdkafka client of execrec shares (recorder, backfill, publish,
 * status): building a client configuration from defaults, the -X pass-through
 * properties and the settings correctness depends on; logging librdkafka's
 * errors and log lines through log.h; and turning one consumed message into a row
 * or a reject of the batch writer. */
#ifndef EXECREC_KAFKA_H
#define EXECREC_KAFKA_H

#include <librdkafka/rdkafka.h>
#include "execrec/arena.h"
#include "execrec/codec.h"
#include "execrec/config.h"
#include "execrec/record.h"
#include "execrec/writer.h"

/* The consumers' defaults (recorder, backfill), key, value pairs; -X overrides them.
 * fetch.wait.max.ms: a broker answers a fetch as soon as it has data, but the
 * embedded (mock) broker waits the whole time; 50 ms keeps its latency low and costs
 * a real cluster a few empty fetches a second when idle. queued.max.messages.kbytes
 * and fetch.max.bytes bound the prefetched messages, most of a consumer's memory,
 * so that it stays flat whatever the stream's length (docs/performance.md). */
#define EXECREC_KAFKA_CONSUMER_DEFAULTS                                                    \
    "fetch.wait.max.ms", "50", "queued.max.messages.kbytes", "16384", "fetch.max.bytes",  \
        "8388608"

/** Sets one property; on failure logs why (never quoting a secret's value).
 *  @returns 0 or -1. */
int execrec_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value);

/** A client configuration: `defaults` (NULL-terminated key, value pairs) first, then
 *  every -X property of props (may be NULL), then bootstrap.servers = brokers, then
 *  `required` (key, value pairs that -X may not override). The log callback is
 *  execrec's (librdkafka's lines go through log.h).
 *  @returns the configuration, or NULL (reason logged). */
rd_kafka_conf_t *execrec_kafka_conf_new(const char *brokers, const execrec_config_t *props,
                                        const char *const *defaults,
                                        const char *const *required);

/** For an error_cb: logs err once, clearly. @returns 1 when the error is fatal (the
 *  handle is unusable; librdkafka's fatal reason is logged), else 0. */
int execrec_kafka_log_error(rd_kafka_t *rk, int err, const char *reason);

/** Decodes a consumed message of kind with codec and adds it to writer as a row, or
 *  as a reject with its bytes as received. arena is reset first.
 *  @returns EXECREC_OK or EXECREC_ERR_NOMEM. */
execrec_err_t execrec_kafka_ingest(execrec_codec_t *codec, execrec_writer_t *writer,
                                   execrec_arena_t *arena, execrec_kind_t kind,
                                   const rd_kafka_message_t *m) EXECREC_MUSTCHECK;

/** The timeout for the next rd_kafka_consumer_poll of a loop that must act by
 *  deadline_ms (monotonic; 0: no deadline, e.g. no open batch): at most 100 ms, so
 *  that a stop flag is seen soon (STYLE.md 11), and never past the deadline. */
int execrec_kafka_poll_timeout(int64_t deadline_ms);

/** The partitions of topic, from the broker's metadata (all topics are asked for,
 *  so that asking never auto-creates one), waiting at most timeout_ms.
 *  @returns EXECREC_OK with *partitions (malloc'd, ascending; the caller frees
 *           it) and *n; EXECREC_ERR_NOTFOUND: the broker has no such topic;
 *           EXECREC_ERR_KAFKA: no answer (errstr, e.g. broker unreachable);
 *           EXECREC_ERR_NOMEM. */
execrec_err_t execrec_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                                       int32_t **partitions, int *n, char *errstr,
                                       size_t errstr_size) EXECREC_MUSTCHECK;

#endif
