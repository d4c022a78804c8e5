/* ptel_span_start_with_attributes: the same bytes as ptel_span_start then
 * ptel_span_set_attributes, the same statuses and drop counts, and nothing
 * read under a DROP decision. */
#include "recorder_fixture.h"

#include <stdlib.h>

static const char NAME[] = "pii_filter.scan";

/* Record one span either way and return the finished payload (malloc'd). */
static uint8_t *record(bool combined, const ptel_attr *attrs, size_t n, bool strict, int *rc,
                       size_t *len, ptel_drop_counts *drops) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, strict);
    ptel_span *s = NULL;
    if (combined) {
        *rc = ptel_span_start_with_attributes(&s, rec, NULL, NAME, sizeof NAME - 1,
                                              PTEL_SPAN_KIND_SERVER, 0, attrs, n);
    } else {
        *rc = ptel_span_start(&s, rec, NULL, NAME, sizeof NAME - 1, PTEL_SPAN_KIND_SERVER, 0);
        int rc2 = ptel_span_set_attributes(s, attrs, n);
        if (!*rc) *rc = rc2;
    }
    CHECK(s != NULL);
    CHECK(ptel_span_is_recording(s));
    env.mono += 1000;
    CHECK_EQ_INT(ptel_span_end(s, 0), 0);
    const uint8_t *out;
    CHECK_EQ_INT(ptel_recorder_finish(rec, &out, len), 0);
    uint8_t *copy = malloc(*len);
    memcpy(copy, out, *len);
    ptel_recorder_drops(rec, drops);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
    return copy;
}

/* Both ways, compared: payload, status, drop counts. */
static void same_both_ways(const ptel_attr *attrs, size_t n, bool strict, int want_rc) {
    int rc1, rc2;
    size_t n1, n2;
    ptel_drop_counts d1, d2;
    uint8_t *a = record(false, attrs, n, strict, &rc1, &n1, &d1);
    uint8_t *b = record(true, attrs, n, strict, &rc2, &n2, &d2);
    CHECK_EQ_INT(rc1, want_rc);
    CHECK_EQ_INT(rc2, want_rc);
    CHECK_EQ_INT(n1, n2);
    CHECK(n1 == n2 && memcmp(a, b, n1) == 0);
    CHECK(memcmp(&d1, &d2, sizeof d1) == 0);
    free(a);
    free(b);
}

static void t_same_bytes(void) {
    ptel_attr attrs[3] = {fx_str("pii.detector", "pattern"), fx_int("pii.input.bytes", 1024),
                          fx_str("peer.service", "mailer")};
    same_both_ways(attrs, 3, false, 0);
    same_both_ways(attrs, 3, true, 0);
    same_both_ways(NULL, 0, true, 0); /* no attributes: a plain start */
}

static void t_invalid_attributes(void) {
    /* An empty key is refused and counted; strict returns the status, and
     * the span is started all the same. */
    ptel_attr bad[2] = {fx_str("ok", "v"), fx_str("", "v")};
    same_both_ways(bad, 2, false, 0);
    same_both_ways(bad, 2, true, PTEL_E_INVALID_ARGUMENT);
    same_both_ways(NULL, 2, true, PTEL_E_INVALID_ARGUMENT); /* count without an array */
}

static void t_drop_reads_nothing(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_DROP, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_span *s = NULL;
    /* attrs NULL with a count: would be refused if it were read. */
    CHECK_EQ_INT(
        ptel_span_start_with_attributes(&s, rec, NULL, NAME, sizeof NAME - 1, 0, 0, NULL, 5), 0);
    CHECK(s != NULL);
    CHECK(!ptel_span_is_recording(s));
    ptel_drop_counts d;
    ptel_recorder_drops(rec, &d);
    CHECK_EQ_INT(d.errors, 0);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

static void t_bad_arguments(void) {
    fx_env env = {0};
    ptel_context *ctx = fx_context(PTEL_DECISION_RECORD_AND_SAMPLE, NULL);
    ptel_recorder *rec = fx_recorder(&env, ctx, true);
    ptel_attr a = fx_int("n", 1);
    /* No output pointer: refused and counted once, attributes untouched. */
    CHECK_EQ_INT(ptel_span_start_with_attributes(NULL, rec, NULL, NAME, 3, 0, 0, &a, 1),
                 PTEL_E_INVALID_ARGUMENT);
    ptel_drop_counts d;
    ptel_recorder_drops(rec, &d);
    CHECK_EQ_INT(d.errors, 1);
    /* No recorder: *out NULL. */
    ptel_span *s = (ptel_span *)&a;
    CHECK_EQ_INT(ptel_span_start_with_attributes(&s, NULL, NULL, NAME, 3, 0, 0, &a, 1),
                 PTEL_E_INVALID_ARGUMENT);
    CHECK(s == NULL);
    /* A refused start gives the non-recording span, whose attributes are
     * not read: the start's status. */
    CHECK_EQ_INT(ptel_span_start_with_attributes(&s, rec, NULL, NAME, 3, 99, 0, NULL, 1),
                 PTEL_E_INVALID_ARGUMENT);
    ptel_recorder_free(rec);
    ptel_context_free(ctx);
}

int main(void) {
    RUN(t_same_bytes);
    RUN(t_invalid_attributes);
    RUN(t_drop_reads_nothing);
    RUN(t_bad_arguments);
    return test_summary();
}
