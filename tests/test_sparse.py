"""Sparsity patterns, colourings and sparse Jacobians/Hessians."""
import numpy as np
import pytest

import npdiff
from npdiff.ir.graph import const
from npdiff.ir.indexsets import Pattern
from npdiff.primitives import apply
from npdiff.tracing.tracer import Tracer
from npdiff.transforms import colouring
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
    pytest.importorskip("scipy.sparse")
    P = npdiff.sparsity(banded, (6,)).toarray()
    expect = np.zeros((6, 6), bool)
    for i in range(1, 5):
        expect[i, [i - 1, i, i + 1]] = True
    expect[0, [0, 1]] = True
    expect[5, 5] = True
    assert (P == expect).all()


def test_pattern_of_matmul_with_constant_zeros():
    A = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    pytest.importorskip("scipy.sparse")
    P = npdiff.sparsity(lambda x: A @ np.sin(x), (3,)).toarray()
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
    right, left = np.arange(1, 50), np.arange(49)  # fancy indices: not the strided (separable) assembly

    def banded(x):
        return np.sum(100.0 * (x[right] - x[left] ** 2) ** 2 + (1.0 - x[left]) ** 2)

    src = npdiff.hessian(banded).specialize((50,)).source
    assert "np.zeros((50, 3))" in src and "np.zeros((50, 50" not in src  # three colours, not fifty basis directions
    x = np.linspace(-1.0, 1.5, 50)
    assert_close(npdiff.hessian(banded)(x), npdiff.hessian(rosen)(x), rtol=1e-12, atol=1e-12)
    src = npdiff.hessian(rosen).specialize((50,)).source
    assert "np.zeros((2500,))" in src and "np.zeros((3, 50))" not in src  # strided writes of the bands


# -- index-set patterns against a brute-force reference -----------------------------------------


A34 = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 4.0]])
C43 = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [5.0, 0.0, 6.0]])
S4 = np.array([[4.0, 1.0, 0.0, 0.5], [1.0, 3.0, 1.0, 0.0], [0.2, 1.0, 5.0, 1.0], [0.0, 0.3, 1.0, 4.0]])
REP = np.array([0, 3, 3, 5, 0, 11])


def _scatter(x):  # zeros(6) with x[:6] added at REP (repeated targets sum), traced or numeric
    if isinstance(x, Tracer):
        v = apply("gather", x.node, index=(("s", 0, 6, 1),))
        return Tracer(apply("scatter_add", v, const(REP), index=(("a", 0),), shape=(12,)))
    y = np.zeros(12)
    np.add.at(y, REP, x[:6])
    return y


def _index_add(x):  # x ** 2 with sin(x[6:]) added at REP
    if isinstance(x, Tracer):
        v = np.sin(x[6:])
        return Tracer(apply("index_add", (x ** 2).node, v.node, const(REP), index=(("a", 0),)))
    y = x ** 2
    np.add.at(y, REP, np.sin(x[6:]))
    return y


def _set_rep(x):
    y = x.copy()
    y[REP] = x[:6] ** 2  # repeated targets: the last assignment wins
    return y * x[::-1]


def _set_slice(x):
    y = np.zeros_like(x)
    y[2:9:3] = np.exp(x[:3])
    y[::-4] = y[::-4] + x[5:8]
    return y


