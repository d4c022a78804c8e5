/* The recorder's internal structures, shared by recorder*.c. */
#ifndef PTEL_RECORDER_INTERNAL_H
#define PTEL_RECORDER_INTERNAL_H

#include "internal.h"

/* A byte vector grown inside the recorder's arena. */
typedef struct rec_bytes {
    uint8_t *p;
    uint32_t len;
    uint32_t cap;
} rec_bytes;

/* Where each encoded attribute entry sits in its rec_bytes, for overwrites. */
typedef struct rec_attr_slot {
    uint32_t off;     /* offset of the entry's tag */
    uint32_t len;     /* whole entry: tag + length prefix + KeyValue */
    uint32_t key_off; /* offset of the key bytes */
    uint32_t key_len;
} rec_attr_slot;

/* A set of encoded attributes (KeyValue fields under one tag) with unique keys. */
typedef struct rec_attrs {
    rec_bytes bytes;
    rec_attr_slot *slots;
    uint32_t count;
    uint32_t cap;
    uint32_t dropped;
} rec_attrs;

enum { REC_SPAN_OPEN = 1, REC_SPAN_ENDED = 2, REC_SPAN_NONRECORDING = 3 };

struct ptel_span {
    ptel_recorder *rec;
    uint8_t span_id[8];
    uint8_t parent_id[8]; /* all zero: root span */
    uint8_t trace_flags;
    uint8_t state;
    bool parent_remote;
    uint32_t kind;
    uint32_t status_code;
    uint64_t start;
    uint64_t end;
    ptel_str name;
    ptel_str status_message;
    rec_attrs attrs;
    rec_bytes events; /* encoded Span.events fields */
    uint32_t event_count;
    uint32_t dropped_events;
    rec_bytes links; /* encoded Span.links fields */
    uint32_t link_count;
    uint32_t dropped_links;
};

/* One exemplar: the last measurement taken inside a sampled span. */
typedef struct rec_exemplar {
    bool set;
    bool is_int;
    uint64_t time;
    int64_t i;
    double d;
    uint8_t span_id[8];
    uint8_t trace_id[16];
} rec_exemplar;

/* One attribute set's aggregate within an instrument. */
typedef struct rec_point {
    const uint8_t *attrs; /* encoded KeyValue entries, sorted by key, with the point's tag */
    uint32_t attrs_len;
    uint32_t next; /* hash chain: index + 1, 0 = end */
    uint64_t hash;
    bool is_int;
    bool negative_seen; /* histogram: omit sum, as OpenTelemetry requires */
    int64_t i;
    double d;
    uint64_t count;
    double min;
    double max;
    uint64_t *buckets; /* histogram: bound_count + 1 */
    rec_exemplar exemplar;
} rec_point;

struct ptel_metric {
    ptel_recorder *rec;
    uint32_t kind;
    uint32_t number_type;
    ptel_str name;
    ptel_str unit;
    ptel_str description;
    const double *bounds;
    uint32_t bound_count;
    rec_point *points;
    uint32_t point_count;
    uint32_t point_cap;
    uint32_t *table; /* hash buckets: point index + 1, 0 = empty */
    uint32_t table_size;
    int32_t overflow; /* index of the overflow point, -1 when none */
};

struct ptel_recorder {
    ptel_allocator alloc;
    ptel_clock clock;
    ptel_id_generator ids;
    ptel__rng rng;
    bool strict;
    bool finished;
    bool recording;
    const ptel_context *ctx;
    ptel_context_fields cf; /* borrowed view of ctx */
    ptel_limits limits;     /* resolved */
    uint64_t features;
    uint64_t base_real;
    uint64_t base_mono;
    uint64_t start_time;
    ptel__arena arena;
    ptel__buf spans_out; /* the payload: version, ended spans, then the rest at finish */
    ptel_span **spans;   /* recording spans, for open-span reporting; NULL for a span
                            recorded and ended in one ptel_span_record call */
    uint32_t span_count;
    uint32_t span_cap;
    ptel_metric **metrics;
    uint32_t metric_count;
    uint32_t metric_cap;
    ptel_drop_counts drops;
    ptel_span nonrecording;
    /* Scratch for sorting and encoding attribute sets. */
    const ptel_attr **sort_scratch;
    uint32_t sort_cap;
    rec_attrs scratch;
};

/* Count a refused call or dropped datum; return 0 unless strict. */
PTEL__INTERNAL int ptel__rec_refuse(ptel_recorder *rec, uint32_t *counter, int status);

PTEL__INTERNAL int ptel__rec_bytes_reserve(ptel_recorder *rec, rec_bytes *b, size_t extra);

/* Add attributes to a set: overwrite existing keys in place, append new ones
 * until `max_count`, count the rest in set->dropped. `tag` is the field tag
 * each entry is written under. Returns 0, or PTEL_E_UTF8 / PTEL_E_INVALID_ARGUMENT
 * for entries that were skipped (already counted as dropped), or PTEL_E_NOMEM. */
PTEL__INTERNAL int ptel__rec_attrs_add(ptel_recorder *rec, rec_attrs *set, uint8_t tag,
                                       const ptel_attr *attrs, size_t count, uint32_t max_count);

PTEL__INTERNAL void ptel__rec_attrs_clear(rec_attrs *set);

/* Sizes of an attribute's KeyValue message and of its AnyValue, computed
 * once and handed to the writer. */
typedef struct rec_kv_sizes {
    size_t kv;
    size_t value;
} rec_kv_sizes;

PTEL__INTERNAL rec_kv_sizes ptel__rec_kv_sizes(const ptel_recorder *rec, const ptel_attr *a);
/* Write one attribute entry: `tag`, the KeyValue length, the KeyValue. */
PTEL__INTERNAL uint8_t *ptel__rec_attr_write(const ptel_recorder *rec, uint8_t *dst, uint8_t tag,
                                             const ptel_attr *a, rec_kv_sizes sizes);
/* Validate an attribute for recording: non-empty UTF-8 key, UTF-8 strings. */
PTEL__INTERNAL int ptel__rec_attr_check(const ptel_recorder *rec, const ptel_attr *a);

/* Metrics: size and write of every instrument as PluginTelemetry.metrics fields. */
PTEL__INTERNAL size_t ptel__rec_metrics_size(const ptel_recorder *rec, uint64_t now);
PTEL__INTERNAL uint8_t *ptel__rec_metrics_write(const ptel_recorder *rec, uint8_t *p, uint64_t now);

/* Span encoding: size of the Span message body and writing it. */
PTEL__INTERNAL size_t ptel__rec_span_size(const ptel_span *s, bool with_end);
PTEL__INTERNAL uint8_t *ptel__rec_span_write(const ptel_span *s, uint8_t *p, bool with_end);

#endif
