/* Unit tests for metrics.c (the registry and its Prometheus text exposition) and for
 * telemetry.c's health rules: exact texts, escaping, cumulative buckets, numbers, and
 * a reader formatting while a writer updates. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "app/telemetry.h"
#include "base/metrics.h"
#include "testutil.h"

static char *format(execrec_metrics_t *reg) {
    size_t len = 0;
    char *text = execrec_metrics_format(reg, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(strlen(text), len);
    return text;
}

START_TEST(test_counter_gauge_text) {
    execrec_metrics_t *reg = execrec_metrics_new();
    execrec_metric_t *c = execrec_metrics_add(reg, EXECREC_METRIC_COUNTER, "x_messages_total",
                                              "messages, by topic", "topic", NULL, 0);
    execrec_metric_t *g =
        execrec_metrics_add(reg, EXECREC_METRIC_GAUGE, "x_up", "1 when up", NULL, NULL, 0);
    execrec_metric_t *lag =
        execrec_metrics_add(reg, EXECREC_METRIC_GAUGE, "x_lag", "lag", "topic,partition", NULL, 0);
    execrec_metric_add(c, 2, "trades");
    execrec_metric_add(c, 1, "orders");
    execrec_metric_add(c, 3, "trades");
    execrec_metric_set(lag, 7, "trades", "0");
    execrec_metric_set(lag, 9, "trades", "0");
    char *text = format(reg);
    ck_assert_str_eq(text, "# HELP x_messages_total messages, by topic\n"
                           "# TYPE x_messages_total counter\n"
                           "x_messages_total{topic=\"trades\"} 5\n"
                           "x_messages_total{topic=\"orders\"} 1\n"
                           "# HELP x_up 1 when up\n"
                           "# TYPE x_up gauge\n"
                           "x_up 0\n"
                           "# HELP x_lag lag\n"
                           "# TYPE x_lag gauge\n"
                           "x_lag{topic=\"trades\",partition=\"0\"} 9\n");
    free(text);
    ck_assert(execrec_metric_get(c, "trades") == 5);
    ck_assert(execrec_metric_get(c, "nowhere") == 0);
    ck_assert(execrec_metric_sum(c) == 6);
    execrec_metric_set(g, 1);
    ck_assert(execrec_metric_get(g) == 1);
    /* clear drops a labelled family's series, zeroes an unlabelled one */
    execrec_metric_clear(lag);
    execrec_metric_clear(g);
    text = format(reg);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE x_lag gauge\n"));
    ck_assert_ptr_null(strstr(text, "x_lag{"));
    ck_assert_ptr_nonnull(strstr(text, "\nx_up 0\n"));
    free(text);
    /* a NULL family is metrics off: nothing happens */
    execrec_metric_add(NULL, 1, "x");
    execrec_metric_set(NULL, 1);
    ck_assert(execrec_metric_get(NULL) == 0);
    execrec_metrics_destroy(reg);
}
END_TEST

START_TEST(test_escaping_and_numbers) {
    execrec_metrics_t *reg = execrec_metrics_new();
    execrec_metric_t *g = execrec_metrics_add(reg, EXECREC_METRIC_GAUGE, "x_value",
                                              "a \\ backslash\nand a newline", "v", NULL, 0);
    execrec_metric_set(g, 0.25, "quote \" back \\ nl \n end");
    execrec_metric_set(g, 1796420315.909, "time");
    execrec_metric_set(g, 1e20, "big");
    execrec_metric_set(g, -3, "negative");
    execrec_metric_set(g, 0.1 + 0.2, "inexact");
    char *text = format(reg);
    ck_assert_str_eq(text, "# HELP x_value a \\\\ backslash\\nand a newline\n"
                           "# TYPE x_value gauge\n"
                           "x_value{v=\"quote \\\" back \\\\ nl \\n end\"} 0.25\n"
                           "x_value{v=\"time\"} 1796420315.909\n"
                           "x_value{v=\"big\"} 1e+20\n"
                           "x_value{v=\"negative\"} -3\n"
                           "x_value{v=\"inexact\"} 0.30000000000000004\n");
    free(text);
    execrec_metrics_destroy(reg);
}
END_TEST

