/* ptel — the host side: the trusted invocation span, validation of the
 * untrusted PluginTelemetry a plugin hands back, assembly of OTLP export
 * requests, and cumulative aggregation of the plugins' metric deltas.
 *
 * The life of one plugin invocation:
 *
 *   ptel_invocation_begin()     host span opened, PluginContext built
 *   ptel_invocation_context()   -> encode it and hand it to the plugin
 *   ... the plugin runs and returns PluginTelemetry bytes ...
 *   ptel_invocation_end()       validate the payload, close the host span
 *   ptel_invocation_export_traces() / _export_metrics() / ptel_aggregator_add()
 *   ptel_invocation_free()
 *
 * Telemetry never fails the plugin: every call here is total. A malformed or
 * hostile payload is dropped wholly or in part, counted per reason in a
 * ptel_report, and the plugin's own result is untouched.
 *
 * ## Validation rules and what each drops
 *
 * Each rule has a reason (PTEL_REASON_MAP). A reason is counted once per
 * dropped or modified element; a dropped span or metric counts only the
 * reason that dropped it, not the problems of its contents.
 *
 * Whole payload (ptel_invocation_end returns PTEL_E_REJECTED; only the host's
 * invocation span remains to export):
 *   too_large   payload longer than limits.payload_bytes
 *   malformed   a wire-level error in any part the host reads: truncated
 *               varint, length past the end, a known field with the wrong
 *               wire type, group wire types, field number 0, bad packing.
 *               The host reads the top level, every span's and metric's
 *               own fields, and the whole of each span and metric it keeps;
 *               parts it drops unread (a dropped span's attributes and
 *               events, unknown fields, unsupported metric types, values
 *               nested past the depth limit) are not inspected
 *   version     protocol_version absent or not 1 (an empty payload is not an
 *               error: it means "no telemetry", e.g. after a crash)
 *
 * One span (ended or open):
 *   span_count        spans beyond limits.span_count, in payload order
 *   feature           spans when PTEL_FEATURE_SPANS is not accepted, open spans
 *                     when PTEL_FEATURE_OPEN_SPANS is not
 *   not_sampled       any span under a DROP decision, or under RECORD_ONLY
 *                     unless policy.accept_record_only
 *   trace_id_mismatch trace_id absent or not the invocation's trace id
 *   span_id_zero      span_id absent, all zero or not 8 bytes
 *   span_id_host      span_id equals the invocation span's id
 *   span_id_duplicate span_id already used by an earlier span of the payload
 *   parent_unknown    parent_span_id absent, not 8 bytes, or neither the
 *                     invocation span nor a span of the payload that is kept
 *                     (so children of dropped spans and parent cycles drop)
 *   end_before_start  an ended span whose end precedes its start
 *   time_window       start or end outside [invocation start - slack,
 *                     invocation end + slack] when policy.time_policy is
 *                     PTEL_TIME_REJECT (with PTEL_TIME_CLAMP the times are
 *                     clamped into the window and the span is kept)
 *   utf8              invalid UTF-8 in the span name, trace_state or status
 *                     message
 *   invalid_value     kind above CONSUMER (5) or status code above ERROR (2)
 * One event (counted in the span's dropped_events_count):
 *   utf8 (event name), time_window (REJECT policy), event_count (events
 *   beyond limits.event_count)
 * One link (counted in dropped_links_count):
 *   invalid_link (trace or span id zero or of the wrong length), utf8
 *   (trace_state), link_count (beyond limits.link_count)
 * One attribute of a span, event, link, data point or exemplar (counted in
 * the owner's dropped_attributes_count where OTLP has one):
 *   utf8 (key, or any string inside the value), empty_key (the key, or a key
 *   inside a kvlist value), reserved_key (see ptel_host_policy), duplicate_key
 *   (a key already used earlier in the same list, or repeated inside a kvlist
 *   value: the first occurrence wins), attribute_count (beyond
 *   limits.attribute_count / attributes_per_event / attributes_per_link;
 *   data-point attributes are exempt from count and length limits as in
 *   OpenTelemetry)
 * Modified and kept:
 *   string_length  a string (characters) or byte array (bytes) longer than
 *                  limits.attribute_value_length, at any depth, is truncated
 *   depth          an array or kvlist nested deeper than limits.attribute_depth
 *                  (capped at PTEL_HOST_MAX_DEPTH) becomes an empty value
 *   time_window    times clamped under PTEL_TIME_CLAMP
 *   open_span      a span listed in open_spans is ended by the host at the
 *                  invocation's end with status ERROR and an error.type
 *                  attribute (the invocation's error type, or "span_not_ended"
 *                  when the invocation succeeded); an error.type the plugin
 *                  set is replaced, and it takes one slot of the attribute
 *                  count limit
 *   unknown_field  a field unknown to the OTLP schema inside a span, metric or
 *                  their parts is removed (unknown PluginTelemetry fields,
 *                  such as the reserved 10 and 11, are skipped silently)
 * One metric:
 *   feature (metrics not in the host's feature bits), metric_count (beyond
 *   limits.metric_count), metric_name (grammar ALPHA 0*254 (ALPHA / DIGIT /
 *   "_" / "." / "-" / "/")), metric_unit (printable ASCII, at most 63), utf8
 *   (description), metric_type (no data, or summary / exponential histogram:
 *   not in v1), temporality (a sum or histogram that is not DELTA),
 *   metric_conflict (a name already used, case-insensitively, earlier in the
 *   payload)
 * One data point:
 *   invalid_value (no value; a non-finite sum value; a negative monotonic sum;
 *   histogram bounds not finite and strictly increasing, bucket counts not
 *   bounds + 1 or not adding up to count, non-finite sum/min/max or min >
 *   max), end_before_start (start after time), time_window (REJECT policy),
 *   metric_conflict (a number type, or histogram bounds, differing from the
 *   metric's first point)
 *   cardinality    points beyond limits.metric_cardinality distinct
 *                  attribute sets are merged (kept) into the set
 *                  {otel.metric.overflow=true}; points with equal attribute
 *                  sets are merged silently (sums add, gauges keep the last)
 * One exemplar:
 *   feature (exemplars not accepted), trace_id_mismatch, parent_unknown (span
 *   id neither the invocation span nor a kept span), invalid_value (no value),
 *   time_window (REJECT policy; clamped otherwise)
 *
 * Validation is idempotent: what the host exports, fed back as a payload of
 * the same invocation, passes unchanged (the fuzz target checks this).
 *
 * Cost: memory in proportion to the payload (a table of spans, an index of
 * their ids, decoded data points, re-encodings of changed spans) in the
 * invocation's arena, which `ptel_invocation_reset` reuses: a warm
 * invocation allocates nothing. One walk over each span reads its fields
 * and checks its attributes, events and links; only a span that needs a
 * change gets a second, full validation pass, which re-encodes it. No work
 * is quadratic in the input: duplicate keys are found by comparing
 * signatures for small lists and by sorting large ones, and span ids go
 * through a hash table that falls back to sorting when probes run long.
 *
 * A span that passes with no change is exported as the plugin's exact bytes
 * (a pointer into the payload: no copy, no re-encoding). A changed span or
 * metric is re-encoded canonically (fields ascending, defaults omitted) into
 * the invocation's arena; what is exported is exactly what was validated.
 *
 * Include <ptel/ptel.h> rather than this file directly. */
