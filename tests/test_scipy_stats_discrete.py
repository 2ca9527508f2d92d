"""scipy.stats discrete distributions and the continuous ones traced through SciPy's own formulas,
with traced parameters (issue 21): values against SciPy, gradients and Hessians against central
finite differences and, where one exists, the analytic score; and the scipy.special functions added
for them (zeta, hyp1f1, hyp2f1, wright_bessel, log_wright_bessel, polygamma of an integer order)."""
from __future__ import annotations

import numpy as np
import pytest
from tests.util import assert_close, fd_jac

import npdiff

st = pytest.importorskip("scipy.stats")
sc = pytest.importorskip("scipy.special")

K = np.array([0.0, 1.0, 3.0, 7.0, 2.0])


def _check(f, p, rtol=1e-5, hess=True):
    """Value (numpify) against f, gradient and Hessian against central differences."""
    assert_close(npdiff.numpify(f, p)(p), f(p), 1e-10, 1e-12, "value")
    g = npdiff.grad(f)(p)
    assert_close(g, fd_jac(f, [p], 0).reshape(p.shape), rtol, 1e-6, "gradient")
    if hess:
        H = npdiff.hessian(f)(p)
        assert_close(np.reshape(H, (p.size, p.size)), fd_jac(npdiff.grad(f), [p], 0), 1e-4, 1e-5, "hessian")
    return g


def nb2_loglike(params, X, y):
    """Negative binomial (NB2) regression log-likelihood as count-model libraries write it."""
    beta, alpha = params[:-1], np.exp(params[-1])
    mu = np.exp(X @ beta)
    n = 1.0 / alpha
    return np.sum(st.nbinom.logpmf(y, n, n / (n + mu)))


def nb2_score(params, X, y):
    beta, alpha = params[:-1], np.exp(params[-1])
    mu = np.exp(X @ beta)
    a1 = 1.0 / alpha
    dbeta = X.T @ ((y - mu) / (1.0 + alpha * mu))
    dalpha = np.sum(a1 ** 2 * (np.log1p(alpha * mu) - sc.digamma(y + a1) + sc.digamma(a1))
                    + (y - mu) / (alpha * (1.0 + alpha * mu)))
    return np.append(dbeta, dalpha * alpha)  # chain rule for log(alpha)


X = np.column_stack([np.ones(5), np.linspace(-1.0, 1.0, 5)])


def test_nbinom_regression_matches_the_analytic_score():
    p = np.array([0.3, -0.4, np.log(0.7)])
    g = _check(lambda q: nb2_loglike(q, X, K), p)
    assert_close(g, nb2_score(p, X, K), 1e-10, 1e-10, "analytic score")


@pytest.mark.parametrize("name, f, p", [
    ("binom.logpmf", lambda q: np.sum(st.binom.logpmf(K, 8, q[0])), np.array([0.35])),
    ("binom.pmf", lambda q: np.sum(st.binom.pmf(K, 8, q[0])), np.array([0.35])),
    ("binom.cdf", lambda q: np.sum(st.binom.cdf(K, 8, q[0])), np.array([0.35])),
    ("binom.sf", lambda q: np.sum(st.binom.sf(K, 8, q[0])), np.array([0.35])),
    ("nbinom.cdf", lambda q: np.sum(st.nbinom.cdf(K, 2.5, q[0])), np.array([0.4])),
    ("nbinom.logsf", lambda q: np.sum(st.nbinom.logsf(K, 2.5, q[0])), np.array([0.4])),
    ("geom.logpmf", lambda q: np.sum(st.geom.logpmf(K + 1, q[0])), np.array([0.3])),
    ("geom.cdf", lambda q: np.sum(st.geom.cdf(K, q[0])), np.array([0.3])),
    ("geom.sf", lambda q: np.sum(st.geom.sf(K, q[0])), np.array([0.3])),
    ("betabinom.logpmf", lambda q: np.sum(st.betabinom.logpmf(K, 9, q[0], q[1])), np.array([1.3, 2.2])),
    ("logser.logpmf", lambda q: np.sum(st.logser.logpmf(K + 1, q[0])), np.array([0.6])),
    ("planck.cdf", lambda q: np.sum(st.planck.cdf(K, q[0])), np.array([0.7])),
    ("dlaplace.logpmf", lambda q: np.sum(st.dlaplace.logpmf(K - 3, q[0])), np.array([0.8])),
    ("yulesimon.logpmf", lambda q: np.sum(st.yulesimon.logpmf(K + 1, q[0])), np.array([2.2])),
    ("boltzmann.logpmf", lambda q: np.sum(st.boltzmann.logpmf(K, q[0], 9)), np.array([0.5])),
    ("poisson.logsf", lambda q: np.sum(st.poisson.logsf(K, q[0])), np.array([2.5])),
])
def test_discrete_methods(name, f, p):
    _check(f, p)


