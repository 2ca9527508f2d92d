"""scipy.stats cdfs, the Poisson pmf, chi2, dirichlet and multivariate_normal (entropy, singular covariances).

Values are compared with SciPy's own methods on the same inputs (inside and outside
the support, broadcast parameters, loc and scale, frozen distributions, the
generated code); derivatives with central finite differences and closed forms.
Arguments without a derivative (a Poisson count, a cdf's shape parameter) are
refused by name when differentiated and work when only passed through.
"""
from __future__ import annotations

import numpy as np
import pytest

st = pytest.importorskip("scipy.stats")
sc = pytest.importorskip("scipy.special")

import npdiff
from util import assert_close, check_derivatives, fd_jac

POS = np.array([0.3, 1.2, 2.5, 4.0])
UNIT = np.array([0.15, 0.4, 0.66, 0.9])
REAL = np.array([-1.3, -0.2, 0.7, 1.9])
COUNTS = np.array([0.0, 1.0, 3.0, 7.0])


def _values(f, *args):
    """Return f(*args) traced (and emitted) by npdiff; the arguments are all traced."""
    gf = npdiff.numpify(f, *[np.shape(a) for a in args])
    return gf(*[np.asarray(a, dtype=np.float64) for a in args])


# -- values against SciPy --------------------------------------------------------------------------

# name -> (function of traced arrays, arguments): every argument traced, including parameters
VALUE_CASES = {
    "gamma.cdf": (lambda x, a: st.gamma.cdf(x, a), [np.array([-0.5, 0.0, 0.3, 2.0, 9.0]), 2.2]),
    "gamma.sf-loc-scale": (lambda x, a: st.gamma.sf(x, a, 0.5, 1.7), [np.array([-0.5, 0.3, 2.0, 9.0]), 1.3]),
    "gamma.logcdf": (lambda x, a: st.gamma.logcdf(x, a), [POS, 2.2]),
    "gamma.logsf": (lambda x, a: st.gamma.logsf(x, a, scale=2.0), [POS, 0.8]),
    "chi2.cdf": (lambda x, df: st.chi2.cdf(x, df), [np.array([-1.0, 0.0, 0.5, 3.0, 12.0]), 3.0]),
    "chi2.sf": (lambda x, df: st.chi2.sf(x, df), [POS, 2.5]),
    "chi2.logpdf": (lambda x, df: st.chi2.logpdf(x, df), [np.array([-1.0, 0.0, 0.5, 3.0, 12.0]), 3.0]),
    "chi2.pdf-broadcast": (lambda x, df: st.chi2.pdf(x, df), [POS[:, None], np.array([1.0, 2.0, 4.5])]),
    "chi2.logcdf": (lambda x, df: st.chi2.logcdf(x, df, loc=0.1), [POS, 3.5]),
    "beta.cdf": (lambda x, a, b: st.beta.cdf(x, a, b), [np.array([-0.2, 0.0, 0.3, 0.8, 1.0, 1.4]), 2.0, 3.5]),
    "beta.sf": (lambda x, a, b: st.beta.sf(x, a, b), [np.array([-0.2, 0.0, 0.3, 0.8, 1.0, 1.4]), 0.7, 1.5]),
    "beta.logcdf": (lambda x, a, b: st.beta.logcdf(x, a, b), [UNIT, 1.5, 2.5]),
    "t.cdf": (lambda x, df: st.t.cdf(x, df), [REAL, 3.1]),
    "t.cdf-broadcast": (lambda x, df, loc, s: st.t.cdf(x, df, loc, s),
                        [REAL[:, None] + np.zeros(3), np.array([[2.5, 4.0, 9.0]]), np.zeros((4, 3)) + 0.2,
                         np.array([[1.2], [0.7], [2.0], [1.1]])]),
    "t.logcdf": (lambda x, df: st.t.logcdf(x, df, 0.3, 1.4), [REAL, 5.0]),
    "t.sf": (lambda x, df: st.t.sf(x, df), [REAL, 2.5]),
    "t.logsf": (lambda x, df: st.t.logsf(x, df), [REAL, 2.5]),
    "poisson.logpmf": (lambda k, mu: st.poisson.logpmf(k, mu),
                       [np.array([-1.0, 0.0, 1.0, 2.5, 3.0, 10.0, np.inf]), 2.3]),
    "poisson.pmf": (lambda k, mu: st.poisson.pmf(k, mu), [np.array([-1.0, 0.0, 1.0, 2.5, 3.0, 10.0]), 2.3]),
    "poisson.pmf-mu0": (lambda k, mu: st.poisson.pmf(k, mu), [np.array([0.0, 1.0, 2.0]), 0.0]),
    "poisson.pmf-broadcast-loc": (lambda k, mu: st.poisson.pmf(k, mu, loc=1),
                                  [COUNTS[:, None] + np.zeros(3), np.array([0.5, 1.5, 6.0])]),
    "poisson.cdf": (lambda k, mu: st.poisson.cdf(k, mu),
                    [np.array([-np.inf, -1.0, -0.5, 0.0, 1.0, 2.5, 3.0, 10.0, np.inf]), 2.3]),
    "poisson.sf": (lambda k, mu: st.poisson.sf(k, mu),
                   [np.array([-np.inf, -1.0, -0.5, 0.0, 1.0, 2.5, 3.0, 10.0, np.inf]), 2.3]),
    "poisson.logcdf": (lambda k, mu: st.poisson.logcdf(k, mu), [COUNTS, 2.3]),
    "poisson.logsf": (lambda k, mu: st.poisson.logsf(k, mu), [COUNTS, 2.3]),
    "poisson.bad-mu": (lambda k, mu: st.poisson.logpmf(k, mu), [COUNTS, -1.0]),
    "dirichlet.logpdf": (lambda x, a: st.dirichlet.logpdf(x, a),
                         [np.array([0.2, 0.3, 0.5]), np.array([1.5, 2.0, 0.7])]),
    "dirichlet.pdf-columns": (lambda x, a: st.dirichlet.pdf(x, a),
                              [np.array([[0.2, 0.1], [0.3, 0.6], [0.5, 0.3]]), np.array([1.5, 2.0, 3.0])]),
    "dirichlet.logpdf-short-x": (lambda x, a: st.dirichlet.logpdf(x, a),
                                 [np.array([0.2, 0.3]), np.array([1.5, 2.0, 0.7])]),
    "mvn.entropy": (lambda m, c: st.multivariate_normal.entropy(m, c),
                    [np.zeros(3), np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.5]])]),
    "mvn.entropy-diagonal": (lambda c: st.multivariate_normal.entropy(np.zeros(3), c), [np.array([0.5, 2.0, 3.0])]),
}


