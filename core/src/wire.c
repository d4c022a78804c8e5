/* Protobuf wire reading: varints and fields, total on any input. */
#include "internal.h"

int ptel__read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (p == end) return PTEL_E_TRUNCATED;
        uint8_t b = *p++;
        if (i == 9 && b > 1) return PTEL_E_MALFORMED; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (b < 0x80) {
            *out = v;
            *pp = p;
            return 0;
        }
    }
    return PTEL_E_MALFORMED;
}

int ptel__reader_next(ptel__reader *r, ptel__field *f, ptel_diag *diag) {
    if (r->p == r->end) return 0;
    const uint8_t *start = r->p;
    uint64_t off = (uint64_t)(start - r->base);
    uint64_t tag;
    int rc = ptel__read_varint(&r->p, r->end, &tag);
    if (rc) return ptel__fail(diag, rc, off, 0, "bad field tag");
    uint64_t number = tag >> 3;
    if (number == 0 || number > 536870911u)
        return ptel__fail(diag, PTEL_E_MALFORMED, off, 0, "field number out of range");
    f->number = (uint32_t)number;
    f->wire_type = (uint32_t)(tag & 7);
    f->start = start;
    f->data = NULL;
    f->len = 0;
    f->value = 0;
    size_t left;
    switch (f->wire_type) {
    case PTEL__WT_VARINT:
        rc = ptel__read_varint(&r->p, r->end, &f->value);
        if (rc) return ptel__fail(diag, rc, off, f->number, "bad varint");
        return 1;
    case PTEL__WT_I64:
        if ((size_t)(r->end - r->p) < 8)
            return ptel__fail(diag, PTEL_E_TRUNCATED, off, f->number, "fixed64 past end");
        f->value = ptel__get_fixed64(r->p);
        r->p += 8;
        return 1;
    case PTEL__WT_I32:
        if ((size_t)(r->end - r->p) < 4)
            return ptel__fail(diag, PTEL_E_TRUNCATED, off, f->number, "fixed32 past end");
        f->value = ptel__get_fixed32(r->p);
        r->p += 4;
        return 1;
    case PTEL__WT_LEN: {
        uint64_t n;
        rc = ptel__read_varint(&r->p, r->end, &n);
        if (rc) return ptel__fail(diag, rc, off, f->number, "bad length");
        left = (size_t)(r->end - r->p);
        if (n > left) return ptel__fail(diag, PTEL_E_TRUNCATED, off, f->number, "length past end");
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        return 1;
    }
    default:
        return ptel__fail(diag, PTEL_E_MALFORMED, off, f->number, "unsupported wire type");
    }
}
