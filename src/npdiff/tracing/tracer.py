"""Tracing: run a user's NumPy function on Tracer arrays to build a graph.

A Tracer wraps a graph node and implements NumPy's dispatch protocols, the
operators and the common ndarray methods. Array *creation* does not dispatch,
so while a trace is running ``np.array``, ``np.asarray``, ``np.zeros`` and
friends are swapped for wrappers that act only on the tracing thread and for
user code (``tracing()``); untraced creation returns real ndarrays (trace
buffers, ``buffer.py``), so C code and other threads get ordinary NumPy.
"""
from __future__ import annotations

import operator
import threading
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..errors import SHAPE_ERRORS, TracingError, UnsupportedOperationError, current_opname, plain_array_write_message, shape_error, user_frame_description
from ..ir.graph import Node, const, make_input, pop_shared, push_shared
from ..primitives.helpers import stack_nodes
from .closures import _REPLACE, ALIAS_HOOKS, _aliases, _closed_arrays, _cover, _holders, _lock, _replacement_for, _uncover, tracing_alias  # noqa: F401  (the covering state, shared)
from .dispatch import (  # noqa: F401
    FUNCTIONS,
    METHOD_KINDS,
    METHODS,
    NDARRAY_TABLE,
    UFUNC_DEFAULTS,
    UFUNCS,
    check_keywords,
    declare,
    implements,
    numpy_defaults,
    refusal,
    refuses,
)
from .ndarray_attrs import FLAGS, c_strides, class_seen_by_caller

ARRAY_HOOK = None  # probe.array_hook: what Tracer.__array__ gives C code (set when probe.py is imported)
OBJECT_ARRAY_NODE = None  # probe: the node of an object ndarray whose elements are Tracers
POISON_COUNT = None  # buffer.poison_count: buffers made unreadable on this thread so far
READ_HINT = None  # buffer.explain_read: the TracingError message for an error raised by a read of a buffer


