"""Boolean masks and index sets computed from traced values: ``x[x > c]``, ``y[mask] = v``,
``np.nonzero``, ``np.where(cond)``, ``np.flatnonzero``, ``np.argwhere``.

The result's shape depends on the mask's values, so the mask is taken from the values of the call
being traced (guarded specialisation, ``tracing/guards.py``): the generated code checks that every
element of the mask is as it was and raises ``PathChangedError`` otherwise, and the lazy operators
trace and cache the new path. A mask has no derivative, so nothing is lost; the indices it selects
are constants of that path. Where only shapes are known the mask cannot be read: a ``TracingError``
names the line and the shape-static rewrite (``np.where(mask, x, 0)``).
"""
from __future__ import annotations

import numpy as np

from ..errors import TracingError, UnsupportedOperationError, user_frame_description
from ..ir.graph import Node
from ..primitives import apply
from ..tracing.guards import decide
from ..tracing.tracer import METHODS, UFUNCS, declare, implements
from ._common import N, W

_REWRITE = ("Call the operator with real arrays (or g.specialize(*example_arrays)) so npdiff reads the mask "
            "and guards it, or keep shapes static: np.where(mask, x, 0) instead of x[mask], "
            "y = np.where(mask, v, y) instead of y[mask] = v.")


def concrete_mask(node: Node, what: str) -> np.ndarray:
    """Return the concrete value of a traced boolean (or integer) node, guarding every element."""
    if node.op == "const":
        return np.asarray(node.value)
    try:
        return decide(node, "array", node.dtype)
    except TracingError:
        raise TracingError(f"{what} with a traced mask: the result's shape depends on the mask's values, which "
                           f"are not known here (only shapes were given, or the mask depends on a tangent)."
                           f"\n  at {user_frame_description()}\n{_REWRITE}") from None


def _cond_value(a) -> np.ndarray:
    x = N(a)
    if x.dtype != np.bool_ and x.op != "const":
        x = apply("not_equal", x, 0)  # only the zero pattern is decided, not the values
    return concrete_mask(x, "np.nonzero / np.where(cond) / np.argwhere")


@implements(np.nonzero)
def nonzero(a):
    """Return the indices of the nonzero elements of a traced array, guarded on its zero pattern."""
    v = _cond_value(a)
    if v.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use np.atleast_1d(scalar).nonzero() instead.")
    return np.nonzero(v != 0)


METHODS["nonzero"] = declare(lambda self: nonzero(self), ())


@implements(np.flatnonzero)
def flatnonzero(a):
    """Return the flat indices of the nonzero elements of a traced array (guarded)."""
    return np.flatnonzero(_cond_value(a) != 0)


@implements(np.argwhere)
def argwhere(a):
    """Return the indices of the nonzero elements, grouped by element (guarded)."""
    return np.argwhere(_cond_value(a) != 0)


def mask_index(node: Node) -> np.ndarray:
    """Return the concrete value of a traced boolean index (guarded), for x[mask] and y[mask] = v."""
    return concrete_mask(node, "x[mask] (or y[mask] = v)")



def _bitwise(name, logical):
    """Return the lowering of np.<name> on boolean arrays (masks combined with & | ^ ~)."""
    def fn(*args, **kwargs):
        nodes = [N(a) for a in args]
        if any(n.dtype != np.bool_ for n in nodes):
            raise UnsupportedOperationError(f"npdiff supports numpy.{name} of traced boolean arrays only (masks); "
                                            f"integer bit operations have no derivative to trace: compute them "
                                            f"on constants")
        return W(apply(logical, *nodes))
    fn.__name__ = name
    return declare(fn, ())


for _name, _logical in (("bitwise_and", "logical_and"), ("bitwise_or", "logical_or"),
                        ("bitwise_xor", "logical_xor"), ("invert", "logical_not")):
    UFUNCS[getattr(np, _name)] = _bitwise(_name, _logical)

