"""Derivatives through SciPy solvers: npdiff's generated gradient against central finite differences
of the same SciPy call (time per gradient, and their difference; for the ODE also the error of each against
finite differences of a solve at rtol=1e-12). Then one ODE parameter fit three ways, against the closed form
(matrix exponential, differentiated by complex step): npdiff through solve_ivp (forward sensitivities and
the adjoint method), central finite differences of solve_ivp, and npdiff's forward mode (jacfwd) through a
hand-written fixed-step RK4 loop in plain NumPy (unrolled into the trace). Runs in about ten seconds.

    PYTHONPATH=src python bench/bench_solvers.py
"""
from __future__ import annotations

import time

import numpy as np
import scipy.integrate as si
import scipy.linalg as sl
import scipy.optimize as so

import npdiff

P = np.array([0.5, 0.7, 1.3, 0.2, 0.9, 0.4])
TE = np.linspace(0.0, 2.0, 11)


def root_case(p):
    return so.root(lambda z: z + p[:3] * np.tanh(z[::-1]) - p[3:], np.zeros(3), tol=1e-12).x.sum()


def ode_case(p, rtol=1e-10):
    sol = si.solve_ivp(lambda t, y: -p[:3] * y + p[3:] * np.sin(t) * y[::-1], (0.0, 2.0), np.ones(3), t_eval=TE,
                       rtol=rtol, atol=rtol * 1e-2)
    return sol.y.sum()


def quad_case(p):
    return sum(si.quad(lambda t, i=i: np.exp(-p[i] * t) * np.cos(p[i + 3] * t), 0.0, 3.0, epsabs=1e-12)[0]
               for i in range(3))


N_BIG = 16
A_BIG = -np.eye(N_BIG) + 0.1 * np.sin(np.arange(N_BIG ** 2)).reshape(N_BIG, N_BIG)
P_BIG = np.concatenate([A_BIG.ravel(), np.linspace(0.5, 1.0, N_BIG)])  # 36 + 6 parameters


def ode_many(p):
    A = p[:N_BIG ** 2].reshape(N_BIG, N_BIG)
    sol = si.solve_ivp(lambda t, y: A @ y - 0.1 * y ** 3, (0.0, 2.0), p[N_BIG ** 2:], t_eval=TE, method="DOP853",
                       rtol=1e-10, atol=1e-12)
    return np.sum(sol.y ** 2)


def fd(f, p, h):
    return np.array([(f(p + h * e) - f(p - h * e)) / (2 * h) for e in np.eye(p.size)])


def best(fn, reps=5):
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    print(f"{'case':<10} {'npdiff grad':>12} {'FD grad':>10} {'first call':>11} {'|npdiff-FD|':>12} "
          f"{'|npdiff-ref|':>13} {'|FD-ref|':>10}")
    for name, f in (("root", root_case), ("solve_ivp", ode_case), ("quad", quad_case)):
        g = npdiff.grad(f)
        t0 = time.perf_counter()
        got = g(P)
        first = time.perf_counter() - t0
        h = 1e-6
        fd_val = fd(f, P, h)
        ref = fd(lambda p: ode_case(p, 1e-12), P, 1e-4) if name == "solve_ivp" else None
        t_np, t_fd = best(lambda: g(P)), best(lambda: fd(f, P, h))
        errs = "" if ref is None else f"{np.abs(got - ref).max():13.1e} {np.abs(fd_val - ref).max():10.1e}"
        print(f"{name:<10} {t_np * 1e3:10.2f}ms {t_fd * 1e3:8.2f}ms {first:10.2f}s "
              f"{np.abs(got - fd_val).max():12.1e} {errs}")
    saved = npdiff.config.ode_adjoint_min_params
    npdiff.config.ode_adjoint_min_params = 1
    g_adj = npdiff.grad(ode_many)
    got = g_adj(P_BIG)
    npdiff.config.ode_adjoint_min_params = 10 ** 9
    g_fwd = npdiff.grad(lambda p: ode_many(p))
    fwd = g_fwd(P_BIG)
    npdiff.config.ode_adjoint_min_params = saved
    ref = fd(ode_many, P_BIG, 1e-5)
    t_adj, t_fwd, t_fd = best(lambda: g_adj(P_BIG), 3), best(lambda: g_fwd(P_BIG), 3), best(lambda: fd(ode_many, P_BIG, 1e-5), 3)
    print(f"ODE, {P_BIG.size} parameters (DOP853, rtol=1e-10): adjoint {t_adj * 1e3:.1f} ms, forward sensitivities "
          f"{t_fwd * 1e3:.1f} ms, finite differences {t_fd * 1e3:.1f} ms; max |adjoint - FD| "
          f"{np.abs(got - ref).max():.1e}, max |forward - FD| {np.abs(fwd - ref).max():.1e}")


