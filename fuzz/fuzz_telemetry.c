/* Fuzz target: host validation of PluginTelemetry. The input is the payload,
 * ended under two policies (defaults with clamping; small limits with
 * rejection). Invariants:
 * - ptel_invocation_end never fails but with PTEL_E_REJECTED, and then keeps
 *   nothing and counts exactly one whole-payload reason;
 * - report counts are consistent with the payload and the export;
 * - export size queries agree with the writes and every export decodes
 *   into well-formed fields, spans carrying the invocation's trace id;
 * - validation is idempotent: the exported spans and metrics, fed back as a
 *   payload, are accepted with nothing dropped or changed;
 * - the aggregator folds the invocation and exports well-formed requests. */
#include <ptel/ptel.h>

#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define TLF_CHECK(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

static const uint8_t tlf_trace[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                      0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};

typedef struct tlf_clock {
    uint64_t mono;
} tlf_clock;

static uint64_t tlf_mono(void *ud) { return ((tlf_clock *)ud)->mono; }
static uint64_t tlf_real(void *ud) {
    (void)ud;
    return 1000000000000ull;
}

/* Every LEN field of a request, recursively where it is a message we know:
 * returns false on any wire error. */
static bool tlf_walk(const uint8_t *p, size_t n) {
    ptel__reader r;
    ptel__reader_init(&r, p, p, n);
    ptel__field f;
    int rc;
    while ((rc = ptel__reader_next(&r, &f, NULL)) > 0) {
    }
    return rc == 0;
}

/* Visit the `number` fields of p[0..n) (must be LEN). */
typedef void (*tlf_visit_fn)(void *ud, const uint8_t *p, size_t n);

static uint32_t tlf_each(const uint8_t *p, size_t n, uint32_t number, tlf_visit_fn fn, void *ud) {
    ptel__reader r;
    ptel__reader_init(&r, p, p, n);
    ptel__field f;
    uint32_t count = 0;
    int rc;
    while ((rc = ptel__reader_next(&r, &f, NULL)) > 0) {
        if (f.number != number) continue;
        TLF_CHECK(f.wire_type == PTEL__WT_LEN);
        count++;
        if (fn) fn(ud, f.data, f.len);
    }
    TLF_CHECK(rc == 0);
    return count;
}

/* Collects spans or metrics into a new PluginTelemetry payload. */
typedef struct tlf_collect {
    uint8_t *buf;
    size_t len;
    size_t cap;
    uint32_t field;
    uint32_t count;
} tlf_collect;

static void tlf_append(tlf_collect *c, const uint8_t *p, size_t n) {
    size_t need = c->len + n + 16;
    if (need > c->cap) {
        c->cap = need * 2;
        c->buf = realloc(c->buf, c->cap);
        TLF_CHECK(c->buf != NULL);
    }
    uint8_t *w = c->buf + c->len;
    *w++ = (uint8_t)(c->field << 3 | PTEL__WT_LEN);
    w = ptel__put_varint(w, n);
    if (n) memcpy(w, p, n);
    c->len = (size_t)(w - c->buf) + n;
    c->count++;
}

static void tlf_span(void *ud, const uint8_t *p, size_t n) {
    TLF_CHECK(tlf_walk(p, n));
    /* The trace id is the invocation's; the span id 8 non-zero bytes. */
    ptel__reader r;
    ptel__reader_init(&r, p, p, n);
    ptel__field f;
    bool trace = false, id = false;
    while (ptel__reader_next(&r, &f, NULL) > 0) {
        if (f.number == 1) trace = f.len == 16 && memcmp(f.data, tlf_trace, 16) == 0;
        if (f.number == 2) id = f.len == 8 && !ptel__is_zero(f.data, 8);
    }
    TLF_CHECK(trace && id);
    if (ud) tlf_append(ud, p, n);
}

static void tlf_metric(void *ud, const uint8_t *p, size_t n) {
    TLF_CHECK(tlf_walk(p, n));
    if (ud) tlf_append(ud, p, n);
}

typedef struct tlf_ctx {
    tlf_collect *spans;
    tlf_collect *metrics;
    uint32_t nspans;
    uint32_t nmetrics;
} tlf_ctx;

static void tlf_scope_spans(void *ud, const uint8_t *p, size_t n) {
    tlf_ctx *c = ud;
    c->nspans += tlf_each(p, n, 2, tlf_span, c->spans);
}

static void tlf_scope_metrics(void *ud, const uint8_t *p, size_t n) {
    tlf_ctx *c = ud;
    c->nmetrics += tlf_each(p, n, 2, tlf_metric, c->metrics);
}

static void tlf_resource_spans(void *ud, const uint8_t *p, size_t n) {
    tlf_each(p, n, 2, tlf_scope_spans, ud);
}

static void tlf_resource_metrics(void *ud, const uint8_t *p, size_t n) {
    tlf_each(p, n, 2, tlf_scope_metrics, ud);
}

