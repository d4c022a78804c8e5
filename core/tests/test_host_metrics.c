/* Host validation of the plugin's metrics: instrument rules, data-point
 * rules, cardinality overflow, data-point attributes and exemplars, with
 * the exact bytes exported. */
#include "test_host_util.h"

#include <math.h>

#define T(x) (FX_T0 + (x))

static const uint8_t S1[8] = {1, 1, 1, 1, 1, 1, 1, 1};
static const uint32_t P_METRIC[] = {1, 2, 2, 0};

/* A number point, canonical field order. */
typedef struct npt {
    bool dbl;
    bool none; /* no value */
    int64_t i;
    double d;
    uint64_t start;
    uint64_t time;
    const char *k1, *v1, *k2, *v2;
    const pb *exemplars; /* pre-built exemplar fields (tag included), or NULL */
} npt;

static void num_point(pb *data, const npt *p) {
    pb pt;
    pb_init(&pt);
    if (p->start) pb_fixed64(&pt, 2, p->start);
    if (p->time) pb_fixed64(&pt, 3, p->time);
    if (!p->none && p->dbl) pb_double(&pt, 4, p->d);
    if (p->exemplars) pb_raw(&pt, p->exemplars->b, p->exemplars->n);
    if (!p->none && !p->dbl) pb_fixed64(&pt, 6, (uint64_t)p->i);
    if (p->k1) pb_attr_str(&pt, 7, p->k1, p->v1);
    if (p->k2) pb_attr_str(&pt, 7, p->k2, p->v2);
    pb_msg(data, 1, &pt);
}

/* A Sum (field 7) or Gauge (field 5) metric body. */
static void num_metric(pb *m, const char *name, const char *unit, uint32_t kind_field,
                       bool monotonic, uint32_t temporality, const npt *pts, size_t n) {
    pb_init(m);
    pb_str(m, 1, name);
    if (unit && *unit) pb_str(m, 3, unit);
    pb data;
    pb_init(&data);
    for (size_t k = 0; k < n; k++) num_point(&data, &pts[k]);
    if (temporality) pb_uint(&data, 2, temporality);
    if (monotonic) pb_uint(&data, 3, 1);
    pb_msg(m, kind_field, &data);
}

static void counter(pb *m, const char *name, const npt *pts, size_t n) {
    num_metric(m, name, "{call}", 7, true, 1, pts, n);
}

typedef struct hpt {
    uint64_t count;
    double sum, min, max;
    const uint64_t *buckets;
    uint32_t nb;
    const double *bounds;
    uint32_t nbounds;
    const char *k1, *v1;
} hpt;

static void hist_point(pb *data, const hpt *h) {
    pb pt;
    pb_init(&pt);
    pb_fixed64(&pt, 2, T(10));
    pb_fixed64(&pt, 3, T(20));
    pb_fixed64(&pt, 4, h->count);
    pb_double(&pt, 5, h->sum);
    if (h->nb) {
        pb_tag(&pt, 6, 2);
        pb_varint(&pt, (uint64_t)h->nb * 8);
        for (uint32_t k = 0; k < h->nb; k++) {
            uint8_t tmp[8];
            ptel__put_fixed64(tmp, h->buckets[k]);
            pb_raw(&pt, tmp, 8);
        }
    }
    if (h->nbounds) {
        pb_tag(&pt, 7, 2);
        pb_varint(&pt, (uint64_t)h->nbounds * 8);
        for (uint32_t k = 0; k < h->nbounds; k++) {
            uint8_t tmp[8];
            ptel__put_fixed64(tmp, ptel__double_bits(h->bounds[k]));
            pb_raw(&pt, tmp, 8);
        }
    }
    if (h->k1) pb_attr_str(&pt, 9, h->k1, h->v1);
    pb_double(&pt, 11, h->min);
    pb_double(&pt, 12, h->max);
    pb_msg(data, 1, &pt);
}

