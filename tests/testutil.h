/* Helpers shared by the tests: the main() of every check executable, a private
 * database per test on the throwaway PostgreSQL server (PG* environment, set by
 * deploy/test.sh), file reading, and running the execrec binary. A missing server
 * is a test failure, never a skip. */
#ifndef EXECREC_TESTUTIL_H
#define EXECREC_TESTUTIL_H

#include <stddef.h>
#include <check.h>
#include <libpq-fe.h>

/** Runs every test of suite (which it frees) and prints check's summary.
 *  @returns EXIT_SUCCESS when all passed, else EXIT_FAILURE. */
int tu_run_suite(Suite *suite);

/** The main() of a test executable: runs the Suite that suite_fn() builds.
 *  Used once, at the bottom of each tests/unit and tests/integration file. */
#define EXECREC_TEST_MAIN(suite_fn)                                                                \
    int main(void) {                                                                               \
        return tu_run_suite(suite_fn());                                                           \
    }

/** Creates a fresh database named execrec_<prefix>_<pid>_<n> and returns its
 *  conninfo ("dbname=..."; the rest comes from PG*). Aborts the test on failure.
 *  Free with tu_pg_drop_db(). */
char *tu_pg_create_db(const char *prefix);
/** Drops the database created by tu_pg_create_db and frees conninfo. */
void tu_pg_drop_db(char *conninfo);
/** Connects or aborts the test. */
PGconn *tu_pg_connect(const char *conninfo);
/** Runs sql (aborting the test on error) and returns the first column of the first
 *  row (malloc'd; NULL for SQL NULL or no rows). */
char *tu_pg_scalar(PGconn *conn, const char *sql);
/** Runs sql that returns one integer. */
long long tu_pg_count(PGconn *conn, const char *sql);
/** Runs sql, aborting the test on error. */
void tu_pg_exec(PGconn *conn, const char *sql);

/** Top of the source tree (EXECREC_SOURCE_DIR). */
const char *tu_source_dir(void);
/** rel (e.g. "schemas/trade.avsc") under the source tree; malloc'd, caller frees. */
char *tu_source_path(const char *rel);
/** Path of the built execrec binary (EXECREC_BIN). */
const char *tu_bin(void);
/** Reads a whole file (malloc'd, NUL-terminated); aborts the test on failure. */
char *tu_read_file(const char *path, size_t *len);
/** Feeds every regular file of dir, in name order, to check(data, len, why,
 *  why_size); each one it fails (non-zero) is printed with its reason and counted in
 *  *failed. Aborts the test if dir cannot be read. @returns the number of files. */
size_t tu_replay_dir(const char *dir,
                     int (*check)(const unsigned char *data, size_t len, char *why,
                                  size_t why_size),
                     int *failed);
/** Runs a shell command, returns its exit status (or -1), output appended to *out
 *  if out is not NULL (malloc'd). */
int tu_run(const char *cmd, char **out);

#endif