FAMILIES = {
    "elementwise": lambda x: np.sin(x) * x ** 2 + np.tanh(x[::-1]),
    "broadcast": lambda x: x.reshape(3, 4) * x[:4] - np.log(x[4:7]).reshape(3, 1),
    "slice_steps": lambda x: x[1::4] * x[::4] + x[-1:2:-3] ** 2,
    "gather_repeated": lambda x: x[REP] ** 2 * x[np.array([1, 1, 2, 2, 9, 10])],
    "gather_2d": lambda x: x.reshape(3, 4)[np.array([2, 0, 2]), 1:3] ** 3,
    "scatter_add": _scatter,
    "index_add": _index_add,
    "set_index_repeated": _set_rep,
    "set_index_slices": _set_slice,
    "sum_axis0": lambda x: np.sum(x.reshape(3, 4) ** 2, axis=0),
    "sum_all": lambda x: np.sum(np.sin(x[:5])) * x,
    "prod_axis1": lambda x: np.prod(x.reshape(3, 2, 2), axis=(1, 2)),
    "max_axis": lambda x: np.max(x.reshape(3, 4) ** 2, axis=1),
    "reshape_transpose": lambda x: (x.reshape(3, 4).T * np.arange(1.0, 13.0).reshape(4, 3)).ravel(),
    "transpose_3d": lambda x: np.transpose(np.sin(x).reshape(2, 3, 2), (2, 0, 1)),
    "concatenate": lambda x: np.concatenate([x[:3] ** 2, np.sin(x[5:]), [1.0]]),
    "stack": lambda x: np.stack([x[:4], x[4:8] * x[8:]], axis=1),
    "matmul_const": lambda x: A34 @ np.sin(x[:4]),
    "matmul_const_right": lambda x: x.reshape(3, 4) @ C43,
    "einsum_const": lambda x: np.einsum("ij,jk->ik", A34, x.reshape(4, 3) ** 2),
    "outer": lambda x: np.outer(x[:3], x[9:]),
    "trace_diag": lambda x: np.trace(x[:9].reshape(3, 3)) * x[9:],
    "cumsum": lambda x: np.cumsum(x.reshape(3, 4) ** 2, axis=1),
    "cumsum_flat": lambda x: np.cumsum(x[::2]),
    "where": lambda x: np.where(np.arange(12) % 3 == 0, x ** 2, np.sin(x[::-1])),
    "solve": lambda x: np.linalg.solve(S4, x[2:6]) * x[:4],
    "broadcast_to": lambda x: np.broadcast_to(x[:3], (2, 3)) * 2.0,
}
SUPERSET = {"where", "max_axis"}  # both branches of a traced where; max: every element may be the max


def _reference(f, n=12, trials=2):
    """Return the union over random points of the nonzero structure of a central-difference Jacobian."""
    rng = np.random.default_rng(0)
    out = None
    for _ in range(trials):
        x = rng.uniform(0.5, 1.5, n)
        J = np.abs(fd_jac(f, [x], 0).reshape(-1, n)) > 1e-9
        out = J if out is None else out | J
    return out


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_pattern_matches_brute_force(name):
    pytest.importorskip("scipy.sparse")
    f = FAMILIES[name]
    P = npdiff.sparsity(f, (12,))
    ref = _reference(f)
    assert P.shape == ref.shape
    got = P.toarray()
    assert not (ref & ~got).any(), "pattern misses a dependency"
    if name not in SUPERSET:
        assert (got == ref).all(), np.argwhere(got != ref)


@pytest.mark.parametrize("name", ["slice_steps", "gather_repeated", "scatter_add", "index_add",
                                  "set_index_repeated", "cumsum", "matmul_const", "stack"])
def test_jacobians_through_the_pattern_match_fd(name):
    """Sparse and coloured dense Jacobians agree with finite differences."""
    sp = pytest.importorskip("scipy.sparse")
    f = FAMILIES[name]
    x = np.random.default_rng(1).uniform(0.5, 1.5, 12)
    ref = fd_jac(f, [x], 0).reshape(-1, 12)
    for op in (npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian):
        J = op(f, sparse=True)(x)
        assert isinstance(J, sp.csr_array)
        assert_close(J.toarray(), ref, 1e-6, 1e-8)
        assert_close(np.reshape(op(f)(x), ref.shape), ref, 1e-6, 1e-8)


# -- colourings -------------------------------------------------------------------------------



