"""Randomness is never frozen (issue 20, part 5).

With the same seed, the values npdiff's value_and_grad returns over several calls
equal the plain function's sequence, for RandomState and Generator objects made
inside the function, global, closed over, default arguments, attributes (of a global
object or of a bound method's self) and keyword arguments, and for the legacy module
functions; the methods people use draw in NumPy's order or are refused by name.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from npdiff import UnsupportedOperationError

X = np.array([0.5, -1.0, 2.0])
N_CALLS = 4


def rs_body(r, x):
    """Every supported RandomState method, with traced and constant arguments."""
    out = np.sum(x * r.randn(3)) + np.sum(x ** 2 * r.rand(3)) + np.sum(r.normal(x, 2.0))
    out = out + np.sum(x * r.uniform(-1.0, 2.0, size=3)) + np.sum(x * r.standard_normal(3))
    out = out + r.randint(0, 5) * np.sum(x) + np.sum(x[r.randint(0, 3, size=2)])
    out = out + np.sum(r.choice(x, size=2)) + np.sum(r.choice(x, size=2, replace=False, p=[0.2, 0.3, 0.5]))
    out = out + np.sum(x[r.permutation(3)] * r.random_sample(3)) + np.sum(r.permutation(x) * np.arange(3.0))
    return out + r.choice(4) * x[0]


def gen_body(r, x):
    """Every supported Generator method."""
    out = np.sum(x * r.standard_normal(3)) + np.sum(r.normal(x, 0.5)) + np.sum(x * r.uniform(1.0, 2.0, 3))
    out = out + np.sum(x * r.random(3)) + r.integers(0, 4) * np.sum(x)
    return out + np.sum(r.choice(x, 2, replace=False)) + np.sum(r.permutation(x) * np.arange(3.0))


def legacy_body(x):
    out = np.sum(x * np.random.randn(3)) + np.sum(x * np.random.rand(3)) + np.sum(np.random.normal(x, 1.5))
    out = out + np.sum(x * np.random.uniform(0.0, 2.0, 3)) + np.sum(x * np.random.standard_normal(3))
    out = out + np.random.randint(0, 3) * np.sum(x) + np.sum(np.random.choice(x, 2))
    return out + np.sum(np.random.permutation(x) * np.arange(3.0))


class Sampler:
    def __init__(self, seed):
        self.rs = np.random.RandomState(seed)
        self.inner = {"rng": np.random.default_rng(seed)}

    def loss(self, x):
        return rs_body(self.rs, x) + gen_body(self.inner["rng"], x)


SAMPLER = Sampler(0)
RS = np.random.RandomState(0)
RNG = np.random.default_rng(0)


def f_global_rs(x):
    return rs_body(RS, x)


def f_global_gen(x):
    return gen_body(RNG, x)


def f_attribute(x):
    return SAMPLER.loss(x)


def f_legacy(x):
    return legacy_body(x)


def _seq(f, reset, op=None):
    reset()
    out = []
    for _ in range(N_CALLS):
        out.append(f(X) if op is None else op(f)(X)[0])  # a new operator object each call, as in a loop
    return np.array(out)


def _reset_all():
    global RNG
    np.random.seed(3)
    RS.seed(1)
    SAMPLER.rs.seed(2)
    SAMPLER.inner["rng"].bit_generator.state = np.random.default_rng(4).bit_generator.state
    RNG.bit_generator.state = np.random.default_rng(5).bit_generator.state


@pytest.mark.parametrize("f", [f_global_rs, f_global_gen, f_attribute, f_legacy], ids=lambda f: f.__name__)
def test_value_sequence_equals_plain_function(f):
    plain = _seq(f, _reset_all)
    got = _seq(f, _reset_all, npdiff.value_and_grad)
    np.testing.assert_allclose(got, plain, rtol=1e-13)
    assert len(set(np.round(plain, 12))) == N_CALLS  # the draws really differ between calls


def test_bound_method_self_attribute():
    s = Sampler(0)
    g = npdiff.value_and_grad(s.loss)

    def reset():
        s.rs.seed(9)
        s.inner["rng"].bit_generator.state = np.random.default_rng(9).bit_generator.state
    reset()
    plain = [s.loss(X) for _ in range(N_CALLS)]
    reset()
    np.testing.assert_allclose([g(X)[0] for _ in range(N_CALLS)], plain, rtol=1e-13)


def test_default_argument_and_closure_and_keyword():
    def make():
        rs = np.random.RandomState(6)

        def f(x, rng=np.random.default_rng(7)):  # noqa: B008 - a Generator default is the case under test
            return rs_body(rs, x) + gen_body(rng, x)
        return f
    plain = [make()] * 1
    f_plain = plain[0]
    expected = [f_plain(X) for _ in range(N_CALLS)]
    f = make()
    np.testing.assert_allclose([npdiff.value_and_grad(f)(X)[0] for _ in range(N_CALLS)], expected, rtol=1e-13)

    def h(x, rng=None):
        return gen_body(rng, x)
    r1, r2 = np.random.default_rng(8), np.random.default_rng(8)
    got = [npdiff.value_and_grad(h)(X, rng=r1)[0] for _ in range(N_CALLS)]
    np.testing.assert_allclose(got, [h(X, rng=r2) for _ in range(N_CALLS)], rtol=1e-13)


def test_generators_made_inside_the_function():
    def seeded(x):
        return rs_body(np.random.RandomState(3), x) + gen_body(np.random.default_rng(3), x)
    vg = npdiff.value_and_grad(seeded)
    assert [vg(X)[0] for _ in range(2)] == pytest.approx([seeded(X)] * 2, rel=1e-13)

    def unseeded(x):
        return np.sum(x * np.random.RandomState().randn(3))
    F = npdiff.value_and_grad(unseeded)
    assert F(X)[0] != F(X)[0]  # fresh entropy on every call, as the plain function
    assert isinstance(np.random.RandomState(0), np.random.RandomState)


def test_gradient_flows_through_choice_and_permutation_of_traced_arrays():
    def f(x):
        r = np.random.RandomState(0)
        return np.sum(r.permutation(x) * np.arange(1.0, 4.0)) + np.sum(r.choice(x, size=5) ** 2)
    r = np.random.RandomState(0)
    perm = r.permutation(3)
    idx = r.choice(3, size=5)
    expect = np.zeros(3)
    expect[perm] += np.arange(1.0, 4.0)
    np.add.at(expect, idx, 2 * X[idx])
    np.testing.assert_allclose(npdiff.grad(f)(X), expect, rtol=1e-13)


@pytest.mark.parametrize("body,name", [
    (lambda x: x * RS.gamma(2.0, size=3), "RandomState.gamma"),
    (lambda x: x * RNG.gamma(2.0, size=3), "Generator.gamma"),
    (lambda x: x * np.random.exponential(size=3), "exponential"),
    (lambda x: (RS.shuffle(x), x)[1], "shuffle"),
    (lambda x: (RNG.shuffle(x), x)[1], "shuffle"),
    (lambda x: (np.random.shuffle(x), x)[1], "shuffle"),
    (lambda x: (RS.seed(0), x)[1], "RandomState.seed"),
    (lambda x: x * SAMPLER.rs.gamma(2.0, size=3), "RandomState.gamma"),
])
def test_unsupported_methods_are_refused_by_name(body, name):
    with pytest.raises(UnsupportedOperationError, match=name):
        npdiff.grad(lambda x: np.sum(body(x)))(X.copy())
    assert type(RS) is np.random.RandomState and type(SAMPLER.rs) is np.random.RandomState  # restored


def test_unused_draws_still_advance_the_generators():
    rng = np.random.default_rng(0)

    def f(x):
        rng.normal(size=3)  # never used: still drawn, as the plain function draws it
        np.random.randn(2)
        return np.sum(x * rng.standard_normal(3)) + np.sum(x ** 2)

    def run(call):
        np.random.seed(1)
        rng.bit_generator.state = np.random.default_rng(2).bit_generator.state
        return [call() for _ in range(3)] + [np.random.randn(), rng.random()]
    np.testing.assert_allclose(run(lambda: npdiff.value_and_grad(f)(X)[0]), run(lambda: f(X)), rtol=1e-13)
