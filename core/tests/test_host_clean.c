/* The clean check: the single walk that lets a span pass without the full
 * validation. It must never call a span clean that the full validation
 * would change (checked case by case and over the fuzz corpus, against an
 * invocation that runs the full validation on every span), and it should
 * recognise the canonical spans the recorder writes. */
#include "host_internal.h"
#include "test_host_util.h"

#include <dirent.h>
#include <stdio.h>

#define T(x) (FX_T0 + (x))

static const uint8_t S1[8] = {1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t S2[8] = {2, 2, 2, 2, 2, 2, 2, 2};

/* What one end gives: status, report, exports (malloc'd). */
typedef struct result {
    int rc;
    ptel_report rep;
    uint8_t *traces;
    size_t tn;
    uint8_t *metrics;
    size_t mn;
    uint32_t wrong;  /* clean, yet changed by the full validation */
    uint32_t missed; /* kept unchanged, not called clean */
} result;

static void result_free(result *r) {
    free(r->traces);
    free(r->metrics);
}

static void run(const uint8_t *data, size_t len, const ptel_host_policy *pol, bool full,
                result *out) {
    fx f;
    ptel_invocation_options o;
    fx_options(&o, &f, pol);
    ptel_invocation *inv = NULL;
    memset(out, 0, sizeof *out);
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    if (!inv) return;
    inv->full_check = full;
    f.mono += 2000000000u; /* 2 s */
    out->rc = ptel_invocation_end(inv, data, len, PTEL_OUTCOME_TIMEOUT, NULL, 0, &out->rep, NULL);
    out->traces = fx_export_traces(inv, NULL, &out->tn);
    out->metrics = fx_export_metrics(inv, NULL, &out->mn);
    out->wrong = inv->clean_wrong;
    out->missed = inv->clean_missed;
    ptel_invocation_free(inv);
}

/* Both ways give the same bytes and report; the clean check is never
 * wrong. Returns the number of spans it missed. */
static uint32_t differential(const uint8_t *data, size_t len, const ptel_host_policy *pol,
                             const char *what) {
    result fast, full;
    run(data, len, pol, false, &fast);
    run(data, len, pol, true, &full);
    bool same = fast.rc == full.rc && memcmp(&fast.rep, &full.rep, sizeof fast.rep) == 0 &&
                fast.tn == full.tn && (!fast.tn || !memcmp(fast.traces, full.traces, fast.tn)) &&
                fast.mn == full.mn && (!fast.mn || !memcmp(fast.metrics, full.metrics, fast.mn));
    CHECK(same);
    CHECK_EQ_INT(full.wrong, 0);
    if (!same || full.wrong) fprintf(stderr, "  differs: %s\n", what);
    uint32_t missed = full.missed;
    result_free(&fast);
    result_free(&full);
    return missed;
}

/* The fuzzer's two policies. */
static ptel_host_policy small_policy(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.limits.attribute_count = 3;
    pol.limits.attribute_value_length = 8;
    pol.limits.attribute_depth = 2;
    pol.limits.event_count = 2;
    pol.limits.link_count = 2;
    pol.limits.attributes_per_event = 2;
    pol.limits.attributes_per_link = 2;
    pol.limits.span_count = 4;
    pol.limits.metric_count = 3;
    pol.limits.metric_cardinality = 2;
    pol.limits.payload_bytes = 4096;
    pol.time_policy = PTEL_TIME_REJECT;
    pol.time_slack_ns = 0;
    return pol;
}

/* ---- the fuzz corpus ----------------------------------------------------------------- */

static void t_corpus(void) {
    const char *dir = PTEL_SOURCE_DIR "/fuzz/corpus/telemetry";
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d) return;
    ptel_host_policy def, small = small_policy();
    ptel_host_policy_init(&def);
    uint32_t files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *fp = fopen(path, "rb");
        if (!fp) continue;
        uint8_t *buf = malloc(1 << 20);
        size_t n = fread(buf, 1, 1 << 20, fp);
        fclose(fp);
        differential(buf, n, &def, e->d_name);
        differential(buf, n, &small, e->d_name);
        /* Every prefix too: truncations hit every wire error. */
        for (size_t cut = 0; cut < n && cut < 4096; cut++) {
            differential(buf, cut, &def, e->d_name);
            differential(buf, cut, &small, e->d_name);
        }
        free(buf);
        files++;
    }
    closedir(d);
    CHECK(files >= 5);
}

