"""Sorting and statistics: sort, argsort, partition, searchsorted, digitize, quantile,
percentile, median, cov, corrcoef.

Value-dependent indices (argsort, searchsorted) are nondiff primitives whose integer
results feed ``gather``, so derivatives flow through the gathered values only.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import const
from ..primitives import apply
from ..tracing.tracer import FUNCTIONS, METHODS, declare, implements, write_back
from ._common import (
    N,
    W,
    filled,
    flat_axis,
    keep_dims,
    merge_last,
    slice_along,
    take_along,
    to_float,
)
from .indexing import take_along_axis


@implements(np.sort, honours=("axis", "kind", "stable"))
def sort(a, axis=-1, kind=None, order=None, stable=None):
    if order is not None:
        raise UnsupportedOperationError("npdiff does not support numpy.sort with order=")
    x, axis = flat_axis(N(a), axis)
    return W(apply("sort", x, axis=axis))


@implements(np.argsort, honours=("axis", "kind", "stable"))
def argsort(a, axis=-1, kind=None, order=None, stable=None):
    if order is not None:
        raise UnsupportedOperationError("npdiff does not support numpy.argsort with order=")
    x, axis = flat_axis(N(a), axis)
    return W(apply("argsort", x, axis=axis))


def _sort_method(self, axis=-1, kind=None, order=None, stable=None):
    self.node = N(sort(self, axis=axis, kind=kind, order=order))
    write_back(self)


METHODS["sort"] = declare(_sort_method, ("axis", "kind", "stable"))
METHODS["argsort"] = declare(lambda self, axis=-1, kind=None, order=None, stable=None: argsort(self, axis), ("axis", "kind", "stable"))


@implements(np.partition, honours=("axis", "kind"))
def partition(a, kth, axis=-1, kind="introselect", order=None):
    return sort(a, axis=axis, order=order)  # a sorted array is a valid partition for every kth


@implements(np.argpartition, honours=("axis", "kind"))
def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    return argsort(a, axis=axis, order=order)


def _partition_method(self, kth, axis=-1, kind="introselect", order=None):
    self.node = N(sort(self, axis=axis, order=order))
    write_back(self)


@implements(np.searchsorted, honours=("side", "sorter"))
def searchsorted(a, v, side="left", sorter=None):
    x = N(a)
    if sorter is not None:
        x = N(take_along_axis(W(x), sorter, 0))
    return W(apply("searchsorted", x, N(v), side=side))


@implements(np.digitize, honours=("right",))
def digitize(x, bins, right=False):
    b = N(bins)
    side = "left" if right else "right"
    if b.op == "const" and b.size > 1 and np.asarray(b.value)[0] > np.asarray(b.value)[-1]:
        rev = apply("searchsorted", const(np.asarray(b.value)[::-1].copy()), N(x), side=side)
        return W(apply("subtract", b.size, rev))
    return W(apply("searchsorted", b, N(x), side=side))


def _nan_if_any(out, s):
    """Return NaN where a sorted row of s holds a NaN (NumPy sorts NaN last), as np.median/np.quantile."""
    if not np.issubdtype(s.dtype, np.floating):
        return out
    return apply("where", apply("isnan", take_along(s, s.ndim - 1, s.shape[-1] - 1)), np.nan, out)


_CONTINUOUS = {"linear": (1.0, 1.0), "hazen": (0.5, 0.5), "weibull": (0.0, 0.0),
               "median_unbiased": (1 / 3, 1 / 3), "normal_unbiased": (3 / 8, 3 / 8),
               "interpolated_inverted_cdf": (0.0, 1.0)}
QUANTILE_METHODS = (*_CONTINUOUS, "lower", "higher", "nearest", "midpoint", "inverted_cdf",
                    "averaged_inverted_cdf", "closest_observation")


def _clipped(i, n):
    return apply("minimum", apply("maximum", apply("convert", i, dtype=np.dtype(np.intp)), 0), n - 1)


def _quantile_index(q, n, method):
    """Return (lower index, upper index, weight or None) of NumPy's quantile ``method`` (H&F 1996) at q."""
    if method in _CONTINUOUS or method == "averaged_inverted_cdf":
        if method == "linear":
            v = apply("multiply", q, float(n - 1))
        elif method == "averaged_inverted_cdf":
            v = apply("subtract", apply("multiply", q, float(n)), 1.0)
        else:
            a, b = _CONTINUOUS[method]
            v = apply("subtract", apply("add", apply("multiply", q, float(n)),
                                        apply("add", apply("multiply", q, 1.0 - a - b), a)), 1.0)
        fl = apply("floor", v)
        below, above = apply("less", v, 0.0), apply("greater_equal", v, float(n - 1))
        lo = apply("where", below, 0, apply("where", above, n - 1, _clipped(fl, n)))
        hi = apply("where", below, 0, apply("where", above, n - 1, _clipped(apply("add", fl, 1.0), n)))
        g = apply("subtract", v, apply("convert", lo, dtype=v.dtype))
        if method == "averaged_inverted_cdf":
            g = apply("where", apply("equal", g, 0.0), 0.5, 1.0)
        return lo, hi, g
    virtual = apply("multiply", q, float(n - 1))
    if method == "lower":
        return _clipped(apply("floor", virtual), n), None, None
    if method == "higher":
        return _clipped(apply("ceil", virtual), n), None, None
    if method == "nearest":  # round half to even, as np.around
        return _clipped(apply("rint", virtual), n), None, None
    if method == "midpoint":
        lo = _clipped(apply("floor", virtual), n)
        hi = apply("minimum", apply("add", lo, 1), n - 1)
        return lo, hi, apply("where", apply("equal", apply("floor", virtual), virtual), 0.0, 0.5)
    if method in ("inverted_cdf", "closest_observation"):
        shift = 1.0 if method == "inverted_cdf" else 1.5
        v = apply("subtract", apply("multiply", q, float(n)), shift)
        fl = apply("floor", v)
        keep = apply("equal", v, fl)
        if method == "closest_observation":
            keep = apply("logical_and", keep, apply("equal", apply("remainder", fl, 2.0), 1.0))
        return _clipped(apply("where", keep, fl, apply("add", fl, 1.0)), n), None, None
    raise UnsupportedOperationError(f"npdiff does not support the argument method={method!r} of numpy.quantile "
                                    f"(supported: {', '.join(QUANTILE_METHODS)})")


