/* Host validation of the plugin's metrics: instrument identity (name, unit,
 * type, temporality, conflicts), data points decoded into the arena,
 * exemplars, cardinality overflow, and the canonical Metric encoder shared
 * with the aggregator. The rules are listed in host.h. */
#include "host_internal.h"

#include <math.h>

/* ---- identity ------------------------------------------------------------------------ */

static bool host_met_alpha(uint8_t ch) { return (ch | 0x20) >= 'a' && (ch | 0x20) <= 'z'; }

static bool host_met_name_ok(ptel_str n) {
    const uint8_t *p = (const uint8_t *)n.ptr;
    if (!n.len || n.len > 255 || !host_met_alpha(p[0])) return false;
    for (size_t k = 1; k < n.len; k++) {
        uint8_t ch = p[k];
        if (!(host_met_alpha(ch) || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
              ch == '-' || ch == '/'))
            return false;
    }
    return true;
}

static bool host_met_unit_ok(ptel_str u) {
    if (u.len > 63) return false;
    for (size_t k = 0; k < u.len; k++)
        if ((uint8_t)u.ptr[k] < 0x20 || (uint8_t)u.ptr[k] > 0x7e) return false;
    return true;
}

static uint64_t host_met_name_hash(ptel_str n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t k = 0; k < n.len; k++) h = (h ^ (uint8_t)(n.ptr[k] | 0x20)) * 0x100000001b3ull;
    return h;
}

static bool host_met_name_eq(ptel_str a, ptel_str b) {
    if (a.len != b.len) return false;
    for (size_t k = 0; k < a.len; k++)
        if ((a.ptr[k] | 0x20) != (b.ptr[k] | 0x20)) return false;
    return true;
}

static uint64_t host_met_bytes_hash(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t k = 0; k < n; k++) h = (h ^ p[k]) * 0x100000001b3ull;
    return h;
}

/* ---- points -------------------------------------------------------------------------- */

static bool host_met_wt(const ptel__field *f, uint32_t want) { return f->wire_type == want; }

/* Time rule for data points and exemplars: false when rejected. */
static bool host_met_time(host_vctx *c, uint64_t *t, const uint8_t *at, uint32_t field) {
    if (*t >= c->lo && *t <= c->hi) return true;
    if (c->inv->time_policy == PTEL_TIME_REJECT) return false;
    *t = *t < c->lo ? c->lo : c->hi;
    c->changed = true;
    ptel__host_note(c, PTEL_REASON_TIME_WINDOW, at, field);
    return true;
}

/* Count the elements of a repeated fixed64/double field, packed or not. */
static int host_met_count64(host_vctx *c, const ptel__field *f, uint32_t *n) {
    if (f->wire_type == PTEL__WT_I64) {
        (*n)++;
        return 0;
    }
    if (f->wire_type != PTEL__WT_LEN || f->len % 8)
        return ptel__host_wire(c, f, "packed fixed64 field");
    if (f->len / 8 > UINT32_MAX - *n) return ptel__host_wire(c, f, "packed fixed64 field");
    *n += (uint32_t)(f->len / 8);
    return 0;
}

static void host_met_fill64(const ptel__field *f, uint64_t *out, uint32_t *n) {
    if (f->wire_type == PTEL__WT_I64) {
        out[(*n)++] = f->value;
        return;
    }
    for (size_t k = 0; k + 8 <= f->len; k += 8) out[(*n)++] = ptel__get_fixed64(f->data + k);
}

/* One exemplar: validate and, with `w`, write its canonical body. Returns
 * 0 with *keep false when it is dropped. */
