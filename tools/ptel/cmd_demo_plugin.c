/* ptel demo-plugin --context FILE [--input TEXT] [--deterministic] -o FILE
 * A built-in example plugin, shaped like a PII filter: it scans text for
 * e-mail addresses and phone numbers, redacts them, and records what it did
 * with ptel, so the tool chain can be tried without writing code.
 *
 * --deterministic replaces the clocks and the id generator by the ones
 * below, so that the payload depends only on the context and the input: the
 * bindings' tests replay the demo with the same clock and ids and compare
 * bytes (bindings/python/tests/test_cli_parity.py). */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char demo_usage[] =
    "usage: ptel demo-plugin --context FILE [--input TEXT] [--deterministic] -o FILE\n";

static const char demo_default_input[] =
    "Contact jane.doe@example.com or call 415-555-0132; escalate to ops@example.org.";

typedef struct demo_hit {
    const char *type;
    size_t offset;
    size_t len;
} demo_hit;

static bool demo_email_char(char c) {
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == '+';
}

/* Find e-mail addresses (local@domain.tld) and phone numbers (10+ digits,
 * dashes allowed) in `text`; returns the number of hits written. */
static size_t demo_scan(const char *text, size_t n, demo_hit *hits, size_t max) {
    size_t count = 0;
    for (size_t i = 0; i < n && count < max;) {
        if (text[i] == '@') {
            size_t a = i, b = i + 1;
            while (a > 0 && demo_email_char(text[a - 1])) a--;
            while (b < n && demo_email_char(text[b])) b++;
            while (b > i + 1 && text[b - 1] == '.') b--; /* sentence punctuation */
            if (a < i && memchr(text + i, '.', b - i)) {
                hits[count++] = (demo_hit){"email", a, b - a};
                i = b;
                continue;
            }
        }
        if (isdigit((unsigned char)text[i])) {
            size_t b = i, digits = 0;
            while (b < n && (isdigit((unsigned char)text[b]) || text[b] == '-'))
                digits += isdigit((unsigned char)text[b++]) != 0;
            if (digits >= 10) hits[count++] = (demo_hit){"phone", i, b - i};
            i = b;
            continue;
        }
        i++;
    }
    return count;
}

static ptel_attr demo_attr(const char *key, uint32_t type) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = key;
    a.key.len = strlen(key);
    a.value.type = type;
    return a;
}

static ptel_attr demo_str(const char *key, const char *value) {
    ptel_attr a = demo_attr(key, PTEL_VALUE_STRING);
    a.value.str.ptr = value;
    a.value.str.len = strlen(value);
    return a;
}

static ptel_attr demo_int(const char *key, int64_t value) {
    ptel_attr a = demo_attr(key, PTEL_VALUE_INT);
    a.value.i = value;
    return a;
}

static ptel_metric *demo_metric(ptel_recorder *rec, uint32_t kind, uint32_t type, const char *name,
                                const char *unit, const char *description, const double *bounds,
                                size_t bound_count) {
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    o.kind = kind;
    o.number_type = type;
    o.name.ptr = name;
    o.name.len = strlen(name);
    o.unit.ptr = unit;
    o.unit.len = strlen(unit);
    o.description.ptr = description;
    o.description.len = strlen(description);
    o.bounds = bounds;
    o.bound_count = bound_count;
    ptel_metric *m = NULL;
    ptel_metric_get(&m, rec, &o);
    return m;
}

/* --deterministic: monotonic time advances 1000 ns per reading from 0, wall
 * time is 1700000000000000000 ns, and id number k (counting from 1) is the
 * bytes k, k+1, k+2, ... (mod 256). */
typedef struct demo_det {
    uint64_t mono;
    uint32_t ids;
} demo_det;

static uint64_t demo_det_monotonic(void *ud) {
    demo_det *d = ud;
    return d->mono += 1000;
}

static uint64_t demo_det_realtime(void *ud) {
    (void)ud;
    return 1700000000000000000ull;
}

static void demo_det_fill(void *ud, uint8_t *out, size_t len) {
    demo_det *d = ud;
    d->ids++;
    for (size_t i = 0; i < len; i++) out[i] = (uint8_t)(d->ids + i);
}

