/* The batch writer: one PostgreSQL transaction per batch, on a connection the
 * writer owns; rows go by COPY straight into the target table under a savepoint,
 * and only when that fails (a duplicate, a value PostgreSQL refuses) through
 * staging tables, a de-duplicating INSERT ... SELECT and bisection of refused
 * rows; then rejects, and the offsets compare-and-set (offsets.h). The COPY text
 * comes from copytext.h, the statements go through pg.h. See writer.h and
 * docs/writer.md. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "base/buf.h"
#include "pg/copytext.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "pg/offsets.h"
#include "pg/pg.h"
#include "pg/writer.h"

typedef struct offset_s {
    char *group, *topic;
    int32_t partition;
    int64_t expected, next;
} offset_t;

/* Where one row's line and received bytes sit in its kind's buffers. */
typedef struct rowinfo_s {
    size_t line;                /* start of its line in rows[kind] */
    size_t key, value;          /* starts in bytes[kind] */
    int64_t key_len, value_len; /* -1: no key / the value is the raw JSON itself */
} rowinfo_t;

/* The COPY streamed while the batch fills (stream_rows). Invariant (stream_check):
 * kind < 0: no COPY is open and sent is 0; kind >= 0: a transaction, the savepoint
 * execrec_copy and a COPY into kind's table are open on the connection, sent bytes
 * of rows[kind] have been sent (sent <= its length), kind's rows go COPY-first and
 * streaming is not off. */
typedef struct stream_s {
    int kind;    /* kind whose COPY is open; -1: none */
    size_t sent; /* bytes of rows[kind] sent so far */
    int off;     /* streaming failed in this batch: do not retry it */
} stream_t;

struct execrec_writer_s {
    char *conninfo;                        /* NULL: the PG* environment */
    PGconn *conn;                          /* owned; NULL until the first ensure */
    int staging_ready;                     /* temp tables exist on this connection */
    execrec_buf_t rows[EXECREC_KIND__CNT]; /* COPY text per kind, target-table columns */
    int32_t nrows[EXECREC_KIND__CNT];
    rowinfo_t *info[EXECREC_KIND__CNT];
    int32_t info_cap[EXECREC_KIND__CNT];
    execrec_buf_t bytes[EXECREC_KIND__CNT]; /* key and (Avro) value bytes as received,
                                               staged only if the direct COPY fails */
    execrec_buf_t stage;                    /* staging COPY text, built on a fallback */
    int staged_only[EXECREC_KIND__CNT];     /* the last batch of this kind had duplicates or
                                               refused rows: skip the direct COPY */
    stream_t stream;
    execrec_buf_t rejects; /* COPY text of rejects */
    int32_t nrejects;
    size_t reject_max; /* payload bytes a reject stores (the head) */
    offset_t *offsets;
    int noffsets, offsets_cap;
    char *insert_sql[EXECREC_KIND__CNT];
    char *stage_sql[EXECREC_KIND__CNT];
    char *copy_sql[EXECREC_KIND__CNT]; /* direct COPY; NULL for OrderManager (an upsert) */
};

/* Columns every fact table carries after the kind's own, in staging order. */
#define COMMON_STAGE_COLS                                                                          \
    "raw_payload text, kafka_topic text, kafka_partition int, kafka_offset bigint, "               \
    "kafka_timestamp text, kafka_key text, key_hex text, value_hex text"

static const char *sql_type(execrec_coltype_t t) {
    switch (t) {
    case EXECREC_COL_DECIMAL:
        return "numeric";
    case EXECREC_COL_TIME:
        return "timestamptz";
    case EXECREC_COL_INT64:
        return "bigint";
    default:
        return NULL; /* text: no cast */
    }
}

/* Builds the staging table DDL and the INSERT ... SELECT for one kind. The SELECT
 * takes rows n BETWEEN $1 AND $2, so a refused row can be isolated by bisection. */