START_TEST(test_histogram_text) {
    static const double buckets[] = {0.1, 1, 10};
    execrec_metrics_t *reg = execrec_metrics_new();
    execrec_metric_t *h = execrec_metrics_add(reg, EXECREC_METRIC_HISTOGRAM, "x_seconds",
                                              "durations", NULL, buckets, 3);
    execrec_metric_t *hl =
        execrec_metrics_add(reg, EXECREC_METRIC_HISTOGRAM, "x_rows", "rows", "kind", buckets, 3);
    /* an observation equal to a bound falls in that bucket (le: less or equal) */
    const double v[] = {0.05, 0.1, 0.5, 1, 2, 100};
    execrec_metric_observe(h, v, 6);
    execrec_metric_observe(h, v, 0);
    const double one = 3;
    execrec_metric_observe(hl, &one, 1, "trade");
    char *text = format(reg);
    ck_assert_str_eq(text, "# HELP x_seconds durations\n"
                           "# TYPE x_seconds histogram\n"
                           "x_seconds_bucket{le=\"0.1\"} 2\n"
                           "x_seconds_bucket{le=\"1\"} 4\n"
                           "x_seconds_bucket{le=\"10\"} 5\n"
                           "x_seconds_bucket{le=\"+Inf\"} 6\n"
                           "x_seconds_sum 103.65\n"
                           "x_seconds_count 6\n"
                           "# HELP x_rows rows\n"
                           "# TYPE x_rows histogram\n"
                           "x_rows_bucket{kind=\"trade\",le=\"0.1\"} 0\n"
                           "x_rows_bucket{kind=\"trade\",le=\"1\"} 0\n"
                           "x_rows_bucket{kind=\"trade\",le=\"10\"} 1\n"
                           "x_rows_bucket{kind=\"trade\",le=\"+Inf\"} 1\n"
                           "x_rows_sum{kind=\"trade\"} 3\n"
                           "x_rows_count{kind=\"trade\"} 1\n");
    free(text);
    ck_assert(execrec_metric_get(h) == 6);
    execrec_metrics_destroy(reg);
}
END_TEST

/* A reader formats while a writer adds: every text is whole, and the last one holds
 * every add (under ASan/TSan-free builds this also catches a race on the series
 * list, which appends while the reader walks it). */
typedef struct race_s {
    execrec_metric_t *c;
    int n;
} race_t;

static void *writer_thread(void *arg) {
    race_t *r = arg;
    char topic[16];
    for (int i = 0; i < r->n; i++) {
        snprintf(topic, sizeof(topic), "t%d", i % 50);
        execrec_metric_add(r->c, 1, topic);
    }
    return NULL;
}

START_TEST(test_concurrent_reader) {
    execrec_metrics_t *reg = execrec_metrics_new();
    race_t r = {
        execrec_metrics_add(reg, EXECREC_METRIC_COUNTER, "x_total", "adds", "topic", NULL, 0),
        20000};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, writer_thread, &r), 0);
    for (int i = 0; i < 200; i++) {
        char *text = format(reg);
        ck_assert_ptr_nonnull(strstr(text, "# TYPE x_total counter\n"));
        free(text);
    }
    pthread_join(th, NULL);
    ck_assert(execrec_metric_sum(r.c) == 20000);
    ck_assert(execrec_metric_get(r.c, "t7") == 400);
    execrec_metrics_destroy(reg);
}
END_TEST

/* ---- telemetry: the named metrics and the health rules ----------------------------- */

