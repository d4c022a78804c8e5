/* Native runner of a guest plugin: the same plugin source and glue as the
 * WASM build, linked with the native core. For the byte-identity tests.
 *   run_native [--deterministic] CONTEXT_FILE INPUT_TEXT OUT_FILE
 * Writes the PluginTelemetry bytes to OUT_FILE and the plugin's output to
 * stdout; exits 1 when the invocation fails. */
#include "ptel_guest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *native_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf && n < cap) {
        size_t got = fread(buf + n, 1, cap - n, f);
        if (!got) break;
        n += got;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    int a = 1;
    uint32_t flags = 0;
    if (argc > 1 && !strcmp(argv[1], "--deterministic")) {
        flags = PTEL_GUEST_DETERMINISTIC;
        a++;
    }
    if (argc - a != 3) {
        fputs("usage: run_native [--deterministic] CONTEXT_FILE INPUT_TEXT OUT_FILE\n", stderr);
        return 2;
    }
    size_t ctx_len = 0;
    uint8_t *ctx = native_read(argv[a], &ctx_len);
    if (!ctx) return 1;
    ptel_guest_configure(flags);
    int rc = ptel_guest_invoke(ctx, (uint32_t)ctx_len, (const uint8_t *)argv[a + 1],
                               (uint32_t)strlen(argv[a + 1]));
    free(ctx);
    const uint8_t *payload;
    size_t len;
    if (rc < 0 || ptel_guest_payload(&payload, &len)) {
        fprintf(stderr, "run_native: invocation failed (%d)\n", rc);
        return 1;
    }
    FILE *f = fopen(argv[a + 2], "wb");
    if (!f || fwrite(payload, 1, len, f) != len || fclose(f)) return 1;
    return rc ? 1 : 0;
}
