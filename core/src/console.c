/* Console rendering: a trace tree and a metrics table (see ptel/console.h).
 *
 * Traces take three steps:
 *   1. index: walk TracesData -> ResourceSpans -> ScopeSpans -> Span,
 *      checking framing and wire types, and record for each span (up to
 *      PTEL_CONSOLE_MAX_SPANS) its ids, start time, scope and resource as
 *      pointers into the input. The walk runs twice: once to count, once to
 *      fill an array of exactly that many records;
 *   2. link: sort by (trace id, span id, index) to group traces and find each
 *      parent by binary search; cut parent cycles; sort by (start time, span
 *      id, index) and thread the child lists in that order;
 *   3. print: a depth-first walk that follows parent, first-child and
 *      next-sibling links, so it needs no stack; the tree glyphs come from a
 *      fixed array of PTEL_CONSOLE_MAX_DEPTH flags.
 * Metrics walk each ResourceMetrics twice: once to measure the column widths
 * (and check the wire data, so that a malformed input fails before any of
 * its table is printed), once to print.
 *
 * Text printed on many lines (a trace header's resource, a span's scope, a
 * metric's name and unit) goes through a clipped region that bounds both
 * what it prints and how many fields it reads, so that output and work stay
 * linear in the input however the input repeats them.
 *
 * Attribute values are the only recursion, bounded by
 * PTEL_CONSOLE_MAX_VALUE_DEPTH. Output goes to a bounded writer that counts
 * every byte and copies only while it fits, so one pass gives both the text
 * and the size query. */
#include "internal.h"

#define CON_NONE UINT32_MAX

/* ---- output ------------------------------------------------------------- */

typedef struct con_out {
    char *buf;
    size_t cap;
    size_t len;     /* bytes produced so far, whether or not they fit */
    size_t cols;    /* code points produced so far (column widths) */
    size_t clip_at; /* while clipping: the column where output stops; else SIZE_MAX */
    bool clipped;   /* output reached clip_at: everything else is dropped */
    bool overflow;
} con_out;

static void con_out_init(con_out *o, char *buf, size_t cap) {
    memset(o, 0, sizeof *o);
    o->buf = buf;
    o->cap = buf ? cap : 0;
    o->clip_at = SIZE_MAX;
}

static void con_put(con_out *o, const char *s, size_t n) {
    if (n == 0 || o->clipped) return;
    size_t cols = 0, keep = n;
    for (size_t i = 0; i < n; i++) {
        if (((uint8_t)s[i] & 0xc0) == 0x80) continue;
        if (o->cols + cols >= o->clip_at) { /* cut at a code point boundary */
            o->clipped = true;
            keep = i;
            break;
        }
        cols++;
    }
    if (keep > SIZE_MAX - o->len) {
        o->overflow = true;
        return;
    }
    if (keep && o->len <= o->cap && keep <= o->cap - o->len) memcpy(o->buf + o->len, s, keep);
    o->len += keep;
    o->cols += cols;
}

static void con_puts(con_out *o, const char *s) { con_put(o, s, strlen(s)); }

static void con_putc(con_out *o, char ch) { con_put(o, &ch, 1); }

static void con_spaces(con_out *o, size_t n) {
    static const char sp[17] = "                ";
    while (n) {
        size_t k = n < 16 ? n : 16;
        con_put(o, sp, k);
        n -= k;
    }
}

static void con_put_u64(con_out *o, uint64_t v) {
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    con_put(o, tmp + i, sizeof tmp - i);
}

static void con_put_i64(con_out *o, int64_t v) {
    if (v < 0) {
        con_putc(o, '-');
        con_put_u64(o, 0 - (uint64_t)v);
    } else {
        con_put_u64(o, (uint64_t)v);
    }
}

/* A double as ptel_json_format_double spells it, without the JSON quotes
 * around NaN and the infinities. */
static void con_put_double(con_out *o, double d) {
    char tmp[32];
    size_t n = ptel_json_format_double(tmp, d);
    if (n >= 2 && tmp[0] == '"')
        con_put(o, tmp + 1, n - 2);
    else
        con_put(o, tmp, n);
}

static void con_put_hex(con_out *o, const uint8_t *p, size_t n) {
    char tmp[64];
    while (n && !o->clipped) {
        size_t k = n < 32 ? n : 32;
        ptel__hex_encode(tmp, p, k);
        con_put(o, tmp, 2 * k);
        p += k;
        n -= k;
    }
}

/* The time from `from` to `to` in milliseconds with 3 decimals, rounded to
 * the microsecond; "-" when negative, "+" when `plus` and not negative. */
