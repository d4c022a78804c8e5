/* Fuzz target: traceparent parse and format. Invariants: failures carry a
 * diagnostic inside the input; a parsed header has non-zero ids and is not
 * version ff; formatting gives 55 characters that parse back to the same ids
 * with version 00 and flags masked to sampled|random; a version-00 input
 * with only known flags is reproduced byte for byte. */
#include <ptel/ptel.h>

#include <stdlib.h>
#include <string.h>

#define TPF_CHECK(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

static int tpf_zero(const uint8_t *p, size_t n) {
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    ptel_traceparent tp;
    ptel_diag d = {0, 0, 0, NULL};
    int rc = ptel_traceparent_parse(&tp, s, size, &d);
    if (rc) {
        TPF_CHECK(rc == PTEL_E_TRACEPARENT);
        TPF_CHECK(d.status == rc && d.reason != NULL && d.offset <= size);
        return 0;
    }
    TPF_CHECK(size >= PTEL_TRACEPARENT_LEN);
    TPF_CHECK(tp.version != 0xff);
    TPF_CHECK(!tpf_zero(tp.trace_id, 16) && !tpf_zero(tp.parent_id, 8));

    char buf[PTEL_TRACEPARENT_LEN + 1];
    size_t n = 0;
    TPF_CHECK(ptel_traceparent_format(buf, sizeof buf - 1, &n, &tp) == PTEL_E_BUFFER_TOO_SMALL);
    TPF_CHECK(n == PTEL_TRACEPARENT_LEN);
    TPF_CHECK(ptel_traceparent_format(buf, sizeof buf, &n, &tp) == 0);
    TPF_CHECK(n == PTEL_TRACEPARENT_LEN && buf[n] == '\0');

    ptel_traceparent back;
    TPF_CHECK(ptel_traceparent_parse(&back, buf, n, NULL) == 0);
    TPF_CHECK(back.version == 0);
    TPF_CHECK(memcmp(back.trace_id, tp.trace_id, 16) == 0);
    TPF_CHECK(memcmp(back.parent_id, tp.parent_id, 8) == 0);
    TPF_CHECK(back.trace_flags ==
              (tp.trace_flags & (PTEL_TRACE_FLAG_SAMPLED | PTEL_TRACE_FLAG_RANDOM)));
    char again[PTEL_TRACEPARENT_LEN + 1];
    TPF_CHECK(ptel_traceparent_format(again, sizeof again, &n, &back) == 0);
    TPF_CHECK(memcmp(again, buf, sizeof buf) == 0);

    size_t a = 0, b = size;
    while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
    if (tp.version == 0) {
        TPF_CHECK(b - a == PTEL_TRACEPARENT_LEN);
        if ((tp.trace_flags & ~3) == 0) TPF_CHECK(memcmp(s + a, buf, PTEL_TRACEPARENT_LEN) == 0);
    } else {
        /* The forward-compatible prefix matches apart from the version. */
        TPF_CHECK(memcmp(s + a + 2, buf + 2, PTEL_TRACEPARENT_LEN - 4) == 0);
    }
    return 0;
}