@pytest.mark.parametrize("name", sorted(VALUE_CASES))
def test_values_equal_scipy(name):
    f, args = VALUE_CASES[name]
    with np.errstate(divide="ignore", invalid="ignore"):
        want = f(*args)
        got = _values(f, *args)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300, equal_nan=True, err_msg=name)


# -- derivatives against finite differences --------------------------------------------------------

# name -> (function of the differentiated arguments only, their values)
DERIVATIVE_CASES = {
    "gamma.cdf-x": (lambda x: st.gamma.cdf(x, 2.2), [POS]),
    "gamma.cdf-loc-scale": (lambda loc, scale: st.gamma.cdf(POS + 1.0, 1.7, loc, scale), [0.4, 1.3]),
    "gamma.logsf-x": (lambda x: st.gamma.logsf(x, 2.2), [POS]),
    "chi2.cdf-x": (lambda x: st.chi2.cdf(x, 3.0), [POS]),
    "chi2.sf-x": (lambda x: st.chi2.sf(x, 4.5), [POS]),
    "chi2.logpdf-x-df": (lambda x, df: st.chi2.logpdf(x, df), [POS, np.array([1.5, 2.0, 3.0, 5.5])]),
    "chi2.pdf-x-df": (lambda x, df: st.chi2.pdf(x, df), [POS, 3.5]),
    "beta.cdf-x": (lambda x: st.beta.cdf(x, 2.0, 3.5), [UNIT]),
    "beta.logsf-x": (lambda x: st.beta.logsf(x, 0.8, 1.7), [UNIT]),
    "t.cdf-x-loc": (lambda x, loc: st.t.cdf(x, 3.1, loc), [REAL, 0.2]),
    "t.cdf-broadcast": (lambda x, loc: st.t.cdf(x, np.array([[2.5, 4.0, 9.0]]), loc, np.array([[1.2], [0.7]])),
                        [np.array([[-0.4, 0.3, 1.1], [0.9, -1.2, 0.1]]), np.array([[0.1], [-0.3]])]),
    "t.logcdf-x-loc-scale": (lambda x, loc, scale: st.t.logcdf(x, 5.0, loc, scale), [REAL, 0.3, 1.4]),
    "t.sf-x": (lambda x: st.t.sf(x, 2.5), [REAL]),
    "poisson.logpmf-mu": (lambda mu: st.poisson.logpmf(COUNTS, mu), [np.array([0.5, 1.5, 2.5, 6.0])]),
    "poisson.pmf-mu-broadcast": (lambda mu: st.poisson.pmf(COUNTS[:, None], mu), [np.array([[0.5, 1.5, 6.0]])]),
    "poisson.cdf-mu": (lambda mu: st.poisson.cdf(np.array([0.0, 1.0, 2.5, 7.0]), mu), [np.array([0.5, 1.5, 2.5, 6.0])]),
    "poisson.logsf-mu": (lambda mu: st.poisson.logsf(COUNTS, mu), [np.array([0.5, 1.5, 2.5, 6.0])]),
    "dirichlet.logpdf-x-alpha": (lambda x, a: st.dirichlet.logpdf(x / np.sum(x), a),
                                 [np.array([0.2, 0.3, 0.5]), np.array([1.5, 2.0, 0.7])]),
    "dirichlet.pdf-alpha-columns": (lambda a: st.dirichlet.pdf(np.array([[0.2, 0.1], [0.3, 0.6], [0.5, 0.3]]), a),
                                    [np.array([1.5, 2.0, 3.0])]),
    "frozen-poisson.logpmf": (lambda mu: st.poisson(mu).logpmf(COUNTS), [2.5]),
    "frozen-gamma.cdf": (lambda x, scale: st.gamma(2.0, scale=scale).cdf(x), [POS, 1.5]),
    "frozen-t.logcdf": (lambda x: st.t(4.0).logcdf(x), [REAL]),
}


