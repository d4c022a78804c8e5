/* PluginContext: validation, the canonical protobuf encoding, decoding, and
 * the W3C and environment carriers.
 *
 * Wire format (ptel.v1.PluginContext), canonical profile: fields in
 * ascending number order, proto3 defaults omitted, minimal varints.
 *   1 protocol_version uint32 (always written)  2 trace_id bytes(16)
 *   3 parent_span_id bytes(8)  4 trace_flags uint32  5 is_remote bool
 *   6 trace_state string  7 baggage string  8 decision enum
 *   9 limits Limits (fields 1..11 = ptel_limits in order, uint32)
 *   10 time_base_unix_nano fixed64  11 plugin_name  12 plugin_version
 *   13 hook  14 features uint64 */
#include "internal.h"
#include "base64.h"

#include <stddef.h>
#include <stdlib.h>

enum {
    CTX_MAX_ENCODED = 64 * 1024, /* largest PluginContext accepted or produced */
    CTX_NLIMITS = 11,
    CTX_NFIELDS = 15 /* field numbers 1..14 index arrays directly */
};

struct ptel_context {
    ptel_allocator alloc;
    size_t alloc_size;     /* bytes of this allocation, for the allocator */
    size_t encoded_size;   /* canonical encoding length */
    ptel_context_fields f; /* strings point into `data` */
    char data[];           /* NUL-terminated strings */
};

static const size_t ctx_limit_offsets[CTX_NLIMITS] = {
    offsetof(ptel_limits, attribute_count),     offsetof(ptel_limits, attribute_value_length),
    offsetof(ptel_limits, attribute_depth),     offsetof(ptel_limits, event_count),
    offsetof(ptel_limits, link_count),          offsetof(ptel_limits, attributes_per_event),
    offsetof(ptel_limits, attributes_per_link), offsetof(ptel_limits, span_count),
    offsetof(ptel_limits, metric_count),        offsetof(ptel_limits, metric_cardinality),
    offsetof(ptel_limits, payload_bytes),
};

static uint32_t ctx_limit_get(const ptel_limits *l, int i) {
    uint32_t v;
    memcpy(&v, (const char *)l + ctx_limit_offsets[i], sizeof v);
    return v;
}

static void ctx_limit_set(ptel_limits *l, int i, uint32_t v) {
    memcpy((char *)l + ctx_limit_offsets[i], &v, sizeof v);
}

/* ---- encoding ------------------------------------------------------------ */

static size_t ctx_limits_size(const ptel_limits *l) {
    size_t n = 0;
    for (int i = 0; i < CTX_NLIMITS; i++) {
        uint32_t v = ctx_limit_get(l, i);
        if (v) n += 1 + ptel__varint_size(v);
    }
    return n;
}

static size_t ctx_str_field_size(ptel_str s) { return s.len ? ptel__len_field_size(s.len) : 0; }

/* Canonical size. The caller bounds every string by CTX_MAX_ENCODED first. */
static size_t ctx_encoded_size(const ptel_context_fields *f) {
    size_t n = 2 + 18 + 10; /* version, trace id, parent span id */
    if (f->parent.trace_flags) n += 1 + ptel__varint_size(f->parent.trace_flags);
    if (f->parent.is_remote) n += 2;
    n += ctx_str_field_size(f->tracestate) + ctx_str_field_size(f->baggage);
    if (f->decision) n += 1 + ptel__varint_size(f->decision);
    size_t lim = ctx_limits_size(&f->limits);
    if (lim) n += ptel__len_field_size(lim);
    if (f->time_base_unix_nano) n += 9;
    n += ctx_str_field_size(f->plugin_name) + ctx_str_field_size(f->plugin_version) +
         ctx_str_field_size(f->hook);
    if (f->features) n += 1 + ptel__varint_size(f->features);
    return n;
}

static uint8_t *ctx_put_str(uint8_t *p, uint8_t tag, ptel_str s) {
    return s.len ? ptel__put_len_field(p, tag, s.ptr, s.len) : p;
}

