/* Consume -> decode -> write, in one place: a message (a Kafka message, or a line of
 * a file for `execrec load`) is decoded with the codec and added to the batch
 * writer as a row, or as a reject with its bytes as received; and the open batch is
 * flushed, retrying PostgreSQL failures with bounded backoff (pg.h) on the writer's
 * own connection. Used by the recorder, backfill and `execrec load`; they keep only
 * what is theirs (partitions, offsets, progress).
 *
 *   app ─► execrec_ingest_message ─► codec_decode ─► writer_add / writer_add_reject
 *   app ─► execrec_ingest_flush ─► writer_ensure ─► writer_flush ─► COPY/INSERT/CAS
 *                                      (retry: pg_log_retry, pg_backoff) */
#ifndef EXECREC_INGEST_H
#define EXECREC_INGEST_H

#include <signal.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include "app/telemetry.h"
#include "model/codec.h"
#include "execrec/err.h"
#include "execrec/record.h"
#include "pg/writer.h"

/** Called by execrec_ingest_flush when the batch's offset compare-and-set failed
 *  (errstr holds the writer's reason; the batch is kept, rolled back). The callback
 *  settles the batch (it must clear it, or leave it for a retry) and returns
 *  EXECREC_OK when settled, or EXECREC_ERR_PG (errstr) to have the flush retried. */
typedef execrec_err_t(execrec_ingest_conflict_cb)(void *opaque, char *errstr, size_t errstr_size);

typedef struct execrec_ingest_conf_s {
    const char *dsn;                         /* libpq conninfo; NULL: PG* environment */
    execrec_codec_t *codec;                  /* borrowed */
    volatile sig_atomic_t *stop;             /* NULL: none. >= 2 stops a retry loop */
    execrec_ingest_conflict_cb *on_conflict; /* NULL: a conflict is returned at once */
    void *opaque;                            /* for on_conflict */
    const char *done;                        /* what a batch is once flushed, for the log
                                                line after an outage: "committed",
                                                "written" */
    execrec_telemetry_t *telemetry;          /* NULL: no metrics. Borrowed */
} execrec_ingest_conf_t;

typedef struct execrec_ingest_s execrec_ingest_t;

/** @returns an ingest with its own writer (not yet connected: call
 *  execrec_ingest_connect) and arena, or NULL with errstr. conf is copied, the
 *  strings and the codec it points to are borrowed. */
execrec_ingest_t *execrec_ingest_new(const execrec_ingest_conf_t *conf, char *errstr,
                                     size_t errstr_size);
/** Frees in, its writer (dropping an open batch) and its connection. NULL: no-op. */
void execrec_ingest_destroy(execrec_ingest_t *in);

/** The writer (owned by in): for set_offset, pending, clear and borrowing its
 *  connection (writer.h). */
execrec_writer_t *execrec_ingest_writer(execrec_ingest_t *in);

/** Connects the writer (once, at start) and applies the migrations.
 *  @returns EXECREC_OK; EXECREC_ERR_PG (errstr: libpq's reason); or the migrator's
 *  error class with its errstr (EXECREC_ERR_MIGRATE, EXECREC_ERR_PG, ...). */
execrec_err_t execrec_ingest_connect(execrec_ingest_t *in, int *applied, char *errstr,
                                     size_t errstr_size) EXECREC_MUSTCHECK;

/** Decodes the meta->value_len bytes at meta->value as a message of kind and adds
 *  it to the batch: a row, or a reject with those bytes. The arena is reset first.
 *  @returns EXECREC_OK or EXECREC_ERR_NOMEM. */
execrec_err_t execrec_ingest_add(execrec_ingest_t *in, execrec_kind_t kind,
                                 const execrec_msgmeta_t *meta) EXECREC_MUSTCHECK;

/** execrec_ingest_add for a consumed Kafka message (its topic, partition, offset,
 *  timestamp and key are the row's coordinates). */
execrec_err_t execrec_ingest_message(execrec_ingest_t *in, execrec_kind_t kind,
                                     const rd_kafka_message_t *m) EXECREC_MUSTCHECK;

/* Deadlines of execrec_ingest_flush, besides a monotonic time in ms. */
#define EXECREC_INGEST_FOREVER INT64_C(-1)  /* retry until written or a second signal */
#define EXECREC_INGEST_NO_RETRY INT64_C(-2) /* one attempt */

/** Writes the open batch (one transaction, writer.h), reconnecting and retrying
 *  PostgreSQL failures with bounded backoff until deadline (each retry is logged,
 *  execrec_pg_log_retry). *stats is that flush's counts.
 *  @returns EXECREC_OK: written (or nothing pending);
 *           EXECREC_ERR_CONFLICT: the compare-and-set failed and on_conflict settled
 *             the batch (or, without on_conflict, the batch is kept, errstr says why);
 *           EXECREC_ERR_PG: gave up (deadline passed, second signal, or NO_RETRY):
 *             the batch is kept, errstr has the last reason;
 *           EXECREC_ERR_NOMEM. */
execrec_err_t execrec_ingest_flush(execrec_ingest_t *in, int64_t deadline,
                                   execrec_writer_stats_t *stats, char *errstr,
                                   size_t errstr_size) EXECREC_MUSTCHECK;

/** With metrics on, and no batch open: checks at most once a second, without
 *  blocking, that the idle PostgreSQL connection is still up (a server that shut
 *  down has closed it), and tries to reconnect when it is down, so that
 *  execrec_postgres_up and /readyz follow PostgreSQL while nothing is written.
 *  A reconnection attempt takes as long as libpq's connect (immediate when the
 *  server refuses; connect_timeout in the DSN bounds an unanswered one). */
void execrec_ingest_probe(execrec_ingest_t *in);

#endif
