"""scipy.stats distributions while tracing: univariate log-densities, cdfs and the Poisson pmf.

The methods of scipy.stats distributions do not dispatch (they convert their
arguments with ``np.asarray``), so the methods npdiff knows are patched on the
distribution classes while tracing (``EXTRA_PATCHES``) and call SciPy's original
when no argument is traced. They are patched only when scipy.stats has been
imported before npdiff starts tracing (npdiff never imports it itself: that costs
about a second). Frozen distributions (``scipy.stats.gamma(2.0).cdf(x)``) call the
class's method, so they trace too. Multivariate distributions are in ``stats_mv.py``.

Arguments a method is not differentiable in (a count ``k``; a shape parameter of a
cdf whose derivative has no closed form, such as ``a`` of ``gamma.cdf``) pass
through the ``no_derivative`` primitive: a derivative in them is refused by name.

A method bound before tracing (``logpdf = scipy.stats.norm.logpdf`` at module top,
``npdiff.grad(frozen.logpdf)``) is SciPy's own function, which the class's patch does
not reach: in the traced function's globals and closure, and as the traced function
itself, it is rebound to the patch (``ALIAS_HOOKS``). Elsewhere (an attribute of some
object, a list) it still runs SciPy's code, which refuses traced values.
"""
from __future__ import annotations

import math
import sys
import types

import numpy as np

from ..errors import UnsupportedOperationError
from ..primitives import apply
from ..primitives.special import LOG_SQRT_2PI
from ..tracing.tracer import ALIAS_HOOKS, EXTRA_PATCHES, UFUNCS, Tracer, is_traced
from ._common import N, W
from .ufuncs import _ufunc_lowering

try:
    import scipy.special as sc
except ImportError:  # pragma: no cover - SciPy is optional
    sc = None


class LazyTarget:
    """Stands for a scipy.stats class in EXTRA_PATCHES without importing scipy.stats.

    The target is patched only if the user's code has already imported
    scipy.stats (importing it costs about a second); attributes that the class
    inherits are deleted again on restore instead of being copied onto it.
    """

    def __init__(self, module, resolve, qualname):
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_resolve", resolve)
        object.__setattr__(self, "npdiff_qualname", qualname)
        object.__setattr__(self, "_added", set())
        object.__setattr__(self, "_originals", {})

    def target(self):
        mod = sys.modules.get(self._module)
        if mod is None:
            return None
        try:
            return self._resolve(mod)
        except (AttributeError, ImportError):
            return None

    def __getattr__(self, name):
        t = self.target()
        if t is None:
            raise AttributeError(name)
        return getattr(t, name)

    def __setattr__(self, name, value):
        t = self.target()
        if t is None:
            return
        if getattr(value, "_npdiff_patch", False):
            self._originals[name] = getattr(t, name)
            if name not in vars(t):
                self._added.add(name)
        elif name in self._added:  # restoring an inherited method: remove the patch
            self._added.discard(name)
            delattr(t, name)
            if getattr(t, name, None) is value:
                return
        setattr(t, name, value)

    def original(self, name):
        """Return the method the patch replaced."""
        return self._originals[name]


def stats_patch(target, name, replacement):
    """Intercept the method target.name while tracing; SciPy's runs when nothing is traced."""
    def fn(self, *args, **kwargs):
        if not is_traced(args) and not is_traced(tuple(kwargs.values())):
            return target.original(name)(self, *args, **kwargs)
        return replacement(self, *args, **kwargs)
    fn.__name__ = name
    fn._npdiff_patch = True
    fn._npdiff_target = (target, name)
    EXTRA_PATCHES.append((target, name, fn))


def _bound_method_alias(value):
    """Return SciPy's method bound before tracing (``logpdf = scipy.stats.norm.logpdf``) rebound to its patch.

    A bound method keeps the function it was made from, so the class's patch does not reach it;
    in the traced function's globals and closure (and as the traced function itself) it is swapped.
    """
    if not isinstance(value, types.MethodType) or isinstance(value.__self__, type):
        return None
    patched = getattr(type(value.__self__), value.__func__.__name__, None)
    hit = getattr(patched, "_npdiff_target", None)
    if hit is None or not getattr(patched, "_npdiff_patch", False):
        return None
    target, name = hit
    try:
        original = target.original(name)
    except KeyError:
        return None
    return types.MethodType(patched, value.__self__) if original is value.__func__ else None


