/* Canonical OTLP/JSON: a schema-driven walk from protobuf bytes to JSON text.
 *
 * The schema is a set of static tables, one per message, listing each known
 * field in field-number order with its JSON name, its kind and, for message
 * fields, the child message. One generic walker renders any message:
 *
 *   1. scan the message once: check framing (ptel__reader_next), check the
 *      wire type of every known field, and remember the first and last
 *      occurrence of each known field;
 *   2. walk the table in order and emit each field: a singular field from its
 *      last occurrence (protobuf's "last one wins"; for a oneof, the member
 *      that occurs last wins and the others are not rendered), a repeated
 *      field by re-reading from its first occurrence, in wire order, with
 *      packed and unpacked occurrences merged.
 *
 * Work is linear in the input: each field is decoded by the scan, once more
 * for its own emission, and once more per repeated field of its message
 * (at most 4) while that field is re-read from its first occurrence. Nesting is bounded by
 * PTEL_JSON_MAX_DEPTH, the only recursion; a frame holds two pointers per known field (at most 16).
 *
 * Output goes to a bounded writer that counts every byte and copies only
 * while it fits, so one pass gives both the JSON and the size query. */
#include "internal.h"
#include "base64.h"

#include <limits.h>

/* Defined in json_double.c: canonical double into out[32]; returns length. */
PTEL__INTERNAL size_t ptel__json_put_double(char *out, double v);

/* ---- schema ------------------------------------------------------------- */

typedef enum json_kind {
    JSON_K_STRING,   /* string: JSON string, UTF-8 checked */
    JSON_K_HEX,      /* bytes: trace/span id, lowercase hex string */
    JSON_K_B64,      /* bytes: base64 string with padding */
    JSON_K_BOOL,     /* bool: true / false */
    JSON_K_ENUM,     /* enum (int32 on the wire): JSON number */
    JSON_K_UINT32,   /* uint32: JSON number */
    JSON_K_SINT32,   /* sint32 (zigzag): JSON number */
    JSON_K_INT64,    /* int64: decimal string */
    JSON_K_UINT64,   /* uint64 (varint): decimal string */
    JSON_K_FIXED64,  /* fixed64: decimal string */
    JSON_K_SFIXED64, /* sfixed64: decimal string */
    JSON_K_FIXED32,  /* fixed32: JSON number */
    JSON_K_DOUBLE,   /* double: JSON number or "NaN"/"Infinity"/"-Infinity" */
    JSON_K_MESSAGE,  /* embedded message: JSON object */
    JSON_K_IGNORED   /* known varint field the profile never renders */
} json_kind;

enum {
    JSON_F_REPEATED = 1, /* repeated: JSON array */
    JSON_F_PRESENCE = 2  /* oneof member or proto3 `optional`: rendered even when zero */
};

typedef enum json_msg_id {
    JSON_M_TRACES_DATA,
    JSON_M_RESOURCE_SPANS,
    JSON_M_SCOPE_SPANS,
    JSON_M_SPAN,
    JSON_M_EVENT,
    JSON_M_LINK,
    JSON_M_STATUS,
    JSON_M_ANY_VALUE,
    JSON_M_ARRAY_VALUE,
    JSON_M_KV_LIST,
    JSON_M_KEY_VALUE,
    JSON_M_SCOPE,
    JSON_M_RESOURCE,
    JSON_M_ENTITY_REF,
    JSON_M_METRICS_DATA,
    JSON_M_RESOURCE_METRICS,
    JSON_M_SCOPE_METRICS,
    JSON_M_METRIC,
    JSON_M_GAUGE,
    JSON_M_SUM,
    JSON_M_HISTOGRAM,
    JSON_M_EXP_HISTOGRAM,
    JSON_M_SUMMARY,
    JSON_M_NUMBER_DP,
    JSON_M_HISTOGRAM_DP,
    JSON_M_EXP_HISTOGRAM_DP,
    JSON_M_BUCKETS,
    JSON_M_SUMMARY_DP,
    JSON_M_QUANTILE,
    JSON_M_EXEMPLAR,
    JSON_M_PLUGIN_TELEMETRY,
    JSON_M_DROP_COUNTS,
    JSON_M_PLUGIN_CONTEXT,
    JSON_M_LIMITS,
    JSON_M_COUNT
} json_msg_id;

typedef struct json_field {
    uint32_t number;
    const char *name; /* lowerCamelCase JSON name */
    uint8_t kind;     /* json_kind */
    uint8_t flags;    /* JSON_F_* */
    uint8_t oneof;    /* oneof group within the message, 0 = none */
    uint8_t child;    /* json_msg_id for JSON_K_MESSAGE */
} json_field;

typedef struct json_msg {
    const json_field *fields; /* ascending field number */
    uint32_t count;
} json_msg;

/* The most fields any table below has; bounds the per-frame scan state. */
#define JSON_MAX_FIELDS 16

#define JSON_S(n, name)                                                                            \
    { n, name, JSON_K_STRING, 0, 0, 0 }