#ifndef PTEL_HOST_H
#define PTEL_HOST_H

#include "common.h"
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- reasons --------------------------------------------------------------- */

/* Why host validation dropped or changed something. Values are pinned
 * forever and only appended; names are stable snake_case strings, used as
 * metric attribute values.
 * X(NAME, value, "name", "message") */
#define PTEL_REASON_MAP(X)                                                                         \
    X(MALFORMED, 0, "malformed", "malformed protobuf wire data")                                   \
    X(TOO_LARGE, 1, "too_large", "payload larger than the limit")                                  \
    X(VERSION, 2, "version", "missing or unsupported protocol version")                            \
    X(DEPTH, 3, "depth", "attribute value nested too deep; replaced by an empty value")            \
    X(TRACE_ID_MISMATCH, 4, "trace_id_mismatch", "trace id differs from the invocation's")         \
    X(PARENT_UNKNOWN, 5, "parent_unknown",                                                         \
      "parent is neither the invocation span nor a kept span")                                     \
    X(SPAN_ID_ZERO, 6, "span_id_zero", "span id missing, zero or not 8 bytes")                     \
    X(SPAN_ID_DUPLICATE, 7, "span_id_duplicate", "span id used by an earlier span")                \
    X(SPAN_ID_HOST, 8, "span_id_host", "span id reuses the invocation span's id")                  \
    X(END_BEFORE_START, 9, "end_before_start", "end time before start time")                       \
    X(TIME_WINDOW, 10, "time_window", "time outside the invocation window")                        \
    X(UTF8, 11, "utf8", "invalid UTF-8")                                                           \
    X(STRING_LENGTH, 12, "string_length", "string or bytes value truncated to the limit")          \
    X(ATTRIBUTE_COUNT, 13, "attribute_count", "attribute beyond the count limit")                  \
    X(EVENT_COUNT, 14, "event_count", "event beyond the count limit")                              \
    X(LINK_COUNT, 15, "link_count", "link beyond the count limit")                                 \
    X(SPAN_COUNT, 16, "span_count", "span beyond the count limit")                                 \
    X(RESERVED_KEY, 17, "reserved_key", "attribute key reserved for the host")                     \
    X(METRIC_NAME, 18, "metric_name", "invalid metric name")                                       \
    X(METRIC_UNIT, 19, "metric_unit", "invalid metric unit")                                       \
    X(METRIC_TYPE, 20, "metric_type", "metric data type not supported")                            \
    X(METRIC_CONFLICT, 21, "metric_conflict", "metric or point conflicts with an earlier one")     \
    X(CARDINALITY, 22, "cardinality", "attribute set merged into the overflow set")                \
    X(INVALID_VALUE, 23, "invalid_value", "value missing or out of range")                         \
    X(NOT_SAMPLED, 24, "not_sampled", "span sent although the decision does not export it")        \
    X(OPEN_SPAN, 25, "open_span", "open span ended by the host with status ERROR")                 \
    X(DUPLICATE_KEY, 26, "duplicate_key", "attribute key repeated")                                \
    X(METRIC_COUNT, 27, "metric_count", "metric beyond the count limit")                           \
    X(EMPTY_KEY, 28, "empty_key", "empty attribute key")                                           \
    X(TEMPORALITY, 29, "temporality", "metric temporality is not delta")                           \
    X(FEATURE, 30, "feature", "data of a feature the host does not accept")                        \
    X(UNKNOWN_FIELD, 31, "unknown_field", "unknown field removed")                                 \
    X(INVALID_LINK, 32, "invalid_link", "link with a zero or malformed id")

