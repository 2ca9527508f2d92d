"""scipy.stats multivariate distributions while tracing: multivariate_normal and dirichlet.

Patched like the univariate ones (``stats.py``): only while tracing, only when
scipy.stats was imported first, SciPy's own method when nothing is traced.

multivariate_normal follows SciPy's ``_PSD``: with a constant covariance its
eigendecomposition is computed once, in NumPy, and a singular one
(``allow_singular=True``) uses the pseudo-inverse and the pseudo-determinant, with
-inf outside the support (x - mean out of the covariance's range). A traced
covariance is used through solve and slogdet; where SciPy would take a
pseudo-determinant (``allow_singular=True``, and always in ``entropy``) a traced
covariance must be positive definite: refused by name when its value is known while
tracing, and the result is nan wherever it is singular (checked in the generated
code with the eigenvalue cutoff SciPy uses).
"""
from __future__ import annotations

import importlib
import math

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import const
from ..primitives import apply
from ..primitives.matrices import herm_from
from ..tracing import guards
from ._common import N, W
from .stats import LazyTarget, stats_patch

try:
    import scipy.special as sc
except ImportError:  # pragma: no cover - SciPy is optional
    sc = None

LOG_2PI = math.log(2.0 * math.pi)


def _psd(c, allow_singular):
    """Return (U, log_pdet, rank, V, eps) of a constant covariance, as SciPy's _PSD computes them."""
    s, u = np.linalg.eigh(c)
    eps = {"f": 1e3, "d": 1e6}[s.dtype.char.lower()] * np.finfo(s.dtype).eps * np.max(np.abs(s))
    if np.min(s) < -eps:
        raise ValueError("The input matrix must be symmetric positive semidefinite.")
    keep = s > eps
    if not np.all(keep) and not allow_singular:
        raise np.linalg.LinAlgError("When `allow_singular is False`, the input matrix must be symmetric "
                                    "positive definite.")
    s_pinv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return u * np.sqrt(s_pinv), float(np.sum(np.log(s[keep]))), int(np.sum(keep)), u[:, ~keep], 1e3 * eps


def _full_cov(cn, dim):
    """Return the covariance node as a dim x dim matrix (SciPy accepts a scalar or a diagonal)."""
    if cn.ndim == 0:
        return apply("multiply", apply("broadcast_to", cn, shape=(dim, dim)), const(np.eye(dim)))
    if cn.ndim == 1:
        return apply("multiply", apply("reshape", cn, shape=(1, dim)), const(np.eye(dim)))
    return cn


def _lower_cov(cn):
    """Return the symmetric covariance SciPy reads from a matrix: its lower triangle (as its eigh does)."""
    return herm_from(cn, True)


def _definite(cn, dim, what):
    """Return a boolean scalar node: the traced covariance is positive definite (SciPy's eigenvalue cutoff).

    When the traced value is known and is not positive definite, refuse now, by name.
    """
    s = apply("eigvalsh", apply("stop_gradient", _full_cov(cn, dim)), lower=True)
    eps = apply("multiply", apply("reduce_max", apply("absolute", s), axes=(0,)), 1e6 * np.finfo(np.float64).eps)
    ok = apply("logical_not", apply("reduce_max", apply("less_equal", s, eps), axes=(0,)))
    vt = guards.current()
    if vt is not None:
        try:
            known = bool(vt.value(ok))
        except guards.NoValue:
            known = True
        if not known:
            raise UnsupportedOperationError(
                f"npdiff supports scipy.stats.multivariate_normal.{what} with a traced covariance only where it "
                f"is positive definite (SciPy would use a pseudo-determinant); pass a singular covariance as a "
                f"constant")
    return ok


def _dims(mean, cov):
    cn = N(cov)
    if mean is None:
        dim = 1 if cn.ndim < 2 else cn.shape[0]
        mn = const(np.zeros(dim))
    else:
        mn = N(mean)
        dim = mn.size
    if mn.ndim > 1:
        raise ValueError(f"Array 'mean' must be a vector of length {dim}.")
    return dim, apply("reshape", mn, shape=(dim,)), cn


