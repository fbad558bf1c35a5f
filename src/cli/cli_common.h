/* Pieces shared by the subcommands: the prologue every handler opens with (the
 * configuration from the command line, --help, log level), and building a codec
 * (format, plain Avro schema, offline registry) from it. Private to src/cli. */
#ifndef EXECREC_CLI_COMMON_H
#define EXECREC_CLI_COMMON_H

#include <signal.h>
#include <stdio.h>
#include "execrec/avro.h"
#include "execrec/schemamap.h"
#include "model/codec.h"
#include "execrec/config.h"
#include "execrec/record.h"
#include "execrec/registry.h"

typedef struct cli_codec_s {
    execrec_codec_t *codec;
    execrec_avro_schema_t *schema; /* plain Avro schema, if configured */
    execrec_schemamap_t *schemas;
    execrec_registry_t *http; /* the Schema Registry behind it, if a URL is given */
    execrec_format_t format;  /* the format configured for the kind */
} cli_codec_t;

/* The value of --brokers that starts the embedded broker in `execrec run`. */
#define CLI_BROKERS_EMBEDDED "embedded"

/** The prologue of every subcommand: a new configuration filled from argv through
 *  the config table (the flags of keys, --config FILE, EXECREC_* environment, -X,
 *  --help; see execrec_config_parse_args, whose rest/nrest these are), then log.level
 *  applied; for a command that talks to Kafka (it takes brokers) every -X is
 *  checked (execrec_kafka_check_props) and --brokers embedded refused but in run. @returns the configuration, which the caller destroys; or NULL with
 *  *exit_code the handler's return value: EXECREC_EXIT_OK after --help (usage
 *  printed), EXECREC_EXIT_USAGE on misuse or an unknown log level, EXECREC_EXIT_FAIL
 *  out of memory (reason printed in both cases). */
execrec_config_t *cli_begin(const char *cmd, const char *summary, const char *const *keys, int argc,
                            char **argv, char ***rest, int *nrest, int *exit_code);

/** Reads the kind key. @returns 0, or EXECREC_EXIT_USAGE (reason printed) when it
 *  is missing or unknown. */
int cli_parse_kind(const execrec_config_t *conf, const char *cmd, execrec_kind_t *kind);

/** Opens the registries of registry, registry.map and registry.timeout.ms into
 *  *reg (NULL when none is configured) and *http (NULL unless registry is a URL;
 *  then it is the lookup behind *reg). The caller destroys both, also on failure.
 *  @returns 0, EXECREC_EXIT_USAGE (a map given twice) or EXECREC_EXIT_FAIL (reason
 *  printed). */
int cli_registry_open(const execrec_config_t *conf, const char *cmd, execrec_schemamap_t **reg,
                      execrec_registry_t **http);

/** Builds cc from format, avro.schema, registry and max.message.bytes for messages
 *  of kind (EXECREC_KIND__CNT: of every kind, as the recorder reads). @returns 0, EXECREC_EXIT_USAGE or EXECREC_EXIT_FAIL (reason printed). */
int cli_codec_open(cli_codec_t *cc, const execrec_config_t *conf, execrec_kind_t kind,
                   const char *cmd);
void cli_codec_close(cli_codec_t *cc);

/** The topic of each kind from topic.orders, topic.events, topic.trades and
 *  topic.managers; NULL where the key is empty (that kind is not consumed). */
void cli_topics(const execrec_config_t *conf, const char *topic[EXECREC_KIND__CNT]);

/** Installs SIGINT/SIGTERM handlers (no SA_RESTART, so sleeps wake up) that count
 *  the signals received, up to 2, and ignores SIGPIPE.
 *  @returns the counter: 0 = run, 1 = stop, 2 = stop without waiting. */
volatile sig_atomic_t *cli_stop_signals(void);

/** Reads the command's inputs: stdin when nfiles is 0, else each file in turn ("-" is
 *  stdin). fn(in, file, opaque) gets file = NULL for stdin and the name as given
 *  otherwise, and returns < 0 when its input could not be read. A file that cannot be
 *  opened is reported on stderr ("execrec <cmd>: <file>: <reason>").
 *  @param keep_going  0: stop at the first failure; 1: go on with the next file.
 *  @param stop        when set (a signal), no further file is started; may be NULL.
 *  @returns 0 when every input was read, 1 when one was not. */
int cli_each_input(const char *cmd, char **files, int nfiles, int keep_going,
                   volatile sig_atomic_t *stop, int (*fn)(FILE *in, const char *file, void *opaque),
                   void *opaque);

#endif
