"""Solves and log-diagonals through a Cholesky factor, differentiated through the matrix it factors.

``spd_solve(K, L, b)`` is ``K^-1 b`` computed from ``L = cholesky(K)`` (what ``cho_solve`` does:
``L^-T L^-1 b``), and ``chol_logdiag(K, L)`` is ``log(diag(L))`` (half of ``log det K`` when
summed). The simplifiers of ``triangular_solve`` and ``log`` build them when they meet those
patterns on a factor made by ``cholesky`` (real, one matrix: no stacks), whether written with
``cho_solve`` or with two ``solve_triangular`` calls. Their rules differentiate through ``K``
(``dx = -K^-1 sym(dK) x``, ``d log L_ii = (L^-1 sym(dK) L^-T)_ii / 2``, ``sym`` reading the lower
triangle as ``cholesky`` does) and never through the factor, so reverse mode needs no Cholesky
adjoint: a log-likelihood's gradient makes the same LAPACK calls as the hand-written
``K^-1 = cho_solve(L, I)``, ``alpha = cho_solve(L, y)`` version. These are exact rewrites
(the same function and derivative), valid because ``L`` is ``cholesky(K)`` by construction.

A solve whose right-hand side is a constant multiple of one already solved against the same
factor reuses that solution (``K^-1 (s c) = s K^-1 c``): the cotangent ``y / 2`` of a quadratic
form ``y @ cho_solve(L, y) / 2`` is then no second solve.
"""
from __future__ import annotations

import weakref

import numpy as np

from ..ir.graph import intern
from ..ir.indexsets import DENSE
from . import ops
from .helpers import align, sum_to
from .linalg import have_scipy, solve_rule
from .matrices import eye, fit_batch, mm, read_lower
from .registry import NOT_SCALAR, Primitive, apply, register

_SOLVED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # factor L -> weak refs of spd_solve nodes
# whose right-hand side is a constant


def _potrs(dtype) -> str:
    return "scipy.linalg.lapack." + ("s" if dtype == np.float32 else "d") + "potrs"


def _spd_impl(K, L, b):
    if have_scipy() and np.ndim(b) <= 2:
        import scipy.linalg.lapack as lapack
        return getattr(lapack, _potrs(np.result_type(L, b)).rsplit(".", 1)[1])(L, b, lower=1)[0]
    return np.linalg.solve(np.swapaxes(L, -1, -2), np.linalg.solve(L, b))


def _is_eye(b) -> bool:
    return b.op == "const" and b.ndim == 2 and b.shape[0] == b.shape[1] and not b.weak and \
        np.array_equal(b.value, np.eye(b.shape[0]))


def _spd_emit(names, node):
    _, L, b = names
    if not have_scipy() or node.dtype not in (np.float32, np.float64):
        return f"np.linalg.solve({L}.T, np.linalg.solve({L}, {b}))"
    if _is_eye(node.args[2]):
        # K^-1 = L^-T L^-1 from LAPACK's trtri (L^-1 in the lower triangle; L's upper triangle is zero,
        # np.linalg.cholesky, and stays so) and one product: 25 us at n = 60 against potrs' 40 on I,
        # and unlike potri (whose threaded lauum takes 127 us there) as fast with several BLAS threads
        return [f"{{out}}_c = {_potrs(node.dtype)[:-5]}trtri({L}, lower=1)[0]", "{out} = {out}_c.T @ {out}_c"]
    if node.args[2].ndim == 2:
        # LAPACK's potrs: cho_solve's two triangular solves without its Python layer (about 5 us)
        return f"{_potrs(node.dtype)}({L}, {b}, lower=1)[0]"
    return f"np.linalg.solve(np.swapaxes({L}, -1, -2), np.linalg.solve({L}, {b}))"


def _spd_rule(K, L, b):
    return solve_rule(L, b, False, "cho_solve")


def _scaled_reuse(L, b):
    """Return s * x for a solve x of L's matrix whose constant right-hand side c has b = s * c, else None."""
    refs = _SOLVED.get(L)
    if not refs or b.size == 0:
        return None
    v = np.asarray(b.value)
    for ref in refs:
        x = ref()
        if x is None or x.args[2].shape != b.shape or x.dtype != np.result_type(L.dtype, v.dtype):
            continue
        c = np.asarray(x.args[2].value)
        k = int(np.argmax(np.abs(c)))
        if c.flat[k] == 0:
            continue
        s = v.flat[k] / c.flat[k]
        if np.isfinite(s) and np.array_equal(s * c, v):
            return x if s == 1 else ops.mul(x, float(s))
    return None


def _spd_simplify(K, L, b, shape, dtype):
    if b.op != "const" or L.op == "const":
        return None
    reuse = _scaled_reuse(L, b)
    if reuse is not None:
        return reuse
    node = intern("spd_solve", (K, L, b), (), shape, dtype)
    _SOLVED.setdefault(L, []).append(weakref.ref(node))
    return node


def _spd_jvp(ts, K, L, b, out, nb):
    tK, _, tb = ts  # L's tangent follows from K's: the rule reads K's
    rhs = None if tb is None else align(tb, nb, out.ndim)
    if tK is not None:
        d = mm(align(read_lower(tK, K, complex_ok=False), nb, out.ndim), out)
        rhs = ops.neg(d) if rhs is None else ops.sub(rhs, d)
    return None if rhs is None else fit_batch(apply("spd_solve", K, L, rhs), out, nb)


def _spd_transpose(ct, K, L, b, lin, nb):
    assert not lin[0] and not lin[1], "spd_solve is linear in its right-hand side only"
    return [None, None, sum_to(apply("spd_solve", K, L, ct), b.shape, nb)]  # K^-T = K^-1


register(Primitive("spd_solve", _spd_rule, _spd_impl, _spd_emit, jvp=_spd_jvp, transpose=_spd_transpose,
                   linear=True, simplify=_spd_simplify, diff_args=lambda node: (0, 2), short="cho_solve",
                   owns=True, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))


def _logdiag_jvp(ts, K, L, out, nb):
    tK = ts[0]
    if tK is None:
        return None
    # (L^-1 S L^-T)_ii = sum_j (L^-1 S)_ij (L^-1)_ij with S = sym(dK), L^-1 a forward value
    linv = apply("triangular_solve", L, eye(L.shape[-1], L.dtype), lower=True, trans=False, unit=False)
    y = apply("triangular_solve", L, read_lower(tK, K, complex_ok=False), lower=True, trans=False, unit=False)
    return ops.mul(apply("reduce_sum", ops.mul(y, linv), axes=(y.ndim - 1,)), 0.5)


register(Primitive("chol_logdiag", lambda K, L: (L.shape[-1:], L.dtype),
                   lambda K, L: np.log(np.diagonal(L, 0, -2, -1)), "np.log(np.diagonal({1}))",
                   jvp=_logdiag_jvp, diff_args=lambda node: (0,), short="logdiag",
                   owns=True, elementwise=False, sparsity=DENSE, scalar=NOT_SCALAR))
