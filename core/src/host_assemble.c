/* Assembly of OTLP export requests from an ended invocation: the Resource,
 * the host scope with the invocation span, the plugin scope with the
 * validated span bytes copied verbatim, and the same for metrics.
 * Canonical field order; sizes are computed first, then written. */
#include "host_internal.h"

void ptel_export_options_init(ptel_export_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->version = PTEL_EXPORT_OPTIONS_VERSION;
    o->include_invocation_span = true;
}

/* Resolve defaults and check the caller's options. */
int ptel__host_export_opts(const ptel_export_options *in, ptel_export_options *out) {
    if (in)
        *out = *in;
    else
        ptel_export_options_init(out);
    if (out->version != PTEL_EXPORT_OPTIONS_VERSION) return PTEL_E_INVALID_ARGUMENT;
    if ((!out->resource_schema_url.ptr && out->resource_schema_url.len) ||
        (!out->host_scope_name.ptr && out->host_scope_name.len) ||
        (!out->host_scope_version.ptr && out->host_scope_version.len))
        return PTEL_E_INVALID_ARGUMENT;
    if (!host_utf8(out->resource_schema_url.ptr, out->resource_schema_url.len) ||
        !host_utf8(out->host_scope_name.ptr, out->host_scope_name.len) ||
        !host_utf8(out->host_scope_version.ptr, out->host_scope_version.len))
        return PTEL_E_UTF8;
    if (!out->host_scope_name.len) out->host_scope_name = (ptel_str){"ptel", 4};
    if (!out->host_scope_version.len) {
        const char *v = ptel_version();
        out->host_scope_version = (ptel_str){v, strlen(v)};
    }
    return ptel__host_attrs_check(out->resource_attributes, out->resource_attribute_count, NULL);
}

void ptel__host_resource_write(host_w *w, const ptel_export_options *o) {
    ptel__host_attrs_write(w, 0x0a, o->resource_attributes, o->resource_attribute_count);
}

/* The `scope` field (InstrumentationScope) of a ScopeSpans / ScopeMetrics. */
static size_t host_asm_scope_body(ptel_str name, ptel_str version) {
    return (name.len ? ptel__len_field_size(name.len) : 0) +
           (version.len ? ptel__len_field_size(version.len) : 0);
}

static void host_asm_scope(host_w *w, ptel_str name, ptel_str version) {
    host_w_head(w, 0x0a, host_asm_scope_body(name, version));
    if (name.len) host_w_bytes(w, 0x0a, name.ptr, name.len);
    if (version.len) host_w_bytes(w, 0x12, version.ptr, version.len);
}

static bool host_asm_records(const ptel_invocation *inv) {
    return inv->decision == PTEL_DECISION_RECORD_AND_SAMPLE ||
           (inv->decision == PTEL_DECISION_RECORD_ONLY && inv->accept_record_only);
}

/* The ResourceSpans.scope_spans fields of an invocation. */
static void host_asm_scope_spans(host_w *w, const ptel_invocation *inv,
                                 const ptel_export_options *o) {
    if (o->include_invocation_span && inv->span_bytes && host_asm_records(inv)) {
        size_t body =
            ptel__len_field_size(host_asm_scope_body(o->host_scope_name, o->host_scope_version)) +
            ptel__len_field_size(inv->span_len);
        host_w_head(w, 0x12, body);
        host_asm_scope(w, o->host_scope_name, o->host_scope_version);
        host_w_bytes(w, 0x12, inv->span_bytes, inv->span_len);
    }
    size_t spans = inv->spans_size;
    if (!spans) return;
    size_t body =
        ptel__len_field_size(host_asm_scope_body(inv->plugin_name, inv->plugin_version)) + spans;
    host_w_head(w, 0x12, body);
    host_asm_scope(w, inv->plugin_name, inv->plugin_version);
    if (!w->p) { /* only counting */
        w->n += spans;
        return;
    }
    for (uint32_t k = 0; k < inv->span_count; k++)
        if (inv->spans[k].verdict < 0)
            host_w_bytes(w, 0x12, inv->spans[k].out, inv->spans[k].out_len);
}

/* The ResourceMetrics.scope_metrics fields of an invocation. */
static void host_asm_scope_metrics(host_w *w, const ptel_invocation *inv) {
    size_t metrics = 0;
    for (uint32_t k = 0; k < inv->metric_count; k++)
        if (inv->metrics[k].kept) metrics += ptel__len_field_size(inv->metrics[k].out_len);
    if (!metrics) return;
    size_t body =
        ptel__len_field_size(host_asm_scope_body(inv->plugin_name, inv->plugin_version)) + metrics;
    host_w_head(w, 0x12, body);
    host_asm_scope(w, inv->plugin_name, inv->plugin_version);
    for (uint32_t k = 0; k < inv->metric_count; k++)
        if (inv->metrics[k].kept)
            host_w_bytes(w, 0x12, inv->metrics[k].out, inv->metrics[k].out_len);
}

/* A request around ResourceX.scope_X fields of `inner_len` bytes:
 * 0A len { [0A len Resource] inner [1A schema_url] }. The head is all before
 * the inner bytes, the tail all after. */
