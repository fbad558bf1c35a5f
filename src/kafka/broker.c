/* The embedded broker, see broker.h. librdkafka attaches a mock cluster to a
 * client handle; a producer handle that never produces is the cheapest host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include "kafka/broker.h"
#include "kafka/kafka.h"

struct execrec_broker_s {
    rd_kafka_t *host;
    rd_kafka_mock_cluster_t *cluster;
    char *bootstraps;
};

execrec_broker_t *execrec_broker_start(int nbrokers, int partitions, const char *const *topics,
                                       int ntopics, char *errstr, size_t errstr_size) {
    if (nbrokers < 1 || partitions < 1) {
        snprintf(errstr, errstr_size,
                 "the embedded broker needs at least one broker and one "
                 "partition per topic");
        return NULL;
    }
    execrec_broker_t *b = calloc(1, sizeof(*b));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!b || !conf) {
        free(b);
        if (conf)
            rd_kafka_conf_destroy(conf);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    /* The host handle logs nothing of interest; keep its own logging quiet. What it
     * and the mock cluster do log (errors, from their own threads: log.h writes a
     * line at once) comes out in execrec's format, not librdkafka's default one. */
    char kerr[256];
    rd_kafka_conf_set_log_cb(conf, execrec_kafka_log_cb);
    if (rd_kafka_conf_set(conf, "log_level", "3", kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK ||
        !(b->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr)))) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, errstr_size, "cannot create the broker's host handle: %s", kerr);
        free(b);
        return NULL;
    }
    if (!(b->cluster = rd_kafka_mock_cluster_new(b->host, nbrokers))) {
        snprintf(errstr, errstr_size, "cannot start librdkafka's mock cluster");
        execrec_broker_stop(b);
        return NULL;
    }
    for (int i = 0; i < ntopics; i++) {
        if (!topics[i] || !*topics[i])
            continue;
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(b->cluster, topics[i], partitions, 1);
        if (err) {
            snprintf(errstr, errstr_size, "cannot create topic %s: %s", topics[i],
                     rd_kafka_err2str(err));
            execrec_broker_stop(b);
            return NULL;
        }
    }
    if (!(b->bootstraps = strdup(rd_kafka_mock_cluster_bootstraps(b->cluster)))) {
        snprintf(errstr, errstr_size, "out of memory");
        execrec_broker_stop(b);
        return NULL;
    }
    return b;
}

const char *execrec_broker_bootstraps(const execrec_broker_t *b) {
    return b->bootstraps;
}

int execrec_broker_set_rebalance_delay(execrec_broker_t *b, int delay_ms) {
#ifdef EXECREC_HAVE_MOCK_REBALANCE_DELAY
    rd_kafka_mock_group_initial_rebalance_delay_ms(b->cluster, delay_ms);
    return delay_ms;
#else
    /* librdkafka before 2.6: a constant in rdkafka_mock_cgrp.c, no call to set it. */
    (void)b, (void)delay_ms;
    return EXECREC_BROKER_REBALANCE_DELAY_MS;
#endif
}

void execrec_broker_stop(execrec_broker_t *b) {
    if (!b)
        return;
    if (b->cluster)
        rd_kafka_mock_cluster_destroy(b->cluster);
    if (b->host)
        rd_kafka_destroy(b->host);
    free(b->bootstraps);
    free(b);
}
