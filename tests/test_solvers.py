"""SciPy's solvers, ODE integrators and quadrature called unchanged inside traced functions.

Each derivative is checked against central finite differences of the same SciPy
call, run at tight tolerances (root finders to ~1e-14, ODEs at rtol=1e-10,
atol=1e-12); optimisers, whose own tolerance limits finite differences, are
checked against finite differences of a tightly solved optimality condition.
"""
from __future__ import annotations

import numpy as np
import pytest

import npdiff
from npdiff.errors import UnsupportedOperationError

so = pytest.importorskip("scipy.optimize")
si = pytest.importorskip("scipy.integrate")

P = np.array([0.5, 0.7, 1.3])


def fd(fun, x, h=1e-6):
    x = np.asarray(x, float)
    return np.array([(fun(x + h * e) - fun(x - h * e)) / (2 * h) for e in np.eye(x.size)]).T


def cubic(x, a, b):
    return x ** 3 + a * x - b - 1.0


SCALAR = {
    "brentq": lambda p: so.brentq(cubic, 0.0, 3.0, args=(p[0], p[1]), xtol=1e-14),
    "brenth": lambda p: so.brenth(lambda x: cubic(x, p[0], p[1]), 0.0, 3.0, xtol=1e-14),
    "ridder": lambda p: so.ridder(lambda x: cubic(x, p[0], p[1]), 0.0, 3.0, xtol=1e-14),
    "bisect": lambda p: so.bisect(lambda x: cubic(x, p[0], p[1]), 0.0, 3.0, xtol=1e-14),
    "toms748": lambda p: so.toms748(lambda x: cubic(x, p[0], p[1]), 0.0, 3.0, xtol=1e-14),
    "newton": lambda p: so.newton(cubic, 1.0, args=(p[0], p[1]), tol=1e-13),
    "newton_fprime": lambda p: so.newton(lambda x: cubic(x, p[0], p[1]), p[2], fprime=lambda x: 3 * x ** 2 + p[0],
                                         tol=1e-13),
    "newton_array": lambda p: so.newton(lambda x: cubic(x, p[0], p[1] * np.arange(1.0, 4.0)), np.ones(3),
                                        tol=1e-13) @ np.arange(1.0, 4.0),
    "root_scalar": lambda p: so.root_scalar(cubic, args=(p[0], p[1]), bracket=(0.0, 3.0), xtol=1e-14).root,
    "root_scalar_newton": lambda p: so.root_scalar(lambda x: cubic(x, p[0], p[1]), x0=p[2], method="newton",
                                                   fprime=lambda x: 3 * x ** 2 + p[0], xtol=1e-14).root,
}


@pytest.mark.parametrize("name", sorted(SCALAR))
def test_scalar_root_finders_match_finite_differences(name):
    f = SCALAR[name]
    np.testing.assert_allclose(npdiff.grad(f)(P), fd(f, P), rtol=1e-6, atol=1e-7)


def test_brentq_closure_scalar_parameter_second_order_and_full_output():
    def f(c):
        r, info = so.brentq(lambda x: x ** 3 + c * x - 2.0, 0.0, 2.0, full_output=True)
        assert info.root is r
        return r ** 2 + 0.0 * info.iterations
    c = 1.5
    np.testing.assert_allclose(npdiff.grad(f)(c), fd(lambda v: f(v[0]), [c])[0], rtol=1e-7)
    g = npdiff.grad(f)
    np.testing.assert_allclose(npdiff.grad(g)(c), fd(lambda v: g(v[0]), [c], 1e-5)[0], rtol=1e-6)


def test_brentq_failure_raises_as_scipy():
    f = npdiff.grad(lambda c: so.brentq(lambda x: x ** 2 + c, -1.0, 1.0))
    with pytest.raises(ValueError, match="different signs"):
        f(1.0)


def F2(z, a):
    return np.array([z[0] + a[0] * z[1] ** 3 - 1.0, z[1] + np.sin(z[0]) * a[1]])


VECTOR = {
    "root_hybr": lambda p: so.root(F2, np.zeros(2), args=(p,), tol=1e-13).x @ np.array([1.0, 2.0]),
    "root_lm": lambda p: so.root(F2, np.zeros(2), args=(p,), method="lm", tol=1e-13).x @ np.array([1.0, 2.0]),
    "fsolve": lambda p: so.fsolve(F2, np.zeros(2), args=(p,), xtol=1e-13) @ np.array([1.0, 2.0]),
    "fixed_point": lambda p: so.fixed_point(lambda x: np.cos(x) * p, np.ones(3), xtol=1e-13) @ np.arange(1.0, 4.0),
}


