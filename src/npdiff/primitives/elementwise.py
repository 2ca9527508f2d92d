"""Elementwise primitives: ufunc-like operations with NumPy broadcasting.

Each ``defew`` call is the whole record of one primitive: the NumPy function,
the partial derivative of the output with respect to each argument (written
with node operations), the array source template and the Python-float template
(``scalar``). The systematic tests' input ranges are test metadata, in
tests/domains.py.
"""
from __future__ import annotations

import math
from functools import cache

import numpy as np

from ..ir.graph import broadcast_shapes, const
from ..ir.indexsets import ELEMENTWISE, elementwise_of
from . import ops
from .helpers import align, dtype_name, expand_to, is_one_const, is_zero_const, sum_to
from .registry import NOT_SCALAR, Primitive, apply, register

LN2, LN10 = math.log(2.0), math.log(10.0)


@cache
def _result_dtype(impl, keys):
    samples = [np.ones((), k) if isinstance(k, np.dtype) else k[0] for k in keys]
    with np.errstate(all="ignore"):
        return np.asarray(impl(*samples)).dtype


def _dtype_key(a):
    """Return an argument's part of the result-dtype key: its dtype, or (1 of its type, type name) if weak."""
    if a.op == "const" and not isinstance(a.value, np.ndarray):
        t = type(a.value)  # the type name keeps 1, 1.0 and True (equal and equally hashed) apart in the cache
        return t(1), t.__name__
    return a.dtype


def ew_shape_rule(impl):
    def rule(*args, **params):
        shape = broadcast_shapes(*[a.shape for a in args])
        keys = tuple(map(_dtype_key, args))
        if params:
            samples = [np.ones((), k) if isinstance(k, np.dtype) else k[0] for k in keys]
            return shape, np.asarray(impl(*samples, **params)).dtype
        return shape, _result_dtype(impl, keys)
    return rule


def ew_jvp(tangents, *args, out, nb, prim, **params):
    """Forward rule shared by elementwise primitives: sum of t_i * d out/d arg_i."""
    total = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        t = align(t, nb, out.ndim)
        d = prim.partials[i](*args, out)
        if d is not None and d.dtype != out.dtype and not d.weak and np.issubdtype(out.dtype, np.inexact):
            d = ops.convert(d, dtype=out.dtype)  # keep float32 derivatives float32
        term = t if d is None else ops.mul(t, d)
        total = term if total is None else ops.add(total, term)
    if total is None:
        return None
    return expand_to(total, out.shape, nb)


def defew(name, impl, partials=None, emit=None, *, nondiff=False, scalar=None,
          short=None, augmented=None, commutative=False, linear=False, transpose=None, simplify=None,
          jvp=None):
    """Register an elementwise primitive and return it.

    ``emit`` defaults to ``np.<impl name>(...)``; ``scalar`` (the template for
    Python-float elements) defaults to ``emit`` when that is a string (NumPy
    functions accept floats) and to NOT_SCALAR otherwise. The result is a fresh
    array except for zero-derivative primitives (the emitter does not update those
    in place).
    """
    impl_of[name] = impl
    if emit is None:
        emit = f"np.{impl.__name__}(" + ", ".join(f"{{{i}}}" for i in range(_nin(impl))) + ")"
    if scalar is None:
        scalar = emit if isinstance(emit, str) else NOT_SCALAR
    prim = Primitive(name, ew_shape_rule(impl), impl, emit, linear=linear, nondiff=nondiff,
                     transpose=transpose, simplify=_ew_simplify(name, simplify),
                     partials=tuple(partials or ()),
                     short=short, augmented=augmented, commutative=commutative,
                     owns=not nondiff, elementwise=True, sparsity=ELEMENTWISE, scalar=scalar)
    if not nondiff:
        if jvp is not None:
            prim.jvp = jvp
        else:
            prim.jvp = lambda tangents, *args, out, nb, **p: ew_jvp(tangents, *args, out=out, nb=nb, prim=prim, **p)
    return register(prim)