static void con_put_ms(con_out *o, uint64_t from, uint64_t to, bool plus) {
    uint64_t d;
    if (to >= from) {
        d = to - from;
        if (plus) con_putc(o, '+');
    } else {
        d = from - to;
        con_putc(o, '-');
    }
    uint64_t us = d / 1000 + (d % 1000 >= 500);
    con_put_u64(o, us / 1000);
    char frac[4] = {'.', (char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
                    (char)('0' + us % 10)};
    con_put(o, frac, 4);
    con_put(o, " ms", 3);
}

/* ---- context ------------------------------------------------------------- */

typedef struct con_glyphs {
    const char *tee;      /* a child with siblings after it */
    const char *elbow;    /* the last child */
    const char *pipe;     /* a level whose node has siblings below */
    const char *blank;    /* a level whose node was the last */
    const char *bullet;   /* an event */
    const char *link;     /* a link */
    const char *ok;       /* status OK */
    const char *error;    /* status ERROR */
    const char *exemplar; /* an exemplar marker */
    const char *more;     /* something not shown */
    const char *le;       /* a histogram bucket's upper bound */
} con_glyphs;

static const con_glyphs con_glyphs_utf8 = {
    "\xe2\x94\x9c\xe2\x94\x80 ", /* ├─ */
    "\xe2\x94\x94\xe2\x94\x80 ", /* └─ */
    "\xe2\x94\x82  ",            /* │ */
    "   ",
    "\xe2\x80\xa2 ",         /* • */
    "\xe2\x86\x94 ",         /* ↔ */
    "\xe2\x9c\x93 OK",       /* ✓ OK */
    "\xe2\x9c\x97 ERROR",    /* ✗ ERROR */
    "\xe2\x9f\x82 exemplar", /* ⟂ exemplar */
    "\xe2\x80\xa6",          /* … */
    "\xe2\x89\xa4",          /* ≤ */
};

static const con_glyphs con_glyphs_ascii = {
    "|- ", "`- ", "|  ", "   ", "* ", "<-> ", "OK", "ERROR", "exemplar", "...", "<=",
};

typedef struct con_ctx {
    con_out out;
    uint32_t flags;
    const con_glyphs *g;
    const uint8_t *base; /* start of the input being read, for diagnostic offsets */
    ptel_diag *diag;
    con_out *clip_out; /* the output being clipped, or NULL */
    size_t clip_steps; /* fields the clipped region may still read */
} con_ctx;

/* One empty line between sections. */
static void con_section(con_ctx *c) {
    if (c->out.len) con_putc(&c->out, '\n');
}

/* Text printed on many lines (a trace header's resource, a span's scope, a
 * metric's name and unit) is cut after PTEL_CONSOLE_MAX_CLIP code points and
 * ends with an ellipsis, so that the output stays proportional to the input.
 * Walks stop early once clipped; what is cut is not decoded. */
enum { CON_CLIP_STEPS = 8 * PTEL_CONSOLE_MAX_CLIP };

static void con_clip_begin(con_ctx *c, con_out *o) {
    o->clip_at = o->cols + PTEL_CONSOLE_MAX_CLIP;
    c->clip_out = o;
    c->clip_steps = CON_CLIP_STEPS;
}

static void con_clip_end(con_ctx *c, con_out *o) {
    bool clipped = o->clipped;
    o->clip_at = SIZE_MAX;
    o->clipped = false;
    c->clip_out = NULL;
    if (clipped) con_puts(o, c->g->more);
}

/* Reading one more field inside a clipped region: false (and the region
 * clipped) once it has read CON_CLIP_STEPS fields, so that a clipped region
 * costs the same however large the message it shows. */
static bool con_step(con_ctx *c) {
    if (!c->clip_out) return true;
    if (c->clip_steps == 0) {
        c->clip_out->clipped = true;
        return false;
    }
    c->clip_steps--;
    return true;
}

/* ---- wire --------------------------------------------------------------- */

/* Expected wire type of each known field, indexed by field number. CON_X
 * marks numbers that are unknown (skipped); CON_PACKED also accepts a packed
 * LEN occurrence of a repeated 8-byte scalar. */
enum { CON_X = 0xff, CON_PACKED = 0x80 };
enum { CON_V = PTEL__WT_VARINT, CON_D = PTEL__WT_I64, CON_L = PTEL__WT_LEN, CON_F = PTEL__WT_I32 };

/* TracesData/MetricsData, ArrayValue, KeyValueList, Gauge, Summary: 1 LEN. */
static const uint8_t con_wt_one_len[] = {CON_X, CON_L};
/* ResourceSpans/ResourceMetrics, ScopeSpans/ScopeMetrics: three LEN fields. */
static const uint8_t con_wt_three_len[] = {CON_X, CON_L, CON_L, CON_L};
static const uint8_t con_wt_scope[] = {CON_X, CON_L, CON_L, CON_L, CON_V};
static const uint8_t con_wt_span[] = {CON_X, CON_L, CON_L, CON_L, CON_L, CON_L, CON_V, CON_D, CON_D,
                                      CON_L, CON_V, CON_L, CON_V, CON_L, CON_V, CON_L, CON_F};
static const uint8_t con_wt_event[] = {CON_X, CON_D, CON_L, CON_L, CON_V};
static const uint8_t con_wt_link[] = {CON_X, CON_L, CON_L, CON_L, CON_L, CON_V, CON_F};
static const uint8_t con_wt_status[] = {CON_X, CON_X, CON_L, CON_V};
static const uint8_t con_wt_any[] = {CON_X, CON_L, CON_V, CON_V, CON_D, CON_L, CON_L, CON_L, CON_V};
static const uint8_t con_wt_kv[] = {CON_X, CON_L, CON_L, CON_V};
static const uint8_t con_wt_metric[] = {CON_X, CON_L, CON_L, CON_L, CON_X, CON_L, CON_X,
                                        CON_L, CON_X, CON_L, CON_L, CON_L, CON_L};
static const uint8_t con_wt_sum[] = {CON_X, CON_L, CON_V, CON_V};
static const uint8_t con_wt_histogram[] = {CON_X, CON_L, CON_V}; /* and ExponentialHistogram */
static const uint8_t con_wt_number_dp[] = {CON_X, CON_X, CON_D, CON_D, CON_D,
                                           CON_L, CON_D, CON_L, CON_V};
static const uint8_t con_wt_histogram_dp[] = {
    CON_X, CON_X, CON_D, CON_D, CON_D, CON_D, CON_D | CON_PACKED, CON_D | CON_PACKED,
    CON_L, CON_L, CON_V, CON_D, CON_D};
static const uint8_t con_wt_exp_histogram_dp[] = {CON_X, CON_L, CON_D, CON_D, CON_D,
                                                  CON_D, CON_V, CON_D, CON_L, CON_L,
                                                  CON_V, CON_L, CON_D, CON_D, CON_D};
static const uint8_t con_wt_summary_dp[] = {CON_X, CON_X, CON_D, CON_D, CON_D,
                                            CON_D, CON_L, CON_L, CON_V};
static const uint8_t con_wt_quantile[] = {CON_X, CON_D, CON_D};
static const uint8_t con_wt_exemplar[] = {CON_X, CON_X, CON_D, CON_D, CON_L, CON_L, CON_D, CON_L};

/* The most entries any table above has. */
#define CON_MAX_FIELDS 17

static int con_fail(con_ctx *c, int status, const uint8_t *at, uint32_t field, const char *reason) {
    return ptel__fail(c->diag, status, (uint64_t)(at - c->base), field, reason);
}

/* Check the framing of data[0..len) and the wire type of every known field,
 * and leave in last[k] the last occurrence of field k (start NULL when
 * absent). Inside a clipped region that runs out of steps, stops early and
 * returns 0: the region is clipped, so nothing more is printed from it. */
static int con_scan(con_ctx *c, const uint8_t *data, size_t len, const uint8_t *wt, uint32_t nwt,
                    ptel__field *last) {
    memset(last, 0, nwt * sizeof *last);
    ptel__reader r;
    ptel__reader_init(&r, c->base, data, len);
    ptel__field f;
    for (;;) {
        if (!con_step(c)) return 0;
        int rc = ptel__reader_next(&r, &f, c->diag);
        if (rc <= 0) return rc;
        if (f.number >= nwt || wt[f.number] == CON_X) continue;
        uint32_t want = wt[f.number] & 0x7f;
        if (f.wire_type != want) {
            if (!(wt[f.number] & CON_PACKED) || f.wire_type != PTEL__WT_LEN)
                return con_fail(c, PTEL_E_MALFORMED, f.start, f.number,
                                "wrong wire type for known field");
            if (f.len % 8)
                return con_fail(c, PTEL_E_MALFORMED, f.start, f.number,
                                "packed length is not a multiple of the element size");
        }
        last[f.number] = f;
    }
}

#define CON_SCAN(c, data, len, table, last)                                                        \
    con_scan((c), (data), (len), (table), (uint32_t)sizeof(table), (last))

/* A repeated message field read without a scan of its parent: it must be LEN. */
static int con_check_len(con_ctx *c, const ptel__field *f) {
    if (f->wire_type == PTEL__WT_LEN) return 0;
    return con_fail(c, PTEL_E_MALFORMED, f->start, f->number, "wrong wire type for known field");
}

/* The occurrences of one field number, in wire order. */
typedef struct con_iter {
    ptel__reader r;
    uint32_t number;
} con_iter;

static void con_iter_init(con_ctx *c, con_iter *it, const uint8_t *data, size_t len,
                          uint32_t number) {
    ptel__reader_init(&it->r, c->base, data, len);
    it->number = number;
}

/* 1 with the next occurrence in *f, 0 at the end (or when a clipped region
 * has read its share), or a negative status. */
static int con_iter_next(con_ctx *c, con_iter *it, ptel__field *f) {
    for (;;) {
        if (!con_step(c)) return 0;
        int rc = ptel__reader_next(&it->r, f, c->diag);
        if (rc <= 0 || f->number == it->number) return rc;
    }
}

/* The elements of a repeated fixed64/double field, packed or not. The scan
 * of its message checked the wire types and packed lengths. */
typedef struct con_rep {
    con_iter it;
    const uint8_t *p; /* the rest of the current packed occurrence */
    size_t left;
} con_rep;

static void con_rep_init(con_ctx *c, con_rep *r, const uint8_t *data, size_t len, uint32_t number) {
    con_iter_init(c, &r->it, data, len, number);
    r->p = NULL;
    r->left = 0;
}

static int con_rep_next(con_ctx *c, con_rep *r, uint64_t *v) {
    for (;;) {
        if (r->left >= 8) {
            *v = ptel__get_fixed64(r->p);
            r->p += 8;
            r->left -= 8;
            return 1;
        }
        ptel__field f;
        int rc = con_iter_next(c, &r->it, &f);
        if (rc <= 0) return rc;
        if (f.wire_type != PTEL__WT_LEN) {
            *v = f.value;
            return 1;
        }
        r->p = f.data;
        r->left = f.len;
    }
}

typedef struct con_bytes {
    const uint8_t *p;
    size_t n;
} con_bytes;

static con_bytes con_field_bytes(const ptel__field *f) {
    con_bytes b = {f->data, f->len};
    return b;
}

static int con_bytes_cmp(con_bytes a, con_bytes b) {
    size_t m = a.n < b.n ? a.n : b.n;
    int r = m ? memcmp(a.p, b.p, m) : 0;
    if (r) return r < 0 ? -1 : 1;
    return a.n < b.n ? -1 : a.n > b.n;
}

static bool con_bytes_eq(con_bytes a, con_bytes b) { return con_bytes_cmp(a, b) == 0; }

/* Equal as printed in a clipped region: the same bytes, or the same first
 * 4 * PTEL_CONSOLE_MAX_CLIP bytes (more than a clip shows) when both are
 * longer. Keeps the comparison of a span's scope with its parent's bounded,
 * since many spans share one scope. */
static bool con_clip_eq(con_bytes a, con_bytes b) {
    const size_t most = 4 * (size_t)PTEL_CONSOLE_MAX_CLIP;
    if (a.p == b.p && a.n == b.n) return true;
    if (a.n > most) a.n = most + 1;
    if (b.n > most) b.n = most + 1;
    if (a.n != b.n) return false;
    size_t n = a.n > most ? most : a.n;
    return n == 0 || memcmp(a.p, b.p, n) == 0;
}

/* ---- text --------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s[0..n) with its code point,
 * or 0 when s[0] does not start one. */
static size_t con_utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t b = s[0];
    size_t len;
    uint32_t min, v;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if ((b & 0xe0) == 0xc0)
        len = 2, min = 0x80, v = b & 0x1f;
    else if ((b & 0xf0) == 0xe0)
        len = 3, min = 0x800, v = b & 0x0f;
    else if ((b & 0xf8) == 0xf0)
        len = 4, min = 0x10000, v = b & 0x07;
    else
        return 0;
    if (n < len) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return len;
}

