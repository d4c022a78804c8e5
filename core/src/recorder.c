/* The plugin-side recorder: lifecycle, spans, events, links, status, and the
 * PluginTelemetry encoding. Metrics live in recorder_metrics.c, attribute
 * encoding in recorder_attrs.c. */
#include "recorder_internal.h"

/* PluginTelemetry field tags. */
enum {
    REC_TAG_VERSION = 0x08,
    REC_TAG_SPANS = 0x12,
    REC_TAG_OPEN_SPANS = 0x22,
    REC_TAG_DROPPED = 0x2a
};

/* Span.flags bits beyond the W3C trace flags (OTLP SpanFlags). */
enum { REC_FLAG_HAS_IS_REMOTE = 0x100, REC_FLAG_IS_REMOTE = 0x200 };

int ptel__rec_refuse(ptel_recorder *rec, uint32_t *counter, int status) {
    if (counter && *counter < UINT32_MAX) (*counter)++;
    return rec->strict ? status : 0;
}

/* The payload grows in place in spans_out: the version field first, ended
 * spans as they end, the rest at finish. No copy of the span bytes. */
static int rec_out_header(ptel_recorder *rec) {
    if (rec->spans_out.len) return 0;
    int rc = ptel__buf_reserve(&rec->spans_out, 2);
    if (rc) return rc;
    rec->spans_out.data[0] = REC_TAG_VERSION;
    rec->spans_out.data[1] = PTEL_PROTOCOL_VERSION;
    rec->spans_out.len = 2;
    return 0;
}

void ptel_recorder_options_init(ptel_recorder_options *opts) {
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->version = PTEL_RECORDER_OPTIONS_VERSION;
}

static void rec_setup(ptel_recorder *rec, const ptel_context *ctx) {
    rec->ctx = ctx;
    ptel_context_get(ctx, &rec->cf);
    rec->limits = rec->cf.limits;
    ptel_limits_resolve(&rec->limits);
    rec->features = rec->cf.features ? rec->cf.features : PTEL_FEATURES_V1;
    rec->recording = rec->cf.decision != PTEL_DECISION_DROP && (rec->features & PTEL_FEATURE_SPANS);
    rec->finished = false;
    rec->base_mono = ptel__clock_monotonic(&rec->clock);
    rec->base_real = rec->cf.time_base_unix_nano ? rec->cf.time_base_unix_nano
                                                 : ptel__clock_realtime(&rec->clock);
    rec->start_time = rec->base_real;
    rec->spans = NULL;
    rec->span_count = rec->span_cap = 0;
    rec->metrics = NULL;
    rec->metric_count = rec->metric_cap = 0;
    rec->sort_scratch = NULL;
    rec->sort_cap = 0;
    memset(&rec->scratch, 0, sizeof rec->scratch);
    memset(&rec->drops, 0, sizeof rec->drops);
    rec->spans_out.len = 0;

    ptel_span *nr = &rec->nonrecording;
    memset(nr, 0, sizeof *nr);
    nr->rec = rec;
    nr->state = REC_SPAN_NONRECORDING;
    memcpy(nr->span_id, rec->cf.parent.span_id, 8);
    nr->trace_flags = rec->cf.parent.trace_flags;
}

int ptel_recorder_new(ptel_recorder **out, const ptel_context *ctx,
                      const ptel_recorder_options *opts) {
    if (!out) return PTEL_E_INVALID_ARGUMENT;
    *out = NULL;
    if (!ctx) return PTEL_E_INVALID_ARGUMENT;
    ptel_allocator alloc = ptel__allocator(opts ? &opts->allocator : NULL);
    ptel_recorder *rec = ptel__alloc(&alloc, sizeof *rec);
    if (!rec) return PTEL_E_NOMEM;
    memset(rec, 0, sizeof *rec);
    rec->alloc = alloc;
    if (opts) {
        rec->clock = opts->clock;
        rec->ids = opts->ids;
        rec->strict = opts->strict;
    }
    ptel__rng_seed_os(&rec->rng); /* also the fallback of a caller's generator */
    ptel__arena_init(&rec->arena, alloc);
    ptel__buf_init(&rec->spans_out, alloc);
    rec_setup(rec, ctx);
    *out = rec;
    return 0;
}

int ptel_recorder_reset(ptel_recorder *rec, const ptel_context *ctx) {
    if (!rec || !ctx) return PTEL_E_INVALID_ARGUMENT;
    ptel__arena_reset(&rec->arena);
    rec_setup(rec, ctx);
    return 0;
}

