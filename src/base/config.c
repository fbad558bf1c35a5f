/* The configuration table and everything derived from it: flags, environment,
 * properties file and --help text. See config.h. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "execrec/config.h"
#include "base/secret.h"

extern char **environ;

/* The longest line of a properties file, in bytes (a PEM certificate or key given
 * inline as kafka.ssl.* is a few KiB per line). */
#define CONF_LINE_MAX 1048576

/* A numeric constant as the text of a default. */
#define CONF_STR_(x) #x
#define CONF_STR(x) CONF_STR_(x)

static const execrec_confdef_t table[] = {
    {"dsn", EXECREC_CONF_SECRET, NULL,
     "PostgreSQL connection string (libpq conninfo or URI); default: PG* environment"},
    {"dsn.file", EXECREC_CONF_STRING, NULL,
     "read the PostgreSQL connection string from this file (keeps a password out of the "
     "argument list; the file should be mode 600)"},
    {"kind", EXECREC_CONF_STRING, NULL,
     "message kind of the input: order, order_event, trade, order_manager"},
    {"format", EXECREC_CONF_STRING, "auto",
     "wire format: auto (JSON object or Confluent Avro), json, avro (plain, needs --avro-schema)"},
    {"avro.schema", EXECREC_CONF_STRING, NULL, "Avro schema (.avsc) for plain Avro input"},
    {"registry", EXECREC_CONF_STRING, NULL,
     "schema registry for Confluent Avro: a URL (http://host:8081, Confluent's API) or an "
     "offline map file of '<id> <file.avsc>' lines"},
    {"registry.map", EXECREC_CONF_STRING, NULL,
     "offline map file used beside a --registry URL: its ids are resolved without a request"},
    {"registry.timeout.ms", EXECREC_CONF_INT, "5000",
     "timeout of one schema registry request, in milliseconds"},
    {"max.message.bytes", EXECREC_CONF_INT, "1048576",
     "messages larger than this are rejected (message_too_large)"},
    {"reject.payload.max", EXECREC_CONF_INT, "65536",
     "payload bytes a reject stores in ingest_rejects.payload (the head; payload_length and "
     "payload_sha256 describe the whole message); 0: none"},
    {"batch.size", EXECREC_CONF_INT, "5000", "messages per PostgreSQL transaction"},
    {"batch.bytes", EXECREC_CONF_INT, "16777216",
     "bytes a batch holds (rows' COPY text, kept message bytes, rejects) before it is "
     "committed, whichever of --batch-size, --batch-bytes, --batch-ms comes first: bounds "
     "memory under large messages (run: the open batches of all --writers together, each "
     "holding its share)"},
    {"batch.ms", EXECREC_CONF_INT, "200", "longest time a batch stays open, in milliseconds"},
    {"writers", EXECREC_CONF_INT, "2",
     "PostgreSQL connections writing in parallel, each with its own partitions, batches and "
     "transactions (docs/recorder.md, Parallel writers)"},
    {"batch.idle.ms", EXECREC_CONF_INT, "0",
     "commit the open batch once no message has arrived for this long (0: as soon as the "
     "recorder has caught up)"},
    {"log.level", EXECREC_CONF_STRING, "info", "error, warn, info or debug"},
    {"log.format", EXECREC_CONF_STRING, "text",
     "text (time, level, message) or json (one object per line, with topic, partition, "
     "offset, rows and duration_ms where they apply)"},
    {"shutdown.timeout", EXECREC_CONF_INT, "30",
     "seconds from the first SIGTERM/SIGINT to exit: the open batch is committed if it can "
     "be by then, else left uncommitted (replayed on the next start) and the exit status is 1"},
    /* run, broker */
    {"brokers", EXECREC_CONF_STRING, NULL, "Kafka bootstrap servers (host:port,...); required"},
    {"broker.timeout.ms", EXECREC_CONF_INT, "30000",
     "how long to wait for the Kafka cluster before giving up, in milliseconds (the error "
     "names the last transport error)"},
    {"group", EXECREC_CONF_STRING, "execrec",
     "Kafka consumer group (also the key of the "
     "offsets stored in PostgreSQL)"},
    {"topic.orders", EXECREC_CONF_STRING, "orders", "topic of orders (empty: not consumed)"},
    {"topic.events", EXECREC_CONF_STRING, "order-events",
     "topic of order events (empty: not consumed)"},
    {"topic.trades", EXECREC_CONF_STRING, "trades", "topic of trades (empty: not consumed)"},
    {"topic.managers", EXECREC_CONF_STRING, "order-managers",
     "topic of order-manager intents (empty: not consumed)"},
    {"exit.at.end", EXECREC_CONF_BOOL, "false",
     "stop once every assigned partition has reached the end it had at start"},
    {"stats.interval.ms", EXECREC_CONF_INT, "10000",
     "how often totals (consumed, inserted, duplicates, rejected, lag) are logged; 0: never"},
    {"metrics.listen", EXECREC_CONF_STRING, NULL,
     "serve /metrics, /healthz and /readyz over HTTP on HOST:PORT (e.g. 127.0.0.1:9750); "
     "unset: off"},
    {"ready.max.age", EXECREC_CONF_INT, "60",
     "/readyz fails when there is lag and no batch has committed for this many seconds"},
    {"partitions", EXECREC_CONF_INT, "4", "partitions per topic of the embedded broker"},
    {"address.file", EXECREC_CONF_STRING, NULL,
     "write the embedded broker's bootstrap address to this file"},
    /* reconcile */
    {"tolerance", EXECREC_CONF_STRING, "0",
     "largest difference between event-reported and traded quantity that is not a finding"},
    {"stuck.after", EXECREC_CONF_STRING, "1 hour",
     "a non-terminal order idle for longer than this interval is stuck (e.g. '30 minutes')"},
    /* partitions */
    {"months.ahead", EXECREC_CONF_INT, CONF_STR(EXECREC_CONFIG_MONTHS_AHEAD),
     "create monthly partitions from this month through this many months ahead"},
    {"retention", EXECREC_CONF_STRING, NULL,
     "drop monthly partitions entirely older than this age (e.g. '400 days', '13 months'), "
     "and delete the rejects recorded before it; unset: drop nothing"},
    {"dry.run", EXECREC_CONF_BOOL, "false", "print what would be done, change nothing"},
    /* publish, backfill, status */
    {"topic", EXECREC_CONF_LIST, NULL, "topics (repeat the flag or separate with commas)"},
    {"partition", EXECREC_CONF_LIST, NULL,
     "partitions to replay (repeat the flag or separate with commas); unset: every partition"},
    {"from.offset", EXECREC_CONF_INT, NULL, "first offset to replay (inclusive)"},
    {"to.offset", EXECREC_CONF_INT, NULL,
     "offset to stop at (exclusive: that message is not replayed); unset: the end"},
    {"from.time", EXECREC_CONF_STRING, NULL,
     "replay from the first message with a Kafka timestamp at or after this time "
     "(RFC 3339, or epoch milliseconds)"},
    {"to.time", EXECREC_CONF_STRING, NULL,
     "stop at the first message with a Kafka timestamp at or after this time (exclusive)"},
    {"json", EXECREC_CONF_BOOL, "false", "print JSON instead of a table"},
    /* status, offsets */
    {"max.lag", EXECREC_CONF_INT, NULL,
     "status: exit 1 when a partition's lag exceeds this many messages, or a partition's "
     "position is past the log's end (blocked)"},
    {"to", EXECREC_CONF_STRING, NULL,
     "offsets reset: the new position: earliest, latest, an offset (digits), or a time "
     "(RFC 3339 with a zone, or @ and epoch milliseconds): the first message at or after it"},
    /* migrate */
    {"dir", EXECREC_CONF_STRING, NULL,
     "read NNNN_name.sql migrations from this directory instead of the set built into "
     "this binary"},
    {"status", EXECREC_CONF_BOOL, "false",
     "list each migration's state and change nothing (exit 1 if one is changed or unknown)"},
    {NULL, 0, NULL, NULL},
};

