/* execution.ingest_offsets: reading a group's stored positions, the
 * compare-and-set of one partition, an operator's reset, and the recorders'
 * session name. See offsets.h. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pg/offsets.h"
#include "pg/pg.h"

execrec_err_t execrec_offsets_read(PGconn *conn, const char *group, execrec_offsets_row_cb *row,
                                   void *opaque, char *errstr, size_t errstr_size) {
    const char *params[1] = {group};
    PGresult *res = PQexecParams(conn,
                                 "SELECT topic, partition, next_offset FROM "
                                 "execution.ingest_offsets WHERE consumer_group = $1",
                                 1, NULL, params, NULL, NULL, 0);
    execrec_err_t err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    for (int i = 0; !err && i < PQntuples(res); i++)
        err = row(opaque, PQgetvalue(res, i, 0), (int32_t)atol(PQgetvalue(res, i, 1)),
                  strtoll(PQgetvalue(res, i, 2), NULL, 10));
    PQclear(res);
    return err;
}

/* The one compare-and-set on ingest_offsets: the row moves to next_offset only if it
 * still holds expected (-1: no row yet, inserted). *exp_text gets expected as text
 * for the caller's conflict message. @returns EXECREC_OK; EXECREC_ERR_PG (errstr);
 * EXECREC_ERR_CONFLICT, errstr untouched: the row no longer held expected. */
static execrec_err_t compare_and_set(PGconn *conn, const char *group, const char *topic,
                                     int32_t partition, int64_t expected, int64_t next_offset,
                                     char exp_text[24], char *errstr, size_t errstr_size) {
    char part[16], next[24];
    snprintf(part, sizeof(part), "%" PRId32, partition);
    snprintf(next, sizeof(next), "%" PRId64, next_offset);
    snprintf(exp_text, 24, "%" PRId64, expected);
    const char *params[5] = {group, topic, part, next, exp_text};
    int64_t affected = 0;
    execrec_pg_class_t c;
    if (expected < 0)
        c = execrec_pg_run(conn,
                           "INSERT INTO execution.ingest_offsets (consumer_group, topic, "
                           "partition, next_offset, updated_at) VALUES ($1, $2, $3, $4, now()) "
                           "ON CONFLICT DO NOTHING",
                           4, params, &affected, errstr, errstr_size);
    else
        c = execrec_pg_run(conn,
                           "UPDATE execution.ingest_offsets SET next_offset = $4, "
                           "updated_at = now() WHERE consumer_group = $1 AND topic = $2 "
                           "AND partition = $3 AND next_offset = $5",
                           5, params, &affected, errstr, errstr_size);
    if (c != EXECREC_PG_OK)
        return EXECREC_ERR_PG;
    return affected == 1 ? EXECREC_OK : EXECREC_ERR_CONFLICT;
}

execrec_err_t execrec_offsets_cas(PGconn *conn, const char *group, const char *topic,
                                  int32_t partition, int64_t expected, int64_t next_offset,
                                  char *errstr, size_t errstr_size) {
    assert(expected >= -1 && next_offset > expected && partition >= 0);
    char exp[24];
    execrec_err_t err = compare_and_set(conn, group, topic, partition, expected, next_offset, exp,
                                        errstr, errstr_size);
    if (err == EXECREC_ERR_CONFLICT)
        snprintf(errstr, errstr_size,
                 "offset of %s [%" PRId32 "] for group %s is no longer %s: another recorder "
                 "moved it; batch rolled back",
                 topic, partition, group, expected < 0 ? "unset" : exp);
    return err;
}

execrec_err_t execrec_offsets_list(PGconn *conn, const char *group, int for_update,
                                   execrec_offsets_list_cb *row, void *opaque, char *errstr,
                                   size_t errstr_size) {
    const char *params[1] = {group};
    /* FOR UPDATE cannot go with ORDER BY over an expression, hence the plain columns. */
    PGresult *res = PQexecParams(
        conn,
        for_update ? "SELECT consumer_group, topic, partition, next_offset, "
                     "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                     "FROM execution.ingest_offsets WHERE $1::text IS NULL OR consumer_group = $1 "
                     "ORDER BY consumer_group, topic, partition FOR UPDATE"
                   : "SELECT consumer_group, topic, partition, next_offset, "
                     "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                     "FROM execution.ingest_offsets WHERE $1::text IS NULL OR consumer_group = $1 "
                     "ORDER BY consumer_group, topic, partition",
        1, NULL, params, NULL, NULL, 0);
    execrec_err_t err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    for (int i = 0; !err && i < PQntuples(res); i++) {
        execrec_offsets_row_t r = {PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                   (int32_t)atol(PQgetvalue(res, i, 2)),
                                   strtoll(PQgetvalue(res, i, 3), NULL, 10), PQgetvalue(res, i, 4)};
        err = row(opaque, &r);
    }
    PQclear(res);
    return err;
}

execrec_err_t execrec_offsets_reset(PGconn *conn, const char *group, const char *topic,
                                    int32_t partition, int64_t expected, int64_t next_offset,
                                    char *errstr, size_t errstr_size) {
    /* Unlike the recorder's, a reset may move the offset backwards. */
    assert(expected >= -1 && next_offset >= 0 && partition >= 0);
    char exp[24];
    execrec_err_t err = compare_and_set(conn, group, topic, partition, expected, next_offset, exp,
                                        errstr, errstr_size);
    if (err == EXECREC_ERR_CONFLICT)
        snprintf(errstr, errstr_size,
                 "the stored offset of %s [%" PRId32 "] for group %s is no longer %s: a "
                 "recorder moved it while resetting",
                 topic, partition, group, expected < 0 ? "unset" : exp);
    return err;
}

void execrec_offsets_app_name(const char *group, char *out, size_t out_size) {
    char name[64]; /* NAMEDATALEN - 1 bytes, as PostgreSQL keeps them */
    snprintf(name, sizeof(name), "execrec run: %s", group);
    snprintf(out, out_size, "%s", name);
}

execrec_err_t execrec_offsets_recorders(PGconn *conn, const char *group, int64_t *n, char *errstr,
                                        size_t errstr_size) {
    char name[64];
    execrec_offsets_app_name(group, name, sizeof(name));
    const char *params[1] = {name};
    PGresult *res = PQexecParams(conn,
                                 "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                 "$1 AND datname = current_database() AND pid <> pg_backend_pid()",
                                 1, NULL, params, NULL, NULL, 0);
    execrec_err_t err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    *n = err ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return err;
}
