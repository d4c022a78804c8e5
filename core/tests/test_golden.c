/* Golden vectors: deterministic recordings whose bytes are pinned in
 * core/tests/golden/<name>.bin. protoc re-encodes each of them byte for byte
 * (core/tests/protoc_roundtrip.sh), so the pinned bytes are checked by an
 * independent protobuf implementation, not only by our own decoder.
 * PTEL_GOLDEN_UPDATE=1 rewrites the files after an intended change. */
#include "recorder_fixture.h"

#include <math.h>

typedef void (*golden_fn)(ptel_recorder *rec, fx_env *env);

static void g_span_simple(ptel_recorder *rec, fx_env *env) {
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "handle", 6, PTEL_SPAN_KIND_INTERNAL, 0);
    ptel_attr a = fx_int("n", 0);
    ptel_span_set_attributes(s, &a, 1);
    ptel_span_set_status(s, PTEL_STATUS_ERROR, "boom", 4);
    env->mono = 1000;
    ptel_span_end(s, 0);
}

static void g_attribute_types(ptel_recorder *rec, fx_env *env) {
    (void)env;
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "types", 5, PTEL_SPAN_KIND_CLIENT, 0);
    ptel_value arr[4];
    memset(arr, 0, sizeof arr);
    arr[0].type = PTEL_VALUE_STRING;
    arr[0].str.ptr = "caf\xc3\xa9";
    arr[0].str.len = 5;
    arr[1].type = PTEL_VALUE_DOUBLE;
    arr[1].d = NAN;
    arr[2].type = PTEL_VALUE_DOUBLE;
    arr[2].d = -INFINITY;
    arr[3].type = PTEL_VALUE_INT;
    arr[3].i = INT64_MIN;
    ptel_attr inner[2] = {fx_str("k", ""), fx_int("z", 0)};
    ptel_value nested;
    memset(&nested, 0, sizeof nested);
    nested.type = PTEL_VALUE_KVLIST;
    nested.kvlist = inner;
    nested.count = 2;
    ptel_attr attrs[9];
    memset(attrs, 0, sizeof attrs);
    attrs[0] = fx_str("s", "text");
    attrs[1] = fx_str("empty", "");
    attrs[2] = fx_int("zero", 0);
    attrs[3] = fx_int("neg", -5);
    attrs[4] = fx_int("max", INT64_MAX);
    attrs[5].key.ptr = "b";
    attrs[5].key.len = 1;
    attrs[5].value.type = PTEL_VALUE_BOOL;
    attrs[6].key.ptr = "bytes";
    attrs[6].key.len = 5;
    attrs[6].value.type = PTEL_VALUE_BYTES;
    attrs[6].value.str.ptr = "\x00\x01\xfe";
    attrs[6].value.str.len = 3;
    attrs[7].key.ptr = "arr";
    attrs[7].key.len = 3;
    attrs[7].value.type = PTEL_VALUE_ARRAY;
    attrs[7].value.array = arr;
    attrs[7].value.count = 4;
    attrs[8].key.ptr = "map";
    attrs[8].key.len = 3;
    attrs[8].value = nested;
    ptel_span_set_attributes(s, attrs, 9);
    ptel_attr d = {{"d", 1}, {PTEL_VALUE_DOUBLE, 0, 0, -0.0, {NULL, 0}, NULL, NULL}};
    ptel_span_set_attributes(s, &d, 1);
    ptel_span_end(s, 0);
}

