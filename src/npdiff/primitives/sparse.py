"""SciPy CSR matrices: ``to_csr(vals, indices, indptr, shape=)``, a CSR array built
from its three arrays, the output format of ``sparse=True`` Jacobians
(api/jax_style.py; an output format only: no derivative, never unrolled); and
``csr_matmul(data, indices, indptr, x, shape=)``, a constant sparse matrix times x.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import const
from ..ir.indexsets import DENSE
from .registry import NOT_SCALAR, Primitive, apply, register


def _csr_impl(vals, indices, indptr, shape):
    import scipy.sparse  # optional dependency, needed only when a sparse Jacobian is built
    return scipy.sparse.csr_array((vals, indices, indptr), shape=shape)


def _no_derivative_of_csr(*args, **kwargs):
    raise UnsupportedOperationError("a sparse (CSR) Jacobian cannot be differentiated again; "
                                    "use sparse=False inside nested operators")


register(Primitive("to_csr", lambda vals, indices, indptr, shape: (tuple(shape), vals.dtype), _csr_impl,
                   lambda names, node: (f"scipy.sparse.csr_array(({names[0]}, {names[1]}, {names[2]}), "
                                        f"shape={node.p['shape']})"),
                   jvp=_no_derivative_of_csr, fold=False, owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- csr_matmul(data, indices, indptr, x, shape=): a constant SciPy CSR matrix times x ------------------
# ``S @ p`` with S a scipy.sparse matrix and p traced (lower/sparse.py). The matrix enters as its three
# constant CSR arrays, so the generated code keeps it sparse; linear in x, its transpose is the same
# primitive on the CSR arrays of S.T (computed once, when the reverse pass is built).

def _csr_matmul_rule(data, indices, indptr, x, shape):
    if x.ndim not in (1, 2) or x.shape[0] != shape[1]:
        raise ValueError(f"dimension mismatch: a sparse {shape} matrix times an array of shape {x.shape}")
    return (shape[0],) + tuple(x.shape[1:]), np.result_type(data.dtype, x.dtype)


def _csr_matmul_impl(data, indices, indptr, x, shape):
    return np.asarray(_csr_impl(data, indices, indptr, shape) @ x)


def _emit_csr_matmul(names, node):
    return f"scipy.sparse.csr_array(({names[0]}, {names[1]}, {names[2]}), shape={node.p['shape']}) @ {names[3]}"


def csr_apply(t, data, indices, indptr, nb: int, shape):
    """Return S @ t along axis nb of t (nb leading batch axes before the matrix's column axis)."""
    if nb == 0 and t.ndim <= 2:
        return apply("csr_matmul", data, indices, indptr, t, shape=tuple(shape))
    n, rest = t.shape[nb], t.shape[:nb] + t.shape[nb + 1:]
    front = apply("transpose", t, perm=(nb,) + tuple(range(nb)) + tuple(range(nb + 1, t.ndim)))
    flat = apply("reshape", front, shape=(n, int(np.prod(rest, dtype=np.int64))))
    y = apply("csr_matmul", data, indices, indptr, flat, shape=tuple(shape))
    y = apply("reshape", y, shape=(shape[0],) + rest)
    return apply("transpose", y, perm=tuple(range(1, nb + 1)) + (0,) + tuple(range(nb + 1, t.ndim)))


def _jvp_csr_matmul(ts, data, indices, indptr, x, out, nb, shape):
    if ts[0] is not None:
        raise UnsupportedOperationError("npdiff has no derivative with respect to the values of a scipy.sparse "
                                        "matrix; build the matrix from constants")
    return None if ts[3] is None else csr_apply(ts[3], data, indices, indptr, nb, shape)


def _t_csr_matmul(ct, data, indices, indptr, x, lin, nb, shape):
    st = _csr_impl(data.value, indices.value, indptr.value, shape).T.tocsr()
    st.sort_indices()
    return [None, None, None, csr_apply(ct, const(st.data), const(st.indices), const(st.indptr), nb,
                                        (shape[1], shape[0]))]


register(Primitive("csr_matmul", _csr_matmul_rule, _csr_matmul_impl, _emit_csr_matmul, jvp=_jvp_csr_matmul,
                   transpose=_t_csr_matmul, linear=True, diff_args=lambda node: (3,), short="spmm", owns=True,
                   elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
