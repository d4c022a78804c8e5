/* W3C Trace Context and Baggage: the value-level cases of the official
 * trace-context harness (w3c/trace-context test/test.py at acab820, which
 * has the current tracestate key grammar) as tables, plus truncation,
 * baggage limits, percent-encoding and UTF-8 replacement. */
#include "test.h"

#include <ptel/ptel.h>

#include <stdlib.h>

#define TP_IDS "12345678901234567890123456789012-1234567890123456"

/* ---- traceparent ------------------------------------------------------------- */

typedef struct tp_case {
    const char *name;
    const char *in;
    int status;      /* 0 or PTEL_E_TRACEPARENT */
    uint64_t offset; /* diag offset when invalid */
    uint8_t version, flags;
} tp_case;

static const tp_case TP_CASES[] = {
    /* Valid (harness: included, casing, 0xcc, OWS, Level 2 random flag). */
    {"sampled", "00-" TP_IDS "-01", 0, 0, 0x00, 0x01},
    {"not sampled", "00-" TP_IDS "-00", 0, 0, 0x00, 0x00},
    {"random flag (Level 2)", "00-" TP_IDS "-02", 0, 0, 0x00, 0x02},
    {"random and sampled", "00-" TP_IDS "-03", 0, 0, 0x00, 0x03},
    {"unknown flags kept on parse", "00-" TP_IDS "-ff", 0, 0, 0x00, 0xff},
    {"version cc", "cc-" TP_IDS "-01", 0, 0, 0xcc, 0x01},
    {"version cc with future suffix", "cc-" TP_IDS "-01-what-the-future-will-be-like", 0, 0, 0xcc,
     0x01},
    {"version cc with bare dash", "cc-" TP_IDS "-01-", 0, 0, 0xcc, 0x01},
    {"version fe", "fe-" TP_IDS "-09", 0, 0, 0xfe, 0x09},
    {"version 01", "01-" TP_IDS "-00", 0, 0, 0x01, 0x00},
    {"leading space", " 00-" TP_IDS "-01", 0, 0, 0x00, 0x01},
    {"leading tab", "\t00-" TP_IDS "-01", 0, 0, 0x00, 0x01},
    {"trailing space", "00-" TP_IDS "-01 ", 0, 0, 0x00, 0x01},
    {"trailing tab", "00-" TP_IDS "-01\t", 0, 0, 0x00, 0x01},
    {"OWS both sides", "\t 00-" TP_IDS "-01 \t", 0, 0, 0x00, 0x01},
    {"OWS around future version", "  cc-" TP_IDS "-01-x  ", 0, 0, 0xcc, 0x01},

    /* Version 00 with trailing data. */
    {"00 trailing dot", "00-" TP_IDS "-01.", PTEL_E_TRACEPARENT, 55, 0, 0},
    {"00 trailing future", "00-" TP_IDS "-01-what-the-future-will-be-like", PTEL_E_TRACEPARENT, 55,
     0, 0},
    {"00 trailing dash", "00-" TP_IDS "-01-", PTEL_E_TRACEPARENT, 55, 0, 0},
    {"00 trailing newline", "00-" TP_IDS "-01\n", PTEL_E_TRACEPARENT, 55, 0, 0},
    {"cc with dot suffix", "cc-" TP_IDS "-01.what-the-future-will-be-like", PTEL_E_TRACEPARENT, 55,
     0, 0},
    {"cc too short", "cc-" TP_IDS "-0", PTEL_E_TRACEPARENT, 54, 0, 0},
    /* Version. */
    {"version ff", "ff-" TP_IDS "-01", PTEL_E_TRACEPARENT, 0, 0, 0},
    {"version .0", ".0-" TP_IDS "-01", PTEL_E_TRACEPARENT, 0, 0, 0},
    {"version 0.", "0.-" TP_IDS "-01", PTEL_E_TRACEPARENT, 1, 0, 0},
    {"version 000", "000-" TP_IDS "-01", PTEL_E_TRACEPARENT, 2, 0, 0},
    {"version 0000", "0000-" TP_IDS "-01", PTEL_E_TRACEPARENT, 2, 0, 0},
    {"version 0", "0-" TP_IDS "-01", PTEL_E_TRACEPARENT, 1, 0, 0},
    {"version uppercase", "0A-" TP_IDS "-01", PTEL_E_TRACEPARENT, 1, 0, 0},
    {"version FF uppercase", "FF-" TP_IDS "-01", PTEL_E_TRACEPARENT, 0, 0, 0},
    /* trace-id. */
    {"trace-id all zero", "00-00000000000000000000000000000000-1234567890123456-01",
     PTEL_E_TRACEPARENT, 3, 0, 0},
    {"trace-id leading dot", "00-.2345678901234567890123456789012-1234567890123456-01",
     PTEL_E_TRACEPARENT, 3, 0, 0},
    {"trace-id trailing dot", "00-1234567890123456789012345678901.-1234567890123456-01",
     PTEL_E_TRACEPARENT, 34, 0, 0},
    {"trace-id too long", "00-123456789012345678901234567890123-1234567890123456-01",
     PTEL_E_TRACEPARENT, 35, 0, 0},
    {"trace-id too short", "00-1234567890123456789012345678901-1234567890123456-01",
     PTEL_E_TRACEPARENT, 34, 0, 0},
    {"trace-id uppercase", "00-4BF92F3577B34DA6A3CE929D0E0E4736-1234567890123456-01",
     PTEL_E_TRACEPARENT, 4, 0, 0},
    /* parent-id. */
    {"parent-id all zero", "00-12345678901234567890123456789012-0000000000000000-01",
     PTEL_E_TRACEPARENT, 36, 0, 0},
    {"parent-id leading dot", "00-12345678901234567890123456789012-.234567890123456-01",
     PTEL_E_TRACEPARENT, 36, 0, 0},
    {"parent-id trailing dot", "00-12345678901234567890123456789012-123456789012345.-01",
     PTEL_E_TRACEPARENT, 51, 0, 0},
    {"parent-id too long", "00-12345678901234567890123456789012-12345678901234567-01",
     PTEL_E_TRACEPARENT, 52, 0, 0},
    {"parent-id too short", "00-12345678901234567890123456789012-123456789012345-01",
     PTEL_E_TRACEPARENT, 51, 0, 0},
    {"parent-id uppercase", "00-12345678901234567890123456789012-00F067AA0BA902B7-01",
     PTEL_E_TRACEPARENT, 38, 0, 0},
    /* trace-flags. */
    {"flags .0", "00-" TP_IDS "-.0", PTEL_E_TRACEPARENT, 53, 0, 0},
    {"flags 0.", "00-" TP_IDS "-0.", PTEL_E_TRACEPARENT, 54, 0, 0},
    {"flags too long", "00-" TP_IDS "-001", PTEL_E_TRACEPARENT, 55, 0, 0},
    {"flags too short", "00-" TP_IDS "-1", PTEL_E_TRACEPARENT, 54, 0, 0},
    {"flags uppercase", "00-" TP_IDS "-0A", PTEL_E_TRACEPARENT, 54, 0, 0},
    {"flags missing", "00-" TP_IDS "-", PTEL_E_TRACEPARENT, 53, 0, 0},
    /* Shape. */
    {"empty", "", PTEL_E_TRACEPARENT, 0, 0, 0},
    {"only OWS", " \t ", PTEL_E_TRACEPARENT, 3, 0, 0},
    {"version only", "00", PTEL_E_TRACEPARENT, 2, 0, 0},
    {"no dash after trace-id", "00-12345678901234567890123456789012", PTEL_E_TRACEPARENT, 35, 0, 0},
    {"space inside", "00 -" TP_IDS "-01", PTEL_E_TRACEPARENT, 2, 0, 0},
    {"wrong separator", "00_" TP_IDS "-01", PTEL_E_TRACEPARENT, 2, 0, 0},
    {"separator after trace-id", "00-12345678901234567890123456789012_1234567890123456-01",
     PTEL_E_TRACEPARENT, 35, 0, 0},
    {"separator after parent-id", "00-12345678901234567890123456789012-1234567890123456_01",
     PTEL_E_TRACEPARENT, 52, 0, 0},
    {"leading OWS offsets", "  00-00000000000000000000000000000000-1234567890123456-01",
     PTEL_E_TRACEPARENT, 5, 0, 0},
};

