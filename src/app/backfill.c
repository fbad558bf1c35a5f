/* Backfill: resolve per-partition offset ranges, then replay them into the tables
 * with the batch writer. See backfill.h and docs/backfill.md.
 *
 * One thread, one librdkafka consumer that never joins a group: partitions are
 * given with rd_kafka_assign, auto-commit is off and nothing is committed, and the
 * writer is never told an offset, so neither Kafka's nor PostgreSQL's position of
 * the live consumer group can move. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "app/backfill.h"
#include "app/ingest.h"
#include "kafka/kafka.h"
#include "base/log.h"
#include "base/timeutil.h"

/* How long the cluster is waited for: broker_timeout_ms, else this. */
#define KAFKA_TIMEOUT_MS(bc) ((int)((bc)->broker_timeout_ms > 0 ? (bc)->broker_timeout_ms : 30000))
#define BAR_REFRESH_MS 250
/* Never committed: an assign-only consumer needs a group.id for nothing else. */
#define BACKFILL_GROUP "execrec-backfill"

typedef struct part_s {
    const char *topic; /* borrowed from the configuration */
    execrec_kind_t kind;
    int32_t partition;
    int64_t lo, hi;   /* watermarks when resolved */
    int64_t from, to; /* the range: [from, to) */
    int64_t next;     /* offset after the last message read; from at start */
    int done;
} part_t;

typedef struct bf_s {
    const execrec_backfill_conf_t *bc;
    execrec_backfill_result_t *res;
    rd_kafka_t *rk;
    execrec_ingest_t *ingest;
    execrec_writer_t *writer; /* the ingest's */
    part_t *parts;
    int nparts;
    int64_t batch_opened_ms; /* 0: the open batch is empty */
    int64_t started_ms;
    int64_t last_report_ms;
    int64_t metrics_ms;                 /* the last metrics_tick that updated gauges */
    execrec_metric_t *requested, *done; /* execrec_backfill_* (NULL: metrics off) */
} bf_t;

/* ---- set-up ---------------------------------------------------------------------- */

static rd_kafka_t *consumer_new(const execrec_backfill_conf_t *bc, char *errstr,
                                size_t errstr_size) {
    /* auto.offset.reset=error: if retention deletes what we are about to read, say
     * so instead of jumping silently to another offset. Key, value pairs. */
    /* clang-format off */
    const char *required[] = {
        "group.id", BACKFILL_GROUP,
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "enable.partition.eof", "true",
        "auto.offset.reset", "error",
        NULL};
    /* clang-format on */
    const char *defaults[] = {EXECREC_KAFKA_CONSUMER_DEFAULTS, NULL};
    execrec_kafka_client_t client = {.type = RD_KAFKA_CONSUMER,
                                     .brokers = bc->brokers,
                                     .props = bc->kafka,
                                     .defaults = defaults,
                                     .required = required};
    return execrec_kafka_new(&client, errstr, errstr_size);
}

static int wanted_partition(const execrec_backfill_conf_t *bc, int32_t partition) {
    if (!bc->partitions)
        return 1;
    for (int i = 0; i < bc->npartitions; i++)
        if (bc->partitions[i] == partition)
            return 1;
    return 0;
}

