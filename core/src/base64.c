/* Base64 (RFC 4648 §4) with padding, strict on decode. */
#include "base64.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

size_t ptel__base64_encoded_len(size_t n) {
    size_t groups = n / 3 + (n % 3 != 0);
    if (groups > SIZE_MAX / 4) return SIZE_MAX;
    return groups * 4;
}

int ptel__base64_encode(char *buf, size_t cap, size_t *out_len, const uint8_t *data, size_t n) {
    size_t need = ptel__base64_encoded_len(n);
    *out_len = need;
    if (need == SIZE_MAX) return PTEL_E_LIMIT;
    if (!buf || cap < need) return PTEL_E_BUFFER_TOO_SMALL;
    size_t i = 0;
    char *w = buf;
    for (; n - i >= 3; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
        *w++ = b64_alphabet[v >> 18];
        *w++ = b64_alphabet[(v >> 12) & 63];
        *w++ = b64_alphabet[(v >> 6) & 63];
        *w++ = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)data[i] << 16;
        *w++ = b64_alphabet[v >> 18];
        *w++ = b64_alphabet[(v >> 12) & 63];
        *w++ = '=';
        *w++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
        *w++ = b64_alphabet[v >> 18];
        *w++ = b64_alphabet[(v >> 12) & 63];
        *w++ = b64_alphabet[(v >> 6) & 63];
        *w++ = '=';
    }
    return 0;
}

/* Validate and measure; with `out` non-NULL also write. */
static int b64_pass(const char *s, size_t n, uint8_t *out, size_t *out_len, ptel_diag *diag) {
    if (n % 4) return ptel__fail(diag, PTEL_E_MALFORMED, n, 0, "base64 length not a multiple of 4");
    size_t w = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        size_t pad = 0;
        bool last = i + 4 == n;
        for (int k = 0; k < 4; k++) {
            char c = s[i + (size_t)k];
            if (c == '=' && last && k >= 2) {
                if (k == 2 && s[i + 3] != '=')
                    return ptel__fail(diag, PTEL_E_MALFORMED, i + 3, 0, "base64 padding");
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad || (v[k] = b64_value(c)) < 0)
                return ptel__fail(diag, PTEL_E_MALFORMED, i + (size_t)k, 0,
                                  "invalid base64 character");
        }
        uint32_t bits =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if ((pad == 1 && (bits & 0xff)) || (pad == 2 && (bits & 0xffff)))
            return ptel__fail(diag, PTEL_E_MALFORMED, i + 3 - pad, 0,
                              "non-zero bits before base64 padding");
        size_t bytes = 3 - pad;
        if (out) {
            out[w] = (uint8_t)(bits >> 16);
            if (bytes > 1) out[w + 1] = (uint8_t)(bits >> 8);
            if (bytes > 2) out[w + 2] = (uint8_t)bits;
        }
        w += bytes;
    }
    *out_len = w;
    return 0;
}

int ptel__base64_decode(uint8_t *buf, size_t cap, size_t *out_len, const char *s, size_t n,
                        ptel_diag *diag) {
    *out_len = 0;
    size_t need;
    int rc = b64_pass(s, n, NULL, &need, diag);
    if (rc) return rc;
    *out_len = need;
    if (!buf || cap < need) return PTEL_E_BUFFER_TOO_SMALL;
    return b64_pass(s, n, buf, &need, diag);
}
