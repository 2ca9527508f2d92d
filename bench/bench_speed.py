"""Issue 23's rows, npdiff beside hand-written NumPy in one run (min of repeats, one BLAS thread):
the dense Rosenbrock Hessian from colours, the layers of a call at n = 2, small adjoints
(D = A @ B + C, GLS), the Gaussian-process gradient at n = 60, and n = 10^6 gradients with the
achieved memory bandwidth (against np.copyto of the same arrays) for the numpy, numba and auto
backends.

    python bench/bench_speed.py           # every section (about a minute)
    python bench/bench_speed.py --quick   # fewer repeats
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import re
import sys
import time

import numpy as np
from common import fmt, per_call, table
from rows import gls, gls_ad_hand, mma, mma_ad_hand, rosen_hess_hand, rosen_hvp_hand

import npdiff

REPEAT = 7


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_grad_hand(x):
    g = np.zeros_like(x)
    t = 200.0 * (x[1:] - x[:-1] ** 2)
    g[:-1] = -2.0 * x[:-1] * t - 2.0 * (1 - x[:-1])
    g[1:] += t
    return g


def rosen_hess_diag_hand(x):
    d = np.zeros_like(x)
    d[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    d[1:] += 200.0
    o = -400.0 * x[:-1]
    return np.diag(d) + np.diag(o, 1) + np.diag(o, -1)


def _pc(fn, *args):
    return per_call(fn, *args, repeat=REPEAT)


def _side_by_side(fns: dict, args, rounds: int = 5) -> dict:
    """Return the best per-call time of each function, measured in interleaved rounds."""
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            best[k] = min(best[k], per_call(fn, *args, repeat=3, target=0.02))
    return best


def hessian_rows():
    x = np.linspace(-1.0, 1.5, 100)
    h = npdiff.hessian(rosen)
    assert np.allclose(h(x), rosen_hess_hand(x)) and np.allclose(h(x), rosen_hess_diag_hand(x))
    t = _side_by_side({"hand (strided diagonals)": rosen_hess_hand, "hand (np.diag x 3)": rosen_hess_diag_hand,
                       "npdiff.hessian": h}, (x,))
    m = re.search(r"np\.zeros\(\((\d+), 100\)\)", h.source)
    how = f"{m.group(1)} Hessian-vector products, one scatter" if m else "strided writes of its bands"
    table(f"Rosenbrock n = 100 dense Hessian ({how})", list(t.items()),
          "hand (strided diagonals)")


def _bare(gf):
    """Return gf's function without its argument conversion and shape check (the layer below)."""
    src = "\n".join(l for l in gf.source.splitlines()
                    if "__class__ is not np.ndarray" not in l and "_bad_shape(" not in l)
    ns = dict(gf._fn.__globals__)
    exec(src, ns)
    return ns[gf.__name__]


def layer_rows():
    x, v = np.array([0.3, -0.4]), np.array([1.0, 0.5])

    def grad_hand(x):  # what SymNum-style generated code does: unpack, float arithmetic, one array
        x0, x1 = x.tolist()
        t = 200.0 * (x1 - x0 * x0)
        return np.array([2.0 * (x0 - 1.0) - 2.0 * x0 * t, t])

    def hess_hand(x):
        x0, x1 = x.tolist()
        return np.array([[1200.0 * x0 * x0 - 400.0 * x1 + 2.0, -400.0 * x0], [-400.0 * x0, 200.0]])

    def hvp_hand(x, v):
        x0, x1 = x.tolist()
        v0, v1 = v.tolist()
        return np.array([(1200.0 * x0 * x0 - 400.0 * x1 + 2.0) * v0 - 400.0 * x0 * v1,
                         200.0 * v1 - 400.0 * x0 * v0])

    for kind, op, hand, args in (("grad", npdiff.grad(rosen), grad_hand, (x,)),
                                 ("hessian", npdiff.hessian(rosen), hess_hand, (x,)),
                                 ("hvp", npdiff.hvp(rosen), hvp_hand, (x, v))):
        gf = op.specialize(*args)
        assert np.allclose(op(*args), hand(*args))
        fns = {"hand (bare generated-style)": hand, "body without checks": _bare(gf),
               "+ conversion and shape checks": gf._fn, "GeneratedFunction.__call__": gf,
               f"npdiff.{kind}(f)(...) (lazy)": op}
        t = _side_by_side(fns, args, rounds=7)
        rows = list(t.items())
        print(f"\nRosenbrock n = 2 {kind}: cost of each layer (added over the one above)")
        prev = None
        for label, s in rows:
            extra = "" if prev is None else f"  (+{(s - prev) * 1e9:5.0f} ns)"
            print(f"  {label:<34} {fmt(s)}   {s / rows[0][1]:5.2f}x hand{extra}")
            prev = s


def _load(src, name):
    ns = {"np": np}
    exec(src, ns)
    return ns[name]


