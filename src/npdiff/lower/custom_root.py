"""``npdiff.custom_root`` and ``npdiff.fixed_point``: hand-written solver loops, differentiated implicitly.

The user's own solver loop (or npdiff's fixed-point iteration) runs on
concrete values at run time as a ``solver_call``; the derivative is the
implicit function theorem's on the residual the user names
(``_solvers.ImplicitSpec``), never the loop's.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from ..errors import TracingError
from ..ir.pytree import tree_flatten, tree_unflatten
from ..primitives import apply
from ..primitives.solver_runtime import iterate
from ..tracing.tracer import Tracer, is_traced, node_of, tracing_now
from ._solvers import F64, ImplicitSpec, Traced, unpack


def _shape_of(x0) -> tuple:
    return node_of(x0).shape if is_traced(x0) else np.shape(x0)


def _traced_residual(residual, shape, params, what) -> Traced:
    traced = Traced([(shape, F64)], [lambda z: residual(z, *params)], what)
    r = traced.out(0)[0]
    if r.size != int(np.prod(shape)):
        raise ValueError(f"{what}: the residual has {r.size} elements for a variable of shape {shape}; a root "
                         f"needs as many equations as unknowns")
    return traced


def _result(spec: ImplicitSpec, nodes: list, shape) -> Tracer:
    node = spec.node(nodes)
    return Tracer(apply("reshape", unpack(node, 0, spec.n), shape=shape))


def implicit_root(residual, solve, x0, params: tuple, what: str):
    """Return solve(x0, *params) run at run time, differentiated through residual(x, *params) = 0
    (NotImplemented when nothing traced reaches the residual or the arguments)."""
    shape = _shape_of(x0)
    traced = _traced_residual(residual, shape, params, what)
    leaves, struct = tree_flatten((x0, tuple(params)))
    idx = [i for i, leaf in enumerate(leaves) if is_traced(leaf)]
    if not idx and not traced.params:
        return NotImplemented
    nodes = [node_of(leaves[i]) for i in idx]

    def run(tr, theta, extras):
        vals = list(leaves)
        for i, v in zip(idx, extras):
            vals[i] = np.asarray(v)
        x0v, pv = tree_unflatten(struct, vals)
        x = solve(x0v, *pv)
        if is_traced(x):
            raise TracingError(f"{what}: the solve function reads a traced value other than its arguments (a "
                               f"closure); pass every traced value it needs as an argument")
        return [np.asarray(x, dtype=F64)], []
    return _result(ImplicitSpec(traced, traced.out(0)[0], run, 0, len(nodes)), nodes, shape)


def fixed_point_root(g, x0, params: tuple, tol: float, maxiter: int) -> Tracer:
    """Return the fixed point of x = g(x, *params) by iteration at run time, differentiated implicitly."""
    shape = _shape_of(x0)
    traced = _traced_residual(lambda z, *p: g(z, *p) - z, shape, params, "npdiff.fixed_point")
    nodes = [apply("convert", node_of(x0), dtype=F64)] if is_traced(x0) else []
    if not nodes and not traced.params:
        return iterate(lambda v: g(v, *params), x0, tol, maxiter)

    static = {"opts": {}, "x0": None if nodes else np.asarray(x0, dtype=F64), "tol": float(tol),
              "maxiter": int(maxiter)}
    spec = ImplicitSpec(traced, traced.out(0)[0], ("npdiff_fixed_point", None, static), 0, len(nodes))
    return _result(spec, nodes, shape)


def custom_root(residual: Callable) -> Callable:
    """Return a decorator: ``solve(x0, *params) -> x`` with ``residual(x, *params) = 0``, differentiated
    through the residual (implicit function theorem), never through the loop in ``solve``.

    Inside a traced function the solve runs on concrete values when the generated code runs, so it may use
    any Python control flow; it must receive every traced value it needs as an argument (the residual may
    also read traced values through a closure). ``residual(x, ...)`` has as many elements as ``x``.
    """
    def decorate(solve: Callable) -> Callable:
        @functools.wraps(solve)
        def wrapper(x0, *params):
            if not tracing_now():
                return solve(x0, *params)
            out = implicit_root(residual, solve, x0, params, getattr(solve, "__name__", "custom_root"))
            return solve(x0, *params) if out is NotImplemented else out
        return wrapper
    return decorate


def fixed_point(g: Callable, x0, *params, tol: float = 1e-12, maxiter: int = 1000):
    """Return x with ``x = g(x, *params)``, found by iterating g from x0 (max-norm step test, relative tol);
    its derivative comes from the implicit function theorem on ``g(x) - x``, not from the iterations.
    Raises RuntimeError if the iteration has not converged after maxiter steps."""
    if tracing_now():
        return fixed_point_root(g, x0, params, tol, maxiter)
    return iterate(lambda v: g(v, *params), x0, tol, maxiter)
