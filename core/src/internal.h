/* Internal helpers shared by the core's modules: allocation, arenas, growable
 * buffers, protobuf wire primitives, UTF-8. Never installed. */
#ifndef PTEL_INTERNAL_H
#define PTEL_INTERNAL_H

#include "ptel/ptel.h"

#include <string.h>

#if defined(__GNUC__)
#    define PTEL__LIKELY(x) __builtin_expect(!!(x), 1)
#    define PTEL__UNLIKELY(x) __builtin_expect(!!(x), 0)
#    define PTEL__INTERNAL __attribute__((visibility("hidden")))
#else
#    define PTEL__LIKELY(x) (x)
#    define PTEL__UNLIKELY(x) (x)
#    define PTEL__INTERNAL
#endif

/* Diagnostics: record status/offset/field/reason when the caller asked. */
PTEL__INTERNAL int ptel__fail(ptel_diag *diag, int status, uint64_t offset, uint32_t field,
                              const char *reason);

/* ---- allocation -------------------------------------------------------- */

/* The allocator in use: the caller's, or libc realloc/free when NULL. */
PTEL__INTERNAL ptel_allocator ptel__allocator(const ptel_allocator *a);
PTEL__INTERNAL void *ptel__alloc(const ptel_allocator *a, size_t n);
PTEL__INTERNAL void *ptel__realloc(const ptel_allocator *a, void *p, size_t old, size_t n);
PTEL__INTERNAL void ptel__free(const ptel_allocator *a, void *p, size_t n);

/* An arena: bump allocation from chunks; reset keeps the chunks, so a warm
 * arena serves the next invocation without touching the allocator. */
typedef struct ptel__chunk ptel__chunk;
typedef struct ptel__arena {
    ptel_allocator alloc;
    ptel__chunk *head;  /* chunk being filled */
    ptel__chunk *first; /* all chunks, in order, for reset */
    size_t used;        /* bytes used in head */
    size_t chunk_size;  /* size of the next chunk to allocate */
} ptel__arena;

PTEL__INTERNAL void ptel__arena_init(ptel__arena *a, ptel_allocator alloc);
PTEL__INTERNAL void *ptel__arena_alloc(ptel__arena *a, size_t n); /* 8-byte aligned, NULL on OOM */
PTEL__INTERNAL void *ptel__arena_dup(ptel__arena *a, const void *p, size_t n);
/* Grow an arena array from `old_cap` to `new_cap` elements, copying. */
PTEL__INTERNAL void *ptel__arena_grow(ptel__arena *a, void *p, size_t elem, size_t old_cap,
                                      size_t new_cap);
PTEL__INTERNAL void ptel__arena_reset(ptel__arena *a);
PTEL__INTERNAL void ptel__arena_free(ptel__arena *a);

/* A growable byte buffer backed by the allocator (not the arena) so that its
 * capacity survives resets. */
typedef struct ptel__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    ptel_allocator alloc;
} ptel__buf;

PTEL__INTERNAL void ptel__buf_init(ptel__buf *b, ptel_allocator alloc);
PTEL__INTERNAL int ptel__buf_reserve_slow(ptel__buf *b, size_t extra);
static inline int ptel__buf_reserve(ptel__buf *b, size_t extra) {
    return PTEL__LIKELY(b->cap - b->len >= extra) ? 0 : ptel__buf_reserve_slow(b, extra);
}
PTEL__INTERNAL int ptel__buf_append(ptel__buf *b, const void *p, size_t n);
PTEL__INTERNAL void ptel__buf_free(ptel__buf *b);

/* ---- protobuf wire ------------------------------------------------------ */

enum { PTEL__WT_VARINT = 0, PTEL__WT_I64 = 1, PTEL__WT_LEN = 2, PTEL__WT_I32 = 5 };

