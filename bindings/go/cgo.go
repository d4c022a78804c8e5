package ptel

// This is the package's only cgo file. Its preamble compiles the whole C
// core as one translation unit (core/src/ptel.c includes every module) plus a
// few gop_* helpers that turn the flat byte records written by enc.go into
// the core's structures in C memory, so that a span, a measurement or an
// options struct crosses into C in exactly one call and C never holds a Go
// pointer after the call returns.

/*
#cgo CFLAGS: -I${SRCDIR}/../../core/include -I${SRCDIR}/../../core/src -std=c11 -D_GNU_SOURCE -O2
#cgo LDFLAGS: -lm -lpthread
#include <stdlib.h>
#include <string.h>
#include "../../core/src/ptel.c"

// ---- manual clock -----------------------------------------------------------

// A clock in C memory that Go sets and both sides read (tests).
typedef struct gop_clock {
    uint64_t mono;  // monotonic nanoseconds
    uint64_t real0; // realtime = real0 + mono
} gop_clock;

static uint64_t gop_clock_mono(void *ud) {
    return __atomic_load_n(&((gop_clock *)ud)->mono, __ATOMIC_ACQUIRE);
}

static uint64_t gop_clock_real(void *ud) {
    return ((gop_clock *)ud)->real0 + gop_clock_mono(ud);
}

static ptel_clock gop_clock_of(gop_clock *c) {
    ptel_clock k;
    memset(&k, 0, sizeof k);
    if (c) {
        k.monotonic_ns = gop_clock_mono;
        k.realtime_ns = gop_clock_real;
        k.ud = c;
    }
    return k;
}

static gop_clock *gop_clock_new(uint64_t real0) {
    gop_clock *c = calloc(1, sizeof *c);
    if (c) c->real0 = real0;
    return c;
}

// ---- scratch and reader -------------------------------------------------------

// Bump allocation in a buffer reserved up front from the counts a record
// announces; every take is bounds-checked.
typedef struct gop_scratch {
    uint8_t *p;
    size_t cap;
    size_t used;
} gop_scratch;

static int gop_scratch_reserve(gop_scratch *s, size_t n) {
    s->used = 0;
    if (n <= s->cap) return 1;
    size_t c = s->cap ? s->cap : 4096;
    while (c < n) {
        if (c > SIZE_MAX / 2) return 0;
        c *= 2;
    }
    void *p = realloc(s->p, c);
    if (!p) return 0;
    s->p = p;
    s->cap = c;
    return 1;
}

static void *gop_take(gop_scratch *s, size_t n) {
    n = (n + 7) & ~(size_t)7;
    if (s->cap - s->used < n) return NULL;
    void *r = s->p + s->used;
    s->used += n;
    return r;
}

typedef struct gop_rd {
    const uint8_t *p;
    const uint8_t *end;
    int ok;
} gop_rd;

// The readers run for every field of every span: forced inline (the unity
// translation unit is large enough for the compiler to stop inlining).
#define GOP_INLINE static inline __attribute__((always_inline))

// A failed read also moves to the end, so that every later read of a
// non-empty field fails without a test of ok; callers check ok at the end.
GOP_INLINE const uint8_t *gop_rd_bytes(gop_rd *r, size_t n) {
    if (PTEL__UNLIKELY((size_t)(r->end - r->p) < n)) {
        r->ok = 0;
        r->p = r->end;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}

GOP_INLINE uint8_t gop_rd_u8(gop_rd *r) {
    const uint8_t *q = gop_rd_bytes(r, 1);
    return q ? q[0] : 0;
}

// Records are little-endian; ptel__get_fixed* read them on any CPU.
GOP_INLINE uint32_t gop_rd_u32(gop_rd *r) {
    const uint8_t *q = gop_rd_bytes(r, 4);
    return q ? ptel__get_fixed32(q) : 0;
}

GOP_INLINE uint64_t gop_rd_u64(gop_rd *r) {
    const uint8_t *q = gop_rd_bytes(r, 8);
    return q ? ptel__get_fixed64(q) : 0;
}

GOP_INLINE ptel_str gop_rd_str(gop_rd *r) {
    ptel_str s = {"", 0};
    uint32_t n = gop_rd_u32(r);
    const uint8_t *q = gop_rd_bytes(r, n);
    if (q && n) {
        s.ptr = (const char *)q;
        s.len = n;
    }
    return s;
}

enum { GOP_MAX_DEPTH = 64 };

static int gop_rd_nested(gop_rd *r, gop_scratch *s, ptel_value *v, int depth);

// Scalars inline; arrays and maps in gop_rd_nested.
GOP_INLINE int gop_rd_value(gop_rd *r, gop_scratch *s, ptel_value *v, int depth) {
    memset(v, 0, sizeof *v);
    if (depth > GOP_MAX_DEPTH) return 0;
    v->type = gop_rd_u8(r);
    switch (v->type) {
    case PTEL_VALUE_EMPTY:
        break;
    case PTEL_VALUE_STRING:
    case PTEL_VALUE_BYTES:
        v->str = gop_rd_str(r);
        break;
    case PTEL_VALUE_BOOL:
    case PTEL_VALUE_INT:
        v->i = (int64_t)gop_rd_u64(r);
        break;
    case PTEL_VALUE_DOUBLE: {
        uint64_t bits = gop_rd_u64(r);
        memcpy(&v->d, &bits, 8);
        break;
    }
    case PTEL_VALUE_ARRAY:
    case PTEL_VALUE_KVLIST:
        return gop_rd_nested(r, s, v, depth);
    default:
        return 0;
    }
    return r->ok;
}

GOP_INLINE int gop_rd_attr(gop_rd *r, gop_scratch *s, ptel_attr *a, int depth) {
    a->key = gop_rd_str(r);
    return gop_rd_value(r, s, &a->value, depth);
}

static int gop_rd_nested(gop_rd *r, gop_scratch *s, ptel_value *v, int depth) {
    uint32_t n = gop_rd_u32(r);
    if (v->type == PTEL_VALUE_ARRAY) {
        ptel_value *arr = n ? gop_take(s, (size_t)n * sizeof *arr) : NULL;
        if (n && !arr) return 0;
        for (uint32_t k = 0; k < n; k++)
            if (!gop_rd_value(r, s, &arr[k], depth + 1)) return 0;
        v->array = arr;
    } else {
        ptel_attr *kv = n ? gop_take(s, (size_t)n * sizeof *kv) : NULL;
        if (n && !kv) return 0;
        for (uint32_t k = 0; k < n; k++)
            if (!gop_rd_attr(r, s, &kv[k], depth + 1)) return 0;
        v->kvlist = kv;
    }
    v->count = n;
    return r->ok;
}

// The common entry (a scalar or string value) with one bounds check for
// its key, tag and 8-byte field (the scalar, or the string's length) and
// one for a string's bytes, instead of one per field. Returns 0 without
// reading for any other entry, or one cut short: the caller then reads it
// field by field, which decides what is valid.
GOP_INLINE int gop_rd_attr_fast(gop_rd *r, ptel_attr *a) {
    size_t left = (size_t)(r->end - r->p);
    if (left < 13) return 0;
    const uint8_t *p = r->p;
    size_t kl = ptel__get_fixed32(p);
    if (kl > left - 13) return 0;
    const uint8_t *q = p + 4 + kl; // tag, then 8 readable bytes
    ptel_value *v = &a->value;
    size_t used = 13 + kl;
    switch (q[0]) {
    case PTEL_VALUE_STRING:
    case PTEL_VALUE_BYTES: {
        size_t n = ptel__get_fixed32(q + 1);
        if (n > left - 9 - kl) return 0;
        *v = (ptel_value){.type = q[0]};
        v->str = (ptel_str){"", 0};
        if (n) v->str = (ptel_str){(const char *)q + 5, n};
        used = 9 + kl + n;
        break;
    }
    case PTEL_VALUE_BOOL:
    case PTEL_VALUE_INT:
        *v = (ptel_value){.type = q[0], .i = (int64_t)ptel__get_fixed64(q + 1)};
        break;
    case PTEL_VALUE_DOUBLE: {
        uint64_t bits = ptel__get_fixed64(q + 1);
        *v = (ptel_value){.type = PTEL_VALUE_DOUBLE};
        memcpy(&v->d, &bits, 8);
        break;
    }
    default:
        return 0;
    }
    a->key = kl ? (ptel_str){(const char *)p + 4, kl} : (ptel_str){"", 0};
    r->p = p + used;
    return 1;
}

// An attribute list: u32 count, u32 extra, the attributes. `extra` counts
// attributes the Go side dropped to bound its buffers.
// The loop reads through a local copy of the reader: through `rp`, every
// store into the attributes (which may alias it, for all the compiler
// knows) would reload the position from memory.
static int gop_rd_attrs(gop_rd *rp, gop_scratch *s, const ptel_attr **out, size_t *count,
                        uint32_t *extra) {
    gop_rd r = *rp;
    uint32_t n = gop_rd_u32(&r), x = gop_rd_u32(&r);
    ptel_attr *a = NULL;
    if (r.ok && n) {
        a = gop_take(s, (size_t)n * sizeof *a);
        if (!a) r.ok = 0;
    }
    for (uint32_t k = 0; k < n && r.ok; k++)
        if (!gop_rd_attr_fast(&r, &a[k]) && !gop_rd_attr(&r, s, &a[k], 0)) r.ok = 0;
    *rp = r;
    if (!r.ok) return 0;
    *out = a;
    *count = n;
    if (extra) *extra = x;
    return 1;
}

static int gop_rd_link(gop_rd *r, gop_scratch *s, ptel_link_data *l) {
    memset(l, 0, sizeof *l);
    const uint8_t *tid = gop_rd_bytes(r, 16), *sid = gop_rd_bytes(r, 8);
    if (!tid || !sid) return 0;
    memcpy(l->context.trace_id, tid, 16);
    memcpy(l->context.span_id, sid, 8);
    l->context.trace_flags = gop_rd_u8(r);
    l->context.is_remote = gop_rd_u8(r) != 0;
    l->tracestate = gop_rd_str(r);
    return gop_rd_attrs(r, s, &l->attrs, &l->attr_count, NULL);
}

// Header of every record: how many C structures it needs.
static int gop_reserve(gop_rd *r, gop_scratch *s) {
    const uint8_t *h = gop_rd_bytes(r, 20); // five u32 counts, one bounds check
    if (!h) return 0;
    uint64_t na = ptel__get_fixed32(h), nv = ptel__get_fixed32(h + 4),
             ne = ptel__get_fixed32(h + 8), nl = ptel__get_fixed32(h + 12),
             ns = ptel__get_fixed32(h + 16);
    uint64_t bytes = na * sizeof(ptel_attr) + nv * sizeof(ptel_value) +
                     ne * sizeof(ptel_event_data) + nl * sizeof(ptel_link_data) +
                     ns * sizeof(ptel_str) + 64;
    // Every structure takes at least one byte of the record: refuse counts
    // the record cannot back, so a bad header never reserves much memory.
    if (na + nv + ne + nl + ns > (uint64_t)(r->end - r->p) + 8) return 0;
    return gop_scratch_reserve(s, (size_t)bytes);
}

// ---- span records ---------------------------------------------------------------

typedef struct gop_rec {
    ptel_recorder *rec;
    gop_scratch s;
} gop_rec;

static int gop_rec_new(gop_rec **out, const ptel_context *ctx, gop_clock *clock, int strict,
                       uint64_t *now) {
    *out = NULL;
    gop_rec *g = calloc(1, sizeof *g);
    if (!g) return PTEL_E_NOMEM;
    ptel_recorder_options o;
    ptel_recorder_options_init(&o);
    o.clock = gop_clock_of(clock);
    o.strict = strict != 0;
    int rc = ptel_recorder_new(&g->rec, ctx, &o);
    if (rc) {
        free(g);
        return rc;
    }
    *now = ptel_recorder_now(g->rec);
    *out = g;
    return 0;
}

static int gop_rec_reset(gop_rec *g, const ptel_context *ctx, uint64_t *now) {
    int rc = ptel_recorder_reset(g->rec, ctx);
    *now = ptel_recorder_now(g->rec);
    return rc;
}

static void gop_rec_free(gop_rec *g) {
    if (!g) return;
    ptel_recorder_free(g->rec);
    free(g->s.p);
    free(g);
}

// The span part of a record, after the header.
typedef struct gop_span_rec {
    ptel_span_data d;
    uint8_t span_id[8];
    uint8_t parent_id[8];
} gop_span_rec;

static int gop_rd_span(gop_rd *r, gop_scratch *s, gop_span_rec *sr) {
    ptel_span_data *d = &sr->d;
    memset(d, 0, sizeof *d);
    // The fixed fields (ids, times, kind, status) with one bounds check.
    const uint8_t *f = gop_rd_bytes(r, 40);
    if (!f) return 0;
    memcpy(sr->span_id, f, 8);
    memcpy(sr->parent_id, f + 8, 8);
    d->span_id = sr->span_id;
    d->parent_span_id = ptel__is_zero(sr->parent_id, 8) ? NULL : sr->parent_id;
    d->start_unix_nano = ptel__get_fixed64(f + 16);
    d->end_unix_nano = ptel__get_fixed64(f + 24);
    d->kind = ptel__get_fixed32(f + 32);
    d->status_code = ptel__get_fixed32(f + 36);
    d->name = gop_rd_str(r);
    d->status_description = gop_rd_str(r);
    if (!gop_rd_attrs(r, s, &d->attrs, &d->attr_count, &d->dropped_attributes_count)) return 0;

    // Events: time, name, attributes.
    uint32_t n = gop_rd_u32(r);
    d->dropped_events_count = gop_rd_u32(r);
    if (!r->ok) return 0;
    ptel_event_data *ev = n ? gop_take(s, (size_t)n * sizeof *ev) : NULL;
    if (n && !ev) return 0;
    for (uint32_t k = 0; k < n; k++) {
        memset(&ev[k], 0, sizeof ev[k]);
        ev[k].time_unix_nano = gop_rd_u64(r);
        ev[k].name = gop_rd_str(r);
        if (!gop_rd_attrs(r, s, &ev[k].attrs, &ev[k].attr_count, NULL)) return 0;
    }
    d->events = ev;
    d->event_count = n;

    // Links: context, tracestate, attributes.
    n = gop_rd_u32(r);
    d->dropped_links_count = gop_rd_u32(r);
    if (!r->ok) return 0;
    ptel_link_data *ln = n ? gop_take(s, (size_t)n * sizeof *ln) : NULL;
    if (n && !ln) return 0;
    for (uint32_t k = 0; k < n; k++)
        if (!gop_rd_link(r, s, &ln[k])) return 0;
    d->links = ln;
    d->link_count = n;
    return r->ok;
}

// Record one span: the one crossing per span. `open` records a span still
// open at finish (everything but its end; reported in open_spans).
// The recorder is passed as an integer: cgo checks pointer arguments whose
// type holds pointers (gop_rec does) at every call, and g is C memory.
static int gop_span_record(uintptr_t gh, const uint8_t *buf, size_t len, int open) {
    gop_rec *g = (gop_rec *)gh;
    gop_rd r = {buf, buf + len, 1};
    gop_span_rec sr;
    if (!gop_reserve(&r, &g->s) || !gop_rd_span(&r, &g->s, &sr)) return PTEL_E_INVALID_ARGUMENT;
    sr.d.open = open != 0;
    return ptel_span_record(NULL, g->rec, &sr.d);
}

// Finish: add the drops the Go side counted, then encode.
static int gop_rec_finish(gop_rec *g, uint32_t spans, uint32_t errors, const uint8_t **out,
                          size_t *len) {
    ptel_drop_counts add;
    memset(&add, 0, sizeof add);
    add.spans = spans;
    add.errors = errors;
    ptel_recorder_add_drops(g->rec, &add);
    return ptel_recorder_finish(g->rec, out, len);
}

// ---- metrics ---------------------------------------------------------------------

static int gop_metric_get(gop_rec *g, ptel_metric **out, uint32_t kind, uint32_t number,
                          const char *name, size_t name_len, const char *unit, size_t unit_len,
                          const char *desc, size_t desc_len, const double *bounds,
                          size_t bound_count, int has_bounds) {
    static const double gop_no_bounds[1] = {0};
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    o.kind = kind;
    o.number_type = number;
    o.name.ptr = name;
    o.name.len = name_len;
    o.unit.ptr = unit;
    o.unit.len = unit_len;
    o.description.ptr = desc;
    o.description.len = desc_len;
    o.bounds = !has_bounds ? NULL : bound_count ? bounds : gop_no_bounds;
    o.bound_count = bound_count;
    return ptel_metric_get(out, g->rec, &o);
}

// A measurement: header, u8 has_active [trace id, span id, flags], attrs.
static int gop_metric_record(gop_rec *g, ptel_metric *m, int is_int, int64_t i, double dv,
                             const uint8_t *buf, size_t len) {
    gop_rd r = {buf, buf + len, 1};
    if (!gop_reserve(&r, &g->s)) return PTEL_E_INVALID_ARGUMENT;
    ptel_span_context active, *ap = NULL;
    if (gop_rd_u8(&r)) {
        memset(&active, 0, sizeof active);
        const uint8_t *tid = gop_rd_bytes(&r, 16), *sid = gop_rd_bytes(&r, 8);
        if (!tid || !sid) return PTEL_E_INVALID_ARGUMENT;
        memcpy(active.trace_id, tid, 16);
        memcpy(active.span_id, sid, 8);
        active.trace_flags = gop_rd_u8(&r);
        ap = &active;
    }
    const ptel_attr *attrs = NULL;
    size_t count = 0;
    if (!gop_rd_attrs(&r, &g->s, &attrs, &count, NULL)) return PTEL_E_INVALID_ARGUMENT;
    return is_int ? ptel_metric_record_int_ctx(m, i, attrs, count, ap)
                  : ptel_metric_record_double_ctx(m, dv, attrs, count, ap);
}

// ---- contexts ----------------------------------------------------------------------

// ptel_context_new from fields whose strings follow one another in `strs`.
static int gop_context_new(ptel_context **out, ptel_context_fields *f, const char *strs,
                           size_t ts, size_t bg, size_t pn, size_t pv, size_t hook,
                           ptel_diag *diag) {
    const char *p = strs;
    f->tracestate.ptr = p;
    f->tracestate.len = ts;
    p += ts;
    f->baggage.ptr = p;
    f->baggage.len = bg;
    p += bg;
    f->plugin_name.ptr = p;
    f->plugin_name.len = pn;
    p += pn;
    f->plugin_version.ptr = p;
    f->plugin_version.len = pv;
    p += pv;
    f->hook.ptr = p;
    f->hook.len = hook;
    int rc = ptel_context_new(out, f, NULL, diag);
    memset(&f->tracestate, 0, sizeof f->tracestate);
    memset(&f->baggage, 0, sizeof f->baggage);
    memset(&f->plugin_name, 0, sizeof f->plugin_name);
    memset(&f->plugin_version, 0, sizeof f->plugin_version);
    memset(&f->hook, 0, sizeof f->hook);
    return rc;
}

// The environment carrier from values the Go side looked up.
typedef struct gop_env {
    const char *names[4];
    char *values[4];
} gop_env;

static const char *gop_env_get(void *ud, const char *name) {
    gop_env *e = ud;
    for (int k = 0; k < 4; k++)
        if (strcmp(e->names[k], name) == 0) return e->values[k];
    return NULL;
}

// `vals` holds the four values one after another; a negative length is unset.
static int gop_context_from_env(ptel_context **out, const char *vals, int64_t l0, int64_t l1,
                                int64_t l2, int64_t l3, ptel_diag *diag) {
    gop_env e = {{"PTEL_CONTEXT", "TRACEPARENT", "TRACESTATE", "BAGGAGE"}, {NULL}};
    int64_t lens[4] = {l0, l1, l2, l3};
    int rc = 0;
    const char *p = vals;
    for (int k = 0; k < 4 && !rc; k++) {
        if (lens[k] < 0) continue;
        e.values[k] = malloc((size_t)lens[k] + 1);
        if (!e.values[k]) {
            rc = PTEL_E_NOMEM;
            break;
        }
        memcpy(e.values[k], p, (size_t)lens[k]);
        e.values[k][lens[k]] = 0;
        p += lens[k];
    }
    if (!rc) rc = ptel_context_from_env(out, gop_env_get, &e, NULL, diag);
    for (int k = 0; k < 4; k++) free(e.values[k]);
    return rc;
}

// ---- host ----------------------------------------------------------------------------

static int gop_rd_span_context(gop_rd *r, ptel_span_context *sc) {
    memset(sc, 0, sizeof *sc);
    const uint8_t *tid = gop_rd_bytes(r, 16), *sid = gop_rd_bytes(r, 8);
    if (!tid || !sid) return 0;
    memcpy(sc->trace_id, tid, 16);
    memcpy(sc->span_id, sid, 8);
    sc->trace_flags = gop_rd_u8(r);
    sc->is_remote = gop_rd_u8(r) != 0;
    return r->ok;
}

// ptel_invocation_begin from a record of its options. The payload is always
// copied into the invocation (copy_payload), since Go memory is not kept.
static int gop_invocation_begin(ptel_invocation **out, const uint8_t *buf, size_t len,
                                gop_clock *clock, ptel_diag *diag) {
    static const ptel_str gop_no_keys[1] = {{"", 0}};
    gop_rd r = {buf, buf + len, 1};
    gop_scratch s = {NULL, 0, 0};
    ptel_invocation_options o;
    ptel_host_policy p;
    ptel_invocation_options_init(&o);
    ptel_host_policy_init(&p);
    int rc = PTEL_E_INVALID_ARGUMENT;
    *out = NULL;
    if (!gop_reserve(&r, &s) || !gop_rd_span_context(&r, &o.parent)) goto done;
    o.tracestate = gop_rd_str(&r);
    o.baggage = gop_rd_str(&r);
    o.decision = gop_rd_u32(&r);
    o.plugin_name = gop_rd_str(&r);
    o.plugin_version = gop_rd_str(&r);
    o.hook = gop_rd_str(&r);
    o.span_name = gop_rd_str(&r);
    const uint8_t *sid = gop_rd_bytes(&r, 8);
    if (sid) memcpy(o.span_id, sid, 8);
    o.start_unix_nano = gop_rd_u64(&r);
    o.features = gop_rd_u64(&r);
    o.context_is_remote = gop_rd_u8(&r) != 0;
    if (!gop_rd_attrs(&r, &s, &o.attributes, &o.attribute_count, NULL)) goto done;
    uint32_t lim[11];
    for (int k = 0; k < 11; k++) lim[k] = gop_rd_u32(&r);
    p.limits.attribute_count = lim[0];
    p.limits.attribute_value_length = lim[1];
    p.limits.attribute_depth = lim[2];
    p.limits.event_count = lim[3];
    p.limits.link_count = lim[4];
    p.limits.attributes_per_event = lim[5];
    p.limits.attributes_per_link = lim[6];
    p.limits.span_count = lim[7];
    p.limits.metric_count = lim[8];
    p.limits.metric_cardinality = lim[9];
    p.limits.payload_bytes = lim[10];
    if (gop_rd_u8(&r)) p.time_slack_ns = gop_rd_u64(&r);
    p.time_policy = gop_rd_u32(&r);
    if (gop_rd_u8(&r)) {
        uint32_t n = gop_rd_u32(&r);
        ptel_str *keys = n ? gop_take(&s, (size_t)n * sizeof *keys) : NULL;
        if (n && !keys) goto done;
        for (uint32_t k = 0; k < n; k++) keys[k] = gop_rd_str(&r);
        p.reserved_keys = n ? keys : gop_no_keys;
        p.reserved_key_count = n;
    }
    p.accept_record_only = gop_rd_u8(&r) != 0;
    p.copy_payload = true;
    if (!r.ok) goto done;
    o.policy = &p;
    o.clock = gop_clock_of(clock);
    rc = ptel_invocation_begin(out, &o, diag);
    s.used = 0;
done:
    if (rc == PTEL_E_INVALID_ARGUMENT && !*out && !r.ok)
        ptel__fail(diag, rc, 0, 0, "malformed options record");
    free(s.p);
    return rc;
}

static int gop_rd_export_opts(gop_rd *r, gop_scratch *s, ptel_export_options *o) {
    ptel_export_options_init(o);
    if (!gop_reserve(r, s) ||
        !gop_rd_attrs(r, s, &o->resource_attributes, &o->resource_attribute_count, NULL))
        return 0;
    o->resource_schema_url = gop_rd_str(r);
    o->host_scope_name = gop_rd_str(r);
    o->host_scope_version = gop_rd_str(r);
    o->include_invocation_span = gop_rd_u8(r) == 0;
    return r->ok;
}

enum {
    GOP_EXPORT_TRACES = 1,
    GOP_EXPORT_METRICS = 2,
    GOP_EXPORT_SCOPE_SPANS = 3,
    GOP_EXPORT_SCOPE_METRICS = 4,
    GOP_EXPORT_AGGREGATOR = 5,
    GOP_WRAP_TRACES = 6,
    GOP_WRAP_METRICS = 7
};

// Every export call, with its options as a record. `in` is the input of the
// wraps; `agg` and `temporality` are the aggregator's.
static int gop_export(int what, const ptel_invocation *inv, ptel_aggregator *agg,
                      uint32_t temporality, const uint8_t *opts, size_t opts_len,
                      const uint8_t *in, size_t in_len, uint8_t *buf, size_t cap,
                      size_t *out_len) {
    gop_rd r = {opts, opts + opts_len, 1};
    gop_scratch s = {NULL, 0, 0};
    ptel_export_options o;
    int rc = PTEL_E_INVALID_ARGUMENT;
    *out_len = 0;
    if (!gop_rd_export_opts(&r, &s, &o)) goto done;
    switch (what) {
    case GOP_EXPORT_TRACES:
        rc = ptel_invocation_export_traces(inv, &o, buf, cap, out_len);
        break;
    case GOP_EXPORT_METRICS:
        rc = ptel_invocation_export_metrics(inv, &o, buf, cap, out_len);
        break;
    case GOP_EXPORT_SCOPE_SPANS:
        rc = ptel_invocation_export_scope_spans(inv, &o, buf, cap, out_len);
        break;
    case GOP_EXPORT_SCOPE_METRICS:
        rc = ptel_invocation_export_scope_metrics(inv, &o, buf, cap, out_len);
        break;
    case GOP_EXPORT_AGGREGATOR:
        rc = ptel_aggregator_export(agg, &o, temporality, buf, cap, out_len);
        break;
    case GOP_WRAP_TRACES:
        rc = ptel_export_traces_wrap(&o, in, in_len, buf, cap, out_len);
        break;
    case GOP_WRAP_METRICS:
        rc = ptel_export_metrics_wrap(&o, in, in_len, buf, cap, out_len);
        break;
    default:
        break;
    }
done:
    free(s.p);
    return rc;
}

static int gop_report_json(const uint8_t *raw, uint8_t *buf, size_t cap, size_t *len) {
    ptel_report r;
    memcpy(&r, raw, sizeof r);
    return ptel_report_to_json(&r, (char *)buf, cap, len);
}

static int gop_aggregator_new(ptel_aggregator **out, uint32_t cardinality, uint32_t metrics,
                              gop_clock *clock) {
    ptel_aggregator_options o;
    ptel_aggregator_options_init(&o);
    if (cardinality) o.cardinality_limit = cardinality;
    if (metrics) o.metric_limit = metrics;
    o.clock = gop_clock_of(clock);
    return ptel_aggregator_new(out, &o);
}
// ---- exporter -------------------------------------------------------------------------

// Exporter options from a record (exporterOptions.record in exporter.go). An
// empty endpoint keeps the default; an empty path means `fd`.
static int gop_exporter_new(ptel_exporter **out, const uint8_t *buf, size_t len, gop_clock *clock,
                            ptel_diag *diag) {
    gop_rd r = {buf, buf + len, 1};
    gop_scratch s = {NULL, 0, 0};
    ptel_exporter_options o;
    ptel_exporter_options_init(&o);
    char *path = NULL;
    int rc = PTEL_E_INVALID_ARGUMENT;
    *out = NULL;
    if (!gop_reserve(&r, &s)) goto done;
    o.kind = gop_rd_u32(&r);
    ptel_str endpoint = gop_rd_str(&r);
    if (endpoint.len) o.endpoint = endpoint;
    o.traces_endpoint = gop_rd_str(&r);
    o.metrics_endpoint = gop_rd_str(&r);
    o.headers = gop_rd_str(&r);
    o.traces_headers = gop_rd_str(&r);
    o.metrics_headers = gop_rd_str(&r);
    o.timeout_ms = gop_rd_u32(&r);
    o.compression = gop_rd_u32(&r);
    o.service_name = gop_rd_str(&r);
    o.resource_attributes = gop_rd_str(&r);
    if (!gop_rd_attrs(&r, &s, &o.resource, &o.resource_count, NULL)) goto done;
    o.temporality = gop_rd_u32(&r);
    o.metric_interval_ms = gop_rd_u32(&r);
    o.self_telemetry = gop_rd_u8(&r) != 0;
    o.include_invocation_span = gop_rd_u8(&r) != 0;
    o.max_queue_bytes = gop_rd_u32(&r);
    o.max_queue_requests = gop_rd_u32(&r);
    o.max_batch_bytes = gop_rd_u32(&r);
    o.schedule_delay_ms = gop_rd_u32(&r);
    o.retry_initial_ms = gop_rd_u32(&r);
    o.retry_max_ms = gop_rd_u32(&r);
    o.retry_max_elapsed_ms = gop_rd_u32(&r);
    ptel_str p = gop_rd_str(&r);
    o.fd = (int32_t)gop_rd_u32(&r);
    o.console_flags = gop_rd_u32(&r);
    if (!r.ok) goto done;
    if (p.len) {
        path = malloc(p.len + 1);
        if (!path) {
            rc = PTEL_E_NOMEM;
            goto done;
        }
        memcpy(path, p.ptr, p.len);
        path[p.len] = 0;
        o.path = path;
    }
    o.clock = gop_clock_of(clock);
    rc = ptel_exporter_new(out, &o, diag);
done:
    if (rc == PTEL_E_INVALID_ARGUMENT && !*out && !r.ok)
        ptel__fail(diag, rc, 0, 0, "malformed options record");
    free(path);
    free(s.p);
    return rc;
}

// Copies of the environment variables the exporter reads, by ptel_exporter_env.
typedef struct gop_exporter_env {
    char *v[PTEL_ENV_COUNT];
} gop_exporter_env;

static const char *gop_exporter_env_get(void *ud, const char *name) {
    gop_exporter_env *e = ud;
    for (int k = 1; k < PTEL_ENV_COUNT; k++)
        if (strcmp(ptel_exporter_env_name(k), name) == 0) return e->v[k];
    return NULL;
}

static void gop_exporter_env_free(gop_exporter_env *e) {
    if (!e) return;
    for (int k = 0; k < PTEL_ENV_COUNT; k++) free(e->v[k]);
    free(e);
}

// The defaults with the environment applied. `vals` holds the values of
// variables 1 .. PTEL_ENV_COUNT-1 one after another, `lens` their lengths
// (-1 = unset). `o` borrows from `*env`: read it, then gop_exporter_env_free.
static int gop_exporter_options_from_env(ptel_exporter_options *o, gop_exporter_env **env,
                                         const char *vals, const int64_t *lens, ptel_diag *diag) {
    ptel_exporter_options_init(o);
    gop_exporter_env *e = calloc(1, sizeof *e);
    *env = e;
    if (!e) return PTEL_E_NOMEM;
    const char *p = vals;
    for (int k = 1; k < PTEL_ENV_COUNT; k++) {
        if (lens[k] < 0) continue;
        e->v[k] = malloc((size_t)lens[k] + 1);
        if (!e->v[k]) return PTEL_E_NOMEM;
        memcpy(e->v[k], p, (size_t)lens[k]);
        e->v[k][lens[k]] = 0;
        p += lens[k];
    }
    return ptel_exporter_options_from_env(o, gop_exporter_env_get, e, diag);
}

*/
import "C"

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// sizes of the C structures, for tests that check layout assumptions.
const (
	cSizeofAttr  = C.sizeof_ptel_attr
	cSizeofValue = C.sizeof_ptel_value
)

