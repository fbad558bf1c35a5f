/* PostgreSQL connection helpers: connect, run a statement, classify errors, redact
 * a conninfo for logs. See pg.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/buf.h"
#include "execrec/log.h"
#include "execrec/pg.h"
#include "execrec/timeutil.h"

/* Copies a libpq message into errstr without its trailing newline(s). */
static void set_err(char *errstr, size_t errstr_size, const char *prefix, const char *msg) {
    if (!errstr || !errstr_size)
        return;
    snprintf(errstr, errstr_size, "%s%s", prefix ? prefix : "",
             msg && *msg ? msg : "unknown PostgreSQL error");
    size_t n = strlen(errstr);
    while (n > 0 && (errstr[n - 1] == '\n' || errstr[n - 1] == '\r' || errstr[n - 1] == ' '))
        errstr[--n] = '\0';
}

/* Server NOTICE/WARNING messages go to our logger, not libpq's default stderr.
 * "already exists, skipping" notices of IF NOT EXISTS (SQLSTATE class 42) are
 * expected on every start and go to debug; warnings to warn; the rest to info. */
static void notice_receiver(void *arg, const PGresult *res) {
    (void)arg;
    const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    execrec_log_level_t level = EXECREC_LOG_INFO;
    if (severity && !strcmp(severity, "WARNING"))
        level = EXECREC_LOG_WARN;
    else if (state && !strncmp(state, "42", 2))
        level = EXECREC_LOG_DEBUG;
    execrec_log(level, "postgresql: %s: %s", severity ? severity : "NOTICE",
                msg ? msg : "(no message)");
}

PGconn *execrec_pg_connect(const char *conninfo, char *errstr, size_t errstr_size) {
    /* expand_dbname=1: the "dbname" value is itself parsed as a conninfo or URI, so
     * one string carries everything; the keywords after it only fill gaps, except
     * client_encoding, which must be UTF8 for our text and jsonb. */
    const char *keywords[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
    const char *values[] = {conninfo && *conninfo ? conninfo : NULL, "execrec", "UTF8", NULL};
    PGconn *conn = PQconnectdbParams(keywords, values, 1);
    if (!conn) {
        set_err(errstr, errstr_size, NULL, "out of memory allocating a PostgreSQL connection");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        set_err(errstr, errstr_size, "cannot connect to PostgreSQL: ", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeReceiver(conn, notice_receiver, NULL);
    return conn;
}

execrec_err_t execrec_pg_result_check(PGconn *conn, const PGresult *res, char *errstr,
                                      size_t errstr_size) {
    if (!res) {
        set_err(errstr, errstr_size, NULL, conn ? PQerrorMessage(conn) : "no connection");
        return EXECREC_ERR_PG;
    }
    switch (PQresultStatus(res)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
    case PGRES_EMPTY_QUERY:
        return EXECREC_OK;
    default:
        break;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    if (!msg) {
        set_err(errstr, errstr_size, NULL, PQresultErrorMessage(res));
        if (errstr && errstr_size && !*errstr)
            set_err(errstr, errstr_size, NULL, conn ? PQerrorMessage(conn) : NULL);
        return EXECREC_ERR_PG;
    }
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "%s%s%s%s%s", state ? state : "", state ? ": " : "", msg,
                 detail ? " (" : "", detail ? detail : "");
    if (detail && errstr && errstr_size) {
        size_t n = strlen(errstr);
        if (n + 1 < errstr_size) {
            errstr[n] = ')';
            errstr[n + 1] = '\0';
        }
    }
    return EXECREC_ERR_PG;
}

execrec_err_t execrec_pg_exec(PGconn *conn, const char *sql, char *errstr, size_t errstr_size) {
    if (!conn || !sql) {
        set_err(errstr, errstr_size, NULL, "execrec_pg_exec: no connection or no SQL");
        return EXECREC_ERR_INVALID;
    }
    PGresult *res = PQexec(conn, sql);
    execrec_err_t err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    PQclear(res);
    return err;
}

int execrec_pg_conn_lost(PGconn *conn) {
    return !conn || PQstatus(conn) == CONNECTION_BAD;
}

int execrec_pg_error_retryable(PGconn *conn, const PGresult *res) {
    if (execrec_pg_conn_lost(conn))
        return 1;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state)
        return res == NULL; /* no result at all: libpq lost the connection or memory */
    static const char *const retryable[] = {"40001", "40P01", "55P03", "57P01",
                                            "57P02", "57P03", NULL};
    if (!strncmp(state, "08", 2))
        return 1;
    for (int i = 0; retryable[i]; i++)
        if (!strcmp(state, retryable[i]))
            return 1;
    return 0;
}

/* Appends a keyword=value pair, quoting the value as libpq's conninfo syntax
 * wants (single quotes, backslash-escaped quote and backslash). */
static void append_pair(execrec_buf_t *buf, const char *key, const char *val) {
    if (buf->len)
        execrec_buf_putc(buf, ' ');
    execrec_buf_puts(buf, key);
    execrec_buf_putc(buf, '=');
    int quote = !*val || strpbrk(val, " \t\n\r'\\") != NULL;
    if (!quote) {
        execrec_buf_puts(buf, val);
        return;
    }
    execrec_buf_putc(buf, '\'');
    for (const char *p = val; *p; p++) {
        if (*p == '\'' || *p == '\\')
            execrec_buf_putc(buf, '\\');
        execrec_buf_putc(buf, *p);
    }
    execrec_buf_putc(buf, '\'');
}

char *execrec_pg_redact_conninfo(const char *conninfo) {
    if (!conninfo || !*conninfo)
        return strdup("(PG* environment)");
    char *parse_err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &parse_err);
    if (!opts) {
        PQfreemem(parse_err); /* it may quote the input: never shown */
        return strdup("(unparseable conninfo)");
    }
    execrec_buf_t buf = EXECREC_BUF_INIT;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        /* dispchar "*" marks secrets (password, and sslpassword in newer libpq). */
        int secret = (o->dispchar && o->dispchar[0] == '*') || !strcmp(o->keyword, "password");
        append_pair(&buf, o->keyword, secret ? "***" : o->val);
    }
    PQconninfoFree(opts);
    if (buf.oom) {
        execrec_buf_free(&buf);
        return NULL;
    }
    if (!buf.len) {
        execrec_buf_free(&buf);
        return strdup("(PG* environment)");
    }
    return execrec_buf_steal(&buf);
}

