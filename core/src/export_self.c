/* The exporter's self-telemetry: counters per plugin and reason, per signal
 * and drop cause, encoded as OTLP metrics of the scope "ptel" and exported
 * with the aggregated plugin metrics on every metric cycle. The names are
 * listed in PROTOCOL.md ("Host self-telemetry"). */
#include "export_internal.h"

#if PTEL__EXPORTER

static const char export_other[] = "_OTHER";

void ptel__export_self_count(ptel_exporter *exp, ptel_str plugin, const ptel_report *rep) {
    ptel__export_plugin *p = NULL;
    for (size_t i = 0; i < exp->plugin_count && !p; i++)
        if (exp->plugins[i].name_len == plugin.len &&
            !memcmp(exp->plugins[i].name, plugin.ptr, plugin.len))
            p = &exp->plugins[i];
    if (!p && exp->plugin_count >= PTEL__EXPORT_MAX_PLUGINS) {
        /* Bounded: the last slot collects every further plugin. */
        plugin.ptr = export_other;
        plugin.len = sizeof export_other - 1;
        p = &exp->plugins[exp->plugin_count - 1];
        if (p->name_len != plugin.len || memcmp(p->name, plugin.ptr, plugin.len)) {
            char *name = ptel__alloc(&exp->alloc, plugin.len);
            if (!name) return;
            ptel__free(&exp->alloc, p->name, p->name_len);
            memcpy(name, plugin.ptr, plugin.len);
            p->name = name;
            p->name_len = plugin.len;
        }
    }
    if (!p) {
        if (exp->plugin_count == exp->plugin_cap) {
            size_t ncap = exp->plugin_cap ? exp->plugin_cap * 2 : 8;
            ptel__export_plugin *grown = ptel__realloc(
                &exp->alloc, exp->plugins, exp->plugin_cap * sizeof *grown, ncap * sizeof *grown);
            if (!grown) return;
            exp->plugins = grown;
            exp->plugin_cap = ncap;
        }
        p = &exp->plugins[exp->plugin_count];
        memset(p, 0, sizeof *p);
        p->name = plugin.len ? ptel__alloc(&exp->alloc, plugin.len) : NULL;
        if (plugin.len && !p->name) return;
        if (plugin.len) memcpy(p->name, plugin.ptr, plugin.len);
        p->name_len = plugin.len;
        exp->plugin_count++;
    }
    p->invocations++;
    p->payloads_rejected += rep->status == PTEL_E_REJECTED;
    p->spans_received += (uint64_t)rep->spans_accepted + rep->spans_dropped;
    p->spans_accepted += rep->spans_accepted;
    p->spans_dropped += rep->spans_dropped;
    p->points_received += (uint64_t)rep->points_accepted + rep->points_dropped;
    p->points_accepted += rep->points_accepted;
    p->points_dropped += rep->points_dropped;
    p->plugin_dropped[0] += rep->plugin_dropped_spans;
    p->plugin_dropped[1] += rep->plugin_dropped_metrics;
    p->plugin_dropped[2] += rep->plugin_dropped_points;
    for (int r = 0; r < PTEL_REASON_COUNT; r++) p->reasons[r] += rep->reasons[r];
}

void ptel__export_self_free(ptel_exporter *exp) {
    for (size_t i = 0; i < exp->plugin_count; i++)
        ptel__free(&exp->alloc, exp->plugins[i].name, exp->plugins[i].name_len);
    ptel__free(&exp->alloc, exp->plugins, exp->plugin_cap * sizeof *exp->plugins);
    exp->plugins = NULL;
    exp->plugin_count = exp->plugin_cap = 0;
}

/* ---- encoding ----------------------------------------------------------- */

/* Scratch of one metric cycle: the points of the metric being written, one
 * point, and the ScopeMetrics body. */
typedef struct export_enc {
    ptel__buf point;
    ptel__buf points;
    ptel__buf metric;
    ptel__buf scope;
    uint64_t start;
    uint64_t now;
    int status;
} export_enc;

static void export_put_len(export_enc *e, ptel__buf *dst, uint8_t tag, const void *p, size_t n) {
    if (e->status) return;
    if (ptel__buf_reserve(dst, ptel__len_field_size(n))) {
        e->status = PTEL_E_NOMEM;
        return;
    }
    dst->len = (size_t)(ptel__put_len_field(dst->data + dst->len, tag, p, n) - dst->data);
}

