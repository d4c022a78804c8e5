/* ptel_invocation_reset: a reused invocation gives exactly the results of a
 * fresh one, allocates nothing once warm, and fails safely. */
#include "test_host_util.h"

#define T(x) (FX_T0 + (x))

static const uint8_t S1[8] = {1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t S2[8] = {2, 2, 2, 2, 2, 2, 2, 2};
static const uint8_t S3[8] = {3, 3, 3, 3, 3, 3, 3, 3};
static const uint8_t S9[8] = {9, 9, 9, 9, 9, 9, 9, 9};

/* An allocator that counts calls and live blocks, and fails when `budget`
 * reaches 0 (a negative budget never fails). */
typedef struct counting {
    int calls; /* allocations and growths */
    int live;
    int budget;
} counting;

static void *counting_realloc(void *ud, void *p, size_t old, size_t n) {
    counting *c = ud;
    (void)old;
    if (n == 0) {
        if (p) c->live--;
        free(p);
        return NULL;
    }
    if (c->budget == 0) return NULL;
    if (c->budget > 0) c->budget--;
    c->calls++;
    void *q = realloc(p, n);
    if (q && !p) c->live++;
    return q;
}

/* ---- payloads ------------------------------------------------------------------------ */

typedef struct payload {
    uint8_t *b;
    size_t n;
} payload;

/* Spans and metrics as the recorder writes them, under the fixture's context. */
static payload recorded_payload(void) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    ptel_recorder_options ro;
    ptel_recorder_options_init(&ro);
    ro.clock.monotonic_ns = fx_mono;
    ro.clock.realtime_ns = fx_real;
    ro.clock.ud = &f;
    ptel_recorder *rec = NULL;
    CHECK_EQ_INT(ptel_recorder_new(&rec, ptel_invocation_context(inv), &ro), 0);
    payload out = {NULL, 0};
    if (!rec) {
        ptel_invocation_free(inv);
        return out;
    }
    ptel_attr attrs[3] = {
        {{"http.route", 10}, {PTEL_VALUE_STRING, 0, 0, 0, {"/v1/x", 5}, NULL, NULL}},
        {{"retry", 5}, {PTEL_VALUE_INT, 0, 3, 0, {NULL, 0}, NULL, NULL}},
        {{"ok", 2}, {PTEL_VALUE_BOOL, 0, 1, 0, {NULL, 0}, NULL, NULL}},
    };
    for (int k = 0; k < 20; k++) {
        ptel_span *s = NULL;
        CHECK_EQ_INT(ptel_span_start(&s, rec, NULL, "work", 4, PTEL_SPAN_KIND_CLIENT, 0), 0);
        CHECK_EQ_INT(ptel_span_set_attributes(s, attrs, 3), 0);
        CHECK_EQ_INT(ptel_span_add_event(s, "e", 1, 0, attrs, 2), 0);
        f.mono += 10;
        CHECK_EQ_INT(ptel_span_end(s, 0), 0);
    }
    ptel_metric_options mo;
    ptel_metric_options_init(&mo);
    mo.kind = PTEL_METRIC_COUNTER;
    mo.number_type = PTEL_NUMBER_INT;
    mo.name = (ptel_str){"calls", 5};
    ptel_metric *m = NULL;
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &mo), 0);
    CHECK_EQ_INT(ptel_metric_record_int(m, 2, attrs, 2, NULL), 0);
    ptel_metric_options_init(&mo);
    mo.kind = PTEL_METRIC_HISTOGRAM;
    mo.name = (ptel_str){"latency", 7};
    mo.unit = (ptel_str){"s", 1};
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &mo), 0);
    CHECK_EQ_INT(ptel_metric_record_double(m, 0.5, NULL, 0, NULL), 0);
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_EQ_INT(ptel_recorder_finish(rec, &p, &n), 0);
    out.b = malloc(n);
    memcpy(out.b, p, n);
    out.n = n;
    ptel_recorder_free(rec);
    ptel_invocation_free(inv);
    return out;
}

/* Spans the host changes or drops: a reserved key (modified), an unknown
 * parent (dropped), a duplicate id (dropped), an open span (closed). */
static payload changed_payload(void) {
    pb p, s;
    fx_payload(&p);
    fx_span(&s, S1, FX_INV, "a", T(10), T(20));
    pb_attr_str(&s, 9, "service.name", "x");
    pb_attr_str(&s, 9, "k", "v");
    pb_msg(&p, 2, &s);
    fx_span(&s, S2, S9, "b", T(10), T(20));
    pb_msg(&p, 2, &s);
    fx_span(&s, S1, FX_INV, "c", T(10), T(20));
    pb_msg(&p, 2, &s);
    fx_span(&s, S3, S1, "d", T(10), 0);
    pb_msg(&p, 4, &s);
    payload out = {p.b, p.n};
    return out;
}

