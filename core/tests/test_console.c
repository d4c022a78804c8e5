/* Console renderer: exact text for hand-built export requests (tree shape,
 * ordering, scopes, statuses, values, escapes, metrics table), the bounds
 * (span cap, depth limit, value depth, parent cycles), size queries and
 * allocators, and malformed inputs. */
#include "ptel/ptel.h"
#include "test.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a tiny protobuf writer ----------------------------------------------- */

typedef struct pb {
    uint8_t *b;
    size_t n, cap;
} pb;

static pb pb_new(void) {
    pb p = {NULL, 0, 0};
    return p;
}

static void pb_free(pb *p) {
    free(p->b);
    p->b = NULL;
    p->n = p->cap = 0;
}

static void pb_raw(pb *p, const void *d, size_t n) {
    if (p->n + n > p->cap) {
        size_t cap = p->cap ? p->cap : 64;
        while (cap < p->n + n) cap *= 2;
        uint8_t *nb = realloc(p->b, cap);
        if (!nb) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        p->b = nb;
        p->cap = cap;
    }
    if (n) memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void pb_uv(pb *p, uint64_t v) {
    uint8_t t[10];
    size_t k = 0;
    while (v >= 0x80) {
        t[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[k++] = (uint8_t)v;
    pb_raw(p, t, k);
}

static void pb_tag(pb *p, uint32_t num, uint32_t wt) { pb_uv(p, (uint64_t)num << 3 | wt); }

static void pb_varint(pb *p, uint32_t num, uint64_t v) {
    pb_tag(p, num, 0);
    pb_uv(p, v);
}

static void pb_fixed64(pb *p, uint32_t num, uint64_t v) {
    uint8_t t[8];
    for (int i = 0; i < 8; i++) t[i] = (uint8_t)(v >> (8 * i));
    pb_tag(p, num, 1);
    pb_raw(p, t, 8);
}

static void pb_double(pb *p, uint32_t num, double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    pb_fixed64(p, num, u);
}

static void pb_bytes(pb *p, uint32_t num, const void *d, size_t n) {
    pb_tag(p, num, 2);
    pb_uv(p, n);
    pb_raw(p, d, n);
}

static void pb_str(pb *p, uint32_t num, const char *s) { pb_bytes(p, num, s, strlen(s)); }

/* Append `child` as field `num` and free it. */
static void pb_msg(pb *p, uint32_t num, pb *child) {
    pb_bytes(p, num, child->b, child->n);
    pb_free(child);
}

/* ---- OTLP builders ---------------------------------------------------------- */

#define T0 1000000000000ull /* ns */
#define MS 1000000ull

static const uint8_t *trace_id(uint8_t last) {
    static uint8_t ids[256][16];
    ids[last][15] = last;
    return ids[last];
}

static const uint8_t *span_id(uint8_t last) {
    static uint8_t ids[256][8];
    ids[last][7] = last;
    return ids[last];
}

static pb any_str(const char *s) {
    pb v = pb_new();
    pb_str(&v, 1, s);
    return v;
}

static pb any_bool(bool b) {
    pb v = pb_new();
    pb_varint(&v, 2, b);
    return v;
}

static pb any_int(int64_t i) {
    pb v = pb_new();
    pb_varint(&v, 3, (uint64_t)i);
    return v;
}

static pb any_double(double d) {
    pb v = pb_new();
    pb_double(&v, 4, d);
    return v;
}

static pb any_bytes(const void *d, size_t n) {
    pb v = pb_new();
    pb_bytes(&v, 7, d, n);
    return v;
}

/* Append a KeyValue as field `num` of `owner`; consumes `value`. */
static void attr(pb *owner, uint32_t num, const char *key, pb value) {
    pb kv = pb_new();
    pb_str(&kv, 1, key);
    pb_msg(&kv, 2, &value);
    pb_msg(owner, num, &kv);
}

static void attr_str(pb *owner, uint32_t num, const char *key, const char *v) {
    attr(owner, num, key, any_str(v));
}

/* A span's leading fields; the caller appends the rest in field order. */
static pb span_new(uint8_t tid, uint8_t sid, uint8_t parent, const char *name, uint32_t kind,
                   uint64_t start, uint64_t end) {
    pb s = pb_new();
    pb_bytes(&s, 1, trace_id(tid), 16);
    if (sid) pb_bytes(&s, 2, span_id(sid), 8);
    if (parent) pb_bytes(&s, 4, span_id(parent), 8);
    pb_str(&s, 5, name);
    if (kind) pb_varint(&s, 6, kind);
    pb_fixed64(&s, 7, start);
    if (end) pb_fixed64(&s, 8, end);
    return s;
}

static void span_status(pb *s, uint32_t code, const char *msg) {
    pb st = pb_new();
    if (msg) pb_str(&st, 2, msg);
    pb_varint(&st, 3, code);
    pb_msg(s, 15, &st);
}

static pb scope(const char *name, const char *version) {
    pb sc = pb_new();
    if (name) pb_str(&sc, 1, name);
    if (version) pb_str(&sc, 2, version);
    return sc;
}

/* ScopeSpans / ScopeMetrics: scope, then the items (field 2); consumes them. */
static pb scoped(const char *name, const char *version, pb *items, size_t n) {
    pb ss = pb_new();
    if (name || version) {
        pb sc = scope(name, version);
        pb_msg(&ss, 1, &sc);
    }
    for (size_t k = 0; k < n; k++) pb_msg(&ss, 2, &items[k]);
    return ss;
}

static pb resource(const char *service) {
    pb r = pb_new();
    if (service) attr_str(&r, 1, "service.name", service);
    return r;
}

/* A request (TracesData / MetricsData) with one resource entry holding the
 * scope entries; consumes them. */
static pb request(pb *res, pb *scopes, size_t n) {
    pb rs = pb_new();
    if (res) pb_msg(&rs, 1, res);
    for (size_t k = 0; k < n; k++) pb_msg(&rs, 2, &scopes[k]);
    pb req = pb_new();
    pb_msg(&req, 1, &rs);
    return req;
}

/* A request with one scope "s" of the given spans. */
static pb traces_of(pb *spans, size_t n) {
    pb ss = scoped("s", NULL, spans, n);
    return request(NULL, &ss, 1);
}

/* ---- rendering ------------------------------------------------------------- */

static char *render_out;
static size_t render_len;

/* Render with a size query, into an exact buffer, into a buffer one byte
 * short and with render_alloc, checking that all agree. Leaves the text in
 * render_out (NUL-terminated). */
static int render(const uint8_t *t, size_t tn, const uint8_t *m, size_t mn, uint32_t flags,
                  ptel_diag *diag) {
    free(render_out);
    render_out = NULL;
    render_len = 0;
    size_t need = 777;
    int rc = ptel_console_render(NULL, 0, &need, t, tn, m, mn, flags, NULL, diag);
    if (rc != 0 && rc != PTEL_E_BUFFER_TOO_SMALL) {
        CHECK_EQ_INT(need, 0);
        char *p = (char *)1;
        size_t pl = 1;
        CHECK_EQ_INT(ptel_console_render_alloc(&p, &pl, t, tn, m, mn, flags, NULL, NULL), rc);
        CHECK(p == NULL && pl == 0);
        return rc;
    }
    CHECK_EQ_INT(rc, need ? PTEL_E_BUFFER_TOO_SMALL : 0);
    render_out = malloc(need + 1);
    if (!render_out) exit(2);
    size_t got = 0;
    CHECK_EQ_INT(ptel_console_render(render_out, need, &got, t, tn, m, mn, flags, NULL, diag), 0);
    CHECK_EQ_INT(got, need);
    if (need) {
        size_t short_len = 0;
        char *tmp = malloc(need);
        if (!tmp) exit(2);
        CHECK_EQ_INT(
            ptel_console_render(tmp, need - 1, &short_len, t, tn, m, mn, flags, NULL, NULL),
            PTEL_E_BUFFER_TOO_SMALL);
        CHECK_EQ_INT(short_len, need);
        free(tmp);
    }
    char *a = NULL;
    size_t al = 0;
    CHECK_EQ_INT(ptel_console_render_alloc(&a, &al, t, tn, m, mn, flags, NULL, NULL), 0);
    CHECK(al == need && a && a[al] == '\0' && memcmp(a, render_out, need) == 0);
    ptel_console_free(a, al, NULL);
    render_out[need] = '\0';
    render_len = need;
    return 0;
}

static void expect_at(int line, const pb *t, const pb *m, uint32_t flags, const char *want) {
    int rc = render(t ? t->b : NULL, t ? t->n : 0, m ? m->b : NULL, m ? m->n : 0, flags, NULL);
    test_checks++;
    if (rc != 0 || render_len != strlen(want) || memcmp(render_out, want, render_len) != 0) {
        test_failures++;
        fprintf(stderr, "%s:%d: %s: rc %d (%s)\n--- got\n%s--- expected\n%s---\n", __FILE__, line,
                test_current, rc, ptel_status_name(rc), render_out ? render_out : "", want);
    }
}

#define EXPECT(t, m, flags, want) expect_at(__LINE__, (t), (m), (flags), (want))

static void expect_fail_at(int line, const uint8_t *t, size_t tn, const uint8_t *m, size_t mn,
                           int status, uint64_t offset, uint32_t field) {
    ptel_diag d = {0, 0, 0, NULL};
    int rc = render(t, tn, m, mn, 0, &d);
    test_checks++;
    if (rc != status || d.status != status || d.offset != offset || d.field != field || !d.reason) {
        test_failures++;
        fprintf(stderr,
                "%s:%d: %s: rc %d (%s) at %llu field %u (%s), expected %s at %llu field %u\n",
                __FILE__, line, test_current, rc, ptel_status_name(rc),
                (unsigned long long)d.offset, (unsigned)d.field, d.reason ? d.reason : "-",
                ptel_status_name(status), (unsigned long long)offset, (unsigned)field);
    }
}

#define EXPECT_FAIL(t, tn, m, mn, status, offset, field)                                           \
    expect_fail_at(__LINE__, (t), (tn), (m), (mn), (status), (offset), (field))

/* ---- trace tree ------------------------------------------------------------ */

/* The shape the demo prints: a host span, plugin spans under it with another
 * scope, statuses, kinds, events, links and the resource in the header. */
static pb demo_traces(void) {
    pb host = span_new(1, 0xa1, 0xff, "plugin.execute", PTEL_SPAN_KIND_INTERNAL, T0, T0 + 12 * MS);
    attr_str(&host, 9, "plugin.name", "pii_filter");
    attr_str(&host, 9, "plugin.hook", "tool_pre_invoke");
    span_status(&host, PTEL_STATUS_OK, NULL);

    pb scan = span_new(1, 0xb2, 0xa1, "pii.scan", PTEL_SPAN_KIND_CLIENT, T0 + 1 * MS,
                       T0 + 9 * MS + 500000);
    attr(&scan, 9, "bytes", any_int(42));
    attr_str(&scan, 9, "input", "hello world");
    attr(&scan, 9, "ok", any_bool(true));
    attr(&scan, 9, "ratio", any_double(0.25));
    pb ev = pb_new();
    pb_fixed64(&ev, 1, T0 + 3 * MS);
    pb_str(&ev, 2, "exception");
    attr_str(&ev, 3, "exception.type", "ValueError");
    pb_msg(&scan, 11, &ev);
    pb link = pb_new();
    pb_bytes(&link, 1, trace_id(2), 16);
    pb_bytes(&link, 2, span_id(0xc3), 8);
    attr_str(&link, 4, "why", "batch");
    pb_msg(&scan, 13, &link);
    span_status(&scan, PTEL_STATUS_ERROR, "boom");

    pb load = span_new(1, 0xb1, 0xa1, "pii.load", 0, T0 + 500000, T0 + 750000);
    pb regex =
        span_new(1, 0xd4, 0xb2, "regex", PTEL_SPAN_KIND_INTERNAL, T0 + 2 * MS, T0 + 2 * MS + 1500);

    pb host_scope[1] = {host};
    pb plugin_spans[3] = {scan, load, regex};
    pb scopes[2] = {scoped("ptel", "0.1.0", host_scope, 1),
                    scoped("pii_filter", "1.0.0", plugin_spans, 3)};
    pb res = resource("ptel-demo");
    attr_str(&res, 1, "deployment.environment", "local");
    return request(&res, scopes, 2);
}

static void test_tree_demo(void) {
    pb t = demo_traces();
    EXPECT(&t, NULL, 0,
           "trace 00000000000000000000000000000001 service.name=ptel-demo "
           "deployment.environment=local\n"
           "└─ plugin.execute [ptel 0.1.0] 12.000 ms ✓ OK plugin.name=pii_filter "
           "plugin.hook=tool_pre_invoke\n"
           "   ├─ pii.load [pii_filter 1.0.0] 0.250 ms\n"
           "   └─ pii.scan [pii_filter 1.0.0] 8.500 ms ✗ ERROR: boom CLIENT bytes=42 "
           "input=\"hello world\" ok=true ratio=0.25\n"
           "      │  • exception +2.000 ms exception.type=ValueError\n"
           "      │  ↔ 00000000000000000000000000000002/00000000000000c3 why=batch\n"
           "      └─ regex 0.002 ms\n");
    EXPECT(&t, NULL, PTEL_CONSOLE_ASCII | PTEL_CONSOLE_SPAN_IDS,
           "trace 00000000000000000000000000000001 service.name=ptel-demo "
           "deployment.environment=local\n"
           "`- plugin.execute [ptel 0.1.0] 12.000 ms OK plugin.name=pii_filter "
           "plugin.hook=tool_pre_invoke id=00000000000000a1\n"
           "   |- pii.load [pii_filter 1.0.0] 0.250 ms id=00000000000000b1\n"
           "   `- pii.scan [pii_filter 1.0.0] 8.500 ms ERROR: boom CLIENT bytes=42 "
           "input=\"hello world\" ok=true ratio=0.25 id=00000000000000b2\n"
           "      |  * exception +2.000 ms exception.type=ValueError\n"
           "      |  <-> 00000000000000000000000000000002/00000000000000c3 why=batch\n"
           "      `- regex 0.002 ms id=00000000000000d4\n");
    pb_free(&t);
}

/* Roots and siblings by start time, then span id, then input order; traces
 * in the order their first span appears; parents only within a trace. */
static void test_tree_order(void) {
    pb spans[7] = {
        span_new(2, 0x20, 0, "t2.root", 0, T0, T0 + MS),
        span_new(1, 0x13, 0x10, "c.late", 0, T0 + 3 * MS, T0 + 4 * MS),
        span_new(1, 0x12, 0x10, "b.same.start.higher.id", 0, T0 + 2 * MS, T0 + 3 * MS),
        span_new(1, 0x11, 0x10, "a.same.start.lower.id", 0, T0 + 2 * MS, T0 + 3 * MS),
        span_new(1, 0x10, 0, "t1.root", 0, T0, T0 + 5 * MS),
        /* Same span id as t1.root's child but in trace 2: not its parent. */
        span_new(2, 0x21, 0x11, "t2.orphan", 0, T0 - MS, T0),
        span_new(1, 0x14, 0x10, "d.early", 0, T0 + MS, T0 + 2 * MS),
    };
    pb t = traces_of(spans, 7);
    EXPECT(&t, NULL, 0,
           "trace 00000000000000000000000000000002\n"
           "├─ t2.orphan [s] 1.000 ms\n"
           "└─ t2.root [s] 1.000 ms\n"
           "\n"
           "trace 00000000000000000000000000000001\n"
           "└─ t1.root [s] 5.000 ms\n"
           "   ├─ d.early 1.000 ms\n"
           "   ├─ a.same.start.lower.id 1.000 ms\n"
           "   ├─ b.same.start.higher.id 1.000 ms\n"
           "   └─ c.late 1.000 ms\n");
    pb_free(&t);
}

/* Durations round to the microsecond; negative, unended and empty-named
 * spans; status and kind spellings. */
static void test_tree_span_fields(void) {
    pb spans[8] = {
        span_new(1, 1, 0, "round.down", 0, T0, T0 + 1499),
        span_new(1, 2, 0, "round.up", PTEL_SPAN_KIND_SERVER, T0 + 1, T0 + 1501),
        span_new(1, 3, 0, "negative", PTEL_SPAN_KIND_PRODUCER, T0 + 4, T0 + 4 - 2000),
        span_new(1, 4, 0, "open", PTEL_SPAN_KIND_CONSUMER, T0 + 5, 0),
        span_new(1, 5, 0, "", 9, T0 + 6, T0 + 6),
        span_new(1, 6, 0, "unset.with.message", 0, T0 + 7, T0 + 8),
        span_new(1, 7, 0, "odd.status", 0, T0 + 8, T0 + 9),
        span_new(1, 8, 0, "ok.message.hidden", 0, T0 + 9, T0 + 10),
    };
    span_status(&spans[4], PTEL_STATUS_ERROR, NULL);
    span_status(&spans[5], PTEL_STATUS_UNSET, "ignored");
    span_status(&spans[6], 7, NULL);
    span_status(&spans[7], PTEL_STATUS_OK, "ignored");
    pb_varint(&spans[7], 10, 1); /* dropped_attributes_count */
    pb_varint(&spans[7], 12, 2); /* dropped_events_count */
    pb_varint(&spans[7], 14, 3); /* dropped_links_count */
    pb t = traces_of(spans, 8);
    EXPECT(&t, NULL, 0,
           "trace 00000000000000000000000000000001\n"
           "├─ round.down [s] 0.001 ms\n"
           "├─ round.up [s] 0.002 ms SERVER\n"
           "├─ negative [s] -0.002 ms PRODUCER\n"
           "├─ open [s] (not ended) CONSUMER\n"
           "├─ (unnamed) [s] 0.000 ms ✗ ERROR kind=9\n"
           "├─ unset.with.message [s] 0.000 ms\n"
           "├─ odd.status [s] 0.000 ms status=7\n"
           "└─ ok.message.hidden [s] 0.000 ms ✓ OK (dropped: 1 attribute, 2 events, 3 links)\n");
    pb_free(&t);
}

/* Spans on a cycle of parent links are roots marked "(parent cycle)"; spans
 * hanging off a cycle stay under their parent. Self-parents too. */
static void test_tree_cycles(void) {
    pb spans[6] = {
        span_new(1, 0x0a, 0x0b, "a", 0, T0, T0 + MS), /* a -> b -> a */
        span_new(1, 0x0b, 0x0a, "b", 0, T0 + 1, T0 + MS),
        span_new(1, 0x0c, 0x0a, "c.under.a", 0, T0 + 2, T0 + MS),
        span_new(1, 0x0d, 0x0d, "self", 0, T0 + 3, T0 + MS), /* its own parent */
        span_new(1, 0x0e, 0x0f, "e", 0, T0 + 4, T0 + MS),    /* e -> f -> g -> e */
        span_new(1, 0x0f, 0x10, "f", 0, T0 + 5, T0 + MS),
    };
    pb g = span_new(1, 0x10, 0x0e, "g", 0, T0 + 6, T0 + MS);
    pb all[7] = {spans[0], spans[1], spans[2], spans[3], spans[4], spans[5], g};
    pb t = traces_of(all, 7);
    EXPECT(&t, NULL, 0,
           "trace 00000000000000000000000000000001\n"
           "├─ a [s] 1.000 ms (parent cycle)\n"
           "│  └─ c.under.a 1.000 ms\n"
           "├─ b [s] 1.000 ms (parent cycle)\n"
           "├─ self [s] 1.000 ms (parent cycle)\n"
           "├─ e [s] 1.000 ms (parent cycle)\n"
           "├─ f [s] 1.000 ms (parent cycle)\n"
           "└─ g [s] 1.000 ms (parent cycle)\n");
    pb_free(&t);
}

/* A duplicated span id: children attach to the first in input order. A
 * parent id of the wrong length matches nothing. Spans without ids. */
static void test_tree_duplicates(void) {
    pb spans[5] = {
        span_new(1, 0x01, 0, "first", 0, T0 + 5, T0 + MS),
        span_new(1, 0x01, 0, "second", 0, T0, T0 + MS),
        span_new(1, 0x02, 0x01, "child", 0, T0 + 6, T0 + MS),
        span_new(1, 0, 0, "no.id", 0, T0 + 7, T0 + MS),
        span_new(1, 0x03, 0, "short.parent", 0, T0 + 8, T0 + MS),
    };
    pb_bytes(&spans[4], 4, span_id(1) + 1, 7);
    pb t = traces_of(spans, 5);
    EXPECT(&t, NULL, PTEL_CONSOLE_SPAN_IDS,
           "trace 00000000000000000000000000000001\n"
           "├─ second [s] 1.000 ms id=0000000000000001\n"
           "├─ first [s] 1.000 ms id=0000000000000001\n"
           "│  └─ child 1.000 ms id=0000000000000002\n"
           "├─ no.id [s] 1.000 ms id=\n"
           "└─ short.parent [s] 1.000 ms id=0000000000000003\n");
    pb_free(&t);
}

/* A chain deeper than PTEL_CONSOLE_MAX_DEPTH: the levels beyond are counted
 * in one line under the last printed span. */
static void test_tree_depth_limit(void) {
    enum { N = PTEL_CONSOLE_MAX_DEPTH + 8 };
    pb ss = pb_new();
    for (int k = 0; k < N; k++) { /* d<k> has span id k+1 and parent id k */
        char name[8];
        snprintf(name, sizeof name, "d%d", k);
        pb s = span_new(1, (uint8_t)(k + 1), (uint8_t)k, name, 0, T0 + (uint64_t)k,
                        T0 + (uint64_t)k + MS);
        pb_msg(&ss, 2, &s);
    }
    /* Another branch under the last printed level (d31, id 32): 2 spans. */
    pb x = span_new(1, 0xf0, PTEL_CONSOLE_MAX_DEPTH, "x", 0, T0, T0 + MS);
    pb y = span_new(1, 0xf1, 0xf0, "y", 0, T0, T0 + MS);
    pb_msg(&ss, 2, &x);
    pb_msg(&ss, 2, &y);
    pb t = request(NULL, &ss, 1);

    char *want = malloc(1 << 16);
    if (!want) exit(2);
    size_t n = (size_t)sprintf(want, "trace 00000000000000000000000000000001\n");
    for (int k = 0; k < PTEL_CONSOLE_MAX_DEPTH; k++) {
        for (int l = 0; l < k; l++) n += (size_t)sprintf(want + n, "   ");
        n += (size_t)sprintf(want + n, "└─ d%d 1.000 ms\n", k);
    }
    for (int l = 0; l < PTEL_CONSOLE_MAX_DEPTH; l++) n += (size_t)sprintf(want + n, "   ");
    sprintf(want + n, "└─ … 10 more spans below the depth limit\n");
    EXPECT(&t, NULL, 0, want);
    pb_free(&t);
    free(want);
}

/* More spans than PTEL_CONSOLE_MAX_SPANS: the first ones in input order are
 * placed, the rest counted; the index memory is released. */
static size_t alloc_live, alloc_calls, alloc_fail_at;

static void *counting_realloc(void *ud, void *p, size_t old, size_t n) {
    (void)ud;
    if (n == 0) {
        alloc_live -= old;
        free(p);
        return NULL;
    }
    if (++alloc_calls == alloc_fail_at) return NULL;
    alloc_live += n - (p ? old : 0);
    return realloc(p, n);
}

static void test_tree_span_cap(void) {
    enum { N = PTEL_CONSOLE_MAX_SPANS + 2 };
    pb ss = pb_new();
    for (int k = 0; k < N; k++) {
        pb s = pb_new();
        pb_bytes(&s, 1, trace_id(1), 16);
        uint8_t id[8] = {0, 0, 0, 0, 0, (uint8_t)(k >> 16), (uint8_t)(k >> 8), (uint8_t)k};
        pb_bytes(&s, 2, id, 8);
        pb_str(&s, 5, k == 0 ? "first" : k == N - 1 ? "last" : "s");
        pb_fixed64(&s, 7, T0 + (uint64_t)(N - k)); /* reverse order of start */
        pb_fixed64(&s, 8, T0 + (uint64_t)(N - k) + MS);
        pb_msg(&ss, 2, &s);
    }
    pb t = request(NULL, &ss, 1);
    ptel_allocator a = {counting_realloc, NULL};
    char *out = NULL;
    size_t len = 0;
    alloc_live = alloc_calls = alloc_fail_at = 0;
    CHECK_EQ_INT(ptel_console_render_alloc(&out, &len, t.b, t.n, NULL, 0, 0, &a, NULL), 0);
    CHECK(out != NULL);
    if (out) {
        /* Roots sorted by start: the spans of highest index come first; the
         * last two spans in input order are not placed. */
        const char *tail = "\n… 2 more spans not shown (limit 10000)\n";
        CHECK(len > strlen(tail) && strcmp(out + len - strlen(tail), tail) == 0);
        CHECK(strstr(out, "last") == NULL);
        CHECK(strstr(out, "└─ first 1.000 ms\n") != NULL);
        size_t lines = 0;
        for (size_t i = 0; i < len; i++) lines += out[i] == '\n';
        CHECK_EQ_INT(lines, 1 + PTEL_CONSOLE_MAX_SPANS + 2);
    }
    ptel_console_free(out, len, &a);
    CHECK_EQ_INT(alloc_live, 0);

    /* The scratch allocation failing is PTEL_E_NOMEM, with nothing leaked. */
    for (size_t fail = 1; fail <= 3; fail++) {
        alloc_live = alloc_calls = 0;
        alloc_fail_at = fail;
        ptel_diag d = {0, 0, 0, NULL};
        out = (char *)1;
        CHECK_EQ_INT(ptel_console_render_alloc(&out, &len, t.b, t.n, NULL, 0, 0, &a, &d),
                     PTEL_E_NOMEM);
        CHECK(out == NULL && len == 0 && d.status == PTEL_E_NOMEM && d.reason);
        CHECK_EQ_INT(alloc_live, 0);
    }
    alloc_fail_at = 0;
    pb_free(&t);
}

/* ---- values and escapes ------------------------------------------------------ */

static pb any_array(pb *items, size_t n) {
    pb arr = pb_new();
    for (size_t k = 0; k < n; k++) pb_msg(&arr, 1, &items[k]);
    pb v = pb_new();
    pb_msg(&v, 5, &arr);
    return v;
}

static pb any_kvlist2(const char *k1, pb v1, const char *k2, pb v2) {
    pb list = pb_new();
    attr(&list, 1, k1, v1);
    attr(&list, 1, k2, v2);
    pb v = pb_new();
    pb_msg(&v, 6, &list);
    return v;
}

/* An array nested `depth` levels deep around the int 1. */
static pb any_nested(int depth) {
    pb v = any_int(1);
    for (int k = 0; k < depth; k++) v = any_array(&v, 1);
    return v;
}

static void test_values(void) {
    pb s = span_new(1, 1, 0, "values", 0, T0, T0 + MS);
    attr_str(&s, 9, "plain", "abc");
    attr_str(&s, 9, "empty", "");
    attr_str(&s, 9, "spaced", "a b");
    attr_str(&s, 9, "punct", "a,b=c");
    attr_str(&s, 9, "quote", "say \"hi\" \\o/");
    attr_str(&s, 9, "utf8", "caf\xc3\xa9");
    attr(&s, 9, "neg", any_int(-7));
    attr(&s, 9, "zero", any_int(0));
    attr(&s, 9, "f", any_bool(false));
    attr(&s, 9, "tenth", any_double(0.1));
    attr(&s, 9, "big", any_double(1e21));
    attr(&s, 9, "nan", any_double(0.0 / 0.0));
    attr(&s, 9, "inf", any_double(-1.0 / 0.0));
    attr(&s, 9, "bytes", any_bytes("\x01\xab", 2));
    attr(&s, 9, "nobytes", any_bytes("", 0));
    pb items[3] = {any_str("x"), any_int(2), any_str("y z")};
    attr(&s, 9, "arr", any_array(items, 3));
    attr(&s, 9, "noarr", any_array(NULL, 0));
    attr(&s, 9, "map",
         any_kvlist2("k", any_int(1), "n",
                     any_kvlist2("a", any_bool(true), "b", any_array(NULL, 0))));
    attr(&s, 9, "nothing", pb_new());
    /* oneof: the member that comes last wins. */
    pb two = pb_new();
    pb_varint(&two, 3, 5);
    pb_str(&two, 1, "last");
    attr(&s, 9, "oneof", two);
    pb strindex = pb_new();
    pb_varint(&strindex, 8, 3);
    attr(&s, 9, "strindex", strindex);
    /* A KeyValue without a value; a key that needs quotes. */
    pb kv = pb_new();
    pb_str(&kv, 1, "novalue");
    pb_msg(&s, 9, &kv);
    attr_str(&s, 9, "a key", "v");
    attr(&s, 9, "deep", any_nested(PTEL_CONSOLE_MAX_VALUE_DEPTH));
    attr(&s, 9, "deeper", any_nested(PTEL_CONSOLE_MAX_VALUE_DEPTH + 1));
    pb t = traces_of(&s, 1);
    char want[4096];
    size_t n = (size_t)sprintf(
        want, "trace 00000000000000000000000000000001\n"
              "└─ values [s] 1.000 ms plain=abc empty=\"\" spaced=\"a b\" punct=\"a,b=c\" "
              "quote=\"say \\\"hi\\\" \\\\o/\" utf8=café neg=-7 zero=0 f=false tenth=0.1 big=1e+21 "
              "nan=NaN inf=-Infinity bytes=0x01ab nobytes=0x arr=[x,2,\"y z\"] noarr=[] "
              "map={k=1,n={a=true,b=[]}} nothing=(empty) oneof=last strindex=(empty) "
              "novalue=(empty) \"a key\"=v deep=");
    for (int k = 0; k < PTEL_CONSOLE_MAX_VALUE_DEPTH; k++) want[n++] = '[';
    want[n++] = '1';
    for (int k = 0; k < PTEL_CONSOLE_MAX_VALUE_DEPTH; k++) want[n++] = ']';
    n += (size_t)sprintf(want + n, " deeper=");
    for (int k = 0; k < PTEL_CONSOLE_MAX_VALUE_DEPTH; k++) want[n++] = '[';
    n += (size_t)sprintf(want + n, "[…]");
    for (int k = 0; k < PTEL_CONSOLE_MAX_VALUE_DEPTH; k++) want[n++] = ']';
    sprintf(want + n, "\n");
    EXPECT(&t, NULL, 0, want);
    pb_free(&t);
}

/* Whatever the input holds, the output is safe for a terminal: controls,
 * C1 controls, bidi overrides and non-UTF-8 bytes are escaped in names,
 * messages, keys and values; ASCII mode escapes all non-ASCII. */
static void test_escapes(void) {
    pb s = span_new(1, 1, 0,
                    "n\x1b[31m\xe2\x80\xae\xff\xc2\x9b"
                    "caf\xc3\xa9 \xf0\x9f\x98\x80",
                    0, T0, T0 + MS);
    attr_str(&s, 9, "k\n", "tab\there\r");
    attr_str(&s, 9, "bad", "\xc0\xaf");
    attr_str(&s, 9, "del", "\x7f");
    attr_str(&s, 9, "smile", "\xf0\x9f\x98\x80");
    span_status(&s, PTEL_STATUS_ERROR, "line1\nline2 \"q\"");
    pb t = traces_of(&s, 1);
    EXPECT(&t, NULL, 0,
           "trace 00000000000000000000000000000001\n"
           "└─ n\\u001b[31m\\u202e\\xff\\u009bcafé 😀 [s] 1.000 ms ✗ ERROR: line1\\nline2 \"q\" "
           "\"k\\n\"=\"tab\\there\\r\" bad=\"\\xc0\\xaf\" del=\"\\u007f\" smile=😀\n");
    EXPECT(&t, NULL, PTEL_CONSOLE_ASCII,
           "trace 00000000000000000000000000000001\n"
           "`- n\\u001b[31m\\u202e\\xff\\u009bcaf\\u00e9 \\U0001f600 [s] 1.000 ms ERROR: "
           "line1\\nline2 \"q\" \"k\\n\"=\"tab\\there\\r\" bad=\"\\xc0\\xaf\" del=\"\\u007f\" "
           "smile=\"\\U0001f600\"\n");
    pb_free(&t);
}

/* ---- metrics table ------------------------------------------------------------ */

static pb metric_new(const char *name, const char *unit) {
    pb m = pb_new();
    pb_str(&m, 1, name);
    if (unit) pb_str(&m, 3, unit);
    return m;
}

static pb number_point_int(int64_t v) {
    pb p = pb_new();
    pb_fixed64(&p, 2, T0);
    pb_fixed64(&p, 3, T0 + MS);
    pb_fixed64(&p, 6, (uint64_t)v);
    return p;
}

static pb number_point_double(double v) {
    pb p = pb_new();
    pb_fixed64(&p, 3, T0 + MS);
    pb_double(&p, 4, v);
    return p;
}

/* Sum/Gauge/Histogram data with the points (consumed) and temporality. */
static void metric_data(pb *m, uint32_t member, pb *points, size_t n, uint32_t temporality,
                        bool monotonic) {
    pb d = pb_new();
    for (size_t k = 0; k < n; k++) pb_msg(&d, 1, &points[k]);
    if (temporality) pb_varint(&d, 2, temporality);
    if (monotonic) pb_varint(&d, 3, 1);
    pb_msg(m, member, &d);
}

static void packed_fixed64(pb *p, uint32_t num, const uint64_t *v, size_t n) {
    pb_tag(p, num, 2);
    pb_uv(p, 8 * n);
    for (size_t k = 0; k < n; k++) {
        uint8_t t[8];
        for (int i = 0; i < 8; i++) t[i] = (uint8_t)(v[k] >> (8 * i));
        pb_raw(p, t, 8);
    }
}

static pb demo_metrics(void) {
    pb ms[9];
    /* counter: two points, one with an exemplar */
    ms[0] = metric_new("pii.detections", "{detection}");
    pb c1 = number_point_int(3);
    pb ex = pb_new();
    pb_fixed64(&ex, 2, T0 + 2 * MS);
    pb_bytes(&ex, 4, span_id(0xb2), 8);
    pb_bytes(&ex, 5, trace_id(1), 16);
    pb_fixed64(&ex, 6, 1);
    pb_msg(&c1, 5, &ex);
    attr_str(&c1, 7, "kind", "email");
    pb c2 = number_point_int(1);
    attr_str(&c2, 7, "kind", "phone");
    pb ex2 = pb_new(); /* an exemplar without a span */
    pb_double(&ex2, 3, 1.0);
    pb_msg(&c2, 5, &ex2);
    pb counter_points[2] = {c1, c2};
    metric_data(&ms[0], 7, counter_points, 2, 1, true);
    /* up-down counter, cumulative, double */
    ms[1] = metric_new("queue.depth", "1");
    pb u = number_point_double(-2.5);
    metric_data(&ms[1], 7, &u, 1, 2, false);
    /* gauge: a value and a point flagged "no recorded value" */
    ms[2] = metric_new("temperature", "Cel");
    pb g[2] = {number_point_double(21.5), number_point_int(0)};
    pb_varint(&g[1], 8, 1);
    metric_data(&ms[2], 5, g, 2, 0, false);
    /* histogram with bounds, min, max and an attribute */
    ms[3] = metric_new("pii.scan.duration", "ms");
    pb h = pb_new();
    pb_fixed64(&h, 2, T0);
    pb_fixed64(&h, 3, T0 + MS);
    pb_fixed64(&h, 4, 4);
    pb_double(&h, 5, 12.5);
    const uint64_t counts[4] = {0, 1, 2, 1};
    packed_fixed64(&h, 6, counts, 4);
    double bounds_d[3] = {1, 5, 10};
    uint64_t bounds[3];
    memcpy(bounds, bounds_d, sizeof bounds);
    packed_fixed64(&h, 7, bounds, 3);
    attr_str(&h, 9, "error.type", "timeout");
    pb_double(&h, 11, 0.5);
    pb_double(&h, 12, 20);
    metric_data(&ms[3], 9, &h, 1, 1, false);
    /* histogram: unpacked buckets, no bounds, no sum */
    ms[4] = metric_new("payload.size", "By");
    pb h2 = pb_new();
    pb_fixed64(&h2, 4, 2);
    pb_fixed64(&h2, 6, 2);
    metric_data(&ms[4], 9, &h2, 1, 2, false);
    /* a metric without data, and one whose data has no points */
    ms[5] = metric_new("no.data", NULL);
    ms[6] = metric_new("no.points", "s");
    metric_data(&ms[6], 5, NULL, 0, 0, false);
    /* exponential histogram and summary */
    ms[7] = metric_new("latency.exp", "s");
    pb e = pb_new();
    pb_fixed64(&e, 4, 2);
    pb_double(&e, 5, 3);
    pb_varint(&e, 6, 1); /* zigzag: -1 */
    pb_fixed64(&e, 7, 1);
    pb_double(&e, 12, 0);
    pb_double(&e, 13, 3);
    metric_data(&ms[7], 10, &e, 1, 1, false);
    ms[8] = metric_new("latency.summary", "s");
    pb sm = pb_new();
    pb_fixed64(&sm, 4, 4);
    pb_double(&sm, 5, 10);
    pb q1 = pb_new();
    pb_double(&q1, 1, 0.5);
    pb_double(&q1, 2, 2);
    pb_msg(&sm, 6, &q1);
    pb q2 = pb_new();
    pb_double(&q2, 1, 1);
    pb_double(&q2, 2, 4);
    pb_msg(&sm, 6, &q2);
    pb sd = pb_new();
    pb_msg(&sd, 1, &sm);
    pb_msg(&ms[8], 11, &sd);

    pb scopes[1] = {scoped("pii_filter", "1.0.0", ms, 9)};
    pb res = resource("ptel-demo");
    return request(&res, scopes, 1);
}

/* Text repeated on many lines is clipped after PTEL_CONSOLE_MAX_CLIP code
 * points: a trace header's resource, a span's scope, a metric's name and
 * unit. So a large resource shared by many traces costs little. */
static void test_clipping(void) {
    char big[301];
    memset(big, 'a', 300);
    big[300] = '\0';
    char clipped[PTEL_CONSOLE_MAX_CLIP + 1];
    memset(clipped, 'a', PTEL_CONSOLE_MAX_CLIP);
    clipped[PTEL_CONSOLE_MAX_CLIP] = '\0';

    pb s = span_new(1, 1, 0, "x", 0, T0, T0 + MS);
    pb ss = scoped(big, "1.0", &s, 1);
    pb res = pb_new();
    attr_str(&res, 1, "k", big);
    pb t = request(&res, &ss, 1);
    char want[2048];
    /* "trace <32 hex>" + " k=" then 253 more code points of the value. */
    sprintf(want,
            "trace 00000000000000000000000000000001 k=%.*s…\n"
            "└─ x [%s…] 1.000 ms\n",
            PTEL_CONSOLE_MAX_CLIP - 3, clipped, clipped);
    EXPECT(&t, NULL, 0, want);
    pb_free(&t);

    /* A clip inside an escape, and non-ASCII text cut at a code point. */
    pb s2 = span_new(1, 1, 0, "x", 0, T0, T0 + MS);
    char name[PTEL_CONSOLE_MAX_CLIP * 2 + 8];
    size_t n = 0;
    for (int k = 0; k < PTEL_CONSOLE_MAX_CLIP - 2; k++) name[n++] = 'b';
    memcpy(name + n, "\x1b\xc3\xa9", 3);
    name[n + 3] = '\0';
    pb ss2 = scoped(name, NULL, &s2, 1);
    pb t2 = request(NULL, &ss2, 1);
    char bs[PTEL_CONSOLE_MAX_CLIP];
    memset(bs, 'b', PTEL_CONSOLE_MAX_CLIP - 2);
    sprintf(want,
            "trace 00000000000000000000000000000001\n"
            "└─ x [%.*s\\u…] 1.000 ms\n",
            PTEL_CONSOLE_MAX_CLIP - 2, bs);
    EXPECT(&t2, NULL, 0, want);
    pb_free(&t2);

    /* 3000 traces in one ResourceSpans whose resource has 20000 attributes:
     * each header prints at most PTEL_CONSOLE_MAX_CLIP code points of it. */
    pb res3 = pb_new();
    for (int k = 0; k < 20000; k++) {
        char key[16];
        snprintf(key, sizeof key, "a%d", k);
        attr(&res3, 1, key, any_int(k));
    }
    pb sp = pb_new();
    for (int k = 0; k < 3000; k++) {
        pb one = pb_new();
        uint8_t tid[16] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (uint8_t)(k >> 8), (uint8_t)k};
        pb_bytes(&one, 1, tid, 16);
        pb_bytes(&one, 2, span_id(1), 8);
        pb_str(&one, 5, "s");
        pb_fixed64(&one, 7, T0);
        pb_fixed64(&one, 8, T0 + MS);
        pb_msg(&sp, 2, &one);
    }
    pb t3 = request(&res3, &sp, 1);
    CHECK_EQ_INT(render(t3.b, t3.n, NULL, 0, 0, NULL), 0);
    /* header: "trace " + 32 + clipped text (<= 256 code points, each at most
     * 4 bytes) + "…\n"; span line "└─ s 1.000 ms\n"; the empty line. */
    CHECK(render_len <= 3000 * (6 + 32 + 4 * PTEL_CONSOLE_MAX_CLIP + 4 + 30 + 1));
    CHECK(render_out && strstr(render_out, "a0=0 a1=1 a2=2") != NULL);
    CHECK(render_out && strstr(render_out, "a19999") == NULL);
    pb_free(&t3);

    /* A clipped region reads a bounded number of fields, however large the
     * message: an AnyValue of 100000 fields (the last would win), and a
     * Resource with 100000 unknown fields before its attribute. */
    pb v = pb_new();
    for (int k = 0; k < 100000; k++) pb_str(&v, 1, "x");
    pb_str(&v, 1, "last");
    pb r4 = pb_new();
    attr(&r4, 1, "k", v);
    pb s4 = span_new(1, 1, 0, "x", 0, T0, T0 + MS);
    pb ss4 = scoped(NULL, NULL, &s4, 1);
    pb t4 = request(&r4, &ss4, 1);
    EXPECT(&t4, NULL, 0, "trace 00000000000000000000000000000001 k=…\n└─ x 1.000 ms\n");
    pb_free(&t4);
    pb r5 = pb_new();
    for (int k = 0; k < 100000; k++) pb_varint(&r5, 2, 1);
    attr_str(&r5, 1, "k", "v");
    pb s5 = span_new(1, 1, 0, "x", 0, T0, T0 + MS);
    pb ss5 = scoped(NULL, NULL, &s5, 1);
    pb t5 = request(&r5, &ss5, 1);
    EXPECT(&t5, NULL, 0, "trace 00000000000000000000000000000001…\n└─ x 1.000 ms\n");
    pb_free(&t5);

    /* Scopes compare as printed: names equal in their first
     * 4 * PTEL_CONSOLE_MAX_CLIP bytes count as equal (the comparison of each
     * span with its parent stays bounded), shorter differences do not. */
    char n1[2001], n2[2001];
    memset(n1, 'n', 2000);
    n1[2000] = '\0';
    memcpy(n2, n1, sizeof n1);
    n2[1999] = 'z';
    pb p6 = span_new(1, 1, 0, "p", 0, T0, T0 + MS);
    pb c6 = span_new(1, 2, 1, "c", 0, T0, T0 + MS);
    pb d6 = span_new(1, 3, 2, "d", 0, T0, T0 + MS);
    pb sc6[3] = {scoped(n1, NULL, &p6, 1), scoped(n2, NULL, &c6, 1), scoped("short", NULL, &d6, 1)};
    pb t6 = request(NULL, sc6, 3);
    char nn[PTEL_CONSOLE_MAX_CLIP + 1];
    memcpy(nn, n1, PTEL_CONSOLE_MAX_CLIP);
    nn[PTEL_CONSOLE_MAX_CLIP] = '\0';
    sprintf(want,
            "trace 00000000000000000000000000000001\n"
            "└─ p [%s…] 1.000 ms\n"
            "   └─ c 1.000 ms\n"
            "      └─ d [short] 1.000 ms\n",
            nn);
    EXPECT(&t6, NULL, 0, want);
    pb_free(&t6);

    /* A metric's name and unit are clipped in every row (and the column
     * padding stays capped). */
    pb mm = metric_new(big, big);
    pb pts[2] = {number_point_int(1), number_point_int(2)};
    metric_data(&mm, 5, pts, 2, 0, false);
    pb sc = scoped(NULL, NULL, &mm, 1);
    pb m = request(NULL, &sc, 1);
    char row[1024];
    sprintf(row, "  %s…  %s…  gauge  ", clipped, clipped);
    CHECK_EQ_INT(render(NULL, 0, m.b, m.n, 0, NULL), 0);
    CHECK(render_out && strstr(render_out, row) != NULL);
    CHECK(render_out &&
          strstr(render_out, "  NAME                                      UNIT    ") != NULL);
    pb_free(&m);
}

static void test_metrics_table(void) {
    pb m = demo_metrics();
    EXPECT(NULL, &m, 0,
           "metrics service.name=ptel-demo\n"
           "  NAME               UNIT         TYPE                  ATTRIBUTES          VALUE\n"
           "  [pii_filter 1.0.0]\n"
           "  pii.detections     {detection}  counter delta         kind=email          3 "
           "⟂ exemplar span=00000000000000b2\n"
           "  pii.detections     {detection}  counter delta         kind=phone          1 "
           "⟂ exemplar\n"
           "  queue.depth        1            updown cumulative                         -2.5\n"
           "  temperature        Cel          gauge                                     21.5\n"
           "  temperature        Cel          gauge                                     "
           "(no recorded value)\n"
           "  pii.scan.duration  ms           histogram delta       error.type=timeout  count=4 "
           "sum=12.5 min=0.5 max=20 buckets=[≤5:1,≤10:2,>10:1]\n"
           "  payload.size       By           histogram cumulative                      count=2 "
           "buckets=[all:2]\n"
           "  no.data                         (none)                                    "
           "(no data points)\n"
           "  no.points          s            gauge                                     "
           "(no data points)\n"
           "  latency.exp        s            exp-histogram delta                       count=2 "
           "sum=3 min=0 max=3 scale=-1 zero_count=1\n"
           "  latency.summary    s            summary                                   count=4 "
           "sum=10 q0.5=2 q1=4\n");
    EXPECT(NULL, &m, PTEL_CONSOLE_ASCII,
           "metrics service.name=ptel-demo\n"
           "  NAME               UNIT         TYPE                  ATTRIBUTES          VALUE\n"
           "  [pii_filter 1.0.0]\n"
           "  pii.detections     {detection}  counter delta         kind=email          3 "
           "exemplar span=00000000000000b2\n"
           "  pii.detections     {detection}  counter delta         kind=phone          1 "
           "exemplar\n"
           "  queue.depth        1            updown cumulative                         -2.5\n"
           "  temperature        Cel          gauge                                     21.5\n"
           "  temperature        Cel          gauge                                     "
           "(no recorded value)\n"
           "  pii.scan.duration  ms           histogram delta       error.type=timeout  count=4 "
           "sum=12.5 min=0.5 max=20 buckets=[<=5:1,<=10:2,>10:1]\n"
           "  payload.size       By           histogram cumulative                      count=2 "
           "buckets=[all:2]\n"
           "  no.data                         (none)                                    "
           "(no data points)\n"
           "  no.points          s            gauge                                     "
           "(no data points)\n"
           "  latency.exp        s            exp-histogram delta                       count=2 "
           "sum=3 min=0 max=3 scale=-1 zero_count=1\n"
           "  latency.summary    s            summary                                   count=4 "
           "sum=10 q0.5=2 q1=4\n");
    pb_free(&m);
}

/* Columns are padded to the widest cell, in code points, but never beyond
 * PTEL_CONSOLE_MAX_COLUMN: a wider cell shifts the rest of its row only.
 * Each ResourceMetrics is its own table. */
static void test_metrics_columns(void) {
    char longv[61];
    memset(longv, 'x', 60);
    longv[60] = '\0';
    pb p[3] = {number_point_int(1), number_point_int(2), number_point_int(3)};
    attr_str(&p[0], 7, "k", longv);
    attr_str(&p[1], 7, "k", "short");
    attr_str(&p[2], 7, "k", "\xc3\xa9t\xc3\xa9"); /* 3 code points, 5 bytes */
    pb m1 = metric_new("m", "s");
    metric_data(&m1, 5, p, 3, 0, false);
    pb sc1 = scoped(NULL, NULL, &m1, 1);
    pb a = request(NULL, &sc1, 1);
    pb m2 = metric_new("other", NULL);
    pb q = number_point_double(0.5);
    metric_data(&m2, 5, &q, 1, 0, false);
    pb sc2 = scoped(NULL, NULL, &m2, 1);
    pb b = request(NULL, &sc2, 1);
    pb both = pb_new();
    pb_raw(&both, a.b, a.n); /* concatenated requests merge their ResourceMetrics */
    pb_raw(&both, b.b, b.n);
    char want[1024];
    sprintf(want,
            "metrics\n"
            "  NAME  UNIT  TYPE   ATTRIBUTES                                VALUE\n"
            "  m     s     gauge  k=%s  1\n"
            "  m     s     gauge  k=short                                   2\n"
            "  m     s     gauge  k=été                                     3\n"
            "\n"
            "metrics\n"
            "  NAME   UNIT  TYPE   ATTRIBUTES  VALUE\n"
            "  other        gauge              0.5\n",
            longv);
    EXPECT(NULL, &both, 0, want);
    pb_free(&a);
    pb_free(&b);
    pb_free(&both);
}

/* ---- arguments, empty input, malformed input --------------------------------- */

static void test_empty_and_arguments(void) {
    size_t len = 99;
    CHECK_EQ_INT(ptel_console_render(NULL, 0, &len, NULL, 0, NULL, 0, 0, NULL, NULL), 0);
    CHECK_EQ_INT(len, 0);
    /* Requests with nothing in them render nothing. */
    pb empty_rs = pb_new();
    pb_str(&empty_rs, 1, "");
    EXPECT(&empty_rs, &empty_rs, 0, "");
    pb_free(&empty_rs);
    char *out = (char *)1;
    CHECK_EQ_INT(ptel_console_render_alloc(&out, &len, NULL, 0, NULL, 0, 0, NULL, NULL), 0);
    CHECK(out && len == 0 && out[0] == '\0');
    ptel_console_free(out, len, NULL);
    ptel_console_free(NULL, 0, NULL);

    ptel_diag d = {0, 0, 0, NULL};
    CHECK_EQ_INT(ptel_console_render(NULL, 0, &len, NULL, 0, NULL, 0, 4, NULL, &d),
                 PTEL_E_INVALID_ARGUMENT);
    CHECK(d.status == PTEL_E_INVALID_ARGUMENT && d.reason);
    CHECK_EQ_INT(ptel_console_render(NULL, 0, &len, NULL, 1, NULL, 0, 0, NULL, NULL),
                 PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_console_render(NULL, 0, &len, NULL, 0, NULL, 1, 0, NULL, NULL),
                 PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_console_render_alloc(NULL, &len, NULL, 0, NULL, 0, 0, NULL, NULL),
                 PTEL_E_INVALID_ARGUMENT);
    CHECK_EQ_INT(ptel_console_render_alloc(&out, NULL, NULL, 0, NULL, 0, 0, NULL, NULL),
                 PTEL_E_INVALID_ARGUMENT);
}

static void expect_fail_hex_at(int line, const char *traces_hex, const char *metrics_hex,
                               int status, uint64_t offset, uint32_t field) {
    static uint8_t t[256], m[256];
    size_t tn = test_unhex(t, traces_hex), mn = test_unhex(m, metrics_hex);
    expect_fail_at(line, t, tn, m, mn, status, offset, field);
}

#define EXPECT_FAIL_HEX(t, m, status, offset, field)                                               \
    expect_fail_hex_at(__LINE__, (t), (m), (status), (offset), (field))

static void test_malformed(void) {
    /* framing */
    EXPECT_FAIL_HEX("0a", "", PTEL_E_TRUNCATED, 0, 1);
    EXPECT_FAIL_HEX("0a050102", "", PTEL_E_TRUNCATED, 0, 1);
    EXPECT_FAIL_HEX("0affffffffffffffff7f", "", PTEL_E_TRUNCATED, 0, 1);
    EXPECT_FAIL_HEX("0aff", "", PTEL_E_TRUNCATED, 0, 1);
    EXPECT_FAIL_HEX("0affffffffffffffffffff01", "", PTEL_E_MALFORMED, 0, 1);
    EXPECT_FAIL_HEX("80", "", PTEL_E_TRUNCATED, 0, 0);
    EXPECT_FAIL_HEX("0000", "", PTEL_E_MALFORMED, 0, 0);
    /* wrong wire types at each level: request, span, group type, status,
     * array element, event, link, resource of a printed trace */
    EXPECT_FAIL_HEX("0800", "", PTEL_E_MALFORMED, 0, 1);
    EXPECT_FAIL_HEX("0a0612041202 2801", "", PTEL_E_MALFORMED, 6, 5);
    EXPECT_FAIL_HEX("0a0612041202 2b00", "", PTEL_E_MALFORMED, 6, 5);
    EXPECT_FAIL_HEX("0a0812061204 7a021a00", "", PTEL_E_MALFORMED, 8, 3);
    EXPECT_FAIL_HEX("0a0c120a1208 4a06 1204 2a02 0801", "", PTEL_E_MALFORMED, 12, 1);
    EXPECT_FAIL_HEX("0a0812061204 5a020801", "", PTEL_E_MALFORMED, 8, 1);
    EXPECT_FAIL_HEX("0a0812061204 6a020a01", "", PTEL_E_TRUNCATED, 8, 1);
    EXPECT_FAIL_HEX("0a0812061204 6a023500", "", PTEL_E_TRUNCATED, 8, 6);
    EXPECT_FAIL_HEX("0a0a 0a020801 12041202 2a00", "", PTEL_E_MALFORMED, 4, 1);
    /* a span's flags must be fixed32 */
    EXPECT_FAIL_HEX("0a0712051203 800101", "", PTEL_E_MALFORMED, 6, 16);
    /* metrics: offsets continue after the traces ("0a00", 2 bytes) */
    EXPECT_FAIL_HEX("0a00", "0a06 1204 1202 1801", PTEL_E_MALFORMED, 2 + 6, 3);
    EXPECT_FAIL_HEX("", "0a0d120b1209 4a07 0a05 3203000000", PTEL_E_MALFORMED, 10, 6);
    EXPECT_FAIL_HEX("", "0a0c120a1208 2a06 0a04 2a022001", PTEL_E_MALFORMED, 12, 4);
    EXPECT_FAIL_HEX("", "0a0c120a1208 3a06 0a04 11020304", PTEL_E_TRUNCATED, 10, 2);
    EXPECT_FAIL_HEX("", "0a0a12081206 3a04 1a020000", PTEL_E_MALFORMED, 8, 3);
    /* a bad resource of a table; a bad data-point attribute */
    EXPECT_FAIL_HEX("", "0a0a 0a020801 12041202 0a00", PTEL_E_MALFORMED, 4, 1);
    EXPECT_FAIL_HEX("", "0a0c120a1208 2a06 0a04 3a020801", PTEL_E_MALFORMED, 12, 1);

    /* What is not printed is not decoded: the resource of a ResourceSpans
     * without spans. */
    uint8_t t[8];
    size_t tn = test_unhex(t, "0a040a020801");
    CHECK_EQ_INT(render(t, tn, NULL, 0, 0, NULL), 0);
    CHECK_EQ_INT(render_len, 0);
    CHECK_EQ_INT(render(NULL, 0, t, tn, 0, NULL), 0); /* nor of a ResourceMetrics */
    CHECK_EQ_INT(render_len, 0);
}

/* Every prefix and every single-byte corruption of valid requests renders
 * or fails with a wire status; never anything else. */
static void test_corruption_sweep(void) {
    pb t = demo_traces(), m = demo_metrics();
    pb *ins[2] = {&t, &m};
    for (int w = 0; w < 2; w++) {
        pb *in = ins[w];
        uint8_t *copy = malloc(in->n);
        if (!copy) exit(2);
        for (size_t len = 0; len < in->n; len++) {
            int rc =
                w ? render(NULL, 0, in->b, len, 0, NULL) : render(in->b, len, NULL, 0, 0, NULL);
            CHECK(rc == 0 || rc == PTEL_E_TRUNCATED || rc == PTEL_E_MALFORMED);
        }
        static const uint8_t subst[] = {0x00, 0x01, 0x02, 0x05, 0x7f, 0x80, 0xff};
        for (size_t i = 0; i < in->n; i++) {
            for (size_t k = 0; k < sizeof subst; k++) {
                memcpy(copy, in->b, in->n);
                copy[i] = subst[k];
                int rc = w ? render(NULL, 0, copy, in->n, PTEL_CONSOLE_ASCII, NULL)
                           : render(copy, in->n, NULL, 0, PTEL_CONSOLE_ASCII, NULL);
                CHECK(rc == 0 || rc == PTEL_E_TRUNCATED || rc == PTEL_E_MALFORMED);
                for (size_t j = 0; j < render_len; j++)
                    if ((uint8_t)render_out[j] >= 0x80) {
                        CHECK(!"ASCII mode wrote a non-ASCII byte");
                        break;
                    }
            }
        }
        free(copy);
    }
    pb_free(&t);
    pb_free(&m);
}

/* Both sections together, separated by one empty line. */
static void test_traces_and_metrics(void) {
    pb s = span_new(1, 1, 0, "root", 0, T0, T0 + MS);
    pb t = traces_of(&s, 1);
    pb m1 = metric_new("c", NULL);
    pb p = number_point_int(1);
    metric_data(&m1, 7, &p, 1, 1, true);
    pb sc = scoped(NULL, NULL, &m1, 1);
    pb m = request(NULL, &sc, 1);
    EXPECT(&t, &m, 0,
           "trace 00000000000000000000000000000001\n"
           "└─ root [s] 1.000 ms\n"
           "\n"
           "metrics\n"
           "  NAME  UNIT  TYPE           ATTRIBUTES  VALUE\n"
           "  c           counter delta              1\n");
    pb_free(&t);
    pb_free(&m);
}

/* ---- end to end: recorder -> host validation -> export -> render ------------- */

typedef struct e2e_env {
    uint64_t mono; /* fake monotonic clock, ns */
    uint8_t next;  /* last id byte handed out */
} e2e_env;

static uint64_t e2e_mono(void *ud) { return ((e2e_env *)ud)->mono; }
static uint64_t e2e_real(void *ud) { return T0 + ((e2e_env *)ud)->mono; }

static void e2e_ids(void *ud, uint8_t *out, size_t n) {
    memset(out, 0, n);
    out[0] = 0xe0;
    out[n - 1] = ++((e2e_env *)ud)->next;
}

static ptel_attr e2e_str(const char *k, const char *v) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = k;
    a.key.len = strlen(k);
    a.value.type = PTEL_VALUE_STRING;
    a.value.str.ptr = v;
    a.value.str.len = strlen(v);
    return a;
}

/* Export the invocation's traces or metrics into a malloc'd buffer. */
static uint8_t *e2e_export(const ptel_invocation *inv, const ptel_export_options *eo, bool metrics,
                           size_t *len) {
    *len = 0;
    int rc = metrics ? ptel_invocation_export_metrics(inv, eo, NULL, 0, len)
                     : ptel_invocation_export_traces(inv, eo, NULL, 0, len);
    CHECK(rc == PTEL_E_BUFFER_TOO_SMALL || (rc == 0 && *len == 0));
    uint8_t *buf = malloc(*len + 1);
    if (!buf) exit(2);
    rc = metrics ? ptel_invocation_export_metrics(inv, eo, buf, *len, len)
                 : ptel_invocation_export_traces(inv, eo, buf, *len, len);
    CHECK_EQ_INT(rc, 0);
    return buf;
}

static void test_end_to_end(void) {
    e2e_env env = {0, 0};
    static const uint8_t tid[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
                                    0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
    static const uint8_t sid[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    ptel_invocation_options io;
    ptel_invocation_options_init(&io);
    memcpy(io.parent.trace_id, tid, 16);
    memcpy(io.parent.span_id, sid, 8);
    io.parent.trace_flags = PTEL_TRACE_FLAG_SAMPLED;
    io.decision = PTEL_DECISION_RECORD_AND_SAMPLE;
    io.plugin_name.ptr = "pii_filter";
    io.plugin_name.len = 10;
    io.plugin_version.ptr = "1.0.0";
    io.plugin_version.len = 5;
    io.hook.ptr = "tool_pre_invoke";
    io.hook.len = 15;
    io.start_unix_nano = T0;
    io.clock.monotonic_ns = e2e_mono;
    io.clock.realtime_ns = e2e_real;
    io.clock.ud = &env;
    io.ids.fill = e2e_ids;
    io.ids.ud = &env;
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &io, NULL), 0);
    if (!inv) return;

    ptel_recorder_options ro;
    ptel_recorder_options_init(&ro);
    ro.clock = io.clock;
    ro.ids = io.ids;
    ro.strict = true;
    ptel_recorder *rec = NULL;
    CHECK_EQ_INT(ptel_recorder_new(&rec, ptel_invocation_context(inv), &ro), 0);
    if (!rec) {
        ptel_invocation_free(inv);
        return;
    }
    ptel_span *scan = NULL, *regex = NULL;
    env.mono = 1 * MS;
    CHECK_EQ_INT(ptel_span_start(&scan, rec, NULL, "pii.scan", 8, PTEL_SPAN_KIND_INTERNAL, 0), 0);
    ptel_attr kind = e2e_str("pii.kind", "email");
    CHECK_EQ_INT(ptel_span_set_attributes(scan, &kind, 1), 0);
    env.mono = 2 * MS;
    CHECK_EQ_INT(ptel_span_start(&regex, rec, scan, "regex", 5, PTEL_SPAN_KIND_INTERNAL, 0), 0);
    env.mono = 2 * MS + 250000;
    CHECK_EQ_INT(ptel_span_add_event(regex, "match", 5, 0, &kind, 1), 0);
    ptel_metric_options mo;
    ptel_metric_options_init(&mo);
    mo.kind = PTEL_METRIC_COUNTER;
    mo.number_type = PTEL_NUMBER_INT;
    mo.name.ptr = "pii.detections";
    mo.name.len = 14;
    mo.unit.ptr = "{detection}";
    mo.unit.len = 11;
    ptel_metric *det = NULL;
    CHECK_EQ_INT(ptel_metric_get(&det, rec, &mo), 0);
    CHECK_EQ_INT(ptel_metric_record_int(det, 2, &kind, 1, regex), 0);
    env.mono = 3 * MS;
    CHECK_EQ_INT(ptel_span_end(regex, 0), 0);
    CHECK_EQ_INT(ptel_span_set_status(scan, PTEL_STATUS_ERROR, "too many matches", 16), 0);
    env.mono = 4 * MS;
    CHECK_EQ_INT(ptel_span_end(scan, 0), 0);
    const uint8_t *payload = NULL;
    size_t payload_len = 0;
    CHECK_EQ_INT(ptel_recorder_finish(rec, &payload, &payload_len), 0);
    env.mono = 5 * MS;
    ptel_report report;
    CHECK_EQ_INT(
        ptel_invocation_end(inv, payload, payload_len, PTEL_OUTCOME_OK, NULL, 0, &report, NULL), 0);
    CHECK_EQ_INT(report.spans_accepted, 2);

    ptel_export_options eo;
    ptel_export_options_init(&eo);
    ptel_attr res = e2e_str("service.name", "ptel-demo");
    eo.resource_attributes = &res;
    eo.resource_attribute_count = 1;
    size_t tn = 0, mn = 0;
    uint8_t *t = e2e_export(inv, &eo, false, &tn);
    uint8_t *m = e2e_export(inv, &eo, true, &mn);
    pb tb = {t, tn, tn}, mb = {m, mn, mn};
    EXPECT(&tb, &mb, PTEL_CONSOLE_SPAN_IDS,
           "trace 4bf92f3577b34da6a3ce929d0e0e4736 service.name=ptel-demo\n"
           "└─ plugin.execute [ptel " PTEL_VERSION_STRING "] 5.000 ms plugin.name=pii_filter "
           "plugin.hook=tool_pre_invoke plugin.version=1.0.0 plugin.outcome=ok "
           "id=e000000000000001\n"
           "   └─ pii.scan [pii_filter 1.0.0] 3.000 ms ✗ ERROR: too many matches "
           "pii.kind=email id=e000000000000002\n"
           "      └─ regex 1.000 ms id=e000000000000003\n"
           "            • match +0.250 ms pii.kind=email\n"
           "\n"
           "metrics service.name=ptel-demo\n"
           "  NAME            UNIT         TYPE           ATTRIBUTES      VALUE\n"
           "  [pii_filter 1.0.0]\n"
           "  pii.detections  {detection}  counter delta  pii.kind=email  2 "
           "⟂ exemplar span=e000000000000003\n");
    free(t);
    free(m);
    ptel_recorder_free(rec);
    ptel_invocation_free(inv);
}

/* ---- the ptel tree command ------------------------------------------------------ */

static void cli_temp(char *path, const uint8_t *data, size_t len) {
    strcpy(path, "/tmp/ptel_console_XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    FILE *f = fdopen(fd, "wb");
    if (len) CHECK_EQ_INT(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Run the CLI with `args`; its stdout and stderr in out, its exit status returned. */
static int cli_run(const char *args, char *out, size_t cap) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' tree %s 2>&1", PTEL_CLI, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void) {
    pb t = demo_traces(), m = demo_metrics();
    char tpath[64], mpath[64], bad[64], args[256];
    cli_temp(tpath, t.b, t.n);
    cli_temp(mpath, m.b, m.n);
    static const uint8_t bad_metrics[] = {0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x18, 0x01};
    cli_temp(bad, bad_metrics, sizeof bad_metrics);
    char *out = malloc(1 << 16);
    if (!out) exit(2);

    snprintf(args, sizeof args, "%s %s", tpath, mpath);
    CHECK_EQ_INT(cli_run(args, out, 1 << 16), 0);
    CHECK_EQ_INT(render(t.b, t.n, m.b, m.n, 0, NULL), 0);
    CHECK(render_out && strcmp(out, render_out) == 0);

    snprintf(args, sizeof args, "--ascii --ids %s", tpath);
    CHECK_EQ_INT(cli_run(args, out, 1 << 16), 0);
    CHECK_EQ_INT(render(t.b, t.n, NULL, 0, PTEL_CONSOLE_ASCII | PTEL_CONSOLE_SPAN_IDS, NULL), 0);
    CHECK(render_out && strcmp(out, render_out) == 0);

    /* An error in the metrics file names it, with the offset inside it. */
    snprintf(args, sizeof args, "%s %s", tpath, bad);
    CHECK_EQ_INT(cli_run(args, out, 1 << 16), 1);
    char want[256];
    snprintf(want, sizeof want,
             "ptel tree: %s: malformed protobuf wire data: wrong wire type for known field "
             "(at byte 6, field 3)\n",
             bad);
    CHECK(strcmp(out, want) == 0);

    snprintf(args, sizeof args, "%s %s", bad, bad); /* as traces: field 2 is unknown there */
    CHECK_EQ_INT(cli_run(args, out, 1 << 16), 1);
    CHECK(strncmp(out, "ptel tree: ", 11) == 0 && strstr(out, bad) != NULL);

    CHECK_EQ_INT(cli_run("/nonexistent/traces.binpb", out, 1 << 16), 1);
    CHECK(strcmp(out, "ptel tree: cannot read /nonexistent/traces.binpb\n") == 0);
    CHECK_EQ_INT(cli_run("", out, 1 << 16), 2);
    CHECK_EQ_INT(cli_run("--color x", out, 1 << 16), 2);
    snprintf(args, sizeof args, "%s %s %s", tpath, mpath, mpath);
    CHECK_EQ_INT(cli_run(args, out, 1 << 16), 2);

    char empty[64];
    cli_temp(empty, NULL, 0);
    CHECK_EQ_INT(cli_run(empty, out, 1 << 16), 0);
    CHECK(strcmp(out, "(no spans or metrics)\n") == 0);

    remove(tpath);
    remove(mpath);
    remove(bad);
    remove(empty);
    free(out);
    pb_free(&t);
    pb_free(&m);
}

int main(void) {
    RUN(test_tree_demo);
    RUN(test_tree_order);
    RUN(test_tree_span_fields);
    RUN(test_tree_cycles);
    RUN(test_tree_duplicates);
    RUN(test_tree_depth_limit);
    RUN(test_tree_span_cap);
    RUN(test_values);
    RUN(test_escapes);
    RUN(test_clipping);
    RUN(test_metrics_table);
    RUN(test_traces_and_metrics);
    RUN(test_metrics_columns);
    RUN(test_empty_and_arguments);
    RUN(test_malformed);
    RUN(test_corruption_sweep);
    RUN(test_end_to_end);
    RUN(test_cli);
    free(render_out);
    return test_summary();
}
