/* See cjson.h. Recursion is bounded by CJ_MAX_DEPTH. */
#include "cjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CJ_MAX_DEPTH = 256 };

typedef struct cj_parser {
    const char *s;
    size_t n, i;
    char *err;
} cj_parser;

static void cj_ws(cj_parser *p) {
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static bool cj_fail(cj_parser *p, const char *msg) {
    if (!p->err[0]) snprintf(p->err, 128, "%s at byte %zu", msg, p->i);
    return false;
}

static int cj_hex4(const char *s) {
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

static size_t cj_put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static bool cj_string(cj_parser *p, char **out, size_t *out_len) {
    p->i++; /* opening quote */
    size_t start = p->i;
    char *o = malloc(p->n - start + 1);
    size_t m = 0;
    while (p->i < p->n) {
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') {
            p->i++;
            o[m] = 0;
            *out = o;
            *out_len = m;
            return true;
        }
        if (c < 0x20) {
            free(o);
            return cj_fail(p, "control character in string");
        }
        if (c != '\\') {
            o[m++] = (char)c;
            p->i++;
            continue;
        }
        if (p->i + 1 >= p->n) break;
        char e = p->s[p->i + 1];
        p->i += 2;
        switch (e) {
        case '"':
            o[m++] = '"';
            break;
        case '\\':
            o[m++] = '\\';
            break;
        case '/':
            o[m++] = '/';
            break;
        case 'b':
            o[m++] = '\b';
            break;
        case 'f':
            o[m++] = '\f';
            break;
        case 'n':
            o[m++] = '\n';
            break;
        case 'r':
            o[m++] = '\r';
            break;
        case 't':
            o[m++] = '\t';
            break;
        case 'u': {
            if (p->i + 4 > p->n) goto bad;
            int cp = cj_hex4(p->s + p->i);
            if (cp < 0) goto bad;
            p->i += 4;
            uint32_t u = (uint32_t)cp;
            if (u >= 0xd800 && u < 0xdc00 && p->i + 6 <= p->n && p->s[p->i] == '\\' &&
                p->s[p->i + 1] == 'u') {
                int lo = cj_hex4(p->s + p->i + 2);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    u = 0x10000 + ((u - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
                    p->i += 6;
                }
            }
            m += cj_put_utf8(o + m, u);
            break;
        }
        default:
            goto bad;
        }
    }
    free(o);
    return cj_fail(p, "unterminated string");
bad:
    free(o);
    return cj_fail(p, "bad escape");
}

static cj *cj_value(cj_parser *p, int depth);

static cj *cj_node(cj_type t) {
    cj *n = calloc(1, sizeof *n);
    n->type = t;
    return n;
}

static cj *cj_container(cj_parser *p, int depth, bool object) {
    cj *node = cj_node(object ? CJ_OBJECT : CJ_ARRAY);
    cj **tail = &node->child;
    char close = object ? '}' : ']';
    p->i++;
    cj_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return node;
    }
    for (;;) {
        char *key = NULL;
        size_t key_len = 0;
        cj_ws(p);
        if (object) {
            if (p->i >= p->n || p->s[p->i] != '"' || !cj_string(p, &key, &key_len)) {
                cj_fail(p, "expected a key");
                goto fail;
            }
            cj_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') {
                free(key);
                cj_fail(p, "expected ':'");
                goto fail;
            }
            p->i++;
        }
        cj *v = cj_value(p, depth + 1);
        if (!v) {
            free(key);
            goto fail;
        }
        v->key = key;
        v->key_len = key_len;
        *tail = v;
        tail = &v->next;
        node->count++;
        cj_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            return node;
        }
        cj_fail(p, "expected ',' or a closing bracket");
        goto fail;
    }
fail:
    cj_free(node);
    return NULL;
}

