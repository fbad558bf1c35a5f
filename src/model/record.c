/* The message contract as data: each kind's columns, in table order, with the rules
 * that hang on a column (required, time index, message key, positive, the enum
 * vocabulary); normalise.c and publish.c read these fields and never compare column
 * names. The migrations in migrations/ create the same columns; test_migrate checks
 * both agree, test_record that the tables are consistent. */
#include <assert.h>
#include <string.h>
#include <strings.h>
#include "execrec/config.h"
#include "execrec/record.h"

/* ---- enumeration vocabularies ------------------------------------------------------
 * Keys are normalised spellings (normalise.c: trimmed, ASCII lower case, ' ' and '-'
 * as '_'); FIX codes are mapped where FIX has them. */

static const execrec_enum_alias_t side_aliases[] = {
    {"buy", "buy"},
    {"sell", "sell"},
    {"sell_short", "sell_short"},
    {"b", "buy"},
    {"s", "sell"},
    {"bid", "buy"},
    {"ask", "sell"},
    {"offer", "sell"},
    {"long", "buy"},
    {"short", "sell_short"},
    {"sell_short_exempt", "sell_short"},
    {"ss", "sell_short"},
    {"1", "buy"},
    {"2", "sell"},
    {"5", "sell_short"},
    {"6", "sell_short"},
    {NULL, NULL},
};

static const execrec_enum_alias_t order_type_aliases[] = {
    {"market", "market"},
    {"limit", "limit"},
    {"stop", "stop"},
    {"stop_limit", "stop_limit"},
    {"market_on_close", "market_on_close"},
    {"limit_on_close", "limit_on_close"},
    {"pegged", "pegged"},
    {"trailing_stop", "trailing_stop"},
    {"mkt", "market"},
    {"lmt", "limit"},
    {"stp", "stop"},
    {"stop_loss", "stop"},
    {"stop_market", "stop"},
    {"stp_lmt", "stop_limit"},
    {"stop_lmt", "stop_limit"},
    {"stoplimit", "stop_limit"},
    {"moc", "market_on_close"},
    {"loc", "limit_on_close"},
    {"1", "market"},
    {"2", "limit"},
    {"3", "stop"},
    {"4", "stop_limit"},
    {"5", "market_on_close"},
    {"b", "limit_on_close"},
    {"p", "pegged"},
    {NULL, NULL},
};

static const execrec_enum_alias_t tif_aliases[] = {
    {"day", "day"},
    {"gtc", "gtc"},
    {"ioc", "ioc"},
    {"fok", "fok"},
    {"gtd", "gtd"},
    {"opg", "opg"},
    {"cls", "cls"},
    {"gtx", "gtx"},
    {"good_till_cancel", "gtc"},
    {"good_till_canceled", "gtc"},
    {"good_till_cancelled", "gtc"},
    {"good_til_canceled", "gtc"},
    {"good_til_cancelled", "gtc"},
    {"immediate_or_cancel", "ioc"},
    {"fill_or_kill", "fok"},
    {"good_till_date", "gtd"},
    {"good_til_date", "gtd"},
    {"at_the_open", "opg"},
    {"at_the_opening", "opg"},
    {"at_the_close", "cls"},
    {"good_till_crossing", "gtx"},
    {"post_only", "gtx"},
    {"0", "day"},
    {"1", "gtc"},
    {"2", "opg"},
    {"3", "ioc"},
    {"4", "fok"},
    {"5", "gtx"},
    {"6", "gtd"},
    {"7", "cls"},
    {NULL, NULL},
};

/* Order status and event types share one vocabulary (FIX OrdStatus, whose codes 0-9,
 * A-C, E are also mapped). */
static const execrec_enum_alias_t order_status_aliases[] = {
    {"pending_new", "pending_new"},
    {"new", "new"},
    {"partially_filled", "partially_filled"},
    {"filled", "filled"},
    {"done_for_day", "done_for_day"},
    {"canceled", "canceled"},
    {"replaced", "replaced"},
    {"pending_cancel", "pending_cancel"},
    {"pending_replace", "pending_replace"},
    {"rejected", "rejected"},
    {"expired", "expired"},
    {"suspended", "suspended"},
    {"stopped", "stopped"},
    {"calculated", "calculated"},
    {"trade", "trade"},
    {"cancelled", "canceled"},
    {"pending_cancelled", "pending_cancel"},
    {"partial_fill", "partially_filled"},
    {"partially_fill", "partially_filled"},
    {"part_filled", "partially_filled"},
    {"partial", "partially_filled"},
    {"partfill", "partially_filled"},
    {"fill", "filled"},
    {"fully_filled", "filled"},
    {"ack", "new"},
    {"acknowledged", "new"},
    {"accepted", "new"},
    {"reject", "rejected"},
    {"expire", "expired"},
    {"amended", "replaced"},
    {"0", "new"},
    {"1", "partially_filled"},
    {"2", "filled"},
    {"3", "done_for_day"},
    {"4", "canceled"},
    {"5", "replaced"},
    {"6", "pending_cancel"},
    {"7", "stopped"},
    {"8", "rejected"},
    {"9", "suspended"},
    {"a", "pending_new"},
    {"b", "calculated"},
    {"c", "expired"},
    {"e", "pending_replace"},
    {NULL, NULL},
};

