/* The recorder: a librdkafka consumer in a consumer group, feeding N batch writers
 * (writer.h), each a thread with its own PostgreSQL connection and a stable share
 * of the partitions. One batch = one PostgreSQL transaction holding one writer's
 * rows, rejects and its partitions' next offsets (a compare-and-set), then the
 * offsets are committed to Kafka as well, for lag tools. See docs/recorder.md.
 *
 *   poll ─► decode ─► writer_add / writer_add_reject ─► (N messages or T ms) flush
 *
 * Rebalances: on assignment each partition starts at the offset stored in
 * PostgreSQL, else Kafka's committed offset, else auto.offset.reset, and one whose
 * start is past the log's end is blocked (not consumed until an operator runs
 * `execrec offsets reset`, docs/offsets.md); on revocation
 * the open batch is flushed (or, if PostgreSQL is unreachable, abandoned: nothing
 * of it was committed, so the next owner records it). A compare-and-set mismatch
 * rolls the batch back and drops the partition that another recorder moved on.
 *
 * The rebalance protocol is eager: every rebalance revokes the whole assignment
 * (the open batch is settled) and assigns a whole new one (rd_kafka_assign). An
 * incremental assignor (partition.assignment.strategy=cooperative-sticky) would
 * break that, and is refused at start (execrec_recorder_check).
 *
 * Data flow, poll to commit (one pass down and back, see ingest.h):
 *   rd_kafka_consumer_poll -> execrec_ingest_message -> codec decode -> writer_add
 *   batch full / idle -> execrec_ingest_flush -> writer_flush (rows, rejects, offsets
 *   CAS, COMMIT) -> rd_kafka_commit (async, for lag tools) */
#ifndef EXECREC_RECORDER_H
#define EXECREC_RECORDER_H

#include <signal.h>
#include <stdint.h>
#include "base/sig.h"
#include "app/telemetry.h"
#include "model/codec.h"
#include "execrec/config.h"
#include "execrec/err.h"
#include "execrec/record.h"

typedef struct execrec_recorder_conf_s {
    const char *brokers;                  /* bootstrap.servers */
    const char *group;                    /* consumer group */
    const char *topic[EXECREC_KIND__CNT]; /* NULL or "": kind not consumed */
    const char *dsn;                      /* libpq conninfo; NULL: PG* environment */
    int64_t batch_size;                   /* messages per transaction */
    int64_t batch_bytes;                  /* ... or bytes (ingest.h: execrec_ingest_full) */
    int64_t reject_payload_max;           /* payload bytes a reject stores (writer.h) */
    int64_t batch_ms;                     /* longest a batch stays open */
    int writers;                          /* PostgreSQL connections writing in parallel,
                                                each owning a stable share of the
                                                partitions (0: 1) */
    int64_t batch_idle_ms;                /* commit once nothing arrived for this
                                                  long (0: when caught up) */
    int64_t stats_interval_ms;            /* 0: no periodic totals */
    int exit_at_end;                      /* stop at the ends seen on assignment */
    int64_t broker_timeout_ms;            /* exit_at_end: give up when the cluster has
                                                  not answered for this long (0: never) */
    const execrec_config_t *kafka;        /* -X pass-through properties (borrowed) */
    execrec_codec_t *codec;               /* borrowed */
    volatile execrec_sig_t *stop;         /* set by a signal handler: 1 = stop,
                                                  2 or more = give up waiting */
    volatile execrec_sig_t *signo;        /* NULL, or the last stop signal's number
                                                  (for the log line) */
    volatile execrec_sig_t *hup;          /* NULL, or a count of SIGHUPs: each is
                                                  logged and ignored */
    int64_t shutdown_timeout_ms;          /* after the first signal, how long the
                                                  open batch is retried (0: 30 s) */
    execrec_telemetry_t *telemetry;       /* NULL: no metrics (borrowed) */
} execrec_recorder_conf_t;

/** Checks rc for what the recorder cannot do, before anything starts.
 *  @returns EXECREC_OK, or EXECREC_ERR_INVALID with a usage-style reason in errstr
 *  (today: an incremental rebalance protocol given with -X). */
execrec_err_t execrec_recorder_check(const execrec_recorder_conf_t *rc, char *errstr,
                                     size_t errstr_size) EXECREC_MUSTCHECK;

/** Runs until *stop is set, or (exit_at_end) the ends are reached. Every wait after
 *  the first signal (a flush retried, an assignment waiting for PostgreSQL) ends by
 *  the shutdown deadline, shutdown_timeout_ms after it (execrec_ingest_deadline).
 *  @returns EXECREC_OK after a clean shutdown (open batch committed, group left);
 *           EXECREC_ERR_INVALID: execrec_recorder_check failed;
 *           EXECREC_ERR_PG: PostgreSQL unreachable at start, or the open batch could
 *             not be committed before shutdown; EXECREC_ERR_MIGRATE (or the
 *             migrator's class): migrations failed, or (a writer) the schema is not
 *             at this execrec's version; EXECREC_ERR_KAFKA: the consumer
 *             could not be created or failed fatally, a configured topic is not on
 *             the cluster, or (exit_at_end) the cluster did not answer for
 *             broker_timeout_ms; EXECREC_ERR_NOMEM;
 *           EXECREC_ERR_RANGE: exit_at_end, and the run ended with blocked
 *             partitions (start offset past the log's end, docs/offsets.md): every
 *             other partition reached its end and was committed; errstr names them.
 *           The reason is in errstr. */
execrec_err_t execrec_recorder_run(const execrec_recorder_conf_t *rc, char *errstr,
                                   size_t errstr_size) EXECREC_MUSTCHECK;

#endif