/** Validation reasons; see PTEL_REASON_MAP. */
typedef enum ptel_reason {
#define PTEL__REASON_ENUM(name, value, str, msg) PTEL_REASON_##name = value,
    PTEL_REASON_MAP(PTEL__REASON_ENUM)
#undef PTEL__REASON_ENUM
        PTEL_REASON_COUNT /**< number of reasons; the size of ptel_report.reasons */
} ptel_reason;

/** Stable snake_case name of a reason ("trace_id_mismatch"), or "unknown".
 * Static string. */
PTEL_API const char *ptel_reason_name(int reason);

/** English message for a reason, or "unknown reason". Static string. */
PTEL_API const char *ptel_reason_message(int reason);

/** Number of reasons (PTEL_REASON_COUNT), for bindings. */
PTEL_API uint32_t ptel_reason_count(void);

/* ---- policy ---------------------------------------------------------------- */

/** What to do with times outside the invocation window. */
typedef enum ptel_time_policy {
    PTEL_TIME_CLAMP = 0, /**< move them to the window's edge and keep the data */
    PTEL_TIME_REJECT = 1 /**< drop the span, event, data point or exemplar */
} ptel_time_policy;

/** Deepest attribute-value nesting the host walks, whatever the limits say. */
enum { PTEL_HOST_MAX_DEPTH = 64 };

