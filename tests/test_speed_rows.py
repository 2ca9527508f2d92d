"""Issue 23's small rows: the rewrites that make generated code match hand-written NumPy, checked
against finite differences and closed forms, and by the calls left in the generated source.

Cholesky-based code (primitives/cholesky.py): cho_solve and log(diag(L)) are differentiated
through K (no Cholesky adjoint), a solve of a multiple of an already-solved right-hand side
reuses it, K^-1 comes from potri, and a matrix symmetric by construction gives its tangent whole.
"""
import re

import numpy as np
import pytest

import npdiff
from npdiff.ir.graph import make_input
from npdiff.primitives import apply
from npdiff.primitives.matrices import is_symmetric
from util import assert_close, fd_jac, fd_vjp

sl = pytest.importorskip("scipy.linalg")

BLAS = r"@|np\.linalg\.\w+\(|scipy\.linalg\.(?:lapack\.)?\w+\(|np\.einsum\(|\.dot\(|np\.outer\("


def gp(n=12, seed=0):
    """Return (negative log marginal likelihood of an RBF Gaussian process, its hand-written gradient)."""
    rng = np.random.default_rng(seed)
    xs = np.sort(rng.uniform(-3, 3, n))
    y = np.sin(xs) + 0.1 * rng.standard_normal(n)
    D2 = (xs[:, None] - xs[None, :]) ** 2
    eye = np.eye(n)

    def nll(theta):
        Kf = np.exp(theta[0]) * np.exp(-0.5 * D2 * np.exp(-2.0 * theta[1]))
        L = np.linalg.cholesky(Kf + np.exp(theta[2]) * eye)
        alpha = sl.cho_solve((L, True), y)
        return 0.5 * y @ alpha + np.sum(np.log(np.diag(L))) + 0.5 * n * np.log(2 * np.pi)

    def grad_hand(theta):
        Kf = np.exp(theta[0]) * np.exp(-0.5 * D2 * np.exp(-2.0 * theta[1]))
        sn2 = np.exp(theta[2])
        L = np.linalg.cholesky(Kf + sn2 * eye)
        alpha = sl.cho_solve((L, True), y)
        W = sl.cho_solve((L, True), eye) - np.outer(alpha, alpha)
        return np.array([0.5 * np.sum(W * Kf), 0.5 * np.sum(W * Kf * D2) * np.exp(-2.0 * theta[1]),
                         0.5 * sn2 * np.trace(W)])
    return nll, grad_hand


def calls(src):
    return re.findall(BLAS, src)


@pytest.mark.parametrize("n", [1, 5, 30])
def test_gp_gradient_matches_hand_and_finite_differences(n):
    nll, hand = gp(n)
    theta = np.array([0.1, -0.2, -2.0])
    g = npdiff.grad(nll)
    assert_close(g(theta), hand(theta), rtol=1e-10, atol=1e-12)
    assert_close(g(theta), fd_jac(nll, [theta], 0).ravel(), rtol=1e-6, atol=1e-7)
    H = npdiff.hessian(nll)(theta)
    assert_close(H, fd_jac(npdiff.grad(nll), [theta], 0), rtol=1e-5, atol=1e-6)
    assert_close(npdiff.jacfwd(nll)(theta), hand(theta), rtol=1e-10, atol=1e-12)


def test_gp_gradient_makes_no_more_lapack_calls_than_the_hand_version():
    nll, _ = gp(60)
    src = npdiff.grad(nll).specialize(np.zeros(3)).source
    found = calls(src)
    # hand: cholesky, cho_solve(L, y), cho_solve(L, I), outer; here: cholesky, potrs, trtri, L^-T L^-1
    assert len(found) <= 4, found
    assert "solve_triangular" not in src and "np.einsum" not in src and src.count(" @ ") == 1
    assert found.count("np.linalg.cholesky(") == 1
    assert found.count("scipy.linalg.lapack.dpotrs(") == 1  # alpha, reused for the y / 2 cotangent
    assert found.count("scipy.linalg.lapack.dtrtri(") == 1  # K^-1 = L^-T L^-1 for the log-determinant
    assert "np.where" not in src  # K is symmetric by construction: no triangle masks