static int build_sql(execrec_writer_t *w, execrec_kind_t kind) {
    int ncols;
    const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
    const char *kname = execrec_kind_name(kind);
    execrec_buf_t b = EXECREC_BUF_INIT;

    execrec_buf_printf(&b, "CREATE TEMP TABLE IF NOT EXISTS execrec_stage_%s (n int", kname);
    for (int i = 0; i < ncols; i++)
        execrec_buf_printf(&b, ", %s text", cols[i].name);
    execrec_buf_puts(&b, ", " COMMON_STAGE_COLS ") ON COMMIT DELETE ROWS");
    if (b.oom)
        return -1;
    w->stage_sql[kind] = execrec_buf_steal(&b);

    if (kind != EXECREC_KIND_ORDER_MANAGER) {
        execrec_buf_printf(&b, "COPY %s (", execrec_kind_table(kind));
        for (int i = 0; i < ncols; i++)
            execrec_buf_printf(&b, "%s, ", cols[i].name);
        execrec_buf_puts(&b, "raw_payload, kafka_topic, kafka_partition, kafka_offset, "
                             "kafka_timestamp, kafka_key) FROM STDIN");
        if (b.oom)
            return -1;
        w->copy_sql[kind] = execrec_buf_steal(&b);
    }

    /* OrderManager's upsert tells inserted rows (xmax 0) from updated ones. */
    if (kind == EXECREC_KIND_ORDER_MANAGER)
        execrec_buf_puts(&b, "WITH ins AS (");
    execrec_buf_printf(&b, "INSERT INTO %s AS t (", execrec_kind_table(kind));
    for (int i = 0; i < ncols; i++)
        execrec_buf_printf(&b, "%s, ", cols[i].name);
    if (kind == EXECREC_KIND_ORDER_MANAGER)
        execrec_buf_puts(&b, "as_of, ");
    execrec_buf_puts(&b, "raw_payload, kafka_topic, kafka_partition, kafka_offset, "
                         "kafka_timestamp, kafka_key) SELECT ");
    if (kind == EXECREC_KIND_ORDER_MANAGER)
        execrec_buf_puts(&b, "DISTINCT ON (unique_identifier) ");
    for (int i = 0; i < ncols; i++) {
        const char *type = sql_type(cols[i].type);
        if (type)
            execrec_buf_printf(&b, "%s::%s, ", cols[i].name, type);
        else
            execrec_buf_printf(&b, "%s, ", cols[i].name);
    }
    if (kind == EXECREC_KIND_ORDER_MANAGER)
        /* The version of an intent: its updated_at, else the Kafka timestamp, else
         * nothing (-infinity), in which case the later offset wins. */
        execrec_buf_puts(&b, "coalesce(updated_at::timestamptz, kafka_timestamp::timestamptz, "
                             "'-infinity') AS v_as_of, ");
    /* The column's own type: json keeps the text as received (the fact tables,
     * 0011), OrderManager's is jsonb. */
    execrec_buf_printf(&b,
                       "raw_payload::%s, kafka_topic, kafka_partition, kafka_offset, "
                       "kafka_timestamp::timestamptz, kafka_key "
                       "FROM pg_temp.execrec_stage_%s WHERE n BETWEEN $1 AND $2 ",
                       kind == EXECREC_KIND_ORDER_MANAGER ? "jsonb" : "json", kname);
    if (kind == EXECREC_KIND_ORDER_MANAGER) {
        execrec_buf_puts(&b, "ORDER BY unique_identifier, v_as_of DESC, kafka_offset DESC "
                             "ON CONFLICT (unique_identifier) DO UPDATE SET ");
        for (int i = 1; i < ncols; i++)
            execrec_buf_printf(&b, "%s = excluded.%s, ", cols[i].name, cols[i].name);
        execrec_buf_puts(&b, "as_of = excluded.as_of, raw_payload = excluded.raw_payload, "
                             "kafka_topic = excluded.kafka_topic, "
                             "kafka_partition = excluded.kafka_partition, "
                             "kafka_offset = excluded.kafka_offset, "
                             "kafka_timestamp = excluded.kafka_timestamp, "
                             "kafka_key = excluded.kafka_key, ingested_at = now() "
                             "WHERE (excluded.as_of, excluded.kafka_offset) > "
                             "(t.as_of, t.kafka_offset) RETURNING (t.xmax = 0) AS fresh) "
                             "SELECT count(*), count(*) FILTER (WHERE NOT fresh) FROM ins");
    } else {
        execrec_buf_puts(&b, "ORDER BY n ON CONFLICT DO NOTHING");
    }
    if (b.oom)
        return -1;
    w->insert_sql[kind] = execrec_buf_steal(&b);
    return 0;
}

execrec_writer_t *execrec_writer_new(const char *conninfo, char *errstr, size_t errstr_size) {
    execrec_writer_t *w = calloc(1, sizeof(*w));
    if (!w || (conninfo && !(w->conninfo = strdup(conninfo)))) {
        free(w);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    w->stream.kind = -1;
    w->reject_max = EXECREC_WRITER_REJECT_PAYLOAD_MAX;
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        if (build_sql(w, (execrec_kind_t)k) < 0) {
            snprintf(errstr, errstr_size, "out of memory");
            execrec_writer_destroy(w);
            return NULL;
        }
    }
    return w;
}

void execrec_writer_destroy(execrec_writer_t *w) {
    if (!w)
        return;
    execrec_writer_clear(w);
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_buf_free(&w->rows[k]);
        execrec_buf_free(&w->bytes[k]);
        free(w->info[k]);
        free(w->insert_sql[k]);
        free(w->stage_sql[k]);
        free(w->copy_sql[k]);
    }
    execrec_buf_free(&w->stage);
    execrec_buf_free(&w->rejects);
    free(w->offsets);
    if (w->conn)
        PQfinish(w->conn);
    free(w->conninfo);
    free(w);
}

static void stream_check(const execrec_writer_t *w);

execrec_err_t execrec_writer_ensure(execrec_writer_t *w, char *errstr, size_t errstr_size) {
    stream_check(w);
    int had = w->conn != NULL, reconnected = 0;
    execrec_err_t err = execrec_pg_ensure(&w->conn, w->conninfo, &reconnected, errstr, errstr_size);
    if (err || !reconnected)
        return err;
    /* The old connection is gone, and with it any open COPY, transaction or
     * temporary table. */
    w->staging_ready = 0;
    w->stream.kind = -1;
    w->stream.sent = 0;
    if (had)
        execrec_log_info("reconnected to PostgreSQL");
    return EXECREC_OK;
}

