/* Host side end to end: the invocation span and PluginContext, exact
 * export request bytes (checked with protoc --decode_raw when written),
 * size queries, splicing, the report as JSON, the reason table, and the
 * recorder's output through the validator. */
#include "test_host_util.h"

#define T(x) (FX_T0 + (x))

static const uint8_t S1[8] = {1, 1, 1, 1, 1, 1, 1, 1};

/* ExportTraceServiceRequest: Resource{service.name=host}, the host scope
 * ("ptel" 0.1.0) with the invocation span (plugin.name/hook/version/outcome,
 * flags 0x301: sampled, parent remote), and the plugin scope ("demo" 1.0.0)
 * with the plugin's span copied verbatim. `protoc --decode_raw` reads it as
 * 1 { 1 {...} 2 { 1 {1: "ptel" 2: "0.1.0"} 2 {...} } 2 { 1 {1: "demo" ...} 2 {...} } }. */
static const char EXPECTED_TRACES[] =
    "0ac7020a180a160a0c736572766963652e6e616d6512060a04686f737412ce01"
    "0a0d0a047074656c1205302e312e3012bc010a104bf92f3577b34da6a3ce929d"
    "0e0e47361208aaaaaaaaaaaaaa01220800f067aa0ba902b72a0e706c7567696e"
    "2e657865637574653001390010a5d4e8000000414052b4d4e80000004a150a0b"
    "706c7567696e2e6e616d6512060a0464656d6f4a200a0b706c7567696e2e686f"
    "6f6b12110a0f746f6f6c5f7072655f696e766f6b654a190a0e706c7567696e2e"
    "76657273696f6e12070a05312e302e304a160a0e706c7567696e2e6f7574636f"
    "6d6512040a026f6b850101030000125a0a0d0a0464656d6f1205312e302e3012"
    "490a104bf92f3577b34da6a3ce929d0e0e4736120801010101010101012208aa"
    "aaaaaaaaaaaa012a0d706c7567696e2e68616e646c653001396410a5d4e80000"
    "0041c810a5d4e8000000";

static const ptel_attr RESOURCE[1] = {
    {{"service.name", 12}, {PTEL_VALUE_STRING, 0, 0, 0, {"host", 4}, NULL, NULL}}};

static void export_options(ptel_export_options *o) {
    ptel_export_options_init(o);
    o->resource_attributes = RESOURCE;
    o->resource_attribute_count = 1;
    o->host_scope_version = (ptel_str){"0.1.0", 5};
}

/* One plugin span "plugin.handle" under the invocation span. */
static void small_payload(pb *p) {
    pb s;
    fx_payload(p);
    fx_span(&s, S1, FX_INV, "plugin.handle", T(100), T(200));
    pb_msg(p, 2, &s);
}

