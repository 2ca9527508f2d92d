"""Polynomials and 1-d signals: polyval, polyder, polyint, polyadd, polysub, polymul,
vander, convolve, correlate and interp.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import const
from ..primitives import apply
from ..primitives.helpers import zeros
from ..tracing.tracer import Tracer, implements
from ._common import N, W, filled, slice_along, take_along, to_float


@implements(np.polyval)
def polyval(p, x):
    pv, xv = N(p), N(x)
    if pv.ndim != 1:
        raise UnsupportedOperationError("npdiff supports numpy.polyval with 1-d coefficients only")
    y = take_along(pv, 0, 0)
    for i in range(1, pv.size):  # Horner's scheme
        y = apply("add", apply("multiply", y, xv), take_along(pv, 0, i))
    shape = np.broadcast_shapes(xv.shape, y.shape)
    if y.shape != shape:
        y = apply("broadcast_to", y, shape=shape)
    return W(y)


def _poly1d(p):
    v = N(p)
    if v.ndim != 1:
        raise UnsupportedOperationError("npdiff supports polynomial coefficients as 1-d arrays only")
    return v


@implements(np.polyder, honours=("m",))
def polyder(p, m=1):
    v = _poly1d(p)
    for _ in range(int(m)):
        n = v.size
        v = apply("multiply", slice_along(v, 0, 0, max(n - 1, 0)), const(np.arange(n - 1, 0, -1).astype(v.dtype)))
    return W(v)


@implements(np.polyint, honours=("m", "k"))
def polyint(p, m=1, k=None):
    v = to_float(_poly1d(p))
    m = int(m)
    ks = np.zeros(m) if k is None else np.atleast_1d(np.asarray(N(k).value if isinstance(k, Tracer) else k,
                                                                dtype=np.float64))
    if ks.size == 1 and m > 1:
        ks = np.repeat(ks, m)
    if ks.size < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    for i in range(m):
        n = v.size
        v = apply("divide", v, const(np.arange(n, 0, -1).astype(v.dtype)))
        v = apply("concatenate", v, const(np.asarray([ks[i]], v.dtype)), axis=0)
    return W(v)


def _poly_pair(a1, a2):
    x, y = _poly1d(a1), _poly1d(a2)
    n = max(x.size, y.size)
    dt = np.result_type(x.dtype, y.dtype)

    def grow(v):
        v = apply("convert", v, dtype=dt) if v.dtype != dt else v
        return v if v.size == n else apply("concatenate", zeros((n - v.size,), dt), v, axis=0)
    return grow(x), grow(y)


@implements(np.polyadd)
def polyadd(a1, a2):
    x, y = _poly_pair(a1, a2)
    return W(apply("add", x, y))


@implements(np.polysub)
def polysub(a1, a2):
    x, y = _poly_pair(a1, a2)
    return W(apply("subtract", x, y))


@implements(np.polymul)
def polymul(a1, a2):
    return convolve(W(_poly1d(a1)), W(_poly1d(a2)))


@implements(np.vander, honours=("N_", "N", "increasing"))
def vander(x, N_=None, increasing=False, **kw):
    v = N(x)
    n = kw.pop("N", N_)
    n = v.size if n is None else int(n)
    cols = []
    for k in range(n):  # repeated products: exact derivatives at 0 (x ** 0 would give 0 * inf)
        cols.append(filled(1, v.shape, v.dtype) if k == 0 else v if k == 1 else apply("multiply", cols[-1], v))
    if not increasing:
        cols = cols[::-1]
    return W(apply("stack", *cols, axis=1) if cols else zeros((v.size, 0), v.dtype))


def _correlate_window(a, v, start, length):
    """out[k] = sum_j a_pad[start + k + j] v[j] for k < length, a_pad = a with len(v) - 1 zeros each side."""
    m = v.size
    dt = np.result_type(a.dtype, v.dtype)
    a = apply("convert", a, dtype=dt) if a.dtype != dt else a
    if m > 1:
        pad_ = zeros((m - 1,), dt)
        a = apply("concatenate", pad_, a, pad_, axis=0)
    idx = start + np.arange(length)[:, None] + np.arange(m)[None, :]
    return apply("einsum", take_along(a, 0, idx), v, spec="kj,j->k")


def _window(n, m, mode, conv):
    if mode == "full":
        return 0, n + m - 1
    if mode == "valid":
        return min(n, m) - 1, max(n, m) - min(n, m) + 1
    if mode == "same":
        if conv or n >= m:
            return (min(n, m) - 1) // 2, max(n, m)
        return n // 2, m
    raise ValueError(f"mode must be one of 'valid', 'same' or 'full' (got {mode!r})")


@implements(np.correlate, honours=("mode",))
def correlate(a, v, mode="valid"):
    x, y = N(a), N(v)
    if x.ndim != 1 or y.ndim != 1 or not x.size or not y.size:
        raise ValueError("object too deep / empty for desired array")
    start, length = _window(x.size, y.size, mode, False)
    return W(_correlate_window(x, y, start, length))


@implements(np.convolve, honours=("mode",))
def convolve(a, v, mode="full"):
    x, y = N(a), N(v)
    if x.ndim == 0:
        x = apply("reshape", x, shape=(1,))
    if y.ndim == 0:
        y = apply("reshape", y, shape=(1,))
    if not x.size or not y.size:
        raise ValueError("a cannot be empty" if not x.size else "v cannot be empty")
    start, length = _window(x.size, y.size, mode, True)
    return W(_correlate_window(x, slice_along(y, 0, y.size - 1, None, -1), start, length))


@implements(np.interp, honours=("left", "right"))
def interp(x, xp, fp, left=None, right=None, period=None):
    if period is not None:
        raise UnsupportedOperationError("npdiff does not support numpy.interp with period=")
    xv, xpv, fpv = to_float(N(x)), to_float(N(xp)), to_float(N(fp))
    n = xpv.size
    if xpv.ndim != 1 or fpv.shape != (n,):
        raise ValueError("fp and xp are not of the same length.")
    first, last = take_along(xpv, 0, 0), take_along(xpv, 0, n - 1)
    if n == 1:
        out = apply("broadcast_to", take_along(fpv, 0, 0), shape=xv.shape)
    else:
        j = apply("subtract", apply("searchsorted", xpv, xv, side="right"), 1)
        j = apply("minimum", apply("maximum", j, 0), n - 2)
        j1 = apply("add", j, 1)
        x0, x1 = take_along(xpv, 0, j), take_along(xpv, 0, j1)
        f0, f1 = take_along(fpv, 0, j), take_along(fpv, 0, j1)
        g = apply("divide", apply("subtract", xv, x0), apply("subtract", x1, x0))
        g = apply("where", apply("less", xv, first), 0.0, apply("where", apply("greater", xv, last), 1.0, g))
        out = apply("add", f0, apply("multiply", g, apply("subtract", f1, f0)))
    if left is not None:
        out = apply("where", apply("less", xv, first), N(left), out)
    if right is not None:
        out = apply("where", apply("greater", xv, last), N(right), out)
    return W(out)
