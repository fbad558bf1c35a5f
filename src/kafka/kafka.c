/* The librdkafka client factory and shared helpers, see kafka.h. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kafka/kafka.h"
#include "base/log.h"
#include "base/secret.h"
#include "base/timeutil.h"

execrec_err_t execrec_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                                     char *errstr, size_t errstr_size) {
    char why[512];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) != RD_KAFKA_CONF_OK) {
        /* librdkafka's reason may quote the value: never for a secret. */
        int secret = execrec_secret_kafka_key(key) || strstr(key, ".key");
        execrec_errstr(errstr, errstr_size, "kafka property %s: %s", key,
                       secret ? "invalid value" : why);
        return EXECREC_ERR_INVALID;
    }
    return EXECREC_OK;
}

/* The properties execrec sets itself on its clients, which -X would not change:
 * what to do instead. */
static const char *const owned[] = {
    "bootstrap.servers",
    "give the cluster with --brokers (-b)",
    "metadata.broker.list",
    "give the cluster with --brokers (-b)",
    "group.id",
    "give the consumer group with --group",
    "enable.auto.commit",
    "the recorder commits offsets with its batches, in PostgreSQL",
    "enable.auto.offset.store",
    "the recorder commits offsets with its batches, in PostgreSQL",
    "enable.partition.eof",
    "execrec needs it to see where a partition ends",
    "enable.idempotence",
    "execrec publish always produces idempotently",
    "log.queue",
    "execrec logs librdkafka's lines from its own thread",
    NULL,
};

/* Refuses key when owned or more (key, hint pairs; with values set, key, value
 * pairs: the client's required properties) lists it. */
static execrec_err_t check_owned(const char *key, const char *const *more, int values, char *errstr,
                                 size_t errstr_size) {
    for (int pass = 0; pass < 2; pass++)
        for (const char *const *o = pass ? more : owned; o && o[0]; o += 2)
            if (!strcmp(key, o[0])) {
                execrec_errstr(errstr, errstr_size,
                               pass && values ? "-X %s: execrec sets this property itself (to %s)"
                                              : "-X %s: execrec sets this property itself: %s",
                               key, o[1]);
                return EXECREC_ERR_INVALID;
            }
    return EXECREC_OK;
}

static void discard_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk, (void)level, (void)fac, (void)buf;
}

execrec_err_t execrec_kafka_check_props(const execrec_config_t *props, const char *const *more,
                                        rd_kafka_type_t type, char *errstr, size_t errstr_size) {
    rd_kafka_conf_t *scratch = rd_kafka_conf_new();
    if (!scratch) {
        execrec_errstr(errstr, errstr_size, "out of memory");
        return EXECREC_ERR_NOMEM;
    }
    execrec_err_t err = EXECREC_OK;
    for (int i = 0; !err && i < execrec_config_kafka_count(props); i++) {
        const char *k, *v;
        execrec_config_kafka_get(props, i, &k, &v);
        err = check_owned(k, more, 0, errstr, errstr_size);
        if (!err && execrec_kafka_conf_set(scratch, k, v, errstr, errstr_size)) {
            char why[512];
            snprintf(why, sizeof(why), "%s", errstr);
            /* "kafka property K: reason" -> "-X K: reason" */
            const char *reason = strstr(why, ": ");
            execrec_errstr(errstr, errstr_size, "-X %s: %s", k, reason ? reason + 2 : why);
            err = EXECREC_ERR_INVALID;
        }
    }
    /* What only a client checks (properties that must go together, files such as
     * ssl.ca.location): a client with no brokers, which never connects. */
    if (!err && execrec_config_kafka_count(props) > 0) {
        char why[512];
        rd_kafka_conf_set_log_cb(scratch, discard_log);
        /* execrec's one producer (publish.c) is idempotent: acks=1 does not go with it */
        if (type == RD_KAFKA_PRODUCER)
            rd_kafka_conf_set(scratch, "enable.idempotence", "true", why, sizeof(why));
        rd_kafka_t *rk = rd_kafka_new(type, scratch, why, sizeof(why));
        if (rk) {
            scratch = NULL; /* the client owns it */
            rd_kafka_destroy(rk);
        } else {
            execrec_errstr(errstr, errstr_size, "the -X properties are refused: %s", why);
            err = EXECREC_ERR_INVALID;
        }
    }
    if (scratch)
        rd_kafka_conf_destroy(scratch);
    return err;
}

