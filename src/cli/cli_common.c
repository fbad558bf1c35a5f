/* Shared subcommand helpers, see cli_common.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/sig.h"
#include "cli/cli.h"
#include "base/log.h"
#include "base/secret.h"
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

/* Applies log.format. @returns 0, or -1 (reason printed) for an unknown format. */
static int apply_log_format(const execrec_config_t *conf, const char *cmd) {
    execrec_log_format_t format;
    const char *s = execrec_config_get(conf, "log.format");
    if (!s)
        return 0;
    if (execrec_log_parse_format(s, &format) < 0) {
        fprintf(stderr, "execrec %s: --log-format must be text or json, not '%s'\n", cmd, s);
        return -1;
    }
    execrec_log_set_format(format);
    return 0;
}

/* The keys every command takes beside its own: dsn.file with dsn, log.format with
 * log.level (or last). @returns a NULL-terminated array (free it), NULL on OOM. */
static const char **all_keys(const char *const *keys) {
    int n = 0, has_level = 0;
    while (keys[n])
        n++;
    const char **all = calloc((size_t)n * 2 + 2, sizeof(*all));
    if (!all)
        return NULL;
    int k = 0;
    for (int i = 0; i < n; i++) {
        all[k++] = keys[i];
        if (!strcmp(keys[i], "dsn"))
            all[k++] = "dsn.file";
        if (!strcmp(keys[i], "log.level")) {
            all[k++] = "log.format";
            has_level = 1;
        }
    }
    if (!has_level)
        all[k++] = "log.format";
    return all;
}

/* A file holding a secret that its group or others may read: a WARN line. */
static void warn_exposed(const char *what, const char *path, const char *consequence) {
    unsigned mode;
    if (path && execrec_secret_file_exposed(path, &mode))
        execrec_log_warn("%s %s holds a secret and is readable by others (mode %04o)%s: "
                         "chmod 600 %s",
                         what, path, mode, consequence, path);
}

/* dsn.file: the connection string read from a file into dsn (not with --dsn too).
 * @returns 0, or EXECREC_EXIT_USAGE (reason printed). */
static int read_dsn_file(execrec_config_t *conf, const char *cmd) {
    const char *path = execrec_config_get(conf, "dsn.file");
    if (!path)
        return 0;
    if (execrec_config_get(conf, "dsn")) {
        fprintf(stderr,
                "execrec %s: --dsn-file and --dsn (or EXECREC_DSN, or dsn in --config) "
                "both give the connection string: use one\n",
                cmd);
        return EXECREC_EXIT_USAGE;
    }
    char errstr[512], *dsn;
    if (execrec_secret_read_file(path, &dsn, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec %s: --dsn-file: %s\n", cmd, errstr);
        return EXECREC_EXIT_USAGE;
    }
    execrec_err_t err = execrec_config_set(conf, "dsn", dsn, "--dsn-file", errstr, sizeof(errstr));
    execrec_secret_mask(dsn);
    free(dsn);
    if (err) {
        fprintf(stderr, "execrec %s: out of memory\n", cmd);
        return EXECREC_EXIT_FAIL;
    }
    warn_exposed("--dsn-file", path, "");
    return 0;
}

/* The password file of libpq (PGPASSFILE, else ~/.pgpass): libpq ignores one that
 * others may read, with a warning of its own on stderr; say so in our log too. */
static void warn_pgpass(void) {
    char path[4096];
    const char *env = getenv("PGPASSFILE"), *home = getenv("HOME");
    if (env && *env)
        snprintf(path, sizeof(path), "%s", env);
    else if (home && *home)
        snprintf(path, sizeof(path), "%s/.pgpass", home);
    else
        return;
    warn_exposed("PostgreSQL password file", path, ", so libpq ignores it");
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
    const char **all = all_keys(keys);
    if (!conf || !all) {
        fprintf(stderr, "execrec %s: out of memory\n", cmd);
        execrec_config_destroy(conf);
        free(all);
        *exit_code = EXECREC_EXIT_FAIL;
        return NULL;
    }
    int prc = execrec_config_parse_args(conf, cmd, summary, all, argc, argv, rest, nrest);
    int drc = 0;
    if (prc || apply_log_level(conf, cmd) < 0 || apply_log_format(conf, cmd) < 0 ||
        check_kafka(conf, cmd, keys) < 0 || (drc = read_dsn_file(conf, cmd))) {
        execrec_config_destroy(conf);
        free(all);
        *exit_code = prc == 1 ? EXECREC_EXIT_OK : drc ? drc : EXECREC_EXIT_USAGE;
        return NULL;
    }
    warn_exposed("--config file", execrec_config_secret_file(conf), "");
    for (int i = 0; i < execrec_config_kafka_count(conf); i++) {
        const char *k, *v;
        execrec_config_kafka_get(conf, i, &k, &v);
        if (!strcmp(k, "ssl.key.location") || !strcmp(k, "sasl.kerberos.keytab")) {
            char what[64];
            snprintf(what, sizeof(what), "Kafka's %s", k);
            warn_exposed(what, v, "");
        }
    }
    for (int i = 0; all[i]; i++)
        if (!strcmp(all[i], "dsn"))
            warn_pgpass();
    free(all);
    *exit_code = EXECREC_EXIT_OK;
    return conf;
}

int cli_batch_limits(const execrec_config_t *conf, const char *cmd, int64_t *batch_bytes,
                     int64_t *reject_payload_max) {
    *batch_bytes = execrec_config_get_int(conf, "batch.bytes");
    *reject_payload_max = execrec_config_get_int(conf, "reject.payload.max");
    if (*batch_bytes < 1) {
        fprintf(stderr, "execrec %s: --batch-bytes must be at least 1, not %lld\n", cmd,
                (long long)*batch_bytes);
        return EXECREC_EXIT_USAGE;
    }
    /* 1 GiB: the most a bytea value holds. */
    if (*reject_payload_max < 0 || *reject_payload_max > (INT64_C(1) << 30)) {
        fprintf(stderr,
                "execrec %s: --reject-payload-max must be between 0 and 1073741824 bytes, "
                "not %lld\n",
                cmd, (long long)*reject_payload_max);
        return EXECREC_EXIT_USAGE;
    }
    return 0;
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

static volatile execrec_sig_t stop_count, last_signal, hup_count;
static volatile execrec_sig_t watchdog_s; /* 0: none */

/* The hard end of a shutdown (cli_shutdown_watchdog). Only async-signal-safe calls:
 * write(2) and _exit(2). */
static void on_watchdog(int sig) {
    (void)sig;
    static const char msg[] = "execrec: the shutdown deadline (--shutdown-timeout) passed while "
                              "a call still blocked: exiting now with status 1; what was not "
                              "committed is rolled back by PostgreSQL (a recorder consumes it "
                              "again on the next start; run a backfill again)\n";
    ssize_t n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)n;
    _exit(EXECREC_EXIT_FAIL);
}

static void on_stop_signal(int sig) {
    last_signal = sig;
    if (stop_count == 0 && watchdog_s > 0)
        alarm((unsigned)watchdog_s);
    if (stop_count < 2)
        stop_count++;
}

static void on_hup_signal(int sig) {
    (void)sig;
    hup_count = (hup_count + 1) & 0x3fff; /* a change, not a total, is what is read */
}

volatile execrec_sig_t *cli_last_signal(void) {
    return &last_signal;
}

volatile execrec_sig_t *cli_hup_signals(void) {
    return &hup_count;
}

void cli_shutdown_watchdog(int64_t seconds) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_watchdog;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    watchdog_s = seconds > 0 ? (sig_atomic_t)(seconds > 86400 ? 86400 : seconds) : 0;
}