static void export_put_raw(export_enc *e, ptel__buf *dst, const uint8_t *p, size_t n) {
    if (!e->status && ptel__buf_append(dst, p, n)) e->status = PTEL_E_NOMEM;
}

/* A string attribute: KeyValue{key, value: AnyValue{string_value}}. */
static void export_attr(export_enc *e, const char *key, const char *val, size_t val_len) {
    uint8_t kv[64];
    size_t key_len = strlen(key);
    size_t any = ptel__len_field_size(val_len);
    size_t body = ptel__len_field_size(key_len) + ptel__len_field_size(any);
    /* NumberDataPoint.attributes = 7, LEN */
    uint8_t *p = kv;
    *p++ = 0x3A;
    p = ptel__put_varint(p, body);
    p = ptel__put_len_field(p, 0x0A, key, key_len);
    *p++ = 0x12;
    p = ptel__put_varint(p, any);
    *p++ = 0x0A;
    p = ptel__put_varint(p, val_len);
    export_put_raw(e, &e->point, kv, (size_t)(p - kv));
    export_put_raw(e, &e->point, (const uint8_t *)val, val_len);
}

/* Start a point: NumberDataPoint start (2), time (3), as_int (6); the
 * attributes (7) follow with export_attr, then export_point_end. */
static void export_point(export_enc *e, bool with_start, uint64_t value) {
    uint8_t b[32], *p = b;
    e->point.len = 0;
    if (with_start) {
        *p++ = 0x11;
        p = ptel__put_fixed64(p, e->start);
    }
    *p++ = 0x19;
    p = ptel__put_fixed64(p, e->now);
    *p++ = 0x31;
    p = ptel__put_fixed64(p, value);
    export_put_raw(e, &e->point, b, (size_t)(p - b));
}

static void export_point_end(export_enc *e) {
    export_put_len(e, &e->points, 0x0A, e->point.data, e->point.len);
}

/* Write the metric of the points collected (none: nothing) into the scope. */
static void export_metric(export_enc *e, const char *name, const char *unit, const char *desc,
                          bool gauge) {
    if (e->status || !e->points.len) {
        e->points.len = 0;
        return;
    }
    e->metric.len = 0;
    export_put_len(e, &e->metric, 0x0A, name, strlen(name));
    export_put_len(e, &e->metric, 0x12, desc, strlen(desc));
    export_put_len(e, &e->metric, 0x1A, unit, strlen(unit));
    if (gauge) {
        export_put_len(e, &e->metric, 0x2A, e->points.data, e->points.len);
    } else {
        /* Sum: data_points (1), CUMULATIVE (2 = 2), is_monotonic (3 = true). */
        static const uint8_t tail[] = {0x10, 0x02, 0x18, 0x01};
        size_t body = e->points.len + sizeof tail;
        uint8_t head[12], *p = head;
        *p++ = 0x3A;
        p = ptel__put_varint(p, body);
        export_put_raw(e, &e->metric, head, (size_t)(p - head));
        export_put_raw(e, &e->metric, e->points.data, e->points.len);
        export_put_raw(e, &e->metric, tail, sizeof tail);
    }
    export_put_len(e, &e->scope, 0x12, e->metric.data, e->metric.len);
    e->points.len = 0;
}

/* One counter per plugin, from the field at `offset` of ptel__export_plugin. */
static void export_plugin_sum(export_enc *e, const ptel_exporter *exp, size_t offset,
                              const char *name, const char *unit, const char *desc) {
    for (size_t i = 0; i < exp->plugin_count; i++) {
        const ptel__export_plugin *p = &exp->plugins[i];
        uint64_t v;
        memcpy(&v, (const char *)p + offset, sizeof v);
        export_point(e, true, v);
        export_attr(e, "plugin.name", p->name ? p->name : "", p->name_len);
        export_point_end(e);
    }
    export_metric(e, name, unit, desc, false);
}

static const char *const export_signal_names[PTEL_EXPORT_SIGNAL_COUNT] = {"traces", "metrics"};

static void export_signal_attr(export_enc *e, int s) {
    export_attr(e, "signal", export_signal_names[s], strlen(export_signal_names[s]));
}

