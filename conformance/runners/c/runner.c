/* The C conformance runner (conformance/README.md): executes every vector
 * through the public C API and compares with its expected outputs.
 *
 *   ptel-conformance <vectors-dir> <results.json> [expected-failures.json]
 *   ptel-conformance --emit <vectors-dir>      one JSON line of actual outputs per case
 *   ptel-conformance --render                  stdin lines "<type> <hex>" -> canonical JSON lines
 *
 * The emit mode is what conformance/gen uses to (re)generate expected outputs:
 * the C core is the reference. */
#ifndef _GNU_SOURCE
#    define _GNU_SOURCE
#endif
#include "cjson.h"

#include <ptel/ptel.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONF_TIME_BASE 1000000000000ull

/* ---- small helpers ----------------------------------------------------------------------- */

typedef struct conf_env {
    uint64_t mono;
    uint64_t base;
    uint8_t next_id;
} conf_env;

static uint64_t conf_mono(void *ud) { return ((conf_env *)ud)->mono; }
static uint64_t conf_real(void *ud) {
    conf_env *e = ud;
    return e->base + e->mono;
}
static void conf_ids(void *ud, uint8_t *out, size_t n) {
    memset(out, 0, n);
    out[n - 1] = ++((conf_env *)ud)->next_id;
}

/* Everything allocated while converting one case's values, freed at its end. */
typedef struct conf_pool {
    void **p;
    size_t n, cap;
} conf_pool;

static void *conf_alloc(conf_pool *pool, size_t size) {
    void *m = calloc(1, size ? size : 1);
    if (pool->n == pool->cap) {
        pool->cap = pool->cap ? pool->cap * 2 : 64;
        pool->p = realloc(pool->p, pool->cap * sizeof *pool->p);
    }
    pool->p[pool->n++] = m;
    return m;
}

static void conf_pool_free(conf_pool *pool) {
    for (size_t k = 0; k < pool->n; k++) free(pool->p[k]);
    free(pool->p);
    memset(pool, 0, sizeof *pool);
}

static int conf_hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode hex into a pool buffer; NULL on bad input. */
static uint8_t *conf_unhex(conf_pool *pool, const char *s, size_t len, size_t *out_len) {
    if (len % 2) return NULL;
    uint8_t *o = conf_alloc(pool, len / 2);
    for (size_t k = 0; k < len / 2; k++) {
        int hi = conf_hexval(s[2 * k]), lo = conf_hexval(s[2 * k + 1]);
        if (hi < 0 || lo < 0) return NULL;
        o[k] = (uint8_t)(hi << 4 | lo);
    }
    *out_len = len / 2;
    return o;
}

static bool conf_hex_fixed(uint8_t *out, size_t n, const char *s) {
    if (!s || strlen(s) != 2 * n) return false;
    for (size_t k = 0; k < n; k++) {
        int hi = conf_hexval(s[2 * k]), lo = conf_hexval(s[2 * k + 1]);
        if (hi < 0 || lo < 0) return false;
        out[k] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static int conf_b64val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static uint8_t *conf_unb64(conf_pool *pool, const char *s, size_t len, size_t *out_len) {
    uint8_t *o = conf_alloc(pool, len);
    size_t m = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t k = 0; k < len && s[k] != '='; k++) {
        int v = conf_b64val(s[k]);
        if (v < 0) return NULL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[m++] = (uint8_t)(acc >> bits);
        }
    }
    *out_len = m;
    return o;
}

/* ---- typed values -> ptel_value ---------------------------------------------------------- */

static bool conf_attrs(conf_pool *pool, const cj *list, ptel_attr **out, size_t *count);

static bool conf_value(conf_pool *pool, const cj *v, ptel_value *out) {
    memset(out, 0, sizeof *out);
    if (!v || v->type != CJ_OBJECT || v->count != 1) return false;
    const cj *m = v->child;
    const char *k = m->key;
    if (strcmp(k, "string") == 0 && m->type == CJ_STRING) {
        out->type = PTEL_VALUE_STRING;
        out->str.ptr = m->str;
        out->str.len = m->len;
    } else if (strcmp(k, "bool") == 0 && m->type == CJ_BOOL) {
        out->type = PTEL_VALUE_BOOL;
        out->i = m->b;
    } else if (strcmp(k, "int") == 0 && m->type == CJ_STRING) {
        out->type = PTEL_VALUE_INT;
        out->i = strtoll(m->str, NULL, 10);
    } else if (strcmp(k, "double") == 0 && m->type == CJ_STRING) {
        out->type = PTEL_VALUE_DOUBLE;
        out->d = strtod(m->str, NULL);
    } else if (strcmp(k, "bytes_b64") == 0 && m->type == CJ_STRING) {
        size_t n = 0;
        uint8_t *b = conf_unb64(pool, m->str, m->len, &n);
        if (!b) return false;
        out->type = PTEL_VALUE_BYTES;
        out->str.ptr = (const char *)b;
        out->str.len = n;
    } else if (strcmp(k, "array") == 0 && m->type == CJ_ARRAY) {
        ptel_value *a = conf_alloc(pool, m->count * sizeof *a);
        size_t i = 0;
        for (const cj *e = m->child; e; e = e->next)
            if (!conf_value(pool, e, &a[i++])) return false;
        out->type = PTEL_VALUE_ARRAY;
        out->array = a;
        out->count = (uint32_t)m->count;
    } else if (strcmp(k, "kvlist") == 0 && m->type == CJ_ARRAY) {
        ptel_attr *kv = NULL;
        size_t n = 0;
        if (!conf_attrs(pool, m, &kv, &n)) return false;
        out->type = PTEL_VALUE_KVLIST;
        out->kvlist = kv;
        out->count = (uint32_t)n;
    } else if (strcmp(k, "empty") == 0) {
        out->type = PTEL_VALUE_EMPTY;
    } else {
        return false;
    }
    return true;
}