/* Code points printed as escapes: controls, C1 controls, the line and
 * paragraph separators, bidirectional marks and overrides (which could
 * reorder what the reader sees), and in ASCII mode everything above 0x7e. */
static bool con_cp_escaped(uint32_t cp, bool ascii) {
    if (cp < 0x20 || cp == 0x7f) return true;
    if (cp < 0x80) return false;
    if (ascii || cp <= 0x9f) return true;
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

/* Whether s[0..n) prints quoted; only the first `scan` bytes are looked at
 * (the part that can be printed before a clip). */
static bool con_needs_quotes(const uint8_t *s, size_t n, size_t scan, bool ascii) {
    if (n == 0) return true;
    if (scan < n) n = scan;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = con_utf8_next(s + i, n - i, &cp);
        if (k == 0 || con_cp_escaped(cp, ascii)) return true;
        if (cp == ' ' || cp == ',' || cp == '=' || cp == '[' || cp == ']' || cp == '{' ||
            cp == '}' || cp == '"' || cp == '\\')
            return true;
        i += k;
    }
    return false;
}

/* Text from the input, made safe for a terminal. As a `value` it is quoted
 * when empty or when it holds a separator or an escape (see console.h). */
static void con_put_text(con_ctx *c, con_out *o, const uint8_t *s, size_t n, bool value) {
    static const char hex[] = "0123456789abcdef";
    bool ascii = (c->flags & PTEL_CONSOLE_ASCII) != 0;
    bool clipping = o->clip_at != SIZE_MAX;
    size_t scan = clipping ? 16 * (size_t)PTEL_CONSOLE_MAX_CLIP : SIZE_MAX;
    bool quoted = value && con_needs_quotes(s, n, scan, ascii);
    if (quoted) con_putc(o, '"');
    size_t run = 0, i = 0;
    while (i < n && !o->clipped) {
        if (clipping && i - run >= 64) { /* flush, to stop soon after a clip */
            con_put(o, (const char *)s + run, i - run);
            run = i;
            continue;
        }
        uint32_t cp;
        size_t k = con_utf8_next(s + i, n - i, &cp);
        char esc[10];
        size_t elen = 0;
        if (k == 0) { /* not UTF-8: the byte in hex */
            esc[0] = '\\', esc[1] = 'x', esc[2] = hex[s[i] >> 4], esc[3] = hex[s[i] & 15];
            elen = 4;
            k = 1;
        } else if (cp == '\n' || cp == '\t' || cp == '\r' ||
                   (quoted && (cp == '"' || cp == '\\'))) {
            esc[0] = '\\';
            esc[1] = cp == '\n' ? 'n' : cp == '\t' ? 't' : cp == '\r' ? 'r' : (char)cp;
            elen = 2;
        } else if (con_cp_escaped(cp, ascii)) {
            size_t digits = cp > 0xffff ? 8 : 4;
            esc[0] = '\\';
            esc[1] = cp > 0xffff ? 'U' : 'u';
            for (size_t d = 0; d < digits; d++) esc[2 + d] = hex[cp >> (4 * (digits - 1 - d)) & 15];
            elen = 2 + digits;
        } else {
            i += k;
            continue;
        }
        con_put(o, (const char *)s + run, i - run);
        con_put(o, esc, elen);
        i += k;
        run = i;
    }
    if (i > run) con_put(o, (const char *)s + run, i - run);
    if (quoted) con_putc(o, '"');
}

static void con_put_name(con_ctx *c, con_out *o, const ptel__field *f) {
    if (f->len)
        con_put_text(c, o, f->data, f->len, false);
    else
        con_puts(o, "(unnamed)");
}

/* " (dropped: 2 attributes, 1 event)" for the non-zero counts. */
static void con_put_dropped(con_out *o, uint64_t attrs, uint64_t events, uint64_t links) {
    const uint64_t n[3] = {(uint32_t)attrs, (uint32_t)events, (uint32_t)links};
    static const char *const what[3] = {"attribute", "event", "link"};
    bool first = true;
    for (int k = 0; k < 3; k++) {
        if (!n[k]) continue;
        con_puts(o, first ? " (dropped: " : ", ");
        first = false;
        con_put_u64(o, n[k]);
        con_putc(o, ' ');
        con_puts(o, what[k]);
        if (n[k] != 1) con_putc(o, 's');
    }
    if (!first) con_putc(o, ')');
}

/* ---- values -------------------------------------------------------------- */

static int con_any(con_ctx *c, con_out *o, const uint8_t *data, size_t len, int depth);

/* A KeyValue as k=v. */
static int con_kv(con_ctx *c, con_out *o, const uint8_t *data, size_t len, int depth) {
    ptel__field f[sizeof con_wt_kv];
    int rc = CON_SCAN(c, data, len, con_wt_kv, f);
    if (rc) return rc;
    con_put_text(c, o, f[1].data, f[1].len, true);
    con_putc(o, '=');
    if (!f[2].start) {
        con_puts(o, "(empty)");
        return 0;
    }
    return con_any(c, o, f[2].data, f[2].len, depth);
}

/* An AnyValue. Arrays and kvlists at `depth` PTEL_CONSOLE_MAX_VALUE_DEPTH
 * print as [...] and {...} without being decoded. */
