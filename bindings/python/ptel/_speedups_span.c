/* The recording span's hot path: SpanBase, SpanStarter, bind_core (part
 * of _speedups.c, which includes it). */

/* ---- the recording span ---------------------------------------------- */

/* Set once by bind_core() when ptel.recorder is imported, never changed
 * after: the current-span ContextVar and the core functions of the span
 * path (the addresses of the CFFI extension's copy of the core). */
static PyObject *speedups_current;
typedef int (*core_span_start_fn)(ptel_span **, ptel_recorder *, const ptel_span *, const char *,
                                  size_t, uint32_t, uint64_t);
typedef int (*core_span_start_attrs_fn)(ptel_span **, ptel_recorder *, const ptel_span *,
                                        const char *, size_t, uint32_t, uint64_t, const ptel_attr *,
                                        size_t);
typedef int (*core_span_end_fn)(ptel_span *, uint64_t);
static core_span_start_fn core_span_start;
static core_span_start_attrs_fn core_span_start_attrs;
static core_span_end_fn core_span_end;

/* The pointer types above are those of the public header. */
_Static_assert(_Generic(&ptel_span_start, core_span_start_fn : 1, default : 0), "ptel_span_start");
_Static_assert(_Generic(&ptel_span_start_with_attributes, core_span_start_attrs_fn : 1,
                        default : 0),
               "ptel_span_start_with_attributes");
_Static_assert(_Generic(&ptel_span_end, core_span_end_fn : 1, default : 0), "ptel_span_end");

/* Method names, interned at import. */
static PyObject *str_acquire, *str_release, *str_record_exception, *str_done, *str_count_error;

static int speedups_lock(PyObject *lock, PyObject *verb) {
    return speedups_lock_call(lock, verb == str_acquire);
}

/* ptel.Span's C part. */
typedef struct {
    PyObject_HEAD PyObject *rec; /* the Recorder (keeps the C recorder alive) */
    PyObject *lock;              /* the Recorder's lock */
    PyObject *cptr;              /* a CFFI `ptel_span *` of `ptr`, made by Python on demand */
    PyObject *token;             /* the ContextVar token while entered */
    ptel_span *ptr;
} span_obj;

static PyTypeObject span_type;

/* False, with an error set, before ptel.recorder called bind_core(). */
static int speedups_bound(void) {
    if (speedups_current != NULL && core_span_end != NULL) return 1;
    PyErr_SetString(PyExc_RuntimeError, "ptel._speedups: bind_core() first");
    return 0;
}

static PyObject *span_enter(PyObject *self, PyObject *unused) {
    (void)unused;
    if (!speedups_bound()) return NULL;
    PyObject *token = PyContextVar_Set(speedups_current, self);
    if (token == NULL) return NULL;
    Py_XSETREF(((span_obj *)self)->token, token);
    Py_INCREF(self);
    return self;
}

/* Reset the current span to what it was before __enter__; a token of
 * another context (exited in another task or thread) is ignored, as the
 * Python code did. Keeps an exception that is already set. */
static int span_reset_current(span_obj *sp) {
    PyObject *token = sp->token;
    if (token == NULL) return 0;
    sp->token = NULL;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    int rc = PyContextVar_Reset(speedups_current, token);
    Py_DECREF(token);
    if (rc < 0 && !PyErr_ExceptionMatches(PyExc_ValueError)) {
        Py_XDECREF(et);
        Py_XDECREF(ev);
        Py_XDECREF(tb);
        return -1;
    }
    if (rc < 0) PyErr_Clear();
    PyErr_Restore(et, ev, tb);
    return 0;
}

/* End the span (recording the exception first, if any), then reset the
 * current span: Python's __exit__ with try/finally, written out. */
static PyObject *span_exit(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames) {
    PyObject *vals[3] = {NULL, NULL, NULL};
    if (speedups_sig_bind(&sig_exit, args, nargs, kwnames, vals) || !speedups_bound()) return NULL;
    span_obj *sp = (span_obj *)self;
    PyObject *exc = vals[1];
    int failed = 0;
    if (exc != Py_None && !PyObject_TypeCheck(exc, (PyTypeObject *)PyExc_GeneratorExit)) {
        PyObject *r = PyObject_CallMethodOneArg(self, str_record_exception, exc);
        failed = r == NULL;
        Py_XDECREF(r);
    }
    if (!failed && sp->lock == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "span without a recorder");
        failed = 1;
    }
    if (!failed && speedups_lock(sp->lock, str_acquire) == 0) {
        int rc = core_span_end(sp->ptr, 0);
        failed = speedups_lock(sp->lock, str_release) != 0;
        if (!failed && rc && exc == Py_None) { /* _done raises in strict mode */
            PyObject *code = PyLong_FromLong(rc);
            PyObject *r = code ? PyObject_CallMethodOneArg(self, str_done, code) : NULL;
            Py_XDECREF(code);
            failed = r == NULL;
            Py_XDECREF(r);
        }
    } else {
        failed = 1;
    }
    if (span_reset_current(sp)) failed = 1;
    if (failed) return NULL;
    Py_RETURN_NONE;
}

