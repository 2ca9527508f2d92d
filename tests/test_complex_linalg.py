"""Complex linear algebra and norms: values as NumPy's, derivatives against finite differences.

npdiff's convention for a real-valued f of complex z is JAX's: grad f = df/dx - i df/dy. Most
checks go through real parametrisations h(x, y) = f(x + i y), so ``check_derivatives`` compares
forward, reverse and second derivatives with central differences along the real and imaginary
directions. Singular vectors and eigenvectors have an arbitrary phase per column (a gauge), so only
gauge-invariant functions of them are differentiated (|U|, U diag(s) V^H, sums of s...).
"""
import numpy as np
import pytest

import npdiff
from npdiff import PathChangedError, TracingError, UnsupportedOperationError
from util import assert_close, check_derivatives, fd_complex_grad

RNG = np.random.default_rng(7)


def crandn(*shape):
    return RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)


Z6 = crandn(6)
M45 = crandn(4, 5)
M44 = crandn(4, 4)
M54 = crandn(5, 4)
B345 = crandn(3, 4, 5)
T654 = crandn(6, 5, 4)


def ri(z):
    """Return the real and imaginary parts of z stacked (a real array to compare)."""
    z = np.asarray(z)
    return np.stack([z.real, z.imag])


def cclose(a, b, rtol, atol, what):
    assert_close(ri(a), ri(b), rtol, atol, what)


def parts(f):
    """Return h(x, y) = f(x + i y) with complex outputs split into real and imaginary parts."""
    def h(x, y):
        out = f(x + 1j * y)
        leaves = out if isinstance(out, tuple) else (out,)
        res = []
        for v in leaves:
            if np.iscomplexobj(v):
                res += [np.real(v), np.imag(v)]
            else:
                res.append(v)
        return tuple(res) if len(res) > 1 else res[0]
    return h


def check_complex(f, z, order=2, rtol=1e-5, atol=1e-6):
    """Check f's derivatives in the real and imaginary parts of z against finite differences."""
    check_derivatives(parts(f), [np.real(z), np.imag(z)], order=order, rtol=rtol, atol=atol)


def same_as_numpy(f, *args):
    got, want = npdiff.numpify(f, *args)(*args), f(*args)
    gl = got if isinstance(got, tuple) else (got,)
    wl = want if isinstance(want, tuple) else (want,)
    for g, w in zip(gl, wl):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype, f"dtype {g.dtype} != NumPy's {w.dtype}"
        assert g.shape == w.shape
        assert np.allclose(g, w, rtol=1e-10, atol=1e-12), f"{g} != {w}"


# -- norms: the value is that of |x| ---------------------------------------------------------------

VECTOR_ORDS = [None, 2, 1, -1, 3, 0.5, np.inf, -np.inf, 0]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]

NORMS = ([(f"vec-{o}", lambda z, o=o: np.linalg.norm(z, ord=o), Z6) for o in VECTOR_ORDS]
         + [(f"mat-{o}", lambda z, o=o: np.linalg.norm(z, ord=o), M45) for o in MATRIX_ORDS]
         + [(f"axis{a}", lambda z, a=a: np.linalg.norm(z, axis=a), T654) for a in (0, 1, 2)]
         + [("axis01", lambda z: np.linalg.norm(z, axis=(0, 1)), T654),
            ("axis02-nuc", lambda z: np.linalg.norm(z, ord="nuc", axis=(0, 2)), T654),
            ("axis-keepdims", lambda z: np.linalg.norm(z, axis=1, keepdims=True), B345),
            ("all-keepdims", lambda z: np.linalg.norm(z, keepdims=True), B345),
            ("ord3-axis", lambda z: np.linalg.norm(z, ord=3, axis=-1), B345),
            ("inf-axis", lambda z: np.linalg.norm(z, ord=np.inf, axis=(1, 2), keepdims=True), B345),
            ("vector_norm", lambda z: np.linalg.vector_norm(z), B345),
            ("vector_norm-1", lambda z: np.linalg.vector_norm(z, ord=1, axis=(0, 2)), B345),
            ("matrix_norm", lambda z: np.linalg.matrix_norm(z), B345),
            ("matrix_norm-nuc", lambda z: np.linalg.matrix_norm(z, ord="nuc", keepdims=True), B345),
            ("cond", lambda z: np.linalg.cond(z), M44),
            ("cond-fro", lambda z: np.linalg.cond(z, "fro"), M44)])


