/* ptel send [--traceparent TP] [--count N] [--deadline-ms MS] [--stats]
 *           [--max-queue-requests N] [--no-self-telemetry] [-o FILE]
 * Drive the built-in exporter end to end: per invocation, begin it under TP
 * (default: a fresh random sampled trace per invocation), record the
 * reference plugin workload with the C recorder (plugin pii_filter 1.0.0,
 * hook tool_pre_invoke; the spans and metrics every adapter example records),
 * end it and submit it to an exporter configured from the OTEL_* environment
 * (OTLP/HTTP when an endpoint is set; else OTLP/JSON lines to -o FILE, or
 * the console on stderr). Prints trace_id=<hex> per invocation, then shuts
 * the exporter down within the deadline; --stats prints its stats as one
 * JSON object on the last line. --max-queue-requests bounds each signal's
 * queue (as max_queue_requests), so tests can overflow it cheaply. Exit 0 when nothing was dropped,
 * 1 when something was, 2 on usage errors. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char send_usage[] = "usage: ptel send [--traceparent TP] [--count N] [--deadline-ms "
                                 "MS] [--stats] [--max-queue-requests N] "
                                 "[--no-self-telemetry] [-o FILE]\n";

static ptel_attr send_attr(const char *key, uint32_t type) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = key;
    a.key.len = strlen(key);
    a.value.type = type;
    return a;
}

static ptel_metric *send_metric(ptel_recorder *rec, uint32_t kind, uint32_t type, const char *name,
                                const char *unit) {
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    o.kind = kind;
    o.number_type = type;
    o.name.ptr = name;
    o.name.len = strlen(name);
    o.unit.ptr = unit;
    o.unit.len = strlen(unit);
    ptel_metric *m = NULL;
    return ptel_metric_get(&m, rec, &o) ? NULL : m;
}

/* The reference workload of the adapter examples (see /tmp/contract.md
 * item 2, mirrored in README "Exporting"). Strict recorder: any refusal is
 * a bug here, reported as such. */
static int send_workload(ptel_recorder *rec) {
    ptel_span *scan = NULL, *redact = NULL;
    int st = ptel_span_start(&scan, rec, NULL, "pii_filter.scan", 15, PTEL_SPAN_KIND_INTERNAL, 0);
    ptel_attr count = send_attr("pii.count", PTEL_VALUE_INT);
    count.value.i = 2;
    if (!st) st = ptel_span_set_attributes(scan, &count, 1);
    if (!st)
        st = ptel_span_start(&redact, rec, scan, "pii_filter.redact", 17, PTEL_SPAN_KIND_INTERNAL,
                             0);
    ptel_attr kind = send_attr("pii.kind", PTEL_VALUE_STRING);
    kind.value.str.ptr = "email";
    kind.value.str.len = 5;
    if (!st) st = ptel_span_add_event(redact, "pii.detected", 12, 0, &kind, 1);
    ptel_metric *detections =
        send_metric(rec, PTEL_METRIC_COUNTER, PTEL_NUMBER_INT, "pii.detections", "{detection}");
    ptel_metric *inflight =
        send_metric(rec, PTEL_METRIC_UPDOWN_COUNTER, PTEL_NUMBER_INT, "pii.inflight", "{request}");
    ptel_metric *buffer =
        send_metric(rec, PTEL_METRIC_GAUGE, PTEL_NUMBER_INT, "pii.buffer.size", "By");
    ptel_metric *duration =
        send_metric(rec, PTEL_METRIC_HISTOGRAM, PTEL_NUMBER_DOUBLE, "pii.scan.duration", "ms");
    if (!st && !(detections && inflight && buffer && duration)) st = PTEL_E_STATE;
    if (!st) st = ptel_metric_record_int(detections, 2, &kind, 1, NULL);
    if (!st) st = ptel_metric_record_int(inflight, 1, NULL, 0, NULL);
    if (!st) st = ptel_metric_record_int(buffer, 128, NULL, 0, NULL);
    if (!st) st = ptel_metric_record_double(duration, 1.5, NULL, 0, NULL);
    if (!st) st = ptel_metric_record_double(duration, 7.0, NULL, 0, NULL);
    if (!st) st = ptel_span_end(redact, 0);
    if (!st) st = ptel_span_end(scan, 0);
    return st;
}