static bool conf_attrs(conf_pool *pool, const cj *list, ptel_attr **out, size_t *count) {
    *out = NULL;
    *count = 0;
    if (!list) return true;
    if (list->type != CJ_ARRAY) return false;
    ptel_attr *a = conf_alloc(pool, list->count * sizeof *a);
    size_t i = 0;
    for (const cj *e = list->child; e; e = e->next, i++) {
        const cj *key = cj_get(e, "key");
        if (!key || key->type != CJ_STRING) return false;
        a[i].key.ptr = key->str;
        a[i].key.len = key->len;
        if (!conf_value(pool, cj_get(e, "value"), &a[i].value)) return false;
    }
    *out = a;
    *count = list->count;
    return true;
}

static void conf_limits(const cj *o, ptel_limits *l) {
    memset(l, 0, sizeof *l);
    if (!o) return;
    l->attribute_count = (uint32_t)cj_u64(o, "attribute_count", 0);
    l->attribute_value_length = (uint32_t)cj_u64(o, "attribute_value_length", 0);
    l->attribute_depth = (uint32_t)cj_u64(o, "attribute_depth", 0);
    l->event_count = (uint32_t)cj_u64(o, "event_count", 0);
    l->link_count = (uint32_t)cj_u64(o, "link_count", 0);
    l->attributes_per_event = (uint32_t)cj_u64(o, "attributes_per_event", 0);
    l->attributes_per_link = (uint32_t)cj_u64(o, "attributes_per_link", 0);
    l->span_count = (uint32_t)cj_u64(o, "span_count", 0);
    l->metric_count = (uint32_t)cj_u64(o, "metric_count", 0);
    l->metric_cardinality = (uint32_t)cj_u64(o, "metric_cardinality", 0);
    l->payload_bytes = (uint32_t)cj_u64(o, "payload_bytes", 0);
}

static int conf_lookup(const char *const *names, size_t n, const char *s, int def) {
    if (!s) return def;
    for (size_t k = 0; k < n; k++)
        if (strcmp(names[k], s) == 0) return (int)k;
    return -1;
}

static const char *const CONF_DECISIONS[] = {"drop", "record_only", "record_and_sample"};
static const char *const CONF_KINDS[] = {"unspecified", "internal", "server",
                                         "client",      "producer", "consumer"};
static const char *const CONF_CODES[] = {"unset", "ok", "error"};
static const char *const CONF_METRIC_KINDS[] = {"", "counter", "updown_counter", "gauge",
                                                "histogram"};
static const char *const CONF_NUMBER_TYPES[] = {"", "int", "double"};
static const char *const CONF_OUTCOMES[] = {"ok", "error", "timeout", "crash"};

/* ---- scenarios ------------------------------------------------------------------------------ */

typedef struct conf_ref {
    const char *name;
    void *ptr;
    bool is_metric;
} conf_ref;

typedef struct conf_refs {
    conf_ref r[2048];
    size_t n;
} conf_refs;

static void *conf_ref_get(const conf_refs *refs, const char *name, bool metric) {
    if (!name) return NULL;
    for (size_t k = refs->n; k-- > 0;)
        if (refs->r[k].is_metric == metric && strcmp(refs->r[k].name, name) == 0)
            return refs->r[k].ptr;
    return NULL;
}

static void conf_ref_put(conf_refs *refs, const char *name, void *ptr, bool metric) {
    if (!name || refs->n >= sizeof refs->r / sizeof refs->r[0]) return;
    refs->r[refs->n++] = (conf_ref){name, ptr, metric};
}