/* ---- one span at a time --------------------------------------------------------------- */

/* A KeyValue with raw key and value bodies. */
static void kv_raw(pb *s, uint32_t field, const void *key, size_t key_len, const pb *value) {
    pb kv;
    pb_init(&kv);
    pb_bytes(&kv, 1, key, key_len);
    if (value) pb_bytes(&kv, 2, value->b, value->n);
    pb_msg(s, field, &kv);
}

static void attr_value(pb *s, const char *key, void (*fill)(pb *)) {
    pb v;
    pb_init(&v);
    fill(&v);
    kv_raw(s, 9, key, strlen(key), &v);
    pb_free(&v);
}

static void v_long_string(pb *v) {
    char buf[300];
    memset(buf, 'x', sizeof buf);
    pb_bytes(v, 1, buf, sizeof buf); /* two-byte length */
}
static void v_negative(pb *v) { pb_uint(v, 3, (uint64_t)-5); /* ten-byte varint */ }
static void v_big_int(pb *v) { pb_uint(v, 3, 1ull << 40); }
static void v_bool2(pb *v) { pb_uint(v, 2, 2); }
static void v_two_members(pb *v) {
    pb_uint(v, 3, 1);
    pb_str(v, 1, "x");
}
static void v_empty(pb *v) { (void)v; }
static void v_unknown(pb *v) {
    pb_str(v, 1, "x");
    pb_uint(v, 9, 1);
}
static void v_double(pb *v) { pb_double(v, 4, 1.5); }
static void v_bytes(pb *v) { pb_bytes(v, 7, "\x00\xff", 2); }
static void v_string_utf8(pb *v) { pb_str(v, 1, "caf\xc3\xa9"); }
static void v_string_bad(pb *v) { pb_str(v, 1, "caf\xc3"); }
static void v_double_wt(pb *v) { pb_uint(v, 4, 1); /* a double as a varint: malformed */ }
static void v_array(pb *v) {
    pb arr, e1, e2;
    pb_init(&arr);
    pb_init(&e1);
    pb_init(&e2);
    pb_str(&e1, 1, "a");
    pb_uint(&e2, 3, 7);
    pb_msg(&arr, 1, &e1);
    pb_msg(&arr, 1, &e2);
    pb_msg(v, 5, &arr);
}
static void v_kvlist(pb *v) {
    pb list;
    pb_init(&list);
    pb_attr_str(&list, 1, "a", "1");
    pb_attr_int(&list, 1, "b", 2);
    pb_msg(v, 6, &list);
}
static void v_kvlist_dup(pb *v) {
    pb list;
    pb_init(&list);
    pb_attr_str(&list, 1, "a", "1");
    pb_attr_int(&list, 1, "a", 2);
    pb_msg(v, 6, &list);
}
static void v_kvlist_reserved(pb *v) {
    /* Reserved keys apply to attribute lists, not inside values. */
    pb list;
    pb_init(&list);
    pb_attr_str(&list, 1, "service.name", "1");
    pb_msg(v, 6, &list);
}
/* v becomes AnyValue{array_value{values: v}}. */
static void wrap_array_into(pb *v) {
    pb arr, any;
    pb_init(&arr);
    pb_init(&any);
    pb_msg(&arr, 1, v);
    pb_msg(&any, 5, &arr);
    *v = any;
}

static void v_deep(pb *v) {
    pb_uint(v, 3, 1);
    for (int k = 0; k < 9; k++) wrap_array_into(v);
}

