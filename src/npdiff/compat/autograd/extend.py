"""autograd.extend: ``primitive`` with ``defvjp`` / ``defjvp`` rules, on npdiff's ``custom_vjp`` / ``custom_jvp``.

``@primitive`` marks a function whose derivative the user gives:
``defvjp(f, make_vjp_0, make_vjp_1, ...)`` with ``make_vjp_i(ans, *args, **kwargs)
-> (g -> cotangent of argument i)``, and ``defjvp(f, jvp_0, ...)`` with
``jvp_i(g, ans, *args, **kwargs) -> tangent of the output`` for a tangent ``g``
of argument i (autograd's conventions). A function with JVP rules becomes a
``custom_jvp`` (forward and reverse mode: npdiff transposes the JVP, which must
be linear in g); one with only VJP rules a ``custom_vjp`` (reverse mode only,
as in autograd). The rules are traced like any NumPy code, so generated code
stays plain NumPy. Only the arguments holding traced values are differentiated;
the others (ints, strings, arrays of data) pass to the rules as given.
Differentiating in an argument that has no rule raises ``NotImplementedError``.
"""
from __future__ import annotations

import functools
import itertools
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from ...api.custom import custom_jvp, custom_vjp, stop_gradient
from ...errors import UnsupportedOperationError
from ...tracing.tracer import Tracer, is_traced, node_of, tracing
from ...tree_util import tree_leaves, tree_map
from ._nary import _NOKEY, value_key

__all__ = ["primitive", "defvjp", "defjvp", "defvjp_argnum", "defjvp_argnum", "def_linear", "notrace_primitive",
           "vspace", "Box", "VSpace"]

RULES_KEPT = 256  # rule objects kept alive per primitive (a rule is looked up while its call is differentiated)
_fresh = itertools.count()


class primitive:
    """A function with autograd-style derivative rules (``defvjp``, ``defjvp``); calls pass through to it."""

    def __init__(self, fun: Callable):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.vjps: dict = {}  # argnum -> make_vjp(ans, *args, **kwargs)
        self.jvps: dict = {}  # argnum -> jvp(g, ans, *args, **kwargs)
        self.vjp_argnum = self.jvp_argnum = None
        self._rules: OrderedDict = OrderedDict()

    def vjp_maker(self, i: int):
        """Return the VJP maker of argument i (ans, *args, **kwargs) -> (g -> cotangent), or None."""
        if i in self.vjps:
            return self.vjps[i]
        if self.vjp_argnum is not None:
            return lambda ans, *args, **kw: self.vjp_argnum(i, ans, args, kw)
        return None

    def jvp_of(self, i: int):
        """Return the JVP of argument i (g, ans, *args, **kwargs) -> output tangent, or None."""
        if i in self.jvps:
            return self.jvps[i]
        if self.jvp_argnum is not None:
            return lambda g, ans, *args, **kw: self.jvp_argnum(i, g, ans, args, kw)
        return None

    def __call__(self, *args, **kwargs):
        pos = tuple(i for i, a in enumerate(args) if is_traced(a))
        if not pos:
            return self.fun(*args, **kwargs)
        return self._rule(pos, args, kwargs)(*[args[i] for i in pos])

    def _rule(self, pos, args, kwargs):
        """Return the custom_jvp / custom_vjp object for these traced positions and other arguments (cached by value)."""
        keys = tuple((j, value_key(a)) for j, a in enumerate(args) if j not in pos)
        kw = tuple(sorted((k, value_key(v)) for k, v in kwargs.items()))
        key = (pos, keys, kw)
        if any(k is _NOKEY for _, k in keys + kw):
            key = ("fresh", next(_fresh))  # arrays of data among the other arguments: a rule for this call
        rule = self._rules.get(key)
        if rule is None:
            cls = _JvpRule if (self.jvps or self.jvp_argnum or not (self.vjps or self.vjp_argnum)) else _VjpRule
            rule = cls(self, pos, args, dict(kwargs))
            self._rules[key] = rule
            if len(self._rules) > RULES_KEPT:
                self._rules.popitem(last=False)
        return rule

    def _changed(self):
        self._rules.clear()


def _filler(pos, args):
    """Return full(vals): args with the traced positions replaced by vals."""
    template = list(args)

    def full(vals):
        out = list(template)
        for i, v in zip(pos, vals):
            out[i] = v
        return out
    return full


def _missing(owner, i, kind):
    name = getattr(owner, "__name__", "primitive")
    fn = "defjvp" if kind == "JVP" else "defvjp"
    return NotImplementedError(f"autograd primitive {name!r} has no {kind} for argument {i}; "
                               f"differentiating in it needs one: {fn}({name}, ..., argnums=[{i}])")


def _add(a, b):
    return b if a is None else tree_map(lambda x, y: x + y, a, b)


