"""Shared machinery of the SciPy solver lowerings (lower/optimize.py, lower/integrate.py).

``trace_callables`` traces the user's callables (residual, objective,
right-hand side, integrand) on fresh inputs for their variables and finds the
traced values they read (closures, ``args=``): the *parameters* theta, the
nodes of the enclosing trace that the callables' graphs use. The graphs are
rewired onto fresh parameter inputs, so a spec holds a self-contained graph
``F(vars, theta)``: evaluated by ``Program`` at run time, differentiated by
npdiff's own transforms (``jvp_nodes``) to build the derivative rules.

``ImplicitSpec`` is the spec of a root (``F(z, theta) = 0``) found by a
SciPy solver: its tangent is ``dz = -F_z^{-1} F_theta dtheta`` (implicit
function theorem), written with primitives so that it differentiates again.
"""
from __future__ import annotations

import sys
import types

import numpy as np

from ..emit.codegen import emit_function
from ..emit.generated import GeneratedFunction
from ..errors import TracingError, UnsupportedOperationError
from ..ir.graph import Node, const, make_input, toposort
from ..ir.pytree import tree_flatten, tree_unflatten
from ..primitives import apply, solver_runtime
from ..primitives import solvers as _solvers
from ..primitives.helpers import zeros
from ..primitives.solvers import Program, new_spec
from ..tracing.tracer import EXTRA_PATCHES, Tracer, is_traced, node_of, tracing, tracing_now
from ..transforms.jvp import jvp_nodes
from ..transforms.substitute import substitute

F64 = np.dtype(np.float64)


def compile_program(inputs: list, outputs: list):
    """Return a GeneratedFunction computing the list of outputs from the inputs (``Program``'s fast path)."""
    names = [f"a{i}" for i in range(len(inputs))]
    source, writer = emit_function("solver_graph", names, inputs, list(outputs))
    return GeneratedFunction(source, "solver_graph", writer.consts, [n.shape for n in inputs],
                             [n.dtype for n in inputs], names, writer.modules)


_solvers.COMPILE = compile_program


class Traced:
    """Callables traced on shared variable inputs, rewired onto fresh parameter inputs."""

    def __init__(self, var_avals: list, calls: list, what: str):
        """``calls``: functions build(*var_tracers) that call a user callable and return its output."""
        self.vars = [make_input(f"v{i}", s, d) for i, (s, d) in enumerate(var_avals)]
        outs, self.structs = [], []
        for build in calls:
            try:
                out = _trace_on(self.vars, build)
            except TracingError as e:
                raise TracingError(f"{what}: npdiff traces the function passed to the solver on a symbolic "
                                   f"variable and cannot follow Python control flow on it ({e}); write the "
                                   f"branch with np.where") from e
            leaves, s = tree_flatten(out)
            self.structs.append((len(outs), len(leaves), s))
            outs += [_float(node_of(l)) for l in leaves]
        self.params = frontier(outs, self.vars)
        self.param_ins = [make_input(f"p{i}", p.shape, p.dtype) for i, p in enumerate(self.params)]
        self.outputs = substitute(outs, {id(p): q for p, q in zip(self.params, self.param_ins)})
        self.program = Program(self.vars + self.param_ins, self.outputs)

    @classmethod
    def from_graph(cls, vars_: list[Node], base: Traced, outputs: list[Node], extra_ins=()) -> Traced:
        """Return a Traced for graphs built on vars_ and base's parameter inputs (one callable per output);
        ``extra_ins``: further parameter inputs, after base's."""
        self = cls.__new__(cls)
        self.vars, self.params = list(vars_), base.params
        self.param_ins = list(base.param_ins) + list(extra_ins)
        self.outputs = list(outputs)
        self.structs = [(i, 1, ("leaf",)) for i in range(len(outputs))]
        self.program = Program(self.vars + self.param_ins, self.outputs)
        return self

    def concrete(self, index: int, theta: list):
        """Return callable ``index`` as a NumPy function of the variables, parameters bound to theta."""
        start, n, s = self.structs[index]
        prog = self.program

        def fn(*vs):
            vals = prog(*vs, *theta)[start:start + n]  # all outputs: programs are small
            return tree_unflatten(s, vals)
        return fn

    def __call__(self, *values) -> list:
        """Return all outputs for these variable and parameter values."""
        return self.program(*values)

    def out(self, index: int) -> list[Node]:
        """Return the output leaves of callable ``index`` (on the fresh inputs)."""
        start, n, _ = self.structs[index]
        return self.outputs[start:start + n]