int execrec_writer_connected(const execrec_writer_t *w) {
    return w->conn && PQstatus(w->conn) == CONNECTION_OK;
}

PGconn *execrec_writer_conn(execrec_writer_t *w) {
    stream_check(w);
    assert(w->stream.kind < 0); /* a streamed COPY holds the connection */
    assert(!w->conn || PQstatus(w->conn) != CONNECTION_OK ||
           PQtransactionStatus(w->conn) == PQTRANS_IDLE);
    return w->conn;
}

/* Appends the Kafka coordinates shared by rows and rejects. Keys that are not
 * storable text are written as "\x<hex>" in text columns. */
static void copy_meta(execrec_buf_t *b, const execrec_msgmeta_t *meta, int key_as_bytea) {
    char ts[64];
    execrec_copytext_field(b, meta->topic, strlen(meta->topic));
    execrec_buf_printf(b, "\t%" PRId32 "\t%" PRId64 "\t", meta->partition, meta->offset);
    if (meta->timestamp_ms >= 0) {
        size_t n = execrec_time_format(meta->timestamp_ms * 1000, ts, sizeof(ts));
        execrec_buf_append(b, ts, n);
    } else {
        execrec_copytext_null(b);
    }
    execrec_buf_putc(b, '\t');
    if (!meta->key)
        execrec_copytext_null(b);
    else if (key_as_bytea)
        execrec_copytext_hex(b, meta->key, meta->key_len);
    else if (execrec_copytext_storable(meta->key, meta->key_len))
        execrec_copytext_field(b, meta->key, meta->key_len);
    else
        execrec_copytext_bytea(b, meta->key, meta->key_len);
}

/* Keeps n received bytes for the staging fallback. @returns the length, or -1 for
 * none (p NULL). */
static int64_t keep_bytes(execrec_buf_t *b, const void *p, size_t n, size_t *start) {
    *start = b->len;
    if (!p)
        return -1;
    execrec_buf_append(b, p, n);
    return (int64_t)n;
}

static void stream_rows(execrec_writer_t *w, execrec_kind_t kind);
static void stream_reset(execrec_writer_t *w);

/* 1 when kind's rows are first tried by COPY straight into the table (write_rows),
 * and may therefore be streamed (stream_rows). */
static int copy_first(const execrec_writer_t *w, execrec_kind_t kind) {
    return w->copy_sql[kind] && !w->staged_only[kind];
}

execrec_err_t execrec_writer_add(execrec_writer_t *w, const execrec_msgmeta_t *meta,
                                 const execrec_record_t *rec) {
    execrec_kind_t kind = rec->kind;
    assert((unsigned)kind < EXECREC_KIND__CNT && meta->topic);
    execrec_buf_t *b = &w->rows[kind];
    int ncols;
    execrec_kind_columns(kind, &ncols);
    assert(rec->ncols == ncols);
    if (w->nrows[kind] == w->info_cap[kind]) {
        int32_t cap = w->info_cap[kind] ? 2 * w->info_cap[kind] : 1024;
        rowinfo_t *p = realloc(w->info[kind], sizeof(*p) * (size_t)cap);
        if (!p)
            return EXECREC_ERR_NOMEM;
        w->info[kind] = p;
        w->info_cap[kind] = cap;
    }
    rowinfo_t *ri = &w->info[kind][w->nrows[kind]++];
    ri->line = b->len;
    for (int i = 0; i < ncols; i++) {
        if (rec->val[i])
            execrec_copytext_field(b, rec->val[i], rec->len[i]);
        else
            execrec_copytext_null(b);
        execrec_buf_putc(b, '\t');
    }
    execrec_copytext_field(b, rec->raw, rec->raw_len);
    execrec_buf_putc(b, '\t');
    copy_meta(b, meta, 0);
    execrec_buf_putc(b, '\n');
    /* The exact key and value bytes, used only if PostgreSQL refuses the row (the
     * reject keeps what was received). The value is kept only when it is not the
     * raw JSON already in the line, i.e. for Avro. */
    ri->key_len = keep_bytes(&w->bytes[kind], meta->key, meta->key_len, &ri->key);
    int raw = meta->value == rec->raw && meta->value_len == rec->raw_len;
    ri->value_len =
        keep_bytes(&w->bytes[kind], raw ? NULL : meta->value, meta->value_len, &ri->value);
    if (b->oom || w->bytes[kind].oom)
        return EXECREC_ERR_NOMEM;
    stream_rows(w, kind);
    return EXECREC_OK;
}

void execrec_writer_set_reject_payload_max(execrec_writer_t *w, size_t max) {
    w->reject_max = max;
}

/* The length of the head of a rejected payload that is stored: its first max bytes
 * (all of it when shorter). A cut inside a UTF-8 character (the next byte is a
 * continuation byte) moves back to that character's first byte when the head is
 * then text, so that a long JSON message keeps a readable payload_text; binary
 * payloads are cut at max exactly. *text: the head is storable text. The pg_refused
 * path does the same in SQL (reject_staged). */