static int con_any(con_ctx *c, con_out *o, const uint8_t *data, size_t len, int depth) {
    ptel__field f[sizeof con_wt_any];
    int rc = CON_SCAN(c, data, len, con_wt_any, f);
    if (rc) return rc;
    const ptel__field *v = NULL; /* the oneof member that occurs last wins */
    for (uint32_t k = 1; k < sizeof con_wt_any; k++)
        if (f[k].start && (!v || f[k].start > v->start)) v = &f[k];
    switch (v ? v->number : 0) {
    case 1:
        con_put_text(c, o, v->data, v->len, true);
        return 0;
    case 2:
        con_puts(o, v->value ? "true" : "false");
        return 0;
    case 3:
        con_put_i64(o, (int64_t)v->value);
        return 0;
    case 4:
        con_put_double(o, ptel__bits_double(v->value));
        return 0;
    case 5:
    case 6: {
        bool array = v->number == 5;
        con_putc(o, array ? '[' : '{');
        if (depth >= PTEL_CONSOLE_MAX_VALUE_DEPTH) {
            con_puts(o, c->g->more);
        } else {
            con_iter it;
            con_iter_init(c, &it, v->data, v->len, 1);
            ptel__field e;
            bool first = true;
            while (!o->clipped && (rc = con_iter_next(c, &it, &e)) > 0) {
                rc = con_check_len(c, &e);
                if (rc) return rc;
                if (!first) con_putc(o, ',');
                first = false;
                rc = array ? con_any(c, o, e.data, e.len, depth + 1)
                           : con_kv(c, o, e.data, e.len, depth + 1);
                if (rc) return rc;
            }
            if (rc) return rc;
        }
        con_putc(o, array ? ']' : '}');
        return 0;
    }
    case 7:
        con_put(o, "0x", 2);
        con_put_hex(o, v->data, v->len);
        return 0;
    default: /* no member, or string_value_strindex (profiles only) */
        con_puts(o, "(empty)");
        return 0;
    }
}

/* The KeyValues of field `number` of data[0..len) as k=v, each preceded by
 * a space, or separated by spaces when !lead. Stops early once clipped. */
static int con_attrs(con_ctx *c, con_out *o, const uint8_t *data, size_t len, uint32_t number,
                     bool lead) {
    con_iter it;
    con_iter_init(c, &it, data, len, number);
    ptel__field f;
    int rc = 0;
    bool first = true;
    while (!o->clipped && (rc = con_iter_next(c, &it, &f)) > 0) {
        rc = con_check_len(c, &f);
        if (rc) return rc;
        if (lead || !first) con_putc(o, ' ');
        first = false;
        rc = con_kv(c, o, f.data, f.len, 0);
        if (rc) return rc;
    }
    return rc;
}

/* The attributes of a Resource message (may be absent), each after a space.
 * Only the attributes are decoded (a header may be clipped). */
static int con_resource_attrs(con_ctx *c, con_out *o, con_bytes res) {
    if (!res.p) return 0;
    return con_attrs(c, o, res.p, res.n, 1, true);
}

/* " [name version]" of an InstrumentationScope, clipped. */
static void con_put_scope(con_ctx *c, con_out *o, con_bytes name, con_bytes version) {
    con_put(o, " [", 2);
    con_clip_begin(c, o);
    con_put_text(c, o, name.p, name.n, false);
    if (version.n) {
        con_putc(o, ' ');
        con_put_text(c, o, version.p, version.n, false);
    }
    con_clip_end(c, o);
    con_putc(o, ']');
}

/* Name and version of an InstrumentationScope message (may be absent). */
static int con_scope(con_ctx *c, const ptel__field *scope, con_bytes *name, con_bytes *version) {
    name->p = version->p = NULL;
    name->n = version->n = 0;
    if (!scope->start) return 0;
    ptel__field f[sizeof con_wt_scope];
    int rc = CON_SCAN(c, scope->data, scope->len, con_wt_scope, f);
    if (rc) return rc;
    *name = con_field_bytes(&f[1]);
    *version = con_field_bytes(&f[2]);
    return 0;
}

/* ---- trace index ----------------------------------------------------------- */

typedef struct con_span {
    const uint8_t *data; /* the Span message */
    size_t len;
    con_bytes trace_id, span_id, parent_id;
    con_bytes scope_name, scope_version;
    con_bytes resource; /* the Resource message of its ResourceSpans (p NULL: none) */
    uint64_t start;
    uint32_t parent; /* index of the parent span, or CON_NONE */
    uint32_t first_child, last_child, next;
    uint32_t group; /* its trace */
    uint32_t mark;  /* cycle search: the walk that visited it, 0 = none yet */
    bool cycle;     /* its parent link was cut to break a cycle */
} con_span;

typedef struct con_group {
    uint32_t lo, hi; /* its spans: by_id[lo..hi) */
    uint32_t first;  /* its first span in input order */
    uint32_t root_head, root_tail;
} con_group;

typedef struct con_index {
    con_span *spans; /* NULL: count only */
    size_t cap;
    size_t count; /* spans stored */
    size_t total; /* spans seen */
} con_index;

static int con_index_span(con_ctx *c, con_index *ix, const ptel__field *sf, con_bytes resource,
                          con_bytes scope_name, con_bytes scope_version) {
    ptel__field f[sizeof con_wt_span];
    int rc = CON_SCAN(c, sf->data, sf->len, con_wt_span, f);
    if (rc) return rc;
    ix->total++;
    if (!ix->spans || ix->count >= ix->cap) return 0;
    con_span *s = &ix->spans[ix->count++];
    memset(s, 0, sizeof *s);
    s->data = sf->data;
    s->len = sf->len;
    s->trace_id = con_field_bytes(&f[1]);
    s->span_id = con_field_bytes(&f[2]);
    s->parent_id = con_field_bytes(&f[4]);
    s->scope_name = scope_name;
    s->scope_version = scope_version;
    s->resource = resource;
    s->start = f[7].value;
    s->parent = s->first_child = s->last_child = s->next = CON_NONE;
    return 0;
}

static int con_index_traces(con_ctx *c, con_index *ix, const uint8_t *data, size_t len) {
    ptel__field top[sizeof con_wt_one_len];
    int rc = CON_SCAN(c, data, len, con_wt_one_len, top);
    if (rc) return rc;
    con_iter rs_it;
    con_iter_init(c, &rs_it, data, len, 1);
    ptel__field rs;
    while ((rc = con_iter_next(c, &rs_it, &rs)) > 0) {
        ptel__field rf[sizeof con_wt_three_len];
        rc = CON_SCAN(c, rs.data, rs.len, con_wt_three_len, rf);
        if (rc) return rc;
        con_bytes resource = con_field_bytes(&rf[1]);
        con_iter ss_it;
        con_iter_init(c, &ss_it, rs.data, rs.len, 2);
        ptel__field ss;
        while ((rc = con_iter_next(c, &ss_it, &ss)) > 0) {
            ptel__field sf[sizeof con_wt_three_len];
            rc = CON_SCAN(c, ss.data, ss.len, con_wt_three_len, sf);
            if (rc) return rc;
            con_bytes name, version;
            rc = con_scope(c, &sf[1], &name, &version);
            if (rc) return rc;
            con_iter sp_it;
            con_iter_init(c, &sp_it, ss.data, ss.len, 2);
            ptel__field sp;
            while ((rc = con_iter_next(c, &sp_it, &sp)) > 0) {
                rc = con_index_span(c, ix, &sp, resource, name, version);
                if (rc) return rc;
            }
            if (rc) return rc;
        }
        if (rc) return rc;
    }
    return rc;
}

/* ---- trace links ------------------------------------------------------------ */

typedef int (*con_cmp_fn)(const con_span *s, uint32_t a, uint32_t b);

static int con_cmp_index(uint32_t a, uint32_t b) { return a < b ? -1 : a > b; }

/* (trace id, span id, input order) */
static int con_cmp_ids(const con_span *s, uint32_t a, uint32_t b) {
    int r = con_bytes_cmp(s[a].trace_id, s[b].trace_id);
    if (!r) r = con_bytes_cmp(s[a].span_id, s[b].span_id);
    return r ? r : con_cmp_index(a, b);
}

