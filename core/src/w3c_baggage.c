/* W3C Baggage: validation, canonical form with limits, iteration and
 * percent-encoding of values. */
#include "internal.h"

static bool bg_is_ows(char c) { return c == ' ' || c == '\t'; }

/* RFC 7230 tchar. */
static bool bg_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/* baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
static bool bg_octet(unsigned char c) {
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

static int bg_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int bg_fail(ptel_diag *diag, size_t offset, const char *reason) {
    return ptel__fail(diag, PTEL_E_BAGGAGE, offset, 0, reason);
}

/* A cursor over one member s[i..end). */
typedef struct bg_cursor {
    const char *s;
    size_t i, end;
} bg_cursor;

static void bg_skip_ows(bg_cursor *c) {
    while (c->i < c->end && bg_is_ows(c->s[c->i])) c->i++;
}

/* A token at the cursor; fails when empty. */
static int bg_token(bg_cursor *c, size_t *start, size_t *n, ptel_diag *diag) {
    *start = c->i;
    while (c->i < c->end && bg_token_char(c->s[c->i])) c->i++;
    *n = c->i - *start;
    if (*n == 0) {
        if (c->i == c->end) return bg_fail(diag, c->i, "missing key");
        return bg_fail(diag, c->i, "invalid character in key");
    }
    return 0;
}

/* A value (possibly empty) at the cursor, checking percent escapes. */
static int bg_value(bg_cursor *c, size_t *start, size_t *n, ptel_diag *diag) {
    *start = c->i;
    while (c->i < c->end && bg_octet((unsigned char)c->s[c->i])) {
        if (c->s[c->i] == '%') {
            if (c->end - c->i < 3 || bg_hex(c->s[c->i + 1]) < 0 || bg_hex(c->s[c->i + 2]) < 0)
                return bg_fail(diag, c->i, "'%' not followed by two hex digits");
            c->i += 3;
        } else {
            c->i++;
        }
    }
    *n = c->i - *start;
    return 0;
}

/* Validate member s[a..b) (OWS-stripped, non-empty); write its canonical form
 * to `out` when non-NULL. Returns the canonical length through `*mlen`. */
static int bg_member(const char *s, size_t a, size_t b, char *out, size_t *mlen, ptel_diag *diag) {
    bg_cursor c = {s, a, b};
    size_t ks, kn, vs, vn, total;
    int rc = bg_token(&c, &ks, &kn, diag);
    if (rc) return rc;
    bg_skip_ows(&c);
    if (c.i == c.end || s[c.i] != '=') return bg_fail(diag, c.i, "expected '=' after key");
    c.i++;
    bg_skip_ows(&c);
    rc = bg_value(&c, &vs, &vn, diag);
    if (rc) return rc;
    if (out) {
        memcpy(out, s + ks, kn);
        out[kn] = '=';
        if (vn) memcpy(out + kn + 1, s + vs, vn);
    }
    total = kn + 1 + vn;
    for (;;) {
        bg_skip_ows(&c);
        if (c.i == c.end) break;
        if (s[c.i] != ';') return bg_fail(diag, c.i, "invalid character in value");
        c.i++;
        bg_skip_ows(&c);
        size_t pks, pkn, pvs = 0, pvn = 0;
        bool has_value = false;
        rc = bg_token(&c, &pks, &pkn, diag);
        if (rc) return rc;
        size_t save = c.i;
        bg_skip_ows(&c);
        if (c.i < c.end && s[c.i] == '=') {
            c.i++;
            bg_skip_ows(&c);
            rc = bg_value(&c, &pvs, &pvn, diag);
            if (rc) return rc;
            has_value = true;
        } else {
            c.i = save;
        }
        if (out) {
            out[total] = ';';
            memcpy(out + total + 1, s + pks, pkn);
            if (has_value) {
                out[total + 1 + pkn] = '=';
                if (pvn) memcpy(out + total + 2 + pkn, s + pvs, pvn);
            }
        }
        total += 1 + pkn + (has_value ? 1 + pvn : 0);
    }
    *mlen = total;
    return 0;
}

/* One pass over the header. With `out` NULL it validates and measures;
 * otherwise it writes the kept members (the caller checked the size). */
static int bg_pass(const char *s, size_t len, char *out, size_t *out_len, ptel_diag *diag) {
    size_t total = 0, kept = 0, pos = 0;
    bool full = false;
    while (pos <= len) {
        size_t end = pos;
        while (end < len && s[end] != ',') end++;
        size_t a = pos, b = end;
        while (a < b && bg_is_ows(s[a])) a++;
        while (b > a && bg_is_ows(s[b - 1])) b--;
        if (a < b) {
            size_t mlen;
            int rc = bg_member(s, a, b, NULL, &mlen, diag);
            if (rc) return rc;
            size_t need = total + (kept ? 1 : 0) + mlen;
            if (full || kept == PTEL_BAGGAGE_MAX_MEMBERS || need > PTEL_BAGGAGE_MAX_LEN) {
                full = true; /* this member and every later one are dropped */
            } else {
                if (out) {
                    if (kept) out[total] = ',';
                    bg_member(s, a, b, out + need - mlen, &mlen, NULL);
                }
                total = need;
                kept++;
            }
        }
        pos = end + 1;
    }
    *out_len = total;
    return 0;
}

int ptel_baggage_normalize(char *buf, size_t cap, size_t *out_len, const char *s, size_t len,
                           ptel_diag *diag) {
    if (out_len) *out_len = 0;
    if (!out_len || (!s && len))
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    size_t n;
    int rc = bg_pass(s, len, NULL, &n, diag);
    if (rc) return rc;
    *out_len = n;
    if (!buf || cap < n + 1) return PTEL_E_BUFFER_TOO_SMALL;
    bg_pass(s, len, buf, &n, NULL);
    buf[n] = '\0';
    return 0;
}