/** Host validation policy. Initialise with `ptel_host_policy_init`; all
 * pointers are borrowed for the duration of `ptel_invocation_begin`, which
 * copies what it keeps. */
typedef struct ptel_host_policy {
    uint32_t version;       /**< PTEL_HOST_POLICY_VERSION */
    ptel_limits limits;     /**< enforced and sent to the plugin; zero fields = defaults */
    uint64_t time_slack_ns; /**< window slack on each side; default 1 s */
    uint32_t time_policy;   /**< ptel_time_policy; default PTEL_TIME_CLAMP */
    /** Attribute keys a plugin may not set on spans, events, links, data
     * points or exemplars. An entry ending in '.' reserves a prefix. NULL with
     * count 0 = the defaults: service.name, service.namespace, service.version,
     * service.instance.id, telemetry.sdk., telemetry.distro., plugin.name,
     * plugin.hook, plugin.version, plugin.outcome. (A data point may carry
     * otel.metric.overflow: the recorder caps its own cardinality with it.) */
    const ptel_str *reserved_keys;
    size_t reserved_key_count;
    bool accept_record_only; /**< keep spans under RECORD_ONLY (for SDK adapters whose
                                  processors want them); default false */
    bool copy_payload;       /**< copy the payload into the invocation so the caller may
                                  reuse its buffer; default false (the payload is borrowed) */
} ptel_host_policy;

enum { PTEL_HOST_POLICY_VERSION = 1 };

/** Fill `policy` with the defaults. */
PTEL_API void ptel_host_policy_init(ptel_host_policy *policy);

/* ---- report ---------------------------------------------------------------- */

/** What validation of one payload did. Plain value filled by
 * `ptel_invocation_end`; no pointers except `first.reason` (static). */
typedef struct ptel_report {
    int32_t status;          /**< 0, or PTEL_E_REJECTED when the whole payload was dropped */
    uint32_t spans_accepted; /**< spans that will be exported (open spans included) */
    uint32_t spans_dropped;  /**< spans dropped, one reason each */
    uint32_t spans_modified; /**< accepted spans that were re-encoded */
    uint32_t open_spans;     /**< accepted spans the host ended */
    uint32_t metrics_accepted;
    uint32_t metrics_dropped;
    uint32_t points_accepted;      /**< data points kept (after merging) */
    uint32_t points_dropped;       /**< data points dropped from kept metrics (merged points are
                                        not dropped; points of dropped metrics are not counted) */
    uint32_t plugin_dropped_spans; /**< DropCounts the plugin reported, as received */
    uint32_t plugin_dropped_metrics;
    uint32_t plugin_dropped_points;
    uint32_t plugin_errors;
    uint32_t reasons[PTEL_REASON_COUNT]; /**< occurrences per ptel_reason */
    int32_t first_reason;                /**< reason of the first problem, or -1 */
    ptel_diag first;                     /**< where the first problem was: offset into the payload,
                                              field number, static message; status is the wire status
                                              (e.g. PTEL_E_TRUNCATED) for a rejection, else 0 */
} ptel_report;

/** Render a report as one line of JSON (no trailing newline), e.g.
 * {"status":"ok","spans":{"accepted":2,"dropped":1,...},"reasons":{"utf8":1},...}.
 * Only non-zero reasons are listed. Writes a NUL after the JSON, so needs
 * `cap >= *len + 1`; with `buf` NULL or `cap` too small returns
 * PTEL_E_BUFFER_TOO_SMALL with the length in `*len`. */
PTEL_API int ptel_report_to_json(const ptel_report *report, char *buf, size_t cap, size_t *len);

/* ---- invocation ------------------------------------------------------------ */

