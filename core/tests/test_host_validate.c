/* Host validation of PluginTelemetry: the wire rules that reject a whole
 * payload, and every span-level rule with its reason code. */
#include "test_host_util.h"

static const uint8_t S1[8] = {1, 1, 1, 1, 1, 1, 1, 1};
static const uint8_t S2[8] = {2, 2, 2, 2, 2, 2, 2, 2};
static const uint8_t S3[8] = {3, 3, 3, 3, 3, 3, 3, 3};
static const uint8_t S4[8] = {4, 4, 4, 4, 4, 4, 4, 4};
static const uint8_t ZERO8[8] = {0};
static const uint32_t P_SPAN[] = {1, 2, 2, 0};

#define T(x) (FX_T0 + (x))

/* The nth accepted plugin span as exported (body copied into *out). */
static bool plugin_span(const ptel_invocation *inv, uint32_t nth, pb *out) {
    ptel_export_options o;
    ptel_export_options_init(&o);
    o.include_invocation_span = false;
    size_t len;
    uint8_t *buf = fx_export_traces(inv, &o, &len);
    ptel__field f;
    bool ok = buf && pb_find(buf, len, P_SPAN, nth, &f);
    pb_init(out);
    if (ok) pb_raw(out, f.data, f.len);
    free(buf);
    return ok;
}

static uint32_t plugin_span_count(const ptel_invocation *inv) {
    ptel_export_options o;
    ptel_export_options_init(&o);
    o.include_invocation_span = false;
    size_t len;
    uint8_t *buf = fx_export_traces(inv, &o, &len);
    uint32_t n = buf ? pb_count(buf, len, P_SPAN) : 0;
    free(buf);
    return n;
}

/* Sum of every reason count except `except` (pass -1 for all). */
static uint32_t other_reasons(const ptel_report *r, int except) {
    uint32_t n = 0;
    for (int k = 0; k < PTEL_REASON_COUNT; k++)
        if (k != except) n += r->reasons[k];
    return n;
}

/* A payload with the single span `s` (freed). */
static void one_span(pb *p, pb *s) {
    fx_payload(p);
    pb_msg(p, 2, s);
}

/* End with a payload holding `s` and check that exactly one span was dropped
 * for `reason` and nothing else happened. */
static void expect_span_dropped(pb *s, int reason, const ptel_host_policy *policy) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, policy);
    pb p;
    one_span(&p, s);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
    CHECK_EQ_INT(rep.status, 0);
    CHECK_EQ_INT(rep.spans_dropped, 1);
    CHECK_EQ_INT(rep.spans_accepted, 0);
    CHECK_EQ_INT(rep.reasons[reason], 1);
    CHECK_EQ_INT(other_reasons(&rep, reason), 0);
    CHECK_EQ_INT(rep.first_reason, reason);
    CHECK_EQ_INT(rep.first.field, 2);
    CHECK_EQ_INT(rep.first.offset, 4); /* the span body follows 08 01 12 len */
    CHECK_EQ_INT(plugin_span_count(inv), 0);
    pb_free(&p);
    ptel_invocation_free(inv);
}

/* End with `s` and return the invocation (the span is expected kept). */
static ptel_invocation *end_one(pb *s, const ptel_host_policy *policy, ptel_report *rep, fx *f) {
    ptel_invocation *inv = fx_begin(f, policy);
    pb p;
    one_span(&p, s);
    CHECK_EQ_INT(fx_end(inv, &p, rep), 0);
    CHECK_EQ_INT(rep->spans_accepted, 1);
    /* Accepted spans point into the payload: keep it alive with copy_payload
     * or until free. The tests here use copy_payload when they export later. */
    pb_free(&p);
    return inv;
}

static ptel_host_policy copying_policy(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.copy_payload = true;
    return pol;
}

/* ---- accepted as is --------------------------------------------------------------- */

static void t_accept_verbatim(void) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    pb p, s1, s2, tmp;
    fx_payload(&p);
    /* The child comes before its parent: the order does not matter. */
    fx_span(&s2, S2, S1, "child", T(300), T(400));
    pb_attr_str(&s2, 9, "k", "v");
    pb_attr_int(&s2, 9, "n", 0);
    pb_fixed32(&s2, 16, 0x301);
    fx_span(&s1, S1, FX_INV, "parent", T(100), T(500));
    pb copy1, copy2;
    pb_init(&copy1);
    pb_init(&copy2);
    pb_raw(&copy1, s1.b, s1.n);
    pb_raw(&copy2, s2.b, s2.n);
    pb_msg(&p, 2, &s2);
    /* Unknown top-level fields, including the reserved logs and profiles. */
    pb_uint(&p, 99, 7);
    pb_str(&p, 10, "future logs");
    pb_str(&p, 11, "future profiles");
    pb_msg(&p, 2, &s1);
    pb_init(&tmp);
    pb_uint(&tmp, 1, 3);
    pb_uint(&tmp, 2, 4);
    pb_uint(&tmp, 3, 5);
    pb_uint(&tmp, 4, 6);
    pb_uint(&tmp, 9, 1); /* unknown inside DropCounts */
    pb_msg(&p, 5, &tmp);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
    CHECK_EQ_INT(rep.status, 0);
    CHECK_EQ_INT(rep.spans_accepted, 2);
    CHECK_EQ_INT(rep.spans_dropped, 0);
    CHECK_EQ_INT(rep.spans_modified, 0);
    CHECK_EQ_INT(other_reasons(&rep, -1), 0);
    CHECK_EQ_INT(rep.first_reason, -1);
    CHECK_EQ_INT(rep.plugin_dropped_spans, 3);
    CHECK_EQ_INT(rep.plugin_dropped_metrics, 4);
    CHECK_EQ_INT(rep.plugin_dropped_points, 5);
    CHECK_EQ_INT(rep.plugin_errors, 6);
    /* The export holds both spans verbatim, in payload order. */
    pb got;
    CHECK(plugin_span(inv, 0, &got));
    CHECK(got.n == copy2.n && memcmp(got.b, copy2.b, got.n) == 0);
    pb_free(&got);
    CHECK(plugin_span(inv, 1, &got));
    CHECK(got.n == copy1.n && memcmp(got.b, copy1.b, got.n) == 0);
    pb_free(&got);
    /* No copy was made: the export points into the payload's bytes. */
    size_t len;
    uint8_t *buf = fx_export_traces(inv, NULL, &len);
    CHECK(mem_contains(buf, len, copy1.b, copy1.n));
    CHECK(mem_contains(buf, len, copy2.b, copy2.n));
    free(buf);
    pb_free(&copy1);
    pb_free(&copy2);
    pb_free(&p);
    ptel_invocation_free(inv);
}

