/* execrec's named metrics and the health rules. See telemetry.h and docs/metrics.md. */
#include <assert.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "app/telemetry.h"
#include "base/timeutil.h"

#ifndef EXECREC_COMMIT
#define EXECREC_COMMIT "unknown"
#endif

struct execrec_telemetry_s {
    execrec_metrics_t *reg;
    execrec_metric_t *consumed, *skipped, *inserted, *duplicate, *updated, *refused, *rejects,
        *batches, *commit_seconds, *batch_rows, *latency, *lag, *assigned, *blocked, *retries,
        *backoff, *pg_up, *kafka_up, *last_commit;
    int64_t ready_max_age_ms;
    /* Read by the HTTP thread (monotonic ms; 0: never). */
    _Atomic int64_t heartbeat_ms, last_commit_ms, assigned_ms, lag_total;
    _Atomic int nassigned, pg_is_up, kafka_is_up;
};

static const char *const kinds[EXECREC_KIND__CNT] = {"order", "order_event", "trade",
                                                     "order_manager"};

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define C EXECREC_METRIC_COUNTER
#define G EXECREC_METRIC_GAUGE
#define H EXECREC_METRIC_HISTOGRAM

execrec_telemetry_t *execrec_telemetry_new(int64_t ready_max_age_ms) {
    /* Seconds: a commit is milliseconds when PostgreSQL is near, seconds when a
     * batch is large or the server slow. */
    static const double commit_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25,  0.5,    1,     2.5,  5,     10,   30};
    static const double rows_buckets[] = {1, 5, 10, 50, 100, 500, 1000, 2500, 5000, 10000, 50000};
    /* From a few ms (caught up) to an hour (a replay, a backlog). */
    static const double latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                             2.5,   5,    10,    30,   60,  300,  900, 3600};
    execrec_telemetry_t *t = calloc(1, sizeof(*t));
    if (!t || !(t->reg = execrec_metrics_new())) {
        free(t);
        return NULL;
    }
    t->ready_max_age_ms = ready_max_age_ms;
    execrec_metrics_t *r = t->reg;
    execrec_metric_t *build = execrec_metrics_add(r, G, "execrec_build_info",
                                                  "execrec's version and source commit (always 1)",
                                                  "version,commit", NULL, 0);
    execrec_metric_t *start = execrec_metrics_add(r, G, "execrec_process_start_time_seconds",
                                                  "when this process started, unix time in "
                                                  "seconds",
                                                  NULL, NULL, 0);
    t->consumed = execrec_metrics_add(r, C, "execrec_messages_consumed_total",
                                      "messages consumed from Kafka and handed to the decoder",
                                      "topic", NULL, 0);
    execrec_metric_t *skipped = t->skipped = execrec_metrics_add(
        r, C, "execrec_messages_skipped_total",
        "offsets passed over unrecorded, by reason: retention (gone from the broker before "
        "they were read: never recorded), stale (a re-delivery of what is recorded or "
        "batched), not_owned (a partition fenced, blocked or not assigned here)",
        "topic,reason", NULL, 0);
    t->inserted =
        execrec_metrics_add(r, C, "execrec_rows_inserted_total",
                            "new rows written to the fact tables, by kind", "kind", NULL, 0);
    t->duplicate = execrec_metrics_add(r, C, "execrec_rows_duplicate_total",
                                       "rows already recorded (same natural key, or an older "
                                       "order-manager intent), by kind",
                                       "kind", NULL, 0);
    t->updated = execrec_metrics_add(r, C, "execrec_rows_updated_total",
                                     "recorded rows replaced by a newer version (order-manager "
                                     "intents), by kind",
                                     "kind", NULL, 0);
    t->refused = execrec_metrics_add(r, C, "execrec_rows_refused_total",
                                     "rows PostgreSQL refused, stored as pg_refused rejects, by "
                                     "kind",
                                     "kind", NULL, 0);
    t->rejects = execrec_metrics_add(r, C, "execrec_rejects_total",
                                     "messages written to ingest_rejects, by reason code", "reason",
                                     NULL, 0);
    t->batches = execrec_metrics_add(r, C, "execrec_batches_committed_total",
                                     "batches committed to PostgreSQL", NULL, NULL, 0);
    t->commit_seconds = execrec_metrics_add(
        r, H, "execrec_batch_commit_duration_seconds",
        "time to write and commit one batch (its successful attempt)", NULL, commit_buckets,
        (int)(sizeof(commit_buckets) / sizeof(commit_buckets[0])));
    t->batch_rows =
        execrec_metrics_add(r, H, "execrec_batch_rows", "messages per committed batch", NULL,
                            rows_buckets, (int)(sizeof(rows_buckets) / sizeof(rows_buckets[0])));
    t->latency = execrec_metrics_add(
        r, H, "execrec_end_to_end_latency_seconds",
        "commit time minus the Kafka message timestamp, per message committed", NULL,
        latency_buckets, (int)(sizeof(latency_buckets) / sizeof(latency_buckets[0])));
    t->lag = execrec_metrics_add(r, G, "execrec_consumer_lag_messages",
                                 "messages on the broker not yet committed, per assigned "
                                 "partition",
                                 "topic,partition", NULL, 0);
    t->assigned = execrec_metrics_add(r, G, "execrec_assigned_partitions",
                                      "partitions assigned to this process", NULL, NULL, 0);
    t->blocked =
        execrec_metrics_add(r, G, "execrec_blocked_partitions",
                            "assigned partitions not being recorded, by reason", "reason", NULL, 0);
    t->retries =
        execrec_metrics_add(r, C, "execrec_retries_total",
                            "batch writes retried after a PostgreSQL failure", NULL, NULL, 0);
    t->backoff = execrec_metrics_add(r, G, "execrec_retry_backoff_seconds",
                                     "current wait before the next retry (0: none)", NULL, NULL, 0);
    t->pg_up =
        execrec_metrics_add(r, G, "execrec_postgres_up",
                            "1 when the last exchange with PostgreSQL succeeded", NULL, NULL, 0);
    t->kafka_up = execrec_metrics_add(r, G, "execrec_kafka_up",
                                      "1 when the broker answered and no all-brokers-down error "
                                      "has come since",
                                      NULL, NULL, 0);
    t->last_commit = execrec_metrics_add(r, G, "execrec_last_commit_timestamp_seconds",
                                         "when the last batch committed, unix time in seconds (0: "
                                         "none yet)",
                                         NULL, NULL, 0);
    if (!build || !start || !t->consumed || !skipped || !t->inserted || !t->duplicate ||
        !t->updated || !t->refused || !t->rejects || !t->batches || !t->commit_seconds ||
        !t->batch_rows || !t->latency || !t->lag || !t->assigned || !t->blocked || !t->retries ||
        !t->backoff || !t->pg_up || !t->kafka_up || !t->last_commit) {
        execrec_telemetry_destroy(t);
        return NULL;
    }
    execrec_metric_set(build, 1, EXECREC_VERSION, EXECREC_COMMIT);
    execrec_metric_set(start, (double)wall_ms() / 1000.0);
    /* Every kind's series exists from the start, so that sums and rates over kinds
     * are defined before the first batch. */
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_metric_add(t->inserted, 0, kinds[k]);
        execrec_metric_add(t->duplicate, 0, kinds[k]);
        execrec_metric_add(t->updated, 0, kinds[k]);
        execrec_metric_add(t->refused, 0, kinds[k]);
    }
    execrec_telemetry_blocked(t, 0, 0);
    atomic_store(&t->heartbeat_ms, execrec_time_monotonic_ms());
    return t;
}