static uint8_t *ctx_write(uint8_t *p, const ptel_context_fields *f) {
    *p++ = 0x08;
    p = ptel__put_varint(p, PTEL_PROTOCOL_VERSION);
    p = ptel__put_len_field(p, 0x12, f->parent.trace_id, 16);
    p = ptel__put_len_field(p, 0x1a, f->parent.span_id, 8);
    if (f->parent.trace_flags) {
        *p++ = 0x20;
        p = ptel__put_varint(p, f->parent.trace_flags);
    }
    if (f->parent.is_remote) {
        *p++ = 0x28;
        *p++ = 0x01;
    }
    p = ctx_put_str(p, 0x32, f->tracestate);
    p = ctx_put_str(p, 0x3a, f->baggage);
    if (f->decision) {
        *p++ = 0x40;
        p = ptel__put_varint(p, f->decision);
    }
    size_t lim = ctx_limits_size(&f->limits);
    if (lim) {
        *p++ = 0x4a;
        p = ptel__put_varint(p, lim);
        for (int i = 0; i < CTX_NLIMITS; i++) {
            uint32_t v = ctx_limit_get(&f->limits, i);
            if (!v) continue;
            *p++ = (uint8_t)((i + 1) << 3);
            p = ptel__put_varint(p, v);
        }
    }
    if (f->time_base_unix_nano) {
        *p++ = 0x51;
        p = ptel__put_fixed64(p, f->time_base_unix_nano);
    }
    p = ctx_put_str(p, 0x5a, f->plugin_name);
    p = ctx_put_str(p, 0x62, f->plugin_version);
    p = ctx_put_str(p, 0x6a, f->hook);
    if (f->features) {
        *p++ = 0x70;
        p = ptel__put_varint(p, f->features);
    }
    return p;
}

/* ---- construction --------------------------------------------------------- */

/* Fail with a diagnostic whose offset is relative to field `field` of the
 * input (`at` holds per-field base offsets when decoding, else NULL). */
static int ctx_fail(ptel_diag *diag, int status, const uint64_t *at, uint32_t field,
                    uint64_t offset, const char *reason) {
    return ptel__fail(diag, status, (at ? at[field] : 0) + offset, field, reason);
}

static void ctx_copy_str(char **w, ptel_str *dst, ptel_str src) {
    if (src.len) memcpy(*w, src.ptr, src.len);
    (*w)[src.len] = '\0';
    dst->ptr = *w;
    dst->len = src.len;
    *w += src.len + 1;
}

/* Normalise a W3C list into `*w` (or just measure when `w` is NULL). */
typedef int (*ctx_normalize_fn)(char *buf, size_t cap, size_t *out_len, const char *s, size_t len,
                                ptel_diag *diag);

static int ctx_measure(ctx_normalize_fn fn, ptel_str s, size_t *n, ptel_diag *diag,
                       const uint64_t *at, uint32_t field, bool lenient) {
    ptel_diag d = {0, 0, 0, NULL};
    int rc = fn(NULL, 0, n, s.ptr, s.len, &d);
    if (rc == PTEL_E_BUFFER_TOO_SMALL) return 0;
    if (lenient && rc != PTEL_E_INVALID_ARGUMENT) {
        *n = 0; /* W3C: an invalid tracestate or baggage is dropped */
        return 0;
    }
    return ctx_fail(diag, rc, at, field, d.offset, d.reason);
}

/* Validate `f` and build the context in one allocation. `at` maps field
 * numbers to input offsets for diagnostics (NULL outside decoding);
 * `lenient` drops an invalid tracestate or baggage instead of failing. */
