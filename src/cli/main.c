/* execrec: dispatch to a subcommand. Nothing else lives here. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

static void usage(FILE *out) {
    fprintf(out, "usage: execrec [--version] [--help] <command> [options]\n"
                 "\n"
                 "Records orders, order events, trades and order-manager intents from Kafka\n"
                 "into PostgreSQL, exactly once.\n"
                 "\n"
                 "commands:\n");
    for (const execrec_cli_cmd_t *cmd = execrec_cli_commands; cmd->name; cmd++)
        fprintf(out, "  %-10s %s\n", cmd->name, cmd->help);
    fprintf(out, "\n'execrec <command> --help' describes a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXECREC_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return EXECREC_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        printf("execrec %s\n", EXECREC_VERSION);
        return EXECREC_EXIT_OK;
    }
    for (const execrec_cli_cmd_t *cmd = execrec_cli_commands; cmd->name; cmd++)
        if (!strcmp(cmd->name, name))
            return cmd->handler(argc - 1, argv + 1);
    fprintf(stderr, "execrec: unknown command '%s' (see 'execrec --help')\n", name);
    return EXECREC_EXIT_USAGE;
}
