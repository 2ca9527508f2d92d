"""scipy.optimize's root finders inside a traced function, differentiated implicitly.

While tracing, ``brentq``, ``brenth``, ``ridder``, ``bisect``, ``toms748``,
``newton``, ``root_scalar``, ``root``, ``fsolve`` and ``fixed_point``
(``lower/minimize.py``: ``minimize`` and ``least_squares``) are swapped in
``scipy.optimize`` (``trace.EXTRA_PATCHES``) by stand-ins that trace the
user's function on a symbolic variable, find the traced values it reads
(closures, ``args=``) and return a ``solver_call`` node
(``primitives/solvers.py``): the generated code calls SciPy's own solver, with
the user's options, on the function evaluated from that graph; the derivative
is the implicit function theorem's (``_solvers.ImplicitSpec``), never the
iterations'. A call that reads nothing traced runs SciPy's original.
Results are SciPy's own objects (a float, ``RootResults``, ``OptimizeResult``)
holding traced values; the run-time ``message`` strings are not traced.
"""
from __future__ import annotations

import inspect
import sys

import numpy as np

from ..primitives import apply
from ..tracing.tracer import Tracer, is_traced, node_of
from ._solvers import F64, ImplicitSpec, LazyModule, Traced, at, info_item, patch_solver, unpack

MESSAGE = "(npdiff: the run-time solver's message is not traced; read .success / .status)"


OPTIMIZE = LazyModule("scipy.optimize")


def _scipy_optimize():
    return sys.modules["scipy.optimize"]  # loaded: the user's code called one of its functions


def bind(original, args, kwargs) -> dict:
    """Return the call's arguments by parameter name (defaults filled in)."""
    ba = inspect.signature(original).bind(*args, **kwargs)
    ba.apply_defaults()
    return dict(ba.arguments)


def as_args(a) -> tuple:
    """Return SciPy's ``args=`` as a tuple (a single value is one argument)."""
    return a if isinstance(a, tuple) else (a,)


class Extras:
    """Arguments of a solver call that may be traced but have no derivative (x0, brackets)."""

    def __init__(self, kw: dict, names):
        self.names = [n for n in names if is_traced(kw.get(n))]
        self.kw = kw
        self.nodes = [apply("convert", node_of(kw[n]), dtype=F64) for n in self.names]

    def static(self, *drop: str, **more) -> dict:
        """Return a runner's static data: the options (the call's arguments but ``drop`` and the traced
        extras), the extras as (name, kind), and ``more``."""
        opts = {k: v for k, v in self.kw.items() if k not in drop and k not in self.names}
        kinds = [(n, "tuple" if isinstance(self.kw[n], tuple) else "list" if isinstance(self.kw[n], list)
                  else "value") for n in self.names]
        return {"opts": opts, "extras": kinds, **more}


def _drop(kw, *names) -> dict:
    return {k: v for k, v in kw.items() if k not in names}


def _traced_or_none(traced: Traced, extras: Extras):
    return None if not traced.params and not extras.names else traced


# -- bracketing scalar root finders --------------------------------------------------------

def _root_results(sopt, x, node, info_at: int, disp: bool, method: str):
    r = sopt.RootResults(root=x, iterations=0, function_calls=0, flag=0, method=method)
    r.root = x
    r.iterations = info_item(node, info_at + 1, np.int64)
    r.function_calls = info_item(node, info_at + 2, np.int64)
    r.converged = info_item(node, info_at, np.bool_)
    r.flag = "converged" if disp else "(npdiff: the flag is not traced; read .converged)"
    return r


def _bracketed(name):
    def lowering(original, *args, **kwargs):
        sopt = _scipy_optimize()
        kw = bind(original, args, kwargs)
        f, fargs = kw["f"], as_args(kw["args"])
        traced = Traced([((), F64)], [lambda z: f(z, *fargs)], f"scipy.optimize.{name}")
        extras = Extras(kw, ("a", "b"))
        if _traced_or_none(traced, extras) is None:
            return NotImplemented
        _scalar_resid(traced, name)
        static = extras.static("f", "args", "full_output")
        spec = ImplicitSpec(traced, traced.out(0)[0], ("bracketed", original, static), 3, len(extras.nodes))
        node = spec.node(extras.nodes)
        x = Tracer(apply("reshape", unpack(node, 0, 1), shape=()))
        if kw["full_output"]:
            return x, _root_results(sopt, x, node, 1, kw["disp"], name)
        return x
    lowering.__name__ = name
    return lowering


def _scalar_resid(traced: Traced, name: str):
    r = traced.out(0)[0]
    if r.size != 1:
        raise ValueError(f"scipy.optimize.{name}: the function must return a scalar, got shape {r.shape}")


# -- newton ---------------------------------------------------------------------------------

def newton(original, *args, **kwargs):
    sopt = _scipy_optimize()
    kw = bind(original, args, kwargs)
    f, fargs = kw["func"], as_args(kw["args"])
    shape = np.shape(kw["x0"]) if not is_traced(kw["x0"]) else node_of(kw["x0"]).shape
    calls = [lambda z: f(z, *fargs)]
    derivs = [n for n in ("fprime", "fprime2") if callable(kw[n])]
    calls += [lambda z, _g=kw[n]: _g(z, *fargs) for n in derivs]
    traced = Traced([(shape, F64)], calls, "scipy.optimize.newton")
    extras = Extras(kw, ("x0", "x1"))
    if _traced_or_none(traced, extras) is None:
        return NotImplemented
    n = int(np.prod(shape))
    k = 3 if not shape else 2 * n
    static = extras.static("func", "args", "full_output", *derivs, derivs=derivs, scalar=not shape)
    spec = ImplicitSpec(traced, traced.out(0)[0], ("newton", original, static), k, len(extras.nodes))
    node = spec.node(extras.nodes)
    x = Tracer(apply("reshape", unpack(node, 0, n), shape=shape))
    if not kw["full_output"]:
        return x
    if not shape:
        return x, _root_results(sopt, x, node, 1, kw["disp"], "newton")
    conv = Tracer(apply("convert", unpack(node, n, 2 * n), dtype=np.dtype(bool)))
    zder = Tracer(apply("convert", unpack(node, 2 * n, 3 * n), dtype=np.dtype(bool)))
    kind = type(original(lambda z: z, np.full(2, 0.5), full_output=True))  # SciPy's namedtuple (root, converged, zero_der)
    return kind(x, conv, zder)


