/* Host validation of PluginTelemetry: the top-level walk, the spans (ids,
 * parents, times, sampling, limits) and their canonical re-encoding when
 * something had to change. The rules are listed in host.h. */
#include "host_internal.h"

#include <stdlib.h>

/* Drop everything and report the whole payload as rejected. */
static int host_val_reject(host_vctx *c, int reason, int status, uint64_t offset, uint32_t field,
                           const char *why) {
    ptel_report *r = c->rep;
    memset(r, 0, sizeof *r);
    r->status = PTEL_E_REJECTED;
    r->reasons[reason] = 1;
    r->first_reason = reason;
    r->first.status = status;
    r->first.field = field;
    r->first.offset = offset;
    r->first.reason = why ? why : ptel_reason_message(reason);
    c->inv->span_count = 0;
    c->inv->spans_size = 0;
    c->inv->metric_count = 0;
    memset(&c->inv->span_index, 0, sizeof c->inv->span_index);
    return PTEL_E_REJECTED;
}

/* A wire error found by a reader or ptel__host_wire (details in c->fatal). */
static int host_val_wire(host_vctx *c, int rc) {
    if (rc == PTEL_E_NOMEM) return rc;
    return host_val_reject(c, PTEL_REASON_MALFORMED, c->fatal.status ? c->fatal.status : rc,
                           c->fatal.offset, c->fatal.field, c->fatal.reason);
}

static uint32_t host_val_sat_add(uint32_t a, uint32_t b) {
    return a > UINT32_MAX - b ? UINT32_MAX : a + b;
}

static bool host_val_wt(const ptel__field *f, uint32_t want) { return f->wire_type == want; }

/* Clamp or judge a time against the window. Returns false when the policy
 * rejects it; sets *clamped when it moved. */
static bool host_val_time(const host_vctx *c, uint64_t *t, bool *clamped) {
    if (*t >= c->lo && *t <= c->hi) return true;
    if (c->inv->time_policy == PTEL_TIME_REJECT) return false;
    *t = *t < c->lo ? c->lo : c->hi;
    *clamped = true;
    return true;
}

/* A field in canonical form at p[0..left): `tag`, then a one-byte length
 * that fits. */
static HOST_INLINE bool host_canon_len(const uint8_t *p, size_t left, uint8_t tag) {
    return left >= 2 && p[0] == tag && p[1] < 0x80 && p[1] <= left - 2;
}

/* ---- spans: the clean check --------------------------------------------------------- */

/* Most spans pass with no change. The clean check walks a span's contents
 * (attributes, events, links) once, inside the span's own walk, and only
 * answers whether the full validation (host_span_emit: the attribute, event
 * and link rules) would find nothing to change, drop or count. Any doubt,
 * wire errors included, answers no, and the full validation then runs and
 * reports. It never counts, never fails and never touches c->fatal. */

#if defined(__GNUC__)
#    define HOST_NOINLINE __attribute__((noinline))
#else
#    define HOST_NOINLINE
#endif

/* A set of keys, to find repeated ones: the first HOST_KEYS_SMALL are
 * compared as they come (length and a signature, behind a 64-bit filter);
 * a larger set moves to the scratch stack and is sorted at the end, so the
 * work stays O(n log n). */
enum { HOST_KEYS_SMALL = 16 };

/* A key, its length and signature (host_key_sig). */
typedef struct host_keyent {
    const uint8_t *key;
    size_t len;
    uint64_t sig;
} host_keyent;

typedef struct host_keys {
    uint32_t n;
    uint64_t filter;
    size_t mark; /* scratch length to restore, once spilled */
    size_t off;  /* scratch offset of all the entries, once spilled */
    host_keyent small[HOST_KEYS_SMALL];
} host_keys;

static inline bool host_key_eq(const host_keyent *a, const host_keyent *b) {
    return a->len == b->len && a->sig == b->sig && (a->len <= 8 || !memcmp(a->key, b->key, a->len));
}

static int host_key_cmp(const void *x, const void *y) {
    const host_keyent *a = x, *b = y;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    if (a->sig != b->sig) return a->sig < b->sig ? -1 : 1;
    return a->len <= 8 ? 0 : memcmp(a->key, b->key, a->len);
}

static void host_keys_init(host_keys *ks) {
    ks->n = 0;
    ks->filter = 0;
}

static bool host_keys_spill(host_vctx *c, host_keys *ks, const host_keyent *e);

/* Add a key (n > 0) with its signature and mix: false when it repeats an
 * earlier one of a small set, or on allocation failure. */
static HOST_INLINE bool host_keys_add(host_vctx *c, host_keys *ks, const uint8_t *k, size_t n,
                                      uint64_t sig, uint64_t mix) {
    host_keyent e = {k, n, sig};
    if (ks->n < HOST_KEYS_SMALL) {
        uint64_t bit = (uint64_t)1 << (mix >> 40 & 63);
        if (ks->filter & bit)
            for (uint32_t i = 0; i < ks->n; i++)
                if (host_key_eq(&ks->small[i], &e)) return false;
        ks->filter |= bit;
        ks->small[ks->n++] = e;
        return true;
    }
    return host_keys_spill(c, ks, &e);
}

/* Past HOST_KEYS_SMALL keys: all of them on the scratch stack, sorted at
 * the end. */
static bool host_keys_spill(host_vctx *c, host_keys *ks, const host_keyent *e) {
    ptel__buf *b = &c->inv->scratch;
    if (ks->n == HOST_KEYS_SMALL) {
        ks->mark = b->len;
        ks->off = (b->len + 15) & ~(size_t)15;
        if (ks->off < b->len || ptel__buf_reserve(b, ks->off - b->len + sizeof ks->small))
            return false;
        memcpy(b->data + ks->off, ks->small, sizeof ks->small);
        b->len = ks->off + sizeof ks->small;
    }
    if (ptel__buf_reserve(b, sizeof *e)) return false;
    memcpy(b->data + b->len, e, sizeof *e);
    b->len += sizeof *e;
    ks->n++;
    return true;
}

static bool host_keys_sorted(host_vctx *c, host_keys *ks);

/* True when no key of the set repeats. Pops a spilled set. (After a false
 * from a check, a set is abandoned: the span's check restores the scratch.) */
static HOST_INLINE bool host_keys_end(host_vctx *c, host_keys *ks) {
    return ks->n <= HOST_KEYS_SMALL || host_keys_sorted(c, ks);
}

/* A spilled set: sort, look for neighbours that are equal, pop. */
static bool host_keys_sorted(host_vctx *c, host_keys *ks) {
    host_keyent *es = (host_keyent *)(c->inv->scratch.data + ks->off);
    qsort(es, ks->n, sizeof *es, host_key_cmp);
    bool ok = true;
    for (uint32_t i = 1; ok && i < ks->n; i++) ok = !host_key_eq(&es[i - 1], &es[i]);
    c->inv->scratch.len = ks->mark;
    return ok;
}

static bool host_clean_any_gen(host_vctx *c, const uint8_t *v, size_t n, uint32_t level,
                               uint32_t max_len);
static bool host_clean_kv_gen(host_vctx *c, host_keys *ks, const uint8_t *kv, size_t n,
                              uint32_t level, uint32_t max_len, bool top);

/* A string (UTF-8) or bytes value that host_val_any would not cut. */
static HOST_INLINE bool host_clean_str(const uint8_t *s, size_t n, uint32_t max_len, bool utf8) {
    if (utf8 && !host_utf8(s, n)) return false;
    if (!max_len || n <= max_len) return true;
    return utf8 && ptel__utf8_prefix((const char *)s, n, max_len) == n;
}

/* An AnyValue at nesting `level` that host_val_any writes unchanged:
 * exactly one known member, of the right wire type; strings valid UTF-8 and
 * not cut by max_len; bools 0 or 1; arrays and kvlists within the depth
 * limit with clean contents and unique non-empty keys. Scalars and short
 * strings in their canonical form are read here; the rest by the reader. */