@pytest.mark.parametrize("name", sorted(DERIVATIVE_CASES))
def test_derivatives_match_finite_differences(name):
    f, args = DERIVATIVE_CASES[name]
    args = [np.asarray(a, dtype=np.float64) for a in args]
    assert_close(_values(f, *args), f(*args), 1e-13, 1e-300, "value")
    check_derivatives(f, args, order=2, rtol=1e-5, atol=1e-7)


def test_pdf_is_exp_logpdf_and_cdf_derivative_is_pdf():
    """d/dx cdf = pdf (closed form) for gamma, chi2, beta and t; d/dmu P(K <= k) = -pmf(k)."""
    for cdf, pdf, x in ((lambda x: st.gamma.cdf(x, 2.2, 0.1, 1.3), lambda x: st.gamma.pdf(x, 2.2, 0.1, 1.3), POS),
                        (lambda x: st.chi2.cdf(x, 3.0), lambda x: st.chi2.pdf(x, 3.0), POS),
                        (lambda x: st.beta.cdf(x, 2.0, 3.5), lambda x: st.beta.pdf(x, 2.0, 3.5), UNIT),
                        (lambda x: st.t.cdf(x, 3.1, 0.2, 0.9), lambda x: st.t.pdf(x, 3.1, 0.2, 0.9), REAL)):
        g = npdiff.grad(lambda x: np.sum(cdf(x)))(x)
        assert_close(g, pdf(x), 1e-12, 1e-14, "d cdf / dx")
    mu = np.array([0.5, 1.5, 2.5, 6.0])
    g = npdiff.grad(lambda mu: np.sum(st.poisson.cdf(COUNTS, mu)))(mu)
    assert_close(g, -st.poisson.pmf(COUNTS, mu), 1e-12, 1e-14, "d poisson.cdf / dmu")
    g = npdiff.grad(lambda mu: np.sum(st.poisson.logpmf(COUNTS, mu)))(mu)
    assert_close(g, COUNTS / mu - 1.0, 1e-12, 1e-14, "d poisson.logpmf / dmu")


# -- refusals --------------------------------------------------------------------------------------

