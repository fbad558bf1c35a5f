/* PostgreSQL connection helpers: connect, run a statement, classify errors, redact
 * a conninfo for logs. See pg.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/sig.h"
#include "base/buf.h"
#include "base/log.h"
#include "pg/pg.h"
#include "base/timeutil.h"

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

/* A conninfo libpq cannot parse: its message may quote any part of the string (a
 * password cut at a blank: 'missing "=" after "..."'), so only the message that
 * quotes a keyword is shown. @returns 1 (errstr set) when conninfo does not parse. */
static int conninfo_invalid(const char *conninfo, char *errstr, size_t errstr_size) {
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &why);
    if (opts) {
        PQconninfoFree(opts);
        return 0;
    }
    if (why && !strncmp(why, "invalid connection option", 25))
        set_err(errstr, errstr_size, "invalid PostgreSQL connection string: ", why);
    else
        set_err(errstr, errstr_size, NULL,
                "invalid PostgreSQL connection string: not keyword=value pairs nor a "
                "postgresql:// URI (a value with blanks goes in single quotes; libpq's "
                "reason is not shown, it may quote a password)");
    PQfreemem(why);
    return 1;
}

PGconn *execrec_pg_connect(const char *conninfo, char *errstr, size_t errstr_size) {
    if (conninfo && *conninfo && conninfo_invalid(conninfo, errstr, errstr_size))
        return NULL;
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

execrec_pg_class_t execrec_pg_classify(PGconn *conn, const PGresult *res) {
    if (execrec_pg_conn_lost(conn))
        return EXECREC_PG_RETRY;
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (!state) /* no result at all: libpq lost the connection or memory */
        return res == NULL ? EXECREC_PG_RETRY : EXECREC_PG_FAILED;
    if (!strncmp(state, "22", 2) || !strncmp(state, "23", 2) || !strncmp(state, "54", 2))
        return EXECREC_PG_ROW;
    static const char *const retryable[] = {"40001", "40P01", "55P03", "57P01",
                                            "57P02", "57P03", NULL};
    if (!strncmp(state, "08", 2))
        return EXECREC_PG_RETRY;
    for (int i = 0; retryable[i]; i++)
        if (!strcmp(state, retryable[i]))
            return EXECREC_PG_RETRY;
    return EXECREC_PG_FAILED;
}

int execrec_pg_error_retryable(PGconn *conn, const PGresult *res) {
    return execrec_pg_classify(conn, res) == EXECREC_PG_RETRY;
}

/* The class of a failed statement, with PostgreSQL's primary message in errstr
 * (or libpq's when there is none); the message is what a pg_refused reject keeps. */
static execrec_pg_class_t failed(PGconn *conn, const PGresult *res, char *errstr,
                                 size_t errstr_size) {
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    set_err(errstr, errstr_size, NULL, msg ? msg : PQerrorMessage(conn));
    execrec_pg_class_t c = execrec_pg_classify(conn, res);
    return c == EXECREC_PG_OK ? EXECREC_PG_FAILED : c;
}

execrec_pg_class_t execrec_pg_run(PGconn *conn, const char *sql, int nparams,
                                  const char *const *params, int64_t *affected, char *errstr,
                                  size_t errstr_size) {
    PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (affected)
            *affected = atoll(PQcmdTuples(res));
        PQclear(res);
        return EXECREC_PG_OK;
    }
    execrec_pg_class_t c = failed(conn, res, errstr, errstr_size);
    PQclear(res);
    return c;
}

execrec_pg_class_t execrec_pg_query(PGconn *conn, const char *sql, int nparams,
                                    const char *const *params, PGresult **res, char *errstr,
                                    size_t errstr_size) {
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    *res = NULL;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        *res = r;
        return EXECREC_PG_OK;
    }
    execrec_pg_class_t c = failed(conn, r, errstr, errstr_size);
    PQclear(r);
    return c;
}

execrec_pg_class_t execrec_pg_copy_start(PGconn *conn, const char *sql, char *errstr,
                                         size_t errstr_size) {
    PGresult *res = PQexec(conn, sql);
    execrec_pg_class_t c = PQresultStatus(res) == PGRES_COPY_IN
                               ? EXECREC_PG_OK
                               : failed(conn, res, errstr, errstr_size);
    PQclear(res);
    return c;
}

