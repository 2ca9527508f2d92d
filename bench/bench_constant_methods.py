"""Constant arrays meeting traced values: the first call (trace and generate) and later calls of the
gradient of a Poisson log-likelihood written as regression libraries write it (``X.dot(beta)``: NumPy
converts beta in C code, npdiff reads the product back from a probe array) against ``X @ beta``
(dispatches), at several data sizes. Later calls run the same generated code."""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import time

import numpy as np
from common import fmt, per_call

import npdiff


def first_call(make, *args) -> float:
    """Return the time of the first call of a fresh operator (tracing and code generation included)."""
    t = time.perf_counter()
    make()(*args)
    return time.perf_counter() - t


def main():
    rng = np.random.default_rng(0)
    print("\ngradient of sum(y * X.dot(b) - exp(X.dot(b))): first call and per call")
    for n, k in [(1000, 10), (10000, 20), (20000, 50)]:
        X = rng.normal(size=(n, k)) / np.sqrt(k)
        y = rng.poisson(1.0, size=n).astype(float)
        b = np.full(k, 0.1)
        method = lambda b: np.sum(y * X.dot(b) - np.exp(X.dot(b)))
        operator = lambda b: np.sum(y * (X @ b) - np.exp(X @ b))
        g1, g2 = npdiff.grad(method), npdiff.grad(operator)
        assert np.allclose(g1(b), g2(b))
        f1, f2 = first_call(lambda: npdiff.grad(method), b), first_call(lambda: npdiff.grad(operator), b)
        print(f"  n = {n:6d}, k = {k:3d}: X.dot(b) first {fmt(f1)}, per call {fmt(per_call(g1, b))};"
              f"  X @ b first {fmt(f2)}, per call {fmt(per_call(g2, b))}")


if __name__ == "__main__":
    main()
