/* The contract tables of record.c are consistent: every kind has one time index and
 * one message key where the normaliser and the publisher expect them, every enum
 * column has a well-formed vocabulary, the default topics come back to their kinds
 * through the one topic lookup, and a kind out of range is caught by an assertion.
 * Each check here fails if someone breaks a table. */
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/config.h"
#include "execrec/record.h"
#include "testutil.h"

static const unsigned known_flags =
    EXECREC_COLF_TIME_INDEX | EXECREC_COLF_POSITIVE | EXECREC_COLF_MESSAGE_KEY;

static int count_flag(execrec_kind_t kind, unsigned flag, int *at) {
    int ncols, n = 0;
    const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
    for (int i = 0; i < ncols; i++) {
        if (cols[i].flags & flag) {
            n++;
            *at = i;
        }
    }
    return n;
}

START_TEST(test_columns_well_formed) {
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_kind_t kind = (execrec_kind_t)k;
        int ncols;
        const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
        ck_assert_int_gt(ncols, 0);
        ck_assert_int_le(ncols, EXECREC_COL_MAX);
        for (int i = 0; i < ncols; i++) {
            ck_assert_msg(cols[i].name && *cols[i].name, "%s: column %d has no name",
                          execrec_kind_name(kind), i);
            ck_assert_int_eq(execrec_kind_column_index(kind, cols[i].name), i); /* unique */
            ck_assert_msg((cols[i].flags & ~known_flags) == 0, "%s.%s: unknown flag bits",
                          execrec_kind_name(kind), cols[i].name);
            ck_assert_msg(cols[i].required == 0 || cols[i].required == 1, "%s.%s: required %d",
                          execrec_kind_name(kind), cols[i].name, cols[i].required);
            if (cols[i].type == EXECREC_COL_DERIVED)
                ck_assert_msg(cols[i].flags == 0, "%s.%s: a derived column carries a rule",
                              execrec_kind_name(kind), cols[i].name);
        }
        ck_assert_int_eq(execrec_kind_column_index(kind, "no_such_column"), -1);
        ck_assert_ptr_nonnull(execrec_kind_table(kind));
        for (int j = 0; j < k; j++) {
            ck_assert_str_ne(execrec_kind_name(kind), execrec_kind_name((execrec_kind_t)j));
            ck_assert_str_ne(execrec_kind_table(kind), execrec_kind_table((execrec_kind_t)j));
        }
    }
}
END_TEST

/* One time index per kind: a required TIME column, and the first TIME column (the
 * fuzz oracle, tests/fuzz/fuzz_check.c, finds it that way on its own). */
START_TEST(test_one_time_index) {
    static const char *const want[EXECREC_KIND__CNT] = {"order_time", "event_time", "trade_time",
                                                        "target_time"};
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_kind_t kind = (execrec_kind_t)k;
        int ncols, at = -1;
        const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
        ck_assert_int_eq(count_flag(kind, EXECREC_COLF_TIME_INDEX, &at), 1);
        ck_assert_int_eq(execrec_kind_time_column(kind), at);
        ck_assert_int_eq(cols[at].type, EXECREC_COL_TIME);
        ck_assert_int_eq(cols[at].required, 1);
        int first = 0;
        while (cols[first].type != EXECREC_COL_TIME)
            first++;
        ck_assert_int_eq(first, at);
        ck_assert_str_eq(cols[at].name, want[k]); /* docs/contract.md: "time index" */
    }
}
END_TEST

/* One message key per kind, a required TEXT column: order_id, so that an order's
 * messages share a partition, and unique_identifier for managers (publish.h). */
START_TEST(test_one_message_key) {
    static const char *const want[EXECREC_KIND__CNT] = {"order_id", "order_id", "order_id",
                                                        "unique_identifier"};
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_kind_t kind = (execrec_kind_t)k;
        int ncols, at = -1;
        const execrec_coldef_t *cols = execrec_kind_columns(kind, &ncols);
        ck_assert_int_eq(count_flag(kind, EXECREC_COLF_MESSAGE_KEY, &at), 1);
        ck_assert_int_eq(execrec_kind_key_column(kind), at);
        ck_assert_int_eq(cols[at].type, EXECREC_COL_TEXT);
        ck_assert_int_eq(cols[at].required, 1);
        ck_assert_str_eq(cols[at].name, want[k]);
    }
}
END_TEST

/* Positive applies to decimals only, and exactly to an order's and a trade's
 * quantity (docs/contract.md; 0001_schema.sql has the same check constraints; the
 * non_positive_quantity message of normalise.c names "quantity"). */
