/* libcurl and zlib, loaded at run time with dlopen so that building the core
 * (for CFFI, cgo, cargo, WASM) never needs their headers or libraries; only
 * the OTLP/HTTP exporter loads them, on its creation.
 *
 * Globals: the loaded entry points are process-wide by nature (dlopen is
 * reference-counted per process and curl_global_init must run once per
 * process), so each library is loaded once under a pthread_once and never
 * unloaded. */
#include "export_internal.h"

#if PTEL__EXPORTER

#    include <dlfcn.h>
#    include <stdio.h>
#    include <pthread.h>

struct ptel__curl_api {
    int (*global_init)(long flags);
    void *(*easy_init)(void);
    int (*easy_setopt)(void *curl, int option, ...);
    int (*easy_perform)(void *curl);
    int (*easy_getinfo)(void *curl, int info, ...);
    void (*easy_cleanup)(void *curl);
    const char *(*easy_strerror)(int code);
    void *(*slist_append)(void *list, const char *line);
    void (*slist_free_all)(void *list);
};

static pthread_once_t export_curl_once = PTHREAD_ONCE_INIT;
static ptel__curl_api export_curl;
static const char *export_curl_error; /* NULL once loaded */

/* Look up `name` in `lib` into `*slot` (a function pointer). */
static bool export_dl_sym(void *lib, const char *name, void *slot, size_t size) {
    void *sym = dlsym(lib, name);
    if (!sym) return false;
    /* POSIX guarantees data and function pointers convert; copy the bits to
     * stay within ISO C. */
    memcpy(slot, &sym, size);
    return true;
}

static void *export_dl_open(const char *const *names) {
    for (; *names; names++) {
        void *lib = dlopen(*names, RTLD_NOW | RTLD_LOCAL);
        if (lib) return lib;
    }
    return NULL;
}

static void export_curl_load_once(void) {
    export_curl_error = "libcurl not loaded";
    static const char *const names[] = {"libcurl.so.4", "libcurl.4.dylib", "libcurl.so", NULL};
    void *lib = export_dl_open(names);
    if (!lib) {
        export_curl_error = "libcurl (libcurl.so.4) cannot be loaded; install libcurl4";
        return;
    }
    ptel__curl_api *c = &export_curl;
#    define EXPORT_CURL_SYM(field, name)                                                           \
        if (!export_dl_sym(lib, name, &c->field, sizeof c->field)) {                               \
            export_curl_error = "libcurl lacks " name;                                             \
            return;                                                                                \
        }
    EXPORT_CURL_SYM(global_init, "curl_global_init")
    EXPORT_CURL_SYM(easy_init, "curl_easy_init")
    EXPORT_CURL_SYM(easy_setopt, "curl_easy_setopt")
    EXPORT_CURL_SYM(easy_perform, "curl_easy_perform")
    EXPORT_CURL_SYM(easy_getinfo, "curl_easy_getinfo")
    EXPORT_CURL_SYM(easy_cleanup, "curl_easy_cleanup")
    EXPORT_CURL_SYM(easy_strerror, "curl_easy_strerror")
    EXPORT_CURL_SYM(slist_append, "curl_slist_append")
    EXPORT_CURL_SYM(slist_free_all, "curl_slist_free_all")
#    undef EXPORT_CURL_SYM
    if (c->global_init(PTEL__CURL_GLOBAL_DEFAULT) != PTEL__CURLE_OK) {
        export_curl_error = "curl_global_init failed";
        return;
    }
    export_curl_error = NULL;
}

const ptel__curl_api *ptel__curl_load(const char **why) {
    pthread_once(&export_curl_once, export_curl_load_once);
    if (export_curl_error) {
        *why = export_curl_error;
        return NULL;
    }
    return &export_curl;
}

ptel__curl_headers *ptel__curl_headers_add(const ptel__curl_api *api, ptel__curl_headers *list,
                                           const char *line) {
    return api->slist_append(list, line);
}

void ptel__curl_headers_free(const ptel__curl_api *api, ptel__curl_headers *list) {
    if (list) api->slist_free_all(list);
}

