/* The OTLP/HTTP exporter against a loopback server written here (a thread
 * with a socket): exact bytes and headers received, partial_success, 503
 * then 200, 429 with Retry-After, 400, a hung connection, a refused
 * connection, gzip, queue overflow, batching, flush and shutdown deadlines.
 * Small timeouts and backoffs keep the whole file to a few seconds. */
#include "test_export_util.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the server ---------------------------------------------------------- */

typedef struct srv_action {
    int status; /* 0 = hang: read the request, never answer */
    const char *headers;
    const uint8_t *body;
    size_t body_len;
} srv_action;

typedef struct srv_req {
    char line[128];
    char headers[2048];
    uint8_t *body;
    size_t len;
    uint64_t at_ms;
} srv_req;

enum { SRV_MAX = 32 };

typedef struct srv {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t mu;
    srv_action actions[SRV_MAX]; /* by request index; beyond: 200 */
    srv_req reqs[SRV_MAX];
    int n;
    int stop;
} srv;

static bool srv_stopping(srv *s) {
    pthread_mutex_lock(&s->mu);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Read more bytes into buf (poll with a timeout to notice stop); 0 on EOF. */
static ssize_t srv_read(srv *s, int c, uint8_t *buf, size_t cap) {
    for (;;) {
        if (srv_stopping(s)) return 0;
        struct pollfd p = {c, POLLIN, 0};
        int r = poll(&p, 1, 20);
        if (r == 0) continue;
        if (r < 0) return 0;
        ssize_t n = recv(c, buf, cap, 0);
        return n < 0 ? 0 : n;
    }
}

static const char *find_header(const char *headers, const char *name) {
    size_t n = strlen(name);
    for (const char *p = headers; *p;) {
        if (!strncasecmp(p, name, n) && p[n] == ':') return p + n + 1;
        const char *eol = strstr(p, "\r\n");
        if (!eol) break;
        p = eol + 2;
    }
    return NULL;
}

static void srv_connection(srv *s, int c) {
    static uint8_t buf[1 << 20];
    size_t have = 0;
    for (;;) {
        /* Headers. */
        uint8_t *end = NULL;
        while (!(end = (uint8_t *)memmem(buf, have, "\r\n\r\n", 4))) {
            ssize_t n = srv_read(s, c, buf + have, sizeof buf - have);
            if (n <= 0) return;
            have += (size_t)n;
        }
        size_t head = (size_t)(end - buf) + 4;
        srv_req r;
        memset(&r, 0, sizeof r);
        const char *eol = memmem(buf, head, "\r\n", 2);
        size_t ll = (size_t)((const uint8_t *)eol - buf);
        memcpy(r.line, buf, ll < sizeof r.line - 1 ? ll : sizeof r.line - 1);
        size_t hl = head - ll - 2;
        memcpy(r.headers, eol + 2, hl < sizeof r.headers - 1 ? hl : sizeof r.headers - 1);
        const char *cl = find_header(r.headers, "Content-Length");
        size_t len = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
        while (have < head + len) {
            ssize_t n = srv_read(s, c, buf + have, sizeof buf - have);
            if (n <= 0) return;
            have += (size_t)n;
        }
        r.body = malloc(len ? len : 1);
        memcpy(r.body, buf + head, len);
        r.len = len;
        r.at_ms = now_ms();
        memmove(buf, buf + head + len, have - head - len);
        have -= head + len;
        pthread_mutex_lock(&s->mu);
        int index = s->n;
        if (s->n < SRV_MAX)
            s->reqs[s->n++] = r;
        else
            free(r.body);
        srv_action a = index < SRV_MAX ? s->actions[index] : (srv_action){200, NULL, NULL, 0};
        pthread_mutex_unlock(&s->mu);
        if (a.status == 0) {
            while (srv_read(s, c, buf, sizeof buf) > 0) {
            }
            return;
        }
        char resp[512];
        int rl = snprintf(resp, sizeof resp,
                          "HTTP/1.1 %d Test\r\nContent-Type: application/x-protobuf\r\n"
                          "Content-Length: %zu\r\n%s\r\n",
                          a.status, a.body_len, a.headers ? a.headers : "");
        if (send(c, resp, (size_t)rl, MSG_NOSIGNAL) < 0) return;
        if (a.body_len && send(c, a.body, a.body_len, MSG_NOSIGNAL) < 0) return;
    }
}

static void *srv_main(void *arg) {
    srv *s = arg;
    while (!srv_stopping(s)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0) continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) continue;
        srv_connection(s, c);
        close(c);
    }
    return NULL;
}

