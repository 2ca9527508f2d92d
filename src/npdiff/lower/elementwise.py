"""Elementwise functions that are not ufuncs: where, clip, round, real/imag/conj, sinc,
nan_to_num, select and the zero-derivative predicates (isposinf, iscomplex...).
"""
from __future__ import annotations

import math

import numpy as np

from ..ir.graph import const
from ..primitives import PRIMS, apply
from ..primitives.helpers import zeros
from ..tracing.tracer import METHODS, UFUNCS, declare, implements
from ._common import NOVALUE, N, W, nan_to, to_float


@implements(np.where, honours=("x", "y"))
def where(condition, x=None, y=None):
    if x is None and y is None:  # the indices of the nonzero elements: read from the values, guarded
        from .masks import nonzero
        return nonzero(condition)
    c = N(condition)
    if c.dtype != np.bool_:
        c = apply("not_equal", c, 0)
    return W(apply("where", c, N(x), N(y)))


@implements(np.clip, honours=("a_min", "a_max", "min", "max"))
def clip(a, a_min=NOVALUE, a_max=NOVALUE, out=None, min=NOVALUE, max=NOVALUE, **kw):
    if a_min is NOVALUE and a_max is NOVALUE:  # NumPy's rules for the two spellings
        a_min, a_max = (None if min is NOVALUE else min), (None if max is NOVALUE else max)
    elif a_min is NOVALUE or a_max is NOVALUE:
        raise TypeError(f"clip() missing 1 required positional argument: '{'a_min' if a_min is NOVALUE else 'a_max'}'")
    elif min is not NOVALUE or max is not NOVALUE:
        raise ValueError("Passing `min` or `max` keyword argument when `a_min` and `a_max` are provided is forbidden.")
    return _clip(a, a_min, a_max)


def _clip(a, lo, hi):
    x = N(a)
    if lo is not None:
        lo = N(lo)
        x = apply("where", apply("less", x, lo), apply("broadcast_to", lo, shape=np.broadcast_shapes(
            x.shape, lo.shape)) if lo.shape != x.shape and lo.ndim > x.ndim else lo, x)
    if hi is not None:
        hi = N(hi)
        x = apply("where", apply("greater", x, hi), hi, x)
    return W(x)


METHODS["clip"] = declare(lambda self, min=None, max=None, out=None, **kw: _clip(self, min, max), ("min", "max"))


@implements(np.round, getattr(np, "around", None), honours=("decimals",))
def round_(a, decimals=0, out=None):
    return W(apply("round", N(a), decimals=int(decimals)))


METHODS["round"] = round_


@implements(np.real)
def real(val):
    x = N(val)
    return W(apply("real", x)) if x.dtype.kind == "c" else W(x)


@implements(np.imag)
def imag(val):
    x = N(val)
    return W(apply("imag", x)) if x.dtype.kind == "c" else W(zeros(x.shape, x.dtype))


@implements(np.real_if_close, honours=("tol",))
def real_if_close(a, tol=100):
    """Return a's real part when every imaginary part is within tol (machine epsilons if tol > 1), else a.

    The choice depends on the values: it is a guarded decision, and the derivative is that of the
    branch taken (the real part, or the identity).
    """
    x = N(a)
    if x.dtype.kind != "c":
        return W(x)
    if tol > 1:
        tol = float(np.finfo(x.dtype).eps) * tol
    if x.size == 0:  # NumPy's all() of nothing is True
        return W(apply("real", x))
    small = apply("less", apply("absolute", apply("imag", x)), float(tol))
    if x.ndim:
        small = apply("logical_not", apply("reduce_max", apply("logical_not", small), axes=tuple(range(x.ndim))))
    if bool(W(small)):  # the decision on the values (a guard), as NumPy's all(|imag| < tol)
        return W(apply("real", x))
    return W(x)


@implements(np.conj, np.conjugate)
def conj(x):
    return UFUNCS[np.conjugate](x)


METHODS["real"], METHODS["imag"] = real, imag
METHODS["conj"] = METHODS["conjugate"] = conj


@implements(np.abs)
def abs_(x):
    return np.absolute(x)


@implements(np.nan_to_num, honours=("copy", "nan", "posinf", "neginf"))
def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    v = N(x)
    if not np.issubdtype(v.dtype, np.floating):
        return W(v)
    big = float(np.finfo(v.dtype).max)
    v = nan_to(v, nan)
    v = apply("where", apply("logical_and", apply("isinf", v), apply("greater", v, 0)),
              big if posinf is None else posinf, v)
    v = apply("where", apply("logical_and", apply("isinf", v), apply("less", v, 0)),
              -big if neginf is None else neginf, v)
    return W(v)


