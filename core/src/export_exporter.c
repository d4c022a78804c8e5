/* The exporter object: creation from options, the synchronous sinks (JSON
 * lines, console, memory), submission, flush, shutdown and stats. The
 * OTLP/HTTP worker thread is in export_worker.c, self-telemetry in
 * export_self.c. */
#include "export_internal.h"
#include "host_internal.h"

#if PTEL__EXPORTER

#    include <errno.h>
#    include <fcntl.h>
#    include <stdio.h>
#    include <time.h>
#    include <unistd.h>

uint64_t ptel__export_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ptel__export_wait(ptel_exporter *exp, pthread_cond_t *cv, uint64_t until_ns) {
    uint64_t now = ptel__export_now();
    if (until_ns <= now) return;
    /* The condition variables use CLOCK_MONOTONIC (set in ptel_exporter_new). */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t wait = until_ns - now;
    uint64_t ns = (uint64_t)ts.tv_nsec + wait % 1000000000u;
    ts.tv_sec += (time_t)(wait / 1000000000u + ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    pthread_cond_timedwait(cv, &exp->mu, &ts);
}

/* ---- resource ---------------------------------------------------------- */

static int export_value_copy(ptel__arena *a, ptel_value *dst, const ptel_value *src, int depth);

static int export_str_copy(ptel__arena *a, ptel_str *dst, ptel_str src) {
    dst->len = src.len;
    dst->ptr = src.len ? ptel__arena_dup(a, src.ptr, src.len) : "";
    return dst->ptr ? 0 : PTEL_E_NOMEM;
}

static int export_value_copy(ptel__arena *a, ptel_value *dst, const ptel_value *src, int depth) {
    *dst = *src;
    if (depth > PTEL_HOST_MAX_DEPTH) return PTEL_E_DEPTH;
    switch (src->type) {
    case PTEL_VALUE_STRING:
        if (!ptel__utf8_valid(src->str.ptr, src->str.len)) return PTEL_E_UTF8;
        return export_str_copy(a, &dst->str, src->str);
    case PTEL_VALUE_BYTES:
        return export_str_copy(a, &dst->str, src->str);
    case PTEL_VALUE_ARRAY: {
        if (!src->count) return 0;
        if (!src->array) return PTEL_E_INVALID_ARGUMENT;
        ptel_value *arr = ptel__arena_alloc(a, src->count * sizeof *arr);
        if (!arr) return PTEL_E_NOMEM;
        for (uint32_t i = 0; i < src->count; i++) {
            int st = export_value_copy(a, &arr[i], &src->array[i], depth + 1);
            if (st) return st;
        }
        dst->array = arr;
        return 0;
    }
    case PTEL_VALUE_KVLIST: {
        if (!src->count) return 0;
        if (!src->kvlist) return PTEL_E_INVALID_ARGUMENT;
        ptel_attr *kv = ptel__arena_alloc(a, src->count * sizeof *kv);
        if (!kv) return PTEL_E_NOMEM;
        for (uint32_t i = 0; i < src->count; i++) {
            if (!ptel__utf8_valid(src->kvlist[i].key.ptr, src->kvlist[i].key.len))
                return PTEL_E_UTF8;
            int st = export_str_copy(a, &kv[i].key, src->kvlist[i].key);
            if (!st) st = export_value_copy(a, &kv[i].value, &src->kvlist[i].value, depth + 1);
            if (st) return st;
        }
        dst->kvlist = kv;
        return 0;
    }
    default:
        return src->type <= PTEL_VALUE_KVLIST ? 0 : PTEL_E_INVALID_ARGUMENT;
    }
}

static size_t export_attr_find(const ptel_attr *attrs, size_t n, ptel_str key) {
    for (size_t i = 0; i < n; i++)
        if (attrs[i].key.len == key.len && !memcmp(attrs[i].key.ptr, key.ptr, key.len)) return i;
    return n;
}

/* OTEL_RESOURCE_ATTRIBUTES, then service.name, then the caller's list; a
 * later source replaces an earlier key. */
static int export_resource(ptel_exporter *exp, const ptel_exporter_options *o, ptel_diag *diag) {
    ptel__export_kv *kv = NULL;
    size_t kvn = 0, kvcap = 0;
    const char *why = "bad OTEL_RESOURCE_ATTRIBUTES";
    int st =
        ptel__export_kv_parse(&exp->alloc, o->resource_attributes, false, &kv, &kvn, &kvcap, &why);
    if (st) {
        ptel__export_kv_free(&exp->alloc, kv, kvn, kvcap);
        return ptel__fail(diag, st, 0, PTEL_ENV_RESOURCE_ATTRIBUTES, why);
    }
    if (o->resource_count && !o->resource) st = PTEL_E_INVALID_ARGUMENT;
    size_t cap = kvn + 1 + o->resource_count;
    ptel_attr *attrs = st ? NULL : ptel__arena_alloc(&exp->arena, cap * sizeof *attrs);
    if (!st && !attrs) st = PTEL_E_NOMEM;
    size_t n = 0;
    for (size_t i = 0; !st && i < kvn; i++) {
        ptel_str key = {kv[i].key, kv[i].key_len}, val = {kv[i].value, kv[i].value_len};
        if (!ptel__utf8_valid(key.ptr, key.len) || !ptel__utf8_valid(val.ptr, val.len)) {
            st = PTEL_E_UTF8;
            break;
        }
        memset(&attrs[n], 0, sizeof attrs[n]);
        attrs[n].value.type = PTEL_VALUE_STRING;
        st = export_str_copy(&exp->arena, &attrs[n].key, key);
        if (!st) st = export_str_copy(&exp->arena, &attrs[n].value.str, val);
        n++;
    }
    ptel__export_kv_free(&exp->alloc, kv, kvn, kvcap);
    ptel_str sn_key = {"service.name", 12};
    size_t at = export_attr_find(attrs, n, sn_key);
    if (!st && (o->service_name.len || at == n)) {
        ptel_str name = o->service_name;
        if (!name.len) name = (ptel_str){"unknown_service", 15};
        if (!ptel__utf8_valid(name.ptr, name.len)) st = PTEL_E_UTF8;
        if (at == n) {
            memset(&attrs[n], 0, sizeof attrs[n]);
            attrs[n++].key = sn_key;
        }
        attrs[at].value.type = PTEL_VALUE_STRING;
        if (!st) st = export_str_copy(&exp->arena, &attrs[at].value.str, name);
    }
    for (size_t i = 0; !st && i < o->resource_count; i++) {
        const ptel_attr *src = &o->resource[i];
        if (!src->key.len || !ptel__utf8_valid(src->key.ptr, src->key.len)) {
            st = src->key.len ? PTEL_E_UTF8 : PTEL_E_INVALID_ARGUMENT;
            break;
        }
        size_t k = export_attr_find(attrs, n, src->key);
        if (k == n) {
            st = export_str_copy(&exp->arena, &attrs[n].key, src->key);
            n++;
        }
        if (!st) st = export_value_copy(&exp->arena, &attrs[k].value, &src->value, 1);
    }
    if (st == PTEL_E_UTF8 || st == PTEL_E_DEPTH) st = PTEL_E_VALUE;
    if (st) return ptel__fail(diag, st, 0, 0, "invalid resource attribute");
    ptel_export_options_init(&exp->xopts);
    exp->xopts.resource_attributes = attrs;
    exp->xopts.resource_attribute_count = n;
    exp->xopts.include_invocation_span = o->include_invocation_span;
    return 0;
}

/* ---- OTLP/HTTP set-up -------------------------------------------------- */

static int export_http_setup(ptel_exporter *exp, const ptel_exporter_options *o, ptel_diag *diag) {
    const char *why = NULL;
    exp->curl = ptel__curl_load(&why);
    if (!exp->curl) return ptel__fail(diag, PTEL_E_UNSUPPORTED, 0, 0, why);
    if (o->compression == PTEL_COMPRESSION_GZIP) {
        if (!ptel__zlib_load(&why)) return ptel__fail(diag, PTEL_E_UNSUPPORTED, 0, 0, why);
        exp->gzip = true;
    }
    static const char *const paths[PTEL_EXPORT_SIGNAL_COUNT] = {"v1/traces", "v1/metrics"};
    const ptel_str full[PTEL_EXPORT_SIGNAL_COUNT] = {o->traces_endpoint, o->metrics_endpoint};
    const ptel_str sig_headers[PTEL_EXPORT_SIGNAL_COUNT] = {o->traces_headers, o->metrics_headers};
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        ptel_str base = full[s].len ? full[s] : o->endpoint;
        if (!ptel__export_url_ok(base))
            return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0,
                              full[s].len ? (uint32_t)(PTEL_ENV_TRACES_ENDPOINT + s)
                                          : PTEL_ENV_ENDPOINT,
                              "endpoint is not an http:// or https:// URL");
        bool append = !full[s].len;
        bool slash = base.ptr[base.len - 1] == '/';
        size_t size = base.len + (append ? (slash ? 0 : 1) + strlen(paths[s]) : 0) + 1;
        char *url = ptel__alloc(&exp->alloc, size);
        if (!url) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, NULL);
        memcpy(url, base.ptr, base.len);
        size_t k = base.len;
        if (append) {
            if (!slash) url[k++] = '/';
            memcpy(url + k, paths[s], strlen(paths[s]));
            k += strlen(paths[s]);
        }
        url[k] = '\0';
        exp->url[s] = url;
        exp->url_size[s] = size;

        ptel__export_kv *kv = NULL;
        size_t n = 0, cap = 0;
        int st = ptel__export_kv_parse(&exp->alloc, o->headers, true, &kv, &n, &cap, &why);
        uint32_t field = PTEL_ENV_HEADERS;
        if (!st) {
            field = (uint32_t)(PTEL_ENV_TRACES_HEADERS + s);
            st = ptel__export_kv_parse(&exp->alloc, sig_headers[s], true, &kv, &n, &cap, &why);
        }
        ptel__curl_headers *list =
            ptel__curl_headers_add(exp->curl, NULL, "Content-Type: application/x-protobuf");
        if (list && exp->gzip)
            list = ptel__curl_headers_add(exp->curl, list, "Content-Encoding: gzip");
        /* An empty Expect: stops curl from waiting for "100 Continue". */
        if (list) list = ptel__curl_headers_add(exp->curl, list, "Expect:");
        for (size_t i = 0; !st && list && i < n; i++) {
            size_t len = kv[i].key_len + 2 + kv[i].value_len + 1;
            char *line = ptel__alloc(&exp->alloc, len);
            if (!line) {
                st = PTEL_E_NOMEM;
                break;
            }
            snprintf(line, len, "%s: %s", kv[i].key, kv[i].value);
            list = ptel__curl_headers_add(exp->curl, list, line);
            ptel__free(&exp->alloc, line, len);
        }
        ptel__export_kv_free(&exp->alloc, kv, n, cap);
        exp->headers[s] = list;
        if (st == PTEL_E_VALUE) return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, field, why);
        if (st || !list) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, NULL);
    }
    return 0;
}