static int host_met_exemplar(host_vctx *c, host_w *w, const ptel__field *xf, bool *keep,
                             size_t *body_size) {
    ptel_invocation *inv = c->inv;
    ptel__reader r;
    ptel__reader_init(&r, c->base, xf->data, xf->len);
    ptel__field f;
    int rc;
    uint64_t time = 0, value = 0;
    bool has_value = false, is_int = false;
    const uint8_t *sid = NULL, *tid = NULL;
    size_t sid_len = 0, tid_len = 0;
    uint32_t odd = 0, seen = 0;
    *keep = false;
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        uint32_t want;
        switch (f.number) {
        case 2:
        case 3:
        case 6:
            want = PTEL__WT_I64;
            break;
        case 4:
        case 5:
        case 7:
            want = PTEL__WT_LEN;
            break;
        default:
            odd++;
            continue;
        }
        if (!host_met_wt(&f, want)) return ptel__host_wire(c, &f, "Exemplar wire type");
        if (f.number != 7) {
            if (seen & (1u << f.number)) odd++;
            seen |= 1u << f.number;
        }
        switch (f.number) {
        case 2:
            time = f.value;
            break;
        case 3:
        case 6:
            if (has_value) odd++;
            has_value = true;
            is_int = f.number == 6;
            value = f.value;
            break;
        case 4:
            sid = f.data;
            sid_len = f.len;
            break;
        case 5:
            tid = f.data;
            tid_len = f.len;
            break;
        default:
            break;
        }
    }
    if (rc) return rc;
    int v = -1;
    if (!(inv->features & PTEL_FEATURE_EXEMPLARS))
        v = PTEL_REASON_FEATURE;
    else if ((tid_len && (tid_len != 16 || memcmp(tid, inv->trace_id, 16) != 0)) ||
             (sid_len && !tid_len))
        v = PTEL_REASON_TRACE_ID_MISMATCH;
    else if (sid_len && (sid_len != 8 || !ptel__host_span_known(inv, sid)))
        v = PTEL_REASON_PARENT_UNKNOWN;
    else if (!has_value)
        v = PTEL_REASON_INVALID_VALUE;
    else if (!host_met_time(c, &time, xf->start, 0))
        v = PTEL_REASON_TIME_WINDOW;
    if (v >= 0) {
        c->changed = true;
        ptel__host_note(c, v, xf->start, 0);
        return 0;
    }
    if (odd) {
        c->changed = true;
        ptel__host_note_n(c, PTEL_REASON_UNKNOWN_FIELD, odd, xf->start, 0);
    }
    host_list_cfg cfg = {7, UINT32_MAX, 0, {NULL, 0}};
    host_list l;
    rc = ptel__host_list_scan(c, xf->data, xf->len, &cfg, &l);
    if (rc) return rc;
    size_t body = (time ? 9 : 0) + 9 + (sid_len ? 10 : 0) + (tid_len ? 18 : 0) + l.size;
    host_w_varint(w, body);
    if (time) {
        host_w_byte(w, 0x11);
        host_w_fixed64(w, time);
    }
    if (!is_int) {
        host_w_byte(w, 0x19);
        host_w_fixed64(w, value);
    }
    if (sid_len) host_w_bytes(w, 0x22, sid, 8);
    if (tid_len) host_w_bytes(w, 0x2a, tid, 16);
    if (is_int) {
        host_w_byte(w, 0x31);
        host_w_fixed64(w, value);
    }
    ptel__host_list_write(c, w, &l, 0x3a);
    ptel__host_list_pop(c, &l);
    *keep = true;
    *body_size = body;
    return 0;
}

/* The exemplars (field `number`) of a point, as a blob in the arena. */
static int host_met_exemplars(host_vctx *c, const uint8_t *msg, size_t len, uint32_t number,
                              host_point *pt) {
    ptel__reader r;
    ptel__field f;
    int rc;
    host_w cw = {NULL, 0};
    bool any = false;
    ptel__reader_init(&r, c->base, msg, len);
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        if (f.number != number) continue;
        bool keep;
        size_t body;
        any = true;
        rc = host_met_exemplar(c, &cw, &f, &keep, &body);
        if (rc) return rc;
    }
    if (rc || !any || !cw.n) return rc;
    uint8_t *buf = ptel__arena_alloc(&c->inv->arena, cw.n);
    if (!buf) return PTEL_E_NOMEM;
    host_w w = {buf, 0};
    bool counting = c->counting, changed = c->changed;
    c->counting = false;
    ptel__reader_init(&r, c->base, msg, len);
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        if (f.number != number) continue;
        bool keep;
        size_t body;
        rc = host_met_exemplar(c, &w, &f, &keep, &body);
        if (rc) break;
    }
    c->counting = counting;
    c->changed = changed;
    pt->exemplars = buf;
    pt->exemplars_len = w.n;
    return rc;
}

