"""Forward mode: push (batched) tangents through a graph."""
from __future__ import annotations

from ..errors import UnsupportedOperationError
from ..ir.graph import Node, toposort
from ..primitives import PRIMS


def jvp_nodes(outputs: list, wrt: list[Node], tangents: list, nb: int = 0) -> list:
    """Return the tangents of ``outputs`` given tangents of the ``wrt`` nodes.

    Tangents have ``nb`` leading batch axes before the primal shape; None is a
    symbolic zero (and is returned for outputs that do not depend on wrt).
    """
    tan: dict[Node, Node | None] = {}  # nodes hash by identity
    for w, t in zip(wrt, tangents):
        if t is not None and t.shape[nb:] != w.shape:
            raise ValueError(f"tangent shape {t.shape} does not match primal shape {w.shape}")
        tan[w] = t
    get = tan.get
    for node in _needed_order([o for o in outputs if o is not None], wrt):
        if node in tan:
            continue
        if node.op in ("const", "input"):
            tan[node] = None
            continue
        ts = [get(a) for a in node.args]
        if all(t is None for t in ts):
            tan[node] = None
            continue
        prim = PRIMS[node.op]
        if prim.nondiff:
            tan[node] = None
            continue
        if prim.jvp is None:
            raise UnsupportedOperationError(f"npdiff has no forward-mode rule for primitive {node.op!r}")
        t = prim.jvp(ts, *node.args, out=node, nb=nb, **dict(node.params))
        if t is not None:
            want = t.shape[:nb] + node.shape
            if t.shape != want:
                raise AssertionError(f"jvp rule of {node.op} gave shape {t.shape}, expected {want}")
        tan[node] = t
    return [None if o is None else tan.get(o) for o in outputs]


def _needed_order(outputs: list, wrt: list) -> list:
    """Return the nodes whose tangents are needed, arguments first.

    A primitive may declare that its jvp needs only some argument tangents
    (custom rules): the other arguments are not visited.
    """
    def args_of(node):
        if node.op in ("const", "input"):
            return ()
        prim = PRIMS[node.op]
        if prim.diff_args is None:
            return node.args
        return [node.args[i] for i in prim.diff_args(node)]
    return toposort(outputs, stop=wrt, args_of=args_of)
