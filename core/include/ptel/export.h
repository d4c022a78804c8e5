/* ptel — the host's built-in exporters: OTLP/HTTP (protobuf, optional gzip),
 * OTLP/JSON lines file, console and in-memory.
 *
 *   ptel_exporter_options_init(&opts);
 *   ptel_exporter_options_from_env(&opts, NULL, NULL, &diag);  // OTEL_* variables
 *   ptel_exporter_new(&exp, &opts, &diag);
 *   ... per invocation, after ptel_invocation_end:
 *   ptel_exporter_submit_invocation(exp, inv);                 // never blocks on I/O
 *   ...
 *   ptel_exporter_shutdown(exp, 5000);                         // flush, stop the thread
 *   ptel_exporter_free(exp);
 *
 * ## Pipeline
 *
 * A submit copies the request bytes and returns. Traces are exported as
 * submitted; an invocation's metric deltas go into a ptel_aggregator inside
 * the exporter and are exported, with the temporality preference, on every
 * metric cycle (each `metric_interval_ms`, each flush and at shutdown),
 * together with the exporter's self-telemetry (see below).
 *
 * OTLP/HTTP: submitted requests wait in a bounded queue per signal
 * (`max_queue_bytes`, `max_queue_requests` each, so a flood of traces never
 * crowds out a metric cycle; a request that does not fit is dropped and
 * counted as PTEL_EXPORT_DROP_QUEUE_FULL). One background thread takes up to
 * `max_batch_bytes` of queued requests per signal (concatenated: the
 * concatenation of ExportTraceServiceRequest encodings is itself one, since
 * resource_spans is a repeated field), at the latest `schedule_delay_ms`
 * after the oldest was queued, and POSTs it to the signal's URL with
 * Content-Type application/x-protobuf. Retryable failures (HTTP 429, 502,
 * 503, 504, connection errors and timeouts) are retried with exponential
 * backoff and full jitter (a random wait in [0, min(max, initial * 2^n)]),
 * waiting at least what a Retry-After header asks (seconds or an HTTP date),
 * until `retry_max_elapsed_ms` since the first attempt or a flush/shutdown
 * deadline passes. A 2xx response's partial_success counts rejected_spans /
 * rejected_data_points as PTEL_EXPORT_DROP_PARTIAL; another status drops the
 * batch (PTEL_EXPORT_DROP_REJECTED when not retryable, _RETRIES when retries
 * ran out). libcurl is loaded at run time (dlopen "libcurl.so.4") by
 * `ptel_exporter_new`, and zlib ("libz.so.1") when gzip is asked for, so no
 * build of ptel needs their headers; a missing library fails
 * `ptel_exporter_new` with PTEL_E_UNSUPPORTED and a diag naming it.
 *
 * JSON lines, console, memory: synchronous. A submit writes (or keeps) the
 * request at once, under the exporter's mutex; there is no queue and no
 * thread. JSON lines writes each request as one line of canonical OTLP/JSON
 * (`ptel_json_render`), the format of the OpenTelemetry Collector's file
 * exporter. Console writes `ptel_console_render` text. Memory keeps each
 * request for `ptel_exporter_memory_get`.
 *
 * ## Self-telemetry
 *
 * The exporter counts, per plugin (the invocation's plugin name) and reason
 * (`ptel_reason_name`), what the host received, accepted and dropped, and its
 * own export outcomes, and exports them as cumulative metrics of the scope
 * "ptel" with the exporter's resource on every metric cycle (unless
 * `self_telemetry` is false).  PROTOCOL.md §7.6 lists them:
 * ptel.host.invocations, ptel.host.spans.received/.accepted/.dropped,
 * ptel.host.points.received/.accepted/.dropped, ptel.exporter.requests,
 * ptel.exporter.items.sent, ptel.exporter.items.dropped,
 * ptel.exporter.retries and the gauge ptel.exporter.queue.size.
 *
 * Thread-safety: every call but `ptel_exporter_free` may be made from any
 * number of threads at once.
 *
 * WASM and Windows: the exporter is compiled out; `ptel_exporter_new`
 * returns PTEL_E_UNSUPPORTED (the options functions still work).
 *
 * Include <ptel/ptel.h> rather than this file directly. */
#ifndef PTEL_EXPORT_H
#define PTEL_EXPORT_H

