/* Host-side attribute handling: validation and canonical re-encoding of
 * untrusted KeyValue lists and AnyValues (bounded recursion, truncation,
 * depth cap, duplicate and reserved keys), and encoding of the trusted
 * ptel_attr values the host passes through the API. */
#include "host_internal.h"

#include <stdlib.h>

/* What walking one attribute value found. */
typedef struct host_vstat {
    int32_t verdict;    /* -1, or the reason that drops the whole attribute */
    uint32_t truncated; /* strings / byte arrays cut to the length limit */
    uint32_t deep;      /* arrays / kvlists replaced by an empty value */
    uint32_t unknown;   /* unknown fields removed */
    bool changed;
} host_vstat;

/* One KeyValue as received: the last occurrence of each field wins. */
typedef struct host_kvp {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *val;
    size_t val_len;
    bool has_key;
    bool has_val;
    bool odd; /* a repeated or unknown field: the re-encoding differs */
} host_kvp;

/* An entry of a top-level list, kept on the scratch stack. */
typedef struct host_entry {
    const uint8_t *at; /* the KeyValue in the payload */
    const uint8_t *key;
    size_t key_len;
    const uint8_t *val;
    size_t val_len;
    size_t val_size; /* canonical AnyValue size */
    host_vstat st;
    bool has_val;
    bool odd;
} host_entry;

/* Key and position, for sorting. */
typedef struct host_keyref {
    const uint8_t *key;
    size_t key_len;
    uint32_t idx;
    bool dup; /* the key of an earlier entry (host_attr_dups) */
} host_keyref;

static int host_attr_keycmp(const void *a, const void *b) {
    const host_keyref *x = a, *y = b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int d = n ? memcmp(x->key, y->key, n) : 0;
    if (d) return d;
    if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool host_attr_ref_eq(const host_keyref *a, const host_keyref *b) {
    return a->key_len == b->key_len && (!a->key_len || memcmp(a->key, b->key, a->key_len) == 0);
}

/* Lists up to this long are checked for repeated keys pair by pair; longer
 * ones by sorting, so that no work is quadratic. */
enum { HOST_ATTR_PAIRWISE = 16 };

/* Set `dup` on every entry of refs[0..m) (in position order) whose key an
 * earlier entry has: the first occurrence wins. Sorting may reorder refs.
 * Returns whether any key repeats. */
static bool host_attr_dups(host_keyref *refs, uint32_t m) {
    bool any = false;
    for (uint32_t j = 0; j < m; j++) refs[j].dup = false;
    if (m <= HOST_ATTR_PAIRWISE) {
        for (uint32_t j = 1; j < m; j++)
            for (uint32_t i = 0; i < j && !refs[j].dup; i++)
                if (host_attr_ref_eq(&refs[i], &refs[j])) refs[j].dup = any = true;
        return any;
    }
    qsort(refs, m, sizeof *refs, host_attr_keycmp);
    for (uint32_t j = 1; j < m; j++)
        if (host_attr_ref_eq(&refs[j - 1], &refs[j])) refs[j].dup = any = true;
    return any;
}

/* Reserve `size` bytes on the scratch stack, 16-byte aligned; returns the
 * offset or SIZE_MAX on allocation failure. */
static size_t host_attr_push(ptel_invocation *inv, size_t size) {
    size_t off = (inv->scratch.len + 15) & ~(size_t)15;
    if (off < inv->scratch.len || size > SIZE_MAX - off) return SIZE_MAX;
    if (ptel__buf_reserve(&inv->scratch, off + size - inv->scratch.len)) return SIZE_MAX;
    inv->scratch.len = off + size;
    return off;
}

static int host_attr_parse_kv(host_vctx *c, const uint8_t *kv, size_t n, host_kvp *out) {
    memset(out, 0, sizeof *out);
    ptel__reader r;
    ptel__reader_init(&r, c->base, kv, n);
    ptel__field f;
    int rc;
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        if (f.number == 1 || f.number == 2) {
            if (f.wire_type != PTEL__WT_LEN) return ptel__host_wire(c, &f, "KeyValue wire type");
            if (f.number == 1) {
                out->odd |= out->has_key;
                out->key = f.data;
                out->key_len = f.len;
                out->has_key = true;
            } else {
                out->odd |= out->has_val;
                out->val = f.data;
                out->val_len = f.len;
                out->has_val = true;
            }
        } else {
            out->odd = true; /* key_strindex (profiles only) or unknown */
        }
    }
    return rc;
}