static void t_empty_payload(void) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    ptel_report rep;
    CHECK_EQ_INT(ptel_invocation_end(inv, NULL, 0, PTEL_OUTCOME_CRASH, NULL, 0, &rep, NULL), 0);
    CHECK_EQ_INT(rep.status, 0);
    CHECK_EQ_INT(other_reasons(&rep, -1), 0);
    CHECK_EQ_INT(plugin_span_count(inv), 0);
    /* Ending twice is a state error. */
    ptel_diag d = {0, 0, 0, NULL};
    CHECK_EQ_INT(ptel_invocation_end(inv, NULL, 0, 0, NULL, 0, &rep, &d), PTEL_E_STATE);
    CHECK_EQ_INT(d.status, PTEL_E_STATE);
    ptel_invocation_free(inv);
}

/* ---- whole-payload rejections ---------------------------------------------------- */

static void expect_rejected(const uint8_t *data, size_t len, int reason, int wire_status,
                            uint64_t offset, const ptel_host_policy *policy) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, policy);
    ptel_report rep;
    ptel_diag d = {0, 0, 0, NULL};
    CHECK_EQ_INT(ptel_invocation_end(inv, data, len, PTEL_OUTCOME_OK, NULL, 0, &rep, &d),
                 PTEL_E_REJECTED);
    CHECK_EQ_INT(rep.status, PTEL_E_REJECTED);
    CHECK_EQ_INT(rep.reasons[reason], 1);
    CHECK_EQ_INT(other_reasons(&rep, reason), 0);
    CHECK_EQ_INT(rep.first_reason, reason);
    CHECK_EQ_INT(rep.first.status, wire_status);
    CHECK_EQ_INT(rep.first.offset, offset);
    CHECK_EQ_INT(rep.spans_accepted, 0);
    CHECK_EQ_INT(d.status, PTEL_E_REJECTED);
    CHECK_EQ_INT(d.offset, offset);
    CHECK(d.reason != NULL);
    /* Only the invocation span remains. */
    CHECK_EQ_INT(plugin_span_count(inv), 0);
    size_t n;
    uint8_t *m = fx_export_metrics(inv, NULL, &n);
    CHECK(m == NULL);
    uint8_t *t = fx_export_traces(inv, NULL, &n);
    CHECK(t != NULL && n > 0);
    free(t);
    ptel_invocation_free(inv);
}

static void t_rejected_wire(void) {
    static const uint8_t trunc_varint[] = {0x08, 0x81};
    expect_rejected(trunc_varint, sizeof trunc_varint, PTEL_REASON_MALFORMED, PTEL_E_TRUNCATED, 0,
                    NULL);
    static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0x7f};
    expect_rejected(long_varint, sizeof long_varint, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, 0,
                    NULL);
    static const uint8_t past_end[] = {0x08, 0x01, 0x12, 0x05, 0x01};
    expect_rejected(past_end, sizeof past_end, PTEL_REASON_MALFORMED, PTEL_E_TRUNCATED, 2, NULL);
    static const uint8_t wrong_wt[] = {0x08, 0x01, 0x10, 0x01};
    expect_rejected(wrong_wt, sizeof wrong_wt, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, 2, NULL);
    static const uint8_t version_wt[] = {0x0a, 0x01, 0x01};
    expect_rejected(version_wt, sizeof version_wt, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, 0,
                    NULL);
    static const uint8_t group[] = {0x08, 0x01, 0x13, 0x14};
    expect_rejected(group, sizeof group, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, 2, NULL);
    static const uint8_t field0[] = {0x08, 0x01, 0x00, 0x01};
    expect_rejected(field0, sizeof field0, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, 2, NULL);
    static const uint8_t fixed_short[] = {0x08, 0x01, 0x59, 0x01, 0x02};
    expect_rejected(fixed_short, sizeof fixed_short, PTEL_REASON_MALFORMED, PTEL_E_TRUNCATED, 2,
                    NULL);
    static const uint8_t drops_wt[] = {0x08, 0x01, 0x2a, 0x02, 0x0a, 0x00};
    expect_rejected(drops_wt, sizeof drops_wt, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, 4, NULL);
}

static void t_rejected_nested(void) {
    /* A span whose attribute's key runs past the end of the KeyValue. */
    pb p, s;
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    static const uint8_t bad_kv[] = {0x4a, 0x03, 0x0a, 0x05, 0x61};
    pb_raw(&s, bad_kv, sizeof bad_kv);
    size_t kv_at = 4 + s.n - 3; /* offset of the key field in the payload */
    one_span(&p, &s);
    expect_rejected(p.b, p.n, PTEL_REASON_MALFORMED, PTEL_E_TRUNCATED, kv_at, NULL);
    pb_free(&p);

    /* An AnyValue string_value sent as a varint. */
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    static const uint8_t bad_any[] = {0x4a, 0x07, 0x0a, 0x01, 0x6b, 0x12, 0x02, 0x08, 0x01};
    pb_raw(&s, bad_any, sizeof bad_any);
    size_t any_at = 4 + s.n - 2;
    one_span(&p, &s);
    expect_rejected(p.b, p.n, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, any_at, NULL);
    pb_free(&p);

    /* A span name sent as fixed64. */
    pb_init(&s);
    pb_bytes(&s, 1, FX_TRACE, 16);
    pb_fixed64(&s, 5, 1);
    one_span(&p, &s);
    expect_rejected(p.b, p.n, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, 22, NULL);
    pb_free(&p);

    /* An event's attributes as a varint, deep inside a kept span. */
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    pb ev;
    pb_init(&ev);
    pb_fixed64(&ev, 1, T(1));
    pb_uint(&ev, 3, 1);
    pb_msg(&s, 11, &ev);
    one_span(&p, &s);
    expect_rejected(p.b, p.n, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, p.n - 2, NULL);
    pb_free(&p);
}