/* Run a scenario and write its actual outputs as a JSON object into `out`. */
static bool conf_scenario(const cj *c, cj_buf *out, char *err) {
    conf_pool pool = {0};
    conf_refs *refs = calloc(1, sizeof *refs);
    bool ok = false;
    ptel_context *ctx = NULL;
    ptel_recorder *rec = NULL;
    const cj *cx = cj_get(c, "context");
    conf_env env = {0, cj_u64(cx, "time_base_unix_nano", CONF_TIME_BASE), 0};

    ptel_context_fields f;
    ptel_context_fields_init(&f);
    size_t tpl = 0;
    const char *tp = cj_str(cx, "traceparent", "", &tpl);
    ptel_traceparent tpv;
    if (ptel_traceparent_parse(&tpv, tp, tpl, NULL) != 0) {
        snprintf(err, 256, "bad traceparent in context");
        goto done;
    }
    memcpy(f.parent.trace_id, tpv.trace_id, 16);
    memcpy(f.parent.span_id, tpv.parent_id, 8);
    f.parent.trace_flags = tpv.trace_flags;
    f.parent.is_remote = true;
    f.tracestate.ptr = cj_str(cx, "tracestate", "", &f.tracestate.len);
    f.baggage.ptr = cj_str(cx, "baggage", "", &f.baggage.len);
    int dec = conf_lookup(CONF_DECISIONS, 3, cj_str(cx, "decision", NULL, NULL), -1);
    if (dec < 0) {
        snprintf(err, 256, "bad decision");
        goto done;
    }
    f.decision = (uint32_t)dec;
    f.time_base_unix_nano = env.base;
    f.plugin_name.ptr = cj_str(cx, "plugin_name", "", &f.plugin_name.len);
    f.plugin_version.ptr = cj_str(cx, "plugin_version", "", &f.plugin_version.len);
    f.hook.ptr = cj_str(cx, "hook", "", &f.hook.len);
    conf_limits(cj_get(cx, "limits"), &f.limits);
    ptel_diag diag;
    memset(&diag, 0, sizeof diag);
    int rc = ptel_context_new(&ctx, &f, NULL, &diag);
    if (rc != 0) {
        snprintf(err, 256, "ptel_context_new: %s", ptel_status_name(rc));
        goto done;
    }
    ptel_recorder_options o;
    ptel_recorder_options_init(&o);
    o.clock.monotonic_ns = conf_mono;
    o.clock.realtime_ns = conf_real;
    o.clock.ud = &env;
    o.ids.fill = conf_ids;
    o.ids.ud = &env;
    rc = ptel_recorder_new(&rec, ctx, &o);
    if (rc != 0) {
        snprintf(err, 256, "ptel_recorder_new: %s", ptel_status_name(rc));
        goto done;
    }
    const uint8_t *payload = NULL;
    size_t payload_len = 0;
    bool finished = false;
    for (const cj *op = cj_get(c, "ops") ? cj_get(c, "ops")->child : NULL; op; op = op->next) {
        const char *name = cj_str(op, "op", "", NULL);
        ptel_span *span = conf_ref_get(refs, cj_str(op, "span", NULL, NULL), false);
        ptel_attr *attrs = NULL;
        size_t nattrs = 0;
        if (finished) {
            snprintf(err, 256, "op after finish");
            goto done;
        }
        if (!conf_attrs(&pool, cj_get(op, "attrs"), &attrs, &nattrs)) {
            snprintf(err, 256, "bad attrs in op %s", name);
            goto done;
        }
        size_t sl = 0;
        if (strcmp(name, "start_span") == 0) {
            const char *sn = cj_str(op, "name", "", &sl);
            int kind = conf_lookup(CONF_KINDS, 6, cj_str(op, "kind", NULL, NULL), 1);
            ptel_span *parent = conf_ref_get(refs, cj_str(op, "parent", NULL, NULL), false);
            ptel_span *s = NULL;
            (void)ptel_span_start(&s, rec, parent, sn, sl, (uint32_t)(kind < 0 ? 1 : kind),
                                  cj_u64(op, "time", 0));
            conf_ref_put(refs, cj_str(op, "ref", NULL, NULL), s, false);
        } else if (strcmp(name, "set_attributes") == 0) {
            (void)ptel_span_set_attributes(span, attrs, nattrs);
        } else if (strcmp(name, "add_event") == 0) {
            const char *en = cj_str(op, "name", "", &sl);
            (void)ptel_span_add_event(span, en, sl, cj_u64(op, "time", 0), attrs, nattrs);
        } else if (strcmp(name, "add_link") == 0) {
            ptel_span_context lc;
            memset(&lc, 0, sizeof lc);
            ptel_span *to = conf_ref_get(refs, cj_str(op, "to", NULL, NULL), false);
            if (to) {
                ptel_span_get_context(to, &lc);
            } else {
                conf_hex_fixed(lc.trace_id, 16, cj_str(op, "trace_id", NULL, NULL));
                conf_hex_fixed(lc.span_id, 8, cj_str(op, "span_id", NULL, NULL));
                lc.trace_flags = (uint8_t)cj_u64(op, "trace_flags", 0);
            }
            const char *ts = cj_str(op, "tracestate", "", &sl);
            (void)ptel_span_add_link(span, &lc, ts, sl, attrs, nattrs);
        } else if (strcmp(name, "set_status") == 0) {
            int code = conf_lookup(CONF_CODES, 3, cj_str(op, "code", NULL, NULL), 0);
            const char *d = cj_str(op, "description", "", &sl);
            (void)ptel_span_set_status(span, (uint32_t)(code < 0 ? 0 : code), d, sl);
        } else if (strcmp(name, "record_exception") == 0) {
            size_t tl = 0, ml = 0, stl = 0;
            const char *t = cj_str(op, "type", "", &tl);
            const char *m = cj_str(op, "message", "", &ml);
            const char *st = cj_str(op, "stacktrace", "", &stl);
            (void)ptel_span_record_exception(span, t, tl, m, ml, st, stl, cj_u64(op, "time", 0));
        } else if (strcmp(name, "update_name") == 0) {
            const char *nn = cj_str(op, "name", "", &sl);
            (void)ptel_span_update_name(span, nn, sl);
        } else if (strcmp(name, "end_span") == 0) {
            (void)ptel_span_end(span, cj_u64(op, "time", 0));
        } else if (strcmp(name, "advance") == 0) {
            env.mono += cj_u64(op, "ns", 0);
        } else if (strcmp(name, "metric") == 0) {
            ptel_metric_options mo;
            ptel_metric_options_init(&mo);
            int mk = conf_lookup(CONF_METRIC_KINDS, 5, cj_str(op, "kind", NULL, NULL), -1);
            int nt = conf_lookup(CONF_NUMBER_TYPES, 3, cj_str(op, "number_type", NULL, NULL), -1);
            if (mk <= 0 || nt <= 0) {
                snprintf(err, 256, "bad metric kind or number type");
                goto done;
            }
            mo.kind = (uint32_t)mk;
            mo.number_type = (uint32_t)nt;
            mo.name.ptr = cj_str(op, "name", "", &mo.name.len);
            mo.unit.ptr = cj_str(op, "unit", "", &mo.unit.len);
            mo.description.ptr = cj_str(op, "description", "", &mo.description.len);
            const cj *b = cj_get(op, "bounds");
            if (b && b->type == CJ_ARRAY) {
                double *bounds = conf_alloc(&pool, b->count * sizeof *bounds);
                size_t i = 0;
                for (const cj *e = b->child; e; e = e->next) bounds[i++] = e->num;
                mo.bounds = bounds;
                mo.bound_count = b->count;
            }
            ptel_metric *m = NULL;
            (void)ptel_metric_get(&m, rec, &mo);
            conf_ref_put(refs, cj_str(op, "ref", NULL, NULL), m, true);
        } else if (strcmp(name, "record") == 0) {
            ptel_metric *m = conf_ref_get(refs, cj_str(op, "metric", NULL, NULL), true);
            ptel_value v;
            if (!conf_value(&pool, cj_get(op, "value"), &v) ||
                (v.type != PTEL_VALUE_INT && v.type != PTEL_VALUE_DOUBLE)) {
                snprintf(err, 256, "bad record value");
                goto done;
            }
            if (v.type == PTEL_VALUE_INT)
                (void)ptel_metric_record_int(m, v.i, attrs, nattrs, span);
            else
                (void)ptel_metric_record_double(m, v.d, attrs, nattrs, span);
        } else if (strcmp(name, "finish") == 0) {
            rc = ptel_recorder_finish(rec, &payload, &payload_len);
            if (rc != 0) {
                snprintf(err, 256, "ptel_recorder_finish: %s", ptel_status_name(rc));
                goto done;
            }
            finished = true;
        } else {
            snprintf(err, 256, "unknown op '%s'", name);
            goto done;
        }
    }
    if (!finished) {
        snprintf(err, 256, "no finish op");
        goto done;
    }
    char *json = NULL;
    size_t json_len = 0;
    rc = ptel_json_render_alloc(&json, &json_len, PTEL_JSON_PLUGIN_TELEMETRY, payload, payload_len,
                                NULL, NULL);
    if (rc != 0) {
        snprintf(err, 256, "ptel_json_render: %s", ptel_status_name(rc));
        goto done;
    }
    cj_buf_cstr(out, "{\"payload_hex\":\"");
    cj_buf_hex(out, payload, payload_len);
    cj_buf_cstr(out, "\",\"json\":");
    cj_buf_string(out, json, json_len);
    cj_buf_cstr(out, "}");
    ptel_json_free(json, json_len, NULL);
    ok = true;
done:
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
    conf_pool_free(&pool);
    free(refs);
    return ok;
}

