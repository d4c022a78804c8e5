/* PluginContext: exact encodings, every invalid decode case, round trips,
 * the W3C and environment carriers, size queries, and internal base64. */
#include "test.h"

#include "base64.h"
#include "internal.h"

#include <stdlib.h>

static const uint8_t TRACE_ID[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t SPAN_ID[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

#define HEX_TID "12 10 4bf92f3577b34da6a3ce929d0e0e4736 "
#define HEX_SID "1a 08 00f067aa0ba902b7 "
#define HEX_MIN "08 01 " HEX_TID HEX_SID

/* Written by hand from the field table, checked with protoc --decode_raw:
 * 1:1 2:"K\371/5w\263M..." 3:"\000\360g..." 4:1 5:1 6:"congo=t61rcWkgMzE"
 * 7:"k=v" 8:2 9{1:64 8:300 11:1048576} 10:0x17979cfe362a0000 11:"pii-filter"
 * 12:"1.2.3" 13:"tool_pre_invoke" 14:15 */
static const char HEX_FULL[] = HEX_MIN "20 01 28 01 "
                                       "32 11 636f6e676f3d7436317263576b674d7a45 "
                                       "3a 03 6b3d76 "
                                       "40 02 "
                                       "4a 09 0840 40ac02 58808040 "
                                       "51 00002a36fe9c9717 "
                                       "5a 0a 7069692d66696c746572 "
                                       "62 05 312e322e33 "
                                       "6a 0f 746f6f6c5f7072655f696e766f6b65 "
                                       "70 0f";

static ptel_str S(const char *s) {
    ptel_str r = {s, strlen(s)};
    return r;
}

static void full_fields(ptel_context_fields *f) {
    ptel_context_fields_init(f);
    memcpy(f->parent.trace_id, TRACE_ID, 16);
    memcpy(f->parent.span_id, SPAN_ID, 8);
    f->parent.trace_flags = 1;
    f->parent.is_remote = true;
    f->tracestate = S("congo=t61rcWkgMzE");
    f->baggage = S("k=v");
    f->decision = PTEL_DECISION_RECORD_AND_SAMPLE;
    f->limits.attribute_count = 64;
    f->limits.span_count = 300;
    f->limits.payload_bytes = 1048576;
    f->time_base_unix_nano = 1700000000000000000ull;
    f->plugin_name = S("pii-filter");
    f->plugin_version = S("1.2.3");
    f->hook = S("tool_pre_invoke");
    f->features = PTEL_FEATURES_V1;
}

static void min_fields(ptel_context_fields *f) {
    ptel_context_fields_init(f);
    memcpy(f->parent.trace_id, TRACE_ID, 16);
    memcpy(f->parent.span_id, SPAN_ID, 8);
}

/* Encode ctx into a fresh buffer (caller frees). */
static uint8_t *encode_all(const ptel_context *ctx, size_t *n) {
    CHECK_EQ_INT(ptel_context_encode(ctx, NULL, 0, n), PTEL_E_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(*n ? *n : 1);
    size_t m = 0;
    CHECK_EQ_INT(ptel_context_encode(ctx, buf, *n, &m), 0);
    CHECK_EQ_INT(m, *n);
    return buf;
}

static void check_encoding(const ptel_context_fields *f, const char *hex) {
    unsigned char want[512];
    size_t want_n = test_unhex(want, hex);
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, f, NULL, NULL), 0);
    if (!ctx) return;
    size_t n;
    uint8_t *got = encode_all(ctx, &n);
    CHECK_EQ_INT(n, want_n);
    CHECK(n == want_n && memcmp(got, want, n) == 0);
    /* Decoding the expected bytes gives the same context back. */
    ptel_context *back = NULL;
    CHECK_EQ_INT(ptel_context_decode(&back, want, want_n, NULL, NULL), 0);
    if (back) {
        size_t n2;
        uint8_t *again = encode_all(back, &n2);
        CHECK(n2 == want_n && memcmp(again, want, n2) == 0);
        free(again);
    }
    free(got);
    ptel_context_free(back);
    ptel_context_free(ctx);
}

static void test_encode_exact(void) {
    ptel_context_fields f;
    full_fields(&f);
    check_encoding(&f, HEX_FULL);

    min_fields(&f);
    check_encoding(&f, HEX_MIN);

    /* Flags above 127 take a two-byte varint; RECORD_ONLY; one limit in
     * the middle of the message; a large features value. */
    min_fields(&f);
    f.parent.trace_flags = 0xff;
    f.decision = PTEL_DECISION_RECORD_ONLY;
    f.limits.metric_cardinality = 2000;
    f.features = 1ull << 40;
    check_encoding(&f, HEX_MIN "20 ff01 40 01 4a 03 50d00f 70 8080808080 20");

    /* DROP and zero limits are defaults and are omitted. */
    min_fields(&f);
    f.decision = PTEL_DECISION_DROP;
    f.parent.is_remote = false;
    check_encoding(&f, HEX_MIN);
}

static void test_get_roundtrip(void) {
    ptel_context_fields f, g;
    full_fields(&f);
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, NULL), 0);
    if (!ctx) return;
    ptel_context_get(ctx, &g);
    CHECK_EQ_INT(g.protocol_version, 1);
    CHECK_MEM(g.parent.trace_id, TRACE_ID, 16);
    CHECK_MEM(g.parent.span_id, SPAN_ID, 8);
    CHECK_EQ_INT(g.parent.trace_flags, 1);
    CHECK(g.parent.is_remote);
    CHECK_STR(g.tracestate.ptr, g.tracestate.len, "congo=t61rcWkgMzE");
    CHECK_STR(g.baggage.ptr, g.baggage.len, "k=v");
    CHECK_EQ_INT(g.decision, 2);
    CHECK_EQ_INT(g.limits.attribute_count, 64);
    CHECK_EQ_INT(g.limits.span_count, 300);
    CHECK_EQ_INT(g.limits.payload_bytes, 1048576);
    CHECK_EQ_INT(g.limits.event_count, 0); /* zeros stay zeros */
    CHECK_EQ_INT(g.time_base_unix_nano, 1700000000000000000ull);
    CHECK_STR(g.plugin_name.ptr, g.plugin_name.len, "pii-filter");
    CHECK_STR(g.plugin_version.ptr, g.plugin_version.len, "1.2.3");
    CHECK_STR(g.hook.ptr, g.hook.len, "tool_pre_invoke");
    CHECK_EQ_INT(g.features, 15);
    /* Strings are copies, NUL-terminated. */
    CHECK(g.plugin_name.ptr != f.plugin_name.ptr);
    CHECK_EQ_INT(g.hook.ptr[g.hook.len], 0);
    ptel_context_free(ctx);
    ptel_context_free(NULL);
}

