/* The host side's internal structures, shared by host_*.c: the invocation,
 * validated spans and metrics, the validation context, attribute lists and
 * a counting writer. */
#ifndef PTEL_HOST_INTERNAL_H
#define PTEL_HOST_INTERNAL_H

#include "internal.h"

/* ---- a writer that counts when it has no buffer ------------------------------ */

/* `p` NULL: only count bytes into `n` (a sizing pass); else write at `p`. */
typedef struct host_w {
    uint8_t *p;
    size_t n;
} host_w;

static inline void host_w_byte(host_w *w, uint8_t b) {
    if (w->p) *w->p++ = b;
    w->n++;
}

static inline void host_w_varint(host_w *w, uint64_t v) {
    if (w->p) w->p = ptel__put_varint(w->p, v);
    w->n += ptel__varint_size(v);
}

static inline void host_w_fixed64(host_w *w, uint64_t v) {
    if (w->p) w->p = ptel__put_fixed64(w->p, v);
    w->n += 8;
}

static inline void host_w_fixed32(host_w *w, uint32_t v) {
    if (w->p) w->p = ptel__put_fixed32(w->p, v);
    w->n += 4;
}

static inline void host_w_raw(host_w *w, const void *d, size_t n) {
    if (w->p && n) {
        memcpy(w->p, d, n);
        w->p += n;
    }
    w->n += n;
}

/* A LEN field whose tag is one byte: tag, length, payload. */
static inline void host_w_bytes(host_w *w, uint8_t tag, const void *d, size_t n) {
    host_w_byte(w, tag);
    host_w_varint(w, n);
    host_w_raw(w, d, n);
}

/* Tag and length prefix of a LEN field with a one-byte tag. */
static inline void host_w_head(host_w *w, uint8_t tag, size_t n) {
    host_w_byte(w, tag);
    host_w_varint(w, n);
}

/* ---- validated telemetry -------------------------------------------------- */

enum { HOST_METRIC_GAUGE = 1, HOST_METRIC_SUM = 2, HOST_METRIC_HISTOGRAM = 3 };

/* One span of the payload (ended or open), after the top-level pre-pass. */
typedef struct host_span {
    const uint8_t *data; /* Span message body inside the payload */
    size_t len;
    const uint8_t *out; /* bytes to export: `data` itself, or a re-encoding in the arena */
    size_t out_len;
    ptel_str name;
    ptel_str trace_state;
    const uint8_t *status; /* Status body (last occurrence), or NULL */
    size_t status_len;
    ptel_str status_message;
    uint64_t start; /* after clamping */
    uint64_t end;   /* after clamping; for open spans the host's end */
    uint32_t kind;
    uint32_t status_code;
    uint32_t flags;
    uint32_t dropped_attributes; /* as received */
    uint32_t dropped_events;
    uint32_t dropped_links;
    int32_t verdict; /* -1 = kept, else the ptel_reason that dropped it */
    uint8_t span_id[8];
    uint8_t parent[8];
    bool open;
    bool id_ok;     /* span_id is 8 non-zero bytes */
    bool parent_ok; /* parent_span_id is 8 bytes */
    bool has_flags;
    bool has_status;
    bool changed; /* must be re-encoded */
} host_span;

/* One data point of an accepted metric, decoded. */
typedef struct host_point {
    const uint8_t *attrs; /* canonical attribute set: entries varint(len) + KeyValue,
                             sorted by key; in the arena (NULL when empty) */
    size_t attrs_len;
    const uint8_t *exemplars; /* entries varint(len) + Exemplar, canonical */
    size_t exemplars_len;
    uint64_t hash; /* of `attrs` */
    uint64_t start;
    uint64_t time;
    uint32_t flags;
    bool is_double;
    bool has_sum;
    bool has_min;
    bool has_max;
    int64_t i; /* number value when !is_double */
    double d;  /* number value when is_double */
    uint64_t count;
    double sum;
    double min;
    double max;
    uint64_t *buckets; /* histogram: nbuckets counts (0 or nbounds + 1) */
    const double *bounds;
    uint32_t nbuckets;
    uint32_t nbounds;
    const uint8_t *at; /* the point in the payload, for diagnostics */
} host_point;