static HOST_INLINE bool host_clean_value(host_vctx *c, const uint8_t *v, size_t n, uint32_t level,
                                         uint32_t max_len) {
    if (!n) return true; /* empty: written as empty */
    switch (v[0]) {
    case 0x0a:
        if (n >= 2 && v[1] < 0x80 && v[1] == n - 2)
            return host_clean_str(v + 2, n - 2, max_len, true);
        break;
    case 0x10:
        if (n == 2) return v[1] <= 1;
        break;
    case 0x18:
        /* A varint of n - 1 <= 9 bytes (a 10th byte would need a bound check). */
        if (n >= 2 && n <= 10) {
            for (size_t i = 1; i + 1 < n; i++)
                if (v[i] < 0x80) return false; /* ends early: more than one field */
            return v[n - 1] < 0x80;
        }
        break;
    case 0x21:
        if (n == 9) return true;
        break;
    default:
        break;
    }
    return host_clean_any_gen(c, v, n, level, max_len);
}

/* A key: non-empty, UTF-8, not reserved (when `top`: the lists of spans,
 * events and links, not inside kvlists) and new in `ks`. */
static HOST_INLINE bool host_clean_key(host_vctx *c, host_keys *ks, const uint8_t *key, size_t n,
                                       bool top) {
    if (!n) return false;
    bool ascii;
    uint64_t sig = host_key_sig(key, n, &ascii), mix = host_key_mix(sig, n);
    if (!ascii && !ptel__utf8_valid((const char *)key, n)) return false;
    if (top && host_reserved_mix(c->inv, key, n, mix)) return false;
    return host_keys_add(c, ks, key, n, sig, mix);
}

/* A KeyValue body kv[0..n) that ptel__host_list_scan keeps unchanged: a
 * clean key, and a clean value at `level`. The canonical form with
 * one-byte lengths, 0A len key [12 len value], is read here. */
static HOST_INLINE bool host_clean_kv(host_vctx *c, host_keys *ks, const uint8_t *kv, size_t n,
                                      uint32_t level, uint32_t max_len, bool top) {
    if (n >= 2 && kv[0] == 0x0a && kv[1] < 0x80 && kv[1] <= n - 2) {
        size_t klen = kv[1], rest = n - 2 - klen;
        const uint8_t *p = kv + 2 + klen;
        if (!rest) return host_clean_key(c, ks, kv + 2, klen, top);
        if (rest >= 2 && p[0] == 0x12 && p[1] < 0x80 && p[1] == rest - 2)
            return host_clean_key(c, ks, kv + 2, klen, top) &&
                   host_clean_value(c, p + 2, rest - 2, level, max_len);
    }
    return host_clean_kv_gen(c, ks, kv, n, level, max_len, top);
}

/* host_clean_kv through the reader. */
static bool host_clean_kv_gen(host_vctx *c, host_keys *ks, const uint8_t *kv, size_t n,
                              uint32_t level, uint32_t max_len, bool top) {
    ptel__reader r;
    ptel__reader_init(&r, c->base, kv, n);
    ptel__field f;
    const uint8_t *key = NULL, *val = NULL;
    size_t key_len = 0, val_len = 0;
    uint32_t seen = 0;
    int rc;
    while ((rc = host_next(&r, &f, NULL)) > 0) {
        /* Unknown, repeated or mistyped fields all change something. */
        if (f.wire_type != PTEL__WT_LEN || (f.number != 1 && f.number != 2) || (seen & f.number))
            return false;
        seen |= f.number;
        if (f.number == 1) {
            key = f.data;
            key_len = f.len;
        } else {
            val = f.data;
            val_len = f.len;
        }
    }
    return rc == 0 && host_clean_key(c, ks, key, key_len, top) &&
           (!(seen & 2) || host_clean_value(c, val, val_len, level, max_len));
}

/* host_clean_value through the reader, arrays and kvlists included. */
static bool host_clean_any_gen(host_vctx *c, const uint8_t *v, size_t n, uint32_t level,
                               uint32_t max_len) {
    ptel__reader r;
    ptel__reader_init(&r, c->base, v, n);
    ptel__field f, last;
    int rc = host_next(&r, &last, NULL);
    if (rc <= 0 || r.p != r.end) return false; /* a wire error, or more than one field */
    switch (last.number) {
    case 1:
    case 7:
        return last.wire_type == PTEL__WT_LEN &&
               host_clean_str(last.data, last.len, max_len, last.number == 1);
    case 2:
        return last.wire_type == PTEL__WT_VARINT && last.value <= 1;
    case 3:
        return last.wire_type == PTEL__WT_VARINT;
    case 4:
        return last.wire_type == PTEL__WT_I64;
    case 5:
    case 6:
        break;
    default:
        return false;
    }
    if (last.wire_type != PTEL__WT_LEN || level >= c->depth_limit) return false;
    ptel__reader_init(&r, c->base, last.data, last.len);
    if (last.number == 5) {
        while ((rc = host_next(&r, &f, NULL)) > 0)
            if (f.number != 1 || f.wire_type != PTEL__WT_LEN ||
                !host_clean_value(c, f.data, f.len, level + 1, max_len))
                return false;
        return rc == 0;
    }
    host_keys ks;
    host_keys_init(&ks);
    while ((rc = host_next(&r, &f, NULL)) > 0)
        if (f.number != 1 || f.wire_type != PTEL__WT_LEN ||
            !host_clean_kv(c, &ks, f.data, f.len, level + 1, max_len, false))
            return false;
    return rc == 0 && host_keys_end(c, &ks);
}

/* An entry kv[0..n) of an attribute list that the run below does not
 * read itself; kept out of line so that the run's loop stays small. */
static HOST_NOINLINE bool host_clean_attr_slow(host_vctx *c, host_keys *ks, const uint8_t *kv,
                                               size_t n) {
    return host_clean_kv(c, ks, kv, n, 0, c->inv->limits.attribute_value_length, true);
}

/* host_reserved_exact out of line, for keys past the filter. */
static HOST_NOINLINE bool host_reserved_slow(const ptel_invocation *inv, const uint8_t *k, size_t n,
                                             uint64_t mix) {
    return host_reserved_exact(inv, k, n, mix);
}

/* An AnyValue body v[0..n), 0 < n < 0x80, in canonical form: a string,
 * bool, int or double that host_clean_value accepts. False means "not
 * read here" (the caller then asks host_clean_kv), not "changed". */
static HOST_INLINE bool host_clean_scalar(const uint8_t *v, size_t n, uint32_t max_len) {
    switch (v[0]) {
    case 0x0a: /* string_value: 0A len bytes (one length byte, as n < 0x80) */
        return n >= 2 && v[1] == n - 2 && host_clean_str(v + 2, n - 2, max_len, true);
    case 0x10: /* bool_value 0 or 1 */
        return n == 2 && v[1] <= 1;
    case 0x18: /* int_value: a varint of exactly n - 1 bytes (at most 9) */
        if (n < 2 || n > 10) return false;
        for (size_t i = 1; i + 1 < n; i++)
            if (v[i] < 0x80) return false;
        return v[n - 1] < 0x80;
    case 0x21: /* double_value */
        return n == 9;
    default:
        return false;
    }
}

/* What follows the key in a KeyValue body of at most 127 bytes, t[0..n):
 * nothing, or 12 len value (a one-byte length, as n < 0x7e) with an empty
 * value or one host_clean_scalar reads. */
static HOST_INLINE bool host_clean_tail(const uint8_t *t, size_t n, uint32_t max_len) {
    if (!n) return true;
    return n >= 2 && t[0] == 0x12 && t[1] == n - 2 &&
           (n == 2 || host_clean_scalar(t + 2, n - 2, max_len));
}