static void test_new_normalizes(void) {
    ptel_context_fields f, g;
    min_fields(&f);
    f.tracestate = S(" a=1 ,, b=2 ,a=3\t");
    f.baggage = S(" k1 = v1 ; p ; q = x , k2=v2 ");
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, NULL), 0);
    if (!ctx) return;
    ptel_context_get(ctx, &g);
    CHECK_STR(g.tracestate.ptr, g.tracestate.len, "a=1,b=2");
    CHECK_STR(g.baggage.ptr, g.baggage.len, "k1=v1;p;q=x,k2=v2");
    size_t n;
    uint8_t *bytes = encode_all(ctx, &n);
    unsigned char want[128];
    size_t wn =
        test_unhex(want, HEX_MIN "32 07 613d312c623d32 3a 11 6b313d76313b703b713d782c6b323d7632");
    CHECK(n == wn && memcmp(bytes, want, n) == 0);
    free(bytes);
    ptel_context_free(ctx);
}

static void test_new_invalid(void) {
    ptel_context_fields f;
    ptel_context *ctx = (ptel_context *)&f; /* must be reset to NULL on failure */
    ptel_diag d;

    min_fields(&f);
    f.protocol_version = 0;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_VERSION);
    CHECK(ctx == NULL);
    CHECK_EQ_INT(d.field, 1);

    min_fields(&f);
    memset(f.parent.trace_id, 0, 16);
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_INVALID_ID);
    CHECK_EQ_INT(d.field, 2);

    min_fields(&f);
    memset(f.parent.span_id, 0, 8);
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_INVALID_ID);
    CHECK_EQ_INT(d.field, 3);

    min_fields(&f);
    f.decision = 3;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_VALUE);
    CHECK_EQ_INT(d.field, 8);

    min_fields(&f);
    f.plugin_name = S("bad\xff");
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_UTF8);
    CHECK_EQ_INT(d.field, 11);

    min_fields(&f);
    f.hook = S("\xc0\x80"); /* overlong NUL */
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_UTF8);
    CHECK_EQ_INT(d.field, 13);

    min_fields(&f);
    f.tracestate = S("a=1,FOO=2");
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_TRACESTATE);
    CHECK_EQ_INT(d.field, 6);
    CHECK_EQ_INT(d.offset, 4);

    min_fields(&f);
    f.baggage = S("k=v,novalue");
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_BAGGAGE);
    CHECK_EQ_INT(d.field, 7);

    min_fields(&f);
    f.plugin_version.ptr = NULL;
    f.plugin_version.len = 3;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_context_new(&ctx, NULL, NULL, NULL), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_context_new(NULL, &f, NULL, NULL), PTEL_E_INVALID_ARGUMENT);
}

/* 30 bytes of version and ids + 1 tag + 3 length bytes + name = 64 KiB. */
static void test_size_limit(void) {
    size_t len = 65536 - 34;
    char *name = malloc(len + 1);
    memset(name, 'n', len + 1);
    ptel_context_fields f;
    min_fields(&f);
    f.plugin_name.ptr = name;
    f.plugin_name.len = len;
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, NULL), 0);
    if (ctx) {
        size_t n;
        uint8_t *bytes = encode_all(ctx, &n);
        CHECK_EQ_INT(n, 65536);
        ptel_context *back = NULL;
        CHECK_EQ_INT(ptel_context_decode(&back, bytes, n, NULL, NULL), 0);
        ptel_context_free(back);
        /* One more byte on the wire (an unknown empty field) is too much. */
        uint8_t *big = malloc(n + 2);
        memcpy(big, bytes, n);
        big[n] = 0x78; /* field 15, varint */
        big[n + 1] = 0x00;
        ptel_diag d;
        CHECK_EQ_INT(ptel_context_decode(&back, big, n + 1, NULL, &d), PTEL_E_LIMIT);
        CHECK_EQ_INT(ptel_context_decode(&back, big, n + 2, NULL, &d), PTEL_E_LIMIT);
        CHECK(back == NULL);
        free(big);
        free(bytes);
        ptel_context_free(ctx);
    }
    f.plugin_name.len = len + 1;
    ptel_diag d;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_LIMIT);
    f.plugin_name.len = 70000;
    char *huge = malloc(70000);
    memset(huge, 'x', 70000);
    f.plugin_name.ptr = huge;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, &d), PTEL_E_LIMIT);
    free(huge);
    free(name);
}

