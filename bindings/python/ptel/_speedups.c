/* ptel._speedups: the parts of the Python binding that Python bytecode
 * makes too slow, as a small CPython extension next to the CFFI one.
 *
 * - NonRecordingSpanBase: the methods of ptel.NonRecordingSpan (the shared
 *   span of a disabled recorder), all no-ops written in C, so that
 *   `with span: span.set_attribute(...)` runs no bytecode.
 * - SpanReturner: the callable a disabled Recorder binds as its `span`; it
 *   checks the arguments as `Recorder.span` would and returns the span.
 * - Packer: turns a batch of Python attributes into the core's ptel_attr
 *   array in a buffer it owns (the rules are in _attrs.py).
 *
 * None of this calls into the ptel C core or decides a byte of the payload:
 * it only checks arguments and marshals Python objects into the core's
 * public structs, which the CFFI extension then passes to the core. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "ptel/common.h"

/* Not a ptel_value_type: the core refuses the value and counts it. */
#define SPEEDUPS_INVALID_TYPE 0xFFFFu

/* ---- argument checks --------------------------------------------------- */

/* A Python signature: `npos` leading parameters may be positional, the
 * first `nreq` are required, `names` has all `ntotal` of them. */
typedef struct {
    const char *fn;
    const char *const *names;
    PyObject **interned; /* the names as interned str, filled at import */
    int npos;
    int nreq;
    int ntotal;
} speedups_sig;

static int speedups_sig_init(speedups_sig *s) {
    for (int i = 0; i < s->ntotal; i++) {
        s->interned[i] = PyUnicode_InternFromString(s->names[i]);
        if (s->interned[i] == NULL) return -1;
    }
    return 0;
}

static int speedups_sig_index(const speedups_sig *s, PyObject *kw) {
    for (int i = 0; i < s->ntotal; i++) /* call sites pass interned names */
        if (kw == s->interned[i]) return i;
    for (int i = 0; i < s->ntotal; i++)
        if (PyUnicode_Compare(kw, s->interned[i]) == 0) return i;
    return -1;
}

/* Raise TypeError, as Python's own argument binding would, unless the
 * arguments fit the signature. */
static int speedups_sig_check(const speedups_sig *s, Py_ssize_t nargs, PyObject *kwnames) {
    if (nargs > s->npos) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional argument%s (%zd given)",
                     s->fn, s->npos, s->npos == 1 ? "" : "s", nargs);
        return -1;
    }
    unsigned filled = (1u << nargs) - 1u;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *kw = PyTuple_GET_ITEM(kwnames, k);
        int i = speedups_sig_index(s, kw);
        if (i < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", s->fn,
                         kw);
            return -1;
        }
        if (filled & (1u << i)) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", s->fn,
                         s->names[i]);
            return -1;
        }
        filled |= 1u << i;
    }
    for (int i = 0; i < s->nreq; i++) {
        if (!(filled & (1u << i))) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", s->fn,
                         s->names[i]);
            return -1;
        }
    }
    return 0;
}

