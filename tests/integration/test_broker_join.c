/* The embedded broker's group initial rebalance delay (broker.h): the delay that
 * execrec_broker_set_rebalance_delay reports is the one a group's first member
 * waits. Asked for 0, it is 0 with librdkafka 2.6 or later and stays 3 s before
 * (Debian 12's 2.0.2: the first join then takes 3 s, which this test pays). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include "kafka/broker.h"
#include "base/timeutil.h"
#include "testutil.h"

static const char *const topics[] = {"join-t"};

/* Milliseconds from subscribing to the first assignment of a new group's only
 * member (at most 20 s). */
static int64_t first_join_ms(const char *brokers) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    ck_assert_int_eq(rd_kafka_conf_set(conf, "group.id", "join-g", errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    ck_assert_msg(rk, "%s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topics[0], RD_KAFKA_PARTITION_UA);
    int64_t t0 = execrec_time_monotonic_ms(), took = -1;
    ck_assert_int_eq(rd_kafka_subscribe(rk, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    while (took < 0 && execrec_time_monotonic_ms() - t0 < 20000) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 10);
        if (m)
            rd_kafka_message_destroy(m);
        rd_kafka_topic_partition_list_t *a = NULL;
        ck_assert_int_eq(rd_kafka_assignment(rk, &a), 0);
        if (a->cnt > 0)
            took = execrec_time_monotonic_ms() - t0;
        rd_kafka_topic_partition_list_destroy(a);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return took;
}

START_TEST(test_first_join_waits_the_delay_in_force) {
    char errstr[512];
    execrec_broker_t *broker = execrec_broker_start(1, 2, topics, 1, errstr, sizeof(errstr));
    ck_assert_msg(broker, "%s", errstr);
    int delay = execrec_broker_set_rebalance_delay(broker, 0);
    ck_assert_int_eq(delay,
                     rd_kafka_version() >= 0x02060000 ? 0 : EXECREC_BROKER_REBALANCE_DELAY_MS);
    int64_t took = first_join_ms(execrec_broker_bootstraps(broker));
    ck_assert_msg(took >= delay && took < delay + 2000,
                  "the first member was assigned after %lld ms; the delay in force is %d ms",
                  (long long)took, delay);
    execrec_broker_stop(broker);
}
END_TEST

static Suite *broker_join_suite(void) {
    Suite *s = suite_create("broker_join");
    TCase *tc = tcase_create("join");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_first_join_waits_the_delay_in_force);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(broker_join_suite)
