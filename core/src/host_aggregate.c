/* Cumulative aggregation of validated per-invocation metric deltas into
 * streams keyed by (plugin scope, metric name, attribute set), with a
 * cardinality cap per metric, and export with cumulative or delta
 * temporality. One mutex guards everything. */
#include "host_internal.h"

#if defined(_WIN32)
#    include <windows.h>
typedef SRWLOCK host_agg_mutex;
static void host_agg_mutex_init(host_agg_mutex *m) { InitializeSRWLock(m); }
static void host_agg_lock(host_agg_mutex *m) { AcquireSRWLockExclusive(m); }
static void host_agg_unlock(host_agg_mutex *m) { ReleaseSRWLockExclusive(m); }
static void host_agg_mutex_destroy(host_agg_mutex *m) { (void)m; }
#elif defined(__wasi__) && !defined(_REENTRANT)
/* Single-threaded WASI: nothing to guard. */
typedef int host_agg_mutex;
static void host_agg_mutex_init(host_agg_mutex *m) { *m = 0; }
static void host_agg_lock(host_agg_mutex *m) { (void)m; }
static void host_agg_unlock(host_agg_mutex *m) { (void)m; }
static void host_agg_mutex_destroy(host_agg_mutex *m) { (void)m; }
#else
#    include <pthread.h>
typedef pthread_mutex_t host_agg_mutex;
static void host_agg_mutex_init(host_agg_mutex *m) { pthread_mutex_init(m, NULL); }
static void host_agg_lock(host_agg_mutex *m) { pthread_mutex_lock(m); }
static void host_agg_unlock(host_agg_mutex *m) { pthread_mutex_unlock(m); }
static void host_agg_mutex_destroy(host_agg_mutex *m) { pthread_mutex_destroy(m); }
#endif

/* One attribute set of one metric. */
typedef struct host_agg_stream {
    host_point cum;   /* totals since `cum.start` (attrs owned by the aggregator) */
    host_point delta; /* changes since the last delta export */
    uint64_t delta_start;
    bool folded; /* `cum` holds points */
    bool dirty;  /* `delta` holds points */
} host_agg_stream;

typedef struct host_agg_metric {
    uint32_t scope;
    ptel_str name; /* owned copies */
    ptel_str description;
    ptel_str unit;
    uint64_t hash;
    uint32_t type;
    bool monotonic;
    bool is_double;
    const double *bounds;
    uint32_t nbounds;
    uint32_t nbuckets;
    host_agg_stream **streams; /* in creation order */
    uint32_t nstreams;
    uint32_t cap;
    uint32_t *table; /* stream index + 1, 0 = empty */
    uint32_t table_size;
} host_agg_metric;

typedef struct host_agg_plugin {
    ptel_str name;
    ptel_str version;
    uint32_t *metrics; /* indices into agg->metrics, first-seen order */
    uint32_t count;
    uint32_t cap;
} host_agg_plugin;

struct ptel_aggregator {
    ptel_allocator alloc;
    ptel_clock clock;
    ptel__arena arena;
    host_agg_mutex mutex;
    uint32_t cardinality;
    uint32_t metric_limit;
    host_agg_plugin *scopes;
    uint32_t nscopes;
    uint32_t scope_cap;
    host_agg_metric *metrics;
    uint32_t nmetrics;
    uint32_t metric_cap;
    uint32_t *table; /* metric index + 1 */
    uint32_t table_size;
    ptel_aggregator_stats stats;
};

void ptel_aggregator_options_init(ptel_aggregator_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->version = PTEL_AGGREGATOR_OPTIONS_VERSION;
    o->cardinality_limit = 2000;
    o->metric_limit = 4096;
}

int ptel_aggregator_new(ptel_aggregator **out, const ptel_aggregator_options *opts) {
    if (!out) return PTEL_E_INVALID_ARGUMENT;
    *out = NULL;
    ptel_aggregator_options o;
    if (opts)
        o = *opts;
    else
        ptel_aggregator_options_init(&o);
    if (o.version != PTEL_AGGREGATOR_OPTIONS_VERSION) return PTEL_E_INVALID_ARGUMENT;
    ptel_allocator alloc = ptel__allocator(&o.allocator);
    ptel_aggregator *agg = ptel__alloc(&alloc, sizeof *agg);
    if (!agg) return PTEL_E_NOMEM;
    memset(agg, 0, sizeof *agg);
    agg->alloc = alloc;
    agg->clock = o.clock;
    ptel__arena_init(&agg->arena, alloc);
    host_agg_mutex_init(&agg->mutex);
    agg->cardinality = o.cardinality_limit ? o.cardinality_limit : 2000;
    agg->metric_limit = o.metric_limit ? o.metric_limit : 4096;
    *out = agg;
    return 0;
}

