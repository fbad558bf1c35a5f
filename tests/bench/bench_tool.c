/* The benchmark's own tool (tests/bench/run.sh), built only with -DEXECREC_BENCH=ON.
 *
 *   bench_tool produce BROKERS TOPIC FILE [RATE]
 *       produces every message of a framed file (tests/bench/gen.py) keyed as
 *       written, idempotently, and waits for every delivery; RATE > 0 paces it at
 *       RATE messages per second (the latency run), else as fast as it goes.
 *   bench_tool decode KIND FILE [REGISTRY_MAP] [SECONDS]
 *       decode + normalise (codec.h) of the file's values in a loop on one core for
 *       SECONDS (default 5); prints "<messages> <seconds> <messages per second>".
 *       Every message must decode to a record: a reject fails the run. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <librdkafka/rdkafka.h>
#include "execrec/arena.h"
#include "execrec/avro.h"
#include "execrec/schemamap.h"
#include "model/codec.h"
#include "execrec/record.h"

typedef struct msg_s {
    const char *key, *value;
    uint32_t key_len, value_len;
} msg_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the whole framed file; the messages point into *data. */
static msg_t *read_framed(const char *path, char **data, size_t *count) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    *data = malloc((size_t)size + 1);
    if (!*data || fread(*data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "%s: cannot read\n", path);
        fclose(f);
        return NULL;
    }
    fclose(f);
    size_t n = 0, cap = 1024;
    msg_t *m = malloc(cap * sizeof(*m));
    const unsigned char *p = (const unsigned char *)*data, *end = p + size;
    while (m && p + 8 <= end) {
        if (n == cap)
            m = realloc(m, (cap *= 2) * sizeof(*m));
        if (!m)
            break;
        m[n].key_len = be32(p);
        m[n].key = (const char *)p + 4;
        p += 4 + m[n].key_len;
        m[n].value_len = be32(p);
        m[n].value = (const char *)p + 4;
        p += 4 + m[n].value_len;
        if (p > end) {
            fprintf(stderr, "%s: truncated frame\n", path);
            free(m);
            return NULL;
        }
        n++;
    }
    *count = n;
    return m;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
        exit(1);
    }
}

static int produce(const char *brokers, const char *topic, const char *path, double rate) {
    char *data, errstr[512];
    size_t n;
    msg_t *m = read_framed(path, &data, &n);
    if (!m)
        return 1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "linger.ms", rate > 0 ? "1" : "20", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "queue.buffering.max.kbytes", "1048576", errstr, sizeof(errstr))) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        if (rate > 0) {
            double due = t0 + (double)i / rate;
            while (now_s() < due) { /* sleep, not spin: the recorder needs the core */
                rd_kafka_poll(rk, 0);
                nanosleep(&(struct timespec){0, 200000}, NULL);
            }
        }
        for (;;) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(0),
                RD_KAFKA_V_KEY(m[i].key, m[i].key_len),
                RD_KAFKA_V_VALUE((void *)m[i].value, m[i].value_len), RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 10);
                continue;
            }
            if (err) {
                fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
                return 1;
            }
            break;
        }
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 120000)) {
        fprintf(stderr, "flush timed out\n");
        return 1;
    }
    printf("%zu %.3f\n", n, now_s() - t0);
    rd_kafka_destroy(rk);
    free(m);
    free(data);
    return 0;
}

static int decode(const char *kind_name, const char *path, const char *map, double seconds) {
    char *data, errstr[512];
    size_t n;
    execrec_kind_t kind;
    if (execrec_kind_parse(kind_name, &kind) < 0) {
        fprintf(stderr, "unknown kind %s\n", kind_name);
        return 1;
    }
    msg_t *m = read_framed(path, &data, &n);
    if (!m || n == 0)
        return 1;
    execrec_schemamap_t *reg = NULL;
    if (map && *map) {
        reg = execrec_schemamap_new();
        if (!reg || execrec_schemamap_load(reg, map, errstr, sizeof(errstr))) {
            fprintf(stderr, "%s\n", errstr);
            return 1;
        }
    }
    execrec_codec_conf_t cc;
    memset(&cc, 0, sizeof(cc));
    cc.schemas = reg;
    execrec_codec_t *codec = execrec_codec_new(&cc, errstr, sizeof(errstr));
    execrec_arena_t *arena = execrec_arena_new();
    if (!codec || !arena)
        return 1;
    uint64_t done = 0;
    double t0 = now_s(), t;
    do {
        for (size_t i = 0; i < n; i++) {
            execrec_record_t rec;
            execrec_reject_t rej;
            execrec_arena_reset(arena);
            if (execrec_codec_decode(codec, kind, m[i].value, m[i].value_len, arena, &rec, &rej) !=
                EXECREC_OK) {
                fprintf(stderr, "message %zu rejected: %s %s\n", i, rej.code, rej.message);
                return 1;
            }
        }
        done += n;
        t = now_s() - t0;
    } while (t < seconds);
    printf("%" PRIu64 " %.3f %.0f\n", done, t, (double)done / t);
    execrec_codec_destroy(codec);
    execrec_arena_destroy(arena);
    execrec_schemamap_destroy(reg);
    free(m);
    free(data);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 5 && !strcmp(argv[1], "produce"))
        return produce(argv[2], argv[3], argv[4], argc > 5 ? atof(argv[5]) : 0);
    if (argc >= 4 && !strcmp(argv[1], "decode"))
        return decode(argv[2], argv[3], argc > 4 ? argv[4] : NULL, argc > 5 ? atof(argv[5]) : 5);
    fprintf(stderr, "usage: bench_tool produce BROKERS TOPIC FILE [RATE]\n"
                    "       bench_tool decode KIND FILE [REGISTRY_MAP] [SECONDS]\n");
    return 2;
}