/* ---- new / free -------------------------------------------------------- */

static uint32_t export_or(uint32_t v, uint32_t dflt) { return v ? v : dflt; }

static void export_destroy(ptel_exporter *exp);

int ptel_exporter_new(ptel_exporter **out, const ptel_exporter_options *o, ptel_diag *diag) {
    if (out) *out = NULL;
    if (!out || !o || o->version != PTEL_EXPORTER_OPTIONS_VERSION)
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "NULL argument or bad version");
    if (o->kind > PTEL_EXPORTER_MEMORY || o->compression > PTEL_COMPRESSION_GZIP ||
        o->temporality > PTEL_TEMPORALITY_PREFERENCE_LOWMEMORY ||
        (o->console_flags & ~(uint32_t)PTEL_CONSOLE_FLAGS_ALL) || (o->path && !o->path[0]))
        return ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0,
                          "unknown kind, compression, temporality or console flag, or empty path");
    ptel_allocator alloc = ptel__allocator(&o->allocator);
    ptel_exporter *exp = ptel__alloc(&alloc, sizeof *exp);
    if (!exp) return ptel__fail(diag, PTEL_E_NOMEM, 0, 0, NULL);
    memset(exp, 0, sizeof *exp);
    exp->alloc = alloc;
    exp->kind = o->kind;
    exp->clock = o->clock;
    exp->fd = -1;
    ptel__arena_init(&exp->arena, alloc);
    ptel__buf_init(&exp->batch, alloc);
    ptel__buf_init(&exp->gz, alloc);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
