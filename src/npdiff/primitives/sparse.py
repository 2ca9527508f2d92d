"""``to_csr(vals, indices, indptr, shape=)``: a SciPy CSR array built from its
three arrays, the output format of ``sparse=True`` Jacobians (api/jax_style.py).
An output format only: it has no derivative and is never unrolled.
"""
from __future__ import annotations

from ..errors import UnsupportedOperationError
from ..ir.indexsets import DENSE
from .registry import NOT_SCALAR, NOT_XP, Primitive, register


def _csr_impl(vals, indices, indptr, shape):
    import scipy.sparse  # optional dependency, needed only when a sparse Jacobian is built
    return scipy.sparse.csr_array((vals, indices, indptr), shape=shape)


def _no_derivative_of_csr(*args, **kwargs):
    raise UnsupportedOperationError("a sparse (CSR) Jacobian cannot be differentiated again; "
                                    "use sparse=False inside nested operators")


register(Primitive("to_csr", lambda vals, indices, indptr, shape: (tuple(shape), vals.dtype), _csr_impl,
                   lambda names, node: (f"scipy.sparse.csr_array(({names[0]}, {names[1]}, {names[2]}), "
                                        f"shape={node.p['shape']})"),
                   jvp=_no_derivative_of_csr, fold=False, owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR,
                   xp_emit=NOT_XP))
