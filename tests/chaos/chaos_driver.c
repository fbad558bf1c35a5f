/* The chaos test's broker and producer (tests/chaos/run.sh, docs/testing.md). Test
 * code, not part of execrec: it links librdkafka only, so that what it produces and
 * records does not depend on the code under test.
 *
 *   chaos_driver --brokers N --partitions P --topics T1,T2,... --stream FILE
 *                --record FILE [--rate MSGS_PER_S]
 *
 * Starts librdkafka's mock cluster with N brokers and the topics (P partitions each,
 * replicated on every broker, so that a leader can move anywhere), prints its
 * bootstrap servers as the first line on stdout, and produces the stream FILE at the
 * given rate with an idempotent producer. Each line of FILE is
 * "ID<TAB>TOPIC<TAB>PARTITION<TAB>KEY<TAB>VALUE-IN-HEX" (PARTITION -1: by key).
 * Each delivery report appends "ID<TAB>TOPIC<TAB>PARTITION<TAB>OFFSET<TAB>ERROR" to
 * the record FILE: where every message landed. When the whole stream is acknowledged
 * it prints "stream done N" (N acknowledged without error).
 *
 * Faults come as commands, one per line on stdin; each is answered with one line
 * starting "ok" or "error":
 *   err APIKEY CODE...        push request errors (every broker) for an API
 *   down BROKER | up BROKER   rd_kafka_mock_broker_set_down / _up
 *   leader TOPIC PART BROKER  move a partition's leader
 *   coord GROUP BROKER        move a group's coordinator
 *   rtt BROKER MS             add round-trip time to a broker
 *   wm                        "wm TOPIC PART LOW HIGH" per partition, then "ok wm"
 *   dump FILE                 every message the cluster holds, read back by a consumer:
 *                             "TOPIC<TAB>PARTITION<TAB>OFFSET<TAB>VALUE-IN-HEX" lines
 *   quit                      flush the record, destroy the cluster, exit 0
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOPICS 16
#define MAX_ERRS 32

typedef struct {
    char *topic;
    int32_t partition;
    char *key;
    unsigned char *value;
    size_t value_len;
    long id;
} line_t;

static FILE *record;
static long acked_ok;
static long acked_err;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void) {
    fprintf(stderr, "usage: chaos_driver --brokers N --partitions P --topics T1,T2,... "
                    "--stream FILE --record FILE [--rate MSGS_PER_S]\n");
    exit(2);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    (void)rk;
    (void)opaque;
    line_t *l = rkm->_private;
    fprintf(record, "%ld\t%s\t%" PRId32 "\t%" PRId64 "\t%s\n", l->id, l->topic, rkm->partition,
            rkm->offset, rkm->err ? rd_kafka_err2name(rkm->err) : "-");
    if (rkm->err)
        acked_err++;
    else
        acked_ok++;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Reads the stream file; exits 1 on a malformed line (the generator's bug). */
static line_t *read_stream(const char *path, size_t *count) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "chaos_driver: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t cap = 1024, n = 0;
    line_t *lines = malloc(cap * sizeof(*lines));
    char *buf = NULL;
    size_t bufcap = 0;
    ssize_t len;
    while (lines && (len = getline(&buf, &bufcap, f)) > 0) {
        if (buf[len - 1] == '\n')
            buf[--len] = '\0';
        char *field[5];
        char *p = buf;
        for (int i = 0; i < 5; i++) {
            field[i] = p;
            p = i < 4 ? strchr(p, '\t') : NULL;
            if (i < 4 && !p) {
                fprintf(stderr, "chaos_driver: %s:%zu: expected 5 fields\n", path, n + 1);
                exit(1);
            }
            if (p)
                *p++ = '\0';
        }
        if (n == cap) {
            cap *= 2;
            line_t *grown = realloc(lines, cap * sizeof(*lines));
            if (!grown)
                break;
            lines = grown;
        }
        line_t *l = &lines[n];
        l->id = strtol(field[0], NULL, 10);
        l->topic = strdup(field[1]);
        l->partition = (int32_t)strtol(field[2], NULL, 10);
        l->key = strdup(field[3]);
        size_t hl = strlen(field[4]);
        l->value_len = hl / 2;
        l->value = malloc(l->value_len + 1);
        if (!l->topic || !l->key || !l->value)
            break;
        for (size_t i = 0; i < l->value_len; i++) {
            int hi = hexval(field[4][2 * i]), lo = hexval(field[4][2 * i + 1]);
            if (hi < 0 || lo < 0) {
                fprintf(stderr, "chaos_driver: %s:%zu: bad hex\n", path, n + 1);
                exit(1);
            }
            l->value[i] = (unsigned char)(hi * 16 + lo);
        }
        n++;
    }
    free(buf);
    fclose(f);
    if (!lines) {
        fprintf(stderr, "chaos_driver: out of memory\n");
        exit(1);
    }
    *count = n;
    return lines;
}

