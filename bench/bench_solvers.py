"""Derivatives through SciPy solvers: npdiff's generated gradient against central finite differences
of the same SciPy call (time per gradient, and their difference; for the ODE also the error of each against
finite differences of a solve at rtol=1e-12). Runs in a few seconds.

    PYTHONPATH=src python bench/bench_solvers.py
"""
from __future__ import annotations

import time

import numpy as np
import scipy.integrate as si
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


if __name__ == "__main__":
    main()
