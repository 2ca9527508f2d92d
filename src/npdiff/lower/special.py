"""scipy.special and scipy.stats while tracing.

SciPy's ufuncs (gammaln, erf, expit, xlogy...) dispatch through
``__array_ufunc__`` and are registered in ``UFUNCS``. Plain Python functions
(logsumexp, softmax, log_softmax, polygamma, multigammaln) and the log-density
methods of a few scipy.stats distributions do not dispatch: they are
intercepted while tracing (``EXTRA_PATCHES``) and call SciPy's original when
no argument is traced.

Interception replaces the module attribute (and aliases in the traced function's
globals and closure). A name bound earlier elsewhere (``from scipy.special import
logsumexp`` in a helper module) still refers to SciPy's own function, which traces
too: SciPy writes it on the array API, and while a trace runs its conversions
(``xp.asarray``, ``xp_promote``) keep traced values traced (``trace.scipy_converting``,
``Tracer.__array_namespace__``). The scipy.stats methods are patched
only when scipy.stats has been imported before npdiff starts tracing (npdiff
never imports it itself: that costs about a second).
"""
from __future__ import annotations

import importlib
import math
import sys

import numpy as np

from ..errors import TracingError, UnsupportedOperationError
from ..graph import const
from ..primitives import PRIMS, apply
from ..primitives.special import LOG_SQRT_2PI
from ..trace import EXTRA_PATCHES, UFUNCS, Tracer, declare, is_traced
from ._common import N, W, axes_of, kept_shape, to_float
from .ufuncs import _ufunc_lowering

try:
    import scipy.special as sc
except ImportError:  # pragma: no cover - SciPy is optional
    sc = None

# scipy.special ufuncs lowered onto the primitive of the same name
SPECIAL_UFUNCS = ["gammaln", "digamma", "gamma", "rgamma", "betaln", "beta", "gammainc", "gammaincc", "erf",
                  "erfc", "erfinv", "erfcinv", "erfcx", "dawsn", "ndtr", "log_ndtr", "ndtri", "expit", "logit",
                  "log_expit", "xlogy", "xlog1py", "entr", "rel_entr", "kl_div", "i0", "i1", "i0e", "i1e", "exp1",
                  "expi", "expn", "erfi", "cosm1", "poch", "powm1", "owens_t", "spence", "wrightomega", "huber",
                  "pseudo_huber", "j0", "j1", "y0", "y1", "k0", "k1", "k0e", "k1e", "jv", "yv", "iv", "kv", "ive",
                  "kve", "betainc", "betaincc", "gammaincinv", "gammainccinv", "stdtr"]
SPECIAL_UFUNCS += ["yn", "gammasgn", "jve", "yve"]  # Bessel Y of integer order; the sign of Gamma (zero derivative)
SAME_AS_NUMPY = ["expm1", "log1p", "cbrt", "exp2"]  # scipy.special versions of NumPy ufuncs

if sc is not None:
    for _name in SPECIAL_UFUNCS + SAME_AS_NUMPY:
        _uf = getattr(sc, _name, None)
        if isinstance(_uf, np.ufunc) and _name in PRIMS:
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
    if is_traced(n) and N(n).op != "const":
        raise UnsupportedOperationError("npdiff supports scipy.special.polygamma(n, x) with a constant order n")
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


# -- scipy.stats -----------------------------------------------------------------------------

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


def _stats_patch(target, name, replacement):
    def fn(self, *args, **kwargs):
        if not is_traced(args) and not is_traced(tuple(kwargs.values())):
            return target.original(name)(self, *args, **kwargs)
        return replacement(self, *args, **kwargs)
    fn.__name__ = name
    fn._npdiff_patch = True
    EXTRA_PATCHES.append((target, name, fn))


def _dist_params(dist, args, kwargs, method):
    names = [s.strip() for s in dist.shapes.split(",")] if dist.shapes else []
    names += ["loc", "scale"]
    if len(args) > len(names):
        raise TypeError(f"{dist.name}.{method}() got too many arguments")
    vals = dict(zip(names, args))
    for k, v in kwargs.items():
        if k not in names:
            raise UnsupportedOperationError(f"npdiff does not support the argument {k!r} of "
                                            f"scipy.stats.{dist.name}.{method}")
        vals[k] = v
    missing = [n for n in names[:-2] if n not in vals]
    if missing:
        raise TypeError(f"{dist.name}.{method}() missing shape parameters {missing}")
    return [vals[n] for n in names[:-2]], vals.get("loc", 0.0), vals.get("scale", 1.0)