/* The partitions to replay, with their watermarks. */
static execrec_err_t list_parts(bf_t *b, char *errstr, size_t errstr_size) {
    const execrec_backfill_conf_t *bc = b->bc;
    for (int t = 0; t < bc->ntopics; t++) {
        int32_t *ids;
        int n;
        execrec_err_t err = execrec_kafka_partitions(b->rk, bc->topics[t], KAFKA_TIMEOUT_MS(bc),
                                                     &ids, &n, errstr, errstr_size);
        if (err == EXECREC_ERR_KAFKA)
            execrec_kafka_give_up(b->rk, "cannot read the topics", KAFKA_TIMEOUT_MS(bc), errstr,
                                  errstr_size);
        if (err)
            return err;
        for (int i = 0; bc->partitions && i < bc->npartitions; i++) {
            int found = 0;
            for (int j = 0; j < n; j++)
                found |= ids[j] == bc->partitions[i];
            if (!found) {
                snprintf(errstr, errstr_size,
                         "topic '%s' has no partition %" PRId32 " (it has %d: 0-%d)", bc->topics[t],
                         bc->partitions[i], n, n - 1);
                free(ids);
                return EXECREC_ERR_NOTFOUND;
            }
        }
        part_t *grown = realloc(b->parts, sizeof(part_t) * (size_t)(b->nparts + n + 1));
        if (!grown) {
            free(ids);
            return EXECREC_ERR_NOMEM;
        }
        b->parts = grown;
        for (int j = 0; j < n; j++) {
            if (!wanted_partition(bc, ids[j]))
                continue;
            part_t *p = &b->parts[b->nparts++];
            memset(p, 0, sizeof(*p));
            p->topic = bc->topics[t];
            p->kind = bc->kinds[t];
            p->partition = ids[j];
            rd_kafka_resp_err_t kerr = execrec_kafka_partition_watermarks(
                b->rk, p->topic, p->partition, &p->lo, &p->hi, KAFKA_TIMEOUT_MS(bc));
            if (kerr) {
                snprintf(errstr, errstr_size,
                         "%s [%" PRId32 "]: cannot read the watermarks "
                         "from the broker: %s",
                         p->topic, p->partition, rd_kafka_err2str(kerr));
                free(ids);
                return EXECREC_ERR_KAFKA;
            }
        }
        free(ids);
    }
    return EXECREC_OK;
}

/* ---- times to offsets ------------------------------------------------------------ */

/* Resolves ts_ms to an offset for every partition: the first message with a
 * timestamp at or after it, or the high watermark when there is none
 * (execrec_kafka_offset_for_time: offsets_for_times, else a binary search over
 * message timestamps where the broker cannot look a time up). */
static execrec_err_t resolve_time(bf_t *b, int64_t ts_ms, int64_t *out, char *errstr,
                                  size_t errstr_size) {
    execrec_err_t err = EXECREC_OK;
    for (int i = 0; i < b->nparts && !err && !*b->bc->stop; i++) {
        const part_t *p = &b->parts[i];
        err = execrec_kafka_offset_for_time(b->rk, p->topic, p->partition, p->lo, p->hi, ts_ms,
                                            KAFKA_TIMEOUT_MS(b->bc), &out[i], errstr, errstr_size);
    }
    if (!err && *b->bc->stop) {
        snprintf(errstr, errstr_size, "interrupted while resolving a time to offsets");
        err = EXECREC_ERR_KAFKA;
    }
    return err;
}

/* Sets every partition's [from, to) and checks it against the watermarks. Every
 * partition out of range is named in errstr (as many as fit). */
