"""Everyday NumPy beyond the core: cumulative products, differences, tiling and
padding, sorting and order statistics, NaN-aware reductions, grids,
interpolation, polynomials and convolution, all written with primitives.

Index arithmetic that depends only on shapes and constants is done with NumPy
at trace time and enters the graph as constant index arrays for ``gather``;
value-dependent indices (argsort, searchsorted) are nondiff primitives whose
integer results feed ``gather``, so derivatives flow through the gathered
values only.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import UnsupportedOperationError
from ..graph import const
from ..primitives import PRIMS, apply
from ..primitives.helpers import zeros
from ..trace import FUNCTIONS, METHODS, Tracer, implements, node_of, write_back
from .api import _axes, concatenate, cumulative, flip, transpose

W, N = Tracer, node_of
_NOVALUE = getattr(np, "_NoValue", object())
LETTERS = "abcdefghijklmnopqrstuvwxyz"


# -- small helpers on nodes ------------------------------------------------------------------------

def _float(x):
    """Return x converted to float64 unless it is already a float array."""
    return x if np.issubdtype(x.dtype, np.inexact) else apply("convert", x, dtype=np.dtype(np.float64))


def _slice(x, axis, start, stop, step=1):
    """Return x[..., start:stop:step, ...] along axis (concrete bounds)."""
    idx = tuple(("s", 0, d, 1) for d in x.shape[:axis]) + (("s",) + slice(start, stop, step).indices(x.shape[axis]),)
    return apply("gather", x, index=idx)


def _take(x, axis, idx):
    """Return x gathered along axis at a constant or integer-node index array."""
    if not hasattr(idx, "op"):
        idx = const(np.asarray(idx, dtype=np.intp))
    lead = tuple(("s", 0, d, 1) for d in x.shape[:axis])
    return apply("gather", x, idx, index=lead + (("a", 0),))


def _fill(value, shape, dtype):
    """Return a node broadcasting a scalar (constant or traced) to shape."""
    v = N(value)
    if v.weak:
        v = const(np.asarray(v.value, dtype))
    elif v.dtype != dtype:
        v = apply("convert", v, dtype=np.dtype(dtype))
    if v.ndim and v.size == 1:
        v = apply("reshape", v, shape=())
    return apply("broadcast_to", v, shape=tuple(shape))


def _cat(nodes, axis):
    return N(concatenate([W(n) for n in nodes], axis=axis))


def _moveaxis_last(x, axis):
    """Return x with axis moved last, and the permutation used."""
    perm = tuple(i for i in range(x.ndim) if i != axis) + (axis,)
    return apply("transpose", x, perm=perm), perm


def _merge_last(x, axis):
    """Return x with the reduced axes (int, tuple or None) moved last and merged, and their sorted tuple."""
    axes = _axes(axis, x.ndim)
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    y = apply("transpose", x, perm=rest + axes)
    n = int(np.prod([x.shape[a] for a in axes]))
    return apply("reshape", y, shape=tuple(x.shape[i] for i in rest) + (n,)), axes


def _keepdims(node, shape, axes, extra=0):
    """Reshape a reduced node (with ``extra`` leading axes) to keep the reduced axes as ones."""
    return apply("reshape", node, shape=node.shape[:extra] + tuple(1 if i in axes else s for i, s in enumerate(shape)))


# -- cumulative products, differences -------------------------------------------------------------

cumprod = implements(np.cumprod)(cumulative("cumprod"))


METHODS["cumprod"] = cumprod


def _cumulative(prim, initial):
    def fn(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        v = N(x)
        if axis is None:
            if v.ndim > 1:
                raise ValueError("axis must be specified for arrays with more than one dimension")
            axis = 0
        axis = int(axis) % v.ndim
        if dtype is not None:
            v = apply("convert", v, dtype=np.dtype(dtype))
        r = apply(prim, v, axis=axis)
        if include_initial:
            first = _fill(initial, v.shape[:axis] + (1,) + v.shape[axis + 1:], r.dtype)
            r = apply("concatenate", first, r, axis=axis)
        return W(r)
    return fn


if hasattr(np, "cumulative_sum"):
    FUNCTIONS[np.cumulative_sum] = _cumulative("cumsum", 0)
    FUNCTIONS[np.cumulative_prod] = _cumulative("cumprod", 1)


def _edge(value, x, axis):
    """Return a prepend/append value broadcast like np.diff does (size 1 along axis if scalar)."""
    v = N(value)
    if v.ndim == 0:
        return _fill(v, x.shape[:axis] + (1,) + x.shape[axis + 1:], x.dtype)
    return v


@implements(np.diff)
def diff(a, n=1, axis=-1, prepend=_NOVALUE, append=_NOVALUE):
    x = N(a)
    axis = int(axis) % x.ndim
    parts = [x]
    if prepend is not _NOVALUE:
        parts.insert(0, _edge(prepend, x, axis))
    if append is not _NOVALUE:
        parts.append(_edge(append, x, axis))
    if len(parts) > 1:
        x = _cat(parts, axis)
    for _ in range(int(n)):
        m = x.shape[axis]
        hi, lo = _slice(x, axis, 1, m), _slice(x, axis, 0, max(m - 1, 0))
        x = apply("not_equal", hi, lo) if x.dtype == np.bool_ else apply("subtract", hi, lo)
    return W(x)


@implements(np.ediff1d)
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
    return W(_cat(parts, 0) if len(parts) > 1 else parts[0])


# -- tiling, repeating, rolling, padding, rotating ----------------------------------------------------

@implements(np.kron)
def kron(a, b):
    x, y = N(a), N(b)
    nd = max(x.ndim, y.ndim)
    x = apply("reshape", x, shape=(1,) * (nd - x.ndim) + x.shape)
    y = apply("reshape", y, shape=(1,) * (nd - y.ndim) + y.shape)
    sa, sb = LETTERS[0:2 * nd:2], LETTERS[1:2 * nd:2]
    out = apply("einsum", x, y, spec=f"{sa},{sb}->{LETTERS[:2 * nd]}")
    return W(apply("reshape", out, shape=tuple(p * q for p, q in zip(x.shape, y.shape))))


@implements(np.roll)
def roll(a, shift, axis=None):
    x = N(a)
    if axis is None:
        return W(apply("reshape", N(roll(W(apply("reshape", x, shape=(x.size,))), shift, 0)), shape=x.shape))
    total = {}
    for s, ax in np.broadcast(np.asarray(shift), np.asarray(axis)):
        ax = int(ax) % x.ndim
        total[ax] = total.get(ax, 0) + int(s)
    for ax, s in total.items():
        n = x.shape[ax]
        k = s % n if n else 0
        if k:
            x = apply("concatenate", _slice(x, ax, n - k, n), _slice(x, ax, 0, n - k), axis=ax)
    return W(x)


@implements(np.tile)
def tile(A, reps):
    x = N(A)
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    d = max(len(reps), x.ndim)
    shape = (1,) * (d - x.ndim) + x.shape
    reps = (1,) * (d - len(reps)) + reps
    inter = apply("reshape", x, shape=sum(((1, s) for s in shape), ()))
    big = apply("broadcast_to", inter, shape=sum(((r, s) for r, s in zip(reps, shape)), ()))
    return W(apply("reshape", big, shape=tuple(r * s for r, s in zip(reps, shape))))


@implements(np.repeat)
def repeat(a, repeats, axis=None):
    x = N(a)
    if isinstance(repeats, Tracer) and repeats.node.op != "const":
        raise UnsupportedOperationError("npdiff supports numpy.repeat with constant repeats only")
    reps = np.asarray(N(repeats).value if isinstance(repeats, Tracer) else repeats)
    if axis is None:
        x, axis = apply("reshape", x, shape=(x.size,)), 0
    axis = int(axis) % x.ndim
    return W(_take(x, axis, np.repeat(np.arange(x.shape[axis]), reps)))


METHODS["repeat"] = lambda self, repeats, axis=None: repeat(self, repeats, axis)


def _pairs(value, ndim, what):
    arr = np.asarray(value)
    try:
        return np.broadcast_to(arr, (ndim, 2)).tolist()
    except ValueError:
        raise ValueError(f"{what} has an invalid shape {arr.shape} for an array of {ndim} dimensions") from None


@implements(np.pad)
def pad(array, pad_width, mode="constant", **kwargs):
    x = N(array)
    widths = [(int(p), int(q)) for p, q in _pairs(pad_width, x.ndim, "pad_width")]
    if mode == "constant":
        cv = kwargs.pop("constant_values", 0)
        if kwargs:
            raise UnsupportedOperationError(f"npdiff does not support the arguments {sorted(kwargs)} of numpy.pad")
        if isinstance(cv, Tracer) or (isinstance(cv, (list, tuple)) and any(isinstance(c, Tracer) for c in cv)):
            cvn = N(cv)
            if cvn.size != 1:
                raise UnsupportedOperationError("npdiff supports a traced constant_values of numpy.pad "
                                                "only as a scalar")
            values = [(cvn, cvn)] * x.ndim
        else:
            values = _pairs(cv, x.ndim, "constant_values")
        for ax, ((p, q), (vp, vq)) in enumerate(zip(widths, values)):
            parts = []
            if p:
                parts.append(_fill(vp, x.shape[:ax] + (p,) + x.shape[ax + 1:], x.dtype))
            parts.append(x)
            if q:
                parts.append(_fill(vq, x.shape[:ax] + (q,) + x.shape[ax + 1:], x.dtype))
            if len(parts) > 1:
                x = apply("concatenate", *parts, axis=ax)
        return W(x)
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        if kwargs.get("reflect_type", "even") != "even" or set(kwargs) - {"reflect_type"}:
            raise UnsupportedOperationError(f"npdiff does not support these arguments of numpy.pad: {sorted(kwargs)}")
        for ax, (p, q) in enumerate(widths):
            if p or q:  # the padded layout of an axis is an index map
                x = _take(x, ax, np.pad(np.arange(x.shape[ax]), (p, q), mode=mode))
        return W(x)
    raise UnsupportedOperationError(f"npdiff does not support numpy.pad with mode={mode!r}")


@implements(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    x = N(m)
    a0, a1 = (int(a) % x.ndim for a in axes)
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


@implements(np.atleast_3d)
def atleast_3d(*arys):
    def one(a):
        x = N(a)
        shape = {0: (1, 1, 1), 1: (1,) + x.shape + (1,), 2: x.shape + (1,)}.get(x.ndim, x.shape)
        return W(apply("reshape", x, shape=shape))
    res = [one(a) for a in arys]
    return res[0] if len(res) == 1 else res


@implements(np.column_stack)
def column_stack(tup):
    cols = []
    for a in tup:
        x = N(a)
        cols.append(apply("reshape", x, shape=(x.size, 1)) if x.ndim < 2 else x)
    return concatenate([W(c) for c in cols], axis=1)


@implements(np.dstack)
def dstack(tup):
    parts = [N(atleast_3d(a)) for a in tup]
    return concatenate([W(p) for p in parts], axis=2)


@implements(np.block)
def block(arrays):
    def depth(x):
        return 1 + depth(x[0]) if isinstance(x, list) else 0

    def leaves(x):
        return [n for e in x for n in leaves(e)] if isinstance(x, list) else [N(x)]
    d = depth(arrays)
    nd = max([d] + [n.ndim for n in leaves(arrays)])

    def rec(x, level):
        if isinstance(x, list):
            return _cat([rec(e, level + 1) for e in x], nd - (d - level))
        n = N(x)
        return apply("reshape", n, shape=(1,) * (nd - n.ndim) + n.shape)
    return W(rec(arrays, 0))


@implements(np.append)
def append(arr, values, axis=None):
    x, v = N(arr), N(values)
    if axis is None:
        return W(_cat([apply("reshape", x, shape=(x.size,)), apply("reshape", v, shape=(v.size,))], 0))
    return concatenate([W(x), W(v)], axis=axis)


@implements(np.delete)
def delete(arr, obj, axis=None):
    x = N(arr)
    if isinstance(obj, Tracer):
        raise UnsupportedOperationError("npdiff supports numpy.delete with constant indices only")
    if axis is None:
        x, axis = apply("reshape", x, shape=(x.size,)), 0
    axis = int(axis) % x.ndim
    return W(_take(x, axis, np.delete(np.arange(x.shape[axis]), obj)))


# -- sorting and order statistics ---------------------------------------------------------------

def _flat_axis(x, axis):
    if axis is None:
        return apply("reshape", x, shape=(x.size,)), 0
    return x, int(axis) % x.ndim


@implements(np.sort)
def sort(a, axis=-1, kind=None, order=None, stable=None):
    if order is not None:
        raise UnsupportedOperationError("npdiff does not support numpy.sort with order=")
    x, axis = _flat_axis(N(a), axis)
    return W(apply("sort", x, axis=axis))


@implements(np.argsort)
def argsort(a, axis=-1, kind=None, order=None, stable=None):
    if order is not None:
        raise UnsupportedOperationError("npdiff does not support numpy.argsort with order=")
    x, axis = _flat_axis(N(a), axis)
    return W(apply("argsort", x, axis=axis))


def _sort_method(self, axis=-1, kind=None, order=None, stable=None):
    self.node = N(sort(self, axis=axis, kind=kind, order=order))
    write_back(self)


METHODS["sort"] = _sort_method
METHODS["argsort"] = lambda self, axis=-1, kind=None, order=None, stable=None: argsort(self, axis, kind, order)


@implements(np.partition)
def partition(a, kth, axis=-1, kind="introselect", order=None):
    return sort(a, axis=axis, order=order)  # a sorted array is a valid partition for every kth


@implements(np.argpartition)
def argpartition(a, kth, axis=-1, kind="introselect", order=None):
    return argsort(a, axis=axis, order=order)


@implements(np.take_along_axis)
def take_along_axis(arr, indices, axis=-1):
    x = N(arr)
    idx = N(indices)
    if axis is None:
        x, axis = apply("reshape", x, shape=(x.size,)), 0
    axis = int(axis) % x.ndim
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


@implements(np.searchsorted)
def searchsorted(a, v, side="left", sorter=None):
    x = N(a)
    if sorter is not None:
        x = N(take_along_axis(W(x), sorter, 0))
    return W(apply("searchsorted", x, N(v), side=side))


@implements(np.digitize)
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
    return apply("where", apply("isnan", _take(s, s.ndim - 1, s.shape[-1] - 1)), np.nan, out)


def _quantile_nodes(x, q, axis, method, keepdims):
    """Quantiles of x (float node) at q (fraction node) over axis; result shape q.shape + reduced."""
    shape = x.shape
    y, axes = _merge_last(x, axis)
    s = apply("sort", y, axis=y.ndim - 1)
    n = s.shape[-1]
    lead = s.shape[:-1]
    virtual = apply("multiply", q, float(n - 1))
    lo = apply("convert", apply("floor", virtual), dtype=np.dtype(np.intp))
    lo = apply("minimum", apply("maximum", lo, 0), n - 1)
    hi = apply("minimum", apply("add", lo, 1), n - 1)
    if method == "linear":
        g = apply("subtract", virtual, apply("convert", lo, dtype=virtual.dtype))
    elif method == "lower":
        g = None
    elif method == "higher":
        lo = apply("convert", apply("ceil", virtual), dtype=np.dtype(np.intp))
        lo = apply("minimum", apply("maximum", lo, 0), n - 1)
        g = None
    elif method == "midpoint":
        g = apply("where", apply("equal", apply("floor", virtual), virtual), 0.0, 0.5)
    else:
        raise UnsupportedOperationError(f"npdiff supports quantile methods linear, lower, higher and midpoint; "
                                        f"not {method!r}")
    qnd = q.ndim
    back = tuple(range(len(lead), len(lead) + qnd)) + tuple(range(len(lead)))

    def at(i):
        return apply("transpose", _take(s, s.ndim - 1, i), perm=back)
    out = at(lo)
    if g is not None:
        g = apply("convert", g, dtype=s.dtype) if g.dtype != s.dtype else g
        g = apply("reshape", g, shape=g.shape + (1,) * len(lead))
        out = apply("add", out, apply("multiply", g, apply("subtract", at(hi), out)))
    out = _nan_if_any(out, s)
    if keepdims:
        out = _keepdims(out, shape, axes, extra=qnd)
    return out


@implements(np.quantile)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
             weights=None, interpolation=None):
    if weights is not None or out is not None:
        raise UnsupportedOperationError("npdiff does not support weights=/out= in numpy.quantile")
    return W(_quantile_nodes(_float(N(a)), _float(N(q)), axis, interpolation or method, keepdims))


@implements(np.percentile)
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
               weights=None, interpolation=None):
    if weights is not None or out is not None:
        raise UnsupportedOperationError("npdiff does not support weights=/out= in numpy.percentile")
    qn = apply("divide", _float(N(q)), 100.0)
    return W(_quantile_nodes(_float(N(a)), qn, axis, interpolation or method, keepdims))


@implements(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    x = _float(N(a))
    y, axes = _merge_last(x, axis)
    s = apply("sort", y, axis=y.ndim - 1)
    n = s.shape[-1]
    mid = _slice(s, s.ndim - 1, (n - 1) // 2, n // 2 + 1)
    out = apply("reduce_sum", mid, axes=(s.ndim - 1,))
    if n % 2 == 0:
        out = apply("multiply", out, 0.5)
    out = _nan_if_any(out, s)
    if keepdims:
        out = _keepdims(out, x.shape, axes)
    return W(out)


# -- weighted and NaN-aware reductions --------------------------------------------------------------

@implements(np.average)
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    x = _float(N(a))
    keepdims = False if keepdims is _NOVALUE else keepdims
    axes = _axes(axis, x.ndim)
    if weights is None:
        n = float(np.prod([x.shape[i] for i in axes]))
        avg = apply("divide", apply("reduce_sum", x, axes=axes), n)
        scl = const(np.asarray(n, avg.dtype))
    else:
        w = N(weights)
        if w.shape != x.shape:
            if axis is None or w.ndim != 1 or isinstance(axis, (tuple, list)):
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            shape = [1] * x.ndim
            shape[axes[0]] = w.size
            w = apply("reshape", w, shape=tuple(shape))
        w = apply("broadcast_to", w, shape=x.shape)
        scl = apply("reduce_sum", w, axes=axes)
        avg = apply("divide", apply("reduce_sum", apply("multiply", x, w), axes=axes), scl)
    if keepdims:
        avg = _keepdims(avg, x.shape, axes)
    if returned:
        return W(avg), W(apply("broadcast_to", apply("convert", scl, dtype=avg.dtype), shape=avg.shape)
                         if scl.shape != avg.shape else scl)
    return W(avg)


def _nan_to(x, value):
    return apply("where", apply("isnan", x), value, x)


def _count(x, axes):
    return apply("reduce_sum", apply("convert", apply("logical_not", apply("isnan", x)), dtype=x.dtype), axes=axes)


@implements(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return FUNCTIONS[np.sum](W(_nan_to(N(a), 0.0)), axis=axis, dtype=dtype, keepdims=keepdims)


@implements(np.nanprod)
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=True):
    return FUNCTIONS[np.prod](W(_nan_to(N(a), 1.0)), axis=axis, dtype=dtype, keepdims=keepdims)


@implements(np.nanmax)
def nanmax(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    return FUNCTIONS[np.max](W(_nan_to(N(a), -np.inf)), axis=axis, keepdims=keepdims)


@implements(np.nanmin)
def nanmin(a, axis=None, out=None, keepdims=False, initial=None, where=True):
    return FUNCTIONS[np.min](W(_nan_to(N(a), np.inf)), axis=axis, keepdims=keepdims)


@implements(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    x = _float(N(a))
    axes = _axes(axis, x.ndim)
    total = apply("divide", apply("reduce_sum", _nan_to(x, 0.0), axes=axes), _count(x, axes))
    return W(_keepdims(total, x.shape, axes) if keepdims else total)


@implements(np.nanvar)
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    x = _float(N(a))
    ddof = correction if correction is not None else ddof
    axes = _axes(axis, x.ndim)
    m = _keepdims(N(nanmean(W(x), axis=axis)), x.shape, axes)
    d = _nan_to(apply("subtract", x, m), 0.0)
    v = apply("divide", apply("reduce_sum", apply("square", d), axes=axes), apply("subtract", _count(x, axes), ddof))
    return W(_keepdims(v, x.shape, axes) if keepdims else v)


@implements(np.nanstd)
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    return np.sqrt(nanvar(a, axis=axis, ddof=ddof, keepdims=keepdims, correction=correction))


@implements(np.nancumsum)
def nancumsum(a, axis=None, dtype=None, out=None):
    return FUNCTIONS[np.cumsum](W(_nan_to(N(a), 0.0)), axis=axis, dtype=dtype)


@implements(np.nancumprod)
def nancumprod(a, axis=None, dtype=None, out=None):
    return cumprod(W(_nan_to(N(a), 1.0)), axis=axis, dtype=dtype)


@implements(np.nan_to_num)
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    v = N(x)
    if not np.issubdtype(v.dtype, np.floating):
        return W(v)
    big = float(np.finfo(v.dtype).max)
    v = _nan_to(v, nan)
    v = apply("where", apply("logical_and", apply("isinf", v), apply("greater", v, 0)),
              big if posinf is None else posinf, v)
    v = apply("where", apply("logical_and", apply("isinf", v), apply("less", v, 0)),
              -big if neginf is None else neginf, v)
    return W(v)


@implements(np.ptp)
def ptp(a, axis=None, out=None, keepdims=False):
    return FUNCTIONS[np.max](a, axis=axis, keepdims=keepdims) - FUNCTIONS[np.min](a, axis=axis, keepdims=keepdims)


@implements(np.count_nonzero)
def count_nonzero(a, axis=None, *, keepdims=False):
    x = apply("convert", apply("not_equal", N(a), 0), dtype=np.dtype(np.intp))
    axes = _axes(axis, x.ndim)
    r = apply("reduce_sum", x, axes=axes)
    return W(_keepdims(r, x.shape, axes) if keepdims else r)


@implements(np.select)
def select(condlist, choicelist, default=0):
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    out = N(default)
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = apply("where", N(c), N(v), out)
    shape = np.broadcast_shapes(*[N(c).shape for c in condlist], *[N(v).shape for v in choicelist])
    return W(out if out.shape == shape else apply("broadcast_to", out, shape=shape))


@implements(np.cov)
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    if fweights is not None or aweights is not None:
        raise UnsupportedOperationError("npdiff does not support fweights=/aweights= in numpy.cov")
    x = _float(N(m))
    x = apply("reshape", x, shape=(1, x.size)) if x.ndim < 2 else x
    if not rowvar:
        x = apply("transpose", x, perm=(1, 0))
    if y is not None:
        z = _float(N(y))
        z = apply("reshape", z, shape=(1, z.size)) if z.ndim < 2 else z
        if not rowvar:
            z = apply("transpose", z, perm=(1, 0))
        x = apply("concatenate", x, apply("convert", z, dtype=x.dtype) if z.dtype != x.dtype else z, axis=0)
    n = x.shape[1]
    ddof = (0 if bias else 1) if ddof is None else ddof
    d = apply("subtract", x, apply("reshape", apply("divide", apply("reduce_sum", x, axes=(1,)), float(n)),
                                   shape=(x.shape[0], 1)))
    c = apply("divide", apply("einsum", d, d, spec="ij,kj->ik"), float(n - ddof))
    return W(apply("reshape", c, shape=tuple(s for s in c.shape if s != 1)))


@implements(np.corrcoef)
def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    c = N(cov(x, y, rowvar))
    if c.ndim == 0:
        return W(apply("divide", c, c))
    dg = N(FUNCTIONS[np.diagonal](W(c)))
    sd = apply("sqrt", dg)
    r = apply("divide", apply("divide", c, apply("reshape", sd, shape=(sd.size, 1))), sd)
    return FUNCTIONS[np.clip](W(r), -1.0, 1.0)


# -- grids, interpolation, polynomials, convolution, misc ------------------------------------------------

@implements(np.meshgrid)
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


@implements(np.linspace)
def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *, device=None):
    num = int(num)
    a, b = _float(N(start)), _float(N(stop))
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


@implements(np.logspace)
def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    out = np.power(base, y)
    return out.astype(dtype) if dtype is not None else out


@implements(np.interp)
def interp(x, xp, fp, left=None, right=None, period=None):
    if period is not None:
        raise UnsupportedOperationError("npdiff does not support numpy.interp with period=")
    xv, xpv, fpv = _float(N(x)), _float(N(xp)), _float(N(fp))
    n = xpv.size
    if xpv.ndim != 1 or fpv.shape != (n,):
        raise ValueError("fp and xp are not of the same length.")
    first, last = _take(xpv, 0, 0), _take(xpv, 0, n - 1)
    if n == 1:
        out = apply("broadcast_to", _take(fpv, 0, 0), shape=xv.shape)
    else:
        j = apply("subtract", apply("searchsorted", xpv, xv, side="right"), 1)
        j = apply("minimum", apply("maximum", j, 0), n - 2)
        j1 = apply("add", j, 1)
        x0, x1 = _take(xpv, 0, j), _take(xpv, 0, j1)
        f0, f1 = _take(fpv, 0, j), _take(fpv, 0, j1)
        g = apply("divide", apply("subtract", xv, x0), apply("subtract", x1, x0))
        g = apply("where", apply("less", xv, first), 0.0, apply("where", apply("greater", xv, last), 1.0, g))
        out = apply("add", f0, apply("multiply", g, apply("subtract", f1, f0)))
    if left is not None:
        out = apply("where", apply("less", xv, first), N(left), out)
    if right is not None:
        out = apply("where", apply("greater", xv, last), N(right), out)
    return W(out)


@implements(np.polyval)
def polyval(p, x):
    pv, xv = N(p), N(x)
    if pv.ndim != 1:
        raise UnsupportedOperationError("npdiff supports numpy.polyval with 1-d coefficients only")
    y = _take(pv, 0, 0)
    for i in range(1, pv.size):  # Horner's scheme
        y = apply("add", apply("multiply", y, xv), _take(pv, 0, i))
    shape = np.broadcast_shapes(xv.shape, y.shape)
    if y.shape != shape:
        y = apply("broadcast_to", y, shape=shape)
    return W(y)


def _correlate_window(a, v, start, length):
    """out[k] = sum_j a_pad[start + k + j] v[j] for k < length, a_pad = a with len(v) - 1 zeros each side."""
    n, m = a.size, v.size
    dt = np.result_type(a.dtype, v.dtype)
    a = apply("convert", a, dtype=dt) if a.dtype != dt else a
    if m > 1:
        pad_ = zeros((m - 1,), dt)
        a = apply("concatenate", pad_, a, pad_, axis=0)
    idx = start + np.arange(length)[:, None] + np.arange(m)[None, :]
    return apply("einsum", _take(a, 0, idx), v, spec="kj,j->k")


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


@implements(np.correlate)
def correlate(a, v, mode="valid"):
    x, y = N(a), N(v)
    if x.ndim != 1 or y.ndim != 1 or not x.size or not y.size:
        raise ValueError("object too deep / empty for desired array")
    start, length = _window(x.size, y.size, mode, False)
    return W(_correlate_window(x, y, start, length))


@implements(np.convolve)
def convolve(a, v, mode="full"):
    x, y = N(a), N(v)
    if x.ndim == 0:
        x = apply("reshape", x, shape=(1,))
    if y.ndim == 0:
        y = apply("reshape", y, shape=(1,))
    if not x.size or not y.size:
        raise ValueError("a cannot be empty" if not x.size else "v cannot be empty")
    start, length = _window(x.size, y.size, mode, True)
    return W(_correlate_window(x, _slice(y, 0, y.size - 1, None, -1), start, length))


@implements(np.sinc)
def sinc(x):
    """sin(pi x) / (pi x), with its Taylor series near 0 (exact derivatives of every order there)."""
    v = _float(N(x))
    z = apply("multiply", v, math.pi)
    small = apply("less", apply("absolute", z), 0.1)
    zs = apply("where", small, 1.0, z)
    far = apply("divide", apply("sin", zs), zs)
    z2 = apply("square", z)
    near = 1.0
    for k in (9, 7, 5, 3):  # 1 - z^2/3! + z^4/5! - z^6/7! + z^8/9!
        near = apply("subtract", 1.0, apply("multiply", apply("divide", z2, float(k * (k - 1))), near))
    return W(apply("where", small, near, far))


@implements(np.cross)
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    x, y = N(a), N(b)
    x, _ = _moveaxis_last(x, int(axisa) % x.ndim)
    y, _ = _moveaxis_last(y, int(axisb) % y.ndim)
    na, nb = x.shape[-1], y.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    xs = [_take(x, x.ndim - 1, i) for i in range(na)] + ([const(0.0)] if na == 2 else [])
    ys = [_take(y, y.ndim - 1, i) for i in range(nb)] + ([const(0.0)] if nb == 2 else [])

    def term(i, j):
        return apply("subtract", apply("multiply", xs[i], ys[j]), apply("multiply", xs[j], ys[i]))
    if na == 2 and nb == 2:
        return W(term(0, 1))
    comps = [term(1, 2), term(2, 0), term(0, 1)]
    shape = np.broadcast_shapes(*[c.shape for c in comps])
    out = apply("stack", *[c if c.shape == shape else apply("broadcast_to", c, shape=shape) for c in comps],
                axis=len(shape))
    ax = int(axisc) % out.ndim
    if ax != out.ndim - 1:
        perm = list(range(out.ndim - 1))
        perm.insert(ax, out.ndim - 1)
        out = apply("transpose", out, perm=tuple(perm))
    return W(out)


def _trapezoid(y, x=None, dx=1.0, axis=-1):
    yv = _float(N(y))
    axis = int(axis) % yv.ndim
    n = yv.shape[axis]
    mid = apply("multiply", apply("add", _slice(yv, axis, 1, n), _slice(yv, axis, 0, n - 1)), 0.5)
    if x is None:
        d = N(dx)
    else:
        xv = _float(N(x))
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
        FUNCTIONS[getattr(np, _name)] = _trapezoid


# -- gradient, geometric grids, polynomials ----------------------------------------------------------

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
        term = apply("multiply", _take(f, axis, np.clip(cols, 0, n - 1)),
                     const(w.reshape(shape).astype(f.dtype)))
        out = term if out is None else apply("add", out, term)
    return out


@implements(np.gradient)
def gradient(f, *varargs, axis=None, edge_order=1):
    x = _float(N(f))
    if axis is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axis, (tuple, list)):
        axes = tuple(int(a) % x.ndim for a in axis)
    else:
        axes = (int(axis) % x.ndim,)
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


@implements(np.geomspace)
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    a, b = _float(N(start)), _float(N(stop))
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
    ax = int(axis) % y.ndim
    if ax:
        y = apply("transpose", y, perm=tuple(range(1, ax + 1)) + (0,) + tuple(range(ax + 1, y.ndim)))
    return W(apply("convert", y, dtype=np.dtype(dtype)) if dtype is not None else y)


def _poly1d(p):
    v = N(p)
    if v.ndim != 1:
        raise UnsupportedOperationError("npdiff supports polynomial coefficients as 1-d arrays only")
    return v


@implements(np.polyder)
def polyder(p, m=1):
    v = _poly1d(p)
    for _ in range(int(m)):
        n = v.size
        v = apply("multiply", _slice(v, 0, 0, max(n - 1, 0)), const(np.arange(n - 1, 0, -1).astype(v.dtype)))
    return W(v)


@implements(np.polyint)
def polyint(p, m=1, k=None):
    v = _float(_poly1d(p))
    m = int(m)
    ks = np.zeros(m) if k is None else np.broadcast_to(np.asarray(N(k).value if isinstance(k, Tracer) else k,
                                                                  dtype=np.float64), (m,))
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


@implements(np.vander)
def vander(x, N_=None, increasing=False, **kw):
    v = N(x)
    n = kw.pop("N", N_)
    n = v.size if n is None else int(n)
    cols = []
    for k in range(n):  # repeated products: exact derivatives at 0 (x ** 0 would give 0 * inf)
        cols.append(_fill(1, v.shape, v.dtype) if k == 0 else v if k == 1 else apply("multiply", cols[-1], v))
    if not increasing:
        cols = cols[::-1]
    return W(apply("stack", *cols, axis=1) if cols else zeros((v.size, 0), v.dtype))


# -- small NumPy 2 functions, aliases and zero-derivative predicates ----------------------------------

def _register_ufunc(uf, fn):
    if isinstance(uf, np.ufunc):
        from ..trace import UFUNCS
        UFUNCS[uf] = fn


def _vecdot(a, b, axis=-1, **kw):
    prod = apply("multiply", N(a), N(b))
    return W(apply("reduce_sum", prod, axes=(int(axis) % prod.ndim,)))


_register_ufunc(getattr(np, "vecdot", None), _vecdot)
_register_ufunc(getattr(np, "matvec", None), lambda a, v, **kw: FUNCTIONS[np.einsum]("...ij,...j->...i", a, v))
_register_ufunc(getattr(np, "vecmat", None), lambda v, a, **kw: FUNCTIONS[np.einsum]("...i,...ij->...j", v, a))
_register_ufunc(np.fabs, lambda x, **kw: W(apply("absolute", N(x))))
_register_ufunc(np.divmod, lambda a, b, **kw: (W(apply("floor_divide", N(a), N(b))),
                                               W(apply("remainder", N(a), N(b)))))


def _ldexp(x, i, **kw):
    v = _float(N(x))
    scale = apply("exp2", apply("convert", N(i), dtype=v.dtype))
    return W(apply("multiply", v, scale))


_register_ufunc(np.ldexp, _ldexp)


if hasattr(np, "matrix_transpose"):
    @implements(np.matrix_transpose)
    def matrix_transpose(x, /):
        v = N(x)
        if v.ndim < 2:
            raise ValueError("Input array must be at least 2-dimensional")
        return W(apply("transpose", v, perm=tuple(range(v.ndim - 2)) + (v.ndim - 1, v.ndim - 2)))


if hasattr(np, "unstack"):
    @implements(np.unstack)
    def unstack(x, /, *, axis=0):
        v = N(x)
        axis = int(axis) % v.ndim
        return tuple(W(_take(v, axis, i)) for i in range(v.shape[axis]))


@implements(np.rollaxis)
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


@implements(np.hsplit)
def hsplit(ary, indices_or_sections):
    return FUNCTIONS[np.split](ary, indices_or_sections, axis=1 if N(ary).ndim > 1 else 0)


@implements(np.vsplit)
def vsplit(ary, indices_or_sections):
    return FUNCTIONS[np.split](ary, indices_or_sections, axis=0)


@implements(np.dsplit)
def dsplit(ary, indices_or_sections):
    return FUNCTIONS[np.split](ary, indices_or_sections, axis=2)


@implements(np.diagflat)
def diagflat(v, k=0):
    x = N(v)
    return FUNCTIONS[np.diag](W(apply("reshape", x, shape=(x.size,))), k)


@implements(np.compress)
def compress(condition, a, axis=None, out=None):
    c = N(condition)
    if c.op != "const":
        raise UnsupportedOperationError("npdiff supports numpy.compress with a constant condition only "
                                        "(a traced condition gives a value-dependent shape)")
    x = N(a)
    if axis is None:
        x, axis = apply("reshape", x, shape=(x.size,)), 0
    return W(_take(x, int(axis) % x.ndim, np.nonzero(np.ravel(c.value))[0]))


@implements(np.extract)
def extract(condition, arr):
    c = N(condition)
    return compress(W(apply("reshape", c, shape=(c.size,))), W(apply("reshape", N(arr), shape=(N(arr).size,))))


@implements(np.fix)
def fix(x, out=None):
    return W(apply("trunc", N(x)))


@implements(np.isposinf)
def isposinf(x, out=None):
    v = N(x)
    return W(apply("logical_and", apply("isinf", v), apply("greater", v, 0)))


@implements(np.isneginf)
def isneginf(x, out=None):
    v = N(x)
    return W(apply("logical_and", apply("isinf", v), apply("less", v, 0)))


@implements(np.angle)
def angle(z, deg=False):
    v = N(z)
    if np.issubdtype(v.dtype, np.complexfloating):
        raise UnsupportedOperationError("npdiff does not support numpy.angle of complex arrays")
    half_turn = 180.0 if deg else math.pi
    return W(apply("where", apply("signbit", v), half_turn, 0.0))


@implements(np.iscomplex)
def iscomplex(x):
    return W(apply("broadcast_to", const(np.False_), shape=N(x).shape))


@implements(np.isreal)
def isreal(x):
    return W(apply("broadcast_to", const(np.True_), shape=N(x).shape))


if "i0" in PRIMS:  # scipy.special's i0 primitive
    @implements(np.i0)
    def i0(x):
        return W(apply("i0", _float(N(x))))


@implements(np.nanargmax)
def nanargmax(a, axis=None, out=None, *, keepdims=False):
    return FUNCTIONS[np.argmax](W(_nan_to(N(a), -np.inf)), axis=axis)


@implements(np.nanargmin)
def nanargmin(a, axis=None, out=None, *, keepdims=False):
    return FUNCTIONS[np.argmin](W(_nan_to(N(a), np.inf)), axis=axis)


if hasattr(np.linalg, "cross") and np.linalg.cross not in FUNCTIONS:
    @implements(np.linalg.cross)
    def linalg_cross(x1, x2, /, *, axis=-1):
        if N(x1).shape[axis] != 3 or N(x2).shape[axis] != 3:
            raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors")
        return cross(x1, x2, axis=axis)


# -- ndarray methods ----------------------------------------------------------------------------------

def _fill_method(self, value):
    x = N(self)
    self.node = _fill(value, x.shape, x.dtype)
    write_back(self)


def _partition_method(self, kth, axis=-1, kind="introselect", order=None):
    self.node = N(sort(self, axis=axis, order=order))
    write_back(self)


METHODS["fill"] = _fill_method
METHODS["partition"] = _partition_method
METHODS["argpartition"] = lambda self, kth, axis=-1, kind="introselect", order=None: argsort(self, axis, order=order)
METHODS["searchsorted"] = lambda self, v, side="left", sorter=None: searchsorted(self, v, side, sorter)
METHODS["compress"] = lambda self, condition, axis=None, out=None: compress(condition, self, axis)
for _m in ("partition", "argpartition", "searchsorted", "compress"):
    if not hasattr(Tracer, _m):
        from ..trace import _method
        setattr(Tracer, _m, _method(_m))
