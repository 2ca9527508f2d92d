"""Joining, splitting and repeating arrays: concatenate, stack, hstack, vstack, column_stack,
dstack, block, append, split (and h/v/dsplit, unstack), tile, repeat, pad, delete.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..errors import UnsupportedOperationError
from ..primitives import apply
from ..primitives.helpers import stack_nodes
from ..tracing.tracer import EXTRA_PATCHES, FUNCTIONS, METHODS, Tracer, implements, intercepting, is_traced, node_of
from ._common import N, W, axis_index, cat, filled, flat_axis, full_slices, take_along
from .shape import atleast_3d


def _joined(xs, dtype, casting):
    """Return xs converted to the joined dtype (dtype=, else NumPy's promotion), checking casting= as NumPy."""
    dt = np.dtype(dtype) if dtype is not None else np.result_type(*[x.value if x.weak else x.dtype for x in xs])
    for x in xs:
        if not x.weak and not np.can_cast(x.dtype, dt, casting=casting):
            raise TypeError(f"Cannot cast array data from {x.dtype!r} to {dt!r} according to the rule {casting!r}")
    return [apply("convert", x, dtype=dt) if x.dtype != dt else x for x in xs]


@implements(np.concatenate, honours=("axis", "dtype", "casting"))
def concatenate(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    xs = [N(a) for a in arrays]
    if axis is None:
        xs = [apply("reshape", x, shape=(x.size,)) for x in xs]
        axis = 0
    xs = _joined(xs, dtype, casting)
    return W(apply("concatenate", *xs, axis=axis_index(axis, xs[0].ndim)))


@implements(np.stack, honours=("axis", "dtype", "casting"))
def stack(arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    xs = [N(a) for a in arrays]
    nd = xs[0].ndim + 1
    return W(stack_nodes(_joined(xs, dtype, casting), axis=axis_index(axis, nd)))


@implements(np.hstack, honours=("dtype", "casting"))
def hstack(tup, dtype=None, casting="same_kind"):
    xs = [N(a) for a in tup]
    xs = [apply("reshape", x, shape=(1,)) if x.ndim == 0 else x for x in xs]
    return concatenate(xs, axis=0 if xs[0].ndim == 1 else 1, dtype=dtype, casting=casting)


@implements(np.vstack, getattr(np, "row_stack", None), honours=("dtype", "casting"))
def vstack(tup, dtype=None, casting="same_kind"):
    xs = [N(a) for a in tup]
    xs = [apply("reshape", x, shape=(1, x.size)) if x.ndim < 2 else x for x in xs]
    return concatenate(xs, axis=0, dtype=dtype, casting=casting)


@implements(np.column_stack)
def column_stack(tup):
    cols = []
    for a in tup:
        x = N(a)
        cols.append(apply("reshape", x, shape=(x.size, 1)) if x.ndim < 2 else x)
    return concatenate([W(c) for c in cols], axis=1)


@implements(np.dstack)
def dstack(tup):
    parts = [N(atleast_3d(a)) for a in tup]
    return concatenate([W(p) for p in parts], axis=2)


@implements(np.block)
def block(arrays):
    def depth(x):
        return 1 + depth(x[0]) if isinstance(x, list) else 0

    def leaves(x):
        return [n for e in x for n in leaves(e)] if isinstance(x, list) else [N(x)]
    d = depth(arrays)
    nd = max([d] + [n.ndim for n in leaves(arrays)])

    def rec(x, level):
        if isinstance(x, list):
            return cat([rec(e, level + 1) for e in x], nd - (d - level))
        n = N(x)
        return apply("reshape", n, shape=(1,) * (nd - n.ndim) + n.shape)
    return W(rec(arrays, 0))


@implements(np.append, honours=("axis",))
def append(arr, values, axis=None):
    x, v = N(arr), N(values)
    if axis is None:
        return W(cat([apply("reshape", x, shape=(x.size,)), apply("reshape", v, shape=(v.size,))], 0))
    return concatenate([W(x), W(v)], axis=axis)


def _append_of_lists(original):
    """Return np.append that first stacks (nested) lists holding traced values into one Tracer.

    NumPy's dispatcher for append looks at ``arr`` and ``values`` themselves, not inside lists,
    so ``np.append([[t0, t1]], [[t2, t3]], axis=0)`` would never reach the lowering.
    """
    def fn(arr, values, axis=None):
        if intercepting():
            arr, values = [Tracer(node_of(a)) if isinstance(a, (list, tuple)) and is_traced(a) else a
                           for a in (arr, values)]
        return original(arr, values, axis=axis)
    fn.__name__, fn.__doc__, fn.__wrapped__ = "append", original.__doc__, original
    return fn


_APPEND = _append_of_lists(np.append)
FUNCTIONS[_APPEND] = FUNCTIONS[np.append]  # a lowering looking np.append up while it is patched
EXTRA_PATCHES.append((np, "append", _APPEND))


def _pieces(x, indices_or_sections, axis):
    axis = axis_index(axis, x.ndim)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError("number sections must be larger than 0.")
        base, extra = divmod(n, k)
        sizes = [base + (1 if i < extra else 0) for i in range(k)]
        cuts = [slice(int(s), int(e)) for s, e in zip(np.cumsum([0] + sizes[:-1]), np.cumsum(sizes))]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
        cuts = [slice(s, e) for s, e in itertools.pairwise(bounds)]  # as NumPy: ary[start:end] per piece
    lead = full_slices(x.shape[:axis])
    return [W(apply("gather", x, index=lead + (("s",) + c.indices(n),))) for c in cuts]


@implements(np.array_split, honours=("axis",))
def array_split(ary, indices_or_sections, axis=0):
    return _pieces(N(ary), indices_or_sections, axis)


@implements(np.split, honours=("axis",))
def split(ary, indices_or_sections, axis=0):
    x = N(ary)
    if isinstance(indices_or_sections, (int, np.integer)) and int(indices_or_sections) > 0 \
            and x.shape[axis_index(axis, x.ndim)] % int(indices_or_sections):
        raise ValueError("array split does not result in an equal division")
    return _pieces(x, indices_or_sections, axis)


@implements(np.hsplit)
def hsplit(ary, indices_or_sections):
    return FUNCTIONS[np.split](ary, indices_or_sections, axis=1 if N(ary).ndim > 1 else 0)


@implements(np.vsplit)
def vsplit(ary, indices_or_sections):
    return FUNCTIONS[np.split](ary, indices_or_sections, axis=0)


@implements(np.dsplit)
def dsplit(ary, indices_or_sections):
    return FUNCTIONS[np.split](ary, indices_or_sections, axis=2)


if hasattr(np, "unstack"):
    @implements(np.unstack, honours=("axis",))
    def unstack(x, /, *, axis=0):
        v = N(x)
        axis = axis_index(axis, v.ndim)
        return tuple(W(take_along(v, axis, i)) for i in range(v.shape[axis]))


@implements(np.tile)
def tile(A, reps):
    x = N(A)
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    d = max(len(reps), x.ndim)
    shape = (1,) * (d - x.ndim) + x.shape
    reps = (1,) * (d - len(reps)) + reps
    inter = apply("reshape", x, shape=sum(((1, s) for s in shape), ()))
    big = apply("broadcast_to", inter, shape=sum(((r, s) for r, s in zip(reps, shape)), ()))
    return W(apply("reshape", big, shape=tuple(r * s for r, s in zip(reps, shape))))


@implements(np.repeat, honours=("axis",))
def repeat(a, repeats, axis=None):
    x = N(a)
    if isinstance(repeats, Tracer) and repeats.node.op != "const":
        raise UnsupportedOperationError("npdiff supports numpy.repeat with constant repeats only")
    reps = np.asarray(N(repeats).value if isinstance(repeats, Tracer) else repeats)
    x, axis = flat_axis(x, axis)
    return W(take_along(x, axis, np.repeat(np.arange(x.shape[axis]), reps)))


METHODS["repeat"] = repeat


def _pairs(value, ndim, what):
    arr = np.asarray(value)
    try:
        return np.broadcast_to(arr, (ndim, 2)).tolist()
    except ValueError:
        raise ValueError(f"{what} has an invalid shape {arr.shape} for an array of {ndim} dimensions") from None


@implements(np.pad, honours=("mode", "constant_values", "reflect_type"))
def pad(array, pad_width, mode="constant", **kwargs):
    x = N(array)
    widths = [(int(p), int(q)) for p, q in _pairs(pad_width, x.ndim, "pad_width")]
    if mode == "constant":
        cv = kwargs.pop("constant_values", 0)
        if kwargs:
            raise UnsupportedOperationError(f"npdiff does not support the argument {min(kwargs)}= of numpy.pad "
                                            f"with mode='constant'")
        if isinstance(cv, Tracer) or (isinstance(cv, (list, tuple)) and any(isinstance(c, Tracer) for c in cv)):
            cvn = N(cv)
            if cvn.size != 1:
                raise UnsupportedOperationError("npdiff supports a traced constant_values of numpy.pad "
                                                "only as a scalar")
            values = [(cvn, cvn)] * x.ndim
        else:
            values = _pairs(cv, x.ndim, "constant_values")
        for ax, ((p, q), (vp, vq)) in enumerate(zip(widths, values)):
            parts = []
            if p:
                parts.append(filled(vp, x.shape[:ax] + (p,) + x.shape[ax + 1:], x.dtype))
            parts.append(x)
            if q:
                parts.append(filled(vq, x.shape[:ax] + (q,) + x.shape[ax + 1:], x.dtype))
            if len(parts) > 1:
                x = apply("concatenate", *parts, axis=ax)
        return W(x)
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        if kwargs.get("reflect_type", "even") != "even" or set(kwargs) - {"reflect_type"}:
            raise UnsupportedOperationError(f"npdiff does not support the argument {min(kwargs)}= of numpy.pad "
                                            f"with mode={mode!r} (reflect_type='even' only)")
        for ax, (p, q) in enumerate(widths):
            if p or q:  # the padded layout of an axis is an index map
                x = take_along(x, ax, np.pad(np.arange(x.shape[ax]), (p, q), mode=mode))
        return W(x)
    raise UnsupportedOperationError(f"npdiff does not support the argument mode={mode!r} of numpy.pad")


@implements(np.delete, honours=("axis",))
def delete(arr, obj, axis=None):
    x = N(arr)
    if isinstance(obj, Tracer):
        raise UnsupportedOperationError("npdiff supports numpy.delete with constant indices only")
    x, axis = flat_axis(x, axis)
    return W(take_along(x, axis, np.delete(np.arange(x.shape[axis]), obj)))
