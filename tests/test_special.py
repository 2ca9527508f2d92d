"""scipy.special and scipy.stats: values against SciPy, derivatives (forward and
reverse, first and second order) against central finite differences.

The elementwise special-function primitives are also swept over shapes by
tests/test_primitives.py (driven by their registered domains); these tests cover
the lowerings: dispatch of SciPy's ufuncs and the intercepted Python functions
(logsumexp, softmax, polygamma, scipy.stats log-densities...).
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")
st = pytest.importorskip("scipy.stats")

import npdiff
from util import assert_close, check_derivatives, fd_jac

RNG = np.random.default_rng(7)
P3 = np.array([0.7, 1.3, 2.6])
P23 = np.array([[0.6, 1.7, 2.2], [1.1, 0.8, 3.1]])
R3 = np.array([-1.3, 0.4, 1.9])
R23 = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]])
U3 = np.array([0.15, 0.45, 0.8])


def check(f, args, order=2, rtol=1e-5, atol=1e-6, vtol=1e-10):
    """numpify(f) reproduces f, and its derivatives match finite differences."""
    args = [np.asarray(a) for a in args]
    expect = f(*args)
    got = npdiff.numpify(f, *[npdiff.ShapeDtype(a.shape, a.dtype) for a in args])(*args)
    for e, g in zip(expect if isinstance(expect, tuple) else [expect], got if isinstance(got, tuple) else [got]):
        assert np.all(np.isfinite(e)), "choose inputs where f is finite"
        assert_close(g, e, vtol, vtol, "value")
    check_derivatives(f, args, order=order, rtol=rtol, atol=atol)


UFUNC_CASES = {
    "gammaln": (lambda x: sc.gammaln(x) * x, [P23]),
    "psi": (lambda x: sc.psi(x ** 2), [P3]),
    "digamma": (lambda x, y: sc.digamma(x + y), [P23, P3]),
    "gamma": (lambda x: sc.gamma(x), [P3]),
    "rgamma": (lambda x: sc.rgamma(x) + x, [P3]),
    "beta": (lambda a, b: sc.beta(a, b), [P23, P3]),
    "betaln": (lambda a, b: sc.betaln(a, b), [P3, np.array(1.7)]),
    "erf": (lambda x: sc.erf(x) * sc.erfc(x), [R23]),
    "erfinv": (lambda x: sc.erfinv(x * 0.4), [R3]),
    "erfcinv": (lambda x: sc.erfcinv(x), [U3 * 2]),
    "erfcx": (lambda x: sc.erfcx(x), [R3]),
    "dawsn": (lambda x: sc.dawsn(x), [R3]),
    "ndtr": (lambda x: sc.ndtr(x) + sc.log_ndtr(x), [R23]),
    "log_ndtr_tail": (lambda x: sc.log_ndtr(x), [np.array([-12.0, -6.5, -3.0])]),
    "ndtri": (lambda x: sc.ndtri(x), [U3]),
    "expit": (lambda x: sc.expit(x) * sc.log_expit(x), [R23]),
    "logit": (lambda x: sc.logit(x), [U3]),
    "xlogy": (lambda x, y: sc.xlogy(x, y), [R23, P3]),
    "xlog1py": (lambda x, y: sc.xlog1py(x, y), [R3, P23]),
    "entr": (lambda x: sc.entr(x), [P3]),
    "rel_entr": (lambda x, y: sc.rel_entr(x, y) + sc.kl_div(x, y), [P3, P23]),
    "i0": (lambda x: sc.i0(x) * sc.i1(x), [R23]),
    "i0e": (lambda x: sc.i0e(x) + sc.i1e(x), [R23]),
    "exp1": (lambda x: sc.exp1(x) + sc.expi(x), [P3]),
    "gammainc": (lambda a, x: sc.gammainc(2.5, x) + sc.gammaincc(a, 1.2), [P3, P3]),
    "scipy-numpy-ufuncs": (lambda x: sc.expm1(x) + sc.log1p(x) + sc.cbrt(x) + sc.exp2(x) + sc.exp10(x), [P3]),
    "softplus": (lambda x: sc.softplus(x), [R23]),
    "erfi-cosm1-spence": (lambda x: sc.erfi(x) + sc.cosm1(x) + sc.spence(x) + sc.wrightomega(x), [P3]),
    "poch-powm1": (lambda x, y: sc.poch(x, y) + sc.powm1(x, y), [P23, P3]),
    "owens_t": (lambda h, a: sc.owens_t(h, a), [R23, P3]),
    "huber": (lambda d, r: sc.huber(d, r) + sc.pseudo_huber(d, r), [np.array([0.5, 1.0, 1.5]), R23]),
    "bessel-01": (lambda x: sc.j0(x) + sc.j1(x) * sc.y0(x) + sc.y1(x) + sc.k0(x) + sc.k1(x) + sc.k0e(x) * sc.k1e(x),
                  [P3]),
    "bessel-v": (lambda x: sc.jv(1.5, x) + sc.yv(0.5, x) + sc.iv(2.0, x) + sc.kv(1.2, x) + sc.ive(0.7, x)
                 + sc.kve(2.5, x), [P23]),
    "expn": (lambda x: sc.expn(0, x) + sc.expn(1, x) + sc.expn(3, x), [P3]),
    "betainc": (lambda x: sc.betainc(2.5, 1.5, x) + sc.betaincc(0.7, 3.0, x), [U3]),
    "gammaincinv": (lambda y: sc.gammaincinv(2.5, y) + sc.gammainccinv(1.5, y), [U3]),
    "stdtr": (lambda t: sc.stdtr(3.5, t), [R23]),
}


@pytest.mark.parametrize("name", list(UFUNC_CASES))
def test_special_ufuncs(name):
    f, args = UFUNC_CASES[name]
    if name == "gammainc":  # no derivative in a: check x only
        check(lambda x: f(P3, x), [args[1]])
        with pytest.raises(npdiff.UnsupportedOperationError, match="gammaincc"):
            npdiff.grad(lambda a: np.sum(sc.gammaincc(a, 1.2)))(P3)
        with pytest.raises(npdiff.UnsupportedOperationError, match="jv"):
            npdiff.grad(lambda v: np.sum(sc.jv(v, 1.2)))(P3)
        return
    check(f, args)


def test_i1_and_i1e_at_zero():
    """I1(x)/x -> 1/2 at 0: the derivative of i1 and i1e is finite (and right) there."""
    x = np.array([0.0, 0.3])
    for fn, expect in ((sc.i1, 0.5), (sc.i1e, 0.5)):
        J = npdiff.jacfwd(fn)(x)
        assert np.isfinite(J).all()
        assert abs(J[0, 0] - expect) < 1e-12
    h = npdiff.grad(npdiff.grad(lambda x: sc.i1(x)))(0.0)
    assert abs(h) < 1e-12  # i1 is odd: its second derivative vanishes at 0


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_polygamma(n):
    check(lambda x: sc.polygamma(n, x), [P23], rtol=1e-4)


def test_polygamma_array_order_and_source():
    check(lambda x: sc.polygamma(np.array([0, 1, 2]), x), [P3], rtol=1e-4)
    src = npdiff.grad(lambda x: np.sum(sc.polygamma(1, x))).specialize((3,)).source
    assert "scipy.special.polygamma(2" in src
    with pytest.raises(npdiff.UnsupportedOperationError, match="polygamma"):
        npdiff.grad(lambda n: np.sum(sc.polygamma(n, P3)))(np.array(1.0))


def test_multigammaln():
    check(lambda a: sc.multigammaln(a, 3) * a, [np.array([2.5, 4.0])])


@pytest.mark.parametrize("kw,x", [
    ({}, R3), ({"axis": 1}, R23), ({"axis": 0, "keepdims": True}, R23), ({"axis": (0, 1)}, R23),
    ({"axis": -1, "b": np.array([0.5, 2.0, 1.0])}, R23), ({"axis": 0, "b": np.array([[1.0], [0.0]])}, R23),
])
def test_logsumexp(kw, x):
    check(lambda x: sc.logsumexp(x, **kw), [x])


def test_logsumexp_traced_b_and_sign():
    check(lambda x, b: sc.logsumexp(x, b=b), [R3, np.array([0.5, 2.0, 1.3])])
    f = lambda x, b: sc.logsumexp(x, axis=1, b=b, return_sign=True)
    b = np.array([[1.0, -2.0, 0.5], [-0.3, 1.0, 0.2]])
    out, sign = npdiff.numpify(f, (2, 3), (2, 3))(R23, b)
    ref, ref_sign = f(R23, b)
    assert_close(out, ref, 1e-12, 1e-12)
    assert_close(sign, ref_sign, 0, 0)
    check(lambda x, b: f(x, b)[0], [R23, b])


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_logsumexp_is_stable():
    x = np.array([1000.0, 1001.0, 999.0])
    g = npdiff.grad(lambda x: sc.logsumexp(x))(x)
    assert_close(g, sc.softmax(x), 1e-12, 1e-14)
    assert_close(npdiff.numpify(lambda x: sc.logsumexp(x), (3,))(x), sc.logsumexp(x), 1e-14, 0)
    ninf = np.array([-np.inf, -np.inf])
    assert npdiff.numpify(lambda x: sc.logsumexp(x), (2,))(ninf) == -np.inf
    p = sc.softmax(x)  # the stop-gradient shift leaves the exact Hessian diag(p) - p p^T
    assert_close(npdiff.hessian(lambda x: sc.logsumexp(x))(x), np.diag(p) - np.outer(p, p), 1e-10, 1e-12)


@pytest.mark.parametrize("axis", [None, 0, 1, (0, 1)])
def test_softmax_and_log_softmax(axis):
    check(lambda x: sc.softmax(x, axis=axis), [R23])
    check(lambda x: sc.log_softmax(x, axis=axis), [R23])


def test_softmax_large_inputs_and_float32():
    x = np.array([800.0, 801.0, 790.0])
    y = npdiff.numpify(lambda x: sc.softmax(x), (3,))(x)
    assert_close(y, sc.softmax(x), 1e-12, 1e-14)
    J = npdiff.jacrev(lambda x: sc.log_softmax(x))(x)
    assert np.isfinite(J).all()
    x32 = R3.astype(np.float32)
    g = npdiff.grad(lambda x: sc.logsumexp(x) + np.sum(sc.gammaln(x * x + 1.0)))(x32)
    assert g.dtype == np.float32
    ref = fd_jac(lambda x: sc.logsumexp(x) + np.sum(sc.gammaln(x * x + 1.0)), [R3], 0).ravel()
    assert_close(g, ref, 1e-3, 1e-4, "float32 gradient")


def test_untraced_calls_reach_scipy():
    """Inside a traced function, calls on constants run SciPy's own functions."""
    c = np.array([0.1, 0.2, 0.3])
    f = lambda x: x * sc.logsumexp(c) + sc.softmax(c)
    assert_close(npdiff.numpify(f, (3,))(R3), f(R3), 1e-14, 1e-14)
    assert sc.logsumexp.__module__.startswith("scipy")  # patches are removed after tracing