/** One plugin invocation as the host sees it: the invocation span, the
 * PluginContext handed to the plugin, and after `ptel_invocation_end` the
 * validated telemetry. All its memory lives in one arena, which
 * `ptel_invocation_reset` rewinds for the next invocation.
 *
 * Thread-safety: begin, end and reset on one thread at a time; after
 * `ptel_invocation_end` returns, the read-only calls (export, context,
 * `ptel_aggregator_add`) may run concurrently from any number of threads,
 * until the next reset or free. Separate invocations share nothing. */
typedef struct ptel_invocation ptel_invocation;

/** How the invocation ended. */
typedef enum ptel_outcome {
    PTEL_OUTCOME_OK = 0,
    PTEL_OUTCOME_ERROR = 1,   /**< the plugin reported an error */
    PTEL_OUTCOME_TIMEOUT = 2, /**< the host gave up waiting */
    PTEL_OUTCOME_CRASH = 3    /**< the plugin crashed or its process died */
} ptel_outcome;

/** Options for `ptel_invocation_begin`. Initialise with
 * `ptel_invocation_options_init`. Strings and arrays are borrowed for the
 * call only. */
typedef struct ptel_invocation_options {
    uint32_t version; /**< PTEL_INVOCATION_OPTIONS_VERSION */
    /** The host's active span: parent of the invocation span. A trace id with
     * a zero span id = the invocation span is the root of that trace; all zero
     * = start a new trace with a random trace id and the random flag. */
    ptel_span_context parent;
    ptel_str tracestate; /**< of the parent; invalid values are dropped, as W3C says */
    ptel_str baggage;    /**< already filtered by the host; invalid values are dropped */
    uint32_t decision;   /**< ptel_decision for the invocation and plugin spans */
    ptel_str plugin_name;
    ptel_str plugin_version;
    ptel_str hook;
    ptel_str span_name; /**< invocation span name; empty = "plugin.execute" */
    /** The invocation span's id; all zero = generate one. SDK adapters that
     * open a real SDK span for the invocation pass its id here (and export
     * with include_invocation_span false). */
    uint8_t span_id[8];
    uint64_t start_unix_nano;    /**< 0 = the clock's realtime now */
    uint64_t features;           /**< PTEL_FEATURE_* the host accepts; 0 = all of v1 */
    bool context_is_remote;      /**< tell the plugin its parent is remote (out of process) */
    const ptel_attr *attributes; /**< extra attributes of the invocation span
                                      (e.g. plugin.mode); non-empty UTF-8 keys */
    size_t attribute_count;
    const ptel_host_policy *policy; /**< NULL = ptel_host_policy_init defaults */
    ptel_clock clock;               /**< NULL callbacks = system clocks */
    ptel_id_generator ids;          /**< NULL fill = OS-seeded generator */
    ptel_allocator allocator;       /**< NULL realloc = libc */
} ptel_invocation_options;

enum { PTEL_INVOCATION_OPTIONS_VERSION = 1 };

/** Fill `opts` with the defaults (no parent, decision RECORD_AND_SAMPLE). */
PTEL_API void ptel_invocation_options_init(ptel_invocation_options *opts);

/** Open the invocation span and build the plugin's PluginContext (its
 * parent is the invocation span). On success `*out` is owned by the caller
 * and released with `ptel_invocation_free`. Fails with
 * PTEL_E_INVALID_ARGUMENT (NULL arguments, bad option version or decision,
 * empty attribute key), PTEL_E_UTF8, PTEL_E_DEPTH (attribute values nested
 * deeper than PTEL_HOST_MAX_DEPTH) or PTEL_E_NOMEM; `*out` is then NULL. */
PTEL_API int ptel_invocation_begin(ptel_invocation **out, const ptel_invocation_options *opts,
                                   ptel_diag *diag);

/** The PluginContext to hand to the plugin (encode it with
 * `ptel_context_encode` or `ptel_context_to_env`). Borrowed: valid until
 * `ptel_invocation_free`. */
PTEL_API const ptel_context *ptel_invocation_context(const ptel_invocation *inv);

/** The invocation span's own context (trace id, span id, flags), for
 * propagation from the host. */
PTEL_API void ptel_invocation_span_context(const ptel_invocation *inv, ptel_span_context *out);