static void t_too_large(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.limits.payload_bytes = 16;
    uint8_t data[17] = {0x08, 0x01};
    expect_rejected(data, 16 - 2 + 2, PTEL_REASON_MALFORMED, PTEL_E_MALFORMED, 2, &pol);
    expect_rejected(data, 17, PTEL_REASON_TOO_LARGE, PTEL_E_LIMIT, 16, &pol);
}

static void t_version(void) {
    static const uint8_t none[] = {0x2a, 0x00};
    expect_rejected(none, sizeof none, PTEL_REASON_VERSION, PTEL_E_VERSION, 2, NULL);
    static const uint8_t two[] = {0x08, 0x02};
    expect_rejected(two, sizeof two, PTEL_REASON_VERSION, PTEL_E_VERSION, 0, NULL);
    /* Last occurrence wins, as protobuf says. */
    static const uint8_t last[] = {0x08, 0x01, 0x08, 0x00};
    expect_rejected(last, sizeof last, PTEL_REASON_VERSION, PTEL_E_VERSION, 2, NULL);
}

/* ---- spans dropped ------------------------------------------------------------------- */

static void t_trace_id_mismatch(void) {
    static const uint8_t other[16] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
    pb s;
    pb_init(&s);
    pb_bytes(&s, 1, other, 16);
    pb_bytes(&s, 2, S1, 8);
    pb_bytes(&s, 4, FX_INV, 8);
    pb_fixed64(&s, 7, T(1));
    pb_fixed64(&s, 8, T(2));
    expect_span_dropped(&s, PTEL_REASON_TRACE_ID_MISMATCH, NULL);
    /* Missing trace id. */
    pb_init(&s);
    pb_bytes(&s, 2, S1, 8);
    pb_bytes(&s, 4, FX_INV, 8);
    expect_span_dropped(&s, PTEL_REASON_TRACE_ID_MISMATCH, NULL);
    /* A forged second trace_id field: the last one counts. */
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    pb_bytes(&s, 1, other, 16);
    expect_span_dropped(&s, PTEL_REASON_TRACE_ID_MISMATCH, NULL);
    /* A trace id of the wrong length. */
    pb_init(&s);
    pb_bytes(&s, 1, FX_TRACE, 15);
    pb_bytes(&s, 2, S1, 8);
    pb_bytes(&s, 4, FX_INV, 8);
    expect_span_dropped(&s, PTEL_REASON_TRACE_ID_MISMATCH, NULL);
}

static void t_span_id_zero(void) {
    pb s;
    fx_span(&s, ZERO8, FX_INV, "x", T(1), T(2));
    expect_span_dropped(&s, PTEL_REASON_SPAN_ID_ZERO, NULL);
    pb_init(&s);
    pb_bytes(&s, 1, FX_TRACE, 16);
    pb_bytes(&s, 2, S1, 7);
    pb_bytes(&s, 4, FX_INV, 8);
    expect_span_dropped(&s, PTEL_REASON_SPAN_ID_ZERO, NULL);
    pb_init(&s);
    pb_bytes(&s, 1, FX_TRACE, 16);
    pb_bytes(&s, 4, FX_INV, 8);
    expect_span_dropped(&s, PTEL_REASON_SPAN_ID_ZERO, NULL);
}

static void t_span_id_host(void) {
    pb s;
    fx_span(&s, FX_INV, FX_INV, "x", T(1), T(2));
    expect_span_dropped(&s, PTEL_REASON_SPAN_ID_HOST, NULL);
}

static void t_end_before_start(void) {
    pb s;
    fx_span(&s, S1, FX_INV, "x", T(20), T(10));
    expect_span_dropped(&s, PTEL_REASON_END_BEFORE_START, NULL);
    /* An ended span without an end time. */
    fx_span(&s, S1, FX_INV, "x", T(20), 0);
    expect_span_dropped(&s, PTEL_REASON_END_BEFORE_START, NULL);
}

static void t_invalid_value(void) {
    pb s;
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    pb_uint(&s, 6, 9); /* kind 9 */
    expect_span_dropped(&s, PTEL_REASON_INVALID_VALUE, NULL);
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    pb st;
    pb_init(&st);
    pb_uint(&st, 3, 7); /* status code 7 */
    pb_msg(&s, 15, &st);
    expect_span_dropped(&s, PTEL_REASON_INVALID_VALUE, NULL);
}

static void t_utf8_span(void) {
    pb s;
    fx_span(&s, S1, FX_INV, "bad\xc3(", T(1), T(2));
    expect_span_dropped(&s, PTEL_REASON_UTF8, NULL);
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    pb_str(&s, 3, "k=\xff");
    expect_span_dropped(&s, PTEL_REASON_UTF8, NULL);
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    pb st;
    pb_init(&st);
    pb_str(&st, 2, "over\xed\xa0\x80long"); /* a surrogate */
    pb_uint(&st, 3, 2);
    pb_msg(&s, 15, &st);
    expect_span_dropped(&s, PTEL_REASON_UTF8, NULL);
}

static void t_span_count(void) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.limits.span_count = 2;
    fx f;
    ptel_invocation *inv = fx_begin(&f, &pol);
    pb p, s;
    fx_payload(&p);
    fx_span(&s, S1, FX_INV, "a", T(1), T(2));
    pb_msg(&p, 2, &s);
    fx_span(&s, S2, FX_INV, "b", T(1), T(2));
    pb_msg(&p, 2, &s);
    fx_span(&s, S3, FX_INV, "c", T(1), T(2));
    pb_msg(&p, 2, &s);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
    CHECK_EQ_INT(rep.spans_accepted, 2);
    CHECK_EQ_INT(rep.spans_dropped, 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_SPAN_COUNT], 1);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_SPAN_COUNT), 0);
    CHECK_EQ_INT(plugin_span_count(inv), 2);
    pb_free(&p);
    ptel_invocation_free(inv);
}

static void t_span_id_duplicate(void) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    pb p, s;
    fx_payload(&p);
    fx_span(&s, S1, FX_INV, "first", T(1), T(2));
    pb_msg(&p, 2, &s);
    fx_span(&s, S1, FX_INV, "second", T(1), T(2));
    size_t second_at = p.n + 2;
    pb_msg(&p, 2, &s);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
    CHECK_EQ_INT(rep.spans_accepted, 1);
    CHECK_EQ_INT(rep.spans_dropped, 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_SPAN_ID_DUPLICATE], 1);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_SPAN_ID_DUPLICATE), 0);
    CHECK_EQ_INT(rep.first.offset, second_at);
    pb got;
    CHECK(plugin_span(inv, 0, &got));
    CHECK(mem_contains(got.b, got.n, (const uint8_t *)"first", 5));
    pb_free(&got);
    pb_free(&p);
    ptel_invocation_free(inv);
}

