/* Attribute encoding for the recorder: ptel_attr → OTLP KeyValue bytes, with
 * OpenTelemetry's limits (value length, nesting depth, count) applied. */
#include "recorder_internal.h"

int ptel__rec_bytes_reserve(ptel_recorder *rec, rec_bytes *b, size_t extra) {
    if (PTEL__LIKELY(b->cap - b->len >= extra)) return 0;
    if (extra > UINT32_MAX / 2 - b->len) return PTEL_E_LIMIT;
    uint32_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra) cap *= 2;
    uint8_t *p = ptel__arena_grow(&rec->arena, b->p, 1, b->len, cap);
    if (!p) return PTEL_E_NOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Bytes of a string value kept under the length limit (whole code points). */
static size_t attr_str_keep(const ptel_recorder *rec, const ptel_value *v) {
    size_t n = v->str.len, max = rec->limits.attribute_value_length;
    if (n <= max) return n;
    if (v->type == PTEL_VALUE_BYTES) return max;
    return ptel__utf8_prefix(v->str.ptr, n, max);
}

/* A container nested deeper than the limit is recorded as an empty value. */
static bool attr_too_deep(const ptel_recorder *rec, const ptel_value *v, uint32_t depth) {
    return (v->type == PTEL_VALUE_ARRAY || v->type == PTEL_VALUE_KVLIST) &&
           depth >= rec->limits.attribute_depth;
}

/* Most attributes are scalars: the size, write and check functions below
 * handle them inline and leave arrays and maps to out-of-line recursive
 * walks (attr_nested_*), kept out of line so that the scalar cases inline. */
#if defined(__GNUC__)
#    define ATTR_NESTED __attribute__((noinline))
#else
#    define ATTR_NESTED
#endif

static size_t attr_nested_size(const ptel_recorder *rec, const ptel_value *v, uint32_t depth);

static inline size_t attr_value_size(const ptel_recorder *rec, const ptel_value *v,
                                     uint32_t depth) {
    switch (v->type) {
    case PTEL_VALUE_STRING:
    case PTEL_VALUE_BYTES:
        return ptel__len_field_size(attr_str_keep(rec, v));
    case PTEL_VALUE_BOOL:
        return 2;
    case PTEL_VALUE_INT:
        return 1 + ptel__varint_size((uint64_t)v->i);
    case PTEL_VALUE_DOUBLE:
        return 9;
    case PTEL_VALUE_ARRAY:
    case PTEL_VALUE_KVLIST:
        return attr_nested_size(rec, v, depth);
    default:
        return 0;
    }
}

static size_t attr_kv_size_at(const ptel_recorder *rec, const ptel_attr *a, uint32_t depth) {
    return ptel__len_field_size(a->key.len) +
           ptel__len_field_size(attr_value_size(rec, &a->value, depth));
}

static ATTR_NESTED size_t attr_nested_size(const ptel_recorder *rec, const ptel_value *v,
                                           uint32_t depth) {
    if (attr_too_deep(rec, v, depth)) return 0;
    size_t body = 0;
    for (uint32_t k = 0; k < v->count; k++)
        body += ptel__len_field_size(v->type == PTEL_VALUE_ARRAY
                                         ? attr_value_size(rec, &v->array[k], depth + 1)
                                         : attr_kv_size_at(rec, &v->kvlist[k], depth + 1));
    return ptel__len_field_size(body);
}

static inline rec_kv_sizes attr_kv_sizes(const ptel_recorder *rec, const ptel_attr *a) {
    rec_kv_sizes z;
    z.value = attr_value_size(rec, &a->value, 0);
    z.kv = ptel__len_field_size(a->key.len) + ptel__len_field_size(z.value);
    return z;
}

rec_kv_sizes ptel__rec_kv_sizes(const ptel_recorder *rec, const ptel_attr *a) {
    return attr_kv_sizes(rec, a);
}

/* A length-delimited field; short payloads (keys, most values) without a
 * call to memcpy. */
static inline uint8_t *attr_put_len(uint8_t *p, uint8_t tag, const char *data, size_t n) {
    *p++ = tag;
    p = ptel__put_varint(p, n);
    /* Two overlapping moves of 8 (or 4) bytes cover 8..16 (or 4..7) bytes. */
    if (n >= 8 && n <= 16) {
        memcpy(p, data, 8);
        memcpy(p + n - 8, data + n - 8, 8);
    } else if (n >= 4 && n < 8) {
        memcpy(p, data, 4);
        memcpy(p + n - 4, data + n - 4, 4);
    } else if (n < 4) {
        for (size_t k = 0; k < n; k++) p[k] = (uint8_t)data[k];
    } else {
        memcpy(p, data, n);
    }
    return p + n;
}