void execrec_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    /* Connection failures also reach error_cb, which logs them once, clearly. */
    if (!strcmp(fac, "FAIL"))
        level = 7;
    execrec_log_level_t l = level <= 3   ? EXECREC_LOG_ERROR
                            : level == 4 ? EXECREC_LOG_WARN
                            : level <= 6 ? EXECREC_LOG_INFO
                                         : EXECREC_LOG_DEBUG;
    execrec_log_kv(l,
                   EXECREC_LOG_FIELDS(EXECREC_LF_STR("facility", fac),
                                      EXECREC_LF_STR("client", rk ? rd_kafka_name(rk) : "")),
                   "kafka %s: %s", fac, buf);
}

static execrec_err_t set_pairs(rd_kafka_conf_t *conf, const char *const *kv, char *errstr,
                               size_t errstr_size) {
    for (; kv && kv[0]; kv += 2) {
        execrec_err_t err = execrec_kafka_conf_set(conf, kv[0], kv[1], errstr, errstr_size);
        if (err)
            return err;
    }
    return EXECREC_OK;
}

execrec_err_t execrec_kafka_conf_new(const char *brokers, const execrec_config_t *props,
                                     const char *const *defaults, const char *const *required,
                                     const char *const *interpreted, rd_kafka_conf_t **confp,
                                     char *errstr, size_t errstr_size) {
    *confp = NULL;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        execrec_errstr(errstr, errstr_size, "out of memory");
        return EXECREC_ERR_NOMEM;
    }
    execrec_err_t err = execrec_kafka_conf_set(conf, "client.id", "execrec", errstr, errstr_size);
    if (!err)
        err = set_pairs(conf, defaults, errstr, errstr_size);
    for (int i = 0; !err && props && i < execrec_config_kafka_count(props); i++) {
        const char *k, *v;
        execrec_config_kafka_get(props, i, &k, &v);
        /* A -X of a required property would be overridden without a word, unless the
         * caller reads it itself. */
        int read = 0;
        for (const char *const *ik = interpreted; ik && *ik && !read; ik++)
            read = !strcmp(*ik, k);
        if (!read)
            err = check_owned(k, required, 1, errstr, errstr_size);
        if (!err)
            err = execrec_kafka_conf_set(conf, k, v, errstr, errstr_size);
    }
    if (!err)
        err = execrec_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, errstr_size);
    if (!err)
        err = set_pairs(conf, required, errstr, errstr_size);
    if (err) {
        rd_kafka_conf_destroy(conf);
        return err;
    }
    rd_kafka_conf_set_log_cb(conf, execrec_kafka_log_cb);
    *confp = conf;
    return EXECREC_OK;
}

static void default_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)opaque;
    execrec_kafka_log_error(rk, err, reason);
}

rd_kafka_t *execrec_kafka_new(const execrec_kafka_client_t *client, char *errstr,
                              size_t errstr_size) {
    rd_kafka_conf_t *conf;
    if (execrec_kafka_conf_new(client->brokers, client->props, client->defaults, client->required,
                               client->interpreted, &conf, errstr, errstr_size))
        return NULL;
    if (execrec_kafka_conf_set(conf, "log.queue", "true", errstr, errstr_size)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, client->opaque);
    rd_kafka_conf_set_error_cb(conf, client->error_cb ? client->error_cb : default_error_cb);
    if (client->rebalance_cb)
        rd_kafka_conf_set_rebalance_cb(conf, client->rebalance_cb);
    if (client->dr_msg_cb)
        rd_kafka_conf_set_dr_msg_cb(conf, client->dr_msg_cb);
    char why[512];
    rd_kafka_t *rk = rd_kafka_new(client->type, conf, why, sizeof(why));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        execrec_errstr(errstr, errstr_size, "cannot create the Kafka %s: %s",
                       client->type == RD_KAFKA_CONSUMER ? "consumer" : "producer", why);
        return NULL;
    }
    /* The log lines come out of the main queue, on the caller's thread. */
    rd_kafka_set_log_queue(rk, NULL);
    if (client->type == RD_KAFKA_CONSUMER)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