void ptel_recorder_free(ptel_recorder *rec) {
    if (!rec) return;
    ptel_allocator alloc = rec->alloc;
    ptel__arena_free(&rec->arena);
    ptel__buf_free(&rec->spans_out);
    ptel__free(&alloc, rec, sizeof *rec);
}

bool ptel_recorder_is_recording(const ptel_recorder *rec) { return rec && rec->recording; }

const ptel_context *ptel_recorder_context(const ptel_recorder *rec) {
    return rec ? rec->ctx : NULL;
}

uint64_t ptel_recorder_now(const ptel_recorder *rec) {
    if (!rec) return 0;
    return rec->base_real + (ptel__clock_monotonic(&rec->clock) - rec->base_mono);
}

static void rec_add_saturating(uint32_t *counter, uint32_t add) {
    *counter = add > UINT32_MAX - *counter ? UINT32_MAX : *counter + add;
}

void ptel_recorder_add_drops(ptel_recorder *rec, const ptel_drop_counts *add) {
    if (!rec || !add) return;
    rec_add_saturating(&rec->drops.spans, add->spans);
    rec_add_saturating(&rec->drops.metrics, add->metrics);
    rec_add_saturating(&rec->drops.metric_points, add->metric_points);
    rec_add_saturating(&rec->drops.errors, add->errors);
}

void ptel_recorder_drops(const ptel_recorder *rec, ptel_drop_counts *out) {
    if (!out) return;
    if (rec)
        *out = rec->drops;
    else
        memset(out, 0, sizeof *out);
}

/* ---- text copies ------------------------------------------------------------ */

/* Copy a UTF-8 string into the arena; invalid sequences become U+FFFD, so a
 * bad name never costs the span. */
static int rec_copy_text(ptel_recorder *rec, ptel_str *dst, const char *s, size_t n) {
    dst->ptr = "";
    dst->len = 0;
    if (!n) return 0;
    if (!s) return PTEL_E_INVALID_ARGUMENT;
    if (PTEL__LIKELY(ptel__utf8_valid(s, n))) {
        char *p = ptel__arena_dup(&rec->arena, s, n);
        if (!p) return PTEL_E_NOMEM;
        dst->ptr = p;
        dst->len = n;
        return 0;
    }
    if (n > SIZE_MAX / 3) return PTEL_E_LIMIT;
    char *p = ptel__arena_alloc(&rec->arena, n * 3);
    if (!p) return PTEL_E_NOMEM;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !ptel__utf8_valid(s + i, k)) k++;
        if (k <= 4 && i + k <= n) {
            memcpy(p + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(p + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    dst->ptr = p;
    dst->len = o;
    return PTEL_E_UTF8;
}

/* ---- spans ------------------------------------------------------------------ */

static bool rec_live(const ptel_span *s) { return s && s->state == REC_SPAN_OPEN; }

/* Start a span. `local` (may be NULL) is storage for a span that ends before
 * the caller returns and is never handed out (ptel_span_record without
 * `out`): it takes no arena memory, borrows a valid UTF-8 name instead of
 * copying it, and its entry in rec->spans is NULL, as nothing refers to it
 * after the call. */
static int rec_span_begin(ptel_span **out, ptel_recorder *rec, const ptel_span *parent,
                          const uint8_t *parent_id, const char *name, size_t name_len,
                          uint32_t kind, uint64_t start, const uint8_t *span_id, ptel_span *local) {
    if (!out)
        return rec ? ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ARGUMENT)
                   : PTEL_E_INVALID_ARGUMENT;
    *out = rec ? &rec->nonrecording : NULL;
    if (!rec) return PTEL_E_INVALID_ARGUMENT;
    if (PTEL__UNLIKELY(!rec->recording)) return 0;
    if (rec->finished) return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_STATE);
    if (parent && (parent->rec != rec || parent->state == REC_SPAN_NONRECORDING)) {
        /* A child of a non-recording span does not record either. */
        if (parent->rec == rec) return 0;
        return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ARGUMENT);
    }
    if (kind > PTEL_SPAN_KIND_CONSUMER)
        return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ARGUMENT);
    if (rec->span_count >= rec->limits.span_count)
        return ptel__rec_refuse(rec, &rec->drops.spans, PTEL_E_LIMIT);

    if (rec->span_count == rec->span_cap) {
        uint32_t cap = rec->span_cap ? rec->span_cap * 2 : 16;
        ptel_span **spans =
            ptel__arena_grow(&rec->arena, rec->spans, sizeof *spans, rec->span_count, cap);
        if (!spans) return ptel__rec_refuse(rec, &rec->drops.spans, PTEL_E_NOMEM);
        rec->spans = spans;
        rec->span_cap = cap;
    }
    ptel_span *s = local ? local : ptel__arena_alloc(&rec->arena, sizeof *s);
    if (!s) return ptel__rec_refuse(rec, &rec->drops.spans, PTEL_E_NOMEM);
    memset(s, 0, sizeof *s);
    s->rec = rec;
    s->state = REC_SPAN_OPEN;
    s->kind = kind ? kind : PTEL_SPAN_KIND_INTERNAL;
    if (span_id && !ptel__is_zero(span_id, 8))
        memcpy(s->span_id, span_id, 8);
    else
        ptel__new_id(&rec->ids, &rec->rng, s->span_id, 8);
    if (parent) {
        memcpy(s->parent_id, parent->span_id, 8);
        s->parent_remote = false;
    } else if (parent_id && !ptel__is_zero(parent_id, 8)) {
        memcpy(s->parent_id, parent_id, 8); /* a local span, recorded later or earlier */
        s->parent_remote = false;
    } else {
        memcpy(s->parent_id, rec->cf.parent.span_id, 8);
        s->parent_remote = rec->cf.parent.is_remote;
    }
    s->trace_flags = rec->cf.parent.trace_flags;
    s->start = start ? start : ptel_recorder_now(rec);
    int rc = 0;
    if (local && name_len && name && ptel__utf8_valid(name, name_len)) {
        s->name.ptr = name;
        s->name.len = name_len;
    } else {
        rc = rec_copy_text(rec, &s->name, name, name_len);
    }
    if (rc == PTEL_E_NOMEM) return ptel__rec_refuse(rec, &rec->drops.spans, rc);
    rec->spans[rec->span_count++] = local ? NULL : s;
    *out = s;
    if (rc) return ptel__rec_refuse(rec, &rec->drops.errors, rc);
    if (span_id && ptel__is_zero(span_id, 8))
        return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ID);
    return 0;
}

