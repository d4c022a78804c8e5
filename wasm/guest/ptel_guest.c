/* The guest glue: implements the exports of the WASM guest ABI (PROTOCOL.md,
 * "WASM guest ABI") on top of the recorder, and calls the plugin's
 * `ptel_plugin_main`. A WASM instance is single-threaded and the exports
 * have no handle argument, so the glue keeps its state in one static
 * `ptel_guest` per instance (this file is not part of the core, which has
 * no globals). Builds natively too, for the byte-identity tests. */
#include "ptel_guest.h"

#include <stdlib.h>
#include <string.h>

#if defined(__wasm__)
#    define GUEST_EXPORT(name) __attribute__((export_name(#    name)))
#else
#    define GUEST_EXPORT(name)
#endif

struct ptel_guest {
    uint32_t flags;
    ptel_recorder *rec;
    ptel_context *ctx; /* borrowed by rec */
    const uint8_t *payload;
    size_t payload_len;
    bool have_payload;
    bool in_plugin; /* ptel_plugin_main is running (or faulted while it ran) */
    uint8_t *output;
    size_t output_len, output_cap;
    uint64_t det_mono; /* PTEL_GUEST_DETERMINISTIC state */
    uint32_t det_ids;
};

static ptel_guest guest_state;

static uint64_t guest_det_monotonic(void *ud) {
    ptel_guest *g = ud;
    return g->det_mono += 1000;
}

static uint64_t guest_det_realtime(void *ud) {
    (void)ud;
    return 1700000000000000000ull;
}

static void guest_det_fill(void *ud, uint8_t *out, size_t len) {
    ptel_guest *g = ud;
    g->det_ids++;
    for (size_t i = 0; i < len; i++) out[i] = (uint8_t)(g->det_ids + i);
}

int ptel_guest_set_output(ptel_guest *g, const uint8_t *data, size_t len) {
    if (len > g->output_cap) {
        uint8_t *p = realloc(g->output, len);
        if (!p) return PTEL_E_NOMEM;
        g->output = p;
        g->output_cap = len;
    }
    if (len) memcpy(g->output, data, len);
    g->output_len = len;
    return 0;
}

GUEST_EXPORT(ptel_guest_abi_version) int32_t ptel_guest_abi_version(void) {
    return PTEL_GUEST_ABI_VERSION;
}

GUEST_EXPORT(ptel_guest_alloc) void *ptel_guest_alloc(uint32_t len) {
    return malloc(len ? len : 1);
}

GUEST_EXPORT(ptel_guest_free) void ptel_guest_free(void *ptr, uint32_t len) {
    (void)len;
    free(ptr);
}

static void guest_drop_recorder(ptel_guest *g) {
    ptel_recorder_free(g->rec);
    ptel_context_free(g->ctx);
    g->rec = NULL;
    g->ctx = NULL;
    g->have_payload = false;
}

GUEST_EXPORT(ptel_guest_configure) int32_t ptel_guest_configure(uint32_t flags) {
    if (flags & ~(uint32_t)PTEL_GUEST_DETERMINISTIC) return PTEL_E_VALUE;
    guest_drop_recorder(&guest_state);
    guest_state.flags = flags;
    return 0;
}

GUEST_EXPORT(ptel_guest_invoke)
int32_t ptel_guest_invoke(const uint8_t *ctx_bytes, uint32_t ctx_len, const uint8_t *input,
                          uint32_t input_len) {
    ptel_guest *g = &guest_state;
    g->have_payload = false;
    g->output_len = 0;
    ptel_context *ctx = NULL;
    int rc = ptel_context_decode(&ctx, ctx_bytes, ctx_len, NULL, NULL);
    if (rc) return rc;
    g->det_mono = 0;
    g->det_ids = 0;
    if (g->rec) {
        rc = ptel_recorder_reset(g->rec, ctx);
    } else {
        ptel_recorder_options opts;
        ptel_recorder_options_init(&opts);
        if (g->flags & PTEL_GUEST_DETERMINISTIC) {
            opts.clock.monotonic_ns = guest_det_monotonic;
            opts.clock.realtime_ns = guest_det_realtime;
            opts.clock.ud = g;
            opts.ids.fill = guest_det_fill;
            opts.ids.ud = g;
        }
        rc = ptel_recorder_new(&g->rec, ctx, &opts);
    }
    if (rc) {
        ptel_context_free(ctx);
        guest_drop_recorder(g);
        return rc;
    }
    ptel_context_free(g->ctx); /* the recorder now borrows ctx */
    g->ctx = ctx;
    g->in_plugin = true;
    int app = ptel_plugin_main(g, ctx, input, input_len, g->rec);
    g->in_plugin = false;
    rc = ptel_recorder_finish(g->rec, &g->payload, &g->payload_len);
    if (rc) return rc;
    g->have_payload = true;
    return app > 0 ? app : 0;
}

int32_t ptel_guest_payload(const uint8_t **out, size_t *out_len) {
    if (!guest_state.have_payload) return PTEL_E_STATE;
    *out = guest_state.payload;
    *out_len = guest_state.payload_len;
    return 0;
}

GUEST_EXPORT(ptel_guest_result) int32_t ptel_guest_result(uint32_t *out_ptr, uint32_t *out_len) {
    const uint8_t *p;
    size_t n;
    int rc = ptel_guest_payload(&p, &n);
    if (rc) return rc;
    *out_ptr = (uint32_t)(uintptr_t)p; /* a guest address in wasm32 */
    *out_len = (uint32_t)n;
    return 0;
}

/* Runs on an instance whose plugin trapped or ran out of budget: the
 * recorder may be in the middle of a call, so what it finishes is as
 * untrusted as any payload (the host validates it) and the host bounds this
 * call with a budget of its own. */
GUEST_EXPORT(ptel_guest_salvage)
int32_t ptel_guest_salvage(uint32_t *out_ptr, uint32_t *out_len) {
    ptel_guest *g = &guest_state;
    if (!g->in_plugin || !g->rec) return PTEL_E_STATE;
    g->in_plugin = false;
    int rc = ptel_recorder_finish(g->rec, &g->payload, &g->payload_len);
    if (rc) return rc;
    g->have_payload = true;
    return ptel_guest_result(out_ptr, out_len);
}

GUEST_EXPORT(ptel_guest_output) int32_t ptel_guest_output(uint32_t *out_ptr, uint32_t *out_len) {
    *out_ptr = (uint32_t)(uintptr_t)guest_state.output;
    *out_len = (uint32_t)guest_state.output_len;
    return 0;
}
