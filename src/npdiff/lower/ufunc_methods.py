"""Ufunc methods: ``ufunc.reduce`` and ``ufunc.accumulate`` for every binary NumPy ufunc npdiff lowers.

add/multiply/maximum/minimum use the reduction and running-sum primitives; any other binary ufunc
(subtract, logaddexp, power, hypot...) is folded left to right along the axis, exactly NumPy's
order, through the ufunc's own lowering (so derivatives come from its rule). NumPy's argument checks
and result dtype come from the ufunc itself, run on a one-filled placeholder of the same shape.
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import const
from ..primitives import apply
from ..primitives.helpers import stack_nodes
from ..tracing.tracer import FUNCTIONS, UFUNCS, declare
from ._common import NOVALUE, N, W, axes_of, const_mask, filled, merge_last, slice_along
from .reductions import _reduce_node

_FAST_REDUCE = {np.add: "reduce_sum", np.multiply: "reduce_prod", np.maximum: "reduce_max",
                np.minimum: "reduce_min"}
_FAST_ACCUMULATE = {np.add: np.cumsum, np.multiply: np.cumprod}


def _probe(method, x, **kw):
    """Return NumPy's result of the ufunc method on ones of x's shape and dtype (raising NumPy's errors)."""
    with np.errstate(all="ignore"):
        return np.asarray(method(np.ones(x.shape, x.dtype), **kw))


def _last(x, k):
    """Return x[..., k] (a node)."""
    return apply("reshape", slice_along(x, x.ndim - 1, k, k + 1), shape=x.shape[:-1])


def _fold_reduce(uf, x, axis, initial, mask):
    y, axes = merge_last(x, axis)
    m = None if mask is None else np.reshape(np.transpose(mask, [i for i in range(x.ndim) if i not in axes]
                                                          + list(axes)), y.shape)
    n = y.shape[-1]
    start = initial if initial is not NOVALUE else (uf.identity if m is not None or n == 0 else NOVALUE)
    acc = None if start is NOVALUE else filled(start, y.shape[:-1], y.dtype)
    for k in range(n):
        xk = _last(y, k)
        new = xk if acc is None else N(uf(W(acc), W(xk)))
        if m is not None and acc is not None:
            new = apply("where", const(np.ascontiguousarray(m[..., k])), new, acc)
        acc = new
    return acc, axes


def _reduce_lowering(uf):
    def fn(array, axis=0, dtype=None, out=None, keepdims=False, initial=NOVALUE, where=True):
        x = N(array)
        mask = const_mask(where, x.shape, f"numpy.{uf.__name__}.reduce")
        probe = _probe(uf.reduce, x, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial,
                       where=True if mask is None else mask)
        if dtype is not None and np.dtype(dtype) != x.dtype:
            x = apply("convert", x, dtype=np.dtype(dtype))
        prim = _FAST_REDUCE.get(uf)
        if prim is not None:
            r = _reduce_node(prim, x, axis, keepdims, initial, where if mask is not None else True, uf.__name__)
        else:
            r, _ = _fold_reduce(uf, x, axis, initial, mask)
            if keepdims:
                r = apply("reshape", r, shape=probe.shape)
        if r.dtype != probe.dtype:
            r = apply("convert", r, dtype=probe.dtype)
        return W(r)
    fn.__name__ = f"{uf.__name__}_reduce"
    return declare(fn, ("axis", "dtype", "keepdims", "initial", "where"))


def _accumulate_lowering(uf):
    def fn(array, axis=0, dtype=None, out=None):
        x = N(array)
        probe = _probe(uf.accumulate, x, axis=axis, dtype=dtype)
        if dtype is not None and np.dtype(dtype) != x.dtype:
            x = apply("convert", x, dtype=np.dtype(dtype))
        fast = _FAST_ACCUMULATE.get(uf)
        if fast is not None:
            r = N(FUNCTIONS[fast](W(x), axis=axis))
        else:
            ax = axes_of(axis, x.ndim)[0]
            perm = tuple(i for i in range(x.ndim) if i != ax) + (ax,)
            y = apply("transpose", x, perm=perm)
            parts, acc = [], None
            for k in range(y.shape[-1]):
                xk = _last(y, k)
                acc = xk if acc is None else N(uf(W(acc), W(xk)))
                parts.append(acc)
            r = stack_nodes(parts, axis=ax) if parts else x
        if r.dtype != probe.dtype:
            r = apply("convert", r, dtype=probe.dtype)
        return W(r)
    fn.__name__ = f"{uf.__name__}_accumulate"
    return declare(fn, ("axis", "dtype"))


def _folds_in_order(uf) -> bool:
    """Return True if NumPy's uf.reduce is the left-to-right fold (this NumPy's power.reduce is not)."""
    p = np.array([0.7, 1.3, 0.9, 1.1])
    with np.errstate(all="ignore"):
        try:
            want = uf(uf(uf(p[0], p[1]), p[2]), p[3])
            got = uf.reduce(p)
        except TypeError:
            return True  # no float loop (logical ufuncs...): nothing to compare
    return bool(np.all((want == got) | (np.isnan(want) & np.isnan(got)) | np.isclose(want, got, rtol=1e-12)))


def _binary_numpy_ufuncs():
    for uf in list(UFUNCS):
        if isinstance(uf, np.ufunc) and uf.nin == 2 and uf.nout == 1 and uf.signature is None \
                and getattr(np, uf.__name__, None) is uf:
            yield uf


for _uf in _binary_numpy_ufuncs():
    if _uf in _FAST_REDUCE or _folds_in_order(_uf):
        UFUNCS[(_uf, "reduce")] = _reduce_lowering(_uf)
    UFUNCS[(_uf, "accumulate")] = _accumulate_lowering(_uf)
