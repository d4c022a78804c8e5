/* ptel — plugin telemetry protocol. Shared types: status codes, diagnostics,
 * strings, attribute values, span contexts, limits and allocators.
 *
 * Include <ptel/ptel.h> rather than this file directly. */
#ifndef PTEL_COMMON_H
#define PTEL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(PTEL_CODEGEN)
#    define PTEL_API /* codegen parses plain declarations */
#elif defined(_WIN32) && defined(PTEL_SHARED)
#    ifdef PTEL_BUILDING
#        define PTEL_API __declspec(dllexport)
#    else
#        define PTEL_API __declspec(dllimport)
#    endif
#elif defined(__GNUC__)
#    define PTEL_API __attribute__((visibility("default")))
#else
#    define PTEL_API
#endif

/** Protocol major version carried in both boundary messages. */
enum { PTEL_PROTOCOL_VERSION = 1 };

/* Status codes. Every fallible function returns one: 0 for success, negative
 * for an error. Values are pinned forever; new codes are only appended.
 * X(NAME, value, message) */
#define PTEL_STATUS_MAP(X)                                                                         \
    X(OK, 0, "success")                                                                            \
    X(E_INVALID_ARGUMENT, -1, "invalid argument")                                                  \
    X(E_NOMEM, -2, "out of memory")                                                                \
    X(E_BUFFER_TOO_SMALL, -3, "output buffer too small")                                           \
    X(E_STATE, -4, "object is in the wrong state for this call")                                   \
    X(E_LIMIT, -5, "limit exceeded; data dropped")                                                 \
    X(E_TRUNCATED, -6, "input ends inside a field")                                                \
    X(E_MALFORMED, -7, "malformed protobuf wire data")                                             \
    X(E_DEPTH, -8, "nesting too deep")                                                             \
    X(E_UTF8, -9, "invalid UTF-8")                                                                 \
    X(E_TRACEPARENT, -10, "invalid traceparent")                                                   \
    X(E_TRACESTATE, -11, "invalid tracestate")                                                     \
    X(E_BAGGAGE, -12, "invalid baggage")                                                           \
    X(E_VERSION, -13, "unsupported protocol version")                                              \
    X(E_INVALID_ID, -14, "invalid trace or span id")                                               \
    X(E_NAME, -15, "invalid instrument name or unit")                                              \
    X(E_CONFLICT, -16, "instrument already registered with another kind")                          \
    X(E_NOT_FOUND, -17, "not found")                                                               \
    X(E_REJECTED, -18, "payload rejected by host validation")                                      \
    X(E_IO, -19, "input/output error")                                                             \
    X(E_VALUE, -20, "value out of range")                                                          \
    X(E_UNSUPPORTED, -21, "not supported on this platform or build")                               \
    X(E_TIMEOUT, -22, "deadline passed before the work finished")

/** Status codes; see PTEL_STATUS_MAP for values and messages. */
typedef enum ptel_status {
#define PTEL__STATUS_ENUM(name, value, msg) PTEL_##name = value,
    PTEL_STATUS_MAP(PTEL__STATUS_ENUM)
#undef PTEL__STATUS_ENUM
} ptel_status;

/** English message for a status code. Returns a static string, never NULL
 * ("unknown status" for values outside the table). */
PTEL_API const char *ptel_strerror(int status);

/** Symbolic name of a status code without the PTEL_ prefix ("E_NOMEM"), or
 * "UNKNOWN". Static string. */
PTEL_API const char *ptel_status_name(int status);

/** Library version as "MAJOR.MINOR.PATCH". Static string. */
PTEL_API const char *ptel_version(void);

/** Optional caller-owned diagnostics filled in by fallible functions.
 * Every function that takes a `ptel_diag *` accepts NULL. On success the
 * structure is left untouched. */
typedef struct ptel_diag {
    int32_t status;     /**< the status the function returned */
    uint32_t field;     /**< protobuf field number involved, or 0 */
    uint64_t offset;    /**< byte offset into the input where the problem was found */
    const char *reason; /**< static English text, never freed; NULL when unset */
} ptel_diag;

/** A borrowed byte string: `len` bytes at `ptr` (not NUL-terminated unless stated).
 * Ownership is stated by whichever function produces or consumes it. */
typedef struct ptel_str {
    const char *ptr;
    size_t len;
} ptel_str;

/** Memory callbacks. `realloc(ud, NULL, 0, n)` allocates, `realloc(ud, p, old, 0)`
 * frees. Objects created with an allocator keep using it until freed. */
typedef struct ptel_allocator {
    void *(*realloc)(void *ud, void *ptr, size_t old_size, size_t new_size);
    void *ud;
} ptel_allocator;