static void histogram(pb *m, const char *name, const hpt *pts, size_t n, uint32_t temporality) {
    pb_init(m);
    pb_str(m, 1, name);
    pb_str(m, 3, "ms");
    pb data;
    pb_init(&data);
    for (size_t k = 0; k < n; k++) hist_point(&data, &pts[k]);
    pb_uint(&data, 2, temporality);
    pb_msg(m, 9, &data);
}

static uint32_t other_reasons(const ptel_report *r, int except) {
    uint32_t n = 0;
    for (int k = 0; k < PTEL_REASON_COUNT; k++)
        if (k != except) n += r->reasons[k];
    return n;
}

static ptel_host_policy copying(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.copy_payload = true;
    return pol;
}

/* End with a payload of metrics `ms` (freed), report in *rep. */
static ptel_invocation *end_metrics(pb *ms, size_t n, const ptel_host_policy *policy,
                                    ptel_report *rep, uint64_t features) {
    ptel_host_policy pol = policy ? *policy : copying();
    pol.copy_payload = true;
    ptel_invocation_options o;
    fx f;
    fx_options(&o, &f, &pol);
    o.features = features;
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    /* fx lives on this stack frame: the clock is read at begin and end only. */
    f.mono += 1000000;
    pb p;
    fx_payload(&p);
    for (size_t k = 0; k < n; k++) pb_msg(&p, 3, &ms[k]);
    CHECK_EQ_INT(fx_end(inv, &p, rep), 0);
    pb_free(&p);
    return inv;
}

/* The nth exported metric body. */
static bool exported_metric(const ptel_invocation *inv, uint32_t nth, pb *out) {
    size_t len;
    uint8_t *buf = fx_export_metrics(inv, NULL, &len);
    ptel__field f;
    bool ok = buf && pb_find(buf, len, P_METRIC, nth, &f);
    pb_init(out);
    if (ok) pb_raw(out, f.data, f.len);
    free(buf);
    return ok;
}

static uint32_t exported_metric_count(const ptel_invocation *inv) {
    size_t len;
    uint8_t *buf = fx_export_metrics(inv, NULL, &len);
    uint32_t n = buf ? pb_count(buf, len, P_METRIC) : 0;
    free(buf);
    return n;
}

static bool same(const pb *a, const pb *b) { return a->n == b->n && memcmp(a->b, b->b, a->n) == 0; }

/* ---- accepted as is ------------------------------------------------------------------ */

static void t_accept_verbatim(void) {
    pb ms[3], copy[3];
    npt c[2] = {{.i = 3, .start = T(1), .time = T(9), .k1 = "route", .v1 = "a"},
                {.i = 4, .start = T(1), .time = T(9), .k1 = "route", .v1 = "b"}};
    counter(&ms[0], "calls", c, 2);
    npt g = {.dbl = true, .d = NAN, .time = T(9)};
    num_metric(&ms[1], "queue.depth", "", 5, false, 0, &g, 1);
    static const uint64_t buckets[3] = {1, 0, 2};
    static const double bounds[2] = {1.5, 10};
    hpt h = {3, 25.5, 0.5, 20, buckets, 3, bounds, 2, "k", "v"};
    histogram(&ms[2], "latency", &h, 1, 1);
    for (int k = 0; k < 3; k++) {
        pb_init(&copy[k]);
        pb_raw(&copy[k], ms[k].b, ms[k].n);
    }
    ptel_report rep;
    ptel_invocation *inv = end_metrics(ms, 3, NULL, &rep, 0);
    CHECK_EQ_INT(rep.status, 0);
    CHECK_EQ_INT(rep.metrics_accepted, 3);
    CHECK_EQ_INT(rep.metrics_dropped, 0);
    CHECK_EQ_INT(rep.points_accepted, 4);
    CHECK_EQ_INT(rep.points_dropped, 0);
    CHECK_EQ_INT(other_reasons(&rep, -1), 0);
    for (uint32_t k = 0; k < 3; k++) {
        pb got;
        CHECK(exported_metric(inv, k, &got));
        CHECK(same(&got, &copy[k]));
        pb_free(&got);
        pb_free(&copy[k]);
    }
    ptel_invocation_free(inv);
}

/* ---- instrument rules ------------------------------------------------------------------ */