/* ---- host ------------------------------------------------------------------------------------ */

typedef int (*conf_export_fn)(const ptel_invocation *, const ptel_export_options *, uint8_t *,
                              size_t, size_t *);

static bool conf_export(cj_buf *out, conf_export_fn fn, const ptel_invocation *inv,
                        const ptel_export_options *eo, char *err) {
    size_t n = 0;
    int rc = fn(inv, eo, NULL, 0, &n);
    if (rc != 0 && rc != PTEL_E_BUFFER_TOO_SMALL) {
        snprintf(err, 256, "export: %s", ptel_status_name(rc));
        return false;
    }
    uint8_t *buf = malloc(n ? n : 1);
    size_t m = 0;
    rc = n ? fn(inv, eo, buf, n, &m) : 0;
    if (rc != 0) {
        free(buf);
        snprintf(err, 256, "export: %s", ptel_status_name(rc));
        return false;
    }
    cj_buf_hex(out, buf, m);
    free(buf);
    return true;
}

static bool conf_host(const cj *c, cj_buf *out, char *err) {
    conf_pool pool = {0};
    bool ok = false;
    ptel_invocation *inv = NULL;
    const cj *io = cj_get(c, "invocation");
    conf_env env = {0, CONF_TIME_BASE, 0};
    ptel_invocation_options o;
    ptel_invocation_options_init(&o);
    const cj *parent = cj_get(io, "parent");
    if (parent) {
        conf_hex_fixed(o.parent.trace_id, 16, cj_str(parent, "trace_id", NULL, NULL));
        conf_hex_fixed(o.parent.span_id, 8, cj_str(parent, "span_id", NULL, NULL));
        o.parent.trace_flags = (uint8_t)cj_u64(parent, "trace_flags", 0);
        o.parent.is_remote = true;
    }
    o.tracestate.ptr = cj_str(io, "tracestate", "", &o.tracestate.len);
    o.baggage.ptr = cj_str(io, "baggage", "", &o.baggage.len);
    int dec = conf_lookup(CONF_DECISIONS, 3, cj_str(io, "decision", "record_and_sample", NULL), -1);
    if (dec < 0) {
        snprintf(err, 256, "bad decision");
        goto done;
    }
    o.decision = (uint32_t)dec;
    o.plugin_name.ptr = cj_str(io, "plugin_name", "", &o.plugin_name.len);
    o.plugin_version.ptr = cj_str(io, "plugin_version", "", &o.plugin_version.len);
    o.hook.ptr = cj_str(io, "hook", "", &o.hook.len);
    o.span_name.ptr = cj_str(io, "span_name", "", &o.span_name.len);
    const char *sid = cj_str(io, "span_id", NULL, NULL);
    if (sid) conf_hex_fixed(o.span_id, 8, sid);
    o.start_unix_nano = cj_u64(io, "start_unix_nano", CONF_TIME_BASE);
    o.features = cj_u64(io, "features", 0);
    o.context_is_remote = cj_bool(io, "context_is_remote", false);
    ptel_attr *iattrs = NULL;
    size_t niattrs = 0;
    if (!conf_attrs(&pool, cj_get(io, "attrs"), &iattrs, &niattrs)) {
        snprintf(err, 256, "bad invocation attrs");
        goto done;
    }
    o.attributes = iattrs;
    o.attribute_count = niattrs;
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    const cj *pj = cj_get(io, "policy");
    if (pj) {
        conf_limits(cj_get(pj, "limits"), &pol.limits);
        pol.time_slack_ns = cj_u64(pj, "time_slack_ns", pol.time_slack_ns);
        const char *tpol = cj_str(pj, "time_policy", "clamp", NULL);
        pol.time_policy = strcmp(tpol, "reject") == 0 ? PTEL_TIME_REJECT : PTEL_TIME_CLAMP;
        pol.accept_record_only = cj_bool(pj, "accept_record_only", false);
        const cj *rk = cj_get(pj, "reserved_keys");
        if (rk && rk->type == CJ_ARRAY) {
            ptel_str *keys = conf_alloc(&pool, rk->count * sizeof *keys);
            size_t i = 0;
            for (const cj *e = rk->child; e; e = e->next, i++) {
                keys[i].ptr = e->str;
                keys[i].len = e->len;
            }
            pol.reserved_keys = keys;
            pol.reserved_key_count = rk->count;
        }
    }
    o.policy = &pol;
    o.clock.monotonic_ns = conf_mono;
    o.clock.realtime_ns = conf_real;
    o.clock.ud = &env;
    o.ids.fill = conf_ids;
    o.ids.ud = &env;
    ptel_diag diag;
    memset(&diag, 0, sizeof diag);
    int rc = ptel_invocation_begin(&inv, &o, &diag);
    if (rc != 0) {
        snprintf(err, 256, "ptel_invocation_begin: %s", ptel_status_name(rc));
        goto done;
    }
    env.mono += cj_u64(io, "duration_ns", 1000000);
    size_t hl = 0, pl = 0;
    const char *hex = cj_str(c, "payload_hex", "", &hl);
    const uint8_t *payload = conf_unhex(&pool, hex, hl, &pl);
    if (!payload) {
        snprintf(err, 256, "bad payload_hex");
        goto done;
    }
    int outcome = conf_lookup(CONF_OUTCOMES, 4, cj_str(c, "outcome", NULL, NULL), 0);
    size_t etl = 0;
    const char *et = cj_str(c, "error_type", "", &etl);
    ptel_report rep;
    memset(&rep, 0, sizeof rep);
    rc = ptel_invocation_end(inv, pl ? payload : NULL, pl, (uint32_t)(outcome < 0 ? 0 : outcome),
                             et, etl, &rep, &diag);
    size_t rl = 0;
    ptel_report_to_json(&rep, NULL, 0, &rl);
    char *rj = malloc(rl + 1);
    ptel_report_to_json(&rep, rj, rl + 1, &rl);
    cj_buf_cstr(out, "{\"status\":");
    cj_buf_string(out, ptel_status_name(rc), strlen(ptel_status_name(rc)));
    cj_buf_cstr(out, ",\"report\":");
    cj_buf_raw(out, rj, rl);
    free(rj);

    ptel_export_options eo;
    ptel_export_options_init(&eo);
    const cj *ej = cj_get(c, "export");
    static const char svc_key[] = "service.name", svc_val[] = "conformance";
    ptel_attr svc;
    memset(&svc, 0, sizeof svc);
    svc.key = (ptel_str){svc_key, sizeof svc_key - 1};
    svc.value.type = PTEL_VALUE_STRING;
    svc.value.str = (ptel_str){svc_val, sizeof svc_val - 1};
    eo.resource_attributes = &svc;
    eo.resource_attribute_count = 1;
    if (cj_get(ej, "resource")) {
        ptel_attr *ra = NULL;
        size_t nra = 0;
        if (!conf_attrs(&pool, cj_get(ej, "resource"), &ra, &nra)) {
            snprintf(err, 256, "bad resource attrs");
            goto done;
        }
        eo.resource_attributes = ra;
        eo.resource_attribute_count = nra;
    }
    eo.host_scope_name.ptr = cj_str(ej, "host_scope_name", "ptel", &eo.host_scope_name.len);
    eo.host_scope_version.ptr =
        cj_str(ej, "host_scope_version", "conformance", &eo.host_scope_version.len);
    eo.include_invocation_span = cj_bool(ej, "include_invocation_span", true);
    cj_buf_cstr(out, ",\"traces_hex\":\"");
    if (!conf_export(out, ptel_invocation_export_traces, inv, &eo, err)) goto done;
    cj_buf_cstr(out, "\",\"metrics_hex\":\"");
    if (!conf_export(out, ptel_invocation_export_metrics, inv, &eo, err)) goto done;
    cj_buf_cstr(out, "\"}");
    ok = true;
done:
    ptel_invocation_free(inv);
    conf_pool_free(&pool);
    return ok;
}

