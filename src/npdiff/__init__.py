"""npdiff: differentiate plain NumPy code and get plain NumPy source back.

Every operator ends in a GeneratedFunction: plain NumPy source, readable, picklable and exportable.
"""
from . import primitives as _primitives  # noqa: F401  (registers the primitive table)
from . import lower as _lower  # noqa: F401  (registers the NumPy lowerings)
from .errors import PathChangedError, PathChurnWarning, TracingError, UnsupportedOperationError
from . import config
from .check import check_grads
from .emit.generated import GeneratedFunction
from .api.core import ShapeDtype
from .api.custom import custom_jvp, custom_vjp, stop_gradient
from .lower.custom_root import custom_root, fixed_point
from .api.mici_style import (grad_and_value, hessian_grad_and_value, jacobian_and_value,
                             mhp_jacobian_and_value, mtp_hessian_grad_and_value, vjp_and_value)
from . import diffops
from .api.jax_style import (grad, hessian, hvp, jacfwd, jacobian, jacrev, jvp, linearize, numpify,
                            numpify_func, sparsity, value_and_grad, vjp)
from .api.adjoint.transform import transform, transform_expr
from .emit.export import export
from . import tree_util
from .api.progress import show_progress
from . import mici  # Mici autodiff backend (imports Mici only in mici.register())

__version__ = "0.1.0"

__all__ = [
    "GeneratedFunction", "ShapeDtype", "PathChangedError", "PathChurnWarning", "TracingError",
    "UnsupportedOperationError", "config",
    "numpify", "numpify_func", "grad", "value_and_grad", "jacfwd", "jacrev", "jacobian", "hessian",
    "hvp", "jvp", "vjp", "linearize", "sparsity", "check_grads", "custom_jvp", "custom_vjp", "stop_gradient",
    "tree_util", "custom_root", "fixed_point", "diffops",
    "grad_and_value", "jacobian_and_value", "hessian_grad_and_value", "vjp_and_value",
    "mhp_jacobian_and_value", "mtp_hessian_grad_and_value",
    "transform", "transform_expr", "export", "mici", "show_progress",
]