#define SPEEDUPS_SIG(var, fn, npos, nreq, ...)                                                     \
    static const char *const var##_names[] = {__VA_ARGS__};                                        \
    static PyObject *var##_interned[sizeof var##_names / sizeof var##_names[0]];                   \
    static speedups_sig var = {                                                                    \
        fn,   var##_names, var##_interned,                                                         \
        npos, nreq,        (int)(sizeof var##_names / sizeof var##_names[0])}

/* The signatures these no-ops accept (those of ptel.Span and Recorder.span).
 * Static data, filled once at import and never changed: not state. */
SPEEDUPS_SIG(sig_span, "span", 1, 1, "name", "kind", "attributes", "parent", "start_time");
SPEEDUPS_SIG(sig_exit, "__exit__", 3, 3, "exc_type", "exc", "tb");
SPEEDUPS_SIG(sig_set_attribute, "set_attribute", 2, 2, "key", "value");
SPEEDUPS_SIG(sig_set_attributes, "set_attributes", 1, 1, "attributes");
SPEEDUPS_SIG(sig_add_event, "add_event", 3, 1, "name", "attributes", "timestamp");
SPEEDUPS_SIG(sig_add_link, "add_link", 3, 1, "context", "attributes", "tracestate");
SPEEDUPS_SIG(sig_set_status, "set_status", 2, 1, "code", "description");
SPEEDUPS_SIG(sig_record_exception, "record_exception", 2, 1, "exception", "timestamp");
SPEEDUPS_SIG(sig_update_name, "update_name", 1, 1, "name");
SPEEDUPS_SIG(sig_end, "end", 1, 0, "end_time");

static speedups_sig *const speedups_sigs[] = {
    &sig_span,     &sig_exit,       &sig_set_attribute,    &sig_set_attributes, &sig_add_event,
    &sig_add_link, &sig_set_status, &sig_record_exception, &sig_update_name,    &sig_end,
};

/* ---- NonRecordingSpanBase ---------------------------------------------- */

/* `with span:` looks up __enter__ and __exit__ on the type and binds them
 * to the span, which allocates two method objects per `with`: more than the
 * rest of the disabled path. So both are descriptors (speedups_with) that
 * hand out callables made once: the span's own `enter` (a method bound once
 * and cached in the span) and one module-wide `exit`. */
typedef struct {
    PyObject_HEAD PyObject *enter; /* __enter__ bound to this span, made on first use */
} nrs;

static PyTypeObject nrs_type;

/* The module-wide __exit__ callable; made at import, never changed. */
static PyObject *speedups_exit;

static PyObject *nrs_enter(PyObject *self, PyObject *unused) {
    (void)unused;
    Py_INCREF(self);
    return self;
}

static PyMethodDef nrs_enter_def = {"__enter__", nrs_enter, METH_NOARGS, "Returns the span."};

static PyObject *nrs_is_recording(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    Py_RETURN_FALSE;
}

/* Every no-op method: check the arguments, return None. */
#define SPEEDUPS_NOOP(name, sig)                                                                   \
    static PyObject *nrs_##name(PyObject *self, PyObject *const *args, Py_ssize_t nargs,           \
                                PyObject *kwnames) {                                               \
        (void)self;                                                                                \
        (void)args;                                                                                \
        if (speedups_sig_check(&sig, nargs, kwnames)) return NULL;                                 \
        Py_RETURN_NONE;                                                                            \
    }

SPEEDUPS_NOOP(exit, sig_exit)
SPEEDUPS_NOOP(set_attribute, sig_set_attribute)
SPEEDUPS_NOOP(set_attributes, sig_set_attributes)
SPEEDUPS_NOOP(add_event, sig_add_event)
SPEEDUPS_NOOP(add_link, sig_add_link)
SPEEDUPS_NOOP(set_status, sig_set_status)
SPEEDUPS_NOOP(record_exception, sig_record_exception)
SPEEDUPS_NOOP(update_name, sig_update_name)
SPEEDUPS_NOOP(end, sig_end)

#define SPEEDUPS_FAST (METH_FASTCALL | METH_KEYWORDS)
#define SPEEDUPS_FN(f) (PyCFunction)(void (*)(void))(f)

static PyMethodDef nrs_exit_def = {"__exit__", SPEEDUPS_FN(nrs_exit), SPEEDUPS_FAST,
                                   "Does nothing (the exception, if any, propagates)."};

static PyMethodDef nrs_methods[] = {
    {"set_attribute", SPEEDUPS_FN(nrs_set_attribute), SPEEDUPS_FAST, "Does nothing."},
    {"set_attributes", SPEEDUPS_FN(nrs_set_attributes), SPEEDUPS_FAST, "Does nothing."},
    {"add_event", SPEEDUPS_FN(nrs_add_event), SPEEDUPS_FAST, "Does nothing."},
    {"add_link", SPEEDUPS_FN(nrs_add_link), SPEEDUPS_FAST, "Does nothing."},
    {"set_status", SPEEDUPS_FN(nrs_set_status), SPEEDUPS_FAST, "Does nothing."},
    {"record_exception", SPEEDUPS_FN(nrs_record_exception), SPEEDUPS_FAST, "Does nothing."},
    {"update_name", SPEEDUPS_FN(nrs_update_name), SPEEDUPS_FAST, "Does nothing."},
    {"end", SPEEDUPS_FN(nrs_end), SPEEDUPS_FAST, "Does nothing."},
    {"is_recording", nrs_is_recording, METH_NOARGS, "Always False."},
    {NULL, NULL, 0, NULL},
};

static int nrs_traverse(PyObject *self, visitproc visit, void *arg) {
    Py_VISIT(((nrs *)self)->enter);
    return 0;
}

static int nrs_clear(PyObject *self) {
    Py_CLEAR(((nrs *)self)->enter);
    return 0;
}

static void nrs_dealloc(PyObject *self) {
    /* A Python subclass's instance comes here from subtype_dealloc, which
     * releases the reference to the subclass itself. */
    PyObject_GC_UnTrack(self);
    nrs_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyTypeObject nrs_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ptel._speedups.NonRecordingSpanBase",
    .tp_basicsize = sizeof(nrs),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The no-op methods of ptel.NonRecordingSpan, in C.",
    .tp_methods = nrs_methods,
    .tp_new = PyType_GenericNew,
    .tp_traverse = nrs_traverse,
    .tp_clear = nrs_clear,
    .tp_dealloc = nrs_dealloc,
};

/* The __enter__ / __exit__ descriptor of NonRecordingSpanBase. */
typedef struct {
    PyObject_HEAD int is_exit;
} with_descr;

static PyObject *with_descr_get(PyObject *self, PyObject *obj, PyObject *type) {
    (void)type;
    if (obj == NULL || obj == Py_None) { /* looked up on the class: unbound */
        Py_INCREF(self);
        return self;
    }
    if (!PyObject_TypeCheck(obj, &nrs_type)) {
        PyErr_SetString(PyExc_TypeError, "descriptor needs a NonRecordingSpanBase");
        return NULL;
    }
    if (((with_descr *)self)->is_exit) {
        Py_INCREF(speedups_exit);
        return speedups_exit;
    }
    nrs *span = (nrs *)obj;
    if (span->enter == NULL) {
        span->enter = PyCFunction_New(&nrs_enter_def, obj);
        if (span->enter == NULL) return NULL;
    }
    Py_INCREF(span->enter);
    return span->enter;
}

/* Called unbound, as `NonRecordingSpan.__exit__(span, t, e, tb)`. */
static PyObject *with_descr_call(PyObject *self, PyObject *args, PyObject *kwargs) {
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n < 1 || !PyObject_TypeCheck(PyTuple_GET_ITEM(args, 0), &nrs_type)) {
        PyErr_SetString(PyExc_TypeError, "unbound method needs a NonRecordingSpanBase");
        return NULL;
    }
    PyObject *span = PyTuple_GET_ITEM(args, 0);
    if (!((with_descr *)self)->is_exit) {
        if (n != 1 || (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0)) {
            PyErr_SetString(PyExc_TypeError, "__enter__() takes no arguments");
            return NULL;
        }
        Py_INCREF(span);
        return span;
    }
    PyObject *rest = PyTuple_GetSlice(args, 1, n);
    if (rest == NULL) return NULL;
    PyObject *r = PyObject_Call(speedups_exit, rest, kwargs);
    Py_DECREF(rest);
    return r;
}

