/* ptel._speedups: the parts of the Python binding that Python bytecode
 * makes too slow, as a small CPython extension next to the CFFI one.
 *
 * - NonRecordingSpanBase: the methods of ptel.NonRecordingSpan (the shared
 *   span of a disabled recorder), all no-ops written in C, so that
 *   `with span: span.set_attribute(...)` runs no bytecode.
 * - span_returner: makes the callable a disabled Recorder binds as its
 *   `span`; it checks the arguments as `Recorder.span` would and returns
 *   the span.
 * - Packer: turns a batch of Python attributes into the core's ptel_attr
 *   array in a buffer it owns (the rules are in _attrs.py).
 * - SpanBase and SpanStarter: the recording span's hot path. A recording
 *   Recorder binds a SpanStarter as its `span`; for the common arguments it
 *   packs the attributes and calls the core's ptel_span_start(_with_
 *   attributes) itself, and SpanBase.__exit__ calls ptel_span_end; any
 *   other call goes to the Python method Recorder.span.
 *
 * Nothing here decides a byte of the payload: the disabled path calls no
 * core function at all, and the recording path only marshals Python
 * objects into the core's public structs and calls the core's public API
 * (through the function pointers that ptel.recorder hands to bind_core,
 * taken from the CFFI extension that holds the one copy of the core). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "ptel/ptel.h"

/* tp_dealloc of a GC type whose fields `clear` releases. A Python
 * subclass's instance comes here from subtype_dealloc, which releases the
 * reference to the subclass itself. */
static void speedups_gc_dealloc(PyObject *self, inquiry clear) {
    PyObject_GC_UnTrack(self);
    clear(self);
    Py_TYPE(self)->tp_free(self);
}

/* The parts, compiled as one unit so that they share static helpers (as
 * the core's unity file does). */
#include "_speedups_args.c"
#include "_speedups_noop.c"
#include "_speedups_packer.c"
#include "_speedups_lock.c"
#include "_speedups_span.c"

/* ---- module ------------------------------------------------------------ */

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "ptel._speedups",
    "C helpers of the ptel binding: no-op spans, attribute packing, the span hot path.",
    -1,
    speedups_functions,
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
    PyObject **strs[] = {&str_acquire, &str_release, &str_record_exception, &str_done,
                         &str_count_error};
    const char *str_names[] = {"acquire", "release", "record_exception", "_done", "_count_error"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if ((*strs[i] = PyUnicode_InternFromString(str_names[i])) == NULL) return NULL;
    PyTypeObject *types[] = {&nrs_type, &packer_type, &span_type, &starter_type, &lock_type};
    const char *names[] = {"NonRecordingSpanBase", "Packer", "SpanBase", "SpanStarter", "Lock"};
    if (PyType_Ready(&with_descr_type) < 0) return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (PyType_Ready(types[i]) < 0) return NULL;
    if (nrs_add_with_methods()) return NULL;
    PyObject *m = PyModule_Create(&speedups_module);
    if (m == NULL) return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        Py_INCREF(types[i]);
        if (PyModule_AddObject(m, names[i], (PyObject *)types[i]) < 0) {
            Py_DECREF(types[i]);
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
