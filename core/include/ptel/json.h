/* ptel — canonical OTLP/JSON rendering of protobuf messages.
 *
 * Turns the protobuf bytes of a boundary message (PluginTelemetry,
 * PluginContext) or of an OTLP message (ExportTraceServiceRequest,
 * ExportMetricsServiceRequest, Span, Metric) into canonical OTLP/JSON, the
 * profile defined in PROTOCOL.md ("Canonical OTLP/JSON"): lowerCamelCase keys
 * in field-number order, no whitespace, proto3 defaults omitted (oneof and
 * `optional` members kept), 64-bit integers as decimal strings, trace and span
 * ids as lowercase hex, other bytes as padded base64, enums as integers and
 * doubles in shortest round-trip form.
 *
 * The input is untrusted: rendering is total and bounded. It never reads
 * outside `data[0..len)`, nests at most PTEL_JSON_MAX_DEPTH messages, and
 * allocates nothing except in ptel_json_render_alloc.
 *
 * Include <ptel/ptel.h> rather than this file directly. */
#ifndef PTEL_JSON_H
#define PTEL_JSON_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The message types the renderer knows at top level. */
typedef enum ptel_json_message {
    PTEL_JSON_PLUGIN_TELEMETRY = 1, /**< ptel.v1.PluginTelemetry */
    PTEL_JSON_PLUGIN_CONTEXT = 2,   /**< ptel.v1.PluginContext */
    PTEL_JSON_TRACES_DATA = 3,      /**< ExportTraceServiceRequest = TracesData */
    PTEL_JSON_METRICS_DATA = 4,     /**< ExportMetricsServiceRequest = MetricsData */
    PTEL_JSON_SPAN = 5,             /**< opentelemetry.proto.trace.v1.Span */
    PTEL_JSON_METRIC = 6            /**< opentelemetry.proto.metrics.v1.Metric */
} ptel_json_message;

/** Most message levels the renderer descends (the top-level message is level
 * 1); deeper input fails with PTEL_E_DEPTH. */
enum { PTEL_JSON_MAX_DEPTH = 64 };

/** Render `data[0..len)`, the protobuf encoding of a `message_type`
 * (a ptel_json_message), as canonical OTLP/JSON into the caller's `buf`.
 *
 * On success writes exactly `*out_len` bytes to `buf` (no NUL terminator)
 * and returns 0. When `buf` is NULL or `cap` is smaller than the output,
 * returns PTEL_E_BUFFER_TOO_SMALL with `*out_len` set to the size needed
 * (a size query); the contents of `buf[0..cap)` are then unspecified.
 * `out_len` may be NULL only if the caller does not need the size.
 *
 * Errors (diag gets the byte offset into `data` and the field number):
 * PTEL_E_INVALID_ARGUMENT (unknown message type, or `data` NULL with `len`
 * non-zero), PTEL_E_TRUNCATED, PTEL_E_MALFORMED (bad wire data, or a known
 * field with the wrong wire type), PTEL_E_UTF8 (a string that is not UTF-8),
 * PTEL_E_DEPTH, PTEL_E_NOMEM (output size does not fit in size_t). A
 * malformed input is reported as such even when `buf` is too small. All
 * memory is the caller's; nothing is retained. */
PTEL_API int ptel_json_render(char *buf, size_t cap, size_t *out_len, uint32_t message_type,
                              const uint8_t *data, size_t len, ptel_diag *diag);

/** Like ptel_json_render, but allocates the output with `alloc` (NULL for
 * libc). On success `*out` holds `*out_len` bytes of JSON followed by a NUL
 * terminator (so the allocation is `*out_len + 1` bytes) and the caller owns
 * it: release it with ptel_json_free and the same allocator. On failure
 * `*out` is NULL and `*out_len` is 0. */
PTEL_API int ptel_json_render_alloc(char **out, size_t *out_len, uint32_t message_type,
                                    const uint8_t *data, size_t len, const ptel_allocator *alloc,
                                    ptel_diag *diag);

/** Free a string returned by ptel_json_render_alloc. `len` is the `*out_len`
 * it returned; `alloc` must be the allocator that was passed to it (NULL for
 * libc). NULL `json` is a no-op. */
PTEL_API void ptel_json_free(char *json, size_t len, const ptel_allocator *alloc);

/** Write the canonical OTLP/JSON form of `value` to `out` (at least 32
 * bytes), without a NUL terminator, and return its length (at most 25).
 * Finite values are JSON numbers in the shortest form that reads back to the
 * same double, spelled as JavaScript's Number.prototype.toString does ("5",
 * "0.1", "1e-7", "1e+21", "-0"); NaN and the infinities are the JSON strings
 * "NaN", "Infinity" and "-Infinity" (quotes included). Exposed so that
 * bindings and tools format doubles exactly as the renderer does. */
PTEL_API size_t ptel_json_format_double(char *out, double value);

#ifdef __cplusplus
}
#endif

#endif