static PyTypeObject with_descr_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ptel._speedups.WithMethod",
    .tp_basicsize = sizeof(with_descr),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "__enter__ / __exit__ of NonRecordingSpanBase, bound without allocating.",
    .tp_descr_get = with_descr_get,
    .tp_call = with_descr_call,
};

/* Put the two descriptors into NonRecordingSpanBase (after PyType_Ready). */
static int nrs_add_with_methods(void) {
    speedups_exit = PyCFunction_New(&nrs_exit_def, NULL);
    if (speedups_exit == NULL) return -1;
    for (int is_exit = 0; is_exit < 2; is_exit++) {
        with_descr *d = PyObject_New(with_descr, &with_descr_type);
        if (d == NULL) return -1;
        d->is_exit = is_exit;
        int rc = PyDict_SetItemString(nrs_type.tp_dict, is_exit ? "__exit__" : "__enter__",
                                      (PyObject *)d);
        Py_DECREF(d);
        if (rc) return -1;
    }
    PyType_Modified(&nrs_type);
    return 0;
}

/* ---- SpanReturner ------------------------------------------------------ */

typedef struct {
    PyObject_HEAD PyObject *span;
    vectorcallfunc vectorcall;
} returner;

static PyObject *returner_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                     PyObject *kwnames) {
    (void)args;
    if (speedups_sig_check(&sig_span, PyVectorcall_NARGS(nargsf), kwnames)) return NULL;
    PyObject *span = ((returner *)self)->span;
    Py_INCREF(span);
    return span;
}

