/* The conformance scenarios through the guest ABI (conformance/README.md
 * section 3): a guest module whose invocation runs one scenario's script of
 * recorder operations under the PluginContext the host passed in, with the
 * suite's clock and ids, and returns the PluginTelemetry bytes as its result
 * and their canonical OTLP/JSON as its output. Each WASM host feeds it every
 * scenario vector and compares both with the vector's expected outputs, so
 * the vectors cross the real host -> guest -> host boundary under each host.
 *
 * Input: the scenario's `ops` array (JSON text). The script interpreter is
 * the C conformance runner's (conformance/runners/c/runner.c, included
 * here, so the operations are written once); it builds its context from
 * JSON, so the decoded host context is written back as the `context` object
 * it reads: a host that encodes the vector's context wrongly gets a payload
 * that differs. The recorder is new per invocation (the suite's clock and
 * ids start at 0 for each case), unlike the SDK glue's reused one. */
#define main scenario_guest_runner_main
int scenario_guest_runner_main(int argc, char **argv);
#include "../../conformance/runners/c/runner.c"
#undef main

#define SCENARIO_EXPORT(name) __attribute__((export_name(#name)))

int32_t scenario_abi_version(void);
void *scenario_alloc(uint32_t len);
void scenario_free(void *ptr, uint32_t len);
int32_t scenario_configure(uint32_t flags);
int32_t scenario_invoke(const uint8_t *ctx, uint32_t ctx_len, const uint8_t *in, uint32_t n);
int32_t scenario_result(uint32_t *out_ptr, uint32_t *out_len);
int32_t scenario_output(uint32_t *out_ptr, uint32_t *out_len);

/* The last invocation's payload and JSON; one instance, one invocation at a
 * time (the guest ABI), so file-level state is the instance's state. */
static uint8_t *scenario_payload;
static size_t scenario_payload_len;
static char *scenario_json;
static size_t scenario_json_len;
static bool scenario_ready;

SCENARIO_EXPORT(ptel_guest_abi_version) int32_t scenario_abi_version(void) { return 1; }

SCENARIO_EXPORT(ptel_guest_alloc) void *scenario_alloc(uint32_t len) {
    return malloc(len ? len : 1);
}

SCENARIO_EXPORT(ptel_guest_free) void scenario_free(void *ptr, uint32_t len) {
    (void)len;
    free(ptr);
}

/* The suite fixes its own clock and ids, so both modes behave the same. */
SCENARIO_EXPORT(ptel_guest_configure) int32_t scenario_configure(uint32_t flags) {
    return flags & ~1u ? PTEL_E_VALUE : 0;
}

static const char *const scenario_limit_names[] = {
    "attribute_count", "attribute_value_length", "attribute_depth",    "event_count",
    "link_count",      "attributes_per_event",   "attributes_per_link", "span_count",
    "metric_count",    "metric_cardinality",     "payload_bytes",
};

/* The `context` object of a scenario (README section 3) for `f`. */
static void scenario_context_json(cj_buf *b, const ptel_context *ctx,
                                  const ptel_context_fields *f) {
    char tp[64];
    size_t tpl = 0;
    if (ptel_context_traceparent(ctx, tp, sizeof tp, &tpl) != 0) tpl = 0;
    cj_buf_cstr(b, "{\"traceparent\":");
    cj_buf_string(b, tp, tpl);
    cj_buf_cstr(b, ",\"tracestate\":");
    cj_buf_string(b, f->tracestate.ptr, f->tracestate.len);
    cj_buf_cstr(b, ",\"baggage\":");
    cj_buf_string(b, f->baggage.ptr, f->baggage.len);
    cj_buf_cstr(b, ",\"decision\":\"");
    cj_buf_cstr(b, f->decision < 3 ? CONF_DECISIONS[f->decision] : "invalid");
    cj_buf_cstr(b, "\",\"time_base_unix_nano\":");
    cj_buf_u64(b, f->time_base_unix_nano);
    cj_buf_cstr(b, ",\"plugin_name\":");
    cj_buf_string(b, f->plugin_name.ptr, f->plugin_name.len);
    cj_buf_cstr(b, ",\"plugin_version\":");
    cj_buf_string(b, f->plugin_version.ptr, f->plugin_version.len);
    cj_buf_cstr(b, ",\"hook\":");
    cj_buf_string(b, f->hook.ptr, f->hook.len);
    const uint32_t limits[] = {
        f->limits.attribute_count,     f->limits.attribute_value_length,
        f->limits.attribute_depth,     f->limits.event_count,
        f->limits.link_count,          f->limits.attributes_per_event,
        f->limits.attributes_per_link, f->limits.span_count,
        f->limits.metric_count,        f->limits.metric_cardinality,
        f->limits.payload_bytes,
    };
    cj_buf_cstr(b, ",\"limits\":{");
    for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++) {
        if (k) cj_buf_cstr(b, ",");
        cj_buf_string(b, scenario_limit_names[k], strlen(scenario_limit_names[k]));
        cj_buf_cstr(b, ":");
        cj_buf_u64(b, limits[k]);
    }
    cj_buf_cstr(b, "}}");
}

