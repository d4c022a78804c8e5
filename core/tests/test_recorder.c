/* Recorder: exact PluginTelemetry bytes, OpenTelemetry span semantics, limits,
 * the disabled path and allocation behaviour. */
#include "recorder_fixture.h"

#include "internal.h"

/* Find the n-th field `number` in a message; returns its payload. */
static bool find_field(const uint8_t *msg, size_t len, uint32_t number, int nth, ptel__field *out) {
    ptel__reader r;
    ptel__reader_init(&r, msg, msg, len);
    ptel__field f;
    while (ptel__reader_next(&r, &f, NULL) == 1)
        if (f.number == number && nth-- == 0) {
            *out = f;
            return true;
        }
    return false;
}

static int count_fields(const uint8_t *msg, size_t len, uint32_t number) {
    ptel__reader r;
    ptel__reader_init(&r, msg, msg, len);
    ptel__field f;
    int n = 0, rc;
    while ((rc = ptel__reader_next(&r, &f, NULL)) == 1) n += f.number == number;
    return rc < 0 ? -1 : n;
}

static void test_simple_span_bytes(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_span *s;
    CHECK_EQ_INT(ptel_span_start(&s, rec, NULL, "handle", 6, PTEL_SPAN_KIND_INTERNAL, 0), 0);
    ptel_attr a = fx_int("n", 0);
    CHECK_EQ_INT(ptel_span_set_attributes(s, &a, 1), 0);
    CHECK_EQ_INT(ptel_span_set_status(s, PTEL_STATUS_ERROR, "boom", 4), 0);
    env.mono = 1000;
    CHECK_EQ_INT(ptel_span_end(s, 0), 0);
    const uint8_t *out;
    size_t len;
    CHECK_EQ_INT(ptel_recorder_finish(rec, &out, &len), 0);
    unsigned char want[256];
    size_t n = test_unhex(want, "0801 125b"
                                "0a10 4bf92f3577b34da6a3ce929d0e0e4736"
                                "1208 0000000000000001"
                                "2208 00f067aa0ba902b7"
                                "2a06 68616e646c65"
                                "3001"
                                "39 0010a5d4e8000000"
                                "41 e813a5d4e8000000"
                                "4a07 0a016e 12021800"
                                "7a08 1204626f6f6d 1802"
                                "8501 01030000");
    CHECK_BYTES(out, len, want, n);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_attribute_types(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "t", 1, 0, 0);
    ptel_value elems[2];
    memset(elems, 0, sizeof elems);
    elems[0].type = PTEL_VALUE_BOOL;
    elems[0].i = 1;
    elems[1].type = PTEL_VALUE_DOUBLE;
    elems[1].d = -0.0;
    ptel_attr kv = fx_str("k", "");
    ptel_attr attrs[7];
    memset(attrs, 0, sizeof attrs);
    attrs[0] = fx_int("neg", -1);
    attrs[1] = fx_str("empty", "");
    attrs[2].key.ptr = "b";
    attrs[2].key.len = 1;
    attrs[2].value.type = PTEL_VALUE_BYTES;
    attrs[2].value.str.ptr = "\x00\xff";
    attrs[2].value.str.len = 2;
    attrs[3].key.ptr = "arr";
    attrs[3].key.len = 3;
    attrs[3].value.type = PTEL_VALUE_ARRAY;
    attrs[3].value.array = elems;
    attrs[3].value.count = 2;
    attrs[4].key.ptr = "map";
    attrs[4].key.len = 3;
    attrs[4].value.type = PTEL_VALUE_KVLIST;
    attrs[4].value.kvlist = &kv;
    attrs[4].value.count = 1;
    attrs[5].key.ptr = "none";
    attrs[5].key.len = 4;
    attrs[5].value.type = PTEL_VALUE_EMPTY;
    attrs[6] = fx_int("max", INT64_MAX);
    CHECK_EQ_INT(ptel_span_set_attributes(s, attrs, 7), 0);
    ptel_span_end(s, 0);
    const uint8_t *out;
    size_t len;
    ptel_recorder_finish(rec, &out, &len);
    ptel__field span, attr;
    CHECK(find_field(out, len, 2, 0, &span));
    unsigned char want[128];
    /* Each expected KeyValue, in insertion order. */
    const char *kvs[7] = {
        "0a036e6567 120b18ffffffffffffffffff01",
        "0a05656d707479 12020a00",
        "0a0162 12043a0200ff",
        "0a03617272 12112a0f 0a021001 0a09210000000000000080",
        "0a036d6170 120b3209 0a07 0a016b 12020a00",
        "0a046e6f6e65 1200",
        "0a036d6178 120a18ffffffffffffffff7f",
    };
    for (int k = 0; k < 7; k++) {
        CHECK(find_field(span.data, span.len, 9, k, &attr));
        size_t n = test_unhex(want, kvs[k]);
        CHECK_EQ_INT(attr.len, n);
        CHECK_BYTES(attr.data, attr.len, want, n);
    }
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_attribute_overwrite_and_limits(void) {
    fx_env env = {0};
    ptel_limits lim = {0};
    lim.attribute_count = 2;
    lim.attribute_value_length = 3;
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, &lim);
    ptel_recorder *rec = fx_recorder(&env, ctx, false);
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "t", 1, 0, 0);
    ptel_attr a[4] = {fx_str("a", "x"), fx_str("b", "y"), fx_str("c", "dropped"),
                      fx_str("a", "h\xc3\xa9llo")};
    CHECK_EQ_INT(ptel_span_set_attributes(s, a, 4), 0); /* not strict: absorbed */
    ptel_attr bad = fx_str("b", "\xff");
    CHECK_EQ_INT(ptel_span_set_attributes(s, &bad, 1), 0);
    ptel_span_end(s, 0);
    const uint8_t *out;
    size_t len;
    ptel_recorder_finish(rec, &out, &len);
    ptel__field span, f;
    CHECK(find_field(out, len, 2, 0, &span));
    CHECK_EQ_INT(count_fields(span.data, span.len, 9), 2);
    unsigned char want[64];
    /* "a" keeps its first position; its value is truncated to 3 characters
     * ("hé" + "l"), never splitting the two-byte é. */
    size_t n = test_unhex(want, "0a0161 12060a0468c3a96c");
    CHECK(find_field(span.data, span.len, 9, 0, &f));
    CHECK_BYTES(f.data, f.len, want, n);
    n = test_unhex(want, "0a0162 12030a0179");
    CHECK(find_field(span.data, span.len, 9, 1, &f));
    CHECK_BYTES(f.data, f.len, want, n);
    CHECK(find_field(span.data, span.len, 10, 0, &f));
    CHECK_EQ_INT(f.value, 2); /* "c" over the limit, "b" with invalid UTF-8 */
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