@pytest.mark.parametrize("name,f,z", NORMS, ids=[n[0] for n in NORMS])
def test_norm_values_complex(name, f, z):
    same_as_numpy(f, z)


@pytest.mark.parametrize("name,f,z", [n for n in NORMS if n[0] not in ("vec-0",)],
                         ids=[n[0] for n in NORMS if n[0] not in ("vec-0",)])
def test_norm_derivatives_complex(name, f, z):
    check_complex(f, z, order=1 if z.size > 40 else 2, rtol=1e-4)


def test_norm_of_complex_regression():
    z = np.array([1 + 2j, 3 - 1j])
    assert np.isclose(npdiff.numpify(np.linalg.norm, z)(z), np.sqrt(15.0))


def test_norm_gradients_closed_forms():
    g = npdiff.grad(lambda z: np.linalg.norm(z))(Z6)
    cclose(g, np.conj(Z6) / np.linalg.norm(Z6), 1e-10, 1e-12, "2-norm")
    cclose(g, fd_complex_grad(np.linalg.norm, Z6), 1e-6, 1e-7, "2-norm fd")
    u, _s, vh = np.linalg.svd(M45, full_matrices=False)
    g = npdiff.grad(lambda a: np.linalg.norm(a, "nuc"))(M45)
    cclose(g, np.conj(u @ vh), 1e-8, 1e-10, "nuclear norm")
    g = npdiff.grad(lambda a: np.linalg.norm(a, 1))(M45)
    j = np.argmax(np.sum(np.abs(M45), axis=0))
    want = np.zeros_like(M45)
    want[:, j] = np.conj(M45[:, j]) / np.abs(M45[:, j])
    cclose(g, want, 1e-10, 1e-12, "matrix 1-norm")


def test_norm_at_zero_element_is_finite():
    z = np.array([0.0 + 0.0j, 3.0 + 4.0j])
    g = npdiff.grad(lambda z: np.linalg.norm(z))(z)
    cclose(g, np.conj(z) / 5.0, 1e-12, 1e-14, "grad")


def test_norm_of_a_list_of_traced_values():
    assert npdiff.grad(lambda x: np.linalg.norm([x, x + 2]))(0.0) == 1.0
    assert npdiff.grad(lambda x: np.linalg.norm((x, x + 2.0)))(0.0) == 1.0
    x = 0.7
    for f, ref in [(lambda x: np.linalg.norm([x, 2 * x, 1.0], ord=3),
                    lambda x: (abs(x) ** 3 + abs(2 * x) ** 3 + 1.0) ** (1 / 3)),
                   (lambda x: np.linalg.vector_norm([x, x ** 2]), lambda x: np.hypot(x, x ** 2)),
                   (lambda x: np.linalg.matrix_norm([[x, 1.0], [2.0, x]]),
                    lambda x: np.sqrt(2 * x * x + 5.0))]:
        d = npdiff.grad(f)(x)
        assert np.isclose(d, (ref(x + 1e-6) - ref(x - 1e-6)) / 2e-6, rtol=1e-6)
        assert np.isclose(npdiff.numpify(f, x)(x), ref(x))


# -- svd -------------------------------------------------------------------------------------------

def _svd_invariants(a, full=False):
    u, s, vh = np.linalg.svd(a, full_matrices=full)
    k = s.shape[-1]
    rec = (u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :]
    return np.abs(u), s, np.abs(vh), rec


@pytest.mark.parametrize("a", [M45, M54, M44, B345], ids=["wide", "tall", "square", "batched"])
def test_svd_complex(a):
    same_as_numpy(lambda a: np.linalg.svd(a, full_matrices=False), a)
    same_as_numpy(lambda a: np.linalg.svd(a, compute_uv=False), a)
    check_complex(lambda a: _svd_invariants(a), a, order=1 if a.ndim > 2 else 2, rtol=1e-4)
    check_complex(lambda a: np.linalg.svd(a, compute_uv=False), a, order=2, rtol=1e-4)


