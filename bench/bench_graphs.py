"""Large-graph benchmark: code-generation time against graph size for functions with Python loops.

Four workloads unroll into large graphs: explicit Euler integration of a damped
oscillator (2 states, ``y = y + dt * np.array([y[1], -p[0]*y[0] - p[1]*y[1]])``,
gradient w.r.t. p: the issue's 2000- and 20000-step loops) and of the Lorenz
system (gradient w.r.t. the initial state and the parameters), a fixed-point
iteration x = tanh(A x + b) (gradient w.r.t. b) and a deep tanh network
(gradient w.r.t. the input). Prints a markdown table of nodes built, generated
lines, generation time (tracing, differentiation, emission, compilation: the
first call but for one run of the generated code; CPU time) and microseconds per
node and per generated line, which stay flat when generation is linear.

``--calls`` times, for the oscillator and Lorenz loops at 2,000 steps, the first call with example
arrays (tracing, the self-check of a new path, generation) and later calls, with loops rolled
(``npdiff.config.roll_loops``, the default) and unrolled, side by side in one process.

``--compare SRC [SRC...]`` measures each row in a fresh process per source tree
(``PYTHONPATH=SRC``, e.g. ``/path/to/main/src src``), alternating, so two versions
of npdiff are compared side by side in one run; ``--quick`` keeps the two
smallest sizes; ``--only NAME`` keeps the workloads whose label contains NAME.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json
import subprocess
import sys
import time

import numpy as np

import npdiff
from npdiff.ir import graph

DT = 0.01


def oscillator(steps):
    def f(y0, p):
        y = y0
        for _ in range(steps):
            y = y + DT * np.array([y[1], -p[0] * y[0] - p[1] * y[1]])
        return np.sum(y ** 2)
    return npdiff.grad(f, argnums=1), ((2,), (2,))


def euler(steps):
    def f(z, p):
        x, y, w = z[0], z[1], z[2]
        s, r, b = p[0], p[1], p[2]
        for _ in range(steps):
            dx, dy, dw = s * (y - x), x * (r - w) - y, x * y - b * w
            x, y, w = x + DT * dx, y + DT * dy, w + DT * dw
        return x * x + y * y + w * w
    return npdiff.grad(f, argnums=(0, 1)), ((3,), (3,))


def fixed_point(iters, n=8):
    A = np.random.default_rng(0).normal(size=(n, n)) * 0.3

    def f(x0, b):
        x = x0
        for _ in range(iters):
            x = np.tanh(A @ x + b)
        return np.sum(x ** 2)
    return npdiff.grad(f, argnums=1), ((n,), (n,))


def network(layers, n=8):
    W = np.random.default_rng(0).normal(size=(layers, n, n)) / np.sqrt(n)

    def f(h):
        for i in range(layers):
            h = np.tanh(W[i] @ h)
        return np.sum(h)
    return npdiff.grad(f), ((n,),)


WORKLOADS = [("Euler (oscillator), steps", oscillator, (500, 2000, 20000)),
             ("Euler (Lorenz), steps", euler, (250, 500, 1000, 2000)),
             ("fixed point, iterations", fixed_point, (125, 250, 500)),
             ("network, layers", network, (25, 50, 100))]


def measure(make, size):
    """Return (nodes built, CPU seconds, source lines) of one specialisation."""
    g, shapes = make(size)
    before = next(graph._counter)
    t = time.process_time()
    gf = g.specialize(*shapes)
    return next(graph._counter) - before, time.process_time() - t, gf.source.count("\n")


def _rows(quick, only):
    for w, (label, make, sizes) in enumerate(WORKLOADS):
        if only is None or only.lower() in label.lower():
            for size in sizes[:2] if quick else sizes:
                yield w, label, make, size


def _arg(flag):
    return sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else None


def _one_in(src, w, size):
    """Return measure() of workload w at this size, run in a fresh process on the npdiff in ``src``."""
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, __file__, "--one", str(w), str(size)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare(srcs, quick, only):
    """Print one table row per workload size with each source tree's figures side by side."""
    heads = " | ".join(f"{k} ({i + 1})" for i in range(len(srcs)) for k in ("CPU s", "us/node", "us/line"))
    print("sources: " + ", ".join(f"({i + 1}) {s}" for i, s in enumerate(srcs)))
    print(f"| workload | size | nodes | lines | {heads} |")
    print("|---|---:|---:|---:|" + "---:|" * 3 * len(srcs))
    for w, label, _, size in _rows(quick, only):
        res = [_one_in(src, w, size) for src in srcs]
        cells = " | ".join(f"{sec:.2f} | {1e6 * sec / nodes:.1f} | {1e6 * sec / lines:.1f}"
                           for nodes, sec, lines in res)
        nodes = "/".join(str(r[0]) for r in res)
        lines = "/".join(str(r[2]) for r in res)
        print(f"| {label} | {size} | {nodes} | {lines} | {cells} |", flush=True)


def calls(steps=2000, repeat=7):
    """Print first-call and per-call times of rolled and unrolled gradients of the Euler loops."""
    import timeit
    print("| workload | steps | first call rolled (s) | first call unrolled (s) | per call rolled (ms) | "
          "per call unrolled (ms) | rolled / unrolled |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for label, make in (("Euler (oscillator)", oscillator), ("Euler (Lorenz)", euler)):
        row = []
        for roll in (True, False):
            npdiff.config.roll_loops = roll
            g, shapes = make(steps)
            args = [rng.uniform(0.5, 1.0, s) for s in shapes]
            t = time.process_time()
            g(*args)
            row.append(time.process_time() - t)
        per = {True: [], False: []}
        fns = {}
        for roll in (True, False):
            npdiff.config.roll_loops = roll
            g, shapes = make(steps)
            fns[roll] = g.specialize(*args)
        for _ in range(repeat):  # alternate: the machine's load hits both alike
            for roll in (True, False):
                per[roll].append(min(timeit.repeat(lambda f=fns[roll]: f(*args), number=3, repeat=3)) / 3)
        npdiff.config.roll_loops = True
        a, b = min(per[True]) * 1e3, min(per[False]) * 1e3
        print(f"| {label} | {steps} | {row[0]:.2f} | {row[1]:.2f} | {a:.2f} | {b:.2f} | {a / b:.2f}x |", flush=True)


def main():
    if "--calls" in sys.argv:
        return calls()
    if "--one" in sys.argv:
        i = sys.argv.index("--one")
        measure(network, 2)  # warm up imports
        print(json.dumps(measure(WORKLOADS[int(sys.argv[i + 1])][1], int(sys.argv[i + 2]))))
        return
    quick, only = "--quick" in sys.argv, _arg("--only")
    if "--compare" in sys.argv:
        srcs = [a for a in sys.argv[sys.argv.index("--compare") + 1:] if not a.startswith("--")]
        srcs = [s for s in srcs if s != only]
        return compare(srcs, quick, only)
    measure(network, 2)  # warm up imports
    print("| workload | size | nodes | lines | generation (CPU s) | us / node | us / line |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for _, label, make, size in _rows(quick, only):
        nodes, sec, lines = measure(make, size)
        print(f"| {label} | {size} | {nodes} | {lines} | {sec:.2f} | {1e6 * sec / nodes:.1f} | "
              f"{1e6 * sec / lines:.1f} |", flush=True)


if __name__ == "__main__":
    main()
