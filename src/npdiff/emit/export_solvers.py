"""SciPy solver calls in exported modules: the runners and graphs they call, written as plain source.

Generated code calls ``npdiff.primitives.solvers.run(key, ...)``. ``export`` rewrites each call to
``_solver_<key>(...)`` and defines ``_solver_<key>`` in the module from the spec's recipe
(``solvers.portable``): the graph functions SciPy calls (the residual, objective, right-hand side,
integrand and their derivative systems, as generated source), SciPy's function by name and the
options as literals, bound by a runner of ``primitives/solver_runtime.py``, whose body is printed
once into the module (inside ``_solver_runtime()``, so its names cannot meet the exported ones).
The module then needs NumPy and SciPy only.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

import numpy as np

from ..primitives import solver_runtime, solvers
from .writer import array_source, literal

SOLVERS_MODULE = "npdiff.primitives.solvers"
RESERVED = {"_solver_runtime", "_solver_runner", "_SolverGraphs"}  # and every name starting with _solver_


def runtime_block() -> str:
    """Return the source defining ``_solver_runner`` and ``_SolverGraphs`` from solver_runtime's body."""
    text = inspect.getsource(solver_runtime)
    first = ast.parse(text).body[0]
    body = "\n".join(text.splitlines()[first.end_lineno:]).strip("\n")  # without the module docstring
    return (f"def _solver_runtime():\n    \"\"\"Return npdiff's solver runner and graph wrapper (plain NumPy; "
            f"SciPy's functions are passed in).\"\"\"\n{textwrap.indent(body, '    ')}\n"
            f"    return runner, Graphs\n\n\n_solver_runner, _SolverGraphs = _solver_runtime()")


def value_source(value, modules: set) -> str:
    """Return Python source rebuilding a recipe's plain value (recording the modules it names)."""
    if value is None or isinstance(value, str):
        return repr(value)
    if isinstance(value, (bool, int, float, complex)):
        return literal(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return array_source(np.asarray(value))
    if isinstance(value, tuple):
        return "(" + "".join(value_source(v, modules) + ", " for v in value).rstrip(" ") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(value_source(v, modules) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {value_source(v, modules)}" for k, v in value.items()) + "}"
    if type(value).__name__ == "Bounds":  # scipy.optimize.Bounds (checked by the spec's portable())
        modules.add("scipy.optimize")
        parts = [value_source(np.asarray(getattr(value, a)), modules) for a in ("lb", "ub", "keep_feasible")]
        return f"scipy.optimize.Bounds({', '.join(parts)})"
    raise TypeError(f"export: cannot write a {type(value).__name__} into a module")


def _graph_factory(key: int, i: int, graph: dict, modules: set, store) -> str:
    modules.update(m for m in graph["modules"] if m != SOLVERS_MODULE)
    consts = [f"{k} = {store(f'_solver_{key}_g{i}__{k}', np.asarray(v))}" for k, v in graph["consts"].items()]
    inner = "\n".join([*consts, graph["source"].rstrip("\n"), f"return {graph['name']}"])
    return f"def _graph{i}():\n{textwrap.indent(inner, '    ')}"


def solver_block(key: int, recipe: dict, modules: set, store) -> str:
    """Return the source defining ``_solver_<key>`` from a spec's recipe (``store(name, array) -> source``
    for the graphs' stored constants)."""
    parts = [_graph_factory(key, i, g, modules, store) for i, g in enumerate(recipe["graphs"])]
    graphs = ", ".join(f"_SolverGraphs(_graph{i}(), {value_source(g['structs'], modules)})"
                       for i, g in enumerate(recipe["graphs"]))
    scipy_fn = "None"
    if recipe["scipy"] is not None:
        modules.add(recipe["scipy"][0])
        scipy_fn = ".".join(recipe["scipy"])
    static = value_source(recipe["static"], modules)
    parts.append(f"return _solver_runner({recipe['runner']!r}, {scipy_fn}, [{graphs}], {static})")
    body = textwrap.indent("\n".join(parts), "    ")
    return f"def _make_solver_{key}():\n{body}\n\n\n_solver_{key} = _make_solver_{key}()"


def with_solvers(sources: list[str], modules: set, store) -> tuple[list[str], list[str]]:
    """Return (the sources with solver calls renamed to ``_solver_<key>``, the blocks defining them:
    the runtime first); ``modules`` gains what the blocks import; ``store(name, array) -> source``
    writes a graph's constant (printed, or saved with the module's others)."""
    keys = list(dict.fromkeys(k for s in sources for k in solvers.keys_in(s)))
    if not keys:
        return sources, []
    blocks = [runtime_block()] + [solver_block(k, solvers.portable(k), modules, store) for k in keys]
    return [solvers.rekey(s, lambda k: f"_solver_{k}") for s in sources], blocks
