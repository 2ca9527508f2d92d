"""Reductions: sum, prod, max, min, mean, var, std, argmax, all/any, average, ptp,
count_nonzero and their NaN-aware versions (nansum ... nanargmin).
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import const
from ..primitives import apply
from ..tracing.tracer import EXTRA_PATCHES, FUNCTIONS, METHODS, Tracer, declare, implements, intercepting, is_traced, node_of
from ._common import (
    NOVALUE,
    N,
    W,
    axes_of,
    const_mask,
    filled,
    flat_axis,
    keep_dims,
    nan_to,
    reduced,
    to_float,
)


def _identity_fill(prim, initial):
    """Return the value masked-out elements take in a where= reduction (NumPy's identity, else initial)."""
    return {"reduce_sum": 0, "reduce_prod": 1}.get(prim, initial)


def _reduce_node(prim, x, axis, keepdims, initial, where, name):
    """Return the reduction node of x with NumPy's initial= and where= semantics."""
    axes = axes_of(axis, x.ndim)
    mask = const_mask(where, x.shape, name)
    if mask is not None:
        fill = _identity_fill(prim, initial)
        if fill is NOVALUE:
            raise ValueError(f"reduction operation '{name}' does not have an identity, so to use a where mask "
                             f"one has to specify 'initial'")
        x = apply("where", const(mask), x, filled(fill, x.shape, x.dtype))
    if all(x.shape[i] for i in axes) or prim in ("reduce_sum", "reduce_prod"):
        r = apply(prim, x, axes=axes)
    elif initial is NOVALUE:
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
    else:
        r = filled(initial, tuple(s for i, s in enumerate(x.shape) if i not in axes), x.dtype)
    if initial is not NOVALUE:
        combine = {"reduce_sum": "add", "reduce_prod": "multiply", "reduce_max": "maximum",
                   "reduce_min": "minimum"}[prim]
        r = apply(combine, r, filled(initial, r.shape, r.dtype))
    return reduced(r, x.shape, axes, keepdims)


def _start(a, dtype):
    x = N(a)
    if dtype is not None:
        x = apply("convert", x, dtype=np.dtype(dtype))
    return x


def _reduce(prim, name):
    def fn(a, axis=None, dtype=None, out=None, keepdims=False, initial=NOVALUE, where=True):
        x = _start(a, dtype)
        if prim == "reduce_sum" and x.dtype == np.bool_:
            x = apply("convert", x, dtype=np.dtype(np.intp))
        return W(_reduce_node(prim, x, axis, keepdims, initial, where, name))
    return declare(fn, ("axis", "dtype", "keepdims", "initial", "where"))


def _reduce_extreme(prim, name):
    def fn(a, axis=None, out=None, keepdims=False, initial=NOVALUE, where=True):
        return W(_reduce_node(prim, N(a), axis, keepdims, initial, where, name))
    return declare(fn, ("axis", "keepdims", "initial", "where"))


FUNCTIONS[np.sum] = METHODS["sum"] = _reduce("reduce_sum", "add")
FUNCTIONS[np.max] = FUNCTIONS[np.amax] = METHODS["max"] = _reduce_extreme("reduce_max", "maximum")
FUNCTIONS[np.min] = FUNCTIONS[np.amin] = METHODS["min"] = _reduce_extreme("reduce_min", "minimum")
prod = FUNCTIONS[np.prod] = METHODS["prod"] = _reduce("reduce_prod", "multiply")


def _count(shape, axes, mask, keepdims=False):
    """Return the number of elements each reduction sums (a constant), masked by where=."""
    m = np.ones(shape, bool) if mask is None else mask
    return np.sum(m, axis=axes, keepdims=keepdims).astype(np.float64)


def _mean_node(x, axis, keepdims, mask):
    axes = axes_of(axis, x.ndim)
    s = apply("reduce_sum", x if mask is None else apply("where", const(mask), x, 0), axes=axes)
    n = _count(x.shape, axes, mask)
    return reduced(apply("divide", s, float(n) if n.ndim == 0 else const(n.astype(s.dtype))), x.shape, axes,
                   keepdims)


def _float_start(a, dtype):
    x = to_float(N(a)) if dtype is None else N(a)
    if dtype is not None:
        x = apply("convert", x, dtype=np.dtype(dtype))
    return x


@implements(np.mean, honours=("axis", "dtype", "keepdims", "where"))
def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    x = _float_start(a, dtype)
    return W(_mean_node(x, axis, keepdims, const_mask(where, x.shape, "numpy.mean")))


METHODS["mean"] = mean


def _var_node(x, axis, ddof, keepdims, mask, ok=None):
    """Return the variance node of x over axis (mask: where=; ok: elements counted, for the nan versions)."""
    axes = axes_of(axis, x.ndim)
    keep = mask if ok is None else (ok if mask is None else ok & mask)
    xs = x if ok is None else nan_to(x, 0.0)
    m = _mean_node(xs, axis, True, keep)
    d = apply("subtract", xs, m)
    sq = apply("multiply", d, d) if d.dtype.kind != "c" else apply("real", apply("multiply", d, apply("conj", d)))
    if keep is not None:
        sq = apply("where", const(keep), sq, 0)
    n = _count(x.shape, axes, keep) - ddof
    s = apply("reduce_sum", sq, axes=axes)
    return reduced(apply("divide", s, float(n) if n.ndim == 0 else const(n.astype(s.dtype))), x.shape, axes, keepdims)


@implements(np.var, honours=("axis", "dtype", "ddof", "keepdims", "where", "correction"))
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    x = _float_start(a, dtype)
    ddof = correction if correction is not None else ddof
    return W(_var_node(x, axis, ddof, keepdims, const_mask(where, x.shape, "numpy.var")))


@implements(np.std, honours=("axis", "dtype", "ddof", "keepdims", "where", "correction"))
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    v = var(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims, where=where, correction=correction)
    x = N(a)
    if where is True and int(np.prod([x.shape[i] for i in axes_of(axis, x.ndim)])) == 1 and (correction or ddof) == 0:
        return v  # the std of one element is identically 0 (sqrt(0) would give a nan derivative)
    return np.sqrt(v)


def _var_method(fn):
    def method(self, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None):
        return fn(self, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims, where=where)
    return declare(method, ("axis", "dtype", "ddof", "keepdims", "where"))


METHODS["var"], METHODS["std"] = _var_method(var), _var_method(std)


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


@implements(np.all, honours=("axis", "keepdims", "where"))
def all_(a, axis=None, out=None, keepdims=False, where=True):
    x = apply("logical_not", apply("convert", N(a), dtype=np.dtype(bool)))
    mask = const_mask(where, x.shape, "numpy.all")
    if mask is not None:
        x = apply("logical_and", x, const(mask))
    axes = axes_of(axis, x.ndim)
    return W(apply("logical_not", reduced(_any_node(x, axes), x.shape, axes, keepdims)))


def _any_node(x, axes):
    if all(x.shape[i] for i in axes):
        return apply("reduce_max", x, axes=axes)
    return filled(False, tuple(s for i, s in enumerate(x.shape) if i not in axes), np.dtype(bool))


@implements(np.any, honours=("axis", "keepdims", "where"))
def any_(a, axis=None, out=None, keepdims=False, where=True):
    x = apply("convert", N(a), dtype=np.dtype(bool))
    mask = const_mask(where, x.shape, "numpy.any")
    if mask is not None:
        x = apply("logical_and", x, const(mask))
    axes = axes_of(axis, x.ndim)
    return W(reduced(_any_node(x, axes), x.shape, axes, keepdims))


def _method_any(fn):
    def method(self, axis=None, out=None, keepdims=False, *, where=True):
        return fn(self, axis=axis, keepdims=keepdims, where=where)
    return declare(method, ("axis", "keepdims", "where"))


METHODS["all"], METHODS["any"] = _method_any(all_), _method_any(any_)


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


@implements(np.nansum, honours=("axis", "dtype", "keepdims", "initial", "where"))
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=NOVALUE, where=True):
    return FUNCTIONS[np.sum](W(nan_to(N(a), 0.0)), axis=axis, dtype=dtype, keepdims=keepdims, initial=initial,
                             where=where)