static void expect_metric_dropped(pb *m, int reason, const ptel_host_policy *pol,
                                  uint64_t features) {
    /* A valid metric beside it stays. */
    pb ms[2];
    npt ok = {.i = 1, .start = T(1), .time = T(2)};
    counter(&ms[0], "zz.ok", &ok, 1);
    ms[1] = *m;
    ptel_report rep;
    ptel_invocation *inv = end_metrics(ms, 2, pol, &rep, features);
    bool feature = reason == PTEL_REASON_FEATURE;
    CHECK_EQ_INT(rep.metrics_dropped, feature ? 2 : 1);
    CHECK_EQ_INT(rep.metrics_accepted, feature ? 0 : 1);
    CHECK_EQ_INT(rep.reasons[reason], feature ? 2 : 1);
    CHECK_EQ_INT(other_reasons(&rep, reason), 0);
    CHECK_EQ_INT(exported_metric_count(inv), feature ? 0 : 1);
    ptel_invocation_free(inv);
}

static void t_instrument_rules(void) {
    npt p = {.i = 1, .start = T(1), .time = T(2)};
    pb m;
    const char *bad_names[] = {"1abc", "", "a b", "caf\xc3\xa9", "_x"};
    for (size_t k = 0; k < 5; k++) {
        counter(&m, bad_names[k], &p, 1);
        expect_metric_dropped(&m, PTEL_REASON_METRIC_NAME, NULL, 0);
    }
    char longname[257];
    memset(longname, 'a', 256);
    longname[256] = 0;
    counter(&m, longname, &p, 1);
    expect_metric_dropped(&m, PTEL_REASON_METRIC_NAME, NULL, 0);

    char longunit[65];
    memset(longunit, 'u', 64);
    longunit[64] = 0;
    const char *bad_units[] = {longunit, "\x7f", "\xc2\xb5s"};
    for (size_t k = 0; k < 3; k++) {
        num_metric(&m, "m", bad_units[k], 7, true, 1, &p, 1);
        expect_metric_dropped(&m, PTEL_REASON_METRIC_UNIT, NULL, 0);
    }

    counter(&m, "m", &p, 1);
    pb_str(&m, 2, "bad \xff description");
    expect_metric_dropped(&m, PTEL_REASON_UTF8, NULL, 0);

    /* Summary, exponential histogram and no data at all. */
    for (int k = 0; k < 3; k++) {
        pb_init(&m);
        pb_str(&m, 1, "m");
        if (k < 2) {
            pb data;
            pb_init(&data);
            pb_uint(&data, 2, 1);
            pb_msg(&m, k ? 10 : 11, &data);
        }
        expect_metric_dropped(&m, PTEL_REASON_METRIC_TYPE, NULL, 0);
    }

    num_metric(&m, "m", "", 7, true, 2, &p, 1); /* cumulative */
    expect_metric_dropped(&m, PTEL_REASON_TEMPORALITY, NULL, 0);
    num_metric(&m, "m", "", 7, true, 0, &p, 1); /* unspecified */
    expect_metric_dropped(&m, PTEL_REASON_TEMPORALITY, NULL, 0);
    static const uint64_t b1[1] = {1};
    hpt h = {1, 1, 1, 1, b1, 1, NULL, 0, NULL, NULL};
    histogram(&m, "m", &h, 1, 2);
    expect_metric_dropped(&m, PTEL_REASON_TEMPORALITY, NULL, 0);

    counter(&m, "ZZ.OK", &p, 1); /* case-insensitively the same as "zz.ok" */
    expect_metric_dropped(&m, PTEL_REASON_METRIC_CONFLICT, NULL, 0);

    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.limits.metric_count = 1;
    counter(&m, "second", &p, 1);
    expect_metric_dropped(&m, PTEL_REASON_METRIC_COUNT, &pol, 0);

    counter(&m, "m", &p, 1);
    expect_metric_dropped(&m, PTEL_REASON_FEATURE, NULL, PTEL_FEATURE_SPANS);

    /* The longest valid name and unit pass. */
    char maxname[256];
    memset(maxname, 'b', 255);
    maxname[255] = 0;
    longunit[63] = 0;
    pb ms[1];
    num_metric(&ms[0], maxname, longunit, 7, true, 1, &p, 1);
    ptel_report rep;
    ptel_invocation *inv = end_metrics(ms, 1, NULL, &rep, 0);
    CHECK_EQ_INT(rep.metrics_accepted, 1);
    CHECK_EQ_INT(other_reasons(&rep, -1), 0);
    ptel_invocation_free(inv);
}