/* Bounds of the integer keys that have them, checked wherever a value comes from;
 * other integer keys take any non-negative value. max 0: no upper bound. */
static const struct {
    const char *key;
    int64_t min, max;
} bounds[] = {
    {"batch.size", 1, 0}, {"max.message.bytes", 1, 0},   {"partitions", 1, 1000},
    {"writers", 1, 64},   {"registry.timeout.ms", 1, 0}, {"broker.timeout.ms", 1, 0},
    {NULL, 0, 0},
};

/* A key's help in one command's words, where the table's line would talk about
 * another command's use of it (--help and the man page read both). */
static const struct {
    const char *cmd, *key, *help;
} command_help[] = {
    {"run", "brokers",
     "Kafka bootstrap servers (host:port,...), or 'embedded': an in-memory broker started "
     "in-process, for development and tests (its messages are gone at exit); required"},
    {"run", "broker.timeout.ms",
     "with --exit-at-end: give up when the Kafka cluster has not answered for this long, in "
     "milliseconds (without it the recorder keeps retrying, with a WARN saying why)"},
    {"run", "partitions", "partitions per topic of the embedded broker (--brokers embedded)"},
    {"status", "brokers",
     "Kafka bootstrap servers (host:port,...) of the group's cluster; required"},
    {"status", "group", "the consumer group to report on"},
    {"status", "topic.orders", "topic of orders (empty: not shown)"},
    {"status", "topic.events", "topic of order events (empty: not shown)"},
    {"status", "topic.trades", "topic of trades (empty: not shown)"},
    {"status", "topic.managers", "topic of order-manager intents (empty: not shown)"},
    {"backfill", "brokers",
     "Kafka bootstrap servers (host:port,...) of the cluster holding the topics; required"},
    {"backfill", "topic",
     "the topics to replay (repeat the flag or separate with commas); a topic's kind is --kind "
     "when given, else the kind whose --topic-* key names it"},
    {"backfill", "topic.orders", "topic of orders: --topic naming it replays orders"},
    {"backfill", "topic.events", "topic of order events: --topic naming it replays order events"},
    {"backfill", "topic.trades", "topic of trades: --topic naming it replays trades"},
    {"backfill", "topic.managers",
     "topic of order-manager intents: --topic naming it replays intents"},
    {"backfill", "stats.interval.ms",
     "how often a progress line is logged when stderr is not a terminal; 0: never"},
    {"publish", "brokers",
     "Kafka bootstrap servers (host:port,...) to produce to; required (`execrec broker` "
     "starts a development broker and prints its address)"},
    {"publish", "broker.timeout.ms",
     "a message not delivered within this many milliseconds fails (librdkafka's "
     "message.timeout.ms; -X message.timeout.ms overrides it)"},
    {"publish", "format",
     "wire format produced: json (each line as given) or avro (Confluent, needs --registry)"},
    {"publish", "topic", "the topic to produce to (default: the kind's --topic-* key)"},
    {"publish", "topic.orders", "topic orders are produced to (unless --topic is given)"},
    {"publish", "topic.events", "topic order events are produced to (unless --topic is given)"},
    {"publish", "topic.trades", "topic trades are produced to (unless --topic is given)"},
    {"publish", "topic.managers",
     "topic order-manager intents are produced to (unless --topic is given)"},
    {"broker", "topic.orders", "topic of orders to create (empty: none)"},
    {"broker", "topic.events", "topic of order events to create (empty: none)"},
    {"broker", "topic.trades", "topic of trades to create (empty: none)"},
    {"broker", "topic.managers", "topic of order-manager intents to create (empty: none)"},
    {NULL, NULL, NULL},
};

