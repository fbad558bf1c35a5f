/* Invariant checks on the Schema Registry client's answer handling (see
 * fuzz_registry_check.h). The reference reading of a body is our own JSON parser
 * (src/wire/json.c), not the jansson the client uses, so the two disagreeing is a
 * finding. Violations are returned as text, not asserted, so that the corpus test
 * can name the file and the fuzz target can abort with the reason. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "execrec/arena.h"
#include "execrec/avro.h"
#include "wire/json.h"
#include "wire/registry_answer.h"
#include "fuzz_registry_check.h"

#define WHY_SIZE 256 /* what registry.c gives */

static const long statuses[16] = FUZZ_REGISTRY_STATUSES;
static execrec_arena_t *arena;

static int fail(char *why, size_t why_size, const char *fmt, ...) EXECREC_PRINTF(3, 4);
static int fail(char *why, size_t why_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    return -1;
}

void fuzz_registry_fini(void) {
    execrec_arena_destroy(arena);
    arena = NULL;
}

/* 1 when every number under v is one jansson reads (it refuses an integer outside
 * int64 and a real that overflows a double, where our parser keeps the text), and
 * nothing is nested deeper than jansson allows. */
static int jansson_agrees(const execrec_json_t *v, int depth) {
    if (depth > 2000)
        return 0;
    if (v->type == EXECREC_JSON_NUMBER) {
        errno = 0;
        if (!strpbrk(v->str, ".eE")) {
            long long n = strtoll(v->str, NULL, 10);
            return !(errno == ERANGE && (n == LLONG_MAX || n == LLONG_MIN));
        }
        double d = strtod(v->str, NULL);
        return !(errno == ERANGE && isinf(d));
    }
    for (const execrec_json_t *c = v->child; c; c = c->next)
        if (!jansson_agrees(c, depth + 1))
            return 0;
    return 1;
}

/* The body as our parser reads it: the root object, or NULL when the body is not
 * one, or when jansson may legitimately read it differently (*comparable 0). */
static const execrec_json_t *reference(const uint8_t *body, size_t len, int *comparable) {
    execrec_arena_reset(arena);
    execrec_json_t *root = NULL;
    execrec_reject_t rej;
    *comparable = 1;
    execrec_err_t err = execrec_json_parse((const char *)body, len, arena, &root, &rej);
    if (err) {
        /* Refused for a reason jansson does not share: no verdict. jansson refuses
         * bad syntax, bad UTF-8 and \u0000 as we do. */
        if (err != EXECREC_ERR_REJECT || !strcmp(rej.code, EXECREC_REJ_DUP_FIELD) ||
            !strcmp(rej.code, EXECREC_REJ_JSON_DEPTH))
            *comparable = 0;
        return NULL;
    }
    if (!jansson_agrees(root, 0))
        *comparable = 0;
    return root->type == EXECREC_JSON_OBJECT ? root : NULL;
}