/* The ScopeMetrics body (scope + metrics) of the self-telemetry, exp->mu held. */
static void export_self_encode(export_enc *e, const ptel_exporter *exp) {
    static const char version[] = PTEL_VERSION_STRING;
    uint8_t scope[32], *p = scope;
    p = ptel__put_len_field(p, 0x0A, "ptel", 4);
    p = ptel__put_len_field(p, 0x12, version, sizeof version - 1);
    export_put_len(e, &e->scope, 0x0A, scope, (size_t)(p - scope));

#    define EXPORT_PLUGIN_SUM(field, name, unit, desc)                                             \
        export_plugin_sum(e, exp, offsetof(ptel__export_plugin, field), name, unit, desc)
    EXPORT_PLUGIN_SUM(invocations, "ptel.host.invocations", "{invocation}",
                      "Plugin invocations whose telemetry the host received");
    EXPORT_PLUGIN_SUM(payloads_rejected, "ptel.host.payloads.rejected", "{payload}",
                      "Plugin telemetry payloads rejected as a whole");
    EXPORT_PLUGIN_SUM(spans_received, "ptel.host.spans.received", "{span}",
                      "Spans plugins returned");
    EXPORT_PLUGIN_SUM(spans_accepted, "ptel.host.spans.accepted", "{span}",
                      "Plugin spans that passed validation");
    EXPORT_PLUGIN_SUM(spans_dropped, "ptel.host.spans.dropped", "{span}",
                      "Plugin spans dropped by validation");
    EXPORT_PLUGIN_SUM(points_received, "ptel.host.points.received", "{point}",
                      "Metric data points plugins returned (of metrics kept)");
    EXPORT_PLUGIN_SUM(points_accepted, "ptel.host.points.accepted", "{point}",
                      "Metric data points that passed validation");
    EXPORT_PLUGIN_SUM(points_dropped, "ptel.host.points.dropped", "{point}",
                      "Metric data points dropped by validation");
#    undef EXPORT_PLUGIN_SUM

    static const char *const kinds[3] = {"spans", "metrics", "points"};
    for (size_t i = 0; i < exp->plugin_count; i++)
        for (int k = 0; k < 3; k++) {
            const ptel__export_plugin *pl = &exp->plugins[i];
            if (!pl->plugin_dropped[k]) continue;
            export_point(e, true, pl->plugin_dropped[k]);
            export_attr(e, "plugin.name", pl->name ? pl->name : "", pl->name_len);
            export_attr(e, "signal", kinds[k], strlen(kinds[k]));
            export_point_end(e);
        }
    export_metric(e, "ptel.host.plugin.dropped", "{item}", "Items the plugins reported dropping",
                  false);
    for (size_t i = 0; i < exp->plugin_count; i++)
        for (int r = 0; r < PTEL_REASON_COUNT; r++) {
            const ptel__export_plugin *pl = &exp->plugins[i];
            if (!pl->reasons[r]) continue;
            export_point(e, true, pl->reasons[r]);
            export_attr(e, "plugin.name", pl->name ? pl->name : "", pl->name_len);
            const char *reason = ptel_reason_name(r);
            export_attr(e, "reason", reason, strlen(reason));
            export_point_end(e);
        }
    export_metric(e, "ptel.host.validation.problems", "{problem}",
                  "Elements validation dropped or changed, per reason", false);

    const ptel_exporter_stats *st = &exp->stats;
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        export_point(e, true, st->signals[s].items_submitted);
        export_signal_attr(e, s);
        export_point_end(e);
    }
    export_metric(e, "ptel.exporter.items.submitted", "{item}",
                  "Spans and data points given to the exporter", false);
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        export_point(e, true, st->signals[s].items_sent);
        export_signal_attr(e, s);
        export_point_end(e);
    }
    export_metric(e, "ptel.exporter.items.sent", "{item}",
                  "Spans and data points the receiver accepted", false);
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++)
        for (int d = 0; d < PTEL_EXPORT_DROP_COUNT; d++) {
            if (!st->signals[s].items_dropped[d]) continue;
            export_point(e, true, st->signals[s].items_dropped[d]);
            export_signal_attr(e, s);
            const char *reason = ptel_export_drop_name(d);
            export_attr(e, "reason", reason, strlen(reason));
            export_point_end(e);
        }
    export_metric(e, "ptel.exporter.items.dropped", "{item}",
                  "Spans and data points the exporter dropped, per reason", false);
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++)
        for (int ok = 1; ok >= 0; ok--) {
            export_point(e, true, ok ? st->signals[s].exports_ok : st->signals[s].exports_failed);
            export_signal_attr(e, s);
            export_attr(e, "outcome", ok ? "success" : "failure", ok ? 7 : 7);
            export_point_end(e);
        }
    export_metric(e, "ptel.exporter.exports", "{request}", "Export requests, per outcome", false);
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        export_point(e, true, st->signals[s].retries);
        export_signal_attr(e, s);
        export_point_end(e);
    }
    export_metric(e, "ptel.exporter.retries", "{retry}", "Export attempts after the first", false);
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        export_point(e, false, exp->q[s].count);
        export_signal_attr(e, s);
        export_point_end(e);
    }
    export_metric(e, "ptel.exporter.queue.size", "{request}", "Requests waiting in the queue",
                  true);
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        export_point(e, false, exp->q[s].bytes);
        export_signal_attr(e, s);
        export_point_end(e);
    }
    export_metric(e, "ptel.exporter.queue.bytes", "By", "Bytes waiting in the queue", true);
}

