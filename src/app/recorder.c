/* The recorder, see recorder.h and docs/recorder.md.
 *
 * One thread. librdkafka calls the rebalance callback from inside
 * rd_kafka_consumer_poll() (and rd_kafka_consumer_close()), so the batch, the
 * partition table and the PostgreSQL connection are only ever touched here.
 *
 * The flush path is one pass down and back: flush_batch -> execrec_ingest_flush
 * -> execrec_writer_ensure / execrec_writer_flush (offsets CAS inside) -> libpq;
 * the only call back up is the conflict handler (batch_conflict), which reads the
 * stored offsets through offsets.h on the writer's connection.
 *
 * Per partition we keep two offsets: `expected`, the next offset stored in
 * PostgreSQL as of our last commit (-1: no row yet), which is what the batch's
 * compare-and-set checks; and `next`, the offset after the last message added to
 * the open batch. A batch that commits moves expected to next.
 *
 * No offset is passed over silently (docs/offsets.md). A partition whose start
 * offset is past the log's end (a recreated topic, another cluster) is blocked:
 * never assigned, never reset, until an operator runs `execrec offsets reset`.
 * librdkafka's own reset is off (auto.offset.reset=error): an out-of-range fetch
 * comes back as an error event and is settled here, blocked when the position is
 * past the end, a counted gap when retention removed what it pointed at. Messages
 * below a partition's next offset (a re-delivery after a seek) are counted as
 * stale, those of a partition not consumed (fenced, blocked) as ignored. */
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include "app/ingest.h"
#include "kafka/kafka.h"
#include "base/log.h"
#include "pg/offsets.h"
#include "pg/pg.h"
#include "app/recorder.h"
#include "base/timeutil.h"
#include "pg/writer.h"

/* How long a revocation or a shutdown keeps retrying an unreachable PostgreSQL
 * before it abandons the open batch (safe: nothing of it was committed). */
#define REVOKE_GRACE_MS 10000
#define KAFKA_TIMEOUT_MS 10000

typedef struct part_s {
    char *topic;
    int32_t partition;
    execrec_kind_t kind;
    int64_t expected;    /* stored next offset as of our last commit; -1: no row */
    int64_t next;        /* offset after the last message added, or the start */
    int64_t batch_start; /* first offset in the open batch; -1: none */
    int64_t end;         /* high watermark when assigned (--exit-at-end) */
    int eof;             /* end of partition seen at or past end */
    int fenced;          /* dropped after a compare-and-set mismatch */
    int blocked;         /* start offset past the log's end: not consumed until reset */
    int64_t blocked_hi;  /* the log's end when it was blocked */
} part_t;

typedef struct rec_s {
    const execrec_recorder_conf_t *rc;
    rd_kafka_t *rk;
    execrec_ingest_t *ingest;
    execrec_writer_t *writer; /* the ingest's */
    part_t *parts;
    int nparts;
    part_t *last;            /* the partition of the last message: fetches come in runs */
    int assigned;            /* an assignment is in force */
    int reset_latest;        /* -X auto.offset.reset=latest: where a partition without a
                                position starts (librdkafka's own reset is off) */
    int64_t batch_opened_ms; /* when the open batch got its first message; 0: empty */
    int64_t last_added_ms;   /* when the open batch got its last message */
    int64_t consumed;
    /* Messages and offsets not recorded, by cause, since start (the totals line). */
    int64_t skipped;   /* offsets passed over: retention removed them first */
    int64_t stale;     /* re-deliveries below a partition's next offset */
    int64_t ignored;   /* messages of a partition not consumed (fenced, blocked, unknown) */
    int64_t uncounted; /* consumed, then rolled back (conflict) or abandoned */
    int64_t heard_ms;  /* exit_at_end: when the cluster last gave a sign of life */
    execrec_writer_stats_t total;
    int stop_seen;    /* the stop signal was logged */
    int hups;         /* SIGHUPs logged so far */
    int gave_up;      /* a flush gave up (shutdown deadline, second signal) */
    int pg_up;        /* at the last failed flush the server was up: it refused */
    char pg_why[512]; /* the last failed flush's reason */
    int fatal;
    char why[1024]; /* the first fatal error's reason */

    /* metrics_tick's clocks: the last gauge update, the last Kafka probe */
    int64_t metrics_ms, kafka_probe_ms;
} rec_t;

#define now_ms execrec_time_monotonic_ms

static const char *kind_label(execrec_kind_t k) {
    static const char *label[EXECREC_KIND__CNT] = {"orders", "events", "trades", "managers"};
    return label[k];
}

/* ---- PostgreSQL --------------------------------------------------------------- */

/* Stops the recorder: the first reason is kept for execrec_recorder_run's errstr. */
static void fatal(rec_t *r, const char *fmt, ...) EXECREC_PRINTF(2, 3);
static void fatal(rec_t *r, const char *fmt, ...) {
    if (!r->fatal) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, sizeof(r->why), fmt, ap);
        va_end(ap);
    }
    r->fatal = 1;
}

typedef struct stored_s {
    const rec_t *r;
    int64_t *stored;
} stored_t;

static execrec_err_t stored_row(void *opaque, const char *topic, int32_t partition,
                                int64_t next_offset) {
    stored_t *st = opaque;
    for (int i = 0; i < st->r->nparts; i++)
        if (st->r->parts[i].partition == partition && !strcmp(st->r->parts[i].topic, topic))
            st->stored[i] = next_offset;
    return EXECREC_OK;
}

/* Reads this group's stored offsets (offsets.h) on the writer's connection, which
 * holds no transaction here: the batch is empty (assignment) or its flush just
 * failed (a conflict). stored[i] is the next offset of parts[i], or -1 when there
 * is no row. @returns EXECREC_OK, or EXECREC_ERR_PG (errstr). */
static execrec_err_t read_stored(rec_t *r, int64_t *stored, char *errstr, size_t errstr_size) {
    execrec_err_t err = execrec_writer_ensure(r->writer, errstr, errstr_size);
    if (err)
        return err;
    for (int i = 0; i < r->nparts; i++)
        stored[i] = -1;
    stored_t st = {r, stored};
    return execrec_offsets_read(execrec_writer_conn(r->writer), r->rc->group, stored_row, &st,
                                errstr, errstr_size);
}

/* ---- Kafka helpers -------------------------------------------------------------- */