/* Keep the runner's outputs (`{"payload_hex": ..., "json": ...}`) as the
 * result and output bytes. */
static int32_t scenario_keep(const cj_buf *out) {
    char err[128];
    cj *r = cj_parse(out->p, out->n, err);
    if (!r) return PTEL_E_MALFORMED;
    size_t hex_len = 0, json_len = 0;
    const char *hex = cj_str(r, "payload_hex", "", &hex_len);
    const char *json = cj_str(r, "json", "", &json_len);
    conf_pool pool = {0};
    size_t n = 0;
    uint8_t *bytes = conf_unhex(&pool, hex, hex_len, &n);
    int32_t rc = PTEL_E_NOMEM;
    free(scenario_payload);
    free(scenario_json);
    scenario_payload = bytes ? malloc(n ? n : 1) : NULL;
    scenario_json = malloc(json_len ? json_len : 1);
    if (scenario_payload && scenario_json) {
        memcpy(scenario_payload, bytes, n);
        memcpy(scenario_json, json, json_len);
        scenario_payload_len = n;
        scenario_json_len = json_len;
        scenario_ready = true;
        rc = 0;
    }
    conf_pool_free(&pool);
    cj_free(r);
    return rc;
}

SCENARIO_EXPORT(ptel_guest_invoke)
int32_t scenario_invoke(const uint8_t *ctx_bytes, uint32_t ctx_len, const uint8_t *in,
                        uint32_t n) {
    scenario_ready = false;
    ptel_context *ctx = NULL;
    int rc = ptel_context_decode(&ctx, ctx_bytes, ctx_len, NULL, NULL);
    if (rc) return rc;
    ptel_context_fields f;
    ptel_context_get(ctx, &f);
    cj_buf text = {0};
    cj_buf_cstr(&text, "{\"context\":");
    scenario_context_json(&text, ctx, &f);
    cj_buf_cstr(&text, ",\"ops\":");
    cj_buf_raw(&text, (const char *)in, n);
    cj_buf_cstr(&text, "}");
    ptel_context_free(ctx);
    char err[256] = {0};
    cj *c = cj_parse(text.p, text.n, err);
    cj_buf out = {0};
    rc = PTEL_E_MALFORMED;
    if (c && conf_scenario(c, &out, err)) rc = scenario_keep(&out);
    cj_free(c);
    free(text.p);
    free(out.p);
    return rc;
}

SCENARIO_EXPORT(ptel_guest_result) int32_t scenario_result(uint32_t *out_ptr, uint32_t *out_len) {
    if (!scenario_ready) return PTEL_E_STATE;
    *out_ptr = (uint32_t)(uintptr_t)scenario_payload;
    *out_len = (uint32_t)scenario_payload_len;
    return 0;
}

SCENARIO_EXPORT(ptel_guest_output) int32_t scenario_output(uint32_t *out_ptr, uint32_t *out_len) {
    if (!scenario_ready) return PTEL_E_STATE;
    *out_ptr = (uint32_t)(uintptr_t)scenario_json;
    *out_len = (uint32_t)scenario_json_len;
    return 0;
}
