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

/** One spelling of an enumeration value, as normalised (trimmed, lower case, ' ' and
 *  '-' as '_'), and the canonical value it stands for. */
typedef struct execrec_enum_alias_s {
    const char *alias;
    const char *canon;
} execrec_enum_alias_t;

/** The vocabulary of an ENUM column. Several columns may share one (an order's status
 *  and an event's event_type). */
typedef struct execrec_enumdef_s {
    const char *name;                    /* "side", "order_status", ... */
    const execrec_enum_alias_t *aliases; /* every canonical value maps to itself;
                                            terminated by {NULL, NULL} */
    int strict; /* 1: a value not in aliases is bad_enum; 0: it is kept as normalised */
} execrec_enumdef_t;

/* Column flags: the contract's rules that belong to one column (execrec_coldef_t.flags). */
#define EXECREC_COLF_TIME_INDEX                                                                    \
    0x1u                           /* the kind's time index, copied to record.time_us:
                                         exactly one per kind, a required TIME column */
#define EXECREC_COLF_POSITIVE 0x2u /* a DECIMAL that must be > 0 (non_positive_quantity) */
#define EXECREC_COLF_MESSAGE_KEY                                                                   \
    0x4u /* the Kafka message key the publisher sets: exactly
                                         one per kind, a required TEXT column */

typedef struct execrec_coldef_s {
    const char *name; /* field name in the contract == column name in SQL */
    execrec_coltype_t type;
    int required;                     /* 1: missing or null is a reject (missing_field) */
    unsigned flags;                   /* EXECREC_COLF_* */
    const execrec_enumdef_t *enumdef; /* ENUM: its vocabulary (never NULL); else NULL */
} execrec_coldef_t;

#define EXECREC_COL_MAX 24    /* no kind has more columns than this */
#define EXECREC_TEXT_MAX 1024 /* longest accepted text field, in bytes */

/** One normalised message. All pointers point into the arena given to the
 *  normaliser and live until that arena is reset. val[i] is the text of column i of
 *  execrec_kind_columns(kind); NULL means SQL NULL. */
typedef struct execrec_record_s {
    execrec_kind_t kind;
    int ncols;
    const char *val[EXECREC_COL_MAX];
    size_t len[EXECREC_COL_MAX];
    int64_t time_us; /* the kind's time-index column, microseconds since epoch */
    const char *raw; /* payload as JSON text (object), for raw_payload */
    size_t raw_len;
} execrec_record_t;

/* Every function taking a kind asserts that it is one of the four: any other value
 * is a bug of the caller, never input (input names a kind: execrec_kind_parse). */

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
/** @returns the index of the kind's time-index column (EXECREC_COLF_TIME_INDEX). */
int execrec_kind_time_column(execrec_kind_t kind);
/** @returns the index of the column whose value is the kind's Kafka message key
 *  (EXECREC_COLF_MESSAGE_KEY): order_id for orders, order events and trades, so that
 *  all messages of one order share a partition; unique_identifier for order managers. */
int execrec_kind_key_column(execrec_kind_t kind);
/** @returns the configuration key naming the kind's topic ("topic.orders",
 *  "topic.events", "topic.trades", "topic.managers"; see config.h). */
const char *execrec_kind_topic_key(execrec_kind_t kind);
/** @returns the kind's default topic: the default of its topic key in the
 *  configuration table ("orders", "order-events", "trades", "order-managers"). */
const char *execrec_kind_default_topic(execrec_kind_t kind);
/** The one topic -> kind lookup: topic[k] is the topic kind k is read from or
 *  written to (NULL: none). @returns 0 and sets *kind to the first kind whose topic
 *  is name, or -1 when no kind's is. */
int execrec_kind_for_topic(const char *const topic[EXECREC_KIND__CNT], const char *name,
                           execrec_kind_t *kind);

#endif
