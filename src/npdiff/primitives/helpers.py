"""Shared rule helpers: broadcasting, batch axes and symbolic zeros.

Tangents and cotangents carry ``nb`` leading batch axes before the primal
shape (nb = 0 for a single direction); these helpers keep rules short.
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import Node, broadcast_shapes
from .registry import apply


def batch_shape(t: Node, nb: int) -> tuple:
    """Return the leading batch shape of a (co)tangent."""
    return t.shape[:nb]


def align(t: Node, nb: int, ndim: int) -> Node:
    """Return t with ones inserted after its batch axes so its primal rank is ndim."""
    extra = ndim - (t.ndim - nb)
    if extra <= 0:
        return t
    return apply("reshape", t, shape=t.shape[:nb] + (1,) * extra + t.shape[nb:])


def sum_to(x: Node, shape: tuple, nb: int = 0) -> Node:
    """Return x summed over broadcast axes so its primal shape is ``shape``."""
    shape = tuple(shape)
    prim = x.shape[nb:]
    if prim == shape:
        return x
    lead = len(prim) - len(shape)
    axes = list(range(nb, nb + lead))
    axes += [nb + lead + i for i, (s, d) in enumerate(zip(shape, prim[lead:])) if s == 1 and d != 1]
    if axes:
        x = apply("reduce_sum", x, axes=tuple(axes))
    return apply("reshape", x, shape=x.shape[:nb] + shape)


def expand_to(x: Node, shape: tuple, nb: int = 0) -> Node:
    """Return x broadcast (numpy rules on the primal part) to batch + shape."""
    x = align(x, nb, len(shape))
    want = x.shape[:nb] + tuple(shape)
    return x if x.shape == want else apply("broadcast_to", x, shape=want)


def zeros(shape: tuple, dtype) -> Node:
    """Return a symbolic array of zeros (a broadcast scalar, never a big constant)."""
    from ..ir.graph import const
    return apply("broadcast_to", const(np.zeros((), dtype)), shape=tuple(shape))


def add_any(a, b):
    """Return a + b where either may be a symbolic zero (None)."""
    if a is None:
        return b
    if b is None:
        return a
    return apply("add", a, b)


_PY_NUMBERS = frozenset((bool, int, float, complex))  # weak constants' values (arrays' are ndarrays)


def is_zero_const(x: Node) -> bool:
    """Return True if x is a constant (or broadcast constant) equal to zero."""
    if x.op == "broadcast_to":
        x = x.args[0]
    if x.op != "const":
        return False
    v = x.value
    if v.__class__ in _PY_NUMBERS:
        return not v
    if isinstance(v, np.ndarray):
        return v.size == 1 and not v.any()
    return np.size(v) == 1 and not np.any(v)


def is_one_const(x: Node) -> bool:
    """Return True if x is a constant (or broadcast constant) equal to one."""
    if x.op == "broadcast_to":
        x = x.args[0]
    if x.op != "const":
        return False
    v = x.value
    if v.__class__ in _PY_NUMBERS:
        return v == 1
    if isinstance(v, np.ndarray):
        return v.size == 1 and bool((v == 1).all())
    return np.size(v) == 1 and bool(np.all(np.asarray(v) == 1))


def shift_axes(axes, nb: int) -> tuple:
    """Return axes moved past nb leading batch axes."""
    return tuple(a + nb for a in axes)


def dtype_name(dt) -> str:
    """Return the NumPy attribute naming dtype dt in generated code (np.bool_ exists in every NumPy)."""
    return "bool_" if np.dtype(dt) == np.bool_ else np.dtype(dt).name


def dtype_kw(node) -> str:
    """Return ', dtype=np.<name>' for generated array constructors ('' for float64, NumPy's default)."""
    return "" if node.dtype == np.float64 else f", dtype=np.{dtype_name(node.dtype)}"


def stack_nodes(parts, axis: int = 0) -> Node:
    """Return a node stacking nodes (broadcast to one shape) along a new axis."""
    shape = broadcast_shapes(*[p.shape for p in parts])
    parts = [p if p.shape == shape else apply("broadcast_to", p, shape=shape) for p in parts]
    return apply("stack", *parts, axis=axis)
