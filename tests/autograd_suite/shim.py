"""A module named ``autograd`` whose public operators are npdiff's (installed in sys.modules).

``autograd.numpy`` is plain NumPy (npdiff traces ordinary NumPy code),
``autograd.scipy.*`` are SciPy's modules and distribution objects, and the
differential operators and ``autograd.test_util`` are mapped onto npdiff
(``checks.py``). Names with no npdiff counterpart (autograd's tracer, vspaces,
containers, extension API, its own signal.convolve) are stubs that raise
``NotApplicable`` when used, so the runner reports those tests as not applicable.
"""
from __future__ import annotations

import builtins
import sys
import types

import numpy as np

import npdiff
from npdiff.ir.pytree import tree_flatten, tree_unflatten

from . import checks


class NotApplicable(Exception):
    """Raised by a stub: the test uses a part of autograd that npdiff does not mirror."""


def _stub(qualname: str, reason: str):
    def stub(*args, **kwargs):
        raise NotApplicable(f"{qualname}: {reason}")
    stub.__name__ = qualname.rsplit(".", 1)[-1]
    return stub


class _StubModule(types.ModuleType):
    """A module whose every missing attribute is a stub (autograd internals)."""

    def __init__(self, name, reason, **attrs):
        super().__init__(name)
        self.__path__ = []  # a package: submodules not installed here are not found (never the real autograd)
        self._reason = reason
        self.__dict__.update(attrs)

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _stub(f"{self.__name__}.{attr}", self._reason)


def _kw(fun, kwargs):
    return (lambda *a: fun(*a, **kwargs)) if kwargs else fun


def _scalar(fun, kwargs):
    """Return fun with keyword arguments bound and an output of one element as a 0-d array.

    autograd's grad accepts any output with a single element (shape (1, 1) too); npdiff's grad
    asks for a scalar, so the shim reshapes (the derivative is the same).
    """
    def f(*args):
        out = fun(*args, **kwargs)
        return np.reshape(out, ()) if np.ndim(out) and np.size(out) == 1 else out
    return f


def _on_containers(op, fun, argnum, args, kwargs):
    """Return op(f, argnums)(*args) where tuple/list arguments are differentiated leaf by leaf.

    autograd differentiates with respect to a tuple or list argument as a container and returns its
    gradient with the same structure; npdiff's operators take arrays, so each leaf becomes one argument
    and the gradients are put back into the container's structure.
    """
    f = _scalar(fun, kwargs)
    multi = isinstance(argnum, (builtins.tuple, builtins.list))
    nums = builtins.list(argnum) if multi else [argnum]
    if not any(isinstance(args[i], (builtins.tuple, builtins.list)) for i in nums):
        return op(f, argnums=argnum)(*args)
    flat, spans, structs = [], [], []
    for a in args:
        leaves, struct = tree_flatten(a) if isinstance(a, (builtins.tuple, builtins.list)) else ([a], None)
        spans.append(range(len(flat), len(flat) + len(leaves)))
        structs.append(struct)
        flat += leaves

    def g(*leaves):
        return f(*[tree_unflatten(st, [leaves[k] for k in sp]) if st is not None else leaves[sp[0]]
                   for sp, st in zip(spans, structs)])
    wrt = [k for i in nums for k in spans[i]]
    res = op(g, argnums=builtins.tuple(wrt))(*flat)
    value, grads = res if op is npdiff.value_and_grad else (None, res)
    by = dict(zip(wrt, grads))
    parts = [tree_unflatten(structs[i], [by[k] for k in spans[i]]) if structs[i] is not None else by[spans[i][0]]
             for i in nums]
    out = builtins.tuple(parts) if multi else parts[0]
    return (value, out) if op is npdiff.value_and_grad else out


def grad(fun, argnum=0):
    """Return the gradient function of scalar fun (npdiff.grad; containers keep their structure)."""
    return lambda *args, **kwargs: _on_containers(npdiff.grad, fun, argnum, args, kwargs)


def value_and_grad(fun, argnum=0):
    """Return a function giving (value, gradient) (npdiff.value_and_grad; containers keep their structure)."""
    return lambda *args, **kwargs: _on_containers(npdiff.value_and_grad, fun, argnum, args, kwargs)