static size_t reject_head(const unsigned char *p, size_t len, size_t max, int *text) {
    size_t n = len < max ? len : max;
    *text = execrec_copytext_storable(p, n);
    if (*text || n == 0 || n == len || (p[n] & 0xC0) != 0x80)
        return n;
    /* p[n] is the 2nd, 3rd or 4th byte of a character: its first is 1 to 3 back. */
    size_t lead = n;
    do
        lead--;
    while (lead > 0 && n - lead < 3 && (p[lead] & 0xC0) == 0x80);
    if ((p[lead] & 0xC0) != 0x80 && (*text = execrec_copytext_storable(p, lead)))
        return lead;
    return n;
}

execrec_err_t execrec_writer_add_reject(execrec_writer_t *w, const execrec_msgmeta_t *meta,
                                        const void *payload, size_t len,
                                        const execrec_reject_t *rej) {
    assert(meta->topic && rej->code && (payload || len == 0));
    execrec_buf_t *b = &w->rejects;
    /* The digest of the whole payload, so that a stored head can be matched with the
     * message as the producer sent it (OpenSSL's SHA-256, not a hand-written one). */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(payload ? payload : "", len, md, &mdlen, EVP_sha256(), NULL))
        return EXECREC_ERR_NOMEM; /* a context it could not allocate: its only failure */
    int text;
    size_t n = reject_head(payload, len, w->reject_max, &text);
    execrec_buf_printf(b, "%" PRId32 "\t", ++w->nrejects);
    copy_meta(b, meta, 1);
    execrec_buf_putc(b, '\t');
    /* The head goes once: as text when it is storable (its bytes are then
     * convert_to(payload_text)), else in hex. */
    if (text) {
        execrec_copytext_null(b);
        execrec_buf_putc(b, '\t');
        execrec_copytext_field(b, payload, n);
    } else {
        execrec_copytext_hex(b, payload, n);
        execrec_buf_putc(b, '\t');
        execrec_copytext_null(b);
    }
    execrec_buf_printf(b, "\t%zu\t", len);
    execrec_copytext_hex(b, md, mdlen);
    execrec_buf_putc(b, '\t');
    execrec_copytext_field(b, rej->code, strlen(rej->code));
    execrec_buf_putc(b, '\t');
    execrec_copytext_field(b, rej->message, strnlen(rej->message, sizeof(rej->message)));
    execrec_buf_putc(b, '\n');
    return b->oom ? EXECREC_ERR_NOMEM : EXECREC_OK;
}

execrec_err_t execrec_writer_set_offset(execrec_writer_t *w, const char *group, const char *topic,
                                        int32_t partition, int64_t expected, int64_t next_offset) {
    /* A batch only moves a partition forward from where it was stored. */
    assert(expected >= -1 && next_offset > expected);
    for (int i = 0; i < w->noffsets; i++) {
        offset_t *o = &w->offsets[i];
        if (o->partition == partition && !strcmp(o->topic, topic) && !strcmp(o->group, group)) {
            o->next = next_offset;
            return EXECREC_OK;
        }
    }
    if (w->noffsets == w->offsets_cap) {
        int cap = w->offsets_cap ? 2 * w->offsets_cap : 16;
        offset_t *p = realloc(w->offsets, sizeof(*p) * (size_t)cap);
        if (!p)
            return EXECREC_ERR_NOMEM;
        w->offsets = p;
        w->offsets_cap = cap;
    }
    offset_t *o = &w->offsets[w->noffsets];
    o->group = strdup(group);
    o->topic = strdup(topic);
    if (!o->group || !o->topic) {
        free(o->group);
        free(o->topic);
        return EXECREC_ERR_NOMEM;
    }
    o->partition = partition;
    o->expected = expected;
    o->next = next_offset;
    w->noffsets++;
    return EXECREC_OK;
}

size_t execrec_writer_bytes(const execrec_writer_t *w) {
    size_t n = w->rejects.len;
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        n += w->rows[k].len + w->bytes[k].len;
    return n;
}

int64_t execrec_writer_pending(const execrec_writer_t *w) {
    int64_t n = w->nrejects;
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        n += w->nrows[k];
    return n;
}

void execrec_writer_clear(execrec_writer_t *w) {
    stream_reset(w);
    w->stream.off = 0;
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_buf_reset(&w->rows[k]);
        execrec_buf_reset(&w->bytes[k]);
        w->nrows[k] = 0;
    }
    execrec_buf_reset(&w->stage);
    execrec_buf_reset(&w->rejects);
    w->nrejects = 0;
    for (int i = 0; i < w->noffsets; i++) {
        free(w->offsets[i].group);
        free(w->offsets[i].topic);
    }
    w->noffsets = 0;
}

/* Adds n rejects of reason code to st->reasons (the last slot is "other" once the
 * table is full). */
static void reason_add(execrec_writer_stats_t *st, const char *code, int64_t n) {
    for (int i = 0; i < st->nreasons; i++) {
        if (!strcmp(st->reasons[i].code, code)) {
            st->reasons[i].n += n;
            return;
        }
    }
    if (st->nreasons == EXECREC_WRITER_REASONS - 1 && strcmp(code, "other")) {
        reason_add(st, "other", n);
        return;
    }
    execrec_writer_reason_t *r = &st->reasons[st->nreasons++];
    snprintf(r->code, sizeof(r->code), "%s", code);
    r->n = n;
}