@pytest.mark.parametrize("f,x,words", [
    (lambda k: st.poisson.logpmf(k, 2.0), COUNTS, ["poisson.logpmf", "'k'", "discrete"]),
    (lambda k: st.poisson.cdf(k, 2.0), COUNTS, ["poisson.cdf", "discrete"]),
    (lambda loc: st.poisson.pmf(COUNTS, 2.0, loc), 1.0, ["poisson.pmf", "loc"]),
    (lambda a: st.gamma.cdf(POS, a), 2.0, ["gamma.cdf", "'a'"]),
    (lambda df: st.chi2.sf(POS, df), 3.0, ["chi2.sf", "'df'"]),
    (lambda b: st.beta.cdf(UNIT, 2.0, b), 3.0, ["beta.cdf", "'b'"]),
    (lambda df: st.t.logcdf(REAL, df), 3.0, ["t.logcdf", "'df'"]),
])
def test_derivative_in_a_parameter_without_one_is_refused_by_name(f, x, words):
    with pytest.raises(npdiff.UnsupportedOperationError) as err:
        npdiff.grad(lambda v: np.sum(f(v)))(np.asarray(x, dtype=np.float64))
    for w in words:
        assert w in str(err.value)


def test_a_traced_count_that_is_not_differentiated_passes_through():
    """grad in mu with the count k also an argument of the traced function (its tangent is zero)."""
    f = lambda k, mu: np.sum(st.poisson.pmf(k, mu))
    mu = np.array([0.5, 1.5, 2.5, 6.0])
    g = npdiff.grad(f, argnums=1)(COUNTS, mu)
    assert_close(g, fd_jac(f, [COUNTS, mu], 1).ravel(), 1e-6, 1e-8)


# -- multivariate normal: entropy and singular covariances -----------------------------------------

COV3 = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.5]])
SING = np.diag([1.5, 0.7, 0.0, 0.0])
SING[0, 1] = SING[1, 0] = 0.2


def _lower(sym):
    """Return the gradient of a function of a symmetric matrix that reads only its lower triangle (as SciPy)."""
    return np.tril(sym) + np.tril(sym, -1)


def test_mvn_traced_covariance_reads_the_lower_triangle_as_scipy():
    c = np.array([[2.0, 0.4], [0.1, 1.0]])  # not symmetric: SciPy uses the lower triangle
    f = lambda c: st.multivariate_normal.logpdf(np.array([0.5, -0.3]), np.zeros(2), c)
    assert_close(_values(f, c), f(c), 1e-13, 0)
    assert_close(npdiff.grad(f)(c), fd_jac(f, [c], 0).reshape(2, 2), 1e-6, 1e-9)


def test_mvn_entropy_closed_form_and_gradient():
    f = lambda m, c: st.multivariate_normal.entropy(m, c)
    m = np.array([0.3, -0.1, 2.0])
    assert_close(_values(f, m, COV3), 0.5 * np.linalg.slogdet(2 * np.pi * np.e * COV3)[1], 1e-13, 0)
    gm, gc = npdiff.grad(f, argnums=(0, 1))(m, COV3)
    assert_close(gm, np.zeros(3), 0, 0, "the mean does not enter")
    assert_close(gc, _lower(0.5 * np.linalg.inv(COV3)), 1e-12, 1e-14, "d entropy / d cov: inv(cov) / 2, lower triangle")
    fd = fd_jac(lambda c: st.multivariate_normal.entropy(m, c), [COV3], 0).reshape(3, 3)  # SciPy reads one triangle
    assert_close(gc, fd, 1e-6, 1e-9, "against SciPy's finite differences")
    check_derivatives(lambda c: f(m, 0.5 * (c + c.T)), [COV3])


def test_mvn_entropy_of_a_constant_singular_covariance_uses_the_pseudo_determinant():
    f = lambda m: st.multivariate_normal.entropy(m, SING) * np.sum(m)
    m = np.array([0.1, 0.2, 0.3, 0.4])
    assert_close(_values(f, m), st.multivariate_normal.entropy(m, SING) * 1.0, 1e-13, 0)


