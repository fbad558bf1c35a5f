/* `execrec migrate`: apply the SQL migrations (embedded, or --dir) to the database,
 * or list their state with --status. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include "execrec/cli.h"
#include "execrec/migrate.h"
#include "execrec/pg.h"

static void usage(FILE *out) {
    fprintf(out, "usage: execrec migrate [--dsn CONNINFO] [--dir DIR] [--status]\n"
                 "\n"
                 "Creates or updates the execution schema: applies every pending migration in\n"
                 "version order, each in its own transaction, then creates the monthly\n"
                 "partitions from last month to 12 months ahead. Safe to run concurrently and\n"
                 "repeatedly; an applied migration whose file has changed is refused.\n"
                 "\n"
                 "options:\n"
                 "  --dsn CONNINFO  libpq connection string or URI (default: $EXECREC_DSN,\n"
                 "                  else the PG* environment variables)\n"
                 "  --dir DIR       read NNNN_name.sql files from DIR instead of the set\n"
                 "                  built into this binary\n"
                 "  --status        list each migration's state; change nothing\n"
                 "                  (exit 1 if a migration is changed or unknown)\n"
                 "  -h, --help      show this help\n");
}

static void print_status(const char *version, const char *name, execrec_migrate_state_t state,
                         const char *applied_at, void *opaque) {
    (void)version;
    (void)opaque;
    printf("%-8s %-40s %s\n", execrec_migrate_state_name(state), name,
           applied_at ? applied_at : "");
}

int execrec_cli_migrate(int argc, char **argv) {
    static const struct option longopts[] = {
        {"dsn", required_argument, NULL, 'd'},
        {"dir", required_argument, NULL, 'D'},
        {"status", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dsn = getenv("EXECREC_DSN");
    const char *dir = NULL;
    int status = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dsn = optarg;
            break;
        case 'D':
            dir = optarg;
            break;
        case 's':
            status = 1;
            break;
        case 'h':
            usage(stdout);
            return EXECREC_EXIT_OK;
        case ':':
            fprintf(stderr, "execrec migrate: option %s needs a value (see --help)\n",
                    argv[optind - 1]);
            return EXECREC_EXIT_USAGE;
        default:
            fprintf(stderr, "execrec migrate: unknown option %s (see --help)\n", argv[optind - 1]);
            return EXECREC_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "execrec migrate: unexpected argument '%s' (see --help)\n", argv[optind]);
        return EXECREC_EXIT_USAGE;
    }

    char errstr[1024];
    PGconn *conn = execrec_pg_connect(dsn, errstr, sizeof(errstr));
    if (!conn) {
        fprintf(stderr, "execrec migrate: %s\n", errstr);
        return EXECREC_EXIT_FAIL;
    }
    int ret = EXECREC_EXIT_OK;
    if (status) {
        int pending = 0, problems = 0;
        execrec_err_t err = execrec_migrate_status(conn, dir, print_status, NULL, &pending,
                                                   &problems, errstr, sizeof(errstr));
        if (err) {
            fprintf(stderr, "execrec migrate: %s\n", errstr);
            ret = EXECREC_EXIT_FAIL;
        } else {
            printf("%d pending migration(s)\n", pending);
            if (problems) {
                fprintf(stderr, "execrec migrate: %d migration(s) changed or unknown\n", problems);
                ret = EXECREC_EXIT_FAIL;
            }
        }
    } else {
        int applied = 0;
        execrec_err_t err = execrec_migrate(conn, dir, &applied, errstr, sizeof(errstr));
        if (err) {
            fprintf(stderr, "execrec migrate: %s\n", errstr);
            ret = EXECREC_EXIT_FAIL;
        } else if (applied) {
            printf("applied %d migration(s)\n", applied);
        } else {
            printf("database is up to date\n");
        }
    }
    PQfinish(conn);
    return ret;
}
