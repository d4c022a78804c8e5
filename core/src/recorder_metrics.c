/* Recorder metrics: instruments, per-attribute-set delta aggregation,
 * exemplars, and their OTLP Metric encoding. */
#include "recorder_internal.h"

#include <math.h>

static const double met_default_bounds[15] = {0,   5,   10,   25,   50,   75,   100,  250,
                                              500, 750, 1000, 2500, 5000, 7500, 10000};

enum { MET_MAX_BOUNDS = 256 };

const double *ptel_default_histogram_bounds(size_t *count) {
    if (count) *count = 15;
    return met_default_bounds;
}

void ptel_metric_options_init(ptel_metric_options *opts) {
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->version = PTEL_METRIC_OPTIONS_VERSION;
    opts->kind = PTEL_METRIC_COUNTER;
    opts->number_type = PTEL_NUMBER_DOUBLE;
}

static bool met_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* OpenTelemetry instrument name: ALPHA 0*254 ("_" / "." / "-" / "/" / ALPHA / DIGIT). */
static bool met_name_valid(const ptel_str *n) {
    if (n->len == 0 || n->len > 255 || !n->ptr || !met_alpha(n->ptr[0])) return false;
    for (size_t k = 1; k < n->len; k++) {
        char c = n->ptr[k];
        if (!(met_alpha(c) || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
              c == '/'))
            return false;
    }
    return true;
}

/* Unit: printable ASCII, at most 63 characters. */
static bool met_unit_valid(const ptel_str *u) {
    if (u->len > 63 || (u->len && !u->ptr)) return false;
    for (size_t k = 0; k < u->len; k++)
        if (u->ptr[k] < 0x20 || u->ptr[k] > 0x7e) return false;
    return true;
}

static bool met_name_equal(const ptel_str *a, const ptel_str *b) {
    if (a->len != b->len) return false;
    for (size_t k = 0; k < a->len; k++) {
        char x = a->ptr[k], y = b->ptr[k];
        if (x >= 'A' && x <= 'Z') x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z') y = (char)(y + 32);
        if (x != y) return false;
    }
    return true;
}

