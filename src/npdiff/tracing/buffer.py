"""Trace buffers: what ``np.zeros(n)``, ``np.array([...])`` return while tracing.

A ``TraceBuffer`` is a real ndarray (so NumPy's C code, ``np.random`` and
other libraries can use it) that is exactly the array it looks like until a
traced value is written into it (``buf[1:-1] = x``, ``buf += x``). From then
on it holds a graph node: reads, ufuncs, NumPy functions and the common
methods answer through the graph, its memory is filled with NaN and made
read-only, and conversions that need concrete values (``float(buf)``,
``buf.tolist()``) raise ``TracingError``. A basic-indexing view of a buffer
(``buf[1:]``) remembers its base, so writes through it reach the base and
reads follow it.
"""
from __future__ import annotations

import linecache
import os
import re
import threading
import warnings
import weakref

import numpy as np

from ..errors import _PKG_DIR, TracingError, user_frame_description
from ..ir.graph import const
from ..primitives import apply
from .dispatch import BUFFER_OWN
from .tracer import METHODS, NDARRAY_TABLE, Tracer, is_traced


def _base(a):
    """Return a's base array (None for other objects)."""
    return np.ndarray.base.__get__(a) if isinstance(a, np.ndarray) else None


def _raw(a: np.ndarray) -> np.ndarray:
    """Return a plain ndarray view of a's memory (as its real dtype)."""
    return np.ndarray.view(a, np.ndarray)


# A buffer holding traced values gets this dtype: the same item size, two overlapping fields named so
# that NumPy's own messages say what happened. Compiled code that reads its memory without dispatching
# then fails instead of computing with the stale contents: NumPy casts a structured dtype with two fields
# to no number type (C.dot(b) sees 2-tuples; OUT[:] = b, f2py wrappers and casts refuse), and overlapping
# fields cannot be exported through the buffer protocol (memoryview, bytes, np.frombuffer, Cython).
def _poison_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype({"names": ["npdiff_traced_values_not_in_memory", "npdiff_traced_values_"],
                     "formats": [dtype, dtype], "offsets": [0, 0], "itemsize": dtype.itemsize})


def _basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (slice, int, np.integer)) or i is None or i is Ellipsis for i in items)


def _unbuffer(x, plain=True):
    """Return x with traced buffers replaced by Tracers (and, if plain, other buffers by ndarrays)."""
    if isinstance(x, TraceBuffer):
        node = x._npdiff_node()
        if node is not None:
            return Tracer(node)
        return _raw(x) if plain else x
    if isinstance(x, (list, tuple)):
        out = [_unbuffer(e, plain) for e in x]
        return type(x)(out) if not hasattr(x, "_fields") else type(x)(*out)
    if isinstance(x, dict):
        return {k: _unbuffer(v, plain) for k, v in x.items()}
    return x


def _poison(buf: np.ndarray) -> None:
    """Make buf and its live views unreadable to code that does not dispatch: NaN memory, poisoned dtype."""
    stack = [buf]
    while stack:
        a = stack.pop()
        raw = _raw(a)
        if "_npdiff_dtype" not in a.__dict__:
            if raw.flags.writeable and raw.dtype.kind in "fc":
                raw.fill(np.nan)  # stale memory reads as NaN, never as a plausible number
            dtype = raw.dtype
            if dtype.kind != "O" and dtype.names is None:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        np.ndarray.dtype.__set__(a, _poison_dtype(dtype))
                    a.__dict__["_npdiff_dtype"] = dtype
                    _counts.poisoned = poison_count() + 1
                except (TypeError, ValueError, AttributeError):  # a NumPy that no longer allows it: NaN only
                    pass
            try:
                np.ndarray.setflags(a, write=False)
            except ValueError:
                pass
        stack.extend(v for v in (r() for r in a.__dict__.get("_npdiff_views", ())) if v is not None)


def traced_buffers_in(frame) -> list:
    """Return the names of the frame's local variables that are buffers holding traced values."""
    out = []
    for name, value in list(frame.f_locals.items()):
        if isinstance(value, TraceBuffer) and "_npdiff_dtype" in value.__dict__:
            out.append(name)
    return out


_counts = threading.local()  # .poisoned: buffers poisoned on this thread so far


def poison_count() -> int:
    """Return how many buffers this thread has poisoned so far."""
    return getattr(_counts, "poisoned", 0)
# What NumPy says when compiled code reads a poisoned buffer (its items convert to 2-tuples)
_READ_MARKS = ("npdiff_traced_values_not_in_memory", "can't multiply sequence by non-int", "and 'tuple'",
               "'tuple' and", "float() argument must be a string or a real number, not 'tuple'",
               "overlapping or out-of-order fields are not representable as buffers")


