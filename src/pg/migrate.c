/* Applies the numbered SQL files of migrations/ (embedded or from a directory) in
 * version order, each in its own transaction under an advisory lock, recording each
 * file's sha256 in execution.schema_migrations and refusing edited files. See
 * migrate.h.
 *
 * Checksums are computed by the server (sha256(bytea), PostgreSQL 11+) rather than
 * in C: the library does not link OpenSSL, and a hand-written SHA-256 would be code
 * to test for a value only PostgreSQL ever compares. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"
#include "base/log.h"
#include "execrec/config.h"
#include "pg/migrate.h"
#include "pg/pg.h"

/* Key of the transaction-level advisory lock that serialises migrators: "execrec"
 * in ASCII. Transaction-level rather than session-level so that a crashed or
 * disconnected migrator can never leave it held. */
#define MIGRATE_LOCK_SQL "SELECT pg_advisory_xact_lock(28561349503247715)"

#define MIGRATE_TABLE_SQL                                                                          \
    "CREATE SCHEMA IF NOT EXISTS execution;"                                                       \
    "CREATE TABLE IF NOT EXISTS execution.schema_migrations ("                                     \
    " version text PRIMARY KEY,"                                                                   \
    " name text NOT NULL,"                                                                         \
    " checksum text NOT NULL," /* sha256 of the file's bytes, lower-case hex */                    \
    " applied_at timestamptz NOT NULL DEFAULT now())"

typedef struct mig_s {
    char version[32];
    char *name;          /* owned */
    unsigned char *data; /* owned when read from a directory, else NULL */
    const unsigned char *bytes;
    size_t len;
    char checksum[65];
} mig_t;

typedef struct miglist_s {
    mig_t *v;
    int n;
} miglist_t;

static void miglist_free(miglist_t *list) {
    for (int i = 0; i < list->n; i++) {
        free(list->v[i].name);
        free(list->v[i].data);
    }
    free(list->v);
    list->v = NULL;
    list->n = 0;
}

/* "0012_name.sql" -> "0012". @returns 0, or -1 if name is not a migration file. */
static int parse_version(const char *name, char *version, size_t version_size) {
    size_t digits = strspn(name, "0123456789");
    size_t len = strlen(name);
    if (digits == 0 || digits >= version_size || name[digits] != '_' || len < digits + 6 ||
        strcmp(name + len - 4, ".sql"))
        return -1;
    memcpy(version, name, digits);
    version[digits] = '\0';
    return 0;
}

/* Orders versions numerically (shorter digit strings first after stripping leading
 * zeros), so "9" < "10" even without zero padding. */
static int version_cmp(const char *a, const char *b) {
    while (*a == '0' && a[1])
        a++;
    while (*b == '0' && b[1])
        b++;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la < lb ? -1 : 1;
    return strcmp(a, b);
}

static int mig_cmp(const void *pa, const void *pb) {
    const mig_t *a = pa, *b = pb;
    int c = version_cmp(a->version, b->version);
    return c ? c : strcmp(a->name, b->name);
}

static execrec_err_t miglist_add(miglist_t *list, const char *name, unsigned char *owned,
                                 const unsigned char *bytes, size_t len, char *errstr,
                                 size_t errstr_size) {
    char version[32];
    if (parse_version(name, version, sizeof(version))) {
        free(owned);
        return EXECREC_OK; /* not a migration: README, editor backups, ... */
    }
    if (memchr(bytes, '\0', len)) {
        snprintf(errstr, errstr_size, "migration %s contains a NUL byte", name);
        free(owned);
        return EXECREC_ERR_INVALID;
    }
    mig_t *v = realloc(list->v, (size_t)(list->n + 1) * sizeof(*v));
    if (!v) {
        free(owned);
        snprintf(errstr, errstr_size, "out of memory");
        return EXECREC_ERR_NOMEM;
    }
    list->v = v;
    mig_t *mig = &list->v[list->n];
    memset(mig, 0, sizeof(*mig));
    mig->name = strdup(name);
    if (!mig->name) {
        free(owned);
        snprintf(errstr, errstr_size, "out of memory");
        return EXECREC_ERR_NOMEM;
    }
    snprintf(mig->version, sizeof(mig->version), "%s", version);
    mig->data = owned;
    mig->bytes = bytes;
    mig->len = len;
    list->n++;
    return EXECREC_OK;
}

