/* Lock: the Recorder's lock, which the C span path takes without a Python
 * method call (part of _speedups.c, which includes it). Python code uses it
 * as a threading.Lock: acquire(), release(), `with`. */

typedef struct {
    PyObject_HEAD PyThread_type_lock lock;
    int locked;
} lock_obj;

static PyTypeObject lock_type;

/* Blocks with the GIL released, so that a thread holding the lock inside a
 * CFFI call (which releases the GIL) can finish and release it. */
static void lock_take(lock_obj *l) {
    if (!PyThread_acquire_lock(l->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(l->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
    l->locked = 1;
}

static int lock_give(lock_obj *l) {
    if (!l->locked) {
        PyErr_SetString(PyExc_RuntimeError, "release unlocked lock");
        return -1;
    }
    l->locked = 0;
    PyThread_release_lock(l->lock);
    return 0;
}

static PyObject *lock_acquire(PyObject *self, PyObject *unused) {
    (void)unused;
    lock_take((lock_obj *)self);
    Py_RETURN_TRUE;
}

static PyObject *lock_release(PyObject *self, PyObject *unused) {
    (void)unused;
    if (lock_give((lock_obj *)self)) return NULL;
    Py_RETURN_NONE;
}

static PyObject *lock_exit(PyObject *self, PyObject *args) {
    (void)args; /* the exception, if any, propagates */
    return lock_release(self, NULL);
}

static PyObject *lock_locked(PyObject *self, PyObject *unused) {
    (void)unused;
    return PyBool_FromLong(((lock_obj *)self)->locked);
}

static PyObject *lock_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":Lock", (char *[]){NULL})) return NULL;
    lock_obj *l = (lock_obj *)type->tp_alloc(type, 0);
    if (l == NULL) return NULL;
    l->lock = PyThread_allocate_lock();
    if (l->lock == NULL) {
        Py_DECREF(l);
        PyErr_SetString(PyExc_MemoryError, "cannot allocate a lock");
        return NULL;
    }
    return (PyObject *)l;
}

static void lock_dealloc(PyObject *self) {
    lock_obj *l = (lock_obj *)self;
    if (l->lock != NULL) {
        if (l->locked) PyThread_release_lock(l->lock);
        PyThread_free_lock(l->lock);
    }
    Py_TYPE(self)->tp_free(self);
}

static PyMethodDef lock_methods[] = {
    {"acquire", lock_acquire, METH_NOARGS, "acquire($self)\n--\n\nWait for the lock; True."},
    {"release", lock_release, METH_NOARGS, "release($self)\n--\n\nRelease the lock."},
    {"locked", lock_locked, METH_NOARGS, "locked($self)\n--\n\nWhether it is held."},
    {"__enter__", lock_acquire, METH_NOARGS, "__enter__($self)\n--\n\nacquire()."},
    {"__exit__", lock_exit, METH_VARARGS, "__exit__($self, *exc)\n--\n\nrelease()."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject lock_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ptel._speedups.Lock",
    .tp_basicsize = sizeof(lock_obj),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Lock(): a non-reentrant lock, as threading.Lock, that C takes directly.",
    .tp_new = lock_new,
    .tp_dealloc = lock_dealloc,
    .tp_methods = lock_methods,
};

/* Take or release `lock`: a Lock directly, anything else by its methods. */
static int speedups_lock_call(PyObject *lock, int take) {
    if (Py_IS_TYPE(lock, &lock_type)) {
        if (take) {
            lock_take((lock_obj *)lock);
            return 0;
        }
        return lock_give((lock_obj *)lock);
    }
    PyObject *verb = PyUnicode_InternFromString(take ? "acquire" : "release");
    if (verb == NULL) return -1;
    PyObject *r = PyObject_VectorcallMethod(verb, &lock, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(verb);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}