#    if !defined(__APPLE__)
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
#    endif
    pthread_mutex_init(&exp->mu, NULL);
    pthread_cond_init(&exp->wake, &ca);
    pthread_cond_init(&exp->done, &ca);
    pthread_condattr_destroy(&ca);
    ptel__rng_seed_os(&exp->rng);
    exp->self_telemetry = o->self_telemetry;
    exp->temporality = o->temporality == PTEL_TEMPORALITY_PREFERENCE_CUMULATIVE
                           ? PTEL_TEMPORALITY_CUMULATIVE
                           : PTEL_TEMPORALITY_DELTA;
    exp->start_unix_ns = ptel__clock_realtime(&exp->clock);
    exp->timeout_ms = export_or(o->timeout_ms, 10000);
    exp->max_queue_bytes = export_or(o->max_queue_bytes, 8u << 20);
    exp->max_queue_requests = export_or(o->max_queue_requests, 2048);
    exp->max_batch_bytes = export_or(o->max_batch_bytes, 1u << 20);
    exp->schedule_delay_ms = o->schedule_delay_ms;
    exp->retry_initial_ms = export_or(o->retry_initial_ms, 1000);
    exp->retry_max_ms = export_or(o->retry_max_ms, 30000);
    exp->retry_max_elapsed_ms = o->retry_max_elapsed_ms;
    exp->metric_interval_ms = o->metric_interval_ms;
    exp->console_flags = o->console_flags;

    int st = export_resource(exp, o, diag);
    ptel_aggregator_options ao;
    ptel_aggregator_options_init(&ao);
    ao.clock = o->clock;
    ao.allocator = alloc;
    if (!st && ptel_aggregator_new(&exp->agg, &ao)) st = ptel__fail(diag, PTEL_E_NOMEM, 0, 0, NULL);
    if (!st && (exp->kind == PTEL_EXPORTER_JSONL || exp->kind == PTEL_EXPORTER_CONSOLE)) {
        if (o->path) {
            exp->fd = open(o->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            exp->own_fd = exp->fd >= 0;
            if (exp->fd < 0) st = ptel__fail(diag, PTEL_E_IO, 0, 0, "cannot open the output file");
        } else if (o->fd < 0) {
            st = ptel__fail(diag, PTEL_E_INVALID_ARGUMENT, 0, 0, "negative fd and no path");
        } else {
            exp->fd = o->fd;
        }
    }
    if (!st && exp->kind == PTEL_EXPORTER_OTLP_HTTP) {
        st = export_http_setup(exp, o, diag);
        exp->next_metric_ns =
            exp->metric_interval_ms
                ? ptel__export_now() + (uint64_t)exp->metric_interval_ms * 1000000u
                : UINT64_MAX;
        if (!st && pthread_create(&exp->thread, NULL, ptel__export_worker, exp) != 0)
            st = ptel__fail(diag, PTEL_E_NOMEM, 0, 0, "cannot start the exporter thread");
        exp->thread_started = !st;
    }
    if (st) {
        exp->shut = true;
        export_destroy(exp);
        return st;
    }
    *out = exp;
    return 0;
}

