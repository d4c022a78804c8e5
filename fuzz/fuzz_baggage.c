/* Fuzz target: baggage normalisation and value percent-coding. Invariants:
 * size query and write agree; the output is no longer than the input, within
 * 64 members and 8192 bytes, and a fixed point; every member has a token key;
 * decoded values are valid UTF-8 and survive encode + decode; decoding any
 * input either fails on a bad escape or yields valid UTF-8. */
#include <ptel/ptel.h>

#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define BGF_CHECK(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

/* Decode, check UTF-8, encode, decode again: same bytes. */
static void bgf_value_roundtrip(const char *v, size_t len) {
    size_t q = 0, n = 0;
    int rc = ptel_baggage_decode_value(NULL, 0, &q, v, len, NULL);
    if (rc != PTEL_E_BUFFER_TOO_SMALL) {
        BGF_CHECK(rc == PTEL_E_BAGGAGE);
        return;
    }
    BGF_CHECK(q <= 3 * len);
    char *dec = malloc(q + 1);
    BGF_CHECK(dec != NULL);
    BGF_CHECK(ptel_baggage_decode_value(dec, q + 1, &n, v, len, NULL) == 0 && n == q);
    BGF_CHECK(ptel__utf8_valid(dec, n));
    size_t eq = 0, en = 0;
    BGF_CHECK(ptel_baggage_encode_value(NULL, 0, &eq, dec, n) == PTEL_E_BUFFER_TOO_SMALL);
    char *enc = malloc(eq + 1);
    BGF_CHECK(enc != NULL);
    BGF_CHECK(ptel_baggage_encode_value(enc, eq + 1, &en, dec, n) == 0 && en == eq);
    char *dec2 = malloc(n + 1);
    size_t n2 = 0;
    BGF_CHECK(dec2 != NULL);
    BGF_CHECK(ptel_baggage_decode_value(dec2, n + 1, &n2, enc, en, NULL) == 0);
    BGF_CHECK(n2 == n && memcmp(dec2, dec, n) == 0);
    free(dec2);
    free(enc);
    free(dec);
}

static int bgf_token(ptel_str k) {
    if (!k.len) return 0;
    for (size_t i = 0; i < k.len; i++) {
        char c = k.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", c)))
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    bgf_value_roundtrip(s, size);

    size_t q = 0;
    ptel_diag d = {0, 0, 0, NULL};
    int rc = ptel_baggage_normalize(NULL, 0, &q, s, size, &d);
    if (rc != PTEL_E_BUFFER_TOO_SMALL) {
        BGF_CHECK(rc == PTEL_E_BAGGAGE && q == 0);
        BGF_CHECK(d.status == rc && d.reason != NULL && d.offset <= size);
        return 0;
    }
    BGF_CHECK(q <= size && q <= PTEL_BAGGAGE_MAX_LEN);
    char *buf = malloc(q + 1);
    BGF_CHECK(buf != NULL);
    size_t n = 0;
    BGF_CHECK(ptel_baggage_normalize(buf, q + 1, &n, s, size, NULL) == 0);
    BGF_CHECK(n == q && buf[n] == '\0');

    char *again = malloc(n + 1);
    size_t m = 0;
    BGF_CHECK(again != NULL);
    BGF_CHECK(ptel_baggage_normalize(again, n + 1, &m, buf, n, NULL) == 0);
    BGF_CHECK(m == n && memcmp(again, buf, n) == 0);
    free(again);

    size_t count = ptel_baggage_count(buf, n);
    BGF_CHECK(count <= PTEL_BAGGAGE_MAX_MEMBERS);
    for (size_t i = 0; i < count; i++) {
        ptel_str k, v, props, pk, pv;
        BGF_CHECK(ptel_baggage_member(&k, &v, &props, buf, n, i) == 0);
        BGF_CHECK(bgf_token(k));
        bgf_value_roundtrip(v.ptr, v.len);
        for (size_t j = 0; ptel_baggage_property(&pk, &pv, props.ptr, props.len, j) == 0; j++) {
            BGF_CHECK(bgf_token(pk));
            if (pv.ptr) bgf_value_roundtrip(pv.ptr, pv.len);
        }
    }
    ptel_str k;
    BGF_CHECK(ptel_baggage_member(&k, NULL, NULL, buf, n, count) == PTEL_E_NOT_FOUND);
    free(buf);
    return 0;
}