@pytest.mark.parametrize("name", sorted(VECTOR))
def test_vector_solvers_match_finite_differences(name):
    f = VECTOR[name]
    np.testing.assert_allclose(npdiff.grad(f)(P), fd(f, P), rtol=1e-6, atol=1e-7)


def test_root_result_is_scipys_object_with_traced_fields():
    def f(p):
        sol = so.root(F2, np.zeros(2), args=(p,), tol=1e-13)
        assert isinstance(sol, so.OptimizeResult)
        if not sol.success:
            raise RuntimeError("no root")
        return np.sum(sol.fun ** 2) + sol.x[0]
    np.testing.assert_allclose(npdiff.grad(f)(P), fd(f, P), rtol=1e-6, atol=1e-7)


def test_root_jacobian_and_hessian():
    f = VECTOR["root_hybr"]
    np.testing.assert_allclose(npdiff.hessian(f)(P), fd(npdiff.grad(f), P, 1e-5), rtol=1e-5, atol=1e-6)


def quartic(z, a):
    return np.sum((z - a) ** 2 * np.arange(1, 4)) + 0.1 * np.sum(z ** 4) + z[0] * z[1] * a[2]


def quartic_grad(z, a):
    return 2 * (z - a) * np.arange(1, 4) + 0.4 * z ** 3 + a[2] * np.array([z[1], z[0], 0.0])


def argmin_ref(p, lb=None):
    """A tight solve of the optimality condition (bound components held), for finite differences."""
    if lb is None:
        return so.fsolve(quartic_grad, np.zeros(3), args=(p,), xtol=1e-14)
    free = [1, 2]
    z = np.array([lb, 0.0, 0.0])

    def g(v):
        z[1:] = v
        return quartic_grad(z, p)[free]
    z[1:] = so.fsolve(g, np.zeros(2), xtol=1e-14)
    return z.copy()


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "Newton-CG", "trust-exact", "Nelder-Mead", "Powell"])
def test_minimize_argmin_derivative(method):
    jac = quartic_grad if method in ("BFGS", "Newton-CG", "trust-exact") else None
    hess = ((lambda z, a: np.diag(2 * np.arange(1, 4) + 1.2 * z ** 2)
             + a[2] * np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0.0]])) if method == "trust-exact" else None)
    w = np.array([1.0, 2.0, 3.0])

    def f(p):
        return so.minimize(quartic, np.zeros(3), args=(p,), method=method, jac=jac, hess=hess, tol=1e-12).x @ w
    np.testing.assert_allclose(npdiff.grad(f)(P), fd(lambda p: argmin_ref(p) @ w, P), rtol=1e-5, atol=1e-6)


def test_minimize_bound_components_have_zero_derivative():
    w = np.array([1.0, 2.0, 3.0])
    lb = 0.45  # the unconstrained z[0] is below it: the bound holds

    def f(p):
        res = so.minimize(quartic, np.ones(3), args=(p,), method="L-BFGS-B", bounds=[(lb, None)] + [(None, None)] * 2,
                          options=dict(ftol=1e-15, gtol=1e-12))
        return res.x @ w
    assert abs(argmin_ref(P, lb)[0] - lb) == 0
    np.testing.assert_allclose(npdiff.grad(f)(P), fd(lambda p: argmin_ref(p, lb) @ w, P), rtol=1e-5, atol=1e-6)


def test_least_squares_matches_tight_normal_equations():
    def r(z, p):
        return np.array([z[0] - p[0], z[1] * z[0] - p[1], z[1] ** 2 - p[2], z[0] + z[1]])

    def jr(z):
        return np.array([[1, 0], [z[1], z[0]], [0, 2 * z[1]], [1, 1.0]])
    w = np.array([1.0, 2.0])

    def ref(p):
        return so.fsolve(lambda z: jr(z).T @ r(z, p), np.ones(2), xtol=1e-14) @ w

    def f(p):
        res = so.least_squares(r, np.ones(2), args=(p,), xtol=1e-15, ftol=1e-15, gtol=1e-15)
        return res.x @ w + 0.0 * res.cost
    np.testing.assert_allclose(npdiff.grad(f)(P), fd(ref, P), rtol=1e-6, atol=1e-7)


def test_minimize_constraints_refused():
    f = npdiff.grad(lambda p: so.minimize(quartic, np.zeros(3), args=(p,),
                                          constraints=[{"type": "eq", "fun": lambda z: z[0]}]).x[0])
    with pytest.raises(UnsupportedOperationError, match="constraints"):
        f(P)


