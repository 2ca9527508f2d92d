"""Every scipy.stats univariate distribution from its own formula: the public methods of
``rv_continuous`` (pdf, logpdf, cdf, logcdf, sf, logsf, ppf, isf) and ``rv_discrete`` (pmf, logpmf,
cdf, logcdf, sf, logsf) with traced arguments.

SciPy's public methods convert their arguments (``np.asarray``, ``place``, ``argsreduce``), which a
traced value cannot pass through; its private per-distribution formulas (``_logpdf``, ``_cdf``,
``_ppf``...) are plain NumPy and scipy.special code. While tracing, the public methods of the two base
classes are patched (``stats_patch`` on ``LazyTarget``s, so only once the user imported scipy.stats)
with this module's version of SciPy's bookkeeping, which calls the private formula on the traced
values: standardise ``(x - loc) / scale``, evaluate the formula at points inside the support (a safe
interior point elsewhere), and place SciPy's values outside the support (0, 1, -inf, the support's
ends) and nan where SciPy's argument check fails or x is nan, with ``np.where`` so shapes stay static.
The distributions handled in ``stats.py`` (norm, gamma, beta, t, poisson...) keep their own patches,
which take precedence on their classes.

A formula that does not trace (SciPy's numerical integration or root finding, ``np.vectorize``,
conversions inside it) gives an ``UnsupportedOperationError`` naming the distribution and method; a
derivative a formula has no rule for is refused by the primitive, naming the function. The discrete
count ``k`` and ``loc`` of a discrete distribution are refused as derivative directions by name.
``tests/test_scipy_stats_discrete.py`` checks values and derivatives of every distribution SciPy
lists, and ``docs/scipy-support.md`` is written from that enumeration.
"""
from __future__ import annotations

import numpy as np

from ..errors import TracingError, UnsupportedOperationError
from ..tracing.tracer import converting_in, is_traced
from .stats import FALLBACK, LazyTarget, _as_float64, _dist_params, _wrap, no_derivative, stats_patch

# the modules of SciPy's formulas: their np.asarray / np.zeros keep traced values traced while one runs
_SCIPY_STATS = ("scipy.stats._continuous_distns", "scipy.stats._discrete_distns", "scipy.stats._distn_infrastructure",
                "scipy._lib._util")
CONTINUOUS = ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf")
DISCRETE = ("pmf", "logpmf", "cdf", "logcdf", "sf", "logsf")


def _call(dist, method, private, *args):
    """Return dist.<private>(*args), a formula that cannot trace refused by name."""
    try:
        with converting_in(*_SCIPY_STATS):
            return getattr(dist, private)(*args)
    except (TracingError, UnsupportedOperationError, TypeError, AttributeError, ValueError, IndexError) as e:
        first = str(e).split("\n", 1)[0]
        raise UnsupportedOperationError(
            f"npdiff cannot trace scipy.stats.{dist.name}.{method}: SciPy computes it with code that does not "
            f"trace ({private}: {type(e).__name__}: {first}). Differentiate a formula written with NumPy, or "
            f"keep its arguments constant.") from None


def _default_argcheck(shapes):
    ok = True
    for s in shapes:
        ok = np.logical_and(ok, np.asarray(s) > 0) if not is_traced(s) else np.logical_and(ok, s > 0)
    return ok


def _argcheck(dist, method, shapes):
    """Return SciPy's argument check of the shapes (traced where they are)."""
    if not is_traced(shapes):
        return dist._argcheck(*[np.asarray(s) for s in shapes])
    base = type(dist).__mro__
    own = next((c for c in base if "_argcheck" in vars(c)), None)
    if own is not None and own.__module__.endswith("_distn_infrastructure"):
        return _default_argcheck(shapes)  # SciPy's default: every shape parameter positive
    return _call(dist, method, "_argcheck", *shapes)


def _support(dist, method, shapes):
    if not is_traced(shapes):
        return dist._get_support(*[np.asarray(s) for s in shapes])
    return _call(dist, method, "_get_support", *shapes)


