/* Exporter drop causes and the JSON rendering of exporter stats. */
#include "export_internal.h"

#include <stdio.h>

static const char *const export_drop_names[PTEL_EXPORT_DROP_COUNT] = {
    "queue_full", "rejected", "retries_exhausted", "partial_success", "shutdown", "error",
};

const char *ptel_export_drop_name(int drop) {
    return drop >= 0 && drop < PTEL_EXPORT_DROP_COUNT ? export_drop_names[drop] : "unknown";
}

/* Writes what fits and counts everything (a size query when buf is NULL). */
typedef struct export_json {
    char *buf;
    size_t cap;
    size_t n;
} export_json;

static void export_json_put(export_json *o, const char *s) {
    size_t len = strlen(s);
    if (o->buf && o->n < o->cap)
        memcpy(o->buf + o->n, s, len < o->cap - o->n ? len : o->cap - o->n);
    o->n += len;
}

static void export_json_kv(export_json *o, const char *key, uint64_t v, bool first) {
    char num[48];
    snprintf(num, sizeof num, "%s\"%s\":%llu", first ? "" : ",", key, (unsigned long long)v);
    export_json_put(o, num);
}

static void export_json_signal(export_json *o, const ptel_exporter_signal_stats *s) {
    export_json_put(o, "{");
    export_json_kv(o, "requests", s->requests_submitted, true);
    export_json_kv(o, "submitted", s->items_submitted, false);
    export_json_kv(o, "sent", s->items_sent, false);
    uint64_t total = 0;
    for (int d = 0; d < PTEL_EXPORT_DROP_COUNT; d++) total += s->items_dropped[d];
    export_json_kv(o, "dropped", total, false);
    export_json_put(o, ",\"dropped_by\":{");
    for (int d = 0; d < PTEL_EXPORT_DROP_COUNT; d++)
        export_json_kv(o, export_drop_names[d], s->items_dropped[d], d == 0);
    export_json_put(o, "}");
    export_json_kv(o, "exports_ok", s->exports_ok, false);
    export_json_kv(o, "exports_failed", s->exports_failed, false);
    export_json_kv(o, "retries", s->retries, false);
    export_json_kv(o, "queued_items", s->queued_items, false);
    export_json_kv(o, "queued_bytes", s->queued_bytes, false);
    export_json_put(o, "}");
}

int ptel_exporter_stats_to_json(const ptel_exporter_stats *stats, char *buf, size_t cap,
                                size_t *len) {
    if (!stats || !len) return PTEL_E_INVALID_ARGUMENT;
    export_json o = {buf, cap, 0};
    export_json_put(&o, "{");
    export_json_kv(&o, "invocations", stats->invocations, true);
    export_json_put(&o, ",\"traces\":");
    export_json_signal(&o, &stats->signals[PTEL_EXPORT_SIGNAL_TRACES]);
    export_json_put(&o, ",\"metrics\":");
    export_json_signal(&o, &stats->signals[PTEL_EXPORT_SIGNAL_METRICS]);
    export_json_kv(&o, "queue_requests", stats->queue_requests, false);
    export_json_kv(&o, "queue_bytes", stats->queue_bytes, false);
    export_json_kv(&o, "last_http_status", stats->last_http_status, false);
    export_json_put(&o, "}");
    *len = o.n;
    if (!buf || cap < o.n + 1) return PTEL_E_BUFFER_TOO_SMALL;
    buf[o.n] = '\0';
    return 0;
}
