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
    src = {id(n) for n in lin_inputs}
    linear = set(src)
    for node in order:
        if any(id(a) in linear for a in node.args):
            linear.add(id(node))
    acc: dict[int, Node | None] = {}
    for o, c in zip(lin_outputs, cts):
        if o is not None and c is not None and id(o) in linear:
            acc[id(o)] = add_any(acc.get(id(o)), c)
    for node in reversed(order):
        if id(node) in src or id(node) not in linear:
            continue
        ct = acc.pop(id(node), None)
        if ct is None:
            continue
        prim = PRIMS[node.op]
        if prim.transpose is None:
            raise UnsupportedOperationError(f"primitive {node.op!r} is not linear; it cannot be transposed")
        lin = [id(a) in linear for a in node.args]
        parts = prim.transpose(ct, *node.args, lin=lin, nb=nb, **dict(node.params))
        for a, l, p in zip(node.args, lin, parts):
            if l and p is not None and p.dtype.kind == "c" and a.dtype.kind != "c":
                p = apply("real", p)  # a real input promoted to complex: its cotangent is the real part
            if l and p is not None and p.dtype != a.dtype and p.dtype.kind == a.dtype.kind and \
                    p.dtype.itemsize > a.dtype.itemsize:
                p = apply("convert", p, dtype=a.dtype)  # float32 promoted to float64: the cotangent is float32 (as JAX)
            if l and p is not None:
                want = ct.shape[:nb] + a.shape
                if p.shape != want:
                    raise AssertionError(f"transpose rule of {node.op} gave {p.shape}, expected {want}")
                acc[id(a)] = add_any(acc.get(id(a)), p)
    return [acc.get(id(n)) for n in lin_inputs]


def vjp_nodes(outputs: list, wrt: list[Node], cts: list, nb: int = 0) -> list:
    """Return cotangents of ``wrt`` for cotangents of ``outputs`` (None = zero)."""
    dummies = [make_input(f"_t{i}", w.shape, w.dtype) for i, w in enumerate(wrt)]
    touts = jvp_nodes(outputs, wrt, dummies, nb=0)
    return transpose_nodes(touts, dummies, cts, nb=nb)
