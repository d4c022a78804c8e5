/* Allocator plumbing, arenas and growable buffers. */
#include "internal.h"

#include <stdlib.h>

static void *libc_realloc(void *ud, void *p, size_t old, size_t n) {
    (void)ud;
    (void)old;
    if (n == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, n);
}

ptel_allocator ptel__allocator(const ptel_allocator *a) {
    if (a && a->realloc) return *a;
    ptel_allocator d = {libc_realloc, NULL};
    return d;
}

void *ptel__alloc(const ptel_allocator *a, size_t n) { return a->realloc(a->ud, NULL, 0, n); }

void *ptel__realloc(const ptel_allocator *a, void *p, size_t old, size_t n) {
    return a->realloc(a->ud, p, old, n);
}

void ptel__free(const ptel_allocator *a, void *p, size_t n) {
    if (p) a->realloc(a->ud, p, n, 0);
}

/* ---- arena -------------------------------------------------------------- */

struct ptel__chunk {
    ptel__chunk *next;
    size_t size; /* usable bytes after the header */
};

#define PTEL__CHUNK_HDR ((sizeof(ptel__chunk) + 15) & ~(size_t)15)
#define PTEL__ARENA_FIRST 4096

void ptel__arena_init(ptel__arena *a, ptel_allocator alloc) {
    memset(a, 0, sizeof *a);
    a->alloc = alloc;
    a->chunk_size = PTEL__ARENA_FIRST;
}

static uint8_t *chunk_mem(ptel__chunk *c) { return (uint8_t *)c + PTEL__CHUNK_HDR; }

void *ptel__arena_alloc(ptel__arena *a, size_t n) {
    n = (n + 7) & ~(size_t)7;
    if (n == 0) n = 8;
    for (;;) {
        if (a->head && a->head->size - a->used >= n) {
            void *p = chunk_mem(a->head) + a->used;
            a->used += n;
            return p;
        }
        /* Reuse the next chunk kept by a reset when it is large enough. */
        if (a->head && a->head->next) {
            a->head = a->head->next;
            a->used = 0;
            continue;
        }
        size_t size = a->chunk_size;
        while (size < n) size *= 2;
        ptel__chunk *c = ptel__alloc(&a->alloc, PTEL__CHUNK_HDR + size);
        if (!c) return NULL;
        c->next = NULL;
        c->size = size;
        if (a->head)
            a->head->next = c;
        else
            a->first = c;
        a->head = c;
        a->used = 0;
        if (a->chunk_size < (1u << 20)) a->chunk_size *= 2;
    }
}

void *ptel__arena_dup(ptel__arena *a, const void *p, size_t n) {
    void *q = ptel__arena_alloc(a, n);
    if (q && n) memcpy(q, p, n);
    return q;
}

void *ptel__arena_grow(ptel__arena *a, void *p, size_t elem, size_t old_cap, size_t new_cap) {
    if (new_cap > SIZE_MAX / elem) return NULL;
    void *q = ptel__arena_alloc(a, elem * new_cap);
    if (q && old_cap) memcpy(q, p, elem * old_cap);
    return q;
}

void ptel__arena_reset(ptel__arena *a) {
    a->head = a->first;
    a->used = 0;
}

void ptel__arena_free(ptel__arena *a) {
    ptel__chunk *c = a->first;
    while (c) {
        ptel__chunk *next = c->next;
        ptel__free(&a->alloc, c, PTEL__CHUNK_HDR + c->size);
        c = next;
    }
    a->first = a->head = NULL;
    a->used = 0;
}

/* ---- growable buffer ---------------------------------------------------- */

void ptel__buf_init(ptel__buf *b, ptel_allocator alloc) {
    memset(b, 0, sizeof *b);
    b->alloc = alloc;
}

int ptel__buf_reserve_slow(ptel__buf *b, size_t extra) {
    if (extra > SIZE_MAX - b->len) return PTEL_E_NOMEM;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = ptel__realloc(&b->alloc, b->data, b->cap, cap);
    if (!p) return PTEL_E_NOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int ptel__buf_append(ptel__buf *b, const void *p, size_t n) {
    int rc = ptel__buf_reserve(b, n);
    if (rc) return rc;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void ptel__buf_free(ptel__buf *b) {
    ptel__free(&b->alloc, b->data, b->cap);
    b->data = NULL;
    b->len = b->cap = 0;
}
