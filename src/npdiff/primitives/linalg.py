"""Linear-algebra primitives: solve, inv, det, log|det|, Cholesky, triangular
solves, symmetric eigendecomposition, SVD, QR and pseudo-inverse (the matrix
exponential and LU factorisation, scipy.linalg functions, are in scipy_linalg.py).

Every primitive works on stacks of matrices (leading axes broadcast as in
``np.linalg``); (co)tangents carry ``nb`` batch axes in front of those. Rules
are written with primitives (``mm`` is a broadcasting matmul on ``einsum``),
so derivatives can be taken again; the nonlinear primitives' rules use only
linear operations of the tangent (products with primal values, ``solve`` /
``triangular_solve`` / ``lu_solve`` with a fixed matrix, ``expm_frechet``),
and those have transposes, which gives reverse mode.

Factorisations with several results are packed in one array and unpacked by
slicing (``eigh_parts`` & co.), so every node stays a plain array:
``eigh`` and ``eig`` are ``[w; V]`` (shape (..., n+1, n)), ``svd`` is ``[U; s; V]``
((..., m+1+n, k)), ``qr`` is ``[Q; R]`` ((..., m+n, n), m >= n) and
``lu_factor`` is ``[lu; piv]`` ((..., n+1, n)). Value-only variants
(``eigvalsh``, ``svdvals``) keep forward code cheap.

Derivatives follow the usual conventions: distinct eigenvalues / singular
values, constant rank for ``pinv``; ``cholesky`` and ``eigh`` read one
triangle of their input (as LAPACK does), so only that triangle gets a
derivative. Complex matrices are accepted where the rules are written for
them (``float_dtype(..., complex_ok=True)``: solve, inv, det, slogdet, cholesky,
triangular_solve, eigh, eigvalsh, svd, svdvals, eig, qr, pinv, expm, LU; rules
that are holomorphic in A need no change, the others use conjugate transposes).
"""
from __future__ import annotations

import importlib.util
from functools import cache

import numpy as np

from ..errors import UnsupportedOperationError
from ..ir.graph import const
from ..ir.indexsets import DENSE
from . import ops
from .helpers import align, dtype_name, sum_to
from .matrices import (
    as_dtype,
    batch_of,
    cat_rows,
    check_square,
    col_vec,
    diag_embed,
    diag_part,
    eye,
    fit_batch,
    flag_source,
    float_dtype,
    herm_from,
    inv_gaps,
    is_complex,
    is_symmetric,
    mH,
    mm,
    mT,
    re,
    read_lower,
    real_dtype,
    row,
    row_vec,
    rows,
    trace_mm,
    tri,
)
from .registry import NOT_SCALAR, Primitive, apply, register


@cache
def have_scipy() -> bool:
    """Return True if SciPy can be imported (generated code may then call scipy.linalg)."""
    return importlib.util.find_spec("scipy") is not None


def _sla():
    import scipy.linalg
    return scipy.linalg


# -- solve(A, B): A^-1 B, linear in B -------------------------------------------------

def solve_rule(a, b, complex_ok=True, what="solve"):
    """Return the shape rule of a solve with matrix a and right-hand side b."""
    check_square(a, what)
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise ValueError(f"{what}: right-hand side of shape {b.shape} does not match {a.shape}")
    return batch_of(a, b) + b.shape[-2:], float_dtype(a, b, complex_ok=complex_ok, what=what)


def _solve_jvp(ts, a, b, out, nb):
    ta, tb = ts
    rhs = None if tb is None else align(tb, nb, out.ndim)
    if ta is not None:
        d = mm(align(ta, nb, out.ndim), out)
        rhs = ops.neg(d) if rhs is None else ops.sub(rhs, d)
    return fit_batch(apply("solve", a, rhs), out, nb)


def _solve_transpose(ct, a, b, lin, nb):
    assert not lin[0], "solve is not linear in its matrix"
    return [None, sum_to(apply("solve", mT(a), ct), b.shape, nb)]