def test_two_solve_triangular_calls_become_one_cholesky_solve():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(6, 6))
    K = A @ A.T + 6 * np.eye(6)
    B = rng.normal(size=(6, 3))

    def f(K, B):
        L = np.linalg.cholesky(K)
        X = sl.solve_triangular(L.T, sl.solve_triangular(L, B, lower=True), lower=False)
        return np.sum(np.sin(X))

    def f_trans(K, B):  # the same solve written with trans='T'
        L = np.linalg.cholesky(K)
        return np.sum(np.sin(sl.solve_triangular(L, sl.solve_triangular(L, B, lower=True), lower=True, trans="T")))

    for fn in (f, f_trans):
        gK, gB = npdiff.grad(fn, argnums=(0, 1))(K, B)
        src = npdiff.grad(fn, argnums=(0, 1)).specialize(K, B).source
        assert "solve_triangular" not in src and "dpotrs" in src
        fdK = fd_jac(fn, [K, B], 0).reshape(K.shape)
        assert_close(gK, fdK, rtol=1e-6, atol=1e-7)  # only the lower triangle of K is read
        assert np.all(np.triu(gK, 1) == 0)
        assert_close(gB, fd_jac(fn, [K, B], 1).reshape(B.shape), rtol=1e-6, atol=1e-7)
        assert_close(fn(K, B), np.sum(np.sin(np.linalg.solve(K, B))), rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cho_solve_and_logdet_of_an_argument_matrix(dtype):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(5, 5))
    K = (A @ A.T + 5 * np.eye(5)).astype(dtype)
    K[0, 3] = 7.0  # the upper triangle is not read
    y = rng.normal(size=5).astype(dtype)

    def f(K, y):
        L = np.linalg.cholesky(K)
        return y @ sl.cho_solve((L, True), y) + 2 * np.sum(np.log(np.diag(L)))

    gK, gy = npdiff.grad(f, argnums=(0, 1))(K, y)
    assert gK.dtype == dtype and gy.dtype == dtype
    Ks = np.tril(K) + np.tril(K, -1).T
    Ki = np.linalg.inv(Ks.astype(float))
    a = Ki @ y
    G = Ki - np.outer(a, a)  # d/dKs of y^T Ks^-1 y + log det Ks
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert_close(gK, np.tril(G) + np.tril(G.T, -1), rtol=tol, atol=tol)
    assert_close(gy, 2 * a, rtol=tol, atol=tol)
    if dtype == np.float64:
        assert_close(gK, fd_jac(f, [K, y], 0).reshape(K.shape), rtol=1e-6, atol=1e-7)
        H = npdiff.hessian(f, argnums=1)(K, y)
        assert_close(H, 2 * Ki, rtol=1e-10, atol=1e-12)


def test_logdet_of_a_gram_matrix_and_its_second_derivative():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(4, 6))

    def f(X):
        L = np.linalg.cholesky(X @ X.T + np.eye(4))
        return np.sum(np.log(np.diag(L)))

    g = npdiff.grad(f)
    src = g.specialize(X).source
    assert "np.where" not in src  # X X^T + I is symmetric by construction
    M = X @ X.T + np.eye(4)
    assert_close(g(X), np.linalg.inv(M) @ X, rtol=1e-10, atol=1e-12)  # d/dX (1/2) log det(X X^T + I)
    assert_close(npdiff.hessian(f)(X).reshape(24, 24), fd_jac(g, [X], 0), rtol=1e-5, atol=1e-6)


def test_log_diagonal_of_a_factor_elementwise():
    rng = np.random.default_rng(5)
    A = rng.normal(size=(4, 4))
    K = A @ A.T + 4 * np.eye(4)
    w = np.array([1.0, -2.0, 0.5, 3.0])

    def f(K):
        return w @ np.log(np.diag(np.linalg.cholesky(K)))

    assert_close(npdiff.grad(f)(K), fd_jac(f, [K], 0).reshape(K.shape), rtol=1e-6, atol=1e-7)
    assert_close(npdiff.jacfwd(f)(K), fd_jac(f, [K], 0).reshape(K.shape), rtol=1e-6, atol=1e-7)


def test_stacks_keep_the_general_rules():
    rng = np.random.default_rng(6)
    A = rng.normal(size=(2, 4, 4))
    K = A @ np.swapaxes(A, -1, -2) + 4 * np.eye(4)
    b = rng.normal(size=(2, 4, 1))

    def f(K):
        L = np.linalg.cholesky(K)
        x = np.linalg.solve(np.swapaxes(L, -1, -2), np.linalg.solve(L, b))
        return np.sum(x ** 2) + np.sum(np.log(np.diagonal(L, axis1=-2, axis2=-1)))

    assert_close(npdiff.grad(f)(K), fd_jac(f, [K], 0).reshape(K.shape), rtol=1e-6, atol=1e-7)


def test_proportional_right_hand_side_reuses_the_solution():
    rng = np.random.default_rng(7)
    y = rng.normal(size=8)
    D = np.abs(np.subtract.outer(np.arange(8.0), np.arange(8.0)))

    def f(t):
        K = np.exp(-D * t) + np.eye(8)
        L = np.linalg.cholesky(K)
        return -0.25 * y @ sl.cho_solve((L, True), y)

    g = npdiff.grad(f)
    src = g.specialize(0.5).source
    assert src.count("dpotrs(") == 1
    assert_close(g(0.5), fd_jac(f, [0.5], 0).ravel()[0], rtol=1e-6, atol=1e-8)