static void t_exact_traces(void) {
    uint8_t want[400];
    size_t want_len = test_unhex(want, EXPECTED_TRACES);
    CHECK_EQ_INT(want_len, 330);
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    pb p;
    small_payload(&p);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
    ptel_export_options o;
    export_options(&o);

    /* Size query, then too small by one (nothing written), then exact. */
    size_t n = 0;
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, &o, NULL, 0, &n), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, want_len);
    uint8_t buf[400];
    memset(buf, 0xee, sizeof buf);
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, &o, buf, want_len - 1, &n),
                 PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, want_len);
    CHECK_EQ_INT(buf[0], 0xee);
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, &o, buf, want_len, &n), 0);
    CHECK_EQ_INT(n, want_len);
    CHECK_MEM(buf, want, want_len);
    CHECK(pb_well_formed(buf, n));

    /* The splice output is the ResourceSpans body after the Resource, and
     * wrapping it gives the same request. */
    uint8_t sp[400];
    size_t sp_len = 0;
    CHECK_EQ_INT(ptel_invocation_export_scope_spans(inv, &o, sp, sizeof sp, &sp_len), 0);
    CHECK_EQ_INT(sp_len, want_len - 29);
    CHECK_MEM(sp, want + 29, sp_len);
    uint8_t wrapped[400];
    size_t wl = 0;
    CHECK_EQ_INT(ptel_export_traces_wrap(&o, sp, sp_len, NULL, 0, &wl), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(wl, want_len);
    CHECK_EQ_INT(ptel_export_traces_wrap(&o, sp, sp_len, wrapped, sizeof wrapped, &wl), 0);
    CHECK_EQ_INT(wl, want_len);
    CHECK_MEM(wrapped, want, want_len);
    CHECK_EQ_INT(ptel_export_traces_wrap(&o, NULL, 0, wrapped, sizeof wrapped, &wl), 0);
    CHECK_EQ_INT(wl, 0);

    /* Without the invocation span, only the plugin scope remains. */
    o.include_invocation_span = false;
    CHECK_EQ_INT(ptel_invocation_export_scope_spans(inv, &o, sp, sizeof sp, &sp_len), 0);
    CHECK_EQ_INT(sp_len, 92);
    CHECK_MEM(sp, want + 29 + 209, 92);

    /* A schema URL goes last in ResourceSpans. */
    export_options(&o);
    o.resource_schema_url = (ptel_str){"s", 1};
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, &o, buf, sizeof buf, &n), 0);
    CHECK_EQ_INT(n, want_len + 3);
    CHECK_EQ_INT(buf[1], 0xca); /* ResourceSpans length 0x147 + 3 */
    CHECK_MEM(buf + n - 3, "\x1a\x01s", 3);
    pb_free(&p);
    ptel_invocation_free(inv);
}

static void t_export_errors(void) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    size_t n = 7;
    uint8_t buf[8];
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, NULL, buf, sizeof buf, &n), PTEL_E_STATE);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(ptel_invocation_export_metrics(inv, NULL, buf, sizeof buf, &n), PTEL_E_STATE);
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, NULL, buf, sizeof buf, NULL),
                 PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_invocation_end(inv, NULL, 0, PTEL_OUTCOME_OK, NULL, 0, NULL, NULL), 0);
    ptel_export_options o;
    ptel_export_options_init(&o);
    o.version = 99;
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, &o, buf, sizeof buf, &n),
                 PTEL_E_INVALID_ARGUMENT);
    ptel_export_options_init(&o);
    static const ptel_attr bad[1] = {
        {{"k", 1}, {PTEL_VALUE_STRING, 0, 0, 0, {"\xff", 1}, NULL, NULL}}};
    o.resource_attributes = bad;
    o.resource_attribute_count = 1;
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, &o, buf, sizeof buf, &n), PTEL_E_UTF8);
    /* No metrics: an empty request, nothing to send. */
    CHECK_EQ_INT(ptel_invocation_export_metrics(inv, NULL, NULL, 0, &n), 0);
    CHECK_EQ_INT(n, 0);
    ptel_invocation_free(inv);
    CHECK_EQ_INT(ptel_invocation_export_traces(NULL, NULL, buf, sizeof buf, &n),
                 PTEL_E_INVALID_ARGUMENT);
}

/* Two invocations batched into one request through the splice entry point. */
static void t_batch_splice(void) {
    ptel_export_options o;
    export_options(&o);
    uint8_t spliced[1024];
    size_t total = 0;
    for (int k = 0; k < 2; k++) {
        fx f;
        ptel_invocation *inv = fx_begin(&f, NULL);
        pb p;
        small_payload(&p);
        CHECK_EQ_INT(fx_end(inv, &p, NULL), 0);
        size_t n = 0;
        CHECK_EQ_INT(ptel_invocation_export_scope_spans(inv, &o, spliced + total,
                                                        sizeof spliced - total, &n),
                     0);
        total += n;
        pb_free(&p);
        ptel_invocation_free(inv);
    }
    uint8_t req[1200];
    size_t n = 0;
    CHECK_EQ_INT(ptel_export_traces_wrap(&o, spliced, total, req, sizeof req, &n), 0);
    static const uint32_t scopes[] = {1, 2, 0}, resources[] = {1, 1, 0}, requests[] = {1, 0};
    CHECK_EQ_INT(pb_count(req, n, requests), 1);
    CHECK_EQ_INT(pb_count(req, n, resources), 1);
    CHECK_EQ_INT(pb_count(req, n, scopes), 4);
}

