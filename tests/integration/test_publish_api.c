/* The publisher C API (publish.h) against the embedded broker: typed records are
 * validated (bad ones refused with the recorder's reject code, never produced),
 * keyed by their natural key, confirmed by delivery reports, and, consumed back
 * with librdkafka, carry the expected key, partition and payload (JSON text as
 * rendered from the struct; Confluent Avro that our decoder reads back). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include "execrec/arena.h"
#include "execrec/avro.h"
#include "wire/avro_decode.h"
#include "kafka/broker.h"
#include "model/normalise.h"
#include "execrec/publish.h"
#include "testutil.h"

#define MAXMSG 64

typedef struct got_s {
    char topic[32], key[32];
    int partition;
    int64_t offset;
    char *payload;
    size_t len;
} got_t;

typedef struct reports_s {
    got_t msg[MAXMSG];
    int n;
} reports_t;

static void on_delivery(void *opaque, const rd_kafka_message_t *rkm) {
    reports_t *r = opaque;
    ck_assert_int_eq(rkm->err, 0);
    ck_assert_int_lt(r->n, MAXMSG);
    got_t *g = &r->msg[r->n++];
    snprintf(g->topic, sizeof(g->topic), "%s", rd_kafka_topic_name(rkm->rkt));
    snprintf(g->key, sizeof(g->key), "%.*s", (int)rkm->key_len, (const char *)rkm->key);
    g->partition = rkm->partition;
    g->offset = rkm->offset;
}

static const char *const topics[] = {"orders", "order-events", "trades", "order-managers",
                                     "avro-trades"};

/* Consumes every message of topic (4 partitions) from the beginning, until n have
 * arrived (20 s at most). */