/* The clean check of a run of attribute fields with the one-byte tag
 * `tag` from r->p, `count` the list's entries so far: false ends the
 * check. The same answer as host_clean_kv on each entry (at nesting level
 * 0, top-level keys), plus the count limit. An entry of at most 127 bytes
 * in the canonical shape, 0A len key [12 len value], whose key is ASCII
 * and whose value host_clean_scalar reads, is checked here in one pass
 * with the key set in locals: its first four bytes (tag, length, 0A, key
 * length) are compared at once, the one-byte entry length bounds every
 * length inside it, and the key's charset, the reserved-key filters and
 * the duplicate filter all come from one signature. Anything else, or a
 * set grown past HOST_KEYS_SMALL, takes host_clean_attr_slow. The run
 * ends at the first field that is not an entry with this tag, or whose
 * length does not fit (host_next then reads it, errors included). */
static HOST_INLINE bool host_clean_run(host_vctx *c, host_keys *ks, ptel__reader *r, uint8_t tag,
                                       uint32_t *count, uint32_t limit) {
    const ptel_invocation *inv = c->inv;
    const uint8_t *p = r->p, *end = r->end;
    uint32_t cnt = *count, kn = ks->n;
    uint64_t filter = ks->filter;
    const uint32_t head = (uint32_t)tag | 0x0a0000u; /* tag, len < 0x80, 0A, key len < 0x80 */
    const uint64_t rk_bits = inv->rk_bits, rk_mask = inv->rk_head_mask;
    const size_t rk_min = inv->rk_min;
    const uint32_t max_len = inv->limits.attribute_value_length;
    bool ok = true;
    for (;;) {
        size_t left = (size_t)(end - p);
        const uint8_t *kv = p + 2;
        size_t n;
        if (left >= 4 && (ptel__get_fixed32(p) & 0x80ff80ffu) == head) {
            const uint8_t *e = p; /* the entry, from its tag */
            n = e[1];
            if (n > left - 2) break; /* host_next reports it */
            p = kv + n;
            if (++cnt > limit) {
                ok = false;
                break;
            }
            /* klen in 1..n-2, both signed differences non-negative (an
             * entry of 0 or 1 bytes has matched the head with bytes past its
             * end: not this shape). The value first, so that the key's
             * signature is computed just before its use. */
            size_t klen = e[3];
            if ((((ptrdiff_t)klen - 1) | ((ptrdiff_t)n - 2 - (ptrdiff_t)klen)) >= 0 &&
                kn < HOST_KEYS_SMALL && host_clean_tail(e + 4 + klen, n - 2 - klen, max_len)) {
                const uint8_t *key = e + 4;
                bool ascii;
                uint64_t sig = host_key_sig(key, klen, &ascii);
                if (ascii) {
                    uint64_t mix = host_key_mix(sig, klen);
                    /* Past the filter of the reserved keys: the exact search. */
                    if (host_rk_test(rk_bits, rk_min, rk_mask, key, klen) &&
                        host_reserved_slow(inv, key, klen, mix))
                        return false;
                    host_keyent ke = {key, klen, sig};
                    uint64_t bit = (uint64_t)1 << (mix >> 40 & 63);
                    if (filter & bit)
                        for (uint32_t i = 0; i < kn; i++)
                            if (host_key_eq(&ks->small[i], &ke)) return false;
                    filter |= bit;
                    ks->small[kn++] = ke;
                    continue;
                }
            }
        } else {
            if (left < 2 || p[0] != tag) break;
            n = p[1];
            if (n >= 0x80) {
                /* A two-byte length as host_next_run reads it. */
                if (left < 3 || p[2] >= 0x80) break;
                n = (n & 0x7f) | (size_t)p[2] << 7;
                kv = p + 3;
            }
            if (n > (size_t)(end - kv)) break; /* host_next reports it */
            p = kv + n;
            if (++cnt > limit) {
                ok = false;
                break;
            }
        }
        ks->n = kn;
        ks->filter = filter;
        if (!host_clean_attr_slow(c, ks, kv, n)) return false;
        kn = ks->n;
        filter = ks->filter;
    }
    r->p = p;
    ks->n = kn;
    ks->filter = filter;
    *count = cnt;
    return ok;
}

/* The run of attribute fields whose first, `f`, host_next has read. */
static HOST_INLINE bool host_clean_attrs(host_vctx *c, host_keys *ks, ptel__reader *r,
                                         const ptel__field *f, uint8_t tag, uint32_t *count,
                                         uint32_t limit) {
    /* One-byte tag and length: read it again as part of the run. */
    if (f->data == f->start + 2) {
        r->p = f->start;
    } else if (++*count > limit || !host_clean_attr_slow(c, ks, f->data, f->len)) {
        return false;
    }
    return host_clean_run(c, ks, r, tag, count, limit);
}

/* An event that host_span_event keeps and writes unchanged. */
static bool host_clean_event(host_vctx *c, const uint8_t *data, size_t len) {
    const ptel_invocation *inv = c->inv;
    ptel__reader r;
    ptel__reader_init(&r, c->base, data, len);
    ptel__field f;
    int rc;
    uint64_t time = 0;
    const uint8_t *name = NULL;
    size_t name_len = 0;
    uint32_t seen = 0, attrs = 0;
    host_keys ks;
    host_keys_init(&ks);
    /* The canonical start, time then name, is read directly (the tests'
     * reference path reads it with the reader). */
    if (!inv->full_check) {
        if (len >= 9 && data[0] == 0x09) {
            time = ptel__get_fixed64(data + 1);
            seen = 1u << 1;
            r.p += 9;
        }
        if (host_canon_len(r.p, (size_t)(r.end - r.p), 0x12)) {
            name = r.p + 2;
            name_len = r.p[1];
            seen |= 1u << 2;
            r.p += 2 + name_len;
        }
        /* Then its attributes. */
        if (r.p < r.end && r.p[0] == 0x1a &&
            !host_clean_run(c, &ks, &r, 0x1a, &attrs, inv->limits.attributes_per_event))
            return false;
    }
    while ((rc = host_next(&r, &f, NULL)) > 0) {
        switch (f.number << 3 | f.wire_type) {
        case 1 << 3 | PTEL__WT_I64:
            time = f.value;
            break;
        case 2 << 3 | PTEL__WT_LEN:
            name = f.data;
            name_len = f.len;
            break;
        case 3 << 3 | PTEL__WT_LEN:
            if (!host_clean_attrs(c, &ks, &r, &f, 0x1a, &attrs, inv->limits.attributes_per_event))
                return false;
            continue;
        case 4 << 3 | PTEL__WT_VARINT:
            if (f.value > UINT32_MAX) return false;
            break;
        default:
            return false;
        }
        if (seen & (1u << f.number)) return false;
        seen |= 1u << f.number;
    }
    return rc == 0 && time >= c->lo && time <= c->hi && host_utf8(name, name_len) &&
           host_keys_end(c, &ks);
}