static bool met_str_equal(const ptel_str *a, const ptel_str *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

static int met_copy(ptel_recorder *rec, ptel_str *dst, const ptel_str *src) {
    dst->ptr = "";
    dst->len = src->len;
    if (!src->len) return 0;
    char *p = ptel__arena_dup(&rec->arena, src->ptr, src->len);
    if (!p) return PTEL_E_NOMEM;
    dst->ptr = p;
    return 0;
}

int ptel_metric_get(ptel_metric **out, ptel_recorder *rec, const ptel_metric_options *o) {
    if (!out)
        return rec ? ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ARGUMENT)
                   : PTEL_E_INVALID_ARGUMENT;
    *out = NULL;
    if (!rec) return PTEL_E_INVALID_ARGUMENT;
    uint32_t *drop = &rec->drops.metrics;
    if (!o || o->version != PTEL_METRIC_OPTIONS_VERSION || o->kind < PTEL_METRIC_COUNTER ||
        o->kind > PTEL_METRIC_HISTOGRAM || o->number_type < PTEL_NUMBER_INT ||
        o->number_type > PTEL_NUMBER_DOUBLE || (o->bound_count && !o->bounds))
        return ptel__rec_refuse(rec, drop, PTEL_E_INVALID_ARGUMENT);
    if (rec->finished) return ptel__rec_refuse(rec, drop, PTEL_E_STATE);
    if (!met_name_valid(&o->name) || !met_unit_valid(&o->unit))
        return ptel__rec_refuse(rec, drop, PTEL_E_NAME);
    if (o->description.len &&
        (!o->description.ptr || !ptel__utf8_valid(o->description.ptr, o->description.len)))
        return ptel__rec_refuse(rec, drop, PTEL_E_UTF8);

    const double *bounds = met_default_bounds;
    size_t bound_count = 15;
    if (o->kind == PTEL_METRIC_HISTOGRAM && o->bounds) {
        bounds = o->bounds;
        bound_count = o->bound_count;
        if (bound_count > MET_MAX_BOUNDS) return ptel__rec_refuse(rec, drop, PTEL_E_VALUE);
        for (size_t k = 0; k < bound_count; k++)
            if (!isfinite(bounds[k]) || (k && !(bounds[k] > bounds[k - 1])))
                return ptel__rec_refuse(rec, drop, PTEL_E_VALUE);
    }
    if (o->kind != PTEL_METRIC_HISTOGRAM) bound_count = 0;

    for (uint32_t k = 0; k < rec->metric_count; k++) {
        ptel_metric *m = rec->metrics[k];
        if (!met_name_equal(&m->name, &o->name)) continue;
        bool same =
            m->kind == o->kind && m->number_type == o->number_type &&
            met_str_equal(&m->unit, &o->unit) && m->bound_count == bound_count &&
            (bound_count == 0 || memcmp(m->bounds, bounds, bound_count * sizeof(double)) == 0);
        if (!same) return ptel__rec_refuse(rec, drop, PTEL_E_CONFLICT);
        *out = m;
        return 0;
    }
    if (rec->metric_count >= rec->limits.metric_count)
        return ptel__rec_refuse(rec, drop, PTEL_E_LIMIT);
    if (rec->metric_count == rec->metric_cap) {
        uint32_t cap = rec->metric_cap ? rec->metric_cap * 2 : 8;
        ptel_metric **ms =
            ptel__arena_grow(&rec->arena, rec->metrics, sizeof *ms, rec->metric_count, cap);
        if (!ms) return ptel__rec_refuse(rec, drop, PTEL_E_NOMEM);
        rec->metrics = ms;
        rec->metric_cap = cap;
    }
    ptel_metric *m = ptel__arena_alloc(&rec->arena, sizeof *m);
    if (!m) return ptel__rec_refuse(rec, drop, PTEL_E_NOMEM);
    memset(m, 0, sizeof *m);
    m->rec = rec;
    m->kind = o->kind;
    m->number_type = o->number_type;
    m->overflow = -1;
    m->bound_count = (uint32_t)bound_count;
    m->bounds =
        bound_count ? ptel__arena_dup(&rec->arena, bounds, bound_count * sizeof(double)) : NULL;
    if ((bound_count && !m->bounds) || met_copy(rec, &m->name, &o->name) ||
        met_copy(rec, &m->unit, &o->unit) || met_copy(rec, &m->description, &o->description))
        return ptel__rec_refuse(rec, drop, PTEL_E_NOMEM);
    rec->metrics[rec->metric_count++] = m;
    *out = m;
    return 0;
}

/* ---- attribute sets ------------------------------------------------------------- */

static int met_key_cmp(const ptel_attr *a, const ptel_attr *b) {
    size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int c = n ? memcmp(a->key.ptr, b->key.ptr, n) : 0;
    if (c) return c;
    return a->key.len < b->key.len ? -1 : a->key.len > b->key.len;
}

static uint64_t met_hash(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t k = 0; k < n; k++) h = (h ^ p[k]) * 0x100000001b3ull;
    return h;
}

static uint8_t met_attr_tag(const ptel_metric *m) {
    return m->kind == PTEL_METRIC_HISTOGRAM ? 0x4a : 0x3a;
}

/* Encode the attribute set canonically (sorted by key, last duplicate wins)
 * into rec->scratch.bytes. */
static int met_encode_set(ptel_recorder *rec, const ptel_metric *m, const ptel_attr *attrs,
                          size_t count) {
    rec->scratch.bytes.len = 0;
    if (count == 0) return 0;
    if (count > rec->sort_cap) {
        if (count > UINT32_MAX / 2) return PTEL_E_LIMIT;
        uint32_t cap = rec->sort_cap ? rec->sort_cap : 16;
        while (cap < count) cap *= 2;
        const ptel_attr **s = ptel__arena_alloc(&rec->arena, cap * sizeof *s);
        if (!s) return PTEL_E_NOMEM;
        rec->sort_scratch = s;
        rec->sort_cap = cap;
    }
    const ptel_attr **s = rec->sort_scratch;
    size_t n = 0;
    for (size_t k = 0; k < count; k++) {
        int rc = ptel__rec_attr_check(rec, &attrs[k]);
        if (rc) return rc;
        /* Insertion sort, stable: sets are small and often already sorted. */
        size_t j = n++;
        while (j > 0 && met_key_cmp(s[j - 1], &attrs[k]) > 0) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = &attrs[k];
    }
    for (size_t k = 0; k < n; k++) {
        if (k + 1 < n && met_key_cmp(s[k], s[k + 1]) == 0) continue; /* a later one wins */
        rec_kv_sizes sizes = ptel__rec_kv_sizes(rec, s[k]);
        int rc = ptel__rec_bytes_reserve(rec, &rec->scratch.bytes, ptel__len_field_size(sizes.kv));
        if (rc) return rc;
        uint8_t *p = ptel__rec_attr_write(rec, rec->scratch.bytes.p + rec->scratch.bytes.len,
                                          met_attr_tag(m), s[k], sizes);
        rec->scratch.bytes.len = (uint32_t)(p - rec->scratch.bytes.p);
    }
    return 0;
}

