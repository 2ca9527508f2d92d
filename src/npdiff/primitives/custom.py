"""The primitives behind ``custom_jvp`` and ``custom_vjp`` (api/custom.py).

``custom_jvp_out(primal, *args, rule=, index=)`` is output ``index`` of a
function whose forward derivative is the user's rule; ``custom_vjp_out`` is
the same for a function with a reverse rule, and ``custom_vjp_lin`` is the
linear map (tangents of the arguments -> tangent of the output) whose
transpose runs the user's backward rule. The rules are user code: the
primitives ask the rule object (``RULES[rule]``, registered by api/custom.py)
to trace it, so this file knows nothing of tracing.

A rule object provides
  ``tangent(args, tangents, index, present) -> Node`` (custom_jvp; ``present[i]``: argument i has a
  tangent, the others get zeros),
  ``residuals(args) -> (list of Node, structure)`` and
  ``cotangents(res_struct, res_nodes, out_struct, index, ct, nargs, needed) -> list of Node | None``
  (``needed[i]``: the cotangent of argument i is used)
  (custom_vjp).
"""
from __future__ import annotations

import itertools
import weakref

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.indexsets import DENSE
from .helpers import zeros
from .indexing import gather_b
from .registry import NOT_SCALAR, Primitive, apply, register

RULES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # key -> rule object (not kept alive)
STRUCTS: dict[int, object] = {}  # key -> pytree structure (of outputs, of residuals)
_ids = itertools.count()


def new_key() -> int:
    """Return a fresh key for RULES / STRUCTS."""
    return next(_ids)


def per_batch(fn, batched: list, nb: int):
    """Return fn applied to each slice of the leading batch axes, restacked (rules are unbatched)."""
    ref = next(t for t in batched if t is not None)
    bshape = ref.shape[:nb]
    n = int(np.prod(bshape))
    flat = [None if t is None else apply("reshape", t, shape=(n,) + t.shape[nb:]) for t in batched]
    outs = [fn([None if t is None else gather_b(t, (), (("i", k),), 0) for t in flat]) for k in range(n)]
    stacked = apply("stack", *outs, axis=0)
    return apply("reshape", stacked, shape=bshape + outs[0].shape)


def _passthrough(em, node):
    """Scalar rule of the custom outputs: the value is the primal's."""
    return em.val(node.args[0])


# -- custom_jvp ---------------------------------------------------------------------------

def _jvp_custom_jvp(ts, primal, *args, out, nb, rule, index):
    obj = RULES[rule]
    arg_ts = list(ts[1:])
    if all(t is None for t in arg_ts):
        return None

    present = tuple(t is not None for t in arg_ts)  # the arguments with a tangent (the others get zeros)

    def one(tangents):
        tans = [t if t is not None else zeros(a.shape, a.dtype) for t, a in zip(tangents, args)]
        return obj.tangent(args, tans, index, present)
    if nb == 0:
        return one(arg_ts)
    return per_batch(one, arg_ts, nb)


register(Primitive("custom_jvp_out", lambda primal, *args, rule, index: (primal.shape, primal.dtype),
                   lambda primal, *args, rule, index: primal, "{0}", jvp=_jvp_custom_jvp,
                   diff_args=lambda node: range(1, len(node.args)), fold=False,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=_passthrough))


# -- custom_vjp ---------------------------------------------------------------------------

def _jvp_custom_vjp(ts, primal, *args, out, nb, rule, index, struct):
    obj = RULES[rule]
    arg_ts = list(ts[1:])
    if all(t is None for t in arg_ts):
        return None
    res_nodes, rs = obj.residuals(args)
    rid = new_key()
    STRUCTS[rid] = rs

    def one(tangents):
        tans = [t if t is not None else zeros(a.shape, a.dtype) for t, a in zip(tangents, args)]
        return apply("custom_vjp_lin", *tans, *res_nodes, rule=rule, index=index, struct=struct,
                     nargs=len(args), res=rid, shape=out.shape, odtype=out.dtype)
    return one(arg_ts) if nb == 0 else per_batch(one, arg_ts, nb)


register(Primitive("custom_vjp_out", lambda primal, *args, rule, index, struct: (primal.shape, primal.dtype),
                   lambda primal, *args, **p: primal, "{0}", jvp=_jvp_custom_vjp,
                   diff_args=lambda node: range(1, len(node.args)), fold=False,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=_passthrough))


def _t_custom_vjp_lin(ct, *args, lin, nb, rule, index, struct, nargs, res, shape, odtype):
    obj = RULES[rule]
    res_nodes = args[nargs:]

    needed = tuple(bool(lin[j]) for j in range(nargs))  # the arguments whose cotangent is used

    def one(c):
        return obj.cotangents(STRUCTS[res], res_nodes, STRUCTS[struct], index, c, nargs, needed)
    if nb == 0:
        grads = one(ct)
    else:
        bshape = ct.shape[:nb]
        n = int(np.prod(bshape))
        flat = apply("reshape", ct, shape=(n,) + ct.shape[nb:])
        per = [one(gather_b(flat, (), (("i", k),), 0)) for k in range(n)]
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


# lives only between linearization and transposition: never emitted, never unrolled
register(Primitive("custom_vjp_lin", lambda *args, shape, odtype, **p: (shape, odtype),
                   lambda *a, **p: _no_forward(None, None), _no_forward, jvp=_jvp_lin,
                   transpose=_t_custom_vjp_lin, linear=True, fold=False,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
