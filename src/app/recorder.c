/* The recorder, see recorder.h and docs/recorder.md.
 *
 * Threads. The main thread owns the Kafka consumer's own queue: it polls it, so
 * librdkafka calls the rebalance and error callbacks there (from inside
 * rd_kafka_consumer_poll() and rd_kafka_consumer_close()). Each writer ("lane",
 * --writers of them) is a thread with its own PostgreSQL connection (its ingest:
 * writer, codec clone, arena) and its own librdkafka queue: every partition's fetch
 * queue is forwarded to the queue of the lane that owns it (lane_of: a stable hash
 * of topic and partition), so a lane polls only its own partitions' messages, in
 * offset order, and writes them in batches of its own, each one transaction with
 * the compare-and-set of its own partitions' offsets. docs/recorder.md ("Parallel
 * writers") says why this model and not one thread driving N non-blocking
 * connections.
 *
 * Who touches what. A partition's state (part_t) belongs to its lane while the
 * lanes run; the main thread reads only its atomics (metrics, totals) then. The
 * main thread changes the partition table (rebalances, restarting fetches) only
 * with every lane parked (park_lanes): a lane parks between two polls, after
 * settling its open batch when asked to (a revocation, the shutdown). The lock and
 * condition variable of a lane carry that hand-over.
 *
 * The flush path is one pass down and back: flush_batch -> execrec_ingest_flush
 * -> execrec_writer_ensure / execrec_writer_flush (offsets CAS inside) -> libpq;
 * the only call back up is the conflict handler (batch_conflict), which reads the
 * stored offsets through offsets.h on the lane's connection.
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
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
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
/* Messages a lane takes from its queue at once. Few: what is taken is no longer
 * counted by librdkafka's queue limits (queued.max.messages.kbytes), which then
 * fetches more, so each taken message adds to memory (cli_test_run_flood's 1 MB
 * messages), and a per-message pop costs little next to decoding. */
#define LANE_POLL_MAX 16

typedef struct part_s {
    char *topic;
    int32_t partition;
    execrec_kind_t kind;
    int lane;                    /* the lane that owns it (lane_of) */
    int64_t expected;            /* stored next offset as of our last commit; -1: no row */
    _Atomic int64_t next;        /* offset after the last message added, or the start */
    _Atomic int64_t batch_start; /* first offset in the open batch; -1: none */
    int64_t batch_end;           /* the next offset the open batch stores for it (its
                                    compare-and-set); next may be past it after a
                                    retention gap was skipped */
    int64_t end;                 /* high watermark when assigned (--exit-at-end) */
    _Atomic int eof;             /* end of partition seen at or past end */
    _Atomic int fenced;          /* dropped after a compare-and-set mismatch */
    _Atomic int blocked;         /* start offset past the log's end: not consumed until reset */
    _Atomic int64_t blocked_hi;  /* the log's end when it was blocked */
    _Atomic int routed;          /* its lane got a message or event of it since its
                                    fetch last started (route_parts) */
    int resync;                  /* sought back in the middle of the lane's poll: the
                                    rest of that poll's messages of it are stale (the
                                    seek fetches them again) */
} part_t;

typedef struct rec_s rec_t;

/* What the main thread asks of a lane (lane_t.req). */
enum { LANE_RUN, LANE_HOLD, LANE_SETTLE, LANE_QUIT };

/* One writer: a thread, its queue, its PostgreSQL connection and open batch. */
typedef struct lane_s {
    rec_t *r;
    int id;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Under mu. The main thread sets req and bumps gen; the lane, once it has done
     * what req asks (settled the open batch for LANE_SETTLE), parks and sets acked
     * to gen. */
    int req, gen, acked;
    int64_t settle_deadline;      /* LANE_SETTLE: until when the open batch is retried */
    int settle_rc;                /* the last settle: 0 written (or nothing open), -1 gave
                                up (abandoned), -2 out of memory */
    int64_t settle_lost;          /* messages of the batch that settle abandoned */
    execrec_writer_stats_t total; /* committed, summed (under mu) */

    /* The lane's own (the main thread's only while the lane is parked). */
    rd_kafka_queue_t *q;
    execrec_codec_t *codec;
    execrec_ingest_t *ingest;
    execrec_writer_t *writer; /* the ingest's */
    part_t *last;             /* the partition of the last message: fetches come in runs */
    int64_t batch_opened_ms;  /* when the open batch got its first message; 0: empty */
    int64_t last_added_ms;    /* when the open batch got its last message */
    int halted;               /* a flush gave up or failed fatally: consume nothing more */
    int gave_up;              /* a flush gave up (shutdown deadline, second signal) */
    int pg_up;                /* at the last failed flush the server was up: it refused */
    char pg_why[512];         /* the last failed flush's reason */

    /* Read by the main thread while the lane runs. */
    _Atomic int dry;           /* the last poll of the queue returned nothing */
    _Atomic int64_t pending;   /* messages in the open batch */
    _Atomic int64_t consumed;  /* messages handed to the decoder */
    _Atomic int64_t stale;     /* re-deliveries below a partition's next offset */
    _Atomic int64_t ignored;   /* messages of a partition not consumed (fenced, blocked) */
    _Atomic int64_t uncounted; /* consumed, then rolled back (conflict) or abandoned */
} lane_t;

struct rec_s {
    const execrec_recorder_conf_t *rc;
    rd_kafka_t *rk;
    lane_t *lanes;
    int nlanes;
    part_t *parts;
    int nparts;
    int assigned;     /* an assignment is in force */
    int reset_latest; /* -X auto.offset.reset=latest: where a partition without a
                         position starts (librdkafka's own reset is off) */
    /* Offsets passed over: retention removed them first (the totals line). */
    _Atomic int64_t skipped;
    _Atomic int refetch;    /* a lane moved a partition's position: fetch it anew (reassign) */
    _Atomic int gave_up;    /* a lane's flush gave up (shutdown deadline, second signal) */
    int64_t heard_ms;       /* exit_at_end: when the cluster last gave a sign of life */
    int64_t heard_consumed; /* ... and how many messages the lanes had consumed then */
    int stop_seen;          /* the stop signal was logged */
    int hups;               /* SIGHUPs logged so far */
    pthread_mutex_t mu;     /* fatal and why */
    _Atomic int fatal;
    char why[1024]; /* the first fatal error's reason */