impl_of: dict = {}


def _ew_simplify(name, specific):
    """Drop broadcasts that NumPy's own broadcasting makes redundant, then apply ``specific``."""
    def simp(*args, shape, dtype, **params):
        args = list(args)
        changed = False
        for i, a in enumerate(args):
            if a.op == "const" and not a.weak and a.size == 1 and a.dtype.kind in "fc" and len(args) > 1 \
                    and type(np.asarray(a.value).item()) in (float, complex):  # not longdouble (item() stays typed)
                w = const(np.asarray(a.value).item())  # a typed scalar that does not set the dtype prints as a literal
                trial = [w if j == i else x for j, x in enumerate(args)]
                if ew_shape_rule(impl_of[name])(*trial, **params) == (shape, dtype):
                    args[i] = w
                    changed = True
                    continue
            if a.op == "broadcast_to":
                trial = [x.shape for x in args]
                trial[i] = a.args[0].shape
                if broadcast_shapes(*trial) == shape:
                    args[i] = a.args[0]
                    changed = True
        if changed:
            return apply(name, *args, **params)
        if any(a.op == "broadcast_to" for a in args) and all(_const_scalar(a) is not None for a in args):
            scalars = [_const_scalar(a) for a in args]
            value = apply(name, *scalars, **params)  # fold on the scalar, broadcast the result
            return apply("broadcast_to", apply("reshape", value, shape=()), shape=shape) \
                if value.dtype == dtype else None
        if specific is not None:
            return specific(*args, shape=shape, dtype=dtype, **params)
        return None
    return simp


def _const_scalar(a):
    """Return the scalar constant behind a constant or broadcast constant, else None."""
    if a.op == "broadcast_to":
        a = a.args[0]
    if a.op == "const" and a.size == 1:
        return a
    return None


def _nin(impl):
    return getattr(impl, "nin", 1)


# -- linear arithmetic --------------------------------------------------------

def _t_add(ct, a, b, lin, nb):
    return [sum_to(ct, a.shape, nb) if lin[0] else None, sum_to(ct, b.shape, nb) if lin[1] else None]


def _t_sub(ct, a, b, lin, nb):
    return [sum_to(ct, a.shape, nb) if lin[0] else None, sum_to(ops.neg(ct), b.shape, nb) if lin[1] else None]


def _t_mul(ct, a, b, lin, nb):
    assert not (lin[0] and lin[1]), "multiply of two linear values"
    if lin[0]:
        return [sum_to(ops.mul(ct, b), a.shape, nb), None]
    return [None, sum_to(ops.mul(ct, a), b.shape, nb)]


def _t_div(ct, a, b, lin, nb):
    assert lin[0] and not lin[1], "divide by a linear value"
    return [sum_to(ops.div(ct, b), a.shape, nb), None]


def _same(x, shape, dtype):
    return x.shape == shape and x.dtype == dtype


def _s_add(a, b, shape, dtype):
    for x, y in ((a, b), (b, a)):
        if is_zero_const(y) and x.dtype == dtype:
            return x if x.shape == shape else apply("broadcast_to", x, shape=shape)
        if x is y and x.shape == shape and x.dtype == dtype and dtype.kind == "f":  # x + x -> 2x
            return ops.mul(x, 2.0)
        if y.op == "scatter_add" and x.shape == shape and x.dtype == dtype:  # x[idx] += v
            return apply("index_add", x, *y.args, index=y.p["index"])
    if b.op == "negative":
        return ops.sub(a, b.args[0])
    if a.op == "negative":
        return ops.sub(b, a.args[0])
    return None


def _s_sub(a, b, shape, dtype):
    if is_zero_const(b) and _same(a, shape, dtype):
        return a
    if is_zero_const(a) and _same(b, shape, dtype):
        return ops.neg(b)
    if b.op == "negative":
        return ops.add(a, b.args[0])
    return None


