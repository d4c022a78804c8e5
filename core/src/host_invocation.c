/* The host's invocation: options, the trusted invocation span, the
 * PluginContext handed to the plugin, and ending the invocation (outcome,
 * validation of the plugin's telemetry). */
#include "host_internal.h"

static const ptel_str host_inv_reserved_default[] = {
    {"service.name", 12},        {"service.namespace", 17}, {"service.version", 15},
    {"service.instance.id", 19}, {"telemetry.sdk.", 14},    {"telemetry.distro.", 17},
    {"plugin.name", 11},         {"plugin.hook", 11},       {"plugin.version", 14},
    {"plugin.outcome", 14},
};

void ptel_host_policy_init(ptel_host_policy *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->version = PTEL_HOST_POLICY_VERSION;
    ptel_limits_init(&p->limits);
    p->time_slack_ns = 1000000000u;
    p->time_policy = PTEL_TIME_CLAMP;
}

void ptel_invocation_options_init(ptel_invocation_options *o) {
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->version = PTEL_INVOCATION_OPTIONS_VERSION;
    o->decision = PTEL_DECISION_RECORD_AND_SAMPLE;
}

static bool host_inv_str_ok(ptel_str s) { return s.ptr || !s.len; }

/* Copy a string into the arena (NUL-terminated); false on OOM. */
static bool host_inv_dup(ptel_invocation *inv, ptel_str *dst, ptel_str src) {
    char *p = ptel__arena_alloc(&inv->arena, src.len + 1);
    if (!p) return false;
    if (src.len) memcpy(p, src.ptr, src.len);
    p[src.len] = '\0';
    dst->ptr = p;
    dst->len = src.len;
    return true;
}

typedef int (*host_inv_normalize_fn)(char *buf, size_t cap, size_t *out_len, const char *s,
                                     size_t len, ptel_diag *diag);

/* W3C lists: normalise into the arena; an invalid value becomes empty. */
static bool host_inv_w3c(ptel_invocation *inv, ptel_str *dst, ptel_str src,
                         host_inv_normalize_fn fn) {
    size_t n = 0;
    dst->ptr = "";
    dst->len = 0;
    if (!src.len || fn(NULL, 0, &n, src.ptr, src.len, NULL) != PTEL_E_BUFFER_TOO_SMALL) return true;
    char *p = ptel__arena_alloc(&inv->arena, n + 1);
    if (!p) return false;
    if (fn(p, n + 1, &n, src.ptr, src.len, NULL) != 0) return true;
    dst->ptr = p;
    dst->len = n;
    return true;
}

static int host_inv_options_check(const ptel_invocation_options *o, const ptel_host_policy *p,
                                  ptel_diag *diag) {
    if (o->version != PTEL_INVOCATION_OPTIONS_VERSION)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "unsupported options version");
    if (p->version != PTEL_HOST_POLICY_VERSION)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "unsupported policy version");
    if (o->decision > PTEL_DECISION_RECORD_AND_SAMPLE)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "decision out of range");
    if (p->time_policy > PTEL_TIME_REJECT)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "time_policy out of range");
    const ptel_str strs[5] = {o->plugin_name, o->plugin_version, o->hook, o->span_name,
                              o->tracestate};
    for (int k = 0; k < 5; k++) {
        if (!host_inv_str_ok(strs[k]))
            return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL string");
        if (k < 4 && !host_utf8(strs[k].ptr, strs[k].len))
            return ptel__fail(diag, PTEL_E_UTF8, 0, 0,
                              "plugin name, version, hook or span "
                              "name is not UTF-8");
    }
    if (!host_inv_str_ok(o->baggage))
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL string");
    if (p->reserved_key_count && !p->reserved_keys)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL reserved_keys");
    for (size_t k = 0; k < p->reserved_key_count; k++)
        if (!host_inv_str_ok(p->reserved_keys[k]))
            return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL reserved key");
    return ptel__host_attrs_check(o->attributes, o->attribute_count, diag);
}

/* The PluginContext lives in the invocation's arena: this allocator serves
 * it there, and its free is a no-op (the arena is reset or freed as a whole). */
static void *host_inv_arena_realloc(void *ud, void *p, size_t old, size_t n) {
    if (!n) return NULL;
    void *q = ptel__arena_alloc(ud, n);
    if (q && p && old) memcpy(q, p, old < n ? old : n);
    return q;
}

/* Resolve and check the options; `policy` receives the resolved policy. */
static int host_inv_options(const ptel_invocation_options *o, ptel_host_policy *policy,
                            ptel_diag *diag) {
    if (o->policy)
        *policy = *o->policy;
    else
        ptel_host_policy_init(policy);
    return host_inv_options_check(o, policy, diag);
}

/* Begin the invocation on `inv`, whose allocator, arena and scratch are set
 * up (and empty); every other field is overwritten. */
