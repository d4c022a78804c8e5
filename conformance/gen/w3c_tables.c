/* Dump the W3C tables of core/tests/test_w3c.c (the value-level cases of the
 * official w3c/trace-context harness, already ported there) as JSON lines,
 * so that the vectors are generated from the very tables the core's tests
 * use rather than a second hand-copied list. Inputs are written as hex:
 * some hold control characters and invalid UTF-8. Built and run by
 * conformance/gen/generate.py only. */
#define main conf_w3c_test_main
#include "../../core/tests/test_w3c.c"
#undef main

static void dump_hex(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) printf("%02x", *p);
}

int main(void) {
    for (size_t k = 0; k < sizeof TP_CASES / sizeof TP_CASES[0]; k++) {
        printf("{\"table\":\"traceparent\",\"name\":\"");
        dump_hex(TP_CASES[k].name);
        printf("\",\"in\":\"");
        dump_hex(TP_CASES[k].in);
        printf("\"}\n");
    }
    for (size_t k = 0; k < sizeof TS_CASES / sizeof TS_CASES[0]; k++) {
        printf("{\"table\":\"tracestate\",\"name\":\"");
        dump_hex(TS_CASES[k].name);
        printf("\",\"in\":\"");
        dump_hex(TS_CASES[k].in);
        printf("\"}\n");
    }
    for (size_t k = 0; k < sizeof BG_CASES / sizeof BG_CASES[0]; k++) {
        printf("{\"table\":\"baggage\",\"name\":\"");
        dump_hex(BG_CASES[k].name);
        printf("\",\"in\":\"");
        dump_hex(BG_CASES[k].in);
        printf("\"}\n");
    }
    return 0;
}
