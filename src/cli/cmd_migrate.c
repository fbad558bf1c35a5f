/* `execrec migrate`: apply the SQL migrations (embedded, or --dir) to the database,
 * or list their state with --status. */
#include <stdio.h>
#include "cli/cli.h"
#include "base/buf.h"
#include "execrec/config.h"
#include "pg/migrate.h"
#include "pg/pg.h"
#include "cli_common.h"

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const migrate_keys[] = {"dsn", "dir", "status", "log.level", NULL};
/* clang-format on */

static void print_status(const char *version, const char *name, execrec_migrate_state_t state,
                         const char *applied_at, void *opaque) {
    (void)version;
    (void)opaque;
    printf("%-8s %-40s %s\n", execrec_migrate_state_name(state), name,
           applied_at ? applied_at : "");
}

#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)

/* The roles step after the files: grants, or the SQL for an administrator. */
static int migrate_roles(PGconn *conn) {
    char errstr[1024];
    int missing = 0;
    execrec_buf_t sql = EXECREC_BUF_INIT;
    execrec_err_t err = execrec_migrate_roles(conn, 1, &missing, &sql, errstr, sizeof(errstr));
    int ret = EXECREC_EXIT_OK;
    if (err) {
        fprintf(stderr, "execrec migrate: granting the roles %s and %s: %s\n",
                EXECREC_MIGRATE_WRITER_ROLE, EXECREC_MIGRATE_READER_ROLE, errstr);
        ret = EXECREC_EXIT_FAIL;
    } else if (missing > 0) {
        printf("%.*s", (int)sql.len, sql.data ? sql.data : "");
        fprintf(stderr,
                "execrec migrate: WARNING: the schema is migrated, but the group roles are "
                "missing and role %s may not create them: writers and readers have no "
                "privileges until a superuser runs the SQL printed above (docs/roles.md)\n",
                PQuser(conn));
    } else if (missing == 0) {
        printf("roles %s and %s granted\n", EXECREC_MIGRATE_WRITER_ROLE,
               EXECREC_MIGRATE_READER_ROLE);
    }
    execrec_buf_free(&sql);
    return ret;
}

int execrec_cli_migrate(int argc, char **argv) {
    int rc;
    /* clang-format off */
    execrec_config_t *conf =
        cli_begin("migrate",
                  "Creates or updates the execution schema: applies every pending migration in\n"
                  "version order, each in its own transaction, then creates the monthly\n"
                  "partitions from last month to " CLI_STR(EXECREC_CONFIG_MONTHS_AHEAD) " months ahead, and gives the group roles\n"
                  "execrec_writer and execrec_reader their privileges (docs/roles.md), creating\n"
                  "them when this role may (SUPERUSER or CREATEROLE); when it may not, prints\n"
                  "the SQL an administrator runs, warns, and still exits 0. Run it as the\n"
                  "schema's owner. Safe to run concurrently and repeatedly; an applied\n"
                  "migration whose file has changed is refused. With --status, lists each\n"
                  "migration's state and changes nothing.",
                  migrate_keys, argc, argv, NULL, NULL, &rc);
    /* clang-format on */
    if (!conf)
        return rc;
    const char *dir = execrec_config_get(conf, "dir");
    int status = execrec_config_get_bool(conf, "status");

    char errstr[1024];
    PGconn *conn = execrec_pg_connect(execrec_config_get(conf, "dsn"), errstr, sizeof(errstr));
    if (!conn) {
        fprintf(stderr, "execrec migrate: %s\n", errstr);
        execrec_config_destroy(conf);
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
        } else {
            if (applied)
                printf("applied %d migration(s)\n", applied);
            else
                printf("database is up to date\n");
            ret = migrate_roles(conn);
        }
    }
    PQfinish(conn);
    execrec_config_destroy(conf);
    return ret;
}
