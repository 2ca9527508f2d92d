"""SymNum-style eager generators (``npdiff.diffops``): shapes given up front,
each returns a GeneratedFunction. ``func`` is plain NumPy code, or a
GeneratedFunction from ``numpify`` (whose shapes are then reused).
"""
from __future__ import annotations

from collections.abc import Callable

from ..emit.generated import GeneratedFunction
from .bundles import Bundle
from .core import arg_names, aval, func_name, generate

OPTIONS = {"name": "name of the generated function (default: '<op>_<function name>')",
           "backend": "'numpy' (default) or 'array_api' (code for any array API library)"}


def _avals(func, arg_shapes):
    if arg_shapes:
        return [aval(s) for s in arg_shapes]
    if isinstance(func, GeneratedFunction):
        return list(zip(func.arg_shapes, func.arg_dtypes))
    raise TypeError("give the argument shapes, e.g. gradient(func, (3,)), unless func is a "
                    "GeneratedFunction from npdiff.numpify")


def _names(func, n):
    if isinstance(func, GeneratedFunction) and func.arg_names:
        return list(func.arg_names)
    return arg_names(func, n)


def _make(op: str, parts: Callable, func, arg_shapes, wrt, kwargs, doc) -> GeneratedFunction:
    unknown = set(kwargs) - set(OPTIONS)
    if unknown:
        raise TypeError(f"{op}() got unknown code-generation option(s) {sorted(unknown)}; "
                        f"accepted: " + ", ".join(f"{k} ({v})" for k, v in OPTIONS.items()))
    avals = _avals(func, arg_shapes)
    if isinstance(wrt, bool) or not isinstance(wrt, int):
        raise TypeError(f"{op}: wrt must be an int (the index of the argument to differentiate), got {wrt!r}")
    if not 0 <= wrt < len(avals):
        raise ValueError(f"{op}: wrt={wrt} but the function takes {len(avals)} arguments "
                         f"(wrt is an argument index, 0 to {len(avals) - 1})")
    name = kwargs.get("name") or f"{op}_{func_name(func)}"
    return generate(name, _names(func, len(avals)), avals,
                    lambda *inputs: parts(Bundle(func, list(inputs), wrt, op)), doc=doc,
                    backend=kwargs.get("backend", "numpy"))


def gradient(func, *arg_shapes, wrt: int = 0, return_aux: bool = False, **kwargs) -> GeneratedFunction:
    """Return a generated function computing the gradient (with return_aux: (grad, value))."""
    return _make("gradient", lambda b: (b.grad(), b.value()) if return_aux else b.grad(),
                 func, arg_shapes, wrt, kwargs, "Return the gradient" + (" and value." if return_aux else "."))


grad = gradient


def hessian(func, *arg_shapes, wrt: int = 0, return_aux: bool = False, **kwargs) -> GeneratedFunction:
    """Return a generated function computing the Hessian (with return_aux: (hessian, grad, value))."""
    return _make("hessian", lambda b: (b.hessian(), b.grad(), b.value()) if return_aux else b.hessian(),
                 func, arg_shapes, wrt, kwargs, "Return the Hessian" + (", gradient and value." if return_aux else "."))


def jacobian(func, *arg_shapes, wrt: int = 0, return_aux: bool = False, **kwargs) -> GeneratedFunction:
    """Return a generated function computing the Jacobian (with return_aux: (jacobian, value))."""
    return _make("jacobian", lambda b: (b.jacobian(), b.value()) if return_aux else b.jacobian(),
                 func, arg_shapes, wrt, kwargs, "Return the Jacobian" + (" and value." if return_aux else "."))


def hessian_vector_product(func, *arg_shapes, wrt: int = 0, return_aux: bool = False,
                           **kwargs) -> GeneratedFunction:
    """Return a generated function returning hvp(v) == tensordot(hessian, v, x.ndim) (with return_aux: (hvp, grad, value))."""
    return _make("hessian_vector_product",
                 lambda b: (b.hvp_op(), b.grad(), b.value()) if return_aux else b.hvp_op(),
                 func, arg_shapes, wrt, kwargs, "Return the Hessian-vector-product operator.")


def jacobian_vector_product(func, *arg_shapes, wrt: int = 0, return_aux: bool = False,
                            **kwargs) -> GeneratedFunction:
    """Return a generated function returning jvp(v) == tensordot(jacobian, v, x.ndim) (with return_aux: (jvp, value))."""
    return _make("jacobian_vector_product", lambda b: (b.jvp_op(), b.value()) if return_aux else b.jvp_op(),
                 func, arg_shapes, wrt, kwargs, "Return the Jacobian-vector-product operator.")


def vector_jacobian_product(func, *arg_shapes, wrt: int = 0, return_aux: bool = False,
                            **kwargs) -> GeneratedFunction:
    """Return a generated function returning vjp(v) == tensordot(v, jacobian, out.ndim) (with return_aux: (vjp, value))."""
    return _make("vector_jacobian_product", lambda b: (b.vjp_op(), b.value()) if return_aux else b.vjp_op(),
                 func, arg_shapes, wrt, kwargs, "Return the vector-Jacobian-product operator.")


def matrix_hessian_product(func, *arg_shapes, wrt: int = 0, return_aux: bool = False,
                           **kwargs) -> GeneratedFunction:
    """Return a generated function returning mhp(m) (with return_aux: (mhp, jacobian, value))."""
    return _make("matrix_hessian_product",
                 lambda b: (b.mhp_op(), b.jacobian(), b.value()) if return_aux else b.mhp_op(),
                 func, arg_shapes, wrt, kwargs, "Return the matrix-Hessian-product operator.")


def matrix_tressian_product(func, *arg_shapes, wrt: int = 0, return_aux: bool = False,
                            **kwargs) -> GeneratedFunction:
    """Return a generated function returning mtp(m) (with return_aux: (mtp, hessian, grad, value))."""
    return _make("matrix_tressian_product",
                 lambda b: (b.mtp_op(), b.hessian(), b.grad(), b.value()) if return_aux else b.mtp_op(),
                 func, arg_shapes, wrt, kwargs, "Return the matrix-Tressian-product operator.")