/** Attribute value types; numbers match nothing on the wire, they are API only. */
typedef enum ptel_value_type {
    PTEL_VALUE_EMPTY = 0,  /**< AnyValue with no member set */
    PTEL_VALUE_STRING = 1, /**< `str` (must be UTF-8) */
    PTEL_VALUE_BOOL = 2,   /**< `i` != 0 */
    PTEL_VALUE_INT = 3,    /**< `i` */
    PTEL_VALUE_DOUBLE = 4, /**< `d` */
    PTEL_VALUE_BYTES = 5,  /**< `str` as raw bytes */
    PTEL_VALUE_ARRAY = 6,  /**< `array`, `count` elements */
    PTEL_VALUE_KVLIST = 7  /**< `kvlist`, `count` entries */
} ptel_value_type;

struct ptel_attr;

/** An attribute value as the caller passes it in. No union, so that every
 * binding generator maps it directly. All pointers are borrowed for the
 * duration of the call; the library copies what it keeps. */
typedef struct ptel_value {
    uint32_t type;  /**< a ptel_value_type */
    uint32_t count; /**< element count for ARRAY and KVLIST */
    int64_t i;
    double d;
    ptel_str str;
    const struct ptel_value *array;
    const struct ptel_attr *kvlist;
} ptel_value;

/** A key and its value. The key must be non-empty UTF-8. */
typedef struct ptel_attr {
    ptel_str key;
    ptel_value value;
} ptel_attr;

/** W3C trace-flags bits. */
enum {
    PTEL_TRACE_FLAG_SAMPLED = 0x01,
    PTEL_TRACE_FLAG_RANDOM = 0x02 /**< W3C Trace Context Level 2 random trace id */
};

/** Identity of a span as it propagates. Plain value, no ownership. */
typedef struct ptel_span_context {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t trace_flags; /**< all 8 W3C bits */
    bool is_remote;
} ptel_span_context;

/** True when both ids are non-zero. */
PTEL_API bool ptel_span_context_is_valid(const ptel_span_context *sc);

/** The limits a host enforces and the recorder honours. A zero field means
 * "the default" (listed beside each field); `ptel_limits_init` writes the
 * defaults explicitly. */
typedef struct ptel_limits {
    uint32_t attribute_count;        /**< per span, 128 */
    uint32_t attribute_value_length; /**< characters of a string / bytes of a byte array,
                                          applied recursively; 0 = default 4096 */
    uint32_t attribute_depth;        /**< array/kvlist nesting, 8 */
    uint32_t event_count;            /**< per span, 128 */
    uint32_t link_count;             /**< per span, 128 */
    uint32_t attributes_per_event;   /**< 128 */
    uint32_t attributes_per_link;    /**< 128 */
    uint32_t span_count;             /**< spans per invocation, 1024 */
    uint32_t metric_count;           /**< distinct instruments per invocation, 256 */
    uint32_t metric_cardinality;     /**< attribute sets per instrument, 2000 */
    uint32_t payload_bytes;          /**< largest PluginTelemetry accepted, 4 MiB */
} ptel_limits;

/** Fill `out` with the default limits. */
PTEL_API void ptel_limits_init(ptel_limits *out);

/** Replace every zero field of `limits` by its default, in place. */
PTEL_API void ptel_limits_resolve(ptel_limits *limits);

/** The host's recording decision for the plugin (OpenTelemetry sampler results). */
typedef enum ptel_decision {
    PTEL_DECISION_DROP = 0,             /**< record nothing; spans are non-recording */
    PTEL_DECISION_RECORD_ONLY = 1,      /**< record, sampled flag stays clear */
    PTEL_DECISION_RECORD_AND_SAMPLE = 2 /**< record and export */
} ptel_decision;

/** OTLP SpanKind values. */
typedef enum ptel_span_kind {
    PTEL_SPAN_KIND_UNSPECIFIED = 0,
    PTEL_SPAN_KIND_INTERNAL = 1,
    PTEL_SPAN_KIND_SERVER = 2,
    PTEL_SPAN_KIND_CLIENT = 3,
    PTEL_SPAN_KIND_PRODUCER = 4,
    PTEL_SPAN_KIND_CONSUMER = 5
} ptel_span_kind;

/** OTLP Status.StatusCode values. */
typedef enum ptel_status_code {
    PTEL_STATUS_UNSET = 0,
    PTEL_STATUS_OK = 1,
    PTEL_STATUS_ERROR = 2
} ptel_status_code;

/** Clock callbacks. `monotonic_ns` returns nanoseconds from an arbitrary
 * origin that never goes backwards; `realtime_ns` returns Unix-epoch
 * nanoseconds. Either may be NULL for the system clock. */
typedef struct ptel_clock {
    uint64_t (*monotonic_ns)(void *ud);
    uint64_t (*realtime_ns)(void *ud);
    void *ud;
} ptel_clock;

/** Id generator callback: fill `out` with `len` (8 or 16) random bytes.
 * An all-zero result is regenerated by the library. NULL for the default
 * generator (xoshiro256** seeded from the operating system). */
typedef struct ptel_id_generator {
    void (*fill)(void *ud, uint8_t *out, size_t len);
    void *ud;
} ptel_id_generator;

#ifdef __cplusplus
}
#endif

#endif