static int set(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char errstr[256];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "chaos_driver: %s=%s: %s\n", key, value, errstr);
        return -1;
    }
    return 0;
}

/* Writes every message the cluster holds, "TOPIC<TAB>PARTITION<TAB>OFFSET<TAB>VALUE-IN-HEX"
 * per line, to path: what the log really holds, which can differ from the delivery
 * reports (the mock cluster can append a retried batch twice). */
static int dump(const char *bootstraps, const char *path, char *const *topics, int ntopics,
                int partitions) {
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", bootstraps) || set(conf, "group.id", "chaos-dump") ||
        set(conf, "enable.partition.eof", "true") || set(conf, "log_level", "3"))
        return -1;
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!rk)
        return -1;
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(ntopics * partitions);
    for (int t = 0; t < ntopics; t++)
        for (int p = 0; p < partitions; p++)
            rd_kafka_topic_partition_list_add(l, topics[t], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    FILE *f = fopen(path, "w");
    int pending = ntopics * partitions, rc = -1;
    if (f && !rd_kafka_assign(rk, l)) {
        double deadline = now_s() + 300;
        while (pending > 0 && now_s() < deadline) {
            rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 500);
            if (!rkm)
                continue;
            if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_find(
                    l, rd_kafka_topic_name(rkm->rkt), rkm->partition);
                if (tp && tp->offset != -1000) {
                    tp->offset = -1000; /* done */
                    pending--;
                }
            } else if (!rkm->err) {
                fprintf(f, "%s\t%" PRId32 "\t%" PRId64 "\t", rd_kafka_topic_name(rkm->rkt),
                        rkm->partition, rkm->offset);
                for (size_t i = 0; i < rkm->len; i++)
                    fprintf(f, "%02x", ((const unsigned char *)rkm->payload)[i]);
                fputc('\n', f);
            }
            rd_kafka_message_destroy(rkm);
        }
        rc = pending == 0 ? 0 : -1;
    }
    if (f && fclose(f) != 0)
        rc = -1;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