ALIAS_HOOKS.append(_bound_method_alias)


def no_derivative(x, what: str):
    """Return x, refusing (UnsupportedOperationError ``what``) any derivative that reaches it."""
    if not is_traced(x):
        return x
    return W(apply("no_derivative", N(x), what=what))


def _dist_params(dist, args, kwargs, method, scale=True):
    names = [s.strip() for s in dist.shapes.split(",")] if dist.shapes else []
    names += ["loc", "scale"] if scale else ["loc"]
    if len(args) > len(names):
        raise TypeError(f"{dist.name}.{method}() got too many arguments")
    vals = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            raise UnsupportedOperationError(f"npdiff does not support the argument {k!r} of "
                                            f"scipy.stats.{dist.name}.{method}")
        vals[k] = v
    nshapes = len(names) - (2 if scale else 1)
    missing = [n for n in names[:nshapes] if n not in vals]
    if missing:
        raise TypeError(f"{dist.name}.{method}() missing shape parameters {missing}")
    return [_param(vals[n]) for n in names[:nshapes]], _param(vals.get("loc", 0.0)), _param(vals.get("scale", 1.0))


def _param(v):
    """Return a parameter given as a list or tuple (of numbers or traced values) as an array, as SciPy reads it."""
    if isinstance(v, (list, tuple)):
        return W(N(v)) if is_traced(v) else np.asarray(v)
    return v


def _inside(z, lo=None, hi=None, closed=False):
    conds = []
    if lo is not None:
        conds.append(z >= lo if closed else z > lo)
    if hi is not None:
        conds.append(z <= hi if closed else z < hi)
    return conds[0] if len(conds) == 1 else np.logical_and(*conds)


def _supported(z, ok, safe, f, outside=-np.inf):
    """Return f(z) where ok else ``outside`` (nan where z is nan, as SciPy), f evaluated at a safe point outside."""
    return np.where(ok, f(np.where(ok, z, safe)), np.where(np.isnan(z), np.nan, outside))


def _wrap(out):
    return out if isinstance(out, Tracer) else W(N(out))


# SciPy's argument checks (``_argcheck`` and scale > 0): its methods return nan where they fail
ARGCHECK = {
    "gamma": lambda a: a > 0,
    "chi2": lambda df: df > 0,
    "beta": lambda a, b: np.logical_and(a > 0, b > 0),
    "t": lambda df: df > 0,
    "lognorm": lambda s: s > 0,
}


def _as_float64(x):
    """Return x in SciPy's working dtype for it: its dtype promoted with float64 (float32 data gives float64)."""
    if not is_traced(x):
        a = np.asarray(x)
        return a.astype(np.promote_types(a.dtype, np.float64)) if a.dtype.kind in "biuf" else x
    n = N(x)
    dt = np.promote_types(n.dtype, np.float64)
    return x if n.dtype == dt and isinstance(x, Tracer) else W(n if n.dtype == dt else apply("convert", n, dtype=dt))


def _nan_unless_valid(dist, shapes, scale, out):
    """Return out, nan where SciPy's argument check fails (scale <= 0, a shape parameter outside its domain)."""
    valid = scale > 0
    check = ARGCHECK.get(dist.name)
    if check is not None:
        valid = np.logical_and(valid, check(*shapes))
    if not is_traced(valid) and np.all(valid):
        return out
    return np.where(valid, out, np.nan)


# -- log-densities ---------------------------------------------------------------------------

def _logistic_logpdf(z):
    """log of the logistic density, each side in its own stable form (-inf, not nan, at z = -inf)."""
    neg = z < 0
    zn, zp = np.where(neg, z, 0.0), np.where(neg, 0.0, z)
    return np.where(neg, zn - 2.0 * np.logaddexp(0.0, zn), -zp - 2.0 * np.logaddexp(0.0, -zp))


