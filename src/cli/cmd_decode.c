/* execrec decode: run files of messages through the codec and normaliser offline and
 * print, per line, the normalised record or the reject, as JSON lines. The quickest
 * way to check what the recorder would store for a given payload, without Kafka or
 * PostgreSQL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/avro.h"
#include "base/buf.h"
#include "cli/cli.h"
#include "model/codec.h"
#include "execrec/config.h"
#include "wire/json.h"
#include "base/utf8.h"
#include "execrec/record.h"
#include "cli_common.h"

typedef struct decode_stats_s {
    long lines, records, rejects;
} decode_stats_t;

/* The description under "usage:" in --help; the options come from the config table. */
static const char decode_summary[] =
    "Decodes one message per line (stdin when no FILE or FILE is '-') and prints, per\n"
    "line, the normalised record or the reject as one JSON object:\n"
    "  {\"line\":N,\"kind\":\"trade\",\"columns\":{...}}\n"
    "  {\"line\":N,\"reject\":\"bad_decimal\",\"message\":\"...\"}\n"
    "(with \"file\" too when several files are given). Empty lines are skipped.\n"
    "--kind is required. Avro messages are binary, so with --format avro each line is\n"
    "the hex encoding of one message value; with auto, a line of hex digits starting\n"
    "with \"00\" is read as a hex Confluent-framed value. Exit status: 0 if every line\n"
    "decoded, 1 if any line was rejected (a summary goes to stderr), 2 on misuse.";

/* The keys this command takes (config.c has their help), laid out by hand. */
/* clang-format off */
static const char *const decode_keys[] = {"kind", "format", "avro.schema", "registry",
                                          "registry.map", "registry.timeout.ms",
                                          "max.message.bytes", "log.level", NULL};
/* clang-format on */

/* Decodes a line of hex digits in place. @returns the byte length, or -1 if the line
 * is not hex (then it is passed on as it is, and the codec says what is wrong). */
static long unhex(char *s, size_t n) {
    if (n == 0 || n % 2)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (execrec_buf_hexdigit((unsigned char)s[i]) < 0)
            return -1;
    for (size_t i = 0; i < n / 2; i++)
        s[i] = (char)(execrec_buf_hexdigit((unsigned char)s[2 * i]) * 16 +
                      execrec_buf_hexdigit((unsigned char)s[2 * i + 1]));
    return (long)(n / 2);
}

static void print_prefix(execrec_buf_t *out, const char *file, long line) {
    execrec_buf_puts(out, "{");
    if (file) {
        execrec_buf_puts(out, "\"file\":");
        execrec_json_append_string(out, file, strlen(file));
        execrec_buf_putc(out, ',');
    }
    execrec_buf_printf(out, "\"line\":%ld,", line);
}

typedef struct decode_run_s {
    execrec_codec_t *codec;
    execrec_kind_t kind;
    execrec_format_t format;
    execrec_arena_t *arena;
    decode_stats_t *st;
    int named; /* more than one input: each output line names its file */
} decode_run_t;