static void test_traceparent_table(void) {
    static const uint8_t tid[16] = {0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56,
                                    0x78, 0x90, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12};
    static const uint8_t pid[8] = {0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56};
    for (size_t i = 0; i < sizeof TP_CASES / sizeof TP_CASES[0]; i++) {
        const tp_case *c = &TP_CASES[i];
        test_current = c->name;
        ptel_traceparent tp;
        memset(&tp, 0x5a, sizeof tp);
        ptel_diag d = {0, 0, 0, NULL};
        int rc = ptel_traceparent_parse(&tp, c->in, strlen(c->in), &d);
        CHECK_EQ_INT(rc, c->status);
        if (c->status == 0) {
            CHECK_EQ_INT(tp.version, c->version);
            CHECK_EQ_INT(tp.trace_flags, c->flags);
            CHECK_MEM(tp.trace_id, tid, 16);
            CHECK_MEM(tp.parent_id, pid, 8);
            CHECK(d.reason == NULL);
        } else {
            CHECK_EQ_INT(d.status, c->status);
            CHECK_EQ_INT(d.offset, c->offset);
            CHECK(d.reason != NULL);
            CHECK_EQ_INT(tp.version, 0x5a); /* untouched on failure */
        }
    }
    test_current = "test_traceparent_table";
}

static void test_traceparent_reasons(void) {
    ptel_traceparent tp;
    ptel_diag d;
    CHECK_EQ_INT(ptel_traceparent_parse(&tp, "ff-" TP_IDS "-01", 55, &d), PTEL_E_TRACEPARENT);
    CHECK(strcmp(d.reason, "version ff is invalid") == 0);
    CHECK_EQ_INT(ptel_traceparent_parse(&tp, "00-" TP_IDS "-01x", 56, &d), PTEL_E_TRACEPARENT);
    CHECK(strcmp(d.reason, "trailing data after version 00") == 0);
    CHECK_EQ_INT(ptel_traceparent_parse(&tp, "00-" TP_IDS "-01", 30, &d), PTEL_E_TRACEPARENT);
    CHECK(strcmp(d.reason, "traceparent too short") == 0);
    CHECK_EQ_INT(d.offset, 30);
    CHECK_EQ_INT(ptel_traceparent_parse(&tp, "00-0000000000000000000000000000000-0", 36, &d),
                 PTEL_E_TRACEPARENT);
    CHECK(strcmp(d.reason, "trace-id is not 32 lowercase hex digits") == 0);
    /* Length bounds the read: a valid header cut short is invalid. */
    const char *full = "00-" TP_IDS "-01";
    for (size_t n = 0; n < 55; n++)
        CHECK_EQ_INT(ptel_traceparent_parse(&tp, full, n, NULL), PTEL_E_TRACEPARENT);
    /* Embedded NUL is just an invalid character. */
    CHECK_EQ_INT(ptel_traceparent_parse(&tp, "00-" TP_IDS "-0\0", 55, &d), PTEL_E_TRACEPARENT);
    CHECK_EQ_INT(d.offset, 54);
    CHECK_EQ_INT(ptel_traceparent_parse(NULL, full, 55, &d), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_traceparent_parse(&tp, NULL, 55, &d), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_traceparent_parse(&tp, NULL, 0, &d), PTEL_E_TRACEPARENT);
}

