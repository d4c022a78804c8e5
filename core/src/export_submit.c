/* Submitting to an exporter, flush, shutdown, stats and the in-memory
 * accessors; and the stand-ins where the exporter is compiled out. */
#include "export_internal.h"
#include "host_internal.h"

#if PTEL__EXPORTER

#    include <unistd.h>

/* Lowest sequence number not yet finished (queued or in flight). */
static uint64_t export_pending_min(const ptel_exporter *exp) {
    uint64_t m = UINT64_MAX;
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++)
        if (exp->q[s].head && exp->q[s].head->seq < m) m = exp->q[s].head->seq;
    if (exp->inflight_min_seq && exp->inflight_min_seq < m) m = exp->inflight_min_seq;
    return m;
}

/* Check, count and put one request (exp->mu not held). */
static int export_submit(ptel_exporter *exp, uint32_t signal, const uint8_t *data, size_t len) {
    if (!exp || (len && !data)) return PTEL_E_INVALID_ARGUMENT;
    uint64_t items = 0;
    int st = ptel__export_count_items(signal, data, len, &items, NULL);
    if (st) return st;
    pthread_mutex_lock(&exp->mu);
    if (exp->shut)
        st = PTEL_E_STATE;
    else if (len && exp->kind != PTEL_EXPORTER_NONE)
        st = ptel__export_put(exp, signal, data, len, items);
    pthread_mutex_unlock(&exp->mu);
    return st;
}

int ptel_exporter_submit_traces(ptel_exporter *exp, const uint8_t *request, size_t len) {
    return export_submit(exp, PTEL_EXPORT_SIGNAL_TRACES, request, len);
}

int ptel_exporter_submit_metrics(ptel_exporter *exp, const uint8_t *request, size_t len) {
    return export_submit(exp, PTEL_EXPORT_SIGNAL_METRICS, request, len);
}

int ptel_exporter_submit_invocation(ptel_exporter *exp, const ptel_invocation *inv) {
    if (!exp || !inv) return PTEL_E_INVALID_ARGUMENT;
    if (!inv->ended || inv->idle) return PTEL_E_STATE;
    pthread_mutex_lock(&exp->mu);
    bool shut = exp->shut;
    pthread_mutex_unlock(&exp->mu);
    if (shut) return PTEL_E_STATE;
    if (exp->kind == PTEL_EXPORTER_NONE) return 0;
    size_t need = 0;
    int st = ptel_invocation_export_traces(inv, &exp->xopts, NULL, 0, &need);
    if (st && st != PTEL_E_BUFFER_TOO_SMALL) return st;
    uint8_t *buf = need ? ptel__alloc(&exp->alloc, need) : NULL;
    if (need && !buf) return PTEL_E_NOMEM;
    size_t len = 0;
    st = need ? ptel_invocation_export_traces(inv, &exp->xopts, buf, need, &len) : 0;
    uint64_t items = 0;
    if (!st) st = ptel__export_count_items(PTEL_EXPORT_SIGNAL_TRACES, buf, len, &items, NULL);
    int agg = ptel_aggregator_add(exp->agg, inv);
    pthread_mutex_lock(&exp->mu);
    if (exp->shut) {
        st = PTEL_E_STATE;
    } else {
        exp->stats.invocations++;
        ptel__export_self_count(exp, inv->plugin_name, &inv->report);
        if (!st && len) st = ptel__export_put(exp, PTEL_EXPORT_SIGNAL_TRACES, buf, len, items);
    }
    pthread_mutex_unlock(&exp->mu);
    ptel__free(&exp->alloc, buf, need);
    return st ? st : agg;
}

/* Metric cycle, then wait for everything up to now (no shutdown check). */
static int export_flush(ptel_exporter *exp, uint32_t deadline_ms) {
    uint64_t deadline = ptel__export_now() + (uint64_t)deadline_ms * 1000000u;
    int st = ptel__export_metric_cycle(exp);
    if (exp->kind != PTEL_EXPORTER_OTLP_HTTP) return st;
    pthread_mutex_lock(&exp->mu);
    uint64_t target = exp->seq;
    if (exp->urgent_seq < target) exp->urgent_seq = target;
    pthread_cond_broadcast(&exp->wake);
    while (export_pending_min(exp) <= target) {
        if (ptel__export_now() >= deadline) {
            st = PTEL_E_TIMEOUT;
            break;
        }
        ptel__export_wait(exp, &exp->done, deadline);
    }
    pthread_mutex_unlock(&exp->mu);
    return st;
}

int ptel_exporter_flush(ptel_exporter *exp, uint32_t deadline_ms) {
    if (!exp) return PTEL_E_INVALID_ARGUMENT;
    pthread_mutex_lock(&exp->mu);
    bool shut = exp->shut;
    pthread_mutex_unlock(&exp->mu);
    return shut ? PTEL_E_STATE : export_flush(exp, deadline_ms);
}