static part_t *find_part(rec_t *r, const char *topic, int32_t partition) {
    if (r->last && r->last->partition == partition && !strcmp(r->last->topic, topic))
        return r->last;
    for (int i = 0; i < r->nparts; i++)
        if (r->parts[i].partition == partition && !strcmp(r->parts[i].topic, topic))
            return r->last = &r->parts[i];
    return NULL;
}

static void free_parts(rec_t *r) {
    for (int i = 0; i < r->nparts; i++)
        free(r->parts[i].topic);
    free(r->parts);
    r->parts = r->last = NULL;
    r->nparts = 0;
}

/* Commits the positions of the given partitions to Kafka, asynchronously. Kafka's
 * copy is informational (lag tools, and the start position for a group that has
 * no row in PostgreSQL yet); PostgreSQL's is the one that counts. */
static void commit_kafka(rec_t *r, const int *which, int n) {
    if (n == 0)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++) {
        part_t *p = &r->parts[which[i]];
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next;
    }
    rd_kafka_resp_err_t err = rd_kafka_commit(r->rk, l, 1);
    if (err)
        execrec_log_debug("kafka offset commit not sent: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

static void seek_part(rec_t *r, part_t *p, int64_t offset) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = offset;
    rd_kafka_error_t *e = rd_kafka_seek_partitions(r->rk, l, KAFKA_TIMEOUT_MS);
    if (e) {
        execrec_log_warn("%s [%" PRId32 "]: seek to %" PRId64 " failed: %s", p->topic, p->partition,
                         offset, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    } else if (l->elems[0].err) {
        execrec_log_warn("%s [%" PRId32 "]: seek to %" PRId64 " failed: %s", p->topic, p->partition,
                         offset, rd_kafka_err2str(l->elems[0].err));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void pause_part(rec_t *r, part_t *p) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    rd_kafka_pause_partitions(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Blocks p: its start offset (from) is past the log's end hi, so the log is not
 * the one recorded (a recreated topic, another cluster). It is not consumed, and
 * its offset is never moved here: an operator decides (docs/offsets.md). */
static void block_part(rec_t *r, part_t *p, int64_t start, const char *from, int64_t lo,
                       int64_t hi) {
    p->blocked = 1;
    p->blocked_hi = hi;
    char range[64];
    if (hi > lo)
        snprintf(range, sizeof(range), "offsets %" PRId64 "..%" PRId64, lo, hi - 1);
    else
        snprintf(range, sizeof(range), "no message");
    execrec_log_error("%s [%" PRId32 "]: blocked: the start offset %" PRId64 " (%s) is past the "
                      "partition's end %" PRId64 " (the log holds %s): was the topic recreated, "
                      "or is this another cluster? Nothing of it is consumed until an operator "
                      "decides; the other partitions go on. To record this log from its start: "
                      "execrec offsets reset --group %s --topic %s --partition %" PRId32
                      " --to earliest --brokers %s (see docs/offsets.md)",
                      p->topic, p->partition, start, from, hi, range, r->rc->group, p->topic,
                      p->partition, r->rc->brokers);
}

/* The blocked partitions as "topic [p] (offset S past the end H)", comma-separated,
 * into out. @returns how many there are. */
static int blocked_list(const rec_t *r, char *out, size_t size) {
    int n = 0;
    if (size)
        *out = '\0';
    for (int i = 0; i < r->nparts; i++) {
        const part_t *p = &r->parts[i];
        if (!p->blocked)
            continue;
        size_t len = strlen(out);
        if (p->blocked_hi >= 0)
            snprintf(out + len, size - len,
                     "%s%s [%" PRId32 "] (offset %" PRId64 " past the end %" PRId64 ")",
                     n ? ", " : "", p->topic, p->partition, p->next, p->blocked_hi);
        else
            snprintf(out + len, size - len, "%s%s [%" PRId32 "] (offset %" PRId64 ", end unknown)",
                     n ? ", " : "", p->topic, p->partition, p->next);
        n++;
    }
    return n;
}

/* ---- the batch ------------------------------------------------------------------ */

static void log_batch(const execrec_writer_stats_t *st, int64_t ms) {
    if (execrec_log_get_level() < EXECREC_LOG_DEBUG)
        return;
    int64_t ins, dup;
    execrec_writer_stats_sum(st, &ins, &dup);
    execrec_log_kv(EXECREC_LOG_DEBUG,
                   EXECREC_LOG_FIELDS(EXECREC_LF_ROWS(st->messages), EXECREC_LF_DURATION_MS(ms)),
                   "batch committed: %" PRId64 " messages, inserted %" PRId64
                   ", duplicates %" PRId64 ", rejected %" PRId64 " (%" PRId64
                   " refused by PostgreSQL), %" PRId64 " ms",
                   st->messages, ins, dup, st->rejected, st->pg_refused, ms);
}

/* The batch committed: every partition in it moves on. */
static void batch_committed(rec_t *r) {
    int *moved = malloc(sizeof(int) * (size_t)(r->nparts ? r->nparts : 1)), n = 0;
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (p->batch_start < 0)
            continue;
        p->expected = p->next;
        p->batch_start = -1;
        if (moved)
            moved[n++] = i;
    }
    if (moved)
        commit_kafka(r, moved, n);
    free(moved);
    r->batch_opened_ms = 0;
}

/* The compare-and-set failed for at least one partition of the batch. The batch
 * was rolled back. For each of its partitions: if the stored offset is still what
 * we expected, replay it (seek back); if it is the batch's own end, the previous
 * attempt's COMMIT had reached the server although we saw an error (a connection
 * lost during COMMIT), so the batch is in fact recorded; otherwise another
 * recorder owns the partition now: drop it, never write it.
 * why comes in errstr. The ingest's conflict handler (ingest.h).
 * @returns EXECREC_OK handled, EXECREC_ERR_PG PostgreSQL failed (the batch is kept;
 * errstr says why; the flush is retried). */
static execrec_err_t batch_conflict(void *opaque, char *errstr, size_t errstr_size) {
    rec_t *r = opaque;
    char why[1024];
    snprintf(why, sizeof(why), "%s", errstr);
    int64_t *stored = calloc((size_t)(r->nparts ? r->nparts : 1), sizeof(int64_t));
    if (!stored) {
        snprintf(errstr, errstr_size, "out of memory");
        return EXECREC_ERR_PG; /* retried: memory may come back, the batch is kept */
    }
    if (read_stored(r, stored, errstr, errstr_size)) {
        free(stored);
        return EXECREC_ERR_PG;
    }
    int landed = 0;
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (p->batch_start >= 0 && stored[i] == p->next && p->next != p->expected)
            landed = 1;
    }
    r->uncounted += execrec_writer_pending(r->writer);
    if (landed) {
        execrec_log_warn("the previous attempt to commit this batch had succeeded (its "
                         "acknowledgement was lost); it is recorded, nothing is replayed");
        execrec_writer_clear(r->writer);
        batch_committed(r);
        free(stored);
        return EXECREC_OK;
    }
    execrec_log_error("%s", why);
    execrec_writer_clear(r->writer);
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (p->batch_start < 0)
            continue;
        if (stored[i] != p->expected) {
            p->fenced = 1;
            pause_part(r, p);
            execrec_log_error("dropping %s [%" PRId32 "]: its stored offset is %" PRId64
                              " but this recorder expected %" PRId64
                              "; another recorder owns it now. Nothing of it was written.",
                              p->topic, p->partition, stored[i], p->expected);
        } else {
            execrec_log_info("%s [%" PRId32 "]: replaying from offset %" PRId64, p->topic,
                             p->partition, p->batch_start);
            p->next = p->batch_start;
            seek_part(r, p, p->batch_start);
        }
        p->batch_start = -1;
    }
    r->batch_opened_ms = 0;
    free(stored);
    return EXECREC_OK;
}

/* Why the last flush failed, by cause: a server that was up and refused the batch
 * is not "unreachable" (an operator looks at different things). */
static const char *pg_cause(const rec_t *r, char *out, size_t size) {
    snprintf(out, size, "%s: %s", r->pg_up ? "PostgreSQL refused it" : "PostgreSQL unreachable",
             r->pg_why);
    return out;
}

/* Writes the open batch (execrec_ingest_flush: retried with bounded backoff until
 * deadline; a conflict is settled by batch_conflict).
 * @returns 0 committed (or settled as a conflict), -1 gave up (deadline or second
 * signal; the batch is kept), -2 fatal (out of memory). */
static int flush_batch(rec_t *r, int64_t deadline) {
    int64_t t0 = now_ms();
    char errstr[1024];
    execrec_writer_stats_t st;
    errstr[0] = '\0';
    execrec_err_t err = execrec_ingest_flush(r->ingest, deadline, &st, errstr, sizeof(errstr));
    if (err == EXECREC_ERR_PG) {
        r->pg_up = execrec_writer_connected(r->writer);
        snprintf(r->pg_why, sizeof(r->pg_why), "%s", errstr);
    }
    if (err == EXECREC_OK && st.messages > 0) {
        execrec_writer_stats_add(&r->total, &st);
        log_batch(&st, now_ms() - t0);
        batch_committed(r);
    }
    if (err == EXECREC_ERR_NOMEM)
        return -2;
    return err == EXECREC_OK || err == EXECREC_ERR_CONFLICT ? 0 : -1;
}

/* ---- messages ------------------------------------------------------------------- */

/* Offsets from..lo-1 of p are gone from the broker (retention) before they were
 * read: logged with their coordinates and counted (never silent); how: "starting"
 * (at assignment) or "going on" (while consuming). @returns lo, where consuming
 * goes on. */
static int64_t skip_gone(rec_t *r, const part_t *p, int64_t from, int64_t lo, const char *how) {
    execrec_log_error("%s [%" PRId32 "]: offsets %" PRId64 "..%" PRId64
                      " are no longer on the broker (retention): those %" PRId64
                      " messages were never recorded; %s at %" PRId64,
                      p->topic, p->partition, from, lo - 1, lo - from, how, lo);
    r->skipped += lo - from;
    execrec_telemetry_skipped(r->rc->telemetry, p->topic, "retention", lo - from);
    return lo;
}

/* Restarts fetching where each consumed partition stands (p->next), with one
 * rd_kafka_assign: a partition whose fetch failed out of range is stopped in
 * librdkafka (auto.offset.reset=error) and cannot be seek'ed; the others only
 * lose what they had prefetched. Fenced and blocked partitions stay out.
 * @returns 0, or -1 (fatal set). */
static int reassign(rec_t *r) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->nparts);
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (!p->fenced && !p->blocked)
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(r->rk, l);
    if (!err)
        rd_kafka_resume_partitions(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        fatal(r, "assign failed: %s", rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* librdkafka could not fetch from p's position (auto.offset.reset=error turned
 * its silent reset into this event). Past the log's end: blocked, as on
 * assignment. Before its start (retention removed the messages): the gap is
 * counted and logged, and consuming goes on from the start. Else the position is
 * valid again (a leader change): fetching resumes there. */
static void out_of_range(rec_t *r, part_t *p, const char *why) {
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(r->rk, p->topic, p->partition, &lo, &hi, KAFKA_TIMEOUT_MS);
    if (err || p->next > hi) {
        pause_part(r, p);
        if (err) {
            /* Not knowing where the log stands, nothing is skipped: blocked too. */
            p->blocked = 1;
            p->blocked_hi = -1;
            execrec_log_error("%s [%" PRId32 "]: blocked at offset %" PRId64 ": %s, and the "
                              "watermarks cannot be read (%s). Restart the recorder, or see "
                              "docs/offsets.md",
                              p->topic, p->partition, p->next, why, rd_kafka_err2str(err));
            return;
        }
        block_part(r, p, p->next, "the recorder's position", lo, hi);
        return;
    }
    int64_t from = p->next;
    if (from < lo) {
        from = p->next = skip_gone(r, p, from, lo, "going on");
    } else {
        execrec_log_warn("%s [%" PRId32 "]: %s; the offset %" PRId64
                         " is on the broker again (%" PRId64 "..%" PRId64 "): fetching from it",
                         p->topic, p->partition, why, from, lo, hi);
    }
    reassign(r);
}

static int on_message(rec_t *r, const rd_kafka_message_t *m) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        part_t *p = find_part(r, topic, m->partition);
        if (p && m->offset >= p->end)
            p->eof = 1;
        return 0;
    }
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && *topic) {
        part_t *p = find_part(r, topic, m->partition);
        if (p && !p->fenced && !p->blocked)
            out_of_range(r, p, rd_kafka_message_errstr(m));
        return 0;
    }
    if (m->err) {
        execrec_log_warn("kafka: %s%s%s", *topic ? topic : "", *topic ? ": " : "",
                         rd_kafka_message_errstr(m));
        return 0;
    }
    execrec_telemetry_kafka_up(r->rc->telemetry, 1);
    part_t *p = find_part(r, topic, m->partition);
    if (!p || p->fenced || p->blocked) {
        r->ignored++;
        execrec_telemetry_skipped(r->rc->telemetry, topic, "not_owned", 1);
        execrec_log_debug("%s [%" PRId32 "] offset %" PRId64 ": ignored: %s", topic, m->partition,
                          m->offset,
                          !p          ? "not assigned to this recorder"
                          : p->fenced ? "another recorder owns the partition"
                                      : "the partition is blocked");
        return 0;
    }
    if (m->offset < p->next) {
        /* A re-delivery: prefetched before a seek back, or already in the open
         * batch. Not a loss, but counted and shown. */
        r->stale++;
        execrec_telemetry_skipped(r->rc->telemetry, topic, "stale", 1);
        execrec_log_debug("%s [%" PRId32 "] offset %" PRId64
                          ": stale (below the next offset %" PRId64 "): not recorded again",
                          topic, m->partition, m->offset, p->next);
        return 0;
    }
    r->consumed++;
    execrec_err_t err = execrec_ingest_message(r->ingest, p->kind, m);
    if (err == EXECREC_OK)
        err = execrec_writer_set_offset(r->writer, r->rc->group, p->topic, p->partition,
                                        p->expected, m->offset + 1);
    if (err) {
        fatal(r, "%s [%" PRId32 "] offset %" PRId64 ": %s", topic, m->partition, m->offset,
              execrec_err_name(err));
        return -1;
    }
    if (p->batch_start < 0)
        p->batch_start = m->offset;
    p->next = m->offset + 1;
    r->last_added_ms = now_ms();
    if (!r->batch_opened_ms)
        r->batch_opened_ms = r->last_added_ms;
    return 0;
}