int64_t execrec_pg_retry_delay_ms(int attempt) {
    int64_t delay = EXECREC_PG_BACKOFF_FIRST_MS;
    for (int i = 0; i < attempt && delay < EXECREC_PG_BACKOFF_MAX_MS; i++)
        delay *= 2;
    return delay > EXECREC_PG_BACKOFF_MAX_MS ? EXECREC_PG_BACKOFF_MAX_MS : delay;
}

int execrec_pg_backoff(int attempt, int64_t deadline, volatile sig_atomic_t *stop) {
    int64_t until = execrec_time_monotonic_ms() + execrec_pg_retry_delay_ms(attempt);
    for (;;) {
        int64_t now = execrec_time_monotonic_ms();
        if (*stop >= 2 || (deadline >= 0 && now >= deadline))
            return -1;
        if (now >= until)
            return 0;
        execrec_time_sleep_ms(50);
    }
}

void execrec_pg_log_retry(PGconn *conn, const char *why, int64_t pending, int attempt) {
    /* A server that is up and says no to the batch as a whole (a permission, a
     * missing table, a full disk): retrying is still right (nothing may be
     * skipped), but it will not pass by itself: say so loudly. */
    int up = conn && PQstatus(conn) == CONNECTION_OK;
    execrec_log(
        up ? EXECREC_LOG_ERROR : EXECREC_LOG_WARN,
        "PostgreSQL %s (%s); batch of %" PRId64 " messages kept, retry %d in %" PRId64 " ms%s",
        up ? "refused the batch" : "unavailable", why, pending, attempt + 1,
        execrec_pg_retry_delay_ms(attempt), up ? ": this needs an operator if it persists" : "");
}

int execrec_pg_ensure(PGconn **conn, const char *conninfo, char *errstr, size_t errstr_size) {
    if (*conn && PQstatus(*conn) == CONNECTION_OK)
        return 0;
    PGconn *fresh = execrec_pg_connect(conninfo, errstr, errstr_size);
    if (!fresh)
        return -1;
    if (*conn)
        PQfinish(*conn);
    *conn = fresh;
    return 1;
}
