"""The primitive table: one record per primitive, and ``apply`` to build nodes.

A primitive record holds everything npdiff knows about an operation: its
shape/dtype rule, NumPy implementation (for constant folding and tests), how
to print it as NumPy source (array-at-a-time and unrolled to Python floats),
what the emitter may assume about its result, its forward-mode rule and, for
linear primitives, its transpose. Rules are written with primitives, so
derivatives of derivatives need nothing more.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import Node, const, intern

PRIMS: dict[str, Primitive] = {}
FOLD_LIMIT = 1 << 16  # never fold constants into arrays larger than this


class _NotScalar:
    """The type of ``NOT_SCALAR``."""

    def __repr__(self) -> str:
        return "NOT_SCALAR"


NOT_SCALAR = _NotScalar()  # Primitive.scalar value: this primitive is never unrolled to Python floats


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
    partials: tuple = ()  # elementwise: d out / d arg_i as (*args, out) -> Node
    diff_args: Callable | None = None  # (node) -> indices of args whose tangents the jvp needs
    # -- facts for the emitters; owns, elementwise and scalar must be decided for every primitive
    # (None means undecided: the emitters then take the safe choice and tests/test_registry.py fails)
    short: str | None = None  # base name of its temporaries in generated code (None: the op name)
    augmented: str | None = None  # in-place operator ("+=") updating argument 0 with argument 1
    commutative: bool = False  # with ``augmented``: argument 1 may be the one updated
    owns: bool | Callable | None = None  # the emitted expression returns a fresh array (never a view),
    #   or callable(node) -> bool when that depends on the node
    elementwise: bool | None = None  # out[i] depends on args[j][i] only (after broadcasting)
    scalar: Any = None  # unrolled (Python-float) emission: a format string over the arguments'
    #   element expressions (and params by name) for elementwise primitives, or
    #   callable(em, node) -> object array of expressions (em: emit_scalar.ScalarEmitter),
    #   or NOT_SCALAR
    scalar_cost: Callable | None = None  # (node) -> terms unrolling costs beyond one per element
    sparsity: Callable | None = None  # (node, patterns of the args) -> Pattern: which input elements
    #   each output element may depend on (indexsets.py: ELEMENTWISE, index_map, REDUCE, DENSE...);
    #   must be decided for every primitive that has a derivative


def short_name(op: str) -> str:
    """Return the base name generated code gives to results of primitive ``op``."""
    prim = PRIMS.get(op)
    return (prim.short if prim is not None else None) or op


def owns_result(node: Node) -> bool:
    """Return True if the emitted expression for node always returns a fresh array."""
    if node.ndim == 0:
        return False
    owns = PRIMS[node.op].owns
    return bool(owns(node) if callable(owns) else owns)


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


_PLAIN_PARAMS = frozenset((tuple, int, str, bool, float, type(None)))  # kept as they are


def _norm_param(v):
    if v.__class__ in _PLAIN_PARAMS:
        return v
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
    for a in args:
        if a.__class__ is not Node:
            args = tuple(map(as_node, args))
            break
    if params:
        params = {k: _norm_param(v) for k, v in params.items()}
    shape, dtype = prim.shape_rule(*args, **params)
    if shape.__class__ is not tuple or not all(s.__class__ is int for s in shape):
        shape = tuple(int(s) for s in shape)
    if not isinstance(dtype, np.dtype):
        dtype = np.dtype(dtype)
    if prim.simplify is not None:
        # shape/dtype params (reshape, convert...) equal the output's
        out = prim.simplify(*args, **{"shape": shape, "dtype": dtype, **params})
        if out is not None:
            return out
    if prim.fold and _foldable(args) and math.prod(shape) <= FOLD_LIMIT:
        with np.errstate(all="ignore"):  # folds through broadcasts of array constants too
            value = prim.impl(*[a.value if a.op == "const" else np.broadcast_to(a.args[0].value, a.shape)
                                for a in args], **params)
        value = np.asarray(value, dtype=dtype)
        if value.shape != shape:
            value = np.broadcast_to(value, shape).copy()
        return const(value if shape else value[()].item() if _all_weak(args) else value)
    return intern(name, args, tuple(sorted(params.items())) if params else (), shape, dtype)


def _foldable(args) -> bool:
    """Return True if every argument is a constant or a broadcast of an array constant."""
    for a in args:
        if a.op != "const" and not (a.op == "broadcast_to" and a.args[0].op == "const" and a.args[0].size > 1):
            return False
    return True


def _broadcast_const(a: Node) -> bool:
    """Return True for a broadcast of a non-scalar constant (scalar broadcasts have their own rules)."""
    return a.op == "broadcast_to" and a.args[0].op == "const" and a.args[0].size > 1


def _all_weak(args):
    return args and all(a.weak for a in args)
