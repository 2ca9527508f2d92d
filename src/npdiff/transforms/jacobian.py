"""The Jacobian planner: seeds (a basis, or a colouring of the sparsity pattern), passes, assembly.

``jacobian_blocks`` gives, per output and per input, the Jacobian block as graph
nodes: from plain jvp (forward) or vjp (reverse) passes over an identity basis,
or, when the structural sparsity pattern (``sparsity.py``) allows, from few
passes over coloured seeds (``colouring.py``), whose compressed products are
scattered into place (or into CSR arrays for ``sparse=True``).
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import Node, const, toposort
from ..ir.indexsets import stack_rows
from ..primitives import apply  # "to_csr" (sparse=True output) is primitives/sparse.py
from ..primitives.helpers import zeros
from . import sparsity as pattern
from .jvp import jvp_nodes
from .vjp import vjp_nodes


def jacobian_blocks(leaves: list[Node], wrt: list[Node], mode: str, sparse: bool = False,
                    symmetric: bool = False) -> list[list[Node]]:
    """Return blocks[i][j]: the Jacobian of output leaf i w.r.t. wrt[j] (out.shape + in.shape).

    ``mode`` is "fwd", "rev" or "auto" (chosen by sizes and sparsity). When the
    structural sparsity pattern allows, the Jacobian is computed from a
    compressed one (a colouring: few jvp or vjp passes) and scattered into
    place; with ``sparse=True`` blocks are CSR matrices of shape (out.size, in.size).
    ``symmetric`` says a single output of wrt's shape is a gradient (a Hessian
    is asked for): its symmetry then allows a star colouring, with fewer passes.
    """
    blocks = [[None] * len(wrt) for _ in leaves]
    for j, w in enumerate(wrt if leaves else ()):  # no outputs (np.unstack of an empty axis): no blocks
        block = plan(leaves, w, mode, sparse, symmetric)
        for i, o in enumerate(leaves):
            blocks[i][j] = block(i, o)
    return blocks


def basis(node: Node) -> Node:
    """Return the identity seeds of node: shape (node.size,) + node.shape."""
    n = node.size
    return const(np.eye(n, dtype=node.dtype).reshape((n,) + node.shape))


def to_jac(t: Node, out: Node, inp: Node, batch_first_is_input: bool) -> Node:
    """Return a (batch, ...) block reshaped to out.shape + in.shape."""
    if t is None:
        return zeros(out.shape + inp.shape, out.dtype)
    if batch_first_is_input:  # t: (in.size,) + out.shape
        t = apply("transpose", t, perm=tuple(range(1, t.ndim)) + (0,))
        return apply("reshape", t, shape=out.shape + inp.shape)
    return apply("reshape", t, shape=out.shape + inp.shape)  # t: (out.size,) + in.shape


COLOUR_RATIO = 0.75  # use a colouring when it needs at most this fraction of the plain passes


def plan(leaves, w, mode, sparse, symmetric=False):
    """Return a function (leaf index, leaf) -> Jacobian block of that leaf w.r.t. w."""
    n, m = w.size, sum(l.size for l in leaves)
    deps = pattern.dependency(leaves, w, pattern.MAX_NNZ_SPARSE if sparse else pattern.MAX_NNZ)
    if deps is None and sparse:
        raise ValueError("the sparsity pattern is too large to compute (more than "
                         f"{pattern.MAX_NNZ_SPARSE} entries in one node's pattern)")
    if mode == "auto" and any(node.op == "custom_vjp_out" for node in toposort(leaves, stop=[w])):
        mode = "rev"  # a custom_vjp function has no forward mode
    fwd_cols = rev_rows = None
    if deps is not None:
        P = deps[0] if len(deps) == 1 else stack_patterns(deps)
        if symmetric and len(leaves) == 1 and leaves[0].shape == w.shape:  # a Hessian
            deps = [pattern.symmetrised(P)]  # a superset of the true pattern is symmetric too
            fwd_cols = pattern.colour_symmetric(deps[0])
        else:
            fwd_cols = pattern.colour_columns(P)
    if mode == "auto":
        if deps is not None and fwd_cols[0] <= max_column_count(deps):
            mode = "fwd"  # no row colouring can need fewer passes than this column colouring
        elif deps is not None:
            rev_rows = [pattern.colour_columns(d.transpose()) for d in deps]
            mode = "fwd" if fwd_cols[0] <= sum(r[0] for r in rev_rows) else "rev"
        else:
            mode = "fwd" if n <= m else "rev"
    if mode == "rev" and deps is not None and rev_rows is None:
        rev_rows = [pattern.colour_columns(d.transpose()) for d in deps]
    if mode == "fwd":
        use = deps is not None and (sparse or fwd_cols[0] <= COLOUR_RATIO * n)
        if not use:
            ts = jvp_nodes(leaves, [w], [basis(w)], nb=1)
            return lambda i, o: to_jac(ts[i], o, w, True)
        p, colour = fwd_cols[:2]
        seeds = np.zeros((p, n), dtype=w.dtype)
        seeds[colour, np.arange(n)] = 1
        seeds.flags.writeable = False  # a fresh array: const() need not copy it
        ts = jvp_nodes(leaves, [w], [const(seeds.reshape((p,) + w.shape))], nb=1)

        def block(i, o):
            rows, cols = deps[i].rows(), deps[i].indices
            C = apply("reshape", ts[i], shape=(p, o.size)) if ts[i] is not None else None
            if len(fwd_cols) == 4:  # star colouring of a Hessian: entries read from row or column
                return assemble(C, fwd_cols[2], fwd_cols[3], deps[i], o, w, sparse)
            return assemble(C, colour[cols], rows, deps[i], o, w, sparse)
        return block

    def block(i, o):
        if deps is None or not (sparse or rev_rows[i][0] <= COLOUR_RATIO * o.size):
            (c,) = vjp_nodes([o], [w], [basis(o)], nb=1)
            return to_jac(c, o, w, False)
        p, colour = rev_rows[i]
        seeds = np.zeros((p, o.size), dtype=o.dtype)
        seeds[colour, np.arange(o.size)] = 1
        (c,) = vjp_nodes([o], [w], [const(seeds.reshape((p,) + o.shape))], nb=1)
        rows, cols = deps[i].rows(), deps[i].indices
        C = apply("reshape", c, shape=(p, n)) if c is not None else None
        return assemble(C, colour[rows], cols, deps[i], o, w, sparse)
    return block


def frozen(a):
    """Return the constant node of an int64 index array, frozen in place rather than copied."""
    a = np.asarray(a, dtype=np.int64)
    a.flags.writeable = False
    return const(a)


def max_column_count(deps):
    """Return the most entries of one column in any pattern (a lower bound on row colourings)."""
    return max((int(np.bincount(d.indices, minlength=1).max()) for d in deps), default=0)


def stack_patterns(deps):
    """Return the patterns of several outputs stacked row-wise (one Jacobian over all outputs)."""
    return stack_rows(deps)


def assemble(C, first, second, pat, o, w, sparse):
    """Return the Jacobian (pattern ``pat``) from compressed values C[first, second]."""
    n = w.size
    if C is None or pat.nnz == 0:
        vals = zeros((pat.nnz,), o.dtype)
    else:
        width = C.shape[1]  # one flat index: a 1-D take costs a third of a 2-D fancy gather
        flatC = apply("reshape", C, shape=(C.shape[0] * width,))
        vals = apply("gather", flatC, frozen(np.asarray(first, np.int64) * width + second), index=(("a", 0),))
    if sparse:
        return apply("to_csr", vals, frozen(pat.indices), frozen(pat.indptr), shape=(o.size, n))
    flat = apply("scatter_add", vals, const(pat.rows() * n + pat.indices), index=(("a", 0),),
                 shape=(o.size * n,))
    return apply("reshape", flat, shape=o.shape + w.shape)