/** End the invocation: stamp the invocation span's end, set its outcome
 * (attribute plugin.outcome = "ok" / "error" / "timeout" / "crash"; on
 * anything but OK, status ERROR and error.type = `error_type`, or the outcome
 * name when `error_type` is empty, "_OTHER" for ERROR), and validate
 * `payload` by the rules at the top of this file.
 *
 * `payload` is borrowed: unless policy.copy_payload, it must stay valid and
 * unchanged until `ptel_invocation_free`, since accepted spans point into it.
 * `payload` may be NULL with `len` 0 (no telemetry).
 *
 * `report` (may be NULL) receives the counts. Returns 0 even when parts
 * were dropped; PTEL_E_REJECTED (with `diag` filled) when the whole payload
 * was; PTEL_E_STATE when called twice; PTEL_E_INVALID_ARGUMENT for a NULL
 * `inv`, NULL payload with non-zero length, an outcome out of range or
 * invalid UTF-8 in `error_type`; PTEL_E_NOMEM when the arena cannot grow
 * (then the plugin's telemetry is dropped and report.status is PTEL_E_NOMEM). After any
 * status but PTEL_E_STATE and a NULL `inv`, the invocation is ended and can
 * be exported. Never aborts on any payload. */
PTEL_API int ptel_invocation_end(ptel_invocation *inv, const uint8_t *payload, size_t len,
                                 uint32_t outcome, const char *error_type, size_t error_type_len,
                                 ptel_report *report, ptel_diag *diag);

/** Release the invocation, its context and arena. NULL is a no-op. */
PTEL_API void ptel_invocation_free(ptel_invocation *inv);

/** Begin a new invocation on `inv`, reusing its memory: the same as
 * `ptel_invocation_free` followed by `ptel_invocation_begin` with `opts`,
 * except that the arena chunks and scratch space `inv` grew for earlier
 * invocations are kept (the PluginContext lives in the arena too). A host
 * serving many invocations keeps one `ptel_invocation` per worker and resets
 * it: once warm (the payloads no larger than before), begin, end and export
 * allocate nothing. `inv` stays owned by the caller.
 *
 * Everything the previous invocation handed out (its context, the export
 * of its spans, the payload it borrowed) is released: call it only after
 * the last read of the previous invocation has returned. When `opts->allocator`
 * is not the allocator of `inv`'s memory, that memory is released and the
 * new allocator used from then on (nothing is reused this time); the
 * `ptel_invocation` object itself stays with the allocator that created it.
 *
 * Errors as `ptel_invocation_begin`. On PTEL_E_INVALID_ARGUMENT, PTEL_E_UTF8
 * or PTEL_E_DEPTH (bad options) `inv` is unchanged. On any other failure it
 * holds no invocation: `ptel_invocation_end`, the exports and
 * `ptel_aggregator_add` return PTEL_E_STATE and `ptel_invocation_context`
 * NULL, until a reset succeeds; it must still be freed.
 *
 * Thread-safety: as `ptel_invocation_end` (one thread at a time, no other
 * call on `inv` running). */
PTEL_API int ptel_invocation_reset(ptel_invocation *inv, const ptel_invocation_options *opts,
                                   ptel_diag *diag);

/* ---- export ---------------------------------------------------------------- */

/** Options for the export calls. Initialise with `ptel_export_options_init`.
 * Pointers are borrowed for the call. */
typedef struct ptel_export_options {
    uint32_t version;                     /**< PTEL_EXPORT_OPTIONS_VERSION */
    const ptel_attr *resource_attributes; /**< the host's Resource (service.name, ...) */
    size_t resource_attribute_count;
    ptel_str resource_schema_url; /**< ResourceSpans/ResourceMetrics.schema_url; may be empty */
    ptel_str host_scope_name;     /**< scope of the invocation span; empty = "ptel" */
    ptel_str host_scope_version;  /**< empty = ptel_version() */
    bool include_invocation_span; /**< default true; false when an SDK adapter exports
                                       the invocation span as its own SDK span */
} ptel_export_options;

enum { PTEL_EXPORT_OPTIONS_VERSION = 1 };

