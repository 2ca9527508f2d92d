"""scipy.linalg primitives: the matrix exponential and its Frechet derivative, LU
factorisation and solves, Sylvester solves, the matrix square root and banded solves.

``expm`` and ``lu_factor`` / ``lu_solve`` follow the conventions of linalg.py
(stacks of matrices, ``lu_factor`` packed as ``[lu; piv]``, ``lu_parts``).

``sylvester(A, B, Q)`` is X with A X + X B = Q (``scipy.linalg.solve_sylvester``),
linear in Q: its transpose solves A^T Y + Y B^T = G. Its derivative in A and B
is a Sylvester solve too: A dX + dX B = dQ - dA X - X dB.

``sqrtm(A)`` is SciPy's principal square root X (X X = A); dX solves the
Sylvester equation X dX + dX X = dA. A real input gives a real result: when
SciPy's result for a real matrix is complex (an eigenvalue on the negative real
axis), the generated code raises instead of dropping the imaginary part (the
lowering picks the complex form when it knows the values).

``banded_solve(ab, b, l=, u=)`` is ``scipy.linalg.solve_banded((l, u), ab, b)``
for b of shape (n, r), linear in b. The transpose solves with A^T, banded with
(u, l), whose band storage ``band_transpose`` gathers from ab; the derivative in
ab goes through the dense dA (``band_dense``).

Stacks of matrices: SciPy before 1.15 solves one system at a time, so batched
calls are emitted as a comprehension over the broadcast stack. Complex inputs
are accepted (the transposes are plain transposes, as in JAX).
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import const
from ..ir.indexsets import DENSE
from . import ops
from .helpers import align, dtype_kw, sum_to, zeros
from .indexing import gather_b
from .linalg import same_shape_rule, solve_rule
from .matrices import batch_of, cat_rows, check_square, eye, fit_batch, float_dtype, mm, mT, re, row, rows, tri
from .registry import NOT_SCALAR, Primitive, apply, register


def _sla():
    import scipy.linalg
    return scipy.linalg


def inexact_dtype(*xs) -> np.dtype:
    """Return the floating or complex dtype SciPy's solvers give for these arrays or nodes (float64 for integers)."""
    dt = np.result_type(*[x.dtype for x in xs])
    if dt.kind in "biu":
        return np.dtype(np.float64)
    return np.result_type(dt, np.float32)


def _square(x, what):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{what}: expected square matrices (..., n, n), got shape {x.shape}")


def _over_stack(fn, arrays, cores, shape, dtype):
    """Apply fn to each matrix of the broadcast stacks (SciPy before 1.15 takes single matrices)."""
    arrays = [np.asarray(a) for a in arrays]
    if all(a.ndim == c for a, c in zip(arrays, cores)):
        return np.asarray(fn(*arrays), dtype=dtype)
    batch = shape[:len(shape) - 2]
    out = np.empty(shape, dtype)
    for k in np.ndindex(*batch):
        out[k] = fn(*[np.broadcast_to(a, batch + a.shape[a.ndim - c:])[k] for a, c in zip(arrays, cores)])
    return out


def _emit_over_stack(call, names, node, cores):
    """Return the source of call(...) applied over the broadcast stacks of the node's arguments."""
    args = node.args
    if all(a.ndim == c for a, c in zip(args, cores)):
        return f"{call}({', '.join(names)})"
    batch = node.shape[:-2]
    if int(np.prod(batch)) == 0:
        return f"np.zeros({node.shape}, dtype=np.{node.dtype.name})"
    flat = [f"np.broadcast_to({nm}, {batch + a.shape[a.ndim - c:]}).reshape({(-1,) + a.shape[a.ndim - c:]})"
            for nm, a, c in zip(names, args, cores)]
    return (f"np.stack([{call}(*_m) for _m in zip({', '.join(flat)})]).reshape({node.shape})"
            f".astype(np.{node.dtype.name}, copy=False)")



# -- expm and its Frechet derivative (linear in E) --------------------------------------------

def _expm_impl(a):
    return _sla().expm(a)