def _mvn_logpdf(x, mean=None, cov=1, allow_singular=False):
    """log N(x; mean, cov), following scipy's handling of shapes (and squeezing the result)."""
    dim, mn, cn = _dims(mean, cov)
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
    b = "abcdefgh"[:len(lead)]
    outside = definite = None
    rank = dim
    if cn.op == "const":
        c = np.asarray(cn.value, dtype=np.float64)
        c = c * np.eye(dim) if c.ndim == 0 else np.diag(c) if c.ndim == 1 else c
        u, logdet, rank, v, eps = _psd(c, allow_singular)
        z = apply("einsum", dev, const(u), spec=f"{b}j,ji->{b}i")
        maha = apply("reduce_sum", apply("square", z), axes=(z.ndim - 1,))
        if rank < dim:  # x - mean must lie in the range of the covariance
            r = apply("einsum", dev, const(v), spec=f"{b}j,ji->{b}i")
            outside = apply("logical_not", apply("less", apply("reduce_sum", apply("square", r), axes=(r.ndim - 1,)),
                                                 eps * eps))
    elif cn.ndim <= 1:
        if allow_singular:
            definite = _definite(cn, dim, "logpdf(allow_singular=True)")
        var = cn if cn.ndim == 1 else apply("broadcast_to", cn, shape=(dim,))
        maha = apply("reduce_sum", apply("divide", apply("square", dev), var), axes=(dev.ndim - 1,))
        logdet = apply("reduce_sum", apply("log", var), axes=(0,))
    else:
        if allow_singular:
            definite = _definite(cn, dim, "logpdf(allow_singular=True)")
        flat = apply("reshape", dev, shape=(int(np.prod(lead)), dim))
        cn = _lower_cov(cn)
        sol = np.linalg.solve(W(cn), W(apply("transpose", flat, perm=(1, 0))))
        maha = apply("reshape", apply("reduce_sum", apply("multiply", apply("transpose", flat, perm=(1, 0)),
                                                                 N(sol)), axes=(0,)), shape=lead)
        logdet = N(np.linalg.slogdet(W(cn))[1])
    out = apply("multiply", apply("add", apply("add", maha, logdet), rank * LOG_2PI), -0.5)
    if outside is not None:
        out = apply("where", outside, -np.inf, out)
    if definite is not None:  # a traced singular covariance: nan (refused by name when its value is known)
        out = apply("where", definite, out, np.nan)
    squeezed = tuple(s for s in out.shape if s != 1)
    return W(apply("reshape", out, shape=squeezed))


def _mvn_entropy(self, mean=None, cov=1):
    """0.5 (rank (log 2 pi + 1) + log pdet(cov)); the mean does not enter."""
    dim, _, cn = _dims(mean, cov)
    if cn.op == "const":
        c = np.asarray(cn.value, dtype=np.float64)
        c = c * np.eye(dim) if c.ndim == 0 else np.diag(c) if c.ndim == 1 else c
        _, logdet, rank, _, _ = _psd(c, True)
        return W(const(np.asarray(0.5 * (rank * (LOG_2PI + 1.0) + logdet))))
    definite = _definite(cn, dim, "entropy")
    if cn.ndim <= 1:
        var = cn if cn.ndim == 1 else apply("broadcast_to", cn, shape=(dim,))
        logdet = apply("reduce_sum", apply("log", var), axes=(0,))
    else:
        logdet = N(np.linalg.slogdet(W(_lower_cov(cn)))[1])
    out = apply("multiply", apply("add", logdet, dim * (LOG_2PI + 1.0)), 0.5)
    return W(apply("where", definite, out, np.nan))


def _mvn_gen_logpdf(self, x, mean=None, cov=1, allow_singular=False):
    return _mvn_logpdf(x, mean, cov, allow_singular)


def _mvn_gen_pdf(self, x, mean=None, cov=1, allow_singular=False):
    return np.exp(_mvn_logpdf(x, mean, cov, allow_singular))


def _mvn_frozen_logpdf(self, x):
    return _mvn_logpdf(x, self.mean, self.cov, self.allow_singular)


def _mvn_frozen_pdf(self, x):
    return np.exp(_mvn_logpdf(x, self.mean, self.cov, self.allow_singular))


