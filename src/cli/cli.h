/* Subcommand entry points. Each takes its options from the configuration table
 * (flags, --config file, environment; one prologue, cli_begin in src/cli), prints
 * its usage on --help (exit 0) and a one-line reason on misuse (exit 2); runtime
 * failures exit 1, except reconcile's, which exit 3 (its 1 is findings). Only main() turns these return values into an exit status. */
#ifndef EXECREC_CLI_H
#define EXECREC_CLI_H

#define EXECREC_EXIT_OK 0
#define EXECREC_EXIT_FAIL 1
#define EXECREC_EXIT_USAGE 2
#define EXECREC_EXIT_ERROR 3 /* reconcile: the checks could not run (1 is findings) */

typedef struct execrec_cli_cmd_s {
    const char *name;
    int (*handler)(int argc, char **argv);
    const char *help; /* one line */
} execrec_cli_cmd_t;

/** The command table, terminated by an entry with name NULL. */
extern const execrec_cli_cmd_t execrec_cli_commands[];

int execrec_cli_run(int argc, char **argv);
int execrec_cli_broker(int argc, char **argv);
int execrec_cli_publish(int argc, char **argv);
int execrec_cli_migrate(int argc, char **argv);
int execrec_cli_decode(int argc, char **argv);
int execrec_cli_load(int argc, char **argv);
int execrec_cli_reconcile(int argc, char **argv);
int execrec_cli_partitions(int argc, char **argv);
int execrec_cli_backfill(int argc, char **argv);
int execrec_cli_status(int argc, char **argv);
int execrec_cli_offsets(int argc, char **argv);

#endif