#include "common.h"
#include "context.h"
#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A built-in exporter. Created by `ptel_exporter_new`, owned by the caller,
 * released by `ptel_exporter_free`. */
typedef struct ptel_exporter ptel_exporter;

/** Where an exporter sends what it is given. */
typedef enum ptel_exporter_kind {
    PTEL_EXPORTER_NONE = 0,      /**< discard everything (OTEL_SDK_DISABLED=true) */
    PTEL_EXPORTER_OTLP_HTTP = 1, /**< OTLP/HTTP protobuf to a collector */
    PTEL_EXPORTER_JSONL = 2,     /**< OTLP/JSON lines to a file or fd */
    PTEL_EXPORTER_CONSOLE = 3,   /**< trace tree and metrics table to an fd */
    PTEL_EXPORTER_MEMORY = 4     /**< keep the requests, for tests */
} ptel_exporter_kind;

/** OTLP/HTTP body compression (OTEL_EXPORTER_OTLP_COMPRESSION). */
typedef enum ptel_compression {
    PTEL_COMPRESSION_NONE = 0,
    PTEL_COMPRESSION_GZIP = 1 /**< Content-Encoding: gzip */
} ptel_compression;

/** OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE. Plugins record only
 * synchronous instruments, so DELTA and LOWMEMORY export the same: counters
 * and histograms as deltas, up-down counters cumulative; gauges are their
 * last value either way. */
typedef enum ptel_temporality_preference {
    PTEL_TEMPORALITY_PREFERENCE_CUMULATIVE = 0,
    PTEL_TEMPORALITY_PREFERENCE_DELTA = 1,
    PTEL_TEMPORALITY_PREFERENCE_LOWMEMORY = 2
} ptel_temporality_preference;

/** Options for `ptel_exporter_new`. Initialise with
 * `ptel_exporter_options_init`, then optionally
 * `ptel_exporter_options_from_env`. Every pointer is borrowed until
 * `ptel_exporter_new` returns; it copies what it keeps. Strings are not
 * NUL-terminated unless stated. */
typedef struct ptel_exporter_options {
    uint32_t version; /**< PTEL_EXPORTER_OPTIONS_VERSION */
    uint32_t kind;    /**< ptel_exporter_kind; default PTEL_EXPORTER_JSONL */

    /* OTLP/HTTP */
    /** Base URL (OTEL_EXPORTER_OTLP_ENDPOINT): "v1/traces" and "v1/metrics"
     * are appended (after a "/" when it does not end with one). Default
     * "http://localhost:4318". */
    ptel_str endpoint;
    ptel_str traces_endpoint;  /**< full URL used as-is; overrides `endpoint` for traces */
    ptel_str metrics_endpoint; /**< full URL used as-is; overrides `endpoint` for metrics */
    /** Extra request headers, in the OTEL_EXPORTER_OTLP_HEADERS form:
     * "key=value,key2=value2", keys and values percent-decoded, blanks
     * around them trimmed. Validated by `ptel_exporter_new`. */
    ptel_str headers;
    ptel_str traces_headers;  /**< as `headers`, traces only; a key here replaces the same key */
    ptel_str metrics_headers; /**< as `headers`, metrics only */
    uint32_t timeout_ms;      /**< per request; default (and 0) 10000 */
    uint32_t compression;     /**< ptel_compression; default NONE */

    /* Resource */
    ptel_str service_name; /**< service.name; empty = "unknown_service" (OTel default) */
    /** OTEL_RESOURCE_ATTRIBUTES form "k=v,k2=v2" (percent-decoded string
     * values); `service_name`, when set, wins over a service.name here. */
    ptel_str resource_attributes;
    const ptel_attr *resource; /**< more resource attributes; win over both strings above */
    size_t resource_count;

    /* Metrics */
    uint32_t temporality;         /**< ptel_temporality_preference; default CUMULATIVE */
    uint32_t metric_interval_ms;  /**< OTLP/HTTP metric cycle; default 60000; 0 = only at
                                       flush and shutdown, which always run one */
    bool self_telemetry;          /**< export ptel.host.* / ptel.exporter.* metrics; default true */
    bool include_invocation_span; /**< as ptel_export_options; default true */

    /* Queue and batching (OTLP/HTTP) */
    uint32_t max_queue_bytes;      /**< per signal; default (and 0) 8 MiB */
    uint32_t max_queue_requests;   /**< per signal; default (and 0) 2048 */
    uint32_t max_batch_bytes;      /**< one POST carries at most this much (or one larger
                                        request alone); default (and 0) 1 MiB; a full
                                        batch leaves at once */
    uint32_t schedule_delay_ms;    /**< longest wait before a queued request is sent;
                                        default 1000; 0 = at once */
    uint32_t retry_initial_ms;     /**< first backoff bound; default (and 0) 1000 */
    uint32_t retry_max_ms;         /**< largest backoff bound; default (and 0) 30000 */
    uint32_t retry_max_elapsed_ms; /**< give up a batch this long after its first attempt;
                                        default 60000; 0 = no retries */

    /* JSONL and console */
    /** NUL-terminated file path; JSONL appends to it (created 0644).
     * NULL = write to `fd`. */
    const char *path;
    int32_t fd;             /**< used when `path` is NULL; default 1 (stdout); not closed */
    uint32_t console_flags; /**< ptel_console_flag bits */

    ptel_clock clock;         /**< NULL callbacks = system clocks */
    ptel_allocator allocator; /**< NULL realloc = libc; must be thread-safe */
} ptel_exporter_options;

