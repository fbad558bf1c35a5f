/* `execrec status`: where a consumer group stands, per topic-partition: the next
 * offset stored in PostgreSQL (ingest_offsets, the one that counts) and when it
 * last moved, Kafka's committed offset (for lag tools), the low and high
 * watermarks, the lag, and whether the position is past the log's end (the
 * recorder blocks such a partition, docs/offsets.md). --max-lag makes it a check.
 * Reads only: the Kafka handle has the group's group.id but never subscribes, so
 * it does not join (or disturb) the group. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include "cli/cli.h"
#include "execrec/config.h"
#include "kafka/kafka.h"
#include "base/log.h"
#include "pg/offsets.h"
#include "pg/pg.h"
#include "cli_common.h"

#define NONE INT64_C(-1)

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const status_keys[] = {"brokers",      "dsn",          "group",
                                          "topic.orders", "topic.events", "topic.trades",
                                          "topic.managers", "json",       "max.lag",
                                          "log.level",      "broker.timeout.ms", NULL};
/* clang-format on */

typedef struct row_s {
    const char *topic;
    int32_t partition;
    int in_kafka;                      /* the broker's metadata lists the partition */
    int64_t stored, committed, lo, hi; /* NONE: not known */
    char updated[24];                  /* when the stored offset last moved; "": none */
} row_t;

typedef struct rows_s {
    row_t *row;
    int n, cap;
} rows_t;

static row_t *row_get(rows_t *rs, const char *topic, int32_t partition) {
    for (int i = 0; i < rs->n; i++)
        if (rs->row[i].partition == partition && !strcmp(rs->row[i].topic, topic))
            return &rs->row[i];
    if (rs->n == rs->cap) {
        int cap = rs->cap ? rs->cap * 2 : 16;
        row_t *grown = realloc(rs->row, sizeof(row_t) * (size_t)cap);
        if (!grown)
            return NULL;
        rs->row = grown;
        rs->cap = cap;
    }
    row_t *r = &rs->row[rs->n++];
    *r = (row_t){topic, partition, 0, NONE, NONE, NONE, NONE, ""};
    return r;
}

