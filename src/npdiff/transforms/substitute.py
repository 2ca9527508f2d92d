"""Rebuild a graph with some nodes replaced (wiring a traced function's inputs to other nodes)."""
from __future__ import annotations

from ..ir.graph import Node, intern, toposort
from ..primitives.registry import apply


def substitute(outputs: list, mapping: dict[int, Node], rebuilt: dict | None = None) -> list:
    """Return outputs rebuilt with nodes replaced by ``mapping`` (id -> node); None stays None.

    When the mapping only renames inputs (each replaced input becomes a distinct
    input of the same shape and dtype that the graph does not already use), the
    rebuilt graph is isomorphic to the old one and was already simplified, so
    nodes are re-interned directly instead of going through ``apply`` again.
    ``rebuilt`` (id -> trace position, ``Node.uid``) gets an entry for each rebuilt
    node: the position of the node it stands for (``transforms/loops.py`` orders by it).
    """
    memo = dict(mapping)
    order = toposort(outputs)
    rename = _renames(order, mapping)
    for node in order:
        if id(node) in memo:
            continue
        if node.op in ("const", "input"):
            memo[id(node)] = node
            continue
        new_args = tuple(memo[id(a)] for a in node.args)
        if all(n is o for n, o in zip(new_args, node.args)):
            memo[id(node)] = node
            continue
        if rename:
            memo[id(node)] = new = intern(node.op, new_args, node.params, node.shape, node.dtype)
        else:
            memo[id(node)] = new = apply(node.op, *new_args, **node.p)
        if rebuilt is not None and new is not node:
            rebuilt.setdefault(id(new), rebuilt.get(id(node), node.uid))
    return [None if o is None else memo[id(o)] for o in outputs]


def _renames(order: list, mapping: dict[int, Node]) -> bool:
    """Return True if mapping replaces inputs by distinct, unused inputs of the same shape and dtype."""
    targets = list(mapping.values())
    if any(t.op != "input" for t in targets) or len({id(t) for t in targets}) != len(targets):
        return False
    tids = {id(t) for t in targets}
    for node in order:
        if id(node) in tids:
            return False
        new = mapping.get(id(node))
        if new is not None and (node.op != "input" or new.shape != node.shape or new.dtype != node.dtype):
            return False
    return True
