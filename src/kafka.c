/* Shared librdkafka set-up and message ingestion, see kafka.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/kafka.h"
#include "execrec/log.h"
#include "execrec/timeutil.h"

int execrec_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        /* librdkafka's reason may quote the value: never for a secret. */
        int secret = strstr(key, "password") || strstr(key, "secret") || strstr(key, ".key");
        execrec_log_error("kafka property %s: %s", key, secret ? "invalid value" : errstr);
        return -1;
    }
    return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    /* Connection failures also reach error_cb, which logs them once, clearly. */
    if (!strcmp(fac, "FAIL"))
        level = 7;
    execrec_log_level_t l = level <= 3   ? EXECREC_LOG_ERROR
                            : level == 4 ? EXECREC_LOG_WARN
                            : level <= 6 ? EXECREC_LOG_INFO
                                         : EXECREC_LOG_DEBUG;
    execrec_log(l, "kafka %s: %s", fac, buf);
}

static int set_pairs(rd_kafka_conf_t *conf, const char *const *kv) {
    for (; kv && kv[0]; kv += 2)
        if (execrec_kafka_conf_set(conf, kv[0], kv[1]) < 0)
            return -1;
    return 0;
}

rd_kafka_conf_t *execrec_kafka_conf_new(const char *brokers, const execrec_config_t *props,
                                        const char *const *defaults, const char *const *required) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        execrec_log_error("out of memory");
        return NULL;
    }
    if (execrec_kafka_conf_set(conf, "client.id", "execrec") < 0 || set_pairs(conf, defaults) < 0)
        goto fail;
    for (int i = 0; props && i < execrec_config_kafka_count(props); i++) {
        const char *k, *v;
        execrec_config_kafka_get(props, i, &k, &v);
        if (execrec_kafka_conf_set(conf, k, v) < 0)
            goto fail;
    }
    if (execrec_kafka_conf_set(conf, "bootstrap.servers", brokers) < 0 ||
        set_pairs(conf, required) < 0)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

int execrec_kafka_log_error(rd_kafka_t *rk, int err, const char *reason) {
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

execrec_err_t execrec_kafka_ingest(execrec_codec_t *codec, execrec_writer_t *writer,
                                   execrec_arena_t *arena, execrec_kind_t kind,
                                   const rd_kafka_message_t *m) {
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    const char *value = m->payload ? (const char *)m->payload : "";
    execrec_msgmeta_t meta = {m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                              m->partition,
                              m->offset,
                              tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts,
                              m->key,
                              m->key_len,
                              value,
                              m->len};
    execrec_record_t rec;
    execrec_reject_t rej;
    execrec_arena_reset(arena);
    execrec_err_t err = execrec_codec_decode(codec, kind, value, m->len, arena, &rec, &rej);
    if (err == EXECREC_OK)
        return execrec_writer_add(writer, &meta, &rec);
    if (err == EXECREC_ERR_REJECT)
        return execrec_writer_add_reject(writer, &meta, value, m->len, &rej);
    return err;
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
