/* Fuzz target: PluginContext decode, encode and carriers. Invariants: a
 * decoded context re-encodes canonically (never longer than the input, a
 * fixed point of decode + encode); the environment block and the W3C strings
 * of a context rebuild it; the same input read as base64 PTEL_CONTEXT or as
 * newline-separated traceparent / tracestate / baggage never breaks these. */
#include <ptel/ptel.h>

#include <stdlib.h>
#include <string.h>

#define CTXF_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) abort();                                                                      \
    } while (0)

typedef struct ctxf_env {
    const char *names[4];
    const char *values[4];
    int count;
} ctxf_env;

static const char *ctxf_getenv(void *ud, const char *name) {
    ctxf_env *e = ud;
    for (int i = 0; i < e->count; i++)
        if (strcmp(e->names[i], name) == 0) return e->values[i];
    return NULL;
}

static uint8_t *ctxf_encode(const ptel_context *ctx, size_t *n) {
    CTXF_CHECK(ptel_context_encode(ctx, NULL, 0, n) == PTEL_E_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(*n);
    size_t m = 0;
    CTXF_CHECK(buf != NULL);
    if (*n > 1) CTXF_CHECK(ptel_context_encode(ctx, buf, *n - 1, &m) == PTEL_E_BUFFER_TOO_SMALL);
    CTXF_CHECK(ptel_context_encode(ctx, buf, *n, &m) == 0 && m == *n);
    return buf;
}

static int ctxf_str_eq(ptel_str a, ptel_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Every property a valid context must have, and its carriers. */
static void ctxf_check(const ptel_context *ctx, size_t input_len) {
    size_t n1;
    uint8_t *b1 = ctxf_encode(ctx, &n1);
    CTXF_CHECK(n1 <= 65536);
    if (input_len) CTXF_CHECK(n1 <= input_len);

    ptel_context *again = NULL;
    CTXF_CHECK(ptel_context_decode(&again, b1, n1, NULL, NULL) == 0);
    size_t n2;
    uint8_t *b2 = ctxf_encode(again, &n2);
    CTXF_CHECK(n2 == n1 && memcmp(b1, b2, n1) == 0);

    ptel_context_fields f, g;
    ptel_context_get(ctx, &f);
    ptel_context_get(again, &g);
    CTXF_CHECK(f.protocol_version == 1 && g.protocol_version == 1);
    CTXF_CHECK(ptel_span_context_is_valid(&f.parent));
    CTXF_CHECK(memcmp(&f.parent.trace_id, &g.parent.trace_id, 16) == 0);
    CTXF_CHECK(memcmp(&f.parent.span_id, &g.parent.span_id, 8) == 0);
    CTXF_CHECK(f.parent.trace_flags == g.parent.trace_flags);
    CTXF_CHECK(f.parent.is_remote == g.parent.is_remote);
    CTXF_CHECK(f.decision <= 2 && f.decision == g.decision);
    CTXF_CHECK(memcmp(&f.limits, &g.limits, sizeof f.limits) == 0);
    CTXF_CHECK(f.time_base_unix_nano == g.time_base_unix_nano && f.features == g.features);
    CTXF_CHECK(ctxf_str_eq(f.tracestate, g.tracestate) && ctxf_str_eq(f.baggage, g.baggage));
    CTXF_CHECK(ctxf_str_eq(f.plugin_name, g.plugin_name));
    CTXF_CHECK(ctxf_str_eq(f.plugin_version, g.plugin_version));
    CTXF_CHECK(ctxf_str_eq(f.hook, g.hook));
    ptel_context_free(again);

    /* Environment carrier round trip. */
    size_t need = 0, got = 0;
    CTXF_CHECK(ptel_context_to_env(ctx, NULL, 0, &need) == PTEL_E_BUFFER_TOO_SMALL);
    char *block = malloc(need);
    CTXF_CHECK(block != NULL);
    CTXF_CHECK(ptel_context_to_env(ctx, block, need - 1, &got) == PTEL_E_BUFFER_TOO_SMALL);
    CTXF_CHECK(ptel_context_to_env(ctx, block, need, &got) == 0 && got == need);
    ctxf_env env;
    memset(&env, 0, sizeof env);
    for (size_t i = 0; i < need;) {
        char *entry = block + i;
        size_t len = strlen(entry);
        char *eq = strchr(entry, '=');
        CTXF_CHECK(eq != NULL && env.count < 4);
        *eq = '\0';
        env.names[env.count] = entry;
        env.values[env.count++] = eq + 1;
        i += len + 1;
    }
    CTXF_CHECK(strcmp(env.names[env.count - 1], "PTEL_CONTEXT") == 0);
    ptel_context *from_env = NULL;
    CTXF_CHECK(ptel_context_from_env(&from_env, ctxf_getenv, &env, NULL, NULL) == 0);
    size_t n3;
    uint8_t *b3 = ctxf_encode(from_env, &n3);
    CTXF_CHECK(n3 == n1 && memcmp(b3, b1, n1) == 0);
    ptel_context_free(from_env);

    /* Without PTEL_CONTEXT: the W3C variables give ids, tracestate, baggage. */
    env.count--;
    CTXF_CHECK(ptel_context_from_env(&from_env, ctxf_getenv, &env, NULL, NULL) == 0);
    ptel_context_get(from_env, &g);
    CTXF_CHECK(memcmp(&f.parent.trace_id, &g.parent.trace_id, 16) == 0);
    CTXF_CHECK(memcmp(&f.parent.span_id, &g.parent.span_id, 8) == 0);
    CTXF_CHECK(g.parent.trace_flags == (f.parent.trace_flags & 3) && g.parent.is_remote);
    CTXF_CHECK(ctxf_str_eq(f.tracestate, g.tracestate) && ctxf_str_eq(f.baggage, g.baggage));
    CTXF_CHECK(g.decision == ((f.parent.trace_flags & 1) ? 2u : 0u));
    ptel_context_free(from_env);

    free(block);
    free(b3);
    free(b2);
    free(b1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ptel_context *ctx = (ptel_context *)&size; /* must come back NULL on failure */
    ptel_diag d = {0, 0, 0, NULL};
    int rc = ptel_context_decode(&ctx, data, size, NULL, &d);
    if (rc == 0) {
        ctxf_check(ctx, size);
        ptel_context_free(ctx);
    } else {
        CTXF_CHECK(rc < 0 && ctx == NULL && d.status == rc && d.reason != NULL);
        CTXF_CHECK(d.offset <= size || rc == PTEL_E_LIMIT);
    }

    /* The same bytes as text: PTEL_CONTEXT, then traceparent\ntracestate\nbaggage. */
    char *text = malloc(size + 1);
    CTXF_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    ctxf_env env = {{"PTEL_CONTEXT"}, {text}, 1};
    ctx = NULL;
    if (ptel_context_from_env(&ctx, ctxf_getenv, &env, NULL, NULL) == 0) {
        ctxf_check(ctx, 0);
        ptel_context_free(ctx);
    }
    const char *parts[3] = {text, NULL, NULL};
    size_t lens[3] = {size, 0, 0};
    for (int i = 1; i < 3; i++) {
        const char *nl = memchr(parts[i - 1], '\n', lens[i - 1]);
        if (!nl) break;
        parts[i] = nl + 1;
        lens[i] = lens[i - 1] - (size_t)(parts[i] - parts[i - 1]);
        lens[i - 1] = (size_t)(nl - parts[i - 1]);
    }
    ctx = NULL;
    rc = ptel_context_from_w3c(&ctx, parts[0], lens[0], parts[1], lens[1], parts[2], lens[2], NULL,
                               &d);
    if (rc == 0) {
        ctxf_check(ctx, 0);
        ptel_context_free(ctx);
    } else {
        CTXF_CHECK(rc == PTEL_E_TRACEPARENT && ctx == NULL);
    }
    free(text);
    return 0;
}
