"""Shape and axis manipulation without copying data: reshape, transpose, swapaxes,
moveaxis, rollaxis, expand_dims, squeeze, ravel, broadcast_to, atleast_*d, flip, roll,
rot90, astype, copy and the shape/dtype queries.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError
from ..primitives import apply
from ..tracing.tracer import METHODS, Tracer, declare, implements
from ._common import N, W, axes_of, axis_index, normalize_axis_tuple, slice_along


def _shape_arg(shape, size):
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = [int(s) for s in shape]
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1]))
        shape[shape.index(-1)] = size // known if known else 0
    return tuple(shape)


@implements(np.reshape, honours=("order", "newshape", "shape", "copy"))
def reshape(a, *args, order="C", newshape=None, shape=None, copy=None):
    x = N(a)
    s = shape if shape is not None else newshape if newshape is not None else args[0] if len(args) == 1 else args
    return W(_reshape_in_order(x, _shape_arg(s, x.size), order, "reshape"))


def _reverse(x):
    return apply("transpose", x, perm=tuple(reversed(range(x.ndim))))


def _reshape_in_order(x, shape, order, what):
    """Return x reshaped reading and writing elements in C (row-major) or F (column-major) order."""
    if order == "C" or order is None:
        return apply("reshape", x, shape=shape)
    if order == "F":  # column-major = row-major on the reversed axes
        return _reverse(apply("reshape", _reverse(x), shape=tuple(reversed(shape))))
    raise UnsupportedOperationError(
        f"npdiff does not support numpy.{what} with order={order!r} (it depends on the memory layout of the "
        "input, which is not known while tracing); use order='C' or order='F'")


METHODS["reshape"] = declare(lambda self, *shape, order="C", copy=None: reshape(
    self, shape[0] if len(shape) == 1 else shape, order=order), ("order", "copy"))


def _perm(axes, ndim) -> tuple:
    perm = tuple(axis_index(p, ndim) for p in axes)
    if len(perm) != ndim or len(set(perm)) != ndim:
        raise ValueError("axes don't match array" if len(perm) != ndim else "repeated axis in transpose")
    return perm


@implements(np.transpose, honours=("axes",))
def transpose(a, axes=None):
    x = N(a)
    perm = tuple(reversed(range(x.ndim))) if axes is None else _perm(axes, x.ndim)
    return W(apply("transpose", x, perm=perm))


METHODS["transpose"] = lambda self, *axes: transpose(
    self, None if not axes or axes == (None,) else axes[0] if len(axes) == 1 and not isinstance(axes[0], int)
    else axes)


@implements(np.swapaxes)
def swapaxes(a, axis1, axis2):
    x = N(a)
    perm = list(range(x.ndim))
    i, j = axis_index(axis1, x.ndim), axis_index(axis2, x.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return W(apply("transpose", x, perm=tuple(perm)))


METHODS["swapaxes"] = swapaxes


@implements(np.moveaxis)
def moveaxis(a, source, destination):
    x = N(a)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    src = list(normalize_axis_tuple(src, x.ndim, "source"))
    dst = list(normalize_axis_tuple(dst, x.ndim, "destination"))
    if len(src) != len(dst):
        raise ValueError("`source` and `destination` arguments must have the same number of elements")
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return W(apply("transpose", x, perm=tuple(order)))


@implements(np.expand_dims)
def expand_dims(a, axis):
    x = N(a)
    axes = [axis] if isinstance(axis, int) else list(axis)
    nd = x.ndim + len(axes)
    axes = list(normalize_axis_tuple(axes, nd))
    it = iter(x.shape)
    shape = tuple(1 if i in axes else next(it) for i in range(nd))
    return W(apply("reshape", x, shape=shape))


@implements(np.squeeze, honours=("axis",))
def squeeze(a, axis=None):
    x = N(a)
    if axis is None:
        axes = [i for i, s in enumerate(x.shape) if s == 1]
    else:
        axes = list(normalize_axis_tuple(axis, x.ndim))
        if any(x.shape[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    return W(apply("reshape", x, shape=tuple(s for i, s in enumerate(x.shape) if i not in axes)))


METHODS["squeeze"] = squeeze


@implements(np.ravel, honours=("order",))
def ravel(a, order="C"):
    x = N(a)
    return W(_reshape_in_order(x, (x.size,), order, "ravel"))


METHODS["ravel"] = METHODS["flatten"] = ravel


@implements(np.broadcast_to, honours=("subok",))
def broadcast_to(array, shape, subok=False):
    x = N(array)
    return W(apply("broadcast_to", x, shape=_shape_arg(shape, x.size)))


@implements(np.broadcast_arrays, honours=("subok",))
def broadcast_arrays(*args, subok=False):
    shape = np.broadcast_shapes(*[N(a).shape for a in args])
    return tuple(broadcast_to(a, shape) for a in args)


@implements(np.flip, honours=("axis",))
def flip(m, axis=None):
    x = N(m)
    axes = axes_of(axis, x.ndim)
    idx = tuple(("s", d - 1, -1, -1) if i in axes else ("s", 0, d, 1) for i, d in enumerate(x.shape))
    return W(apply("gather", x, index=idx))


@implements(np.fliplr)
def fliplr(m):
    return flip(m, 1)


@implements(np.flipud)
def flipud(m):
    return flip(m, 0)


@implements(np.copy, honours=("order", "subok"))
def copy(a, order="K", subok=False):
    return W(N(a))


METHODS["copy"] = declare(lambda self, order="C": W(N(self)), ("order",))


def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    return W(apply("convert", N(self), dtype=np.dtype(dtype)))


METHODS["astype"] = declare(astype, ("order", "casting", "subok", "copy"))  # casting only raises


@implements(np.shape)
def shape(a):
    return N(a).shape


@implements(np.ndim)
def ndim(a):
    return N(a).ndim


@implements(np.size, honours=("axis",))
def size(a, axis=None):
    x = N(a)
    return x.size if axis is None else x.shape[axis]


@implements(np.result_type)
def result_type(*args):
    return np.result_type(*[N(a).dtype if isinstance(a, Tracer) else a for a in args])


@implements(np.iscomplexobj)
def iscomplexobj(x):
    return np.issubdtype(N(x).dtype, np.complexfloating)


@implements(np.isrealobj)
def isrealobj(x):
    return not iscomplexobj(x)


@implements(np.atleast_1d)
def atleast_1d(*arys):
    res = [W(apply("reshape", N(a), shape=(1,))) if N(a).ndim == 0 else W(N(a)) for a in arys]
    return res[0] if len(res) == 1 else res


@implements(np.atleast_2d)
def atleast_2d(*arys):
    def one(a):
        x = N(a)
        return W(apply("reshape", x, shape=(1,) * (2 - x.ndim) + x.shape)) if x.ndim < 2 else W(x)
    res = [one(a) for a in arys]
    return res[0] if len(res) == 1 else res


@implements(np.atleast_3d)
def atleast_3d(*arys):
    def one(a):
        x = N(a)
        shape = {0: (1, 1, 1), 1: (1,) + x.shape + (1,), 2: x.shape + (1,)}.get(x.ndim, x.shape)
        return W(apply("reshape", x, shape=shape))
    res = [one(a) for a in arys]
    return res[0] if len(res) == 1 else res


@implements(np.roll, honours=("axis",))
def roll(a, shift, axis=None):
    x = N(a)
    if axis is None:
        return W(apply("reshape", N(roll(W(apply("reshape", x, shape=(x.size,))), shift, 0)), shape=x.shape))
    total = {}
    for s, ax in np.broadcast(np.asarray(shift), np.asarray(axis)):
        ax = axis_index(ax, x.ndim)
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in total.items():
        n = x.shape[ax]
        k = s % n if n else 0
        if k:
            x = apply("concatenate", slice_along(x, ax, n - k, n), slice_along(x, ax, 0, n - k), axis=ax)
    return W(x)


@implements(np.rot90, honours=("k", "axes"))
def rot90(m, k=1, axes=(0, 1)):
    x = N(m)
    a0, a1 = (axis_index(a, x.ndim) for a in axes)
    if a0 == a1:
        raise ValueError("Axes must be different.")
    k = int(k) % 4
    perm = list(range(x.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 0:
        return W(x)
    if k == 2:
        return flip(flip(W(x), a0), a1)
    if k == 1:
        return transpose(flip(W(x), a1), perm)
    return flip(transpose(W(x), perm), a1)


@implements(np.rollaxis, honours=("start",))
def rollaxis(a, axis, start=0):
    v = N(a)
    n = v.ndim
    axis = int(axis) % n
    start = int(start) + n if int(start) < 0 else int(start)
    if axis < start:
        start -= 1
    if axis == start:
        return W(v)
    perm = [i for i in range(n) if i != axis]
    perm.insert(start, axis)
    return W(apply("transpose", v, perm=tuple(perm)))


if hasattr(np, "matrix_transpose"):
    @implements(np.matrix_transpose)
    def matrix_transpose(x, /):
        v = N(x)
        if v.ndim < 2:
            raise ValueError("Input array must be at least 2-dimensional")
        return W(apply("transpose", v, perm=tuple(range(v.ndim - 2)) + (v.ndim - 1, v.ndim - 2)))