static int host_val_any(host_vctx *c, host_w *w, const uint8_t *v, size_t n, uint32_t level,
                        uint32_t max_len, host_vstat *st);

/* Write `tag`, the length of the body `fn` writes, then the body: the body
 * is walked once to size it and once more to write (only when writing). */
static int host_val_nested(host_vctx *c, host_w *w, uint8_t tag, const uint8_t *v, size_t n,
                           uint32_t level, uint32_t max_len, host_vstat *st,
                           int (*fn)(host_vctx *, host_w *, const uint8_t *, size_t, uint32_t,
                                     uint32_t, host_vstat *)) {
    host_w cw = {NULL, 0};
    int rc = fn(c, &cw, v, n, level, max_len, st);
    if (rc || st->verdict >= 0) return rc;
    host_w_head(w, tag, cw.n);
    if (w->p) return fn(c, w, v, n, level, max_len, st);
    w->n += cw.n;
    return 0;
}

/* ArrayValue body: values = 1. */
static int host_val_array(host_vctx *c, host_w *w, const uint8_t *v, size_t n, uint32_t level,
                          uint32_t max_len, host_vstat *st) {
    ptel__reader r;
    ptel__reader_init(&r, c->base, v, n);
    ptel__field f;
    int rc;
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        if (f.number != 1) {
            st->unknown++;
            st->changed = true;
            continue;
        }
        if (f.wire_type != PTEL__WT_LEN) return ptel__host_wire(c, &f, "ArrayValue wire type");
        rc = host_val_nested(c, w, 0x0a, f.data, f.len, level, max_len, st, host_val_any);
        if (rc || st->verdict >= 0) return rc;
    }
    return rc;
}

/* KeyValueList body: values = 1, each a KeyValue. Keys must be non-empty,
 * valid UTF-8 and unique, else the whole attribute is dropped. */
static int host_val_kvlist(host_vctx *c, host_w *w, const uint8_t *v, size_t n, uint32_t level,
                           uint32_t max_len, host_vstat *st) {
    ptel_invocation *inv = c->inv;
    ptel__reader r;
    ptel__field f;
    int rc;
    host_kvp kv;
    /* Keys first (only when sizing; writing repeats a sized walk). */
    if (!w->p) {
        uint32_t count = 0;
        ptel__reader_init(&r, c->base, v, n);
        while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
            if (f.number != 1) continue;
            if (f.wire_type != PTEL__WT_LEN)
                return ptel__host_wire(c, &f, "KeyValueList wire type");
            count++;
        }
        if (rc) return rc;
        size_t mark = inv->scratch.len;
        size_t off = host_attr_push(inv, (size_t)count * sizeof(host_keyref));
        if (off == SIZE_MAX) return PTEL_E_NOMEM;
        uint32_t m = 0;
        ptel__reader_init(&r, c->base, v, n);
        while (st->verdict < 0 && (rc = host_next(&r, &f, &c->fatal)) > 0) {
            if (f.number != 1) continue;
            rc = host_attr_parse_kv(c, f.data, f.len, &kv);
            if (rc) break;
            if (!kv.key_len)
                st->verdict = PTEL_REASON_EMPTY_KEY;
            else if (!host_utf8((const char *)kv.key, kv.key_len))
                st->verdict = PTEL_REASON_UTF8;
            host_keyref ref = {kv.key, kv.key_len, m, false};
            ((host_keyref *)(inv->scratch.data + off))[m++] = ref;
        }
        if (!rc && st->verdict < 0 && m > 1 &&
            host_attr_dups((host_keyref *)(inv->scratch.data + off), m))
            st->verdict = PTEL_REASON_DUPLICATE_KEY;
        inv->scratch.len = mark;
        if (rc || st->verdict >= 0) return rc;
    }
    ptel__reader_init(&r, c->base, v, n);
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        if (f.number != 1) {
            st->unknown++;
            st->changed = true;
            continue;
        }
        if (f.wire_type != PTEL__WT_LEN) return ptel__host_wire(c, &f, "KeyValueList wire type");
        rc = host_attr_parse_kv(c, f.data, f.len, &kv);
        if (rc) return rc;
        if (kv.odd) {
            st->unknown++;
            st->changed = true;
        }
        /* KeyValue{key, value}: size the value first. */
        host_w cw = {NULL, 0};
        if (kv.has_val) {
            rc = host_val_any(c, &cw, kv.val, kv.val_len, level, max_len, st);
            if (rc || st->verdict >= 0) return rc;
        }
        size_t body =
            ptel__len_field_size(kv.key_len) + (kv.has_val ? ptel__len_field_size(cw.n) : 0);
        host_w_head(w, 0x0a, body);
        host_w_bytes(w, 0x0a, kv.key, kv.key_len);
        if (kv.has_val) {
            host_w_head(w, 0x12, cw.n);
            if (w->p) {
                rc = host_val_any(c, w, kv.val, kv.val_len, level, max_len, st);
                if (rc) return rc;
            } else {
                w->n += cw.n;
            }
        }
    }
    return rc;
}

