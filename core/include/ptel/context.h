/* ptel — PluginContext: what the host hands a plugin, in binary, W3C string
 * and environment-variable form.
 *
 * Include <ptel/ptel.h> rather than this file directly. */
#ifndef PTEL_CONTEXT_H
#define PTEL_CONTEXT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An immutable, validated PluginContext. Once built it is never modified,
 * so it may be shared read-only between threads. */
typedef struct ptel_context ptel_context;

/** Feature bits the host accepts in PluginTelemetry. 0 in a context means the
 * v1 baseline, which is all of them. */
enum {
    PTEL_FEATURE_SPANS = 1u << 0,
    PTEL_FEATURE_METRICS = 1u << 1,
    PTEL_FEATURE_EXEMPLARS = 1u << 2,
    PTEL_FEATURE_OPEN_SPANS = 1u << 3,
    PTEL_FEATURES_V1 = 0xf
};

/** The fields of a PluginContext. As input to `ptel_context_new` the strings
 * are borrowed for the call (a NULL `ptr` is allowed with `len` 0); as output
 * of `ptel_context_get` they borrow from the context, live as long as it
 * does, and are NUL-terminated (the NUL is not counted in `len`). */
typedef struct ptel_context_fields {
    uint32_t protocol_version;    /**< PTEL_PROTOCOL_VERSION */
    ptel_span_context parent;     /**< trace id, parent span id (the host's invocation span),
                                       all 8 trace-flag bits, is_remote */
    ptel_str tracestate;          /**< W3C tracestate, validated and normalised on input */
    ptel_str baggage;             /**< W3C baggage, already filtered by the host; read-only */
    uint32_t decision;            /**< ptel_decision */
    ptel_limits limits;           /**< zero fields mean the defaults */
    uint64_t time_base_unix_nano; /**< host wall time at invocation start; 0 = unknown */
    ptel_str plugin_name;
    ptel_str plugin_version;
    ptel_str hook;
    uint64_t features; /**< PTEL_FEATURE_* bits, 0 = PTEL_FEATURES_V1 */
} ptel_context_fields;

/** Zero `f` and set the protocol version. */
PTEL_API void ptel_context_fields_init(ptel_context_fields *f);

/** Build a context from fields. Fails with PTEL_E_VERSION when
 * `protocol_version` is not PTEL_PROTOCOL_VERSION, PTEL_E_INVALID_ID for an
 * all-zero trace id or parent span id, PTEL_E_VALUE for a decision above
 * RECORD_AND_SAMPLE, PTEL_E_UTF8 for a string that is not UTF-8,
 * PTEL_E_TRACESTATE / PTEL_E_BAGGAGE for an invalid list (see
 * `ptel_tracestate_normalize`, `ptel_baggage_normalize`), PTEL_E_LIMIT when
 * the encoding would exceed 64 KiB, PTEL_E_NOMEM. `diag->field` names the
 * PluginContext field at fault. The tracestate and baggage are stored in
 * their normalised form, so the encoding is canonical. Limits are stored as
 * given (zeros stay zeros; consumers call `ptel_limits_resolve`).
 *
 * The context is one allocation from `alloc` (NULL = libc), which it keeps
 * for `ptel_context_free`. On success `*out` is owned by the caller; on
 * failure `*out` is NULL. */
PTEL_API int ptel_context_new(ptel_context **out, const ptel_context_fields *f,
                              const ptel_allocator *alloc, ptel_diag *diag);

/** Build a context from W3C header values (tracestate and baggage may be NULL
 * or empty; several headers of one kind must be joined with ',' first). The
 * trace flags are kept as received (all 8 bits); the decision follows the
 * sampled flag: RECORD_AND_SAMPLE when set, DROP otherwise; is_remote is
 * true; limits, time base, names and features are zero. An invalid
 * traceparent fails with PTEL_E_TRACEPARENT; an invalid tracestate or
 * baggage is dropped (empty), as W3C requires, and does not fail the call or
 * touch `diag`. Ownership as in `ptel_context_new`. */
PTEL_API int ptel_context_from_w3c(ptel_context **out, const char *traceparent,
                                   size_t traceparent_len, const char *tracestate,
                                   size_t tracestate_len, const char *baggage, size_t baggage_len,
                                   const ptel_allocator *alloc, ptel_diag *diag);

