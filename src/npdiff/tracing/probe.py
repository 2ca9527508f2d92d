"""Traced arrays handed to code that does not dispatch (ndarray methods of constants, C code).

``X.dot(p)`` with ``X`` a plain ndarray and ``p`` traced never reaches npdiff:
NumPy converts ``p`` inside C code by calling ``Tracer.__array__``. There
npdiff answers with a ``ProbeArray``: an object-dtype ndarray (a trace buffer
standing for ``p``) whose elements are ``LazyScalar``s, the scalar Tracers
``p.flat[i]``. Whatever the C code then computes with them is exact Python
arithmetic on Tracers, so its result is traced. The common case is a linear
map: NumPy's object ``dot`` forms ``c * p.flat[i]`` products and sums them,
which ``LazyScalar`` records in a log (two small objects per product, no graph
node); the result array (a ``ProbeArray`` too: NumPy makes the result of the
class with the higher ``__array_priority__``) is read back as one constant
matrix applied to ``p`` (``matmul(M, ravel(p))``), so the generated code holds
``M`` once. Any other use of an element (a comparison, ``exp``...) turns it
into an ordinary Tracer. A conversion to floating-point numbers (``float()``,
a cast to float64 in compiled code) is a ``TracingError`` naming the line.
"""
from __future__ import annotations

import numpy as np

from ..errors import TracingError, current_opname, plain_array_write_message
from ..ir.graph import Node, const
from ..primitives import apply
from ..primitives.helpers import stack_nodes
from . import tracer as _trace
from .buffer import TraceBuffer
from .tracer import METHODS, Tracer

_SCALARS = frozenset((float, int, complex, bool, np.float64, np.float32, np.int64, np.int32, np.complex128,
                      np.bool_))
_new = object.__new__


class _Log:
    """The products ``c * p.flat[i]`` formed from one probe's elements, in order."""

    __slots__ = ("node", "flat", "coef", "idx")

    def __init__(self, node: Node):
        self.node = node
        self.flat = None
        self.coef: list = []
        self.idx: list = []

    def flat_node(self) -> Node:
        """Return the node of ``ravel(p)``."""
        if self.flat is None:
            self.flat = self.node if self.node.ndim == 1 else apply("reshape", self.node, shape=(self.node.size,))
        return self.flat


class LazyScalar(Tracer):
    """An element of a probe: ``p.flat[i]`` (``_i >= 0``) or the sum of the log's products ``[_lo, _hi)``."""

    __slots__ = ("_log", "_i", "_lo", "_hi", "_node")

    def __init__(self, log: _Log, i: int = -1, lo: int = 0, hi: int = 0):
        self._log, self._i, self._lo, self._hi = log, i, lo, hi
        self._node = None
        self._view = None

    @property
    def node(self) -> Node:
        """Return the graph node of this element (built on first use)."""
        if self._node is None:
            self._node = _elements_node([self], ())
        return self._node

    @node.setter
    def node(self, value: Node) -> None:
        self._node = value

    def _logged_product(self, other):
        """Return c * p.flat[i] as a lazy term of the log (NumPy's object dot: X[i, j] * p[j]), or None."""
        if self._i >= 0 and type(other) in _SCALARS and self._node is None:
            log = self._log
            log.coef.append(other)
            log.idx.append(self._i)
            out = _new(LazyScalar)
            out._log, out._i, out._node, out._view = log, -1, None, None
            out._hi = len(log.coef)
            out._lo = out._hi - 1
            return out
        return None

    def __mul__(self, other):
        out = self._logged_product(other)
        return Tracer.__mul__(self, other) if out is None else out

    def __rmul__(self, other):
        out = self._logged_product(other)
        return Tracer.__rmul__(self, other) if out is None else out

    def __add__(self, other):
        if (type(other) is LazyScalar and other._log is self._log and self._i < 0 and other._i < 0
                and other._lo == self._hi and self._node is None and other._node is None):
            out = _new(LazyScalar)  # the next products of the same sum
            out._log, out._i, out._lo, out._hi, out._node, out._view = self._log, -1, self._lo, other._hi, None, None
            return out
        return Tracer.__add__(self, other)

    def __float__(self):
        raise _conversion_error("float()")

    def __complex__(self):
        raise _conversion_error("complex()")

    def __repr__(self):
        return f"LazyScalar(dtype={self.dtype})"

    def __getattr__(self, name):
        # NumPy's object loops call x.exp(), x.sin()... on the elements of a plain object array
        ufunc = getattr(np, name, None)
        if isinstance(ufunc, np.ufunc) and ufunc.nin == 1:
            return lambda: ufunc(Tracer(self.node))
        raise AttributeError(name)