/* Listen on 127.0.0.1 on a free port. */
static int srv_listen(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 8) ||
        getsockname(fd, (struct sockaddr *)&a, &al)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static srv *srv_start(const srv_action *actions, int n) {
    srv *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < SRV_MAX; i++) s->actions[i] = (srv_action){200, NULL, NULL, 0};
    for (int i = 0; i < n; i++) s->actions[i] = actions[i];
    s->fd = srv_listen(&s->port);
    CHECK(s->fd >= 0);
    pthread_create(&s->thread, NULL, srv_main, s);
    return s;
}

static void srv_stop(srv *s) {
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    close(s->fd);
    for (int i = 0; i < s->n; i++) free(s->reqs[i].body);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static int srv_count(srv *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- the client ---------------------------------------------------------- */

static char url_buf[64];

static void http_options(ptel_exporter_options *o, int port) {
    ptel_exporter_options_init(o);
    o->kind = PTEL_EXPORTER_OTLP_HTTP;
    snprintf(url_buf, sizeof url_buf, "http://127.0.0.1:%d", port);
    o->endpoint = (ptel_str){url_buf, strlen(url_buf)};
    o->service_name = (ptel_str){"svc", 3};
    o->self_telemetry = false;
    o->metric_interval_ms = 0;
    o->schedule_delay_ms = 0;
    o->timeout_ms = 1000;
    o->retry_initial_ms = 20;
    o->retry_max_ms = 80;
    o->retry_max_elapsed_ms = 3000;
}

static ptel_exporter *http_new(const ptel_exporter_options *o) {
    ptel_exporter *exp = NULL;
    ptel_diag d = {0};
    int st = ptel_exporter_new(&exp, o, &d);
    CHECK_EQ_INT(st, 0);
    if (st) fprintf(stderr, "  new: %s\n", d.reason ? d.reason : "?");
    return exp;
}

/* An ExportTraceServiceRequest with three spans. */
static uint8_t req[8192];
static size_t req_len;

static void make_request(void) {
    if (req_len) return;
    ptel_invocation *inv = tx_invocation("pii_filter", false);
    CHECK(inv != NULL);
    if (!inv) return;
    req_len = tx_export_traces(inv, req, sizeof req);
    ptel_invocation_free(inv);
    uint64_t items = 0;
    ptel__export_count_items(PTEL_EXPORT_SIGNAL_TRACES, req, req_len, &items, NULL);
    CHECK_EQ_INT(items, 3);
}

static uint64_t dropped(const ptel_exporter_stats *s, int sig, int cause) {
    return s->signals[sig].items_dropped[cause];
}

/* One request through a fresh exporter with `o`: submit, flush (which
 * must finish), read the stats, free. False when there is no exporter. */
static bool send_once(const ptel_exporter_options *o, ptel_exporter_stats *st) {
    ptel_exporter *exp = http_new(o);
    if (!exp) return false;
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, req, req_len), 0);
    CHECK_EQ_INT(ptel_exporter_flush(exp, 4000), 0);
    ptel_exporter_get_stats(exp, st);
    ptel_exporter_free(exp);
    return true;
}

/* Start a server answering with `a`, send one request through an
 * exporter with the test options (`timeout_ms` and `max_elapsed_ms` when
 * not 0). The caller stops the server; NULL when there is no exporter. */
static srv *run_scripted(const srv_action *a, int n, uint32_t timeout_ms, uint32_t max_elapsed_ms,
                         ptel_exporter_stats *st) {
    srv *s = srv_start(a, n);
    ptel_exporter_options o;
    http_options(&o, s->port);
    if (timeout_ms) o.timeout_ms = timeout_ms;
    if (max_elapsed_ms) o.retry_max_elapsed_ms = max_elapsed_ms;
    if (send_once(&o, st)) return s;
    srv_stop(s);
    return NULL;
}

