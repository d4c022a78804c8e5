/* The PII filter of wasm/plugins/pii_filter.c, unchanged, as a shared
 * library the gateway loads in process (ctypes). This file is the native
 * glue for it: it implements the guest SDK call the plugin uses
 * (ptel_guest_set_output) with a heap handle instead of the WASM glue's one
 * static instance, so a host may hold several and nothing is global. The
 * plugin records with the same ptel recorder as under WASM.
 *
 * Only the gw_plugin_* functions are exported (pii_native.map): the copy of
 * the ptel core linked in stays private to the library. */
#include "ptel_guest.h"

#include <stdlib.h>
#include <string.h>

#define GW_EXPORT __attribute__((visibility("default")))

struct ptel_guest {
    ptel_recorder *rec;
    ptel_context *ctx; /* borrowed by rec */
    const uint8_t *payload;
    size_t payload_len;
    uint8_t *output;
    size_t output_len, output_cap;
};

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

/** A new plugin instance, owned by the caller (gw_plugin_free); NULL when
 * out of memory. */
GW_EXPORT ptel_guest *gw_plugin_new(void);
ptel_guest *gw_plugin_new(void) { return calloc(1, sizeof(ptel_guest)); }

/** Release an instance and everything it returned. NULL is a no-op. */
GW_EXPORT void gw_plugin_free(ptel_guest *g);
void gw_plugin_free(ptel_guest *g) {
    if (!g) return;
    ptel_recorder_free(g->rec);
    ptel_context_free(g->ctx);
    free(g->output);
    free(g);
}

/** Run one invocation: decode the PluginContext (`ctx_len` bytes), run the
 * plugin on `input` and finish its telemetry. Both buffers are read during
 * the call only. Returns 0, a positive plugin error code (telemetry ready
 * either way) or a negative PTEL_E_* status (no telemetry). */
GW_EXPORT int gw_plugin_invoke(ptel_guest *g, const uint8_t *ctx_bytes, size_t ctx_len,
                               const uint8_t *input, size_t input_len);
int gw_plugin_invoke(ptel_guest *g, const uint8_t *ctx_bytes, size_t ctx_len, const uint8_t *input,
                     size_t input_len) {
    if (!g || (!ctx_bytes && ctx_len) || (!input && input_len)) return PTEL_E_INVALID_ARGUMENT;
    g->payload = NULL;
    g->payload_len = 0;
    g->output_len = 0;
    ptel_context *ctx = NULL;
    int rc = ptel_context_decode(&ctx, ctx_bytes, ctx_len, NULL, NULL);
    if (rc) return rc;
    rc = g->rec ? ptel_recorder_reset(g->rec, ctx) : ptel_recorder_new(&g->rec, ctx, NULL);
    if (rc) {
        ptel_context_free(ctx);
        return rc;
    }
    ptel_context_free(g->ctx); /* the recorder now borrows ctx */
    g->ctx = ctx;
    int app = ptel_plugin_main(g, ctx, input, input_len, g->rec);
    rc = ptel_recorder_finish(g->rec, &g->payload, &g->payload_len);
    if (rc) return rc;
    return app > 0 ? app : 0;
}

/** The last invocation's PluginTelemetry and the plugin's output (the
 * redacted text), both owned by `g` until its next invoke or free. */
GW_EXPORT void gw_plugin_result(const ptel_guest *g, const uint8_t **payload, size_t *payload_len,
                                const uint8_t **output, size_t *output_len);
void gw_plugin_result(const ptel_guest *g, const uint8_t **payload, size_t *payload_len,
                      const uint8_t **output, size_t *output_len) {
    *payload = g->payload;
    *payload_len = g->payload_len;
    *output = g->output;
    *output_len = g->output_len;
}
