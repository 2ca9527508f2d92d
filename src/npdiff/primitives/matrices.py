"""Helpers on stacks of matrices for the linear-algebra rules: dtypes, (conjugate) transposes,
a broadcasting matmul, diagonals, triangles and Hermitian completions, row blocks.

Each builds graph nodes from primitives, so rules written with them can be
differentiated again. Leading axes are batch axes (as in ``np.linalg``).
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import const
from . import ops
from .contract import LETTERS
from .helpers import expand_to
from .registry import apply


def float_dtype(*xs, complex_ok: bool = False, what: str = "") -> np.dtype:
    """Return the floating (or, where complex_ok, complex) result dtype of a linalg routine on these nodes."""
    dt = np.result_type(*[x.dtype for x in xs])
    if dt.kind == "c":
        if complex_ok:
            return dt
        raise UnsupportedOperationError(
            f"npdiff's linear algebra supports real matrices only{' in ' + what if what else ''}; complex "
            f"matrices are supported by solve, inv, det, slogdet, cholesky, solve_triangular, qr, pinv, "
            f"svd, eigh/eigvalsh, eig/eigvals, expm, lu_factor/lu_solve and norm")
    return dt if dt.kind == "f" else np.dtype(np.float64)


def real_dtype(dt) -> np.dtype:
    """Return the real dtype of the same precision (float64 for complex128)."""
    return np.finfo(dt).dtype if np.dtype(dt).kind in "fc" else np.dtype(np.float64)


def is_complex(x) -> bool:
    return x.dtype.kind == "c"


def re(x):
    """Return the real part of a node (x itself when real)."""
    return ops.real(x) if is_complex(x) else x


def as_dtype(x, dt):
    """Return x converted to dtype dt (x itself when it already has it)."""
    return x if x.dtype == dt else ops.convert(x, dtype=np.dtype(dt))


def check_square(a, what):
    """Raise LinAlgError unless a is a stack of square matrices (NumPy's message)."""
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise np.linalg.LinAlgError(f"{what}: last two dimensions of the array must be square, got {a.shape}")


def mT(x):
    """Return x with its last two axes swapped."""
    return apply("transpose", x, perm=tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))


def mH(x):
    """Return the conjugate transpose of the matrices in x (the transpose when x is real)."""
    t = mT(x)
    return ops.conj(t) if is_complex(x) else t


def mm(a, b):
    """Return a @ b for stacks of matrices (leading axes broadcast as in NumPy)."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    nbt = len(batch)
    lead = LETTERS[:nbt]
    i, k, j = LETTERS[nbt: nbt + 3]
    args, subs = [], []
    for x, rows, cols in ((a, i, k), (b, k, j)):
        r = x.ndim - 2
        want = batch[nbt - r:]
        if x.shape[:-2] != want:
            x = apply("broadcast_to", x, shape=want + x.shape[-2:])
        args.append(x)
        subs.append(lead[nbt - r:] + rows + cols)
    return apply("einsum", *args, spec=f"{subs[0]},{subs[1]}->{lead}{i}{j}")


def diag_part(x):
    """Return the diagonals of a stack of square matrices, shape (..., n)."""
    lead = LETTERS[: x.ndim - 2]
    c = LETTERS[x.ndim - 2]
    return apply("einsum", x, spec=f"{lead}{c}{c}->{lead}{c}")


def diag_embed(v):
    """Return the stack of diagonal matrices with diagonals v (..., n)."""
    n = v.shape[-1]
    return ops.mul(apply("reshape", v, shape=v.shape + (1,)), const(np.eye(n, dtype=v.dtype)))


def eye(n, dtype):
    return const(np.eye(n, dtype=dtype))


def tri(x, k=0, lower=True):
    """Return the lower (upper) triangle of the matrices in x, from diagonal k (np.tril / np.triu)."""
    ones = np.ones(x.shape[-2:], dtype=bool)
    mask = np.tril(ones, k) if lower else np.triu(ones, k)
    return apply("where", const(mask), x, 0.0)


def sym_from(t, lower=True):
    """Return the symmetric matrices whose lower (upper) triangle is that of t."""
    return ops.add(tri(t, 0, lower), mT(tri(t, -1 if lower else 1, lower)))


def herm_from(t, lower=True):
    """Return the Hermitian matrices whose strict lower (upper) triangle is that of t, diagonal Re(diag t).

    LAPACK's Hermitian routines read one triangle and ignore the imaginary part of the diagonal;
    for real t this is ``sym_from``.
    """
    if not is_complex(t):
        return sym_from(t, lower)
    strict = tri(t, -1 if lower else 1, lower)
    d = diag_embed(as_dtype(ops.real(diag_part(t)), t.dtype))
    return ops.add(ops.add(strict, ops.conj(mT(strict))), d)


def trace_mm(x, t, nb):
    """Return trace(x @ t) per matrix, where t has nb leading batch axes and x none."""
    lead = LETTERS[: x.ndim - 2]
    bl = LETTERS[x.ndim: x.ndim + nb]
    i, j = LETTERS[x.ndim - 2], LETTERS[x.ndim - 1]
    return apply("einsum", x, t, spec=f"{lead}{i}{j},{bl}{lead}{j}{i}->{bl}{lead}")


def rows(x, start, stop):
    """Return x[..., start:stop, :]."""
    lead = tuple(("s", 0, d, 1) for d in x.shape[:-2])
    return apply("gather", x, index=lead + (("s", start, stop, 1),))


def row(x, r):
    """Return x[..., r, :]."""
    lead = tuple(("s", 0, d, 1) for d in x.shape[:-2])
    return apply("gather", x, index=lead + (("i", r),))


def row_vec(v):
    """Return v (..., n) as (..., 1, n)."""
    return apply("reshape", v, shape=v.shape[:-1] + (1, v.shape[-1]))


def col_vec(v):
    """Return v (..., n) as (..., n, 1)."""
    return apply("reshape", v, shape=v.shape + (1,))


def cat_rows(*parts):
    """Concatenate stacks of matrices (same leading axes) along their row axis."""
    return apply("concatenate", *parts, axis=parts[0].ndim - 2)


def fit_batch(t, out, nb):
    """Return tangent t broadcast to batch + out.shape (a no-op when it already is)."""
    if t is None or t.shape[nb:] == out.shape:
        return t
    return expand_to(t, out.shape, nb)


def inv_gaps(d):
    """Return 1 / d off the diagonal and 0 on it (d has zeros on its diagonal)."""
    i = eye(d.shape[-1], d.dtype)
    return ops.sub(apply("reciprocal", ops.add(d, i)), i)


def batch_of(*xs):
    """Return the broadcast batch shape (leading axes) of stacks of matrices."""
    return np.broadcast_shapes(*[x.shape[:-2] for x in xs])


def flag_source(v):
    """Return the Python source of a boolean flag."""
    return "True" if v else "False"