static void test_partial_success(void) {
    static const uint8_t partial[] = {0x0a, 0x05, 0x08, 0x01, 0x12, 0x01, 'x'};
    srv_action a[] = {{200, NULL, partial, sizeof partial}};
    srv *s = srv_start(a, 1);
    ptel_exporter_options o;
    http_options(&o, s->port);
    o.headers = (ptel_str){"x-tenant=a%20b,x-both=1", 23};
    o.traces_headers = (ptel_str){"X-Both=2", 8};
    char murl[96];
    snprintf(murl, sizeof murl, "http://127.0.0.1:%d/custom/m", s->port);
    o.metrics_endpoint = (ptel_str){murl, strlen(murl)};
    ptel_exporter *exp = http_new(&o);
    if (!exp) {
        srv_stop(s);
        return;
    }
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, req, req_len), 0);
    CHECK_EQ_INT(ptel_exporter_flush(exp, 3000), 0);
    ptel_exporter_stats st;
    ptel_exporter_get_stats(exp, &st);
    CHECK_EQ_INT(st.signals[0].items_sent, 2);
    CHECK_EQ_INT(dropped(&st, 0, PTEL_EXPORT_DROP_PARTIAL), 1);
    CHECK_EQ_INT(st.signals[0].exports_ok, 1);
    CHECK_EQ_INT(st.signals[0].retries, 0);
    CHECK_EQ_INT(st.last_http_status, 200);
    CHECK_EQ_INT(st.queue_requests, 0);
    CHECK_EQ_INT(st.signals[0].queued_items, 0);
    /* The metrics signal goes to its own URL, as-is. */
    CHECK_EQ_INT(ptel_exporter_submit_metrics(exp, NULL, 0), 0);
    static const uint8_t metrics[] = {0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x2a, 0x00};
    CHECK_EQ_INT(ptel_exporter_submit_metrics(exp, metrics, sizeof metrics), 0);
    CHECK_EQ_INT(ptel_exporter_shutdown(exp, 3000), 0);
    ptel_exporter_free(exp);
    CHECK_EQ_INT(srv_count(s), 2);
    if (srv_count(s) == 2) {
        srv_req *r = &s->reqs[0];
        CHECK(!strcmp(r->line, "POST /v1/traces HTTP/1.1"));
        CHECK_BYTES(r->body, r->len, req, req_len);
        const char *ct = find_header(r->headers, "Content-Type");
        CHECK(ct && !strncmp(ct, " application/x-protobuf\r\n", 25));
        const char *t = find_header(r->headers, "x-tenant");
        CHECK(t && !strncmp(t, " a b\r\n", 6));
        const char *b = find_header(r->headers, "x-both");
        CHECK(b && !strncmp(b, " 2\r\n", 4));
        CHECK(find_header(r->headers, "Content-Encoding") == NULL);
        r = &s->reqs[1];
        CHECK(!strcmp(r->line, "POST /custom/m HTTP/1.1"));
        CHECK_BYTES(r->body, r->len, metrics, sizeof metrics);
        b = find_header(r->headers, "x-both");
        CHECK(b && !strncmp(b, " 1\r\n", 4));
    }
    srv_stop(s);
}

static void test_503_then_200(void) {
    srv_action a[] = {{503, NULL, NULL, 0}, {200, NULL, NULL, 0}};
    ptel_exporter_stats st;
    srv *s = run_scripted(a, 2, 0, 0, &st);
    if (!s) return;
    CHECK_EQ_INT(st.signals[0].retries, 1);
    CHECK_EQ_INT(st.signals[0].items_sent, 3);
    CHECK_EQ_INT(st.signals[0].exports_ok, 1);
    CHECK_EQ_INT(st.signals[0].exports_failed, 0);
    CHECK_EQ_INT(srv_count(s), 2);
    if (srv_count(s) == 2) {
        CHECK_BYTES(s->reqs[1].body, s->reqs[1].len, req, req_len);
        /* Full jitter over the first bound (20 ms), plus scheduling slack. */
        uint64_t gap = s->reqs[1].at_ms - s->reqs[0].at_ms;
        CHECK(gap <= 20 + 250);
    }
    srv_stop(s);
}

static void test_429_retry_after(void) {
    srv_action a[] = {{429, "Retry-After: 1\r\n", NULL, 0}, {200, NULL, NULL, 0}};
    ptel_exporter_stats st;
    srv *s = run_scripted(a, 2, 0, 0, &st);
    if (!s) return;
    CHECK_EQ_INT(st.signals[0].retries, 1);
    CHECK_EQ_INT(st.signals[0].items_sent, 3);
    CHECK_EQ_INT(srv_count(s), 2);
    if (srv_count(s) == 2) {
        uint64_t gap = s->reqs[1].at_ms - s->reqs[0].at_ms;
        CHECK(gap >= 1000 - 5); /* Retry-After wins over the 20 ms backoff */
        CHECK(gap <= 1000 + 500);
    }
    srv_stop(s);
}

