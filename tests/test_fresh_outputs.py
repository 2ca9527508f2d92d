"""Outputs are fresh and consistently typed (issue 20, part 3).

Every output of every operator family is mutated in place; the arguments, the
other outputs and the results of later calls must not change. Derivatives with
respect to 0-d or Python-float arguments are NumPy scalars (np.float64) on every path.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

import npdiff
import npdiff.diffops as diffops
from npdiff.api import mici_style

C = np.array([1.5, -2.0, 0.25])  # a global constant the derivatives equal
BIG = np.linspace(-1.0, 1.0, 300)  # large enough for the array (not unrolled) path


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    if isinstance(out, dict):
        return [leaf for o in out.values() for leaf in _leaves(o)]
    return [out]


def _mutate_each_and_check(call, args):
    """Call, then mutate each array output in place in turn: nothing else may change."""
    before_args = copy.deepcopy(args)
    out = call(*args)
    leaves = [leaf for leaf in _leaves(out) if isinstance(leaf, np.ndarray)]
    assert leaves, "no array output to mutate"
    expected = [leaf.copy() for leaf in _leaves(out) if isinstance(leaf, np.ndarray)]
    for i, leaf in enumerate(leaves):
        assert leaf.flags.writeable, "outputs are writeable arrays"
        leaf[...] = 12345.0
        for j, other in enumerate(leaves):  # no output aliases another
            if j != i:
                np.testing.assert_array_equal(other, expected[j])
        leaf[...] = expected[i]
    for leaf in leaves:
        leaf[...] = -777.0
    for a, b in zip(_leaves(args), _leaves(before_args)):  # arguments untouched
        np.testing.assert_array_equal(a, b)
    again = [leaf for leaf in _leaves(call(*args)) if isinstance(leaf, np.ndarray)]
    for a, e in zip(again, expected):  # later results (constants hoisted in the code) untouched
        np.testing.assert_array_equal(a, e)


def lin(x, y):
    return np.sum(x * y)


def glob(x):
    return np.sum(C * x)


def quad(x):
    return 0.5 * np.sum(x ** 2)


def ident(x):
    return x


def twice(x):
    return 2.0 * x


SIZES = {"unrolled": lambda: np.array([0.3, -0.7, 1.1]), "array": lambda: BIG.copy()}


@pytest.mark.parametrize("path", sorted(SIZES))
def test_jax_style_operators_never_alias(path):
    x, y = SIZES[path](), SIZES[path]() * 3.0 + 1.0
    cx = C if path == "unrolled" else np.resize(C, x.shape)

    def glob2(x):
        return np.sum(cx * x)
    cases = [
        (npdiff.grad(lin), (x, y)),  # the gradient is y itself
        (npdiff.grad(lin, argnums=(0, 1)), (x, y)),
        (npdiff.grad(lin, argnums=(0, 0)), (x, y)),  # the same node twice
        (npdiff.value_and_grad(lin, argnums=(0, 1)), (x, y)),
        (npdiff.grad(glob2), (x,)),  # a closed-over constant
        (npdiff.hvp(quad), (x, y)),  # H v is v itself
        (npdiff.jacfwd(ident), (x,)), (npdiff.jacrev(twice), (x,)), (npdiff.jacobian(ident), (x,)),
        (npdiff.hessian(quad), (x,)),
        (npdiff.grad(lambda d: np.sum(d["a"] * d["b"])), ({"a": x, "b": y},)),  # pytree path
    ]
    for op, args in cases:
        _mutate_each_and_check(op, args)


def test_eager_operators_never_alias():
    x, t = np.array([0.3, -0.7, 1.1]), np.array([1.0, 2.0, 3.0])
    _mutate_each_and_check(lambda x, t: npdiff.jvp(ident, (x,), (t,)), (x, t))
    _mutate_each_and_check(lambda x, t: npdiff.vjp(ident, x)[1](t), (x, t))
    _mutate_each_and_check(lambda x, t: npdiff.linearize(ident, x)[1](t), (x, t))
    _mutate_each_and_check(lambda x, t: npdiff.jvp(lambda a: C * a, (x,), (t,)), (x, t))
    _mutate_each_and_check(lambda x, t: npdiff.vjp(lambda a: C * a, x)[1](t), (x, t))


def test_pullback_and_product_operators_never_return_stored_values():
    x, v = np.array([0.3, -0.7, 1.1]), np.array([1.0, 2.0, 3.0])
    _, pull = npdiff.vjp(glob, x)
    _mutate_each_and_check(pull, (np.float64(1.0),))  # the pullback returns C, a constant
    gv = mici_style.vjp_and_value(twice)
    _mutate_each_and_check(lambda x, v: gv(x)[0](v), (x, v))
    _mutate_each_and_check(lambda x, v: mici_style.vjp_and_value(ident)(x)[0](v), (x, v))


def test_mici_style_and_diffops_never_alias():
    x = np.array([0.3, -0.7, 1.1])
    for op in (mici_style.grad_and_value, mici_style.hessian_grad_and_value):
        _mutate_each_and_check(lambda x, op=op: [o for o in op(quad)(x) if not callable(o)], (x,))
    _mutate_each_and_check(lambda x: mici_style.jacobian_and_value(ident)(x), (x,))
    _mutate_each_and_check(diffops.gradient(quad, (3,)), (x,))
    _mutate_each_and_check(diffops.jacobian(ident, (3,)), (x,))
    _mutate_each_and_check(diffops.hessian(quad, (3,)), (x,))
    _mutate_each_and_check(npdiff.numpify(ident, (3,)), (x,))  # the function itself returns its argument


def test_the_issue_examples():
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    g = npdiff.grad(lambda x, y: np.sum(x * y))(x, y)
    assert g is not y and not np.shares_memory(g, y)
    g *= 0.1  # an optimiser's in-place step
    np.testing.assert_array_equal(y, [3.0, 4.0])
    h = npdiff.hvp(quad)(x, y)
    assert not np.shares_memory(h, y)


# -- one type for derivatives with respect to 0-d and Python-float arguments ----------------------

def _scalar_results(a):
    f = lambda x: x ** 3
    yield "grad", npdiff.grad(f)(a)
    yield "value_and_grad value", npdiff.value_and_grad(f)(a)[0]
    yield "value_and_grad grad", npdiff.value_and_grad(f)(a)[1]
    yield "jacfwd", npdiff.jacfwd(f)(a)
    yield "jacrev", npdiff.jacrev(f)(a)
    yield "jacobian", npdiff.jacobian(f)(a)
    yield "hessian", npdiff.hessian(f)(a)
    yield "hvp", npdiff.hvp(f)(a, 1.0)
    yield "jvp", npdiff.jvp(f, (a,), (1.0,))[1]
    yield "vjp", npdiff.vjp(f, a)[1](1.0)[0]
    yield "linearize", npdiff.linearize(f, a)[1](1.0)
    yield "grad of a constant", npdiff.grad(lambda x: 2.0 * x)(a)
    yield "grad of the argument", npdiff.grad(lambda x, y: x * y, argnums=1)(a, a)
    yield "diffops.gradient", diffops.gradient(f, ())(a)
    yield "grad, array path", npdiff.grad(lambda x: np.sum(np.linalg.inv(x * np.eye(2))))(a)


@pytest.mark.parametrize("a", [1.5, np.float64(1.5), np.array(1.5)], ids=["float", "np.float64", "0-d array"])
def test_scalar_derivatives_are_numpy_float64_on_every_path(a):
    for what, r in _scalar_results(a):
        assert type(r) is np.float64, (what, type(r))


def test_float32_scalar_derivative_keeps_its_dtype():
    r = npdiff.grad(lambda x: x ** 2)(np.float32(1.5))
    assert type(r) is np.float32 and r == np.float32(3.0)