static execrec_err_t resolve_ranges(bf_t *b, char *errstr, size_t errstr_size) {
    const execrec_backfill_conf_t *bc = b->bc;
    int64_t *from_t = calloc((size_t)b->nparts + 1, sizeof(int64_t));
    int64_t *to_t = calloc((size_t)b->nparts + 1, sizeof(int64_t));
    execrec_err_t err = EXECREC_OK;
    if (!from_t || !to_t)
        err = EXECREC_ERR_NOMEM;
    if (!err && bc->from_time_ms != EXECREC_BACKFILL_UNSET)
        err = resolve_time(b, bc->from_time_ms, from_t, errstr, errstr_size);
    if (!err && bc->to_time_ms != EXECREC_BACKFILL_UNSET)
        err = resolve_time(b, bc->to_time_ms, to_t, errstr, errstr_size);
    size_t len = 0;
    for (int i = 0; i < b->nparts && !err; i++) {
        part_t *p = &b->parts[i];
        p->from = bc->from_offset != EXECREC_BACKFILL_UNSET    ? bc->from_offset
                  : bc->from_time_ms != EXECREC_BACKFILL_UNSET ? from_t[i]
                                                               : p->lo;
        p->to = bc->to_offset != EXECREC_BACKFILL_UNSET    ? bc->to_offset
                : bc->to_time_ms != EXECREC_BACKFILL_UNSET ? to_t[i]
                                                           : p->hi;
        const char *why = NULL;
        if (p->to < p->lo && bc->to_offset != EXECREC_BACKFILL_UNSET && p->from >= p->lo)
            p->from = 0; /* only a to, below the oldest message: name it as 0-to */
        if (p->from < p->lo && p->to > p->from)
            why = "older messages deleted by retention";
        else if (p->from > p->hi)
            why = "the range starts past the partition's end";
        if (why) {
            char have[64];
            if (p->hi > p->lo)
                snprintf(have, sizeof(have), "%" PRId64 "-%" PRId64, p->lo, p->hi - 1);
            else
                snprintf(have, sizeof(have), "nothing (next offset %" PRId64 ")", p->hi);
            if (len < errstr_size)
                len += (size_t)snprintf(errstr + len, errstr_size - len,
                                        "%s%s [%" PRId32 "]: offsets %" PRId64 "-%" PRId64
                                        " requested, but the broker has %s (%s)",
                                        len ? "; " : "", p->topic, p->partition, p->from, p->to - 1,
                                        have, why);
            continue;
        }
        if (p->to > p->hi) {
            execrec_log_info("%s [%" PRId32 "]: the range ends at the partition's end, "
                             "offset %" PRId64 " (%" PRId64 " was asked for)",
                             p->topic, p->partition, p->hi, p->to);
            p->to = p->hi;
        }
        if (p->to < p->from)
            p->to = p->from; /* times resolved out of order: nothing between them */
        p->next = p->from;
        p->done = p->from >= p->to;
    }
    if (!err && len)
        err = EXECREC_ERR_RANGE;
    free(from_t);
    free(to_t);
    return err;
}

/* ---- PostgreSQL ------------------------------------------------------------------ */

/* Writes the open batch (execrec_ingest_flush: retried with backoff until
 * deadline; writing it again is harmless: natural keys, no offsets).
 * @returns 0 written, -1 gave up (errstr), -2 out of memory. */
static int flush(bf_t *b, int64_t deadline, char *errstr, size_t errstr_size) {
    execrec_writer_stats_t st;
    execrec_err_t err = execrec_ingest_flush(b->ingest, deadline, &st, errstr, errstr_size);
    if (err == EXECREC_ERR_NOMEM)
        return -2;
    if (err)
        return -1;
    execrec_writer_stats_add(&b->res->stats, &st);
    b->batch_opened_ms = 0;
    return 0;
}

/* ---- progress -------------------------------------------------------------------- */

static int64_t done_offsets(const bf_t *b) {
    int64_t n = 0;
    for (int i = 0; i < b->nparts; i++)
        n += (b->parts[i].done ? b->parts[i].to : b->parts[i].next) - b->parts[i].from;
    return n;
}

/* On a terminal: "[#####.....]  45%  4500/10000 offsets  1234 msg/s  ETA 0:05",
 * redrawn in place; elsewhere: a log line. */
static void report(bf_t *b, int final) {
    int64_t t = execrec_time_monotonic_ms();
    int64_t every = b->bc->progress_bar ? BAR_REFRESH_MS : b->bc->stats_interval_ms;
    if (!final && (every <= 0 || t - b->last_report_ms < every))
        return;
    b->last_report_ms = t;
    int64_t total = b->res->requested, done = done_offsets(b);
    double secs = (double)(t - b->started_ms) / 1000.0;
    double rate = secs > 0 ? (double)b->res->read / secs : 0;
    double ratio = total > 0 ? (double)done / (double)total : 1;
    int64_t eta =
        rate > 0 && done > 0 ? (int64_t)((double)(total - done) * secs / (double)done) : -1;
    char etas[32];
    if (eta >= 0)
        snprintf(etas, sizeof(etas), "%" PRId64 ":%02" PRId64, eta / 60, eta % 60);
    else
        snprintf(etas, sizeof(etas), "-");
    if (b->bc->progress_bar) {
        char bar[31];
        int filled = (int)(ratio * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %3d%%  %" PRId64 "/%" PRId64 " offsets  %.0f msg/s  ETA %s ", bar,
                (int)(ratio * 100), done, total, rate, etas);
        if (final)
            fputc('\n', stderr);
        fflush(stderr);
    } else if (!final) {
        execrec_log_info("backfill: %" PRId64 " of %" PRId64 " offsets (%d%%), %" PRId64
                         " messages read, %.0f msg/s, ETA %s",
                         done, total, (int)(ratio * 100), b->res->read, rate, etas);
    }
}