def _trace_on(vars_: list[Node], build):
    with tracing(build):
        return build(*[Tracer(v) for v in vars_])


def _float(x: Node) -> Node:
    if np.issubdtype(x.dtype, np.complexfloating):
        raise UnsupportedOperationError("npdiff differentiates SciPy solvers on real functions only; the "
                                        "function passed to the solver returns complex values")
    return x if x.dtype == F64 else apply("convert", x, dtype=F64)


def frontier(outputs: list[Node], vars_: list[Node]) -> list[Node]:
    """Return the non-constant nodes outside the graph of vars that nodes depending on vars read."""
    dep = {id(v) for v in vars_}
    found: dict[int, Node] = {}
    for n in toposort(outputs):
        if id(n) in dep:
            continue
        if any(id(a) in dep for a in n.args):
            dep.add(id(n))
            for a in n.args:
                if id(a) not in dep and a.op != "const":
                    found.setdefault(id(a), a)
    for o in outputs:
        if id(o) not in dep and o.op != "const":
            found.setdefault(id(o), o)
    return list(found.values())


class LazyModule(types.ModuleType):
    """Stands for a SciPy module in ``EXTRA_PATCHES`` without importing it.

    Its functions are swapped only when the user's code has imported the module
    (importing scipy.optimize costs a tenth of a second); SciPy's originals are
    kept in ``originals`` for the stand-ins.
    """

    def __init__(self, target: str):
        super().__init__(target)  # the qualified names of its functions (supported.py) read as SciPy's
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "originals", {})

    def __getattr__(self, name):
        mod = sys.modules.get(object.__getattribute__(self, "_target"))
        if mod is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(mod, name)

    def __setattr__(self, name, value):
        mod = sys.modules.get(self._target)
        if mod is None:
            return
        if getattr(value, "_npdiff_solver", False):
            self.originals[name] = getattr(mod, name)
        setattr(mod, name, value)


def patch_solver(module: LazyModule, name: str, lowering) -> None:
    """Swap module.name while tracing for a stand-in calling ``lowering(original, *args, **kwargs)``.

    The lowering may return NotImplemented when nothing traced reaches the call: SciPy's original runs.
    """
    def wrapper(*args, **kwargs):
        original = module.originals[name]
        if not tracing_now():
            return original(*args, **kwargs)
        out = lowering(original, *args, **kwargs)
        return original(*args, **kwargs) if out is NotImplemented else out
    wrapper.__name__ = name
    wrapper._npdiff_solver = True
    EXTRA_PATCHES.append((module, name, wrapper))


def concrete(x, what: str):
    """Return a non-traced argument as is; refuse a traced one whose derivative is not taken."""
    if is_traced(x):
        raise UnsupportedOperationError(f"npdiff does not differentiate {what} when it is traced; pass a "
                                        f"constant")
    return x


def jac_matrix(out: Node, var: Node) -> Node:
    """Return d out / d var as an (out.size, var.size) node (forward mode, one identity batch)."""
    n = var.size
    eye = const(np.eye(n).reshape((n,) + var.shape))
    jt = jvp_nodes([out], [var], [eye], nb=1)[0]
    if jt is None:
        return zeros((out.size, n), F64)
    return apply("transpose", apply("reshape", jt, shape=(n, out.size)), perm=(1, 0))