/* One AnyValue body at nesting `level` (arrays/kvlists around it). Writes its
 * canonical form: the last oneof member, strings and bytes cut to `max_len`
 * (0 = no limit), arrays/kvlists past the depth limit replaced by nothing
 * (an empty value), profile-only and unknown fields removed. */
static int host_val_any(host_vctx *c, host_w *w, const uint8_t *v, size_t n, uint32_t level,
                        uint32_t max_len, host_vstat *st) {
    ptel__reader r;
    ptel__reader_init(&r, c->base, v, n);
    ptel__field f, last;
    uint32_t members = 0;
    int rc;
    memset(&last, 0, sizeof last);
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        uint32_t want;
        switch (f.number) {
        case 1:
        case 5:
        case 6:
        case 7:
            want = PTEL__WT_LEN;
            break;
        case 2:
        case 3:
            want = PTEL__WT_VARINT;
            break;
        case 4:
            want = PTEL__WT_I64;
            break;
        default: /* 8 = string_value_strindex (profiles only) and unknown fields */
            st->unknown++;
            st->changed = true;
            continue;
        }
        if (f.wire_type != want) return ptel__host_wire(c, &f, "AnyValue wire type");
        last = f;
        members++;
    }
    if (rc) return rc;
    if (members > 1) st->changed = true;
    if (!members) return 0;
    switch (last.number) {
    case 1:
    case 7: {
        size_t len = last.len;
        if (last.number == 1 && !host_utf8((const char *)last.data, len)) {
            st->verdict = PTEL_REASON_UTF8;
            return 0;
        }
        if (max_len && len > max_len) {
            size_t cut = last.number == 1 ? ptel__utf8_prefix((const char *)last.data, len, max_len)
                                          : max_len;
            if (cut < len) {
                len = cut;
                st->truncated++;
                st->changed = true;
            }
        }
        host_w_bytes(w, last.number == 1 ? 0x0a : 0x3a, last.data, len);
        return 0;
    }
    case 2:
        if (last.value > 1) st->changed = true;
        host_w_byte(w, 0x10);
        host_w_byte(w, last.value ? 1 : 0);
        return 0;
    case 3:
        host_w_byte(w, 0x18);
        host_w_varint(w, last.value);
        return 0;
    case 4:
        host_w_byte(w, 0x21);
        host_w_fixed64(w, last.value);
        return 0;
    default: /* 5 array, 6 kvlist */
        if (level >= c->depth_limit) {
            st->deep++;
            st->changed = true;
            return 0;
        }
        return host_val_nested(c, w, last.number == 5 ? 0x2a : 0x32, last.data, last.len, level + 1,
                               max_len, st, last.number == 5 ? host_val_array : host_val_kvlist);
    }
}

/* ---- top-level lists ----------------------------------------------------------- */

static bool host_attr_eq(const uint8_t *k, size_t n, const char *s, size_t sn) {
    return n == sn && (n == 0 || memcmp(k, s, n) == 0);
}

