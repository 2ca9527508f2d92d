"""Derivative bundles computed by one generated function with shared
subexpressions: the building blocks of npdiff.diffops (SymNum-style) and the
Mici-style operators. Product operators are returned as nested functions that
close over the precomputed intermediates, so calling them again is cheap.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ir.graph import Node, const, make_input
from ..transforms import jvp_nodes, vjp_nodes
from . import checks
from .core import Operator, arg_names, call_on_nodes, zero_if_none
from .jax_style import jac_nodes


class Bundle:
    """Lazily computed derivative pieces of func at the given input nodes."""

    def __init__(self, func: Callable, inputs: list[Node], wrt: int, op: str = "differentiation"):
        self.inputs = inputs
        self.x = inputs[wrt]
        self.op = op
        checks.arity(func, len(inputs), op)
        checks.differentiable(self.x, arg_names(func, len(inputs))[wrt], op)
        self.out = call_on_nodes(func, inputs)
        if not isinstance(self.out, Node):
            raise TypeError(f"{op}: diffops and Mici-style operators need a function returning one array; "
                            f"it returned {checks._describe(self.out)} (return np.concatenate/np.stack of "
                            f"the parts, or differentiate each part separately)")
        self._cache: dict = {}

    def _get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def value(self) -> Node:
        return self.out

    def grad(self) -> Node:
        def make():
            checks.scalar_output(self.out, f"{self.op} (a gradient)", jac="jacobian_and_value / "
                                 "diffops.jacobian", prod="vjp_and_value / diffops.vector_jacobian_product")
            (g,) = vjp_nodes([self.out], [self.x], [const(np.ones((), self.out.dtype))])
            return zero_if_none(g, self.x.shape, self.x.dtype)
        return self._get("grad", make)

    def jacobian(self) -> Node:
        return self._get("jac", lambda: jac_nodes(self.out, [self.x], "auto")[2][0][0])

    def hessian(self) -> Node:
        return self._get("hess", lambda: jac_nodes(self.grad(), [self.x], "fwd")[2][0][0])

    def _op(self, name, shape, fn):
        v = make_input(name, shape, self.x.dtype)
        return Operator([name], [v], fn(v))

    def hvp_op(self) -> Operator:
        g = self.grad()
        return self._op("v", self.x.shape,
                        lambda v: zero_if_none(jvp_nodes([g], [self.x], [v])[0], self.x.shape, self.x.dtype))

    def jvp_op(self) -> Operator:
        o = self.out
        return self._op("v", self.x.shape,
                        lambda v: zero_if_none(jvp_nodes([o], [self.x], [v])[0], o.shape, o.dtype))

    def vjp_op(self) -> Operator:
        o = self.out
        return self._op("v", o.shape,
                        lambda v: zero_if_none(vjp_nodes([o], [self.x], [v])[0], self.x.shape, self.x.dtype))

    def mhp_op(self) -> Operator:
        J = self.jacobian()
        return self._op("m", J.shape,
                        lambda m: zero_if_none(vjp_nodes([J], [self.x], [m])[0], self.x.shape, self.x.dtype))

    def mtp_op(self) -> Operator:
        H = self.hessian()
        return self._op("m", H.shape,
                        lambda m: zero_if_none(vjp_nodes([H], [self.x], [m])[0], self.x.shape, self.x.dtype))
