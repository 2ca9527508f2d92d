"""scipy.special.yn / gammasgn / polygamma / multigammaln and scipy.linalg.solve_sylvester /
sqrtm / solve_banded: values against SciPy, derivatives (forward and reverse, first and
second order) against central finite differences.
"""
from __future__ import annotations

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")
sla = pytest.importorskip("scipy.linalg")

import npdiff
from util import assert_close, check_derivatives

RNG = np.random.default_rng(11)
P3 = np.array([0.8, 1.7, 2.9])
P23 = np.array([[0.6, 1.7, 2.2], [1.1, 0.8, 3.1]])


def values_match(f, args, rtol=1e-10):
    """numpify(f) gives SciPy's values (and dtype) on args."""
    args = [np.asarray(a) for a in args]
    expect = f(*args)
    got = npdiff.numpify(f, *[npdiff.ShapeDtype(a.shape, a.dtype) for a in args])(*args)
    assert np.asarray(got).dtype == np.asarray(expect).dtype
    assert_close(np.real(got), np.real(expect), rtol, 1e-12, "value")
    assert_close(np.imag(got), np.imag(expect), rtol, 1e-12, "value (imaginary part)")


# -- scipy.special ---------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_yn_derivative_in_x(n):
    f = lambda x: sc.yn(n, x) * x
    values_match(f, [P23])
    check_derivatives(f, [P23], rtol=1e-5)


def test_yn_array_order_and_no_derivative_in_order():
    orders = np.array([0, 1, 3])
    f = lambda x: sc.yn(orders, x)
    values_match(f, [P3])
    check_derivatives(f, [P3])
    with pytest.raises(npdiff.UnsupportedOperationError, match="yn"):
        npdiff.grad(lambda n: np.sum(sc.yn(n, 1.3)))(np.array([1.0, 2.0]))


def test_gammasgn_is_piecewise_constant():
    x = np.array([-2.5, -1.5, -0.5, 0.7, 2.0])
    f = lambda x: sc.gammasgn(x) * x ** 2
    values_match(f, [x])
    assert_close(npdiff.jacfwd(f)(x), np.diag(2 * x * sc.gammasgn(x)))
    assert_close(npdiff.jacrev(f)(x), np.diag(2 * x * sc.gammasgn(x)))
    assert np.all(npdiff.grad(lambda x: np.sum(sc.gammasgn(x)))(x) == 0.0)


def _nested(fun):
    """Return a function calling fun through a helper closure (fun was taken before any trace)."""
    def helper(*args):
        return fun(*args)
    return lambda *args: helper(*args)


def test_functions_taken_before_the_trace_in_nested_closures():
    """scipy.special.polygamma / multigammaln and scipy.linalg.sqrtm bound before tracing, two closures deep."""
    poly = _nested(sc.polygamma)
    f = lambda x: poly(1, x) * x
    check_derivatives(f, [P3], rtol=1e-4)
    mg = _nested(sc.multigammaln)
    for d in (1, 2, 3):
        g = lambda a, d=d: mg(a, d)
        check_derivatives(g, [np.array([[4.2, 4.7, 4.1], [4.9, 4.4, 4.6]])])
        check_derivatives(g, [np.array(4.3)])
        values_match(g, [np.array([4.2, 4.7])])
    sq = _nested(sla.sqrtm)
    spd = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.8]])
    check_derivatives(lambda a: sq(a), [spd])


# -- scipy.linalg.solve_sylvester --------------------------------------------------------------

A3 = np.array([[2.0, 0.3, -0.4], [0.1, 1.7, 0.5], [-0.3, 0.2, 2.4]])
B2 = np.array([[1.1, -0.2], [0.4, 0.9]])
Q32 = np.array([[0.5, -1.0], [0.3, 0.8], [-0.7, 0.2]])


def test_solve_sylvester_derivatives():
    f = lambda a, b, q: sla.solve_sylvester(a, b, q)
    values_match(f, [A3, B2, Q32])
    check_derivatives(f, [A3, B2, Q32])
    x = f(A3, B2, Q32)
    assert_close(A3 @ x + x @ B2, Q32)


def test_solve_sylvester_batched():
    a = A3 + 0.1 * RNG.standard_normal((2, 3, 3))
    q = RNG.standard_normal((4, 1, 3, 2))
    f = lambda a, b, q: sla.solve_sylvester(a, b, q)
    values_match(f, [a, B2, q])
    check_derivatives(lambda a, q: f(a, B2, q), [a, q], order=1)


# -- scipy.linalg.sqrtm --------------------------------------------------------------------------