enum { PTEL_EXPORTER_OPTIONS_VERSION = 1 };

/** Fill `opts` with the defaults listed beside each field. */
PTEL_API void ptel_exporter_options_init(ptel_exporter_options *opts);

/** The variables `ptel_exporter_options_from_env` reads, in the order it
 * reads them; `ptel_diag.field` names the one of a problem. */
typedef enum ptel_exporter_env {
    PTEL_ENV_SDK_DISABLED = 1,
    PTEL_ENV_ENDPOINT = 2,
    PTEL_ENV_TRACES_ENDPOINT = 3,
    PTEL_ENV_METRICS_ENDPOINT = 4,
    PTEL_ENV_HEADERS = 5,
    PTEL_ENV_TRACES_HEADERS = 6,
    PTEL_ENV_METRICS_HEADERS = 7,
    PTEL_ENV_TIMEOUT = 8,
    PTEL_ENV_TRACES_TIMEOUT = 9,
    PTEL_ENV_METRICS_TIMEOUT = 10,
    PTEL_ENV_COMPRESSION = 11,
    PTEL_ENV_TRACES_COMPRESSION = 12,
    PTEL_ENV_METRICS_COMPRESSION = 13,
    PTEL_ENV_SERVICE_NAME = 14,
    PTEL_ENV_RESOURCE_ATTRIBUTES = 15,
    PTEL_ENV_TEMPORALITY_PREFERENCE = 16,
    PTEL_ENV_PROTOCOL = 17,
    PTEL_ENV_TRACES_PROTOCOL = 18,
    PTEL_ENV_METRICS_PROTOCOL = 19,
    PTEL_ENV_COUNT = 20 /**< one past the last */
} ptel_exporter_env;

/** Name of a ptel_exporter_env variable ("OTEL_EXPORTER_OTLP_TIMEOUT"), or
 * "unknown". Static string. */
PTEL_API const char *ptel_exporter_env_name(int var);

/** Apply the standard OpenTelemetry environment variables to `opts`:
 * OTEL_SDK_DISABLED ("true", any case: kind NONE), OTEL_EXPORTER_OTLP_ENDPOINT
 * and the _TRACES_ / _METRICS_ variants of ENDPOINT, HEADERS, TIMEOUT (ms) and
 * COMPRESSION ("gzip" or "none"; the signal variants win over the generic
 * one; OTLP/HTTP uses one timeout and compression for both signals, so a
 * traces variant wins over a metrics one), OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE (cumulative, delta or
 * lowmemory, any case) and OTEL_EXPORTER_OTLP_PROTOCOL with its _TRACES_ /
 * _METRICS_ variants (only "http/protobuf" is supported: "grpc" or
 * "http/json" is reported as a bad value, and the exporter still speaks
 * http/protobuf). Setting any endpoint selects PTEL_EXPORTER_OTLP_HTTP.
 * Unset and empty variables leave their fields as they are.
 *
 * A variable with a bad value (a timeout that is not a decimal number of at
 * most 10 digits, an unknown compression or temporality, a headers or
 * resource list that does not parse, an endpoint that is not http:// or
 * https://) is ignored, the others still apply, and the call returns
 * PTEL_E_VALUE with `diag` naming the first such variable
 * (`diag->field` = its ptel_exporter_env, `diag->reason` = what is wrong).
 *
 * `getenv_fn` NULL reads the process environment. The strings it returns
 * are borrowed by `opts` (not copied) and must stay valid until
 * `ptel_exporter_new` returns. Returns 0, PTEL_E_VALUE or
 * PTEL_E_INVALID_ARGUMENT (`opts` NULL or of another version). */
