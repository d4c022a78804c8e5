/* Packer: Python attributes into the core's ptel_attr structs (part of
 * _speedups.c, which includes it). Marshals only; the core decides bytes. */

/* ---- Packer ------------------------------------------------------------ */

/* Not a ptel_value_type: the core refuses the value and counts it. */
#define SPEEDUPS_INVALID_TYPE 0xFFFFu

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

/* Pack `src` (a dict or a list of pairs, `n` > 0 entries) at p->buf; -1
 * with a Python error on failure. */
static int packer_run(packer *p, PyObject *src, Py_ssize_t n) {
    if (p->busy) {
        PyErr_SetString(PyExc_RuntimeError, "Packer.pack() re-entered");
        return -1;
    }
    if ((size_t)n > (SIZE_MAX - 256) / sizeof(ptel_attr)) {
        PyErr_NoMemory();
        return -1;
    }
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
    return rc ? -1 : 0;
}

static PyObject *packer_pack(PyObject *self, PyObject *src) {
    Py_ssize_t n;
    if (PyDict_CheckExact(src)) {
        n = PyDict_GET_SIZE(src);
    } else if (PyList_CheckExact(src)) {
        n = PyList_GET_SIZE(src);
    } else {
        PyErr_SetString(PyExc_TypeError, "pack() takes a dict or a list of (key, value) pairs");
        return NULL;
    }
    if (n > 0 && packer_run((packer *)self, src, n)) return NULL;
    return PyLong_FromSsize_t(n);
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