SPD = np.array([[2.0, 0.3, 0.1], [0.3, 1.5, -0.2], [0.1, -0.2, 1.8]])
NONSYM = np.array([[2.0, 0.7, 0.1], [-0.3, 1.5, 0.4], [0.2, -0.1, 1.8]])


@pytest.mark.parametrize("a", [SPD, NONSYM])
def test_sqrtm_real(a):
    f = lambda a: sla.sqrtm(a)
    values_match(f, [a])
    check_derivatives(f, [a])


def test_sqrtm_batched():
    a = np.stack([SPD, NONSYM, SPD + np.eye(3)])
    f = lambda a: sla.sqrtm(a) * 2.0
    values_match(f, [a])
    check_derivatives(f, [a], order=1)


def _indefinite():
    q, _ = np.linalg.qr(np.array([[1.0, 0.2, -0.3], [0.4, 1.0, 0.1], [-0.2, 0.5, 1.0]]))
    return q @ np.diag([-1.0, 2.0, 3.0]) @ q.T


def test_sqrtm_complex_root_of_a_real_matrix():
    """SciPy's root of a real matrix with a negative eigenvalue is complex: so is npdiff's (with values)."""
    s = _indefinite()
    expect = sla.sqrtm(s)
    assert np.iscomplexobj(expect)
    y, t = npdiff.jvp(sla.sqrtm, (s,), (SPD,))
    assert y.dtype == expect.dtype
    assert_close(y.real, expect.real)
    assert_close(y.imag, expect.imag)
    h = 1e-6
    fd = (sla.sqrtm(s + h * SPD) - sla.sqrtm(s - h * SPD)) / (2 * h)
    assert_close(t.real, fd.real, 1e-5, 1e-6)
    assert_close(t.imag, fd.imag, 1e-5, 1e-6)
    for part in (np.real, np.imag):  # reverse mode of each part against differences
        g = npdiff.grad(lambda a: np.sum(part(sla.sqrtm(a)) * NONSYM))(s)
        e = np.zeros((3, 3))
        e[1, 2] = h
        fd = (np.sum(part(sla.sqrtm(s + e)) * NONSYM) - np.sum(part(sla.sqrtm(s - e)) * NONSYM)) / (2 * h)
        assert abs(g[1, 2] - fd) < 1e-5


def test_sqrtm_complex_input():
    c = SPD + 0.3j * NONSYM
    y, t = npdiff.jvp(sla.sqrtm, (c,), (NONSYM + 0j,))
    assert_close(y.real, sla.sqrtm(c).real)
    h = 1e-6
    fd = (sla.sqrtm(c + h * NONSYM) - sla.sqrtm(c - h * NONSYM)) / (2 * h)
    assert_close(t.real, fd.real, 1e-5, 1e-6)
    assert_close(t.imag, fd.imag, 1e-5, 1e-6)


def test_sqrtm_path_follows_the_values():
    """A lazy operator traced on a matrix with a real root retraces for one with a complex root."""
    g = npdiff.grad(lambda a: np.sum(np.real(sla.sqrtm(a))))
    s = _indefinite()
    first = g(SPD)
    second = g(s)
    h = 1e-6
    e = np.zeros((3, 3))
    e[0, 1] = h
    fd = (np.sum(np.real(sla.sqrtm(s + e))) - np.sum(np.real(sla.sqrtm(s - e)))) / (2 * h)
    assert abs(second[0, 1] - fd) < 1e-5
    assert_close(g(SPD), first)


def test_sqrtm_from_shapes_refuses_a_complex_root():
    gf = npdiff.grad(lambda a: np.sum(sla.sqrtm(a))).specialize((3, 3))
    assert "scipy.linalg.sqrtm(" in gf.source
    with pytest.raises(ValueError, match="complex"):
        gf(_indefinite())


# -- scipy.linalg.solve_banded ---------------------------------------------------------------------

def _band(l, u, n, rng):
    ab = rng.standard_normal((l + u + 1, n))
    ab[u] += 4.0  # diagonally dominant
    return ab


@pytest.mark.parametrize("l,u", [(1, 1), (2, 0), (0, 2), (1, 2)])
@pytest.mark.parametrize("rhs", [(5,), (5, 2)])
def test_solve_banded(l, u, rhs):
    ab = _band(l, u, 5, RNG)
    b = RNG.standard_normal(rhs)
    f = lambda ab, b: sla.solve_banded((l, u), ab, b)
    values_match(f, [ab, b])
    check_derivatives(f, [ab, b], order=2)


def test_sqrtm_refuses_disp():
    with pytest.raises(npdiff.UnsupportedOperationError, match="disp="):
        npdiff.grad(lambda a: np.sum(sla.sqrtm(a, disp=False)[0]))(SPD)


