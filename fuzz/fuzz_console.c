/* Fuzz target for the console renderer (ptel_console_render).
 *
 * Input: the first byte's low two bits are the flags (ASCII, span ids); the
 * rest is split in two halves, an ExportTraceServiceRequest and an
 * ExportMetricsServiceRequest. Whatever the bytes, the renderer must return
 * a documented status; when it succeeds:
 *   - the size query (NULL buffer) reports exactly the rendered length,
 *   - a buffer one byte short fails with PTEL_E_BUFFER_TOO_SMALL and the
 *     same size,
 *   - rendering twice gives the same bytes, and render_alloc agrees,
 *   - the text is UTF-8 (ASCII with PTEL_CONSOLE_ASCII), holds no control
 *     character but "\n", and is empty or ends with "\n".
 * Any violation aborts. */
#include "ptel/ptel.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Well-formed UTF-8 with no control character except '\n' (and, when
 * `ascii`, nothing above 0x7e). */
static bool fc_text_ok(const unsigned char *s, size_t n, bool ascii) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n') || c == 0x7f) return false;
            i++;
            continue;
        }
        if (ascii) return false;
        size_t len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (n - i < len) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        if (cp <= 0x9f) return false; /* C1 controls are escaped */
        i += len;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint32_t flags = data[0] & PTEL_CONSOLE_FLAGS_ALL;
    const uint8_t *traces = data + 1;
    size_t n = size - 1, traces_len = n / 2;
    const uint8_t *metrics = traces + traces_len;
    size_t metrics_len = n - traces_len;

    size_t need = 12345;
    ptel_diag diag = {0, 0, 0, NULL};
    int rc = ptel_console_render(NULL, 0, &need, traces, traces_len, metrics, metrics_len, flags,
                                 NULL, &diag);
    if (rc != 0 && rc != PTEL_E_BUFFER_TOO_SMALL) {
        if (rc != PTEL_E_TRUNCATED && rc != PTEL_E_MALFORMED) abort();
        if (need != 0 || diag.status != rc || !diag.reason || diag.offset >= n) abort();
        char *out = (char *)1;
        size_t out_len = 1;
        if (ptel_console_render_alloc(&out, &out_len, traces, traces_len, metrics, metrics_len,
                                      flags, NULL, NULL) != rc)
            abort();
        if (out || out_len) abort();
        return 0;
    }
    if ((rc == 0) != (need == 0)) abort();

    char *buf = malloc(need + 1), *again = malloc(need + 1);
    if (!buf || !again) abort();
    size_t got = 0;
    if (ptel_console_render(buf, need, &got, traces, traces_len, metrics, metrics_len, flags, NULL,
                            NULL) != 0 ||
        got != need)
        abort();
    if (!fc_text_ok((const unsigned char *)buf, got, (flags & PTEL_CONSOLE_ASCII) != 0)) abort();
    if (got && buf[got - 1] != '\n') abort();

    if (need) {
        size_t short_len = 0;
        if (ptel_console_render(again, need - 1, &short_len, traces, traces_len, metrics,
                                metrics_len, flags, NULL, NULL) != PTEL_E_BUFFER_TOO_SMALL ||
            short_len != need)
            abort();
    }
    if (ptel_console_render(again, need, &got, traces, traces_len, metrics, metrics_len, flags,
                            NULL, NULL) != 0 ||
        got != need || memcmp(buf, again, need) != 0)
        abort();

    char *copy = NULL;
    size_t copy_len = 0;
    if (ptel_console_render_alloc(&copy, &copy_len, traces, traces_len, metrics, metrics_len, flags,
                                  NULL, NULL) != 0)
        abort();
    if (copy_len != need || memcmp(copy, buf, need) != 0 || copy[need] != '\0') abort();
    ptel_console_free(copy, copy_len, NULL);
    free(buf);
    free(again);
    return 0;
}
