/* ptel — W3C Trace Context (traceparent, tracestate) and W3C Baggage text
 * headers: parsing, validation, canonical formatting and iteration.
 *
 * Conventions shared by every function here:
 * - Inputs are (pointer, length) pairs; they need not be NUL-terminated and
 *   may contain any bytes. A NULL pointer is accepted only with length 0.
 * - Text outputs go into a caller buffer `buf` of `cap` bytes. `*out_len`
 *   always receives the length of the result without its NUL terminator; the
 *   function writes the result plus a NUL, so it needs `cap >= *out_len + 1`.
 *   When `buf` is NULL or `cap` is too small it returns
 *   PTEL_E_BUFFER_TOO_SMALL with `*out_len` set (a size query) and writes
 *   nothing. On any other error `*out_len` is 0.
 * - Header values are validated completely before anything is written, so a
 *   size query also validates.
 * - Nothing here allocates; the library keeps no pointer to any argument.
 *
 * Include <ptel/ptel.h> rather than this file directly. */
#ifndef PTEL_W3C_H
#define PTEL_W3C_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Limits of the W3C headers, as this library applies them. */
enum {
    PTEL_TRACEPARENT_LEN = 55,           /**< length of a version-00 traceparent */
    PTEL_TRACESTATE_MAX_MEMBERS = 32,    /**< more list-members make the header invalid */
    PTEL_TRACESTATE_MAX_LEN = 512,       /**< normalised output is truncated to this */
    PTEL_TRACESTATE_MAX_KEY_LEN = 256,   /**< longest valid key */
    PTEL_TRACESTATE_MAX_VALUE_LEN = 256, /**< longest valid value */
    PTEL_BAGGAGE_MAX_MEMBERS = 64,       /**< members kept by normalisation */
    PTEL_BAGGAGE_MAX_LEN = 8192          /**< bytes kept by normalisation */
};

/* ---- traceparent --------------------------------------------------------- */

/** A parsed `traceparent` header value. Plain value, no ownership. */
typedef struct ptel_traceparent {
    uint8_t version;      /**< as received; formatting always writes 00 */
    uint8_t trace_id[16]; /**< never all zero after a successful parse */
    uint8_t parent_id[8]; /**< never all zero after a successful parse */
    uint8_t trace_flags;  /**< all 8 bits as received (PTEL_TRACE_FLAG_*) */
} ptel_traceparent;

/** Parse a `traceparent` value (W3C Trace Context Level 2).
 *
 * Accepts leading and trailing optional whitespace (space, tab). Version 00
 * must be exactly 55 characters: any trailing data is invalid. A higher
 * version (01..fe) uses the forward-compatible rule: at least 55 characters,
 * and after the flags either the end or a '-' followed by anything, which is
 * ignored. Version ff, upper-case hex, an all-zero trace-id or parent-id are
 * invalid. Every trace-flag bit is kept in `out->trace_flags`.
 *
 * Returns 0, PTEL_E_INVALID_ARGUMENT (NULL `out`, or NULL `s` with `len` > 0)
 * or PTEL_E_TRACEPARENT with the byte offset into `s` and the reason in
 * `diag`. `*out` is written only on success. */
PTEL_API int ptel_traceparent_parse(ptel_traceparent *out, const char *s, size_t len,
                                    ptel_diag *diag);

/** Format `tp` as a version-00 `traceparent`: 55 characters plus a NUL, so
 * `cap` must be at least 56 (else PTEL_E_BUFFER_TOO_SMALL, `*out_len` = 55).
 *
 * The version written is always 00 whatever `tp->version` holds (W3C: re-emit
 * at the highest version known). Only the sampled (0x01) and random (0x02)
 * flag bits are written; the other six bits are written as zero, because W3C
 * requires vendors to set flags they do not understand to zero on output.
 * The ids are written as they are, even when zero: validity is the parser's
 * and the caller's business. PTEL_E_INVALID_ARGUMENT when `tp` or `out_len`
 * is NULL. */
PTEL_API int ptel_traceparent_format(char *buf, size_t cap, size_t *out_len,
                                     const ptel_traceparent *tp);

/* ---- tracestate ---------------------------------------------------------- */

/** Validate a `tracestate` header value and write its canonical form.
 *
 * Grammar: the current W3C key grammar `(lcalpha / DIGIT) 0*255 keychar`,
 * keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" (so `foo@`,
 * `foo@@bar`, 242-character tenants and 15-character systems are valid; the
 * older tenant@system split is not enforced); value = 1 to 256 printable
 * ASCII characters other than ',' and '=', not ending in a space. Optional
 * whitespace around ',' and empty members (`a=1,,b=2`, an empty header) are
 * accepted and removed. Multiple headers must be joined with ',' first.
 *
 * The whole header is invalid (PTEL_E_TRACESTATE, diag offset into `s`) when
 * any member is invalid or when it holds more than 32 non-empty members
 * (duplicates counted).
 *
 * Output: `key=value` members joined by ',' without whitespace, in input
 * order. When a key repeats, the first member is kept and later ones are
 * dropped. When the result is longer than 512 characters, whole members are
 * removed until it fits: first the right-most member longer than 128
 * characters, repeatedly, then the right-most member. The output is never
 * longer than the input, and normalising it again yields it unchanged. */
