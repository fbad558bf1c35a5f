/* execrec decode: run files of messages through the codec and normaliser offline and
 * print, per line, the normalised record or the reject, as JSON lines. The quickest
 * way to check what the recorder would store for a given payload, without Kafka or
 * PostgreSQL. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/avro.h"
#include "execrec/buf.h"
#include "execrec/cli.h"
#include "execrec/codec.h"
#include "execrec/json.h"
#include "execrec/record.h"

typedef struct decode_stats_s {
    long lines, records, rejects;
} decode_stats_t;

static void usage(FILE *out) {
    fprintf(out,
            "usage: execrec decode --kind KIND [--format json|avro|auto] [--schema FILE.avsc]\n"
            "                      [--registry MAP] [FILE...]\n"
            "\n"
            "Decodes one message per line (stdin when no FILE or FILE is '-') and prints, per\n"
            "line, the normalised record or the reject as one JSON object:\n"
            "  {\"line\":N,\"kind\":\"trade\",\"columns\":{...}}\n"
            "  {\"line\":N,\"reject\":\"bad_decimal\",\"message\":\"...\"}\n"
            "(with \"file\" too when several files are given). Empty lines are skipped.\n"
            "\n"
            "  -k, --kind KIND      order, order_event, trade or order_manager (required)\n"
            "  -f, --format FMT     json, avro or auto (default auto: JSON object, else\n"
            "                       Confluent Avro)\n"
            "  -s, --schema FILE    Avro schema for --format avro (plain Avro bodies)\n"
            "  -r, --registry MAP   schema id map (\"<id> <file.avsc>\" per line) for\n"
            "                       Confluent-framed Avro\n"
            "  -h, --help           this help\n"
            "\n"
            "Avro messages are binary, so with --format avro each line is the hex encoding\n"
            "of one message value; with auto, a line of hex digits starting with \"00\" is\n"
            "read as a hex Confluent-framed value. Exit status: 0 if every line decoded, 1 if any\n"
            "line was rejected (a summary goes to stderr), 2 on misuse.\n");
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes a line of hex digits in place. @returns the byte length, or -1 if the line
 * is not hex (then it is passed on as it is, and the codec says what is wrong). */
static long unhex(char *s, size_t n) {
    if (n == 0 || n % 2)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (hexval((unsigned char)s[i]) < 0)
            return -1;
    for (size_t i = 0; i < n / 2; i++)
        s[i] = (char)(hexval((unsigned char)s[2 * i]) * 16 + hexval((unsigned char)s[2 * i + 1]));
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
            if (!execrec_json_utf8_valid(rej.message, mlen, &bad))
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

int execrec_cli_decode(int argc, char **argv) {
    static const struct option opts[] = {
        {"kind", required_argument, NULL, 'k'},   {"format", required_argument, NULL, 'f'},
        {"schema", required_argument, NULL, 's'}, {"registry", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *kind_s = NULL, *format_s = "auto", *schema_path = NULL, *registry_path = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "k:f:s:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            kind_s = optarg;
            break;
        case 'f':
            format_s = optarg;
            break;
        case 's':
            schema_path = optarg;
            break;
        case 'r':
            registry_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXECREC_EXIT_OK;
        default:
            fprintf(stderr, "execrec decode: bad option '%s' (see 'execrec decode --help')\n",
                    argv[optind - 1]);
            return EXECREC_EXIT_USAGE;
        }
    }
    execrec_kind_t kind;
    if (!kind_s) {
        fprintf(stderr, "execrec decode: --kind is required (order, order_event, trade, "
                        "order_manager)\n");
        return EXECREC_EXIT_USAGE;
    }
    if (execrec_kind_parse(kind_s, &kind) < 0) {
        fprintf(stderr,
                "execrec decode: unknown kind '%s' (order, order_event, trade, "
                "order_manager)\n",
                kind_s);
        return EXECREC_EXIT_USAGE;
    }
    execrec_format_t format;
    if (!strcmp(format_s, "auto"))
        format = EXECREC_FORMAT_AUTO;
    else if (!strcmp(format_s, "json"))
        format = EXECREC_FORMAT_JSON;
    else if (!strcmp(format_s, "avro"))
        format = EXECREC_FORMAT_AVRO;
    else {
        fprintf(stderr, "execrec decode: --format must be json, avro or auto, not '%s'\n",
                format_s);
        return EXECREC_EXIT_USAGE;
    }
    if (format == EXECREC_FORMAT_AVRO && !schema_path) {
        fprintf(stderr, "execrec decode: --format avro needs --schema FILE.avsc\n");
        return EXECREC_EXIT_USAGE;
    }

    int rc = EXECREC_EXIT_FAIL;
    char errstr[512];
    execrec_avro_schema_t *schema = NULL;
    execrec_avro_registry_t *registry = NULL;
    execrec_codec_t *codec = NULL;
    execrec_arena_t *arena = NULL;
    decode_stats_t st = {0, 0, 0};
    if (schema_path && !(schema = execrec_avro_schema_load(schema_path, errstr, sizeof(errstr)))) {
        fprintf(stderr, "execrec decode: %s\n", errstr);
        goto out;
    }
    if (registry_path) {
        if (!(registry = execrec_avro_registry_new())) {
            fprintf(stderr, "execrec decode: out of memory\n");
            goto out;
        }
        if (execrec_avro_registry_load_map(registry, registry_path, errstr, sizeof(errstr)) !=
            EXECREC_OK) {
            fprintf(stderr, "execrec decode: %s\n", errstr);
            goto out;
        }
    }
    execrec_codec_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    for (int k = 0; k < EXECREC_KIND__CNT; k++)
        conf.format[k] = EXECREC_FORMAT_AUTO;
    conf.format[kind] = format;
    conf.plain_schema[kind] = schema;
    conf.registry = registry;
    if (!(codec = execrec_codec_new(&conf, errstr, sizeof(errstr)))) {
        fprintf(stderr, "execrec decode: %s\n", errstr);
        goto out;
    }
    if (!(arena = execrec_arena_new())) {
        fprintf(stderr, "execrec decode: out of memory\n");
        goto out;
    }
    int nfiles = argc - optind;
    int failed = 0;
    if (nfiles == 0) {
        failed = decode_stream(stdin, NULL, codec, kind, format, arena, &st) < 0;
    } else {
        for (int i = optind; i < argc && !failed; i++) {
            const char *name = nfiles > 1 ? argv[i] : NULL;
            if (!strcmp(argv[i], "-")) {
                failed = decode_stream(stdin, name, codec, kind, format, arena, &st) < 0;
                continue;
            }
            FILE *in = fopen(argv[i], "rb");
            if (!in) {
                fprintf(stderr, "execrec decode: %s: %s\n", argv[i], strerror(errno));
                failed = 1;
                break;
            }
            failed = decode_stream(in, name, codec, kind, format, arena, &st) < 0;
            fclose(in);
        }
    }
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
    execrec_codec_destroy(codec);
    execrec_avro_schema_destroy(schema);
    execrec_avro_registry_destroy(registry);
    return rc;
}