static int ctx_build(ptel_context **out, const ptel_context_fields *f, const ptel_allocator *alloc,
                     ptel_diag *diag, const uint64_t *at, bool lenient) {
    if (f->protocol_version != PTEL_PROTOCOL_VERSION)
        return ctx_fail(diag, PTEL_E_VERSION, at, 1, 0, "protocol_version is not 1");
    if (ptel__is_zero(f->parent.trace_id, 16))
        return ctx_fail(diag, PTEL_E_INVALID_ID, at, 2, 0, "trace_id is all zero");
    if (ptel__is_zero(f->parent.span_id, 8))
        return ctx_fail(diag, PTEL_E_INVALID_ID, at, 3, 0, "parent_span_id is all zero");
    if (f->decision > PTEL_DECISION_RECORD_AND_SAMPLE)
        return ctx_fail(diag, PTEL_E_VALUE, at, 8, 0, "decision out of range");
    const ptel_str *strs[5] = {&f->tracestate, &f->baggage, &f->plugin_name, &f->plugin_version,
                               &f->hook};
    static const uint32_t ctx_str_fields[5] = {6, 7, 11, 12, 13};
    for (int i = 0; i < 5; i++) {
        if (!strs[i]->ptr && strs[i]->len)
            return ctx_fail(diag, PTEL_E_INVALID_ARGUMENT, at, ctx_str_fields[i], 0,
                            "NULL string with non-zero length");
        if (i >= 2 && strs[i]->len > CTX_MAX_ENCODED)
            return ctx_fail(diag, PTEL_E_LIMIT, at, ctx_str_fields[i], 0,
                            "string longer than a PluginContext may be");
        /* W3C lists are ASCII by grammar: when lenient, leave them to it. */
        if (!(lenient && i < 2) && !ptel__utf8_valid(strs[i]->ptr, strs[i]->len))
            return ctx_fail(diag, PTEL_E_UTF8, at, ctx_str_fields[i], 0, "invalid UTF-8");
    }
    size_t ts_n, bg_n;
    int rc = ctx_measure(ptel_tracestate_normalize, f->tracestate, &ts_n, diag, at, 6, lenient);
    if (rc) return rc;
    rc = ctx_measure(ptel_baggage_normalize, f->baggage, &bg_n, diag, at, 7, lenient);
    if (rc) return rc;

    ptel_context_fields g = *f;
    g.tracestate.len = ts_n;
    g.baggage.len = bg_n;
    size_t encoded = ctx_encoded_size(&g);
    if (encoded > CTX_MAX_ENCODED)
        return ctx_fail(diag, PTEL_E_LIMIT, NULL, 0, 0, "PluginContext larger than 64 KiB");

    size_t size = sizeof(ptel_context) + ts_n + bg_n + g.plugin_name.len + g.plugin_version.len +
                  g.hook.len + 5;
    ptel_allocator a = ptel__allocator(alloc);
    ptel_context *ctx = ptel__alloc(&a, size);
    if (!ctx) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "out of memory");
    ctx->alloc = a;
    ctx->alloc_size = size;
    ctx->encoded_size = encoded;
    ctx->f = g;
    char *w = ctx->data;
    size_t n;
    if (ts_n)
        ptel_tracestate_normalize(w, ts_n + 1, &n, f->tracestate.ptr, f->tracestate.len, NULL);
    else
        *w = '\0';
    ctx->f.tracestate.ptr = w;
    w += ts_n + 1;
    if (bg_n)
        ptel_baggage_normalize(w, bg_n + 1, &n, f->baggage.ptr, f->baggage.len, NULL);
    else
        *w = '\0';
    ctx->f.baggage.ptr = w;
    w += bg_n + 1;
    ctx_copy_str(&w, &ctx->f.plugin_name, f->plugin_name);
    ctx_copy_str(&w, &ctx->f.plugin_version, f->plugin_version);
    ctx_copy_str(&w, &ctx->f.hook, f->hook);
    *out = ctx;
    return 0;
}

void ptel_context_fields_init(ptel_context_fields *f) {
    if (!f) return;
    memset(f, 0, sizeof *f);
    f->protocol_version = PTEL_PROTOCOL_VERSION;
}

int ptel_context_new(ptel_context **out, const ptel_context_fields *f, const ptel_allocator *alloc,
                     ptel_diag *diag) {
    if (out) *out = NULL;
    if (!out || !f) return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    return ctx_build(out, f, alloc, diag, NULL, false);
}

int ptel_context_from_w3c(ptel_context **out, const char *traceparent, size_t traceparent_len,
                          const char *tracestate, size_t tracestate_len, const char *baggage,
                          size_t baggage_len, const ptel_allocator *alloc, ptel_diag *diag) {
    if (out) *out = NULL;
    if (!out || (!traceparent && traceparent_len) || (!tracestate && tracestate_len) ||
        (!baggage && baggage_len))
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    ptel_traceparent tp;
    int rc = ptel_traceparent_parse(&tp, traceparent, traceparent_len, diag);
    if (rc) return rc;
    ptel_context_fields f;
    ptel_context_fields_init(&f);
    memcpy(f.parent.trace_id, tp.trace_id, 16);
    memcpy(f.parent.span_id, tp.parent_id, 8);
    f.parent.trace_flags = tp.trace_flags;
    f.parent.is_remote = true;
    f.decision = (tp.trace_flags & PTEL_TRACE_FLAG_SAMPLED) ? PTEL_DECISION_RECORD_AND_SAMPLE
                                                            : PTEL_DECISION_DROP;
    f.tracestate = (ptel_str){tracestate, tracestate_len};
    f.baggage = (ptel_str){baggage, baggage_len};
    return ctx_build(out, &f, alloc, diag, NULL, true);
}