int ptel_span_start(ptel_span **out, ptel_recorder *rec, const ptel_span *parent, const char *name,
                    size_t name_len, uint32_t kind, uint64_t start_unix_nano) {
    if (PTEL__LIKELY(out && rec && !rec->recording)) { /* the disabled path */
        *out = &rec->nonrecording;
        return 0;
    }
    return rec_span_begin(out, rec, parent, NULL, name, name_len, kind, start_unix_nano, NULL,
                          NULL);
}

int ptel_span_start_with_attributes(ptel_span **out, ptel_recorder *rec, const ptel_span *parent,
                                    const char *name, size_t name_len, uint32_t kind,
                                    uint64_t start_unix_nano, const ptel_attr *attrs,
                                    size_t count) {
    int rc = ptel_span_start(out, rec, parent, name, name_len, kind, start_unix_nano);
    if (!out || !*out || !count) return rc;
    int rc2 = ptel_span_set_attributes(*out, attrs, count);
    return rc ? rc : rc2;
}

int ptel_span_start_with_id(ptel_span **out, ptel_recorder *rec, const ptel_span *parent,
                            const char *name, size_t name_len, uint32_t kind,
                            uint64_t start_unix_nano, const uint8_t span_id[8]) {
    static const uint8_t zero_id[8];
    return rec_span_begin(out, rec, parent, NULL, name, name_len, kind, start_unix_nano,
                          span_id ? span_id : zero_id, NULL);
}

/* Common entry check of span operations: 1 = go ahead, else the return value. */
/* Calls on a span that is not open: free for non-recording spans (the
 * disabled path), counted misuse otherwise. Kept out of line so that the
 * public entry points stay a compare and a tail call. */
#if defined(__GNUC__)
__attribute__((noinline, cold))
#endif
static int
rec_span_unusable(ptel_span *s) {
    if (!s || !s->rec) return PTEL_E_INVALID_ARGUMENT;
    if (s->state == REC_SPAN_NONRECORDING) return 0;
    return ptel__rec_refuse(s->rec, &s->rec->drops.errors, PTEL_E_STATE);
}

static bool rec_span_open(const ptel_span *s) {
    return PTEL__LIKELY(s && s->state == REC_SPAN_OPEN && !s->rec->finished);
}

/* The recorder's non-recording span (the disabled path: every operation
 * on it returns 0 and does nothing), tested inline so that it costs a
 * compare and a return, not a call into rec_span_unusable. */
static bool rec_span_idle(const ptel_span *s) { return s && s->state == REC_SPAN_NONRECORDING; }

#if defined(__GNUC__)
#    define PTEL__NOINLINE __attribute__((noinline))
#else
#    define PTEL__NOINLINE
#endif

static PTEL__NOINLINE int rec_set_attributes(ptel_span *span, const ptel_attr *attrs, size_t count);

