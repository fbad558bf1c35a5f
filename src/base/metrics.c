/* The metrics registry and its Prometheus text exposition. See metrics.h. */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/buf.h"
#include "base/metrics.h"

typedef struct series_s {
    char *values[EXECREC_METRIC_MAX_LABELS];
    double value;                                    /* counter, gauge; histogram: sum */
    uint64_t counts[EXECREC_METRIC_MAX_BUCKETS + 1]; /* histogram, per bucket (not
                                                        cumulative); last: +Inf */
    uint64_t count;                                  /* histogram observations */
    struct series_s *next;
} series_t;

struct execrec_metric_s {
    execrec_metrics_t *reg;
    execrec_metric_type_t type;
    const char *name, *help;
    char *label_buf; /* the label names, NUL-separated, pointed to by labels[] */
    const char *labels[EXECREC_METRIC_MAX_LABELS];
    int nlabels;
    double buckets[EXECREC_METRIC_MAX_BUCKETS];
    int nbuckets;
    series_t *series, *tail;
    struct execrec_metric_s *next;
};

struct execrec_metrics_s {
    pthread_mutex_t lock;
    execrec_metric_t *families, *tail;
};

execrec_metrics_t *execrec_metrics_new(void) {
    execrec_metrics_t *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return NULL;
    if (pthread_mutex_init(&reg->lock, NULL)) {
        free(reg);
        return NULL;
    }
    return reg;
}

static void free_series(series_t *s) {
    while (s) {
        series_t *next = s->next;
        for (int i = 0; i < EXECREC_METRIC_MAX_LABELS; i++)
            free(s->values[i]);
        free(s);
        s = next;
    }
}

void execrec_metrics_destroy(execrec_metrics_t *reg) {
    if (!reg)
        return;
    for (execrec_metric_t *f = reg->families, *next; f; f = next) {
        next = f->next;
        free_series(f->series);
        free(f->label_buf);
        free(f);
    }
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

execrec_metric_t *execrec_metrics_add(execrec_metrics_t *reg, execrec_metric_type_t type,
                                      const char *name, const char *help, const char *labels,
                                      const double *buckets, int nbuckets) {
    assert(reg && name && help);
    assert(type == EXECREC_METRIC_HISTOGRAM ? nbuckets > 0 && nbuckets <= EXECREC_METRIC_MAX_BUCKETS
                                            : nbuckets == 0);
    execrec_metric_t *f = calloc(1, sizeof(*f));
    if (!f || !(f->label_buf = strdup(labels ? labels : ""))) {
        free(f);
        return NULL;
    }
    f->reg = reg;
    f->type = type;
    f->name = name;
    f->help = help;
    for (char *tok = strtok(f->label_buf, ","); tok; tok = strtok(NULL, ",")) {
        assert(f->nlabels < EXECREC_METRIC_MAX_LABELS);
        f->labels[f->nlabels++] = tok;
    }
    for (int i = 0; i < nbuckets; i++) {
        assert(i == 0 || buckets[i] > buckets[i - 1]);
        f->buckets[i] = buckets[i];
    }
    f->nbuckets = nbuckets;
    if (f->nlabels == 0 && !(f->series = f->tail = calloc(1, sizeof(series_t)))) {
        free(f->label_buf);
        free(f);
        return NULL;
    }
    pthread_mutex_lock(&reg->lock);
    if (reg->tail)
        reg->tail->next = f;
    else
        reg->families = f;
    reg->tail = f;
    pthread_mutex_unlock(&reg->lock);
    return f;
}

/* The series of f for the label values in ap, created when create is set (NULL when
 * it does not exist, or out of memory). Called with the lock held. */
static series_t *find_series(execrec_metric_t *f, va_list ap, int create) {
    const char *want[EXECREC_METRIC_MAX_LABELS];
    for (int i = 0; i < f->nlabels; i++) {
        want[i] = va_arg(ap, const char *);
        assert(want[i]);
    }
    for (series_t *s = f->series; s; s = s->next) {
        int i = 0;
        while (i < f->nlabels && !strcmp(s->values[i], want[i]))
            i++;
        if (i == f->nlabels)
            return s;
    }
    if (!create)
        return NULL;
    series_t *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    for (int i = 0; i < f->nlabels; i++) {
        if (!(s->values[i] = strdup(want[i]))) {
            free_series(s);
            return NULL;
        }
    }
    if (f->tail)
        f->tail->next = s;
    else
        f->series = s;
    f->tail = s;
    return s;
}

void execrec_metric_add(execrec_metric_t *f, double v, ...) {
    if (!f)
        return;
    assert(f->type != EXECREC_METRIC_HISTOGRAM);
    assert(f->type != EXECREC_METRIC_COUNTER || v >= 0);
    va_list ap;
    va_start(ap, v);
    pthread_mutex_lock(&f->reg->lock);
    series_t *s = find_series(f, ap, 1);
    if (s)
        s->value += v;
    pthread_mutex_unlock(&f->reg->lock);
    va_end(ap);
}

void execrec_metric_set(execrec_metric_t *f, double v, ...) {
    if (!f)
        return;
    assert(f->type == EXECREC_METRIC_GAUGE);
    va_list ap;
    va_start(ap, v);
    pthread_mutex_lock(&f->reg->lock);
    series_t *s = find_series(f, ap, 1);
    if (s)
        s->value = v;
    pthread_mutex_unlock(&f->reg->lock);
    va_end(ap);
}

void execrec_metric_observe(execrec_metric_t *f, const double *v, size_t n, ...) {
    if (!f || n == 0)
        return;
    assert(f->type == EXECREC_METRIC_HISTOGRAM);
    va_list ap;
    va_start(ap, n);
    pthread_mutex_lock(&f->reg->lock);
    series_t *s = find_series(f, ap, 1);
    for (size_t j = 0; s && j < n; j++) {
        int b = 0;
        while (b < f->nbuckets && v[j] > f->buckets[b])
            b++;
        s->counts[b]++;
        s->count++;
        s->value += v[j];
    }
    pthread_mutex_unlock(&f->reg->lock);
    va_end(ap);
}

void execrec_metric_clear(execrec_metric_t *f) {
    if (!f)
        return;
    pthread_mutex_lock(&f->reg->lock);
    if (f->nlabels == 0) {
        memset(f->series, 0, sizeof(*f->series));
    } else {
        free_series(f->series);
        f->series = f->tail = NULL;
    }
    pthread_mutex_unlock(&f->reg->lock);
}

double execrec_metric_get(execrec_metric_t *f, ...) {
    if (!f)
        return 0;
    va_list ap;
    va_start(ap, f);
    pthread_mutex_lock(&f->reg->lock);
    series_t *s = find_series(f, ap, 0);
    double v = !s ? 0 : f->type == EXECREC_METRIC_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&f->reg->lock);
    va_end(ap);
    return v;
}

