"""Reductions: sum, prod, max, min, mean, var, std, argmax, all/any, average, ptp,
count_nonzero and their NaN-aware versions (nansum ... nanargmin).
"""
from __future__ import annotations

import numpy as np

from ..graph import const
from ..primitives import apply
from ..trace import EXTRA_PATCHES, FUNCTIONS, METHODS, UFUNCS, Tracer, declare, implements, intercepting, is_traced, node_of
from ._common import (
    NOVALUE,
    N,
    W,
    axes_of,
    flat_axis,
    keep_dims,
    nan_to,
    reduced,
    to_float,
)


def _reduce(prim):
    def fn(a, axis=None, dtype=None, out=None, keepdims=False, initial=NOVALUE, where=True):
        x = N(a)
        if dtype is not None:
            x = apply("convert", x, dtype=np.dtype(dtype))
        axes = axes_of(axis, x.ndim)
        if prim == "reduce_sum" and x.dtype == np.bool_:
            x = apply("convert", x, dtype=np.dtype(np.intp))
        return W(reduced(apply(prim, x, axes=axes), x.shape, axes, keepdims))
    return declare(fn, ("axis", "dtype", "keepdims"))


FUNCTIONS[np.sum] = METHODS["sum"] = _reduce("reduce_sum")
FUNCTIONS[np.max] = FUNCTIONS[np.amax] = METHODS["max"] = _reduce("reduce_max")
FUNCTIONS[np.min] = FUNCTIONS[np.amin] = METHODS["min"] = _reduce("reduce_min")


def _ufunc_reduce(func):
    def fn(a, axis=0, dtype=None, out=None, keepdims=False, **kw):
        return FUNCTIONS[func](a, axis=axis, dtype=dtype, keepdims=keepdims)
    return declare(fn, ("axis", "dtype", "keepdims"))


UFUNCS[(np.add, "reduce")] = _ufunc_reduce(np.sum)
UFUNCS[(np.maximum, "reduce")] = _ufunc_reduce(np.max)
UFUNCS[(np.minimum, "reduce")] = _ufunc_reduce(np.min)


@implements(np.mean, honours=("axis", "dtype", "keepdims"))
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    x = N(a)
    x = to_float(x)
    axes = axes_of(axis, x.ndim)
    n = int(np.prod([x.shape[i] for i in axes]))
    s = FUNCTIONS[np.sum](W(x), axis=axis, dtype=dtype, keepdims=keepdims)
    return W(apply("divide", s.node, float(n)))


METHODS["mean"] = mean


@implements(np.var, honours=("axis", "ddof", "keepdims", "correction"))
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    x = N(a)
    x = to_float(x)
    if correction is not None:
        ddof = correction
    axes = axes_of(axis, x.ndim)
    n = int(np.prod([x.shape[i] for i in axes]))
    m = FUNCTIONS[np.mean](W(x), axis=axis, keepdims=True)
    d = W(x) - m
    sq = np.real(d) ** 2 + np.imag(d) ** 2 if np.iscomplexobj(d) else d * d  # NumPy: |x - mean|**2, real
    s = FUNCTIONS[np.sum](sq, axis=axis, keepdims=keepdims)
    return s / float(n - ddof)


@implements(np.std, honours=("axis", "ddof", "keepdims", "correction"))
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    v = var(a, axis=axis, ddof=ddof, keepdims=keepdims, correction=correction)
    x = N(a)
    if int(np.prod([x.shape[i] for i in axes_of(axis, x.ndim)])) == 1 and (correction or ddof) == 0:
        return v  # the std of one element is identically 0 (sqrt(0) would give a nan derivative)
    return np.sqrt(v)


METHODS["var"], METHODS["std"] = var, std


@implements(np.prod, honours=("axis", "dtype", "keepdims"))
def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=NOVALUE, where=True):
    x = N(a)
    if dtype is not None:
        x = apply("convert", x, dtype=np.dtype(dtype))
    axes = axes_of(axis, x.ndim)
    return W(reduced(apply("reduce_prod", x, axes=axes), x.shape, axes, keepdims))


METHODS["prod"] = prod


def _arg_reduce(prim):
    def fn(a, axis=None, out=None, *, keepdims=False):
        x = N(a)
        shape, axes = x.shape, axes_of(axis, x.ndim)
        x, axis = flat_axis(x, axis)
        return W(reduced(apply(prim, x, axis=axis), shape, axes, keepdims))
    fn.__name__ = prim
    return declare(fn, ("axis", "keepdims"))


argmax = implements(np.argmax)(_arg_reduce("argmax"))
argmin = implements(np.argmin)(_arg_reduce("argmin"))


METHODS["argmax"], METHODS["argmin"] = argmax, argmin


@implements(np.all, honours=("axis", "keepdims"))
def all_(a, axis=None, out=None, keepdims=False, where=True):
    x = apply("logical_not", N(a))
    axes = axes_of(axis, x.ndim)
    return W(apply("logical_not", reduced(apply("reduce_max", x, axes=axes), x.shape, axes, keepdims)))


@implements(np.any, honours=("axis", "keepdims"))
def any_(a, axis=None, out=None, keepdims=False, where=True):
    x = apply("convert", N(a), dtype=np.dtype(bool))
    axes = axes_of(axis, x.ndim)
    return W(reduced(apply("reduce_max", x, axes=axes), x.shape, axes, keepdims))


METHODS["all"], METHODS["any"] = all_, any_


