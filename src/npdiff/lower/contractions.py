"""Products and contractions: matmul, dot, vdot, inner, outer, tensordot, einsum, kron,
cross, vecdot; the diagonal family (trace, diagonal, diag, diagflat, triu, tril).
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import const
from ..primitives import apply
from ..primitives.contract import fresh
from ..primitives.helpers import stack_nodes, zeros
from ..tracing.tracer import FUNCTIONS, METHODS, UFUNCS, declare, implements
from ._common import (
    LETTERS,
    N,
    W,
    axis_index,
    full_slices,
    moveaxis_last,
    register_ufunc,
    take_along,
)

UFUNCS[np.matmul] = declare(lambda a, b, **kw: matmul(a, b))
UFUNCS[(np.multiply, "outer")] = declare(lambda a, b, **kw: _outer_full(a, b))
UFUNCS[(np.subtract, "outer")] = declare(lambda a, b, **kw: _outer_op(a, b, np.subtract))
UFUNCS[(np.add, "outer")] = declare(lambda a, b, **kw: _outer_op(a, b, np.add))


def _outer_op(a, b, ufunc):
    a, b = N(a), N(b)
    a2 = apply("reshape", a, shape=a.shape + (1,) * b.ndim)
    return ufunc(W(a2), W(b))


def _outer_full(a, b):
    return _outer_op(a, b, np.multiply)


L = LETTERS


def matmul(a, b):
    a, b = N(a), N(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    if a.ndim == 1 and b.ndim == 1:
        return W(apply("einsum", a, b, spec="i,i->"))
    if b.ndim == 1:
        sa = L[: a.ndim]
        return W(apply("einsum", a, b, spec=f"{sa},{sa[-1]}->{sa[:-1]}"))
    if a.ndim == 1:
        sb = L[: b.ndim]
        return W(apply("einsum", a, b, spec=f"{sb[-2]},{sb}->{sb[:-2]}{sb[-1]}"))
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    nbt = len(batch)
    if a.ndim > 2 and a.shape[:-2] != batch:
        a = apply("broadcast_to", a, shape=batch + a.shape[-2:])
    if b.ndim > 2 and b.shape[:-2] != batch:
        b = apply("broadcast_to", b, shape=batch + b.shape[-2:])
    bl = L[:nbt]
    i, k, j = L[nbt: nbt + 3]
    sa = (bl if a.ndim > 2 else "") + i + k
    sb = (bl if b.ndim > 2 else "") + k + j
    return W(apply("einsum", a, b, spec=f"{sa},{sb}->{bl}{i}{j}"))


@implements(np.dot, honours=())
def dot(a, b, out=None):
    a, b = N(a), N(b)
    if a.ndim == 0 or b.ndim == 0:
        return W(apply("multiply", a, b))
    if b.ndim == 1 or a.ndim == 1 or (a.ndim == 2 and b.ndim == 2):
        return matmul(a, b)
    sa = L[: a.ndim]
    rest = L[a.ndim: a.ndim + b.ndim - 1]
    sb = rest[:-1] + sa[-1] + rest[-1]
    return W(apply("einsum", a, b, spec=f"{sa},{sb}->{sa[:-1]}{rest}"))


METHODS["dot"] = dot


@implements(np.vdot)
def vdot(a, b):
    a, b = N(a), N(b)
    if a.dtype.kind == "c":  # np.vdot conjugates its first argument
        a = apply("conj", a)
    return W(apply("einsum", apply("reshape", a, shape=(a.size,)), apply("reshape", b, shape=(b.size,)),
                   spec="i,i->"))


@implements(np.inner)
def inner(a, b):
    a, b = N(a), N(b)
    if a.ndim == 0 or b.ndim == 0:
        return W(apply("multiply", a, b))
    sa = L[: a.ndim]
    sb = L[a.ndim: a.ndim + b.ndim - 1] + sa[-1]
    return W(apply("einsum", a, b, spec=f"{sa},{sb}->{sa[:-1]}{sb[:-1]}"))


@implements(np.outer, honours=())
def outer(a, b, out=None):
    a, b = N(a), N(b)
    return W(apply("einsum", apply("reshape", a, shape=(a.size,)), apply("reshape", b, shape=(b.size,)),
                   spec="i,j->ij"))


@implements(np.tensordot, honours=("axes",))
def tensordot(a, b, axes=2):
    a, b = N(a), N(b)
    if isinstance(axes, (int, np.integer)):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
        ax_a = [axis_index(x, a.ndim) for x in ax_a]
        ax_b = [axis_index(x, b.ndim) for x in ax_b]
        if len(ax_a) != len(ax_b):
            raise ValueError("shape-mismatch for sum")
    sa = L[: a.ndim]
    sb = list(L[a.ndim: a.ndim + b.ndim])
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    sb = "".join(sb)
    out = "".join(c for i, c in enumerate(sa) if i not in ax_a) + "".join(
        c for j, c in enumerate(sb) if j not in ax_b)
    return W(apply("einsum", a, b, spec=f"{sa},{sb}->{out}"))


def _sublist_spec(args):
    """Return (subscripts string, operands) of np.einsum's sublist form (op0, [0, 1], op1, [1, 2], [0, 2])."""
    args = list(args)
    letters = LETTERS + LETTERS.upper()

    def sub(lst):
        out = []
        for k in lst:
            if k is Ellipsis:
                out.append("...")
            else:
                k = int(k)
                if not 0 <= k < len(letters):
                    raise ValueError(f"subscript is not within the valid range [0, {len(letters)})")
                out.append(letters[k])
        return "".join(out)
    ops, subs = [], []
    while len(args) >= 2:
        ops.append(args.pop(0))
        subs.append(sub(args.pop(0)))
    spec = ",".join(subs) + ("->" + sub(args[0]) if args else "")
    return spec, ops