/* A link that host_span_link keeps and writes unchanged. */
static bool host_clean_link(host_vctx *c, const uint8_t *data, size_t len) {
    const ptel_invocation *inv = c->inv;
    ptel__reader r;
    ptel__reader_init(&r, c->base, data, len);
    ptel__field f;
    int rc;
    const uint8_t *ts = NULL;
    size_t ts_len = 0;
    uint32_t seen = 0, attrs = 0;
    bool ids = true;
    host_keys ks;
    host_keys_init(&ks);
    while ((rc = host_next(&r, &f, NULL)) > 0) {
        switch (f.number << 3 | f.wire_type) {
        case 1 << 3 | PTEL__WT_LEN:
            ids = ids && f.len == 16 && (host_load8(f.data) | host_load8(f.data + 8)) != 0;
            break;
        case 2 << 3 | PTEL__WT_LEN:
            ids = ids && f.len == 8 && host_load8(f.data) != 0;
            break;
        case 3 << 3 | PTEL__WT_LEN:
            ts = f.data;
            ts_len = f.len;
            break;
        case 4 << 3 | PTEL__WT_LEN:
            if (!host_clean_attrs(c, &ks, &r, &f, 0x22, &attrs, inv->limits.attributes_per_link))
                return false;
            continue;
        case 5 << 3 | PTEL__WT_VARINT:
            if (f.value > UINT32_MAX) return false;
            break;
        case 6 << 3 | PTEL__WT_I32:
            break;
        default:
            return false;
        }
        if (seen & (1u << f.number)) return false;
        seen |= 1u << f.number;
    }
    /* Both ids present and valid (a repeated id field already said no). */
    return rc == 0 && ids && (seen & 6) == 6 && host_utf8(ts, ts_len) && host_keys_end(c, &ks);
}

/* ---- spans: the span's own walk -------------------------------------------------------- */

/* The canonical start of a span, as the recorder writes it: trace id, span
 * id, then whichever of trace state, parent, name, kind, start and end
 * follow in that order, each with a one-byte length. Read directly, with
 * the effect the walk's switch would have; the walk reads the rest. */
static HOST_INLINE void host_span_prefix(const ptel_invocation *inv, host_span *s, ptel__reader *r,
                                         bool *trace_ok, uint32_t *seen) {
    const uint8_t *p = r->p;
    size_t left = (size_t)(r->end - p);
    if (left < 28 || p[0] != 0x0a || p[1] != 16 || p[18] != 0x12 || p[19] != 8) return;
    *trace_ok = host_load8(p + 2) == host_load8(inv->trace_id) &&
                host_load8(p + 10) == host_load8(inv->trace_id + 8);
    s->id_ok = host_load8(p + 20) != 0;
    memcpy(s->span_id, p + 20, 8);
    uint32_t bits = 1u << 1 | 1u << 2;
    p += 28;
    left -= 28;
    if (host_canon_len(p, left, 0x1a)) {
        s->trace_state = (ptel_str){(const char *)p + 2, p[1]};
        bits |= 1u << 3;
        left -= 2 + (size_t)p[1];
        p += 2 + (size_t)p[1];
    }
    if (left >= 10 && p[0] == 0x22 && p[1] == 8) {
        s->parent_ok = true;
        memcpy(s->parent, p + 2, 8);
        bits |= 1u << 4;
        left -= 10;
        p += 10;
    }
    if (host_canon_len(p, left, 0x2a)) {
        s->name = (ptel_str){(const char *)p + 2, p[1]};
        bits |= 1u << 5;
        left -= 2 + (size_t)p[1];
        p += 2 + (size_t)p[1];
    }
    if (left >= 2 && p[0] == 0x30 && p[1] < 0x80) {
        s->kind = p[1];
        bits |= 1u << 6;
        left -= 2;
        p += 2;
    }
    if (left >= 9 && p[0] == 0x39) {
        s->start = ptel__get_fixed64(p + 1);
        bits |= 1u << 7;
        left -= 9;
        p += 9;
    }
    if (left >= 9 && p[0] == 0x41) {
        s->end = ptel__get_fixed64(p + 1);
        bits |= 1u << 8;
        p += 9;
    }
    *seen = bits;
    r->p = p;
}

/* The canonical Status, [12 len message] [18 code] with a one-byte length
 * and code, read directly into s; false (s partly set) for any other form,
 * which the reader then reads. */
static HOST_INLINE bool host_status_canonical(host_span *s, const uint8_t *q, size_t n) {
    if (n >= 2 && q[0] == 0x12 && q[1] < 0x80 && q[1] <= n - 2) {
        s->status_message.ptr = (const char *)q + 2;
        s->status_message.len = q[1];
        n -= 2 + (size_t)q[1];
        q += 2 + (size_t)q[1];
    }
    if (n >= 2 && q[0] == 0x18 && q[1] < 0x80) {
        s->status_code = q[1];
        n -= 2;
    }
    return n == 0;
}

/* The span's own fields, its status, and the span-level rules; in the same
 * walk, the clean check of its attributes, events and links (s->clean).
 * `s` holds its slice (data, len, open); every other field is set here. */