PTEL_API int ptel_tracestate_normalize(char *buf, size_t cap, size_t *out_len, const char *s,
                                       size_t len, ptel_diag *diag);

/** Number of members of a normalised tracestate (0 for an empty string). */
PTEL_API size_t ptel_tracestate_count(const char *ts, size_t len);

/** Member `index` (0-based) of a normalised tracestate: `key` and `value`
 * borrow from `ts`. PTEL_E_NOT_FOUND past the end. On a string that is not
 * normalised the result is still bounded by `ts[0..len)` but meaningless. */
PTEL_API int ptel_tracestate_member(ptel_str *key, ptel_str *value, const char *ts, size_t len,
                                    size_t index);

/** Value of `key` in a normalised tracestate (borrowed from `ts`), or
 * PTEL_E_NOT_FOUND. */
PTEL_API int ptel_tracestate_get(ptel_str *value, const char *ts, size_t len, const char *key,
                                 size_t key_len);

/* ---- baggage ------------------------------------------------------------- */

/** Validate a `baggage` header value and write its canonical form.
 *
 * Grammar (W3C Baggage): `key OWS "=" OWS value *(OWS ";" OWS property)`
 * members separated by `OWS "," OWS`; key = RFC 7230 token; value = zero or
 * more baggage-octets (printable ASCII except space, '"', ',', ';', '\'),
 * where every '%' must start a `%XX` hex escape; property = `key OWS "=" OWS
 * value` or `key`. Empty members are accepted and removed. Non-ASCII bytes
 * are invalid (they must be percent-encoded).
 *
 * Invalid input: one invalid member makes the whole header invalid
 * (PTEL_E_BAGGAGE, diag offset into `s`). This is what opentelemetry-go's
 * `baggage.Parse` (and so its W3C baggage propagator) does; the Python, Java
 * and JavaScript propagators instead skip the invalid member. We chose the
 * strict behaviour because baggage reaching a plugin has been filtered by
 * the host, so an invalid member signals a broken host, not a peer to
 * tolerate; callers that want to keep the rest can re-split themselves.
 *
 * Output: members in input order, duplicates kept (W3C allows them), written
 * as `key=value` followed by `;pkey` or `;pkey=pvalue` per property, with no
 * whitespace; values and property values are copied as received (their
 * percent-escapes are not rewritten). Limits: members are kept from the left
 * while the result holds at most 64 members and 8192 bytes; the first member
 * that would exceed either limit and all members after it are dropped
 * whole, never partially. Normalising the output again yields it unchanged. */
PTEL_API int ptel_baggage_normalize(char *buf, size_t cap, size_t *out_len, const char *s,
                                    size_t len, ptel_diag *diag);

/** Number of members of a normalised baggage string (0 for an empty string). */
PTEL_API size_t ptel_baggage_count(const char *bg, size_t len);

/** Member `index` (0-based) of a normalised baggage string. `key` is the key,
 * `value` the raw (still percent-encoded) value, `properties` everything
 * after the first ';' (empty when there are none), each borrowed from `bg`.
 * Any output pointer may be NULL. PTEL_E_NOT_FOUND past the end. */
PTEL_API int ptel_baggage_member(ptel_str *key, ptel_str *value, ptel_str *properties,
                                 const char *bg, size_t len, size_t index);

/** Property `index` of a member's `properties` string (as returned by
 * `ptel_baggage_member`): `key` and raw `value` borrowed from `props`. For a
 * property written without '=', `value->ptr` is NULL; for `key=` it is
 * non-NULL with length 0. PTEL_E_NOT_FOUND past the end. */
PTEL_API int ptel_baggage_property(ptel_str *key, ptel_str *value, const char *props, size_t len,
                                   size_t index);

/** Percent-decode a baggage value into UTF-8. Every `%XX` escape (either
 * hex case) becomes its byte; other bytes are copied ('+' stays '+').
 * Ill-formed UTF-8 in the result is replaced by U+FFFD (EF BF BD), one per
 * maximal ill-formed subpart, as W3C Baggage requires. PTEL_E_BAGGAGE (diag
 * offset into `value`) when a '%' is not followed by two hex digits. The
 * output may be up to three times the input length. */
PTEL_API int ptel_baggage_decode_value(char *buf, size_t cap, size_t *out_len, const char *value,
                                       size_t len, ptel_diag *diag);

/** Percent-encode arbitrary bytes as a baggage value: every byte that is not
 * a baggage-octet, and '%' itself, becomes `%XX` with upper-case hex. The
 * result is valid as a value in `ptel_baggage_normalize` and decodes back to
 * the input when the input is valid UTF-8. */
PTEL_API int ptel_baggage_encode_value(char *buf, size_t cap, size_t *out_len, const char *value,
                                       size_t len);

#ifdef __cplusplus
}
#endif

#endif