static payload malformed_payload(void) {
    static const uint8_t bad[] = {0x08, 0x01, 0x12, 0x05, 0x0a};
    payload out = {malloc(sizeof bad), sizeof bad};
    memcpy(out.b, bad, sizeof bad);
    return out;
}

/* ---- outcomes ------------------------------------------------------------------------- */

/* Everything an invocation hands out. */
typedef struct outcome {
    int rc;
    ptel_report rep;
    uint8_t *traces;
    size_t tn;
    uint8_t *metrics;
    size_t mn;
    uint8_t ctx[512];
    size_t ctx_len;
} outcome;

static void outcome_free(outcome *o) {
    free(o->traces);
    free(o->metrics);
    memset(o, 0, sizeof *o);
}

/* End `inv` (just begun or reset with the fixture at mono 5000) with `p`
 * and collect the results. */
static void finish(ptel_invocation *inv, fx *f, const payload *p, outcome *out) {
    memset(out, 0, sizeof *out);
    CHECK_EQ_INT(
        ptel_context_encode(ptel_invocation_context(inv), out->ctx, sizeof out->ctx, &out->ctx_len),
        0);
    f->mono += 1000000;
    out->rc = ptel_invocation_end(inv, p->b, p->n, PTEL_OUTCOME_ERROR, "boom", 4, &out->rep, NULL);
    out->traces = fx_export_traces(inv, NULL, &out->tn);
    out->metrics = fx_export_metrics(inv, NULL, &out->mn);
}

static void fresh(const payload *p, const ptel_host_policy *pol, outcome *out) {
    ptel_invocation_options o;
    fx f;
    fx_options(&o, &f, pol);
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    if (!inv) return;
    finish(inv, &f, p, out);
    ptel_invocation_free(inv);
}

static void reused(ptel_invocation *inv, fx *f, const payload *p, const ptel_host_policy *pol,
                   const ptel_allocator *alloc, outcome *out) {
    ptel_invocation_options o;
    fx_options(&o, f, pol);
    if (alloc) o.allocator = *alloc;
    CHECK_EQ_INT(ptel_invocation_reset(inv, &o, NULL), 0);
    finish(inv, f, p, out);
}

/* Equal byte strings (either may be NULL when empty). */
static bool same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
    return an == bn && (!an || memcmp(a, b, an) == 0);
}

static void expect_same(const outcome *a, const outcome *b) {
    CHECK_EQ_INT(a->rc, b->rc);
    CHECK(memcmp(&a->rep, &b->rep, sizeof a->rep) == 0);
    CHECK(same_bytes(a->traces, a->tn, b->traces, b->tn));
    CHECK(same_bytes(a->metrics, a->mn, b->metrics, b->mn));
    CHECK_BYTES(a->ctx, a->ctx_len, b->ctx, b->ctx_len);
}

/* ---- tests ---------------------------------------------------------------------------- */

/* Reset through payloads of every kind, twice over: each result equals a
 * fresh invocation's, byte for byte; once warm, nothing is allocated. */
static void t_reset_matches_fresh(void) {
    payload ps[4] = {recorded_payload(), changed_payload(), {NULL, 0}, malformed_payload()};
    outcome want[4];
    for (int k = 0; k < 4; k++) fresh(&ps[k], NULL, &want[k]);
    CHECK_EQ_INT(want[0].rep.spans_accepted, 20);
    CHECK_EQ_INT(want[0].rep.metrics_accepted, 2);
    CHECK_EQ_INT(want[1].rep.spans_modified, 2);
    CHECK_EQ_INT(want[1].rep.spans_dropped, 2);
    CHECK_EQ_INT(want[3].rc, PTEL_E_REJECTED);

    counting ca = {0, 0, -1};
    ptel_allocator alloc = {counting_realloc, &ca};
    ptel_invocation_options o;
    fx f;
    fx_options(&o, &f, NULL);
    o.allocator = alloc;
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    if (!inv) return;
    int warm_calls = 0;
    for (int round = 0; round < 3; round++) {
        if (round == 2) warm_calls = ca.calls;
        for (int k = 0; k < 4; k++) {
            outcome got;
            reused(inv, &f, &ps[k], NULL, &alloc, &got);
            expect_same(&got, &want[k]);
            outcome_free(&got);
        }
    }
    CHECK_EQ_INT(ca.calls, warm_calls); /* the third round allocated nothing */
    CHECK(ca.live > 0);
    ptel_invocation_free(inv);
    CHECK_EQ_INT(ca.live, 0);
    for (int k = 0; k < 4; k++) {
        outcome_free(&want[k]);
        free(ps[k].b);
    }
}