static void t_parent_unknown(void) {
    pb s;
    fx_span(&s, S1, S4, "orphan", T(1), T(2));
    expect_span_dropped(&s, PTEL_REASON_PARENT_UNKNOWN, NULL);
    fx_span(&s, S1, NULL, "root", T(1), T(2));
    expect_span_dropped(&s, PTEL_REASON_PARENT_UNKNOWN, NULL);
    fx_span(&s, S1, S1, "self", T(1), T(2));
    expect_span_dropped(&s, PTEL_REASON_PARENT_UNKNOWN, NULL);
    /* The host's own parent is not a valid parent for plugin spans. */
    fx_span(&s, S1, FX_PARENT, "grandparent", T(1), T(2));
    expect_span_dropped(&s, PTEL_REASON_PARENT_UNKNOWN, NULL);

    /* A cycle, and the children of a dropped span, drop; a sibling chain
     * under the invocation span stays, whatever the order. */
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    pb p;
    fx_payload(&p);
    fx_span(&s, S1, S2, "cycle-a", T(1), T(2));
    pb_msg(&p, 2, &s);
    fx_span(&s, S2, S1, "cycle-b", T(1), T(2));
    pb_msg(&p, 2, &s);
    static const uint8_t c1[8] = {0xc1, 1, 1, 1, 1, 1, 1, 1}, c2[8] = {0xc2, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t c3[8] = {0xc3, 1, 1, 1, 1, 1, 1, 1}, d1[8] = {0xd1, 1, 1, 1, 1, 1, 1, 1};
    static const uint8_t d2[8] = {0xd2, 1, 1, 1, 1, 1, 1, 1};
    fx_span(&s, c3, c2, "grandchild", T(1), T(2));
    pb_msg(&p, 2, &s);
    fx_span(&s, c2, c1, "child", T(1), T(2));
    pb_msg(&p, 2, &s);
    fx_span(&s, c1, FX_INV, "top", T(1), T(2));
    pb_msg(&p, 2, &s);
    fx_span(&s, d1, FX_INV, "bad-name\xff", T(1), T(2));
    pb_msg(&p, 2, &s);
    fx_span(&s, d2, d1, "child-of-dropped", T(1), T(2));
    pb_msg(&p, 2, &s);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
    CHECK_EQ_INT(rep.spans_accepted, 3);
    CHECK_EQ_INT(rep.spans_dropped, 4);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_PARENT_UNKNOWN], 3);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_UTF8], 1);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_PARENT_UNKNOWN), 1);
    CHECK_EQ_INT(plugin_span_count(inv), 3);
    pb_free(&p);
    ptel_invocation_free(inv);
}

static void t_not_sampled(void) {
    for (int mode = 0; mode < 3; mode++) {
        ptel_host_policy pol;
        ptel_host_policy_init(&pol);
        pol.accept_record_only = mode == 2;
        ptel_invocation_options o;
        fx f;
        fx_options(&o, &f, &pol);
        o.decision = mode == 0 ? PTEL_DECISION_DROP : PTEL_DECISION_RECORD_ONLY;
        ptel_invocation *inv = NULL;
        CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
        f.mono += 1000000;
        pb p, s;
        fx_payload(&p);
        fx_span(&s, S1, FX_INV, "a", T(1), T(2));
        pb_msg(&p, 2, &s);
        fx_span(&s, S2, S1, "b", T(1), T(2));
        pb_msg(&p, 2, &s);
        ptel_report rep;
        CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
        if (mode < 2) {
            CHECK_EQ_INT(rep.spans_dropped, 2);
            CHECK_EQ_INT(rep.reasons[PTEL_REASON_NOT_SAMPLED], 2);
            CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_NOT_SAMPLED), 0);
            /* Nothing to export at all: the invocation span is not recorded either. */
            size_t n = 1;
            CHECK_EQ_INT(ptel_invocation_export_traces(inv, NULL, NULL, 0, &n), 0);
            CHECK_EQ_INT(n, 0);
        } else {
            CHECK_EQ_INT(rep.spans_accepted, 2);
            CHECK_EQ_INT(other_reasons(&rep, -1), 0);
        }
        pb_free(&p);
        ptel_invocation_free(inv);
    }
}

static void t_time_window(void) {
    /* Window: [T0 - 1 s, T0 + 1 ms + 1 s]. */
    uint64_t lo = FX_T0 - 1000000000u, hi = FX_T0 + 1000000u + 1000000000u;
    ptel_host_policy pol = copying_policy();
    pb s;
    fx_span(&s, S1, FX_INV, "early", lo - 1, T(5));
    ptel_report rep;
    fx f;
    ptel_invocation *inv = end_one(&s, &pol, &rep, &f);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_TIME_WINDOW], 1);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_TIME_WINDOW), 0);
    CHECK_EQ_INT(rep.spans_modified, 1);
    pb got;
    CHECK(plugin_span(inv, 0, &got));
    ptel__field fld;
    static const uint32_t start_path[] = {7, 0}, end_path[] = {8, 0};
    CHECK(pb_find(got.b, got.n, start_path, 0, &fld) && fld.value == lo);
    CHECK(pb_find(got.b, got.n, end_path, 0, &fld) && fld.value == T(5));
    pb_free(&got);
    ptel_invocation_free(inv);

    fx_span(&s, S1, FX_INV, "late", T(5), hi + 1);
    inv = end_one(&s, &pol, &rep, &f);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_TIME_WINDOW], 1);
    CHECK(plugin_span(inv, 0, &got));
    CHECK(pb_find(got.b, got.n, end_path, 0, &fld) && fld.value == hi);
    pb_free(&got);
    ptel_invocation_free(inv);

    /* At the edges exactly: kept unchanged. */
    fx_span(&s, S1, FX_INV, "edges", lo, hi);
    inv = end_one(&s, &pol, &rep, &f);
    CHECK_EQ_INT(other_reasons(&rep, -1), 0);
    CHECK_EQ_INT(rep.spans_modified, 0);
    ptel_invocation_free(inv);

    ptel_host_policy rej;
    ptel_host_policy_init(&rej);
    rej.time_policy = PTEL_TIME_REJECT;
    fx_span(&s, S1, FX_INV, "early", lo - 1, T(5));
    expect_span_dropped(&s, PTEL_REASON_TIME_WINDOW, &rej);
    fx_span(&s, S1, FX_INV, "late", T(5), hi + 1);
    expect_span_dropped(&s, PTEL_REASON_TIME_WINDOW, &rej);
    rej.time_slack_ns = 0;
    fx_span(&s, S1, FX_INV, "before start", T(0) - 1, T(5));
    expect_span_dropped(&s, PTEL_REASON_TIME_WINDOW, &rej);
}

