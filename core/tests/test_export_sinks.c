/* The synchronous exporters: in-memory (exact requests, metric cycles,
 * temporality, self-telemetry), OTLP/JSON lines (byte-exact against the
 * renderer), console, disabled; and the state rules shared by all. */
#include "test_export_util.h"

#include <fcntl.h>
#include <unistd.h>

static ptel_exporter *new_exporter(uint32_t kind, bool self, uint32_t temporality) {
    ptel_exporter_options o;
    ptel_exporter_options_init(&o);
    o.kind = kind;
    o.service_name = (ptel_str){"svc", 3};
    o.self_telemetry = self;
    o.temporality = temporality;
    o.clock = tx_frozen_clock();
    ptel_exporter *exp = NULL;
    ptel_diag d = {0};
    int st = ptel_exporter_new(&exp, &o, &d);
    CHECK_EQ_INT(st, 0);
    if (st) fprintf(stderr, "  new: %s\n", d.reason ? d.reason : "?");
    return exp;
}

/* The aggregator export the exporter should produce for `invs`. */
static size_t expected_metrics(ptel_invocation **invs, int n, uint32_t temporality, int exports,
                               uint8_t *buf, size_t cap) {
    ptel_aggregator_options ao;
    ptel_aggregator_options_init(&ao);
    ao.clock = tx_frozen_clock();
    ptel_aggregator *agg = NULL;
    ptel_aggregator_new(&agg, &ao);
    for (int i = 0; i < n; i++) ptel_aggregator_add(agg, invs[i]);
    ptel_attr sn = tx_attr("service.name", PTEL_VALUE_STRING);
    sn.value.str = (ptel_str){"svc", 3};
    ptel_export_options xo;
    ptel_export_options_init(&xo);
    xo.resource_attributes = &sn;
    xo.resource_attribute_count = 1;
    size_t len = 0;
    for (int k = 0; k < exports; k++)
        if (ptel_aggregator_export(agg, &xo, temporality, buf, cap, &len)) len = 0;
    ptel_aggregator_free(agg);
    return len;
}

static void test_memory(void) {
    ptel_exporter *exp = new_exporter(PTEL_EXPORTER_MEMORY, false, 0);
    if (!exp) return;
    ptel_invocation *inv = tx_invocation("pii_filter", false);
    CHECK(inv != NULL);
    if (!inv) return;
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, inv), 0);
    static uint8_t want[8192], got_buf[8192];
    size_t want_len = tx_export_traces(inv, want, sizeof want);
    CHECK(want_len > 0);
    CHECK_EQ_INT(ptel_exporter_memory_count(exp, PTEL_EXPORT_SIGNAL_TRACES), 1);
    CHECK_EQ_INT(ptel_exporter_memory_count(exp, PTEL_EXPORT_SIGNAL_METRICS), 0);
    const uint8_t *got = NULL;
    size_t got_len = 0;
    CHECK_EQ_INT(ptel_exporter_memory_get(exp, PTEL_EXPORT_SIGNAL_TRACES, 0, &got, &got_len), 0);
    CHECK_BYTES(got, got_len, want, want_len);
    CHECK_EQ_INT(ptel_exporter_memory_get(exp, PTEL_EXPORT_SIGNAL_TRACES, 1, &got, &got_len),
                 PTEL_E_NOT_FOUND);
    CHECK_EQ_INT(ptel_exporter_memory_get(exp, 2, 0, &got, &got_len), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_exporter_memory_count(exp, 2), 0);

    /* Flush runs a metric cycle: the aggregated cumulative metrics. */
    CHECK_EQ_INT(ptel_exporter_flush(exp, 1000), 0);
    CHECK_EQ_INT(ptel_exporter_memory_count(exp, PTEL_EXPORT_SIGNAL_METRICS), 1);
    CHECK_EQ_INT(ptel_exporter_memory_get(exp, PTEL_EXPORT_SIGNAL_METRICS, 0, &got, &got_len), 0);
    size_t mlen =
        expected_metrics(&inv, 1, PTEL_TEMPORALITY_CUMULATIVE, 1, got_buf, sizeof got_buf);
    CHECK(mlen > 0);
    CHECK_BYTES(got, got_len, got_buf, mlen);

    ptel_exporter_stats s;
    ptel_exporter_get_stats(exp, &s);
    CHECK_EQ_INT(s.invocations, 1);
    CHECK_EQ_INT(s.signals[0].requests_submitted, 1);
    CHECK_EQ_INT(s.signals[0].items_submitted, 3); /* invocation span + 2 plugin spans */
    CHECK_EQ_INT(s.signals[0].items_sent, 3);
    CHECK_EQ_INT(s.signals[0].exports_ok, 1);
    CHECK_EQ_INT(s.signals[1].items_submitted, 4); /* 4 streams, one point each */
    CHECK_EQ_INT(s.signals[1].items_sent, 4);

    /* Raw requests: copied, counted; malformed ones refused uncounted. */
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, want, want_len), 0);
    CHECK_EQ_INT(ptel_exporter_memory_count(exp, PTEL_EXPORT_SIGNAL_TRACES), 2);
    static const uint8_t bad[] = {0x0a, 0x05, 0x12};
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, bad, sizeof bad), PTEL_E_TRUNCATED);
    CHECK_EQ_INT(ptel_exporter_submit_metrics(exp, bad, sizeof bad), PTEL_E_TRUNCATED);
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, NULL, 0), 0); /* empty: no-op */
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, NULL, 3), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_exporter_submit_metrics(exp, got, got_len), 0);
    ptel_exporter_get_stats(exp, &s);
    CHECK_EQ_INT(s.signals[0].requests_submitted, 2);
    CHECK_EQ_INT(s.signals[0].items_submitted, 6);
    CHECK_EQ_INT(s.signals[1].items_submitted, 8);

    ptel_exporter_memory_clear(exp);
    CHECK_EQ_INT(ptel_exporter_memory_count(exp, PTEL_EXPORT_SIGNAL_TRACES), 0);

    /* After shutdown: refused, and a second shutdown says so. */
    CHECK_EQ_INT(ptel_exporter_shutdown(exp, 1000), 0);
    CHECK_EQ_INT(ptel_exporter_memory_count(exp, PTEL_EXPORT_SIGNAL_METRICS), 1);
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, inv), PTEL_E_STATE);
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, want, want_len), PTEL_E_STATE);
    CHECK_EQ_INT(ptel_exporter_flush(exp, 0), PTEL_E_STATE);
    CHECK_EQ_INT(ptel_exporter_shutdown(exp, 0), PTEL_E_STATE);
    ptel_exporter_get_stats(exp, &s);
    CHECK_EQ_INT(s.invocations, 1);
    ptel_exporter_free(exp);
    ptel_invocation_free(inv);
}

