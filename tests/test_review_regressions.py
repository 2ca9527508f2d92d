"""Wrong numbers and crashes found by a review of user-style probes, each against NumPy's own answer."""
import numpy as np

import npdiff
from util import fd_jac

X = np.array([0.5, -1.0, 2.0])


def test_iterating_over_a_trace_buffer():
    def f(x):
        b = np.zeros(3); b[:] = x
        a1, _, a3 = b
        return sum(r ** 2 for r in b) + a1 * a3 + sum(u * v for u, v in zip(b, x)) + list(b)[1]
    np.testing.assert_allclose(npdiff.grad(f)(X), fd_jac(f, [X], 0).ravel(), rtol=1e-6, atol=1e-8)


def test_hessian_draws_once_per_call_as_the_plain_function():
    rs = np.random.RandomState(0)

    def f(x):
        return rs.uniform() * np.sum(x ** 2)  # Hessian 2 u I
    rs.seed(0)
    got = [npdiff.hessian(f)(X)[0, 0] / 2 for _ in range(3)] + [rs.uniform()]
    rs.seed(0)
    np.testing.assert_allclose(got, [rs.uniform() for _ in range(4)], rtol=1e-12)


def test_keyword_values_changed_in_place_specialise_again():
    def f(x, idx=None):
        return np.sum(x[idx] ** 3)
    g, idx = npdiff.grad(f), [0, 2]
    g(X, idx=idx)
    idx[1] = 1
    np.testing.assert_allclose(g(X, idx=idx), [0.75, 3.0, 0.0])

    def h(x, opts=None):
        return np.sum(x ** opts["p"])
    opts = {"p": 2}
    npdiff.grad(h)(X, opts=opts)
    opts["p"] = 3
    np.testing.assert_allclose(npdiff.grad(h)(X, opts=opts), 3 * X ** 2)

    class Config:
        def __init__(self):
            self.p, self.w = 2, np.ones(3)
    cfg = Config()

    def m(x, cfg=None):
        return np.sum(cfg.w * x ** cfg.p)
    gm = npdiff.grad(m)
    gm(X, cfg=cfg)
    cfg.p = 3
    np.testing.assert_allclose(gm(X, cfg=cfg), 3 * X ** 2)
    cfg.w[1] = 5.0
    np.testing.assert_allclose(gm(X, cfg=cfg), cfg.w * 3 * X ** 2)


def test_state_read_through_slots_class_attributes_getattr_and_large_dicts_is_guarded():
    class Slotted:
        __slots__ = ("w",)

        def __init__(self):
            self.w = np.ones(3)

        def loss(self, x):
            return np.sum(self.w * x ** 3)
    o = Slotted()
    npdiff.grad(o.loss)(X)
    o.w[0] = 7.0
    np.testing.assert_allclose(npdiff.grad(o.loss)(X), 3 * o.w * X ** 2)

    class ByName:
        def __init__(self):
            self.W = np.ones(3)

        def loss(self, x):
            return np.sum(self.W * x ** 2)
    m = ByName()
    npdiff.grad(m.loss)(X)
    m.W[2] = 7.0
    np.testing.assert_allclose(npdiff.grad(m.loss)(X), 2 * m.W * X)

    class WithClassAttribute:
        k = 2.0

        @classmethod
        def loss(cls, x):
            return cls.k * np.sum(x ** 2)

        def own(self, x):
            return self.k * np.sum(x ** 2)
    g = npdiff.grad(WithClassAttribute.loss)
    g(X)
    WithClassAttribute.k = 4.0
    np.testing.assert_allclose(g(X), 8 * X)
    inst = WithClassAttribute()
    npdiff.grad(inst.own)(X)
    inst.k = 5.0  # an instance attribute now shadows the class attribute
    np.testing.assert_allclose(npdiff.grad(inst.own)(X), 10 * X)

    table = {f"k{i}": 1.0 for i in range(300)}

    def f(x):
        return table["k7"] * np.sum(x ** 2)
    npdiff.grad(f)(X)
    table["k7"] = 4.0
    np.testing.assert_allclose(npdiff.grad(f)(X), 8 * X)