static void g_events_links(ptel_recorder *rec, fx_env *env) {
    ptel_span *outer, *inner;
    ptel_span_start(&outer, rec, NULL, "outer", 5, PTEL_SPAN_KIND_SERVER, 0);
    env->mono = 10;
    ptel_span_start(&inner, rec, outer, "inner", 5, PTEL_SPAN_KIND_PRODUCER, 0);
    ptel_attr ea[2] = {fx_str("pii.type", "email"), fx_int("pii.offset", 8)};
    ptel_span_add_event(inner, "pii.detected", 12, 0, ea, 2);
    ptel_span_record_exception(inner, "TimeoutError", 12, "upstream slow", 13,
                               "at fetch()\nat main()", 20, 0);
    ptel_span_context linked = {{0xaa, 1}, {0xbb, 2}, 0x01, true};
    ptel_span_add_link(inner, &linked, "vendor=x", 8, ea, 1);
    env->mono = 20;
    ptel_span_end(inner, 0);
    ptel_span_set_status(outer, PTEL_STATUS_OK, NULL, 0);
    env->mono = 30;
    ptel_span_end(outer, 0);
    ptel_span *open;
    ptel_span_start(&open, rec, NULL, "left.open", 9, PTEL_SPAN_KIND_CONSUMER, 0);
}

static ptel_metric *g_metric(ptel_recorder *rec, uint32_t kind, uint32_t type, const char *name,
                             const char *unit, const char *desc, const double *bounds, size_t nb) {
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    o.kind = kind;
    o.number_type = type;
    o.name.ptr = name;
    o.name.len = strlen(name);
    o.unit.ptr = unit;
    o.unit.len = strlen(unit);
    o.description.ptr = desc;
    o.description.len = strlen(desc);
    o.bounds = bounds;
    o.bound_count = nb;
    ptel_metric *m = NULL;
    ptel_metric_get(&m, rec, &o);
    return m;
}

static void g_metrics(ptel_recorder *rec, fx_env *env) {
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "scan", 4, 0, 0);
    ptel_metric *c = g_metric(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "pii.detections",
                              "{detection}", "detections by type", NULL, 0);
    ptel_metric *u = g_metric(rec, PTEL_METRIC_UPDOWN_COUNTER, PTEL_NUMBER_DOUBLE, "queue.depth",
                              "{item}", "", NULL, 0);
    ptel_metric *g = g_metric(rec, PTEL_METRIC_GAUGE, PTEL_NUMBER_INT, "limit.remaining",
                              "{request}", "", NULL, 0);
    static const double secs[3] = {0.001, 0.01, 0.1};
    ptel_metric *h = g_metric(rec, PTEL_METRIC_HISTOGRAM, PTEL_NUMBER_DOUBLE, "scan.duration", "s",
                              "scan time", secs, 3);
    ptel_metric *hd =
        g_metric(rec, PTEL_METRIC_HISTOGRAM, PTEL_NUMBER_INT, "payload.size", "By", "", NULL, 0);
    ptel_attr email = fx_str("pii.type", "email"), phone = fx_str("pii.type", "phone");
    ptel_metric_record_int(c, 2, &email, 1, s);
    ptel_metric_record_int(c, 1, &phone, 1, NULL);
    ptel_metric_record_int(c, 0, &email, 1, NULL);
    ptel_metric_record_double(u, 3.5, NULL, 0, NULL);
    ptel_metric_record_double(u, -1.25, NULL, 0, NULL);
    ptel_metric_record_int(g, 0, NULL, 0, NULL);
    ptel_metric_record_double(h, 0.004, &email, 1, s);
    ptel_metric_record_double(h, 0.5, &email, 1, NULL);
    ptel_metric_record_double(h, 0.0, &phone, 1, NULL);
    ptel_metric_record_int(hd, 1234, NULL, 0, NULL);
    ptel_metric_record_int(hd, -3, NULL, 0, NULL); /* negative: sum omitted */
    env->mono = 500;
    ptel_span_end(s, 0);
}

static void g_limits(ptel_recorder *rec, fx_env *env) {
    (void)env;
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "flood", 5, 0, 0);
    char keys[200][8];
    ptel_attr attrs[200];
    for (int k = 0; k < 200; k++) {
        snprintf(keys[k], sizeof keys[k], "k%03d", k);
        attrs[k] = fx_int(keys[k], k);
    }
    ptel_span_set_attributes(s, attrs, 200);
    for (int k = 0; k < 130; k++) ptel_span_add_event(s, "e", 1, 0, NULL, 0);
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ptel_attr long_value = fx_str("k000", big);
    ptel_span_set_attributes(s, &long_value, 1);
    ptel_span_end(s, 0);
}