class Tracer:
    """An array whose value is a graph node; NumPy calls on it build the graph."""

    __slots__ = ("node", "_view")
    __array_priority__ = 1000.0
    _npdiff_traced = True  # how code below tracing (a GeneratedFunction) recognises a traced value

    def __init__(self, node: Node):
        self.node = node
        self._view = None  # (base tracer, index) when made by basic indexing: writes go through to base

    # -- metadata --------------------------------------------------------------
    shape = property(lambda self: self.node.shape)
    dtype = property(lambda self: self.node.dtype)
    ndim = property(lambda self: self.node.ndim)
    size = property(lambda self: self.node.size)

    __class__ = property(class_seen_by_caller, doc="np.ndarray for user code, Tracer for libraries "
                                                   "(see tracing/ndarray_attrs.class_seen_by_caller)")

    # array attributes with the values a C-contiguous ndarray of this shape and dtype would have
    itemsize = property(lambda self: self.node.dtype.itemsize)
    nbytes = property(lambda self: self.node.size * self.node.dtype.itemsize)
    strides = property(lambda self: c_strides(self.node.shape, self.node.dtype.itemsize))
    flags = property(lambda self: FLAGS)
    base = None

    def __len__(self):
        if not self.node.shape:
            raise TypeError("len() of unsized object")
        return self.node.shape[0]

    def __iter__(self):
        if not self.node.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.node.shape[0]))

    def __repr__(self):
        return f"Tracer(shape={self.shape}, dtype={self.dtype})"

    # -- NumPy protocols ---------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if kwargs.get("out") is not None:
            raise TracingError(
                f"np.{ufunc.__name__}(..., out=...) writes into an existing array, which npdiff cannot "
                f"trace; assign the result instead (y = np.{ufunc.__name__}(...)).\n  at "
                + user_frame_description())
        kwargs.pop("out", None)
        if method == "__call__":
            fn = UFUNCS.get(ufunc)
            if fn is None:
                raise UnsupportedOperationError(
                    f"npdiff has no derivative rule for {_ufunc_qualname(ufunc)} "
                    f"(at {user_frame_description()})")
            kwargs = check_keywords(fn, inputs, kwargs, _ufunc_qualname(ufunc), UFUNC_DEFAULTS)
            try:
                return fn(*inputs, **kwargs)
            except SHAPE_ERRORS as e:
                raise shape_error(e, _ufunc_qualname(ufunc), ufunc, inputs, kwargs) from None
        fn = UFUNCS.get((ufunc, method))
        if fn is None:
            raise UnsupportedOperationError(
                f"npdiff does not support numpy.{ufunc.__name__}.{method} "
                f"(at {user_frame_description()})")
        kwargs = check_keywords(fn, inputs, kwargs, f"{_ufunc_qualname(ufunc)}.{method}", UFUNC_DEFAULTS)
        try:
            return fn(*inputs, **kwargs)
        except SHAPE_ERRORS as e:
            raise shape_error(e, f"{_ufunc_qualname(ufunc)}.{method}", getattr(ufunc, method), inputs, kwargs) from None

    def __array_function__(self, func, types, args, kwargs):  # noqa: D105
        fn = FUNCTIONS.get(func)
        if fn is None:
            mod = getattr(func, "__module__", "numpy") or "numpy"
            raise UnsupportedOperationError(
                f"npdiff has no derivative rule for {mod}.{func.__name__}; "
                f"see npdiff's list of supported functions (at {user_frame_description()})")
        what = f"{getattr(func, '__module__', None) or 'numpy'}.{func.__name__}"
        kwargs = check_keywords(fn, args, kwargs, what, numpy_defaults(func))
        try:
            return fn(*args, **kwargs)
        except SHAPE_ERRORS as e:
            raise shape_error(e, what, func, args, kwargs) from None

    def __array_namespace__(self, *, api_version=None):
        """Return the numpy module: a Tracer is an array-API object whose namespace is NumPy's.

        Array-API code (SciPy's ``xpx.at(x)[i].set(v)``, ``array_namespace``) then treats a Tracer
        like an ndarray: ``xp.sum``, ``xp.exp``... dispatch to npdiff's lowerings, and
        ``xp.asarray`` keeps it traced (see ``scipy_converting``).
        """
        return np

    device = "cpu"  # an ndarray's device (array API), read by SciPy's array-API helpers

    def __array__(self, dtype=None, copy=None):
        if (dtype is not None and np.dtype(dtype).kind in "biu") or (dtype is None and self.dtype.kind in "biu"):
            # np.int64(t), np.asarray(t, dtype=int), table[i] with i traced, in C code: an integer array has
            # no derivative, so it is answered from the values (a guard checks the conversion stays the same)
            from .guards import decide
            return decide(self.node, "array", np.dtype(dtype if dtype is not None else self.dtype))
        if ARRAY_HOOK is not None and tracing_here():  # C code (X.dot(p)...): an object array of Tracers (probe.py)
            return ARRAY_HOOK(self, dtype)
        from .foreign import conversion_error  # names the user's call that handed the value over
        raise conversion_error(
            "a traced array was converted to a concrete NumPy array; this happens when code calls "
            "a non-NumPy routine or writes a traced value into a plain ndarray.",
            "Keep the computation in NumPy functions on the traced arrays (npdiff intercepts "
            "np.array/np.zeros while tracing; build outputs with np.stack or np.where).")

    # -- value-dependent Python control flow ---------------------------------------
    # Answered from the concrete values when the trace has them (a guard is recorded,
    # see npdiff.tracing.guards); a TracingError naming the line otherwise.
    def _concrete(self, kind, *args):
        if kind in ("float", "complex") and self.node.dtype.kind not in "biu" and current_opname() == "STORE_SUBSCR":
            raise TracingError(plain_array_write_message())  # A[0, 0] = p[0] with A a plain ndarray
        if self.node.op == "const":
            v = np.asarray(self.node.value)
            return {"bool": bool, "int": int, "index": operator.index, "float": float, "complex": complex,
                    "tolist": np.ndarray.tolist}[kind](v) if kind != "item" else v.item(*args)
        from .guards import decide
        return decide(self.node, kind, *args)

    def __bool__(self):
        return self._concrete("bool")

    def __float__(self):
        return self._concrete("float")

    def __int__(self):
        return self._concrete("int")

    def __index__(self):
        return self._concrete("index")

    def __complex__(self):
        return self._concrete("complex")

    def item(self, *args):
        return self._concrete("item", *args)

    def tolist(self):
        return self._concrete("tolist")

    __hash__ = None