def test_mvn_singular_constant_covariance_logpdf_and_pdf():
    mean = np.array([0.3, -0.2, 0.5, 1.0])
    pts = np.array([[0.1, 0.7, 0.5, 1.0], [1.2, -0.3, 0.5, 1.0], [0.1, 0.7, 0.6, 1.0]])  # the last is off support
    for method in ("logpdf", "pdf"):
        f = lambda x, m: getattr(st.multivariate_normal, method)(x, m, SING, allow_singular=True)
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(_values(f, pts, mean), f(pts, mean), rtol=1e-13, atol=0, err_msg=method)
    # derivatives inside the support: x and mean move only along the covariance's range (first two axes)
    for method in ("logpdf", "pdf"):
        g = lambda x2, m2: getattr(st.multivariate_normal, method)(
            np.concatenate([x2, mean[2:]]), np.concatenate([m2, mean[2:]]), SING, allow_singular=True)
        check_derivatives(g, [np.array([0.1, 0.7]), mean[:2]])
    dev = pts[0, :2] - mean[:2]
    grad = npdiff.grad(lambda x2: st.multivariate_normal.logpdf(np.concatenate([x2, mean[2:]]), mean, SING,
                                                                  allow_singular=True))(pts[0, :2])
    assert_close(grad, -np.linalg.solve(SING[:2, :2], dev), 1e-12, 1e-14, "closed form")


def test_mvn_singular_constant_covariance_without_allow_singular_raises_like_scipy():
    with pytest.raises(np.linalg.LinAlgError):
        npdiff.grad(lambda x: st.multivariate_normal.logpdf(x, np.zeros(4), SING))(np.ones(4))


def test_mvn_traced_covariance_allow_singular_positive_definite_works_singular_is_refused():
    x = np.array([0.5, -0.3, 0.8])
    f = lambda c: st.multivariate_normal.logpdf(x, np.zeros(3), 0.5 * (c + c.T), allow_singular=True)
    assert_close(npdiff.grad(f)(COV3), fd_jac(f, [COV3], 0).reshape(3, 3), 1e-6, 1e-8)
    f2 = lambda c: st.multivariate_normal.logpdf(x, np.zeros(3), 0.5 * (c + c.T), allow_singular=True)
    with pytest.raises(npdiff.UnsupportedOperationError, match="positive definite"):  # refused when traced:
        npdiff.grad(f2)(np.diag([1.0, 1.0, 0.0]))  # (grad(f) shares f's code traced at COV3 above)
    with pytest.raises(npdiff.UnsupportedOperationError, match="entropy"):
        npdiff.grad(lambda c: st.multivariate_normal.entropy(cov=c))(np.diag([1.0, 1.0, 0.0]))


def test_dirichlet_off_the_simplex_is_nan_and_frozen_form_traces():
    a = np.array([1.5, 2.0, 0.7])
    f = lambda x: st.dirichlet.logpdf(x, a)
    assert np.isnan(_values(f, np.array([0.2, 0.3, 0.6])))
    assert np.isnan(_values(f, np.array([-0.2, 0.7, 0.5])))
    x = np.array([0.2, 0.3, 0.5])
    g = npdiff.grad(lambda x, a: st.dirichlet(a).logpdf(x), argnums=(0, 1))(x, a)
    assert_close(g[0], (a - 1.0) / x, 1e-12, 1e-14, "d/dx")
    assert_close(g[1], np.log(x) - sc.digamma(a) + sc.digamma(np.sum(a)), 1e-12, 1e-14, "d/dalpha")


def test_frozen_multivariate_normal_with_traced_parameters():
    x, mean = np.array([0.5, -0.3, 0.8]), np.array([0.1, 0.2, -0.1])
    g = npdiff.grad(lambda m: st.multivariate_normal(m, COV3).logpdf(x))(mean)
    assert_close(g, np.linalg.solve(COV3, x - mean), 1e-12, 1e-14, "d/dmean")
    f = lambda c: st.multivariate_normal(mean, 0.5 * (c + c.T)).pdf(x)
    assert_close(_values(f, COV3), st.multivariate_normal(mean, COV3).pdf(x), 1e-13, 0, "pdf value")
    assert_close(npdiff.grad(f)(COV3), fd_jac(f, [COV3], 0).reshape(3, 3), 1e-6, 1e-9, "d pdf / dcov")
    g = npdiff.grad(lambda c: st.multivariate_normal(cov=c).entropy())(COV3)
    assert_close(g, _lower(0.5 * np.linalg.inv(COV3)), 1e-12, 1e-14, "d entropy / dcov")
    # SciPy's own frozen object (constant parameters) with a traced x
    frozen = st.multivariate_normal(mean, SING[:3, :3] + np.diag([0, 0, 0.5]))
    g = npdiff.grad(frozen.logpdf)(x)
    assert_close(g, fd_jac(frozen.logpdf, [x], 0).ravel(), 1e-6, 1e-8, "frozen, traced x")