/* ---- data-point rules ------------------------------------------------------------------ */

/* A counter "c" with the good point and `bad`; the bad point must drop for
 * `reason` and the metric be re-encoded with the good point alone. */
static void expect_point_dropped(const npt *bad, bool monotonic, uint32_t kind_field, int reason,
                                 const ptel_host_policy *pol) {
    npt pts[2] = {{.i = 7, .start = T(1), .time = T(2), .k1 = "a", .v1 = "1"}, *bad};
    pb m, want;
    uint32_t temporality = kind_field == 5 ? 0 : 1;
    num_metric(&m, "c", "", kind_field, monotonic, temporality, pts, 2);
    num_metric(&want, "c", "", kind_field, monotonic, temporality, pts, 1);
    ptel_report rep;
    ptel_invocation *inv = end_metrics(&m, 1, pol, &rep, 0);
    CHECK_EQ_INT(rep.metrics_accepted, 1);
    CHECK_EQ_INT(rep.points_accepted, 1);
    CHECK_EQ_INT(rep.points_dropped, 1);
    CHECK_EQ_INT(rep.reasons[reason], 1);
    CHECK_EQ_INT(other_reasons(&rep, reason), 0);
    pb got;
    CHECK(exported_metric(inv, 0, &got));
    CHECK(same(&got, &want));
    pb_free(&got);
    pb_free(&want);
    ptel_invocation_free(inv);
}

static void t_point_rules(void) {
    npt none = {.none = true, .start = T(1), .time = T(2), .k1 = "b", .v1 = "2"};
    expect_point_dropped(&none, true, 7, PTEL_REASON_INVALID_VALUE, NULL);
    npt neg = {.i = -1, .start = T(1), .time = T(2), .k1 = "b", .v1 = "2"};
    expect_point_dropped(&neg, true, 7, PTEL_REASON_INVALID_VALUE, NULL);
    npt negd = {.dbl = true, .d = -0.5, .start = T(1), .time = T(2), .k1 = "b", .v1 = "2"};
    /* A double after an int point conflicts before its sign is looked at:
     * give this case an int metric of its own below. */
    (void)negd;
    npt nan = {.dbl = true, .d = NAN, .start = T(1), .time = T(2), .k1 = "b", .v1 = "2"};
    expect_point_dropped(&nan, false, 7, PTEL_REASON_INVALID_VALUE, NULL);
    npt conflict = {.dbl = true, .d = 1, .start = T(1), .time = T(2), .k1 = "b", .v1 = "2"};
    expect_point_dropped(&conflict, false, 7, PTEL_REASON_METRIC_CONFLICT, NULL);
    npt backwards = {.i = 1, .start = T(5), .time = T(2), .k1 = "b", .v1 = "2"};
    expect_point_dropped(&backwards, true, 7, PTEL_REASON_END_BEFORE_START, NULL);
    ptel_host_policy rej;
    ptel_host_policy_init(&rej);
    rej.time_policy = PTEL_TIME_REJECT;
    npt late = {.i = 1, .start = T(1), .time = T(5000000000ull), .k1 = "b", .v1 = "2"};
    expect_point_dropped(&late, true, 7, PTEL_REASON_TIME_WINDOW, &rej);

    /* Negative doubles in a monotonic sum, and NaN in a gauge (allowed). */
    npt d2[2] = {{.dbl = true, .d = 2, .start = T(1), .time = T(2)},
                 {.dbl = true, .d = -0.5, .start = T(1), .time = T(2), .k1 = "b", .v1 = "2"}};
    pb m;
    num_metric(&m, "d", "", 7, true, 1, d2, 2);
    ptel_report rep;
    ptel_invocation *inv = end_metrics(&m, 1, NULL, &rep, 0);
    CHECK_EQ_INT(rep.points_dropped, 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_INVALID_VALUE], 1);
    ptel_invocation_free(inv);
    npt g = {.dbl = true, .d = INFINITY, .time = T(2)};
    num_metric(&m, "g", "", 5, false, 0, &g, 1);
    inv = end_metrics(&m, 1, NULL, &rep, 0);
    CHECK_EQ_INT(rep.points_accepted, 1);
    CHECK_EQ_INT(other_reasons(&rep, -1), 0);
    ptel_invocation_free(inv);

    /* Clamping keeps the point and moves its times. */
    npt early = {.i = 2, .start = 5, .time = 6};
    counter(&m, "c", &early, 1);
    inv = end_metrics(&m, 1, NULL, &rep, 0);
    CHECK_EQ_INT(rep.points_accepted, 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_TIME_WINDOW], 2);
    npt clamped = {.i = 2, .start = FX_T0 - 1000000000u, .time = FX_T0 - 1000000000u};
    pb want, got;
    counter(&want, "c", &clamped, 1);
    CHECK(exported_metric(inv, 0, &got));
    CHECK(same(&got, &want));
    pb_free(&got);
    pb_free(&want);
    ptel_invocation_free(inv);
}

