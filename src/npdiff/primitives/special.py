"""Special functions (scipy.special) as elementwise primitives, and the
order-statistics primitives (sort, argsort, searchsorted) and cumprod that
lower/sorting.py and lower/cumulative.py build on.

Each scipy.special ufunc is declared with ``defew``: its partial derivatives
(written with primitives, so any order works) and the SciPy source template
(the tests' input ranges are in tests/domains.py). Everything SciPy-dependent
is skipped when SciPy is absent.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import const
from ..ir.indexsets import DENSE, PREFIX
from . import ops
from .elementwise import defew
from .helpers import align, expand_to, shift_axes
from .indexing import gather_b
from .registry import NOT_SCALAR, Primitive, apply, register

SQRT_PI = math.sqrt(math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

try:
    import scipy.special as sc
except ImportError:  # pragma: no cover - SciPy is optional
    sc = None


def _sp(name, nargs=1):
    """Return the emit template ``scipy.special.name({0}, ...)``."""
    return f"scipy.special.{name}(" + ", ".join(f"{{{i}}}" for i in range(nargs)) + ")"


def _safe_over(f, a, limit):
    """Return f(a) / a, with its limit at a == 0 (for f odd, f'(0) = limit)."""
    zero = ops.equal(a, 0.0)
    safe = ops.where(zero, 1.0, a)
    return ops.where(zero, limit, ops.div(f(safe), safe))


def _jvp_polygamma(ts, x, out, nb, n):
    t = align(ts[0], nb, out.ndim)
    d = apply("polygamma", x, n=n + 1)
    if d.dtype != out.dtype:
        d = ops.convert(d, dtype=out.dtype)
    return expand_to(ops.mul(t, d), out.shape, nb)


def _jvp_last_only(name, dfdx):
    """jvp for f(..., x) differentiable in its last argument only (no closed form in the others)."""
    def jvp(ts, *args, out, nb):
        if any(t is not None for t in ts[:-1]):
            raise UnsupportedOperationError(f"npdiff has no derivative of scipy.special.{name} with respect to "
                                            f"arguments other than the last")
        if ts[-1] is None:
            return None
        t = align(ts[-1], nb, out.ndim)
        d = dfdx(*args, out)
        if d.dtype != out.dtype:
            d = ops.convert(d, dtype=out.dtype)
        return expand_to(ops.mul(t, d), out.shape, nb)
    return jvp


def _dgammainc(a, x, o):
    """d P(a, x) / dx = x^(a-1) e^(-x) / Gamma(a), computed in log space."""
    return ops.exp(ops.sub(ops.sub(ops.xlogy(ops.sub(a, 1.0), x), x), ops.gammaln(a)))


def _dbetainc(a, b, x, o):
    """d I_x(a, b) / dx = x^(a-1) (1-x)^(b-1) / B(a, b)."""
    return ops.exp(ops.sub(ops.add(ops.xlogy(ops.sub(a, 1.0), x), ops.xlog1py(ops.sub(b, 1.0), ops.neg(x))),
                           ops.betaln(a, b)))


def _dstdtr(df, t, o):
    """Student's t density."""
    half = ops.mul(ops.add(df, 1.0), 0.5)
    return ops.exp(ops.sub(ops.sub(ops.sub(ops.gammaln(half), ops.gammaln(ops.mul(df, 0.5))),
                                   ops.mul(ops.log(ops.mul(df, math.pi)), 0.5)),
                           ops.mul(half, ops.log1p(ops.div(ops.square(t), df)))))


def _dexpn(n, x, o):
    """d E_n(x) / dx = -E_{n-1}(x); E_0(x) = e^-x / x, so d E_0 = -E_0 (1 + 1/x)."""
    zero = ops.equal(n, 0)
    prev = ops.expn(ops.sub(ops.where(zero, 1, n), 1), x)
    return ops.where(zero, ops.neg(ops.mul(o, ops.add(ops.reciprocal(x), 1.0))), ops.neg(prev))


def _bessel(name, kind, scaled=False):
    """d/dx of a Bessel function of constant order v, from the neighbouring orders:
    J, Y: (f_{v-1} - f_{v+1}) / 2; I: (f_{v-1} + f_{v+1}) / 2; K: -(f_{v-1} + f_{v+1}) / 2.
    Scaled versions: ive = iv e^-|x| and kve = kv e^x add -sign(x) ive and +kve.
    """
    def d(v, x, o):
        lo, hi = apply(name, ops.sub(v, 1.0), x), apply(name, ops.add(v, 1.0), x)
        if kind == "j":
            r = ops.mul(ops.sub(lo, hi), 0.5)
        else:
            r = ops.mul(ops.add(lo, hi), 0.5 if kind == "i" else -0.5)
        if scaled:
            r = ops.sub(r, ops.mul(ops.sign(x), o)) if kind == "i" else ops.add(r, o)
        return r
    return d


if sc is not None:
    # -- gamma family ----------------------------------------------------------------
    defew("gammaln", sc.gammaln, [lambda a, o: ops.digamma(a)], _sp("gammaln"))
    defew("digamma", sc.digamma, [lambda a, o: apply("polygamma", a, n=1)], _sp("digamma"))
    defew("polygamma", lambda x, n: sc.polygamma(n, x), None, "scipy.special.polygamma({n}, {0})",
          jvp=_jvp_polygamma)
    defew("gamma", sc.gamma, [lambda a, o: ops.mul(o, ops.digamma(a))], _sp("gamma"))
    defew("rgamma", sc.rgamma, [lambda a, o: ops.neg(ops.mul(o, ops.digamma(a)))], _sp("rgamma"))
    defew("betaln", sc.betaln, [lambda a, b, o: ops.sub(ops.digamma(a), ops.digamma(ops.add(a, b))),
                                lambda a, b, o: ops.sub(ops.digamma(b), ops.digamma(ops.add(a, b)))],
          _sp("betaln", 2))
    defew("beta", sc.beta, [lambda a, b, o: ops.mul(o, ops.sub(ops.digamma(a), ops.digamma(ops.add(a, b)))),
                            lambda a, b, o: ops.mul(o, ops.sub(ops.digamma(b), ops.digamma(ops.add(a, b))))],
          _sp("beta", 2))
    defew("gammainc", sc.gammainc, None, _sp("gammainc", 2), jvp=_jvp_last_only("gammainc", _dgammainc))
    defew("gammaincc", sc.gammaincc, None, _sp("gammaincc", 2),
          jvp=_jvp_last_only("gammaincc", lambda a, x, o: ops.neg(_dgammainc(a, x, o))))

    # -- error function and normal distribution -------------------------------------------
    defew("erf", sc.erf, [lambda a, o: ops.mul(ops.exp(ops.neg(ops.square(a))), 2.0 / SQRT_PI)], _sp("erf"))
    defew("erfc", sc.erfc, [lambda a, o: ops.mul(ops.exp(ops.neg(ops.square(a))), -2.0 / SQRT_PI)],
          _sp("erfc"))
    defew("erfinv", sc.erfinv, [lambda a, o: ops.mul(ops.exp(ops.square(o)), SQRT_PI / 2.0)], _sp("erfinv"))
    defew("erfcinv", sc.erfcinv, [lambda a, o: ops.mul(ops.exp(ops.square(o)), -SQRT_PI / 2.0)],
          _sp("erfcinv"))
    defew("erfcx", sc.erfcx, [lambda a, o: ops.sub(ops.mul(ops.mul(a, o), 2.0), 2.0 / SQRT_PI)], _sp("erfcx"))
    defew("dawsn", sc.dawsn, [lambda a, o: ops.sub(1.0, ops.mul(ops.mul(a, o), 2.0))], _sp("dawsn"))
    defew("ndtr", sc.ndtr, [lambda a, o: ops.mul(ops.exp(ops.mul(ops.square(a), -0.5)), 1.0 / SQRT_2PI)],
          _sp("ndtr"))
    # d log Phi = phi / Phi = exp(log phi - log Phi): stable far in the lower tail
    defew("log_ndtr", sc.log_ndtr,
          [lambda a, o: ops.exp(ops.sub(ops.mul(ops.square(a), -0.5), ops.add(o, LOG_SQRT_2PI)))],
          _sp("log_ndtr"))
    defew("ndtri", sc.ndtri, [lambda a, o: ops.mul(ops.exp(ops.mul(ops.square(o), 0.5)), SQRT_2PI)],
          _sp("ndtri"))

    # -- logistic ----------------------------------------------------------------------------
    # the logaddexp derivative uses it
    defew("expit", sc.expit, [lambda a, o: ops.mul(o, ops.sub(1.0, o))], _sp("expit"))
    defew("logit", sc.logit, [lambda a, o: ops.reciprocal(ops.mul(a, ops.sub(1.0, a)))], _sp("logit"))
    if hasattr(sc, "log_expit"):
        defew("log_expit", sc.log_expit, [lambda a, o: ops.expit(ops.neg(a))], _sp("log_expit"))

    # -- x log y and entropies -----------------------------------------------------------------
    defew("xlogy", sc.xlogy, [lambda x, y, o: ops.log(y), lambda x, y, o: ops.div(x, y)], _sp("xlogy", 2))
    defew("xlog1py", sc.xlog1py, [lambda x, y, o: ops.log1p(y), lambda x, y, o: ops.div(x, ops.add(y, 1.0))],
          _sp("xlog1py", 2))
    defew("entr", sc.entr, [lambda a, o: ops.neg(ops.add(ops.log(a), 1.0))], _sp("entr"))
    defew("rel_entr", sc.rel_entr, [lambda x, y, o: ops.add(ops.log(ops.div(x, y)), 1.0),
                                    lambda x, y, o: ops.neg(ops.div(x, y))], _sp("rel_entr", 2))
    defew("kl_div", sc.kl_div, [lambda x, y, o: ops.log(ops.div(x, y)),
                                lambda x, y, o: ops.sub(1.0, ops.div(x, y))], _sp("kl_div", 2))

    # -- modified Bessel functions of order 0 and 1 (I1(x)/x -> 1/2 at 0) ----------------------
    defew("i0", sc.i0, [lambda a, o: ops.i1(a)], _sp("i0"))
    defew("i1", sc.i1, [lambda a, o: ops.sub(ops.i0(a), _safe_over(ops.i1, a, 0.5))], _sp("i1"))
    defew("i0e", sc.i0e, [lambda a, o: ops.sub(ops.i1e(a), ops.mul(ops.sign(a), o))], _sp("i0e"))
    defew("i1e", sc.i1e, [lambda a, o: ops.sub(ops.sub(ops.i0e(a), _safe_over(ops.i1e, a, 0.5)),
                                               ops.mul(ops.sign(a), o))], _sp("i1e"))

    # -- exponential integrals ----------------------------------------------------------------------
    defew("exp1", sc.exp1, [lambda a, o: ops.neg(ops.div(ops.exp(ops.neg(a)), a))], _sp("exp1"))
    defew("expi", sc.expi, [lambda a, o: ops.div(ops.exp(a), a)], _sp("expi"))
    defew("expn", sc.expn, None, _sp("expn", 2), jvp=_jvp_last_only("expn", _dexpn))

    # -- more error-function relatives, Pochhammer, powm1, Owen's T, Spence, Wright omega, Huber --------
    defew("erfi", sc.erfi, [lambda a, o: ops.mul(ops.exp(ops.square(a)), 2.0 / SQRT_PI)], _sp("erfi"))
    defew("cosm1", sc.cosm1, [lambda a, o: ops.neg(ops.sin(a))], _sp("cosm1"))
    defew("poch", sc.poch, [lambda z, m, o: ops.mul(o, ops.sub(ops.digamma(ops.add(z, m)), ops.digamma(z))),
                            lambda z, m, o: ops.mul(o, ops.digamma(ops.add(z, m)))], _sp("poch", 2))
    defew("powm1", sc.powm1, [lambda x, y, o: ops.div(ops.mul(y, ops.add(o, 1.0)), x),
                              lambda x, y, o: ops.mul(ops.log(x), ops.add(o, 1.0))], _sp("powm1", 2))
    defew("owens_t", sc.owens_t, [
        lambda h, a, o: ops.mul(ops.mul(ops.exp(ops.mul(ops.square(h), -0.5)),
                                        ops.erf(ops.mul(ops.mul(a, h), 1.0 / math.sqrt(2.0)))), -0.5 / SQRT_2PI),
        lambda h, a, o: ops.div(ops.exp(ops.mul(ops.mul(ops.square(h), ops.add(ops.square(a), 1.0)), -0.5)),
                                ops.mul(ops.add(ops.square(a), 1.0), 2.0 * math.pi))], _sp("owens_t", 2))
    defew("spence", sc.spence, [lambda z, o: ops.div(ops.log(z), ops.sub(1.0, z))], _sp("spence"))
    defew("wrightomega", sc.wrightomega, [lambda x, o: ops.div(o, ops.add(o, 1.0))], _sp("wrightomega"))

    def _huber_inside(d, r):
        return ops.less_equal(ops.absolute(r), d)
    defew("huber", sc.huber, [lambda d, r, o: ops.where(_huber_inside(d, r), 0.0, ops.sub(ops.absolute(r), d)),
                              lambda d, r, o: ops.where(_huber_inside(d, r), r, ops.mul(d, ops.sign(r)))],
          _sp("huber", 2))

    def _ph_root(d, r):
        return ops.sqrt(ops.add(ops.square(ops.div(r, d)), 1.0))
    defew("pseudo_huber", sc.pseudo_huber, [
        lambda d, r, o: ops.sub(ops.div(ops.mul(o, 2.0), d), ops.div(ops.square(r), ops.mul(d, _ph_root(d, r)))),
        lambda d, r, o: ops.div(r, _ph_root(d, r))], _sp("pseudo_huber", 2))

    # -- Bessel functions (integer order 0/1, and real order v, differentiable in x only) -------------
    defew("j0", sc.j0, [lambda a, o: ops.neg(ops.j1(a))], _sp("j0"))
    defew("j1", sc.j1, [lambda a, o: ops.sub(ops.j0(a), _safe_over(ops.j1, a, 0.5))], _sp("j1"))
    defew("y0", sc.y0, [lambda a, o: ops.neg(ops.y1(a))], _sp("y0"))
    defew("y1", sc.y1, [lambda a, o: ops.sub(ops.y0(a), ops.div(o, a))], _sp("y1"))
    defew("k0", sc.k0, [lambda a, o: ops.neg(ops.k1(a))], _sp("k0"))
    defew("k1", sc.k1, [lambda a, o: ops.neg(ops.add(ops.k0(a), ops.div(o, a)))], _sp("k1"))
    defew("k0e", sc.k0e, [lambda a, o: ops.sub(o, ops.k1e(a))], _sp("k0e"))
    defew("k1e", sc.k1e, [lambda a, o: ops.sub(o, ops.add(ops.k0e(a), ops.div(o, a)))], _sp("k1e"))
    for _name, _kind, _scaled in (("jv", "j", False), ("yv", "j", False), ("iv", "i", False), ("kv", "k", False),
                                  ("ive", "i", True), ("kve", "k", True)):
        defew(_name, getattr(sc, _name), None, _sp(_name, 2),
              jvp=_jvp_last_only(_name, _bessel(_name, _kind, _scaled)))

    # -- incomplete beta, inverse incomplete gamma, Student's t distribution --------------------------
    defew("betainc", sc.betainc, None, _sp("betainc", 3), jvp=_jvp_last_only("betainc", _dbetainc))
    defew("betaincc", sc.betaincc, None, _sp("betaincc", 3),
          jvp=_jvp_last_only("betaincc", lambda a, b, x, o: ops.neg(_dbetainc(a, b, x, o))))
    defew("gammaincinv", sc.gammaincinv, None, _sp("gammaincinv", 2),
          jvp=_jvp_last_only("gammaincinv", lambda a, y, o: ops.reciprocal(_dgammainc(a, o, y))))
    defew("gammainccinv", sc.gammainccinv, None, _sp("gammainccinv", 2),
          jvp=_jvp_last_only("gammainccinv", lambda a, y, o: ops.neg(ops.reciprocal(_dgammainc(a, o, y)))))
    defew("stdtr", sc.stdtr, None, _sp("stdtr", 2), jvp=_jvp_last_only("stdtr", _dstdtr))

    # -- Bessel Y of integer order (differentiable in x), the sign of Gamma (piecewise constant) --------
    def _dyn(n, x, o):
        """d Y_n(x) / dx = (Y_{n-1}(x) - Y_{n+1}(x)) / 2, the orders staying integers."""
        return ops.mul(ops.sub(apply("yn", ops.sub(n, 1), x), apply("yn", ops.add(n, 1), x)), 0.5)
    defew("yn", sc.yn, None, _sp("yn", 2), jvp=_jvp_last_only("yn", _dyn))
    defew("gammasgn", sc.gammasgn, nondiff=True, emit=_sp("gammasgn"))

    # exponentially scaled J and Y: jve = jv, yve = yv on the real line (the scaling is exp(-|Im x|))
    def _real_x_only(name, jvp):
        def checked(ts, *args, out, nb):
            if args[-1].dtype.kind == "c" and ts[-1] is not None:
                raise UnsupportedOperationError(f"npdiff differentiates scipy.special.{name} for real x only "
                                                f"(its scaling exp(-|Im x|) is not complex-differentiable)")
            return jvp(ts, *args, out=out, nb=nb)
        return checked
    for _name in ("jve", "yve"):
        defew(_name, getattr(sc, _name), None, _sp(_name, 2),
              jvp=_real_x_only(_name, _jvp_last_only(_name, _bessel(_name, "j"))))


# -- order statistics -----------------------------------------------------------------------

def _sort_rule(x, axis):
    return x.shape, x.dtype


def _take_along(t, idx, axis, nb):
    """Return t (nb batch axes) gathered along ``axis`` of its primal part at the integer node idx."""
    nd = idx.ndim
    arrays = []
    for a in range(nd):
        if a == axis:
            arrays.append(idx)
        else:
            shape = [1] * nd
            shape[a] = idx.shape[a]
            arrays.append(const(np.arange(idx.shape[a]).reshape(shape)))
    return gather_b(t, tuple(arrays), tuple(("a", k) for k in range(nd)), nb)


def _sort_jvp(ts, x, out, nb, axis):
    return _take_along(ts[0], apply("argsort", x, axis=axis), axis, nb)


register(Primitive("sort", _sort_rule, lambda x, axis: np.sort(x, axis=axis, kind="stable"),
                   lambda names, node: f"np.sort({names[0]}, axis={node.p['axis']})", jvp=_sort_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
register(Primitive("argsort", lambda x, axis: (x.shape, np.dtype(np.intp)),
                   lambda x, axis: np.argsort(x, axis=axis, kind="stable"),
                   lambda names, node: f"np.argsort({names[0]}, axis={node.p['axis']}, kind='stable')",
                   nondiff=True,
                   owns=False, elementwise=False, scalar=NOT_SCALAR))
register(Primitive("searchsorted", lambda a, v, side: (v.shape, np.dtype(np.intp)),
                   lambda a, v, side: np.searchsorted(a, v, side=side),
                   lambda names, node: f"np.searchsorted({names[0]}, {names[1]}, side='{node.p['side']}')",
                   nondiff=True,
                   owns=False, elementwise=False, scalar=NOT_SCALAR))


# -- cumprod ---------------------------------------------------------------------------------

CUMPROD_EXACT_LIMIT = 1 << 16  # largest x.size * n for the zero-safe O(n^2) derivative


def _cumprod_jvp(ts, x, out, nb, axis):
    """d out_i = sum_{j<=i} t_j prod_{k<=i, k!=j} x_k.

    Small arrays: the products are written without division as
    E_j * C[j, i] with E_j = prod_{k<j} x_k and C[j, i] = prod_{j<k<=i} x_k (a
    cumprod of a masked n x n array), exact at zeros to every order. Large
    arrays: the O(n) form out_i * cumsum(t / x)_i, made exact at zeros to first
    order by treating the first zero separately.
    """
    t = ts[0]
    if t is None or out.size == 0:  # an empty output has an empty (symbolically zero) tangent
        return None
    n = x.shape[axis]
    rest = tuple(i for i in range(x.ndim) if i != axis)
    perm = rest + (axis,)
    inv = tuple(int(i) for i in np.argsort(perm))
    xm = apply("transpose", x, perm=perm)
    om = apply("transpose", out, perm=perm)
    tm = apply("transpose", t, perm=tuple(range(nb)) + shift_axes(perm, nb))
    lead = xm.shape[:-1]
    last = xm.ndim - 1
    if x.size * n <= CUMPROD_EXACT_LIMIT:
        one = apply("broadcast_to", const(np.ones((), out.dtype)), shape=lead + (1,))
        before = apply("gather", om, index=tuple(("s", 0, d, 1) for d in lead) + (("s", 0, n - 1, 1),))
        excl = apply("concatenate", one, before, axis=last)  # E_j
        jj, ii = np.indices((n, n))
        spread = apply("reshape", xm, shape=lead + (1, n))
        c = apply("cumprod", apply("where", const(ii > jj), spread, 1.0), axis=last + 1)  # C[j, i]
        w = ops.mul(apply("where", const(ii >= jj), c, 0.0), apply("reshape", excl, shape=lead + (n, 1)))
        letters = "abcdefghijklmnopqrstuvwxyz"
        b, l = letters[:nb], letters[nb: nb + len(lead)]
        j, i = letters[nb + len(lead)], letters[nb + len(lead) + 1]
        d = apply("einsum", tm, w, spec=f"{b}{l}{j},{l}{j}{i}->{b}{l}{i}")
    else:
        zero = ops.equal(xm, 0.0)
        nz = apply("cumsum", apply("convert", zero, dtype=np.dtype(np.intp)), axis=last)  # zeros so far
        y = ops.where(zero, 1.0, xm)
        general = ops.mul(om, apply("cumsum", ops.div(tm, y), axis=last + nb))
        at_zero = ops.mul(apply("cumprod", y, axis=last), apply("cumsum", ops.where(zero, tm, 0.0), axis=last + nb))
        d = ops.where(ops.equal(nz, 0), general, ops.where(ops.equal(nz, 1), at_zero, 0.0))
    return apply("transpose", d, perm=tuple(range(nb)) + shift_axes(inv, nb))


register(Primitive("cumprod", lambda x, axis: (x.shape, np.cumprod(np.ones(1, x.dtype)).dtype),
                   lambda x, axis: np.cumprod(x, axis=axis),
                   lambda names, node: f"np.cumprod({names[0]}, axis={node.p['axis']})", jvp=_cumprod_jvp,
                   owns=False, elementwise=False, sparsity=PREFIX, scalar=NOT_SCALAR))
