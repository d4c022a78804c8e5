/* W3C tracestate: validation, canonical form with truncation, iteration. */
#include "internal.h"

typedef struct ts_member {
    size_t key;     /* offset of the key in the input */
    size_t key_len; /* the value follows the key and its '=' */
    size_t val_len;
} ts_member;

static bool ts_is_ows(char c) { return c == ' ' || c == '\t'; }

static bool ts_key_first(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static bool ts_key_char(char c) {
    return ts_key_first(c) || c == '_' || c == '-' || c == '*' || c == '/' || c == '@';
}

/* chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E */
static bool ts_value_char(char c) { return c >= 0x20 && c <= 0x7e && c != ',' && c != '='; }

static size_t ts_member_len(const ts_member *m) { return m->key_len + 1 + m->val_len; }

static int ts_fail(ptel_diag *diag, size_t offset, const char *reason) {
    return ptel__fail(diag, PTEL_E_TRACESTATE, offset, 0, reason);
}

/* Parse one member s[a..b) (OWS already stripped, non-empty). */
static int ts_parse_member(ts_member *m, const char *s, size_t a, size_t b, ptel_diag *diag) {
    if (!ts_key_first(s[a]))
        return ts_fail(diag, a, "key must start with a lowercase letter or digit");
    size_t i = a + 1;
    while (i < b && ts_key_char(s[i])) i++;
    if (i == b) return ts_fail(diag, b, "member has no '='");
    if (s[i] != '=') return ts_fail(diag, i, "invalid character in key");
    if (i - a > PTEL_TRACESTATE_MAX_KEY_LEN) return ts_fail(diag, a, "key longer than 256");
    size_t v = i + 1;
    if (v == b) return ts_fail(diag, v, "empty value");
    if (b - v > PTEL_TRACESTATE_MAX_VALUE_LEN) return ts_fail(diag, v, "value longer than 256");
    for (size_t k = v; k < b; k++)
        if (!ts_value_char(s[k])) return ts_fail(diag, k, "invalid character in value");
    m->key = a;
    m->key_len = i - a;
    m->val_len = b - v;
    return 0;
}

int ptel_tracestate_normalize(char *buf, size_t cap, size_t *out_len, const char *s, size_t len,
                              ptel_diag *diag) {
    if (out_len) *out_len = 0;
    if (!out_len || (!s && len))
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    ts_member kept[PTEL_TRACESTATE_MAX_MEMBERS];
    size_t nkept = 0, nseen = 0;
    size_t pos = 0;
    while (pos <= len) {
        size_t end = pos;
        while (end < len && s[end] != ',') end++;
        size_t a = pos, b = end;
        while (a < b && ts_is_ows(s[a])) a++;
        while (b > a && ts_is_ows(s[b - 1])) b--;
        if (a < b) {
            ts_member m;
            int rc = ts_parse_member(&m, s, a, b, diag);
            if (rc) return rc;
            if (++nseen > PTEL_TRACESTATE_MAX_MEMBERS)
                return ts_fail(diag, a, "more than 32 members");
            bool dup = false;
            for (size_t k = 0; k < nkept && !dup; k++)
                dup = kept[k].key_len == m.key_len &&
                      memcmp(s + kept[k].key, s + m.key, m.key_len) == 0;
            if (!dup) kept[nkept++] = m;
        }
        pos = end + 1;
    }

    size_t total = 0;
    for (size_t k = 0; k < nkept; k++) total += ts_member_len(&kept[k]) + (k ? 1 : 0);
    while (total > PTEL_TRACESTATE_MAX_LEN) {
        size_t victim = nkept - 1;
        for (size_t k = nkept; k-- > 0;) {
            if (ts_member_len(&kept[k]) > 128) {
                victim = k;
                break;
            }
        }
        total -= ts_member_len(&kept[victim]) + (nkept > 1 ? 1 : 0);
        memmove(&kept[victim], &kept[victim + 1], (nkept - victim - 1) * sizeof kept[0]);
        nkept--;
    }

    *out_len = total;
    if (!buf || cap < total + 1) return PTEL_E_BUFFER_TOO_SMALL;
    char *w = buf;
    for (size_t k = 0; k < nkept; k++) {
        if (k) *w++ = ',';
        size_t n = ts_member_len(&kept[k]);
        memcpy(w, s + kept[k].key, n);
        w += n;
    }
    *w = '\0';
    return 0;
}

/* Walk the members of a normalised tracestate. Returns false at the end. */
static bool ts_next(const char *ts, size_t len, size_t *pos, ptel_str *key, ptel_str *value) {
    if (*pos >= len) return false;
    size_t start = *pos, end = start;
    while (end < len && ts[end] != ',') end++;
    size_t eq = start;
    while (eq < end && ts[eq] != '=') eq++;
    key->ptr = ts + start;
    key->len = eq - start;
    value->ptr = ts + (eq < end ? eq + 1 : end);
    value->len = eq < end ? end - eq - 1 : 0;
    *pos = end + 1;
    return true;
}

size_t ptel_tracestate_count(const char *ts, size_t len) {
    if (!ts) return 0;
    size_t pos = 0, n = 0;
    ptel_str k, v;
    while (ts_next(ts, len, &pos, &k, &v)) n++;
    return n;
}

int ptel_tracestate_member(ptel_str *key, ptel_str *value, const char *ts, size_t len,
                           size_t index) {
    if (!ts) return len ? PTEL_E_INVALID_ARGUMENT : PTEL_E_NOT_FOUND;
    size_t pos = 0, i = 0;
    ptel_str k, v;
    while (ts_next(ts, len, &pos, &k, &v)) {
        if (i++ == index) {
            if (key) *key = k;
            if (value) *value = v;
            return 0;
        }
    }
    return PTEL_E_NOT_FOUND;
}

int ptel_tracestate_get(ptel_str *value, const char *ts, size_t len, const char *key,
                        size_t key_len) {
    if ((!ts && len) || (!key && key_len)) return PTEL_E_INVALID_ARGUMENT;
    if (!ts) return PTEL_E_NOT_FOUND;
    size_t pos = 0;
    ptel_str k, v;
    while (ts_next(ts, len, &pos, &k, &v)) {
        if (k.len == key_len && (key_len == 0 || memcmp(k.ptr, key, key_len) == 0)) {
            if (value) *value = v;
            return 0;
        }
    }
    return PTEL_E_NOT_FOUND;
}