static void t_histogram_rules(void) {
    static const uint64_t b3[3] = {1, 1, 1};
    static const double bounds[2] = {1, 2}, down[2] = {2, 1}, nanb[2] = {1, NAN}, other[2] = {1, 3};
    const hpt bad[] = {
        {3, 3, 0, 2, b3, 2, bounds, 2, "k", "b"},   /* 2 buckets for 2 bounds */
        {4, 3, 0, 2, b3, 3, bounds, 2, "k", "b"},   /* counts add up to 3, not 4 */
        {3, 3, 0, 2, b3, 3, down, 2, "k", "b"},     /* bounds decrease */
        {3, 3, 0, 2, b3, 3, nanb, 2, "k", "b"},     /* NaN bound */
        {3, 3, 5, 2, b3, 3, bounds, 2, "k", "b"},   /* min > max */
        {3, NAN, 0, 2, b3, 3, bounds, 2, "k", "b"}, /* NaN sum */
        {3, 3, 0, 2, b3, 3, other, 2, "k", "b"},    /* other bounds than the first point */
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        hpt pts[2] = {{3, 3, 0, 2, b3, 3, bounds, 2, "k", "a"}, bad[k]};
        pb m, want;
        histogram(&m, "h", pts, 2, 1);
        histogram(&want, "h", pts, 1, 1);
        ptel_report rep;
        ptel_invocation *inv = end_metrics(&m, 1, NULL, &rep, 0);
        int reason = k == 6 ? PTEL_REASON_METRIC_CONFLICT : PTEL_REASON_INVALID_VALUE;
        CHECK_EQ_INT(rep.points_dropped, 1);
        CHECK_EQ_INT(rep.reasons[reason], 1);
        CHECK_EQ_INT(other_reasons(&rep, reason), 0);
        pb got;
        CHECK(exported_metric(inv, 0, &got));
        CHECK(same(&got, &want));
        pb_free(&got);
        pb_free(&want);
        ptel_invocation_free(inv);
    }
    /* A packed field whose length is not a multiple of 8 rejects the payload. */
    pb m;
    pb_init(&m);
    pb_str(&m, 1, "h");
    pb data, pt;
    pb_init(&data);
    pb_init(&pt);
    pb_bytes(&pt, 6, "1234567", 7);
    pb_msg(&data, 1, &pt);
    pb_uint(&data, 2, 1);
    pb_msg(&m, 9, &data);
    pb p;
    fx_payload(&p);
    pb_msg(&p, 3, &m);
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &p, &rep), PTEL_E_REJECTED);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_MALFORMED], 1);
    pb_free(&p);
    ptel_invocation_free(inv);
}

/* Unpacked repeated fields decode like packed ones; histograms with equal
 * attribute sets merge. */
