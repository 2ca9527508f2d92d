"""npdiff: differentiate plain NumPy code and get plain NumPy source back.

See API.md for the contract; every operator ends in a GeneratedFunction.
"""
from . import primitives as _primitives  # noqa: F401  (registers the primitive table)
from . import lower as _lower  # noqa: F401  (registers the NumPy lowerings)
from .errors import TracingError, UnsupportedOperationError
from .check import check_grads
from .generated import GeneratedFunction
from .api.core import ShapeDtype
from .api.custom import custom_jvp, custom_vjp
from .api.jax_style import (grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, linearize, numpify,
                            numpify_func, value_and_grad, vjp)

__version__ = "0.1.0"

__all__ = [
    "GeneratedFunction", "ShapeDtype", "TracingError", "UnsupportedOperationError",
    "numpify", "numpify_func", "grad", "value_and_grad", "jacfwd", "jacrev", "jacobian", "hessian",
    "hvp", "jvp", "vjp", "linearize", "check_grads", "custom_jvp", "custom_vjp",
]