def test_is_symmetric_reads_structure_not_values():
    X = make_input("X", (3, 3), np.dtype(np.float64))
    s = make_input("s", (), np.dtype(np.float64))
    sym = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 3.0], [0.0, 3.0, 5.0]])
    assert is_symmetric(apply("exp", apply("multiply", s, sym)))
    assert is_symmetric(apply("add", apply("einsum", X, X, spec="ik,jk->ij"), 1.0))
    assert is_symmetric(apply("einsum", X, X, spec="ki,kj->ij"))
    assert not is_symmetric(apply("einsum", X, X, spec="ik,kj->ij"))  # X X, not a Gram matrix
    assert not is_symmetric(X) and not is_symmetric(apply("multiply", X, sym))
    assert not is_symmetric(apply("multiply", s, np.triu(sym)))
    v = make_input("v", (3,), np.dtype(np.float64))
    assert not is_symmetric(apply("multiply", v, sym))  # a row broadcast along the columns


def test_forward_values_of_the_rewritten_function():
    nll, _ = gp(10)
    theta = np.array([0.3, 0.1, -1.0])
    v, g = npdiff.value_and_grad(nll)(theta)
    assert_close(g, gp(10)[1](theta), rtol=1e-10, atol=1e-12)
    assert_close(v, nll(theta), rtol=1e-12, atol=0)


# -- dense Hessians of sums of elementwise functions of slices: strided writes (transforms/separable.py)

