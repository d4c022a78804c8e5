/* The libcurl and zlib declarations of export_internal.h against the real
 * headers: every option number, constant and the z_stream layout. Compiled
 * with the checks only where <curl/curl.h> and <zlib.h> are installed
 * (scripts/bootstrap.sh installs them); elsewhere it checks that the
 * libraries load at run time, or that their absence is reported. */
#include "test_export_util.h"

#if defined(__has_include)
#    if __has_include(<curl/curl.h>)
#        include <curl/curl.h>
#        define HAVE_CURL_H 1
#    endif
#    if __has_include(<zlib.h>)
#        include <zlib.h>
#        define HAVE_ZLIB_H 1
#    endif
#endif

#include <dlfcn.h>
#include <stddef.h>

static void test_curl(void) {
#ifdef HAVE_CURL_H
    CHECK_EQ_INT(PTEL__CURLOPT_WRITEDATA, CURLOPT_WRITEDATA);
    CHECK_EQ_INT(PTEL__CURLOPT_URL, CURLOPT_URL);
    CHECK_EQ_INT(PTEL__CURLOPT_ERRORBUFFER, CURLOPT_ERRORBUFFER);
    CHECK_EQ_INT(PTEL__CURLOPT_WRITEFUNCTION, CURLOPT_WRITEFUNCTION);
    CHECK_EQ_INT(PTEL__CURLOPT_POSTFIELDS, CURLOPT_POSTFIELDS);
    CHECK_EQ_INT(PTEL__CURLOPT_USERAGENT, CURLOPT_USERAGENT);
    CHECK_EQ_INT(PTEL__CURLOPT_HTTPHEADER, CURLOPT_HTTPHEADER);
    CHECK_EQ_INT(PTEL__CURLOPT_HEADERDATA, CURLOPT_HEADERDATA);
    CHECK_EQ_INT(PTEL__CURLOPT_POST, CURLOPT_POST);
    CHECK_EQ_INT(PTEL__CURLOPT_NOSIGNAL, CURLOPT_NOSIGNAL);
    CHECK_EQ_INT(PTEL__CURLOPT_TIMEOUT_MS, CURLOPT_TIMEOUT_MS);
    CHECK_EQ_INT(PTEL__CURLOPT_CONNECTTIMEOUT_MS, CURLOPT_CONNECTTIMEOUT_MS);
    CHECK_EQ_INT(PTEL__CURLOPT_HEADERFUNCTION, CURLOPT_HEADERFUNCTION);
    CHECK_EQ_INT(PTEL__CURLOPT_POSTFIELDSIZE_LARGE, CURLOPT_POSTFIELDSIZE_LARGE);
    CHECK_EQ_INT(PTEL__CURLOPT_NOPROGRESS, CURLOPT_NOPROGRESS);
    CHECK_EQ_INT(PTEL__CURLOPT_XFERINFODATA, CURLOPT_XFERINFODATA);
    CHECK_EQ_INT(PTEL__CURLOPT_XFERINFOFUNCTION, CURLOPT_XFERINFOFUNCTION);
    CHECK_EQ_INT(PTEL__CURLINFO_RESPONSE_CODE, CURLINFO_RESPONSE_CODE);
    CHECK_EQ_INT(PTEL__CURL_GLOBAL_DEFAULT, CURL_GLOBAL_DEFAULT);
    CHECK_EQ_INT(PTEL__CURLE_OK, CURLE_OK);
    CHECK_EQ_INT(PTEL__CURL_ERROR_SIZE, CURL_ERROR_SIZE);
    /* The size we pass for CURLOPT_POSTFIELDSIZE_LARGE. */
    CHECK_EQ_INT(sizeof(long long), sizeof(curl_off_t));
#else
    fprintf(stderr, "note: <curl/curl.h> not installed; declarations not compared\n");
#endif
    const char *why = NULL;
    const ptel__curl_api *api = ptel__curl_load(&why);
    CHECK(api != NULL || why != NULL);
    if (!api) fprintf(stderr, "note: libcurl not loadable: %s\n", why);
}