def _pattern(dense):
    dense = np.asarray(dense, bool)
    rows, cols = np.nonzero(dense)
    indptr = np.zeros(dense.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
    return Pattern(indptr, cols.astype(np.int64), dense.shape[1])


def _banded(n, b):
    i = np.arange(n)
    return np.abs(i[:, None] - i[None, :]) <= b


def _arrowhead(n):
    d = np.eye(n, dtype=bool)
    d[0, :] = d[:, 0] = True
    return d


def _check_columns(dense, colour):
    for c in np.unique(colour):
        assert dense[:, colour == c].sum(axis=1).max() <= 1  # columns of one colour share no row


@pytest.mark.parametrize("n", [5, 50, 1000])
def test_tridiagonal_needs_three_colours(n):
    dense = _banded(n, 1)
    p, colour = colouring.colour_columns(_pattern(dense))
    assert p <= 3
    _check_columns(dense, colour)
    p, colour, first, second = colouring.colour_symmetric(_pattern(dense))
    assert p <= 3
    _assert_star_recovers(dense, p, colour, first, second)


@pytest.mark.parametrize("b", [2, 3, 5])
def test_banded_hessian_needs_about_2b_plus_1_colours(b):
    dense = _banded(200, b)
    p, colour, first, second = colouring.colour_symmetric(_pattern(dense))
    assert p <= 2 * b + 1
    _assert_star_recovers(dense, p, colour, first, second)


@pytest.mark.parametrize("n", [6, 100, 3000])
def test_arrowhead_hessian_needs_two_colours(n):
    dense = _arrowhead(n)
    p, colour, first, second = colouring.colour_symmetric(_pattern(dense))
    assert p <= 2
    _assert_star_recovers(dense, p, colour, first, second)
    p, colour = colouring.colour_columns(_pattern(dense))  # a dense row: no column colouring helps
    assert p == n
    _check_columns(dense, colour)


def test_greedy_colours_a_random_pattern_validly():
    rng = np.random.default_rng(3)
    dense = rng.random((300, 200)) < 0.02
    p, colour = colouring.colour_columns(_pattern(dense))
    _check_columns(dense, colour)
    assert p < 40
    sym = dense[:200] | dense[:200].T | np.eye(200, dtype=bool)
    p, colour, first, second = colouring.colour_symmetric(_pattern(sym))
    _assert_star_recovers(sym, p, colour, first, second)


def _assert_star_recovers(dense, p, colour, first, second):
    rng = np.random.default_rng(2)
    H = np.where(dense, rng.normal(size=dense.shape), 0.0)
    H = np.where(dense & dense.T, H + H.T, 0.0)
    seeds = np.zeros((dense.shape[0], p))
    seeds[np.arange(dense.shape[0]), colour] = 1.0
    B = (H @ seeds).T  # (p, n): one Hessian-vector product per colour
    rows, cols = np.nonzero(dense)
    np.testing.assert_allclose(B[first, second], H[rows, cols], rtol=1e-12, atol=1e-12)


# -- sparse Hessians and Jacobians at scale -----------------------------------------------------

def test_sparse_hessian_values_match_dense_and_fd():
    pytest.importorskip("scipy.sparse")
    x = np.random.default_rng(4).uniform(-1.0, 1.0, 40)
    H = npdiff.hessian(rosen, sparse=True)(x).toarray()
    assert_close(H, npdiff.hessian(rosen)(x), 1e-12, 1e-12)
    assert_close(H, fd_jac(npdiff.grad(rosen), [x], 0), 1e-6, 1e-6)


def _arrow(x):
    return np.sum(x[0] * x ** 2) + np.sum(np.sin(x[1:]) ** 2)


def test_arrowhead_hessian_takes_two_passes():
    pytest.importorskip("scipy.sparse")
    x = np.random.default_rng(5).uniform(-1.0, 1.0, 30)
    H = npdiff.hessian(_arrow, sparse=True)(x)
    assert_close(H.toarray(), fd_jac(npdiff.grad(_arrow), [x], 0), 1e-6, 1e-6)
    assert colouring.colour_symmetric(npdiff_pattern(npdiff.grad(_arrow), 30))[0] == 2  # two passes


def laplace_residual(u):
    m = round(u.size ** 0.5)
    U = u.reshape(m, m)
    h2 = 1.0 / (m + 1) ** 2
    r = 4 * U[1:-1, 1:-1] - U[:-2, 1:-1] - U[2:, 1:-1] - U[1:-1, :-2] - U[1:-1, 2:] + h2 * np.exp(U[1:-1, 1:-1])
    return r.ravel()


def test_sparse_laplacian_jacobian_is_correct_with_few_passes():
    pytest.importorskip("scipy.sparse")
    u = np.random.default_rng(6).uniform(0.0, 1.0, 64)
    for op in (npdiff.jacfwd, npdiff.jacrev, npdiff.jacobian):
        J = op(laplace_residual, sparse=True)(u)
        assert J.shape == (36, 64) and J.nnz == 36 * 5
        assert_close(J.toarray(), fd_jac(laplace_residual, [u], 0), 1e-6, 1e-8)
    assert colouring.colour_columns(npdiff_pattern(laplace_residual, 64))[0] <= 8


def npdiff_pattern(f, n):
    P = npdiff.sparsity(f, (n,))
    return _pattern(P.toarray())


def test_rosenbrock_sparse_hessian_at_1e5_is_fast():
    pytest.importorskip("scipy.sparse")
    import time
    n = 10 ** 5
    t = time.perf_counter()
    h = npdiff.hessian(rosen, sparse=True).specialize((n,))
    x = np.random.default_rng(7).uniform(-1.0, 1.0, n)
    H = h(x)
    elapsed = time.perf_counter() - t
    assert H.shape == (n, n) and H.nnz == n + 2 * (n - 1)
    d = H.diagonal()
    expect = 2 + 1200 * x[:-1] ** 2 - 400 * x[1:]
    assert_close(d[:-1] - np.r_[0.0, np.full(n - 2, 200.0)], expect, 1e-10, 1e-8)
    assert_close(H.diagonal(1), -400 * x[:-1], 1e-12, 1e-12)
    assert_close(H.diagonal(-1), -400 * x[:-1], 1e-12, 1e-12)
    assert elapsed < 30  # a few seconds alone; generous for a loaded machine


def test_sparsity_returns_a_csr_array_without_dense_matrix():
    sp = pytest.importorskip("scipy.sparse")
    P = npdiff.sparsity(rosen_residual, (10 ** 5,))
    assert isinstance(P, sp.csr_array) and P.shape == (2 * (10 ** 5 - 1), 10 ** 5) and P.nnz == 3 * (10 ** 5 - 1)


def rosen_residual(x):
    return np.concatenate([10.0 * (x[1:] - x[:-1] ** 2), 1.0 - x[:-1]])


S5 = np.array([[3.0, 1.0, 0.0, 0.0, 0.5], [0.0, 2.0, 1.0, 0.0, 0.0], [0.0, 0.0, 4.0, 1.0, 0.0],
               [0.2, 0.0, 0.0, 3.0, 1.0], [0.0, 0.0, 0.0, 0.0, 2.0]])


@pytest.mark.parametrize("f", [
    lambda x: np.sum(np.linalg.solve(S5, x[:5]) ** 2) + np.sum(x[1:] * np.sin(x[:-1])),  # a DENSE block
    lambda x: np.sum(np.cumsum(x) ** 2),                                                # a prefix
    lambda x: np.sum(np.exp(x[::2]) * x[1::2]) + x[0] * np.sum(x ** 3),                 # strided + arrow
    lambda x: np.sum((A34 @ x.reshape(4, 2)) ** 2),                                      # einsum, constant zeros
], ids=["solve", "cumsum", "strided_arrow", "matmul"])
def test_sparse_hessians_of_mixed_structure_match_fd(f):
    pytest.importorskip("scipy.sparse")
    x = np.random.default_rng(8).uniform(0.5, 1.5, 8)
    ref = fd_jac(npdiff.grad(f), [x], 0)
    H = npdiff.hessian(f, sparse=True)(x)
    assert_close(H.toarray(), ref, 1e-6, 1e-6)
    assert_close(npdiff.hessian(f)(x), ref, 1e-6, 1e-6)


def test_sparse_hessian_with_two_arguments():
    pytest.importorskip("scipy.sparse")

    def f(x, y):
        return np.sum(x[1:] * x[:-1] * y[:-1]) + np.sum(y ** 3)
    x, y = np.linspace(0.2, 1.0, 6), np.linspace(-1.0, 0.5, 6)
    H = npdiff.hessian(f, argnums=(0, 1), sparse=True)(x, y)
    D = npdiff.hessian(f, argnums=(0, 1))(x, y)
    for i in range(2):
        for j in range(2):
            assert_close(H[i][j].toarray(), D[i][j], 1e-12, 1e-12)


def test_a_dense_pattern_beyond_the_limit_is_refused():
    pytest.importorskip("scipy.sparse")
    with pytest.raises(ValueError, match="too large"):
        npdiff.sparsity(lambda x: np.sum(x) * x, (9000,))