/* why must be NUL-terminated within WHY_SIZE, non-empty and printable ASCII. */
static int check_why(const char *text, char *why, size_t why_size) {
    const char *nul = memchr(text, '\0', WHY_SIZE);
    if (!nul)
        return fail(why, why_size, "error text not NUL-terminated");
    if (nul == text)
        return fail(why, why_size, "empty error text");
    for (const char *p = text; p < nul; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return fail(why, why_size, "error text has byte 0x%02x at %zu (not printable ASCII)",
                        (unsigned char)*p, (size_t)(p - text));
    return 0;
}

/* The reason after "HTTP <status>: " for a non-200 answer, as our parser reads it:
 * the message and error code, else the body's first 120 bytes, each byte outside
 * printable ASCII as '?'. Only for a comparable body. */
static void expected_reason(const execrec_json_t *root, const uint8_t *body, size_t len, char *out,
                            size_t size) {
    const execrec_json_t *msg = execrec_json_get(root, "message");
    const char *s = (const char *)body;
    size_t n = len > EXECREC_REGISTRY_EXCERPT_MAX ? EXECREC_REGISTRY_EXCERPT_MAX : len;
    char tail[64] = "";
    if (msg && msg->type == EXECREC_JSON_STRING) {
        const execrec_json_t *code = execrec_json_get(root, "error_code");
        long long c = 0;
        if (code && code->type == EXECREC_JSON_NUMBER && !strpbrk(code->str, ".eE"))
            c = strtoll(code->str, NULL, 10);
        snprintf(tail, sizeof(tail), " (error_code %lld)", c);
        s = msg->str;
        n = msg->len;
    } else if (!len) {
        s = "(empty answer)";
        n = strlen(s);
    }
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < size; i++)
        out[o++] = (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x7f ? s[i] : '?';
    out[o] = '\0';
    snprintf(out + o, size - o, "%s", tail);
}

/* Cut to a small buffer, the text is the head of the whole one's. */
static int check_cut(const char *full, const char *cut, size_t cut_size, char *why,
                     size_t why_size) {
    size_t n = strnlen(cut, cut_size);
    if (n == cut_size)
        return fail(why, why_size, "error text cut to %zu bytes not NUL-terminated", cut_size);
    if (n != (strlen(full) < cut_size - 1 ? strlen(full) : cut_size - 1) || strncmp(full, cut, n))
        return fail(why, why_size, "error text cut to %zu bytes is \"%s\", not the head of \"%s\"",
                    cut_size, cut, full);
    return 0;
}

static int check_schema(long status, const uint8_t *body, size_t len, char *why, size_t why_size) {
    const char *b = len ? (const char *)body : NULL;
    char text[WHY_SIZE], small[9];
    char *schema = (char *)"untouched";
    memset(text, 0x7f, sizeof(text));
    execrec_err_t err = execrec_registry_schema_answer(status, b, len, &schema, text, WHY_SIZE);
    if (err != EXECREC_OK && err != EXECREC_ERR_NOTFOUND && err != EXECREC_ERR_IO)
        return fail(why, why_size, "fetch: status %ld: result %s", status, execrec_err_name(err));
    if ((err == EXECREC_ERR_NOTFOUND) != (status == 404))
        return fail(why, why_size, "fetch: status %ld: result %s", status, execrec_err_name(err));
    if (err == EXECREC_OK && status != 200)
        return fail(why, why_size, "fetch: status %ld accepted", status);
    int comparable;
    const execrec_json_t *root = reference(body, len, &comparable);
    const execrec_json_t *ref = execrec_json_get(root, "schema");
    int has_schema = ref && ref->type == EXECREC_JSON_STRING;
    if (err == EXECREC_OK) {
        int same = has_schema && strlen(schema) == ref->len && !memcmp(schema, ref->str, ref->len);
        free(schema);
        if (comparable && !same)
            return fail(why, why_size, "fetch: the schema text is not the body's \"schema\"");
        return 0;
    }
    if (strcmp(schema, "untouched"))
        return fail(why, why_size, "fetch: *schema_json set on error");
    if (check_why(text, why, why_size))
        return -1;
    char head[64], expect[WHY_SIZE];
    snprintf(head, sizeof(head), "HTTP %ld: ", status);
    if (status == 200) {
        if (comparable && has_schema)
            return fail(why, why_size, "fetch: refused a body with a \"schema\" string: %s", text);
        if (strcmp(text, "answer without a \"schema\" string"))
            return fail(why, why_size, "fetch: error text \"%s\"", text);
    } else {
        if (strncmp(text, head, strlen(head)))
            return fail(why, why_size, "fetch: error text \"%s\" does not start \"%s\"", text,
                        head);
        if (comparable) {
            expected_reason(root, body, len, expect, sizeof(expect));
            if (strncmp(text + strlen(head), expect, WHY_SIZE - 1 - strlen(head)))
                return fail(why, why_size, "fetch: error text \"%s\", expected reason \"%s\"", text,
                            expect);
        }
    }
    err = execrec_registry_schema_answer(status, b, len, &schema, small, sizeof(small));
    return check_cut(text, small, sizeof(small), why, why_size);
}

/* What registry.c does with a fetched text: compile it. Whatever the text, a
 * schema or a printable reason. */
static int check_compile(long status, const uint8_t *body, size_t len, char *why, size_t why_size) {
    char *text = NULL, reason[WHY_SIZE];
    if (execrec_registry_schema_answer(status, len ? (const char *)body : NULL, len, &text, reason,
                                       sizeof(reason)))
        return 0;
    memset(reason, 0x7f, sizeof(reason));
    execrec_avro_schema_t *schema = execrec_registry_schema_compile(text, reason, WHY_SIZE);
    free(text);
    if (!schema)
        return check_why(reason, why, why_size);
    const char *name = execrec_avro_schema_name(schema);
    int bad = name && !*name;
    execrec_avro_schema_destroy(schema);
    return bad ? fail(why, why_size, "compiled schema with an empty name") : 0;
}

static int check_id(long status, const uint8_t *body, size_t len, char *why, size_t why_size) {
    const char *b = len ? (const char *)body : NULL;
    char text[WHY_SIZE], small[9];
    int32_t id = -7;
    memset(text, 0x7f, sizeof(text));
    execrec_err_t err = execrec_registry_id_answer(status, b, len, &id, text, WHY_SIZE);
    if (err != EXECREC_OK && err != EXECREC_ERR_IO && err != EXECREC_ERR_INVALID)
        return fail(why, why_size, "register: status %ld: result %s", status,
                    execrec_err_name(err));
    if ((err == EXECREC_ERR_INVALID) != (status != 200))
        return fail(why, why_size, "register: status %ld: result %s", status,
                    execrec_err_name(err));
    int comparable;
    const execrec_json_t *root = reference(body, len, &comparable);
    const execrec_json_t *ref = execrec_json_get(root, "id");
    long long want = -1;
    if (ref && ref->type == EXECREC_JSON_NUMBER && !strpbrk(ref->str, ".eE")) {
        errno = 0;
        want = strtoll(ref->str, NULL, 10);
        if (errno || want > INT32_MAX)
            want = -1;
    }
    if (err == EXECREC_OK) {
        if (id < 0)
            return fail(why, why_size, "register: negative id %" PRId32, id);
        if (comparable && want != id)
            return fail(why, why_size, "register: id %" PRId32 ", the body's is %lld", id, want);
        return 0;
    }
    if (id != -7)
        return fail(why, why_size, "register: *id set on error");
    if (comparable && status == 200 && want >= 0)
        return fail(why, why_size, "register: refused a body with id %lld: %s", want, text);
    if (check_why(text, why, why_size))
        return -1;
    char head[64], expect[WHY_SIZE];
    snprintf(head, sizeof(head), "HTTP %ld: ", status);
    if (strncmp(text, head, strlen(head)))
        return fail(why, why_size, "register: error text \"%s\" does not start \"%s\"", text, head);
    if (comparable) {
        expected_reason(root, body, len, expect, sizeof(expect));
        if (strncmp(text + strlen(head), expect, WHY_SIZE - 1 - strlen(head)))
            return fail(why, why_size, "register: error text \"%s\", expected reason \"%s\"", text,
                        expect);
    }
    err = execrec_registry_id_answer(status, b, len, &id, small, sizeof(small));
    return check_cut(text, small, sizeof(small), why, why_size);
}

int fuzz_registry_check_input(const uint8_t *data, size_t size, char *why, size_t why_size) {
    if (size == 0)
        return 0;
    if (!arena && !(arena = execrec_arena_new()))
        return fail(why, why_size, "out of memory");
    long status = statuses[(data[0] >> 1) & 15];
    if (data[0] & 1)
        return check_id(status, data + 1, size - 1, why, why_size);
    if (check_schema(status, data + 1, size - 1, why, why_size))
        return -1;
    return check_compile(status, data + 1, size - 1, why, why_size);
}
