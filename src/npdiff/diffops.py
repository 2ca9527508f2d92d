"""SymNum-compatible differential operators on plain NumPy functions (see api/diffops.py)."""
from .api.diffops import (OPTIONS, grad, gradient, hessian, hessian_vector_product, jacobian,  # noqa: F401
                          jacobian_vector_product, matrix_hessian_product, matrix_tressian_product,
                          vector_jacobian_product)

__all__ = ["gradient", "grad", "hessian", "jacobian", "hessian_vector_product", "jacobian_vector_product",
           "vector_jacobian_product", "matrix_hessian_product", "matrix_tressian_product"]