static int host_span_pre(host_vctx *c, host_span *s) {
    ptel_invocation *inv = c->inv;
    ptel__reader r;
    ptel__reader_init(&r, c->base, s->data, s->len);
    ptel__field f;
    int rc;
    bool trace_ok = false;
    uint32_t seen = 0, attrs = 0, events = 0, links = 0;
    const uint8_t *status = NULL;
    size_t status_len = 0;
    /* Open spans are always re-encoded: no clean check for them. */
    size_t mark = inv->scratch.len;
    host_keys ks;
    host_keys_init(&ks);
    bool clean = !s->open;
    if (!inv->full_check) {
        host_span_prefix(inv, s, &r, &trace_ok, &seen);
        /* The canonical rest is read directly too, as far as it goes:
         * attributes, events, status, flags, with the effect the walk's
         * switch would have. The walk reads whatever else follows. */
        const uint8_t *d;
        size_t dn;
        if (clean && r.p < r.end && r.p[0] == 0x4a)
            clean = host_clean_run(c, &ks, &r, 0x4a, &attrs, inv->limits.attribute_count);
        while (clean && host_next_run(&r, 0x5a, &d, &dn))
            clean = ++events <= inv->limits.event_count && host_clean_event(c, d, dn);
        if (clean && host_next_run(&r, 0x7a, &d, &dn)) {
            status = d;
            status_len = dn;
            s->has_status = true;
            seen |= 1u << 15;
        }
        if (clean && r.end - r.p >= 6 && r.p[0] == 0x85 && r.p[1] == 0x01) {
            s->flags = ptel__get_fixed32(r.p + 2);
            s->has_flags = true;
            seen |= 1u << 16;
            r.p += 6;
        }
    }
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        /* One switch on field number and wire type: the expected pairs. */
        switch (f.number << 3 | f.wire_type) {
        case 1 << 3 | PTEL__WT_LEN:
            trace_ok = f.len == 16 && host_load8(f.data) == host_load8(inv->trace_id) &&
                       host_load8(f.data + 8) == host_load8(inv->trace_id + 8);
            break;
        case 2 << 3 | PTEL__WT_LEN:
            s->id_ok = f.len == 8 && host_load8(f.data) != 0;
            if (f.len == 8) memcpy(s->span_id, f.data, 8);
            break;
        case 3 << 3 | PTEL__WT_LEN:
            s->trace_state.ptr = (const char *)f.data;
            s->trace_state.len = f.len;
            break;
        case 4 << 3 | PTEL__WT_LEN:
            s->parent_ok = f.len == 8;
            if (f.len == 8) memcpy(s->parent, f.data, 8);
            break;
        case 5 << 3 | PTEL__WT_LEN:
            s->name.ptr = (const char *)f.data;
            s->name.len = f.len;
            break;
        case 6 << 3 | PTEL__WT_VARINT:
            s->kind = f.value > UINT32_MAX ? UINT32_MAX : (uint32_t)f.value;
            break;
        case 7 << 3 | PTEL__WT_I64:
            s->start = f.value;
            break;
        case 8 << 3 | PTEL__WT_I64:
            s->end = f.value;
            break;
        case 9 << 3 | PTEL__WT_LEN:
            /* Attributes come in runs: the rest of the run is read there. */
            clean = clean &&
                    host_clean_attrs(c, &ks, &r, &f, 0x4a, &attrs, inv->limits.attribute_count);
            continue;
        case 10 << 3 | PTEL__WT_VARINT:
        case 12 << 3 | PTEL__WT_VARINT:
        case 14 << 3 | PTEL__WT_VARINT: {
            /* uint32: protobuf keeps the low 32 bits; re-encode if more were sent. */
            if (f.value > UINT32_MAX) s->unknown++;
            uint32_t v = (uint32_t)f.value;
            if (f.number == 10)
                s->dropped_attributes = v;
            else if (f.number == 12)
                s->dropped_events = v;
            else
                s->dropped_links = v;
            break;
        }
        case 11 << 3 | PTEL__WT_LEN:
            clean =
                clean && ++events <= inv->limits.event_count && host_clean_event(c, f.data, f.len);
            continue;
        case 13 << 3 | PTEL__WT_LEN:
            clean = clean && ++links <= inv->limits.link_count && host_clean_link(c, f.data, f.len);
            continue;
        case 15 << 3 | PTEL__WT_LEN:
            status = f.data;
            status_len = f.len;
            s->has_status = true;
            break;
        case 16 << 3 | PTEL__WT_I32:
            s->flags = (uint32_t)f.value;
            s->has_flags = true;
            break;
        default:
            if (f.number <= 16) {  /* a known field with the wrong wire type */
                ptel__field g = f; /* a copy: `f` itself stays in registers */
                inv->scratch.len = mark;
                return ptel__host_wire(c, &g, "Span field wire type");
            }
            s->unknown++;
            continue;
        }
        /* A singular field seen before: the last one counts, re-encode. */
        if (seen & (1u << f.number)) s->unknown++;
        seen |= 1u << f.number;
    }
    s->clean = clean && host_keys_end(c, &ks);
    inv->scratch.len = mark;
    if (rc) return rc;
    if (s->has_status && (inv->full_check || !host_status_canonical(s, status, status_len))) {
        s->status_message = (ptel_str){NULL, 0};
        s->status_code = 0;
        ptel__reader_init(&r, c->base, status, status_len);
        uint32_t sseen = 0;
        while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
            if ((f.number == 2 && f.wire_type != PTEL__WT_LEN) ||
                (f.number == 3 && f.wire_type != PTEL__WT_VARINT)) {
                ptel__field g = f;
                return ptel__host_wire(c, &g, "Status wire type");
            }
            if (f.number == 2) {
                s->status_message.ptr = (const char *)f.data;
                s->status_message.len = f.len;
            } else if (f.number == 3) {
                s->status_code = f.value > UINT32_MAX ? UINT32_MAX : (uint32_t)f.value;
            } else {
                s->unknown++;
                continue;
            }
            if (sseen & (1u << f.number)) s->unknown++;
            sseen |= 1u << f.number;
        }
        if (rc) return rc;
    }
    /* Span-level rules, in field order. */
    int v = -1;
    if (!trace_ok)
        v = PTEL_REASON_TRACE_ID_MISMATCH;
    else if (!s->id_ok)
        v = PTEL_REASON_SPAN_ID_ZERO;
    else if (!host_utf8(s->trace_state.ptr, s->trace_state.len))
        v = PTEL_REASON_UTF8;
    else if (!host_utf8(s->name.ptr, s->name.len))
        v = PTEL_REASON_UTF8;
    else if (s->kind > PTEL_SPAN_KIND_CONSUMER)
        v = PTEL_REASON_INVALID_VALUE;
    else if (!host_utf8(s->status_message.ptr, s->status_message.len))
        v = PTEL_REASON_UTF8;
    else if (s->status_code > PTEL_STATUS_ERROR)
        v = PTEL_REASON_INVALID_VALUE;
    else if (!s->open && s->end < s->start)
        v = PTEL_REASON_END_BEFORE_START;
    if (v < 0) {
        bool moved = false;
        if (!host_val_time(c, &s->start, &moved)) v = PTEL_REASON_TIME_WINDOW;
        if (moved) s->clamped++;
        moved = false;
        if (s->open) {
            /* The host ends it at the invocation's end (never before its start). */
            s->end = inv->end > s->start ? inv->end : s->start;
            s->changed = true;
        } else if (v < 0 && !host_val_time(c, &s->end, &moved)) {
            v = PTEL_REASON_TIME_WINDOW;
        }
        if (moved) s->clamped++;
    }
    s->verdict = v;
    if (s->clamped || s->unknown) s->changed = true;
    return 0;
}

/* ---- spans: ids and parents across the batch --------------------------------------- */

/* The span index (inv->span_index): span id -> the first span with that
 * id. Linear probing over a power-of-two table of span positions; ids are
 * random, so probes are short. Hostile ids could pile up: an insertion that
 * needs more than HOST_IDS_PROBES probes switches the index to a sorted
 * array with binary search, so the work stays O(n log n) in any case, and
 * a lookup never needs more than HOST_IDS_PROBES + 1 probes. */
enum { HOST_IDS_PROBES = 64 };

typedef struct host_idref {
    uint64_t id; /* the 8 bytes as a little-endian number */
    uint32_t idx;
} host_idref;

static uint64_t host_ids_key(const uint8_t *id) { return ptel__get_fixed64(id); }

static size_t host_ids_home(const host_ids *x, uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & x->mask;
}

