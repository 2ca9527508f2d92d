"""Evenly spaced values and coordinate grids: linspace, logspace, geomspace, meshgrid
(with traced endpoints).
"""
from __future__ import annotations

import math

import numpy as np

from ..ir.graph import const
from ..primitives import apply
from ..tracing.tracer import implements
from ._common import N, W, axis_index, to_float


@implements(np.linspace, honours=("num", "endpoint", "retstep", "dtype", "axis"))
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    num = int(num)
    a, b = to_float(N(start)), to_float(N(stop))
    shape = np.broadcast_shapes(a.shape, b.shape)
    div = (num - 1) if endpoint else num
    delta = apply("subtract", b, a)
    frac = np.arange(num, dtype=np.float64).reshape((num,) + (1,) * len(shape)) / (div if div > 0 else 1)
    fr = const(frac.astype(delta.dtype))
    y = apply("add", apply("multiply", fr, delta), a)
    if y.shape != (num,) + shape:
        y = apply("broadcast_to", y, shape=(num,) + shape)
    if endpoint and num > 1:
        y = apply("set_index", y, b, index=(("i", num - 1),))
    ax = int(axis) % (len(shape) + 1)
    if ax:
        y = apply("transpose", y, perm=tuple(range(1, ax + 1)) + (0,) + tuple(range(ax + 1, len(shape) + 1)))
    if dtype is not None:
        y = apply("convert", y, dtype=np.dtype(dtype))
    if retstep:
        step = apply("divide", delta, float(div)) if div > 0 else const(np.nan)
        return W(y), W(step)
    return W(y)


@implements(np.logspace, honours=("num", "endpoint", "base", "dtype", "axis"))
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    out = np.power(base, y)
    return out.astype(dtype) if dtype is not None else out


@implements(np.geomspace, honours=("num", "endpoint", "dtype", "axis"))
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    a, b = to_float(N(start)), to_float(N(stop))
    sign = apply("sign", a)
    y = N(logspace(W(apply("log", apply("absolute", a))), W(apply("log", apply("absolute", b))), num=num,
                   endpoint=endpoint, base=math.e))
    shape = y.shape[1:]
    y = apply("multiply", y, sign)
    if num > 0:  # exact endpoints, as NumPy
        y = apply("set_index", y, a if a.shape == shape else apply("broadcast_to", a, shape=shape),
                  index=(("i", 0),))
        if endpoint and num > 1:
            y = apply("set_index", y, b if b.shape == shape else apply("broadcast_to", b, shape=shape),
                      index=(("i", num - 1),))
    ax = axis_index(axis, y.ndim)
    if ax:
        y = apply("transpose", y, perm=tuple(range(1, ax + 1)) + (0,) + tuple(range(ax + 1, y.ndim)))
    return W(apply("convert", y, dtype=np.dtype(dtype)) if dtype is not None else y)


@implements(np.meshgrid, honours=("copy", "sparse", "indexing"))
def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    nodes = [apply("reshape", N(x), shape=(N(x).size,)) for x in xi]
    nd = len(nodes)
    shapes = []
    for i, n in enumerate(nodes):
        s = [1] * nd
        s[i] = n.size
        shapes.append(s)
    if indexing == "xy" and nd > 1:
        for s in shapes:
            s[0], s[1] = s[1], s[0]
    outs = [apply("reshape", n, shape=tuple(s)) for n, s in zip(nodes, shapes)]
    if not sparse:
        full = np.broadcast_shapes(*[o.shape for o in outs])
        outs = [apply("broadcast_to", o, shape=full) for o in outs]
    return tuple(W(o) for o in outs)