static void test_invocation_state(void) {
    ptel_exporter *exp = new_exporter(PTEL_EXPORTER_MEMORY, true, 0);
    if (!exp) return;
    ptel_invocation_options io;
    ptel_invocation_options_init(&io);
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &io, NULL), 0);
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, inv), PTEL_E_STATE); /* not ended */
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, NULL), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_exporter_submit_invocation(NULL, inv), PTEL_E_INVALID_ARGUMENT);
    ptel_exporter_stats s;
    ptel_exporter_get_stats(exp, &s);
    CHECK_EQ_INT(s.invocations, 0);
    ptel_invocation_free(inv);
    ptel_exporter_free(exp); /* frees without an explicit shutdown */
    ptel_exporter_free(NULL);
}

/* Delta temporality: counters and histograms restart after each cycle,
 * streams without change are left out. */
static void test_delta(void) {
    ptel_exporter *exp =
        new_exporter(PTEL_EXPORTER_MEMORY, false, PTEL_TEMPORALITY_PREFERENCE_DELTA);
    if (!exp) return;
    ptel_invocation *inv = tx_invocation("pii_filter", false);
    if (!inv) return;
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, inv), 0);
    CHECK_EQ_INT(ptel_exporter_flush(exp, 0), 0);
    CHECK_EQ_INT(ptel_exporter_flush(exp, 0), 0);
    /* The second cycle holds only the non-monotonic and gauge streams. */
    const uint8_t *m1, *m2;
    size_t l1 = 0, l2 = 0;
    CHECK_EQ_INT(ptel_exporter_memory_get(exp, PTEL_EXPORT_SIGNAL_METRICS, 0, &m1, &l1), 0);
    CHECK_EQ_INT(ptel_exporter_memory_get(exp, PTEL_EXPORT_SIGNAL_METRICS, 1, &m2, &l2), 0);
    uint64_t n1 = 0, n2 = 0;
    ptel__export_count_items(PTEL_EXPORT_SIGNAL_METRICS, m1, l1, &n1, NULL);
    ptel__export_count_items(PTEL_EXPORT_SIGNAL_METRICS, m2, l2, &n2, NULL);
    CHECK_EQ_INT(n1, 4);
    CHECK_EQ_INT(n2, 2); /* pii.inflight (cumulative up-down) and pii.buffer.size (gauge) */
    static uint8_t want[8192];
    size_t wl = expected_metrics(&inv, 1, PTEL_TEMPORALITY_DELTA, 1, want, sizeof want);
    CHECK_BYTES(m1, l1, want, wl);
    wl = expected_metrics(&inv, 1, PTEL_TEMPORALITY_DELTA, 2, want, sizeof want);
    CHECK_BYTES(m2, l2, want, wl);
    char *json = NULL;
    size_t jl = 0;
    CHECK_EQ_INT(ptel_json_render_alloc(&json, &jl, PTEL_JSON_METRICS_DATA, m1, l1, NULL, NULL), 0);
    if (json) {
        CHECK(strstr(json, "\"name\":\"pii.detections\"") != NULL);
        CHECK(strstr(json, "\"aggregationTemporality\":1") != NULL);
        ptel_json_free(json, jl, NULL);
    }
    ptel_exporter_free(exp);
    ptel_invocation_free(inv);
}