PTEL_API int ptel_exporter_options_from_env(ptel_exporter_options *opts, ptel_getenv_fn getenv_fn,
                                            void *ud, ptel_diag *diag);

/** Create an exporter. On success `*out` is owned by the caller; for
 * OTLP/HTTP its thread is running. Fails with PTEL_E_INVALID_ARGUMENT (NULL
 * arguments, bad version or kind, a URL that is not http(s), a header list
 * that does not parse, an empty NUL-terminated `path`), PTEL_E_VALUE (bad
 * resource attributes), PTEL_E_IO (the JSONL file cannot be opened),
 * PTEL_E_UNSUPPORTED (libcurl or, with gzip, zlib cannot be loaded; or the
 * platform has no exporter), PTEL_E_NOMEM; `*out` is then NULL and `diag`
 * says why. */
PTEL_API int ptel_exporter_new(ptel_exporter **out, const ptel_exporter_options *opts,
                               ptel_diag *diag);

/** Shut down (with a deadline of 0: whatever is not sent is dropped and
 * counted) and release the exporter. Not thread-safe: no other call on `exp`
 * may be running. NULL is a no-op. */
PTEL_API void ptel_exporter_free(ptel_exporter *exp);

/** Submit an ended invocation: its traces (`ptel_invocation_export_traces`
 * with the exporter's resource) are queued or written, its metric deltas
 * are folded into the exporter's aggregator, and its report's counts go
 * into the self-telemetry under its plugin name. Copies what it needs; `inv`
 * may be reset or freed afterwards. Never blocks on the network.
 *
 * Returns 0 (also when the request was dropped because the queue is full:
 * that is counted, not an error), PTEL_E_STATE (invocation not ended, or the
 * exporter shut down: then nothing is counted), PTEL_E_INVALID_ARGUMENT,
 * PTEL_E_IO (a synchronous write failed; counted as PTEL_EXPORT_DROP_ERROR)
 * or PTEL_E_NOMEM. */
PTEL_API int ptel_exporter_submit_invocation(ptel_exporter *exp, const ptel_invocation *inv);

/** Submit an already-assembled ExportTraceServiceRequest (copied). Its
 * structure is checked (resource_spans / scope_spans / spans framing) to
 * count the spans; a malformed request is refused with PTEL_E_MALFORMED or
 * PTEL_E_TRUNCATED and counted nowhere. An empty request is a no-op.
 * Otherwise as `ptel_exporter_submit_invocation`. */
PTEL_API int ptel_exporter_submit_traces(ptel_exporter *exp, const uint8_t *request, size_t len);

/** As `ptel_exporter_submit_traces`, for an ExportMetricsServiceRequest,
 * which is exported as it is (not aggregated); data points are counted. */
PTEL_API int ptel_exporter_submit_metrics(ptel_exporter *exp, const uint8_t *request, size_t len);

/** Run a metric cycle (aggregated metrics and self-telemetry) and wait until
 * everything submitted before the call has been sent or dropped, or until
 * `deadline_ms` milliseconds have passed. Returns 0 when nothing is left,
 * PTEL_E_TIMEOUT when the deadline passed first (the rest stays queued and
 * is still sent later), PTEL_E_STATE after shutdown. */
PTEL_API int ptel_exporter_flush(ptel_exporter *exp, uint32_t deadline_ms);

/** Flush, then stop: wait up to `deadline_ms` for the queue to drain (a
 * retry wait is cut short by the deadline), stop the thread, drop and count
 * (PTEL_EXPORT_DROP_SHUTDOWN) whatever is left, and close the JSONL file.
 * Later submits return PTEL_E_STATE. Returns 0 when nothing was left,
 * PTEL_E_TIMEOUT otherwise, PTEL_E_STATE when already shut down. */
PTEL_API int ptel_exporter_shutdown(ptel_exporter *exp, uint32_t deadline_ms);