def jacobian(fun, argnum=0):
    """Return the Jacobian function, shaped out.shape + in.shape (npdiff.jacrev)."""
    return lambda *args, **kwargs: npdiff.jacrev(_kw(fun, kwargs), argnums=argnum)(*args)


def hessian(fun, argnum=0):
    """Return the Hessian function (npdiff.hessian)."""
    return lambda *args, **kwargs: npdiff.hessian(_kw(fun, kwargs), argnums=argnum)(*args)


def elementwise_grad(fun, argnum=0):
    """Return the vector-Jacobian product with a cotangent of ones (the sum of the Jacobian's rows)."""
    def g(*args, **kwargs):
        f = _kw(fun, kwargs)
        out, pullback = npdiff.vjp(f, *args)
        grads = pullback(np.ones_like(out))
        return tuple(grads[i] for i in argnum) if isinstance(argnum, (builtins.tuple, builtins.list)) \
            else grads[argnum]
    return g


def deriv(fun, argnum=0):
    """Return the forward derivative along a tangent of ones (npdiff.jvp)."""
    def d(*args, **kwargs):
        f = _kw(fun, kwargs)
        tangents = [np.ones_like(a) if i == argnum else np.zeros_like(a) for i, a in enumerate(args)]
        tangents = [float(t) if isinstance(a, float) else t for t, a in zip(tangents, args)]
        return npdiff.jvp(f, builtins.tuple(args), builtins.tuple(tangents))[1]
    return d


def holomorphic_grad(fun, argnum=0):
    """Return f'(z) of a holomorphic scalar function: npdiff's gradient of Re(f) (JAX's convention)."""
    def g(*args, **kwargs):
        f = _kw(fun, kwargs)
        return npdiff.grad(lambda *a: np.real(f(*a)), argnums=argnum)(*args)
    return g


# -- autograd's derived operators, each written with npdiff's operators from its documented meaning ---

def grad_and_aux(fun, argnum=0):
    """Return a function giving (gradient of the first output, the second output) (npdiff.grad has_aux)."""
    return lambda *args: npdiff.grad(fun, argnums=argnum, has_aux=True)(*args)


def make_jvp(fun, argnum=0):
    """Return x -> (v -> (f(x), J v)) (npdiff.jvp)."""
    def at(*args):
        def jvp_of(v):
            tangents = [v if i == argnum else np.zeros_like(a) for i, a in enumerate(args)]
            return npdiff.jvp(fun, builtins.tuple(args), builtins.tuple(tangents))
        return jvp_of
    return at


def make_hvp(fun, argnum=0):
    """Return x -> (v -> H v, grad f(x)) (npdiff.hvp and npdiff.grad)."""
    def at(*args):
        return (lambda v: npdiff.hvp(fun, argnums=argnum)(*args, v),
                npdiff.grad(fun, argnums=argnum)(*args))
    return at


def hessian_tensor_product(fun, argnum=0):
    """Return (*args, V) -> d/dx <grad f(x), V>: the Hessian contracted with a tensor V."""
    def htp(*args):
        args, v = args[:-1], args[-1]
        inner = lambda *a: np.tensordot(npdiff.grad(fun, argnums=argnum)(*a), v, np.ndim(v))
        return npdiff.grad(inner, argnums=argnum)(*args)
    return htp


def tensor_jacobian_product(fun, argnum=0):
    """Return (*args, V) -> the Jacobian of <V, f(x)> over V's axes (V times the Jacobian)."""
    def tjp(*args):
        args, v = args[:-1], args[-1]
        return npdiff.jacrev(lambda *a: np.tensordot(v, fun(*a), axes=np.ndim(v)), argnums=argnum)(*args)
    return tjp


def make_ggnvp(f, g=lambda y: 0.5 * np.sum(y ** 2, axis=-1), f_argnum=0):
    """Return x -> (v -> J^T H_g J v): the generalised Gauss-Newton product (npdiff.jvp, hvp, vjp)."""
    def at(x):
        y, pullback = npdiff.vjp(f, x)
        return lambda v: pullback(npdiff.hvp(g)(y, npdiff.jvp(f, (x,), (v,))[1]))[0]
    return at