static void test_zlib(void) {
#ifdef HAVE_ZLIB_H
    CHECK_EQ_INT(PTEL__Z_OK, Z_OK);
    CHECK_EQ_INT(PTEL__Z_STREAM_END, Z_STREAM_END);
    CHECK_EQ_INT(PTEL__Z_FINISH, Z_FINISH);
    CHECK_EQ_INT(PTEL__Z_DEFLATED, Z_DEFLATED);
    CHECK_EQ_INT(PTEL__Z_DEFAULT_COMPRESSION, Z_DEFAULT_COMPRESSION);
    CHECK_EQ_INT(PTEL__Z_DEFAULT_STRATEGY, Z_DEFAULT_STRATEGY);
    CHECK_EQ_INT(sizeof(ptel__z_stream), sizeof(z_stream));
#    define SAME_FIELD(f)                                                                          \
        do {                                                                                       \
            CHECK_EQ_INT(offsetof(ptel__z_stream, f), offsetof(z_stream, f));                      \
            CHECK_EQ_INT(sizeof(((ptel__z_stream *)0)->f), sizeof(((z_stream *)0)->f));            \
        } while (0)
    SAME_FIELD(next_in);
    SAME_FIELD(avail_in);
    SAME_FIELD(total_in);
    SAME_FIELD(next_out);
    SAME_FIELD(avail_out);
    SAME_FIELD(total_out);
    SAME_FIELD(msg);
    SAME_FIELD(state);
    SAME_FIELD(zalloc);
    SAME_FIELD(zfree);
    SAME_FIELD(opaque);
    SAME_FIELD(data_type);
    SAME_FIELD(adler);
    SAME_FIELD(reserved);
#    undef SAME_FIELD
    /* Our gzip through the loaded zlib matches the real zlib's inflate. */
    const char *why = NULL;
    CHECK(ptel__zlib_load(&why));
    static const uint8_t text[] = "ptel ptel ptel ptel ptel ptel ptel ptel ptel ptel";
    ptel__buf gz;
    ptel__buf_init(&gz, ptel__allocator(NULL));
    CHECK_EQ_INT(ptel__gzip(&gz, text, sizeof text), 0);
    CHECK(gz.len > 18 && gz.data[0] == 0x1f && gz.data[1] == 0x8b && gz.data[2] == 8);
    /* The real zlib's inflate, declared by <zlib.h>, resolved at run time
     * so that the test needs no -lz. */
    void *lib = dlopen("libz.so.1", RTLD_NOW | RTLD_LOCAL);
    CHECK(lib != NULL);
    if (lib) {
        void *p[4] = {dlsym(lib, "inflateInit2_"), dlsym(lib, "inflate"), dlsym(lib, "inflateEnd"),
                      dlsym(lib, "zlibVersion")};
        int (*init)(z_streamp, int, const char *, int);
        int (*inf)(z_streamp, int);
        int (*end)(z_streamp);
        const char *(*ver)(void);
        memcpy(&init, &p[0], sizeof p[0]);
        memcpy(&inf, &p[1], sizeof p[1]);
        memcpy(&end, &p[2], sizeof p[2]);
        memcpy(&ver, &p[3], sizeof p[3]);
        uint8_t out[128];
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        CHECK_EQ_INT(init(&zs, 15 + 16, ver(), (int)sizeof zs), Z_OK);
        zs.next_in = gz.data;
        zs.avail_in = (uInt)gz.len;
        zs.next_out = out;
        zs.avail_out = sizeof out;
        CHECK_EQ_INT(inf(&zs, Z_FINISH), Z_STREAM_END);
        CHECK_BYTES(out, sizeof out - zs.avail_out, text, sizeof text);
        end(&zs);
        dlclose(lib);
    }
    ptel__buf_free(&gz);
#else
    fprintf(stderr, "note: <zlib.h> not installed; declarations not compared\n");
#endif
}

int main(void) {
    RUN(test_curl);
    RUN(test_zlib);
    return test_summary();
}
