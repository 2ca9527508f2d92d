"""Operators as objects: the per-call cost of a cached ``grad(f)(x)`` and of
``grad(f)(x)`` written inside a loop (a new operator object each iteration,
autograd's idiom; specialisations are shared between operators made from the same
function and options), on Rosenbrock n = 10, beside hand-written NumPy (and
autograd, which re-traces every call, when installed)."""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import numpy as np
from bench_core import rosen, rosen_grad_hand
from common import per_call, table

import npdiff


def main(n: int = 10):
    x = np.linspace(-1.0, 1.5, n)
    g = npdiff.grad(rosen)
    assert np.allclose(g(x), rosen_grad_hand(x))
    rows = [("hand-written NumPy", per_call(rosen_grad_hand, x)),
            ("npdiff g(x), g = grad(f) made once", per_call(g, x)),
            ("npdiff grad(f)(x), new operator", per_call(lambda x: npdiff.grad(rosen)(x), x))]
    try:
        import autograd
        import autograd.numpy as anp
        ag = autograd.grad(lambda x: anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))
        rows.append(("autograd grad(f)(x)", per_call(ag, x)))
    except ImportError:
        pass
    table(f"Rosenbrock gradient, n = {n}: cached operator vs a new operator per call", rows, "hand-written NumPy")


if __name__ == "__main__":
    main()