/* ---- attributes, events, links ------------------------------------------------------ */

/* The span with `attrs` appended (each a full field), through validation;
 * returns the exported span (policy copies the payload). */
static void attr_case(const ptel_host_policy *pol, void (*add)(pb *), pb *out, ptel_report *rep) {
    pb s;
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    add(&s);
    fx f;
    ptel_host_policy p2 = pol ? *pol : copying_policy();
    p2.copy_payload = true;
    ptel_invocation *inv = end_one(&s, &p2, rep, &f);
    CHECK(plugin_span(inv, 0, out));
    ptel_invocation_free(inv);
}

/* The expected span: fx_span "x" plus `add`'s fields. */
static void attr_expect(void (*add)(pb *), pb *out) {
    fx_span(out, S1, FX_INV, "x", T(1), T(2));
    add(out);
}

static void add_utf8_attrs(pb *s) {
    pb_attr_str(s, 9, "ok", "fine");
    pb_attr_str(s, 9, "bad", "\xc0\xaf"); /* overlong */
    pb_attr_str(s, 9, "k\xff", "v");
    pb_attr_str(s, 9, "ok2", "fine");
}
static void exp_utf8_attrs(pb *s) {
    pb_attr_str(s, 9, "ok", "fine");
    pb_attr_str(s, 9, "ok2", "fine");
    pb_uint(s, 10, 2);
}

static void add_empty_key(pb *s) {
    pb_attr_str(s, 9, "", "v");
    pb_attr_str(s, 9, "a", "v");
}
static void exp_empty_key(pb *s) {
    pb_attr_str(s, 9, "a", "v");
    pb_uint(s, 10, 1);
}

static void add_dup_keys(pb *s) {
    pb_attr_int(s, 9, "a", 1);
    pb_attr_int(s, 9, "b", 2);
    pb_attr_int(s, 9, "a", 3);
    pb_uint(s, 10, 4); /* the plugin's own count is kept and added to */
}
static void exp_dup_keys(pb *s) {
    pb_attr_int(s, 9, "a", 1);
    pb_attr_int(s, 9, "b", 2);
    pb_uint(s, 10, 5);
}

static void add_reserved(pb *s) {
    pb_attr_str(s, 9, "service.name", "forged");
    pb_attr_str(s, 9, "telemetry.sdk.language", "c");
    pb_attr_str(s, 9, "plugin.name", "forged");
    pb_attr_str(s, 9, "telemetry.sdkx", "not a prefix match");
}
static void exp_reserved(pb *s) {
    pb_attr_str(s, 9, "telemetry.sdkx", "not a prefix match");
    pb_uint(s, 10, 3);
}

static void add_count(pb *s) {
    for (int k = 0; k < 5; k++) {
        char key[4] = {'k', (char)('0' + k), 0, 0};
        pb_attr_int(s, 9, key, k);
    }
}
static void exp_count(pb *s) {
    pb_attr_int(s, 9, "k0", 0);
    pb_attr_int(s, 9, "k1", 1);
    pb_uint(s, 10, 3);
}