def test_binom_logpmf_matches_the_closed_form_score():
    p = np.array([0.35])
    g = npdiff.grad(lambda q: np.sum(st.binom.logpmf(K, 8, q[0])))(p)
    assert_close(g, [np.sum(K / p[0] - (8 - K) / (1 - p[0]))], 1e-10, 1e-10)


def test_values_outside_the_support_and_invalid_parameters_are_scipys():
    k = np.array([-1.0, 0.0, 2.5, 3.0, 20.0, np.nan])
    for dist, method, args in (("binom", "pmf", (8, 0.3)), ("binom", "logpmf", (8, 0.3)), ("binom", "cdf", (8, 0.3)),
                               ("binom", "sf", (8, 0.3)), ("geom", "logcdf", (0.3,))):
        def f(q, dist=dist, method=method, args=args):
            return getattr(getattr(st, dist), method)(k, *args[:-1], q[0])
        p = np.array([args[-1]])
        assert_close(npdiff.numpify(f, p)(p), f(p), 1e-12, 1e-300, f"{dist}.{method}")
    f = lambda q: st.nbinom.logpmf(K, q[0], q[1])
    assert_close(npdiff.numpify(f, np.array([-1.0, 0.5]))(np.array([-1.0, 0.5])), f(np.array([-1.0, 0.5])))


@pytest.mark.parametrize("f, p, refused", [
    (lambda q: np.sum(st.binom.logpmf(q, 8, 0.3)), K, "count k"),
    (lambda q: np.sum(st.binom.logpmf(K, q[0], 0.3)), np.array([8.0]), "'n'"),
    (lambda q: np.sum(st.nbinom.cdf(K, q[0], 0.3)), np.array([2.5]), "in n"),
    (lambda q: np.sum(st.zipf.logpmf(K + 1, q[0])), np.array([2.5]), "zeta"),
])
def test_derivatives_without_a_closed_form_are_refused_by_name(f, p, refused):
    npdiff.numpify(f, p)(p)  # the value traces
    with pytest.raises(npdiff.UnsupportedOperationError, match=refused):
        npdiff.grad(f)(p)


@pytest.mark.parametrize("name, f, p", [
    ("weibull_min.logpdf", lambda q: np.sum(st.weibull_min.logpdf(np.array([0.4, 1.5]), q[0], scale=q[1])),
     np.array([1.7, 1.2])),
    ("weibull_min.logsf", lambda q: np.sum(st.weibull_min.logsf(np.array([0.4, 1.5]), q[0], scale=q[1])),
     np.array([1.7, 1.2])),
    ("lomax.ppf", lambda q: np.sum(st.lomax.ppf(np.array([0.2, 0.7]), q[0], loc=q[1])), np.array([2.5, 0.1])),
    ("genpareto.logpdf", lambda q: np.sum(st.genpareto.logpdf(np.array([0.4, 1.5]), q[0], scale=q[1])),
     np.array([0.3, 1.2])),
    ("gumbel_r.logcdf", lambda q: np.sum(st.gumbel_r.logcdf(np.array([-0.4, 1.5]), q[0], q[1])), np.array([0.2, 1.4])),
    ("burr12.logpdf", lambda q: np.sum(st.burr12.logpdf(np.array([0.4, 1.5]), q[0], q[1])), np.array([2.0, 1.5])),
    ("invgauss.logpdf", lambda q: np.sum(st.invgauss.logpdf(np.array([0.4, 1.5]), q[0])), np.array([0.8])),
    ("erlang.logpdf", lambda q: np.sum(st.erlang.logpdf(np.array([0.4, 1.5]), 3, scale=q[0])), np.array([0.8])),
    ("frozen", lambda q: np.sum(st.weibull_min(q[0]).logpdf(np.array([0.4, 1.5]))), np.array([1.7])),
])
def test_continuous_methods_through_scipys_formulas(name, f, p):
    _check(f, p)


