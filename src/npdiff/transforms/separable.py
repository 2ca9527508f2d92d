"""Dense Hessians of partially separable functions, assembled by strided writes.

A scalar ``f(x) = sum_t c_t * sum(E_t(x[s_1], ..., x[s_k]))`` of a vector ``x``, each ``E_t``
elementwise in slices ``x[a:b:step]`` (Rosenbrock, chains, finite-difference energies), has
the Hessian ``sum_{j,l} S_j^T diag(d2E / du_j du_l) S_l``: each pair of slices adds one
vector along one strided run of the flat Hessian (a diagonal of a band). The vectors are the
second derivatives of the elementwise graph, found by one gradient and one forward pass with
a tangent of ones per slice (exact: an elementwise graph's second derivatives are diagonal).
The result is written once into a preallocated flat output, as hand-written banded assembly
does, instead of from compressed Hessian-vector products. Anything else returns None and the
general planner (jacobian.py) takes over.
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import Node, const, make_input, toposort
from ..primitives import PRIMS, apply
from ..primitives.helpers import zeros
from .jvp import jvp_nodes
from .substitute import substitute
from .vjp import vjp_nodes

MAX_SLICES = 8  # more slices (k^2 second-derivative vectors) is left to the colouring planner
_LINEAR_SCALAR = {"add", "subtract", "negative", "multiply", "divide", "convert"}


def _slices(out: Node, w: Node):
    """Return {node: (start, step, count)} for w itself and the basic slices of w that out reads, or None."""
    found = {}
    for node in toposort([out]):
        if w in node.args and node.op != "gather":
            found[w] = (0, 1, w.size)  # w read whole (x ** 2): the slice x[0:n:1]
        if node.op != "gather" or node.args[0] is not w:
            continue
        idx = node.p["index"]
        if len(node.args) != 1 or len(idx) != 1 or idx[0][0] != "s":
            return None
        _, start, _stop, step = idx[0]
        if start is None or step is None or step <= 0 or node.size == 0:
            return None
        found[node] = (int(start), int(step), node.size)
    return found if 0 < len(found) <= MAX_SLICES else None


def _dependents(order, leaves) -> set:
    dep = set(leaves)
    for node in order:
        if any(a in dep for a in node.args):
            dep.add(node)
    return dep


def _is_separable(out: Node, vs: list) -> bool:
    """Return True if out is a linear combination of full sums of elementwise functions of vs.

    Every node depending on vs is either elementwise with those arguments of its own shape (the
    slices' shape), or a scalar: a full sum, or linear (+, -, a product or quotient by a factor
    independent of vs) in such scalars.
    """
    order = toposort([out])
    if any(n.op in ("draw", "rng_new") for n in order):
        return False
    dep = _dependents(order, vs)
    for node in order:
        if node not in dep or node in vs:
            continue
        dargs = [a for a in node.args if a in dep]
        if node.shape == ():
            if not _linear_scalar(node, dargs, dep):
                return False
            continue
        prim = PRIMS.get(node.op)
        if prim is None or not prim.elementwise or any(a.shape != node.shape for a in dargs):
            return False
    return True


def _linear_scalar(node, dargs, dep) -> bool:
    """Return True for a full sum, or a scalar node linear in its arguments that depend on the slices."""
    if node.op == "reduce_sum":
        return True
    if node.op == "einsum":  # sum(a * b) of same-shaped arrays: np.sum(a * b), a @ b of vectors
        ins, out = node.p["spec"].split("->")
        subs = ins.split(",")
        return out == "" and len(subs) == 2 and subs[0] == subs[1] and len(set(subs[0])) == len(subs[0]) \
            and node.args[0].shape == node.args[1].shape
    if node.op not in _LINEAR_SCALAR or any(a.shape != () for a in dargs):
        return False
    if node.op == "multiply":
        return len(dargs) == 1
    if node.op == "divide":
        return node.args[1] not in dep
    return True


def separable_hessian(out: Node, w: Node) -> Node | None:
    """Return the dense Hessian of scalar out w.r.t. vector w by strided assembly, or None when out
    is not a sum of elementwise functions of slices of w."""
    if out.shape != () or w.ndim != 1 or w.dtype.kind != "f" or out.dtype.kind != "f":
        return None
    found = _slices(out, w)
    if found is None:
        return None
    gathers = list(found)
    vs = [make_input(f"_u{i}", g.shape, g.dtype) for i, g in enumerate(gathers)]
    (f,) = substitute([out], {id(g): v for g, v in zip(gathers, vs)})
    if w in toposort([f]) or not _is_separable(f, vs):
        return None
    grads = vjp_nodes([f], vs, [const(np.ones((), f.dtype))])
    n = w.size
    back = {id(v): g for v, g in zip(vs, gathers)}
    flat, written = None, set()
    for l, vl in enumerate(vs):
        ones = apply("broadcast_to", const(np.ones((), vl.dtype)), shape=vl.shape)  # a scalar: products simplify
        tangents = [ones if i == l else None for i in range(len(vs))]
        dl = jvp_nodes([g for g in grads[: l + 1] if g is not None], vs, tangents)
        it = iter(dl)
        for j in range(l + 1):
            d = next(it) if grads[j] is not None else None
            if d is None or vs[j].shape != vl.shape:
                continue
            (d,) = substitute([d], back)  # the slices of w again
            d = apply("convert", d, dtype=w.dtype) if d.dtype != w.dtype else d
            pairs = [(j, l)] if j == l else [(j, l), (l, j)]  # d2f / du_j du_l = d2f / du_l du_j
            for a, b in pairs:
                flat = _add_run(flat, d, found[gathers[a]], found[gathers[b]], n, written)
    if flat is None:
        flat = zeros((n * n,), w.dtype)
    return apply("reshape", flat, shape=(n, n))


def _add_run(flat, d, rows, cols, n, written):
    """Return flat with d added at H[r0 + rs * i, c0 + cs * i] (one strided run of the flat Hessian);
    a run no earlier run touched is assigned rather than added. ``written`` holds the flat positions
    written so far."""
    (r0, rs, m), (c0, cs, _) = rows, cols
    first, step = r0 * n + c0, rs * n + cs
    index = (("s", first, first + step * (m - 1) + 1, step),)
    if d.op == "broadcast_to" and d.args[0].ndim == 0:
        d = d.args[0]  # a constant second derivative: written as a scalar
    pos = range(first, first + step * m, step)
    fresh = written.isdisjoint(pos)
    written.update(pos)
    if flat is None:
        return apply("scatter_add", d, index=index, shape=(n * n,))
    return apply("set_index" if fresh else "index_add", flat, d, index=index)