def test_svd_complex_reconstruction_derivative_is_identity():
    t = crandn(*M45.shape)
    _, tan = npdiff.jvp(lambda a: _svd_invariants(a)[3], (M45,), (t,))
    cclose(tan, t, 1e-9, 1e-10, "d(U S V^H)")


def test_svd_complex_full_matrices_square_and_singular_values_sum():
    check_complex(lambda a: _svd_invariants(a, full=True), M44, order=1, rtol=1e-4)
    g = npdiff.grad(lambda a: np.sum(np.linalg.svd(a, compute_uv=False) ** 2))(M45)
    cclose(g, 2 * np.conj(M45), 1e-9, 1e-10, "sum s^2 = |A|_F^2")
    cclose(g, fd_complex_grad(lambda a: np.sum(np.linalg.svd(a, compute_uv=False) ** 2),
                              M45), 1e-5, 1e-6, "fd")


def test_scipy_svd_complex():
    sla = pytest.importorskip("scipy.linalg")
    check_complex(lambda a: (lambda u, s, vh: (np.abs(u), s, np.abs(vh)))(*sla.svd(a, full_matrices=False)),
                  M54, order=1, rtol=1e-4)
    check_complex(lambda a: sla.svdvals(a), M54, order=1, rtol=1e-4)


# -- eigh / eigvalsh of Hermitian matrices (one triangle read, as LAPACK) -------------------------

@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_complex(uplo):
    a = M44  # not Hermitian: eigh reads one triangle and the real part of the diagonal
    same_as_numpy(lambda a: np.linalg.eigh(a, uplo), a)
    same_as_numpy(lambda a: np.linalg.eigvalsh(a, uplo), a)

    def f(a):
        w, v = np.linalg.eigh(a, uplo)
        return w, np.abs(v), (v * w[..., None, :]) @ np.conj(np.swapaxes(v, -1, -2))
    check_complex(f, a, order=2, rtol=1e-4)
    check_complex(lambda a: np.linalg.eigvalsh(a, uplo), a, order=2, rtol=1e-4)


def test_eigh_complex_batched_and_closed_form():
    h = B345[:, :, :4] @ np.conj(np.swapaxes(B345[:, :, :4], -1, -2))
    check_complex(lambda a: (lambda w, v: (w, np.abs(v)))(*np.linalg.eigh(a)), h, order=1, rtol=1e-4)
    # d w_k = Re(v_k^H dA v_k) for a Hermitian dA: the gradient of sum(c * w) is sum_k c_k conj(v_k v_k^H)
    # on the lower triangle read (off-diagonal entries count for both triangles)
    _w, v = np.linalg.eigh(M44)
    c = np.arange(1.0, 5.0)
    g = npdiff.grad(lambda a: np.sum(c * np.linalg.eigvalsh(a)))(M44)
    d = (v * c) @ np.conj(v.T)  # d sum(c * w) = Re tr(D dH), D = V diag(c) V^H, dH = L + L^H + Re diag(dA)
    want = np.tril(2 * d.T, -1) + np.diag(np.real(np.diag(d)))
    cclose(g, want, 1e-9, 1e-10, "eigvalsh gradient")


def test_scipy_eigh_complex():
    sla = pytest.importorskip("scipy.linalg")
    check_complex(lambda a: (lambda w, v: (w, np.abs(v)))(*sla.eigh(a, lower=False)), M44, order=1, rtol=1e-4)


# -- eig / eigvals of general matrices -----------------------------------------------------------------

def test_eig_complex():
    same_as_numpy(lambda a: np.linalg.eig(a), M44)
    same_as_numpy(lambda a: np.linalg.eigvals(a), M44)
    check_complex(lambda a: (lambda w, v: (w, np.abs(v)))(*np.linalg.eig(a)), M44, order=2, rtol=1e-4)
    check_complex(lambda a: np.linalg.eigvals(a), M44, order=2, rtol=1e-4)


def test_eig_batched_and_gauge_invariant_reconstruction():
    a = crandn(2, 3, 3)
    check_complex(lambda a: (lambda w, v: (w, np.abs(v)))(*np.linalg.eig(a)), a, order=1, rtol=1e-4)

    def rec(a):  # V diag(w) V^-1 == A: its derivative is the identity
        w, v = np.linalg.eig(a)
        return (v * w[..., None, :]) @ np.linalg.inv(v)
    t = crandn(2, 3, 3)
    _, tan = npdiff.jvp(rec, (a,), (t,))
    cclose(tan, t, 1e-8, 1e-9, "d(V W V^-1)")


def test_eig_closed_form_eigenvalue_derivative():
    # d lambda_k = u_k^T dA v_k / (u_k^T v_k), u_k the left eigenvectors (rows of V^-1)
    _w, v = np.linalg.eig(M44)
    vinv = np.linalg.inv(v)
    t = crandn(4, 4)
    _, dw = npdiff.jvp(np.linalg.eigvals, (M44,), (t,))
    cclose(dw, np.einsum("ki,ij,jk->k", vinv, t, v), 1e-9, 1e-10, "dw")


def test_eig_of_a_real_matrix_with_complex_eigenvalues():
    a = np.array([[0.0, -2.0, 0.3], [1.5, 0.2, -0.4], [0.1, 0.7, 1.1]])
    assert np.iscomplexobj(np.linalg.eigvals(a))
    same_as_numpy(lambda a: np.linalg.eig(a), a)
    f = lambda a: (lambda w, v: (np.abs(w), np.real(w), np.abs(v)))(*np.linalg.eig(a))
    check_derivatives(f, [a], order=2, rtol=1e-4)
    g = npdiff.grad(lambda a: np.sum(np.imag(np.linalg.eigvals(a)) ** 2))(a)
    assert g.dtype == np.float64


def test_eig_of_a_real_matrix_with_real_eigenvalues_is_real_as_numpy():
    s = np.array([[2.0, 0.3, -0.1], [0.3, 1.0, 0.4], [-0.1, 0.4, -0.5]])
    p = np.array([[1.0, 0.4, -0.3], [0.2, 1.1, 0.5], [-0.6, 0.3, 0.9]])
    similar = p @ np.diag([2.0, 1.5, -0.5]) @ np.linalg.inv(p)  # not symmetric, real eigenvalues
    # (not a triangular matrix: there LAPACK's eigenvalue order changes under perturbation)
    for a in (s, similar):
        assert not np.iscomplexobj(np.linalg.eigvals(a))
        same_as_numpy(lambda a: np.linalg.eig(a), a)
        same_as_numpy(lambda a: np.linalg.eigvals(a), a)
        check_derivatives(lambda a: (lambda w, v: (w, np.abs(v)))(*np.linalg.eig(a)), [a], order=2, rtol=1e-4)
    # the real/complex choice is a guard: a matrix with complex eigenvalues takes another path
    gf = npdiff.numpify(np.linalg.eigvals, s)
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(PathChangedError):
        gf(rot)
    lazy = npdiff.grad(lambda a: np.sum(np.abs(np.linalg.eigvals(a)) ** 2))
    for a in (s, rot + 0.1 * s):  # the lazy operator traces the second path when it is taken
        _w, _v = np.linalg.eig(a)
        ref = np.zeros_like(a)
        for k in np.ndindex(a.shape):
            e = np.zeros_like(a)
            e[k] = 1e-6
            ref[k] = (np.sum(np.abs(np.linalg.eigvals(a + e)) ** 2)
                      - np.sum(np.abs(np.linalg.eigvals(a - e)) ** 2)) / 2e-6
        assert_close(lazy(a), ref, 1e-5, 1e-6, "grad")


def test_eig_of_a_real_matrix_with_shapes_only_is_refused():
    with pytest.raises(TracingError, match="real or complex arrays depending on its values"):
        npdiff.numpify(np.linalg.eig, npdiff.ShapeDtype((3, 3), np.float64))
    gf = npdiff.numpify(np.linalg.eigvals, npdiff.ShapeDtype((3, 3), np.complex128))
    assert np.allclose(gf(M44[:3, :3]), np.linalg.eigvals(M44[:3, :3]))


# -- det, inv, solve, slogdet, matrix_power --------------------------------------------------------

