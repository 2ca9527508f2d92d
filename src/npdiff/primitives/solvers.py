"""``solver_call``: a SciPy solver, ODE integrator or quadrature run at run time.

A lowering in ``lower/optimize.py`` or ``lower/integrate.py`` traces the
user's callable (residual, objective, right-hand side, integrand) into a
small graph and registers a *spec* object in ``SPECS``. The node
``solver_call(*args, key=, shape=, dtype=)`` stands for the spec's result
(packed into one float array): its implementation, and the generated code,
call ``run(key, *arrays)``, which asks the spec to call SciPy on concrete
functions evaluated from those graphs (``Program``). Its derivative is the
spec's ``tangent`` rule, written with primitives (implicit function theorem,
sensitivity equations, derivative integrals), so it can be differentiated
again; the spec lives above this layer (it traces and transforms graphs), as
the rule objects of ``custom.py`` do.

A spec provides
  ``run(*arrays) -> ndarray`` (the packed result, shape and dtype of the node),
  ``tangent(ts, args, out, nb) -> Node | None`` (the packed output tangent).

The spec lives in this process only: generated code that calls ``run`` works
where it was generated (and in pickled copies loaded by the same process);
``run`` raises a RuntimeError naming the fix anywhere else.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import Node, toposort
from ..ir.indexsets import DENSE
from .registry import NOT_SCALAR, PRIMS, Primitive, register

COMPILE = None  # set by lower/_solvers.py: (inputs, outputs) -> generated function returning the outputs
SPECS: dict[int, object] = {}  # key -> spec (kept alive: generated code refers to it by key)
_ids = itertools.count(1)


def new_spec(spec) -> int:
    """Register spec and return its key."""
    key = next(_ids)
    SPECS[key] = spec
    return key


def run(key: int, *arrays):
    """Return the packed result of spec ``key`` on these argument values (called by generated code)."""
    spec = SPECS.get(key)
    if spec is None:
        raise RuntimeError("this generated code calls a SciPy solver traced in another Python process; "
                           "generate the function again in this process (exported modules cannot carry "
                           "a solver call)")
    return spec.run(*arrays)


class Program:
    """A small graph evaluated on concrete arrays: by generated code (``COMPILE``, made on the first
    call), else with each primitive's NumPy ``impl`` in topological order."""

    def __init__(self, inputs: list[Node], outputs: list[Node]):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.order = [n for n in toposort(self.outputs) if n.op not in ("input", "const")]
        self.fn = None if COMPILE is not None else False

    def __call__(self, *values) -> list:
        """Return the output values for these input values."""
        if self.fn is None:
            self.fn = COMPILE(self.inputs, self.outputs) if COMPILE is not None else False
        if self.fn:
            return list(self.fn(*values))
        return self.interpret(*values)

    def interpret(self, *values) -> list:
        """Return the output values computed with each primitive's ``impl``."""
        vals = {id(n): np.asarray(v, dtype=n.dtype).reshape(n.shape) for n, v in zip(self.inputs, values)}
        for n in self.order:
            args = [vals[id(a)] if id(a) in vals else _const_value(a) for a in n.args]
            v = np.asarray(PRIMS[n.op].impl(*args, **n.p))
            if v.shape != n.shape:
                v = np.broadcast_to(v, n.shape)
            vals[id(n)] = v.astype(n.dtype, copy=False)
        return [vals[id(o)] if id(o) in vals else _const_value(o) for o in self.outputs]


def _const_value(node: Node):
    if node.op != "const":
        raise RuntimeError(f"solver graph reads a node it has no value for ({node.op})")
    return np.broadcast_to(np.asarray(node.value, dtype=node.dtype), node.shape)


def _emit(names, node):
    return f"npdiff.primitives.solvers.run({node.p['key']}, {', '.join(names)})"


def _jvp(ts, *args, out, nb, key, shape, dtype):
    if all(t is None for t in ts):
        return None
    return SPECS[key].tangent(list(ts), list(args), out, nb)


register(Primitive("solver_call", lambda *args, key, shape, dtype: (shape, dtype),
                   lambda *arrays, key, shape, dtype: run(key, *arrays), _emit, jvp=_jvp, fold=False,
                   short="solved", owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- solver_lin(*primals, v): a solver result linear in its last argument (ODE directional sensitivities
# and their adjoint). The spec also provides ``transpose(ct, args, nb) -> cotangent of v``.

def _jvp_lin(ts, *args, out, nb, key, shape, dtype):
    if all(t is None for t in ts):
        return None
    return SPECS[key].tangent(list(ts), list(args), out, nb)


def _transpose_lin(ct, *args, lin, nb, key, shape, dtype):
    if any(lin[:-1]):
        raise UnsupportedOperationError("solver_lin is linear in its last argument only")
    return [None] * (len(args) - 1) + [SPECS[key].transpose(ct, list(args), nb)]


register(Primitive("solver_lin", lambda *args, key, shape, dtype: (shape, dtype),
                   lambda *arrays, key, shape, dtype: run(key, *arrays), _emit, jvp=_jvp_lin,
                   transpose=_transpose_lin, linear=True, fold=False, short="solved", owns=False,
                   elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