bool ptel__host_reserved_index(ptel_invocation *inv) {
    size_t exact = 0, prefixes = 0;
    inv->rk_min = SIZE_MAX;
    for (size_t i = 0; i < inv->reserved_count; i++) {
        ptel_str r = inv->reserved[i];
        if (!r.len) continue;
        if (r.ptr[r.len - 1] == '.')
            prefixes++;
        else
            exact++;
        if (r.len < inv->rk_min) inv->rk_min = r.len;
    }
    /* At most a quarter full: a key that is not there usually meets an
     * empty slot at once. */
    size_t cap = 8;
    while (cap < 4 * exact) cap *= 2;
    inv->rk_table = ptel__arena_alloc(&inv->arena, cap * sizeof *inv->rk_table);
    ptel_str *pre = prefixes ? ptel__arena_alloc(&inv->arena, prefixes * sizeof *pre) : NULL;
    if (!inv->rk_table || (prefixes && !pre)) return false;
    memset(inv->rk_table, 0, cap * sizeof *inv->rk_table);
    inv->rk_mask = cap - 1;
    inv->rk_head_mask = inv->rk_min >= 8 ? UINT64_MAX : ((uint64_t)1 << (8 * inv->rk_min)) - 1;
    inv->rk_bits = 0;
    inv->rk_prefixes = pre;
    inv->rk_prefix_count = 0;
    for (size_t i = 0; i < inv->reserved_count; i++) {
        ptel_str r = inv->reserved[i];
        if (!r.len) continue;
        const uint8_t *k = (const uint8_t *)r.ptr;
        inv->rk_bits |= (uint64_t)1 << host_rk_hash(inv->rk_head_mask, k, r.len);
        if (k[r.len - 1] == '.') {
            pre[inv->rk_prefix_count++] = r;
            continue;
        }
        bool ascii;
        uint64_t mix = host_key_mix(host_key_sig(k, r.len, &ascii), r.len);
        size_t j = (size_t)(mix >> 40) & inv->rk_mask;
        while (inv->rk_table[j].idx) j = (j + 1) & inv->rk_mask;
        inv->rk_table[j].mix = mix;
        inv->rk_table[j].idx = (uint32_t)i + 1;
    }
    return true;
}

bool ptel__host_reserved_prefix(const ptel_invocation *inv, const uint8_t *k, size_t n) {
    for (size_t i = 0; i < inv->rk_prefix_count; i++) {
        ptel_str r = inv->rk_prefixes[i];
        if (n >= r.len && memcmp(k, r.ptr, r.len) == 0) return true;
    }
    return false;
}

static host_entry *host_attr_entries(const host_vctx *c, const host_list *l) {
    return (host_entry *)(c->inv->scratch.data + l->off);
}

/* Silently removed entries (drop_key) use this verdict; it is not a reason. */
enum { HOST_VERDICT_SILENT = 1000 };