def _t_logpdf(z, df):
    """Student's t log-density; the normal one where df is infinite (as SciPy)."""
    inf = np.isinf(df)
    if not is_traced(inf) and not np.any(inf):
        d = df
    else:
        d = np.where(inf, 1.0, df)
    out = (sc.gammaln(0.5 * (d + 1.0)) - sc.gammaln(0.5 * d) - 0.5 * np.log(d * math.pi)
           - 0.5 * (d + 1.0) * np.log1p(z * z / d))
    if d is df:
        return out
    return np.where(inf, -0.5 * z * z - LOG_SQRT_2PI, out)


def _gamma_logpdf(z, a):
    return _supported(z, _inside(z, 0.0, closed=True), 1.0, lambda z: sc.xlogy(a - 1.0, z) - z - sc.gammaln(a))


# standardised log-densities: logpdf(x) = LOGPDF[name]((x - loc) / scale, *shapes) - log(scale)
LOGPDF = {
    "norm": lambda z: -0.5 * z * z - LOG_SQRT_2PI,
    "expon": lambda z: _supported(z, _inside(z, 0.0, closed=True), 1.0, lambda z: -z),
    "laplace": lambda z: -np.abs(z) - math.log(2.0),
    "logistic": lambda z: _logistic_logpdf(z),
    "cauchy": lambda z: -np.log1p(z * z) - math.log(math.pi),
    "gamma": _gamma_logpdf,
    "chi2": lambda z, df: _supported(z, _inside(z, 0.0, closed=True), 1.0, lambda z: sc.xlogy(0.5 * df - 1.0, z) - 0.5 * z
                                     - sc.gammaln(0.5 * df) - (0.5 * math.log(2.0)) * df),
    "beta": lambda z, a, b: _supported(z, _inside(z, 0.0, 1.0, closed=True), 0.5,
                                       lambda z: sc.xlogy(a - 1.0, z) + sc.xlog1py(b - 1.0, -z) - sc.betaln(a, b)),
    "t": lambda z, df: _t_logpdf(z, df),
    "lognorm": lambda z, s: _supported(z, _inside(z, 0.0), 1.0, lambda z: -np.log(s * z) - LOG_SQRT_2PI
                                       - np.log(z) ** 2 / (2.0 * s * s)),
    "uniform": lambda z: _supported(z, _inside(z, 0.0, 1.0, closed=True), 0.5, lambda z: 0.0 * z),
}


# the generic version of each method (stats_generic.py), for subclasses of the classes patched here that are
# other distributions (erlang is a gamma_gen): their formulas are not in the tables above
FALLBACK: dict = {}


def _logpdf(self, x, *args, **kwargs):
    if self.name not in LOGPDF:
        return FALLBACK["logpdf"](self, x, *args, **kwargs)
    shapes, loc, scale = _dist_params(self, args, kwargs, "logpdf")
    z = (_as_float64(x) - loc) / scale
    return _wrap(_nan_unless_valid(self, shapes, scale, LOGPDF[self.name](z, *shapes) - np.log(scale)))


def _pdf(self, x, *args, **kwargs):
    if self.name not in LOGPDF:
        return FALLBACK["pdf"](self, x, *args, **kwargs)
    return np.exp(_logpdf(self, x, *args, **kwargs))


# -- cumulative distribution functions -------------------------------------------------------
# CDF[name] = (cdf, sf, logcdf, logsf) of the standardised z and the shapes, as SciPy computes them
# (each zero/one/-inf outside the support); logcdf and logsf are None where SciPy's generic ones
# apply: log(cdf) below the median and log1p(-sf) above it (and the mirror image for logsf).

def _positive(f, outside):
    return lambda z, *shapes: _supported(z, z > 0, 1.0, lambda z: f(z, *shapes), outside)


def _laplace_cdf(z):
    e = 0.5 * np.exp(-np.abs(z))
    return np.where(z > 0, 1.0 - e, e)


def _uniform_cdf(z):
    return np.where(z >= 1.0, 1.0, np.where(z > 0.0, z, np.where(np.isnan(z), np.nan, 0.0)))


