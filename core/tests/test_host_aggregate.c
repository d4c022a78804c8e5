/* The aggregator: cumulative and delta export of folded metric deltas,
 * gauges, up-down counters, histograms, cardinality overflow, conflicts,
 * scopes, and exact totals with many threads adding at once. */
#include "test_host_util.h"

#include <pthread.h>

#define T(x) (FX_T0 + (x))
#define T_EXPORT (FX_T0 + 5000000000ull)

static const uint32_t P_SCOPE[] = {1, 2, 0};
static const uint32_t P_METRIC[] = {1, 2, 2, 0};

static uint64_t agg_clock(void *ud) { return *(const uint64_t *)ud; }

/* One number point with one string attribute. */
static void point(pb *data, bool dbl, int64_t i, double d, const char *k, const char *v) {
    pb pt;
    pb_init(&pt);
    pb_fixed64(&pt, 2, T(1));
    pb_fixed64(&pt, 3, T(2));
    if (dbl)
        pb_double(&pt, 4, d);
    else
        pb_fixed64(&pt, 6, (uint64_t)i);
    if (k) pb_attr_str(&pt, 7, k, v);
    pb_msg(data, 1, &pt);
}

/* A metric with one int point per (value, attribute value) pair. kind:
 * 'c' counter, 'u' up-down counter, 'g' gauge. */
static void number_metric(pb *p, char kind, const char *name, const int64_t *vals,
                          const char *const *attr, size_t n) {
    pb m, data;
    pb_init(&m);
    pb_init(&data);
    pb_str(&m, 1, name);
    for (size_t k = 0; k < n; k++)
        point(&data, false, vals[k], 0, attr ? "k" : NULL, attr ? attr[k] : NULL);
    if (kind != 'g') pb_uint(&data, 2, 1);
    if (kind == 'c') pb_uint(&data, 3, 1);
    pb_msg(&m, kind == 'g' ? 5 : 7, &data);
    pb_msg(p, 3, &m);
}

static void histogram_metric(pb *p, const char *name, uint64_t b0, uint64_t b1, double sum,
                             double min, double max) {
    pb m, data, pt;
    pb_init(&m);
    pb_init(&data);
    pb_init(&pt);
    pb_str(&m, 1, name);
    pb_fixed64(&pt, 2, T(1));
    pb_fixed64(&pt, 3, T(2));
    pb_fixed64(&pt, 4, b0 + b1);
    pb_double(&pt, 5, sum);
    pb_tag(&pt, 6, 2);
    pb_varint(&pt, 16);
    uint8_t tmp[8];
    ptel__put_fixed64(tmp, b0);
    pb_raw(&pt, tmp, 8);
    ptel__put_fixed64(tmp, b1);
    pb_raw(&pt, tmp, 8);
    pb_double(&pt, 7, 10);
    pb_double(&pt, 11, min);
    pb_double(&pt, 12, max);
    pb_msg(&data, 1, &pt);
    pb_uint(&data, 2, 1);
    pb_msg(&m, 9, &data);
    pb_msg(p, 3, &m);
}

/* End an invocation of `plugin` with payload `p` (freed) and add it. */
static void add(ptel_aggregator *agg, const char *plugin, pb *p) {
    ptel_invocation_options o;
    fx f;
    fx_options(&o, &f, NULL);
    o.plugin_name = (ptel_str){plugin, strlen(plugin)};
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    f.mono += 1000000;
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, p, &rep), 0);
    CHECK_EQ_INT(rep.metrics_dropped, 0);
    CHECK_EQ_INT(ptel_aggregator_add(agg, inv), 0);
    /* The aggregator copied what it keeps. */
    ptel_invocation_free(inv);
    pb_free(p);
}

