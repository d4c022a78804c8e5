/* Host validation reasons and reports: the reason table's names and
 * messages, counting, and the report as JSON. */
#include "host_internal.h"

const char *ptel_reason_name(int reason) {
    switch (reason) {
#define PTEL__REASON_NAME(name, value, str, msg)                                                   \
    case value:                                                                                    \
        return str;
        PTEL_REASON_MAP(PTEL__REASON_NAME)
#undef PTEL__REASON_NAME
    }
    return "unknown";
}

const char *ptel_reason_message(int reason) {
    switch (reason) {
#define PTEL__REASON_MSG(name, value, str, msg)                                                    \
    case value:                                                                                    \
        return msg;
        PTEL_REASON_MAP(PTEL__REASON_MSG)
#undef PTEL__REASON_MSG
    }
    return "unknown reason";
}

uint32_t ptel_reason_count(void) { return PTEL_REASON_COUNT; }

void ptel__host_note(host_vctx *c, int reason, const uint8_t *at, uint32_t field) {
    ptel__host_note_n(c, reason, 1, at, field);
}

void ptel__host_note_n(host_vctx *c, int reason, uint32_t n, const uint8_t *at, uint32_t field) {
    if (!n || !c->counting || reason < 0 || reason >= PTEL_REASON_COUNT) return;
    ptel_report *r = c->rep;
    r->reasons[reason] = r->reasons[reason] > UINT32_MAX - n ? UINT32_MAX : r->reasons[reason] + n;
    if (r->first_reason < 0) {
        r->first_reason = reason;
        r->first.status = 0;
        r->first.field = field;
        r->first.offset = at ? (uint64_t)(at - c->base) : 0;
        r->first.reason = ptel_reason_message(reason);
    }
}

int ptel__host_wire(host_vctx *c, const ptel__field *f, const char *why) {
    return ptel__fail(&c->fatal, PTEL_E_MALFORMED, (uint64_t)(f->start - c->base), f->number, why);
}

/* ---- JSON ------------------------------------------------------------------- */

/* Appends to a buffer of `cap` bytes, always counting the full length. */
typedef struct host_rep_out {
    char *buf;
    size_t cap;
    size_t n;
} host_rep_out;

static void host_rep_put(host_rep_out *o, const char *s, size_t n) {
    if (o->buf && o->n < o->cap) {
        size_t room = o->cap - o->n;
        memcpy(o->buf + o->n, s, n < room ? n : room);
    }
    o->n += n;
}

static void host_rep_str(host_rep_out *o, const char *s) { host_rep_put(o, s, strlen(s)); }

static void host_rep_u64(host_rep_out *o, uint64_t v) {
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    host_rep_put(o, tmp + i, sizeof tmp - i);
}

static void host_rep_i64(host_rep_out *o, int64_t v) {
    if (v < 0) {
        host_rep_put(o, "-", 1);
        host_rep_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        host_rep_u64(o, (uint64_t)v);
    }
}

/* `"key":value` with a leading comma unless first. */
static void host_rep_kv(host_rep_out *o, const char *key, uint64_t v, bool first) {
    if (!first) host_rep_put(o, ",", 1);
    host_rep_put(o, "\"", 1);
    host_rep_str(o, key);
    host_rep_put(o, "\":", 2);
    host_rep_u64(o, v);
}

/* A JSON string of static ASCII text (reason messages have no characters
 * that need escaping, but escape quotes and backslashes all the same). */
static void host_rep_quoted(host_rep_out *o, const char *s) {
    host_rep_put(o, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') host_rep_put(o, "\\", 1);
        if ((unsigned char)*s < 0x20) continue;
        host_rep_put(o, s, 1);
    }
    host_rep_put(o, "\"", 1);
}

static size_t host_rep_render(const ptel_report *r, char *buf, size_t cap) {
    host_rep_out o = {buf, cap, 0};
    host_rep_str(&o, "{\"status\":");
    host_rep_str(&o, r->status == 0                 ? "\"ok\""
                     : r->status == PTEL_E_REJECTED ? "\"rejected\""
                                                    : "\"error\"");
    host_rep_str(&o, ",\"spans\":{");
    host_rep_kv(&o, "accepted", r->spans_accepted, true);
    host_rep_kv(&o, "dropped", r->spans_dropped, false);
    host_rep_kv(&o, "modified", r->spans_modified, false);
    host_rep_kv(&o, "open", r->open_spans, false);
    host_rep_str(&o, "},\"metrics\":{");
    host_rep_kv(&o, "accepted", r->metrics_accepted, true);
    host_rep_kv(&o, "dropped", r->metrics_dropped, false);
    host_rep_str(&o, "},\"points\":{");
    host_rep_kv(&o, "accepted", r->points_accepted, true);
    host_rep_kv(&o, "dropped", r->points_dropped, false);
    host_rep_str(&o, "},\"plugin_dropped\":{");
    host_rep_kv(&o, "spans", r->plugin_dropped_spans, true);
    host_rep_kv(&o, "metrics", r->plugin_dropped_metrics, false);
    host_rep_kv(&o, "points", r->plugin_dropped_points, false);
    host_rep_kv(&o, "errors", r->plugin_errors, false);
    host_rep_str(&o, "},\"reasons\":{");
    bool first = true;
    for (int k = 0; k < PTEL_REASON_COUNT; k++) {
        if (!r->reasons[k]) continue;
        host_rep_kv(&o, ptel_reason_name(k), r->reasons[k], first);
        first = false;
    }
    host_rep_str(&o, "}");
    if (r->first_reason >= 0 || r->status != 0) {
        host_rep_str(&o, ",\"first\":{\"reason\":");
        host_rep_quoted(&o, r->first_reason >= 0 ? ptel_reason_name(r->first_reason)
                                                 : ptel_status_name(r->status));
        host_rep_str(&o, ",\"offset\":");
        host_rep_u64(&o, r->first.offset);
        host_rep_str(&o, ",\"field\":");
        host_rep_u64(&o, r->first.field);
        if (r->first.status) {
            host_rep_str(&o, ",\"status\":");
            host_rep_i64(&o, r->first.status);
        }
        if (r->first.reason) {
            host_rep_str(&o, ",\"message\":");
            host_rep_quoted(&o, r->first.reason);
        }
        host_rep_str(&o, "}");
    }
    host_rep_str(&o, "}");
    return o.n;
}

int ptel_report_to_json(const ptel_report *r, char *buf, size_t cap, size_t *len) {
    if (!r || !len) return PTEL_E_INVALID_ARGUMENT;
    size_t n = host_rep_render(r, NULL, 0);
    *len = n;
    if (!buf || cap < n + 1) return PTEL_E_BUFFER_TOO_SMALL;
    host_rep_render(r, buf, cap);
    buf[n] = '\0';
    return 0;
}