#define JSON_SCALAR(n, name, kind)                                                                 \
    { n, name, kind, 0, 0, 0 }
#define JSON_OPT(n, name, kind)                                                                    \
    { n, name, kind, JSON_F_PRESENCE, 0, 0 }
#define JSON_ONEOF(n, name, kind, group, child)                                                    \
    { n, name, kind, JSON_F_PRESENCE, group, child }
#define JSON_MSG(n, name, child)                                                                   \
    { n, name, JSON_K_MESSAGE, 0, 0, child }
#define JSON_REP(n, name, kind, child)                                                             \
    { n, name, kind, JSON_F_REPEATED, 0, child }
#define JSON_ATTRS(n, name) JSON_REP(n, name, JSON_K_MESSAGE, JSON_M_KEY_VALUE)

/* opentelemetry.proto.trace.v1 / collector.trace.v1 */
static const json_field json_traces_data_fields[] = {
    JSON_REP(1, "resourceSpans", JSON_K_MESSAGE, JSON_M_RESOURCE_SPANS),
};
static const json_field json_resource_spans_fields[] = {
    JSON_MSG(1, "resource", JSON_M_RESOURCE),
    JSON_REP(2, "scopeSpans", JSON_K_MESSAGE, JSON_M_SCOPE_SPANS),
    JSON_S(3, "schemaUrl"),
};
static const json_field json_scope_spans_fields[] = {
    JSON_MSG(1, "scope", JSON_M_SCOPE),
    JSON_REP(2, "spans", JSON_K_MESSAGE, JSON_M_SPAN),
    JSON_S(3, "schemaUrl"),
};
static const json_field json_span_fields[] = {
    JSON_SCALAR(1, "traceId", JSON_K_HEX),
    JSON_SCALAR(2, "spanId", JSON_K_HEX),
    JSON_S(3, "traceState"),
    JSON_SCALAR(4, "parentSpanId", JSON_K_HEX),
    JSON_S(5, "name"),
    JSON_SCALAR(6, "kind", JSON_K_ENUM),
    JSON_SCALAR(7, "startTimeUnixNano", JSON_K_FIXED64),
    JSON_SCALAR(8, "endTimeUnixNano", JSON_K_FIXED64),
    JSON_ATTRS(9, "attributes"),
    JSON_SCALAR(10, "droppedAttributesCount", JSON_K_UINT32),
    JSON_REP(11, "events", JSON_K_MESSAGE, JSON_M_EVENT),
    JSON_SCALAR(12, "droppedEventsCount", JSON_K_UINT32),
    JSON_REP(13, "links", JSON_K_MESSAGE, JSON_M_LINK),
    JSON_SCALAR(14, "droppedLinksCount", JSON_K_UINT32),
    JSON_MSG(15, "status", JSON_M_STATUS),
    JSON_SCALAR(16, "flags", JSON_K_FIXED32),
};
static const json_field json_event_fields[] = {
    JSON_SCALAR(1, "timeUnixNano", JSON_K_FIXED64),
    JSON_S(2, "name"),
    JSON_ATTRS(3, "attributes"),
    JSON_SCALAR(4, "droppedAttributesCount", JSON_K_UINT32),
};
static const json_field json_link_fields[] = {
    JSON_SCALAR(1, "traceId", JSON_K_HEX),
    JSON_SCALAR(2, "spanId", JSON_K_HEX),
    JSON_S(3, "traceState"),
    JSON_ATTRS(4, "attributes"),
    JSON_SCALAR(5, "droppedAttributesCount", JSON_K_UINT32),
    JSON_SCALAR(6, "flags", JSON_K_FIXED32),
};
static const json_field json_status_fields[] = {
    JSON_S(2, "message"),
    JSON_SCALAR(3, "code", JSON_K_ENUM),
};

/* opentelemetry.proto.common.v1 / resource.v1 */
static const json_field json_any_value_fields[] = {
    JSON_ONEOF(1, "stringValue", JSON_K_STRING, 1, 0),
    JSON_ONEOF(2, "boolValue", JSON_K_BOOL, 1, 0),
    JSON_ONEOF(3, "intValue", JSON_K_INT64, 1, 0),
    JSON_ONEOF(4, "doubleValue", JSON_K_DOUBLE, 1, 0),
    JSON_ONEOF(5, "arrayValue", JSON_K_MESSAGE, 1, JSON_M_ARRAY_VALUE),
    JSON_ONEOF(6, "kvlistValue", JSON_K_MESSAGE, 1, JSON_M_KV_LIST),
    JSON_ONEOF(7, "bytesValue", JSON_K_B64, 1, 0),
    /* string_value_strindex (profiles only): a oneof member, so it clears an
     * earlier value when it comes last, but is itself never rendered. */
    JSON_ONEOF(8, "stringValueStrindex", JSON_K_IGNORED, 1, 0),
};
static const json_field json_array_value_fields[] = {
    JSON_REP(1, "values", JSON_K_MESSAGE, JSON_M_ANY_VALUE),
};
static const json_field json_kv_list_fields[] = {
    JSON_REP(1, "values", JSON_K_MESSAGE, JSON_M_KEY_VALUE),
};
static const json_field json_key_value_fields[] = {
    JSON_S(1, "key"),
    JSON_MSG(2, "value", JSON_M_ANY_VALUE),
    JSON_SCALAR(3, "keyStrindex", JSON_K_IGNORED),
};
static const json_field json_scope_fields[] = {
    JSON_S(1, "name"),
    JSON_S(2, "version"),
    JSON_ATTRS(3, "attributes"),
    JSON_SCALAR(4, "droppedAttributesCount", JSON_K_UINT32),
};
static const json_field json_resource_fields[] = {
    JSON_ATTRS(1, "attributes"),
    JSON_SCALAR(2, "droppedAttributesCount", JSON_K_UINT32),
    JSON_REP(3, "entityRefs", JSON_K_MESSAGE, JSON_M_ENTITY_REF),
};
static const json_field json_entity_ref_fields[] = {
    JSON_S(1, "schemaUrl"),
    JSON_S(2, "type"),
    JSON_REP(3, "idKeys", JSON_K_STRING, 0),
    JSON_REP(4, "descriptionKeys", JSON_K_STRING, 0),
};