def explain_read(exc: BaseException, since: int = 0):
    """Return a TracingError message if exc was raised by code reading a buffer that holds traced values.

    ``since``: ``poison_count()`` when the trace began (a buffer poisoned since then may be the one read).
    """
    tb, last = exc.__traceback__, None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None or not _is_user(last.tb_frame):
        return None  # raised by Python code (npdiff's, NumPy's): not compiled code reading memory
    frame, lineno = last.tb_frame, last.tb_lineno
    line = linecache.getline(frame.f_code.co_filename, lineno).strip()
    names = [n for n in traced_buffers_in(frame) if re.search(rf"\b{re.escape(n)}\b", line)]
    if not names and not (poison_count() > since and any(m in str(exc) for m in _READ_MARKS)):
        return None
    what = ", ".join(names) + ", " if names else ""
    return (f"{frame.f_code.co_filename}:{lineno} in {frame.f_code.co_name}: {line}\n"
            f"This call reads {what}an array made while tracing that now holds traced values, in code that "
            f"does not dispatch to npdiff (an ndarray method of another array such as C.dot(b), a compiled "
            f"routine, ctypes, a memoryview); NumPy raised {type(exc).__name__}: {str(exc)[:200]}\n"
            f"Write it with NumPy functions or operators on the array: C @ b or np.dot(C, b) instead of C.dot(b), "
            f"np.searchsorted(a, b) instead of a.searchsorted(b), np.take(a, b) instead of a.take(b).")


def _is_user(frame) -> bool:
    fname = os.path.abspath(frame.f_code.co_filename)
    return not (fname.startswith(_PKG_DIR) or os.sep + "numpy" + os.sep in fname or os.sep + "scipy" + os.sep in fname
                or fname.startswith("<frozen"))


def _has_traced(x) -> bool:
    if isinstance(x, dict):
        return any(_has_traced(v) for v in x.values())
    return is_traced(x)


def _as_buffer(x):
    if type(x) is np.ndarray:
        return x.view(TraceBuffer)
    if isinstance(x, tuple):
        return tuple(_as_buffer(e) for e in x)
    return x


