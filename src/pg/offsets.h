/* The one owner of execution.ingest_offsets, the consumer positions that commit with
 * the rows (STYLE.md 13): every statement on that table is here. The recorder reads
 * a group's stored offsets on assignment and after a conflict, `execrec status` and
 * `execrec offsets list` show them (with when each last moved), the batch writer
 * compare-and-sets them inside its transaction, and `execrec offsets reset` moves
 * them (a compare-and-set too, so a racing recorder is fenced). It also names the
 * recorders' PostgreSQL sessions (application_name), so that a reset can see a
 * recorder of the group that is connected. The caller lends the connection;
 * nothing here opens or ends a transaction. */
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

/** One stored position, as execrec_offsets_list reports it. Strings are valid
 *  during the callback only. */
typedef struct execrec_offsets_row_s {
    const char *group;
    const char *topic;
    int32_t partition;
    int64_t next_offset;
    const char *updated_at; /* when it last moved: "YYYY-MM-DDTHH:MM:SSZ" (UTC) */
} execrec_offsets_row_t;

typedef execrec_err_t(execrec_offsets_list_cb)(void *opaque, const execrec_offsets_row_t *row);

/** Every stored position of group (NULL: of every group), ordered by group, topic
 *  and partition, calling row for each. for_update: lock the rows read (FOR
 *  UPDATE), inside the caller's transaction, so that the positions it then sets
 *  cannot move meanwhile; a recorder's batch that touches one waits, then its
 *  compare-and-set fails.
 *  @returns EXECREC_OK; EXECREC_ERR_PG (errstr); or what row returned. */
execrec_err_t execrec_offsets_list(PGconn *conn, const char *group, int for_update,
                                   execrec_offsets_list_cb *row, void *opaque, char *errstr,
                                   size_t errstr_size) EXECREC_MUSTCHECK;

/** An operator's move of one position (execrec offsets reset), backwards or
 *  forwards, inside the caller's transaction: a compare-and-set against expected,
 *  the value the caller read (-1: there was no row; one is created).
 *  @returns EXECREC_OK; EXECREC_ERR_CONFLICT: the position is no longer expected
 *           (a recorder moved it meanwhile; errstr says so; roll back);
 *           EXECREC_ERR_PG (errstr). */
execrec_err_t execrec_offsets_reset(PGconn *conn, const char *group, const char *topic,
                                    int32_t partition, int64_t expected, int64_t next_offset,
                                    char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;

/** The application_name the recorder of group gives its PostgreSQL sessions:
 *  "execrec run: <group>", cut to what PostgreSQL keeps (63 bytes). */
void execrec_offsets_app_name(const char *group, char *out, size_t out_size);

/** Counts the sessions connected to this database under the recorder's
 *  application_name for group (execrec_offsets_app_name): recorders of the group
 *  that are running now. A recorder whose DSN sets its own application_name is not
 *  seen; the compare-and-set of its next batch still fences it.
 *  @returns EXECREC_OK with *n; EXECREC_ERR_PG (errstr). */
execrec_err_t execrec_offsets_recorders(PGconn *conn, const char *group, int64_t *n, char *errstr,
                                        size_t errstr_size) EXECREC_MUSTCHECK;

#endif