double execrec_metric_sum(execrec_metric_t *f) {
    if (!f)
        return 0;
    double v = 0;
    pthread_mutex_lock(&f->reg->lock);
    for (series_t *s = f->series; s; s = s->next)
        v += f->type == EXECREC_METRIC_HISTOGRAM ? (double)s->count : s->value;
    pthread_mutex_unlock(&f->reg->lock);
    return v;
}

/* ---- exposition ------------------------------------------------------------------ */

/* A sample value: integers as integers (counts are the common case), +Inf, -Inf,
 * NaN as Prometheus spells them, else the shortest text that reads back the same. */
static void put_value(execrec_buf_t *b, double v) {
    if (isnan(v))
        execrec_buf_puts(b, "NaN");
    else if (isinf(v))
        execrec_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        execrec_buf_printf(b, "%.0f", v);
    else {
        char text[32];
        snprintf(text, sizeof(text), "%.15g", v);
        if (strtod(text, NULL) != v) /* 15 digits do not read back the same */
            snprintf(text, sizeof(text), "%.17g", v);
        execrec_buf_puts(b, text);
    }
}

/* Help text: backslash and newline escaped. Label values: also the double quote. */
static void put_escaped(execrec_buf_t *b, const char *s, int quote) {
    for (; *s; s++) {
        if (*s == '\\')
            execrec_buf_puts(b, "\\\\");
        else if (*s == '\n')
            execrec_buf_puts(b, "\\n");
        else if (quote && *s == '"')
            execrec_buf_puts(b, "\\\"");
        else
            execrec_buf_putc(b, *s);
    }
}

/* name{l1="v1",...,extra} (extra: a histogram's le="...", or NULL). */
static void put_name(execrec_buf_t *b, const execrec_metric_t *f, const series_t *s,
                     const char *suffix, const char *le) {
    execrec_buf_puts(b, f->name);
    execrec_buf_puts(b, suffix);
    if (f->nlabels == 0 && !le) {
        execrec_buf_putc(b, ' ');
        return;
    }
    execrec_buf_putc(b, '{');
    for (int i = 0; i < f->nlabels; i++) {
        execrec_buf_printf(b, "%s%s=\"", i ? "," : "", f->labels[i]);
        put_escaped(b, s->values[i], 1);
        execrec_buf_putc(b, '"');
    }
    if (le)
        execrec_buf_printf(b, "%sle=\"%s\"", f->nlabels ? "," : "", le);
    execrec_buf_puts(b, "} ");
}

static const char *type_name(execrec_metric_type_t t) {
    return t == EXECREC_METRIC_COUNTER ? "counter"
           : t == EXECREC_METRIC_GAUGE ? "gauge"
                                       : "histogram";
}

char *execrec_metrics_format(execrec_metrics_t *reg, size_t *len) {
    execrec_buf_t b = EXECREC_BUF_INIT;
    execrec_buf_reserve(&b, 8192);
    pthread_mutex_lock(&reg->lock);
    for (const execrec_metric_t *f = reg->families; f; f = f->next) {
        execrec_buf_printf(&b, "# HELP %s ", f->name);
        put_escaped(&b, f->help, 0);
        execrec_buf_printf(&b, "\n# TYPE %s %s\n", f->name, type_name(f->type));
        for (const series_t *s = f->series; s; s = s->next) {
            if (f->type != EXECREC_METRIC_HISTOGRAM) {
                put_name(&b, f, s, "", NULL);
                put_value(&b, s->value);
                execrec_buf_putc(&b, '\n');
                continue;
            }
            uint64_t cum = 0;
            for (int i = 0; i <= f->nbuckets; i++) {
                char le[32];
                if (i < f->nbuckets)
                    snprintf(le, sizeof(le), "%g", f->buckets[i]);
                else
                    snprintf(le, sizeof(le), "+Inf");
                cum += s->counts[i];
                put_name(&b, f, s, "_bucket", le);
                execrec_buf_printf(&b, "%llu\n", (unsigned long long)cum);
            }
            put_name(&b, f, s, "_sum", NULL);
            put_value(&b, s->value);
            execrec_buf_putc(&b, '\n');
            put_name(&b, f, s, "_count", NULL);
            execrec_buf_printf(&b, "%llu\n", (unsigned long long)s->count);
        }
    }
    pthread_mutex_unlock(&reg->lock);
    if (b.oom || !b.data) {
        execrec_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return execrec_buf_steal(&b);
}
