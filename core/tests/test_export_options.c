/* Exporter options: defaults, every OTEL_* variable (valid, invalid, empty),
 * the key=value lists, Retry-After, request item counting, responses and
 * the stats JSON. */
#include "test_export_util.h"

static bool str_is(ptel_str s, const char *lit) {
    return s.len == strlen(lit) && !memcmp(s.ptr, lit, s.len);
}

static void test_defaults(void) {
    ptel_exporter_options o;
    ptel_exporter_options_init(&o);
    CHECK_EQ_INT(o.version, PTEL_EXPORTER_OPTIONS_VERSION);
    CHECK_EQ_INT(o.kind, PTEL_EXPORTER_JSONL);
    CHECK(str_is(o.endpoint, "http://localhost:4318"));
    CHECK_EQ_INT(o.traces_endpoint.len, 0);
    CHECK_EQ_INT(o.metrics_endpoint.len, 0);
    CHECK_EQ_INT(o.headers.len, 0);
    CHECK_EQ_INT(o.timeout_ms, 10000);
    CHECK_EQ_INT(o.compression, PTEL_COMPRESSION_NONE);
    CHECK_EQ_INT(o.temporality, PTEL_TEMPORALITY_PREFERENCE_CUMULATIVE);
    CHECK_EQ_INT(o.metric_interval_ms, 60000);
    CHECK(o.self_telemetry);
    CHECK(o.include_invocation_span);
    CHECK_EQ_INT(o.max_queue_bytes, 8u << 20);
    CHECK_EQ_INT(o.max_queue_requests, 2048);
    CHECK_EQ_INT(o.max_batch_bytes, 1u << 20);
    CHECK_EQ_INT(o.schedule_delay_ms, 1000);
    CHECK_EQ_INT(o.retry_initial_ms, 1000);
    CHECK_EQ_INT(o.retry_max_ms, 30000);
    CHECK_EQ_INT(o.retry_max_elapsed_ms, 60000);
    CHECK(o.path == NULL);
    CHECK_EQ_INT(o.fd, 1);

    /* No variable set: nothing changes. */
    tx_env env = {0};
    ptel_exporter_options before = o;
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &env, NULL), 0);
    CHECK(!memcmp(&before, &o, sizeof o));
    /* Empty values count as unset. */
    tx_set(&env, "OTEL_EXPORTER_OTLP_ENDPOINT", "");
    tx_set(&env, "OTEL_EXPORTER_OTLP_TIMEOUT", "");
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &env, NULL), 0);
    CHECK(!memcmp(&before, &o, sizeof o));

    CHECK_EQ_INT(ptel_exporter_options_from_env(NULL, tx_getenv, &env, NULL),
                 PTEL_E_INVALID_ARGUMENT);
    o.version = 99;
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &env, NULL),
                 PTEL_E_INVALID_ARGUMENT);
}

