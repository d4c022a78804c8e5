/* Internal interfaces of the built-in exporters (export_*.c). Never installed. */
#ifndef PTEL_EXPORT_INTERNAL_H
#define PTEL_EXPORT_INTERNAL_H

#include "internal.h"

/* The exporter needs threads and dlopen: not on WASI (no threads, no
 * dynamic loading) nor, for now, Windows. There only the option helpers
 * exist and ptel_exporter_new returns PTEL_E_UNSUPPORTED. */
#if defined(__wasi__) || defined(_WIN32) || defined(PTEL_NO_EXPORTER)
#    define PTEL__EXPORTER 0
#else
#    define PTEL__EXPORTER 1
#endif

/* ---- key=value lists (OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES) */

/* One decoded pair; both strings are NUL-terminated copies. */
typedef struct ptel__export_kv {
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
} ptel__export_kv;

/* Parse "k=v,k2=v2" (blanks around keys and values trimmed, both
 * percent-decoded, empty members skipped) and append the pairs to `*kv`
 * (`*count` pairs, `*cap` allocated), replacing the value of a key already
 * present. `http` additionally requires keys to be HTTP tokens and values
 * to hold no control character but tab. Returns 0, PTEL_E_VALUE (with
 * `*why` static text) or PTEL_E_NOMEM. */
PTEL__INTERNAL int ptel__export_kv_parse(const ptel_allocator *a, ptel_str s, bool http,
                                         ptel__export_kv **kv, size_t *count, size_t *cap,
                                         const char **why);
PTEL__INTERNAL void ptel__export_kv_free(const ptel_allocator *a, ptel__export_kv *kv, size_t count,
                                         size_t cap);

/* True when `url` starts with http:// or https:// (any case) and holds no
 * blank or control character. */
PTEL__INTERNAL bool ptel__export_url_ok(ptel_str url);

/* ---- request structure ------------------------------------------------- */

/* Count the spans of an ExportTraceServiceRequest (signal 0) or the data
 * points of an ExportMetricsServiceRequest (signal 1), checking the framing
 * of the levels walked. Returns 0 or a wire status with `diag`. */
PTEL__INTERNAL int ptel__export_count_items(uint32_t signal, const uint8_t *p, size_t n,
                                            uint64_t *items, ptel_diag *diag);

/* Read an Export*ServiceResponse: partial_success.rejected_* (field 1.1) and
 * whether an error_message (1.2) is present. Malformed input reads as no
 * partial success (the export itself succeeded). */
PTEL__INTERNAL void ptel__export_parse_response(const uint8_t *p, size_t n, uint64_t *rejected);

/* Parse a Retry-After value: delay-seconds or an HTTP date (IMF-fixdate,
 * the form RFC 9110 requires senders to use), relative to `now_unix_s`. Returns the delay in ms
 * (0 for a date in the past), or -1 when it does not parse. */
PTEL__INTERNAL int64_t ptel__export_retry_after_ms(const char *s, size_t n, int64_t now_unix_s);

#if PTEL__EXPORTER
/* ---- run-time loaded libraries (export_dl.c) --------------------------- */

/* The libcurl and zlib entry points' constants and the one zlib structure
 * the exporter uses, declared here instead of including <curl/curl.h> and
 * <zlib.h>, so that no build of ptel needs those headers. They are part of
 * the libraries' stable ABIs (sonames libcurl.so.4 and libz.so.1);
 * core/tests/test_export_abi.c checks every one against the real headers
 * when they are installed. */
enum {
    PTEL__CURLOPT_WRITEDATA = 10001,
    PTEL__CURLOPT_URL = 10002,
    PTEL__CURLOPT_ERRORBUFFER = 10010,
    PTEL__CURLOPT_WRITEFUNCTION = 20011,
    PTEL__CURLOPT_POSTFIELDS = 10015,
    PTEL__CURLOPT_USERAGENT = 10018,
    PTEL__CURLOPT_HTTPHEADER = 10023,
    PTEL__CURLOPT_HEADERDATA = 10029,
    PTEL__CURLOPT_POST = 47,
    PTEL__CURLOPT_NOSIGNAL = 99,
    PTEL__CURLOPT_TIMEOUT_MS = 155,
    PTEL__CURLOPT_CONNECTTIMEOUT_MS = 156,
    PTEL__CURLOPT_HEADERFUNCTION = 20079,
    PTEL__CURLOPT_POSTFIELDSIZE_LARGE = 30120,
    PTEL__CURLOPT_NOPROGRESS = 43,
    PTEL__CURLOPT_XFERINFODATA = 10057,
    PTEL__CURLOPT_XFERINFOFUNCTION = 20219,
    PTEL__CURLINFO_RESPONSE_CODE = 0x200002,
    PTEL__CURL_GLOBAL_DEFAULT = 3,
    PTEL__CURLE_OK = 0,
    PTEL__CURL_ERROR_SIZE = 256
};

