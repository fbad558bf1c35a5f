/* PostgreSQL connection helpers shared by the migrator, the batch writer and the
 * CLI: connecting (conninfo or PG* environment), running a statement with its error
 * text in errstr, classifying errors as retryable, and redacting a conninfo string
 * for logs. Nothing here knows about records or Kafka. */
#ifndef EXECREC_PG_H
#define EXECREC_PG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
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

/** @returns 1 if a failed statement is worth retrying as a whole transaction on
 *  this or a new connection: the connection is gone (PQstatus bad, SQLSTATE class
 *  08, 57P01-57P03 shutdown/cannot connect now) or the transaction lost a race
 *  (40001 serialization failure, 40P01 deadlock, 55P03 lock not available);
 *  0 for everything else (bad data, constraint violations, syntax: retrying would
 *  fail the same way). res may be NULL. */
int execrec_pg_error_retryable(PGconn *conn, const PGresult *res);

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
 *  (monotonic ms, -1: none) has passed. A first signal alone does not give up:
 *  shutdown still wants the batch written. */
int execrec_pg_backoff(int attempt, int64_t deadline, volatile sig_atomic_t *stop);

/** Logs that a batch of pending messages is kept for retry number attempt + 1
 *  after why: as an ERROR when conn is up (the server refused the batch as a
 *  whole, which needs an operator if it persists), else as a WARN (PostgreSQL
 *  unavailable). */
void execrec_pg_log_retry(PGconn *conn, const char *why, int64_t pending, int attempt);

/** Makes *conn usable: keeps it while PQstatus is CONNECTION_OK, else connects
 *  anew with conninfo and, only once the new connection is up, PQfinish'es the
 *  old one and stores the new one in *conn (so a borrower such as the batch
 *  writer never sees a freed connection: re-point it when this returns 1).
 *  @returns 0 unchanged, 1 reconnected, -1 cannot connect (errstr; *conn kept). */
int execrec_pg_ensure(PGconn **conn, const char *conninfo, char *errstr, size_t errstr_size);

#endif