def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_hess(x):
    n = x.size
    d = np.zeros(n)
    d[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    d[1:] += 200.0
    o = -400.0 * x[:-1]
    return np.diag(d) + np.diag(o, 1) + np.diag(o, -1)


@pytest.mark.parametrize("n", [2, 3, 7, 100])
def test_rosenbrock_hessian_by_strided_writes(n):
    x = np.linspace(-1.0, 1.5, n)
    h = npdiff.hessian(rosen)
    assert_close(h(x), rosen_hess(x), rtol=1e-13, atol=1e-12)
    if n >= 50:  # array code (smaller Hessians are unrolled into Python floats)
        src = h.specialize(x).source
        assert "np.zeros((3," not in src and not re.search(r"\b_c\d*\b", src)  # no colour seeds or index arrays
        assert src.count(f":{n + 1}]") == 4 and src.count("np.zeros(") == 1  # four bands, one buffer


def test_separable_hessian_float32_and_checks_against_finite_differences():
    x = np.linspace(-1.0, 1.5, 9)
    H32 = npdiff.hessian(rosen)(x.astype(np.float32))
    assert H32.dtype == np.float32
    assert_close(H32, rosen_hess(x), rtol=1e-5, atol=1e-3)
    assert_close(npdiff.hessian(rosen)(x), fd_jac(npdiff.grad(rosen), [x], 0), rtol=1e-6, atol=1e-5)


SEPARABLE = {
    "pentadiagonal": lambda x: np.sum(np.sin(x[:-2] * x[1:-1]) + np.cos(x[2:]) * x[:-2] ** 2),
    "strided pairs": lambda x: np.sum(np.exp(x[::2] - 0.5 * x[1::2]) * x[1::2]),
    "whole and slices": lambda x: 3.0 * np.sum(x ** 4) - np.sum(x[1:] * x[:-1]) / 2.0 + np.sum(np.tanh(x[3:6])),
    "weights and where": lambda x: np.sum(np.linspace(1, 2, 39) * np.where(x[1:] > 0.2, x[1:] ** 3, x[:-1] * x[1:])),
    "chain energy": lambda x: 0.5 * np.sum((x[1:] - x[:-1]) ** 2) + np.sum(np.log1p(x ** 2)) - 4.0,
}
NOT_SEPARABLE = {
    "log of a sum": lambda x: np.log(np.sum(np.exp(x[1:] - x[:-1]))),
    "product of sums": lambda x: np.sum(x[:-1] ** 2) * np.sum(x[1:]),
    "an element": lambda x: np.sum(x[1:] ** 2) * x[0],
    "a reversed slice": lambda x: np.sum(x * x[::-1] ** 2),
    "a cumulative sum": lambda x: np.sum(np.cumsum(x) ** 2),
    "a broadcast": lambda x: np.sum(np.sin(x[:, None] - x[None, :])),
}


@pytest.mark.parametrize("name", sorted(SEPARABLE) + sorted(NOT_SEPARABLE))
def test_hessians_of_separable_and_other_functions(name):
    f = SEPARABLE.get(name) or NOT_SEPARABLE[name]
    x = np.linspace(-0.9, 1.1, 40)  # array code (smaller Hessians are unrolled into Python floats)
    H = npdiff.hessian(f)(x)
    assert_close(H, fd_jac(npdiff.grad(f), [x], 0), rtol=1e-6, atol=1e-6)
    assert_close(H, H.T, rtol=1e-12, atol=1e-12)
    src = npdiff.hessian(f).specialize(x).source
    strided = re.search(r"\[\d*:\d*:\d+\] [+]?=", src) is not None
    assert strided == (name in SEPARABLE), src


def test_separable_hessian_with_other_arguments_and_sparse_output():
    sp = pytest.importorskip("scipy.sparse")
    c = np.array([0.5, 2.0, 1.0, 3.0, 1.5])

    def f(x, c):
        return np.sum(c * (x[1:] - x[:-1] ** 2) ** 2)

    x = np.linspace(-1.0, 1.0, 6)
    H = npdiff.hessian(f)(x, c)
    assert_close(H, fd_jac(npdiff.grad(f), [x, c], 0), rtol=1e-6, atol=1e-6)
    Hs = npdiff.hessian(f, sparse=True)(x, c)
    assert sp.issparse(Hs) and Hs.nnz <= 3 * 6
    assert_close(Hs.toarray(), H, rtol=1e-13, atol=1e-13)
    H1 = npdiff.hessian(f, argnums=1)(x, c)  # linear in c: zero
    assert_close(H1, np.zeros((5, 5)), rtol=0, atol=0)


# -- small adjoints: the generated code line by line against the hand version

def test_transform_without_checks_is_the_hand_adjoint():
    rng = np.random.default_rng(8)
    A, B, C, G = (rng.normal(size=(4, 4)) for _ in range(4))
    Z = np.zeros((4, 4))

    def mma(A, B, C):
        return A @ B + C

    src = npdiff.transform(mma, (4, 4), (4, 4), (4, 4), checks=False)
    assert "_bad_shape" not in src and "np.asarray" not in src
    body = src.split("def mma_ad")[1].split("\n", 1)[1].strip()
    assert body in npdiff.transform(mma, (4, 4), (4, 4), (4, 4))  # the same body, checks left out
    ns = {}
    exec(src, ns)
    out, A_a, B_a, C_a = ns["mma_ad"](A, B, C, Z, Z, Z, G)
    assert_close(out, A @ B + C, rtol=1e-14, atol=1e-14)
    assert_close(A_a, G @ B.T, rtol=1e-14, atol=1e-14)
    assert_close(B_a, A.T @ G, rtol=1e-14, atol=1e-14)
    assert_close(C_a, G, rtol=0, atol=0)
    assert src.count(" @ ") == 3 and ".T @" in src and "@ B.T" in src  # A.T @ G, G @ B.T: no transposed products


def test_negations_move_out_of_matrix_products():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(6, 2))
    L = rng.normal(size=(6, 6)) / 3
    M = L @ L.T + np.eye(6)
    y = rng.normal(size=(6, 1))

    def gls(X, M, y):
        M_inv = np.linalg.inv(M)
        return np.linalg.inv(X.T @ M_inv @ X) @ X.T @ M_inv @ y

    src = npdiff.transform(gls, X.shape, M.shape, y.shape, checks=False)
    assert not re.search(r"= -\w", src), src  # no separate negation: absorbed by += / -=
    ns = {}
    exec(src, ns)
    ct = rng.normal(size=(2, 1))
    res = ns["gls_ad"](X, M, y, np.zeros_like(X), np.zeros_like(M), np.zeros_like(y), ct)
    for i, r in enumerate(res[1:]):
        assert_close(r, fd_vjp(gls, [X, M, y], i, ct), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("lower", [False, True])
def test_cho_factor_either_triangle(lower):
    rng = np.random.default_rng(10)
    A = rng.normal(size=(7, 7))
    y = rng.normal(size=7)

    def f(A):
        K = A @ A.T + 7 * np.eye(7)
        c = sl.cho_factor(K, lower=lower)
        return 0.5 * y @ sl.cho_solve(c, y) + np.sum(np.log(np.diag(c[0])))

    g = npdiff.grad(f)
    src = g.specialize(A).source
    assert "solve_triangular" not in src and "dpotrs" in src and "np.where" not in src
    K = A @ A.T + 7 * np.eye(7)
    Ki = np.linalg.inv(K)
    a = Ki @ y
    assert_close(g(A), (Ki - np.outer(a, a)) @ A, rtol=1e-10, atol=1e-12)  # dK = dA A^T + A dA^T
    assert_close(g(A), fd_jac(f, [A], 0).reshape(A.shape), rtol=1e-6, atol=1e-7)
