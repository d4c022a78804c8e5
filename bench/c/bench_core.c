/* bench_core — benchmarks of the C core, one binary, run by bench/run.sh.
 *
 * The span every measurement uses: name "pii_filter.scan", 10 attributes of
 * mixed types, one event with 2 attributes, status ERROR with a message.
 *
 *   record         ptel_span_start, set_attributes (10), add_event (2 attrs),
 *                  set_status, ptel_span_end with explicit timestamps, on a warm
 *                  recorder reset every BN_BATCH spans (the reset is timed)
 *   record_clock   the same with timestamps 0 (the system clock stamps them)
 *   end_only       ptel_span_end alone on spans built beforehand (untimed)
 *   finish         ptel_recorder_finish of a batch, per span
 *   pbc_pack       protobuf_c_message_pack of the equivalent ptel.v1.Span,
 *                  built once; its bytes are checked equal to the recorder's
 *   memcpy         memcpy of as many bytes as the encoded span
 *   host           ptel_invocation_end (validate) + ptel_invocation_export_traces
 *                  (splice) of a PluginTelemetry of BN_HOST_SPANS such spans
 *   disabled       start + set_attributes (10) + end under a DROP decision
 *
 * The comparison with protobuf-c uses the full record path: both start from a
 * structured description of the span in memory (ptel_attr arrays / the
 * protobuf-c message) and end with the Span bytes. The recorder encodes each
 * attribute as it is set and ptel_span_end copies the parts together, so
 * "end_only" alone would flatter it.
 *
 * Usage: bench_core [--check] [--time-ms N] [--only NAME] [--callgrind NAME N]
 *   default      every measurement, one line each, then "--- summary" and
 *                lines "name value unit"
 *   --check      run each path a few times and verify it (0 allocations when
 *                warm, bytes equal to protobuf-c's, host accepts every span
 *                unchanged and exports the plugin's bytes verbatim); exit 1
 *                on any failure. Fast (well under a second); no timing.
 *   --time-ms N  time budget of one of the 5 timed runs (default 100)
 *   --callgrind NAME N   warm up, then run path NAME N times inside
 *                bn_cg_region() (for valgrind --toggle-collect=bn_cg_region) */
#include <ptel/ptel.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef PTEL_BENCH_PROTOBUF_C
#    include "ptel/v1/trace.pb-c.h"
#endif

#if defined(__GNUC__)
#    define BN_NOINLINE __attribute__((noinline))
/* Make the compiler assume `p` was read and written: keeps results alive. */
#    define BN_CLOBBER(p) __asm__ volatile("" : : "r"(p) : "memory")
#else
#    define BN_NOINLINE
#    define BN_CLOBBER(p) ((void)(p))
#endif

enum {
    BN_BATCH = 16,       /* spans per recorder reset: one invocation's worth */
    BN_BATCH_MAX = 256,  /* the large-invocation variant */
    BN_HOST_SPANS = 1000 /* spans in the host payload */
};

#define BN_T0 1700000000000000000ull /* a fixed Unix time, ns */

static const uint8_t BN_TRACE_ID[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                        0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t BN_PARENT_ID[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
static const uint8_t BN_INV_SPAN_ID[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};

static const char BN_SPAN_NAME[] = "pii_filter.scan";
static const char BN_EVENT_NAME[] = "pii.detected";
static const char BN_STATUS_MSG[] = "policy violation";

/* ---- timing and allocation counting ----------------------------------------------- */

static uint64_t bn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct bn_alloc {
    uint64_t allocs; /* calls that allocated or grew a block */
    uint64_t frees;
} bn_alloc;

static void *bn_realloc(void *ud, void *p, size_t old, size_t n) {
    bn_alloc *a = ud;
    (void)old;
    if (n == 0) {
        if (p) a->frees++;
        free(p);
        return NULL;
    }
    a->allocs++;
    return realloc(p, n);
}

static int bn_failures;

static void bn_expect(int ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "bench_core: check failed: %s\n", what);
    bn_failures++;
}

static _Noreturn void bn_die(const char *what, int rc) {
    fprintf(stderr, "bench_core: %s failed: %d %s\n", what, rc, ptel_strerror(rc));
    exit(2);
}

/* ---- the span ----------------------------------------------------------------------- */

static ptel_attr bn_str(const char *k, const char *v) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = k;
    a.key.len = strlen(k);
    a.value.type = PTEL_VALUE_STRING;
    a.value.str.ptr = v;
    a.value.str.len = strlen(v);
    return a;
}

static ptel_attr bn_num(const char *k, uint32_t type, int64_t i, double d) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = k;
    a.key.len = strlen(k);
    a.value.type = type;
    a.value.i = i;
    a.value.d = d;
    return a;
}

typedef struct bn_input {
    ptel_attr attrs[10];
    ptel_attr event_attrs[2];
} bn_input;

static void bn_input_init(bn_input *in) {
    in->attrs[0] = bn_str("http.request.method", "POST");
    in->attrs[1] = bn_str("url.path", "/v1/chat/completions");
    in->attrs[2] = bn_num("http.response.status_code", PTEL_VALUE_INT, 200, 0);
    in->attrs[3] = bn_str("server.address", "api.example.com");
    in->attrs[4] = bn_num("server.port", PTEL_VALUE_INT, 443, 0);
    in->attrs[5] = bn_num("pii.detections", PTEL_VALUE_INT, 3, 0);
    in->attrs[6] = bn_num("pii.redacted", PTEL_VALUE_BOOL, 1, 0);
    in->attrs[7] = bn_num("pii.score", PTEL_VALUE_DOUBLE, 0, 0.875);
    in->attrs[8] = bn_str("user_agent.original", "ptel-bench/1.0");
    in->attrs[9] = bn_num("request.body.size", PTEL_VALUE_INT, 18234, 0);
    in->event_attrs[0] = bn_str("pii.type", "email");
    in->event_attrs[1] = bn_num("pii.offset", PTEL_VALUE_INT, 1024, 0);
}

/* Record the span starting at `t` (0: every time from the recorder's clock). */
static int bn_record_one(ptel_recorder *rec, const bn_input *in, uint64_t t, ptel_span **out) {
    ptel_span *s;
    int rc = ptel_span_start(&s, rec, NULL, BN_SPAN_NAME, sizeof BN_SPAN_NAME - 1,
                             PTEL_SPAN_KIND_INTERNAL, t);
    rc |= ptel_span_set_attributes(s, in->attrs, 10);
    rc |= ptel_span_add_event(s, BN_EVENT_NAME, sizeof BN_EVENT_NAME - 1, t ? t + 500 : 0,
                              in->event_attrs, 2);
    rc |= ptel_span_set_status(s, PTEL_STATUS_ERROR, BN_STATUS_MSG, sizeof BN_STATUS_MSG - 1);
    rc |= ptel_span_end(s, t ? t + 1000 : 0);
    if (out) *out = s;
    return rc;
}