def _inside(z, lo=None, hi=None, closed=False):
    conds = []
    if lo is not None:
        conds.append(z >= lo if closed else z > lo)
    if hi is not None:
        conds.append(z <= hi if closed else z < hi)
    return conds[0] if len(conds) == 1 else np.logical_and(*conds)


def _supported(z, ok, safe, f):
    """Return f(z) where ok else -inf, evaluating f at a safe point outside (no nan derivatives)."""
    return np.where(ok, f(np.where(ok, z, safe)), -np.inf)


# standardised log-densities: logpdf(x) = LOGPDF[name]((x - loc) / scale, *shapes) - log(scale)
LOGPDF = {
    "norm": lambda z: -0.5 * z * z - LOG_SQRT_2PI,
    "expon": lambda z: _supported(z, _inside(z, 0.0, closed=True), 1.0, lambda z: -z),
    "laplace": lambda z: -np.abs(z) - math.log(2.0),
    "logistic": lambda z: -z - 2.0 * np.logaddexp(0.0, -z),
    "cauchy": lambda z: -np.log1p(z * z) - math.log(math.pi),
    "gamma": lambda z, a: _supported(z, _inside(z, 0.0), 1.0,
                                     lambda z: sc.xlogy(a - 1.0, z) - z - sc.gammaln(a)),
    "beta": lambda z, a, b: _supported(z, _inside(z, 0.0, 1.0), 0.5,
                                       lambda z: sc.xlogy(a - 1.0, z) + sc.xlog1py(b - 1.0, -z) - sc.betaln(a, b)),
    "t": lambda z, df: (sc.gammaln(0.5 * (df + 1.0)) - sc.gammaln(0.5 * df) - 0.5 * np.log(df * math.pi)
                        - 0.5 * (df + 1.0) * np.log1p(z * z / df)),
    "lognorm": lambda z, s: _supported(z, _inside(z, 0.0), 1.0, lambda z: -np.log(s * z) - LOG_SQRT_2PI
                                       - np.log(z) ** 2 / (2.0 * s * s)),
    "uniform": lambda z: _supported(z, _inside(z, 0.0, 1.0, closed=True), 0.5, lambda z: 0.0 * z),
}


def _logpdf(self, x, *args, **kwargs):
    shapes, loc, scale = _dist_params(self, args, kwargs, "logpdf")
    z = (x - loc) / scale
    out = LOGPDF[self.name](z, *shapes) - np.log(scale)
    return out if isinstance(out, Tracer) else W(N(out))


def _pdf(self, x, *args, **kwargs):
    return np.exp(_logpdf(self, x, *args, **kwargs))


def _norm_z(self, x, args, kwargs, method):
    _, loc, scale = _dist_params(self, args, kwargs, method)
    return (x - loc) / scale


NORM_EXTRA = {
    "cdf": lambda self, x, *a, **k: sc.ndtr(_norm_z(self, x, a, k, "cdf")),
    "logcdf": lambda self, x, *a, **k: sc.log_ndtr(_norm_z(self, x, a, k, "logcdf")),
    "sf": lambda self, x, *a, **k: sc.ndtr(-_norm_z(self, x, a, k, "sf")),
    "logsf": lambda self, x, *a, **k: sc.log_ndtr(-_norm_z(self, x, a, k, "logsf")),
    "ppf": lambda self, q, *a, **k: _loc_scale(self, a, k, "ppf", sc.ndtri(q)),
    "isf": lambda self, q, *a, **k: _loc_scale(self, a, k, "isf", -sc.ndtri(q)),
}


def _loc_scale(self, args, kwargs, method, z):
    _, loc, scale = _dist_params(self, args, kwargs, method)
    return loc + scale * z