/* (start time, span id, input order) */
static int con_cmp_start(const con_span *s, uint32_t a, uint32_t b) {
    if (s[a].start != s[b].start) return s[a].start < s[b].start ? -1 : 1;
    int r = con_bytes_cmp(s[a].span_id, s[b].span_id);
    return r ? r : con_cmp_index(a, b);
}

static void con_sift(uint32_t *v, size_t root, size_t n, const con_span *s, con_cmp_fn cmp) {
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && cmp(s, v[child], v[child + 1]) < 0) child++;
        if (cmp(s, v[root], v[child]) >= 0) return;
        uint32_t t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

/* Heapsort: in place, O(n log n), no recursion. The keys are total orders,
 * so the result does not depend on the algorithm's instability. */
static void con_sort(uint32_t *v, size_t n, const con_span *s, con_cmp_fn cmp) {
    if (n < 2) return;
    for (size_t i = n / 2; i-- > 0;) con_sift(v, i, n, s, cmp);
    for (size_t end = n - 1; end > 0; end--) {
        uint32_t t = v[0];
        v[0] = v[end];
        v[end] = t;
        con_sift(v, 0, end, s, cmp);
    }
}

/* The position in by_id[lo..hi) of the first span whose id is `id`, or hi. */
static uint32_t con_find(const con_span *s, const uint32_t *by_id, uint32_t lo, uint32_t hi,
                         con_bytes id) {
    uint32_t a = lo, b = hi;
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (con_bytes_cmp(s[by_id[mid]].span_id, id) < 0)
            a = mid + 1;
        else
            b = mid;
    }
    return a < hi && con_bytes_eq(s[by_id[a]].span_id, id) ? a : hi;
}

/* Group by trace, resolve parents, cut cycles and thread the child lists.
 * Returns the number of traces; order[] gets them in first-seen order. */
static uint32_t con_link(con_span *s, uint32_t n, uint32_t *by_id, uint32_t *by_start,
                         con_group *groups, uint32_t *order) {
    for (uint32_t i = 0; i < n; i++) by_id[i] = by_start[i] = i;
    con_sort(by_id, n, s, con_cmp_ids);

    uint32_t ng = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        while (j < n && con_bytes_eq(s[by_id[j]].trace_id, s[by_id[i]].trace_id)) j++;
        con_group *g = &groups[ng];
        g->lo = i;
        g->hi = j;
        g->first = CON_NONE;
        g->root_head = g->root_tail = CON_NONE;
        for (uint32_t k = i; k < j; k++) {
            s[by_id[k]].group = ng;
            if (by_id[k] < g->first) g->first = by_id[k];
        }
        ng++;
        i = j;
    }

    for (uint32_t x = 0; x < n; x++) {
        if (!s[x].parent_id.n) continue;
        const con_group *g = &groups[s[x].group];
        uint32_t k = con_find(s, by_id, g->lo, g->hi, s[x].parent_id);
        if (k == g->hi) continue; /* parent not in the input: a root */
        if (by_id[k] == x)
            s[x].cycle = true; /* its own parent */
        else
            s[x].parent = by_id[k];
    }

    /* Each walk climbs from an unvisited span, marking what it visits, until
     * it reaches a root, a span an earlier walk visited (whose chain is
     * already known to end), or a span of its own walk: a cycle, cut here. */
    for (uint32_t i = 0; i < n; i++) {
        if (s[i].mark) continue;
        uint32_t walk = i + 1, x = i;
        while (x != CON_NONE && !s[x].mark) {
            s[x].mark = walk;
            x = s[x].parent;
        }
        if (x == CON_NONE || s[x].mark != walk) continue;
        uint32_t y = x;
        do {
            uint32_t p = s[y].parent;
            s[y].parent = CON_NONE;
            s[y].cycle = true;
            y = p;
        } while (y != x);
    }

    con_sort(by_start, n, s, con_cmp_start);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t x = by_start[k];
        uint32_t *head, *tail;
        if (s[x].parent != CON_NONE) {
            head = &s[s[x].parent].first_child;
            tail = &s[s[x].parent].last_child;
        } else {
            head = &groups[s[x].group].root_head;
            tail = &groups[s[x].group].root_tail;
        }
        if (*tail == CON_NONE)
            *head = x;
        else
            s[*tail].next = x;
        *tail = x;
    }

    uint32_t m = 0;
    for (uint32_t x = 0; x < n; x++)
        if (groups[s[x].group].first == x) order[m++] = s[x].group;
    return ng;
}

/* ---- trace printing ---------------------------------------------------------- */

static void con_prefix(con_ctx *c, const bool *more, int levels) {
    for (int l = 0; l < levels; l++) con_puts(&c->out, more[l] ? c->g->pipe : c->g->blank);
}

static int con_print_event(con_ctx *c, const ptel__field *ev, uint64_t span_start) {
    con_out *o = &c->out;
    ptel__field f[sizeof con_wt_event];
    int rc = CON_SCAN(c, ev->data, ev->len, con_wt_event, f);
    if (rc) return rc;
    con_puts(o, c->g->bullet);
    con_put_name(c, o, &f[2]);
    con_putc(o, ' ');
    con_put_ms(o, span_start, f[1].value, true);
    rc = con_attrs(c, o, ev->data, ev->len, 3, true);
    if (rc) return rc;
    con_put_dropped(o, f[4].value, 0, 0);
    con_putc(o, '\n');
    return 0;
}

static int con_print_link(con_ctx *c, const ptel__field *lk) {
    con_out *o = &c->out;
    ptel__field f[sizeof con_wt_link];
    int rc = CON_SCAN(c, lk->data, lk->len, con_wt_link, f);
    if (rc) return rc;
    con_puts(o, c->g->link);
    con_put_hex(o, f[1].data, f[1].len);
    con_putc(o, '/');
    con_put_hex(o, f[2].data, f[2].len);
    rc = con_attrs(c, o, lk->data, lk->len, 4, true);
    if (rc) return rc;
    con_put_dropped(o, f[5].value, 0, 0);
    con_putc(o, '\n');
    return 0;
}

static void con_put_status(con_ctx *c, const ptel__field *f) {
    con_out *o = &c->out;
    uint32_t code = (uint32_t)f[3].value;
    if (code == PTEL_STATUS_ERROR) {
        con_putc(o, ' ');
        con_puts(o, c->g->error);
        if (f[2].len) {
            con_put(o, ": ", 2);
            con_put_text(c, o, f[2].data, f[2].len, false);
        }
    } else if (code == PTEL_STATUS_OK) {
        con_putc(o, ' ');
        con_puts(o, c->g->ok);
    } else if (code != PTEL_STATUS_UNSET) {
        con_puts(o, " status=");
        con_put_i64(o, (int32_t)code);
    }
}

static void con_put_kind(con_out *o, uint64_t value) {
    static const char *const names[] = {"SERVER", "CLIENT", "PRODUCER", "CONSUMER"};
    uint32_t kind = (uint32_t)value;
    if (kind == PTEL_SPAN_KIND_UNSPECIFIED || kind == PTEL_SPAN_KIND_INTERNAL) return;
    con_putc(o, ' ');
    if (kind <= PTEL_SPAN_KIND_CONSUMER) {
        con_puts(o, names[kind - PTEL_SPAN_KIND_SERVER]);
    } else {
        con_puts(o, "kind=");
        con_put_i64(o, (int32_t)kind);
    }
}

