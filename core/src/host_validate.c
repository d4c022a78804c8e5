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
    c->inv->metric_count = 0;
    c->inv->kept_id_count = 0;
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

/* ---- spans: the top-level pre-pass ----------------------------------------------- */

typedef struct host_span_extra {
    uint32_t clamped; /* times moved into the window */
    uint32_t unknown; /* unknown or repeated top-level fields */
} host_span_extra;

static int host_span_pre(host_vctx *c, host_span *s, host_span_extra *x) {
    ptel_invocation *inv = c->inv;
    ptel__reader r;
    ptel__reader_init(&r, c->base, s->data, s->len);
    ptel__field f;
    int rc;
    bool trace_ok = false;
    uint32_t seen = 0;
    s->verdict = -1;
    while ((rc = ptel__reader_next(&r, &f, &c->fatal)) > 0) {
        uint32_t want;
        switch (f.number) {
        case 1:
        case 2:
        case 3:
        case 4:
        case 5:
        case 9:
        case 11:
        case 13:
        case 15:
            want = PTEL__WT_LEN;
            break;
        case 6:
        case 10:
        case 12:
        case 14:
            want = PTEL__WT_VARINT;
            break;
        case 7:
        case 8:
            want = PTEL__WT_I64;
            break;
        case 16:
            want = PTEL__WT_I32;
            break;
        default:
            x->unknown++;
            continue;
        }
        if (!host_val_wt(&f, want)) return ptel__host_wire(c, &f, "Span field wire type");
        if (f.number != 9 && f.number != 11 && f.number != 13) {
            if (seen & (1u << f.number)) x->unknown++; /* a repeated singular field */
            seen |= 1u << f.number;
        }
        switch (f.number) {
        case 1:
            trace_ok = f.len == 16 && memcmp(f.data, inv->trace_id, 16) == 0;
            break;
        case 2:
            s->id_ok = f.len == 8 && !ptel__is_zero(f.data, 8);
            if (f.len == 8) memcpy(s->span_id, f.data, 8);
            break;
        case 3:
            s->trace_state.ptr = (const char *)f.data;
            s->trace_state.len = f.len;
            break;
        case 4:
            s->parent_ok = f.len == 8;
            if (f.len == 8) memcpy(s->parent, f.data, 8);
            break;
        case 5:
            s->name.ptr = (const char *)f.data;
            s->name.len = f.len;
            break;
        case 6:
            s->kind = f.value > UINT32_MAX ? UINT32_MAX : (uint32_t)f.value;
            break;
        case 7:
            s->start = f.value;
            break;
        case 8:
            s->end = f.value;
            break;
        case 10:
        case 12:
        case 14: {
            /* uint32: protobuf keeps the low 32 bits; re-encode if more were sent. */
            if (f.value > UINT32_MAX) x->unknown++;
            uint32_t v = (uint32_t)f.value;
            if (f.number == 10)
                s->dropped_attributes = v;
            else if (f.number == 12)
                s->dropped_events = v;
            else
                s->dropped_links = v;
            break;
        }
        case 15:
            s->status = f.data;
            s->status_len = f.len;
            s->has_status = true;
            break;
        case 16:
            s->flags = (uint32_t)f.value;
            s->has_flags = true;
            break;
        default:
            break;
        }
    }
    if (rc) return rc;
    if (s->has_status) {
        ptel__reader_init(&r, c->base, s->status, s->status_len);
        uint32_t sseen = 0;
        while ((rc = ptel__reader_next(&r, &f, &c->fatal)) > 0) {
            if (f.number == 2) {
                if (!host_val_wt(&f, PTEL__WT_LEN))
                    return ptel__host_wire(c, &f, "Status wire type");
                s->status_message.ptr = (const char *)f.data;
                s->status_message.len = f.len;
            } else if (f.number == 3) {
                if (!host_val_wt(&f, PTEL__WT_VARINT))
                    return ptel__host_wire(c, &f, "Status wire type");
                s->status_code = f.value > UINT32_MAX ? UINT32_MAX : (uint32_t)f.value;
            } else {
                x->unknown++;
                continue;
            }
            if (sseen & (1u << f.number)) x->unknown++;
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
    else if (!ptel__utf8_valid(s->trace_state.ptr, s->trace_state.len))
        v = PTEL_REASON_UTF8;
    else if (!ptel__utf8_valid(s->name.ptr, s->name.len))
        v = PTEL_REASON_UTF8;
    else if (s->kind > PTEL_SPAN_KIND_CONSUMER)
        v = PTEL_REASON_INVALID_VALUE;
    else if (!ptel__utf8_valid(s->status_message.ptr, s->status_message.len))
        v = PTEL_REASON_UTF8;
    else if (s->status_code > PTEL_STATUS_ERROR)
        v = PTEL_REASON_INVALID_VALUE;
    else if (!s->open && s->end < s->start)
        v = PTEL_REASON_END_BEFORE_START;
    if (v < 0) {
        bool moved = false;
        if (!host_val_time(c, &s->start, &moved)) v = PTEL_REASON_TIME_WINDOW;
        if (moved) x->clamped++;
        moved = false;
        if (s->open) {
            /* The host ends it at the invocation's end (never before its start). */
            s->end = inv->end > s->start ? inv->end : s->start;
            s->changed = true;
        } else if (v < 0 && !host_val_time(c, &s->end, &moved)) {
            v = PTEL_REASON_TIME_WINDOW;
        }
        if (moved) x->clamped++;
    }
    s->verdict = v;
    if (x->clamped || x->unknown) s->changed = true;
    return 0;
}

/* ---- spans: ids and parents across the batch --------------------------------------- */

typedef struct host_idref {
    uint8_t id[8];
    uint32_t idx;
} host_idref;

static int host_val_idcmp(const void *a, const void *b) {
    const host_idref *x = a, *y = b;
    int d = memcmp(x->id, y->id, 8);
    if (d) return d;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int host_val_id8cmp(const void *a, const void *b) { return memcmp(a, b, 8); }

/* Index of the first span with `id`, or -1. */
static int64_t host_val_owner(const host_idref *refs, uint32_t n, const uint8_t *id) {
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (memcmp(refs[mid].id, id, 8) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && memcmp(refs[lo].id, id, 8) == 0) return refs[lo].idx;
    return -1;
}

enum { HOST_RES_UNKNOWN = 0, HOST_RES_VISITING = 1, HOST_RES_KEPT = 2, HOST_RES_DROPPED = 3 };

static int host_spans_decide(host_vctx *c) {
    ptel_invocation *inv = c->inv;
    uint32_t n = inv->span_count;
    host_span *spans = inv->spans;
    bool sampled = inv->decision == PTEL_DECISION_RECORD_AND_SAMPLE ||
                   (inv->decision == PTEL_DECISION_RECORD_ONLY && inv->accept_record_only);
    bool features = (inv->features & PTEL_FEATURE_SPANS) != 0;
    for (uint32_t k = 0; k < n; k++) {
        host_span *s = &spans[k];
        if (k >= inv->limits.span_count)
            s->verdict = PTEL_REASON_SPAN_COUNT;
        else if (!features)
            s->verdict = PTEL_REASON_FEATURE;
        else if (!sampled)
            s->verdict = PTEL_REASON_NOT_SAMPLED;
        else if (s->open && !(inv->features & PTEL_FEATURE_OPEN_SPANS))
            s->verdict = PTEL_REASON_FEATURE;
        if (s->verdict < 0 && memcmp(s->span_id, inv->span_id, 8) == 0)
            s->verdict = PTEL_REASON_SPAN_ID_HOST;
    }
    if (!n) return 0;
    host_idref *refs = ptel__arena_alloc(&inv->arena, (size_t)n * sizeof *refs);
    uint8_t *state = ptel__arena_alloc(&inv->arena, n);
    uint32_t *stack = ptel__arena_alloc(&inv->arena, (size_t)n * sizeof *stack);
    if (!refs || !state || !stack) return PTEL_E_NOMEM;
    uint32_t m = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (!spans[k].id_ok) continue;
        memcpy(refs[m].id, spans[k].span_id, 8);
        refs[m].idx = k;
        m++;
    }
    qsort(refs, m, sizeof *refs, host_val_idcmp);
    for (uint32_t k = 1; k < m; k++)
        if (memcmp(refs[k].id, refs[k - 1].id, 8) == 0 && spans[refs[k].idx].verdict < 0)
            spans[refs[k].idx].verdict = PTEL_REASON_SPAN_ID_DUPLICATE;
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
            int64_t owner = host_val_owner(refs, m, spans[j].parent);
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
    while ((rc = ptel__reader_next(&r, &f, &c->fatal)) > 0) {
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
    if (!ptel__utf8_valid(name.ptr, name.len))
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
    while ((rc = ptel__reader_next(&r, &f, &c->fatal)) > 0) {
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
    else if (!ptel__utf8_valid(ts.ptr, ts.len))
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
        while ((rc = ptel__reader_next(&r, &f, &c->fatal)) > 0) {
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
    host_span_extra *extra = NULL;
    if (n) {
        extra = ptel__arena_alloc(&inv->arena, (size_t)n * sizeof *extra);
        if (!extra) return PTEL_E_NOMEM;
        memset(extra, 0, (size_t)n * sizeof *extra);
    }
    for (uint32_t k = 0; k < n; k++) {
        int rc = host_span_pre(c, &inv->spans[k], &extra[k]);
        if (rc) return rc;
    }
    int rc = host_spans_decide(c);
    if (rc) return rc;
    uint32_t kept = 0;
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
        ptel__host_note_n(c, PTEL_REASON_TIME_WINDOW, extra[k].clamped, s->data, field);
        ptel__host_note_n(c, PTEL_REASON_UNKNOWN_FIELD, extra[k].unknown, s->data, field);
        /* Validate the contents, sizing the canonical form. */
        c->changed = false;
        host_w cw = {NULL, 0};
        rc = host_span_emit(c, &cw, s);
        if (rc) return rc;
        if (c->changed) s->changed = true;
        if (!s->changed) {
            s->out = s->data;
            s->out_len = s->len;
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
        rep->spans_modified++;
    }
    rep->spans_accepted = kept;
    /* The kept ids, sorted, for exemplar checks. */
    if (kept) {
        inv->kept_ids = ptel__arena_alloc(&inv->arena, (size_t)kept * 8);
        if (!inv->kept_ids) return PTEL_E_NOMEM;
        uint32_t m = 0;
        for (uint32_t k = 0; k < n; k++)
            if (inv->spans[k].verdict < 0)
                memcpy(inv->kept_ids + 8 * (size_t)m++, inv->spans[k].span_id, 8);
        qsort(inv->kept_ids, m, 8, host_val_id8cmp);
        inv->kept_id_count = m;
    }
    return 0;
}

bool ptel__host_span_known(const ptel_invocation *inv, const uint8_t *id) {
    if (memcmp(id, inv->span_id, 8) == 0) return true;
    uint32_t lo = 0, hi = inv->kept_id_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int d = memcmp(inv->kept_ids + 8 * (size_t)mid, id, 8);
        if (d == 0) return true;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* ---- the top level -------------------------------------------------------------------- */

static int host_val_drops(host_vctx *c, const ptel__field *outer) {
    ptel_report *rep = c->rep;
    ptel__reader r;
    ptel__reader_init(&r, c->base, outer->data, outer->len);
    ptel__field f;
    int rc;
    while ((rc = ptel__reader_next(&r, &f, &c->fatal)) > 0) {
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
    while ((rc = ptel__reader_next(&r, &f, &c.fatal)) > 0) {
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

    /* Pass 2: slices of every span and metric. */
    if (nspans) {
        inv->spans = ptel__arena_alloc(&inv->arena, (size_t)nspans * sizeof *inv->spans);
        if (!inv->spans) return PTEL_E_NOMEM;
        memset(inv->spans, 0, (size_t)nspans * sizeof *inv->spans);
    }
    if (nmetrics) {
        inv->metrics = ptel__arena_alloc(&inv->arena, (size_t)nmetrics * sizeof *inv->metrics);
        if (!inv->metrics) return PTEL_E_NOMEM;
        memset(inv->metrics, 0, (size_t)nmetrics * sizeof *inv->metrics);
    }
    ptel__reader_init(&r, payload, payload, len);
    while (ptel__reader_next(&r, &f, NULL) > 0) {
        if (f.number == 2 || f.number == 4) {
            host_span *s = &inv->spans[inv->span_count++];
            s->data = f.data;
            s->len = f.len;
            s->open = f.number == 4;
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