/* Split the next ','-separated item of a normalised list. */
static bool bg_next(const char *s, size_t len, size_t *pos, ptel_str *item) {
    if (*pos >= len) return false;
    size_t end = *pos;
    while (end < len && s[end] != ',') end++;
    item->ptr = s + *pos;
    item->len = end - *pos;
    *pos = end + 1;
    return true;
}

size_t ptel_baggage_count(const char *bg, size_t len) {
    if (!bg) return 0;
    size_t pos = 0, n = 0;
    ptel_str item;
    while (bg_next(bg, len, &pos, &item)) n++;
    return n;
}

int ptel_baggage_member(ptel_str *key, ptel_str *value, ptel_str *properties, const char *bg,
                        size_t len, size_t index) {
    if (!bg) return len ? PTEL_E_INVALID_ARGUMENT : PTEL_E_NOT_FOUND;
    size_t pos = 0, i = 0;
    ptel_str m;
    while (bg_next(bg, len, &pos, &m)) {
        if (i++ != index) continue;
        size_t eq = 0;
        while (eq < m.len && m.ptr[eq] != '=' && m.ptr[eq] != ';') eq++;
        size_t semi = eq;
        while (semi < m.len && m.ptr[semi] != ';') semi++;
        size_t vstart = eq < m.len && m.ptr[eq] == '=' ? eq + 1 : eq;
        if (key) *key = (ptel_str){m.ptr, eq};
        if (value) *value = (ptel_str){m.ptr + vstart, semi - vstart};
        if (properties) {
            size_t pstart = semi < m.len ? semi + 1 : m.len;
            *properties = (ptel_str){m.ptr + pstart, m.len - pstart};
        }
        return 0;
    }
    return PTEL_E_NOT_FOUND;
}

int ptel_baggage_property(ptel_str *key, ptel_str *value, const char *props, size_t len,
                          size_t index) {
    if (!props) return len ? PTEL_E_INVALID_ARGUMENT : PTEL_E_NOT_FOUND;
    size_t pos = 0, i = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && props[end] != ';') end++;
        if (i++ == index) {
            size_t eq = pos;
            while (eq < end && props[eq] != '=') eq++;
            if (key) *key = (ptel_str){props + pos, eq - pos};
            if (value) {
                if (eq < end)
                    *value = (ptel_str){props + eq + 1, end - eq - 1};
                else
                    *value = (ptel_str){NULL, 0};
            }
            return 0;
        }
        pos = end + 1;
    }
    return PTEL_E_NOT_FOUND;
}

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0 when ill-formed;
 * then `*bad` is the length of the maximal ill-formed subpart (>= 1). */
static size_t bg_utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4;
    else {
        *bad = 1;
        return 0;
    }
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    size_t k = 1;
    while (k < need) {
        if (k >= n) break;
        unsigned char cc = s[k];
        if (k == 1 ? (cc < lo || cc > hi) : (cc < 0x80 || cc > 0xbf)) break;
        k++;
    }
    if (k == need) return need;
    *bad = k;
    return 0;
}

int ptel_baggage_decode_value(char *buf, size_t cap, size_t *out_len, const char *value, size_t len,
                              ptel_diag *diag) {
    if (out_len) *out_len = 0;
    if (!out_len || (!value && len))
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument");
    /* Pass 1: validate escapes and measure. Pass 2: write. Decoded bytes are
     * produced on the fly into a small window so no scratch memory is needed. */
    for (int pass = 0; pass < 2; pass++) {
        size_t w = 0, i = 0;
        unsigned char win[4];
        size_t wn = 0; /* bytes buffered in win */
        for (;;) {
            /* Fill the window with up to 4 decoded bytes. */
            while (wn < 4 && i < len) {
                if (value[i] == '%') {
                    int hi, lo;
                    if (len - i < 3 || (hi = bg_hex(value[i + 1])) < 0 ||
                        (lo = bg_hex(value[i + 2])) < 0)
                        return bg_fail(diag, i, "'%' not followed by two hex digits");
                    win[wn++] = (unsigned char)(hi << 4 | lo);
                    i += 3;
                } else {
                    win[wn++] = (unsigned char)value[i++];
                }
            }
            if (wn == 0) break;
            size_t bad = 0, take = bg_utf8_seq(win, wn, &bad);
            if (take) {
                if (pass) memcpy(buf + w, win, take);
                w += take;
            } else {
                take = bad;
                if (pass) memcpy(buf + w, "\xef\xbf\xbd", 3);
                w += 3;
            }
            memmove(win, win + take, wn - take);
            wn -= take;
        }
        if (pass == 0) {
            *out_len = w;
            if (!buf || cap < w + 1) return PTEL_E_BUFFER_TOO_SMALL;
        } else {
            buf[w] = '\0';
        }
    }
    return 0;
}

int ptel_baggage_encode_value(char *buf, size_t cap, size_t *out_len, const char *value,
                              size_t len) {
    if (out_len) *out_len = 0;
    if (!out_len || (!value && len)) return PTEL_E_INVALID_ARGUMENT;
    static const char bg_hexdig[] = "0123456789ABCDEF";
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        n += bg_octet(c) && c != '%' ? 1 : 3;
    }
    *out_len = n;
    if (!buf || cap < n + 1) return PTEL_E_BUFFER_TOO_SMALL;
    char *w = buf;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)value[i];
        if (bg_octet(c) && c != '%') {
            *w++ = (char)c;
        } else {
            *w++ = '%';
            *w++ = bg_hexdig[c >> 4];
            *w++ = bg_hexdig[c & 15];
        }
    }
    *w = '\0';
    return 0;
}
