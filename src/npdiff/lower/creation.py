"""Array creation while tracing.

NumPy's creation functions do not dispatch, so ``trace.tracing()`` swaps them
for the wrappers below, which act only on the tracing thread and for user
code (``trace.intercepting``). With traced inputs (``np.array([t0, t1])``,
``np.full(n, t)``) they return Tracers; otherwise they return the array NumPy
would, as a ``TraceBuffer`` (a real ndarray) so that ``out = np.zeros(n);
out[i] = ...`` traces as functional updates while C code (``np.random``)
still receives ndarrays.
"""
from __future__ import annotations

import numpy as np

from ..buffer import TraceBuffer, _unbuffer
from ..graph import const
from ..primitives import apply
from ..primitives.helpers import zeros as _zeros
from ..trace import (
    _ORIG,
    _PATCHES,
    Tracer,
    implements,
    intercepting,
    is_traced,
    node_of,
    scipy_converting,
)


def _convert(node, dtype):
    if dtype is None or np.dtype(dtype) == node.dtype:
        return node
    return apply("convert", node, dtype=np.dtype(dtype))


def _buffer(out, source=None):
    """Return a fresh ndarray result as a TraceBuffer (results that are the input stay as they are)."""
    if source is not None and out is source:
        return out
    if type(out) is np.ndarray and not (isinstance(source, np.ndarray) and np.shares_memory(out, source)):
        return out.view(TraceBuffer)
    return out


def _converter(name):
    orig = _ORIG[name]

    def fn(obj, dtype=None, *args, **kwargs):
        if not intercepting():
            if is_traced(obj) and scipy_converting():  # scipy's xp.asarray(x) keeps a traced x
                return Tracer(_convert(node_of(obj), dtype))
            return orig(obj, dtype, *args, **kwargs)
        if is_traced(obj):
            return Tracer(_convert(node_of(obj), dtype))
        src = obj.view(np.ndarray) if isinstance(obj, TraceBuffer) else _unbuffer(obj)
        out = orig(src, dtype, *args, **kwargs)
        if isinstance(obj, TraceBuffer) and out is src:
            return obj  # np.asarray(buffer) is the buffer itself
        return _buffer(out, src)
    fn.__name__ = name
    fn.__doc__ = orig.__doc__
    fn.__wrapped__ = orig
    return fn


def _maker(name):
    orig = _ORIG[name]

    def fn(*args, **kwargs):
        if not (intercepting() or scipy_converting()) or is_traced(args) or is_traced(tuple(kwargs.values())):
            return orig(*args, **kwargs)
        return _buffer(orig(*args, **kwargs))  # scipy's xp.zeros(n) too: it may receive traced values
    fn.__name__ = name
    fn.__doc__ = orig.__doc__
    fn.__wrapped__ = orig
    return fn


def full(shape, fill_value, dtype=None, order="C", **kwargs):
    if not (intercepting() or scipy_converting()) or not is_traced(fill_value):
        out = _ORIG["full"](shape, fill_value, dtype=dtype, order=order, **kwargs)
        return _buffer(out) if intercepting() or scipy_converting() else out
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    v = node_of(fill_value)
    if dtype is not None:
        v = _convert(v, dtype)
    elif v.weak:
        v = const(np.asarray(v.value))
    return Tracer(apply("broadcast_to", v, shape=shape))


full.__wrapped__ = _ORIG["full"]
_PATCHES.update({name: _converter(name) for name in ("array", "asarray", "asanyarray")})
_PATCHES.update({name: _maker(name) for name in ("zeros", "ones", "empty", "zeros_like", "ones_like",
                                                  "empty_like", "full_like", "eye", "identity")})
_PATCHES["full"] = full


@implements(np.zeros_like, np.empty_like)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, **kw):
    x = node_of(a)
    return Tracer(_zeros(tuple(shape) if shape is not None else x.shape, dtype or x.dtype))


@implements(np.ones_like)
def ones_like(a, dtype=None, order="K", subok=True, shape=None, **kw):
    x = node_of(a)
    return Tracer(apply("broadcast_to", const(np.array(1, dtype or x.dtype)),
                        shape=tuple(shape) if shape is not None else x.shape))


@implements(np.full_like)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, **kw):
    x = node_of(a)
    v = _convert(node_of(fill_value), dtype or x.dtype)
    return Tracer(apply("broadcast_to", v, shape=tuple(shape) if shape is not None else x.shape))


@implements(np.array, np.asarray, np.asanyarray, np.ascontiguousarray)
def _array_dispatch(a, dtype=None, *args, **kwargs):
    return Tracer(_convert(node_of(a), dtype))