void execrec_writer_stats_add(execrec_writer_stats_t *a, const execrec_writer_stats_t *b) {
    a->messages += b->messages;
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        a->inserted[k] += b->inserted[k];
        a->updated[k] += b->updated[k];
        a->duplicates[k] += b->duplicates[k];
        a->refused[k] += b->refused[k];
    }
    a->rejected += b->rejected;
    a->rejects_duplicate += b->rejects_duplicate;
    a->pg_refused += b->pg_refused;
    for (int i = 0; i < b->nreasons; i++)
        reason_add(a, b->reasons[i].code, b->reasons[i].n);
}

void execrec_writer_stats_sum(const execrec_writer_stats_t *st, int64_t *inserted,
                              int64_t *duplicates) {
    *inserted = *duplicates = 0;
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        *inserted += st->inserted[k];
        *duplicates += st->duplicates[k];
    }
}

/* ---- writing a batch ---------------------------------------------------------- */

/* Statement outcomes are execrec_pg_class_t (pg.h): OK, ROW (the row's data was
 * refused: isolate and reject it), or a failure of the batch (RETRY or FAILED: the
 * caller keeps the batch and retries it whole). */
#define ST_OK EXECREC_PG_OK
#define ST_ROW_REFUSED EXECREC_PG_ROW
typedef execrec_pg_class_t st_t;

static st_t exec(PGconn *conn, const char *sql, int nparams, const char *const *params,
                 int64_t *affected, char *errstr, size_t errstr_size) {
    return execrec_pg_run(conn, sql, nparams, params, affected, errstr, errstr_size);
}

static st_t copy_in(PGconn *conn, const char *sql, const execrec_buf_t *b, int64_t *copied,
                    char *errstr, size_t errstr_size) {
    return execrec_pg_copy_in(conn, sql, b->data, b->len, copied, errstr, errstr_size);
}

/* Moves the staged row n of kind into ingest_rejects as pg_refused, with
 * PostgreSQL's own message. Its payload is the value as received (the raw JSON, or
 * the Avro bytes), stored as add_reject stores one: the head of at most reject_max
 * bytes, cut back to a character's first byte in a JSON text, with the whole
 * payload's length and SHA-256. */
static st_t reject_staged(execrec_writer_t *w, execrec_kind_t kind, int32_t n, const char *why,
                          int64_t *added, char *errstr, size_t errstr_size) {
    char sql[2048], nbuf[16], msg[600], maxbuf[24];
    snprintf(sql, sizeof(sql),
             "INSERT INTO execution.ingest_rejects (kafka_topic, kafka_partition, kafka_offset, "
             "kafka_timestamp, kafka_key, payload, payload_text, payload_length, payload_sha256, "
             "reason, message) "
             "SELECT kafka_topic, kafka_partition, kafka_offset, kafka_timestamp::timestamptz, "
             "decode(key_hex, 'hex'), substring(b FROM 1 FOR h), "
             "CASE WHEN value_hex IS NULL THEN convert_from(substring(b FROM 1 FOR h), 'UTF8') "
             "END, octet_length(b), sha256(b), 'pg_refused', $2 "
             "FROM (SELECT *, coalesce(decode(value_hex, 'hex'), convert_to(raw_payload, 'UTF8')) "
             "AS b FROM pg_temp.execrec_stage_%s WHERE n = $1) s, "
             "LATERAL (SELECT CASE WHEN octet_length(b) <= $3::int THEN octet_length(b) "
             "WHEN value_hex IS NOT NULL THEN $3::int "
             "WHEN get_byte(b, $3::int) & 192 <> 128 THEN $3::int "
             "WHEN get_byte(b, $3::int - 1) & 192 <> 128 THEN $3::int - 1 "
             "WHEN get_byte(b, $3::int - 2) & 192 <> 128 THEN $3::int - 2 "
             "ELSE $3::int - 3 END AS h) c "
             "ON CONFLICT DO NOTHING",
             execrec_kind_name(kind));
    snprintf(nbuf, sizeof(nbuf), "%" PRId32, n);
    snprintf(msg, sizeof(msg), "PostgreSQL refused the %s row: %s", execrec_kind_name(kind), why);
    snprintf(maxbuf, sizeof(maxbuf), "%zu", w->reject_max < INT32_MAX ? w->reject_max : INT32_MAX);
    const char *params[3] = {nbuf, msg, maxbuf};
    return exec(w->conn, sql, 3, params, added, errstr, errstr_size);
}

/* Inserts staged rows lo..hi of kind. When PostgreSQL refuses the statement because
 * of a row's data, the range is split in halves under savepoints until the refused
 * rows stand alone; those become rejects and the rest is inserted. Costs
 * O(bad * log(rows)) statements, nothing when every row is good. */