static void test_traceparent_format(void) {
    ptel_traceparent tp;
    CHECK_EQ_INT(ptel_traceparent_parse(&tp, "cc-" TP_IDS "-ff-future", 62, NULL), 0);
    char buf[64];
    size_t n = 0;
    memset(buf, 'x', sizeof buf);
    CHECK_EQ_INT(ptel_traceparent_format(buf, 55, &n, &tp), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, 55);
    CHECK_EQ_INT(buf[0], 'x');
    CHECK_EQ_INT(ptel_traceparent_format(NULL, 0, &n, &tp), PTEL_E_BUFFER_TOO_SMALL);
    CHECK_EQ_INT(n, 55);
    CHECK_EQ_INT(ptel_traceparent_format(buf, 56, &n, &tp), 0);
    /* Version 00 out; only sampled and random flags survive. */
    CHECK_STR(buf, n, "00-" TP_IDS "-03");
    CHECK_EQ_INT(buf[55], '\0');
    CHECK_EQ_INT(buf[56], 'x');
    tp.trace_flags = 0xfc;
    CHECK_EQ_INT(ptel_traceparent_format(buf, sizeof buf, &n, &tp), 0);
    CHECK_STR(buf, n, "00-" TP_IDS "-00");
    tp.trace_flags = 0x02;
    CHECK_EQ_INT(ptel_traceparent_format(buf, sizeof buf, &n, &tp), 0);
    CHECK_STR(buf, n, "00-" TP_IDS "-02");
    CHECK_EQ_INT(ptel_traceparent_format(buf, sizeof buf, &n, NULL), PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_traceparent_format(buf, sizeof buf, NULL, &tp), PTEL_E_INVALID_ARGUMENT);
    /* Round trip of every flags value. */
    for (int f = 0; f < 256; f++) {
        ptel_traceparent a = tp, b;
        a.trace_flags = (uint8_t)f;
        CHECK_EQ_INT(ptel_traceparent_format(buf, sizeof buf, &n, &a), 0);
        CHECK_EQ_INT(ptel_traceparent_parse(&b, buf, n, NULL), 0);
        CHECK_EQ_INT(b.trace_flags, f & 3);
        CHECK_MEM(b.trace_id, a.trace_id, 16);
        CHECK_MEM(b.parent_id, a.parent_id, 8);
    }
}

/* ---- tracestate --------------------------------------------------------------- */

static char *repeat(char *w, char c, size_t n) {
    memset(w, c, n);
    return w + n;
}

static char *append(char *w, const char *s) {
    size_t n = strlen(s);
    memcpy(w, s, n);
    return w + n;
}

typedef struct ts_case {
    const char *name;
    const char *in;
    const char *out; /* NULL when invalid */
    uint64_t offset;
} ts_case;

#define TS_ALL_KEY "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
#define TS_ALL_VALUE                                                                               \
    " !\"#$%&'()*+-./"                                                                             \
    "0123456789:;<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"