/* opentelemetry.proto.metrics.v1 / collector.metrics.v1 */
static const json_field json_metrics_data_fields[] = {
    JSON_REP(1, "resourceMetrics", JSON_K_MESSAGE, JSON_M_RESOURCE_METRICS),
};
static const json_field json_resource_metrics_fields[] = {
    JSON_MSG(1, "resource", JSON_M_RESOURCE),
    JSON_REP(2, "scopeMetrics", JSON_K_MESSAGE, JSON_M_SCOPE_METRICS),
    JSON_S(3, "schemaUrl"),
};
static const json_field json_scope_metrics_fields[] = {
    JSON_MSG(1, "scope", JSON_M_SCOPE),
    JSON_REP(2, "metrics", JSON_K_MESSAGE, JSON_M_METRIC),
    JSON_S(3, "schemaUrl"),
};
static const json_field json_metric_fields[] = {
    JSON_S(1, "name"),
    JSON_S(2, "description"),
    JSON_S(3, "unit"),
    JSON_ONEOF(5, "gauge", JSON_K_MESSAGE, 1, JSON_M_GAUGE),
    JSON_ONEOF(7, "sum", JSON_K_MESSAGE, 1, JSON_M_SUM),
    JSON_ONEOF(9, "histogram", JSON_K_MESSAGE, 1, JSON_M_HISTOGRAM),
    JSON_ONEOF(10, "exponentialHistogram", JSON_K_MESSAGE, 1, JSON_M_EXP_HISTOGRAM),
    JSON_ONEOF(11, "summary", JSON_K_MESSAGE, 1, JSON_M_SUMMARY),
    JSON_ATTRS(12, "metadata"),
};
static const json_field json_gauge_fields[] = {
    JSON_REP(1, "dataPoints", JSON_K_MESSAGE, JSON_M_NUMBER_DP),
};
static const json_field json_sum_fields[] = {
    JSON_REP(1, "dataPoints", JSON_K_MESSAGE, JSON_M_NUMBER_DP),
    JSON_SCALAR(2, "aggregationTemporality", JSON_K_ENUM),
    JSON_SCALAR(3, "isMonotonic", JSON_K_BOOL),
};
static const json_field json_histogram_fields[] = {
    JSON_REP(1, "dataPoints", JSON_K_MESSAGE, JSON_M_HISTOGRAM_DP),
    JSON_SCALAR(2, "aggregationTemporality", JSON_K_ENUM),
};
static const json_field json_exp_histogram_fields[] = {
    JSON_REP(1, "dataPoints", JSON_K_MESSAGE, JSON_M_EXP_HISTOGRAM_DP),
    JSON_SCALAR(2, "aggregationTemporality", JSON_K_ENUM),
};
static const json_field json_summary_fields[] = {
    JSON_REP(1, "dataPoints", JSON_K_MESSAGE, JSON_M_SUMMARY_DP),
};
static const json_field json_number_dp_fields[] = {
    JSON_SCALAR(2, "startTimeUnixNano", JSON_K_FIXED64),
    JSON_SCALAR(3, "timeUnixNano", JSON_K_FIXED64),
    JSON_ONEOF(4, "asDouble", JSON_K_DOUBLE, 1, 0),
    JSON_REP(5, "exemplars", JSON_K_MESSAGE, JSON_M_EXEMPLAR),
    JSON_ONEOF(6, "asInt", JSON_K_SFIXED64, 1, 0),
    JSON_ATTRS(7, "attributes"),
    JSON_SCALAR(8, "flags", JSON_K_UINT32),
};
static const json_field json_histogram_dp_fields[] = {
    JSON_SCALAR(2, "startTimeUnixNano", JSON_K_FIXED64),
    JSON_SCALAR(3, "timeUnixNano", JSON_K_FIXED64),
    JSON_SCALAR(4, "count", JSON_K_FIXED64),
    JSON_OPT(5, "sum", JSON_K_DOUBLE),
    JSON_REP(6, "bucketCounts", JSON_K_FIXED64, 0),
    JSON_REP(7, "explicitBounds", JSON_K_DOUBLE, 0),
    JSON_REP(8, "exemplars", JSON_K_MESSAGE, JSON_M_EXEMPLAR),
    JSON_ATTRS(9, "attributes"),
    JSON_SCALAR(10, "flags", JSON_K_UINT32),
    JSON_OPT(11, "min", JSON_K_DOUBLE),
    JSON_OPT(12, "max", JSON_K_DOUBLE),
};
static const json_field json_exp_histogram_dp_fields[] = {
    JSON_ATTRS(1, "attributes"),
    JSON_SCALAR(2, "startTimeUnixNano", JSON_K_FIXED64),
    JSON_SCALAR(3, "timeUnixNano", JSON_K_FIXED64),
    JSON_SCALAR(4, "count", JSON_K_FIXED64),
    JSON_OPT(5, "sum", JSON_K_DOUBLE),
    JSON_SCALAR(6, "scale", JSON_K_SINT32),
    JSON_SCALAR(7, "zeroCount", JSON_K_FIXED64),
    JSON_MSG(8, "positive", JSON_M_BUCKETS),
    JSON_MSG(9, "negative", JSON_M_BUCKETS),
    JSON_SCALAR(10, "flags", JSON_K_UINT32),
    JSON_REP(11, "exemplars", JSON_K_MESSAGE, JSON_M_EXEMPLAR),
    JSON_OPT(12, "min", JSON_K_DOUBLE),
    JSON_OPT(13, "max", JSON_K_DOUBLE),
    JSON_SCALAR(14, "zeroThreshold", JSON_K_DOUBLE),
};
static const json_field json_buckets_fields[] = {
    JSON_SCALAR(1, "offset", JSON_K_SINT32),
    JSON_REP(2, "bucketCounts", JSON_K_UINT64, 0),
};
static const json_field json_summary_dp_fields[] = {
    JSON_SCALAR(2, "startTimeUnixNano", JSON_K_FIXED64),
    JSON_SCALAR(3, "timeUnixNano", JSON_K_FIXED64),
    JSON_SCALAR(4, "count", JSON_K_FIXED64),
    JSON_SCALAR(5, "sum", JSON_K_DOUBLE),
    JSON_REP(6, "quantileValues", JSON_K_MESSAGE, JSON_M_QUANTILE),
    JSON_ATTRS(7, "attributes"),
    JSON_SCALAR(8, "flags", JSON_K_UINT32),
};
static const json_field json_quantile_fields[] = {
    JSON_SCALAR(1, "quantile", JSON_K_DOUBLE),
    JSON_SCALAR(2, "value", JSON_K_DOUBLE),
};
static const json_field json_exemplar_fields[] = {
    JSON_SCALAR(2, "timeUnixNano", JSON_K_FIXED64), JSON_ONEOF(3, "asDouble", JSON_K_DOUBLE, 1, 0),
    JSON_SCALAR(4, "spanId", JSON_K_HEX),           JSON_SCALAR(5, "traceId", JSON_K_HEX),
    JSON_ONEOF(6, "asInt", JSON_K_SFIXED64, 1, 0),  JSON_ATTRS(7, "filteredAttributes"),
};