static void t_histogram_merge(void) {
    pb m;
    pb_init(&m);
    pb_str(&m, 1, "h");
    pb_str(&m, 3, "ms");
    pb data;
    pb_init(&data);
    for (int k = 0; k < 2; k++) {
        pb pt;
        pb_init(&pt);
        pb_fixed64(&pt, 2, T(10 + k));
        pb_fixed64(&pt, 3, T(20 + k));
        pb_fixed64(&pt, 4, 2);
        pb_double(&pt, 5, k ? 10 : 1);
        pb_fixed64(&pt, 6, 1); /* unpacked bucket counts */
        pb_fixed64(&pt, 6, 1);
        pb_double(&pt, 7, 5); /* unpacked bound */
        pb_attr_str(&pt, 9, "k", "v");
        pb_double(&pt, 11, k ? 4 : 0.5);
        pb_double(&pt, 12, k ? 6 : 7);
        pb_msg(&data, 1, &pt);
    }
    pb_uint(&data, 2, 1);
    pb_msg(&m, 9, &data);
    ptel_report rep;
    ptel_invocation *inv = end_metrics(&m, 1, NULL, &rep, 0);
    CHECK_EQ_INT(rep.points_accepted, 1);
    CHECK_EQ_INT(rep.points_dropped, 0);
    CHECK_EQ_INT(other_reasons(&rep, -1), 0);
    static const uint64_t merged[2] = {2, 2};
    static const double bound[1] = {5};
    hpt want_pt = {4, 11, 0.5, 7, merged, 2, bound, 1, "k", "v"};
    pb want, got;
    histogram(&want, "h", &want_pt, 1, 1);
    /* hist_point stamps T(10)/T(20): the merge keeps the earliest start and
     * the latest time, T(10) and T(21). */
    CHECK(exported_metric(inv, 0, &got));
    static const uint32_t time_path[] = {9, 1, 3, 0}, start_path[] = {9, 1, 2, 0};
    ptel__field f;
    CHECK(pb_find(got.b, got.n, start_path, 0, &f) && f.value == T(10));
    CHECK(pb_find(got.b, got.n, time_path, 0, &f) && f.value == T(21));
    /* Patch the expected time and compare the whole metric. */
    CHECK(pb_find(want.b, want.n, time_path, 0, &f));
    ptel__put_fixed64((uint8_t *)f.start + 1, T(21));
    CHECK(same(&got, &want));
    pb_free(&got);
    pb_free(&want);
    ptel_invocation_free(inv);
}

/* ---- cardinality and attributes ------------------------------------------------------------ */

static void t_cardinality(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.limits.metric_cardinality = 3;
    npt pts[6];
    const char *vals[] = {"a", "b", "c", "d", "e"};
    for (int k = 0; k < 5; k++)
        pts[k] = (npt){.i = k + 1, .start = T(1), .time = T(2), .k1 = "k", .v1 = vals[k]};
    /* A repeat of set "a" with its attributes in another order merges into it. */
    pts[0].k2 = "z";
    pts[0].v2 = "1";
    pts[5] =
        (npt){.i = 10, .start = T(1), .time = T(2), .k1 = "z", .v1 = "1", .k2 = "k", .v2 = "a"};
    pb m;
    counter(&m, "c", pts, 6);
    ptel_report rep;
    ptel_invocation *inv = end_metrics(&m, 1, &pol, &rep, 0);
    CHECK_EQ_INT(rep.points_accepted, 3);
    CHECK_EQ_INT(rep.points_dropped, 0);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_CARDINALITY], 3);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_CARDINALITY), 0);
    /* Expected: {k=a,z=1}: 11, {k=b}: 2, {otel.metric.overflow=true}: 3+4+5. */
    pb want;
    pb_init(&want);
    pb_str(&want, 1, "c");
    pb_str(&want, 3, "{call}");
    pb data;
    pb_init(&data);
    npt w[2] = {{.i = 11, .start = T(1), .time = T(2), .k1 = "k", .v1 = "a", .k2 = "z", .v2 = "1"},
                {.i = 2, .start = T(1), .time = T(2), .k1 = "k", .v1 = "b"}};
    num_point(&data, &w[0]);
    num_point(&data, &w[1]);
    pb pt, kv, any;
    pb_init(&pt);
    pb_fixed64(&pt, 2, T(1));
    pb_fixed64(&pt, 3, T(2));
    pb_fixed64(&pt, 6, 12);
    pb_init(&kv);
    pb_str(&kv, 1, "otel.metric.overflow");
    pb_init(&any);
    pb_uint(&any, 2, 1);
    pb_msg(&kv, 2, &any);
    pb_msg(&pt, 7, &kv);
    pb_msg(&data, 1, &pt);
    pb_uint(&data, 2, 1);
    pb_uint(&data, 3, 1);
    pb_msg(&want, 7, &data);
    pb got;
    CHECK(exported_metric(inv, 0, &got));
    CHECK(same(&got, &want));
    pb_free(&got);
    pb_free(&want);
    ptel_invocation_free(inv);
}

