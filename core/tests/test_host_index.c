/* The host's indexes: span ids (a hash table, and the sorted array it falls
 * back to when hostile ids make probes run long) and reserved keys (a hash
 * table behind a filter, prefixes by first byte). Both ways must give the
 * same verdicts. */
#include "host_internal.h"
#include "test_host_util.h"

#include <stdio.h>

#define T(x) (FX_T0 + (x))

enum { IX_SPANS = 200 };

/* The table's home slot of an id, as host_validate.c computes it for a
 * table of `mask` + 1 slots. */
static size_t ix_home(const uint8_t *id, size_t mask) {
    uint64_t key = ptel__get_fixed64(id);
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static uint64_t ix_rng(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A non-zero id, different from the invocation's, whose home slot is 0
 * when `collide` (else any). */
static void ix_id(uint8_t *out, uint64_t *seed, bool collide, size_t mask) {
    for (;;) {
        uint64_t v = ix_rng(seed);
        ptel__put_fixed64(out, v);
        if (!v || memcmp(out, FX_INV, 8) == 0) continue;
        if (!collide || ix_home(out, mask) == 0) return;
    }
}

static void ix_exemplar(pb *out, const uint8_t *span) {
    pb ex;
    pb_init(&ex);
    pb_fixed64(&ex, 2, T(3));
    pb_bytes(&ex, 4, span, 8);
    pb_bytes(&ex, 5, FX_TRACE, 16);
    pb_fixed64(&ex, 6, 5);
    pb_msg(out, 5, &ex);
}

/* A chain of IX_SPANS spans (each the child of the one before), a duplicate
 * id, a span with an unknown parent, one more child of the chain's end, and
 * a counter whose exemplars point at a kept span, an unknown id and the
 * dropped span. With `collide` every id of the chain (and the unknown one)
 * has the same home slot. */
static void ix_payload(pb *p, bool collide, uint64_t seed) {
    /* 203 spans: a table of 512 slots. */
    const size_t mask = 511;
    static uint8_t ids[IX_SPANS][8];
    uint8_t unknown[8], lone[8], last[8];
    for (int k = 0; k < IX_SPANS; k++) ix_id(ids[k], &seed, collide, mask);
    ix_id(unknown, &seed, collide, mask);
    ix_id(lone, &seed, false, mask);
    ix_id(last, &seed, false, mask);
    fx_payload(p);
    pb s;
    for (int k = 0; k < IX_SPANS; k++) {
        fx_span(&s, ids[k], k ? ids[k - 1] : FX_INV, "s", T(1), T(2));
        pb_msg(p, 2, &s);
    }
    fx_span(&s, ids[5], FX_INV, "dup", T(1), T(2));
    pb_msg(p, 2, &s);
    fx_span(&s, lone, unknown, "lost", T(1), T(2));
    pb_msg(p, 2, &s);
    fx_span(&s, last, ids[IX_SPANS - 1], "end", T(1), T(2));
    pb_msg(p, 2, &s);
    pb exs, pt, data, m;
    pb_init(&exs);
    ix_exemplar(&exs, ids[150]);
    ix_exemplar(&exs, unknown);
    ix_exemplar(&exs, lone);
    pb_init(&pt);
    pb_fixed64(&pt, 2, T(1));
    pb_fixed64(&pt, 3, T(2));
    pb_raw(&pt, exs.b, exs.n);
    pb_fixed64(&pt, 6, 1);
    pb_free(&exs);
    pb_init(&data);
    pb_msg(&data, 1, &pt);
    pb_uint(&data, 2, 1);
    pb_uint(&data, 3, 1);
    pb_init(&m);
    pb_str(&m, 1, "c");
    pb_str(&m, 3, "{call}");
    pb_msg(&m, 7, &data);
    pb_msg(p, 3, &m);
}

static void t_span_index(void) {
    ptel_report reps[2];
    for (int collide = 0; collide < 2; collide++) {
        pb p;
        ix_payload(&p, collide, 0x9E3779B97F4A7C15ull);
        fx f;
        ptel_invocation *inv = fx_begin(&f, NULL);
        ptel_report *rep = &reps[collide];
        CHECK_EQ_INT(fx_end(inv, &p, rep), 0);
        /* The hash table, or the sorted array after too many probes. */
        CHECK(collide ? inv->span_index.slots == NULL : inv->span_index.slots != NULL);
        CHECK_EQ_INT(rep->spans_accepted, IX_SPANS + 1);
        CHECK_EQ_INT(rep->spans_dropped, 2);
        CHECK_EQ_INT(rep->reasons[PTEL_REASON_SPAN_ID_DUPLICATE], 1);
        /* The lost span, and two exemplars: the unknown id, the lost span. */
        CHECK_EQ_INT(rep->reasons[PTEL_REASON_PARENT_UNKNOWN], 3);
        CHECK_EQ_INT(rep->metrics_accepted, 1);
        uint32_t reasons = 0;
        for (int k = 0; k < PTEL_REASON_COUNT; k++) reasons += rep->reasons[k];
        CHECK_EQ_INT(reasons, 4);
        ptel_invocation_free(inv);
        pb_free(&p);
    }
    CHECK(memcmp(&reps[0], &reps[1], sizeof reps[0]) == 0);
}

typedef struct rk_case {
    const char *key;
    bool reserved;
} rk_case;

/* Each of `cases` as an attribute of one span, under a policy reserving
 * `keys`: both ways (the clean check and the full validation) count the
 * reserved ones, and keys that only resemble a reserved one pass unchanged. */
static void reserved_cases(const ptel_str *keys, size_t nkeys, const rk_case *cases, size_t n) {
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    pol.reserved_keys = keys;
    pol.reserved_key_count = nkeys;
    uint32_t want = 0;
    pb p, s;
    fx_payload(&p);
    fx_span(&s, (const uint8_t *)"\1\2\3\4\5\6\7\10", FX_INV, "s", T(1), T(2));
    for (size_t k = 0; k < n; k++) {
        pb_attr_str(&s, 9, cases[k].key, "v");
        want += cases[k].reserved;
    }
    pb_msg(&p, 2, &s);
    for (int full = 0; full < 2; full++) {
        fx f;
        ptel_invocation_options o;
        fx_options(&o, &f, &pol);
        ptel_invocation *inv = NULL;
        CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
        if (!inv) break;
        inv->full_check = full;
        f.mono += 1000000;
        ptel_report rep;
        CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
        CHECK_EQ_INT(rep.reasons[PTEL_REASON_RESERVED_KEY], want);
        CHECK_EQ_INT(rep.spans_modified, want ? 1 : 0);
        CHECK_EQ_INT(inv->clean_wrong, 0);
        ptel_invocation_free(inv);
    }
    pb_free(&p);
    /* Without the reserved ones the span is clean. */
    fx_payload(&p);
    fx_span(&s, (const uint8_t *)"\1\2\3\4\5\6\7\10", FX_INV, "s", T(1), T(2));
    for (size_t k = 0; k < n; k++)
        if (!cases[k].reserved) pb_attr_str(&s, 9, cases[k].key, "v");
    pb_msg(&p, 2, &s);
    fx f;
    ptel_invocation_options o;
    fx_options(&o, &f, &pol);
    ptel_invocation *inv = NULL;
    CHECK_EQ_INT(ptel_invocation_begin(&inv, &o, NULL), 0);
    if (inv) {
        inv->full_check = true;
        f.mono += 1000000;
        ptel_report rep;
        CHECK_EQ_INT(fx_end(inv, &p, &rep), 0);
        CHECK_EQ_INT(rep.spans_modified, 0);
        CHECK_EQ_INT(inv->clean_missed, 0);
        CHECK_EQ_INT(inv->clean_wrong, 0);
        ptel_invocation_free(inv);
    }
    pb_free(&p);
}

/* Many exact keys and prefixes, the shortest of 4 bytes. */
static void t_reserved_index(void) {
    static char names[100][16];
    ptel_str keys[104];
    for (int k = 0; k < 100; k++) {
        snprintf(names[k], sizeof names[k], "res.key.%d", k);
        keys[k] = (ptel_str){names[k], strlen(names[k])};
    }
    keys[100] = (ptel_str){"pre.", 4};
    keys[101] = (ptel_str){"x.y.", 4};
    keys[102] = (ptel_str){"", 0}; /* ignored */
    keys[103] = (ptel_str){"short", 5};
    static const rk_case cases[] = {
        {"res.key.0", true}, {"res.key.99", true},    {"res.key.100", false}, {"res.key.", false},
        {"pre.x", true},     {"pre.", true},          {"pre", false},         {"prefix", false},
        {"x.y.z", true},     {"x.yz", false},         {"short", true},        {"shor", false},
        {"shortt", false},   {"service.name", false},
    };
    reserved_cases(keys, 104, cases, sizeof cases / sizeof cases[0]);
}

/* The filter reads as many first bytes as the shortest entry has (here 2),
 * up to 8: keys of every length around those. */
static void t_reserved_short(void) {
    static const ptel_str keys[] = {{"id", 2}, {"k.", 2}, {"service.", 8}, {"plugin.name", 11}};
    static const rk_case cases[] = {
        {"id", true},
        {"i", false},
        {"idx", false},
        {"k.", true},
        {"k.v", true},
        {"k", false},
        {"kx", false},
        {"ids.long.key", false},
        {"service.x", true},
        {"service", false},
        {"server.address", false},
        {"plugin.name", true},
        {"plugin.nam", false},
        {"plugin.names", false},
        {"k.a.very.long.key.name", true},
    };
    reserved_cases(keys, sizeof keys / sizeof keys[0], cases, sizeof cases / sizeof cases[0]);
    /* The defaults: the shortest entry has 11 bytes, so 8 are read. */
    ptel_host_policy pol;
    ptel_host_policy_init(&pol);
    static const rk_case defaults[] = {
        {"service.name", true},    {"service.names", false},   {"server.address", false},
        {"telemetry.sdk.x", true}, {"telemetry.sdk", false},   {"plugin.hook", true},
        {"plugin.outcome", true},  {"plugin.outcomes", false}, {"telemetry.distro.v", true},
    };
    reserved_cases(pol.reserved_keys, pol.reserved_key_count, defaults,
                   sizeof defaults / sizeof defaults[0]);
}

int main(void) {
    RUN(t_span_index);
    RUN(t_reserved_index);
    RUN(t_reserved_short);
    return test_summary();
}
