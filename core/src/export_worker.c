/* The OTLP/HTTP exporter's background thread: batches queued requests per
 * signal, POSTs them, retries retryable failures with exponential backoff,
 * full jitter and Retry-After, and counts every outcome. */
#include "export_internal.h"

#if PTEL__EXPORTER

#    include <time.h>

static uint64_t export_ms(uint64_t ms) { return ms * 1000000u; }

/* True when the head of queue `s` should go now. */
static bool export_ready(const ptel_exporter *exp, int s, uint64_t now, uint64_t *when) {
    const ptel__export_queue *q = &exp->q[s];
    if (!q->head) return false;
    if (exp->stopping || q->head->seq <= exp->urgent_seq || q->bytes >= exp->max_batch_bytes)
        return true;
    uint64_t at = q->head->enqueued_ns + export_ms(exp->schedule_delay_ms);
    if (at <= now) return true;
    if (at < *when) *when = at;
    return false;
}

/* HTTP statuses worth retrying, per the OTLP/HTTP specification. */
static bool export_retryable(long status) {
    return status == 429 || status == 502 || status == 503 || status == 504;
}

/* The wait before attempt `attempt` + 1: full jitter over the exponential
 * bound, at least what Retry-After asked. */
static uint64_t export_backoff_ms(ptel_exporter *exp, uint32_t attempt, int64_t retry_after_ms) {
    uint64_t bound = exp->retry_initial_ms;
    for (uint32_t i = 0; i < attempt && bound < exp->retry_max_ms; i++) bound *= 2;
    if (bound > exp->retry_max_ms) bound = exp->retry_max_ms;
    uint64_t wait = ptel__rng_next(&exp->rng) % (bound + 1);
    if (retry_after_ms > 0 && (uint64_t)retry_after_ms > wait) wait = (uint64_t)retry_after_ms;
    return wait;
}

/* Abort a request in flight once shutdown's deadline has passed. */
static bool export_cancelled(void *ud) {
    ptel_exporter *exp = ud;
    pthread_mutex_lock(&exp->mu);
    bool cut = exp->stopping && ptel__export_now() >= exp->stop_deadline_ns;
    pthread_mutex_unlock(&exp->mu);
    return cut;
}

/* Send one batch (exp->mu not held) and count its outcome (under mu). */
static void export_send(ptel_exporter *exp, uint32_t s, uint64_t items) {
    ptel_exporter_signal_stats *ss = &exp->stats.signals[s];
    const uint8_t *body = exp->batch.data;
    size_t len = exp->batch.len;
    int st = 0;
    if (exp->gzip) {
        st = ptel__gzip(&exp->gz, body, len);
        body = exp->gz.data;
        len = exp->gz.len;
    }
    uint64_t first = ptel__export_now();
    ptel__http_result res;
    memset(&res, 0, sizeof res);
    ptel__buf_init(&res.body, exp->alloc);
    uint32_t cause = PTEL_EXPORT_DROP_ERROR;
    for (uint32_t attempt = 0; !st; attempt++) {
        uint64_t now = ptel__export_now();
        uint32_t timeout = exp->timeout_ms;
        pthread_mutex_lock(&exp->mu);
        if (exp->stopping) {
            uint64_t left = exp->stop_deadline_ns > now ? exp->stop_deadline_ns - now : 0;
            if (left < export_ms(timeout)) timeout = (uint32_t)(left / 1000000u);
        }
        if (attempt) ss->retries++;
        pthread_mutex_unlock(&exp->mu);
        if (timeout == 0) {
            cause = PTEL_EXPORT_DROP_SHUTDOWN;
            break;
        }
        int rc = ptel__curl_post(exp->curl, &exp->curl_handle, exp->url[s], exp->headers[s], body,
                                 len, timeout, export_cancelled, exp, &res);
        if (rc == PTEL_E_IO && export_cancelled(exp)) {
            cause = PTEL_EXPORT_DROP_SHUTDOWN;
            break;
        }
        if (rc == PTEL_E_NOMEM) break;
        pthread_mutex_lock(&exp->mu);
        exp->stats.last_http_status = (uint64_t)res.status;
        pthread_mutex_unlock(&exp->mu);
        if (rc == 0 && res.status >= 200 && res.status < 300) {
            uint64_t rejected = 0;
            ptel__export_parse_response(res.body.data, res.body.len, &rejected);
            if (rejected > items) rejected = items;
            pthread_mutex_lock(&exp->mu);
            ss->items_sent += items - rejected;
            ptel__export_drop(exp, s, PTEL_EXPORT_DROP_PARTIAL, rejected);
            ss->exports_ok++;
            pthread_mutex_unlock(&exp->mu);
            ptel__buf_free(&res.body);
            return;
        }
        if (rc == 0 && !export_retryable(res.status)) {
            cause = PTEL_EXPORT_DROP_REJECTED;
            break;
        }
        /* Retryable: a transport error (refused, reset, timed out) or 429/502/503/504. */
        int64_t after =
            res.retry_after[0]
                ? ptel__export_retry_after_ms(res.retry_after, strlen(res.retry_after),
                                              (int64_t)(ptel__clock_realtime(NULL) / 1000000000u))
                : -1;
        uint64_t wait = export_backoff_ms(exp, attempt, after);
        now = ptel__export_now();
        uint64_t until = now + export_ms(wait);
        cause = PTEL_EXPORT_DROP_RETRIES;
        if (until > first + export_ms(exp->retry_max_elapsed_ms)) break;
        pthread_mutex_lock(&exp->mu);
        bool cut = false;
        for (;;) {
            if (exp->stopping && exp->stop_deadline_ns < until) {
                cut = true; /* the shutdown deadline comes first */
                break;
            }
            if (ptel__export_now() >= until) break;
            ptel__export_wait(exp, &exp->wake, until);
        }
        pthread_mutex_unlock(&exp->mu);
        if (cut) {
            cause = PTEL_EXPORT_DROP_SHUTDOWN;
            break;
        }
    }
    pthread_mutex_lock(&exp->mu);
    ptel__export_drop(exp, s, cause, items);
    ss->exports_failed++;
    pthread_mutex_unlock(&exp->mu);
    ptel__buf_free(&res.body);
}