    /* metrics_tick's clocks: the last gauge update, the last Kafka probe */
    int64_t metrics_ms, kafka_probe_ms;
};

#define now_ms execrec_time_monotonic_ms

static const char *kind_label(execrec_kind_t k) {
    static const char *label[EXECREC_KIND__CNT] = {"orders", "events", "trades", "managers"};
    return label[k];
}

/* ---- PostgreSQL --------------------------------------------------------------- */

/* Stops the recorder: the first reason is kept for execrec_recorder_run's errstr.
 * Any thread. */
static void fatal(rec_t *r, const char *fmt, ...) EXECREC_PRINTF(2, 3);
static void fatal(rec_t *r, const char *fmt, ...) {
    pthread_mutex_lock(&r->mu);
    if (!r->fatal) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->why, sizeof(r->why), fmt, ap);
        va_end(ap);
    }
    r->fatal = 1;
    pthread_mutex_unlock(&r->mu);
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

/* Reads this group's stored offsets (offsets.h) on writer's connection, which
 * holds no transaction here: the batch is empty (assignment, every lane parked) or
 * its flush just failed (a conflict, in the lane). stored[i] is the next offset of
 * parts[i], or -1 when there is no row. @returns EXECREC_OK, or EXECREC_ERR_PG
 * (errstr). */
static execrec_err_t read_stored(rec_t *r, execrec_writer_t *writer, int64_t *stored, char *errstr,
                                 size_t errstr_size) {
    execrec_err_t err = execrec_writer_ensure(writer, errstr, errstr_size);
    if (err)
        return err;
    for (int i = 0; i < r->nparts; i++)
        stored[i] = -1;
    stored_t st = {r, stored};
    return execrec_offsets_read(execrec_writer_conn(writer), r->rc->group, stored_row, &st, errstr,
                                errstr_size);
}

/* ---- Kafka helpers -------------------------------------------------------------- */

/* The lane that owns topic [partition]: the same for the life of the process, so a
 * partition's fetch queue is forwarded to one lane whatever the assignment. */
static int lane_of(const rec_t *r, const char *topic, int32_t partition) {
    uint32_t h = 2166136261u; /* FNV-1a of the topic, plus the partition */
    for (const unsigned char *c = (const unsigned char *)topic; *c; c++)
        h = (h ^ *c) * 16777619u;
    return (int)((h + (uint32_t)partition) % (uint32_t)r->nlanes);
}

static part_t *find_part(rec_t *r, lane_t *L, const char *topic, int32_t partition) {
    if (L && L->last && L->last->partition == partition && !strcmp(L->last->topic, topic))
        return L->last;
    for (int i = 0; i < r->nparts; i++)
        if (r->parts[i].partition == partition && !strcmp(r->parts[i].topic, topic)) {
            if (L)
                L->last = &r->parts[i];
            return &r->parts[i];
        }
    return NULL;
}

/* Every lane parked (the partition table changes). */
static void free_parts(rec_t *r) {
    for (int i = 0; i < r->nparts; i++)
        free(r->parts[i].topic);
    free(r->parts);
    r->parts = NULL;
    r->nparts = 0;
    for (int i = 0; r->lanes && i < r->nlanes; i++)
        r->lanes[i].last = NULL;
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
    p->blocked_hi = hi;
    p->blocked = 1;
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

/* L's batch committed: every partition in it moves on. The lane's thread. */
static void batch_committed(rec_t *r, lane_t *L) {
    int *moved = malloc(sizeof(int) * (size_t)(r->nparts ? r->nparts : 1)), n = 0;
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (p->lane != L->id || p->batch_start < 0)
            continue;
        p->expected = p->batch_end;
        p->batch_start = -1;
        if (moved)
            moved[n++] = i;
    }
    if (moved)
        commit_kafka(r, moved, n);
    free(moved);
    L->batch_opened_ms = 0;
    L->pending = 0;
}

/* The compare-and-set failed for at least one partition of L's batch. The batch
 * was rolled back. For each of its partitions: if the stored offset is still what
 * we expected, replay it (seek back); if it is the batch's own end, the previous
 * attempt's COMMIT had reached the server although we saw an error (a connection
 * lost during COMMIT), so the batch is in fact recorded; otherwise another
 * recorder owns the partition now: drop it, never write it.
 * why comes in errstr. The ingest's conflict handler (ingest.h), in the lane.
 * @returns EXECREC_OK handled, EXECREC_ERR_PG PostgreSQL failed (the batch is kept;
 * errstr says why; the flush is retried). */
static execrec_err_t batch_conflict(void *opaque, char *errstr, size_t errstr_size) {
    lane_t *L = opaque;
    rec_t *r = L->r;
    char why[1024];
    snprintf(why, sizeof(why), "%s", errstr);
    int64_t *stored = calloc((size_t)(r->nparts ? r->nparts : 1), sizeof(int64_t));
    if (!stored) {
        snprintf(errstr, errstr_size, "out of memory");
        return EXECREC_ERR_PG; /* retried: memory may come back, the batch is kept */
    }
    if (read_stored(r, L->writer, stored, errstr, errstr_size)) {
        free(stored);
        return EXECREC_ERR_PG;
    }
    int landed = 0;
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (p->lane == L->id && p->batch_start >= 0 && stored[i] == p->batch_end &&
            p->batch_end != p->expected)
            landed = 1;
    }
    L->uncounted += execrec_writer_pending(L->writer);
    if (landed) {
        execrec_log_warn("the previous attempt to commit this batch had succeeded (its "
                         "acknowledgement was lost); it is recorded, nothing is replayed");
        execrec_writer_clear(L->writer);
        batch_committed(r, L);
        free(stored);
        return EXECREC_OK;
    }
    execrec_log_error("%s", why);
    execrec_writer_clear(L->writer);
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (p->lane != L->id || p->batch_start < 0)
            continue;
        if (stored[i] != p->expected) {
            p->fenced = 1;
            pause_part(r, p);
            execrec_log_error("dropping %s [%" PRId32 "]: its stored offset is %" PRId64
                              " but this recorder expected %" PRId64
                              "; another recorder owns it now. Nothing of it was written.",
                              p->topic, p->partition, stored[i], p->expected);
        } else {
            int64_t from = p->batch_start;
            execrec_log_info("%s [%" PRId32 "]: replaying from offset %" PRId64, p->topic,
                             p->partition, from);
            p->next = from;
            p->resync = 1;
            seek_part(r, p, from);
        }
        p->batch_start = -1;
    }
    L->batch_opened_ms = 0;
    L->pending = 0;
    free(stored);
    return EXECREC_OK;
}

