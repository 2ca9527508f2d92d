"""Indexing primitives: gather (x[index]), scatter_add and set_index
(functional ``y[index] = v``).

An index is a tuple of entries: ('i', k) an integer, ('s', start, stop, step)
a slice with concrete bounds, ('n',) a new axis, ('a', j) the j-th integer
array argument after the data. Batched (co)tangents keep their batch axes in
front; with array entries the batch axes move to the end while indexing, since
NumPy keeps trailing unindexed axes in place.
"""
from __future__ import annotations

import numpy as np

from ..ir.indexsets import INDEX_ADD, SCATTER_ADD, index_map
from ..ir.specs import build_index, format_index, format_index_tuple, full_slices, full_stop, index_shape, is_basic
from . import ops
from .helpers import align, dtype_kw, sum_to, zeros
from .registry import Primitive, apply, register


def _move_batch(x, nb, to_end):
    r = x.ndim - nb
    perm = tuple(range(nb, x.ndim)) + tuple(range(nb)) if to_end else tuple(range(r, r + nb)) + tuple(range(r))
    return apply("transpose", x, perm=perm)


def gather_b(x, arrays, entries, nb):
    """Return x[index] for x with nb leading batch axes."""
    if nb == 0:
        return apply("gather", x, *arrays, index=tuple(entries))
    if is_basic(entries):
        return apply("gather", x, *arrays, index=full_slices(x.shape[:nb]) + tuple(entries))
    y = apply("gather", _move_batch(x, nb, True), *arrays, index=tuple(entries))
    return _move_batch(y, nb, False)


def scatter_b(v, arrays, entries, shape, nb):
    """Return zeros of batch + shape with v added at index (v has the batch axes)."""
    b = v.shape[:nb]
    if nb == 0:
        return apply("scatter_add", v, *arrays, index=tuple(entries), shape=tuple(shape))
    if is_basic(entries):
        return apply("scatter_add", v, *arrays, index=full_slices(b) + tuple(entries), shape=b + tuple(shape))
    y = apply("scatter_add", _move_batch(v, nb, True), *arrays, index=tuple(entries), shape=tuple(shape) + b)
    return _move_batch(y, nb, False)


def set_b(y, v, arrays, entries, nb):
    """Return y with y[index] = v, both with nb leading batch axes (v may be a scalar)."""
    if nb == 0:
        return apply("set_index", y, v, *arrays, index=tuple(entries))
    b = y.shape[:nb]
    tshape = index_shape(y.shape[nb:], entries, arrays)
    if is_basic(entries):
        if v.ndim:
            v = align(v, nb, len(tshape))
        return apply("set_index", y, v, *arrays, index=full_slices(b) + tuple(entries))
    if v.ndim:
        v = _move_batch(apply("broadcast_to", align(v, nb, len(tshape)), shape=b + tshape), nb, True)
    out = apply("set_index", _move_batch(y, nb, True), v, *arrays, index=tuple(entries))
    return _move_batch(out, nb, False)


# -- gather ---------------------------------------------------------------------

def _gather_rule(x, *arrays, index):
    return index_shape(x.shape, index, arrays), x.dtype


def _gather_impl(x, *arrays, index):
    return np.asarray(x)[build_index(index, arrays)]


def _emit_gather(names, node):
    x = node.args[0]
    return f"{names[0]}[{format_index(full_stop(node.p['index'], x.shape), names[1:])}]"


def _s_gather(x, *arrays, shape, dtype, index):
    if shape == x.shape and all(e[0] == "s" and e[1] == 0 and e[3] == 1 for e in index) and \
            len(index) == x.ndim:
        return x
    if x.op == "broadcast_to" and x.args[0].size == 1:
        return apply("broadcast_to", apply("reshape", x.args[0], shape=()), shape=shape)
    if x.op in ("concatenate", "stack") and is_basic(index):
        return _gather_part(x, index)
    return None