int ptel__host_list_scan(host_vctx *c, const uint8_t *msg, size_t len, const host_list_cfg *cfg,
                         host_list *l) {
    ptel_invocation *inv = c->inv;
    memset(l, 0, sizeof *l);
    l->cfg = cfg;
    l->mark = inv->scratch.len;
    ptel__reader r;
    ptel__reader_init(&r, c->base, msg, len);
    ptel__field f;
    int rc;
    /* Count the entries, then collect them in one contiguous array. */
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        if (f.number != cfg->field) continue;
        if (f.wire_type != PTEL__WT_LEN) return ptel__host_wire(c, &f, "attributes wire type");
        l->n++;
    }
    if (rc) return rc;
    if (!l->n) return 0;
    l->off = host_attr_push(inv, (size_t)l->n * sizeof(host_entry));
    if (l->off == SIZE_MAX) return PTEL_E_NOMEM;
    uint32_t k = 0;
    ptel__reader_init(&r, c->base, msg, len);
    while ((rc = host_next(&r, &f, &c->fatal)) > 0) {
        if (f.number != cfg->field) continue;
        host_kvp kv;
        rc = host_attr_parse_kv(c, f.data, f.len, &kv);
        if (rc) return rc;
        host_entry *e = host_attr_entries(c, l) + k++;
        memset(e, 0, sizeof *e);
        e->at = f.start;
        e->key = kv.key;
        e->key_len = kv.key_len;
        e->val = kv.val;
        e->val_len = kv.val_len;
        e->has_val = kv.has_val;
        e->odd = kv.odd;
        e->st.verdict = -1;
    }
    if (rc) return rc;
    /* Keys, then values. */
    for (k = 0; k < l->n; k++) {
        host_entry *e = host_attr_entries(c, l) + k;
        if (!e->key_len)
            e->st.verdict = PTEL_REASON_EMPTY_KEY;
        else if (!host_utf8((const char *)e->key, e->key_len))
            e->st.verdict = PTEL_REASON_UTF8;
        else if (cfg->drop_key.len &&
                 host_attr_eq(e->key, e->key_len, cfg->drop_key.ptr, cfg->drop_key.len))
            e->st.verdict = HOST_VERDICT_SILENT;
        else if (host_reserved(inv, e->key, e->key_len))
            e->st.verdict = PTEL_REASON_RESERVED_KEY;
        if (e->st.verdict >= 0 || !e->has_val) continue;
        host_w cw = {NULL, 0};
        host_vstat st = {-1, 0, 0, 0, false};
        const uint8_t *val = e->val;
        size_t val_len = e->val_len;
        rc = host_val_any(c, &cw, val, val_len, 0, cfg->max_len, &st);
        if (rc) return rc;
        e = host_attr_entries(c, l) + k; /* the scratch may have moved */
        e->st = st;
        e->val_size = cw.n;
    }
    /* Duplicate keys among the entries still alive: the first wins. */
    if (l->n > 1) {
        size_t mark = inv->scratch.len;
        size_t off = host_attr_push(inv, (size_t)l->n * sizeof(host_keyref));
        if (off == SIZE_MAX) return PTEL_E_NOMEM;
        host_keyref *refs = (host_keyref *)(inv->scratch.data + off);
        host_entry *es = host_attr_entries(c, l);
        uint32_t m = 0;
        for (uint32_t j = 0; j < l->n; j++)
            if (es[j].st.verdict < 0) refs[m++] = (host_keyref){es[j].key, es[j].key_len, j, false};
        if (host_attr_dups(refs, m))
            for (uint32_t j = 0; j < m; j++)
                if (refs[j].dup) es[refs[j].idx].st.verdict = PTEL_REASON_DUPLICATE_KEY;
        inv->scratch.len = mark;
    }
    /* The count limit, then sizes and reasons. */
    host_entry *es = host_attr_entries(c, l);
    for (k = 0; k < l->n; k++) {
        host_entry *e = &es[k];
        if (e->st.verdict < 0 && l->kept >= cfg->limit) e->st.verdict = PTEL_REASON_ATTRIBUTE_COUNT;
        if (e->st.verdict >= 0) {
            l->changed = true;
            if (e->st.verdict != HOST_VERDICT_SILENT) {
                l->dropped++;
                ptel__host_note(c, e->st.verdict, e->at, cfg->field);
            }
            continue;
        }
        l->kept++;
        if (e->st.changed || e->odd) l->changed = true;
        ptel__host_note_n(c, PTEL_REASON_STRING_LENGTH, e->st.truncated, e->at, cfg->field);
        ptel__host_note_n(c, PTEL_REASON_DEPTH, e->st.deep, e->at, cfg->field);
        ptel__host_note_n(c, PTEL_REASON_UNKNOWN_FIELD, e->st.unknown + (e->odd ? 1u : 0u), e->at,
                          cfg->field);
        size_t body =
            ptel__len_field_size(e->key_len) + (e->has_val ? ptel__len_field_size(e->val_size) : 0);
        l->size += ptel__len_field_size(body);
    }
    if (l->changed) c->changed = true;
    return 0;
}

/* The KeyValue body of a kept entry. */
static void host_attr_entry_write(host_vctx *c, host_w *w, const host_entry *e, uint32_t max_len) {
    host_w_bytes(w, 0x0a, e->key, e->key_len);
    if (!e->has_val) return;
    host_w_head(w, 0x12, e->val_size);
    if (!w->p) {
        w->n += e->val_size;
        return;
    }
    host_vstat st = {-1, 0, 0, 0, false};
    /* Already validated: no wire error and no verdict can arise. */
    (void)host_val_any(c, w, e->val, e->val_len, 0, max_len, &st);
}

static size_t host_attr_entry_body(const host_entry *e) {
    return ptel__len_field_size(e->key_len) + (e->has_val ? ptel__len_field_size(e->val_size) : 0);
}