static void add_long(pb *s) {
    pb_attr_str(s, 9, "s", "abcdefg");
    pb_attr_str(s, 9, "u", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"); /* 5 x U+00E9 */
    pb kv, v;
    pb_init(&kv);
    pb_init(&v);
    pb_str(&kv, 1, "b");
    pb_bytes(&v, 7, "0123456789", 10);
    pb_msg(&kv, 2, &v);
    pb_msg(s, 9, &kv);
    pb_attr_str(s, 9, "short", "abcd");
}
static void exp_long(pb *s) {
    pb_attr_str(s, 9, "s", "abcd");
    pb_attr_str(s, 9, "u", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    pb kv, v;
    pb_init(&kv);
    pb_init(&v);
    pb_str(&kv, 1, "b");
    pb_bytes(&v, 7, "0123", 4);
    pb_msg(&kv, 2, &v);
    pb_msg(s, 9, &kv);
    pb_attr_str(s, 9, "short", "abcd");
}

static void t_attributes(void) {
    struct {
        void (*add)(pb *);
        void (*exp)(pb *);
        int reason;
        uint32_t count;
        uint32_t attribute_count;
        uint32_t value_length;
    } cases[] = {
        {add_utf8_attrs, exp_utf8_attrs, PTEL_REASON_UTF8, 2, 0, 0},
        {add_empty_key, exp_empty_key, PTEL_REASON_EMPTY_KEY, 1, 0, 0},
        {add_dup_keys, exp_dup_keys, PTEL_REASON_DUPLICATE_KEY, 1, 0, 0},
        {add_reserved, exp_reserved, PTEL_REASON_RESERVED_KEY, 3, 0, 0},
        {add_count, exp_count, PTEL_REASON_ATTRIBUTE_COUNT, 3, 2, 0},
        {add_long, exp_long, PTEL_REASON_STRING_LENGTH, 3, 0, 4},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ptel_host_policy pol = copying_policy();
        if (cases[k].attribute_count) pol.limits.attribute_count = cases[k].attribute_count;
        if (cases[k].value_length) pol.limits.attribute_value_length = cases[k].value_length;
        pb got, want;
        ptel_report rep;
        attr_case(&pol, cases[k].add, &got, &rep);
        attr_expect(cases[k].exp, &want);
        CHECK_EQ_INT(rep.reasons[cases[k].reason], cases[k].count);
        CHECK_EQ_INT(other_reasons(&rep, cases[k].reason), 0);
        CHECK_EQ_INT(rep.spans_modified, 1);
        CHECK_EQ_INT(got.n, want.n);
        CHECK(got.n == want.n && memcmp(got.b, want.b, got.n) == 0);
        if (got.n != want.n || memcmp(got.b, want.b, got.n) != 0)
            fprintf(stderr, "  attribute case %zu differs\n", k);
        pb_free(&got);
        pb_free(&want);
    }
}

/* AnyValue{array_value{values: inner}} */
static void wrap_array(pb *inner) {
    pb arr, any;
    pb_init(&arr);
    pb_init(&any);
    pb_msg(&arr, 1, inner);
    pb_msg(&any, 5, &arr);
    *inner = any;
}

/* An attribute "deep" whose value is `levels` nested arrays around int 1. */
static void deep_attr(pb *s, int levels) {
    pb v;
    pb_init(&v);
    pb_uint(&v, 3, 1);
    for (int k = 0; k < levels; k++) wrap_array(&v);
    pb kv;
    pb_init(&kv);
    pb_str(&kv, 1, "deep");
    pb_msg(&kv, 2, &v);
    pb_msg(s, 9, &kv);
}

static void add_deep3(pb *s) { deep_attr(s, 3); }

/* With depth limit 2: [[ [1] ]] keeps two levels, the third becomes empty. */
static void exp_deep3(pb *s) {
    pb v;
    pb_init(&v); /* the empty AnyValue replacing the third array */
    wrap_array(&v);
    wrap_array(&v);
    pb kv;
    pb_init(&kv);
    pb_str(&kv, 1, "deep");
    pb_msg(&kv, 2, &v);
    pb_msg(s, 9, &kv);
}

static void add_kvlist_dup(pb *s) {
    /* {m: {a: 1, a: 2}} is dropped whole; {n: {a: 1}} stays. */
    for (int k = 0; k < 2; k++) {
        pb list, any, kv;
        pb_init(&list);
        pb_attr_int(&list, 1, "a", 1);
        if (!k) pb_attr_int(&list, 1, "a", 2);
        pb_init(&any);
        pb_msg(&any, 6, &list);
        pb_init(&kv);
        pb_str(&kv, 1, k ? "n" : "m");
        pb_msg(&kv, 2, &any);
        pb_msg(s, 9, &kv);
    }
}
static void exp_kvlist_dup(pb *s) {
    pb list, any, kv;
    pb_init(&list);
    pb_attr_int(&list, 1, "a", 1);
    pb_init(&any);
    pb_msg(&any, 6, &list);
    pb_init(&kv);
    pb_str(&kv, 1, "n");
    pb_msg(&kv, 2, &any);
    pb_msg(s, 9, &kv);
    pb_uint(s, 10, 1);
}

static void add_nested_utf8(pb *s) {
    pb v;
    pb_init(&v);
    pb_str(&v, 1, "\xe2\x82"); /* truncated sequence */
    wrap_array(&v);
    pb kv;
    pb_init(&kv);
    pb_str(&kv, 1, "arr");
    pb_msg(&kv, 2, &v);
    pb_msg(s, 9, &kv);
}
static void exp_nested_utf8(pb *s) { pb_uint(s, 10, 1); }

static void add_unknown(pb *s) {
    pb_attr_str(s, 9, "a", "b");
    pb_uint(s, 100, 5); /* unknown span field */
    static const uint8_t strindex[] = {0x4a, 0x05, 0x0a, 0x01, 'c', 0x18, 0x07}; /* key_strindex */
    pb_raw(s, strindex, sizeof strindex);
}
static void exp_unknown(pb *s) {
    pb_attr_str(s, 9, "a", "b");
    static const uint8_t kv[] = {0x4a, 0x03, 0x0a, 0x01, 'c'};
    pb_raw(s, kv, sizeof kv);
}

static void t_values(void) {
    ptel_host_policy pol = copying_policy();
    pol.limits.attribute_depth = 2;
    pb got, want;
    ptel_report rep;
    attr_case(&pol, add_deep3, &got, &rep);
    attr_expect(exp_deep3, &want);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_DEPTH], 1);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_DEPTH), 0);
    CHECK(got.n == want.n && memcmp(got.b, want.b, got.n) == 0);
    pb_free(&got);
    pb_free(&want);

    attr_case(NULL, add_kvlist_dup, &got, &rep);
    attr_expect(exp_kvlist_dup, &want);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_DUPLICATE_KEY], 1);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_DUPLICATE_KEY), 0);
    CHECK(got.n == want.n && memcmp(got.b, want.b, got.n) == 0);
    pb_free(&got);
    pb_free(&want);

    attr_case(NULL, add_nested_utf8, &got, &rep);
    attr_expect(exp_nested_utf8, &want);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_UTF8], 1);
    CHECK(got.n == want.n && memcmp(got.b, want.b, got.n) == 0);
    pb_free(&got);
    pb_free(&want);

    attr_case(NULL, add_unknown, &got, &rep);
    attr_expect(exp_unknown, &want);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_UNKNOWN_FIELD], 2);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_UNKNOWN_FIELD), 0);
    CHECK(got.n == want.n && memcmp(got.b, want.b, got.n) == 0);
    pb_free(&got);
    pb_free(&want);
}

/* A depth bomb: far more nesting than any limit; walked without deep
 * recursion, replaced by an empty value, and the span kept. */
static void t_depth_bomb(void) {
    enum { LEVELS = 100000 };
    /* Built back to front: each level is 2A len (0A len inner). */
    size_t cap = (size_t)LEVELS * 12 + 16, end = cap, at = cap;
    uint8_t *buf = malloc(cap);
    buf[--at] = 0x01;
    buf[--at] = 0x18;
    for (int k = 0; k < LEVELS; k++) {
        for (int tag = 0; tag < 2; tag++) {
            uint8_t tmp[10];
            size_t n = (size_t)(ptel__put_varint(tmp, end - at) - tmp);
            at -= n;
            memcpy(buf + at, tmp, n);
            buf[--at] = tag ? 0x2a : 0x0a;
        }
    }
    pb v;
    pb_init(&v);
    pb_raw(&v, buf + at, end - at);
    free(buf);
    pb s;
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    pb kv;
    pb_init(&kv);
    pb_str(&kv, 1, "bomb");
    pb_msg(&kv, 2, &v);
    pb_msg(&s, 9, &kv);
    ptel_host_policy pol = copying_policy();
    pol.limits.payload_bytes = 1u << 24;
    ptel_report rep;
    fx f;
    ptel_invocation *inv = end_one(&s, &pol, &rep, &f);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_DEPTH], 1);
    CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_DEPTH), 0);
    pb got;
    CHECK(plugin_span(inv, 0, &got));
    CHECK(got.n < 200);
    pb_free(&got);
    ptel_invocation_free(inv);
}