/* ---- decoding ------------------------------------------------------------- */

static int ctx_wire(ptel_diag *diag, const ptel__field *fld, const uint8_t *base, uint32_t want) {
    if (fld->wire_type == want) return 0;
    return ptel__fail(diag, PTEL_E_MALFORMED, (uint64_t)(fld->start - base), fld->number,
                      "wrong wire type for a known field");
}

typedef struct ctx_raw {
    uint64_t version, flags, decision, time_base, features, is_remote;
    uint64_t limits[CTX_NLIMITS];
    uint64_t limit_at[CTX_NLIMITS];
    bool have[CTX_NFIELDS];
    ptel_str bytes[CTX_NFIELDS]; /* LEN fields: 2, 3, 6, 7, 11, 12, 13 */
    uint64_t at[CTX_NFIELDS];    /* offset of the field (payload for LEN fields) */
} ctx_raw;

static int ctx_decode_limits(ctx_raw *raw, const uint8_t *base, const ptel__field *outer,
                             ptel_diag *diag) {
    ptel__reader r;
    ptel__field fld;
    ptel__reader_init(&r, base, outer->data, outer->len);
    int rc;
    while ((rc = ptel__reader_next(&r, &fld, diag)) == 1) {
        if (fld.number < 1 || fld.number > CTX_NLIMITS) continue; /* unknown: skipped */
        rc = ctx_wire(diag, &fld, base, PTEL__WT_VARINT);
        if (rc) return rc;
        raw->limits[fld.number - 1] = fld.value;
        raw->limit_at[fld.number - 1] = (uint64_t)(fld.start - base);
    }
    return rc;
}

static int ctx_decode_raw(ctx_raw *raw, const uint8_t *data, size_t len, ptel_diag *diag) {
    ptel__reader r;
    ptel__field fld;
    ptel__reader_init(&r, data, data, len);
    int rc;
    while ((rc = ptel__reader_next(&r, &fld, diag)) == 1) {
        uint32_t num = fld.number;
        uint64_t at = (uint64_t)(fld.start - data);
        uint32_t want;
        switch (num) {
        case 1:
        case 4:
        case 5:
        case 8:
        case 14:
            want = PTEL__WT_VARINT;
            break;
        case 2:
        case 3:
        case 6:
        case 7:
        case 9:
        case 11:
        case 12:
        case 13:
            want = PTEL__WT_LEN;
            break;
        case 10:
            want = PTEL__WT_I64;
            break;
        default:
            continue; /* unknown field of any wire type: skipped */
        }
        rc = ctx_wire(diag, &fld, data, want);
        if (rc) return rc;
        raw->have[num] = true;
        raw->at[num] = at;
        switch (num) {
        case 1:
            raw->version = fld.value;
            break;
        case 4:
            raw->flags = fld.value;
            break;
        case 5:
            raw->is_remote = fld.value;
            break;
        case 8:
            raw->decision = fld.value;
            break;
        case 10:
            raw->time_base = fld.value;
            break;
        case 14:
            raw->features = fld.value;
            break;
        case 9:
            /* Repeated occurrences of a message field merge (protobuf rule). */
            rc = ctx_decode_limits(raw, data, &fld, diag);
            if (rc) return rc;
            break;
        default:
            raw->bytes[num].ptr = (const char *)fld.data;
            raw->bytes[num].len = fld.len;
            raw->at[num] = (uint64_t)(fld.data - data);
            break;
        }
    }
    return rc;
}

static int ctx_check_id(const ctx_raw *raw, uint32_t num, size_t want, uint64_t end,
                        ptel_diag *diag) {
    if (!raw->have[num])
        return ptel__fail(diag, PTEL_E_INVALID_ID, end, num,
                          num == 2 ? "missing trace_id" : "missing parent_span_id");
    if (raw->bytes[num].len != want)
        return ptel__fail(diag, PTEL_E_INVALID_ID, raw->at[num], num,
                          num == 2 ? "trace_id is not 16 bytes" : "parent_span_id is not 8 bytes");
    return 0;
}

