/* Fuzz target for the canonical OTLP/JSON renderer (ptel_json_render).
 *
 * Input: the first byte selects the message type (modulo the six types), the
 * rest is the protobuf to render. Whatever the bytes, the renderer must
 * return a documented status; when it succeeds:
 *   - the size query (NULL buffer) reports exactly the rendered length,
 *   - a buffer one byte short fails with PTEL_E_BUFFER_TOO_SMALL,
 *   - rendering twice gives the same bytes, and render_alloc agrees,
 *   - the output is valid JSON (RFC 8259), checked by the validator below.
 * Any violation aborts. test_json.c includes this file for the validator. */
#include "ptel/ptel.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny strict JSON validator (RFC 8259) ------------------------------ */

typedef struct fj_parser {
    const unsigned char *p;
    const unsigned char *end;
    int depth;
} fj_parser;

enum { FJ_MAX_DEPTH = 512 };

static bool fj_value(fj_parser *ps);

static bool fj_lit(fj_parser *ps, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0) return false;
    ps->p += n;
    return true;
}

static bool fj_is_digit(fj_parser *ps) { return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; }

static bool fj_number(fj_parser *ps) {
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    if (!fj_is_digit(ps)) return false;
    if (*ps->p == '0')
        ps->p++;
    else
        while (fj_is_digit(ps)) ps->p++;
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (!fj_is_digit(ps)) return false;
        while (fj_is_digit(ps)) ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (!fj_is_digit(ps)) return false;
        while (fj_is_digit(ps)) ps->p++;
    }
    return true;
}

static int fj_hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string: escapes checked, raw control characters refused, UTF-8 checked
 * (shortest form, no surrogates, at most U+10FFFF). */
static bool fj_string(fj_parser *ps) {
    if (ps->p >= ps->end || *ps->p != '"') return false;
    ps->p++;
    while (ps->p < ps->end) {
        unsigned char c = *ps->p++;
        if (c == '"') return true;
        if (c < 0x20) return false;
        if (c == '\\') {
            if (ps->p >= ps->end) return false;
            c = *ps->p++;
            if (c == 'u') {
                if (ps->end - ps->p < 4) return false;
                for (int i = 0; i < 4; i++)
                    if (fj_hexval(*ps->p++) < 0) return false;
            } else if (!strchr("\"\\/bfnrt", c) || c == 0) {
                return false;
            }
            continue;
        }
        if (c < 0x80) continue;
        int len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (ps->end - ps->p < len - 1) return false;
        for (int i = 1; i < len; i++) {
            unsigned char cc = *ps->p++;
            if ((cc & 0xc0) != 0x80) return false;
            cp = cp << 6 | (cc & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    }
    return false;
}

static bool fj_object(fj_parser *ps) {
    ps->p++; /* '{' */
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return true;
    }
    for (;;) {
        if (!fj_string(ps)) return false;
        if (ps->p >= ps->end || *ps->p++ != ':') return false;
        if (!fj_value(ps)) return false;
        if (ps->p >= ps->end) return false;
        unsigned char c = *ps->p++;
        if (c == '}') return true;
        if (c != ',') return false;
    }
}

static bool fj_array(fj_parser *ps) {
    ps->p++; /* '[' */
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return true;
    }
    for (;;) {
        if (!fj_value(ps)) return false;
        if (ps->p >= ps->end) return false;
        unsigned char c = *ps->p++;
        if (c == ']') return true;
        if (c != ',') return false;
    }
}

static bool fj_value(fj_parser *ps) {
    if (ps->p >= ps->end) return false;
    bool ok;
    switch (*ps->p) {
    case '{':
    case '[':
        if (++ps->depth > FJ_MAX_DEPTH) return false;
        ok = *ps->p == '{' ? fj_object(ps) : fj_array(ps);
        ps->depth--;
        return ok;
    case '"':
        return fj_string(ps);
    case 't':
        return fj_lit(ps, "true");
    case 'f':
        return fj_lit(ps, "false");
    case 'n':
        return fj_lit(ps, "null");
    default:
        return fj_number(ps);
    }
}

/* True when s[0..n) is exactly one JSON value with no whitespace anywhere
 * (the canonical profile has none, so the validator allows none). */
static bool fj_validate(const char *s, size_t n) {
    fj_parser ps = {(const unsigned char *)s, (const unsigned char *)s + n, 0};
    return fj_value(&ps) && ps.p == ps.end;
}

/* ---- the target ---------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    uint32_t type = (uint32_t)(data[0] % 6) + 1;
    const uint8_t *pb = data + 1;
    size_t n = size - 1;

    size_t need = 0;
    ptel_diag diag = {0, 0, 0, NULL};
    int rc = ptel_json_render(NULL, 0, &need, type, pb, n, &diag);
    if (rc != PTEL_E_BUFFER_TOO_SMALL) {
        /* Failure: one of the documented statuses, with a reason and an
         * offset inside the input. */
        if (rc != PTEL_E_TRUNCATED && rc != PTEL_E_MALFORMED && rc != PTEL_E_UTF8 &&
            rc != PTEL_E_DEPTH)
            abort();
        if (need != 0 || diag.status != rc || !diag.reason || diag.offset > n) abort();
        char *out = (char *)1;
        size_t out_len = 1;
        if (ptel_json_render_alloc(&out, &out_len, type, pb, n, NULL, NULL) != rc) abort();
        if (out || out_len) abort();
        return 0;
    }
    if (need < 2) abort();

    char *buf = malloc(need);
    if (!buf) return 0;
    size_t got = 0;
    if (ptel_json_render(buf, need, &got, type, pb, n, NULL) != 0 || got != need) abort();
    if (!fj_validate(buf, got)) abort();

    size_t short_len = 0;
    if (ptel_json_render(buf, need - 1, &short_len, type, pb, n, NULL) != PTEL_E_BUFFER_TOO_SMALL ||
        short_len != need)
        abort();

    char *copy = NULL;
    size_t copy_len = 0;
    if (ptel_json_render_alloc(&copy, &copy_len, type, pb, n, NULL, NULL) != 0) abort();
    /* buf was overwritten by the short render; render again to compare. */
    if (ptel_json_render(buf, need, &got, type, pb, n, NULL) != 0) abort();
    if (copy_len != need || memcmp(copy, buf, need) != 0 || copy[need] != '\0') abort();
    ptel_json_free(copy, copy_len, NULL);
    free(buf);
    return 0;
}
