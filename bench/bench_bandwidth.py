"""Achieved memory bandwidth of the Rosenbrock gradient and Hessian-vector product at n = 10^5 and 10^6.

Rows, side by side in one run: npdiff's NumPy code unblocked (``config.block_min_size = 0``),
blocked (the default: ``emit/blocked.py``), the numba backend (when numba is installed), and
hand-written NumPy. Each time is the minimum over interleaved rounds of repeats (the machine
may be shared and noisy). Bandwidth is the bytes a call must move at least (its arguments
read once, its result written once: 16 n bytes for the gradient, 24 n for the product) per
second, and is given as a fraction of ``np.copyto`` between two arrays of the same size,
timed in the same rounds.

    PYTHONPATH=src python bench/bench_bandwidth.py [--rounds 5]
"""
from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NPDIFF_CACHE_DIR", tempfile.mkdtemp(prefix="npdiff-bench-"))

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_core import rosen, rosen_grad_hand, rosen_hvp_hand
from common import per_call

import npdiff
from npdiff import config


def _numba_installed() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def _generated(make, args, block_min_size):
    """Return the operator made by make() specialised on args with blocking from block_min_size elements."""
    saved = config.block_min_size
    config.block_min_size = block_min_size
    try:
        op = make()
        op.cache_clear()  # operators of one function share their code: generate it under this setting
        op(*args)
        return op.specialize(*args) if hasattr(op, "specialize") else op
    finally:
        config.block_min_size = saved


def rows_for(n: int, rng) -> list:
    """Return (case, n, bytes moved, {row: function}, args) for the gradient and the product at size n."""
    x, v = rng.uniform(-1, 1, n), rng.normal(size=n)
    out = []
    for case, make, hand, args, nbytes in (("grad", lambda **k: npdiff.grad(rosen, **k), rosen_grad_hand, (x,), 16 * n),
                                           ("hvp", lambda **k: npdiff.hvp(rosen, **k), rosen_hvp_hand, (x, v), 24 * n)):
        fns = {"npdiff NumPy, unblocked": _generated(make, args, 0),
               "npdiff NumPy, blocked": _generated(make, args, min(config.block_min_size, n - 1))}
        if _numba_installed():
            fns["npdiff numba"] = _generated(lambda: make(backend="numba"), args, 0)
        fns["hand-written NumPy"] = hand
        ref = hand(*args)
        for label, f in fns.items():
            assert np.allclose(f(*args), ref, rtol=1e-9, atol=1e-9), label
        out.append((case, n, nbytes, fns, args))
    return out


def main(argv=None) -> None:
    rounds = 5
    if argv and "--rounds" in argv:
        rounds = int(argv[argv.index("--rounds") + 1])
    rng = np.random.default_rng(0)
    results = []
    for n in (10 ** 5, 10 ** 6):
        src, dst = rng.normal(size=n), np.empty(n)
        cases = rows_for(n, rng)
        best = {"copy": float("inf")}
        for _ in range(rounds):  # interleaved: every row sees the same machine load
            best["copy"] = min(best["copy"], per_call(np.copyto, dst, src, repeat=3, target=0.01))
            for case, _, _, fns, args in cases:
                for label, f in fns.items():
                    key = (case, label)
                    best[key] = min(best.get(key, float("inf")), per_call(f, *args, repeat=3, target=0.02))
        copy_bw = 16 * n / best["copy"]
        for case, _, nbytes, fns, _ in cases:
            hand = best[(case, "hand-written NumPy")]
            for label in fns:
                t = best[(case, label)]
                results.append((f"Rosenbrock {case}", n, label, t, nbytes / t, nbytes / t / copy_bw, t / hand))
        results.append(("np.copyto", n, "(the reference)", best["copy"], copy_bw, 1.0, float("nan")))
    print("| case | n | code | time | GB/s | of np.copyto's bandwidth | time / hand |")
    print("|---|---|---|---|---|---|---|")
    for case, n, label, t, bw, frac, hand in results:
        ratio = "" if hand != hand else f"{hand:.2f}"
        print(f"| {case} | {n:.0e} | {label} | {t * 1e3:.3f} ms | {bw / 1e9:.1f} | {100 * frac:.0f}% | {ratio} |")
    print(f"\nblock_min_size {config.block_min_size}, block_size {config.block_size}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores")


if __name__ == "__main__":
    main(sys.argv[1:])
