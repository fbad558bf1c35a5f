/* `execrec publish`: JSON lines from files or stdin, validated against the
 * contract and produced to Kafka as JSON or Confluent Avro, keyed by the natural
 * key. A thin loop over the publisher API (publish.h), which applications use too. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/sig.h"
#include "cli/cli.h"
#include "execrec/config.h"
#include "base/log.h"
#include "execrec/publish.h"
#include "kafka/kafka.h"
#include "cli_common.h"

/* The flush waits for every delivery report: each comes within message.timeout.ms
 * (--broker-timeout-ms), so this is only a guard. */
#define FLUSH_TIMEOUT_MS(timeout) ((timeout) + 60000)

static const char publish_summary[] =
    "Reads JSON lines (one record per line; stdin when no FILE or FILE is '-'),\n"
    "validates each against the message contract of its kind with the recorder's own\n"
    "normaliser (a line passes only if execrec would record it), and produces it to\n"
    "Kafka with its natural key as message key: order_id for orders, order events and\n"
    "trades, unique_identifier for order managers, so that all messages of one order\n"
    "share a partition. The producer is idempotent and every delivery is confirmed\n"
    "before exit.\n"
    "\n"
    "The kind is --kind, or the kind whose --topic-* key names --topic. The topic is\n"
    "--topic, or that kind's --topic-* key. --format json (the default) produces each\n"
    "line as given; --format avro produces the Confluent wire format (magic byte 0,\n"
    "schema id, Avro binary of the kind's schema in schemas/, built in). The schema id\n"
    "comes from --registry URL (the schema is registered under the subject\n"
    "\"<topic>-value\") or from a registry map file listing the schema.\n"
    "\n"
    "A line that breaks the contract is reported on stderr as FILE:LINE: reason and\n"
    "not produced; empty lines are skipped. A summary goes to stderr at the end.\n"
    "--brokers is required: `execrec broker` starts an embedded development broker\n"
    "and prints its address. A message not delivered within --broker-timeout-ms\n"
    "fails, and the error names the cluster's last transport error.\n"
    "Exit status: 0 when every line was produced and\n"
    "delivered, 1 when a line was refused or a delivery failed, 2 on misuse.";

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const publish_keys[] = {"brokers",
                                           "kind",
                                           "topic",
                                           "format",
                                           "registry",
                                           "registry.map",
                                           "registry.timeout.ms",
                                           "topic.orders",
                                           "topic.events",
                                           "topic.trades",
                                           "topic.managers",
                                           "log.level",
                                           "broker.timeout.ms",
                                           NULL};
/* clang-format on */

typedef struct pub_run_s {
    execrec_publisher_t *pub;
    execrec_kind_t kind;
    long read;
    volatile execrec_sig_t *stop;
} pub_run_t;

