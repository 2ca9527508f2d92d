"""Random draws as primitives: ``rng_new`` (a Generator or RandomState made in the function) and ``draw``.

A ``draw`` node is one call of a NumPy random method in the generated code:
``np.random.standard_normal(size=(3,))`` for the legacy global state, or
``rng.standard_normal(size=(3,))`` on a Generator (a constant holding the
user's Generator or RandomState object, or an ``rng_new`` node emitted as
``np.random.default_rng(seed)`` or ``np.random.RandomState(seed)``); ``permutation`` is emitted
as ``permutation(n)``. Draws are never folded or shared: each has a
unique ``uid`` param. Their derivative is zero (location/scale parameters are
applied outside the draw, see ``lower/random.py``). A draw's arguments after
the generator are earlier draws from the same generator, so that the emitted
code draws in program order.
"""
from __future__ import annotations

import numpy as np

from .registry import NOT_SCALAR, Primitive, register


def _kw_source(kw) -> str:
    return "".join(f", {k}={_value_source(v)}" for k, v in kw)


def _value_source(v) -> str:
    if isinstance(v, np.dtype):
        return f"np.{v.name}"
    return repr(v)


def _emit_draw(names, node):
    p = node.p
    size = tuple(p["size"])
    if p["method"] == "permutation":  # no size argument: permutation(n)
        call = f"permutation({dict(p['kw'])['x']!r})"
    else:
        call = f"{p['method']}(size={size!r}{_kw_source(p['kw'])})"
    if p["legacy"]:
        return f"np.random.{call}"
    return f"{names[0]}.{call}"


def _impl_draw(*args, method, size, kw, legacy, uid, dtype):
    gen = np.random if legacy else np.asarray(args[0])[()]
    if method == "permutation":
        return gen.permutation(dict(kw)["x"])
    return getattr(gen, method)(size=size, **dict(kw))


register(Primitive(
    "draw", lambda *args, method, size, kw, legacy, uid, dtype: (tuple(size), dtype),
    _impl_draw, _emit_draw, nondiff=True, fold=False,
    elementwise=False, owns=True, scalar=NOT_SCALAR))


def _impl_rng_new(*, seed, uid, kind="default_rng"):
    out = np.empty((), object)
    out[()] = getattr(np.random, kind)(seed)
    return out


register(Primitive(
    "rng_new", lambda *, seed, uid, kind="default_rng": ((), np.dtype(object)), _impl_rng_new,
    lambda names, node: f"np.random.{node.p.get('kind', 'default_rng')}({node.p['seed']!r})", nondiff=True,
    fold=False,
    short="rng", elementwise=False, owns=False, scalar=NOT_SCALAR))