void ptel__host_list_write(host_vctx *c, host_w *w, const host_list *l, uint8_t tag) {
    for (uint32_t k = 0; k < l->n; k++) {
        /* Re-read the entry each time: writing values may grow the scratch. */
        host_entry e = host_attr_entries(c, l)[k];
        if (e.st.verdict >= 0) continue;
        host_w_head(w, tag, host_attr_entry_body(&e));
        host_attr_entry_write(c, w, &e, l->cfg->max_len);
    }
}

int ptel__host_list_set(host_vctx *c, const host_list *l, const uint8_t **out, size_t *out_len) {
    ptel_invocation *inv = c->inv;
    *out = NULL;
    *out_len = 0;
    if (!l->kept) return 0;
    size_t mark = inv->scratch.len;
    size_t off = host_attr_push(inv, (size_t)l->kept * sizeof(host_keyref));
    if (off == SIZE_MAX) return PTEL_E_NOMEM;
    host_keyref *refs = (host_keyref *)(inv->scratch.data + off);
    const host_entry *es = host_attr_entries(c, l);
    uint32_t m = 0;
    size_t total = 0;
    for (uint32_t k = 0; k < l->n; k++) {
        if (es[k].st.verdict >= 0) continue;
        refs[m++] = (host_keyref){es[k].key, es[k].key_len, k, false};
        size_t body = host_attr_entry_body(&es[k]);
        total += ptel__varint_size(body) + body;
    }
    if (m > 1) qsort(refs, m, sizeof *refs, host_attr_keycmp);
    uint8_t *buf = ptel__arena_alloc(&inv->arena, total);
    if (!buf) {
        inv->scratch.len = mark;
        return PTEL_E_NOMEM;
    }
    host_w w = {buf, 0};
    for (uint32_t k = 0; k < m; k++) {
        /* Copy the entry and its position: writing may grow the scratch. */
        uint32_t idx = ((host_keyref *)(inv->scratch.data + off))[k].idx;
        host_entry e = host_attr_entries(c, l)[idx];
        host_w_varint(&w, host_attr_entry_body(&e));
        host_attr_entry_write(c, &w, &e, l->cfg->max_len);
    }
    inv->scratch.len = mark;
    *out = buf;
    *out_len = total;
    return 0;
}

void ptel__host_list_pop(host_vctx *c, const host_list *l) { c->inv->scratch.len = l->mark; }

const uint8_t *ptel__host_overflow_set(size_t *len) {
    static const uint8_t set[27] = {0x1a, 0x0a, 0x14, 'o', 't', 'e',  'l',  '.',  'm',
                                    'e',  't',  'r',  'i', 'c', '.',  'o',  'v',  'e',
                                    'r',  'f',  'l',  'o', 'w', 0x12, 0x02, 0x10, 0x01};
    *len = sizeof set;
    return set;
}

/* ---- trusted attributes (ptel_attr) --------------------------------------------- */

static int host_attr_check_value(const ptel_value *v, uint32_t depth, ptel_diag *diag) {
    switch (v->type) {
    case PTEL_VALUE_EMPTY:
    case PTEL_VALUE_BOOL:
    case PTEL_VALUE_INT:
    case PTEL_VALUE_DOUBLE:
        return 0;
    case PTEL_VALUE_STRING:
    case PTEL_VALUE_BYTES:
        if (!v->str.ptr && v->str.len)
            return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL string");
        if (v->type == PTEL_VALUE_STRING && !host_utf8(v->str.ptr, v->str.len))
            return ptel__fail(diag, PTEL_E_UTF8, 0, 0, "attribute value is not UTF-8");
        return 0;
    case PTEL_VALUE_ARRAY:
    case PTEL_VALUE_KVLIST:
        if (depth >= PTEL_HOST_MAX_DEPTH)
            return ptel__fail(diag, PTEL_E_DEPTH, 0, 0, "attribute value nested too deep");
        if (v->count &&
            !(v->type == PTEL_VALUE_ARRAY ? (const void *)v->array : (const void *)v->kvlist))
            return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL array");
        for (uint32_t k = 0; k < v->count; k++) {
            int rc;
            if (v->type == PTEL_VALUE_ARRAY) {
                rc = host_attr_check_value(&v->array[k], depth + 1, diag);
            } else {
                const ptel_attr *a = &v->kvlist[k];
                if (!a->key.len || !a->key.ptr)
                    return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "empty key");
                if (!host_utf8(a->key.ptr, a->key.len))
                    return ptel__fail(diag, PTEL_E_UTF8, 0, 0, "key is not UTF-8");
                rc = host_attr_check_value(&a->value, depth + 1, diag);
            }
            if (rc) return rc;
        }
        return 0;
    default:
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "unknown value type");
    }
}