/* ptel.v1 boundary messages (proto/ptel/v1/plugin.proto) */
static const json_field json_plugin_telemetry_fields[] = {
    JSON_SCALAR(1, "protocolVersion", JSON_K_UINT32),
    JSON_REP(2, "spans", JSON_K_MESSAGE, JSON_M_SPAN),
    JSON_REP(3, "metrics", JSON_K_MESSAGE, JSON_M_METRIC),
    JSON_REP(4, "openSpans", JSON_K_MESSAGE, JSON_M_SPAN),
    JSON_MSG(5, "dropped", JSON_M_DROP_COUNTS),
};
static const json_field json_drop_counts_fields[] = {
    JSON_SCALAR(1, "spans", JSON_K_UINT32),
    JSON_SCALAR(2, "metrics", JSON_K_UINT32),
    JSON_SCALAR(3, "metricPoints", JSON_K_UINT32),
    JSON_SCALAR(4, "errors", JSON_K_UINT32),
};
static const json_field json_plugin_context_fields[] = {
    JSON_SCALAR(1, "protocolVersion", JSON_K_UINT32),
    JSON_SCALAR(2, "traceId", JSON_K_HEX),
    JSON_SCALAR(3, "parentSpanId", JSON_K_HEX),
    JSON_SCALAR(4, "traceFlags", JSON_K_UINT32),
    JSON_SCALAR(5, "isRemote", JSON_K_BOOL),
    JSON_S(6, "traceState"),
    JSON_S(7, "baggage"),
    JSON_SCALAR(8, "decision", JSON_K_ENUM),
    JSON_MSG(9, "limits", JSON_M_LIMITS),
    JSON_SCALAR(10, "timeBaseUnixNano", JSON_K_FIXED64),
    JSON_S(11, "pluginName"),
    JSON_S(12, "pluginVersion"),
    JSON_S(13, "hook"),
    JSON_SCALAR(14, "features", JSON_K_UINT64),
};
static const json_field json_limits_fields[] = {
    JSON_SCALAR(1, "attributeCount", JSON_K_UINT32),
    JSON_SCALAR(2, "attributeValueLength", JSON_K_UINT32),
    JSON_SCALAR(3, "attributeDepth", JSON_K_UINT32),
    JSON_SCALAR(4, "eventCount", JSON_K_UINT32),
    JSON_SCALAR(5, "linkCount", JSON_K_UINT32),
    JSON_SCALAR(6, "attributesPerEvent", JSON_K_UINT32),
    JSON_SCALAR(7, "attributesPerLink", JSON_K_UINT32),
    JSON_SCALAR(8, "spanCount", JSON_K_UINT32),
    JSON_SCALAR(9, "metricCount", JSON_K_UINT32),
    JSON_SCALAR(10, "metricCardinality", JSON_K_UINT32),
    JSON_SCALAR(11, "payloadBytes", JSON_K_UINT32),
};