/* Overwriting a key with values whose encodings cross the one-byte length
 * (127 bytes) moves the entries after it: each later set must still find
 * the key, so the span keeps one entry per key, with the last value. */
static void test_attribute_overwrite_resize(void) {
    static const size_t sizes[][3] = {{1, 200, 1}, {200, 1, 300}, {1, 130, 126}, {300, 5, 200}};
    static char big[3][301];
    for (size_t v = 0; v < 3; v++) memset(big[v], 'a' + (int)v, sizeof big[v] - 1);
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        fx_env env = {0};
        ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
        ptel_recorder *rec = fx_recorder(&env, ctx, true);
        ptel_span *s;
        ptel_span_start(&s, rec, NULL, "t", 1, 0, 0);
        ptel_attr before = fx_int("before", 1), after = fx_int("after", 2);
        CHECK_EQ_INT(ptel_span_set_attributes(s, &before, 1), 0);
        for (size_t v = 0; v < 3; v++) {
            ptel_attr a = fx_str("k", "");
            a.value.str = (ptel_str){big[v], sizes[c][v]};
            CHECK_EQ_INT(ptel_span_set_attributes(s, &a, 1), 0);
            if (v == 0) CHECK_EQ_INT(ptel_span_set_attributes(s, &after, 1), 0);
        }
        ptel_span_end(s, 0);
        const uint8_t *out;
        size_t len;
        CHECK_EQ_INT(ptel_recorder_finish(rec, &out, &len), 0);
        ptel__field span, f, v, sv;
        CHECK(find_field(out, len, 2, 0, &span));
        CHECK_EQ_INT(count_fields(span.data, span.len, 9), 3);
        /* before, k (first position, last value), after */
        CHECK(find_field(span.data, span.len, 9, 1, &f));
        CHECK(find_field(f.data, f.len, 1, 0, &v));
        CHECK(v.len == 1 && v.data[0] == 'k');
        CHECK(find_field(f.data, f.len, 2, 0, &v));
        CHECK(find_field(v.data, v.len, 1, 0, &sv));
        CHECK_EQ_INT(sv.len, sizes[c][2]);
        CHECK(sv.len == 0 || (sv.data[0] == 'c' && sv.data[sv.len - 1] == 'c'));
        CHECK(find_field(span.data, span.len, 9, 2, &f));
        CHECK(find_field(f.data, f.len, 1, 0, &v));
        CHECK(v.len == 5 && memcmp(v.data, "after", 5) == 0);
        ptel_recorder_free(rec);
        ptel_context_free(ctx);
    }
}