def _s_mul(a, b, shape, dtype):
    for x, y in ((a, b), (b, a)):
        if is_one_const(y) and x.dtype == dtype:
            return x if x.shape == shape else apply("broadcast_to", x, shape=shape)
        if is_zero_const(y):  # x * 0 -> 0 (as JAX, ignoring inf * 0)
            from .helpers import zeros
            return zeros(shape, dtype)
        if y.op == "const" and y.weak and x.op == "multiply" and x.args[1].op == "const" and x.args[1].weak:
            return ops.mul(x.args[0], y.value * x.args[1].value)
    if b.op == "const" and a.op == "const":
        return None
    for x, y in ((a, b), (b, a)):  # fewer products: (p c) (q d) -> (p q) (c d), (p c) p -> p ** 2 c
        if x.op == "multiply" and _weak_number(x.args[1]) and y.op != "const" and \
                x.shape == y.shape == shape and x.dtype == y.dtype == dtype and x.args[0].shape == shape:
            if y.op == "multiply" and _weak_number(y.args[1]) and y.args[0].shape == shape:
                return ops.mul(ops.mul(x.args[0], y.args[0]), x.args[1].value * y.args[1].value)
            if x.args[0] is y and dtype.kind == "f":
                return ops.mul(ops.power(y, 2), x.args[1].value)
    if a is b and a.shape == shape and a.dtype == dtype and dtype.kind == "f":
        return ops.power(a, 2)  # x * x is x ** 2 (NumPy squares exactly so): one node with the user's x ** 2
    if a.op == "const" and a.weak and b.op != "const":  # keep constants on the right
        return ops.mul(b, a)
    if a.op == "negative" and b.op == "negative":
        return ops.mul(a.args[0], b.args[0])
    if _weak_number(b) and dtype.kind in "fc" and a.dtype == dtype and a.shape == shape:
        # one node per value up to sign: x * 2 and x * 2.0 are one node, x * -2.0 is -(x * 2.0)
        if type(b.value) is int:
            return ops.mul(a, float(b.value))
        if b.value < 0 and b.value != -1:
            if a.op == "subtract":  # (p - q) * -c -> (q - p) * c (exact: negation commutes)
                return ops.mul(ops.sub(a.args[1], a.args[0]), -b.value)
            return ops.neg(ops.mul(a, -b.value))
    for x, y in ((a, b), (b, a)):
        if y.op == "const" and y.weak and y.value == -1 and x.dtype == dtype:
            return ops.neg(x if x.shape == shape else apply("broadcast_to", x, shape=shape))
        if x.op == "negative":
            return ops.neg(ops.mul(x.args[0], y))
    return None


def _s_div(a, b, shape, dtype):
    if is_one_const(b) and _same(a, shape, dtype):
        return a
    if b.op == "const" and b.weak and b.value != 0 and np.issubdtype(dtype, np.floating):
        return ops.mul(a, 1.0 / b.value)
    return None


def _weak_number(x):
    """Return True for a weakly typed int/float constant (not bool, not complex)."""
    return x.op == "const" and x.weak and type(x.value) in (int, float)


def _s_neg(a, shape, dtype):
    if a.op == "negative":
        return a.args[0]
    if a.op == "subtract" and a.dtype.kind in "fc" and a.args[0].dtype == a.args[1].dtype == dtype:
        return ops.sub(a.args[1], a.args[0])  # -(p - q) -> q - p
    return None


def _s_pow(a, b, shape, dtype):
    if b.op == "const" and b.weak:
        if b.value == 1 and _same(a, shape, dtype):
            return a
        if b.value == 0.5:
            return apply("sqrt", a)
        if b.value == -1 and np.issubdtype(dtype, np.floating):
            return apply("reciprocal", a)
    return None


def _arith(sym):
    """Return the scalar rule ``a sym b`` with zero/one folding."""
    return lambda em, node: em.map(node, lambda a, b: em.binop(sym, a, b))