enum {
    PTEL__Z_OK = 0,
    PTEL__Z_STREAM_END = 1,
    PTEL__Z_FINISH = 4,
    PTEL__Z_DEFLATED = 8,
    PTEL__Z_DEFAULT_COMPRESSION = -1,
    PTEL__Z_DEFAULT_STRATEGY = 0
};

/* zlib's z_stream (uInt = unsigned int, uLong = unsigned long). */
typedef struct ptel__z_stream {
    const unsigned char *next_in;
    unsigned int avail_in;
    unsigned long total_in;
    unsigned char *next_out;
    unsigned int avail_out;
    unsigned long total_out;
    const char *msg;
    void *state;
    void *(*zalloc)(void *opaque, unsigned int items, unsigned int size);
    void (*zfree)(void *opaque, void *address);
    void *opaque;
    int data_type;
    unsigned long adler;
    unsigned long reserved;
} ptel__z_stream;

typedef struct ptel__curl_api ptel__curl_api;

/* Load libcurl once per process (thread-safe); NULL with `*why` when it
 * cannot be loaded. */
PTEL__INTERNAL const ptel__curl_api *ptel__curl_load(const char **why);

/* One POST. `headers` is a list of "Name: value" lines. Fills the HTTP
 * status (0 when no response arrived), whether the failure was a transport
 * error, the response body (into `body`) and the Retry-After value seen
 * (NUL-terminated in `retry_after`, empty when none). Returns 0 when a
 * response arrived, PTEL_E_IO on a transport error, PTEL_E_NOMEM. */
typedef struct ptel__http_result {
    long status;
    char retry_after[64];
    ptel__buf body;
    char error[256];
} ptel__http_result;

typedef struct ptel__curl_headers ptel__curl_headers; /* a curl_slist */

PTEL__INTERNAL ptel__curl_headers *
ptel__curl_headers_add(const ptel__curl_api *api, ptel__curl_headers *list, const char *line);
PTEL__INTERNAL void ptel__curl_headers_free(const ptel__curl_api *api, ptel__curl_headers *list);
/* `*handle` caches the easy handle between calls (connection reuse); free
 * it with ptel__curl_handle_free. */
PTEL__INTERNAL void ptel__curl_handle_free(const ptel__curl_api *api, void *handle);
/* `cancel(cancel_ud)`, polled while the request runs (about once a second
 * when idle), returning true aborts it as a transport error. */
PTEL__INTERNAL int ptel__curl_post(const ptel__curl_api *api, void **handle, const char *url,
                                   const ptel__curl_headers *headers, const uint8_t *body,
                                   size_t len, uint32_t timeout_ms, bool (*cancel)(void *ud),
                                   void *cancel_ud, ptel__http_result *res);

/* Load zlib once per process; false with `*why` when it cannot be loaded. */
PTEL__INTERNAL bool ptel__zlib_load(const char **why);

/* gzip `in` into `out` (replacing its contents). 0, PTEL_E_NOMEM or PTEL_E_IO. */
PTEL__INTERNAL int ptel__gzip(ptel__buf *out, const uint8_t *in, size_t n);

/* ---- the exporter object (export_exporter.c, export_worker.c, export_self.c) */

#    include <pthread.h>

/* One submitted request, copied. */
typedef struct ptel__export_req {
    struct ptel__export_req *next;
    uint64_t seq;         /* submission order, from 1 */
    uint64_t items;       /* spans or data points */
    uint64_t enqueued_ns; /* system monotonic clock */
    size_t len;
    uint8_t data[];
} ptel__export_req;

/* A FIFO of requests of one signal. */
typedef struct ptel__export_queue {
    ptel__export_req *head;
    ptel__export_req *tail;
    size_t count;
    size_t bytes;
    uint64_t items;
} ptel__export_queue;

/* Self-telemetry of one plugin. */
typedef struct ptel__export_plugin {
    char *name;
    size_t name_len;
    uint64_t invocations;
    uint64_t payloads_rejected;
    uint64_t spans_received;
    uint64_t spans_accepted;
    uint64_t spans_dropped;
    uint64_t points_received;
    uint64_t points_accepted;
    uint64_t points_dropped;
    uint64_t plugin_dropped[3]; /* spans, metrics, points the plugin reported dropping */
    uint64_t reasons[PTEL_REASON_COUNT];
} ptel__export_plugin;

