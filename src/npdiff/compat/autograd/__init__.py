"""autograd's public API on npdiff: ``import npdiff.compat.autograd as autograd`` is the whole migration.

Names, argument names (``argnum``) and return conventions are autograd's;
``npdiff.compat.autograd.numpy`` is NumPy and ``.scipy`` SciPy (npdiff traces
plain NumPy code), ``misc.flatten`` and ``misc.optimizers`` are autograd's
helpers, ``extend.primitive`` / ``defvjp`` / ``defjvp`` map onto npdiff's
``custom_vjp`` / ``custom_jvp``, and ``test_util.check_grads`` checks
derivatives against finite differences. See docs: Coming from autograd.
"""
from . import builtins, extend, misc, test_util
from .builtins import dict, isinstance, list, tuple, type  # noqa: F401  (autograd.builtins: Python's own)
from .differential_operators import (checkpoint, deriv, elementwise_grad, grad, grad_and_aux, grad_named,
                                     hessian, hessian_tensor_product, hessian_vector_product, holomorphic_grad,
                                     jacobian, make_ggnvp, make_hvp, make_jvp, make_vjp, multigrad_dict,
                                     tensor_jacobian_product, value_and_grad, vector_jacobian_product)
from .extend import primitive

__all__ = ["grad", "value_and_grad", "elementwise_grad", "jacobian", "hessian", "holomorphic_grad", "deriv",
           "grad_and_aux", "grad_named", "make_vjp", "make_jvp", "make_hvp", "make_ggnvp", "hessian_tensor_product",
           "hessian_vector_product", "tensor_jacobian_product", "vector_jacobian_product", "multigrad_dict",
           "checkpoint", "primitive", "numpy", "scipy", "misc", "extend", "test_util", "builtins"]


def __getattr__(name):  # numpy and scipy load on first use (scipy is optional)
    if name in ("numpy", "scipy"):
        import importlib
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
