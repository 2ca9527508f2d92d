"""Indexing: x[index], x[index] = v, take, take_along_axis, compress, extract and ndarray.fill,
via the gather and set_index primitives."""
from __future__ import annotations

import numpy as np

from ..ir.graph import const
from ..primitives import apply
from ..tracing.tracer import METHODS, Tracer, declare, implements, node_of, write_back
from ._common import N, W, axis_index, filled, flat_axis, take_along
from .dynamic_index import dynamic_read, split
from .masks import concrete_mask, mask_index


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
            elif it.dtype == np.bool_:  # a traced mask: its value on this path, guarded
                it = mask_index(it)
            elif not np.issubdtype(it.dtype, np.integer):
                raise IndexError("arrays used as indices must be of integer type")
        items.append(it)
    used = sum(_consumed(it) for it in items if it is not Ellipsis)
    if used > len(shape):  # NumPy's error (p[0][:, None] on a 1-d p: p[0] is 0-d)
        raise IndexError(f"too many indices for array: array is {len(shape)}-dimensional, but {used} were indexed")
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


def _is_scalar_mask(it) -> bool:
    node = it.node if isinstance(it, Tracer) else it
    if isinstance(it, (bool, np.bool_)):
        return True
    return getattr(node, "dtype", None) == np.bool_ and getattr(node, "ndim", 1) == 0


def _scalar_masks(index, ndim):
    """Return (index, output axes): 0-d boolean masks (x[True], x[c] with c 0-d) as None, and the output
    axes the False ones make (NumPy: x[True] is x[None], x[False] is x[None][:0])."""
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(it, (list, np.ndarray, Tracer)) and not _is_scalar_mask(it) for it in items):
        raise IndexError("npdiff supports a 0-d boolean index only together with integers and slices")
    used = sum(1 for it in items if isinstance(it, (int, np.integer, slice)) and not isinstance(it, (bool, np.bool_)))
    out, empty, axis = [], [], 0
    for it in items:
        if _is_scalar_mask(it):
            node = it.node if isinstance(it, Tracer) else it
            v = bool(mask_index(node)) if hasattr(node, "op") else bool(np.asarray(node))
            if not v:
                empty.append(axis)
            out.append(None)
            axis += 1
        else:
            out.append(it)
            axis += {type(Ellipsis): ndim - used}.get(type(it), 0 if isinstance(it, (int, np.integer)) else 1)
    return tuple(out), empty


def getitem(self, index):
    x = node_of(self)
    dyn = split(index, x.ndim)
    if dyn is not None:  # X[i * bs:(i + 1) * bs]: a run-time start, only the length guarded
        node = dynamic_read(x, dyn[0], dyn[1])
        if node is not None:
            rest = dyn[2]
            return Tracer(node) if all(r == slice(None) for r in rest) else getitem(Tracer(node), rest)
    if any(_is_scalar_mask(it) for it in (index if isinstance(index, tuple) else (index,))):
        index, empty = _scalar_masks(index, x.ndim)
        out = getitem(Tracer(x), index)
        if empty:
            out = getitem(out, tuple(slice(0, 0) if k in empty else slice(None) for k in range(max(empty) + 1)))
        return out
    entries, arrays = canonical_index(index, x.shape)
    out = Tracer(apply("gather", x, *arrays, index=entries))
    if isinstance(self, Tracer) and not arrays and out.node.ndim:  # basic indexing gives a view
        out._view = (self, index)
    return out


def setitem(self, index, value):
    y = node_of(self)
    v = node_of(value)
    if _is_scalar_mask(index):  # y[c] = v with c 0-d: y[None] = v where c holds (apply_where on 0-d arrays)
        return _set_scalar_mask(y, v, index)
    mask = index.node if isinstance(index, Tracer) else None
    if (mask is not None and mask.dtype == np.bool_ and mask.op != "const" and mask.shape == y.shape
            and v.size == 1 and v.ndim <= y.ndim):
        # y[x > 0] = c with a traced mask of y's shape is an elementwise select: no guard, static shape
        # (a value of several elements is placed by the mask's value on this path, guarded)
        v = apply("reshape", v, shape=()) if v.ndim else v
        return Tracer(apply("where", mask, apply("convert", v, dtype=y.dtype) if not v.weak else v, y))
    entries, arrays = canonical_index(index, y.shape)
    if v.dtype != y.dtype and not v.weak:
        v = apply("convert", v, dtype=y.dtype)
    return Tracer(apply("set_index", y, v, *arrays, index=entries))