// cptr returns a pointer to the first byte of b for the duration of a call,
// or nil for an empty slice.
func cbytes(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(unsafe.SliceData(b)))
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func cstr(s string) *C.char {
	if len(s) == 0 {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

// ---- status and diagnostics ---------------------------------------------------------

func diagError(op string, rc C.int, d *C.ptel_diag) error {
	if rc == 0 {
		return nil
	}
	e := &Error{Code: ErrorCode(rc), Op: op}
	if d != nil && d.status != 0 {
		e.Field = uint32(d.field)
		e.Offset = uint64(d.offset)
		if d.reason != nil {
			e.Reason = C.GoString(d.reason)
		}
	}
	return e
}

func cVersion() string { return C.GoString(C.ptel_version()) }

func cStrerror(code int32) string { return C.GoString(C.ptel_strerror(C.int(code))) }

func cStatusName(code int32) string { return C.GoString(C.ptel_status_name(C.int(code))) }

func cDefaultLimits() Limits {
	var l C.ptel_limits
	C.ptel_limits_init(&l)
	return limitsFromC(&l)
}

func limitsFromC(l *C.ptel_limits) Limits {
	return Limits{
		AttributeCount:       uint32(l.attribute_count),
		AttributeValueLength: uint32(l.attribute_value_length),
		AttributeDepth:       uint32(l.attribute_depth),
		EventCount:           uint32(l.event_count),
		LinkCount:            uint32(l.link_count),
		AttributesPerEvent:   uint32(l.attributes_per_event),
		AttributesPerLink:    uint32(l.attributes_per_link),
		SpanCount:            uint32(l.span_count),
		MetricCount:          uint32(l.metric_count),
		MetricCardinality:    uint32(l.metric_cardinality),
		PayloadBytes:         uint32(l.payload_bytes),
	}
}

func limitsToC(l Limits) C.ptel_limits {
	return C.ptel_limits{
		attribute_count:        C.uint32_t(l.AttributeCount),
		attribute_value_length: C.uint32_t(l.AttributeValueLength),
		attribute_depth:        C.uint32_t(l.AttributeDepth),
		event_count:            C.uint32_t(l.EventCount),
		link_count:             C.uint32_t(l.LinkCount),
		attributes_per_event:   C.uint32_t(l.AttributesPerEvent),
		attributes_per_link:    C.uint32_t(l.AttributesPerLink),
		span_count:             C.uint32_t(l.SpanCount),
		metric_count:           C.uint32_t(l.MetricCount),
		metric_cardinality:     C.uint32_t(l.MetricCardinality),
		payload_bytes:          C.uint32_t(l.PayloadBytes),
	}
}

func cResolveLimits(l Limits) Limits {
	c := limitsToC(l)
	C.ptel_limits_resolve(&c)
	return limitsFromC(&c)
}

// ---- manual clock ------------------------------------------------------------------

func cClockNew(real0 uint64) unsafe.Pointer {
	return unsafe.Pointer(C.gop_clock_new(C.uint64_t(real0)))
}

func cClockFree(p unsafe.Pointer) { C.free(p) }

func cClockMono(p unsafe.Pointer) *uint64 {
	return (*uint64)(unsafe.Pointer(&(*C.gop_clock)(p).mono))
}

func cClockLoad(p unsafe.Pointer) uint64 { return atomic.LoadUint64(cClockMono(p)) }

func cClockStore(p unsafe.Pointer, v uint64) { atomic.StoreUint64(cClockMono(p), v) }

func cClockReal0(p unsafe.Pointer) uint64 { return uint64((*C.gop_clock)(p).real0) }

// ---- contexts ------------------------------------------------------------------------

func cContextFree(p unsafe.Pointer) { C.ptel_context_free((*C.ptel_context)(p)) }

func cContextFromW3C(tp, ts, bg string) (unsafe.Pointer, error) {
	var out *C.ptel_context
	var d C.ptel_diag
	rc := C.ptel_context_from_w3c(&out, cstr(tp), C.size_t(len(tp)), cstr(ts), C.size_t(len(ts)),
		cstr(bg), C.size_t(len(bg)), nil, &d)
	runtime.KeepAlive(tp)
	runtime.KeepAlive(ts)
	runtime.KeepAlive(bg)
	return unsafe.Pointer(out), diagError("context from W3C", rc, &d)
}

func cContextDecode(b []byte) (unsafe.Pointer, error) {
	var out *C.ptel_context
	var d C.ptel_diag
	rc := C.ptel_context_decode(&out, cbytes(b), C.size_t(len(b)), nil, &d)
	runtime.KeepAlive(b)
	return unsafe.Pointer(out), diagError("decode context", rc, &d)
}

func cContextNew(f *ContextFields) (unsafe.Pointer, error) {
	var cf C.ptel_context_fields
	C.ptel_context_fields_init(&cf)
	if f.ProtocolVersion != 0 {
		cf.protocol_version = C.uint32_t(f.ProtocolVersion)
	}
	for k := 0; k < 16; k++ {
		cf.parent.trace_id[k] = C.uint8_t(f.TraceID[k])
	}
	for k := 0; k < 8; k++ {
		cf.parent.span_id[k] = C.uint8_t(f.SpanID[k])
	}
	cf.parent.trace_flags = C.uint8_t(f.TraceFlags)
	cf.parent.is_remote = C.bool(f.Remote)
	cf.decision = C.uint32_t(f.Decision)
	cf.limits = limitsToC(f.Limits)
	cf.time_base_unix_nano = C.uint64_t(f.TimeBase)
	cf.features = C.uint64_t(f.Features)
	strs := f.TraceState + f.Baggage + f.PluginName + f.PluginVersion + f.Hook
	var out *C.ptel_context
	var d C.ptel_diag
	rc := C.gop_context_new(&out, &cf, cstr(strs), C.size_t(len(f.TraceState)),
		C.size_t(len(f.Baggage)), C.size_t(len(f.PluginName)), C.size_t(len(f.PluginVersion)),
		C.size_t(len(f.Hook)), &d)
	runtime.KeepAlive(strs)
	return unsafe.Pointer(out), diagError("new context", rc, &d)
}

func cContextFromEnv(vals [4]string, set [4]bool) (unsafe.Pointer, error) {
	var lens [4]C.int64_t
	all := ""
	for k := range vals {
		lens[k] = -1
		if set[k] {
			lens[k] = C.int64_t(len(vals[k]))
			all += vals[k]
		}
	}
	var out *C.ptel_context
	var d C.ptel_diag
	rc := C.gop_context_from_env(&out, cstr(all), lens[0], lens[1], lens[2], lens[3], &d)
	runtime.KeepAlive(all)
	return unsafe.Pointer(out), diagError("context from environment", rc, &d)
}

func goStr(s C.ptel_str) string {
	if s.len == 0 || s.ptr == nil {
		return ""
	}
	return C.GoStringN(s.ptr, C.int(s.len))
}

func cContextGet(p unsafe.Pointer) ContextFields {
	var cf C.ptel_context_fields
	C.ptel_context_get((*C.ptel_context)(p), &cf)
	f := ContextFields{
		ProtocolVersion: uint32(cf.protocol_version),
		TraceFlags:      uint8(cf.parent.trace_flags),
		Remote:          bool(cf.parent.is_remote),
		TraceState:      goStr(cf.tracestate),
		Baggage:         goStr(cf.baggage),
		Decision:        Decision(cf.decision),
		Limits:          limitsFromC(&cf.limits),
		TimeBase:        uint64(cf.time_base_unix_nano),
		PluginName:      goStr(cf.plugin_name),
		PluginVersion:   goStr(cf.plugin_version),
		Hook:            goStr(cf.hook),
		Features:        Feature(cf.features),
	}
	for k := 0; k < 16; k++ {
		f.TraceID[k] = byte(cf.parent.trace_id[k])
	}
	for k := 0; k < 8; k++ {
		f.SpanID[k] = byte(cf.parent.span_id[k])
	}
	return f
}

// cSized runs a size-query C call: first into a buffer of `guess` bytes, then,
// when the call reports PTEL_E_BUFFER_TOO_SMALL, into one of the size it
// asked for.
func cSized(guess int, call func(buf []byte, n *C.size_t) C.int) ([]byte, C.int) {
	buf := make([]byte, guess)
	for tries := 0; tries < 4; tries++ {
		var n C.size_t
		rc := call(buf, &n)
		if rc == C.PTEL_E_BUFFER_TOO_SMALL && int(n) >= len(buf) && tries < 3 {
			buf = make([]byte, int(n)+1)
			continue
		}
		if rc != 0 {
			return nil, rc
		}
		return buf[:n], 0
	}
	return nil, C.PTEL_E_BUFFER_TOO_SMALL
}

func cContextEncode(p unsafe.Pointer) ([]byte, error) {
	b, rc := cSized(256, func(buf []byte, n *C.size_t) C.int {
		return C.ptel_context_encode((*C.ptel_context)(p), cbytes(buf), C.size_t(len(buf)), n)
	})
	return b, diagError("encode context", rc, nil)
}

func cContextToEnv(p unsafe.Pointer) ([]byte, error) {
	b, rc := cSized(512, func(buf []byte, n *C.size_t) C.int {
		return C.ptel_context_to_env((*C.ptel_context)(p), (*C.char)(unsafe.Pointer(cbytes(buf))),
			C.size_t(len(buf)), n)
	})
	return b, diagError("context to environment", rc, nil)
}

func cContextTraceparent(p unsafe.Pointer) (string, error) {
	var buf [64]C.char
	var n C.size_t
	rc := C.ptel_context_traceparent((*C.ptel_context)(p), &buf[0], C.size_t(len(buf)), &n)
	if rc != 0 {
		return "", diagError("traceparent", rc, nil)
	}
	return C.GoStringN(&buf[0], C.int(n)), nil
}

// ---- recorder ------------------------------------------------------------------------

func cRecNew(ctx unsafe.Pointer, clock unsafe.Pointer, strict bool) (unsafe.Pointer, uint64, error) {
	var out *C.gop_rec
	var now C.uint64_t
	s := C.int(0)
	if strict {
		s = 1
	}
	rc := C.gop_rec_new(&out, (*C.ptel_context)(ctx), (*C.gop_clock)(clock), s, &now)
	return unsafe.Pointer(out), uint64(now), diagError("new recorder", rc, nil)
}

func cRecReset(g, ctx unsafe.Pointer) (uint64, error) {
	var now C.uint64_t
	rc := C.gop_rec_reset((*C.gop_rec)(g), (*C.ptel_context)(ctx), &now)
	return uint64(now), diagError("reset recorder", rc, nil)
}

func cRecFree(g unsafe.Pointer) { C.gop_rec_free((*C.gop_rec)(g)) }

// cSpanRecord is the one crossing per span.
func cSpanRecord(g unsafe.Pointer, rec []byte, open bool) int32 {
	rc := C.gop_span_record(C.uintptr_t(uintptr(g)), cbytes(rec), C.size_t(len(rec)), cbool(open))
	runtime.KeepAlive(rec)
	return int32(rc)
}

// cRecFinish encodes the payload and appends it to dst.
func cRecFinish(g unsafe.Pointer, spans, errs uint32, dst []byte) ([]byte, error) {
	var out *C.uint8_t
	var n C.size_t
	rc := C.gop_rec_finish((*C.gop_rec)(g), C.uint32_t(spans), C.uint32_t(errs), &out, &n)
	if rc != 0 {
		return dst, diagError("finish", rc, nil)
	}
	return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(out)), int(n))...), nil
}