static void test_400(void) {
    srv_action a[] = {{400, NULL, NULL, 0}};
    ptel_exporter_stats st;
    srv *s = run_scripted(a, 1, 0, 0, &st);
    if (!s) return;
    CHECK_EQ_INT(dropped(&st, 0, PTEL_EXPORT_DROP_REJECTED), 3);
    CHECK_EQ_INT(st.signals[0].items_sent, 0);
    CHECK_EQ_INT(st.signals[0].retries, 0);
    CHECK_EQ_INT(st.signals[0].exports_failed, 1);
    CHECK_EQ_INT(st.last_http_status, 400);
    CHECK_EQ_INT(srv_count(s), 1);
    srv_stop(s);
}

static void test_hung_connection(void) {
    srv_action a[] = {{0, NULL, NULL, 0}, {0, NULL, NULL, 0}, {0, NULL, NULL, 0}};
    uint64_t t0 = now_ms();
    ptel_exporter_stats st;
    srv *s = run_scripted(a, 3, 200, 300, &st);
    if (!s) return;
    uint64_t took = now_ms() - t0;
    /* Two timed-out attempts (200 ms each), then the next wait would pass
     * retry_max_elapsed_ms (300 ms). */
    CHECK_EQ_INT(st.signals[0].retries, 1);
    CHECK_EQ_INT(dropped(&st, 0, PTEL_EXPORT_DROP_RETRIES), 3);
    CHECK_EQ_INT(st.last_http_status, 0);
    CHECK(took >= 400 && took < 1500);
    CHECK_EQ_INT(srv_count(s), 2);
    srv_stop(s);
}

static void test_refused(void) {
    int port = 0;
    int fd = srv_listen(&port);
    CHECK(fd >= 0);
    close(fd); /* nothing listens there now */
    ptel_exporter_options o;
    http_options(&o, port);
    o.retry_max_elapsed_ms = 200;
    ptel_exporter_stats st;
    if (!send_once(&o, &st)) return;
    /* Backoff bounds 20, 40, 80, 80...: at least 3 attempts fit in 200 ms. */
    CHECK(st.signals[0].retries >= 2);
    CHECK_EQ_INT(dropped(&st, 0, PTEL_EXPORT_DROP_RETRIES), 3);
    CHECK_EQ_INT(st.signals[0].exports_failed, 1);
    CHECK_EQ_INT(st.last_http_status, 0);
}

/* gunzip with the system zlib, loaded as the exporter loads it. */
static size_t gunzip(uint8_t *out, size_t cap, const uint8_t *in, size_t n) {
    void *lib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return 0;
    int (*init)(ptel__z_stream *, int, const char *, int);
    int (*inflate)(ptel__z_stream *, int);
    int (*end)(ptel__z_stream *);
    const char *(*version)(void);
    void *p;
    p = dlsym(lib, "inflateInit2_");
    memcpy(&init, &p, sizeof p);
    p = dlsym(lib, "inflate");
    memcpy(&inflate, &p, sizeof p);
    p = dlsym(lib, "inflateEnd");
    memcpy(&end, &p, sizeof p);
    p = dlsym(lib, "zlibVersion");
    memcpy(&version, &p, sizeof p);
    ptel__z_stream zs;
    memset(&zs, 0, sizeof zs);
    size_t len = 0;
    if (init(&zs, 15 + 16, version(), (int)sizeof zs) == PTEL__Z_OK) { /* gzip only */
        zs.next_in = in;
        zs.avail_in = (unsigned)n;
        zs.next_out = out;
        zs.avail_out = (unsigned)cap;
        if (inflate(&zs, PTEL__Z_FINISH) == PTEL__Z_STREAM_END) len = cap - zs.avail_out;
        end(&zs);
    }
    dlclose(lib);
    return len;
}

