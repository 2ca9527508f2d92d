"""backend="numba" at n = 10^6: hand-written NumPy, npdiff's NumPy and Numba backends, and jax.jit.

Run (numba and jax live in /tmp/benchvenv):
    . /tmp/benchvenv/bin/activate; PYTHONPATH=$PWD/src python bench/bench_numba.py
Prints a markdown table of per-call times (best of repeats) and the compile
times: first call in a fresh kernel cache (trace + codegen + numba compile),
first call of a new process-equivalent with the kernels on disk, and jax's.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("NPDIFF_CACHE_DIR", tempfile.mkdtemp(prefix="npdiff-bench-"))

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import rosen_grad_hand, rosen_hvp_hand
from common import per_call

import npdiff

N = 10 ** 6
M, P = 10 ** 5, 100


def rosen(x, np=np):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def logistic(w, X, y, np=np):
    z = X @ w
    return np.sum(np.logaddexp(0.0, z) - y * z) / y.shape[0]


def logistic_grad_hand(w, X, y):
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    return ((p - y) @ X) / y.shape[0]


def first_call(make, args):
    """Return (seconds of the first call, the function) of a freshly made operator."""
    f = make()
    t = time.perf_counter()
    f(*args)
    return time.perf_counter() - t, f


def main():
    rng = np.random.default_rng(0)
    x, v = rng.uniform(-1, 1, N), rng.normal(size=N)
    w, X, y = rng.normal(size=P) * 0.1, rng.normal(size=(M, P)), (rng.random(M) > 0.5).astype(float)
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    except ImportError:
        jax = None
    cases = [
        ("Rosenbrock gradient, n=1e6", rosen_grad_hand, lambda **k: npdiff.grad(rosen, **k), (x,),
         lambda: jax.jit(jax.grad(lambda t: rosen(t, jnp)))),
        ("Rosenbrock Hessian-vector product, n=1e6", rosen_hvp_hand, lambda **k: npdiff.hvp(rosen, **k), (x, v),
         lambda: jax.jit(lambda t, u: jax.jvp(jax.grad(lambda s: rosen(s, jnp)), (t,), (u,))[1])),
        ("logistic gradient, X 1e5 x 100", logistic_grad_hand, lambda **k: npdiff.grad(logistic, **k), (w, X, y),
         lambda: jax.jit(jax.grad(lambda a, b, c: logistic(a, b, c, jnp)))),
    ]
    rows, compiles = [], []
    for label, hand, make, args, make_jax in cases:
        ref = hand(*args)
        t_np = per_call(hand, *args, repeat=5)
        c_numpy, f_numpy = first_call(lambda: make(), args)
        t_numpy = per_call(f_numpy, *args, repeat=5)
        c_numba, f_numba = first_call(lambda: make(backend="numba"), args)
        c_warm, _ = first_call(lambda: make(backend="numba"), args)  # kernels loaded from the disk cache
        t_numba = per_call(f_numba, *args, repeat=5)
        assert np.allclose(f_numba(*args), ref, rtol=1e-9, atol=1e-9) and np.allclose(f_numpy(*args), ref)
        t_jax = c_jax = None
        if jax is not None:
            jargs = [jnp.asarray(a) for a in args]
            c_jax, fj = first_call(make_jax, jargs)
            assert np.allclose(np.asarray(fj(*jargs)), ref, rtol=1e-9, atol=1e-9)
            t_jax = per_call(lambda *a: fj(*a).block_until_ready(), *jargs, repeat=5)
        rows.append((label, t_np, t_numpy, t_numba, t_jax))
        compiles.append((label, c_numpy, c_numba, c_warm, c_jax))

    def ms(t):
        return "n/a" if t is None else f"{t * 1e3:.2f} ms"
    print("| case | hand NumPy | npdiff numpy | npdiff numba | jax.jit | numba / jax | numba / npdiff numpy |")
    print("|---|---|---|---|---|---|---|")
    for label, a, b, c, d in rows:
        ratio = "n/a" if d is None else f"{c / d:.2f}"
        print(f"| {label} | {ms(a)} | {ms(b)} | {ms(c)} | {ms(d)} | {ratio} | {c / b:.2f} |")
    print()
    print("| case (first call) | npdiff numpy | npdiff numba, cold | npdiff numba, kernels on disk | jax.jit |")
    print("|---|---|---|---|---|")
    for label, a, b, c, d in compiles:
        print(f"| {label} | {ms(a)} | {ms(b)} | {ms(c)} | {ms(d)} |")
    import numba
    print(f"\nnumba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), numpy {np.__version__}"
          + (f", jax {jax.__version__}" if jax is not None else "") + f", {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