def _ufunc_qualname(ufunc) -> str:
    """Return 'numpy.sin' or 'scipy.special.gammaln' for a ufunc."""
    import numpy as _np
    if getattr(_np, ufunc.__name__, None) is ufunc:
        return f"numpy.{ufunc.__name__}"
    try:
        import scipy.special as sp
        if getattr(sp, ufunc.__name__, None) is ufunc:
            return f"scipy.special.{ufunc.__name__}"
    except ImportError:
        pass
    return f"the ufunc {ufunc.__name__}"


def _T(method, ufunc, swap=False):
    def op(self, other):
        if ufunc is np.matmul and hasattr(other, "tocsr") and not isinstance(other, np.ndarray):
            return NotImplemented  # t @ S with S a scipy.sparse matrix: S.__rmatmul__ answers (lower/sparse.py)
        return ufunc(other, self) if swap else ufunc(self, other)
    op.__name__ = method
    return op


for _m, _u in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("truediv", np.true_divide),
               ("pow", np.power), ("matmul", np.matmul), ("floordiv", np.floor_divide), ("mod", np.remainder)):
    setattr(Tracer, f"__{_m}__", _T(_m, _u))
    setattr(Tracer, f"__r{_m}__", _T("r" + _m, _u, swap=True))
    setattr(Tracer, f"__i{_m}__", _T("i" + _m, _u))
for _m, _u in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal),
               ("eq", np.equal), ("ne", np.not_equal), ("and", np.logical_and), ("or", np.logical_or)):
    setattr(Tracer, f"__{_m}__", _T(_m, _u))
Tracer.__divmod__ = lambda self, other: (np.floor_divide(self, other), np.remainder(self, other))
Tracer.__rdivmod__ = lambda self, other: (np.floor_divide(other, self), np.remainder(other, self))
Tracer.__neg__ = lambda self: np.negative(self)
Tracer.__pos__ = lambda self: self
Tracer.__abs__ = lambda self: np.absolute(self)
Tracer.__invert__ = lambda self: np.logical_not(self)


def _method(name):
    def m(self, *args, **kwargs):
        fn = METHODS.get(name)
        if fn is None:
            raise UnsupportedOperationError(f"npdiff does not support ndarray.{name}")
        kwargs = check_keywords(fn, (self, *args), kwargs, f"ndarray.{name}")
        try:
            return fn(self, *args, **kwargs)
        except SHAPE_ERRORS as e:
            raise shape_error(e, f"ndarray.{name}", getattr(np.ndarray, name, None), (self, *args), kwargs) from None
    m.__name__ = name
    return m


def _refused(name):
    def m(self, *args, **kwargs):
        raise UnsupportedOperationError(refusal(name))
    m.__name__ = name
    return m


def _mT(self):
    if self.ndim < 2:
        raise ValueError("matrix transpose with ndim < 2 is undefined")
    return METHODS["swapaxes"](self, -1, -2)


_PROPERTIES = {"T": lambda self: METHODS["transpose"](self), "mT": _mT,
               "real": lambda self: METHODS["real"](self), "imag": lambda self: METHODS["imag"](self)}


def _refused_property(name):
    def get(self):  # an AttributeError, so hasattr(x, "flags") stays False as for any non-ndarray
        raise AttributeError(refusal(name))
    return property(get)


