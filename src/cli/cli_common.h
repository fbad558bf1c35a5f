/* Pieces shared by the subcommands: the prologue every handler opens with (the
 * configuration from the command line, --help, log level), and building a codec
 * (format, plain Avro schema, offline registry) from it. Private to src/cli. */
#ifndef EXECREC_CLI_COMMON_H
#define EXECREC_CLI_COMMON_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include "base/sig.h"
#include "execrec/avro.h"
#include "execrec/schemamap.h"
#include "app/metrics_http.h"
#include "app/telemetry.h"
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
 *  the config table (the flags of keys, plus log.format for every command and
 *  dsn.file where dsn is a key; --config FILE, EXECREC_* environment, -X, --help;
 *  see execrec_config_parse_args, whose rest/nrest these are: secrets in argv are
 *  overwritten there), then log.level and log.format applied, dsn.file read into dsn,
 *  and a WARN logged for each file holding a secret that others may read (the
 *  --config file, the --dsn-file, libpq's password file for commands with dsn,
 *  librdkafka's ssl.key.location and sasl.kerberos.keytab); for a command that talks
 *  to Kafka (it takes brokers) every -X is checked (execrec_kafka_check_props) and
 *  --brokers embedded refused but in run.
 *  @returns the configuration, which the caller destroys; or NULL with *exit_code
 *  the handler's return value: EXECREC_EXIT_OK after --help (usage printed),
 *  EXECREC_EXIT_USAGE on misuse, an unknown log level or format, a --dsn-file that
 *  cannot be read or given with --dsn; EXECREC_EXIT_FAIL out of memory (reason
 *  printed in every case). */
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

/** Reads batch.bytes and reject.payload.max (ingest.h's batch_bytes and
 *  reject_payload_max). @returns 0, or EXECREC_EXIT_USAGE (reason printed, naming
 *  the flag) when batch.bytes < 1 or reject.payload.max is outside [0, 1 GiB]. */
int cli_batch_limits(const execrec_config_t *conf, const char *cmd, int64_t *batch_bytes,
                     int64_t *reject_payload_max);

/** The topic of each kind from topic.orders, topic.events, topic.trades and
 *  topic.managers; NULL where the key is empty (that kind is not consumed). */
void cli_topics(const execrec_config_t *conf, const char *topic[EXECREC_KIND__CNT]);

/** Installs SIGINT/SIGTERM handlers (no SA_RESTART, so sleeps wake up) that count
 *  the signals received, up to 2, a SIGHUP handler that counts SIGHUPs (so that a
 *  SIGHUP never kills: the command logs and ignores it), and ignores SIGPIPE.
 *  @returns the counter: 0 = run, 1 = stop, 2 = stop without waiting. */
volatile execrec_sig_t *cli_stop_signals(void);

/** The number of the last SIGINT/SIGTERM (0: none), and the count of SIGHUPs,
 *  both kept by cli_stop_signals' handlers. */
volatile execrec_sig_t *cli_last_signal(void);
volatile execrec_sig_t *cli_hup_signals(void);

/** Makes the shutdown deadline hard: the first stop signal arms a watchdog that
 *  ends the process with status 1 after seconds, whatever it is doing then (a
 *  libpq or librdkafka call that blocks included). The command's own waits end
 *  before it (execrec_ingest_deadline keeps a reserve), so the watchdog only fires
 *  when something hangs; what was not committed is consumed again on the next
 *  start. seconds <= 0: no watchdog. */
void cli_shutdown_watchdog(int64_t seconds);

/** Reads --shutdown-timeout (seconds) for cmd, arms the watchdog with it.
 *  @returns the timeout in ms, or -1 (reason printed) when it is below 1. */
int64_t cli_shutdown_timeout(const execrec_config_t *conf, const char *cmd);

/** Reads the command's inputs: stdin when nfiles is 0, else each file in turn ("-" is
 *  stdin). fn(in, file, opaque) gets file = NULL for stdin and the name as given
 *  otherwise, and returns < 0 when its input could not be read. A file that cannot be
 *  opened is reported on stderr ("execrec <cmd>: <file>: <reason>").
 *  @param keep_going  0: stop at the first failure; 1: go on with the next file.
 *  @param stop        when set (a signal), no further file is started; may be NULL.
 *  @returns 0 when every input was read, 1 when one was not. */
int cli_each_input(const char *cmd, char **files, int nfiles, int keep_going,
                   volatile execrec_sig_t *stop,
                   int (*fn)(FILE *in, const char *file, void *opaque), void *opaque);

/* The metrics endpoint of run and backfill (--metrics-listen, docs/metrics.md). */
typedef struct cli_metrics_s {
    execrec_telemetry_t *telemetry; /* NULL: metrics off */
    execrec_http_t *http;
} cli_metrics_t;

/** Starts the endpoint when metrics.listen is set (else leaves *cm zeroed: off).
 *  @returns EXECREC_EXIT_OK; EXECREC_EXIT_USAGE for an address that is not HOST:PORT;
 *  EXECREC_EXIT_FAIL when it cannot listen (in use) or out of memory (reasons
 *  printed as "execrec <cmd>: --metrics-listen ..."). */
int cli_metrics_start(cli_metrics_t *cm, const execrec_config_t *conf, const char *cmd);
/** Stops the endpoint and frees the telemetry. A zeroed *cm: no-op. */
void cli_metrics_stop(cli_metrics_t *cm);

#endif