def _block(a, e):
    """Return the block matrices [[A, E], [0, A]] (A and E broadcast to a common stack)."""
    batch = np.broadcast_shapes(a.shape[:-2], e.shape[:-2])
    n = a.shape[-1]
    a = apply("broadcast_to", a, shape=batch + (n, n))
    e = apply("broadcast_to", e, shape=batch + (n, n))
    z = zeros(batch + (n, n), np.result_type(a.dtype, e.dtype))
    ax = a.ndim - 1
    return cat_rows(apply("concatenate", a, e, axis=ax), apply("concatenate", z, a, axis=ax))


def _frechet_impl(a, e):
    n = a.shape[-1]
    if np.ndim(a) == 2 and np.ndim(e) == 2:
        return _sla().expm_frechet(a, e, compute_expm=False)
    batch = np.broadcast_shapes(np.shape(a)[:-2], np.shape(e)[:-2])
    big = np.zeros(batch + (2 * n, 2 * n), np.result_type(a, e))
    big[..., :n, :n] = a
    big[..., n:, n:] = a
    big[..., :n, n:] = e
    return _sla().expm(big)[..., :n, n:]


def _frechet_emit(names, node):
    a, e = names
    n = node.shape[-1]
    if node.args[0].ndim == 2 and node.args[1].ndim == 2:
        return f"scipy.linalg.expm_frechet({a}, {e}, compute_expm=False)"
    dt = dtype_kw(node)
    return [f"{{out}} = np.zeros({node.shape[:-2] + (2 * n, 2 * n)}{dt})  # expm([[A, E], [0, A]])[:n, n:]",
            f"{{out}}[..., :{n}, :{n}] = {a}",
            f"{{out}}[..., {n}:, {n}:] = {a}",
            f"{{out}}[..., :{n}, {n}:] = {e}",
            f"{{out}} = scipy.linalg.expm({{out}})[..., :{n}, {n}:]"]


def _frechet_jvp(ts, a, e, out, nb):
    ta, te = ts
    res = None if te is None else fit_batch(apply("expm_frechet", a, align(te, nb, out.ndim)), out, nb)
    if ta is not None:
        # L(A, E) is the top-right block of expm([[A, E], [0, A]]): differentiate that in A
        n = a.shape[-1]
        t = apply("broadcast_to", align(ta, nb, out.ndim), shape=ta.shape[:nb] + out.shape)
        z = zeros(t.shape, t.dtype)
        ax = t.ndim - 1
        dbig = cat_rows(apply("concatenate", t, z, axis=ax), apply("concatenate", z, t, axis=ax))
        big = apply("expm_frechet", _block(a, e), dbig)
        lead = tuple(("s", 0, d, 1) for d in big.shape[:-2])
        d = apply("gather", big, index=lead + (("s", 0, n, 1), ("s", n, 2 * n, 1)))
        res = d if res is None else ops.add(res, d)
    return res


def _frechet_transpose(ct, a, e, lin, nb):
    assert not lin[0], "expm_frechet is not linear in A"
    return [None, sum_to(apply("expm_frechet", mT(a), ct), e.shape, nb)]


def _frechet_rule(a, e):
    check_square(a, "expm_frechet")
    return batch_of(a, e) + a.shape[-2:], float_dtype(a, e, complex_ok=True, what="expm_frechet")