@implements(np.select, honours=("default",))
def select(condlist, choicelist, default=0):
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    out = N(default)
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = apply("where", N(c), N(v), out)
    shape = np.broadcast_shapes(*[N(c).shape for c in condlist], *[N(v).shape for v in choicelist])
    return W(out if out.shape == shape else apply("broadcast_to", out, shape=shape))


@implements(np.sinc)
def sinc(x):
    """sin(pi x) / (pi x), with its Taylor series near 0 (exact derivatives of every order there)."""
    v = to_float(N(x))
    z = apply("multiply", v, math.pi)
    small = apply("less", apply("absolute", z), 0.1)
    zs = apply("where", small, 1.0, z)
    far = apply("divide", apply("sin", zs), zs)
    z2 = apply("square", z)
    near = 1.0
    for k in (9, 7, 5, 3):  # 1 - z^2/3! + z^4/5! - z^6/7! + z^8/9!
        near = apply("subtract", 1.0, apply("multiply", apply("divide", z2, float(k * (k - 1))), near))
    return W(apply("where", small, near, far))


@implements(np.fix, honours=())
def fix(x, out=None):
    return W(apply("trunc", N(x)))


@implements(np.isposinf, honours=())
def isposinf(x, out=None):
    v = N(x)
    return W(apply("logical_and", apply("isinf", v), apply("greater", v, 0)))


@implements(np.isneginf, honours=())
def isneginf(x, out=None):
    v = N(x)
    return W(apply("logical_and", apply("isinf", v), apply("less", v, 0)))


@implements(np.angle, honours=("deg",))
def angle(z, deg=False):
    v = N(z)
    half_turn = 180.0 if deg else math.pi
    if np.issubdtype(v.dtype, np.complexfloating):  # arctan2(imag, real), differentiable away from 0
        out = apply("arctan2", apply("imag", v), apply("real", v))
        return W(apply("multiply", out, 180.0 / math.pi) if deg else out)
    return W(apply("where", apply("signbit", v), half_turn, 0.0))


@implements(np.iscomplex)
def iscomplex(x):
    v = N(x)
    if np.issubdtype(v.dtype, np.complexfloating):  # a complex array: elements with a nonzero imaginary part
        return W(apply("not_equal", apply("imag", v), 0.0))
    return W(apply("broadcast_to", const(np.False_), shape=v.shape))


@implements(np.isreal)
def isreal(x):
    v = N(x)
    if np.issubdtype(v.dtype, np.complexfloating):
        return W(apply("equal", apply("imag", v), 0.0))
    return W(apply("broadcast_to", const(np.True_), shape=v.shape))


if "i0" in PRIMS:  # scipy.special's i0 primitive
    @implements(np.i0)
    def i0(x):
        return W(apply("i0", to_float(N(x))))


@implements(np.isclose, honours=("rtol", "atol", "equal_nan"))
def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Return |a - b| <= atol + rtol |b| where both are finite, a == b elsewhere (NumPy's rule), traced."""
    x, y = N(a), N(b)
    both = apply("logical_and", apply("isfinite", x), apply("isfinite", y))
    near = apply("less_equal", apply("absolute", apply("subtract", x, y)),
                 apply("add", apply("multiply", apply("absolute", y), rtol), atol))
    out = apply("where", both, near, apply("equal", x, y))
    if equal_nan:
        out = apply("logical_or", out, apply("logical_and", apply("isnan", x), apply("isnan", y)))
    return W(out)


@implements(np.allclose, honours=("rtol", "atol", "equal_nan"))
def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Return a traced boolean scalar (deciding on it records a guard when values are known)."""
    close = N(isclose(a, b, rtol, atol, equal_nan))
    if close.size == 0:  # all() of nothing
        return W(const(np.True_))
    return W(apply("reduce_min", apply("convert", close, dtype=np.dtype(bool)), axes=tuple(range(close.ndim)))
             if close.ndim else close)


@implements(np.array_equal, honours=("equal_nan",))
def array_equal(a1, a2, equal_nan=False):
    x, y = N(a1), N(a2)
    if x.shape != y.shape:
        return False
    eq = apply("equal", x, y)
    if equal_nan:
        eq = apply("logical_or", eq, apply("logical_and", apply("isnan", x), apply("isnan", y)))
    if eq.size == 0:  # all() of nothing
        return W(const(np.True_))
    return W(apply("reduce_min", eq, axes=tuple(range(eq.ndim))) if eq.ndim else eq)
