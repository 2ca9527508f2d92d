"""The unrolled Python-float backend keeps NumPy's semantics (nan, bools, division by zero)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import npdiff


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
    assert "except (ArithmeticError, ValueError)" in g.source  # the unrolled version runs first
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


@pytest.mark.parametrize("make", [
    lambda: npdiff.grad(lambda w, x: np.sum(w * x))(np.ones(2), np.arange(2)),   # cotangent x * 1.0
    lambda: npdiff.numpify(lambda x: x * 1.0, np.arange(3))(np.arange(3)),
    lambda: npdiff.numpify(lambda x: x * np.ones(3), np.arange(3))(np.arange(3)),
    lambda: npdiff.jacrev(lambda w, x: w * x, argnums=0)(np.ones(2), np.arange(2, dtype=np.int32)),
])
def test_unrolled_code_keeps_float_results_of_integer_inputs(make):
    """x * 1.0 folds to x in unrolled code; with an integer x the result must stay float, as NumPy's."""
    out = np.asarray(make())
    assert out.dtype == np.float64, out.dtype


def test_unrolled_scalar_result_of_integer_input_is_a_float():
    got = npdiff.numpify(lambda x: x[1] * 1.0, np.arange(3))(np.arange(3))
    assert isinstance(got, float) and got == 1.0


@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.uint8, np.int64, np.bool_])
@pytest.mark.parametrize("f", [lambda x: np.roll(x, 2), lambda x: x[::-1], lambda x: x + x, lambda x: x * x,
                               lambda x: x > 2])
def test_unrolled_code_keeps_integer_and_bool_dtypes(f, dtype):
    """Small integer/bool arrays: unrolled code returns NumPy's dtype and values (True + True is True)."""
    a = np.arange(6).astype(dtype)
    out, ref = npdiff.numpify(f, a)(a), f(a)
    assert out.dtype == ref.dtype
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("f,arg", [
    (lambda x: x[0] + x[1], np.array([100, 100], np.int8)),  # wraps to -56 in NumPy
    (lambda x: x[0] * x[1] - x[2], np.array([200, 3, 7], np.uint8)),
    (lambda x: np.abs(x), np.array([-128, 1], np.int8)),
    (lambda x: -x, np.array([0, 1], np.uint8)),
    (lambda x: x[0] + x[1], np.array([True, False])),  # np.True_, not the int 1
    (lambda x: x ** 2, np.array([True, False])),  # int8 in NumPy
    (lambda x: np.sum(x), np.array([2**62, 2**62], np.int64)),
    (lambda x: x + x, np.array(3)),  # 0-d integer input: an int, not 6.0
    (lambda x: x + x, np.array(2**60 + 1)),  # exact beyond 2**53
    (lambda x: x + x, np.array(3, np.int8)),
    (lambda x: x + x, np.array(True)),
    (lambda x: x * 1.5 + 1, np.array(3, np.int16)),
    (lambda x: np.where(x > 1, x[::-1], x) * 2.5, np.array([0, 3])),
])
def test_unrolled_integer_and_bool_arithmetic_follows_numpy(f, arg):
    """Integer/bool arithmetic is not unrolled into Python ints (which neither wrap nor stay bool)."""
    with np.errstate(over="ignore"):
        out, ref = npdiff.numpify(f, arg)(arg), f(arg)
    assert np.asarray(out).dtype == np.asarray(ref).dtype
    np.testing.assert_array_equal(out, ref)