typedef struct bad_case {
    const char *name;
    const char *hex;
    int status;
    uint32_t field;
    uint64_t offset;
} bad_case;

static void test_decode_invalid(void) {
    static const bad_case cases[] = {
        {"empty input", "", PTEL_E_VERSION, 1, 0},
        {"missing version", HEX_TID HEX_SID, PTEL_E_VERSION, 1, 28},
        {"version 0", "08 00 " HEX_TID HEX_SID, PTEL_E_VERSION, 1, 0},
        {"version 2", "08 02 " HEX_TID HEX_SID, PTEL_E_VERSION, 1, 0},
        {"version 2^32+1", "08 8180808010 " HEX_TID HEX_SID, PTEL_E_VERSION, 1, 0},
        {"version last wins", HEX_MIN "08 02", PTEL_E_VERSION, 1, 30},
        {"version as fixed32", "0d 01000000 " HEX_TID HEX_SID, PTEL_E_MALFORMED, 1, 0},
        {"version as LEN", "0a 01 01 " HEX_TID HEX_SID, PTEL_E_MALFORMED, 1, 0},
        {"trace_id as varint", "08 01 10 01 " HEX_SID, PTEL_E_MALFORMED, 2, 2},
        {"span id as fixed64", "08 01 " HEX_TID "19 0102030405060708", PTEL_E_MALFORMED, 3, 20},
        {"flags as LEN", HEX_MIN "22 01 01", PTEL_E_MALFORMED, 4, 30},
        {"is_remote as fixed32", HEX_MIN "2d 01000000", PTEL_E_MALFORMED, 5, 30},
        {"trace_state as varint", HEX_MIN "30 01", PTEL_E_MALFORMED, 6, 30},
        {"baggage as fixed64", HEX_MIN "39 0000000000000000", PTEL_E_MALFORMED, 7, 30},
        {"decision as LEN", HEX_MIN "42 00", PTEL_E_MALFORMED, 8, 30},
        {"limits as varint", HEX_MIN "48 01", PTEL_E_MALFORMED, 9, 30},
        {"limit field as fixed32", HEX_MIN "4a 05 0d 01000000", PTEL_E_MALFORMED, 1, 32},
        {"time base as varint", HEX_MIN "50 01", PTEL_E_MALFORMED, 10, 30},
        {"time base as fixed32", HEX_MIN "55 01000000", PTEL_E_MALFORMED, 10, 30},
        {"plugin_name as varint", HEX_MIN "58 01", PTEL_E_MALFORMED, 11, 30},
        {"plugin_version as varint", HEX_MIN "60 01", PTEL_E_MALFORMED, 12, 30},
        {"hook as varint", HEX_MIN "68 01", PTEL_E_MALFORMED, 13, 30},
        {"features as LEN", HEX_MIN "72 00", PTEL_E_MALFORMED, 14, 30},
        {"missing trace_id", "08 01 " HEX_SID, PTEL_E_INVALID_ID, 2, 12},
        {"trace_id 15 bytes", "08 01 12 0f 4bf92f3577b34da6a3ce929d0e0e47 " HEX_SID,
         PTEL_E_INVALID_ID, 2, 4},
        {"trace_id 17 bytes", "08 01 12 11 4bf92f3577b34da6a3ce929d0e0e473600 " HEX_SID,
         PTEL_E_INVALID_ID, 2, 4},
        {"trace_id empty", "08 01 12 00 " HEX_SID, PTEL_E_INVALID_ID, 2, 4},
        {"trace_id zero", "08 01 12 10 00000000000000000000000000000000 " HEX_SID,
         PTEL_E_INVALID_ID, 2, 4},
        {"trace_id zero last", HEX_MIN "12 10 00000000000000000000000000000000", PTEL_E_INVALID_ID,
         2, 32},
        {"missing span id", "08 01 " HEX_TID, PTEL_E_INVALID_ID, 3, 20},
        {"span id 7 bytes", "08 01 " HEX_TID "1a 07 00f067aa0ba902", PTEL_E_INVALID_ID, 3, 22},
        {"span id 9 bytes", "08 01 " HEX_TID "1a 09 00f067aa0ba902b700", PTEL_E_INVALID_ID, 3, 22},
        {"span id zero", "08 01 " HEX_TID "1a 08 0000000000000000", PTEL_E_INVALID_ID, 3, 22},
        {"flags 256", HEX_MIN "20 8002", PTEL_E_VALUE, 4, 30},
        {"flags 2^64-1", HEX_MIN "20 ffffffffffffffffff01", PTEL_E_VALUE, 4, 30},
        {"decision 3", HEX_MIN "40 03", PTEL_E_VALUE, 8, 30},
        {"decision -1", HEX_MIN "40 ffffffffffffffffff01", PTEL_E_VALUE, 8, 30},
        {"limit 2^32", HEX_MIN "4a 06 08 8080808010", PTEL_E_VALUE, 9, 32},
        {"bad utf-8 name", HEX_MIN "5a 02 c328", PTEL_E_UTF8, 11, 32},
        {"bad utf-8 version", HEX_MIN "62 03 eda080", PTEL_E_UTF8, 12, 32},
        {"bad utf-8 hook", HEX_MIN "6a 01 80", PTEL_E_UTF8, 13, 32},
        {"bad utf-8 tracestate", HEX_MIN "32 05 613d31ff20", PTEL_E_UTF8, 6, 32},
        {"bad utf-8 baggage", HEX_MIN "3a 04 6b3d76f5", PTEL_E_UTF8, 7, 32},
        {"invalid tracestate", HEX_MIN "32 07 613d312c423d32", PTEL_E_TRACESTATE, 6, 36},
        {"tracestate empty value", HEX_MIN "32 02 613d", PTEL_E_TRACESTATE, 6, 34},
        {"invalid baggage", HEX_MIN "3a 05 6b3d7620 78", PTEL_E_BAGGAGE, 7, 36},
        {"baggage bad escape", HEX_MIN "3a 05 6b3d2534 67", PTEL_E_BAGGAGE, 7, 34},
        {"truncated id", "08 01 12 10 4bf92f", PTEL_E_TRUNCATED, 2, 2},
        {"truncated varint", HEX_MIN "20 80", PTEL_E_TRUNCATED, 4, 30},
        {"truncated tag", HEX_MIN "80", PTEL_E_TRUNCATED, 0, 30},
        {"truncated fixed64", HEX_MIN "51 0000", PTEL_E_TRUNCATED, 10, 30},
        {"truncated limits", HEX_MIN "4a 02 08", PTEL_E_TRUNCATED, 9, 30},
        {"limits inner truncated", HEX_MIN "4a 01 08", PTEL_E_TRUNCATED, 1, 32},
        {"field number 0", HEX_MIN "00 00", PTEL_E_MALFORMED, 0, 30},
        {"start group", HEX_MIN "7b 7c", PTEL_E_MALFORMED, 15, 30},
        {"wire type 6", HEX_MIN "7e", PTEL_E_MALFORMED, 15, 30},
        {"11-byte varint", HEX_MIN "78 ffffffffffffffffff7f", PTEL_E_MALFORMED, 15, 30},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char buf[256];
        size_t n = test_unhex(buf, cases[i].hex);
        ptel_context *ctx = NULL;
        ptel_diag d = {0, 0, 0, NULL};
        int rc = ptel_context_decode(&ctx, buf, n, NULL, &d);
        test_current = cases[i].name;
        CHECK_EQ_INT(rc, cases[i].status);
        CHECK_EQ_INT(d.status, cases[i].status);
        CHECK_EQ_INT(d.field, cases[i].field);
        CHECK_EQ_INT(d.offset, cases[i].offset);
        CHECK(d.reason != NULL);
        CHECK(ctx == NULL);
        ptel_context_free(ctx);
    }
    test_current = "test_decode_invalid";
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_decode(&ctx, NULL, 1, NULL, NULL), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_context_decode(NULL, (const uint8_t *)"", 0, NULL, NULL),
                 PTEL_E_INVALID_ARGUMENT);
}