/** The signals an exporter carries. */
typedef enum ptel_export_signal {
    PTEL_EXPORT_SIGNAL_TRACES = 0,
    PTEL_EXPORT_SIGNAL_METRICS = 1,
    PTEL_EXPORT_SIGNAL_COUNT = 2
} ptel_export_signal;

/** Why the exporter dropped spans or data points. Values pinned, appended
 * only; names via `ptel_export_drop_name`. */
typedef enum ptel_export_drop {
    PTEL_EXPORT_DROP_QUEUE_FULL = 0, /**< "queue_full": no room in the queue */
    PTEL_EXPORT_DROP_REJECTED = 1,   /**< "rejected": non-retryable HTTP status (e.g. 400) */
    PTEL_EXPORT_DROP_RETRIES = 2,    /**< "retries_exhausted": retryable failures until
                                          retry_max_elapsed_ms or the deadline */
    PTEL_EXPORT_DROP_PARTIAL = 3,    /**< "partial_success": the receiver rejected them */
    PTEL_EXPORT_DROP_SHUTDOWN = 4,   /**< "shutdown": still queued when shutdown ended */
    PTEL_EXPORT_DROP_ERROR = 5,      /**< "error": a local failure (file write, memory) */
    PTEL_EXPORT_DROP_COUNT = 6
} ptel_export_drop;

/** Stable name of a ptel_export_drop ("queue_full"), or "unknown". Static. */
PTEL_API const char *ptel_export_drop_name(int drop);

/** Counters of one signal. Items are spans (invocation spans included) or
 * data points. */
typedef struct ptel_exporter_signal_stats {
    uint64_t requests_submitted; /**< requests given to the exporter (not empty) */
    uint64_t items_submitted;
    uint64_t items_sent; /**< accepted by the receiver / written / kept */
    uint64_t items_dropped[PTEL_EXPORT_DROP_COUNT]; /**< per ptel_export_drop */
    uint64_t exports_ok;                            /**< requests (batches) that succeeded */
    uint64_t exports_failed;                        /**< batches dropped */
    uint64_t retries;                               /**< attempts after the first */
    uint64_t queued_items;                          /**< waiting in the queue or in flight now */
    uint64_t queued_bytes;
} ptel_exporter_signal_stats;

/** Exporter counters. */
typedef struct ptel_exporter_stats {
    ptel_exporter_signal_stats signals[PTEL_EXPORT_SIGNAL_COUNT]; /**< per ptel_export_signal */
    uint64_t invocations;                                         /**< invocations submitted */
    uint64_t queue_requests;   /**< requests queued now (both signals) */
    uint64_t queue_bytes;      /**< bytes queued now */
    uint64_t last_http_status; /**< of the last response, 0 when none */
} ptel_exporter_stats;

/** Read the counters (a consistent snapshot). */
PTEL_API void ptel_exporter_get_stats(ptel_exporter *exp, ptel_exporter_stats *out);

/** Render stats as one line of JSON (no newline), e.g.
 * {"invocations":1,"traces":{"submitted":3,"sent":3,"dropped":{"queue_full":0,...},...},...}.
 * Writes a NUL after it, so needs `cap >= *len + 1`; size query as
 * `ptel_report_to_json`. */
PTEL_API int ptel_exporter_stats_to_json(const ptel_exporter_stats *stats, char *buf, size_t cap,
                                         size_t *len);

/** Number of requests a PTEL_EXPORTER_MEMORY exporter holds for `signal`
 * (0 for other kinds). Each submit of a non-empty request adds one, each
 * metric cycle adds one metrics request (when it is not empty). */
PTEL_API size_t ptel_exporter_memory_count(ptel_exporter *exp, uint32_t signal);

/** The `index`th request (submission order) of `signal` held by a memory
 * exporter: `*data` borrows it until `ptel_exporter_memory_clear` or
 * `ptel_exporter_free`. PTEL_E_NOT_FOUND when out of range or not a memory
 * exporter. */
PTEL_API int ptel_exporter_memory_get(ptel_exporter *exp, uint32_t signal, size_t index,
                                      const uint8_t **data, size_t *len);

/** Release the requests a memory exporter holds (no-op for other kinds). */
PTEL_API void ptel_exporter_memory_clear(ptel_exporter *exp);

#ifdef __cplusplus
}
#endif

#endif
