"""Run a graph on values: each primitive's ``impl`` on its arguments' values.

Used by guarded specialisation (``tracing/guards.py``): a decision on a traced
value is answered by evaluating the node from the known input values.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir.graph import Node
from ..primitives import PRIMS


class NoValue(Exception):
    """A node depends on an input whose value is not known (a tangent, a cotangent...)."""


def evaluate(node: Node, vals: dict[int, tuple], source: Callable[[Node], Node | None]) -> np.ndarray:
    """Return the value of node, memoising every value computed in ``vals`` (raises NoValue).

    ``vals`` maps id(node) -> (node, value) (the node is kept alive); an input without a
    value is read from ``source(input)``, another node standing for it, or raises NoValue
    when ``source`` gives None.
    """
    hit = vals.get(id(node))
    if hit is not None:
        return hit[1]
    order = _unknown_ancestors(node, vals, source)
    with np.errstate(all="ignore"):  # once for the walk, not per node (a long loop evaluates 10^4 nodes)
        for n in order:
            if id(n) in vals:
                continue
            if n.op == "const":
                v = np.asarray(n.value)
            elif n.op == "input":
                v = vals[id(source(n))][1]
            else:
                args = [vals[id(a)][1] for a in n.args]
                v = PRIMS[n.op].impl(*args, **dict(n.params)) if n.params else PRIMS[n.op].impl(*args)
                v = np.asarray(v, dtype=n.dtype)
                if v.shape != n.shape:
                    v = np.broadcast_to(v, n.shape)
            vals[id(n)] = (n, v)
    return vals[id(node)][1]


def _unknown_ancestors(node: Node, vals: dict, source: Callable) -> list[Node]:
    """Return node's ancestors whose values are not known yet, in post-order (raises NoValue)."""
    order, stack, seen = [], [(node, False)], set()
    while stack:
        n, expanded = stack.pop()
        if expanded:
            order.append(n)
            continue
        if id(n) in seen or id(n) in vals:
            continue
        seen.add(id(n))
        stack.append((n, True))
        if n.op == "input":
            outer = source(n)
            if outer is None:
                raise NoValue(n)
            stack.append((outer, False))
        else:
            stack.extend((a, False) for a in reversed(n.args))
    return order
