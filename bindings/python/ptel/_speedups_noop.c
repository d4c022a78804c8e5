/* The disabled path: NonRecordingSpanBase and span_returner (part of
 * _speedups.c, which includes it). No core call. */

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

static PyMethodDef nrs_exit_def = {
    "__exit__", SPEEDUPS_FN(nrs_exit), SPEEDUPS_FAST,
    "__exit__($self, exc_type, exc, tb)\n--\n\nDoes nothing (the exception, if any, propagates)."};

static PyMethodDef nrs_methods[] = {
    {"set_attribute", SPEEDUPS_FN(nrs_set_attribute), SPEEDUPS_FAST,
     "set_attribute($self, key, value)\n--\n\nDoes nothing."},
    {"set_attributes", SPEEDUPS_FN(nrs_set_attributes), SPEEDUPS_FAST,
     "set_attributes($self, attributes)\n--\n\nDoes nothing."},
    {"add_event", SPEEDUPS_FN(nrs_add_event), SPEEDUPS_FAST,
     "add_event($self, name, attributes=None, timestamp=None)\n--\n\nDoes nothing."},
    {"add_link", SPEEDUPS_FN(nrs_add_link), SPEEDUPS_FAST,
     "add_link($self, context, attributes=None, tracestate=None)\n--\n\nDoes nothing."},
    {"set_status", SPEEDUPS_FN(nrs_set_status), SPEEDUPS_FAST,
     "set_status($self, code, description=None)\n--\n\nDoes nothing."},
    {"record_exception", SPEEDUPS_FN(nrs_record_exception), SPEEDUPS_FAST,
     "record_exception($self, exception, timestamp=None)\n--\n\nDoes nothing."},
    {"update_name", SPEEDUPS_FN(nrs_update_name), SPEEDUPS_FAST,
     "update_name($self, name)\n--\n\nDoes nothing."},
    {"end", SPEEDUPS_FN(nrs_end), SPEEDUPS_FAST, "end($self, end_time=None)\n--\n\nDoes nothing."},
    {"is_recording", nrs_is_recording, METH_NOARGS, "is_recording($self)\n--\n\nAlways False."},
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

static void nrs_dealloc(PyObject *self) { speedups_gc_dealloc(self, nrs_clear); }

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

/* ---- span_returner ---------------------------------------------------- */

/* Recorder.span of a disabled recorder, bound to its span (`self`): check
 * the arguments, return the span. A bound builtin rather than an object of
 * its own type, because CPython calls those with keywords on a faster path. */
static PyObject *returner_call(PyObject *span, PyObject *const *args, Py_ssize_t nargs,
                               PyObject *kwnames) {
    (void)args;
    if (speedups_sig_check(&sig_span, nargs, kwnames)) return NULL;
    Py_INCREF(span);
    return span;
}

static PyMethodDef returner_def = {
    "span", SPEEDUPS_FN(returner_call), SPEEDUPS_FAST,
    "span($self, /, name, *, kind=1, attributes=None, parent=None, start_time=None)\n--\n\n"
    "Returns the disabled recorder's non-recording span."};

static PyObject *span_returner(PyObject *module, PyObject *span) {
    (void)module;
    return PyCFunction_New(&returner_def, span);
}
