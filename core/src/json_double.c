/* Doubles for canonical OTLP/JSON: the shortest decimal that reads back to
 * the same binary64, spelled the way ECMAScript's Number::toString spells it.
 *
 * The digits come from the C library: "%.*e" is correctly rounded on the
 * platforms we support, and strtod reads it back. For each precision p from 1
 * to 17 we take the correctly rounded p-digit decimal; the first one that
 * round-trips is the shortest (17 digits always do). Near a power of two the
 * interval of decimals that read back is lopsided (twice as wide above as
 * below), so the nearest p-digit decimal may miss while the next one up hits:
 * when the rounded decimal lies below the value we also try that neighbour.
 *
 * printf and strtod follow LC_NUMERIC, so the radix character is whatever the
 * locale says; we never parse it, we only collect the digits around it. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Digits and exponent of a positive finite double: value = 0.d1d2...dk * 10^n
 * (ECMAScript's n and k). */
typedef struct json_decimal {
    char digits[20];
    int k;
    int n;
} json_decimal;

/* Parse "%.*e" output (d[radix ddd]e±XX, any radix bytes) into digits and n. */
static void json_dec_parse(json_decimal *d, const char *s) {
    d->k = 0;
    while (*s && *s != 'e') {
        if (*s >= '0' && *s <= '9' && d->k < (int)sizeof d->digits) d->digits[d->k++] = *s;
        s++;
    }
    int sign = 1, e = 0;
    if (*s == 'e') s++;
    if (*s == '-')
        sign = -1, s++;
    else if (*s == '+')
        s++;
    while (*s >= '0' && *s <= '9') e = e * 10 + (*s++ - '0');
    d->n = sign * e + 1;
    while (d->k > 1 && d->digits[d->k - 1] == '0') d->k--;
}

/* Add one unit in the last place of the mantissa digits of "%.*e" output,
 * in place. Returns false when the carry runs out of the leading digit
 * (9.99e5 -> 10.00e5), which the caller then simply does not try. */
static bool json_dec_bump(char *s) {
    char *e = strchr(s, 'e');
    if (!e) return false;
    for (char *p = e - 1; p >= s; p--) {
        if (*p < '0' || *p > '9') continue; /* the radix character */
        if (*p < '9') {
            (*p)++;
            return true;
        }
        *p = '0';
    }
    return false;
}

static bool json_dec_shortest(json_decimal *d, double v) {
    char tmp[48];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        double r = strtod(tmp, NULL);
        if (r == v) {
            json_dec_parse(d, tmp);
            return true;
        }
        if (r < v && json_dec_bump(tmp) && strtod(tmp, NULL) == v) {
            json_dec_parse(d, tmp);
            return true;
        }
    }
    return false;
}

PTEL__INTERNAL size_t ptel__json_put_double(char *out, double v);

size_t ptel__json_put_double(char *out, double v) {
    if (isnan(v)) {
        memcpy(out, "\"NaN\"", 5);
        return 5;
    }
    if (isinf(v)) {
        if (v < 0) {
            memcpy(out, "\"-Infinity\"", 11);
            return 11;
        }
        memcpy(out, "\"Infinity\"", 10);
        return 10;
    }
    size_t o = 0;
    if (signbit(v)) {
        out[o++] = '-';
        v = -v;
    }
    if (v == 0) {
        out[o++] = '0';
        return o;
    }
    json_decimal d;
    if (!json_dec_shortest(&d, v)) {
        /* Unreachable with a conforming C library (17 digits always read
         * back); keep the output valid JSON regardless. */
        snprintf(d.digits, sizeof d.digits, "%s", "0");
        d.k = 1;
        d.n = 1;
    }
    int k = d.k, n = d.n;
    if (k <= n && n <= 21) {
        memcpy(out + o, d.digits, (size_t)k);
        o += (size_t)k;
        for (int i = k; i < n; i++) out[o++] = '0';
    } else if (0 < n && n <= 21) {
        memcpy(out + o, d.digits, (size_t)n);
        o += (size_t)n;
        out[o++] = '.';
        memcpy(out + o, d.digits + n, (size_t)(k - n));
        o += (size_t)(k - n);
    } else if (-6 < n && n <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -n; i++) out[o++] = '0';
        memcpy(out + o, d.digits, (size_t)k);
        o += (size_t)k;
    } else {
        out[o++] = d.digits[0];
        if (k > 1) {
            out[o++] = '.';
            memcpy(out + o, d.digits + 1, (size_t)(k - 1));
            o += (size_t)(k - 1);
        }
        int e = n - 1;
        out[o++] = 'e';
        out[o++] = e < 0 ? '-' : '+';
        if (e < 0) e = -e;
        char rev[4];
        int m = 0;
        do {
            rev[m++] = (char)('0' + e % 10);
            e /= 10;
        } while (e);
        while (m) out[o++] = rev[--m];
    }
    return o;
}

size_t ptel_json_format_double(char *out, double value) {
    if (!out) return 0;
    return ptel__json_put_double(out, value);
}
