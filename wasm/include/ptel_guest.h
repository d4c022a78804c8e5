/* ptel guest SDK: write a WASM plugin against the ptel recorder.
 *
 * A plugin author implements `ptel_plugin_main` and links the guest glue
 * (wasm/guest/ptel_guest.c) and the core (core/src/ptel.c); the glue exports
 * the guest ABI of PROTOCOL.md ("WASM guest ABI"): the host writes the
 * PluginContext and the plugin's input into guest memory, calls
 * `ptel_guest_invoke`, and reads the PluginTelemetry bytes back with
 * `ptel_guest_result`. The plugin records with the ordinary recorder API of
 * <ptel/ptel.h>; the glue creates, reuses and finishes the recorder.
 *
 * The same sources also build natively (wasm/native/run_native.c), which is
 * how the tests check that the WASM payload equals the native one. */
#ifndef PTEL_GUEST_H
#define PTEL_GUEST_H

#include <ptel/ptel.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the guest ABI, returned by the export `ptel_guest_abi_version`.
 * A host refuses a module whose version it does not know. */
enum { PTEL_GUEST_ABI_VERSION = 1 };

/** Flags of `ptel_guest_configure`. */
enum {
    /** Deterministic clock and ids for conformance tests: monotonic time
     * advances 1000 ns per reading from 0, wall time is
     * 1700000000000000000 ns, and id number k of an invocation is the bytes
     * k, k+1, ... (mod 256), exactly as `ptel demo-plugin --deterministic`. */
    PTEL_GUEST_DETERMINISTIC = 1
};

/** The glue's per-instance state, handed to the plugin. Opaque. */
typedef struct ptel_guest ptel_guest;

/** Implemented by the plugin: handle one invocation. `ctx` and `rec` are
 * owned by the glue and valid for the call; `input` (`input_len` bytes,
 * owned by the host) is only valid during the call. Return 0 on success or
 * a positive application error code, which the host sees as the plugin's
 * failure (outcome ERROR) while still receiving the telemetry. */
int ptel_plugin_main(ptel_guest *guest, const ptel_context *ctx, const uint8_t *input,
                     size_t input_len, ptel_recorder *rec);

/** Set the plugin's functional output (e.g. the redacted text): `len` bytes
 * of `data` are copied into the glue, which owns them until the next
 * invocation. The host reads them with the export `ptel_guest_output`.
 * Returns 0 or PTEL_E_NOMEM. */
int ptel_guest_set_output(ptel_guest *guest, const uint8_t *data, size_t len);

/* ---- the exports (PROTOCOL.md, "WASM guest ABI") ---------------------------
 * Declared here so that the native runner can call them directly. Pointers
 * are guest addresses (32-bit in wasm32). */

/** The ABI version, PTEL_GUEST_ABI_VERSION. */
int32_t ptel_guest_abi_version(void);

/** Allocate `len` bytes of guest memory for the host to write into; the
 * host owns the block until it passes it to `ptel_guest_free`. Returns NULL
 * (0) when out of memory. */
void *ptel_guest_alloc(uint32_t len);

/** Free a block of `ptel_guest_alloc` (`len` as allocated). NULL is a no-op. */
void ptel_guest_free(void *ptr, uint32_t len);

/** Set PTEL_GUEST_* flags for the following invocations. Returns 0, or
 * PTEL_E_VALUE for unknown flags. */
int32_t ptel_guest_configure(uint32_t flags);

/** Run one invocation: decode the PluginContext (`ctx_len` bytes at `ctx`),
 * call `ptel_plugin_main` with the input, and finish the telemetry. Both
 * buffers are only read during the call. Returns 0 (payload ready), a
 * positive plugin error code (payload ready), or a negative PTEL_E_* status
 * when no payload could be produced (bad context, out of memory). */
int32_t ptel_guest_invoke(const uint8_t *ctx, uint32_t ctx_len, const uint8_t *input,
                          uint32_t input_len);

/** Store the address and length of the last invocation's PluginTelemetry
 * bytes at `out_ptr` and `out_len` (guest addresses the host provides).
 * The bytes are owned by the guest and valid until the next call of
 * `ptel_guest_invoke` or `ptel_guest_configure`. Returns 0, or PTEL_E_STATE
 * when no invocation produced a payload. */
int32_t ptel_guest_result(uint32_t *out_ptr, uint32_t *out_len);

/** As `ptel_guest_result`, for the plugin's functional output (empty when
 * the plugin set none). */
int32_t ptel_guest_output(uint32_t *out_ptr, uint32_t *out_len);

/** After the plugin faulted inside `ptel_guest_invoke` (a trap, or the
 * host's fuel or time budget ran out), finish the recorder of that
 * invocation: what the plugin had recorded, with the spans it had open
 * listed as open spans, which the host then ends with status ERROR and the
 * fault's `error.type`. Stores the address and length as
 * `ptel_guest_result` does. Returns 0, PTEL_E_STATE when no plugin call was
 * interrupted, or the status of `ptel_recorder_finish`. Optional in ABI
 * version 1: a host calls it only when the module exports it. */
int32_t ptel_guest_salvage(uint32_t *out_ptr, uint32_t *out_len);

/** The last invocation's PluginTelemetry as a native pointer (what
 * `ptel_guest_result` reports as guest addresses), for the native runner.
 * Same ownership and errors as `ptel_guest_result`. */
int32_t ptel_guest_payload(const uint8_t **out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif
