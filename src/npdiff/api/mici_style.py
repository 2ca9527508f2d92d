"""Mici-style derivative bundles, with the return orders of Mici's autodiff
wrappers. Each takes a function of one array ``x`` and returns a function of
``x`` (specialised and cached per shape/dtype on first call) that computes
every part in one generated function with shared subexpressions; the
``vjp``/``mhp``/``mtp`` operators close over precomputed intermediates.
"""
from __future__ import annotations

from collections.abc import Callable

from .bundles import Bundle
from .core import LazyFunction


def _bundle(name: str, parts: Callable, doc: str):
    def op(func: Callable, backend: str = "numpy") -> LazyFunction:
        def build(*nodes):
            if len(nodes) != 1:
                raise TypeError(f"{name}: Mici-style operators take one array argument (the position x), "
                                f"got {len(nodes)} arguments")
            return parts(Bundle(func, list(nodes), 0, name))
        return LazyFunction(build, func, name, doc, backend)._share(globals()[name], func, backend=backend)
    op.__name__ = name
    op.__doc__ = doc
    return op


_GV = _bundle("grad_and_value", lambda b: (b.grad(), b.value()),
              "Return a function computing (gradient, value) of a scalar function.")
_JV = _bundle("jacobian_and_value", lambda b: (b.jacobian(), b.value()), "Return a function computing (Jacobian, value).")
_HGV = _bundle("hessian_grad_and_value", lambda b: (b.hessian(), b.grad(), b.value()),
               "Return a function computing (Hessian, gradient, value) of a scalar function.")
_VV = _bundle("vjp_and_value", lambda b: (b.vjp_op(), b.value()),
              "Return a function computing (vjp, value) with vjp(v) == v @ jacobian.")
_MJV = _bundle("mhp_jacobian_and_value", lambda b: (b.mhp_op(), b.jacobian(), b.value()),
               "Return a function computing (mhp, Jacobian, value), mhp(m) = sum(m[:, :, None] * h, axis=(0, 1)).")
_MHGV = _bundle("mtp_hessian_grad_and_value", lambda b: (b.mtp_op(), b.hessian(), b.grad(), b.value()),
                "Return a function computing (mtp, Hessian, gradient, value), mtp(m) = sum(m * t, axis=(-1, -2)).")


def grad_and_value(func: Callable, backend: str = "numpy") -> LazyFunction:
    """Return a function of one array ``x`` computing ``(grad, value)`` of the scalar function func."""
    return _GV(func, backend)


def jacobian_and_value(func: Callable, backend: str = "numpy") -> LazyFunction:
    """Return a function of one array ``x`` computing ``(jacobian, value)``, the Jacobian of shape
    ``out.shape + x.shape``."""
    return _JV(func, backend)


def hessian_grad_and_value(func: Callable, backend: str = "numpy") -> LazyFunction:
    """Return a function of one array ``x`` computing ``(hessian, grad, value)`` of the scalar function func."""
    return _HGV(func, backend)


def vjp_and_value(func: Callable, backend: str = "numpy") -> LazyFunction:
    """Return a function of one array ``x`` computing ``(vjp, value)``, where ``vjp(v) == v @ jacobian``."""
    return _VV(func, backend)


def mhp_jacobian_and_value(func: Callable, backend: str = "numpy") -> LazyFunction:
    """Return a function of one array ``x`` computing ``(mhp, jacobian, value)``, where
    ``mhp(m) == sum(m[:, :, None] * h, axis=(0, 1))`` with ``h[i, j, k] = d2 f[i] / dx[j] dx[k]``."""
    return _MJV(func, backend)


def mtp_hessian_grad_and_value(func: Callable, backend: str = "numpy") -> LazyFunction:
    """Return a function of one array ``x`` computing ``(mtp, hessian, grad, value)`` of the scalar function
    func, where ``mtp(m) == sum(m * t, axis=(-1, -2))`` with ``t[i, j, k] = d3 f / dx[i] dx[j] dx[k]``."""
    return _MHGV(func, backend)


__all__ = ["grad_and_value", "jacobian_and_value", "hessian_grad_and_value", "vjp_and_value",
           "mhp_jacobian_and_value", "mtp_hessian_grad_and_value"]
