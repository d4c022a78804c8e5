/* A plugin, written with the guest SDK, that fails with a span open: the
 * hosts' tests of ptel_guest_salvage. It starts span "work", records the
 * ended child span "step" (attribute step.count = 1) inside it, then, by
 * input:
 *   "trap"  executes `unreachable`
 *   "loop"  never returns (out of fuel / time)
 *   "oom"   allocates until memory.grow fails, then traps
 *   anything else: returns 0 with "work" still open.
 * The host salvages the recorder: "step" is exported as recorded and
 * "work" is ended by the host with status ERROR and the fault's
 * error.type. */
#include "ptel_guest.h"

#include <stdlib.h>
#include <string.h>

static bool stuck_is(const uint8_t *in, size_t n, const char *word) {
    return n == strlen(word) && !memcmp(in, word, n);
}

int ptel_plugin_main(ptel_guest *guest, const ptel_context *ctx, const uint8_t *input,
                     size_t input_len, ptel_recorder *rec) {
    (void)guest;
    (void)ctx;
    ptel_span *work = NULL, *step = NULL;
    ptel_span_start(&work, rec, NULL, "work", 4, PTEL_SPAN_KIND_INTERNAL, 0);
    ptel_span_start(&step, rec, work, "step", 4, PTEL_SPAN_KIND_INTERNAL, 0);
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = "step.count";
    a.key.len = strlen(a.key.ptr);
    a.value.type = PTEL_VALUE_INT;
    a.value.i = 1;
    ptel_span_set_attributes(step, &a, 1);
    ptel_span_end(step, 0);
    if (stuck_is(input, input_len, "trap")) __builtin_trap();
    if (stuck_is(input, input_len, "loop")) {
        volatile uint32_t spin = 0;
        for (;;) spin++;
    }
    if (stuck_is(input, input_len, "oom")) {
        for (;;) {
            volatile uint8_t *p = malloc(1 << 16);
            if (!p) __builtin_trap();
            p[0] = 1;
        }
    }
    return 0;
}