def _plain(value, where: str):
    """Raise unless value is plain data a recipe can carry (numbers, strings, arrays, containers, Bounds)."""
    if value is None or isinstance(value, (bool, int, float, complex, str, np.generic)):
        return
    if isinstance(value, np.ndarray) and value.dtype != object:
        return
    if isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            _plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for k, v in value.items():
            _plain(v, f"{where}[{k!r}]")
        return
    if type(value).__name__ == "Bounds" and type(value).__module__.startswith("scipy.optimize"):
        return
    raise UnsupportedOperationError(f"{where} is a {type(value).__name__} object, which npdiff cannot carry to "
                                    f"another process or write into an exported module; generated code with this "
                                    f"solver call runs only in the process that traced it (leave the option out "
                                    f"to export or pickle it)")


def graph_recipe(graph) -> dict:
    """Return a Traced's or Program's graph as generated source (plain data for a recipe)."""
    prog = graph.program if isinstance(graph, Traced) else graph
    gf = prog.fn if prog.fn else compile_program(prog.inputs, prog.outputs)
    return {"source": gf.source, "name": gf.__name__, "consts": gf.consts, "arg_shapes": gf.arg_shapes,
            "arg_dtypes": [d.str for d in gf.arg_dtypes], "modules": gf.modules,
            "structs": list(graph.structs) if isinstance(graph, Traced) else []}


def public_name(original) -> tuple | None:
    """Return (public module, name) of a SciPy function: ("scipy.optimize", "brentq") (None for none)."""
    return None if original is None else (original.__module__.split("._")[0], original.__name__)


class RuntimeSpec:
    """A spec whose run is a ``solver_runtime`` runner on SciPy's function, graphs and plain options."""

    def bind(self, runner: str, original, graphs: list, static: dict) -> None:
        """Set the runner, SciPy's function, the graphs and the options ``run`` uses."""
        self.runner, self.original, self.graphs, self.static = runner, original, graphs, static
        self._run = solver_runtime.runner(runner, original, graphs, static)

    def run(self, *arrays):
        """Return the packed result computed by SciPy on these argument values."""
        return self._run(*arrays)

    def portable(self) -> dict:
        """Return the recipe of this spec's run (raises if an option is not plain data)."""
        what = ".".join(public_name(self.original) or ("npdiff", "fixed_point"))
        for k, v in self.static["opts"].items():
            _plain(v, f"{what}'s option {k}=")
        for k, v in self.static.items():
            if k != "opts":
                _plain(v, f"{what} ({k})")
        return {"runner": self.runner, "scipy": public_name(self.original),
                "graphs": [graph_recipe(g) for g in self.graphs], "static": self.static}