static cj *cj_value(cj_parser *p, int depth) {
    if (depth > CJ_MAX_DEPTH) {
        cj_fail(p, "nesting too deep");
        return NULL;
    }
    cj_ws(p);
    if (p->i >= p->n) {
        cj_fail(p, "unexpected end");
        return NULL;
    }
    char c = p->s[p->i];
    if (c == '{') return cj_container(p, depth, true);
    if (c == '[') return cj_container(p, depth, false);
    if (c == '"') {
        cj *n = cj_node(CJ_STRING);
        if (!cj_string(p, &n->str, &n->len)) {
            free(n);
            return NULL;
        }
        return n;
    }
    static const struct {
        const char *word;
        cj_type type;
        bool b;
    } words[] = {{"true", CJ_BOOL, true}, {"false", CJ_BOOL, false}, {"null", CJ_NULL, false}};
    for (size_t k = 0; k < 3; k++) {
        size_t wl = strlen(words[k].word);
        if (p->n - p->i >= wl && memcmp(p->s + p->i, words[k].word, wl) == 0) {
            p->i += wl;
            cj *n = cj_node(words[k].type);
            n->b = words[k].b;
            return n;
        }
    }
    size_t start = p->i;
    while (p->i < p->n && strchr("+-0123456789.eE", p->s[p->i]) && p->s[p->i]) p->i++;
    if (p->i == start) {
        cj_fail(p, "unexpected character");
        return NULL;
    }
    cj *n = cj_node(CJ_NUMBER);
    n->len = p->i - start;
    n->str = malloc(n->len + 1);
    memcpy(n->str, p->s + start, n->len);
    n->str[n->len] = 0;
    char *end = NULL;
    n->num = strtod(n->str, &end);
    if (end != n->str + n->len) {
        cj_free(n);
        cj_fail(p, "bad number");
        return NULL;
    }
    return n;
}

cj *cj_parse(const char *text, size_t len, char *err) {
    cj_parser p = {text, len, 0, err};
    err[0] = 0;
    cj *v = cj_value(&p, 0);
    if (!v) return NULL;
    cj_ws(&p);
    if (p.i != p.n) {
        cj_fail(&p, "trailing data");
        cj_free(v);
        return NULL;
    }
    return v;
}

void cj_free(cj *node) {
    while (node) {
        cj *next = node->next;
        cj_free(node->child);
        free(node->str);
        free(node->key);
        free(node);
        node = next;
    }
}

const cj *cj_get(const cj *obj, const char *key) {
    if (!obj || obj->type != CJ_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (const cj *c = obj->child; c; c = c->next)
        if (c->key_len == kl && memcmp(c->key, key, kl) == 0) return c;
    return NULL;
}

const char *cj_str(const cj *obj, const char *key, const char *def, size_t *len) {
    const cj *v = cj_get(obj, key);
    if (!v || v->type != CJ_STRING) {
        if (len) *len = def ? strlen(def) : 0;
        return def;
    }
    if (len) *len = v->len;
    return v->str;
}

uint64_t cj_u64(const cj *obj, const char *key, uint64_t def) {
    const cj *v = cj_get(obj, key);
    if (!v || v->type != CJ_NUMBER) return def;
    return strtoull(v->str, NULL, 10);
}

bool cj_bool(const cj *obj, const char *key, bool def) {
    const cj *v = cj_get(obj, key);
    return v && v->type == CJ_BOOL ? v->b : def;
}

bool cj_equal(const cj *a, const cj *b) {
    if (a->type != b->type) return false;
    switch (a->type) {
    case CJ_NULL:
        return true;
    case CJ_BOOL:
        return a->b == b->b;
    case CJ_NUMBER:
        return a->num == b->num || (isnan(a->num) && isnan(b->num));
    case CJ_STRING:
        return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
    case CJ_ARRAY: {
        if (a->count != b->count) return false;
        for (const cj *x = a->child, *y = b->child; x; x = x->next, y = y->next)
            if (!cj_equal(x, y)) return false;
        return true;
    }
    case CJ_OBJECT: {
        if (a->count != b->count) return false;
        for (const cj *x = a->child; x; x = x->next) {
            const cj *y = NULL;
            for (const cj *c = b->child; c; c = c->next)
                if (c->key_len == x->key_len && memcmp(c->key, x->key, x->key_len) == 0) y = c;
            if (!y || !cj_equal(x, y)) return false;
        }
        return true;
    }
    }
    return false;
}

void cj_buf_raw(cj_buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->n + n + 1 > cap) cap *= 2;
        b->p = realloc(b->p, cap);
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void cj_buf_cstr(cj_buf *b, const char *s) { cj_buf_raw(b, s, strlen(s)); }

void cj_buf_string(cj_buf *b, const char *s, size_t n) {
    cj_buf_raw(b, "\"", 1);
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        char tmp[8];
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            cj_buf_raw(b, tmp, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            cj_buf_raw(b, tmp, 6);
        } else {
            cj_buf_raw(b, (const char *)&s[k], 1);
        }
    }
    cj_buf_raw(b, "\"", 1);
}

void cj_buf_hex(cj_buf *b, const uint8_t *d, size_t n) {
    static const char hx[] = "0123456789abcdef";
    for (size_t k = 0; k < n; k++) {
        char t[2] = {hx[d[k] >> 4], hx[d[k] & 15]};
        cj_buf_raw(b, t, 2);
    }
}

void cj_buf_u64(cj_buf *b, uint64_t v) {
    char t[24];
    int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    cj_buf_raw(b, t, (size_t)n);
}