def _gather_part(x, index):
    """Return x[index] read from one part of a concatenate/stack when the index stays inside it."""
    axis, pos, consumed = x.p["axis"], None, 0
    for k, e in enumerate(index):
        if e[0] == "n":
            continue
        if consumed == axis:
            pos = k
            break
        consumed += 1
    if pos is None:
        return None
    e = index[pos]
    if x.op == "stack":
        if e[0] != "i":
            return None
        return apply("gather", x.args[e[1]], index=index[:pos] + index[pos + 1:])
    lo = 0
    for part in x.args:
        hi = lo + part.shape[axis]
        if e[0] == "i" and lo <= e[1] < hi:
            return apply("gather", part, index=index[:pos] + (("i", e[1] - lo),) + index[pos + 1:])
        if e[0] == "s" and e[3] > 0 and lo <= e[1] and e[2] <= hi and e[1] < e[2]:
            new = ("s", e[1] - lo, e[2] - lo, e[3])
            return apply("gather", part, index=index[:pos] + (new,) + index[pos + 1:])
        lo = hi
    return None


def _jvp_gather(ts, x, *arrays, out, nb, index):
    return gather_b(ts[0], arrays, index, nb)


def _t_gather(ct, x, *arrays, lin, nb, index):
    return [scatter_b(ct, arrays, index, x.shape, nb)] + [None] * len(arrays)


register(Primitive("gather", _gather_rule, _gather_impl, _emit_gather, jvp=_jvp_gather,
                   transpose=_t_gather, linear=True, simplify=_s_gather,
                   short="sl", owns=False, elementwise=False, sparsity=index_map(1), scalar=lambda em, node: em.gather(node)))


# -- scatter_add -------------------------------------------------------------------

def _unique(shape, index, arrays):
    if any(a.op != "const" for a in arrays):
        return False
    flat = np.arange(int(np.prod(shape))).reshape(shape)[build_index(index, [a.value for a in arrays])]
    return np.unique(flat).size == np.size(flat)


def _scatter_impl(v, *arrays, index, shape):
    out = np.zeros(shape, np.asarray(v).dtype)
    np.add.at(out, build_index(index, arrays), v)
    return out


def _emit_scatter(names, node):
    idx = format_index(full_stop(node.p["index"], node.shape), names[1:])
    dt = dtype_kw(node)
    first = f"{{out}} = np.zeros({node.shape}{dt})"
    if is_basic(node.p["index"]) or _unique(node.shape, node.p["index"], node.args[1:]):
        return [first, f"{{out}}[{idx}] = {names[0]}"]
    return [first, f"np.add.at({{out}}, {format_index_tuple(node.p['index'], names[1:])}, {names[0]})"]


def _jvp_scatter(ts, v, *arrays, out, nb, index, shape):
    return scatter_b(ts[0], arrays, index, shape, nb)


def _t_scatter(ct, v, *arrays, lin, nb, index, shape):
    return [sum_to(gather_b(ct, arrays, index, nb), v.shape, nb)] + [None] * len(arrays)


register(Primitive("scatter_add", lambda v, *arrays, index, shape: (shape, v.dtype), _scatter_impl,
                   _emit_scatter, jvp=_jvp_scatter, transpose=_t_scatter, linear=True, fold=False,
                   short="sc", owns=True, elementwise=False, sparsity=SCATTER_ADD,
                   scalar=lambda em, node: em.add_at(node, None, node.args[0], 1)))


# -- set_index ------------------------------------------------------------------------

def _set_rule(y, v, *arrays, index):
    tshape = index_shape(y.shape, index, arrays)
    np.broadcast_shapes(v.shape, tshape)
    return y.shape, y.dtype


def _set_impl(y, v, *arrays, index):
    out = np.array(y, copy=True)
    out[build_index(index, arrays)] = v
    return out


def _copy_of(name, node) -> str:
    """Return the statement copying the array written into (a 0-d constant may print as a NumPy scalar,
    whose .copy() is not writable: np.array makes a 0-d array)."""
    return f"{{out}} = np.array({name})" if node.shape == () else f"{{out}} = {name}.copy()"


def _emit_set(names, node):
    idx = format_index(full_stop(node.p["index"], node.shape), names[2:])
    return [_copy_of(names[0], node), f"{{out}}[{idx}] = {names[1]}"]