CDF = {
    "gamma": (_positive(lambda z, a: sc.gammainc(a, z), 0.0), _positive(lambda z, a: sc.gammaincc(a, z), 1.0),
              None, None),
    "chi2": (_positive(lambda z, df: sc.gammainc(0.5 * df, 0.5 * z), 0.0),
             _positive(lambda z, df: sc.gammaincc(0.5 * df, 0.5 * z), 1.0), None, None),
    "beta": (lambda z, a, b: np.where(z >= 1.0, 1.0, _supported(z, _inside(z, 0.0, 1.0), 0.5,
                                                                lambda z: sc.betainc(a, b, z), 0.0)),
             lambda z, a, b: np.where(z <= 0.0, 1.0, _supported(z, _inside(z, 0.0, 1.0), 0.5,
                                                                lambda z: sc.betaincc(a, b, z), 0.0)), None, None),
    "t": (lambda z, df: sc.stdtr(df, z), lambda z, df: sc.stdtr(df, -z), None, None),
    "expon": (_positive(lambda z: -np.expm1(-z), 0.0), _positive(lambda z: np.exp(-z), 1.0), None,
              _positive(lambda z: -z, 0.0)),
    "logistic": (lambda z: sc.expit(z), lambda z: sc.expit(-z), lambda z: sc.log_expit(z),
                 lambda z: sc.log_expit(-z)),
    "cauchy": (lambda z: np.arctan2(1.0, -z) / math.pi, lambda z: np.arctan2(1.0, z) / math.pi, None, None),
    "laplace": (_laplace_cdf, lambda z: _laplace_cdf(-z), None, None),
    "lognorm": (_positive(lambda z, s: sc.ndtr(np.log(z) / s), 0.0), _positive(lambda z, s: sc.ndtr(-np.log(z) / s), 1.0),
                _positive(lambda z, s: sc.log_ndtr(np.log(z) / s), -np.inf),
                _positive(lambda z, s: sc.log_ndtr(-np.log(z) / s), 0.0)),
    "uniform": (_uniform_cdf, lambda z: 1.0 - _uniform_cdf(z), None, None),
}
# shape parameters a cdf has no closed-form derivative in (regularised incomplete gamma and beta functions)
NO_SHAPE_DERIVATIVE = {"gamma", "chi2", "beta", "t"}
CDF_METHODS = ("cdf", "sf", "logcdf", "logsf")


def _cdf_method(method):
    which = CDF_METHODS.index(method)

    def fn(self, x, *args, **kwargs):
        if self.name not in CDF:
            return FALLBACK[method](self, x, *args, **kwargs)
        shapes, loc, scale = _dist_params(self, args, kwargs, method)
        if self.name in NO_SHAPE_DERIVATIVE:
            names = [s.strip() for s in self.shapes.split(",")]
            shapes = [no_derivative(p, f"npdiff has no derivative of scipy.stats.{self.name}.{method} in its "
                                       f"shape parameter {n!r} (it has no closed form); differentiate in x, loc "
                                       f"or scale, with {n} a constant") for p, n in zip(shapes, names)]
        z = (_as_float64(x) - loc) / scale
        rules = CDF[self.name]
        out = rules[which](z, *shapes) if rules[which] is not None else _log_tail(self, rules, which - 2, z, shapes)
        return _wrap(_nan_unless_valid(self, shapes, scale, out))
    return fn


# medians of the standardised distributions, for traced shape parameters (constant ones ask SciPy)
MEDIAN = {
    "gamma": lambda a: sc.gammaincinv(a, 0.5),
    "chi2": lambda df: 2.0 * sc.gammaincinv(0.5 * df, 0.5),
    "beta": lambda a, b: sc.betaincinv(a, b, 0.5),
    "t": lambda df: 0.0 * df,
}


def _log_tail(dist, rules, which, z, shapes):
    """Return SciPy's log cdf (which=0) or log sf (which=1): the log of the function on its side of the
    median, log1p(-other) on the far side; each branch is evaluated at a point on its own side."""
    if is_traced(shapes):
        median = MEDIAN[dist.name](*shapes)
        median = W(apply("stop_gradient", N(median))) if is_traced(median) else median
    else:
        median = dist.ppf(0.5, *shapes)  # standardised: loc 0, scale 1
    near = z < median if which == 0 else z > median
    here, far = np.where(near, z, median), np.where(near, median, z)
    return np.where(near, np.log(rules[which](here, *shapes)), np.log1p(-rules[1 - which](far, *shapes)))


