"""scipy.sparse matrices times traced arrays: ``S @ p``, ``S.dot(p)``, ``S.T @ r``, ``r @ S``.

SciPy's sparse classes do not dispatch (``S @ p`` converts ``p`` with
``np.asarray`` and calls compiled code), so while tracing their product
methods ``_matmul_dispatch`` / ``_rmatmul_dispatch`` are patched
(``EXTRA_PATCHES``, only once the user imported scipy.sparse): with a traced
operand the product becomes a ``csr_matmul`` node, a constant linear map that
stays a sparse matrix in the generated code; otherwise SciPy's own method runs.
"""
from __future__ import annotations

from ..errors import UnsupportedOperationError, user_frame_description
from ..ir.graph import const
from ..primitives.sparse import csr_apply
from ..tracing.tracer import EXTRA_PATCHES, Tracer, is_traced, node_of, tracing_here
from .stats import LazyTarget

_BASE = LazyTarget("scipy.sparse", lambda sp: sp._base._spbase, "scipy.sparse")


def _csr_nodes(S):
    csr = S.tocsr(copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    return const(csr.data), const(csr.indices), const(csr.indptr), tuple(int(n) for n in csr.shape)


def _product(S, x):
    """Return S @ x for a traced x (1-d or 2-d) as a Tracer."""
    node = node_of(x)
    if node.ndim not in (1, 2):
        raise UnsupportedOperationError(
            f"npdiff multiplies a scipy.sparse matrix by a traced vector or matrix only, not by an array of "
            f"shape {node.shape} (at {user_frame_description()})")
    if S.dtype.kind not in "biufc":
        raise UnsupportedOperationError(f"a scipy.sparse matrix of dtype {S.dtype} (at {user_frame_description()})")
    data, indices, indptr, shape = _csr_nodes(S)
    if node.shape[0] != shape[1]:
        raise ValueError(f"dimension mismatch: sparse matrix of shape {shape} times array of shape {node.shape}")
    return Tracer(csr_apply(node, data, indices, indptr, 0, shape))


def _matmul_dispatch(self, other):
    if tracing_here() and is_traced(other):
        return _product(self, other)
    return _BASE.original("_matmul_dispatch")(self, other)


def _rmatmul_dispatch(self, other):
    if tracing_here() and is_traced(other):  # r @ S = (S.T @ r.T).T
        node = node_of(other)
        if node.ndim == 1:
            return _product(self.T, other)
        return _product(self.T, Tracer(node).T).T
    return _BASE.original("_rmatmul_dispatch")(self, other)


_matmul_dispatch.npdiff_names = tuple(f"scipy.sparse.{c}.{m}" for c in ("sparray", "spmatrix")
                                      for m in ("__matmul__", "dot")) + ("scipy.sparse.spmatrix.__mul__",)
_rmatmul_dispatch.npdiff_names = ("scipy.sparse.sparray.__rmatmul__", "scipy.sparse.spmatrix.__rmatmul__")
for _fn in (_matmul_dispatch, _rmatmul_dispatch):
    _fn._npdiff_patch = True  # LazyTarget keeps SciPy's method aside while the patch is installed
    EXTRA_PATCHES.append((_BASE, _fn.__name__, _fn))