# Every public name of np.ndarray, from the one table in dispatch.py (buffer.py builds the trace buffer's).
for _name, _kind in NDARRAY_TABLE.items():
    if _kind in ("method", "inplace"):
        setattr(Tracer, _name, _method(_name))
    elif _kind in ("property", "meta") and _name in _PROPERTIES:  # others: the class body, lower/views.py
        setattr(Tracer, _name, property(_PROPERTIES[_name]))
    elif _kind not in METHOD_KINDS:  # refused by name
        is_method = callable(getattr(np.ndarray, _name, None)) and not isinstance(
            getattr(np.ndarray, _name, None), (property, type(np.ndarray.shape)))
        setattr(Tracer, _name, _refused(_name) if is_method else _refused_property(_name))


def _getitem(self, index):
    try:
        return METHODS["__getitem__"](self, index)
    except SHAPE_ERRORS as e:
        raise shape_error(e, "indexing x[...]", operator.getitem, (self, index)) from None


def _numpy_setitem(a, index, value):
    a[index] = value


def _setitem(self, index, value):
    try:
        self.node = METHODS["__setitem__"](self, index, value).node
    except SHAPE_ERRORS as e:
        raise shape_error(e, "assignment x[...] = value", _numpy_setitem, (self, index, value)) from None
    if self._view is not None:  # a view (y[i], y[1:]...): NumPy writes into the base array too
        base, bindex = self._view
        sub = Tracer(METHODS["__getitem__"](base, bindex).node)
        sub.node = METHODS["__setitem__"](sub, index, value).node
        base[bindex] = sub


def write_back(self):
    """After an in-place method replaced the whole of view ``self``, store it into its base too."""
    if self._view is not None:
        base, bindex = self._view
        base[bindex] = Tracer(self.node)


Tracer.__getitem__ = _getitem
Tracer.__setitem__ = _setitem


# -- conversion helpers used by the lowerings ----------------------------------------

def is_traced(x) -> bool:
    """Return True if x is a Tracer or a (nested) list/tuple containing one."""
    if isinstance(x, Tracer):
        return True
    if isinstance(x, (list, tuple)):
        return any(is_traced(e) for e in x)
    if isinstance(x, np.ndarray) and type(x) is not np.ndarray and hasattr(x, "_npdiff_node"):
        return x._npdiff_node() is not None  # a trace buffer holding traced values
    if isinstance(x, np.ndarray) and x.dtype == object:
        return any(is_traced(e) for e in x.flat)
    return False


def node_of(x) -> Node:
    """Return the graph node for a Tracer, array, scalar or nested list of them."""
    if isinstance(x, Tracer):
        return x.node
    if isinstance(x, Node):
        return x
    if isinstance(x, np.ndarray) and type(x) is not np.ndarray and hasattr(x, "_npdiff_node"):
        return x._value_node()  # a trace buffer: its graph node, or its value as a constant
    if isinstance(x, np.ndarray) and x.dtype == object and OBJECT_ARRAY_NODE is not None and is_traced(x):
        return OBJECT_ARRAY_NODE(x)  # elements that are Tracers (what C code made of a probe)
    if isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.dtype == object):
        if is_traced(x):
            parts = [node_of(e) for e in x]
            return stack_nodes(parts)
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        return const(x)
    return const(_ORIG["asarray"](x))


def wrap(node: Node) -> Tracer:
    """Return a Tracer for a node."""
    return Tracer(node)


# -- scoped interception of array creation ------------------------------------------
#
# NumPy's creation functions do not dispatch, so while a trace runs they are replaced in the
# numpy module (and in the traced function's module globals and closure) by wrappers. The
# wrappers act only on the thread that is tracing, and only for calls from user code: anywhere
# else they call NumPy's original at once. Calls with traced inputs return Tracers; calls
# without return real ndarrays (``buffer.TraceBuffer``), so C code never receives a Tracer.

_local = threading.local()  # depth: nesting of tracing() on this thread; chains: random draws
_threads = 0  # threads currently inside tracing(): the patches are installed while > 0
_saved: list = []  # (target, name, original) of the installed patches
_ORIG: dict[str, Any] = {name: getattr(np, name) for name in
                         ("array", "asarray", "asanyarray", "zeros", "ones", "empty", "full",
                          "ascontiguousarray", "atleast_1d", "zeros_like", "ones_like", "empty_like",
                          "full_like", "eye", "identity", "r_", "c_")}