START_TEST(test_positive_columns) {
    int n = 0;
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        int ncols;
        const execrec_coldef_t *cols = execrec_kind_columns((execrec_kind_t)k, &ncols);
        for (int i = 0; i < ncols; i++) {
            if (!(cols[i].flags & EXECREC_COLF_POSITIVE))
                continue;
            n++;
            ck_assert_int_eq(cols[i].type, EXECREC_COL_DECIMAL);
            ck_assert_int_eq(cols[i].required, 1);
            ck_assert_str_eq(cols[i].name, "quantity");
            ck_assert(k == EXECREC_KIND_ORDER || k == EXECREC_KIND_TRADE);
        }
    }
    ck_assert_int_eq(n, 2);
}
END_TEST

/* @returns 1 when s is a normalised spelling: non-empty, no ASCII upper case, no
 * space or '-', no whitespace at all. */
static int normalised(const char *s) {
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((*s >= 'A' && *s <= 'Z') || *s == ' ' || *s == '-' || *s == '\t' || *s == '\n' ||
            *s == '\r' || *s == '\f' || *s == '\v')
            return 0;
    return 1;
}

static void check_vocabulary(const char *col, const execrec_enumdef_t *e) {
    ck_assert_msg(e->name && *e->name, "%s: vocabulary without a name", col);
    ck_assert_msg(e->aliases && e->aliases[0].alias, "%s: empty vocabulary", col);
    ck_assert(e->strict == 0 || e->strict == 1);
    for (const execrec_enum_alias_t *a = e->aliases; a->alias; a++) {
        ck_assert_msg(normalised(a->alias), "%s: alias \"%s\" is not normalised", e->name,
                      a->alias);
        ck_assert_msg(a->canon && normalised(a->canon), "%s: alias \"%s\": bad canonical value",
                      e->name, a->alias);
        int self = 0;
        for (const execrec_enum_alias_t *b = e->aliases; b->alias; b++) {
            if (b != a)
                ck_assert_msg(strcmp(a->alias, b->alias), "%s: alias \"%s\" twice", e->name,
                              a->alias);
            /* a canonical value maps to itself: normalising is idempotent */
            if (!strcmp(b->alias, a->canon))
                self = !strcmp(b->canon, a->canon);
        }
        ck_assert_msg(self, "%s: canonical \"%s\" does not map to itself", e->name, a->canon);
    }
}

/* Every ENUM column has a vocabulary and no other column has one; only side is
 * strict (positions depend on it). */
START_TEST(test_enum_vocabularies) {
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        int ncols;
        const execrec_coldef_t *cols = execrec_kind_columns((execrec_kind_t)k, &ncols);
        for (int i = 0; i < ncols; i++) {
            if (cols[i].type != EXECREC_COL_ENUM) {
                ck_assert_msg(cols[i].enumdef == NULL, "%s: vocabulary on a non-enum column",
                              cols[i].name);
                continue;
            }
            ck_assert_msg(cols[i].enumdef != NULL, "%s.%s: enum column without vocabulary",
                          execrec_kind_name((execrec_kind_t)k), cols[i].name);
            check_vocabulary(cols[i].name, cols[i].enumdef);
            ck_assert_int_eq(cols[i].enumdef->strict, !strcmp(cols[i].name, "side"));
        }
    }
    /* An order's status and an event's type share one vocabulary; a manager's status
     * has its own. */
    int ncols;
    const execrec_coldef_t *order = execrec_kind_columns(EXECREC_KIND_ORDER, &ncols);
    const execrec_coldef_t *event = execrec_kind_columns(EXECREC_KIND_ORDER_EVENT, &ncols);
    const execrec_coldef_t *manager = execrec_kind_columns(EXECREC_KIND_ORDER_MANAGER, &ncols);
    const execrec_enumdef_t *order_status =
        order[execrec_kind_column_index(EXECREC_KIND_ORDER, "status")].enumdef;
    ck_assert_ptr_eq(
        order_status,
        event[execrec_kind_column_index(EXECREC_KIND_ORDER_EVENT, "event_type")].enumdef);
    ck_assert_ptr_ne(
        order_status,
        manager[execrec_kind_column_index(EXECREC_KIND_ORDER_MANAGER, "status")].enumdef);
}
END_TEST

/* The default topics: one config key per kind, distinct topics, and each comes back
 * to its kind through the one lookup (and through the kind-name parser, which
 * accepts the topic spellings). */
