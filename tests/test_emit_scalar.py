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
