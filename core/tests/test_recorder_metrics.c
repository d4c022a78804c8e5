/* Recorder metrics: instruments, aggregation per attribute set, exemplars,
 * cardinality overflow, exact Metric bytes. */
#include "recorder_fixture.h"

#include "internal.h"

#include <math.h>

static ptel_metric *get(ptel_recorder *rec, uint32_t kind, uint32_t type, const char *name,
                        const char *unit) {
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    o.kind = kind;
    o.number_type = type;
    o.name.ptr = name;
    o.name.len = strlen(name);
    o.unit.ptr = unit;
    o.unit.len = strlen(unit);
    ptel_metric *m = NULL;
    ptel_metric_get(&m, rec, &o);
    return m;
}

static const uint8_t *finish(ptel_recorder *rec, size_t *len) {
    const uint8_t *out = NULL;
    CHECK_EQ_INT(ptel_recorder_finish(rec, &out, len), 0);
    return out;
}

static void test_counter_bytes_and_aggregation(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_DROP, NULL); /* metrics ignore sampling */
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_metric *m = get(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "hits", "{detection}");
    CHECK(m != NULL);
    ptel_attr a = fx_str("type", "email");
    CHECK_EQ_INT(ptel_metric_record_int(m, 2, &a, 1, NULL), 0);
    CHECK_EQ_INT(ptel_metric_record_int(m, 3, &a, 1, NULL), 0);
    CHECK_EQ_INT(ptel_metric_record_int(m, -1, &a, 1, NULL), PTEL_E_VALUE);
    CHECK_EQ_INT(ptel_metric_record_double(m, 1.5, &a, 1, NULL), PTEL_E_INVALID_ARGUMENT);
    env.mono = 1000;
    size_t len;
    const uint8_t *out = finish(rec, &len);
    unsigned char want[128];
    size_t n = test_unhex(want, "0801 1a47"
                                "0a0468697473 1a0b7b646574656374696f6e7d"
                                "3a32 0a2c"
                                "11 0010a5d4e8000000 19 e813a5d4e8000000 31 0500000000000000"
                                "3a0f 0a0474797065 12070a05656d61696c"
                                "1001 1801"
                                "2a02 1802"); /* drops: metric_points 2 */
    CHECK_BYTES(out, len, want, n);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_attribute_sets_are_canonical(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_metric *m = get(rec, PTEL_METRIC_UPDOWN_COUNTER, PTEL_NUMBER_DOUBLE, "queue", "1");
    ptel_attr ab[2] = {fx_str("a", "1"), fx_str("b", "2")};
    ptel_attr ba[3] = {fx_str("b", "x"), fx_str("a", "1"), fx_str("b", "2")}; /* last b wins */
    ptel_metric_record_double(m, 1.5, ab, 2, NULL);
    ptel_metric_record_double(m, -0.5, ba, 3, NULL);
    ptel_metric_record_double(m, 4, NULL, 0, NULL);
    size_t len;
    const uint8_t *out = finish(rec, &len);
    /* Two points: {a,b} = 1.0 and {} = 4.0. */
    ptel__reader r;
    ptel__field f, metric, sum, pt;
    ptel__reader_init(&r, out, out, len);
    CHECK_EQ_INT(ptel__reader_next(&r, &f, NULL), 1);
    CHECK_EQ_INT(ptel__reader_next(&r, &metric, NULL), 1);
    CHECK_EQ_INT(metric.number, 3);
    ptel__reader_init(&r, metric.data, metric.data, metric.len);
    while (ptel__reader_next(&r, &sum, NULL) == 1 && sum.number != 7) {
    }
    CHECK_EQ_INT(sum.number, 7);
    ptel__reader_init(&r, sum.data, sum.data, sum.len);
    int points = 0;
    bool monotonic_seen = false;
    while (ptel__reader_next(&r, &pt, NULL) == 1) {
        if (pt.number == 3) monotonic_seen = true;
        if (pt.number != 1) continue;
        ptel__reader pr;
        ptel__reader_init(&pr, pt.data, pt.data, pt.len);
        double v = NAN;
        int attrs = 0;
        while (ptel__reader_next(&pr, &f, NULL) == 1) {
            if (f.number == 4) v = ptel__bits_double(f.value);
            if (f.number == 7) attrs++;
        }
        CHECK(points == 0 ? (v == 1.0 && attrs == 2) : (v == 4.0 && attrs == 0));
        points++;
    }
    CHECK_EQ_INT(points, 2);
    CHECK(!monotonic_seen); /* up-down counters are not monotonic */
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_histogram_bytes(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    o.kind = PTEL_METRIC_HISTOGRAM;
    o.name.ptr = "d";
    o.name.len = 1;
    o.unit.ptr = "s";
    o.unit.len = 1;
    double bounds[2] = {0.5, 1.0};
    o.bounds = bounds;
    o.bound_count = 2;
    ptel_metric *m;
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &o), 0);
    ptel_metric_record_double(m, 0.25, NULL, 0, NULL);
    ptel_metric_record_double(m, 1.0, NULL, 0, NULL); /* upper bound is inclusive */
    ptel_metric_record_int(m, 2, NULL, 0, NULL);
    CHECK_EQ_INT(ptel_metric_record_double(m, INFINITY, NULL, 0, NULL), PTEL_E_VALUE);
    size_t len;
    const uint8_t *out = finish(rec, &len);
    unsigned char want[256];
    size_t n = test_unhex(want, "0801 1a6e"
                                "0a0164 1a0173"
                                "4a66 0a62"
                                "11 0010a5d4e8000000 19 0010a5d4e8000000"
                                "21 0300000000000000"
                                "29 0000000000000a40" /* sum 3.25 */
                                "3218 010000000000000001000000000000000100000000000000"
                                "3a10 000000000000e03f 000000000000f03f"
                                "59 000000000000d03f" /* min 0.25 */
                                "61 0000000000000040" /* max 2 */
                                "1001"
                                "2a02 1801");
    CHECK_BYTES(out, len, want, n);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_gauge_and_exemplar(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_metric *g = get(rec, PTEL_METRIC_GAUGE, PTEL_NUMBER_DOUBLE, "temp", "Cel");
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "s", 1, 0, 0);
    CHECK_EQ_INT(ptel_metric_record_double(g, NAN, NULL, 0, NULL), 0); /* gauges take NaN */
    env.mono = 7;
    CHECK_EQ_INT(ptel_metric_record_double(g, -0.0, NULL, 0, s), 0);
    ptel_span_end(s, 0);
    size_t len;
    const uint8_t *out = finish(rec, &len);
    ptel__reader r;
    ptel__field f;
    ptel__reader_init(&r, out, out, len);
    const uint8_t *metric = NULL;
    size_t metric_len = 0;
    while (ptel__reader_next(&r, &f, NULL) == 1)
        if (f.number == 3) metric = f.data, metric_len = f.len;
    CHECK(metric != NULL);
    unsigned char want[128];
    /* Gauge point: no start time, value -0.0 kept, exemplar with span 1. */
    size_t n = test_unhex(want, "0a0474656d70 1a0343656c"
                                "2a44 0a42"
                                "19 0710a5d4e8000000"
                                "21 0000000000000080"
                                "2a2e 11 0710a5d4e8000000 19 0000000000000080"
                                "2208 0000000000000001"
                                "2a10 4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK_BYTES(metric, metric_len, want, n);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_cardinality_overflow(void) {
    fx_env env = {0};
    ptel_limits lim = {0};
    lim.metric_cardinality = 3;
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, &lim);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_metric *m = get(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "c", "");
    for (int k = 0; k < 10; k++) {
        ptel_attr a = fx_int("k", k);
        CHECK_EQ_INT(ptel_metric_record_int(m, 1, &a, 1, NULL), 0);
    }
    ptel_attr first = fx_int("k", 0);
    ptel_metric_record_int(m, 100, &first, 1, NULL); /* known set still aggregates */
    size_t len;
    const uint8_t *out = finish(rec, &len);
    /* k=0 → 101, k=1 → 1, overflow → 8, in first-seen order. */
    int64_t want[3] = {101, 1, 8};
    int seen = 0;
    ptel__reader r, mr, sr, pr;
    ptel__field f, mf, sf, pf;
    ptel__reader_init(&r, out, out, len);
    while (ptel__reader_next(&r, &f, NULL) == 1) {
        if (f.number != 3) continue;
        ptel__reader_init(&mr, f.data, f.data, f.len);
        while (ptel__reader_next(&mr, &mf, NULL) == 1) {
            if (mf.number != 7) continue;
            ptel__reader_init(&sr, mf.data, mf.data, mf.len);
            while (ptel__reader_next(&sr, &sf, NULL) == 1) {
                if (sf.number != 1) continue;
                ptel__reader_init(&pr, sf.data, sf.data, sf.len);
                bool overflow_attr = false;
                while (ptel__reader_next(&pr, &pf, NULL) == 1) {
                    if (pf.number == 6 && seen < 3) CHECK_EQ_INT((int64_t)pf.value, want[seen]);
                    if (pf.number == 7 && pf.len > 20 &&
                        memcmp(pf.data + 2, "otel.metric.overflow", 20) == 0)
                        overflow_attr = true;
                }
                CHECK(overflow_attr == (seen == 2));
                seen++;
            }
        }
    }
    CHECK_EQ_INT(seen, 3);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_instrument_registration(void) {
    fx_env env = {0};
    ptel_limits lim = {0};
    lim.metric_count = 2;
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, &lim);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_metric *a = get(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "Req.Count", "1");
    ptel_metric *b = get(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "req.count", "1");
    CHECK(a != NULL && a == b); /* names compare case-insensitively */
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    ptel_metric *m = (ptel_metric *)1;
    o.name.ptr = "req.count";
    o.name.len = 9;
    o.kind = PTEL_METRIC_GAUGE;
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &o), PTEL_E_CONFLICT);
    CHECK(m == NULL);
    const char *bad_names[] = {"", "1abc", "a b", "_x", "é"};
    for (size_t k = 0; k < sizeof bad_names / sizeof bad_names[0]; k++) {
        o.name.ptr = bad_names[k];
        o.name.len = strlen(bad_names[k]);
        CHECK_EQ_INT(ptel_metric_get(&m, rec, &o), PTEL_E_NAME);
    }
    char long_name[257];
    memset(long_name, 'a', sizeof long_name);
    o.name.ptr = long_name;
    o.name.len = 256;
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &o), PTEL_E_NAME);
    o.name.len = 255;
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &o), 0);
    o.name.ptr = "unit.check";
    o.name.len = 10;
    char long_unit[64];
    memset(long_unit, 'u', sizeof long_unit);
    o.unit.ptr = long_unit;
    o.unit.len = 64;
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &o), PTEL_E_NAME);
    o.unit.len = 63;
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &o), PTEL_E_LIMIT); /* third instrument */
    o.kind = PTEL_METRIC_HISTOGRAM;
    double unsorted[2] = {2, 1};
    o.bounds = unsorted;
    o.bound_count = 2;
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &o), PTEL_E_VALUE);
    ptel_drop_counts d;
    ptel_recorder_drops(rec, &d);
    CHECK_EQ_INT(d.metrics, 10);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_int_sum_saturates(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_metric *m = get(rec, PTEL_METRIC_UPDOWN_COUNTER, PTEL_NUMBER_INT, "u", "");
    ptel_metric_record_int(m, INT64_MAX, NULL, 0, NULL);
    ptel_metric_record_int(m, 5, NULL, 0, NULL);
    size_t len;
    const uint8_t *out = finish(rec, &len);
    static const uint8_t max_le[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    bool found = false;
    for (size_t k = 0; k + 9 <= len; k++)
        if (out[k] == 0x31 && memcmp(out + k + 1, max_le, 8) == 0) found = true;
    CHECK(found);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

/* The active span given by context (bindings that record spans on their side). */
static void test_exemplar_by_context(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_metric *c = get(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "c", "");
    ptel_metric *other = get(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_DOUBLE, "other", "");
    ptel_span_context active;
    memset(&active, 0, sizeof active);
    static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    memcpy(active.trace_id, tid, 16);
    active.span_id[7] = 0x77;
    active.trace_flags = PTEL_TRACE_FLAG_SAMPLED;
    CHECK_EQ_INT(ptel_metric_record_int_ctx(c, 1, NULL, 0, &active), 0);
    active.trace_id[0] ^= 1; /* another trace: no exemplar */
    CHECK_EQ_INT(ptel_metric_record_double_ctx(other, 1, NULL, 0, &active), 0);
    size_t len;
    const uint8_t *out = finish(rec, &len);
    static const uint8_t ex_span[10] = {0x22, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x77};
    int found = 0;
    for (size_t k = 0; k + sizeof ex_span <= len; k++)
        found += memcmp(out + k, ex_span, sizeof ex_span) == 0;
    CHECK_EQ_INT(found, 1);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

int main(void) {
    RUN(test_exemplar_by_context);
    RUN(test_counter_bytes_and_aggregation);
    RUN(test_attribute_sets_are_canonical);
    RUN(test_histogram_bytes);
    RUN(test_gauge_and_exemplar);
    RUN(test_cardinality_overflow);
    RUN(test_instrument_registration);
    RUN(test_int_sum_saturates);
    return test_summary();
}
