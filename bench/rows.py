"""The speed table: every row of the speed issue, side by side in one run.

Each row has a hand-written NumPy reference (checked against npdiff for
equality) and npdiff; peers (jax.jit, autograd, SymNum, Numpy2AD, CasADi) are
added when they are installed (the ``bench`` extra) and marked "-" otherwise,
never faked. Times are the minimum over repeats with single-threaded BLAS.

    python bench/rows.py            # quick mode (under a minute)
    python bench/rows.py --full     # every size, generation time vs n, memory at n = 10^6
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from bench_core import rosen, rosen_grad_hand, rosen_hvp_hand  # the Rosenbrock function and its hand-written gradient
from common import per_call

import npdiff

PEERS = ("jax.jit", "autograd", "SymNum", "Numpy2AD", "CasADi")
SYMNUM_MAX_N = 10  # SymNum scalarises through SymPy: generation beyond a few dozen elements stalls


# -- the functions ---------------------------------------------------------------------------

def rosen_hess_hand(x):
    n = x.size
    H = np.zeros((n, n))
    off = -400.0 * x[:-1]
    d = np.zeros(n)
    d[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    d[1:] += 200.0
    flat = H.reshape(-1)
    flat[::n + 1] = d
    flat[1::n + 1] = off
    flat[n::n + 1] = off
    return H


def logistic_nll(w, X, y):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z)


def logistic_grad_hand(w, X, y):
    z = X @ w
    return X.T @ (1.0 / (1.0 + np.exp(-z)) - y)


def gauss_logdens(x, mu, L):
    import scipy.linalg
    z = scipy.linalg.solve_triangular(L, x - mu, lower=True)
    return -0.5 * np.sum(z ** 2)


def gauss_grad_hand(x, mu, L):
    import scipy.linalg
    z = scipy.linalg.solve_triangular(L, x - mu, lower=True, check_finite=False)
    return -scipy.linalg.solve_triangular(L, z, lower=True, trans="T", check_finite=False)


def mma(A, B, C):
    return A @ B + C


def mma_ad_hand(A, B, C, A_a, B_a, C_a, out_a):
    return A @ B + C, A_a + out_a @ B.T, B_a + A.T @ out_a, C_a + out_a


def gls(X, M, y):
    M_inv = np.linalg.inv(M)
    return np.linalg.inv(X.T @ M_inv @ X) @ X.T @ M_inv @ y


def gls_ad_hand(X, M, y, X_a, M_a, y_a, out_a):
    Mi = np.linalg.inv(M)
    MiX = Mi @ X
    Si = np.linalg.inv(X.T @ MiX)
    Miy = Mi @ y
    b = Si @ (X.T @ Miy)
    u = Si @ out_a
    r = Miy - MiX @ b
    MiXu = MiX @ u
    return b, X_a + r @ u.T - MiXu @ b.T, M_a - MiXu @ r.T, y_a + MiXu


# -- peers ---------------------------------------------------------------------------------

def _jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jax, jnp


def jax_rosen(jnp):
    return lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def jax_op(kind, fn_of_jnp, *static):
    """Return a NumPy-in NumPy-out jitted derivative of a JAX function."""
    jax, jnp = _jax()
    f = fn_of_jnp(jnp)
    if kind == "value":
        j = jax.jit(f)
    elif kind == "grad":
        j = jax.jit(jax.grad(f))
    elif kind == "hvp":
        j = jax.jit(lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1])
    elif kind == "hessian":
        j = jax.jit(jax.hessian(f))
    else:
        raise ValueError(kind)
    return lambda *a: np.asarray(j(*a))


def autograd_rosen():
    import autograd.numpy as anp
    return lambda x: anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def autograd_op(kind, f):
    import autograd
    if kind == "value":
        return f
    if kind == "grad":
        return autograd.grad(f)
    if kind == "hvp":
        return autograd.hessian_vector_product(f)
    if kind == "hessian":
        return autograd.hessian(f)
    raise ValueError(kind)


def symnum_rosen(kind, n):
    if n > SYMNUM_MAX_N:
        return None
    import symnum
    import symnum.numpy as snp

    def f(x):
        return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()
    if kind == "value":
        return symnum.numpify(n)(f)
    op = {"grad": symnum.gradient, "hvp": symnum.hessian_vector_product, "hessian": symnum.hessian}[kind]
    g = op(symnum.numpify(n)(f))
    if kind == "hvp":
        return lambda x, v: g(x)(v)
    del snp
    return g


def casadi_rosen(kind, n):
    import casadi
    x = casadi.SX.sym("x", n)
    f = casadi.sum1(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    if kind == "value":
        fn = casadi.Function("f", [x], [f])
        return lambda a: float(fn(a))
    if kind == "grad":
        fn = casadi.Function("g", [x], [casadi.gradient(f, x)])
        return lambda a: np.asarray(fn(a)).ravel()
    if kind == "hvp":
        v = casadi.SX.sym("v", n)
        fn = casadi.Function("hv", [x, v], [casadi.jtimes(casadi.gradient(f, x), x, v)])
        return lambda a, b: np.asarray(fn(a, b)).ravel()
    if kind == "hessian":
        fn = casadi.Function("h", [x], [casadi.densify(casadi.hessian(f, x)[0])])
        return lambda a: np.asarray(fn(a))
    raise ValueError(kind)


def casadi_logistic(X, y):
    import casadi
    w = casadi.SX.sym("w", X.shape[1])
    z = casadi.mtimes(casadi.DM(X), w)
    f = casadi.sum1(casadi.log1p(casadi.exp(z)) - casadi.DM(y) * z)
    fn = casadi.Function("g", [w], [casadi.gradient(f, w)])
    return lambda a, *_: np.asarray(fn(a)).ravel()


# -- rows ----------------------------------------------------------------------------------

@dataclass
class Row:
    """One benchmark row: a reference, npdiff, and peer builders (each may raise ImportError)."""

    label: str
    args: tuple
    hand: Callable
    npdiff: Callable  # () -> callable
    peers: dict[str, Callable] = field(default_factory=dict)  # name -> () -> callable or None
    check: bool = True  # compare npdiff's result with the hand-written one


def rosen_rows(n: int, kinds) -> list[Row]:
    x = np.linspace(-1.0, 1.5, n)
    v = np.cos(np.arange(n, dtype=float))
    hand = {"value": rosen, "grad": rosen_grad_hand, "hvp": rosen_hvp_hand, "hessian": rosen_hess_hand}
    ops = {"value": lambda: npdiff.numpify(rosen, (n,)), "grad": lambda: npdiff.grad(rosen).specialize((n,)),
           "hvp": lambda: npdiff.hvp(rosen).specialize((n,), (n,)),
           "hessian": lambda: npdiff.hessian(rosen).specialize((n,))}
    rows = []
    for kind in kinds:
        args = (x, v) if kind == "hvp" else (x,)
        peers = {"jax.jit": lambda k=kind: jax_op(k, jax_rosen),
                 "autograd": lambda k=kind: autograd_op(k, autograd_rosen()),
                 "SymNum": lambda k=kind: symnum_rosen(k, n),
                 "CasADi": lambda k=kind: casadi_rosen(k, n)}
        if kind == "hessian" and n > 1000:
            continue
        rows.append(Row(f"Rosenbrock n = {n}: {kind}", args, hand[kind], ops[kind], peers))
    return rows


def numba_rows(n: int) -> list[Row]:
    """Return the large Rosenbrock rows with npdiff's numba backend (skipped without numba)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return []
    rows = []
    for row, op in zip(rosen_rows(n, ("grad", "hvp")), (npdiff.grad, npdiff.hvp)):
        shapes = [(n,)] * len(row.args)
        row.label += " (npdiff backend='numba')"
        row.npdiff = lambda op=op, shapes=shapes: op(rosen, backend="numba").specialize(*shapes)
        rows.append(row)
    return rows


