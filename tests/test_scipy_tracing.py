"""SciPy functions that convert their input first (SciPy's array-API layer) trace.

Many SciPy functions start with ``xp = array_namespace(x)`` and ``xp.asarray(x)``
(or ``xp_promote``), then compute with ``xp.sum``, ``xp.exp``, ``xpx.at(x)[i].set(v)``.
While a trace runs, those conversions keep a traced value traced (on the tracing
thread only), so SciPy's own code builds the graph. Every derivative here is
checked against central finite differences or SciPy's closed forms.
"""
from __future__ import annotations

import textwrap
import threading

import numpy as np
import pytest

so = pytest.importorskip("scipy.optimize")
sc = pytest.importorskip("scipy.special")
st = pytest.importorskip("scipy.stats")

import npdiff
from util import assert_close, fd_jac

X4 = np.array([0.8, 1.3, -0.4, 1.1])
X6 = np.array([1.2, 0.9, 1.4, -0.3, 0.7, 1.05])


def _fd_grad(f, x):
    return fd_jac(f, [x], 0).reshape(np.shape(x))


# -- scipy.optimize's test functions ---------------------------------------------------------------

@pytest.mark.parametrize("x", [X4, X6])
def test_rosen_gradient_and_hessian(x):
    g = npdiff.grad(so.rosen)(x)
    assert_close(g, _fd_grad(so.rosen, x), 1e-6, 1e-5, "grad vs finite differences")
    assert_close(g, so.rosen_der(x), 1e-12, 1e-10, "grad vs rosen_der")
    H = npdiff.hessian(so.rosen)(x)
    assert_close(H, so.rosen_hess(x), 1e-12, 1e-9, "hessian vs rosen_hess")
    assert_close(npdiff.numpify(so.rosen, x.shape)(x), so.rosen(x), 1e-14, 1e-12, "value")


@pytest.mark.parametrize("jac", [npdiff.jacfwd, npdiff.jacrev])
def test_rosen_der_traced_its_jacobian_is_the_hessian(jac):
    """rosen_der writes into xp.zeros_like(x) by slices; its Jacobian is rosen_hess."""
    J = jac(so.rosen_der)(X6)
    assert_close(J, so.rosen_hess(X6), 1e-12, 1e-9, "Jacobian vs rosen_hess")
    assert_close(J, fd_jac(so.rosen_der, [X6], 0), 1e-6, 1e-4, "Jacobian vs finite differences")


def test_rosen_hess_traced_builds_its_diagonal_in_scipy_arrays():
    """rosen_hess writes traced values into xp.zeros(n) made by SciPy: a third derivative of rosen."""
    p = np.array([0.3, -0.7, 1.1, 0.5])
    f = lambda x: so.rosen_hess(x) @ p
    assert_close(npdiff.jacrev(f)(X4), fd_jac(f, [X4], 0), 1e-6, 1e-4, "d(H p)/dx")
    hp = lambda x: so.rosen_hess_prod(x, p)
    assert_close(npdiff.jacfwd(hp)(X4), fd_jac(hp, [X4], 0), 1e-6, 1e-4, "rosen_hess_prod")


def test_rosen_shapes_only_has_no_guards():
    gf = npdiff.grad(so.rosen).specialize((5,))
    assert not gf.guarded
    assert_close(gf(X4[:3].repeat(2)[:5]), so.rosen_der(X4[:3].repeat(2)[:5]), 1e-12, 1e-10)


# -- scipy.special functions bound early ----------------------------------------------------------

MODEL = """
    import numpy as np
    from scipy.special import logsumexp, softmax, log_softmax

    def mixture(x, w):
        # log sum_k w_k exp(x_k) and friends, with the names bound at import time
        return logsumexp(x, b=w) + np.sum(softmax(x) * x) - log_softmax(x)[1]

    def rows(x):
        return logsumexp(x, axis=1, keepdims=True) * softmax(x, axis=0)
"""


@pytest.fixture
def early(tmp_path, monkeypatch):
    (tmp_path / "early_special.py").write_text(textwrap.dedent(MODEL))
    monkeypatch.syspath_prepend(str(tmp_path))
    import early_special
    yield early_special
    import sys
    sys.modules.pop("early_special", None)


def test_logsumexp_bound_early_traced_directly(early):
    w = np.array([0.5, 2.0, 1.0, 0.25])
    f = lambda x: early.mixture(x, w)  # the module's globals are not the traced function's
    g = npdiff.grad(f)(X4)
    assert_close(g, _fd_grad(f, X4), 1e-6, 1e-6, "grad")
    H = npdiff.hessian(f)(X4)
    assert_close(H, fd_jac(npdiff.grad(f), [X4], 0), 1e-5, 1e-5, "hessian")
    assert early.logsumexp.__module__.startswith("scipy")


def test_logsumexp_bound_early_module_function_and_weights(early):
    w = np.array([0.5, 2.0, 1.0, 0.25])
    for i in (0, 1):
        J = npdiff.jacrev(early.mixture, argnums=i)(X4, w)
        assert_close(J, fd_jac(early.mixture, [X4, w], i).ravel(), 1e-6, 1e-6, f"argument {i}")


def test_softmax_and_logsumexp_with_axes_bound_early(early):
    x = X6.reshape(2, 3)
    for jac in (npdiff.jacfwd, npdiff.jacrev):
        J = jac(lambda x: early.rows(x))(x)
        assert_close(J, fd_jac(early.rows, [x], 0).reshape(J.shape), 1e-6, 1e-6, jac.__name__)