static PyObject *returner_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *span;
    static char *kwlist[] = {"span", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:SpanReturner", kwlist, &span)) return NULL;
    returner *r = (returner *)type->tp_alloc(type, 0);
    if (r == NULL) return NULL;
    Py_INCREF(span);
    r->span = span;
    r->vectorcall = returner_vectorcall;
    return (PyObject *)r;
}

static int returner_traverse(PyObject *self, visitproc visit, void *arg) {
    Py_VISIT(((returner *)self)->span);
    return 0;
}

static int returner_clear(PyObject *self) {
    Py_CLEAR(((returner *)self)->span);
    return 0;
}

static void returner_dealloc(PyObject *self) {
    PyObject_GC_UnTrack(self);
    returner_clear(self);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *returner_get_span(PyObject *self, void *closure) {
    (void)closure;
    PyObject *span = ((returner *)self)->span;
    if (span == NULL) Py_RETURN_NONE; /* only after the GC cleared a cycle */
    Py_INCREF(span);
    return span;
}

static PyGetSetDef returner_getset[] = {
    {"span", returner_get_span, NULL, "The span every call returns.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject returner_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ptel._speedups.SpanReturner",
    .tp_basicsize = sizeof(returner),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "SpanReturner(span): a callable with the signature of Recorder.span that\n"
              "returns `span`: what a disabled Recorder binds as its `span`.",
    .tp_new = returner_new,
    .tp_dealloc = returner_dealloc,
    .tp_traverse = returner_traverse,
    .tp_clear = returner_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(returner, vectorcall),
    .tp_getset = returner_getset,
};

/* ---- Packer ------------------------------------------------------------ */

/* collections.abc.Mapping, looked up once at import; read-only after. */
static PyObject *speedups_mapping_abc;

typedef struct {
    PyObject_HEAD char *buf;
    size_t cap;
    size_t off;         /* bump pointer of the batch being packed */
    Py_ssize_t max_len; /* attribute_value_length: strings and bytes are cut to it */
    int max_depth;      /* nesting deeper than this becomes an empty container */
    int busy;           /* a pack is running (a callback into Python could re-enter) */
} packer;

/* The buffer is too small: pack again with a bigger one. Not a Python
 * error, so it never leaks out. */
#define PACK_REGROW 1

/* `size` bytes of the batch, 8-aligned, as an offset into the buffer. */
static int packer_alloc(packer *p, size_t size, size_t *at) {
    size_t off = (p->off + 7u) & ~(size_t)7u;
    if (off > p->cap || size > p->cap - off) return PACK_REGROW;
    *at = off;
    p->off = off + size;
    return 0;
}

static int packer_copy(packer *p, const char *data, size_t n, ptel_str *out) {
    if (n > p->cap - p->off) return PACK_REGROW;
    memcpy(p->buf + p->off, data, n);
    out->ptr = p->buf + p->off;
    out->len = n;
    p->off += n;
    return 0;
}

/* A str as UTF-8 (lone surrogates encoded as they are, which the core then
 * refuses), cut to `cut` code points unless `cut` is negative. */
static int packer_text(packer *p, PyObject *s, Py_ssize_t cut, ptel_str *out) {
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) return -1;
#endif
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    if (PyUnicode_IS_ASCII(s))
        return packer_copy(p, (const char *)PyUnicode_DATA(s),
                           (size_t)(cut >= 0 && n > cut ? cut : n), out);
    if (cut >= 0 && n > cut) {
        PyObject *head = PyUnicode_Substring(s, 0, cut);
        if (head == NULL) return -1;
        int rc = packer_text(p, head, -1, out);
        Py_DECREF(head);
        return rc;
    }
    Py_ssize_t len;
    const char *utf8 = PyUnicode_AsUTF8AndSize(s, &len);
    if (utf8 != NULL) return packer_copy(p, utf8, (size_t)len, out);
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return -1;
    PyErr_Clear();
    PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
    if (b == NULL) return -1;
    int rc = packer_copy(p, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b), out);
    Py_DECREF(b);
    return rc;
}

/* A key: a str, never cut; anything else is an empty key (refused by the
 * core). */
static int packer_key(packer *p, PyObject *k, ptel_str *out) {
    if (!PyUnicode_Check(k)) {
        out->ptr = NULL;
        out->len = 0;
        return 0;
    }
    return packer_text(p, k, -1, out);
}

static int packer_value(packer *p, PyObject *v, int depth, ptel_value *out);

