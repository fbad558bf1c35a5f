/* PostgreSQL connection helpers shared by the migrator, the batch writer, the
 * offsets module and the CLI: connecting (conninfo or PG* environment), running a
 * statement or a COPY with its error text in errstr, the one SQLSTATE classifier,
 * and redacting a conninfo string for logs. Nothing here knows about records or
 * Kafka. */
#ifndef EXECREC_PG_H
#define EXECREC_PG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "base/sig.h"
#include "execrec/err.h"

/** Connects to PostgreSQL. conninfo is a libpq connection string or URI; NULL or ""
 *  means the PG* environment alone. The session uses client_encoding UTF8,
 *  fallback_application_name "execrec", and routes server NOTICEs to the logger
 *  (info level) instead of stderr.
 *  @returns the connection (close with PQfinish), or NULL with the reason in errstr.
 *  errstr never contains the conninfo or a password: only libpq's message, which
 *  names host and port but not credentials. */
PGconn *execrec_pg_connect(const char *conninfo, char *errstr, size_t errstr_size);

/** Runs sql (one or more statements, no parameters) and PQclear's the result(s).
 *  @returns EXECREC_OK; EXECREC_ERR_PG with PostgreSQL's error in errstr
 *           ("SQLSTATE: message"); EXECREC_ERR_INVALID if conn or sql is NULL. */
execrec_err_t execrec_pg_exec(PGconn *conn, const char *sql, char *errstr,
                              size_t errstr_size) EXECREC_MUSTCHECK;

/** Checks a result: PGRES_COMMAND_OK, PGRES_TUPLES_OK and PGRES_COPY_* are success.
 *  Does not PQclear res (the caller still owns it). res may be NULL (libpq out of
 *  memory or connection lost): the connection's error is used.
 *  @returns EXECREC_OK, or EXECREC_ERR_PG with "SQLSTATE: message" in errstr. */
execrec_err_t execrec_pg_result_check(PGconn *conn, const PGresult *res, char *errstr,
                                      size_t errstr_size) EXECREC_MUSTCHECK;

/** What a failed statement means for the transaction it was part of. */
typedef enum execrec_pg_class_e {
    EXECREC_PG_OK = 0, /* the statement succeeded */
    EXECREC_PG_ROW,    /* refused because of the data it carried, on a live connection:
                          SQLSTATE class 22 (data exception), 23 (integrity violation) or
                          54 (program limit, e.g. an oversized index row); isolating the
                          row and rejecting it lets the rest through */
    EXECREC_PG_RETRY,  /* worth retrying as a whole transaction on this or a new
                          connection: the connection is gone (PQstatus bad, class 08,
                          57P01-57P03 shutdown/cannot connect now, no result at all) or
                          the transaction lost a race (40001 serialization failure, 40P01
                          deadlock, 55P03 lock not available) */
    EXECREC_PG_FAILED, /* anything else (syntax, permissions, a missing table): retrying
                          fails the same way until an operator acts */
} execrec_pg_class_t;

/** The one SQLSTATE classifier: classifies the failed result res of a statement
 *  run on conn. res may be NULL (libpq lost the connection or memory). */
execrec_pg_class_t execrec_pg_classify(PGconn *conn, const PGresult *res);

/** @returns 1 if execrec_pg_classify says EXECREC_PG_RETRY, else 0. */
int execrec_pg_error_retryable(PGconn *conn, const PGresult *res);

/* Statement and COPY helpers for the batch writer and the offsets module. Each
 * returns EXECREC_PG_OK or the class of the failure (execrec_pg_classify), with
 * PostgreSQL's primary message (or libpq's, when there is no result) in errstr. */

/** Runs sql with nparams text parameters; *affected (may be NULL) gets the rows
 *  the command touched (PQcmdTuples). */
execrec_pg_class_t execrec_pg_run(PGconn *conn, const char *sql, int nparams,
                                  const char *const *params, int64_t *affected, char *errstr,
                                  size_t errstr_size) EXECREC_MUSTCHECK;