int ptel_span_set_attributes(ptel_span *span, const ptel_attr *attrs, size_t count) {
    if (!rec_span_open(span)) return rec_span_idle(span) ? 0 : rec_span_unusable(span);
    return rec_set_attributes(span, attrs, count);
}

static int rec_set_attributes(ptel_span *span, const ptel_attr *attrs, size_t count) {
    ptel_recorder *rec = span->rec;
    if (count && !attrs) return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ARGUMENT);
    int rc =
        ptel__rec_attrs_add(rec, &span->attrs, 0x4a, attrs, count, rec->limits.attribute_count);
    if (rc == PTEL_E_LIMIT) return rec->strict ? rc : 0;
    return rc ? ptel__rec_refuse(rec, &rec->drops.errors, rc) : 0;
}

static PTEL__NOINLINE int rec_update_name(ptel_span *span, const char *name, size_t name_len);

int ptel_span_update_name(ptel_span *span, const char *name, size_t name_len) {
    if (!rec_span_open(span)) return rec_span_idle(span) ? 0 : rec_span_unusable(span);
    return rec_update_name(span, name, name_len);
}

static int rec_update_name(ptel_span *span, const char *name, size_t name_len) {
    int rc = rec_copy_text(span->rec, &span->name, name, name_len);
    return rc ? ptel__rec_refuse(span->rec, &span->rec->drops.errors, rc) : 0;
}

/* Encode an Event or Link whose attributes are in rec->scratch: `head` bytes
 * of fixed fields, then the attributes, the dropped count and `tail`. */
static int rec_append_record(ptel_recorder *rec, rec_bytes *dst, uint8_t tag, const uint8_t *head,
                             size_t head_len, uint8_t dropped_tag, const uint8_t *tail,
                             size_t tail_len) {
    rec_attrs *a = &rec->scratch;
    size_t body = head_len + a->bytes.len + tail_len;
    if (a->dropped) body += 1 + ptel__varint_size(a->dropped);
    int rc = ptel__rec_bytes_reserve(rec, dst, ptel__len_field_size(body));
    if (rc) return rc;
    uint8_t *p = dst->p + dst->len;
    *p++ = tag;
    p = ptel__put_varint(p, body);
    memcpy(p, head, head_len);
    p += head_len;
    if (a->bytes.len) memcpy(p, a->bytes.p, a->bytes.len);
    p += a->bytes.len;
    if (a->dropped) {
        *p++ = dropped_tag;
        p = ptel__put_varint(p, a->dropped);
    }
    if (tail_len) memcpy(p, tail, tail_len);
    p += tail_len;
    dst->len = (uint32_t)(p - dst->p);
    return 0;
}

static PTEL__NOINLINE int rec_add_event(ptel_span *span, const char *name, size_t name_len,
                                        uint64_t time_unix_nano, const ptel_attr *attrs,
                                        size_t count);

int ptel_span_add_event(ptel_span *span, const char *name, size_t name_len, uint64_t time_unix_nano,
                        const ptel_attr *attrs, size_t count) {
    if (!rec_span_open(span)) return rec_span_idle(span) ? 0 : rec_span_unusable(span);
    return rec_add_event(span, name, name_len, time_unix_nano, attrs, count);
}

static int rec_add_event(ptel_span *span, const char *name, size_t name_len,
                         uint64_t time_unix_nano, const ptel_attr *attrs, size_t count) {
    ptel_recorder *rec = span->rec;
    if (count && !attrs) return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ARGUMENT);
    if (span->event_count >= rec->limits.event_count) {
        span->dropped_events++;
        return rec->strict ? PTEL_E_LIMIT : 0;
    }
    ptel_str ename;
    int name_rc = rec_copy_text(rec, &ename, name, name_len);
    if (name_rc == PTEL_E_NOMEM) return ptel__rec_refuse(rec, &rec->drops.errors, name_rc);
    ptel__rec_attrs_clear(&rec->scratch);
    int attr_rc = ptel__rec_attrs_add(rec, &rec->scratch, 0x1a, attrs, count,
                                      rec->limits.attributes_per_event);
    if (attr_rc == PTEL_E_NOMEM) return ptel__rec_refuse(rec, &rec->drops.errors, attr_rc);

    uint64_t t = time_unix_nano ? time_unix_nano : ptel_recorder_now(rec);
    size_t head_len = 9 + (ename.len ? ptel__len_field_size(ename.len) : 0);
    if (ename.len > UINT32_MAX / 2) return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_LIMIT);
    uint8_t *head = ptel__arena_alloc(&rec->arena, head_len);
    if (!head) return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_NOMEM);
    uint8_t *p = head;
    *p++ = 0x09;
    p = ptel__put_fixed64(p, t);
    if (ename.len) ptel__put_len_field(p, 0x12, ename.ptr, ename.len);
    int rc = rec_append_record(rec, &span->events, 0x5a, head, head_len, 0x20, NULL, 0);
    if (rc) return ptel__rec_refuse(rec, &rec->drops.errors, rc);
    span->event_count++;
    if (name_rc) return ptel__rec_refuse(rec, &rec->drops.errors, name_rc);
    if (attr_rc && attr_rc != PTEL_E_LIMIT)
        return ptel__rec_refuse(rec, &rec->drops.errors, attr_rc);
    return attr_rc && rec->strict ? attr_rc : 0;
}

