"""autograd's differential operators (names, ``argnum`` defaults, return conventions) on npdiff.

Each operator returns a function of the same arguments as ``fun`` (keyword
arguments are passed to ``fun``). Derivatives come from npdiff's generated code:
the first call with new shapes (or a new value of an int/string argument)
traces ``fun`` once; later calls run the generated NumPy code.
"""
from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable

import numpy as np

from ...api import jax_style as npdiff  # the operators (npdiff itself imports the layers above api)
from ...tree_util import tree_flatten
from ._nary import Cached, Flat

__all__ = ["grad", "value_and_grad", "elementwise_grad", "jacobian", "hessian", "holomorphic_grad", "deriv",
           "grad_and_aux", "grad_named", "make_vjp", "make_jvp", "make_hvp", "make_ggnvp", "hessian_tensor_product",
           "hessian_vector_product", "tensor_jacobian_product", "vector_jacobian_product", "multigrad_dict",
           "checkpoint"]


def _no_leaves(call, value):
    return call.regroup([])


def _operator(make: Callable, finish: Callable, reshape_scalar: bool = False, empty: Callable = _no_leaves) -> Callable:
    """Return an autograd-style operator: op(fun, argnum=0) -> function of fun's arguments."""
    def op(fun: Callable, argnum=0) -> Callable:
        cache = Cached(make)

        @functools.wraps(fun)
        def applied(*args, **kwargs):
            call = Flat(fun, argnum, args, kwargs, reshape_scalar)
            if call.nwrt == 0:  # an empty container: nothing to differentiate, fun still runs (as in autograd)
                return empty(call, call.fun(*call.values))
            return finish(call, cache.get(call)(*call.values))
        return applied
    return op


def _wrt(n: int) -> tuple:
    return tuple(range(n))


def _grads(call, res):
    return call.regroup(res)


grad = _operator(lambda f, n: npdiff.grad(f, argnums=_wrt(n)), _grads, reshape_scalar=True)
grad.__name__ = "grad"
grad.__doc__ = """Return a function giving the gradient of scalar fun in argument ``argnum`` (autograd.grad).

The gradient has the structure of the argument (a dict for a dict, a tuple for
``argnum=(0, 1)``). fun may return any one-element array.
"""

value_and_grad = _operator(lambda f, n: npdiff.value_and_grad(f, argnums=_wrt(n)),
                           lambda call, res: (res[0], call.regroup(res[1])), reshape_scalar=True,
                           empty=lambda call, value: (value, call.regroup([])))
value_and_grad.__name__ = "value_and_grad"
value_and_grad.__doc__ = "Return a function giving (value, gradient) of scalar fun (autograd.value_and_grad)."


def _sum_out(f):
    def summed(*a):
        return np.sum(f(*a))
    summed.__name__ = f.__name__
    return summed


elementwise_grad = _operator(lambda f, n: npdiff.grad(_sum_out(f), argnums=_wrt(n)), _grads)
elementwise_grad.__name__ = "elementwise_grad"
elementwise_grad.__doc__ = """Return a function giving the sum of the Jacobian's rows (autograd.elementwise_grad).

For a function acting elementwise this is the diagonal of the Jacobian, in one reverse pass.
"""

jacobian = _operator(lambda f, n: npdiff.jacobian(f, argnums=_wrt(n)), _grads)
jacobian.__name__ = "jacobian"
jacobian.__doc__ = """Return a function giving the Jacobian in argument ``argnum``, shape out.shape + in.shape.

As autograd, the default is the first argument (``argnum=0``); npdiff's own
``jacobian`` defaults to all arguments. A container argument gives one Jacobian per leaf.
"""

hessian = _operator(lambda f, n: npdiff.hessian(f, argnums=0 if n == 1 else _wrt(n)),
                    lambda call, res: call.regroup([res] if call.nwrt == 1 else res))
hessian.__name__ = "hessian"
hessian.__doc__ = """Return a function giving the Hessian in argument ``argnum``, shape out.shape + in.shape + in.shape.

For a container argument, entry [i] (in the container's structure) is the tuple of blocks d2f/dx_i dx_j over its leaves j.
"""


def holomorphic_grad(fun: Callable, argnum=0) -> Callable:
    """Return a function giving f'(z) of a holomorphic scalar fun (autograd.holomorphic_grad)."""
    g = grad(lambda *a, **k: np.real(fun(*a, **k)), argnum)

    @functools.wraps(fun)
    def applied(*args, **kwargs):
        if not all(np.iscomplexobj(args[i]) for i in ((argnum,) if isinstance(argnum, int) else argnum)):
            warnings.warn("Input to holomorphic_grad is not complex", stacklevel=2)
        return g(*args, **kwargs)
    return applied


