/* Fuzz target: tracestate normalisation. Invariants: the size query and the
 * write agree; the output is no longer than the input nor than 512, holds at
 * most 32 members with unique keys that follow the grammar, is a fixed point
 * of normalisation, and survives OWS and empty members being put back. */
#include <ptel/ptel.h>

#include <stdlib.h>
#include <string.h>

#define TSF_CHECK(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

static int tsf_key_ok(ptel_str k) {
    if (k.len < 1 || k.len > 256) return 0;
    char c = k.ptr[0];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return 0;
    for (size_t i = 1; i < k.len; i++) {
        c = k.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '*' || c == '/' || c == '@'))
            return 0;
    }
    return 1;
}

static int tsf_value_ok(ptel_str v) {
    if (v.len < 1 || v.len > 256 || v.ptr[v.len - 1] == ' ') return 0;
    for (size_t i = 0; i < v.len; i++)
        if (v.ptr[i] < 0x20 || v.ptr[i] > 0x7e || v.ptr[i] == ',' || v.ptr[i] == '=') return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    size_t q = 0;
    ptel_diag d = {0, 0, 0, NULL};
    int rc = ptel_tracestate_normalize(NULL, 0, &q, s, size, &d);
    if (rc != PTEL_E_BUFFER_TOO_SMALL) {
        TSF_CHECK(rc == PTEL_E_TRACESTATE && q == 0);
        TSF_CHECK(d.status == rc && d.reason != NULL && d.offset <= size);
        char small[8];
        TSF_CHECK(ptel_tracestate_normalize(small, sizeof small, &q, s, size, NULL) == rc);
        return 0;
    }
    TSF_CHECK(q <= size && q <= PTEL_TRACESTATE_MAX_LEN);
    char *buf = malloc(q + 1);
    TSF_CHECK(buf != NULL);
    size_t n = 0;
    if (q)
        TSF_CHECK(ptel_tracestate_normalize(buf, q, &n, s, size, NULL) == PTEL_E_BUFFER_TOO_SMALL);
    TSF_CHECK(ptel_tracestate_normalize(buf, q + 1, &n, s, size, NULL) == 0);
    TSF_CHECK(n == q && buf[n] == '\0');

    size_t count = ptel_tracestate_count(buf, n);
    TSF_CHECK(count <= PTEL_TRACESTATE_MAX_MEMBERS);
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        ptel_str k, v, v2;
        TSF_CHECK(ptel_tracestate_member(&k, &v, buf, n, i) == 0);
        TSF_CHECK(tsf_key_ok(k) && tsf_value_ok(v));
        TSF_CHECK(ptel_tracestate_get(&v2, buf, n, k.ptr, k.len) == 0);
        TSF_CHECK(v2.ptr == v.ptr && v2.len == v.len); /* keys are unique */
        total += k.len + 1 + v.len + (i ? 1 : 0);
    }
    TSF_CHECK(total == n);
    ptel_str k, v;
    TSF_CHECK(ptel_tracestate_member(&k, &v, buf, n, count) == PTEL_E_NOT_FOUND);

    /* Fixed point, also with OWS and empty members put back. */
    char *again = malloc(4 * n + 8);
    TSF_CHECK(again != NULL);
    size_t m = 0;
    TSF_CHECK(ptel_tracestate_normalize(again, n + 1, &m, buf, n, NULL) == 0);
    TSF_CHECK(m == n && memcmp(again, buf, n) == 0);
    char *w = again;
    *w++ = '\t';
    for (size_t i = 0; i < count; i++) {
        ptel_tracestate_member(&k, &v, buf, n, i);
        if (i) {
            memcpy(w, " ,, \t", 5);
            w += 5;
        }
        memcpy(w, k.ptr, k.len + 1 + v.len);
        w += k.len + 1 + v.len;
    }
    *w++ = ' ';
    char *third = malloc(n + 1);
    TSF_CHECK(third != NULL);
    TSF_CHECK(ptel_tracestate_normalize(third, n + 1, &m, again, (size_t)(w - again), NULL) == 0);
    TSF_CHECK(m == n && memcmp(third, buf, n) == 0);
    free(third);
    free(again);
    free(buf);
    return 0;
}
