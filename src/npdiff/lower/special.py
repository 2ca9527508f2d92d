"""scipy.special while tracing (scipy.stats is in ``stats.py``).

SciPy's ufuncs (gammaln, erf, expit, xlogy...) dispatch through
``__array_ufunc__`` and are registered in ``UFUNCS``. Plain Python functions
(logsumexp, softmax, log_softmax, polygamma, multigammaln) do not dispatch: they are
intercepted while tracing (``EXTRA_PATCHES``) and call SciPy's original when
no argument is traced.

Interception replaces the module attribute (and aliases in the traced function's
globals and closure). A name bound earlier elsewhere (``from scipy.special import
logsumexp`` in a helper module) still refers to SciPy's own function, which traces
too: SciPy writes it on the array API, and while a trace runs its conversions
(``xp.asarray``, ``xp_promote``) keep traced values traced (``trace.scipy_converting``,
``Tracer.__array_namespace__``).
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import TracingError, UnsupportedOperationError
from ..ir.graph import const
from ..primitives import PRIMS, apply
from ..tracing.tracer import EXTRA_PATCHES, UFUNCS, Tracer, declare, is_traced
from ._common import N, W, axes_of, kept_shape, to_float
from .ufuncs import _ufunc_lowering

try:
    import scipy.special as sc
except ImportError:  # pragma: no cover - SciPy is optional
    sc = None

# every scipy.special ufunc named like a primitive is lowered onto it (a primitive added in
# primitives/special.py needs nothing here); scipy.special.round has no decimals= (np.round's lowering)
NOT_SPECIAL = frozenset({"round"})

if sc is not None:
    for _name in PRIMS:
        _uf = getattr(sc, _name, None)
        if isinstance(_uf, np.ufunc) and _name not in NOT_SPECIAL:
            UFUNCS[_uf] = _ufunc_lowering(_name, _uf)
    UFUNCS[sc.exp10] = declare(lambda x, **kw: W(apply("exp", apply("multiply", N(x), math.log(10.0)))))


def _patch(module, name, replacement):
    """Intercept module.name while tracing; the original runs when nothing is traced."""
    original = getattr(module, name, None)
    if original is None:
        return

    def fn(*args, **kwargs):
        if not is_traced(args) and not is_traced(tuple(kwargs.values())):
            return original(*args, **kwargs)
        return replacement(*args, **kwargs)
    fn.__name__ = name
    fn.__wrapped__ = original
    EXTRA_PATCHES.append((module, name, fn))


def _stopped_max(x, axes, mask=None):
    """Return the max of x over axes (keepdims, zero where not finite), with a zero derivative."""
    if mask is not None:
        x = apply("where", mask, x, -np.inf)
    m = apply("reduce_max", x, axes=axes)
    m = apply("where", apply("isfinite", m), m, 0.0)
    m = apply("reshape", m, shape=kept_shape(x.shape, axes))
    return apply("stop_gradient", m)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    x = N(a)
    x = to_float(x)
    mask = None
    if b is not None:
        bn = N(b)
        shape = np.broadcast_shapes(x.shape, bn.shape)
        if x.shape != shape:
            x = apply("broadcast_to", x, shape=shape)
        mask = apply("not_equal", bn, 0)
    axes = axes_of(axis, x.ndim)
    m = _stopped_max(x, axes, mask)
    e = apply("exp", apply("subtract", x, m))
    if b is not None:
        e = apply("multiply", e, bn)
    s = apply("reduce_sum", e, axes=axes)
    shift = apply("reshape", m, shape=s.shape)
    if return_sign:
        sign = apply("sign", s)
        s = apply("absolute", s)
    out = apply("add", apply("log", s), shift)
    if keepdims:
        out = apply("reshape", out, shape=m.shape)
    if return_sign:
        return W(out), W(apply("reshape", sign, shape=out.shape))
    return W(out)


def softmax(x, axis=None):
    x = N(x)
    axes = axes_of(axis, x.ndim)
    e = apply("exp", apply("subtract", x, _stopped_max(x, axes)))
    total = apply("reduce_sum", e, axes=axes)
    return W(apply("divide", e, apply("reshape", total, shape=kept_shape(x.shape, axes))))


def log_softmax(x, axis=None):
    x = N(x)
    axes = axes_of(axis, x.ndim)
    shifted = apply("subtract", x, _stopped_max(x, axes))
    total = apply("reduce_sum", apply("exp", shifted), axes=axes)
    return W(apply("subtract", shifted, apply("reshape", apply("log", total), shape=kept_shape(x.shape, axes))))



def polygamma(n, x):
    if is_traced(n) and N(n).op != "const" and N(n).dtype.kind == "f":
        raise UnsupportedOperationError("npdiff supports scipy.special.polygamma(n, x) with a constant or integer "
                                        "order n (polygamma has no derivative in n)")
    if is_traced(n) and N(n).op != "const":  # an integer order computed from traced values: its value, guarded
        from ..tracing.guards import decide
        try:
            nv = np.asarray(decide(N(n), "array", N(n).dtype))
        except TracingError:
            raise UnsupportedOperationError("npdiff supports scipy.special.polygamma(n, x) with an order n known "
                                            "while tracing (a constant, or computed from arguments given as arrays)") from None
    else:
        nv = np.asarray(N(n).value)
    if np.any(nv != np.floor(nv)) or np.any(nv < 0):
        raise ValueError("polygamma: n must be a non-negative integer")
    x = N(x)
    if nv.ndim == 0:
        k = int(nv)
        return W(apply("digamma", x) if k == 0 else apply("polygamma", x, n=k))
    out = None
    for k in np.unique(nv):  # a constant array of orders: select per element
        k = int(k)
        val = apply("digamma", x) if k == 0 else apply("polygamma", x, n=k)
        out = val if out is None else apply("where", const(nv == k), val, out)
    shape = np.broadcast_shapes(nv.shape, x.shape)
    return W(out if out.shape == shape else apply("broadcast_to", out, shape=shape))


def multigammaln(a, d):
    dv = np.asarray(N(d).value if isinstance(d, Tracer) else d)[()]
    if not np.isscalar(dv) or np.floor(dv) != dv:
        raise ValueError("d should be a positive integer (dimension)")
    d = int(dv)
    x = N(a)
    try:  # SciPy's domain check: a guard when the values are known, skipped with shapes only
        outside = bool(np.any(W(x) <= 0.5 * (d - 1)))
    except TracingError:
        outside = False
    if outside:
        raise ValueError(f"multigammaln: condition a > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    total = apply("reduce_sum", apply("stack", *[apply("gammaln", apply("subtract", x, 0.5 * j))
                                                  for j in range(d)], axis=0), axes=(0,))
    return W(apply("add", total, d * (d - 1) * 0.25 * math.log(math.pi)))


if sc is not None:
    _patch(sc, "logsumexp", logsumexp)
    _patch(sc, "softmax", softmax)
    _patch(sc, "log_softmax", log_softmax)
    _patch(sc, "polygamma", polygamma)
    _patch(sc, "multigammaln", multigammaln)
    _patch(sc, "softplus", lambda x, **kwargs: np.logaddexp(0.0, x, **kwargs))
