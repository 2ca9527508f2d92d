"""Structural sparsity of Jacobians, found from the graph, and the column /
row colourings that let a Jacobian be computed with few jvp / vjp passes.

Each node gets a boolean dependency array of shape ``node.shape + (n,)``:
entry [..., j] says the element may depend on input element j. Rules follow
the primitives; a primitive without a rule is treated conservatively (every
output element depends on everything its arguments depend on), so patterns
are never too sparse.
"""
from __future__ import annotations

import numpy as np

from .graph import Node, toposort
from .primitives import PRIMS
from .primitives.contract import fresh, parse
from .primitives.indexing import build_index

MAX_CELLS = 1 << 22  # give up (return None) above this many booleans per node


def dependency(outputs: list[Node], wrt: Node) -> list[np.ndarray] | None:
    """Return, per output, a boolean array out.shape + (wrt.size,), or None if too large."""
    n = wrt.size
    dep: dict[int, np.ndarray | None] = {id(wrt): np.eye(n, dtype=bool).reshape(wrt.shape + (n,))}
    for node in toposort(outputs, stop=[wrt]):
        if id(node) in dep:
            continue
        if node.size * n > MAX_CELLS:
            return None
        args = [dep.get(id(a)) for a in node.args]
        if node.op in ("const", "input") or all(a is None for a in args) or PRIMS[node.op].nondiff:
            dep[id(node)] = None
            continue
        full = [np.zeros(a.shape + (n,), bool) if d is None else d for a, d in zip(node.args, args)]
        dep[id(node)] = _rule(node, full, args, n)
    out = []
    for o in outputs:
        d = dep.get(id(o))
        out.append(np.zeros(o.shape + (n,), bool) if d is None else np.asarray(d))
    return out


def _bcast(d, shape, n):
    nd = d.ndim - 1
    d = d.reshape((1,) * (len(shape) - nd) + d.shape)
    return np.broadcast_to(d, tuple(shape) + (n,))


def _rule(node, full, raw, n):
    op, p, shape = node.op, node.p, node.shape
    prim = PRIMS[op]
    if op == "custom_jvp_out":  # the user's rule may couple any output to any input element
        return _conservative(node, full[1:], n)
    if prim.domain is not None or op in ("where", "convert"):
        parts = full[1:] if op == "where" else full
        acc = np.zeros(shape + (n,), bool)
        for d in parts:
            acc = acc | _bcast(d, shape, n)
        return acc
    if op in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod"):
        return full[0].any(axis=p["axes"]) if p["axes"] else full[0]
    if op == "broadcast_to":
        return _bcast(full[0], shape, n)
    if op == "reshape":
        return full[0].reshape(shape + (n,))
    if op == "transpose":
        return np.transpose(full[0], tuple(p["perm"]) + (len(shape),))
    if op in ("gather", "scatter_add", "set_index", "index_add"):
        first = 1 if op in ("gather", "scatter_add") else 2
        arrays = node.args[first:]
        if any(a.op != "const" for a in arrays):
            return _conservative(node, full, n)
        idx = build_index(p["index"], [a.value for a in arrays])
        if op == "gather":
            return full[0][idx]
        out = np.zeros(shape + (n,), bool) if op == "scatter_add" else full[0].copy()
        v = full[first - 1]
        target = out[idx]
        v = _bcast(v, target.shape[:-1], n)
        if op == "set_index":
            out[idx] = v
        else:
            np.logical_or.at(out, idx, v)
        return out
    if op == "concatenate":
        return np.concatenate(full, axis=p["axis"])
    if op == "stack":
        return np.stack([_bcast(d, node.args[0].shape, n) for d in full], axis=p["axis"])
    if op == "cumsum":
        return np.logical_or.accumulate(full[0], axis=p["axis"])
    if op == "einsum":
        ins, o = parse(p["spec"])
        z = fresh(p["spec"], 1)
        acc = np.zeros(shape + (n,), bool)
        for i, d in enumerate(raw):
            if d is None:
                continue
            ops = [full[i].astype(np.float64)]
            subs = [ins[i] + z]
            for j, a in enumerate(node.args):
                if j != i:
                    ops.append((np.asarray(a.value) != 0).astype(np.float64) if a.op == "const"
                               else np.ones(a.shape))
                    subs.append(ins[j])
            acc |= np.einsum(",".join(subs) + "->" + o + z, *ops, optimize=True) > 0
        return acc
    return _conservative(node, full, n)


def _conservative(node, full, n):
    any_dep = np.zeros(n, bool)
    for d in full:
        any_dep |= d.reshape(-1, n).any(axis=0)
    return np.broadcast_to(any_dep, node.shape + (n,)).copy()


def colour_columns(pattern: np.ndarray) -> tuple[int, np.ndarray]:
    """Return (number of colours, colour of each column) such that columns of one colour share no row."""
    m, n = pattern.shape
    conflict = (pattern.T.astype(np.int32) @ pattern.astype(np.int32)) > 0
    order = np.argsort(-conflict.sum(axis=1), kind="stable")
    colour = np.full(n, -1)
    for j in order:
        used = set(colour[conflict[j]].tolist())
        c = 0
        while c in used:
            c += 1
        colour[j] = c
    return (int(colour.max()) + 1 if n else 0), colour