def _set_scalar_mask(y, v, index):
    c = index.node if isinstance(index, Tracer) else const(np.asarray(index))
    if v.size == 0:  # y[False] = [] leaves y as it is
        return Tracer(y)
    if v.dtype != y.dtype and not v.weak:
        v = apply("convert", v, dtype=y.dtype)
    shape = (1,) + y.shape
    vv = apply("broadcast_to", v, shape=np.broadcast_shapes(v.shape, shape)) if v.shape != shape else v
    vv = apply("reshape", vv, shape=y.shape)
    if c.op == "const":
        return Tracer(vv if bool(c.value) else y)
    return Tracer(apply("where", c, vv, y))


METHODS["__getitem__"] = getitem
METHODS["__setitem__"] = setitem


@implements(np.take, honours=("axis", "mode"))
def take(a, indices, axis=None, out=None, mode="raise"):
    x = node_of(a)
    x, axis = flat_axis(x, axis)
    if mode != "raise":
        indices = _wrap_or_clip(indices, x.shape[axis], mode)
    idx = (slice(None),) * axis + (indices,)
    return getitem(Tracer(x), idx)


def _wrap_or_clip(indices, n, mode):
    """Return indices mapped into range(n) as np.take's mode='wrap' or 'clip' does."""
    if mode not in ("wrap", "clip"):
        raise ValueError(f"clipmode must be one of 'clip', 'raise', or 'wrap' (got {mode!r})")
    if n == 0:
        raise IndexError("cannot do a non-empty take from an empty axes.")
    i = N(indices)
    if i.op == "const":
        v = np.asarray(i.value)
        return np.mod(v, n) if mode == "wrap" else np.clip(v, 0, n - 1)
    if mode == "wrap":
        return W(apply("remainder", i, n))
    return W(apply("minimum", apply("maximum", i, 0), n - 1))


METHODS["take"] = take


@implements(np.take_along_axis, honours=("axis",))
def take_along_axis(arr, indices, axis=-1):
    x = N(arr)
    idx = N(indices)
    x, axis = flat_axis(x, axis)
    if idx.ndim != x.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    if idx.op == "const":
        v = np.asarray(idx.value)
        idx = const(np.where(v < 0, v + x.shape[axis], v))
    arrays = []
    for a in range(x.ndim):
        if a == axis:
            arrays.append(idx)
        else:
            shape = [1] * x.ndim
            shape[a] = x.shape[a]
            arrays.append(const(np.arange(x.shape[a]).reshape(shape)))
    return W(apply("gather", x, *arrays, index=tuple(("a", k) for k in range(x.ndim))))


@implements(np.compress, honours=("axis",))
def compress(condition, a, axis=None, out=None):
    c = N(condition)
    cv = np.asarray(c.value) if c.op == "const" else concrete_mask(c, "numpy.compress")  # traced: guarded
    x = N(a)
    x, axis = flat_axis(x, axis)
    return W(take_along(x, axis_index(axis, x.ndim), np.nonzero(np.ravel(cv))[0]))


@implements(np.extract)
def extract(condition, arr):
    c = N(condition)
    return compress(W(apply("reshape", c, shape=(c.size,))), W(apply("reshape", N(arr), shape=(N(arr).size,))))


def _fill_method(self, value):
    x = N(self)
    self.node = filled(value, x.shape, x.dtype)
    write_back(self)


METHODS["fill"] = _fill_method
METHODS["compress"] = declare(lambda self, condition, axis=None, out=None: compress(condition, self, axis), ("axis",))
