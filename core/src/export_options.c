/* Exporter options: defaults, the standard OTEL_* environment variables, and
 * the key=value lists they carry (headers, resource attributes). */
#include "export_internal.h"

#include <stdlib.h>

void ptel_exporter_options_init(ptel_exporter_options *opts) {
    if (!opts) return;
    memset(opts, 0, sizeof *opts);
    opts->version = PTEL_EXPORTER_OPTIONS_VERSION;
    opts->kind = PTEL_EXPORTER_JSONL;
    opts->endpoint.ptr = "http://localhost:4318";
    opts->endpoint.len = strlen(opts->endpoint.ptr);
    opts->timeout_ms = 10000;
    opts->compression = PTEL_COMPRESSION_NONE;
    opts->temporality = PTEL_TEMPORALITY_PREFERENCE_CUMULATIVE;
    opts->metric_interval_ms = 60000;
    opts->self_telemetry = true;
    opts->include_invocation_span = true;
    opts->max_queue_bytes = 8u << 20;
    opts->max_queue_requests = 2048;
    opts->max_batch_bytes = 1u << 20;
    opts->schedule_delay_ms = 1000;
    opts->retry_initial_ms = 1000;
    opts->retry_max_ms = 30000;
    opts->retry_max_elapsed_ms = 60000;
    opts->path = NULL;
    opts->fd = 1;
}

static const char *const export_env_names[PTEL_ENV_COUNT] = {
    [PTEL_ENV_SDK_DISABLED] = "OTEL_SDK_DISABLED",
    [PTEL_ENV_ENDPOINT] = "OTEL_EXPORTER_OTLP_ENDPOINT",
    [PTEL_ENV_TRACES_ENDPOINT] = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    [PTEL_ENV_METRICS_ENDPOINT] = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    [PTEL_ENV_HEADERS] = "OTEL_EXPORTER_OTLP_HEADERS",
    [PTEL_ENV_TRACES_HEADERS] = "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    [PTEL_ENV_METRICS_HEADERS] = "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
    [PTEL_ENV_TIMEOUT] = "OTEL_EXPORTER_OTLP_TIMEOUT",
    [PTEL_ENV_TRACES_TIMEOUT] = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    [PTEL_ENV_METRICS_TIMEOUT] = "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
    [PTEL_ENV_COMPRESSION] = "OTEL_EXPORTER_OTLP_COMPRESSION",
    [PTEL_ENV_TRACES_COMPRESSION] = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    [PTEL_ENV_METRICS_COMPRESSION] = "OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
    [PTEL_ENV_SERVICE_NAME] = "OTEL_SERVICE_NAME",
    [PTEL_ENV_RESOURCE_ATTRIBUTES] = "OTEL_RESOURCE_ATTRIBUTES",
    [PTEL_ENV_TEMPORALITY_PREFERENCE] = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
    [PTEL_ENV_PROTOCOL] = "OTEL_EXPORTER_OTLP_PROTOCOL",
    [PTEL_ENV_TRACES_PROTOCOL] = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    [PTEL_ENV_METRICS_PROTOCOL] = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
};

const char *ptel_exporter_env_name(int var) {
    if (var <= 0 || var >= PTEL_ENV_COUNT) return "unknown";
    return export_env_names[var];
}

/* ---- key=value lists --------------------------------------------------- */

static bool export_is_blank(char c) { return c == ' ' || c == '\t'; }

static int export_hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Trim blanks, percent-decode into a new NUL-terminated string. */
static int export_decode(const ptel_allocator *a, const char *s, size_t n, char **out,
                         size_t *out_len, const char **why) {
    while (n && export_is_blank(s[0])) s++, n--;
    while (n && export_is_blank(s[n - 1])) n--;
    char *d = ptel__alloc(a, n + 1);
    if (!d) return PTEL_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            d[k++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? export_hex_digit(s[i + 1]) : -1;
        int lo = i + 2 < n ? export_hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            ptel__free(a, d, n + 1);
            *why = "bad percent escape";
            return PTEL_E_VALUE;
        }
        d[k++] = (char)(hi << 4 | lo);
        i += 2;
    }
    d[k] = '\0';
    *out = d;
    *out_len = k;
    return 0;
}