# -- one ODE fit, three ways: y' = A(p) y, loss = sum over 11 output times of |y(t) - data|^2 ------------

Y0 = np.array([1.0, 0.5, -0.3])
DATA = np.array([np.cos(TE), np.sin(TE), np.exp(-TE)])
P_FIT = np.array([0.3, 1.2, 0.4])


def amat(p):
    z = 0.0 * p[0]
    return np.stack([np.stack([-p[0], p[1], z]), np.stack([-p[1], -p[2], 0.5 * p[0]]),
                     np.stack([z + 0.2, -p[0], -p[2] - 0.1])])


def fit_ivp(p, rtol=1e-10, method="RK45"):
    A = amat(p)
    sol = si.solve_ivp(lambda t, y: A @ y, (0.0, 2.0), Y0, t_eval=TE, rtol=rtol, atol=rtol * 1e-2, method=method)
    return np.sum((sol.y - DATA) ** 2)


def fit_rk4(p, steps):
    """The same loss with a hand-written RK4 loop: ``steps`` fixed steps between output times."""
    A = amat(p)
    h = (TE[1] - TE[0]) / steps
    y = Y0
    total = np.sum((y - DATA[:, 0]) ** 2)
    for i in range(1, TE.size):
        for _ in range(steps):
            k1 = A @ y
            k2 = A @ (y + 0.5 * h * k1)
            k3 = A @ (y + 0.5 * h * k2)
            k4 = A @ (y + h * k3)
            y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        total = total + np.sum((y - DATA[:, i]) ** 2)
    return total


def fit_exact(p):
    A = amat(p)
    return np.sum((np.stack([sl.expm(A * t) @ Y0 for t in TE], axis=1) - DATA) ** 2)


def timed_first(make):
    """Return (the operator, its first call's value, the first call's time)."""
    t = time.perf_counter()
    op = make()
    val = op(P_FIT)
    return op, val, time.perf_counter() - t


def ode_vs_unrolled():
    ref = np.array([fit_exact(P_FIT + 1e-30j * e).imag / 1e-30 for e in np.eye(3)])  # complex step: exact
    saved = npdiff.config.ode_adjoint_min_params
    rows = []
    for rtol in (1e-6, 1e-10):
        npdiff.config.ode_adjoint_min_params = 10 ** 9
        rows.append((f"solve_ivp rtol={rtol:g}, npdiff forward sensitivities",
                     lambda r=rtol: npdiff.grad(lambda p: fit_ivp(p, r))))
        npdiff.config.ode_adjoint_min_params = 1
        rows.append((f"solve_ivp rtol={rtol:g}, npdiff adjoint",
                     lambda r=rtol: npdiff.grad(lambda p: fit_ivp(p, r))))
        rows.append((f"solve_ivp rtol={rtol:g}, central FD (h=1e-6)",
                     lambda r=rtol: (lambda p: fd(lambda q: fit_ivp(q, r), p, 1e-6))))
    for steps in (5, 20, 80):
        rows.append((f"RK4 loop, {steps * 10} steps, npdiff jacfwd",
                     lambda s=steps: npdiff.jacfwd(lambda p: fit_rk4(p, s))))
    print(f"\nODE fit y' = A(p) y, 3 states, 3 parameters, 11 output times on [0, 2]; error: max abs against the "
          f"matrix-exponential gradient (|grad| ~ {np.abs(ref).max():.0f})")
    print(f"{'method':<52} {'per gradient':>13} {'first call':>11} {'error':>9}")
    for name, make in rows:
        npdiff.config.ode_adjoint_min_params = 1 if "adjoint" in name else 10 ** 9  # read when traced
        op, val, first = timed_first(make)
        per = best(lambda: op(P_FIT), 5)
        print(f"{name:<52} {per * 1e3:11.2f}ms {first:10.2f}s {np.abs(val - ref).max():9.1e}")
    npdiff.config.ode_adjoint_min_params = saved


if __name__ == "__main__":
    main()
    ode_vs_unrolled()