def grad_and_aux(fun: Callable, argnum=0) -> Callable:
    """Return a function giving (gradient of fun's first output, its second output) (autograd.grad_and_aux)."""
    def make(f, n):
        return npdiff.grad(f, argnums=_wrt(n), has_aux=True)
    return _operator(make, lambda call, res: (call.regroup(res[0]), res[1]),
                     empty=lambda call, value: (call.regroup([]), value[1]))(fun, argnum)


def grad_named(fun: Callable, argname: str) -> Callable:
    """Return the gradient of fun in the argument named ``argname`` (autograd.grad_named)."""
    return grad(fun, list(inspect.signature(fun).parameters).index(argname))


def _closed(fun, argnum, args, kwargs):
    """Return (Flat call, function of the differentiated leaves only): the other arguments closed over."""
    call = Flat(fun, argnum, args, kwargs)
    rest = call.values[call.nwrt:]
    return call, (lambda *leaves: call.fun(*leaves, *rest))


def make_vjp(fun: Callable, argnum=0) -> Callable:
    """Return a function of fun's arguments giving (vjp, value): vjp(g) is g times the Jacobian (autograd.make_vjp)."""
    def at(*args, **kwargs):
        call, f = _closed(fun, argnum, args, kwargs)
        value, pullback = npdiff.vjp(f, *call.values[:call.nwrt])
        return (lambda g: call.regroup(pullback(g))), value
    return at


def make_jvp(fun: Callable, argnum=0) -> Callable:
    """Return a function of fun's arguments giving jvp: jvp(v) -> (value, J v) (autograd.make_jvp)."""
    def at(*args, **kwargs):
        call, f = _closed(fun, argnum, args, kwargs)
        primals = call.values[:call.nwrt]

        def jvp(v):
            tangents: list = []
            for t in (v if call.multi else (v,)):
                tangents += tree_flatten(t)[0]
            return npdiff.jvp(f, tuple(primals), tuple(tangents))
        return jvp
    return at


def deriv(fun: Callable, argnum=0) -> Callable:
    """Return a function giving the forward derivative along a tangent of ones (autograd.deriv)."""
    def at(*args, **kwargs):
        x = args[argnum]
        ones = 1.0 if isinstance(x, float) else np.ones_like(x, dtype=np.result_type(x, float))
        return make_jvp(fun, argnum)(*args, **kwargs)(ones)[1]
    return at


def hessian_tensor_product(fun: Callable, argnum=0) -> Callable:
    """Return f(*args, V) -> the Hessian of fun contracted with the tensor V (autograd.hessian_tensor_product)."""
    fun_grad = grad(fun, argnum)

    def vector_dot_grad(*args, **kwargs):
        args, v = args[:-1], args[-1]
        return np.tensordot(fun_grad(*args, **kwargs), v, np.ndim(v))
    return grad(vector_dot_grad, argnum)


hessian_vector_product = hessian_tensor_product


def tensor_jacobian_product(fun: Callable, argnum=0) -> Callable:
    """Return f(*args, V) -> V contracted with the Jacobian of fun (autograd.tensor_jacobian_product)."""
    def vector_dot_fun(*args, **kwargs):
        args, v = args[:-1], args[-1]
        return np.tensordot(v, fun(*args, **kwargs), axes=np.ndim(v))
    return jacobian(vector_dot_fun, argnum)


vector_jacobian_product = tensor_jacobian_product


def make_hvp(fun: Callable, argnum=0) -> Callable:
    """Return a function of fun's arguments giving (hvp, gradient): hvp(v) is H v (autograd.make_hvp)."""
    htp, g = hessian_tensor_product(fun, argnum), grad(fun, argnum)

    def at(*args, **kwargs):
        return (lambda v: htp(*args, v, **kwargs)), g(*args, **kwargs)
    return at


def make_ggnvp(f: Callable, g: Callable = lambda x: 0.5 * np.sum(x ** 2, axis=-1), f_argnum: int = 0) -> Callable:
    """Return a function of f's arguments giving v -> J^T H_g J v, the generalised Gauss-Newton product."""
    g_htp = hessian_tensor_product(g)

    def at(*args, **kwargs):
        f_vjp, y = make_vjp(f, f_argnum)(*args, **kwargs)
        f_jvp = make_jvp(f, f_argnum)(*args, **kwargs)
        return lambda v: f_vjp(g_htp(y, f_jvp(v)[1]))
    return at


def multigrad_dict(fun: Callable) -> Callable:
    """Return a function giving {argument name: gradient} for every positional argument (autograd.multigrad_dict)."""
    names = [p.name for p in inspect.signature(fun).parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def at(*args, **kwargs):
        bound = inspect.signature(fun).bind(*args, **kwargs)
        bound.apply_defaults()
        full = [bound.arguments[n] for n in names]
        grads = grad(fun, tuple(range(len(full))))(*full)
        return dict(zip(names, grads))
    return at


def checkpoint(fun: Callable) -> Callable:
    """Return fun: generated code keeps no tape to trade for recomputation (autograd.checkpoint)."""
    return fun
