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
 * are borrowed for the call; as output of `ptel_context_get` they borrow from
 * the context and live as long as it does. */
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

/** Build a context from fields, validating ids (non-zero), tracestate and
 * baggage grammar, UTF-8 of the names and the decision. `alloc` may be NULL.
 * On success `*out` is owned by the caller (`ptel_context_free`). */
PTEL_API int ptel_context_new(ptel_context **out, const ptel_context_fields *f,
                              const ptel_allocator *alloc, ptel_diag *diag);

/** Build a context from W3C header values (tracestate and baggage may be NULL
 * or empty). The decision follows the sampled flag: RECORD_AND_SAMPLE when
 * set, DROP otherwise; is_remote is true. An invalid traceparent fails with
 * PTEL_E_TRACEPARENT; an invalid tracestate or baggage is dropped (empty), as
 * W3C requires, and does not fail the call. */
PTEL_API int ptel_context_from_w3c(ptel_context **out, const char *traceparent,
                                   size_t traceparent_len, const char *tracestate,
                                   size_t tracestate_len, const char *baggage, size_t baggage_len,
                                   const ptel_allocator *alloc, ptel_diag *diag);

/** Decode PluginContext bytes. Unknown fields are skipped; a different
 * protocol major version fails with PTEL_E_VERSION. */
PTEL_API int ptel_context_decode(ptel_context **out, const uint8_t *data, size_t len,
                                 const ptel_allocator *alloc, ptel_diag *diag);

/** Encode as PluginContext bytes (canonical profile). With `buf` NULL or
 * `cap` too small, returns PTEL_E_BUFFER_TOO_SMALL with the size needed in
 * `*out_len`. */
PTEL_API int ptel_context_encode(const ptel_context *ctx, uint8_t *buf, size_t cap,
                                 size_t *out_len);

/** Environment lookup callback: the value of `name`, or NULL when unset. */
typedef const char *(*ptel_getenv_fn)(void *ud, const char *name);

/** Build a context from the environment carrier: PTEL_CONTEXT (base64
 * PluginContext) when present, else TRACEPARENT, TRACESTATE and BAGGAGE.
 * `getenv_fn` NULL reads the process environment. PTEL_E_NOT_FOUND when
 * neither PTEL_CONTEXT nor TRACEPARENT is set. */
PTEL_API int ptel_context_from_env(ptel_context **out, ptel_getenv_fn getenv_fn, void *ud,
                                   const ptel_allocator *alloc, ptel_diag *diag);

/** Write the environment carrier as NUL-terminated "NAME=value" entries, one
 * after another (TRACEPARENT, TRACESTATE and BAGGAGE when non-empty, then
 * PTEL_CONTEXT), ready to append to a child's envp. Size query as in
 * `ptel_context_encode`. */
PTEL_API int ptel_context_to_env(const ptel_context *ctx, char *buf, size_t cap, size_t *out_len);

/** The `traceparent` value of the context's span (55 characters, NUL
 * terminated, so `cap` >= 56). */
PTEL_API int ptel_context_traceparent(const ptel_context *ctx, char *buf, size_t cap,
                                      size_t *out_len);

/** Read the fields (strings borrowed from `ctx`). */
PTEL_API void ptel_context_get(const ptel_context *ctx, ptel_context_fields *out);

/** Release a context. NULL is a no-op. */
PTEL_API void ptel_context_free(ptel_context *ctx);

#ifdef __cplusplus
}
#endif

#endif
