/* Helpers for the host tests: a tiny protobuf writer to build
 * PluginTelemetry payloads by hand, a reader that follows field paths in
 * export output, and a deterministic invocation fixture. */
#ifndef PTEL_TEST_HOST_UTIL_H
#define PTEL_TEST_HOST_UTIL_H

#include "internal.h"
#include "test.h"

#include <stdlib.h>

/* ---- writer --------------------------------------------------------------------------- */

typedef struct pb {
    uint8_t *b;
    size_t n;
    size_t cap;
} pb;

static inline void pb_init(pb *p) {
    p->cap = 256;
    p->n = 0;
    p->b = malloc(p->cap);
}

static inline void pb_free(pb *p) {
    free(p->b);
    p->b = NULL;
    p->n = p->cap = 0;
}

static inline void pb_raw(pb *p, const void *d, size_t n) {
    if (p->n + n > p->cap) {
        while (p->n + n > p->cap) p->cap *= 2;
        p->b = realloc(p->b, p->cap);
    }
    if (n) memcpy(p->b + p->n, d, n);
    p->n += n;
}

static inline void pb_varint(pb *p, uint64_t v) {
    uint8_t tmp[10];
    size_t n = (size_t)(ptel__put_varint(tmp, v) - tmp);
    pb_raw(p, tmp, n);
}

static inline void pb_tag(pb *p, uint32_t field, uint32_t wt) {
    pb_varint(p, (uint64_t)field << 3 | wt);
}

static inline void pb_uint(pb *p, uint32_t field, uint64_t v) {
    pb_tag(p, field, 0);
    pb_varint(p, v);
}

static inline void pb_fixed64(pb *p, uint32_t field, uint64_t v) {
    uint8_t tmp[8];
    ptel__put_fixed64(tmp, v);
    pb_tag(p, field, 1);
    pb_raw(p, tmp, 8);
}

static inline void pb_double(pb *p, uint32_t field, double d) {
    pb_fixed64(p, field, ptel__double_bits(d));
}

static inline void pb_fixed32(pb *p, uint32_t field, uint32_t v) {
    uint8_t tmp[4];
    ptel__put_fixed32(tmp, v);
    pb_tag(p, field, 5);
    pb_raw(p, tmp, 4);
}

static inline void pb_bytes(pb *p, uint32_t field, const void *d, size_t n) {
    pb_tag(p, field, 2);
    pb_varint(p, n);
    pb_raw(p, d, n);
}

static inline void pb_str(pb *p, uint32_t field, const char *s) {
    pb_bytes(p, field, s, strlen(s));
}

/* Append `m` as a nested message field, then free it. */
static inline void pb_msg(pb *p, uint32_t field, pb *m) {
    pb_bytes(p, field, m->b, m->n);
    pb_free(m);
}

/* KeyValue{key, AnyValue{string_value}} as field `field`. */
static inline void pb_attr_str(pb *p, uint32_t field, const char *key, const char *val) {
    pb kv, v;
    pb_init(&kv);
    pb_init(&v);
    pb_str(&kv, 1, key);
    pb_str(&v, 1, val);
    pb_msg(&kv, 2, &v);
    pb_msg(p, field, &kv);
}

static inline void pb_attr_int(pb *p, uint32_t field, const char *key, int64_t val) {
    pb kv, v;
    pb_init(&kv);
    pb_init(&v);
    pb_str(&kv, 1, key);
    pb_uint(&v, 3, (uint64_t)val);
    pb_msg(&kv, 2, &v);
    pb_msg(p, field, &kv);
}

/* ---- reader ------------------------------------------------------------------------- */

/* Follow a path of field numbers (0-terminated), taking the `nth` (0-based)
 * occurrence at the last step and the first at every other. Returns true
 * and the field when found. */
static inline bool pb_find(const uint8_t *data, size_t len, const uint32_t *path, uint32_t nth,
                           ptel__field *out) {
    ptel__reader r;
    ptel__reader_init(&r, data, data, len);
    ptel__field f;
    uint32_t seen = 0;
    while (ptel__reader_next(&r, &f, NULL) > 0) {
        if (f.number != path[0]) continue;
        if (path[1]) {
            if (f.wire_type != 2) return false;
            return pb_find(f.data, f.len, path + 1, nth, out);
        }
        if (seen++ == nth) {
            *out = f;
            return true;
        }
    }
    return false;
}

/* Count the occurrences of the last field of a path. */
static inline uint32_t pb_count(const uint8_t *data, size_t len, const uint32_t *path) {
    ptel__field f;
    uint32_t n = 0;
    while (pb_find(data, len, path, n, &f)) n++;
    return n;
}

/* True when `needle` occurs in `hay`. */
static inline bool mem_contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m) {
    if (m > n) return false;
    for (size_t k = 0; k + m <= n; k++)
        if (memcmp(hay + k, needle, m) == 0) return true;
    return false;
}

/* Every LEN field that parses as a message recursively is well-formed:
 * walk the whole tree (to `depth`) and return false on any reader error. */