def _norm_method(method, f):
    """Return scipy.stats.norm.<method> as f(x, loc, scale), nan where scale <= 0 (as SciPy)."""
    def fn(self, x, *args, **kwargs):
        _, loc, scale = _dist_params(self, args, kwargs, method)
        return _wrap(_nan_unless_valid(self, (), scale, f(_as_float64(x), loc, scale)))
    return fn


NORM_EXTRA = {
    "cdf": _norm_method("cdf", lambda x, loc, scale: sc.ndtr((x - loc) / scale)),
    "logcdf": _norm_method("logcdf", lambda x, loc, scale: sc.log_ndtr((x - loc) / scale)),
    "sf": _norm_method("sf", lambda x, loc, scale: sc.ndtr(-((x - loc) / scale))),
    "logsf": _norm_method("logsf", lambda x, loc, scale: sc.log_ndtr(-((x - loc) / scale))),
    "ppf": _norm_method("ppf", lambda q, loc, scale: loc + scale * sc.ndtri(q)),
    "isf": _norm_method("isf", lambda q, loc, scale: loc + scale * -sc.ndtri(q)),
}


# -- Poisson -------------------------------------------------------------------------------------

def _poisson_args(self, k, args, kwargs, method):
    """Return (k - loc, mu, bad): the count refused as a derivative direction, and where SciPy gives nan."""
    (mu,), loc, _ = _dist_params(self, args, kwargs, method, scale=False)
    msg = (f"scipy.stats.poisson.{method} is not differentiable in {{!r}} (the count k is discrete); "
           f"differentiate in mu, with {{}} a constant")
    kk = no_derivative(_as_float64(k), msg.format("k", "k")) - no_derivative(loc, msg.format("loc", "loc"))
    return kk, mu, np.logical_or(np.isnan(kk), np.logical_not(mu >= 0))


def _poisson_logpmf(self, k, *args, method="logpmf", **kwargs):
    kk, mu, bad = _poisson_args(self, k, args, kwargs, method)
    ok = np.logical_and(kk >= 0, np.floor(kk) == kk)
    out = _supported(kk, ok, 0.0, lambda k: sc.xlogy(k, mu) - sc.gammaln(k + 1.0) - mu)
    return _wrap(np.where(bad, np.nan, out))


def _poisson_pmf(self, k, *args, **kwargs):
    return np.exp(_poisson_logpmf(self, k, *args, method="pmf", **kwargs))


def _poisson_cdf_method(method):
    sf = method in ("sf", "logsf")

    def fn(self, k, *args, **kwargs):
        kk, mu, bad = _poisson_args(self, k, args, kwargs, method)
        ok = np.logical_and(kk >= 0, np.isfinite(kk))
        # pdtr(k, mu) = gammaincc(floor(k) + 1, mu), pdtrc(k, mu) = gammainc(floor(k) + 1, mu)
        inc = sc.gammainc if sf else sc.gammaincc
        outside = np.where(kk < 0, 1.0, 0.0) if sf else np.where(kk > 0, 1.0, 0.0)
        out = np.where(bad, np.nan, _supported(kk, ok, 0.0, lambda k: inc(np.floor(k) + 1.0, mu), outside))
        return _wrap(np.log(out) if method.startswith("log") else out)
    return fn


def _register():
    def dist(name):
        return LazyTarget("scipy.stats", lambda st: type(getattr(st, name)), f"scipy.stats.{name}")

    for name in LOGPDF:
        target = dist(name)
        stats_patch(target, "logpdf", _logpdf)
        stats_patch(target, "pdf", _pdf)
        if name == "norm":
            for method, fn in NORM_EXTRA.items():
                stats_patch(target, method, fn)
        if name in CDF:
            for method in CDF_METHODS:
                stats_patch(target, method, _cdf_method(method))
    poisson = dist("poisson")
    stats_patch(poisson, "logpmf", _poisson_logpmf)
    stats_patch(poisson, "pmf", _poisson_pmf)
    for method in ("cdf", "logcdf", "sf", "logsf"):
        stats_patch(poisson, method, _poisson_cdf_method(method))


if sc is not None:
    _register()
    UFUNCS[sc.betaincinv] = _ufunc_lowering("betaincinv", sc.betaincinv)
