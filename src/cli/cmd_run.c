/* `execrec run`: the recorder daemon. Parses the configuration, starts the
 * embedded broker for --brokers embedded, installs the signal handlers and
 * hands over to execrec_recorder_run (recorder.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kafka/broker.h"
#include "cli/cli.h"
#include "execrec/config.h"
#include "base/log.h"
#include "app/recorder.h"
#include "pg/offsets.h"
#include "cli_common.h"

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const run_keys[] = {
    "brokers",      "group",         "topic.orders",      "topic.events",
    "topic.trades", "topic.managers", "dsn",              "batch.size",
    "batch.ms",     "batch.idle.ms", "exit.at.end",   "stats.interval.ms", "registry",
    "max.message.bytes", "partitions", "log.level",     "registry.map",
    "registry.timeout.ms", "shutdown.timeout", "batch.bytes", "reject.payload.max",
    "metrics.listen", "ready.max.age", "broker.timeout.ms", "writers", NULL};
/* clang-format on */

int execrec_cli_run(int argc, char **argv) {
    cli_codec_t cc = {0};
    cli_metrics_t cm = {0};
    execrec_broker_t *broker = NULL;
    char errstr[512];
    int rc;
    execrec_config_t *conf = cli_begin(
        "run",
        "Record the orders, order-events, trades and order-managers topics into\n"
        "PostgreSQL, exactly once. Messages are decoded (JSON, or Confluent Avro with\n"
        "--registry), collected into batches of --batch-size messages or --batch-ms\n"
        "milliseconds, or until the recorder has caught up (--batch-idle-ms), and each\n"
        "batch is one transaction holding its rows, its rejects\n"
        "and every partition's next offset (a compare-and-set, so a recorder that lost a\n"
        "partition cannot write it). Each partition starts at the offset stored in\n"
        "PostgreSQL, else at Kafka's committed offset, else at auto.offset.reset\n"
        "(default earliest; change it with -X auto.offset.reset=latest). A partition\n"
        "whose start is past the log's end (a recreated topic) is blocked, not consumed,\n"
        "until `execrec offsets reset` (docs/offsets.md); no offset is skipped silently.\n"
        "\n"
        "--brokers embedded starts a broker in-process (librdkafka's in-memory mock\n"
        "cluster, for development and tests). With --exit-at-end, a cluster that does\n"
        "not answer for --broker-timeout-ms is an error (exit 1) naming the last\n"
        "transport error; without it the recorder keeps retrying and says why at WARN.\n"
        "A configured topic the cluster does not have is an error (exit 1).\n"
        "SIGINT/SIGTERM commit the open batch, leave the group and exit 0; if the batch\n"
        "cannot be committed within --shutdown-timeout seconds (PostgreSQL down or\n"
        "refusing it), it is left uncommitted, replayed on the next start, and the exit\n"
        "status is 1. A second signal stops waiting at once. SIGHUP is logged and\n"
        "ignored.",
        run_keys, argc, argv, NULL, NULL, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_FAIL;
    int crc = cli_codec_open(&cc, conf, EXECREC_KIND__CNT, "run");
    if (crc) {
        rc = crc;
        goto done;
    }
    execrec_recorder_conf_t r;
    memset(&r, 0, sizeof(r));
    r.brokers = execrec_config_get(conf, "brokers");
    r.group = execrec_config_get(conf, "group");
    cli_topics(conf, r.topic);
    r.dsn = execrec_config_get(conf, "dsn");
    r.batch_size = execrec_config_get_int(conf, "batch.size");
    r.batch_ms = execrec_config_get_int(conf, "batch.ms");
    r.writers = (int)execrec_config_get_int(conf, "writers");
    if ((rc = cli_batch_limits(conf, "run", &r.batch_bytes, &r.reject_payload_max)))
        goto done;
    rc = EXECREC_EXIT_FAIL;
    r.batch_idle_ms = execrec_config_get_int(conf, "batch.idle.ms");
    r.stats_interval_ms = execrec_config_get_int(conf, "stats.interval.ms");
    r.exit_at_end = execrec_config_get_bool(conf, "exit.at.end");
    r.broker_timeout_ms = execrec_config_get_int(conf, "broker.timeout.ms");
    r.kafka = conf;
    r.codec = cc.codec;
    if (!r.group || !*r.group) {
        fprintf(stderr, "execrec run: --group must not be empty\n");
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        for (int j = 0; j < k; j++)
            if (r.topic[k] && r.topic[j] && !strcmp(r.topic[k], r.topic[j])) {
                fprintf(stderr,
                        "execrec run: topic '%s' is given for two kinds; each kind "
                        "needs its own topic\n",
                        r.topic[k]);
                rc = EXECREC_EXIT_USAGE;
                goto done;
            }
    if (execrec_recorder_check(&r, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec run: %s\n", errstr);
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    if (!r.brokers || !*r.brokers) {
        fprintf(stderr, "execrec run: --brokers is required: HOST:PORT[,...] of the Kafka "
                        "cluster, or 'embedded' for an in-memory broker started in-process "
                        "(development and tests only)\n");
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    if (!strcmp(r.brokers, CLI_BROKERS_EMBEDDED)) {
        int64_t partitions = execrec_config_get_int(conf, "partitions");
        broker = execrec_broker_start(1, (int)partitions, r.topic, EXECREC_KIND__CNT, errstr,
                                      sizeof(errstr));
        if (!broker) {
            fprintf(stderr, "execrec run: %s\n", errstr);
            goto done;
        }
        r.brokers = execrec_broker_bootstraps(broker);
        execrec_log_info("--brokers embedded: started the embedded broker at %s (in memory, "
                         "for development and tests; its messages are gone when execrec exits)",
                         r.brokers);
    }
    if ((r.shutdown_timeout_ms = cli_shutdown_timeout(conf, "run")) < 0) {
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    /* The recorder's PostgreSQL sessions carry the group in application_name, so
     * that `execrec offsets reset` sees a recorder of the group connected. */
    char app[64];
    execrec_offsets_app_name(r.group, app, sizeof(app));
    setenv("PGAPPNAME", app, 1);
    r.stop = cli_stop_signals();
    if ((rc = cli_metrics_start(&cm, conf, "run")) != EXECREC_EXIT_OK)
        goto done;
    rc = EXECREC_EXIT_FAIL;
    r.telemetry = cm.telemetry;
    r.signo = cli_last_signal();
    r.hup = cli_hup_signals();
    char why[1024];
    if (execrec_recorder_run(&r, why, sizeof(why))) {
        execrec_log_error("%s", why);
        goto done;
    }
    rc = EXECREC_EXIT_OK;
done:
    cli_metrics_stop(&cm);
    execrec_broker_stop(broker);
    cli_codec_close(&cc);
    execrec_config_destroy(conf);
    return rc;
}
