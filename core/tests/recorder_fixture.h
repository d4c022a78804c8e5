/* Deterministic recorder fixtures shared by the recorder tests: a fake clock,
 * a counting id generator, a counting allocator and a standard context. */
#ifndef PTEL_RECORDER_FIXTURE_H
#define PTEL_RECORDER_FIXTURE_H

#include "test.h"

#include <ptel/ptel.h>
#include <stdlib.h>

#define FX_TIME_BASE 1000000000000ull /* 1e12 ns */

typedef struct fx_env {
    uint64_t mono;      /* fake monotonic clock, advanced by tests */
    uint8_t next_id;    /* last id byte handed out */
    size_t allocations; /* allocator calls that allocated or grew */
    size_t live_bytes;
} fx_env;

static uint64_t fx_mono(void *ud) { return ((fx_env *)ud)->mono; }
static uint64_t fx_real(void *ud) { return FX_TIME_BASE + ((fx_env *)ud)->mono; }

static void fx_ids(void *ud, uint8_t *out, size_t n) {
    memset(out, 0, n);
    out[n - 1] = ++((fx_env *)ud)->next_id;
}

static void *fx_realloc(void *ud, void *p, size_t old, size_t n) {
    fx_env *e = ud;
    if (n == 0) {
        e->live_bytes -= old;
        free(p);
        return NULL;
    }
    e->allocations++;
    e->live_bytes += n - (p ? old : 0);
    return realloc(p, n);
}

static const char FX_TRACEPARENT[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/* A context with the standard ids, sampled, time base FX_TIME_BASE. */
static ptel_context *fx_context(uint32_t decision, const ptel_limits *limits) {
    ptel_context_fields f;
    ptel_context_fields_init(&f);
    static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    static const uint8_t sid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    memcpy(f.parent.trace_id, tid, 16);
    memcpy(f.parent.span_id, sid, 8);
    f.parent.trace_flags = decision == PTEL_DECISION_RECORD_AND_SAMPLE ? 1 : 0;
    f.parent.is_remote = true;
    f.decision = decision;
    f.time_base_unix_nano = FX_TIME_BASE;
    f.plugin_name.ptr = "pii_filter";
    f.plugin_name.len = 10;
    if (limits) f.limits = *limits;
    ptel_context *ctx = NULL;
    if (ptel_context_new(&ctx, &f, NULL, NULL) != 0) {
        fprintf(stderr, "fixture: ptel_context_new failed\n");
        exit(2);
    }
    return ctx;
}

static ptel_recorder *fx_recorder(fx_env *env, const ptel_context *ctx, bool strict) {
    ptel_recorder_options o;
    ptel_recorder_options_init(&o);
    o.clock.monotonic_ns = fx_mono;
    o.clock.realtime_ns = fx_real;
    o.clock.ud = env;
    o.ids.fill = fx_ids;
    o.ids.ud = env;
    o.allocator.realloc = fx_realloc;
    o.allocator.ud = env;
    o.strict = strict;
    ptel_recorder *rec = NULL;
    if (ptel_recorder_new(&rec, ctx, &o) != 0) {
        fprintf(stderr, "fixture: ptel_recorder_new failed\n");
        exit(2);
    }
    return rec;
}

static ptel_attr fx_str(const char *k, const char *v) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = k;
    a.key.len = strlen(k);
    a.value.type = PTEL_VALUE_STRING;
    a.value.str.ptr = v;
    a.value.str.len = strlen(v);
    return a;
}

static ptel_attr fx_int(const char *k, int64_t v) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = k;
    a.key.len = strlen(k);
    a.value.type = PTEL_VALUE_INT;
    a.value.i = v;
    return a;
}

#endif