static PTEL__NOINLINE int rec_add_link(ptel_span *span, const ptel_span_context *linked,
                                       const char *tracestate, size_t tracestate_len,
                                       const ptel_attr *attrs, size_t count);

int ptel_span_add_link(ptel_span *span, const ptel_span_context *linked, const char *tracestate,
                       size_t tracestate_len, const ptel_attr *attrs, size_t count) {
    if (!rec_span_open(span)) return rec_span_idle(span) ? 0 : rec_span_unusable(span);
    return rec_add_link(span, linked, tracestate, tracestate_len, attrs, count);
}

static int rec_add_link(ptel_span *span, const ptel_span_context *linked, const char *tracestate,
                        size_t tracestate_len, const ptel_attr *attrs, size_t count) {
    ptel_recorder *rec = span->rec;
    if (!linked || (count && !attrs) || (tracestate_len && !tracestate))
        return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ARGUMENT);
    if (!ptel_span_context_is_valid(linked))
        return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ID);
    if (tracestate_len && !ptel__utf8_valid(tracestate, tracestate_len))
        return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_UTF8);
    if (span->link_count >= rec->limits.link_count) {
        span->dropped_links++;
        return rec->strict ? PTEL_E_LIMIT : 0;
    }
    ptel__rec_attrs_clear(&rec->scratch);
    int attr_rc = ptel__rec_attrs_add(rec, &rec->scratch, 0x22, attrs, count,
                                      rec->limits.attributes_per_link);
    if (attr_rc == PTEL_E_NOMEM) return ptel__rec_refuse(rec, &rec->drops.errors, attr_rc);

    size_t head_len = 28 + (tracestate_len ? ptel__len_field_size(tracestate_len) : 0);
    if (tracestate_len > UINT32_MAX / 2)
        return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_LIMIT);
    uint8_t *head = ptel__arena_alloc(&rec->arena, head_len);
    if (!head) return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_NOMEM);
    uint8_t *p = ptel__put_len_field(head, 0x0a, linked->trace_id, 16);
    p = ptel__put_len_field(p, 0x12, linked->span_id, 8);
    if (tracestate_len) ptel__put_len_field(p, 0x1a, tracestate, tracestate_len);
    uint8_t tail[5] = {0x35};
    uint32_t flags =
        linked->trace_flags | REC_FLAG_HAS_IS_REMOTE | (linked->is_remote ? REC_FLAG_IS_REMOTE : 0);
    ptel__put_fixed32(tail + 1, flags);
    int rc = rec_append_record(rec, &span->links, 0x6a, head, head_len, 0x28, tail, sizeof tail);
    if (rc) return ptel__rec_refuse(rec, &rec->drops.errors, rc);
    span->link_count++;
    if (attr_rc && attr_rc != PTEL_E_LIMIT)
        return ptel__rec_refuse(rec, &rec->drops.errors, attr_rc);
    return attr_rc && rec->strict ? attr_rc : 0;
}

static PTEL__NOINLINE int rec_set_status(ptel_span *span, uint32_t code, const char *description,
                                         size_t description_len);

int ptel_span_set_status(ptel_span *span, uint32_t code, const char *description,
                         size_t description_len) {
    if (!rec_span_open(span)) return rec_span_idle(span) ? 0 : rec_span_unusable(span);
    return rec_set_status(span, code, description, description_len);
}

static int rec_set_status(ptel_span *span, uint32_t code, const char *description,
                          size_t description_len) {
    ptel_recorder *rec = span->rec;
    if (code > PTEL_STATUS_ERROR)
        return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ARGUMENT);
    /* OpenTelemetry: UNSET is ignored and OK is final. */
    if (code == PTEL_STATUS_UNSET || span->status_code == PTEL_STATUS_OK) return 0;
    span->status_code = code;
    span->status_message.ptr = "";
    span->status_message.len = 0;
    if (code != PTEL_STATUS_ERROR) return 0;
    int rc = rec_copy_text(rec, &span->status_message, description, description_len);
    return rc ? ptel__rec_refuse(rec, &rec->drops.errors, rc) : 0;
}

