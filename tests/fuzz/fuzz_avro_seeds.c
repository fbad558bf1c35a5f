/* Seed generator for the fuzz_avro target: writes datums of every test schema
 * (tests/fuzz/avro_schemas/, in fuzz_avro_check.h's order) with avro-c's own writer,
 * so that the seeds are valid Avro by an implementation other than ours. Values come
 * from a fixed pseudo-random sequence: mostly small numbers (valid for every
 * logical type), sometimes extremes; unions and containers go deep in some datums
 * ("greedy": last union branch, one item) within a node budget.
 *   fuzz_avro_seeds SOURCE_DIR OUT_DIR [COUNT_PER_SCHEMA]
 * Each file is byte 0 = schema index, then the datum; named by an FNV-1a hash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <avro.h>
#include "fuzz_avro_check.h"

#define MAX_DATUM 4096 /* deploy/fuzz.sh runs with -max_len=4096 */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)(rng_state % n) : 0;
}

static int greedy, budget;

static void fill_bytes(uint8_t *b, size_t n, int sign_extend) {
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd(256);
    if (sign_extend && n > 2) { /* a small decimal in a wide fixed */
        uint8_t ext = (b[n - 2] & 0x80) ? 0xff : 0x00;
        memset(b, ext, n - 2);
    }
}

static int fill(avro_value_t *v, int depth);

static int fill_container_count(void) {
    if (budget <= 0)
        return 0;
    return greedy ? 1 : (int)rnd(4);
}

static int fill(avro_value_t *v, int depth) {
    static const int64_t longs[] = {0,
                                    1,
                                    -1,
                                    86399999999,
                                    1795247483123456,
                                    INT64_MAX,
                                    INT64_MIN,
                                    -62135596800000000,
                                    253402300799999999};
    static const int32_t ints[] = {0,         1,         -1,      19000,  86399999,
                                   INT32_MAX, INT32_MIN, 2932896, -719162};
    static const char *const strings[] = {"",
                                          "abc",
                                          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                          "tab\there \"quoted\" back\\slash",
                                          "BUY",
                                          "123e4567-e89b-12d3-a456-426614174000"};
    avro_schema_t schema = avro_value_get_schema(v);
    budget--;
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return avro_value_set_null(v);
    case AVRO_BOOLEAN:
        return avro_value_set_boolean(v, (int)rnd(2));
    case AVRO_INT32:
        return avro_value_set_int(v, rnd(5) ? (int32_t)rnd(1000)
                                            : ints[rnd(sizeof(ints) / sizeof(ints[0]))]);
    case AVRO_INT64:
        return avro_value_set_long(v, rnd(5) ? (int64_t)rnd(100000)
                                             : longs[rnd(sizeof(longs) / sizeof(longs[0]))]);
    case AVRO_FLOAT:
        return avro_value_set_float(v, rnd(3) ? (float)rnd(1000) / 8 : 1e30f * (float)rnd(3));
    case AVRO_DOUBLE:
        return avro_value_set_double(v, rnd(3) ? (double)rnd(100000) / 3 : -1e300);
    case AVRO_STRING: {
        const char *s = strings[rnd(sizeof(strings) / sizeof(strings[0]))];
        return avro_value_set_string(v, s);
    }
    case AVRO_BYTES: {
        uint8_t b[80];
        size_t n = rnd(8) ? 1 + rnd(4) : rnd(sizeof(b) + 1);
        fill_bytes(b, n, 0);
        return avro_value_set_bytes(v, b, n);
    }
    case AVRO_FIXED: {
        uint8_t b[128];
        size_t n = (size_t)avro_schema_fixed_size(schema);
        if (n > sizeof(b))
            return -1;
        fill_bytes(b, n, rnd(4) != 0);
        return avro_value_set_fixed(v, b, n);
    }
    case AVRO_ENUM:
        return avro_value_set_enum(v,
                                   (int)rnd((uint32_t)avro_schema_enum_number_of_symbols(schema)));
    case AVRO_RECORD: {
        size_t n = avro_schema_record_size(schema);
        for (size_t i = 0; i < n; i++) {
            avro_value_t field;
            if (avro_value_get_by_index(v, i, &field, NULL) || fill(&field, depth + 1))
                return -1;
        }
        return 0;
    }
    case AVRO_ARRAY: {
        int n = fill_container_count();
        for (int i = 0; i < n; i++) {
            avro_value_t item;
            if (avro_value_append(v, &item, NULL) || fill(&item, depth + 1))
                return -1;
        }
        return 0;
    }
    case AVRO_MAP: {
        int n = fill_container_count();
        for (int i = 0; i < n; i++) {
            char key[32];
            snprintf(key, sizeof(key), i == 1 ? "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87%d" : "k%d", i);
            avro_value_t item;
            if (avro_value_add(v, key, &item, NULL, NULL) || fill(&item, depth + 1))
                return -1;
        }
        return 0;
    }
    case AVRO_UNION: {
        /* Branch 0 is null in every test schema's unions: the way out when the
         * budget is spent. */
        int n = (int)avro_schema_union_size(schema);
        int b = budget <= 0 ? 0 : greedy ? n - 1 : (int)rnd((uint32_t)n);
        avro_value_t branch;
        if (avro_value_set_branch(v, b, &branch))
            return -1;
        return fill(&branch, depth + 1);
    }
    default:
        return -1;
    }
}

static int write_seed(const char *out_dir, int s, const char *buf, size_t n) {
    uint8_t data[MAX_DATUM + 1];
    data[0] = (uint8_t)s;
    memcpy(data + 1, buf, n);
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n + 1; i++)
        h = (h ^ data[i]) * 0x100000001b3u;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%016llx", out_dir, (unsigned long long)h);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, n + 1, fp) != n + 1 || fclose(fp) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s SOURCE_DIR OUT_DIR [COUNT_PER_SCHEMA]\n", argv[0]);
        return 2;
    }
    int count = argc > 3 ? atoi(argv[3]) : 24;
    int written = 0;
    for (int s = 0; s < FUZZ_AVRO_NSCHEMAS; s++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/tests/fuzz/avro_schemas/%s.avsc", argv[1],
                 fuzz_avro_schema_name(s));
        FILE *fp = fopen(path, "rb");
        static char json[1 << 16];
        size_t jl = fp ? fread(json, 1, sizeof(json), fp) : 0;
        if (fp)
            fclose(fp);
        avro_schema_t schema;
        if (!jl || avro_schema_from_json_length(json, jl, &schema)) {
            fprintf(stderr, "%s: %s\n", path, fp ? avro_strerror() : "cannot read");
            return 1;
        }
        avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
        for (int k = 0; k < count; k++) {
            avro_value_t v;
            if (!iface || avro_generic_value_new(iface, &v)) {
                fprintf(stderr, "%s: %s\n", path, avro_strerror());
                return 1;
            }
            greedy = k % 4 == 3;
            budget = greedy ? 400 : 60;
            static char buf[MAX_DATUM];
            avro_writer_t w = avro_writer_memory(buf, sizeof(buf));
            /* A datum that does not fit the fuzzer's max_len is left out. */
            if (fill(&v, 0) == 0 && avro_value_write(w, &v) == 0) {
                if (write_seed(argv[2], s, buf, (size_t)avro_writer_tell(w)) < 0)
                    return 1;
                written++;
            }
            avro_writer_free(w);
            avro_value_decref(&v);
        }
        avro_value_iface_decref(iface);
        avro_schema_decref(schema);
    }
    fprintf(stderr, "fuzz_avro_seeds: %d seeds in %s\n", written, argv[2]);
    return 0;
}
