"""The primitive table: one record per primitive, and ``apply`` to build nodes.

A primitive record holds everything npdiff knows about an operation: its
shape/dtype rule, NumPy implementation (for constant folding and tests), how
to print it as NumPy source, its forward-mode rule and, for linear
primitives, its transpose. Rules are written with primitives, so derivatives
of derivatives need nothing more.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import UnsupportedOperationError
from ..graph import Node, const, intern

PRIMS: dict[str, "Primitive"] = {}
FOLD_LIMIT = 1 << 16  # never fold constants into arrays larger than this


@dataclass
class Primitive:
    """Everything npdiff knows about one array operation."""

    name: str
    shape_rule: Callable  # (*args: Node, **params) -> (shape, dtype)
    impl: Callable  # (*arrays, **params) -> array
    emit: Any  # format string over arg names, or callable(names, node) -> str | list[str]
    jvp: Callable | None = None  # (tangents, *args, out, nb, **params) -> Node | None
    transpose: Callable | None = None  # (ct, *args, lin, nb, **params) -> list of Node | None
    linear: bool = False
    nondiff: bool = False  # derivative is structurally zero
    simplify: Callable | None = None  # (*args, shape, dtype, **params) -> Node | None
    fold: bool = True
    examples: list = field(default_factory=list)  # test specs (see tests)
    partials: tuple = ()  # elementwise: d out / d arg_i as (*args, out) -> Node
    domain: tuple | None = None  # elementwise: (low, high) for test inputs
    math_emit: str | None = None  # elementwise: template for 0-d float64 values
    diff_args: Callable | None = None  # (node) -> indices of args whose tangents the jvp needs


def register(prim: Primitive) -> Primitive:
    """Add a primitive to the table and return it."""
    if prim.name in PRIMS:
        raise ValueError(f"primitive {prim.name!r} registered twice")
    PRIMS[prim.name] = prim
    return prim


def as_node(x) -> Node:
    """Return x as a node (Python scalars become weakly typed constants)."""
    if isinstance(x, Node):
        return x
    node = getattr(x, "node", None)  # a Tracer
    if isinstance(node, Node):
        return node
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        return const(x)
    return const(np.asarray(x))


def _norm_param(v):
    if isinstance(v, list):
        return tuple(_norm_param(e) for e in v)
    if isinstance(v, np.dtype):
        return v
    if isinstance(v, type) and issubclass(v, np.generic):
        return np.dtype(v)
    return v


def apply(name: str, *args, **params) -> Node:
    """Return the (simplified, interned) node for primitive ``name`` on args."""
    prim = PRIMS.get(name)
    if prim is None:
        raise UnsupportedOperationError(f"no primitive named {name!r}")
    args = tuple(as_node(a) for a in args)
    params = {k: _norm_param(v) for k, v in params.items()}
    shape, dtype = prim.shape_rule(*args, **params)
    shape = tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    if prim.simplify is not None:
        kw = dict(params)  # shape/dtype params (reshape, convert...) equal the output's
        kw.setdefault("shape", shape)
        kw.setdefault("dtype", dtype)
        out = prim.simplify(*args, **kw)
        if out is not None:
            return out
    if prim.fold and all(a.op == "const" for a in args) and int(np.prod(shape)) <= FOLD_LIMIT:
        with np.errstate(all="ignore"):
            value = prim.impl(*[a.value for a in args], **params)
        value = np.asarray(value, dtype=dtype)
        if value.shape != shape:
            value = np.broadcast_to(value, shape).copy()
        return const(value if shape else value[()].item() if _all_weak(args) else value)
    return intern(name, args, tuple(sorted(params.items())), shape, dtype)


def _all_weak(args):
    return args and all(a.weak for a in args)