static int met_table_grow(ptel_recorder *rec, ptel_metric *m) {
    uint32_t size = m->table_size ? m->table_size * 2 : 16;
    uint32_t *t = ptel__arena_alloc(&rec->arena, size * sizeof *t);
    if (!t) return PTEL_E_NOMEM;
    memset(t, 0, size * sizeof *t);
    for (uint32_t k = 0; k < m->point_count; k++) {
        rec_point *pt = &m->points[k];
        uint32_t b = (uint32_t)(pt->hash & (size - 1));
        pt->next = t[b];
        t[b] = k + 1;
    }
    m->table = t;
    m->table_size = size;
    return 0;
}

static int met_new_point(ptel_recorder *rec, ptel_metric *m, const uint8_t *attrs, uint32_t len,
                         uint64_t hash, rec_point **out) {
    if (m->point_count == m->point_cap) {
        uint32_t cap = m->point_cap ? m->point_cap * 2 : 4;
        rec_point *pts = ptel__arena_grow(&rec->arena, m->points, sizeof *pts, m->point_count, cap);
        if (!pts) return PTEL_E_NOMEM;
        m->points = pts;
        m->point_cap = cap;
    }
    if ((m->point_count + 1) * 2 > m->table_size) {
        int rc = met_table_grow(rec, m);
        if (rc) return rc;
    }
    rec_point *pt = &m->points[m->point_count];
    memset(pt, 0, sizeof *pt);
    pt->attrs = len ? ptel__arena_dup(&rec->arena, attrs, len) : NULL;
    if (len && !pt->attrs) return PTEL_E_NOMEM;
    if (m->kind == PTEL_METRIC_HISTOGRAM) {
        size_t nb = (size_t)m->bound_count + 1;
        pt->buckets = ptel__arena_alloc(&rec->arena, nb * sizeof *pt->buckets);
        if (!pt->buckets) return PTEL_E_NOMEM;
        memset(pt->buckets, 0, nb * sizeof *pt->buckets);
    }
    pt->attrs_len = len;
    pt->hash = hash;
    pt->is_int = m->number_type == PTEL_NUMBER_INT && m->kind != PTEL_METRIC_HISTOGRAM;
    uint32_t b = (uint32_t)(hash & (m->table_size - 1));
    pt->next = m->table[b];
    m->table[b] = m->point_count + 1;
    m->point_count++;
    *out = pt;
    return 0;
}

/* The point for the attribute set in rec->scratch, created on first use; past
 * the cardinality limit, the {otel.metric.overflow=true} point. */