static PTEL__NOINLINE int rec_record_exception(ptel_span *span, const char *type, size_t type_len,
                                               const char *message, size_t message_len,
                                               const char *stacktrace, size_t stacktrace_len,
                                               uint64_t time_unix_nano);

int ptel_span_record_exception(ptel_span *span, const char *type, size_t type_len,
                               const char *message, size_t message_len, const char *stacktrace,
                               size_t stacktrace_len, uint64_t time_unix_nano) {
    if (!rec_span_open(span)) return rec_span_idle(span) ? 0 : rec_span_unusable(span);
    return rec_record_exception(span, type, type_len, message, message_len, stacktrace,
                                stacktrace_len, time_unix_nano);
}

static int rec_record_exception(ptel_span *span, const char *type, size_t type_len,
                                const char *message, size_t message_len, const char *stacktrace,
                                size_t stacktrace_len, uint64_t time_unix_nano) {
    ptel_attr attrs[3];
    size_t n = 0;
    const char *keys[3] = {"exception.type", "exception.message", "exception.stacktrace"};
    const char *vals[3] = {type, message, stacktrace};
    size_t lens[3] = {type_len, message_len, stacktrace_len};
    for (int k = 0; k < 3; k++) {
        if (!vals[k]) continue;
        memset(&attrs[n], 0, sizeof attrs[n]);
        attrs[n].key.ptr = keys[k];
        attrs[n].key.len = strlen(keys[k]);
        attrs[n].value.type = PTEL_VALUE_STRING;
        attrs[n].value.str.ptr = vals[k];
        attrs[n].value.str.len = lens[k];
        n++;
    }
    int rc = ptel_span_add_event(span, "exception", 9, time_unix_nano, attrs, n);
    int rc2 = ptel_span_set_status(span, PTEL_STATUS_ERROR, message, message ? message_len : 0);
    return rc ? rc : rc2;
}

/* ---- span encoding ------------------------------------------------------------ */

static size_t rec_status_size(const ptel_span *s) {
    if (s->status_code == PTEL_STATUS_UNSET) return 0;
    return (s->status_message.len ? ptel__len_field_size(s->status_message.len) : 0) + 2;
}

size_t ptel__rec_span_size(const ptel_span *s, bool with_end) {
    const ptel_recorder *rec = s->rec;
    /* trace id, span id, kind, flags (tag 85 01 + fixed32) are always written. */
    size_t n = 18 + 10 + 2 + 6;
    if (rec->cf.tracestate.len) n += ptel__len_field_size(rec->cf.tracestate.len);
    if (!ptel__is_zero(s->parent_id, 8)) n += 10;
    if (s->name.len) n += ptel__len_field_size(s->name.len);
    if (s->start) n += 9;
    if (with_end && s->end) n += 9;
    n += s->attrs.bytes.len;
    if (s->attrs.dropped) n += 1 + ptel__varint_size(s->attrs.dropped);
    n += s->events.len;
    if (s->dropped_events) n += 1 + ptel__varint_size(s->dropped_events);
    n += s->links.len;
    if (s->dropped_links) n += 1 + ptel__varint_size(s->dropped_links);
    size_t st = rec_status_size(s);
    if (st) n += ptel__len_field_size(st);
    return n;
}

uint8_t *ptel__rec_span_write(const ptel_span *s, uint8_t *p, bool with_end) {
    const ptel_recorder *rec = s->rec;
    p = ptel__put_len_field(p, 0x0a, rec->cf.parent.trace_id, 16);
    p = ptel__put_len_field(p, 0x12, s->span_id, 8);
    if (rec->cf.tracestate.len)
        p = ptel__put_len_field(p, 0x1a, rec->cf.tracestate.ptr, rec->cf.tracestate.len);
    if (!ptel__is_zero(s->parent_id, 8)) p = ptel__put_len_field(p, 0x22, s->parent_id, 8);
    if (s->name.len) p = ptel__put_len_field(p, 0x2a, s->name.ptr, s->name.len);
    *p++ = 0x30;
    *p++ = (uint8_t)s->kind;
    if (s->start) {
        *p++ = 0x39;
        p = ptel__put_fixed64(p, s->start);
    }
    if (with_end && s->end) {
        *p++ = 0x41;
        p = ptel__put_fixed64(p, s->end);
    }
    if (s->attrs.bytes.len) memcpy(p, s->attrs.bytes.p, s->attrs.bytes.len);
    p += s->attrs.bytes.len;
    if (s->attrs.dropped) {
        *p++ = 0x50;
        p = ptel__put_varint(p, s->attrs.dropped);
    }
    if (s->events.len) memcpy(p, s->events.p, s->events.len);
    p += s->events.len;
    if (s->dropped_events) {
        *p++ = 0x60;
        p = ptel__put_varint(p, s->dropped_events);
    }
    if (s->links.len) memcpy(p, s->links.p, s->links.len);
    p += s->links.len;
    if (s->dropped_links) {
        *p++ = 0x70;
        p = ptel__put_varint(p, s->dropped_links);
    }
    size_t st = rec_status_size(s);
    if (st) {
        *p++ = 0x7a;
        p = ptel__put_varint(p, st);
        if (s->status_message.len)
            p = ptel__put_len_field(p, 0x12, s->status_message.ptr, s->status_message.len);
        *p++ = 0x18;
        *p++ = (uint8_t)s->status_code;
    }
    *p++ = 0x85;
    *p++ = 0x01;
    uint32_t flags =
        s->trace_flags | REC_FLAG_HAS_IS_REMOTE | (s->parent_remote ? REC_FLAG_IS_REMOTE : 0);
    return ptel__put_fixed32(p, flags);
}

