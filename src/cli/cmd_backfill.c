/* `execrec backfill`: replay a range of one or more topics into the tables. Parses
 * and checks the request (topics and their kinds, partitions, offsets, times), then
 * hands over to execrec_backfill_run (backfill.h) and prints the summary. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "app/backfill.h"
#include "cli/cli.h"
#include "execrec/config.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "kafka/kafka.h"
#include "cli_common.h"

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const backfill_keys[] = {
    "brokers",      "topic",        "kind",           "partition",    "from.offset",
    "to.offset",    "from.time",    "to.time",        "dsn",          "topic.orders",
    "topic.events", "topic.trades", "topic.managers", "format",       "avro.schema",
    "registry",     "max.message.bytes", "batch.size", "batch.ms",    "stats.interval.ms",
    "log.level",    "shutdown.timeout", "batch.bytes",  "reject.payload.max",
    "metrics.listen", "ready.max.age", "broker.timeout.ms", "registry.map",
    "registry.timeout.ms", NULL};
/* clang-format on */

/* Splits a comma list into *items (pointers into the copy *buf, which the caller
 * frees). @returns the count, or -1 out of memory. */
static int split_list(const char *s, char **buf, char ***items) {
    *items = NULL;
    if (!(*buf = strdup(s ? s : "")))
        return -1;
    int n = 0;
    for (char *tok = strtok(*buf, ","); tok; tok = strtok(NULL, ",")) {
        char **grown = realloc(*items, sizeof(char *) * (size_t)(n + 1));
        if (!grown)
            return -1;
        *items = grown;
        while (*tok == ' ')
            tok++;
        (*items)[n++] = tok;
    }
    return n;
}

/* An RFC 3339 time or an epoch (digits: milliseconds for today's dates; see
 * timeutil.h for how the unit follows the magnitude) -> epoch milliseconds. */
static int parse_time(const char *s, const char *flag, int64_t *ms) {
    int64_t us;
    execrec_reject_t rej;
    if (execrec_time_parse_text(s, strlen(s), &us, &rej) != EXECREC_OK) {
        fprintf(stderr,
                "execrec backfill: %s '%s' is not a time (RFC 3339 with a zone, e.g. "
                "2026-11-03T14:00:00Z, or epoch milliseconds)\n",
                flag, s);
        return -1;
    }
    *ms = us / 1000;
    return 0;
}

static int64_t opt_int(const execrec_config_t *conf, const char *key) {
    return execrec_config_get(conf, key) ? execrec_config_get_int(conf, key)
                                         : EXECREC_BACKFILL_UNSET;
}

static void print_summary(const execrec_backfill_result_t *res) {
    int64_t ins, dup;
    execrec_writer_stats_sum(&res->stats, &ins, &dup);
    printf("backfill: read %" PRId64 " messages (%" PRId64 " offsets in %" PRId64
           " partitions), inserted %" PRId64 " (orders %" PRId64 ", order events %" PRId64
           ", trades %" PRId64 ", order managers %" PRId64 "), duplicates %" PRId64
           ", rejected %" PRId64 " (%" PRId64 " already recorded)%s\n",
           res->read, res->requested, res->partitions, ins, res->stats.inserted[EXECREC_KIND_ORDER],
           res->stats.inserted[EXECREC_KIND_ORDER_EVENT], res->stats.inserted[EXECREC_KIND_TRADE],
           res->stats.inserted[EXECREC_KIND_ORDER_MANAGER], dup, res->stats.rejected,
           res->stats.rejects_duplicate,
           res->interrupted ? "; interrupted before the end of the range" : "");
}

