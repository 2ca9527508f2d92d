"""autograd.misc.optimizers: stochastic gradient descent with momentum, RMSProp and Adam (autograd's signatures).

Each takes ``grad(x, i)`` (called with the iteration number ``i``), a start
``x0`` that may be any nesting of tuples, lists and dicts of arrays (flattened
with ``misc.flatten``), and an optional ``callback(x, i, g)`` called before
each step with the current point, iteration and gradient (in ``x0``'s
structure). They return the final point in ``x0``'s structure. Plain NumPy:
nothing here is differentiated.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .flatten import flatten

__all__ = ["sgd", "rmsprop", "adam"]


def _run(step: Callable, grad: Callable, x0, callback, num_iters: int):
    """Return the point after num_iters updates x <- step(x, g, i, state) on the flattened x0."""
    x, unflatten = flatten(x0)
    x = np.array(x, dtype=np.result_type(x, float))
    state: dict = {}
    for i in range(num_iters):
        g = flatten(grad(unflatten(x), i))[0]
        if callback:
            callback(unflatten(x), i, unflatten(g))
        x = step(x, g, i, state)
    return unflatten(x)


def sgd(grad: Callable, x0, callback: Callable | None = None, num_iters: int = 200, step_size: float = 0.1,
        mass: float = 0.9):
    """Return the point after gradient descent with momentum: v <- mass v - (1 - mass) g; x <- x + step_size v."""
    def step(x, g, i, s):
        s["v"] = mass * s.get("v", np.zeros_like(x)) - (1.0 - mass) * g
        return x + step_size * s["v"]
    return _run(step, grad, x0, callback, num_iters)


def rmsprop(grad: Callable, x0, callback: Callable | None = None, num_iters: int = 100, step_size: float = 0.1,
            gamma: float = 0.9, eps: float = 1e-8):
    """Return the point after RMSProp: a <- gamma a + (1 - gamma) g^2 (a starts at ones); x <- x - step g / (sqrt(a) + eps)."""
    def step(x, g, i, s):
        s["a"] = gamma * s.get("a", np.ones_like(x)) + (1.0 - gamma) * g ** 2
        return x - step_size * g / (np.sqrt(s["a"]) + eps)
    return _run(step, grad, x0, callback, num_iters)


def adam(grad: Callable, x0, callback: Callable | None = None, num_iters: int = 100, step_size: float = 0.001,
         b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8):
    """Return the point after Adam (Kingma and Ba, 2015): bias-corrected first and second moment estimates."""
    def step(x, g, i, s):
        s["m"] = b1 * s.get("m", np.zeros_like(x)) + (1.0 - b1) * g
        s["v"] = b2 * s.get("v", np.zeros_like(x)) + (1.0 - b2) * g ** 2
        mhat = s["m"] / (1.0 - b1 ** (i + 1))
        vhat = s["v"] / (1.0 - b2 ** (i + 1))
        return x - step_size * mhat / (np.sqrt(vhat) + eps)
    return _run(step, grad, x0, callback, num_iters)