static const ts_case TS_CASES[] = {
    /* Harness: inherit, empty headers, multiple headers joined in order. */
    {"inherit", "foo=1,bar=2", "foo=1,bar=2", 0},
    {"empty header", "", "", 0},
    {"empty then value", ",foo=1", "foo=1", 0},
    {"value then empty", "foo=1,", "foo=1", 0},
    {"multiple headers", "foo=1,bar=2,rojo=1,congo=2,baz=3", "foo=1,bar=2,rojo=1,congo=2,baz=3", 0},
    /* Duplicated keys: we keep the first. */
    {"duplicate same value", "foo=1,foo=1", "foo=1", 0},
    {"duplicate other value", "foo=1,foo=2", "foo=1", 0},
    {"duplicate not adjacent", "foo=1,bar=2,foo=3,baz=4", "foo=1,bar=2,baz=4", 0},
    /* All allowed characters. */
    {"all characters, no vendor", TS_ALL_KEY "=" TS_ALL_VALUE, TS_ALL_KEY "=" TS_ALL_VALUE, 0},
    {"all characters, vendor", TS_ALL_KEY "@a-z0-9_-*/=" TS_ALL_VALUE,
     TS_ALL_KEY "@a-z0-9_-*/=" TS_ALL_VALUE, 0},
    /* OWS. */
    {"OWS spaces and tabs", "foo=1 \t , \t bar=2, \t baz=3", "foo=1,bar=2,baz=3", 0},
    {"OWS tabs", "foo=1\t \t,\t \tbar=2,\t \tbaz=3", "foo=1,bar=2,baz=3", 0},
    {"leading space", " foo=1", "foo=1", 0},
    {"leading tab", "\tfoo=1", "foo=1", 0},
    {"trailing space", "foo=1 ", "foo=1", 0},
    {"trailing tab", "foo=1\t", "foo=1", 0},
    {"OWS both", "\t foo=1 \t", "foo=1", 0},
    {"only empty members", " , ,\t,", "", 0},
    {"value keeps leading and inner spaces", "foo=  a b", "foo=  a b", 0},
    /* Illegal key characters. */
    {"space before '='", "foo =1", NULL, 3},
    {"uppercase key", "FOO=1", NULL, 0},
    {"dot in key", "foo.bar=1", NULL, 3},
    {"uppercase later in key", "fOo=1", NULL, 1},
    /* '@' in keys: the current grammar. */
    {"foo@=1", "foo@=1,bar=2", "foo@=1,bar=2", 0},
    {"@foo=1", "@foo=1,bar=2", NULL, 0},
    {"foo@@bar=1", "foo@@bar=1,bar=2", "foo@@bar=1,bar=2", 0},
    {"foo@bar@baz=1", "foo@bar@baz=1,bar=2", "foo@bar@baz=1,bar=2", 0},
    {"digit first", "1special=x", "1special=x", 0},
    /* Illegal values. */
    {"foo=bar=baz", "foo=bar=baz", NULL, 7},
    {"foo=,bar=3", "foo=,bar=3", NULL, 4},
    {"value with tab", "foo=a\tb", NULL, 5},
    {"value with DEL", "foo=a\x7f", NULL, 5},
    {"value non-ASCII", "foo=\xc3\xa9", NULL, 4},
    {"value only spaces", "foo=   ", NULL, 4},
    {"no '='", "foo", NULL, 3},
    {"empty key", "=1", NULL, 0},
    {"invalid after valid", "a=1, b=2,c", NULL, 10},
};

