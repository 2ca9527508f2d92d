"""Outputs and calls as model code writes them (issue 21): grad of a size-1 output, traced values
handed to compiled code (named in a TracingError, never a bare TypeError/AttributeError), and
minibatch slices X[i * bs:(i + 1) * bs] with i an argument (one path per batch length)."""
from __future__ import annotations

import numpy as np
import pytest
from tests.util import assert_close, fd_jac

import npdiff

X = np.array([0.3, -1.1, 0.8, 2.0])


@pytest.mark.parametrize("f", [
    lambda x: np.sum(x ** 3, keepdims=True),
    lambda x: (x @ np.ones((4, 1))) ** 2,
    lambda x: np.prod(np.cos(x), keepdims=True).reshape(1, 1),
], ids=["keepdims", "matmul-one-column", "1x1"])
def test_grad_of_a_size_one_output(f):
    g = npdiff.grad(f)(X)
    assert g.shape == X.shape
    assert_close(g, fd_jac(f, [X], 0).reshape(X.shape), 1e-5, 1e-6)
    v, g2 = npdiff.value_and_grad(f)(X)
    assert np.shape(v) == np.shape(f(X))  # the value keeps its shape, as autograd returns it
    assert_close(v, f(X), 1e-12, 1e-12)
    assert_close(g2, g, 1e-12, 1e-12)


def test_grad_of_a_larger_output_is_still_refused():
    with pytest.raises(TypeError, match=r"requires a scalar-valued function; the output has shape \(2,\)"):
        npdiff.grad(lambda x: x[:2] ** 2)(X)


def test_compiled_code_receiving_a_traced_value_is_named():
    spatial = pytest.importorskip("scipy.spatial")
    tree = spatial.cKDTree(np.random.default_rng(0).random((10, 2)))
    with pytest.raises(npdiff.TracingError, match=r"(?s)tree\.query received a traced array.*result of such a call as a "
                                                  r"constant only if it does not depend on traced values"):
        npdiff.grad(lambda x: np.sum(tree.query(x[:2])[0]))(X)


def test_blas_helper_receiving_a_traced_value_is_named():
    blas = pytest.importorskip("scipy.linalg.blas")
    with pytest.raises(npdiff.TracingError, match=r"(?s)blas\.dgemv converted a traced array.*constant only if"):
        npdiff.grad(lambda x: np.sum(blas.dgemv(1.0, np.ones((2, 4)), x)))(X)


def test_compiled_code_on_constants_stays_a_constant():
    spatial = pytest.importorskip("scipy.spatial")
    pts = np.random.default_rng(1).random((10, 4))
    tree = spatial.cKDTree(pts)

    def f(x):
        _, k = tree.query(np.array([0.5, 0.5, 0.5, 0.5]))  # no traced argument: an ordinary constant
        return np.sum((x - pts[k]) ** 2)
    k = tree.query(np.full(4, 0.5))[1]
    assert_close(npdiff.grad(f)(X), 2 * (X - pts[k]), 1e-12, 1e-12)


def test_user_attribute_errors_are_not_rewritten():
    with pytest.raises(AttributeError, match="no attribute 'no_such_attribute'"):
        npdiff.grad(lambda x: np.sum(x.no_such_attribute))(X)


# -- minibatches: slice bounds from an integer argument ------------------------------------------

RNG = np.random.default_rng(3)
XD = RNG.standard_normal((23, 3))
YD = XD @ np.array([1.0, -2.0, 0.5]) + 0.1 * RNG.standard_normal(23)
BS = 5


def batch_loss(w, X, y, i):
    xb = X[i * BS:(i + 1) * BS]
    yb = y[i * BS:(i + 1) * BS]
    return np.sum(np.tanh(xb @ w) - yb) ** 2 + np.sum(xb[:, 1:] ** 2 * w[1:] ** 3)


def test_minibatch_index_is_a_run_time_input():
    w = np.array([0.2, -0.1, 0.3])
    g, h = npdiff.grad(batch_loss), npdiff.hessian(batch_loss)
    for i in range(5):  # four full batches of 5 and one of 3
        f = lambda v, i=i: batch_loss(v, XD, YD, i)
        assert_close(g(w, XD, YD, i), fd_jac(f, [w], 0).ravel(), 1e-5, 1e-6, f"grad {i}")
        assert_close(np.reshape(h(w, XD, YD, i), (3, 3)), fd_jac(lambda v, i=i: npdiff.grad(batch_loss)(v, XD, YD, i),
                                                                 [w], 0), 1e-4, 1e-5, f"hessian {i}")
    assert g.cache_info().paths == (2,)  # one path per batch length, not one per batch
    assert h.cache_info().paths == (2,)


def test_minibatch_derivative_in_the_data():
    w = np.array([0.2, -0.1, 0.3])
    gx = npdiff.grad(batch_loss, argnums=1)
    for i in (0, 2, 4):
        f = lambda X, i=i: batch_loss(w, X, YD, i)
        assert_close(gx(w, XD, YD, i), fd_jac(f, [XD], 0).reshape(XD.shape), 1e-5, 1e-6, f"d/dX {i}")
    assert gx.cache_info().paths == (2,)
    hx = npdiff.jacfwd(npdiff.grad(batch_loss, argnums=1), argnums=1)(w, XD, YD, 2)  # second order in the data
    fd2 = fd_jac(lambda X: npdiff.grad(batch_loss, argnums=1)(w, X, YD, 2), [XD], 0)
    assert_close(np.reshape(hx, fd2.shape), fd2, 1e-4, 1e-5, "second derivative in the data")


def test_minibatch_source_slices_at_run_time():
    src = npdiff.grad(batch_loss).specialize(np.zeros(3), XD, YD, np.array(2)).source
    assert "X[" in src and ":" in src and " + 5]" in src
    gf = npdiff.grad(batch_loss).specialize(np.zeros(3), XD, YD, np.array(2))
    w = np.array([0.2, -0.1, 0.3])
    assert_close(gf(w, XD, YD, np.array(1)), npdiff.grad(batch_loss)(w, XD, YD, 1), 1e-12, 1e-12)
    with pytest.raises(npdiff.PathChangedError):
        gf(w, XD, YD, np.array(4))  # the short last batch: another length


def test_negative_bounds_keep_numpys_meaning():
    f = lambda w, X, i: np.sum(X[-i - 2:-i] @ w)
    w = np.array([0.2, -0.1, 0.3])
    for i in (1, 3):
        assert_close(npdiff.grad(f)(w, XD, i), XD[-i - 2:-i].sum(axis=0), 1e-12, 1e-12)
