/* `execrec offsets list` and `execrec offsets reset`: the operator's view of the
 * positions stored in execution.ingest_offsets, and the one way to move them (as
 * kafka-consumer-groups --reset-offsets does for Kafka's). A reset is planned
 * from the broker's watermarks (and a time, resolved to offsets), refused while
 * the group is active, and applied in one transaction as compare-and-sets against
 * the values it read, so that a recorder racing it is fenced (docs/offsets.md). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include "cli/cli.h"
#include "execrec/config.h"
#include "kafka/kafka.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "pg/offsets.h"
#include "pg/pg.h"
#include "cli_common.h"

#define TIMEOUT_MS 10000
#define NONE INT64_C(-1)
/* Never joins: a consumer handle that only reads watermarks and message times. */
#define OFFSETS_GROUP "execrec-offsets"

/* clang-format off */
static const char *const list_keys[] = {"brokers", "dsn", "group", "topic", "log.level", NULL};
static const char *const reset_keys[] = {"brokers", "dsn",     "group",     "topic", "partition",
                                         "to",      "dry.run", "log.level", NULL};
/* clang-format on */

typedef struct pos_s {
    char *group, *topic;
    int32_t partition;
    int64_t stored; /* NONE: no row */
    char updated[24];
    int64_t lo, hi; /* NONE: not known */
    int64_t target; /* reset: the new position */
} pos_t;

typedef struct positions_s {
    pos_t *pos;
    int n, cap;
} positions_t;

static pos_t *pos_add(positions_t *ps, const char *group, const char *topic, int32_t partition) {
    if (ps->n == ps->cap) {
        int cap = ps->cap ? ps->cap * 2 : 16;
        pos_t *grown = realloc(ps->pos, sizeof(pos_t) * (size_t)cap);
        if (!grown)
            return NULL;
        ps->pos = grown;
        ps->cap = cap;
    }
    pos_t *p = &ps->pos[ps->n];
    *p = (pos_t){strdup(group), strdup(topic), partition, NONE, "", NONE, NONE, NONE};
    if (!p->group || !p->topic) {
        free(p->group);
        free(p->topic);
        return NULL;
    }
    ps->n++;
    return p;
}

static pos_t *pos_find(positions_t *ps, const char *topic, int32_t partition) {
    for (int i = 0; i < ps->n; i++)
        if (ps->pos[i].partition == partition && !strcmp(ps->pos[i].topic, topic))
            return &ps->pos[i];
    return NULL;
}

static void positions_free(positions_t *ps) {
    for (int i = 0; i < ps->n; i++) {
        free(ps->pos[i].group);
        free(ps->pos[i].topic);
    }
    free(ps->pos);
}

static int in_list(const char *list, const char *item) {
    size_t n = strlen(item);
    for (const char *s = list; s && *s;) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == n && !strncmp(s, item, n))
            return 1;
        s += len;
    }
    return 0;
}

static rd_kafka_t *kafka_new(const execrec_config_t *conf, const char *cmd) {
    const char *required[] = {"group.id", OFFSETS_GROUP,          "enable.auto.commit",
                              "false",    "enable.partition.eof", "true",
                              NULL};
    execrec_kafka_client_t client = {.type = RD_KAFKA_CONSUMER,
                                     .brokers = execrec_config_get(conf, "brokers"),
                                     .props = conf,
                                     .required = required};
    char errstr[512];
    rd_kafka_t *rk = execrec_kafka_new(&client, errstr, sizeof(errstr));
    if (!rk)
        fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
    return rk;
}

static PGconn *pg_open(const execrec_config_t *conf, const char *cmd) {
    char errstr[1024];
    setenv("PGCONNECT_TIMEOUT", "10", 0); /* an unreachable server is an error, not a hang */
    PGconn *conn = execrec_pg_connect(execrec_config_get(conf, "dsn"), errstr, sizeof(errstr));
    if (!conn)
        fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
    return conn;
}