/* The invocation span's outcome, error type, extra attributes, tracestate. */
static void t_invocation_span(void) {
    static const struct {
        uint32_t outcome;
        const char *error_type;
        const char *want;
    } cases[] = {
        {PTEL_OUTCOME_ERROR, "ValueError", "ValueError"},
        {PTEL_OUTCOME_ERROR, NULL, "_OTHER"},
        {PTEL_OUTCOME_TIMEOUT, NULL, "timeout"},
        {PTEL_OUTCOME_CRASH, NULL, "crash"},
    };
    static const char *const outcome_names[] = {"ok", "error", "timeout", "crash"};
    for (size_t k = 0; k < 4; k++) {
        ptel_invocation_options opts;
        fx f;
        fx_options(&opts, &f, NULL);
        static const ptel_attr extra[1] = {
            {{"plugin.mode", 11}, {PTEL_VALUE_STRING, 0, 0, 0, {"enforce", 7}, NULL, NULL}}};
        opts.attributes = extra;
        opts.attribute_count = 1;
        opts.tracestate = (ptel_str){"vendor=x , ,other=y", 19};
        opts.span_name = (ptel_str){"tool_pre_invoke demo", 20};
        ptel_invocation *inv = NULL;
        CHECK_EQ_INT(ptel_invocation_begin(&inv, &opts, NULL), 0);
        const char *et = cases[k].error_type;
        CHECK_EQ_INT(ptel_invocation_end(inv, NULL, 0, cases[k].outcome, et, et ? strlen(et) : 0,
                                         NULL, NULL),
                     0);
        pb want;
        pb_init(&want);
        pb_bytes(&want, 1, FX_TRACE, 16);
        pb_bytes(&want, 2, FX_INV, 8);
        pb_str(&want, 3, "vendor=x,other=y");
        pb_bytes(&want, 4, FX_PARENT, 8);
        pb_str(&want, 5, "tool_pre_invoke demo");
        pb_uint(&want, 6, 1);
        pb_fixed64(&want, 7, FX_T0);
        pb_fixed64(&want, 8, FX_T0); /* the clock did not move */
        pb_attr_str(&want, 9, "plugin.name", "demo");
        pb_attr_str(&want, 9, "plugin.hook", "tool_pre_invoke");
        pb_attr_str(&want, 9, "plugin.version", "1.0.0");
        pb_attr_str(&want, 9, "plugin.mode", "enforce");
        pb_attr_str(&want, 9, "plugin.outcome", outcome_names[cases[k].outcome]);
        pb_attr_str(&want, 9, "error.type", cases[k].want);
        pb st;
        pb_init(&st);
        pb_uint(&st, 3, 2);
        pb_msg(&want, 15, &st);
        pb_fixed32(&want, 16, 0x301);
        uint8_t buf[600];
        size_t n = 0;
        CHECK_EQ_INT(ptel_invocation_export_scope_spans(inv, NULL, buf, sizeof buf, &n), 0);
        static const uint32_t span_path[] = {2, 2, 0};
        ptel__field fl;
        memset(&fl, 0, sizeof fl);
        CHECK(pb_find(buf, n, span_path, 0, &fl));
        CHECK(fl.len == want.n && memcmp(fl.data, want.b, want.n) == 0);
        pb_free(&want);
        ptel_invocation_free(inv);
    }
}

/* Without a valid parent: a new root trace with the random flag; the
 * PluginContext points at the invocation span. */