void execrec_kafka_serve(rd_kafka_t *rk) {
    if (rd_kafka_type(rk) != RD_KAFKA_CONSUMER) {
        rd_kafka_poll(rk, 0);
        return;
    }
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(rk, 0)))
        rd_kafka_message_destroy(m);
}

/* The last error a client reported (execrec_kafka_log_error), for the message of a
 * command that gives up on the cluster. Process-wide: a command has one client. */
static pthread_mutex_t last_error_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_error[512];

void execrec_kafka_last_error(char *buf, size_t size) {
    pthread_mutex_lock(&last_error_lock);
    snprintf(buf, size, "%s", last_error);
    pthread_mutex_unlock(&last_error_lock);
}

void execrec_kafka_give_up(rd_kafka_t *rk, const char *what, int64_t timeout_ms, char *errstr,
                           size_t errstr_size) {
    char last[512];
    if (rk)
        execrec_kafka_serve(rk); /* the error events waiting on its queue */
    execrec_kafka_last_error(last, sizeof(last));
    execrec_errstr(errstr, errstr_size,
                   "%s: no answer from the Kafka cluster within %" PRId64
                   " ms (--broker-timeout-ms); last error: %s",
                   what, timeout_ms, *last ? last : "none reported");
}

int execrec_kafka_log_error(rd_kafka_t *rk, int err, const char *reason) {
    /* "1/1 brokers are down" says less than the error that brought them down. */
    if (err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        pthread_mutex_lock(&last_error_lock);
        snprintf(last_error, sizeof(last_error), "%s", reason ? reason : "");
        pthread_mutex_unlock(&last_error_lock);
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof(why));
        execrec_log_error("kafka: fatal: %s", why);
        return 1;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        execrec_log_warn("kafka: all brokers are down (%s); still trying", reason);
    else
        execrec_log_warn("kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
    return 0;
}

static int cmp_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

execrec_err_t execrec_kafka_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms,
                                       int32_t **partitions, int *n, char *errstr,
                                       size_t errstr_size) {
    const struct rd_kafka_metadata *md = NULL;
    *partitions = NULL;
    *n = 0;
    rd_kafka_resp_err_t kerr = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (kerr) {
        snprintf(errstr, errstr_size, "cannot read the topics from the broker: %s",
                 rd_kafka_err2str(kerr));
        return EXECREC_ERR_KAFKA;
    }
    execrec_err_t err = EXECREC_ERR_NOTFOUND;
    snprintf(errstr, errstr_size, "the broker has no topic '%s'", topic);
    for (int t = 0; t < md->topic_cnt; t++) {
        const rd_kafka_metadata_topic_t *mt = &md->topics[t];
        if (strcmp(mt->topic, topic) || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            continue;
        if (mt->err) {
            snprintf(errstr, errstr_size, "topic '%s': %s", topic, rd_kafka_err2str(mt->err));
            err = EXECREC_ERR_KAFKA;
            break;
        }
        if (!(*partitions = malloc(sizeof(int32_t) * (size_t)(mt->partition_cnt + 1)))) {
            err = EXECREC_ERR_NOMEM;
            break;
        }
        for (int p = 0; p < mt->partition_cnt; p++)
            (*partitions)[p] = mt->partitions[p].id;
        *n = mt->partition_cnt;
        qsort(*partitions, (size_t)*n, sizeof(int32_t), cmp_int32);
        err = EXECREC_OK;
        break;
    }
    rd_kafka_metadata_destroy(md);
    return err;
}

int execrec_kafka_poll_timeout(int64_t deadline_ms) {
    if (!deadline_ms)
        return 100;
    int64_t left = deadline_ms - execrec_time_monotonic_ms();
    return left < 0 ? 0 : left < 100 ? (int)left : 100;
}

/* One end of every partition of list into out (which: RD_KAFKA_OFFSET_BEGINNING
 * or RD_KAFKA_OFFSET_END). rd_kafka_offsets_for_times sends the special times -2 and
 * -1, which a broker answers with the log's start and end (as
 * rd_kafka_query_watermark_offsets asks them), grouped by leader. Every partition's
 * answer is checked: its error, or no offset, is an error (*kerr, errstr naming
 * the partition). */
static execrec_err_t list_ends(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *list,
                               int64_t which, int64_t *out, int timeout_ms,
                               rd_kafka_resp_err_t *kerr, char *errstr, size_t errstr_size) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_copy(list);
    if (!l) {
        *kerr = RD_KAFKA_RESP_ERR__FAIL;
        execrec_errstr(errstr, errstr_size, "out of memory");
        return EXECREC_ERR_NOMEM;
    }
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = which;
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, l, timeout_ms);
    if (err)
        execrec_errstr(errstr, errstr_size, "cannot read the watermarks from the broker: %s",
                       rd_kafka_err2str(err));
    /* The answer comes back in place, in list's order. */
    for (int i = 0; !err && i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &l->elems[i];
        if (!e->err && e->offset < 0)
            err = RD_KAFKA_RESP_ERR__NO_OFFSET; /* no offset for a log's end: never expected */
        else
            err = e->err;
        if (err)
            execrec_errstr(errstr, errstr_size,
                           "%s [%" PRId32 "]: cannot read the watermarks from the broker: %s",
                           e->topic, e->partition, rd_kafka_err2str(err));
        out[i] = e->offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    *kerr = err;
    return err ? EXECREC_ERR_KAFKA : EXECREC_OK;
}