/* The cases: a span "x" with `add`'s fields. */
typedef struct clean_case {
    const char *name;
    void (*add)(pb *);
    bool modified; /* the full validation changes or drops something */
    bool clean;    /* the clean check is expected to recognise it (when not modified) */
} clean_case;

static void c_plain(pb *s) { pb_attr_str(s, 9, "k", "v"); }
static void c_long_string(pb *s) { attr_value(s, "k", v_long_string); }
static void c_negative(pb *s) { attr_value(s, "k", v_negative); }
static void c_big_int(pb *s) { attr_value(s, "k", v_big_int); }
static void c_bool2(pb *s) { attr_value(s, "k", v_bool2); }
static void c_two_members(pb *s) { attr_value(s, "k", v_two_members); }
static void c_empty_value(pb *s) { attr_value(s, "k", v_empty); }
static void c_unknown_in_value(pb *s) { attr_value(s, "k", v_unknown); }
static void c_double(pb *s) { attr_value(s, "k", v_double); }
static void c_bytes(pb *s) { attr_value(s, "k", v_bytes); }
static void c_string_utf8(pb *s) { attr_value(s, "k", v_string_utf8); }
static void c_string_bad(pb *s) { attr_value(s, "k", v_string_bad); }
static void c_array(pb *s) { attr_value(s, "k", v_array); }
static void c_kvlist(pb *s) { attr_value(s, "k", v_kvlist); }
static void c_kvlist_dup(pb *s) { attr_value(s, "k", v_kvlist_dup); }
static void c_kvlist_reserved(pb *s) { attr_value(s, "k", v_kvlist_reserved); }
static void c_deep(pb *s) { attr_value(s, "k", v_deep); }
static void c_no_value(pb *s) { kv_raw(s, 9, "k", 1, NULL); }
static void c_empty_key(pb *s) { pb_attr_str(s, 9, "", "v"); }
static void c_bad_key(pb *s) { pb_attr_str(s, 9, "k\xff", "v"); }
static void c_utf8_key(pb *s) { pb_attr_str(s, 9, "cl\xc3\xa9", "v"); }
static void c_reserved(pb *s) { pb_attr_str(s, 9, "service.name", "v"); }
static void c_reserved_prefix(pb *s) { pb_attr_str(s, 9, "telemetry.sdk.name", "v"); }
static void c_not_reserved(pb *s) {
    pb_attr_str(s, 9, "service.names", "v");
    pb_attr_str(s, 9, "telemetry.sdk", "v");
    pb_attr_str(s, 9, "plugin.hook2", "v");
}
static void c_value_first(pb *s) {
    /* KeyValue{value, key}: out of order but nothing to change. */
    pb kv, v;
    pb_init(&kv);
    pb_init(&v);
    pb_str(&v, 1, "v");
    pb_msg(&kv, 2, &v);
    pb_str(&kv, 1, "k");
    pb_msg(s, 9, &kv);
}
static void c_key_twice(pb *s) {
    pb kv;
    pb_init(&kv);
    pb_str(&kv, 1, "k");
    pb_str(&kv, 1, "k");
    pb_msg(s, 9, &kv);
}
static void c_kv_unknown(pb *s) {
    pb kv;
    pb_init(&kv);
    pb_str(&kv, 1, "k");
    pb_uint(&kv, 3, 1);
    pb_msg(s, 9, &kv);
}
static void c_dup_short(pb *s) {
    pb_attr_str(s, 9, "ab", "1");
    pb_attr_str(s, 9, "ba", "2");
    pb_attr_str(s, 9, "ab", "3");
}
static void c_near_dups(pb *s) {
    /* Same length, same first and last 8 bytes, different middles. */
    pb_attr_str(s, 9, "aaaaaaaaXbbbbbbbb", "1");
    pb_attr_str(s, 9, "aaaaaaaaYbbbbbbbb", "2");
    pb_attr_str(s, 9, "abc", "3");
    pb_attr_str(s, 9, "abd", "4");
    pb_attr_str(s, 9, "abcdefg", "5");
    pb_attr_str(s, 9, "abcdefh", "6");
}
static void c_dup_long(pb *s) {
    pb_attr_str(s, 9, "aaaaaaaaXbbbbbbbb", "1");
    pb_attr_str(s, 9, "aaaaaaaaXbbbbbbbb", "2");
}
static void many_keys(pb *s, int n, int dup_of) {
    for (int k = 0; k < n; k++) {
        char key[16];
        snprintf(key, sizeof key, "key.%d", k == n - 1 && dup_of >= 0 ? dup_of : k);
        pb_attr_int(s, 9, key, k);
    }
}
static void c_many(pb *s) { many_keys(s, 40, -1); }
static void c_many_dup(pb *s) { many_keys(s, 40, 3); }
static void c_many_dup_late(pb *s) { many_keys(s, 40, 30); }
static void c_at_limit(pb *s) { many_keys(s, 128, -1); }
static void c_over_limit(pb *s) { many_keys(s, 129, -1); }
static void event(pb *s, uint64_t time, const char *name, int attrs, bool extra) {
    pb e;
    pb_init(&e);
    if (time) pb_fixed64(&e, 1, time);
    pb_str(&e, 2, name);
    for (int k = 0; k < attrs; k++) {
        char key[8] = {'e', (char)('a' + k), 0};
        pb_attr_int(&e, 3, key, k);
    }
    if (extra) pb_uint(&e, 4, 1ull << 33);
    pb_msg(s, 11, &e);
}
static void c_event(pb *s) { event(s, T(10), "ev", 2, false); }
static void c_event_no_time(pb *s) { event(s, 0, "ev", 0, false); }
static void c_event_late(pb *s) { event(s, T(5000000000u), "ev", 0, false); }
static void c_event_dropped_big(pb *s) { event(s, T(10), "ev", 0, true); }
static void c_event_bad_name(pb *s) { event(s, T(10), "\xff", 0, false); }
static void c_events_many(pb *s) {
    for (int k = 0; k < 129; k++) event(s, T(10), "ev", 0, false);
}
static void c_event_dup_attr(pb *s) {
    pb e;
    pb_init(&e);
    pb_fixed64(&e, 1, T(10));
    pb_attr_int(&e, 3, "a", 1);
    pb_attr_int(&e, 3, "a", 2);
    pb_msg(s, 11, &e);
}
static void link(pb *s, const uint8_t *trace, const uint8_t *span, bool flags, bool twice) {
    pb l;
    pb_init(&l);
    pb_bytes(&l, 1, trace, 16);
    pb_bytes(&l, 2, span, 8);
    pb_str(&l, 3, "k=v");
    pb_attr_str(&l, 4, "la", "1");
    if (flags) pb_fixed32(&l, 6, 0x101);
    if (twice) pb_bytes(&l, 2, span, 8);
    pb_msg(s, 13, &l);
}
static const uint8_t OTHER_TRACE[16] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
static const uint8_t ZERO16[16] = {0};
static void c_link(pb *s) { link(s, OTHER_TRACE, S2, true, false); }
static void c_link_zero(pb *s) { link(s, ZERO16, S2, false, false); }
static void c_link_twice(pb *s) { link(s, OTHER_TRACE, S2, false, true); }
static void c_unknown_span_field(pb *s) { pb_uint(s, 40, 1); }
static void c_repeated_name(pb *s) { pb_str(s, 5, "again"); }
static void c_status(pb *s) {
    pb st;
    pb_init(&st);
    pb_str(&st, 2, "why");
    pb_uint(&st, 3, 2);
    pb_msg(s, 15, &st);
    pb_fixed32(s, 16, 0x301);
}
static void c_status_unknown(pb *s) {
    pb st;
    pb_init(&st);
    pb_uint(&st, 7, 2);
    pb_msg(s, 15, &st);
}
static void c_dropped_counts(pb *s) {
    pb_uint(s, 10, 3);
    pb_uint(s, 12, 300);
    pb_uint(s, 14, 70000);
}