/* ---- w3c ------------------------------------------------------------------------------------- */

static bool conf_w3c(const cj *c, cj_buf *out, char *err) {
    conf_pool pool = {0};
    size_t len = 0;
    const char *in = cj_str(c, "input", NULL, &len);
    if (!in) {
        size_t hl = 0;
        const char *hex = cj_str(c, "input_hex", "", &hl);
        in = (const char *)conf_unhex(&pool, hex, hl, &len);
        if (!in) {
            snprintf(err, 256, "bad input_hex");
            conf_pool_free(&pool);
            return false;
        }
    }
    const char *header = cj_str(c, "header", "", NULL);
    bool ok = true;
    if (strcmp(header, "traceparent") == 0) {
        ptel_traceparent tp;
        if (ptel_traceparent_parse(&tp, in, len, NULL) != 0) {
            cj_buf_cstr(out, "{\"valid\":false}");
        } else {
            cj_buf_cstr(out, "{\"valid\":true,\"version\":");
            cj_buf_u64(out, tp.version);
            cj_buf_cstr(out, ",\"trace_id\":\"");
            cj_buf_hex(out, tp.trace_id, 16);
            cj_buf_cstr(out, "\",\"parent_id\":\"");
            cj_buf_hex(out, tp.parent_id, 8);
            cj_buf_cstr(out, "\",\"trace_flags\":");
            cj_buf_u64(out, tp.trace_flags);
            cj_buf_cstr(out, "}");
        }
    } else if (strcmp(header, "tracestate") == 0 || strcmp(header, "baggage") == 0) {
        char *buf = malloc(len + 1);
        size_t n = 0;
        int rc = header[0] == 't' ? ptel_tracestate_normalize(buf, len + 1, &n, in, len, NULL)
                                  : ptel_baggage_normalize(buf, len + 1, &n, in, len, NULL);
        if (rc != 0) {
            cj_buf_cstr(out, "{\"valid\":false}");
        } else {
            cj_buf_cstr(out, "{\"valid\":true,\"normalized\":");
            cj_buf_string(out, buf, n);
            cj_buf_cstr(out, "}");
        }
        free(buf);
    } else {
        snprintf(err, 256, "unknown header '%s'", header);
        ok = false;
    }
    conf_pool_free(&pool);
    return ok;
}

