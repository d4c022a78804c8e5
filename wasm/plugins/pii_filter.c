/* Example WASM plugin: a PII filter. Finds e-mail addresses and phone
 * numbers in the input text, redacts them (the plugin's output) and records
 * what it did (pii_filter_core.h, shared with `ptel demo-plugin`, so that
 * with the deterministic clock its payload equals the demo's byte for
 * byte). */
#include "ptel_guest.h"

#include "pii_filter_core.h"

int ptel_plugin_main(ptel_guest *guest, const ptel_context *ctx, const uint8_t *input, size_t n,
                     ptel_recorder *rec) {
    (void)ctx;
    char *text = malloc(n + 1);
    if (!text) return 1;
    if (n) memcpy(text, input, n);
    text[n] = '\0';
    pii_filter_run(rec, text, n);
    int rc = ptel_guest_set_output(guest, (const uint8_t *)text, n);
    free(text);
    return rc ? 1 : 0;
}
