/* A plugin that records nothing: measures the cost of the WASM boundary
 * (context in, recorder reset and finish, payload out). */
#include "ptel_guest.h"

int ptel_plugin_main(ptel_guest *guest, const ptel_context *ctx, const uint8_t *input,
                     size_t input_len, ptel_recorder *rec) {
    (void)guest;
    (void)ctx;
    (void)input;
    (void)input_len;
    (void)rec;
    return 0;
}
