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

    def fill(self, values) -> dict:
        """Return the keyword arguments with the traced extras replaced by their run-time values."""
        kw = dict(self.kw)
        for n, v in zip(self.names, values):
            orig = kw[n]
            v = np.asarray(v)
            kw[n] = type(orig)(v.tolist()) if isinstance(orig, (tuple, list)) else (float(v) if v.ndim == 0 else v)
        return kw


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
        opts = _drop(kw, "f", "args", "full_output")

        def solve(tr, theta, ex):
            fn = tr.concrete(0, theta)
            call = extras.fill(ex)
            x, res = original(lambda z: float(fn(z)), call["a"], call["b"], full_output=True,
                              **_drop(opts, "a", "b"))
            return [x], [res.converged, res.iterations, res.function_calls]
        spec = ImplicitSpec(traced, traced.out(0)[0], solve, 3, len(extras.nodes))
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

    def solve(tr, theta, ex):
        call = _drop(extras.fill(ex), "func", "fprime", "fprime2", "args", "full_output")
        fns = {name: tr.concrete(i, theta) for i, name in enumerate(["func"] + derivs)}
        if not shape:
            fns = {k_: (lambda z, _g=g: float(_g(z))) for k_, g in fns.items()}
            x, res = original(**call, **fns, full_output=True)
            return [x], [res.converged, res.iterations, res.function_calls]
        x, conv, zder = original(**call, **fns, full_output=True)[:3]
        return [x], list(np.ravel(conv)) + list(np.ravel(zder))
    spec = ImplicitSpec(traced, traced.out(0)[0], solve, k, len(extras.nodes))
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
    struct_f = traced.structs[0]

    def solve(tr, theta, ex):
        call = extras.fill(ex)
        fns = {name: tr.concrete(i, theta) for i, name in enumerate(["f"] + derivs)}
        f0 = fns["f"]
        if struct_f[1] == 1:
            fns["f"] = lambda z: float(f0(z))
        else:  # fprime=True / fprime2=True: f returns (f, f'[, f''])
            fns["f"] = lambda z: tuple(float(v) for v in f0(z))
        for name in derivs:
            g = fns[name]
            fns[name] = lambda z, _g=g: float(_g(z))
        res = original(**_drop(call, "args", *fns), **fns)
        return [res.root], [res.converged, res.iterations, res.function_calls]
    spec = ImplicitSpec(traced, traced.out(0)[0], solve, 3, len(extras.nodes))
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

    def solve(tr, theta, ex):
        call = extras.fill(ex)
        fun = tr.concrete(0, theta)
        jac = tr.concrete(1, theta) if callable(kw["jac"]) else kw["jac"]
        res = original(fun, **_drop(call, "fun", "args", "jac"), jac=jac)
        return [res.x], [res.success, res.status, res.get("nfev", -1)]
    resid = traced.out(0)[0]
    spec = ImplicitSpec(traced, resid, solve, 3, len(extras.nodes))
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

    def solve(tr, theta, ex):
        call = extras.fill(ex)
        fprime = tr.concrete(1, theta) if callable(kw["fprime"]) else kw["fprime"]
        x, info, ier, _ = original(tr.concrete(0, theta), **_drop(call, "func", "args", "fprime", "full_output"),
                                   fprime=fprime, full_output=True)
        return [x], [ier, info["nfev"]]
    resid = traced.out(0)[0]
    spec = ImplicitSpec(traced, resid, solve, 2, len(extras.nodes))
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

    def solve(tr, theta, ex):
        call = extras.fill(ex)
        resid = tr.concrete(0, theta)
        x = original(lambda z: resid(z) + z, **_drop(call, "func", "args"))
        return [x], []
    spec = ImplicitSpec(traced, g, solve, 0, len(extras.nodes))
    node = spec.node(extras.nodes)
    return Tracer(apply("reshape", unpack(node, 0, spec.n), shape=shape))


LOWERINGS = {"newton": newton, "root_scalar": root_scalar, "root": root, "fsolve": fsolve,
             "fixed_point": fixed_point}
LOWERINGS.update({n: _bracketed(n) for n in ("brentq", "brenth", "ridder", "bisect", "toms748")})


for _name, _low in LOWERINGS.items():
    patch_solver(OPTIMIZE, _name, _low)