def test_weibull_logpdf_matches_the_closed_form():
    x = np.array([0.4, 1.5])

    def closed(q):
        c, s = q
        z = x / s
        return np.sum(np.log(c / s) + (c - 1) * np.log(z) - z ** c)
    p = np.array([1.7, 1.2])
    f = lambda q: np.sum(st.weibull_min.logpdf(x, q[0], scale=q[1]))
    assert_close(npdiff.grad(f)(p), npdiff.grad(closed)(p), 1e-12, 1e-12)
    assert_close(npdiff.grad(closed)(p), fd_jac(closed, [p], 0).ravel(), 1e-6, 1e-7)


def test_a_formula_that_does_not_trace_is_refused_by_name():
    with pytest.raises(npdiff.UnsupportedOperationError, match=r"scipy\.stats\.dgamma\.cdf"):
        npdiff.grad(lambda q: st.dgamma.cdf(0.5, q[0]))(np.array([1.5]))


# -- scipy.special ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, f, p", [
    ("zeta(x, q)", lambda q: np.sum(sc.zeta(2.5, q)), np.array([1.3, 2.0])),
    ("hyp1f1", lambda q: np.sum(sc.hyp1f1(0.5, 1.5, q)), np.array([0.3, -0.7])),
    ("hyp2f1", lambda q: np.sum(sc.hyp2f1(0.5, 1.5, 2.0, q)), np.array([0.3, -0.4])),
    ("wright_bessel", lambda q: np.sum(sc.wright_bessel(0.5, 1.5, q)), np.array([0.3, 2.0])),
    ("log_wright_bessel", lambda q: np.sum(sc.log_wright_bessel(0.5, 1.5, q)), np.array([0.3, 2.0])),
])
def test_special_functions(name, f, p):
    _check(f, p)


def test_special_function_closed_forms():
    z = np.array([0.3, -0.7])
    g = npdiff.grad(lambda q: np.sum(sc.hyp1f1(1.0, 1.0, q)))(z)  # 1F1(1; 1; z) = exp(z)
    assert_close(g, np.exp(z), 1e-12, 1e-12)
    q = np.array([1.3])
    g = npdiff.grad(lambda t: sc.zeta(3.0, t[0]))(q)  # d/dq zeta(3, q) = -3 zeta(4, q)
    assert_close(g, -3 * sc.zeta(4.0, q), 1e-12, 1e-12)
    x = np.array([0.4])  # wright_bessel(0, 1, x) = exp(x)
    assert_close(npdiff.grad(lambda t: sc.wright_bessel(0.0, 1.0, t[0]))(x), np.exp(x), 1e-10, 1e-12)


@pytest.mark.parametrize("f, what", [
    (lambda q: sc.zeta(q[0], 1.3), "zeta in its argument 'x'"),
    (lambda q: sc.zeta(q[0]), "zeta in its argument 'x'"),
    (lambda q: sc.hyp1f1(q[0], 1.5, 0.3), "hyp1f1 in its argument 'a'"),
    (lambda q: sc.hyp2f1(0.5, 1.5, q[0], 0.3), "hyp2f1 in its argument 'c'"),
    (lambda q: sc.wright_bessel(0.5, q[0], 0.3), "wright_bessel in its argument 'b'"),
])
def test_special_parameters_are_refused_by_name(f, what):
    with pytest.raises(npdiff.UnsupportedOperationError, match=what):
        npdiff.grad(f)(np.array([2.5]))


def test_polygamma_with_an_order_computed_from_the_arguments():
    f = lambda x, n: np.sum(sc.polygamma(n + 1, x))
    x, n = np.array([1.4, 2.5]), np.array(1)
    assert_close(npdiff.grad(f)(x, n), sc.polygamma(3, x), 1e-10, 1e-12)
    g = npdiff.grad(f)
    assert_close(g(x, np.array(0)), sc.polygamma(2, x), 1e-10, 1e-12)  # another order: another path