static int met_point_for_set(ptel_recorder *rec, ptel_metric *m, rec_point **out) {
    const uint8_t *a = rec->scratch.bytes.p;
    uint32_t len = rec->scratch.bytes.len;
    uint64_t h = met_hash(a, len);
    if (m->table_size) {
        for (uint32_t i = m->table[h & (m->table_size - 1)]; i; i = m->points[i - 1].next) {
            rec_point *pt = &m->points[i - 1];
            if (pt->hash == h && pt->attrs_len == len && (len == 0 || !memcmp(pt->attrs, a, len)) &&
                (int32_t)(i - 1) != m->overflow) {
                *out = pt;
                return 0;
            }
        }
    }
    /* One series stays free for the overflow point (OpenTelemetry's rule). */
    if (m->point_count + 1 < m->rec->limits.metric_cardinality)
        return met_new_point(rec, m, a, len, h, out);
    if (m->overflow < 0) {
        ptel_attr ov;
        memset(&ov, 0, sizeof ov);
        ov.key.ptr = "otel.metric.overflow";
        ov.key.len = 20;
        ov.value.type = PTEL_VALUE_BOOL;
        ov.value.i = 1;
        uint8_t buf[32];
        uint8_t *e =
            ptel__rec_attr_write(rec, buf, met_attr_tag(m), &ov, ptel__rec_kv_sizes(rec, &ov));
        uint32_t n = (uint32_t)(e - buf);
        m->overflow = (int32_t)m->point_count;
        int rc = met_new_point(rec, m, buf, n, met_hash(buf, n), out);
        if (rc) m->overflow = -1;
        return rc;
    }
    *out = &m->points[m->overflow];
    return 0;
}

/* The exemplar span of a measurement: a recording, sampled span of this
 * recorder's trace, given by handle or by context. NULL when there is none. */
static const uint8_t *met_exemplar_span(const ptel_recorder *rec, const ptel_span *span,
                                        const ptel_span_context *active) {
    if (!(rec->features & PTEL_FEATURE_EXEMPLARS)) return NULL;
    if (span)
        return span->rec == rec && span->state != REC_SPAN_NONRECORDING &&
                       (span->trace_flags & PTEL_TRACE_FLAG_SAMPLED)
                   ? span->span_id
                   : NULL;
    if (active && ptel_span_context_is_valid(active) &&
        (active->trace_flags & PTEL_TRACE_FLAG_SAMPLED) &&
        memcmp(active->trace_id, rec->cf.parent.trace_id, 16) == 0 &&
        memcmp(active->span_id, rec->cf.parent.span_id, 8) != 0)
        return active->span_id;
    return NULL;
}

static int met_record(ptel_metric *m, bool is_int, int64_t i, double d, const ptel_attr *attrs,
                      size_t count, const ptel_span *span, const ptel_span_context *active) {
    if (!m || !m->rec) return PTEL_E_INVALID_ARGUMENT;
    ptel_recorder *rec = m->rec;
    uint32_t *drop = &rec->drops.metric_points;
    if (rec->finished) return ptel__rec_refuse(rec, drop, PTEL_E_STATE);
    if (count && !attrs) return ptel__rec_refuse(rec, drop, PTEL_E_INVALID_ARGUMENT);
    if (!is_int && m->number_type == PTEL_NUMBER_INT && m->kind != PTEL_METRIC_HISTOGRAM)
        return ptel__rec_refuse(rec, drop, PTEL_E_INVALID_ARGUMENT);
    double dv = is_int ? (double)i : d;
    switch (m->kind) {
    case PTEL_METRIC_COUNTER:
        if (is_int ? i < 0 : !(isfinite(d) && d >= 0))
            return ptel__rec_refuse(rec, drop, PTEL_E_VALUE);
        break;
    case PTEL_METRIC_UPDOWN_COUNTER:
    case PTEL_METRIC_HISTOGRAM:
        if (!isfinite(dv)) return ptel__rec_refuse(rec, drop, PTEL_E_VALUE);
        break;
    default:
        break;
    }
    int rc = met_encode_set(rec, m, attrs, count);
    rec_point *pt = NULL;
    if (!rc) rc = met_point_for_set(rec, m, &pt);
    if (rc) return ptel__rec_refuse(rec, drop, rc);

    switch (m->kind) {
    case PTEL_METRIC_COUNTER:
    case PTEL_METRIC_UPDOWN_COUNTER:
        if (pt->is_int) {
            /* Saturate rather than wrap: a sum never changes sign by overflow. */
            if (__builtin_add_overflow(pt->i, i, &pt->i)) pt->i = i > 0 ? INT64_MAX : INT64_MIN;
        } else {
            pt->d += dv;
        }
        break;
    case PTEL_METRIC_GAUGE:
        if (pt->is_int)
            pt->i = i;
        else
            pt->d = dv;
        break;
    case PTEL_METRIC_HISTOGRAM: {
        uint32_t lo = 0, hi = m->bound_count; /* first bound >= value */
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (dv <= m->bounds[mid])
                hi = mid;
            else
                lo = mid + 1;
        }
        pt->buckets[lo]++;
        if (pt->count == 0 || dv < pt->min) pt->min = dv;
        if (pt->count == 0 || dv > pt->max) pt->max = dv;
        pt->count++;
        pt->d += dv;
        if (dv < 0) pt->negative_seen = true;
        break;
    }
    default:
        break;
    }
    const uint8_t *ex_span = met_exemplar_span(rec, span, active);
    if (ex_span) {
        rec_exemplar *ex = &pt->exemplar;
        ex->set = true;
        ex->is_int = is_int && m->number_type == PTEL_NUMBER_INT;
        ex->time = ptel_recorder_now(rec);
        ex->i = i;
        ex->d = dv;
        memcpy(ex->span_id, ex_span, 8);
        memcpy(ex->trace_id, rec->cf.parent.trace_id, 16);
    }
    return 0;
}