static int host_inv_setup(ptel_invocation *inv, const ptel_invocation_options *o,
                          const ptel_host_policy *pp, ptel_diag *diag) {
    ptel_host_policy policy = *pp;
    ptel_allocator self_alloc = inv->self_alloc, alloc = inv->alloc;
    ptel__arena arena = inv->arena;
    ptel__buf scratch = inv->scratch;
    bool full_check = inv->full_check;
    uint32_t clean_wrong = inv->clean_wrong, clean_missed = inv->clean_missed;
    memset(inv, 0, sizeof *inv);
    inv->full_check = full_check;
    inv->clean_wrong = clean_wrong;
    inv->clean_missed = clean_missed;
    inv->self_alloc = self_alloc;
    inv->alloc = alloc;
    inv->arena = arena;
    inv->scratch = scratch;
    inv->clock = o->clock;
    inv->ids = o->ids;
    if (!inv->ids.fill) ptel__rng_seed_os(&inv->rng);
    inv->limits = policy.limits;
    ptel_limits_resolve(&inv->limits);
    inv->slack = policy.time_slack_ns;
    inv->time_policy = policy.time_policy;
    inv->accept_record_only = policy.accept_record_only;
    inv->copy_payload = policy.copy_payload;
    inv->decision = o->decision;
    inv->features = o->features ? o->features : PTEL_FEATURES_V1;
    inv->report.first_reason = -1;
    /* Until it succeeds, the invocation is not usable. */
    inv->ended = true;
    inv->idle = true;

    bool ok = true;
    if (!policy.reserved_keys && !policy.reserved_key_count) {
        inv->reserved = host_inv_reserved_default;
        inv->reserved_count =
            sizeof host_inv_reserved_default / sizeof host_inv_reserved_default[0];
    } else if (policy.reserved_key_count) {
        ptel_str *keys =
            ptel__arena_alloc(&inv->arena, policy.reserved_key_count * sizeof(ptel_str));
        ok = keys != NULL;
        for (size_t k = 0; ok && k < policy.reserved_key_count; k++)
            ok = host_inv_dup(inv, &keys[k], policy.reserved_keys[k]);
        inv->reserved = keys;
        inv->reserved_count = policy.reserved_key_count;
    }
    ok = ok && ptel__host_reserved_index(inv);

    /* Trace identity: the parent's trace, or a new random root trace. */
    if (ptel_span_context_is_valid(&o->parent)) {
        memcpy(inv->trace_id, o->parent.trace_id, 16);
        memcpy(inv->parent_id, o->parent.span_id, 8);
        inv->has_parent = true;
        inv->parent_remote = o->parent.is_remote;
        inv->trace_flags = (uint8_t)(o->parent.trace_flags & ~PTEL_TRACE_FLAG_SAMPLED);
    } else if (!ptel__is_zero(o->parent.trace_id, 16)) {
        /* A known trace without a parent span: the invocation span is its root. */
        memcpy(inv->trace_id, o->parent.trace_id, 16);
        inv->trace_flags = (uint8_t)(o->parent.trace_flags & ~PTEL_TRACE_FLAG_SAMPLED);
    } else {
        ptel__new_id(&inv->ids, &inv->rng, inv->trace_id, 16);
        inv->trace_flags = PTEL_TRACE_FLAG_RANDOM;
    }
    if (o->decision == PTEL_DECISION_RECORD_AND_SAMPLE) inv->trace_flags |= PTEL_TRACE_FLAG_SAMPLED;
    if (!ptel__is_zero(o->span_id, 8))
        memcpy(inv->span_id, o->span_id, 8);
    else
        ptel__new_id(&inv->ids, &inv->rng, inv->span_id, 8);
    inv->start = o->start_unix_nano ? o->start_unix_nano : ptel__clock_realtime(&inv->clock);
    inv->mono_start = ptel__clock_monotonic(&inv->clock);

    ptel_str baggage = {"", 0};
    ok = ok && host_inv_dup(inv, &inv->plugin_name, o->plugin_name) &&
         host_inv_dup(inv, &inv->plugin_version, o->plugin_version) &&
         host_inv_dup(inv, &inv->hook, o->hook) &&
         host_inv_dup(inv, &inv->span_name,
                      o->span_name.len ? o->span_name : (ptel_str){"plugin.execute", 14}) &&
         host_inv_w3c(inv, &inv->tracestate, o->tracestate, ptel_tracestate_normalize) &&
         host_inv_w3c(inv, &baggage, o->baggage, ptel_baggage_normalize);
    if (ok && o->attribute_count) {
        host_w cw = {NULL, 0};
        ptel__host_attrs_write(&cw, 0x4a, o->attributes, o->attribute_count);
        uint8_t *buf = ptel__arena_alloc(&inv->arena, cw.n);
        ok = buf != NULL;
        if (ok) {
            host_w w = {buf, 0};
            ptel__host_attrs_write(&w, 0x4a, o->attributes, o->attribute_count);
            inv->extra_attrs = buf;
            inv->extra_attrs_len = w.n;
        }
    }
    if (!ok) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "out of memory");

    ptel_context_fields f;
    ptel_context_fields_init(&f);
    memcpy(f.parent.trace_id, inv->trace_id, 16);
    memcpy(f.parent.span_id, inv->span_id, 8);
    f.parent.trace_flags = inv->trace_flags;
    f.parent.is_remote = o->context_is_remote;
    f.tracestate = inv->tracestate;
    f.baggage = baggage;
    f.decision = inv->decision;
    f.limits = inv->limits;
    f.time_base_unix_nano = inv->start;
    f.plugin_name = inv->plugin_name;
    f.plugin_version = inv->plugin_version;
    f.hook = inv->hook;
    f.features = o->features;
    ptel_allocator in_arena = {host_inv_arena_realloc, &inv->arena};
    int rc = ptel_context_new(&inv->ctx, &f, &in_arena, diag);
    if (rc) return rc;
    inv->ended = false;
    inv->idle = false;
    return 0;
}