static int decode_stream(FILE *in, const char *file, execrec_codec_t *codec, execrec_kind_t kind,
                         execrec_format_t format, execrec_arena_t *arena, decode_stats_t *st) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    execrec_buf_t out = EXECREC_BUF_INIT;
    int rc = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n')
            len--;
        if (len && line[len - 1] == '\r')
            len--;
        if (len == 0)
            continue;
        st->lines++;
        /* auto detects Confluent framing only, whose hex starts with "00". */
        if (format == EXECREC_FORMAT_AVRO ||
            (format == EXECREC_FORMAT_AUTO && len >= 2 && line[0] == '0' && line[1] == '0')) {
            long b = unhex(line, len);
            if (b >= 0)
                len = (size_t)b;
        }
        execrec_record_t rec;
        execrec_reject_t rej;
        execrec_arena_reset(arena);
        execrec_buf_reset(&out);
        print_prefix(&out, file, lineno);
        execrec_err_t err = execrec_codec_decode(codec, kind, line, len, arena, &rec, &rej);
        if (err == EXECREC_OK) {
            st->records++;
            int ncols;
            const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
            execrec_buf_puts(&out, "\"kind\":\"");
            execrec_buf_puts(&out, execrec_kind_name(kind));
            execrec_buf_puts(&out, "\",\"columns\":{");
            for (int c = 0; c < ncols; c++) {
                if (c)
                    execrec_buf_putc(&out, ',');
                execrec_json_append_string(&out, cols[c].name, strlen(cols[c].name));
                execrec_buf_putc(&out, ':');
                if (rec.val[c])
                    execrec_json_append_string(&out, rec.val[c], rec.len[c]);
                else
                    execrec_buf_puts(&out, "null");
            }
            execrec_buf_puts(&out, "}}\n");
        } else if (err == EXECREC_ERR_REJECT) {
            st->rejects++;
            execrec_buf_puts(&out, "\"reject\":");
            execrec_json_append_string(&out, rej.code, strlen(rej.code));
            execrec_buf_puts(&out, ",\"message\":");
            /* Messages may quote invalid input: keep the output valid UTF-8. */
            size_t mlen = strlen(rej.message), bad;
            if (!execrec_utf8_valid(rej.message, mlen, &bad))
                mlen = bad;
            execrec_json_append_string(&out, rej.message, mlen);
            execrec_buf_puts(&out, "}\n");
        } else {
            fprintf(stderr, "execrec decode: %s line %ld: %s\n", file ? file : "<stdin>", lineno,
                    execrec_err_name(err));
            rc = -1;
            break;
        }
        if (out.oom) {
            fprintf(stderr, "execrec decode: out of memory\n");
            rc = -1;
            break;
        }
        fwrite(out.data, 1, out.len, stdout);
    }
    if (rc == 0 && ferror(in)) {
        fprintf(stderr, "execrec decode: reading %s: %s\n", file ? file : "<stdin>",
                strerror(errno));
        rc = -1;
    }
    free(line);
    execrec_buf_free(&out);
    return rc;
}

static int decode_input(FILE *in, const char *file, void *opaque) {
    decode_run_t *run = opaque;
    return decode_stream(in, run->named ? file : NULL, run->codec, run->kind, run->format,
                         run->arena, run->st);
}

int execrec_cli_decode(int argc, char **argv) {
    char **files = NULL;
    int nfiles = 0, rc;
    execrec_config_t *conf =
        cli_begin("decode", decode_summary, decode_keys, argc, argv, &files, &nfiles, &rc);
    if (!conf)
        return rc;
    rc = EXECREC_EXIT_USAGE;
    cli_codec_t cc = {0};
    execrec_arena_t *arena = NULL;
    decode_stats_t st = {0, 0, 0};
    execrec_kind_t kind;
    if (cli_parse_kind(conf, "decode", &kind))
        goto out;
    if ((rc = cli_codec_open(&cc, conf, kind, "decode")) != 0)
        goto out;
    rc = EXECREC_EXIT_FAIL;
    if (!(arena = execrec_arena_new())) {
        fprintf(stderr, "execrec decode: out of memory\n");
        goto out;
    }
    decode_run_t run = {cc.codec, kind, cc.format, arena, &st, nfiles > 1};
    int failed = cli_each_input("decode", files, nfiles, 0, NULL, decode_input, &run);
    fflush(stdout);
    if (failed)
        goto out;
    if (st.rejects) {
        fprintf(stderr, "execrec decode: %ld lines, %ld records, %ld rejected\n", st.lines,
                st.records, st.rejects);
        goto out;
    }
    rc = EXECREC_EXIT_OK;
out:
    execrec_arena_destroy(arena);
    cli_codec_close(&cc);
    execrec_config_destroy(conf);
    return rc;
}