/* ---- rebalances ----------------------------------------------------------------- */

/* Kafka's committed offsets for the partitions with no row in PostgreSQL.
 * committed[i] stays -1 where Kafka has none (or cannot say). */
static void read_committed(rec_t *r, const int64_t *stored, int64_t *committed) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->nparts);
    for (int i = 0; i < r->nparts; i++) {
        committed[i] = -1;
        if (stored[i] < 0)
            rd_kafka_topic_partition_list_add(l, r->parts[i].topic, r->parts[i].partition);
    }
    if (l->cnt > 0) {
        rd_kafka_resp_err_t err = rd_kafka_committed(r->rk, l, KAFKA_TIMEOUT_MS);
        if (err)
            execrec_log_warn("cannot read Kafka's committed offsets (%s): starting from "
                             "auto.offset.reset; the natural keys keep it exactly-once",
                             rd_kafka_err2str(err));
        for (int j = 0; !err && j < l->cnt; j++) {
            part_t *p = find_part(r, l->elems[j].topic, l->elems[j].partition);
            if (p && !l->elems[j].err && l->elems[j].offset >= 0)
                committed[p - r->parts] = l->elems[j].offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* The low and high watermarks of p, retried while the broker is unreachable. */
static int read_watermarks(rec_t *r, const part_t *p, int64_t *lo, int64_t *hi) {
    for (int attempt = 0;; attempt++) {
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(r->rk, p->topic, p->partition,
                                                                   lo, hi, KAFKA_TIMEOUT_MS);
        if (!err)
            return 0;
        execrec_log_warn("%s [%" PRId32 "]: cannot read the watermarks from the broker "
                         "(%s); retrying",
                         p->topic, p->partition, rd_kafka_err2str(err));
        if (*r->rc->stop == 1 || execrec_pg_backoff(attempt, -1, r->rc->stop) != 0) {
            if (*r->rc->stop == 1) {
                /* A graceful stop, as in on_assign: nothing was consumed yet. */
                execrec_log_info("stopping before the assignment: the watermarks of %s "
                                 "[%" PRId32 "] could not be read (%s); nothing was consumed",
                                 p->topic, p->partition, rd_kafka_err2str(err));
                return -2;
            }
            fatal(r, "%s [%" PRId32 "]: cannot read the watermarks from the broker (%s)", p->topic,
                  p->partition, rd_kafka_err2str(err));
            return -1;
        }
    }
}

static void on_assign(rec_t *r, rd_kafka_topic_partition_list_t *list) {
    /* The eager protocol (recorder.h): every assignment follows a revocation of
     * everything, which settled the batch, so nothing is open and the writer's
     * connection is free for reading the stored offsets. */
    assert(execrec_writer_pending(r->writer) == 0 && !r->assigned);
    free_parts(r);
    r->parts = calloc((size_t)(list->cnt ? list->cnt : 1), sizeof(part_t));
    int64_t *stored = calloc((size_t)(list->cnt ? list->cnt : 1), sizeof(int64_t));
    int64_t *committed = calloc((size_t)(list->cnt ? list->cnt : 1), sizeof(int64_t));
    if (!r->parts || !stored || !committed) {
        fatal(r, "out of memory on assignment");
        goto done;
    }
    for (int i = 0; i < list->cnt; i++) {
        part_t *p = &r->parts[r->nparts];
        if (execrec_kind_for_topic(r->rc->topic, list->elems[i].topic, &p->kind) < 0)
            continue; /* not one of ours; cannot happen with our subscription */
        if (!(p->topic = strdup(list->elems[i].topic))) {
            fatal(r, "out of memory on assignment");
            goto done;
        }
        p->partition = list->elems[i].partition;
        p->batch_start = -1;
        r->nparts++;
    }
    /* PostgreSQL holds the truth; wait for it rather than guess. */
    char errstr[1024];
    for (int attempt = 0; read_stored(r, stored, errstr, sizeof(errstr)); attempt++) {
        execrec_log_warn("cannot read the stored offsets from PostgreSQL (%s); retry %d in "
                         "%" PRId64 " ms",
                         errstr, attempt + 1, execrec_pg_retry_delay_ms(attempt));
        if (execrec_pg_backoff(attempt, *r->rc->stop ? now_ms() : -1, r->rc->stop) != 0) {
            /* One signal is a graceful stop, not a failure: nothing is assigned and
             * nothing consumed, so there is nothing to lose (exit 0). A second signal
             * is the operator giving up. */
            if (*r->rc->stop == 1) {
                execrec_log_info("stopping before the assignment: the stored offsets could "
                                 "not be read (%s); nothing was consumed",
                                 errstr);
                free_parts(r);
                goto done;
            }
            fatal(r, "giving up the assignment: PostgreSQL unreachable (%s)", errstr);
            goto done;
        }
    }
    read_committed(r, stored, committed);
    rd_kafka_topic_partition_list_t *assign = rd_kafka_topic_partition_list_new(r->nparts);
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        int64_t lo = -1, hi = -1, start;
        const char *from;
        int wm = read_watermarks(r, p, &lo, &hi);
        if (wm < 0) {
            rd_kafka_topic_partition_list_destroy(assign);
            if (wm == -2)
                free_parts(r);
            goto done;
        }
        if (stored[i] >= 0) {
            start = stored[i];
            from = "stored in PostgreSQL";
        } else if (committed[i] >= 0) {
            start = committed[i];
            from = "Kafka's committed offset";
        } else {
            start = r->reset_latest ? hi : lo;
            from = r->reset_latest ? "auto.offset.reset=latest" : "auto.offset.reset=earliest";
        }
        if (start < lo)
            start = skip_gone(r, p, start, lo, "starting");
        p->expected = stored[i];
        p->next = start;
        p->end = hi;
        if (start > hi) {
            block_part(r, p, start, from, lo, hi);
            continue; /* not assigned here: never fetched, never reset */
        }
        rd_kafka_topic_partition_list_add(assign, p->topic, p->partition)->offset = start;
        execrec_log_kv(EXECREC_LOG_INFO,
                       EXECREC_LOG_FIELDS(EXECREC_LF_TOPIC(p->topic),
                                          EXECREC_LF_PARTITION(p->partition),
                                          EXECREC_LF_OFFSET(start)),
                       "assigned %s [%" PRId32 "]: from offset %" PRId64 " (%s), end %" PRId64,
                       p->topic, p->partition, start, from, hi);
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(r->rk, assign);
    /* A partition this recorder dropped after a conflict was paused; the pause
     * outlives rd_kafka_assign, so a partition given back must be resumed. */
    if (!err)
        rd_kafka_resume_partitions(r->rk, assign);
    rd_kafka_topic_partition_list_destroy(assign);
    if (err) {
        fatal(r, "assign failed: %s", rd_kafka_err2str(err));
        goto done;
    }
    r->assigned = 1;
    execrec_telemetry_assigned(r->rc->telemetry, r->nparts);
    execrec_telemetry_kafka_up(r->rc->telemetry, 1);
    if (r->nparts == 0)
        execrec_log_info("assigned no partitions (the group has more members than partitions)");
done:
    free(stored);
    free(committed);
}

static void on_revoke(rec_t *r) {
    int64_t pending = execrec_writer_pending(r->writer);
    if (pending > 0 && flush_batch(r, now_ms() + REVOKE_GRACE_MS) < 0) {
        char cause[600];
        execrec_log_warn("abandoning the open batch of %" PRId64 " messages (%s). Nothing of "
                         "it was committed; the partitions' next owner records them.",
                         pending, pg_cause(r, cause, sizeof(cause)));
        r->uncounted += pending;
        execrec_writer_clear(r->writer);
        r->batch_opened_ms = 0;
    }
    for (int i = 0; i < r->nparts; i++)
        execrec_log_kv(EXECREC_LOG_INFO,
                       EXECREC_LOG_FIELDS(EXECREC_LF_TOPIC(r->parts[i].topic),
                                          EXECREC_LF_PARTITION(r->parts[i].partition),
                                          EXECREC_LF_OFFSET(r->parts[i].next)),
                       "revoked %s [%" PRId32 "] at offset %" PRId64, r->parts[i].topic,
                       r->parts[i].partition, r->parts[i].next);
    free_parts(r);
    r->assigned = 0;
    execrec_telemetry_assigned(r->rc->telemetry, 0);
    rd_kafka_assign(r->rk, NULL);
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *list, void *opaque) {
    (void)rk;
    rec_t *r = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        on_assign(r, list);
    } else {
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            execrec_log_warn("rebalance error: %s", rd_kafka_err2str(err));
        on_revoke(r);
    }
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    rec_t *r = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        execrec_telemetry_kafka_up(r->rc->telemetry, 0);
    if (execrec_kafka_log_error(rk, err, reason)) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof(why));
        fatal(r, "kafka: fatal: %s", why);
    }
}

