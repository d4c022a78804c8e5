/* A minimal test harness: CHECK records a failure and continues; each test
 * file's main() calls RUN for its tests and returns test_summary(). */
#ifndef PTEL_TEST_H
#define PTEL_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;
static const char *test_current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        test_checks++;                                                                             \
        if (!(cond)) {                                                                             \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s: CHECK(%s) failed\n", __FILE__, __LINE__, test_current,     \
                    #cond);                                                                        \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long test_a_ = (long long)(a), test_b_ = (long long)(b);                              \
        test_checks++;                                                                             \
        if (test_a_ != test_b_) {                                                                  \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__,    \
                    test_current, #a, test_a_, #b, test_b_);                                       \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

static inline void test_hexdump(const char *label, const unsigned char *p, size_t n) {
    fprintf(stderr, "  %s (%zu): ", label, n);
    for (size_t i = 0; i < n; i++) fprintf(stderr, "%02x", p[i]);
    fprintf(stderr, "\n");
}

/* Exact bytes, with both sides printed on a mismatch. */
#define CHECK_BYTES(got, got_len, want, want_len)                                                  \
    do {                                                                                           \
        const unsigned char *test_g_ = (const unsigned char *)(got);                               \
        size_t test_gl_ = (got_len), test_wl_ = (want_len);                                        \
        test_checks++;                                                                             \
        if (test_gl_ != test_wl_ || memcmp(test_g_, (want), test_wl_) != 0) {                      \
            test_failures++;                                                                       \
            fprintf(stderr, "%s:%d: %s: bytes differ\n", __FILE__, __LINE__, test_current);        \
            test_hexdump("got ", test_g_, test_gl_);                                               \
            test_hexdump("want", (const unsigned char *)(want), test_wl_);                         \
        }                                                                                          \
    } while (0)
#define CHECK_STR(a, alen, lit) CHECK((alen) == sizeof(lit) - 1 && memcmp((a), (lit), (alen)) == 0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        test_current = #fn;                                                                        \
        fn();                                                                                      \
    } while (0)

static inline int test_summary(void) {
    fprintf(stderr, "%d checks, %d failures\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

/* Hex string to bytes; returns the byte count. */
static inline size_t test_unhex(unsigned char *out, const char *hex) {
    size_t n = 0;
    while (hex[0] && hex[1]) {
        if (hex[0] == ' ' || hex[0] == '\n') {
            hex++;
            continue;
        }
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (unsigned char)v;
        hex += 2;
    }
    return n;
}

#endif