static st_t insert_range(execrec_writer_t *w, execrec_kind_t kind, int32_t lo, int32_t hi,
                         execrec_writer_stats_t *stats, char *errstr, size_t errstr_size) {
    char lobuf[16], hibuf[16], why[512];
    snprintf(lobuf, sizeof(lobuf), "%" PRId32, lo);
    snprintf(hibuf, sizeof(hibuf), "%" PRId32, hi);
    const char *params[2] = {lobuf, hibuf};
    int64_t affected = 0, updated = 0;

    st_t st = exec(w->conn, "SAVEPOINT execrec_rows", 0, NULL, NULL, errstr, errstr_size);
    if (st != ST_OK)
        return EXECREC_PG_FAILED;
    if (kind == EXECREC_KIND_ORDER_MANAGER) {
        /* The upsert returns the inserted and the updated rows' counts apart. */
        PGresult *res;
        st = execrec_pg_query(w->conn, w->insert_sql[kind], 2, params, &res, why, sizeof(why));
        if (st == ST_OK) {
            affected = atoll(PQgetvalue(res, 0, 0));
            updated = atoll(PQgetvalue(res, 0, 1));
            PQclear(res);
        }
    } else {
        st = exec(w->conn, w->insert_sql[kind], 2, params, &affected, why, sizeof(why));
    }
    if (st == ST_OK) {
        stats->inserted[kind] += affected;
        stats->updated[kind] += updated;
        stats->duplicates[kind] += (hi - lo + 1) - affected;
        return exec(w->conn, "RELEASE SAVEPOINT execrec_rows", 0, NULL, NULL, errstr,
                    errstr_size) == ST_OK
                   ? ST_OK
                   : EXECREC_PG_FAILED;
    }
    if (st != ST_ROW_REFUSED) {
        snprintf(errstr, errstr_size, "%s", why);
        return st;
    }
    if (exec(w->conn, "ROLLBACK TO SAVEPOINT execrec_rows", 0, NULL, NULL, errstr, errstr_size) !=
        ST_OK)
        return EXECREC_PG_FAILED;
    if (lo == hi) {
        int64_t added = 0;
        execrec_log_warn("PostgreSQL refused a %s row (staged #%" PRId32 "): %s",
                         execrec_kind_name(kind), lo, why);
        if (reject_staged(w, kind, lo, why, &added, errstr, errstr_size) != ST_OK)
            return EXECREC_PG_FAILED;
        stats->rejected += added;
        stats->pg_refused += added;
        stats->refused[kind] += added;
        if (added)
            reason_add(stats, EXECREC_REJ_PG, added);
        stats->rejects_duplicate += 1 - added;
        return ST_OK;
    }
    int32_t mid = lo + (hi - lo) / 2;
    st = insert_range(w, kind, lo, mid, stats, errstr, errstr_size);
    if (st != ST_OK)
        return st;
    return insert_range(w, kind, mid + 1, hi, stats, errstr, errstr_size);
}

/* The staging COPY text of kind's rows: the row number, the row's line, its key and
 * value bytes in hex (execrec_stage_<kind>'s column order). */
static int build_stage(execrec_writer_t *w, execrec_kind_t kind) {
    execrec_buf_t *st = &w->stage, *rows = &w->rows[kind], *bytes = &w->bytes[kind];
    execrec_buf_reset(st);
    for (int32_t i = 0; i < w->nrows[kind]; i++) {
        const rowinfo_t *ri = &w->info[kind][i];
        size_t end = i + 1 < w->nrows[kind] ? w->info[kind][i + 1].line : rows->len;
        execrec_buf_printf(st, "%" PRId32 "\t", i + 1);
        execrec_buf_append(st, rows->data + ri->line, end - ri->line - 1); /* no newline */
        execrec_buf_putc(st, '\t');
        if (ri->key_len >= 0)
            execrec_copytext_hex(st, bytes->data + ri->key, (size_t)ri->key_len);
        else
            execrec_copytext_null(st);
        execrec_buf_putc(st, '\t');
        if (ri->value_len >= 0)
            execrec_copytext_hex(st, bytes->data + ri->value, (size_t)ri->value_len);
        else
            execrec_copytext_null(st);
        execrec_buf_putc(st, '\n');
    }
    return st->oom ? -1 : 0;
}

/* Writes kind's rows. First, straight into the table with COPY under a savepoint:
 * in the common case (new facts, all acceptable) that is the whole cost, the same
 * as a plain COPY. If PostgreSQL refuses it (a duplicate of a recorded fact, a
 * value it cannot take) the savepoint is rolled back and the rows go through
 * staging: the de-duplicating INSERT, with bisection of refused rows. A kind whose
 * last batch needed staging is staged directly until a batch has neither
 * duplicates nor refused rows, so a replay or a backfill over recorded ranges does
 * not pay for a failed COPY per batch. */