static int packer_array(packer *p, PyObject *seq, int depth, ptel_value *out) {
    out->type = PTEL_VALUE_ARRAY;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (depth >= p->max_depth || n == 0) return 0; /* too deep: the core writes it empty */
    if ((size_t)n > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many elements in an attribute value");
        return -1;
    }
    size_t at;
    int rc = packer_alloc(p, (size_t)n * sizeof(ptel_value), &at);
    if (rc) return rc;
    memset(p->buf + at, 0, (size_t)n * sizeof(ptel_value));
    Py_ssize_t i = 0;
    /* Converting an element may run Python code that shrinks the list: read
     * its size and items afresh each time and keep what was converted. */
    for (; i < n && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *e = PySequence_Fast_GET_ITEM(seq, i);
        Py_INCREF(e);
        rc = packer_value(p, e, depth + 1, (ptel_value *)(void *)(p->buf + at) + i);
        Py_DECREF(e);
        if (rc) return rc;
    }
    out->count = (uint32_t)i;
    out->array = (const ptel_value *)(void *)(p->buf + at);
    return 0;
}

/* One (key, value) pair of `items` (a 2-tuple, or any 2-sequence). */
static int packer_pair(packer *p, PyObject *pair, int depth, ptel_attr *out) {
    if (PyTuple_CheckExact(pair) && PyTuple_GET_SIZE(pair) == 2) {
        int rc = packer_key(p, PyTuple_GET_ITEM(pair, 0), &out->key);
        return rc ? rc : packer_value(p, PyTuple_GET_ITEM(pair, 1), depth, &out->value);
    }
    PyObject *t = PySequence_Tuple(pair);
    if (t == NULL) return -1;
    int rc;
    if (PyTuple_GET_SIZE(t) != 2) {
        PyErr_SetString(PyExc_ValueError, "an attribute must be a (key, value) pair");
        rc = -1;
    } else {
        rc = packer_pair(p, t, depth, out);
    }
    Py_DECREF(t);
    return rc;
}

/* `n` attributes at offset `at`: the pairs of a dict, or of a list. */
static int packer_attrs(packer *p, PyObject *src, Py_ssize_t n, int depth, size_t at) {
    memset(p->buf + at, 0, (size_t)n * sizeof(ptel_attr));
    ptel_attr *attrs = (ptel_attr *)(void *)(p->buf + at);
    if (PyDict_CheckExact(src)) {
        Py_ssize_t pos = 0, i = 0;
        PyObject *k, *v;
        while (i < n && PyDict_Next(src, &pos, &k, &v)) {
            /* Keep the key and value alive: converting one may run Python code. */
            Py_INCREF(k);
            Py_INCREF(v);
            int rc = packer_key(p, k, &attrs[i].key);
            if (rc == 0) rc = packer_value(p, v, depth, &attrs[i].value);
            Py_DECREF(k);
            Py_DECREF(v);
            if (rc) return rc;
            i++;
        }
        if (i != n) {
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            return -1;
        }
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        int rc = packer_pair(p, PyList_GET_ITEM(src, i), depth, &attrs[i]);
        if (rc) return rc;
    }
    return 0;
}

static int packer_kvlist(packer *p, PyObject *m, int depth, ptel_value *out) {
    out->type = PTEL_VALUE_KVLIST;
    if (depth >= p->max_depth) return 0;
    PyObject *items = PyMapping_Items(m); /* a new list: safe to index while converting */
    if (items == NULL) return -1;
    Py_ssize_t n = PyList_GET_SIZE(items);
    int rc = 0;
    size_t at = 0;
    if (n > 0 && (size_t)n > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many entries in an attribute value");
        rc = -1;
    } else if (n > 0) {
        rc = packer_alloc(p, (size_t)n * sizeof(ptel_attr), &at);
        if (rc == 0) rc = packer_attrs(p, items, n, depth + 1, at);
    }
    Py_DECREF(items);
    if (rc || n == 0) return rc;
    out->count = (uint32_t)n;
    out->kvlist = (const ptel_attr *)(void *)(p->buf + at);
    return 0;
}

