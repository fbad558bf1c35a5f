/* The domain model: the four kinds of message, their columns (the message contract
 * of DESIGN.md, which is also the table layout), and one normalised record.
 *
 * A record holds every column as text ready for PostgreSQL (decimals as plain
 * decimal text, times as "YYYY-MM-DD HH:MM:SS.ffffff+00"), so that exact values
 * travel from wire to table without ever passing through a double. */
#ifndef EXECREC_RECORD_H
#define EXECREC_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "execrec/err.h"
#include "execrec/arena.h"
#include "execrec/reject.h" /* the reject type and codes, for every user of records */

typedef enum execrec_kind_e {
    EXECREC_KIND_ORDER = 0,
    EXECREC_KIND_ORDER_EVENT,
    EXECREC_KIND_TRADE,
    EXECREC_KIND_ORDER_MANAGER,
    EXECREC_KIND__CNT
} execrec_kind_t;

/** Column types of the contract. */
typedef enum execrec_coltype_e {
    EXECREC_COL_TEXT,    /* string, at most EXECREC_TEXT_MAX bytes, valid UTF-8, no NUL */
    EXECREC_COL_ENUM,    /* string normalised to a canonical lower-case value */
    EXECREC_COL_DECIMAL, /* exact decimal: JSON number or string; stored as NUMERIC */
    EXECREC_COL_TIME,    /* RFC 3339 with zone, or integer epoch s/ms/us/ns; timestamptz */
    EXECREC_COL_INT64,   /* integer (JSON number without fraction, or digit string) */
    EXECREC_COL_DERIVED  /* computed by the normaliser, not read from the message */
} execrec_coltype_t;

typedef struct execrec_coldef_s {
    const char *name;        /* field name in the contract == column name in SQL */
    execrec_coltype_t type;
    int required;            /* 1: missing or null is a reject (missing_field) */
} execrec_coldef_t;

#define EXECREC_COL_MAX 24        /* no kind has more columns than this */
#define EXECREC_TEXT_MAX 1024     /* longest accepted text field, in bytes */

/** One normalised message. All pointers point into the arena given to the
 *  normaliser and live until that arena is reset. val[i] is the text of column i of
 *  execrec_kind_columns(kind); NULL means SQL NULL. */
typedef struct execrec_record_s {
    execrec_kind_t kind;
    int ncols;
    const char *val[EXECREC_COL_MAX];
    size_t len[EXECREC_COL_MAX];
    int64_t time_us;       /* the kind's time-index column, microseconds since epoch */
    const char *raw;       /* payload as JSON text (object), for raw_payload */
    size_t raw_len;
} execrec_record_t;

/** @returns the kind's column table and sets *ncols. */
const execrec_coldef_t *execrec_kind_columns(execrec_kind_t kind, int *ncols);
/** @returns "order", "order_event", "trade", "order_manager". */
const char *execrec_kind_name(execrec_kind_t kind);
/** Parses a kind name (also "orders", "order-events", "order_events", "trades",
 *  "order-managers", "order_manager", ...). @returns 0, or -1 if unknown. */
int execrec_kind_parse(const char *s, execrec_kind_t *kind);
/** @returns the kind's SQL table name, e.g. "execution.TradesTS". */
const char *execrec_kind_table(execrec_kind_t kind);
/** @returns the index of the column named name in kind's table, or -1. */
int execrec_kind_column_index(execrec_kind_t kind, const char *name);

#endif
