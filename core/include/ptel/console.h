/* ptel — console rendering: a trace tree and a metrics table, for humans.
 *
 * Turns an ExportTraceServiceRequest and an ExportMetricsServiceRequest (the
 * bytes `ptel_invocation_export_traces` / `_export_metrics` write, or any
 * OTLP TracesData / MetricsData) into UTF-8 text for a terminal:
 *
 *   trace 4bf92f3577b34da6a3ce929d0e0e4736  service.name=ptel-demo
 *   └─ plugin.execute [ptel 0.1.0] 12.000 ms ✓ OK plugin.name=pii_filter
 *      └─ pii.scan [pii_filter 1.0.0] 8.000 ms ✗ ERROR: boom bytes=42
 *            • exception +2.000 ms exception.type=ValueError
 *
 *   metrics  service.name=ptel-demo
 *     NAME            UNIT         TYPE             ATTRIBUTES  VALUE
 *     [pii_filter 1.0.0]
 *     pii.detections  {detection}  counter delta    kind=email  3 ⟂ exemplar span=00f067aa0ba902b7
 *
 * ## Trace tree
 *
 * Spans are grouped by trace id (traces in the order their first span
 * appears) and nested by parent_span_id within a trace. A span whose parent
 * is not in the input is a root; so is every span on a cycle of parent links
 * (marked "(parent cycle)"). Roots and siblings are ordered by start time,
 * then span id, then input order. The header line holds the trace id and the
 * attributes of the Resource of the trace's first span. Each span line holds:
 * tree glyphs, the name, `[scope version]` when the scope differs from the
 * parent's (for a root: when it is not empty), the duration in milliseconds
 * with 3 decimals (rounded to the microsecond; "(not ended)" without an end
 * time), `✓ OK` or `✗ ERROR: message` (nothing when UNSET), the kind unless
 * INTERNAL or UNSPECIFIED, the attributes, and the dropped counts when not 0.
 * Events follow as `• name +0.123 ms k=v` (offset from the span's start) and
 * links as `↔ traceid/spanid k=v`.
 *
 * ## Metrics table
 *
 * One table per ResourceMetrics, one `[scope version]` line per ScopeMetrics
 * and one row per data point: name, unit, type (counter / updown / gauge /
 * histogram / exp-histogram / summary, with the temporality), attributes and
 * value: the number for sums and gauges, `count= sum= min= max=` and the
 * non-zero buckets as `buckets=[≤5:1,>10:2]` for histograms. Every exemplar
 * adds `⟂ exemplar span=<id>`. The name, unit, type and attribute columns are
 * padded to the widest cell (counted in code points), but never beyond
 * PTEL_CONSOLE_MAX_COLUMN; a wider cell shifts the rest of its row only.
 *
 * ## Values
 *
 * Attributes print as `k=v`: ints in decimal, bools as true/false, doubles as
 * ptel_json_format_double does (NaN and ±Infinity unquoted), bytes as 0x and
 * lowercase hex, arrays as [a,b], maps as {k=v,k2=v2}, an AnyValue with no
 * member as (empty). A string is quoted ("...", with \" and \\) when it is
 * empty or contains a space, one of ,=[]{}"\ or a character that must be
 * escaped. Everything taken from the input is made safe for a terminal:
 * control characters, C1 controls, line separators and bidirectional
 * overrides become \n \t \r or \uXXXX, and bytes that are not UTF-8 become
 * \xNN; names and messages are not quoted but escaped the same way.
 *
 * ## Bounds
 *
 * The input is untrusted; rendering is total and bounded. At most
 * PTEL_CONSOLE_MAX_SPANS spans (the first in input order) are placed in the
 * tree, and a final line counts the others. Tree levels beyond
 * PTEL_CONSOLE_MAX_DEPTH are summarised in one line per cut subtree ("… N
 * more spans"). Attribute values nested deeper than
 * PTEL_CONSOLE_MAX_VALUE_DEPTH print as […] or {…}. Text that is repeated
 * on many lines (a trace header's resource attributes, a span's scope, a
 * metric's name and unit) is cut after PTEL_CONSOLE_MAX_CLIP code points,
 * with an ellipsis. Only what is printed is decoded; what is decoded is
 * checked (framing and wire types of known fields; unknown fields are
 * skipped). Scratch memory is proportional to the number of spans; output
 * and work are proportional to the input (a constant factor for padding,
 * prefixes, escapes and clipped repeats).
 *
 * Output is deterministic: no clock, no locale, no environment.
 *
 * Include <ptel/ptel.h> rather than this file directly. */