/* Why L's last flush failed, by cause: a server that was up and refused the batch
 * is not "unreachable" (an operator looks at different things). */
static const char *pg_cause(const lane_t *L, char *out, size_t size) {
    snprintf(out, size, "%s: %s", L->pg_up ? "PostgreSQL refused it" : "PostgreSQL unreachable",
             L->pg_why);
    return out;
}

/* Writes L's open batch (execrec_ingest_flush: retried with bounded backoff until
 * deadline; a conflict is settled by batch_conflict). The lane's thread, or the
 * main thread while L is parked.
 * @returns 0 committed (or settled as a conflict), -1 gave up (deadline or second
 * signal; the batch is kept), -2 fatal (out of memory). */
static int flush_batch(rec_t *r, lane_t *L, int64_t deadline) {
    int64_t t0 = now_ms();
    char errstr[1024];
    execrec_writer_stats_t st;
    errstr[0] = '\0';
    execrec_err_t err = execrec_ingest_flush(L->ingest, deadline, &st, errstr, sizeof(errstr));
    if (err == EXECREC_ERR_PG) {
        L->pg_up = execrec_writer_connected(L->writer);
        snprintf(L->pg_why, sizeof(L->pg_why), "%s", errstr);
    }
    if (err == EXECREC_OK && st.messages > 0) {
        pthread_mutex_lock(&L->mu);
        execrec_writer_stats_add(&L->total, &st);
        pthread_mutex_unlock(&L->mu);
        log_batch(&st, now_ms() - t0);
        batch_committed(r, L);
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

/* Forwards the fetch queue of each partition not yet routed (not fenced or
 * blocked) to its lane's queue. librdkafka clears a partition's forward when its
 * fetch stops (an assignment replaced, even by one that keeps it), and that stop
 * completes asynchronously, so a forward set before rd_kafka_assign may be undone;
 * what the fetch queue holds meanwhile stays there in order, and moves to the
 * lane's queue, in order, when the forward is set again. So the main thread sets
 * it before every assignment and again on every turn of its loop until the lane has
 * seen something of the partition (a message or an end-of-partition event): from
 * then on the fetch that stop preceded is running and the forward stays. The main
 * thread. @returns 0, or -1 (fatal set). */
static int route_parts(rec_t *r) {
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (p->routed || p->fenced || p->blocked)
            continue;
        rd_kafka_queue_t *pq = rd_kafka_queue_get_partition(r->rk, p->topic, p->partition);
        if (!pq) {
            fatal(r, "cannot route %s [%" PRId32 "] to its writer", p->topic, p->partition);
            return -1;
        }
        rd_kafka_queue_forward(pq, r->lanes[p->lane].q);
        rd_kafka_queue_destroy(pq);
        if (!p->routed)
            execrec_log_debug("%s [%" PRId32 "]: fetch queue forwarded to writer %d", p->topic,
                              p->partition, p->lane);
    }
    return 0;
}

/* Restarts fetching where each consumed partition stands (p->next), with one
 * rd_kafka_assign: a partition whose fetch failed out of range is stopped in
 * librdkafka (auto.offset.reset=error) and cannot be seek'ed; the others only
 * lose what they had prefetched (the assignment's new version makes librdkafka
 * drop what the lanes' queues still hold of the old one). Fenced and blocked
 * partitions stay out. The main thread, every lane parked (LANE_HOLD: open
 * batches are kept, p->next is where each stands). @returns 0, or -1 (fatal set). */
static int reassign(rec_t *r) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->nparts);
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        if (!p->fenced && !p->blocked)
            rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->next;
    }
    for (int i = 0; i < r->nparts; i++)
        r->parts[i].routed = 0;
    if (route_parts(r) < 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
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
 * valid again (a leader change): fetching resumes there. The lane's thread: the
 * fetch is restarted by the main thread (r->refetch, reassign). */
static void out_of_range(rec_t *r, part_t *p, const char *why) {
    int64_t lo = -1, hi = -1;
    rd_kafka_resp_err_t err = execrec_kafka_partition_watermarks(r->rk, p->topic, p->partition, &lo,
                                                                 &hi, KAFKA_TIMEOUT_MS);
    if (err || p->next > hi) {
        pause_part(r, p);
        if (err) {
            /* Not knowing where the log stands, nothing is skipped: blocked too. */
            p->blocked_hi = -1;
            p->blocked = 1;
            execrec_log_error("%s [%" PRId32 "]: blocked at offset %" PRId64 ": %s, and the "
                              "watermarks cannot be read (%s). Restart the recorder, or see "
                              "docs/offsets.md",
                              p->topic, p->partition, (int64_t)p->next, why, rd_kafka_err2str(err));
            return;
        }
        block_part(r, p, p->next, "the recorder's position", lo, hi);
        return;
    }
    int64_t from = p->next;
    if (from < lo) {
        from = skip_gone(r, p, from, lo, "going on");
        p->next = from;
    } else {
        execrec_log_warn("%s [%" PRId32 "]: %s; the offset %" PRId64
                         " is on the broker again (%" PRId64 "..%" PRId64 "): fetching from it",
                         p->topic, p->partition, why, from, lo, hi);
    }
    r->refetch = 1;
}

/* One message or event of L's queue (or, with L parked, of the consumer's own
 * queue). @returns 0, or -1 fatal. */
static int on_message(rec_t *r, lane_t *L, const rd_kafka_message_t *m) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    if (*topic && m->partition >= 0) {
        part_t *p = find_part(r, L, topic, m->partition);
        if (p && !p->routed)
            p->routed = 1;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        part_t *p = find_part(r, L, topic, m->partition);
        if (p && m->offset >= p->end)
            p->eof = 1;
        return 0;
    }
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET && *topic) {
        part_t *p = find_part(r, L, topic, m->partition);
        if (p && !p->fenced && !p->blocked)
            out_of_range(r, p, rd_kafka_message_errstr(m));
        return 0;
    }
    if (m->err) {
        execrec_log_warn("kafka: %s%s%s", *topic ? topic : "", *topic ? ": " : "",
                         rd_kafka_message_errstr(m));
        return 0;
    }
    execrec_telemetry_t *t = r->rc->telemetry;
    if (t && !execrec_telemetry_kafka_is_up(t))
        execrec_telemetry_kafka_up(t, 1);
    part_t *p = find_part(r, L, topic, m->partition);
    if (!p || p->fenced || p->blocked) {
        L->ignored++;
        execrec_telemetry_skipped(t, topic, "not_owned", 1);
        execrec_log_debug("%s [%" PRId32 "] offset %" PRId64 ": ignored: %s", topic, m->partition,
                          m->offset,
                          !p          ? "not assigned to this recorder"
                          : p->fenced ? "another recorder owns the partition"
                                      : "the partition is blocked");
        return 0;
    }
    /* The partition's lane, whichever queue the message came through. */
    if (p->lane != L->id) {
        fatal(r,
              "internal: %s [%" PRId32 "] offset %" PRId64 " reached writer %d, not its "
              "owner %d",
              topic, m->partition, m->offset, L->id, p->lane);
        return -1;
    }
    if (m->offset < p->next || p->resync) {
        /* A re-delivery: prefetched before a seek back, or already in the open
         * batch; or taken from the queue before a seek back in the same poll. Not
         * a loss (the seek fetches it again), but counted and shown. */
        L->stale++;
        execrec_telemetry_skipped(t, topic, "stale", 1);
        execrec_log_debug("%s [%" PRId32 "] offset %" PRId64
                          ": stale (below the next offset %" PRId64 "): not recorded again",
                          topic, m->partition, m->offset, (int64_t)p->next);
        return 0;
    }
    L->consumed++;
    execrec_err_t err = execrec_ingest_message(L->ingest, p->kind, m);
    if (err == EXECREC_OK)
        err = execrec_writer_set_offset(L->writer, r->rc->group, p->topic, p->partition,
                                        p->expected, m->offset + 1);
    if (err) {
        fatal(r, "%s [%" PRId32 "] offset %" PRId64 ": %s", topic, m->partition, m->offset,
              execrec_err_name(err));
        return -1;
    }
    if (p->batch_start < 0)
        p->batch_start = m->offset;
    p->next = p->batch_end = m->offset + 1;
    L->pending = execrec_writer_pending(L->writer);
    L->last_added_ms = now_ms();
    if (!L->batch_opened_ms)
        L->batch_opened_ms = L->last_added_ms;
    return 0;
}