static void test_every_variable(void) {
    tx_env env = {0};
    tx_set(&env, "OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/base");
    tx_set(&env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/custom/traces");
    tx_set(&env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:2/m");
    tx_set(&env, "OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret,x=1");
    tx_set(&env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x=2");
    tx_set(&env, "OTEL_EXPORTER_OTLP_METRICS_HEADERS", "x=3");
    tx_set(&env, "OTEL_EXPORTER_OTLP_TIMEOUT", "2500");
    tx_set(&env, "OTEL_EXPORTER_OTLP_COMPRESSION", "GZip");
    tx_set(&env, "OTEL_SERVICE_NAME", "checkout");
    tx_set(&env, "OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod");
    tx_set(&env, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta");
    tx_set(&env, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    tx_set(&env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf");
    tx_set(&env, "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf");
    ptel_exporter_options o;
    ptel_exporter_options_init(&o);
    ptel_diag d = {0};
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &env, &d), 0);
    CHECK_EQ_INT(o.kind, PTEL_EXPORTER_OTLP_HTTP);
    CHECK(str_is(o.endpoint, "https://collector:4318/base"));
    CHECK(str_is(o.traces_endpoint, "http://t:1/custom/traces"));
    CHECK(str_is(o.metrics_endpoint, "http://m:2/m"));
    CHECK(str_is(o.headers, "api-key=secret,x=1"));
    CHECK(str_is(o.traces_headers, "x=2"));
    CHECK(str_is(o.metrics_headers, "x=3"));
    CHECK_EQ_INT(o.timeout_ms, 2500);
    CHECK_EQ_INT(o.compression, PTEL_COMPRESSION_GZIP);
    CHECK(str_is(o.service_name, "checkout"));
    CHECK(str_is(o.resource_attributes, "deployment.environment=prod"));
    CHECK_EQ_INT(o.temporality, PTEL_TEMPORALITY_PREFERENCE_DELTA);

    /* Signal variants win: traces over metrics over the generic one. */
    tx_env e2 = {0};
    tx_set(&e2, "OTEL_EXPORTER_OTLP_TIMEOUT", "100");
    tx_set(&e2, "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "200");
    tx_set(&e2, "OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    tx_set(&e2, "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none");
    tx_set(&e2, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "LOWMEMORY");
    ptel_exporter_options_init(&o);
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &e2, NULL), 0);
    CHECK_EQ_INT(o.timeout_ms, 200);
    CHECK_EQ_INT(o.compression, PTEL_COMPRESSION_NONE);
    CHECK_EQ_INT(o.temporality, PTEL_TEMPORALITY_PREFERENCE_LOWMEMORY);
    CHECK_EQ_INT(o.kind, PTEL_EXPORTER_JSONL); /* no endpoint: kind kept */
    tx_set(&e2, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "300");
    e2.values[4] = "cumulative"; /* the temporality preference */
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &e2, NULL), 0);
    CHECK_EQ_INT(o.timeout_ms, 300);
    CHECK_EQ_INT(o.temporality, PTEL_TEMPORALITY_PREFERENCE_CUMULATIVE);

    /* A signal endpoint alone selects OTLP/HTTP too. */
    tx_env e3 = {0};
    tx_set(&e3, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m/v1/metrics");
    ptel_exporter_options_init(&o);
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &e3, NULL), 0);
    CHECK_EQ_INT(o.kind, PTEL_EXPORTER_OTLP_HTTP);
    CHECK(str_is(o.endpoint, "http://localhost:4318"));

    /* OTEL_SDK_DISABLED=true wins over an endpoint; false changes nothing. */
    tx_set(&e3, "OTEL_SDK_DISABLED", "TRUE");
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &e3, NULL), 0);
    CHECK_EQ_INT(o.kind, PTEL_EXPORTER_NONE);
    e3.values[1] = "false";
    ptel_exporter_options_init(&o);
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &e3, NULL), 0);
    CHECK_EQ_INT(o.kind, PTEL_EXPORTER_OTLP_HTTP);
}

/* One bad variable: PTEL_E_VALUE naming it, the field unchanged, the
 * others still applied. */
static void check_bad(const char *name, const char *value, int var) {
    tx_env env = {0};
    tx_set(&env, name, value);
    tx_set(&env, "OTEL_SERVICE_NAME", "still-applied");
    if (var == PTEL_ENV_SERVICE_NAME) env.n = 1; /* the bad value is the service name */
    ptel_exporter_options o, before;
    ptel_exporter_options_init(&o);
    before = o;
    ptel_diag d = {0};
    int st = ptel_exporter_options_from_env(&o, tx_getenv, &env, &d);
    CHECK_EQ_INT(st, PTEL_E_VALUE);
    CHECK_EQ_INT(d.status, PTEL_E_VALUE);
    CHECK_EQ_INT(d.field, var);
    CHECK(d.reason != NULL);
    if (st != PTEL_E_VALUE || (int)d.field != var)
        fprintf(stderr, "  variable %s=%s\n", name, value);
    if (var != PTEL_ENV_SERVICE_NAME) {
        CHECK(str_is(o.service_name, "still-applied"));
        o.service_name = before.service_name;
    }
    CHECK(!memcmp(&before, &o, sizeof o));
}

