/* Status table, diagnostics, library version and limit defaults. */
#include "internal.h"

const char *ptel_strerror(int status) {
    switch (status) {
#define PTEL__STATUS_MSG(name, value, msg)                                                         \
    case value:                                                                                    \
        return msg;
        PTEL_STATUS_MAP(PTEL__STATUS_MSG)
#undef PTEL__STATUS_MSG
    }
    return "unknown status";
}

const char *ptel_status_name(int status) {
    switch (status) {
#define PTEL__STATUS_NAME(name, value, msg)                                                        \
    case value:                                                                                    \
        return #name;
        PTEL_STATUS_MAP(PTEL__STATUS_NAME)
#undef PTEL__STATUS_NAME
    }
    return "UNKNOWN";
}

const char *ptel_version(void) { return PTEL_VERSION_STRING; }

int ptel__fail(ptel_diag *diag, int status, uint64_t offset, uint32_t field, const char *reason) {
    if (diag) {
        diag->status = status;
        diag->offset = offset;
        diag->field = field;
        diag->reason = reason ? reason : ptel_strerror(status);
    }
    return status;
}

bool ptel_span_context_is_valid(const ptel_span_context *sc) {
    return sc && !ptel__is_zero(sc->trace_id, 16) && !ptel__is_zero(sc->span_id, 8);
}

void ptel_limits_init(ptel_limits *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    ptel_limits_resolve(out);
}

void ptel_limits_resolve(ptel_limits *l) {
    if (!l) return;
#define PTEL__DEFAULT(field, value)                                                                \
    if (l->field == 0) l->field = (value)
    PTEL__DEFAULT(attribute_count, 128);
    PTEL__DEFAULT(attribute_value_length, 4096);
    PTEL__DEFAULT(attribute_depth, 8);
    PTEL__DEFAULT(event_count, 128);
    PTEL__DEFAULT(link_count, 128);
    PTEL__DEFAULT(attributes_per_event, 128);
    PTEL__DEFAULT(attributes_per_link, 128);
    PTEL__DEFAULT(span_count, 1024);
    PTEL__DEFAULT(metric_count, 256);
    PTEL__DEFAULT(metric_cardinality, 2000);
    PTEL__DEFAULT(payload_bytes, 4u << 20);
#undef PTEL__DEFAULT
}