def test_generated_source_uses_scipy_and_pickles():
    f = lambda x: np.sum(sc.gammaln(x) + sc.erf(x))
    g = npdiff.grad(f).specialize((3,))
    assert "scipy.special.digamma" in g.source and "scipy.special.gammaln" not in g.source
    h = pickle.loads(pickle.dumps(g))
    assert_close(h(P3), sc.digamma(P3) + 2 / np.sqrt(np.pi) * np.exp(-P3 ** 2), 1e-12, 1e-12)


# -- scipy.stats ---------------------------------------------------------------------------------

X3 = np.array([0.3, 0.7, 1.2])
MU = np.array([0.1, -0.2, 0.4])
COV = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.5]])

STATS_CASES = {
    "norm.logpdf": (lambda x, m, s: st.norm.logpdf(x, m, s), [X3, np.array(0.2), np.array(1.4)]),
    "norm.logpdf-kw": (lambda x, s: st.norm.logpdf(x, scale=s, loc=1.0), [R23, np.array([0.5, 1.0, 2.0])]),
    "norm.pdf": (lambda x: st.norm.pdf(x), [R3]),
    "norm-frozen": (lambda x, s: st.norm(0.2, s).logpdf(x), [X3, np.array(1.3)]),
    "norm.cdf-family": (lambda x: st.norm.cdf(x, 0.1) + st.norm.logcdf(x) + st.norm.sf(x) + st.norm.logsf(x, 0, 2),
                        [R3]),
    "norm.ppf": (lambda q, s: st.norm.ppf(q, 1.0, s) + st.norm.isf(q), [U3, np.array(2.0)]),
    "gamma.logpdf": (lambda x, a: st.gamma.logpdf(x, a, scale=2.0), [X3, np.array(2.5)]),
    "gamma-frozen": (lambda x, a: st.gamma(a).logpdf(x), [X3, np.array(2.5)]),
    "beta.logpdf": (lambda x, a: st.beta.logpdf(x / 2, a, 2.0), [X3, np.array(2.5)]),
    "t.logpdf": (lambda x, df: st.t.logpdf(x, df), [R3, np.array(3.5)]),
    "lognorm.pdf": (lambda x, s: st.lognorm.pdf(x, s), [X3, np.array(0.7)]),
    "expon.logpdf": (lambda x: st.expon.logpdf(x, scale=2.0), [X3]),
    "misc.logpdf": (lambda x: st.laplace.logpdf(x, 0.5) + st.logistic.logpdf(x) + st.cauchy.logpdf(x, 1, 2)
                    + st.uniform.logpdf(x, -2, 4), [R3]),
    "mvn.logpdf": (lambda x, m: st.multivariate_normal.logpdf(x, m, COV), [X3, MU]),
    "mvn.logpdf-batch": (lambda x: st.multivariate_normal.logpdf(x, MU, COV), [np.stack([X3, 2 * X3])]),
    "mvn.logpdf-diag": (lambda x, c: st.multivariate_normal.logpdf(x, MU, c), [X3, np.array([1.0, 2.0, 0.5])]),
    "mvn.logpdf-scalar-cov": (lambda x, c: st.multivariate_normal.logpdf(x, cov=c), [R3, np.array(1.7)]),
    "mvn-frozen": (lambda x: st.multivariate_normal(MU, COV).logpdf(x) + st.multivariate_normal(MU, COV).pdf(x),
                   [X3]),
}


@pytest.mark.parametrize("name", list(STATS_CASES))
def test_stats(name):
    f, args = STATS_CASES[name]
    check(f, args)


def test_stats_outside_support_and_cleanup():
    f = lambda x: st.gamma.logpdf(x, 2.0)
    x = np.array([-1.0, 0.5])
    np.testing.assert_allclose(npdiff.numpify(f, (2,))(x), f(x), rtol=1e-12)  # -inf outside
    assert np.isfinite(npdiff.grad(lambda x: np.sum(np.exp(f(x))))(x)).all()  # no nan from the other branch
    assert "logpdf" not in vars(type(st.gamma))  # inherited methods are restored, not copied
    assert "logpdf" not in vars(type(st.norm))
