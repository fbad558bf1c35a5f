/* execution.ingest_offsets: reading a group's stored positions and the
 * compare-and-set of one partition. See offsets.h. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
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

execrec_err_t execrec_offsets_cas(PGconn *conn, const char *group, const char *topic,
                                  int32_t partition, int64_t expected, int64_t next_offset,
                                  char *errstr, size_t errstr_size) {
    assert(expected >= -1 && next_offset > expected && partition >= 0);
    char part[16], next[24], exp[24];
    snprintf(part, sizeof(part), "%" PRId32, partition);
    snprintf(next, sizeof(next), "%" PRId64, next_offset);
    snprintf(exp, sizeof(exp), "%" PRId64, expected);
    const char *params[5] = {group, topic, part, next, exp};
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
    if (affected != 1) {
        snprintf(errstr, errstr_size,
                 "offset of %s [%" PRId32 "] for group %s is no longer %s: another recorder "
                 "moved it; batch rolled back",
                 topic, partition, group, expected < 0 ? "unset" : exp);
        return EXECREC_ERR_CONFLICT;
    }
    return EXECREC_OK;
}