@implements(np.einsum, honours=("optimize", "order", "dtype", "casting"))
def einsum(subscripts, *operands, out=None, optimize=False, dtype=None, casting="safe", order="K"):
    if not isinstance(subscripts, str):
        subscripts, operands = _sublist_spec((subscripts, *operands))
    nodes = [N(o) for o in operands]
    if dtype is not None:
        dt = np.dtype(dtype)
        for n in nodes:
            if not np.can_cast(n.dtype, dt, casting=casting):
                raise TypeError(f"Cannot cast array data from {n.dtype!r} to {dt!r} according to the rule {casting!r}")
        nodes = [n if n.dtype == dt else apply("convert", n, dtype=dt) for n in nodes]
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        ins, o = spec.split("->")
    else:
        ins, o = spec, None
    ins = ins.split(",")
    used = set(spec)
    if "..." in spec:
        nell = max(n.ndim - (len(s) - 3) for s, n in zip(ins, nodes) if "..." in s)
        ell = fresh(used, nell)
        bshape = np.broadcast_shapes(*[n.shape[s.index("..."): n.ndim - (len(s) - s.index("...") - 3)]
                                       for s, n in zip(ins, nodes) if "..." in s])
        new_ins = []
        for k, (s, n) in enumerate(zip(ins, nodes)):
            if "..." in s:
                m = n.ndim - (len(s) - 3)
                pre, post = s.split("...")
                full = pre + ell[nell - m:] + post
                target = n.shape[:len(pre)] + bshape[len(bshape) - m:] + n.shape[len(pre) + m:]
                if target != n.shape:
                    nodes[k] = apply("broadcast_to", n, shape=target)
                new_ins.append(full)
            else:
                new_ins.append(s)
        ins = new_ins
        if o is not None:
            o = o.replace("...", ell)
    if o is None:
        counts = {}
        for s in ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        o = "".join(sorted(c for c, k in counts.items() if k == 1))
    return W(apply("einsum", *nodes, spec=",".join(ins) + "->" + o))


@implements(np.trace, honours=("offset", "axis1", "axis2", "dtype"))
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    d = diagonal(a, offset=offset, axis1=axis1, axis2=axis2)
    return FUNCTIONS[np.sum](d, axis=-1, dtype=dtype)


@implements(np.diagonal, honours=("offset", "axis1", "axis2"))
def diagonal(a, offset=0, axis1=0, axis2=1):
    x = N(a)
    axis1, axis2 = axis_index(axis1, x.ndim), axis_index(axis2, x.ndim)
    rest = [i for i in range(x.ndim) if i not in (axis1, axis2)]
    x = apply("transpose", x, perm=tuple(rest) + (axis1, axis2))
    n, m = x.shape[-2:]
    lead = full_slices(x.shape[:-2])
    if offset > 0:
        x = apply("gather", x, index=lead + (("s", 0, n, 1), ("s", min(offset, m), m, 1)))
    elif offset < 0:
        x = apply("gather", x, index=lead + (("s", min(-offset, n), n, 1),))
    k = min(x.shape[-2:])
    x = apply("gather", x, index=lead + (("s", 0, k, 1), ("s", 0, k, 1)))
    s = L[: x.ndim - 2]
    return W(apply("einsum", x, spec=f"{s}yy->{s}y"))