START_TEST(test_default_topics) {
    static const char *const want[EXECREC_KIND__CNT] = {"orders", "order-events", "trades",
                                                        "order-managers"};
    const char *topic[EXECREC_KIND__CNT];
    const execrec_confdef_t *table = execrec_config_table();
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_kind_t kind = (execrec_kind_t)k;
        const char *key = execrec_kind_topic_key(kind);
        int found = 0;
        for (int i = 0; table[i].key; i++)
            if (!strcmp(table[i].key, key)) {
                found = 1;
                ck_assert_int_eq(table[i].type, EXECREC_CONF_STRING);
                ck_assert_ptr_eq(table[i].def, execrec_kind_default_topic(kind));
            }
        ck_assert_msg(found, "%s: topic key %s is not a configuration key", execrec_kind_name(kind),
                      key);
        topic[k] = execrec_kind_default_topic(kind);
        ck_assert_str_eq(topic[k], want[k]);
        for (int j = 0; j < k; j++) {
            ck_assert_str_ne(topic[k], topic[j]);
            ck_assert_str_ne(key, execrec_kind_topic_key((execrec_kind_t)j));
        }
    }
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        execrec_kind_t kind = EXECREC_KIND__CNT;
        ck_assert_int_eq(execrec_kind_for_topic(topic, topic[k], &kind), 0);
        ck_assert_int_eq(kind, k);
        kind = EXECREC_KIND__CNT;
        ck_assert_int_eq(execrec_kind_parse(topic[k], &kind), 0);
        ck_assert_int_eq(kind, k);
        ck_assert_int_eq(execrec_kind_parse(execrec_kind_name((execrec_kind_t)k), &kind), 0);
        ck_assert_int_eq(kind, k);
    }
    execrec_kind_t kind = EXECREC_KIND_TRADE;
    ck_assert_int_eq(execrec_kind_for_topic(topic, "no-such-topic", &kind), -1);
    ck_assert_int_eq(kind, EXECREC_KIND_TRADE); /* untouched */
    ck_assert_int_eq(execrec_kind_parse("no_such_kind", &kind), -1);
}
END_TEST

/* NULL entries (kinds not consumed) are skipped; the first kind naming a topic wins. */
START_TEST(test_kind_for_topic) {
    const char *topic[EXECREC_KIND__CNT] = {NULL, "shared", "shared", "managers"};
    execrec_kind_t kind;
    ck_assert_int_eq(execrec_kind_for_topic(topic, "shared", &kind), 0);
    ck_assert_int_eq(kind, EXECREC_KIND_ORDER_EVENT);
    ck_assert_int_eq(execrec_kind_for_topic(topic, "managers", &kind), 0);
    ck_assert_int_eq(kind, EXECREC_KIND_ORDER_MANAGER);
    ck_assert_int_eq(execrec_kind_for_topic(topic, "orders", &kind), -1);
    ck_assert_int_eq(execrec_kind_for_topic(topic, "", &kind), -1);
}
END_TEST

/* ---- docs/contract.md section 4 lists the same vocabularies ------------------------ */

static const execrec_enumdef_t *vocabulary(const char *name) {
    for (int k = 0; k < EXECREC_KIND__CNT; k++) {
        int ncols;
        const execrec_coldef_t *cols = execrec_kind_columns((execrec_kind_t)k, &ncols);
        for (int i = 0; i < ncols; i++)
            if (cols[i].enumdef && !strcmp(cols[i].enumdef->name, name))
                return cols[i].enumdef;
    }
    return NULL;
}

static int vocabulary_size(const execrec_enumdef_t *e) {
    int n = 0;
    while (e->aliases[n].alias)
        n++;
    return n;
}

static const char *canon_of(const execrec_enumdef_t *e, const char *alias, size_t len) {
    for (const execrec_enum_alias_t *a = e->aliases; a->alias; a++)
        if (strlen(a->alias) == len && !memcmp(a->alias, alias, len))
            return a->canon;
    return NULL;
}

/* Checks one "| canonical | `alias`, `alias` |" row against e; counts its spellings
 * (the canonical value and each alias before an "(also ...)" remark) into *n. */
static void check_doc_row(const execrec_enumdef_t *e, const char *line, int lineno, int *n) {
    const char *c = line + 1;
    while (*c == ' ')
        c++;
    const char *bar = strchr(c, '|');
    ck_assert_msg(bar, "contract.md:%d: malformed row", lineno);
    size_t clen = (size_t)(bar - c);
    while (clen && c[clen - 1] == ' ')
        clen--;
    char canon[64];
    ck_assert_uint_lt(clen, sizeof(canon));
    memcpy(canon, c, clen);
    canon[clen] = '\0';
    const char *got = canon_of(e, canon, clen);
    ck_assert_msg(got && !strcmp(got, canon), "contract.md:%d: %s: \"%s\" is not canonical", lineno,
                  e->name, canon);
    (*n)++;
    const char *also = strstr(bar, "(also");
    const char *end = also ? also : bar + strlen(bar);
    for (const char *q = bar; (q = memchr(q, '`', (size_t)(end - q))) && q < end;) {
        const char *close = memchr(q + 1, '`', (size_t)(end - q - 1));
        ck_assert_msg(close, "contract.md:%d: unbalanced `", lineno);
        got = canon_of(e, q + 1, (size_t)(close - q - 1));
        ck_assert_msg(got && !strcmp(got, canon),
                      "contract.md:%d: %s: `%.*s` is not an alias of %s", lineno, e->name,
                      (int)(close - q - 1), q + 1, canon);
        (*n)++;
        q = close + 1;
    }
}