static PTEL__NOINLINE int rec_end(ptel_span *span, uint64_t end_unix_nano);

int ptel_span_end(ptel_span *span, uint64_t end_unix_nano) {
    if (!rec_span_open(span)) return rec_span_idle(span) ? 0 : rec_span_unusable(span);
    return rec_end(span, end_unix_nano);
}

static int rec_end(ptel_span *span, uint64_t end_unix_nano) {
    ptel_recorder *rec = span->rec;
    uint64_t end = end_unix_nano ? end_unix_nano : ptel_recorder_now(rec);
    int rc = 0;
    if (end < span->start) {
        end = span->start; /* never emit end before start; the host would drop it */
        rc = PTEL_E_VALUE;
    }
    span->end = end;
    span->state = REC_SPAN_ENDED;
    size_t body = ptel__rec_span_size(span, true);
    int grc = rec_out_header(rec);
    if (!grc) grc = ptel__buf_reserve(&rec->spans_out, ptel__len_field_size(body));
    if (grc) return ptel__rec_refuse(rec, &rec->drops.spans, grc);
    uint8_t *p = rec->spans_out.data + rec->spans_out.len;
    *p++ = REC_TAG_SPANS;
    p = ptel__put_varint(p, body);
    p = ptel__rec_span_write(span, p, true);
    rec->spans_out.len = (size_t)(p - rec->spans_out.data);
    return rc ? ptel__rec_refuse(rec, &rec->drops.errors, rc) : 0;
}

void ptel_span_get_context(const ptel_span *span, ptel_span_context *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!span || !span->rec) return;
    memcpy(out->trace_id, span->rec->cf.parent.trace_id, 16);
    memcpy(out->span_id, span->span_id, 8);
    out->trace_flags = span->trace_flags;
    out->is_remote = span->state == REC_SPAN_NONRECORDING && span->rec->cf.parent.is_remote;
}

bool ptel_span_is_recording(const ptel_span *span) { return rec_live(span); }

/* First non-zero status of a sequence, so that the result does not depend on
 * the order in which the parts of a span are recorded. */
static void rec_keep(int *first, int rc) {
    if (rc && !*first) *first = rc;
}

int ptel_span_record(ptel_span **out, ptel_recorder *rec, const ptel_span_data *d) {
    ptel_span *s, local;
    if (out) *out = rec ? &rec->nonrecording : NULL;
    if (!rec) return PTEL_E_INVALID_ARGUMENT;
    if (!d) return ptel__rec_refuse(rec, &rec->drops.errors, PTEL_E_INVALID_ARGUMENT);
    /* A span that ends here and is not handed out lives on the stack. */
    bool oneshot = !out && !d->open;
    int first = rec_span_begin(&s, rec, d->parent, d->parent_span_id, d->name.ptr, d->name.len,
                               d->kind, d->start_unix_nano, d->span_id, oneshot ? &local : NULL);
    if (out) *out = s;
    if (!rec_live(s)) return first;
    /* Events and links before the attributes: they encode their own
     * attributes in rec->scratch, which a one-shot span then borrows for
     * its attributes (no copy of them in the arena). Statuses are combined
     * in the order of ptel_span_data's fields. */
    int ev_rc = 0, link_rc = 0;
    for (size_t k = 0; k < d->event_count && d->events; k++) {
        const ptel_event_data *e = &d->events[k];
        rec_keep(&ev_rc, ptel_span_add_event(s, e->name.ptr, e->name.len, e->time_unix_nano,
                                             e->attrs, e->attr_count));
    }
    for (size_t k = 0; k < d->link_count && d->links; k++) {
        const ptel_link_data *l = &d->links[k];
        rec_keep(&link_rc, ptel_span_add_link(s, &l->context, l->tracestate.ptr, l->tracestate.len,
                                              l->attrs, l->attr_count));
    }
    if (oneshot) {
        s->attrs = rec->scratch;
        ptel__rec_attrs_clear(&s->attrs);
    }
    rec_keep(&first, ptel_span_set_attributes(s, d->attrs, d->attr_count));
    rec_keep(&first, ev_rc);
    rec_keep(&first, link_rc);
    rec_keep(&first, ptel_span_set_status(s, d->status_code, d->status_description.ptr,
                                          d->status_description.len));
    rec_add_saturating(&s->attrs.dropped, d->dropped_attributes_count);
    rec_add_saturating(&s->dropped_events, d->dropped_events_count);
    rec_add_saturating(&s->dropped_links, d->dropped_links_count);
    if (!d->open) rec_keep(&first, ptel_span_end(s, d->end_unix_nano));
    if (oneshot) rec->scratch = s->attrs; /* keep what the buffers grew to */
    return first;
}

