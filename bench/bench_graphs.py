"""Large-graph benchmark: code-generation time against graph size for functions with Python loops.

Three workloads unroll into large graphs: explicit Euler integration of the
Lorenz system (gradient of the final squared norm w.r.t. the initial state and
the parameters), a fixed-point iteration x = tanh(A x + b) (gradient w.r.t. b)
and a deep tanh network (gradient w.r.t. the input). Prints a markdown table of
nodes built, generation time (tracing, differentiation, emission, compilation;
CPU time) and microseconds per node, which stays flat when generation is linear.
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys
import time

import numpy as np

import npdiff
from npdiff.ir import graph

DT = 0.01


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


WORKLOADS = [("Euler (Lorenz), steps", euler, (250, 500, 1000, 2000)),
             ("fixed point, iterations", fixed_point, (125, 250, 500)),
             ("network, layers", network, (25, 50, 100))]


def measure(make, size):
    """Return (nodes built, CPU seconds, source lines) of one specialisation."""
    g, shapes = make(size)
    before = next(graph._counter)
    t = time.process_time()
    gf = g.specialize(*shapes)
    return next(graph._counter) - before, time.process_time() - t, gf.source.count("\n")


def main():
    quick = "--quick" in sys.argv
    measure(network, 2)  # warm up imports
    print("| workload | size | nodes | lines | generation (CPU s) | us / node |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, make, sizes in WORKLOADS:
        for size in sizes[:2] if quick else sizes:
            nodes, sec, lines = measure(make, size)
            print(f"| {label} | {size} | {nodes} | {lines} | {sec:.2f} | {1e6 * sec / nodes:.0f} |", flush=True)


if __name__ == "__main__":
    main()