def _isbox(x) -> bool:
    """Return True for a value npdiff is tracing (autograd's box)."""
    from npdiff.tracing.tracer import is_traced
    return is_traced(x)


INTERNAL = "autograd internals (its tracer, boxes, vspaces and extension API), which npdiff does not mirror"


def _scipy_modules():
    import scipy.integrate
    import scipy.linalg
    import scipy.special
    import scipy.stats
    stats = types.ModuleType("autograd.scipy.stats")
    stats.__path__ = []
    dists = ["norm", "t", "beta", "gamma", "chi2", "poisson", "dirichlet", "multivariate_normal"]
    for d in dists:
        setattr(stats, d, getattr(scipy.stats, d))
    sp = types.ModuleType("autograd.scipy")
    sp.__path__ = []
    sp.special, sp.linalg, sp.stats = scipy.special, scipy.linalg, stats
    sp.signal = _StubModule("autograd.scipy.signal", "autograd's own convolve (axes=, dot_axes=), not SciPy's")
    sp.integrate = scipy.integrate  # odeint is SciPy's: a test of it counts (npdiff refuses ODE solvers today)
    mods = {"autograd.scipy": sp, "autograd.scipy.special": scipy.special, "autograd.scipy.linalg": scipy.linalg,
            "autograd.scipy.stats": stats, "autograd.scipy.signal": sp.signal,
            "autograd.scipy.integrate": sp.integrate}
    for d in dists:
        mods[f"autograd.scipy.stats.{d}"] = getattr(stats, d)
    return sp, mods


def install() -> dict:
    """Put the shim modules in sys.modules (replacing any real autograd); return them by name."""
    ag = _StubModule("autograd", "an autograd operator npdiff does not mirror")
    ag.__dict__.update(grad=grad, value_and_grad=value_and_grad, jacobian=jacobian, hessian=hessian,
                       elementwise_grad=elementwise_grad, deriv=deriv, holomorphic_grad=holomorphic_grad,
                       grad_and_aux=grad_and_aux, make_jvp=make_jvp, make_hvp=make_hvp, make_ggnvp=make_ggnvp,
                       hessian_tensor_product=hessian_tensor_product, tensor_jacobian_product=tensor_jacobian_product,
                       vector_jacobian_product=tensor_jacobian_product,
                       tuple=builtins.tuple, numpy=np)
    for name in ("list", "dict", "isinstance", "type"):  # autograd.builtins containers
        setattr(ag, name, _stub(f"autograd.{name}", "autograd.builtins containers"))
    test_util = types.ModuleType("autograd.test_util")
    test_util.__dict__.update(check_grads=checks.check_grads, combo_check=checks.combo_check,
                              check_equivalent=checks.check_equivalent, scalar_close=checks.scalar_close)
    ag.test_util = test_util
    mods = {"autograd": ag, "autograd.numpy": np, "autograd.numpy.random": np.random,
            "autograd.numpy.linalg": np.linalg, "autograd.numpy.fft": np.fft, "autograd.test_util": test_util}
    for internal in ("core", "extend", "tracer", "misc", "builtins", "util", "wrap_util", "differential_operators"):
        mods[f"autograd.{internal}"] = m = _StubModule(f"autograd.{internal}", INTERNAL)
        setattr(ag, internal, m)
    mods["autograd.core"].primitive_vjps = {}
    mods["autograd.tracer"].isbox = _isbox  # "is this a traced value?": npdiff's Tracer
    mods["autograd.builtins"] = m = _StubModule("autograd.builtins", "autograd.builtins containers")
    ag.builtins = m
    mods["autograd.misc.flatten"] = _StubModule("autograd.misc.flatten", INTERNAL)
    try:
        sp, scipy_mods = _scipy_modules()
        ag.scipy = sp
        mods.update(scipy_mods)
    except ImportError:  # pragma: no cover - without SciPy, test_scipy.py skips itself
        pass
    for name in [k for k in sys.modules if k == "autograd" or k.startswith("autograd.")]:
        del sys.modules[name]
    sys.modules.update(mods)
    return mods
