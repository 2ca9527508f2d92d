"""Directional ODE sensitivities and the adjoint method (reverse mode through solve_ivp / odeint).

For one tangent direction ``v`` (parameters, then initial state) the tangent of the ODE solution is the
``s`` part of ``y' = f, s' = f_y s + f_theta v_theta, s(t0) = v_y0`` (2n states, whatever the number of
parameters): the node ``solver_lin(*primals, v)`` (``DirSpec``), linear in v. Its transpose, what reverse
mode needs, is the adjoint method (``AdjSpec``): SciPy solves y forward with dense output, then
``lambda' = -f_y^T lambda``, ``mu' = -f_theta^T lambda`` backward from the last output time, adding
each output time's cotangent to lambda; the cotangent of v is ``[mu(t0), lambda(t0)]``. The products
``f_y s``, ``f_y^T lambda``... are graphs npdiff generates (jvp / vjp of the right-hand side).

Higher orders through these nodes are taken from the full forward sensitivities (``OdeSpec.sens``):
the derivative of ``S v`` or ``S^T c`` with respect to the primal arguments, through the augmented system.
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import Node, make_input
from ..primitives import apply
from ..primitives.helpers import zeros
from ..primitives.solvers import Program, new_spec
from ..transforms.jvp import jvp_nodes
from ..transforms.substitute import substitute
from ..transforms.vjp import vjp_nodes
from ._solvers import F64, RuntimeSpec, Traced, unpack
from .integrate import INTEGRATE


def _solve_ivp():
    """Return SciPy's own solve_ivp (not npdiff's stand-in)."""
    import scipy.integrate
    return INTEGRATE.originals.get("solve_ivp") or scipy.integrate.solve_ivp


def directional(spec, args: list, v: Node) -> Node:
    """Return the (n_t, n) tangent S v of an OdeSpec's solution along v (P,), as a linear solver node."""
    if getattr(spec, "dir", None) is None:
        spec.dir = DirSpec(spec)
    node = apply("solver_lin", *args, v, key=spec.dir.key, shape=(spec.n_t * spec.n + 2,), dtype=F64)
    return apply("reshape", unpack(node, 0, spec.n_t * spec.n), shape=(spec.n_t, spec.n))


def _split(flat: Node, like: list) -> list:
    """Return flat (P,) cut into pieces shaped like the nodes in ``like``."""
    out, at = [], 0
    for w in like:
        out.append(apply("reshape", apply("gather", flat, index=(("s", at, at + w.size, 1),)), shape=w.shape))
        at += w.size
    return out


def _generic_tangent(expr: Node, ts, args, nb):
    """Return the tangent of expr (a graph on args) for the argument tangents ts."""
    return jvp_nodes([expr], list(args), list(ts), nb=nb)[0]


def _rows(fn, ct: Node, nb: int) -> Node:
    """Return fn applied to each row of ct's nb batch axes, stacked back."""
    batch = ct.shape[:nb]
    nbat = int(np.prod(batch))
    flat = apply("reshape", ct, shape=(nbat,) + ct.shape[nb:])
    rows = [fn(apply("reshape", apply("gather", flat, index=(("s", i, i + 1, 1),)), shape=ct.shape[nb:]))
            for i in range(nbat)]
    out = apply("stack", *rows, axis=0)
    return apply("reshape", out, shape=batch + out.shape[1:])