void ptel_aggregator_free(ptel_aggregator *agg) {
    if (!agg) return;
    ptel_allocator alloc = agg->alloc;
    host_agg_mutex_destroy(&agg->mutex);
    ptel__arena_free(&agg->arena);
    ptel__free(&alloc, agg, sizeof *agg);
}

void ptel_aggregator_get_stats(ptel_aggregator *agg, ptel_aggregator_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!agg) return;
    host_agg_lock(&agg->mutex);
    *out = agg->stats;
    host_agg_unlock(&agg->mutex);
}

/* ---- adding ----------------------------------------------------------------------------- */

static bool host_agg_dup(ptel_aggregator *agg, ptel_str *dst, ptel_str src) {
    dst->len = src.len;
    dst->ptr = "";
    if (!src.len) return true;
    char *p = ptel__arena_dup(&agg->arena, src.ptr, src.len);
    if (!p) return false;
    dst->ptr = p;
    return true;
}

static bool host_agg_str_eq(ptel_str a, ptel_str b) {
    return a.len == b.len && (!a.len || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static bool host_agg_name_eq(ptel_str a, ptel_str b) {
    if (a.len != b.len) return false;
    for (size_t k = 0; k < a.len; k++)
        if ((a.ptr[k] | 0x20) != (b.ptr[k] | 0x20)) return false;
    return true;
}

static uint64_t host_agg_hash(uint64_t h, const void *p, size_t n, bool fold) {
    const uint8_t *b = p;
    for (size_t k = 0; k < n; k++)
        h = (h ^ (fold ? (uint8_t)(b[k] | 0x20) : b[k])) * 0x100000001b3ull;
    return h;
}

/* Grow an arena array of `elem`-byte items to hold `need`. */
static bool host_agg_grow(ptel_aggregator *agg, void **p, uint32_t *cap, size_t elem,
                          uint32_t need) {
    if (need <= *cap) return true;
    uint32_t n = *cap ? *cap : 8;
    while (n < need) {
        if (n > UINT32_MAX / 2) return false;
        n *= 2;
    }
    void *q = ptel__arena_grow(&agg->arena, *p, elem, *cap, n);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

/* Rebuild an index table for `count` items at twice the size when above half full. */
static bool host_agg_table(ptel_aggregator *agg, uint32_t **table, uint32_t *size, uint32_t count,
                           uint64_t (*hash_of)(const void *ctx, uint32_t idx), const void *ctx) {
    if (*size && count * 2 < *size) return true;
    uint32_t n = *size ? *size * 2 : 16;
    uint32_t *t = ptel__arena_alloc(&agg->arena, (size_t)n * 4);
    if (!t) return false;
    memset(t, 0, (size_t)n * 4);
    for (uint32_t k = 0; k < count; k++) {
        uint32_t slot = (uint32_t)hash_of(ctx, k) & (n - 1);
        while (t[slot]) slot = (slot + 1) & (n - 1);
        t[slot] = k + 1;
    }
    *table = t;
    *size = n;
    return true;
}

static uint64_t host_agg_metric_hash(const void *ctx, uint32_t idx) {
    return ((const ptel_aggregator *)ctx)->metrics[idx].hash;
}

static uint64_t host_agg_stream_hash(const void *ctx, uint32_t idx) {
    return ((const host_agg_metric *)ctx)->streams[idx]->cum.hash;
}

/* The scope for a plugin name and version (few of them: a linear search). */
static int64_t host_agg_scope(ptel_aggregator *agg, ptel_str name, ptel_str version) {
    for (uint32_t k = 0; k < agg->nscopes; k++)
        if (host_agg_str_eq(agg->scopes[k].name, name) &&
            host_agg_str_eq(agg->scopes[k].version, version))
            return k;
    if (!host_agg_grow(agg, (void **)&agg->scopes, &agg->scope_cap, sizeof *agg->scopes,
                       agg->nscopes + 1))
        return -1;
    host_agg_plugin *s = &agg->scopes[agg->nscopes];
    memset(s, 0, sizeof *s);
    if (!host_agg_dup(agg, &s->name, name) || !host_agg_dup(agg, &s->version, version)) return -1;
    return agg->nscopes++;
}

/* Find or create the metric of `m` in `scope`; -1 on OOM or the metric
 * limit (*limited set), -2 on a conflict. */
static int64_t host_agg_metric_find(ptel_aggregator *agg, uint32_t scope, const host_metric *m,
                                    bool *limited) {
    uint64_t h = host_agg_hash(0xcbf29ce484222325ull, &scope, sizeof scope, false);
    h = host_agg_hash(h, m->name.ptr, m->name.len, true);
    const host_point *p0 = &m->points[0];
    if (agg->table_size) {
        uint32_t slot = (uint32_t)h & (agg->table_size - 1);
        for (uint32_t e; (e = agg->table[slot]); slot = (slot + 1) & (agg->table_size - 1)) {
            host_agg_metric *am = &agg->metrics[e - 1];
            if (am->hash != h || am->scope != scope || !host_agg_name_eq(am->name, m->name))
                continue;
            bool same =
                am->type == m->type && am->monotonic == m->monotonic &&
                host_agg_str_eq(am->unit, m->unit) && am->is_double == p0->is_double &&
                am->nbounds == p0->nbounds && am->nbuckets == p0->nbuckets &&
                (!am->nbounds || memcmp(am->bounds, p0->bounds, (size_t)am->nbounds * 8) == 0);
            return same ? (int64_t)(e - 1) : -2;
        }
    }
    if (agg->nmetrics >= agg->metric_limit) {
        *limited = true;
        return -1;
    }
    host_agg_plugin *sc = &agg->scopes[scope];
    if (!host_agg_grow(agg, (void **)&agg->metrics, &agg->metric_cap, sizeof *agg->metrics,
                       agg->nmetrics + 1) ||
        !host_agg_grow(agg, (void **)&sc->metrics, &sc->cap, sizeof *sc->metrics, sc->count + 1))
        return -1;
    host_agg_metric *am = &agg->metrics[agg->nmetrics];
    memset(am, 0, sizeof *am);
    am->scope = scope;
    am->hash = h;
    am->type = m->type;
    am->monotonic = m->monotonic;
    am->is_double = p0->is_double;
    am->nbounds = p0->nbounds;
    am->nbuckets = p0->nbuckets;
    if (!host_agg_dup(agg, &am->name, m->name) ||
        !host_agg_dup(agg, &am->description, m->description) ||
        !host_agg_dup(agg, &am->unit, m->unit))
        return -1;
    if (p0->nbounds) {
        am->bounds = ptel__arena_dup(&agg->arena, p0->bounds, (size_t)p0->nbounds * 8);
        if (!am->bounds) return -1;
    }
    uint32_t idx = agg->nmetrics++;
    sc->metrics[sc->count++] = idx;
    if (!host_agg_table(agg, &agg->table, &agg->table_size, agg->nmetrics, host_agg_metric_hash,
                        agg))
        return -1;
    uint32_t slot = (uint32_t)h & (agg->table_size - 1);
    bool present = false;
    for (uint32_t e; (e = agg->table[slot]); slot = (slot + 1) & (agg->table_size - 1))
        if (e == idx + 1) present = true;
    if (!present) agg->table[slot] = idx + 1;
    agg->stats.metrics = agg->nmetrics;
    return idx;
}

/* The stream for an attribute set, creating it (or routing to the overflow
 * stream when the metric is full). NULL on OOM. */
static host_agg_stream *host_agg_stream_find(ptel_aggregator *agg, host_agg_metric *am,
                                             const uint8_t *attrs, size_t len, bool *overflowed) {
    size_t ovf_len;
    const uint8_t *ovf = ptel__host_overflow_set(&ovf_len);
    for (int round = 0; round < 2; round++) {
        uint64_t h = host_agg_hash(0xcbf29ce484222325ull, attrs, len, false);
        if (am->table_size) {
            uint32_t slot = (uint32_t)h & (am->table_size - 1);
            for (uint32_t e; (e = am->table[slot]); slot = (slot + 1) & (am->table_size - 1)) {
                host_agg_stream *s = am->streams[e - 1];
                if (s->cum.hash == h && s->cum.attrs_len == len &&
                    (!len || memcmp(s->cum.attrs, attrs, len) == 0))
                    return s;
            }
        }
        bool is_ovf = len == ovf_len && memcmp(attrs, ovf, len) == 0;
        /* A new set: beyond cardinality - 1 regular sets, it overflows. */
        if (!is_ovf && am->nstreams + 1 >= agg->cardinality) {
            *overflowed = true;
            attrs = ovf;
            len = ovf_len;
            continue;
        }
        if (!host_agg_grow(agg, (void **)&am->streams, &am->cap, sizeof *am->streams,
                           am->nstreams + 1))
            return NULL;
        host_agg_stream *s = ptel__arena_alloc(&agg->arena, sizeof *s);
        if (!s) return NULL;
        memset(s, 0, sizeof *s);
        s->cum.hash = h;
        s->cum.attrs_len = len;
        if (len) {
            s->cum.attrs = is_ovf ? ovf : ptel__arena_dup(&agg->arena, attrs, len);
            if (!s->cum.attrs) return NULL;
        }
        am->streams[am->nstreams++] = s;
        if (!host_agg_table(agg, &am->table, &am->table_size, am->nstreams, host_agg_stream_hash,
                            am))
            return NULL;
        uint32_t slot = (uint32_t)h & (am->table_size - 1);
        bool present = false;
        for (uint32_t e; (e = am->table[slot]); slot = (slot + 1) & (am->table_size - 1))
            if (e == am->nstreams) present = true;
        if (!present) am->table[slot] = am->nstreams;
        agg->stats.streams++;
        return s;
    }
    return NULL;
}

/* A copy of `pt` that borrows nothing from the invocation: no attributes
 * or exemplars, the metric's bounds, buckets in `buckets` (allocated when
 * NULL). */
static bool host_agg_copy(ptel_aggregator *agg, const host_agg_metric *am, host_point *dst,
                          const host_point *pt) {
    uint64_t *buckets = dst->buckets;
    *dst = *pt;
    dst->attrs = NULL;
    dst->attrs_len = 0;
    dst->exemplars = NULL;
    dst->exemplars_len = 0;
    dst->at = NULL;
    dst->bounds = am->bounds;
    dst->buckets = NULL;
    if (pt->nbuckets) {
        if (!buckets) buckets = ptel__arena_alloc(&agg->arena, (size_t)pt->nbuckets * 8);
        if (!buckets) return false;
        memcpy(buckets, pt->buckets, (size_t)pt->nbuckets * 8);
        dst->buckets = buckets;
    }
    return true;
}

/* Fold one point into a stream. */
static bool host_agg_fold(ptel_aggregator *agg, host_agg_metric *am, host_agg_stream *s,
                          const host_point *pt) {
    if (!s->folded) {
        const uint8_t *attrs = s->cum.attrs;
        size_t attrs_len = s->cum.attrs_len;
        uint64_t hash = s->cum.hash;
        if (!host_agg_copy(agg, am, &s->cum, pt)) return false;
        s->cum.attrs = attrs;
        s->cum.attrs_len = attrs_len;
        s->cum.hash = hash;
        s->cum.start = pt->start ? pt->start : pt->time;
        s->delta_start = s->cum.start;
        s->folded = true;
    } else {
        ptel__host_point_merge(&s->cum, pt, am->type);
    }
    if (!s->dirty) {
        if (!host_agg_copy(agg, am, &s->delta, pt)) return false;
        s->dirty = true;
    } else {
        ptel__host_point_merge(&s->delta, pt, am->type);
    }
    return true;
}

int ptel_aggregator_add(ptel_aggregator *agg, const ptel_invocation *inv) {
    if (!agg || !inv) return PTEL_E_INVALID_ARGUMENT;
    if (!inv->ended || inv->idle) return PTEL_E_STATE;
    int rc = 0;
    host_agg_lock(&agg->mutex);
    agg->stats.invocations++;
    int64_t scope = -1;
    for (uint32_t k = 0; k < inv->metric_count && !rc; k++) {
        const host_metric *m = &inv->metrics[k];
        if (!m->kept || !m->npoints) continue;
        if (scope < 0) {
            scope = host_agg_scope(agg, inv->plugin_name, inv->plugin_version);
            if (scope < 0) {
                rc = PTEL_E_NOMEM;
                break;
            }
        }
        bool limited = false;
        int64_t mi = host_agg_metric_find(agg, (uint32_t)scope, m, &limited);
        if (mi == -2) {
            agg->stats.points_conflicting += m->npoints;
            continue;
        }
        if (mi < 0) {
            if (limited)
                agg->stats.metrics_dropped++;
            else
                rc = PTEL_E_NOMEM;
            continue;
        }
        host_agg_metric *am = &agg->metrics[mi];
        for (uint32_t j = 0; j < m->npoints; j++) {
            const host_point *pt = &m->points[j];
            /* Points of one metric share number type and bounds (validated),
             * but check against the registered stream all the same. */
            if (pt->is_double != am->is_double || pt->nbuckets != am->nbuckets ||
                pt->nbounds != am->nbounds) {
                agg->stats.points_conflicting++;
                continue;
            }
            bool overflowed = false;
            host_agg_stream *s =
                host_agg_stream_find(agg, am, pt->attrs, pt->attrs_len, &overflowed);
            if (!s || !host_agg_fold(agg, am, s, pt)) {
                rc = PTEL_E_NOMEM;
                break;
            }
            agg->stats.points_added++;
            if (overflowed) agg->stats.points_overflowed++;
        }
    }
    host_agg_unlock(&agg->mutex);
    return rc;
}

/* ---- export ----------------------------------------------------------------------------- */

/* How a metric is written in this export. */
static bool host_agg_is_delta(const host_agg_metric *am, uint32_t temporality) {
    return temporality == PTEL_TEMPORALITY_DELTA &&
           (am->type == HOST_METRIC_HISTOGRAM || (am->type == HOST_METRIC_SUM && am->monotonic));
}

static void host_agg_point(host_w *w, const host_agg_metric *am, const host_agg_stream *s,
                           bool delta, uint64_t now) {
    if (am->type == HOST_METRIC_GAUGE) {
        ptel__host_point_write(w, am->type, &s->cum, 0, s->cum.time, false);
        return;
    }
    if (delta) {
        /* The delta carries the attribute set of its stream. */
        host_point d = s->delta;
        d.attrs = s->cum.attrs;
        d.attrs_len = s->cum.attrs_len;
        ptel__host_point_write(w, am->type, &d, s->delta_start, now, false);
    } else {
        ptel__host_point_write(w, am->type, &s->cum, s->cum.start, now, false);
    }
}

/* The Metric body; returns false (writing nothing) when it has no point. */
static bool host_agg_metric_write(host_w *w, const host_agg_metric *am, uint32_t temporality,
                                  uint64_t now) {
    bool delta = host_agg_is_delta(am, temporality);
    size_t body = 0;
    uint32_t points = 0;
    for (uint32_t k = 0; k < am->nstreams; k++) {
        const host_agg_stream *s = am->streams[k];
        if (delta && !s->dirty) continue;
        if (!s->folded) continue; /* created, then out of memory */
        host_w cw = {NULL, 0};
        host_agg_point(&cw, am, s, delta, now);
        body += ptel__len_field_size(cw.n);
        points++;
    }
    if (!points) return false;
    if (am->type != HOST_METRIC_GAUGE) body += 2;
    if (am->type == HOST_METRIC_SUM && am->monotonic) body += 2;
    host_w_bytes(w, 0x0a, am->name.ptr, am->name.len);
    if (am->description.len) host_w_bytes(w, 0x12, am->description.ptr, am->description.len);
    if (am->unit.len) host_w_bytes(w, 0x1a, am->unit.ptr, am->unit.len);
    uint8_t tag = am->type == HOST_METRIC_GAUGE ? 0x2a : am->type == HOST_METRIC_SUM ? 0x3a : 0x4a;
    host_w_head(w, tag, body);
    for (uint32_t k = 0; k < am->nstreams; k++) {
        const host_agg_stream *s = am->streams[k];
        if (delta && !s->dirty) continue;
        if (!s->folded) continue;
        host_w cw = {NULL, 0};
        host_agg_point(&cw, am, s, delta, now);
        host_w_head(w, 0x0a, cw.n);
        host_agg_point(w, am, s, delta, now);
    }
    if (am->type != HOST_METRIC_GAUGE) {
        host_w_byte(w, 0x10);
        host_w_byte(w, delta ? 1 : 2);
    }
    if (am->type == HOST_METRIC_SUM && am->monotonic) {
        host_w_byte(w, 0x18);
        host_w_byte(w, 1);
    }
    return true;
}

/* The ScopeMetrics fields (tag 0x12) of every scope. */
static void host_agg_scopes(host_w *w, const ptel_aggregator *agg, uint32_t temporality,
                            uint64_t now) {
    for (uint32_t k = 0; k < agg->nscopes; k++) {
        const host_agg_plugin *sc = &agg->scopes[k];
        size_t metrics = 0;
        for (uint32_t j = 0; j < sc->count; j++) {
            host_w cw = {NULL, 0};
            if (host_agg_metric_write(&cw, &agg->metrics[sc->metrics[j]], temporality, now))
                metrics += ptel__len_field_size(cw.n);
        }
        if (!metrics) continue;
        size_t scope = (sc->name.len ? ptel__len_field_size(sc->name.len) : 0) +
                       (sc->version.len ? ptel__len_field_size(sc->version.len) : 0);
        host_w_head(w, 0x12, ptel__len_field_size(scope) + metrics);
        host_w_head(w, 0x0a, scope);
        if (sc->name.len) host_w_bytes(w, 0x0a, sc->name.ptr, sc->name.len);
        if (sc->version.len) host_w_bytes(w, 0x12, sc->version.ptr, sc->version.len);
        for (uint32_t j = 0; j < sc->count; j++) {
            const host_agg_metric *am = &agg->metrics[sc->metrics[j]];
            host_w cw = {NULL, 0};
            if (!host_agg_metric_write(&cw, am, temporality, now)) continue;
            host_w_head(w, 0x12, cw.n);
            host_agg_metric_write(w, am, temporality, now);
        }
    }
}

int ptel_aggregator_export(ptel_aggregator *agg, const ptel_export_options *opts,
                           uint32_t temporality, uint8_t *buf, size_t cap, size_t *out_len) {
    if (!out_len) return PTEL_E_INVALID_ARGUMENT;
    *out_len = 0;
    if (!agg) return PTEL_E_INVALID_ARGUMENT;
    if (temporality != PTEL_TEMPORALITY_CUMULATIVE && temporality != PTEL_TEMPORALITY_DELTA)
        return PTEL_E_INVALID_ARGUMENT;
    ptel_export_options o;
    int rc = ptel__host_export_opts(opts, &o);
    if (rc) return rc;
    host_agg_lock(&agg->mutex);
    uint64_t now = ptel__clock_realtime(&agg->clock);
    host_w cw = {NULL, 0};
    host_agg_scopes(&cw, agg, temporality, now);
    size_t inner = cw.n;
    if (inner) {
        ptel__host_request_head(&cw, &o, inner);
        ptel__host_request_tail(&cw, &o);
        *out_len = cw.n;
        if (!buf || cap < cw.n) {
            rc = PTEL_E_BUFFER_TOO_SMALL;
        } else {
            host_w w = {buf, 0};
            ptel__host_request_head(&w, &o, inner);
            host_agg_scopes(&w, agg, temporality, now);
            ptel__host_request_tail(&w, &o);
            /* A delta export starts the next delta window now. */
            if (temporality == PTEL_TEMPORALITY_DELTA)
                for (uint32_t k = 0; k < agg->nmetrics; k++) {
                    host_agg_metric *am = &agg->metrics[k];
                    if (!host_agg_is_delta(am, temporality)) continue;
                    for (uint32_t j = 0; j < am->nstreams; j++) {
                        am->streams[j]->dirty = false;
                        am->streams[j]->delta_start = now;
                    }
                }
        }
    }
    host_agg_unlock(&agg->mutex);
    return rc;
}