/* ---- lanes ---------------------------------------------------------------------- */

/* Settles L's open batch for a park with LANE_SETTLE: writes it, retried until
 * L->settle_deadline, else abandons it (nothing of it was committed: the
 * partitions' next owner, or the next start, consumes it again). The result is for
 * the main thread, which words it (a revocation, the shutdown). */
static void settle(rec_t *r, lane_t *L) {
    int64_t pending = execrec_writer_pending(L->writer);
    int rc = 0;
    if (pending > 0)
        rc = L->gave_up ? -1 : flush_batch(r, L, L->settle_deadline);
    L->settle_lost = 0;
    if (rc < 0) {
        L->settle_lost = pending;
        L->uncounted += pending;
        execrec_writer_clear(L->writer);
        for (int i = 0; i < r->nparts; i++)
            if (r->parts[i].lane == L->id)
                r->parts[i].batch_start = -1;
        L->batch_opened_ms = 0;
        L->pending = 0;
    }
    L->settle_rc = rc;
}

/* Writes L's open batch while the lane runs. @returns 0, or -1: halt (out of
 * memory, fatal set; or the shutdown deadline passed, or a second signal came,
 * while PostgreSQL was retried: the batch stays uncommitted). */
static int lane_flush(rec_t *r, lane_t *L) {
    int f = flush_batch(r, L, -1);
    if (f == -2)
        fatal(r, "out of memory writing a batch");
    if (f == -1) {
        L->gave_up = 1;
        r->gave_up = 1;
    }
    return f < 0 ? -1 : 0;
}

/* The lane's work between two parks: take what its queue holds, add it to the
 * batch, and write the batch when it is full, old, or the queue ran dry. An open
 * batch is committed at batch.size messages or batch.bytes bytes
 * (execrec_ingest_full), after batch.ms while messages keep coming, or once
 * nothing more has arrived for batch.idle.ms (default 0: as soon as the queue is
 * empty, i.e. the lane has caught up). Under load the queue is never empty and
 * batches are large; at a trickle each message is committed one fetch and one
 * commit after it arrived (docs/performance.md).
 * @returns 0, or -1: halt (fatal set, or a flush gave up). */
static int lane_step(rec_t *r, lane_t *L, rd_kafka_message_t **msgs) {
    const execrec_recorder_conf_t *rc = r->rc;
    int64_t deadline = 0;
    if (L->batch_opened_ms) {
        int64_t full = L->batch_opened_ms + rc->batch_ms,
                idle = L->last_added_ms + rc->batch_idle_ms;
        deadline = full < idle ? full : idle;
    }
    /* A seek back (a replay after a conflict) made the messages taken before it
     * stale, and librdkafka drops what its queues still hold of the old position:
     * what this poll returns was fetched after it. */
    for (int i = 0; i < r->nparts; i++)
        if (r->parts[i].lane == L->id)
            r->parts[i].resync = 0;
    ssize_t n = rd_kafka_consume_batch_queue(L->q, execrec_kafka_poll_timeout(deadline), msgs,
                                             LANE_POLL_MAX);
    int halt = 0;
    for (ssize_t i = 0; i < n; i++) {
        /* After a halt the rest are dropped: nothing of them is committed. */
        if (!halt && on_message(r, L, msgs[i]) < 0)
            halt = 1;
        /* Full is checked after every message: a batch ends at its budget. */
        if (!halt && execrec_ingest_full(L->ingest))
            halt = lane_flush(r, L) < 0;
        rd_kafka_message_destroy(msgs[i]);
    }
    if (halt)
        return -1;
    L->dry = n <= 0;
    int64_t pending = execrec_writer_pending(L->writer), now = now_ms();
    if (pending > 0 && (now - L->batch_opened_ms >= rc->batch_ms ||
                        (n <= 0 && now - L->last_added_ms >= rc->batch_idle_ms)))
        return lane_flush(r, L);
    if (pending == 0)
        execrec_ingest_probe(L->ingest);
    return 0;
}