int ptel_metric_record_int(ptel_metric *metric, int64_t value, const ptel_attr *attrs, size_t count,
                           const ptel_span *span) {
    return met_record(metric, true, value, 0, attrs, count, span, NULL);
}

int ptel_metric_record_double(ptel_metric *metric, double value, const ptel_attr *attrs,
                              size_t count, const ptel_span *span) {
    return met_record(metric, false, 0, value, attrs, count, span, NULL);
}

int ptel_metric_record_int_ctx(ptel_metric *metric, int64_t value, const ptel_attr *attrs,
                               size_t count, const ptel_span_context *active) {
    return met_record(metric, true, value, 0, attrs, count, NULL, active);
}

int ptel_metric_record_double_ctx(ptel_metric *metric, double value, const ptel_attr *attrs,
                                  size_t count, const ptel_span_context *active) {
    return met_record(metric, false, 0, value, attrs, count, NULL, active);
}

/* ---- encoding -------------------------------------------------------------------- */

/* A writer that only counts when p is NULL, so one function serves both the
 * size pass and the write pass of each message. */
typedef struct met_w {
    uint8_t *p;
    size_t n;
} met_w;

static void mw_raw(met_w *w, const void *src, size_t len) {
    if (w->p && len) memcpy(w->p + w->n, src, len);
    w->n += len;
}

static void mw_byte(met_w *w, uint8_t b) { mw_raw(w, &b, 1); }

static void mw_varint(met_w *w, uint64_t v) {
    uint8_t tmp[10];
    mw_raw(w, tmp, (size_t)(ptel__put_varint(tmp, v) - tmp));
}

static void mw_fixed64(met_w *w, uint8_t tag, uint64_t v) {
    uint8_t tmp[9] = {tag};
    ptel__put_fixed64(tmp + 1, v);
    mw_raw(w, tmp, 9);
}

static void mw_len_field(met_w *w, uint8_t tag, const void *src, size_t len) {
    mw_byte(w, tag);
    mw_varint(w, len);
    mw_raw(w, src, len);
}

typedef void (*met_body_fn)(met_w *w, const ptel_metric *m, const void *arg, uint64_t now);

/* Write `tag`, the body's length (from a counting pass), then the body. */
static void mw_message(met_w *w, uint8_t tag, met_body_fn fn, const ptel_metric *m, const void *arg,
                       uint64_t now) {
    met_w count = {NULL, 0};
    fn(&count, m, arg, now);
    mw_byte(w, tag);
    mw_varint(w, count.n);
    fn(w, m, arg, now);
}

static void met_exemplar(met_w *w, const ptel_metric *m, const void *arg, uint64_t now) {
    const rec_exemplar *ex = arg;
    (void)m;
    (void)now;
    mw_fixed64(w, 0x11, ex->time);
    if (!ex->is_int) mw_fixed64(w, 0x19, ptel__double_bits(ex->d));
    mw_len_field(w, 0x22, ex->span_id, 8);
    mw_len_field(w, 0x2a, ex->trace_id, 16);
    if (ex->is_int) mw_fixed64(w, 0x31, (uint64_t)ex->i);
}