METHODS["trace"], METHODS["diagonal"] = trace, diagonal  # ndarray.trace(offset, axis1, ...) = np.trace(a, offset, ...)


@implements(np.diag, honours=("k",))
def diag(v, k=0):
    x = N(v)
    if x.ndim == 2:
        return diagonal(W(x), offset=k)
    if x.ndim != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = x.shape[0] + abs(k)
    if k == 0:
        return W(apply("einsum", x, const(np.eye(n, dtype=x.dtype)), spec="i,ij->ij"))
    rows = np.arange(x.shape[0]) + max(-k, 0)
    cols = np.arange(x.shape[0]) + max(k, 0)
    return W(apply("set_index", zeros((n, n), x.dtype), x, const(rows), const(cols),
                   index=(("a", 0), ("a", 1))))


@implements(np.triu, honours=("k",))
def triu(m, k=0):
    x = N(m)
    mask = np.triu(np.ones(x.shape[-2:], dtype=bool), k)
    return W(apply("where", const(mask), x, 0.0))


@implements(np.tril, honours=("k",))
def tril(m, k=0):
    x = N(m)
    mask = np.tril(np.ones(x.shape[-2:], dtype=bool), k)
    return W(apply("where", const(mask), x, 0.0))


def _vecdot(a, b, axis=-1, **kw):
    a = N(a)
    if a.dtype.kind == "c":  # np.vecdot conjugates its first argument
        a = apply("conj", a)
    prod = apply("multiply", a, N(b))
    return W(apply("reduce_sum", prod, axes=(axis_index(axis, prod.ndim),)))


    prod = apply("multiply", N(a), N(b))
    return W(apply("reduce_sum", prod, axes=(axis_index(axis, prod.ndim),)))


register_ufunc(getattr(np, "vecdot", None), declare(_vecdot, ("axis",)))
register_ufunc(getattr(np, "matvec", None), declare(lambda a, v, **kw: FUNCTIONS[np.einsum]("...ij,...j->...i", a, v)))
register_ufunc(getattr(np, "vecmat", None), declare(lambda v, a, **kw: FUNCTIONS[np.einsum]("...i,...ij->...j", v, a)))


@implements(np.kron)
def kron(a, b):
    x, y = N(a), N(b)
    nd = max(x.ndim, y.ndim)
    x = apply("reshape", x, shape=(1,) * (nd - x.ndim) + x.shape)
    y = apply("reshape", y, shape=(1,) * (nd - y.ndim) + y.shape)
    sa, sb = LETTERS[0:2 * nd:2], LETTERS[1:2 * nd:2]
    out = apply("einsum", x, y, spec=f"{sa},{sb}->{LETTERS[:2 * nd]}")
    return W(apply("reshape", out, shape=tuple(p * q for p, q in zip(x.shape, y.shape))))


@implements(np.cross, honours=("axisa", "axisb", "axisc", "axis"))
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    x, y = N(a), N(b)
    x, _ = moveaxis_last(x, axis_index(axisa, x.ndim))
    y, _ = moveaxis_last(y, axis_index(axisb, y.ndim))
    na, nb = x.shape[-1], y.shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    xs = [take_along(x, x.ndim - 1, i) for i in range(na)] + ([const(0.0)] if na == 2 else [])
    ys = [take_along(y, y.ndim - 1, i) for i in range(nb)] + ([const(0.0)] if nb == 2 else [])

    def term(i, j):
        return apply("subtract", apply("multiply", xs[i], ys[j]), apply("multiply", xs[j], ys[i]))
    if na == 2 and nb == 2:
        return W(term(0, 1))
    comps = [term(1, 2), term(2, 0), term(0, 1)]
    out = stack_nodes(comps, axis=len(np.broadcast_shapes(*[c.shape for c in comps])))
    ax = axis_index(axisc, out.ndim)
    if ax != out.ndim - 1:
        perm = list(range(out.ndim - 1))
        perm.insert(ax, out.ndim - 1)
        out = apply("transpose", out, perm=tuple(perm))
    return W(out)


if hasattr(np.linalg, "cross") and np.linalg.cross not in FUNCTIONS:
    @implements(np.linalg.cross, honours=("axis",))
    def linalg_cross(x1, x2, /, *, axis=-1):
        if N(x1).shape[axis] != 3 or N(x2).shape[axis] != 3:
            raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors")
        return cross(x1, x2, axis=axis)


@implements(np.diagflat, honours=("k",))
def diagflat(v, k=0):
    x = N(v)
    return FUNCTIONS[np.diag](W(apply("reshape", x, shape=(x.size,))), k)