/* Decode one data point. *verdict receives -1 or the reason dropping it. */
static int host_met_point(host_vctx *c, host_metric *m, const ptel__field *pf, host_point *pt,
                          const host_point *first, int *verdict) {
    ptel_invocation *inv = c->inv;
    bool hist = m->type == HOST_METRIC_HISTOGRAM;
    ptel__reader r;
    ptel__field f;
    int rc;
    uint32_t odd = 0, seen = 0, nb = 0, nbounds = 0;
    bool has_value = false;
    memset(pt, 0, sizeof *pt);
    pt->at = pf->start;
    *verdict = -1;
    ptel__reader_init(&r, c->base, pf->data, pf->len);
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        uint32_t want = PTEL__WT_I64;
        bool repeated = false;
        /* Histogram fields are numbered 100 + n here; anything past 99 is unknown. */
        uint32_t key = f.number >= 100 ? 0 : hist ? f.number + 100 : f.number;
        switch (key) {
        case 2:
        case 3:
        case 4:
        case 6:
        case 102:
        case 103:
        case 104:
        case 105:
        case 111:
        case 112:
            break;
        case 5:
        case 7:
        case 108:
        case 109:
            want = PTEL__WT_LEN;
            repeated = true;
            break;
        case 8:
        case 110:
            want = PTEL__WT_VARINT;
            break;
        case 106:
            rc = host_met_count64(c, &f, &nb);
            if (rc) return rc;
            continue;
        case 107:
            rc = host_met_count64(c, &f, &nbounds);
            if (rc) return rc;
            continue;
        default:
            odd++;
            continue;
        }
        if (!host_met_wt(&f, want)) return ptel__host_wire(c, &f, "data point wire type");
        if (!repeated) {
            if (seen & (1u << f.number)) odd++;
            seen |= 1u << f.number;
        }
        switch (f.number) {
        case 2:
            pt->start = f.value;
            break;
        case 3:
            pt->time = f.value;
            break;
        default:
            break;
        }
        if (!hist) {
            if (f.number == 4 || f.number == 6) {
                if (has_value) odd++;
                has_value = true;
                pt->is_double = f.number == 4;
                pt->i = (int64_t)f.value;
                pt->d = ptel__bits_double(f.value);
            } else if (f.number == 8) {
                pt->flags = (uint32_t)f.value;
            }
        } else {
            if (f.number == 4)
                pt->count = f.value;
            else if (f.number == 5) {
                pt->has_sum = true;
                pt->sum = ptel__bits_double(f.value);
            } else if (f.number == 10) {
                pt->flags = (uint32_t)f.value;
            } else if (f.number == 11) {
                pt->has_min = true;
                pt->min = ptel__bits_double(f.value);
            } else if (f.number == 12) {
                pt->has_max = true;
                pt->max = ptel__bits_double(f.value);
            }
        }
    }
    if (rc) return rc;
    if (hist) {
        has_value = true;
        pt->is_double = true;
        if (nb || nbounds) {
            uint64_t *buckets = nb ? ptel__arena_alloc(&inv->arena, (size_t)nb * 8) : NULL;
            double *bounds = nbounds ? ptel__arena_alloc(&inv->arena, (size_t)nbounds * 8) : NULL;
            if ((nb && !buckets) || (nbounds && !bounds)) return PTEL_E_NOMEM;
            uint64_t *braw = (uint64_t *)(void *)bounds;
            uint32_t ib = 0, ibd = 0;
            ptel__reader_init(&r, c->base, pf->data, pf->len);
            while (host_next(&r, &f, NULL) > 0) {
                if (f.number == 6)
                    host_met_fill64(&f, buckets, &ib);
                else if (f.number == 7)
                    host_met_fill64(&f, braw, &ibd);
            }
            for (uint32_t k = 0; k < nbounds; k++) bounds[k] = ptel__bits_double(braw[k]);
            pt->buckets = buckets;
            pt->nbuckets = nb;
            pt->bounds = bounds;
            pt->nbounds = nbounds;
        }
    }
    /* Rules, cheapest first. */
    int v = -1;
    if (!has_value)
        v = PTEL_REASON_INVALID_VALUE;
    else if (m->type == HOST_METRIC_SUM && pt->is_double && !isfinite(pt->d))
        v = PTEL_REASON_INVALID_VALUE;
    else if (m->type == HOST_METRIC_SUM && m->monotonic && (pt->is_double ? pt->d < 0 : pt->i < 0))
        v = PTEL_REASON_INVALID_VALUE;
    else if (hist) {
        uint64_t total = 0;
        bool bad = (pt->nbuckets && pt->nbuckets != pt->nbounds + 1) ||
                   (pt->has_sum && !isfinite(pt->sum)) || (pt->has_min && !isfinite(pt->min)) ||
                   (pt->has_max && !isfinite(pt->max)) ||
                   (pt->has_min && pt->has_max && pt->min > pt->max);
        for (uint32_t k = 0; !bad && k < pt->nbounds; k++)
            if (!isfinite(pt->bounds[k]) || (k && !(pt->bounds[k] > pt->bounds[k - 1]))) bad = true;
        for (uint32_t k = 0; !bad && k < pt->nbuckets; k++) {
            if (pt->buckets[k] > UINT64_MAX - total) bad = true;
            total += pt->buckets[k];
        }
        if (!bad && pt->nbuckets && total != pt->count) bad = true;
        if (bad) v = PTEL_REASON_INVALID_VALUE;
    }
    if (v < 0 && first) {
        bool same = first->is_double == pt->is_double;
        if (same && hist)
            same =
                first->nbuckets == pt->nbuckets && first->nbounds == pt->nbounds &&
                (!pt->nbounds || memcmp(first->bounds, pt->bounds, (size_t)pt->nbounds * 8) == 0);
        if (!same) v = PTEL_REASON_METRIC_CONFLICT;
    }
    if (v < 0 && pt->start && pt->start > pt->time) v = PTEL_REASON_END_BEFORE_START;
    if (v < 0 && c->inv->time_policy == PTEL_TIME_REJECT &&
        ((pt->start && (pt->start < c->lo || pt->start > c->hi)) || pt->time < c->lo ||
         pt->time > c->hi))
        v = PTEL_REASON_TIME_WINDOW;
    if (v < 0) {
        if (pt->start) (void)host_met_time(c, &pt->start, pf->start, 1);
        (void)host_met_time(c, &pt->time, pf->start, 1);
    }
    if (v >= 0) {
        *verdict = v;
        return 0;
    }
    if (odd) {
        c->changed = true;
        ptel__host_note_n(c, PTEL_REASON_UNKNOWN_FIELD, odd, pf->start, 1);
    }
    /* Attributes: a canonical sorted set; data points are exempt from the
     * count and length limits. */
    host_list_cfg cfg = {hist ? 9u : 7u, UINT32_MAX, 0, {NULL, 0}};
    host_list l;
    rc = ptel__host_list_scan(c, pf->data, pf->len, &cfg, &l);
    if (!rc) rc = ptel__host_list_set(c, &l, &pt->attrs, &pt->attrs_len);
    ptel__host_list_pop(c, &l);
    if (rc) return rc;
    pt->hash = host_met_bytes_hash(pt->attrs, pt->attrs_len);
    return host_met_exemplars(c, pf->data, pf->len, hist ? 8 : 5, pt);
}