typedef struct kv_s {
    char *key, *value;
} kv_t;

struct execrec_config_s {
    char *value[sizeof(table) / sizeof(table[0])];
    kv_t *kafka;
    int nkafka;
    char *secret_file; /* the properties file, when it set a secret */
};

const execrec_confdef_t *execrec_config_table(void) {
    return table;
}

static int find_key(const char *key) {
    for (int i = 0; table[i].key; i++)
        if (!strcmp(table[i].key, key))
            return i;
    return -1;
}

execrec_config_t *execrec_config_new(void) {
    execrec_config_t *conf = calloc(1, sizeof(*conf));
    if (!conf)
        return NULL;
    for (int i = 0; table[i].key; i++) {
        if (table[i].def && !(conf->value[i] = strdup(table[i].def))) {
            execrec_config_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

void execrec_config_destroy(execrec_config_t *conf) {
    if (!conf)
        return;
    for (int i = 0; table[i].key; i++)
        free(conf->value[i]);
    for (int i = 0; i < conf->nkafka; i++) {
        free(conf->kafka[i].key);
        free(conf->kafka[i].value);
    }
    free(conf->kafka);
    free(conf->secret_file);
    free(conf);
}

static int parse_bool(const char *s, int *b) {
    static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *b = 1;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *b = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_int(const char *s, int64_t *v) {
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    long long n = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = n;
    return 0;
}

/* Where a value came from, as the user gave it: a flag ("--batch-size") or
 * environment variable ("EXECREC_BATCH_SIZE") is named alone, a file line
 * ("file:3") with the key. */
static void value_name(const char *key, const char *source, char *out, size_t size) {
    if (source && (!strncmp(source, "--", 2) || !strncmp(source, "EXECREC_", 8)))
        snprintf(out, size, "%s", source);
    else
        snprintf(out, size, "%s%s%s", source ? source : "", source ? ": " : "", key);
}

static int find_bounds(const char *key) {
    for (int b = 0; bounds[b].key; b++)
        if (!strcmp(bounds[b].key, key))
            return b;
    return -1;
}

execrec_err_t execrec_config_set(execrec_config_t *conf, const char *key, const char *value,
                                 const char *source, char *errstr, size_t errstr_size) {
    assert(conf && key && value);
    int i = find_key(key);
    if (i < 0) {
        snprintf(errstr, errstr_size, "%s%sunknown configuration key '%s'", source ? source : "",
                 source ? ": " : "", key);
        return EXECREC_ERR_INVALID;
    }
    int b;
    int64_t n;
    char name[256];
    value_name(key, source, name, sizeof(name));
    if ((table[i].type == EXECREC_CONF_INT && parse_int(value, &n) < 0) ||
        (table[i].type == EXECREC_CONF_BOOL && parse_bool(value, &b) < 0)) {
        snprintf(errstr, errstr_size, "%s must be %s, not '%s'", name,
                 table[i].type == EXECREC_CONF_INT ? "a non-negative integer" : "true or false",
                 value);
        return EXECREC_ERR_INVALID;
    }
    int bi = table[i].type == EXECREC_CONF_INT ? find_bounds(key) : -1;
    if (bi >= 0 && (n < bounds[bi].min || (bounds[bi].max && n > bounds[bi].max))) {
        if (bounds[bi].max)
            snprintf(errstr, errstr_size,
                     "%s must be between %" PRId64 " and %" PRId64 ", not '%s'", name,
                     bounds[bi].min, bounds[bi].max, value);
        else
            snprintf(errstr, errstr_size, "%s must be at least %" PRId64 ", not '%s'", name,
                     bounds[bi].min, value);
        return EXECREC_ERR_INVALID;
    }
    char *copy = strdup(value);
    if (!copy)
        return EXECREC_ERR_NOMEM;
    free(conf->value[i]);
    conf->value[i] = copy;
    return EXECREC_OK;
}

/* Appends the librdkafka property key[0..keylen) = value. @returns EXECREC_OK or
 * EXECREC_ERR_NOMEM. */
static execrec_err_t add_kafka(execrec_config_t *conf, const char *key, size_t keylen,
                               const char *value) {
    kv_t *k = realloc(conf->kafka, sizeof(*k) * (size_t)(conf->nkafka + 1));
    if (!k)
        return EXECREC_ERR_NOMEM;
    conf->kafka = k;
    k[conf->nkafka].key = strndup(key, keylen);
    k[conf->nkafka].value = strdup(value);
    if (!k[conf->nkafka].key || !k[conf->nkafka].value) {
        free(k[conf->nkafka].key);
        free(k[conf->nkafka].value);
        return EXECREC_ERR_NOMEM;
    }
    conf->nkafka++;
    return EXECREC_OK;
}

execrec_err_t execrec_config_set_kafka(execrec_config_t *conf, const char *kv, char *errstr,
                                       size_t errstr_size) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        snprintf(errstr, errstr_size, "-X expects key=value, got '%s'", kv);
        return EXECREC_ERR_INVALID;
    }
    return add_kafka(conf, kv, (size_t)(eq - kv), eq + 1);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Reads one line of f, without its '\n', into *line (grown as needed; *cap its
 * size), *len its bytes (a NUL byte included). @returns 1 a line, 0 end of file,
 * -1 a line longer than CONF_LINE_MAX bytes, -2 out of memory. */
static int read_line(FILE *f, char **line, size_t *cap, size_t *len) {
    int c;
    *len = 0;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (*len == CONF_LINE_MAX)
            return -1;
        if (*len + 1 >= *cap) {
            size_t n = *cap ? 2 * *cap : 256;
            if (n > CONF_LINE_MAX + 1)
                n = CONF_LINE_MAX + 1;
            char *p = realloc(*line, n);
            if (!p)
                return -2;
            *line = p;
            *cap = n;
        }
        (*line)[(*len)++] = (char)c;
    }
    if (c == EOF && *len == 0)
        return 0;
    if (!*line && !(*line = malloc(*cap = 1)))
        return -2;
    (*line)[*len] = '\0';
    return 1;
}

execrec_err_t execrec_config_load_file(execrec_config_t *conf, const char *path, char *errstr,
                                       size_t errstr_size) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(errstr, errstr_size, "cannot open configuration file %s: %s", path,
                 strerror(errno));
        return EXECREC_ERR_IO;
    }
    char *line = NULL, where[512];
    size_t cap = 0, len;
    int lineno = 0, secret = 0, got;
    execrec_err_t err = EXECREC_OK;
    while (!err && (got = read_line(f, &line, &cap, &len)) != 0) {
        lineno++;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (got == -2) {
            snprintf(errstr, errstr_size, "%s: out of memory", where);
            err = EXECREC_ERR_NOMEM;
            break;
        }
        /* A line is never cut: the rest of a long one read as a line of its own
         * could set a key of its own. */
        if (got == -1 || memchr(line, '\0', len)) {
            snprintf(errstr, errstr_size, "%s: %s", where,
                     got == -1 ? "line longer than " CONF_STR(CONF_LINE_MAX) " bytes"
                               : "NUL byte in the line (not a text file?)");
            err = EXECREC_ERR_INVALID;
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(errstr, errstr_size, "%s: expected 'key = value'", where);
            err = EXECREC_ERR_INVALID;
            break;
        }
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (!strncmp(key, "kafka.", 6)) {
            if (!key[6]) {
                snprintf(errstr, errstr_size, "%s: 'kafka.' needs a librdkafka property name",
                         where);
                err = EXECREC_ERR_INVALID;
                break;
            }
            err = add_kafka(conf, key + 6, strlen(key + 6), value);
            secret |= execrec_secret_kafka_key(key + 6);
        } else {
            err = execrec_config_set(conf, key, value, where, errstr, errstr_size);
            int i = find_key(key);
            secret |= i >= 0 && table[i].type == EXECREC_CONF_SECRET;
        }
    }
    /* A read error (a directory opens, then reads as EISDIR) is not an empty file. */
    if (!err && ferror(f)) {
        snprintf(errstr, errstr_size, "cannot read configuration file %s: %s", path,
                 strerror(errno));
        err = EXECREC_ERR_IO;
    }
    free(line);
    fclose(f);
    if (!err && secret) {
        free(conf->secret_file);
        if (!(conf->secret_file = strdup(path)))
            err = EXECREC_ERR_NOMEM;
    }
    return err;
}

