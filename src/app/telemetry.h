/* execrec's metrics and health: the named metrics of docs/metrics.md in a registry
 * (base/metrics.h), updated by the consume loop (recorder, backfill, through the
 * ingest), and the liveness and readiness rules that the HTTP endpoint
 * (metrics_http.h) answers from another thread.
 *
 * Every function takes a NULL telemetry as "metrics off" and does nothing, so the
 * loops call them unconditionally. All but the readers (execrec_telemetry_format,
 * _healthy, _ready) are called from the loop's thread only; the readers may run on
 * any thread at any time: the state they read is in C11 atomics or behind the
 * registry's lock, which no update holds for longer than an add. */
#ifndef EXECREC_TELEMETRY_H
#define EXECREC_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>
#include "base/metrics.h"
#include "pg/writer.h"

typedef struct execrec_telemetry_s execrec_telemetry_t;

/* The loop has shown no sign of life for this long: /healthz fails. The longest
 * the loop legitimately goes without a heartbeat is one PostgreSQL retry wait
 * (EXECREC_PG_BACKOFF_MAX_MS) plus one statement or connection attempt. */
#define EXECREC_TELEMETRY_STALL_MS 60000

/** @returns the metrics of a run, every family registered (execrec_build_info and
 *  execrec_process_start_time_seconds set), or NULL when out of memory.
 *  ready_max_age_ms: /readyz fails when there is lag and the last commit (or the
 *  assignment, if later) is older than that. */
execrec_telemetry_t *execrec_telemetry_new(int64_t ready_max_age_ms);
/** Frees t. NULL: no-op. Stop the HTTP server (metrics_http.h) first. */
void execrec_telemetry_destroy(execrec_telemetry_t *t);
/** The registry, for families of a command's own (backfill's progress). */
execrec_metrics_t *execrec_telemetry_registry(execrec_telemetry_t *t);

/* ---- updates: the loop's thread ---------------------------------------------------- */

/** The loop is alive (called every iteration, and between retries). */
void execrec_telemetry_heartbeat(execrec_telemetry_t *t);
/** One message of topic was consumed (handed to the decoder). */
void execrec_telemetry_consumed(execrec_telemetry_t *t, const char *topic);
/** n offsets of topic were passed over unrecorded, for reason: "retention" (gone
 *  from the broker before they were read: never recorded), "stale" (a re-delivery
 *  below the partition's next offset: recorded or in the open batch already),
 *  "not_owned" (a partition fenced, blocked or not assigned here). */
void execrec_telemetry_skipped(execrec_telemetry_t *t, const char *topic, const char *reason,
                               int64_t n);
/** One writer's open batch, as the latency metric needs it: the Kafka timestamps
 *  of its messages. Each writer (each thread) has its own; the registry is shared.
 *  Zero-initialised is empty; execrec_telemetry_batch_free frees what it holds. */
typedef struct execrec_telemetry_batch_s {
    int64_t *ts; /* the open batch's Kafka timestamps (ms) */
    size_t nts, ts_cap;
    double *lat; /* scratch for the observations */
    size_t lat_cap;
} execrec_telemetry_batch_t;
void execrec_telemetry_batch_free(execrec_telemetry_batch_t *b);
/** A message with Kafka timestamp ts_ms (-1: none) joined the open batch b; first:
 *  it is the batch's first (the timestamps of an earlier, dropped batch are
 *  forgotten). */
void execrec_telemetry_added(execrec_telemetry_t *t, execrec_telemetry_batch_t *b, int64_t ts_ms,
                             int first);
/** The batch b committed: st is its writer stats, seconds the duration of its
 *  successful flush. Observes the rows per batch, the commit duration and each
 *  message's end-to-end latency (now minus its Kafka timestamp). */
void execrec_telemetry_committed(execrec_telemetry_t *t, execrec_telemetry_batch_t *b,
                                 const execrec_writer_stats_t *st, double seconds);
/** A failed flush is retried after backoff_ms (counted as one retry); 0: the retry
 *  loop ended (the current backoff goes back to 0). */
void execrec_telemetry_retry(execrec_telemetry_t *t, int64_t backoff_ms);
/** The last outcome with PostgreSQL / Kafka: 1 reachable, 0 not. */
void execrec_telemetry_pg_up(execrec_telemetry_t *t, int up);
void execrec_telemetry_kafka_up(execrec_telemetry_t *t, int up);
/** @returns the last value given to execrec_telemetry_kafka_up (0 when t is NULL). */
int execrec_telemetry_kafka_is_up(const execrec_telemetry_t *t);
/** The assignment changed: n partitions (0: none). Forgets the lag per partition. */
void execrec_telemetry_assigned(execrec_telemetry_t *t, int n);
/** Lag of one partition (messages not yet committed), and the sum over all. */
void execrec_telemetry_lag(execrec_telemetry_t *t, const char *topic, int32_t partition,
                           int64_t lag);
void execrec_telemetry_lag_total(execrec_telemetry_t *t, int64_t lag);
/** Partitions blocked: started past their end (offset_past_end), or dropped after
 *  another recorder moved their offset (fenced). */
void execrec_telemetry_blocked(execrec_telemetry_t *t, int offset_past_end, int fenced);

/* ---- readers: any thread ------------------------------------------------------------ */

/** @returns the Prometheus exposition (malloc'd, *len bytes), or NULL (out of memory). */
char *execrec_telemetry_format(execrec_telemetry_t *t, size_t *len);
/** @returns 1 when the loop had a heartbeat within EXECREC_TELEMETRY_STALL_MS; else 0
 *  with a one-line reason in why. */
int execrec_telemetry_healthy(execrec_telemetry_t *t, char *why, size_t why_size);
/** @returns 1 when ready: partitions assigned, PostgreSQL reachable, and a commit
 *  within ready_max_age_ms of now or no lag; else 0 with a one-line reason in why. */
int execrec_telemetry_ready(execrec_telemetry_t *t, char *why, size_t why_size);

#endif