#undef C
#undef G
#undef H

void execrec_telemetry_destroy(execrec_telemetry_t *t) {
    if (!t)
        return;
    execrec_metrics_destroy(t->reg);
    free(t);
}

execrec_metrics_t *execrec_telemetry_registry(execrec_telemetry_t *t) {
    return t ? t->reg : NULL;
}

void execrec_telemetry_heartbeat(execrec_telemetry_t *t) {
    if (t)
        atomic_store(&t->heartbeat_ms, execrec_time_monotonic_ms());
}

void execrec_telemetry_consumed(execrec_telemetry_t *t, const char *topic) {
    if (t)
        execrec_metric_add(t->consumed, 1, topic);
}

void execrec_telemetry_skipped(execrec_telemetry_t *t, const char *topic, const char *reason,
                               int64_t n) {
    if (t && n > 0)
        execrec_metric_add(t->skipped, (double)n, topic, reason);
}

void execrec_telemetry_batch_free(execrec_telemetry_batch_t *b) {
    free(b->ts);
    free(b->lat);
    memset(b, 0, sizeof(*b));
}

void execrec_telemetry_added(execrec_telemetry_t *t, execrec_telemetry_batch_t *b, int64_t ts_ms,
                             int first) {
    if (!t)
        return;
    if (first)
        b->nts = 0;
    if (ts_ms < 0)
        return;
    if (b->nts == b->ts_cap) {
        size_t cap = b->ts_cap ? 2 * b->ts_cap : 1024;
        int64_t *p = realloc(b->ts, cap * sizeof(*p));
        if (!p)
            return; /* that message's latency is not observed */
        b->ts = p;
        b->ts_cap = cap;
    }
    b->ts[b->nts++] = ts_ms;
}