static void test_events_links_exception(void) {
    fx_env env = {0};
    ptel_limits lim = {0};
    lim.event_count = 2;
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, &lim);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "t", 1, PTEL_SPAN_KIND_CLIENT, 0);
    ptel_attr ea = fx_int("count", 3);
    env.mono = 5;
    CHECK_EQ_INT(ptel_span_add_event(s, "hit", 3, 0, &ea, 1), 0);
    CHECK_EQ_INT(ptel_span_record_exception(s, "ValueError", 10, "bad", 3, NULL, 0, 0), 0);
    CHECK_EQ_INT(ptel_span_add_event(s, "over", 4, 0, NULL, 0), PTEL_E_LIMIT);
    ptel_span_context linked = {{1}, {2}, 1, true};
    CHECK_EQ_INT(ptel_span_add_link(s, &linked, "k=v", 3, NULL, 0), 0);
    ptel_span_context zero = {{0}, {0}, 0, false};
    CHECK_EQ_INT(ptel_span_add_link(s, &zero, NULL, 0, NULL, 0), PTEL_E_INVALID_ID);
    /* OK after ERROR replaces it and is final; the description goes. */
    CHECK_EQ_INT(ptel_span_set_status(s, PTEL_STATUS_OK, "ignored", 7), 0);
    CHECK_EQ_INT(ptel_span_set_status(s, PTEL_STATUS_ERROR, "late", 4), 0);
    ptel_span_end(s, 0);
    CHECK_EQ_INT(ptel_span_end(s, 0), PTEL_E_STATE);
    const uint8_t *out;
    size_t len;
    ptel_recorder_finish(rec, &out, &len);
    ptel__field span, f;
    CHECK(find_field(out, len, 2, 0, &span));
    unsigned char want[128];
    size_t n = test_unhex(want, "09 0510a5d4e8000000 1203686974 1a0b 0a05636f756e74 12021803");
    CHECK(find_field(span.data, span.len, 11, 0, &f));
    CHECK_BYTES(f.data, f.len, want, n);
    n = test_unhex(want, "09 0510a5d4e8000000 1209657863657074696f6e"
                         "1a1e 0a0e657863657074696f6e2e74797065 120c0a0a56616c75654572726f72"
                         "1a1a 0a11657863657074696f6e2e6d657373616765 12050a03626164");
    CHECK(find_field(span.data, span.len, 11, 1, &f));
    CHECK_BYTES(f.data, f.len, want, n);
    CHECK(find_field(span.data, span.len, 12, 0, &f));
    CHECK_EQ_INT(f.value, 1);
    n = test_unhex(want, "0a10 01000000000000000000000000000000 1208 0200000000000000"
                         "1a03 6b3d76 35 01030000");
    CHECK(find_field(span.data, span.len, 13, 0, &f));
    CHECK_BYTES(f.data, f.len, want, n);
    CHECK(find_field(span.data, span.len, 15, 0, &f));
    n = test_unhex(want, "1801");
    CHECK_BYTES(f.data, f.len, want, n);
    CHECK(find_field(span.data, span.len, 6, 0, &f));
    CHECK_EQ_INT(f.value, PTEL_SPAN_KIND_CLIENT);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_parenting_and_open_spans(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_span *outer, *inner;
    ptel_span_start(&outer, rec, NULL, "outer", 5, 0, 0);
    ptel_span_start(&inner, rec, outer, "inner", 5, 0, 0);
    ptel_span_context sc;
    ptel_span_get_context(inner, &sc);
    CHECK_EQ_INT(sc.span_id[7], 2);
    CHECK_EQ_INT(sc.trace_flags, 1);
    CHECK(!sc.is_remote);
    ptel_span_end(inner, 0);
    const uint8_t *out;
    size_t len;
    CHECK_EQ_INT(ptel_recorder_finish(rec, &out, &len), 0);
    ptel__field span, f;
    CHECK(find_field(out, len, 2, 0, &span));
    CHECK(find_field(span.data, span.len, 4, 0, &f));
    CHECK(f.len == 8 && f.data[7] == 1); /* parent = outer */
    CHECK(find_field(span.data, span.len, 16, 0, &f));
    CHECK_EQ_INT(f.value, 0x101);               /* local parent: has-is-remote, not remote */
    CHECK_EQ_INT(count_fields(out, len, 4), 1); /* outer still open */
    CHECK(find_field(out, len, 4, 0, &span));
    CHECK(!find_field(span.data, span.len, 8, 0, &f)); /* no end time */
    CHECK(find_field(span.data, span.len, 16, 0, &f));
    CHECK_EQ_INT(f.value, 0x301);
    /* After finish, recording is refused and the payload is stable. */
    CHECK_EQ_INT(ptel_span_end(outer, 0), PTEL_E_STATE);
    const uint8_t *again;
    size_t len2;
    ptel_recorder_finish(rec, &again, &len2);
    CHECK(len2 == len && memcmp(again, out, len) == 0);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_finish_into_size_query(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "x", 1, 0, 0);
    ptel_span_end(s, 0);
    size_t need = 0;
    CHECK_EQ_INT(ptel_recorder_finish_into(rec, NULL, 0, &need), PTEL_E_BUFFER_TOO_SMALL);
    CHECK(need > 0);
    uint8_t small[8];
    CHECK_EQ_INT(ptel_recorder_finish_into(rec, small, sizeof small, &need),
                 PTEL_E_BUFFER_TOO_SMALL);
    uint8_t buf[512];
    size_t got = 0;
    CHECK_EQ_INT(ptel_recorder_finish_into(rec, buf, sizeof buf, &got), 0);
    CHECK_EQ_INT(got, need);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_drop_decision_is_free(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_DROP, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    CHECK(!ptel_recorder_is_recording(rec));
    size_t before = env.allocations;
    ptel_span *s = NULL;
    for (int k = 0; k < 1000; k++) {
        CHECK_EQ_INT(ptel_span_start(&s, rec, NULL, "x", 1, 0, 0), 0);
        ptel_attr a = fx_int("k", k);
        CHECK_EQ_INT(ptel_span_set_attributes(s, &a, 1), 0);
        CHECK_EQ_INT(ptel_span_end(s, 0), 0);
    }
    CHECK_EQ_INT(env.allocations, before);
    CHECK(s != NULL && !ptel_span_is_recording(s));
    ptel_span_context sc;
    ptel_span_get_context(s, &sc);
    CHECK(ptel_span_context_is_valid(&sc));
    CHECK_EQ_INT(sc.span_id[7], 0xb7); /* the context's span */
    CHECK_EQ_INT(sc.trace_flags, 0);
    const uint8_t *out;
    size_t len;
    ptel_recorder_finish(rec, &out, &len);
    CHECK_EQ_INT(len, 2); /* protocol version only */
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void record_workload(ptel_recorder *rec) {
    for (int k = 0; k < 50; k++) {
        ptel_span *s;
        ptel_span_start(&s, rec, NULL, "scan", 4, 0, 0);
        ptel_attr a[3] = {fx_str("plugin", "pii"), fx_int("hits", k), fx_str("mode", "enforce")};
        ptel_span_set_attributes(s, a, 3);
        ptel_span_add_event(s, "detected", 8, 0, a, 2);
        ptel_span_end(s, 0);
    }
}

static void test_no_allocation_after_warmup(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    const uint8_t *out;
    size_t len, first_len;
    record_workload(rec);
    ptel_recorder_finish(rec, &out, &first_len);
    ptel_recorder_reset(rec, ctx);
    env.next_id = 0;
    size_t warm = env.allocations;
    record_workload(rec);
    ptel_recorder_finish(rec, &out, &len);
    CHECK_EQ_INT(env.allocations, warm);
    CHECK_EQ_INT(len, first_len);
    ptel_recorder_free(rec);
    CHECK_EQ_INT(env.live_bytes, 0);
    ptel_context_free(ctx);
}

static void test_span_limit_and_drop_counts(void) {
    fx_env env = {0};
    ptel_limits lim = {0};
    lim.span_count = 1;
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, &lim);
    ptel_recorder *rec = fx_recorder(&env, ctx, false);
    ptel_span *a, *b;
    ptel_span_start(&a, rec, NULL, "a", 1, 0, 0);
    CHECK_EQ_INT(ptel_span_start(&b, rec, NULL, "b", 1, 0, 0), 0);
    CHECK(!ptel_span_is_recording(b));
    CHECK_EQ_INT(ptel_span_set_status(a, 7, NULL, 0), 0); /* invalid code, counted */
    ptel_span_end(a, 0);
    ptel_drop_counts d;
    ptel_recorder_drops(rec, &d);
    CHECK_EQ_INT(d.spans, 1);
    CHECK_EQ_INT(d.errors, 1);
    const uint8_t *out;
    size_t len;
    ptel_recorder_finish(rec, &out, &len);
    ptel__field f;
    CHECK(find_field(out, len, 5, 0, &f));
    unsigned char want[8];
    size_t n = test_unhex(want, "0801 2001");
    CHECK_BYTES(f.data, f.len, want, n);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_invalid_utf8_name_replaced(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_span *s;
    CHECK_EQ_INT(ptel_span_start(&s, rec, NULL,
                                 "a\xff"
                                 "b",
                                 3, 0, 0),
                 PTEL_E_UTF8);
    CHECK(ptel_span_is_recording(s));
    ptel_span_end(s, 0);
    const uint8_t *out;
    size_t len;
    ptel_recorder_finish(rec, &out, &len);
    ptel__field span, f;
    CHECK(find_field(out, len, 2, 0, &span));
    CHECK(find_field(span.data, span.len, 5, 0, &f));
    CHECK(f.len == 5 && memcmp(f.data,
                               "a\xef\xbf\xbd"
                               "b",
                               5) == 0);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void test_span_record_one_call(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_recorder *rec2;
    fx_env env2 = {0};
    rec2 = fx_recorder(&env2, ctx, true);
    /* Same span through start/.../end and through ptel_span_record. */
    ptel_attr a[2] = {fx_str("k", "v"), fx_int("n", 7)};
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "op", 2, PTEL_SPAN_KIND_CLIENT, 10);
    ptel_span_set_attributes(s, a, 2);
    ptel_span_add_event(s, "e", 1, 20, a, 1);
    ptel_span_set_status(s, PTEL_STATUS_ERROR, "x", 1);
    ptel_span_end(s, 30);
    ptel_event_data ev = {{"e", 1}, 20, a, 1};
    ptel_span_data d;
    memset(&d, 0, sizeof d);
    d.name.ptr = "op";
    d.name.len = 2;
    d.kind = PTEL_SPAN_KIND_CLIENT;
    d.start_unix_nano = 10;
    d.end_unix_nano = 30;
    d.attrs = a;
    d.attr_count = 2;
    d.events = &ev;
    d.event_count = 1;
    d.status_code = PTEL_STATUS_ERROR;
    d.status_description.ptr = "x";
    d.status_description.len = 1;
    CHECK_EQ_INT(ptel_span_record(NULL, rec2, &d), 0);
    const uint8_t *o1, *o2;
    size_t l1, l2;
    ptel_recorder_finish(rec, &o1, &l1);
    ptel_recorder_finish(rec2, &o2, &l2);
    CHECK(l1 == l2 && memcmp(o1, o2, l1) == 0);
    ptel_recorder_free(rec);
    ptel_recorder_free(rec2);
    ptel_context_free(ctx);
}

static void test_null_arguments(void) {
    ptel_span *s = (ptel_span *)1;
    CHECK_EQ_INT(ptel_span_start(&s, NULL, NULL, "x", 1, 0, 0), PTEL_E_INVALID_ARGUMENT);
    CHECK(s == NULL);
    CHECK_EQ_INT(ptel_span_end(NULL, 0), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_span_set_attributes(NULL, NULL, 0), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_recorder_new(NULL, NULL, NULL), PTEL_E_INVALID_ARGUMENT);
    ptel_recorder *r = (ptel_recorder *)1;
    CHECK_EQ_INT(ptel_recorder_new(&r, NULL, NULL), PTEL_E_INVALID_ARGUMENT);
    CHECK(r == NULL);
    CHECK(!ptel_recorder_is_recording(NULL));
    ptel_recorder_free(NULL);
}

static void zero_ids(void *ud, uint8_t *out, size_t n) {
    (void)ud;
    memset(out, 0, n);
}

/* Regression: a generator that only returns zeros must not hang the recorder. */
static void test_zero_id_generator_falls_back(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder_options o;
    ptel_recorder_options_init(&o);
    o.ids.fill = zero_ids;
    ptel_recorder *rec;
    CHECK_EQ_INT(ptel_recorder_new(&rec, ctx, &o), 0);
    ptel_span *s;
    ptel_span_start(&s, rec, NULL, "x", 1, 0, 0);
    ptel_span_context sc;
    ptel_span_get_context(s, &sc);
    CHECK(ptel_span_context_is_valid(&sc));
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
    (void)env;
}

/* Go records a child before its parent and names the parent by id. */
static void test_span_record_parent_by_id(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    static const uint8_t parent_id[8] = {0, 0, 0, 0, 0, 0, 0, 0x50};
    static const uint8_t child_id[8] = {0, 0, 0, 0, 0, 0, 0, 0x51};
    ptel_span_data d;
    memset(&d, 0, sizeof d);
    d.name.ptr = "child";
    d.name.len = 5;
    d.span_id = child_id;
    d.parent_span_id = parent_id;
    CHECK_EQ_INT(ptel_span_record(NULL, rec, &d), 0);
    d.name.ptr = "parent";
    d.name.len = 6;
    d.span_id = parent_id;
    d.parent_span_id = NULL;
    CHECK_EQ_INT(ptel_span_record(NULL, rec, &d), 0);
    const uint8_t *out;
    size_t len;
    ptel_recorder_finish(rec, &out, &len);
    ptel__field span, f;
    CHECK(find_field(out, len, 2, 0, &span));
    CHECK(find_field(span.data, span.len, 2, 0, &f));
    CHECK_BYTES(f.data, f.len, child_id, 8);
    CHECK(find_field(span.data, span.len, 4, 0, &f));
    CHECK_BYTES(f.data, f.len, parent_id, 8);
    CHECK(find_field(span.data, span.len, 16, 0, &f));
    CHECK_EQ_INT(f.value, 0x101); /* local parent */
    CHECK(find_field(out, len, 2, 1, &span));
    CHECK(find_field(span.data, span.len, 16, 0, &f));
    CHECK_EQ_INT(f.value, 0x301); /* the context's remote span */
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

/* Drops a binding counted on its side, and a span recorded open. */
static void test_span_record_drops_and_open(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_span_data d;
    memset(&d, 0, sizeof d);
    d.name.ptr = "busy";
    d.name.len = 4;
    d.dropped_attributes_count = 3;
    d.dropped_events_count = 4;
    d.dropped_links_count = UINT32_MAX;
    d.open = true;
    ptel_span *s;
    CHECK_EQ_INT(ptel_span_record(&s, rec, &d), 0);
    CHECK(ptel_span_is_recording(s)); /* still open */
    ptel_drop_counts add = {1, 2, 3, 4};
    ptel_recorder_add_drops(rec, &add);
    ptel_recorder_add_drops(rec, &add);
    const uint8_t *out;
    size_t len;
    ptel_recorder_finish(rec, &out, &len);
    ptel__field span, f;
    CHECK_EQ_INT(count_fields(out, len, 2), 0);
    CHECK(find_field(out, len, 4, 0, &span));
    CHECK(find_field(span.data, span.len, 10, 0, &f));
    CHECK_EQ_INT(f.value, 3);
    CHECK(find_field(span.data, span.len, 12, 0, &f));
    CHECK_EQ_INT(f.value, 4);
    CHECK(find_field(span.data, span.len, 14, 0, &f));
    CHECK_EQ_INT(f.value, UINT32_MAX);
    CHECK(find_field(out, len, 5, 0, &f));
    unsigned char want[16];
    size_t n = test_unhex(want, "0802 1004 1806 2008");
    CHECK_BYTES(f.data, f.len, want, n);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

int main(void) {
    RUN(test_span_record_drops_and_open);
    RUN(test_span_record_parent_by_id);
    RUN(test_zero_id_generator_falls_back);
    RUN(test_simple_span_bytes);
    RUN(test_attribute_types);
    RUN(test_attribute_overwrite_and_limits);
    RUN(test_attribute_overwrite_resize);
    RUN(test_events_links_exception);
    RUN(test_parenting_and_open_spans);
    RUN(test_finish_into_size_query);
    RUN(test_drop_decision_is_free);
    RUN(test_no_allocation_after_warmup);
    RUN(test_span_limit_and_drop_counts);
    RUN(test_invalid_utf8_name_replaced);
    RUN(test_span_record_one_call);
    RUN(test_null_arguments);
    return test_summary();
}
