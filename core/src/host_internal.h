/* The host side's internal structures, shared by host_*.c: the invocation,
 * validated spans and metrics, the validation context, attribute lists and
 * a counting writer. */
#ifndef PTEL_HOST_INTERNAL_H
#define PTEL_HOST_INTERNAL_H

#include "internal.h"

/* The hot paths of validation are small functions called per field; the
 * library is built one module at a time, where the compiler's own limits
 * leave some of them out of line. */
#if defined(__GNUC__)
#    define HOST_INLINE inline __attribute__((always_inline))
#else
#    define HOST_INLINE inline
#endif

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

/* ---- reading -------------------------------------------------------------------- */

/* The next field, exactly as ptel__reader_next (same results, same
 * diagnostics), with the common cases inline: a one- or two-byte tag and a
 * one- or two-byte varint or length, or a fixed value. Anything else,
 * errors included, is left to ptel__reader_next. */
/* ptel__reader_next on copies, so that the caller's reader and field never
 * have their address taken and can live in registers. */
static HOST_INLINE int host_next_slow(ptel__reader *r, ptel__field *f, ptel_diag *diag) {
    ptel__reader t = *r;
    ptel__field g;
    memset(&g, 0, sizeof g);
    int rc = ptel__reader_next(&t, &g, diag);
    *r = t;
    *f = g;
    return rc;
}

static HOST_INLINE int host_next(ptel__reader *r, ptel__field *f, ptel_diag *diag) {
    const uint8_t *p = r->p;
    size_t left = (size_t)(r->end - p);
    if (!left) return 0;
    uint32_t tag = p[0];
    size_t h = 1; /* tag bytes */
    if (tag >= 0x80) {
        if (left < 2 || p[1] >= 0x80) return host_next_slow(r, f, diag);
        tag = (tag & 0x7f) | (uint32_t)p[1] << 7;
        h = 2;
    }
    if (PTEL__LIKELY(left > h && tag >= 8)) {
        uint32_t wt = tag & 7;
        const uint8_t *v = p + h; /* the value */
        left -= h;
        f->number = tag >> 3;
        f->wire_type = wt;
        f->start = p;
        if (wt == PTEL__WT_LEN) {
            size_t n;
            const uint8_t *q;
            if (v[0] < 0x80) {
                n = v[0];
                q = v + 1;
            } else if (left >= 2 && v[1] < 0x80) {
                n = (size_t)(v[0] & 0x7f) | (size_t)v[1] << 7;
                q = v + 2;
            } else {
                return host_next_slow(r, f, diag);
            }
            if (PTEL__LIKELY(n <= (size_t)(r->end - q))) {
                f->data = q;
                f->len = n;
                f->value = 0;
                r->p = q + n;
                return 1;
            }
        } else if (wt == PTEL__WT_VARINT) {
            f->data = NULL;
            f->len = 0;
            if (v[0] < 0x80) {
                f->value = v[0];
                r->p = v + 1;
                return 1;
            }
            if (left >= 2 && v[1] < 0x80) {
                f->value = (uint64_t)(v[0] & 0x7f) | (uint64_t)v[1] << 7;
                r->p = v + 2;
                return 1;
            }
        } else if (wt == PTEL__WT_I64 && left >= 8) {
            f->data = NULL;
            f->len = 0;
            f->value = ptel__get_fixed64(v);
            r->p = v + 8;
            return 1;
        } else if (wt == PTEL__WT_I32 && left >= 4) {
            f->data = NULL;
            f->len = 0;
            f->value = ptel__get_fixed32(v);
            r->p = v + 4;
            return 1;
        }
    }
    return host_next_slow(r, f, diag);
}

/* When the next field has the one-byte tag `tag` (a LEN field) and a one-
 * or two-byte length that fits: its body in *d, *n, the reader past it,
 * true. Otherwise false and the reader unchanged (host_next then reads it,
 * errors included). For runs of a repeated field, such as attributes. */