/* Reads a whole file, NUL-terminated (migrations are executed as C strings). */
static execrec_err_t read_file(const char *path, unsigned char **data, size_t *len, char *errstr,
                               size_t errstr_size) {
    execrec_buf_t b = EXECREC_BUF_INIT;
    execrec_err_t err = execrec_buf_read_file(&b, path, 0, errstr, errstr_size);
    if (err) {
        execrec_buf_free(&b);
        return err;
    }
    *len = b.len;
    *data = (unsigned char *)execrec_buf_steal(&b);
    return EXECREC_OK;
}

/* Loads the migrations (embedded when dir is NULL), sorted by version; two files
 * with one version are refused. */
static execrec_err_t miglist_load(miglist_t *list, const char *dir, char *errstr,
                                  size_t errstr_size) {
    execrec_err_t err = EXECREC_OK;
    if (!dir) {
        for (const execrec_migration_file_t *f = execrec_migrations_embedded; f->name; f++)
            if ((err = miglist_add(list, f->name, NULL, f->data, f->len, errstr, errstr_size)))
                return err;
    } else {
        DIR *dp = opendir(dir);
        if (!dp) {
            snprintf(errstr, errstr_size, "cannot open migrations directory %s: %s", dir,
                     strerror(errno));
            return EXECREC_ERR_IO;
        }
        struct dirent *de;
        while (!err && (de = readdir(dp))) {
            char version[32], path[4096];
            if (parse_version(de->d_name, version, sizeof(version)))
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            unsigned char *data = NULL;
            size_t len = 0;
            if (!(err = read_file(path, &data, &len, errstr, errstr_size)))
                err = miglist_add(list, de->d_name, data, data, len, errstr, errstr_size);
        }
        closedir(dp);
        if (err)
            return err;
    }
    if (list->n == 0) {
        snprintf(errstr, errstr_size, "no migrations (NNNN_name.sql) found in %s",
                 dir ? dir : "the embedded set");
        return EXECREC_ERR_INVALID;
    }
    qsort(list->v, (size_t)list->n, sizeof(*list->v), mig_cmp);
    for (int i = 1; i < list->n; i++) {
        if (!version_cmp(list->v[i - 1].version, list->v[i].version)) {
            snprintf(errstr, errstr_size, "migrations %s and %s have the same version",
                     list->v[i - 1].name, list->v[i].name);
            return EXECREC_ERR_INVALID;
        }
    }
    return EXECREC_OK;
}

/* Fills every file's checksum: lower-case hex sha256, computed by the server. */
static execrec_err_t miglist_checksum(PGconn *conn, miglist_t *list, char *errstr,
                                      size_t errstr_size) {
    for (int i = 0; i < list->n; i++) {
        mig_t *mig = &list->v[i];
        const char *values[1] = {(const char *)mig->bytes};
        int lengths[1] = {(int)mig->len};
        int formats[1] = {1};
        PGresult *res = PQexecParams(conn, "SELECT encode(sha256($1::bytea), 'hex')", 1, NULL,
                                     values, lengths, formats, 0);
        execrec_err_t err = execrec_pg_result_check(conn, res, errstr, errstr_size);
        if (!err && (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != 64)) {
            snprintf(errstr, errstr_size, "unexpected sha256 result");
            err = EXECREC_ERR_PG;
        }
        if (!err)
            memcpy(mig->checksum, PQgetvalue(res, 0, 0), 65);
        PQclear(res);
        if (err)
            return err;
    }
    return EXECREC_OK;
}

static void rollback(PGconn *conn) {
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
}