/* The line of span x at `depth`, then its events and links. */
static int con_print_span(con_ctx *c, const con_span *s, uint32_t x, int depth, const bool *more) {
    con_out *o = &c->out;
    const con_span *sp = &s[x];
    ptel__field f[sizeof con_wt_span];
    int rc = CON_SCAN(c, sp->data, sp->len, con_wt_span, f);
    if (rc) return rc;

    con_prefix(c, more, depth);
    con_puts(o, more[depth] ? c->g->tee : c->g->elbow);
    con_put_name(c, o, &f[5]);
    con_bytes pname = {NULL, 0}, pversion = {NULL, 0};
    if (sp->parent != CON_NONE) {
        pname = s[sp->parent].scope_name;
        pversion = s[sp->parent].scope_version;
    }
    if (!con_clip_eq(sp->scope_name, pname) || !con_clip_eq(sp->scope_version, pversion))
        con_put_scope(c, o, sp->scope_name, sp->scope_version);
    con_putc(o, ' ');
    if (f[8].value)
        con_put_ms(o, f[7].value, f[8].value, false);
    else
        con_puts(o, "(not ended)");
    if (f[15].start) {
        ptel__field st[sizeof con_wt_status];
        rc = CON_SCAN(c, f[15].data, f[15].len, con_wt_status, st);
        if (rc) return rc;
        con_put_status(c, st);
    }
    con_put_kind(o, f[6].value);
    rc = con_attrs(c, o, sp->data, sp->len, 9, true);
    if (rc) return rc;
    con_put_dropped(o, f[10].value, f[12].value, f[14].value);
    if (c->flags & PTEL_CONSOLE_SPAN_IDS) {
        con_puts(o, " id=");
        con_put_hex(o, sp->span_id.p, sp->span_id.n);
    }
    if (sp->cycle) con_puts(o, " (parent cycle)");
    con_putc(o, '\n');

    static const uint32_t sub[2] = {11, 13}; /* events, then links */
    for (int k = 0; k < 2; k++) {
        con_iter it;
        con_iter_init(c, &it, sp->data, sp->len, sub[k]);
        ptel__field e;
        while ((rc = con_iter_next(c, &it, &e)) > 0) {
            con_prefix(c, more, depth + 1);
            con_puts(o, sp->first_child != CON_NONE ? c->g->pipe : c->g->blank);
            rc = k == 0 ? con_print_event(c, &e, f[7].value) : con_print_link(c, &e);
            if (rc) return rc;
        }
        if (rc) return rc;
    }
    return 0;
}

/* The line standing for the subtree below span x, at the depth limit. */
static void con_print_cut(con_ctx *c, const con_span *s, uint32_t x, int depth, const bool *more) {
    uint64_t count = 0;
    uint32_t y = s[x].first_child;
    while (y != CON_NONE) {
        count++;
        if (s[y].first_child != CON_NONE) {
            y = s[y].first_child;
            continue;
        }
        while (y != x && s[y].next == CON_NONE) y = s[y].parent;
        if (y == x) break;
        y = s[y].next;
    }
    con_prefix(c, more, depth + 1);
    con_puts(&c->out, c->g->elbow);
    con_puts(&c->out, c->g->more);
    con_putc(&c->out, ' ');
    con_put_u64(&c->out, count);
    con_puts(&c->out, count == 1 ? " more span" : " more spans");
    con_puts(&c->out, " below the depth limit\n");
}

static int con_print_trace(con_ctx *c, const con_span *s, const con_group *g) {
    con_out *o = &c->out;
    const con_span *first = &s[g->first];
    con_section(c);
    con_puts(o, "trace ");
    if (first->trace_id.n)
        con_put_hex(o, first->trace_id.p, first->trace_id.n);
    else
        con_puts(o, "(no trace id)");
    con_clip_begin(c, o);
    int rc = con_resource_attrs(c, o, first->resource);
    con_clip_end(c, o);
    if (rc) return rc;
    con_putc(o, '\n');

    bool more[PTEL_CONSOLE_MAX_DEPTH];
    int depth = 0;
    uint32_t x = g->root_head;
    while (x != CON_NONE) {
        more[depth] = s[x].next != CON_NONE;
        rc = con_print_span(c, s, x, depth, more);
        if (rc) return rc;
        if (s[x].first_child != CON_NONE) {
            if (depth + 1 < PTEL_CONSOLE_MAX_DEPTH) {
                x = s[x].first_child;
                depth++;
                continue;
            }
            con_print_cut(c, s, x, depth, more);
        }
        while (x != CON_NONE && s[x].next == CON_NONE) {
            x = s[x].parent;
            depth--;
        }
        if (x != CON_NONE) x = s[x].next;
    }
    return 0;
}

static int con_traces(con_ctx *c, const ptel_allocator *alloc, const uint8_t *data, size_t len) {
    if (!len) return 0;
    con_index ix = {NULL, 0, 0, 0};
    int rc = con_index_traces(c, &ix, data, len);
    if (rc || !ix.total) return rc;
    size_t total = ix.total;
    uint32_t n = total < PTEL_CONSOLE_MAX_SPANS ? (uint32_t)total : PTEL_CONSOLE_MAX_SPANS;

    /* One block: spans, groups, then three index arrays. */
    size_t bytes = (size_t)n * (sizeof(con_span) + sizeof(con_group) + 3 * sizeof(uint32_t));
    ptel_allocator a = ptel__allocator(alloc);
    uint8_t *mem = ptel__alloc(&a, bytes);
    if (!mem) return ptel__fail(c->diag, PTEL_E_NOMEM, 0, 0, "out of memory for the span index");
    con_span *spans = (con_span *)(void *)mem;
    con_group *groups = (con_group *)(void *)(mem + (size_t)n * sizeof(con_span));
    uint32_t *by_id = (uint32_t *)(void *)(groups + n);
    uint32_t *by_start = by_id + n;
    uint32_t *order = by_start + n;

    ix.spans = spans;
    ix.cap = n;
    ix.count = ix.total = 0;
    rc = con_index_traces(c, &ix, data, len);
    if (!rc) {
        uint32_t ng = con_link(spans, n, by_id, by_start, groups, order);
        for (uint32_t k = 0; k < ng && !rc; k++) rc = con_print_trace(c, spans, &groups[order[k]]);
    }
    if (!rc && total > n) {
        con_section(c);
        con_puts(&c->out, c->g->more);
        con_putc(&c->out, ' ');
        con_put_u64(&c->out, total - n);
        con_puts(&c->out, total - n == 1 ? " more span" : " more spans");
        con_puts(&c->out, " not shown (limit ");
        con_put_u64(&c->out, PTEL_CONSOLE_MAX_SPANS);
        con_puts(&c->out, ")\n");
    }
    ptel__free(&a, mem, bytes);
    return rc;
}

/* ---- metrics ---------------------------------------------------------------- */

enum { CON_COLUMNS = 5 };

static const char *const con_headers[CON_COLUMNS] = {"NAME", "UNIT", "TYPE", "ATTRIBUTES", "VALUE"};

typedef struct con_table {
    bool measure;              /* first walk: widths only */
    size_t width[CON_COLUMNS]; /* widest cell of each column (the last is not padded) */
    uint64_t rows;
} con_table;

/* One row: a data point of a metric, or the metric alone when it has none. */
typedef struct con_row {
    const ptel__field *metric; /* the Metric fields (scanned) */
    uint32_t member;           /* Metric field holding the data: 5 7 9 10 11, 0 = none */
    const ptel__field *data;   /* the data message's fields (scanned) */
    const ptel__field *point;  /* the data point, NULL when there is none */
    const ptel__field *pf;     /* the data point's fields (scanned) */
} con_row;

static void con_put_temporality(con_out *o, uint64_t value) {
    uint32_t t = (uint32_t)value;
    if (t == 1)
        con_puts(o, " delta");
    else if (t == 2)
        con_puts(o, " cumulative");
    else if (t) {
        con_puts(o, " temporality=");
        con_put_i64(o, (int32_t)t);
    }
}