static void ts_check(const char *name, const char *in, size_t in_len, const char *out,
                     size_t out_len, uint64_t offset) {
    test_current = name;
    char *buf = malloc(in_len + 2);
    size_t n = 999;
    ptel_diag d = {0, 0, 0, NULL};
    int rc = ptel_tracestate_normalize(buf, in_len + 2, &n, in, in_len, &d);
    if (out) {
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(n, out_len);
        CHECK(rc == 0 && n == out_len && memcmp(buf, out, n) == 0 && buf[n] == '\0');
        /* Size query, exact fit, one short. */
        size_t q;
        CHECK_EQ_INT(ptel_tracestate_normalize(NULL, 0, &q, in, in_len, NULL),
                     PTEL_E_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(q, out_len);
        CHECK_EQ_INT(ptel_tracestate_normalize(buf, out_len, &q, in, in_len, NULL),
                     PTEL_E_BUFFER_TOO_SMALL);
        /* Idempotent. */
        char *again = malloc(out_len + 1);
        CHECK_EQ_INT(ptel_tracestate_normalize(again, out_len + 1, &q, buf, n, NULL), 0);
        CHECK(q == out_len && memcmp(again, out, q) == 0);
        free(again);
    } else {
        CHECK_EQ_INT(rc, PTEL_E_TRACESTATE);
        CHECK_EQ_INT(n, 0);
        CHECK_EQ_INT(d.offset, offset);
        CHECK_EQ_INT(d.status, PTEL_E_TRACESTATE);
        CHECK(d.reason != NULL);
        size_t q;
        CHECK_EQ_INT(ptel_tracestate_normalize(NULL, 0, &q, in, in_len, NULL), PTEL_E_TRACESTATE);
    }
    free(buf);
}

static void test_tracestate_table(void) {
    for (size_t i = 0; i < sizeof TS_CASES / sizeof TS_CASES[0]; i++) {
        const ts_case *c = &TS_CASES[i];
        ts_check(c->name, c->in, strlen(c->in), c->out, c->out ? strlen(c->out) : 0, c->offset);
    }
    test_current = "test_tracestate_table";
}

/* barNN=NN members, `n` of them, joined by ','. */
static size_t ts_members(char *buf, int n) {
    char *w = buf;
    for (int i = 1; i <= n; i++) w += sprintf(w, "%sbar%02d=%02d", i > 1 ? "," : "", i, i);
    return (size_t)(w - buf);
}

static void test_tracestate_limits(void) {
    char in[2048], out[2048];
    /* 32 members valid, 33 invalid (the harness joins four headers). */
    size_t n = ts_members(in, 32);
    ts_check("32 members", in, n, in, n, 0);
    n = ts_members(in, 33);
    ts_check("33 members", in, n, NULL, 0, 32 * 9);
    /* Empty members do not count; duplicates do. */
    n = ts_members(in, 32);
    memcpy(in + n, ",,, ", 4);
    ts_check("32 members and empties", in, n + 4, in, n, 0);
    n = ts_members(in, 32);
    memcpy(in + n, ",bar01=xx", 9);
    ts_check("33 members with a duplicate", in, n + 9, NULL, 0, n + 1);

    /* Keys of 256 and 257 characters. */
    char *w = append(in, "foo=1,");
    w = repeat(w, 'z', 256);
    w = append(w, "=1");
    ts_check("key 256", in, (size_t)(w - in), in, (size_t)(w - in), 0);
    w = append(in, "foo=1,");
    w = repeat(w, 'z', 257);
    w = append(w, "=1");
    ts_check("key 257", in, (size_t)(w - in), NULL, 0, 6);
    /* Vendor-format keys within 256 characters (current grammar). */
    w = append(in, "foo=1,");
    w = repeat(w, 't', 241);
    w = append(w, "@");
    w = repeat(w, 'v', 14);
    w = append(w, "=1");
    ts_check("tenant 241 @ system 14", in, (size_t)(w - in), in, (size_t)(w - in), 0);
    w = append(in, "foo=1,");
    w = repeat(w, 't', 242);
    w = append(w, "@v=1");
    ts_check("tenant 242", in, (size_t)(w - in), in, (size_t)(w - in), 0);
    w = append(in, "foo=1,t@");
    w = repeat(w, 'v', 15);
    w = append(w, "=1");
    ts_check("system 15", in, (size_t)(w - in), in, (size_t)(w - in), 0);
    /* Values of 256 and 257 characters. */
    w = append(in, "k=");
    w = repeat(w, 'v', 256);
    ts_check("value 256", in, (size_t)(w - in), in, (size_t)(w - in), 0);
    w = append(in, "k=");
    w = repeat(w, 'v', 257);
    ts_check("value 257", in, (size_t)(w - in), NULL, 0, 2);

    /* Truncation: exactly 512 stays. */
    w = append(in, "a=");
    w = repeat(w, 'x', 253);
    w = append(w, ",b=");
    w = repeat(w, 'y', 254);
    CHECK_EQ_INT(w - in, 512);
    ts_check("512 characters kept", in, 512, in, 512, 0);
    /* 513: the right-most member longer than 128 goes. */
    w = append(in, "a=");
    w = repeat(w, 'x', 253);
    w = append(w, ",b=");
    w = repeat(w, 'y', 255);
    ts_check("513 characters", in, (size_t)(w - in), in, 255, 0);
    /* Long members go before short ones, right-most first. */
    w = append(in, "a=");
    w = repeat(w, 'x', 100);
    char *o = append(out, "a=");
    o = repeat(o, 'x', 100);
    w = append(w, ",b=");
    w = repeat(w, 'y', 200);
    o = append(o, ",b=");
    o = repeat(o, 'y', 200);
    w = append(w, ",c=");
    w = repeat(w, 'z', 150);
    w = append(w, ",d=");
    w = repeat(w, 'w', 100);
    o = append(o, ",d=");
    o = repeat(o, 'w', 100);
    ts_check("long member dropped first", in, (size_t)(w - in), out, (size_t)(o - out), 0);
}

static void test_tracestate_truncation_order(void) {
    /* a(202) s b(202) t c(202): 616 > 512. Drop c (right-most long): 413. */
    static char in[8192], out[8192];
    char *w = append(in, "a=");
    w = repeat(w, 'x', 200);
    w = append(w, ",s=1,b=");
    w = repeat(w, 'y', 200);
    w = append(w, ",t=2,c=");
    w = repeat(w, 'z', 200);
    char *o = append(out, "a=");
    o = repeat(o, 'x', 200);
    o = append(o, ",s=1,b=");
    o = repeat(o, 'y', 200);
    o = append(o, ",t=2");
    ts_check("right-most long member", in, (size_t)(w - in), out, (size_t)(o - out), 0);
    /* Ten 60-character members (609): short ones go from the right. */
    w = in;
    for (int i = 0; i < 10; i++) {
        w += sprintf(w, "%sk%d=", i ? "," : "", i);
        w = repeat(w, 'v', 57);
    }
    ts_check("short members from the right", in, (size_t)(w - in), in, 8 * 60 + 7, 0);
    /* 32 members of 128 characters each: none is "long", keep the first 3. */
    w = in;
    for (int i = 0; i < 32; i++) {
        w += sprintf(w, "%sk%02d=", i ? "," : "", i);
        w = repeat(w, 'v', 124);
    }
    ts_check("128 is not long", in, (size_t)(w - in), in, 3 * 128 + 2, 0);
}

static void test_tracestate_iterate(void) {
    const char *ts = "a=1,b=2,c@x= 3";
    size_t len = strlen(ts);
    ptel_str k, v;
    CHECK_EQ_INT(ptel_tracestate_count(ts, len), 3);
    CHECK_EQ_INT(ptel_tracestate_member(&k, &v, ts, len, 0), 0);
    CHECK_STR(k.ptr, k.len, "a");
    CHECK_STR(v.ptr, v.len, "1");
    CHECK_EQ_INT(ptel_tracestate_member(&k, &v, ts, len, 2), 0);
    CHECK_STR(k.ptr, k.len, "c@x");
    CHECK_STR(v.ptr, v.len, " 3");
    CHECK_EQ_INT(ptel_tracestate_member(&k, &v, ts, len, 3), PTEL_E_NOT_FOUND);
    CHECK_EQ_INT(ptel_tracestate_member(NULL, &v, ts, len, 1), 0);
    CHECK_STR(v.ptr, v.len, "2");
    CHECK_EQ_INT(ptel_tracestate_get(&v, ts, len, "b", 1), 0);
    CHECK_STR(v.ptr, v.len, "2");
    CHECK_EQ_INT(ptel_tracestate_get(&v, ts, len, "c@x", 3), 0);
    CHECK_STR(v.ptr, v.len, " 3");
    CHECK_EQ_INT(ptel_tracestate_get(&v, ts, len, "c", 1), PTEL_E_NOT_FOUND);
    CHECK_EQ_INT(ptel_tracestate_get(&v, ts, len, "", 0), PTEL_E_NOT_FOUND);
    CHECK_EQ_INT(ptel_tracestate_count("", 0), 0);
    CHECK_EQ_INT(ptel_tracestate_count(NULL, 0), 0);
    CHECK_EQ_INT(ptel_tracestate_member(&k, &v, "", 0, 0), PTEL_E_NOT_FOUND);
    CHECK_EQ_INT(ptel_tracestate_member(&k, &v, NULL, 0, 0), PTEL_E_NOT_FOUND);
    /* Bounded on garbage. */
    CHECK_EQ_INT(ptel_tracestate_member(&k, &v, "noequals", 8, 0), 0);
    CHECK_EQ_INT(k.len, 8);
    CHECK_EQ_INT(v.len, 0);
}

/* ---- baggage ------------------------------------------------------------------ */

typedef struct bg_case {
    const char *name;
    const char *in;
    const char *out; /* NULL when invalid */
    uint64_t offset;
} bg_case;

static const bg_case BG_CASES[] = {
    {"simple", "key1=value1,key2=value2", "key1=value1,key2=value2", 0},
    {"OWS", " key1 = value1 , key2=value2 ", "key1=value1,key2=value2", 0},
    {"OWS tabs", "key1\t=\tvalue1\t,\tkey2=value2", "key1=value1,key2=value2", 0},
    {"spec example with properties",
     "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
     "key1=value1;property1;property2,key2=value2,key3=value3;propertyKey=propertyValue", 0},
    {"property OWS", "k=v ; p = x ;q", "k=v;p=x;q", 0},
    {"property empty value", "k=v;p=", "k=v;p=", 0},
    {"empty value", "k=", "k=", 0},
    {"empty value with property", "k= ;p", "k=;p", 0},
    {"value with '='", "k=a=b", "k=a=b", 0},
    {"percent-encoded value", "userId=alice%20smith", "userId=alice%20smith", 0},
    {"percent-encoded lowercase", "k=%e2%82%ac", "k=%e2%82%ac", 0},
    {"token characters in key", "!#$%&'*+-.^_`|~Az09=1", "!#$%&'*+-.^_`|~Az09=1", 0},
    {"all baggage-octets",
     "k=!#$&'()*+-./0123456789:<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~",
     "k=!#$&'()*+-./0123456789:<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~",
     0},
    {"duplicates kept", "k=1,k=2", "k=1,k=2", 0},
    {"empty header", "", "", 0},
    {"empty members", " , k=v ,, ", "k=v", 0},
    /* Invalid: the whole header. */
    {"no '='", "k", NULL, 1},
    {"no '=' later", "a=1,k", NULL, 5},
    {"missing key", "=v", NULL, 0},
    {"space in key", "k v=1", NULL, 2},
    {"bad key character", "k(=v", NULL, 1},
    {"space in value", "k=v v", NULL, 4},
    {"quote in value", "k=\"v\"", NULL, 2},
    {"backslash in value", "k=a\\b", NULL, 3},
    {"comma-less second '='", "k=v;", NULL, 4},
    {"empty property", "k=v;;p", NULL, 4},
    {"property bad key", "k=v;(p)", NULL, 4},
    {"property bad value", "k=v;p=a b", NULL, 8},
    {"non-ASCII value", "k=\xc3\xa9", NULL, 2},
    {"control character", "k=a\x01", NULL, 3},
    {"bare percent", "k=%", NULL, 2},
    {"short escape", "k=%4", NULL, 2},
    {"bad escape", "k=%zz", NULL, 2},
    {"bad escape in property", "k=v;p=%g0", NULL, 6},
    {"invalid last member", "a=1,b=2,c=\"", NULL, 10},
};

static void bg_check(const char *name, const char *in, size_t in_len, const char *out,
                     size_t out_len, uint64_t offset) {
    test_current = name;
    char *buf = malloc(in_len + 2);
    size_t n = 999;
    ptel_diag d = {0, 0, 0, NULL};
    int rc = ptel_baggage_normalize(buf, in_len + 2, &n, in, in_len, &d);
    if (out) {
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(n, out_len);
        CHECK(rc == 0 && n == out_len && memcmp(buf, out, n) == 0 && buf[n] == '\0');
        size_t q;
        CHECK_EQ_INT(ptel_baggage_normalize(NULL, 0, &q, in, in_len, NULL),
                     PTEL_E_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(q, out_len);
        CHECK_EQ_INT(ptel_baggage_normalize(buf, out_len, &q, in, in_len, NULL),
                     PTEL_E_BUFFER_TOO_SMALL);
        char *again = malloc(out_len + 1);
        CHECK_EQ_INT(ptel_baggage_normalize(again, out_len + 1, &q, buf, n, NULL), 0);
        CHECK(q == out_len && memcmp(again, out, q) == 0);
        free(again);
    } else {
        CHECK_EQ_INT(rc, PTEL_E_BAGGAGE);
        CHECK_EQ_INT(n, 0);
        CHECK_EQ_INT(d.offset, offset);
        CHECK(d.reason != NULL);
    }
    free(buf);
}

static void test_baggage_table(void) {
    for (size_t i = 0; i < sizeof BG_CASES / sizeof BG_CASES[0]; i++) {
        const bg_case *c = &BG_CASES[i];
        bg_check(c->name, c->in, strlen(c->in), c->out, c->out ? strlen(c->out) : 0, c->offset);
    }
    test_current = "test_baggage_table";
}

static void test_baggage_limits(void) {
    static char in[20000];
    char *w;
    /* 64 members kept, the 65th dropped (not an error). */
    w = in;
    for (int i = 0; i < 64; i++) w += sprintf(w, "%sk%02d=%02d", i ? "," : "", i, i);
    size_t n64 = (size_t)(w - in);
    bg_check("64 members", in, n64, in, n64, 0);
    w += sprintf(w, ",k64=64");
    bg_check("65 members", in, (size_t)(w - in), in, n64, 0);
    w += sprintf(w, ",k65=\"");
    bg_check("65 members, invalid 66th", in, (size_t)(w - in), NULL, 0, n64 + 12);

    /* One member of exactly 8192 bytes; 8193 is dropped whole. */
    w = append(in, "k=");
    w = repeat(w, 'v', 8190);
    bg_check("8192 bytes", in, 8192, in, 8192, 0);
    w = append(in, "k=");
    w = repeat(w, 'v', 8191);
    bg_check("8193 bytes", in, 8193, "", 0, 0);
    /* The comma counts: 8188 + 1 + 3 fits, + 1 more does not. */
    w = append(in, "a=");
    w = repeat(w, 'x', 8186);
    w = append(w, ",b=1");
    bg_check("8192 with two members", in, (size_t)(w - in), in, 8192, 0);
    w = append(in, "a=");
    w = repeat(w, 'x', 8186);
    w = append(w, ",b=12,c=1");
    bg_check("dropping stops at the first member that does not fit", in, (size_t)(w - in), in, 8188,
             0);
    /* OWS does not count: it is removed before measuring. */
    w = append(in, "a = ");
    w = repeat(w, 'x', 8186);
    w = append(w, " , b = 1 ");
    static char expect[8200];
    char *o = append(expect, "a=");
    o = repeat(o, 'x', 8186);
    o = append(o, ",b=1");
    bg_check("OWS not counted", in, (size_t)(w - in), expect, (size_t)(o - expect), 0);
    /* Properties count toward the member. */
    w = append(in, "a=1;");
    w = repeat(w, 'p', 8188);
    bg_check("properties counted", in, 8192, in, 8192, 0);
    w = append(in, "a=1;");
    w = repeat(w, 'p', 8189);
    bg_check("properties over", in, 8193, "", 0, 0);
}

static void test_baggage_iterate(void) {
    const char *bg = "k1=v%201;p1;p2=x;p3=,k2=,k3=a=b";
    size_t len = strlen(bg);
    ptel_str k, v, p;
    CHECK_EQ_INT(ptel_baggage_count(bg, len), 3);
    CHECK_EQ_INT(ptel_baggage_member(&k, &v, &p, bg, len, 0), 0);
    CHECK_STR(k.ptr, k.len, "k1");
    CHECK_STR(v.ptr, v.len, "v%201");
    CHECK_STR(p.ptr, p.len, "p1;p2=x;p3=");
    ptel_str pk, pv;
    CHECK_EQ_INT(ptel_baggage_property(&pk, &pv, p.ptr, p.len, 0), 0);
    CHECK_STR(pk.ptr, pk.len, "p1");
    CHECK(pv.ptr == NULL && pv.len == 0);
    CHECK_EQ_INT(ptel_baggage_property(&pk, &pv, p.ptr, p.len, 1), 0);
    CHECK_STR(pk.ptr, pk.len, "p2");
    CHECK_STR(pv.ptr, pv.len, "x");
    CHECK_EQ_INT(ptel_baggage_property(&pk, &pv, p.ptr, p.len, 2), 0);
    CHECK_STR(pk.ptr, pk.len, "p3");
    CHECK(pv.ptr != NULL && pv.len == 0);
    CHECK_EQ_INT(ptel_baggage_property(&pk, &pv, p.ptr, p.len, 3), PTEL_E_NOT_FOUND);
    CHECK_EQ_INT(ptel_baggage_member(&k, &v, &p, bg, len, 1), 0);
    CHECK_STR(k.ptr, k.len, "k2");
    CHECK_EQ_INT(v.len, 0);
    CHECK_EQ_INT(p.len, 0);
    CHECK_EQ_INT(ptel_baggage_property(&pk, &pv, p.ptr, p.len, 0), PTEL_E_NOT_FOUND);
    CHECK_EQ_INT(ptel_baggage_member(&k, &v, NULL, bg, len, 2), 0);
    CHECK_STR(k.ptr, k.len, "k3");
    CHECK_STR(v.ptr, v.len, "a=b");
    CHECK_EQ_INT(ptel_baggage_member(&k, &v, &p, bg, len, 3), PTEL_E_NOT_FOUND);
    CHECK_EQ_INT(ptel_baggage_member(NULL, NULL, NULL, bg, len, 0), 0);
    CHECK_EQ_INT(ptel_baggage_count("", 0), 0);
    CHECK_EQ_INT(ptel_baggage_member(&k, &v, &p, "", 0, 0), PTEL_E_NOT_FOUND);
}

typedef struct dec_case {
    const char *name;
    const char *in;
    const char *out;
    size_t out_len;
} dec_case;

#define FFFD "\xef\xbf\xbd"

static const dec_case DEC_CASES[] = {
    {"plain", "abc", "abc", 3},
    {"space", "alice%20smith", "alice smith", 11},
    {"plus stays", "a+b", "a+b", 3},
    {"percent", "100%25", "100%", 4},
    {"euro lower", "%e2%82%ac", "\xe2\x82\xac", 3},
    {"euro upper", "%E2%82%AC", "\xe2\x82\xac", 3},
    {"emoji", "%F0%9F%98%80", "\xf0\x9f\x98\x80", 4},
    {"empty", "", "", 0},
    {"lone ff", "%ff", FFFD, 3},
    {"two ff", "%FF%FF", FFFD FFFD, 6},
    {"truncated 2-byte at end", "a%c3", "a" FFFD, 4},
    {"truncated 3-byte is one subpart", "%e2%82", FFFD, 3},
    {"truncated 3-byte then ASCII", "%e2%82A", FFFD "A", 4},
    {"surrogate is three subparts", "%ed%a0%80", FFFD FFFD FFFD, 9},
    {"overlong NUL", "%c0%80", FFFD FFFD, 6},
    {"above U+10FFFF", "%f4%90%80%80", FFFD FFFD FFFD FFFD, 12},
    {"U+10FFFF ok", "%f4%8f%bf%bf", "\xf4\x8f\xbf\xbf", 4},
    {"lone continuation", "a%80b", "a" FFFD "b", 5},
    {"4-byte missing last", "%f0%9f%98x", FFFD "x", 4},
    {"NUL byte kept", "a%00b", "a\0b", 3},
};

static void test_baggage_decode(void) {
    for (size_t i = 0; i < sizeof DEC_CASES / sizeof DEC_CASES[0]; i++) {
        const dec_case *c = &DEC_CASES[i];
        test_current = c->name;
        char buf[64];
        size_t n = 999, q;
        CHECK_EQ_INT(ptel_baggage_decode_value(NULL, 0, &q, c->in, strlen(c->in), NULL),
                     PTEL_E_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(q, c->out_len);
        CHECK_EQ_INT(ptel_baggage_decode_value(buf, c->out_len, &q, c->in, strlen(c->in), NULL),
                     PTEL_E_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(ptel_baggage_decode_value(buf, c->out_len + 1, &n, c->in, strlen(c->in), NULL),
                     0);
        CHECK(n == c->out_len && memcmp(buf, c->out, n) == 0 && buf[n] == '\0');
    }
    test_current = "test_baggage_decode";
    static const struct {
        const char *in;
        uint64_t offset;
    } bad[] = {{"%", 0}, {"a%4", 1}, {"%g0", 0}, {"ok%2", 2}, {"%%41", 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char buf[16];
        size_t n;
        ptel_diag d = {0, 0, 0, NULL};
        CHECK_EQ_INT(
            ptel_baggage_decode_value(buf, sizeof buf, &n, bad[i].in, strlen(bad[i].in), &d),
            PTEL_E_BAGGAGE);
        CHECK_EQ_INT(d.offset, bad[i].offset);
        CHECK_EQ_INT(n, 0);
    }
}

static void test_baggage_encode(void) {
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"alice smith", "alice%20smith"},
        {"100%", "100%25"},
        {"a,b;c\"d\\e", "a%2Cb%3Bc%22d%5Ce"},
        {"\xe2\x82\xac", "%E2%82%AC"},
        {"a=b", "a=b"},
        {"\x01\x7f", "%01%7F"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64], dec[64];
        size_t n, q;
        const char *in = cases[i].in;
        CHECK_EQ_INT(ptel_baggage_encode_value(NULL, 0, &q, in, strlen(in)),
                     PTEL_E_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(q, strlen(cases[i].out));
        CHECK_EQ_INT(ptel_baggage_encode_value(buf, sizeof buf, &n, in, strlen(in)), 0);
        CHECK(n == strlen(cases[i].out) && memcmp(buf, cases[i].out, n) == 0);
        /* It is a valid value, and decodes back. */
        char member[80];
        int m = snprintf(member, sizeof member, "k=%s", buf);
        CHECK_EQ_INT(ptel_baggage_normalize(NULL, 0, &q, member, (size_t)m, NULL),
                     PTEL_E_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(ptel_baggage_decode_value(dec, sizeof dec, &q, buf, n, NULL), 0);
        CHECK(q == strlen(in) && memcmp(dec, in, q) == 0);
    }
    /* Every byte value: invalid UTF-8 bytes decode to U+FFFD. */
    char all[256], enc[800], dec[800];
    for (int i = 0; i < 256; i++) all[i] = (char)i;
    size_t n, q;
    CHECK_EQ_INT(ptel_baggage_encode_value(enc, sizeof enc, &n, all, 256), 0);
    CHECK_EQ_INT(ptel_baggage_decode_value(dec, sizeof dec, &q, enc, n, NULL), 0);
    CHECK_EQ_INT(q, 128 + 128 * 3);
    CHECK(memcmp(dec, all, 128) == 0);
    CHECK(memcmp(dec + 128, FFFD, 3) == 0);
    CHECK_EQ_INT(ptel_baggage_encode_value(enc, sizeof enc, NULL, all, 1), PTEL_E_INVALID_ARGUMENT);
}

int main(void) {
    RUN(test_traceparent_table);
    RUN(test_traceparent_reasons);
    RUN(test_traceparent_format);
    RUN(test_tracestate_table);
    RUN(test_tracestate_limits);
    RUN(test_tracestate_truncation_order);
    RUN(test_tracestate_iterate);
    RUN(test_baggage_table);
    RUN(test_baggage_limits);
    RUN(test_baggage_iterate);
    RUN(test_baggage_decode);
    RUN(test_baggage_encode);
    return test_summary();
}
