/* Helpers for the exporter tests: a fake environment, a deterministic clock
 * and an ended invocation carrying the reference workload (the spans and
 * metrics `ptel send` records). */
#ifndef PTEL_TEST_EXPORT_UTIL_H
#define PTEL_TEST_EXPORT_UTIL_H

#include "export_internal.h"
#include "test.h"

#include <stdlib.h>

/* ---- environment --------------------------------------------------------- */

typedef struct tx_env {
    const char *names[24];
    const char *values[24];
    int n;
} tx_env;

static inline const char *tx_getenv(void *ud, const char *name) {
    tx_env *e = ud;
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->names[i], name)) return e->values[i];
    return NULL;
}

static inline void tx_set(tx_env *e, const char *name, const char *value) {
    e->names[e->n] = name;
    e->values[e->n++] = value;
}

/* ---- clock --------------------------------------------------------------- */

#define TX_T0 1700000000000000000ull

static uint64_t tx_mono_now;
static inline uint64_t tx_mono(void *ud) {
    (void)ud;
    return tx_mono_now += 1000;
}
static inline uint64_t tx_real(void *ud) {
    (void)ud;
    return TX_T0 + tx_mono_now;
}

/* A clock that stands still: export times become TX_T0. */
static inline uint64_t tx_frozen(void *ud) {
    (void)ud;
    return TX_T0;
}

static inline ptel_clock tx_frozen_clock(void) {
    ptel_clock c = {tx_frozen, tx_frozen, NULL};
    return c;
}

static inline ptel_clock tx_clock(void) {
    ptel_clock c = {tx_mono, tx_real, NULL};
    return c;
}

/* ---- an ended invocation ------------------------------------------------- */

static inline ptel_attr tx_attr(const char *key, uint32_t type) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = key;
    a.key.len = strlen(key);
    a.value.type = type;
    return a;
}

static inline ptel_metric *tx_metric(ptel_recorder *rec, uint32_t kind, uint32_t type,
                                     const char *name, const char *unit) {
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    o.kind = kind;
    o.number_type = type;
    o.name.ptr = name;
    o.name.len = strlen(name);
    o.unit.ptr = unit;
    o.unit.len = strlen(unit);
    ptel_metric *m = NULL;
    ptel_metric_get(&m, rec, &o);
    return m;
}

/* Begin an invocation of `plugin`, record two spans and the four metrics
 * and end it; with `garbage`, end it with a payload that is rejected
 * instead. Returns NULL on any failure (the test then fails). */
static inline ptel_invocation *tx_invocation(const char *plugin, bool garbage) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.copy_payload = true; /* so that the recorder can go at once */
    ptel_invocation_options io;
    ptel_invocation_options_init(&io);
    io.plugin_name.ptr = plugin;
    io.plugin_name.len = strlen(plugin);
    io.plugin_version = (ptel_str){"1.0.0", 5};
    io.hook = (ptel_str){"tool_pre_invoke", 15};
    io.clock = tx_clock();
    io.policy = &pol;
    ptel_invocation *inv = NULL;
    if (ptel_invocation_begin(&inv, &io, NULL)) return NULL;
    ptel_recorder_options ro;
    ptel_recorder_options_init(&ro);
    ro.clock = tx_clock();
    ptel_recorder *rec = NULL;
    if (ptel_recorder_new(&rec, ptel_invocation_context(inv), &ro)) {
        ptel_invocation_free(inv);
        return NULL;
    }
    ptel_span *scan, *redact;
    ptel_span_start(&scan, rec, NULL, "pii_filter.scan", 15, PTEL_SPAN_KIND_INTERNAL, 0);
    ptel_span_start(&redact, rec, scan, "pii_filter.redact", 17, PTEL_SPAN_KIND_INTERNAL, 0);
    ptel_attr kind = tx_attr("pii.kind", PTEL_VALUE_STRING);
    kind.value.str = (ptel_str){"email", 5};
    ptel_span_add_event(redact, "pii.detected", 12, 0, &kind, 1);
    ptel_metric_record_int(
        tx_metric(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "pii.detections", "{detection}"), 2,
        &kind, 1, NULL);
    ptel_metric_record_int(
        tx_metric(rec, PTEL_METRIC_UPDOWN_COUNTER, PTEL_NUMBER_INT, "pii.inflight", "{request}"), 1,
        NULL, 0, NULL);
    ptel_metric_record_int(
        tx_metric(rec, PTEL_METRIC_GAUGE, PTEL_NUMBER_INT, "pii.buffer.size", "By"), 128, NULL, 0,
        NULL);
    ptel_metric *h =
        tx_metric(rec, PTEL_METRIC_HISTOGRAM, PTEL_NUMBER_DOUBLE, "pii.scan.duration", "ms");
    ptel_metric_record_double(h, 1.5, NULL, 0, NULL);
    ptel_metric_record_double(h, 7.0, NULL, 0, NULL);
    ptel_span_end(redact, 0);
    ptel_span_end(scan, 0);
    const uint8_t *payload;
    size_t len;
    int st = ptel_recorder_finish(rec, &payload, &len);
    static const uint8_t junk[] = {0xff, 0xff};
    if (garbage) payload = junk, len = sizeof junk;
    ptel_report rep;
    if (!st) st = ptel_invocation_end(inv, payload, len, PTEL_OUTCOME_OK, NULL, 0, &rep, NULL);
    ptel_recorder_free(rec);
    if (st && !(garbage && st == PTEL_E_REJECTED)) {
        ptel_invocation_free(inv);
        return NULL;
    }
    return inv;
}

/* Traces request of `inv` as the exporter writes it (resource service.name=svc). */
static inline size_t tx_export_traces(const ptel_invocation *inv, uint8_t *buf, size_t cap) {
    ptel_attr sn = tx_attr("service.name", PTEL_VALUE_STRING);
    sn.value.str = (ptel_str){"svc", 3};
    ptel_export_options xo;
    ptel_export_options_init(&xo);
    xo.resource_attributes = &sn;
    xo.resource_attribute_count = 1;
    size_t len = 0;
    if (ptel_invocation_export_traces(inv, &xo, buf, cap, &len)) return 0;
    return len;
}

#endif