static int host_ids_refcmp(const void *a, const void *b) {
    const host_idref *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Index of the first span with `id`, or -1. */
static int64_t host_ids_find(const ptel_invocation *inv, const uint8_t *id) {
    const host_ids *x = &inv->span_index;
    uint64_t key = host_ids_key(id);
    if (x->slots) {
        size_t i = host_ids_home(x, key);
        for (uint32_t probe = 0; probe <= HOST_IDS_PROBES; probe++) {
            uint32_t sl = x->slots[i];
            if (!sl) return -1;
            if (host_ids_key(inv->spans[sl - 1].span_id) == key) return sl - 1;
            i = (i + 1) & x->mask;
        }
        return -1;
    }
    uint32_t lo = 0, hi = x->nrefs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (x->refs[mid].id < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->nrefs && x->refs[lo].id == key ? (int64_t)x->refs[lo].idx : -1;
}

/* The sorted form of the index. */
static int host_ids_sorted(ptel_invocation *inv) {
    host_ids *x = &inv->span_index;
    uint32_t n = inv->span_count, m = 0;
    x->slots = NULL;
    x->refs = ptel__arena_alloc(&inv->arena, (size_t)n * sizeof *x->refs);
    if (!x->refs) return PTEL_E_NOMEM;
    for (uint32_t k = 0; k < n; k++) {
        if (!inv->spans[k].id_ok) continue;
        x->refs[m].id = host_ids_key(inv->spans[k].span_id);
        x->refs[m].idx = k;
        m++;
    }
    qsort(x->refs, m, sizeof *x->refs, host_ids_refcmp);
    for (uint32_t k = 1; k < m; k++)
        if (x->refs[k].id == x->refs[k - 1].id && inv->spans[x->refs[k].idx].verdict < 0)
            inv->spans[x->refs[k].idx].verdict = PTEL_REASON_SPAN_ID_DUPLICATE;
    x->nrefs = m;
    return 0;
}

/* An empty index for `n` spans: a table of at least 2n slots, or at once
 * the sorted form (built by host_ids_finish) when that would be too big. */
static int host_ids_init(ptel_invocation *inv, uint32_t n) {
    host_ids *x = &inv->span_index;
    memset(x, 0, sizeof *x);
    size_t cap = 16;
    while (cap < 2 * (size_t)n && cap < ((size_t)1 << 30)) cap *= 2;
    if (cap < 2 * (size_t)n) {
        x->sorting = true;
        return 0;
    }
    x->slots = ptel__arena_alloc(&inv->arena, cap * sizeof *x->slots);
    if (!x->slots) return PTEL_E_NOMEM;
    memset(x->slots, 0, cap * sizeof *x->slots);
    x->mask = cap - 1;
    return 0;
}

/* Add span k, whose id is valid, as the spans come: a span whose id an
 * earlier span has is a duplicate. When probes run long the table is
 * given up for the sorted form, built when all spans are in. */
static void host_ids_add(ptel_invocation *inv, uint32_t k) {
    host_ids *x = &inv->span_index;
    if (x->sorting) return;
    host_span *spans = inv->spans;
    uint64_t key = host_ids_key(spans[k].span_id);
    size_t i = host_ids_home(x, key);
    for (uint32_t probe = 0;; probe++) {
        uint32_t sl = x->slots[i];
        if (!sl) {
            x->slots[i] = k + 1;
            return;
        }
        if (host_ids_key(spans[sl - 1].span_id) == key) {
            if (spans[k].verdict < 0) spans[k].verdict = PTEL_REASON_SPAN_ID_DUPLICATE;
            return;
        }
        if (probe == HOST_IDS_PROBES) {
            x->sorting = true;
            return;
        }
        i = (i + 1) & x->mask;
    }
}

/* After the last span: the sorted form, when the table was given up. */
static int host_ids_finish(ptel_invocation *inv) {
    return inv->span_index.sorting ? host_ids_sorted(inv) : 0;
}

/* The verdicts that depend on the invocation rather than on the span's
 * contents, for span k, then its place in the index. */
static void host_span_decide(ptel_invocation *inv, uint32_t k) {
    host_span *s = &inv->spans[k];
    bool sampled = inv->decision == PTEL_DECISION_RECORD_AND_SAMPLE ||
                   (inv->decision == PTEL_DECISION_RECORD_ONLY && inv->accept_record_only);
    if (k >= inv->limits.span_count)
        s->verdict = PTEL_REASON_SPAN_COUNT;
    else if (!(inv->features & PTEL_FEATURE_SPANS))
        s->verdict = PTEL_REASON_FEATURE;
    else if (!sampled)
        s->verdict = PTEL_REASON_NOT_SAMPLED;
    else if (s->open && !(inv->features & PTEL_FEATURE_OPEN_SPANS))
        s->verdict = PTEL_REASON_FEATURE;
    if (s->verdict < 0 && host_load8(s->span_id) == host_load8(inv->span_id))
        s->verdict = PTEL_REASON_SPAN_ID_HOST;
    if (s->id_ok) host_ids_add(inv, k);
}

enum { HOST_RES_UNKNOWN = 0, HOST_RES_VISITING = 1, HOST_RES_KEPT = 2, HOST_RES_DROPPED = 3 };

/* Parents, once every span has its own verdict (host_span_decide) and the
 * index is complete. */
static int host_spans_decide(host_vctx *c) {
    ptel_invocation *inv = c->inv;
    uint32_t n = inv->span_count;
    host_span *spans = inv->spans;
    if (!n) return 0;
    uint8_t *state = ptel__arena_alloc(&inv->arena, n);
    uint32_t *stack = ptel__arena_alloc(&inv->arena, (size_t)n * sizeof *stack);
    if (!state || !stack) return PTEL_E_NOMEM;
    int rc = host_ids_finish(inv);
    if (rc) return rc;
    /* Parents: a span is kept when its chain of parents reaches the
     * invocation span through kept spans. Cycles and chains through dropped
     * or unknown spans drop every span on them. */
    memset(state, HOST_RES_UNKNOWN, n);
    for (uint32_t k = 0; k < n; k++) {
        if (state[k] != HOST_RES_UNKNOWN) continue;
        uint32_t top = 0, j = k;
        uint8_t result;
        for (;;) {
            if (state[j] == HOST_RES_KEPT || state[j] == HOST_RES_DROPPED) {
                result = state[j];
                break;
            }
            if (state[j] == HOST_RES_VISITING) {
                result = HOST_RES_DROPPED; /* a cycle */
                break;
            }
            if (spans[j].verdict >= 0) {
                state[j] = HOST_RES_DROPPED;
                result = HOST_RES_DROPPED;
                break;
            }
            state[j] = HOST_RES_VISITING;
            stack[top++] = j;
            if (!spans[j].parent_ok) {
                result = HOST_RES_DROPPED;
                break;
            }
            if (memcmp(spans[j].parent, inv->span_id, 8) == 0) {
                result = HOST_RES_KEPT;
                break;
            }
            int64_t owner = host_ids_find(inv, spans[j].parent);
            if (owner < 0) {
                result = HOST_RES_DROPPED;
                break;
            }
            j = (uint32_t)owner;
        }
        for (uint32_t t = 0; t < top; t++) {
            state[stack[t]] = result;
            if (result == HOST_RES_DROPPED) spans[stack[t]].verdict = PTEL_REASON_PARENT_UNKNOWN;
        }
    }
    return 0;
}

/* ---- spans: canonical re-encoding --------------------------------------------------- */

static int host_span_event(host_vctx *c, host_w *w, const ptel__field *ef, uint32_t *kept,
                           uint32_t *dropped) {
    ptel_invocation *inv = c->inv;
    ptel__reader r;
    ptel__reader_init(&r, c->base, ef->data, ef->len);
    ptel__field f;
    int rc;
    uint64_t time = 0;
    uint32_t orig_dropped = 0, seen = 0, odd = 0;
    ptel_str name = {NULL, 0};
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        uint32_t want;
        switch (f.number) {
        case 1:
            want = PTEL__WT_I64;
            break;
        case 2:
        case 3:
            want = PTEL__WT_LEN;
            break;
        case 4:
            want = PTEL__WT_VARINT;
            break;
        default:
            odd++;
            continue;
        }
        if (!host_val_wt(&f, want)) return ptel__host_wire(c, &f, "Span.Event wire type");
        if (f.number != 3) {
            if (seen & (1u << f.number)) odd++;
            seen |= 1u << f.number;
        }
        if (f.number == 1)
            time = f.value;
        else if (f.number == 2)
            name = (ptel_str){(const char *)f.data, f.len};
        else if (f.number == 4) {
            if (f.value > UINT32_MAX) odd++;
            orig_dropped = (uint32_t)f.value;
        }
    }
    if (rc) return rc;
    int v = -1;
    bool moved = false;
    if (!host_utf8(name.ptr, name.len))
        v = PTEL_REASON_UTF8;
    else if (!host_val_time(c, &time, &moved))
        v = PTEL_REASON_TIME_WINDOW;
    else if (*kept >= inv->limits.event_count)
        v = PTEL_REASON_EVENT_COUNT;
    if (v >= 0) {
        (*dropped)++;
        c->changed = true;
        ptel__host_note(c, v, ef->start, 11);
        return 0;
    }
    (*kept)++;
    if (moved) {
        c->changed = true;
        ptel__host_note(c, PTEL_REASON_TIME_WINDOW, ef->start, 11);
    }
    if (odd) {
        c->changed = true;
        ptel__host_note_n(c, PTEL_REASON_UNKNOWN_FIELD, odd, ef->start, 11);
    }
    host_list_cfg cfg = {
        3, inv->limits.attributes_per_event, inv->limits.attribute_value_length, {NULL, 0}};
    host_list l;
    rc = ptel__host_list_scan(c, ef->data, ef->len, &cfg, &l);
    if (rc) return rc;
    uint32_t total_dropped = host_val_sat_add(orig_dropped, l.dropped);
    size_t body = (time ? 9 : 0) + (name.len ? ptel__len_field_size(name.len) : 0) + l.size +
                  (total_dropped ? 1 + ptel__varint_size(total_dropped) : 0);
    host_w_head(w, 0x5a, body);
    if (time) {
        host_w_byte(w, 0x09);
        host_w_fixed64(w, time);
    }
    if (name.len) host_w_bytes(w, 0x12, name.ptr, name.len);
    ptel__host_list_write(c, w, &l, 0x1a);
    if (total_dropped) {
        host_w_byte(w, 0x20);
        host_w_varint(w, total_dropped);
    }
    ptel__host_list_pop(c, &l);
    return 0;
}

static int host_span_link(host_vctx *c, host_w *w, const ptel__field *lf, uint32_t *kept,
                          uint32_t *dropped) {
    ptel_invocation *inv = c->inv;
    ptel__reader r;
    ptel__reader_init(&r, c->base, lf->data, lf->len);
    ptel__field f;
    int rc;
    const uint8_t *tid = NULL, *sid = NULL;
    size_t tid_len = 0, sid_len = 0;
    ptel_str ts = {NULL, 0};
    uint32_t orig_dropped = 0, flags = 0, seen = 0, odd = 0;
    bool has_flags = false;
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        uint32_t want;
        switch (f.number) {
        case 1:
        case 2:
        case 3:
        case 4:
            want = PTEL__WT_LEN;
            break;
        case 5:
            want = PTEL__WT_VARINT;
            break;
        case 6:
            want = PTEL__WT_I32;
            break;
        default:
            odd++;
            continue;
        }
        if (!host_val_wt(&f, want)) return ptel__host_wire(c, &f, "Span.Link wire type");
        if (f.number != 4) {
            if (seen & (1u << f.number)) odd++;
            seen |= 1u << f.number;
        }
        switch (f.number) {
        case 1:
            tid = f.data;
            tid_len = f.len;
            break;
        case 2:
            sid = f.data;
            sid_len = f.len;
            break;
        case 3:
            ts = (ptel_str){(const char *)f.data, f.len};
            break;
        case 5:
            if (f.value > UINT32_MAX) odd++;
            orig_dropped = (uint32_t)f.value;
            break;
        case 6:
            flags = (uint32_t)f.value;
            has_flags = true;
            break;
        default:
            break;
        }
    }
    if (rc) return rc;
    int v = -1;
    if (tid_len != 16 || ptel__is_zero(tid, 16) || sid_len != 8 || ptel__is_zero(sid, 8))
        v = PTEL_REASON_INVALID_LINK;
    else if (!host_utf8(ts.ptr, ts.len))
        v = PTEL_REASON_UTF8;
    else if (*kept >= inv->limits.link_count)
        v = PTEL_REASON_LINK_COUNT;
    if (v >= 0) {
        (*dropped)++;
        c->changed = true;
        ptel__host_note(c, v, lf->start, 13);
        return 0;
    }
    (*kept)++;
    if (odd) {
        c->changed = true;
        ptel__host_note_n(c, PTEL_REASON_UNKNOWN_FIELD, odd, lf->start, 13);
    }
    host_list_cfg cfg = {
        4, inv->limits.attributes_per_link, inv->limits.attribute_value_length, {NULL, 0}};
    host_list l;
    rc = ptel__host_list_scan(c, lf->data, lf->len, &cfg, &l);
    if (rc) return rc;
    uint32_t total_dropped = host_val_sat_add(orig_dropped, l.dropped);
    size_t body = ptel__len_field_size(16) + ptel__len_field_size(8) +
                  (ts.len ? ptel__len_field_size(ts.len) : 0) + l.size +
                  (total_dropped ? 1 + ptel__varint_size(total_dropped) : 0) + (has_flags ? 5 : 0);
    host_w_head(w, 0x6a, body);
    host_w_bytes(w, 0x0a, tid, 16);
    host_w_bytes(w, 0x12, sid, 8);
    if (ts.len) host_w_bytes(w, 0x1a, ts.ptr, ts.len);
    ptel__host_list_write(c, w, &l, 0x22);
    if (total_dropped) {
        host_w_byte(w, 0x28);
        host_w_varint(w, total_dropped);
    }
    if (has_flags) {
        host_w_byte(w, 0x35);
        host_w_fixed32(w, flags);
    }
    ptel__host_list_pop(c, &l);
    return 0;
}