static void test_gzip(void) {
    srv *s = srv_start(NULL, 0);
    ptel_exporter_options o;
    http_options(&o, s->port);
    o.compression = PTEL_COMPRESSION_GZIP;
    ptel_exporter *exp = http_new(&o);
    if (!exp) {
        srv_stop(s);
        return;
    }
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, req, req_len), 0);
    CHECK_EQ_INT(ptel_exporter_shutdown(exp, 3000), 0);
    ptel_exporter_free(exp);
    CHECK_EQ_INT(srv_count(s), 1);
    if (srv_count(s) == 1) {
        srv_req *r = &s->reqs[0];
        const char *ce = find_header(r->headers, "Content-Encoding");
        CHECK(ce && !strncmp(ce, " gzip\r\n", 7));
        CHECK(r->len > 10 && r->body[0] == 0x1f && r->body[1] == 0x8b);
        static uint8_t plain[16384];
        size_t n = gunzip(plain, sizeof plain, r->body, r->len);
        CHECK_BYTES(plain, n, req, req_len);
    }
    srv_stop(s);
}

/* A full queue drops and counts; a flush sends what is queued as one
 * batch, the concatenation of its requests; a full batch leaves at once,
 * with at most max_batch_bytes. */
static void test_queue_and_batches(void) {
    srv *s = srv_start(NULL, 0);
    ptel_exporter_options o;
    http_options(&o, s->port);
    o.schedule_delay_ms = 60000; /* nothing leaves before the flush */
    o.max_queue_requests = 3;
    ptel_exporter *exp = http_new(&o);
    if (!exp) {
        srv_stop(s);
        return;
    }
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(ptel_exporter_submit_traces(exp, req, req_len), 0);
    ptel_exporter_stats st;
    ptel_exporter_get_stats(exp, &st);
    CHECK_EQ_INT(st.signals[0].requests_submitted, 5);
    CHECK_EQ_INT(st.signals[0].items_submitted, 15);
    CHECK_EQ_INT(dropped(&st, 0, PTEL_EXPORT_DROP_QUEUE_FULL), 6);
    CHECK_EQ_INT(st.queue_requests, 3);
    CHECK_EQ_INT(st.queue_bytes, 3 * req_len);
    CHECK_EQ_INT(st.signals[0].queued_items, 9);
    /* The metrics signal has a queue of its own: the full traces queue
     * leaves it room. */
    static const uint8_t one_point[] = {0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x2a, 0x00};
    CHECK_EQ_INT(ptel_exporter_submit_metrics(exp, one_point, sizeof one_point), 0);
    ptel_exporter_get_stats(exp, &st);
    CHECK_EQ_INT(dropped(&st, 1, PTEL_EXPORT_DROP_QUEUE_FULL), 0);
    CHECK_EQ_INT(st.queue_requests, 4);
    CHECK_EQ_INT(srv_count(s), 0);
    CHECK_EQ_INT(ptel_exporter_flush(exp, 3000), 0);
    ptel_exporter_get_stats(exp, &st);
    CHECK_EQ_INT(st.signals[0].items_sent, 9);
    CHECK_EQ_INT(st.signals[0].exports_ok, 1);
    CHECK_EQ_INT(st.signals[1].exports_ok, 1);
    CHECK_EQ_INT(st.queue_requests, 0);
    ptel_exporter_free(exp);
    static uint8_t three[3 * 8192];
    for (int i = 0; i < 3; i++) memcpy(three + (size_t)i * req_len, req, req_len);
    CHECK_EQ_INT(srv_count(s), 2);
    for (int i = 0; i < srv_count(s) && i < 2; i++) {
        if (!strcmp(s->reqs[i].line, "POST /v1/traces HTTP/1.1"))
            CHECK_BYTES(s->reqs[i].body, s->reqs[i].len, three, 3 * req_len);
        else
            CHECK_BYTES(s->reqs[i].body, s->reqs[i].len, one_point, sizeof one_point);
    }

    http_options(&o, s->port);
    o.schedule_delay_ms = 60000;
    o.max_batch_bytes = (uint32_t)(2 * req_len);
    exp = http_new(&o);
    if (exp) {
        for (int i = 0; i < 3; i++) CHECK_EQ_INT(ptel_exporter_submit_traces(exp, req, req_len), 0);
        CHECK_EQ_INT(ptel_exporter_flush(exp, 3000), 0);
        ptel_exporter_get_stats(exp, &st);
        CHECK_EQ_INT(st.signals[0].items_sent, 9);
        CHECK_EQ_INT(st.signals[0].exports_ok, 2);
        ptel_exporter_free(exp);
    }
    CHECK_EQ_INT(srv_count(s), 4);
    if (srv_count(s) == 4) {
        CHECK_BYTES(s->reqs[2].body, s->reqs[2].len, three, 2 * req_len);
        CHECK_BYTES(s->reqs[3].body, s->reqs[3].len, req, req_len);
    }

    /* A byte limit too: a request larger than the room left is dropped. */
    http_options(&o, s->port);
    o.schedule_delay_ms = 60000;
    o.max_queue_bytes = (uint32_t)(req_len + 10);
    exp = http_new(&o);
    if (exp) {
        CHECK_EQ_INT(ptel_exporter_submit_traces(exp, req, req_len), 0);
        CHECK_EQ_INT(ptel_exporter_submit_traces(exp, req, req_len), 0);
        ptel_exporter_get_stats(exp, &st);
        CHECK_EQ_INT(dropped(&st, 0, PTEL_EXPORT_DROP_QUEUE_FULL), 3);
        CHECK_EQ_INT(st.queue_requests, 1);
        CHECK_EQ_INT(ptel_exporter_shutdown(exp, 3000), 0);
        ptel_exporter_get_stats(exp, &st);
        CHECK_EQ_INT(st.signals[0].items_sent, 3);
        ptel_exporter_free(exp);
    }
    srv_stop(s);
}

