"""Rebuild a graph with some nodes replaced (wiring a traced function's inputs to other nodes)."""
from __future__ import annotations

from ..graph import Node, toposort
from ..primitives.registry import apply


def substitute(outputs: list, mapping: dict[int, Node]) -> list:
    """Return outputs rebuilt with nodes replaced by ``mapping`` (id -> node); None stays None."""
    memo = dict(mapping)
    for node in toposort(outputs):
        if id(node) in memo:
            continue
        if node.op in ("const", "input"):
            memo[id(node)] = node
            continue
        new_args = tuple(memo[id(a)] for a in node.args)
        if all(n is o for n, o in zip(new_args, node.args)):
            memo[id(node)] = node
        else:
            memo[id(node)] = apply(node.op, *new_args, **node.p)
    return [None if o is None else memo[id(o)] for o in outputs]