void ptel__host_point_merge(host_point *dst, const host_point *src, uint32_t type) {
    if (src->start && (!dst->start || src->start < dst->start)) dst->start = src->start;
    if (src->time > dst->time) dst->time = src->time;
    if (type == HOST_METRIC_GAUGE) {
        dst->is_double = src->is_double;
        dst->i = src->i;
        dst->d = src->d;
        dst->flags = src->flags;
        return;
    }
    if (type == HOST_METRIC_SUM) {
        if (dst->is_double) {
            dst->d += src->d;
        } else if (src->i > 0 && dst->i > INT64_MAX - src->i) {
            dst->i = INT64_MAX;
        } else if (src->i < 0 && dst->i < INT64_MIN - src->i) {
            dst->i = INT64_MIN;
        } else {
            dst->i += src->i;
        }
        return;
    }
    dst->count = dst->count > UINT64_MAX - src->count ? UINT64_MAX : dst->count + src->count;
    dst->has_sum = dst->has_sum && src->has_sum;
    if (dst->has_sum) dst->sum += src->sum;
    if (src->has_min && (!dst->has_min || src->min < dst->min)) dst->min = src->min;
    if (src->has_max && (!dst->has_max || src->max > dst->max)) dst->max = src->max;
    dst->has_min = dst->has_min || src->has_min;
    dst->has_max = dst->has_max || src->has_max;
    for (uint32_t k = 0; k < dst->nbuckets && k < src->nbuckets; k++)
        dst->buckets[k] = dst->buckets[k] > UINT64_MAX - src->buckets[k]
                              ? UINT64_MAX
                              : dst->buckets[k] + src->buckets[k];
}

