/* Internal to the Avro modules (avro.c compiles a schema into this plan,
 * avro_decode.c and avro_encode.c walk it): the plan's nodes and the limits shared by
 * the three. Not part of the API; applications see execrec_avro_schema_t as opaque. */
#ifndef EXECREC_AVRO_PLAN_H
#define EXECREC_AVRO_PLAN_H

#include <stddef.h>
#include "execrec/avro.h"

#define DEPTH_MAX 64               /* nesting of records/arrays/maps/unions in one datum */
#define DECIMAL_MAX_BYTES 64       /* longest decimal unscaled value accepted (154 digits) */
#define DECIMAL_PRECISION_MAX 1000 /* largest precision (hence scale) a schema may give */

typedef enum {
    T_NULL,
    T_BOOLEAN,
    T_INT,
    T_LONG,
    T_FLOAT,
    T_DOUBLE,
    T_BYTES,
    T_STRING,
    T_RECORD,
    T_ENUM,
    T_ARRAY,
    T_MAP,
    T_UNION,
    T_FIXED
} ntype_t;

typedef enum {
    LT_NONE,
    LT_DECIMAL,
    LT_TS_MILLIS,
    LT_TS_MICROS,
    LT_LOCAL_TS_MILLIS,
    LT_LOCAL_TS_MICROS,
    LT_DATE,
    LT_TIME_MILLIS,
    LT_TIME_MICROS,
    LT_UUID
} ltype_t;

typedef struct node_s {
    ntype_t type;
    ltype_t lt;
    int precision, scale; /* decimal */
    size_t size;          /* fixed */
    size_t min_size;      /* a lower bound of the encoded size, for count checks */
    char *fullname;       /* named types (record, enum, fixed) */
    int nsub;             /* record fields, union branches, enum symbols; 1 for array/map */
    int *sub;             /* child node indices (not for enums) */
    char **names;         /* record: field names; enum: symbols */
    char **keys;          /* record: rendered "\"name\":"; enum: rendered "\"SYM\"" */
    size_t *key_lens;
} node_t;

struct execrec_avro_schema_s {
    node_t *nodes;
    int nnodes, cap;
    int root;
};

/* Writes "a.b.c", the record field names path[0..npath), into out (size bytes,
 * truncated): how the decoder's rejects and the encoder's errors name a field. */
void execrec_avro_field_path(const char *const *path, int npath, char *out, size_t size);

#endif