/* ---- driver ---------------------------------------------------------------------------------- */

typedef struct conf_counts {
    char group[256];
    unsigned passed, expected_fail, failed;
} conf_counts;

typedef struct conf_xfail {
    cj *root;
    const cj *entries;
    bool *seen;
} conf_xfail;

static char *conf_read(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    cj_buf b = {0};
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) cj_buf_raw(&b, tmp, n);
    fclose(f);
    if (!b.p) cj_buf_raw(&b, "", 0);
    *len = b.n;
    return b.p;
}

static int conf_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect the .json files below `dir`, sorted, relative paths. */
static void conf_list(const char *root, const char *rel, char ***files, size_t *n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) {
            *files = realloc(*files, (*n + 1) * sizeof **files);
            (*files)[(*n)++] = strdup(sub);
        } else {
            char full[8192];
            snprintf(full, sizeof full, "%s/%s", root, sub);
            DIR *t = opendir(full);
            if (t) {
                closedir(t);
                conf_list(root, sub, files, n);
            }
        }
    }
    closedir(d);
    qsort(*files, *n, sizeof **files, conf_cmp);
}

static long conf_xfail_find(const conf_xfail *xf, const char *name) {
    if (!xf->entries) return -1;
    long k = 0;
    for (const cj *e = xf->entries->child; e; e = e->next, k++)
        if (strcmp(cj_str(e, "case", "", NULL), name) == 0) return k;
    return -1;
}