func cRecDrops(g unsafe.Pointer) DropCounts {
	var d C.ptel_drop_counts
	C.ptel_recorder_drops((*C.gop_rec)(g).rec, &d)
	return DropCounts{Spans: uint32(d.spans), Metrics: uint32(d.metrics),
		MetricPoints: uint32(d.metric_points), Errors: uint32(d.errors)}
}

func cRecNow(g unsafe.Pointer) uint64 {
	return uint64(C.ptel_recorder_now((*C.gop_rec)(g).rec))
}

func cMetricGet(g unsafe.Pointer, kind, number uint32, name, unit, desc string, bounds []float64, hasBounds bool) (unsafe.Pointer, int32) {
	var out *C.ptel_metric
	var bp *C.double
	if len(bounds) > 0 {
		bp = (*C.double)(unsafe.Pointer(unsafe.SliceData(bounds)))
	}
	rc := C.gop_metric_get((*C.gop_rec)(g), &out, C.uint32_t(kind), C.uint32_t(number),
		cstr(name), C.size_t(len(name)), cstr(unit), C.size_t(len(unit)), cstr(desc),
		C.size_t(len(desc)), bp, C.size_t(len(bounds)), cbool(hasBounds))
	runtime.KeepAlive(name)
	runtime.KeepAlive(unit)
	runtime.KeepAlive(desc)
	runtime.KeepAlive(bounds)
	return unsafe.Pointer(out), int32(rc)
}