void *ptel__export_worker(void *arg) {
    ptel_exporter *exp = arg;
    pthread_mutex_lock(&exp->mu);
    for (;;) {
        uint64_t now = ptel__export_now();
        if (exp->stopping && now >= exp->stop_deadline_ns) break;
        if (!exp->stopping && now >= exp->next_metric_ns) {
            exp->next_metric_ns = now + export_ms(exp->metric_interval_ms);
            pthread_mutex_unlock(&exp->mu);
            (void)ptel__export_metric_cycle(exp);
            pthread_mutex_lock(&exp->mu);
            continue;
        }
        uint64_t when = exp->stopping ? exp->stop_deadline_ns : exp->next_metric_ns;
        int s = -1;
        /* Oldest head first, so that neither signal starves the other. */
        for (int k = 0; k < PTEL_EXPORT_SIGNAL_COUNT; k++)
            if (export_ready(exp, k, now, &when) &&
                (s < 0 || exp->q[k].head->seq < exp->q[s].head->seq))
                s = k;
        if (s < 0) {
            if (exp->stopping && !exp->q[0].head && !exp->q[1].head) break;
            ptel__export_wait(exp, &exp->wake, when);
            continue;
        }
        /* Take up to max_batch_bytes (at least one request). */
        ptel__export_queue *q = &exp->q[s];
        ptel__export_req *taken = q->head, *last = NULL;
        size_t bytes = 0;
        uint64_t items = 0;
        size_t count = 0;
        for (ptel__export_req *r = q->head; r; r = r->next) {
            if (count && bytes + r->len > exp->max_batch_bytes) break;
            bytes += r->len;
            items += r->items;
            count++;
            last = r;
        }
        q->head = last->next;
        if (!q->head) q->tail = NULL;
        last->next = NULL;
        q->count -= count;
        q->bytes -= bytes;
        q->items -= items;
        exp->inflight_min_seq = taken->seq;
        exp->inflight_items = items;
        exp->inflight_bytes = bytes;
        exp->inflight_signal = (uint32_t)s;
        pthread_mutex_unlock(&exp->mu);

        /* Concatenated requests are one request: resource_* is repeated. */
        exp->batch.len = 0;
        bool ok = ptel__buf_reserve(&exp->batch, bytes) == 0;
        for (ptel__export_req *r = taken, *next; r; r = next) {
            next = r->next;
            if (ok) (void)ptel__buf_append(&exp->batch, r->data, r->len);
            ptel__free(&exp->alloc, r, sizeof *r + r->len);
        }
        if (ok) {
            export_send(exp, (uint32_t)s, items);
            pthread_mutex_lock(&exp->mu);
        } else {
            pthread_mutex_lock(&exp->mu);
            ptel__export_drop(exp, (uint32_t)s, PTEL_EXPORT_DROP_ERROR, items);
            exp->stats.signals[s].exports_failed++;
        }
        exp->inflight_min_seq = 0;
        exp->inflight_items = 0;
        exp->inflight_bytes = 0;
        pthread_cond_broadcast(&exp->done);
    }
    /* Shutdown deadline: whatever is left is dropped. */
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        ptel__export_queue *q = &exp->q[s];
        for (ptel__export_req *r = q->head, *next; r; r = next) {
            next = r->next;
            ptel__export_drop(exp, (uint32_t)s, PTEL_EXPORT_DROP_SHUTDOWN, r->items);
            ptel__free(&exp->alloc, r, sizeof *r + r->len);
        }
        memset(q, 0, sizeof *q);
    }
    pthread_cond_broadcast(&exp->done);
    pthread_mutex_unlock(&exp->mu);
    return NULL;
}

#endif