/* "batch.size" -> "EXECREC_BATCH_SIZE"; "avro.schema" -> "EXECREC_AVRO_SCHEMA". */
static void env_name(const char *key, char *out, size_t size) {
    size_t n = (size_t)snprintf(out, size, "EXECREC_");
    for (; *key && n + 1 < size; key++)
        out[n++] = (*key == '.' || *key == '-') ? '_' : (char)toupper((unsigned char)*key);
    out[n] = '\0';
}

/* EXECREC_KAFKA_SASL_PASSWORD=v: the property's name ("sasl.password", malloc'd)
 * in *key and its value (a pointer into entry) in *value. @returns 1, 0 when
 * entry is not of that form or names a key of the table's (whose names could start
 * the same way), -1 out of memory. */
static int kafka_env(const char *entry, char **key, const char **value) {
    static const char prefix[] = "EXECREC_KAFKA_";
    const char *eq = strchr(entry, '=');
    if (strncmp(entry, prefix, sizeof(prefix) - 1) || !eq || eq == entry + sizeof(prefix) - 1)
        return 0;
    char name[128];
    for (int i = 0; table[i].key; i++) {
        env_name(table[i].key, name, sizeof(name));
        if (strlen(name) == (size_t)(eq - entry) && !strncmp(name, entry, (size_t)(eq - entry)))
            return 0;
    }
    const char *p = entry + sizeof(prefix) - 1;
    if (!(*key = strndup(p, (size_t)(eq - p))))
        return -1;
    for (char *k = *key; *k; k++)
        *k = *k == '_' ? '.' : (char)tolower((unsigned char)*k);
    *value = eq + 1;
    return 1;
}

