/* What every librdkafka client of execrec shares (recorder, backfill, publish,
 * status), and nothing else: the one client factory (defaults, the -X pass-through
 * properties, the settings correctness depends on, and librdkafka's log lines
 * routed through log.h from the caller's poll loop, STYLE.md 12), logging
 * librdkafka's errors, and metadata look-ups. Decoding and writing messages is
 * ingest.h's. */
#ifndef EXECREC_KAFKA_H
#define EXECREC_KAFKA_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "execrec/config.h"
#include "execrec/err.h"

/* The consumers' defaults (recorder, backfill), key, value pairs; -X overrides them.
 * fetch.wait.max.ms: a broker answers a fetch as soon as it has data, but the
 * embedded (mock) broker waits the whole time; 50 ms keeps its latency low and costs
 * a real cluster a few empty fetches a second when idle. queued.max.messages.kbytes
 * and fetch.max.bytes bound the prefetched messages, most of a consumer's memory,
 * so that it stays flat whatever the stream's length (docs/performance.md). */
#define EXECREC_KAFKA_CONSUMER_DEFAULTS                                                            \
    "fetch.wait.max.ms", "50", "queued.max.messages.kbytes", "16384", "fetch.max.bytes", "8388608"

/** Sets one property.
 *  @returns EXECREC_OK, or EXECREC_ERR_INVALID with "kafka property <key>: <reason>"
 *  in errstr (never quoting a secret's value). */
execrec_err_t execrec_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                                     char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;

/** Builds a client configuration: `defaults` (NULL-terminated key, value pairs)
 *  first, then every -X property of props (may be NULL), then bootstrap.servers =
 *  brokers, then `required` (key, value pairs: a -X of one of them is refused, unless
 *  `interpreted` (NULL-terminated keys, may be NULL) names it: the caller reads that
 *  -X value itself and acts on it, as the recorder does with auto.offset.reset). The log
 *  callback is execrec's (librdkafka's lines go through log.h).
 *  @returns EXECREC_OK with *confp (the caller owns it); EXECREC_ERR_INVALID (a bad
 *  property, errstr names it) or EXECREC_ERR_NOMEM, *confp NULL. */