/* ---- set-up and the loop -------------------------------------------------------- */

/* The recorder implements the eager rebalance protocol: it rd_kafka_assign's the
 * whole assignment on every rebalance and flushes everything on revocation.
 * An incremental (cooperative) assignor would hand it partial lists that
 * rd_kafka_assign would take for the whole assignment. */
static execrec_err_t check_protocol(const execrec_recorder_conf_t *rc, char *errstr,
                                    size_t errstr_size) {
    for (int i = 0; rc->kafka && i < execrec_config_kafka_count(rc->kafka); i++) {
        const char *k, *v;
        execrec_config_kafka_get(rc->kafka, i, &k, &v);
        if (!strcmp(k, "partition.assignment.strategy") && v && strstr(v, "cooperative")) {
            execrec_errstr(errstr, errstr_size,
                           "-X partition.assignment.strategy=%s is not supported: the "
                           "recorder implements the eager rebalance protocol (use range "
                           "or roundrobin)",
                           v);
            return EXECREC_ERR_INVALID;
        }
    }
    return EXECREC_OK;
}

execrec_err_t execrec_recorder_check(const execrec_recorder_conf_t *rc, char *errstr,
                                     size_t errstr_size) {
    return check_protocol(rc, errstr, errstr_size);
}

static rd_kafka_t *consumer_new(rec_t *r, char *errstr, size_t errstr_size) {
    const execrec_recorder_conf_t *rc = r->rc;
    const char *defaults[] = {EXECREC_KAFKA_CONSUMER_DEFAULTS, NULL};
    /* key, value pairs. auto.offset.reset=error: the recorder assigns every start
     * offset itself (on_assign, from -X auto.offset.reset for a partition without a
     * position); an out-of-range fetch must come back as an event (out_of_range),
     * never as a silent jump to another offset. */
    /* clang-format off */
    const char *required[] = {
        "group.id", rc->group,
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "enable.partition.eof", "true",
        "auto.offset.reset", "error",
        NULL};
    /* clang-format on */
    static const char *const interpreted[] = {"auto.offset.reset", NULL};
    execrec_kafka_client_t client = {.type = RD_KAFKA_CONSUMER,
                                     .brokers = rc->brokers,
                                     .props = rc->kafka,
                                     .defaults = defaults,
                                     .required = required,
                                     .interpreted = interpreted,
                                     .opaque = r,
                                     .error_cb = error_cb,
                                     .rebalance_cb = rebalance_cb};
    rd_kafka_t *rk = execrec_kafka_new(&client, errstr, errstr_size);
    if (!rk)
        return NULL;
    for (int i = 0; rc->kafka && i < execrec_config_kafka_count(rc->kafka); i++) {
        const char *k, *v;
        execrec_config_kafka_get(rc->kafka, i, &k, &v);
        if (!strcmp(k, "auto.offset.reset")) /* the last -X wins, as in librdkafka */
            r->reset_latest = !strcmp(v, "latest") || !strcmp(v, "largest") || !strcmp(v, "end");
    }
    return rk;
}