static int span_traverse(PyObject *self, visitproc visit, void *arg) {
    span_obj *sp = (span_obj *)self;
    Py_VISIT(sp->rec);
    Py_VISIT(sp->lock);
    Py_VISIT(sp->cptr);
    Py_VISIT(sp->token);
    return 0;
}

static int span_clear(PyObject *self) {
    span_obj *sp = (span_obj *)self;
    Py_CLEAR(sp->rec);
    Py_CLEAR(sp->lock);
    Py_CLEAR(sp->cptr);
    Py_CLEAR(sp->token);
    return 0;
}

static void span_dealloc(PyObject *self) { speedups_gc_dealloc(self, span_clear); }

static PyObject *span_get_addr(PyObject *self, void *closure) {
    (void)closure;
    return PyLong_FromVoidPtr(((span_obj *)self)->ptr);
}

static int span_set_addr(PyObject *self, PyObject *value, void *closure) {
    (void)closure;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete _addr");
        return -1;
    }
    void *ptr = PyLong_AsVoidPtr(value);
    if (ptr == NULL && PyErr_Occurred()) return -1;
    ((span_obj *)self)->ptr = ptr;
    return 0;
}

/* Get/set of an object field; None when unset. */
#define SPAN_FIELD(field)                                                                          \
    static PyObject *span_get_##field(PyObject *self, void *closure) {                             \
        (void)closure;                                                                             \
        PyObject *v = ((span_obj *)self)->field;                                                   \
        if (v == NULL) Py_RETURN_NONE;                                                             \
        Py_INCREF(v);                                                                              \
        return v;                                                                                  \
    }                                                                                              \
    static int span_set_##field(PyObject *self, PyObject *value, void *closure) {                  \
        (void)closure;                                                                             \
        Py_XINCREF(value);                                                                         \
        Py_XSETREF(((span_obj *)self)->field, value);                                              \
        return 0;                                                                                  \
    }

SPAN_FIELD(rec)
SPAN_FIELD(lock)
SPAN_FIELD(cptr)

