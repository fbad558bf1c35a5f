/* Consume -> decode -> write, and the flush with its retry loop. See ingest.h. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/sig.h"
#include "execrec/arena.h"
#include "app/ingest.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "execrec/config.h"
#include "pg/migrate.h"
#include "pg/pg.h"

struct execrec_ingest_s {
    execrec_ingest_conf_t conf;
    execrec_writer_t *writer;
    execrec_arena_t *arena;
    int64_t stop_deadline;        /* the shutdown deadline; -1 until a stop signal is seen */
    int month_checked;            /* UTC year * 12 + month of the last partition check; 0: none */
    int checks;                   /* partition checks made */
    char missing[512];            /* months the last check found missing, "" if none */
    int64_t probed_ms;            /* the last execrec_ingest_probe */
    execrec_telemetry_batch_t tb; /* the open batch's timestamps, for the latency */
};

static volatile execrec_sig_t never_stopped;

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
    in->stop_deadline = -1;
    if (!in->conf.stop)
        in->conf.stop = &never_stopped;
    if (in->conf.shutdown_ms <= 0)
        in->conf.shutdown_ms = EXECREC_INGEST_SHUTDOWN_MS;
    if (!in->conf.done)
        in->conf.done = "written";
    if (!(in->writer = execrec_writer_new(conf->dsn, errstr, errstr_size)) ||
        !(in->arena = execrec_arena_new())) {
        execrec_errstr(errstr, errstr_size, "out of memory");
        execrec_ingest_destroy(in);
        return NULL;
    }
    if (conf->reject_payload_max >= 0)
        execrec_writer_set_reject_payload_max(in->writer, (size_t)conf->reject_payload_max);
    return in;
}

void execrec_ingest_destroy(execrec_ingest_t *in) {
    if (!in)
        return;
    execrec_writer_destroy(in->writer);
    execrec_arena_destroy(in->arena);
    execrec_telemetry_batch_free(&in->tb);
    free(in);
}

execrec_writer_t *execrec_ingest_writer(execrec_ingest_t *in) {
    return in->writer;
}

/* Once per UTC month (at connect, then after the first flush of a new month): warn
 * when a month from this one through EXECREC_CONFIG_MONTHS_AHEAD - 1 ahead lacks a
 * partition. Rows of such a month still go in (the DEFAULT partitions take them);
 * creating partitions is the owner's job, never the recorder's (docs/roles.md). */
static void check_partitions(execrec_ingest_t *in) {
    if (in->conf.no_partition_check)
        return;
    time_t now = in->conf.clock ? (time_t)in->conf.clock() : time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm))
        return;
    int month = (tm.tm_year + 1900) * 12 + tm.tm_mon;
    if (month == in->month_checked)
        return;
    in->month_checked = month;
    in->checks++;
    char *months = in->missing, why[512];
    if (execrec_migrate_missing_months(execrec_writer_conn(in->writer),
                                       EXECREC_CONFIG_MONTHS_AHEAD - 1, months, sizeof(in->missing),
                                       why, sizeof(why))) {
        execrec_log_warn("cannot check the monthly partitions: %s", why);
        return;
    }
    if (*months)
        execrec_log_warn("monthly partitions are missing for %s (this month through %d months "
                         "ahead): rows of those months go to the DEFAULT partitions until the "
                         "owner of schema execution runs 'execrec partitions' (a daily timer, "
                         "docs/roles.md)",
                         months, EXECREC_CONFIG_MONTHS_AHEAD - 1);
}

execrec_err_t execrec_ingest_connect(execrec_ingest_t *in, int *applied, char *errstr,
                                     size_t errstr_size) {
    *applied = 0;
    execrec_err_t err = execrec_writer_ensure(in->writer, errstr, errstr_size);
    if (err)
        return err;
    PGconn *conn = execrec_writer_conn(in->writer);
    int owner = 0;
    char why[768];
    if ((err = execrec_migrate_is_owner(conn, &owner, errstr, errstr_size)))
        return err;
    if (owner) {
        /* The owner (or the first recorder of an empty database) migrates, as
         * `execrec migrate` would, so a single-role set-up needs no separate step. */
        if ((err = execrec_migrate(conn, NULL, applied, why, sizeof(why)))) {
            /* Not the owner of an empty database: say who should go first. */
            execrec_errstr(errstr, errstr_size, "migrations failed: %s%s", why,
                           strstr(why, "42501") ? " (run execrec migrate as the owner first, "
                                                  "docs/roles.md)"
                                                : "");
            return err;
        }
        int missing = 0;
        if (*applied > 0 && execrec_migrate_roles(conn, 0, &missing, NULL, why, sizeof(why)))
            execrec_log_warn("granting the roles %s and %s failed: %s (run execrec migrate)",
                             EXECREC_MIGRATE_WRITER_ROLE, EXECREC_MIGRATE_READER_ROLE, why);
    } else {
        execrec_log_info("role %s is not the owner of schema execution: no migrations, "
                         "checking that the schema is at this execrec's version",
                         PQuser(conn));
        if ((err = execrec_migrate_check(conn, NULL, errstr, errstr_size)))
            return err;
    }
    in->month_checked = 0;
    check_partitions(in);
    return EXECREC_OK;
}

