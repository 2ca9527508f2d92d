"""Regression tests for bugs found in review."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac


def _same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (got, want)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("func", [
    lambda x: np.maximum(2.0, x),
    lambda x: np.minimum(2.0, x),
    lambda x: np.maximum(x, 2.0),
    lambda x: np.max(x),
    lambda x: np.min(x[::-1]),
    lambda x: np.sign(x),
    lambda x: np.logical_or(x[:2], x[1:]),
    lambda x: np.logical_and(x[:2], x[1:]),
])
def test_scalar_backend_nan_and_bool_semantics_match_numpy(func):
    # the unrolled Python-float backend used Python's max/min (which drop nan), sign(nan) = 0
    # and `a or b` (which returns a float, not a bool)
    x = np.array([1.0, np.nan, 3.0])
    g = npdiff.numpify(func, (3,))
    assert "_scalar" in g.source
    _same(g(x), func(x))
    y = np.array([2.0, 0.0, -1.0])
    _same(g(y), func(y))


def test_scalar_backend_zero_over_zero_is_nan():
    def f(x):
        y = np.zeros(3)
        y[0] = x[0]
        return y / x
    g = npdiff.numpify(f, (3,))
    x = np.array([1.0, 0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(g(x), f(x))


def test_hessian_of_array_valued_function_composes():
    # API.md: hessian(hessian(f)) must work; hessian required a scalar-valued function
    f = lambda x: np.sum(np.sin(x) * x[0] ** 2)
    x = np.array([0.3, -0.5, 0.8])
    h4 = npdiff.hessian(npdiff.hessian(f))(x)
    assert h4.shape == (3, 3, 3, 3)
    want = fd_jac(lambda z: npdiff.jacfwd(npdiff.hessian(f))(z), [x], 0).reshape(h4.shape)
    assert_close(h4, want, rtol=1e-5, atol=1e-6)
    g = lambda x: np.sin(x) * x[0]
    assert_close(npdiff.hessian(g)(x), npdiff.jacfwd(npdiff.jacrev(g))(x))


@pytest.mark.parametrize("func", [
    lambda x: (lambda y: (y.__setitem__([0, 0], y[[0, 0]] + x[1]), y)[1])(x.copy()),  # y[[0, 0]] += x[1]
    lambda x: (lambda y: (y.__setitem__([1, 1], x[[2, 3]]), y)[1])(x.copy()),  # y[[1, 1]] = x[[2, 3]]
    lambda x: (lambda y: (y.__setitem__([1, 1], x[0] ** 2), y * x)[1])(x.copy()),
])
def test_set_with_repeated_fancy_index_reverse_mode(func):
    # NumPy keeps only the last write to a repeated position; the transpose of set_index
    # gave every occurrence the cotangent (jacrev twice too large)
    x = np.array([0.3, -0.5, 0.8, 1.1, -0.2])
    want = fd_jac(func, [x], 0).reshape(5, 5)
    assert_close(npdiff.jacrev(func)(x), want)
    assert_close(npdiff.jacfwd(func)(x), want)
    s = lambda x: np.sum(np.sin(func(x)))
    assert_close(npdiff.hessian(s)(x), fd_jac(npdiff.grad(s), [x], 0), rtol=1e-4, atol=1e-5)


def _view_write(x):
    y = x.copy()
    z = y[1:3]  # a view: writing into it writes into y
    z[0] = 7.0 * x[4]
    return y


def _row_loop(x):
    y = np.zeros((3, 4))
    for row in y:  # iteration yields views too
        row[1:] = x[:3] * row[0] + x[3]
    return y


def _view_fill(x):
    y = x.copy()
    y[1:].fill(2.0)
    return y * x


@pytest.mark.parametrize("func", [_view_write, _row_loop, _view_fill])
def test_writes_through_basic_index_views_reach_the_base(func):
    # `z = y[1:3]; z[0] = v` silently left y unchanged
    x = np.array([0.3, -0.5, 0.8, 1.1, -0.2])
    assert_close(npdiff.numpify(func, (5,))(x), func(x.copy()), rtol=1e-12, atol=1e-12)
    out = func(x.copy())
    assert_close(npdiff.jacrev(func)(x), fd_jac(func, [x], 0).reshape(out.shape + (5,)))


@npdiff.custom_jvp
def _softmax_cj(x):
    e = np.exp(x - x.max())
    return e / e.sum()


@_softmax_cj.defjvp
def _softmax_cj_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    s = _softmax_cj(x)
    return s, s * t - s * np.sum(s * t)


@npdiff.custom_jvp
def _sumsq_cj(x):
    return np.sum(x ** 2)


@_sumsq_cj.defjvp
def _sumsq_cj_jvp(primals, tangents):
    return _sumsq_cj(primals[0]), np.sum(2 * primals[0] * tangents[0])


@pytest.mark.parametrize("func", [lambda x: _softmax_cj(x) * 2, lambda x: _sumsq_cj(x) * x])
def test_custom_jvp_sparsity_is_not_assumed_elementwise(func):
    # the sparsity pattern treated custom_jvp outputs as elementwise in the inputs, so the
    # coloured (compressed) jacfwd of a softmax was ~0 and a scalar output crashed
    x = np.linspace(-1, 1, 12)
    want = fd_jac(func, [x], 0).reshape(12, 12)
    for op in (npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian):
        assert_close(op(func)(x), want)


def test_jacobian_auto_mode_uses_reverse_through_custom_vjp():
    @npdiff.custom_vjp
    def sm(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    def fwd(x):
        s = sm(x)
        return s, (s,)

    def bwd(res, ct):
        (s,) = res
        return (s * ct - s * np.sum(s * ct),)
    sm.defvjp(fwd, bwd)
    x = np.array([0.3, -0.5, 0.8])
    assert_close(npdiff.jacobian(sm)(x), fd_jac(sm, [x], 0))


def test_masked_assignment_with_traced_mask_is_a_select():
    def f(x):
        y = x * 2.0
        y[x > 0] = 0.5
        return np.sum(y * x)
    x = np.array([-1.0, 0.5, 2.0, -0.3])
    expect = np.where(x > 0, 0.5, 4.0 * x)
    assert np.allclose(npdiff.grad(f)(x), expect)
    with pytest.raises(npdiff.TracingError, match="np.where"):
        npdiff.grad(lambda x: np.sum(_set_mask_array(x)))(x)


def _set_mask_array(x):
    y = x.copy()
    y[x > 0] = x[:2]
    return y


def test_divmod_on_tracers():
    q, r = npdiff.numpify(lambda x: divmod(x, 0.75), (3,))(np.array([1.0, 2.0, -1.0]))
    assert np.allclose(q, np.floor_divide([1.0, 2.0, -1.0], 0.75))
    assert np.allclose(r, np.remainder([1.0, 2.0, -1.0], 0.75))


def test_eager_cache_distinguishes_has_aux():
    f = lambda x: (np.sin(x), np.sum(x))
    x = np.array([0.1, 0.2])
    out, pull = npdiff.vjp(f, x)
    assert len(out) == 2 and np.allclose(pull((np.ones(2), 1.0))[0], np.cos(x) + 1.0)
    out, pull, aux = npdiff.vjp(f, x, has_aux=True)  # same function object, now with an aux output
    assert np.allclose(out, np.sin(x)) and np.isclose(aux, 0.3)
    assert np.allclose(pull(np.ones(2))[0], np.cos(x))