execrec_err_t execrec_config_load_env(execrec_config_t *conf, char *errstr, size_t errstr_size) {
    char name[128];
    for (int i = 0; table[i].key; i++) {
        env_name(table[i].key, name, sizeof(name));
        const char *v = getenv(name);
        if (v) {
            execrec_err_t err =
                execrec_config_set(conf, table[i].key, v, name, errstr, errstr_size);
            if (err)
                return err;
        }
    }
    for (char **e = environ; e && *e; e++) {
        char *key = NULL;
        const char *value;
        int got = kafka_env(*e, &key, &value);
        execrec_err_t err = got < 0    ? EXECREC_ERR_NOMEM
                            : got == 0 ? EXECREC_OK
                                       : add_kafka(conf, key, strlen(key), value);
        free(key);
        if (err) {
            snprintf(errstr, errstr_size, "out of memory");
            return err;
        }
    }
    return EXECREC_OK;
}

/* The table index of key, which the caller names in code: an unknown key is a bug
 * (a typo would otherwise read as "unset"). Without assertions it still yields -1. */
static int known_key(const char *key) {
    assert(key);
    int i = find_key(key);
    assert(i >= 0 && "not a key of the configuration table");
    return i;
}

const char *execrec_config_default(const char *key) {
    int i = known_key(key);
    return i < 0 ? NULL : table[i].def;
}