def test_scipy_softmax_jacobian_closed_form():
    s = sc.softmax(X4)
    f = lambda x: [sc.softmax, sc.log_softmax][1](x)  # reached through a list: SciPy's own function
    J = npdiff.jacfwd(lambda x: sc.softmax(x))(X4)
    assert_close(J, np.diag(s) - np.outer(s, s), 1e-12, 1e-14, "softmax Jacobian")
    assert_close(npdiff.jacrev(f)(X4), np.eye(4) - s[None, :], 1e-12, 1e-14, "log_softmax Jacobian")


# -- scipy.stats log-densities ----------------------------------------------------------------------

COV = np.array([[2.0, 0.3, 0.1, 0.0], [0.3, 1.0, 0.2, 0.1], [0.1, 0.2, 1.5, -0.2], [0.0, 0.1, -0.2, 0.8]])
MU = np.array([0.1, -0.2, 0.4, 0.0])
POS = np.array([0.4, 1.3, 2.2, 0.7])
UNIT = np.array([0.2, 0.45, 0.7, 0.9])

# name -> (log-density of x and a traced parameter, x, parameter value)
DENSITIES = {
    "norm": (lambda x, p: st.norm.logpdf(x, loc=p, scale=1.7), X4, 0.3),
    "norm-scale": (lambda x, p: st.norm.logpdf(x, 0.2, p), X4, 1.4),
    "expon": (lambda x, p: st.expon.logpdf(x, scale=p), POS, 1.6),
    "laplace": (lambda x, p: st.laplace.logpdf(x, p, 2.0), X4, 0.25),
    "logistic": (lambda x, p: st.logistic.logpdf(x, scale=p), X4, 0.9),
    "cauchy": (lambda x, p: st.cauchy.logpdf(x, p), X4, -0.1),
    "gamma": (lambda x, p: st.gamma.logpdf(x, p), POS, 2.3),
    "beta": (lambda x, p: st.beta.logpdf(x, p, 1.8), UNIT, 2.5),
    "t": (lambda x, p: st.t.logpdf(x, p), X4, 3.5),
    "lognorm": (lambda x, p: st.lognorm.logpdf(x, p), POS, 0.7),
    "uniform": (lambda x, p: st.uniform.logpdf(x, -1.0, p), X4, 3.0),
    "mvn": (lambda x, p: st.multivariate_normal.logpdf(x, MU * p, COV), X4, 1.5),
    "mvn-frozen": (lambda x, p: st.multivariate_normal(MU, COV).logpdf(x * p), X4, 0.8),
}


@pytest.mark.parametrize("name", sorted(DENSITIES))
def test_stats_log_density_derivatives(name):
    f, x, p = DENSITIES[name]
    p = np.asarray(p)
    total = lambda x, p: np.sum(f(x, p))
    assert_close(npdiff.numpify(total, x.shape, ())(x, p), total(x, p), 1e-12, 1e-12, "value")
    for i in (0, 1):
        g = npdiff.grad(total, argnums=i)(x, p)
        assert_close(g, fd_jac(total, [x, p], i).reshape(np.shape(g)), 1e-6, 1e-6, f"argument {i}")
    H = npdiff.hessian(total)(x, p)
    assert_close(H, fd_jac(npdiff.grad(total), [x, p], 0), 1e-5, 1e-5, "hessian")


def test_mvn_logpdf_gradient_closed_form():
    g = npdiff.grad(lambda x: st.multivariate_normal.logpdf(x, MU, COV))(X4)
    assert_close(g, -np.linalg.solve(COV, X4 - MU), 1e-12, 1e-12)


@pytest.mark.parametrize("name,f", [
    ("entropy", lambda x: st.entropy(x)),
    ("gmean", lambda x: st.gmean(x)),
    ("zscore", lambda x: st.zscore(x)),
    ("skew", lambda x: st.skew(x)),
    ("boxcox_llf", lambda x: st.boxcox_llf(0.5, x)),
])
def test_array_api_stats_functions_trace(name, f):
    """scipy.stats functions written on the array API (through their axis/nan-policy wrapper)."""
    J = npdiff.jacrev(f)(POS)
    assert_close(J, fd_jac(f, [POS], 0).reshape(np.shape(J)), 1e-6, 1e-6, name)


# -- the interception is scoped ---------------------------------------------------------------------

def test_other_threads_still_get_concrete_conversions():
    """While one thread traces, SciPy on another thread converts as usual (a Tracer there is refused)."""
    seen = {}

    def f(x):
        def other():
            try:
                so.rosen(x)  # SciPy on another thread must not treat the Tracer as an array
                seen.setdefault("error", None)  # the first call is the trace (self-checks call f again)
            except npdiff.TracingError as e:
                seen.setdefault("error", e)
            seen.setdefault("plain", type(sc.logsumexp(np.array([0.0, 1.0]))))
        t = threading.Thread(target=other)
        t.start()
        t.join()
        return so.rosen(x)

    g = npdiff.grad(f)(X4)
    assert_close(g, so.rosen_der(X4), 1e-12, 1e-10)
    assert isinstance(seen["error"], npdiff.TracingError)
    assert seen["plain"] in (np.float64, np.ndarray)


def test_untraced_scipy_calls_inside_a_trace_return_plain_values():
    c = np.array([0.5, 1.5, -0.5])

    def f(x):
        k = so.rosen(c)  # constants: SciPy's ordinary result
        assert isinstance(k, (float, np.floating, np.ndarray)) and np.isfinite(k)
        return k * np.sum(x ** 2)

    assert_close(npdiff.grad(f)(X4), 2 * so.rosen(c) * X4, 1e-12, 1e-12)