static inline bool pb_well_formed(const uint8_t *data, size_t len) {
    ptel__reader r;
    ptel__reader_init(&r, data, data, len);
    ptel__field f;
    int rc;
    while ((rc = ptel__reader_next(&r, &f, NULL)) > 0) {
    }
    return rc == 0;
}

/* ---- fixture ------------------------------------------------------------------------ */

#define FX_T0 1000000000000ull /* realtime at begin: 1000 s after the epoch */

typedef struct fx {
    uint64_t mono;
    uint64_t real;
    uint8_t next_id;
} fx;

static inline uint64_t fx_mono(void *ud) { return ((fx *)ud)->mono; }
static inline uint64_t fx_real(void *ud) { return ((fx *)ud)->real; }
static inline void fx_fill(void *ud, uint8_t *out, size_t n) {
    fx *f = ud;
    for (size_t k = 0; k < n; k++) out[k] = ++f->next_id;
}

static const uint8_t FX_TRACE[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t FX_PARENT[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t FX_INV[8] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x01};

/* Default options: parent FX_TRACE/FX_PARENT sampled, invocation span id
 * FX_INV, start FX_T0, plugin "demo" 1.0.0 hook "tool_pre_invoke". */
static inline void fx_options(ptel_invocation_options *o, fx *f, const ptel_host_policy *policy) {
    memset(f, 0, sizeof *f);
    f->real = FX_T0;
    f->mono = 5000;
    ptel_invocation_options_init(o);
    memcpy(o->parent.trace_id, FX_TRACE, 16);
    memcpy(o->parent.span_id, FX_PARENT, 8);
    o->parent.trace_flags = 1;
    o->parent.is_remote = true;
    memcpy(o->span_id, FX_INV, 8);
    o->start_unix_nano = FX_T0;
    o->plugin_name = (ptel_str){"demo", 4};
    o->plugin_version = (ptel_str){"1.0.0", 5};
    o->hook = (ptel_str){"tool_pre_invoke", 15};
    o->clock.monotonic_ns = fx_mono;
    o->clock.realtime_ns = fx_real;
    o->clock.ud = f;
    o->ids.fill = fx_fill;
    o->ids.ud = f;
    o->policy = policy;
}

/* Begin with the defaults; the invocation lasts 1 ms (mono 5000 -> 1005000). */
static inline ptel_invocation *fx_begin(fx *f, const ptel_host_policy *policy) {
    ptel_invocation_options o;
    fx_options(&o, f, policy);
    ptel_invocation *inv = NULL;
    int rc = ptel_invocation_begin(&inv, &o, NULL);
    CHECK_EQ_INT(rc, 0);
    f->mono += 1000000;
    return inv;
}

/* A plugin span: trace FX_TRACE, the given id (8 bytes) and parent. */
static inline void fx_span(pb *s, const uint8_t *id, const uint8_t *parent, const char *name,
                           uint64_t start, uint64_t end) {
    pb_init(s);
    pb_bytes(s, 1, FX_TRACE, 16);
    pb_bytes(s, 2, id, 8);
    if (parent) pb_bytes(s, 4, parent, 8);
    pb_str(s, 5, name);
    pb_uint(s, 6, 1);
    pb_fixed64(s, 7, start);
    if (end) pb_fixed64(s, 8, end);
}

static inline void fx_payload(pb *p) {
    pb_init(p);
    pb_uint(p, 1, 1);
}

/* End an invocation and return the status, the report in *rep. */
static inline int fx_end(ptel_invocation *inv, const pb *p, ptel_report *rep) {
    return ptel_invocation_end(inv, p ? p->b : NULL, p ? p->n : 0, PTEL_OUTCOME_OK, NULL, 0, rep,
                               NULL);
}

/* Export traces into a malloc'd buffer (*len); NULL when empty. */
static inline uint8_t *fx_export_traces(const ptel_invocation *inv, const ptel_export_options *o,
                                        size_t *len) {
    size_t n = 0;
    int rc = ptel_invocation_export_traces(inv, o, NULL, 0, &n);
    *len = n;
    if (!n) {
        CHECK_EQ_INT(rc, 0);
        return NULL;
    }
    CHECK_EQ_INT(rc, PTEL_E_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(n);
    size_t m = 0;
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, o, buf, n, &m), 0);
    CHECK_EQ_INT(m, n);
    return buf;
}

static inline uint8_t *fx_export_metrics(const ptel_invocation *inv, const ptel_export_options *o,
                                         size_t *len) {
    size_t n = 0;
    int rc = ptel_invocation_export_metrics(inv, o, NULL, 0, &n);
    *len = n;
    if (!n) {
        CHECK_EQ_INT(rc, 0);
        return NULL;
    }
    CHECK_EQ_INT(rc, PTEL_E_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(n);
    size_t m = 0;
    CHECK_EQ_INT(ptel_invocation_export_metrics(inv, o, buf, n, &m), 0);
    CHECK_EQ_INT(m, n);
    return buf;
}

#endif