/* Decode a varint; returns bytes used, 0 when malformed or truncated. */
static size_t bn_varint(const uint8_t *p, size_t n, uint64_t *v) {
    *v = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        *v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (p[i] < 0x80) return i + 1;
    }
    return 0;
}

/* The first PluginTelemetry.spans field (tag 0x12) of a payload that starts
 * with the protocol version field (08 01). */
static int bn_first_span(const uint8_t *payload, size_t len, const uint8_t **span,
                         size_t *span_len) {
    uint64_t n;
    if (len < 3 || payload[0] != 0x08 || payload[1] != 0x01 || payload[2] != 0x12) return -1;
    size_t k = bn_varint(payload + 3, len - 3, &n);
    if (!k || n > len - 3 - k) return -1;
    *span = payload + 3 + k;
    *span_len = (size_t)n;
    return 0;
}

static ptel_context *bn_context(uint32_t decision) {
    ptel_context_fields f;
    ptel_context_fields_init(&f);
    memcpy(f.parent.trace_id, BN_TRACE_ID, 16);
    memcpy(f.parent.span_id, BN_PARENT_ID, 8);
    f.parent.trace_flags = decision == PTEL_DECISION_RECORD_AND_SAMPLE ? 1 : 0;
    f.parent.is_remote = true;
    f.decision = decision;
    f.time_base_unix_nano = BN_T0;
    f.plugin_name.ptr = "pii_filter";
    f.plugin_name.len = 10;
    ptel_context *ctx = NULL;
    int rc = ptel_context_new(&ctx, &f, NULL, NULL);
    if (rc) bn_die("ptel_context_new", rc);
    return ctx;
}

static ptel_recorder *bn_recorder(const ptel_context *ctx, bn_alloc *counter) {
    ptel_recorder_options o;
    ptel_recorder_options_init(&o);
    o.allocator.realloc = bn_realloc;
    o.allocator.ud = counter;
    ptel_recorder *rec = NULL;
    int rc = ptel_recorder_new(&rec, ctx, &o);
    if (rc) bn_die("ptel_recorder_new", rc);
    return rec;
}

/* ---- path: record ------------------------------------------------------------------- */

typedef struct bn_rec_state {
    bn_input in;
    ptel_context *ctx;
    ptel_recorder *rec;
    bn_alloc alloc;
    uint32_t batch; /* spans per reset */
    uint32_t in_batch;
    bool use_clock; /* timestamps 0: the recorder reads the system clock */
    int rc;         /* OR of every status */
    uint64_t spans;
    ptel_span *handles[BN_BATCH_MAX];
} bn_rec_state;

static void bn_rec_init(bn_rec_state *st, uint32_t decision) {
    memset(st, 0, sizeof *st);
    bn_input_init(&st->in);
    st->batch = BN_BATCH;
    st->ctx = bn_context(decision);
    st->rec = bn_recorder(st->ctx, &st->alloc);
}

static void bn_rec_free(bn_rec_state *st) {
    ptel_recorder_free(st->rec);
    ptel_context_free(st->ctx);
}

static BN_NOINLINE uint64_t bn_loop_record(void *vst, uint64_t n) {
    bn_rec_state *st = vst;
    uint64_t t0 = bn_now();
    for (uint64_t i = 0; i < n; i++) {
        if (st->in_batch >= st->batch) {
            st->rc |= ptel_recorder_reset(st->rec, st->ctx);
            st->in_batch = 0;
        }
        uint64_t t = st->use_clock ? 0 : BN_T0 + 1000 + (uint64_t)st->in_batch * 2000;
        st->rc |= bn_record_one(st->rec, &st->in, t, NULL);
        st->in_batch++;
    }
    st->spans += n;
    return bn_now() - t0;
}

/* ptel_span_end alone: each batch builds st->batch spans untimed, then ends
 * them timed. `n` counts spans. */
static BN_NOINLINE uint64_t bn_loop_end_only(void *vst, uint64_t n) {
    bn_rec_state *st = vst;
    uint64_t total = 0;
    for (uint64_t done = 0; done < n;) {
        uint32_t b = n - done < st->batch ? (uint32_t)(n - done) : st->batch;
        st->rc |= ptel_recorder_reset(st->rec, st->ctx);
        for (uint32_t k = 0; k < b; k++) {
            ptel_span *s;
            uint64_t t = BN_T0 + 1000 + (uint64_t)k * 2000;
            st->rc |= ptel_span_start(&s, st->rec, NULL, BN_SPAN_NAME, sizeof BN_SPAN_NAME - 1,
                                      PTEL_SPAN_KIND_INTERNAL, t);
            st->rc |= ptel_span_set_attributes(s, st->in.attrs, 10);
            st->rc |= ptel_span_add_event(s, BN_EVENT_NAME, sizeof BN_EVENT_NAME - 1, t + 500,
                                          st->in.event_attrs, 2);
            st->rc |=
                ptel_span_set_status(s, PTEL_STATUS_ERROR, BN_STATUS_MSG, sizeof BN_STATUS_MSG - 1);
            st->handles[k] = s;
        }
        uint64_t t0 = bn_now();
        for (uint32_t k = 0; k < b; k++)
            st->rc |= ptel_span_end(st->handles[k], BN_T0 + 2000 + (uint64_t)k * 2000);
        total += bn_now() - t0;
        done += b;
    }
    st->spans += n;
    return total;
}

/* ptel_recorder_finish of full batches; `n` counts batches of st->batch spans. */
static BN_NOINLINE uint64_t bn_loop_finish(void *vst, uint64_t n) {
    bn_rec_state *st = vst;
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        st->rc |= ptel_recorder_reset(st->rec, st->ctx);
        for (uint32_t k = 0; k < st->batch; k++)
            st->rc |= bn_record_one(st->rec, &st->in, BN_T0 + 1000 + (uint64_t)k * 2000, NULL);
        const uint8_t *out;
        size_t len;
        uint64_t t0 = bn_now();
        st->rc |= ptel_recorder_finish(st->rec, &out, &len);
        total += bn_now() - t0;
        BN_CLOBBER(out);
    }
    st->in_batch = st->batch; /* the next record loop starts with a reset */
    return total;
}

/* ---- path: disabled ----------------------------------------------------------------- */