/* Flush and shutdown give up at their deadlines; what shutdown cuts is
 * counted as shutdown drops. */
static void test_deadlines(void) {
    srv_action a[SRV_MAX];
    for (int i = 0; i < SRV_MAX; i++) a[i] = (srv_action){503, NULL, NULL, 0};
    srv *s = srv_start(a, SRV_MAX);
    ptel_exporter_options o;
    http_options(&o, s->port);
    o.retry_initial_ms = 5000; /* long waits between attempts */
    o.retry_max_ms = 5000;
    o.retry_max_elapsed_ms = 60000;
    ptel_exporter *exp = http_new(&o);
    if (!exp) {
        srv_stop(s);
        return;
    }
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, req, req_len), 0);
    uint64_t t0 = now_ms();
    CHECK_EQ_INT(ptel_exporter_flush(exp, 100), PTEL_E_TIMEOUT);
    uint64_t t1 = now_ms();
    CHECK(t1 - t0 >= 100 && t1 - t0 < 600);
    ptel_exporter_stats st;
    ptel_exporter_get_stats(exp, &st);
    CHECK_EQ_INT(st.signals[0].queued_items, 3); /* in flight, waiting to retry */
    CHECK_EQ_INT(ptel_exporter_shutdown(exp, 200), PTEL_E_TIMEOUT);
    CHECK(now_ms() - t1 < 1000);
    ptel_exporter_get_stats(exp, &st);
    CHECK_EQ_INT(dropped(&st, 0, PTEL_EXPORT_DROP_SHUTDOWN), 3);
    CHECK_EQ_INT(st.signals[0].queued_items, 0);
    CHECK_EQ_INT(st.last_http_status, 503);
    ptel_exporter_free(exp);
    srv_stop(s);
}

/* Shutdown aborts a request still waiting for its answer once its
 * deadline has passed, well before the request's own timeout. */
static void test_shutdown_cuts_request(void) {
    srv_action a[] = {{0, NULL, NULL, 0}};
    srv *s = srv_start(a, 1);
    ptel_exporter_options o;
    http_options(&o, s->port);
    o.timeout_ms = 10000;
    ptel_exporter *exp = http_new(&o);
    if (!exp) {
        srv_stop(s);
        return;
    }
    CHECK_EQ_INT(ptel_exporter_submit_traces(exp, req, req_len), 0);
    while (srv_count(s) == 0) usleep(1000); /* the request is in flight */
    uint64_t t0 = now_ms();
    CHECK_EQ_INT(ptel_exporter_shutdown(exp, 200), PTEL_E_TIMEOUT);
    uint64_t took = now_ms() - t0;
    CHECK(took >= 200 && took < 1600); /* curl polls the cancel about once a second */
    ptel_exporter_stats st;
    ptel_exporter_get_stats(exp, &st);
    CHECK_EQ_INT(dropped(&st, 0, PTEL_EXPORT_DROP_SHUTDOWN), 3);
    CHECK_EQ_INT(st.signals[0].retries, 0);
    ptel_exporter_free(exp);
    srv_stop(s);
}