/* Render the self-telemetry of one cycle as JSON. */
static char *self_json(ptel_exporter *exp, size_t index, size_t *jl) {
    const uint8_t *m;
    size_t l = 0;
    char *json = NULL;
    if (ptel_exporter_memory_get(exp, PTEL_EXPORT_SIGNAL_METRICS, index, &m, &l)) return NULL;
    if (ptel_json_render_alloc(&json, jl, PTEL_JSON_METRICS_DATA, m, l, NULL, NULL)) return NULL;
    return json;
}

static void test_self_telemetry(void) {
    ptel_exporter *exp = new_exporter(PTEL_EXPORTER_MEMORY, true, 0);
    if (!exp) return;
    ptel_invocation *a = tx_invocation("pii_filter", false);
    ptel_invocation *b = tx_invocation("pii_filter", true); /* rejected payload */
    ptel_invocation *c = tx_invocation("rate_limiter", false);
    CHECK(a && b && c);
    if (!a || !b || !c) return;
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, a), 0);
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, b), 0);
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, c), 0);
    CHECK_EQ_INT(ptel_exporter_flush(exp, 0), 0);
    size_t jl = 0;
    char *json = self_json(exp, 0, &jl);
    CHECK(json != NULL);
    if (json) {
        /* Scope ptel, cumulative monotonic sums per plugin. */
        CHECK(strstr(json, "\"scope\":{\"name\":\"ptel\",\"version\":\"" PTEL_VERSION_STRING
                           "\"}") != NULL);
        static const char *const want[] = {
            "{\"name\":\"ptel.host.invocations\",\"description\":\"Plugin invocations whose "
            "telemetry the host received\",\"unit\":\"{invocation}\",\"sum\":{\"dataPoints\":[{"
            "\"startTimeUnixNano\":",
            "\"asInt\":\"2\",\"attributes\":[{\"key\":\"plugin.name\",\"value\":{\"stringValue\":"
            "\"pii_filter\"}}]}",
            "\"asInt\":\"1\",\"attributes\":[{\"key\":\"plugin.name\",\"value\":{\"stringValue\":"
            "\"rate_limiter\"}}]}],\"aggregationTemporality\":2,\"isMonotonic\":true}}",
            "{\"name\":\"ptel.host.payloads.rejected\"",
            "{\"name\":\"ptel.host.spans.accepted\"",
            "{\"name\":\"ptel.host.validation.problems\"",
            "{\"key\":\"reason\",\"value\":{\"stringValue\":\"malformed\"}}",
            "{\"name\":\"ptel.exporter.items.sent\"",
            "{\"name\":\"ptel.exporter.exports\"",
            "{\"key\":\"outcome\",\"value\":{\"stringValue\":\"success\"}}",
            "{\"name\":\"ptel.exporter.queue.size\",\"description\":\"Requests waiting in the "
            "queue\",\"unit\":\"{request}\",\"gauge\":{\"dataPoints\":[{\"timeUnixNano\":",
            "{\"name\":\"ptel.exporter.queue.bytes\"",
        };
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            bool found = strstr(json, want[i]) != NULL;
            CHECK(found);
            if (!found) fprintf(stderr, "  missing: %s\n", want[i]);
        }
        /* No drop happened, so no drop metric point. */
        CHECK(strstr(json, "ptel.exporter.items.dropped") == NULL);
        ptel_json_free(json, jl, NULL);
    }
    /* The second cycle counts the first cycle's request as sent. */
    CHECK_EQ_INT(ptel_exporter_flush(exp, 0), 0);
    ptel_exporter_stats s;
    ptel_exporter_get_stats(exp, &s);
    CHECK_EQ_INT(s.invocations, 3);
    CHECK_EQ_INT(s.signals[0].items_submitted, 3 + 1 + 3);
    CHECK_EQ_INT(s.signals[1].requests_submitted, 2);
    ptel_exporter_free(exp);
    ptel_invocation_free(a);
    ptel_invocation_free(b);
    ptel_invocation_free(c);
}