const char *execrec_config_get(const execrec_config_t *conf, const char *key) {
    assert(conf);
    int i = known_key(key);
    return i < 0 ? NULL : conf->value[i];
}

int64_t execrec_config_get_int(const execrec_config_t *conf, const char *key) {
    assert(table[known_key(key)].type == EXECREC_CONF_INT);
    const char *v = execrec_config_get(conf, key);
    int64_t n = 0;
    if (v && parse_int(v, &n) < 0)
        n = 0;
    return n;
}

int execrec_config_get_bool(const execrec_config_t *conf, const char *key) {
    assert(table[known_key(key)].type == EXECREC_CONF_BOOL);
    const char *v = execrec_config_get(conf, key);
    int b = 0;
    if (v && parse_bool(v, &b) < 0)
        b = 0;
    return b;
}

const char *execrec_config_secret_file(const execrec_config_t *conf) {
    return conf->secret_file;
}

int execrec_config_kafka_count(const execrec_config_t *conf) {
    return conf->nkafka;
}

void execrec_config_kafka_get(const execrec_config_t *conf, int i, const char **key,
                              const char **value) {
    assert(i >= 0 && i < conf->nkafka);
    *key = conf->kafka[i].key;
    *value = conf->kafka[i].value;
}

void execrec_config_flag_name(const char *key, char *out, size_t size) {
    size_t n = 0;
    for (; *key && n + 1 < size; key++)
        out[n++] = *key == '.' ? '-' : *key;
    out[n] = '\0';
}

const char *execrec_config_help(const char *cmd, const char *key) {
    int i = known_key(key);
    if (i < 0)
        return "";
    for (int h = 0; cmd && command_help[h].cmd; h++)
        if (!strcmp(command_help[h].cmd, cmd) && !strcmp(command_help[h].key, key))
            return command_help[h].help;
    return table[i].help;
}

static int has_key(const char *const *keys, const char *key) {
    for (int k = 0; keys[k]; k++)
        if (!strcmp(keys[k], key))
            return 1;
    return 0;
}

int execrec_config_takes_kafka(const char *const *keys) {
    return has_key(keys, "brokers");
}

void execrec_config_command_usage(FILE *out, const char *cmd, const char *const *keys) {
    for (int k = 0; keys[k]; k++) {
        int i = known_key(keys[k]);
        if (i < 0)
            continue;
        char flag[128], env[128], left[160];
        execrec_config_flag_name(table[i].key, flag, sizeof(flag));
        env_name(table[i].key, env, sizeof(env));
        int kafka = execrec_config_takes_kafka(keys);
        const char *brief = !kafka                             ? ""
                            : !strcmp(table[i].key, "brokers") ? "-b, "
                            : !strcmp(table[i].key, "topic")   ? "-t, "
                                                               : "";
        snprintf(left, sizeof(left), "%s--%s%s", brief, flag,
                 table[i].type == EXECREC_CONF_BOOL ? "" : " VALUE");
        fprintf(out, "  %-28s %s\n  %-28s (env %s%s%s%s)\n", left,
                execrec_config_help(cmd, table[i].key), "", env, table[i].def ? ", default " : "",
                table[i].def ? table[i].def : "", "");
    }
    int kafka = execrec_config_takes_kafka(keys);
    fprintf(out, "  %-28s %s\n", "--config FILE",
            kafka ? "properties file of 'key = value' lines (kafka.* keys go to librdkafka)"
                  : "properties file of 'key = value' lines");
    if (kafka)
        fprintf(out, "  %-28s %s\n  %-28s %s\n", "-X KEY=VALUE",
                "librdkafka property, as in kcat (checked before anything connects)", "",
                "(env EXECREC_KAFKA_<KEY>, '_' for '.': EXECREC_KAFKA_SASL_PASSWORD)");
    fprintf(out, "  %-28s %s\n", "-h, --help", "show this help");
}