def other_rows() -> list[Row]:
    rng = np.random.default_rng(0)
    rows = []
    X = rng.normal(size=(1000, 20))
    y = (rng.uniform(size=1000) < 0.5).astype(float)
    w = rng.normal(size=20) * 0.1
    rows.append(Row("logistic NLL gradient, X 1000x20", (w, X, y), logistic_grad_hand,
                    lambda: npdiff.grad(lambda w: logistic_nll(w, X, y)).specialize((20,)),
                    {"jax.jit": lambda: _logistic_jax(X, y),
                     "autograd": lambda: _logistic_autograd(X, y),
                     "CasADi": lambda: casadi_logistic(X, y)}))
    rows[-1].args = (w,)
    rows[-1].hand = lambda w: logistic_grad_hand(w, X, y)
    n = 10
    A = rng.normal(size=(n, n))
    L = np.linalg.cholesky(A @ A.T + n * np.eye(n))
    mu = rng.normal(size=n)
    xg = rng.normal(size=n)
    rows.append(Row("Gaussian log-density gradient (Cholesky), n = 10", (xg,),
                    lambda x: gauss_grad_hand(x, mu, L),
                    lambda: npdiff.grad(lambda x: gauss_logdens(x, mu, L)).specialize((n,)),
                    {"jax.jit": lambda: _gauss_jax(mu, L)}))
    A, B, C, ct = (rng.normal(size=(n, n)) for _ in range(4))
    zeros = tuple(np.zeros((n, n)) for _ in range(3))
    rows.append(Row("D = A @ B + C adjoint, n = 10", (A, B, C, *zeros, ct), mma_ad_hand,
                    lambda: _load(npdiff.transform(mma, (n, n), (n, n), (n, n)), "mma_ad"),
                    {"Numpy2AD": lambda: _numpy2ad(mma, "mma_ad")}))
    Xm = rng.normal(size=(n, 3))
    Lm = rng.normal(size=(n, n)) / np.sqrt(n)
    M = Lm @ Lm.T + np.eye(n)
    ym = rng.normal(size=(n, 1))
    zs = (np.zeros_like(Xm), np.zeros_like(M), np.zeros_like(ym))
    rows.append(Row("GLS adjoint, n = 10", (Xm, M, ym, *zs, rng.normal(size=(3, 1))), gls_ad_hand,
                    lambda: _load(npdiff.transform(gls, Xm.shape, M.shape, ym.shape), "gls_ad"),
                    {"Numpy2AD": lambda: _numpy2ad(gls, "gls_ad")}))
    from bench_speed import gp_problem
    nll, gp_hand = gp_problem()
    rows.append(Row("Gaussian-process marginal likelihood gradient, n = 60", (np.array([0.1, -0.2, -2.0]),),
                    gp_hand, lambda: npdiff.grad(nll).specialize((3,)), {"jax.jit": _gp_jax}))
    return rows


