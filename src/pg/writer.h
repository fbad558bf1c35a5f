/* The batch writer: collects normalised records, rejects and next offsets, and
 * writes them in ONE PostgreSQL transaction, so that rows, rejects and the consumer
 * position commit together or not at all (DESIGN.md, "Data flow").
 *
 * How a batch is written (see docs/writer.md for the reasoning):
 *   BEGIN
 *   per kind: SAVEPOINT; COPY the rows straight into <table>  -- opened and fed while
 *     the batch fills once it holds 64 KiB of one kind's rows, ended at the flush
 *   if PostgreSQL refuses that COPY (a duplicate, a bad value): ROLLBACK TO SAVEPOINT,
 *     then COPY into a temporary staging table and
 *     INSERT INTO <table> SELECT <casts> FROM staging ON CONFLICT DO NOTHING
 *     (OrderManager always so: an upsert only when the incoming intent is newer)
 *     -- a row PostgreSQL refuses (out of range, check constraint) is isolated by
 *        bisecting the staging rows under savepoints and becomes a pg_refused reject
 *   COPY rejects, INSERT INTO ingest_rejects ... ON CONFLICT DO NOTHING
 *   compare-and-set each partition's next offset in ingest_offsets (offsets.h)
 *   COMMIT
 * The writer owns its PostgreSQL connection. While a batch is open the connection
 * may be in a COPY: a caller borrows it (execrec_writer_conn) only after
 * execrec_writer_flush or execrec_writer_clear.
 * The writer knows nothing of JSON or Avro: it sees column texts (record.h). */
#ifndef EXECREC_WRITER_H
#define EXECREC_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "execrec/err.h"
#include "execrec/record.h"

/** Where a message came from. For messages not read from Kafka (execrec load) the
 *  topic is "file:<name>" and the offset is the line number. */
typedef struct execrec_msgmeta_s {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* Kafka message timestamp; -1 when there is none */
    const void *key;      /* message key bytes, or NULL */
    size_t key_len;
    const void *value; /* the message value as received, or NULL when it is the
                             record's raw JSON itself (JSON input). Kept so that a row
                             PostgreSQL refuses is rejected with its original bytes. */
    size_t value_len;
} execrec_msgmeta_t;

/** Totals of one flush (and, summed, of a run). */
typedef struct execrec_writer_stats_s {
    int64_t messages;                      /* records + rejects added */
    int64_t inserted[EXECREC_KIND__CNT];   /* new rows (OrderManager: inserted or updated) */
    int64_t updated[EXECREC_KIND__CNT];    /* of inserted: OrderManager rows replaced by a
                                                newer intent */
    int64_t duplicates[EXECREC_KIND__CNT]; /* already recorded (same natural key), or an
                                                older OrderManager intent */
    int64_t rejected;                      /* rows written to ingest_rejects in this batch */
    int64_t rejects_duplicate;             /* rejects already recorded by an earlier run */
    int64_t pg_refused;                    /* of rejected: rows PostgreSQL refused */
} execrec_writer_stats_t;

typedef struct execrec_writer_s execrec_writer_t;

/** @returns a writer that will connect to conninfo (NULL or "": the PG* environment;
 *  copied), not yet connected (execrec_writer_ensure connects), or NULL with errstr
 *  (out of memory). The writer owns its connection and closes it on destroy. */
execrec_writer_t *execrec_writer_new(const char *conninfo, char *errstr, size_t errstr_size);
/** Closes the connection and frees w, dropping an open batch. NULL: no-op. */
void execrec_writer_destroy(execrec_writer_t *w);

/** Makes the writer's connection usable: kept while it is up, else replaced by a
 *  new one (a replaced connection is logged as a reconnection; the open batch is
 *  kept, and what was streamed of it is sent again at the flush).
 *  @returns EXECREC_OK, or EXECREC_ERR_PG when PostgreSQL cannot be reached (libpq's
 *  reason in errstr). */
execrec_err_t execrec_writer_ensure(execrec_writer_t *w, char *errstr,
                                    size_t errstr_size) EXECREC_MUSTCHECK;

/** @returns 1 when the writer's connection is up (PQstatus CONNECTION_OK), else 0. */
int execrec_writer_connected(const execrec_writer_t *w);

/** Lends the writer's connection (NULL before the first successful ensure) for a
 *  statement of the caller's own (migrations, reading offsets). Only while the
 *  writer holds no transaction on it: the batch is empty, or the last flush failed
 *  (a failed flush rolls back), never while the batch streams (asserted). The
 *  writer keeps ownership: do not close it; a later ensure may replace it. */
PGconn *execrec_writer_conn(execrec_writer_t *w);

/** Adds a record to the open batch. The record's texts are copied: the caller may
 *  reset its arena afterwards. @returns EXECREC_OK or EXECREC_ERR_NOMEM. */
execrec_err_t execrec_writer_add(execrec_writer_t *w, const execrec_msgmeta_t *meta,
                                 const execrec_record_t *rec) EXECREC_MUSTCHECK;

/** Adds a rejected message (payload bytes as received, any content). */
execrec_err_t execrec_writer_add_reject(execrec_writer_t *w, const execrec_msgmeta_t *meta,
                                        const void *payload, size_t len,
                                        const execrec_reject_t *rej) EXECREC_MUSTCHECK;

/** Records that this batch moves (group, topic, partition) to next_offset, and that
 *  the stored value must still be expected (-1: no row must exist yet). Calling it
 *  again for the same partition in one batch updates next_offset only. */
execrec_err_t execrec_writer_set_offset(execrec_writer_t *w, const char *group, const char *topic,
                                        int32_t partition, int64_t expected,
                                        int64_t next_offset) EXECREC_MUSTCHECK;

/** Number of messages (records + rejects) in the open batch. */
int64_t execrec_writer_pending(const execrec_writer_t *w);

/** Writes the open batch in one transaction.
 *  @returns EXECREC_OK: committed, the batch is emptied and *stats filled;
 *           EXECREC_ERR_CONFLICT: an offset compare-and-set failed (another recorder
 *             moved the partition): rolled back, errstr names the partition, the
 *             batch is KEPT so the caller can drop it (execrec_writer_clear);
 *           EXECREC_ERR_PG: the statement or connection failed: rolled back (or the
 *             connection is gone), the batch is KEPT for a retry after reconnecting;
 *           EXECREC_ERR_NOMEM. */
execrec_err_t execrec_writer_flush(execrec_writer_t *w, execrec_writer_stats_t *stats, char *errstr,
                                   size_t errstr_size) EXECREC_MUSTCHECK;

/** Drops the open batch without writing it. */
void execrec_writer_clear(execrec_writer_t *w);

/** Adds the counters of b into a. */
void execrec_writer_stats_add(execrec_writer_stats_t *a, const execrec_writer_stats_t *b);

/** Sums st's per-kind counters: *inserted rows and *duplicates over every kind. */
void execrec_writer_stats_sum(const execrec_writer_stats_t *st, int64_t *inserted,
                              int64_t *duplicates);

#endif
