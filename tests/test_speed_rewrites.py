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
