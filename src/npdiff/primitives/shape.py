"""Structural primitives: reductions, broadcasting, reshaping, transposition,
concatenation and cumulative sums. All but the max/min reductions are linear.
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import broadcast_shapes
from ..ir.indexsets import INDEX_MAP, PREFIX, REDUCE
from . import ops
from .helpers import align, dtype_kw, shift_axes, sum_to, zeros
from .registry import NOT_SCALAR, Primitive, apply, register


def _axes_str(axes):
    return str(axes[0]) if len(axes) == 1 else str(tuple(axes))


def _reduced_shape(shape, axes):
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


# -- reduce_sum ----------------------------------------------------------------

def _sum_rule(x, axes):
    dt = np.sum(np.ones((1,), x.dtype)).dtype
    return _reduced_shape(x.shape, axes), dt


def _emit_sum(names, node):
    x = node.args[0]
    axes = node.p["axes"]
    if len(axes) == x.ndim:
        return f"{names[0]}.sum()"
    return f"{names[0]}.sum(axis={_axes_str(axes)})"


def _s_sum(x, shape, dtype, axes):
    if not axes:
        return x if x.dtype == dtype else None
    if x.ndim == 1 and x.dtype == dtype and dtype.kind == "f":  # sum(a * b) -> a @ b, sum(a ** 2) -> a @ a
        if x.op == "multiply" and all(a.shape == x.shape for a in x.args):
            return apply("einsum", *x.args, spec="i,i->")
        if x.op == "power" and x.args[1].op == "const" and x.args[1].weak and x.args[1].value == 2:
            return apply("einsum", x.args[0], x.args[0], spec="i,i->")
    if x.op == "broadcast_to":
        y = x.args[0]
        yal = (1,) * (x.ndim - y.ndim) + y.shape
        real = tuple(a for a in axes if yal[a] != 1)
        factor = int(np.prod([x.shape[a] for a in axes if yal[a] == 1]))
        z = apply("reshape", y, shape=yal)
        if real:
            z = apply("reduce_sum", z, axes=real)
        kept = tuple(yal[a] for a in range(x.ndim) if a not in axes)
        z = apply("reshape", z, shape=kept)
        if factor != 1:
            z = ops.mul(z, float(factor))
        return apply("broadcast_to", z, shape=shape) if z.dtype == dtype else None
    return None


def _scalar_reduce(how):
    """Return the scalar rule of a reduction (see emit_scalar.ScalarEmitter.reduce)."""
    return lambda em, node: em.reduce(node, how)


def _t_sum(ct, x, lin, nb, axes):
    b = ct.shape[:nb]
    ct = apply("reshape", ct, shape=b + _keep_shape(x.shape, axes))
    return [apply("broadcast_to", ct, shape=b + x.shape)]


register(Primitive("reduce_sum", _sum_rule, lambda x, axes: np.sum(x, axis=axes), _emit_sum,
                   jvp=lambda ts, x, out, nb, axes: apply("reduce_sum", ts[0], axes=shift_axes(axes, nb)),
                   transpose=_t_sum, linear=True, simplify=_s_sum,
                   short="s", owns=True, elementwise=False, sparsity=REDUCE, scalar=_scalar_reduce("sum")))


# -- reduce_max / reduce_min ------------------------------------------------------

def _minmax_jvp(ts, x, out, nb, axes):
    m = apply("reshape", out, shape=_keep_shape(x.shape, axes))
    mask = apply("convert", ops.equal(x, m), dtype=out.dtype)
    count = apply("reduce_sum", mask, axes=axes)
    picked = apply("reduce_sum", ops.mul(ts[0], mask), axes=shift_axes(axes, nb))
    return ops.div(picked, count)


def _emit_red(method):
    def emit(names, node):
        x = node.args[0]
        axes = node.p["axes"]
        if len(axes) == x.ndim:
            return f"{names[0]}.{method}()"
        return f"{names[0]}.{method}(axis={_axes_str(axes)})"
    return emit


for _name, _impl, _m in (("reduce_max", np.max, "max"), ("reduce_min", np.min, "min")):
    register(Primitive(_name, lambda x, axes: (_reduced_shape(x.shape, axes), x.dtype),
                       (lambda f: lambda x, axes: f(x, axis=axes))(_impl), _emit_red(_m),
                       jvp=_minmax_jvp, short=_m, owns=True, elementwise=False,
                       sparsity=REDUCE, scalar=_scalar_reduce(_m)))

for _name, _impl, _m in (("argmax", np.argmax, "argmax"), ("argmin", np.argmin, "argmin")):
    register(Primitive(_name, lambda x, axis: (_reduced_shape(x.shape, (axis,)), np.dtype(np.intp)),
                       (lambda f: lambda x, axis: f(x, axis=axis))(_impl),
                       (lambda m: lambda names, node: f"{names[0]}.{m}(axis={node.p['axis']})")(_m),
                       nondiff=True, owns=False, elementwise=False, scalar=NOT_SCALAR))


# -- broadcast_to -----------------------------------------------------------------

def _bcast_rule(x, shape):
    if broadcast_shapes(x.shape, shape) != tuple(shape):
        raise ValueError(f"cannot broadcast {x.shape} to {shape}")
    return shape, x.dtype


def _s_bcast(x, shape, dtype, **p):
    if x.shape == shape:
        return x
    if x.op == "broadcast_to":
        return apply("broadcast_to", x.args[0], shape=shape)
    if x.op == "reshape" and x.size == 1 and x.args[0].ndim <= len(shape):  # (1, 1) -> () -> (1,) stays
        return apply("broadcast_to", x.args[0], shape=shape)
    return None


def _emit_bcast(names, node):
    x = node.args[0]
    if x.op == "const" and x.ndim == 0:
        v = x.value
        if not np.any(v):
            return f"np.zeros({node.shape}{_dt(node)})"
        if np.all(np.asarray(v) == 1):
            return f"np.ones({node.shape}{_dt(node)})"
        return f"np.full({node.shape}, {names[0]}{_dt(node)})"
    return f"np.broadcast_to({names[0]}, {node.shape})"


def _dt(node):
    return dtype_kw(node)


def _jvp_bcast(ts, x, out, nb, shape):
    t = align(ts[0], nb, len(shape))
    return apply("broadcast_to", t, shape=t.shape[:nb] + tuple(shape))


register(Primitive("broadcast_to", _bcast_rule, lambda x, shape: np.broadcast_to(x, shape), _emit_bcast,
                   jvp=_jvp_bcast, transpose=lambda ct, x, lin, nb, shape: [sum_to(ct, x.shape, nb)],
                   linear=True, simplify=_s_bcast, fold=False, short="bc", owns=False, elementwise=False,
                   sparsity=INDEX_MAP, scalar=lambda em, node: np.broadcast_to(em.val(node.args[0]), node.shape)))


# -- reshape -----------------------------------------------------------------------

def _reshape_rule(x, shape):
    if int(np.prod(shape)) != x.size:
        raise ValueError(f"cannot reshape {x.shape} into {shape}")
    return shape, x.dtype


def _s_reshape(x, shape, dtype, **p):
    if x.shape == shape:
        return x
    if x.op == "reshape":
        return apply("reshape", x.args[0], shape=shape)
    if x.op == "broadcast_to" and x.args[0].size == 1:
        return apply("broadcast_to", apply("reshape", x.args[0], shape=()), shape=shape)
    return None


register(Primitive("reshape", _reshape_rule, lambda x, shape: np.reshape(x, shape),
                   lambda names, node: f"{names[0]}.reshape({node.shape})",
                   jvp=lambda ts, x, out, nb, shape: apply("reshape", ts[0], shape=ts[0].shape[:nb] + shape),
                   transpose=lambda ct, x, lin, nb, shape: [apply("reshape", ct, shape=ct.shape[:nb] + x.shape)],
                   linear=True, simplify=_s_reshape, short="rs", owns=False, elementwise=False,
                   sparsity=INDEX_MAP, scalar=lambda em, node: em.val(node.args[0]).reshape(node.shape)))


# -- transpose ------------------------------------------------------------------------

def _s_transpose(x, shape, dtype, perm):
    if perm == tuple(range(len(perm))):
        return x
    if x.op == "transpose":
        inner = x.p["perm"]
        return apply("transpose", x.args[0], perm=tuple(inner[p] for p in perm))
    if x.op == "broadcast_to" and x.args[0].size == 1:
        return apply("broadcast_to", apply("reshape", x.args[0], shape=()), shape=shape)
    return None


def _emit_transpose(names, node):
    perm = node.p["perm"]
    if perm == tuple(reversed(range(len(perm)))):
        return f"{names[0]}.T"
    return f"{names[0]}.transpose({perm})"


def _jvp_transpose(ts, x, out, nb, perm):
    return apply("transpose", ts[0], perm=tuple(range(nb)) + shift_axes(perm, nb))


def _t_transpose(ct, x, lin, nb, perm):
    inv = tuple(int(i) for i in np.argsort(perm))
    return [apply("transpose", ct, perm=tuple(range(nb)) + shift_axes(inv, nb))]


register(Primitive("transpose", lambda x, perm: (tuple(x.shape[p] for p in perm), x.dtype),
                   lambda x, perm: np.transpose(x, perm), _emit_transpose, jvp=_jvp_transpose,
                   transpose=_t_transpose, linear=True, simplify=_s_transpose, short="tr", owns=False,
                   elementwise=False, sparsity=INDEX_MAP, scalar=lambda em, node: np.transpose(em.val(node.args[0]), node.p["perm"])))


# -- concatenate ------------------------------------------------------------------------

def _concat_rule(*xs, axis):
    for x in xs[1:]:
        if x.ndim != xs[0].ndim or any(a != b for i, (a, b) in enumerate(zip(x.shape, xs[0].shape)) if i != axis):
            raise ValueError(f"all the input array dimensions except for the concatenation axis must match "
                             f"exactly: {xs[0].shape} and {x.shape} along axis {axis}")
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    return tuple(shape), np.result_type(*[x.dtype for x in xs])


def _jvp_concat(ts, *xs, out, nb, axis):
    some = next(t for t in ts if t is not None)
    b = some.shape[:nb]
    parts = [t if t is not None else zeros(b + x.shape, out.dtype) for t, x in zip(ts, xs)]
    return apply("concatenate", *parts, axis=axis + nb)


def _t_concat(ct, *xs, lin, nb, axis):
    from .indexing import gather_b
    out, start = [], 0
    for x, l in zip(xs, lin):
        stop = start + x.shape[axis]
        if l:
            idx = tuple(("s", 0, d, 1) for d in x.shape[:axis]) + (("s", start, stop, 1),)
            out.append(gather_b(ct, (), idx, nb))
        else:
            out.append(None)
        start = stop
    return out


register(Primitive("concatenate", _concat_rule, lambda *xs, axis: np.concatenate(xs, axis=axis),
                   lambda names, node: f"np.concatenate(({', '.join(names)},), axis={node.p['axis']})",
                   jvp=_jvp_concat, transpose=_t_concat, linear=True, short="cat", owns=True, elementwise=False,
                   sparsity=INDEX_MAP,
                   scalar=lambda em, node: np.concatenate([em.val(a) for a in node.args], axis=node.p["axis"])))


# -- cumsum -------------------------------------------------------------------------------

def _flip(x, axis):
    from .indexing import gather_b
    n = x.shape[axis]
    idx = tuple(("s", 0, d, 1) for d in x.shape[:axis]) + (("s", n - 1, -1, -1),)
    return gather_b(x, (), idx, 0)


def _t_cumsum(ct, x, lin, nb, axis):
    a = axis + nb
    return [_flip(apply("cumsum", _flip(ct, a), axis=a), a)]


register(Primitive("cumsum", lambda x, axis: (x.shape, np.cumsum(np.ones(1, x.dtype)).dtype),
                   lambda x, axis: np.cumsum(x, axis=axis),
                   lambda names, node: f"np.cumsum({names[0]}, axis={node.p['axis']})",
                   jvp=lambda ts, x, out, nb, axis: apply("cumsum", ts[0], axis=axis + nb),
                   transpose=_t_cumsum, linear=True, owns=True, elementwise=False,
                   sparsity=PREFIX,
                   scalar=lambda em, node: em.scan_sum(node)))


# -- stack ----------------------------------------------------------------------------

def _scalar_stack(em, node):
    shape = node.args[0].shape
    return np.stack([np.broadcast_to(em.val(a), shape) for a in node.args], axis=node.p["axis"])


def _stack_rule(*xs, axis):
    shape = broadcast_shapes(*[x.shape for x in xs])
    if any(x.shape != shape for x in xs):
        raise ValueError("all input arrays must have the same shape")
    dts = [x.value if x.weak else x.dtype for x in xs]
    return shape[:axis] + (len(xs),) + shape[axis:], np.result_type(*dts)


def _emit_stack(names, node):
    axis = node.p["axis"]
    dt = dtype_kw(node)
    if axis == 0:
        return f"np.array([{', '.join(names)}]{dt})"
    return f"np.stack(({', '.join(names)},), axis={axis})"


def _jvp_stack(ts, *xs, out, nb, axis):
    some = next(t for t in ts if t is not None)
    b = some.shape[:nb]
    shape = xs[0].shape
    parts = [apply("broadcast_to", t, shape=b + shape) if t is not None else zeros(b + shape, out.dtype)
             for t in ts]
    return apply("stack", *parts, axis=axis + nb)


def _t_stack(ct, *xs, lin, nb, axis):
    from .indexing import gather_b
    pre = tuple(("s", 0, d, 1) for d in xs[0].shape[:axis])
    return [gather_b(ct, (), pre + (("i", j),), nb) if l else None for j, l in enumerate(lin)]


register(Primitive("stack", _stack_rule, lambda *xs, axis: np.stack(xs, axis=axis), _emit_stack,
                   jvp=_jvp_stack, transpose=_t_stack, linear=True, owns=True, elementwise=False, sparsity=INDEX_MAP,
                   scalar=_scalar_stack))


# -- reduce_prod ------------------------------------------------------------------------

def _prod_jvp(ts, x, out, nb, axes):
    """d prod = sum_i t_i * prod_{j != i} x_j, without dividing by x (zeros are fine)."""
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    n = int(np.prod([x.shape[i] for i in axes]))
    moved = apply("reshape", apply("transpose", x, perm=rest + tuple(axes)),
                  shape=tuple(x.shape[i] for i in rest) + (n,))
    if n <= 256:
        eye = np.eye(n, dtype=bool)
        spread = apply("reshape", moved, shape=moved.shape[:-1] + (1, n))
        others = apply("reduce_prod", apply("where", eye, 1.0, spread), axes=(moved.ndim,))
    else:
        others = ops.div(apply("reshape", out, shape=out.shape + (1,)), moved)
    t = ts[0]
    b = t.shape[:nb]
    tm = apply("reshape", apply("transpose", t, perm=tuple(range(nb)) + shift_axes(rest + tuple(axes), nb)),
               shape=b + moved.shape)
    return apply("reduce_sum", ops.mul(tm, others), axes=(nb + moved.ndim - 1,))


register(Primitive("reduce_prod", lambda x, axes: (_reduced_shape(x.shape, axes), np.prod(np.ones(1, x.dtype)).dtype),
                   lambda x, axes: np.prod(x, axis=axes),
                   lambda names, node: (f"{names[0]}.prod()" if len(node.p["axes"]) == node.args[0].ndim
                                        else f"{names[0]}.prod(axis={_axes_str(node.p['axes'])})"),
                   jvp=_prod_jvp, simplify=lambda x, shape, dtype, axes: x if not axes else None,
                   short="prod", owns=True, elementwise=False, sparsity=REDUCE, scalar=_scalar_reduce("prod")))
