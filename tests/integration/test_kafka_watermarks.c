/* execrec_kafka_watermarks (kafka.h) against the embedded broker: the low and high
 * watermarks of many partitions asked for at once are exactly what
 * rd_kafka_query_watermark_offsets answers one partition at a time, including a
 * partition whose log start moved (the broker keeps only its newest 5 MiB); a
 * partition the broker does not have is an error that names it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "kafka/broker.h"
#include "kafka/kafka.h"
#include "testutil.h"

#define NPART 8
#define BIG (600 * 1024) /* 12 of them are 7 MiB: the oldest go */

static const char *const topics[] = {"wm-a", "wm-b"};

/* How many messages partition p of topic t gets: all different, some none. */
static int produced(int t, int p) {
    return t == 0 ? p * 3 : (p == 0 ? 12 : NPART - 1 - p);
}

static rd_kafka_t *client(rd_kafka_type_t type, const char *brokers) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    ck_assert_msg(rk, "%s", errstr);
    return rk;
}

static void produce_all(const char *brokers) {
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, brokers);
    char *big = calloc(1, BIG);
    ck_assert_ptr_nonnull(big);
    for (int t = 0; t < 2; t++)
        for (int p = 0; p < NPART; p++)
            for (int i = 0; i < produced(t, p); i++) {
                int large = t == 1 && p == 0;
                char one[] = "x", *value = large ? big : one;
                size_t len = large ? BIG : 1;
                rd_kafka_resp_err_t err =
                    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topics[t]), RD_KAFKA_V_PARTITION(p),
                                      RD_KAFKA_V_VALUE(value, len),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                ck_assert_int_eq(err, 0);
                if (large) /* one message set each, so that the oldest can go */
                    ck_assert_int_eq(rd_kafka_flush(rk, 10000), 0);
            }
    ck_assert_int_eq(rd_kafka_flush(rk, 10000), 0);
    free(big);
    rd_kafka_destroy(rk);
}

START_TEST(test_all_partitions_at_once) {
    char errstr[512];
    execrec_broker_t *broker = execrec_broker_start(1, NPART, topics, 2, errstr, sizeof(errstr));
    ck_assert_msg(broker, "%s", errstr);
    const char *brokers = execrec_broker_bootstraps(broker);
    produce_all(brokers);
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, brokers);

    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2 * NPART);
    for (int t = 0; t < 2; t++)
        for (int p = NPART - 1; p >= 0; p--) /* not in the broker's order */
            rd_kafka_topic_partition_list_add(l, topics[t], p)->offset = 1234;
    int64_t lo[2 * NPART], hi[2 * NPART];
    ck_assert_int_eq(execrec_kafka_watermarks(rk, l, lo, hi, 10000, errstr, sizeof(errstr)),
                     EXECREC_OK);
    int moved = 0;
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &l->elems[i];
        ck_assert_int_eq(e->offset, 1234); /* the caller's list is left as it was */
        int t = strcmp(e->topic, topics[0]) ? 1 : 0;
        int64_t want_lo, want_hi;
        ck_assert_int_eq(
            rd_kafka_query_watermark_offsets(rk, e->topic, e->partition, &want_lo, &want_hi, 10000),
            0);
        ck_assert_msg(lo[i] == want_lo && hi[i] == want_hi,
                      "%s [%d]: %lld..%lld, one by one %lld..%lld", e->topic, (int)e->partition,
                      (long long)lo[i], (long long)hi[i], (long long)want_lo, (long long)want_hi);
        ck_assert_int_eq(hi[i], produced(t, (int)e->partition));
        moved += lo[i] > 0;
    }
    ck_assert_int_eq(moved, 1); /* wm-b [0]: its oldest messages are gone */

    rd_kafka_topic_partition_list_t *none = rd_kafka_topic_partition_list_new(0);
    ck_assert_int_eq(execrec_kafka_watermarks(rk, none, lo, hi, 10000, errstr, sizeof(errstr)),
                     EXECREC_OK);
    rd_kafka_topic_partition_list_destroy(none);

    rd_kafka_topic_partition_list_add(l, "wm-a", 99);
    int64_t lo2[2 * NPART + 1], hi2[2 * NPART + 1];
    errstr[0] = '\0';
    ck_assert_int_eq(execrec_kafka_watermarks(rk, l, lo2, hi2, 2000, errstr, sizeof(errstr)),
                     EXECREC_ERR_KAFKA);
    ck_assert_msg(strstr(errstr, "wm-a [99]"), "the error names the partition: %s", errstr);

    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    execrec_broker_stop(broker);
}
END_TEST

static Suite *kafka_watermarks_suite(void) {
    Suite *s = suite_create("kafka_watermarks");
    TCase *tc = tcase_create("watermarks");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_all_partitions_at_once);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(kafka_watermarks_suite)