typedef struct good_case {
    const char *name;
    const char *in;
    const char *canonical;
} good_case;

static void test_decode_canonicalizes(void) {
    static const good_case cases[] = {
        {"canonical", HEX_FULL, HEX_FULL},
        {"unknown fields of every wire type skipped",
         HEX_MIN "78 05 8201 03 616263 8d01 01020304 9101 0102030405060708 a01f 01", HEX_MIN},
        {"unknown field inside limits skipped", HEX_MIN "4a 04 08 05 60 07", HEX_MIN "4a 02 08 05"},
        {"fields out of order", HEX_SID "20 01 " HEX_TID "08 01", HEX_MIN "20 01"},
        {"non-minimal varints", "08 8100 " HEX_TID HEX_SID "20 818000", HEX_MIN "20 01"},
        {"explicit defaults omitted",
         HEX_MIN "20 00 28 00 32 00 3a 00 40 00 4a 00 51 0000000000000000 5a 00 70 00", HEX_MIN},
        {"zero limits omitted", HEX_MIN "4a 04 08 00 10 00", HEX_MIN},
        {"bool 2 is true", HEX_MIN "28 02", HEX_MIN "28 01"},
        {"last scalar wins", HEX_MIN "20 03 40 01 20 01 40 02", HEX_MIN "20 01 40 02"},
        {"version repeated, last is 1", "08 07 " HEX_MIN, HEX_MIN},
        {"last trace_id wins", "08 01 12 10 11111111111111111111111111111111 " HEX_SID HEX_TID,
         HEX_MIN},
        {"last string wins", HEX_MIN "5a 01 61 5a 01 62", HEX_MIN "5a 01 62"},
        {"limits messages merge", HEX_MIN "4a 04 08 01 10 02 4a 04 10 03 58 04",
         HEX_MIN "4a 06 08 01 10 03 58 04"},
        {"tracestate normalised", HEX_MIN "32 0a 20613d312c2c623d3220",
         HEX_MIN "32 07 613d312c623d32"},
        {"tracestate duplicate dropped", HEX_MIN "32 0b 613d312c623d322c613d33",
         HEX_MIN "32 07 613d312c623d32"},
        {"tracestate only OWS becomes empty", HEX_MIN "32 03 202c09", HEX_MIN},
        {"baggage normalised", HEX_MIN "3a 09 6b203d2076203b2070", HEX_MIN "3a 05 6b3d763b70"},
        {"flags all bits kept", HEX_MIN "20 ff01", HEX_MIN "20 ff01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char in[512], want[512];
        size_t n = test_unhex(in, cases[i].in), wn = test_unhex(want, cases[i].canonical);
        ptel_context *ctx = NULL;
        test_current = cases[i].name;
        CHECK_EQ_INT(ptel_context_decode(&ctx, in, n, NULL, NULL), 0);
        if (!ctx) continue;
        size_t got_n;
        uint8_t *got = encode_all(ctx, &got_n);
        CHECK_EQ_INT(got_n, wn);
        CHECK(got_n == wn && memcmp(got, want, wn) == 0);
        free(got);
        ptel_context_free(ctx);
    }
    test_current = "test_decode_canonicalizes";
}

static void test_size_queries(void) {
    ptel_context_fields f;
    full_fields(&f);
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, NULL), 0);
    if (!ctx) return;
    uint8_t buf[256];
    size_t n = 12345;
    CHECK_EQ_INT(ptel_context_encode(ctx, NULL, 0, &n), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, 118);
    memset(buf, 0xaa, sizeof buf);
    CHECK_EQ_INT(ptel_context_encode(ctx, buf, 117, &n), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, 118);
    CHECK_EQ_INT(buf[0], 0xaa); /* nothing written */
    CHECK_EQ_INT(ptel_context_encode(ctx, buf, 118, &n), 0);
    CHECK_EQ_INT(buf[118], 0xaa);
    CHECK_EQ_INT(ptel_context_encode(ctx, buf, 118, NULL), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_context_encode(NULL, buf, 118, &n), PTEL_E_INVALID_ARGUMENT);

    char tp[64];
    CHECK_EQ_INT(ptel_context_traceparent(ctx, tp, 55, &n), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, 55);
    CHECK_EQ_INT(ptel_context_traceparent(ctx, tp, 56, &n), 0);
    CHECK_STR(tp, n, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    CHECK_EQ_INT(tp[55], 0);

    char env[512];
    size_t need;
    CHECK_EQ_INT(ptel_context_to_env(ctx, NULL, 0, &need), PTEL_E_BUFFER_TOO_SMALL);
    /* 68 + "TRACESTATE=" 11 + 17 + 1 + "BAGGAGE=" 8 + 3 + 1 + 13 + 160 + 1 */
    CHECK_EQ_INT(need, 68 + 29 + 12 + 13 + 160 + 1);
    CHECK_EQ_INT(ptel_context_to_env(ctx, env, need - 1, &n), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, need);
    CHECK_EQ_INT(ptel_context_to_env(ctx, env, need, &n), 0);
    ptel_context_free(ctx);
}