static void t_context(void) {
    ptel_invocation_options opts;
    fx f;
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.limits.span_count = 7;
    fx_options(&opts, &f, &pol);
    memset(&opts.parent, 0, sizeof opts.parent);
    memset(opts.span_id, 0, 8);
    opts.decision = PTEL_DECISION_RECORD_ONLY;
    opts.baggage = (ptel_str){"k=v", 3};
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &opts, NULL), 0);
    ptel_span_context sc;
    ptel_invocation_span_context(inv, &sc);
    /* The generator hands out 1, 2, 3, ...: the trace id first, then the span id. */
    static const uint8_t trace[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t span[8] = {17, 18, 19, 20, 21, 22, 23, 24};
    CHECK_MEM(sc.trace_id, trace, 16);
    CHECK_MEM(sc.span_id, span, 8);
    CHECK_EQ_INT(sc.trace_flags, PTEL_TRACE_FLAG_RANDOM); /* not sampled: RECORD_ONLY */
    const ptel_context *ctx = ptel_invocation_context(inv);
    CHECK(ctx != NULL);
    ptel_context_fields cf;
    ptel_context_get(ctx, &cf);
    CHECK_MEM(cf.parent.trace_id, trace, 16);
    CHECK_MEM(cf.parent.span_id, span, 8);
    CHECK_EQ_INT(cf.parent.trace_flags, PTEL_TRACE_FLAG_RANDOM);
    CHECK_EQ_INT(cf.decision, PTEL_DECISION_RECORD_ONLY);
    CHECK_EQ_INT(cf.limits.span_count, 7);
    CHECK_EQ_INT(cf.limits.attribute_count, 128);
    CHECK_EQ_INT(cf.time_base_unix_nano, FX_T0);
    CHECK_STR(cf.plugin_name.ptr, cf.plugin_name.len, "demo");
    CHECK_STR(cf.hook.ptr, cf.hook.len, "tool_pre_invoke");
    CHECK_STR(cf.baggage.ptr, cf.baggage.len, "k=v");
    /* The encoded context decodes to the same span. */
    uint8_t enc[512];
    size_t n = 0;
    CHECK_EQ_INT(ptel_context_encode(ctx, enc, sizeof enc, &n), 0);
    ptel_context *back = NULL;
    CHECK_EQ_INT(ptel_context_decode(&back, enc, n, NULL, NULL), 0);
    ptel_context_get(back, &cf);
    CHECK_MEM(cf.parent.span_id, span, 8);
    ptel_context_free(back);
    ptel_invocation_free(inv);
}

static void t_begin_errors(void) {
    ptel_invocation *inv = (ptel_invocation *)&inv;
    ptel_invocation_options o;
    fx f;
    ptel_diag d = {0, 0, 0, NULL};
    CHECK_EQ_INT(ptel_invocation_begin(&inv, NULL, &d), PTEL_E_INVALID_ARGUMENT);
    CHECK(inv == NULL);
    fx_options(&o, &f, NULL);
    o.version = 2;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), PTEL_E_INVALID_ARGUMENT);
    fx_options(&o, &f, NULL);
    o.decision = 3;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), PTEL_E_INVALID_ARGUMENT);
    fx_options(&o, &f, NULL);
    o.plugin_name = (ptel_str){NULL, 3};
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), PTEL_E_INVALID_ARGUMENT);
    fx_options(&o, &f, NULL);
    o.hook = (ptel_str){"\xc3", 1};
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, &d), PTEL_E_UTF8);
    CHECK_EQ_INT(d.status, PTEL_E_UTF8);
    fx_options(&o, &f, NULL);
    static const ptel_attr empty_key[1] = {
        {{"", 0}, {PTEL_VALUE_INT, 0, 1, 0, {NULL, 0}, NULL, NULL}}};
    o.attributes = empty_key;
    o.attribute_count = 1;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), PTEL_E_INVALID_ARGUMENT);
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.time_policy = 5;
    fx_options(&o, &f, &pol);
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), PTEL_E_INVALID_ARGUMENT);
    CHECK(inv == NULL);
    /* An invalid tracestate is dropped, not an error (W3C). */
    fx_options(&o, &f, NULL);
    o.tracestate = (ptel_str){"UPPER=1", 7};
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    ptel_context_fields cf;
    ptel_context_get(ptel_invocation_context(inv), &cf);
    CHECK_EQ_INT(cf.tracestate.len, 0);
    ptel_invocation_free(inv);
    ptel_invocation_free(NULL);
}

/* ---- report and reasons ------------------------------------------------------------------ */