/* A COPY whose data could not be sent: the connection is the problem. */
static execrec_pg_class_t copy_broken(PGconn *conn, char *errstr, size_t errstr_size) {
    char msg[512];
    set_err(msg, sizeof(msg), NULL, PQerrorMessage(conn));
    snprintf(errstr, errstr_size, "COPY failed: %s", msg);
    return execrec_pg_conn_lost(conn) ? EXECREC_PG_RETRY : EXECREC_PG_FAILED;
}

execrec_pg_class_t execrec_pg_copy_put(PGconn *conn, const char *data, size_t len, char *errstr,
                                       size_t errstr_size) {
    if (len && PQputCopyData(conn, data, (int)len) != 1)
        return copy_broken(conn, errstr, errstr_size);
    return EXECREC_PG_OK;
}

execrec_pg_class_t execrec_pg_copy_end(PGconn *conn, const char *abort_why, int64_t *copied,
                                       char *errstr, size_t errstr_size) {
    if (PQputCopyEnd(conn, abort_why) != 1)
        return copy_broken(conn, errstr, errstr_size);
    execrec_pg_class_t c = EXECREC_PG_OK;
    PGresult *res;
    while ((res = PQgetResult(conn))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            /* The worst outcome wins: a refused row only if nothing else failed. */
            execrec_pg_class_t e = failed(conn, res, errstr, errstr_size);
            if (c == EXECREC_PG_OK || e != EXECREC_PG_ROW)
                c = e;
        } else if (copied) {
            *copied = atoll(PQcmdTuples(res));
        }
        PQclear(res);
    }
    return c;
}

execrec_pg_class_t execrec_pg_copy_in(PGconn *conn, const char *sql, const char *data, size_t len,
                                      int64_t *copied, char *errstr, size_t errstr_size) {
    execrec_pg_class_t c = execrec_pg_copy_start(conn, sql, errstr, errstr_size);
    if (c != EXECREC_PG_OK)
        return c;
    if ((c = execrec_pg_copy_put(conn, data, len, errstr, errstr_size)) != EXECREC_PG_OK)
        return c;
    return execrec_pg_copy_end(conn, NULL, copied, errstr, errstr_size);
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

int execrec_pg_backoff(int attempt, int64_t deadline, volatile execrec_sig_t *stop) {
    int64_t until = execrec_time_monotonic_ms() + execrec_pg_retry_delay_ms(attempt);
    int stopped = *stop;
    for (;;) {
        int64_t now = execrec_time_monotonic_ms();
        if (*stop >= 2 || (deadline >= 0 && now >= deadline))
            return -1;
        if (!stopped && *stop)
            return 1;
        if (now >= until)
            return 0;
        execrec_time_sleep_ms(50);
    }
}

void execrec_pg_log_retry(int up, const char *why, int64_t pending, int attempt) {
    /* A server that is up and says no to the batch as a whole (a permission, a
     * missing table, a full disk): retrying is still right (nothing may be
     * skipped), but it will not pass by itself: say so loudly. */
    execrec_log(
        up ? EXECREC_LOG_ERROR : EXECREC_LOG_WARN,
        "PostgreSQL %s (%s); batch of %" PRId64 " messages kept, retry %d in %" PRId64 " ms%s",
        up ? "refused the batch" : "unavailable", why, pending, attempt + 1,
        execrec_pg_retry_delay_ms(attempt), up ? ": this needs an operator if it persists" : "");
}

execrec_err_t execrec_pg_ensure(PGconn **conn, const char *conninfo, int *reconnected, char *errstr,
                                size_t errstr_size) {
    if (reconnected)
        *reconnected = 0;
    if (*conn && PQstatus(*conn) == CONNECTION_OK)
        return EXECREC_OK;
    PGconn *fresh = execrec_pg_connect(conninfo, errstr, errstr_size);
    if (!fresh)
        return EXECREC_ERR_PG;
    if (*conn)
        PQfinish(*conn);
    *conn = fresh;
    if (reconnected)
        *reconnected = 1;
    return EXECREC_OK;
}