static int watermarks(rd_kafka_t *rk, pos_t *p, const char *cmd) {
    rd_kafka_resp_err_t kerr =
        execrec_kafka_partition_watermarks(rk, p->topic, p->partition, &p->lo, &p->hi, TIMEOUT_MS);
    if (kerr) {
        fprintf(stderr, "execrec %s: %s [%" PRId32 "]: cannot read the watermarks: %s\n", cmd,
                p->topic, p->partition, rd_kafka_err2str(kerr));
        return -1;
    }
    return 0;
}

static void cell(char *buf, size_t size, int64_t v) {
    if (v < 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%" PRId64, v);
}

/* ---- list ------------------------------------------------------------------------ */

typedef struct list_ctx_s {
    positions_t *ps;
    const char *topics; /* comma list; NULL: every topic */
} list_ctx_t;

static execrec_err_t list_row(void *opaque, const execrec_offsets_row_t *o) {
    list_ctx_t *lc = opaque;
    if (lc->topics && !in_list(lc->topics, o->topic))
        return EXECREC_OK;
    pos_t *p = pos_add(lc->ps, o->group, o->topic, o->partition);
    if (!p)
        return EXECREC_ERR_NOMEM;
    p->stored = o->next_offset;
    snprintf(p->updated, sizeof(p->updated), "%s", o->updated_at);
    return EXECREC_OK;
}

static int cmd_list(int argc, char **argv) {
    int rc;
    const char *cmd = "offsets list";
    positions_t ps = {0};
    rd_kafka_t *rk = NULL;
    int32_t *ids = NULL; /* the partitions of ids_topic on the broker */
    int nids = 0;
    const char *ids_topic = NULL;
    execrec_config_t *conf =
        cli_begin(cmd,
                  "The positions stored in PostgreSQL (execution.ingest_offsets) of --group (''\n"
                  "for every group), of every topic or of --topic: the stored next offset, when\n"
                  "it last moved (UTC), the partition's low and high watermarks on the broker,\n"
                  "the lag, and the state: ok, PAST-END (the position is past the log's end: the\n"
                  "topic was recreated, or this is another cluster; the recorder blocks the\n"
                  "partition until `execrec offsets reset`), or NO-TOPIC (the broker has no such\n"
                  "topic or partition). Exits 1 when a position is PAST-END. See docs/offsets.md.",
                  list_keys, argc, argv, NULL, NULL, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_USAGE;
    const char *brokers = execrec_config_get(conf, "brokers");
    const char *group = execrec_config_get(conf, "group");
    if (!brokers || !*brokers) {
        fprintf(stderr, "execrec %s: --brokers is required\n", cmd);
        goto done;
    }
    rc = EXECREC_EXIT_FAIL;
    PGconn *conn = pg_open(conf, cmd);
    if (!conn)
        goto done;
    char errstr[1024];
    list_ctx_t lc = {&ps, execrec_config_get(conf, "topic")};
    execrec_err_t err = execrec_offsets_list(conn, group && *group ? group : NULL, 0, list_row, &lc,
                                             errstr, sizeof(errstr));
    PQfinish(conn);
    if (err) {
        fprintf(stderr, "execrec %s: reading execution.ingest_offsets: %s\n", cmd,
                err == EXECREC_ERR_PG ? errstr : execrec_err_name(err));
        goto done;
    }
    if (!(rk = kafka_new(conf, cmd)))
        goto done;
    int ahead = 0;
    printf("%-20s %-20s %9s %12s %-20s %12s %12s %10s %s\n", "group", "topic", "partition",
           "stored", "last commit", "low", "high", "lag", "state");
    for (int i = 0; i < ps.n; i++) {
        pos_t *p = &ps.pos[i];
        int known = 0;
        /* Rows come ordered by group, then topic: one metadata request per run. */
        if (!ids_topic || strcmp(ids_topic, p->topic)) {
            free(ids);
            ids = NULL;
            nids = 0;
            ids_topic = p->topic;
            err = execrec_kafka_partitions(rk, p->topic, TIMEOUT_MS, &ids, &nids, errstr,
                                           sizeof(errstr));
            if (err && err != EXECREC_ERR_NOTFOUND) {
                fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
                goto done;
            }
        }
        for (int j = 0; j < nids; j++)
            known |= ids[j] == p->partition;
        if (known && watermarks(rk, p, cmd) < 0)
            goto done;
        int past = known && p->stored > p->hi;
        ahead += past;
        char st[24], lo[24], hi[24], lag[24];
        cell(st, sizeof(st), p->stored);
        cell(lo, sizeof(lo), p->lo);
        cell(hi, sizeof(hi), p->hi);
        cell(lag, sizeof(lag), known && !past ? p->hi - p->stored : NONE);
        printf("%-20s %-20s %9" PRId32 " %12s %-20s %12s %12s %10s %s\n", p->group, p->topic,
               p->partition, st, p->updated, lo, hi, lag,
               !known ? "NO-TOPIC"
               : past ? "PAST-END"
                      : "ok");
    }
    printf("total: %d stored positions, %d past the log's end\n", ps.n, ahead);
    rc = ahead ? EXECREC_EXIT_FAIL : EXECREC_EXIT_OK;
done:
    free(ids);
    if (rk) {
        execrec_kafka_serve(rk);
        rd_kafka_destroy(rk);
    }
    positions_free(&ps);
    execrec_config_destroy(conf);
    return rc;
}

/* ---- reset ----------------------------------------------------------------------- */

typedef enum to_e { TO_EARLIEST, TO_LATEST, TO_OFFSET, TO_TIME } to_t;

/* --to: earliest, latest, digits (an offset), or a time: RFC 3339 with a zone, or
 * '@' and an epoch (milliseconds for today's dates, timeutil.h). @returns 0, -1. */
static int parse_to(const char *s, to_t *to, int64_t *value) {
    if (!strcmp(s, "earliest")) {
        *to = TO_EARLIEST;
        return 0;
    }
    if (!strcmp(s, "latest")) {
        *to = TO_LATEST;
        return 0;
    }
    if (isdigit((unsigned char)*s)) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (!*end && !errno) {
            *to = TO_OFFSET;
            *value = v;
            return 0;
        }
    }
    const char *t = *s == '@' ? s + 1 : s;
    int64_t us;
    execrec_reject_t rej;
    /* Digits alone are an offset (above); '@' digits an epoch; else RFC 3339. */
    if ((*s == '@' || strspn(s, "0123456789") != strlen(s)) &&
        execrec_time_parse_text(t, strlen(t), &us, &rej) == EXECREC_OK) {
        *to = TO_TIME;
        *value = us / 1000;
        return 0;
    }
    return -1;
}

/* Refuses an active group, as kafka-consumer-groups does: the broker's view
 * (DescribeGroups) first; where the broker cannot say (the embedded broker), the
 * recorders' PostgreSQL sessions (checked later, in the transaction).
 * @returns 0 not active (or unknown), 1 active (printed), -1 failed (printed). */
static int group_active(rd_kafka_t *rk, const char *group, const char *cmd) {
    const struct rd_kafka_group_list *gl = NULL;
    rd_kafka_resp_err_t kerr = rd_kafka_list_groups(rk, group, &gl, TIMEOUT_MS);
    if (kerr == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE) {
        execrec_log_info("the broker cannot describe consumer groups (%s): whether a recorder "
                         "of group %s runs is read from PostgreSQL only",
                         rd_kafka_err2str(kerr), group);
        return 0;
    }
    if (kerr) {
        fprintf(stderr, "execrec %s: cannot describe group %s on the broker: %s\n", cmd, group,
                rd_kafka_err2str(kerr));
        return -1;
    }
    int active = 0;
    for (int i = 0; i < gl->group_cnt; i++) {
        const struct rd_kafka_group_info *g = &gl->groups[i];
        if (strcmp(g->group, group) || g->err)
            continue;
        if (g->member_cnt > 0 ||
            (g->state && strcmp(g->state, "Empty") && strcmp(g->state, "Dead") && *g->state)) {
            fprintf(stderr,
                    "execrec %s: refused: consumer group %s is active on the broker (state "
                    "%s, %d member(s)): stop its recorders first\n",
                    cmd, group, g->state ? g->state : "?", g->member_cnt);
            active = 1;
        }
    }
    rd_kafka_group_list_destroy(gl);
    return active;
}

/* The partitions to reset: those of topic on the broker, or the --partition ones.
 * @returns 0, or an exit code (printed). */
static int plan_partitions(rd_kafka_t *rk, const char *group, const char *topic,
                           const char *partitions, positions_t *ps, const char *cmd) {
    int32_t *ids;
    int n;
    char errstr[512];
    execrec_err_t err =
        execrec_kafka_partitions(rk, topic, TIMEOUT_MS, &ids, &n, errstr, sizeof(errstr));
    if (err) {
        fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
        return EXECREC_EXIT_FAIL;
    }
    int rc = 0;
    if (partitions) {
        char *copy = strdup(partitions);
        for (char *tok = copy ? strtok(copy, ",") : NULL; tok && !rc; tok = strtok(NULL, ",")) {
            char *end;
            errno = 0;
            long v = strtol(tok, &end, 10);
            int found = 0;
            for (int j = 0; j < n; j++)
                found |= ids[j] == v;
            if (!isdigit((unsigned char)*tok) || *end || errno || v > INT32_MAX) {
                fprintf(stderr, "execrec %s: --partition '%s' is not a partition number\n", cmd,
                        tok);
                rc = EXECREC_EXIT_USAGE;
            } else if (!found) {
                fprintf(stderr, "execrec %s: topic '%s' has no partition %ld (it has %d)\n", cmd,
                        topic, v, n);
                rc = EXECREC_EXIT_FAIL;
            } else if (!pos_find(ps, topic, (int32_t)v) && !pos_add(ps, group, topic, (int32_t)v)) {
                rc = EXECREC_EXIT_FAIL;
            }
        }
        if (!copy)
            rc = EXECREC_EXIT_FAIL;
        free(copy);
    } else {
        for (int j = 0; j < n && !rc; j++)
            if (!pos_add(ps, group, topic, ids[j]))
                rc = EXECREC_EXIT_FAIL;
    }
    free(ids);
    return rc;
}

/* The new position of each partition. @returns 0, or an exit code (printed). */
static int plan_targets(rd_kafka_t *rk, positions_t *ps, to_t to, int64_t value, const char *cmd) {
    char errstr[512];
    for (int i = 0; i < ps->n; i++) {
        pos_t *p = &ps->pos[i];
        if (watermarks(rk, p, cmd) < 0)
            return EXECREC_EXIT_FAIL;
        switch (to) {
        case TO_EARLIEST:
            p->target = p->lo;
            break;
        case TO_LATEST:
            p->target = p->hi;
            break;
        case TO_OFFSET:
            if (value < p->lo || value > p->hi) {
                fprintf(stderr,
                        "execrec %s: %s [%" PRId32 "]: offset %" PRId64 " is not in the log, "
                        "which holds %" PRId64 "..%" PRId64 " (its end is %" PRId64 ")\n",
                        cmd, p->topic, p->partition, value, p->lo, p->hi - 1, p->hi);
                return EXECREC_EXIT_FAIL;
            }
            p->target = value;
            break;
        case TO_TIME:
            if (execrec_kafka_offset_for_time(rk, p->topic, p->partition, p->lo, p->hi, value,
                                              TIMEOUT_MS, &p->target, errstr, sizeof(errstr))) {
                fprintf(stderr, "execrec %s: %s\n", cmd, errstr);
                return EXECREC_EXIT_FAIL;
            }
            break;
        }
    }
    return 0;
}

typedef struct reset_ctx_s {
    positions_t *ps;
    const char *topic;
} reset_ctx_t;

static execrec_err_t reset_row(void *opaque, const execrec_offsets_row_t *o) {
    reset_ctx_t *rc = opaque;
    pos_t *p = strcmp(o->topic, rc->topic) ? NULL : pos_find(rc->ps, o->topic, o->partition);
    if (p) {
        p->stored = o->next_offset;
        snprintf(p->updated, sizeof(p->updated), "%s", o->updated_at);
    }
    return EXECREC_OK;
}

static int pg_fail(PGconn *conn, const char *cmd, const char *what, const char *errstr) {
    fprintf(stderr, "execrec %s: %s: %s\n", cmd, what, errstr);
    char ignored[256];
    if (execrec_pg_exec(conn, "ROLLBACK", ignored, sizeof(ignored)))
        execrec_log_debug("rollback: %s", ignored);
    return EXECREC_EXIT_FAIL;
}

/* Reads, prints and (unless dry_run) applies the plan in one transaction.
 * @returns an exit code. */
static int apply(PGconn *conn, const char *group, const char *topic, positions_t *ps, int dry_run,
                 const char *cmd) {
    char errstr[1024];
    if (execrec_pg_exec(conn, "BEGIN", errstr, sizeof(errstr)))
        return pg_fail(conn, cmd, "BEGIN", errstr);
    int64_t recorders = 0;
    if (execrec_offsets_recorders(conn, group, &recorders, errstr, sizeof(errstr)))
        return pg_fail(conn, cmd, "reading pg_stat_activity", errstr);
    if (recorders > 0) {
        char name[64];
        execrec_offsets_app_name(group, name, sizeof(name));
        fprintf(stderr,
                "execrec %s: refused: a recorder of group %s is connected to PostgreSQL "
                "(%" PRId64 " session(s) with application_name '%s'; each recorder has one "
                "per writer): stop the group's recorders first\n",
                cmd, group, recorders, name);
        pg_fail(conn, cmd, "rolled back", "nothing changed");
        return EXECREC_EXIT_FAIL;
    }
    reset_ctx_t rc = {ps, topic};
    execrec_err_t err =
        execrec_offsets_list(conn, group, 1, reset_row, &rc, errstr, sizeof(errstr));
    if (err)
        return pg_fail(conn, cmd, "reading execution.ingest_offsets", errstr);
    int changes = 0;
    printf("group %s, topic %s: %s\n", group, topic, dry_run ? "plan (dry run)" : "plan");
    for (int i = 0; i < ps->n; i++) {
        const pos_t *p = &ps->pos[i];
        char old[24];
        cell(old, sizeof(old), p->stored);
        int same = p->stored == p->target;
        changes += !same;
        printf("  %s [%" PRId32 "]: %s -> %" PRId64 "%s (log %" PRId64 "..%" PRId64 ")%s\n", topic,
               p->partition, old, p->target, p->stored > p->hi ? " (was past the end)" : "", p->lo,
               p->hi, same ? ", unchanged" : "");
    }
    if (dry_run) {
        if (execrec_pg_exec(conn, "ROLLBACK", errstr, sizeof(errstr)))
            return pg_fail(conn, cmd, "ROLLBACK", errstr);
        printf("dry run: nothing changed (%d partition(s) would move)\n", changes);
        return EXECREC_EXIT_OK;
    }
    for (int i = 0; i < ps->n; i++) {
        const pos_t *p = &ps->pos[i];
        if (p->stored == p->target)
            continue;
        err = execrec_offsets_reset(conn, group, topic, p->partition, p->stored, p->target, errstr,
                                    sizeof(errstr));
        if (err)
            return pg_fail(conn, cmd, "nothing changed", errstr);
    }
    if (execrec_pg_exec(conn, "COMMIT", errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec %s: COMMIT: %s\n", cmd, errstr);
        return EXECREC_EXIT_FAIL;
    }
    printf("reset %d partition(s) of %s for group %s\n", changes, topic, group);
    return EXECREC_EXIT_OK;
}

static int cmd_reset(int argc, char **argv) {
    int rc;
    const char *cmd = "offsets reset";
    positions_t ps = {0};
    rd_kafka_t *rk = NULL;
    PGconn *conn = NULL;
    execrec_config_t *conf = cli_begin(
        cmd,
        "Move the stored positions (execution.ingest_offsets) of --group on --topic, of\n"
        "every partition or of --partition P[,P...], to --to: earliest (the log's first\n"
        "offset), latest (its end: what is there now is never recorded), an offset, or\n"
        "a time (RFC 3339 with a zone, or @ and epoch milliseconds: the first message\n"
        "with a Kafka timestamp at or after it). Prints the plan (old -> new per\n"
        "partition) and applies it in one transaction, as compare-and-sets against the\n"
        "values it read (a recorder that moved one meanwhile fails it: nothing changes).\n"
        "--dry-run prints the plan only. Refused (exit 1) while the group is active: on\n"
        "the broker (members), or with a recorder of the group connected to PostgreSQL.\n"
        "Run it as the database's owner or writer role. See docs/offsets.md for the\n"
        "recreated-topic runbook.",
        reset_keys, argc, argv, NULL, NULL, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_USAGE;
    const char *brokers = execrec_config_get(conf, "brokers");
    const char *group = execrec_config_get(conf, "group");
    const char *topic = execrec_config_get(conf, "topic");
    const char *to_s = execrec_config_get(conf, "to");
    to_t to;
    int64_t value = 0;
    if (!brokers || !*brokers) {
        fprintf(stderr, "execrec %s: --brokers is required\n", cmd);
        goto done;
    }
    if (!group || !*group) {
        fprintf(stderr, "execrec %s: --group must not be empty\n", cmd);
        goto done;
    }
    if (!topic || !*topic || strchr(topic, ',')) {
        fprintf(stderr, "execrec %s: give one --topic\n", cmd);
        goto done;
    }
    if (!to_s) {
        fprintf(stderr, "execrec %s: --to is required: earliest, latest, an offset or a time\n",
                cmd);
        goto done;
    }
    if (parse_to(to_s, &to, &value) < 0) {
        fprintf(stderr,
                "execrec %s: --to '%s' is not earliest, latest, an offset or a time (RFC 3339 "
                "with a zone, e.g. 2026-11-03T14:00:00Z, or @ and epoch milliseconds)\n",
                cmd, to_s);
        goto done;
    }
    rc = EXECREC_EXIT_FAIL;
    if (!(rk = kafka_new(conf, cmd)))
        goto done;
    int active = group_active(rk, group, cmd);
    if (active)
        goto done;
    if ((rc = plan_partitions(rk, group, topic, execrec_config_get(conf, "partition"), &ps, cmd)))
        goto done;
    if ((rc = plan_targets(rk, &ps, to, value, cmd)))
        goto done;
    rc = EXECREC_EXIT_FAIL;
    if (!(conn = pg_open(conf, cmd)))
        goto done;
    rc = apply(conn, group, topic, &ps, execrec_config_get_bool(conf, "dry.run"), cmd);
done:
    if (conn)
        PQfinish(conn);
    if (rk) {
        execrec_kafka_serve(rk);
        rd_kafka_destroy(rk);
    }
    positions_free(&ps);
    execrec_config_destroy(conf);
    return rc;
}

static void usage(FILE *out) {
    fprintf(out, "usage: execrec offsets list [options]\n"
                 "       execrec offsets reset --brokers HOSTS --group G --topic T "
                 "[--partition P] --to earliest|latest|OFFSET|TIME [--dry-run]\n"
                 "\n"
                 "The consumer positions stored in PostgreSQL: list them, or reset them (as\n"
                 "kafka-consumer-groups does for Kafka's). 'execrec offsets list --help' and\n"
                 "'execrec offsets reset --help' describe the options. See docs/offsets.md.\n");
}

int execrec_cli_offsets(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXECREC_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return EXECREC_EXIT_OK;
    }
    if (!strcmp(argv[1], "list"))
        return cmd_list(argc - 1, argv + 1);
    if (!strcmp(argv[1], "reset"))
        return cmd_reset(argc - 1, argv + 1);
    fprintf(stderr, "execrec offsets: unknown subcommand '%s' (list or reset)\n", argv[1]);
    return EXECREC_EXIT_USAGE;
}