static size_t read_file(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, cap);
    close(fd);
    return n < 0 ? 0 : (size_t)n;
}

/* A JSONL or console exporter writing to `path` (or `fd`), no self-telemetry. */
static ptel_exporter *file_exporter(uint32_t kind, const char *path, int fd) {
    ptel_exporter_options o;
    ptel_exporter_options_init(&o);
    o.kind = kind;
    o.path = path;
    o.fd = fd;
    o.console_flags = PTEL_CONSOLE_ASCII;
    o.service_name = (ptel_str){"svc", 3};
    o.self_telemetry = false;
    ptel_exporter *exp = NULL;
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, NULL), 0);
    return exp;
}

static void test_jsonl(void) {
    char path[] = "/tmp/ptel-export-jsonl-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    ptel_exporter *exp = file_exporter(PTEL_EXPORTER_JSONL, path, 1);
    ptel_invocation *inv = tx_invocation("pii_filter", false);
    if (!exp || !inv) return;
    static uint8_t traces[8192];
    size_t tl = tx_export_traces(inv, traces, sizeof traces);
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, inv), 0);
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, traces, tl), 0);
    CHECK_EQ_INT(ptel_exporter_shutdown(exp, 0), 0);
    ptel_exporter_free(exp);

    static char want[65536], got[65536];
    size_t jl = 0;
    CHECK_EQ_INT(ptel_json_render(want, sizeof want, &jl, PTEL_JSON_TRACES_DATA, traces, tl, NULL),
                 0);
    /* Two identical trace lines, then the metrics line. */
    size_t n = read_file(path, got, sizeof got);
    CHECK(n > 2 * (jl + 1));
    if (n > 2 * (jl + 1)) {
        CHECK_BYTES(got, jl, want, jl);
        CHECK_EQ_INT(got[jl], '\n');
        CHECK_BYTES(got + jl + 1, jl, want, jl);
        CHECK_EQ_INT(got[2 * jl + 1], '\n');
        const char *m = got + 2 * jl + 2;
        CHECK(!strncmp(m,
                       "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":"
                       "\"service.name\",\"value\":{\"stringValue\":\"svc\"}}]}",
                       sizeof "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[{\"key\":"
                              "\"service.name\",\"value\":{\"stringValue\":\"svc\"}}]}" -
                           1));
        CHECK_EQ_INT(got[n - 1], '\n');
        CHECK(memchr(m, '\n', (size_t)(got + n - 1 - m)) == NULL); /* one line */
    }
    unlink(path);
    ptel_invocation_free(inv);
}

static void test_console(void) {
    char path[] = "/tmp/ptel-export-console-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    ptel_exporter *exp = file_exporter(PTEL_EXPORTER_CONSOLE, NULL, fd);
    ptel_invocation *inv = tx_invocation("pii_filter", false);
    if (!exp || !inv) return;
    static uint8_t traces[8192];
    size_t tl = tx_export_traces(inv, traces, sizeof traces);
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, inv), 0);
    ptel_exporter_free(exp);
    static char want[65536], got[65536];
    size_t wl = 0;
    CHECK_EQ_INT(ptel_console_render(want, sizeof want, &wl, traces, tl, NULL, 0,
                                     PTEL_CONSOLE_ASCII, NULL, NULL),
                 0);
    size_t n = read_file(path, got, sizeof got);
    CHECK(n == wl + 1 + 0 || n > wl + 1);
    CHECK_BYTES(got, wl, want, wl);
    CHECK_EQ_INT(got[wl], '\n');
    CHECK(strstr(got + wl, "pii.scan.duration") != NULL); /* the metrics table at shutdown */
    close(fd);
    unlink(path);
    ptel_invocation_free(inv);

    ptel_exporter_options o;
    ptel_exporter_options_init(&o);
    o.kind = PTEL_EXPORTER_CONSOLE;
    o.fd = -1;
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, NULL), PTEL_E_INVALID_ARGUMENT);
    /* A write error is counted and returned. */
    exp = file_exporter(PTEL_EXPORTER_CONSOLE, NULL, 1000); /* fd 1000 is not open */
    if (exp) {
        CHECK_EQ_INT(ptel_exporter_submit_traces(exp, traces, tl), PTEL_E_IO);
        ptel_exporter_stats s;
        ptel_exporter_get_stats(exp, &s);
        CHECK_EQ_INT(s.signals[0].items_dropped[PTEL_EXPORT_DROP_ERROR], 3);
        CHECK_EQ_INT(s.signals[0].exports_failed, 1);
        ptel_exporter_free(exp);
    }
}