EARLY_LOGPDF = st.norm.logpdf  # bound before any trace starts
EARLY_POISSON = st.poisson.logpmf


def test_a_method_bound_before_tracing_traces():
    x = np.array([0.3, -1.2, 2.0])
    g = npdiff.grad(lambda x: np.sum(EARLY_LOGPDF(x, 0.5, 2.0)))(x)
    assert_close(g, -(x - 0.5) / 4.0, 1e-12, 1e-14, "module global")
    early = st.gamma.cdf
    g = npdiff.grad(lambda x: np.sum(early(x, 2.2)))(POS)
    assert_close(g, st.gamma.pdf(POS, 2.2), 1e-12, 1e-14, "closure")
    g = npdiff.grad(lambda mu: np.sum(EARLY_POISSON(COUNTS, mu)))(np.array([0.5, 1.5, 2.5, 6.0]))
    assert_close(g, COUNTS / np.array([0.5, 1.5, 2.5, 6.0]) - 1.0, 1e-12, 1e-14, "discrete")
    g = npdiff.grad(lambda x: np.sum(x * x))(x)  # nothing left patched on the bound objects afterwards
    assert EARLY_LOGPDF(0.5, 0.5, 2.0) == st.norm.logpdf(0.5, 0.5, 2.0)
    assert npdiff.grad(EARLY_LOGPDF)(0.7) == pytest.approx(-0.7)


def test_traced_parameters_scipy_rejects_give_nan_or_a_named_refusal():
    x = np.array([0.2, 0.3, 0.5])
    assert np.isnan(_values(lambda a: st.dirichlet.logpdf(x, a), np.array([1.5, -2.0, 0.7])))
    with pytest.raises(npdiff.UnsupportedOperationError, match="cdf"):
        npdiff.grad(lambda m: st.multivariate_normal(m, COV3).cdf(x))(np.zeros(3))
    with pytest.raises(npdiff.UnsupportedOperationError, match="rvs"):
        npdiff.grad(lambda a: st.dirichlet(a).rvs())(np.ones(3))


# every distribution with a cdf: (shape parameters, points inside the support for the derivative check)
CDF_DISTS = {
    "norm": ((), REAL), "gamma": ((2.2,), POS), "chi2": ((3.0,), POS), "beta": ((2.0, 3.5), UNIT),
    "t": ((3.1,), REAL), "expon": ((), POS), "logistic": ((), REAL), "cauchy": ((), REAL), "laplace": ((), REAL),
    "lognorm": ((0.7,), POS), "uniform": ((), UNIT),
}
GRID = np.array([-40.0, -2.0, -0.5, 0.0, 0.3, 0.5, 1.0, 1.7, 3.0, 40.0])