static st_t write_rows(execrec_writer_t *w, execrec_kind_t kind, execrec_writer_stats_t *stats,
                       char *errstr, size_t errstr_size) {
    stream_check(w);
    if (copy_first(w, kind)) {
        char why[512];
        int64_t copied = 0;
        st_t st;
        if (w->stream.kind == (int)kind) { /* its savepoint and COPY are open */
            st = execrec_pg_copy_put(w->conn, w->rows[kind].data + w->stream.sent,
                                     w->rows[kind].len - w->stream.sent, why, sizeof(why));
            if (st == ST_OK) { /* else the COPY stays open for fail() to end */
                w->stream.kind = -1;
                w->stream.sent = 0;
                st = execrec_pg_copy_end(w->conn, NULL, &copied, why, sizeof(why));
            }
        } else {
            if (exec(w->conn, "SAVEPOINT execrec_copy", 0, NULL, NULL, errstr, errstr_size) !=
                ST_OK)
                return EXECREC_PG_FAILED;
            st = copy_in(w->conn, w->copy_sql[kind], &w->rows[kind], &copied, why, sizeof(why));
        }
        if (st == ST_OK) {
            stats->inserted[kind] += copied;
            return exec(w->conn, "RELEASE SAVEPOINT execrec_copy", 0, NULL, NULL, errstr,
                        errstr_size);
        }
        if (st != ST_ROW_REFUSED) {
            snprintf(errstr, errstr_size, "%s", why);
            return st;
        }
        if (exec(w->conn, "ROLLBACK TO SAVEPOINT execrec_copy", 0, NULL, NULL, errstr,
                 errstr_size) != ST_OK)
            return EXECREC_PG_FAILED;
        execrec_log_debug("COPY of %" PRId32 " %s rows refused (%s): writing them through "
                          "staging",
                          w->nrows[kind], execrec_kind_name(kind), why);
    }
    char sql[160];
    snprintf(sql, sizeof(sql), "COPY pg_temp.execrec_stage_%s FROM STDIN", execrec_kind_name(kind));
    if (build_stage(w, kind) < 0) {
        snprintf(errstr, errstr_size, "out of memory");
        return EXECREC_PG_FAILED;
    }
    int64_t dup0 = stats->duplicates[kind], refused0 = stats->pg_refused;
    if (copy_in(w->conn, sql, &w->stage, NULL, errstr, errstr_size) != ST_OK ||
        insert_range(w, kind, 1, w->nrows[kind], stats, errstr, errstr_size) != ST_OK)
        return EXECREC_PG_FAILED;
    w->staged_only[kind] = stats->duplicates[kind] > dup0 || stats->pg_refused > refused0;
    return ST_OK;
}

static int ensure_staging(execrec_writer_t *w, char *errstr, size_t errstr_size) {
    if (w->staging_ready)
        return 0;
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        if (exec(w->conn, w->stage_sql[k], 0, NULL, NULL, errstr, errstr_size) != ST_OK)
            return -1;
    if (exec(w->conn,
             "CREATE TEMP TABLE IF NOT EXISTS execrec_stage_rejects (n int, kafka_topic text, "
             "kafka_partition int, kafka_offset bigint, kafka_timestamp text, kafka_key text, "
             "payload text, payload_text text, payload_length bigint, payload_sha256 text, "
             "reason text, message text) "
             "ON COMMIT DELETE ROWS",
             0, NULL, NULL, errstr, errstr_size) != ST_OK)
        return -1;
    w->staging_ready = 1;
    return 0;
}

static void stream_check(const execrec_writer_t *w) {
    const stream_t *st = &w->stream;
    assert(st->kind >= -1 && st->kind < EXECREC_KIND__CNT);
    if (st->kind < 0) {
        assert(st->sent == 0);
        return;
    }
    assert(!st->off && w->conn && copy_first(w, (execrec_kind_t)st->kind));
    assert(st->sent <= w->rows[st->kind].len);
}

/* Ends a streamed COPY, if one is open, and rolls back the open transaction. */
static void stream_reset(execrec_writer_t *w) {
    stream_check(w);
    int up = w->conn && PQstatus(w->conn) == CONNECTION_OK;
    if (w->stream.kind >= 0 && up) {
        char errstr[256];
        /* Abandoned: its outcome is the rollback below. */
        st_t ignored =
            execrec_pg_copy_end(w->conn, "execrec: batch abandoned", NULL, errstr, sizeof(errstr));
        (void)ignored;
    }
    w->stream.kind = -1;
    w->stream.sent = 0;
    if (up && PQtransactionStatus(w->conn) != PQTRANS_IDLE)
        PQclear(PQexec(w->conn, "ROLLBACK"));
}

/* Ends the batch's streaming for good: a later flush or retry sends it whole. */
static void stream_abandon(execrec_writer_t *w) {
    stream_reset(w);
    w->stream.off = 1;
}

static execrec_err_t fail(execrec_writer_t *w, execrec_err_t err) {
    stream_abandon(w);
    return err;
}

/* Sends kind's rows to PostgreSQL while the batch fills, so that PostgreSQL parses
 * and indexes them while we decode the next messages. The COPY that write_rows
 * would send at flush time is opened (BEGIN, SAVEPOINT, COPY) once a kind has
 * STREAM_CHUNK bytes of rows, and fed every STREAM_CHUNK bytes; the flush sends the
 * rest and ends it. One COPY at a time per connection: other kinds wait for the
 * flush. The rows stay in the batch, so a refused COPY falls back to staging as
 * before, and a failure here only means the flush sends the batch whole. While a
 * COPY is open the connection is the writer's (writer.h). */
#define STREAM_CHUNK (64 * 1024)