execrec_err_t execrec_kafka_conf_new(const char *brokers, const execrec_config_t *props,
                                     const char *const *defaults, const char *const *required,
                                     const char *const *interpreted, rd_kafka_conf_t **confp,
                                     char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;

typedef void(execrec_kafka_error_cb)(rd_kafka_t *rk, int err, const char *reason, void *opaque);
typedef void(execrec_kafka_rebalance_cb)(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                         rd_kafka_topic_partition_list_t *partitions, void *opaque);
typedef void(execrec_kafka_dr_msg_cb)(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque);

/** A client to create: its type, properties (as execrec_kafka_conf_new) and
 *  callbacks (NULL: none; error_cb NULL: execrec_kafka_log_error). */
typedef struct execrec_kafka_client_s {
    rd_kafka_type_t type;
    const char *brokers;
    const execrec_config_t *props;
    const char *const *defaults;
    const char *const *required;
    const char *const *interpreted; /* -X keys of required the caller reads itself */
    void *opaque;
    execrec_kafka_error_cb *error_cb;
    execrec_kafka_rebalance_cb *rebalance_cb; /* consumers */
    execrec_kafka_dr_msg_cb *dr_msg_cb;       /* producers */
} execrec_kafka_client_t;

/** The one librdkafka client factory. log.queue is always on: librdkafka's log
 *  lines wait on the client's main queue and are logged (log.h) by the thread that
 *  polls it, never from librdkafka's threads. A consumer's main queue is forwarded
 *  to its consumer queue (rd_kafka_poll_set_consumer), so rd_kafka_consumer_poll
 *  serves them; a client that does not poll in a loop calls execrec_kafka_serve.
 *  @returns the handle (rd_kafka_destroy), or NULL with errstr: a bad property
 *  (as execrec_kafka_conf_new) or librdkafka's reason. */
rd_kafka_t *execrec_kafka_new(const execrec_kafka_client_t *client, char *errstr,
                              size_t errstr_size);

/** Serves what waits on rk's queue without blocking: log lines and callbacks (a
 *  consumer's message events, never expected where this is used, are dropped). */
void execrec_kafka_serve(rd_kafka_t *rk);

/** Checks every -X property (props' pass-through properties) before any client
 *  exists: each must be one librdkafka knows, with a value it takes, and none may be
 *  one execrec sets itself (bootstrap.servers, group.id, enable.auto.commit, ...;
 *  more: further key, hint pairs the caller sets, may be NULL); then a client of
 *  type with no brokers is created and destroyed (it never connects), for what
 *  librdkafka checks only there (properties that must go together, files).
 *  @returns EXECREC_OK, or EXECREC_ERR_INVALID with "-X <key>: <why>" in errstr. */
execrec_err_t execrec_kafka_check_props(const execrec_config_t *props, const char *const *more,
                                        rd_kafka_type_t type, char *errstr,
                                        size_t errstr_size) EXECREC_MUSTCHECK;

/** The low and high watermarks of topic [partition]: execrec_kafka_watermarks for a
 *  list of one (two ListOffsets requests, earliest and latest, whose answers are
 *  checked, and after a failure a metadata refresh and one more attempt). rd_kafka_query_watermark_offsets
 *  (librdkafka 2.0.2) is not used: when the request for the earliest offset fails it
 *  can report low = high without an error (it takes a missing low for an empty
 *  partition), which the recorder took for messages deleted by retention and skipped;
 *  and it keeps the partition leader it cached when the broker answers "not leader",
 *  until a metadata refresh (every topic.metadata.refresh.interval.ms, 5 min, or a
 *  fetch error), so a client that does not fetch the partition asked the old leader
 *  again and again. Both were found by the chaos test (docs/testing.md).
 *  @returns the error of the last attempt (RD_KAFKA_RESP_ERR_NO_ERROR: lo, hi set). */
rd_kafka_resp_err_t execrec_kafka_partition_watermarks(rd_kafka_t *rk, const char *topic,
                                                       int32_t partition, int64_t *lo, int64_t *hi,
                                                       int timeout_ms);

/** Whether the cluster answers a metadata request (of no topic) within timeout_ms:
 *  a sign of life while no message arrives. @returns 1 it answered, 0 not. */
int execrec_kafka_answers(rd_kafka_t *rk, int timeout_ms);

/** The reason of the last error any client reported through
 *  execrec_kafka_log_error (all brokers down aside), "" when none. */
void execrec_kafka_last_error(char *buf, size_t size);

/** The message of a command that gives up waiting for the cluster: "<what>: no
 *  answer from the Kafka cluster within <timeout_ms> ms (--broker-timeout-ms); last
 *  error: <the last error reported>". Serves rk's queue first (may be NULL), so
 *  that errors not yet seen by an error_cb are counted. */
void execrec_kafka_give_up(rd_kafka_t *rk, const char *what, int64_t timeout_ms, char *errstr,
                           size_t errstr_size);

/** For an error_cb: logs err once, clearly. @returns 1 when the error is fatal (the
 *  handle is unusable; librdkafka's fatal reason is logged), else 0. */
int execrec_kafka_log_error(rd_kafka_t *rk, int err, const char *reason);

/** The log callback of every librdkafka handle: its lines go through log.h, in the
 *  format of execrec's own (JSON fields facility and client, the handle's name),
 *  at the level librdkafka gives (syslog levels: <= 3 error, 4 warn, 5-6 info,
 *  7 debug). */
void execrec_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

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

/** The low and high watermarks of every partition of list (lo[i], hi[i] for
 *  list->elems[i]), asked for all at once: one ListOffsets request per broker for
 *  the log starts and one for the log ends, however many partitions there are.
 *  rd_kafka_query_watermark_offsets asks two per partition, one partition at a
 *  time: 128 partitions cost 128 round trips (1.4 s with a broker 5 ms away,
 *  docs/performance.md). Each answer is checked (its error, an offset, start <=
 *  end), and after a failure the metadata is refreshed and all are asked once more,
 *  as execrec_kafka_partition_watermarks does for one. The offsets of list are not
 *  changed.
 *  @returns EXECREC_OK; EXECREC_ERR_KAFKA: no answer, or a partition's error
 *           (errstr names the first such partition); EXECREC_ERR_NOMEM. */
execrec_err_t execrec_kafka_watermarks(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *list,
                                       int64_t *lo, int64_t *hi, int timeout_ms, char *errstr,
                                       size_t errstr_size) EXECREC_MUSTCHECK;

/** The first offset of topic [partition] whose message has a Kafka timestamp at or
 *  after ts_ms, or hi when there is none; lo and hi are the partition's
 *  watermarks. rk is a consumer that has not subscribed (it is assigned the
 *  partition while this reads, and unassigned after). rd_kafka_offsets_for_times
 *  answers first; where the broker cannot (librdkafka's mock cluster among them,
 *  which answers -1), a binary search over message timestamps does, which like
 *  offsets_for_times assumes timestamps grow along the partition.
 *  @returns EXECREC_OK with *offset; EXECREC_ERR_KAFKA: no answer (errstr). */
execrec_err_t execrec_kafka_offset_for_time(rd_kafka_t *rk, const char *topic, int32_t partition,
                                            int64_t lo, int64_t hi, int64_t ts_ms, int timeout_ms,
                                            int64_t *offset, char *errstr,
                                            size_t errstr_size) EXECREC_MUSTCHECK;

#endif
