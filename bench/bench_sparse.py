"""Sparse derivatives at scale: the sparse Hessian of extended Rosenbrock and the
sparse Jacobian of a 2-D Laplacian residual (5-point stencil, slicing), at
n = 10^4, 10^5, 10^6. Prints a markdown table: pattern, colouring and total
generation time, passes (colours), nnz and evaluation time; with CasADi
importable, its sparse Hessian / Jacobian (construction and evaluation) too.

    PYTHONPATH=src python bench/bench_sparse.py [--sizes 10000,100000]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import scipy.sparse  # noqa: F401 - imported before timing: generation time excludes SciPy's import

import npdiff
from npdiff.api.core import aval
from npdiff.tracing.tracer import trace
from npdiff.transforms import colouring
from npdiff.transforms import sparsity as pattern


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def laplace(u):
    m = round(u.size ** 0.5)
    U = u.reshape(m, m)
    h2 = 1.0 / (m + 1) ** 2
    r = (4 * U[1:-1, 1:-1] - U[:-2, 1:-1] - U[2:, 1:-1] - U[1:-1, :-2] - U[1:-1, 2:]
         + h2 * np.exp(U[1:-1, 1:-1]))
    return r.ravel()


def _best(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _phases(f, n, hess):
    """Return (pattern seconds, colouring seconds, passes) measured on their own."""
    ins, out = trace(npdiff.grad(f) if hess else f, [aval((n,))])
    t = time.perf_counter()
    P = pattern.dependency([out], ins[0], pattern.MAX_NNZ_SPARSE)[0]
    t_pat = time.perf_counter() - t
    t = time.perf_counter()
    p = (colouring.colour_symmetric(pattern.symmetrised(P)) if hess else colouring.colour_columns(P))[0]
    return t_pat, time.perf_counter() - t, p


def npdiff_row(name, f, n, hess):
    t_pat, t_col, p = _phases(f, n, hess)
    op = npdiff.hessian(f, sparse=True) if hess else npdiff.jacobian(f, sparse=True)
    t = time.perf_counter()
    gen = op.specialize((n,))
    t_gen = time.perf_counter() - t
    x = np.random.default_rng(0).uniform(0.1, 0.9, n)
    t_eval, M = _best(lambda: gen(x))
    return (f"| {name} | {n:.0e} | npdiff | {t_pat:.3f} | {t_col:.3f} | {t_gen:.3f} | {p} | {M.nnz} "
            f"| {t_eval * 1e3:.1f} |")


def casadi_row(name, f_ca, n, hess):
    import casadi as ca
    t = time.perf_counter()
    x = ca.MX.sym("x", n)
    e = f_ca(x, n)
    M = ca.hessian(e, x)[0] if hess else ca.jacobian(e, x)
    fn = ca.Function("f", [x], [M])
    t_gen = time.perf_counter() - t
    xv = np.random.default_rng(0).uniform(0.1, 0.9, n)
    t_eval, out = _best(lambda: fn(xv))
    return f"| {name} | {n:.0e} | CasADi | | | {t_gen:.3f} | | {out.nnz()} | {t_eval * 1e3:.1f} |"


def rosen_ca(x, n):
    import casadi as ca
    return ca.sum1(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def laplace_ca(u, n):
    import casadi as ca
    m = round(n ** 0.5)
    U = ca.reshape(u, m, m)  # column-major: the transpose of NumPy's, the same stencil
    h2 = 1.0 / (m + 1) ** 2
    r = (4 * U[1:-1, 1:-1] - U[:-2, 1:-1] - U[2:, 1:-1] - U[1:-1, :-2] - U[1:-1, 2:]
         + h2 * ca.exp(U[1:-1, 1:-1]))
    return ca.vec(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--no-casadi", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    try:
        import casadi  # noqa: F401
        have_ca = not args.no_casadi
    except ImportError:
        have_ca = False
    print("| problem | n | tool | pattern s | colouring s | generation s | passes | nnz | evaluation ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        m = round(n ** 0.5)
        print(npdiff_row("Rosenbrock Hessian", rosen, n, True), flush=True)
        if have_ca:
            print(casadi_row("Rosenbrock Hessian", rosen_ca, n, True), flush=True)
        print(npdiff_row("Laplacian Jacobian", laplace, m * m, False), flush=True)
        if have_ca:
            print(casadi_row("Laplacian Jacobian", laplace_ca, m * m, False), flush=True)


if __name__ == "__main__":
    main()