/* Publishes every line of in. @returns 0, or -1 when in could not be read. */
static int publish_stream(pub_run_t *run, FILE *in, const char *name) {
    char *line = NULL, errstr[512];
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while (!*run->stop && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        if (len == 0)
            continue;
        run->read++;
        if (execrec_publish_json(run->pub, run->kind, line, len, errstr, sizeof(errstr)))
            fprintf(stderr, "execrec publish: %s:%ld: %s\n", name, lineno, errstr);
    }
    int rc = 0;
    if (ferror(in) && !*run->stop) { /* a signal interrupts a read: not an error */
        fprintf(stderr, "execrec publish: reading %s: %s\n", name, strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

static int publish_input(FILE *in, const char *file, void *opaque) {
    return publish_stream(opaque, in, file && strcmp(file, "-") ? file : "<stdin>");
}

/* The kind of --kind, else the one whose topic.* key is --topic. */
static int find_kind(const execrec_config_t *conf, const char *topic[EXECREC_KIND__CNT],
                     execrec_kind_t *kind) {
    const char *t = execrec_config_get(conf, "topic");
    if (execrec_config_get(conf, "kind") || !t)
        return cli_parse_kind(conf, "publish", kind);
    if (execrec_kind_for_topic(topic, t, kind) == 0)
        return 0;
    fprintf(stderr,
            "execrec publish: topic '%s' is not one of the --topic-* keys: give --kind "
            "(order, order_event, trade or order_manager)\n",
            t);
    return EXECREC_EXIT_USAGE;
}

int execrec_cli_publish(int argc, char **argv) {
    char **files = NULL, errstr[512];
    int nfiles = 0, rc;
    execrec_config_t *conf =
        cli_begin("publish", publish_summary, publish_keys, argc, argv, &files, &nfiles, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_USAGE;
    execrec_schemamap_t *offline = NULL;
    execrec_registry_t *http = NULL;
    pub_run_t run = {NULL, EXECREC_KIND_ORDER, 0, NULL};
    execrec_publisher_conf_t pc;
    memset(&pc, 0, sizeof(pc));
    const char *topic[EXECREC_KIND__CNT];
    cli_topics(conf, topic);
    if (find_kind(conf, topic, &run.kind))
        goto out;
    pc.brokers = execrec_config_get(conf, "brokers");
    if (!pc.brokers || !*pc.brokers) {
        fprintf(stderr, "execrec publish: --brokers is required (`execrec broker` starts the "
                        "embedded development broker and prints its address)\n");
        goto out;
    }
    const char *t = execrec_config_get(conf, "topic");
    if (t && strchr(t, ',')) {
        fprintf(stderr, "execrec publish: one --topic only (got '%s')\n", t);
        goto out;
    }
    pc.topic[run.kind] = t && *t ? t : topic[run.kind];
    if (!pc.topic[run.kind]) {
        fprintf(stderr, "execrec publish: no topic for %s: give --topic\n",
                execrec_kind_name(run.kind));
        goto out;
    }
    const char *format = execrec_config_get(conf, "format");
    if (!format || !strcmp(format, "auto") || !strcmp(format, "json")) {
        pc.format = EXECREC_PUBLISH_JSON;
    } else if (!strcmp(format, "avro")) {
        pc.format = EXECREC_PUBLISH_AVRO;
    } else {
        fprintf(stderr, "execrec publish: --format must be json or avro, not '%s'\n", format);
        goto out;
    }
    if ((rc = cli_registry_open(conf, "publish", &offline, &http)) != 0)
        goto out;
    rc = EXECREC_EXIT_USAGE;
    if (pc.format == EXECREC_PUBLISH_AVRO && !offline) {
        fprintf(stderr, "execrec publish: --format avro needs --registry (a Schema Registry URL, "
                        "or a map file such as schemas/registry.map)\n");
        goto out;
    }
    /* A message is given up after --broker-timeout-ms: librdkafka's
     * message.timeout.ms, unless -X sets that. */
    int64_t timeout = execrec_config_get_int(conf, "broker.timeout.ms");
    int own_timeout = 1;
    for (int i = 0; i < execrec_config_kafka_count(conf); i++) {
        const char *k, *v;
        execrec_config_kafka_get(conf, i, &k, &v);
        if (!strcmp(k, "message.timeout.ms")) {
            own_timeout = 0;
            timeout = strtoll(v, NULL, 10);
        }
    }
    if (own_timeout) {
        char kv[64];
        snprintf(kv, sizeof(kv), "message.timeout.ms=%" PRId64, timeout);
        if (execrec_config_set_kafka(conf, kv, errstr, sizeof(errstr))) {
            fprintf(stderr, "execrec publish: %s\n", errstr);
            goto out;
        }
    }
    pc.kafka = conf;
    pc.registry = http;
    pc.offline = offline;
    rc = EXECREC_EXIT_FAIL;
    if (!(run.pub = execrec_publisher_new(&pc, errstr, sizeof(errstr)))) {
        fprintf(stderr, "execrec publish: %s\n", errstr);
        goto out;
    }
    run.stop = cli_stop_signals();
    int unread = cli_each_input("publish", files, nfiles, 1, run.stop, publish_input, &run);
    execrec_err_t ferr = execrec_publisher_flush(run.pub, FLUSH_TIMEOUT_MS(timeout));
    execrec_publish_stats_t st;
    execrec_publisher_stats(run.pub, &st);
    /* Messages still unconfirmed after the flush count as failed. */
    int64_t failed = st.produced - st.delivered;
    fprintf(stderr,
            "execrec publish: %ld read, %lld produced, %lld refused, %lld failed (topic "
            "%s, %s)%s\n",
            run.read, (long long)st.delivered, (long long)st.refused, (long long)failed,
            pc.topic[run.kind], pc.format == EXECREC_PUBLISH_AVRO ? "avro" : "json",
            *run.stop ? " (stopped by a signal)" : "");
    char last[512];
    execrec_kafka_last_error(last, sizeof(last));
    if (failed && *last)
        fprintf(stderr,
                "execrec publish: %lld message(s) not delivered within %" PRId64
                " ms (--broker-timeout-ms); last error from the cluster: %s\n",
                (long long)failed, timeout, last);
    rc = !ferr && !unread && !st.refused && !failed && !*run.stop ? EXECREC_EXIT_OK
                                                                  : EXECREC_EXIT_FAIL;
out:
    execrec_publisher_destroy(run.pub);
    execrec_schemamap_destroy(offline);
    execrec_registry_destroy(http);
    execrec_config_destroy(conf);
    return rc;
}