/* bytes, bytearray or memoryview, cut to max_len (memoryview: elements). */
static int packer_bytes(packer *p, PyObject *v, ptel_value *out) {
    out->type = PTEL_VALUE_BYTES;
    if (PyBytes_Check(v) || PyByteArray_Check(v)) {
        size_t n = (size_t)Py_SIZE(v);
        if (n > (size_t)p->max_len) n = (size_t)p->max_len;
        const char *data = PyBytes_Check(v) ? PyBytes_AS_STRING(v) : PyByteArray_AS_STRING(v);
        return packer_copy(p, data, n, &out->str);
    }
    Py_ssize_t n = PyObject_Length(v);
    if (n < 0) return -1;
    PyObject *data;
    if (n > p->max_len) {
        PyObject *head = PySequence_GetSlice(v, 0, p->max_len);
        if (head == NULL) return -1;
        data = PyBytes_FromObject(head);
        Py_DECREF(head);
    } else {
        data = PyBytes_FromObject(v);
    }
    if (data == NULL) return -1;
    int rc = packer_copy(p, PyBytes_AS_STRING(data), (size_t)PyBytes_GET_SIZE(data), &out->str);
    Py_DECREF(data);
    return rc;
}

/* An int as INT, or beyond int64 as the STRING of its decimal digits. */
static int packer_int(packer *p, PyObject *v, ptel_value *out) {
    int overflow;
    long long i = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (i == -1 && PyErr_Occurred()) return -1;
    if (!overflow) {
        out->type = PTEL_VALUE_INT;
        out->i = (int64_t)i;
        return 0;
    }
    PyObject *digits = PyObject_Str(v);
    if (digits == NULL) return -1;
    out->type = PTEL_VALUE_STRING;
    int rc = packer_text(p, digits, p->max_len, &out->str);
    Py_DECREF(digits);
    return rc;
}

/* One value, in the order of the rules in _attrs.py. */
static int packer_value(packer *p, PyObject *v, int depth, ptel_value *out) {
    PyTypeObject *t = Py_TYPE(v);
    if (t == &PyUnicode_Type) {
        out->type = PTEL_VALUE_STRING;
        return packer_text(p, v, p->max_len, &out->str);
    }
    if (t == &PyLong_Type) return packer_int(p, v, out);
    if (t == &PyFloat_Type) {
        out->type = PTEL_VALUE_DOUBLE;
        out->d = PyFloat_AS_DOUBLE(v);
        return 0;
    }
    if (t == &PyBool_Type) {
        out->type = PTEL_VALUE_BOOL;
        out->i = v == Py_True;
        return 0;
    }
    if (t == &PyList_Type || t == &PyTuple_Type) return packer_array(p, v, depth, out);
    if (t == &PyDict_Type) return packer_kvlist(p, v, depth, out);
    if (PyUnicode_Check(v)) { /* a str subclass: as a plain str */
        out->type = PTEL_VALUE_STRING;
        return packer_text(p, v, p->max_len, &out->str);
    }
    if (PyLong_Check(v)) { /* an int subclass (IntEnum, ...): int(v) */
        PyObject *i = PyNumber_Long(v);
        if (i == NULL) return -1;
        int rc = packer_int(p, i, out);
        Py_DECREF(i);
        return rc;
    }
    if (PyFloat_Check(v)) { /* a float subclass: float(v) */
        PyObject *d = PyNumber_Float(v);
        if (d == NULL) return -1;
        out->type = PTEL_VALUE_DOUBLE;
        out->d = PyFloat_AS_DOUBLE(d);
        Py_DECREF(d);
        return 0;
    }
    if (v == Py_None) {
        out->type = PTEL_VALUE_EMPTY;
        return 0;
    }
    if (PyBytes_Check(v) || PyByteArray_Check(v) || PyMemoryView_Check(v))
        return packer_bytes(p, v, out);
    if (PyList_Check(v) || PyTuple_Check(v)) return packer_array(p, v, depth, out);
    int is_mapping = PyObject_IsInstance(v, speedups_mapping_abc);
    if (is_mapping < 0) return -1;
    if (is_mapping) return packer_kvlist(p, v, depth, out);
    out->type = SPEEDUPS_INVALID_TYPE;
    return 0;
}

static int packer_grow(packer *p, size_t need) {
    size_t cap = p->cap * 2 > need ? p->cap * 2 : need;
    if (cap < 256) cap = 256;
    char *buf = PyMem_Realloc(p->buf, cap);
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    p->buf = buf;
    p->cap = cap;
    return 0;
}