/* One metric of the payload. */
typedef struct host_metric {
    const uint8_t *data; /* Metric body inside the payload */
    size_t len;
    const uint8_t *out; /* bytes to export (data itself, or a re-encoding) */
    size_t out_len;
    ptel_str name;
    ptel_str description;
    ptel_str unit;
    uint32_t type; /* HOST_METRIC_*, 0 until known */
    bool monotonic;
    bool kept;
    bool changed;
    host_point *points;
    uint32_t npoints;
} host_metric;

/* The canonical encoding of {otel.metric.overflow: true} as an attribute-set
 * entry (varint length + KeyValue): static bytes, length in *len. */
PTEL__INTERNAL const uint8_t *ptel__host_overflow_set(size_t *len);

struct ptel_invocation {
    ptel_allocator self_alloc; /* of this struct: the allocator of ptel_invocation_begin */
    ptel_allocator alloc;      /* of the arena and scratch: may change at a reset */
    ptel__arena arena;
    ptel__buf scratch; /* stack of attribute-list entries during validation */
    ptel_clock clock;
    ptel_id_generator ids;
    ptel__rng rng;
    ptel_limits limits; /* resolved */
    uint64_t slack;
    uint32_t time_policy;
    bool accept_record_only;
    bool copy_payload;
    bool ended;
    bool has_parent;
    bool parent_remote;
    uint8_t trace_flags;
    bool idle;                /* holds no invocation (a failed reset) */
    const ptel_str *reserved; /* reserved keys */
    size_t reserved_count;
    /* A filter in front of the reserved keys (ptel__host_reserved_index):
     * bit h(len, first, last byte) of each exact key, the first bytes and
     * the shortest length of the prefixes. */
    uint64_t rk_exact;
    uint64_t rk_first[4];
    size_t rk_prefix_min;
    ptel_context *ctx;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_id[8];
    uint32_t decision;
    uint64_t features;    /* resolved: 0 became PTEL_FEATURES_V1 */
    ptel_str plugin_name; /* arena copies */
    ptel_str plugin_version;
    ptel_str hook;
    ptel_str span_name;
    ptel_str tracestate;        /* normalised */
    const uint8_t *extra_attrs; /* encoded Span.attributes fields (tag 0x4A) */
    size_t extra_attrs_len;
    uint64_t start; /* realtime ns */
    uint64_t mono_start;
    uint64_t end;
    uint32_t outcome;
    ptel_str error_type;       /* arena copy; for the invocation span and open spans */
    const uint8_t *span_bytes; /* the invocation span's Span body */
    size_t span_len;
    const uint8_t *payload;
    size_t payload_len;
    host_span *spans;
    uint32_t span_count;
    uint8_t *kept_ids; /* sorted 8-byte ids of the kept spans */
    uint32_t kept_id_count;
    host_metric *metrics;
    uint32_t metric_count;
    ptel_report report;
};

/* ---- validation context ---------------------------------------------------- */

typedef struct host_vctx {
    ptel_invocation *inv;
    const uint8_t *base; /* payload start: offsets in diagnostics count from here */
    ptel_report *rep;
    ptel_diag fatal; /* details of a wire error */
    uint64_t lo;     /* time window */
    uint64_t hi;
    uint32_t depth_limit; /* array/kvlist levels allowed in a value */
    bool counting;        /* count reasons: true only in the one validation pass */
    bool changed;         /* set by whatever changes data; callers reset it */
} host_vctx;

/* Count one occurrence of `reason` (when counting) and remember the first. */
PTEL__INTERNAL void ptel__host_note(host_vctx *c, int reason, const uint8_t *at, uint32_t field);
/* The same, `n` occurrences at once (nothing when `n` is 0). */
PTEL__INTERNAL void ptel__host_note_n(host_vctx *c, int reason, uint32_t n, const uint8_t *at,
                                      uint32_t field);

/* A wire error at field `f`: returns PTEL_E_MALFORMED with the details in c->fatal. */
PTEL__INTERNAL int ptel__host_wire(host_vctx *c, const ptel__field *f, const char *why);

/* ---- attribute lists -------------------------------------------------------- */

/* How to validate one list of KeyValue fields. */
typedef struct host_list_cfg {
    uint32_t field;    /* field number of the entries in their message */
    uint32_t limit;    /* count limit; UINT32_MAX = none */
    uint32_t max_len;  /* value length limit; 0 = none */
    ptel_str drop_key; /* removed without counting (error.type of open spans); may be empty */
} host_list_cfg;

