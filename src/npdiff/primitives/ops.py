"""Node-level operations: ``ops.exp(x)`` builds the node for primitive 'exp'.

Rules are written with these, so every derivative is itself made of
primitives and can be differentiated again.
"""
from __future__ import annotations

from ..ir.graph import Node
from .registry import apply


def add(a, b): return apply("add", a, b)
def sub(a, b): return apply("subtract", a, b)
def mul(a, b): return apply("multiply", a, b)
def div(a, b): return apply("divide", a, b)
def neg(a): return apply("negative", a)
def power(a, b): return apply("power", a, b)


# Operators on nodes make rules read like the maths (``a * b + 1``). Nodes are
# compared and hashed by identity, so there is no __eq__.
Node.__add__ = lambda self, o: add(self, o)
Node.__radd__ = lambda self, o: add(o, self)
Node.__sub__ = lambda self, o: sub(self, o)
Node.__rsub__ = lambda self, o: sub(o, self)
Node.__mul__ = lambda self, o: mul(self, o)
Node.__rmul__ = lambda self, o: mul(o, self)
Node.__truediv__ = lambda self, o: div(self, o)
Node.__rtruediv__ = lambda self, o: div(o, self)
Node.__pow__ = lambda self, o: power(self, o)
Node.__neg__ = lambda self: neg(self)


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return lambda *args, **params: apply(name, *args, **params)