/* BEGIN and take the migrators' lock. */
static execrec_err_t begin_locked(PGconn *conn, char *errstr, size_t errstr_size) {
    execrec_err_t err = execrec_pg_exec(conn, "BEGIN", errstr, errstr_size);
    if (!err)
        err = execrec_pg_exec(conn, MIGRATE_LOCK_SQL, errstr, errstr_size);
    if (err)
        rollback(conn);
    return err;
}

static const mig_t *miglist_find(const miglist_t *list, const char *version) {
    for (int i = 0; i < list->n; i++)
        if (!version_cmp(list->v[i].version, version))
            return &list->v[i];
    return NULL;
}

/* @returns 1 if execution.schema_migrations exists, 0 if not, -1 on error. */
static int table_exists(PGconn *conn, char *errstr, size_t errstr_size) {
    PGresult *res = PQexec(conn, "SELECT to_regclass('execution.schema_migrations') IS NOT NULL");
    int ret = -1;
    if (!execrec_pg_result_check(conn, res, errstr, errstr_size) && PQntuples(res) == 1)
        ret = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return ret;
}

/* Compares every applied row with the files. Runs inside the caller's transaction.
 * @returns EXECREC_OK, EXECREC_ERR_MIGRATE on a changed or unknown entry, or
 *          EXECREC_ERR_PG. */
static execrec_err_t verify_applied(PGconn *conn, const miglist_t *list, char *errstr,
                                    size_t errstr_size) {
    PGresult *res = PQexec(conn, "SELECT version, name, checksum FROM "
                                 "execution.schema_migrations ORDER BY version");
    execrec_err_t err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    for (int r = 0; !err && r < PQntuples(res); r++) {
        const char *version = PQgetvalue(res, r, 0);
        const char *name = PQgetvalue(res, r, 1);
        const char *checksum = PQgetvalue(res, r, 2);
        const mig_t *mig = miglist_find(list, version);
        if (!mig) {
            snprintf(errstr, errstr_size,
                     "the database has migration %s (%s) which this execrec does not "
                     "know: it was migrated by a newer execrec; upgrade execrec",
                     version, name);
            err = EXECREC_ERR_MIGRATE;
        } else if (strcmp(mig->checksum, checksum)) {
            snprintf(errstr, errstr_size,
                     "migration %s was changed after it was applied (applied as %s with "
                     "sha256 %s, the file now has sha256 %s); applied migrations must never "
                     "be edited: restore the file and add a new migration instead",
                     mig->name, name, checksum, mig->checksum);
            err = EXECREC_ERR_MIGRATE;
        }
    }
    PQclear(res);
    return err;
}

/* Applies one file in its own transaction unless another migrator did meanwhile.
 * @returns EXECREC_OK with *did set to 1 if applied, 0 if it was already there. */
static execrec_err_t apply_one(PGconn *conn, const mig_t *mig, int *did, char *errstr,
                               size_t errstr_size) {
    *did = 0;
    execrec_err_t err = begin_locked(conn, errstr, errstr_size);
    if (err)
        return err;
    const char *values[3] = {mig->version, mig->name, mig->checksum};
    PGresult *res = PQexecParams(conn,
                                 "SELECT checksum FROM execution.schema_migrations "
                                 "WHERE version = $1",
                                 1, NULL, values, NULL, NULL, 0);
    err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    int already = !err && PQntuples(res) > 0;
    if (already && strcmp(PQgetvalue(res, 0, 0), mig->checksum)) {
        snprintf(errstr, errstr_size,
                 "migration %s was applied concurrently with sha256 %s, the file has "
                 "sha256 %s",
                 mig->name, PQgetvalue(res, 0, 0), mig->checksum);
        err = EXECREC_ERR_MIGRATE;
    }
    PQclear(res);
    if (err || already) {
        rollback(conn);
        return err;
    }

    char pgerr[1024];
    /* The bytes are NUL-terminated (embedded with a trailing NUL; read_file adds one)
     * and hold no NUL (miglist_add). Several statements run as one simple query. */
    err = execrec_pg_exec(conn, (const char *)mig->bytes, pgerr, sizeof(pgerr));
    if (err) {
        snprintf(errstr, errstr_size, "migration %s failed: %s", mig->name, pgerr);
        rollback(conn);
        return EXECREC_ERR_MIGRATE;
    }
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        /* The file ended our transaction (COMMIT/ROLLBACK in it): its effects can
         * no longer be recorded atomically. */
        snprintf(errstr, errstr_size,
                 "migration %s ended the transaction it runs in: remove BEGIN/COMMIT/"
                 "ROLLBACK from it (each file already runs in its own transaction)",
                 mig->name);
        rollback(conn);
        return EXECREC_ERR_MIGRATE;
    }
    res = PQexecParams(conn,
                       "INSERT INTO execution.schema_migrations (version, name, checksum) "
                       "VALUES ($1, $2, $3)",
                       3, NULL, values, NULL, NULL, 0);
    err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    PQclear(res);
    if (!err)
        err = execrec_pg_exec(conn, "COMMIT", errstr, errstr_size);
    if (err) {
        rollback(conn);
        return err;
    }
    *did = 1;
    return EXECREC_OK;
}

