/* W3C traceparent: Level 2 parsing and version-00 formatting. */
#include "internal.h"

static bool tp_is_ows(char c) { return c == ' ' || c == '\t'; }

static int tp_fail(ptel_diag *diag, size_t offset, const char *reason) {
    return ptel__fail(diag, PTEL_E_TRACEPARENT, offset, 0, reason);
}

/* Offset of the first character of s[0..n) that is not lowercase hex, or n. */
static size_t tp_hex_span(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) i++;
    return i;
}

int ptel_traceparent_parse(ptel_traceparent *out, const char *s, size_t len, ptel_diag *diag) {
    if (!out || (!s && len))
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    if (!s) s = "";
    size_t a = 0, b = len;
    while (a < b && tp_is_ows(s[a])) a++;
    while (b > a && tp_is_ows(s[b - 1])) b--;
    const char *p = s + a;
    size_t n = b - a;
    /* Layout: vv-<32 trace-id>-<16 parent-id>-ff, dashes at 2, 35, 52. */
    size_t h = tp_hex_span(p, n < 2 ? n : 2);
    if (h < 2) {
        if (h == n) return tp_fail(diag, a + n, "traceparent too short");
        return tp_fail(diag, a + h, "version is not two lowercase hex digits");
    }
    if (p[0] == 'f' && p[1] == 'f') return tp_fail(diag, a, "version ff is invalid");
    if (n == 2) return tp_fail(diag, a + 2, "traceparent too short");
    if (p[2] != '-') return tp_fail(diag, a + 2, "expected '-' after the version");

    static const struct {
        size_t start, digits;
        const char *bad;
        const char *dash;
    } tp_parts[3] = {
        {3, 32, "trace-id is not 32 lowercase hex digits", "expected '-' after the trace-id"},
        {36, 16, "parent-id is not 16 lowercase hex digits", "expected '-' after the parent-id"},
        {53, 2, "trace-flags are not 2 lowercase hex digits", NULL},
    };
    for (int i = 0; i < 3; i++) {
        size_t start = tp_parts[i].start, digits = tp_parts[i].digits;
        size_t avail = n > start ? n - start : 0;
        size_t want = avail < digits ? avail : digits;
        h = tp_hex_span(p + start, want);
        if (h < digits) {
            if (h == avail) return tp_fail(diag, a + n, "traceparent too short");
            return tp_fail(diag, a + start + h, tp_parts[i].bad);
        }
        if (tp_parts[i].dash) {
            if (n == start + digits) return tp_fail(diag, a + n, "traceparent too short");
            if (p[start + digits] != '-')
                return tp_fail(diag, a + start + digits, tp_parts[i].dash);
        }
    }
    bool v00 = p[0] == '0' && p[1] == '0';
    if (n > PTEL_TRACEPARENT_LEN) {
        if (v00) return tp_fail(diag, a + PTEL_TRACEPARENT_LEN, "trailing data after version 00");
        if (p[PTEL_TRACEPARENT_LEN] != '-')
            return tp_fail(diag, a + PTEL_TRACEPARENT_LEN, "expected '-' or end after the flags");
    }
    ptel_traceparent tp;
    ptel__hex_decode_lower(&tp.version, p, 1);
    ptel__hex_decode_lower(tp.trace_id, p + 3, 16);
    ptel__hex_decode_lower(tp.parent_id, p + 36, 8);
    ptel__hex_decode_lower(&tp.trace_flags, p + 53, 1);
    if (ptel__is_zero(tp.trace_id, 16)) return tp_fail(diag, a + 3, "trace-id is all zero");
    if (ptel__is_zero(tp.parent_id, 8)) return tp_fail(diag, a + 36, "parent-id is all zero");
    *out = tp;
    return 0;
}

int ptel_traceparent_format(char *buf, size_t cap, size_t *out_len, const ptel_traceparent *tp) {
    if (!out_len || !tp) {
        if (out_len) *out_len = 0;
        return PTEL_E_INVALID_ARGUMENT;
    }
    *out_len = PTEL_TRACEPARENT_LEN;
    if (!buf || cap < PTEL_TRACEPARENT_LEN + 1) return PTEL_E_BUFFER_TOO_SMALL;
    uint8_t flags = tp->trace_flags & (PTEL_TRACE_FLAG_SAMPLED | PTEL_TRACE_FLAG_RANDOM);
    buf[0] = '0';
    buf[1] = '0';
    buf[2] = '-';
    ptel__hex_encode(buf + 3, tp->trace_id, 16);
    buf[35] = '-';
    ptel__hex_encode(buf + 36, tp->parent_id, 8);
    buf[52] = '-';
    ptel__hex_encode(buf + 53, &flags, 1);
    buf[55] = '\0';
    return 0;
}