/* Append the aggregator's request to `out` (retrying while it grows). */
static int export_aggregated(ptel_exporter *exp, ptel__buf *out) {
    for (;;) {
        size_t need = 0;
        int st = ptel_aggregator_export(exp->agg, &exp->xopts, exp->temporality, NULL, 0, &need);
        if (st && st != PTEL_E_BUFFER_TOO_SMALL) return st;
        if (!need) return 0;
        if (ptel__buf_reserve(out, need)) return PTEL_E_NOMEM;
        size_t len = 0;
        st = ptel_aggregator_export(exp->agg, &exp->xopts, exp->temporality, out->data + out->len,
                                    out->cap - out->len, &len);
        if (st == PTEL_E_BUFFER_TOO_SMALL) continue;
        if (st) return st;
        out->len += len;
        return 0;
    }
}

int ptel__export_metric_cycle(ptel_exporter *exp) {
    if (exp->kind == PTEL_EXPORTER_NONE) return 0;
    ptel__buf req;
    ptel__buf_init(&req, exp->alloc);
    int st = export_aggregated(exp, &req);
    export_enc e;
    memset(&e, 0, sizeof e);
    ptel__buf_init(&e.point, exp->alloc);
    ptel__buf_init(&e.points, exp->alloc);
    ptel__buf_init(&e.metric, exp->alloc);
    ptel__buf_init(&e.scope, exp->alloc);
    e.start = exp->start_unix_ns;
    e.now = ptel__clock_realtime(&exp->clock);
    pthread_mutex_lock(&exp->mu);
    if (exp->self_telemetry) export_self_encode(&e, exp);
    pthread_mutex_unlock(&exp->mu);
    if (!st) st = e.status;
    if (!st && e.scope.len) {
        /* The ScopeMetrics field, wrapped into a request of its own. */
        size_t field = ptel__len_field_size(e.scope.len);
        e.metric.len = 0;
        if (ptel__buf_reserve(&e.metric, field)) st = PTEL_E_NOMEM;
        if (!st) {
            e.metric.len =
                (size_t)(ptel__put_len_field(e.metric.data, 0x12, e.scope.data, e.scope.len) -
                         e.metric.data);
            size_t need = 0;
            ptel_export_metrics_wrap(&exp->xopts, e.metric.data, e.metric.len, NULL, 0, &need);
            if (ptel__buf_reserve(&req, need)) st = PTEL_E_NOMEM;
            size_t len = 0;
            if (!st)
                st = ptel_export_metrics_wrap(&exp->xopts, e.metric.data, e.metric.len,
                                              req.data + req.len, req.cap - req.len, &len);
            if (!st) req.len += len;
        }
    }
    uint64_t items = 0;
    if (!st && req.len)
        st = ptel__export_count_items(PTEL_EXPORT_SIGNAL_METRICS, req.data, req.len, &items, NULL);
    if (!st && req.len) {
        pthread_mutex_lock(&exp->mu);
        st = ptel__export_put(exp, PTEL_EXPORT_SIGNAL_METRICS, req.data, req.len, items);
        pthread_mutex_unlock(&exp->mu);
    }
    ptel__buf_free(&req);
    ptel__buf_free(&e.point);
    ptel__buf_free(&e.points);
    ptel__buf_free(&e.metric);
    ptel__buf_free(&e.scope);
    return st;
}

#endif