class TracedFrozenMVN:
    """scipy.stats.multivariate_normal(mean, cov) with a traced mean or covariance (SciPy's would convert them)."""

    def __init__(self, mean=None, cov=1, allow_singular=False, seed=None):
        self.mean, self.cov, self.allow_singular = mean, cov, allow_singular

    def logpdf(self, x):
        return _mvn_logpdf(x, self.mean, self.cov, self.allow_singular)

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def entropy(self):
        return _mvn_entropy(None, self.mean, self.cov)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise UnsupportedOperationError(f"npdiff supports logpdf, pdf and entropy of "
                                        f"scipy.stats.multivariate_normal(...) with traced parameters, not {name}")


class TracedFrozenDirichlet:
    """scipy.stats.dirichlet(alpha) with a traced alpha."""

    def __init__(self, alpha, seed=None):
        self.alpha = alpha

    def logpdf(self, x):
        return _dirichlet_logpdf(None, x, self.alpha)

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise UnsupportedOperationError(f"npdiff supports logpdf and pdf of scipy.stats.dirichlet(...) with a "
                                        f"traced alpha, not {name}")


# -- Dirichlet ---------------------------------------------------------------------------------------

def _dirichlet_logpdf(self, x, alpha):
    """-log B(alpha) + sum_i (alpha_i - 1) log x_i over the first axis of x (SciPy's convention).

    x may omit its last component (1 - sum of the others). SciPy raises ValueError
    for an x off the simplex or an alpha not positive; traced ones give nan there instead.
    """
    an, xn = N(alpha), N(x)
    if an.ndim != 1:
        raise ValueError(f"Parameter vector 'a' must be one dimensional, but a.shape = {an.shape}.")
    if an.op == "const" and np.any(np.asarray(an.value) <= 0):
        raise ValueError("All parameters must be greater than 0")
    k = an.shape[0]
    if xn.ndim == 0 or xn.shape[0] not in (k, k - 1):
        raise ValueError(f"Vector 'x' must have either the same number of entries as, or one entry fewer than, "
                         f"parameter vector 'a', but alpha.shape = {an.shape} and x.shape = {xn.shape}.")
    if xn.ndim > 2:
        raise ValueError("The input must be one dimensional or a two dimensional matrix containing the entries.")
    x = W(xn)
    if xn.shape[0] == k - 1:
        x = np.concatenate([x, (1.0 - np.sum(x, axis=0))[None]], axis=0)
    a = W(an)
    a_col = a if xn.ndim == 1 else a[:, None]
    ok = np.logical_and(np.all(x >= 0.0), np.all(x <= 1.0))
    ok = np.logical_and(ok, np.all(np.abs(np.sum(x, axis=0) - 1.0) <= 10e-10))
    ok = np.logical_and(ok, np.logical_not(np.any(np.logical_and(x == 0.0, a_col < 1.0))))
    ok = np.logical_and(ok, np.all(a > 0.0))
    lnb = np.sum(sc.gammaln(a)) - sc.gammaln(np.sum(a))
    out = np.sum(sc.xlogy(a_col - 1.0, x), axis=0) - lnb
    return np.where(ok, out, np.nan)


def _dirichlet_pdf(self, x, alpha):
    return np.exp(_dirichlet_logpdf(self, x, alpha))


def _register():
    gen = LazyTarget("scipy.stats", lambda st: type(st.multivariate_normal), "scipy.stats.multivariate_normal")
    frozen = LazyTarget("scipy.stats", lambda st: importlib.import_module(
        "scipy.stats._multivariate").multivariate_normal_frozen, "scipy.stats.multivariate_normal(...)")
    stats_patch(gen, "logpdf", _mvn_gen_logpdf)
    stats_patch(gen, "pdf", _mvn_gen_pdf)
    stats_patch(gen, "entropy", _mvn_entropy)
    stats_patch(gen, "__call__", lambda self, *args, **kwargs: TracedFrozenMVN(*args, **kwargs))
    stats_patch(frozen, "logpdf", _mvn_frozen_logpdf)
    stats_patch(frozen, "pdf", _mvn_frozen_pdf)
    dirichlet = LazyTarget("scipy.stats", lambda st: type(st.dirichlet), "scipy.stats.dirichlet")
    stats_patch(dirichlet, "logpdf", _dirichlet_logpdf)
    stats_patch(dirichlet, "pdf", _dirichlet_pdf)
    stats_patch(dirichlet, "__call__", lambda self, *args, **kwargs: TracedFrozenDirichlet(*args, **kwargs))


if sc is not None:
    _register()