static void t_report_json(void) {
    ptel_report r;
    memset(&r, 0, sizeof r);
    r.first_reason = -1;
    char buf[1024];
    size_t n = 0;
    CHECK_EQ_INT(ptel_report_to_json(&r, buf, sizeof buf, &n), 0);
    static const char ok[] =
        "{\"status\":\"ok\",\"spans\":{\"accepted\":0,\"dropped\":0,\"modified\":0,\"open\":0},"
        "\"metrics\":{\"accepted\":0,\"dropped\":0},\"points\":{\"accepted\":0,\"dropped\":0},"
        "\"plugin_dropped\":{\"spans\":0,\"metrics\":0,\"points\":0,\"errors\":0},"
        "\"reasons\":{}}";
    CHECK_STR(buf, n, ok);
    CHECK_EQ_INT(strlen(buf), n);

    /* A real report: one span dropped for its trace id, one attribute cut. */
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    pb p, s;
    fx_payload(&p);
    static const uint8_t other[16] = {3};
    pb_init(&s);
    pb_bytes(&s, 1, other, 16);
    pb_bytes(&s, 2, S1, 8);
    pb_msg(&p, 2, &s);
    CHECK_EQ_INT(fx_end(inv, &p, &r), 0);
    CHECK_EQ_INT(ptel_report_to_json(&r, NULL, 0, &n), PTEL_E_BUFFER_TOO_SMALL);
    size_t need = n;
    CHECK_EQ_INT(ptel_report_to_json(&r, buf, need, &n), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(ptel_report_to_json(&r, buf, need + 1, &n), 0);
    static const char dropped[] =
        "{\"status\":\"ok\",\"spans\":{\"accepted\":0,\"dropped\":1,\"modified\":0,\"open\":0},"
        "\"metrics\":{\"accepted\":0,\"dropped\":0},\"points\":{\"accepted\":0,\"dropped\":0},"
        "\"plugin_dropped\":{\"spans\":0,\"metrics\":0,\"points\":0,\"errors\":0},"
        "\"reasons\":{\"trace_id_mismatch\":1},\"first\":{\"reason\":\"trace_id_mismatch\","
        "\"offset\":4,\"field\":2,\"message\":\"trace id differs from the invocation's\"}}";
    CHECK_STR(buf, n, dropped);
    pb_free(&p);
    ptel_invocation_free(inv);

    /* A rejected payload. */
    inv = fx_begin(&f, NULL);
    static const uint8_t bad[] = {0x08, 0x01, 0x12, 0x09};
    CHECK_EQ_INT(ptel_invocation_end(inv, bad, sizeof bad, 0, NULL, 0, &r, NULL), PTEL_E_REJECTED);
    CHECK_EQ_INT(ptel_report_to_json(&r, buf, sizeof buf, &n), 0);
    static const char rejected[] =
        "{\"status\":\"rejected\",\"spans\":{\"accepted\":0,\"dropped\":0,\"modified\":0,"
        "\"open\":0},\"metrics\":{\"accepted\":0,\"dropped\":0},\"points\":{\"accepted\":0,"
        "\"dropped\":0},\"plugin_dropped\":{\"spans\":0,\"metrics\":0,\"points\":0,\"errors\":0},"
        "\"reasons\":{\"malformed\":1},\"first\":{\"reason\":\"malformed\",\"offset\":2,"
        "\"field\":2,\"status\":-6,\"message\":\"length past end\"}}";
    CHECK_STR(buf, n, rejected);
    ptel_invocation_free(inv);
    CHECK_EQ_INT(ptel_report_to_json(NULL, buf, sizeof buf, &n), PTEL_E_INVALID_ARGUMENT);
}

static void t_reason_table(void) {
    CHECK_EQ_INT(ptel_reason_count(), PTEL_REASON_COUNT);
    CHECK_EQ_INT(PTEL_REASON_COUNT, 33);
    /* Pinned values. */
    CHECK_EQ_INT(PTEL_REASON_MALFORMED, 0);
    CHECK_EQ_INT(PTEL_REASON_TRACE_ID_MISMATCH, 4);
    CHECK_EQ_INT(PTEL_REASON_CARDINALITY, 22);
    CHECK_EQ_INT(PTEL_REASON_DUPLICATE_KEY, 26);
    CHECK_EQ_INT(PTEL_REASON_INVALID_LINK, 32);
    CHECK(strcmp(ptel_reason_name(PTEL_REASON_TRACE_ID_MISMATCH), "trace_id_mismatch") == 0);
    CHECK(strcmp(ptel_reason_name(PTEL_REASON_SPAN_ID_HOST), "span_id_host") == 0);
    CHECK(strcmp(ptel_reason_name(-1), "unknown") == 0);
    CHECK(strcmp(ptel_reason_name(PTEL_REASON_COUNT), "unknown") == 0);
    CHECK(strcmp(ptel_reason_message(999), "unknown reason") == 0);
    /* Names are unique snake_case; every message is set. */
    for (int a = 0; a < PTEL_REASON_COUNT; a++) {
        const char *n = ptel_reason_name(a);
        CHECK(strcmp(n, "unknown") != 0);
        for (const char *c = n; *c; c++)
            CHECK((*c >= 'a' && *c <= 'z') || *c == '_' || (*c >= '0' && *c <= '9'));
        CHECK(strlen(ptel_reason_message(a)) > 0);
        for (int b = a + 1; b < PTEL_REASON_COUNT; b++) CHECK(strcmp(n, ptel_reason_name(b)) != 0);
    }
}

/* ---- the recorder's output through the validator ------------------------------------------- */

static void t_recorder_roundtrip(void) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    ptel_recorder_options ro;
    ptel_recorder_options_init(&ro);
    ro.clock.monotonic_ns = fx_mono;
    ro.clock.realtime_ns = fx_real;
    ro.clock.ud = &f;
    ro.ids.fill = fx_fill;
    ro.ids.ud = &f;
    ptel_recorder *rec = NULL;
    int rc = ptel_recorder_new(&rec, ptel_invocation_context(inv), &ro);
    CHECK_EQ_INT(rc, 0);
    if (rc) {
        ptel_invocation_free(inv);
        return;
    }
    f.mono += 100;
    ptel_span *outer = NULL, *inner = NULL, *open = NULL;
    CHECK_EQ_INT(ptel_span_start(&outer, rec, NULL, "outer", 5, PTEL_SPAN_KIND_INTERNAL, 0), 0);
    ptel_attr attrs[2] = {
        {{"k", 1}, {PTEL_VALUE_STRING, 0, 0, 0, {"v", 1}, NULL, NULL}},
        {{"n", 1}, {PTEL_VALUE_INT, 0, 0, 0, {NULL, 0}, NULL, NULL}},
    };
    CHECK_EQ_INT(ptel_span_set_attributes(outer, attrs, 2), 0);
    f.mono += 100;
    CHECK_EQ_INT(ptel_span_start(&inner, rec, outer, "inner", 5, PTEL_SPAN_KIND_CLIENT, 0), 0);
    CHECK_EQ_INT(ptel_span_add_event(inner, "ev", 2, 0, attrs, 1), 0);
    ptel_metric_options mo;
    ptel_metric_options_init(&mo);
    mo.kind = PTEL_METRIC_COUNTER;
    mo.number_type = PTEL_NUMBER_INT;
    mo.name = (ptel_str){"plugin.calls", 12};
    mo.unit = (ptel_str){"{call}", 6};
    ptel_metric *calls = NULL;
    CHECK_EQ_INT(ptel_metric_get(&calls, rec, &mo), 0);
    CHECK_EQ_INT(ptel_metric_record_int(calls, 2, attrs, 1, inner), 0);
    ptel_metric_options_init(&mo);
    mo.kind = PTEL_METRIC_HISTOGRAM;
    mo.name = (ptel_str){"plugin.duration", 15};
    mo.unit = (ptel_str){"s", 1};
    ptel_metric *dur = NULL;
    CHECK_EQ_INT(ptel_metric_get(&dur, rec, &mo), 0);
    CHECK_EQ_INT(ptel_metric_record_double(dur, 0.25, NULL, 0, NULL), 0);
    f.mono += 100;
    CHECK_EQ_INT(ptel_span_end(inner, 0), 0);
    CHECK_EQ_INT(ptel_span_start(&open, rec, outer, "left open", 9, PTEL_SPAN_KIND_INTERNAL, 0), 0);
    f.mono += 100;
    CHECK_EQ_INT(ptel_span_end(outer, 0), 0);
    const uint8_t *payload = NULL;
    size_t len = 0;
    CHECK_EQ_INT(ptel_recorder_finish(rec, &payload, &len), 0);
    f.mono += 100;
    ptel_report rep;
    CHECK_EQ_INT(ptel_invocation_end(inv, payload, len, PTEL_OUTCOME_OK, NULL, 0, &rep, NULL), 0);
    CHECK_EQ_INT(rep.spans_accepted, 3);
    CHECK_EQ_INT(rep.spans_dropped, 0);
    CHECK_EQ_INT(rep.open_spans, 1);
    CHECK_EQ_INT(rep.spans_modified, 1); /* only the open span is re-encoded */
    CHECK_EQ_INT(rep.metrics_accepted, 2);
    CHECK_EQ_INT(rep.points_accepted, 2);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_OPEN_SPAN], 1);
    uint32_t others = 0;
    for (int k = 0; k < PTEL_REASON_COUNT; k++)
        if (k != PTEL_REASON_OPEN_SPAN) others += rep.reasons[k];
    CHECK_EQ_INT(others, 0);
    /* Ended spans and the metrics appear in the export exactly as the
     * recorder encoded them. */
    size_t tn, mn;
    uint8_t *traces = fx_export_traces(inv, NULL, &tn);
    uint8_t *metrics = fx_export_metrics(inv, NULL, &mn);
    CHECK(traces && metrics);
    static const uint32_t spans_path[] = {2, 0}, metrics_path[] = {3, 0};
    ptel__field fl;
    uint32_t found = 0;
    for (uint32_t k = 0; pb_find(payload, len, spans_path, k, &fl); k++, found++)
        CHECK(traces && mem_contains(traces, tn, fl.data, fl.len));
    CHECK_EQ_INT(found, 2);
    found = 0;
    for (uint32_t k = 0; pb_find(payload, len, metrics_path, k, &fl); k++, found++)
        CHECK(metrics && mem_contains(metrics, mn, fl.data, fl.len));
    CHECK_EQ_INT(found, 2);
    free(traces);
    free(metrics);
    ptel_recorder_free(rec);
    ptel_invocation_free(inv);
}