@pytest.mark.parametrize("name", sorted(CDF_DISTS))
@pytest.mark.parametrize("method", ["cdf", "sf", "logcdf", "logsf"])
def test_cdf_family_values_and_derivative_in_x(name, method):
    dist = getattr(st, name)
    shapes, inside = CDF_DISTS[name]
    f = lambda x, loc, scale: getattr(dist, method)(x, *shapes, loc, scale)
    with np.errstate(divide="ignore"):
        for loc, scale in ((0.0, 1.0), (0.4, 2.5)):
            np.testing.assert_allclose(_values(f, GRID, loc, scale), f(GRID, loc, scale), rtol=1e-13, atol=1e-300,
                                       err_msg=f"{name}.{method} loc={loc} scale={scale}")
    x = inside * 0.9 + 0.05 if name in ("beta", "uniform") else inside
    pdf = dist.pdf(x, *shapes, 0.1, 1.3)
    want = {"cdf": pdf, "sf": -pdf, "logcdf": pdf / dist.cdf(x, *shapes, 0.1, 1.3),
            "logsf": -pdf / dist.sf(x, *shapes, 0.1, 1.3)}[method]
    g = npdiff.grad(lambda x: np.sum(f(x, 0.1, 1.3)))(x)
    assert_close(g, want, 1e-11, 1e-14, f"d {name}.{method} / dx")
    check_derivatives(lambda x, loc, scale: f(x, loc, scale), [x, 0.1, 1.3], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name,shapes", [("gamma", (2.2,)), ("chi2", (3.0,)), ("beta", (2.0, 3.5)), ("t", (3.1,))])
def test_log_cdf_with_traced_shape_parameters_equals_scipy(name, shapes):
    """The median that picks SciPy's branch is traced too (gammaincinv, betaincinv) when the shapes are."""
    dist = getattr(st, name)
    x = np.array([-0.5, 0.05, 0.3, 0.5, 0.7, 0.95, 1.5, 6.0])
    for method in ("logcdf", "logsf"):
        f = lambda x, *p: getattr(dist, method)(x, *p)
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(_values(f, x, *shapes), f(x, *shapes), rtol=1e-13, atol=1e-300,
                                       err_msg=f"{name}.{method}")


# SciPy's argument checks: nan where scale <= 0 or a shape parameter is outside its domain
INVALID = [("norm", (), -2.0), ("norm", (), 0.0), ("expon", (), -1.0), ("laplace", (), 0.0), ("logistic", (), -1.0),
           ("cauchy", (), -1.0), ("uniform", (), -1.0), ("gamma", (-0.5,), 1.0), ("gamma", (0.0,), 1.0),
           ("chi2", (-1.0,), 1.0), ("beta", (-0.5, 2.0), 1.0), ("beta", (2.0, 0.0), 1.0), ("t", (-1.0,), 1.0),
           ("lognorm", (-0.7,), 1.0), ("gamma", (2.0,), -1.0), ("t", (3.0,), 0.0)]


@pytest.mark.parametrize("name,shapes,scale", INVALID)
@pytest.mark.parametrize("method", ["logpdf", "pdf", "cdf", "sf", "logcdf", "logsf"])
def test_invalid_scale_or_shape_gives_nan_as_scipy(name, shapes, scale, method):
    f = lambda x: getattr(getattr(st, name), method)(x, *shapes, scale=scale)
    x = np.array([-1.0, 0.0, 0.3, 1.0, 2.0])
    with np.errstate(all="ignore"):
        want = f(x)
        assert np.isnan(want).all()
        np.testing.assert_array_equal(_values(f, x), want)


def test_traced_invalid_parameters_give_nan_only_where_invalid_and_valid_derivatives():
    x = np.array([0.5, 1.0, 1.5])
    scale = np.array([1.3, -1.0, 0.7])
    f = lambda x, s: st.norm.cdf(x, 0.2, s)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(_values(f, x, scale), f(x, scale), rtol=1e-13)
        for g in (lambda s: st.norm.ppf(np.array([0.2, 0.6, 0.9]), 0.2, s), lambda a: st.gamma.logpdf(x, a),
                  lambda a: st.gamma.sf(x, np.array([2.0, 3.0, 0.5]), scale=a)):
            np.testing.assert_allclose(_values(g, scale), g(scale), rtol=1e-13)
    ok = np.array([1.3, 0.9, 0.7])
    J = npdiff.jacfwd(lambda s: f(x, s))(ok)
    assert_close(J, fd_jac(lambda s: f(x, s), [ok], 0), 1e-6, 1e-9, "d norm.cdf / d scale")


@pytest.mark.parametrize("name,shapes", [("norm", ()), ("expon", ()), ("logistic", ()), ("t", (4.0,)),
                                         ("beta", (2.0, 3.0)), ("lognorm", (0.7,)), ("uniform", ())])
@pytest.mark.parametrize("method", ["logpdf", "cdf", "sf", "logcdf", "logsf"])
def test_float32_data_gives_scipy_float64_results(name, shapes, method):
    x = np.array([0.2, 0.5, 0.9], np.float32)
    f = lambda x: getattr(getattr(st, name), method)(x, *shapes)
    want = f(x)
    got = npdiff.numpify(f, x)(x)
    assert got.dtype == want.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12)
    g = npdiff.grad(lambda x: np.sum(f(x)))(x)
    assert g.dtype == np.float32
    assert_close(g, fd_jac(lambda x: np.sum(f(x)), [x], 0).reshape(3), 1e-5, 1e-7, "float32 grad")