static bool export_is_token_char(unsigned char c) {
    /* RFC 9110 tchar */
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static const char *export_http_check(const ptel__export_kv *kv) {
    for (size_t i = 0; i < kv->key_len; i++)
        if (!export_is_token_char((unsigned char)kv->key[i])) return "header name is not a token";
    for (size_t i = 0; i < kv->value_len; i++) {
        unsigned char c = (unsigned char)kv->value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return "control character in a header value";
    }
    return NULL;
}

static bool export_key_eq(const ptel__export_kv *kv, const char *k, size_t n, bool fold) {
    if (kv->key_len != n) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)kv->key[i], y = (unsigned char)k[i];
        if (fold) {
            if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
            if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
        }
        if (x != y) return false;
    }
    return true;
}

void ptel__export_kv_free(const ptel_allocator *a, ptel__export_kv *kv, size_t count, size_t cap) {
    if (!kv) return;
    for (size_t i = 0; i < count; i++) {
        ptel__free(a, kv[i].key, kv[i].key_len + 1);
        ptel__free(a, kv[i].value, kv[i].value_len + 1);
    }
    ptel__free(a, kv, cap * sizeof *kv);
}

int ptel__export_kv_parse(const ptel_allocator *a, ptel_str s, bool http, ptel__export_kv **kv,
                          size_t *count, size_t *cap, const char **why) {
    size_t i = 0;
    while (i < s.len) {
        size_t start = i;
        while (i < s.len && s.ptr[i] != ',') i++;
        const char *m = s.ptr + start;
        size_t mlen = i - start;
        i++; /* the comma */
        size_t b = 0;
        while (b < mlen && export_is_blank(m[b])) b++;
        if (b == mlen) continue; /* empty member */
        const char *eq = memchr(m, '=', mlen);
        if (!eq) {
            *why = "member without '='";
            return PTEL_E_VALUE;
        }
        ptel__export_kv e = {0};
        int st = export_decode(a, m, (size_t)(eq - m), &e.key, &e.key_len, why);
        if (st) return st;
        st = export_decode(a, eq + 1, mlen - (size_t)(eq - m) - 1, &e.value, &e.value_len, why);
        if (st) {
            ptel__free(a, e.key, e.key_len + 1);
            return st;
        }
        const char *bad = e.key_len == 0 ? "empty key" : NULL;
        if (!bad && http) bad = export_http_check(&e);
        if (!bad && strlen(e.key) != e.key_len) bad = "NUL in a key";
        if (bad) {
            *why = bad;
            ptel__free(a, e.key, e.key_len + 1);
            ptel__free(a, e.value, e.value_len + 1);
            return PTEL_E_VALUE;
        }
        size_t k = 0;
        while (k < *count && !export_key_eq(&(*kv)[k], e.key, e.key_len, http)) k++;
        if (k < *count) { /* a later list (or member) replaces the value */
            ptel__free(a, (*kv)[k].value, (*kv)[k].value_len + 1);
            ptel__free(a, e.key, e.key_len + 1);
            (*kv)[k].value = e.value;
            (*kv)[k].value_len = e.value_len;
            continue;
        }
        if (*count == *cap) {
            size_t ncap = *cap ? *cap * 2 : 8;
            ptel__export_kv *grown = ptel__realloc(a, *kv, *cap * sizeof **kv, ncap * sizeof **kv);
            if (!grown) {
                ptel__free(a, e.key, e.key_len + 1);
                ptel__free(a, e.value, e.value_len + 1);
                return PTEL_E_NOMEM;
            }
            *kv = grown;
            *cap = ncap;
        }
        (*kv)[(*count)++] = e;
    }
    return 0;
}

