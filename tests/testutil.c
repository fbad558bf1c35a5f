/* Shared test helpers, see testutil.h. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

int tu_run_suite(Suite *suite) {
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void quiet(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

char *tu_pg_create_db(const char *prefix) {
    static int n;
    char name[128], sql[256];
    snprintf(name, sizeof(name), "execrec_%s_%d_%d", prefix, (int)getpid(), n++);
    PGconn *admin = PQconnectdb("dbname=postgres");
    if (PQstatus(admin) != CONNECTION_OK)
        ck_abort_msg("PostgreSQL is required (PG* environment, see deploy/test.sh): %s",
                     PQerrorMessage(admin));
    PQsetNoticeProcessor(admin, quiet, NULL);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", name);
    PQclear(PQexec(admin, sql));
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    PGresult *res = PQexec(admin, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        ck_abort_msg("CREATE DATABASE failed: %s", PQerrorMessage(admin));
    PQclear(res);
    PQfinish(admin);
    char *conninfo = malloc(160);
    snprintf(conninfo, 160, "dbname=%s", name);
    return conninfo;
}

void tu_pg_drop_db(char *conninfo) {
    if (!conninfo)
        return;
    PGconn *admin = PQconnectdb("dbname=postgres");
    if (PQstatus(admin) == CONNECTION_OK) {
        char sql[256];
        PQsetNoticeProcessor(admin, quiet, NULL);
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", conninfo + 7);
        PQclear(PQexec(admin, sql));
    }
    PQfinish(admin);
    free(conninfo);
}

PGconn *tu_pg_connect(const char *conninfo) {
    PGconn *conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK)
        ck_abort_msg("connect %s: %s", conninfo, PQerrorMessage(conn));
    PQsetNoticeProcessor(conn, quiet, NULL);
    return conn;
}

void tu_pg_exec(PGconn *conn, const char *sql) {
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        ck_abort_msg("SQL failed: %s\n%s", sql, PQerrorMessage(conn));
    PQclear(res);
}

char *tu_pg_scalar(PGconn *conn, const char *sql) {
    PGresult *res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        ck_abort_msg("SQL failed: %s\n%s", sql, PQerrorMessage(conn));
    char *v = NULL;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

long long tu_pg_count(PGconn *conn, const char *sql) {
    char *v = tu_pg_scalar(conn, sql);
    ck_assert_msg(v != NULL, "no value from: %s", sql);
    long long n = atoll(v);
    free(v);
    return n;
}

const char *tu_source_dir(void) {
    const char *d = getenv("EXECREC_SOURCE_DIR");
    return d ? d : EXECREC_SOURCE_DIR;
}

char *tu_source_path(const char *rel) {
    const char *dir = tu_source_dir();
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t tu_replay_dir(const char *dir,
                     int (*check)(const unsigned char *data, size_t len, char *why,
                                  size_t why_size),
                     int *failed) {
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s", dir);
    char **names = NULL;
    size_t n = 0, cap = 0, files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            names = realloc(names, cap * sizeof(*names));
            ck_assert_ptr_nonnull(names);
        }
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n; i++) {
        char path[8192], why[512];
        struct stat st;
        size_t len;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        /* Subdirectories hold other targets' inputs: not ours to replay. */
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            char *data = tu_read_file(path, &len);
            if (check((const unsigned char *)data, len, why, sizeof(why)) != 0) {
                fprintf(stderr, "%s: %s\n", path, why);
                (*failed)++;
            }
            free(data);
            files++;
        }
        free(names[i]);
    }
    free(names);
    return files;
}

const char *tu_bin(void) {
    const char *b = getenv("EXECREC_BIN");
    ck_assert_msg(b != NULL, "EXECREC_BIN is not set (run the tests with ctest)");
    return b;
}

char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        ck_abort_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size + 1);
    size_t got = fread(data, 1, (size_t)size, f);
    fclose(f);
    ck_assert_msg(got == (size_t)size, "short read of %s", path);
    data[got] = '\0';
    if (len)
        *len = got;
    return data;
}

int tu_run(const char *cmd, char **out) {
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (cap - len < 1024) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[len] = '\0';
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