register(Primitive("solve", solve_rule, lambda a, b: np.linalg.solve(a, b), "np.linalg.solve({0}, {1})",
                   jvp=_solve_jvp, transpose=_solve_transpose, linear=True,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- inv, det, log|det| and sign(det) ----------------------------------------------------

def same_shape_rule(what, complex_ok=False):
    """Return the shape rule of a square-matrix function whose result has its argument's shape."""
    def rule(a, **params):
        check_square(a, what)
        return a.shape, float_dtype(a, complex_ok=complex_ok, what=what)
    return rule


def _det_rule(what, real=False):
    """Shape rule of det-like results (complex for complex input unless real)."""
    def rule(a):
        check_square(a, what)
        dt = float_dtype(a, complex_ok=True, what=what)
        return a.shape[:-2], real_dtype(dt) if real else dt
    return rule


def _sign_jvp(ts, a, out, nb):
    # sign = det / |det| is constant for real matrices; for complex ones d sign = sign i Im tr(A^-1 dA)
    if not is_complex(out):
        return None
    d = trace_mm(apply("inv", a), ts[0], nb)
    return ops.mul(ops.mul(as_dtype(ops.imag(d), out.dtype), 1j), out)


register(Primitive("inv", same_shape_rule("inv", complex_ok=True), np.linalg.inv, "np.linalg.inv({0})",
                   jvp=lambda ts, a, out, nb: ops.neg(mm(mm(out, ts[0]), out)),
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))

# d det = det * trace(A^-1 dA); d log|det| = trace(A^-1 dA)
register(Primitive("det", _det_rule("det"), np.linalg.det, "np.linalg.det({0})",
                   jvp=lambda ts, a, out, nb: ops.mul(trace_mm(apply("inv", a), ts[0], nb), out),
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
register(Primitive("logabsdet", _det_rule("slogdet", real=True), lambda a: np.linalg.slogdet(a)[1],
                   "np.linalg.slogdet({0})[1]",
                   jvp=lambda ts, a, out, nb: re(trace_mm(apply("inv", a), ts[0], nb)),
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
register(Primitive("slogdet_sign", _det_rule("slogdet"), lambda a: np.linalg.slogdet(a)[0],
                   "np.linalg.slogdet({0})[0]", jvp=_sign_jvp, sparsity=DENSE,
                   owns=False, elementwise=False, scalar=NOT_SCALAR))


# -- triangular_solve(A, B): op(A)^-1 B with A triangular, linear in B ----------------------

def _trsolve_mask(t, lower, unit):
    """Return the part of t a triangular solve reads (strict triangle with a unit diagonal)."""
    return tri(t, (-1 if lower else 1) if unit else 0, lower)


def _trsolve_impl(a, b, lower, trans, unit):
    if have_scipy():
        return _sla().solve_triangular(a, b, lower=lower, trans=1 if trans else 0, unit_diagonal=unit,
                                       check_finite=False)
    a = np.tril(a, -1 if unit else 0) if lower else np.triu(a, 1 if unit else 0)
    if unit:
        a = a + np.eye(a.shape[-1], dtype=a.dtype)
    return np.linalg.solve(np.swapaxes(a, -1, -2) if trans else a, b)


_TRTRS = {np.dtype(np.float32): "s", np.dtype(np.float64): "d", np.dtype(np.complex64): "c",
          np.dtype(np.complex128): "z"}


def _lapack_trsolve(node) -> bool:
    """Return True if node is printed as LAPACK's trtrs (one real or complex matrix, one or more vectors)."""
    ma, mb = node.args
    return (have_scipy() and node.dtype in _TRTRS and ma.dtype == mb.dtype == node.dtype and ma.ndim == 2
            and mb.ndim in (1, 2) and ma.shape[0] > 0)


def _trsolve_emit(names, node):
    p = node.p
    a, b = names
    if _lapack_trsolve(node):
        # LAPACK's trtrs without solve_triangular's Python layer (about 1 us against 7 at n = 10); A.T is
        # the Fortran-ordered matrix of a C-ordered A: the other triangle, the other transposition
        call = (f"scipy.linalg.lapack.{_TRTRS[node.dtype]}trtrs({a}.T, {b}, lower={int(not p['lower'])}, "
                f"trans={int(not p['trans'])}" + (", unitdiag=1" if p["unit"] else "") + ")")
        return [f"{{out}}, {{out}}_info = {call}",
                "if {out}_info: raise np.linalg.LinAlgError('singular matrix: resolution failed at diagonal '"
                " + str({out}_info - 1))"]
    if have_scipy():
        extra = (", trans='T'" if p["trans"] else "") + (", unit_diagonal=True" if p["unit"] else "")
        # check_finite=False: NaN and inf propagate as in NumPy (and the no-SciPy path), and the
        # per-call scan SciPy would add (5 us of 12 for a 60-vector) is gone
        return (f"scipy.linalg.solve_triangular({a}, {b}, lower={flag_source(p['lower'])}{extra}, "
                f"check_finite=False)")
    k = (-1 if p["lower"] else 1) if p["unit"] else 0
    m = f"np.{'tril' if p['lower'] else 'triu'}({a}, {k})"
    if p["unit"]:
        m += f" + np.eye({node.args[0].shape[-1]})"
    if p["trans"]:
        m = f"np.swapaxes({m}, -1, -2)"
    return f"np.linalg.solve({m}, {b})"


def _trsolve_jvp(ts, a, b, out, nb, lower, trans, unit):
    ta, tb = ts
    rhs = None if tb is None else align(tb, nb, out.ndim)
    if ta is not None:
        t = _trsolve_mask(ta, lower, unit)
        d = mm(align(mT(t) if trans else t, nb, out.ndim), out)
        rhs = ops.neg(d) if rhs is None else ops.sub(rhs, d)
    return fit_batch(apply("triangular_solve", a, rhs, lower=lower, trans=trans, unit=unit), out, nb)


def _trsolve_transpose(ct, a, b, lin, nb, lower, trans, unit):
    assert not lin[0], "triangular_solve is not linear in its matrix"
    x = apply("triangular_solve", a, ct, lower=lower, trans=not trans, unit=unit)
    return [None, sum_to(x, b.shape, nb)]


def _trsolve_simplify(a, b, shape, dtype, lower, trans, unit):
    """L^-T (s L^-1 B) with L = cholesky(K) is s K^-1 B: one spd_solve (primitives/cholesky.py); a solve
    with a transposed matrix is one with the matrix and the other triangle (no transpose copied)."""
    if a.op == "transpose" and a.p["perm"] == tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2):
        return apply("triangular_solve", a.args[0], b, lower=not lower, trans=not trans, unit=unit)
    if not (trans and lower and not unit and a.op == "cholesky" and a.ndim == 2 and a.dtype.kind == "f"):
        return None
    s = None
    if b.op == "multiply":
        inner, s = b.args if b.args[1].size == 1 else (b.args[1], b.args[0])
        if s.size != 1 or inner.shape != b.shape:
            return None
        b = inner
    if b.op != "triangular_solve" or b.args[0] is not a or b.p["trans"] or not b.p["lower"] or b.p["unit"]:
        return None
    x = apply("spd_solve", a.args[0], a, b.args[1])
    return x if s is None else ops.mul(x, s)


def _trsolve_rule(a, b, lower, trans, unit):
    return solve_rule(a, b, True, "triangular_solve")  # trans: the plain transpose, also for complex A


register(Primitive("triangular_solve", _trsolve_rule, _trsolve_impl, _trsolve_emit, jvp=_trsolve_jvp,
                   transpose=_trsolve_transpose, linear=True, simplify=_trsolve_simplify,
                   owns=_lapack_trsolve, elementwise=False, sparsity=DENSE,  # trtrs: a new array (overwrite_b=0)
                   scalar=NOT_SCALAR))


# -- cholesky: lower factor L of A = L L^T, reading the lower triangle of A -----------------

def _chol_jvp(ts, a, out, nb):
    # L^-1 dA L^-H = X + X^H with X = L^-1 dL lower triangular (real diagonal), so
    # dL = L Phi(L^-1 dA L^-H) where Phi keeps the lower triangle and halves the diagonal. dA is
    # Hermitian (read from the lower triangle), so the second solve may take (L^-1 dA)^H directly.
    L = out
    y = apply("triangular_solve", L, read_lower(ts[0], a), lower=True, trans=False, unit=False)
    z = apply("triangular_solve", L, mH(y), lower=True, trans=False, unit=False)
    n = a.shape[-1]
    phi = const((np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)).astype(real_dtype(out.dtype)))
    return mm(L, ops.mul(z, phi))


register(Primitive("cholesky", same_shape_rule("cholesky", complex_ok=True), np.linalg.cholesky, "np.linalg.cholesky({0})",
                   jvp=_chol_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- eigh: packed [w; V] of a Hermitian matrix (one triangle read), and eigvalsh ------------
# A complex matrix packs as complex (w real-valued); eigh_parts returns w real. The eigenvector
# phases are a gauge: the rules choose V^H dV with a zero diagonal, so only gauge-invariant
# functions of V (|V|, V diag(w) V^H...) have meaningful derivatives, as with any eigensolver.

def eigh_parts(p):
    """Return (w, V) from a packed eigh node (w real)."""
    return re(row(p, 0)), rows(p, 1, p.shape[-2])


def _eigh_impl(a, lower):
    w, v = np.linalg.eigh(a, UPLO="L" if lower else "U")
    return np.concatenate((w[..., None, :], v), axis=-2)


def _eigh_emit(names, node):
    uplo = "" if node.p["lower"] else ", UPLO='U'"
    return [f"{{out}}_w, {{out}}_V = np.linalg.eigh({names[0]}{uplo})",
            "{out} = np.concatenate(({out}_w[..., None, :], {out}_V), axis=-2)  # [w; V]"]


def _eigh_rule(a, lower):
    check_square(a, "eigh")
    return a.shape[:-2] + (a.shape[-1] + 1, a.shape[-1]), float_dtype(a, complex_ok=True, what="eigh")


def _eig_proj(v, ta, nb, lower, a):
    """Return V^H dA V with dA the Hermitian tangent read from one triangle of ta (all of it when a is
    symmetric by construction)."""
    return mm(mH(v), mm(ta if not is_complex(ta) and is_symmetric(a) else herm_from(ta, lower), v))


def _eigh_jvp(ts, a, out, nb, lower):
    # dw = diag(V^H dA V), dV = V (F o V^H dA V) with F_ij = 1 / (w_j - w_i), F_ii = 0
    w, v = eigh_parts(out)
    p = _eig_proj(v, ts[0], nb, lower, a)
    f = inv_gaps(ops.sub(row_vec(w), col_vec(w)))
    dv = mm(v, ops.mul(f, p))
    return cat_rows(row_vec(as_dtype(re(diag_part(p)), out.dtype)), dv)


register(Primitive("eigh", _eigh_rule, _eigh_impl, _eigh_emit, jvp=_eigh_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


def _eigvalsh_rule(a, lower):
    check_square(a, "eigvalsh")
    return a.shape[:-1], real_dtype(float_dtype(a, complex_ok=True, what="eigvalsh"))


def _eigvalsh_jvp(ts, a, out, nb, lower):
    _, v = eigh_parts(apply("eigh", a, lower=lower))
    return re(diag_part(_eig_proj(v, ts[0], nb, lower, a)))


def _eigvalsh_emit(names, node):
    return f"np.linalg.eigvalsh({names[0]}{'' if node.p['lower'] else ', UPLO=' + repr('U')})"


register(Primitive("eigvalsh", _eigvalsh_rule, lambda a, lower: np.linalg.eigvalsh(a, UPLO="L" if lower else "U"),
                   _eigvalsh_emit, jvp=_eigvalsh_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- eig: packed [w; V] of a general square matrix, always complex ---------------------------
# NumPy returns real arrays when every eigenvalue is real; the lowering decides that on the
# values (a guard) and takes the real parts. V has unit columns (LAPACK's normalisation), so
# dV = V (F o V^-1 dA V) minus V diag(Re(V^H dV)); the phase gauge keeps Im diag(V^-1 dV) = 0.

def eig_parts(p):
    """Return (w, V) from a packed eig node (both complex)."""
    return row(p, 0), rows(p, 1, p.shape[-2])


def _eig_rule(a):
    check_square(a, "eig")
    dt = np.result_type(float_dtype(a, complex_ok=True, what="eig"), np.complex64)
    return a.shape[:-2] + (a.shape[-1] + 1, a.shape[-1]), dt


def _eig_impl(a):
    w, v = np.linalg.eig(a)
    return np.concatenate((w[..., None, :], v), axis=-2).astype(np.result_type(a.dtype, np.complex64))


def _eig_emit(names, node):
    return [f"{{out}}_w, {{out}}_V = np.linalg.eig({names[0]})",
            f"{{out}} = np.concatenate(({{out}}_w[..., None, :], {{out}}_V), axis=-2, "
            f"dtype=np.{dtype_name(node.dtype)})  # [w; V]"]


def _eig_jvp(ts, a, out, nb):
    w, v = eig_parts(out)
    p = apply("solve", v, mm(ts[0], v))  # V^-1 dA V
    f = inv_gaps(ops.sub(row_vec(w), col_vec(w)))
    dv = mm(v, ops.mul(f, p))
    c = re(diag_part(mm(mH(v), dv)))  # keep |v_j| = 1
    dv = ops.sub(dv, ops.mul(v, row_vec(as_dtype(c, out.dtype))))
    return cat_rows(row_vec(diag_part(p)), dv)


register(Primitive("eig", _eig_rule, _eig_impl, _eig_emit, jvp=_eig_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- svd: packed [U; s; V] (reduced), and svdvals ------------------------------------------
# A = U diag(s) V^H; a complex matrix packs as complex (s real-valued), V = Vh^H.

def svd_parts(p, m):
    """Return (U, s, V) from a packed svd node of an m-row matrix (V, not V^H; s real)."""
    return rows(p, 0, m), re(row(p, m)), rows(p, m + 1, p.shape[-2])


def _svd_rule(a):
    if a.ndim < 2:
        raise np.linalg.LinAlgError("svd: the array must be at least two-dimensional")
    m, n = a.shape[-2:]
    return a.shape[:-2] + (m + 1 + n, min(m, n)), float_dtype(a, complex_ok=True, what="svd")


def _svd_impl(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.concatenate((u, s[..., None, :], np.conj(np.swapaxes(vh, -1, -2))), axis=-2)


def _svd_emit(names, node):
    v = "np.swapaxes({out}_Vh, -1, -2)"
    if node.dtype.kind == "c":
        v = f"np.conj({v})"
    return [f"{{out}}_U, {{out}}_s, {{out}}_Vh = np.linalg.svd({names[0]}, full_matrices=False)",
            f"{{out}} = np.concatenate(({{out}}_U, {{out}}_s[..., None, :], {v}), axis=-2)  # [U; s; V]"]


def _svd_jvp(ts, a, out, nb):
    # With dP = U^H dA V: ds = Re diag(dP), U^H dU = F o (dP S + S dP^H), V^H dV = F o (S dP + dP^H S),
    # F_ij = 1 / (s_j^2 - s_i^2); plus the parts outside span(U) (m > k) or span(V) (n > k). For
    # complex A the phase gauge puts i Im diag(dP) / s on the diagonal of U^H dU (V^H dV's is 0).
    m, n = a.shape[-2:]
    u, s, v = svd_parts(out, m)
    t = ts[0]
    tv = mm(t, v)
    dp = mm(mH(u), tv)
    srow, scol = row_vec(s), col_vec(s)
    f = inv_gaps(ops.sub(ops.square(srow), ops.square(scol)))
    dps = ops.mul(dp, srow)
    sdp = ops.mul(scol, dp)
    du = mm(u, ops.mul(f, ops.add(dps, mH(dps))))
    dv = mm(v, ops.mul(f, ops.add(sdp, mH(sdp))))
    ddp = diag_part(dp)
    if is_complex(dp):
        phase = ops.div(ops.sub(ddp, as_dtype(ops.real(ddp), ddp.dtype)), s)  # i Im(dP_ii) / s_i
        du = ops.add(du, ops.mul(u, row_vec(phase)))
    k = min(m, n)
    if m > k:
        du = ops.add(du, ops.div(ops.sub(tv, mm(u, dp)), srow))
    if n > k:
        tu = mm(mH(t), u)
        dv = ops.add(dv, ops.div(ops.sub(tu, mm(v, mH(dp))), srow))
    return cat_rows(du, row_vec(as_dtype(re(ddp), du.dtype)), dv)


register(Primitive("svd", _svd_rule, _svd_impl, _svd_emit, jvp=_svd_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


def _svdvals_rule(a):
    if a.ndim < 2:
        raise np.linalg.LinAlgError("svd: the array must be at least two-dimensional")
    return a.shape[:-2] + (min(a.shape[-2:]),), real_dtype(float_dtype(a, complex_ok=True, what="svd"))


def _svdvals_jvp(ts, a, out, nb):
    u, _, v = svd_parts(apply("svd", a), a.shape[-2])
    return re(diag_part(mm(mH(u), mm(ts[0], v))))


register(Primitive("svdvals", _svdvals_rule, lambda a: np.linalg.svd(a, compute_uv=False),
                   "np.linalg.svd({0}, compute_uv=False)", jvp=_svdvals_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- qr: packed [Q; R] (reduced, m >= n) ----------------------------------------------------

def qr_parts(p, m):
    """Return (Q, R) from a packed qr node of an m-row matrix."""
    return rows(p, 0, m), rows(p, m, p.shape[-2])


def _qr_rule(a):
    if a.ndim < 2:
        raise np.linalg.LinAlgError("qr: the array must be at least two-dimensional")
    m, n = a.shape[-2:]
    if m < n:
        raise UnsupportedOperationError("the qr primitive needs m >= n (the lowering splits wide matrices)")
    return a.shape[:-2] + (m + n, n), float_dtype(a, complex_ok=True, what="qr")


def _qr_impl(a):
    q, r = np.linalg.qr(a)
    return np.concatenate((q, r), axis=-2)


def _qr_emit(names, node):
    return [f"{{out}}_Q, {{out}}_R = np.linalg.qr({names[0]})",
            "{out} = np.concatenate(({out}_Q, {out}_R), axis=-2)  # [Q; R]"]


def _qr_jvp(ts, a, out, nb):
    # With B = dA R^-1 and C = Q^H B: Q^H dQ = Omega (anti-Hermitian, below-diagonal part of C;
    # for complex A, i Im diag(C) on its diagonal, as LAPACK's R has a real diagonal),
    # dQ = Q (Omega - C) + B, dR = (C - Omega) R.
    q, r = qr_parts(out, a.shape[-2])
    b = mT(apply("triangular_solve", r, mT(ts[0]), lower=False, trans=True, unit=False))
    c = mm(mH(q), b)
    cl = tri(c, -1, True)
    omega = ops.sub(cl, mH(cl))
    if is_complex(c):
        dc = diag_part(c)
        omega = ops.add(omega, diag_embed(ops.sub(dc, as_dtype(ops.real(dc), dc.dtype))))
    dq = ops.add(mm(q, ops.sub(omega, c)), b)
    dr = mm(ops.sub(c, omega), r)
    return cat_rows(dq, dr)


register(Primitive("qr", _qr_rule, _qr_impl, _qr_emit, jvp=_qr_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


# -- pinv (Moore-Penrose pseudo-inverse; derivative for constant rank) -------------------------

def _pinv_rule(a, rcond, rtol):
    if a.ndim < 2:
        raise np.linalg.LinAlgError("pinv: the array must be at least two-dimensional")
    return a.shape[:-2] + (a.shape[-1], a.shape[-2]), float_dtype(a, complex_ok=True, what="pinv")


def _pinv_impl(a, rcond, rtol):
    kw = {} if rcond is None else {"rcond": rcond}
    if rtol is not None:
        kw["rtol"] = rtol
    return np.linalg.pinv(a, **kw)


def _pinv_emit(names, node):
    p = node.p
    extra = ("" if p["rcond"] is None else f", rcond={p['rcond']!r}") + \
        ("" if p["rtol"] is None else f", rtol={p['rtol']!r}")
    return f"np.linalg.pinv({names[0]}{extra})"


def _pinv_jvp(ts, a, out, nb, rcond, rtol):
    # dX = -X dA X + X X^H dA^H (I - A X) + (I - X A) dA^H X^H X   (Golub & Pereyra)
    x, t = out, ts[0]
    m, n = a.shape[-2:]
    tt = mH(t)
    res = ops.neg(mm(mm(x, t), x))
    left = ops.sub(eye(m, out.dtype), mm(a, x))
    right = ops.sub(eye(n, out.dtype), mm(x, a))
    res = ops.add(res, mm(mm(mm(x, mH(x)), tt), left))
    return ops.add(res, mm(mm(right, tt), mm(mH(x), x)))


register(Primitive("pinv", _pinv_rule, _pinv_impl, _pinv_emit, jvp=_pinv_jvp,
                   owns=False, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