static void test_traceparent_masks_flags(void) {
    ptel_context_fields f;
    min_fields(&f);
    f.parent.trace_flags = 0xff;
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, NULL), 0);
    if (!ctx) return;
    char tp[56];
    size_t n;
    CHECK_EQ_INT(ptel_context_traceparent(ctx, tp, sizeof tp, &n), 0);
    CHECK_STR(tp, n, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
    ptel_context_free(ctx);
}

static void test_from_w3c(void) {
    const char *tp1 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const char *tp0 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
    const char *tp2 = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-02";
    ptel_context *ctx = NULL;
    ptel_context_fields g;

    CHECK_EQ_INT(ptel_context_from_w3c(&ctx, tp1, 55, "a=1, b=2", 8, "k=v", 3, NULL, NULL), 0);
    if (ctx) {
        ptel_context_get(ctx, &g);
        CHECK_EQ_INT(g.protocol_version, 1);
        CHECK_MEM(g.parent.trace_id, TRACE_ID, 16);
        CHECK_MEM(g.parent.span_id, SPAN_ID, 8);
        CHECK_EQ_INT(g.parent.trace_flags, 1);
        CHECK(g.parent.is_remote);
        CHECK_EQ_INT(g.decision, PTEL_DECISION_RECORD_AND_SAMPLE);
        CHECK_STR(g.tracestate.ptr, g.tracestate.len, "a=1,b=2");
        CHECK_STR(g.baggage.ptr, g.baggage.len, "k=v");
        CHECK_EQ_INT(g.plugin_name.len, 0);
        size_t n;
        uint8_t *bytes = encode_all(ctx, &n);
        unsigned char want[128];
        size_t wn = test_unhex(want, HEX_MIN "20 01 28 01 32 07 613d312c623d32 3a 03 6b3d76 40 02");
        CHECK(n == wn && memcmp(bytes, want, n) == 0);
        free(bytes);
        ptel_context_free(ctx);
    }

    /* Unsampled: DROP. Random flag without sampled: still DROP, flag kept. */
    CHECK_EQ_INT(ptel_context_from_w3c(&ctx, tp0, 55, NULL, 0, NULL, 0, NULL, NULL), 0);
    if (ctx) {
        ptel_context_get(ctx, &g);
        CHECK_EQ_INT(g.decision, PTEL_DECISION_DROP);
        CHECK_EQ_INT(g.parent.trace_flags, 0);
        ptel_context_free(ctx);
    }
    CHECK_EQ_INT(ptel_context_from_w3c(&ctx, tp2, 55, "", 0, "", 0, NULL, NULL), 0);
    if (ctx) {
        ptel_context_get(ctx, &g);
        CHECK_EQ_INT(g.decision, PTEL_DECISION_DROP);
        CHECK_EQ_INT(g.parent.trace_flags, 2);
        ptel_context_free(ctx);
    }

    /* Invalid tracestate and baggage are dropped silently. */
    ptel_diag d = {0, 0, 0, NULL};
    CHECK_EQ_INT(ptel_context_from_w3c(&ctx, tp1, 55, "foo=bar=baz", 11, "k=\xff", 3, NULL, &d), 0);
    CHECK(d.reason == NULL);
    if (ctx) {
        ptel_context_get(ctx, &g);
        CHECK_EQ_INT(g.tracestate.len, 0);
        CHECK_EQ_INT(g.baggage.len, 0);
        CHECK_EQ_INT(g.decision, PTEL_DECISION_RECORD_AND_SAMPLE);
        ptel_context_free(ctx);
    }
    /* Tracestate valid, baggage invalid: only baggage goes. */
    CHECK_EQ_INT(ptel_context_from_w3c(&ctx, tp1, 55, "x=y", 3, ";", 1, NULL, NULL), 0);
    if (ctx) {
        ptel_context_get(ctx, &g);
        CHECK_STR(g.tracestate.ptr, g.tracestate.len, "x=y");
        CHECK_EQ_INT(g.baggage.len, 0);
        ptel_context_free(ctx);
    }
    /* Future version with OWS is accepted; the context re-emits 00. */
    const char *future = " cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-extra\t";
    CHECK_EQ_INT(ptel_context_from_w3c(&ctx, future, strlen(future), NULL, 0, NULL, 0, NULL, NULL),
                 0);
    if (ctx) {
        char tp[56];
        size_t n;
        ptel_context_traceparent(ctx, tp, sizeof tp, &n);
        CHECK_STR(tp, n, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        ptel_context_get(ctx, &g);
        CHECK_EQ_INT(g.parent.trace_flags, 9);
        ptel_context_free(ctx);
    }

    /* Invalid traceparent fails. */
    ctx = (ptel_context *)&g;
    const char *bad = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
    CHECK_EQ_INT(ptel_context_from_w3c(&ctx, bad, 55, "a=1", 3, NULL, 0, NULL, &d),
                 PTEL_E_TRACEPARENT);
    CHECK(ctx == NULL);
    CHECK_EQ_INT(d.offset, 3);
    CHECK_EQ_INT(ptel_context_from_w3c(&ctx, NULL, 0, NULL, 0, NULL, 0, NULL, &d),
                 PTEL_E_TRACEPARENT);
    CHECK_EQ_INT(ptel_context_from_w3c(&ctx, tp1, 55, NULL, 4, NULL, 0, NULL, &d),
                 PTEL_E_INVALID_ARGUMENT);
}

/* ---- environment carrier --------------------------------------------------- */

typedef struct fake_env {
    const char *names[8];
    const char *values[8];
    int count;
    int lookups;
} fake_env;

static const char *fake_getenv(void *ud, const char *name) {
    fake_env *e = ud;
    e->lookups++;
    for (int i = 0; i < e->count; i++)
        if (strcmp(e->names[i], name) == 0) return e->values[i];
    return NULL;
}

static void fake_set(fake_env *e, const char *name, const char *value) {
    e->names[e->count] = name;
    e->values[e->count] = value;
    e->count++;
}

/* Split a to_env block into a fake environment (pointers into `block`). */
static void fake_from_block(fake_env *e, char *block, size_t n) {
    memset(e, 0, sizeof *e);
    size_t i = 0;
    while (i < n) {
        char *entry = block + i;
        size_t len = strlen(entry);
        char *eq = strchr(entry, '=');
        CHECK(eq != NULL);
        if (!eq) return;
        *eq = '\0';
        fake_set(e, entry, eq + 1);
        i += len + 1;
    }
    CHECK_EQ_INT(i, n);
}

static void test_env_roundtrip(void) {
    ptel_context_fields f;
    full_fields(&f);
    f.parent.trace_flags = 0x81; /* the unknown bit survives only in PTEL_CONTEXT */
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, NULL), 0);
    if (!ctx) return;
    char block[1024];
    size_t n;
    CHECK_EQ_INT(ptel_context_to_env(ctx, block, sizeof block, &n), 0);
    fake_env e;
    fake_from_block(&e, block, n);
    CHECK_EQ_INT(e.count, 4);
    CHECK(strcmp(e.names[0], "TRACEPARENT") == 0);
    CHECK(strcmp(e.values[0], "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == 0);
    CHECK(strcmp(e.names[1], "TRACESTATE") == 0);
    CHECK(strcmp(e.values[1], "congo=t61rcWkgMzE") == 0);
    CHECK(strcmp(e.names[2], "BAGGAGE") == 0);
    CHECK(strcmp(e.values[2], "k=v") == 0);
    CHECK(strcmp(e.names[3], "PTEL_CONTEXT") == 0);

    ptel_context *back = NULL;
    CHECK_EQ_INT(ptel_context_from_env(&back, fake_getenv, &e, NULL, NULL), 0);
    if (back) {
        size_t n1, n2;
        uint8_t *a = encode_all(ctx, &n1), *b = encode_all(back, &n2);
        CHECK(n1 == n2 && memcmp(a, b, n1) == 0);
        ptel_context_fields g;
        ptel_context_get(back, &g);
        CHECK_EQ_INT(g.parent.trace_flags, 0x81);
        free(a);
        free(b);
        ptel_context_free(back);
    }

    /* Without PTEL_CONTEXT the W3C variables are used. */
    e.count = 3;
    CHECK_EQ_INT(ptel_context_from_env(&back, fake_getenv, &e, NULL, NULL), 0);
    if (back) {
        ptel_context_fields g;
        ptel_context_get(back, &g);
        CHECK_EQ_INT(g.parent.trace_flags, 0x01);
        CHECK_EQ_INT(g.decision, PTEL_DECISION_RECORD_AND_SAMPLE);
        CHECK(g.parent.is_remote);
        CHECK_STR(g.tracestate.ptr, g.tracestate.len, "congo=t61rcWkgMzE");
        CHECK_STR(g.baggage.ptr, g.baggage.len, "k=v");
        CHECK_EQ_INT(g.plugin_name.len, 0);
        ptel_context_free(back);
    }
    ptel_context_free(ctx);
}

static void test_env_exact(void) {
    ptel_context_fields f;
    min_fields(&f);
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, NULL, NULL), 0);
    if (!ctx) return;
    char block[256];
    size_t n;
    CHECK_EQ_INT(ptel_context_to_env(ctx, block, sizeof block, &n), 0);
    /* base64 of 08 01 12 10 <trace id> 1a 08 <span id>, checked with
     * `xxd -r -p | base64`. */
    static const char want[] =
        "TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00\0"
        "PTEL_CONTEXT=CAESEEv5LzV3s02mo86SnQ4ORzYaCADwZ6oLqQK3";
    CHECK_EQ_INT(n, sizeof want);
    CHECK(n == sizeof want && memcmp(block, want, n) == 0);
    ptel_context_free(ctx);
}