/* Every configured topic must be on the cluster: subscribing to a missing one (a
 * typo, or a cluster with auto-creation off; librdkafka's consumer does not ask
 * for topics to be created, allow.auto.create.topics=false) would wait for it
 * silently. The metadata of all topics is asked for, which creates none. While the
 * cluster does not answer this is retried: until broker_timeout_ms with
 * exit_at_end, else until a signal (a WARN every 10 s; the client's own errors are
 * WARNs too, execrec_kafka_log_error).
 * @returns 0 all there, 1 stopped by a signal, -1 errstr (a missing topic, or
 * the cluster did not answer). */
static int check_topics(rec_t *r, char *errstr, size_t errstr_size) {
    const execrec_recorder_conf_t *rc = r->rc;
    int64_t start = now_ms(), warned = 0;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        int64_t asked = now_ms();
        rd_kafka_resp_err_t kerr = rd_kafka_metadata(r->rk, 1, NULL, &md, 1000);
        execrec_kafka_serve(r->rk); /* its error events: logged, and the last one kept */
        if (!kerr) {
            size_t len = 0;
            errstr[0] = '\0';
            for (int k = 0; k < EXECREC_KIND__CNT; k++) {
                const char *t = rc->topic[k];
                int found = 0;
                for (int i = 0; t && *t && i < md->topic_cnt; i++)
                    found |= !strcmp(md->topics[i].topic, t) &&
                             md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
                if (!t || !*t || found || len >= errstr_size)
                    continue;
                char flag[64];
                execrec_config_flag_name(execrec_kind_topic_key((execrec_kind_t)k), flag,
                                         sizeof(flag));
                len += (size_t)snprintf(errstr + len, errstr_size - len, "%s'%s' (--%s)",
                                        len ? ", " : "the Kafka cluster has no topic ", t, flag);
            }
            rd_kafka_metadata_destroy(md);
            if (len && len < errstr_size)
                snprintf(errstr + len, errstr_size - len,
                         ": create it, or correct the flag (the recorder never creates topics)");
            return len ? -1 : 0;
        }
        /* An error that comes back at once is asked again a second later, not in a
         * busy loop (the short sleeps see a signal). */
        while (!*rc->stop && now_ms() - asked < 1000)
            execrec_time_sleep_ms(50);
        if (*rc->stop)
            return 1;
        int64_t now = now_ms();
        if (rc->exit_at_end && rc->broker_timeout_ms && now - start >= rc->broker_timeout_ms) {
            execrec_kafka_give_up(r->rk, "cannot check the topics", rc->broker_timeout_ms, errstr,
                                  errstr_size);
            return -1;
        }
        if (now - warned >= 10000) {
            char last[512];
            execrec_kafka_last_error(last, sizeof(last));
            execrec_log_warn("the Kafka cluster does not answer (%s; last error: %s); still "
                             "trying",
                             rd_kafka_err2str(kerr), *last ? last : "none reported");
            warned = now;
        }
    }
}