static uint8_t *export_agg(ptel_aggregator *agg, uint32_t temporality, size_t *len) {
    size_t n = 0;
    int rc = ptel_aggregator_export(agg, NULL, temporality, NULL, 0, &n);
    *len = n;
    if (!n) {
        CHECK_EQ_INT(rc, 0);
        return NULL;
    }
    CHECK_EQ_INT(rc, PTEL_E_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(n);
    size_t m = 0;
    CHECK_EQ_INT(ptel_aggregator_export(agg, NULL, temporality, buf, n, &m), 0);
    CHECK_EQ_INT(m, n);
    CHECK(pb_well_formed(buf, n));
    return buf;
}

/* Field `path` (relative to a metric body) of the nth metric. */
static bool metric_field(const uint8_t *req, size_t n, uint32_t nth, const uint32_t *path,
                         uint32_t which, ptel__field *out) {
    ptel__field m;
    if (!pb_find(req, n, P_METRIC, nth, &m)) return false;
    return pb_find(m.data, m.len, path, which, out);
}

/* The as_int of point `which` of a Sum (7) or Gauge (5) metric. */
static int64_t sum_value(const uint8_t *req, size_t n, uint32_t nth, uint32_t data_field,
                         uint32_t which) {
    ptel__field f;
    if (!metric_field(req, n, nth, (const uint32_t[]){data_field, 1, 0}, which, &f)) return -999;
    const uint32_t value[] = {6, 0};
    ptel__field v;
    return pb_find(f.data, f.len, value, 0, &v) ? (int64_t)v.value : -999;
}

static uint64_t point_field(const uint8_t *req, size_t n, uint32_t nth, uint32_t data_field,
                            uint32_t which, uint32_t field) {
    ptel__field f, v;
    if (!metric_field(req, n, nth, (const uint32_t[]){data_field, 1, 0}, which, &f)) return 0;
    const uint32_t path[] = {field, 0};
    return pb_find(f.data, f.len, path, 0, &v) ? v.value : 0;
}

static uint64_t temporality_of(const uint8_t *req, size_t n, uint32_t nth, uint32_t data_field) {
    ptel__field f;
    return metric_field(req, n, nth, (const uint32_t[]){data_field, 2, 0}, 0, &f) ? f.value : 0;
}

static ptel_aggregator *new_agg(uint64_t *now, uint32_t cardinality, uint32_t metric_limit) {
    ptel_aggregator_options ao;
    ptel_aggregator_options_init(&ao);
    ao.clock.realtime_ns = agg_clock;
    ao.clock.ud = now;
    if (cardinality) ao.cardinality_limit = cardinality;
    if (metric_limit) ao.metric_limit = metric_limit;
    ptel_aggregator *agg = NULL;
    CHECK_EQ_INT(ptel_aggregator_new(&agg, &ao), 0);
    return agg;
}

static void t_cumulative_and_delta(void) {
    uint64_t now = T_EXPORT;
    ptel_aggregator *agg = new_agg(&now, 0, 0);
    static const char *const ab[2] = {"a", "b"};
    for (int k = 1; k <= 3; k++) {
        pb p;
        fx_payload(&p);
        const int64_t calls[2] = {k, 10};
        number_metric(&p, 'c', "calls", calls, ab, 2);
        const int64_t inflight[1] = {k == 2 ? -1 : 1};
        number_metric(&p, 'u', "inflight", inflight, NULL, 1);
        const int64_t temp[1] = {k == 1 ? 5 : k == 2 ? 7 : 6};
        number_metric(&p, 'g', "temp", temp, NULL, 1);
        histogram_metric(&p, "lat", 1, k, 1.0 + k, 0.5, 10.0 + k);
        add(agg, "demo", &p);
    }
    ptel_aggregator_stats st;
    ptel_aggregator_get_stats(agg, &st);
    CHECK_EQ_INT(st.invocations, 3);
    CHECK_EQ_INT(st.points_added, 15);
    CHECK_EQ_INT(st.metrics, 4);
    CHECK_EQ_INT(st.streams, 5);
    CHECK_EQ_INT(st.points_conflicting, 0);

    size_t n;
    uint8_t *req = export_agg(agg, PTEL_TEMPORALITY_CUMULATIVE, &n);
    CHECK_EQ_INT(pb_count(req, n, P_SCOPE), 1);
    CHECK_EQ_INT(pb_count(req, n, P_METRIC), 4);
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 0), 6);  /* calls{k=a} 1+2+3 */
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 1), 30); /* calls{k=b} */
    CHECK_EQ_INT(temporality_of(req, n, 0, 7), 2);
    CHECK_EQ_INT(point_field(req, n, 0, 7, 0, 2), T(1)); /* stable start */
    CHECK_EQ_INT(point_field(req, n, 0, 7, 0, 3), T_EXPORT);
    CHECK_EQ_INT(sum_value(req, n, 1, 7, 0), 1); /* inflight 1-1+1 */
    CHECK_EQ_INT(temporality_of(req, n, 1, 7), 2);
    CHECK_EQ_INT(sum_value(req, n, 2, 5, 0), 6);      /* gauge: the last value */
    CHECK_EQ_INT(point_field(req, n, 2, 5, 0, 2), 0); /* gauges have no start */
    CHECK_EQ_INT(point_field(req, n, 3, 9, 0, 4), 9); /* histogram count 3 x 1 + (1+2+3) */
    CHECK(ptel__bits_double(point_field(req, n, 3, 9, 0, 5)) == 9.0);   /* sum 2+3+4 */
    CHECK(ptel__bits_double(point_field(req, n, 3, 9, 0, 11)) == 0.5);  /* min */
    CHECK(ptel__bits_double(point_field(req, n, 3, 9, 0, 12)) == 13.0); /* max */
    free(req);

    /* The first delta export: everything since the streams started. */
    now = T_EXPORT + 100;
    req = export_agg(agg, PTEL_TEMPORALITY_DELTA, &n);
    CHECK_EQ_INT(pb_count(req, n, P_METRIC), 4);
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 0), 6);
    CHECK_EQ_INT(temporality_of(req, n, 0, 7), 1);
    CHECK_EQ_INT(point_field(req, n, 0, 7, 0, 2), T(1));
    CHECK_EQ_INT(temporality_of(req, n, 1, 7), 2); /* up-down counters stay cumulative */
    CHECK_EQ_INT(temporality_of(req, n, 3, 9), 1);
    free(req);

    /* One more invocation touching calls{k=a} only. */
    pb p;
    fx_payload(&p);
    const int64_t four[1] = {4};
    static const char *const a[1] = {"a"};
    number_metric(&p, 'c', "calls", four, a, 1);
    add(agg, "demo", &p);
    now = T_EXPORT + 200;
    req = export_agg(agg, PTEL_TEMPORALITY_DELTA, &n);
    /* calls has one changed stream; lat none (omitted); inflight and temp stay. */
    CHECK_EQ_INT(pb_count(req, n, P_METRIC), 3);
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 0), 4);
    CHECK_EQ_INT(point_field(req, n, 0, 7, 0, 2), T_EXPORT + 100); /* since the last delta export */
    CHECK_EQ_INT(point_field(req, n, 0, 7, 0, 3), T_EXPORT + 200);
    ptel__field f;
    CHECK(!metric_field(req, n, 0, (const uint32_t[]){7, 1, 0}, 1, &f));
    free(req);
    /* Cumulative export is untouched by the delta windows. */
    req = export_agg(agg, PTEL_TEMPORALITY_CUMULATIVE, &n);
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 0), 10);
    free(req);
    /* A failed (too small) delta export does not reset anything. */
    size_t need = 0;
    uint8_t tiny[4];
    now = T_EXPORT + 300;
    pb_init(&p);
    pb_uint(&p, 1, 1);
    number_metric(&p, 'c', "calls", four, a, 1);
    add(agg, "demo", &p);
    CHECK_EQ_INT(
        ptel_aggregator_export(agg, NULL, PTEL_TEMPORALITY_DELTA, tiny, sizeof tiny, &need),
        PTEL_E_BUFFER_TOO_SMALL);
    req = export_agg(agg, PTEL_TEMPORALITY_DELTA, &n);
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 0), 4);
    free(req);
    CHECK_EQ_INT(ptel_aggregator_export(agg, NULL, 7, NULL, 0, &need), PTEL_E_INVALID_ARGUMENT);
    ptel_aggregator_free(agg);
}