static const clean_case CASES[] = {
    {"plain", c_plain, false, true},
    {"long string", c_long_string, false, true},
    {"negative int", c_negative, false, true},
    {"big int", c_big_int, false, true},
    {"bool 2", c_bool2, true, false},
    {"two members", c_two_members, true, false},
    {"empty value", c_empty_value, false, true},
    {"unknown in value", c_unknown_in_value, true, false},
    {"double", c_double, false, true},
    {"bytes", c_bytes, false, true},
    {"utf8 string", c_string_utf8, false, true},
    {"bad string", c_string_bad, true, false},
    {"array", c_array, false, true},
    {"kvlist", c_kvlist, false, true},
    {"kvlist dup", c_kvlist_dup, true, false},
    {"kvlist reserved", c_kvlist_reserved, false, true},
    {"too deep", c_deep, true, false},
    {"no value", c_no_value, false, true},
    {"empty key", c_empty_key, true, false},
    {"bad key", c_bad_key, true, false},
    {"utf8 key", c_utf8_key, false, true},
    {"reserved", c_reserved, true, false},
    {"reserved prefix", c_reserved_prefix, true, false},
    {"not reserved", c_not_reserved, false, true},
    {"value first", c_value_first, false, true},
    {"key twice", c_key_twice, true, false},
    {"kv unknown", c_kv_unknown, true, false},
    {"dup short", c_dup_short, true, false},
    {"near dups", c_near_dups, false, true},
    {"dup long", c_dup_long, true, false},
    {"many", c_many, false, true},
    {"many dup", c_many_dup, true, false},
    {"many dup late", c_many_dup_late, true, false},
    {"at limit", c_at_limit, false, true},
    {"over limit", c_over_limit, true, false},
    {"event", c_event, false, true},
    {"event no time", c_event_no_time, true, false},
    {"event late", c_event_late, true, false},
    {"event dropped > 32 bits", c_event_dropped_big, true, false},
    {"event bad name", c_event_bad_name, true, false},
    {"events many", c_events_many, true, false},
    {"event dup attr", c_event_dup_attr, true, false},
    {"link", c_link, false, true},
    {"link zero", c_link_zero, true, false},
    {"link twice", c_link_twice, true, false},
    {"unknown span field", c_unknown_span_field, true, false},
    {"repeated name", c_repeated_name, true, false},
    {"status", c_status, false, true},
    {"status unknown", c_status_unknown, true, false},
    {"dropped counts", c_dropped_counts, false, true},
};

