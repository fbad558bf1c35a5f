/* Invariant checks on the configuration parser (see fuzz_config_check.h). The
 * properties file is compared with a reading of our own, written apart from
 * config.c (lines split at '\n', C-locale blanks trimmed, the first '=' splits);
 * the table (execrec_config_table) says what keys and types exist, and
 * execrec_config_set on a scratch configuration is the judge of an integer's
 * bounds only. Violations are returned as text, not asserted, so that the corpus
 * test can name the file and the fuzz target can abort with the reason. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "execrec/config.h"
#include "base/secret.h"
#include "fuzz_config_check.h"

#define MAX_ITEMS 64 /* command-line items used; the rest of an input is ignored */
#define ARGV0 "argv0-of-fuzz"

static char dir[] = "/tmp/execrec_fuzz_config.XXXXXX";
static char path[sizeof(dir) + 32];
static const char *all_keys[128];
static execrec_config_t *scratch; /* where in_bounds tries a value */
static FILE *devnull;
static const char *const kafka_keys[] = {
    "brokers",   "topic",     "group",       "dsn",        "batch.size",          "exit.at.end",
    "partition", "log.level", "from.offset", "partitions", "registry.timeout.ms", NULL,
};
static const char *const plain_keys[] = {"dsn",  "dsn.file",     "dry.run", "retention",
                                         "json", "months.ahead", NULL};

static int fail(char *why, size_t why_size, const char *fmt, ...) EXECREC_PRINTF(3, 4);
static int fail(char *why, size_t why_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return -1;
}

