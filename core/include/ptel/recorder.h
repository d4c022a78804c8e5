/* ptel — the plugin-side recorder: spans and metrics of one invocation,
 * encoded as a PluginTelemetry message.
 *
 * Include <ptel/ptel.h> rather than this file directly. */
#ifndef PTEL_RECORDER_H
#define PTEL_RECORDER_H

#include "common.h"
#include "context.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One invocation's recorder. All memory of spans and metrics lives in one
 * arena that `ptel_recorder_reset` rewinds, so a reused recorder allocates
 * nothing per span once warm.
 *
 * Thread-safety: none. A recorder and its spans and instruments belong to one
 * thread at a time; use one recorder per concurrent invocation. */
typedef struct ptel_recorder ptel_recorder;

/** A span handle. Owned by its recorder: valid until the recorder is reset
 * or freed, and still valid (read-only) after `ptel_span_end`. */
typedef struct ptel_span ptel_span;

/** An instrument handle, owned by its recorder like spans. */
typedef struct ptel_metric ptel_metric;

/** Options for `ptel_recorder_new`. Initialise with `ptel_recorder_options_init`
 * so that fields added later get their defaults. */
typedef struct ptel_recorder_options {
    uint32_t version;         /**< PTEL_RECORDER_OPTIONS_VERSION */
    ptel_allocator allocator; /**< NULL realloc = libc */
    ptel_clock clock;         /**< NULL callbacks = system clocks */
    ptel_id_generator ids;    /**< NULL fill = OS-seeded xoshiro256** */
    bool strict;              /**< return errors instead of counting them (tests) */
} ptel_recorder_options;

enum { PTEL_RECORDER_OPTIONS_VERSION = 1 };

/** Fill `opts` with defaults. */
PTEL_API void ptel_recorder_options_init(ptel_recorder_options *opts);

/** Create a recorder for one invocation under `ctx`. The context is borrowed:
 * it must outlive the recorder (or its next reset). `opts` may be NULL. On
 * success `*out` is owned by the caller and released with `ptel_recorder_free`. */
PTEL_API int ptel_recorder_new(ptel_recorder **out, const ptel_context *ctx,
                               const ptel_recorder_options *opts);

/** Rewind for a new invocation under `ctx` (borrowed, as in `ptel_recorder_new`),
 * keeping allocated memory. Every span and instrument handle of the previous
 * invocation becomes invalid. */
PTEL_API int ptel_recorder_reset(ptel_recorder *rec, const ptel_context *ctx);

/** Release the recorder, its spans, instruments and output buffer. NULL is a no-op. */
PTEL_API void ptel_recorder_free(ptel_recorder *rec);

/** True when the host's decision lets this recorder record spans. This is
 * the disabled path: one call of a few instructions (about 2 ns), which the
 * bindings make before any other work and a C plugin should make before it
 * builds attributes. Calls on the non-recording span stay valid without it,
 * each a call that returns at once (start + set_attributes + end: about
 * 5 ns). */
PTEL_API bool ptel_recorder_is_recording(const ptel_recorder *rec);

/** The context this recorder was created under (borrowed from the recorder). */
PTEL_API const ptel_context *ptel_recorder_context(const ptel_recorder *rec);

/** Current time as the recorder stamps it: the context's time base plus
 * monotonic time elapsed since the recorder started. */
PTEL_API uint64_t ptel_recorder_now(const ptel_recorder *rec);

/** Why calls were refused or data dropped so far (also carried in the payload). */
typedef struct ptel_drop_counts {
    uint32_t spans;         /**< spans refused by the span_count limit */
    uint32_t metrics;       /**< instruments refused (limit, invalid name or unit, conflict) */
    uint32_t metric_points; /**< measurements refused (invalid value or instrument) */
    uint32_t errors;        /**< API misuse: invalid arguments, calls in the wrong state */
} ptel_drop_counts;

/** Copy the drop counters into `out`. */
PTEL_API void ptel_recorder_drops(const ptel_recorder *rec, ptel_drop_counts *out);

/** Add drops a binding counted on its side (calls it refused without
 * crossing into C) to the recorder's counters, saturating. */
PTEL_API void ptel_recorder_add_drops(ptel_recorder *rec, const ptel_drop_counts *add);

/* ---- spans ----------------------------------------------------------------- */

/** Start a span named `name` (UTF-8, `name_len` bytes). `parent` is another
 * span of this recorder, or NULL for the context's span. `kind` is a
 * ptel_span_kind (UNSPECIFIED becomes INTERNAL); `start_unix_nano` 0 means now.
 *
 * Under a DROP decision, or when the span limit is reached, `*out` is the
 * recorder's non-recording span, which carries the context's span for
 * propagation; calls on it do nothing and allocate nothing. `*out` is never
 * NULL when `rec` is valid, so the plugin can always continue.
 *
 * Errors: the recorder counts refused calls and dropped data in its drop
 * counters and returns 0, so plugin code need not check; with
 * `ptel_recorder_options.strict` it returns the status instead. */
