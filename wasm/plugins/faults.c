/* A hostile guest for the hosts' sandbox tests. It implements the guest ABI
 * by hand (no SDK, no core) and misbehaves on request; the input selects:
 *   "trap"     executes `unreachable`
 *   "loop"     never returns (out of fuel / time)
 *   "oom"      allocates until memory.grow fails, then traps
 *   "garbage"  returns a payload that is not a PluginTelemetry message
 *   "oob"      returns a payload address outside its memory
 *   "nopayload" returns status 0 but has no payload to give (result fails)
 *   anything else: status 0 and an empty (valid) payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FAULT_EXPORT(name) __attribute__((export_name(#name)))

int32_t fault_abi_version(void);
void *fault_alloc(uint32_t len);
void fault_free(void *ptr, uint32_t len);
int32_t fault_configure(uint32_t flags);
int32_t fault_invoke(const uint8_t *ctx, uint32_t ctx_len, const uint8_t *in, uint32_t n);
int32_t fault_result(uint32_t *out_ptr, uint32_t *out_len);
int32_t fault_output(uint32_t *out_ptr, uint32_t *out_len);

static const uint8_t fault_garbage[] = {0xff, 0xff, 0xff, 0x07, 'g', 'a', 'r', 'b', 'a', 'g', 'e'};
static int fault_mode;

FAULT_EXPORT(ptel_guest_abi_version) int32_t fault_abi_version(void) { return 1; }

FAULT_EXPORT(ptel_guest_alloc) void *fault_alloc(uint32_t len) { return malloc(len ? len : 1); }

FAULT_EXPORT(ptel_guest_free) void fault_free(void *ptr, uint32_t len) {
    (void)len;
    free(ptr);
}

FAULT_EXPORT(ptel_guest_configure) int32_t fault_configure(uint32_t flags) {
    (void)flags;
    return 0;
}

static int fault_is(const uint8_t *in, uint32_t n, const char *word) {
    return n == strlen(word) && !memcmp(in, word, n);
}

FAULT_EXPORT(ptel_guest_invoke)
int32_t fault_invoke(const uint8_t *ctx, uint32_t ctx_len, const uint8_t *in, uint32_t n) {
    (void)ctx;
    (void)ctx_len;
    fault_mode = 0;
    if (fault_is(in, n, "trap")) __builtin_trap();
    if (fault_is(in, n, "loop")) {
        volatile uint32_t spin = 0;
        for (;;) spin++;
    }
    if (fault_is(in, n, "oom")) {
        for (;;) {
            volatile uint8_t *p = malloc(1 << 16);
            if (!p) __builtin_trap();
            p[0] = 1;
        }
    }
    if (fault_is(in, n, "garbage")) fault_mode = 1;
    if (fault_is(in, n, "oob")) fault_mode = 2;
    if (fault_is(in, n, "nopayload")) fault_mode = 3;
    return 0;
}

FAULT_EXPORT(ptel_guest_result) int32_t fault_result(uint32_t *out_ptr, uint32_t *out_len) {
    switch (fault_mode) {
    case 1:
        *out_ptr = (uint32_t)(uintptr_t)fault_garbage;
        *out_len = sizeof fault_garbage;
        return 0;
    case 2:
        *out_ptr = 0xfffffff0u;
        *out_len = 4096;
        return 0;
    case 3:
        return -1;
    default:
        *out_ptr = 0;
        *out_len = 0;
        return 0;
    }
}

FAULT_EXPORT(ptel_guest_output) int32_t fault_output(uint32_t *out_ptr, uint32_t *out_len) {
    *out_ptr = 0;
    *out_len = 0;
    return 0;
}