/** Fill `opts` with the defaults. */
PTEL_API void ptel_export_options_init(ptel_export_options *opts);

/** Write an ExportTraceServiceRequest (= OTLP TracesData) holding one
 * ResourceSpans: the Resource, a ScopeSpans for the host scope with the
 * invocation span (when included and the decision records it), and a
 * ScopeSpans for the plugin's scope (name = plugin name, version = plugin
 * version) with the accepted plugin spans, whose bytes are copied verbatim.
 * Canonical field order; ScopeSpans without spans are omitted, and when no
 * span remains at all the request is empty (`*out_len` 0, nothing to send).
 *
 * Size query as in zstd: with `buf` NULL or `cap` too small, returns
 * PTEL_E_BUFFER_TOO_SMALL with the size in `*out_len` and writes nothing.
 * PTEL_E_STATE before `ptel_invocation_end`. `opts` NULL = defaults. */
PTEL_API int ptel_invocation_export_traces(const ptel_invocation *inv,
                                           const ptel_export_options *opts, uint8_t *buf,
                                           size_t cap, size_t *out_len);

/** Write an ExportMetricsServiceRequest (= OTLP MetricsData) with one
 * ResourceMetrics: the Resource and a ScopeMetrics for the plugin's scope
 * holding the accepted per-invocation DELTA metrics. Empty when there are
 * none. Size query and errors as `ptel_invocation_export_traces`. */
PTEL_API int ptel_invocation_export_metrics(const ptel_invocation *inv,
                                            const ptel_export_options *opts, uint8_t *buf,
                                            size_t cap, size_t *out_len);

/** Splice entry point for hosts that batch many invocations into one
 * request: write only the `ResourceSpans.scope_spans` fields (each one
 * complete with its tag 0x12 and length) that `ptel_invocation_export_traces`
 * would write. Concatenate the output of many invocations after a
 * `0A len Resource` field to form one ResourceSpans body (and `0x1A` schema
 * URL last, if any). Size query as above; may be empty. */
PTEL_API int ptel_invocation_export_scope_spans(const ptel_invocation *inv,
                                                const ptel_export_options *opts, uint8_t *buf,
                                                size_t cap, size_t *out_len);

/** As `ptel_invocation_export_scope_spans`, for the `ResourceMetrics.scope_metrics`
 * fields (tag 0x12) of `ptel_invocation_export_metrics`. */
PTEL_API int ptel_invocation_export_scope_metrics(const ptel_invocation *inv,
                                                  const ptel_export_options *opts, uint8_t *buf,
                                                  size_t cap, size_t *out_len);

/** Wrap spliced ScopeSpans (`scope_spans`, the concatenated output of
 * `ptel_invocation_export_scope_spans`) into a complete
 * ExportTraceServiceRequest with the Resource of `opts`. Empty output when
 * `scope_spans_len` is 0. Size query as above. */
PTEL_API int ptel_export_traces_wrap(const ptel_export_options *opts, const uint8_t *scope_spans,
                                     size_t scope_spans_len, uint8_t *buf, size_t cap,
                                     size_t *out_len);

/** As `ptel_export_traces_wrap`, for ScopeMetrics into an
 * ExportMetricsServiceRequest. */
PTEL_API int ptel_export_metrics_wrap(const ptel_export_options *opts, const uint8_t *scope_metrics,
                                      size_t scope_metrics_len, uint8_t *buf, size_t cap,
                                      size_t *out_len);

/* ---- aggregation ----------------------------------------------------------- */

/** Cumulative metric streams folded from many invocations' validated deltas,
 * keyed by (plugin scope name and version, metric name case-insensitively,
 * attribute set), each with a stable start time.
 *
 * Thread-safety: every call but `ptel_aggregator_free` takes the
 * aggregator's mutex, so any number of threads may add and export
 * concurrently. */
typedef struct ptel_aggregator ptel_aggregator;