static void t_cases(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
        const clean_case *cc = &CASES[k];
        pb p, s;
        fx_payload(&p);
        fx_span(&s, S1, FX_INV, "x", T(1), T(2));
        cc->add(&s);
        pb_msg(&p, 2, &s);
        result r;
        run(p.b, p.n, &pol, false, &r);
        CHECK_EQ_INT(r.rc, 0);
        bool modified = r.rep.spans_modified == 1 || r.rep.spans_dropped == 1;
        CHECK(modified == cc->modified);
        if (modified != cc->modified)
            fprintf(stderr, "  case %s: modified %d\n", cc->name, modified);
        result_free(&r);
        uint32_t missed = differential(p.b, p.n, &pol, cc->name);
        /* An unchanged span the check should know as clean. */
        if (!cc->modified && cc->clean) {
            CHECK_EQ_INT(missed, 0);
            if (missed) fprintf(stderr, "  case %s: missed\n", cc->name);
        }
        pb_free(&p);
    }
}

/* The recorder's spans, every value type and events and links included,
 * pass the clean check: no span needs the full validation. */
static void t_recorder_spans(void) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    ptel_recorder_options ro;
    ptel_recorder_options_init(&ro);
    ro.clock.monotonic_ns = fx_mono;
    ro.clock.realtime_ns = fx_real;
    ro.clock.ud = &f;
    ptel_recorder *rec = NULL;
    CHECK_EQ_INT(ptel_recorder_new(&rec, ptel_invocation_context(inv), &ro), 0);
    if (!rec) {
        ptel_invocation_free(inv);
        return;
    }
    ptel_value arr[2] = {{PTEL_VALUE_STRING, 0, 0, 0, {"a", 1}, NULL, NULL},
                         {PTEL_VALUE_INT, 0, -7, 0, {NULL, 0}, NULL, NULL}};
    ptel_attr kvs[2] = {{{"x", 1}, {PTEL_VALUE_BOOL, 0, 1, 0, {NULL, 0}, NULL, NULL}},
                        {{"y", 1}, {PTEL_VALUE_DOUBLE, 0, 0, 2.5, {NULL, 0}, NULL, NULL}}};
    char big[200];
    memset(big, 'b', sizeof big);
    ptel_attr attrs[8] = {
        {{"s", 1}, {PTEL_VALUE_STRING, 0, 0, 0, {"v\xc3\xa9", 3}, NULL, NULL}},
        {{"i", 1}, {PTEL_VALUE_INT, 0, -123456789, 0, {NULL, 0}, NULL, NULL}},
        {{"d", 1}, {PTEL_VALUE_DOUBLE, 0, 0, 0.25, {NULL, 0}, NULL, NULL}},
        {{"b", 1}, {PTEL_VALUE_BOOL, 0, 0, 0, {NULL, 0}, NULL, NULL}},
        {{"y", 1}, {PTEL_VALUE_BYTES, 0, 0, 0, {"\x01\x02", 2}, NULL, NULL}},
        {{"a", 1}, {PTEL_VALUE_ARRAY, 2, 0, 0, {NULL, 0}, arr, NULL}},
        {{"m", 1}, {PTEL_VALUE_KVLIST, 2, 0, 0, {NULL, 0}, NULL, kvs}},
        {{"big.value.key.name", 18}, {PTEL_VALUE_STRING, 0, 0, 0, {big, sizeof big}, NULL, NULL}},
    };
    ptel_span *first = NULL;
    for (int k = 0; k < 30; k++) {
        ptel_span *sp = NULL;
        CHECK_EQ_INT(ptel_span_start(&sp, rec, first, "op", 2, PTEL_SPAN_KIND_SERVER, 0), 0);
        CHECK_EQ_INT(ptel_span_set_attributes(sp, attrs, (size_t)(k % 9)), 0);
        CHECK_EQ_INT(ptel_span_add_event(sp, "e", 1, 0, attrs, 3), 0);
        if (first) {
            ptel_span_context lc;
            ptel_span_get_context(first, &lc);
            CHECK_EQ_INT(ptel_span_add_link(sp, &lc, "k=v", 3, attrs, 2), 0);
        }
        CHECK_EQ_INT(ptel_span_set_status(sp, PTEL_STATUS_ERROR, "bad", 3), 0);
        f.mono += 10;
        if (!first)
            first = sp;
        else
            CHECK_EQ_INT(ptel_span_end(sp, 0), 0);
    }
    CHECK_EQ_INT(ptel_span_end(first, 0), 0);
    const uint8_t *p = NULL;
    size_t n = 0;
    CHECK_EQ_INT(ptel_recorder_finish(rec, &p, &n), 0);
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    result r;
    run(p, n, &pol, false, &r);
    CHECK_EQ_INT(r.rep.spans_accepted, 30);
    CHECK_EQ_INT(r.rep.spans_modified, 0);
    result_free(&r);
    CHECK_EQ_INT(differential(p, n, &pol, "recorder spans"), 0);
    ptel_recorder_free(rec);
    ptel_invocation_free(inv);
}

