/* execrec load: record JSON-lines files straight into the tables, through the same
 * decoder and batch writer as the recorder, without Kafka. For archives, the
 * offline demo and tests. Coordinates: topic "file:<basename>", partition 0,
 * offset = line number, so loading a file twice inserts nothing the second time. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "model/codec.h"
#include "execrec/config.h"
#include "app/ingest.h"
#include "base/log.h"
#include "execrec/record.h"
#include "pg/writer.h"
#include "cli_common.h"

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const load_keys[] = {"dsn", "kind", "format", "avro.schema", "registry",
                                        "max.message.bytes", "batch.size", "log.level",
                                        "batch.bytes", "reject.payload.max",
                                        "registry.map", "registry.timeout.ms", NULL};
/* clang-format on */

typedef struct load_s {
    execrec_ingest_t *ingest;
    execrec_writer_t *writer; /* the ingest's */
    execrec_kind_t kind;
    int64_t batch_size;
    execrec_writer_stats_t total;
    int64_t read;
} load_t;

static int flush(load_t *ld) {
    char errstr[1024];
    execrec_writer_stats_t stats;
    /* One attempt: a file can simply be loaded again (natural keys). */
    execrec_err_t err =
        execrec_ingest_flush(ld->ingest, EXECREC_INGEST_NO_RETRY, &stats, errstr, sizeof(errstr));
    if (err) {
        fprintf(stderr, "execrec load: writing to PostgreSQL failed: %s\n", errstr);
        return -1;
    }
    execrec_writer_stats_add(&ld->total, &stats);
    return 0;
}

static int load_file(load_t *ld, const char *path) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "execrec load: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *copy = strdup(path), topic[512];
    snprintf(topic, sizeof(topic), "file:%s", strcmp(path, "-") ? basename(copy) : "stdin");
    free(copy);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t lineno = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        size_t i = 0;
        while (i < (size_t)n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
            i++;
        if (i == (size_t)n)
            continue; /* blank lines separate nothing and carry no message */
        ld->read++;
        execrec_msgmeta_t meta = {topic, 0, lineno, -1, NULL, 0, line, (size_t)n};
        execrec_err_t err = execrec_ingest_add(ld->ingest, ld->kind, &meta);
        if (err) {
            fprintf(stderr, "execrec load: %s line %" PRId64 ": %s\n", path, lineno,
                    execrec_err_name(err));
            rc = -1;
            break;
        }
        if (execrec_ingest_full(ld->ingest) && flush(ld) < 0) {
            rc = -1;
            break;
        }
    }
    if (!rc && ferror(f)) {
        fprintf(stderr, "execrec load: reading %s: %s\n", path, strerror(errno));
        rc = -1;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    return rc;
}

int execrec_cli_load(int argc, char **argv) {
    char **files = NULL;
    int nfiles = 0, rc;
    load_t ld = {0};
    cli_codec_t cc = {0};
    char errstr[1024];

    execrec_config_t *conf =
        cli_begin("load",
                  "Record JSON-lines files (one message per line; '-' is stdin) into the tables,\n"
                  "with the recorder's decoder and batch writer, without Kafka. Each message's\n"
                  "coordinates are topic 'file:<name>', partition 0, offset = line number, so a\n"
                  "second load of the same file inserts nothing. Prints a summary: read,\n"
                  "inserted, duplicates, rejected.",
                  load_keys, argc, argv, &files, &nfiles, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_FAIL;
    if (cli_parse_kind(conf, "load", &ld.kind)) {
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    if (nfiles == 0) {
        fprintf(stderr, "execrec load: no input files (use '-' for stdin)\n");
        rc = EXECREC_EXIT_USAGE;
        goto done;
    }
    int crc = cli_codec_open(&cc, conf, ld.kind, "load");
    if (crc) {
        rc = crc;
        goto done;
    }
    ld.batch_size = execrec_config_get_int(conf, "batch.size");
    if (ld.batch_size <= 0)
        ld.batch_size = 1;
    execrec_ingest_conf_t ic = {
        .dsn = execrec_config_get(conf, "dsn"), .codec = cc.codec, .batch_size = ld.batch_size};
    if ((rc = cli_batch_limits(conf, "load", &ic.batch_bytes, &ic.reject_payload_max)))
        goto done;
    rc = EXECREC_EXIT_FAIL;
    if (!(ld.ingest = execrec_ingest_new(&ic, errstr, sizeof(errstr)))) {
        fprintf(stderr, "execrec load: out of memory\n");
        goto done;
    }
    ld.writer = execrec_ingest_writer(ld.ingest);
    if (execrec_writer_ensure(ld.writer, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec load: %s\n", errstr);
        goto done;
    }
    int applied = 0;
    if (execrec_ingest_connect(ld.ingest, &applied, errstr, sizeof(errstr))) {
        fprintf(stderr, "execrec load: %s\n", errstr);
        goto done;
    }
    for (int i = 0; i < nfiles; i++)
        if (load_file(&ld, files[i]) < 0)
            goto done;
    if (flush(&ld) < 0)
        goto done;
    int64_t ins, dup;
    execrec_writer_stats_sum(&ld.total, &ins, &dup);
    /* For order managers "inserted" counts rows inserted or moved to a newer intent,
     * and "duplicates" the intents that were not newer than the stored one. */
    printf("load %s: read %" PRId64 ", inserted %" PRId64 ", duplicates %" PRId64
           "%s, rejected %" PRId64 " (%" PRId64 " already recorded)\n",
           execrec_kind_name(ld.kind), ld.read, ins, dup,
           ld.kind == EXECREC_KIND_ORDER_MANAGER ? " or older intents" : "", ld.total.rejected,
           ld.total.rejects_duplicate);
    rc = EXECREC_EXIT_OK;
done:
    execrec_ingest_destroy(ld.ingest);
    cli_codec_close(&cc);
    execrec_config_destroy(conf);
    return rc;
}