ONE = None  # partial of 1: the tangent passes unchanged
defew("add", np.add, [lambda a, b, o: ONE] * 2, "{0} + {1}", linear=True, transpose=_t_add, simplify=_s_add,
      scalar=_arith("+"), augmented="+=", commutative=True)
defew("subtract", np.subtract, [lambda a, b, o: ONE, lambda a, b, o: const(-1.0)], "{0} - {1}",
      linear=True, transpose=_t_sub, simplify=_s_sub, scalar=_arith("-"), short="sub", augmented="-=")
defew("multiply", np.multiply, [lambda a, b, o: b, lambda a, b, o: a], "{0} * {1}",
      linear=True, transpose=_t_mul, simplify=_s_mul, scalar=_arith("*"), short="mul", augmented="*=",
      commutative=True)
defew("divide", np.divide, [lambda a, b, o: ops.div(1.0, b), lambda a, b, o: ops.neg(ops.div(o, b))],
      "{0} / {1}", linear=True, transpose=_t_div, simplify=_s_div,
      scalar=_arith("/"), short="div", augmented="/=")
defew("negative", np.negative, [lambda a, o: const(-1.0)], "-{0}", linear=True,
      transpose=lambda ct, a, lin, nb: [ops.neg(ct)], simplify=_s_neg,
      scalar=lambda em, node: em.map(node, em.negate), short="neg")


def _nonzero_const(x) -> bool:
    return x.op == "const" and bool(np.all(np.asarray(x.value) != 0))


def _pow_da(a, b, o):
    if _nonzero_const(b):
        return ops.mul(b, ops.power(a, ops.sub(b, 1)))
    # a ** 0 is constant: its derivative is 0 even at a = 0, where b * a ** (b - 1) would be 0 * inf
    return ops.mul(b, ops.power(a, ops.where(ops.not_equal(b, 0), ops.sub(b, 1), 1)))


def _pow_db(a, b, o):
    if _nonzero_const(a):
        return ops.mul(ops.log(a), o)
    # 0 ** b is 0 for every b > 0: its derivative is 0 there, not log(0) * 0 = nan
    return ops.mul(ops.log(ops.where(ops.equal(a, 0), 1, a)), o)


defew("power", np.power, [_pow_da, _pow_db],
      "{0} ** {1}", simplify=_s_pow, scalar=_arith("**"), short="pow", augmented="**=")
defew("square", np.square, [lambda a, o: ops.mul(a, 2.0)], scalar="{0} * {0}", short="sq")
defew("sqrt", np.sqrt, [lambda a, o: ops.div(0.5, o)], scalar="math.sqrt({0})")
defew("cbrt", np.cbrt, [lambda a, o: ops.div(1.0, ops.mul(ops.square(o), 3.0))])
defew("reciprocal", np.reciprocal, [lambda a, o: ops.neg(ops.square(o))], "1.0 / {0}",
      short="inv")
defew("exp", np.exp, [lambda a, o: o], scalar="math.exp({0})")
defew("exp2", np.exp2, [lambda a, o: ops.mul(o, LN2)], scalar="2.0 ** {0}")
defew("expm1", np.expm1, [lambda a, o: ops.add(o, 1.0)], scalar="math.expm1({0})")
def _s_log(a, shape, dtype):
    """log(diag(L)) or log(diag(L^T)) with L = cholesky(K) of one real matrix is chol_logdiag(K, L)
    (primitives/cholesky.py)."""
    if a.op != "einsum" or a.p["spec"] != "yy->y" or a.dtype.kind != "f":
        return None
    f = a.args[0]
    if f.op == "transpose" and f.p["perm"] == (1, 0):  # the upper factor L^T (cho_factor's default)
        f = f.args[0]
    return apply("chol_logdiag", f.args[0], f) if f.op == "cholesky" else None


