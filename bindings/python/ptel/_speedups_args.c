/* Argument checks of the C callables, as Python binds arguments (part of
 * _speedups.c, which includes it). */

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
 * arguments fit the signature; with `vals`, also store each argument at
 * its parameter's index (unset ones are left alone). */
static int speedups_sig_bind(const speedups_sig *s, PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames, PyObject **vals) {
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
        if (vals != NULL) vals[i] = args[nargs + k];
    }
    if (vals != NULL)
        for (Py_ssize_t i = 0; i < nargs; i++) vals[i] = args[i];
    for (int i = 0; i < s->nreq; i++) {
        if (!(filled & (1u << i))) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", s->fn,
                         s->names[i]);
            return -1;
        }
    }
    return 0;
}

static int speedups_sig_check(const speedups_sig *s, Py_ssize_t nargs, PyObject *kwnames) {
    return speedups_sig_bind(s, NULL, nargs, kwnames, NULL);
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