/* The recorder caps its own cardinality with {otel.metric.overflow=true}:
 * the host accepts that point as it is. */
static void t_recorder_overflow(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.limits.metric_cardinality = 2;
    fx f;
    ptel_invocation *inv = fx_begin(&f, &pol);
    ptel_recorder_options ro;
    ptel_recorder_options_init(&ro);
    ro.clock.monotonic_ns = fx_mono;
    ro.clock.realtime_ns = fx_real;
    ro.clock.ud = &f;
    ptel_recorder *rec = NULL;
    CHECK_EQ_INT(ptel_recorder_new(&rec, ptel_invocation_context(inv), &ro), 0);
    if (!rec) {
        ptel_invocation_free(inv);
        return;
    }
    ptel_metric_options mo;
    ptel_metric_options_init(&mo);
    mo.kind = PTEL_METRIC_COUNTER;
    mo.number_type = PTEL_NUMBER_INT;
    mo.name = (ptel_str){"calls", 5};
    ptel_metric *m = NULL;
    CHECK_EQ_INT(ptel_metric_get(&m, rec, &mo), 0);
    for (int k = 0; k < 5; k++) {
        char v[2] = {(char)('a' + k), 0};
        ptel_attr a = {{"k", 1}, {PTEL_VALUE_STRING, 0, 0, 0, {v, 1}, NULL, NULL}};
        CHECK_EQ_INT(ptel_metric_record_int(m, 1, &a, 1, NULL), 0);
    }
    const uint8_t *payload = NULL;
    size_t len = 0;
    CHECK_EQ_INT(ptel_recorder_finish(rec, &payload, &len), 0);
    static const uint8_t overflow_key[] = "otel.metric.overflow";
    CHECK(mem_contains(payload, len, overflow_key, 20));
    ptel_report rep;
    CHECK_EQ_INT(ptel_invocation_end(inv, payload, len, PTEL_OUTCOME_OK, NULL, 0, &rep, NULL), 0);
    CHECK_EQ_INT(rep.metrics_accepted, 1);
    CHECK_EQ_INT(rep.points_accepted, 2);
    uint32_t reasons = 0;
    for (int k = 0; k < PTEL_REASON_COUNT; k++) reasons += rep.reasons[k];
    CHECK_EQ_INT(reasons, 0);
    size_t mn;
    uint8_t *metrics = fx_export_metrics(inv, NULL, &mn);
    static const uint32_t metrics_path[] = {3, 0};
    ptel__field fl;
    CHECK(pb_find(payload, len, metrics_path, 0, &fl));
    CHECK(metrics && mem_contains(metrics, mn, fl.data, fl.len));
    free(metrics);
    ptel_recorder_free(rec);
    ptel_invocation_free(inv);
}