int execrec_cli_backfill(int argc, char **argv) {
    cli_codec_t cc = {0};
    cli_metrics_t cm = {0};
    char *topic_buf = NULL, **topic_items = NULL, *part_buf = NULL, **part_items = NULL;
    execrec_kind_t *kinds = NULL;
    int32_t *parts = NULL;
    char errstr[2048];
    int rc;
    execrec_config_t *conf =
        cli_begin("backfill",
                  "Replay a range of one or more topics into the tables, with the recorder's\n"
                  "decoder and batch writer: rows already recorded are counted as duplicates\n"
                  "(natural keys), so a backfill can be run again, and over a range the recorder\n"
                  "also records, without recording anything twice. The range is [from, to) in\n"
                  "each partition: --to-offset and --to-time are EXCLUSIVE (the message at\n"
                  "--to-offset, and any message stamped at or after --to-time, is not replayed).\n"
                  "Without a from, each partition starts at its oldest message; without a to, it\n"
                  "stops at its end as of the start. Times are Kafka message timestamps, resolved\n"
                  "to offsets per partition. The partitions are assigned directly, never as a\n"
                  "consumer group: nothing is committed to Kafka and execution.ingest_offsets is\n"
                  "not touched, so the live recorder's positions do not move.\n"
                  "\n"
                  "A range that is no longer on the broker (retention deleted it) is an error\n"
                  "naming the offsets the broker has, before anything is written. Progress: a bar\n"
                  "on a terminal, else a log line every --stats-interval-ms. SIGINT/SIGTERM write\n"
                  "the open batch and stop (exit 1: the range is not complete; running the same\n"
                  "command again finishes it). A cluster that does not answer for\n"
                  "--broker-timeout-ms is an error naming its last transport error. Exit 0 when\n"
                  "the whole range was replayed.",
                  backfill_keys, argc, argv, NULL, NULL, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_USAGE;

    execrec_backfill_conf_t bc;
    memset(&bc, 0, sizeof(bc));
    bc.brokers = execrec_config_get(conf, "brokers");
    bc.dsn = execrec_config_get(conf, "dsn");
    bc.kafka = conf;
    if (!bc.brokers || !*bc.brokers) {
        fprintf(stderr, "execrec backfill: --brokers is required (the topics to replay are on "
                        "a Kafka cluster)\n");
        goto done;
    }
    /* auto.offset.reset=error: a range that retention deletes is an error, never a
     * silent jump (backfill.c). */
    static const char *const owned[] = {
        "auto.offset.reset", "backfill reads exactly the range asked for (--from-*, --to-*)", NULL};
    if (execrec_kafka_check_props(conf, owned, RD_KAFKA_CONSUMER, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec backfill: %s\n", errstr);
        goto done;
    }
    int ntopics = split_list(execrec_config_get(conf, "topic"), &topic_buf, &topic_items);
    if (ntopics < 0)
        goto oom;
    if (ntopics == 0) {
        fprintf(stderr, "execrec backfill: --topic is required\n");
        goto done;
    }
    if (!(kinds = calloc((size_t)ntopics, sizeof(*kinds))))
        goto oom;
    execrec_kind_t given;
    int have_kind = execrec_config_get(conf, "kind") != NULL;
    if (have_kind && cli_parse_kind(conf, "backfill", &given))
        goto done;
    const char *configured[EXECREC_KIND__CNT];
    cli_topics(conf, configured);
    for (int t = 0; t < ntopics; t++) {
        for (int u = 0; u < t; u++)
            if (!strcmp(topic_items[u], topic_items[t])) {
                fprintf(stderr, "execrec backfill: topic '%s' is given twice\n", topic_items[t]);
                goto done;
            }
        if (have_kind)
            kinds[t] = given;
        else if (execrec_kind_for_topic(configured, topic_items[t], &kinds[t]) < 0) {
            fprintf(stderr,
                    "execrec backfill: topic '%s' is not one of the configured topics "
                    "(--topic-orders, --topic-events, --topic-trades, "
                    "--topic-managers): give its --kind\n",
                    topic_items[t]);
            goto done;
        }
    }
    bc.topics = (const char *const *)topic_items;
    bc.kinds = kinds;
    bc.ntopics = ntopics;

    if (execrec_config_get(conf, "partition")) {
        int n = split_list(execrec_config_get(conf, "partition"), &part_buf, &part_items);
        if (n < 0 || !(parts = calloc((size_t)n + 1, sizeof(*parts))))
            goto oom;
        for (int i = 0; i < n; i++) {
            char *end;
            errno = 0;
            long v = strtol(part_items[i], &end, 10);
            if (errno || *end || end == part_items[i] || v < 0 || v > INT32_MAX) {
                fprintf(stderr, "execrec backfill: --partition '%s' is not a partition number\n",
                        part_items[i]);
                goto done;
            }
            parts[i] = (int32_t)v;
        }
        bc.partitions = parts;
        bc.npartitions = n;
    }
    bc.from_offset = opt_int(conf, "from.offset");
    bc.to_offset = opt_int(conf, "to.offset");
    bc.from_time_ms = bc.to_time_ms = EXECREC_BACKFILL_UNSET;
    const char *from_time = execrec_config_get(conf, "from.time");
    const char *to_time = execrec_config_get(conf, "to.time");
    if ((from_time && parse_time(from_time, "--from-time", &bc.from_time_ms) < 0) ||
        (to_time && parse_time(to_time, "--to-time", &bc.to_time_ms) < 0))
        goto done;
    if ((from_time && bc.from_offset != EXECREC_BACKFILL_UNSET) ||
        (to_time && bc.to_offset != EXECREC_BACKFILL_UNSET)) {
        fprintf(stderr, "execrec backfill: give a bound as an offset or as a time, not both\n");
        goto done;
    }
    bc.batch_size = execrec_config_get_int(conf, "batch.size");
    bc.batch_ms = execrec_config_get_int(conf, "batch.ms");
    if (cli_batch_limits(conf, "backfill", &bc.batch_bytes, &bc.reject_payload_max))
        goto done;
    bc.stats_interval_ms = execrec_config_get_int(conf, "stats.interval.ms");
    bc.broker_timeout_ms = execrec_config_get_int(conf, "broker.timeout.ms");
    bc.progress_bar = isatty(STDERR_FILENO);
    int crc = cli_codec_open(&cc, conf, have_kind ? given : EXECREC_KIND__CNT, "backfill");
    if (crc) {
        rc = crc;
        goto done;
    }
    bc.codec = cc.codec;
    if ((bc.shutdown_timeout_ms = cli_shutdown_timeout(conf, "backfill")) < 0) {
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    bc.stop = cli_stop_signals();
    if ((rc = cli_metrics_start(&cm, conf, "backfill")) != EXECREC_EXIT_OK)
        goto done;
    rc = EXECREC_EXIT_USAGE;
    bc.telemetry = cm.telemetry;

    execrec_backfill_result_t res;
    execrec_err_t err = execrec_backfill_run(&bc, &res, errstr, sizeof(errstr));
    if (err == EXECREC_ERR_INVALID || err == EXECREC_ERR_NOTFOUND) {
        fprintf(stderr, "execrec backfill: %s\n", errstr);
        goto done;
    }
    rc = EXECREC_EXIT_FAIL;
    if (err == EXECREC_OK || res.read > 0)
        print_summary(&res);
    if (err) {
        fprintf(stderr, "execrec backfill: %s\n", errstr);
        goto done;
    }
    rc = res.interrupted ? EXECREC_EXIT_FAIL : EXECREC_EXIT_OK;
    goto done;
oom:
    fprintf(stderr, "execrec backfill: out of memory\n");
    rc = EXECREC_EXIT_FAIL;
done:
    cli_metrics_stop(&cm);
    cli_codec_close(&cc);
    free(topic_buf);
    free(topic_items);
    free(part_buf);
    free(part_items);
    free(kinds);
    free(parts);
    execrec_config_destroy(conf);
    return rc;
}
