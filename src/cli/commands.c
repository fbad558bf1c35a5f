/* The subcommand table scanned by main(). */
#include <stddef.h>
#include "cli/cli.h"

const execrec_cli_cmd_t execrec_cli_commands[] = {
    {"run", execrec_cli_run, "record the Kafka topics into PostgreSQL, exactly once"},
    {"backfill", execrec_cli_backfill,
     "replay a range of topics (offsets or times) into the tables"},
    {"status", execrec_cli_status, "per partition: stored and committed offsets, watermarks, lag"},
    {"offsets", execrec_cli_offsets,
     "list the stored positions, or reset them (a recreated topic): list | reset"},
    {"publish", execrec_cli_publish,
     "validate JSON lines and produce them to Kafka (JSON or Confluent Avro), keyed"},
    {"broker", execrec_cli_broker, "start the embedded development broker and print its address"},
    {"migrate", execrec_cli_migrate, "apply the SQL migrations to the database"},
    {"decode", execrec_cli_decode, "decode messages from files and print the records (no Kafka)"},
    {"load", execrec_cli_load, "record JSON-lines files into the tables without Kafka"},
    {"reconcile", execrec_cli_reconcile,
     "report facts that disagree (fills vs trades, unknown orders, stuck orders)"},
    {"partitions", execrec_cli_partitions,
     "create monthly partitions ahead, empty the default ones, apply retention"},
    {NULL, NULL, NULL},
};