static PyObject *packer_pack(PyObject *self, PyObject *src) {
    packer *p = (packer *)self;
    Py_ssize_t n;
    if (PyDict_CheckExact(src)) {
        n = PyDict_GET_SIZE(src);
    } else if (PyList_CheckExact(src)) {
        n = PyList_GET_SIZE(src);
    } else {
        PyErr_SetString(PyExc_TypeError, "pack() takes a dict or a list of (key, value) pairs");
        return NULL;
    }
    if (n == 0) return PyLong_FromLong(0);
    if (p->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Packer.pack() re-entered");
        return NULL;
    }
    if ((size_t)n > (SIZE_MAX - 256) / sizeof(ptel_attr)) return PyErr_NoMemory();
    size_t head = (size_t)n * sizeof(ptel_attr);
    p->busy = 1;
    int rc = head + 256 > p->cap ? packer_grow(p, head + 256) : 0;
    while (rc == 0) {
        p->off = head; /* strings and nested arrays follow the top-level array */
        rc = packer_attrs(p, src, n, 0, 0);
        if (rc != PACK_REGROW) break;
        /* Pointers into the old buffer are stale now: pack again from scratch. */
        rc = p->cap > SIZE_MAX / 4 ? (PyErr_NoMemory(), -1) : packer_grow(p, p->cap * 2);
    }
    p->busy = 0;
    return rc ? NULL : PyLong_FromSsize_t(n);
}

static PyObject *packer_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    Py_ssize_t max_len;
    int max_depth;
    static char *kwlist[] = {"max_len", "max_depth", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ni:Packer", kwlist, &max_len, &max_depth))
        return NULL;
    if (max_len < 0 || max_depth < 0) {
        PyErr_SetString(PyExc_ValueError, "max_len and max_depth must be >= 0");
        return NULL;
    }
    packer *p = (packer *)type->tp_alloc(type, 0);
    if (p == NULL) return NULL;
    p->max_len = max_len;
    p->max_depth = max_depth;
    return (PyObject *)p;
}

static void packer_dealloc(PyObject *self) {
    PyMem_Free(((packer *)self)->buf);
    Py_TYPE(self)->tp_free(self);
}

static PyObject *packer_get_address(PyObject *self, void *closure) {
    (void)closure;
    return PyLong_FromVoidPtr(((packer *)self)->buf);
}

static PyMethodDef packer_methods[] = {
    {"pack", packer_pack, METH_O,
     "pack(attrs) -> n: write `attrs` (a dict, or a list of (key, value) pairs) as\n"
     "n ptel_attr at `address`, valid until the next pack."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef packer_getset[] = {
    {"address", packer_get_address, NULL, "Where the last batch starts (0 before the first).",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject packer_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ptel._speedups.Packer",
    .tp_basicsize = sizeof(packer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Packer(max_len, max_depth): Python attributes into ptel_attr arrays.",
    .tp_new = packer_new,
    .tp_dealloc = packer_dealloc,
    .tp_methods = packer_methods,
    .tp_getset = packer_getset,
};

/* ---- module ------------------------------------------------------------ */

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "ptel._speedups",
    "C helpers of the ptel binding: no-op spans and attribute packing (no core calls).",
    -1,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    for (size_t i = 0; i < sizeof speedups_sigs / sizeof speedups_sigs[0]; i++)
        if (speedups_sig_init(speedups_sigs[i])) return NULL;
    PyObject *abc = PyImport_ImportModule("collections.abc");
    if (abc == NULL) return NULL;
    speedups_mapping_abc = PyObject_GetAttrString(abc, "Mapping");
    Py_DECREF(abc);
    if (speedups_mapping_abc == NULL) return NULL;
    PyTypeObject *types[] = {&nrs_type, &returner_type, &packer_type};
    const char *names[] = {"NonRecordingSpanBase", "SpanReturner", "Packer"};
    if (PyType_Ready(&with_descr_type) < 0) return NULL;
    for (size_t i = 0; i < 3; i++)
        if (PyType_Ready(types[i]) < 0) return NULL;
    if (nrs_add_with_methods()) return NULL;
    PyObject *m = PyModule_Create(&speedups_module);
    if (m == NULL) return NULL;
    for (size_t i = 0; i < 3; i++) {
        Py_INCREF(types[i]);
        if (PyModule_AddObject(m, names[i], (PyObject *)types[i]) < 0) {
            Py_DECREF(types[i]);
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
