"""scipy.special functions that models call and scipy.stats' formulas use: the Hurwitz and
Riemann zeta functions, hyp1f1, hyp2f1, wright_bessel, log_wright_bessel (``primitives/special_hyper.py``),
and SciPy's private binomial and negative binomial cdf/sf ufuncs (``scipy.special._ufuncs._binom_cdf``
... behind ``binom.cdf`` and ``nbinom.cdf``) written as regularised incomplete beta functions:

- binom: P(X <= k) = I_{1-p}(n - k, k + 1) for 0 <= k < n (1 for k >= n, 0 for k < 0); sf = 1 - cdf.
- nbinom: P(X <= k) = I_p(n, k + 1) for k >= 0 (0 below); sf = I_{1-p}(k + 1, n).

Their derivative is taken in p; n (and the count k) are refused by name.
"""
from __future__ import annotations

import numpy as np

from ..primitives import PRIMS, apply
from ..tracing.tracer import UFUNCS, declare
from ._common import N, W
from .ufuncs import _ufunc_lowering

try:
    import scipy.special as sc
    from scipy.special import _ufuncs as _scu
except ImportError:  # pragma: no cover - SciPy is optional
    sc = None


def _refuse_n(node, what):
    return apply("no_derivative", node, what=what) if node.op != "const" else node


def _binom(sf):
    def fn(k, n, p, **kwargs):
        k, n, p = (apply("convert", N(a), dtype=np.dtype(np.float64)) if N(a).dtype.kind != "f" else N(a)
                   for a in (k, n, p))
        name = "scipy.stats.binom." + ("sf" if sf else "cdf")
        k = _refuse_n(k, f"{name} is not differentiable in the count k (it is discrete); keep k a constant")
        n = _refuse_n(n, f"{name} is not differentiable in n (an integer-valued parameter); keep n a constant")
        k = apply("floor", k)
        inside = apply("logical_and", apply("greater_equal", k, 0.0), apply("less", k, n))
        ks = apply("where", inside, k, 0.0)
        ns = apply("where", inside, n, 1.0)
        if sf:  # P(X > k) = I_p(k + 1, n - k)
            val = apply("betainc", apply("add", ks, 1.0), apply("subtract", ns, ks), p)
            rest = apply("where", apply("less", k, 0.0), 1.0, 0.0)
        else:
            val = apply("betainc", apply("subtract", ns, ks), apply("add", ks, 1.0), apply("subtract", 1.0, p))
            rest = apply("where", apply("less", k, 0.0), 0.0, 1.0)
        bad = apply("logical_or", apply("logical_or", apply("less", p, 0.0), apply("greater", p, 1.0)),
                    apply("logical_or", apply("isnan", k), apply("less", n, 0.0)))
        return W(apply("where", bad, np.nan, apply("where", inside, val, rest)))
    return declare(fn, ())


def _nbinom(sf):
    def fn(k, n, p, **kwargs):
        k, n, p = (apply("convert", N(a), dtype=np.dtype(np.float64)) if N(a).dtype.kind != "f" else N(a)
                   for a in (k, n, p))
        name = "scipy.stats.nbinom." + ("sf" if sf else "cdf")
        k = _refuse_n(k, f"{name} is not differentiable in the count k (it is discrete); keep k a constant")
        n = _refuse_n(n, f"npdiff has no derivative of {name} in n (the incomplete beta function's derivative in "
                         f"its parameters has no closed form); keep n a constant, differentiate in p")
        k = apply("floor", k)
        inside = apply("greater_equal", k, 0.0)
        ks = apply("where", inside, k, 0.0)
        if sf:
            val = apply("betainc", apply("add", ks, 1.0), n, apply("subtract", 1.0, p))
            rest = 1.0
        else:
            val = apply("betainc", n, apply("add", ks, 1.0), p)
            rest = 0.0
        bad = apply("logical_or", apply("logical_or", apply("less_equal", p, 0.0), apply("greater", p, 1.0)),
                    apply("logical_or", apply("isnan", k), apply("less_equal", n, 0.0)))
        return W(apply("where", bad, np.nan, apply("where", inside, val, rest)))
    return declare(fn, ())


def _binom_pmf(k, n, p, **kwargs):
    """binom.pmf's helper: C(n, k) p^k (1 - p)^(n - k), 0 outside 0 <= k <= n (k and n without derivative)."""
    k, n, p = (apply("convert", N(a), dtype=np.dtype(np.float64)) if N(a).dtype.kind != "f" else N(a) for a in (k, n, p))
    k = _refuse_n(k, "scipy.stats.binom.pmf is not differentiable in the count k (it is discrete); keep k a constant")
    n = _refuse_n(n, "scipy.stats.binom.pmf is not differentiable in n (an integer-valued parameter); keep n a constant")
    inside = apply("logical_and", apply("greater_equal", k, 0.0), apply("less_equal", k, n))
    ks = apply("where", inside, k, 0.0)
    log = apply("subtract", apply("gammaln", apply("add", n, 1.0)),
                apply("add", apply("gammaln", apply("add", ks, 1.0)), apply("gammaln", apply("add", apply("subtract", n, ks), 1.0))))
    log = apply("add", log, apply("add", apply("xlogy", ks, p), apply("xlog1py", apply("subtract", n, ks), apply("negative", p))))
    return W(apply("where", inside, apply("exp", log), 0.0))


def _beta_ppf(q, a, b, **kwargs):
    """beta.ppf's helper: the inverse regularised incomplete beta function in q (derivative in q only)."""
    return W(apply("betaincinv", N(a), N(b), N(q)))


def _log1mexp(x, **kwargs):
    """log(1 - exp(x)) for x <= 0, each side in its accurate form (x > -log 2: log(-expm1 x))."""
    x = N(x)
    near = apply("greater", x, -np.log(2.0))
    xn = apply("where", near, x, -1.0)
    xf = apply("where", near, -1.0, x)
    return W(apply("where", near, apply("log", apply("negative", apply("expm1", xn))),
                   apply("log1p", apply("negative", apply("exp", xf)))))


if sc is not None:
    if hasattr(_scu, "_beta_ppf") and "betaincinv" in PRIMS:
        UFUNCS[_scu._beta_ppf] = declare(_beta_ppf, ())
    if hasattr(_scu, "_log1mexp"):
        UFUNCS[_scu._log1mexp] = declare(_log1mexp, ())
    if hasattr(_scu, "_binom_pmf"):
        UFUNCS[_scu._binom_pmf] = declare(_binom_pmf, ())
    UFUNCS[_scu._riemann_zeta] = declare(lambda x, **kw: W(apply("zeta", N(x), 1.0)), ())  # zeta(x) = zeta(x, 1)
    for _uf, _name in ((_scu._zeta, "zeta"), (sc.hyp1f1, "hyp1f1"),
                       (sc.hyp2f1, "hyp2f1"), (sc.wright_bessel, "wright_bessel"),
                       (sc.log_wright_bessel, "log_wright_bessel")):
        if _name in PRIMS:
            UFUNCS[_uf] = _ufunc_lowering(_name, _uf)
    for _attr, _fn in (("_binom_cdf", _binom(False)), ("_binom_sf", _binom(True)),
                       ("_nbinom_cdf", _nbinom(False)), ("_nbinom_sf", _nbinom(True))):
        if hasattr(_scu, _attr):
            UFUNCS[getattr(_scu, _attr)] = _fn