/* Merge points with equal attribute sets, and route attribute sets beyond
 * the cardinality limit into the overflow set. */
static int host_met_group(host_vctx *c, host_metric *m) {
    ptel_invocation *inv = c->inv;
    uint32_t n = m->npoints;
    if (n < 2) return 0;
    uint32_t size = 4;
    while (size < 2 * n) size *= 2;
    uint32_t *table = ptel__arena_alloc(&inv->arena, (size_t)size * 4);
    uint32_t *group = ptel__arena_alloc(&inv->arena, (size_t)n * 4);
    if (!table || !group) return PTEL_E_NOMEM;
    memset(table, 0, (size_t)size * 4);
    /* group[k]: ordinal of k's attribute set, in order of first appearance. */
    uint32_t distinct = 0;
    uint32_t *first = ptel__arena_alloc(&inv->arena, (size_t)n * 4);
    if (!first) return PTEL_E_NOMEM;
    for (uint32_t k = 0; k < n; k++) {
        host_point *p = &m->points[k];
        uint32_t slot = (uint32_t)p->hash & (size - 1);
        for (;;) {
            uint32_t e = table[slot];
            if (!e) {
                table[slot] = k + 1;
                first[distinct] = k;
                group[k] = distinct++;
                break;
            }
            host_point *q = &m->points[e - 1];
            if (q->hash == p->hash && q->attrs_len == p->attrs_len &&
                (!p->attrs_len || memcmp(q->attrs, p->attrs, p->attrs_len) == 0)) {
                group[k] = group[e - 1];
                break;
            }
            slot = (slot + 1) & (size - 1);
        }
    }
    uint32_t limit = inv->limits.metric_cardinality;
    bool overflow = distinct > limit;
    uint32_t regular = overflow ? limit - 1 : distinct;
    int64_t ovf = -1; /* index of the overflow point */
    uint32_t out = 0;
    for (uint32_t k = 0; k < n; k++) {
        host_point *p = &m->points[k];
        uint32_t g = group[k];
        if (g < regular) {
            if (first[g] == k) {
                first[g] = out; /* now its position in the compacted array */
                m->points[out++] = *p;
            } else {
                ptel__host_point_merge(&m->points[first[g]], p, m->type);
                c->changed = true;
            }
            continue;
        }
        c->changed = true;
        ptel__host_note(c, PTEL_REASON_CARDINALITY, p->at, 1);
        if (ovf < 0) {
            ovf = out;
            m->points[out] = *p;
            m->points[out].attrs = ptel__host_overflow_set(&m->points[out].attrs_len);
            out++;
        } else {
            ptel__host_point_merge(&m->points[ovf], p, m->type);
        }
    }
    m->npoints = out;
    return 0;
}