static void export_req_free(ptel_exporter *exp, ptel__export_req *r) {
    ptel__free(&exp->alloc, r, sizeof *r + r->len);
}

static void export_destroy(ptel_exporter *exp) {
    ptel_allocator alloc = exp->alloc;
    for (int s = 0; s < PTEL_EXPORT_SIGNAL_COUNT; s++) {
        for (size_t i = 0; i < exp->mem_len[s]; i++) export_req_free(exp, exp->mem[s][i]);
        ptel__free(&alloc, exp->mem[s], exp->mem_cap[s] * sizeof *exp->mem[s]);
        for (ptel__export_req *r = exp->q[s].head, *next; r; r = next) {
            next = r->next;
            export_req_free(exp, r);
        }
        ptel__free(&alloc, exp->url[s], exp->url_size[s]);
        if (exp->curl) ptel__curl_headers_free(exp->curl, exp->headers[s]);
    }
    if (exp->curl) ptel__curl_handle_free(exp->curl, exp->curl_handle);
    if (exp->own_fd) close(exp->fd);
    ptel_aggregator_free(exp->agg);
    ptel__export_self_free(exp);
    ptel__buf_free(&exp->batch);
    ptel__buf_free(&exp->gz);
    ptel__arena_free(&exp->arena);
    pthread_cond_destroy(&exp->wake);
    pthread_cond_destroy(&exp->done);
    pthread_mutex_destroy(&exp->mu);
    ptel__free(&alloc, exp, sizeof *exp);
}

void ptel_exporter_free(ptel_exporter *exp) {
    if (!exp) return;
    pthread_mutex_lock(&exp->mu);
    bool shut = exp->shut;
    pthread_mutex_unlock(&exp->mu);
    if (!shut) (void)ptel_exporter_shutdown(exp, 0);
    export_destroy(exp);
}

/* ---- sinks -------------------------------------------------------------- */