void ptel__curl_handle_free(const ptel__curl_api *api, void *handle) {
    if (handle) api->easy_cleanup(handle);
}

/* Responses are small (an Export*ServiceResponse); keep at most this much. */
enum { EXPORT_BODY_MAX = 64 * 1024 };

static size_t export_curl_write(char *ptr, size_t size, size_t nmemb, void *ud) {
    ptel__http_result *res = ud;
    size_t n = size * nmemb;
    size_t room = res->body.len < EXPORT_BODY_MAX ? EXPORT_BODY_MAX - res->body.len : 0;
    if (room) (void)ptel__buf_append(&res->body, ptr, n < room ? n : room);
    return n;
}

static size_t export_curl_header(char *buf, size_t size, size_t nitems, void *ud) {
    ptel__http_result *res = ud;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    if (n >= 5 && !memcmp(buf, "HTTP/", 5)) res->retry_after[0] = '\0'; /* a new response */
    if (n < sizeof name - 1) return n;
    for (size_t i = 0; i < sizeof name - 1; i++) {
        char c = buf[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if (c != name[i]) return n;
    }
    size_t vlen = n - (sizeof name - 1);
    if (vlen >= sizeof res->retry_after) vlen = sizeof res->retry_after - 1;
    memcpy(res->retry_after, buf + sizeof name - 1, vlen);
    res->retry_after[vlen] = '\0';
    return n;
}

typedef struct export_cancel {
    bool (*fn)(void *ud);
    void *ud;
} export_cancel;

/* CURLOPT_XFERINFOFUNCTION: the four counts are curl_off_t (64-bit). */
static int export_curl_progress(void *ud, long long dltotal, long long dlnow, long long ultotal,
                                long long ulnow) {
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    export_cancel *c = ud;
    return c->fn(c->ud) ? 1 : 0;
}

int ptel__curl_post(const ptel__curl_api *api, void **handle, const char *url,
                    const ptel__curl_headers *headers, const uint8_t *body, size_t len,
                    uint32_t timeout_ms, bool (*cancel)(void *ud), void *cancel_ud,
                    ptel__http_result *res) {
    export_cancel cancel_cb = {cancel, cancel_ud};
    res->status = 0;
    res->retry_after[0] = '\0';
    res->error[0] = '\0';
    res->body.len = 0;
    if (!*handle) *handle = api->easy_init();
    void *h = *handle;
    if (!h) {
        snprintf(res->error, sizeof res->error, "curl_easy_init failed");
        return PTEL_E_NOMEM;
    }
    /* Numeric options take a long and sizes a curl_off_t (64-bit), as the
     * variadic curl_easy_setopt expects. */
    api->easy_setopt(h, PTEL__CURLOPT_URL, url);
    api->easy_setopt(h, PTEL__CURLOPT_POST, 1L);
    api->easy_setopt(h, PTEL__CURLOPT_POSTFIELDS, (const void *)body);
    api->easy_setopt(h, PTEL__CURLOPT_POSTFIELDSIZE_LARGE, (long long)len);
    api->easy_setopt(h, PTEL__CURLOPT_HTTPHEADER, (const void *)headers);
    api->easy_setopt(h, PTEL__CURLOPT_USERAGENT, "ptel/" PTEL_VERSION_STRING);
    api->easy_setopt(h, PTEL__CURLOPT_NOSIGNAL, 1L);
    api->easy_setopt(h, PTEL__CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    api->easy_setopt(h, PTEL__CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    api->easy_setopt(h, PTEL__CURLOPT_WRITEFUNCTION, export_curl_write);
    api->easy_setopt(h, PTEL__CURLOPT_WRITEDATA, (void *)res);
    api->easy_setopt(h, PTEL__CURLOPT_HEADERFUNCTION, export_curl_header);
    api->easy_setopt(h, PTEL__CURLOPT_HEADERDATA, (void *)res);
    api->easy_setopt(h, PTEL__CURLOPT_ERRORBUFFER, res->error);
    api->easy_setopt(h, PTEL__CURLOPT_NOPROGRESS, cancel ? 0L : 1L);
    api->easy_setopt(h, PTEL__CURLOPT_XFERINFOFUNCTION, export_curl_progress);
    api->easy_setopt(h, PTEL__CURLOPT_XFERINFODATA, (void *)&cancel_cb);
    int rc = api->easy_perform(h);
    api->easy_setopt(h, PTEL__CURLOPT_ERRORBUFFER, (char *)NULL);
    if (rc != PTEL__CURLE_OK) {
        if (!res->error[0]) snprintf(res->error, sizeof res->error, "%s", api->easy_strerror(rc));
        /* A broken connection must not be reused. */
        api->easy_cleanup(h);
        *handle = NULL;
        return PTEL_E_IO;
    }
    long code = 0;
    api->easy_getinfo(h, PTEL__CURLINFO_RESPONSE_CODE, &code);
    res->status = code;
    return 0;
}

/* ---- zlib ---------------------------------------------------------------- */

static pthread_once_t export_zlib_once = PTHREAD_ONCE_INIT;
static const char *export_zlib_error;
static struct {
    int (*deflate_init2)(ptel__z_stream *strm, int level, int method, int window_bits,
                         int mem_level, int strategy, const char *version, int stream_size);
    int (*deflate)(ptel__z_stream *strm, int flush);
    int (*deflate_end)(ptel__z_stream *strm);
    unsigned long (*deflate_bound)(ptel__z_stream *strm, unsigned long source_len);
    const char *(*version)(void);
} export_zlib;

static void export_zlib_load_once(void) {
    export_zlib_error = "zlib not loaded";
    static const char *const names[] = {"libz.so.1", "libz.1.dylib", "libz.so", NULL};
    void *lib = export_dl_open(names);
    if (!lib) {
        export_zlib_error = "zlib (libz.so.1) cannot be loaded; install zlib1g";
        return;
    }
    if (!export_dl_sym(lib, "deflateInit2_", &export_zlib.deflate_init2,
                       sizeof export_zlib.deflate_init2) ||
        !export_dl_sym(lib, "deflate", &export_zlib.deflate, sizeof export_zlib.deflate) ||
        !export_dl_sym(lib, "deflateEnd", &export_zlib.deflate_end,
                       sizeof export_zlib.deflate_end) ||
        !export_dl_sym(lib, "deflateBound", &export_zlib.deflate_bound,
                       sizeof export_zlib.deflate_bound) ||
        !export_dl_sym(lib, "zlibVersion", &export_zlib.version, sizeof export_zlib.version)) {
        export_zlib_error = "zlib lacks deflateInit2_, deflate, deflateEnd, deflateBound or "
                            "zlibVersion";
        return;
    }
    export_zlib_error = NULL;
}

bool ptel__zlib_load(const char **why) {
    pthread_once(&export_zlib_once, export_zlib_load_once);
    if (export_zlib_error) *why = export_zlib_error;
    return export_zlib_error == NULL;
}

int ptel__gzip(ptel__buf *out, const uint8_t *in, size_t n) {
    if (n > UINT32_MAX / 2) return PTEL_E_NOMEM;
    ptel__z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16: a gzip wrapper instead of zlib's. */
    if (export_zlib.deflate_init2(&zs, PTEL__Z_DEFAULT_COMPRESSION, PTEL__Z_DEFLATED, 15 + 16, 8,
                                  PTEL__Z_DEFAULT_STRATEGY, export_zlib.version(),
                                  (int)sizeof zs) != PTEL__Z_OK)
        return PTEL_E_IO;
    size_t bound = (size_t)export_zlib.deflate_bound(&zs, (unsigned long)n) + 32;
    out->len = 0;
    if (ptel__buf_reserve(out, bound)) {
        export_zlib.deflate_end(&zs);
        return PTEL_E_NOMEM;
    }
    zs.next_in = in;
    zs.avail_in = (unsigned int)n;
    zs.next_out = out->data;
    zs.avail_out = (unsigned int)bound;
    int rc = export_zlib.deflate(&zs, PTEL__Z_FINISH);
    out->len = bound - zs.avail_out;
    export_zlib.deflate_end(&zs);
    return rc == PTEL__Z_STREAM_END ? 0 : PTEL_E_IO;
}

#endif