#ifndef PTEL_CONSOLE_H
#define PTEL_CONSOLE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Flags for ptel_console_render (bitwise or). */
typedef enum ptel_console_flag {
    /** Pure ASCII output: glyphs become |- `- | * <-> OK ERROR ... <= and
     * every non-ASCII character of the input is escaped as \uXXXX. */
    PTEL_CONSOLE_ASCII = 1,
    /** Append `id=<span id>` to every span line (to match exemplars and links). */
    PTEL_CONSOLE_SPAN_IDS = 2,
    PTEL_CONSOLE_FLAGS_ALL = 3 /**< every flag this version knows */
} ptel_console_flag;

/** Rendering bounds (see the file comment). */
enum {
    PTEL_CONSOLE_MAX_SPANS = 10000,    /**< spans placed in the tree */
    PTEL_CONSOLE_MAX_DEPTH = 32,       /**< tree levels printed, roots included */
    PTEL_CONSOLE_MAX_VALUE_DEPTH = 16, /**< array/kvlist levels of an attribute value */
    PTEL_CONSOLE_MAX_COLUMN = 40,      /**< widest padding of a metrics table column */
    PTEL_CONSOLE_MAX_CLIP = 256        /**< code points of text repeated on many lines */
};

/** Render `traces[0..traces_len)`, an ExportTraceServiceRequest, as a trace
 * tree, followed by `metrics[0..metrics_len)`, an ExportMetricsServiceRequest,
 * as a metrics table, into the caller's `buf`. Either input may be empty
 * (NULL with length 0); sections are separated by one empty line and every
 * line ends with "\n". Empty inputs give empty output.
 *
 * On success writes exactly `*out_len` bytes to `buf` (no NUL terminator)
 * and returns 0. When `buf` is NULL or `cap` is smaller than the output,
 * returns PTEL_E_BUFFER_TOO_SMALL with `*out_len` set to the size needed (a
 * size query); `buf[0..cap)` is then unspecified. `out_len` may be NULL.
 * `flags` is a set of ptel_console_flag. `alloc` (NULL for libc) provides
 * scratch memory for the span index, released before returning.
 *
 * Errors: PTEL_E_INVALID_ARGUMENT (unknown flag, or an input NULL with a
 * non-zero length), PTEL_E_TRUNCATED or PTEL_E_MALFORMED (bad wire data, or
 * a known field with the wrong wire type), PTEL_E_NOMEM (scratch memory, or
 * an output larger than SIZE_MAX). `diag` gets the byte offset into the two
 * inputs as if concatenated (an offset >= traces_len is at offset -
 * traces_len in `metrics`) and the field number. A malformed input is
 * reported as such even when `buf` is too small. Nothing is retained. */
PTEL_API int ptel_console_render(char *buf, size_t cap, size_t *out_len, const uint8_t *traces,
                                 size_t traces_len, const uint8_t *metrics, size_t metrics_len,
                                 uint32_t flags, const ptel_allocator *alloc, ptel_diag *diag);

/** Like ptel_console_render, but allocates the output with `alloc` (NULL
 * for libc), which also provides the scratch memory. On success `*out` holds
 * `*out_len` bytes of text followed by a NUL terminator (the allocation is
 * `*out_len + 1` bytes) and the caller owns it: release it with
 * ptel_console_free and the same allocator. On failure `*out` is NULL and
 * `*out_len` is 0. */
PTEL_API int ptel_console_render_alloc(char **out, size_t *out_len, const uint8_t *traces,
                                       size_t traces_len, const uint8_t *metrics,
                                       size_t metrics_len, uint32_t flags,
                                       const ptel_allocator *alloc, ptel_diag *diag);

/** Free text returned by ptel_console_render_alloc. `len` is the `*out_len`
 * it returned; `alloc` must be the allocator passed to it (NULL for libc).
 * NULL `text` is a no-op. */
PTEL_API void ptel_console_free(char *text, size_t len, const ptel_allocator *alloc);

#ifdef __cplusplus
}
#endif

#endif