def _quantile_nodes(x, q, axis, method, keepdims):
    """Quantiles of x (float node) at q (fraction node) over axis; result shape q.shape + reduced."""
    shape = x.shape
    y, axes = merge_last(x, axis)
    s = apply("sort", y, axis=y.ndim - 1)
    n = s.shape[-1]
    lead = s.shape[:-1]
    lo, hi, g = _quantile_index(q, n, method)
    qnd = q.ndim
    back = tuple(range(len(lead), len(lead) + qnd)) + tuple(range(len(lead)))

    def at(i):
        return apply("transpose", take_along(s, s.ndim - 1, i), perm=back)
    out = at(lo)
    if hi is not None:
        g = apply("convert", g, dtype=s.dtype) if g.dtype != s.dtype else g
        g = apply("reshape", g, shape=g.shape + (1,) * len(lead))
        out = apply("add", out, apply("multiply", g, apply("subtract", at(hi), out)))
    out = _nan_if_any(out, s)
    if keepdims:
        out = keep_dims(out, shape, axes, extra=qnd)
    return out


@implements(np.quantile, honours=("axis", "overwrite_input", "method", "keepdims", "interpolation"))
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
             weights=None, interpolation=None):
    if weights is not None or out is not None:
        raise UnsupportedOperationError("npdiff does not support weights=/out= in numpy.quantile")
    return W(_quantile_nodes(to_float(N(a)), to_float(N(q)), axis, interpolation or method, keepdims))