static void g_dropped(ptel_recorder *rec, fx_env *env) {
    (void)env;
    /* Under a DROP decision spans cost nothing and metrics still count. */
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "never", 5, 0, 0);
    ptel_span_end(s, 0);
    ptel_metric *c = g_metric(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_DOUBLE, "requests", "{request}",
                              "", NULL, 0);
    ptel_metric_record_double(c, 1, NULL, 0, s);
}

static const struct {
    const char *name;
    golden_fn fn;
    uint32_t decision;
} golden_cases[] = {
    {"tel_span_simple", g_span_simple, PTEL_DECISION_RECORD_AND_SAMPLE},
    {"tel_attribute_types", g_attribute_types, PTEL_DECISION_RECORD_AND_SAMPLE},
    {"tel_events_links", g_events_links, PTEL_DECISION_RECORD_AND_SAMPLE},
    {"tel_metrics", g_metrics, PTEL_DECISION_RECORD_AND_SAMPLE},
    {"tel_limits", g_limits, PTEL_DECISION_RECORD_ONLY},
    {"tel_dropped", g_dropped, PTEL_DECISION_DROP},
};

static int golden_compare(const char *name, const uint8_t *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/core/tests/golden/%s.bin", PTEL_SOURCE_DIR, name);
    if (getenv("PTEL_GOLDEN_UPDATE")) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, len, f) != len) return -1;
        fclose(f);
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "missing %s (run with PTEL_GOLDEN_UPDATE=1)\n", path);
        return -1;
    }
    static uint8_t want[1 << 20];
    size_t n = fread(want, 1, sizeof want, f);
    fclose(f);
    CHECK_BYTES(data, len, want, n);
    return 0;
}

static void test_golden_payloads(void) {
    for (size_t k = 0; k < sizeof golden_cases / sizeof golden_cases[0]; k++) {
        test_current = golden_cases[k].name;
        fx_env env = {0};
        ptel_context *ctx = fx_context(golden_cases[k].decision, NULL);
        ptel_recorder *rec = fx_recorder(&env, ctx, false);
        golden_cases[k].fn(rec, &env);
        const uint8_t *out;
        size_t len;
        CHECK_EQ_INT(ptel_recorder_finish(rec, &out, &len), 0);
        CHECK_EQ_INT(golden_compare(golden_cases[k].name, out, len), 0);
        ptel_recorder_free(rec);
        ptel_context_free(ctx);
    }
}

static void test_golden_context(void) {
    ptel_limits lim = {0};
    lim.attribute_count = 64;
    lim.payload_bytes = 1 << 20;
    ptel_context_fields f;
    ptel_context *base = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, &lim);
    ptel_context_get(base, &f);
    f.tracestate.ptr = "vendor=abc,ot=th:8";
    f.tracestate.len = 18;
    f.baggage.ptr = "tenant=acme,user.id=42;pii";
    f.baggage.len = 26;
    f.plugin_version.ptr = "1.2.0";
    f.plugin_version.len = 5;
    f.hook.ptr = "tool_pre_invoke";
    f.hook.len = 15;
    f.features = PTEL_FEATURES_V1;
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, NULL), 0);
    uint8_t buf[512];
    size_t len = 0;
    CHECK_EQ_INT(ptel_context_encode(ctx, buf, sizeof buf, &len), 0);
    CHECK_EQ_INT(golden_compare("ctx_full", buf, len), 0);
    ptel_context_free(ctx);
    ptel_context_free(base);
}

int main(void) {
    RUN(test_golden_payloads);
    RUN(test_golden_context);
    return test_summary();
}
