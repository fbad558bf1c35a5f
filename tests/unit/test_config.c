/* The configuration table: defaults, types, file, environment, flags, precedence,
 * -X pass-through, and the exit codes of --help and misuse. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "execrec/config.h"
#include "testutil.h"

static const char *const keys[] = {"dsn", "batch.size", "format", "log.level", "brokers", NULL};

static int parse(execrec_config_t *conf, int argc, char **argv, char ***rest, int *nrest) {
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w"); /* --help prints the usage */
    int rc =
        execrec_config_parse_args(conf, "test", "A test command.", keys, argc, argv, rest, nrest);
    fclose(stdout);
    stdout = saved;
    return rc;
}

START_TEST(test_defaults_and_types) {
    char errstr[256];
    execrec_config_t *conf = execrec_config_new();
    ck_assert_int_eq(execrec_config_get_int(conf, "batch.size"), 5000);
    ck_assert_str_eq(execrec_config_get(conf, "format"), "auto");
    ck_assert_ptr_null(execrec_config_get(conf, "dsn"));
    ck_assert_int_eq(execrec_config_set(conf, "batch.size", "12x", NULL, errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(errstr, "batch.size"));
    ck_assert_int_eq(execrec_config_set(conf, "batch.size", "-3", NULL, errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    ck_assert_int_eq(execrec_config_set(conf, "no.such", "1", "f:3", errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    ck_assert_str_eq(errstr, "f:3: unknown configuration key 'no.such'");
    ck_assert_int_eq(execrec_config_set(conf, "batch.size", "250", NULL, errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_int_eq(execrec_config_get_int(conf, "batch.size"), 250);
    execrec_config_destroy(conf);
    execrec_config_destroy(NULL);
}
END_TEST

START_TEST(test_file_env_flag_precedence) {
    char path[] = "/tmp/execrec_conf_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# comment\n batch.size = 10 \nformat=json\nlog.level = debug\n"
               "kafka.fetch.max.bytes = 1048576\n");
    fclose(f);
    setenv("EXECREC_BATCH_SIZE", "20", 1);
    setenv("EXECREC_FORMAT", "avro", 1);
    execrec_config_t *conf = execrec_config_new();
    char *argv[] = {"test", "--config",    path, "--format", "json",
                    "-X",   "linger.ms=5", "a",  "b",        NULL};
    char **rest;
    int nrest;
    ck_assert_int_eq(parse(conf, 9, argv, &rest, &nrest), 0);
    ck_assert_int_eq(execrec_config_get_int(conf, "batch.size"), 20); /* env over file */
    ck_assert_str_eq(execrec_config_get(conf, "format"), "json");     /* flag over env */
    ck_assert_str_eq(execrec_config_get(conf, "log.level"), "debug"); /* file */
    ck_assert_int_eq(nrest, 2);
    ck_assert_str_eq(rest[0], "a");
    /* librdkafka keeps the last value set: the file's first, -X's last. */
    ck_assert_int_eq(execrec_config_kafka_count(conf), 2);
    const char *k, *v;
    execrec_config_kafka_get(conf, 0, &k, &v);
    ck_assert_str_eq(k, "fetch.max.bytes");
    ck_assert_str_eq(v, "1048576");
    execrec_config_kafka_get(conf, 1, &k, &v);
    ck_assert_str_eq(k, "linger.ms");
    ck_assert_str_eq(v, "5");
    unsetenv("EXECREC_BATCH_SIZE");
    unsetenv("EXECREC_FORMAT");
    execrec_config_destroy(conf);
    unlink(path);
}
END_TEST

/* EXECREC_KAFKA_<KEY> is the librdkafka property <key>; file < environment < -X,
 * whatever the order of the variables; and a file that sets a secret is known. */
START_TEST(test_kafka_env) {
    char path[] = "/tmp/execrec_conf_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "kafka.sasl.password = from-file\nkafka.sasl.username = u\n");
    fclose(f);
    setenv("EXECREC_KAFKA_SASL_PASSWORD", "from-env", 1);
    setenv("EXECREC_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", 1);
    execrec_config_t *conf = execrec_config_new();
    char x[] = "sasl.password=from-flag";
    char *argv[] = {"test", "-X", x, "--config", path, NULL};
    ck_assert_int_eq(parse(conf, 5, argv, NULL, NULL), 0);
    ck_assert_str_eq(execrec_config_secret_file(conf), path);
    const char *k, *v, *last_password = NULL, *protocol = NULL;
    int n = execrec_config_kafka_count(conf);
    ck_assert_int_eq(n, 3); /* sasl.password once, the flag's */
    for (int i = 0; i < n; i++) {
        execrec_config_kafka_get(conf, i, &k, &v);
        if (!strcmp(k, "sasl.password"))
            last_password = v;
        if (!strcmp(k, "security.protocol"))
            protocol = v;
    }
    ck_assert_str_eq(last_password, "from-flag");
    ck_assert_str_eq(protocol, "SASL_SSL");
    execrec_config_destroy(conf);

    conf = execrec_config_new(); /* no -X: the environment wins over the file */
    char *argv2[] = {"test", "--config", path, NULL};
    ck_assert_int_eq(parse(conf, 3, argv2, NULL, NULL), 0);
    execrec_config_kafka_get(conf, execrec_config_kafka_count(conf) - 1, &k, &v);
    last_password = NULL;
    for (int i = 0; i < execrec_config_kafka_count(conf); i++) {
        execrec_config_kafka_get(conf, i, &k, &v);
        if (!strcmp(k, "sasl.password"))
            last_password = v;
    }
    ck_assert_str_eq(last_password, "from-env");
    execrec_config_destroy(conf);
    unsetenv("EXECREC_KAFKA_SASL_PASSWORD");
    unsetenv("EXECREC_KAFKA_SECURITY_PROTOCOL");

    f = fopen(path, "w");
    fprintf(f, "kafka.sasl.username = u\nbatch.size = 3\n");
    fclose(f);
    conf = execrec_config_new();
    ck_assert_int_eq(parse(conf, 3, argv2, NULL, NULL), 0);
    ck_assert_ptr_null(execrec_config_secret_file(conf));
    execrec_config_destroy(conf);
    unlink(path);
}
END_TEST

/* Secrets given on the command line are kept in the configuration and overwritten
 * in argv (what ps shows); everything else is left as it was. */
START_TEST(test_secrets_masked_in_argv) {
    char dsn[] = "host=db password=pw1 dbname=x", x1[] = "sasl.password=pw2",
         x2[] = "-Xssl.key.password=pw3", x3[] = "linger.ms=5", fmt[] = "--format=json";
    char *argv[] = {"test", "--dsn", dsn, "-X", x1, x2, "-X", x3, fmt, NULL};
    execrec_config_t *conf = execrec_config_new();
    ck_assert_int_eq(parse(conf, 9, argv, NULL, NULL), 0);
    ck_assert_str_eq(execrec_config_get(conf, "dsn"), "host=db password=pw1 dbname=x");
    ck_assert_str_eq(dsn, "host=db password=*** dbname=x");
    ck_assert_str_eq(x1, "sasl.password=***");
    ck_assert_str_eq(x2, "-Xssl.key.password=***");
    ck_assert_str_eq(x3, "linger.ms=5");
    ck_assert_str_eq(fmt, "--format=json");
    const char *k, *v;
    execrec_config_kafka_get(conf, 0, &k, &v);
    ck_assert_str_eq(v, "pw2");
    execrec_config_kafka_get(conf, 1, &k, &v);
    ck_assert_str_eq(v, "pw3");
    execrec_config_destroy(conf);

    char uri[] = "--dsn=postgresql://u:pw4@db/x";
    char *argv2[] = {"test", uri, NULL};
    conf = execrec_config_new();
    ck_assert_int_eq(parse(conf, 2, argv2, NULL, NULL), 0);
    ck_assert_str_eq(execrec_config_get(conf, "dsn"), "postgresql://u:pw4@db/x");
    ck_assert_str_eq(uri, "--dsn=postgresql://u:***@db/x");
    execrec_config_destroy(conf);
}
END_TEST

START_TEST(test_file_errors_name_the_line) {
    char errstr[256];
    char path[] = "/tmp/execrec_conf_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "batch.size = 1\nthis line is wrong\n");
    fclose(f);
    execrec_config_t *conf = execrec_config_new();
    ck_assert_int_eq(execrec_config_load_file(conf, path, errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(errstr, ":2: expected 'key = value'"));
    ck_assert_int_eq(execrec_config_load_file(conf, "/nonexistent/x", errstr, sizeof(errstr)),
                     EXECREC_ERR_IO);
    execrec_config_destroy(conf);
    unlink(path);
}
END_TEST

/* Writes n bytes of text to a new temporary file; path gets its name. */
static void write_tmp(char *path, const char *text, size_t n) {
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

/* Found by fuzz_config: a line was read in 4095-byte pieces (the rest of a long one
 * became a line of its own, which could set a key), a NUL byte cut a line
 * silently, kafka.* values were cut at 4 KiB, and 'kafka. = x' blamed -X. */
START_TEST(test_file_lines_whole) {
    char errstr[256], path[] = "/tmp/execrec_conf_XXXXXX";
    size_t pem = 20000; /* an inline certificate chain is this long */
    char *text = malloc(pem + 64);
    int n = snprintf(text, 64, "kafka.ssl.ca.pem = ");
    memset(text + n, 'A', pem);
    snprintf(text + n + pem, 64, "batch.size = 1\nbatch.size = 7\n");
    write_tmp(path, text, strlen(text));
    execrec_config_t *conf = execrec_config_new();
    ck_assert_int_eq(execrec_config_load_file(conf, path, errstr, sizeof(errstr)), EXECREC_OK);
    ck_assert_int_eq(execrec_config_get_int(conf, "batch.size"), 7);
    ck_assert_int_eq(execrec_config_kafka_count(conf), 1);
    const char *k, *v;
    execrec_config_kafka_get(conf, 0, &k, &v);
    ck_assert_str_eq(k, "ssl.ca.pem");
    ck_assert_uint_eq(strlen(v), pem + strlen("batch.size = 1"));
    execrec_config_destroy(conf);
    unlink(path);
    free(text);

    /* A line over 1 MiB (say, /dev/zero given by mistake) is refused, not read on. */
    conf = execrec_config_new();
    ck_assert_int_eq(execrec_config_load_file(conf, "/dev/zero", errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    ck_assert_str_eq(errstr, "/dev/zero:1: line longer than 1048576 bytes");
    execrec_config_destroy(conf);

    strcpy(path, "/tmp/execrec_conf_XXXXXX");
    write_tmp(path, "batch.size = 5\0junk\n", 20);
    conf = execrec_config_new();
    ck_assert_int_eq(execrec_config_load_file(conf, path, errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(errstr, ":1: NUL byte in the line"));
    ck_assert_int_eq(execrec_config_get_int(conf, "batch.size"), 5000);
    execrec_config_destroy(conf);
    unlink(path);

    strcpy(path, "/tmp/execrec_conf_XXXXXX");
    write_tmp(path, "# x\nkafka. = 1\n", 16);
    conf = execrec_config_new();
    ck_assert_int_eq(execrec_config_load_file(conf, path, errstr, sizeof(errstr)),
                     EXECREC_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(errstr, ":2: 'kafka.' needs a librdkafka property name"));
    ck_assert_int_eq(execrec_config_kafka_count(conf), 0);
    execrec_config_destroy(conf);
    unlink(path);

    /* A directory opens, and reads as an error: not as an empty file. */
    conf = execrec_config_new();
    ck_assert_int_eq(execrec_config_load_file(conf, "/tmp", errstr, sizeof(errstr)),
                     EXECREC_ERR_IO);
    ck_assert_str_eq(errstr, "cannot read configuration file /tmp: Is a directory");
    execrec_config_destroy(conf);
}
END_TEST

/* An EXECREC_KAFKA_* value is passed whole, however long (it was cut at 4 KiB). */
START_TEST(test_kafka_env_long_value) {
    size_t len = 10000;
    char *value = malloc(len + 1);
    memset(value, 'k', len);
    value[len] = '\0';
    setenv("EXECREC_KAFKA_SSL_CA_PEM", value, 1);
    execrec_config_t *conf = execrec_config_new();
    char errstr[256];
    ck_assert_int_eq(execrec_config_load_env(conf, errstr, sizeof(errstr)), EXECREC_OK);
    unsetenv("EXECREC_KAFKA_SSL_CA_PEM");
    int found = 0;
    for (int i = 0; i < execrec_config_kafka_count(conf); i++) {
        const char *k, *v;
        execrec_config_kafka_get(conf, i, &k, &v);
        if (!strcmp(k, "ssl.ca.pem")) {
            ck_assert_str_eq(v, value);
            found++;
        }
    }
    ck_assert_int_eq(found, 1);
    execrec_config_destroy(conf);
    free(value);
}
END_TEST

START_TEST(test_list_flags_join) {
    static const char *const list_keys[] = {"topic", "partition", NULL};
    execrec_config_t *conf = execrec_config_new();
    setenv("EXECREC_PARTITION", "7", 1);
    char *argv[] = {"test",        "--topic", "a", "--partition", "1",
                    "--topic=b,c", "--topic", "d", NULL};
    ck_assert_int_eq(
        execrec_config_parse_args(conf, "test", "A test command.", list_keys, 8, argv, NULL, NULL),
        0);
    ck_assert_str_eq(execrec_config_get(conf, "topic"), "a,b,c,d"); /* repeated: joined */
    ck_assert_str_eq(execrec_config_get(conf, "partition"), "1");   /* flag over env */
    unsetenv("EXECREC_PARTITION");
    execrec_config_destroy(conf);
}
END_TEST

START_TEST(test_exit_codes) {
    execrec_config_t *conf = execrec_config_new();
    char **rest;
    int nrest;
    char *help[] = {"test", "--help", NULL};
    ck_assert_int_eq(parse(conf, 2, help, &rest, &nrest), 1);
    char *unknown[] = {"test", "--bogus", NULL};
    ck_assert_int_eq(parse(conf, 2, unknown, &rest, &nrest), 2);
    char *noval[] = {"test", "--batch-size", NULL};
    ck_assert_int_eq(parse(conf, 2, noval, &rest, &nrest), 2);
    char *badx[] = {"test", "-X", "novalue", NULL};
    ck_assert_int_eq(parse(conf, 3, badx, &rest, &nrest), 2);
    char *badint[] = {"test", "--batch-size", "lots", NULL};
    ck_assert_int_eq(parse(conf, 3, badint, &rest, &nrest), 2);
    char *extra[] = {"test", "stray", NULL};
    ck_assert_int_eq(parse(conf, 2, extra, NULL, NULL), 2);
    execrec_config_destroy(conf);
}
END_TEST

START_TEST(test_defaults_from_table) {
    /* execrec_config_default is the table's def, and a fresh configuration holds it. */
    execrec_config_t *conf = execrec_config_new();
    const execrec_confdef_t *table = execrec_config_table();
    for (int i = 0; table[i].key; i++) {
        ck_assert_ptr_eq(execrec_config_default(table[i].key), table[i].def);
        const char *v = execrec_config_get(conf, table[i].key);
        if (table[i].def)
            ck_assert_str_eq(v, table[i].def);
        else
            ck_assert_ptr_null(v);
    }
    ck_assert_str_eq(execrec_config_default("topic.events"), "order-events");
    execrec_config_destroy(conf);
}
END_TEST

/* Runs parse_args for keys with stderr captured into err (NUL-terminated). */
static int parse_err(const char *const *ks, int argc, char **argv, char *err, size_t size) {
    execrec_config_t *conf = execrec_config_new();
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    dup2(fileno(tmp), 2);
    FILE *out = stdout;
    stdout = fopen("/dev/null", "w");
    int rc = execrec_config_parse_args(conf, "test", "A test command.", ks, argc, argv, NULL, NULL);
    fclose(stdout);
    stdout = out;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(err, 1, size - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    execrec_config_destroy(conf);
    return rc;
}

/* Found by fuzz_config: a parse that stopped inside a cluster of short options
 * ("-hQ") left getopt there, and the next parse read on from that argv; an
 * unknown short option inside a cluster was named as argv[0]. */
START_TEST(test_parse_after_cluster) {
    static const char *const ks[] = {"dry.run", "brokers", NULL};
    char err[512];
    char a0[] = "test", help[] = "-hQ", *argv1[] = {a0, help, NULL};
    ck_assert_int_eq(parse_err(ks, 2, argv1, err, sizeof(err)), 1);
    char dry[] = "--dry-run", *argv2[] = {a0, dry, NULL};
    ck_assert_int_eq(parse_err(ks, 2, argv2, err, sizeof(err)), 0);
    ck_assert_str_eq(err, "");

    char cluster[] = "-Qx", *argv3[] = {a0, cluster, NULL};
    ck_assert_int_eq(parse_err(ks, 2, argv3, err, sizeof(err)), 2);
    ck_assert_str_eq(err, "execrec test: unknown option '-Q' (see --help)\n");
    char nob[] = "-Xa=1", b[] = "-b", *argv4[] = {a0, nob, b, NULL};
    ck_assert_int_eq(parse_err(ks, 3, argv4, err, sizeof(err)), 2);
    ck_assert_str_eq(err, "execrec test: option '-b' needs a value (see --help)\n");
    char longopt[] = "--help=x", *argv5[] = {a0, longopt, NULL};
    ck_assert_int_eq(parse_err(ks, 2, argv5, err, sizeof(err)), 2);
    ck_assert_str_eq(err, "execrec test: unknown option '--help=x' (see --help)\n");
}
END_TEST

START_TEST(test_bounds_and_names) {
    char errstr[256], err[512];
    execrec_config_t *conf = execrec_config_new();
    /* --batch-size 0 used to become 1: refused wherever it comes from, named as given. */
    ck_assert_int_eq(
        execrec_config_set(conf, "batch.size", "0", "--batch-size", errstr, sizeof(errstr)),
        EXECREC_ERR_INVALID);
    ck_assert_str_eq(errstr, "--batch-size must be at least 1, not '0'");
    ck_assert_int_eq(
        execrec_config_set(conf, "batch.size", "0", "EXECREC_BATCH_SIZE", errstr, sizeof(errstr)),
        EXECREC_ERR_INVALID);
    ck_assert_str_eq(errstr, "EXECREC_BATCH_SIZE must be at least 1, not '0'");
    ck_assert_int_eq(
        execrec_config_set(conf, "batch.size", "0", "f.conf:3", errstr, sizeof(errstr)),
        EXECREC_ERR_INVALID);
    ck_assert_str_eq(errstr, "f.conf:3: batch.size must be at least 1, not '0'");
    ck_assert_int_eq(
        execrec_config_set(conf, "partitions", "1001", "--partitions", errstr, sizeof(errstr)),
        EXECREC_ERR_INVALID);
    ck_assert_str_eq(errstr, "--partitions must be between 1 and 1000, not '1001'");
    ck_assert_int_eq(
        execrec_config_set(conf, "partitions", "1000", "--partitions", errstr, sizeof(errstr)),
        EXECREC_OK);
    ck_assert_int_eq(execrec_config_set(conf, "batch.size", "1", NULL, errstr, sizeof(errstr)),
                     EXECREC_OK);
    ck_assert_int_eq(execrec_config_set(conf, "batch.idle.ms", "0", NULL, errstr, sizeof(errstr)),
                     EXECREC_OK); /* no bounds: 0 is a value */
    execrec_config_destroy(conf);

    /* On the command line the flag is named as typed (it was --batch.size). */
    char *argv[] = {"test", "--batch-size", "0", NULL};
    ck_assert_int_eq(parse_err(keys, 3, argv, err, sizeof(err)), 2);
    ck_assert_str_eq(err, "execrec test: --batch-size must be at least 1, not '0'\n");
    char *argv2[] = {"test", "--batch-size", "lots", NULL};
    ck_assert_int_eq(parse_err(keys, 3, argv2, err, sizeof(err)), 2);
    ck_assert_str_eq(err,
                     "execrec test: --batch-size must be a non-negative integer, not 'lots'\n");
}
END_TEST

START_TEST(test_kafka_flags) {
    char err[512];
    /* -b is --brokers, as in kcat, for a command that talks to Kafka. */
    execrec_config_t *conf = execrec_config_new();
    char *argv[] = {"test", "-b", "k1:9092", "-X", "linger.ms=5", NULL};
    ck_assert_int_eq(parse(conf, 5, argv, NULL, NULL), 0);
    ck_assert_str_eq(execrec_config_get(conf, "brokers"), "k1:9092");
    ck_assert_int_eq(execrec_config_kafka_count(conf), 1);
    execrec_config_destroy(conf);
    /* -t is --topic where the command takes topic; a list key: repeats join. */
    static const char *const topic_keys[] = {"brokers", "topic", NULL};
    conf = execrec_config_new();
    char *targv[] = {"test", "-t", "a", "-b", "k", "-t", "b", NULL};
    ck_assert_int_eq(execrec_config_parse_args(conf, "test", "A test command.", topic_keys, 7,
                                               targv, NULL, NULL),
                     0);
    ck_assert_str_eq(execrec_config_get(conf, "topic"), "a,b");
    execrec_config_destroy(conf);
    char *t[] = {"test", "-t", "a", NULL};
    ck_assert_int_eq(parse_err(keys, 3, t, err, sizeof(err)), 2); /* no topic key */
    /* A command without brokers does not use Kafka: -X and -b are misuse. */
    static const char *const pg_keys[] = {"dsn", "log.level", NULL};
    ck_assert_int_eq(execrec_config_takes_kafka(pg_keys), 0);
    ck_assert_int_eq(execrec_config_takes_kafka(keys), 1);
    char *x[] = {"test", "-X", "linger.ms=5", NULL};
    ck_assert_int_eq(parse_err(pg_keys, 3, x, err, sizeof(err)), 2);
    ck_assert_ptr_nonnull(strstr(err, "does not use Kafka"));
    char *b[] = {"test", "-b", "k1:9092", NULL};
    ck_assert_int_eq(parse_err(pg_keys, 3, b, err, sizeof(err)), 2);
}
END_TEST

START_TEST(test_help_in_each_command_words) {
    /* A key's help names no other command where the command has its own line. */
    ck_assert_ptr_null(strstr(execrec_config_help("status", "brokers"), "publish"));
    ck_assert_ptr_nonnull(strstr(execrec_config_help("run", "brokers"), "embedded"));
    ck_assert_ptr_null(strstr(execrec_config_help("publish", "topic"), "replay"));
    ck_assert_ptr_nonnull(strstr(execrec_config_help("backfill", "topic"), "replay"));
    ck_assert_ptr_null(strstr(execrec_config_help("backfill", "topic"), "produce"));
    ck_assert_ptr_null(strstr(execrec_config_help("load", "format"), "publish"));
    ck_assert_ptr_nonnull(strstr(execrec_config_help("publish", "format"), "--registry"));
    ck_assert_str_eq(execrec_config_help("nosuch", "dsn"), execrec_config_help(NULL, "dsn"));
    /* No line of the table speaks for another command ("publish: ...", "run starts"). */
    const execrec_confdef_t *table = execrec_config_table();
    for (int i = 0; table[i].key; i++) {
        ck_assert_msg(!strstr(table[i].help, "publish:") && !strstr(table[i].help, "backfill:") &&
                          !strstr(table[i].help, "run starts"),
                      "%s: %s", table[i].key, table[i].help);
    }
}
END_TEST

#ifndef NDEBUG
/* A key named in code that the table lacks is a bug: asserted (SIGABRT), not read as
 * unset. */
START_TEST(test_unknown_key_asserts) {
    execrec_config_t *conf = execrec_config_new();
    const char *v = execrec_config_get(conf, "batch.sise");
    (void)v;
    execrec_config_destroy(conf);
}
END_TEST

START_TEST(test_get_int_of_string_asserts) {
    execrec_config_t *conf = execrec_config_new();
    int64_t n = execrec_config_get_int(conf, "format");
    (void)n;
    execrec_config_destroy(conf);
}
END_TEST

START_TEST(test_get_bool_of_int_asserts) {
    execrec_config_t *conf = execrec_config_new();
    int b = execrec_config_get_bool(conf, "batch.size");
    (void)b;
    execrec_config_destroy(conf);
}
END_TEST

START_TEST(test_unknown_default_asserts) {
    const char *v = execrec_config_default("no.such");
    (void)v;
}
END_TEST

START_TEST(test_unknown_command_key_asserts) {
    static const char *const bad[] = {"dsn", "no.such", NULL};
    execrec_config_t *conf = execrec_config_new();
    char *argv[] = {"test", NULL};
    int rc = execrec_config_parse_args(conf, "test", "A test command.", bad, 1, argv, NULL, NULL);
    (void)rc;
    execrec_config_destroy(conf);
}
END_TEST
#endif

static Suite *config_suite(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_defaults_and_types);
    tcase_add_test(tc, test_file_env_flag_precedence);
    tcase_add_test(tc, test_file_errors_name_the_line);
    tcase_add_test(tc, test_file_lines_whole);
    tcase_add_test(tc, test_kafka_env_long_value);
    tcase_add_test(tc, test_kafka_env);
    tcase_add_test(tc, test_secrets_masked_in_argv);
    tcase_add_test(tc, test_defaults_from_table);
    suite_add_tcase(s, tc);
#ifndef NDEBUG /* the tests build with assertions (deploy/test.sh: Debug) */
    tc = tcase_create("asserts");
    tcase_add_test_raise_signal(tc, test_unknown_key_asserts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_get_int_of_string_asserts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_get_bool_of_int_asserts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_unknown_default_asserts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_unknown_command_key_asserts, SIGABRT);
    suite_add_tcase(s, tc);
#endif
    tc = tcase_create("cli");
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_list_flags_join);
    tcase_add_test(tc, test_bounds_and_names);
    tcase_add_test(tc, test_parse_after_cluster);
    tcase_add_test(tc, test_kafka_flags);
    tcase_add_test(tc, test_help_in_each_command_words);
    suite_add_tcase(s, tc);
    return s;
}

EXECREC_TEST_MAIN(config_suite)