static void t_point_attributes(void) {
    /* Reserved keys are refused, the overflow marker is not (the recorder
     * writes it); the span limits (count, length) do not apply to data points. */
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.limits.attribute_count = 1;
    pol.limits.attribute_value_length = 2;
    pb pts, pt;
    pb_init(&pts);
    pb_init(&pt);
    pb_fixed64(&pt, 2, T(1));
    pb_fixed64(&pt, 3, T(2));
    pb_fixed64(&pt, 6, 1);
    pb_attr_str(&pt, 7, "otel.metric.overflow", "forged");
    pb_attr_str(&pt, 7, "service.name", "forged");
    pb_attr_str(&pt, 7, "long", "abcdef");
    pb_attr_str(&pt, 7, "more", "xyz");
    pb_msg(&pts, 1, &pt);
    pb_uint(&pts, 2, 1);
    pb_uint(&pts, 3, 1);
    pb m;
    pb_init(&m);
    pb_str(&m, 1, "c");
    pb_msg(&m, 7, &pts);
    ptel_report rep;
    ptel_invocation *inv = end_metrics(&m, 1, &pol, &rep, 0);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_RESERVED_KEY], 1);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_RESERVED_KEY), 0);
    /* Sorted by key: long, more, otel.metric.overflow. */
    pb want, got, data2, pt2;
    pb_init(&data2);
    pb_init(&pt2);
    pb_fixed64(&pt2, 2, T(1));
    pb_fixed64(&pt2, 3, T(2));
    pb_fixed64(&pt2, 6, 1);
    pb_attr_str(&pt2, 7, "long", "abcdef");
    pb_attr_str(&pt2, 7, "more", "xyz");
    pb_attr_str(&pt2, 7, "otel.metric.overflow", "forged");
    pb_msg(&data2, 1, &pt2);
    pb_uint(&data2, 2, 1);
    pb_uint(&data2, 3, 1);
    pb_init(&want);
    pb_str(&want, 1, "c");
    pb_msg(&want, 7, &data2);
    CHECK(exported_metric(inv, 0, &got));
    CHECK(same(&got, &want));
    pb_free(&got);
    pb_free(&want);
    ptel_invocation_free(inv);
}

/* ---- exemplars ---------------------------------------------------------------------------- */

static void exemplar(pb *out, uint32_t field, const uint8_t *trace, const uint8_t *span,
                     bool value) {
    pb ex;
    pb_init(&ex);
    pb_fixed64(&ex, 2, T(3));
    if (span) pb_bytes(&ex, 4, span, 8);
    if (trace) pb_bytes(&ex, 5, trace, 16);
    if (value) pb_fixed64(&ex, 6, 5);
    pb_msg(out, field, &ex);
}