def test_float32_norm_ppf_and_poisson_counts_give_float64():
    q = np.array([0.1, 0.5, 0.8], np.float32)
    for f in (lambda q: st.norm.ppf(q, 0.5, 2.0), lambda q: st.norm.isf(q),
              lambda mu: st.poisson.logpmf(np.array([1, 2, 3], np.float32), mu[0] * 4)):
        want = f(q)
        got = npdiff.numpify(f, q)(q)
        assert got.dtype == want.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("name,shapes,xs", [
    ("beta", (1.0, 2.0), [0.0, 1.0]), ("beta", (2.0, 1.0), [0.0, 1.0]), ("beta", (1.0, 1.0), [0.0, 1.0]),
    ("beta", (0.5, 0.5), [0.0, 1.0]), ("gamma", (1.0,), [0.0]), ("gamma", (0.5,), [0.0]), ("gamma", (2.0,), [0.0]),
    ("chi2", (2.0,), [0.0]), ("chi2", (1.0,), [0.0]), ("t", (np.inf,), [-1.5, 0.5]),
    ("logistic", (), [np.inf, -np.inf, 50.0, -800.0]), ("beta", (2.0, 3.0), [np.nan, 0.5]),
    ("gamma", (2.0,), [np.nan, 1.0]), ("expon", (), [np.nan]), ("uniform", (), [np.nan, 0.5]),
    ("lognorm", (0.5,), [np.nan, 0.0])])
@pytest.mark.parametrize("method", ["logpdf", "pdf", "cdf", "sf", "logcdf", "logsf"])
def test_support_boundaries_infinite_df_and_nan_follow_scipy(name, shapes, xs, method):
    """SciPy's densities include the closed ends of the support, t with df=inf is normal, nan stays nan."""
    f = lambda x: getattr(getattr(st, name), method)(x, *shapes)
    x = np.array(xs)
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(_values(f, x), f(x), rtol=1e-13, atol=0, equal_nan=True)


def test_logistic_and_t_with_infinite_df_derivatives():
    x = np.array([-3.0, -0.2, 0.0, 0.4, 5.0])
    g = npdiff.grad(lambda x: np.sum(st.logistic.logpdf(x)))(x)
    assert_close(g, -np.tanh(x / 2), 1e-12, 1e-14, "logistic d/dx")
    assert npdiff.hessian(lambda x: st.logistic.logpdf(x))(0.0) == pytest.approx(-0.5)
    assert_close(npdiff.grad(lambda x: np.sum(st.t.logpdf(x, np.inf)))(x), -x, 1e-12, 1e-14, "t df=inf")
    df = np.array([3.0, np.inf, 4.0])
    f = lambda d: st.t.logpdf(x[:3], d)
    np.testing.assert_allclose(_values(f, df), f(df), rtol=1e-13)
    g = npdiff.jacfwd(f)(df)
    finite = np.array([3.0, 1e300, 4.0])
    assert_close(np.diag(g)[[0, 2]], np.diag(fd_jac(f, [finite], 0))[[0, 2]], 1e-6, 1e-9, "d t.logpdf / d df")
    assert np.diag(g)[1] == 0.0


def test_parameters_given_as_lists_including_traced_values():
    x = np.array([0.5, 1.0])
    cases = [lambda x: st.norm.logpdf(x, [0.0, 1.0], [1.0, 2.0]), lambda x: st.gamma.logpdf(x, [2.0, 3.0]),
             lambda x: st.norm.cdf(x, scale=[1.0, 2.0]), lambda x: st.beta.cdf(x / 2, [2.0, 3.0], (1.0, 2.0)),
             lambda x: st.norm.logpdf(x, scale=[x[0], 2.0]), lambda x: st.gamma.logpdf(x, [x[1], 2.0]),
             lambda x: st.poisson.logpmf([1, 2], [x[0], 2.0]), lambda x: st.norm.ppf([0.2, 0.7], x, [1.0, 2.0])]
    for f in cases:
        np.testing.assert_allclose(_values(f, x), f(x), rtol=1e-13)
        s = lambda x: np.sum(f(x))
        assert_close(npdiff.grad(s)(x), fd_jac(s, [x], 0).ravel(), 1e-6, 1e-8, "list parameters")
