/* The matrix plugin in C: reads one PluginContext frame on stdin, checks it
 * against the environment carrier, records the scenario of
 * conformance/matrix/README.md with the deterministic clock and ids, and
 * writes one PluginTelemetry frame on stdout.
 *
 * usage: plugin [ok|crash|garbage|invalid] */
#include <ptel/ptel.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mx_env {
    uint64_t mono;   /* set by the scenario */
    uint8_t next_id; /* last id byte handed out */
} mx_env;

static uint64_t mx_mono(void *ud) { return ((mx_env *)ud)->mono; }

static uint64_t mx_real(void *ud) { return 1700000000000000000ull + ((mx_env *)ud)->mono; }

static void mx_ids(void *ud, uint8_t *out, size_t n) {
    memset(out, 0, n);
    out[n - 1] = ++((mx_env *)ud)->next_id;
}

static ptel_attr mx_str(const char *k, const char *v) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = k;
    a.key.len = strlen(k);
    a.value.type = PTEL_VALUE_STRING;
    a.value.str.ptr = v;
    a.value.str.len = strlen(v);
    return a;
}

static ptel_attr mx_num(const char *k, uint32_t type, int64_t i, double d) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = k;
    a.key.len = strlen(k);
    a.value.type = type;
    a.value.i = i;
    a.value.d = d;
    return a;
}

static int mx_read_all(FILE *f, uint8_t *buf, size_t cap, size_t *len) {
    *len = 0;
    size_t n;
    while ((n = fread(buf + *len, 1, cap - *len, f)) > 0) {
        *len += n;
        if (*len == cap) return fgetc(f) == EOF ? 0 : -1;
    }
    return ferror(f) ? -1 : 0;
}

static void mx_write_frame(const uint8_t *data, size_t len) {
    uint8_t hdr[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                      (uint8_t)(len >> 24)};
    fwrite(hdr, 1, 4, stdout);
    fwrite(data, 1, len, stdout);
    fflush(stdout);
}

static ptel_metric *mx_metric(ptel_recorder *rec, uint32_t kind, uint32_t number, const char *name,
                              const char *unit, const char *desc, const double *bounds,
                              size_t bound_count) {
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    o.kind = kind;
    o.number_type = number;
    o.name.ptr = name;
    o.name.len = strlen(name);
    o.unit.ptr = unit;
    o.unit.len = strlen(unit);
    o.description.ptr = desc;
    o.description.len = strlen(desc);
    o.bounds = bounds;
    o.bound_count = bound_count;
    ptel_metric *m = NULL;
    ptel_metric_get(&m, rec, &o);
    return m;
}

