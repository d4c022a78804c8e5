/* System clocks, the default id generator and its OS seeding. */
#include "internal.h"

#include <time.h>
#if defined(__linux__) || defined(__wasi__) || defined(__APPLE__)
#    include <unistd.h>
#endif
#if defined(__linux__)
#    include <sys/random.h>
#endif

uint64_t ptel__clock_monotonic(const ptel_clock *c) {
    if (c && c->monotonic_ns) return c->monotonic_ns(c->ud);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ptel__clock_realtime(const ptel_clock *c) {
    if (c && c->realtime_ns) return c->realtime_ns(c->ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void ptel__rng_seed_os(ptel__rng *r) {
    uint64_t seed[4] = {0, 0, 0, 0};
    bool ok = false;
#if defined(__linux__)
    ok = getrandom(seed, sizeof seed, 0) == (ssize_t)sizeof seed;
#elif defined(__wasi__) || defined(__APPLE__)
    ok = getentropy(seed, sizeof seed) == 0;
#endif
    if (!ok) {
        /* No entropy source: mix clocks and an address so ids still differ. */
        uint64_t x = ptel__clock_realtime(NULL) ^ (ptel__clock_monotonic(NULL) << 17) ^
                     (uint64_t)(uintptr_t)r;
        for (int i = 0; i < 4; i++) seed[i] = splitmix64(&x);
    }
    uint64_t x = seed[0] ^ seed[1] ^ seed[2] ^ seed[3];
    for (int i = 0; i < 4; i++) r->s[i] = seed[i] ? seed[i] : splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ptel__rng_next(ptel__rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void ptel__new_id(const ptel_id_generator *g, ptel__rng *r, uint8_t *out, size_t n) {
    /* A caller's generator that keeps returning zeros must not hang us: after
     * a few tries fall back to the built-in generator. */
    for (int tries = 0; g && g->fill && tries < 4; tries++) {
        g->fill(g->ud, out, n);
        if (!ptel__is_zero(out, n)) return;
    }
    if (ptel__is_zero((const uint8_t *)r->s, sizeof r->s)) ptel__rng_seed_os(r); /* never seeded */
    do {
        for (size_t i = 0; i < n; i += 8) {
            uint64_t v = ptel__rng_next(r);
            memcpy(out + i, &v, n - i < 8 ? n - i : 8);
        }
    } while (ptel__is_zero(out, n));
}