static void met_number_point(met_w *w, const ptel_metric *m, const void *arg, uint64_t now) {
    const rec_point *pt = arg;
    if (m->kind != PTEL_METRIC_GAUGE) mw_fixed64(w, 0x11, m->rec->start_time);
    mw_fixed64(w, 0x19, now);
    if (!pt->is_int) mw_fixed64(w, 0x21, ptel__double_bits(pt->d));
    if (pt->exemplar.set) mw_message(w, 0x2a, met_exemplar, m, &pt->exemplar, now);
    if (pt->is_int) mw_fixed64(w, 0x31, (uint64_t)pt->i);
    mw_raw(w, pt->attrs, pt->attrs_len);
}

static void met_histogram_point(met_w *w, const ptel_metric *m, const void *arg, uint64_t now) {
    const rec_point *pt = arg;
    mw_fixed64(w, 0x11, m->rec->start_time);
    mw_fixed64(w, 0x19, now);
    mw_fixed64(w, 0x21, pt->count);
    if (!pt->negative_seen) mw_fixed64(w, 0x29, ptel__double_bits(pt->d));
    size_t nb = (size_t)m->bound_count + 1;
    mw_byte(w, 0x32);
    mw_varint(w, nb * 8);
    for (size_t k = 0; k < nb; k++) {
        uint8_t tmp[8];
        ptel__put_fixed64(tmp, pt->buckets[k]);
        mw_raw(w, tmp, 8);
    }
    if (m->bound_count) {
        mw_byte(w, 0x3a);
        mw_varint(w, (size_t)m->bound_count * 8);
        for (uint32_t k = 0; k < m->bound_count; k++) {
            uint8_t tmp[8];
            ptel__put_fixed64(tmp, ptel__double_bits(m->bounds[k]));
            mw_raw(w, tmp, 8);
        }
    }
    if (pt->exemplar.set) mw_message(w, 0x42, met_exemplar, m, &pt->exemplar, now);
    mw_raw(w, pt->attrs, pt->attrs_len);
    mw_fixed64(w, 0x59, ptel__double_bits(pt->min));
    mw_fixed64(w, 0x61, ptel__double_bits(pt->max));
}

/* Gauge, Sum or Histogram body. */
static void met_data(met_w *w, const ptel_metric *m, const void *arg, uint64_t now) {
    (void)arg;
    met_body_fn point = m->kind == PTEL_METRIC_HISTOGRAM ? met_histogram_point : met_number_point;
    for (uint32_t k = 0; k < m->point_count; k++) mw_message(w, 0x0a, point, m, &m->points[k], now);
    if (m->kind == PTEL_METRIC_GAUGE) return;
    mw_byte(w, 0x10);
    mw_byte(w, 1); /* AGGREGATION_TEMPORALITY_DELTA */
    if (m->kind == PTEL_METRIC_COUNTER) {
        mw_byte(w, 0x18);
        mw_byte(w, 1);
    }
}

static void met_metric(met_w *w, const ptel_metric *m, const void *arg, uint64_t now) {
    (void)arg;
    mw_len_field(w, 0x0a, m->name.ptr, m->name.len);
    if (m->description.len) mw_len_field(w, 0x12, m->description.ptr, m->description.len);
    if (m->unit.len) mw_len_field(w, 0x1a, m->unit.ptr, m->unit.len);
    uint8_t tag = m->kind == PTEL_METRIC_GAUGE       ? 0x2a
                  : m->kind == PTEL_METRIC_HISTOGRAM ? 0x4a
                                                     : 0x3a;
    mw_message(w, tag, met_data, m, NULL, now);
}

static size_t met_all(met_w *w, const ptel_recorder *rec, uint64_t now) {
    for (uint32_t k = 0; k < rec->metric_count; k++) {
        const ptel_metric *m = rec->metrics[k];
        if (m->point_count)
            mw_message(w, 0x1a, met_metric, m, NULL, now); /* PluginTelemetry.metrics */
    }
    return w->n;
}

size_t ptel__rec_metrics_size(const ptel_recorder *rec, uint64_t now) {
    met_w w = {NULL, 0};
    return met_all(&w, rec, now);
}

uint8_t *ptel__rec_metrics_write(const ptel_recorder *rec, uint8_t *p, uint64_t now) {
    met_w w = {p, 0};
    return p + met_all(&w, rec, now);
}
