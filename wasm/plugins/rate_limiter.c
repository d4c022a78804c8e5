/* Example WASM plugin: a rate limiter. The input is a client key; each key
 * has a token bucket (capacity 3, one token back per second of recorder
 * time) kept in the instance between invocations. The output is "allow" or
 * "deny". Records a span with the decision and the remaining tokens, a
 * counter of decisions and a gauge of the bucket's level. */
#include "ptel_guest.h"

#include <string.h>

enum { RL_BUCKETS = 64, RL_KEY_MAX = 64, RL_CAPACITY = 3 };
#define RL_REFILL_NS 1000000000ull

typedef struct rl_bucket {
    char key[RL_KEY_MAX];
    size_t key_len;
    uint32_t tokens;
    uint64_t last_ns;
} rl_bucket;

/* Instance state: WASM instances are single-threaded. */
static rl_bucket rl_buckets[RL_BUCKETS];
static size_t rl_count;

static rl_bucket *rl_find(const char *key, size_t len, uint64_t now) {
    for (size_t i = 0; i < rl_count; i++)
        if (rl_buckets[i].key_len == len && !memcmp(rl_buckets[i].key, key, len))
            return &rl_buckets[i];
    rl_bucket *b = &rl_buckets[rl_count < RL_BUCKETS ? rl_count++ : RL_BUCKETS - 1];
    memcpy(b->key, key, len);
    b->key_len = len;
    b->tokens = RL_CAPACITY;
    b->last_ns = now;
    return b;
}

static ptel_attr rl_attr(const char *key, uint32_t type) {
    ptel_attr a;
    memset(&a, 0, sizeof a);
    a.key.ptr = key;
    a.key.len = strlen(key);
    a.value.type = type;
    return a;
}

static ptel_metric *rl_metric(ptel_recorder *rec, uint32_t kind, const char *name, const char *unit,
                              const char *description) {
    ptel_metric_options o;
    ptel_metric_options_init(&o);
    o.kind = kind;
    o.number_type = PTEL_NUMBER_INT;
    o.name.ptr = name;
    o.name.len = strlen(name);
    o.unit.ptr = unit;
    o.unit.len = strlen(unit);
    o.description.ptr = description;
    o.description.len = strlen(description);
    ptel_metric *m = NULL;
    ptel_metric_get(&m, rec, &o);
    return m;
}

int ptel_plugin_main(ptel_guest *guest, const ptel_context *ctx, const uint8_t *input, size_t n,
                     ptel_recorder *rec) {
    (void)ctx;
    size_t len = n < RL_KEY_MAX ? n : RL_KEY_MAX;
    const char *key = (const char *)input;
    ptel_span *span;
    ptel_span_start(&span, rec, NULL, "rate_limiter.check", 18, PTEL_SPAN_KIND_INTERNAL, 0);
    uint64_t now = ptel_recorder_now(rec);
    rl_bucket *b = rl_find(key, len, now);
    if (now > b->last_ns) {
        uint64_t refill = (now - b->last_ns) / RL_REFILL_NS;
        if (refill) {
            b->tokens =
                (uint32_t)(b->tokens + refill > RL_CAPACITY ? RL_CAPACITY : b->tokens + refill);
            b->last_ns += refill * RL_REFILL_NS;
        }
    }
    bool allowed = b->tokens > 0;
    if (allowed) b->tokens--;

    const char *decision = allowed ? "allow" : "deny";
    ptel_attr attrs[4] = {rl_attr("ratelimit.key", PTEL_VALUE_STRING),
                          rl_attr("ratelimit.decision", PTEL_VALUE_STRING),
                          rl_attr("ratelimit.remaining", PTEL_VALUE_INT),
                          rl_attr("ratelimit.limit", PTEL_VALUE_INT)};
    attrs[0].value.str.ptr = key;
    attrs[0].value.str.len = len;
    attrs[1].value.str.ptr = decision;
    attrs[1].value.str.len = strlen(decision);
    attrs[2].value.i = b->tokens;
    attrs[3].value.i = RL_CAPACITY;
    ptel_span_set_attributes(span, attrs, 4);
    if (!allowed) ptel_span_add_event(span, "ratelimit.exceeded", 18, 0, NULL, 0);

    ptel_metric *decisions = rl_metric(rec, PTEL_METRIC_COUNTER, "ratelimit.decisions",
                                       "{decision}", "Rate limit decisions");
    ptel_metric_record_int(decisions, 1, &attrs[1], 1, span);
    ptel_metric *tokens = rl_metric(rec, PTEL_METRIC_GAUGE, "ratelimit.tokens", "{token}",
                                    "Tokens left in the client's bucket");
    ptel_metric_record_int(tokens, b->tokens, NULL, 0, span);
    ptel_span_end(span, 0);
    return ptel_guest_set_output(guest, (const uint8_t *)decision, strlen(decision)) ? 1 : 0;
}
