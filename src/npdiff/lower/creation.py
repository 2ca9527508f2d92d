"""Array creation while tracing: np.array/asarray of lists holding tracers
become one stack node; np.zeros/ones/empty/full return symbolic constants so
that ``out = np.zeros(n); out[i] = ...`` traces as functional updates.
"""
from __future__ import annotations

import numpy as np

from ..graph import const
from ..primitives import apply
from ..primitives.helpers import zeros as _zeros
from ..trace import _ORIG, _PATCHES, FUNCTIONS, Tracer, _from_library, implements, is_traced, node_of


def _convert(node, dtype):
    if dtype is None or np.dtype(dtype) == node.dtype:
        return node
    return apply("convert", node, dtype=np.dtype(dtype))


def array(obj, dtype=None, *args, **kwargs):
    if is_traced(obj) and not _from_library():
        return Tracer(_convert(node_of(obj), dtype))
    return _ORIG["array"](obj, dtype, *args, **kwargs)


def asarray(a, dtype=None, *args, **kwargs):
    if is_traced(a) and not _from_library():
        return Tracer(_convert(node_of(a), dtype))
    return _ORIG["asarray"](a, dtype, *args, **kwargs)


def asanyarray(a, dtype=None, *args, **kwargs):
    if is_traced(a) and not _from_library():
        return Tracer(_convert(node_of(a), dtype))
    return _ORIG["asanyarray"](a, dtype, *args, **kwargs)


def _filled(name, value):
    def fn(shape, dtype=float, order="C", **kwargs):
        if _from_library():
            return _ORIG[name](shape, dtype=dtype, order=order, **kwargs)
        shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
        dt = np.dtype(dtype)
        return Tracer(apply("broadcast_to", const(np.array(value, dt)), shape=shape))
    fn.__name__ = name
    return fn


def full(shape, fill_value, dtype=None, order="C", **kwargs):
    if _from_library():
        return _ORIG["full"](shape, fill_value, dtype=dtype, order=order, **kwargs)
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    v = node_of(fill_value)
    if dtype is not None:
        v = _convert(v, dtype)
    elif v.weak:
        v = const(np.asarray(v.value))
    return Tracer(apply("broadcast_to", v, shape=shape))


_PATCHES.update(array=array, asarray=asarray, asanyarray=asanyarray, zeros=_filled("zeros", 0),
                ones=_filled("ones", 1), empty=_filled("empty", 0), full=full)


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