int ptel__host_attrs_check(const ptel_attr *attrs, size_t count, ptel_diag *diag) {
    if (count && !attrs) return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL attributes");
    for (size_t k = 0; k < count; k++) {
        const ptel_attr *a = &attrs[k];
        if (!a->key.len || !a->key.ptr)
            return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "empty key");
        if (!host_utf8(a->key.ptr, a->key.len))
            return ptel__fail(diag, PTEL_E_UTF8, 0, 0, "key is not UTF-8");
        int rc = host_attr_check_value(&a->value, 0, diag);
        if (rc) return rc;
    }
    return 0;
}

static void host_attr_kv(host_w *w, const ptel_attr *a);

/* AnyValue body of a checked value. */
static void host_attr_value(host_w *w, const ptel_value *v) {
    switch (v->type) {
    case PTEL_VALUE_STRING:
        host_w_bytes(w, 0x0a, v->str.ptr, v->str.len);
        return;
    case PTEL_VALUE_BOOL:
        host_w_byte(w, 0x10);
        host_w_byte(w, v->i ? 1 : 0);
        return;
    case PTEL_VALUE_INT:
        host_w_byte(w, 0x18);
        host_w_varint(w, (uint64_t)v->i);
        return;
    case PTEL_VALUE_DOUBLE:
        host_w_byte(w, 0x21);
        host_w_fixed64(w, ptel__double_bits(v->d));
        return;
    case PTEL_VALUE_BYTES:
        host_w_bytes(w, 0x3a, v->str.ptr, v->str.len);
        return;
    case PTEL_VALUE_ARRAY:
    case PTEL_VALUE_KVLIST: {
        /* ArrayValue / KeyValueList: size, then write. */
        host_w cw = {NULL, 0};
        for (int pass = 0; pass < 2; pass++) {
            host_w *x = pass ? w : &cw;
            if (pass) host_w_head(w, v->type == PTEL_VALUE_ARRAY ? 0x2a : 0x32, cw.n);
            for (uint32_t k = 0; k < v->count; k++) {
                host_w ew = {NULL, 0};
                if (v->type == PTEL_VALUE_ARRAY)
                    host_attr_value(&ew, &v->array[k]);
                else
                    host_attr_kv(&ew, &v->kvlist[k]);
                host_w_head(x, 0x0a, ew.n);
                if (x->p) {
                    if (v->type == PTEL_VALUE_ARRAY)
                        host_attr_value(x, &v->array[k]);
                    else
                        host_attr_kv(x, &v->kvlist[k]);
                } else {
                    x->n += ew.n;
                }
            }
        }
        return;
    }
    default:
        return; /* empty */
    }
}

/* KeyValue body. */
static void host_attr_kv(host_w *w, const ptel_attr *a) {
    host_w_bytes(w, 0x0a, a->key.ptr, a->key.len);
    host_w vw = {NULL, 0};
    host_attr_value(&vw, &a->value);
    host_w_head(w, 0x12, vw.n);
    if (w->p)
        host_attr_value(w, &a->value);
    else
        w->n += vw.n;
}

void ptel__host_attrs_write(host_w *w, uint8_t tag, const ptel_attr *attrs, size_t count) {
    for (size_t k = 0; k < count; k++) {
        host_w cw = {NULL, 0};
        host_attr_kv(&cw, &attrs[k]);
        host_w_head(w, tag, cw.n);
        if (w->p)
            host_attr_kv(w, &attrs[k]);
        else
            w->n += cw.n;
    }
}

void ptel__host_attr_string(host_w *w, uint8_t tag, const char *key, size_t key_len,
                            const char *val, size_t val_len) {
    size_t value = ptel__len_field_size(val_len);
    size_t body = ptel__len_field_size(key_len) + ptel__len_field_size(value);
    host_w_head(w, tag, body);
    host_w_bytes(w, 0x0a, key, key_len);
    host_w_head(w, 0x12, value);
    host_w_bytes(w, 0x0a, val, val_len);
}