PTEL_API int ptel_span_start(ptel_span **out, ptel_recorder *rec, const ptel_span *parent,
                             const char *name, size_t name_len, uint32_t kind,
                             uint64_t start_unix_nano);

/** ptel_span_start, then ptel_span_set_attributes of `attrs[0..count)` on
 * the new span, in one call: for bindings whose every call into C costs
 * (Python passes a span's attributes with its start). The attributes are
 * copied; the caller keeps ownership of `attrs`. Returns the first non-zero
 * status of the two steps (0 unless strict). When `*out` is the
 * non-recording span (DROP decision, span limit), `attrs` is not read. */
PTEL_API int ptel_span_start_with_attributes(ptel_span **out, ptel_recorder *rec,
                                             const ptel_span *parent, const char *name,
                                             size_t name_len, uint32_t kind,
                                             uint64_t start_unix_nano, const ptel_attr *attrs,
                                             size_t count);

/** Set attributes. A key already present is overwritten; a new key beyond the
 * attribute_count limit is dropped and counted in dropped_attributes_count.
 * Strings and byte arrays longer than the limit are truncated (UTF-8 safe). */
PTEL_API int ptel_span_set_attributes(ptel_span *span, const ptel_attr *attrs, size_t count);

/** Add an event; `time_unix_nano` 0 means now. */
PTEL_API int ptel_span_add_event(ptel_span *span, const char *name, size_t name_len,
                                 uint64_t time_unix_nano, const ptel_attr *attrs, size_t count);

/** Add a link to another span context (`tracestate` may be NULL/0). */
PTEL_API int ptel_span_add_link(ptel_span *span, const ptel_span_context *linked,
                                const char *tracestate, size_t tracestate_len,
                                const ptel_attr *attrs, size_t count);

/** Set the status, by OpenTelemetry's rules: UNSET is ignored, OK is final,
 * the description is kept only for ERROR. */
PTEL_API int ptel_span_set_status(ptel_span *span, uint32_t code, const char *description,
                                  size_t description_len);

/** Record an exception: an "exception" event with exception.type,
 * exception.message and exception.stacktrace (each omitted when NULL), and
 * status ERROR with the message as description. */
PTEL_API int ptel_span_record_exception(ptel_span *span, const char *type, size_t type_len,
                                        const char *message, size_t message_len,
                                        const char *stacktrace, size_t stacktrace_len,
                                        uint64_t time_unix_nano);

/** Change the span's name. */
PTEL_API int ptel_span_update_name(ptel_span *span, const char *name, size_t name_len);

/** End the span; `end_unix_nano` 0 means now. Later calls on the span are
 * ignored (counted as errors). The span stays usable as a parent. */
PTEL_API int ptel_span_end(ptel_span *span, uint64_t end_unix_nano);

/** The span's context for propagation, always valid for a valid recorder. A
 * non-recording span reports the context's span (ids and trace flags as the
 * host sent them), so downstream calls still continue the host's trace. */
PTEL_API void ptel_span_get_context(const ptel_span *span, ptel_span_context *out);

/** True when the span records (false for non-recording spans). */
PTEL_API bool ptel_span_is_recording(const ptel_span *span);

/** A whole span in one call, for bindings that buffer on their side (Go). */
typedef struct ptel_event_data {
    ptel_str name;
    uint64_t time_unix_nano; /**< 0 = now */
    const ptel_attr *attrs;
    size_t attr_count;
} ptel_event_data;

typedef struct ptel_link_data {
    ptel_span_context context;
    ptel_str tracestate;
    const ptel_attr *attrs;
    size_t attr_count;
} ptel_link_data;

typedef struct ptel_span_data {
    const ptel_span *parent; /**< NULL = `parent_span_id`, or the context's span */
    /** 8 bytes naming a parent span of this recorder by id, for bindings that
     * record a child before its parent (Go records spans when they end); used
     * when `parent` is NULL. NULL = the context's span. */
    const uint8_t *parent_span_id;
    ptel_str name;
    uint32_t kind;
    uint64_t start_unix_nano; /**< 0 = now */
    uint64_t end_unix_nano;   /**< 0 = now */
    const ptel_attr *attrs;
    size_t attr_count;
    const ptel_event_data *events;
    size_t event_count;
    const ptel_link_data *links;
    size_t link_count;
    uint32_t status_code;
    ptel_str status_description;
    const uint8_t *span_id; /**< 8 bytes to use as the span id, or NULL to generate */
    /** Drops the binding counted on its side (it bounds its own buffers),
     * added to what the recorder counts itself. */
    uint32_t dropped_attributes_count;
    uint32_t dropped_events_count;
    uint32_t dropped_links_count;
    bool open; /**< record but do not end: reported as an open span at finish */
} ptel_span_data;