static BN_NOINLINE uint64_t bn_loop_disabled(void *vst, uint64_t n) {
    bn_rec_state *st = vst;
    /* Locals, as a plugin holds them: through `st` every call would force
     * a reload and a read-modify-write of st->rc. */
    ptel_recorder *rec = st->rec;
    const ptel_attr *attrs = st->in.attrs;
    int rc = 0;
    uint64_t t0 = bn_now();
    for (uint64_t i = 0; i < n; i++) {
        ptel_span *s;
        rc |= ptel_span_start(&s, rec, NULL, BN_SPAN_NAME, sizeof BN_SPAN_NAME - 1,
                              PTEL_SPAN_KIND_INTERNAL, 0);
        rc |= ptel_span_set_attributes(s, attrs, 10);
        rc |= ptel_span_end(s, 0);
    }
    uint64_t t = bn_now() - t0;
    st->rc |= rc;
    st->spans += n;
    return t;
}

/* What a binding does first (DESIGN.md §9): one call, then skip everything. */
static BN_NOINLINE uint64_t bn_loop_disabled_check(void *vst, uint64_t n) {
    bn_rec_state *st = vst;
    uint64_t t0 = bn_now();
    uint64_t recording = 0;
    for (uint64_t i = 0; i < n; i++) {
        const ptel_recorder *rec = st->rec;
        BN_CLOBBER(rec);
        recording += ptel_recorder_is_recording(rec);
    }
    st->spans += recording; /* stays 0 */
    return bn_now() - t0;
}

/* ---- path: memcpy ------------------------------------------------------------------- */

typedef struct bn_copy_state {
    _Alignas(64) uint8_t src[16384];
    _Alignas(64) uint8_t dst[16384 + 64];
    size_t len;
    size_t dst_off; /* destination offset from a 64-byte boundary */
} bn_copy_state;

static BN_NOINLINE uint64_t bn_loop_memcpy(void *vst, uint64_t n) {
    bn_copy_state *st = vst;
    uint64_t t0 = bn_now();
    for (uint64_t i = 0; i < n; i++) {
        BN_CLOBBER(st->src);
        memcpy(st->dst + st->dst_off, st->src, st->len);
        BN_CLOBBER(st->dst);
    }
    return bn_now() - t0;
}

/* ---- path: protobuf-c --------------------------------------------------------------- */

#ifdef PTEL_BENCH_PROTOBUF_C
typedef struct bn_pbc_state {
    Ptel__V1__Span span;
    Ptel__V1__KeyValue kv[12];
    Ptel__V1__AnyValue av[12];
    Ptel__V1__KeyValue *kvp[12];
    Ptel__V1__Span__Event event;
    Ptel__V1__Span__Event *eventp;
    Ptel__V1__Status status;
    uint8_t span_id[8];
    uint8_t out[4096];
    size_t len;
    uint64_t sink;
} bn_pbc_state;

/* protobuf-c wants NUL-terminated strings; every string here is a literal. */
static char *bn_cstr(ptel_str s) { return (char *)(uintptr_t)s.ptr; }

static void bn_pbc_attr(bn_pbc_state *st, size_t k, const ptel_attr *a) {
    Ptel__V1__KeyValue *kv = &st->kv[k];
    Ptel__V1__AnyValue *av = &st->av[k];
    ptel__v1__key_value__init(kv);
    ptel__v1__any_value__init(av);
    kv->key = bn_cstr(a->key);
    kv->value = av;
    st->kvp[k] = kv;
    switch (a->value.type) {
    case PTEL_VALUE_STRING:
        av->value_case = PTEL__V1__ANY_VALUE__VALUE_STRING_VALUE;
        av->string_value = bn_cstr(a->value.str);
        break;
    case PTEL_VALUE_BOOL:
        av->value_case = PTEL__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        av->bool_value = a->value.i != 0;
        break;
    case PTEL_VALUE_INT:
        av->value_case = PTEL__V1__ANY_VALUE__VALUE_INT_VALUE;
        av->int_value = a->value.i;
        break;
    default:
        av->value_case = PTEL__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        av->double_value = a->value.d;
        break;
    }
}

/* The ptel.v1.Span the recorder writes for bn_record_one(t) with `span_id`
 * under bn_context(RECORD_AND_SAMPLE). */
static void bn_pbc_build(bn_pbc_state *st, const bn_input *in, const uint8_t span_id[8],
                         uint64_t t) {
    memset(st, 0, sizeof *st);
    memcpy(st->span_id, span_id, 8);
    ptel__v1__span__init(&st->span);
    Ptel__V1__Span *s = &st->span;
    s->trace_id.data = (uint8_t *)(uintptr_t)BN_TRACE_ID;
    s->trace_id.len = 16;
    s->span_id.data = st->span_id;
    s->span_id.len = 8;
    s->parent_span_id.data = (uint8_t *)(uintptr_t)BN_PARENT_ID;
    s->parent_span_id.len = 8;
    s->name = (char *)(uintptr_t)BN_SPAN_NAME;
    s->kind = PTEL__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
    s->start_time_unix_nano = t;
    s->end_time_unix_nano = t + 1000;
    for (size_t k = 0; k < 10; k++) bn_pbc_attr(st, k, &in->attrs[k]);
    s->n_attributes = 10;
    s->attributes = st->kvp;
    ptel__v1__span__event__init(&st->event);
    st->event.time_unix_nano = t + 500;
    st->event.name = (char *)(uintptr_t)BN_EVENT_NAME;
    for (size_t k = 0; k < 2; k++) bn_pbc_attr(st, 10 + k, &in->event_attrs[k]);
    st->event.n_attributes = 2;
    st->event.attributes = st->kvp + 10;
    st->eventp = &st->event;
    s->n_events = 1;
    s->events = &st->eventp;
    ptel__v1__status__init(&st->status);
    st->status.message = (char *)(uintptr_t)BN_STATUS_MSG;
    st->status.code = PTEL__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
    s->status = &st->status;
    /* trace flags 01, has-is-remote (0x100), parent is remote (0x200) */
    s->flags = 0x301;
    st->len = ptel__v1__span__get_packed_size(s);
}

static BN_NOINLINE uint64_t bn_loop_pack(void *vst, uint64_t n) {
    bn_pbc_state *st = vst;
    uint64_t t0 = bn_now();
    for (uint64_t i = 0; i < n; i++) {
        BN_CLOBBER(&st->span);
        size_t len = protobuf_c_message_pack(&st->span.base, st->out);
        st->sink += len + st->out[len - 1];
    }
    return bn_now() - t0;
}

/* Compare the recorder's span with protobuf-c: equal bytes, and the
 * recorder's bytes decode (protobuf-c) to the same content and re-pack to
 * the same bytes. */