static void test_env_errors(void) {
    fake_env e;
    ptel_context *ctx = NULL;
    ptel_diag d;
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    memset(&e, 0, sizeof e);
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, NULL, &d), PTEL_E_NOT_FOUND);
    fake_set(&e, "TRACEPARENT", "");
    fake_set(&e, "PTEL_CONTEXT", "");
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, NULL, &d), PTEL_E_NOT_FOUND);

    /* Invalid PTEL_CONTEXT does not fall back to a valid TRACEPARENT. */
    memset(&e, 0, sizeof e);
    fake_set(&e, "TRACEPARENT", tp);
    fake_set(&e, "PTEL_CONTEXT", "not base64!");
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, NULL, &d), PTEL_E_MALFORMED);
    CHECK(ctx == NULL);
    e.values[1] = "CAI="; /* 08 02: version 2 */
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, NULL, &d), PTEL_E_VERSION);
    e.values[1] = "CAE="; /* 08 01: no ids */
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, NULL, &d), PTEL_E_INVALID_ID);
    e.values[1] = "CAE"; /* missing padding */
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, NULL, &d), PTEL_E_MALFORMED);

    /* Invalid TRACEPARENT fails; invalid TRACESTATE / BAGGAGE are dropped. */
    memset(&e, 0, sizeof e);
    fake_set(&e, "TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0");
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, NULL, &d), PTEL_E_TRACEPARENT);
    e.values[0] = tp;
    fake_set(&e, "TRACESTATE", "Bad=1");
    fake_set(&e, "BAGGAGE", "k=v");
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, NULL, &d), 0);
    if (ctx) {
        ptel_context_fields g;
        ptel_context_get(ctx, &g);
        CHECK_EQ_INT(g.tracestate.len, 0);
        CHECK_STR(g.baggage.ptr, g.baggage.len, "k=v");
        ptel_context_free(ctx);
    }
    CHECK_EQ_INT(ptel_context_from_env(NULL, fake_getenv, &e, NULL, &d), PTEL_E_INVALID_ARGUMENT);
}