static const execrec_enum_alias_t manager_status_aliases[] = {
    {"active", "active"},       {"pending", "pending"},
    {"paused", "paused"},       {"stopped", "stopped"},
    {"completed", "completed"}, {"canceled", "canceled"},
    {"expired", "expired"},     {"failed", "failed"},
    {"running", "active"},      {"live", "active"},
    {"cancelled", "canceled"},  {"done", "completed"},
    {"complete", "completed"},  {NULL, NULL},
};

static const execrec_enum_alias_t liquidity_aliases[] = {
    {"maker", "maker"},   {"taker", "taker"},      {"m", "maker"},       {"t", "taker"},
    {"added", "maker"},   {"add", "maker"},        {"removed", "taker"}, {"remove", "taker"},
    {"passive", "maker"}, {"aggressive", "taker"}, {"1", "maker"},       {"2", "taker"},
    {NULL, NULL},
};

static const execrec_enumdef_t side_enum = {"side", side_aliases, 1};
static const execrec_enumdef_t order_type_enum = {"order_type", order_type_aliases, 0};
static const execrec_enumdef_t tif_enum = {"time_in_force", tif_aliases, 0};
static const execrec_enumdef_t order_status_enum = {"order_status", order_status_aliases, 0};
static const execrec_enumdef_t manager_status_enum = {"manager_status", manager_status_aliases, 0};
static const execrec_enumdef_t liquidity_enum = {"liquidity", liquidity_aliases, 0};

/* ---- columns --------------------------------------------------------------------- */

#define TIME_INDEX EXECREC_COLF_TIME_INDEX
#define POSITIVE EXECREC_COLF_POSITIVE
#define MESSAGE_KEY EXECREC_COLF_MESSAGE_KEY

static const execrec_coldef_t order_cols[] = {
    {"order_id", EXECREC_COL_TEXT, 1, MESSAGE_KEY, NULL},
    {"account_uid", EXECREC_COL_TEXT, 1, 0, NULL},
    {"asset", EXECREC_COL_TEXT, 1, 0, NULL},
    {"side", EXECREC_COL_ENUM, 1, 0, &side_enum},
    {"quantity", EXECREC_COL_DECIMAL, 1, POSITIVE, NULL},
    {"order_time", EXECREC_COL_TIME, 1, TIME_INDEX, NULL},
    {"client_order_id", EXECREC_COL_TEXT, 0, 0, NULL},
    {"order_manager_uid", EXECREC_COL_TEXT, 0, 0, NULL},
    {"strategy", EXECREC_COL_TEXT, 0, 0, NULL},
    {"venue", EXECREC_COL_TEXT, 0, 0, NULL},
    {"order_type", EXECREC_COL_ENUM, 0, 0, &order_type_enum},
    {"time_in_force", EXECREC_COL_ENUM, 0, 0, &tif_enum},
    {"limit_price", EXECREC_COL_DECIMAL, 0, 0, NULL},
    {"stop_price", EXECREC_COL_DECIMAL, 0, 0, NULL},
    {"reference_price", EXECREC_COL_DECIMAL, 0, 0, NULL},
    {"currency", EXECREC_COL_TEXT, 0, 0, NULL},
    {"status", EXECREC_COL_ENUM, 0, 0, &order_status_enum},
};

/* event_key is derived: event_id when the message has one, otherwise a key built
 * from the fields that tell two events of one order apart (see normalise.c). */
static const execrec_coldef_t order_event_cols[] = {
    {"order_id", EXECREC_COL_TEXT, 1, MESSAGE_KEY, NULL},
    {"event_type", EXECREC_COL_ENUM, 1, 0, &order_status_enum},
    {"event_time", EXECREC_COL_TIME, 1, TIME_INDEX, NULL},
    {"event_id", EXECREC_COL_TEXT, 0, 0, NULL},
    {"sequence", EXECREC_COL_INT64, 0, 0, NULL},
    {"filled_quantity", EXECREC_COL_DECIMAL, 0, 0, NULL},
    {"remaining_quantity", EXECREC_COL_DECIMAL, 0, 0, NULL},
    {"avg_fill_price", EXECREC_COL_DECIMAL, 0, 0, NULL},
    {"reject_code", EXECREC_COL_TEXT, 0, 0, NULL},
    {"reject_reason", EXECREC_COL_TEXT, 0, 0, NULL},
    {"policy", EXECREC_COL_TEXT, 0, 0, NULL},
    {"venue_event_id", EXECREC_COL_TEXT, 0, 0, NULL},
    {"event_key", EXECREC_COL_DERIVED, 1, 0, NULL},
};