static int consume(const char *brokers, const char *topic, got_t *out, int n) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    ck_assert_int_eq(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)),
                     RD_KAFKA_CONF_OK);
    ck_assert_int_eq(
        rd_kafka_conf_set(conf, "group.id", "test_publish_api", errstr, sizeof(errstr)),
        RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    ck_assert_msg(rk, "%s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(4);
    for (int p = 0; p < 4; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    ck_assert_int_eq(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    int got = 0;
    time_t deadline = time(NULL) + 20;
    while (got < n && time(NULL) < deadline) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
        if (!rkm)
            continue;
        if (!rkm->err) {
            got_t *g = &out[got++];
            snprintf(g->topic, sizeof(g->topic), "%s", topic);
            snprintf(g->key, sizeof(g->key), "%.*s", (int)rkm->key_len, (const char *)rkm->key);
            g->partition = rkm->partition;
            g->offset = rkm->offset;
            g->payload = malloc(rkm->len + 1);
            memcpy(g->payload, rkm->payload, rkm->len);
            g->payload[rkm->len] = '\0';
            g->len = rkm->len;
        }
        rd_kafka_message_destroy(rkm);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return got;
}

static const got_t *find(const got_t *msgs, int n, const char *topic, int64_t offset,
                         int partition) {
    for (int i = 0; i < n; i++)
        if (!strcmp(msgs[i].topic, topic) && msgs[i].offset == offset &&
            msgs[i].partition == partition)
            return &msgs[i];
    return NULL;
}

START_TEST(test_typed_json) {
    char errstr[512];
    execrec_broker_t *broker = execrec_broker_start(1, 4, topics, 5, errstr, sizeof(errstr));
    ck_assert_msg(broker, "%s", errstr);
    reports_t reports = {.n = 0};
    execrec_publisher_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    conf.brokers = execrec_broker_bootstraps(broker);
    conf.on_delivery = on_delivery;
    conf.opaque = &reports;
    execrec_publisher_t *pub = execrec_publisher_new(&conf, errstr, sizeof(errstr));
    ck_assert_msg(pub, "%s", errstr);

    static const char *const ids[] = {"O-1", "O-2", "O-3", "O-4", "O-5", "O-6"};
    for (int i = 0; i < 6; i++) {
        execrec_order_t order = {.order_id = ids[i],
                                 .account_uid = "ACC-1",
                                 .asset = "BTC-USD",
                                 .side = "BUY",
                                 .quantity = "0.00000001",
                                 .order_time = "2026-11-03T14:30:00.123456Z",
                                 .limit_price = "123456789.12345678"};
        ck_assert_msg(execrec_publish_order(pub, &order, errstr, sizeof(errstr)) == EXECREC_OK,
                      "%s", errstr);
        execrec_order_event_t ev = {.order_id = ids[i],
                                    .event_type = "filled",
                                    .event_time = "1793716202000",
                                    .sequence = 7,
                                    .has_sequence = 1,
                                    .filled_quantity = "0.00000001"};
        ck_assert_msg(execrec_publish_order_event(pub, &ev, errstr, sizeof(errstr)) == EXECREC_OK,
                      "%s", errstr);
        char tid[16];
        snprintf(tid, sizeof(tid), "T-%d", i + 1);
        execrec_trade_t trade = {.trade_id = tid,
                                 .order_id = ids[i],
                                 .quantity = "0.1",
                                 .price = "67250.50",
                                 .trade_time = "2026-11-03T14:30:01Z",
                                 .fee = "-0.001"};
        ck_assert_msg(execrec_publish_trade(pub, &trade, errstr, sizeof(errstr)) == EXECREC_OK,
                      "%s", errstr);
    }
    execrec_order_manager_t om = {.unique_identifier = "OM-1",
                                  .target_account_uid = "ACC-1",
                                  .target_time = "2026-11-03T14:00:00Z",
                                  .status = "active"};
    ck_assert_int_eq(execrec_publish_order_manager(pub, &om, errstr, sizeof(errstr)), EXECREC_OK);

    /* Refused: never produced, with the recorder's reason. */
    execrec_trade_t neg = {.trade_id = "T-X",
                           .order_id = "O-1",
                           .quantity = "-1",
                           .price = "1",
                           .trade_time = "2026-11-03T14:30:01Z"};
    ck_assert_int_eq(execrec_publish_trade(pub, &neg, errstr, sizeof(errstr)), EXECREC_ERR_REJECT);
    ck_assert_msg(!strncmp(errstr, "non_positive_quantity: ", 23), "%s", errstr);
    execrec_order_t partial = {
        .order_id = "O-9", .account_uid = "A", .asset = "X", .side = "buy", .quantity = "1"};
    ck_assert_int_eq(execrec_publish_order(pub, &partial, errstr, sizeof(errstr)),
                     EXECREC_ERR_REJECT);
    ck_assert_msg(strstr(errstr, "missing_field") && strstr(errstr, "order_time"), "%s", errstr);
    ck_assert_int_eq(
        execrec_publish_json(pub, EXECREC_KIND_TRADE, "{\"trade_id\":", 12, errstr, sizeof(errstr)),
        EXECREC_ERR_REJECT);

    ck_assert_int_eq(execrec_publisher_flush(pub, 30000), EXECREC_OK);
    execrec_publish_stats_t st;
    execrec_publisher_stats(pub, &st);
    ck_assert_int_eq(st.produced, 19);
    ck_assert_int_eq(st.delivered, 19);
    ck_assert_int_eq(st.failed, 0);
    ck_assert_int_eq(st.refused, 3);
    ck_assert_int_eq(reports.n, 19);

    got_t msgs[MAXMSG];
    int n = 0;
    n += consume(conf.brokers, "orders", msgs + n, 6);
    n += consume(conf.brokers, "order-events", msgs + n, 6);
    n += consume(conf.brokers, "trades", msgs + n, 6);
    n += consume(conf.brokers, "order-managers", msgs + n, 1);
    ck_assert_int_eq(n, 19);
    /* Every delivery report matches a consumed message: same key and partition. */
    for (int i = 0; i < reports.n; i++) {
        const got_t *r = &reports.msg[i];
        const got_t *g = find(msgs, n, r->topic, r->offset, r->partition);
        ck_assert_msg(g, "%s [%d] @%lld not consumed", r->topic, r->partition,
                      (long long)r->offset);
        ck_assert_str_eq(g->key, r->key);
    }
    /* One partition per order across the three topics; the orders use more than one. */
    int part_of[6], used = 0;
    for (int o = 0; o < 6; o++) {
        part_of[o] = -1;
        for (int i = 0; i < n; i++) {
            if (strcmp(msgs[i].key, ids[o]))
                continue;
            char want[64];
            snprintf(want, sizeof(want), "\"order_id\":\"%s\"", ids[o]);
            ck_assert_msg(strstr(msgs[i].payload, want), "key %s on %s", ids[o], msgs[i].payload);
            if (part_of[o] < 0)
                part_of[o] = msgs[i].partition;
            ck_assert_int_eq(msgs[i].partition, part_of[o]);
        }
        used |= 1 << part_of[o];
    }
    ck_assert_int_ne(__builtin_popcount(used), 1);
    /* Payloads: the struct rendered as JSON, digits as given. */
    for (int i = 0; i < n; i++) {
        if (!strcmp(msgs[i].topic, "trades") && !strcmp(msgs[i].key, "O-2"))
            ck_assert_str_eq(msgs[i].payload,
                             "{\"trade_id\":\"T-2\",\"order_id\":\"O-2\",\"quantity\":\"0.1\","
                             "\"price\":\"67250.50\",\"trade_time\":\"2026-11-03T14:30:01Z\","
                             "\"fee\":\"-0.001\"}");
        if (!strcmp(msgs[i].topic, "order-events") && !strcmp(msgs[i].key, "O-1"))
            ck_assert_str_eq(msgs[i].payload,
                             "{\"order_id\":\"O-1\",\"event_type\":\"filled\","
                             "\"event_time\":\"1793716202000\",\"filled_quantity\":\"0.00000001\","
                             "\"sequence\":7}");
        if (!strcmp(msgs[i].topic, "order-managers"))
            ck_assert_str_eq(msgs[i].key, "OM-1");
        free(msgs[i].payload);
    }
    execrec_publisher_destroy(pub);
    execrec_broker_stop(broker);
}
END_TEST

/* Avro with an offline registry: Confluent framing with the map's id, read back. */
START_TEST(test_typed_avro) {
    char errstr[512];
    execrec_broker_t *broker = execrec_broker_start(1, 4, topics, 5, errstr, sizeof(errstr));
    ck_assert_msg(broker, "%s", errstr);
    execrec_schemamap_t *reg = execrec_schemamap_new();
    char *map = tu_source_path("schemas/registry.map");
    ck_assert_int_eq(execrec_schemamap_load(reg, map, errstr, sizeof(errstr)), EXECREC_OK);
    free(map);
    execrec_publisher_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    conf.brokers = execrec_broker_bootstraps(broker);
    conf.format = EXECREC_PUBLISH_AVRO;
    conf.offline = reg;
    conf.topic[EXECREC_KIND_TRADE] = "avro-trades";
    execrec_publisher_t *pub = execrec_publisher_new(&conf, errstr, sizeof(errstr));
    ck_assert_msg(pub, "%s", errstr);
    execrec_trade_t trade = {.trade_id = "T-A",
                             .order_id = "O-A",
                             .quantity = "0.1",
                             .price = "123456789.12345678",
                             .trade_time = "2026-11-03T14:30:01.5+01:00",
                             .side = "SELL"};
    ck_assert_msg(execrec_publish_trade(pub, &trade, errstr, sizeof(errstr)) == EXECREC_OK, "%s",
                  errstr);
    ck_assert_int_eq(execrec_publisher_flush(pub, 30000), EXECREC_OK);
    got_t msg;
    ck_assert_int_eq(consume(conf.brokers, "avro-trades", &msg, 1), 1);
    ck_assert_str_eq(msg.key, "O-A");
    ck_assert_uint_gt(msg.len, 5);
    ck_assert_mem_eq(msg.payload, "\0\0\0\0\3", 5);
    execrec_buf_t json = EXECREC_BUF_INIT;
    execrec_reject_t rej;
    ck_assert_int_eq(execrec_avro_confluent_to_json(reg, msg.payload, msg.len, &json, &rej),
                     EXECREC_OK);
    ck_assert_str_eq(
        json.data,
        "{\"trade_id\":\"T-A\",\"order_id\":\"O-A\",\"quantity\":\"0.1\","
        "\"price\":\"123456789.12345678\",\"trade_time\":\"2026-11-03T13:30:01.500000Z\","
        "\"account_uid\":null,\"asset\":null,\"side\":\"SELL\",\"fee\":null,"
        "\"fee_currency\":null,\"liquidity\":null,\"venue\":null}");
    execrec_buf_free(&json);
    free(msg.payload);
    execrec_publisher_destroy(pub);
    execrec_schemamap_destroy(reg);
    execrec_broker_stop(broker);
}
END_TEST

/* Keeps each delivered payload (the JSON each typed struct became). */
static void keep_payload(void *opaque, const rd_kafka_message_t *rkm) {
    json_t *list = opaque;
    ck_assert_int_eq(rkm->err, 0);
    json_t *j = json_loadb(rkm->payload, rkm->len, 0, NULL);
    ck_assert_ptr_nonnull(j);
    json_array_append_new(list, j);
}

/* The typed structs cover the contract: with every field set, the published JSON
 * has exactly the kind's columns (src/record.c) but the derived ones. */
START_TEST(test_typed_cover_contract) {
    char errstr[512];
    execrec_broker_t *broker = execrec_broker_start(1, 4, topics, 5, errstr, sizeof(errstr));
    ck_assert_msg(broker, "%s", errstr);
    json_t *payloads = json_array();
    execrec_publisher_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    conf.brokers = execrec_broker_bootstraps(broker);
    conf.on_delivery = keep_payload;
    conf.opaque = payloads;
    execrec_publisher_t *pub = execrec_publisher_new(&conf, errstr, sizeof(errstr));
    ck_assert_msg(pub, "%s", errstr);
    const char *t = "2026-11-03T14:30:00Z";
    execrec_order_t order = {"O-1", "A",     "X",   "buy", "1", t,   "c",   "OM-1", "s",
                             "v",   "limit", "gtc", "1",   "2", "3", "USD", "new"};
    execrec_order_event_t ev = {"O-1", "filled", t,   "E-1", 1,   1,    "1",
                                "0",   "1",      "r", "why", "p", "V-1"};
    execrec_trade_t trade = {"T-1", "O-1", "1",   "1",   t,       "A",
                             "X",   "buy", "0.1", "USD", "maker", "v"};
    execrec_order_manager_t om = {"OM-1", "A", t, "active", "s", t, t};
    ck_assert_msg(!execrec_publish_order(pub, &order, errstr, sizeof(errstr)), "%s", errstr);
    ck_assert_msg(!execrec_publish_order_event(pub, &ev, errstr, sizeof(errstr)), "%s", errstr);
    ck_assert_msg(!execrec_publish_trade(pub, &trade, errstr, sizeof(errstr)), "%s", errstr);
    ck_assert_msg(!execrec_publish_order_manager(pub, &om, errstr, sizeof(errstr)), "%s", errstr);
    ck_assert_int_eq(execrec_publisher_flush(pub, 30000), EXECREC_OK);
    ck_assert_uint_eq(json_array_size(payloads), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *j = json_array_get(payloads, i);
        execrec_kind_t kind = json_object_get(j, "trade_id")            ? EXECREC_KIND_TRADE
                              : json_object_get(j, "event_type")        ? EXECREC_KIND_ORDER_EVENT
                              : json_object_get(j, "unique_identifier") ? EXECREC_KIND_ORDER_MANAGER
                                                                        : EXECREC_KIND_ORDER;
        int ncols, want = 0;
        const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
        for (int c = 0; c < ncols; c++) {
            if (cols[c].type == EXECREC_COL_DERIVED)
                continue;
            want++;
            ck_assert_msg(json_object_get(j, cols[c].name), "%s: no %s", execrec_kind_name(kind),
                          cols[c].name);
        }
        ck_assert_int_eq(json_object_size(j), want);
    }
    json_decref(payloads);
    execrec_publisher_destroy(pub);
    execrec_broker_stop(broker);
}
END_TEST

/* Bad configurations fail at creation, with a reason. */
START_TEST(test_bad_conf) {
    char errstr[512] = "";
    execrec_publisher_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    ck_assert_ptr_null(execrec_publisher_new(&conf, errstr, sizeof(errstr)));
    ck_assert_str_eq(errstr, "no brokers given");
    execrec_publisher_destroy(NULL);
}
END_TEST

static Suite *publish_api_suite(void) {
    Suite *s = suite_create("publish_api");
    TCase *tc = tcase_create("broker");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_typed_json);
    tcase_add_test(tc, test_typed_avro);
    tcase_add_test(tc, test_typed_cover_contract);
    tcase_add_test(tc, test_bad_conf);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(publish_api_suite)
