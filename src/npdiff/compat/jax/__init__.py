"""JAX's transformation API for NumPy code: ``import npdiff.compat.jax as jax`` and ``import npdiff.compat.jax.numpy as jnp``.

``jnp`` is plain NumPy (npdiff traces NumPy code), so code written against a
``jnp`` alias runs as NumPy and is differentiated by npdiff's operators, with
JAX's names and defaults: ``jacfwd`` / ``jacrev`` / ``hessian`` differentiate
the first argument (``argnums=0``) where npdiff's own ``jacobian`` / ``jacfwd``
/ ``jacrev`` default to all arguments. ``jit`` returns the function unchanged
(see its docstring). What has no NumPy counterpart (``vmap``, ``lax.scan``,
``random.PRNGKey``...) raises ``UnsupportedOperationError`` naming the
plain-NumPy spelling. See docs: Coming from JAX.
"""
from __future__ import annotations

import sys
from collections.abc import Callable

from ...api import jax_style as npdiff  # the operators (npdiff itself imports the layers above api)

from ...api.custom import custom_jvp as _custom_jvp
from ...api.custom import custom_vjp as _custom_vjp
from ...errors import UnsupportedOperationError
from ... import tree_util
from . import flatten_util, lax, random, tree

sys.modules[f"{__name__}.tree_util"] = tree_util  # `from npdiff.compat.jax.tree_util import tree_map` works

__all__ = ["grad", "value_and_grad", "jacfwd", "jacrev", "jacobian", "hessian", "jvp", "vjp", "linearize", "jit",
           "custom_jvp", "custom_vjp", "vmap", "pmap", "tree_util", "flatten_util", "lax", "random", "tree", "numpy",
           "config", "block_until_ready", "device_put"]


def _no_holomorphic(holomorphic: bool, op: str) -> None:
    if holomorphic:
        raise UnsupportedOperationError(f"{op}(..., holomorphic=True) is not supported; differentiate the real and "
                                        "imaginary parts separately (npdiff follows JAX's convention for real outputs)")


def grad(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False, allow_int: bool = False):
    """Return a function giving the gradient of scalar fun in ``argnums`` (jax.grad)."""
    _no_holomorphic(holomorphic, "grad")
    return npdiff.grad(fun, argnums=argnums, has_aux=has_aux)


def value_and_grad(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False,
                   allow_int: bool = False):
    """Return a function giving (value, gradient) of scalar fun (jax.value_and_grad)."""
    _no_holomorphic(holomorphic, "value_and_grad")
    return npdiff.value_and_grad(fun, argnums=argnums, has_aux=has_aux)


def jacfwd(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """Return a function giving the forward-mode Jacobian in ``argnums`` (default: the first argument, as JAX)."""
    _no_holomorphic(holomorphic, "jacfwd")
    return npdiff.jacfwd(fun, argnums=argnums, has_aux=has_aux)


def jacrev(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False, allow_int: bool = False):
    """Return a function giving the reverse-mode Jacobian in ``argnums`` (default: the first argument, as JAX)."""
    _no_holomorphic(holomorphic, "jacrev")
    return npdiff.jacrev(fun, argnums=argnums, has_aux=has_aux)


jacobian = jacrev


def hessian(fun: Callable, argnums=0, has_aux: bool = False, holomorphic: bool = False):
    """Return a function giving the Hessian of fun in ``argnums`` (jax.hessian)."""
    _no_holomorphic(holomorphic, "hessian")
    if has_aux:
        return jacfwd(jacrev(fun, argnums, has_aux=True), argnums, has_aux=True)
    return npdiff.hessian(fun, argnums=argnums)


def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """Return (fun(*primals), J tangents) (jax.jvp; with has_aux a third item, the aux)."""
    return npdiff.jvp(fun, tuple(primals), tuple(tangents), has_aux=has_aux)


def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Return (fun(*primals), vjp_fn) with vjp_fn(ct) a tuple of cotangents, one per primal (jax.vjp)."""
    return npdiff.vjp(fun, *primals, has_aux=has_aux)


def linearize(fun: Callable, *primals):
    """Return (fun(*primals), jvp_fn): jvp_fn(*tangents) is the Jacobian applied to the tangents (jax.linearize)."""
    return npdiff.linearize(fun, *primals)


def jit(fun: Callable | None = None, *, static_argnums=None, static_argnames=None, donate_argnums=None,
        **options):
    """Return fun unchanged: NumPy code runs as NumPy, and npdiff's operators already generate and cache code.

    ``jit(grad(f))`` is ``grad(f)``, which specialises on the first call per
    argument shapes (values used in Python control flow become checked guards).
    The options of ``jax.jit`` are accepted and have no effect; ``@jit`` and
    ``@partial(jit, static_argnums=...)`` both work.
    """
    if fun is None:
        return lambda f: f
    return fun


class custom_jvp(_custom_jvp):
    """jax.custom_jvp: ``@custom_jvp`` then ``@f.defjvp`` with rule(primals, tangents) -> (out, tangent_out)."""

    def __init__(self, fun: Callable, nondiff_argnums=()):
        if nondiff_argnums:
            raise UnsupportedOperationError("custom_jvp(..., nondiff_argnums=...) is not supported: close over the "
                                            "non-differentiable arguments (functools.partial) instead")
        super().__init__(fun)

    def defjvps(self, *tangent_fns):
        """Set the JVP from one function per argument, t_i(g, ans, *primals) -> tangent of the output; return None."""
        def rule(primals, tangents):
            ans = self.fun(*primals)
            total = None
            for fn, t in zip(tangent_fns, tangents):
                if fn is not None:
                    part = fn(t, ans, *primals)
                    total = part if total is None else total + part
            return ans, (0.0 * ans if total is None else total)
        self.defjvp(rule)


class custom_vjp(_custom_vjp):
    """jax.custom_vjp: ``@custom_vjp`` then ``f.defvjp(fwd, bwd)`` (bwd returns one cotangent per argument)."""

    def __init__(self, fun: Callable, nondiff_argnums=()):
        if nondiff_argnums:
            raise UnsupportedOperationError("custom_vjp(..., nondiff_argnums=...) is not supported: close over the "
                                            "non-differentiable arguments (functools.partial) instead")
        super().__init__(fun)


def _refuse(name: str, spelling: str) -> Callable:
    def refused(*args, **kwargs):
        raise UnsupportedOperationError(f"jax.{name} has no counterpart in npdiff's NumPy code: {spelling}")
    refused.__name__ = name.rsplit(".", 1)[-1]
    return refused


vmap = _refuse("vmap", "write the batch axis in NumPy (broadcasting, np.einsum, np.matmul on stacks) or "
                       "np.stack([f(x) for x in xs])")
pmap = _refuse("pmap", "run NumPy code per device yourself; npdiff generates single-process NumPy code")


def block_until_ready(x):
    """Return x (NumPy arrays are always ready)."""
    return x


def device_put(x, device=None):
    """Return x (NumPy arrays live in host memory)."""
    return x


class _Config:
    """jax.config: ``update`` accepts JAX's flags and does nothing (NumPy computes in float64 by default)."""

    def update(self, name: str, value) -> None:
        """Accept a JAX configuration flag; return None."""
        return None


config = _Config()


def __getattr__(name):  # numpy loads on first use
    if name == "numpy":
        import importlib
        return importlib.import_module(f"{__name__}.numpy")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
