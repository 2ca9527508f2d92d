"""Structural sparsity of Jacobians, found from the graph.

Each node gets an index-set ``Pattern`` (indexsets.py): per element, the
sorted input elements it may depend on, stored CSR-like. Patterns are
propagated in topological order by each primitive record's ``sparsity`` rule;
constants, inputs other than ``wrt`` and zero-derivative primitives depend on
nothing. Rules are conservative (a pattern may have entries whose derivative
happens to be zero, never miss one). The colourings that turn a pattern into
few jvp / vjp passes are in colouring.py.
"""
from __future__ import annotations

from ..ir.graph import Node, toposort
from ..ir.indexsets import DENSE, Pattern, TooLarge, empty, identity, set_limit, union
from ..primitives import PRIMS
from .colouring import colour_columns, colour_symmetric  # noqa: F401 - re-exported

MAX_NNZ = 1 << 22  # patterns of dense Jacobians give up (None) above this many entries per node
MAX_NNZ_SPARSE = 1 << 26  # the same limit when a sparse result is asked for


def dependency(outputs: list[Node], wrt: Node, max_nnz: int = MAX_NNZ) -> list[Pattern] | None:
    """Return, per output, its Pattern (out.size rows, wrt.size columns), or None if too large."""
    n = wrt.size
    pats: dict[int, Pattern | None] = {id(wrt): identity(n)}
    old = set_limit(max_nnz)
    try:
        for node in toposort(outputs, stop=[wrt]):
            if id(node) in pats:
                continue
            args = [pats.get(id(a)) for a in node.args]
            if node.op in ("const", "input") or all(a is None for a in args) or PRIMS[node.op].nondiff:
                pats[id(node)] = None
                continue
            rec = PRIMS[node.op]
            rule = rec.sparsity or DENSE  # tests/test_registry.py: every primitive decides
            pats[id(node)] = rule(node, args, rec) if getattr(rule, "wants_record", False) else rule(node, args)
    except TooLarge:
        return None
    finally:
        set_limit(old)
    return [pats.get(id(o)) or empty(o.size, n) for o in outputs]


def symmetrised(P: Pattern) -> Pattern:
    """Return P, or its union with its transpose when P is not symmetric (a Hessian's pattern)."""
    T = P.transpose()
    return P if P.same(T) else union([P, T])