static void t_exemplars(void) {
    static const uint8_t other_trace[16] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    static const uint8_t unknown[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    pb exs;
    pb_init(&exs);
    exemplar(&exs, 5, FX_TRACE, S1, true);      /* a kept plugin span: kept */
    exemplar(&exs, 5, FX_TRACE, unknown, true); /* parent_unknown */
    exemplar(&exs, 5, other_trace, S1, true);   /* trace_id_mismatch */
    exemplar(&exs, 5, FX_TRACE, FX_INV, true);  /* the invocation span: kept */
    exemplar(&exs, 5, NULL, S1, true);          /* span without trace */
    exemplar(&exs, 5, FX_TRACE, S1, false);     /* no value */
    exemplar(&exs, 5, NULL, NULL, true);        /* no span at all: kept */
    npt p = {.i = 1, .start = T(1), .time = T(2), .exemplars = &exs};
    pb m;
    counter(&m, "c", &p, 1);

    fx f;
    ptel_host_policy pol = copying();
    ptel_invocation *inv = fx_begin(&f, &pol);
    pb payload, s;
    fx_payload(&payload);
    fx_span(&s, S1, FX_INV, "span", T(1), T(2));
    pb_msg(&payload, 2, &s);
    pb_msg(&payload, 3, &m);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &payload, &rep), 0);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_PARENT_UNKNOWN], 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_TRACE_ID_MISMATCH], 2);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_INVALID_VALUE], 1);
    CHECK_EQ_INT(other_reasons(&rep, -1), 4);
    pb keep;
    pb_init(&keep);
    exemplar(&keep, 5, FX_TRACE, S1, true);
    exemplar(&keep, 5, FX_TRACE, FX_INV, true);
    exemplar(&keep, 5, NULL, NULL, true);
    npt wp = {.i = 1, .start = T(1), .time = T(2), .exemplars = &keep};
    pb want, got;
    counter(&want, "c", &wp, 1);
    CHECK(exported_metric(inv, 0, &got));
    CHECK(same(&got, &want));
    pb_free(&got);
    pb_free(&want);
    pb_free(&keep);
    pb_free(&payload);
    ptel_invocation_free(inv);

    /* Without the exemplar feature they are all dropped. */
    pb_free(&exs);
    pb_init(&exs);
    exemplar(&exs, 5, FX_TRACE, FX_INV, true);
    npt q = {.i = 1, .start = T(1), .time = T(2), .exemplars = &exs};
    counter(&m, "c", &q, 1);
    inv = end_metrics(&m, 1, NULL, &rep, PTEL_FEATURE_METRICS);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_FEATURE], 1);
    CHECK_EQ_INT(rep.points_accepted, 1);
    pb_free(&exs);
    ptel_invocation_free(inv);
}

/* A cardinality flood: 10000 attribute sets with the default limit of 2000. */
static void t_cardinality_flood(void) {
    enum { N = 10000 };
    pb m, data;
    pb_init(&m);
    pb_init(&data);
    pb_str(&m, 1, "c");
    for (int k = 0; k < N; k++) {
        char v[16];
        snprintf(v, sizeof v, "%d", k);
        npt p = {.i = 1, .start = T(1), .time = T(2), .k1 = "id", .v1 = v};
        num_point(&data, &p);
    }
    pb_uint(&data, 2, 1);
    pb_uint(&data, 3, 1);
    pb_msg(&m, 7, &data);
    ptel_report rep;
    ptel_invocation *inv = end_metrics(&m, 1, NULL, &rep, 0);
    CHECK_EQ_INT(rep.points_accepted, 2000);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_CARDINALITY], N - 1999);
    pb got;
    CHECK(exported_metric(inv, 0, &got));
    static const uint32_t points[] = {7, 1, 0};
    CHECK_EQ_INT(pb_count(got.b, got.n, points), 2000);
    ptel__field last, v;
    CHECK(pb_find(got.b, got.n, points, 1999, &last));
    static const uint32_t value[] = {6, 0};
    CHECK(pb_find(last.data, last.len, value, 0, &v) && v.value == N - 1999);
    pb_free(&got);
    ptel_invocation_free(inv);
}

int main(void) {
    RUN(t_accept_verbatim);
    RUN(t_instrument_rules);
    RUN(t_point_rules);
    RUN(t_histogram_rules);
    RUN(t_histogram_merge);
    RUN(t_cardinality);
    RUN(t_point_attributes);
    RUN(t_exemplars);
    RUN(t_cardinality_flood);
    return test_summary();
}