/* One command line; answers on stdout. Returns 1 for quit. */
static int command(rd_kafka_t *rk, rd_kafka_mock_cluster_t *mcluster, char *line,
                   char *const *topics, int ntopics, int partitions) {
    char *argv[MAX_ERRS + 4];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < (int)(sizeof(argv) / sizeof(*argv));
         tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0)
        return 0;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!strcmp(argv[0], "quit")) {
        return 1;
    } else if (!strcmp(argv[0], "err") && argc >= 3) {
        rd_kafka_resp_err_t errs[MAX_ERRS];
        size_t cnt = 0;
        for (int i = 2; i < argc && cnt < MAX_ERRS; i++)
            errs[cnt++] = (rd_kafka_resp_err_t)atoi(argv[i]);
        rd_kafka_mock_push_request_errors_array(mcluster, (int16_t)atoi(argv[1]), cnt, errs);
    } else if ((!strcmp(argv[0], "down") || !strcmp(argv[0], "up")) && argc == 2) {
        int32_t b = atoi(argv[1]);
        err = argv[0][0] == 'd' ? rd_kafka_mock_broker_set_down(mcluster, b)
                                : rd_kafka_mock_broker_set_up(mcluster, b);
    } else if (!strcmp(argv[0], "leader") && argc == 4) {
        err = rd_kafka_mock_partition_set_leader(mcluster, argv[1], atoi(argv[2]), atoi(argv[3]));
    } else if (!strcmp(argv[0], "coord") && argc == 3) {
        err = rd_kafka_mock_coordinator_set(mcluster, "group", argv[1], atoi(argv[2]));
    } else if (!strcmp(argv[0], "rtt") && argc == 3) {
        err = rd_kafka_mock_broker_set_rtt(mcluster, atoi(argv[1]), atoi(argv[2]));
    } else if (!strcmp(argv[0], "dump") && argc == 2) {
        if (dump(rd_kafka_mock_cluster_bootstraps(mcluster), argv[1], topics, ntopics, partitions))
            err = RD_KAFKA_RESP_ERR__FAIL;
    } else if (!strcmp(argv[0], "wm") && argc == 1) {
        for (int t = 0; t < ntopics; t++) {
            for (int p = 0; p < partitions; p++) {
                int64_t lo = -1, hi = -1;
                rd_kafka_resp_err_t e;
                /* librdkafka keeps a moved leader it cached after "not leader" (the
                 * recorder's bug, tests/cli/test_run_leader_move.sh): refresh, retry. */
                for (int attempt = 0; attempt < 10; attempt++) {
                    e = rd_kafka_query_watermark_offsets(rk, topics[t], p, &lo, &hi, 10000);
                    if (!e)
                        break;
                    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topics[t], NULL);
                    const struct rd_kafka_metadata *md = NULL;
                    if (rkt && !rd_kafka_metadata(rk, 0, rkt, &md, 10000))
                        rd_kafka_metadata_destroy(md);
                    if (rkt)
                        rd_kafka_topic_destroy(rkt);
                    usleep(200 * 1000);
                }
                if (e) {
                    printf("error wm %s %d: %s\n", topics[t], p, rd_kafka_err2name(e));
                    fflush(stdout);
                    return 0;
                }
                printf("wm %s %d %" PRId64 " %" PRId64 "\n", topics[t], p, lo, hi);
            }
        }
    } else {
        printf("error unknown command or arguments: %s\n", argv[0]);
        fflush(stdout);
        return 0;
    }
    if (err)
        printf("error %s: %s\n", argv[0], rd_kafka_err2name(err));
    else
        printf("ok %s\n", argv[0]);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    int nbrokers = 3, partitions = 4;
    double rate = 200;
    char *topics_arg = NULL;
    const char *stream_path = NULL, *record_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: chaos_driver --brokers N --partitions P --topics T1,T2,... "
                   "--stream FILE --record FILE [--rate MSGS_PER_S]\n"
                   "The chaos test's mock cluster and producer: see the comment at the top of "
                   "tests/chaos/chaos_driver.c.\n");
            return 0;
        }
        if (i + 1 >= argc)
            usage();
        if (!strcmp(argv[i], "--brokers"))
            nbrokers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--partitions"))
            partitions = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--topics"))
            topics_arg = argv[++i];
        else if (!strcmp(argv[i], "--stream"))
            stream_path = argv[++i];
        else if (!strcmp(argv[i], "--record"))
            record_path = argv[++i];
        else if (!strcmp(argv[i], "--rate"))
            rate = atof(argv[++i]);
        else
            usage();
    }
    if (nbrokers < 1 || partitions < 1 || !topics_arg || !stream_path || !record_path || rate <= 0)
        usage();
    char *topics[MAX_TOPICS];
    int ntopics = 0;
    for (char *t = strtok(topics_arg, ","); t && ntopics < MAX_TOPICS; t = strtok(NULL, ","))
        topics[ntopics++] = t;

    size_t nlines;
    line_t *lines = read_stream(stream_path, &nlines);
    if (!(record = fopen(record_path, "w"))) {
        fprintf(stderr, "chaos_driver: cannot write %s: %s\n", record_path, strerror(errno));
        return 1;
    }

    /* The cluster's host handle: a producer that never produces. */
    char errstr[256];
    rd_kafka_conf_t *hconf = rd_kafka_conf_new();
    if (set(hconf, "log_level", "3"))
        return 1;
    rd_kafka_t *host = rd_kafka_new(RD_KAFKA_PRODUCER, hconf, errstr, sizeof(errstr));
    if (!host) {
        fprintf(stderr, "chaos_driver: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(host, nbrokers);
    if (!mcluster) {
        fprintf(stderr, "chaos_driver: cannot start the mock cluster\n");
        return 1;
    }
    for (int t = 0; t < ntopics; t++) {
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(mcluster, topics[t], partitions, nbrokers);
        if (err) {
            fprintf(stderr, "chaos_driver: topic %s: %s\n", topics[t], rd_kafka_err2str(err));
            return 1;
        }
    }
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mcluster);

    /* The producer: idempotent, never gives a message up (no timeout), so every line
     * of the stream lands exactly once, in order per partition. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", bootstraps) || set(conf, "enable.idempotence", "true") ||
        set(conf, "message.timeout.ms", "0") || set(conf, "linger.ms", "5") ||
        set(conf, "log_level", "3"))
        return 1;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "chaos_driver: %s\n", errstr);
        return 1;
    }
    printf("%s\n", bootstraps);
    fflush(stdout);

    double start = now_s();
    size_t next = 0;
    int done_said = 0, stdin_open = 1, quit = 0;
    char cmd[4096];
    size_t cmdlen = 0;
    while (!quit) {
        /* Produce what is due by now. */
        size_t due = (size_t)((now_s() - start) * rate) + 1;
        while (next < nlines && next < due) {
            line_t *l = &lines[next];
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(l->topic),
                RD_KAFKA_V_PARTITION(l->partition < 0 ? RD_KAFKA_PARTITION_UA : l->partition),
                RD_KAFKA_V_KEY(l->key, strlen(l->key)), RD_KAFKA_V_VALUE(l->value, l->value_len),
                RD_KAFKA_V_OPAQUE(l), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                break;
            if (err) {
                fprintf(stderr, "chaos_driver: produce line %ld: %s\n", l->id,
                        rd_kafka_err2str(err));
                return 1;
            }
            next++;
        }
        rd_kafka_poll(rk, 0);
        if (!done_said && next == nlines && rd_kafka_outq_len(rk) == 0) {
            fflush(record);
            printf("stream done %ld%s\n", acked_ok, acked_err ? " with errors" : "");
            fflush(stdout);
            done_said = 1;
        }
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        int ready = stdin_open ? poll(&pfd, 1, 10) : (usleep(10000), 0);
        if (ready > 0) {
            ssize_t got = read(0, cmd + cmdlen, sizeof(cmd) - 1 - cmdlen);
            if (got <= 0) {
                stdin_open = 0; /* run.sh went away: keep serving until killed */
                quit = 1;
                continue;
            }
            cmdlen += (size_t)got;
            cmd[cmdlen] = '\0';
            char *nl;
            while (!quit && (nl = strchr(cmd, '\n'))) {
                *nl = '\0';
                quit = command(rk, mcluster, cmd, topics, ntopics, partitions);
                size_t rest = cmdlen - (size_t)(nl + 1 - cmd);
                memmove(cmd, nl + 1, rest + 1);
                cmdlen = rest;
            }
            if (cmdlen == sizeof(cmd) - 1)
                cmdlen = 0; /* an over-long line: dropped */
        }
    }
    rd_kafka_flush(rk, 5000);
    fclose(record);
    rd_kafka_destroy(rk);
    rd_kafka_mock_cluster_destroy(mcluster);
    rd_kafka_destroy(host);
    for (size_t i = 0; i < nlines; i++) {
        free(lines[i].topic);
        free(lines[i].key);
        free(lines[i].value);
    }
    free(lines);
    printf("ok quit\n");
    return 0;
}