/* Plugins tracked by name; later ones share the entry "_OTHER". */
enum { PTEL__EXPORT_MAX_PLUGINS = 256 };

struct ptel_exporter {
    ptel_allocator alloc;
    uint32_t kind;
    ptel_clock clock;
    ptel__arena arena;         /* copies of the resource */
    ptel_export_options xopts; /* resource and scope for every request */
    uint32_t temporality;      /* ptel_temporality for the aggregator */
    bool self_telemetry;
    ptel_aggregator *agg;
    uint64_t start_unix_ns;

    pthread_mutex_t mu;  /* everything below */
    pthread_cond_t wake; /* the worker: new work, flush, shutdown */
    pthread_cond_t done; /* flushers: requests finished */
    bool shut;           /* shutdown called: submits refused */
    bool stopping;       /* the worker drains until stop_deadline_ns, then exits */
    uint64_t stop_deadline_ns;
    ptel_exporter_stats stats;
    ptel__export_plugin *plugins;
    size_t plugin_count;
    size_t plugin_cap;

    /* JSONL and console */
    int fd;
    bool own_fd;
    uint32_t console_flags;
    /* memory */
    ptel__export_req **mem[PTEL_EXPORT_SIGNAL_COUNT];
    size_t mem_len[PTEL_EXPORT_SIGNAL_COUNT];
    size_t mem_cap[PTEL_EXPORT_SIGNAL_COUNT];

    /* OTLP/HTTP */
    const ptel__curl_api *curl;
    void *curl_handle; /* worker only */
    char *url[PTEL_EXPORT_SIGNAL_COUNT];
    size_t url_size[PTEL_EXPORT_SIGNAL_COUNT];
    ptel__curl_headers *headers[PTEL_EXPORT_SIGNAL_COUNT];
    bool gzip;
    uint32_t timeout_ms;
    uint32_t max_queue_bytes;
    uint32_t max_queue_requests;
    uint32_t max_batch_bytes;
    uint32_t schedule_delay_ms;
    uint32_t retry_initial_ms;
    uint32_t retry_max_ms;
    uint32_t retry_max_elapsed_ms;
    uint32_t metric_interval_ms;
    ptel__export_queue q[PTEL_EXPORT_SIGNAL_COUNT];
    uint64_t seq;              /* last sequence number given */
    uint64_t inflight_min_seq; /* lowest seq of the batch being sent; 0 = none */
    uint64_t inflight_items;
    size_t inflight_bytes;
    uint32_t inflight_signal;
    uint64_t urgent_seq; /* requests up to this seq go without the schedule delay */
    uint64_t next_metric_ns;
    bool thread_started;
    pthread_t thread;
    ptel__rng rng;
    ptel__buf batch; /* worker: the concatenated requests */
    ptel__buf gz;    /* worker: their gzip */
};

/* System monotonic clock in ns (the clock condition variables wait on). */
PTEL__INTERNAL uint64_t ptel__export_now(void);

/* Wait on `cv` (with exp->mu held) until `until_ns` (system monotonic) or
 * a signal. */
PTEL__INTERNAL void ptel__export_wait(ptel_exporter *exp, pthread_cond_t *cv, uint64_t until_ns);

/* Hand a request to the sink (with exp->mu held): kept, written, or queued
 * for the worker, counting it. `items` counted by the caller. */
PTEL__INTERNAL int ptel__export_put(ptel_exporter *exp, uint32_t signal, const uint8_t *data,
                                    size_t len, uint64_t items);

/* Count `items` of `signal` dropped for `cause` (exp->mu held). */
PTEL__INTERNAL void ptel__export_drop(ptel_exporter *exp, uint32_t signal, uint32_t cause,
                                      uint64_t items);

/* The worker thread of an OTLP/HTTP exporter. */
PTEL__INTERNAL void *ptel__export_worker(void *arg);

/* Fold an invocation's report into the plugin's counters (exp->mu held). */
PTEL__INTERNAL void ptel__export_self_count(ptel_exporter *exp, ptel_str plugin,
                                            const ptel_report *report);

/* Run a metric cycle: export the aggregator and the self-telemetry as one
 * ExportMetricsServiceRequest and put it (takes exp->mu itself). */
PTEL__INTERNAL int ptel__export_metric_cycle(ptel_exporter *exp);

/* Release the plugin table. */
PTEL__INTERNAL void ptel__export_self_free(ptel_exporter *exp);
#endif

#endif