def _gp_jax():
    """Return JAX's jitted gradient of the same Gaussian-process negative log marginal likelihood."""
    jax, jnp = _jax()
    import jax.scipy.linalg as jsl
    rng = np.random.default_rng(0)  # the data of bench_speed.gp_problem
    n = 60
    xs = np.sort(rng.uniform(-3, 3, n))
    y = jnp.asarray(np.sin(xs) + 0.1 * rng.standard_normal(n))
    D2 = jnp.asarray((xs[:, None] - xs[None, :]) ** 2)

    def nll(theta):
        K = jnp.exp(theta[0]) * jnp.exp(-0.5 * D2 * jnp.exp(-2.0 * theta[1])) + jnp.exp(theta[2]) * jnp.eye(n)
        L = jnp.linalg.cholesky(K)
        alpha = jsl.cho_solve((L, True), y)
        return 0.5 * y @ alpha + jnp.sum(jnp.log(jnp.diag(L))) + 0.5 * n * jnp.log(2 * jnp.pi)
    g = jax.jit(jax.grad(nll))
    return lambda t: np.asarray(g(t))


def _load(src, name):
    ns = {"np": np}
    exec(src, ns)
    return ns[name]


def _numpy2ad(f, name):
    import numpy2ad
    fn = _load(numpy2ad.transform(f), name)
    # Numpy2AD increments its adjoint arguments in place: it gets fresh copies on every call
    return lambda *a: fn(*a[:len(a) // 2], *[z.copy() for z in a[len(a) // 2:-1]], a[-1])


def _logistic_jax(X, y):
    jax, jnp = _jax()
    Xj, yj = jnp.asarray(X), jnp.asarray(y)
    g = jax.jit(jax.grad(lambda w: jnp.sum(jnp.logaddexp(0.0, Xj @ w) - yj * (Xj @ w))))
    return lambda w: np.asarray(g(w))


def _logistic_autograd(X, y):
    import autograd
    import autograd.numpy as anp
    return autograd.grad(lambda w: anp.sum(anp.logaddexp(0.0, anp.dot(X, w)) - y * anp.dot(X, w)))


def _gauss_jax(mu, L):
    jax, jnp = _jax()
    import jax.scipy.linalg as jsl
    Lj, muj = jnp.asarray(L), jnp.asarray(mu)
    g = jax.jit(jax.grad(lambda x: -0.5 * jnp.sum(jsl.solve_triangular(Lj, x - muj, lower=True) ** 2)))
    return lambda x: np.asarray(g(x))


# -- running -------------------------------------------------------------------------------

def _fmt(t):
    if t is None:
        return "-"
    return f"{t * 1e6:.2f} us" if t < 1e-3 else f"{t * 1e3:.2f} ms"


def run_row(row: Row, quick: bool) -> dict:
    """Return {column: seconds or None} for one row."""
    target = 0.02 if quick else 0.05
    repeat = 3 if quick else 7
    out = {}
    fn = row.npdiff()
    if row.check and row.hand is not None:
        got, ref = fn(*row.args), row.hand(*row.args)
        got, ref = (got, ref) if isinstance(ref, tuple) else ((got,), (ref,))
        assert all(np.allclose(g, r, rtol=1e-7, atol=1e-9) for g, r in zip(got, ref)), \
            f"{row.label}: npdiff != hand-written"
    out["hand-written"] = per_call(row.hand, *row.args, repeat=repeat, target=target) if row.hand else None
    out["npdiff"] = per_call(fn, *row.args, repeat=repeat, target=target)
    for peer in PEERS:
        build = row.peers.get(peer)
        try:
            p = build() if build is not None else None
        except Exception:  # not installed, or the peer cannot express this row
            p = None
        out[peer] = None if p is None else per_call(p, *row.args, repeat=repeat, target=target)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="every size (under ten minutes)")
    opts = parser.parse_args(argv)
    quick = not opts.full
    rows = rosen_rows(2, ("value", "grad", "hvp", "hessian")) + rosen_rows(10, ("hessian",))
    rows += rosen_rows(100, ("grad", "hvp", "hessian")) + rosen_rows(10_000, ("grad", "hvp"))
    rows += other_rows()
    if not quick:
        rows += rosen_rows(1_000_000, ("grad", "hvp")) + numba_rows(1_000_000)
    cols = ["hand-written", "npdiff", *PEERS]
    print("| row | " + " | ".join(cols) + " | npdiff / fastest other |")
    print("|---" * (len(cols) + 2) + "|")
    for row in rows:
        t = run_row(row, quick)
        others = [v for k, v in t.items() if k != "npdiff" and v is not None]
        ratio = f"{t['npdiff'] / min(others):.2f}x" if others else "-"
        print(f"| {row.label} | " + " | ".join(_fmt(t[c]) for c in cols) + f" | {ratio} |", flush=True)
    if not quick:
        generation_vs_n()
        peak_memory()


def generation_vs_n() -> None:
    """Print the generation time of the Rosenbrock gradient and Hessian-vector product vs n."""
    print("\n| n | grad generation | hvp generation |\n|---|---|---|")
    npdiff.grad(rosen).specialize((3,))
    for n in (10, 1_000, 100_000, 1_000_000):
        t0 = time.perf_counter()
        npdiff.grad(rosen).specialize((n,))
        t1 = time.perf_counter()
        npdiff.hvp(rosen).specialize((n,), (n,))
        t2 = time.perf_counter()
        print(f"| {n} | {(t1 - t0) * 1e3:.1f} ms | {(t2 - t1) * 1e3:.1f} ms |")


def peak_memory() -> None:
    """Print the peak memory (tracemalloc) of the n = 10^6 Rosenbrock gradient vs hand-written."""
    n = 1_000_000
    x = np.linspace(-1.0, 1.5, n)
    g = npdiff.grad(rosen).specialize((n,))
    print("\n| n = 10^6 gradient | peak memory |\n|---|---|")
    for label, fn in (("hand-written", rosen_grad_hand), ("npdiff", g)):
        tracemalloc.start()
        fn(x)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"| {label} | {peak / 2**20:.1f} MiB |")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