void execrec_telemetry_committed(execrec_telemetry_t *t, execrec_telemetry_batch_t *b,
                                 const execrec_writer_stats_t *st, double seconds) {
    if (!t)
        return;
    int64_t now = wall_ms();
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        /* inserted counts an order-manager update as well (writer.h). */
        execrec_metric_add(t->inserted, (double)(st->inserted[k] - st->updated[k]), kinds[k]);
        execrec_metric_add(t->updated, (double)st->updated[k], kinds[k]);
        execrec_metric_add(t->duplicate, (double)st->duplicates[k], kinds[k]);
        execrec_metric_add(t->refused, (double)st->refused[k], kinds[k]);
    }
    for (int i = 0; i < st->nreasons; i++)
        execrec_metric_add(t->rejects, (double)st->reasons[i].n, st->reasons[i].code);
    execrec_metric_add(t->batches, 1);
    execrec_metric_observe(t->commit_seconds, &seconds, 1);
    double rows = (double)st->messages;
    execrec_metric_observe(t->batch_rows, &rows, 1);
    if (b->nts > b->lat_cap) {
        double *p = realloc(b->lat, b->nts * sizeof(*p));
        if (p) {
            b->lat = p;
            b->lat_cap = b->nts;
        }
    }
    size_t n = b->nts <= b->lat_cap ? b->nts : 0;
    for (size_t i = 0; i < n; i++) /* a producer's clock ahead of ours reads as 0 */
        b->lat[i] = now > b->ts[i] ? (double)(now - b->ts[i]) / 1000.0 : 0.0;
    execrec_metric_observe(t->latency, b->lat, n);
    b->nts = 0;
    execrec_metric_set(t->last_commit, (double)now / 1000.0);
    atomic_store(&t->last_commit_ms, execrec_time_monotonic_ms());
    execrec_telemetry_pg_up(t, 1);
}

void execrec_telemetry_retry(execrec_telemetry_t *t, int64_t backoff_ms) {
    if (!t)
        return;
    if (backoff_ms > 0)
        execrec_metric_add(t->retries, 1);
    execrec_metric_set(t->backoff, (double)backoff_ms / 1000.0);
    execrec_telemetry_heartbeat(t);
}

void execrec_telemetry_pg_up(execrec_telemetry_t *t, int up) {
    if (!t)
        return;
    atomic_store(&t->pg_is_up, up ? 1 : 0);
    execrec_metric_set(t->pg_up, up ? 1 : 0);
}

void execrec_telemetry_kafka_up(execrec_telemetry_t *t, int up) {
    if (!t)
        return;
    atomic_store(&t->kafka_is_up, up ? 1 : 0);
    execrec_metric_set(t->kafka_up, up ? 1 : 0);
}

int execrec_telemetry_kafka_is_up(const execrec_telemetry_t *t) {
    return t ? atomic_load(&t->kafka_is_up) : 0;
}

void execrec_telemetry_assigned(execrec_telemetry_t *t, int n) {
    if (!t)
        return;
    execrec_metric_clear(t->lag);
    execrec_metric_set(t->assigned, n);
    atomic_store(&t->assigned_ms, execrec_time_monotonic_ms());
    atomic_store(&t->nassigned, n);
    if (n == 0)
        execrec_telemetry_lag_total(t, 0);
}

void execrec_telemetry_lag(execrec_telemetry_t *t, const char *topic, int32_t partition,
                           int64_t lag) {
    if (!t)
        return;
    char p[16];
    snprintf(p, sizeof(p), "%" PRId32, partition);
    execrec_metric_set(t->lag, (double)lag, topic, p);
}

void execrec_telemetry_lag_total(execrec_telemetry_t *t, int64_t lag) {
    if (t)
        atomic_store(&t->lag_total, lag);
}

void execrec_telemetry_blocked(execrec_telemetry_t *t, int offset_past_end, int fenced) {
    if (!t)
        return;
    execrec_metric_set(t->blocked, offset_past_end, "offset_past_end");
    execrec_metric_set(t->blocked, fenced, "fenced");
}

char *execrec_telemetry_format(execrec_telemetry_t *t, size_t *len) {
    return execrec_metrics_format(t->reg, len);
}

int execrec_telemetry_healthy(execrec_telemetry_t *t, char *why, size_t why_size) {
    int64_t age = execrec_time_monotonic_ms() - atomic_load(&t->heartbeat_ms);
    if (age <= EXECREC_TELEMETRY_STALL_MS)
        return 1;
    snprintf(why, why_size, "the consume loop has shown no progress for %" PRId64 " s (limit %d s)",
             age / 1000, EXECREC_TELEMETRY_STALL_MS / 1000);
    return 0;
}

int execrec_telemetry_ready(execrec_telemetry_t *t, char *why, size_t why_size) {
    if (atomic_load(&t->nassigned) <= 0) {
        snprintf(why, why_size, "no partitions assigned");
        return 0;
    }
    if (!atomic_load(&t->pg_is_up)) {
        snprintf(why, why_size, "PostgreSQL unreachable");
        return 0;
    }
    int64_t lag = atomic_load(&t->lag_total);
    int64_t since = atomic_load(&t->last_commit_ms), assigned = atomic_load(&t->assigned_ms);
    if (assigned > since)
        since = assigned;
    int64_t age = execrec_time_monotonic_ms() - since;
    if (lag > 0 && age > t->ready_max_age_ms) {
        snprintf(why, why_size,
                 "no commit for %" PRId64 " s (limit %" PRId64 " s) with a lag of %" PRId64
                 " messages",
                 age / 1000, t->ready_max_age_ms / 1000, lag);
        return 0;
    }
    return 1;
}
