"""custom_jvp and custom_vjp: user-supplied derivative rules, with JAX's names
and semantics. Function and rules are plain NumPy code traced like everything
else, so generated code stays plain NumPy.
"""
from __future__ import annotations

import functools
import itertools

import numpy as np

from ..errors import UnsupportedOperationError
from ..graph import Node
from ..primitives import Primitive, apply, register
from ..primitives.helpers import zeros
from ..primitives.indexing import gather_b
from ..pytree import tree_flatten, tree_unflatten
from ..trace import Tracer, is_traced, node_of, tracing

_RULES: dict[int, object] = {}
_STRUCTS: dict[int, object] = {}
_ids = itertools.count()


def _leaves(tree) -> list[Node]:
    return [node_of(l) for l in tree_flatten(tree)[0]]


def _per_batch(fn, batched: list, nb: int):
    """Return fn applied to each slice of the leading batch axes, restacked (rules are unbatched)."""
    ref = next(t for t in batched if t is not None)
    bshape = ref.shape[:nb]
    n = int(np.prod(bshape))
    flat = [None if t is None else apply("reshape", t, shape=(n,) + t.shape[nb:]) for t in batched]
    outs = [fn([None if t is None else gather_b(t, (), (("i", k),), 0) for t in flat]) for k in range(n)]
    stacked = apply("stack", *outs, axis=0)
    return apply("reshape", stacked, shape=bshape + outs[0].shape)


class custom_jvp:
    """Wrap f so that its forward-mode derivative is given by a rule (``f.defjvp(rule)``)."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp_rule = None
        self.key = next(_ids)
        _RULES[self.key] = self

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


def _jvp_custom_jvp(ts, primal, *args, out, nb, rule, index):
    obj = _RULES[rule]
    arg_ts = list(ts[1:])
    if all(t is None for t in arg_ts):
        return None

    def one(tangents):
        tans = tuple(Tracer(t if t is not None else zeros(a.shape, a.dtype)) for t, a in zip(tangents, args))
        with tracing():
            _, tout = obj.jvp_rule(tuple(Tracer(a) for a in args), tans)
        return _leaves(tout)[index]
    if nb == 0:
        return one(arg_ts)
    return _per_batch(one, arg_ts, nb)


register(Primitive("custom_jvp_out", lambda primal, *args, rule, index: (primal.shape, primal.dtype),
                   lambda primal, *args, rule, index: primal, "{0}", jvp=_jvp_custom_jvp,
                   diff_args=lambda node: range(1, len(node.args)), fold=False))


class custom_vjp:
    """Wrap f so that its reverse-mode derivative is given by ``f.defvjp(fwd, bwd)``."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd = self.bwd = None
        self.key = next(_ids)
        _RULES[self.key] = self

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
        sid = next(_ids)
        _STRUCTS[sid] = s
        outs = [apply("custom_vjp_out", node_of(l), *nodes, rule=self.key, index=i, struct=sid)
                for i, l in enumerate(leaves)]
        return tree_unflatten(s, [Tracer(o) for o in outs])


def _jvp_custom_vjp(ts, primal, *args, out, nb, rule, index, struct):
    obj = _RULES[rule]
    arg_ts = list(ts[1:])
    if all(t is None for t in arg_ts):
        return None
    with tracing():
        _, res = obj.fwd(*[Tracer(a) for a in args])
    rl, rs = tree_flatten(res)
    rid = next(_ids)
    _STRUCTS[rid] = rs
    res_nodes = [node_of(r) for r in rl]

    def one(tangents):
        tans = [t if t is not None else zeros(a.shape, a.dtype) for t, a in zip(tangents, args)]
        return apply("custom_vjp_lin", *tans, *res_nodes, rule=rule, index=index, struct=struct,
                     nargs=len(args), res=rid, shape=out.shape, odtype=out.dtype)
    return one(arg_ts) if nb == 0 else _per_batch(one, arg_ts, nb)


register(Primitive("custom_vjp_out", lambda primal, *args, rule, index, struct: (primal.shape, primal.dtype),
                   lambda primal, *args, **p: primal, "{0}", jvp=_jvp_custom_vjp,
                   diff_args=lambda node: range(1, len(node.args)), fold=False))


def _t_custom_vjp_lin(ct, *args, lin, nb, rule, index, struct, nargs, res, shape, odtype):
    obj = _RULES[rule]
    res_nodes = args[nargs:]
    outs_struct = _STRUCTS[struct]
    n_out = len(_count(outs_struct))

    def one(cts):
        c = cts[0]
        leaves = [c if i == index else None for i in range(n_out)]
        ct_tree = tree_unflatten(outs_struct, [Tracer(l) if l is not None else None for l in leaves])
        if n_out == 1:
            ct_tree = Tracer(c)
        with tracing():
            grads = obj.bwd(tree_unflatten(_STRUCTS[res], [Tracer(r) for r in res_nodes]), ct_tree)
        if not isinstance(grads, (tuple, list)) or len(grads) != nargs:
            raise TypeError(f"custom_vjp bwd of {obj.__name__} must return a tuple of {nargs} cotangents")
        return [None if g is None else node_of(g) for g in grads]
    if nb == 0:
        grads = one([ct])
    else:
        ref = ct
        bshape = ref.shape[:nb]
        n = int(np.prod(bshape))
        flat = apply("reshape", ct, shape=(n,) + ct.shape[nb:])
        per = [one([gather_b(flat, (), (("i", k),), 0)]) for k in range(n)]
        grads = []
        for j in range(nargs):
            parts = [p[j] if p[j] is not None else zeros(args[j].shape, args[j].dtype) for p in per]
            grads.append(apply("reshape", apply("stack", *parts, axis=0), shape=bshape + args[j].shape))
    out = []
    for j in range(len(args)):
        if j < nargs and lin[j] and grads[j] is not None:
            g = grads[j]
            want = ct.shape[:nb] + args[j].shape
            out.append(g if g.shape == want else apply("broadcast_to", g, shape=want))
        else:
            out.append(None)
    return out


def _count(struct):
    leaves = []

    def rec(s):
        if s[0] == "leaf":
            leaves.append(0)
        elif s[0] in ("tuple", "list"):
            for e in s[1]:
                rec(e)
        elif s[0] == "dict":
            for e in s[2]:
                rec(e)
    rec(struct)
    return leaves


def _no_forward(names, node):
    raise UnsupportedOperationError(
        "forward-mode differentiation of a custom_vjp function is not supported (as in JAX); "
        "use reverse mode (grad, jacrev, vjp) or give the function a custom_jvp rule")


def _jvp_lin(ts, *args, out, nb, **p):
    nargs = p["nargs"]
    tans = list(ts[:nargs])
    if all(t is None for t in tans):
        return None
    if nb:
        raise UnsupportedOperationError("batched forward mode through a custom_vjp function is not supported")
    tans = [t if t is not None else zeros(a.shape, a.dtype) for t, a in zip(tans, args)]
    return apply("custom_vjp_lin", *tans, *args[nargs:], **p)


register(Primitive("custom_vjp_lin", lambda *args, shape, odtype, **p: (shape, odtype),
                   lambda *a, **p: _no_forward(None, None), _no_forward, jvp=_jvp_lin,
                   transpose=_t_custom_vjp_lin, linear=True, fold=False))