/* Every enum table of docs/contract.md section 4 is exactly its vocabulary (every
 * spelling listed, none missing), and "(strict)" is in the heading of the strict one. */
START_TEST(test_contract_doc_vocabularies) {
    static const struct {
        const char *heading; /* prefix of the "### " heading */
        const char *vocabulary;
    } sections[] = {
        {"side", "side"},
        {"order_type", "order_type"},
        {"time_in_force", "time_in_force"},
        {"event_type", "order_status"},
        {"status (order managers)", "manager_status"},
        {"liquidity", "liquidity"},
    };
    enum { NSECTIONS = sizeof(sections) / sizeof(sections[0]) };
    char *path = tu_source_path("docs/contract.md");
    char *text = tu_read_file(path, NULL);
    char *sec = strstr(text, "\n## 4. Enumerations");
    ck_assert_ptr_nonnull(sec);
    char *stop = strstr(sec, "\n## 5.");
    ck_assert_ptr_nonnull(stop);
    *stop = '\0';
    int seen[NSECTIONS] = {0}, counted[NSECTIONS] = {0}, cur = -1, lineno = 1;
    for (const char *p = text; p <= sec; p++)
        lineno += *p == '\n';
    for (char *line = sec + 1, *next; line; line = next, lineno++) {
        if ((next = strchr(line, '\n')))
            *next++ = '\0';
        if (!strncmp(line, "### ", 4)) {
            cur = -1;
            for (int i = 0; i < NSECTIONS; i++)
                if (!strncmp(line + 4, sections[i].heading, strlen(sections[i].heading)))
                    cur = i;
            ck_assert_msg(cur >= 0, "contract.md: unknown enum section \"%s\"", line);
            seen[cur]++;
            const execrec_enumdef_t *e = vocabulary(sections[cur].vocabulary);
            ck_assert_ptr_nonnull(e);
            ck_assert_int_eq(e->strict, strstr(line, "(strict)") != NULL);
        } else if (cur >= 0 && line[0] == '|' && strncmp(line, "| canonical", 11) &&
                   strncmp(line, "|---", 4)) {
            check_doc_row(vocabulary(sections[cur].vocabulary), line, lineno, &counted[cur]);
        }
    }
    for (int i = 0; i < NSECTIONS; i++) {
        ck_assert_msg(seen[i] == 1, "contract.md: section %s found %d times", sections[i].heading,
                      seen[i]);
        const execrec_enumdef_t *e = vocabulary(sections[i].vocabulary);
        ck_assert_msg(counted[i] == vocabulary_size(e),
                      "contract.md: %s lists %d spellings, record.c has %d", e->name, counted[i],
                      vocabulary_size(e));
    }
    free(text);
    free(path);
}
END_TEST

#ifndef NDEBUG
/* A kind out of range is a bug of the caller: the getters assert (SIGABRT). */
START_TEST(test_kind_out_of_range_asserts) {
    const char *name = execrec_kind_name(EXECREC_KIND__CNT);
    (void)name;
}
END_TEST

START_TEST(test_negative_kind_asserts) {
    int ncols;
    const execrec_coldef_t *cols = execrec_kind_columns((execrec_kind_t)-1, &ncols);
    (void)cols;
}
END_TEST
#endif

Suite *record_suite(void);

Suite *record_suite(void) {
    Suite *s = suite_create("record");
    TCase *tc = tcase_create("tables");
    tcase_add_test(tc, test_columns_well_formed);
    tcase_add_test(tc, test_one_time_index);
    tcase_add_test(tc, test_one_message_key);
    tcase_add_test(tc, test_positive_columns);
    tcase_add_test(tc, test_enum_vocabularies);
    suite_add_tcase(s, tc);
    tc = tcase_create("topics");
    tcase_add_test(tc, test_default_topics);
    tcase_add_test(tc, test_kind_for_topic);
    suite_add_tcase(s, tc);
    tc = tcase_create("docs");
    tcase_add_test(tc, test_contract_doc_vocabularies);
    suite_add_tcase(s, tc);
#ifndef NDEBUG /* the tests build with assertions (deploy/test.sh: Debug) */
    tc = tcase_create("asserts");
    tcase_add_test_raise_signal(tc, test_kind_out_of_range_asserts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_negative_kind_asserts, SIGABRT);
    suite_add_tcase(s, tc);
#endif
    return s;
}

EXECREC_TEST_MAIN(record_suite)