static void t_cardinality_and_conflicts(void) {
    uint64_t now = T_EXPORT;
    ptel_aggregator *agg = new_agg(&now, 3, 2);
    static const char *const sets[4] = {"a", "b", "c", "d"};
    for (int k = 0; k < 4; k++) {
        pb p;
        fx_payload(&p);
        const int64_t one[1] = {k + 1};
        number_metric(&p, 'c', "calls", one, &sets[k], 1);
        add(agg, "demo", &p);
    }
    /* The same name as a gauge: a conflict; a third metric: over the limit. */
    pb p;
    fx_payload(&p);
    const int64_t v[1] = {1};
    number_metric(&p, 'g', "CALLS", v, NULL, 1);
    number_metric(&p, 'c', "second", v, NULL, 1);
    number_metric(&p, 'c', "third", v, NULL, 1);
    add(agg, "demo", &p);
    ptel_aggregator_stats st;
    ptel_aggregator_get_stats(agg, &st);
    CHECK_EQ_INT(st.streams, 4);
    CHECK_EQ_INT(st.points_overflowed, 2);
    CHECK_EQ_INT(st.points_conflicting, 1);
    CHECK_EQ_INT(st.metrics_dropped, 1);
    CHECK_EQ_INT(st.metrics, 2);
    size_t n;
    uint8_t *req = export_agg(agg, PTEL_TEMPORALITY_CUMULATIVE, &n);
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 0), 1);
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 1), 2);
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 2), 7); /* overflow: 3 + 4 */
    ptel__field f, k;
    CHECK(metric_field(req, n, 0, (const uint32_t[]){7, 1, 0}, 2, &f));
    static const uint32_t key[] = {7, 1, 0};
    CHECK(pb_find(f.data, f.len, key, 0, &k) && k.len == 20 &&
          memcmp(k.data, "otel.metric.overflow", 20) == 0);
    free(req);
    ptel_aggregator_free(agg);
}