static const execrec_coldef_t trade_cols[] = {
    {"trade_id", EXECREC_COL_TEXT, 1, 0, NULL},
    {"order_id", EXECREC_COL_TEXT, 1, MESSAGE_KEY, NULL},
    {"quantity", EXECREC_COL_DECIMAL, 1, POSITIVE, NULL},
    {"price", EXECREC_COL_DECIMAL, 1, 0, NULL},
    {"trade_time", EXECREC_COL_TIME, 1, TIME_INDEX, NULL},
    {"account_uid", EXECREC_COL_TEXT, 0, 0, NULL},
    {"asset", EXECREC_COL_TEXT, 0, 0, NULL},
    {"side", EXECREC_COL_ENUM, 0, 0, &side_enum},
    {"fee", EXECREC_COL_DECIMAL, 0, 0, NULL},
    {"fee_currency", EXECREC_COL_TEXT, 0, 0, NULL},
    {"liquidity", EXECREC_COL_ENUM, 0, 0, &liquidity_enum},
    {"venue", EXECREC_COL_TEXT, 0, 0, NULL},
};

/* updated_at is optional in the message; the upsert compares it (falling back to
 * the Kafka timestamp) to decide whether an incoming intent is newer. */
static const execrec_coldef_t order_manager_cols[] = {
    {"unique_identifier", EXECREC_COL_TEXT, 1, MESSAGE_KEY, NULL},
    {"target_account_uid", EXECREC_COL_TEXT, 1, 0, NULL},
    {"target_time", EXECREC_COL_TIME, 1, TIME_INDEX, NULL},
    {"status", EXECREC_COL_ENUM, 1, 0, &manager_status_enum},
    {"strategy", EXECREC_COL_TEXT, 0, 0, NULL},
    {"created_at", EXECREC_COL_TIME, 0, 0, NULL},
    {"updated_at", EXECREC_COL_TIME, 0, 0, NULL},
};

#undef TIME_INDEX
#undef POSITIVE
#undef MESSAGE_KEY

/* ---- kinds ------------------------------------------------------------------------ */

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* topic_key: the default topic itself is written once, as that key's default in
 * config.c's table (config is a lower layer and cannot read this one). */
static const struct {
    const char *name;
    const char *table;
    const execrec_coldef_t *cols;
    int ncols;
    const char *topic_key;
} kinds[EXECREC_KIND__CNT] = {
    {"order", "execution.OrdersTS", order_cols, N(order_cols), "topic.orders"},
    {"order_event", "execution.OrderEventsTS", order_event_cols, N(order_event_cols),
     "topic.events"},
    {"trade", "execution.TradesTS", trade_cols, N(trade_cols), "topic.trades"},
    {"order_manager", "execution.OrderManager", order_manager_cols, N(order_manager_cols),
     "topic.managers"},
};

#define ASSERT_KIND(kind) assert((unsigned)(kind) < EXECREC_KIND__CNT)

const execrec_coldef_t *execrec_kind_columns(execrec_kind_t kind, int *ncols) {
    ASSERT_KIND(kind);
    *ncols = kinds[kind].ncols;
    return kinds[kind].cols;
}

const char *execrec_kind_name(execrec_kind_t kind) {
    ASSERT_KIND(kind);
    return kinds[kind].name;
}

const char *execrec_kind_table(execrec_kind_t kind) {
    ASSERT_KIND(kind);
    return kinds[kind].table;
}

int execrec_kind_column_index(execrec_kind_t kind, const char *name) {
    ASSERT_KIND(kind);
    assert(name);
    for (int i = 0; i < kinds[kind].ncols; i++)
        if (!strcmp(kinds[kind].cols[i].name, name))
            return i;
    return -1;
}

/* The one column of kind carrying flag (the tables have exactly one: test_record). */
static int flagged_column(execrec_kind_t kind, unsigned flag) {
    ASSERT_KIND(kind);
    for (int i = 0; i < kinds[kind].ncols; i++)
        if (kinds[kind].cols[i].flags & flag)
            return i;
    assert(!"no column carries the flag");
    return 0;
}

int execrec_kind_time_column(execrec_kind_t kind) {
    return flagged_column(kind, EXECREC_COLF_TIME_INDEX);
}

int execrec_kind_key_column(execrec_kind_t kind) {
    return flagged_column(kind, EXECREC_COLF_MESSAGE_KEY);
}

const char *execrec_kind_topic_key(execrec_kind_t kind) {
    ASSERT_KIND(kind);
    return kinds[kind].topic_key;
}

const char *execrec_kind_default_topic(execrec_kind_t kind) {
    ASSERT_KIND(kind);
    return execrec_config_default(kinds[kind].topic_key);
}

int execrec_kind_for_topic(const char *const topic[EXECREC_KIND__CNT], const char *name,
                           execrec_kind_t *kind) {
    assert(topic && name);
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        if (topic[k] && !strcmp(topic[k], name)) {
            *kind = (execrec_kind_t)k;
            return 0;
        }
    }
    return -1;
}

int execrec_kind_parse(const char *s, execrec_kind_t *kind) {
    assert(s);
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