static void add_events(pb *s) {
    uint64_t lo = FX_T0 - 1000000000u;
    const struct {
        const char *name;
        uint64_t time;
    } evs[] = {{"one", T(1)}, {"bad\xff", T(1)}, {"two", lo - 5}, {"three", T(2)}, {"four", T(3)}};
    for (size_t k = 0; k < 5; k++) {
        pb ev;
        pb_init(&ev);
        pb_fixed64(&ev, 1, evs[k].time);
        pb_str(&ev, 2, evs[k].name);
        pb_attr_int(&ev, 3, "i", (int64_t)k);
        pb_attr_int(&ev, 3, "j", (int64_t)k);
        pb_msg(s, 11, &ev);
    }
}

static void t_events(void) {
    /* event_count 2, attributes_per_event 1, clamping: "one" (attr j
     * dropped), "bad" dropped (utf8), "two" clamped to the window, then the
     * limit drops "three" and "four". */
    ptel_host_policy pol = copying_policy();
    pol.limits.event_count = 2;
    pol.limits.attributes_per_event = 1;
    pb got;
    ptel_report rep;
    attr_case(&pol, add_events, &got, &rep);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_UTF8], 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_EVENT_COUNT], 2);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_TIME_WINDOW], 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_ATTRIBUTE_COUNT], 2);
    pb want;
    fx_span(&want, S1, FX_INV, "x", T(1), T(2));
    const struct {
        const char *name;
        uint64_t time;
        int i;
    } kept[] = {{"one", T(1), 0}, {"two", FX_T0 - 1000000000u, 2}};
    for (int k = 0; k < 2; k++) {
        pb ev;
        pb_init(&ev);
        pb_fixed64(&ev, 1, kept[k].time);
        pb_str(&ev, 2, kept[k].name);
        pb_attr_int(&ev, 3, "i", kept[k].i);
        pb_uint(&ev, 4, 1);
        pb_msg(&want, 11, &ev);
    }
    pb_uint(&want, 12, 3);
    CHECK(got.n == want.n && memcmp(got.b, want.b, got.n) == 0);
    pb_free(&got);
    pb_free(&want);

    /* Rejecting times drops the event instead. */
    pol.time_policy = PTEL_TIME_REJECT;
    attr_case(&pol, add_events, &got, &rep);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_TIME_WINDOW], 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_EVENT_COUNT], 1);
    static const uint32_t events_path[] = {11, 0}, dropped_path[] = {12, 0};
    ptel__field fld;
    CHECK_EQ_INT(pb_count(got.b, got.n, events_path), 2);
    CHECK(pb_find(got.b, got.n, dropped_path, 0, &fld) && fld.value == 3);
    pb_free(&got);
}

static void add_links(pb *s) {
    static const uint8_t other[16] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    for (int k = 0; k < 4; k++) {
        pb ln;
        pb_init(&ln);
        pb_bytes(&ln, 1, other, 16);
        pb_bytes(&ln, 2, k == 1 ? ZERO8 : S4, 8); /* link 1: zero span id */
        if (k == 2) pb_str(&ln, 3, "a=\xfe");     /* link 2: bad tracestate */
        pb_fixed32(&ln, 6, 0x301);
        pb_msg(s, 13, &ln);
    }
    pb_uint(s, 14, 2);
}

static void t_links(void) {
    ptel_host_policy pol = copying_policy();
    pol.limits.link_count = 1;
    pb got;
    ptel_report rep;
    attr_case(&pol, add_links, &got, &rep);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_INVALID_LINK], 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_UTF8], 1);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_LINK_COUNT], 1);
    CHECK_EQ_INT(other_reasons(&rep, -1), 3);
    static const uint32_t links_path[] = {13, 0}, dropped_path[] = {14, 0};
    ptel__field fld;
    CHECK_EQ_INT(pb_count(got.b, got.n, links_path), 1);
    CHECK(pb_find(got.b, got.n, dropped_path, 0, &fld) && fld.value == 5);
    pb_free(&got);
}

/* ---- open spans ------------------------------------------------------------------- */

static void t_open_span(void) {
    for (int outcome = 0; outcome < 2; outcome++) {
        ptel_host_policy pol = copying_policy();
        fx f;
        ptel_invocation *inv = fx_begin(&f, &pol);
        pb p, s, st;
        fx_payload(&p);
        fx_span(&s, S1, FX_INV, "unfinished", T(10), 0);
        pb_attr_str(&s, 9, "error.type", "plugin's own");
        pb_attr_str(&s, 9, "keep", "me");
        pb_init(&st);
        pb_str(&st, 2, "still running");
        pb_uint(&st, 3, 1);
        pb_msg(&s, 15, &st);
        pb_msg(&p, 4, &s);
        ptel_report rep;
        const char *et = outcome ? "tool_timeout" : NULL;
        CHECK_EQ_INT(ptel_invocation_end(inv, p.b, p.n,
                                         outcome ? PTEL_OUTCOME_TIMEOUT : PTEL_OUTCOME_OK, et,
                                         et ? strlen(et) : 0, &rep, NULL),
                     0);
        CHECK_EQ_INT(rep.spans_accepted, 1);
        CHECK_EQ_INT(rep.open_spans, 1);
        CHECK_EQ_INT(rep.spans_modified, 1);
        CHECK_EQ_INT(rep.reasons[PTEL_REASON_OPEN_SPAN], 1);
        CHECK_EQ_INT(other_reasons(&rep, PTEL_REASON_OPEN_SPAN), 0);
        pb got, want;
        CHECK(plugin_span(inv, 0, &got));
        fx_span(&want, S1, FX_INV, "unfinished", T(10), T(1000000));
        pb_attr_str(&want, 9, "keep", "me");
        pb_attr_str(&want, 9, "error.type", outcome ? "tool_timeout" : "span_not_ended");
        pb_init(&st);
        pb_str(&st, 2, "still running");
        pb_uint(&st, 3, 2);
        pb_msg(&want, 15, &st);
        CHECK(got.n == want.n && memcmp(got.b, want.b, got.n) == 0);
        pb_free(&got);
        pb_free(&want);
        pb_free(&p);
        ptel_invocation_free(inv);
    }
}

