/* A small metrics registry: counters, gauges and histograms with fixed buckets, each
 * a family of series told apart by label values, and their Prometheus text
 * exposition (format 0.0.4). See docs/metrics.md for execrec's own metrics.
 *
 * Threads: one mutex per registry, held only while a value is updated or while the
 * whole registry is copied into the exposition text (memory only, no I/O), so a
 * reader (the HTTP thread) never makes the writer (the consume loop) wait for a
 * socket. The lock is uncontended nearly always; an update costs a lock, a short
 * linear search over the family's series and an add. A lock-free design (one atomic
 * per series) was not taken: series appear at run time (a new topic, a new reject
 * reason), and growing a table lock-free is far more code than this needs. */
#ifndef EXECREC_METRICS_H
#define EXECREC_METRICS_H

#include <stddef.h>

typedef enum execrec_metric_type_e {
    EXECREC_METRIC_COUNTER,
    EXECREC_METRIC_GAUGE,
    EXECREC_METRIC_HISTOGRAM
} execrec_metric_type_t;

/* Most label names a family may have. */
#define EXECREC_METRIC_MAX_LABELS 4
/* Most buckets a histogram may have (+Inf is implied). */
#define EXECREC_METRIC_MAX_BUCKETS 24

typedef struct execrec_metrics_s execrec_metrics_t;
typedef struct execrec_metric_s execrec_metric_t;

/** @returns an empty registry, or NULL when out of memory. */
execrec_metrics_t *execrec_metrics_new(void);
/** Frees reg and every family in it. NULL: no-op. */
void execrec_metrics_destroy(execrec_metrics_t *reg);

/** Adds a family. name and help are borrowed (static strings); labels is a comma
 *  separated list of label names ("topic,partition"; NULL or "": none), copied.
 *  buckets: for a histogram, nbuckets ascending upper bounds (copied); else NULL, 0.
 *  A family without labels has its one series (value 0) at once; a labelled family
 *  has none until a value is set for some label values.
 *  @returns the family (owned by reg), or NULL when out of memory. A family may be
 *  added while another thread formats the registry (it is linked under the lock). */
execrec_metric_t *execrec_metrics_add(execrec_metrics_t *reg, execrec_metric_type_t type,
                                      const char *name, const char *help, const char *labels,
                                      const double *buckets, int nbuckets);

/* Updates. The variadic arguments are the label values (const char *), one per label
 * name of the family, in its order; they are copied when a series is created. A NULL
 * family is a no-op, so that code runs the same with metrics off. Out of memory
 * loses the update, never the caller. */

/** Counter or gauge: adds v (a counter's v must be >= 0). */
void execrec_metric_add(execrec_metric_t *f, double v, ...);
/** Gauge: sets v. */
void execrec_metric_set(execrec_metric_t *f, double v, ...);
/** Histogram: observes the n values v[0..n) in one series (one lock for all). */
void execrec_metric_observe(execrec_metric_t *f, const double *v, size_t n, ...);
/** Drops every series of f (a gauge whose label sets change: lag per partition after
 *  a rebalance). A family without labels is set back to 0. */
void execrec_metric_clear(execrec_metric_t *f);
/** @returns a counter's or gauge's value for the label values, 0 when that series
 *  does not exist; for a histogram, its count of observations. */
double execrec_metric_get(execrec_metric_t *f, ...);
/** @returns the sum of f's values over all its series (a histogram: of its counts). */
double execrec_metric_sum(execrec_metric_t *f);

/** Writes reg in the Prometheus text format: per family a # HELP and a # TYPE line,
 *  then its series (a histogram as _bucket{le=...} cumulative, _sum and _count),
 *  label values escaped. Families appear in the order they were added, series in
 *  the order they appeared.
 *  @returns a malloc'd NUL-terminated text (its length in *len) for the caller to
 *  free, or NULL when out of memory. */
char *execrec_metrics_format(execrec_metrics_t *reg, size_t *len);

#endif