func cMetricRecord(g, m unsafe.Pointer, isInt bool, i int64, d float64, rec []byte) int32 {
	ii := C.int(0)
	if isInt {
		ii = 1
	}
	rc := C.gop_metric_record((*C.gop_rec)(g), (*C.ptel_metric)(m), ii, C.int64_t(i), C.double(d),
		cbytes(rec), C.size_t(len(rec)))
	runtime.KeepAlive(rec)
	return int32(rc)
}

// ---- host ----------------------------------------------------------------------------

type cReport = C.ptel_report

// reportRaw is a copy of a ptel_report as bytes: its first.reason points to
// the core's static text, which must not sit in a Go-typed pointer field
// that is passed back to C (cgocheck cannot tell it from a Go pointer).
type reportRaw [C.sizeof_ptel_report]byte

func cInvocationBegin(rec []byte, clock unsafe.Pointer) (unsafe.Pointer, error) {
	var out *C.ptel_invocation
	var d C.ptel_diag
	rc := C.gop_invocation_begin(&out, cbytes(rec), C.size_t(len(rec)), (*C.gop_clock)(clock), &d)
	runtime.KeepAlive(rec)
	return unsafe.Pointer(out), diagError("begin invocation", rc, &d)
}

func cInvocationFree(p unsafe.Pointer) { C.ptel_invocation_free((*C.ptel_invocation)(p)) }

