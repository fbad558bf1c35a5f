/* Backfill: replays a range of one or more topics into the tables, through the
 * recorder's decoder and batch writer (so the same natural keys de-duplicate it),
 * without a consumer group: partitions are assigned directly, nothing is
 * committed to Kafka and ingest_offsets is never written. See docs/backfill.md.
 *
 * A range is [from, to) per partition: `to` is exclusive, for offsets and for
 * times alike, so that adjacent windows never overlap. Times are Kafka message
 * timestamps, resolved to offsets with rd_kafka_offsets_for_times (or, when the
 * broker cannot answer that, by a binary search over message timestamps). */
#ifndef EXECREC_BACKFILL_H
#define EXECREC_BACKFILL_H

#include <signal.h>
#include <stdint.h>
#include "base/sig.h"
#include "app/telemetry.h"
#include "model/codec.h"
#include "execrec/config.h"
#include "execrec/err.h"
#include "execrec/record.h"
#include "pg/writer.h"

#define EXECREC_BACKFILL_UNSET INT64_C(-1)

typedef struct execrec_backfill_conf_s {
    const char *brokers;           /* bootstrap.servers */
    const execrec_config_t *kafka; /* -X pass-through properties (borrowed) */
    const char *dsn;               /* libpq conninfo; NULL: PG* environment */
    const char *const *topics;     /* ntopics topics ... */
    const execrec_kind_t *kinds;   /* ... and the kind of each */
    int ntopics;
    const int32_t *partitions; /* npartitions partitions; NULL: every one */
    int npartitions;
    int64_t from_offset, to_offset;   /* EXECREC_BACKFILL_UNSET: not given */
    int64_t from_time_ms, to_time_ms; /* Kafka timestamps; EXECREC_BACKFILL_UNSET: not given */
    int64_t batch_size;               /* messages per transaction */
    int64_t batch_bytes;              /* ... or bytes (ingest.h: execrec_ingest_full) */
    int64_t reject_payload_max;       /* payload bytes a reject stores (writer.h) */
    int64_t batch_ms;                 /* longest a batch stays open */
    int64_t stats_interval_ms;        /* progress log lines when not on a terminal */
    int64_t broker_timeout_ms;        /* give up on a cluster silent this long (0: 30 s) */
    int progress_bar;                 /* redraw a progress bar on stderr (a terminal) */
    execrec_codec_t *codec;           /* borrowed */
    volatile execrec_sig_t *stop;     /* 1: commit the open batch and stop;
                                           2: stop without waiting for PostgreSQL */
    int64_t shutdown_timeout_ms;      /* after the first signal, how long the open
                                           batch is retried (0: 30 s) */
    execrec_telemetry_t *telemetry;   /* NULL: no metrics (borrowed) */
} execrec_backfill_conf_t;

typedef struct execrec_backfill_result_s {
    int64_t partitions;           /* partitions with a non-empty range */
    int64_t requested;            /* offsets in the resolved ranges */
    int64_t read;                 /* messages read and written (or rejected) */
    execrec_writer_stats_t stats; /* what the writer did with them */
    int interrupted;              /* stopped by a signal before the end */
} execrec_backfill_result_t;

/** Resolves the ranges, then replays them. Nothing is written unless every range
 *  resolves. res is filled as far as the replay got (also on errors).
 *  @returns EXECREC_OK: every range replayed (or interrupted: res->interrupted,
 *             the open batch committed);
 *           EXECREC_ERR_INVALID / EXECREC_ERR_NOTFOUND: bad request (from after to,
 *             unknown topic or partition): errstr, nothing written;
 *           EXECREC_ERR_RANGE: a range is not (or no longer) on the broker: errstr
 *             names each such partition and what the broker has, nothing written;
 *             also when retention deletes messages while they are being read;
 *           EXECREC_ERR_KAFKA: the broker did not answer within broker_timeout_ms
 *             (errstr names its last error); EXECREC_ERR_PG: PostgreSQL
 *             unreachable at start, or a second signal while retrying;
 *           EXECREC_ERR_MIGRATE (or the migrator's other classes): migrations
 *             refused, nothing written;
 *           EXECREC_ERR_NOMEM. */
execrec_err_t execrec_backfill_run(const execrec_backfill_conf_t *bc,
                                   execrec_backfill_result_t *res, char *errstr,
                                   size_t errstr_size) EXECREC_MUSTCHECK;

#endif