static void *lane_main(void *arg) {
    lane_t *L = arg;
    rec_t *r = L->r;
    rd_kafka_message_t *msgs[LANE_POLL_MAX];
    pthread_mutex_lock(&L->mu);
    for (;;) {
        if (L->req == LANE_QUIT)
            break;
        if (L->req != LANE_RUN || L->halted) {
            if (L->acked != L->gen) {
                if (L->req == LANE_SETTLE) {
                    pthread_mutex_unlock(&L->mu);
                    settle(r, L);
                    pthread_mutex_lock(&L->mu);
                }
                L->acked = L->gen;
                pthread_cond_broadcast(&L->cv);
            }
            pthread_cond_wait(&L->cv, &L->mu);
            continue;
        }
        pthread_mutex_unlock(&L->mu);
        int halt = lane_step(r, L, msgs) < 0;
        pthread_mutex_lock(&L->mu);
        if (halt)
            L->halted = 1;
    }
    pthread_mutex_unlock(&L->mu);
    return NULL;
}

/* Asks every lane for req (LANE_HOLD, LANE_SETTLE with deadline) and waits until
 * each has done it and parked. The main thread. */
static void park_lanes(rec_t *r, int req, int64_t deadline) {
    for (int i = 0; i < r->nlanes; i++) {
        lane_t *L = &r->lanes[i];
        pthread_mutex_lock(&L->mu);
        L->req = req;
        L->settle_deadline = deadline;
        L->gen++;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
        rd_kafka_queue_yield(L->q); /* ends a poll that is waiting */
    }
    for (int i = 0; i < r->nlanes; i++) {
        lane_t *L = &r->lanes[i];
        pthread_mutex_lock(&L->mu);
        while (L->started && L->acked != L->gen)
            pthread_cond_wait(&L->cv, &L->mu);
        pthread_mutex_unlock(&L->mu);
        if (!L->started && req == LANE_SETTLE) /* no thread (start-up failed): inline */
            settle(r, L);
    }
}

/* Lets every parked lane run again. */
static void run_lanes(rec_t *r) {
    for (int i = 0; i < r->nlanes; i++) {
        lane_t *L = &r->lanes[i];
        pthread_mutex_lock(&L->mu);
        L->req = LANE_RUN;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
    }
}

/* Settles every lane's open batch (park_lanes with LANE_SETTLE) and sums the
 * outcome: *lost the messages abandoned, *cause the first failed lane's reason.
 * @returns 0 all written, -1 some abandoned, -2 out of memory. */
static int settle_lanes(rec_t *r, int64_t deadline, int64_t *lost, char *cause, size_t size) {
    park_lanes(r, LANE_SETTLE, deadline);
    int rc = 0;
    *lost = 0;
    if (size)
        *cause = '\0';
    for (int i = 0; i < r->nlanes; i++) {
        lane_t *L = &r->lanes[i];
        if (L->settle_rc < 0 && !*cause)
            pg_cause(L, cause, size);
        if (L->settle_rc < rc)
            rc = L->settle_rc;
        *lost += L->settle_lost;
    }
    return rc;
}

