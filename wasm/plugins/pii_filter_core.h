/* The PII filter's logic, shared by the WASM example plugin
 * (wasm/plugins/pii_filter.c) and the CLI's built-in demo
 * (tools/ptel/cmd_demo_plugin.c, `ptel demo-plugin`), so that both record
 * the same spans, events and metrics from one source: with the
 * deterministic clock their payloads are equal byte for byte
 * (wasm/hosts/python/test_wasm_host.py checks this). Static functions in a
 * header because the two are linked into different programs (a wasm32
 * module and the native CLI) with no library in common but the core. */
#ifndef PTEL_PII_FILTER_CORE_H
#define PTEL_PII_FILTER_CORE_H

#include <ptel/ptel.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct pii_hit {
    const char *type;
    size_t offset;
    size_t len;
} pii_hit;

static bool pii_email_char(char c) {
    return isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-' || c == '+';
}

/* E-mail addresses (local@domain.tld) and phone numbers (10+ digits, dashes
 * allowed); returns the number of hits written. */
static size_t pii_scan(const char *text, size_t n, pii_hit *hits, size_t max) {
    size_t count = 0;
    for (size_t i = 0; i < n && count < max;) {
        if (text[i] == '@') {
            size_t a = i, b = i + 1;
            while (a > 0 && pii_email_char(text[a - 1])) a--;
            while (b < n && pii_email_char(text[b])) b++;
            while (b > i + 1 && text[b - 1] == '.') b--; /* sentence punctuation */
            if (a < i && memchr(text + i, '.', b - i)) {
                hits[count++] = (pii_hit){"email", a, b - a};
                i = b;
                continue;
            }
        }
        if (isdigit((unsigned char)text[i])) {
            size_t b = i, digits = 0;
            while (b < n && (isdigit((unsigned char)text[b]) || text[b] == '-'))
                digits += isdigit((unsigned char)text[b++]) != 0;
            if (digits >= 10) hits[count++] = (pii_hit){"phone", i, b - i};
            i = b;
            continue;
        }
        i++;
    }
    return count;
}

static ptel_attr pii_attr(const char *key, uint32_t type) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = key;
    a.key.len = strlen(key);
    a.value.type = type;
    return a;
}

static ptel_attr pii_str(const char *key, const char *value) {
    ptel_attr a = pii_attr(key, PTEL_VALUE_STRING);
    a.value.str.ptr = value;
    a.value.str.len = strlen(value);
    return a;
}

static ptel_attr pii_int(const char *key, int64_t value) {
    ptel_attr a = pii_attr(key, PTEL_VALUE_INT);
    a.value.i = value;
    return a;
}

static ptel_metric *pii_metric(ptel_recorder *rec, uint32_t kind, uint32_t type, const char *name,
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

/* Scan the NUL-terminated `text` (`n` bytes), redact what it finds in
 * place with '*', and record it: span "pii_filter.detect" (an event per
 * hit) with child "pii_filter.redact", counter "pii.detections" and
 * histogram "pii.scan.duration". */
static void pii_filter_run(ptel_recorder *rec, char *text, size_t n) {
    uint64_t t0 = ptel_recorder_now(rec);
    ptel_span *span;
    ptel_span_start(&span, rec, NULL, "pii_filter.detect", 17, PTEL_SPAN_KIND_INTERNAL, 0);
    pii_hit hits[32];
    size_t count = pii_scan(text, n, hits, 32);

    ptel_metric *detections =
        pii_metric(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "pii.detections", "{detection}",
                   "PII detections by type", NULL, 0);
    size_t emails = 0, phones = 0;
    for (size_t k = 0; k < count; k++) {
        ptel_attr ev[2] = {pii_str("pii.type", hits[k].type),
                           pii_int("pii.offset", (int64_t)hits[k].offset)};
        ptel_span_add_event(span, "pii.detected", 12, 0, ev, 2);
        ptel_metric_record_int(detections, 1, ev, 1, span);
        if (!strcmp(hits[k].type, "email"))
            emails++;
        else
            phones++;
    }

    ptel_span *redact;
    ptel_span_start(&redact, rec, span, "pii_filter.redact", 17, PTEL_SPAN_KIND_INTERNAL, 0);
    for (size_t k = 0; k < count; k++) memset(text + hits[k].offset, '*', hits[k].len);
    ptel_attr ra = pii_int("pii.redacted.count", (int64_t)count);
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
        pii_str("pii.detector", "pattern"), pii_int("pii.input.bytes", (int64_t)n),
        pii_int("pii.detections", (int64_t)count), pii_attr("pii.types", PTEL_VALUE_ARRAY),
        pii_attr("pii.redacted", PTEL_VALUE_BOOL)};
    attrs[3].value.array = types;
    attrs[3].value.count = (uint32_t)type_count;
    attrs[4].value.i = count > 0;
    ptel_span_set_attributes(span, attrs, 5);
    ptel_span_end(span, 0);

    static const double seconds[] = {0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1};
    ptel_metric *duration =
        pii_metric(rec, PTEL_METRIC_HISTOGRAM, PTEL_NUMBER_DOUBLE, "pii.scan.duration", "s",
                   "Time to scan one input", seconds, sizeof seconds / sizeof seconds[0]);
    ptel_attr mode = pii_str("pii.mode", "redact");
    ptel_metric_record_double(duration, (double)(ptel_recorder_now(rec) - t0) / 1e9, &mode, 1,
                              span);
}

#endif