defew("log", np.log, [lambda a, o: ops.reciprocal(a)], scalar="math.log({0})", simplify=_s_log)
defew("log2", np.log2, [lambda a, o: ops.reciprocal(ops.mul(a, LN2))],
      scalar="math.log2({0})")
defew("log10", np.log10, [lambda a, o: ops.reciprocal(ops.mul(a, LN10))],
      scalar="math.log10({0})")
defew("log1p", np.log1p, [lambda a, o: ops.reciprocal(ops.add(a, 1.0))],
      scalar="math.log1p({0})")
defew("sin", np.sin, [lambda a, o: ops.cos(a)], scalar="math.sin({0})")
defew("cos", np.cos, [lambda a, o: ops.neg(ops.sin(a))], scalar="math.cos({0})")
defew("tan", np.tan, [lambda a, o: ops.add(ops.square(o), 1.0)], scalar="math.tan({0})")
defew("arcsin", np.arcsin, [lambda a, o: ops.reciprocal(ops.sqrt(ops.sub(1.0, ops.square(a))))], scalar="math.asin({0})")
defew("arccos", np.arccos, [lambda a, o: ops.neg(ops.reciprocal(ops.sqrt(ops.sub(1.0, ops.square(a)))))], scalar="math.acos({0})")
defew("arctan", np.arctan, [lambda a, o: ops.reciprocal(ops.add(ops.square(a), 1.0))], scalar="math.atan({0})")
defew("sinh", np.sinh, [lambda a, o: ops.cosh(a)], scalar="math.sinh({0})")
defew("cosh", np.cosh, [lambda a, o: ops.sinh(a)], scalar="math.cosh({0})")
defew("tanh", np.tanh, [lambda a, o: ops.sub(1.0, ops.square(o))], scalar="math.tanh({0})")
defew("arcsinh", np.arcsinh, [lambda a, o: ops.reciprocal(ops.sqrt(ops.add(ops.square(a), 1.0)))],
      scalar="math.asinh({0})")
defew("arccosh", np.arccosh, [lambda a, o: ops.reciprocal(ops.sqrt(ops.sub(ops.square(a), 1.0)))], scalar="math.acosh({0})")
defew("arctanh", np.arctanh, [lambda a, o: ops.reciprocal(ops.sub(1.0, ops.square(a)))], scalar="math.atanh({0})")
def _jvp_abs(tangents, a, out, nb):
    t = align(tangents[0], nb, out.ndim)
    if a.dtype.kind == "c":  # d|z| = Re(conj(z) dz) / |z|, and 0 at z = 0 (as JAX: |z|**2 stays smooth there)
        return ops.div(ops.real(ops.mul(t, ops.conj(a))), ops.where(ops.equal(out, 0), 1, out))
    return ops.mul(t, ops.sign(a))


defew("absolute", np.absolute, [lambda a, o: ops.sign(a)], scalar="abs({0})",
      jvp=_jvp_abs, short="abs")


# -- complex parts (JAX's convention: reverse mode transposes, it does not conjugate) --------

def _complex_of(dt):
    return np.result_type(dt, np.complex64)


_real = defew("real", np.real, [lambda a, o: ONE], "np.real({0})", linear=True,
              jvp=lambda ts, a, out, nb: ops.real(ts[0]),
              transpose=lambda ct, a, lin, nb: [ops.convert(ct, dtype=a.dtype)])
_imag = defew("imag", np.imag, [lambda a, o: ONE], "np.imag({0})", linear=True,
              jvp=lambda ts, a, out, nb: ops.imag(ts[0]),
              transpose=lambda ct, a, lin, nb: [ops.mul(ops.convert(ct, dtype=a.dtype), -1j)])
_real.owns = _imag.owns = False  # np.real / np.imag of a complex array return views of it
defew("conj", np.conjugate, [lambda a, o: ONE], "np.conj({0})", linear=True,
      jvp=lambda ts, a, out, nb: ops.conj(ts[0]),
      transpose=lambda ct, a, lin, nb: [ops.conj(ct)])


