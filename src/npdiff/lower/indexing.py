"""x[index] and x[index] = v on tracers, via gather and set_index."""
from __future__ import annotations

import numpy as np

from ..errors import TracingError, user_frame_description
from ..graph import const
from ..primitives import apply
from ..trace import METHODS, Tracer, node_of


def canonical_index(index, shape):
    """Return (entries, index-array nodes) for a NumPy index on an array of this shape."""
    if not isinstance(index, tuple):
        index = (index,)
    items = []
    for it in index:
        if isinstance(it, list):
            it = np.asarray(it) if not any(isinstance(e, Tracer) for e in it) else node_of(it)
        if isinstance(it, Tracer):
            it = it.node
        if hasattr(it, "op"):  # a node
            if it.op == "const":
                it = np.asarray(it.value)
            elif it.dtype == np.bool_:
                raise TracingError("indexing with a traced boolean mask gives a value-dependent shape; "
                                   "use np.where(mask, x, 0) instead.\n  at " + user_frame_description())
            elif not np.issubdtype(it.dtype, np.integer):
                raise IndexError("arrays used as indices must be of integer type")
        items.append(it)
    used = sum(_consumed(it) for it in items if it is not Ellipsis)
    entries, arrays, axis = [], [], 0
    for it in items:
        if it is Ellipsis:
            for _ in range(len(shape) - used):
                entries.append(("s", 0, shape[axis], 1))
                axis += 1
        elif it is None:
            entries.append(("n",))
        elif isinstance(it, slice):
            entries.append(("s",) + it.indices(shape[axis]))
            axis += 1
        elif isinstance(it, (int, np.integer)):
            k = int(it)
            if not -shape[axis] <= k < shape[axis]:
                raise IndexError(f"index {k} is out of bounds for axis {axis} with size {shape[axis]}")
            entries.append(("i", k % shape[axis]))
            axis += 1
        elif isinstance(it, np.ndarray) and it.dtype == np.bool_:
            if it.shape != tuple(shape[axis: axis + it.ndim]):
                raise IndexError(f"boolean index of shape {it.shape} does not match array shape {shape}")
            for nz in np.nonzero(it):
                entries.append(("a", len(arrays)))
                arrays.append(const(nz))
                axis += 1
        elif isinstance(it, np.ndarray):
            if not np.issubdtype(it.dtype, np.integer):
                raise IndexError("arrays used as indices must be of integer type")
            entries.append(("a", len(arrays)))
            arrays.append(const(np.where(it < 0, it + shape[axis], it)))
            axis += 1
        else:  # traced integer array node
            entries.append(("a", len(arrays)))
            arrays.append(it)
            axis += 1
    return tuple(entries), tuple(arrays)


def _consumed(it):
    if it is None:
        return 0
    if isinstance(it, np.ndarray) and it.dtype == np.bool_:
        return it.ndim
    return 1


def getitem(self, index):
    x = node_of(self)
    entries, arrays = canonical_index(index, x.shape)
    out = Tracer(apply("gather", x, *arrays, index=entries))
    if isinstance(self, Tracer) and not arrays and out.node.ndim:  # basic indexing gives a view
        out._view = (self, index)
    return out


def setitem(self, index, value):
    y = node_of(self)
    v = node_of(value)
    mask = index.node if isinstance(index, Tracer) else None
    if mask is not None and mask.dtype == np.bool_ and mask.op != "const" and mask.shape == y.shape:
        # y[x > 0] = v with a traced mask of y's shape is an elementwise select
        if v.ndim:
            raise TracingError("y[mask] = v with a traced mask needs a scalar v (its size would depend on "
                               "the mask); use y = np.where(mask, values, y).\n  at " + user_frame_description())
        return Tracer(apply("where", mask, apply("convert", v, dtype=y.dtype) if not v.weak else v, y))
    entries, arrays = canonical_index(index, y.shape)
    if v.dtype != y.dtype and not v.weak:
        v = apply("convert", v, dtype=y.dtype)
    return Tracer(apply("set_index", y, v, *arrays, index=entries))


METHODS["__getitem__"] = getitem
METHODS["__setitem__"] = setitem


@__import__("npdiff.trace", fromlist=["implements"]).implements(np.take)
def take(a, indices, axis=None, out=None, mode="raise"):
    x = node_of(a)
    if axis is None:
        x, axis = apply("reshape", x, shape=(x.size,)), 0
    axis %= x.ndim
    idx = (slice(None),) * axis + (indices,)
    return getitem(Tracer(x), idx)


METHODS["take"] = lambda self, indices, axis=None, **kw: take(self, indices, axis)