START_TEST(test_telemetry_ready_rules) {
    execrec_telemetry_t *t = execrec_telemetry_new(0); /* any commit is too old */
    char why[256];
    ck_assert_int_eq(execrec_telemetry_healthy(t, why, sizeof(why)), 1);
    ck_assert_int_eq(execrec_telemetry_ready(t, why, sizeof(why)), 0);
    ck_assert_str_eq(why, "no partitions assigned");
    execrec_telemetry_assigned(t, 4);
    ck_assert_int_eq(execrec_telemetry_ready(t, why, sizeof(why)), 0);
    ck_assert_str_eq(why, "PostgreSQL unreachable");
    execrec_telemetry_pg_up(t, 1);
    ck_assert_int_eq(execrec_telemetry_ready(t, why, sizeof(why)), 1); /* nothing to do */
    execrec_telemetry_lag_total(t, 10);
    struct timespec ms = {0, 5 * 1000 * 1000};
    nanosleep(&ms, NULL);
    ck_assert_int_eq(execrec_telemetry_ready(t, why, sizeof(why)), 0);
    ck_assert_ptr_nonnull(strstr(why, "with a lag of 10 messages"));
    execrec_telemetry_destroy(t);

    t = execrec_telemetry_new(60000);
    execrec_telemetry_assigned(t, 1);
    execrec_telemetry_pg_up(t, 1);
    execrec_telemetry_lag_total(t, 10);
    ck_assert_int_eq(execrec_telemetry_ready(t, why, sizeof(why)), 1); /* assigned just now */
    execrec_telemetry_pg_up(t, 0);
    ck_assert_int_eq(execrec_telemetry_ready(t, why, sizeof(why)), 0);
    execrec_telemetry_destroy(t);
}
END_TEST

START_TEST(test_telemetry_committed) {
    execrec_telemetry_t *t = execrec_telemetry_new(60000);
    execrec_telemetry_batch_t tb = {0};
    execrec_writer_stats_t st;
    memset(&st, 0, sizeof(st));
    st.messages = 6;
    st.inserted[EXECREC_KIND_TRADE] = 3;
    st.inserted[EXECREC_KIND_ORDER_MANAGER] = 2; /* one of them an update */
    st.updated[EXECREC_KIND_ORDER_MANAGER] = 1;
    st.refused[EXECREC_KIND_TRADE] = 1;
    st.nreasons = 2;
    snprintf(st.reasons[0].code, sizeof(st.reasons[0].code), "json_syntax");
    st.reasons[0].n = 2;
    snprintf(st.reasons[1].code, sizeof(st.reasons[1].code), "pg_refused");
    st.reasons[1].n = 1;
    execrec_telemetry_added(t, &tb, 1000, 1);
    execrec_telemetry_added(t, &tb, -1, 0); /* no timestamp: no latency */
    execrec_telemetry_added(t, &tb, 2000, 0);
    execrec_telemetry_committed(t, &tb, &st, 0.02);
    size_t len;
    char *text = execrec_telemetry_format(t, &len);
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_rows_inserted_total{kind=\"trade\"} 3\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "\nexecrec_rows_inserted_total{kind=\"order_manager\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_rows_updated_total{kind=\"order_manager\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_rows_refused_total{kind=\"trade\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_rejects_total{reason=\"json_syntax\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_rejects_total{reason=\"pg_refused\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_batches_committed_total 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_batch_rows_sum 6\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_end_to_end_latency_seconds_count 2\n"));
    /* 1970 timestamps: both latencies are over an hour */
    ck_assert_ptr_nonnull(
        strstr(text, "\nexecrec_end_to_end_latency_seconds_bucket{le=\"3600\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_postgres_up 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nexecrec_build_info{version=\"" EXECREC_VERSION "\","));
    free(text);
    execrec_telemetry_batch_free(&tb);
    execrec_telemetry_destroy(t);
}
END_TEST

Suite *metrics_suite(void);

Suite *metrics_suite(void) {
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("exposition");
    tcase_add_test(tc, test_counter_gauge_text);
    tcase_add_test(tc, test_escaping_and_numbers);
    tcase_add_test(tc, test_histogram_text);
    tcase_add_test(tc, test_concurrent_reader);
    suite_add_tcase(s, tc);
    tc = tcase_create("telemetry");
    tcase_add_test(tc, test_telemetry_ready_rules);
    tcase_add_test(tc, test_telemetry_committed);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(metrics_suite)