const char *execrec_ingest_missing_months(const execrec_ingest_t *in, int *checks) {
    if (checks)
        *checks = in->checks;
    return in->missing;
}

execrec_err_t execrec_ingest_add(execrec_ingest_t *in, execrec_kind_t kind,
                                 const execrec_msgmeta_t *meta) {
    assert((unsigned)kind < EXECREC_KIND__CNT && meta->value);
    execrec_record_t rec;
    execrec_reject_t rej;
    execrec_arena_reset(in->arena);
    execrec_telemetry_added(in->conf.telemetry, &in->tb, meta->timestamp_ms,
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

int64_t execrec_ingest_deadline(execrec_ingest_t *in, int64_t deadline) {
    int stop = *in->conf.stop;
    if (!stop)
        return deadline;
    int64_t now = execrec_time_monotonic_ms();
    if (stop >= 2) {
        in->stop_deadline = now;
    } else if (in->stop_deadline < 0) {
        int64_t reserve = in->conf.shutdown_ms / 4;
        in->stop_deadline = now + in->conf.shutdown_ms - (reserve > 2000 ? 2000 : reserve);
    }
    return deadline < 0 || in->stop_deadline < deadline ? in->stop_deadline : deadline;
}

/* True when the wait until deadline (execrec_ingest_deadline's) is over. */
static int passed(int64_t deadline) {
    return deadline >= 0 && execrec_time_monotonic_ms() >= deadline;
}

int execrec_ingest_full(const execrec_ingest_t *in) {
    return (in->conf.batch_size > 0 && execrec_writer_pending(in->writer) >= in->conf.batch_size) ||
           (in->conf.batch_bytes > 0 &&
            execrec_writer_bytes(in->writer) >= (size_t)in->conf.batch_bytes);
}

execrec_err_t execrec_ingest_flush(execrec_ingest_t *in, int64_t deadline,
                                   execrec_writer_stats_t *stats, char *errstr,
                                   size_t errstr_size) {
    memset(stats, 0, sizeof(*stats));
    int64_t pending = execrec_writer_pending(in->writer);
    if (pending == 0)
        return EXECREC_OK;
    int no_retry = deadline == EXECREC_INGEST_NO_RETRY;
    if (no_retry)
        deadline = EXECREC_INGEST_FOREVER;
    execrec_telemetry_t *t = in->conf.telemetry;
    for (int attempt = 0;; attempt++) {
        int64_t t0 = execrec_time_monotonic_ms();
        /* A shutdown whose deadline has passed makes no further attempt: an attempt
         * against a server that refuses or hangs could outlast it. */
        if (attempt > 0 && passed(execrec_ingest_deadline(in, deadline)))
            return EXECREC_ERR_PG; /* errstr: the last attempt's reason */
        execrec_err_t err = execrec_writer_ensure(in->writer, errstr, errstr_size);
        if (!err)
            err = execrec_writer_flush(in->writer, stats, errstr, errstr_size);
        if (err != EXECREC_OK && err != EXECREC_ERR_NOMEM)
            execrec_telemetry_pg_up(t, execrec_writer_connected(in->writer));
        if (err == EXECREC_OK) {
            assert(execrec_writer_pending(in->writer) == 0);
            check_partitions(in);
            execrec_telemetry_committed(t, &in->tb, stats,
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
        if (no_retry)
            return EXECREC_ERR_PG;
        execrec_pg_log_retry(execrec_writer_connected(in->writer), errstr, pending, attempt);
        execrec_telemetry_retry(t, execrec_pg_retry_delay_ms(attempt));
        int b;
        while ((b = execrec_pg_backoff(attempt, execrec_ingest_deadline(in, deadline),
                                       in->conf.stop)) == 1)
            execrec_log_info("stop signal: retrying the open batch of %" PRId64
                             " messages until the shutdown deadline (%" PRId64 " ms)",
                             pending,
                             execrec_ingest_deadline(in, deadline) - execrec_time_monotonic_ms());
        if (b < 0) {
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