int ptel_exporter_shutdown(ptel_exporter *exp, uint32_t deadline_ms) {
    if (!exp) return PTEL_E_INVALID_ARGUMENT;
    uint64_t deadline = ptel__export_now() + (uint64_t)deadline_ms * 1000000u;
    pthread_mutex_lock(&exp->mu);
    bool shut = exp->shut;
    exp->shut = true; /* from here on, submits are refused */
    pthread_mutex_unlock(&exp->mu);
    if (shut) return PTEL_E_STATE;
    /* The last metric cycle (it puts its request whether or not shut). */
    int st = ptel__export_metric_cycle(exp);
    pthread_mutex_lock(&exp->mu);
    exp->shut = true;
    uint64_t before = 0;
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++)
        before += exp->stats.signals[s].items_dropped[PTEL_EXPORT_DROP_SHUTDOWN];
    exp->stopping = true;
    exp->stop_deadline_ns = deadline;
    exp->urgent_seq = exp->seq;
    pthread_cond_broadcast(&exp->wake);
    pthread_mutex_unlock(&exp->mu);
    if (exp->thread_started) {
        pthread_join(exp->thread, NULL);
        exp->thread_started = false;
    }
    pthread_mutex_lock(&exp->mu);
    uint64_t after = 0;
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++)
        after += exp->stats.signals[s].items_dropped[PTEL_EXPORT_DROP_SHUTDOWN];
    if (exp->own_fd) {
        close(exp->fd);
        exp->own_fd = false;
    }
    pthread_mutex_unlock(&exp->mu);
    if (after != before) return PTEL_E_TIMEOUT;
    return st == PTEL_E_NOMEM ? st : 0;
}

void ptel_exporter_get_stats(ptel_exporter *exp, ptel_exporter_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!exp) return;
    pthread_mutex_lock(&exp->mu);
    *out = exp->stats;
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        ptel_exporter_signal_stats *ss = &out->signals[s];
        ss->queued_items = exp->q[s].items;
        ss->queued_bytes = exp->q[s].bytes;
        if (exp->inflight_min_seq && exp->inflight_signal == (uint32_t)s) {
            ss->queued_items += exp->inflight_items;
            ss->queued_bytes += exp->inflight_bytes;
        }
        out->queue_requests += exp->q[s].count;
        out->queue_bytes += exp->q[s].bytes;
    }
    pthread_mutex_unlock(&exp->mu);
}

size_t ptel_exporter_memory_count(ptel_exporter *exp, uint32_t signal) {
    if (!exp || signal >= PTEL_EXPORT_SIGNAL_COUNT) return 0;
    pthread_mutex_lock(&exp->mu);
    size_t n = exp->mem_len[signal];
    pthread_mutex_unlock(&exp->mu);
    return n;
}

int ptel_exporter_memory_get(ptel_exporter *exp, uint32_t signal, size_t index,
                             const uint8_t **data, size_t *len) {
    if (!exp || !data || !len || signal >= PTEL_EXPORT_SIGNAL_COUNT) return PTEL_E_INVALID_ARGUMENT;
    int st = PTEL_E_NOT_FOUND;
    pthread_mutex_lock(&exp->mu);
    if (index < exp->mem_len[signal]) {
        *data = exp->mem[signal][index]->data;
        *len = exp->mem[signal][index]->len;
        st = 0;
    }
    pthread_mutex_unlock(&exp->mu);
    return st;
}

void ptel_exporter_memory_clear(ptel_exporter *exp) {
    if (!exp) return;
    pthread_mutex_lock(&exp->mu);
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        for (size_t i = 0; i < exp->mem_len[s]; i++)
            ptel__free(&exp->alloc, exp->mem[s][i], sizeof *exp->mem[s][i] + exp->mem[s][i]->len);
        exp->mem_len[s] = 0;
    }
    pthread_mutex_unlock(&exp->mu);
}

#else /* no exporter on this platform: every call is total and says so */

int ptel_exporter_new(ptel_exporter **out, const ptel_exporter_options *opts, ptel_diag *diag) {
    (void)opts;
    if (out) *out = NULL;
    return ptel__fail(diag, PTEL_E_UNSUPPORTED, 0, 0, "no exporter in this build");
}
void ptel_exporter_free(ptel_exporter *exp) { (void)exp; }
int ptel_exporter_submit_invocation(ptel_exporter *exp, const ptel_invocation *inv) {
    (void)exp, (void)inv;
    return PTEL_E_UNSUPPORTED;
}
int ptel_exporter_submit_traces(ptel_exporter *exp, const uint8_t *request, size_t len) {
    (void)exp, (void)request, (void)len;
    return PTEL_E_UNSUPPORTED;
}
int ptel_exporter_submit_metrics(ptel_exporter *exp, const uint8_t *request, size_t len) {
    (void)exp, (void)request, (void)len;
    return PTEL_E_UNSUPPORTED;
}
int ptel_exporter_flush(ptel_exporter *exp, uint32_t deadline_ms) {
    (void)exp, (void)deadline_ms;
    return PTEL_E_UNSUPPORTED;
}
int ptel_exporter_shutdown(ptel_exporter *exp, uint32_t deadline_ms) {
    (void)exp, (void)deadline_ms;
    return PTEL_E_UNSUPPORTED;
}
void ptel_exporter_get_stats(ptel_exporter *exp, ptel_exporter_stats *out) {
    (void)exp;
    if (out) memset(out, 0, sizeof *out);
}
size_t ptel_exporter_memory_count(ptel_exporter *exp, uint32_t signal) {
    (void)exp, (void)signal;
    return 0;
}
int ptel_exporter_memory_get(ptel_exporter *exp, uint32_t signal, size_t index,
                             const uint8_t **data, size_t *len) {
    (void)exp, (void)signal, (void)index, (void)data, (void)len;
    return PTEL_E_UNSUPPORTED;
}
void ptel_exporter_memory_clear(ptel_exporter *exp) { (void)exp; }

#endif