class _JvpRule(custom_jvp):
    """custom_jvp of an autograd primitive at fixed untraced arguments: the sum of the per-argument JVPs."""

    def __init__(self, owner, pos, args, kwargs):
        self.owner, self.pos, self.full, self.kwargs = owner, pos, _filler(pos, args), kwargs
        super().__init__(lambda *vals: owner.fun(*self.full(vals), **kwargs))
        self.__name__ = getattr(owner, "__name__", "primitive")
        self.jvp_rule = self._unused

    @staticmethod
    def _unused(primals, tangents):  # pragma: no cover - tangent() below is what the primitives call
        raise AssertionError

    def tangent(self, args, tangents, index, present=None):
        with tracing():
            primals = [Tracer(a) for a in args]
            full = self.full(primals)
            ans = self.owner.fun(*full, **self.kwargs)
            total = None
            for k, i in enumerate(self.pos):
                if present is not None and not present[k]:
                    continue  # no tangent flows into this argument
                jvp = self.owner.jvp_of(i)
                if jvp is None:
                    raise _missing(self.owner, i, "JVP")
                total = _add(total, jvp(Tracer(tangents[k]), ans, *full, **self.kwargs))
            if total is None:
                total = tree_map(np.zeros_like, ans)
            total = tree_map(lambda t, a: np.broadcast_to(t, np.shape(a)), total, ans)
        return [node_of(l) for l in tree_leaves(total)][index]


class _VjpRule(custom_vjp):
    """custom_vjp of an autograd primitive at fixed untraced arguments: one VJP maker per argument."""

    def __init__(self, owner, pos, args, kwargs):
        self.owner, self.pos, self.full, self.kwargs = owner, pos, _filler(pos, args), kwargs
        super().__init__(lambda *vals: owner.fun(*self.full(vals), **kwargs))
        self.__name__ = getattr(owner, "__name__", "primitive")
        self._needed = None
        self.defvjp(self._fwd, self._bwd)

    def _fwd(self, *vals):
        ans = self.owner.fun(*self.full(vals), **self.kwargs)
        return ans, (ans, vals)

    def _bwd(self, res, g):
        ans, vals = res
        full, out = self.full(vals), []
        for k, i in enumerate(self.pos):
            if self._needed is not None and not self._needed[k]:
                out.append(None)  # this argument's cotangent is not used
                continue
            maker = self.owner.vjp_maker(i)
            if maker is None:
                raise _missing(self.owner, i, "VJP")
            out.append(maker(ans, *full, **self.kwargs)(g))
        return tuple(out)

    def cotangents(self, res_struct, res_nodes, out_struct, index, ct, nargs, needed=None):
        self._needed = needed
        try:
            return super().cotangents(res_struct, res_nodes, out_struct, index, ct, nargs, needed)
        finally:
            self._needed = None


def _target(fun) -> primitive:
    if not isinstance(fun, primitive):
        raise TypeError(f"{getattr(fun, '__name__', fun)!r} is not an autograd primitive: decorate it with @primitive")
    return fun


def defvjp(fun: primitive, *vjpmakers, argnums=None) -> None:
    """Set the VJP makers of fun's arguments (``None``: no rule for that argument); return None."""
    fun = _target(fun)
    for i, maker in zip(range(len(vjpmakers)) if argnums is None else argnums, vjpmakers):
        if maker is not None:
            fun.vjps[i] = maker
    fun._changed()


def defjvp(fun: primitive, *jvpfuns, argnums=None) -> None:
    """Set the JVPs of fun's arguments, each (g, ans, *args, **kwargs) -> output tangent; return None."""
    fun = _target(fun)
    for i, jvp in zip(range(len(jvpfuns)) if argnums is None else argnums, jvpfuns):
        if jvp is not None:
            fun.jvps[i] = jvp
    fun._changed()


def defvjp_argnum(fun: primitive, vjpmaker: Callable) -> None:
    """Set one VJP maker for every argument: vjpmaker(argnum, ans, args, kwargs) -> (g -> cotangent); return None."""
    _target(fun).vjp_argnum = vjpmaker
    fun._changed()


def defjvp_argnum(fun: primitive, jvpmaker: Callable) -> None:
    """Set one JVP for every argument: jvpmaker(argnum, g, ans, args, kwargs) -> output tangent; return None."""
    _target(fun).jvp_argnum = jvpmaker
    fun._changed()


def def_linear(fun: primitive) -> None:
    """Declare fun linear in each argument: its JVP in argument i is fun with g in place of argument i; return None."""
    def jvp(argnum, g, ans, args, kwargs):
        full = list(args)
        full[argnum] = g
        return fun.fun(*full, **kwargs)
    defjvp_argnum(fun, jvp)


def notrace_primitive(fun: Callable) -> Callable:
    """Return fun called on its arguments with their derivatives cut (npdiff.stop_gradient): its output is a constant."""
    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        return fun(*[stop_gradient(a) for a in args], **kwargs)
    return wrapped


def _internal(name: str) -> Callable:
    def stub(*args, **kwargs):
        raise UnsupportedOperationError(
            f"autograd.extend.{name}: autograd's vector spaces and boxes have no counterpart in npdiff "
            "(it traces plain NumPy code); write the rule with defvjp / defjvp on NumPy arrays")
    stub.__name__ = name
    return stub


vspace, Box, VSpace = _internal("vspace"), _internal("Box"), _internal("VSpace")