def adjoint_rows():
    rng = np.random.default_rng(0)
    n = 10
    A, B, C, ct = (rng.normal(size=(n, n)) for _ in range(4))
    zeros = tuple(np.zeros((n, n)) for _ in range(3))
    args = (A, B, C, *zeros, ct)
    fns = {"hand-written adjoint": mma_ad_hand,
           "transform (shapes: checks args)": _load(npdiff.transform(mma, (n, n), (n, n), (n, n)), "mma_ad"),
           "transform (shapes, checks=False)": _load(npdiff.transform(mma, (n, n), (n, n), (n, n), checks=False),
                                                     "mma_ad"),
           "transform (generic)": _load(npdiff.transform(mma), "mma_ad")}
    ref = mma_ad_hand(*args)
    for fn in fns.values():
        assert all(np.allclose(g, r) for g, r in zip(fn(*args), ref))
    table("D = A @ B + C adjoint, n = 10", list(_side_by_side(fns, args).items()), "hand-written adjoint")
    X = rng.normal(size=(n, 3))
    L = rng.normal(size=(n, n)) / np.sqrt(n)
    M, y = L @ L.T + np.eye(n), rng.normal(size=(n, 1))
    args = (X, M, y, np.zeros_like(X), np.zeros_like(M), np.zeros_like(y), rng.normal(size=(3, 1)))
    fns = {"hand-written adjoint": gls_ad_hand,
           "transform (shapes: checks args)": _load(npdiff.transform(gls, X.shape, M.shape, y.shape), "gls_ad"),
           "transform (shapes, checks=False)": _load(npdiff.transform(gls, X.shape, M.shape, y.shape, checks=False),
                                                     "gls_ad"),
           "transform (generic)": _load(npdiff.transform(gls), "gls_ad")}
    ref = gls_ad_hand(*args)
    for fn in fns.values():
        assert all(np.allclose(g, r) for g, r in zip(fn(*args), ref))
    table("GLS adjoint, n = 10", list(_side_by_side(fns, args).items()), "hand-written adjoint")


def gp_problem(n=60):
    """Return (negative log marginal likelihood of an RBF Gaussian process, its hand-written gradient)."""
    import scipy.linalg as sl
    rng = np.random.default_rng(0)
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
        alpha = sl.cho_solve((L, True), y, check_finite=False)
        W = sl.cho_solve((L, True), eye, check_finite=False) - np.outer(alpha, alpha)  # 2 d nll / dK
        return np.array([0.5 * np.sum(W * Kf), 0.5 * np.sum(W * Kf * D2) * np.exp(-2.0 * theta[1]),
                         0.5 * sn2 * np.trace(W)])
    return nll, grad_hand


LAPACK_CALLS = r"@|np\.linalg\.\w+\(|scipy\.linalg\.(?:lapack\.)?\w+\(|np\.einsum\(|\.dot\("


def gp_rows():
    nll, hand = gp_problem()
    theta = np.array([0.1, -0.2, -2.0])
    g = npdiff.grad(nll)
    assert np.allclose(g(theta), hand(theta))
    table("Gaussian-process marginal likelihood gradient, n = 60",
          list(_side_by_side({"hand-written (cho_solve)": hand, "npdiff.grad": g}, (theta,)).items()),
          "hand-written (cho_solve)")
    calls = re.findall(LAPACK_CALLS, g.source)
    print(f"  npdiff's code makes {len(calls)} BLAS/LAPACK-level calls: "
          + ", ".join(f"{c.rstrip('(')} x{calls.count(c)}" for c in sorted(set(calls))))
    print("  the hand version makes 6: cholesky, cho_solve x2 (2 triangular solves each), outer")


def _auto_warm(op, *args, limit=30.0):
    """Call op until backend="auto" has settled (or limit seconds), return the backend it runs."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        op(*args)
        b = op.cache_info().backends[0]
        if b in ("numba",) or b.startswith("numpy (n"):
            return b
    return op.cache_info().backends[0]


def bandwidth_rows(n=10 ** 6):
    x = np.linspace(-1.0, 1.5, n)
    v = np.cos(np.arange(n, dtype=float))
    dst = np.empty_like(x)
    t_copy = _pc(np.copyto, dst, x)  # reads 8n bytes, writes 8n bytes
    copy_bw = 16 * n / t_copy
    print(f"\nn = 10^6 bandwidth: np.copyto of one array moves {16 * n / 1e6:.0f} MB in {fmt(t_copy)} "
          f"= {copy_bw / 1e9:.1f} GB/s")
    try:
        import numba  # noqa: F401
        have_numba = True
    except ImportError:
        have_numba = False
    for kind, hand, make, args, nbytes in (
            ("grad", rosen_grad_hand, lambda b: npdiff.grad(rosen, backend=b), (x,), 16 * n),
            ("hvp", rosen_hvp_hand, lambda b: npdiff.hvp(rosen, backend=b), (x, v), 24 * n)):
        fns = {"hand-written NumPy": hand, "npdiff (numpy backend)": make("numpy")}
        if have_numba:
            fns["npdiff (numba backend)"] = make("numba")
            auto = make("auto")
            state = _auto_warm(auto, *args)
            fns[f"npdiff (auto: {state})"] = auto
        ref = hand(*args)
        for fn in fns.values():
            assert np.allclose(fn(*args), ref)
        t = {k: _pc(f, *args) for k, f in fns.items()}
        print(f"\nRosenbrock n = 10^6 {kind} (at least {nbytes / 1e6:.0f} MB moved: inputs read, output written)")
        for label, s in t.items():
            print(f"  {label:<40} {fmt(s)}   {s / t['hand-written NumPy']:5.2f}x hand   "
                  f"{nbytes / s / 1e9:5.1f} GB/s = {nbytes / s / copy_bw:4.0%} of np.copyto")
    if not have_numba:
        print("  (numba is not installed: numba and auto rows omitted)")


def main(argv=()):
    global REPEAT
    if "--quick" in argv:
        REPEAT = 3
    hessian_rows()
    layer_rows()
    adjoint_rows()
    gp_rows()
    bandwidth_rows()


if __name__ == "__main__":
    main(sys.argv[1:])