/* ---- metrics ------------------------------------------------------------------------- */

/* Decode and check one metric; sets m->kept. */
static int host_met_one(host_vctx *c, host_metric *m, uint32_t index, uint32_t *names,
                        uint32_t names_size) {
    ptel_invocation *inv = c->inv;
    ptel_report *rep = c->rep;
    ptel__reader r;
    ptel__field f;
    int rc;
    uint32_t odd = 0, seen = 0, data_fields = 0;
    ptel__field data;
    memset(&data, 0, sizeof data);
    ptel__reader_init(&r, c->base, m->data, m->len);
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        switch (f.number) {
        case 1:
        case 2:
        case 3:
        case 5:
        case 7:
        case 9:
        case 10:
        case 11:
            break;
        default: /* reserved 4, 6, 8; metadata (12); unknown */
            odd++;
            continue;
        }
        if (!host_met_wt(&f, PTEL__WT_LEN)) return ptel__host_wire(c, &f, "Metric wire type");
        if (f.number <= 3) {
            if (seen & (1u << f.number)) odd++;
            seen |= 1u << f.number;
            ptel_str s = {(const char *)f.data, f.len};
            if (f.number == 1)
                m->name = s;
            else if (f.number == 2)
                m->description = s;
            else
                m->unit = s;
        } else {
            data = f;
            data_fields++;
        }
    }
    if (rc) return rc;
    if (data_fields > 1) odd++;
    int v = -1;
    if (!(inv->features & PTEL_FEATURE_METRICS))
        v = PTEL_REASON_FEATURE;
    else if (index >= inv->limits.metric_count)
        v = PTEL_REASON_METRIC_COUNT;
    else if (!host_met_name_ok(m->name))
        v = PTEL_REASON_METRIC_NAME;
    else if (!host_met_unit_ok(m->unit))
        v = PTEL_REASON_METRIC_UNIT;
    else if (!host_utf8(m->description.ptr, m->description.len))
        v = PTEL_REASON_UTF8;
    else if (data.number != 5 && data.number != 7 && data.number != 9)
        v = PTEL_REASON_METRIC_TYPE;
    /* The data message: points, temporality, monotonicity. */
    uint32_t npoints = 0;
    if (v < 0) {
        m->type = data.number == 5   ? HOST_METRIC_GAUGE
                  : data.number == 7 ? HOST_METRIC_SUM
                                     : HOST_METRIC_HISTOGRAM;
        uint64_t temporality = 0;
        uint32_t dseen = 0;
        ptel__reader_init(&r, c->base, data.data, data.len);
        while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
            uint32_t want = f.number == 1 ? PTEL__WT_LEN : PTEL__WT_VARINT;
            bool known = f.number == 1 || (f.number == 2 && m->type != HOST_METRIC_GAUGE) ||
                         (f.number == 3 && m->type == HOST_METRIC_SUM);
            if (!known) {
                odd++;
                continue;
            }
            if (!host_met_wt(&f, want)) return ptel__host_wire(c, &f, "Metric data wire type");
            if (f.number == 1) {
                npoints++;
                continue;
            }
            if (dseen & (1u << f.number)) odd++;
            dseen |= 1u << f.number;
            if (f.number == 2)
                temporality = f.value;
            else {
                if (f.value > 1) odd++;
                m->monotonic = f.value != 0;
            }
        }
        if (rc) return rc;
        if (m->type != HOST_METRIC_GAUGE && temporality != 1) v = PTEL_REASON_TEMPORALITY;
    }
    if (v < 0) {
        /* A name used by an earlier kept metric (case-insensitively). */
        uint32_t slot = (uint32_t)host_met_name_hash(m->name) & (names_size - 1);
        for (;;) {
            uint32_t e = names[slot];
            if (!e) {
                names[slot] = index + 1;
                break;
            }
            if (host_met_name_eq(inv->metrics[e - 1].name, m->name)) {
                v = PTEL_REASON_METRIC_CONFLICT;
                break;
            }
            slot = (slot + 1) & (names_size - 1);
        }
    }
    if (v >= 0) {
        rep->metrics_dropped++;
        ptel__host_note(c, v, m->data, 3);
        return 0;
    }
    c->changed = false;
    if (odd) {
        c->changed = true;
        ptel__host_note_n(c, PTEL_REASON_UNKNOWN_FIELD, odd, m->data, 3);
    }
    if (npoints) {
        m->points = ptel__arena_alloc(&inv->arena, (size_t)npoints * sizeof *m->points);
        if (!m->points) return PTEL_E_NOMEM;
    }
    ptel__reader_init(&r, c->base, data.data, data.len);
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        if (f.number != 1) continue;
        int pv;
        host_point *pt = &m->points[m->npoints];
        rc = host_met_point(c, m, &f, pt, m->npoints ? &m->points[0] : NULL, &pv);
        if (rc) return rc;
        if (pv >= 0) {
            rep->points_dropped++;
            c->changed = true;
            ptel__host_note(c, pv, f.start, 1);
            continue;
        }
        m->npoints++;
    }
    if (rc) return rc;
    rc = host_met_group(c, m);
    if (rc) return rc;
    if (!m->npoints) {
        rep->metrics_dropped++;
        return 0;
    }
    m->kept = true;
    m->changed = c->changed;
    rep->metrics_accepted++;
    rep->points_accepted += m->npoints;
    if (!m->changed) {
        m->out = m->data;
        m->out_len = m->len;
        return 0;
    }
    host_w cw = {NULL, 0};
    ptel__host_metric_write(&cw, m);
    uint8_t *buf = ptel__arena_alloc(&inv->arena, cw.n);
    if (!buf) return PTEL_E_NOMEM;
    host_w w = {buf, 0};
    ptel__host_metric_write(&w, m);
    m->out = buf;
    m->out_len = w.n;
    return 0;
}