#define JSON_TABLE(id, fields) [id] = {fields, (uint32_t)(sizeof fields / sizeof fields[0])}

static const json_msg json_msgs[JSON_M_COUNT] = {
    JSON_TABLE(JSON_M_TRACES_DATA, json_traces_data_fields),
    JSON_TABLE(JSON_M_RESOURCE_SPANS, json_resource_spans_fields),
    JSON_TABLE(JSON_M_SCOPE_SPANS, json_scope_spans_fields),
    JSON_TABLE(JSON_M_SPAN, json_span_fields),
    JSON_TABLE(JSON_M_EVENT, json_event_fields),
    JSON_TABLE(JSON_M_LINK, json_link_fields),
    JSON_TABLE(JSON_M_STATUS, json_status_fields),
    JSON_TABLE(JSON_M_ANY_VALUE, json_any_value_fields),
    JSON_TABLE(JSON_M_ARRAY_VALUE, json_array_value_fields),
    JSON_TABLE(JSON_M_KV_LIST, json_kv_list_fields),
    JSON_TABLE(JSON_M_KEY_VALUE, json_key_value_fields),
    JSON_TABLE(JSON_M_SCOPE, json_scope_fields),
    JSON_TABLE(JSON_M_RESOURCE, json_resource_fields),
    JSON_TABLE(JSON_M_ENTITY_REF, json_entity_ref_fields),
    JSON_TABLE(JSON_M_METRICS_DATA, json_metrics_data_fields),
    JSON_TABLE(JSON_M_RESOURCE_METRICS, json_resource_metrics_fields),
    JSON_TABLE(JSON_M_SCOPE_METRICS, json_scope_metrics_fields),
    JSON_TABLE(JSON_M_METRIC, json_metric_fields),
    JSON_TABLE(JSON_M_GAUGE, json_gauge_fields),
    JSON_TABLE(JSON_M_SUM, json_sum_fields),
    JSON_TABLE(JSON_M_HISTOGRAM, json_histogram_fields),
    JSON_TABLE(JSON_M_EXP_HISTOGRAM, json_exp_histogram_fields),
    JSON_TABLE(JSON_M_SUMMARY, json_summary_fields),
    JSON_TABLE(JSON_M_NUMBER_DP, json_number_dp_fields),
    JSON_TABLE(JSON_M_HISTOGRAM_DP, json_histogram_dp_fields),
    JSON_TABLE(JSON_M_EXP_HISTOGRAM_DP, json_exp_histogram_dp_fields),
    JSON_TABLE(JSON_M_BUCKETS, json_buckets_fields),
    JSON_TABLE(JSON_M_SUMMARY_DP, json_summary_dp_fields),
    JSON_TABLE(JSON_M_QUANTILE, json_quantile_fields),
    JSON_TABLE(JSON_M_EXEMPLAR, json_exemplar_fields),
    JSON_TABLE(JSON_M_PLUGIN_TELEMETRY, json_plugin_telemetry_fields),
    JSON_TABLE(JSON_M_DROP_COUNTS, json_drop_counts_fields),
    JSON_TABLE(JSON_M_PLUGIN_CONTEXT, json_plugin_context_fields),
    JSON_TABLE(JSON_M_LIMITS, json_limits_fields),
};

#undef JSON_TABLE
#undef JSON_S
#undef JSON_SCALAR
#undef JSON_OPT
#undef JSON_ONEOF
#undef JSON_MSG
#undef JSON_REP
#undef JSON_ATTRS

static uint32_t json_kind_wire_type(uint8_t kind) {
    switch (kind) {
    case JSON_K_STRING:
    case JSON_K_HEX:
    case JSON_K_B64:
    case JSON_K_MESSAGE:
        return PTEL__WT_LEN;
    case JSON_K_FIXED64:
    case JSON_K_SFIXED64:
    case JSON_K_DOUBLE:
        return PTEL__WT_I64;
    case JSON_K_FIXED32:
        return PTEL__WT_I32;
    default:
        return PTEL__WT_VARINT;
    }
}