/* The scenario; README.md lists it step by step. */
static void mx_scenario(ptel_recorder *rec, mx_env *env) {
    ptel_span *scan, *redact;
    ptel_span_start(&scan, rec, NULL, "pii_filter.scan", 15, PTEL_SPAN_KIND_INTERNAL, 0);
    ptel_value types[2];
    memset(types, 0, sizeof types);
    types[0].type = types[1].type = PTEL_VALUE_STRING;
    types[0].str.ptr = "email";
    types[1].str.ptr = "phone";
    types[0].str.len = types[1].str.len = 5;
    static const uint8_t digest[4] = {0xde, 0xad, 0x00, 0xef};
    ptel_attr config[2] = {mx_str("mode", "redact"), mx_num("max", PTEL_VALUE_INT, 32, 0)};
    ptel_attr attrs[7] = {mx_str("pii.detector", "pattern"),
                          mx_num("pii.input.bytes", PTEL_VALUE_INT, 72, 0),
                          mx_num("pii.ratio", PTEL_VALUE_DOUBLE, 0, 0.25),
                          mx_num("pii.redact", PTEL_VALUE_BOOL, 1, 0),
                          mx_num("pii.types", PTEL_VALUE_ARRAY, 0, 0),
                          mx_num("pii.digest", PTEL_VALUE_BYTES, 0, 0),
                          mx_num("pii.config", PTEL_VALUE_KVLIST, 0, 0)};
    attrs[4].value.array = types;
    attrs[4].value.count = 2;
    attrs[5].value.str.ptr = (const char *)digest;
    attrs[5].value.str.len = sizeof digest;
    attrs[6].value.kvlist = config;
    attrs[6].value.count = 2;
    ptel_span_set_attributes(scan, attrs, 7);

    env->mono = 1000;
    ptel_attr ev[2] = {mx_str("pii.type", "email"), mx_num("pii.offset", PTEL_VALUE_INT, 8, 0)};
    ptel_span_add_event(scan, "pii.detected", 12, 0, ev, 2);
    ptel_metric *det = mx_metric(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "pii.detections",
                                 "{detection}", "PII detections by type", NULL, 0);
    ptel_attr email = mx_str("pii.type", "email"), phone = mx_str("pii.type", "phone");
    ptel_metric_record_int(det, 2, &email, 1, scan);

    env->mono = 2000;
    ptel_span_start(&redact, rec, scan, "pii_filter.redact", 17, PTEL_SPAN_KIND_INTERNAL, 0);
    ptel_attr rc = mx_num("pii.redacted.count", PTEL_VALUE_INT, 2, 0);
    ptel_span_set_attributes(redact, &rc, 1);
    env->mono = 3000;
    ptel_span_end(redact, 0);

    env->mono = 4000;
    ptel_span_set_status(scan, PTEL_STATUS_OK, NULL, 0);
    ptel_span_end(scan, 0);

    ptel_metric_record_int(det, 1, &phone, 1, NULL);
    static const double bounds[] = {0.001, 0.01, 0.1, 1};
    ptel_metric *dur = mx_metric(rec, PTEL_METRIC_HISTOGRAM, PTEL_NUMBER_DOUBLE,
                                 "pii.scan.duration", "s", "Time to scan one input", bounds, 4);
    ptel_attr mode = mx_str("pii.mode", "redact");
    ptel_metric_record_double(dur, 0.004, &mode, 1, NULL);
    env->mono = 5000;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "ok";
    static uint8_t in[70000];
    size_t in_len;
    if (mx_read_all(stdin, in, sizeof in, &in_len) != 0 || in_len < 4) return 2;
    size_t n = (size_t)in[0] | (size_t)in[1] << 8 | (size_t)in[2] << 16 | (size_t)in[3] << 24;
    if (n != in_len - 4) return 2;

    ptel_context *env_ctx = NULL, *frame_ctx = NULL;
    if (ptel_context_from_env(&env_ctx, NULL, NULL, NULL, NULL) != 0) return 3;
    if (ptel_context_decode(&frame_ctx, in + 4, n, NULL, NULL) != 0) return 3;
    static uint8_t a[70000], b[70000];
    size_t alen, blen;
    if (ptel_context_encode(env_ctx, a, sizeof a, &alen) != 0 ||
        ptel_context_encode(frame_ctx, b, sizeof b, &blen) != 0 || alen != blen ||
        memcmp(a, b, alen) != 0 || blen != n || memcmp(b, in + 4, n) != 0)
        return 3;

    if (!strcmp(mode, "crash")) {
        static const uint8_t part[6] = {0x40, 0, 0, 0, 0x0a, 0x10};
        fwrite(part, 1, sizeof part, stdout);
        fflush(stdout);
        return 70;
    }
    if (!strcmp(mode, "invalid")) {
        static const uint8_t bad[6] = {0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f};
        mx_write_frame(bad, sizeof bad);
        return 0;
    }
    if (!strcmp(mode, "garbage")) {
        static const uint8_t junk[11] = {0xff, 0xff, 0xff, 0x7f, 'g', 'a', 'r', 'b', 'a', 'g', 'e'};
        fwrite(junk, 1, sizeof junk, stdout);
        fflush(stdout);
        return 0;
    }

    mx_env env = {0, 0};
    ptel_recorder_options o;
    ptel_recorder_options_init(&o);
    o.clock.monotonic_ns = mx_mono;
    o.clock.realtime_ns = mx_real;
    o.clock.ud = &env;
    o.ids.fill = mx_ids;
    o.ids.ud = &env;
    ptel_recorder *rec = NULL;
    if (ptel_recorder_new(&rec, frame_ctx, &o) != 0) return 4;
    mx_scenario(rec, &env);
    const uint8_t *out;
    size_t out_len;
    if (ptel_recorder_finish(rec, &out, &out_len) != 0) return 4;
    mx_write_frame(out, out_len);
    ptel_recorder_free(rec);
    ptel_context_free(frame_ctx);
    ptel_context_free(env_ctx);
    return 0;
}