static void bn_pbc_verify(bn_pbc_state *st, const uint8_t *span, size_t span_len) {
    size_t len = protobuf_c_message_pack(&st->span.base, st->out);
    bn_expect(len == st->len, "protobuf-c packed size equals get_packed_size");
    bn_expect(len == span_len, "protobuf-c Span size equals the recorder's");
    bn_expect(len == span_len && memcmp(st->out, span, len) == 0,
              "protobuf-c Span bytes equal the recorder's");
    Ptel__V1__Span *u = ptel__v1__span__unpack(NULL, span_len, span);
    bn_expect(u != NULL, "protobuf-c unpacks the recorder's span");
    if (!u) return;
    bn_expect(strcmp(u->name, BN_SPAN_NAME) == 0, "unpacked name");
    bn_expect(u->span_id.len == 8 && memcmp(u->span_id.data, st->span_id, 8) == 0,
              "unpacked span id");
    bn_expect(u->start_time_unix_nano == st->span.start_time_unix_nano &&
                  u->end_time_unix_nano == st->span.end_time_unix_nano,
              "unpacked times");
    bn_expect(u->n_attributes == 10, "unpacked 10 attributes");
    for (size_t k = 0; k < u->n_attributes && k < 10; k++) {
        const Ptel__V1__KeyValue *a = u->attributes[k], *b = st->kvp[k];
        bn_expect(strcmp(a->key, b->key) == 0 && a->value &&
                      a->value->value_case == b->value->value_case,
                  "unpacked attribute key and type");
    }
    bn_expect(u->n_events == 1 && u->events[0]->n_attributes == 2 &&
                  strcmp(u->events[0]->name, BN_EVENT_NAME) == 0,
              "unpacked event");
    bn_expect(u->status && u->status->code == PTEL__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR &&
                  strcmp(u->status->message, BN_STATUS_MSG) == 0,
              "unpacked status");
    uint8_t again[4096];
    size_t n2 = ptel__v1__span__get_packed_size(u);
    bn_expect(n2 == span_len && n2 <= sizeof again && ptel__v1__span__pack(u, again) == n2 &&
                  memcmp(again, span, n2) == 0,
              "protobuf-c round trip re-packs the same bytes");
    ptel__v1__span__free_unpacked(u, NULL);
}
#endif

/* ---- path: host ---------------------------------------------------------------------- */

typedef struct bn_host_state {
    bn_alloc alloc;
    ptel_invocation_options opts;
    ptel_invocation *inv; /* reused: ptel_invocation_reset per invocation, as a host does */
    uint8_t *payload;
    size_t payload_len;
    size_t spans_off; /* the spans fields inside the payload */
    size_t spans_len;
    uint8_t *out;
    size_t out_cap;
    size_t out_len;
    uint64_t invocations;
    uint64_t end_ns;
    uint64_t export_ns;
    uint64_t allocs_inside;  /* allocator calls inside end + export */
    uint64_t allocs_outside; /* inside begin / reset */
    ptel_report report;
    int rc;
} bn_host_state;

static uint64_t bn_host_mono(void *ud) {
    (void)ud;
    return 5000000000ull;
}

static uint64_t bn_host_real(void *ud) {
    (void)ud;
    return BN_T0 + 10000000ull; /* the invocation ends 10 ms after it started */
}

static ptel_invocation *bn_host_begin(bn_host_state *st) {
    ptel_invocation *inv = NULL;
    int rc = ptel_invocation_begin(&inv, &st->opts, NULL);
    if (rc) bn_die("ptel_invocation_begin", rc);
    return inv;
}

/* Set up the host path; returns 0, or the failing status (message printed). */
static int bn_host_init(bn_host_state *st) {
    memset(st, 0, sizeof *st);
    ptel_invocation_options *o = &st->opts;
    ptel_invocation_options_init(o);
    memcpy(o->parent.trace_id, BN_TRACE_ID, 16);
    memcpy(o->parent.span_id, BN_PARENT_ID, 8);
    o->parent.trace_flags = 1;
    o->decision = PTEL_DECISION_RECORD_AND_SAMPLE;
    o->plugin_name.ptr = "pii_filter";
    o->plugin_name.len = 10;
    o->plugin_version.ptr = "1.0.0";
    o->plugin_version.len = 5;
    o->hook.ptr = "tool_pre_invoke";
    o->hook.len = 15;
    memcpy(o->span_id, BN_INV_SPAN_ID, 8);
    o->start_unix_nano = BN_T0;
    o->clock.monotonic_ns = bn_host_mono;
    o->clock.realtime_ns = bn_host_real;
    o->allocator.realloc = bn_realloc;
    o->allocator.ud = &st->alloc;

    /* The payload: BN_HOST_SPANS spans recorded under the invocation's context. */
    ptel_invocation *inv = bn_host_begin(st);
    bn_alloc rec_alloc = {0, 0};
    ptel_recorder *rec = bn_recorder(ptel_invocation_context(inv), &rec_alloc);
    bn_input in;
    bn_input_init(&in);
    for (uint32_t k = 0; k < BN_HOST_SPANS; k++)
        st->rc |= bn_record_one(rec, &in, BN_T0 + 1000 + (uint64_t)k * 2000, NULL);
    const uint8_t *p;
    size_t n;
    int rc = ptel_recorder_finish(rec, &p, &n);
    if (rc) bn_die("ptel_recorder_finish", rc);
    st->payload = malloc(n);
    if (!st->payload) bn_die("malloc", PTEL_E_NOMEM);
    memcpy(st->payload, p, n);
    st->payload_len = n;
    /* 08 01, then the spans fields, then (maybe) the drop counts. */
    st->spans_off = 2;
    size_t off = 2;
    while (off < n && st->payload[off] == 0x12) {
        uint64_t len;
        size_t k = bn_varint(st->payload + off + 1, n - off - 1, &len);
        if (!k || len > n - off - 1 - k) break;
        off += 1 + k + (size_t)len;
    }
    st->spans_len = off - 2;
    ptel_recorder_free(rec);
    ptel_invocation_free(inv);

    /* Size the output once. */
    inv = bn_host_begin(st);
    ptel_diag diag;
    memset(&diag, 0, sizeof diag);
    rc = ptel_invocation_end(inv, st->payload, st->payload_len, PTEL_OUTCOME_OK, NULL, 0,
                             &st->report, &diag);
    if (rc) {
        fprintf(stderr,
                "bench_core: host: ptel_invocation_end: %s: %s at offset %" PRIu64
                ", field %u (first reason %s)\n",
                ptel_status_name(rc), diag.reason ? diag.reason : "?", diag.offset, diag.field,
                ptel_reason_name(st->report.first_reason));
        ptel_invocation_free(inv);
        return rc;
    }
    rc = ptel_invocation_export_traces(inv, NULL, NULL, 0, &st->out_cap);
    ptel_invocation_free(inv);
    if (rc != PTEL_E_BUFFER_TOO_SMALL) {
        fprintf(stderr, "bench_core: host: ptel_invocation_export_traces (size query): %s\n",
                ptel_status_name(rc));
        return rc ? rc : PTEL_E_STATE;
    }
    st->out = malloc(st->out_cap);
    if (!st->out) bn_die("malloc", PTEL_E_NOMEM);
    return 0;
}