static void test_bad_values(void) {
    check_bad("OTEL_SDK_DISABLED", "yes", PTEL_ENV_SDK_DISABLED);
    check_bad("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://host", PTEL_ENV_ENDPOINT);
    check_bad("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318", PTEL_ENV_ENDPOINT);
    check_bad("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a b", PTEL_ENV_ENDPOINT);
    check_bad("OTEL_EXPORTER_OTLP_ENDPOINT", "http://", PTEL_ENV_ENDPOINT);
    check_bad("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://x\n", PTEL_ENV_TRACES_ENDPOINT);
    check_bad("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "grpc://x", PTEL_ENV_METRICS_ENDPOINT);
    check_bad("OTEL_EXPORTER_OTLP_HEADERS", "novalue", PTEL_ENV_HEADERS);
    check_bad("OTEL_EXPORTER_OTLP_HEADERS", "k=%zz", PTEL_ENV_HEADERS);
    check_bad("OTEL_EXPORTER_OTLP_HEADERS", "k=%4", PTEL_ENV_HEADERS);
    check_bad("OTEL_EXPORTER_OTLP_HEADERS", "bad key=v", PTEL_ENV_HEADERS);
    check_bad("OTEL_EXPORTER_OTLP_HEADERS", "=v", PTEL_ENV_HEADERS);
    check_bad("OTEL_EXPORTER_OTLP_HEADERS", "k=a%0D%0AX-Injected: 1", PTEL_ENV_HEADERS);
    check_bad("OTEL_EXPORTER_OTLP_HEADERS", "k%00=v", PTEL_ENV_HEADERS);
    check_bad("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "a", PTEL_ENV_TRACES_HEADERS);
    check_bad("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "a=b,c", PTEL_ENV_METRICS_HEADERS);
    check_bad("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", PTEL_ENV_TIMEOUT);
    check_bad("OTEL_EXPORTER_OTLP_TIMEOUT", "-1", PTEL_ENV_TIMEOUT);
    check_bad("OTEL_EXPORTER_OTLP_TIMEOUT", "4294967296", PTEL_ENV_TIMEOUT);
    check_bad("OTEL_EXPORTER_OTLP_TIMEOUT", "00000000001", PTEL_ENV_TIMEOUT);
    check_bad("OTEL_EXPORTER_OTLP_TIMEOUT", " 5", PTEL_ENV_TIMEOUT);
    check_bad("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "x", PTEL_ENV_TRACES_TIMEOUT);
    check_bad("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "1.5", PTEL_ENV_METRICS_TIMEOUT);
    check_bad("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", PTEL_ENV_COMPRESSION);
    check_bad("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "gzip ", PTEL_ENV_TRACES_COMPRESSION);
    check_bad("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", "deflate", PTEL_ENV_METRICS_COMPRESSION);
    check_bad("OTEL_SERVICE_NAME", "\xff\xfe", PTEL_ENV_SERVICE_NAME);
    check_bad("OTEL_RESOURCE_ATTRIBUTES", "a=1,b", PTEL_ENV_RESOURCE_ATTRIBUTES);
    check_bad("OTEL_RESOURCE_ATTRIBUTES", "a=%G0", PTEL_ENV_RESOURCE_ATTRIBUTES);
    check_bad("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "both",
              PTEL_ENV_TEMPORALITY_PREFERENCE);
    check_bad("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", PTEL_ENV_PROTOCOL);
    check_bad("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", PTEL_ENV_TRACES_PROTOCOL);
    check_bad("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "HTTP/PROTOBUF", PTEL_ENV_METRICS_PROTOCOL);

    /* Several bad: the first in reading order is reported, the rest ignored. */
    tx_env env = {0};
    tx_set(&env, "OTEL_EXPORTER_OTLP_COMPRESSION", "brotli");
    tx_set(&env, "OTEL_EXPORTER_OTLP_TIMEOUT", "soon");
    tx_set(&env, "OTEL_EXPORTER_OTLP_ENDPOINT", "http://ok:1");
    ptel_exporter_options o;
    ptel_exporter_options_init(&o);
    ptel_diag d = {0};
    CHECK_EQ_INT(ptel_exporter_options_from_env(&o, tx_getenv, &env, &d), PTEL_E_VALUE);
    CHECK_EQ_INT(d.field, PTEL_ENV_TIMEOUT);
    CHECK(str_is(o.endpoint, "http://ok:1"));
    CHECK_EQ_INT(o.kind, PTEL_EXPORTER_OTLP_HTTP);
}

static void test_env_names(void) {
    CHECK(!strcmp(ptel_exporter_env_name(PTEL_ENV_ENDPOINT), "OTEL_EXPORTER_OTLP_ENDPOINT"));
    CHECK(!strcmp(ptel_exporter_env_name(PTEL_ENV_TEMPORALITY_PREFERENCE),
                  "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"));
    CHECK(!strcmp(ptel_exporter_env_name(PTEL_ENV_SDK_DISABLED), "OTEL_SDK_DISABLED"));
    CHECK(!strcmp(ptel_exporter_env_name(PTEL_ENV_METRICS_PROTOCOL),
                  "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"));
    CHECK(!strcmp(ptel_exporter_env_name(0), "unknown"));
    CHECK(!strcmp(ptel_exporter_env_name(PTEL_ENV_COUNT), "unknown"));
    CHECK(!strcmp(ptel_exporter_env_name(-1), "unknown"));
    for (int v = 1; v < PTEL_ENV_COUNT; v++) CHECK(!strncmp(ptel_exporter_env_name(v), "OTEL_", 5));
}

static void test_kv_lists(void) {
    ptel_allocator libc = ptel__allocator(NULL);
    ptel__export_kv *kv = NULL;
    size_t n = 0, cap = 0;
    const char *why = NULL;
    const char *s = " a = 1 ,, b=%2C%3d%20x ,\tA=2,c= ";
    CHECK_EQ_INT(ptel__export_kv_parse(&libc, (ptel_str){s, strlen(s)}, true, &kv, &n, &cap, &why),
                 0);
    /* HTTP header names compare case-insensitively: A=2 replaces a=1. */
    CHECK_EQ_INT(n, 3);
    if (n == 3) {
        CHECK(!strcmp(kv[0].key, "a") && !strcmp(kv[0].value, "2"));
        CHECK(!strcmp(kv[1].key, "b") && !strcmp(kv[1].value, ",= x"));
        CHECK(!strcmp(kv[2].key, "c") && kv[2].value_len == 0);
    }
    /* A later list replaces values of the same key. */
    const char *s2 = "c=3,d=4";
    CHECK_EQ_INT(
        ptel__export_kv_parse(&libc, (ptel_str){s2, strlen(s2)}, true, &kv, &n, &cap, &why), 0);
    CHECK_EQ_INT(n, 4);
    if (n == 4) CHECK(!strcmp(kv[2].value, "3") && !strcmp(kv[3].key, "d"));
    ptel__export_kv_free(&libc, kv, n, cap);

    /* Resource attributes: case matters, any key characters. */
    kv = NULL, n = cap = 0;
    const char *r = "k=1,K=2,a b=3";
    CHECK_EQ_INT(ptel__export_kv_parse(&libc, (ptel_str){r, strlen(r)}, false, &kv, &n, &cap, &why),
                 0);
    CHECK_EQ_INT(n, 3);
    ptel__export_kv_free(&libc, kv, n, cap);

    CHECK(ptel__export_url_ok((ptel_str){"HTTP://x", 8}));
    CHECK(ptel__export_url_ok((ptel_str){"https://x:1/p?q=1", 17}));
    CHECK(!ptel__export_url_ok((ptel_str){"https://", 8}));
    CHECK(!ptel__export_url_ok((ptel_str){"http:/x", 7}));
    CHECK(!ptel__export_url_ok((ptel_str){"http://x\x7f", 9}));
}

static void test_retry_after(void) {
    const int64_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    CHECK_EQ_INT(ptel__export_retry_after_ms("5", 1, now), 5000);
    CHECK_EQ_INT(ptel__export_retry_after_ms(" 0\r\n", 4, now), 0);
    CHECK_EQ_INT(ptel__export_retry_after_ms("120", 3, now), 120000);
    const char *d = "Sun, 06 Nov 1994 08:49:47 GMT";
    CHECK_EQ_INT(ptel__export_retry_after_ms(d, strlen(d), now), 10000);
    const char *past = "Sun, 06 Nov 1994 08:49:30 GMT";
    CHECK_EQ_INT(ptel__export_retry_after_ms(past, strlen(past), now), 0);
    const char *leap = "Thu, 29 Feb 2024 00:00:00 GMT";
    CHECK_EQ_INT(ptel__export_retry_after_ms(leap, strlen(leap), 1709164800 - 2), 2000);
    static const char *const bad[] = {
        "",
        "-1",
        "1.5",
        "soon",
        "1234567890",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(ptel__export_retry_after_ms(bad[i], strlen(bad[i]), now), -1);
}

static void test_count_items(void) {
    uint8_t buf[64];
    uint64_t items = 99;
    /* ExportTraceServiceRequest: 2 ResourceSpans, 1 + 2 spans, plus a
     * resource and an unknown field that do not count. */
    size_t n = test_unhex(buf, "0a 0a 0a00 12 06 0a00 1200 1200"
                               "0a 06 12 04 1200 1a00"
                               "0a 04 12 02 1200"
                               "f801 07");
    CHECK_EQ_INT(ptel__export_count_items(PTEL_EXPORT_SIGNAL_TRACES, buf, n, &items, NULL), 0);
    CHECK_EQ_INT(items, 4);
    CHECK_EQ_INT(ptel__export_count_items(PTEL_EXPORT_SIGNAL_TRACES, buf, 0, &items, NULL), 0);
    CHECK_EQ_INT(items, 0);
    /* ExportMetricsServiceRequest: a sum with 2 points, a gauge with 1, a
     * histogram with 1. */
    n = test_unhex(buf, "0a 16 12 14 12 06 3a 04 0a00 0a00 12 04 2a 02 0a00 12 04 4a 02 0a00");
    CHECK_EQ_INT(ptel__export_count_items(PTEL_EXPORT_SIGNAL_METRICS, buf, n, &items, NULL), 0);
    CHECK_EQ_INT(items, 4);
    ptel_diag d = {0};
    n = test_unhex(buf, "0a 05 12 03 1200");
    CHECK_EQ_INT(ptel__export_count_items(PTEL_EXPORT_SIGNAL_TRACES, buf, n, &items, &d),
                 PTEL_E_TRUNCATED);
    n = test_unhex(buf, "08 01");
    CHECK_EQ_INT(ptel__export_count_items(PTEL_EXPORT_SIGNAL_TRACES, buf, n, &items, &d),
                 PTEL_E_MALFORMED);
    CHECK_EQ_INT(d.field, 1);
    n = test_unhex(buf, "0a 02 10 01");
    CHECK_EQ_INT(ptel__export_count_items(PTEL_EXPORT_SIGNAL_TRACES, buf, n, &items, &d),
                 PTEL_E_MALFORMED);
    n = test_unhex(buf, "0a 04 12 02 10 01");
    CHECK_EQ_INT(ptel__export_count_items(PTEL_EXPORT_SIGNAL_TRACES, buf, n, &items, &d),
                 PTEL_E_MALFORMED);
}

static void test_response(void) {
    uint8_t buf[32];
    uint64_t rej = 9;
    size_t n = test_unhex(buf, "0a 05 08 03 12 01 78");
    ptel__export_parse_response(buf, n, &rej);
    CHECK_EQ_INT(rej, 3);
    ptel__export_parse_response(buf, 0, &rej);
    CHECK_EQ_INT(rej, 0);
    n = test_unhex(buf, "0a 0b 08 ffffffffffffffffff01"); /* negative int64 */
    ptel__export_parse_response(buf, n, &rej);
    CHECK_EQ_INT(rej, 0);
    n = test_unhex(buf, "0a 09 08"); /* truncated: read as nothing rejected */
    ptel__export_parse_response(buf, n, &rej);
    CHECK_EQ_INT(rej, 0);
}

/* Response bodies come from the network and Retry-After from its headers:
 * random bytes must read without a fault (ASan checks) and with results in
 * range. Deterministic xorshift, so a failure reproduces. */
static void test_random_input(void) {
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint8_t buf[64];
    int bad = 0;
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(x % sizeof buf);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)x;
            if (round % 3 == 0) buf[i] &= 0x3f; /* more small tags and lengths */
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t rej = 0, items = 0;
        uint8_t *copy = malloc(n ? n : 1); /* exact size, so ASan sees overreads */
        memcpy(copy, buf, n);
        ptel__export_parse_response(copy, n, &rej);
        int st = ptel__export_count_items((uint32_t)(round & 1), copy, n, &items, NULL);
        int64_t ms = ptel__export_retry_after_ms((const char *)copy, n, 784111777);
        if ((st != 0 && st != PTEL_E_TRUNCATED && st != PTEL_E_MALFORMED) || ms < -1 || items > n ||
            (int64_t)rej < 0)
            bad++;
        free(copy);
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_stats_json(void) {
    ptel_exporter_stats s;
    memset(&s, 0, sizeof s);
    s.invocations = 2;
    s.signals[0].requests_submitted = 2;
    s.signals[0].items_submitted = 6;
    s.signals[0].items_sent = 4;
    s.signals[0].items_dropped[PTEL_EXPORT_DROP_PARTIAL] = 1;
    s.signals[0].items_dropped[PTEL_EXPORT_DROP_QUEUE_FULL] = 1;
    s.signals[1].retries = 3;
    s.last_http_status = 503;
    static const char want[] =
        "{\"invocations\":2,\"traces\":{\"requests\":2,\"submitted\":6,\"sent\":4,\"dropped\":2,"
        "\"dropped_by\":{\"queue_full\":1,\"rejected\":0,\"retries_exhausted\":0,"
        "\"partial_success\":1,\"shutdown\":0,\"error\":0},\"exports_ok\":0,\"exports_failed\":0,"
        "\"retries\":0,\"queued_items\":0,\"queued_bytes\":0},\"metrics\":{\"requests\":0,"
        "\"submitted\":0,\"sent\":0,\"dropped\":0,\"dropped_by\":{\"queue_full\":0,\"rejected\":0,"
        "\"retries_exhausted\":0,\"partial_success\":0,\"shutdown\":0,\"error\":0},"
        "\"exports_ok\":0,\"exports_failed\":0,\"retries\":3,\"queued_items\":0,"
        "\"queued_bytes\":0},\"queue_requests\":0,\"queue_bytes\":0,\"last_http_status\":503}";
    size_t len = 0;
    CHECK_EQ_INT(ptel_exporter_stats_to_json(&s, NULL, 0, &len), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(len, sizeof want - 1);
    char buf[1024];
    CHECK_EQ_INT(ptel_exporter_stats_to_json(&s, buf, sizeof want - 1, &len),
                 PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(ptel_exporter_stats_to_json(&s, buf, sizeof want, &len), 0);
    CHECK_STR(buf, len, want);
    CHECK_EQ_INT(buf[len], '\0');
    CHECK_EQ_INT(ptel_exporter_stats_to_json(NULL, buf, sizeof buf, &len), PTEL_E_INVALID_ARGUMENT);
    CHECK(!strcmp(ptel_export_drop_name(PTEL_EXPORT_DROP_RETRIES), "retries_exhausted"));
    CHECK(!strcmp(ptel_export_drop_name(PTEL_EXPORT_DROP_COUNT), "unknown"));
    CHECK(!strcmp(ptel_export_drop_name(-1), "unknown"));
}

static void test_new_rejects(void) {
    ptel_exporter *exp = (ptel_exporter *)1;
    ptel_diag d = {0};
    CHECK_EQ_INT(ptel_exporter_new(&exp, NULL, &d), PTEL_E_INVALID_ARGUMENT);
    CHECK(exp == NULL);
    ptel_exporter_options o;
    ptel_exporter_options_init(&o);
    o.kind = 5;
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_INVALID_ARGUMENT);
    ptel_exporter_options_init(&o);
    o.compression = 2;
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_INVALID_ARGUMENT);
    ptel_exporter_options_init(&o);
    o.path = "";
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_INVALID_ARGUMENT);
    ptel_exporter_options_init(&o);
    o.path = "/nonexistent-dir/ptel/out.jsonl";
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_IO);
    ptel_exporter_options_init(&o);
    o.kind = PTEL_EXPORTER_MEMORY;
    o.resource_attributes = (ptel_str){"a", 1};
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_VALUE);
    CHECK_EQ_INT(d.field, PTEL_ENV_RESOURCE_ATTRIBUTES);
    ptel_exporter_options_init(&o);
    o.kind = PTEL_EXPORTER_MEMORY;
    o.service_name = (ptel_str){"\xc3", 1};
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_VALUE);
    ptel_attr bad = {{"", 0}, {PTEL_VALUE_STRING, 0, 0, 0, {"x", 1}, NULL, NULL}};
    o.service_name = (ptel_str){NULL, 0};
    o.resource = &bad;
    o.resource_count = 1;
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_INVALID_ARGUMENT); /* empty key */
    bad.key = (ptel_str){"k", 1};
    bad.value.str = (ptel_str){"\xff", 1};
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_VALUE);
    o.resource = NULL;
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_INVALID_ARGUMENT);
    ptel_exporter_options_init(&o);
    o.kind = PTEL_EXPORTER_OTLP_HTTP;
    o.endpoint = (ptel_str){"localhost:4318", 14};
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(d.field, PTEL_ENV_ENDPOINT);
    ptel_exporter_options_init(&o);
    o.kind = PTEL_EXPORTER_OTLP_HTTP;
    o.metrics_headers = (ptel_str){"a b=c", 5};
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, &d), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(d.field, PTEL_ENV_METRICS_HEADERS);
    CHECK(exp == NULL);
}

int main(void) {
    RUN(test_defaults);
    RUN(test_every_variable);
    RUN(test_bad_values);
    RUN(test_env_names);
    RUN(test_kv_lists);
    RUN(test_retry_after);
    RUN(test_count_items);
    RUN(test_response);
    RUN(test_random_input);
    RUN(test_stats_json);
    RUN(test_new_rejects);
    return test_summary();
}