/* ---- the replay ------------------------------------------------------------------ */

static part_t *find_part(bf_t *b, const char *topic, int32_t partition) {
    for (int i = 0; i < b->nparts; i++)
        if (b->parts[i].partition == partition && !strcmp(b->parts[i].topic, topic))
            return &b->parts[i];
    return NULL;
}

/* p has reached the end of its range: stop fetching it. */
static void part_done(bf_t *b, part_t *p) {
    p->done = 1;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    rd_kafka_pause_partitions(b->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

/* @returns 0, or an error (errstr) that ends the replay. */
static execrec_err_t on_message(bf_t *b, const rd_kafka_message_t *m, char *errstr,
                                size_t errstr_size) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    part_t *p = find_part(b, topic, m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* Nothing more to read: the rest of the range holds no messages (compacted
         * away, or transaction markers). */
        if (p && !p->done && m->offset >= p->to)
            part_done(b, p);
        return EXECREC_OK;
    }
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
        m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        snprintf(errstr, errstr_size,
                 "%s [%" PRId32 "]: offset %" PRId64 " is no longer on "
                 "the broker (deleted by retention while the backfill ran): %s",
                 topic, m->partition, p ? p->next : m->offset, rd_kafka_message_errstr(m));
        return EXECREC_ERR_RANGE;
    }
    if (m->err) {
        execrec_log_warn("kafka: %s%s%s", topic, *topic ? ": " : "", rd_kafka_message_errstr(m));
        return EXECREC_OK;
    }
    if (!p || p->done || m->offset < p->next)
        return EXECREC_OK;
    if (m->offset >= p->to) {
        part_done(b, p);
        return EXECREC_OK;
    }
    execrec_err_t err = execrec_ingest_message(b->ingest, p->kind, m);
    if (err) {
        snprintf(errstr, errstr_size, "%s [%" PRId32 "] offset %" PRId64 ": %s", topic,
                 m->partition, m->offset, execrec_err_name(err));
        return err;
    }
    b->res->read++;
    p->next = m->offset + 1;
    if (!b->batch_opened_ms)
        b->batch_opened_ms = execrec_time_monotonic_ms();
    if (p->next >= p->to)
        part_done(b, p);
    return EXECREC_OK;
}

static int all_done(const bf_t *b) {
    for (int i = 0; i < b->nparts; i++)
        if (!b->parts[i].done)
            return 0;
    return 1;
}

/* With metrics on: the heartbeat, and once a second the offsets left per partition
 * (as consumer lag), the progress gauges and PostgreSQL's reachability while idle. */
static void metrics_tick(bf_t *b) {
    execrec_telemetry_t *t = b->bc->telemetry;
    if (!t)
        return;
    execrec_telemetry_heartbeat(t);
    int64_t now = execrec_time_monotonic_ms();
    if (now - b->metrics_ms < 1000)
        return;
    b->metrics_ms = now;
    int64_t left = 0;
    for (int i = 0; i < b->nparts; i++) {
        const part_t *p = &b->parts[i];
        int64_t n = p->done || p->next >= p->to ? 0 : p->to - p->next;
        execrec_telemetry_lag(t, p->topic, p->partition, n);
        left += n;
    }
    execrec_telemetry_lag_total(t, left);
    execrec_metric_set(b->requested, (double)b->res->requested);
    execrec_metric_set(b->done, (double)done_offsets(b));
    execrec_ingest_probe(b->ingest);
}

