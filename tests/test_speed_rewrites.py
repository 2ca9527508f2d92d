"""Rewrites that make generated code faster: values, derivatives and the shape of the source."""
import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac


def test_logaddexp_gradient_is_one_sigmoid_pass():
    pytest.importorskip("scipy.special")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    y = (rng.uniform(size=40) < 0.5).astype(float)

    def nll(w):
        z = X @ w
        return np.sum(np.logaddexp(0.0, z) - y * z)

    w = rng.normal(size=4)
    g = npdiff.grad(nll).specialize((4,))
    assert "logaddexp" not in g.source and "np.exp" not in g.source
    assert g.source.count("expit(") == 1
    assert_close(g(w), X.T @ (1.0 / (1.0 + np.exp(-(X @ w))) - y), rtol=1e-12, atol=1e-12)
    assert_close(g(w), fd_jac(nll, [w], 0).ravel(), rtol=1e-6, atol=1e-7)
    H = npdiff.hessian(nll)(w)
    assert_close(H, fd_jac(npdiff.grad(nll), [w], 0), rtol=1e-5, atol=1e-6)


def test_logaddexp_derivative_far_in_the_tails():
    pytest.importorskip("scipy.special")
    a = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    b = np.array([0.0, 1.0, -2.0, 3.0, -800.0])
    with np.errstate(all="raise"):
        ga, gb = npdiff.grad(lambda a, b: np.sum(np.logaddexp(a, b)), argnums=(0, 1))(a, b)

    def sigmoid(d):  # the logistic function, written to be exact in both tails
        e = np.exp(-np.abs(d))
        return np.where(d >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    assert_close(ga, sigmoid(a - b), rtol=1e-14, atol=0)
    assert_close(gb, sigmoid(b - a), rtol=1e-14, atol=0)


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_sign_and_constant_canonical_forms_share_nodes():
    from npdiff.ir.graph import make_input
    from npdiff.primitives import ops
    x = make_input("x", (3,), np.float64)
    assert ops.mul(x, 2) is ops.mul(x, 2.0)
    assert ops.neg(ops.mul(x, -2.0)) is ops.mul(x, 2.0)
    assert ops.mul(x, -3.0) is ops.neg(ops.mul(x, 3.0))
    y = make_input("y", (3,), np.float64)
    assert ops.neg(ops.sub(x, y)) is ops.sub(y, x)
    assert ops.mul(ops.sub(x, y), -2.0) is ops.mul(ops.sub(y, x), 2.0)
    i = make_input("i", (3,), np.int64)
    assert ops.mul(i, 2).args[1].value == 2 and type(ops.mul(i, 2).args[1].value) is int


def test_rosenbrock_hvp_computes_each_product_once():
    n = 200  # the array version (no unrolled Python-float version at this size)
    x = np.linspace(-1.0, 1.5, n)
    v = np.cos(np.arange(n, dtype=float))
    hvp = npdiff.hvp(rosen).specialize((n,), (n,))
    src = hvp.source
    assert "-mul" not in src and "(-2.0)" not in src and "(-200.0)" not in src
    assert src.count("* 2.0") == 2, src
    H = fd_jac(npdiff.grad(rosen), [x], 0)
    assert_close(hvp(x, v), H @ v, rtol=1e-6, atol=1e-6)
    g = npdiff.grad(rosen).specialize((n,))
    assert_close(g(x), fd_jac(rosen, [x], 0).ravel(), rtol=1e-6, atol=1e-6)
    for k in (2, 3):  # the unrolled Python-float version
        xs, vs = x[:k], v[:k]
        assert_close(npdiff.hvp(rosen).specialize((k,), (k,))(xs, vs),
                     fd_jac(npdiff.grad(rosen), [xs], 0) @ vs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("c", [-2.0, -3, 0.5, 2])
def test_negative_constant_factors_keep_values_and_derivatives(c):
    def f(x):
        return np.sum(np.sin((1.0 - x) * c) * -(x * c) + (x - 2.0) * c)
    x = np.linspace(-0.7, 0.9, 5)
    ref = np.sum(np.sin((1.0 - x) * c) * -(x * c) + (x - 2.0) * c)
    assert_close(npdiff.numpify(f, (5,))(x), ref, rtol=1e-14, atol=1e-14)
    assert_close(npdiff.grad(f)(x), fd_jac(f, [x], 0).ravel(), rtol=1e-6, atol=1e-7)
    assert_close(npdiff.hessian(f)(x), fd_jac(npdiff.grad(f), [x], 0), rtol=1e-5, atol=1e-6)


def test_equal_data_closed_over_twice_is_one_constant():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 5))
    X2 = X.copy()

    def f(w):
        return np.sum((X @ w) ** 2) + np.sum(np.sin(X2 @ w))

    g = npdiff.grad(f).specialize((5,))
    assert len(g.consts) == 1 and g.source.count("@ w") == 1, g.source
    w = rng.normal(size=5)
    assert_close(g(w), 2 * X.T @ (X @ w) + X.T @ np.cos(X @ w), rtol=1e-12, atol=1e-12)
    X2[0, 0] += 1.0  # different content: two constants again
    op = npdiff.grad(f)
    op.cache_clear()  # operators of one function share their specialisations: trace again after the change
    g2 = op.specialize((5,))
    assert len(g2.consts) == 2
    assert_close(g2(w), fd_jac(f, [w], 0).ravel(), rtol=1e-6, atol=1e-6)


def test_constants_fold_through_broadcasts():
    X = np.random.default_rng(3).normal(size=(100, 5))

    def f(w):
        return np.sum((X + w) ** 2)

    h = npdiff.hessian(f).specialize((5,))
    assert "broadcast_to" not in h.source and ".sum(" not in h.source, h.source
    w = np.linspace(-1.0, 1.0, 5)
    assert_close(h(w), fd_jac(npdiff.grad(f), [w], 0), rtol=1e-6, atol=1e-5)
    assert_close(npdiff.grad(f)(w), fd_jac(f, [w], 0).ravel(), rtol=1e-6, atol=1e-5)