def test_det_inv_solve_slogdet_complex():
    b = crandn(4, 2)
    for f in (np.linalg.det, np.linalg.inv, np.linalg.slogdet, lambda a: np.linalg.solve(a, b),
              lambda a: np.linalg.solve(a, a[0]), lambda a: np.linalg.matrix_power(a, -2),
              lambda a: np.linalg.tensorinv(a.reshape(2, 2, 4), ind=2)):
        same_as_numpy(f, M44)
        check_complex(f, M44, order=2, rtol=1e-4)
    check_complex(lambda bb: np.linalg.solve(M44, bb), b, order=2)
    check_complex(lambda a: np.linalg.solve(a, b.real), M44, order=1)


def test_slogdet_complex_closed_forms():
    ainv = np.linalg.inv(M44)
    g = npdiff.grad(lambda a: np.linalg.slogdet(a)[1])(M44)
    cclose(g, ainv.T, 1e-9, 1e-10, "d log|det| = A^-T")
    t = crandn(4, 4)
    (sign, _), (dsign, dlog) = npdiff.jvp(np.linalg.slogdet, (M44,), (t,))
    tr = np.trace(ainv @ t)
    assert_close(dlog, tr.real, 1e-9, 1e-10, "dlog")
    cclose(dsign, sign * 1j * tr.imag, 1e-9, 1e-10, "dsign")
    # a real matrix's sign has no derivative
    assert npdiff.grad(lambda a: np.linalg.slogdet(a)[0] * 1.0)(M44.real).any() == False  # noqa: E712


# -- expm and LU (holomorphic: the real rules hold) ------------------------------------------------------

def test_expm_complex():
    sla = pytest.importorskip("scipy.linalg")
    a = 0.5 * M44
    e = crandn(4, 4)
    same_as_numpy(lambda a: sla.expm(a), a)
    check_complex(lambda a: sla.expm(a), a, order=2, rtol=1e-4)
    check_complex(lambda a: sla.expm_frechet(a, e, compute_expm=False), a, order=1, rtol=1e-4)
    check_complex(lambda e: sla.expm_frechet(a, e, compute_expm=False), e, order=1, rtol=1e-4)
    check_complex(lambda a: sla.expm(a), 0.5 * B345[:, :, :4] @ np.swapaxes(B345[:, :, :4], -1, -2) / 4,
                  order=1, rtol=1e-4)


@pytest.mark.parametrize("trans", [0, 1])
def test_lu_complex(trans):
    sla = pytest.importorskip("scipy.linalg")
    b = crandn(4, 2)
    same_as_numpy(lambda a: sla.lu_factor(a), M44)
    check_complex(lambda a: sla.lu_factor(a)[0], M44, order=2, rtol=1e-4)
    f = lambda a, b: sla.lu_solve(sla.lu_factor(a), b, trans=trans)
    same_as_numpy(f, M44, b)
    check_complex(lambda a: f(a, b), M44, order=2, rtol=1e-4)
    check_complex(lambda b: f(M44, b), b, order=1, rtol=1e-4)
    check_complex(lambda b: f(M44.real, b), b, order=1, rtol=1e-4)


def test_lu_solve_conjugate_transpose_of_complex_is_refused():
    sla = pytest.importorskip("scipy.linalg")
    with pytest.raises(UnsupportedOperationError, match="trans=2"):
        npdiff.numpify(lambda a: sla.lu_solve(sla.lu_factor(a), a[0], trans=2), M44)


HPD = M44 @ np.conj(M44.T) + 2 * np.eye(4) + 0.3 * np.triu(M44, 1) + 0.1j * np.eye(4)  # one triangle is HPD


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky_complex(upper):
    f = lambda a: np.linalg.cholesky(a, upper=upper)
    same_as_numpy(f, HPD)
    check_complex(f, HPD, order=2, rtol=1e-4)
    # the derivative of L L^H (lower) is the Hermitian matrix read from the lower triangle of dA
    t = crandn(4, 4)
    _, tan = npdiff.jvp(lambda a: (lambda c: c @ np.conj(c.T))(np.linalg.cholesky(a)), (HPD,), (t,))
    want = np.tril(t, -1) + np.conj(np.tril(t, -1).T) + np.diag(np.diag(t).real)
    cclose(tan, want, 1e-9, 1e-10, "d(L L^H)")