static int row_cmp(const void *a, const void *b) {
    const row_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* The position the recorder starts from (stored, else committed) is past the
 * log's end: the log is not the one recorded, and the recorder blocks it. */
static int row_past_end(const row_t *r) {
    int64_t pos = r->stored >= 0 ? r->stored : r->committed;
    return r->hi >= 0 && pos > r->hi;
}

/* Lag: high watermark minus the stored offset, else minus Kafka's committed
 * offset; *basis says which ("postgresql", "kafka"), NULL when unknown (or the
 * position is past the end: no lag can be told). */
static int64_t row_lag(const row_t *r, const char **basis) {
    *basis = NULL;
    if (r->hi < 0 || row_past_end(r))
        return NONE;
    if (r->stored >= 0) {
        *basis = "postgresql";
        return r->hi - r->stored;
    }
    if (r->committed >= 0) {
        *basis = "kafka";
        return r->hi - r->committed;
    }
    return NONE;
}

/* The totals line: *lag summed over the *known partitions whose lag is known. */
static void lag_sum(const rows_t *rs, int64_t *lag, int *known) {
    *lag = 0;
    *known = 0;
    for (int i = 0; i < rs->n; i++) {
        const char *basis;
        int64_t l = row_lag(&rs->row[i], &basis);
        if (basis) {
            *lag += l;
            (*known)++;
        }
    }
}

typedef struct stored_s {
    const char *const *topics;
    rows_t *rs;
} stored_t;

static execrec_err_t stored_row(void *opaque, const execrec_offsets_row_t *o) {
    stored_t *st = opaque;
    execrec_kind_t k;
    if (execrec_kind_for_topic(st->topics, o->topic, &k) < 0)
        return EXECREC_OK;
    row_t *r = row_get(st->rs, st->topics[k], o->partition);
    if (!r)
        return EXECREC_ERR_NOMEM;
    r->stored = o->next_offset;
    snprintf(r->updated, sizeof(r->updated), "%s", o->updated_at);
    return EXECREC_OK;
}

/* The offsets stored in PostgreSQL for group, of the topics. */
static int read_stored(const execrec_config_t *conf, const char *group, const char *const *topics,
                       rows_t *rs) {
    char errstr[1024];
    /* Bounded: an unreachable server is an error after 10 s, not a hang. */
    setenv("PGCONNECT_TIMEOUT", "10", 0);
    PGconn *conn = execrec_pg_connect(execrec_config_get(conf, "dsn"), errstr, sizeof(errstr));
    if (!conn) {
        fprintf(stderr, "execrec status: %s\n", errstr);
        return -1;
    }
    stored_t st = {topics, rs};
    execrec_err_t err =
        execrec_offsets_list(conn, group, 0, stored_row, &st, errstr, sizeof(errstr));
    if (err == EXECREC_ERR_PG)
        fprintf(stderr, "execrec status: reading execution.ingest_offsets: %s\n", errstr);
    PQfinish(conn);
    return err ? -1 : 0;
}

/* Partitions, watermarks and committed offsets from the broker; *missing counts
 * the configured topics the cluster does not have (each named on stderr). */
static int read_kafka(const execrec_config_t *conf, const char *group, const char *const *topics,
                      rows_t *rs, int *missing) {
    int timeout = (int)execrec_config_get_int(conf, "broker.timeout.ms");
    const char *required[] = {"group.id", group, "enable.auto.commit", "false", NULL};
    execrec_kafka_client_t client = {.type = RD_KAFKA_CONSUMER,
                                     .brokers = execrec_config_get(conf, "brokers"),
                                     .props = conf,
                                     .required = required};
    char errstr[512];
    rd_kafka_t *rk = execrec_kafka_new(&client, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "execrec status: %s\n", errstr);
        return -1;
    }
    int rc = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (int k = 0; k < EXECREC_KIND__CNT && !rc; k++) {
        if (!topics[k])
            continue;
        int32_t *ids;
        int n;
        execrec_err_t err =
            execrec_kafka_partitions(rk, topics[k], timeout, &ids, &n, errstr, sizeof(errstr));
        if (err == EXECREC_ERR_NOTFOUND) {
            /* its stored rows, if any, still show */
            fprintf(stderr, "execrec status: %s (--%s)\n", errstr,
                    k == EXECREC_KIND_ORDER         ? "topic-orders"
                    : k == EXECREC_KIND_ORDER_EVENT ? "topic-events"
                    : k == EXECREC_KIND_TRADE       ? "topic-trades"
                                                    : "topic-managers");
            (*missing)++;
            continue;
        }
        if (err == EXECREC_ERR_KAFKA)
            execrec_kafka_give_up(rk, "cannot read the topics", timeout, errstr, sizeof(errstr));
        if (err) {
            fprintf(stderr, "execrec status: %s\n", errstr);
            rc = -1;
            break;
        }
        for (int j = 0; j < n && !rc; j++) {
            row_t *r = row_get(rs, topics[k], ids[j]);
            if (!r) {
                rc = -1;
                break;
            }
            r->in_kafka = 1;
            rd_kafka_resp_err_t kerr = execrec_kafka_partition_watermarks(
                rk, r->topic, r->partition, &r->lo, &r->hi, timeout);
            if (kerr) {
                fprintf(stderr,
                        "execrec status: %s [%" PRId32 "]: cannot read the watermarks: "
                        "%s\n",
                        r->topic, r->partition, rd_kafka_err2str(kerr));
                rc = -1;
            }
            rd_kafka_topic_partition_list_add(l, r->topic, r->partition);
        }
        free(ids);
    }
    if (!rc && l->cnt > 0) {
        rd_kafka_resp_err_t kerr = rd_kafka_committed(rk, l, timeout);
        if (kerr) {
            fprintf(stderr, "execrec status: cannot read group %s's committed offsets: %s\n", group,
                    rd_kafka_err2str(kerr));
            rc = -1;
        }
        for (int j = 0; !rc && j < l->cnt; j++) {
            row_t *r = row_get(rs, l->elems[j].topic, l->elems[j].partition);
            if (r && !l->elems[j].err && l->elems[j].offset >= 0)
                r->committed = l->elems[j].offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    execrec_kafka_serve(rk); /* its log lines, through our logger */
    rd_kafka_destroy(rk);    /* never subscribed: leaves no group, commits nothing */
    return rc;
}

static void cell(char *buf, size_t size, int64_t v) {
    if (v < 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%" PRId64, v);
}

static void print_table(const char *group, const char *brokers, const rows_t *rs) {
    int64_t lag_total;
    int lag_known;
    lag_sum(rs, &lag_total, &lag_known);
    printf("consumer group %s\n", group);
    printf("%-20s %9s %12s %12s %12s %12s %10s %-10s %-20s %s\n", "topic", "partition", "stored",
           "committed", "low", "high", "lag", "lag from", "last commit", "state");
    for (int i = 0; i < rs->n; i++) {
        const row_t *r = &rs->row[i];
        const char *basis;
        int64_t lag = row_lag(r, &basis);
        char st[24], co[24], lo[24], hi[24], lg[24];
        cell(st, sizeof(st), r->stored);
        cell(co, sizeof(co), r->committed);
        cell(lo, sizeof(lo), r->lo);
        cell(hi, sizeof(hi), r->hi);
        cell(lg, sizeof(lg), basis ? lag : NONE);
        printf("%-20s %9" PRId32 " %12s %12s %12s %12s %10s %-10s %-20s %s\n", r->topic,
               r->partition, st, co, lo, hi, lg, basis ? basis : "-",
               *r->updated ? r->updated : "-", row_past_end(r) ? "PAST-END" : "ok");
    }
    printf("total: %d partitions, lag %" PRId64 " over the %d with a known position\n", rs->n,
           lag_total, lag_known);
    for (int i = 0; i < rs->n; i++) {
        const row_t *r = &rs->row[i];
        if (row_past_end(r))
            printf("%s [%" PRId32 "]: the %s offset %" PRId64 " is past the log's end %" PRId64
                   ": was the topic recreated? The recorder does not consume it until an "
                   "operator decides: execrec offsets reset --group %s --topic %s --partition "
                   "%" PRId32 " --to earliest --brokers %s (docs/offsets.md)\n",
                   r->topic, r->partition, r->stored >= 0 ? "stored" : "committed",
                   r->stored >= 0 ? r->stored : r->committed, r->hi, group, r->topic, r->partition,
                   brokers);
    }
}

static int past_end(const rows_t *rs) {
    int n = 0;
    for (int i = 0; i < rs->n; i++)
        n += row_past_end(&rs->row[i]);
    return n;
}

/* --max-lag: the partitions whose lag exceeds max_lag. @returns how many. */
static int over_max_lag(const rows_t *rs, int64_t max_lag) {
    int n = 0;
    for (int i = 0; i < rs->n; i++) {
        const char *basis;
        int64_t lag = row_lag(&rs->row[i], &basis);
        n += basis && lag > max_lag;
    }
    return n;
}

static json_t *jint(int64_t v) {
    return v < 0 ? json_null() : json_integer(v);
}

static int print_json(const char *group, const rows_t *rs, int64_t max_lag) {
    json_t *doc = json_object(), *arr = json_array();
    int64_t lag_total;
    int lag_known;
    lag_sum(rs, &lag_total, &lag_known);
    for (int i = 0; i < rs->n; i++) {
        const row_t *r = &rs->row[i];
        const char *basis;
        int64_t lag = row_lag(r, &basis);
        json_t *o = json_object();
        json_object_set_new(o, "topic", json_string(r->topic));
        json_object_set_new(o, "partition", json_integer(r->partition));
        json_object_set_new(o, "stored", jint(r->stored));
        json_object_set_new(o, "committed", jint(r->committed));
        json_object_set_new(o, "low", jint(r->lo));
        json_object_set_new(o, "high", jint(r->hi));
        json_object_set_new(o, "lag", basis ? json_integer(lag) : json_null());
        json_object_set_new(o, "lag_from", basis ? json_string(basis) : json_null());
        json_object_set_new(o, "last_commit", *r->updated ? json_string(r->updated) : json_null());
        json_object_set_new(o, "past_end", json_boolean(row_past_end(r)));
        json_array_append_new(arr, o);
    }
    json_object_set_new(doc, "group", json_string(group));
    json_object_set_new(doc, "partitions", arr);
    json_t *total = json_object();
    json_object_set_new(total, "partitions", json_integer(rs->n));
    json_object_set_new(total, "lag", json_integer(lag_total));
    json_object_set_new(total, "partitions_with_lag", json_integer(lag_known));
    json_object_set_new(total, "past_end", json_integer(past_end(rs)));
    if (max_lag >= 0)
        json_object_set_new(total, "max_lag_exceeded", json_boolean(over_max_lag(rs, max_lag)));
    json_object_set_new(doc, "total", total);
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    if (!text)
        return -1;
    printf("%s\n", text);
    free(text);
    return 0;
}

int execrec_cli_status(int argc, char **argv) {
    rows_t rs = {0};
    int rc;
    execrec_config_t *conf = cli_begin(
        "status",
        "Where a consumer group stands, per partition of the configured topics: the next\n"
        "offset stored in PostgreSQL (execution.ingest_offsets, the position the\n"
        "recorder resumes from), Kafka's committed offset for the group, the low and high\n"
        "watermarks, and the lag: high watermark minus the stored offset, or minus the\n"
        "committed offset when nothing is stored ('lag from' says which). '-' marks what\n"
        "one side does not know. 'last commit' is when the stored offset last moved (UTC).\n"
        "A position past the log's end (the topic was recreated, or this is another\n"
        "cluster) has state PAST-END and no lag: the recorder blocks such a partition\n"
        "until `execrec offsets reset` (docs/offsets.md). A last line sums the lag.\n"
        "Reads only: it never joins the group. The broker is given --broker-timeout-ms\n"
        "to answer (the error names its last transport error), PostgreSQL 10 s. Exit\n"
        "status: 0 ok; 1 a failure, a configured topic not on the cluster (named on\n"
        "stderr; the table is still printed), or with --max-lag N a partition whose lag\n"
        "exceeds N or one PAST-END (for cron and monitoring); 2 misuse.",
        status_keys, argc, argv, NULL, NULL, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_USAGE;
    const char *group = execrec_config_get(conf, "group");
    const char *brokers = execrec_config_get(conf, "brokers");
    if (!brokers || !*brokers) {
        fprintf(stderr, "execrec status: --brokers is required\n");
        goto done;
    }
    if (!group || !*group) {
        fprintf(stderr, "execrec status: --group must not be empty\n");
        goto done;
    }
    int64_t max_lag =
        execrec_config_get(conf, "max.lag") ? execrec_config_get_int(conf, "max.lag") : NONE;
    const char *topics[EXECREC_KIND__CNT];
    cli_topics(conf, topics);
    rc = EXECREC_EXIT_FAIL;
    int missing = 0;
    if (read_stored(conf, group, topics, &rs) < 0 ||
        read_kafka(conf, group, topics, &rs, &missing) < 0)
        goto done;
    if (rs.n > 1)
        qsort(rs.row, (size_t)rs.n, sizeof(row_t), row_cmp);
    if (execrec_config_get_bool(conf, "json") ? print_json(group, &rs, max_lag) < 0
                                              : (print_table(group, brokers, &rs), 0)) {
        fprintf(stderr, "execrec status: out of memory\n");
        goto done;
    }
    rc = missing ? EXECREC_EXIT_FAIL : EXECREC_EXIT_OK;
    if (max_lag >= 0) {
        int over = over_max_lag(&rs, max_lag), ahead = past_end(&rs);
        if (over)
            fprintf(stderr, "execrec status: %d partition(s) lag more than --max-lag %" PRId64 "\n",
                    over, max_lag);
        if (ahead)
            fprintf(stderr,
                    "execrec status: %d partition(s) have a position past the log's end "
                    "(blocked)\n",
                    ahead);
        if (over || ahead)
            rc = EXECREC_EXIT_FAIL;
    }
done:
    free(rs.row);
    execrec_config_destroy(conf);
    return rc;
}