static uint8_t *attr_nested_write(const ptel_recorder *rec, uint8_t *p, const ptel_value *v,
                                  uint32_t depth);

static inline uint8_t *attr_value_write(const ptel_recorder *rec, uint8_t *p, const ptel_value *v,
                                        uint32_t depth) {
    switch (v->type) {
    case PTEL_VALUE_STRING:
        return attr_put_len(p, 0x0a, v->str.ptr, attr_str_keep(rec, v));
    case PTEL_VALUE_BYTES:
        return attr_put_len(p, 0x3a, v->str.ptr, attr_str_keep(rec, v));
    case PTEL_VALUE_BOOL:
        *p++ = 0x10;
        *p++ = v->i != 0;
        return p;
    case PTEL_VALUE_INT:
        *p++ = 0x18;
        return ptel__put_varint(p, (uint64_t)v->i);
    case PTEL_VALUE_DOUBLE:
        *p++ = 0x21;
        return ptel__put_fixed64(p, ptel__double_bits(v->d));
    case PTEL_VALUE_ARRAY:
    case PTEL_VALUE_KVLIST:
        return attr_nested_write(rec, p, v, depth);
    default:
        return p;
    }
}

static uint8_t *attr_kv_write_sized(const ptel_recorder *rec, uint8_t *p, const ptel_attr *a,
                                    uint32_t depth, size_t value_size) {
    p = attr_put_len(p, 0x0a, a->key.ptr, a->key.len);
    *p++ = 0x12;
    p = ptel__put_varint(p, value_size);
    return attr_value_write(rec, p, &a->value, depth);
}

static ATTR_NESTED uint8_t *attr_nested_write(const ptel_recorder *rec, uint8_t *p,
                                              const ptel_value *v, uint32_t depth) {
    if (attr_too_deep(rec, v, depth)) return p;
    bool array = v->type == PTEL_VALUE_ARRAY;
    size_t body = 0;
    for (uint32_t k = 0; k < v->count; k++)
        body += ptel__len_field_size(array ? attr_value_size(rec, &v->array[k], depth + 1)
                                           : attr_kv_size_at(rec, &v->kvlist[k], depth + 1));
    *p++ = array ? 0x2a : 0x32;
    p = ptel__put_varint(p, body);
    for (uint32_t k = 0; k < v->count; k++) {
        *p++ = 0x0a;
        if (array) {
            p = ptel__put_varint(p, attr_value_size(rec, &v->array[k], depth + 1));
            p = attr_value_write(rec, p, &v->array[k], depth + 1);
        } else {
            const ptel_attr *e = &v->kvlist[k];
            size_t vs = attr_value_size(rec, &e->value, depth + 1);
            p = ptel__put_varint(p, ptel__len_field_size(e->key.len) + ptel__len_field_size(vs));
            p = attr_kv_write_sized(rec, p, e, depth + 1, vs);
        }
    }
    return p;
}

static inline uint8_t *attr_entry_write(const ptel_recorder *rec, uint8_t *p, uint8_t tag,
                                        const ptel_attr *a, rec_kv_sizes sizes) {
    *p++ = tag;
    p = ptel__put_varint(p, sizes.kv);
    return attr_kv_write_sized(rec, p, a, 0, sizes.value);
}

uint8_t *ptel__rec_attr_write(const ptel_recorder *rec, uint8_t *p, uint8_t tag, const ptel_attr *a,
                              rec_kv_sizes sizes) {
    return attr_entry_write(rec, p, tag, a, sizes);
}

static int attr_nested_check(const ptel_recorder *rec, const ptel_value *v, uint32_t depth);

/* UTF-8 check with short ASCII strings (most keys and values) decided by two
 * overlapping loads, without the call. */
static inline bool attr_utf8(const char *str, size_t n) {
    if (n >= 8 && n <= 16) {
        uint64_t a, b;
        memcpy(&a, str, 8);
        memcpy(&b, str + n - 8, 8);
        if (!((a | b) & 0x8080808080808080ull)) return true;
    } else if (n >= 4 && n < 8) {
        uint32_t c, d;
        memcpy(&c, str, 4);
        memcpy(&d, str + n - 4, 4);
        if (!((c | d) & 0x80808080u)) return true;
    }
    return ptel__utf8_valid(str, n);
}