/* Describe the first difference between expected and actual. */
static void conf_diff(const cj *exp, const cj *act, char *detail, size_t cap) {
    if (exp && act && exp->type == CJ_OBJECT && act->type == CJ_OBJECT) {
        for (const cj *e = exp->child; e; e = e->next) {
            const cj *a = cj_get(act, e->key);
            if (!a || !cj_equal(e, a)) {
                const char *as = a && a->type == CJ_STRING ? a->str : "";
                const char *es = e->type == CJ_STRING ? e->str : "";
                size_t at = 0;
                while (as[at] && es[at] && as[at] == es[at]) at++;
                snprintf(detail, cap, "expected.%s differs (first difference at char %zu)", e->key,
                         at);
                return;
            }
        }
    }
    snprintf(detail, cap, "outputs differ");
}

/* Read "<ptel_json_message> <hex>" lines, write one line of canonical JSON
 * (or "ERROR <status>") each: the oracle compares these with the official
 * OTLP definitions. */
static int conf_render(void) {
    static char line[1 << 24];
    while (fgets(line, sizeof line, stdin)) {
        conf_pool pool = {0};
        char *sp = strchr(line, ' ');
        size_t hl = 0, n = 0;
        if (sp) {
            hl = strcspn(sp + 1, "\r\n");
        }
        const uint8_t *data = sp ? conf_unhex(&pool, sp + 1, hl, &n) : NULL;
        char *json = NULL;
        size_t json_len = 0;
        int rc = data ? ptel_json_render_alloc(&json, &json_len, (uint32_t)atoi(line), data, n,
                                               NULL, NULL)
                      : PTEL_E_INVALID_ARGUMENT;
        if (rc == 0) {
            fwrite(json, 1, json_len, stdout);
            fputc('\n', stdout);
            ptel_json_free(json, json_len, NULL);
        } else {
            printf("ERROR %s\n", ptel_status_name(rc));
        }
        conf_pool_free(&pool);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--render") == 0) return conf_render();
    bool emit = argc >= 2 && strcmp(argv[1], "--emit") == 0;
    if ((emit && argc != 3) || (!emit && (argc < 3 || argc > 4))) {
        fprintf(stderr,
                "usage: %s <vectors-dir> <results.json> [expected-failures.json]\n"
                "       %s --emit <vectors-dir>\n",
                argv[0], argv[0]);
        return 2;
    }
    const char *root = emit ? argv[2] : argv[1];
    conf_xfail xf = {0};
    char err[256] = {0};
    if (!emit && argc == 4) {
        size_t len = 0;
        char *text = conf_read(argv[3], &len);
        if (!text || !(xf.root = cj_parse(text, len, err))) {
            fprintf(stderr, "%s: %s\n", argv[3], text ? err : "cannot read");
            return 2;
        }
        free(text);
        xf.entries = cj_get(xf.root, "entries");
        xf.seen = calloc(xf.entries ? xf.entries->count + 1 : 1, sizeof *xf.seen);
    }
    char **files = NULL;
    size_t nfiles = 0;
    conf_list(root, "", &files, &nfiles);
    if (!nfiles) {
        fprintf(stderr, "%s: no vector files\n", root);
        return 2;
    }
    conf_counts *counts = calloc(nfiles, sizeof *counts);
    cj_buf failures = {0};
    cj_buf_raw(&failures, "", 0);
    unsigned nfail = 0;
    int status = 0;
    for (size_t fi = 0; fi < nfiles; fi++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", root, files[fi]);
        size_t len = 0;
        char *text = conf_read(path, &len);
        cj *doc = text ? cj_parse(text, len, err) : NULL;
        free(text);
        conf_counts *cnt = &counts[fi];
        snprintf(cnt->group, sizeof cnt->group, "%.*s", (int)(strlen(files[fi]) - 5), files[fi]);
        if (!doc) {
            fprintf(stderr, "%s: %s\n", path, err);
            status = 1;
            cnt->failed++;
            continue;
        }
        const char *kind = cnt->group;
        bool (*run)(const cj *, cj_buf *, char *) = NULL;
        if (strncmp(kind, "scenarios/", 10) == 0)
            run = conf_scenario;
        else if (strncmp(kind, "host/", 5) == 0)
            run = conf_host;
        else if (strncmp(kind, "w3c/", 4) == 0)
            run = conf_w3c;
        const cj *cases = cj_get(doc, "cases");
        for (const cj *c = cases ? cases->child : NULL; c && run; c = c->next) {
            const char *id = cj_str(c, "id", "", NULL);
            char name[512];
            snprintf(name, sizeof name, "%s/%s", cnt->group, id);
            cj_buf act = {0};
            err[0] = 0;
            bool ran = run(c, &act, err);
            if (emit) {
                printf("{\"group\":");
                cj_buf line = {0};
                cj_buf_string(&line, cnt->group, strlen(cnt->group));
                cj_buf_cstr(&line, ",\"id\":");
                cj_buf_string(&line, id, strlen(id));
                if (ran) {
                    cj_buf_cstr(&line, ",\"actual\":");
                    cj_buf_raw(&line, act.p, act.n);
                } else {
                    cj_buf_cstr(&line, ",\"error\":");
                    cj_buf_string(&line, err, strlen(err));
                }
                printf("%s}\n", line.p);
                free(line.p);
                free(act.p);
                continue;
            }
            char detail[512] = "";
            bool pass = false;
            if (!ran) {
                snprintf(detail, sizeof detail, "%s", err);
            } else {
                cj *a = cj_parse(act.p, act.n, err);
                const cj *e = cj_get(c, "expected");
                if (!a)
                    snprintf(detail, sizeof detail, "actual output is not JSON: %s", err);
                else if (!e)
                    snprintf(detail, sizeof detail, "case has no expected outputs");
                else if (cj_equal(e, a))
                    pass = true;
                else
                    conf_diff(e, a, detail, sizeof detail);
                cj_free(a);
            }
            free(act.p);
            long xi = conf_xfail_find(&xf, name);
            if (xi >= 0) xf.seen[xi] = true;
            if (pass && xi < 0) {
                cnt->passed++;
                continue;
            }
            if (!pass && xi >= 0) {
                cnt->expected_fail++;
                continue;
            }
            if (pass) snprintf(detail, sizeof detail, "listed as an expected failure but passes");
            cnt->failed++;
            cj_buf_cstr(&failures, nfail++ ? ",\n  " : "\n  ");
            cj_buf_cstr(&failures, "{\"column\":\"c\",\"case\":");
            cj_buf_string(&failures, name, strlen(name));
            cj_buf_cstr(&failures, ",\"detail\":");
            cj_buf_string(&failures, detail, strlen(detail));
            cj_buf_cstr(&failures, "}");
            fprintf(stderr, "FAIL %s: %s\n", name, detail);
        }
        cj_free(doc);
    }
    if (!emit) {
        long k = 0;
        for (const cj *e = xf.entries ? xf.entries->child : NULL; e; e = e->next, k++) {
            if (xf.seen[k]) continue;
            const char *name = cj_str(e, "case", "", NULL);
            cj_buf_cstr(&failures, nfail++ ? ",\n  " : "\n  ");
            cj_buf_cstr(&failures, "{\"column\":\"c\",\"case\":");
            cj_buf_string(&failures, name, strlen(name));
            cj_buf_cstr(&failures, ",\"detail\":\"expected failure names no case\"}");
            fprintf(stderr, "FAIL %s: expected failure names no case\n", name);
            for (size_t fi = 0; fi < nfiles; fi++)
                if (strncmp(name, counts[fi].group, strlen(counts[fi].group)) == 0)
                    counts[fi].failed++;
        }
        cj_buf res = {0};
        cj_buf_cstr(&res, "{\"format\":\"ptel-conformance-results/1\",\n \"columns\":{\"c\":{");
        for (size_t fi = 0; fi < nfiles; fi++) {
            char line[512];
            snprintf(line, sizeof line,
                     "%s\n  \"%s\":{\"passed\":%u,\"expected_fail\":%u,\"failed\":%u}",
                     fi ? "," : "", counts[fi].group, counts[fi].passed, counts[fi].expected_fail,
                     counts[fi].failed);
            cj_buf_cstr(&res, line);
        }
        cj_buf_cstr(&res, "}},\n \"failures\":[");
        cj_buf_raw(&res, failures.p, failures.n);
        cj_buf_cstr(&res, "]}\n");
        FILE *f = fopen(argv[2], "wb");
        if (!f || fwrite(res.p, 1, res.n, f) != res.n || fclose(f) != 0) {
            fprintf(stderr, "%s: cannot write\n", argv[2]);
            return 2;
        }
        free(res.p);
    }
    for (size_t fi = 0; fi < nfiles; fi++) free(files[fi]);
    free(files);
    free(counts);
    free(failures.p);
    cj_free(xf.root);
    free(xf.seen);
    return status;
}