static int subscribe(rec_t *r, char *errstr, size_t errstr_size) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(EXECREC_KIND__CNT);
    char names[512] = "";
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        const char *t = r->rc->topic[k];
        if (!t || !*t)
            continue;
        rd_kafka_topic_partition_list_add(l, t, RD_KAFKA_PARTITION_UA);
        size_t len = strlen(names);
        snprintf(names + len, sizeof(names) - len, "%s%s (%s)", len ? ", " : "", t,
                 execrec_kind_name((execrec_kind_t)k));
    }
    if (l->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        execrec_errstr(errstr, errstr_size, "no topic to consume: every --topic-* is empty");
        return -1;
    }
    rd_kafka_resp_err_t err = rd_kafka_subscribe(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        execrec_errstr(errstr, errstr_size, "cannot subscribe: %s", rd_kafka_err2str(err));
        return -1;
    }
    execrec_log_info("consumer group %s subscribed to %s", r->rc->group, names);
    return 0;
}

static int all_at_end(const rec_t *r) {
    if (!r->assigned)
        return 0;
    for (int i = 0; i < r->nparts; i++) {
        const part_t *p = &r->parts[i];
        if (!p->fenced && !p->blocked && !p->eof && p->next < p->end)
            return 0;
    }
    return 1;
}

/* The totals add up: every message consumed was inserted (an OrderManager intent:
 * inserted, or updated the row of an older one), already recorded,
 * rejected (or its reject already recorded), is in the open batch, or was consumed
 * again after its batch was rolled back or abandoned (uncounted). */