int fuzz_config_init(char *errstr, size_t errstr_size) {
    if (!mkdtemp(dir)) {
        snprintf(errstr, errstr_size, "mkdtemp %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof(path), "%s/fuzz.properties", dir);
    if (!(scratch = execrec_config_new()) || !(devnull = fopen("/dev/null", "w"))) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    const execrec_confdef_t *t = execrec_config_table();
    size_t n = 0;
    for (; t[n].key && n + 1 < sizeof(all_keys) / sizeof(all_keys[0]); n++)
        all_keys[n] = t[n].key;
    all_keys[n] = NULL;
    return 0;
}

void fuzz_config_fini(void) {
    execrec_config_destroy(scratch);
    scratch = NULL;
    if (devnull)
        fclose(devnull);
    devnull = NULL;
    unlink(path);
    rmdir(dir);
}

static int write_file(const void *p, size_t n) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static const execrec_confdef_t *find_def(const char *key) {
    for (const execrec_confdef_t *d = execrec_config_table(); d->key; d++)
        if (!strcmp(d->key, key))
            return d;
    return NULL;
}

/* A value of the key's type, by the documented rules: integers are digits only
 * within int64; booleans true/false, yes/no, on/off, 1/0 in any case. */
static int well_typed(const execrec_confdef_t *d, const char *v) {
    if (d->type == EXECREC_CONF_INT) {
        if (!*v || strspn(v, "0123456789") != strlen(v))
            return 0;
        errno = 0;
        strtoll(v, NULL, 10);
        return errno == 0;
    }
    if (d->type == EXECREC_CONF_BOOL) {
        static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
        for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
            if (!strcasecmp(v, words[i]))
                return 1;
        return 0;
    }
    return 1;
}

/* The typed value is within the key's bounds (config.c's own judgement). */
static int in_bounds(const char *key, const char *v) {
    char e[256];
    return scratch && execrec_config_set(scratch, key, v, NULL, e, sizeof(e)) == EXECREC_OK;
}

static int is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* s[0..*n) without leading and trailing blanks: @returns the new start. */
static char *strip(char *s) {
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

typedef struct {
    const char *value[128]; /* per table index: the last value set, else NULL */
    char *kkey[MAX_ITEMS * 64], *kval[MAX_ITEMS * 64];
    int nk, secret, bad_line;
} ref_t;

/* Reads the file as documented. @returns 0 with ref filled; ref->bad_line is the
 * first line that must be refused (0: none). The strings point into copy. */
static void ref_file(char *copy, size_t n, ref_t *ref) {
    const execrec_confdef_t *table = execrec_config_table();
    memset(ref, 0, sizeof(*ref));
    int lineno = 0;
    for (size_t start = 0; start < n && !ref->bad_line;) {
        char *line = copy + start;
        char *nl = memchr(line, '\n', n - start);
        size_t len = nl ? (size_t)(nl - line) : n - start;
        start += len + 1;
        lineno++;
        if (memchr(line, '\0', len)) {
            ref->bad_line = lineno;
            break;
        }
        line[len] = '\0';
        char *s = strip(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            ref->bad_line = lineno;
            break;
        }
        *eq = '\0';
        char *key = strip(s), *value = strip(eq + 1);
        if (!strncmp(key, "kafka.", 6)) {
            if (!key[6] || ref->nk == (int)(sizeof(ref->kkey) / sizeof(ref->kkey[0]))) {
                ref->bad_line = lineno;
                break;
            }
            ref->kkey[ref->nk] = key + 6;
            ref->kval[ref->nk++] = value;
            ref->secret |= execrec_secret_kafka_key(key + 6);
            continue;
        }
        const execrec_confdef_t *d = find_def(key);
        if (!d || !well_typed(d, value) ||
            (d->type == EXECREC_CONF_INT && !in_bounds(key, value))) {
            ref->bad_line = lineno;
            break;
        }
        ref->value[d - table] = value;
        ref->secret |= d->type == EXECREC_CONF_SECRET;
    }
}

static int check_file(const uint8_t *data, size_t size, char *why, size_t why_size) {
    if (write_file(data, size))
        return fail(why, why_size, "cannot write %s: %s", path, strerror(errno));
    char *copy = malloc(size + 1);
    ref_t *ref = malloc(sizeof(*ref));
    execrec_config_t *conf = execrec_config_new();
    int rc = 0;
    if (!copy || !ref || !conf) {
        rc = fail(why, why_size, "out of memory");
        goto done;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    ref_file(copy, size, ref);
    char errstr[512] = "";
    execrec_err_t err = execrec_config_load_file(conf, path, errstr, sizeof(errstr));
    if (ref->bad_line) {
        char head[sizeof(path) + 32];
        snprintf(head, sizeof(head), "%s:%d: ", path, ref->bad_line);
        if (err != EXECREC_ERR_INVALID)
            rc = fail(why, why_size, "file: line %d is bad, result %s", ref->bad_line,
                      execrec_err_name(err));
        else if (strncmp(errstr, head, strlen(head)))
            rc = fail(why, why_size, "file: line %d is bad, error \"%s\"", ref->bad_line, errstr);
        goto done;
    }
    if (err != EXECREC_OK) {
        rc = fail(why, why_size, "file: refused: %s (%s)", errstr, execrec_err_name(err));
        goto done;
    }
    const execrec_confdef_t *table = execrec_config_table();
    for (int i = 0; table[i].key; i++) {
        const char *want = ref->value[i] ? ref->value[i] : table[i].def;
        const char *got = execrec_config_get(conf, table[i].key);
        if ((want == NULL) != (got == NULL) || (want && strcmp(want, got))) {
            rc = fail(why, why_size, "file: %s is '%s', the file says '%s'", table[i].key,
                      got ? got : "(unset)", want ? want : "(unset)");
            goto done;
        }
    }
    if (execrec_config_kafka_count(conf) != ref->nk) {
        rc = fail(why, why_size, "file: %d kafka properties, the file has %d",
                  execrec_config_kafka_count(conf), ref->nk);
        goto done;
    }
    for (int i = 0; i < ref->nk; i++) {
        const char *k, *v;
        execrec_config_kafka_get(conf, i, &k, &v);
        if (strcmp(k, ref->kkey[i]) || strcmp(v, ref->kval[i])) {
            rc = fail(why, why_size, "file: kafka property %d is '%s=%s', the file says '%s=%s'", i,
                      k, v, ref->kkey[i], ref->kval[i]);
            goto done;
        }
    }
    const char *sf = execrec_config_secret_file(conf);
    if (ref->secret != (sf != NULL) || (sf && strcmp(sf, path)))
        rc = fail(why, why_size, "file: secret file '%s', the file %s a secret", sf ? sf : "(none)",
                  ref->secret ? "sets" : "sets no");
done:
    execrec_config_destroy(conf);
    free(ref);
    free(copy);
    return rc;
}

static int check_kafka(const uint8_t *data, size_t size, char *why, size_t why_size) {
    char *kv = malloc(size + 1);
    execrec_config_t *conf = execrec_config_new();
    int rc = 0;
    if (!kv || !conf) {
        rc = fail(why, why_size, "out of memory");
        goto done;
    }
    memcpy(kv, data, size);
    kv[size] = '\0';
    char errstr[512] = "";
    execrec_err_t err = execrec_config_set_kafka(conf, kv, errstr, sizeof(errstr));
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        if (err != EXECREC_ERR_INVALID || strncmp(errstr, "-X expects key=value", 20))
            rc = fail(why, why_size, "-X '%s': result %s, \"%s\"", kv, execrec_err_name(err),
                      errstr);
        goto done;
    }
    const char *k, *v;
    if (err != EXECREC_OK || execrec_config_kafka_count(conf) != 1) {
        rc = fail(why, why_size, "-X '%s': result %s", kv, execrec_err_name(err));
        goto done;
    }
    execrec_config_kafka_get(conf, 0, &k, &v);
    if (strlen(k) != (size_t)(eq - kv) || strncmp(k, kv, (size_t)(eq - kv)) || strcmp(v, eq + 1))
        rc = fail(why, why_size, "-X '%s' gave '%s' = '%s'", kv, k, v);
done:
    execrec_config_destroy(conf);
    free(kv);
    return rc;
}

/* A path the parser may not be pointed at: reading it could block or never end. */
static int unsafe_path(const char *s) {
    return strstr(s, "dev/") || strstr(s, "proc/") || strstr(s, "sys/") || strstr(s, "fd/");
}

/* What the parser printed and returned for one command line. */
typedef struct {
    int rc;
    char *out, *err;
    size_t nout, nerr;
} run_t;

/* A parse after this one reads only its own command line: the parser keeps nothing
 * of the last one (getopt's position inside a cluster of short options). */
static int check_next_parse(char *why, size_t why_size) {
    char a0[] = ARGV0, a1[] = "--dry-run", *argv[] = {a0, a1, NULL};
    execrec_config_t *conf = execrec_config_new();
    if (!conf)
        return fail(why, why_size, "out of memory");
    FILE *saved_err = stderr;
    stderr = devnull;
    int rc = execrec_config_parse_args(conf, "fuzz", "Fuzzing.", plain_keys, 2, argv, NULL, NULL);
    stderr = saved_err;
    int dry = rc == 0 && execrec_config_get_bool(conf, "dry.run");
    execrec_config_destroy(conf);
    return dry ? 0 : fail(why, why_size, "args: the next command line '--dry-run' gave %d", rc);
}

static int check_args(const uint8_t *data, size_t size, char *why, size_t why_size) {
    const char *const *keys = (data[0] >> 2) % 3 == 0   ? all_keys
                              : (data[0] >> 2) % 3 == 1 ? kafka_keys
                                                        : plain_keys;
    int with_rest = (data[0] >> 4) & 1;
    char *argv[MAX_ITEMS + 2], *orig[MAX_ITEMS + 2], *env[MAX_ITEMS];
    int argc = 0, nenv = 0, rc = 0;
    argv[argc++] = strdup(ARGV0);
    if (write_file("", 0))
        return fail(why, why_size, "cannot write %s: %s", path, strerror(errno));
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p <= end && argc < MAX_ITEMS + 1) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
        char *item = strndup(p, n);
        p += n + 1;
        if (!item)
            return fail(why, why_size, "out of memory");
        char *eq = strchr(item, '=');
        if (item[0] == 1) {
            if (!strncmp(item + 1, "EXECREC_", 8) && eq && nenv < MAX_ITEMS) {
                *eq = '\0';
                if (setenv(item + 1, eq + 1, 1) == 0)
                    env[nenv++] = strdup(item + 1);
            }
            free(item);
        } else if (item[0] == 2) {
            if (write_file(item + 1, strlen(item + 1)))
                rc = fail(why, why_size, "cannot write %s", path);
            free(item);
        } else if (!strcmp(item, "@")) {
            free(item);
            argv[argc++] = strdup(path);
        } else if (unsafe_path(item)) {
            free(item);
            argv[argc++] = strdup("x");
        } else {
            argv[argc++] = item;
        }
    }
    argv[argc] = NULL;
    for (int i = 0; i < argc; i++)
        orig[i] = argv[i] ? strdup(argv[i]) : NULL;

    run_t r = {0};
    execrec_config_t *conf = execrec_config_new();
    FILE *saved_out = stdout, *saved_err = stderr;
    stdout = open_memstream(&r.out, &r.nout);
    stderr = open_memstream(&r.err, &r.nerr);
    char **rest = NULL;
    int nrest = 0;
    if (conf && stdout && stderr)
        r.rc = execrec_config_parse_args(conf, "fuzz", "Fuzzing.", keys, argc, argv,
                                         with_rest ? &rest : NULL, with_rest ? &nrest : NULL);
    else
        rc = fail(why, why_size, "out of memory");
    if (stdout)
        fclose(stdout);
    if (stderr)
        fclose(stderr);
    stdout = saved_out;
    stderr = saved_err;
    for (int i = 0; i < nenv; i++) {
        unsetenv(env[i]);
        free(env[i]);
    }
    if (rc)
        goto done;

    const char *out = r.out ? r.out : "", *err = r.err ? r.err : "";
    if (r.rc < 0 || r.rc > 2) {
        rc = fail(why, why_size, "args: returned %d", r.rc);
    } else if (r.rc == 0 && (r.nout || r.nerr)) {
        rc = fail(why, why_size, "args: exit 0 but printed \"%s\" \"%s\"", out, err);
    } else if (r.rc == 1 && (strncmp(out, "usage: execrec fuzz [options]", 29) || r.nerr)) {
        rc = fail(why, why_size, "args: --help printed \"%.80s\" \"%s\"", out, err);
    } else if (r.rc == 2 && (r.nout || strncmp(err, "execrec fuzz: ", 14) || !r.nerr ||
                             err[r.nerr - 1] != '\n')) {
        rc = fail(why, why_size, "args: misuse printed \"%s\" \"%s\"", out, err);
    } else if (r.rc == 2 && strstr(err, "'" ARGV0 "'") &&
               !memmem(data, size, ARGV0, strlen(ARGV0))) {
        rc = fail(why, why_size, "args: the reason names the program, not an argument: %s", err);
    }
    for (int i = 0; i < argc && !rc; i++)
        if (strlen(argv[i]) != strlen(orig[i]))
            rc = fail(why, why_size, "args: argument %d changed length: '%s' -> '%s'", i, orig[i],
                      argv[i]);
    if (rc || r.rc != 0)
        goto done;
    /* Accepted: every value is of its key's type and within its bounds, and each
     * librdkafka property appears once. */
    for (const execrec_confdef_t *d = execrec_config_table(); d->key; d++) {
        const char *v = execrec_config_get(conf, d->key);
        if (v && (!well_typed(d, v) || (d->type == EXECREC_CONF_INT && !in_bounds(d->key, v)))) {
            rc = fail(why, why_size, "args: accepted %s = '%s'", d->key, v);
            goto done;
        }
    }
    for (int i = 0; i < execrec_config_kafka_count(conf); i++) {
        const char *k, *v, *k2, *v2;
        execrec_config_kafka_get(conf, i, &k, &v);
        for (int j = i + 1; j < execrec_config_kafka_count(conf); j++) {
            execrec_config_kafka_get(conf, j, &k2, &v2);
            if (!strcmp(k, k2)) {
                rc = fail(why, why_size, "args: kafka property '%s' twice", k);
                goto done;
            }
        }
    }
    if (with_rest && (nrest < 0 || nrest > argc - 1 || (nrest && rest != argv + argc - nrest)))
        rc = fail(why, why_size, "args: %d positional arguments of %d", nrest, argc - 1);
done:
    /* While this argv still lives, as a caller's would. */
    if (!rc)
        rc = check_next_parse(why, why_size);
    execrec_config_destroy(conf);
    free(r.out);
    free(r.err);
    for (int i = 0; i < argc; i++) {
        free(argv[i]);
        free(orig[i]);
    }
    return rc;
}

int fuzz_config_check_input(const uint8_t *data, size_t size, char *why, size_t why_size) {
    if (size == 0)
        return 0;
    switch (data[0] & 3) {
    case 0:
        return check_file(data + 1, size - 1, why, why_size);
    case 1:
        return check_kafka(data + 1, size - 1, why, why_size);
    default:
        return check_args(data, size, why, why_size);
    }
}