/* The result of scanning a list; its entries sit on the invocation's
 * scratch stack until ptel__host_list_pop. */
typedef struct host_list {
    const host_list_cfg *cfg;
    size_t off;       /* scratch offset of the entries */
    size_t mark;      /* scratch length to restore */
    uint32_t n;       /* entries received */
    uint32_t kept;    /* entries kept */
    uint32_t dropped; /* entries dropped by a rule (counted in dropped_attributes_count) */
    size_t size;      /* encoded size of the kept entries, tags included */
    bool changed;
} host_list;

/* Scan the list of `cfg->field` entries of message msg[0..len): validate each,
 * decide what is kept, count reasons when c->counting. Returns 0 or a wire
 * error (PTEL_E_MALFORMED...) or PTEL_E_NOMEM. */
PTEL__INTERNAL int ptel__host_list_scan(host_vctx *c, const uint8_t *msg, size_t len,
                                        const host_list_cfg *cfg, host_list *l);
/* Write the kept entries, each as `tag` + length + canonical KeyValue. */
PTEL__INTERNAL void ptel__host_list_write(host_vctx *c, host_w *w, const host_list *l, uint8_t tag);
/* The kept entries as a canonical attribute set (sorted by key, each
 * varint(len) + KeyValue) in the arena. */
PTEL__INTERNAL int ptel__host_list_set(host_vctx *c, const host_list *l, const uint8_t **out,
                                       size_t *out_len);
PTEL__INTERNAL void ptel__host_list_pop(host_vctx *c, const host_list *l);

/* Build the reserved-key filter of inv->reserved. */
PTEL__INTERNAL void ptel__host_reserved_index(ptel_invocation *inv);

/* Trusted attributes given through the API (ptel_attr): validate, then encode
 * each as `tag` + length + KeyValue. */
PTEL__INTERNAL int ptel__host_attrs_check(const ptel_attr *attrs, size_t count, ptel_diag *diag);
PTEL__INTERNAL void ptel__host_attrs_write(host_w *w, uint8_t tag, const ptel_attr *attrs,
                                           size_t count);
/* One string attribute as `tag` + length + KeyValue{key, string_value}. */
PTEL__INTERNAL void ptel__host_attr_string(host_w *w, uint8_t tag, const char *key, size_t key_len,
                                           const char *val, size_t val_len);

/* ---- spans and metrics ------------------------------------------------------- */

/* Validate a PluginTelemetry payload into inv->spans / inv->metrics. */
PTEL__INTERNAL int ptel__host_validate(ptel_invocation *inv, const uint8_t *payload, size_t len,
                                       ptel_report *rep);

/* Validate the metrics listed in inv->metrics (raw slices filled in). */
PTEL__INTERNAL int ptel__host_metrics_validate(host_vctx *c);

/* True when `id` (8 bytes) is the invocation span's or a kept span's. */
PTEL__INTERNAL bool ptel__host_span_known(const ptel_invocation *inv, const uint8_t *id);

/* Write a Metric body from decoded points: used for re-encoded invocation
 * metrics. */
PTEL__INTERNAL void ptel__host_metric_write(host_w *w, const host_metric *m);

/* Write one data point body (Number or Histogram) with the given times. */
PTEL__INTERNAL void ptel__host_point_write(host_w *w, uint32_t type, const host_point *pt,
                                           uint64_t start, uint64_t time, bool exemplars);

/* Fold `src` into `dst` (same metric type, number type and bounds). */
PTEL__INTERNAL void ptel__host_point_merge(host_point *dst, const host_point *src, uint32_t type);

/* The Resource message body for export options. */
PTEL__INTERNAL void ptel__host_resource_write(host_w *w, const ptel_export_options *o);
/* Resolve the defaults of export options (NULL = defaults) and check them. */
PTEL__INTERNAL int ptel__host_export_opts(const ptel_export_options *in, ptel_export_options *out);
/* An export request around `inner_len` bytes of ResourceX.scope_X fields:
 * the head (request field, length, Resource) goes before them, the tail
 * (schema_url) after. */
PTEL__INTERNAL void ptel__host_request_head(host_w *w, const ptel_export_options *o,
                                            size_t inner_len);
PTEL__INTERNAL void ptel__host_request_tail(host_w *w, const ptel_export_options *o);

#endif
