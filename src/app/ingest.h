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
#include "base/sig.h"
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
    volatile execrec_sig_t *stop;            /* NULL: none. >= 2 stops a retry loop */
    int64_t shutdown_ms;                     /* after the first stop signal, how long
                                                retries go on (0: the default,
                                                EXECREC_INGEST_SHUTDOWN_MS) */
    execrec_ingest_conflict_cb *on_conflict; /* NULL: a conflict is returned at once */
    void *opaque;                            /* for on_conflict */
    const char *done;                        /* what a batch is once flushed, for the log
                                                line after an outage: "committed",
                                                "written" */
    int64_t (*clock)(void);                  /* seconds since the epoch, for the month of
                                                the partition check; NULL: time() */
    int64_t batch_size;                      /* execrec_ingest_full: messages (batch.size) */
    int64_t batch_bytes;                     /* ... and bytes (batch.bytes); <= 0: no limit */
    int64_t reject_payload_max;              /* payload bytes a reject stores
                                                (reject.payload.max, writer.h; 0: none);
                                                < 0: the writer's default, 64 KiB */
    execrec_telemetry_t *telemetry;          /* NULL: no metrics. Borrowed */
    int no_partition_check;                  /* 1: never check the monthly partitions
                                                (another ingest of this process does:
                                                one WARN, not one per writer) */
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

/** Connects the writer (once, at start) and makes sure the schema is this
 *  execrec's. A role with the privileges of the schema's owner (or any role, on a
 *  database without schema execution) applies the migrations and creates the
 *  partitions around now (execrec_migrate; *applied: files applied). Any other role
 *  (a writer, docs/roles.md) never attempts DDL: it checks the schema's version
 *  (execrec_migrate_check). Then, as after every flush in a new UTC month, logs a
 *  WARN naming the months from this one through EXECREC_CONFIG_MONTHS_AHEAD - 1
 *  ahead that lack a partition.
 *  @returns EXECREC_OK; EXECREC_ERR_PG (errstr: libpq's reason); or the migrator's
 *  error class with errstr: EXECREC_ERR_MIGRATE ("migrations failed: ..." for the
 *  owner; "schema execution is at version N, this execrec needs M: run execrec
 *  migrate as the owner" for a writer), EXECREC_ERR_PG, ... */
execrec_err_t execrec_ingest_connect(execrec_ingest_t *in, int *applied, char *errstr,
                                     size_t errstr_size) EXECREC_MUSTCHECK;

/** The months named by the last partition check (execrec_ingest_connect, then the
 *  first flush of each new UTC month): "2027-01, 2027-02", or "" when none was
 *  missing. *checks, if not NULL, is set to the number of checks made. */
const char *execrec_ingest_missing_months(const execrec_ingest_t *in, int *checks);

/** Decodes the meta->value_len bytes at meta->value as a message of kind and adds
 *  it to the batch: a row, or a reject with those bytes. The arena is reset first.
 *  @returns EXECREC_OK or EXECREC_ERR_NOMEM. */
execrec_err_t execrec_ingest_add(execrec_ingest_t *in, execrec_kind_t kind,
                                 const execrec_msgmeta_t *meta) EXECREC_MUSTCHECK;

/** execrec_ingest_add for a consumed Kafka message (its topic, partition, offset,
 *  timestamp and key are the row's coordinates). */
execrec_err_t execrec_ingest_message(execrec_ingest_t *in, execrec_kind_t kind,
                                     const rd_kafka_message_t *m) EXECREC_MUSTCHECK;

/** @returns 1 when the open batch is full: it holds conf.batch_size messages, or
 *  conf.batch_bytes bytes (execrec_writer_bytes: rows, kept bytes, rejects), else 0.
 *  The one test of "batch full" for the recorder, backfill and load: each checks it
 *  after every message it adds, so a batch ends at most one message past its budget.
 *  A limit <= 0 is no limit. Cheap (a few additions): call it per message. */
int execrec_ingest_full(const execrec_ingest_t *in);

/* Deadlines of execrec_ingest_flush, besides a monotonic time in ms. */
#define EXECREC_INGEST_FOREVER INT64_C(-1)  /* retry until written or a second signal */
#define EXECREC_INGEST_NO_RETRY INT64_C(-2) /* one attempt */

/* The default shutdown deadline: --shutdown-timeout's default, in ms. */
#define EXECREC_INGEST_SHUTDOWN_MS INT64_C(30000)

/** The deadline a wait or a retry loop keeps: deadline (a monotonic time in ms, or
 *  EXECREC_INGEST_FOREVER), cut to the shutdown deadline once a stop signal has been
 *  seen. The shutdown deadline is fixed the first time this (or a flush) sees
 *  *conf.stop set: then + conf.shutdown_ms, less a reserve (a quarter, at most
 *  2 s) for leaving the group and closing; a second signal moves it to now. So
 *  every wait of one shutdown shares one deadline, whichever state the signal
 *  found the process in (docs/recorder.md, Shutdown).
 *  @returns a monotonic time in ms, or EXECREC_INGEST_FOREVER. */
int64_t execrec_ingest_deadline(execrec_ingest_t *in, int64_t deadline);

/** Writes the open batch (one transaction, writer.h), reconnecting and retrying
 *  PostgreSQL failures with bounded backoff until deadline (each retry is logged,
 *  execrec_pg_log_retry). *stats is that flush's counts.
 *  @returns EXECREC_OK: written (or nothing pending);
 *           EXECREC_ERR_CONFLICT: the compare-and-set failed and on_conflict settled
 *             the batch (or, without on_conflict, the batch is kept, errstr says why);
 *           EXECREC_ERR_PG: gave up (deadline or the shutdown deadline passed, a
 *             second signal, or NO_RETRY): the batch is kept, errstr has the last
 *             reason;
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