def _mvn_logpdf(x, mean=None, cov=1, allow_singular=False):
    """log N(x; mean, cov), following scipy's handling of shapes (and squeezing the result)."""
    cn = N(cov)
    if mean is None:
        dim = 1 if cn.ndim < 2 else cn.shape[0]
        mn = const(np.zeros(dim))
    else:
        mn = N(mean)
        dim = mn.size
    if mn.ndim > 1:
        raise ValueError(f"Array 'mean' must be a vector of length {dim}.")
    mn = apply("reshape", mn, shape=(dim,))
    if dim == 1:
        cn = apply("reshape", cn, shape=())
    xn = N(x)
    if xn.ndim == 0:
        xn = apply("reshape", xn, shape=(1,))
    if xn.ndim == 1:
        xn = apply("reshape", xn, shape=(xn.size, 1) if dim == 1 else (1, xn.size))
    if xn.shape[-1] != dim:
        raise ValueError(f"multivariate_normal: x has {xn.shape[-1]} components, the distribution {dim}")
    dev = apply("subtract", xn, mn)
    lead = dev.shape[:-1]
    if cn.op == "const":
        c = np.asarray(cn.value, dtype=np.float64)
        c = c * np.eye(dim) if c.ndim == 0 else np.diag(c) if c.ndim == 1 else c
        try:
            chol = np.linalg.cholesky(c)
        except np.linalg.LinAlgError:
            raise UnsupportedOperationError("npdiff supports multivariate_normal.logpdf with a positive definite "
                                            "covariance only") from None
        b = "abcdefgh"[:len(lead)]
        z = apply("einsum", const(np.linalg.inv(chol)), dev, spec=f"ij,{b}j->{b}i")
        maha = apply("reduce_sum", apply("square", z), axes=(z.ndim - 1,))
        logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
    elif cn.ndim <= 1:
        var = cn if cn.ndim == 1 else apply("broadcast_to", cn, shape=(dim,))
        maha = apply("reduce_sum", apply("divide", apply("square", dev), var), axes=(dev.ndim - 1,))
        logdet = apply("reduce_sum", apply("log", var), axes=(0,))
    else:
        flat = apply("reshape", dev, shape=(int(np.prod(lead)), dim))
        sol = np.linalg.solve(W(cn), W(apply("transpose", flat, perm=(1, 0))))  # needs numpy.linalg support
        maha = apply("reshape", apply("reduce_sum", apply("multiply", apply("transpose", flat, perm=(1, 0)),
                                                                 N(sol)), axes=(0,)), shape=lead)
        logdet = N(np.linalg.slogdet(W(cn))[1])
    out = apply("multiply", apply("add", apply("add", maha, logdet), dim * math.log(2.0 * math.pi)), -0.5)
    squeezed = tuple(s for s in out.shape if s != 1)
    return W(apply("reshape", out, shape=squeezed))


def _mvn_gen_logpdf(self, x, mean=None, cov=1, allow_singular=False):
    return _mvn_logpdf(x, mean, cov, allow_singular)


def _mvn_gen_pdf(self, x, mean=None, cov=1, allow_singular=False):
    return np.exp(_mvn_logpdf(x, mean, cov, allow_singular))


def _mvn_frozen_logpdf(self, x):
    return _mvn_logpdf(x, self.mean, self.cov)


def _mvn_frozen_pdf(self, x):
    return np.exp(_mvn_logpdf(x, self.mean, self.cov))


def _register_stats():
    def dist(name):
        return LazyTarget("scipy.stats", lambda st: type(getattr(st, name)), f"scipy.stats.{name}")

    for name in LOGPDF:
        target = dist(name)
        _stats_patch(target, "logpdf", _logpdf)
        _stats_patch(target, "pdf", _pdf)
        if name == "norm":
            for method, fn in NORM_EXTRA.items():
                _stats_patch(target, method, fn)
    gen = LazyTarget("scipy.stats", lambda st: type(st.multivariate_normal), "scipy.stats.multivariate_normal")
    frozen = LazyTarget("scipy.stats", lambda st: importlib.import_module(
        "scipy.stats._multivariate").multivariate_normal_frozen, "scipy.stats.multivariate_normal(...)")
    _stats_patch(gen, "logpdf", _mvn_gen_logpdf)
    _stats_patch(gen, "pdf", _mvn_gen_pdf)
    _stats_patch(frozen, "logpdf", _mvn_frozen_logpdf)
    _stats_patch(frozen, "pdf", _mvn_frozen_pdf)


if sc is not None:
    _register_stats()
