/* Consume -> decode -> write, and the flush with its retry loop. See ingest.h. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/arena.h"
#include "app/ingest.h"
#include "base/log.h"
#include "pg/migrate.h"
#include "pg/pg.h"
#include "base/timeutil.h"

struct execrec_ingest_s {
    execrec_ingest_conf_t conf;
    execrec_writer_t *writer;
    execrec_arena_t *arena;
    int64_t probed_ms; /* the last execrec_ingest_probe */
};

static volatile sig_atomic_t never_stopped;

execrec_ingest_t *execrec_ingest_new(const execrec_ingest_conf_t *conf, char *errstr,
                                     size_t errstr_size) {
    if (!conf->codec) {
        execrec_errstr(errstr, errstr_size, "execrec_ingest_new: no codec");
        return NULL;
    }
    execrec_ingest_t *in = calloc(1, sizeof(*in));
    if (!in) {
        execrec_errstr(errstr, errstr_size, "out of memory");
        return NULL;
    }
    in->conf = *conf;
    if (!in->conf.stop)
        in->conf.stop = &never_stopped;
    if (!in->conf.done)
        in->conf.done = "written";
    if (!(in->writer = execrec_writer_new(conf->dsn, errstr, errstr_size)) ||
        !(in->arena = execrec_arena_new())) {
        execrec_errstr(errstr, errstr_size, "out of memory");
        execrec_ingest_destroy(in);
        return NULL;
    }
    return in;
}

void execrec_ingest_destroy(execrec_ingest_t *in) {
    if (!in)
        return;
    execrec_writer_destroy(in->writer);
    execrec_arena_destroy(in->arena);
    free(in);
}

execrec_writer_t *execrec_ingest_writer(execrec_ingest_t *in) {
    return in->writer;
}

execrec_err_t execrec_ingest_connect(execrec_ingest_t *in, int *applied, char *errstr,
                                     size_t errstr_size) {
    execrec_err_t err = execrec_writer_ensure(in->writer, errstr, errstr_size);
    if (err)
        return err;
    return execrec_migrate(execrec_writer_conn(in->writer), NULL, applied, errstr, errstr_size);
}

execrec_err_t execrec_ingest_add(execrec_ingest_t *in, execrec_kind_t kind,
                                 const execrec_msgmeta_t *meta) {
    assert((unsigned)kind < EXECREC_KIND__CNT && meta->value);
    execrec_record_t rec;
    execrec_reject_t rej;
    execrec_arena_reset(in->arena);
    execrec_telemetry_added(in->conf.telemetry, meta->timestamp_ms,
                            execrec_writer_pending(in->writer) == 0);
    execrec_err_t err = execrec_codec_decode(in->conf.codec, kind, meta->value, meta->value_len,
                                             in->arena, &rec, &rej);
    if (err == EXECREC_OK)
        return execrec_writer_add(in->writer, meta, &rec);
    if (err == EXECREC_ERR_REJECT)
        return execrec_writer_add_reject(in->writer, meta, meta->value, meta->value_len, &rej);
    return err;
}

execrec_err_t execrec_ingest_message(execrec_ingest_t *in, execrec_kind_t kind,
                                     const rd_kafka_message_t *m) {
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    execrec_msgmeta_t meta = {m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                              m->partition,
                              m->offset,
                              tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts,
                              m->key,
                              m->key_len,
                              m->payload ? (const char *)m->payload : "",
                              m->len};
    execrec_telemetry_consumed(in->conf.telemetry, meta.topic);
    return execrec_ingest_add(in, kind, &meta);
}

execrec_err_t execrec_ingest_flush(execrec_ingest_t *in, int64_t deadline,
                                   execrec_writer_stats_t *stats, char *errstr,
                                   size_t errstr_size) {
    memset(stats, 0, sizeof(*stats));
    int64_t pending = execrec_writer_pending(in->writer);
    if (pending == 0)
        return EXECREC_OK;
    execrec_telemetry_t *t = in->conf.telemetry;
    for (int attempt = 0;; attempt++) {
        int64_t t0 = execrec_time_monotonic_ms();
        execrec_err_t err = execrec_writer_ensure(in->writer, errstr, errstr_size);
        if (!err)
            err = execrec_writer_flush(in->writer, stats, errstr, errstr_size);
        if (err != EXECREC_OK && err != EXECREC_ERR_NOMEM)
            execrec_telemetry_pg_up(t, execrec_writer_connected(in->writer));
        if (err == EXECREC_OK) {
            assert(execrec_writer_pending(in->writer) == 0);
            execrec_telemetry_committed(t, stats,
                                        (double)(execrec_time_monotonic_ms() - t0) / 1000.0);
            if (attempt > 0)
                execrec_telemetry_retry(t, 0);
            if (attempt > 0)
                execrec_log_info("PostgreSQL is back: batch of %" PRId64
                                 " messages %s after %d retries",
                                 pending, in->conf.done, attempt);
            return EXECREC_OK;
        }
        if (err == EXECREC_ERR_NOMEM)
            return err;
        if (err == EXECREC_ERR_CONFLICT) {
            if (!in->conf.on_conflict ||
                in->conf.on_conflict(in->conf.opaque, errstr, errstr_size) == EXECREC_OK)
                return EXECREC_ERR_CONFLICT;
        }
        if (deadline == EXECREC_INGEST_NO_RETRY)
            return EXECREC_ERR_PG;
        execrec_pg_log_retry(execrec_writer_connected(in->writer), errstr, pending, attempt);
        execrec_telemetry_retry(t, execrec_pg_retry_delay_ms(attempt));
        if (execrec_pg_backoff(attempt, deadline, in->conf.stop) < 0) {
            execrec_telemetry_retry(t, 0);
            return EXECREC_ERR_PG;
        }
    }
}

#define PROBE_MS 1000

void execrec_ingest_probe(execrec_ingest_t *in) {
    int64_t now = execrec_time_monotonic_ms();
    if (!in->conf.telemetry || execrec_writer_pending(in->writer) > 0 ||
        now - in->probed_ms < PROBE_MS)
        return;
    in->probed_ms = now;
    PGconn *conn = execrec_writer_conn(in->writer);
    /* PQconsumeInput reads what the server sent without waiting: a shutdown's
     * notice and the closed socket turn the connection bad. */
    int up = conn && PQstatus(conn) == CONNECTION_OK && PQconsumeInput(conn) &&
             PQstatus(conn) == CONNECTION_OK;
    if (!up) {
        char errstr[256];
        up = execrec_writer_ensure(in->writer, errstr, sizeof(errstr)) == EXECREC_OK;
    }
    execrec_telemetry_pg_up(in->conf.telemetry, up);
}
