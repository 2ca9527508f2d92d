"""Node-level operations: ``ops.exp(x)`` builds the node for primitive 'exp'.

Rules are written with these, so every derivative is itself made of
primitives and can be differentiated again.
"""
from __future__ import annotations

from .primitives.registry import apply


def add(a, b): return apply("add", a, b)
def sub(a, b): return apply("subtract", a, b)
def mul(a, b): return apply("multiply", a, b)
def div(a, b): return apply("divide", a, b)
def neg(a): return apply("negative", a)
def power(a, b): return apply("power", a, b)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return lambda *args, **params: apply(name, *args, **params)
