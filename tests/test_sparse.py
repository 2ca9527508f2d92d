"""Sparsity patterns, colourings and sparse Jacobians/Hessians."""
import numpy as np
import pytest

import npdiff
from util import assert_close, fd_jac


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def banded(x):
    y = np.zeros_like(x)
    y[1:-1] = x[:-2] - 2 * x[1:-1] ** 2 + np.sin(x[2:])
    y[0] = x[0] * x[1]
    y[-1] = np.exp(x[-1])
    return y


def test_sparsity_pattern_is_exact_for_banded():
    P = npdiff.sparsity(banded, (6,))
    expect = np.zeros((6, 6), bool)
    for i in range(1, 5):
        expect[i, [i - 1, i, i + 1]] = True
    expect[0, [0, 1]] = True
    expect[5, 5] = True
    assert (P == expect).all()


def test_pattern_of_matmul_with_constant_zeros():
    A = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    P = npdiff.sparsity(lambda x: A @ np.sin(x), (3,))
    assert (P == (A != 0)).all()


@pytest.mark.parametrize("op", [npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian])
def test_coloured_dense_jacobian_matches_fd(op):
    x = np.linspace(0.1, 0.9, 12)
    J = op(banded)(x)
    assert_close(J, fd_jac(banded, [x], 0), 1e-6, 1e-8)
    src = op(banded).specialize((12,)).source
    assert "np.zeros((144,))" in src or "np.zeros((12, 12))" in src or "except (ArithmeticError, ValueError)" in src


def test_sparse_outputs_are_csr_and_correct():
    sp = pytest.importorskip("scipy.sparse")
    x = np.linspace(-1.0, 1.0, 30)
    H = npdiff.hessian(rosen, sparse=True)(x)
    assert isinstance(H, sp.csr_array) and H.shape == (30, 30) and H.nnz == 30 + 2 * 29
    assert_close(H.toarray(), npdiff.hessian(rosen)(x), 1e-12, 1e-12)
    for op in (npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian):
        J = op(banded, sparse=True)(x)
        assert isinstance(J, sp.csr_array)
        assert_close(J.toarray(), fd_jac(banded, [x], 0), 1e-6, 1e-8)


def test_dense_hessian_uses_few_passes():
    src = npdiff.hessian(rosen).specialize((50,)).source
    assert "np.zeros((3, 50))" in src  # three colours, not fifty basis directions
