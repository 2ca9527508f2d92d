"""Indexed assignment while tracing: repeated fancy indices, writes through views, traced masks."""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac


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


def test_masked_assignment_with_traced_mask_is_a_select():
    def f(x):
        y = x * 2.0
        y[x > 0] = 0.5
        return np.sum(y * x)
    x = np.array([-1.0, 0.5, 2.0, -0.3])
    expect = np.where(x > 0, 0.5, 4.0 * x)
    assert np.allclose(npdiff.grad(f)(x), expect)
    # a value of several elements is placed by the mask's value on this path (guarded: tests/test_masks.py)
    g = npdiff.grad(lambda x: np.sum(_set_mask_array(x) ** 2))(x)
    assert np.allclose(g, 2 * _set_mask_array(x) * (x <= 0) + np.r_[2 * x[:2], 0, 0])
    with pytest.raises(npdiff.TracingError, match=r"np\.where"):
        npdiff.numpify(_set_mask_array, (4,))


def _set_mask_array(x):
    y = x.copy()
    y[x > 0] = x[:2]
    return y


def test_writes_into_a_zero_d_buffer_next_to_fortran_and_complex_buffers():
    # a 0-d constant prints as a NumPy scalar: the generated copy must still be writable
    def f(x):
        b = np.zeros(()); b[...] = x[0]
        c = np.zeros((3, 4), order="F"); c[:, 1] = x
        d = np.zeros((2, 3), dtype=np.complex128); d[0] = x * 1j
        return b * np.sum(c) + np.sum(c[::2, ::3]) + np.real(np.sum(d * d))
    x = np.array([0.3, 0.5, 0.7])
    value, g = npdiff.value_and_grad(f)(x)
    assert abs(value - f(x)) < 1e-12
    assert np.allclose(g, fd_jac(f, [x], 0).ravel(), rtol=1e-6, atol=1e-8)
    assert np.allclose(npdiff.jacfwd(f)(x), g)