int64_t cli_shutdown_timeout(const execrec_config_t *conf, const char *cmd) {
    int64_t s = execrec_config_get_int(conf, "shutdown.timeout");
    if (s < 1 || s > 86400) {
        fprintf(stderr, "execrec %s: --shutdown-timeout must be 1 to 86400 seconds, not %lld\n",
                cmd, (long long)s);
        return -1;
    }
    cli_shutdown_watchdog(s);
    return s * 1000;
}

volatile execrec_sig_t *cli_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup_signal;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &stop_count;
}

int cli_each_input(const char *cmd, char **files, int nfiles, int keep_going,
                   volatile execrec_sig_t *stop,
                   int (*fn)(FILE *in, const char *file, void *opaque), void *opaque) {
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

int cli_metrics_start(cli_metrics_t *cm, const execrec_config_t *conf, const char *cmd) {
    memset(cm, 0, sizeof(*cm));
    const char *listen = execrec_config_get(conf, "metrics.listen");
    if (!listen || !*listen)
        return EXECREC_EXIT_OK;
    char errstr[512];
    if (execrec_http_check_listen(listen, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec %s: --metrics-listen %s\n", cmd, errstr);
        return EXECREC_EXIT_USAGE;
    }
    if (!(cm->telemetry =
              execrec_telemetry_new(execrec_config_get_int(conf, "ready.max.age") * 1000))) {
        fprintf(stderr, "execrec %s: out of memory\n", cmd);
        return EXECREC_EXIT_FAIL;
    }
    if (!(cm->http = execrec_http_start(listen, cm->telemetry, errstr, sizeof(errstr)))) {
        fprintf(stderr, "execrec %s: --metrics-listen: %s\n", cmd, errstr);
        cli_metrics_stop(cm);
        return EXECREC_EXIT_FAIL;
    }
    execrec_log_info("serving metrics on %s (port %d): /metrics, /healthz, /readyz", listen,
                     execrec_http_port(cm->http));
    return EXECREC_EXIT_OK;
}

void cli_metrics_stop(cli_metrics_t *cm) {
    execrec_http_stop(cm->http);
    execrec_telemetry_destroy(cm->telemetry);
    memset(cm, 0, sizeof(*cm));
}
