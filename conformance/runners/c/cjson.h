/* A small JSON reader and writer for the conformance runner: a DOM of
 * nodes with the source text of numbers kept, strings decoded to UTF-8
 * (with their byte length, since they may hold NUL). */
#ifndef CONF_CJSON_H
#define CONF_CJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum cj_type { CJ_NULL, CJ_BOOL, CJ_NUMBER, CJ_STRING, CJ_ARRAY, CJ_OBJECT } cj_type;

typedef struct cj {
    cj_type type;
    bool b;
    double num;
    char *str; /* string value (NUL-terminated), or a number's source text */
    size_t len;
    char *key;        /* member key when inside an object */
    size_t key_len;   /* member key length */
    struct cj *child; /* first element or member */
    struct cj *next;  /* next sibling */
    size_t count;
} cj;

/* Parse `len` bytes; NULL on error with a message in `err` (128 bytes). */
cj *cj_parse(const char *text, size_t len, char *err);
void cj_free(cj *node);
/* Member `key` of an object, or NULL. */
const cj *cj_get(const cj *obj, const char *key);
/* String member or `def`; its length in `*len` when `len` is not NULL. */
const char *cj_str(const cj *obj, const char *key, const char *def, size_t *len);
/* Integer member (a JSON number) or `def`. */
uint64_t cj_u64(const cj *obj, const char *key, uint64_t def);
bool cj_bool(const cj *obj, const char *key, bool def);
/* Structural equality (object members in any order, numbers by value). */
bool cj_equal(const cj *a, const cj *b);

/* A growable output buffer. */
typedef struct cj_buf {
    char *p;
    size_t n, cap;
} cj_buf;

void cj_buf_raw(cj_buf *b, const char *s, size_t n);
void cj_buf_cstr(cj_buf *b, const char *s);
/* A JSON string literal for `s[0..n)` (UTF-8 passed through, controls escaped). */
void cj_buf_string(cj_buf *b, const char *s, size_t n);
void cj_buf_hex(cj_buf *b, const uint8_t *d, size_t n);
void cj_buf_u64(cj_buf *b, uint64_t v);

#endif
