"""jax.lax: ``stop_gradient``; control-flow primitives raise with their plain-Python spelling (npdiff traces loops)."""
from __future__ import annotations

from collections.abc import Callable

from ...api.custom import stop_gradient
from ...errors import UnsupportedOperationError

__all__ = ["stop_gradient", "scan", "fori_loop", "while_loop", "cond", "switch", "map"]


def _refuse(name: str, spelling: str) -> Callable:
    def refused(*args, **kwargs):
        raise UnsupportedOperationError(f"jax.lax.{name} is not provided: npdiff traces plain Python control flow; "
                                        f"write {spelling}")
    refused.__name__ = name
    return refused


scan = _refuse("scan", "a Python for loop: `carry = init; ys = []` then `for x in xs: carry, y = f(carry, x); "
                       "ys.append(y)` and `np.stack(ys)`")
fori_loop = _refuse("fori_loop", "`for i in range(lower, upper): val = body(i, val)`")
while_loop = _refuse("while_loop", "`while cond(val): val = body(val)`")
cond = _refuse("cond", "`true_fun(*ops) if pred else false_fun(*ops)` (a decision on a traced value becomes a guard)")
switch = _refuse("switch", "`branches[index](*operands)`")
map = _refuse("map", "`np.stack([f(x) for x in xs])`")