static HOST_INLINE bool host_next_run(ptel__reader *r, uint8_t tag, const uint8_t **d, size_t *n) {
    const uint8_t *p = r->p;
    size_t left = (size_t)(r->end - p);
    if (left < 2 || p[0] != tag) return false;
    size_t len = p[1];
    const uint8_t *q = p + 2;
    if (len >= 0x80) {
        if (left < 3 || p[2] >= 0x80) return false;
        len = (len & 0x7f) | (size_t)p[2] << 7;
        q = p + 3;
    }
    if (len > (size_t)(r->end - q)) return false;
    *d = q;
    *n = len;
    r->p = q + len;
    return true;
}

static inline uint64_t host_load8(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint32_t host_load4(const uint8_t *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* ptel__utf8_valid with the all-ASCII case inline: one OR over the string
 * (overlapping loads for the tail), the full check only when a byte has
 * its high bit set. `p` may be NULL when `n` is 0. */
static HOST_INLINE bool host_utf8(const void *s, size_t n) {
    const uint8_t *p = s;
    uint64_t acc = 0;
    if (n >= 8) {
        for (size_t i = 0; i + 8 < n; i += 8) acc |= host_load8(p + i);
        acc |= host_load8(p + n - 8);
    } else if (n >= 4) {
        acc = (uint64_t)(host_load4(p) | host_load4(p + n - 4));
    } else {
        for (size_t i = 0; i < n; i++) acc |= p[i];
    }
    if (PTEL__LIKELY(!(acc & 0x8080808080808080ull))) return true;
    return ptel__utf8_valid((const char *)p, n);
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
    bool changed;     /* must be re-encoded */
    bool clean;       /* its attributes, events and links pass unchanged (the clean check) */
    uint32_t clamped; /* times moved into the window */
    uint32_t unknown; /* unknown or repeated fields of the span and its status */
} host_span;

/* An index of span ids: a hash table of span positions + 1 (0 = empty),
 * or, when `slots` is NULL, `nrefs` (id, position) pairs sorted by id. */
typedef struct host_ids {
    uint32_t *slots;
    size_t mask;
    struct host_idref *refs;
    uint32_t nrefs;
    bool sorting; /* the table was given up: the sorted form is (to be) built */
} host_ids;

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
    /* The index of the reserved keys (ptel__host_reserved_index): a filter
     * on the length and first bytes of every key and prefix, a table of the
     * exact keys and the list of prefixes. */
    size_t rk_min;         /* the shortest key or prefix; SIZE_MAX when none */
    uint64_t rk_head_mask; /* the first min(8, rk_min) bytes of a word */
    uint64_t rk_bits;      /* bit host_rk_hash of every key and prefix */
    struct host_rk_slot *rk_table;
    size_t rk_mask;
    const ptel_str *rk_prefixes;
    size_t rk_prefix_count;
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
    size_t spans_size;   /* the kept spans as ScopeSpans.spans fields, tags included */
    host_ids span_index; /* span id -> first span with it (host_validate.c) */
    host_metric *metrics;
    uint32_t metric_count;
    ptel_report report;
    /* For tests of the fast paths: take the reference path (the field
     * reader for every field of a span, its status and events, and the
     * full validation on every kept span) and count where the clean check
     * was wrong (said clean, yet the span changed: a bug) or missed (a kept
     * span passed unchanged that it did not call clean). Kept across
     * resets. */
    bool full_check;
    uint32_t clean_wrong;
    uint32_t clean_missed;
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

/* The signature of a key k[0..n), n > 0, from its first and last 8 bytes
 * and its length, and whether the key is ASCII (*ascii). For keys of at
 * most 8 bytes it holds every byte: equal length and signature mean equal
 * keys; longer keys need a memcmp. The loads cover the whole key, so the
 * ASCII test costs nothing more for keys up to 16 bytes. */
static HOST_INLINE uint64_t host_key_sig(const uint8_t *k, size_t n, bool *ascii) {
    uint64_t sig, acc;
    if (n > 8) {
        uint64_t a = host_load8(k), b = host_load8(k + n - 8);
        acc = a | b;
        if (n > 16) {
            /* Keys of 17..24 bytes, common in semantic conventions, need
             * one more load; longer ones a loop. */
            acc |= host_load8(k + 8);
            for (size_t i = 16; i + 8 < n; i += 8) acc |= host_load8(k + i);
        }
        sig = a ^ b * 0x9E3779B97F4A7C15ull;
    } else if (n >= 4) {
        uint64_t a = host_load4(k), b = host_load4(k + n - 4);
        acc = a | b;
        sig = a | b << 32;
    } else {
        /* n is 1..3: bytes 0, n/2 and n-1 cover the key. */
        sig = (uint64_t)k[0] | (uint64_t)k[n / 2] << 8 | (uint64_t)k[n - 1] << 16;
        acc = sig;
    }
    *ascii = !(acc & 0x8080808080808080ull);
    return sig;
}

/* The mixed signature and length, whose bits pick filter bits. */
static inline uint64_t host_key_mix(uint64_t sig, size_t n) {
    return (sig + n) * 0xC2B2AE3D27D4EB4Full;
}

/* Reserved keys: a filter first, which most keys fail in a few
 * instructions: long enough, and a bit set for the hash of their first
 * bytes (at most 8, as many as the shortest reserved entry has, so that a
 * prefix and every key it covers have the same head). Past it, the exact
 * keys in a small hash table on their mixed signature and a search of the
 * prefixes. */
typedef struct host_rk_slot {
    uint64_t mix;
    uint32_t idx; /* index in inv->reserved + 1; 0 = empty */
} host_rk_slot;

/* The filter's bit for the first bytes of k[0..n) (`mask` keeps them),
 * n >= inv->rk_min. */
static inline unsigned host_rk_hash(uint64_t mask, const uint8_t *k, size_t n) {
    uint64_t head = 0;
    if (n >= 8)
        head = host_load8(k);
    else if (n >= 4) /* two loads that overlap cover bytes 0..n-1 */
        head = host_load4(k) | (uint64_t)host_load4(k + n - 4) << (8 * (n - 4));
    else
        for (size_t i = 0; i < n; i++) head |= (uint64_t)k[i] << (8 * i);
    return (unsigned)(((head & mask) * 0x9E3779B97F4A7C15ull) >> 58);
}

/* False when the key k[0..n) is surely not reserved, given the filter's
 * fields (a hot loop keeps them in registers). */
static HOST_INLINE bool host_rk_test(uint64_t bits, size_t min, uint64_t mask, const uint8_t *k,
                                     size_t n) {
    return n >= min && (bits >> host_rk_hash(mask, k, n) & 1);
}

static HOST_INLINE bool host_rk_maybe(const ptel_invocation *inv, const uint8_t *k, size_t n) {
    return host_rk_test(inv->rk_bits, inv->rk_min, inv->rk_head_mask, k, n);
}

/* Build the table of inv->reserved in the arena; false on allocation failure. */
PTEL__INTERNAL bool ptel__host_reserved_index(ptel_invocation *inv);
/* Search the reserved prefixes for one the key k[0..n) starts with. */
PTEL__INTERNAL bool ptel__host_reserved_prefix(const ptel_invocation *inv, const uint8_t *k,
                                               size_t n);

/* True when the key k[0..n), n > 0, whose mixed signature is `mix`, is
 * reserved; the filter host_rk_maybe already passed. */
static HOST_INLINE bool host_reserved_exact(const ptel_invocation *inv, const uint8_t *k, size_t n,
                                            uint64_t mix) {
    for (size_t i = (size_t)(mix >> 40) & inv->rk_mask;; i = (i + 1) & inv->rk_mask) {
        const host_rk_slot *sl = &inv->rk_table[i];
        if (!sl->idx) break;
        if (sl->mix == mix) {
            ptel_str r = inv->reserved[sl->idx - 1];
            if (r.len == n && !memcmp(r.ptr, k, n)) return true;
        }
    }
    return ptel__host_reserved_prefix(inv, k, n);
}

/* True when the key k[0..n), n > 0, whose mixed signature is `mix`, is
 * reserved. */
static HOST_INLINE bool host_reserved_mix(const ptel_invocation *inv, const uint8_t *k, size_t n,
                                          uint64_t mix) {
    return host_rk_maybe(inv, k, n) && host_reserved_exact(inv, k, n, mix);
}

static inline bool host_reserved(const ptel_invocation *inv, const uint8_t *k, size_t n) {
    bool ascii;
    return host_reserved_mix(inv, k, n, host_key_mix(host_key_sig(k, n, &ascii), n));
}

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