static void t_scopes(void) {
    uint64_t now = T_EXPORT;
    ptel_aggregator *agg = new_agg(&now, 0, 0);
    const int64_t v[1] = {1};
    pb p;
    fx_payload(&p);
    number_metric(&p, 'c', "calls", v, NULL, 1);
    add(agg, "first", &p);
    fx_payload(&p);
    number_metric(&p, 'c', "calls", v, NULL, 1);
    add(agg, "second", &p);
    size_t n;
    uint8_t *req = export_agg(agg, PTEL_TEMPORALITY_CUMULATIVE, &n);
    CHECK_EQ_INT(pb_count(req, n, P_SCOPE), 2);
    static const uint32_t scope_name[] = {1, 2, 1, 1, 0};
    ptel__field f;
    CHECK(pb_find(req, n, scope_name, 0, &f) && f.len == 5 && memcmp(f.data, "first", 5) == 0);
    free(req);
    /* An empty aggregator writes nothing. */
    ptel_aggregator *empty = new_agg(&now, 0, 0);
    size_t len = 9;
    CHECK_EQ_INT(ptel_aggregator_export(empty, NULL, PTEL_TEMPORALITY_CUMULATIVE, NULL, 0, &len),
                 0);
    CHECK_EQ_INT(len, 0);
    ptel_aggregator_free(empty);
    ptel_aggregator_free(agg);
    ptel_aggregator_free(NULL);
    /* Invocations not ended are refused. */
    ptel_aggregator *a2 = new_agg(&now, 0, 0);
    fx fx1;
    ptel_invocation *inv = fx_begin(&fx1, NULL);
    CHECK_EQ_INT(ptel_aggregator_add(a2, inv), PTEL_E_STATE);
    CHECK_EQ_INT(ptel_aggregator_add(NULL, inv), PTEL_E_INVALID_ARGUMENT);
    ptel_invocation_free(inv);
    ptel_aggregator_free(a2);
}