/** As execrec_pg_run, for a statement whose rows the caller reads: on
 *  EXECREC_PG_OK *res is its result (PGRES_TUPLES_OK or PGRES_COMMAND_OK), which the
 *  caller PQclear's; otherwise *res is NULL. */
execrec_pg_class_t execrec_pg_query(PGconn *conn, const char *sql, int nparams,
                                    const char *const *params, PGresult **res, char *errstr,
                                    size_t errstr_size) EXECREC_MUSTCHECK;

/** Starts the COPY ... FROM STDIN statement sql: OK once the server waits for data. */
execrec_pg_class_t execrec_pg_copy_start(PGconn *conn, const char *sql, char *errstr,
                                         size_t errstr_size) EXECREC_MUSTCHECK;

/** Sends len bytes of COPY data (nothing when len is 0). */
execrec_pg_class_t execrec_pg_copy_put(PGconn *conn, const char *data, size_t len, char *errstr,
                                       size_t errstr_size) EXECREC_MUSTCHECK;

/** Ends the open COPY (abort_why not NULL: abandons it with that message) and reads
 *  its outcome; *copied (may be NULL) gets the rows written. */
execrec_pg_class_t execrec_pg_copy_end(PGconn *conn, const char *abort_why, int64_t *copied,
                                       char *errstr, size_t errstr_size) EXECREC_MUSTCHECK;

/** Runs the COPY statement sql with len bytes of COPY text: start, put, end. */
execrec_pg_class_t execrec_pg_copy_in(PGconn *conn, const char *sql, const char *data, size_t len,
                                      int64_t *copied, char *errstr,
                                      size_t errstr_size) EXECREC_MUSTCHECK;

/** @returns 1 if the connection is unusable (PQstatus is CONNECTION_BAD). */
int execrec_pg_conn_lost(PGconn *conn);

/** Returns conninfo rewritten for logs: every password (keyword form or URI) is
 *  replaced by "***". NULL or "" gives "(PG* environment)". A string libpq cannot
 *  parse gives "(unparseable conninfo)" rather than risk echoing a secret.
 *  @returns a malloc'd string the caller frees, or NULL if out of memory. */
char *execrec_pg_redact_conninfo(const char *conninfo);

/* Retrying a batch while PostgreSQL is away (the recorder, backfill): bounded
 * exponential backoff, 100 ms doubling to 10 s. */
#define EXECREC_PG_BACKOFF_FIRST_MS 100
#define EXECREC_PG_BACKOFF_MAX_MS 10000

/** @returns the wait before retry number attempt (0 for the first retry). */
int64_t execrec_pg_retry_delay_ms(int attempt);

/** Waits before retry number attempt, in steps of 50 ms so that a signal is seen.
 *  @returns 0 to retry; -1 to give up: *stop >= 2 (a second signal), or deadline
 *  (monotonic ms, -1: none) has passed; 1: a first signal arrived during the wait
 *  (*stop was 0 on entry). A first signal alone does not give up (shutdown still
 *  wants the batch written), but it starts the shutdown deadline, which the caller
 *  sets before it waits again (execrec_ingest_deadline). */
int execrec_pg_backoff(int attempt, int64_t deadline, volatile execrec_sig_t *stop);

/** Logs that a batch of pending messages is kept for retry number attempt + 1
 *  after why: as an ERROR when the connection is up (the server refused the batch
 *  as a whole, which needs an operator if it persists), else as a WARN (PostgreSQL
 *  unavailable). */
void execrec_pg_log_retry(int up, const char *why, int64_t pending, int attempt);

/** Makes *conn usable: keeps it while PQstatus is CONNECTION_OK, else connects
 *  anew with conninfo and, only once the new connection is up, PQfinish'es the
 *  old one and stores the new one in *conn. *reconnected (may be NULL) is set to
 *  1 when *conn was replaced (or set for the first time), else 0.
 *  @returns EXECREC_OK, or EXECREC_ERR_PG when PostgreSQL cannot be reached
 *  (libpq's reason in errstr; *conn kept). */
execrec_err_t execrec_pg_ensure(PGconn **conn, const char *conninfo, int *reconnected, char *errstr,
                                size_t errstr_size) EXECREC_MUSTCHECK;

#endif
