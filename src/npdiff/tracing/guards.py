"""Guarded specialisation: Python control flow on traced values.

When an operator is traced with real arguments (a lazy operator's first call,
``specialize(*example_arrays)``), a ``ValueTrace`` is active: it knows the
concrete value of every input and computes the value of any node on demand
(each primitive's ``impl`` on its arguments' values, memoised). A decision on
a traced value (``bool()``, ``int()``, ``operator.index``, ``float()`` of an
integer or boolean array...) is answered from that value and recorded as a
guard: a boolean scalar predicate node, the outcome it had, and the user's
source line. The generated code checks every guard (``primitives/guard.py``)
and raises ``PathChangedError`` when one goes the other way; the lazy
operators then trace and cache the new path (``api/paths.Paths``).

Nested traces (``grad(grad(f))``, ``call_on_nodes``) trace on fresh inputs;
``bind`` records which outer node each fresh input stands for, so values flow
through and inner decisions become guards of the outermost trace.
"""
from __future__ import annotations

import operator
import threading

import numpy as np

from ..errors import TracingError, user_frame_description, user_line_short
from ..ir.graph import Node, toposort
from ..primitives import apply
from ..primitives import guard as _guard  # noqa: F401  (registers the guard primitive)
from ..transforms.evaluate import NoValue, evaluate
from ..transforms.substitute import substitute

_local = threading.local()


class ValueTrace:
    """Concrete values of the inputs of one trace, and the guards recorded during it."""

    def __init__(self, inputs: list[Node], values: list):
        self.vals: dict[int, tuple] = {}  # id(node) -> (node, value): the node is kept alive
        for n, v in zip(inputs, values):
            self.vals[id(n)] = (n, np.asarray(v, dtype=n.dtype).reshape(n.shape))
        self.alias: dict[int, tuple] = {}  # id(fresh input) -> (fresh input, outer node)
        self.guards: list[tuple] = []  # (predicate node, expected bool, where)

    def value(self, node: Node) -> np.ndarray:
        """Return the concrete value of node (raises NoValue)."""
        return evaluate(node, self.vals, self._outer)

    def _outer(self, node: Node) -> Node | None:
        al = self.alias.get(id(node))
        return None if al is None else al[1]

    def resolved_guards(self) -> list[tuple]:
        """Return the guards as (predicate, expected, where) on the outermost inputs, deduplicated."""
        preds = [g[0] for g in self.guards]
        mapping = {k: outer for k, (_, outer) in self.alias.items()}
        for _ in range(100):  # each round replaces one level of nesting
            if not any(n.op == "input" and id(n) in mapping for n in toposort(preds)):
                break
            preds = substitute(preds, mapping)
        out, seen = [], set()
        for p, (_, expected, where) in zip(preds, self.guards):
            if p.op == "const":
                continue  # decided by constants alone: nothing to check
            if (id(p), expected) not in seen:
                seen.add((id(p), expected))
                out.append((p, expected, where))
        return out