void ptel__host_request_head(host_w *w, const ptel_export_options *o, size_t inner_len) {
    host_w rw = {NULL, 0};
    ptel__host_resource_write(&rw, o);
    size_t body =
        (rw.n ? ptel__len_field_size(rw.n) : 0) + inner_len +
        (o->resource_schema_url.len ? ptel__len_field_size(o->resource_schema_url.len) : 0);
    host_w_head(w, 0x0a, body);
    if (rw.n) {
        host_w_head(w, 0x0a, rw.n);
        ptel__host_resource_write(w, o);
    }
}

void ptel__host_request_tail(host_w *w, const ptel_export_options *o) {
    if (o->resource_schema_url.len)
        host_w_bytes(w, 0x1a, o->resource_schema_url.ptr, o->resource_schema_url.len);
}

enum { HOST_ASM_TRACES = 0, HOST_ASM_METRICS = 1 };

static void host_asm_inner(host_w *w, const ptel_invocation *inv, const ptel_export_options *o,
                           int signal) {
    if (signal == HOST_ASM_TRACES)
        host_asm_scope_spans(w, inv, o);
    else
        host_asm_scope_metrics(w, inv);
}

/* Size, check the room, then write; `wrap` adds the request envelope. */
static int host_asm_export(const ptel_invocation *inv, const ptel_export_options *opts, int signal,
                           bool wrap, uint8_t *buf, size_t cap, size_t *out_len) {
    if (!out_len) return PTEL_E_INVALID_ARGUMENT;
    *out_len = 0;
    if (!inv) return PTEL_E_INVALID_ARGUMENT;
    if (!inv->ended || inv->idle) return PTEL_E_STATE;
    ptel_export_options o;
    int rc = ptel__host_export_opts(opts, &o);
    if (rc) return rc;
    host_w cw = {NULL, 0};
    host_asm_inner(&cw, inv, &o, signal);
    size_t inner = cw.n;
    if (!inner) return 0; /* nothing to send: no empty envelopes */
    if (wrap) {
        ptel__host_request_head(&cw, &o, inner);
        ptel__host_request_tail(&cw, &o);
    }
    *out_len = cw.n;
    if (!buf || cap < cw.n) return PTEL_E_BUFFER_TOO_SMALL;
    host_w w = {buf, 0};
    if (wrap) ptel__host_request_head(&w, &o, inner);
    host_asm_inner(&w, inv, &o, signal);
    if (wrap) ptel__host_request_tail(&w, &o);
    return 0;
}

int ptel_invocation_export_traces(const ptel_invocation *inv, const ptel_export_options *opts,
                                  uint8_t *buf, size_t cap, size_t *out_len) {
    return host_asm_export(inv, opts, HOST_ASM_TRACES, true, buf, cap, out_len);
}

int ptel_invocation_export_metrics(const ptel_invocation *inv, const ptel_export_options *opts,
                                   uint8_t *buf, size_t cap, size_t *out_len) {
    return host_asm_export(inv, opts, HOST_ASM_METRICS, true, buf, cap, out_len);
}

int ptel_invocation_export_scope_spans(const ptel_invocation *inv, const ptel_export_options *opts,
                                       uint8_t *buf, size_t cap, size_t *out_len) {
    return host_asm_export(inv, opts, HOST_ASM_TRACES, false, buf, cap, out_len);
}

int ptel_invocation_export_scope_metrics(const ptel_invocation *inv,
                                         const ptel_export_options *opts, uint8_t *buf, size_t cap,
                                         size_t *out_len) {
    return host_asm_export(inv, opts, HOST_ASM_METRICS, false, buf, cap, out_len);
}

static int host_asm_wrap(const ptel_export_options *opts, const uint8_t *inner, size_t inner_len,
                         uint8_t *buf, size_t cap, size_t *out_len) {
    if (!out_len) return PTEL_E_INVALID_ARGUMENT;
    *out_len = 0;
    if (!inner && inner_len) return PTEL_E_INVALID_ARGUMENT;
    ptel_export_options o;
    int rc = ptel__host_export_opts(opts, &o);
    if (rc || !inner_len) return rc;
    host_w cw = {NULL, 0};
    ptel__host_request_head(&cw, &o, inner_len);
    cw.n += inner_len;
    ptel__host_request_tail(&cw, &o);
    *out_len = cw.n;
    if (!buf || cap < cw.n) return PTEL_E_BUFFER_TOO_SMALL;
    host_w w = {buf, 0};
    ptel__host_request_head(&w, &o, inner_len);
    host_w_raw(&w, inner, inner_len);
    ptel__host_request_tail(&w, &o);
    return 0;
}

int ptel_export_traces_wrap(const ptel_export_options *opts, const uint8_t *scope_spans,
                            size_t scope_spans_len, uint8_t *buf, size_t cap, size_t *out_len) {
    return host_asm_wrap(opts, scope_spans, scope_spans_len, buf, cap, out_len);
}

int ptel_export_metrics_wrap(const ptel_export_options *opts, const uint8_t *scope_metrics,
                             size_t scope_metrics_len, uint8_t *buf, size_t cap, size_t *out_len) {
    return host_asm_wrap(opts, scope_metrics, scope_metrics_len, buf, cap, out_len);
}