/* A reset with another policy takes effect (limits, reserved keys), and
 * the policy of the previous invocation does not linger. */
static void t_reset_policy(void) {
    payload p = changed_payload();
    static const ptel_str mine[1] = {{"k", 1}};
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.reserved_keys = mine;
    pol.reserved_key_count = 1;
    pol.limits.span_count = 1;
    outcome want_custom, want_default;
    fresh(&p, &pol, &want_custom);
    fresh(&p, NULL, &want_default);
    CHECK_EQ_INT(want_custom.rep.reasons[PTEL_REASON_RESERVED_KEY], 1);
    CHECK_EQ_INT(want_custom.rep.reasons[PTEL_REASON_SPAN_COUNT], 3);
    CHECK_EQ_INT(want_default.rep.reasons[PTEL_REASON_SPAN_COUNT], 0);

    fx f;
    ptel_invocation_options o;
    fx_options(&o, &f, NULL);
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    if (!inv) return;
    for (int k = 0; k < 4; k++) {
        outcome got;
        reused(inv, &f, &p, k % 2 ? NULL : &pol, NULL, &got);
        expect_same(&got, k % 2 ? &want_default : &want_custom);
        outcome_free(&got);
    }
    ptel_invocation_free(inv);
    outcome_free(&want_custom);
    outcome_free(&want_default);
    free(p.b);
}

/* Bad options leave the invocation as it was; reset works before end. */
static void t_reset_bad_options(void) {
    payload p = changed_payload();
    outcome want;
    fresh(&p, NULL, &want);
    fx f;
    ptel_invocation_options o;
    fx_options(&o, &f, NULL);
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    if (!inv) return;
    /* Reset before end: the first invocation is simply abandoned. */
    outcome got;
    reused(inv, &f, &p, NULL, NULL, &got);
    expect_same(&got, &want);

    ptel_diag diag = {0, 0, 0, NULL};
    CHECK_EQ_INT(ptel_invocation_reset(NULL, &o, &diag), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_invocation_reset(inv, NULL, &diag), PTEL_E_INVALID_ARGUMENT);
    ptel_invocation_options bad = o;
    bad.version = 99;
    CHECK_EQ_INT(ptel_invocation_reset(inv, &bad, &diag), PTEL_E_INVALID_ARGUMENT);
    bad = o;
    bad.plugin_name = (ptel_str){"\xff", 1};
    CHECK_EQ_INT(ptel_invocation_reset(inv, &bad, &diag), PTEL_E_UTF8);
    bad = o;
    bad.decision = 7;
    CHECK_EQ_INT(ptel_invocation_reset(inv, &bad, &diag), PTEL_E_INVALID_ARGUMENT);
    /* Still the ended invocation: same exports, end refused. */
    size_t tn;
    uint8_t *traces = fx_export_traces(inv, NULL, &tn);
    CHECK(same_bytes(traces, tn, want.traces, want.tn));
    free(traces);
    CHECK_EQ_INT(ptel_invocation_end(inv, NULL, 0, PTEL_OUTCOME_OK, NULL, 0, NULL, NULL),
                 PTEL_E_STATE);
    outcome_free(&got);
    outcome_free(&want);
    ptel_invocation_free(inv);
    free(p.b);
}

/* Another allocator: the old one gets all its memory back at the reset. */
static void t_reset_allocator_switch(void) {
    payload p = recorded_payload();
    outcome want;
    fresh(&p, NULL, &want);
    counting a = {0, 0, -1}, b = {0, 0, -1};
    ptel_allocator aa = {counting_realloc, &a}, ab = {counting_realloc, &b};
    fx f;
    ptel_invocation_options o;
    fx_options(&o, &f, NULL);
    o.allocator = aa;
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    if (!inv) return;
    outcome got;
    reused(inv, &f, &p, NULL, &aa, &got);
    expect_same(&got, &want);
    outcome_free(&got);
    int a_live = a.live;
    CHECK(a_live > 1); /* the invocation, its arena, its scratch */
    reused(inv, &f, &p, NULL, &ab, &got);
    expect_same(&got, &want);
    outcome_free(&got);
    CHECK_EQ_INT(a.live, 1); /* only the invocation object itself */
    CHECK(b.live > 0);
    ptel_invocation_free(inv);
    CHECK_EQ_INT(a.live, 0);
    CHECK_EQ_INT(b.live, 0);
    outcome_free(&want);
    free(p.b);
}