/* Self-telemetry and aggregated metrics travel the same pipeline. */
static void test_invocation_metrics(void) {
    srv *s = srv_start(NULL, 0);
    ptel_exporter_options o;
    http_options(&o, s->port);
    o.self_telemetry = true;
    ptel_exporter *exp = http_new(&o);
    ptel_invocation *inv = tx_invocation("pii_filter", false);
    if (!exp || !inv) {
        srv_stop(s);
        return;
    }
    CHECK_EQ_INT(ptel_exporter_submit_invocation(exp, inv), 0);
    CHECK_EQ_INT(ptel_exporter_shutdown(exp, 3000), 0);
    ptel_exporter_stats st;
    ptel_exporter_get_stats(exp, &st);
    CHECK_EQ_INT(st.signals[0].items_sent, 3);
    CHECK_EQ_INT(st.signals[1].exports_ok, 1);
    CHECK(st.signals[1].items_sent > 4);
    ptel_exporter_free(exp);
    ptel_invocation_free(inv);
    CHECK_EQ_INT(srv_count(s), 2);
    if (srv_count(s) == 2) {
        CHECK(!strcmp(s->reqs[0].line, "POST /v1/traces HTTP/1.1"));
        CHECK(!strcmp(s->reqs[1].line, "POST /v1/metrics HTTP/1.1"));
        char *json = NULL;
        size_t jl = 0;
        CHECK_EQ_INT(ptel_json_render_alloc(&json, &jl, PTEL_JSON_METRICS_DATA, s->reqs[1].body,
                                            s->reqs[1].len, NULL, NULL),
                     0);
        if (json) {
            CHECK(strstr(json, "\"name\":\"pii.scan.duration\"") != NULL);
            CHECK(strstr(json, "\"name\":\"ptel.host.spans.accepted\"") != NULL);
            ptel_json_free(json, jl, NULL);
        }
    }
    srv_stop(s);
}

/* `ptel send` end to end: OTEL_* from the environment, one trace id line
 * per invocation, the stats on the last line, the requests received. */
static void test_send_cli(void) {
    srv *s = srv_start(NULL, 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d OTEL_SERVICE_NAME=send-test "
             "OTEL_EXPORTER_OTLP_COMPRESSION=gzip '%s' send --count 2 --stats "
             "--traceparent 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
             s->port, PTEL_CLI);
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    if (!f) {
        srv_stop(s);
        return;
    }
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int rc = pclose(f);
    CHECK_EQ_INT(rc, 0);
    static const char ids[] = "trace_id=4bf92f3577b34da6a3ce929d0e0e4736\n"
                              "trace_id=4bf92f3577b34da6a3ce929d0e0e4736\n{\"invocations\":2,";
    CHECK(!strncmp(out, ids, sizeof ids - 1));
    CHECK(strstr(out, "\"traces\":{\"requests\":2,\"submitted\":6,\"sent\":6,\"dropped\":0,") !=
          NULL);
    CHECK(n > 0 && out[n - 1] == '\n' && strchr(out + sizeof ids - 1, '\n') == out + n - 1);
    /* Traces (both invocations in one batch), then the metrics. */
    CHECK_EQ_INT(srv_count(s), 2);
    if (srv_count(s) == 2) {
        CHECK(!strcmp(s->reqs[0].line, "POST /v1/traces HTTP/1.1"));
        CHECK(!strcmp(s->reqs[1].line, "POST /v1/metrics HTTP/1.1"));
        static uint8_t plain[65536];
        size_t pl = gunzip(plain, sizeof plain, s->reqs[0].body, s->reqs[0].len);
        uint64_t items = 0;
        CHECK_EQ_INT(ptel__export_count_items(PTEL_EXPORT_SIGNAL_TRACES, plain, pl, &items, NULL),
                     0);
        CHECK_EQ_INT(items, 6);
    }
    srv_stop(s);

    /* Nothing listening: the drops make the exit status 1. */
    int port = 0;
    int fd = srv_listen(&port);
    close(fd);
    snprintf(cmd, sizeof cmd,
             "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d '%s' send --deadline-ms 100 "
             ">/dev/null 2>&1",
             port, PTEL_CLI);
    rc = system(cmd);
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
}

int main(void) {
    make_request();
    RUN(test_partial_success);
    RUN(test_503_then_200);
    RUN(test_429_retry_after);
    RUN(test_400);
    RUN(test_hung_connection);
    RUN(test_refused);
    RUN(test_gzip);
    RUN(test_queue_and_batches);
    RUN(test_deadlines);
    RUN(test_shutdown_cuts_request);
    RUN(test_invocation_metrics);
    RUN(test_send_cli);
    return test_summary();
}
