/* Base64 (RFC 4648 §4, standard alphabet, '=' padding). Internal. */
#ifndef PTEL_BASE64_H
#define PTEL_BASE64_H

#include "internal.h"

/* Encoded length of `n` bytes: 4 * ceil(n / 3). SIZE_MAX when that overflows. */
PTEL__INTERNAL size_t ptel__base64_encoded_len(size_t n);

/* Encode data[0..n) into buf. `*out_len` receives the encoded length
 * (ptel__base64_encoded_len(n)); no NUL is written. Returns 0,
 * PTEL_E_BUFFER_TOO_SMALL when `buf` is NULL or `cap` < `*out_len` (a size
 * query; nothing written), or PTEL_E_LIMIT when the length overflows size_t.
 * `data` may be NULL when `n` is 0. In-place use is supported: `data` may
 * overlap the output when it starts at least ceil(n / 3) bytes after `buf`
 * (each 3-byte group is read before its 4 characters are written). */
PTEL__INTERNAL int ptel__base64_encode(char *buf, size_t cap, size_t *out_len, const uint8_t *data,
                                       size_t n);

/* Decode s[0..n) strictly: length a multiple of 4, only the standard
 * alphabet, '=' only as the last one or two characters, and the unused bits
 * before the padding zero (so every byte string has exactly one accepted
 * encoding). `*out_len` receives the decoded length. Returns 0,
 * PTEL_E_BUFFER_TOO_SMALL (size query as above; the input is fully checked
 * first), or PTEL_E_MALFORMED with the offending offset in `diag`. */
PTEL__INTERNAL int ptel__base64_decode(uint8_t *buf, size_t cap, size_t *out_len, const char *s,
                                       size_t n, ptel_diag *diag);

#endif