static inline size_t ptel__varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint8_t *ptel__put_varint(uint8_t *p, uint64_t v) {
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Little-endian on every CPU (s390x is big-endian): a plain copy where the
 * CPU is little-endian, byte stores elsewhere. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#    define PTEL__LITTLE_ENDIAN 1
#else
#    define PTEL__LITTLE_ENDIAN 0
#endif

static inline uint8_t *ptel__put_fixed64(uint8_t *p, uint64_t v) {
    if (PTEL__LITTLE_ENDIAN)
        memcpy(p, &v, 8);
    else
        for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

static inline uint8_t *ptel__put_fixed32(uint8_t *p, uint32_t v) {
    if (PTEL__LITTLE_ENDIAN)
        memcpy(p, &v, 4);
    else
        for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

static inline uint64_t ptel__double_bits(double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static inline double ptel__bits_double(uint64_t u) {
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static inline uint64_t ptel__get_fixed64(const uint8_t *p) {
    if (PTEL__LITTLE_ENDIAN) {
        uint64_t w;
        memcpy(&w, p, 8);
        return w;
    }
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static inline uint32_t ptel__get_fixed32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Size of a LEN field (tag + length prefix + payload) whose tag fits in one byte. */
static inline size_t ptel__len_field_size(size_t payload) {
    return 1 + ptel__varint_size(payload) + payload;
}

static inline uint8_t *ptel__put_len_field(uint8_t *p, uint8_t tag, const void *data, size_t n) {
    *p++ = tag;
    p = ptel__put_varint(p, n);
    if (n) memcpy(p, data, n);
    return p + n;
}

/* One decoded field. For LEN fields `data`/`len` is the payload; for scalar
 * wire types `value` holds the raw varint or little-endian fixed value. */
typedef struct ptel__field {
    uint32_t number;
    uint32_t wire_type;
    uint64_t value;
    const uint8_t *data;
    size_t len;
    const uint8_t *start; /* first byte of the tag */
} ptel__field;

typedef struct ptel__reader {
    const uint8_t *base; /* start of the whole input, for offsets */
    const uint8_t *p;
    const uint8_t *end;
} ptel__reader;

static inline void ptel__reader_init(ptel__reader *r, const uint8_t *base, const uint8_t *p,
                                     size_t n) {
    r->base = base;
    r->p = p;
    r->end = p + n;
}

/* Read a varint (at most 10 bytes, the 10th holding one bit). Returns 0,
 * PTEL_E_TRUNCATED or PTEL_E_MALFORMED. */
PTEL__INTERNAL int ptel__read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* Read the next field. Returns 1 when a field was read, 0 at the end of the
 * input, or a negative status (diag filled with the offset). Groups, field
 * number 0 and reserved wire types are malformed. */
PTEL__INTERNAL int ptel__reader_next(ptel__reader *r, ptel__field *f, ptel_diag *diag);

/* ---- text ------------------------------------------------------------- */

/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF). */
PTEL__INTERNAL bool ptel__utf8_valid(const char *s, size_t n);

/* Number of code points in well-formed UTF-8, and the byte length of the
 * longest prefix holding at most `max_chars` code points. */
PTEL__INTERNAL size_t ptel__utf8_prefix(const char *s, size_t n, size_t max_chars);

PTEL__INTERNAL bool ptel__is_zero(const uint8_t *p, size_t n);

/* Lowercase hex of n bytes into out[2n] (no NUL). */
PTEL__INTERNAL void ptel__hex_encode(char *out, const uint8_t *p, size_t n);
/* Strict lowercase hex decode of 2n chars; false on any other character. */
PTEL__INTERNAL bool ptel__hex_decode_lower(uint8_t *out, const char *s, size_t n);

/* ---- time and ids ------------------------------------------------------ */

PTEL__INTERNAL uint64_t ptel__clock_monotonic(const ptel_clock *c);
PTEL__INTERNAL uint64_t ptel__clock_realtime(const ptel_clock *c);

/* xoshiro256** state; seeded from the OS once per object. */
typedef struct ptel__rng {
    uint64_t s[4];
} ptel__rng;

PTEL__INTERNAL void ptel__rng_seed_os(ptel__rng *r);
PTEL__INTERNAL uint64_t ptel__rng_next(ptel__rng *r);

/* Fill a non-zero id of n (8 or 16) bytes from the generator or the rng. */
PTEL__INTERNAL void ptel__new_id(const ptel_id_generator *g, ptel__rng *r, uint8_t *out, size_t n);

#endif