static execrec_err_t replay(bf_t *b, char *errstr, size_t errstr_size) {
    const execrec_backfill_conf_t *bc = b->bc;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(b->nparts);
    for (int i = 0; i < b->nparts; i++)
        if (!b->parts[i].done)
            rd_kafka_topic_partition_list_add(l, b->parts[i].topic, b->parts[i].partition)->offset =
                b->parts[i].from;
    rd_kafka_resp_err_t kerr = l->cnt ? rd_kafka_assign(b->rk, l) : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr) {
        snprintf(errstr, errstr_size, "assign failed: %s", rd_kafka_err2str(kerr));
        return EXECREC_ERR_KAFKA;
    }
    b->started_ms = b->last_report_ms = execrec_time_monotonic_ms();
    int64_t heard = b->started_ms; /* the cluster's last sign of life */
    execrec_err_t err = EXECREC_OK;
    while (!all_done(b) && !*bc->stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(
            b->rk,
            execrec_kafka_poll_timeout(b->batch_opened_ms ? b->batch_opened_ms + bc->batch_ms : 0));
        metrics_tick(b);
        if (m || execrec_time_monotonic_ms() - heard < KAFKA_TIMEOUT_MS(bc)) {
            if (m)
                heard = execrec_time_monotonic_ms();
        } else if (execrec_kafka_answers(b->rk, 1000)) {
            heard = execrec_time_monotonic_ms();
        } else {
            execrec_kafka_give_up(NULL, "the replay stopped", KAFKA_TIMEOUT_MS(bc), errstr,
                                  errstr_size);
            err = EXECREC_ERR_KAFKA;
            break;
        }
        if (m) {
            err = on_message(b, m, errstr, errstr_size);
            rd_kafka_message_destroy(m);
            if (err)
                break;
        }
        int64_t pending = execrec_writer_pending(b->writer);
        if (execrec_ingest_full(b->ingest) ||
            (pending > 0 && execrec_time_monotonic_ms() - b->batch_opened_ms >= bc->batch_ms)) {
            int f = flush(b, -1, errstr, errstr_size);
            if (f == -2)
                return EXECREC_ERR_NOMEM;
            if (f == -1) {
                /* The shutdown deadline passed (or a second signal came) while
                 * PostgreSQL was retried. */
                b->res->interrupted = 1;
                snprintf(errstr + strlen(errstr), errstr_size - strlen(errstr),
                         "; the open batch of %" PRId64 " messages was not written by the "
                         "shutdown deadline: run the backfill again (it is idempotent)",
                         execrec_writer_pending(b->writer));
                return EXECREC_ERR_PG;
            }
        }
        report(b, 0);
    }
    b->res->interrupted = !all_done(b);
    /* What was read is written, also on a signal or an error: it is all valid. */
    char why[1024];
    /* After a signal the ingest cuts the wait to the shutdown deadline. */
    int f = flush(b, EXECREC_INGEST_FOREVER, why, sizeof(why));
    b->metrics_ms = 0;
    metrics_tick(b);
    report(b, 1);
    if (f == -2)
        return EXECREC_ERR_NOMEM;
    if (f == -1 && !err) {
        snprintf(errstr, errstr_size,
                 "the open batch of %" PRId64 " messages was not written "
                 "(%s): run the backfill again (it is idempotent)",
                 execrec_writer_pending(b->writer), why);
        return EXECREC_ERR_PG;
    }
    return err;
}