static void bn_host_free(bn_host_state *st) {
    ptel_invocation_free(st->inv);
    st->inv = NULL;
    free(st->payload);
    free(st->out);
}

/* One op = one invocation: begin (a reset of the reused invocation) untimed,
 * end + export timed. */
static BN_NOINLINE uint64_t bn_loop_host(void *vst, uint64_t n) {
    bn_host_state *st = vst;
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t a0 = st->alloc.allocs;
        if (!st->inv) {
            st->inv = bn_host_begin(st);
        } else {
            int rc = ptel_invocation_reset(st->inv, &st->opts, NULL);
            if (rc) bn_die("ptel_invocation_reset", rc);
        }
        ptel_invocation *inv = st->inv;
        uint64_t a1 = st->alloc.allocs;
        uint64_t t0 = bn_now();
        st->rc |= ptel_invocation_end(inv, st->payload, st->payload_len, PTEL_OUTCOME_OK, NULL, 0,
                                      &st->report, NULL);
        uint64_t t1 = bn_now();
        st->rc |= ptel_invocation_export_traces(inv, NULL, st->out, st->out_cap, &st->out_len);
        uint64_t t2 = bn_now();
        uint64_t a2 = st->alloc.allocs;
        st->allocs_inside += a2 - a1;
        st->allocs_outside += a1 - a0;
        st->end_ns += t1 - t0;
        st->export_ns += t2 - t1;
        total += t2 - t0;
        BN_CLOBBER(st->out);
    }
    st->invocations += n;
    return total;
}

/* ---- the harness --------------------------------------------------------------------- */

typedef uint64_t (*bn_fn)(void *st, uint64_t n);

enum { BN_ROUNDS = 5 };

static uint64_t bn_run_ms = 100; /* per timed run */

/* One timed case. Cases are measured interleaved: round r runs every case
 * once, so two cases' round-r times saw the same machine load, and ratios
 * are taken per round (median) rather than across minutes. */
typedef struct bn_case {
    const char *name;
    bn_fn fn;
    void *st;
    uint64_t iters;       /* ops per timed run */
    double ns[BN_ROUNDS]; /* ns per op of each round */
    double best;          /* min over rounds */
    bool on;
} bn_case;

/* Ops that take about bn_run_ms. */
static uint64_t bn_calibrate(bn_fn fn, void *st) {
    uint64_t target = bn_run_ms * 1000000u;
    uint64_t n = 1, ns;
    for (;;) {
        ns = fn(st, n);
        if (ns >= target / 8 || n >= (UINT64_C(1) << 40)) break;
        n = ns < 1000 ? n * 16 : n * 2;
    }
    double per = (double)ns / (double)n;
    uint64_t iters = (uint64_t)((double)target / (per > 0 ? per : 1));
    return iters ? iters : 1;
}

static void bn_measure_all(bn_case *cases, size_t count) {
    for (size_t k = 0; k < count; k++)
        if (cases[k].on) cases[k].iters = bn_calibrate(cases[k].fn, cases[k].st);
    for (int r = 0; r < BN_ROUNDS; r++)
        for (size_t k = 0; k < count; k++) {
            bn_case *c = &cases[k];
            if (!c->on) continue;
            c->ns[r] = (double)c->fn(c->st, c->iters) / (double)c->iters;
            if (r == 0 || c->ns[r] < c->best) c->best = c->ns[r];
        }
}

static int bn_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over rounds of a->ns[r] / b->ns[r]. */
static double bn_ratio(const bn_case *a, const bn_case *b) {
    double v[BN_ROUNDS];
    for (int r = 0; r < BN_ROUNDS; r++) v[r] = a->ns[r] / b->ns[r];
    qsort(v, BN_ROUNDS, sizeof v[0], bn_cmp_double);
    return v[BN_ROUNDS / 2];
}

typedef struct bn_result {
    const char *name;
    double value;
    const char *unit;
} bn_result;

static bn_result bn_results[64];
static size_t bn_result_count;

static void bn_report(const char *name, double value, const char *unit, const char *what) {
    if (bn_result_count < sizeof bn_results / sizeof bn_results[0])
        bn_results[bn_result_count++] = (bn_result){name, value, unit};
    printf("%-26s %11.3f %-8s %s\n", name, value, unit, what);
    fflush(stdout);
}