/* The error.type of spans the host closes. */
static ptel_str host_span_close_type(const ptel_invocation *inv) {
    if (inv->outcome != PTEL_OUTCOME_OK) return inv->error_type;
    return (ptel_str){"span_not_ended", 14};
}

/* Write the span's canonical body (validating its contents on the way). */
static int host_span_emit(host_vctx *c, host_w *w, const host_span *s) {
    ptel_invocation *inv = c->inv;
    int rc;
    host_w_bytes(w, 0x0a, inv->trace_id, 16);
    host_w_bytes(w, 0x12, s->span_id, 8);
    if (s->trace_state.len) host_w_bytes(w, 0x1a, s->trace_state.ptr, s->trace_state.len);
    host_w_bytes(w, 0x22, s->parent, 8);
    if (s->name.len) host_w_bytes(w, 0x2a, s->name.ptr, s->name.len);
    if (s->kind) {
        host_w_byte(w, 0x30);
        host_w_varint(w, s->kind);
    }
    if (s->start) {
        host_w_byte(w, 0x39);
        host_w_fixed64(w, s->start);
    }
    if (s->end) {
        host_w_byte(w, 0x41);
        host_w_fixed64(w, s->end);
    }
    host_list_cfg cfg = {
        9, inv->limits.attribute_count, inv->limits.attribute_value_length, {NULL, 0}};
    if (s->open) {
        /* The host's error.type takes one slot of the limit. */
        cfg.drop_key = (ptel_str){"error.type", 10};
        if (cfg.limit) cfg.limit--;
    }
    host_list l;
    rc = ptel__host_list_scan(c, s->data, s->len, &cfg, &l);
    if (rc) return rc;
    ptel__host_list_write(c, w, &l, 0x4a);
    ptel_str et = host_span_close_type(inv);
    if (s->open) ptel__host_attr_string(w, 0x4a, "error.type", 10, et.ptr, et.len);
    uint32_t dropped = host_val_sat_add(s->dropped_attributes, l.dropped);
    ptel__host_list_pop(c, &l);
    if (dropped) {
        host_w_byte(w, 0x50);
        host_w_varint(w, dropped);
    }
    /* Events and links, in their order. */
    for (int pass = 0; pass < 2; pass++) {
        uint32_t number = pass ? 13 : 11, kept = 0, lost = 0;
        ptel__reader r;
        ptel__reader_init(&r, c->base, s->data, s->len);
        ptel__field f;
        while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
            if (f.number != number) continue;
            rc = pass ? host_span_link(c, w, &f, &kept, &lost)
                      : host_span_event(c, w, &f, &kept, &lost);
            if (rc) return rc;
        }
        if (rc) return rc;
        uint32_t total = host_val_sat_add(pass ? s->dropped_links : s->dropped_events, lost);
        if (total) {
            host_w_byte(w, pass ? 0x70 : 0x60);
            host_w_varint(w, total);
        }
    }
    uint32_t code = s->open ? (uint32_t)PTEL_STATUS_ERROR : s->status_code;
    if (code || s->status_message.len) {
        size_t body = (s->status_message.len ? ptel__len_field_size(s->status_message.len) : 0) +
                      (code ? 2 : 0);
        host_w_head(w, 0x7a, body);
        if (s->status_message.len)
            host_w_bytes(w, 0x12, s->status_message.ptr, s->status_message.len);
        if (code) {
            host_w_byte(w, 0x18);
            host_w_byte(w, (uint8_t)code);
        }
    }
    if (s->has_flags) {
        host_w_byte(w, 0x85);
        host_w_byte(w, 0x01);
        host_w_fixed32(w, s->flags);
    }
    return 0;
}