execrec_err_t execrec_backfill_run(const execrec_backfill_conf_t *bc,
                                   execrec_backfill_result_t *res, char *errstr,
                                   size_t errstr_size) {
    bf_t b;
    memset(&b, 0, sizeof(b));
    memset(res, 0, sizeof(*res));
    b.bc = bc;
    b.res = res;
    execrec_err_t err = EXECREC_OK;
    if (bc->from_offset != EXECREC_BACKFILL_UNSET && bc->to_offset != EXECREC_BACKFILL_UNSET &&
        bc->from_offset > bc->to_offset) {
        snprintf(errstr, errstr_size, "--from-offset %" PRId64 " is after --to-offset %" PRId64,
                 bc->from_offset, bc->to_offset);
        return EXECREC_ERR_INVALID;
    }
    if (bc->from_time_ms != EXECREC_BACKFILL_UNSET && bc->to_time_ms != EXECREC_BACKFILL_UNSET &&
        bc->from_time_ms > bc->to_time_ms) {
        snprintf(errstr, errstr_size, "--from-time is after --to-time");
        return EXECREC_ERR_INVALID;
    }
    if (!(b.rk = consumer_new(bc, errstr, errstr_size))) {
        err = EXECREC_ERR_KAFKA;
        goto out;
    }
    if ((err = list_parts(&b, errstr, errstr_size)) ||
        (err = resolve_ranges(&b, errstr, errstr_size)))
        goto out;
    for (int i = 0; i < b.nparts; i++) {
        part_t *p = &b.parts[i];
        if (p->to > p->from) {
            res->partitions++;
            res->requested += p->to - p->from;
        }
        execrec_log_kv(EXECREC_LOG_INFO,
                       EXECREC_LOG_FIELDS(EXECREC_LF_TOPIC(p->topic),
                                          EXECREC_LF_PARTITION(p->partition),
                                          EXECREC_LF_OFFSET(p->from)),
                       "%s [%" PRId32 "] (%s): offsets %" PRId64 "-%" PRId64 " (%" PRId64
                       " offsets; the broker has %" PRId64 "-%" PRId64 ")",
                       p->topic, p->partition, execrec_kind_name(p->kind), p->from, p->to - 1,
                       p->to - p->from, p->lo, p->hi - 1);
    }
    execrec_ingest_conf_t ic = {.dsn = bc->dsn,
                                .codec = bc->codec,
                                .stop = bc->stop,
                                .shutdown_ms = bc->shutdown_timeout_ms,
                                .done = "written",
                                .batch_size = bc->batch_size,
                                .batch_bytes = bc->batch_bytes,
                                .reject_payload_max = bc->reject_payload_max,
                                .telemetry = bc->telemetry};
    if (bc->telemetry) {
        execrec_metrics_t *reg = execrec_telemetry_registry(bc->telemetry);
        b.requested =
            execrec_metrics_add(reg, EXECREC_METRIC_GAUGE, "execrec_backfill_offsets_requested",
                                "offsets in the backfill's resolved ranges", NULL, NULL, 0);
        b.done = execrec_metrics_add(reg, EXECREC_METRIC_GAUGE, "execrec_backfill_offsets_done",
                                     "offsets of the ranges replayed so far", NULL, NULL, 0);
        execrec_metric_set(b.requested, (double)res->requested);
        execrec_telemetry_kafka_up(bc->telemetry, 1); /* it answered the ranges */
        execrec_telemetry_assigned(bc->telemetry, (int)res->partitions);
    }
    if (!(b.ingest = execrec_ingest_new(&ic, errstr, errstr_size))) {
        err = EXECREC_ERR_NOMEM;
        goto out;
    }
    b.writer = execrec_ingest_writer(b.ingest);
    /* The migrator's error keeps its class (EXECREC_ERR_MIGRATE for an edited
     * migration file, EXECREC_ERR_PG when PostgreSQL failed). */
    int applied = 0;
    if ((err = execrec_ingest_connect(b.ingest, &applied, errstr, errstr_size)))
        goto out;
    execrec_telemetry_pg_up(bc->telemetry, 1);
    err = replay(&b, errstr, errstr_size);
out:
    if (b.rk) {
        rd_kafka_consumer_close(b.rk); /* assign-only, auto-commit off: commits nothing */
        rd_kafka_destroy(b.rk);
    }
    free(b.parts);
    execrec_ingest_destroy(b.ingest);
    return err;
}
