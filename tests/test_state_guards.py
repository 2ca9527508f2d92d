"""Issue 20 part 1: state read from outside the arguments is never stale.

Every case changes a global, closure cell, default argument or attribute after
the first call and requires the new value (checked against a closed form).
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff

X = np.array([1.0, 2.0, 3.0])

A = np.eye(3)
SCALE = 2.0
BATCH = np.ones((4, 3))
TARGET = np.zeros(4)
BIG = np.ones(300_000)  # 2.4 MB: compared by a sample, never copied


def quad_a(x):
    return np.sum((A @ x) ** 2)


def scaled(x):
    return SCALE * np.sum(x ** 2)


def helper(x):
    return SCALE * x


def calls_helper(x):
    return np.sum(helper(x) ** 2)


def test_rebinding_a_global_array():
    global A
    g = npdiff.grad(quad_a)
    assert np.allclose(g(X), 2 * X)
    A = 2 * np.eye(3)
    try:
        assert np.allclose(g(X), 8 * X)
        assert np.allclose(npdiff.value_and_grad(quad_a)(X)[0], quad_a(X))
    finally:
        A = np.eye(3)


def test_in_place_change_of_a_global_array():
    g = npdiff.grad(quad_a)
    assert np.allclose(g(X), 2 * X)
    A[...] = 3 * np.eye(3)
    try:
        assert np.allclose(g(X), 18 * X)
    finally:
        A[...] = np.eye(3)
    assert np.allclose(g(X), 2 * X)


def test_global_python_scalar_and_helper_globals():
    global SCALE
    g, gh = npdiff.grad(scaled), npdiff.grad(calls_helper)
    assert np.allclose(g(X), 4 * X) and np.allclose(gh(X), 8 * X)
    SCALE = 5.0
    try:
        assert np.allclose(g(X), 10 * X)
        assert np.allclose(gh(X), 50 * X)  # a global of a function called by the traced one
    finally:
        SCALE = 2.0


def test_closure_variable_rebound_with_nonlocal():
    def make():
        c = 1.0

        def f(x):
            return c * np.sum(x ** 2)

        def set_c(v):
            nonlocal c
            c = v
        return f, set_c
    f, set_c = make()
    g = npdiff.grad(f)
    assert np.allclose(g(X), 2 * X)
    set_c(3.0)
    assert np.allclose(g(X), 6 * X)


class Model:
    def __init__(self, exog, endog):
        self.exog, self.endog = exog, endog

    def loglike(self, beta):
        r = self.endog - self.exog @ beta
        return -0.5 * np.sum(r ** 2)


def test_bound_method_attribute_rebound():
    rng = np.random.default_rng(0)
    m = Model(rng.normal(size=(6, 3)), rng.normal(size=6))
    g = npdiff.grad(m.loglike)
    want = lambda: m.exog.T @ (m.endog - m.exog @ X)
    assert np.allclose(g(X), want())
    m.exog = rng.normal(size=(6, 3))
    assert np.allclose(g(X), want())
    m.endog[:] = 1.0  # in place, through an attribute
    assert np.allclose(g(X), want())


def sgd_loss(w):
    return np.mean((BATCH @ w - TARGET) ** 2)


def test_sgd_loop_rebinding_the_minibatch():
    global BATCH, TARGET
    rng = np.random.default_rng(1)
    g = npdiff.grad(sgd_loss)
    w = np.zeros(3)
    try:
        for _ in range(5):
            BATCH, TARGET = rng.normal(size=(4, 3)), rng.normal(size=4)
            want = 2 * BATCH.T @ (BATCH @ w - TARGET) / 4
            got = g(w)
            assert np.allclose(got, want)
            w = w - 0.1 * got
        info = g.cache_info()
        assert info.currsize == 1  # stale paths are dropped, not accumulated
    finally:
        BATCH, TARGET = np.ones((4, 3)), np.zeros(4)


def test_default_arguments():
    def f(x, c=np.ones(3), k=1.0):  # noqa: B008 - the default argument is the state under test
        return k * np.sum(c * x ** 2)
    g = npdiff.grad(f)
    assert np.allclose(g(X), 2 * X)
    f.__defaults__[0][:] = 2.0  # the default array changed in place
    assert np.allclose(g(X), 4 * X)
    f.__defaults__ = (np.ones(3), 3.0)
    assert np.allclose(g(X), 6 * X)


def test_global_dict_and_list_items():
    params = {"w": np.ones(3)}
    coefs = [1.0]

    def f(x):
        return coefs[0] * np.sum(params["w"] * x ** 2)
    g = npdiff.grad(f)
    assert np.allclose(g(X), 2 * X)
    params["w"] = 2 * np.ones(3)
    assert np.allclose(g(X), 4 * X)
    coefs[0] = 3.0
    assert np.allclose(g(X), 12 * X)


def big_loss(x):
    return np.sum(BIG[:3] * x ** 2)


def test_large_global_array_changed_in_place():
    g = npdiff.grad(big_loss)
    assert np.allclose(g(X), 2 * X)
    BIG[:] = 2.0
    try:
        assert np.allclose(g(X), 4 * X)
    finally:
        BIG[:] = 1.0


def test_other_operators_see_the_change():
    global SCALE
    h, vg = npdiff.hessian(scaled), npdiff.value_and_grad(scaled)
    jf = npdiff.jacfwd(lambda x: SCALE * x)
    assert np.allclose(h(X), 4 * np.eye(3)) and np.allclose(jf(X), 2 * np.eye(3))
    vg(X)
    SCALE = 7.0
    try:
        assert np.allclose(h(X), 14 * np.eye(3))
        assert np.allclose(jf(X), 7 * np.eye(3))
        v, gr = vg(X)
        assert np.isclose(v, scaled(X)) and np.allclose(gr, 14 * X)
    finally:
        SCALE = 2.0


def test_no_state_means_no_guard():
    g = npdiff.grad(lambda x: np.sum(np.sin(x) ** 2))
    g(X)
    assert all(gf._state is None for gf in g._cache.values())


def test_pytree_arguments_see_the_change():
    global SCALE
    g = npdiff.grad(lambda p: SCALE * np.sum(p["a"] ** 2))
    assert np.allclose(g({"a": X})["a"], 4 * X)
    SCALE = 3.0
    try:
        assert np.allclose(g({"a": X})["a"], 6 * X)
    finally:
        SCALE = 2.0


@pytest.mark.parametrize("n", [2, 5])
def test_value_and_grad_value_equals_plain_call_after_changes(n):
    global SCALE
    vg = npdiff.value_and_grad(scaled)
    x = np.linspace(0.1, 1.0, n)
    for s in (1.0, 4.0, 2.0):
        SCALE = s
        assert vg(x)[0] == pytest.approx(scaled(x))
    SCALE = 2.0


def test_eager_jvp_sees_the_change():
    global SCALE
    t = np.ones(3)
    assert np.allclose(npdiff.jvp(scaled, (X,), (t,))[1], 4 * np.sum(X))
    SCALE = 3.0
    try:
        assert np.allclose(npdiff.jvp(scaled, (X,), (t,))[1], 6 * np.sum(X))
    finally:
        SCALE = 2.0


def test_user_module_attributes(tmp_path, monkeypatch):
    (tmp_path / "sg_user_model.py").write_text(
        "import numpy as np\nW = np.ones(3)\ndef loss(x):\n    return np.sum(W * x ** 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import sg_user_model as mod

    def f(x):
        return mod.loss(x) + np.sum(mod.W * x)
    g = npdiff.grad(f)
    assert np.allclose(g(X), 2 * X + 1)
    mod.W = 2 * np.ones(3)  # a global of another module, read through it
    assert np.allclose(g(X), 4 * X + 2)


def test_mici_derivative_sees_the_change():
    global SCALE
    from npdiff.mici import MiciDerivative
    m = MiciDerivative("grad_and_value", scaled)
    assert np.allclose(m(X)[0], 4 * X)
    SCALE = 3.0
    try:
        g, v = m(X)
        assert np.allclose(g, 6 * X) and np.isclose(v, scaled(X))
    finally:
        SCALE = 2.0


class Nested:
    def __init__(self):
        self.scale = 1.0
        self.inner = Model(np.eye(3), np.zeros(3))

    def _penalty(self, b):
        return self.scale * np.sum(b ** 2)  # 'scale' is named only in this helper

    def loss(self, b):
        return -self.inner.loglike(b) + self._penalty(b)


def test_attributes_read_by_helper_methods_and_nested_objects():
    m = Nested()
    g = npdiff.grad(m.loss)
    want = lambda: m.inner.exog.T @ (m.inner.exog @ X - m.inner.endog) + 2 * m.scale * X
    assert np.allclose(g(X), want())
    m.scale = 4.0
    assert np.allclose(g(X), want())
    m.inner.exog = 2 * np.eye(3)  # an attribute of an attribute
    assert np.allclose(g(X), want())