static void test_env_process(void) {
    /* The default lookup reads the real environment. */
    setenv("PTEL_CONTEXT", "CAESEEv5LzV3s02mo86SnQ4ORzYaCADwZ6oLqQK3", 1);
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_from_env(&ctx, NULL, NULL, NULL, NULL), 0);
    if (ctx) {
        ptel_context_fields g;
        ptel_context_get(ctx, &g);
        CHECK_MEM(g.parent.trace_id, TRACE_ID, 16);
        ptel_context_free(ctx);
    }
    unsetenv("PTEL_CONTEXT");
}

/* ---- allocator -------------------------------------------------------------- */

typedef struct count_alloc {
    int live, total, fail_after;
    size_t bytes;
} count_alloc;

static void *count_realloc(void *ud, void *p, size_t old, size_t n) {
    count_alloc *c = ud;
    if (n == 0) {
        if (p) {
            c->live--;
            c->bytes -= old;
        }
        free(p);
        return NULL;
    }
    if (c->fail_after >= 0 && c->total >= c->fail_after) return NULL;
    c->total++;
    if (!p) c->live++;
    c->bytes += n - old;
    return realloc(p, n);
}

static void test_allocator(void) {
    count_alloc c = {0, 0, -1, 0};
    ptel_allocator a = {count_realloc, &c};
    ptel_context_fields f;
    full_fields(&f);
    ptel_context *ctx = NULL;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, &a, NULL), 0);
    CHECK_EQ_INT(c.total, 1); /* one allocation: struct and strings */
    CHECK_EQ_INT(c.live, 1);
    ptel_context_free(ctx);
    CHECK_EQ_INT(c.live, 0);
    CHECK_EQ_INT(c.bytes, 0);

    c.fail_after = 0;
    c.total = 0;
    ptel_diag d;
    CHECK_EQ_INT(ptel_context_new(&ctx, &f, &a, &d), PTEL_E_NOMEM);
    CHECK(ctx == NULL);

    /* from_env with PTEL_CONTEXT: scratch buffer freed again. */
    c.fail_after = -1;
    fake_env e;
    memset(&e, 0, sizeof e);
    fake_set(&e, "PTEL_CONTEXT", "CAESEEv5LzV3s02mo86SnQ4ORzYaCADwZ6oLqQK3");
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, &a, NULL), 0);
    CHECK_EQ_INT(c.live, 1);
    ptel_context_free(ctx);
    CHECK_EQ_INT(c.live, 0);
    CHECK_EQ_INT(c.bytes, 0);
    c.fail_after = c.total; /* scratch allocation fails */
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, &a, NULL), PTEL_E_NOMEM);
    c.fail_after = c.total + 1; /* context allocation fails, scratch freed */
    CHECK_EQ_INT(ptel_context_from_env(&ctx, fake_getenv, &e, &a, NULL), PTEL_E_NOMEM);
    CHECK_EQ_INT(c.live, 0);
}