/* The plugin: everything it records goes through the recorder. */
static void demo_run(ptel_recorder *rec, const char *text, char *redacted) {
    size_t n = strlen(text);
    uint64_t t0 = ptel_recorder_now(rec);
    ptel_span *span;
    ptel_span_start(&span, rec, NULL, "pii_filter.detect", 17, PTEL_SPAN_KIND_INTERNAL, 0);
    demo_hit hits[32];
    size_t count = demo_scan(text, n, hits, 32);

    ptel_metric *detections =
        demo_metric(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "pii.detections", "{detection}",
                    "PII detections by type", NULL, 0);
    size_t emails = 0, phones = 0;
    for (size_t k = 0; k < count; k++) {
        ptel_attr ev[2] = {demo_str("pii.type", hits[k].type),
                           demo_int("pii.offset", (int64_t)hits[k].offset)};
        ptel_span_add_event(span, "pii.detected", 12, 0, ev, 2);
        ptel_metric_record_int(detections, 1, ev, 1, span);
        if (!strcmp(hits[k].type, "email"))
            emails++;
        else
            phones++;
    }

    ptel_span *redact;
    ptel_span_start(&redact, rec, span, "pii_filter.redact", 17, PTEL_SPAN_KIND_INTERNAL, 0);
    memcpy(redacted, text, n + 1);
    for (size_t k = 0; k < count; k++) memset(redacted + hits[k].offset, '*', hits[k].len);
    ptel_attr ra = demo_int("pii.redacted.count", (int64_t)count);
    ptel_span_set_attributes(redact, &ra, 1);
    ptel_span_end(redact, 0);

    ptel_value types[2];
    memset(types, 0, sizeof types);
    size_t type_count = 0;
    if (emails) {
        types[type_count].type = PTEL_VALUE_STRING;
        types[type_count].str.ptr = "email";
        types[type_count++].str.len = 5;
    }
    if (phones) {
        types[type_count].type = PTEL_VALUE_STRING;
        types[type_count].str.ptr = "phone";
        types[type_count++].str.len = 5;
    }
    ptel_attr attrs[5] = {
        demo_str("pii.detector", "pattern"), demo_int("pii.input.bytes", (int64_t)n),
        demo_int("pii.detections", (int64_t)count), demo_attr("pii.types", PTEL_VALUE_ARRAY),
        demo_attr("pii.redacted", PTEL_VALUE_BOOL)};
    attrs[3].value.array = types;
    attrs[3].value.count = (uint32_t)type_count;
    attrs[4].value.i = count > 0;
    ptel_span_set_attributes(span, attrs, 5);
    ptel_span_end(span, 0);

    static const double seconds[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};
    ptel_metric *duration =
        demo_metric(rec, PTEL_METRIC_HISTOGRAM, PTEL_NUMBER_DOUBLE, "pii.scan.duration", "s",
                    "Time to scan one input", seconds, sizeof seconds / sizeof seconds[0]);
    ptel_attr mode = demo_str("pii.mode", "redact");
    ptel_metric_record_double(duration, (double)(ptel_recorder_now(rec) - t0) / 1e9, &mode, 1,
                              span);
}

int cli_cmd_demo_plugin(int argc, char **argv) {
    const char *ctx_path = NULL, *out = NULL, *input = demo_default_input;
    bool deterministic = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--deterministic")) {
            deterministic = true;
            continue;
        }
        const char **dst = !strcmp(argv[i], "--context") ? &ctx_path
                           : !strcmp(argv[i], "-o")      ? &out
                           : !strcmp(argv[i], "--input") ? &input
                                                         : NULL;
        if (!dst || !(*dst = cli_arg_value(argc, argv, &i))) {
            fputs(demo_usage, stderr);
            return 2;
        }
    }
    if (!ctx_path || !out) {
        fputs(demo_usage, stderr);
        return 2;
    }
    ptel_context *ctx = NULL;
    if (cli_load_context(&ctx, "demo-plugin", ctx_path)) return 1;
    demo_det det = {0, 0};
    ptel_recorder_options opts;
    ptel_recorder_options_init(&opts);
    if (deterministic) {
        opts.clock.monotonic_ns = demo_det_monotonic;
        opts.clock.realtime_ns = demo_det_realtime;
        opts.clock.ud = &det;
        opts.ids.fill = demo_det_fill;
        opts.ids.ud = &det;
    }
    ptel_recorder *rec = NULL;
    int rc = ptel_recorder_new(&rec, ctx, &opts);
    char *redacted = malloc(strlen(input) + 1);
    if (rc || !redacted) {
        cli_error("demo-plugin", "recorder", rc ? rc : PTEL_E_NOMEM, NULL);
        free(redacted);
        ptel_context_free(ctx);
        return 1;
    }
    demo_run(rec, input, redacted);
    fprintf(stderr, "demo-plugin: %s\n", redacted);
    const uint8_t *payload;
    size_t len;
    rc = ptel_recorder_finish(rec, &payload, &len);
    if (!rc) rc = cli_write(out, payload, len);
    if (rc) cli_error("demo-plugin", out, rc, NULL);
    free(redacted);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
    return rc ? 1 : 0;
}
