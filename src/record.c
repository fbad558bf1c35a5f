/* The message contract as data: each kind's columns, in table order. The
 * migrations in migrations/ create the same columns; test_migrate checks both agree. */
#include <string.h>
#include <strings.h>
#include "execrec/record.h"

static const execrec_coldef_t order_cols[] = {
    {"order_id", EXECREC_COL_TEXT, 1},
    {"account_uid", EXECREC_COL_TEXT, 1},
    {"asset", EXECREC_COL_TEXT, 1},
    {"side", EXECREC_COL_ENUM, 1},
    {"quantity", EXECREC_COL_DECIMAL, 1},
    {"order_time", EXECREC_COL_TIME, 1},
    {"client_order_id", EXECREC_COL_TEXT, 0},
    {"order_manager_uid", EXECREC_COL_TEXT, 0},
    {"strategy", EXECREC_COL_TEXT, 0},
    {"venue", EXECREC_COL_TEXT, 0},
    {"order_type", EXECREC_COL_ENUM, 0},
    {"time_in_force", EXECREC_COL_ENUM, 0},
    {"limit_price", EXECREC_COL_DECIMAL, 0},
    {"stop_price", EXECREC_COL_DECIMAL, 0},
    {"reference_price", EXECREC_COL_DECIMAL, 0},
    {"currency", EXECREC_COL_TEXT, 0},
    {"status", EXECREC_COL_ENUM, 0},
};

/* event_key is derived: event_id when the message has one, otherwise a key built
 * from the fields that tell two events of one order apart (see normalise.c). */
static const execrec_coldef_t order_event_cols[] = {
    {"order_id", EXECREC_COL_TEXT, 1},
    {"event_type", EXECREC_COL_ENUM, 1},
    {"event_time", EXECREC_COL_TIME, 1},
    {"event_id", EXECREC_COL_TEXT, 0},
    {"sequence", EXECREC_COL_INT64, 0},
    {"filled_quantity", EXECREC_COL_DECIMAL, 0},
    {"remaining_quantity", EXECREC_COL_DECIMAL, 0},
    {"avg_fill_price", EXECREC_COL_DECIMAL, 0},
    {"reject_code", EXECREC_COL_TEXT, 0},
    {"reject_reason", EXECREC_COL_TEXT, 0},
    {"policy", EXECREC_COL_TEXT, 0},
    {"venue_event_id", EXECREC_COL_TEXT, 0},
    {"event_key", EXECREC_COL_DERIVED, 1},
};

static const execrec_coldef_t trade_cols[] = {
    {"trade_id", EXECREC_COL_TEXT, 1},
    {"order_id", EXECREC_COL_TEXT, 1},
    {"quantity", EXECREC_COL_DECIMAL, 1},
    {"price", EXECREC_COL_DECIMAL, 1},
    {"trade_time", EXECREC_COL_TIME, 1},
    {"account_uid", EXECREC_COL_TEXT, 0},
    {"asset", EXECREC_COL_TEXT, 0},
    {"side", EXECREC_COL_ENUM, 0},
    {"fee", EXECREC_COL_DECIMAL, 0},
    {"fee_currency", EXECREC_COL_TEXT, 0},
    {"liquidity", EXECREC_COL_ENUM, 0},
    {"venue", EXECREC_COL_TEXT, 0},
};

/* updated_at is optional in the message; the upsert compares it (falling back to
 * the Kafka timestamp) to decide whether an incoming intent is newer. */
static const execrec_coldef_t order_manager_cols[] = {
    {"unique_identifier", EXECREC_COL_TEXT, 1},
    {"target_account_uid", EXECREC_COL_TEXT, 1},
    {"target_time", EXECREC_COL_TIME, 1},
    {"status", EXECREC_COL_ENUM, 1},
    {"strategy", EXECREC_COL_TEXT, 0},
    {"created_at", EXECREC_COL_TIME, 0},
    {"updated_at", EXECREC_COL_TIME, 0},
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct {
    const char *name;
    const char *table;
    const execrec_coldef_t *cols;
    int ncols;
} kinds[EXECREC_KIND__CNT] = {
    {"order", "execution.OrdersTS", order_cols, N(order_cols)},
    {"order_event", "execution.OrderEventsTS", order_event_cols, N(order_event_cols)},
    {"trade", "execution.TradesTS", trade_cols, N(trade_cols)},
    {"order_manager", "execution.OrderManager", order_manager_cols, N(order_manager_cols)},
};

const execrec_coldef_t *execrec_kind_columns(execrec_kind_t kind, int *ncols) {
    *ncols = kinds[kind].ncols;
    return kinds[kind].cols;
}

const char *execrec_kind_name(execrec_kind_t kind) {
    return kinds[kind].name;
}

const char *execrec_kind_table(execrec_kind_t kind) {
    return kinds[kind].table;
}

int execrec_kind_column_index(execrec_kind_t kind, const char *name) {
    for (int i = 0; i < kinds[kind].ncols; i++)
        if (!strcmp(kinds[kind].cols[i].name, name))
            return i;
    return -1;
}

int execrec_kind_parse(const char *s, execrec_kind_t *kind) {
    static const struct {
        const char *alias;
        execrec_kind_t kind;
    } aliases[] = {
        {"order", EXECREC_KIND_ORDER},
        {"orders", EXECREC_KIND_ORDER},
        {"order_event", EXECREC_KIND_ORDER_EVENT},
        {"order_events", EXECREC_KIND_ORDER_EVENT},
        {"order-event", EXECREC_KIND_ORDER_EVENT},
        {"order-events", EXECREC_KIND_ORDER_EVENT},
        {"event", EXECREC_KIND_ORDER_EVENT},
        {"events", EXECREC_KIND_ORDER_EVENT},
        {"trade", EXECREC_KIND_TRADE},
        {"trades", EXECREC_KIND_TRADE},
        {"order_manager", EXECREC_KIND_ORDER_MANAGER},
        {"order_managers", EXECREC_KIND_ORDER_MANAGER},
        {"order-manager", EXECREC_KIND_ORDER_MANAGER},
        {"order-managers", EXECREC_KIND_ORDER_MANAGER},
        {"manager", EXECREC_KIND_ORDER_MANAGER},
        {"managers", EXECREC_KIND_ORDER_MANAGER},
    };
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (!strcasecmp(s, aliases[i].alias)) {
            *kind = aliases[i].kind;
            return 0;
        }
    }
    return -1;
}
