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


def _square_sym_const(x) -> bool:
    v = np.asarray(x.value)
    return v.ndim >= 2 and v.shape[-1] == v.shape[-2] and np.array_equal(v, np.swapaxes(v, -1, -2))


def _gram(x) -> bool:
    """Return True for the einsum X X^T or X^T X of one matrix X (either factor may be a transpose node)."""
    if len(x.args) != 2 or x.ndim != 2:
        return False
    ins, out = x.p["spec"].replace(" ", "").split("->")
    subs, args = ins.split(","), list(x.args)
    if any(len(sb) != 2 for sb in subs) or len(set(out)) != 2:
        return False
    for i, a in enumerate(args):
        if a.op == "transpose" and a.ndim == 2:
            args[i], subs[i] = a.args[0], subs[i][::-1]
    a, b = subs
    if args[0] is not args[1] or a[0] == a[1] or b[0] == b[1]:
        return False
    return (a[1] == b[1] and out == a[0] + b[0]) or (a[0] == b[0] and out == a[1] + b[1])


def _sym_args(x):
    """Return the nodes x is symmetric if all are (None: not known to be), by x's primitive."""
    from .registry import PRIMS  # the table is filled by then
    if x.op == "broadcast_to":
        a = x.args[0]
        return () if a.size == 1 else [a] if a.ndim >= 2 and a.shape[-2:] == x.shape[-2:] else None
    if x.op == "transpose":
        p = x.p["perm"]
        return [x.args[0]] if p[-2:] in ((x.ndim - 2, x.ndim - 1), (x.ndim - 1, x.ndim - 2)) and \
            tuple(p[:-2]) == tuple(range(x.ndim - 2)) else None
    if x.op == "einsum":
        return () if _gram(x) else None
    prim = PRIMS.get(x.op)
    if prim is None or not prim.elementwise:
        return None
    out = []
    for a in x.args:
        if a.size == 1:
            continue
        if a.ndim < 2 or a.shape[-2:] != x.shape[-2:]:
            return None
        out.append(a)
    return out


def is_symmetric(x, limit: int = 200) -> bool:
    """Return True if the real node x is a stack of symmetric matrices for every value of the inputs.

    Read structurally: symmetric constants, scalars broadcast, elementwise functions of symmetric
    matrices and scalars, transposes of symmetric matrices, X X^T and X^T X. Then every tangent of x
    is symmetric too, so a rule reading one triangle of dx may read all of it. At most ``limit``
    nodes are visited (False beyond).
    """
    if x.ndim < 2 or x.shape[-1] != x.shape[-2] or x.dtype.kind not in "fb":
        return False
    seen, todo = set(), [x]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if len(seen) > limit:
            return False
        if n.op == "const":
            if not _square_sym_const(n):
                return False
            continue
        more = _sym_args(n)
        if more is None:
            return False
        todo.extend(more)
    return True


def read_lower(t, of, complex_ok: bool = True):
    """Return the Hermitian matrices read from the lower triangle of tangent t of ``of`` (t itself when
    ``of`` is symmetric by construction, so t already is)."""
    if not is_complex(t) and is_symmetric(of):
        return t
    return herm_from(t, True) if complex_ok else sym_from(t, True)