static inline int attr_check_key(const ptel_str *key) {
    if (key->len == 0 || !key->ptr) return PTEL_E_INVALID_ARGUMENT;
    return attr_utf8(key->ptr, key->len) ? 0 : PTEL_E_UTF8;
}

static inline int attr_check_value(const ptel_recorder *rec, const ptel_value *v, uint32_t depth) {
    switch (v->type) {
    case PTEL_VALUE_EMPTY:
    case PTEL_VALUE_BOOL:
    case PTEL_VALUE_INT:
    case PTEL_VALUE_DOUBLE:
        return 0;
    case PTEL_VALUE_STRING:
        if (v->str.len && !v->str.ptr) return PTEL_E_INVALID_ARGUMENT;
        /* Validate only what is kept: truncation never splits a code point. */
        return attr_utf8(v->str.ptr, v->str.len) ? 0 : PTEL_E_UTF8;
    case PTEL_VALUE_BYTES:
        return v->str.len && !v->str.ptr ? PTEL_E_INVALID_ARGUMENT : 0;
    case PTEL_VALUE_ARRAY:
    case PTEL_VALUE_KVLIST:
        return attr_nested_check(rec, v, depth);
    default:
        return PTEL_E_INVALID_ARGUMENT;
    }
}

static ATTR_NESTED int attr_nested_check(const ptel_recorder *rec, const ptel_value *v,
                                         uint32_t depth) {
    if (attr_too_deep(rec, v, depth)) return 0;
    int rc;
    if (v->type == PTEL_VALUE_ARRAY) {
        if (v->count && !v->array) return PTEL_E_INVALID_ARGUMENT;
        for (uint32_t k = 0; k < v->count; k++)
            if ((rc = attr_check_value(rec, &v->array[k], depth + 1))) return rc;
        return 0;
    }
    if (v->count && !v->kvlist) return PTEL_E_INVALID_ARGUMENT;
    for (uint32_t k = 0; k < v->count; k++) {
        const ptel_attr *e = &v->kvlist[k];
        if ((rc = attr_check_key(&e->key))) return rc;
        /* Map keys must be unique (OpenTelemetry common spec). */
        for (uint32_t j = 0; j < k; j++)
            if (v->kvlist[j].key.len == e->key.len &&
                memcmp(v->kvlist[j].key.ptr, e->key.ptr, e->key.len) == 0)
                return PTEL_E_INVALID_ARGUMENT;
        if ((rc = attr_check_value(rec, &e->value, depth + 1))) return rc;
    }
    return 0;
}

static inline int attr_check(const ptel_recorder *rec, const ptel_attr *a) {
    int rc = attr_check_key(&a->key);
    return rc ? rc : attr_check_value(rec, &a->value, 0);
}

int ptel__rec_attr_check(const ptel_recorder *rec, const ptel_attr *a) {
    return attr_check(rec, a);
}

static rec_attr_slot *attr_find(rec_attrs *set, const char *key, size_t len) {
    for (uint32_t k = 0; k < set->count; k++) {
        rec_attr_slot *s = &set->slots[k];
        if (s->key_len == len && memcmp(set->bytes.p + s->key_off, key, len) == 0) return s;
    }
    return NULL;
}

/* The bytes of a new entry in the common case: a key and a scalar or a
 * string kept whole, all length prefixes one byte. 0 when the general
 * writer is needed. Same bytes as attr_entry_write. */
static inline size_t attr_short_value(const ptel_recorder *rec, const ptel_value *v) {
    /* STRING, BOOL, INT, DOUBLE; a string short enough to be kept whole. */
    if (v->type < PTEL_VALUE_STRING || v->type > PTEL_VALUE_DOUBLE) return 0;
    if (v->type == PTEL_VALUE_STRING &&
        (v->str.len >= 120 || v->str.len > rec->limits.attribute_value_length))
        return 0;
    return attr_value_size(rec, v, 0);
}