class TraceBuffer(np.ndarray):
    """An ndarray made while tracing; it follows the graph once a traced value is written into it."""

    _node = None  # graph node once traced values were written (the memory is then stale)
    _view = None  # (base buffer, index) for a basic-indexing view of another buffer

    # -- state ------------------------------------------------------------------------------
    def _npdiff_node(self):
        """Return the node holding this buffer's value, or None while it is an ordinary array."""
        if self._view is not None:
            base, index = self._view
            bnode = base._npdiff_node()
            if bnode is None:
                return None
            return METHODS["__getitem__"](Tracer(bnode), index).node
        if self._node is not None:
            return self._node
        b = _base(self)
        while b is not None:
            if isinstance(b, TraceBuffer) and b._npdiff_node() is not None:
                raise TracingError(
                    "this array is a view (reshape, transpose, ravel...) of an array that now holds traced "
                    "values, and npdiff cannot follow such views; take the view after the last write, or "
                    "write and read through indexing (y[1:] = ...).\n  at " + user_frame_description())
            b = _base(b)
        return None

    def _value_node(self):
        """Return the node of the buffer's current value (a constant while it is untraced)."""
        node = self._npdiff_node()
        if node is not None:
            return node
        arr = np.array(_raw(self), copy=True)
        if arr.size > 1 and arr.dtype != object:
            first = arr.reshape(-1)[0]
            if (arr == first).all() and not (arr.dtype.kind in "fc" and np.isnan(first)):
                return apply("broadcast_to", const(np.array(first, arr.dtype)), shape=arr.shape)
        return const(arr)

    def _set(self, node):
        """Make the buffer hold ``node`` (same shape; cast to its dtype as NumPy assignment would)."""
        if node.shape != self.shape:
            node = apply("broadcast_to", node, shape=self.shape)
        if node.dtype != self.dtype:
            node = apply("convert", node, dtype=self.dtype)
        if self._view is not None:
            base, index = self._view
            base[index] = Tracer(node)
            return
        b = _base(self)
        while b is not None:
            if isinstance(b, TraceBuffer):
                raise TracingError(
                    "a traced value was written into a view (reshape, transpose, ravel...) of an array made "
                    "while tracing; npdiff cannot follow such views: write into the array itself "
                    "(y[...] = ...) or build the result with np.stack / np.concatenate.\n  at "
                    + user_frame_description())
            b = _base(b)
        self._node = node
        _poison(self)

    def _logical_dtype(self):
        """Return the dtype of the values (the memory of a buffer holding traced values is poisoned)."""
        return self.__dict__.get("_npdiff_dtype") or np.ndarray.dtype.__get__(self)

    def __array_finalize__(self, obj):
        if isinstance(obj, TraceBuffer) and _base(self) is not None:  # a view: poisoned with its base
            views = obj.__dict__.setdefault("_npdiff_views", [])
            views.append(weakref.ref(self))

    # -- indexing ------------------------------------------------------------------------------
    def __getitem__(self, index):
        node = self._npdiff_node()
        if node is None and not is_traced(index):
            out = super().__getitem__(_raw(index) if isinstance(index, TraceBuffer) else index)
            if isinstance(out, TraceBuffer) and out.ndim and _basic(index):
                out._view = (self, index)
            return out
        out = Tracer(node if node is not None else self._value_node())[index]  # shape errors in NumPy's words
        if isinstance(out, Tracer) and out._view is not None:
            out._view = (self, index)  # writes into it reach this buffer
        return out

    def __setitem__(self, index, value):
        if self._npdiff_node() is None and not is_traced(value) and not is_traced(index):
            return super().__setitem__(index, _unbuffer(value))
        cur = Tracer(self._value_node())
        cur[index] = _unbuffer(value)  # Tracer.__setitem__: shape errors in NumPy's words
        self._set(cur.node)

    # -- NumPy protocols -----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        outs = out if isinstance(out, tuple) else (out,) if out is not None else ()
        if _has_traced(inputs) or _has_traced(kwargs) or any(
                isinstance(o, TraceBuffer) and o._npdiff_node() is not None for o in outs):
            res = getattr(ufunc, method)(*_unbuffer(inputs), **_unbuffer(kwargs))
            if not outs:
                return res
            if len(outs) != 1 or not isinstance(outs[0], TraceBuffer):
                raise TracingError(f"np.{ufunc.__name__}(..., out=...) with traced values writes into an array "
                                   "npdiff cannot follow; assign the result instead.\n  at "
                                   + user_frame_description())
            outs[0][...] = res
            return outs[0]
        kw = dict(kwargs)
        if outs:
            kw["out"] = tuple(_raw(o) if isinstance(o, TraceBuffer) else o for o in outs)
        res = getattr(ufunc, method)(*_unbuffer(inputs), **kw)
        if outs:
            return outs[0] if len(outs) == 1 else outs
        return _as_buffer(res)

    def __array_function__(self, func, types, args, kwargs):
        if _has_traced(args) or _has_traced(kwargs):
            return func(*_unbuffer(args), **_unbuffer(kwargs))
        return super().__array_function__(func, types, args, kwargs)

    def __repr__(self):
        node = self._npdiff_node()
        if node is not None:
            return f"TraceBuffer(traced, shape={self.shape}, dtype={self.dtype})"
        return repr(_raw(self))

    __str__ = __repr__

    def __reduce__(self):
        if self._npdiff_node() is not None:
            raise TracingError("an array holding traced values cannot be pickled.\n  at " + user_frame_description())
        return _raw(self).__reduce__()



def _forward(name):
    plain = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        node = self._npdiff_node()
        if node is None and not _has_traced(args) and not _has_traced(kwargs):
            return plain(self, *args, **kwargs)
        t = Tracer(node if node is not None else self._value_node())
        before = t.node
        res = getattr(t, name)(*_unbuffer(args), **_unbuffer(kwargs))
        if NDARRAY_TABLE.get(name) == "inplace" and t.node is not before:  # dunders (__iter__...) are not in it
            self._set(t.node)
        return res
    method.__name__ = name
    return method


def _forward_property(name):
    plain = getattr(np.ndarray, name)

    def get(self):
        node = self._npdiff_node()
        if node is None:
            return plain.__get__(self)
        t = Tracer(node)
        t._view = (self, Ellipsis)  # writes through it (b.flat[i] = v) reach the buffer
        try:
            return getattr(t, name)
        except AttributeError as e:  # b.ctypes, b.data of a buffer holding traced values: its memory is stale
            raise TracingError(str(e)) from None
    return property(get)


# Every public name of np.ndarray, from the one table in dispatch.py (as the Tracer's): a buffer holding
# traced values answers through the graph, or refuses by name; an untraced buffer is an ordinary ndarray.
for _name, _kind in NDARRAY_TABLE.items():
    if (_kind == "meta" and _name != "dtype") or _name in BUFFER_OWN:
        continue  # shape, ndim, size, flags... are the buffer's own
    if _name == "dtype":
        setattr(TraceBuffer, _name, property(TraceBuffer._logical_dtype))
    elif callable(getattr(np.ndarray, _name)):
        setattr(TraceBuffer, _name, _forward(_name))
    else:
        setattr(TraceBuffer, _name, _forward_property(_name))
for _name in ("__float__", "__int__", "__index__", "__complex__", "__bool__", "__iter__"):
    setattr(TraceBuffer, _name, _forward(_name))


from . import tracer as _trace

_trace.READ_HINT = explain_read
_trace.POISON_COUNT = poison_count