static execrec_err_t check_conn(PGconn *conn, char *errstr, size_t errstr_size) {
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        snprintf(errstr, errstr_size, "no PostgreSQL connection");
        return EXECREC_ERR_PG;
    }
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        snprintf(errstr, errstr_size, "the connection is inside a transaction");
        return EXECREC_ERR_INVALID;
    }
    return EXECREC_OK;
}

execrec_err_t execrec_migrate_ensure_partitions(PGconn *conn, int months_back, int months_ahead,
                                                int *created, char *errstr, size_t errstr_size) {
    if (created)
        *created = 0;
    if (months_back < 0 || months_ahead < 0 || months_back > 1200 || months_ahead > 1200) {
        snprintf(errstr, errstr_size, "months_back and months_ahead must be in 0..1200");
        return EXECREC_ERR_INVALID;
    }
    execrec_err_t err = check_conn(conn, errstr, errstr_size);
    if (err)
        return err;
    char back[16], ahead[16];
    snprintf(back, sizeof(back), "%d", months_back);
    snprintf(ahead, sizeof(ahead), "%d", months_ahead);
    const char *values[2] = {back, ahead};
    if ((err = begin_locked(conn, errstr, errstr_size)))
        return err;
    PGresult *res = PQexecParams(
        conn,
        "SELECT execution.ensure_partitions("
        " (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => $1::int))::date,"
        " (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => "
        "$2::int))::date)",
        2, NULL, values, NULL, NULL, 0);
    err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    if (!err && created && PQntuples(res) == 1)
        *created = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!err)
        err = execrec_pg_exec(conn, "COMMIT", errstr, errstr_size);
    if (err)
        rollback(conn);
    return err;
}

execrec_err_t execrec_migrate(PGconn *conn, const char *dir, int *applied, char *errstr,
                              size_t errstr_size) {
    if (applied)
        *applied = 0;
    execrec_err_t err = check_conn(conn, errstr, errstr_size);
    if (err)
        return err;
    miglist_t list = {NULL, 0};
    if ((err = miglist_load(&list, dir, errstr, errstr_size)) ||
        (err = miglist_checksum(conn, &list, errstr, errstr_size))) {
        miglist_free(&list);
        return err;
    }

    /* 1. Under the lock: create the tracking table if needed, verify every applied
     *    file. A changed file stops everything before anything is applied. */
    if ((err = begin_locked(conn, errstr, errstr_size)))
        goto out;
    int exists = table_exists(conn, errstr, errstr_size);
    if (exists < 0)
        err = EXECREC_ERR_PG;
    else if (!exists)
        err = execrec_pg_exec(conn, MIGRATE_TABLE_SQL, errstr, errstr_size);
    if (!err)
        err = verify_applied(conn, &list, errstr, errstr_size);
    if (!err)
        err = execrec_pg_exec(conn, "COMMIT", errstr, errstr_size);
    if (err) {
        rollback(conn);
        goto out;
    }

    /* 2. Each file in its own transaction; apply_one re-checks under the lock, so a
     *    migrator that raced us finds the file applied and skips it. */
    for (int i = 0; i < list.n; i++) {
        int did = 0;
        if ((err = apply_one(conn, &list.v[i], &did, errstr, errstr_size)))
            goto out;
        if (did) {
            execrec_log_info("applied migration %s (sha256 %s)", list.v[i].name,
                             list.v[i].checksum);
            if (applied)
                (*applied)++;
        }
    }

    /* 3. Partitions around now(): not part of any checksummed file. */
    int created = 0;
    err = execrec_migrate_ensure_partitions(conn, EXECREC_MIGRATE_MONTHS_BACK,
                                            EXECREC_CONFIG_MONTHS_AHEAD, &created, errstr,
                                            errstr_size);
    if (!err && created)
        execrec_log_debug("created %d partition(s)", created);
out:
    miglist_free(&list);
    return err;
}

