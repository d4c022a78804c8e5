/* C oracle: protobuf-c code generated at build time from the official OTLP
 * descriptors (taken from the opentelemetry-proto Python package, see
 * pbc_build.sh). Reads lines "<kind> <hex>" (kind: span, metric, traces,
 * metrics) and answers one line each: "ok", or "FAIL <why>". A message passes
 * when protobuf-c unpacks it, no unknown field remains at any depth, and
 * protobuf-c packs it back to the very same bytes (ptel's canonical profile
 * is the field order and presence protobuf-c writes). */
#include <opentelemetry/proto/collector/metrics/v1/metrics_service.pb-c.h>
#include <opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t po_unknown(const ProtobufCMessage *m) {
    size_t n = m->n_unknown_fields;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned k = 0; k < d->n_fields; k++) {
        const ProtobufCFieldDescriptor *f = &d->fields[k];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        const char *base = (const char *)m;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *arr = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t i = 0; i < count; i++) n += po_unknown(arr[i]);
        } else {
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
                if (which != f->id) continue;
            }
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)(base + f->offset);
            if (sub) n += po_unknown(sub);
        }
    }
    return n;
}

static int po_hex(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int main(void) {
    static char line[1 << 24];
    static uint8_t data[1 << 23];
    while (fgets(line, sizeof line, stdin)) {
        char *sp = strchr(line, ' ');
        if (!sp) {
            puts("FAIL bad input line");
            continue;
        }
        *sp = 0;
        const ProtobufCMessageDescriptor *d = NULL;
        if (strcmp(line, "span") == 0)
            d = &opentelemetry__proto__trace__v1__span__descriptor;
        else if (strcmp(line, "metric") == 0)
            d = &opentelemetry__proto__metrics__v1__metric__descriptor;
        else if (strcmp(line, "traces") == 0)
            d = &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;
        else if (strcmp(line, "metrics") == 0)
            d = &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
        size_t n = 0;
        const char *h = sp + 1;
        int bad = 0;
        while (po_hex(h[0]) >= 0 && po_hex(h[1]) >= 0 && n < sizeof data) {
            data[n++] = (uint8_t)(po_hex(h[0]) << 4 | po_hex(h[1]));
            h += 2;
        }
        if (*h != '\n' && *h != 0) bad = 1;
        if (!d || bad) {
            puts("FAIL bad kind or hex");
            continue;
        }
        ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, data);
        if (!m) {
            puts("FAIL protobuf-c cannot unpack it");
            continue;
        }
        size_t unknown = po_unknown(m);
        size_t size = protobuf_c_message_get_packed_size(m);
        uint8_t *out = malloc(size ? size : 1);
        protobuf_c_message_pack(m, out);
        if (unknown) {
            printf("FAIL %zu unknown fields\n", unknown);
        } else if (size != n || memcmp(out, data, n) != 0) {
            size_t at = 0;
            while (at < n && at < size && out[at] == data[at]) at++;
            printf("FAIL re-encoding differs at byte %zu (%zu vs %zu bytes)\n", at, size, n);
        } else {
            puts("ok");
        }
        free(out);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return 0;
}