static int host_spans_validate(host_vctx *c) {
    ptel_invocation *inv = c->inv;
    ptel_report *rep = c->rep;
    uint32_t n = inv->span_count;
    int rc = host_spans_decide(c);
    if (rc) return rc;
    uint32_t kept = 0;
    size_t size = 0; /* of the kept spans as ScopeSpans.spans fields, for export */
    for (uint32_t k = 0; k < n; k++) {
        host_span *s = &inv->spans[k];
        uint32_t field = s->open ? 4 : 2;
        if (s->verdict >= 0) {
            rep->spans_dropped++;
            ptel__host_note(c, s->verdict, s->data, field);
            continue;
        }
        kept++;
        if (s->open) {
            rep->open_spans++;
            ptel__host_note(c, PTEL_REASON_OPEN_SPAN, s->data, field);
        }
        if (s->clamped) ptel__host_note_n(c, PTEL_REASON_TIME_WINDOW, s->clamped, s->data, field);
        if (s->unknown) ptel__host_note_n(c, PTEL_REASON_UNKNOWN_FIELD, s->unknown, s->data, field);
        /* Contents the clean check passed need no second look. */
        bool skip = s->clean && !s->changed;
        if (skip && !inv->full_check) {
            s->out = s->data;
            s->out_len = s->len;
            size += ptel__len_field_size(s->len);
            continue;
        }
        /* Validate the contents, sizing the canonical form. */
        c->changed = false;
        host_w cw = {NULL, 0};
        rc = host_span_emit(c, &cw, s);
        if (rc) return rc;
        if (c->changed) s->changed = true;
        if (skip && s->changed) inv->clean_wrong++;
        if (!skip && !s->changed) inv->clean_missed++;
        if (!s->changed) {
            s->out = s->data;
            s->out_len = s->len;
            size += ptel__len_field_size(s->len);
            continue;
        }
        uint8_t *buf = ptel__arena_alloc(&inv->arena, cw.n);
        if (!buf) return PTEL_E_NOMEM;
        host_w w = {buf, 0};
        c->counting = false;
        rc = host_span_emit(c, &w, s);
        c->counting = true;
        if (rc) return rc;
        s->out = buf;
        s->out_len = w.n;
        size += ptel__len_field_size(w.n);
        rep->spans_modified++;
    }
    rep->spans_accepted = kept;
    inv->spans_size = size;
    return 0;
}

/* A kept span is the first of its id (later ones are duplicates), so the
 * index answers: the first span with `id`, if it is kept. */
bool ptel__host_span_known(const ptel_invocation *inv, const uint8_t *id) {
    if (memcmp(id, inv->span_id, 8) == 0) return true;
    if (!inv->span_count) return false;
    int64_t k = host_ids_find(inv, id);
    return k >= 0 && inv->spans[k].verdict < 0;
}

/* ---- the top level -------------------------------------------------------------------- */

static int host_val_drops(host_vctx *c, const ptel__field *outer) {
    ptel_report *rep = c->rep;
    ptel__reader r;
    ptel__reader_init(&r, c->base, outer->data, outer->len);
    ptel__field f;
    int rc;
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        if (f.number < 1 || f.number > 4) continue;
        if (!host_val_wt(&f, PTEL__WT_VARINT))
            return ptel__host_wire(c, &f, "DropCounts wire type");
        uint32_t v = f.value > UINT32_MAX ? UINT32_MAX : (uint32_t)f.value;
        if (f.number == 1)
            rep->plugin_dropped_spans = v;
        else if (f.number == 2)
            rep->plugin_dropped_metrics = v;
        else if (f.number == 3)
            rep->plugin_dropped_points = v;
        else
            rep->plugin_errors = v;
    }
    return rc;
}

int ptel__host_validate(ptel_invocation *inv, const uint8_t *payload, size_t len,
                        ptel_report *rep) {
    host_vctx c;
    memset(&c, 0, sizeof c);
    c.inv = inv;
    c.base = payload;
    c.rep = rep;
    c.counting = true;
    c.lo = inv->start > inv->slack ? inv->start - inv->slack : 0;
    c.hi = inv->end > UINT64_MAX - inv->slack ? UINT64_MAX : inv->end + inv->slack;
    c.depth_limit = inv->limits.attribute_depth < PTEL_HOST_MAX_DEPTH ? inv->limits.attribute_depth
                                                                      : PTEL_HOST_MAX_DEPTH;
    if (len > inv->limits.payload_bytes)
        return host_val_reject(&c, PTEL_REASON_TOO_LARGE, PTEL_E_LIMIT, inv->limits.payload_bytes,
                               0, "payload larger than limits.payload_bytes");

    /* Pass 1: the top-level fields; count spans and metrics. */
    ptel__reader r;
    ptel__reader_init(&r, payload, payload, len);
    ptel__field f;
    int rc;
    uint32_t nspans = 0, nmetrics = 0;
    bool have_version = false;
    uint64_t version = 0, version_at = len;
    const uint8_t *d;
    size_t dn;
    for (;;) {
        /* Spans in canonical form are read inline: most of the fields. */
        if (host_next_run(&r, 0x12, &d, &dn)) {
            nspans++;
            continue;
        }
        if ((rc = host_next(&r, &f, &c.fatal)) <= 0) break;
        int err = 0;
        if (f.number == 1) {
            if (!host_val_wt(&f, PTEL__WT_VARINT)) {
                err = ptel__host_wire(&c, &f, "protocol_version wire type");
            } else {
                have_version = true;
                version = f.value;
                version_at = (uint64_t)(f.start - payload);
            }
        } else if (f.number >= 2 && f.number <= 5) {
            if (!host_val_wt(&f, PTEL__WT_LEN))
                err = ptel__host_wire(&c, &f, "PluginTelemetry field wire type");
            else if (f.number == 3)
                nmetrics++;
            else if (f.number == 5)
                err = host_val_drops(&c, &f);
            else
                nspans++;
        } /* else unknown, including the reserved 10 (logs) and 11 (profiles) */
        if (err) {
            rc = err;
            break;
        }
    }
    if (rc) return host_val_wire(&c, rc);
    if (!have_version || version != PTEL_PROTOCOL_VERSION)
        return host_val_reject(&c, PTEL_REASON_VERSION, PTEL_E_VERSION, version_at, 1,
                               have_version ? "protocol_version is not 1"
                                            : "protocol_version missing");

    if (nspans) {
        inv->spans = ptel__arena_alloc(&inv->arena, (size_t)nspans * sizeof *inv->spans);
        if (!inv->spans) return PTEL_E_NOMEM;
        /* Zeroed at once: a memset per span is a `rep stos` each time. */
        memset(inv->spans, 0, (size_t)nspans * sizeof *inv->spans);
        rc = host_ids_init(inv, nspans);
        if (rc) return rc;
    }
    if (nmetrics) {
        inv->metrics = ptel__arena_alloc(&inv->arena, (size_t)nmetrics * sizeof *inv->metrics);
        if (!inv->metrics) return PTEL_E_NOMEM;
        memset(inv->metrics, 0, (size_t)nmetrics * sizeof *inv->metrics);
    }
    /* Pass 2: each span's own walk as it comes; slices of the metrics. */
    ptel__reader_init(&r, payload, payload, len);
    for (;;) {
        bool span = host_next_run(&r, 0x12, &d, &dn);
        if (span) {
            f.number = 2;
        } else {
            if (host_next(&r, &f, NULL) <= 0) break;
            span = f.number == 2 || f.number == 4;
            d = f.data;
            dn = f.len;
        }
        if (span) {
            host_span *s = &inv->spans[inv->span_count++];
            s->data = d;
            s->len = dn;
            s->open = f.number == 4;
            rc = host_span_pre(&c, s);
            if (rc) return host_val_wire(&c, rc);
            host_span_decide(inv, inv->span_count - 1);
        } else if (f.number == 3) {
            host_metric *m = &inv->metrics[inv->metric_count++];
            m->data = f.data;
            m->len = f.len;
        }
    }

    rc = host_spans_validate(&c);
    if (!rc) rc = ptel__host_metrics_validate(&c);
    if (rc) return host_val_wire(&c, rc);
    return 0;
}