/* `only` is NULL (everything) or a comma-separated list of case names. */
static bool bn_selected(const char *only, const char *name) {
    if (!only) return true;
    size_t n = strlen(name);
    for (const char *p = only; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

/* ---- check mode ------------------------------------------------------------------------ */

/* Warm a recorder with batches of `batch` spans, then check that more
 * batches (and their finish) allocate nothing. */
static void bn_check_warm(bn_rec_state *st, uint32_t batch) {
    const uint8_t *out;
    size_t len;
    st->batch = batch;
    st->in_batch = batch;
    bn_loop_record(st, 3 * batch); /* warm: arena chunks and output buffers */
    st->rc |= ptel_recorder_finish(st->rec, &out, &len);
    st->in_batch = batch;
    uint64_t a0 = st->alloc.allocs;
    bn_loop_record(st, 4 * batch);
    st->rc |= ptel_recorder_finish(st->rec, &out, &len);
    bn_expect(st->alloc.allocs == a0, "recorder: 0 allocations per span when warm");
    bn_expect(len > (size_t)batch * 400, "recorder: the payload holds the batch");
    st->in_batch = batch;
    st->batch = BN_BATCH;
}

static void bn_check_recorder(size_t *span_len_out) {
    bn_rec_state st;
    bn_rec_init(&st, PTEL_DECISION_RECORD_AND_SAMPLE);
    bn_check_warm(&st, BN_BATCH);
    bn_check_warm(&st, BN_BATCH_MAX);
    const uint8_t *out;
    size_t len;
    uint64_t a0;
    bn_expect(st.rc == 0, "recorder: every call returned 0");
    ptel_drop_counts d;
    ptel_recorder_drops(st.rec, &d);
    bn_expect(d.spans == 0 && d.errors == 0, "recorder: nothing dropped");

    /* One span on a fresh batch, to compare with protobuf-c. */
    st.rc |= ptel_recorder_reset(st.rec, st.ctx);
    ptel_span *s;
    st.rc |= bn_record_one(st.rec, &st.in, BN_T0 + 1000, &s);
    st.rc |= ptel_recorder_finish(st.rec, &out, &len);
    const uint8_t *span;
    size_t span_len = 0;
    bn_expect(bn_first_span(out, len, &span, &span_len) == 0, "recorder: payload has a span");
    bn_expect(len == 3 + 2 + span_len, "recorder: payload is version + one span");
    *span_len_out = span_len;
#ifdef PTEL_BENCH_PROTOBUF_C
    ptel_span_context sc;
    ptel_span_get_context(s, &sc);
    bn_pbc_state *pbc = malloc(sizeof *pbc);
    if (!pbc) bn_die("malloc", PTEL_E_NOMEM);
    bn_pbc_build(pbc, &st.in, sc.span_id, BN_T0 + 1000);
    if (span_len) bn_pbc_verify(pbc, span, span_len);
    bn_loop_pack(pbc, 16);
    bn_expect(pbc->len == span_len && memcmp(pbc->out, span, span_len) == 0,
              "protobuf-c: repeated packs give the same bytes");
    free(pbc);
#else
    (void)s;
    printf("protobuf-c: not built; byte comparison skipped\n");
#endif

    /* end_only and finish loops run and stay allocation-free. */
    a0 = st.alloc.allocs;
    bn_loop_end_only(&st, 2 * BN_BATCH);
    bn_loop_finish(&st, 2);
    bn_expect(st.alloc.allocs == a0, "recorder: end/finish loops allocate nothing when warm");
    bn_expect(st.rc == 0, "recorder: end/finish loops returned 0");
    bn_rec_free(&st);
}

static void bn_check_disabled(void) {
    bn_rec_state st;
    bn_rec_init(&st, PTEL_DECISION_DROP);
    uint64_t a0 = st.alloc.allocs;
    bn_loop_disabled(&st, 1000);
    bn_loop_disabled_check(&st, 1000);
    bn_expect(st.alloc.allocs == a0, "disabled: 0 allocations");
    bn_expect(st.rc == 0, "disabled: every call returned 0");
    bn_expect(st.spans == 1000, "disabled: is_recording was false every time");
    const uint8_t *out;
    size_t len;
    st.rc |= ptel_recorder_finish(st.rec, &out, &len);
    bn_expect(st.rc == 0 && len == 2 && out[0] == 0x08 && out[1] == 0x01,
              "disabled: the payload holds the version only");
    bn_rec_free(&st);
}

static const uint8_t *bn_memmem(const uint8_t *h, size_t hn, const uint8_t *n, size_t nn) {
    if (nn == 0) return h;
    for (size_t i = 0; nn <= hn && i <= hn - nn; i++)
        if (h[i] == n[0] && memcmp(h + i, n, nn) == 0) return h + i;
    return NULL;
}

static void bn_check_host(void) {
    bn_host_state st;
    int rc = bn_host_init(&st);
    bn_expect(rc == 0, "host: ptel_invocation_end accepts the payload");
    if (rc) {
        bn_host_free(&st);
        return;
    }
    bn_expect(st.rc == 0, "host: payload recorded without errors");
    bn_loop_host(&st, 2);
    uint64_t inside = st.allocs_inside, outside = st.allocs_outside;
    bn_loop_host(&st, 3);
    bn_expect(st.rc == 0, "host: end and export returned 0");
    bn_expect(st.report.status == 0 && st.report.spans_accepted == BN_HOST_SPANS &&
                  st.report.spans_dropped == 0 && st.report.spans_modified == 0,
              "host: every span accepted unchanged");
    bn_expect(st.out_len == st.out_cap, "host: export size equals the size query");
    /* PluginTelemetry.spans and ScopeSpans.spans are both field 2: the
     * plugin's span fields must appear verbatim, in order, in the export. */
    bn_expect(bn_memmem(st.out, st.out_len, st.payload + st.spans_off, st.spans_len) != NULL,
              "host: exported spans are the plugin's bytes verbatim");
    bn_expect(st.spans_len + 2 <= st.payload_len, "host: payload layout");
    bn_expect(st.allocs_inside == inside, "host: 0 allocations per end + export when warm");
    bn_expect(st.allocs_outside == outside, "host: 0 allocations per reset when warm");
    bn_host_free(&st);
}

/* ---- measurements -------------------------------------------------------------------- */

/* The encoded size of the benchmark span, from a recorder. */
static size_t bn_span_len(void) {
    bn_rec_state st;
    bn_rec_init(&st, PTEL_DECISION_RECORD_AND_SAMPLE);
    const uint8_t *out, *span;
    size_t len, span_len;
    st.rc |= bn_record_one(st.rec, &st.in, BN_T0 + 1000, NULL);
    st.rc |= ptel_recorder_finish(st.rec, &out, &len);
    if (st.rc || bn_first_span(out, len, &span, &span_len)) bn_die("span extraction", st.rc);
    bn_rec_free(&st);
    return span_len;
}

enum {
    BN_C_RECORD,
    BN_C_RECORD_B256,
    BN_C_RECORD_CLOCK,
    BN_C_END_ONLY,
    BN_C_FINISH,
    BN_C_PBC_PACK,
    BN_C_MEMCPY,
    BN_C_MEMCPY_PAYLOAD,
    BN_C_MEMCPY_PAYLOAD_OFF2,
    BN_C_HOST,
    BN_C_DISABLED,
    BN_C_DISABLED_CHECK,
    BN_C_COUNT
};

static void bn_bench(const char *only) {
    static bn_rec_state rs[6]; /* record, b256, clock, end_only, finish, disabled */
    static bn_host_state hs;
    static bn_copy_state cp, cp16, cp16off;
    bn_case c[BN_C_COUNT] = {
        [BN_C_RECORD] = {"record", bn_loop_record, &rs[0], 0, {0}, 0, false},
        [BN_C_RECORD_B256] = {"record_b256", bn_loop_record, &rs[1], 0, {0}, 0, false},
        [BN_C_RECORD_CLOCK] = {"record_clock", bn_loop_record, &rs[2], 0, {0}, 0, false},
        [BN_C_END_ONLY] = {"end_only", bn_loop_end_only, &rs[3], 0, {0}, 0, false},
        [BN_C_FINISH] = {"finish", bn_loop_finish, &rs[4], 0, {0}, 0, false},
        [BN_C_PBC_PACK] = {"pbc_pack", NULL, NULL, 0, {0}, 0, false},
        [BN_C_MEMCPY] = {"memcpy", bn_loop_memcpy, &cp, 0, {0}, 0, false},
        [BN_C_MEMCPY_PAYLOAD] = {"memcpy_payload", bn_loop_memcpy, &cp16, 0, {0}, 0, false},
        [BN_C_MEMCPY_PAYLOAD_OFF2] =
            {"memcpy_payload_off2", bn_loop_memcpy, &cp16off, 0, {0}, 0, false},
        [BN_C_HOST] = {"host", bn_loop_host, &hs, 0, {0}, 0, false},
        [BN_C_DISABLED] = {"disabled", bn_loop_disabled, &rs[5], 0, {0}, 0, false},
        [BN_C_DISABLED_CHECK] =
            {"disabled_check", bn_loop_disabled_check, &rs[5], 0, {0}, 0, false},
    };
    size_t span_len = bn_span_len();
    for (int k = 0; k < BN_C_COUNT; k++) c[k].on = bn_selected(only, c[k].name);
    for (int k = 0; k < 5; k++) {
        bn_rec_init(&rs[k], PTEL_DECISION_RECORD_AND_SAMPLE);
        rs[k].batch = rs[k].in_batch = k == 1 ? BN_BATCH_MAX : BN_BATCH;
        rs[k].use_clock = k == 2;
        bn_loop_record(&rs[k], 2 * BN_BATCH_MAX); /* warm */
        rs[k].in_batch = rs[k].batch;
    }
    bn_rec_init(&rs[5], PTEL_DECISION_DROP);
    cp.len = span_len;
    /* What ptel_recorder_finish copies for 16 spans, to offset 2 of its buffer. */
    cp16.len = cp16off.len = (size_t)BN_BATCH * (span_len + 3);
    cp16off.dst_off = 2;
#ifdef PTEL_BENCH_PROTOBUF_C
    static bn_pbc_state pbc;
    static const uint8_t id[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    bn_pbc_build(&pbc, &rs[0].in, id, BN_T0 + 1000);
    if (pbc.len != span_len) bn_die("protobuf-c size differs from the recorder's", -1);
    c[BN_C_PBC_PACK].fn = bn_loop_pack;
    c[BN_C_PBC_PACK].st = &pbc;
#else
    if (c[BN_C_PBC_PACK].on)
        printf("%-26s %11s %-8s %s\n", "pbc_pack_ns", "skipped", "",
               "protobuf-c not found at configure time");
    c[BN_C_PBC_PACK].on = false;
#endif
    if (c[BN_C_HOST].on) {
        if (bn_host_init(&hs) == 0) {
            bn_loop_host(&hs, 2); /* warm */
        } else {
            printf("%-26s %11s %-8s %s\n", "host", "skipped", "", "the host refused the payload");
            c[BN_C_HOST].on = false;
            bn_host_free(&hs);
        }
    }
    uint64_t rec_allocs = rs[0].alloc.allocs, rec_spans = rs[0].spans;
    uint64_t host_invs = hs.invocations, host_in = hs.allocs_inside;
    uint64_t host_out = hs.allocs_outside;
    hs.end_ns = hs.export_ns = 0;

    bn_measure_all(c, BN_C_COUNT);

    bn_report("span_bytes", (double)span_len, "bytes", "the encoded Span message");
    if (c[BN_C_RECORD].on) {
        bn_report("record_ns", c[BN_C_RECORD].best, "ns/span",
                  "start, 10 attrs, event (2 attrs), status, end; explicit times;"
                  " reset every 16 spans");
        bn_report("record_allocs_per_span",
                  (double)(rs[0].alloc.allocs - rec_allocs) / (double)(rs[0].spans - rec_spans),
                  "allocs", "allocator calls per span on a warm recorder");
    }
    if (c[BN_C_RECORD_B256].on)
        bn_report("record_b256_ns", c[BN_C_RECORD_B256].best, "ns/span",
                  "the same, reset every 256 spans (arena outgrows L1/L2)");
    if (c[BN_C_RECORD_CLOCK].on)
        bn_report("record_clock_ns", c[BN_C_RECORD_CLOCK].best, "ns/span",
                  "the same, times 0: the recorder reads the system clock 3 times");
    if (c[BN_C_END_ONLY].on)
        bn_report("end_only_ns", c[BN_C_END_ONLY].best, "ns/span",
                  "ptel_span_end alone (the span built beforehand, untimed)");
    if (c[BN_C_FINISH].on)
        bn_report("finish_ns_per_span", c[BN_C_FINISH].best / BN_BATCH, "ns/span",
                  "ptel_recorder_finish of 16 ended spans, per span");
    if (c[BN_C_PBC_PACK].on)
        bn_report("pbc_pack_ns", c[BN_C_PBC_PACK].best, "ns/span",
                  "protobuf_c_message_pack of the same Span (message built once)");
    if (c[BN_C_MEMCPY].on)
        bn_report("memcpy_ns", c[BN_C_MEMCPY].best, "ns/span",
                  "memcpy of as many bytes as the encoded span");
    if (c[BN_C_MEMCPY_PAYLOAD].on)
        bn_report("memcpy_payload_ns", c[BN_C_MEMCPY_PAYLOAD].best, "ns",
                  "memcpy of a 16-span payload's spans, 64-byte aligned");
    if (c[BN_C_MEMCPY_PAYLOAD_OFF2].on)
        bn_report("memcpy_payload_off2_ns", c[BN_C_MEMCPY_PAYLOAD_OFF2].best, "ns",
                  "the same to destination + 2, as ptel_recorder_finish does");
    if (c[BN_C_PBC_PACK].on && c[BN_C_RECORD].on)
        bn_report("pack_over_record", bn_ratio(&c[BN_C_PBC_PACK], &c[BN_C_RECORD]), "x",
                  "protobuf-c pack / full record path, median of per-round ratios");
    if (c[BN_C_PBC_PACK].on && c[BN_C_END_ONLY].on)
        bn_report("pack_over_end_only", bn_ratio(&c[BN_C_PBC_PACK], &c[BN_C_END_ONLY]), "x",
                  "protobuf-c pack / ptel_span_end, median of per-round ratios");
    if (c[BN_C_MEMCPY].on && c[BN_C_RECORD].on)
        bn_report("record_over_memcpy", bn_ratio(&c[BN_C_RECORD], &c[BN_C_MEMCPY]), "x",
                  "full record path / memcpy of the same bytes");
    if (c[BN_C_MEMCPY].on && c[BN_C_END_ONLY].on)
        bn_report("end_only_over_memcpy", bn_ratio(&c[BN_C_END_ONLY], &c[BN_C_MEMCPY]), "x",
                  "ptel_span_end / memcpy of the same bytes");
    if (c[BN_C_HOST].on) {
        double invs = (double)(hs.invocations - host_invs);
        bn_report("host_payload_bytes", (double)hs.payload_len, "bytes",
                  "PluginTelemetry with 1000 spans");
        bn_report("host_gbps", (double)hs.payload_len / c[BN_C_HOST].best, "GB/s",
                  "ptel_invocation_end + export_traces: payload bytes per ns, best round");
        bn_report("host_end_ns_per_span", (double)hs.end_ns / invs / BN_HOST_SPANS, "ns/span",
                  "ptel_invocation_end (validate), mean over all rounds");
        bn_report("host_export_ns_per_span", (double)hs.export_ns / invs / BN_HOST_SPANS, "ns/span",
                  "ptel_invocation_export_traces (splice), mean over all rounds");
        bn_report("host_allocs_per_call", (double)(hs.allocs_inside - host_in) / invs, "allocs",
                  "allocator calls inside end + export, per invocation");
        bn_report("host_begin_free_allocs", (double)(hs.allocs_outside - host_out) / invs, "allocs",
                  "allocator calls of ptel_invocation_reset, per invocation (untimed)");
        if (hs.rc) bn_die("host benchmark", hs.rc);
        bn_host_free(&hs);
    }
    if (c[BN_C_DISABLED].on)
        bn_report("disabled_ns", c[BN_C_DISABLED].best, "ns/span",
                  "start + set_attributes (10) + end under DROP");
    if (c[BN_C_DISABLED_CHECK].on)
        bn_report("disabled_check_ns", c[BN_C_DISABLED_CHECK].best, "ns/span",
                  "ptel_recorder_is_recording alone (what bindings call first)");
    for (int k = 0; k < 6; k++) {
        if (rs[k].rc) bn_die("recorder benchmark", rs[k].rc);
        bn_rec_free(&rs[k]);
    }

    printf("--- summary (name value unit)\n");
    for (size_t k = 0; k < bn_result_count; k++)
        printf("%s %.4g %s\n", bn_results[k].name, bn_results[k].value, bn_results[k].unit);
}

/* ---- callgrind mode -------------------------------------------------------------------- */

/* The region callgrind collects (--toggle-collect=bn_cg_region). Not a tail
 * call, so that the region really contains the loop. */
static volatile uint64_t bn_cg_sink;

static BN_NOINLINE void bn_cg_region(bn_fn fn, void *st, uint64_t n) { bn_cg_sink = fn(st, n); }

static int bn_callgrind(const char *name, uint64_t n) {
    bn_fn fn = NULL;
    void *st = NULL;
    bn_rec_state rs;
    bn_host_state hs;
    bn_copy_state *cp = NULL;
    bool rec = false, host = false;
#ifdef PTEL_BENCH_PROTOBUF_C
    bn_pbc_state *pbc = NULL;
#endif
    if (strcmp(name, "record") == 0 || strcmp(name, "end_only") == 0 ||
        strcmp(name, "finish") == 0) {
        bn_rec_init(&rs, PTEL_DECISION_RECORD_AND_SAMPLE);
        fn = strcmp(name, "record") == 0   ? bn_loop_record
             : strcmp(name, "finish") == 0 ? bn_loop_finish
                                           : bn_loop_end_only;
        st = &rs;
        rec = true;
    } else if (strcmp(name, "disabled") == 0 || strcmp(name, "disabled_check") == 0) {
        bn_rec_init(&rs, PTEL_DECISION_DROP);
        fn = strcmp(name, "disabled") == 0 ? bn_loop_disabled : bn_loop_disabled_check;
        st = &rs;
        rec = true;
    } else if (strcmp(name, "memcpy") == 0) {
        cp = calloc(1, sizeof *cp);
        if (!cp) bn_die("calloc", PTEL_E_NOMEM);
        bn_rec_init(&rs, PTEL_DECISION_RECORD_AND_SAMPLE);
        const uint8_t *out, *span;
        size_t len;
        rs.rc |= bn_record_one(rs.rec, &rs.in, BN_T0 + 1000, NULL);
        rs.rc |= ptel_recorder_finish(rs.rec, &out, &len);
        if (bn_first_span(out, len, &span, &cp->len)) bn_die("span extraction", -1);
        bn_rec_free(&rs);
        fn = bn_loop_memcpy;
        st = cp;
    } else if (strcmp(name, "host") == 0) {
        if (bn_host_init(&hs)) {
            bn_host_free(&hs);
            return 3;
        }
        fn = bn_loop_host;
        st = &hs;
        host = true;
    } else if (strcmp(name, "pbc_pack") == 0) {
#ifdef PTEL_BENCH_PROTOBUF_C
        static const uint8_t id[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        bn_input in;
        bn_input_init(&in);
        pbc = malloc(sizeof *pbc);
        if (!pbc) bn_die("malloc", PTEL_E_NOMEM);
        bn_pbc_build(pbc, &in, id, BN_T0 + 1000);
        fn = bn_loop_pack;
        st = pbc;
#else
        fprintf(stderr, "bench_core: built without protobuf-c\n");
        return 3;
#endif
    } else {
        fprintf(stderr, "bench_core: unknown path '%s'\n", name);
        return 2;
    }
    /* Warm up outside the region (one host op is a whole invocation). */
    fn(st, host ? 2 : n < 2 * BN_BATCH_MAX ? 2 * BN_BATCH_MAX : n);
    if (rec) rs.in_batch = BN_BATCH; /* start the region with a reset */
    bn_cg_region(fn, st, n);
    if (rec) {
        if (rs.rc) bn_die(name, rs.rc);
        bn_rec_free(&rs);
    }
    if (host) {
        if (hs.rc) bn_die(name, hs.rc);
        bn_host_free(&hs);
    }
    free(cp);
#ifdef PTEL_BENCH_PROTOBUF_C
    free(pbc);
#endif
    printf("%s %" PRIu64 "\n", name, n);
    return 0;
}

int main(int argc, char **argv) {
    const char *only = NULL;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else if (strcmp(argv[i], "--time-ms") == 0 && i + 1 < argc) {
            bn_run_ms = strtoull(argv[++i], NULL, 10);
            if (bn_run_ms == 0) bn_run_ms = 1;
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--callgrind") == 0 && i + 2 < argc) {
            return bn_callgrind(argv[i + 1], strtoull(argv[i + 2], NULL, 10));
        } else {
            fprintf(stderr, "usage: bench_core [--check] [--time-ms N] [--only NAME]"
                            " [--callgrind NAME N]\n");
            return 2;
        }
    }
    if (check) {
        size_t span_len = 0;
        bn_check_recorder(&span_len);
        bn_check_disabled();
        bn_check_host();
        printf("bench_core --check: %s (%d failure%s; span %zu bytes)\n",
               bn_failures ? "FAILED" : "ok", bn_failures, bn_failures == 1 ? "" : "s", span_len);
        return bn_failures ? 1 : 0;
    }
    bn_bench(only);
    return 0;
}