static execrec_err_t list_watermarks(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *list,
                                     int64_t *lo, int64_t *hi, int timeout_ms,
                                     rd_kafka_resp_err_t *kerr, char *errstr, size_t errstr_size) {
    execrec_err_t err =
        list_ends(rk, list, RD_KAFKA_OFFSET_BEGINNING, lo, timeout_ms, kerr, errstr, errstr_size);
    if (!err)
        err = list_ends(rk, list, RD_KAFKA_OFFSET_END, hi, timeout_ms, kerr, errstr, errstr_size);
    for (int i = 0; !err && i < list->cnt; i++)
        if (lo[i] > hi[i]) { /* a leader change between the two requests */
            execrec_errstr(errstr, errstr_size,
                           "%s [%" PRId32 "]: cannot read the watermarks from the broker: the "
                           "log's start %" PRId64 " is past its end %" PRId64,
                           list->elems[i].topic, list->elems[i].partition, lo[i], hi[i]);
            *kerr = RD_KAFKA_RESP_ERR__INCONSISTENT;
            err = EXECREC_ERR_KAFKA;
        }
    return err;
}

/* list_watermarks, and after a Kafka error a metadata refresh and one more try:
 * librdkafka keeps a moved partition's old leader until a metadata refresh (see
 * execrec_kafka_partition_watermarks). The one reader behind both public calls. */
static execrec_err_t checked_watermarks(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *list,
                                        int64_t *lo, int64_t *hi, int timeout_ms,
                                        rd_kafka_resp_err_t *kerr, char *errstr,
                                        size_t errstr_size) {
    *kerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (list->cnt == 0)
        return EXECREC_OK;
    execrec_err_t err = list_watermarks(rk, list, lo, hi, timeout_ms, kerr, errstr, errstr_size);
    if (err != EXECREC_ERR_KAFKA)
        return err;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (md)
        rd_kafka_metadata_destroy(md);
    return list_watermarks(rk, list, lo, hi, timeout_ms, kerr, errstr, errstr_size);
}

execrec_err_t execrec_kafka_watermarks(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *list,
                                       int64_t *lo, int64_t *hi, int timeout_ms, char *errstr,
                                       size_t errstr_size) {
    rd_kafka_resp_err_t kerr;
    return checked_watermarks(rk, list, lo, hi, timeout_ms, &kerr, errstr, errstr_size);
}