/* One invocation: begin, record, end, submit; prints its trace id. */
static int send_one(ptel_exporter *exp, const ptel_span_context *parent) {
    ptel_invocation_options io;
    ptel_invocation_options_init(&io);
    if (parent) io.parent = *parent;
    io.plugin_name = (ptel_str){"pii_filter", 10};
    io.plugin_version = (ptel_str){"1.0.0", 5};
    io.hook = (ptel_str){"tool_pre_invoke", 15};
    ptel_invocation *inv = NULL;
    ptel_diag diag = {0};
    int st = ptel_invocation_begin(&inv, &io, &diag);
    if (st) {
        cli_error("send", "invocation", st, &diag);
        return st;
    }
    ptel_recorder_options ro;
    ptel_recorder_options_init(&ro);
    ro.strict = true;
    ptel_recorder *rec = NULL;
    st = ptel_recorder_new(&rec, ptel_invocation_context(inv), &ro);
    if (!st) st = send_workload(rec);
    const uint8_t *payload = NULL;
    size_t len = 0;
    if (!st) st = ptel_recorder_finish(rec, &payload, &len);
    if (st) cli_error("send", "recording", st, NULL);
    ptel_report report;
    if (!st) st = ptel_invocation_end(inv, payload, len, PTEL_OUTCOME_OK, NULL, 0, &report, &diag);
    if (!st && (report.spans_dropped || report.metrics_dropped || report.points_dropped))
        fprintf(stderr, "ptel send: validation dropped telemetry of the workload\n");
    if (!st) st = ptel_exporter_submit_invocation(exp, inv);
    if (!st) {
        ptel_span_context sc;
        ptel_invocation_span_context(inv, &sc);
        char hex[33];
        for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", sc.trace_id[i]);
        printf("trace_id=%s\n", hex);
        fflush(stdout);
    } else {
        cli_error("send", "submit", st, &diag);
    }
    ptel_recorder_free(rec);
    ptel_invocation_free(inv);
    return st;
}

int cli_cmd_send(int argc, char **argv) {
    const char *traceparent = NULL, *out_path = NULL;
    long count = 1, deadline = 10000, max_queue = 0;
    bool stats = false, self = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        char *end = NULL;
        if (!strcmp(a, "--traceparent")) {
            if (!(traceparent = cli_arg_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--count") || !strcmp(a, "--deadline-ms") ||
                   !strcmp(a, "--max-queue-requests")) {
            if (!(v = cli_arg_value(argc, argv, &i))) return 2;
            long n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 0 || n > 100000000) {
                fprintf(stderr, "ptel send: bad %s value '%s'\n", a, v);
                return 2;
            }
            *(a[2] == 'c' ? &count : a[2] == 'd' ? &deadline : &max_queue) = n;
        } else if (!strcmp(a, "--stats")) {
            stats = true;
        } else if (!strcmp(a, "--no-self-telemetry")) {
            self = false;
        } else if (!strcmp(a, "-o")) {
            if (!(out_path = cli_arg_value(argc, argv, &i))) return 2;
        } else {
            fputs(send_usage, stderr);
            return 2;
        }
    }
    ptel_span_context parent;
    memset(&parent, 0, sizeof parent);
    if (traceparent) {
        ptel_traceparent tp;
        ptel_diag diag = {0};
        int st = ptel_traceparent_parse(&tp, traceparent, strlen(traceparent), &diag);
        if (st) {
            cli_error("send", "--traceparent", st, &diag);
            return 2;
        }
        memcpy(parent.trace_id, tp.trace_id, 16);
        memcpy(parent.span_id, tp.parent_id, 8);
        parent.trace_flags = tp.trace_flags;
        parent.is_remote = true;
    }

    ptel_exporter_options eo;
    ptel_exporter_options_init(&eo);
    eo.kind = out_path ? PTEL_EXPORTER_JSONL : PTEL_EXPORTER_CONSOLE;
    eo.path = out_path;
    eo.fd = 2;
    eo.self_telemetry = self;
    eo.max_queue_requests = (uint32_t)max_queue; /* 0: the default */
    ptel_diag diag = {0};
    if (ptel_exporter_options_from_env(&eo, NULL, NULL, &diag))
        fprintf(stderr, "ptel send: ignoring %s: %s\n", ptel_exporter_env_name((int)diag.field),
                diag.reason);
    ptel_exporter *exp = NULL;
    int st = ptel_exporter_new(&exp, &eo, &diag);
    if (st) {
        cli_error("send", "exporter", st, &diag);
        return 1;
    }
    for (long k = 0; k < count && !st; k++) st = send_one(exp, traceparent ? &parent : NULL);
    int down = ptel_exporter_shutdown(exp, (uint32_t)deadline);
    ptel_exporter_stats s;
    ptel_exporter_get_stats(exp, &s);
    ptel_exporter_free(exp);
    uint64_t dropped = 0;
    for (int sig = 0; sig < PTEL_EXPORT_SIGNAL_COUNT; sig++)
        for (int d = 0; d < PTEL_EXPORT_DROP_COUNT; d++) dropped += s.signals[sig].items_dropped[d];
    if (stats) {
        char json[2048];
        size_t n = 0;
        if (ptel_exporter_stats_to_json(&s, json, sizeof json, &n) == 0) printf("%s\n", json);
    }
    if (down) fprintf(stderr, "ptel send: shutdown: %s\n", ptel_strerror(down));
    if (dropped) fprintf(stderr, "ptel send: %llu items dropped\n", (unsigned long long)dropped);
    return st || down || dropped ? 1 : 0;
}