static void log_totals(rec_t *r, const char *what) {
    int64_t ins, dup, lag = 0;
    char blocked[1024];
    int nblocked = blocked_list(r, blocked, sizeof(blocked));
    execrec_writer_stats_sum(&r->total, &ins, &dup);
    for (int i = 0; i < r->nparts; i++) {
        int64_t lo, hi;
        part_t *p = &r->parts[i];
        if (!p->fenced && !p->blocked &&
            rd_kafka_get_watermark_offsets(r->rk, p->topic, p->partition, &lo, &hi) == 0 &&
            hi > p->next)
            lag += hi - p->next;
    }
    execrec_log_kv(
        EXECREC_LOG_INFO,
        EXECREC_LOG_FIELDS(EXECREC_LF_INT("consumed", r->consumed), EXECREC_LF_INT("inserted", ins),
                           EXECREC_LF_INT("duplicates", dup),
                           EXECREC_LF_INT("rejected", r->total.rejected),
                           EXECREC_LF_INT("lag", lag), EXECREC_LF_INT("blocked", nblocked),
                           EXECREC_LF_INT("skipped", r->skipped)),
        "%s: consumed %" PRId64 " = inserted %" PRId64 " (%s %" PRId64 ", %s %" PRId64
        ", %s %" PRId64 ", %s %" PRId64 " of which %" PRId64 " updated) + already recorded %" PRId64
        " + rejected %" PRId64 " + rejects already recorded %" PRId64
        " + in the open batch %" PRId64 " + rolled back or abandoned %" PRId64 "; lag %" PRId64
        " over %d partitions; blocked %d, skipped %" PRId64 " (never recorded), stale %" PRId64
        ", ignored %" PRId64,
        what, r->consumed, ins, kind_label(EXECREC_KIND_ORDER),
        r->total.inserted[EXECREC_KIND_ORDER], kind_label(EXECREC_KIND_ORDER_EVENT),
        r->total.inserted[EXECREC_KIND_ORDER_EVENT], kind_label(EXECREC_KIND_TRADE),
        r->total.inserted[EXECREC_KIND_TRADE], kind_label(EXECREC_KIND_ORDER_MANAGER),
        r->total.inserted[EXECREC_KIND_ORDER_MANAGER], r->total.updated[EXECREC_KIND_ORDER_MANAGER],
        dup, r->total.rejected, r->total.rejects_duplicate,
        r->writer ? execrec_writer_pending(r->writer) : 0, r->uncounted, lag, r->nparts, nblocked,
        r->skipped, r->stale, r->ignored);
    if (nblocked)
        execrec_log_warn("%d blocked partition(s), not consumed until an operator resets "
                         "them (execrec offsets reset, docs/offsets.md): %s",
                         nblocked, blocked);
}

/* Logs the first stop signal once, and each SIGHUP (ignored: nothing is reloaded;
 * docs/recorder.md says why). */
static void note_signals(rec_t *r) {
    const execrec_recorder_conf_t *rc = r->rc;
    if (rc->hup && *rc->hup != r->hups) {
        r->hups = *rc->hup;
        execrec_log_info("SIGHUP received: ignored (execrec reloads nothing; restart it to "
                         "change its configuration)");
    }
    if (*rc->stop && !r->stop_seen) {
        r->stop_seen = 1;
        int sig = rc->signo ? *rc->signo : 0;
        execrec_log_info("%s received: committing the open batch of %" PRId64
                         " messages and leaving the group (shutdown deadline %" PRId64
                         " s, --shutdown-timeout)",
                         sig == SIGINT    ? "SIGINT"
                         : sig == SIGTERM ? "SIGTERM"
                                          : "stop signal",
                         execrec_writer_pending(r->writer), rc->shutdown_timeout_ms / 1000);
    }
}

/* With metrics on: the heartbeat on every call; once a second the lag per
 * partition (from the watermarks librdkafka caches from its fetches: no request),
 * the blocked partitions, and PostgreSQL's reachability while idle
 * (execrec_ingest_probe); while Kafka is down, every 2 s a metadata request of at
 * most 500 ms tells when it is back. */
static void metrics_tick(rec_t *r) {
    execrec_telemetry_t *t = r->rc->telemetry;
    if (!t)
        return;
    execrec_telemetry_heartbeat(t);
    int64_t now = now_ms();
    if (now - r->metrics_ms < 1000)
        return;
    r->metrics_ms = now;
    int64_t total = 0;
    int fenced = 0, past_end = 0;
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        past_end += p->blocked != 0;
        int64_t lo, hi, done = p->batch_start >= 0 ? p->batch_start : p->next, lag = 0;
        if (p->fenced)
            fenced++;
        else if (rd_kafka_get_watermark_offsets(r->rk, p->topic, p->partition, &lo, &hi) || hi < 0)
            hi = p->end;
        if (!p->fenced && hi > done)
            lag = hi - done;
        execrec_telemetry_lag(t, p->topic, p->partition, lag);
        total += lag;
    }
    execrec_telemetry_lag_total(t, total);
    execrec_telemetry_blocked(t, past_end, fenced);
    execrec_ingest_probe(r->ingest);
    if (!execrec_telemetry_kafka_is_up(t) && now - r->kafka_probe_ms >= 2000) {
        r->kafka_probe_ms = now;
        if (execrec_kafka_answers(r->rk, 500))
            execrec_telemetry_kafka_up(t, 1);
    }
}

/* With exit_at_end, a cluster that gives no sign of life (a message, or an answer
 * to a metadata request asked for once nothing has come for broker_timeout_ms) is
 * given up: the run could never reach its end. @returns 1 given up (fatal). */
static int give_up(rec_t *r, int heard) {
    int64_t now = now_ms();
    if (heard || !r->heard_ms) {
        r->heard_ms = now;
        return 0;
    }
    if (now - r->heard_ms < r->rc->broker_timeout_ms)
        return 0;
    if (execrec_kafka_answers(r->rk, 1000)) {
        r->heard_ms = now_ms();
        return 0;
    }
    char why[768];
    execrec_kafka_give_up(NULL, "--exit-at-end", r->rc->broker_timeout_ms, why, sizeof(why));
    fatal(r, "%s", why);
    return 1;
}

static int run_loop(rec_t *r) {
    const execrec_recorder_conf_t *rc = r->rc;
    int64_t last_stats = now_ms();
    for (;;) {
        note_signals(r);
        if (*rc->stop || r->fatal)
            return 0;
        /* An open batch is committed at batch.size messages or batch.bytes bytes
         * (execrec_ingest_full), after batch.ms while
         * messages keep coming, or once nothing more has arrived for batch.idle.ms
         * (default 0: as soon as the consumer queue is empty, i.e. we are caught up).
         * Under load the queue is never empty and batches are large; at a trickle
         * each message is committed one fetch and one commit after it arrived
         * (docs/performance.md). */
        int64_t deadline = 0;
        if (r->batch_opened_ms) {
            int64_t full = r->batch_opened_ms + rc->batch_ms,
                    idle = r->last_added_ms + rc->batch_idle_ms;
            deadline = full < idle ? full : idle;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, execrec_kafka_poll_timeout(deadline));
        metrics_tick(r);
        if (rc->exit_at_end && rc->broker_timeout_ms && give_up(r, m != NULL))
            return 0;
        if (m) {
            int rc_msg = on_message(r, m);
            rd_kafka_message_destroy(m);
            if (rc_msg < 0)
                return -1;
        }
        int64_t pending = execrec_writer_pending(r->writer), now = now_ms();
        if (execrec_ingest_full(r->ingest) ||
            (pending > 0 && (now - r->batch_opened_ms >= rc->batch_ms ||
                             (!m && now - r->last_added_ms >= rc->batch_idle_ms)))) {
            int f = flush_batch(r, -1);
            if (f == -2) {
                fatal(r, "out of memory writing a batch");
                return -1;
            }
            if (f == -1) {
                /* The shutdown deadline passed (or a second signal came) while
                 * PostgreSQL was retried: the batch stays uncommitted. */
                r->gave_up = 1;
                return 0;
            }
        }
        if (rc->stats_interval_ms > 0 && now - last_stats >= rc->stats_interval_ms) {
            if (!r->assigned)
                execrec_log_info("no partitions assigned yet: waiting for the consumer group "
                                 "(is the broker reachable? a member that died without "
                                 "leaving keeps its partitions until its session.timeout.ms "
                                 "has passed)");
            log_totals(r, "totals");
            last_stats = now;
        }
        /* The ends are reached when the queue runs dry (an empty poll). */
        if (rc->exit_at_end && !m && all_at_end(r)) {
            char blocked[1024];
            if (blocked_list(r, blocked, sizeof(blocked)))
                execrec_log_info("every assigned partition that is not blocked reached the "
                                 "end it had at start");
            else
                execrec_log_info("every assigned partition reached the end it had at start");
            return 0;
        }
    }
}

