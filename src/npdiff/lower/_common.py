"""Helpers shared by the lowerings: node conversion, axes, keepdims, slices and gathers.

Everything here works on graph nodes (``N(x)`` turns a Tracer, array or
scalar into one, ``W(node)`` wraps a node back into a Tracer). Index
arithmetic that depends only on shapes and constants is done with NumPy at
trace time and enters the graph as constant index arrays for ``gather``.
"""
from __future__ import annotations

import operator

import numpy as np

try:
    from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
except ImportError:  # NumPy < 2.0
    from numpy.core.multiarray import normalize_axis_index
    from numpy.core.numeric import normalize_axis_tuple

from ..errors import SHAPE_ERRORS, shape_error
from ..ir.graph import Node, const
from ..primitives import apply
from ..tracing.tracer import Tracer, is_traced, node_of

W = Tracer  # wrap a node
NOVALUE = getattr(np, "_NoValue", object())  # NumPy's "argument not given" sentinel
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def N(x) -> Node:
    """Return the graph node of a Tracer, array, scalar or nested list of them."""
    return node_of(x)


def axis_index(axis, ndim: int) -> int:
    """Return the non-negative axis that ``axis`` names in an array of ndim dimensions (NumPy's AxisError
    when it is out of bounds)."""
    return int(normalize_axis_index(operator.index(axis), ndim))


def axes_of(axis, ndim) -> tuple:
    """Return the sorted non-negative axes an ``axis=`` argument (None, int or tuple) names (AxisError when
    one is out of bounds or repeated; a 0-d array takes axis 0 or -1, as NumPy's reductions do)."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    found = tuple(sorted(normalize_axis_tuple(tuple(operator.index(a) for a in axes), max(ndim, 1))))
    return found if ndim else ()


def kept_shape(shape, axes) -> tuple:
    """Return shape with the reduced axes replaced by ones (the keepdims=True shape)."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def keep_dims(node: Node, shape, axes, extra: int = 0) -> Node:
    """Return a reduced node (with ``extra`` leading axes) reshaped to keep the reduced axes as ones."""
    return apply("reshape", node, shape=node.shape[:extra] + kept_shape(shape, axes))


def to_float(x: Node) -> Node:
    """Return x converted to float64 unless it is already a floating or complex array."""
    return x if np.issubdtype(x.dtype, np.inexact) else apply("convert", x, dtype=np.dtype(np.float64))


def full_slices(shape) -> tuple:
    """Return gather index entries selecting every element of the given leading axes."""
    return tuple(("s", 0, d, 1) for d in shape)


def slice_along(x: Node, axis: int, start, stop, step=1) -> Node:
    """Return x[..., start:stop:step, ...] along axis (concrete bounds)."""
    return apply("gather", x, index=full_slices(x.shape[:axis]) + (("s",) + slice(start, stop, step).indices(x.shape[axis]),))


def take_along(x: Node, axis: int, idx) -> Node:
    """Return x gathered along axis at a constant or integer-node index array."""
    if not hasattr(idx, "op"):
        idx = const(np.asarray(idx, dtype=np.intp))
    return apply("gather", x, idx, index=full_slices(x.shape[:axis]) + (("a", 0),))


def flat_axis(x: Node, axis):
    """Return (x, axis) for an ``axis=`` that may be None (x flattened, axis 0)."""
    if axis is None:
        return apply("reshape", x, shape=(x.size,)), 0
    return x, axis_index(axis, x.ndim)


def filled(value, shape, dtype) -> Node:
    """Return a node broadcasting a scalar (constant or traced) to shape."""
    v = N(value)
    if v.weak:
        v = const(np.asarray(v.value, dtype))
    elif v.dtype != dtype:
        v = apply("convert", v, dtype=np.dtype(dtype))
    if v.ndim and v.size == 1:
        v = apply("reshape", v, shape=())
    return apply("broadcast_to", v, shape=tuple(shape))


def cat(nodes, axis: int) -> Node:
    """Return nodes concatenated along axis after NumPy's dtype promotion (weak scalars count by value)."""
    dt = np.result_type(*[x.value if x.weak else x.dtype for x in nodes])
    nodes = [apply("convert", x, dtype=dt) if x.dtype != dt else x for x in nodes]
    return apply("concatenate", *nodes, axis=axis % nodes[0].ndim)


def moveaxis_last(x: Node, axis: int):
    """Return x with axis moved last, and the permutation used."""
    perm = tuple(i for i in range(x.ndim) if i != axis) + (axis,)
    return apply("transpose", x, perm=perm), perm


def merge_last(x: Node, axis):
    """Return x with the reduced axes (int, tuple or None) moved last and merged, and their sorted tuple."""
    axes = axes_of(axis, x.ndim)
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    y = apply("transpose", x, perm=rest + axes)
    n = int(np.prod([x.shape[a] for a in axes]))
    return apply("reshape", y, shape=tuple(x.shape[i] for i in rest) + (n,)), axes


def nan_to(x: Node, value) -> Node:
    """Return x with NaNs replaced by value."""
    return apply("where", apply("isnan", x), value, x)


def reduced(node: Node, shape, axes, keepdims) -> Node:
    """Return a reduction's result, reshaped to keep the reduced axes as ones when keepdims is true."""
    return keep_dims(node, shape, axes) if keepdims else node


def const_mask(where, shape, what):
    """Return None for ``where=True``, else the constant boolean mask broadcast to shape.

    A traced mask is refused by name (npdiff needs the mask's values while tracing).
    """
    if isinstance(where, (bool, np.bool_)) and where:
        return None
    if is_traced(where):
        from ..errors import UnsupportedOperationError
        raise UnsupportedOperationError(
            f"npdiff does not support a traced where= mask of {what}; pass a constant boolean array "
            f"(or use np.where(mask, x, identity) before reducing)")
    m = np.asarray(where)
    if m.dtype != np.bool_:
        raise TypeError(f"where= of {what} must be a boolean array, got dtype {m.dtype}")
    return np.broadcast_to(m, tuple(shape))


def register_ufunc(uf, fn) -> None:
    """Register fn as the lowering of ufunc uf (skipping names this NumPy lacks)."""
    if isinstance(uf, np.ufunc):
        from ..tracing.tracer import UFUNCS
        UFUNCS[uf] = fn


def patch_when_traced(original, lowering):
    """Return a stand-in for a library function: ``lowering`` when an argument is traced, else ``original``."""
    def wrapper(*args, **kwargs):
        if not is_traced(args) and not is_traced(tuple(kwargs.values())):
            return original(*args, **kwargs)
        try:
            return lowering(*args, **kwargs)
        except SHAPE_ERRORS as e:
            what = f"{getattr(original, '__module__', '') or ''}.{getattr(original, '__name__', '')}".lstrip(".")
            raise shape_error(e, what, original, args, kwargs) from None
    wrapper.__name__ = getattr(original, "__name__", lowering.__name__)
    wrapper.__doc__ = getattr(original, "__doc__", None)
    wrapper.__wrapped__ = original
    return wrapper