/* An allocator that fails after `budget` allocations. */
typedef struct failing {
    int budget;
    int live;
} failing;

static void *failing_realloc(void *ud, void *p, size_t old, size_t n) {
    failing *f = ud;
    (void)old;
    if (n == 0) {
        if (p) f->live--;
        free(p);
        return NULL;
    }
    if (f->budget-- <= 0) return NULL;
    void *q = realloc(p, n);
    if (q && !p) f->live++;
    return q;
}

/* Out of memory at every allocation in turn: never a crash or a leak, and
 * end reports PTEL_E_NOMEM with nothing kept. */
static void t_out_of_memory(void) {
    bool succeeded = false;
    for (int budget = 0; budget < 400 && !succeeded; budget++) {
        failing fa = {budget, 0};
        ptel_invocation_options o;
        fx f;
        ptel_host_policy pol;
        ptel_host_policy_init(&pol);
        pol.copy_payload = true;
        fx_options(&o, &f, &pol);
        o.allocator.realloc = failing_realloc;
        o.allocator.ud = &fa;
        ptel_invocation *inv = NULL;
        int rc = ptel_invocation_begin(&inv, &o, NULL);
        if (rc) {
            CHECK_EQ_INT(rc, PTEL_E_NOMEM);
            CHECK(inv == NULL);
            CHECK_EQ_INT(fa.live, 0);
            continue;
        }
        f.mono += 1000000;
        pb p, s;
        fx_payload(&p);
        for (int k = 0; k < 40; k++) {
            uint8_t id[8] = {1, 2, 3, 4, 5, 6, 7, (uint8_t)(k + 1)};
            fx_span(&s, id, FX_INV, "s", T(1), T(2));
            for (int j = 0; j < 20; j++) pb_attr_int(&s, 9, j % 2 ? "a" : "b", j);
            pb_msg(&p, k % 5 ? 2 : 4, &s);
        }
        ptel_report rep;
        rc = fx_end(inv, &p, &rep);
        CHECK(rc == 0 || rc == PTEL_E_NOMEM);
        if (rc == PTEL_E_NOMEM) {
            CHECK_EQ_INT(rep.status, PTEL_E_NOMEM);
            CHECK_EQ_INT(rep.spans_accepted, 0);
        } else {
            CHECK_EQ_INT(rep.spans_accepted, 40);
            succeeded = true;
        }
        size_t n = 0;
        rc = ptel_invocation_export_traces(inv, NULL, NULL, 0, &n);
        CHECK(rc == PTEL_E_BUFFER_TOO_SMALL || (rc == 0 && n == 0));
        pb_free(&p);
        ptel_invocation_free(inv);
        CHECK_EQ_INT(fa.live, 0);
    }
    CHECK(succeeded);
}

int main(void) {
    RUN(t_exact_traces);
    RUN(t_export_errors);
    RUN(t_batch_splice);
    RUN(t_invocation_span);
    RUN(t_context);
    RUN(t_begin_errors);
    RUN(t_report_json);
    RUN(t_reason_table);
    RUN(t_recorder_roundtrip);
    RUN(t_recorder_overflow);
    RUN(t_out_of_memory);
    return test_summary();
}