execrec_err_t execrec_migrate_is_owner(PGconn *conn, int *owner, char *errstr, size_t errstr_size) {
    *owner = 0;
    execrec_err_t err = check_conn(conn, errstr, errstr_size);
    if (err)
        return err;
    PGresult *res = PQexec(conn, "SELECT coalesce(bool_or(pg_has_role(current_user, nspowner, "
                                 "'USAGE')), true) FROM pg_namespace WHERE nspname = 'execution'");
    err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    if (!err)
        *owner = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return err;
}

static const char *sqlstate(const PGresult *res) {
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

execrec_err_t execrec_migrate_check(PGconn *conn, const char *dir, char *errstr,
                                    size_t errstr_size) {
    execrec_err_t err = check_conn(conn, errstr, errstr_size);
    if (err)
        return err;
    miglist_t list = {NULL, 0};
    PGresult *res = NULL;
    if ((err = miglist_load(&list, dir, errstr, errstr_size)) ||
        (err = miglist_checksum(conn, &list, errstr, errstr_size)))
        goto out;
    const char *need = list.v[list.n - 1].version;
    res = PQexec(conn, "SELECT version FROM execution.schema_migrations");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *st = sqlstate(res);
        if (!strcmp(st, "42P01") || !strcmp(st, "3F000")) {
            snprintf(errstr, errstr_size,
                     "schema execution has no migrations applied, this execrec needs version "
                     "%s: run execrec migrate as the owner",
                     need);
            err = EXECREC_ERR_MIGRATE;
        } else if (!strcmp(st, "42501")) {
            snprintf(errstr, errstr_size,
                     "role %s may not read execution.schema_migrations: grant it "
                     "%s (GRANT %s TO %s), and if the schema is older than this execrec "
                     "(version %s), run execrec migrate as the owner",
                     PQuser(conn), EXECREC_MIGRATE_WRITER_ROLE, EXECREC_MIGRATE_WRITER_ROLE,
                     PQuser(conn), need);
            err = EXECREC_ERR_MIGRATE;
        } else {
            err = execrec_pg_result_check(conn, res, errstr, errstr_size);
        }
        goto out;
    }
    const char *at = NULL;
    for (int r = 0; r < PQntuples(res); r++)
        if (!at || version_cmp(PQgetvalue(res, r, 0), at) > 0)
            at = PQgetvalue(res, r, 0);
    /* Changed or unknown files first: their message says more than a version. */
    if ((err = verify_applied(conn, &list, errstr, errstr_size)))
        goto out;
    for (int i = 0; i < list.n; i++) {
        int applied = 0;
        for (int r = 0; r < PQntuples(res) && !applied; r++)
            applied = !version_cmp(PQgetvalue(res, r, 0), list.v[i].version);
        if (applied)
            continue;
        if (at && version_cmp(at, need) >= 0)
            snprintf(errstr, errstr_size,
                     "schema execution lacks migration %s, this execrec needs it: run execrec "
                     "migrate as the owner",
                     list.v[i].name);
        else
            snprintf(errstr, errstr_size,
                     "schema execution is at version %s, this execrec needs %s: run execrec "
                     "migrate as the owner",
                     at ? at : "none", need);
        err = EXECREC_ERR_MIGRATE;
        goto out;
    }
out:
    PQclear(res);
    miglist_free(&list);
    return err;
}