class ImplicitSpec(RuntimeSpec):
    """Spec of z with F(z, theta) = 0 found by SciPy (``runner``: (name, original, static) of a
    ``solver_runtime`` runner) or by a user's Python solve ``(traced, theta, extras) -> (x, info list)``."""

    def __init__(self, traced: Traced, resid: Node, runner, info_len: int, n_extra: int, free=None):
        """``free(x, params) -> (n,) float node``: 1 where the component is free, 0 where a bound holds it."""
        self.traced, self.resid, self.free = traced, resid, free
        self.z = traced.vars[0]
        self.n, self.k, self.n_extra = self.z.size, info_len, n_extra
        self.jac = None
        self.solve = runner if callable(runner) else None
        if self.solve is None:
            name, original, static = runner
            self.bind(name, original, [traced], {"m": len(traced.params), **static})
        self.key = new_spec(self)

    def portable(self) -> dict:
        """Return the recipe of a SciPy solve; raise for a user's Python solve (custom_root)."""
        if self.solve is not None:
            raise UnsupportedOperationError(
                "npdiff.custom_root: the solve function is Python code that npdiff runs as it is; generated code "
                "calling it runs only in the process that traced it (pickle the npdiff operator instead: it traces "
                "the function again where it arrives)")
        return super().portable()

    def node(self, extras: list[Node]) -> Node:
        """Return the packed solver_call node [x.ravel(), info] on the traced parameters and extras."""
        return apply("solver_call", *self.traced.params, *extras, key=self.key, shape=(self.n + self.k,),
                     dtype=F64)

    def run(self, *arrays):
        """Return [x.ravel(), info] from the solver on these parameter (and extra) values."""
        if self.solve is None:
            return self._run(*arrays)
        m = len(self.traced.params)
        x, info = self.solve(self.traced, list(arrays[:m]), list(arrays[m:]))
        return np.concatenate([np.asarray(x, dtype=F64).ravel(), np.asarray(info, dtype=F64)])

    def tangent(self, ts, args, out, nb):
        """Return the packed tangent: dz = -F_z^{-1} F_theta dtheta, zeros for the info entries."""
        m = len(self.traced.params)
        tth = ts[:m]
        if all(t is None for t in tth):
            return None
        if self.jac is None:
            self.jac = jac_matrix(self.resid, self.z)
        x = apply("reshape", unpack(out, 0, self.n), shape=self.z.shape)
        mapping = {id(self.z): x}
        mapping.update({id(p): a for p, a in zip(self.traced.param_ins, args[:m])})
        rhs = jvp_nodes([self.resid], self.traced.param_ins, tth, nb=nb)[0]
        if rhs is None:
            return None
        jac, rhs = substitute([self.jac, rhs], mapping)
        batch = rhs.shape[:nb]
        nbat = int(np.prod(batch))
        r = apply("reshape", rhs, shape=(nbat, self.resid.size))
        if self.free is not None:  # bound components: dz_i = 0; the others solve the free block
            f = self.free(x, list(args[:m]))
            fr = apply("reshape", f, shape=(self.n, 1))
            jac = jac * fr * apply("reshape", f, shape=(1, self.n)) + const(np.eye(self.n)) * (1.0 - f)
            r = r * f
        if self.n == 1:
            dz = -(r / apply("reshape", jac, shape=()))
        else:
            dz = apply("transpose", -apply("solve", jac, apply("transpose", r, perm=(1, 0))), perm=(1, 0))
        if self.k:
            dz = apply("concatenate", dz, zeros((nbat, self.k), F64), axis=1)
        return apply("reshape", dz, shape=batch + (self.n + self.k,))


def unpack(packed: Node, start: int, stop: int) -> Node:
    """Return packed[start:stop] (a 1-d node)."""
    return apply("gather", packed, index=(("s", start, stop, 1),))


def info_item(packed: Node, i: int, dtype) -> Tracer:
    """Return entry i of a packed result as a traced 0-d value of dtype (no derivative)."""
    v = apply("reshape", unpack(packed, i, i + 1), shape=())
    return Tracer(apply("convert", v, dtype=np.dtype(dtype)))


def at(graph_out: list[Node], traced: Traced, var_nodes: list[Node]) -> list[Node]:
    """Return graph outputs (on traced's fresh inputs) at these variable and the traced parameter nodes."""
    mapping = {id(v): n for v, n in zip(traced.vars, var_nodes)}
    mapping.update({id(p): q for p, q in zip(traced.param_ins, traced.params)})
    return substitute(graph_out, mapping)


def param_jac(out: Node, traced: Traced) -> Node:
    """Return d out / d (all parameters, flattened and concatenated) as (out.size, P)."""
    cols = [jac_matrix(out, p) for p in traced.param_ins]
    return cols[0] if len(cols) == 1 else apply("concatenate", *cols, axis=1)


def flat_tangents(ts: list, args: list, nb: int) -> Node:
    """Return the parameter tangents flattened and concatenated: (B, P)."""
    ref = next(t for t in ts if t is not None)
    nbat = int(np.prod(ref.shape[:nb]))
    parts = [zeros((nbat, a.size), F64) if t is None else
             apply("convert", apply("reshape", t, shape=(nbat, a.size)), dtype=F64) for t, a in zip(ts, args)]
    return parts[0] if len(parts) == 1 else apply("concatenate", *parts, axis=1)