execrec_err_t execrec_recorder_run(const execrec_recorder_conf_t *rc, char *errstr,
                                   size_t errstr_size) {
    rec_t r;
    memset(&r, 0, sizeof(r));
    execrec_recorder_conf_t conf = *rc;
    if (conf.shutdown_timeout_ms <= 0)
        conf.shutdown_timeout_ms = EXECREC_INGEST_SHUTDOWN_MS;
    r.rc = rc = &conf;
    execrec_err_t err = check_protocol(rc, errstr, errstr_size);
    if (err)
        return err;

    execrec_ingest_conf_t ic = {.dsn = rc->dsn,
                                .codec = rc->codec,
                                .stop = rc->stop,
                                .shutdown_ms = rc->shutdown_timeout_ms,
                                .on_conflict = batch_conflict,
                                .opaque = &r,
                                .done = "committed",
                                .batch_size = rc->batch_size,
                                .batch_bytes = rc->batch_bytes,
                                .reject_payload_max = rc->reject_payload_max,

                                .telemetry = rc->telemetry};
    if (!(r.ingest = execrec_ingest_new(&ic, errstr, errstr_size))) {
        err = EXECREC_ERR_NOMEM;
        goto out;
    }
    r.writer = execrec_ingest_writer(r.ingest);
    int applied = 0;
    if ((err = execrec_writer_ensure(r.writer, errstr, errstr_size)))
        goto out;
    PGconn *conn = execrec_writer_conn(r.writer);
    char *shown = execrec_pg_redact_conninfo(rc->dsn ? rc->dsn : "");
    execrec_log_info("connected to PostgreSQL: database %s on %s:%s [%s]", PQdb(conn), PQhost(conn),
                     PQport(conn), shown ? shown : "");
    free(shown);
    if ((err = execrec_ingest_connect(r.ingest, &applied, errstr, errstr_size)))
        goto out;
    if (applied)
        execrec_log_info("applied %d migration(s)", applied);
    execrec_telemetry_pg_up(rc->telemetry, 1);
    if (!(r.rk = consumer_new(&r, errstr, errstr_size))) {
        err = EXECREC_ERR_KAFKA;
        goto out;
    }
    int topics = check_topics(&r, errstr, errstr_size);
    if (topics > 0) {
        execrec_log_info("stopping before subscribing: nothing was consumed");
        goto out;
    }
    if (topics < 0 || subscribe(&r, errstr, errstr_size) < 0) {
        err = EXECREC_ERR_KAFKA;
        goto out;
    }

    int loop = run_loop(&r);
    char blocked[768];
    int nblocked = blocked_list(&r, blocked, sizeof(blocked));
    err = EXECREC_ERR_KAFKA;
    if (loop == 0 && !r.fatal) {
        /* Shutdown: commit what is open, then leave the group (which revokes). After
         * a signal the ingest keeps the shutdown deadline; at the end of an
         * --exit-at-end run PostgreSQL gets as long as a signal would give it. */
        note_signals(&r);
        int f = r.gave_up ? -1 : flush_batch(&r, now_ms() + r.rc->shutdown_timeout_ms);
        note_signals(&r);
        if (f == -2) {
            fatal(&r, "out of memory writing a batch");
            err = EXECREC_ERR_NOMEM;
        } else if (f < 0) {
            char cause[600];
            fatal(&r,
                  "could not commit the open batch of %" PRId64 " messages before %s (%s). "
                  "Nothing of it was committed: it is consumed again on the next start.",
                  execrec_writer_pending(r.writer),
                  *rc->stop >= 2 ? "a second signal"
                  : *rc->stop    ? "the shutdown deadline (--shutdown-timeout)"
                                 : "the end of the run",
                  pg_cause(&r, cause, sizeof(cause)));
            err = EXECREC_ERR_PG;
            r.uncounted += execrec_writer_pending(r.writer);
            execrec_writer_clear(r.writer);
        } else if (f == 0) {
            err = EXECREC_OK;
        }
    }
    /* --exit-at-end with blocked partitions: everything else is recorded, but the
     * run did not reach every end (exit 1, naming them). */
    if (err == EXECREC_OK && rc->exit_at_end && nblocked) {
        execrec_errstr(errstr, errstr_size,
                       "%d partition(s) blocked, not recorded: %s. Decide with execrec "
                       "offsets reset (docs/offsets.md)",
                       nblocked, blocked);
        err = EXECREC_ERR_RANGE;
    }
    log_totals(&r, "final totals");
out:
    if (r.rk) {
        rd_kafka_resp_err_t kerr = rd_kafka_consumer_close(r.rk);
        if (kerr)
            execrec_log_warn("closing the consumer: %s", rd_kafka_err2str(kerr));
        rd_kafka_destroy(r.rk);
    }
    /* A fatal error found while closing (a revocation's flush) also fails the run. */
    if (r.fatal) {
        execrec_errstr(errstr, errstr_size, "%s", r.why);
        if (!err)
            err = EXECREC_ERR_KAFKA;
    }
    assert(err || !r.fatal);
    free_parts(&r);
    execrec_ingest_destroy(r.ingest);
    return err;
}