@implements(np.average, honours=("axis", "weights", "returned", "keepdims"))
def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    x = to_float(N(a))
    keepdims = False if keepdims is NOVALUE else keepdims
    axes = axes_of(axis, x.ndim)
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
        avg = keep_dims(avg, x.shape, axes)
    if returned:
        return W(avg), W(apply("broadcast_to", apply("convert", scl, dtype=avg.dtype), shape=avg.shape)
                         if scl.shape != avg.shape else scl)
    return W(avg)


def _count(x, axes):
    return apply("reduce_sum", apply("convert", apply("logical_not", apply("isnan", x)), dtype=x.dtype), axes=axes)


@implements(np.nansum, honours=("axis", "dtype", "keepdims"))
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=NOVALUE, where=True):
    return FUNCTIONS[np.sum](W(nan_to(N(a), 0.0)), axis=axis, dtype=dtype, keepdims=keepdims)


@implements(np.nanprod, honours=("axis", "dtype", "keepdims"))
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=NOVALUE, where=True):
    return FUNCTIONS[np.prod](W(nan_to(N(a), 1.0)), axis=axis, dtype=dtype, keepdims=keepdims)


@implements(np.nanmax, honours=("axis", "keepdims"))
def nanmax(a, axis=None, out=None, keepdims=False, initial=NOVALUE, where=True):
    return FUNCTIONS[np.max](W(nan_to(N(a), -np.inf)), axis=axis, keepdims=keepdims)


@implements(np.nanmin, honours=("axis", "keepdims"))
def nanmin(a, axis=None, out=None, keepdims=False, initial=NOVALUE, where=True):
    return FUNCTIONS[np.min](W(nan_to(N(a), np.inf)), axis=axis, keepdims=keepdims)


@implements(np.nanmean, honours=("axis", "keepdims"))
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    x = to_float(N(a))
    axes = axes_of(axis, x.ndim)
    total = apply("divide", apply("reduce_sum", nan_to(x, 0.0), axes=axes), _count(x, axes))
    return W(reduced(total, x.shape, axes, keepdims))


@implements(np.nanvar, honours=("axis", "ddof", "keepdims", "correction"))
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    x = to_float(N(a))
    ddof = correction if correction is not None else ddof
    axes = axes_of(axis, x.ndim)
    m = keep_dims(N(nanmean(W(x), axis=axis)), x.shape, axes)
    d = nan_to(apply("subtract", x, m), 0.0)
    v = apply("divide", apply("reduce_sum", apply("square", d), axes=axes), apply("subtract", _count(x, axes), ddof))
    return W(reduced(v, x.shape, axes, keepdims))


@implements(np.nanstd, honours=("axis", "ddof", "keepdims", "correction"))
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    return np.sqrt(nanvar(a, axis=axis, ddof=ddof, keepdims=keepdims, correction=correction))


@implements(np.nanargmax, honours=("axis", "keepdims"))
def nanargmax(a, axis=None, out=None, *, keepdims=False):
    return FUNCTIONS[np.argmax](W(nan_to(N(a), -np.inf)), axis=axis, keepdims=keepdims)


@implements(np.nanargmin, honours=("axis", "keepdims"))
def nanargmin(a, axis=None, out=None, *, keepdims=False):
    return FUNCTIONS[np.argmin](W(nan_to(N(a), np.inf)), axis=axis, keepdims=keepdims)


@implements(np.ptp, honours=("axis", "keepdims"))
def ptp(a, axis=None, out=None, keepdims=False):
    return FUNCTIONS[np.max](a, axis=axis, keepdims=keepdims) - FUNCTIONS[np.min](a, axis=axis, keepdims=keepdims)


@implements(np.count_nonzero, honours=("axis", "keepdims"))
def count_nonzero(a, axis=None, *, keepdims=False):
    x = apply("convert", apply("not_equal", N(a), 0), dtype=np.dtype(np.intp))
    axes = axes_of(axis, x.ndim)
    r = apply("reduce_sum", x, axes=axes)
    return W(reduced(r, x.shape, axes, keepdims))


# -- reductions of a Python list of traced arrays ------------------------------------------------------
# np.mean([t0, t1]) does not dispatch (NumPy's dispatcher looks at the list, not at its elements),
# so while tracing these functions are intercepted: a list or tuple holding traced values is stacked
# into one Tracer first, then the call dispatches to the lowering above as usual.

LIST_REDUCTIONS = ("sum", "prod", "mean", "var", "std", "max", "min", "amax", "amin", "average", "ptp", "all",
                   "any", "cumsum", "cumprod", "nansum", "nanmean", "nanvar", "nanstd", "nanmax", "nanmin",
                   "nanprod", "median", "argmax", "argmin")


def _list_reduction(name):
    original = getattr(np, name)

    def fn(a, *args, **kwargs):
        if isinstance(a, (list, tuple)) and intercepting() and is_traced(a):
            a = Tracer(node_of(a))
        return original(a, *args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = original.__doc__
    fn.__wrapped__ = original
    return fn


_LIST_PATCHES = [(np, name, _list_reduction(name)) for name in LIST_REDUCTIONS if hasattr(np, name)]
EXTRA_PATCHES.extend(_LIST_PATCHES)


def alias_list_patches():
    """Let FUNCTIONS[np.sum] (looked up while np.sum is patched) find the lowering of NumPy's np.sum."""
    for _, _, fn in _LIST_PATCHES:
        if fn.__wrapped__ in FUNCTIONS:
            FUNCTIONS[fn] = FUNCTIONS[fn.__wrapped__]