int ptel_context_decode(ptel_context **out, const uint8_t *data, size_t len,
                        const ptel_allocator *alloc, ptel_diag *diag) {
    if (out) *out = NULL;
    if (!out || (!data && len))
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    if (len > CTX_MAX_ENCODED)
        return ptel__fail(diag, PTEL_E_LIMIT, CTX_MAX_ENCODED, 0,
                          "PluginContext larger than 64 KiB");
    ctx_raw raw;
    memset(&raw, 0, sizeof raw);
    int rc = ctx_decode_raw(&raw, data ? data : (const uint8_t *)"", len, diag);
    if (rc) return rc;

    /* The last occurrence of each field has won; now check the values. */
    if (!raw.have[1] || raw.version != PTEL_PROTOCOL_VERSION)
        return ptel__fail(diag, PTEL_E_VERSION, raw.have[1] ? raw.at[1] : len, 1,
                          raw.have[1] ? "protocol_version is not 1" : "missing protocol_version");
    rc = ctx_check_id(&raw, 2, 16, len, diag);
    if (rc) return rc;
    rc = ctx_check_id(&raw, 3, 8, len, diag);
    if (rc) return rc;
    if (raw.flags > 255)
        return ptel__fail(diag, PTEL_E_VALUE, raw.at[4], 4, "trace_flags above 255");
    if (raw.decision > PTEL_DECISION_RECORD_AND_SAMPLE)
        return ptel__fail(diag, PTEL_E_VALUE, raw.at[8], 8, "decision out of range");
    for (int i = 0; i < CTX_NLIMITS; i++)
        if (raw.limits[i] > UINT32_MAX)
            return ptel__fail(diag, PTEL_E_VALUE, raw.limit_at[i], 9, "limit above 2^32-1");

    ptel_context_fields f;
    ptel_context_fields_init(&f);
    memcpy(f.parent.trace_id, raw.bytes[2].ptr, 16);
    memcpy(f.parent.span_id, raw.bytes[3].ptr, 8);
    f.parent.trace_flags = (uint8_t)raw.flags;
    f.parent.is_remote = raw.is_remote != 0;
    f.tracestate = raw.bytes[6];
    f.baggage = raw.bytes[7];
    f.decision = (uint32_t)raw.decision;
    for (int i = 0; i < CTX_NLIMITS; i++) ctx_limit_set(&f.limits, i, (uint32_t)raw.limits[i]);
    f.time_base_unix_nano = raw.time_base;
    f.plugin_name = raw.bytes[11];
    f.plugin_version = raw.bytes[12];
    f.hook = raw.bytes[13];
    f.features = raw.features;
    return ctx_build(out, &f, alloc, diag, raw.at, false);
}

int ptel_context_encode(const ptel_context *ctx, uint8_t *buf, size_t cap, size_t *out_len) {
    if (!out_len) return PTEL_E_INVALID_ARGUMENT;
    *out_len = 0;
    if (!ctx) return PTEL_E_INVALID_ARGUMENT;
    *out_len = ctx->encoded_size;
    if (!buf || cap < ctx->encoded_size) return PTEL_E_BUFFER_TOO_SMALL;
    ctx_write(buf, &ctx->f);
    return 0;
}

/* ---- text carriers -------------------------------------------------------- */

int ptel_context_traceparent(const ptel_context *ctx, char *buf, size_t cap, size_t *out_len) {
    if (!out_len) return PTEL_E_INVALID_ARGUMENT;
    *out_len = 0;
    if (!ctx) return PTEL_E_INVALID_ARGUMENT;
    ptel_traceparent tp;
    tp.version = 0;
    memcpy(tp.trace_id, ctx->f.parent.trace_id, 16);
    memcpy(tp.parent_id, ctx->f.parent.span_id, 8);
    tp.trace_flags = ctx->f.parent.trace_flags;
    return ptel_traceparent_format(buf, cap, out_len, &tp);
}

static const char *ctx_getenv(void *ud, const char *name) {
    (void)ud;
    return getenv(name);
}