void execrec_config_usage(FILE *out, const char *const *keys) {
    execrec_config_command_usage(out, NULL, keys);
}

/* For a list key: its flag values comma-joined into *joined (malloc'd) when flag i
 * is the key's first on the line. @returns 1 joined, 0 an earlier flag already
 * carried the key (skip this one), -1 out of memory. */
static int join_list(const char **setkeys, const char **setvals, int nset, int i, char **joined) {
    size_t len = 1;
    for (int j = 0; j < nset; j++) {
        if (strcmp(setkeys[j], setkeys[i]))
            continue;
        if (j < i)
            return 0;
        len += strlen(setvals[j]) + 1;
    }
    if (!(*joined = malloc(len)))
        return -1;
    **joined = '\0';
    for (int j = i; j < nset; j++)
        if (!strcmp(setkeys[j], setkeys[i]))
            strcat(strcat(*joined, **joined ? "," : ""), setvals[j]);
    return 1;
}

/* The secret part of a flag's value, once copied, is overwritten in argv itself,
 * which is what ps and /proc/PID/cmdline show: a connection string's passwords (the
 * rest stays readable); any other secret whole. setvals point into argv, whose
 * strings a process may rewrite (their length stays). */
static void mask_secret_arg(const char *key, const char *val) {
    char *arg = (char *)(uintptr_t)val;
    if (!strcmp(key, "dsn"))
        execrec_secret_mask_conninfo(arg);
    else
        execrec_secret_mask(arg);
}

/* -X KEY=VALUE: VALUE overwritten when KEY is a secret. */
static void mask_kafka_arg(char *kv) {
    char key[256], *eq = strchr(kv, '=');
    if (!eq)
        return;
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    if (execrec_secret_kafka_key(key))
        execrec_secret_mask(eq + 1);
}

/* The -X properties (n of them from index first) move after those of the file and
 * the environment, so that the command line wins there too; then of a property set
 * twice only the last value is kept (librdkafka would refuse an invalid value even
 * though a later one replaces it). @returns 0, -1 out of memory. */
static int kafka_last(execrec_config_t *conf, int first, int n) {
    int after = conf->nkafka - first - n;
    if (n && after) {
        kv_t *flags = malloc(sizeof(kv_t) * (size_t)n);
        if (!flags)
            return -1;
        memcpy(flags, conf->kafka + first, sizeof(kv_t) * (size_t)n);
        memmove(conf->kafka + first, conf->kafka + first + n, sizeof(kv_t) * (size_t)after);
        memcpy(conf->kafka + first + after, flags, sizeof(kv_t) * (size_t)n);
        free(flags);
    }
    int kept = 0;
    for (int i = 0; i < conf->nkafka; i++) {
        int later = 0;
        for (int j = i + 1; j < conf->nkafka && !later; j++)
            later = !strcmp(conf->kafka[i].key, conf->kafka[j].key);
        if (later) {
            free(conf->kafka[i].key);
            free(conf->kafka[i].value);
        } else {
            conf->kafka[kept++] = conf->kafka[i];
        }
    }
    conf->nkafka = kept;
    return 0;
}