static void t_features(void) {
    ptel_invocation_options o;
    fx f;
    fx_options(&o, &f, NULL);
    o.features = PTEL_FEATURE_METRICS; /* no spans */
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    pb p, s;
    fx_payload(&p);
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    pb_msg(&p, 2, &s);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_FEATURE], 1);
    CHECK_EQ_INT(rep.spans_dropped, 1);
    pb_free(&p);
    ptel_invocation_free(inv);
}

/* The invocation is ended even when its arguments are bad. */
static void t_bad_end_arguments(void) {
    fx f;
    ptel_invocation *inv = fx_begin(&f, NULL);
    ptel_diag d = {0, 0, 0, NULL};
    CHECK_EQ_INT(ptel_invocation_end(inv, NULL, 5, 9, NULL, 0, NULL, &d), PTEL_E_INVALID_ARGUMENT);
    size_t n = 0;
    CHECK_EQ_INT(ptel_invocation_export_traces(inv, NULL, NULL, 0, &n), PTEL_E_BUFFER_TOO_SMALL);
    CHECK(n > 0);
    ptel_invocation_free(inv);
    CHECK_EQ_INT(ptel_invocation_end(NULL, NULL, 0, 0, NULL, 0, NULL, NULL),
                 PTEL_E_INVALID_ARGUMENT);
}

/* An attribute flood: far beyond the limit, kept to the first 128. */
static void t_attribute_flood(void) {
    enum { N = 100000 };
    pb s;
    fx_span(&s, S1, FX_INV, "x", T(1), T(2));
    for (int k = 0; k < N; k++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", k);
        pb_attr_int(&s, 9, key, k);
    }
    /* And the same key repeated: duplicates after the first. */
    for (int k = 0; k < 1000; k++) pb_attr_int(&s, 9, "k0", k);
    ptel_host_policy pol = copying_policy();
    ptel_report rep;
    fx f;
    ptel_invocation *inv = end_one(&s, &pol, &rep, &f);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_ATTRIBUTE_COUNT], N - 128);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_DUPLICATE_KEY], 1000);
    pb got;
    CHECK(plugin_span(inv, 0, &got));
    static const uint32_t attrs[] = {9, 0}, dropped[] = {10, 0};
    ptel__field fld;
    CHECK_EQ_INT(pb_count(got.b, got.n, attrs), 128);
    CHECK(pb_find(got.b, got.n, dropped, 0, &fld) && fld.value == N - 128 + 1000);
    pb_free(&got);
    ptel_invocation_free(inv);
}

/* The policy's own reserved keys replace the defaults; '.' ends a prefix. */
static void add_custom_reserved(pb *s) {
    pb_attr_str(s, 9, "secret", "x");
    pb_attr_str(s, 9, "internal.id", "x");
    pb_attr_str(s, 9, "service.name", "allowed now");
}
static void exp_custom_reserved(pb *s) {
    pb_attr_str(s, 9, "service.name", "allowed now");
    pb_uint(s, 10, 2);
}

static void t_custom_reserved(void) {
    static const ptel_str keys[2] = {{"secret", 6}, {"internal.", 9}};
    ptel_host_policy pol = copying_policy();
    pol.reserved_keys = keys;
    pol.reserved_key_count = 2;
    pb got, want;
    ptel_report rep;
    attr_case(&pol, add_custom_reserved, &got, &rep);
    attr_expect(exp_custom_reserved, &want);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_RESERVED_KEY], 2);
    CHECK(got.n == want.n && memcmp(got.b, want.b, got.n) == 0);
    pb_free(&got);
    pb_free(&want);
}

/* A closed open span keeps within the attribute limit: error.type takes a slot. */
static void t_open_span_limit(void) {
    ptel_host_policy pol = copying_policy();
    pol.limits.attribute_count = 2;
    fx f;
    ptel_invocation *inv = fx_begin(&f, &pol);
    pb p, s;
    fx_payload(&p);
    fx_span(&s, S1, FX_INV, "open", T(10), 0);
    pb_attr_str(&s, 9, "a", "1");
    pb_attr_str(&s, 9, "b", "2");
    pb_msg(&p, 4, &s);
    ptel_report rep;
    CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
    CHECK_EQ_INT(rep.reasons[PTEL_REASON_ATTRIBUTE_COUNT], 1);
    pb got, want;
    CHECK(plugin_span(inv, 0, &got));
    fx_span(&want, S1, FX_INV, "open", T(10), T(1000000));
    pb_attr_str(&want, 9, "a", "1");
    pb_attr_str(&want, 9, "error.type", "span_not_ended");
    pb_uint(&want, 10, 1);
    pb st;
    pb_init(&st);
    pb_uint(&st, 3, 2);
    pb_msg(&want, 15, &st);
    CHECK(got.n == want.n && memcmp(got.b, want.b, got.n) == 0);
    pb_free(&got);
    pb_free(&want);
    pb_free(&p);
    ptel_invocation_free(inv);
}

int main(void) {
    RUN(t_accept_verbatim);
    RUN(t_empty_payload);
    RUN(t_rejected_wire);
    RUN(t_rejected_nested);
    RUN(t_too_large);
    RUN(t_version);
    RUN(t_trace_id_mismatch);
    RUN(t_span_id_zero);
    RUN(t_span_id_host);
    RUN(t_end_before_start);
    RUN(t_invalid_value);
    RUN(t_utf8_span);
    RUN(t_span_count);
    RUN(t_span_id_duplicate);
    RUN(t_parent_unknown);
    RUN(t_not_sampled);
    RUN(t_time_window);
    RUN(t_attributes);
    RUN(t_values);
    RUN(t_depth_bomb);
    RUN(t_events);
    RUN(t_links);
    RUN(t_open_span);
    RUN(t_features);
    RUN(t_bad_end_arguments);
    RUN(t_attribute_flood);
    RUN(t_custom_reserved);
    RUN(t_open_span_limit);
    return test_summary();
}
