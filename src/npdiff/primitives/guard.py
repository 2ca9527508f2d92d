"""The ``guard`` primitive: a check, in generated code, that a traced decision goes the same way.

``guard(pred, expected=True, where="if x[0] > 0:  (model.py:12)")`` emits the
statement ``if not pred: _path_changed(where)`` (``if pred: ...`` when the
decision was False). It is a statement, not a value: generated functions keep
it as an extra output that is never returned, it is never folded away and it
has no derivative. ``_path_changed`` raises ``npdiff.PathChangedError``.
"""
from __future__ import annotations

import numpy as np

from .registry import Primitive, register


def check_line(pred: str, node) -> str:
    """Return the source line checking the guard ``node`` whose predicate is ``pred``."""
    where = repr(node.p["where"]).replace("{", "{{").replace("}", "}}")  # emit formats {out}
    test = f"not {pred}" if node.p["expected"] else pred
    return f"if {test}: _path_changed({where})"


def _shape(pred, expected, where):
    if pred.shape != () or pred.dtype != np.bool_:
        raise TypeError(f"guard: the predicate must be a boolean scalar, got {pred.shape} {pred.dtype}")
    return (), np.dtype(bool)


def _impl(pred, expected, where):
    return np.asarray(bool(pred) == expected)


def _scalar(em, node) -> np.ndarray:
    """Unrolled code: append the check on the predicate's element expression (a statement, no value)."""
    em.lines.append(check_line(em.paren(em.val(node.args[0])[()]), node).format())
    return np.empty((), dtype=object)


GUARD = register(Primitive("guard", _shape, _impl, lambda names, node: [check_line(names[0], node)],
                           nondiff=True, fold=False, elementwise=False, owns=False, scalar=_scalar))