/* Export with a size query; returns a malloc'd request (NULL when empty). */
static uint8_t *tlf_export(const ptel_invocation *inv, const ptel_export_options *o, int metrics,
                           size_t *len) {
    size_t n = 0, m = 0;
    int rc = metrics ? ptel_invocation_export_metrics(inv, o, NULL, 0, &n)
                     : ptel_invocation_export_traces(inv, o, NULL, 0, &n);
    *len = n;
    if (!n) {
        TLF_CHECK(rc == 0);
        return NULL;
    }
    TLF_CHECK(rc == PTEL_E_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(n);
    TLF_CHECK(buf != NULL);
    rc = metrics ? ptel_invocation_export_metrics(inv, o, buf, n, &m)
                 : ptel_invocation_export_traces(inv, o, buf, n, &m);
    TLF_CHECK(rc == 0 && m == n);
    return buf;
}

static ptel_invocation *tlf_begin(const ptel_host_policy *pol, tlf_clock *clk) {
    static const uint8_t parent[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    static const uint8_t inv_id[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x01};
    ptel_invocation_options o;
    ptel_invocation_options_init(&o);
    memcpy(o.parent.trace_id, tlf_trace, 16);
    memcpy(o.parent.span_id, parent, 8);
    o.parent.trace_flags = 1;
    memcpy(o.span_id, inv_id, 8);
    o.plugin_name = (ptel_str){"fuzz", 4};
    o.plugin_version = (ptel_str){"1", 1};
    o.clock.monotonic_ns = tlf_mono;
    o.clock.realtime_ns = tlf_real;
    o.clock.ud = clk;
    o.policy = pol;
    clk->mono = 1000;
    ptel_invocation *inv = NULL;
    TLF_CHECK(ptel_invocation_begin(&inv, &o, NULL) == 0);
    clk->mono += 2000000000u; /* the invocation lasts 2 s */
    return inv;
}

/* Count the spans and metrics at the top of a payload (when it decodes). */
static bool tlf_top(const uint8_t *p, size_t n, uint32_t *spans, uint32_t *metrics) {
    ptel__reader r;
    ptel__reader_init(&r, p, p, n);
    ptel__field f;
    int rc;
    *spans = *metrics = 0;
    while ((rc = ptel__reader_next(&r, &f, NULL)) > 0) {
        if (f.number == 2 || f.number == 4) (*spans)++;
        if (f.number == 3) (*metrics)++;
    }
    return rc == 0;
}

static uint32_t tlf_reasons(const ptel_report *r) {
    uint64_t n = 0;
    for (int k = 0; k < PTEL_REASON_COUNT; k++) n += r->reasons[k];
    return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

static void tlf_run(const uint8_t *data, size_t size, const ptel_host_policy *pol, bool again) {
    tlf_clock clk;
    ptel_invocation *inv = tlf_begin(pol, &clk);
    ptel_report rep;
    ptel_diag diag = {0, 0, 0, NULL};
    int rc = ptel_invocation_end(inv, data, size, PTEL_OUTCOME_TIMEOUT, NULL, 0, &rep, &diag);
    TLF_CHECK(rc == 0 || rc == PTEL_E_REJECTED);
    TLF_CHECK(rep.status == rc);
    uint32_t reasons = tlf_reasons(&rep);
    TLF_CHECK((rep.first_reason < 0) == (reasons == 0));
    if (rc) {
        TLF_CHECK(diag.status == PTEL_E_REJECTED && diag.reason != NULL);
        TLF_CHECK(reasons == 1);
        TLF_CHECK(rep.reasons[PTEL_REASON_MALFORMED] + rep.reasons[PTEL_REASON_TOO_LARGE] +
                      rep.reasons[PTEL_REASON_VERSION] ==
                  1);
        TLF_CHECK(rep.spans_accepted == 0 && rep.metrics_accepted == 0);
    } else {
        uint32_t spans, metrics;
        TLF_CHECK(tlf_top(data, size, &spans, &metrics));
        TLF_CHECK(rep.spans_accepted + rep.spans_dropped == spans);
        TLF_CHECK(rep.metrics_accepted + rep.metrics_dropped == metrics);
        TLF_CHECK(rep.spans_modified <= rep.spans_accepted);
        TLF_CHECK(rep.open_spans <= rep.spans_accepted);
        TLF_CHECK(reasons >= rep.spans_dropped);
        TLF_CHECK(rep.reasons[PTEL_REASON_OPEN_SPAN] == rep.open_spans);
        TLF_CHECK(rep.spans_accepted <= pol->limits.span_count || pol->limits.span_count == 0);
    }
    char json[4096];
    size_t jn = 0;
    int jr = ptel_report_to_json(&rep, json, sizeof json, &jn);
    TLF_CHECK(jr == 0 || (jr == PTEL_E_BUFFER_TOO_SMALL && jn >= sizeof json));

    /* Exports: well-formed, counts as reported; collect the plugin's parts. */
    ptel_export_options eo;
    ptel_export_options_init(&eo);
    eo.include_invocation_span = false;
    tlf_collect spans = {NULL, 0, 0, 2, 0}, metrics = {NULL, 0, 0, 3, 0};
    tlf_ctx ctx = {&spans, &metrics, 0, 0};
    size_t tn, mn;
    uint8_t *traces = tlf_export(inv, &eo, 0, &tn);
    uint8_t *mreq = tlf_export(inv, &eo, 1, &mn);
    if (traces) TLF_CHECK(tlf_each(traces, tn, 1, tlf_resource_spans, &ctx) == 1);
    if (mreq) TLF_CHECK(tlf_each(mreq, mn, 1, tlf_resource_metrics, &ctx) == 1);
    TLF_CHECK(ctx.nspans == rep.spans_accepted);
    TLF_CHECK(ctx.nmetrics == rep.metrics_accepted);
    /* With the invocation span: one more span, in its own scope. */
    size_t an;
    uint8_t *all = tlf_export(inv, NULL, 0, &an);
    TLF_CHECK(all != NULL);
    tlf_ctx ctx2 = {NULL, NULL, 0, 0};
    TLF_CHECK(tlf_each(all, an, 1, tlf_resource_spans, &ctx2) == 1);
    TLF_CHECK(ctx2.nspans == rep.spans_accepted + 1);
    free(all);

    /* The aggregator takes whatever was accepted. */
    ptel_aggregator *agg = NULL;
    TLF_CHECK(ptel_aggregator_new(&agg, NULL) == 0);
    TLF_CHECK(ptel_aggregator_add(agg, inv) == 0);
    TLF_CHECK(ptel_aggregator_add(agg, inv) == 0);
    for (uint32_t t = 1; t <= 2; t++) {
        size_t n = 0, m = 0;
        int er = ptel_aggregator_export(agg, NULL, t, NULL, 0, &n);
        TLF_CHECK(er == (n ? PTEL_E_BUFFER_TOO_SMALL : 0));
        TLF_CHECK((n == 0) == (rep.metrics_accepted == 0));
        if (!n) continue;
        uint8_t *buf = malloc(n);
        TLF_CHECK(buf && ptel_aggregator_export(agg, NULL, t, buf, n, &m) == 0 && m == n);
        tlf_ctx ctx3 = {NULL, NULL, 0, 0};
        TLF_CHECK(tlf_each(buf, n, 1, tlf_resource_metrics, &ctx3) == 1);
        free(buf);
    }
    ptel_aggregator_free(agg);

    /* Idempotence: what was exported validates again without change. */
    if (again && (spans.count || metrics.count)) {
        tlf_collect payload = {NULL, 0, 0, 0, 0};
        uint8_t version[2] = {0x08, 0x01};
        payload.cap = 2 + spans.len + metrics.len;
        payload.buf = malloc(payload.cap);
        TLF_CHECK(payload.buf != NULL);
        memcpy(payload.buf, version, 2);
        if (spans.len) memcpy(payload.buf + 2, spans.buf, spans.len);
        if (metrics.len) memcpy(payload.buf + 2 + spans.len, metrics.buf, metrics.len);
        payload.len = 2 + spans.len + metrics.len;
        ptel_host_policy big = *pol;
        big.limits.payload_bytes = 0; /* the re-encoding may be longer than the input */
        tlf_clock clk2;
        ptel_invocation *inv2 = tlf_begin(&big, &clk2);
        ptel_report rep2;
        TLF_CHECK(ptel_invocation_end(inv2, payload.buf, payload.len, PTEL_OUTCOME_TIMEOUT, NULL, 0,
                                      &rep2, NULL) == 0);
        TLF_CHECK(rep2.spans_accepted == rep.spans_accepted);
        TLF_CHECK(rep2.spans_dropped == 0 && rep2.spans_modified == 0);
        TLF_CHECK(rep2.metrics_accepted == rep.metrics_accepted && rep2.metrics_dropped == 0);
        TLF_CHECK(rep2.points_accepted == rep.points_accepted && rep2.points_dropped == 0);
        TLF_CHECK(tlf_reasons(&rep2) == 0);
        ptel_invocation_free(inv2);
        free(payload.buf);
    }
    free(spans.buf);
    free(metrics.buf);
    free(traces);
    free(mreq);
    ptel_invocation_free(inv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    tlf_run(data, size, &pol, true);
    /* Small limits, rejecting times, record-only spans accepted. */
    pol.limits.attribute_count = 3;
    pol.limits.attribute_value_length = 8;
    pol.limits.attribute_depth = 2;
    pol.limits.event_count = 2;
    pol.limits.link_count = 2;
    pol.limits.attributes_per_event = 2;
    pol.limits.attributes_per_link = 2;
    pol.limits.span_count = 4;
    pol.limits.metric_count = 3;
    pol.limits.metric_cardinality = 2;
    pol.limits.payload_bytes = 4096;
    pol.time_policy = PTEL_TIME_REJECT;
    pol.time_slack_ns = 0;
    tlf_run(data, size, &pol, true);
    return 0;
}