/* ---- output ------------------------------------------------------------- */

typedef struct json_ctx {
    char *buf;
    size_t cap;
    size_t len;          /* bytes produced so far, whether or not they fit */
    bool overflow;       /* len would exceed SIZE_MAX */
    const uint8_t *base; /* start of the input, for diagnostic offsets */
    ptel_diag *diag;
} json_ctx;

static void json_put(json_ctx *c, const char *s, size_t n) {
    if (n > SIZE_MAX - c->len) {
        c->overflow = true;
        return;
    }
    if (c->len <= c->cap && n <= c->cap - c->len && n) memcpy(c->buf + c->len, s, n);
    c->len += n;
}

static void json_putc(json_ctx *c, char ch) { json_put(c, &ch, 1); }

static void json_put_u64(json_ctx *c, uint64_t v, bool quoted) {
    char tmp[24];
    size_t i = sizeof tmp;
    if (quoted) tmp[--i] = '"';
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (quoted) tmp[--i] = '"';
    json_put(c, tmp + i, sizeof tmp - i);
}

static void json_put_i64(json_ctx *c, int64_t v, bool quoted) {
    if (v >= 0) {
        json_put_u64(c, (uint64_t)v, quoted);
        return;
    }
    if (quoted) json_putc(c, '"');
    json_putc(c, '-');
    json_put_u64(c, 0 - (uint64_t)v, false);
    if (quoted) json_putc(c, '"');
}

static void json_put_double(json_ctx *c, double v) {
    char tmp[32];
    json_put(c, tmp, ptel__json_put_double(tmp, v));
}

static int json_fail(json_ctx *c, int status, const uint8_t *at, uint32_t field,
                     const char *reason) {
    return ptel__fail(c->diag, status, (uint64_t)(at - c->base), field, reason);
}

/* A JSON string with RFC 8259 minimal escaping; `s` must be valid UTF-8
 * (checked by the caller), which passes through unchanged. */
static void json_put_string(json_ctx *c, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    json_putc(c, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < n; i++) {
        uint8_t b = s[i];
        if (b >= 0x20 && b != '"' && b != '\\') continue;
        json_put(c, (const char *)s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (b) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[b >> 4];
            esc[5] = hex[b & 15];
            len = 6;
        }
        json_put(c, esc, len);
    }
    json_put(c, (const char *)s + run, n - run);
    json_putc(c, '"');
}

static void json_put_hex(json_ctx *c, const uint8_t *p, size_t n) {
    char tmp[64];
    json_putc(c, '"');
    while (n) {
        size_t k = n < 32 ? n : 32;
        ptel__hex_encode(tmp, p, k);
        json_put(c, tmp, 2 * k);
        p += k;
        n -= k;
    }
    json_putc(c, '"');
}

static void json_put_base64(json_ctx *c, const uint8_t *p, size_t n) {
    char tmp[64];
    json_putc(c, '"');
    while (n) {
        size_t k = n < 48 ? n : 48; /* a multiple of 3: padding only at the end */
        size_t got = 0;
        if (ptel__base64_encode(tmp, sizeof tmp, &got, p, k) == 0) json_put(c, tmp, got);
        p += k;
        n -= k;
    }
    json_putc(c, '"');
}

/* ---- walker ------------------------------------------------------------- */

static int json_message(json_ctx *c, uint8_t id, const uint8_t *data, size_t len, int depth);

/* True when a scalar read from the wire is its kind's zero value. */
static bool json_scalar_is_zero(uint8_t kind, uint64_t v) {
    switch (kind) {
    case JSON_K_BOOL:
    case JSON_K_INT64:
    case JSON_K_UINT64:
    case JSON_K_FIXED64:
    case JSON_K_SFIXED64:
    case JSON_K_DOUBLE: /* bit pattern: -0.0 is not the default and is rendered */
        return v == 0;
    default: /* 32-bit kinds: protobuf keeps the low 32 bits of the varint */
        return (uint32_t)v == 0;
    }
}

/* One scalar value (kinds with a VARINT, I64 or I32 wire type). */
static void json_put_scalar(json_ctx *c, uint8_t kind, uint64_t v) {
    switch (kind) {
    case JSON_K_BOOL:
        if (v)
            json_put(c, "true", 4);
        else
            json_put(c, "false", 5);
        break;
    case JSON_K_ENUM:
        json_put_i64(c, (int32_t)(uint32_t)v, false);
        break;
    case JSON_K_UINT32:
    case JSON_K_FIXED32:
        json_put_u64(c, (uint32_t)v, false);
        break;
    case JSON_K_SINT32: {
        uint32_t u = (uint32_t)v;
        json_put_i64(c, (int32_t)(u >> 1) ^ -(int32_t)(u & 1), false);
        break;
    }
    case JSON_K_INT64:
    case JSON_K_SFIXED64:
        json_put_i64(c, (int64_t)v, true);
        break;
    case JSON_K_UINT64:
    case JSON_K_FIXED64:
        json_put_u64(c, v, true);
        break;
    case JSON_K_DOUBLE:
        json_put_double(c, ptel__bits_double(v));
        break;
    default:
        break;
    }
}

