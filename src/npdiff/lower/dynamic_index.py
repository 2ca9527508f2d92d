"""Reads with slice bounds computed from traced integers: ``X[i * bs:(i + 1) * bs]``.

The start becomes a run-time value of the generated code (``primitives/dynamic.py``) and only what
fixes the result's shape is decided on the call's values and guarded: that both bounds are
non-negative (a negative bound counts from the end) and the slice's length after NumPy's clipping.
A minibatch loop then runs one generated function for every batch of the same size, instead of one
path per value of ``i``. Other uses of a traced integer as an index (a step, a bound on a plain
ndarray, which NumPy converts itself) are decided value by value as before.
"""
from __future__ import annotations

import numpy as np

from ..errors import TracingError
from ..ir.graph import Node, const
from ..primitives import apply
from ..tracing.guards import current, decide
from ..tracing.tracer import Tracer


def _traced_int(v) -> Node | None:
    node = v.node if isinstance(v, Tracer) else None
    if node is None or node.op == "const" or node.ndim != 0 or node.dtype.kind not in "iu":
        return None
    return node


def split(index, ndim: int):
    """Return (axis, slice, rest) for an index with one slice of traced integer bounds, else None."""
    items = index if isinstance(index, tuple) else (index,)
    for axis, it in enumerate(items):
        if not isinstance(it, slice):
            return None
        start, stop = _traced_int(it.start), _traced_int(it.stop)
        if start is None and stop is None:
            if it == slice(None):
                continue
            return None
        if it.step not in (None, 1) or axis >= ndim:
            return None
        if any(_traced_int(v) is None and v is not None and not isinstance(v, (int, np.integer))
               for v in (it.start, it.stop)):
            return None
        rest = items[:axis] + (slice(None),) + items[axis + 1:]
        if any(isinstance(r, slice) and r != slice(None) and _traced_int(r.start) is not None for r in rest):
            return None
        return axis, it, rest
    return None


def dynamic_read(x: Node, axis: int, sl: slice):
    """Return x[..., sl, ...] along axis with a run-time start, guarding its length; None to fall back."""
    if current() is None:
        return None  # shapes only: nothing to guard (the bounds are decided as before, and refused)
    n = x.shape[axis]
    bound = [const(np.int64(0)) if sl.start is None else _node(sl.start),
             const(np.int64(n)) if sl.stop is None else _node(sl.stop)]
    try:
        for b in bound:
            if b.op != "const" and not decide(apply("greater_equal", b, 0), "bool"):
                return None  # a negative bound counts from the end: the value-by-value path
        lo = apply("minimum", bound[0], n)
        hi = apply("minimum", bound[1], n)
        size = decide(apply("maximum", apply("subtract", hi, lo), 0), "int")
    except TracingError:
        return None
    lo = apply("convert", lo, dtype=np.dtype(np.int64)) if lo.dtype != np.int64 else lo
    return apply("dynamic_slice", x, lo, axis=axis, size=int(size))


def _node(v) -> Node:
    return v.node if isinstance(v, Tracer) else const(np.int64(int(v)))
