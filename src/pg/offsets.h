/* The one owner of execution.ingest_offsets, the consumer positions that commit with
 * the rows (STYLE.md 13): every statement on that table is here. The recorder reads
 * a group's stored offsets on assignment and after a conflict, `execrec status`
 * shows them, and the batch writer compare-and-sets them inside its transaction.
 * The caller lends the connection; nothing here opens or ends a transaction. */
#ifndef EXECREC_OFFSETS_H
#define EXECREC_OFFSETS_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "execrec/err.h"

/** Called once per stored row of the group: topic (valid during the call only),
 *  partition and the stored next offset. @returns EXECREC_OK to go on, anything else
 *  stops the read, which returns it. */
typedef execrec_err_t(execrec_offsets_row_cb)(void *opaque, const char *topic, int32_t partition,
                                              int64_t next_offset);

/** Reads every offset stored for group, calling row for each.
 *  @returns EXECREC_OK; EXECREC_ERR_PG with PostgreSQL's error in errstr
 *           ("SQLSTATE: message"); or what row returned. */
execrec_err_t execrec_offsets_read(PGconn *conn, const char *group, execrec_offsets_row_cb *row,
                                   void *opaque, char *errstr,
                                   size_t errstr_size) EXECREC_MUSTCHECK;

/** Compare-and-set of one partition's position, inside the caller's transaction:
 *  moves (group, topic, partition) to next_offset if its stored value is still
 *  expected (-1: no row may exist yet; the row is then created).
 *  @returns EXECREC_OK; EXECREC_ERR_CONFLICT: the stored value is no longer expected
 *           (another recorder moved it; errstr names the partition; the caller must
 *           roll back); EXECREC_ERR_PG: the statement failed (errstr). */
execrec_err_t execrec_offsets_cas(PGconn *conn, const char *group, const char *topic,
                                  int32_t partition, int64_t expected, int64_t next_offset,
                                  char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;

#endif
