"""Core benchmark: npdiff's generated gradient vs hand-written NumPy (and peers
when installed) for Rosenbrock (n = 10 and 10^6) and a 2-layer tanh network."""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # single-threaded BLAS, as in DESIGN.md

import time

import numpy as np
from common import per_call, table

import npdiff


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_grad_hand(x):
    d = x[1:] - x[:-1] ** 2
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * d - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * d
    return g


def rosen_hvp_hand(x, v):
    xm, xp, vm, vp = x[:-1], x[1:], v[:-1], v[1:]
    hv = np.zeros_like(x)
    hv[:-1] = (1200.0 * xm ** 2 - 400.0 * xp + 2.0) * vm - 400.0 * xm * vp
    hv[1:] += 200.0 * vp - 400.0 * xm * vm
    return hv


RNG = np.random.default_rng(0)
X_DATA = RNG.normal(size=(64, 8))
Y_DATA = RNG.normal(size=64)


def net_loss(params):
    W1 = params[:32].reshape(8, 4)
    w2 = params[32:]
    h = np.tanh(X_DATA @ W1)
    r = h @ w2 - Y_DATA
    return np.mean(r ** 2)


def net_grad_hand(params):
    W1 = params[:32].reshape(8, 4)
    w2 = params[32:]
    h = np.tanh(X_DATA @ W1)
    r = h @ w2 - Y_DATA
    dr = (2.0 / r.size) * r
    g = np.empty(36)
    g[32:] = h.T @ dr
    g[:32] = (X_DATA.T @ (np.outer(dr, w2) * (1.0 - h ** 2))).ravel()
    return g


def peers(fn, x):
    """Yield (label, gradient function) for installed peers."""
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        src = {rosen: lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2),
               net_loss: lambda p: jnp.mean((jnp.tanh(jnp.asarray(X_DATA) @ p[:32].reshape(8, 4)) @ p[32:]
                                            - jnp.asarray(Y_DATA)) ** 2)}[fn]
        jg = jax.jit(jax.grad(src))
        jg(x).block_until_ready()
        yield "jax.jit(grad) -> numpy", lambda v: np.asarray(jg(v))
    except Exception:
        pass
    try:
        import autograd
        import autograd.numpy as anp
        src = {rosen: lambda x: anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2),
               net_loss: lambda p: anp.mean((anp.tanh(X_DATA @ anp.reshape(p[:32], (8, 4))) @ p[32:] - Y_DATA) ** 2)}[fn]
        yield "autograd.grad", autograd.grad(src)
    except Exception:
        pass


def main():
    npdiff.grad(rosen).specialize((3,))  # warm up imports and caches before timing generation
    for n in (10, 1_000_000):
        x = np.linspace(-1.0, 1.5, n)
        t0 = time.perf_counter()
        g = npdiff.grad(rosen).specialize((n,))
        gen = time.perf_counter() - t0
        assert np.allclose(g(x), rosen_grad_hand(x))
        rows = [("hand-written NumPy", per_call(rosen_grad_hand, x)), ("npdiff grad", per_call(g, x))]
        if n <= 10_000:
            rows += [(label, per_call(fn, x)) for label, fn in peers(rosen, x)]
        table(f"Rosenbrock gradient, n = {n} (npdiff generation {gen * 1e3:.1f} ms)", rows, "hand-written NumPy")
    p = RNG.normal(size=36) * 0.3
    t0 = time.perf_counter()
    g = npdiff.grad(net_loss).specialize((36,))
    gen = time.perf_counter() - t0
    assert np.allclose(g(p), net_grad_hand(p))
    rows = [("hand-written NumPy", per_call(net_grad_hand, p)), ("npdiff grad", per_call(g, p))]
    rows += [(label, per_call(fn, p)) for label, fn in peers(net_loss, p)]
    table(f"2-layer tanh network loss gradient, 36 parameters (generation {gen * 1e3:.1f} ms)", rows,
          "hand-written NumPy")


if __name__ == "__main__":
    main()
