/* What the exporter reads of the bytes it moves: item counts of requests,
 * partial_success of responses, and Retry-After values. All total on
 * untrusted input. */
#include "export_internal.h"

/* Count fields `leaf` at the end of a path of LEN fields. `path` lists the
 * field numbers to descend (each level may repeat), `depth` levels; at the
 * last level every field whose number is in `leaf` counts (or, with
 * `leaf_sub`, descends once more and counts its fields number 1). */
static int export_count_level(const uint8_t *base, const uint8_t *p, size_t n, const uint32_t *path,
                              size_t depth, const uint32_t *leaf, size_t leaf_count, bool leaf_sub,
                              uint64_t *items, ptel_diag *diag) {
    ptel__reader r;
    ptel__reader_init(&r, base, p, n);
    ptel__field f;
    int st;
    while ((st = ptel__reader_next(&r, &f, diag)) == 1) {
        if (depth > 0) {
            if (f.number != path[0]) continue;
            if (f.wire_type != PTEL__WT_LEN)
                return ptel__fail(diag, PTEL_E_MALFORMED, (uint64_t)(f.start - base), f.number,
                                  "expected a message");
            st = export_count_level(base, f.data, f.len, path + 1, depth - 1, leaf, leaf_count,
                                    leaf_sub, items, diag);
            if (st) return st;
            continue;
        }
        for (size_t k = 0; k < leaf_count; k++) {
            if (f.number != leaf[k]) continue;
            if (f.wire_type != PTEL__WT_LEN)
                return ptel__fail(diag, PTEL_E_MALFORMED, (uint64_t)(f.start - base), f.number,
                                  "expected a message");
            if (!leaf_sub) {
                (*items)++;
                continue;
            }
            static const uint32_t points = 1;
            st = export_count_level(base, f.data, f.len, NULL, 0, &points, 1, false, items, diag);
            if (st) return st;
        }
    }
    return st;
}

int ptel__export_count_items(uint32_t signal, const uint8_t *p, size_t n, uint64_t *items,
                             ptel_diag *diag) {
    /* request.resource_*s(1) / scope_*s(2) / spans or metrics (2) */
    static const uint32_t path[2] = {1, 2};
    static const uint32_t span = 2;
    /* Metric: gauge 5, sum 7, histogram 9, exponential_histogram 10,
     * summary 11; each holds data_points as field 1. */
    static const uint32_t kinds[5] = {5, 7, 9, 10, 11};
    static const uint32_t metric_path[3] = {1, 2, 2};
    *items = 0;
    if (n == 0) return 0; /* p may be NULL */
    if (signal == PTEL_EXPORT_SIGNAL_TRACES)
        return export_count_level(p, p, n, path, 2, &span, 1, false, items, diag);
    return export_count_level(p, p, n, metric_path, 3, kinds, 5, true, items, diag);
}

void ptel__export_parse_response(const uint8_t *p, size_t n, uint64_t *rejected) {
    *rejected = 0;
    if (n == 0) return; /* p may be NULL */
    ptel__reader r;
    ptel__reader_init(&r, p, p, n);
    ptel__field f;
    while (ptel__reader_next(&r, &f, NULL) == 1) {
        if (f.number != 1 || f.wire_type != PTEL__WT_LEN) continue;
        ptel__reader in;
        ptel__reader_init(&in, p, f.data, f.len);
        ptel__field g;
        while (ptel__reader_next(&in, &g, NULL) == 1)
            if (g.number == 1 && g.wire_type == PTEL__WT_VARINT)
                *rejected = (int64_t)g.value < 0 ? 0 : g.value; /* int64 on the wire */
    }
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t export_days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool export_digits(const char *s, size_t n, int64_t *out) {
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return n > 0;
}

int64_t ptel__export_retry_after_ms(const char *s, size_t n, int64_t now_unix_s) {
    while (n && (s[0] == ' ' || s[0] == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
    int64_t secs;
    if (n > 0 && n <= 9 && export_digits(s, n, &secs)) return secs * 1000;
    /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" (29 characters). */
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    if (n != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
        s[19] != ':' || s[22] != ':' || s[25] != ' ' || memcmp(s + 26, "GMT", 3) != 0)
        return -1;
    int64_t day, year, hh, mm, ss, mon = -1;
    for (int k = 0; k < 12; k++)
        if (!memcmp(s + 8, months + 3 * k, 3)) mon = k + 1;
    if (mon < 0 || !export_digits(s + 5, 2, &day) || !export_digits(s + 12, 4, &year) ||
        !export_digits(s + 17, 2, &hh) || !export_digits(s + 20, 2, &mm) ||
        !export_digits(s + 23, 2, &ss) || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
        return -1;
    int64_t t = export_days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return t <= now_unix_s ? 0 : (t - now_unix_s) * 1000;
}