/** Decode PluginContext bytes, which are only read during the call.
 *
 * Unknown fields of wire types VARINT, I64, LEN and I32 are skipped (inside
 * `limits` too); groups and reserved wire types are PTEL_E_MALFORMED, as is a
 * known field with the wrong wire type. For a repeated field the last
 * occurrence wins, and repeated `limits` messages merge (protobuf rules);
 * values are checked after that. Errors: PTEL_E_LIMIT for input over 64 KiB;
 * PTEL_E_TRUNCATED / PTEL_E_MALFORMED for broken wire data; PTEL_E_VERSION
 * when protocol_version is absent or not 1; PTEL_E_INVALID_ID when the trace
 * id or parent span id is missing, of the wrong length or all zero;
 * PTEL_E_VALUE for trace_flags above 255, a decision above 2 or a limit
 * above 2^32-1; then every check of `ptel_context_new`. `diag` gives the
 * byte offset into `data` and the field number. Ownership as in
 * `ptel_context_new`. */
PTEL_API int ptel_context_decode(ptel_context **out, const uint8_t *data, size_t len,
                                 const ptel_allocator *alloc, ptel_diag *diag);

/** Encode as PluginContext bytes (canonical profile: ascending field
 * numbers, defaults omitted, minimal varints; protocol_version always
 * written). Never more than 64 KiB. With `buf` NULL or `cap` too small,
 * returns PTEL_E_BUFFER_TOO_SMALL with the size needed in `*out_len` and
 * writes nothing. */
PTEL_API int ptel_context_encode(const ptel_context *ctx, uint8_t *buf, size_t cap,
                                 size_t *out_len);

/** Environment lookup callback: the value of `name`, or NULL when unset. */
typedef const char *(*ptel_getenv_fn)(void *ud, const char *name);

/** Build a context from the environment carrier: PTEL_CONTEXT (base64,
 * RFC 4648 with padding, of PluginContext bytes) when set and non-empty,
 * else TRACEPARENT, TRACESTATE and BAGGAGE as in `ptel_context_from_w3c`.
 * A PTEL_CONTEXT that is set but invalid fails with its own error
 * (PTEL_E_MALFORMED for bad base64, else as `ptel_context_decode`); there is
 * no fallback to TRACEPARENT. An empty variable counts as unset.
 * PTEL_E_NOT_FOUND when neither PTEL_CONTEXT nor TRACEPARENT is set.
 * `getenv_fn` NULL reads the process environment with getenv(), which is
 * not safe against a concurrent setenv(). The returned strings are only
 * read during the call. Ownership as in `ptel_context_new`. */
PTEL_API int ptel_context_from_env(ptel_context **out, ptel_getenv_fn getenv_fn, void *ud,
                                   const ptel_allocator *alloc, ptel_diag *diag);

/** Write the environment carrier as NUL-terminated "NAME=value" entries, one
 * after another (TRACEPARENT, TRACESTATE and BAGGAGE when non-empty, then
 * PTEL_CONTEXT), ready to append to a child's envp. `*out_len` counts every
 * byte including each entry's NUL; no extra terminator is added. TRACEPARENT
 * carries only the sampled and random flags (see `ptel_traceparent_format`);
 * PTEL_CONTEXT carries everything. Size query as in `ptel_context_encode`;
 * no allocation. */
PTEL_API int ptel_context_to_env(const ptel_context *ctx, char *buf, size_t cap, size_t *out_len);

/** The `traceparent` value of the context's span: version 00, 55
 * characters plus a NUL, so `cap` >= 56 (else PTEL_E_BUFFER_TOO_SMALL with
 * `*out_len` = 55). Flag bits other than sampled and random are written as
 * zero. */
PTEL_API int ptel_context_traceparent(const ptel_context *ctx, char *buf, size_t cap,
                                      size_t *out_len);

/** Read the fields (strings borrowed from `ctx`, NUL-terminated). A NULL
 * `ctx` gives all-zero fields. */
PTEL_API void ptel_context_get(const ptel_context *ctx, ptel_context_fields *out);

/** Release a context. NULL is a no-op. */
PTEL_API void ptel_context_free(ptel_context *ctx);

#ifdef __cplusplus
}
#endif

#endif