_PATCHES: dict[str, Any] = {}  # numpy attribute name -> replacement (filled by lower.creation)
EXTRA_PATCHES: list = []  # (module, name, replacement) for SciPy and others (listed as supported)
GUARD_PATCHES: list = []  # (module, name, replacement) that only refuse while tracing (np.random.*)
COVER_HOOKS: list = []  # callables func -> list of undo callables (swaps beyond globals/closures, e.g. attributes)


def tracing_here() -> bool:
    """Return True if this thread is inside ``tracing()``."""
    return getattr(_local, "depth", 0) > 0


def _from_library(depth=2) -> bool:
    import sys
    g = sys._getframe(depth).f_globals.get("__name__", "") or ""
    # npdiff.compat calls the user's NumPy functions for them (compat.autograd's argnum wrappers): user code
    return g.startswith(("numpy", "npdiff", "scipy")) and not g.startswith(("npdiff.tests", "npdiff.compat."))


def trace_depth() -> int:
    """Return how many ``tracing`` contexts this thread is in (1: generating code, not inside a user function)."""
    return getattr(_local, "depth", 0)


def tracing_now() -> bool:
    """Return True if this thread is tracing a function (inside an npdiff operator's trace)."""
    return getattr(_local, "depth", 0) > 0


def intercepting(depth=3) -> bool:
    """Return True if a patched function should act: this thread traces and the caller is user code."""
    return getattr(_local, "depth", 0) > 0 and not _from_library(depth)


# SciPy's array-API layer (``array_namespace``, ``xp_promote``, its vendored array_api_compat and
# array_api_extra) converts every input with np.asarray/np.array before computing with
# ``xp.sum``, ``xp.exp``... (which dispatch). While this thread traces, such a conversion of a
# traced value keeps the Tracer, so functions like scipy.optimize.rosen or scipy.special.logsumexp
# trace through (a scoped interception: other callers and other threads are unaffected).
SCIPY_ARRAY_API_LAYER = ("scipy._lib._array_api", "scipy._lib.array_api_compat", "scipy._lib.array_api_extra",
                         "scipy._lib._array_api_override")


def scipy_converting(depth=2) -> bool:
    """Return True if this thread traces and the caller (``depth`` frames up) is SciPy's array-API layer."""
    import sys
    if getattr(_local, "depth", 0) == 0:
        return False
    g = sys._getframe(depth).f_globals.get("__name__", "") or ""
    return g.startswith(SCIPY_ARRAY_API_LAYER + getattr(_local, "formulas", ()))


@contextmanager
def converting_in(*modules: str):
    """Within: conversions called from these modules keep traced values traced (SciPy's private formulas)."""
    old = getattr(_local, "formulas", ())
    _local.formulas = old + modules
    try:
        yield
    finally:
        _local.formulas = old


def _install():
    for name, fn in _PATCHES.items():
        _saved.append((np, name, getattr(np, name)))
        setattr(np, name, fn)
    for mod, name, fn in EXTRA_PATCHES + GUARD_PATCHES:
        if hasattr(mod, name):
            _saved.append((mod, name, getattr(mod, name)))
            setattr(mod, name, fn)
    for target, name, orig in _saved:
        if isinstance(target, type(np)) and not isinstance(orig, (int, float, str)):
            _REPLACE[id(orig)] = (orig, getattr(target, name))


def _uninstall():
    while _saved:
        mod, name, fn = _saved.pop()
        setattr(mod, name, fn)
    _REPLACE.clear()


@contextmanager
def draws_forgotten():
    """Context whose random draws are forgotten when it ends (a trace made only to look at shapes)."""
    saved = dict(getattr(_local, "chains", None) or {})
    try:
        yield
    finally:
        _local.chains = saved


def random_draws() -> list:
    """Return the last random draw node of each generator drawn from in this thread's trace (each depends on the earlier ones)."""
    return list((getattr(_local, "chains", None) or {}).values())