static char export_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }

/* ASCII case-insensitive: equal NUL-terminated strings / `b` a prefix of `a`. */
static bool export_ieq(const char *a, const char *b) {
    while (*a && export_lower(*a) == export_lower(*b)) a++, b++;
    return *a == '\0' && *b == '\0';
}

static bool export_iprefix(const char *a, size_t n, const char *b) {
    size_t k = 0;
    while (b[k] && k < n && export_lower(a[k]) == export_lower(b[k])) k++;
    return b[k] == '\0';
}

bool ptel__export_url_ok(ptel_str url) {
    size_t skip = 0;
    if (url.len > 7 && export_iprefix(url.ptr, url.len, "http://"))
        skip = 7;
    else if (url.len > 8 && export_iprefix(url.ptr, url.len, "https://"))
        skip = 8;
    else
        return false;
    for (size_t i = skip; i < url.len; i++) {
        unsigned char c = (unsigned char)url.ptr[i];
        if (c <= 0x20 || c == 0x7f) return false;
    }
    return true;
}

/* ---- environment ------------------------------------------------------- */

typedef struct export_env {
    ptel_getenv_fn fn;
    void *ud;
    ptel_diag *diag;
    int status;
} export_env;

static const char *export_env_get(export_env *e, int var) {
    const char *v = e->fn ? e->fn(e->ud, export_env_names[var]) : getenv(export_env_names[var]);
    return v && *v ? v : NULL;
}

/* Record the first bad variable; the field keeps its value. */
static void export_env_bad(export_env *e, int var, const char *why) {
    if (e->status) return;
    e->status = ptel__fail(e->diag, PTEL_E_VALUE, 0, (uint32_t)var, why);
}

static ptel_str export_str(const char *s) {
    ptel_str r = {s, strlen(s)};
    return r;
}

static void export_env_url(export_env *e, int var, ptel_str *field, uint32_t *kind) {
    const char *v = export_env_get(e, var);
    if (!v) return;
    if (!ptel__export_url_ok(export_str(v))) {
        export_env_bad(e, var, "not an http:// or https:// URL");
        return;
    }
    *field = export_str(v);
    *kind = PTEL_EXPORTER_OTLP_HTTP;
}

static void export_env_list(export_env *e, int var, bool http, ptel_str *field) {
    const char *v = export_env_get(e, var);
    if (!v) return;
    ptel__export_kv *kv = NULL;
    size_t n = 0, cap = 0;
    const char *why = NULL;
    ptel_allocator libc = ptel__allocator(NULL);
    int st = ptel__export_kv_parse(&libc, export_str(v), http, &kv, &n, &cap, &why);
    ptel__export_kv_free(&libc, kv, n, cap);
    if (st == PTEL_E_NOMEM) why = "out of memory";
    if (st)
        export_env_bad(e, var, why);
    else
        *field = export_str(v);
}

static void export_env_timeout(export_env *e, int var, uint32_t *field) {
    const char *v = export_env_get(e, var);
    if (!v) return;
    uint64_t ms = 0;
    size_t n = 0;
    while (v[n] >= '0' && v[n] <= '9' && n < 11) ms = ms * 10 + (uint64_t)(v[n++] - '0');
    if (n == 0 || v[n] != '\0' || n > 10 || ms > UINT32_MAX) {
        export_env_bad(e, var, "not a decimal number of milliseconds");
        return;
    }
    *field = (uint32_t)ms;
}

static void export_env_compression(export_env *e, int var, uint32_t *field) {
    const char *v = export_env_get(e, var);
    if (!v) return;
    if (export_ieq(v, "gzip"))
        *field = PTEL_COMPRESSION_GZIP;
    else if (export_ieq(v, "none"))
        *field = PTEL_COMPRESSION_NONE;
    else
        export_env_bad(e, var, "compression is neither gzip nor none");
}