int execrec_config_parse_args(execrec_config_t *conf, const char *cmd, const char *summary,
                              const char *const *keys, int argc, char **argv, char ***rest,
                              int *nrest) {
    int nkeys = 0;
    while (keys[nkeys])
        nkeys++;
    struct option *opts = calloc((size_t)nkeys + 3, sizeof(*opts));
    char(*names)[128] = calloc((size_t)nkeys + 1, sizeof(*names));
    const char **setkeys = calloc((size_t)argc + 1, sizeof(*setkeys));
    const char **setvals = calloc((size_t)argc + 1, sizeof(*setvals));
    int nset = 0, rc = 0;
    const char *config_file = NULL;
    char errstr[512];
    if (!opts || !names || !setkeys || !setvals) {
        fprintf(stderr, "execrec %s: out of memory\n", cmd);
        rc = 2;
        goto done;
    }
    int n = 0;
    for (int k = 0; k < nkeys; k++) {
        int i = known_key(keys[k]);
        if (i < 0)
            continue;
        execrec_config_flag_name(table[i].key, names[n], sizeof(names[n]));
        opts[n].name = names[n];
        opts[n].has_arg =
            table[i].type == EXECREC_CONF_BOOL ? optional_argument : required_argument;
        opts[n].val = 1000 + i;
        n++;
    }
    opts[n++] = (struct option){"config", required_argument, NULL, 'c'};
    opts[n++] = (struct option){"help", no_argument, NULL, 'h'};

    /* -b, -t and -X as in kcat, for the commands that talk to Kafka. */
    int kafka = execrec_config_takes_kafka(keys), topic = kafka && has_key(keys, "topic");
    /* 0, not 1: glibc then forgets where an earlier parse stopped inside a cluster of
     * short options ("-hX"), which would otherwise be read on from that argv. */
    optind = 0;
    opterr = 0;
    int c, nkafka_before = conf->nkafka;
    const char *shorts = topic ? "+:X:b:t:c:h" : kafka ? "+:X:b:c:h" : "+:X:c:h";
    for (;;) {
        /* The argument getopt reads next: a long option or a cluster of short ones
         * ("-bQ"), which it leaves only once the cluster is done. */
        int next = optind ? optind : 1;
        const char *arg = next < argc ? argv[next] : "";
        if ((c = getopt_long(argc, argv, shorts, opts, NULL)) == -1)
            break;
        if (c == 'h') {
            printf("usage: execrec %s [options]%s\n\n%s\n\noptions:\n", cmd,
                   rest ? " [FILE...]" : "", summary);
            execrec_config_command_usage(stdout, cmd, keys);
            rc = 1;
            goto done;
        } else if (c == 'c') {
            config_file = optarg;
        } else if (c == 'b' || c == 't') {
            setkeys[nset] = c == 'b' ? "brokers" : "topic";
            setvals[nset++] = optarg;
        } else if (c == 'X' && !kafka) {
            fprintf(stderr,
                    "execrec %s: -X sets a librdkafka property, and %s does not use Kafka "
                    "(see --help)\n",
                    cmd, cmd);
            rc = 2;
            goto done;
        } else if (c == 'X') {
            if (execrec_config_set_kafka(conf, optarg, errstr, sizeof(errstr))) {
                fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
                rc = 2;
                goto done;
            }
            mask_kafka_arg(optarg);
        } else if (c >= 1000) {
            const execrec_confdef_t *d = &table[c - 1000];
            setkeys[nset] = d->key;
            setvals[nset++] = optarg ? optarg : (d->type == EXECREC_CONF_BOOL ? "true" : "");
        } else {
            /* A short option is named alone, not as its cluster. */
            char opt[3] = {'-', (char)optopt, '\0'};
            const char *name = !strncmp(arg, "--", 2) ? arg : opt;
            fprintf(stderr, "execrec %s: %s '%s'%s (see --help)\n", cmd,
                    c == ':' ? "option" : "unknown option", name, c == ':' ? " needs a value" : "");
            rc = 2;
            goto done;
        }
    }
    int nkafka_flags = conf->nkafka - nkafka_before;
    if (config_file && execrec_config_load_file(conf, config_file, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
        rc = 2;
        goto done;
    }
    if (execrec_config_load_env(conf, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
        rc = 2;
        goto done;
    }
    if (kafka_last(conf, nkafka_before, nkafka_flags) < 0) {
        fprintf(stderr, "execrec %s: out of memory\n", cmd);
        rc = 2;
        goto done;
    }
    for (int i = 0; i < nset; i++) {
        char flag[160], *joined = NULL;
        flag[0] = flag[1] = '-';
        execrec_config_flag_name(setkeys[i], flag + 2, sizeof(flag) - 2);
        if (table[find_key(setkeys[i])].type == EXECREC_CONF_LIST) {
            int j = join_list(setkeys, setvals, nset, i, &joined);
            if (j == 0)
                continue; /* already joined into an earlier flag's value */
            if (j < 0) {
                fprintf(stderr, "execrec %s: out of memory\n", cmd);
                rc = 2;
                goto done;
            }
        }
        execrec_err_t err = execrec_config_set(conf, setkeys[i], joined ? joined : setvals[i], flag,
                                               errstr, sizeof(errstr));
        free(joined);
        if (table[find_key(setkeys[i])].type == EXECREC_CONF_SECRET)
            mask_secret_arg(setkeys[i], setvals[i]);
        if (err) {
            fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
            rc = 2;
            goto done;
        }
    }
    if (rest) {
        *rest = argv + optind;
        *nrest = argc - optind;
    } else if (optind < argc) {
        fprintf(stderr, "execrec %s: unexpected argument '%s' (see --help)\n", cmd, argv[optind]);
        rc = 2;
    }
done:
    free(opts);
    free(names);
    free(setkeys);
    free(setvals);
    return rc;
}
