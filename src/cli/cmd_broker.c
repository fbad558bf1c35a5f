/* `execrec broker`: the embedded development broker (broker.h) as a process. Prints
 * the bootstrap address as the only line on stdout, so that scripts can read it,
 * and runs until SIGINT/SIGTERM. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "base/sig.h"
#include "kafka/broker.h"
#include "cli/cli.h"
#include "execrec/config.h"
#include "base/log.h"
#include "cli_common.h"

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const broker_keys[] = {"partitions",   "address.file", "topic.orders",
                                          "topic.events", "topic.trades", "topic.managers",
                                          "log.level",    NULL};
/* clang-format on */

int execrec_cli_broker(int argc, char **argv) {
    int rc;
    execrec_broker_t *b = NULL;
    char errstr[512];
    execrec_config_t *conf = cli_begin(
        "broker",
        "Start the embedded development broker: librdkafka's mock cluster, a real\n"
        "Kafka-protocol server on 127.0.0.1 (random port), in memory, gone when this\n"
        "process exits. Creates the four topics with --partitions partitions each,\n"
        "prints the bootstrap address on stdout (and writes it to --address-file), and\n"
        "runs until SIGINT/SIGTERM. kcat, kafka-python and execrec talk to it, consumer\n"
        "groups included. It keeps only the newest 5 MiB (at most 100,000 message\n"
        "sets) of each partition: use enough partitions for your data, and consume\n"
        "while producing. For development, demos and tests; never for production.\n"
        "\n"
        "Consumer groups: a group's first member is answered after 3 s (librdkafka's\n"
        "fixed group.initial.rebalance.delay.ms). When a group's last member leaves,\n"
        "the next one to join waits up to that member's session.timeout.ms less 1 s\n"
        "(44 s with librdkafka's default); one whose own session timeout is shorter than\n"
        "that wait is dropped and hangs until its request times out (5 min). Give every\n"
        "recorder of a group -X session.timeout.ms=6000 against this broker\n"
        "(docs/performance.md, Start-up).",
        broker_keys, argc, argv, NULL, NULL, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_FAIL;
    int64_t partitions = execrec_config_get_int(conf, "partitions");
    if (partitions < 1 || partitions > 1000) {
        fprintf(stderr, "execrec broker: --partitions must be between 1 and 1000\n");
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    const char *topics[EXECREC_KIND__CNT];
    cli_topics(conf, topics);
    volatile execrec_sig_t *stop = cli_stop_signals();
    if (!(b = execrec_broker_start(1, (int)partitions, topics, EXECREC_KIND__CNT, errstr,
                                   sizeof(errstr)))) {
        fprintf(stderr, "execrec broker: %s\n", errstr);
        goto done;
    }
    const char *addr = execrec_broker_bootstraps(b);
    const char *file = execrec_config_get(conf, "address.file");
    if (file) {
        /* Written to a temporary name and renamed, so a reader never sees half. */
        char tmp[4096];
        snprintf(tmp, sizeof(tmp), "%s.tmp", file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", addr) < 0 || fclose(f) != 0 || rename(tmp, file) < 0) {
            fprintf(stderr, "execrec broker: cannot write %s\n", file);
            goto done;
        }
    }
    printf("%s\n", addr);
    fflush(stdout);
    int ntopics = 0;
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        ntopics += topics[k] != NULL;
    execrec_log_info("embedded broker at %s: %d topic(s) of %d partition(s); for development "
                     "and tests only (in memory, newest 5 MiB per partition)",
                     addr, ntopics, (int)partitions);
    while (!*stop)
        usleep(100 * 1000); /* librdkafka's threads may take the signal: poll the flag */
    execrec_log_info("embedded broker stopping: its messages are gone");
    rc = EXECREC_EXIT_OK;
done:
    execrec_broker_stop(b);
    execrec_config_destroy(conf);
    return rc;
}