int ptel_invocation_begin(ptel_invocation **out, const ptel_invocation_options *o,
                          ptel_diag *diag) {
    if (out) *out = NULL;
    if (!out || !o) return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    ptel_host_policy policy;
    int rc = host_inv_options(o, &policy, diag);
    if (rc) return rc;
    ptel_allocator alloc = ptel__allocator(&o->allocator);
    ptel_invocation *inv = ptel__alloc(&alloc, sizeof *inv);
    if (!inv) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "out of memory");
    memset(inv, 0, sizeof *inv);
    inv->self_alloc = alloc;
    inv->alloc = alloc;
    ptel__arena_init(&inv->arena, alloc);
    ptel__buf_init(&inv->scratch, alloc);
    rc = host_inv_setup(inv, o, &policy, diag);
    if (rc) {
        ptel_invocation_free(inv);
        return rc;
    }
    *out = inv;
    return 0;
}

int ptel_invocation_reset(ptel_invocation *inv, const ptel_invocation_options *o, ptel_diag *diag) {
    if (!inv || !o) return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    ptel_host_policy policy;
    int rc = host_inv_options(o, &policy, diag);
    if (rc) return rc;
    ptel_allocator alloc = ptel__allocator(&o->allocator);
    if (alloc.realloc != inv->alloc.realloc || alloc.ud != inv->alloc.ud) {
        /* Another allocator: give the old memory back to the old one. */
        ptel__arena_free(&inv->arena);
        ptel__buf_free(&inv->scratch);
        inv->alloc = alloc;
        ptel__arena_init(&inv->arena, alloc);
        ptel__buf_init(&inv->scratch, alloc);
    } else {
        ptel__arena_reset(&inv->arena);
        inv->scratch.len = 0;
    }
    return host_inv_setup(inv, o, &policy, diag);
}

const ptel_context *ptel_invocation_context(const ptel_invocation *inv) {
    return inv && !inv->idle ? inv->ctx : NULL;
}

void ptel_invocation_span_context(const ptel_invocation *inv, ptel_span_context *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!inv || inv->idle) return;
    memcpy(out->trace_id, inv->trace_id, 16);
    memcpy(out->span_id, inv->span_id, 8);
    out->trace_flags = inv->trace_flags;
    out->is_remote = false;
}

void ptel_invocation_free(ptel_invocation *inv) {
    if (!inv) return;
    ptel_allocator self_alloc = inv->self_alloc;
    ptel_context_free(inv->ctx); /* a no-op: the context lives in the arena */
    ptel__arena_free(&inv->arena);
    ptel__buf_free(&inv->scratch);
    ptel__free(&self_alloc, inv, sizeof *inv);
}

/* ---- ending ---------------------------------------------------------------------------- */

static const char *const host_inv_outcomes[4] = {"ok", "error", "timeout", "crash"};