static PyGetSetDef span_getset[] = {
    {"_rec", span_get_rec, span_set_rec, "The Recorder.", NULL},
    {"_lock", span_get_lock, span_set_lock, "The Recorder's lock.", NULL},
    {"_cptr", span_get_cptr, span_set_cptr, "A CFFI ptel_span * (or None).", NULL},
    {"_addr", span_get_addr, span_set_addr, "The ptel_span's address.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef span_methods[] = {
    {"__enter__", span_enter, METH_NOARGS, "Make the span current; returns it."},
    {"__exit__", SPEEDUPS_FN(span_exit), SPEEDUPS_FAST,
     "__exit__($self, exc_type, exc, tb)\n--\n\n"
     "Record the exception (if any), end the span, restore the current span."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject span_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ptel._speedups.SpanBase",
    .tp_basicsize = sizeof(span_obj),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C part of ptel.Span: its fields, __enter__ and __exit__.",
    .tp_new = PyType_GenericNew,
    .tp_traverse = span_traverse,
    .tp_clear = span_clear,
    .tp_dealloc = span_dealloc,
    .tp_methods = span_methods,
    .tp_getset = span_getset,
};

/* The `span` of a recording, non-strict Recorder. It refers to the
 * Recorder weakly: the Recorder holds it, and a cycle would leave freeing
 * the C recorder to the cyclic garbage collector. */
typedef struct {
    PyObject_HEAD PyObject *rec_ref; /* a weakref to the Recorder */
    PyObject *lock;
    PyObject *packer;       /* a Packer */
    PyObject *noop;         /* the recorder's NonRecordingSpan */
    PyTypeObject *span_cls; /* ptel.Span */
    PyObject *slow;         /* Recorder.span, the Python method, for every other call */
    ptel_recorder *recorder;
    ptel_span **out; /* the recorder's `ptel_span **`, shared with the Python path */
    vectorcallfunc vectorcall;
} starter;

/* An int that fits `max`, read without running Python code (an int
 * subclass qualifies unless it overrides __int__); else -1. */
static int speedups_plain_uint(PyObject *v, unsigned long long max, unsigned long long *out) {
    if (!PyLong_Check(v) || (!PyLong_CheckExact(v) &&
                             Py_TYPE(v)->tp_as_number->nb_int != PyLong_Type.tp_as_number->nb_int))
        return -1;
    unsigned long long x = PyLong_AsUnsignedLongLong(v);
    if (x == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    if (x > max) return -1;
    *out = x;
    return 0;
}

/* Release the lock, keeping the exception that is set. */
static void speedups_unlock_on_error(PyObject *lock) {
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    if (speedups_lock(lock, str_release) == 0) {
        PyErr_Restore(et, ev, tb);
    } else {
        Py_XDECREF(et);
        Py_XDECREF(ev);
        Py_XDECREF(tb);
    }
}

/* Recorder.span's common case for the live recorder `rec`. */
static PyObject *starter_start(starter *st, PyObject *rec, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames, PyObject **vals) {
    PyObject *name = vals[0], *kind = vals[1], *attrs = vals[2], *parent = vals[3],
             *start = vals[4];
    unsigned long long kind_v = 1, start_v = 0;
    Py_ssize_t name_len = 0;
    const char *name_utf8 = NULL;
    int plain = PyUnicode_CheckExact(name) && (parent == NULL || parent == Py_None) &&
                (attrs == NULL || attrs == Py_None || PyDict_CheckExact(attrs)) &&
                (kind == NULL || speedups_plain_uint(kind, UINT32_MAX, &kind_v) == 0) &&
                (start == NULL || start == Py_None ||
                 speedups_plain_uint(start, UINT64_MAX, &start_v) == 0);
    if (plain) {
        name_utf8 = PyUnicode_AsUTF8AndSize(name, &name_len);
        if (name_utf8 == NULL) { /* lone surrogates: the Python path passes them on */
            if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return NULL;
            PyErr_Clear();
            plain = 0;
        }
    }
    if (!plain) { /* Recorder.span(rec, *args, **kwargs) */
        PyObject *stack[6];
        Py_ssize_t total = nargs + (kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames));
        stack[0] = rec;
        memcpy(stack + 1, args, (size_t)total * sizeof(PyObject *));
        return PyObject_Vectorcall(st->slow, stack, (size_t)nargs + 1, kwnames);
    }
    /* The parent: the current span if it is one of this recorder's. */
    PyObject *cur;
    if (PyContextVar_Get(speedups_current, NULL, &cur) < 0) return NULL;
    const ptel_span *pptr = NULL;
    if (cur != NULL && Py_TYPE(cur) == st->span_cls && ((span_obj *)cur)->rec == rec)
        pptr = ((span_obj *)cur)->ptr;
    Py_XDECREF(cur);
    if (speedups_lock(st->lock, str_acquire)) goto error;
    Py_ssize_t n = attrs != NULL && attrs != Py_None ? PyDict_GET_SIZE(attrs) : 0;
    packer *pk = (packer *)st->packer;
    if (n > 0 && packer_run(pk, attrs, n)) {
        speedups_unlock_on_error(st->lock);
        goto error;
    }
    if (n > 0)
        core_span_start_attrs(st->out, st->recorder, pptr, name_utf8, (size_t)name_len,
                              (uint32_t)kind_v, start_v, (const ptel_attr *)(void *)pk->buf,
                              (size_t)n);
    else
        core_span_start(st->out, st->recorder, pptr, name_utf8, (size_t)name_len, (uint32_t)kind_v,
                        start_v);
    ptel_span *ptr = *st->out; /* a refused start is counted by the core */
    if (speedups_lock(st->lock, str_release)) goto error;
    span_obj *sp = (span_obj *)st->span_cls->tp_alloc(st->span_cls, 0);
    if (sp == NULL) goto error;
    Py_INCREF(rec);
    sp->rec = rec;
    Py_INCREF(st->lock);
    sp->lock = st->lock;
    sp->ptr = ptr;
    return (PyObject *)sp;
error: /* as the Python method: count an Exception, return the no-op span */
    if (!PyErr_ExceptionMatches(PyExc_Exception)) return NULL;
    PyErr_Clear();
    PyObject *r = PyObject_CallMethodNoArgs(rec, str_count_error);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    Py_INCREF(st->noop);
    return st->noop;
}

static PyObject *starter_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                    PyObject *kwnames) {
    starter *st = (starter *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *vals[5] = {NULL, NULL, NULL, NULL, NULL}; /* name kind attributes parent start */
    if (speedups_sig_bind(&sig_span, args, nargs, kwnames, vals)) return NULL;
    if (st->rec_ref == NULL) { /* only after the GC cleared the starter */
        PyErr_SetString(PyExc_RuntimeError, "the recorder is gone");
        return NULL;
    }
    PyObject *rec;
#if PY_VERSION_HEX >= 0x030D0000
    if (PyWeakref_GetRef(st->rec_ref, &rec) < 0) return NULL;
#else
    rec = PyWeakref_GetObject(st->rec_ref);
    if (rec == NULL) return NULL;
    rec = rec == Py_None ? NULL : (Py_INCREF(rec), rec);
#endif
    if (rec == NULL) { /* no one can finish() that recorder: nothing to record */
        Py_INCREF(st->noop);
        return st->noop;
    }
    PyObject *span = starter_start(st, rec, args, nargs, kwnames, vals);
    Py_DECREF(rec);
    return span;
}

static PyObject *speedups_addr(PyObject *v, void **out) {
    *out = PyLong_AsVoidPtr(v);
    if (*out != NULL) return v;
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a NULL address");
    return NULL;
}

static PyObject *starter_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *rec, *lock, *pk, *noop, *cls, *slow, *recorder_addr, *out_addr;
    static char *kwlist[] = {"rec",  "lock",          "packer",   "noop", "span_cls",
                             "slow", "recorder_addr", "out_addr", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO!OO!OOO:SpanStarter", kwlist, &rec, &lock,
                                     &packer_type, &pk, &noop, &PyType_Type, &cls, &slow,
                                     &recorder_addr, &out_addr))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)cls, &span_type)) {
        PyErr_SetString(PyExc_TypeError, "span_cls must subclass SpanBase");
        return NULL;
    }
    if (!speedups_bound()) return NULL;
    void *recorder, *out;
    if (!speedups_addr(recorder_addr, &recorder) || !speedups_addr(out_addr, &out)) return NULL;
    PyObject *rec_ref = PyWeakref_NewRef(rec, NULL);
    if (rec_ref == NULL) return NULL;
    starter *st = (starter *)type->tp_alloc(type, 0);
    if (st == NULL) {
        Py_DECREF(rec_ref);
        return NULL;
    }
    st->rec_ref = rec_ref;
    PyObject **fields[] = {&st->lock, &st->packer, &st->noop, &st->slow};
    PyObject *values[] = {lock, pk, noop, slow};
    for (size_t i = 0; i < 4; i++) {
        Py_INCREF(values[i]);
        *fields[i] = values[i];
    }
    Py_INCREF(cls);
    st->span_cls = (PyTypeObject *)cls;
    st->recorder = recorder;
    st->out = out;
    st->vectorcall = starter_vectorcall;
    return (PyObject *)st;
}

