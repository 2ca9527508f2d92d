"""Tensor contraction: one multilinear ``einsum`` primitive with explicit
subscripts (no ellipsis). dot, matmul, tensordot, inner, outer, trace and
diagonal all lower onto it; the printer turns common patterns back into
``@``, ``np.tensordot`` or ``np.multiply.outer`` so BLAS is used.
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import const
from ..ir.indexsets import EINSUM
from ..ir.specs import LETTERS, fresh, parse  # noqa: F401  (public here too)
from .helpers import add_any
from .registry import Primitive, apply, register


def _rule(*xs, spec):
    ins, out = parse(spec)
    sizes = {}
    for sub, x in zip(ins, xs):
        if len(sub) != x.ndim:
            raise ValueError(f"einsum subscripts {sub!r} do not match shape {x.shape}")
        for c, d in zip(sub, x.shape):
            if sizes.setdefault(c, d) != d:
                raise ValueError(f"einsum size mismatch for {c!r}: {sizes[c]} vs {d}")
    return tuple(sizes[c] for c in out), np.result_type(*[x.dtype for x in xs])


def _impl(*xs, spec):
    return np.einsum(spec, *xs, optimize=len(xs) > 2)


def _jvp(ts, *xs, out, nb, spec):
    ins, o = parse(spec)
    total = None
    for i, t in enumerate(ts):
        if t is None:
            continue
        b = fresh(spec, nb)
        new_ins = [b + s if j == i else s for j, s in enumerate(ins)]
        args = [t if j == i else x for j, x in enumerate(xs)]
        total = add_any(total, apply("einsum", *args, spec=",".join(new_ins) + "->" + b + o))
    return total


def _transpose(ct, *xs, lin, nb, spec):
    ins, o = parse(spec)
    res = []
    for i, x in enumerate(xs):
        if not lin[i]:
            res.append(None)
            continue
        b = fresh(spec, nb)
        target = ins[i]
        operands, subs = [ct], [b + o]
        for j, y in enumerate(xs):
            if j != i:
                operands.append(y)
                subs.append(ins[j])
        used = set(spec) | set(b)
        seen, out_sub = {}, ""
        for pos, c in enumerate(target):
            if c in seen:  # repeated letter: the adjoint lives on a diagonal
                n = fresh(used, 1)
                used.add(n)
                operands.append(const(np.eye(x.shape[pos], dtype=ct.dtype)))
                subs.append(c + n)
                out_sub += n
            else:
                seen[c] = pos
                out_sub += c
        present = set("".join(subs))
        for pos, c in enumerate(out_sub):
            if c not in present:  # summed only within this operand: broadcast
                operands.append(const(np.ones(x.shape[pos], dtype=ct.dtype)))
                subs.append(c)
        res.append(apply("einsum", *operands, spec=",".join(subs) + "->" + b + out_sub))
    return res


def _simplify(*xs, shape, dtype, spec):
    ins, o = parse(spec)
    if len(xs) == 2 and ins[0] == ins[1] and xs[0].uid > xs[1].uid:  # canonical order: a.b is b.a
        return apply("einsum", xs[1], xs[0], spec=spec)
    if len(xs) > 1 and "" in ins:  # a 0-d operand is a plain scale factor
        k = ins.index("")
        rest = [x for j, x in enumerate(xs) if j != k]
        rest_ins = [s for j, s in enumerate(ins) if j != k]
        inner = apply("einsum", *rest, spec=",".join(rest_ins) + "->" + o)
        return apply("multiply", inner, xs[k])
    if any(x.op == "negative" for x in xs):  # -(a) b -> -(a b): the sign moves out, where + and - absorb it
        inner = apply("einsum", *[x.args[0] if x.op == "negative" else x for x in xs], spec=spec)
        return apply("negative", inner) if sum(x.op == "negative" for x in xs) % 2 else inner
    if len(xs) == 1 and ins[0] == o:
        return xs[0]
    if len(xs) == 1 and sorted(ins[0]) == sorted(o) and len(set(o)) == len(o):
        return apply("transpose", xs[0], perm=tuple(ins[0].index(c) for c in o))
    if len(xs) == 1 and len(set(ins[0])) == len(ins[0]):
        axes = tuple(i for i, c in enumerate(ins[0]) if c not in o)
        rest = "".join(c for c in ins[0] if c in o)
        y = apply("reduce_sum", xs[0], axes=axes)
        return apply("einsum", y, spec=f"{rest}->{o}")
    for x in xs:  # a zero operand makes the whole product zero
        from .helpers import is_zero_const, zeros
        if is_zero_const(x):
            return zeros(shape, dtype)
    return None


def _scalar_cost(node):
    """Return the number of product terms of the unrolled contraction (one per index combination)."""
    sizes = {}
    for sub, a in zip(parse(node.p["spec"])[0], node.args):
        sizes.update(zip(sub, a.shape))
    return int(np.prod(list(sizes.values())))


register(Primitive("einsum", _rule, _impl, lambda names, node: emit_einsum(names, node),
                   jvp=_jvp, transpose=_transpose, linear=True, simplify=_simplify, short="dot",
                   owns=lambda node: len(node.args) > 1,  # one operand may come back as a view
                   elementwise=False, sparsity=EINSUM, scalar=lambda em, node: em.einsum(node), scalar_cost=_scalar_cost))


def emit_einsum(names, node):
    """Return NumPy source for an einsum node, using @ or tensordot when possible."""
    spec = node.p["spec"]
    ins, o = parse(spec)
    xs = node.args
    if len(xs) == 2:
        expr = _as_matmul(ins, o, names, xs)
        if expr is not None:
            if _outer_of_columns(ins, o, xs):  # (m, 1) @ (1, n): one product per element, no BLAS call
                expr = expr.replace(" @ ", " * ")
            return expr
        a, b = ins
        shared = set(a) & set(b)
        if not (shared & set(o)) and len(set(a)) == len(a) and len(set(b)) == len(b) \
                and all(c in o or c in shared for c in a + b):
            summed = [c for c in a if c in shared]  # in a's order: a set's order varies with the hash seed
            ka = [a.index(c) for c in summed]
            kb = [b.index(c) for c in summed]
            free = "".join(c for c in a if c not in shared) + "".join(c for c in b if c not in shared)
            if not shared:
                expr = f"np.multiply.outer({names[0]}, {names[1]})"
            else:
                expr = f"np.tensordot({names[0]}, {names[1]}, ({_tup(ka)}, {_tup(kb)}))"
            if free != o:
                expr += f".transpose({tuple(free.index(c) for c in o)})"
            return expr
    opt = ", optimize=True" if len(xs) > 2 else ""
    return f"np.einsum('{spec}', {', '.join(names)}{opt})"


def _outer_of_columns(ins, o, xs):
    """Return True for a product of two matrices over one axis of length 1 (an outer product)."""
    a, b = ins
    if len(a) != 2 or len(b) != 2 or len(o) != 2:
        return False
    shared = set(a) & set(b)
    if len(shared) != 1:
        return False
    k = shared.pop()
    return xs[0].shape[a.index(k)] == 1 and k not in o


def _tup(v):
    return "(" + ", ".join(map(str, v)) + ("," if len(v) == 1 else "") + ")"


def _as_matmul(ins, o, names, xs):
    """Return 'a @ b' style source if the contraction is a matrix product."""
    for (sa, na), (sb, nb_) in (((ins[0], names[0]), (ins[1], names[1])),
                               ((ins[1], names[1]), (ins[0], names[0]))):
        for ta in (False, True):
            for tb in (False, True):
                a = sa[::-1] if ta else sa
                b = sb[::-1] if tb else sb
                if (ta and len(a) != 2) or (tb and len(b) != 2):
                    continue
                if _matmul_out(a, b) == o:
                    ea = f"{na}.T" if ta else na
                    eb = f"{nb_}.T" if tb else nb_
                    return f"{ea} @ {eb}"
    return None


def _matmul_out(a, b):
    """Return the output subscripts of a @ b, or None if not a plain matmul."""
    if not a or not b or len(set(a)) != len(a) or len(set(b)) != len(b):
        return None
    if len(b) == 1:
        k = b[0]
        if a[-1] != k or k in a[:-1]:
            return None
        return a[:-1]
    if len(a) == 1:
        k = a[0]
        if b[-2] != k or k in b[-1:] or len(b) > 2:
            return None
        return b[:-2] + b[-1]
    k = a[-1]
    if b[-2] != k:
        return None
    ba, bb = a[:-2], b[:-2]
    if len(bb) > len(ba):
        return None
    if ba[len(ba) - len(bb):] != bb:
        return None
    if bb and ba != bb:  # b's batch letters, if any, are exactly a's
        return None
    i, j = a[-2], b[-1]
    if i == j or k in (i, j) or i in ba or j in ba:
        return None
    return ba + i + j