/* ---- finishing -------------------------------------------------------------------- */

static size_t rec_drops_size(const ptel_drop_counts *d) {
    size_t n = 0;
    const uint32_t v[4] = {d->spans, d->metrics, d->metric_points, d->errors};
    for (int k = 0; k < 4; k++)
        if (v[k]) n += 1 + ptel__varint_size(v[k]);
    return n;
}

static uint8_t *rec_drops_write(const ptel_drop_counts *d, uint8_t *p) {
    const uint32_t v[4] = {d->spans, d->metrics, d->metric_points, d->errors};
    for (int k = 0; k < 4; k++) {
        if (!v[k]) continue;
        *p++ = (uint8_t)((k + 1) << 3);
        p = ptel__put_varint(p, v[k]);
    }
    return p;
}

int ptel_recorder_finish(ptel_recorder *rec, const uint8_t **out, size_t *out_len) {
    if (!rec || !out || !out_len) return PTEL_E_INVALID_ARGUMENT;
    if (!rec->finished) {
        uint64_t now = ptel_recorder_now(rec);
        bool open =
            (rec->features & PTEL_FEATURE_SPANS) && (rec->features & PTEL_FEATURE_OPEN_SPANS);
        size_t metrics =
            (rec->features & PTEL_FEATURE_METRICS) ? ptel__rec_metrics_size(rec, now) : 0;
        size_t extra = metrics;
        if (open)
            for (uint32_t k = 0; k < rec->span_count; k++)
                if (rec->spans[k] && rec->spans[k]->state == REC_SPAN_OPEN)
                    extra += ptel__len_field_size(ptel__rec_span_size(rec->spans[k], false));
        size_t drops = rec_drops_size(&rec->drops);
        if (drops) extra += ptel__len_field_size(drops);

        int rc = rec_out_header(rec);
        if (!rc) rc = ptel__buf_reserve(&rec->spans_out, extra);
        if (rc) return rc;
        uint8_t *p = rec->spans_out.data + rec->spans_out.len;
        if (metrics) p = ptel__rec_metrics_write(rec, p, now);
        if (open)
            for (uint32_t k = 0; k < rec->span_count; k++) {
                const ptel_span *s = rec->spans[k];
                if (!s || s->state != REC_SPAN_OPEN) continue;
                size_t body = ptel__rec_span_size(s, false);
                *p++ = REC_TAG_OPEN_SPANS;
                p = ptel__put_varint(p, body);
                p = ptel__rec_span_write(s, p, false);
            }
        if (drops) {
            *p++ = REC_TAG_DROPPED;
            p = ptel__put_varint(p, drops);
            p = rec_drops_write(&rec->drops, p);
        }
        rec->spans_out.len = (size_t)(p - rec->spans_out.data);
        rec->finished = true;
    }
    *out = rec->spans_out.data;
    *out_len = rec->spans_out.len;
    return 0;
}

int ptel_recorder_finish_into(ptel_recorder *rec, uint8_t *buf, size_t cap, size_t *out_len) {
    if (!out_len) return PTEL_E_INVALID_ARGUMENT;
    const uint8_t *data;
    size_t len;
    int rc = ptel_recorder_finish(rec, &data, &len);
    if (rc) return rc;
    *out_len = len;
    if (!buf || cap < len) return PTEL_E_BUFFER_TOO_SMALL;
    memcpy(buf, data, len);
    return 0;
}