static int starter_traverse(PyObject *self, visitproc visit, void *arg) {
    starter *st = (starter *)self;
    Py_VISIT(st->rec_ref);
    Py_VISIT(st->lock);
    Py_VISIT(st->packer);
    Py_VISIT(st->noop);
    Py_VISIT(st->span_cls);
    Py_VISIT(st->slow);
    return 0;
}

static int starter_clear(PyObject *self) {
    starter *st = (starter *)self;
    Py_CLEAR(st->rec_ref);
    Py_CLEAR(st->lock);
    Py_CLEAR(st->packer);
    Py_CLEAR(st->noop);
    Py_CLEAR(st->span_cls);
    Py_CLEAR(st->slow);
    return 0;
}

static void starter_dealloc(PyObject *self) { speedups_gc_dealloc(self, starter_clear); }

static PyTypeObject starter_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ptel._speedups.SpanStarter",
    .tp_basicsize = sizeof(starter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "The `span` of a recording Recorder: Recorder.span's common case in C.",
    .tp_new = starter_new,
    .tp_dealloc = starter_dealloc,
    .tp_traverse = starter_traverse,
    .tp_clear = starter_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(starter, vectorcall),
};

static PyObject *bind_core(PyObject *self, PyObject *args, PyObject *kwargs) {
    (void)self;
    PyObject *current, *addr[3];
    static char *kwlist[] = {"current", "span_start", "span_start_with_attributes", "span_end",
                             NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!OOO:bind_core", kwlist, &PyContextVar_Type,
                                     &current, &addr[0], &addr[1], &addr[2]))
        return NULL;
    void *fn[3];
    for (int i = 0; i < 3; i++)
        if (!speedups_addr(addr[i], &fn[i])) return NULL;
    Py_INCREF(current);
    Py_XSETREF(speedups_current, current);
    /* Object pointer to function pointer, as dlsym users do (POSIX allows it). */
    memcpy(&core_span_start, &fn[0], sizeof fn[0]);
    memcpy(&core_span_start_attrs, &fn[1], sizeof fn[1]);
    memcpy(&core_span_end, &fn[2], sizeof fn[2]);
    Py_RETURN_NONE;
}

static PyMethodDef speedups_functions[] = {
    {"span_returner", span_returner, METH_O,
     "span_returner(span): Recorder.span for a disabled recorder: checks its arguments\n"
     "like Recorder.span and returns `span`."},
    {"bind_core", SPEEDUPS_FN(bind_core), METH_VARARGS | METH_KEYWORDS,
     "bind_core(current, span_start, span_start_with_attributes, span_end): the current-span\n"
     "ContextVar and the addresses of the core's span functions (from the CFFI extension)."},
    {NULL, NULL, 0, NULL},
};
