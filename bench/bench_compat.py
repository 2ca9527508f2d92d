"""Per-call gradient time of the autograd-style examples (examples/autograd_style): npdiff.compat.autograd vs
autograd itself (the same program, its import lines changed), side by side in one run; npdiff.grad called
directly on the same pytree parameters shows the compat layer's own cost. autograd is optional.

    python bench/bench_compat.py [--calls 200]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time
import types

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

from common import fmt

import npdiff
import npdiff.compat.autograd as ag

DIR = pathlib.Path(__file__).resolve().parents[1] / "examples" / "autograd_style"
EXAMPLES = ["mlp", "logistic_regression", "gaussian_process", "gmm", "rnn"]


def load(name: str, on: str) -> types.ModuleType:
    """Return the example with its import lines naming ``on``."""
    source = (DIR / f"{name}.py").read_text()
    if on == "autograd":
        source = source.replace("npdiff.compat.autograd", "autograd")
    module = types.ModuleType(f"{name}_{on.replace('.', '_')}")
    exec(compile(source, str(DIR / f"{name}.py"), "exec"), module.__dict__)
    return module


def best(fn, arg, calls: int, repeat: int = 3) -> float:
    """Return the best mean time per call of fn(arg) over repeat runs of ``calls`` calls (after one warm-up)."""
    fn(arg)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn(arg)
        times.append((time.perf_counter() - t0) / calls)
    return min(times)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=200, help="gradient calls per timing run (best of 3)")
    a = p.parse_args(argv)
    try:
        import autograd
    except ImportError:
        autograd = None
        print("autograd is not installed: npdiff's times only")
    print(f"per-call gradient time, best of 3 runs of {a.calls} calls (first call, which generates code, excluded)")
    print(f"{'example':<20} {'compat.autograd':>14} {'npdiff.grad':>14} {'autograd':>14} {'autograd / compat':>18}")
    for name in EXAMPLES:
        objective, params = load(name, "npdiff.compat.autograd").problem()
        t_compat = best(ag.grad(objective), params, a.calls)
        t_native = best(npdiff.grad(objective), params, a.calls)
        if autograd is not None:
            r_objective, r_params = load(name, "autograd").problem()
            t_ag = best(autograd.grad(r_objective), r_params, max(a.calls // 4, 10))
            print(f"{name:<20} {fmt(t_compat):>14} {fmt(t_native):>14} {fmt(t_ag):>14} {t_ag / t_compat:17.1f}x")
        else:
            print(f"{name:<20} {fmt(t_compat):>14} {fmt(t_native):>14} {'-':>14} {'-':>18}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
