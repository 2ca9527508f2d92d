"""Slices whose start is a run-time value: ``X[i * bs:(i + 1) * bs]`` with ``i`` an argument.

``dynamic_slice(x, start, axis=, size=)`` is ``x[..., start:start + size, ...]`` along ``axis``, with
``start`` a 0-d integer node (an input of the generated code, or computed from one) and ``size``
static: the lowering guards only the slice's length, so one generated function serves every start
(the minibatch loop) instead of one path per value. Linear in x; its transpose is
``dynamic_pad(ct, start, axis=, n=)``, ct placed at ``start`` in zeros of length n (linear, whose
transpose is the slice again). ``start`` has no derivative (an integer).
"""
from __future__ import annotations

import numpy as np

from ..ir.indexsets import DENSE
from .helpers import dtype_kw
from .registry import NOT_SCALAR, Primitive, apply, register


def _slice_rule(x, start, axis, size):
    return x.shape[:axis] + (size,) + x.shape[axis + 1:], x.dtype


def _slice_impl(x, start, axis, size):
    s = int(start)
    return np.asarray(x)[(slice(None),) * axis + (slice(s, s + size),)]


def _emit_slice(names, node):
    axis, size = node.p["axis"], node.p["size"]
    return f"{names[0]}[{':, ' * axis}{names[1]}:{names[1]} + {size}]"


def _jvp_slice(ts, x, start, out, nb, axis, size):
    if ts[0] is None:
        return None
    return apply("dynamic_slice", ts[0], start, axis=axis + nb, size=size)


def _t_slice(ct, x, start, lin, nb, axis, size):
    return [apply("dynamic_pad", ct, start, axis=axis + nb, n=x.shape[axis]), None]


register(Primitive("dynamic_slice", _slice_rule, _slice_impl, _emit_slice, jvp=_jvp_slice, transpose=_t_slice,
                   linear=True, fold=False, short="dsl", owns=False, elementwise=False, sparsity=DENSE,
                   scalar=NOT_SCALAR))


def _pad_rule(ct, start, axis, n):
    return ct.shape[:axis] + (n,) + ct.shape[axis + 1:], ct.dtype


def _pad_impl(ct, start, axis, n):
    ct = np.asarray(ct)
    out = np.zeros(ct.shape[:axis] + (n,) + ct.shape[axis + 1:], ct.dtype)
    s = int(start)
    out[(slice(None),) * axis + (slice(s, s + ct.shape[axis]),)] = ct
    return out


def _emit_pad(names, node):
    axis, size = node.p["axis"], node.args[0].shape[node.p["axis"]]
    return [f"{{out}} = np.zeros({node.shape}{dtype_kw(node)})",
            f"{{out}}[{':, ' * axis}{names[1]}:{names[1]} + {size}] = {names[0]}"]


def _jvp_pad(ts, ct, start, out, nb, axis, n):
    if ts[0] is None:
        return None
    return apply("dynamic_pad", ts[0], start, axis=axis + nb, n=n)


def _t_pad(ct, v, start, lin, nb, axis, n):
    return [apply("dynamic_slice", ct, start, axis=axis + nb, size=v.shape[axis]), None]


register(Primitive("dynamic_pad", _pad_rule, _pad_impl, _emit_pad, jvp=_jvp_pad, transpose=_t_pad,
                   linear=True, fold=False, short="dpad", owns=True, elementwise=False, sparsity=DENSE,
                   scalar=NOT_SCALAR))