@implements(np.nanprod, honours=("axis", "dtype", "keepdims", "initial", "where"))
def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=NOVALUE, where=True):
    return FUNCTIONS[np.prod](W(nan_to(N(a), 1.0)), axis=axis, dtype=dtype, keepdims=keepdims, initial=initial,
                              where=where)


@implements(np.nanmax, honours=("axis", "keepdims", "initial", "where"))
def nanmax(a, axis=None, out=None, keepdims=False, initial=NOVALUE, where=True):
    return FUNCTIONS[np.max](W(nan_to(N(a), -np.inf)), axis=axis, keepdims=keepdims, initial=initial, where=where)


@implements(np.nanmin, honours=("axis", "keepdims", "initial", "where"))
def nanmin(a, axis=None, out=None, keepdims=False, initial=NOVALUE, where=True):
    return FUNCTIONS[np.min](W(nan_to(N(a), np.inf)), axis=axis, keepdims=keepdims, initial=initial, where=where)


def _not_nan(x, mask):
    """Return the constant-or-traced 'counted' mask of the nan reductions (not NaN, and where=)."""
    if x.op == "const":
        ok = ~np.isnan(np.asarray(x.value)) if np.issubdtype(x.dtype, np.inexact) else np.ones(x.shape, bool)
        return np.broadcast_to(ok, x.shape) & (True if mask is None else mask), None
    ok = apply("logical_not", apply("isnan", x))
    return None, ok if mask is None else apply("logical_and", ok, const(mask))