static int export_write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return PTEL_E_IO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write one request as a JSON line or as console text. */
static int export_write(ptel_exporter *exp, uint32_t signal, const uint8_t *data, size_t n) {
    char *text = NULL;
    size_t len = 0;
    int st;
    bool traces = signal == PTEL_EXPORT_SIGNAL_TRACES;
    if (exp->kind == PTEL_EXPORTER_JSONL) {
        st = ptel_json_render_alloc(&text, &len,
                                    traces ? PTEL_JSON_TRACES_DATA : PTEL_JSON_METRICS_DATA, data,
                                    n, &exp->alloc, NULL);
        if (!st) text[len++] = '\n'; /* over the NUL the renderer wrote */
    } else {
        st = ptel_console_render_alloc(&text, &len, traces ? data : NULL, traces ? n : 0,
                                       traces ? NULL : data, traces ? 0 : n, exp->console_flags,
                                       &exp->alloc, NULL);
        if (!st && len) text[len++] = '\n'; /* a blank line between renderings */
    }
    if (!st) st = export_write_all(exp->fd, text, len);
    /* The allocation is the text plus its NUL, which a newline replaced. */
    size_t size = exp->kind == PTEL_EXPORTER_JSONL || len ? len : 1;
    if (text) ptel__free(&exp->alloc, text, size);
    return st == PTEL_E_NOMEM ? st : st ? PTEL_E_IO : 0;
}

void ptel__export_drop(ptel_exporter *exp, uint32_t signal, uint32_t cause, uint64_t items) {
    exp->stats.signals[signal].items_dropped[cause] += items;
}

int ptel__export_put(ptel_exporter *exp, uint32_t signal, const uint8_t *data, size_t len,
                     uint64_t items) {
    ptel_exporter_signal_stats *ss = &exp->stats.signals[signal];
    ss->requests_submitted++;
    ss->items_submitted += items;
    if (exp->kind == PTEL_EXPORTER_OTLP_HTTP) {
        /* Each signal has its own limits, so a flood of traces never
         * crowds out a metric cycle (the last one, at shutdown, above all). */
        const ptel__export_queue *sq = &exp->q[signal];
        if (sq->count + 1 > exp->max_queue_requests || sq->bytes + len > exp->max_queue_bytes) {
            ptel__export_drop(exp, signal, PTEL_EXPORT_DROP_QUEUE_FULL, items);
            return 0;
        }
    }
    ptel__export_req *r = NULL;
    if (exp->kind != PTEL_EXPORTER_JSONL && exp->kind != PTEL_EXPORTER_CONSOLE) {
        r = ptel__alloc(&exp->alloc, sizeof *r + len);
        if (!r) {
            ptel__export_drop(exp, signal, PTEL_EXPORT_DROP_ERROR, items);
            return PTEL_E_NOMEM;
        }
        memset(r, 0, sizeof *r);
        memcpy(r->data, data, len);
        r->len = len;
        r->items = items;
    }
    switch (exp->kind) {
    case PTEL_EXPORTER_OTLP_HTTP: {
        ptel__export_queue *q = &exp->q[signal];
        r->seq = ++exp->seq;
        r->enqueued_ns = ptel__export_now();
        if (q->tail)
            q->tail->next = r;
        else
            q->head = r;
        q->tail = r;
        q->count++;
        q->bytes += len;
        q->items += items;
        /* The worker already waits for the head's delay; wake it only for a
         * new head or a full batch (a wake per submit costs a context switch). */
        if (q->head == r || q->bytes >= exp->max_batch_bytes) pthread_cond_signal(&exp->wake);
        return 0;
    }
    case PTEL_EXPORTER_MEMORY:
        if (exp->mem_len[signal] == exp->mem_cap[signal]) {
            size_t ncap = exp->mem_cap[signal] ? exp->mem_cap[signal] * 2 : 16;
            ptel__export_req **grown =
                ptel__realloc(&exp->alloc, exp->mem[signal], exp->mem_cap[signal] * sizeof *grown,
                              ncap * sizeof *grown);
            if (!grown) {
                export_req_free(exp, r);
                ptel__export_drop(exp, signal, PTEL_EXPORT_DROP_ERROR, items);
                return PTEL_E_NOMEM;
            }
            exp->mem[signal] = grown;
            exp->mem_cap[signal] = ncap;
        }
        exp->mem[signal][exp->mem_len[signal]++] = r;
        break;
    default: { /* JSONL, console */
        int st = export_write(exp, signal, data, len);
        if (st) {
            ptel__export_drop(exp, signal, PTEL_EXPORT_DROP_ERROR, items);
            ss->exports_failed++;
            return st;
        }
        break;
    }
    }
    ss->items_sent += items;
    ss->exports_ok++;
    return 0;
}

#endif