class DirSpec(RuntimeSpec):
    """S v: the s part of the ODE for (y, s = S v), linear in v (the last argument)."""

    def __init__(self, primal):
        self.primal, tr, n = primal, primal.traced, primal.n
        self.p_theta = sum(p.size for p in tr.param_ins)
        self.P = self.p_theta + n
        t2, ys, v = make_input("t", (), F64), make_input("ys", (2 * n,), F64), make_input("v", (self.P,), F64)
        y = apply("reshape", apply("gather", ys, index=(("s", 0, n, 1),)), shape=primal.y.shape)
        s = apply("reshape", apply("gather", ys, index=(("s", n, 2 * n, 1),)), shape=primal.y.shape)
        f = tr.outputs[0]
        df = jvp_nodes([f], [primal.y] + list(tr.param_ins), [s] + _split(v, tr.param_ins))[0]
        df = zeros(f.shape, F64) if df is None else df
        f, df = substitute([f, df], {id(primal.t): t2, id(primal.y): y})
        rhs = apply("concatenate", apply("reshape", f, shape=(n,)), apply("reshape", df, shape=(n,)), axis=0)
        self.traced = Traced.from_graph([t2, ys], tr, [rhs], extra_ins=[v])
        self.adj = None
        self.bind("ode_direction", primal.original, [self.traced], {**primal.run_static(), "p_theta": self.p_theta})
        self.key = new_spec(self)

    def tangent(self, ts, args, out, nb):
        """Return the tangent of S v from the full sensitivities (second and higher orders)."""
        pr = self.primal
        sv = apply("einsum", pr.sens(args[:-1]), args[-1], spec="tnp,p->tn")
        expr = apply("concatenate", apply("reshape", sv, shape=(pr.n_t * pr.n,)), zeros((2,), F64), axis=0)
        return _generic_tangent(expr, ts, args, nb)

    def transpose(self, ct, args, nb):
        """Return S^T ct: the adjoint method per cotangent (up to P of them), else the full sensitivities."""
        pr = self.primal
        if self.adj is None:
            self.adj = AdjSpec(self)
        if nb == 0:
            return apply("solver_lin", *args[:-1], ct, key=self.adj.key, shape=(self.P,), dtype=F64)
        batch = ct.shape[:nb]
        nbat = int(np.prod(batch))
        if nbat < self.P:
            return _rows(lambda c: apply("solver_lin", *args[:-1], c, key=self.adj.key, shape=(self.P,), dtype=F64),
                         ct, nb)
        c = apply("reshape", apply("gather", apply("reshape", ct, shape=(nbat, ct.shape[-1])),
                                   index=(("s", 0, nbat, 1), ("s", 0, pr.n_t * pr.n, 1))), shape=(nbat, pr.n_t, pr.n))
        g = apply("einsum", pr.sens(args[:-1]), c, spec="tnp,btn->bp")
        return apply("reshape", g, shape=batch + (self.P,))


class AdjSpec(RuntimeSpec):
    """S^T c by the adjoint method: linear in the cotangent c (the last argument)."""

    def __init__(self, dspec: DirSpec):
        self.dir, pr = dspec, dspec.primal
        tr = pr.traced
        lam = make_input("lam", pr.y.shape, F64)
        parts = vjp_nodes([tr.outputs[0]], [pr.y] + list(tr.param_ins), [lam])
        parts = [zeros(w.shape, F64) if p is None else p for p, w in zip(parts, [pr.y] + list(tr.param_ins))]
        flat = [apply("reshape", apply("convert", p, dtype=F64), shape=(p.size,)) for p in parts]
        out = flat[0] if len(flat) == 1 else apply("concatenate", *flat, axis=0)
        vjp = Program([pr.t, pr.y, lam] + list(tr.param_ins), [out])  # [f_y^T lam, f_theta^T lam]
        self.bind("ode_adjoint", _solve_ivp(), [tr, vjp], {**pr.run_static(), "p_theta": dspec.p_theta})
        self.key = new_spec(self)

    def tangent(self, ts, args, out, nb):
        """Return the tangent of S^T c from the full sensitivities (second and higher orders)."""
        pr = self.dir.primal
        c = apply("reshape", unpack(args[-1], 0, pr.n_t * pr.n), shape=(pr.n_t, pr.n))
        return _generic_tangent(apply("einsum", pr.sens(args[:-1]), c, spec="tnp,tn->p"), ts, args, nb)

    def transpose(self, ct, args, nb):
        """Return S ct (the directional solve; the full sensitivities for a batch)."""
        pr = self.dir.primal
        shape = (pr.n_t * pr.n + 2,)
        if nb == 0:
            return apply("solver_lin", *args[:-1], ct, key=self.dir.key, shape=shape, dtype=F64)
        batch = ct.shape[:nb]
        nbat = int(np.prod(batch))
        if nbat < self.dir.P:
            return _rows(lambda c: apply("solver_lin", *args[:-1], c, key=self.dir.key, shape=shape, dtype=F64),
                         ct, nb)
        sv = apply("einsum", pr.sens(args[:-1]), apply("reshape", ct, shape=(nbat, self.dir.P)), spec="tnp,bp->btn")
        d = apply("concatenate", apply("reshape", sv, shape=(nbat, pr.n_t * pr.n)), zeros((nbat, 2), F64), axis=1)
        return apply("reshape", d, shape=batch + (pr.n_t * pr.n + 2,))