def _interior(a, b):
    """Return a point inside (a, b) for each element (a, b may be infinite)."""
    fa, fb = np.isfinite(a), np.isfinite(b)
    aa, bb = np.where(fa, a, 0.0), np.where(fb, b, 0.0)
    return np.where(fa & fb, 0.5 * (aa + bb), np.where(fa, aa + 1.0, np.where(fb, bb - 1.0, 0.0)))


# parameters SciPy lists as integer-valued but accepts (and models use) as real numbers: nbinom's n is the
# 1/alpha of negative binomial regression (its _argcheck is n > 0)
REAL_VALUED = {"nbinom": {"n"}}


def _shapes_like(dist, method, shapes):
    """Return the shapes as SciPy reads them; an integer-valued one (binom's n) refuses a derivative by name."""
    try:
        info = dist._shape_info()
    except (AttributeError, NotImplementedError):
        info = []
    integral = {i.name for i in info if getattr(i, "integrality", False)} - REAL_VALUED.get(dist.name, set())
    names = [n.strip() for n in dist.shapes.split(",")] if dist.shapes else []
    out = []
    for n, s in zip(names, shapes):
        if not is_traced(s):
            out.append(np.asarray(s))
        elif n in integral:
            out.append(no_derivative(s, f"scipy.stats.{dist.name}.{method} is not differentiable in {n!r} (an "
                                        f"integer-valued parameter); keep {n} a constant"))
        else:
            out.append(s)
    return out


def _safe_shapes(shapes, cond0):
    """Return the shapes with 1.0 where SciPy's argument check fails (those results are nan anyway)."""
    if not is_traced(cond0) and np.all(cond0):
        return shapes
    return [np.where(cond0, s, 1.0) for s in shapes]


# method -> (private formula, open support?, value outside, (which end, value there) or None, apply scale)
_CONT = {
    "pdf": ("_pdf", False, 0.0, None),
    "logpdf": ("_logpdf", False, -np.inf, None),
    "cdf": ("_cdf", True, 0.0, ("b", 1.0)),
    "logcdf": ("_logcdf", True, -np.inf, ("b", 0.0)),
    "sf": ("_sf", True, 0.0, ("a", 1.0)),
    "logsf": ("_logsf", True, -np.inf, ("a", 0.0)),
}


# formulas whose reverse-mode derivative is nan at ordinary points (SciPy evaluates both sides of a
# selection, and the side not taken has a nan derivative there): refused rather than returned
NAN_DERIVATIVE = {"dgamma": ("cdf", "logcdf", "sf", "logsf", "ppf", "isf"),
                  "genextreme": ("cdf", "logcdf", "sf", "logsf", "ppf", "isf")}


def _continuous(method):
    def fn(self, x, *args, **kwargs):
        if method in NAN_DERIVATIVE.get(self.name, ()):
            raise UnsupportedOperationError(
                f"npdiff does not differentiate scipy.stats.{self.name}.{method}: SciPy's formula evaluates both "
                f"sides of a selection and the side not taken has a nan derivative; write the formula with "
                f"np.where on safe arguments, or use {self.name}.pdf/logpdf")
        shapes, loc, scale = _dist_params(self, args, kwargs, method)
        shapes = _shapes_like(self, method, shapes)
        cond0 = np.logical_and(_argcheck(self, method, shapes), scale > 0)
        a, b = _support(self, method, shapes)
        if method in ("ppf", "isf"):
            return _wrap(_quantile(self, method, _as_float64(x), shapes, loc, scale, cond0, a, b))
        private, open_, outside, end = _CONT[method]
        z = (_as_float64(x) - loc) / scale
        inside = (a < z) & (z < b) if open_ else (a <= z) & (z <= b)
        cond = np.logical_and(cond0, inside)
        zs = np.where(cond, z, _interior(a, b))
        safe_shapes = _safe_shapes(shapes, cond0)
        val = _call(self, method, private, zs, *safe_shapes)
        if method == "pdf":
            val = val / scale
        elif method == "logpdf":
            val = val - np.log(scale)
        bad = np.logical_or(np.logical_not(cond0), np.isnan(z))
        rest = np.where(bad, np.nan, outside)
        if end is not None:
            at_end = (z >= b) if end[0] == "b" else (z <= a)
            rest = np.where(np.logical_and(cond0, at_end), end[1], rest)
        return _wrap(np.where(cond, val, rest))
    return fn