/* ---- base64 (internal) -------------------------------------------------------- */

static void test_base64(void) {
    /* RFC 4648 §10 vectors. */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                        "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        size_t n, pn = strlen(plain[i]);
        CHECK_EQ_INT(ptel__base64_encoded_len(pn), strlen(coded[i]));
        CHECK_EQ_INT(ptel__base64_encode(NULL, 0, &n, (const uint8_t *)plain[i], pn),
                     PTEL_E_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(n, strlen(coded[i]));
        CHECK_EQ_INT(ptel__base64_encode(out, sizeof out, &n, (const uint8_t *)plain[i], pn), 0);
        CHECK(n == strlen(coded[i]) && memcmp(out, coded[i], n) == 0);
        uint8_t dec[16];
        CHECK_EQ_INT(ptel__base64_decode(NULL, 0, &n, coded[i], strlen(coded[i]), NULL),
                     PTEL_E_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(n, pn);
        CHECK_EQ_INT(ptel__base64_decode(dec, sizeof dec, &n, coded[i], strlen(coded[i]), NULL), 0);
        CHECK(n == pn && memcmp(dec, plain[i], n) == 0);
    }
    /* All 256 byte values through both directions. */
    uint8_t all[256], back[256];
    char text[344];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    size_t n;
    CHECK_EQ_INT(ptel__base64_encode(text, sizeof text, &n, all, 256), 0);
    CHECK_EQ_INT(n, 344);
    CHECK(memcmp(text, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEy",
                 68) == 0);
    CHECK(memcmp(text + 336, "/P3+/w==", 8) == 0);
    CHECK_EQ_INT(ptel__base64_decode(back, sizeof back, &n, text, 344, NULL), 0);
    CHECK(n == 256 && memcmp(back, all, 256) == 0);

    static const struct {
        const char *in;
        uint64_t offset;
    } bad[] = {
        {"Zg=", 3},  {"Zg", 2},       {"Zh==", 1},     {"Zm9=", 2},       {"Z===", 1},
        {"====", 0}, {"Zm9v====", 4}, {"Zm=v", 3},     {"Zm9\n", 3},      {"Zm9v Zm9v", 9},
        {"Zm-v", 2}, {"Zm_v", 2},     {"Zg==Zg==", 2}, {"Z\xc3\xa9v", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t out[16];
        ptel_diag d = {0, 0, 0, NULL};
        int rc = ptel__base64_decode(out, sizeof out, &n, bad[i].in, strlen(bad[i].in), &d);
        if (rc != PTEL_E_MALFORMED || d.offset != bad[i].offset)
            fprintf(stderr, "base64 case %zu (%s): rc %d offset %llu\n", i, bad[i].in, rc,
                    (unsigned long long)d.offset);
        CHECK_EQ_INT(rc, PTEL_E_MALFORMED);
        CHECK_EQ_INT(d.offset, bad[i].offset);
        CHECK_EQ_INT(n, 0);
    }
    /* Too small a buffer: size query, nothing written. */
    uint8_t small[2] = {7, 7};
    CHECK_EQ_INT(ptel__base64_decode(small, 2, &n, "Zm9v", 4, NULL), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(small[0], 7);
    char small_text[3] = {7, 7, 7};
    CHECK_EQ_INT(ptel__base64_encode(small_text, 3, &n, (const uint8_t *)"foo", 3),
                 PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(small_text[0], 7);
}

int main(void) {
    RUN(test_encode_exact);
    RUN(test_get_roundtrip);
    RUN(test_new_normalizes);
    RUN(test_new_invalid);
    RUN(test_size_limit);
    RUN(test_decode_invalid);
    RUN(test_decode_canonicalizes);
    RUN(test_size_queries);
    RUN(test_traceparent_masks_flags);
    RUN(test_from_w3c);
    RUN(test_env_roundtrip);
    RUN(test_env_exact);
    RUN(test_env_errors);
    RUN(test_env_process);
    RUN(test_allocator);
    RUN(test_base64);
    return test_summary();
}
