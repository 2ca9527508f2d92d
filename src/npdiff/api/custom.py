"""custom_jvp and custom_vjp: user-supplied derivative rules, with JAX's names
and semantics; stop_gradient, the identity whose derivative is zero. Function and rules are plain NumPy code traced like everything
else, so generated code stays plain NumPy.

The primitives (``custom_jvp_out``, ``custom_vjp_out``, ``custom_vjp_lin``)
live in primitives/custom.py; the classes here wrap the user's functions and
trace the user's rules when those primitives ask for them.
"""
from __future__ import annotations

import functools

from ..errors import UnsupportedOperationError
from ..ir.graph import Node
from ..ir.pytree import num_leaves, tree_flatten, tree_map, tree_unflatten
from ..primitives import apply
from ..primitives.custom import RULES, STRUCTS, new_key
from ..tracing.tracer import Tracer, is_traced, node_of, tracing


def _leaves(tree) -> list[Node]:
    return [node_of(l) for l in tree_flatten(tree)[0]]


class custom_jvp:
    """Wrap f so that its forward-mode derivative is given by a rule (``f.defjvp(rule)``)."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp_rule = None
        self.key = new_key()
        RULES[self.key] = self

    def defjvp(self, rule):
        """Set rule(primals, tangents) -> (primal_out, tangent_out); return the rule."""
        self.jvp_rule = rule
        return rule

    def __call__(self, *args):
        if not any(is_traced(a) for a in args):
            return self.fun(*args)
        if self.jvp_rule is None:
            raise UnsupportedOperationError(f"custom_jvp function {self.__name__} has no rule: call .defjvp")
        nodes = [node_of(a) for a in args]
        out = self.fun(*[Tracer(n) for n in nodes])
        leaves, s = tree_flatten(out)
        outs = [apply("custom_jvp_out", node_of(l), *nodes, rule=self.key, index=i) for i, l in enumerate(leaves)]
        return tree_unflatten(s, [Tracer(o) for o in outs])

    def tangent(self, args: list[Node], tangents: list[Node], index: int, present=None) -> Node:
        """Return the tangent of output ``index`` from the user's rule, traced at args (``present``: unused here)."""
        with tracing():
            _, tout = self.jvp_rule(tuple(Tracer(a) for a in args), tuple(Tracer(t) for t in tangents))
        return _leaves(tout)[index]


class custom_vjp:
    """Wrap f so that its reverse-mode derivative is given by ``f.defvjp(fwd, bwd)``."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd = self.bwd = None
        self.key = new_key()
        RULES[self.key] = self

    def defvjp(self, fwd, bwd):
        """Set fwd(*args) -> (out, residuals) and bwd(residuals, ct) -> tuple of cotangents."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if not any(is_traced(a) for a in args):
            return self.fun(*args)
        if self.fwd is None:
            raise UnsupportedOperationError(f"custom_vjp function {self.__name__} has no rule: call .defvjp")
        nodes = [node_of(a) for a in args]
        out = self.fun(*[Tracer(n) for n in nodes])
        leaves, s = tree_flatten(out)
        sid = new_key()
        STRUCTS[sid] = s
        outs = [apply("custom_vjp_out", node_of(l), *nodes, rule=self.key, index=i, struct=sid)
                for i, l in enumerate(leaves)]
        return tree_unflatten(s, [Tracer(o) for o in outs])

    def residuals(self, args: list[Node]):
        """Return (residual nodes, their pytree structure) from the user's fwd, traced at args."""
        with tracing():
            _, res = self.fwd(*[Tracer(a) for a in args])
        rl, rs = tree_flatten(res)
        return [node_of(r) for r in rl], rs

    def cotangents(self, res_struct, res_nodes, out_struct, index: int, ct: Node, nargs: int, needed=None) -> list:
        """Return the cotangents of the arguments (Node or None) from the user's bwd, given the
        cotangent ``ct`` of output ``index`` (the other outputs' cotangents are zero; ``needed``: unused here)."""
        n_out = num_leaves(out_struct)
        leaves = [ct if i == index else None for i in range(n_out)]
        ct_tree = tree_unflatten(out_struct, [Tracer(l) if l is not None else None for l in leaves])
        if n_out == 1:
            ct_tree = Tracer(ct)
        with tracing():
            grads = self.bwd(tree_unflatten(res_struct, [Tracer(r) for r in res_nodes]), ct_tree)
        if not isinstance(grads, (tuple, list)) or len(grads) != nargs:
            raise TypeError(f"custom_vjp bwd of {self.__name__} must return a tuple of {nargs} cotangents")
        return [None if g is None else node_of(g) for g in grads]


def stop_gradient(x):
    """Return x unchanged, with a zero derivative (JAX's lax.stop_gradient; pytrees leaf by leaf)."""
    def one(leaf):
        return Tracer(apply("stop_gradient", node_of(leaf))) if is_traced(leaf) else leaf
    return tree_map(one, x)
