"""numpy.linalg / scipy.linalg: first derivatives (jacfwd, jacrev) and second
derivatives (jacfwd(jacrev), jacrev(jacrev)) against central finite
differences, on well-conditioned inputs (SPD for Cholesky, separated
eigenvalues / singular values for eigh / svd), including stacked inputs.
Decompositions whose factors have a sign freedom are checked through
sign-invariant functions of them.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from npdiff.errors import UnsupportedOperationError
from util import assert_close, check_derivatives

sla = pytest.importorskip("scipy.linalg")

R = np.random.default_rng(42)


def _general(*shape):
    """Well-conditioned non-symmetric matrices."""
    n = shape[-1]
    return 2.0 * np.eye(n) + 0.4 * R.normal(size=shape)


def _spd(*shape):
    n = shape[-1]
    m = R.normal(size=shape)
    return m @ np.swapaxes(m, -1, -2) / n + np.eye(n)


def _sym_separated(n):
    """Symmetric, eigenvalues 1, 2.5, 4, ... (well separated)."""
    q, _ = np.linalg.qr(R.normal(size=(n, n)))
    return (q * (1.0 + 1.5 * np.arange(n))) @ q.T


def _rect(m, n):
    """An m x n matrix with singular values 3, 2, 1, ... (distinct)."""
    u, _ = np.linalg.qr(R.normal(size=(m, m)))
    v, _ = np.linalg.qr(R.normal(size=(n, n)))
    k = min(m, n)
    return (u[:, :k] * (3.0 - np.arange(k))) @ v[:, :k].T


A3, A3b = _general(3, 3), _general(2, 3, 3)
S3, S3b = _spd(3, 3), _spd(2, 3, 3)
E3 = _sym_separated(3)
B32, V3 = R.normal(size=(3, 2)), R.normal(size=(3,))
T43, T24 = _rect(4, 3), _rect(2, 4)
NEG = A3 @ np.diag([1.0, -1.0, 1.0])  # negative determinant


def check(f, *args, **tol):
    check_derivatives(f, list(args), order=2, **tol)


# -- numpy.linalg ------------------------------------------------------------------------------

CASES = {
    "inv": (lambda a: np.linalg.inv(a), [A3]),
    "inv-batched": (lambda a: np.linalg.inv(a), [A3b]),
    "solve-matrix": (lambda a, b: np.linalg.solve(a, b), [A3, B32]),
    "solve-vector": (lambda a, b: np.linalg.solve(a, b), [A3, V3]),
    "solve-batched-vector": (lambda a, b: np.linalg.solve(a, b), [A3b, V3]),  # NumPy 2: b.ndim == 1
    "solve-batched-broadcast": (lambda a, b: np.linalg.solve(a, b), [A3b, B32]),
    "solve-inv-composite": (lambda a: np.linalg.solve(a, np.linalg.inv(a) @ a.T), [A3]),
    "det": (lambda a: np.linalg.det(a), [A3]),
    "det-batched": (lambda a: np.linalg.det(a), [A3b]),
    "slogdet": (lambda a: np.linalg.slogdet(a)[1] * np.linalg.slogdet(a).sign, [NEG]),
    "slogdet-batched": (lambda a: np.linalg.slogdet(a).logabsdet, [A3b]),
    "cholesky": (lambda a: np.linalg.cholesky(a), [S3]),
    "cholesky-batched": (lambda a: np.linalg.cholesky(a), [S3b]),
    "cholesky-upper": (lambda a: np.linalg.cholesky(a, upper=True), [S3]),
    "cholesky-logdet": (lambda a: 2.0 * np.sum(np.log(np.diagonal(np.linalg.cholesky(a)))), [S3]),
    "eigh": (lambda a: (np.linalg.eigh(a)[0], np.linalg.eigh(a)[1] ** 2), [E3]),
    "eigh-reconstruct": (lambda a: (lambda w, v: v @ np.diag(np.exp(w)) @ v.T)(*np.linalg.eigh(a)), [E3]),
    "eigh-upper": (lambda a: np.linalg.eigh(a, UPLO="U").eigenvectors ** 2, [E3]),
    "eigh-batched": (lambda a: np.linalg.eigh(a)[1] ** 2, [np.stack([E3, E3.T @ E3])]),
    "eigvalsh": (lambda a: np.linalg.eigvalsh(a), [E3]),
    "svd-tall": (lambda a: (lambda u, s, vh: (s, u * u, vh * vh, (u * s) @ vh))(
        *np.linalg.svd(a, full_matrices=False)), [T43]),
    "svd-wide": (lambda a: (lambda u, s, vh: (s, u * u, vh * vh))(*np.linalg.svd(a, full_matrices=False)), [T24]),
    "svd-square": (lambda a: np.linalg.svd(a)[0] ** 2, [_rect(3, 3)]),
    "svd-values": (lambda a: np.linalg.svd(a, compute_uv=False), [T43]),
    "svdvals": (lambda a: np.linalg.svdvals(a), [T24]),
    "qr-tall": (lambda a: tuple(np.linalg.qr(a)), [T43]),
    "qr-square": (lambda a: np.linalg.qr(a).Q, [A3]),
    "qr-wide": (lambda a: tuple(np.linalg.qr(a)), [T24]),
    "qr-r": (lambda a: np.linalg.qr(a, mode="r"), [T43]),
    "pinv": (lambda a: np.linalg.pinv(a), [T43]),
    "pinv-wide": (lambda a: np.linalg.pinv(a), [T24]),
    "matrix_power": (lambda a: np.linalg.matrix_power(a, 3), [A3]),
    "matrix_power-neg": (lambda a: np.linalg.matrix_power(a, -2), [A3]),
    "matrix_power-zero": (lambda a: np.linalg.matrix_power(a, 0) + a, [A3]),
    "multi_dot": (lambda a, b: np.linalg.multi_dot([b, a, a.T, b[0]]), [A3, B32.T]),
    "trace": (lambda a: np.trace(a @ a) + np.linalg.trace(np.linalg.inv(a)), [A3]),
    "cond": (lambda a: np.linalg.cond(a), [A3]),
    "cond-fro": (lambda a: np.linalg.cond(a, "fro"), [A3]),
    "tensorinv": (lambda a: np.linalg.tensorinv(a.reshape(2, 2, 4), ind=2), [_general(4, 4)]),
    "tensorsolve": (lambda a, b: np.linalg.tensorsolve(a.reshape(2, 2, 4), b), [_general(4, 4), R.normal(size=(2, 2))]),
    "array-api": (lambda a, b: (np.linalg.matrix_transpose(a), np.linalg.matmul(a, b), np.linalg.vecdot(a, a.T),
                                np.linalg.outer(a[0], a[1]), np.linalg.diagonal(a, offset=1)), [A3, B32]),
}


def _check_case(name, f, args):
    """Generated values equal NumPy's; derivatives agree with finite differences."""
    gf = npdiff.numpify(f, *args)
    leaves_a, _ = npdiff.ir.pytree.tree_flatten(gf(*args))
    leaves_b, _ = npdiff.ir.pytree.tree_flatten(f(*args))
    for x, y in zip(leaves_a, leaves_b):
        assert_close(x, y, 1e-10, 1e-12, f"{name} value")
    check(f, *args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_numpy_linalg(name):
    _check_case(name, *CASES[name])


VEC = np.array([0.7, -1.3, 0.4, 2.1])
MAT = np.array([[0.9, -1.4, 0.35], [0.5, 1.1, -2.2]])
NORMS = [
    (VEC, dict()), (VEC, dict(ord=1)), (VEC, dict(ord=np.inf)), (VEC, dict(ord=-np.inf)), (VEC, dict(ord=3)),
    (VEC, dict(ord=0.5)), (VEC, dict(ord=2, keepdims=True)), (MAT, dict()), (MAT, dict(ord="fro")),
    (MAT, dict(ord="nuc")), (MAT, dict(ord=2)), (MAT, dict(ord=-2)), (MAT, dict(ord=1)), (MAT, dict(ord=-1)),
    (MAT, dict(ord=np.inf)), (MAT, dict(ord=-np.inf)), (MAT, dict(axis=1)), (MAT, dict(axis=0, ord=1)),
    (MAT, dict(axis=(1, 0), ord=1, keepdims=True)), (MAT.reshape(1, 2, 3), dict(axis=(2, 1), ord="nuc")),
    (MAT, dict(keepdims=True)),
]


@pytest.mark.parametrize("x,kw", NORMS, ids=[str(k) for _, k in NORMS])
def test_norm(x, kw):
    f = lambda x: np.linalg.norm(x, **kw)
    assert_close(npdiff.numpify(f, x)(x), f(x), 1e-12, 1e-12, "value")
    check(f, x)


def test_vector_and_matrix_norm():
    check(lambda x: np.linalg.vector_norm(x, ord=3) + np.linalg.matrix_norm(x, ord="nuc"), MAT)
    check(lambda x: np.linalg.vector_norm(x, axis=1, keepdims=True), MAT)


def test_order_zero_norm_has_zero_derivative():
    assert np.all(npdiff.jacrev(lambda x: np.linalg.norm(x, 0))(VEC) == 0)


# -- scipy.linalg ---------------------------------------------------------------------------------

L3 = np.linalg.cholesky(S3)

SCIPY = {
    "solve_triangular-lower": (lambda a, b: sla.solve_triangular(a, b, lower=True), [L3, B32]),
    "solve_triangular-upper-T": (lambda a, b: sla.solve_triangular(a, b, trans="T"), [L3.T + 0.3, V3]),
    "solve_triangular-unit": (lambda a, b: sla.solve_triangular(a, b, lower=True, unit_diagonal=True),
                              [A3, B32]),
    "solve_triangular-batched": (lambda a, b: sla.solve_triangular(a, b, lower=True),
                                 [np.linalg.cholesky(S3b), B32]),
    "cholesky-upper-default": (lambda a: sla.cholesky(a), [S3]),
    "cholesky-lower": (lambda a: sla.cholesky(a, lower=True), [S3]),
    "cho_solve": (lambda a, b: sla.cho_solve(sla.cho_factor(a), b), [S3, B32]),
    "cho_solve-lower": (lambda a, b: sla.cho_solve(sla.cho_factor(a, lower=True), b), [S3, V3]),
    "expm": (lambda a: sla.expm(a), [0.5 * A3]),
    "expm-batched": (lambda a: sla.expm(a), [0.5 * A3b]),
    "expm_frechet": (lambda a, e: sla.expm_frechet(a, e), [0.3 * A3, B32 @ B32.T]),
    "lu": (lambda a, b: sla.lu_solve(sla.lu_factor(a), b), [A3, B32]),
    "lu-trans": (lambda a, b: sla.lu_solve(sla.lu_factor(a), b, trans=1), [A3, V3]),
    "lu-factor": (lambda a: sla.lu_factor(a)[0], [A3[::-1]]),
    "lu-logdet": (lambda a: np.sum(np.log(np.abs(np.diagonal(sla.lu_factor(a)[0])))), [A3]),
    "lu-batched": (lambda a, b: sla.lu_solve(sla.lu_factor(a), b), [A3b, B32]),
    "det-inv": (lambda a: sla.det(a) * sla.inv(a), [A3]),
    "solve": (lambda a, b: sla.solve(a, b), [A3, V3]),
    "solve-pos": (lambda a, b: sla.solve(a, b, assume_a="pos"), [S3, B32]),
    "solve-transposed": (lambda a, b: sla.solve(a, b, transposed=True), [A3, B32]),
    "eigh": (lambda a: (lambda w, v: (w, v * v))(*sla.eigh(a)), [E3]),
    "eigh-values": (lambda a: sla.eigh(a, eigvals_only=True, lower=False), [E3]),
    "svd": (lambda a: (lambda u, s, vh: (u * u, s, vh * vh))(*sla.svd(a, full_matrices=False)), [T43]),
    "svdvals": (lambda a: sla.svdvals(a), [T24]),
    "qr": (lambda a: sla.qr(a, mode="economic"), [T43]),
    "qr-wide-full": (lambda a: sla.qr(a), [T24]),
    "pinv": (lambda a: sla.pinv(a), [T43]),
    "norm": (lambda a: sla.norm(a, 2), [A3]),
}


@pytest.mark.parametrize("name", sorted(SCIPY))
def test_scipy_linalg(name):
    _check_case(name, *SCIPY[name])


def test_scipy_untraced_calls_pass_through():
    assert_close(sla.expm(np.zeros((2, 2))), np.eye(2))
    f = npdiff.grad(lambda a: np.sum(sla.expm(a) * sla.expm(np.eye(3))))
    assert f(0.1 * A3).shape == (3, 3)


# -- generated source, dtypes and errors --------------------------------------------------------------

def test_source_is_plain_numpy_and_scipy():
    src = npdiff.jacrev(lambda a, b: np.linalg.solve(a, b)).specialize(A3, B32).source
    assert "np.linalg.solve(" in src
    src = npdiff.grad(lambda a: np.sum(np.linalg.cholesky(a))).specialize(S3).source
    assert "np.linalg.cholesky(a)" in src and "scipy.linalg.lapack.dtrtrs(" in src  # LAPACK, no Python layer
    src = npdiff.value_and_grad(lambda a: np.sum(sla.expm(a))).specialize(A3).source
    assert "scipy.linalg.expm(a)" in src and "scipy.linalg.expm_frechet(" in src


def test_generated_function_pickles():
    import pickle
    g = npdiff.grad(lambda a: np.linalg.slogdet(a)[1] + np.sum(np.linalg.eigvalsh(a @ a.T)))
    gf = pickle.loads(pickle.dumps(g.specialize(A3)))
    assert_close(gf(A3), np.linalg.inv(A3).T + 2 * A3, 1e-10, 1e-10, "gradient")


def test_float32_stays_float32():
    a = A3.astype(np.float32)
    out = npdiff.numpify(lambda a: np.linalg.inv(a), a)(a)
    assert out.dtype == np.float32
    assert npdiff.jacrev(lambda a: np.linalg.det(a))(a).dtype == np.float32


def test_hessian_of_logdet():
    h = npdiff.hessian(lambda a: np.linalg.slogdet(a)[1])(S3)
    ainv = np.linalg.inv(S3)
    assert_close(h, -np.einsum("li,jk->ijkl", ainv, ainv), 1e-8, 1e-10, "hessian")


@pytest.mark.parametrize("f", [lambda a: np.linalg.lstsq(a, a), lambda a: np.linalg.matrix_rank(a),
                               lambda a: np.linalg.svd(a[:2]), lambda a: np.linalg.qr(a[:, :2], mode="complete"),
                               lambda a: sla.qr(a, pivoting=True)])
def test_unsupported(f):
    with pytest.raises(UnsupportedOperationError):
        npdiff.grad(lambda a: np.sum(f(a)[0]))(A3)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("trans", [False, True])
@pytest.mark.parametrize("unit", [False, True])
def test_triangular_solve_without_scipy(monkeypatch, lower, trans, unit):
    """Without SciPy, triangular solves are emitted as np.linalg.solve on the masked triangle."""
    from npdiff.primitives import apply
    from npdiff.primitives import linalg as pl
    from npdiff.tracing.tracer import Tracer, node_of
    monkeypatch.setattr(pl, "have_scipy", lambda: False)
    a = A3 + 5.0 * np.triu(np.ones((3, 3)), 1) - 5.0 * np.tril(np.ones((3, 3)), -1)  # junk in both triangles
    f = lambda a, b: Tracer(apply("triangular_solve", node_of(a), node_of(b), lower=lower, trans=trans, unit=unit))
    gf = npdiff.numpify(f, a, B32)
    assert "scipy" not in gf.source
    want = sla.solve_triangular(a, B32, lower=lower, trans=1 if trans else 0, unit_diagonal=unit)
    assert_close(gf(a, B32), want, 1e-10, 1e-12, "value")
    t = np.tril(a, -1 if unit else 0) if lower else np.triu(a, 1 if unit else 0)
    t = t + np.eye(3) if unit else t
    op = t.T if trans else t
    g = npdiff.jacrev(f, argnums=1).specialize(a, B32)
    assert "scipy" not in g.source
    # x = op^-1 b column by column: d x[i, j] / d b[k, l] = inv(op)[i, k] * (j == l)
    assert_close(g(a, B32).reshape(6, 6), np.kron(np.linalg.inv(op), np.eye(2)), 1e-10, 1e-12, "jacobian")


@pytest.mark.parametrize("name", ["inv-batched", "cholesky-batched", "eigh-batched", "svd-tall", "qr-wide",
                                  "pinv", "slogdet-batched"])
def test_single_direction_jvp_and_vjp(name):
    """The unbatched (nb = 0) rules: jvp against a directional difference, vjp by the inner-product identity."""
    f, args = CASES[name]
    x = args[0]
    t = np.random.default_rng(1).normal(size=x.shape)
    g = lambda x: npdiff.ir.pytree.tree_flatten(f(x))[0]
    eps = 1e-6
    want = [(p - m) / (2 * eps) for p, m in zip(g(x + eps * t), g(x - eps * t))]
    out, tout = npdiff.jvp(lambda x: tuple(npdiff.ir.pytree.tree_flatten(f(x))[0]), (x,), (t,))
    for a, b in zip(tout, want):
        assert_close(a, b, 1e-5, 1e-6, f"{name} jvp")
    cts = [np.random.default_rng(2).normal(size=np.shape(o)) for o in out]
    _, pullback = npdiff.vjp(lambda x: tuple(npdiff.ir.pytree.tree_flatten(f(x))[0]), x)
    (ct_x,) = pullback(tuple(cts))
    lhs = np.sum(ct_x * t)
    rhs = sum(np.sum(c * np.asarray(b)) for c, b in zip(cts, tout))
    assert_close(lhs, rhs, 1e-9, 1e-10, f"{name} vjp")
