"""Registry-driven systematic test: every primitive, forward and reverse,
first and second order, against finite differences, over 0-d, 1-d, 2-d and
broadcast shapes and both float dtypes.

Elementwise primitives are generated from the registry (their input ranges
are test metadata, in tests/domains.py); every other primitive must be exercised by a case in
STRUCTURAL below, and a primitive reached by no case fails the suite.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from domains import domain
from npdiff.ir.graph import toposort
from npdiff.primitives import PRIMS
from util import assert_close, check_derivatives, fd_jac

try:
    import scipy.integrate as _sint
    import scipy.optimize as _sopt
except ImportError:  # SciPy is optional: solver_call and solver_lin are then not exercised
    _sopt = None


def _ode_loss(x):
    saved, npdiff.config.ode_adjoint_min_params = npdiff.config.ode_adjoint_min_params, 12  # read when traced
    try:
        sol = _sint.solve_ivp(lambda t, y: x[:9].reshape(3, 3) @ y - 0.1 * y ** 3, (0.0, 1.0), x[9:] + 1.0,
                              t_eval=[0.5, 1.0], method="DOP853", rtol=1e-11, atol=1e-12)
    finally:
        npdiff.config.ode_adjoint_min_params = saved
    return np.sum(sol.y[:, -1] ** 2)

def _reached(f, args) -> set[str]:
    """Return the primitives tracing f and its reverse-mode derivative reach."""
    from npdiff.api.core import aval
    from npdiff.ir.pytree import tree_flatten
    from npdiff.tracing.tracer import trace
    # transposes such as scatter_add appear only in the derivative; their own rules are checked at
    # second order
    ops = set()
    for g in (f, npdiff.jacrev(f)):
        _, out = trace(g, [aval(np.asarray(a)) for a in args])
        leaves, _ = tree_flatten(out)
        ops.update(n.op for n in toposort(leaves))
    return ops


def _numpify(f, args):
    """Return the GeneratedFunction of f for the shapes and dtypes of args."""
    return npdiff.numpify(f, *[npdiff.ShapeDtype(np.shape(a), np.asarray(a).dtype) for a in args])


def _ew_cases():
    cases = []
    for name, prim in sorted(PRIMS.items()):
        if prim.partials and not prim.nondiff:
            nin = len(prim.partials)
            shapes = [((),), ((3,),), ((2, 3),)] if nin == 1 else [((), ()), ((3,), (2, 3)), ((2, 1), (1, 3))]
            for sh in shapes:
                cases.append(pytest.param(name, sh, id=f"{name}-{'x'.join(map(str, sh))}"))
    return cases


def _inputs(prim, shapes, rng, dtype=np.float64):
    lo, hi = domain(prim.name)
    return [rng.uniform(lo, hi, size=s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("name,shapes", _ew_cases())
def test_elementwise(name, shapes, rng):
    prim = PRIMS[name]
    impl = prim.impl
    args = _inputs(prim, shapes, rng)
    if name in ("maximum", "minimum", "fmax", "fmin") and len(args) == 2:
        args[1] = args[1] + 0.1  # keep away from ties
    f = lambda *xs: impl(*xs)
    gf = _numpify(f, args)
    assert_close(gf(*args), impl(*args), 1e-12, 1e-12, "numpify value")
    check_derivatives(f, args, order=2)


@pytest.mark.parametrize("name", sorted(n for n, p in PRIMS.items() if p.partials and not p.nondiff))
def test_elementwise_float32(name, rng):
    prim = PRIMS[name]
    nin = len(prim.partials)
    args = _inputs(prim, [(3,)] * nin, rng, np.float32)
    f = lambda *xs: prim.impl(*xs)
    out = npdiff.numpify(f, *[npdiff.ShapeDtype((3,), np.float32)] * nin)(*args)
    assert out.dtype == np.float32
    J = npdiff.jacrev(f)(*args)
    J = J if nin == 1 else J[0]
    assert J.dtype == np.float32
    assert_close(J, fd_jac(f, args, 0).reshape(J.shape), 1e-2, 1e-3, "float32 jacobian")


A23 = np.array([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]])
V3 = np.array([0.5, -0.7, 1.3])
M33 = np.array([[1.2, 0.3, -0.4], [0.1, 0.9, 0.5], [-0.3, 0.2, 1.4]])


def _setitem_fn(x):
    y = np.zeros_like(x)
    y[0] = x[1] * x[2]
    y[1:] += np.sin(x[:-1])
    return y


def _array_fn(x):
    return np.array([np.cos(x[0]), x[1] ** 2, 3.0 * x[2]])


def _fancy_setitem(x):
    y = x.copy()
    y[[0, 2]] = x[[1, 1]] ** 2
    return y


@npdiff.custom_jvp
def _cj(x):
    return np.tanh(x)


_cj.defjvp(lambda p, t: (np.tanh(p[0]), t[0] * (1.0 - np.tanh(p[0]) ** 2)))


@npdiff.custom_vjp
def _cv(x):
    return x ** 3


_cv.defvjp(lambda x: (x ** 3, x), lambda x, ct: (3.0 * x ** 2 * ct,))


STRUCTURAL = {
    "reduce_sum": [(lambda x: np.sum(x ** 2, axis=0), [A23]), (lambda x: x.sum(axis=1, keepdims=True) * x, [A23]),
                   (lambda x: np.sum(x ** 3), [V3])],
    "reduce_max": [(lambda x: np.max(x, axis=1), [A23]), (lambda x: np.max(x ** 2), [V3])],
    "reduce_min": [(lambda x: np.min(x, axis=0), [A23]), (lambda x: np.amin(x), [V3])],
    "reduce_prod": [(lambda x: np.prod(x, axis=1), [A23]), (lambda x: np.prod(x), [np.array([0.5, 0.0, 2.0])])],
    "broadcast_to": [(lambda x: np.broadcast_to(x, (2, 3)) * A23, [V3])],
    "reshape": [(lambda x: np.reshape(x ** 2, (3, 2)), [A23]), (lambda x: x.ravel() * 2.0, [A23])],
    "transpose": [(lambda x: x.T @ x, [A23]), (lambda x: np.transpose(x[None] * x[:, None], (2, 0, 1)), [A23])],
    "concatenate": [(lambda x: np.concatenate([x, x ** 2, V3[:2]]), [V3[:2]]),
                    (lambda x: np.concatenate([x, x * 2.0], axis=1), [A23])],
    "stack": [(_array_fn, [V3]), (lambda x: np.stack([x, x ** 2], axis=1), [A23])],
    "cumsum": [(lambda x: np.cumsum(x ** 2, axis=1), [A23]), (lambda x: np.cumsum(x), [V3])],
    "gather": [(lambda x: x[1:, ::-1] * x[0, 1], [A23]), (lambda x: x[[2, 0, 2]] ** 2, [V3]),
               (lambda x: x[None, ..., 1], [A23]), (lambda x: x[np.array([[0, 1], [1, 1]]), 2] ** 3, [A23])],
    "scatter_add": [(lambda x: x[[0, 0, 2]] ** 2, [V3])],
    "set_index": [(_setitem_fn, [V3]), (_fancy_setitem, [V3])],
    "index_add": [(lambda x: np.sum(x[1:] ** 2) + np.sum(x[:-1] ** 3), [V3])],
    "einsum": [(lambda a, b: a @ b, [A23, M33]), (lambda a, b: a @ b, [A23, V3]), (lambda a, b: b @ a.T, [A23, V3]),
               (lambda a, b: np.einsum("ij,jk->ki", a, b), [A23, M33]), (lambda a: np.trace(a @ a), [M33]),
               (lambda a: np.diagonal(a) * 2.0, [M33]), (lambda a, b: np.outer(b, a[0]), [A23, V3]),
               (lambda a, b: np.tensordot(a, b, axes=([1], [0])), [A23, M33])],
    "where": [(lambda x: np.where(x > 0, x ** 2, -x), [A23]), (lambda x: np.clip(x, -0.6, 0.6) * x, [V3])],
    "custom_jvp_out": [(lambda x: _cj(x) * x, [V3])],
    **({"solver_call": [(lambda x: _sopt.root(lambda z: z + 0.3 * np.tanh(z[::-1]) - x, np.zeros(3), tol=1e-13).x ** 2,
                         [V3], 1e-5)],
        # 9 + 3 parameters: the ODE's reverse mode is the adjoint method (solver_lin)
        "solver_lin": [(lambda x: _ode_loss(x), [np.linspace(-0.4, 0.5, 12)], 1e-5)]} if _sopt is not None else {}),
    "custom_vjp_out": [(lambda x: np.sum(_cv(x) * x), [V3], 1e-5, "rev")],
    "custom_vjp_out-sum": [(lambda x: np.sum(_cv(x)), [V3], 1e-5, "rev")],
    "cumprod": [(lambda x: np.cumprod(x, axis=1), [A23]),
                (lambda x: np.cumprod(x), [np.array([0.5, 0.0, 2.0, -1.5])])],
    "sort": [(lambda x: np.sort(x, axis=0) * np.arange(1.0, 3.0)[:, None], [A23]),
             (lambda x: np.sort(x ** 3) * V3, [V3])],
    **({"gammainc": [(lambda x: PRIMS["gammainc"].impl(2.5, x ** 2 + 0.5), [V3])],
        "gammaincc": [(lambda x: PRIMS["gammaincc"].impl(1.5, x ** 2 + 0.5), [V3])],
        "polygamma": [(lambda x: PRIMS["polygamma"].impl(x ** 2 + 0.5, n=2), [V3])],
        "yn": [(lambda x: PRIMS["yn"].impl(2, x ** 2 + 0.5), [V3])],
        **{k: [(lambda x, k=k: PRIMS[k].impl(1.5, x ** 2 + 0.5), [V3])]
           for k in ("jv", "yv", "iv", "kv", "ive", "kve", "stdtr", "jve", "yve")},
        "expn": [(lambda x: PRIMS["expn"].impl(2, x ** 2 + 0.5), [V3]),
                 (lambda x: PRIMS["expn"].impl(0, x ** 2 + 0.5), [V3])],
        **{k: [(lambda x, k=k: PRIMS[k].impl(2.5, x ** 2 * 0.3 + 0.1), [V3])] for k in ("gammaincinv", "gammainccinv")},
        **{k: [(lambda x, k=k: PRIMS[k].impl(2.5, 1.5, x ** 2 * 0.3 + 0.1), [V3])]
           for k in ("betainc", "betaincc", "betaincinv")},
        "zeta": [(lambda x: PRIMS["zeta"].impl(2.5, x ** 2 + 0.5), [V3])],
        "hyp1f1": [(lambda x: PRIMS["hyp1f1"].impl(0.5, 1.5, x), [V3])],
        "hyp2f1": [(lambda x: PRIMS["hyp2f1"].impl(0.5, 1.5, 2.0, x ** 2 * 0.1), [V3])],
        **{k: [(lambda x, k=k: PRIMS[k].impl(0.5, 1.5, x ** 2 + 0.5), [V3])]
           for k in ("wright_bessel", "log_wright_bessel")},
        # a count that is traced but not differentiated: no_derivative passes it through (refusal: test_scipy_stats_more)
        # scipy.stats bound before tracing (imported while tracing, the distributions are not patched yet)
        "no_derivative": [(lambda x, st=__import__("scipy.stats").stats: st.poisson.pmf(np.round(x ** 2 * 3.0),  # noqa: B008
                                                                                       x ** 2 + 0.5), [V3])],
        } if "gammainc" in PRIMS else {}),
    "real": [(lambda x: np.real(np.exp(1j * x) * x), [V3])],
    "imag": [(lambda x: np.imag(np.exp(1j * x) * x ** 2), [V3])],
    "conj": [(lambda x: np.real(np.conj(np.exp(1j * x)) * (x + 2j)), [V3]),
             (lambda x: np.abs(np.exp(1j * x) * x + 0.5), [V3])],
    "convert": [(lambda x: x.astype(np.float32) * 2.0, [V3], 3e-2)],
    # numpy.fft (every keyword, odd/even lengths and complex directions in tests/test_numpy_fft.py)
    "fft": [(lambda x: np.abs(np.fft.fft(x * (1.0 + 0.5j) + x ** 2, axis=0)) ** 2, [A23]),
            (lambda x: np.real(np.fft.ifft2(np.outer(x, x) * 1j, norm="ortho")), [V3])],
    "rfft": [(lambda x: np.abs(np.fft.rfft(x ** 3, n=4)), [V3]), (lambda x: np.imag(np.fft.rfft(x, axis=0)), [A23])],
    "irfft": [(lambda x: np.fft.irfft(x * np.exp(1j * x), n=5) ** 2, [V3]),
              (lambda x: np.fft.irfft(x + 1j * x ** 2, axis=0, norm="forward"), [A23])],
    # linalg (more cases, batched inputs and scipy.linalg in tests/test_linalg.py)
    "solve": [(lambda a, b: np.linalg.solve(a, b), [M33, V3])],
    "inv": [(lambda a: np.linalg.inv(a), [M33])],
    "det": [(lambda a: np.linalg.det(a), [M33])],
    "logabsdet": [(lambda a: np.linalg.slogdet(a)[1], [M33])],
    "slogdet_sign": [(lambda a: np.real(np.linalg.slogdet(a * (1.0 + 0.5j) + 1j * np.eye(3))[0]), [M33])],
    "eig": [(lambda a: np.abs(np.linalg.eigvals(a + 1j * a.T)), [M33]),
            (lambda a: np.real(np.linalg.eig(a @ a.T + 0j)[0]), [M33])],
    "cholesky": [(lambda a: np.linalg.cholesky(a @ a.T + np.eye(3)), [M33])],
    # cho_solve and log(diag(L)) on a Cholesky factor (primitives/cholesky.py; more in tests/test_speed_rows.py)
    "spd_solve": [(lambda a, b: __import__("scipy.linalg").linalg.cho_solve(
        (np.linalg.cholesky(a @ a.T + np.eye(3)), True), b), [M33, A23.T])],
    "chol_logdiag": [(lambda a: np.log(np.diag(np.linalg.cholesky(a @ a.T + np.eye(3)))), [M33])],
    # scipy.linalg (batched cases and finite-difference checks in tests/test_scipy_misc.py)
    "sylvester": [(lambda a, q: __import__("scipy.linalg").linalg.solve_sylvester(a, a.T, q), [M33, A23.T @ A23])],
    "sqrtm": [(lambda a: __import__("scipy.linalg").linalg.sqrtm(a @ a.T + np.eye(3)), [M33])],
    "banded_solve": [(lambda ab, b: __import__("scipy.linalg").linalg.solve_banded((1, 1), ab + 3.0, b),
                      [A23.T @ A23, V3])],
    "triangular_solve": [(lambda a, b: __import__("scipy.linalg").linalg.solve_triangular(a, b, lower=True),
                          [M33, A23.T])],
    "eigh": [(lambda a: np.linalg.eigh(a + a.T)[1] ** 2, [M33])],
    "eigvalsh": [(lambda a: np.linalg.eigvalsh(a + a.T), [M33])],
    "svd": [(lambda a: np.linalg.svd(a, full_matrices=False)[2] ** 2, [A23])],
    "svdvals": [(lambda a: np.linalg.svd(a, compute_uv=False), [A23])],
    "qr": [(lambda a: np.linalg.qr(a)[1], [A23.T])],
    "pinv": [(lambda a: np.linalg.pinv(a), [A23])],
    "expm": [(lambda a: __import__("scipy.linalg").linalg.expm(a), [M33])],
    "lu_factor": [(lambda a: __import__("scipy.linalg").linalg.lu_factor(a)[0], [M33])],
    "lu_solve": [(lambda a, b: __import__("scipy.linalg").linalg.lu_solve(
        __import__("scipy.linalg").linalg.lu_factor(a), b), [M33, V3])],
    # a constant scipy.sparse matrix times a traced array (formats and idioms in tests/test_constant_meets_traced.py)
    "csr_matmul": [(lambda x: __import__("scipy.sparse").sparse.csr_array(A23) @ (x ** 2), [V3]),
                   (lambda x: np.sin(x @ __import__("scipy.sparse").sparse.csc_matrix(M33)), [V3])],
}


def _structural_cases():
    for name, cases in STRUCTURAL.items():
        for k, (f, args, *opt) in enumerate(cases):
            yield pytest.param(f, args, opt[0] if opt else 1e-5, opt[1] if len(opt) > 1 else "both",
                               id=f"{name}-{k}")


@pytest.mark.parametrize("f,args,rtol,modes", list(_structural_cases()))
def test_structural(f, args, rtol, modes):
    gf = _numpify(f, args)
    assert_close(gf(*args), f(*args), 1e-12, 1e-12, "numpify value")
    if modes == "rev":  # reverse-only rules (custom_vjp): gradient and Hessian via jacrev(grad)
        g = npdiff.grad(f)
        assert_close(g(*args), fd_jac(f, args, 0).ravel(), rtol, 1e-6, "grad")
        assert_close(npdiff.jacrev(g)(*args), fd_jac(g, args, 0), 1e-4, 1e-5, "hessian")
        return
    check_derivatives(f, args, order=2, rtol=rtol)


def test_every_primitive_is_exercised():
    """A new primitive without a test case fails here."""
    # custom_vjp_lin lives only between linearization and transposition; its
    # transpose is exactly what the custom_vjp-out cases above differentiate through.
    # to_csr is an output format (sparse=True), checked in test_sparse.py.
    # loop_scan/loop_final/loop_pad/loop_lin/loop_rev exist only in top-level gradients of long loops
    # (reverse mode, once): tests/test_rolled_loops.py checks them against finite differences and unrolled code.
    # dynamic_slice/dynamic_pad need the values of their integer start (slices X[i * bs:(i + 1) * bs]
    # with i an argument): value, gradient, Hessian and third order in tests/test_model_idioms.py.
    rng = np.random.default_rng(0)
    covered = set()
    for _name, prim in PRIMS.items():  # each elementwise primitive is the subject of test_elementwise
        if prim.partials and not prim.nondiff:
            args = _inputs(prim, [(3,)] * len(prim.partials), rng)
            covered |= _reached(lambda *xs, impl=prim.impl: impl(*xs), args)
    for cases in STRUCTURAL.values():
        for f, args, *_ in cases:
            covered |= _reached(f, args)
    untested = {n for n, p in PRIMS.items() if not p.nondiff and n not in covered} - {
        "custom_vjp_lin", "to_csr", "dynamic_slice", "dynamic_pad", "loop_scan", "loop_final", "loop_pad", "loop_lin",
        "loop_rev"}
    if _sopt is None:
        untested -= {"solver_call", "solver_lin"}
    assert not untested, f"primitives without a test case: {sorted(untested)}"