def _nan_mean_node(x, axis, keepdims, mask):
    axes = axes_of(axis, x.ndim)
    _, ok = _not_nan(x, mask)
    if ok is None:
        return _mean_node(nan_to(x, 0.0), axis, keepdims, _not_nan(x, mask)[0])
    cnt = apply("reduce_sum", apply("convert", ok, dtype=x.dtype), axes=axes)
    total = apply("reduce_sum", apply("where", ok, x, 0.0), axes=axes)
    return reduced(apply("divide", total, cnt), x.shape, axes, keepdims)


@implements(np.nanmean, honours=("axis", "dtype", "keepdims", "where"))
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=True):
    x = _float_start(a, dtype)
    return W(_nan_mean_node(x, axis, keepdims, const_mask(where, x.shape, "numpy.nanmean")))


@implements(np.nanvar, honours=("axis", "dtype", "ddof", "keepdims", "where", "correction"))
def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    x = _float_start(a, dtype)
    ddof = correction if correction is not None else ddof
    mask = const_mask(where, x.shape, "numpy.nanvar")
    axes = axes_of(axis, x.ndim)
    _, ok = _not_nan(x, mask)
    if ok is None:
        return W(_var_node(x, axis, ddof, keepdims, mask, _not_nan(x, None)[0]))
    m = _nan_mean_node(x, axis, True, mask)
    d = apply("where", ok, apply("subtract", x, m), 0.0)
    sq = apply("multiply", d, d) if d.dtype.kind != "c" else apply("real", apply("multiply", d, apply("conj", d)))
    cnt = apply("reduce_sum", apply("convert", ok, dtype=sq.dtype), axes=axes)
    v = apply("divide", apply("reduce_sum", sq, axes=axes), apply("subtract", cnt, ddof))
    return W(reduced(v, x.shape, axes, keepdims))


@implements(np.nanstd, honours=("axis", "dtype", "ddof", "keepdims", "where", "correction"))
def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=True, mean=None, correction=None):
    return np.sqrt(nanvar(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims, where=where,
                          correction=correction))


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