static inline void attr_short_write(uint8_t *p, uint8_t tag, const ptel_attr *a, size_t kv,
                                    size_t vn) {
    const ptel_value *v = &a->value;
    p[0] = tag;
    p[1] = (uint8_t)kv;
    p = attr_put_len(p + 2, 0x0a, a->key.ptr, a->key.len);
    p[0] = 0x12;
    p[1] = (uint8_t)vn;
    p += 2;
    switch (v->type) {
    case PTEL_VALUE_BOOL:
        p[0] = 0x10;
        p[1] = v->i != 0;
        break;
    case PTEL_VALUE_INT:
        *p++ = 0x18;
        ptel__put_varint(p, (uint64_t)v->i);
        break;
    case PTEL_VALUE_DOUBLE:
        *p++ = 0x21;
        ptel__put_fixed64(p, ptel__double_bits(v->d));
        break;
    default: /* PTEL_VALUE_STRING */
        attr_put_len(p, 0x0a, v->str.ptr, v->str.len);
        break;
    }
}

static int attr_add_one(ptel_recorder *rec, rec_attrs *set, uint8_t tag, const ptel_attr *a,
                        uint32_t max_count) {
    rec_attr_slot *old = attr_find(set, a->key.ptr, a->key.len);
    if (!old) {
        if (set->count >= max_count) {
            set->dropped++;
            return PTEL_E_LIMIT;
        }
        if (set->count == set->cap) {
            uint32_t cap = set->cap ? set->cap * 2 : 8;
            rec_attr_slot *slots =
                ptel__arena_grow(&rec->arena, set->slots, sizeof *slots, set->count, cap);
            if (!slots) return PTEL_E_NOMEM;
            set->slots = slots;
            set->cap = cap;
        }
    }
    size_t vn = attr_short_value(rec, &a->value);
    size_t kv = a->key.len < 124 ? 4 + a->key.len + vn : 128; /* key field + value field */
    rec_kv_sizes sizes;
    size_t entry, key_off;
    if (vn && kv < 128) {
        sizes.kv = kv;
        sizes.value = vn;
        entry = 2 + kv;
        key_off = 4;
    } else {
        sizes = attr_kv_sizes(rec, a);
        entry = ptel__len_field_size(sizes.kv);
        /* tag, KeyValue length prefix, key tag, key length prefix. */
        key_off = 2 + ptel__varint_size(sizes.kv) + ptel__varint_size(a->key.len);
        vn = 0;
    }
    if (old) {
        /* Overwrite in place: the key keeps its first position. */
        size_t old_len = old->len;
        if (entry > old_len) {
            int rc = ptel__rec_bytes_reserve(rec, &set->bytes, entry - old_len);
            if (rc) return rc;
        }
        uint8_t *at = set->bytes.p + old->off;
        size_t tail = set->bytes.len - (old->off + old_len);
        memmove(at + entry, at + old_len, tail);
        attr_entry_write(rec, at, tag, a, sizes);
        int64_t delta = (int64_t)entry - (int64_t)old_len;
        set->bytes.len = (uint32_t)((int64_t)set->bytes.len + delta);
        old->len = (uint32_t)entry;
        old->key_off = old->off + (uint32_t)key_off;
        for (rec_attr_slot *s = old + 1; s < set->slots + set->count; s++) {
            s->off = (uint32_t)((int64_t)s->off + delta);
            s->key_off = (uint32_t)((int64_t)s->key_off + delta);
        }
        return 0;
    }
    if (set->bytes.cap - set->bytes.len < entry) {
        int rc = ptel__rec_bytes_reserve(rec, &set->bytes, entry);
        if (rc) return rc;
    }
    rec_attr_slot *s = &set->slots[set->count++];
    s->off = set->bytes.len;
    s->len = (uint32_t)entry;
    s->key_off = s->off + (uint32_t)key_off;
    s->key_len = (uint32_t)a->key.len;
    uint8_t *p = set->bytes.p + set->bytes.len;
    if (vn)
        attr_short_write(p, tag, a, kv, vn);
    else
        attr_entry_write(rec, p, tag, a, sizes);
    set->bytes.len += (uint32_t)entry;
    return 0;
}

int ptel__rec_attrs_add(ptel_recorder *rec, rec_attrs *set, uint8_t tag, const ptel_attr *attrs,
                        size_t count, uint32_t max_count) {
    int result = 0;
    for (size_t k = 0; k < count; k++) {
        int rc = attr_check(rec, &attrs[k]);
        if (rc) {
            set->dropped++;
            result = rc;
            continue;
        }
        rc = attr_add_one(rec, set, tag, &attrs[k], max_count);
        if (rc == PTEL_E_NOMEM) return rc;
        if (rc && !result) result = rc;
    }
    return result;
}

void ptel__rec_attrs_clear(rec_attrs *set) {
    set->bytes.len = 0;
    set->count = 0;
    set->dropped = 0;
}