def _jvp_set(ts, y, v, *arrays, out, nb, index):
    ty, tv = ts[0], ts[1]
    if ty is None and tv is None:
        return None
    b = (ty if ty is not None else tv).shape[:nb]
    if ty is None:
        ty = zeros(b + y.shape, out.dtype)
    if tv is None:
        from ..ir.graph import const
        tv = const(0.0)
    return set_b(ty, tv, arrays, index, nb)


def _last_writes(shape, index, arrays):
    """Return a 0/1 mask over the index positions marking the last write to each element.

    With a repeated position ``y[[1, 1]] = v`` NumPy keeps only the last value, so only
    that entry of v may receive the cotangent. None when every position is distinct.
    """
    if any(a.op != "const" for a in arrays) or _unique(shape, index, arrays):
        return None
    pos = np.arange(int(np.prod(shape))).reshape(shape)[build_index(index, [a.value for a in arrays])]
    flat = pos.ravel()
    _, first_rev = np.unique(flat[::-1], return_index=True)
    mask = np.zeros(flat.size)
    mask[flat.size - 1 - first_rev] = 1.0
    return mask.reshape(pos.shape)


def _last_writes_traced(shape, index, arrays):
    """Return a boolean node over the index positions, True at the last write to each element.

    For traced index arrays: write each position's number at the index (NumPy keeps the last
    write) and compare what is read back with the numbers.
    """
    from ..ir.graph import const
    tshape = index_shape(shape, index, arrays)
    iota = const(np.arange(int(np.prod(tshape)), dtype=np.int64).reshape(tshape))
    pos = apply("set_index", zeros(shape, np.int64), iota, *arrays, index=tuple(index))
    return ops.equal(apply("gather", pos, *arrays, index=tuple(index)), iota)


def _t_set(ct, y, v, *arrays, lin, nb, index):
    from ..ir.graph import const
    cy = set_b(ct, const(0.0), arrays, index, nb) if lin[0] else None
    cv = None
    if lin[1]:
        g = gather_b(ct, arrays, index, nb)
        mask = _last_writes(y.shape, index, arrays)
        if mask is not None:
            g = ops.multiply(g, const(mask.astype(ct.dtype)))
        elif any(a.op != "const" for a in arrays):  # traced indices: which write is last is known at run time
            g = ops.where(_last_writes_traced(y.shape, index, arrays), g, 0.0)
        cv = sum_to(g, v.shape, nb)
    return [cy, cv] + [None] * len(arrays)


register(Primitive("set_index", _set_rule, _set_impl, _emit_set, jvp=_jvp_set, transpose=_t_set,
                   linear=True, short="upd", owns=True, elementwise=False, sparsity=index_map(2),
                   scalar=lambda em, node: em.set_index(node)))


# -- index_add: y with v added at index (the sum of a scatter and an array) --------

def _index_add_impl(y, v, *arrays, index):
    out = np.array(y, copy=True)
    np.add.at(out, build_index(index, arrays), v)
    return out


def _emit_index_add(names, node):
    idx = format_index(full_stop(node.p["index"], node.shape), names[2:])
    if is_basic(node.p["index"]) or _unique(node.shape, node.p["index"], node.args[2:]):
        return [_copy_of(names[0], node), f"{{out}}[{idx}] += {names[1]}"]
    return [_copy_of(names[0], node),
            f"np.add.at({{out}}, {format_index_tuple(node.p['index'], names[2:])}, {names[1]})"]


def _jvp_index_add(ts, y, v, *arrays, out, nb, index):
    ty, tv = ts[0], ts[1]
    if tv is None:
        return ty
    sc = scatter_b(tv, arrays, index, y.shape, nb)
    return sc if ty is None else ops.add(ty, sc)


def _t_index_add(ct, y, v, *arrays, lin, nb, index):
    cv = sum_to(gather_b(ct, arrays, index, nb), v.shape, nb) if lin[1] else None
    return [ct if lin[0] else None, cv] + [None] * len(arrays)


register(Primitive("index_add", _set_rule, _index_add_impl, _emit_index_add, jvp=_jvp_index_add,
                   transpose=_t_index_add, linear=True, short="acc", owns=True, elementwise=False, sparsity=INDEX_ADD,
                   scalar=lambda em, node: em.add_at(node, node.args[0], node.args[1], 2)))