func cInvocationContext(p unsafe.Pointer) unsafe.Pointer {
	return unsafe.Pointer(C.ptel_invocation_context((*C.ptel_invocation)(p)))
}

func cInvocationSpanContext(p unsafe.Pointer) (tid [16]byte, sid [8]byte, flags uint8, remote bool) {
	var sc C.ptel_span_context
	C.ptel_invocation_span_context((*C.ptel_invocation)(p), &sc)
	for k := range tid {
		tid[k] = byte(sc.trace_id[k])
	}
	for k := range sid {
		sid[k] = byte(sc.span_id[k])
	}
	return tid, sid, uint8(sc.trace_flags), bool(sc.is_remote)
}

func cInvocationEnd(p unsafe.Pointer, payload []byte, outcome uint32, errorType string, rep *cReport) error {
	var d C.ptel_diag
	rc := C.ptel_invocation_end((*C.ptel_invocation)(p), cbytes(payload), C.size_t(len(payload)),
		C.uint32_t(outcome), cstr(errorType), C.size_t(len(errorType)), rep, &d)
	runtime.KeepAlive(payload)
	runtime.KeepAlive(errorType)
	return diagError("end invocation", rc, &d)
}

func reportFromC(c *cReport) Report {
	r := Report{
		Rejected:             c.status == C.PTEL_E_REJECTED,
		SpansAccepted:        uint32(c.spans_accepted),
		SpansDropped:         uint32(c.spans_dropped),
		SpansModified:        uint32(c.spans_modified),
		OpenSpans:            uint32(c.open_spans),
		MetricsAccepted:      uint32(c.metrics_accepted),
		MetricsDropped:       uint32(c.metrics_dropped),
		PointsAccepted:       uint32(c.points_accepted),
		PointsDropped:        uint32(c.points_dropped),
		PluginDroppedSpans:   uint32(c.plugin_dropped_spans),
		PluginDroppedMetrics: uint32(c.plugin_dropped_metrics),
		PluginDroppedPoints:  uint32(c.plugin_dropped_points),
		PluginErrors:         uint32(c.plugin_errors),
		FirstReason:          Reason(c.first_reason),
		First: Diag{Status: ErrorCode(c.first.status), Field: uint32(c.first.field),
			Offset: uint64(c.first.offset)},
	}
	r.raw = *(*reportRaw)(unsafe.Pointer(c))
	if c.first.reason != nil {
		r.First.Message = C.GoString(c.first.reason)
	}
	for k := range r.Reasons {
		r.Reasons[k] = uint32(c.reasons[k])
	}
	return r
}