QUAD = {
    "quad": lambda p: si.quad(lambda t: np.exp(-p[0] * t ** 2) * np.cos(p[1] * t), 0.0, p[2],
                              epsabs=1e-13, epsrel=1e-13)[0],
    "quad_inf_args": lambda p: si.quad(lambda t, a, b: np.exp(-a * t ** 2) * np.cos(b * t), 0.0, np.inf,
                                       args=(p[0], p[1]), epsabs=1e-13)[0] * p[2],
    "quad_lower": lambda p: si.quad(lambda t: np.sin(p[0] * t) + p[1], p[2], 2.0, epsabs=1e-13)[0],
    "quad_vec": lambda p: si.quad_vec(lambda t: np.array([np.exp(-p[0] * t), t * p[1] ** 2]), 0.0, p[2],
                                      epsrel=1e-12)[0] @ np.array([1.0, 3.0]),
}


@pytest.mark.parametrize("name", sorted(QUAD))
def test_quadrature_matches_finite_differences(name):
    f = QUAD[name]
    np.testing.assert_allclose(npdiff.grad(f)(P), fd(f, P), rtol=1e-7, atol=1e-8)


def test_quad_hessian():
    f = QUAD["quad"]
    np.testing.assert_allclose(npdiff.hessian(f)(P), fd(npdiff.grad(f), P, 1e-5), rtol=1e-6, atol=1e-7)


TE = np.linspace(0.0, 2.0, 5)


def osc(t, y, a, b):
    return np.array([y[1], -a * y[0] - b * y[1] * y[0] ** 2])


@pytest.mark.parametrize("method", ["RK45", "DOP853", "Radau", "BDF", "LSODA"])
def test_solve_ivp_sensitivities(method):
    def f(p):
        sol = si.solve_ivp(osc, (0.0, 2.0), np.array([p[2], 0.0]), method=method, t_eval=TE, args=(p[0], p[1]),
                           rtol=1e-10, atol=1e-12)
        return sol.y @ np.arange(1.0, 6.0) @ np.array([1.0, -1.0])
    # finite differences of an adaptive solve carry its error (~rtol / h); LSODA switches methods between steps
    tol = 1e-4 if method == "LSODA" else 2e-6
    np.testing.assert_allclose(npdiff.grad(f)(P), fd(f, P, 1e-4), rtol=tol, atol=tol)


def test_solve_ivp_jacobian_and_hessian_closure():
    def f(p):
        sol = si.solve_ivp(lambda t, y: -p[0] * y + np.sin(p[1] * t), (0.0, 1.0), p[1:], t_eval=TE / 2,
                           method="DOP853", rtol=1e-11, atol=1e-13)
        return sol.y.ravel()
    np.testing.assert_allclose(npdiff.jacobian(f)(P), fd(f, P), rtol=1e-7, atol=1e-8)
    g = lambda p: f(p).sum()
    np.testing.assert_allclose(npdiff.hessian(g)(P), fd(npdiff.grad(g), P, 1e-5), rtol=1e-5, atol=1e-6)


def test_odeint_with_traced_times():
    def f(p, t):
        return si.odeint(lambda y, t: np.array([y[1], -p[0] * y[0]]), p[1:], t, rtol=1e-11, atol=1e-12).sum()
    t = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(npdiff.grad(f, argnums=(0, 1))(P, t)[0], fd(lambda p: f(p, t), P), rtol=1e-6)
    np.testing.assert_allclose(npdiff.grad(f, argnums=(0, 1))(P, t)[1], fd(lambda s: f(P, s), t), rtol=1e-6)


def test_solve_ivp_refusals():
    f = npdiff.grad(lambda p: si.solve_ivp(lambda t, y: -p * y, (0.0, 1.0), np.ones(1)).y[0, -1])
    with pytest.raises(UnsupportedOperationError, match="t_eval"):
        f(1.0)
    f = npdiff.grad(lambda p: si.solve_ivp(lambda t, y: -p * y, (0.0, 1.0), np.ones(1), dense_output=True).y[0, -1])
    with pytest.raises(UnsupportedOperationError, match=r"sol\.y of scipy\.integrate\.solve_ivp without t_eval"):
        f(1.0)
    for bad, match in ((dict(events=lambda t, y: y[0] - 0.5), "events="), (dict(vectorized=True), "vectorized")):
        f = npdiff.grad(lambda p, kw=bad: si.solve_ivp(lambda t, y: -p * y, (0.0, 1.0), np.ones(1), t_eval=[1.0],
                                                       **kw).y[0, -1])
        with pytest.raises(UnsupportedOperationError, match=match):
            f(1.0)