@contextmanager
def tracing(*funcs):
    """Context in which NumPy's array-creation functions understand tracers (on this thread).

    ``funcs``: user functions about to be traced; aliases of the patched NumPy functions
    (``from numpy import zeros``) and random generators in their module globals and closures
    are swapped for the tracing versions too, and restored afterwards.
    """
    global _threads
    depth = getattr(_local, "depth", 0)
    if depth == 0:
        with _lock:
            _threads += 1
            if _threads == 1:
                _install()
        _local.chains = {}
    _local.depth = depth + 1
    keys, arrays, undo = [], [], []
    try:
        for f in funcs:
            keys += _cover(f)
            arrays += _closed_arrays(f)
            for hook in COVER_HOOKS:
                undo += hook(f)
        push_shared(arrays)
        try:
            yield
        finally:
            pop_shared()
    finally:
        for u in reversed(undo):
            u()
        _uncover(keys)
        _local.depth = depth
        if depth == 0:
            _local.chains = {}
            with _lock:
                _threads -= 1
                if _threads == 0:
                    _uninstall()


def trace(func, avals, names=None, bind=None, inputs=None):
    """Return (input nodes, output pytree of nodes) of func on fresh inputs (or on ``inputs``).

    ``bind``: the outer nodes the fresh inputs stand for (their values, when
    known, flow into this trace so value-dependent decisions become guards).
    """
    from ..ir.pytree import tree_map
    names = names or [f"x{i}" for i in range(len(avals))]
    if inputs is None:
        inputs = [make_input(n, shape, dtype) for n, (shape, dtype) in zip(names, avals)]
    elif bind is not None:
        raise ValueError("trace: give inputs or bind, not both")
    if bind is not None:
        from .guards import bind as _bind
        _bind(inputs, bind)
    orig = func
    func = getattr(func, "_trace_target", func)  # a GeneratedFunction: trace its array code
    with tracing(func):
        func = _replacement_for(func) or func  # grad(np.append), a scipy.stats method bound early: the tracing version
        start = POISON_COUNT() if POISON_COUNT is not None else 0
        try:
            out = func(*[Tracer(n) for n in inputs])
        except (TypeError, ValueError, NotImplementedError, AttributeError) as e:
            err = _traced_call_error(e, start)
            if err is e:
                raise
            raise err from (None if err is e.__cause__ else e)
        out = tree_map(_output_node, out)
    for rec in getattr(_local, "records", ()):
        rec.append((orig, inputs, out))
    return inputs, out


def _traced_call_error(e: BaseException, start: int) -> BaseException:
    """Return the exception to raise for e, raised while the user's function ran on Tracers.

    NumPy re-raising our TracingError (``A[0, 0] = p[0]``) gives it back; compiled code reading a buffer
    that holds traced values (``buffer.explain_read``) or failing on a Tracer (``foreign``) gives a
    TracingError naming the call; anything else is e itself.
    """
    if isinstance(e, UnsupportedOperationError):
        return e
    if isinstance(e.__cause__, TracingError) and not isinstance(e, AttributeError):
        return e.__cause__
    hint = READ_HINT(e, start) if READ_HINT is not None and not isinstance(e, AttributeError) else None
    if hint is not None:
        return TracingError(hint)
    from .foreign import compiled_call_error
    return compiled_call_error(e) or e


@contextmanager
def recording():
    """Context collecting (func, input nodes, output pytree of nodes) of every ``trace`` on this thread."""
    rec: list = []
    stack = getattr(_local, "records", None)
    if stack is None:
        stack = _local.records = []
    stack.append(rec)
    try:
        yield rec
    finally:
        del stack[next(i for i, r in enumerate(stack) if r is rec)]


def _output_node(x) -> Node:
    """Return the node of an output leaf; a string or bytes is held as itself (an object constant), so an
    aux value comes back exactly as the function returned it."""
    if isinstance(x, (str, bytes)):
        box = np.empty((), dtype=object)
        box[()] = x
        return const(box)
    return node_of(x)
