/* Configuration: one table of keys (name, type, default, help) from which command
 * line flags, EXECREC_* environment variables, the properties file and the --help
 * text are all derived (pgbouncer's config table). Precedence, lowest first:
 * built-in default, properties file, environment, command line.
 *
 * Keys that start with "kafka." in the properties file, EXECREC_KAFKA_<KEY>
 * environment variables (KEY upper case, '_' for '.': EXECREC_KAFKA_SASL_PASSWORD is
 * sasl.password) and every -X key=value on the command line are passed through to
 * librdkafka unchanged (kcat's -X), with the same precedence. */
#ifndef EXECREC_CONFIG_H
#define EXECREC_CONFIG_H

#include <stdint.h>
#include <stdio.h>
#include "execrec/err.h"

/** Months of monthly partitions kept ahead, after the current one (UTC): the default
 *  of --months-ahead (`execrec partitions`), what `execrec migrate` creates, and the
 *  recorder's warning, which names any month missing from the current one through
 *  EXECREC_CONFIG_MONTHS_AHEAD - 1 ahead (one month of slack: a roll-over finds its
 *  new month made by the last maintenance run of the month before). */
#define EXECREC_CONFIG_MONTHS_AHEAD 3

typedef enum execrec_conf_type_e {
    EXECREC_CONF_STRING,
    EXECREC_CONF_INT,    /* non-negative 64-bit integer */
    EXECREC_CONF_BOOL,   /* true/false, yes/no, on/off, 1/0 */
    EXECREC_CONF_SECRET, /* a string never printed (passwords) */
    EXECREC_CONF_LIST    /* comma-separated strings; a repeated flag adds to the list */
} execrec_conf_type_t;

typedef struct execrec_confdef_s {
    const char *key; /* "batch.size": flag --batch-size, env EXECREC_BATCH_SIZE */
    execrec_conf_type_t type;
    const char *def;  /* default as text; NULL = unset */
    const char *help; /* one line for --help */
} execrec_confdef_t;

typedef struct execrec_config_s execrec_config_t;

/** @returns the table of every known key, terminated by an entry with key NULL. */
const execrec_confdef_t *execrec_config_table(void);

/** @returns a configuration holding the defaults, or NULL on OOM. */
execrec_config_t *execrec_config_new(void);
void execrec_config_destroy(execrec_config_t *conf);

/** Sets key to value after checking its type. Unknown keys and bad values are
 *  EXECREC_ERR_INVALID with errstr naming the key (and source, if given). */
execrec_err_t execrec_config_set(execrec_config_t *conf, const char *key, const char *value,
                                 const char *source, char *errstr,
                                 size_t errstr_size) EXECREC_MUSTCHECK;
/** Adds a librdkafka property ("key=value", as kcat's -X). */
execrec_err_t execrec_config_set_kafka(execrec_config_t *conf, const char *kv, char *errstr,
                                       size_t errstr_size) EXECREC_MUSTCHECK;
/** Reads a properties file: "key = value" lines, '#' comments; "kafka.<prop>" keys
 *  go to librdkafka. Errors name the file and line. */
execrec_err_t execrec_config_load_file(execrec_config_t *conf, const char *path, char *errstr,
                                       size_t errstr_size) EXECREC_MUSTCHECK;
/** Applies EXECREC_<KEY> environment variables (dots become underscores, upper case),
 *  then adds an EXECREC_KAFKA_<PROP> variable (not one of the table's) as the
 *  librdkafka property <prop> (lower case, underscores become dots). */
execrec_err_t execrec_config_load_env(execrec_config_t *conf, char *errstr,
                                      size_t errstr_size) EXECREC_MUSTCHECK;

/** Values: NULL when unset. key must be a key of the table, and for get_int/get_bool
 *  one of that type: the caller names keys in code, so anything else is a bug and
 *  asserted (without assertions an unknown key reads as unset, 0 or false). */
const char *execrec_config_get(const execrec_config_t *conf, const char *key);
int64_t execrec_config_get_int(const execrec_config_t *conf, const char *key);
int execrec_config_get_bool(const execrec_config_t *conf, const char *key);
/** @returns key's built-in default (the table's def: NULL when it has none); key is
 *  asserted to be a key of the table. */
const char *execrec_config_default(const char *key);
/** Writes key's flag name, without the leading dashes ("topic.trades" ->
 *  "topic-trades"), into out (cut to size). */
void execrec_config_flag_name(const char *key, char *out, size_t size);

/** @returns the properties file that set a secret (a SECRET key such as dsn, or a
 *  kafka.* property that holds one), or NULL: the caller warns when others may
 *  read it. */
const char *execrec_config_secret_file(const execrec_config_t *conf);

/** librdkafka pass-through properties, lowest precedence first (file, environment,
 *  -X). After execrec_config_parse_args each key appears once, with the value of
 *  highest precedence. */
int execrec_config_kafka_count(const execrec_config_t *conf);
void execrec_config_kafka_get(const execrec_config_t *conf, int i, const char **key,
                              const char **value);

/** Parses a subcommand's command line. keys lists the configuration keys this
 *  command accepts, each asserted to be in the table (each becomes --<key with dots
 *  as dashes> VALUE, or a plain --flag for booleans); also --config FILE, --help,
 *  and for a command that talks to Kafka (execrec_config_takes_kafka) -X key=value
 *  and -b (--brokers), and -t (--topic) if it takes topic, as in kcat. Errors name a
 *  value's source as the user gave it (--batch-size, EXECREC_BATCH_SIZE,
 *  file:line); integer keys with bounds (batch.size >= 1, ...) are checked.
 *  Positional arguments are returned in *rest / *nrest (pointers into argv). Once
 *  copied, secrets are overwritten in argv itself (the passwords of --dsn, the
 *  values of -X properties that hold one: execrec_secret_kafka_key), so that ps
 *  and /proc/PID/cmdline no longer show them.
 *  @returns 0 ok, 1 --help was given (usage printed to stdout), 2 misuse (a
 *  one-line reason printed to stderr). The file and environment are applied
 *  before the flags whatever their order on the line. */
int execrec_config_parse_args(execrec_config_t *conf, const char *cmd, const char *summary,
                              const char *const *keys, int argc, char **argv, char ***rest,
                              int *nrest);

/** Prints "--flag VALUE  help (default)" lines for keys (each asserted to be in the
 *  table), with the table's help. */
void execrec_config_usage(FILE *out, const char *const *keys);
/** The same for command cmd: each key's help in that command's words
 *  (execrec_config_help), and -b / -X only when the command talks to Kafka. */
void execrec_config_command_usage(FILE *out, const char *cmd, const char *const *keys);
/** @returns key's help line for command cmd: the command's own wording where
 *  config.c has one, else the table's (cmd NULL: the table's). */
const char *execrec_config_help(const char *cmd, const char *key);
/** @returns 1 when a command with these keys talks to Kafka (it takes brokers):
 *  it accepts -b HOST:PORT, -X (and -t TOPIC with topic), 0 otherwise (-X is then
 *  misuse). */
int execrec_config_takes_kafka(const char *const *keys);

#endif