/* Appends to sql what an administrator runs when the migrator may not create the
 * roles: the missing CREATE ROLEs, then the grants. */
static void roles_sql(execrec_buf_t *sql, const char *user, int need_writer, int need_reader) {
    execrec_buf_printf(sql,
                       "-- execrec migrate: role %s may not create the group roles (it has "
                       "neither SUPERUSER nor CREATEROLE).\n"
                       "-- Run this as a superuser (docs/roles.md), or create the roles and "
                       "run execrec migrate again:\n",
                       user);
    if (need_writer)
        execrec_buf_puts(sql, "CREATE ROLE " EXECREC_MIGRATE_WRITER_ROLE " NOLOGIN;\n");
    if (need_reader)
        execrec_buf_puts(sql, "CREATE ROLE " EXECREC_MIGRATE_READER_ROLE " NOLOGIN;\n");
    execrec_buf_puts(sql, "SELECT execution.grant_roles();\n");
}

execrec_err_t execrec_migrate_roles(PGconn *conn, int create, int *missing, execrec_buf_t *sql,
                                    char *errstr, size_t errstr_size) {
    *missing = 0;
    execrec_err_t err = check_conn(conn, errstr, errstr_size);
    if (err)
        return err;
    PGresult *res = PQexec(
        conn, "SELECT to_regprocedure('execution.grant_roles()') IS NOT NULL, "
              "to_regrole('" EXECREC_MIGRATE_WRITER_ROLE "') IS NULL, "
              "to_regrole('" EXECREC_MIGRATE_READER_ROLE "') IS NULL, "
              "(SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user)");
    if ((err = execrec_pg_result_check(conn, res, errstr, errstr_size))) {
        PQclear(res);
        return err;
    }
    int have_fn = PQgetvalue(res, 0, 0)[0] == 't';
    int need[2] = {PQgetvalue(res, 0, 1)[0] == 't', PQgetvalue(res, 0, 2)[0] == 't'};
    int may_create = PQgetvalue(res, 0, 3)[0] == 't';
    PQclear(res);
    if (!have_fn) {
        execrec_log_debug("execution.grant_roles() does not exist (migrations before 0009): "
                          "no roles granted");
        *missing = -1;
        return EXECREC_OK;
    }
    static const char *const names[2] = {EXECREC_MIGRATE_WRITER_ROLE, EXECREC_MIGRATE_READER_ROLE};
    for (int i = 0; i < 2; i++) {
        if (!need[i] || !create || !may_create)
            continue;
        /* Roles belong to the cluster: a migrator of another database may create it
         * at the same moment (duplicate_object, or unique_violation when both
         * inserted before either committed). */
        char sql_create[256];
        snprintf(sql_create, sizeof(sql_create),
                 "DO $$ BEGIN CREATE ROLE %s NOLOGIN; EXCEPTION WHEN duplicate_object OR "
                 "unique_violation THEN NULL; END $$",
                 names[i]);
        if ((err = execrec_pg_exec(conn, sql_create, errstr, errstr_size)))
            return err;
        execrec_log_info("role %s exists (NOLOGIN): grant it to the login roles that record "
                         "or read (docs/roles.md)",
                         names[i]);
        need[i] = 0;
    }
    if (need[0] || need[1]) {
        *missing = need[0] + need[1];
        if (sql)
            roles_sql(sql, PQuser(conn), need[0], need[1]);
        return EXECREC_OK;
    }
    if ((err = begin_locked(conn, errstr, errstr_size)))
        return err;
    err = execrec_pg_exec(conn, "SELECT execution.grant_roles()", errstr, errstr_size);
    if (!err)
        err = execrec_pg_exec(conn, "COMMIT", errstr, errstr_size);
    if (err)
        rollback(conn);
    return err;
}