static void con_cell_type(con_out *o, const con_row *r) {
    switch (r->member) {
    case 5:
        con_puts(o, "gauge");
        break;
    case 7:
        con_puts(o, r->data[3].value ? "counter" : "updown");
        con_put_temporality(o, r->data[2].value);
        break;
    case 9:
        con_puts(o, "histogram");
        con_put_temporality(o, r->data[2].value);
        break;
    case 10:
        con_puts(o, "exp-histogram");
        con_put_temporality(o, r->data[2].value);
        break;
    case 11:
        con_puts(o, "summary");
        break;
    default:
        con_puts(o, "(none)");
    }
}

/* Field numbers of the attributes and exemplars in each data point type. */
static uint32_t con_point_attrs(uint32_t member) { return member == 9 ? 9 : member == 10 ? 1 : 7; }

static uint32_t con_point_exemplars(uint32_t member) {
    return member == 9 ? 8 : member == 10 ? 11 : member == 11 ? 0 : 5;
}

static void con_put_opt_double(con_out *o, const char *label, const ptel__field *f) {
    if (!f->start) return;
    con_puts(o, label);
    con_put_double(o, ptel__bits_double(f->value));
}

/* " buckets=[≤5:1,>10:2]": the non-zero bucket counts with their upper bounds. */
static int con_put_buckets(con_ctx *c, con_out *o, const ptel__field *point) {
    con_rep counts, bounds;
    con_rep_init(c, &counts, point->data, point->len, 6);
    con_rep_init(c, &bounds, point->data, point->len, 7);
    bool open = false, bounds_done = false;
    uint64_t i = 0, nbounds = 0, count, bits = 0;
    double last = 0;
    int rc;
    while ((rc = con_rep_next(c, &counts, &count)) > 0) {
        bool has_bound = false;
        if (!bounds_done) {
            rc = con_rep_next(c, &bounds, &bits);
            if (rc < 0) return rc;
            has_bound = rc > 0;
            bounds_done = !has_bound;
        }
        if (has_bound) {
            last = ptel__bits_double(bits);
            nbounds++;
        }
        if (count) {
            con_puts(o, open ? "," : " buckets=[");
            open = true;
            if (has_bound) {
                con_puts(o, c->g->le);
                con_put_double(o, last);
            } else if (nbounds && i == nbounds) {
                con_putc(o, '>');
                con_put_double(o, last);
            } else if (!nbounds) {
                con_puts(o, "all");
            } else {
                con_putc(o, '#');
                con_put_u64(o, i);
            }
            con_putc(o, ':');
            con_put_u64(o, count);
        }
        i++;
    }
    if (rc < 0) return rc;
    if (open) con_putc(o, ']');
    return 0;
}

static int con_cell_value(con_ctx *c, con_out *o, const con_row *r) {
    const ptel__field *pf = r->pf;
    if (!r->point) {
        con_puts(o, "(no data points)");
        return 0;
    }
    int rc;
    if (pf[r->member == 10 ? 10 : r->member == 9 ? 10 : 8].value & 1) {
        con_puts(o, "(no recorded value)");
    } else if (r->member == 5 || r->member == 7) {
        if (pf[4].start && (!pf[6].start || pf[4].start > pf[6].start))
            con_put_double(o, ptel__bits_double(pf[4].value));
        else if (pf[6].start)
            con_put_i64(o, (int64_t)pf[6].value);
        else
            con_puts(o, "(no value)");
    } else {
        con_puts(o, "count=");
        con_put_u64(o, pf[4].value);
        con_put_opt_double(o, " sum=", &pf[5]);
        if (r->member == 9) {
            con_put_opt_double(o, " min=", &pf[11]);
            con_put_opt_double(o, " max=", &pf[12]);
            rc = con_put_buckets(c, o, r->point);
            if (rc) return rc;
        } else if (r->member == 10) {
            con_put_opt_double(o, " min=", &pf[12]);
            con_put_opt_double(o, " max=", &pf[13]);
            uint32_t u = (uint32_t)pf[6].value;
            con_puts(o, " scale=");
            con_put_i64(o, (int32_t)(u >> 1) ^ -(int32_t)(u & 1));
            if (pf[7].value) {
                con_puts(o, " zero_count=");
                con_put_u64(o, pf[7].value);
            }
        } else { /* summary */
            con_iter it;
            con_iter_init(c, &it, r->point->data, r->point->len, 6);
            ptel__field q;
            while ((rc = con_iter_next(c, &it, &q)) > 0) {
                ptel__field qf[sizeof con_wt_quantile];
                rc = CON_SCAN(c, q.data, q.len, con_wt_quantile, qf);
                if (rc) return rc;
                con_puts(o, " q");
                con_put_double(o, ptel__bits_double(qf[1].value));
                con_putc(o, '=');
                con_put_double(o, ptel__bits_double(qf[2].value));
            }
            if (rc) return rc;
        }
    }
    uint32_t ex = con_point_exemplars(r->member);
    if (!ex) return 0;
    con_iter it;
    con_iter_init(c, &it, r->point->data, r->point->len, ex);
    ptel__field e;
    while ((rc = con_iter_next(c, &it, &e)) > 0) {
        ptel__field ef[sizeof con_wt_exemplar];
        rc = CON_SCAN(c, e.data, e.len, con_wt_exemplar, ef);
        if (rc) return rc;
        con_putc(o, ' ');
        con_puts(o, c->g->exemplar);
        if (ef[4].len) {
            con_puts(o, " span=");
            con_put_hex(o, ef[4].data, ef[4].len);
        }
    }
    return rc;
}

static int con_cell(con_ctx *c, con_out *o, const con_row *r, int col) {
    switch (col) {
    case 0:
    case 1:
        con_clip_begin(c, o);
        if (col == 0)
            con_put_name(c, o, &r->metric[1]);
        else
            con_put_text(c, o, r->metric[3].data, r->metric[3].len, false);
        con_clip_end(c, o);
        return 0;
    case 2:
        con_cell_type(o, r);
        return 0;
    case 3:
        if (!r->point) return 0;
        return con_attrs(c, o, r->point->data, r->point->len, con_point_attrs(r->member), false);
    default:
        return con_cell_value(c, o, r);
    }
}

static int con_row_emit(con_ctx *c, con_table *t, con_row *r) {
    ptel__field pf[CON_MAX_FIELDS];
    if (r->point) {
        const uint8_t *wt;
        uint32_t nwt;
        switch (r->member) {
        case 9:
            wt = con_wt_histogram_dp, nwt = sizeof con_wt_histogram_dp;
            break;
        case 10:
            wt = con_wt_exp_histogram_dp, nwt = sizeof con_wt_exp_histogram_dp;
            break;
        case 11:
            wt = con_wt_summary_dp, nwt = sizeof con_wt_summary_dp;
            break;
        default:
            wt = con_wt_number_dp, nwt = sizeof con_wt_number_dp;
        }
        int rc = con_scan(c, r->point->data, r->point->len, wt, nwt, pf);
        if (rc) return rc;
    }
    r->pf = pf;
    if (t->measure) {
        for (int col = 0; col < CON_COLUMNS; col++) {
            con_out m;
            con_out_init(&m, NULL, 0);
            int rc = con_cell(c, &m, r, col);
            if (rc) return rc;
            if (m.cols > t->width[col]) t->width[col] = m.cols;
        }
        t->rows++;
        return 0;
    }
    con_puts(&c->out, "  ");
    for (int col = 0; col < CON_COLUMNS; col++) {
        size_t before = c->out.cols;
        int rc = con_cell(c, &c->out, r, col);
        if (rc) return rc;
        if (col == CON_COLUMNS - 1) break;
        size_t used = c->out.cols - before;
        con_spaces(&c->out, (used < t->width[col] ? t->width[col] - used : 0) + 2);
    }
    con_putc(&c->out, '\n');
    return 0;
}