/** Export temporality. */
typedef enum ptel_temporality {
    PTEL_TEMPORALITY_CUMULATIVE = 2, /**< OTLP AGGREGATION_TEMPORALITY_CUMULATIVE */
    PTEL_TEMPORALITY_DELTA = 1       /**< OTLP AGGREGATION_TEMPORALITY_DELTA */
} ptel_temporality;

/** Options for `ptel_aggregator_new`. Initialise with
 * `ptel_aggregator_options_init`. */
typedef struct ptel_aggregator_options {
    uint32_t version;           /**< PTEL_AGGREGATOR_OPTIONS_VERSION */
    uint32_t cardinality_limit; /**< attribute sets per metric, including the overflow
                                     set {otel.metric.overflow=true}; default 2000 */
    uint32_t metric_limit;      /**< metrics in total; more are dropped; default 4096 */
    ptel_clock clock;           /**< NULL = system clocks (start and export times) */
    ptel_allocator allocator;   /**< NULL realloc = libc */
} ptel_aggregator_options;

enum { PTEL_AGGREGATOR_OPTIONS_VERSION = 1 };

/** Fill `opts` with the defaults. */
PTEL_API void ptel_aggregator_options_init(ptel_aggregator_options *opts);

/** Create an aggregator. `opts` NULL = defaults. On success `*out` is owned
 * by the caller (`ptel_aggregator_free`). */
PTEL_API int ptel_aggregator_new(ptel_aggregator **out, const ptel_aggregator_options *opts);

/** Release the aggregator. Not thread-safe: no other call may be running.
 * NULL is a no-op. */
PTEL_API void ptel_aggregator_free(ptel_aggregator *agg);

/** Fold the accepted metrics of an ended invocation into the streams. The
 * aggregator copies what it keeps; `inv` may be freed afterwards. A stream's
 * start time is the start time of the first point that created it. Sums add,
 * histograms add counts, buckets and sums and keep min/max, gauges keep the
 * last value added. A metric whose kind, monotonicity, unit, number type or
 * histogram bounds differ from the stream already registered under its name
 * is dropped and counted (ptel_aggregator_stats.points_conflicting). Exemplars
 * are not aggregated. Returns 0, PTEL_E_STATE before `ptel_invocation_end`,
 * PTEL_E_INVALID_ARGUMENT or PTEL_E_NOMEM. */
PTEL_API int ptel_aggregator_add(ptel_aggregator *agg, const ptel_invocation *inv);

/** Write an ExportMetricsServiceRequest with one ResourceMetrics (the
 * Resource of `opts`) and one ScopeMetrics per plugin scope, metrics and
 * streams in first-seen order. With PTEL_TEMPORALITY_CUMULATIVE every stream
 * is written as its total since its start time. With PTEL_TEMPORALITY_DELTA,
 * monotonic sums and histograms are written as the change since the previous
 * successful delta export (start time = that export), streams without
 * change are omitted, and up-down counters stay cumulative, as the OTLP
 * exporter's delta preference says; gauges are always their last value.
 * A successful delta export resets the deltas.
 *
 * Size query as in zstd, but since other threads may add in between, the
 * size can grow: retry while PTEL_E_BUFFER_TOO_SMALL (a failed call changes
 * nothing). Empty output when no stream exists. */
PTEL_API int ptel_aggregator_export(ptel_aggregator *agg, const ptel_export_options *opts,
                                    uint32_t temporality, uint8_t *buf, size_t cap,
                                    size_t *out_len);

/** Aggregator counters. */
typedef struct ptel_aggregator_stats {
    uint64_t invocations;        /**< invocations added */
    uint64_t points_added;       /**< data points folded into streams */
    uint64_t points_overflowed;  /**< of those, folded into an overflow stream */
    uint64_t points_conflicting; /**< data points dropped as conflicts */
    uint64_t metrics_dropped;    /**< metrics dropped by metric_limit */
    uint32_t metrics;            /**< metrics registered */
    uint32_t streams;            /**< streams registered */
} ptel_aggregator_stats;

/** Read the counters (under the mutex). */
PTEL_API void ptel_aggregator_get_stats(ptel_aggregator *agg, ptel_aggregator_stats *out);

#ifdef __cplusplus
}
#endif

#endif