def test_multigammaln_domain_follows_scipy():
    f = npdiff.grad(lambda a: np.sum(sc.multigammaln(a, 3)))
    assert_close(f(np.array([2.5, 3.0])), sc.psi(np.array([2.5, 3.0])) + sc.psi(np.array([2.0, 2.5]))
                 + sc.psi(np.array([1.5, 2.0])))
    with pytest.raises(ValueError, match="multigammaln"):  # SciPy raises too: a <= (d - 1) / 2
        f(np.array([0.9, 3.0]))
    with pytest.raises(ValueError):
        sc.multigammaln(np.array([0.9, 3.0]), 3)


def test_nested_closure_is_restored_after_the_trace():
    poly = _nested(sc.polygamma)
    helper = poly.__closure__[0].cell_contents
    original = sc.polygamma
    npdiff.grad(lambda x: np.sum(poly(0, x)))(P3)
    assert helper.__closure__[0].cell_contents is original
    assert sc.polygamma is original


def test_scaled_bessel_j_and_y_on_the_real_line():
    f = lambda x: sc.jve(1.5, x) * sc.yve(2.0, x) + sc.jve(0.0, x)
    values_match(f, [P23])
    check_derivatives(f, [P23])
    with pytest.raises(npdiff.UnsupportedOperationError, match="jve"):
        npdiff.jvp(lambda z: sc.jve(1.0, z), (np.array([1.0 + 0.5j]),), (np.array([1.0 + 0j]),))


def test_solve_sylvester_with_real_and_complex_arguments_solves_the_equation():
    """SciPy mixes a real Schur form with a complex solve when only some arguments are complex (and then
    returns a wrong X if a real matrix has complex eigenvalues); npdiff solves in the common dtype."""
    from util import fd_complex_grad
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 3)) + 3 * np.eye(3)  # complex eigenvalues, as b's
    b = np.array([[-3.0, 0.6], [-0.5, -3.2]])
    q = rng.normal(size=(3, 2))
    ac = a + 0.3j * rng.normal(size=(3, 3))
    w = np.array([[0.3 + 0.2j, -1.0], [0.5j, 2.0], [1.0, -0.7 + 0.1j]])
    for args, i in (((ac, b, q), 0), ((a, b, q + 1j * q[::-1]), 2), ((a, b + 0.2j, q), 1)):
        f = lambda *v: sla.solve_sylvester(*v)
        x = npdiff.numpify(f, *args)(*args)
        want = sla.solve_sylvester(*(np.asarray(v, complex) for v in args))
        assert_close(x.real, want.real, 1e-12, 1e-12, "real part")
        assert_close(x.imag, want.imag, 1e-12, 1e-12, "imag part")
        assert_close(np.abs(args[0] @ x + x @ args[1] - args[2]), np.zeros((3, 2)), 0, 1e-12, "residual")

        def loss(z):
            v = list(args)
            v[i] = z
            return np.sum(np.real(w * sla.solve_sylvester(*(np.asarray(u, complex) for u in v))))
        npdiff.config.self_check = False  # npdiff's value differs from SciPy's wrong mixed-dtype one, on purpose
        try:
            g = npdiff.grad(lambda z: np.sum(np.real(w * f(*args[:i], z, *args[i + 1:]))))(args[i])
        finally:
            npdiff.config.self_check = True
        ref = fd_complex_grad(loss, args[i]) if np.iscomplexobj(args[i]) else fd_complex_grad(loss, args[i]).real
        assert g.dtype == args[i].dtype
        assert_close(g.real, ref.real, 1e-6, 1e-8, f"d/d arg {i} (real part)")
        assert_close(g.imag, ref.imag, 1e-6, 1e-8, f"d/d arg {i} (imag part)")


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.float64])
def test_scipy_linalg_det_is_double_precision_as_scipy(dtype):
    a = (np.array([[2.0, 0.3], [-0.4, 1.5]]) + (0.2j if np.dtype(dtype).kind == "c" else 0)).astype(dtype)
    want = sla.det(a)
    got = npdiff.numpify(lambda a: sla.det(a), a)(a)
    assert np.asarray(got).dtype == np.asarray(want).dtype
    assert_close(np.abs(got - want), 0.0, 0, 1e-6)
    if np.dtype(dtype).kind == "f":
        g = npdiff.grad(lambda a: sla.det(a))(a)
        assert g.dtype == a.dtype
        assert_close(g, np.linalg.det(a.astype(float)) * np.linalg.inv(a.astype(float)).T, 1e-6, 1e-6)
