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
 * the open batch. A batch that commits moves expected to next. */
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
#define SHUTDOWN_GRACE_MS 30000
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
    int reset_latest;        /* auto.offset.reset is latest */
    int64_t batch_opened_ms; /* when the open batch got its first message; 0: empty */
    int64_t last_added_ms;   /* when the open batch got its last message */
    int64_t consumed;
    int64_t uncounted; /* consumed, then rolled back (conflict) or abandoned */
    int64_t heard_ms;  /* exit_at_end: when the cluster last gave a sign of life */
    execrec_writer_stats_t total;
    int fatal;
    char why[1024]; /* the first fatal error's reason */
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

/* ---- the batch ------------------------------------------------------------------ */

static void log_batch(const execrec_writer_stats_t *st, int64_t ms) {
    if (execrec_log_get_level() < EXECREC_LOG_DEBUG)
        return;
    int64_t ins, dup;
    execrec_writer_stats_sum(st, &ins, &dup);
    execrec_log_debug("batch committed: %" PRId64 " messages, inserted %" PRId64
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

/* Writes the open batch (execrec_ingest_flush: retried with bounded backoff until
 * deadline; a conflict is settled by batch_conflict).
 * @returns 0 committed (or settled as a conflict), -1 gave up (deadline or second
 * signal; the batch is kept), -2 fatal (out of memory). */
static int flush_batch(rec_t *r, int64_t deadline) {
    int64_t t0 = now_ms();
    char errstr[1024];
    execrec_writer_stats_t st;
    execrec_err_t err = execrec_ingest_flush(r->ingest, deadline, &st, errstr, sizeof(errstr));
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

static int on_message(rec_t *r, const rd_kafka_message_t *m) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        part_t *p = find_part(r, topic, m->partition);
        if (p && m->offset >= p->end)
            p->eof = 1;
        return 0;
    }
    if (m->err) {
        execrec_log_warn("kafka: %s%s%s", *topic ? topic : "", *topic ? ": " : "",
                         rd_kafka_message_errstr(m));
        return 0;
    }
    part_t *p = find_part(r, topic, m->partition);
    if (!p || p->fenced || m->offset < p->next)
        return 0; /* not ours, dropped, or a re-delivery of what the batch holds */
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
        if (*r->rc->stop || execrec_pg_backoff(attempt, -1, r->rc->stop) < 0) {
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
        if (execrec_pg_backoff(attempt, *r->rc->stop ? now_ms() : -1, r->rc->stop) < 0) {
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
        if (read_watermarks(r, p, &lo, &hi) < 0) {
            rd_kafka_topic_partition_list_destroy(assign);
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
        if (start < lo) {
            execrec_log_error("%s [%" PRId32 "]: offsets %" PRId64 "..%" PRId64
                              " are no longer on the broker (retention): those %" PRId64
                              " messages were never recorded; starting at %" PRId64,
                              p->topic, p->partition, start, lo - 1, lo - start, lo);
            start = lo;
        } else if (start > hi) {
            execrec_log_error("%s [%" PRId32 "]: the start offset %" PRId64
                              " (%s) is past the partition's end %" PRId64
                              ": was the topic recreated? Starting there anyway; use "
                              "execrec backfill for the offsets before it",
                              p->topic, p->partition, start, from, hi);
        }
        p->expected = stored[i];
        p->next = start;
        p->end = hi;
        rd_kafka_topic_partition_list_add(assign, p->topic, p->partition)->offset = start;
        execrec_log_info("assigned %s [%" PRId32 "]: from offset %" PRId64 " (%s), end %" PRId64,
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
    if (r->nparts == 0)
        execrec_log_info("assigned no partitions (the group has more members than partitions)");
done:
    free(stored);
    free(committed);
}

static void on_revoke(rec_t *r) {
    int64_t pending = execrec_writer_pending(r->writer);
    if (pending > 0 && flush_batch(r, now_ms() + REVOKE_GRACE_MS) < 0) {
        execrec_log_warn("abandoning the open batch of %" PRId64 " messages: PostgreSQL "
                         "unreachable. Nothing of it was committed; the partitions' next "
                         "owner records them.",
                         pending);
        r->uncounted += pending;
        execrec_writer_clear(r->writer);
        r->batch_opened_ms = 0;
    }
    for (int i = 0; i < r->nparts; i++)
        execrec_log_info("revoked %s [%" PRId32 "] at offset %" PRId64, r->parts[i].topic,
                         r->parts[i].partition, r->parts[i].next);
    free_parts(r);
    r->assigned = 0;
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
    const char *defaults[] = {"auto.offset.reset", "earliest", EXECREC_KAFKA_CONSUMER_DEFAULTS,
                              NULL};
    /* key, value pairs */
    /* clang-format off */
    const char *required[] = {
        "group.id", rc->group,
        "enable.auto.commit", "false",
        "enable.auto.offset.store", "false",
        "enable.partition.eof", "true",
        NULL};
    /* clang-format on */
    execrec_kafka_client_t client = {.type = RD_KAFKA_CONSUMER,
                                     .brokers = rc->brokers,
                                     .props = rc->kafka,
                                     .defaults = defaults,
                                     .required = required,
                                     .opaque = r,
                                     .error_cb = error_cb,
                                     .rebalance_cb = rebalance_cb};
    rd_kafka_t *rk = execrec_kafka_new(&client, errstr, errstr_size);
    if (!rk)
        return NULL;
    char reset[32];
    size_t n = sizeof(reset);
    if (rd_kafka_conf_get(rd_kafka_conf(rk), "auto.offset.reset", reset, &n) == RD_KAFKA_CONF_OK)
        r->reset_latest =
            !strcmp(reset, "latest") || !strcmp(reset, "largest") || !strcmp(reset, "end");
    return rk;
}

/* Whether the cluster answers a metadata request within timeout_ms (a sign of life
 * while nothing else arrives). */
static int cluster_answers(rec_t *r, int timeout_ms) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(r->rk, 0, NULL, &md, timeout_ms);
    if (md)
        rd_kafka_metadata_destroy(md);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR;
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
                snprintf(flag, sizeof(flag), "--%s", execrec_kind_topic_key((execrec_kind_t)k));
                for (char *c = flag; *c; c++)
                    *c = *c == '.' ? '-' : *c;
                len += (size_t)snprintf(errstr + len, errstr_size - len, "%s'%s' (%s)",
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
        if (!p->fenced && !p->eof && p->next < p->end)
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
    execrec_writer_stats_sum(&r->total, &ins, &dup);
    for (int i = 0; i < r->nparts; i++) {
        int64_t lo, hi;
        part_t *p = &r->parts[i];
        if (!p->fenced &&
            rd_kafka_get_watermark_offsets(r->rk, p->topic, p->partition, &lo, &hi) == 0 &&
            hi > p->next)
            lag += hi - p->next;
    }
    execrec_log_info("%s: consumed %" PRId64 " = inserted %" PRId64 " (%s %" PRId64 ", %s %" PRId64
                     ", %s %" PRId64 ", %s %" PRId64 " of which %" PRId64
                     " updated) + already recorded %" PRId64 " + rejected %" PRId64
                     " + rejects already recorded %" PRId64 " + in the open batch %" PRId64
                     " + rolled back or abandoned %" PRId64 "; lag %" PRId64 " over %d partitions",
                     what, r->consumed, ins, kind_label(EXECREC_KIND_ORDER),
                     r->total.inserted[EXECREC_KIND_ORDER], kind_label(EXECREC_KIND_ORDER_EVENT),
                     r->total.inserted[EXECREC_KIND_ORDER_EVENT], kind_label(EXECREC_KIND_TRADE),
                     r->total.inserted[EXECREC_KIND_TRADE], kind_label(EXECREC_KIND_ORDER_MANAGER),
                     r->total.inserted[EXECREC_KIND_ORDER_MANAGER],
                     r->total.updated[EXECREC_KIND_ORDER_MANAGER], dup, r->total.rejected,
                     r->total.rejects_duplicate, r->writer ? execrec_writer_pending(r->writer) : 0,
                     r->uncounted, lag, r->nparts);
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
    if (cluster_answers(r, 1000)) {
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
        if (*rc->stop || r->fatal)
            return 0;
        /* An open batch is committed at batch.size messages, after batch.ms while
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
        if (rc->exit_at_end && rc->broker_timeout_ms && give_up(r, m != NULL))
            return 0;
        if (m) {
            int rc_msg = on_message(r, m);
            rd_kafka_message_destroy(m);
            if (rc_msg < 0)
                return -1;
        }
        int64_t pending = execrec_writer_pending(r->writer), now = now_ms();
        if (pending >= rc->batch_size ||
            (pending > 0 && (now - r->batch_opened_ms >= rc->batch_ms ||
                             (!m && now - r->last_added_ms >= rc->batch_idle_ms)))) {
            int f = flush_batch(r, -1);
            if (f == -2) {
                fatal(r, "out of memory writing a batch");
                return -1;
            }
            if (f == -1)
                return 0; /* a second signal while waiting for PostgreSQL */
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
            execrec_log_info("every assigned partition reached the end it had at start");
            return 0;
        }
    }
}

execrec_err_t execrec_recorder_run(const execrec_recorder_conf_t *rc, char *errstr,
                                   size_t errstr_size) {
    rec_t r;
    memset(&r, 0, sizeof(r));
    r.rc = rc;
    execrec_err_t err = check_protocol(rc, errstr, errstr_size);
    if (err)
        return err;

    execrec_ingest_conf_t ic = {.dsn = rc->dsn,
                                .codec = rc->codec,
                                .stop = rc->stop,
                                .on_conflict = batch_conflict,
                                .opaque = &r,
                                .done = "committed"};
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
    char why[768];
    if ((err = execrec_ingest_connect(r.ingest, &applied, why, sizeof(why)))) {
        execrec_errstr(errstr, errstr_size, "migrations failed: %s", why);
        goto out;
    }
    if (applied)
        execrec_log_info("applied %d migration(s)", applied);
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
    err = EXECREC_ERR_KAFKA;
    if (loop == 0 && !r.fatal) {
        /* Shutdown: commit what is open, then leave the group (which revokes). */
        int f = flush_batch(&r, now_ms() + SHUTDOWN_GRACE_MS);
        if (f == -2) {
            fatal(&r, "out of memory writing a batch");
            err = EXECREC_ERR_NOMEM;
        } else if (f < 0) {
            fatal(&r,
                  "could not commit the open batch of %" PRId64
                  " messages before shutdown (PostgreSQL unreachable). Nothing "
                  "of it was committed: it is consumed again on the next start.",
                  execrec_writer_pending(r.writer));
            err = EXECREC_ERR_PG;
            r.uncounted += execrec_writer_pending(r.writer);
            execrec_writer_clear(r.writer);
        } else if (f == 0) {
            err = EXECREC_OK;
        }
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