static void stream_rows(execrec_writer_t *w, execrec_kind_t kind) {
    stream_check(w);
    execrec_buf_t *b = &w->rows[kind];
    char errstr[512];
    if (w->stream.kind < 0) {
        if (w->stream.off || b->len < STREAM_CHUNK || !copy_first(w, kind) || !w->conn ||
            PQstatus(w->conn) != CONNECTION_OK || PQtransactionStatus(w->conn) != PQTRANS_IDLE)
            return;
        if (ensure_staging(w, errstr, sizeof(errstr)) < 0 ||
            exec(w->conn, "BEGIN", 0, NULL, NULL, errstr, sizeof(errstr)) != ST_OK ||
            exec(w->conn, "SAVEPOINT execrec_copy", 0, NULL, NULL, errstr, sizeof(errstr)) !=
                ST_OK ||
            execrec_pg_copy_start(w->conn, w->copy_sql[kind], errstr, sizeof(errstr)) != ST_OK) {
            stream_abandon(w);
            return;
        }
        w->stream.kind = (int)kind;
        w->stream.sent = 0;
    }
    if (w->stream.kind != (int)kind || b->len - w->stream.sent < STREAM_CHUNK)
        return;
    if (execrec_pg_copy_put(w->conn, b->data + w->stream.sent, b->len - w->stream.sent, errstr,
                            sizeof(errstr)) != ST_OK) {
        stream_abandon(w);
        return;
    }
    w->stream.sent = b->len;
}

execrec_err_t execrec_writer_flush(execrec_writer_t *w, execrec_writer_stats_t *stats, char *errstr,
                                   size_t errstr_size) {
    stream_check(w);
    memset(stats, 0, sizeof(*stats));
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        if (w->rows[k].oom)
            return EXECREC_ERR_NOMEM;
    if (w->rejects.oom)
        return EXECREC_ERR_NOMEM;
    if (execrec_writer_pending(w) == 0 && w->noffsets == 0)
        return EXECREC_OK;
    if (PQstatus(w->conn) != CONNECTION_OK) {
        snprintf(errstr, errstr_size, "not connected to PostgreSQL");
        return fail(w, EXECREC_ERR_PG);
    }
    if (w->stream.kind < 0 && (ensure_staging(w, errstr, errstr_size) < 0 ||
                               exec(w->conn, "BEGIN", 0, NULL, NULL, errstr, errstr_size) != ST_OK))
        return fail(w, EXECREC_ERR_PG);

    /* The kind whose COPY is streaming goes first: a connection has one COPY at a
     * time, and any other statement (the next kind's SAVEPOINT) would end it (libpq:
     * "COPY terminated by new PQexec") and abort the transaction. The tables have no
     * foreign keys between them, so the order of the kinds is free. */
    int first = w->stream.kind;
    if (first >= 0 && write_rows(w, (execrec_kind_t)first, stats, errstr, errstr_size) != ST_OK)
        return fail(w, EXECREC_ERR_PG);
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        if (k != first && w->nrows[k] &&
            write_rows(w, (execrec_kind_t)k, stats, errstr, errstr_size) != ST_OK)
            return fail(w, EXECREC_ERR_PG);

    if (w->nrejects) {
        int64_t added = 0;
        PGresult *res = NULL;
        /* The rejects written (not those an earlier run recorded), counted by reason. */
        if (copy_in(w->conn, "COPY pg_temp.execrec_stage_rejects FROM STDIN", &w->rejects, NULL,
                    errstr, errstr_size) != ST_OK ||
            execrec_pg_query(
                w->conn,
                "WITH ins AS (INSERT INTO execution.ingest_rejects (kafka_topic, "
                "kafka_partition, kafka_offset, kafka_timestamp, kafka_key, payload, "
                "payload_text, payload_length, payload_sha256, reason, message) SELECT "
                "kafka_topic, kafka_partition, kafka_offset, kafka_timestamp::timestamptz, "
                "decode(kafka_key, 'hex'), "
                "coalesce(decode(payload, 'hex'), convert_to(payload_text, 'UTF8')), "
                "payload_text, payload_length, decode(payload_sha256, 'hex'), reason, message "
                "FROM pg_temp.execrec_stage_rejects ORDER BY n ON CONFLICT DO NOTHING "
                "RETURNING reason) SELECT reason, count(*) FROM ins GROUP BY reason",
                0, NULL, &res, errstr, errstr_size) != ST_OK)
            return fail(w, EXECREC_ERR_PG);
        for (int i = 0; i < PQntuples(res); i++) {
            int64_t n = atoll(PQgetvalue(res, i, 1));
            reason_add(stats, PQgetvalue(res, i, 0), n);
            added += n;
        }
        PQclear(res);
        stats->rejected += added;
        stats->rejects_duplicate += w->nrejects - added;
    }

    for (int i = 0; i < w->noffsets; i++) {
        const offset_t *o = &w->offsets[i];
        execrec_err_t err = execrec_offsets_cas(w->conn, o->group, o->topic, o->partition,
                                                o->expected, o->next, errstr, errstr_size);
        if (err)
            return fail(w, err);
    }

    if (exec(w->conn, "COMMIT", 0, NULL, NULL, errstr, errstr_size) != ST_OK)
        return fail(w, EXECREC_ERR_PG);
    assert(w->stream.kind < 0 && PQtransactionStatus(w->conn) == PQTRANS_IDLE);
    stats->messages = execrec_writer_pending(w);
    execrec_writer_clear(w);
    return EXECREC_OK;
}
