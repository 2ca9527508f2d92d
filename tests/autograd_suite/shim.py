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


def grad(fun, argnum=0):
    """Return the gradient function of scalar fun (npdiff.grad)."""
    return lambda *args, **kwargs: npdiff.grad(_scalar(fun, kwargs), argnums=argnum)(*args)


def value_and_grad(fun, argnum=0):
    """Return a function giving (value, gradient) (npdiff.value_and_grad)."""
    return lambda *args, **kwargs: npdiff.value_and_grad(_scalar(fun, kwargs), argnums=argnum)(*args)


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


INTERNAL = "autograd internals (its tracer, boxes, vspaces and extension API), which npdiff does not mirror"


class _LateDistribution(types.ModuleType):
    """autograd.scipy.stats.norm and friends: functions that look the SciPy method up when called.

    autograd's tests take ``stats.norm.pdf`` before any trace starts; a method bound that early
    would be SciPy's own generic code, not the method npdiff intercepts while tracing.
    """

    def __init__(self, dist):
        super().__init__(f"autograd.scipy.stats.{dist}")
        self._dist = dist

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        import scipy.stats
        dist = self._dist

        def method(*args, **kwargs):
            return getattr(getattr(scipy.stats, dist), name)(*args, **kwargs)
        method.__name__ = f"{dist}.{name}"
        return method


def _scipy_modules():
    import scipy.linalg
    import scipy.special
    import scipy.stats
    stats = types.ModuleType("autograd.scipy.stats")
    stats.__path__ = []
    dists = ["norm", "t", "beta", "gamma", "chi2", "poisson", "dirichlet", "multivariate_normal"]
    for d in dists:
        setattr(stats, d, _LateDistribution(d))
    sp = types.ModuleType("autograd.scipy")
    sp.__path__ = []
    sp.special, sp.linalg, sp.stats = scipy.special, scipy.linalg, stats
    sp.signal = _StubModule("autograd.scipy.signal", "autograd's own convolve (axes=, dot_axes=), not SciPy's")
    sp.integrate = _StubModule("autograd.scipy.integrate", "odeint: npdiff does not differentiate ODE solvers")
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