def current() -> ValueTrace | None:
    """Return the innermost active ValueTrace (None when only shapes are known)."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


class values_known:
    """Context in which traces know these input values (``values=None``: shapes only)."""

    def __init__(self, inputs, values):
        self.vt = None if values is None else ValueTrace(inputs, values)

    def __enter__(self) -> ValueTrace | None:
        stack = getattr(_local, "stack", None)
        if stack is None:
            stack = _local.stack = []
        stack.append(self.vt)
        return self.vt

    def __exit__(self, *exc):
        _local.stack.pop()


def bind(fresh: list[Node], outer: list[Node]) -> None:
    """Record that the fresh inputs of a nested trace stand for the outer nodes."""
    vt = current()
    if vt is not None:
        for f, o in zip(fresh, outer):
            vt.alias[id(f)] = (f, o)


_NO_VALUES = ("Call the operator with real arrays, or give example arrays instead of shapes "
              "(g.specialize(*example_arrays)), so npdiff follows the branch taken and guards it; or use np.where(cond, a, b) (or np.maximum/np.minimum/"
              "np.clip) to select values element by element.")
REAL_TO_PYTHON = {"float": "float()", "complex": "complex()", "item": ".item()", "tolist": ".tolist()"}


def decide(node: Node, kind: str, *args):
    """Return the Python value of a decision on a traced node, recording a guard.

    ``kind`` is "bool", "int", "index", "float", "complex", "item", "tolist" or "array" (``args[0]`` an
    integer or bool dtype: the converted concrete array).
    """
    what = {"bool": "bool() (an if/while/assert/and/or)", "int": "int()", "index": "use as an integer index",
            "array": "conversion to a concrete integer array (np.int64(x))", **REAL_TO_PYTHON}[kind]
    if kind in REAL_TO_PYTHON and node.dtype.kind not in "biu":
        raise TracingError(
            f"{what} (or a math.* function) of a real-valued traced array would drop its derivative.\n"
            f"  at {user_frame_description()}\nKeep it an array: use np.sin/np.exp... instead of "
            f"math.*, x[0] instead of float(x[0]), and np.where(cond, a, b) to select values.")
    vt = current()
    if vt is None:
        raise TracingError(
            f"{what} of a traced array: its value is not known while tracing (only shapes were given), "
            f"so Python control flow cannot depend on it.\n  at {user_frame_description()}\n" + _NO_VALUES)
    try:
        v = vt.value(node)
    except NoValue:
        raise TracingError(
            f"{what} of a traced array that depends on a value not known while tracing (a tangent, a "
            f"cotangent or an argument given only by shape).\n  at {user_frame_description()}\n"
            + _NO_VALUES) from None
    if kind == "array":  # a concrete integer/bool array (its derivative is zero): every element is guarded
        conv = apply("convert", node, dtype=args[0])
        outcome = np.array(vt.value(conv), dtype=args[0])
        if node.size == 0:  # nothing to decide
            return outcome
        eq = apply("equal", conv, outcome)
        pred = apply("logical_not", apply("reduce_max", apply("logical_not", eq),
                                          axes=tuple(range(node.ndim)))) if node.ndim else eq
        _record(vt, pred, True)
        return outcome
    if kind == "bool":
        outcome = bool(v)  # raises NumPy's ValueError for arrays of several elements
        pred = node if node.dtype == np.bool_ else apply("not_equal", node, 0)
        _record(vt, apply("reshape", pred, shape=()), outcome)
        return outcome
    if kind == "tolist":
        outcome = v.tolist()
        if node.size == 0:  # nothing to decide
            return outcome
        eq = apply("equal", node, np.array(v))
        pred = apply("logical_not", apply("reduce_max", apply("logical_not", eq),
                                          axes=tuple(range(node.ndim)))) if node.ndim else eq
        _record(vt, pred, True)
        return outcome
    if kind == "item" and args:
        outcome = v.item(*args)
        flat = int(np.ravel_multi_index(args, v.shape)) if len(args) > 1 else int(args[0])
        node = apply("gather", apply("reshape", node, shape=(node.size,)), index=(("i", flat % node.size),))
        v = np.asarray(outcome)
    conv = {"int": int, "index": operator.index, "float": float, "complex": complex, "item": np.ndarray.item}[kind]
    outcome = conv(v)  # NumPy's TypeError for arrays of several elements or float indices
    if node.size != 1:
        raise TypeError(f"only one-element arrays can be converted to Python scalars ({what})")
    scalar = apply("reshape", node, shape=())
    if scalar.dtype == np.bool_:
        _record(vt, scalar, bool(v))
    else:
        if scalar.dtype.kind == "f":  # int() of a real value: the truncated value must stay the same
            scalar = apply("trunc", scalar)
        _record(vt, apply("equal", scalar, np.asarray(v.reshape(()), dtype=node.dtype)
                          if scalar.dtype.kind != "f" else np.trunc(v.reshape(()))), True)
    return outcome


def _record(vt: ValueTrace, pred: Node, expected: bool) -> None:
    if pred.op == "const":
        return
    vt.guards.append((pred, bool(expected), user_line_short()))