int ptel__host_metrics_validate(host_vctx *c) {
    ptel_invocation *inv = c->inv;
    uint32_t n = inv->metric_count;
    if (!n) return 0;
    uint32_t size = 4;
    while (size < 2 * n) size *= 2;
    uint32_t *names = ptel__arena_alloc(&inv->arena, (size_t)size * 4);
    if (!names) return PTEL_E_NOMEM;
    memset(names, 0, (size_t)size * 4);
    for (uint32_t k = 0; k < n; k++) {
        int rc = host_met_one(c, &inv->metrics[k], k, names, size);
        if (rc) return rc;
    }
    return 0;
}

/* ---- encoding ------------------------------------------------------------------------ */

/* Entries varint(len) + body, each written as `tag` + entry. */
static void host_met_blob(host_w *w, uint8_t tag, const uint8_t *blob, size_t len) {
    if (!len) return;
    const uint8_t *p = blob, *end = blob + len;
    while (p < end) {
        uint64_t n;
        const uint8_t *q = p;
        if (ptel__read_varint(&q, end, &n) || n > (uint64_t)(end - q)) return;
        host_w_byte(w, tag);
        host_w_raw(w, p, (size_t)(q - p) + (size_t)n);
        p = q + n;
    }
}

void ptel__host_point_write(host_w *w, uint32_t type, const host_point *pt, uint64_t start,
                            uint64_t time, bool exemplars) {
    if (start) {
        host_w_byte(w, 0x11);
        host_w_fixed64(w, start);
    }
    if (time) {
        host_w_byte(w, 0x19);
        host_w_fixed64(w, time);
    }
    if (type != HOST_METRIC_HISTOGRAM) {
        if (pt->is_double) {
            host_w_byte(w, 0x21);
            host_w_fixed64(w, ptel__double_bits(pt->d));
        }
        if (exemplars) host_met_blob(w, 0x2a, pt->exemplars, pt->exemplars_len);
        if (!pt->is_double) {
            host_w_byte(w, 0x31);
            host_w_fixed64(w, (uint64_t)pt->i);
        }
        host_met_blob(w, 0x3a, pt->attrs, pt->attrs_len);
        if (pt->flags) {
            host_w_byte(w, 0x40);
            host_w_varint(w, pt->flags);
        }
        return;
    }
    if (pt->count) {
        host_w_byte(w, 0x21);
        host_w_fixed64(w, pt->count);
    }
    if (pt->has_sum) {
        host_w_byte(w, 0x29);
        host_w_fixed64(w, ptel__double_bits(pt->sum));
    }
    if (pt->nbuckets) {
        host_w_head(w, 0x32, (size_t)pt->nbuckets * 8);
        for (uint32_t k = 0; k < pt->nbuckets; k++) host_w_fixed64(w, pt->buckets[k]);
    }
    if (pt->nbounds) {
        host_w_head(w, 0x3a, (size_t)pt->nbounds * 8);
        for (uint32_t k = 0; k < pt->nbounds; k++)
            host_w_fixed64(w, ptel__double_bits(pt->bounds[k]));
    }
    if (exemplars) host_met_blob(w, 0x42, pt->exemplars, pt->exemplars_len);
    host_met_blob(w, 0x4a, pt->attrs, pt->attrs_len);
    if (pt->flags) {
        host_w_byte(w, 0x50);
        host_w_varint(w, pt->flags);
    }
    if (pt->has_min) {
        host_w_byte(w, 0x59);
        host_w_fixed64(w, ptel__double_bits(pt->min));
    }
    if (pt->has_max) {
        host_w_byte(w, 0x61);
        host_w_fixed64(w, ptel__double_bits(pt->max));
    }
}