defew("hypot", np.hypot, [lambda a, b, o: ops.div(a, o), lambda a, b, o: ops.div(b, o)],
      scalar="math.hypot({0}, {1})")
defew("arctan2", np.arctan2, [
    lambda a, b, o: ops.div(b, ops.add(ops.square(a), ops.square(b))),
    lambda a, b, o: ops.neg(ops.div(a, ops.add(ops.square(a), ops.square(b))))],
      scalar="math.atan2({0}, {1})")
def _logaddexp_partial(x, y, o):
    """Return d logaddexp(x, y) / dx: expit(x - y) (one pass, no overflow) when SciPy is there."""
    from .registry import PRIMS
    if "expit" in PRIMS:  # registered by primitives/special.py when SciPy is installed
        return ops.expit(ops.sub(x, y))
    return ops.exp(ops.sub(x, o))  # exp(x - logaddexp(x, y)): exact, never overflows


defew("logaddexp", np.logaddexp, [lambda a, b, o: _logaddexp_partial(a, b, o),
                                  lambda a, b, o: _logaddexp_partial(b, a, o)])
defew("logaddexp2", np.logaddexp2, [lambda a, b, o: ops.exp2(ops.sub(a, o)), lambda a, b, o: ops.exp2(ops.sub(b, o))])


def _pick(cond_gt, a, b):
    """Return 1 where cond_gt, 1/2 on ties, else 0 (the derivative of max/min)."""
    return ops.where(cond_gt, 1.0, ops.where(ops.equal(a, b), 0.5, 0.0))


defew("maximum", np.maximum, [lambda a, b, o: _pick(ops.greater(a, b), a, b),
                              lambda a, b, o: _pick(ops.greater(b, a), a, b)],
      scalar="({0} if {0} > {1} or {0} != {0} else {1})")  # NumPy's maximum propagates nan
defew("minimum", np.minimum, [lambda a, b, o: _pick(ops.less(a, b), a, b),
                              lambda a, b, o: _pick(ops.less(b, a), a, b)],
      scalar="({0} if {0} < {1} or {0} != {0} else {1})")
defew("fmax", np.fmax, [lambda a, b, o: _pick(ops.greater(a, b), a, b),
                        lambda a, b, o: _pick(ops.greater(b, a), a, b)])
defew("fmin", np.fmin, [lambda a, b, o: _pick(ops.less(a, b), a, b),
                        lambda a, b, o: _pick(ops.less(b, a), a, b)])
defew("remainder", np.remainder, [lambda a, b, o: ONE,
                                  lambda a, b, o: ops.neg(ops.floor(ops.div(a, b)))], "np.mod({0}, {1})")
defew("fmod", np.fmod, [lambda a, b, o: ONE, lambda a, b, o: ops.neg(ops.trunc(ops.div(a, b)))])

# -- zero-derivative elementwise operations: ufunc -> (array template, Python-float template),
# None for the default np.<name>(...)
_NONDIFF = {
    np.sign: (None, "(1.0 if {0} > 0 else -1.0 if {0} < 0 else abs({0}))"),  # 0.0 for +-0, nan for nan
    np.floor: (None, "float(math.floor({0}))"),
    np.ceil: (None, "float(math.ceil({0}))"),
    np.rint: (None, None),
    np.trunc: (None, "float(math.trunc({0}))"),
    np.greater: ("{0} > {1}", None),
    np.greater_equal: ("{0} >= {1}", None),
    np.less: ("{0} < {1}", None),
    np.less_equal: ("{0} <= {1}", None),
    np.equal: ("{0} == {1}", None),
    np.not_equal: ("{0} != {1}", None),
    np.logical_and: (None, "bool({0} and {1})"),
    np.logical_or: (None, "bool({0} or {1})"),
    np.logical_not: (None, "not {0}"),
    np.logical_xor: (None, None),
    np.isfinite: (None, None),
    np.isnan: (None, None),
    np.isinf: (None, None),
    np.heaviside: (None, None),
    np.signbit: (None, None),
    np.floor_divide: ("{0} // {1}", None),
}
for _f, (_emit, _scalar) in _NONDIFF.items():
    defew(_f.__name__, _f, nondiff=True, emit=_emit, scalar=_scalar)


