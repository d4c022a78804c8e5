/* ptel traceparent TRACEPARENT [TRACESTATE]: the parsed context as JSON. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static void tp_print_json_string(const char *s, size_t n) {
    putchar('"');
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void tp_print_hex(const uint8_t *p, size_t n) {
    putchar('"');
    for (size_t k = 0; k < n; k++) printf("%02x", p[k]);
    putchar('"');
}

int cli_cmd_traceparent(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: ptel traceparent TRACEPARENT [TRACESTATE]\n");
        return 2;
    }
    ptel_traceparent tp;
    ptel_diag diag = {0};
    int rc = ptel_traceparent_parse(&tp, argv[1], strlen(argv[1]), &diag);
    if (rc) {
        cli_error("traceparent", "invalid traceparent", rc, &diag);
        return 1;
    }
    char *ts = NULL;
    size_t ts_len = 0;
    if (argc == 3) {
        size_t in_len = strlen(argv[2]);
        ts = malloc(in_len + 1);
        if (!ts) return 1;
        rc = ptel_tracestate_normalize(ts, in_len + 1, &ts_len, argv[2], in_len, &diag);
        if (rc) {
            cli_error("traceparent", "invalid tracestate", rc, &diag);
            free(ts);
            return 1;
        }
    }
    printf("{\"version\":\"%02x\",\"trace_id\":", tp.version);
    tp_print_hex(tp.trace_id, 16);
    printf(",\"parent_id\":");
    tp_print_hex(tp.parent_id, 8);
    printf(",\"trace_flags\":\"%02x\",\"sampled\":%s,\"random\":%s", tp.trace_flags,
           tp.trace_flags & PTEL_TRACE_FLAG_SAMPLED ? "true" : "false",
           tp.trace_flags & PTEL_TRACE_FLAG_RANDOM ? "true" : "false");
    if (argc == 3) {
        printf(",\"tracestate\":[");
        size_t n = ptel_tracestate_count(ts, ts_len);
        for (size_t k = 0; k < n; k++) {
            ptel_str key, value;
            ptel_tracestate_member(&key, &value, ts, ts_len, k);
            printf("%s{\"key\":", k ? "," : "");
            tp_print_json_string(key.ptr, key.len);
            printf(",\"value\":");
            tp_print_json_string(value.ptr, value.len);
            printf("}");
        }
        printf("]");
    }
    printf("}\n");
    free(ts);
    return 0;
}
