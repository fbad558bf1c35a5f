/* Shared subcommand helpers, see cli_common.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "base/log.h"
#include "kafka/kafka.h"
#include "cli_common.h"

/* Applies log.level. @returns 0, or -1 (reason printed) for an unknown level. */
static int apply_log_level(const execrec_config_t *conf, const char *cmd) {
    execrec_log_level_t level;
    const char *s = execrec_config_get(conf, "log.level");
    if (!s)
        return 0;
    if (execrec_log_parse_level(s, &level) < 0) {
        fprintf(stderr, "execrec %s: unknown log level '%s' (error, warn, info, debug)\n", cmd, s);
        return -1;
    }
    execrec_log_set_level(level);
    return 0;
}

/* For a command that talks to Kafka: every -X checked before anything connects,
 * and --brokers embedded only where an in-process broker means something.
 * @returns 0, or -1 (reason printed). */
static int check_kafka(const execrec_config_t *conf, const char *cmd, const char *const *keys) {
    if (!execrec_config_takes_kafka(keys))
        return 0;
    char errstr[768];
    rd_kafka_type_t type = strcmp(cmd, "publish") ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER;
    if (execrec_kafka_check_props(conf, NULL, type, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
        return -1;
    }
    const char *brokers = execrec_config_get(conf, "brokers");
    if (brokers && !strcmp(brokers, CLI_BROKERS_EMBEDDED) && strcmp(cmd, "run")) {
        fprintf(stderr,
                "execrec %s: --brokers embedded starts a broker inside `execrec run` only; "
                "give the address `execrec broker` prints\n",
                cmd);
        return -1;
    }
    return 0;
}

execrec_config_t *cli_begin(const char *cmd, const char *summary, const char *const *keys, int argc,
                            char **argv, char ***rest, int *nrest, int *exit_code) {
    execrec_config_t *conf = execrec_config_new();
    if (!conf) {
        fprintf(stderr, "execrec %s: out of memory\n", cmd);
        *exit_code = EXECREC_EXIT_FAIL;
        return NULL;
    }
    int prc = execrec_config_parse_args(conf, cmd, summary, keys, argc, argv, rest, nrest);
    if (prc || apply_log_level(conf, cmd) < 0 || check_kafka(conf, cmd, keys) < 0) {
        execrec_config_destroy(conf);
        *exit_code = prc == 1 ? EXECREC_EXIT_OK : EXECREC_EXIT_USAGE;
        return NULL;
    }
    *exit_code = EXECREC_EXIT_OK;
    return conf;
}

int cli_parse_kind(const execrec_config_t *conf, const char *cmd, execrec_kind_t *kind) {
    const char *s = execrec_config_get(conf, "kind");
    if (!s) {
        fprintf(stderr,
                "execrec %s: --kind is required: order, order_event, trade or "
                "order_manager\n",
                cmd);
        return EXECREC_EXIT_USAGE;
    }
    if (execrec_kind_parse(s, kind) < 0) {
        fprintf(stderr,
                "execrec %s: unknown kind '%s' (order, order_event, trade or "
                "order_manager)\n",
                cmd, s);
        return EXECREC_EXIT_USAGE;
    }
    return 0;
}

int cli_registry_open(const execrec_config_t *conf, const char *cmd, execrec_schemamap_t **reg,
                      execrec_registry_t **http) {
    char errstr[512];
    const char *registry = execrec_config_get(conf, "registry");
    const char *map = execrec_config_get(conf, "registry.map");
    *reg = NULL;
    *http = NULL;
    if (!registry && !map)
        return 0;
    /* --registry FILE is the map, as before URLs were accepted. */
    if (registry && !execrec_registry_is_url(registry)) {
        if (map) {
            fprintf(stderr,
                    "execrec %s: --registry-map goes with a --registry URL; give one "
                    "map file\n",
                    cmd);
            return EXECREC_EXIT_USAGE;
        }
        map = registry;
        registry = NULL;
    }
    if (!(*reg = execrec_schemamap_new())) {
        fprintf(stderr, "execrec %s: out of memory\n", cmd);
        return EXECREC_EXIT_FAIL;
    }
    if (map && execrec_schemamap_load(*reg, map, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
        return EXECREC_EXIT_FAIL;
    }
    if (registry) {
        long timeout = (long)execrec_config_get_int(conf, "registry.timeout.ms");
        if (!(*http = execrec_registry_new(registry, timeout, errstr, sizeof(errstr)))) {
            fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
            return EXECREC_EXIT_FAIL;
        }
        execrec_registry_attach(*http, *reg);
    }
    return 0;
}

int cli_codec_open(cli_codec_t *cc, const execrec_config_t *conf, execrec_kind_t kind,
                   const char *cmd) {
    char errstr[512];
    execrec_codec_conf_t cconf;
    memset(&cconf, 0, sizeof(cconf));
    const char *format = execrec_config_get(conf, "format");
    execrec_format_t fmt;
    if (!format || !strcmp(format, "auto"))
        fmt = EXECREC_FORMAT_AUTO;
    else if (!strcmp(format, "json"))
        fmt = EXECREC_FORMAT_JSON;
    else if (!strcmp(format, "avro"))
        fmt = EXECREC_FORMAT_AVRO;
    else {
        fprintf(stderr, "execrec %s: --format must be auto, json or avro, not '%s'\n", cmd, format);
        return EXECREC_EXIT_USAGE;
    }
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        cconf.format[k] = kind == EXECREC_KIND__CNT || k == (int)kind ? fmt : EXECREC_FORMAT_AUTO;
    cc->format = fmt;
    const char *schema = execrec_config_get(conf, "avro.schema");
    if (fmt == EXECREC_FORMAT_AVRO && !schema) {
        fprintf(stderr, "execrec %s: --format avro needs --avro-schema FILE.avsc\n", cmd);
        return EXECREC_EXIT_USAGE;
    }
    if (schema) {
        if (!(cc->schema = execrec_avro_schema_load(schema, errstr, sizeof(errstr)))) {
            fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
            return EXECREC_EXIT_FAIL;
        }
        if (kind == EXECREC_KIND__CNT) {
            fprintf(stderr,
                    "execrec %s: --avro-schema describes one kind; the recorder reads "
                    "several: use Confluent Avro with --registry\n",
                    cmd);
            return EXECREC_EXIT_USAGE;
        }
        cconf.plain_schema[kind] = cc->schema;
    }
    int rrc = cli_registry_open(conf, cmd, &cc->schemas, &cc->http);
    if (rrc)
        return rrc;
    cconf.schemas = cc->schemas;
    cconf.max_message_bytes = (size_t)execrec_config_get_int(conf, "max.message.bytes");
    if (!(cc->codec = execrec_codec_new(&cconf, errstr, sizeof(errstr)))) {
        fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
        return EXECREC_EXIT_FAIL;
    }
    return 0;
}

void cli_codec_close(cli_codec_t *cc) {
    execrec_codec_destroy(cc->codec);
    execrec_avro_schema_destroy(cc->schema);
    execrec_schemamap_destroy(cc->schemas);
    execrec_registry_destroy(cc->http);
    memset(cc, 0, sizeof(*cc));
}

void cli_topics(const execrec_config_t *conf, const char *topic[EXECREC_KIND__CNT]) {
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        const char *t = execrec_config_get(conf, execrec_kind_topic_key((execrec_kind_t)k));
        topic[k] = t && *t ? t : NULL;
    }
}

static volatile sig_atomic_t stop_count;

static void on_stop_signal(int sig) {
    (void)sig;
    if (stop_count < 2)
        stop_count++;
}

volatile sig_atomic_t *cli_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &stop_count;
}

int cli_each_input(const char *cmd, char **files, int nfiles, int keep_going,
                   volatile sig_atomic_t *stop, int (*fn)(FILE *in, const char *file, void *opaque),
                   void *opaque) {
    if (nfiles == 0)
        return fn(stdin, NULL, opaque) < 0;
    int failed = 0;
    for (int i = 0; i < nfiles && !(stop && *stop) && (keep_going || !failed); i++) {
        if (!strcmp(files[i], "-")) {
            failed |= fn(stdin, files[i], opaque) < 0;
            continue;
        }
        FILE *in = fopen(files[i], "rb");
        if (!in) {
            fprintf(stderr, "execrec %s: %s: %s\n", cmd, files[i], strerror(errno));
            failed = 1;
            continue;
        }
        failed |= fn(in, files[i], opaque) < 0;
        fclose(in);
    }
    return failed;
}