def _quantile(dist, method, q, shapes, loc, scale, cond0, a, b):
    cond0 = np.logical_and(cond0, loc == loc)
    cond = np.logical_and(cond0, (0 < q) & (q < 1))
    qs = np.where(cond, q, 0.5)
    safe_shapes = _safe_shapes(shapes, cond0)
    val = _call(dist, method, "_" + method, qs, *safe_shapes) * scale + loc
    lo, hi = (a, b) if method == "ppf" else (b, a)
    rest = np.where(np.logical_and(cond0, q == 0), _end(lo, scale, loc),
                    np.where(np.logical_and(cond0, q == 1), _end(hi, scale, loc), np.nan))
    return np.where(cond, val, rest)


def _end(e, scale, loc):
    """Return e * scale + loc, e itself where infinite (no inf * 0 in the derivative)."""
    fin = np.isfinite(e)
    return np.where(fin, np.where(fin, e, 0.0) * scale + loc, e)


_DISC = {
    "pmf": ("_pmf", 0.0, None),
    "logpmf": ("_logpmf", -np.inf, None),
    "cdf": ("_cdf", 0.0, ("b", 1.0)),
    "logcdf": ("_logcdf", -np.inf, ("b", 0.0)),
    "sf": ("_sf", 0.0, ("a", 1.0)),
    "logsf": ("_logsf", -np.inf, ("a", 0.0)),
}


def _discrete(method):
    private, outside, end = _DISC[method]

    def fn(self, k, *args, **kwargs):
        shapes, loc, _ = _dist_params(self, args, kwargs, method, scale=False)
        shapes = _shapes_like(self, method, shapes)
        msg = (f"scipy.stats.{self.name}.{method} is not differentiable in {{!r}} (the count k is discrete); "
               f"differentiate in its shape parameters, with {{}} a constant")
        kk = no_derivative(_as_float64(k), msg.format("k", "k")) - no_derivative(loc, msg.format("loc", "loc"))
        cond0 = _argcheck(self, method, shapes)
        a, b = _support(self, method, shapes)
        if method in ("pmf", "logpmf"):
            inside = (kk >= a) & (kk <= b) & (np.floor(kk) == kk)
        else:
            inside = (kk >= a) & (kk < b) & np.isfinite(kk)
        cond = np.logical_and(cond0, inside)
        ks = np.where(cond, kk, np.where(np.isfinite(a), a, np.where(np.isfinite(b), b - 1.0, 0.0)))
        safe_shapes = _safe_shapes(shapes, cond0)
        val = _call(self, method, private, ks, *safe_shapes)
        if method == "pmf":
            val = np.clip(val, 0.0, 1.0)
        bad = np.logical_or(np.logical_not(cond0), np.isnan(kk))
        rest = np.full(np.shape(kk), outside) if not is_traced(kk) else kk * 0.0 + outside
        if end is not None:
            at_end = (kk >= b) if end[0] == "b" else (kk < a)
            rest = np.where(np.logical_and(cond0, at_end), end[1], rest)
        rest = np.where(bad, np.nan, rest)
        return _wrap(np.where(cond, val, rest))
    return fn


def _register():
    def base(qual):
        return LazyTarget("scipy.stats", lambda st: getattr(st, qual), f"scipy.stats.{qual}")

    cont, disc = base("rv_continuous"), base("rv_discrete")
    for method in CONTINUOUS:
        FALLBACK[method] = _continuous(method)
        stats_patch(cont, method, FALLBACK[method])
    for method in DISCRETE:
        stats_patch(disc, method, _discrete(method))


_register()