/* One value of a LEN kind (string, bytes, message). */
static int json_put_len_value(json_ctx *c, const json_field *fd, const ptel__field *f, int depth) {
    switch (fd->kind) {
    case JSON_K_STRING:
        if (!ptel__utf8_valid((const char *)f->data, f->len))
            return json_fail(c, PTEL_E_UTF8, f->start, f->number, "string is not UTF-8");
        json_put_string(c, f->data, f->len);
        return 0;
    case JSON_K_HEX:
        json_put_hex(c, f->data, f->len);
        return 0;
    case JSON_K_B64:
        json_put_base64(c, f->data, f->len);
        return 0;
    default:
        return json_message(c, fd->child, f->data, f->len, depth + 1);
    }
}

static void json_key(json_ctx *c, bool *first, const char *name) {
    if (!*first) json_putc(c, ',');
    *first = false;
    json_putc(c, '"');
    json_put(c, name, strlen(name));
    json_put(c, "\":", 2);
}

/* The elements of a packed occurrence of a repeated scalar field. */
static int json_put_packed(json_ctx *c, const json_field *fd, const ptel__field *f,
                           bool *first_elem) {
    const uint8_t *p = f->data, *end = f->data + f->len;
    uint32_t wt = json_kind_wire_type(fd->kind);
    size_t width = wt == PTEL__WT_I64 ? 8 : wt == PTEL__WT_I32 ? 4 : 0;
    if (width && f->len % width)
        return json_fail(c, PTEL_E_MALFORMED, f->start, f->number,
                         "packed length is not a multiple of the element size");
    while (p < end) {
        uint64_t v;
        if (width == 8)
            v = ptel__get_fixed64(p), p += 8;
        else if (width == 4)
            v = ptel__get_fixed32(p), p += 4;
        else {
            const uint8_t *at = p;
            int rc = ptel__read_varint(&p, end, &v);
            if (rc) return json_fail(c, rc, at, f->number, "bad varint in packed field");
        }
        if (!*first_elem) json_putc(c, ',');
        *first_elem = false;
        json_put_scalar(c, fd->kind, v);
    }
    return 0;
}

/* Every occurrence of repeated field `fd`, from `from` to `end`, as one array. */
static int json_put_repeated(json_ctx *c, const json_field *fd, const uint8_t *from,
                             const uint8_t *end, int depth) {
    ptel__reader r;
    ptel__reader_init(&r, c->base, from, (size_t)(end - from));
    ptel__field f;
    bool first_elem = true;
    json_putc(c, '[');
    for (;;) {
        int rc = ptel__reader_next(&r, &f, c->diag);
        if (rc <= 0) {
            if (rc < 0) return rc; /* unreachable: the scan validated the framing */
            break;
        }
        if (f.number != fd->number) continue;
        if (f.wire_type == PTEL__WT_LEN && json_kind_wire_type(fd->kind) != PTEL__WT_LEN) {
            rc = json_put_packed(c, fd, &f, &first_elem);
        } else {
            if (!first_elem) json_putc(c, ',');
            first_elem = false;
            if (f.wire_type == PTEL__WT_LEN) {
                rc = json_put_len_value(c, fd, &f, depth);
            } else {
                json_put_scalar(c, fd->kind, f.value);
                rc = 0;
            }
        }
        if (rc) return rc;
    }
    json_putc(c, ']');
    return 0;
}