int ptel_context_from_env(ptel_context **out, ptel_getenv_fn getenv_fn, void *ud,
                          const ptel_allocator *alloc, ptel_diag *diag) {
    if (out) *out = NULL;
    if (!out) return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    if (!getenv_fn) getenv_fn = ctx_getenv;
    const char *pc = getenv_fn(ud, "PTEL_CONTEXT");
    if (pc && *pc) {
        size_t n = strlen(pc);
        if (n > ptel__base64_encoded_len(CTX_MAX_ENCODED))
            return ptel__fail(diag, PTEL_E_LIMIT, 0, 0, "PTEL_CONTEXT larger than 64 KiB");
        size_t need;
        int rc = ptel__base64_decode(NULL, 0, &need, pc, n, diag);
        if (rc != PTEL_E_BUFFER_TOO_SMALL) return rc;
        ptel_allocator a = ptel__allocator(alloc);
        uint8_t *bytes = ptel__alloc(&a, need ? need : 1);
        if (!bytes) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "out of memory");
        ptel__base64_decode(bytes, need, &need, pc, n, NULL);
        rc = ptel_context_decode(out, bytes, need, alloc, diag);
        ptel__free(&a, bytes, need ? need : 1);
        return rc;
    }
    const char *tp = getenv_fn(ud, "TRACEPARENT");
    if (!tp || !*tp)
        return ptel__fail(diag, PTEL_E_NOT_FOUND, 0, 0, "neither PTEL_CONTEXT nor TRACEPARENT set");
    const char *ts = getenv_fn(ud, "TRACESTATE");
    const char *bg = getenv_fn(ud, "BAGGAGE");
    return ptel_context_from_w3c(out, tp, strlen(tp), ts, ts ? strlen(ts) : 0, bg,
                                 bg ? strlen(bg) : 0, alloc, diag);
}

static char *ctx_put_env(char *w, const char *name, const char *value, size_t n) {
    size_t k = strlen(name);
    memcpy(w, name, k);
    w[k] = '=';
    if (n) memcpy(w + k + 1, value, n);
    w[k + 1 + n] = '\0';
    return w + k + 2 + n;
}

int ptel_context_to_env(const ptel_context *ctx, char *buf, size_t cap, size_t *out_len) {
    if (!out_len) return PTEL_E_INVALID_ARGUMENT;
    *out_len = 0;
    if (!ctx) return PTEL_E_INVALID_ARGUMENT;
    const ptel_context_fields *f = &ctx->f;
    size_t b64 = ptel__base64_encoded_len(ctx->encoded_size);
    size_t need = sizeof "TRACEPARENT=" + PTEL_TRACEPARENT_LEN + sizeof "PTEL_CONTEXT=" + b64;
    if (f->tracestate.len) need += sizeof "TRACESTATE=" + f->tracestate.len;
    if (f->baggage.len) need += sizeof "BAGGAGE=" + f->baggage.len;
    *out_len = need;
    if (!buf || cap < need) return PTEL_E_BUFFER_TOO_SMALL;

    char tp[PTEL_TRACEPARENT_LEN + 1];
    size_t n;
    ptel_context_traceparent(ctx, tp, sizeof tp, &n);
    /* Allocation-free: the encoded context goes at the end of `buf`, then
     * its base64 text is written from the front over it. The text ends right
     * before the final NUL, so the bytes start at least ceil(E/3) + 1 bytes
     * after the text starts (E = encoded size), which base64.h allows. */
    uint8_t *bytes = (uint8_t *)buf + need - ctx->encoded_size;
    ctx_write(bytes, f);
    char *w = buf;
    w = ctx_put_env(w, "TRACEPARENT", tp, PTEL_TRACEPARENT_LEN);
    if (f->tracestate.len) w = ctx_put_env(w, "TRACESTATE", f->tracestate.ptr, f->tracestate.len);
    if (f->baggage.len) w = ctx_put_env(w, "BAGGAGE", f->baggage.ptr, f->baggage.len);
    memcpy(w, "PTEL_CONTEXT=", 13);
    w += 13;
    ptel__base64_encode(w, b64, &n, bytes, ctx->encoded_size);
    w[b64] = '\0';
    return 0;
}

void ptel_context_get(const ptel_context *ctx, ptel_context_fields *out) {
    if (!out) return;
    if (!ctx) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = ctx->f;
}

void ptel_context_free(ptel_context *ctx) {
    if (!ctx) return;
    ptel_allocator a = ctx->alloc;
    ptel__free(&a, ctx, ctx->alloc_size);
}