/* A wire error inside the attributes: the clean check only says no; the
 * full validation rejects the payload when the span is kept, and a dropped
 * span's attributes are never inspected. */
static void t_wire_errors(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    for (int dropped = 0; dropped < 2; dropped++) {
        pb p, s;
        fx_payload(&p);
        /* Dropped: the parent is unknown. */
        fx_span(&s, S1, dropped ? S2 : FX_INV, "x", T(1), T(2));
        attr_value(&s, "k", v_double_wt);
        pb_msg(&p, 2, &s);
        result r;
        run(p.b, p.n, &pol, false, &r);
        CHECK_EQ_INT(r.rc, dropped ? 0 : PTEL_E_REJECTED);
        CHECK_EQ_INT(r.rep.reasons[PTEL_REASON_MALFORMED], dropped ? 0 : 1);
        CHECK_EQ_INT(r.rep.reasons[PTEL_REASON_PARENT_UNKNOWN], dropped ? 1 : 0);
        result_free(&r);
        differential(p.b, p.n, &pol, "wire error");
        pb_free(&p);
    }
}

/* The first plugin span of a traces export (body copied into *out): the
 * first span of the second ScopeSpans (the first is the host's). */
static bool exported_span(const uint8_t *req, size_t n, pb *out) {
    static const uint32_t scopes[] = {1, 2, 0}, span[] = {2, 0};
    ptel__field ss, f;
    if (!req || !pb_find(req, n, scopes, 1, &ss) || !pb_find(ss.data, ss.len, span, 0, &f))
        return false;
    out->n = 0;
    pb_raw(out, f.data, f.len);
    return true;
}