static void test_disabled(void) {
    ptel_exporter *exp = new_exporter(PTEL_EXPORTER_NONE, true, 0);
    ptel_invocation *inv = tx_invocation("pii_filter", false);
    if (!exp || !inv) return;
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, inv), 0);
    CHECK_EQ_INT(ptel_exporter_flush(exp, 0), 0);
    ptel_exporter_stats s, zero;
    ptel_exporter_get_stats(exp, &s);
    memset(&zero, 0, sizeof zero);
    CHECK(!memcmp(&s, &zero, sizeof s));
    CHECK_EQ_INT(ptel_exporter_shutdown(exp, 0), 0);
    ptel_exporter_free(exp);
    ptel_invocation_free(inv);
}

/* OTEL_RESOURCE_ATTRIBUTES, then service.name, then the caller's list:
 * later sources replace earlier keys; values are copied deeply. */
static void test_resource(void) {
    ptel_value inner[2] = {{PTEL_VALUE_INT, 0, 7, 0, {NULL, 0}, NULL, NULL},
                           {PTEL_VALUE_STRING, 0, 0, 0, {"b", 1}, NULL, NULL}};
    ptel_attr extra[2] = {{{"host.tags", 9}, {PTEL_VALUE_ARRAY, 2, 0, 0, {NULL, 0}, inner, NULL}},
                          {{"team", 4}, {PTEL_VALUE_STRING, 0, 0, 0, {"core", 4}, NULL, NULL}}};
    ptel_exporter_options o;
    ptel_exporter_options_init(&o);
    o.kind = PTEL_EXPORTER_MEMORY;
    o.self_telemetry = false;
    o.resource_attributes = (ptel_str){"team=web,service.name=env,region=eu%2Dwest", 42};
    o.service_name = (ptel_str){"svc", 3};
    o.resource = extra;
    o.resource_count = 2;
    ptel_exporter *exp = NULL;
    CHECK_EQ_INT(ptel_exporter_new(&exp, &o, NULL), 0);
    /* The caller's memory may go: the exporter copied it. */
    memset(inner, 0, sizeof inner);
    memset(extra, 0, sizeof extra);
    ptel_invocation *inv = tx_invocation("pii_filter", false);
    if (!exp || !inv) return;
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, inv), 0);
    const uint8_t *t;
    size_t tl = 0;
    CHECK_EQ_INT(ptel_exporter_memory_get(exp, PTEL_EXPORT_SIGNAL_TRACES, 0, &t, &tl), 0);
    char *json = NULL;
    size_t jl = 0;
    CHECK_EQ_INT(ptel_json_render_alloc(&json, &jl, PTEL_JSON_TRACES_DATA, t, tl, NULL, NULL), 0);
    static const char want[] =
        "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"team\",\"value\":{\"stringValue\":\"core\"}},"
        "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"svc\"}},"
        "{\"key\":\"region\",\"value\":{\"stringValue\":\"eu-west\"}},"
        "{\"key\":\"host.tags\",\"value\":{\"arrayValue\":{\"values\":[{\"intValue\":\"7\"},"
        "{\"stringValue\":\"b\"}]}}}]}";
    CHECK(json && !strncmp(json, want, sizeof want - 1));
    if (json && strncmp(json, want, sizeof want - 1)) fprintf(stderr, "  got %.400s\n", json);
    ptel_json_free(json, jl, NULL);
    ptel_exporter_free(exp);
    ptel_invocation_free(inv);
}

int main(void) {
    RUN(test_memory);
    RUN(test_invocation_state);
    RUN(test_delta);
    RUN(test_self_telemetry);
    RUN(test_jsonl);
    RUN(test_console);
    RUN(test_disabled);
    RUN(test_resource);
    return test_summary();
}