/** Record a complete span: the same as start, attributes, events, links,
 * status and end, in one crossing. `*out` (may be NULL) receives the span. */
PTEL_API int ptel_span_record(ptel_span **out, ptel_recorder *rec, const ptel_span_data *data);

/** Start a span with a caller-chosen span id (8 bytes, non-zero, unique within
 * the recorder): for bindings that start the span on their side. */
PTEL_API int ptel_span_start_with_id(ptel_span **out, ptel_recorder *rec, const ptel_span *parent,
                                     const char *name, size_t name_len, uint32_t kind,
                                     uint64_t start_unix_nano, const uint8_t span_id[8]);

/* ---- metrics --------------------------------------------------------------- */

/** Instrument kinds of protocol v1. */
typedef enum ptel_metric_kind {
    PTEL_METRIC_COUNTER = 1,        /**< monotonic Sum; negative increments refused */
    PTEL_METRIC_UPDOWN_COUNTER = 2, /**< non-monotonic Sum */
    PTEL_METRIC_GAUGE = 3,          /**< last value */
    PTEL_METRIC_HISTOGRAM = 4       /**< explicit-bucket histogram */
} ptel_metric_kind;

/** Number type of an instrument's measurements. */
typedef enum ptel_number_type { PTEL_NUMBER_INT = 1, PTEL_NUMBER_DOUBLE = 2 } ptel_number_type;

/** Describes an instrument. Strings are borrowed for the call. */
typedef struct ptel_metric_options {
    uint32_t version;     /**< PTEL_METRIC_OPTIONS_VERSION */
    uint32_t kind;        /**< ptel_metric_kind */
    uint32_t number_type; /**< ptel_number_type */
    ptel_str name;        /**< OpenTelemetry grammar, at most 255 characters */
    ptel_str unit;        /**< UCUM, ASCII, at most 63 characters; may be empty */
    ptel_str description;
    const double *bounds; /**< histogram bucket bounds, strictly increasing; NULL =
                               the OpenTelemetry defaults */
    size_t bound_count;
} ptel_metric_options;

enum { PTEL_METRIC_OPTIONS_VERSION = 1 };

/** Fill `opts` with defaults (a double counter with no name). */
PTEL_API void ptel_metric_options_init(ptel_metric_options *opts);

/** Get or create the instrument `opts->name` (names compare case-insensitively).
 * Asking again with the same description returns the same handle; a different
 * kind, number type, unit or bounds is PTEL_E_CONFLICT. */
PTEL_API int ptel_metric_get(ptel_metric **out, ptel_recorder *rec,
                             const ptel_metric_options *opts);

/** Record an integer measurement with attributes. `span` (may be NULL) is the
 * active span: when it is sampled the measurement becomes the data point's
 * exemplar. Counter: add (must be >= 0); up-down counter: add; gauge: set;
 * histogram: record. */
PTEL_API int ptel_metric_record_int(ptel_metric *metric, int64_t value, const ptel_attr *attrs,
                                    size_t count, const ptel_span *span);

/** Record a floating-point measurement; NaN and infinities are refused for
 * counters and histograms, accepted for gauges. */
PTEL_API int ptel_metric_record_double(ptel_metric *metric, double value, const ptel_attr *attrs,
                                       size_t count, const ptel_span *span);

/** As `ptel_metric_record_int`, naming the active span by its context rather
 * than a handle (for bindings that record spans on their side, such as Go):
 * the measurement becomes the exemplar when `active` is valid, in this
 * recorder's trace, and sampled. `active` may be NULL. */
PTEL_API int ptel_metric_record_int_ctx(ptel_metric *metric, int64_t value, const ptel_attr *attrs,
                                        size_t count, const ptel_span_context *active);

/** As `ptel_metric_record_double`, with the active span named by its context. */
PTEL_API int ptel_metric_record_double_ctx(ptel_metric *metric, double value,
                                           const ptel_attr *attrs, size_t count,
                                           const ptel_span_context *active);

/** The OpenTelemetry default explicit bucket bounds (15 values), static. */
PTEL_API const double *ptel_default_histogram_bounds(size_t *count);

/* ---- finishing ------------------------------------------------------------- */

/** Encode the invocation's PluginTelemetry into the recorder's own buffer.
 * `*out` stays valid until the recorder is reset or freed. Spans still open
 * are reported as open spans. After finish, recording calls are refused. */
PTEL_API int ptel_recorder_finish(ptel_recorder *rec, const uint8_t **out, size_t *out_len);

/** Encode into a caller buffer. With `buf` NULL or `cap` too small, returns
 * PTEL_E_BUFFER_TOO_SMALL and stores the size needed in `*out_len`; the call
 * can then be repeated with a larger buffer. */
PTEL_API int ptel_recorder_finish_into(ptel_recorder *rec, uint8_t *buf, size_t cap,
                                       size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