/* Repeated keys, first occurrence wins: lists short enough to compare pair
 * by pair and long ones that are sorted, in span attributes and in kvlist
 * values, give exactly the expected spans. */
static void t_duplicate_keys(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    for (int big = 0; big < 2; big++) {
        int n = big ? 30 : 10;
        pb p, s, want;
        fx_payload(&p);
        fx_span(&s, S1, FX_INV, "x", T(1), T(2));
        fx_span(&want, S1, FX_INV, "x", T(1), T(2));
        uint32_t dropped = 0;
        for (int k = 0; k < n; k++) {
            /* Entry n-5 repeats the key of entry 3, entry n-1 that of entry 7. */
            int name = k == n - 5 ? 3 : k == n - 1 ? 7 : k;
            char key[16];
            snprintf(key, sizeof key, "key.%d", name);
            pb_attr_int(&s, 9, key, k);
            if (k == n - 5 || k == n - 1)
                dropped++;
            else
                pb_attr_int(&want, 9, key, k);
        }
        /* A kvlist value with a repeated key inside: the attribute goes. */
        pb v, list;
        pb_init(&v);
        pb_init(&list);
        for (int k = 0; k < n; k++) {
            char key[16];
            snprintf(key, sizeof key, "in.%d", k == n - 1 ? 0 : k);
            pb_attr_int(&list, 1, key, k);
        }
        pb_msg(&v, 6, &list);
        kv_raw(&s, 9, "list", 4, &v);
        pb_free(&v);
        dropped++;
        pb_uint(&want, 10, dropped);
        pb_msg(&p, 2, &s);
        result r;
        run(p.b, p.n, &pol, false, &r);
        CHECK_EQ_INT(r.rc, 0);
        CHECK_EQ_INT(r.rep.reasons[PTEL_REASON_DUPLICATE_KEY], 3);
        CHECK_EQ_INT(r.rep.spans_modified, 1);
        pb got;
        pb_init(&got);
        if (exported_span(r.traces, r.tn, &got))
            CHECK_BYTES(got.b, got.n, want.b, want.n);
        else
            CHECK(!"no plugin span exported");
        pb_free(&got);
        pb_free(&want);
        result_free(&r);
        differential(p.b, p.n, &pol, big ? "dups, sorted" : "dups, pairs");
        pb_free(&p);
    }
}

int main(void) {
    RUN(t_cases);
    RUN(t_duplicate_keys);
    RUN(t_wire_errors);
    RUN(t_recorder_spans);
    RUN(t_corpus);
    return test_summary();
}