void ptel__host_metric_write(host_w *w, const host_metric *m) {
    host_w_bytes(w, 0x0a, m->name.ptr, m->name.len);
    if (m->description.len) host_w_bytes(w, 0x12, m->description.ptr, m->description.len);
    if (m->unit.len) host_w_bytes(w, 0x1a, m->unit.ptr, m->unit.len);
    size_t body = 0;
    for (uint32_t k = 0; k < m->npoints; k++) {
        host_w cw = {NULL, 0};
        const host_point *pt = &m->points[k];
        ptel__host_point_write(&cw, m->type, pt, pt->start, pt->time, true);
        body += ptel__len_field_size(cw.n);
    }
    if (m->type != HOST_METRIC_GAUGE) body += 2;
    if (m->type == HOST_METRIC_SUM && m->monotonic) body += 2;
    uint8_t tag = m->type == HOST_METRIC_GAUGE ? 0x2a : m->type == HOST_METRIC_SUM ? 0x3a : 0x4a;
    host_w_head(w, tag, body);
    for (uint32_t k = 0; k < m->npoints; k++) {
        host_w cw = {NULL, 0};
        const host_point *pt = &m->points[k];
        ptel__host_point_write(&cw, m->type, pt, pt->start, pt->time, true);
        host_w_head(w, 0x0a, cw.n);
        ptel__host_point_write(w, m->type, pt, pt->start, pt->time, true);
    }
    if (m->type != HOST_METRIC_GAUGE) {
        host_w_byte(w, 0x10);
        host_w_byte(w, 1); /* AGGREGATION_TEMPORALITY_DELTA */
    }
    if (m->type == HOST_METRIC_SUM && m->monotonic) {
        host_w_byte(w, 0x18);
        host_w_byte(w, 1);
    }
}