def _elements_node(elems: list, shape: tuple) -> Node:
    """Return the node of an array of the given shape whose elements (flat, C order) are ``elems``."""
    log = elems[0]._log if elems and type(elems[0]) is LazyScalar else None
    if log is not None and all(type(e) is LazyScalar and e._log is log and e._node is None for e in elems):
        flat = log.flat_node()
        if all(e._i >= 0 for e in elems):  # a copy or rearrangement of p's elements
            idx = np.fromiter((e._i for e in elems), np.intp, len(elems))
            if len(elems) == flat.size and (idx == np.arange(flat.size)).all():
                node = flat
            else:
                node = METHODS["__getitem__"](Tracer(flat), idx).node
            return apply("reshape", node, shape=shape) if node.shape != shape else node
        return _linear_node(log, elems, shape)
    parts = [_trace.node_of(e) for e in elems]
    if not parts:
        return const(np.zeros(shape))
    node = stack_nodes(parts) if len(parts) > 1 else parts[0]
    return apply("reshape", node, shape=shape) if node.shape != shape else node


def _linear_node(log: _Log, elems: list, shape: tuple) -> Node:
    """Return ``reshape(M @ ravel(p), shape)`` for elements that are sums of logged products."""
    flat = log.flat_node()
    n = len(elems)
    coef = _trace._ORIG["asarray"](log.coef + [1])  # (a trailing 1 for elements that are p.flat[i] itself)
    idx = np.fromiter(log.idx, np.intp, len(log.idx))
    basis = np.fromiter((e._i for e in elems), np.intp, n)
    lo = np.fromiter((e._lo for e in elems), np.intp, n)
    hi = np.fromiter((e._hi for e in elems), np.intp, n)
    single = basis >= 0
    lo[single], hi[single] = len(log.coef), len(log.coef) + 1
    idx = np.concatenate([idx, np.zeros(1, np.intp)])
    lengths = hi - lo
    rows = np.repeat(np.arange(n), lengths)
    pos = np.arange(int(lengths.sum())) + np.repeat(lo - (np.cumsum(lengths) - lengths), lengths)
    cols = idx[pos]
    cols[single[rows]] = basis[rows[single[rows]]]
    vals = coef[pos]
    mat = np.zeros((n, flat.size), dtype=vals.dtype if vals.dtype.kind in "fc" else np.int64)
    np.add.at(mat, (rows, cols), vals)
    out = np.matmul(mat, Tracer(flat)).node
    return apply("reshape", out, shape=shape) if out.shape != shape else out


class ProbeArray(TraceBuffer):
    """An object array of LazyScalars standing for a traced array; C code computes with its elements."""

    __array_priority__ = 1e6  # NumPy makes the result of X.dot(probe) a ProbeArray (read back as one node)

    def _npdiff_node(self):
        """Return the node of this array's value (read from its elements the first time)."""
        if self._node is None and self._view is None and np.ndarray.dtype.__get__(self).kind == "O":
            raw = np.ndarray.view(self, np.ndarray)
            self._node = _elements_node(list(raw.flat), raw.shape)
        return super()._npdiff_node()

    @property
    def dtype(self):
        """Return the dtype of the traced value (the memory holds Python objects)."""
        return self._npdiff_node().dtype

    def _set(self, node):
        super()._set(node)
        raw = np.ndarray.view(self, np.ndarray)
        raw.flags.writeable = True
        raw[...] = _elements(self._node)  # C code reading it later sees the new value


def _elements(node: Node) -> np.ndarray:
    """Return an object array of the LazyScalars ``node.flat[i]``."""
    log = _Log(node)
    out = np.empty(node.size, dtype=object)
    for i in range(node.size):
        out[i] = LazyScalar(log, i)
    return out.reshape(node.shape)


def probe(t: Tracer, dtype=None):
    """Return the ProbeArray handed to C code that converts Tracer t (``Tracer.__array__``)."""
    arr = np.ndarray.view(_elements(t.node), ProbeArray)
    arr._node = t.node
    return arr


def _conversion_error(what: str) -> TracingError:
    """Return the TracingError for C code converting a traced array to numbers (``what``: how)."""
    if current_opname() == "STORE_SUBSCR":
        return TracingError(plain_array_write_message())  # A[0, 0] = p[0] with A a plain ndarray
    from .foreign import conversion_error  # names the user's call that handed the value over
    return conversion_error(
        f"code that does not dispatch to npdiff (compiled code: a C extension, Cython, BLAS, ctypes) converted "
        f"a traced array to a concrete NumPy array ({what}), which would drop its derivative.",
        "Write the computation with NumPy functions and operators on the traced array "
        "(np.dot(X, p) or X @ p, np.searchsorted(edges, x), np.take(table, i)...).")


def array_hook(t: Tracer, dtype):
    """Return what ``Tracer.__array__(dtype)`` gives C code: a ProbeArray, or raise TracingError."""
    if dtype is None or np.dtype(dtype) == object:
        return probe(t)
    raise _conversion_error(f"a cast to {np.dtype(dtype)}")


_trace.ARRAY_HOOK = array_hook
_trace.OBJECT_ARRAY_NODE = lambda arr: _elements_node(list(arr.flat), arr.shape)