func cReportJSON(raw *reportRaw) string {
	b, rc := cSized(1024, func(buf []byte, n *C.size_t) C.int {
		return C.gop_report_json((*C.uint8_t)(unsafe.Pointer(&raw[0])), cbytes(buf), C.size_t(len(buf)), n)
	})
	if rc != 0 {
		return ""
	}
	return string(b)
}

const (
	exportTraces        = C.GOP_EXPORT_TRACES
	exportMetrics       = C.GOP_EXPORT_METRICS
	exportScopeSpans    = C.GOP_EXPORT_SCOPE_SPANS
	exportScopeMetrics  = C.GOP_EXPORT_SCOPE_METRICS
	exportAggregator    = C.GOP_EXPORT_AGGREGATOR
	exportWrapTraces    = C.GOP_WRAP_TRACES
	exportWrapMetrics   = C.GOP_WRAP_METRICS
	errBufferTooSmallRC = C.PTEL_E_BUFFER_TOO_SMALL
)

// cExport runs an export call with a size query; the aggregator's output may
// grow between the query and the call, hence the loop.
func cExport(what int, inv, agg unsafe.Pointer, temporality uint32, opts, in []byte) ([]byte, error) {
	buf := make([]byte, 4096)
	for tries := 0; ; tries++ {
		var n C.size_t
		rc := C.gop_export(C.int(what), (*C.ptel_invocation)(inv), (*C.ptel_aggregator)(agg),
			C.uint32_t(temporality), cbytes(opts), C.size_t(len(opts)), cbytes(in),
			C.size_t(len(in)), cbytes(buf), C.size_t(len(buf)), &n)
		runtime.KeepAlive(opts)
		runtime.KeepAlive(in)
		if rc == errBufferTooSmallRC && int(n) > len(buf) && tries < 8 {
			buf = make([]byte, int(n)+int(n)/8+64)
			continue
		}
		if rc != 0 {
			return nil, diagError("export", rc, nil)
		}
		return buf[:n], nil
	}
}