/* Out of memory during a reset: the invocation holds nothing until the
 * next reset succeeds, and every call on it is refused cleanly. */
static void t_reset_out_of_memory(void) {
    payload p = changed_payload();
    outcome want;
    fresh(&p, NULL, &want);
    counting a = {0, 0, -1}, broke = {0, 0, 0};
    ptel_allocator aa = {counting_realloc, &a}, ab = {counting_realloc, &broke};
    fx f;
    ptel_invocation_options o;
    fx_options(&o, &f, NULL);
    o.allocator = aa;
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    if (!inv) return;
    o.allocator = ab;
    ptel_diag diag = {0, 0, 0, NULL};
    CHECK_EQ_INT(ptel_invocation_reset(inv, &o, &diag), PTEL_E_NOMEM);
    CHECK_EQ_INT(diag.status, PTEL_E_NOMEM);
    CHECK(ptel_invocation_context(inv) == NULL);
    ptel_span_context sc;
    memset(&sc, 0xff, sizeof sc);
    ptel_invocation_span_context(inv, &sc);
    CHECK(ptel__is_zero(sc.trace_id, 16) && ptel__is_zero(sc.span_id, 8));
    CHECK_EQ_INT(ptel_invocation_end(inv, p.b, p.n, PTEL_OUTCOME_OK, NULL, 0, NULL, NULL),
                 PTEL_E_STATE);
    uint8_t buf[64];
    size_t n = 1;
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, NULL, buf, sizeof buf, &n), PTEL_E_STATE);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(ptel_invocation_export_metrics(inv, NULL, buf, sizeof buf, &n), PTEL_E_STATE);
    CHECK_EQ_INT(ptel_invocation_export_scope_spans(inv, NULL, buf, sizeof buf, &n), PTEL_E_STATE);
    ptel_aggregator *agg = NULL;
    CHECK_EQ_INT(ptel_aggregator_new(&agg, NULL), 0);
    CHECK_EQ_INT(ptel_aggregator_add(agg, inv), PTEL_E_STATE);
    ptel_aggregator_free(agg);
    CHECK_EQ_INT(a.live, 1); /* the old arena went back */
    CHECK_EQ_INT(broke.live, 0);
    /* A reset that can allocate brings it back. */
    outcome got;
    reused(inv, &f, &p, NULL, &aa, &got);
    expect_same(&got, &want);
    outcome_free(&got);
    ptel_invocation_free(inv);
    CHECK_EQ_INT(a.live, 0);
    outcome_free(&want);
    free(p.b);
}

/* Warm memory is bounded by the largest invocation, not their number:
 * a long run of resets keeps the same live blocks. */
static void t_reset_steady(void) {
    payload p = recorded_payload();
    counting a = {0, 0, -1};
    ptel_allocator aa = {counting_realloc, &a};
    fx f;
    ptel_invocation_options o;
    fx_options(&o, &f, NULL);
    o.allocator = aa;
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    if (!inv) return;
    outcome got;
    reused(inv, &f, &p, NULL, &aa, &got);
    outcome_free(&got);
    int live = a.live, calls = a.calls;
    for (int k = 0; k < 200; k++) {
        fx_options(&o, &f, NULL);
        o.allocator = aa;
        CHECK_EQ_INT(ptel_invocation_reset(inv, &o, NULL), 0);
        f.mono += 1000000;
        ptel_report rep;
        CHECK_EQ_INT(ptel_invocation_end(inv, p.b, p.n, PTEL_OUTCOME_OK, NULL, 0, &rep, NULL), 0);
        CHECK_EQ_INT(rep.spans_accepted, 20);
    }
    CHECK_EQ_INT(a.live, live);
    CHECK_EQ_INT(a.calls, calls);
    ptel_invocation_free(inv);
    CHECK_EQ_INT(a.live, 0);
    free(p.b);
}

int main(void) {
    RUN(t_reset_matches_fresh);
    RUN(t_reset_policy);
    RUN(t_reset_bad_options);
    RUN(t_reset_allocator_switch);
    RUN(t_reset_out_of_memory);
    RUN(t_reset_steady);
    return test_summary();
}