/* ---- threads ------------------------------------------------------------------------------ */

enum { THREADS = 8, PER_THREAD = 200 };

typedef struct worker {
    ptel_aggregator *agg;
    int id;
    int failures;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    static const char *const sets[2] = {"even", "odd"};
    for (int k = 0; k < PER_THREAD; k++) {
        ptel_invocation_options o;
        fx f;
        fx_options(&o, &f, NULL);
        ptel_invocation *inv = NULL;
        if (ptel_invocation_begin(&inv, &o, NULL)) {
            w->failures++;
            continue;
        }
        f.mono += 1000;
        pb p, m, data;
        fx_payload(&p);
        pb_init(&m);
        pb_init(&data);
        pb_str(&m, 1, "calls");
        point(&data, false, k + 1, 0, "parity", sets[w->id & 1]);
        pb_uint(&data, 2, 1);
        pb_uint(&data, 3, 1);
        pb_msg(&m, 7, &data);
        pb_msg(&p, 3, &m);
        if (fx_end(inv, &p, NULL) || ptel_aggregator_add(w->agg, inv)) w->failures++;
        /* Exports run concurrently with adds. */
        if (k % 50 == 0) {
            size_t n = 0;
            int rc;
            uint8_t *buf = NULL;
            do {
                free(buf);
                rc = ptel_aggregator_export(w->agg, NULL, PTEL_TEMPORALITY_CUMULATIVE, NULL, 0, &n);
                buf = malloc(n ? n : 1);
                rc = ptel_aggregator_export(w->agg, NULL, PTEL_TEMPORALITY_CUMULATIVE, buf, n, &n);
            } while (rc == PTEL_E_BUFFER_TOO_SMALL);
            if (rc) w->failures++;
            free(buf);
        }
        pb_free(&p);
        ptel_invocation_free(inv);
    }
    return NULL;
}

static void t_threads(void) {
    uint64_t now = T_EXPORT;
    ptel_aggregator *agg = new_agg(&now, 0, 0);
    pthread_t th[THREADS];
    worker ws[THREADS];
    for (int k = 0; k < THREADS; k++) {
        ws[k] = (worker){agg, k, 0};
        CHECK_EQ_INT(pthread_create(&th[k], NULL, work, &ws[k]), 0);
    }
    for (int k = 0; k < THREADS; k++) {
        pthread_join(th[k], NULL);
        CHECK_EQ_INT(ws[k].failures, 0);
    }
    ptel_aggregator_stats st;
    ptel_aggregator_get_stats(agg, &st);
    CHECK_EQ_INT(st.invocations, THREADS * PER_THREAD);
    CHECK_EQ_INT(st.points_added, THREADS * PER_THREAD);
    CHECK_EQ_INT(st.streams, 2);
    size_t n;
    uint8_t *req = export_agg(agg, PTEL_TEMPORALITY_CUMULATIVE, &n);
    /* Each thread adds 1 + 2 + ... + PER_THREAD to its parity's stream. */
    int64_t per = (int64_t)PER_THREAD * (PER_THREAD + 1) / 2;
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 0) + sum_value(req, n, 0, 7, 1), per * THREADS);
    CHECK_EQ_INT(sum_value(req, n, 0, 7, 0), per * THREADS / 2);
    free(req);
    ptel_aggregator_free(agg);
}

int main(void) {
    RUN(t_cumulative_and_delta);
    RUN(t_cardinality_and_conflicts);
    RUN(t_scopes);
    RUN(t_threads);
    return test_summary();
}