@pytest.mark.parametrize("lower", [False, True])
def test_scipy_cholesky_cho_solve_complex(lower):
    sla = pytest.importorskip("scipy.linalg")
    b = crandn(4, 2)
    for f in (lambda a: sla.cholesky(a, lower=lower), lambda a: sla.cho_solve(sla.cho_factor(a, lower=lower), b),
              lambda a: sla.cho_solve((sla.cholesky(a, lower=lower), lower), b[:, 0])):
        same_as_numpy(f, HPD)
        check_complex(f, HPD, order=1, rtol=1e-4)


@pytest.mark.parametrize("trans", [0, 1, 2, "C"])
@pytest.mark.parametrize("lower", [False, True])
@pytest.mark.parametrize("unit", [False, True])
def test_scipy_solve_triangular_complex(trans, lower, unit):
    sla = pytest.importorskip("scipy.linalg")
    a = M44 + 3 * np.eye(4)
    b = crandn(4, 2)
    f = lambda a, b: sla.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit)
    same_as_numpy(f, a, b)
    check_complex(lambda a: f(a, b), a, order=2, rtol=1e-4)
    check_complex(lambda b: f(a, b), b, order=1, rtol=1e-4)
    check_complex(lambda b: f(a.real, b), b, order=1, rtol=1e-4)


# -- other functions that conjugate or use |x| --------------------------------------------------------

@pytest.mark.parametrize("f", [lambda z: np.vdot(z, z), lambda z: np.vdot(z, z[::-1]),
                               lambda z: np.vecdot(z, z[::-1]) if hasattr(np, "vecdot") else np.vdot(z, z),
                               lambda z: np.linalg.vecdot(z.reshape(2, 3), z[::-1].reshape(2, 3))
                               if hasattr(np.linalg, "vecdot") else np.vdot(z, z),
                               lambda z: np.cov(z), lambda z: np.cov(z.reshape(2, 3)),
                               lambda z: np.corrcoef(z.reshape(2, 3)),
                               lambda z: np.nanvar(z), lambda z: np.nanstd(z.reshape(2, 3), axis=1),
                               lambda z: np.var(z), lambda z: np.std(z)],
                         ids=["vdot", "vdot2", "vecdot", "linalg.vecdot", "cov", "cov2", "corrcoef", "nanvar",
                              "nanstd", "var", "std"])
def test_conjugating_functions_complex(f):
    same_as_numpy(f, Z6)
    check_complex(f, Z6, order=1, rtol=1e-4)


@pytest.mark.parametrize("assume_a", ["her", "pos", "sym"])
@pytest.mark.parametrize("lower", [False, True])
def test_scipy_solve_hermitian_reads_one_triangle(assume_a, lower):
    sla = pytest.importorskip("scipy.linalg")
    c = M44 @ np.conj(M44.T) + 4 * np.eye(4)
    a = c + 0.3 * np.tril(M44, -1) + 0.2j * np.eye(4)  # neither Hermitian nor with a real diagonal
    b = crandn(4)
    f = lambda a: sla.solve(a, b, assume_a=assume_a, lower=lower)
    same_as_numpy(f, a)
    check_complex(f, a, order=1, rtol=1e-4)


@pytest.mark.parametrize("a", [M54, M44, M45], ids=["tall", "square", "wide"])
def test_qr_complex(a):
    same_as_numpy(np.linalg.qr, a)
    check_complex(np.linalg.qr, a, order=2 if a.shape[0] <= a.shape[1] else 1, rtol=1e-4)
    check_complex(lambda a: np.linalg.qr(a, mode="r"), a, order=1, rtol=1e-4)
    t = crandn(*a.shape)
    _, tan = npdiff.jvp(lambda a: (lambda q, r: q @ r)(*np.linalg.qr(a)), (a,), (t,))
    cclose(tan, t, 1e-9, 1e-10, "d(Q R)")


def test_scipy_qr_complex():
    sla = pytest.importorskip("scipy.linalg")
    check_complex(lambda a: sla.qr(a, mode="economic"), M54, order=1, rtol=1e-4)
    check_complex(lambda a: sla.qr(a)[1], M44, order=1, rtol=1e-4)


@pytest.mark.parametrize("a", [M54, M45, B345], ids=["tall", "wide", "batched"])
def test_pinv_complex(a):
    same_as_numpy(np.linalg.pinv, a)
    check_complex(np.linalg.pinv, a, order=2 if a.ndim == 2 else 1, rtol=1e-4)