# -- root_scalar ----------------------------------------------------------------------------

def root_scalar(original, *args, **kwargs):
    sopt = _scipy_optimize()
    kw = bind(original, args, kwargs)
    f, fargs = kw["f"], as_args(kw["args"])
    calls = [lambda z: f(z, *fargs)]
    derivs = [n for n in ("fprime", "fprime2") if callable(kw[n])]
    calls += [lambda z, _g=kw[n]: _g(z, *fargs) for n in derivs]
    traced = Traced([((), F64)], calls, "scipy.optimize.root_scalar")
    extras = Extras(kw, ("bracket", "x0", "x1"))
    if _traced_or_none(traced, extras) is None:
        return NotImplemented
    _scalar_resid(traced, "root_scalar")
    # fprime=True / fprime2=True: f returns (f, f'[, f''])
    static = extras.static("f", "args", *derivs, derivs=derivs, tuple_f=traced.structs[0][1] != 1)
    spec = ImplicitSpec(traced, traced.out(0)[0], ("root_scalar", original, static), 3, len(extras.nodes))
    node = spec.node(extras.nodes)
    x = Tracer(apply("reshape", unpack(node, 0, 1), shape=()))
    return _root_results(sopt, x, node, 1, False, kw["method"] or "root_scalar")


# -- root, fsolve, fixed_point --------------------------------------------------------------

def _vector_traced(kw, fun, jac, what):
    x0 = kw["x0"]
    n = int(np.size(x0)) if not is_traced(x0) else node_of(x0).size
    fargs = as_args(kw["args"])
    calls = [lambda z: fun(z, *fargs)]
    if callable(jac):
        calls.append(lambda z: jac(z, *fargs))
    return Traced([((n,), F64)], calls, what), n


def root(original, *args, **kwargs):
    sopt = _scipy_optimize()
    kw = bind(original, args, kwargs)
    traced, n = _vector_traced(kw, kw["fun"], kw["jac"], "scipy.optimize.root")
    extras = Extras(kw, ("x0",))
    if _traced_or_none(traced, extras) is None:
        return NotImplemented

    jac = callable(kw["jac"])
    static = extras.static("fun", "args", *(["jac"] if jac else []), jac=jac)
    resid = traced.out(0)[0]
    spec = ImplicitSpec(traced, resid, ("root", original, static), 3, len(extras.nodes))
    node = spec.node(extras.nodes)
    x = apply("reshape", unpack(node, 0, n), shape=(n,))
    return sopt.OptimizeResult(x=Tracer(x), fun=Tracer(at([resid], traced, [x])[0]),
                               success=info_item(node, n, np.bool_), status=info_item(node, n + 1, np.int64),
                               nfev=info_item(node, n + 2, np.int64), message=MESSAGE)


def fsolve(original, *args, **kwargs):
    kw = bind(original, args, kwargs)
    traced, n = _vector_traced(kw, kw["func"], kw["fprime"], "scipy.optimize.fsolve")
    extras = Extras(kw, ("x0",))
    if _traced_or_none(traced, extras) is None:
        return NotImplemented

    jac = callable(kw["fprime"])
    static = extras.static("func", "args", "full_output", *(["fprime"] if jac else []), jac=jac)
    resid = traced.out(0)[0]
    spec = ImplicitSpec(traced, resid, ("fsolve", original, static), 2, len(extras.nodes))
    node = spec.node(extras.nodes)
    x = apply("reshape", unpack(node, 0, n), shape=(n,))
    if not kw["full_output"]:
        return Tracer(x)
    info = {"nfev": info_item(node, n + 1, np.int64), "fvec": Tracer(at([resid], traced, [x])[0])}
    return Tracer(x), info, info_item(node, n, np.int64), MESSAGE


def fixed_point(original, *args, **kwargs):
    kw = bind(original, args, kwargs)
    x0 = kw["x0"]
    shape = np.shape(x0) if not is_traced(x0) else node_of(x0).shape
    func, fargs = kw["func"], as_args(kw["args"])
    traced = Traced([(shape, F64)], [lambda z: func(z, *fargs) - z], "scipy.optimize.fixed_point")
    extras = Extras(kw, ("x0",))
    if _traced_or_none(traced, extras) is None:
        return NotImplemented
    g = traced.out(0)[0]  # g(z) - z
    spec = ImplicitSpec(traced, g, ("fixed_point", original, extras.static("func", "args")), 0, len(extras.nodes))
    node = spec.node(extras.nodes)
    return Tracer(apply("reshape", unpack(node, 0, spec.n), shape=shape))


LOWERINGS = {"newton": newton, "root_scalar": root_scalar, "root": root, "fsolve": fsolve,
             "fixed_point": fixed_point}
LOWERINGS.update({n: _bracketed(n) for n in ("brentq", "brenth", "ridder", "bisect", "toms748")})


for _name, _low in LOWERINGS.items():
    patch_solver(OPTIMIZE, _name, _low)