/* The invocation span's Span body. */
static void host_inv_span_write(host_w *w, const ptel_invocation *inv) {
    host_w_bytes(w, 0x0a, inv->trace_id, 16);
    host_w_bytes(w, 0x12, inv->span_id, 8);
    if (inv->tracestate.len) host_w_bytes(w, 0x1a, inv->tracestate.ptr, inv->tracestate.len);
    if (inv->has_parent) host_w_bytes(w, 0x22, inv->parent_id, 8);
    host_w_bytes(w, 0x2a, inv->span_name.ptr, inv->span_name.len);
    host_w_byte(w, 0x30);
    host_w_byte(w, PTEL_SPAN_KIND_INTERNAL);
    host_w_byte(w, 0x39);
    host_w_fixed64(w, inv->start);
    host_w_byte(w, 0x41);
    host_w_fixed64(w, inv->end);
    if (inv->plugin_name.len)
        ptel__host_attr_string(w, 0x4a, "plugin.name", 11, inv->plugin_name.ptr,
                               inv->plugin_name.len);
    if (inv->hook.len)
        ptel__host_attr_string(w, 0x4a, "plugin.hook", 11, inv->hook.ptr, inv->hook.len);
    if (inv->plugin_version.len)
        ptel__host_attr_string(w, 0x4a, "plugin.version", 14, inv->plugin_version.ptr,
                               inv->plugin_version.len);
    host_w_raw(w, inv->extra_attrs, inv->extra_attrs_len);
    const char *oc = host_inv_outcomes[inv->outcome];
    ptel__host_attr_string(w, 0x4a, "plugin.outcome", 14, oc, strlen(oc));
    if (inv->outcome != PTEL_OUTCOME_OK) {
        ptel__host_attr_string(w, 0x4a, "error.type", 10, inv->error_type.ptr, inv->error_type.len);
        host_w_head(w, 0x7a, 2);
        host_w_byte(w, 0x18);
        host_w_byte(w, PTEL_STATUS_ERROR);
    }
    host_w_byte(w, 0x85);
    host_w_byte(w, 0x01);
    host_w_fixed32(w, (uint32_t)inv->trace_flags | 0x100u | (inv->parent_remote ? 0x200u : 0));
}

int ptel_invocation_end(ptel_invocation *inv, const uint8_t *payload, size_t len, uint32_t outcome,
                        const char *error_type, size_t error_type_len, ptel_report *report,
                        ptel_diag *diag) {
    if (!inv) return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL invocation");
    if (inv->idle) return ptel__fail(diag, PTEL_E_STATE, 0, 0, "no invocation (a reset failed)");
    if (inv->ended) return ptel__fail(diag, PTEL_E_STATE, 0, 0, "invocation already ended");
    inv->ended = true;
    ptel_report *rep = &inv->report;
    memset(rep, 0, sizeof *rep);
    rep->first_reason = -1;

    /* Arguments: a bad one still ends the invocation, without telemetry. */
    int status = 0;
    const char *why = NULL;
    if (!payload && len)
        why = "NULL payload";
    else if (outcome > PTEL_OUTCOME_CRASH)
        why = "outcome out of range";
    else if (!error_type && error_type_len)
        why = "NULL error_type";
    else if (!host_utf8(error_type, error_type_len))
        why = "error_type is not UTF-8";
    if (why) {
        status = ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, why);
        if (outcome > PTEL_OUTCOME_CRASH) outcome = PTEL_OUTCOME_ERROR;
        error_type_len = 0;
        len = 0;
    }

    uint64_t now = ptel__clock_monotonic(&inv->clock);
    uint64_t elapsed = now > inv->mono_start ? now - inv->mono_start : 0;
    inv->end = inv->start > UINT64_MAX - elapsed ? UINT64_MAX : inv->start + elapsed;
    inv->outcome = outcome;
    ptel_str et = {error_type, error_type_len};
    if (!et.len) {
        static const char *const defaults[4] = {"", "_OTHER", "timeout", "crash"};
        et.ptr = defaults[outcome];
        et.len = strlen(et.ptr);
    }
    bool ok = host_inv_dup(inv, &inv->error_type, et);

    /* The invocation span. */
    if (ok) {
        host_w cw = {NULL, 0};
        host_inv_span_write(&cw, inv);
        uint8_t *buf = ptel__arena_alloc(&inv->arena, cw.n);
        ok = buf != NULL;
        if (ok) {
            host_w w = {buf, 0};
            host_inv_span_write(&w, inv);
            inv->span_bytes = buf;
            inv->span_len = w.n;
        }
    }
    if (ok && len) {
        if (inv->copy_payload) {
            uint8_t *copy = ptel__arena_dup(&inv->arena, payload, len);
            ok = copy != NULL;
            payload = copy;
        }
        if (ok) {
            inv->payload = payload;
            inv->payload_len = len;
            int rc = ptel__host_validate(inv, payload, len, rep);
            if (rc == PTEL_E_NOMEM) {
                ok = false;
            } else if (rc) {
                status = ptel__fail(diag, PTEL_E_REJECTED, rep->first.offset, rep->first.field,
                                    rep->first.reason);
            }
        }
    }
    if (!ok) {
        memset(rep, 0, sizeof *rep);
        rep->first_reason = -1;
        rep->status = PTEL_E_NOMEM;
        inv->span_count = 0;
        inv->spans_size = 0;
        inv->metric_count = 0;
        memset(&inv->span_index, 0, sizeof inv->span_index);
        status = ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "out of memory");
    }
    if (report) *report = *rep;
    return status;
}