@implements(np.percentile, honours=("axis", "overwrite_input", "method", "keepdims", "interpolation"))
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
               weights=None, interpolation=None):
    if weights is not None or out is not None:
        raise UnsupportedOperationError("npdiff does not support weights=/out= in numpy.percentile")
    qn = apply("divide", to_float(N(q)), 100.0)
    return W(_quantile_nodes(to_float(N(a)), qn, axis, interpolation or method, keepdims))


@implements(np.median, honours=("axis", "overwrite_input", "keepdims"))
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    x = to_float(N(a))
    y, axes = merge_last(x, axis)
    s = apply("sort", y, axis=y.ndim - 1)
    n = s.shape[-1]
    if n == 0:  # NumPy: the mean of nothing, NaN
        out = filled(np.nan, s.shape[:-1], s.dtype)
    else:
        mid = slice_along(s, s.ndim - 1, (n - 1) // 2, n // 2 + 1)
        out = apply("reduce_sum", mid, axes=(s.ndim - 1,))
        if n % 2 == 0:
            out = apply("multiply", out, 0.5)
        out = _nan_if_any(out, s)
    if keepdims:
        out = keep_dims(out, x.shape, axes)
    return W(out)


@implements(np.cov, honours=("y", "rowvar", "bias", "ddof"))
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    if fweights is not None or aweights is not None:
        raise UnsupportedOperationError("npdiff does not support fweights=/aweights= in numpy.cov")
    x = to_float(N(m))
    x = apply("reshape", x, shape=(1, x.size)) if x.ndim < 2 else x
    if not rowvar:
        x = apply("transpose", x, perm=(1, 0))
    if y is not None:
        z = to_float(N(y))
        z = apply("reshape", z, shape=(1, z.size)) if z.ndim < 2 else z
        if not rowvar:
            z = apply("transpose", z, perm=(1, 0))
        x = apply("concatenate", x, apply("convert", z, dtype=x.dtype) if z.dtype != x.dtype else z, axis=0)
    n = x.shape[1]
    ddof = (0 if bias else 1) if ddof is None else ddof
    d = apply("subtract", x, apply("reshape", apply("divide", apply("reduce_sum", x, axes=(1,)), float(n)),
                                   shape=(x.shape[0], 1)))
    dc = apply("conj", d) if d.dtype.kind == "c" else d  # NumPy: X @ X^H
    c = apply("divide", apply("einsum", d, dc, spec="ij,kj->ik"), float(n - ddof))
    return W(apply("reshape", c, shape=tuple(s for s in c.shape if s != 1)))


@implements(np.corrcoef, honours=("y", "rowvar"))
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    c = N(cov(x, y, rowvar))
    if c.ndim == 0:
        return W(apply("divide", c, c))
    dg = N(FUNCTIONS[np.diagonal](W(c)))
    sd = apply("sqrt", apply("real", dg) if dg.dtype.kind == "c" else dg)
    r = apply("divide", apply("divide", c, apply("reshape", sd, shape=(sd.size, 1))), sd)
    if r.dtype.kind == "c":  # NumPy clips the real and imaginary parts separately
        clip = FUNCTIONS[np.clip]
        return clip(W(apply("real", r)), -1.0, 1.0) + 1j * clip(W(apply("imag", r)), -1.0, 1.0)
    return FUNCTIONS[np.clip](W(r), -1.0, 1.0)


METHODS["partition"] = declare(_partition_method, ("axis", "kind"))
METHODS["argpartition"] = declare(lambda self, kth, axis=-1, kind="introselect", order=None: argsort(self, axis),
                                  ("axis", "kind"))
METHODS["searchsorted"] = declare(lambda self, v, side="left", sorter=None: searchsorted(self, v, side, sorter),
                                  ("side", "sorter"))
