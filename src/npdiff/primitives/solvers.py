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

and, to leave the process, ``portable() -> recipe``: plain data (the name of a runner of
``solver_runtime.py``, SciPy's function by name, the graphs as generated source, the options) from
which ``adopt`` makes a spec that only runs (``RecipeSpec``), and ``export`` writes a standalone
function. A pickled GeneratedFunction carries the recipes of the keys its source calls
(``emit/generated.py``) and is re-keyed on arrival, so a key never reaches another process's spec.
"""
from __future__ import annotations

import hashlib
import importlib
import itertools
import pickle
import re

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import Node, toposort
from ..ir.indexsets import DENSE
from . import solver_runtime
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
        raise RuntimeError("this generated code calls a SciPy solver traced in another Python process and "
                           "was carried here without its recipe; pickle the GeneratedFunction or the "
                           "operator itself, or export it with npdiff.export")
    return spec.run(*arrays)


CALL = re.compile(r"npdiff\.primitives\.solvers\.run\((\d+), ?")


def keys_in(source: str) -> list[int]:
    """Return the spec keys generated source calls, in order of first appearance."""
    return list(dict.fromkeys(int(k) for k in CALL.findall(source)))


def rekey(source: str, new) -> str:
    """Return source with each call's key k replaced by ``new(k)`` (a key, or a function name to call)."""
    def sub(m):
        k = new(int(m.group(1)))
        return f"npdiff.primitives.solvers.run({k}, " if isinstance(k, int) else f"{k}("
    return CALL.sub(sub, source)


def portable(key: int) -> dict:
    """Return the recipe of spec ``key`` (UnsupportedOperationError when its run is arbitrary Python)."""
    spec = SPECS.get(key)
    if spec is None:
        raise RuntimeError(f"solver spec {key} is not known in this process")
    return spec.portable()


_adopted: dict[str, int] = {}  # recipe digest -> key (one spec per distinct recipe)


def adopt(recipe: dict, load) -> int:
    """Return the key of a spec running ``recipe`` (registered once per distinct recipe);
    ``load(graph) -> callable`` compiles a graph's generated source."""
    digest = hashlib.sha256(pickle.dumps(recipe)).hexdigest()
    key = _adopted.get(digest)
    if key is None or key not in SPECS:
        key = _adopted[digest] = new_spec(RecipeSpec(recipe, load))
    return key


def scipy_function(qualname: tuple | None):
    """Return SciPy's function ``(module, name)`` (None for None)."""
    return None if qualname is None else getattr(importlib.import_module(qualname[0]), qualname[1])


class RecipeSpec:
    """A spec made from a recipe in another process: it runs; its derivative needs the original trace."""

    def __init__(self, recipe: dict, load):
        self.recipe = recipe
        graphs = [solver_runtime.Graphs(load(g), g["structs"]) for g in recipe["graphs"]]
        self._run = solver_runtime.runner(recipe["runner"], scipy_function(recipe["scipy"]), graphs,
                                          recipe["static"])

    def run(self, *arrays):
        """Return the packed result."""
        return self._run(*arrays)

    def portable(self) -> dict:
        """Return the recipe (pickled again as it came)."""
        return self.recipe

    def tangent(self, ts, args, out, nb):
        raise UnsupportedOperationError("generated code with a SciPy solver call, unpickled from another "
                                        "process, cannot be differentiated again; pickle the npdiff operator "
                                        "(it traces the function again) or differentiate before pickling")

    transpose = tangent


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