func cAggregatorNew(cardinality, metrics uint32, clock unsafe.Pointer) (unsafe.Pointer, error) {
	var out *C.ptel_aggregator
	rc := C.gop_aggregator_new(&out, C.uint32_t(cardinality), C.uint32_t(metrics), (*C.gop_clock)(clock))
	return unsafe.Pointer(out), diagError("new aggregator", rc, nil)
}

func cAggregatorFree(p unsafe.Pointer) { C.ptel_aggregator_free((*C.ptel_aggregator)(p)) }

func cAggregatorAdd(agg, inv unsafe.Pointer) error {
	rc := C.ptel_aggregator_add((*C.ptel_aggregator)(agg), (*C.ptel_invocation)(inv))
	return diagError("aggregate", rc, nil)
}

func cAggregatorStats(agg unsafe.Pointer) AggregatorStats {
	var s C.ptel_aggregator_stats
	C.ptel_aggregator_get_stats((*C.ptel_aggregator)(agg), &s)
	return AggregatorStats{
		Invocations:       uint64(s.invocations),
		PointsAdded:       uint64(s.points_added),
		PointsOverflowed:  uint64(s.points_overflowed),
		PointsConflicting: uint64(s.points_conflicting),
		MetricsDropped:    uint64(s.metrics_dropped),
		Metrics:           uint32(s.metrics),
		Streams:           uint32(s.streams),
	}
}

func cJSONRender(msg uint32, data []byte) ([]byte, error) {
	var out *C.char
	var n C.size_t
	var d C.ptel_diag
	rc := C.ptel_json_render_alloc(&out, &n, C.uint32_t(msg), cbytes(data), C.size_t(len(data)), nil, &d)
	runtime.KeepAlive(data)
	if rc != 0 {
		return nil, diagError("render JSON", rc, &d)
	}
	b := C.GoBytes(unsafe.Pointer(out), C.int(n))
	C.ptel_json_free(out, n, nil)
	return b, nil
}

func cTraceparentParse(s string) (out Traceparent, err error) {
	var tp C.ptel_traceparent
	var d C.ptel_diag
	rc := C.ptel_traceparent_parse(&tp, cstr(s), C.size_t(len(s)), &d)
	runtime.KeepAlive(s)
	if rc != 0 {
		return out, diagError("parse traceparent", rc, &d)
	}
	for k := range out.TraceID {
		out.TraceID[k] = byte(tp.trace_id[k])
	}
	for k := range out.ParentID {
		out.ParentID[k] = byte(tp.parent_id[k])
	}
	out.Version, out.Flags = uint8(tp.version), uint8(tp.trace_flags)
	return out, nil
}

