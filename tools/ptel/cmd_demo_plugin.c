/* ptel demo-plugin --context FILE [--input TEXT] [--deterministic] -o FILE
 * A built-in example plugin, shaped like a PII filter: it scans text for
 * e-mail addresses and phone numbers, redacts them, and records what it did
 * with ptel, so the tool chain can be tried without writing code.
 *
 * --deterministic replaces the clocks and the id generator by the ones
 * below, so that the payload depends only on the context and the input: the
 * bindings' tests replay the demo with the same clock and ids and compare
 * bytes (bindings/python/tests/test_cli_parity.py). */
#include "cli.h"

/* The plugin itself: the WASM example's PII filter, one source for both. */
#include "../../wasm/plugins/pii_filter_core.h"

#include <stdlib.h>
#include <string.h>

static const char demo_usage[] =
    "usage: ptel demo-plugin --context FILE [--input TEXT] [--deterministic] -o FILE\n";

static const char demo_default_input[] =
    "Contact jane.doe@example.com or call 415-555-0132; escalate to ops@example.org.";

/* --deterministic: monotonic time advances 1000 ns per reading from 0, wall
 * time is 1700000000000000000 ns, and id number k (counting from 1) is the
 * bytes k, k+1, k+2, ... (mod 256). */
typedef struct demo_det {
    uint64_t mono;
    uint32_t ids;
} demo_det;

static uint64_t demo_det_monotonic(void *ud) {
    demo_det *d = ud;
    return d->mono += 1000;
}

static uint64_t demo_det_realtime(void *ud) {
    (void)ud;
    return 1700000000000000000ull;
}

static void demo_det_fill(void *ud, uint8_t *out, size_t len) {
    demo_det *d = ud;
    d->ids++;
    for (size_t i = 0; i < len; i++) out[i] = (uint8_t)(d->ids + i);
}

int cli_cmd_demo_plugin(int argc, char **argv) {
    const char *ctx_path = NULL, *out = NULL, *input = demo_default_input;
    bool deterministic = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--deterministic")) {
            deterministic = true;
            continue;
        }
        const char **dst = !strcmp(argv[i], "--context") ? &ctx_path
                           : !strcmp(argv[i], "-o")      ? &out
                           : !strcmp(argv[i], "--input") ? &input
                                                         : NULL;
        if (!dst || !(*dst = cli_arg_value(argc, argv, &i))) {
            fputs(demo_usage, stderr);
            return 2;
        }
    }
    if (!ctx_path || !out) {
        fputs(demo_usage, stderr);
        return 2;
    }
    ptel_context *ctx = NULL;
    if (cli_load_context(&ctx, "demo-plugin", ctx_path)) return 1;
    demo_det det = {0, 0};
    ptel_recorder_options opts;
    ptel_recorder_options_init(&opts);
    if (deterministic) {
        opts.clock.monotonic_ns = demo_det_monotonic;
        opts.clock.realtime_ns = demo_det_realtime;
        opts.clock.ud = &det;
        opts.ids.fill = demo_det_fill;
        opts.ids.ud = &det;
    }
    ptel_recorder *rec = NULL;
    int rc = ptel_recorder_new(&rec, ctx, &opts);
    char *redacted = malloc(strlen(input) + 1);
    if (rc || !redacted) {
        cli_error("demo-plugin", "recorder", rc ? rc : PTEL_E_NOMEM, NULL);
        free(redacted);
        ptel_context_free(ctx);
        return 1;
    }
    memcpy(redacted, input, strlen(input) + 1);
    pii_filter_run(rec, redacted, strlen(redacted));
    fprintf(stderr, "demo-plugin: %s\n", redacted);
    const uint8_t *payload;
    size_t len;
    rc = ptel_recorder_finish(rec, &payload, &len);
    if (!rc) rc = cli_write(out, payload, len);
    if (rc) cli_error("demo-plugin", out, rc, NULL);
    free(redacted);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
    return rc ? 1 : 0;
}
