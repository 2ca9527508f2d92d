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

import numpy as np

from ..errors import TracingError, user_frame_description
from ..ir.graph import const
from ..primitives import apply
from .tracer import METHODS, Tracer, is_traced

_TRACER_METHODS = ("sum", "mean", "prod", "max", "min", "reshape", "transpose", "dot", "copy", "ravel",
                   "flatten", "squeeze", "astype", "var", "std", "cumsum", "cumprod", "clip", "trace",
                   "diagonal", "swapaxes", "argmax", "argmin", "all", "any", "round", "conj", "conjugate",
                   "repeat", "take", "sort", "argsort", "fill", "nonzero", "item", "tolist",
                   "__float__", "__int__", "__index__", "__complex__", "__bool__", "__iter__")
_INPLACE = ("fill", "sort")


def _basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (slice, int, np.integer)) or i is None or i is Ellipsis for i in items)


def _unbuffer(x, plain=True):
    """Return x with traced buffers replaced by Tracers (and, if plain, other buffers by ndarrays)."""
    if isinstance(x, TraceBuffer):
        node = x._npdiff_node()
        if node is not None:
            return Tracer(node)
        return x.view(np.ndarray) if plain else x
    if isinstance(x, (list, tuple)):
        out = [_unbuffer(e, plain) for e in x]
        return type(x)(out) if not hasattr(x, "_fields") else type(x)(*out)
    if isinstance(x, dict):
        return {k: _unbuffer(v, plain) for k, v in x.items()}
    return x


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
        b = self.base
        while b is not None:
            if isinstance(b, TraceBuffer) and b._npdiff_node() is not None:
                raise TracingError(
                    "this array is a view (reshape, transpose, ravel...) of an array that now holds traced "
                    "values, and npdiff cannot follow such views; take the view after the last write, or "
                    "write and read through indexing (y[1:] = ...).\n  at " + user_frame_description())
            b = getattr(b, "base", None)
        return None

    def _value_node(self):
        """Return the node of the buffer's current value (a constant while it is untraced)."""
        node = self._npdiff_node()
        if node is not None:
            return node
        arr = np.array(self.view(np.ndarray), copy=True)
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
        b = self.base
        while b is not None:
            if isinstance(b, TraceBuffer):
                raise TracingError(
                    "a traced value was written into a view (reshape, transpose, ravel...) of an array made "
                    "while tracing; npdiff cannot follow such views: write into the array itself "
                    "(y[...] = ...) or build the result with np.stack / np.concatenate.\n  at "
                    + user_frame_description())
            b = getattr(b, "base", None)
        self._node = node
        raw = self.view(np.ndarray)
        if raw.flags.writeable:
            if raw.dtype.kind in "fc":
                raw.fill(np.nan)  # stale memory reads as NaN, never as a plausible number
            raw.flags.writeable = False

    # -- indexing ------------------------------------------------------------------------------
    def __getitem__(self, index):
        node = self._npdiff_node()
        if node is None and not is_traced(index):
            out = super().__getitem__(index.view(np.ndarray) if isinstance(index, TraceBuffer) else index)
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
            kw["out"] = tuple(o.view(np.ndarray) if isinstance(o, TraceBuffer) else o for o in outs)
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
        return repr(self.view(np.ndarray))

    __str__ = __repr__

    def __reduce__(self):
        if self._npdiff_node() is not None:
            raise TracingError("an array holding traced values cannot be pickled.\n  at " + user_frame_description())
        return self.view(np.ndarray).__reduce__()

    def tobytes(self, order="C"):
        if self._npdiff_node() is not None:
            raise TracingError("tobytes() of an array holding traced values.\n  at " + user_frame_description())
        return super().tobytes(order)


def _forward(name):
    plain = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        node = self._npdiff_node()
        if node is None and not _has_traced(args) and not _has_traced(kwargs):
            return plain(self, *args, **kwargs)
        t = Tracer(node if node is not None else self._value_node())
        before = t.node
        res = getattr(t, name)(*_unbuffer(args), **_unbuffer(kwargs))
        if name in _INPLACE and t.node is not before:
            self._set(t.node)
        return res
    method.__name__ = name
    return method


for _name in _TRACER_METHODS:
    if hasattr(Tracer, _name) and hasattr(np.ndarray, _name):
        setattr(TraceBuffer, _name, _forward(_name))
for _name in ("T", "real", "imag"):
    def _prop(self, _name=_name):
        node = self._npdiff_node()
        if node is None:
            return getattr(np.ndarray, _name).__get__(self)
        return getattr(Tracer(node), _name)
    setattr(TraceBuffer, _name, property(_prop))
