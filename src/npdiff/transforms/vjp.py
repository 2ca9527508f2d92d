"""Reverse mode: linearize with jvp, then transpose the linear graph.

Only linear primitives need a transpose rule; every other primitive's
reverse rule follows from its forward rule, so both modes agree at any order.
"""
from __future__ import annotations

from ..errors import UnsupportedOperationError
from ..ir.graph import Node, make_input, toposort
from ..primitives import PRIMS, apply
from ..primitives.helpers import add_any
from .jvp import jvp_nodes


def transpose_nodes(lin_outputs: list, lin_inputs: list[Node], cts: list, nb: int = 0) -> list:
    """Return cotangents of lin_inputs for cotangents of the linear outputs."""
    order = toposort([o for o in lin_outputs if o is not None])
    src = set(lin_inputs)  # nodes hash by identity
    linear = set(src)
    for node in order:
        for a in node.args:
            if a in linear:
                linear.add(node)
                break
    acc: dict[Node, Node | None] = {}
    for o, c in zip(lin_outputs, cts):
        if o is not None and c is not None and o in linear:
            acc[o] = add_any(acc.get(o), c)
    for node in reversed(order):
        if node in src or node not in linear:
            continue
        ct = acc.pop(node, None)
        if ct is None:
            continue
        prim = PRIMS[node.op]
        if prim.transpose is None:
            raise UnsupportedOperationError(f"primitive {node.op!r} is not linear; it cannot be transposed")
        lin = [a in linear for a in node.args]
        parts = prim.transpose(ct, *node.args, lin=lin, nb=nb, **dict(node.params))
        for a, l, p in zip(node.args, lin, parts):
            if not l or p is None:
                continue
            if p.dtype.kind == "c" and a.dtype.kind != "c":
                p = apply("real", p)  # a real input promoted to complex: its cotangent is the real part
            if p.dtype != a.dtype and p.dtype.kind == a.dtype.kind and p.dtype.itemsize > a.dtype.itemsize:
                p = apply("convert", p, dtype=a.dtype)  # float32 promoted to float64: the cotangent is float32 (as JAX)
            want = ct.shape[:nb] + a.shape
            if p.shape != want:
                raise AssertionError(f"transpose rule of {node.op} gave {p.shape}, expected {want}")
            acc[a] = add_any(acc.get(a), p)
    return [acc.get(n) for n in lin_inputs]


def vjp_nodes(outputs: list, wrt: list[Node], cts: list, nb: int = 0) -> list:
    """Return cotangents of ``wrt`` for cotangents of ``outputs`` (None = zero)."""
    dummies = [make_input(f"_t{i}", w.shape, w.dtype) for i, w in enumerate(wrt)]
    touts = jvp_nodes(outputs, wrt, dummies, nb=0)
    return transpose_nodes(touts, dummies, cts, nb=nb)