static int json_message(json_ctx *c, uint8_t id, const uint8_t *data, size_t len, int depth) {
    if (depth > PTEL_JSON_MAX_DEPTH)
        return json_fail(c, PTEL_E_DEPTH, data, 0, "messages nested too deeply");
    const json_msg *m = &json_msgs[id];
    const uint8_t *first[JSON_MAX_FIELDS] = {0}, *last[JSON_MAX_FIELDS] = {0};
    uint32_t nonempty = 0; /* bit i: repeated field i has at least one element */
    const uint8_t *end = data + len;

    /* 1. Scan: framing, wire types, occurrences. */
    ptel__reader r;
    ptel__reader_init(&r, c->base, data, len);
    ptel__field f;
    int rc;
    while ((rc = ptel__reader_next(&r, &f, c->diag)) > 0) {
        uint32_t i = 0;
        while (i < m->count && m->fields[i].number != f.number) i++;
        if (i == m->count) continue; /* unknown: skipped */
        const json_field *fd = &m->fields[i];
        uint32_t wt = json_kind_wire_type(fd->kind);
        bool packed =
            (fd->flags & JSON_F_REPEATED) && wt != PTEL__WT_LEN && f.wire_type == PTEL__WT_LEN;
        if (f.wire_type != wt && !packed)
            return json_fail(c, PTEL_E_MALFORMED, f.start, f.number,
                             "wrong wire type for known field");
        if (!first[i]) first[i] = f.start;
        last[i] = f.start;
        if (!packed || f.len) nonempty |= 1u << i;
    }
    if (rc < 0) return rc;

    /* 2. Emit in field-number order. */
    json_putc(c, '{');
    bool first_key = true;
    for (uint32_t i = 0; i < m->count; i++) {
        const json_field *fd = &m->fields[i];
        if (!last[i] || fd->kind == JSON_K_IGNORED) continue;
        if (fd->flags & JSON_F_REPEATED) {
            if (!(nonempty & (1u << i))) continue;
            json_key(c, &first_key, fd->name);
            rc = json_put_repeated(c, fd, first[i], end, depth);
            if (rc) return rc;
            continue;
        }
        if (fd->oneof) {
            bool won = true;
            for (uint32_t j = 0; j < m->count; j++)
                if (j != i && m->fields[j].oneof == fd->oneof && last[j] > last[i]) won = false;
            if (!won) continue;
        }
        ptel__reader_init(&r, c->base, last[i], (size_t)(end - last[i]));
        rc = ptel__reader_next(&r, &f, c->diag);
        if (rc < 0) return rc; /* unreachable: validated by the scan */
        bool presence = (fd->flags & JSON_F_PRESENCE) != 0;
        if (f.wire_type == PTEL__WT_LEN) {
            if (fd->kind != JSON_K_MESSAGE && f.len == 0 && !presence) continue;
            json_key(c, &first_key, fd->name);
            rc = json_put_len_value(c, fd, &f, depth);
            if (rc) return rc;
        } else {
            if (json_scalar_is_zero(fd->kind, f.value) && !presence) continue;
            json_key(c, &first_key, fd->name);
            json_put_scalar(c, fd->kind, f.value);
        }
    }
    json_putc(c, '}');
    return 0;
}

/* ---- public API ---------------------------------------------------------- */

static int json_top_message(uint32_t type) {
    switch (type) {
    case PTEL_JSON_PLUGIN_TELEMETRY:
        return JSON_M_PLUGIN_TELEMETRY;
    case PTEL_JSON_PLUGIN_CONTEXT:
        return JSON_M_PLUGIN_CONTEXT;
    case PTEL_JSON_TRACES_DATA:
        return JSON_M_TRACES_DATA;
    case PTEL_JSON_METRICS_DATA:
        return JSON_M_METRICS_DATA;
    case PTEL_JSON_SPAN:
        return JSON_M_SPAN;
    case PTEL_JSON_METRIC:
        return JSON_M_METRIC;
    default:
        return -1;
    }
}

int ptel_json_render(char *buf, size_t cap, size_t *out_len, uint32_t message_type,
                     const uint8_t *data, size_t len, ptel_diag *diag) {
    static const uint8_t json_nothing[1] = {0};
    if (out_len) *out_len = 0;
    int id = json_top_message(message_type);
    if (id < 0) return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "unknown JSON message type");
    if (!data) {
        if (len) return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "data is NULL");
        data = json_nothing;
    }
    json_ctx c;
    c.buf = buf;
    c.cap = buf ? cap : 0;
    c.len = 0;
    c.overflow = false;
    c.base = data;
    c.diag = diag;
    int rc = json_message(&c, (uint8_t)id, data, len, 1);
    if (rc) return rc;
    if (c.overflow) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "JSON output larger than SIZE_MAX");
    if (out_len) *out_len = c.len;
    if (c.len > c.cap)
        return ptel__fail(diag, PTEL_E_BUFFER_TOO_SMALL, 0, 0, "output buffer too small");
    return 0;
}

int ptel_json_render_alloc(char **out, size_t *out_len, uint32_t message_type, const uint8_t *data,
                           size_t len, const ptel_allocator *alloc, ptel_diag *diag) {
    if (!out || !out_len)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "out and out_len are required");
    *out = NULL;
    *out_len = 0;
    size_t need = 0;
    ptel_diag query = {0, 0, 0, NULL}; /* the caller's diag stays untouched on success */
    int rc = ptel_json_render(NULL, 0, &need, message_type, data, len, &query);
    if (rc != PTEL_E_BUFFER_TOO_SMALL) { /* never 0: the output is at least "{}" */
        if (diag) *diag = query;
        return rc;
    }
    if (need == SIZE_MAX) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "JSON output too large");
    ptel_allocator a = ptel__allocator(alloc);
    char *p = ptel__alloc(&a, need + 1);
    if (!p) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "out of memory");
    size_t got = 0;
    rc = ptel_json_render(p, need, &got, message_type, data, len, diag);
    if (rc || got != need) { /* unreachable: rendering is deterministic */
        ptel__free(&a, p, need + 1);
        return rc ? rc : ptel__fail(diag, PTEL_E_STATE, 0, 0, "JSON size changed");
    }
    p[need] = '\0';
    *out = p;
    *out_len = need;
    return 0;
}

void ptel_json_free(char *json, size_t len, const ptel_allocator *alloc) {
    if (!json) return;
    ptel_allocator a = ptel__allocator(alloc);
    ptel__free(&a, json, len + 1);
}