register(Primitive("expm", same_shape_rule("expm", complex_ok=True), _expm_impl, "scipy.linalg.expm({0})",
                   jvp=lambda ts, a, out, nb: apply("expm_frechet", a, ts[0]),
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
register(Primitive("expm_frechet", _frechet_rule, _frechet_impl, _frechet_emit, jvp=_frechet_jvp,
                   transpose=_frechet_transpose, linear=True,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- LU: packed [lu; piv] (scipy.linalg.lu_factor) and lu_solve (linear in B) --------------------

def lu_parts(p):
    """Return (lu, piv) from a packed lu_factor node (piv as int32, like SciPy's)."""
    n = p.shape[-1]
    return rows(p, 0, n), apply("convert", re(row(p, n)), dtype=np.dtype(np.int32))


def _lu_rule(a):
    check_square(a, "lu_factor")
    return a.shape[:-2] + (a.shape[-1] + 1, a.shape[-1]), float_dtype(a, complex_ok=True, what="lu_factor")


def _lu_impl(a):
    lu, piv = _sla().lu_factor(a)
    return np.concatenate((lu, piv[..., None, :].astype(lu.dtype)), axis=-2)


def _lu_emit(names, node):
    return [f"{{out}}_lu, {{out}}_piv = scipy.linalg.lu_factor({names[0]})",
            "{out} = np.concatenate(({out}_lu, {out}_piv[..., None, :].astype({out}_lu.dtype)), "
            "axis=-2)  # [lu; piv]"]


def _lu_jvp(ts, a, out, nb):
    # P A = L U; with F = L^-1 P dA U^-1 = U (A^-1 dA) U^-1: dL = L tril(F, -1), dU = triu(F) U
    lu, piv = lu_parts(out)
    n = a.shape[-1]
    u = tri(lu, 0, False)
    l = ops.add(tri(lu, -1, True), eye(n, lu.dtype))
    ug = mm(u, apply("lu_solve", lu, piv, ts[0], trans=0))
    f = mT(apply("triangular_solve", lu, mT(ug), lower=False, trans=True, unit=False))
    dlu = ops.add(mm(l, tri(f, -1, True)), mm(tri(f, 0, False), u))
    return cat_rows(dlu, zeros(dlu.shape[:-2] + (1, n), dlu.dtype))


register(Primitive("lu_factor", _lu_rule, _lu_impl, _lu_emit, jvp=_lu_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


def _lu_solve_rule(lu, piv, b, trans):
    return solve_rule(lu, b, True, "lu_solve")  # trans=1: the plain transpose


def _lu_solve_impl(lu, piv, b, trans):
    return _sla().lu_solve((lu, piv), b, trans=trans)


def _lu_solve_jvp(ts, lu, piv, b, out, nb, trans):
    tlu, _, tb = ts
    res = None if tb is None else fit_batch(apply("lu_solve", lu, piv, align(tb, nb, out.ndim), trans=trans), out, nb)
    if tlu is not None:
        t = align(tlu, nb, out.ndim)
        dl, du = tri(t, -1, True), tri(t, 0, False)
        x = out
        if trans == 0:
            # A = P^T L U: dx = -U^-1 (L^-1 dL U x + dU x)
            inner = ops.add(apply("triangular_solve", lu, mm(dl, mm(tri(lu, 0, False), x)),
                                  lower=True, trans=False, unit=True), mm(du, x))
            d = apply("triangular_solve", lu, inner, lower=False, trans=False, unit=False)
        else:
            # A^T = U^T L^T P: with y = U^-T b = L^T P x and z = L^-T y = P x,
            # dx = -A^-T (dU^T y + U^T dL^T z)
            y = apply("triangular_solve", lu, b, lower=False, trans=True, unit=False)
            z = apply("triangular_solve", lu, y, lower=True, trans=True, unit=True)
            inner = ops.add(mm(mT(du), y), mm(mT(tri(lu, 0, False)), mm(mT(dl), z)))
            d = apply("lu_solve", lu, piv, inner, trans=1)
        d = fit_batch(ops.neg(d), out, nb)
        res = d if res is None else ops.add(res, d)
    return res


def _lu_solve_transpose(ct, lu, piv, b, lin, nb, trans):
    assert not lin[0], "lu_solve is not linear in the factorisation"
    return [None, None, sum_to(apply("lu_solve", lu, piv, ct, trans=1 - trans), b.shape, nb)]


register(Primitive("lu_solve", _lu_solve_rule, _lu_solve_impl,
                   lambda names, node: f"scipy.linalg.lu_solve(({names[0]}, {names[1]}), {names[2]}"
                                       + (", trans=1)" if node.p["trans"] else ")"),
                   jvp=_lu_solve_jvp, transpose=_lu_solve_transpose, linear=True,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))

# -- Sylvester equations ---------------------------------------------------------------------------

def _sylvester_rule(a, b, q):
    _square(a, "solve_sylvester")
    _square(b, "solve_sylvester")
    if q.ndim < 2 or q.shape[-2:] != (a.shape[-1], b.shape[-1]):
        raise ValueError(f"solve_sylvester: Q of shape {q.shape} does not match A {a.shape} and B {b.shape}")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2], q.shape[:-2])
    return batch + q.shape[-2:], inexact_dtype(a, b, q)


def _sylvester_impl(a, b, q):
    a, b, q = np.asarray(a), np.asarray(b), np.asarray(q)
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2], q.shape[:-2]) + q.shape[-2:]
    return _over_stack(_sla().solve_sylvester, (a, b, q), (2, 2, 2), shape, inexact_dtype(a, b, q))


def _sylvester_jvp(ts, a, b, q, out, nb):
    ta, tb, tq = ts
    rhs = None if tq is None else align(tq, nb, out.ndim)
    if ta is not None:
        d = mm(align(ta, nb, out.ndim), out)
        rhs = ops.neg(d) if rhs is None else ops.sub(rhs, d)
    if tb is not None:
        d = mm(out, align(tb, nb, out.ndim))
        rhs = ops.neg(d) if rhs is None else ops.sub(rhs, d)
    return fit(apply("sylvester", a, b, rhs), out, nb)


def _sylvester_transpose(ct, a, b, q, lin, nb):
    assert not (lin[0] or lin[1]), "sylvester is linear in Q only"
    return [None, None, sum_to(apply("sylvester", mT(a), mT(b), ct), q.shape, nb)]


def fit(t, out, nb):
    """Return tangent t broadcast to batch + out.shape."""
    if t.shape[nb:] == out.shape:
        return t
    t = align(t, nb, out.ndim)
    return apply("broadcast_to", t, shape=t.shape[:nb] + out.shape)


register(Primitive("sylvester", _sylvester_rule, _sylvester_impl,
                   lambda names, node: _emit_over_stack("scipy.linalg.solve_sylvester", names, node, (2, 2, 2)),
                   jvp=_sylvester_jvp, transpose=_sylvester_transpose, linear=True,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- matrix square root ----------------------------------------------------------------------------

SQRTM_COMPLEX = ("scipy.linalg.sqrtm: the square root of this real matrix is complex (an eigenvalue on "
                 "the negative real axis); pass a complex matrix (A + 0j) to get the complex root")


def _sqrtm_rule(a, where):
    _square(a, "sqrtm")
    return a.shape, inexact_dtype(a)


def _sqrtm_one(a):
    x = _sla().sqrtm(a)
    if np.iscomplexobj(x) and not np.iscomplexobj(a):
        raise ValueError(SQRTM_COMPLEX)
    return x


def sqrtm_is_real(a) -> bool:
    """Return True if SciPy's square root of the real matrices a is real."""
    return all(not np.iscomplexobj(_sla().sqrtm(m)) for m in np.reshape(a, (-1,) + np.shape(a)[-2:]))


def _sqrtm_impl(a, where):
    a = np.asarray(a)
    return _over_stack(_sqrtm_one, (a,), (2,), a.shape, inexact_dtype(a))


def _sqrtm_emit(names, node):
    call = _emit_over_stack("scipy.linalg.sqrtm", names, node, (2,))
    if node.dtype.kind == "c":
        return call
    where = node.p["where"]
    if where is None:  # traced from shapes: refuse a complex root
        fail = f"raise ValueError({SQRTM_COMPLEX!r})"
    else:  # the real form was chosen on values: another input takes the complex path
        fail = f"_path_changed({where!r})".replace("{", "{{").replace("}", "}}")
    return [f"{{out}} = {call}", f"if {{out}}.dtype.kind == 'c': {fail}"]


def _sqrtm_jvp(ts, a, out, nb, where):
    return apply("sylvester", out, out, ts[0])


# where: None (a complex root raises) or the user's line (a complex root means another path)
register(Primitive("sqrtm", _sqrtm_rule, _sqrtm_impl, _sqrtm_emit, jvp=_sqrtm_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


def _sqrtm_real_emit(names, node):
    a = node.args[0]
    if a.ndim == 2:
        return f"np.bool_(not np.iscomplexobj(scipy.linalg.sqrtm({names[0]})))"
    return (f"np.bool_(not any(np.iscomplexobj(scipy.linalg.sqrtm(_m)) "
            f"for _m in {names[0]}.reshape({(-1,) + a.shape[-2:]})))")


# the decision the lowering takes on values (a guard): is SciPy's root of this real matrix real?
register(Primitive("sqrtm_real", lambda a: ((), np.dtype(bool)), lambda a: np.bool_(sqrtm_is_real(a)),
                   _sqrtm_real_emit, nondiff=True,
                   owns=False, elementwise=False, scalar=NOT_SCALAR))


# -- banded solves ---------------------------------------------------------------------------------

def _band_index(idx_rows, idx_cols, valid, n, w):
    """Return flat indices into [ab.ravel(), 0]: row * n + col where valid, else the trailing zero."""
    return np.where(valid, idx_rows * n + idx_cols, w * n).astype(np.intp)


def _band_take(x, index, nb):
    """Return x (nb batch axes + (w, n)) gathered at flat band indices (the padding reads zero)."""
    batch = x.shape[:nb]
    w, n = x.shape[nb:]
    flat = apply("reshape", x, shape=batch + (w * n,))
    padded = apply("concatenate", flat, zeros(batch + (1,), x.dtype), axis=nb)
    return gather_b(padded, (const(index),), (("a", 0),), nb)


def band_dense(x, l, u, nb=0):
    """Return the dense matrices A (nb batch axes + (n, n)) whose band storage is x (A[i, j] = x[u + i - j, j])."""
    w, n = x.shape[nb:]
    i, j = np.indices((n, n))
    k = u + i - j
    return _band_take(x, _band_index(k, j, (k >= 0) & (k < w), n, w), nb)


def band_transpose(x, l, u):
    """Return the band storage (with (u, l) diagonals) of A^T, A having band storage x with (l, u)."""
    w, n = x.shape
    kt, j = np.indices((w, n))
    col = j + kt - l
    return _band_take(x, _band_index(u + l - kt, col, (col >= 0) & (col < n), n, w), 0)


def _banded_rule(ab, b, l, u):
    if ab.ndim != 2 or ab.shape[0] != l + u + 1:
        raise ValueError(f"solve_banded: invalid values for the number of lower and upper diagonals: "
                         f"l+u+1 ({l + u + 1}) does not equal ab.shape[0] ({ab.shape[0] if ab.ndim else 0})")
    if b.ndim != 2 or b.shape[0] != ab.shape[1]:
        raise ValueError(f"solve_banded: shapes of ab {ab.shape} and b {b.shape} are not compatible")
    return b.shape, inexact_dtype(ab, b)


def _banded_impl(ab, b, l, u):
    return np.asarray(_sla().solve_banded((l, u), ab, b), dtype=inexact_dtype(np.asarray(ab), np.asarray(b)))


def banded_solve(ab, rhs, l, u, nb=0):
    """Return A^-1 rhs for rhs with nb batch axes + (n,) or (n, r) (A in band storage ab)."""
    batch, core = rhs.shape[:nb], rhs.shape[nb:]
    n = ab.shape[1]
    perm = tuple(range(nb, rhs.ndim)) + tuple(range(nb))
    m = apply("reshape", apply("transpose", rhs, perm=perm), shape=(n, rhs.size // n))
    x = apply("banded_solve", ab, m, l=l, u=u)
    x = apply("reshape", x, shape=core + batch)
    inv = tuple(int(p) for p in np.argsort(perm))
    return apply("transpose", x, perm=inv)


def _banded_jvp(ts, ab, b, out, nb, l, u):
    tab, tb = ts
    rhs = tb
    if tab is not None:
        d = mm(band_dense(tab, l, u, nb), out)
        rhs = ops.neg(d) if rhs is None else ops.sub(rhs, d)
    rhs = fit(rhs, out, nb)
    return banded_solve(ab, rhs, l, u, nb)


def _banded_transpose(ct, ab, b, lin, nb, l, u):
    assert not lin[0], "banded_solve is linear in b only"
    return [None, banded_solve(band_transpose(ab, l, u), ct, u, l, nb)]


register(Primitive("banded_solve", _banded_rule, _banded_impl,
                   lambda names, node: f"scipy.linalg.solve_banded(({node.p['l']}, {node.p['u']}), "
                                       f"{names[0]}, {names[1]})",
                   jvp=_banded_jvp, transpose=_banded_transpose, linear=True,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