def _round(x, decimals=0):
    return np.round(x, decimals)


defew("round", _round, nondiff=True, emit="np.round({0}, {decimals})")


def stop_gradient(x):
    return x


# the identity with a zero derivative (e.g. the shift in a stable logsumexp); never owns its result
defew("stop_gradient", stop_gradient, nondiff=True, emit="{0}")


# -- select (np.where) and dtype conversion ----------------------------------

def _where_impl(c, a, b):
    return np.where(c, a, b)


def _jvp_select(tangents, c, a, b, out, nb):
    _, ta, tb = tangents
    if ta is None and tb is None:
        return None
    ta = align(ta, nb, out.ndim) if ta is not None else 0.0
    tb = align(tb, nb, out.ndim) if tb is not None else 0.0
    c = align(c, 0, out.ndim)
    return expand_to(ops.where(c, ta, tb), out.shape, nb)


def _t_select(ct, c, a, b, lin, nb):
    return [None,
            sum_to(ops.where(c, ct, 0.0), a.shape, nb) if lin[1] else None,
            sum_to(ops.where(c, 0.0, ct), b.shape, nb) if lin[2] else None]


def _s_select(c, a, b, shape, dtype):
    if c.op == "const":
        v = np.asarray(c.value)
        if v.all() and _same(a, shape, dtype):
            return a
        if not v.any() and _same(b, shape, dtype):
            return b
    if a is b and _same(a, shape, dtype):
        return a
    return None


_sel = register(Primitive(
    "where", lambda c, a, b: (broadcast_shapes(c.shape, a.shape, b.shape),
                              ew_shape_rule(lambda x, y: np.add(x, y))(a, b)[1]),
    _where_impl, "np.where({0}, {1}, {2})", jvp=_jvp_select, transpose=_t_select, linear=True,
    simplify=_s_select, short="sel", owns=True, elementwise=True, sparsity=elementwise_of(1, 2),
    scalar=lambda em, node: em.map(node, lambda c, a, b: f"{em.paren(a)} if {c} else {em.paren(b)}")))


def _convert_rule(x, dtype):
    return x.shape, dtype


def _jvp_convert(tangents, x, out, nb, dtype):
    if not np.issubdtype(np.dtype(dtype), np.inexact):
        return None
    return ops.convert(tangents[0], dtype=dtype)


def _t_convert(ct, x):
    """Transpose of a dtype conversion: real inputs take the real part of a complex cotangent."""
    if ct.dtype.kind == "c" and x.dtype.kind != "c":
        ct = ops.real(ct)
    return ops.convert(ct, dtype=x.dtype)


def _s_convert(x, shape, dtype, **p):
    return x if x.dtype == dtype else None


def _scalar_convert(em, node):
    x = node.args[0]
    if node.dtype != np.float64 and node.dtype != np.bool_:
        em.refuse("convert")
    if x.dtype == node.dtype:
        return em.val(x).copy()
    cast = "float" if node.dtype == np.float64 else "bool"
    return em.map(node, lambda e: f"{cast}({e})")


register(Primitive("convert", _convert_rule, lambda x, dtype: np.asarray(x).astype(dtype),
                   lambda names, node: f"{names[0]}.astype(np.{dtype_name(node.dtype)})",
                   jvp=_jvp_convert, linear=True, simplify=_s_convert,
                   transpose=lambda ct, x, lin, nb, dtype: [_t_convert(ct, x)],
                   short="cv", owns=True, elementwise=True, sparsity=ELEMENTWISE, scalar=_scalar_convert))