execrec_err_t execrec_migrate_missing_months(PGconn *conn, int months_ahead, char *months,
                                             size_t months_size, char *errstr, size_t errstr_size) {
    if (months_size)
        months[0] = '\0';
    execrec_err_t err = check_conn(conn, errstr, errstr_size);
    if (err)
        return err;
    char ahead[16];
    snprintf(ahead, sizeof(ahead), "%d", months_ahead < 0 ? 0 : months_ahead);
    const char *values[1] = {ahead};
    PGresult *res = PQexecParams(
        conn,
        "SELECT coalesce(string_agg(to_char(m, 'YYYY-MM'), ', ' ORDER BY m), '') "
        "FROM generate_series(date_trunc('month', now() AT TIME ZONE 'UTC'), "
        " date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => $1::int), "
        " interval '1 month') AS m "
        "WHERE EXISTS (SELECT 1 FROM unnest(ARRAY['ordersts', 'ordereventsts', 'tradests']) t "
        " WHERE to_regclass(format('execution.%s_y%sm%s', t, to_char(m, 'YYYY'), "
        " to_char(m, 'MM'))) IS NULL)",
        1, NULL, values, NULL, NULL, 0);
    err = execrec_pg_result_check(conn, res, errstr, errstr_size);
    if (!err && months_size)
        snprintf(months, months_size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return err;
}

const char *execrec_migrate_state_name(execrec_migrate_state_t state) {
    switch (state) {
    case EXECREC_MIGRATE_APPLIED:
        return "applied";
    case EXECREC_MIGRATE_PENDING:
        return "pending";
    case EXECREC_MIGRATE_CHANGED:
        return "changed";
    case EXECREC_MIGRATE_UNKNOWN:
        return "unknown";
    }
    return "?";
}

execrec_err_t execrec_migrate_status(PGconn *conn, const char *dir, execrec_migrate_status_cb_t *cb,
                                     void *opaque, int *pending, int *problems, char *errstr,
                                     size_t errstr_size) {
    if (pending)
        *pending = 0;
    if (problems)
        *problems = 0;
    execrec_err_t err = check_conn(conn, errstr, errstr_size);
    if (err)
        return err;
    miglist_t list = {NULL, 0};
    PGresult *res = NULL;
    if ((err = miglist_load(&list, dir, errstr, errstr_size)) ||
        (err = miglist_checksum(conn, &list, errstr, errstr_size)))
        goto out;
    int exists = table_exists(conn, errstr, errstr_size);
    if (exists < 0) {
        err = EXECREC_ERR_PG;
        goto out;
    }
    int nrows = 0;
    if (exists) {
        res = PQexec(conn, "SELECT version, name, checksum, applied_at::text "
                           "FROM execution.schema_migrations");
        if ((err = execrec_pg_result_check(conn, res, errstr, errstr_size)))
            goto out;
        nrows = PQntuples(res);
    }
    /* Files in version order, then versions only the database knows. */
    for (int i = 0; i < list.n; i++) {
        const mig_t *mig = &list.v[i];
        int row = -1;
        for (int r = 0; r < nrows && row < 0; r++)
            if (!version_cmp(PQgetvalue(res, r, 0), mig->version))
                row = r;
        execrec_migrate_state_t state = EXECREC_MIGRATE_PENDING;
        if (row >= 0)
            state = strcmp(PQgetvalue(res, row, 2), mig->checksum) ? EXECREC_MIGRATE_CHANGED
                                                                   : EXECREC_MIGRATE_APPLIED;
        if (state == EXECREC_MIGRATE_PENDING && pending)
            (*pending)++;
        if (state == EXECREC_MIGRATE_CHANGED && problems)
            (*problems)++;
        if (cb)
            cb(mig->version, mig->name, state, row >= 0 ? PQgetvalue(res, row, 3) : NULL, opaque);
    }
    for (int r = 0; r < nrows; r++) {
        if (miglist_find(&list, PQgetvalue(res, r, 0)))
            continue;
        if (problems)
            (*problems)++;
        if (cb)
            cb(PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), EXECREC_MIGRATE_UNKNOWN,
               PQgetvalue(res, r, 3), opaque);
    }
out:
    PQclear(res);
    miglist_free(&list);
    return err;
}