int ptel_exporter_options_from_env(ptel_exporter_options *opts, ptel_getenv_fn getenv_fn, void *ud,
                                   ptel_diag *diag) {
    if (!opts || opts->version != PTEL_EXPORTER_OPTIONS_VERSION)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0,
                          "options NULL or of another version");
    export_env e = {getenv_fn, ud, diag, 0};
    bool disabled = false;
    const char *v = export_env_get(&e, PTEL_ENV_SDK_DISABLED);
    if (v) {
        if (export_ieq(v, "true"))
            disabled = true;
        else if (!export_ieq(v, "false"))
            export_env_bad(&e, PTEL_ENV_SDK_DISABLED, "neither true nor false");
    }
    export_env_url(&e, PTEL_ENV_ENDPOINT, &opts->endpoint, &opts->kind);
    export_env_url(&e, PTEL_ENV_TRACES_ENDPOINT, &opts->traces_endpoint, &opts->kind);
    export_env_url(&e, PTEL_ENV_METRICS_ENDPOINT, &opts->metrics_endpoint, &opts->kind);
    export_env_list(&e, PTEL_ENV_HEADERS, true, &opts->headers);
    export_env_list(&e, PTEL_ENV_TRACES_HEADERS, true, &opts->traces_headers);
    export_env_list(&e, PTEL_ENV_METRICS_HEADERS, true, &opts->metrics_headers);
    /* One timeout and compression serve both signals: the generic variable,
     * then the metrics one, then the traces one, the last set wins. */
    export_env_timeout(&e, PTEL_ENV_TIMEOUT, &opts->timeout_ms);
    export_env_timeout(&e, PTEL_ENV_METRICS_TIMEOUT, &opts->timeout_ms);
    export_env_timeout(&e, PTEL_ENV_TRACES_TIMEOUT, &opts->timeout_ms);
    export_env_compression(&e, PTEL_ENV_COMPRESSION, &opts->compression);
    export_env_compression(&e, PTEL_ENV_METRICS_COMPRESSION, &opts->compression);
    export_env_compression(&e, PTEL_ENV_TRACES_COMPRESSION, &opts->compression);
    v = export_env_get(&e, PTEL_ENV_SERVICE_NAME);
    if (v) {
        if (ptel__utf8_valid(v, strlen(v)))
            opts->service_name = export_str(v);
        else
            export_env_bad(&e, PTEL_ENV_SERVICE_NAME, "invalid UTF-8");
    }
    export_env_list(&e, PTEL_ENV_RESOURCE_ATTRIBUTES, false, &opts->resource_attributes);
    v = export_env_get(&e, PTEL_ENV_TEMPORALITY_PREFERENCE);
    if (v) {
        if (export_ieq(v, "cumulative"))
            opts->temporality = PTEL_TEMPORALITY_PREFERENCE_CUMULATIVE;
        else if (export_ieq(v, "delta"))
            opts->temporality = PTEL_TEMPORALITY_PREFERENCE_DELTA;
        else if (export_ieq(v, "lowmemory"))
            opts->temporality = PTEL_TEMPORALITY_PREFERENCE_LOWMEMORY;
        else
            export_env_bad(&e, PTEL_ENV_TEMPORALITY_PREFERENCE,
                           "neither cumulative, delta nor lowmemory");
    }
    /* Nothing to set: only the protocol the exporter speaks is accepted. */
    for (int var = PTEL_ENV_PROTOCOL; var <= PTEL_ENV_METRICS_PROTOCOL; var++) {
        v = export_env_get(&e, var);
        if (v && strcmp(v, "http/protobuf") != 0)
            export_env_bad(&e, var, "only http/protobuf is supported");
    }
    if (disabled) opts->kind = PTEL_EXPORTER_NONE;
    return e.status;
}