static int64_t lanes_pending(const rec_t *r) {
    int64_t n = 0;
    for (int i = 0; i < r->nlanes; i++)
        n += r->lanes[i].pending;
    return n;
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
            part_t *p = find_part(r, NULL, l->elems[j].topic, l->elems[j].partition);
            if (p && !l->elems[j].err && l->elems[j].offset >= 0)
                committed[p - r->parts] = l->elems[j].offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* The low and high watermarks of every partition (lo[i], hi[i] for parts[i]), all
 * asked for at once (execrec_kafka_watermarks: two requests per broker, not two per
 * partition), retried while the broker is unreachable.
 * @returns 0, -1 fatal (set), -2 stopped by a signal. */
static int read_watermarks(rec_t *r, int64_t *lo, int64_t *hi) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(r->nparts);
    for (int i = 0; i < r->nparts; i++)
        rd_kafka_topic_partition_list_add(l, r->parts[i].topic, r->parts[i].partition);
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        char errstr[512];
        if (!execrec_kafka_watermarks(r->rk, l, lo, hi, KAFKA_TIMEOUT_MS, errstr, sizeof(errstr)))
            break;
        execrec_log_warn("%s; retrying", errstr);
        if (*r->rc->stop == 1 || execrec_pg_backoff(attempt, -1, r->rc->stop) != 0) {
            if (*r->rc->stop == 1) {
                /* A graceful stop, as in on_assign: nothing was consumed yet. */
                execrec_log_info("stopping before the assignment: %s; nothing was consumed",
                                 errstr);
                rc = -2;
            } else {
                fatal(r, "%s", errstr);
                rc = -1;
            }
            break;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

static void on_assign(rec_t *r, rd_kafka_topic_partition_list_t *list) {
    /* The eager protocol (recorder.h): every assignment follows a revocation of
     * everything, which settled every lane's batch and parked the lanes, so nothing
     * is open and the first lane's connection is free for reading the stored
     * offsets. */
    assert(lanes_pending(r) == 0 && !r->assigned);
    execrec_writer_t *writer = r->lanes[0].writer;
    free_parts(r);
    r->parts = calloc((size_t)(list->cnt ? list->cnt : 1), sizeof(part_t));
    int64_t *stored = calloc((size_t)(list->cnt ? list->cnt : 1), sizeof(int64_t));
    int64_t *committed = calloc((size_t)(list->cnt ? list->cnt : 1), sizeof(int64_t));
    int64_t *los = calloc((size_t)(list->cnt ? list->cnt : 1), sizeof(int64_t));
    int64_t *his = calloc((size_t)(list->cnt ? list->cnt : 1), sizeof(int64_t));
    if (!r->parts || !stored || !committed || !los || !his) {
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
        p->lane = lane_of(r, p->topic, p->partition);
        p->batch_start = -1;
        r->nparts++;
    }
    /* PostgreSQL holds the truth; wait for it rather than guess. */
    char errstr[1024];
    for (int attempt = 0; read_stored(r, writer, stored, errstr, sizeof(errstr)); attempt++) {
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
    int wm = read_watermarks(r, los, his);
    if (wm < 0) {
        if (wm == -2)
            free_parts(r);
        goto done;
    }
    rd_kafka_topic_partition_list_t *assign = rd_kafka_topic_partition_list_new(r->nparts);
    for (int i = 0; i < r->nparts; i++) {
        part_t *p = &r->parts[i];
        int64_t lo = los[i], hi = his[i], start;
        const char *from;
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
    /* Each partition's messages go to its lane's queue (route_parts). */
    if (route_parts(r) < 0) {
        rd_kafka_topic_partition_list_destroy(assign);
        goto done;
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
    run_lanes(r);
    execrec_telemetry_assigned(r->rc->telemetry, r->nparts);
    execrec_telemetry_kafka_up(r->rc->telemetry, 1);
    if (r->nparts == 0)
        execrec_log_info("assigned no partitions (the group has more members than partitions)");
done:
    free(stored);
    free(committed);
    free(los);
    free(his);
}

static void on_revoke(rec_t *r) {
    int64_t pending = lanes_pending(r), lost = 0;
    char cause[600];
    if (settle_lanes(r, now_ms() + REVOKE_GRACE_MS, &lost, cause, sizeof(cause)) < 0)
        execrec_log_warn("abandoning %" PRId64 " of the %" PRId64 " messages of the open "
                         "batches (%s). Nothing of them was committed; the partitions' next "
                         "owner records them.",
                         lost, pending, cause);
    for (int i = 0; i < r->nparts; i++)
        execrec_log_kv(EXECREC_LOG_INFO,
                       EXECREC_LOG_FIELDS(EXECREC_LF_TOPIC(r->parts[i].topic),
                                          EXECREC_LF_PARTITION(r->parts[i].partition),
                                          EXECREC_LF_OFFSET(r->parts[i].next)),
                       "revoked %s [%" PRId32 "] at offset %" PRId64, r->parts[i].topic,
                       r->parts[i].partition, (int64_t)r->parts[i].next);
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

/* Every assigned partition not fenced or blocked reached the end it had at the
 * assignment, and every lane's last poll found its queue empty. */
static int all_at_end(const rec_t *r) {
    if (!r->assigned)
        return 0;
    for (int i = 0; i < r->nparts; i++) {
        const part_t *p = &r->parts[i];
        if (!p->fenced && !p->blocked && !p->eof && p->next < p->end)
            return 0;
    }
    for (int i = 0; i < r->nlanes; i++)
        if (!r->lanes[i].dry)
            return 0;
    return 1;
}

/* The lanes' counters summed (each lane's committed totals under its lock). */
typedef struct totals_s {
    execrec_writer_stats_t st;
    int64_t consumed, stale, ignored, uncounted, pending;
} totals_t;

static void sum_lanes(rec_t *r, totals_t *t) {
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < r->nlanes; i++) {
        lane_t *L = &r->lanes[i];
        pthread_mutex_lock(&L->mu);
        execrec_writer_stats_add(&t->st, &L->total);
        pthread_mutex_unlock(&L->mu);
        t->consumed += L->consumed;
        t->stale += L->stale;
        t->ignored += L->ignored;
        t->uncounted += L->uncounted;
        t->pending += L->pending;
    }
}

/* The totals add up: every message consumed was inserted (an OrderManager intent:
 * inserted, or updated the row of an older one), already recorded,
 * rejected (or its reject already recorded), is in an open batch, or was consumed
 * again after its batch was rolled back or abandoned (uncounted). Exact when the
 * lanes are parked (the final totals); while they run, a snapshot. */
static void log_totals(rec_t *r, const char *what) {
    int64_t ins, dup, lag = 0;
    char blocked[1024];
    int nblocked = blocked_list(r, blocked, sizeof(blocked));
    totals_t t;
    sum_lanes(r, &t);
    execrec_writer_stats_sum(&t.st, &ins, &dup);
    for (int i = 0; i < r->nparts; i++) {
        int64_t lo, hi;
        part_t *p = &r->parts[i];
        if (!p->fenced && !p->blocked &&
            rd_kafka_get_watermark_offsets(r->rk, p->topic, p->partition, &lo, &hi) == 0 &&
            hi > p->next)
            lag += hi - p->next;
    }
    int64_t skipped = r->skipped;
    execrec_log_kv(
        EXECREC_LOG_INFO,
        EXECREC_LOG_FIELDS(EXECREC_LF_INT("consumed", t.consumed), EXECREC_LF_INT("inserted", ins),
                           EXECREC_LF_INT("duplicates", dup),
                           EXECREC_LF_INT("rejected", t.st.rejected), EXECREC_LF_INT("lag", lag),
                           EXECREC_LF_INT("blocked", nblocked), EXECREC_LF_INT("skipped", skipped)),
        "%s: consumed %" PRId64 " = inserted %" PRId64 " (%s %" PRId64 ", %s %" PRId64
        ", %s %" PRId64 ", %s %" PRId64 " of which %" PRId64 " updated) + already recorded %" PRId64
        " + rejected %" PRId64 " + rejects already recorded %" PRId64
        " + in the open batch %" PRId64 " + rolled back or abandoned %" PRId64 "; lag %" PRId64
        " over %d partitions; blocked %d, skipped %" PRId64 " (never recorded), stale %" PRId64
        ", ignored %" PRId64,
        what, t.consumed, ins, kind_label(EXECREC_KIND_ORDER), t.st.inserted[EXECREC_KIND_ORDER],
        kind_label(EXECREC_KIND_ORDER_EVENT), t.st.inserted[EXECREC_KIND_ORDER_EVENT],
        kind_label(EXECREC_KIND_TRADE), t.st.inserted[EXECREC_KIND_TRADE],
        kind_label(EXECREC_KIND_ORDER_MANAGER), t.st.inserted[EXECREC_KIND_ORDER_MANAGER],
        t.st.updated[EXECREC_KIND_ORDER_MANAGER], dup, t.st.rejected, t.st.rejects_duplicate,
        t.pending, t.uncounted, lag, r->nparts, nblocked, skipped, t.stale, t.ignored);
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
                         lanes_pending(r), rc->shutdown_timeout_ms / 1000);
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

/* A message on the consumer's own queue: none should come (every assigned
 * partition's queue is forwarded to its lane before its fetch starts), but one
 * that did is handed to its lane, parked meanwhile, never dropped.
 * @returns 0, or -1 fatal. */
static int stray_message(rec_t *r, const rd_kafka_message_t *m) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    part_t *p = *topic ? find_part(r, NULL, topic, m->partition) : NULL;
    if (!p) {
        if (m->err)
            execrec_log_warn("kafka: %s%s%s", *topic ? topic : "", *topic ? ": " : "",
                             rd_kafka_message_errstr(m));
        else
            return on_message(r, &r->lanes[0], m); /* counted as ignored */
        return 0;
    }
    execrec_log_debug("%s [%" PRId32 "] offset %" PRId64 ": came through the consumer queue; "
                      "handed to writer %d",
                      topic, m->partition, m->offset, p->lane);
    park_lanes(r, LANE_HOLD, 0);
    int rc = on_message(r, &r->lanes[p->lane], m);
    run_lanes(r);
    return rc;
}

/* The main thread's loop: serves the consumer's queue (rebalances, errors), the
 * metrics and the totals, restarts fetches a lane asked for, and decides when the
 * run ends. The lanes do the recording. */
static int run_loop(rec_t *r) {
    const execrec_recorder_conf_t *rc = r->rc;
    int64_t last_stats = now_ms();
    for (;;) {
        note_signals(r);
        if (*rc->stop || r->fatal || r->gave_up)
            return 0;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 100);
        metrics_tick(r);
        if (rc->exit_at_end && rc->broker_timeout_ms) {
            int64_t consumed = 0;
            for (int i = 0; i < r->nlanes; i++)
                consumed += r->lanes[i].consumed;
            int heard = m != NULL || consumed != r->heard_consumed;
            r->heard_consumed = consumed;
            if (give_up(r, heard)) {
                if (m)
                    rd_kafka_message_destroy(m);
                return 0;
            }
        }
        if (m) {
            int rc_msg = stray_message(r, m);
            rd_kafka_message_destroy(m);
            if (rc_msg < 0)
                return -1;
        }
        if (r->assigned && route_parts(r) < 0)
            return -1;
        if (r->refetch && r->assigned) {
            /* A lane moved a partition's position (out_of_range): fetch anew. */
            park_lanes(r, LANE_HOLD, 0);
            r->refetch = 0;
            int rf = reassign(r);
            run_lanes(r);
            if (rf < 0)
                return -1;
        }
        int64_t now = now_ms();
        if (rc->stats_interval_ms > 0 && now - last_stats >= rc->stats_interval_ms) {
            if (!r->assigned)
                execrec_log_info("no partitions assigned yet: waiting for the consumer group "
                                 "(is the broker reachable? a member that died without "
                                 "leaving keeps its partitions until its session.timeout.ms "
                                 "has passed)");
            log_totals(r, "totals");
            last_stats = now;
        }
        /* The ends are reached when every lane's queue runs dry (an empty poll). */
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

/* Creates the lanes: each with its own queue, codec clone and ingest (writer,
 * connection). The first lane's connection is made here and migrates (or checks)
 * the schema; the others connect now too, so that a server that refuses more
 * connections (max_connections, a role's CONNECTION LIMIT) is an error at start.
 * The threads start parked. @returns EXECREC_OK or an error with errstr. */
static execrec_err_t lanes_start(rec_t *r, char *errstr, size_t errstr_size) {
    const execrec_recorder_conf_t *rc = r->rc;
    int n = rc->writers > 0 ? rc->writers : 1;
    if (!(r->lanes = calloc((size_t)n, sizeof(lane_t)))) {
        execrec_errstr(errstr, errstr_size, "out of memory");
        return EXECREC_ERR_NOMEM;
    }
    r->nlanes = n;
    /* batch.bytes bounds the memory of every open batch together, whatever the
     * number of writers: each holds its share. */
    int64_t lane_bytes = rc->batch_bytes > 0 ? rc->batch_bytes / n : rc->batch_bytes;
    if (rc->batch_bytes > 0 && lane_bytes < 1)
        lane_bytes = 1;
    for (int i = 0; i < r->nlanes; i++) {
        lane_t *L = &r->lanes[i];
        L->r = r;
        L->id = i;
        L->req = LANE_HOLD;
        pthread_mutex_init(&L->mu, NULL);
        pthread_cond_init(&L->cv, NULL);
        if (!(L->codec = execrec_codec_clone(rc->codec, errstr, errstr_size)))
            return EXECREC_ERR_NOMEM;
        execrec_ingest_conf_t ic = {.dsn = rc->dsn,
                                    .codec = L->codec,
                                    .stop = rc->stop,
                                    .shutdown_ms = rc->shutdown_timeout_ms,
                                    .on_conflict = batch_conflict,
                                    .opaque = L,
                                    .done = "committed",
                                    .batch_size = rc->batch_size,
                                    .batch_bytes = lane_bytes,
                                    .reject_payload_max = rc->reject_payload_max,
                                    .no_partition_check = i > 0,
                                    .telemetry = rc->telemetry};
        if (!(L->ingest = execrec_ingest_new(&ic, errstr, errstr_size)))
            return EXECREC_ERR_NOMEM;
        L->writer = execrec_ingest_writer(L->ingest);
        execrec_err_t err = execrec_writer_ensure(L->writer, errstr, errstr_size);
        if (err)
            return err;
        if (i == 0) {
            PGconn *conn = execrec_writer_conn(L->writer);
            char *shown = execrec_pg_redact_conninfo(rc->dsn ? rc->dsn : "");
            execrec_log_info("connected to PostgreSQL: database %s on %s:%s [%s]", PQdb(conn),
                             PQhost(conn), PQport(conn), shown ? shown : "");
            free(shown);
            int applied = 0;
            if ((err = execrec_ingest_connect(L->ingest, &applied, errstr, errstr_size)))
                return err;
            if (applied)
                execrec_log_info("applied %d migration(s)", applied);
        }
    }
    if (r->nlanes > 1)
        execrec_log_info("%d writers: each partition is written by one of them, on a "
                         "PostgreSQL connection of its own",
                         r->nlanes);
    return EXECREC_OK;
}

/* The lanes' queues and threads, once the consumer exists. */
static execrec_err_t lanes_run(rec_t *r, char *errstr, size_t errstr_size) {
    for (int i = 0; i < r->nlanes; i++) {
        lane_t *L = &r->lanes[i];
        if (!(L->q = rd_kafka_queue_new(r->rk))) {
            execrec_errstr(errstr, errstr_size, "out of memory");
            return EXECREC_ERR_NOMEM;
        }
        if (pthread_create(&L->thread, NULL, lane_main, L)) {
            execrec_errstr(errstr, errstr_size, "cannot start writer thread %d", i);
            return EXECREC_ERR_NOMEM;
        }
        L->started = 1;
    }
    return EXECREC_OK;
}

/* Stops the lanes' threads, then frees what they hold. */
static void lanes_stop(rec_t *r) {
    for (int i = 0; i < r->nlanes; i++) {
        lane_t *L = &r->lanes[i];
        if (!L->started)
            continue;
        pthread_mutex_lock(&L->mu);
        L->req = LANE_QUIT;
        pthread_cond_broadcast(&L->cv);
        pthread_mutex_unlock(&L->mu);
        rd_kafka_queue_yield(L->q);
        pthread_join(L->thread, NULL);
        L->started = 0;
    }
}

static void lanes_free(rec_t *r) {
    for (int i = 0; r->lanes && i < r->nlanes; i++) {
        lane_t *L = &r->lanes[i];
        if (L->q)
            rd_kafka_queue_destroy(L->q);
        execrec_ingest_destroy(L->ingest);
        execrec_codec_destroy(L->codec);
        pthread_mutex_destroy(&L->mu);
        pthread_cond_destroy(&L->cv);
    }
    free(r->lanes);
    r->lanes = NULL;
}

execrec_err_t execrec_recorder_run(const execrec_recorder_conf_t *rc, char *errstr,
                                   size_t errstr_size) {
    rec_t r;
    memset(&r, 0, sizeof(r));
    pthread_mutex_init(&r.mu, NULL);
    execrec_recorder_conf_t conf = *rc;
    if (conf.shutdown_timeout_ms <= 0)
        conf.shutdown_timeout_ms = EXECREC_INGEST_SHUTDOWN_MS;
    r.rc = rc = &conf;
    execrec_err_t err = check_protocol(rc, errstr, errstr_size);
    if (err)
        return err;
    if ((err = lanes_start(&r, errstr, errstr_size)))
        goto out;
    execrec_telemetry_pg_up(rc->telemetry, 1);
    if (!(r.rk = consumer_new(&r, errstr, errstr_size))) {
        err = EXECREC_ERR_KAFKA;
        goto out;
    }
    if ((err = lanes_run(&r, errstr, errstr_size)))
        goto out;
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
        /* Shutdown: every lane commits what is open, then the group is left (which
         * revokes). After a signal the ingest keeps the shutdown deadline; at the end
         * of an --exit-at-end run PostgreSQL gets as long as a signal would give it. */
        note_signals(&r);
        int64_t lost = 0;
        char cause[600];
        int f = settle_lanes(&r, now_ms() + r.rc->shutdown_timeout_ms, &lost, cause, sizeof(cause));
        note_signals(&r);
        if (f == -2) {
            fatal(&r, "out of memory writing a batch");
            err = EXECREC_ERR_NOMEM;
        } else if (f < 0) {
            int nlost = 0;
            for (int i = 0; i < r.nlanes; i++)
                nlost += r.lanes[i].settle_lost > 0;
            fatal(&r,
                  "could not commit the open batch%s of %" PRId64 " messages before %s (%s). "
                  "Nothing of %s was committed: %s consumed again on the next start.",
                  nlost > 1 ? "es" : "", lost,
                  *rc->stop >= 2 ? "a second signal"
                  : *rc->stop    ? "the shutdown deadline (--shutdown-timeout)"
                                 : "the end of the run",
                  cause, nlost > 1 ? "them" : "it", nlost > 1 ? "they are" : "it is");
            err = EXECREC_ERR_PG;
        } else {
            err = EXECREC_OK;
        }
    }
    char blocked[768];
    int nblocked = blocked_list(&r, blocked, sizeof(blocked));
    /* --exit-at-end with blocked partitions: everything else is recorded, but the
     * run did not reach every end (exit 1, naming them). */
    if (err == EXECREC_OK && rc->exit_at_end && nblocked) {
        execrec_errstr(errstr, errstr_size,
                       "%d partition(s) blocked, not recorded: %s. Decide with execrec "
                       "offsets reset (docs/offsets.md)",
                       nblocked, blocked);
        err = EXECREC_ERR_RANGE;
    }
    park_lanes(&r, LANE_HOLD, 0);
    log_totals(&r, "final totals");
out:
    if (r.rk) {
        /* Leaving the group revokes: on_revoke settles whatever is still open (after
         * a fatal error, the lanes' batches as they stand). */
        rd_kafka_resp_err_t kerr = rd_kafka_consumer_close(r.rk);
        if (kerr)
            execrec_log_warn("closing the consumer: %s", rd_kafka_err2str(kerr));
    }
    lanes_stop(&r);
    /* A fatal error found while closing (a revocation's flush) also fails the run. */
    if (r.fatal) {
        execrec_errstr(errstr, errstr_size, "%s", r.why);
        if (!err)
            err = EXECREC_ERR_KAFKA;
    }
    assert(err || !r.fatal);
    free_parts(&r);
    lanes_free(&r);
    if (r.rk)
        rd_kafka_destroy(r.rk);
    pthread_mutex_destroy(&r.mu);
    return err;
}