// ---- exporter ----------------------------------------------------------------------------

func cExporterNew(rec []byte, clock unsafe.Pointer) (unsafe.Pointer, error) {
	var out *C.ptel_exporter
	var d C.ptel_diag
	rc := C.gop_exporter_new(&out, cbytes(rec), C.size_t(len(rec)), (*C.gop_clock)(clock), &d)
	runtime.KeepAlive(rec)
	return unsafe.Pointer(out), diagError("new exporter", rc, &d)
}

func cExporterFree(p unsafe.Pointer) { C.ptel_exporter_free((*C.ptel_exporter)(p)) }

func exporterOptionsFromC(o *C.ptel_exporter_options) ExporterOptions {
	return ExporterOptions{
		Kind:                  ExporterKind(o.kind),
		Endpoint:              goStr(o.endpoint),
		TracesEndpoint:        goStr(o.traces_endpoint),
		MetricsEndpoint:       goStr(o.metrics_endpoint),
		Headers:               goStr(o.headers),
		TracesHeaders:         goStr(o.traces_headers),
		MetricsHeaders:        goStr(o.metrics_headers),
		Timeout:               msDuration(uint32(o.timeout_ms)),
		Compression:           Compression(o.compression),
		ServiceName:           goStr(o.service_name),
		ResourceAttributes:    goStr(o.resource_attributes),
		Temporality:           TemporalityPreference(o.temporality),
		MetricInterval:        msDuration(uint32(o.metric_interval_ms)),
		SelfTelemetry:         bool(o.self_telemetry),
		IncludeInvocationSpan: bool(o.include_invocation_span),
		MaxQueueBytes:         uint32(o.max_queue_bytes),
		MaxQueueRequests:      uint32(o.max_queue_requests),
		MaxBatchBytes:         uint32(o.max_batch_bytes),
		ScheduleDelay:         msDuration(uint32(o.schedule_delay_ms)),
		RetryInitial:          msDuration(uint32(o.retry_initial_ms)),
		RetryMax:              msDuration(uint32(o.retry_max_ms)),
		RetryMaxElapsed:       msDuration(uint32(o.retry_max_elapsed_ms)),
		FD:                    int(o.fd),
		ConsoleFlags:          uint32(o.console_flags),
	}
}

func cExporterDefaults() ExporterOptions {
	var o C.ptel_exporter_options
	C.ptel_exporter_options_init(&o)
	return exporterOptionsFromC(&o)
}

func cExporterEnvName(v int) string { return C.GoString(C.ptel_exporter_env_name(C.int(v))) }

// cExporterFromEnv applies vals (indexed by ptel_exporter_env; set says which
// are set) to the defaults.
func cExporterFromEnv(vals *[cEnvCount]string, set *[cEnvCount]bool) (ExporterOptions, error) {
	var lens [cEnvCount]C.int64_t
	all := ""
	for k := 1; k < cEnvCount; k++ {
		lens[k] = -1
		if set[k] {
			lens[k] = C.int64_t(len(vals[k]))
			all += vals[k]
		}
	}
	var o C.ptel_exporter_options
	var env *C.gop_exporter_env
	var d C.ptel_diag
	rc := C.gop_exporter_options_from_env(&o, &env, cstr(all), &lens[0], &d)
	runtime.KeepAlive(all)
	opts := exporterOptionsFromC(&o)
	C.gop_exporter_env_free(env)
	err := diagError("exporter options from environment", rc, &d)
	if e, ok := err.(*Error); ok && e.Field > 0 && e.Field < cEnvCount {
		e.Reason = cExporterEnvName(int(e.Field)) + ": " + e.Reason
	}
	return opts, err
}

func cExporterSubmit(exp, inv unsafe.Pointer) error {
	rc := C.ptel_exporter_submit_invocation((*C.ptel_exporter)(exp), (*C.ptel_invocation)(inv))
	return diagError("submit invocation", rc, nil)
}

func cExporterSubmitRequest(exp unsafe.Pointer, metrics bool, req []byte) error {
	var rc C.int
	if metrics {
		rc = C.ptel_exporter_submit_metrics((*C.ptel_exporter)(exp), cbytes(req), C.size_t(len(req)))
	} else {
		rc = C.ptel_exporter_submit_traces((*C.ptel_exporter)(exp), cbytes(req), C.size_t(len(req)))
	}
	runtime.KeepAlive(req)
	return diagError("submit request", rc, nil)
}

func cExporterFlush(exp unsafe.Pointer, deadlineMS uint32, shutdown bool) error {
	if shutdown {
		return diagError("shutdown exporter",
			C.ptel_exporter_shutdown((*C.ptel_exporter)(exp), C.uint32_t(deadlineMS)), nil)
	}
	return diagError("flush exporter", C.ptel_exporter_flush((*C.ptel_exporter)(exp), C.uint32_t(deadlineMS)), nil)
}

func cExporterStats(exp unsafe.Pointer) ExporterStats {
	var s C.ptel_exporter_stats
	C.ptel_exporter_get_stats((*C.ptel_exporter)(exp), &s)
	out := ExporterStats{Invocations: uint64(s.invocations), QueueRequests: uint64(s.queue_requests),
		QueueBytes: uint64(s.queue_bytes), LastHTTPStatus: uint64(s.last_http_status), raw: s}
	for k, dst := range []*SignalStats{&out.Traces, &out.Metrics} {
		g := &s.signals[k]
		*dst = SignalStats{RequestsSubmitted: uint64(g.requests_submitted),
			ItemsSubmitted: uint64(g.items_submitted), ItemsSent: uint64(g.items_sent),
			ExportsOK: uint64(g.exports_ok), ExportsFailed: uint64(g.exports_failed),
			Retries: uint64(g.retries), QueuedItems: uint64(g.queued_items), QueuedBytes: uint64(g.queued_bytes)}
		for d := range dst.ItemsDropped {
			dst.ItemsDropped[d] = uint64(g.items_dropped[d])
		}
	}
	return out
}

type cExporterStatsRaw = C.ptel_exporter_stats

func cExporterStatsJSON(s *cExporterStatsRaw) string {
	buf := make([]byte, 1024)
	for tries := 0; tries < 4; tries++ {
		var n C.size_t
		rc := C.ptel_exporter_stats_to_json(s, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n)
		if rc == 0 {
			return string(buf[:n])
		}
		if rc != C.PTEL_E_BUFFER_TOO_SMALL {
			break
		}
		buf = make([]byte, int(n)+1)
	}
	return ""
}

func cExportDropName(d int) string { return C.GoString(C.ptel_export_drop_name(C.int(d))) }

// cExporterMemoryRequests copies the requests a memory exporter holds for signal.
func cExporterMemoryRequests(exp unsafe.Pointer, signal uint32) [][]byte {
	e := (*C.ptel_exporter)(exp)
	n := int(C.ptel_exporter_memory_count(e, C.uint32_t(signal)))
	out := make([][]byte, 0, n)
	for k := 0; k < n; k++ {
		var data *C.uint8_t
		var l C.size_t
		if C.ptel_exporter_memory_get(e, C.uint32_t(signal), C.size_t(k), &data, &l) != 0 {
			break
		}
		out = append(out, C.GoBytes(unsafe.Pointer(data), C.int(l)))
	}
	return out
}

func cExporterMemoryClear(exp unsafe.Pointer) { C.ptel_exporter_memory_clear((*C.ptel_exporter)(exp)) }