static int con_metric(con_ctx *c, con_table *t, const ptel__field *m) {
    ptel__field mf[sizeof con_wt_metric];
    int rc = CON_SCAN(c, m->data, m->len, con_wt_metric, mf);
    if (rc) return rc;
    con_row r = {mf, 0, NULL, NULL, NULL};
    static const uint32_t members[] = {5, 7, 9, 10, 11};
    const ptel__field *d = NULL; /* the oneof member that occurs last wins */
    for (int k = 0; k < 5; k++)
        if (mf[members[k]].start && (!d || mf[members[k]].start > d->start)) d = &mf[members[k]];
    ptel__field df[sizeof con_wt_sum];
    memset(df, 0, sizeof df);
    r.data = df;
    if (!d) return con_row_emit(c, t, &r);
    r.member = d->number;
    if (r.member == 7)
        rc = CON_SCAN(c, d->data, d->len, con_wt_sum, df);
    else if (r.member == 9 || r.member == 10)
        rc = CON_SCAN(c, d->data, d->len, con_wt_histogram, df);
    else
        rc = CON_SCAN(c, d->data, d->len, con_wt_one_len, df);
    if (rc) return rc;
    con_iter it;
    con_iter_init(c, &it, d->data, d->len, 1);
    ptel__field p;
    bool any = false;
    while ((rc = con_iter_next(c, &it, &p)) > 0) {
        any = true;
        r.point = &p;
        rc = con_row_emit(c, t, &r);
        if (rc) return rc;
    }
    if (rc) return rc;
    r.point = NULL;
    return any ? 0 : con_row_emit(c, t, &r);
}

/* The rows of one ResourceMetrics, with a line per scope when printing. */
static int con_table_walk(con_ctx *c, con_table *t, const ptel__field *rm) {
    con_iter sm_it;
    con_iter_init(c, &sm_it, rm->data, rm->len, 2);
    ptel__field sm;
    int rc;
    while ((rc = con_iter_next(c, &sm_it, &sm)) > 0) {
        ptel__field sf[sizeof con_wt_three_len];
        rc = CON_SCAN(c, sm.data, sm.len, con_wt_three_len, sf);
        if (rc) return rc;
        con_bytes name, version;
        rc = con_scope(c, &sf[1], &name, &version);
        if (rc) return rc;
        if (!t->measure && (name.n || version.n)) {
            con_puts(&c->out, " ");
            con_put_scope(c, &c->out, name, version);
            con_putc(&c->out, '\n');
        }
        con_iter m_it;
        con_iter_init(c, &m_it, sm.data, sm.len, 2);
        ptel__field m;
        while ((rc = con_iter_next(c, &m_it, &m)) > 0) {
            rc = con_metric(c, t, &m);
            if (rc) return rc;
        }
        if (rc) return rc;
    }
    return rc;
}

static int con_metrics_table(con_ctx *c, const ptel__field *rm) {
    ptel__field rf[sizeof con_wt_three_len];
    int rc = CON_SCAN(c, rm->data, rm->len, con_wt_three_len, rf);
    if (rc) return rc;
    con_table t;
    memset(&t, 0, sizeof t);
    t.measure = true;
    for (int col = 0; col < CON_COLUMNS; col++) t.width[col] = strlen(con_headers[col]);
    rc = con_table_walk(c, &t, rm);
    if (rc || !t.rows) return rc;
    con_out m; /* check the resource before printing */
    con_out_init(&m, NULL, 0);
    rc = con_resource_attrs(c, &m, con_field_bytes(&rf[1]));
    if (rc) return rc;
    for (int col = 0; col < CON_COLUMNS; col++)
        if (t.width[col] > PTEL_CONSOLE_MAX_COLUMN) t.width[col] = PTEL_CONSOLE_MAX_COLUMN;

    con_out *o = &c->out;
    con_section(c);
    con_puts(o, "metrics");
    rc = con_resource_attrs(c, o, con_field_bytes(&rf[1]));
    if (rc) return rc;
    con_putc(o, '\n');
    con_puts(o, "  ");
    for (int col = 0; col < CON_COLUMNS; col++) {
        con_puts(o, con_headers[col]);
        if (col < CON_COLUMNS - 1) con_spaces(o, t.width[col] - strlen(con_headers[col]) + 2);
    }
    con_putc(o, '\n');
    t.measure = false;
    return con_table_walk(c, &t, rm);
}

static int con_metrics(con_ctx *c, const uint8_t *data, size_t len) {
    if (!len) return 0;
    ptel__field top[sizeof con_wt_one_len];
    int rc = CON_SCAN(c, data, len, con_wt_one_len, top);
    if (rc) return rc;
    con_iter it;
    con_iter_init(c, &it, data, len, 1);
    ptel__field rm;
    while ((rc = con_iter_next(c, &it, &rm)) > 0) {
        rc = con_metrics_table(c, &rm);
        if (rc) return rc;
    }
    return rc;
}

/* ---- public API ------------------------------------------------------------ */

int ptel_console_render(char *buf, size_t cap, size_t *out_len, const uint8_t *traces,
                        size_t traces_len, const uint8_t *metrics, size_t metrics_len,
                        uint32_t flags, const ptel_allocator *alloc, ptel_diag *diag) {
    static const uint8_t con_nothing[1] = {0};
    if (out_len) *out_len = 0;
    if (flags & ~(uint32_t)PTEL_CONSOLE_FLAGS_ALL)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "unknown console flag");
    if ((!traces && traces_len) || (!metrics && metrics_len))
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "input is NULL");
    if (!traces) traces = con_nothing;
    if (!metrics) metrics = con_nothing;
    con_ctx c;
    memset(&c, 0, sizeof c);
    con_out_init(&c.out, buf, cap);
    c.flags = flags;
    c.g = (flags & PTEL_CONSOLE_ASCII) ? &con_glyphs_ascii : &con_glyphs_utf8;
    c.diag = diag;
    c.base = traces;
    int rc = con_traces(&c, alloc, traces, traces_len);
    if (rc) return rc;
    c.base = metrics;
    rc = con_metrics(&c, metrics, metrics_len);
    if (rc) {
        if (diag) diag->offset += traces_len; /* offsets into the concatenation */
        return rc;
    }
    if (c.out.overflow)
        return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "console output larger than SIZE_MAX");
    if (out_len) *out_len = c.out.len;
    if (c.out.len > c.out.cap)
        return ptel__fail(diag, PTEL_E_BUFFER_TOO_SMALL, 0, 0, "output buffer too small");
    return 0;
}

int ptel_console_render_alloc(char **out, size_t *out_len, const uint8_t *traces, size_t traces_len,
                              const uint8_t *metrics, size_t metrics_len, uint32_t flags,
                              const ptel_allocator *alloc, ptel_diag *diag) {
    if (!out || !out_len)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "out and out_len are required");
    *out = NULL;
    *out_len = 0;
    size_t need = 0;
    int rc = ptel_console_render(NULL, 0, &need, traces, traces_len, metrics, metrics_len, flags,
                                 alloc, diag);
    if (rc && rc != PTEL_E_BUFFER_TOO_SMALL) return rc;
    if (need == SIZE_MAX) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "console output too large");
    ptel_allocator a = ptel__allocator(alloc);
    char *p = ptel__alloc(&a, need + 1);
    if (!p) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "out of memory");
    size_t got = 0;
    rc = ptel_console_render(p, need, &got, traces, traces_len, metrics, metrics_len, flags, alloc,
                             diag);
    if (rc || got != need) { /* unreachable unless scratch memory runs out: rendering is
                                deterministic */
        ptel__free(&a, p, need + 1);
        return rc ? rc : ptel__fail(diag, PTEL_E_STATE, 0, 0, "console output size changed");
    }
    p[need] = '\0';
    *out = p;
    *out_len = need;
    return 0;
}

void ptel_console_free(char *text, size_t len, const ptel_allocator *alloc) {
    if (!text) return;
    ptel_allocator a = ptel__allocator(alloc);
    ptel__free(&a, text, len + 1);
}