rd_kafka_resp_err_t execrec_kafka_partition_watermarks(rd_kafka_t *rk, const char *topic,
                                                       int32_t partition, int64_t *lo, int64_t *hi,
                                                       int timeout_ms) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    if (!l)
        return RD_KAFKA_RESP_ERR__FAIL;
    rd_kafka_topic_partition_list_add(l, topic, partition);
    int64_t low = -1, high = -1;
    rd_kafka_resp_err_t kerr;
    char errstr[256];
    checked_watermarks(rk, l, &low, &high, timeout_ms, &kerr, errstr, sizeof(errstr));
    rd_kafka_topic_partition_list_destroy(l);
    if (!kerr) {
        *lo = low;
        *hi = high;
    }
    return kerr;
}

/* The first message of topic [partition] at or after offset: *at its offset, *ts
 * its timestamp (-1: none); *at = hi when there is none. @returns 0, -1 no answer. */
static int read_one(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t offset,
                    int64_t hi, int timeout_ms, int64_t *at, int64_t *ts) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = offset;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err)
        return -1;
    int64_t deadline = execrec_time_monotonic_ms() + timeout_ms;
    while (execrec_time_monotonic_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        int ours = m->rkt && m->partition == partition &&
                   !strcmp(rd_kafka_topic_name(m->rkt), topic) && m->offset >= offset;
        int rc = 1;
        if (ours && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            *at = hi;
            *ts = -1;
            rc = 0;
        } else if (ours && !m->err) {
            *at = m->offset;
            *ts = rd_kafka_message_timestamp(m, NULL);
            rc = 0;
        }
        rd_kafka_message_destroy(m);
        if (rc == 0)
            return 0;
    }
    return -1;
}

execrec_err_t execrec_kafka_offset_for_time(rd_kafka_t *rk, const char *topic, int32_t partition,
                                            int64_t lo, int64_t hi, int64_t ts_ms, int timeout_ms,
                                            int64_t *offset, char *errstr, size_t errstr_size) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition)->offset = ts_ms;
    rd_kafka_resp_err_t kerr = rd_kafka_offsets_for_times(rk, l, timeout_ms);
    if (!kerr)
        kerr = l->elems[0].err;
    *offset = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    if (kerr) {
        snprintf(errstr, errstr_size, "%s [%" PRId32 "]: cannot resolve a time to an offset: %s",
                 topic, partition, rd_kafka_err2str(kerr));
        return EXECREC_ERR_KAFKA;
    }
    if (*offset >= 0)
        return EXECREC_OK;
    /* -1: no message that late, or a broker without a time index. The last message
     * tells which; when it qualifies, search [lo, last] for the first that does. */
    *offset = hi;
    execrec_err_t err = EXECREC_OK;
    int64_t at, ts;
    if (hi > lo && read_one(rk, topic, partition, hi - 1, hi, timeout_ms, &at, &ts) < 0)
        err = EXECREC_ERR_KAFKA;
    else if (hi > lo && at < hi && ts >= ts_ms) {
        int64_t a = lo, b = at;
        while (a < b && !err) {
            int64_t mid = a + (b - a) / 2, m_at, m_ts;
            if (read_one(rk, topic, partition, mid, hi, timeout_ms, &m_at, &m_ts) < 0)
                err = EXECREC_ERR_KAFKA;
            else if (m_at < hi && m_ts >= ts_ms)
                b = mid; /* no message in [mid, m_at): starting at mid is starting at m_at */
            else
                a = m_at + 1;
        }
        *offset = a;
        if (!err)
            execrec_log_debug("%s [%" PRId32 "]: the broker did not resolve time %" PRId64
                              " (its ListOffsets has no time index?); binary search over "
                              "message timestamps gives offset %" PRId64,
                              topic, partition, ts_ms, a);
    }
    rd_kafka_assign(rk, NULL);
    if (err)
        snprintf(errstr, errstr_size,
                 "%s [%" PRId32 "]: cannot read message timestamps to resolve a time", topic,
                 partition);
    return err;
}

int execrec_kafka_answers(rd_kafka_t *rk, int timeout_ms) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (md)
        rd_kafka_metadata_destroy(md);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}
