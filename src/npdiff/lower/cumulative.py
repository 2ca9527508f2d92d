"""Running sums and products (cumsum, cumprod, their NaN-aware and NumPy 2 cumulative_*
versions), differences (diff, ediff1d), np.gradient and trapezoid integration.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import const
from ..primitives import apply
from ..tracing.tracer import FUNCTIONS, METHODS, Tracer, declare, implements
from ._common import (
    NOVALUE,
    N,
    W,
    axis_index,
    cat,
    filled,
    flat_axis,
    nan_to,
    normalize_axis_tuple,
    slice_along,
    take_along,
    to_float,
)


def cumulative(prim):
    """Return the lowering of np.cumsum-like functions onto primitive ``prim`` (flattening for axis=None)."""
    def lowering(a, axis=None, dtype=None, out=None):
        x = N(a)
        x, axis = flat_axis(x, axis)
        if dtype is not None:
            x = apply("convert", x, dtype=np.dtype(dtype))
        return W(apply(prim, x, axis=axis_index(axis, x.ndim)))
    lowering.__name__ = prim
    return declare(lowering, ("axis", "dtype"))


cumsum = FUNCTIONS[np.cumsum] = METHODS["cumsum"] = cumulative("cumsum")


cumprod = implements(np.cumprod)(cumulative("cumprod"))


METHODS["cumprod"] = cumprod


def _cumulative(prim, initial):
    def fn(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        v = N(x)
        if axis is None:
            if v.ndim > 1:
                raise ValueError("axis must be specified for arrays with more than one dimension")
            axis = 0
        axis = axis_index(axis, v.ndim)
        if dtype is not None:
            v = apply("convert", v, dtype=np.dtype(dtype))
        r = apply(prim, v, axis=axis)
        if include_initial:
            first = filled(initial, v.shape[:axis] + (1,) + v.shape[axis + 1:], r.dtype)
            r = apply("concatenate", first, r, axis=axis)
        return W(r)
    return declare(fn, ("axis", "dtype", "include_initial"))


if hasattr(np, "cumulative_sum"):
    FUNCTIONS[np.cumulative_sum] = _cumulative("cumsum", 0)
    FUNCTIONS[np.cumulative_prod] = _cumulative("cumprod", 1)


@implements(np.nancumsum, honours=("axis", "dtype"))
def nancumsum(a, axis=None, dtype=None, out=None):
    return FUNCTIONS[np.cumsum](W(nan_to(N(a), 0.0)), axis=axis, dtype=dtype)


@implements(np.nancumprod, honours=("axis", "dtype"))
def nancumprod(a, axis=None, dtype=None, out=None):
    return cumprod(W(nan_to(N(a), 1.0)), axis=axis, dtype=dtype)


def _edge(value, x, axis):
    """Return a prepend/append value broadcast like np.diff does (size 1 along axis if scalar)."""
    v = N(value)
    if v.ndim == 0:
        return filled(v, x.shape[:axis] + (1,) + x.shape[axis + 1:], x.dtype)
    return v


@implements(np.diff, honours=("n", "axis", "prepend", "append"))
def diff(a, n=1, axis=-1, prepend=NOVALUE, append=NOVALUE):
    x = N(a)
    axis = axis_index(axis, x.ndim)
    parts = [x]
    if prepend is not NOVALUE:
        parts.insert(0, _edge(prepend, x, axis))
    if append is not NOVALUE:
        parts.append(_edge(append, x, axis))
    if len(parts) > 1:
        x = cat(parts, axis)
    for _ in range(int(n)):
        m = x.shape[axis]
        hi, lo = slice_along(x, axis, 1, m), slice_along(x, axis, 0, max(m - 1, 0))
        x = apply("not_equal", hi, lo) if x.dtype == np.bool_ else apply("subtract", hi, lo)
    return W(x)


@implements(np.ediff1d, honours=("to_end", "to_begin"))
def ediff1d(ary, to_end=None, to_begin=None):
    x = N(ary)
    x = apply("reshape", x, shape=(x.size,))
    parts = [N(diff(W(x)))]
    if to_begin is not None:
        b = N(to_begin)
        parts.insert(0, apply("reshape", b, shape=(b.size,)))
    if to_end is not None:
        e = N(to_end)
        parts.append(apply("reshape", e, shape=(e.size,)))
    return W(cat(parts, 0) if len(parts) > 1 else parts[0])


def _trapezoid(y, x=None, dx=1.0, axis=-1):
    yv = to_float(N(y))
    axis = axis_index(axis, yv.ndim)
    n = yv.shape[axis]
    mid = apply("multiply", apply("add", slice_along(yv, axis, 1, n), slice_along(yv, axis, 0, n - 1)), 0.5)
    if x is None:
        d = N(dx)
    else:
        xv = to_float(N(x))
        if xv.ndim == 1:
            d = N(diff(W(xv)))
            shape = [1] * yv.ndim
            shape[axis] = d.size
            d = apply("reshape", d, shape=tuple(shape))
        else:
            d = N(diff(W(xv), axis=axis))
    return W(apply("reduce_sum", apply("multiply", mid, d), axes=(axis,)))


for _name in ("trapezoid", "trapz"):
    if hasattr(np, _name):
        FUNCTIONS[getattr(np, _name)] = declare(_trapezoid, ("x", "dx", "axis"))


def _gradient_axis(f, axis, spacing, edge_order):
    """np.gradient along one axis as sum_o w_o * f[i + o] (o = -2..2) with constant weights.

    The weights are numpy's own: probing np.gradient with combs of period 5
    recovers every entry of its banded (at most 5 wide) linear map exactly.
    """
    n = f.shape[axis]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, "
                         "at least (edge_order + 1) elements are required.")
    rows = np.arange(n)
    probes = [np.gradient((rows % 5 == r).astype(np.float64), *spacing, edge_order=edge_order) for r in range(5)]
    out = None
    for o in range(-2, 3):
        cols = rows + o
        valid = (cols >= 0) & (cols < n)
        w = np.where(valid, np.choose(np.where(valid, cols, 0) % 5, probes), 0.0)  # weight of f[i + o]
        if not np.any(w):
            continue
        shape = [1] * f.ndim
        shape[axis] = n
        term = apply("multiply", take_along(f, axis, np.clip(cols, 0, n - 1)),
                     const(w.reshape(shape).astype(f.dtype)))
        out = term if out is None else apply("add", out, term)
    return out


@implements(np.gradient, honours=("axis", "edge_order"))
def gradient(f, *varargs, axis=None, edge_order=1):
    x = to_float(N(f))
    if axis is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axis, (tuple, list)):
        axes = tuple(normalize_axis_tuple(axis, x.ndim))
    else:
        axes = (axis_index(axis, x.ndim),)
    if any(isinstance(v, Tracer) and v.node.op != "const" for v in varargs):
        raise UnsupportedOperationError("npdiff supports numpy.gradient with constant spacing only")
    vals = [np.asarray(N(v).value) if isinstance(v, Tracer) else v for v in varargs]
    if len(vals) == 0:
        spacing = [()] * len(axes)
    elif len(vals) == 1 and np.ndim(vals[0]) == 0:
        spacing = [(vals[0],)] * len(axes)
    elif len(vals) == len(axes):
        spacing = [(v,) for v in vals]
    else:
        raise TypeError("invalid number of arguments")
    outs = [W(_gradient_axis(x, a, sp, int(edge_order))) for a, sp in zip(axes, spacing)]
    return outs[0] if len(outs) == 1 else tuple(outs)