def _dense_rhs(t, y, k):
    return -k[:2] * y + k[2] * np.sin(t) * y[::-1]


def dense_case(p):
    sol = si.solve_ivp(_dense_rhs, (0.0, 2.0), np.array([1.0, p[0]]), args=(p,), dense_output=True, rtol=1e-11,
                       atol=1e-13)
    a = sol.sol(1.3)  # constant scalar time: (2,)
    b = sol.sol(np.array([0.2, p[2], 1.9]))  # array with a traced time: (2, 3)
    return np.sum(a ** 2) + np.sum(b * np.array([[1.0], [2.0]])) + sol.sol(p[1]) @ np.array([0.3, 0.4])


def test_solve_ivp_dense_output_at_constant_and_traced_times():
    np.testing.assert_allclose(npdiff.numpify(dense_case, (3,))(P), dense_case(P), rtol=1e-14)
    g = npdiff.grad(dense_case)
    np.testing.assert_allclose(g(P), fd(dense_case, P), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(npdiff.jacfwd(dense_case)(P), g(P), rtol=1e-12)
    np.testing.assert_allclose(npdiff.hessian(dense_case)(P), fd(g, P, 1e-5), rtol=1e-5, atol=1e-6)

    def with_t_eval(p):  # t_eval and the dense output together; .success is traced
        sol = si.solve_ivp(_dense_rhs, (0.0, 2.0), np.array([1.0, p[0]]), args=(p,), dense_output=True,
                           t_eval=[0.5, 1.0], rtol=1e-11, atol=1e-13, method="DOP853")
        return np.sum(sol.y) + sol.sol(0.7)[0] * sol.success
    np.testing.assert_allclose(npdiff.grad(with_t_eval)(P), fd(with_t_eval, P), rtol=1e-6, atol=1e-8)


def cubic_residual(x, a):
    return x ** 3 + a * x - 2.0


@npdiff.custom_root(cubic_residual)
def cubic_newton(x0, a):
    x = x0
    while True:
        step = cubic_residual(x, a) / (3 * x ** 2 + a)
        x = x - step
        if np.all(np.abs(step) < 1e-14):
            return x


def test_custom_root_gradient_and_hessian():
    def f(a):
        return np.sum(cubic_newton(np.ones(3), a) ** 2)
    np.testing.assert_allclose(npdiff.grad(f)(P), fd(f, P), rtol=1e-7)
    np.testing.assert_allclose(npdiff.hessian(f)(P), fd(npdiff.grad(f), P, 1e-5), rtol=1e-6, atol=1e-8)
    assert np.allclose(cubic_newton(1.0, 0.5) ** 3 + 0.5 * cubic_newton(1.0, 0.5), 2.0)  # untraced: the loop


def test_custom_root_solve_reading_a_closure_is_refused():
    def f(a):
        @npdiff.custom_root(lambda x: x - a)
        def solve(x0):
            return a * 1.0  # reads the traced a without taking it as an argument
        return np.sum(solve(np.ones(3)) ** 2)
    with pytest.raises(npdiff.TracingError, match="argument"):
        npdiff.grad(f)(P)


def test_fixed_point_args_and_closure():
    def f(c):
        return npdiff.fixed_point(lambda x, c: np.cos(x) * c, np.zeros(3), c) @ np.arange(1.0, 4.0)

    def g(c):
        return npdiff.fixed_point(lambda x: np.cos(x) * c[0] + c[1], 0.0) * c[2]
    for fun in (f, g):  # (x = 1.3 cos x converges too slowly for the default maxiter: 0.8 P)
        np.testing.assert_allclose(npdiff.grad(fun)(0.8 * P), fd(fun, 0.8 * P), rtol=1e-7, atol=1e-9)


def test_fixed_point_not_converging_raises():
    with pytest.raises(RuntimeError, match="no convergence"):
        npdiff.grad(lambda c: npdiff.fixed_point(lambda x: 2.0 * c * np.cos(x), 0.0))(2.0)


def test_forward_and_reverse_jacobians_float32_and_value_only():
    def f(p):
        return np.array([so.brentq(lambda x: x ** 3 + p[0] * x - p[1], 0, 3),
                         so.root(lambda z: z + p * np.tanh(z) - 1, np.zeros(3), tol=1e-13).x[1]])
    ref = fd(f, P)
    np.testing.assert_allclose(npdiff.jacfwd(f)(P), ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(npdiff.jacrev(f)(P), ref, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(npdiff.numpify(f, npdiff.ShapeDtype((3,), float))(P), f(P), rtol=1e-12)
    g32 = npdiff.grad(lambda p: so.brentq(lambda x: x ** 3 + p[0] * x - p[1], 0, 3))(P.astype(np.float32))
    assert g32.dtype == np.float32
    np.testing.assert_allclose(g32, ref[0], rtol=1e-5)


def test_full_outputs_and_untraced_calls():
    def fs(p):
        x, info, ier, _ = so.fsolve(lambda z: z + p * np.tanh(z) - 1, np.zeros(3), full_output=True, xtol=1e-13)
        return x.sum() + 0.0 * ier + np.sum(info["fvec"])
    np.testing.assert_allclose(npdiff.grad(fs)(P), fd(fs, P), rtol=1e-6)

    def nw(p):
        r, _conv, _zero_der = so.newton(lambda x: x ** 3 + p[0] * x - p[1], np.ones(2), full_output=True, tol=1e-13)
        return r.sum()
    np.testing.assert_allclose(npdiff.grad(nw)(P), fd(nw, P), rtol=1e-6, atol=1e-9)
    # nothing traced reaches the solver: SciPy's own call, a constant
    np.testing.assert_allclose(npdiff.grad(lambda p: p.sum() * so.brentq(lambda x: x ** 2 - 2.0, 0, 2))(P),
                               np.full(3, np.sqrt(2.0)), rtol=1e-10)
    # only the starting point is traced: the root does not depend on it
    assert npdiff.grad(lambda x0: so.newton(lambda x: x ** 2 - 2.0, x0))(1.0) == 0.0


A0 = np.array([[-0.5, 0.3, 0.1], [0.2, -0.4, 0.25], [-0.1, 0.15, -0.3]])
PA = np.concatenate([A0.ravel(), [1.0, 0.5, -0.3]])  # 9 parameters and 3 initial values: the adjoint method


def linear_cubic_loss(p, method="DOP853"):
    A = p[:9].reshape(3, 3)
    sol = si.solve_ivp(lambda t, y: A @ y - 0.1 * y ** 3, (0.0, 1.0), p[9:], t_eval=TE / 2, method=method,
                       rtol=1e-10, atol=1e-12)
    return np.sum(sol.y ** 2)


@pytest.mark.parametrize("method", ["DOP853", "Radau"])
def test_adjoint_gradient_many_parameters(method, monkeypatch):
    from npdiff.lower import ode_adjoint
    monkeypatch.setattr(npdiff.config, "ode_adjoint_min_params", 12)
    runs = []
    run = ode_adjoint.AdjSpec.run
    monkeypatch.setattr(ode_adjoint.AdjSpec, "run", lambda self, *a: (runs.append(1), run(self, *a))[1])
    f = lambda p: linear_cubic_loss(p, method)
    ref = fd(f, PA, 1e-5)
    np.testing.assert_allclose(npdiff.grad(f)(PA), ref, rtol=1e-6, atol=1e-7)
    assert runs, "the adjoint method did not run"
    runs.clear()
    monkeypatch.setattr(npdiff.config, "ode_adjoint_min_params", 10 ** 9)  # the forward sensitivities agree
    np.testing.assert_allclose(npdiff.grad(lambda p: f(p))(PA), ref, rtol=1e-6, atol=1e-7)
    assert not runs


def test_adjoint_hessian_and_jvp(monkeypatch):
    monkeypatch.setattr(npdiff.config, "ode_adjoint_min_params", 12)
    f = linear_cubic_loss
    g = npdiff.grad(f)
    np.testing.assert_allclose(npdiff.jacfwd(g)(PA), fd(g, PA, 1e-5), rtol=1e-5, atol=1e-6)
    v = np.linspace(-1.0, 1.0, PA.size)
    _, t = npdiff.jvp(f, (PA,), (v,))
    np.testing.assert_allclose(t, fd(lambda s: f(PA + s[0] * v), [0.0], 1e-5)[0], rtol=1e-6)


def test_odeint_adjoint(monkeypatch):
    monkeypatch.setattr(npdiff.config, "ode_adjoint_min_params", 12)

    def f(p):
        return si.odeint(lambda y, t: p[:9].reshape(3, 3) @ y, p[9:], TE / 2, rtol=1e-11, atol=1e-12).sum()
    np.testing.assert_allclose(npdiff.grad(f)(PA), fd(f, PA, 1e-5), rtol=1e-6, atol=1e-6)
