"""numpy.linalg and scipy.linalg lowered onto the linalg primitives.

NumPy's functions dispatch through ``__array_function__``; SciPy's do not, so
they are swapped in ``scipy.linalg`` while tracing (``trace.EXTRA_PATCHES``)
by wrappers that call the original when no argument is traced. Everything
not listed here raises ``UnsupportedOperationError`` naming the function.
"""
from __future__ import annotations

from operator import itemgetter

import numpy as np

from ..errors import TracingError, UnsupportedOperationError
from ..ir.graph import Node
from ..primitives import apply
from ..primitives.linalg import eig_parts, eigh_parts, qr_parts, svd_parts
from ..primitives.matrices import herm_from, mH, mm, mT, sym_from
from ..primitives.scipy_linalg import lu_parts
from ..tracing import guards
from ..tracing.tracer import EXTRA_PATCHES, FUNCTIONS, Tracer, implements, intercepting, is_traced, refuses
from . import contractions
from ._common import N, W, axis_index, full_slices, keep_dims, patch_when_traced, to_float

la = np.linalg


def _named(typename, fields):
    """Return a tuple type with named fields (a plain tuple to npdiff's pytrees, unlike a namedtuple)."""
    ns = {f: property(itemgetter(i)) for i, f in enumerate(fields)}
    ns["__slots__"] = ()
    return type(typename, (tuple,), ns)


EighResult = _named("EighResult", ("eigenvalues", "eigenvectors"))
SlogdetResult = _named("SlogdetResult", ("sign", "logabsdet"))
SVDResult = _named("SVDResult", ("U", "S", "Vh"))
QRResult = _named("QRResult", ("Q", "R"))


def _unsupported(what, why):
    raise UnsupportedOperationError(f"npdiff does not support {what}: {why}")


def _mat(x, what) -> Node:
    x = to_float(N(x))
    if x.ndim < 2:
        raise la.LinAlgError(f"{what}: {x.ndim}-dimensional array given. Array must be at least two-dimensional")
    return x


def _vector_solve(prim, a, b, **params):
    """Solve with a vector (b.ndim == 1) or a stack of matrices as right-hand side."""
    if b.ndim == 1:
        x = apply(prim, *a, apply("reshape", b, shape=b.shape + (1,)), **params)
        return apply("reshape", x, shape=x.shape[:-1])
    return apply(prim, *a, b, **params)


# -- numpy.linalg ------------------------------------------------------------------------

@implements(la.inv)
def inv(a):
    return W(apply("inv", _mat(a, "inv")))


@implements(la.solve)
def solve(a, b):
    """NumPy 2 semantics: b is a vector only when b.ndim == 1, else a stack of matrices."""
    return W(_vector_solve("solve", (_mat(a, "solve"),), to_float(N(b))))


@implements(la.det)
def det(a):
    return W(apply("det", _mat(a, "det")))


@implements(la.slogdet)
def slogdet(a):
    x = _mat(a, "slogdet")
    return SlogdetResult((W(apply("slogdet_sign", x)), W(apply("logabsdet", x))))


def _cholesky_lower(x, upper=False):
    """Lower factor (upper=False, reads the lower triangle) or upper factor (reads the upper one)."""
    if upper:
        return mT(apply("cholesky", mT(x)))
    return apply("cholesky", x)


@implements(la.cholesky, honours=("upper",))
def cholesky(a, /, *, upper=False):
    return W(_cholesky_lower(_mat(a, "cholesky"), upper))


def _eigh(x, lower):
    w, v = eigh_parts(apply("eigh", x, lower=lower))
    return EighResult((W(w), W(v)))


@implements(la.eigh, honours=("UPLO",))
def eigh(a, UPLO="L"):
    return _eigh(_mat(a, "eigh"), UPLO.upper() == "L")


@implements(la.eigvalsh, honours=("UPLO",))
def eigvalsh(a, UPLO="L"):
    return W(apply("eigvalsh", _mat(a, "eigvalsh"), lower=UPLO.upper() == "L"))


EigResult = _named("EigResult", ("eigenvalues", "eigenvectors"))


def _eig_nodes(x, what):
    """Return (w, V) nodes of np.linalg.eig, real when NumPy's are (a real matrix, all eigenvalues real)."""
    w, v = eig_parts(apply("eig", x))
    if x.dtype.kind == "c":
        return w, v
    # NumPy returns real arrays exactly when every imaginary part is 0: a decision on the values
    if guards.current() is None:
        raise TracingError(
            f"{what} of a real matrix returns real or complex arrays depending on its values, which are "
            "not known while tracing with shapes only. Call the operator with real arrays (or give "
            "example arrays instead of shapes), so npdiff follows NumPy's choice and guards it; or pass "
            "a complex matrix (x.astype(complex)), whose eigenvalues are always complex.")
    real = guards.decide(apply("logical_not", apply("reduce_max", apply("not_equal", apply("imag", w), 0.0),
                                                    axes=tuple(range(w.ndim)))), "bool")
    if real:
        return apply("real", w), apply("real", v)
    return w, v


@implements(la.eig)
def eig(a):
    w, v = _eig_nodes(_mat(a, "eig"), "numpy.linalg.eig")
    return EigResult((W(w), W(v)))


@implements(la.eigvals)
def eigvals(a):
    # the eigenvalues of eig's LAPACK call (with eigenvectors, which the derivative needs)
    return W(_eig_nodes(_mat(a, "eigvals"), "numpy.linalg.eigvals")[0])


def _svd(x, full_matrices, compute_uv, what):
    if not compute_uv:
        return W(apply("svdvals", x))
    m, n = x.shape[-2:]
    if full_matrices and m != n:
        _unsupported(f"{what}(..., full_matrices=True) of a non-square matrix",
                     "the extra singular vectors are not unique; pass full_matrices=False")
    u, s, v = svd_parts(apply("svd", x), m)
    return SVDResult((W(u), W(s), W(mH(v))))


@implements(la.svd, honours=("full_matrices", "compute_uv"))
def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    if hermitian:
        _unsupported("numpy.linalg.svd(..., hermitian=True)", "use hermitian=False")
    return _svd(_mat(a, "svd"), full_matrices, compute_uv, "numpy.linalg.svd")


@implements(getattr(la, "svdvals", None))
def svdvals(x, /):
    return W(apply("svdvals", _mat(x, "svdvals")))


def _qr(x):
    """Return (Q, R) nodes of the reduced QR decomposition."""
    m, n = x.shape[-2:]
    if m >= n:
        return qr_parts(apply("qr", x), m)
    # wide: the first m columns fix Q (Householder QR works column by column), R = Q^H A
    lead = full_slices(x.shape[:-1])
    q, _ = qr_parts(apply("qr", apply("gather", x, index=lead + (("s", 0, m, 1),))), m)
    return q, mm(mH(q), x)


@implements(la.qr, honours=("mode",))
def qr(a, mode="reduced"):
    x = _mat(a, "qr")
    m, n = x.shape[-2:]
    if mode == "complete" and m > n:
        _unsupported("numpy.linalg.qr(..., mode='complete') of a tall matrix",
                     "the extra columns of Q are not unique; use mode='reduced'")
    if mode not in ("reduced", "complete", "r"):
        _unsupported(f"numpy.linalg.qr(..., mode={mode!r})", "use mode='reduced' or 'r'")
    q, r = _qr(x)
    return W(r) if mode == "r" else QRResult((W(q), W(r)))


@implements(la.pinv, honours=("rcond", "rtol"))
def pinv(a, rcond=None, hermitian=False, *, rtol=None):
    if hermitian:
        _unsupported("numpy.linalg.pinv(..., hermitian=True)", "use hermitian=False")
    return W(apply("pinv", _mat(a, "pinv"), rcond=None if rcond is None else float(rcond),
                   rtol=None if rtol is None else float(rtol)))


@implements(la.matrix_power)
def matrix_power(a, n):
    x = _mat(a, "matrix_power")
    if x.shape[-1] != x.shape[-2]:
        raise la.LinAlgError("Last 2 dimensions of the array must be square")
    n = int(n)
    if n == 0:
        eye = apply("broadcast_to", np.eye(x.shape[-1], dtype=x.dtype), shape=x.shape)
        return W(eye)
    if n < 0:
        x, n = apply("inv", x), -n
    result, power = None, x
    while True:  # binary powering, as NumPy does
        if n & 1:
            result = power if result is None else mm(result, power)
        n >>= 1
        if not n:
            return W(result)
        power = mm(power, power)


@implements(la.multi_dot, honours=())
def multi_dot(arrays, *, out=None):
    xs = [N(a) for a in arrays]
    if len(xs) < 2:
        raise ValueError("Expecting at least two arrays.")
    res = W(xs[0])
    for x in xs[1:]:
        res = contractions.matmul(res, W(x))
    return res


@implements(la.cond, honours=("p",))
def cond(x, p=None):
    m = _mat(x, "cond")
    if p is None or p in (2, -2):
        s = apply("svdvals", m)
        lead = full_slices(s.shape[:-1])
        hi = apply("gather", s, index=lead + (("i", 0),))
        lo = apply("gather", s, index=lead + (("i", s.shape[-1] - 1),))
        return W(hi) / W(lo) if p != -2 else W(lo) / W(hi)
    return norm(W(m), p, axis=(-2, -1)) * norm(inv(W(m)), p, axis=(-2, -1))


@implements(la.tensorinv, honours=("ind",))
def tensorinv(a, ind=2):
    x = to_float(N(a))
    inner, outer = x.shape[:ind], x.shape[ind:]
    k = int(np.prod(inner))
    y = apply("inv", apply("reshape", x, shape=(k, k)))
    return W(apply("reshape", y, shape=outer + inner))


@implements(la.tensorsolve, honours=("axes",))
def tensorsolve(a, b, axes=None):
    x, y = to_float(N(a)), to_float(N(b))
    if axes is not None:
        axes = [axis_index(ax, x.ndim) for ax in axes]
        order = [i for i in range(x.ndim) if i not in axes] + axes
        x = apply("transpose", x, perm=tuple(order))
    rest = x.shape[y.ndim:]
    k = int(np.prod(rest))
    sol = apply("solve", apply("reshape", x, shape=(y.size, k)), apply("reshape", y, shape=(y.size, 1)))
    return W(apply("reshape", sol, shape=rest))


@implements(la.lstsq, la.matrix_rank)
@refuses
def _value_dependent(*args, **kwargs):
    _unsupported("numpy.linalg.lstsq/matrix_rank", "their rank result depends on the values; "
                 "use np.linalg.pinv(A) @ b or np.linalg.solve")


# -- norms -------------------------------------------------------------------------------------
# Every norm is of |x|: a complex x contributes x.real**2 + x.imag**2 (as real(x * conj(x)), whose
# derivative stays finite at 0), never x * x, and the results are real as NumPy's.

def _abs2(x):
    """Return |x|**2 elementwise (x * x for a real Tracer x)."""
    if x.dtype.kind == "c":
        return np.real(x * np.conj(x))
    return x * x


def _vector_norm(x, ord, axis, keepdims):
    """x is a Tracer; axis a tuple (or None for all axes)."""
    a = np.abs(x)
    if ord is None or ord == 2:
        return np.sqrt(np.sum(_abs2(x), axis=axis, keepdims=keepdims))
    if ord == np.inf:
        return np.max(a, axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return np.sum((x != 0).astype(a.dtype), axis=axis, keepdims=keepdims)
    if ord == 1:
        return np.sum(a, axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    return np.sum(a ** float(ord), axis=axis, keepdims=keepdims) ** (1.0 / float(ord))


def _matrix_norm(x, ord, axes, keepdims):
    r, c = (axis_index(ax, x.ndim) for ax in axes)
    if r == c:
        raise ValueError("Duplicate axes given.")
    if ord in (2, -2, "nuc"):
        s = W(apply("svdvals", N(np.moveaxis(x, (r, c), (-2, -1)))))
        res = np.max(s, axis=-1) if ord == 2 else np.min(s, axis=-1) if ord == -2 else np.sum(s, axis=-1)
    elif ord in (None, "fro", "f"):
        res = np.sqrt(np.sum(_abs2(x), axis=(r, c)))
    elif ord in (1, -1):
        red = np.max if ord == 1 else np.min
        res = red(np.sum(np.abs(x), axis=r), axis=c - 1 if c > r else c)
    elif ord in (np.inf, -np.inf):
        red = np.max if ord == np.inf else np.min
        res = red(np.sum(np.abs(x), axis=c), axis=r - 1 if r > c else r)
    else:
        raise ValueError("Invalid norm order for matrices.")
    if keepdims:
        res = W(keep_dims(N(res), x.shape, (r, c)))
    return res


def _norm_operand(x):
    """Return x as a floating (or complex) Tracer; a list/tuple of traced values is stacked as NumPy would."""
    return W(to_float(N(x)))


@implements(la.norm, honours=("ord", "axis", "keepdims"))
def norm(x, ord=None, axis=None, keepdims=False):
    t = _norm_operand(x)
    nd = t.ndim
    if axis is None:
        if ord is None or (ord in ("f", "fro") and nd == 2) or (ord == 2 and nd == 1):
            res = np.sqrt(np.sum(_abs2(t)))
            if keepdims:
                res = W(apply("reshape", N(res), shape=(1,) * nd))
            return res
        axis = tuple(range(nd))
    elif not isinstance(axis, (tuple, list)):
        axis = (int(axis),)
    axis = tuple(axis_index(ax, nd) for ax in axis)
    if len(axis) == 1:
        return _vector_norm(t, ord, axis, keepdims)
    if len(axis) == 2:
        return _matrix_norm(t, ord, axis, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


@implements(getattr(la, "vector_norm", None), honours=("axis", "keepdims", "ord"))
def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    t = _norm_operand(x)
    if axis is None:
        res = _vector_norm(W(apply("reshape", t.node, shape=(t.size,))), ord, None, False)
        return W(apply("reshape", N(res), shape=(1,) * t.ndim)) if keepdims else res
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    return _vector_norm(t, ord, tuple(axis_index(ax, t.ndim) for ax in axes), keepdims)


@implements(getattr(la, "matrix_norm", None), honours=("keepdims", "ord"))
def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    return _matrix_norm(_norm_operand(x), ord, (-2, -1), keepdims)


# NumPy's dispatcher of np.linalg.norm looks at its argument, not inside a list of traced values
# (np.linalg.norm([x, x + 2])): while tracing, such a list is stacked into one Tracer first.

def _list_norm(original):
    def fn(x, *args, **kwargs):
        if isinstance(x, (list, tuple)) and intercepting() and is_traced(x):
            x = Tracer(N(x))
        return original(x, *args, **kwargs)
    fn.__name__ = original.__name__
    fn.__doc__ = original.__doc__
    fn.__wrapped__ = original
    return fn


_NORM_PATCHES = [(la, name, _list_norm(getattr(la, name)))
                 for name in ("norm", "vector_norm", "matrix_norm") if hasattr(la, name)]
EXTRA_PATCHES.extend(_NORM_PATCHES)
for _, _, _fn in _NORM_PATCHES:  # FUNCTIONS[np.linalg.norm] looked up while patched finds the lowering
    FUNCTIONS[_fn] = FUNCTIONS[_fn.__wrapped__]


# -- array-API aliases in numpy.linalg ------------------------------------------------------------

@implements(getattr(la, "matrix_transpose", None))
def matrix_transpose(x, /):
    return W(mT(N(x)))


@implements(getattr(la, "matmul", None))
def matmul(x1, x2, /):
    return contractions.matmul(x1, x2)


@implements(getattr(la, "tensordot", None), honours=("axes",))
def tensordot(x1, x2, /, *, axes=2):
    return contractions.tensordot(x1, x2, axes)


@implements(getattr(la, "outer", None))
def outer(x1, x2, /):
    return contractions.outer(x1, x2)


@implements(getattr(la, "vecdot", None), honours=("axis",))
def vecdot(x1, x2, /, *, axis=-1):
    a = W(N(x1))
    return np.sum((np.conj(a) if a.dtype.kind == "c" else a) * W(N(x2)), axis=axis)  # conjugates x1


@implements(getattr(la, "trace", None), honours=("offset", "dtype"))
def trace(x, /, *, offset=0, dtype=None):
    return contractions.trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


@implements(getattr(la, "diagonal", None), honours=("offset",))
def diagonal(x, /, *, offset=0):
    return contractions.diagonal(x, offset=offset, axis1=-2, axis2=-1)


# -- scipy.linalg (intercepted while tracing) --------------------------------------------------------

def _trans_flag(trans):
    """Return "N", "T" or "C" (no, plain or conjugate transpose) for SciPy's trans argument."""
    if trans in (0, "N", "n"):
        return "N"
    if trans in (1, "T", "t"):
        return "T"
    if trans in (2, "C", "c"):
        return "C"
    raise ValueError(f"invalid trans argument {trans!r}")


def _tri_solve(a, b, lower, trans="N", unit=False):
    """Return op(a)^-1 b for triangular a, op one of "N", "T", "C" (b a vector or a stack of matrices)."""
    if trans == "C" and a.dtype.kind == "c":  # A^-H b = conj(A^-T conj(b))
        x = _vector_solve("triangular_solve", (a,), apply("conj", b), lower=lower, trans=True, unit=unit)
        return apply("conj", x)
    return _vector_solve("triangular_solve", (a,), b, lower=lower, trans=trans != "N", unit=unit)


class _SciPyLinalg:
    """The scipy.linalg lowerings: one static method per function, named and called as SciPy's."""

    @staticmethod
    def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                         check_finite=True):
        return W(_tri_solve(_mat(a, "solve_triangular"), to_float(N(b)), bool(lower), _trans_flag(trans),
                            bool(unit_diagonal)))

    @staticmethod
    def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
        return W(_cholesky_lower(_mat(a, "cholesky"), upper=not lower))

    @staticmethod
    def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
        # the unused triangle is zero here (SciPy leaves arbitrary values there)
        return _SciPyLinalg.cholesky(a, lower=lower), bool(lower)

    @staticmethod
    def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
        c, lower = c_and_lower
        c, b = _mat(c, "cho_solve"), to_float(N(b))
        if lower:  # A = L L^H
            return W(_tri_solve(c, _tri_solve(c, b, True), True, "C"))
        return W(_tri_solve(c, _tri_solve(c, b, False, "C"), False))  # A = U^H U

    @staticmethod
    def lu_factor(a, overwrite_a=False, check_finite=True):
        x = _mat(a, "lu_factor")
        if x.shape[-1] != x.shape[-2]:
            _unsupported("scipy.linalg.lu_factor of a non-square matrix", "its derivative is not implemented")
        lu, piv = lu_parts(apply("lu_factor", x))
        return W(lu), W(piv)

    @staticmethod
    def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
        lu, piv = lu_and_piv
        lu = _mat(lu, "lu_solve")
        if _trans_flag(trans) == "C" and lu.dtype.kind == "c":
            _unsupported("scipy.linalg.lu_solve(..., trans=2) of a complex matrix", "use trans=0 or 1")
        return W(_vector_solve("lu_solve", (lu, N(piv)), to_float(N(b)), trans=1 if _trans_flag(trans) != "N" else 0))

    @staticmethod
    def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True, assume_a=None,
              transposed=False):
        x = _mat(a, "solve")
        if assume_a in ("sym", "symmetric"):
            x = sym_from(x, bool(lower))  # these read one triangle only
        elif assume_a in ("her", "hermitian", "pos", "positive definite"):
            x = herm_from(x, bool(lower))
        elif assume_a in ("lower triangular", "upper triangular"):
            return _SciPyLinalg.solve_triangular(W(x), b, trans=1 if transposed else 0,
                                                 lower=assume_a == "lower triangular")
        elif assume_a not in (None, "gen", "general"):
            _unsupported(f"scipy.linalg.solve(..., assume_a={assume_a!r})", "use assume_a='gen'")
        if transposed:
            x = mT(x)
        return W(_vector_solve("solve", (x,), to_float(N(b))))

    @staticmethod
    def inv(a, overwrite_a=False, check_finite=True, **kw):
        return W(apply("inv", _mat(a, "inv")))

    @staticmethod
    def det(a, overwrite_a=False, check_finite=True):
        d = apply("det", _mat(a, "det"))
        dt = np.result_type(d.dtype, np.float64)  # SciPy's det is float64 / complex128 for any input
        return W(d if d.dtype == dt else apply("convert", d, dtype=dt))

    @staticmethod
    def expm(A):
        return W(apply("expm", _mat(A, "expm")))

    @staticmethod
    def expm_frechet(A, E, method=None, compute_expm=True, check_finite=True):
        a, e = _mat(A, "expm_frechet"), to_float(N(E))
        lf = W(apply("expm_frechet", a, e))
        return (W(apply("expm", a)), lf) if compute_expm else lf

    @staticmethod
    def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, type=1,
             check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
        if b is not None or subset_by_index is not None or subset_by_value is not None:
            _unsupported("scipy.linalg.eigh with b= or subset_by_*", "only the standard problem is supported")
        x = _mat(a, "eigh")
        if eigvals_only:
            return W(apply("eigvalsh", x, lower=bool(lower)))
        return tuple(_eigh(x, bool(lower)))

    @staticmethod
    def eigvalsh(a, b=None, *, lower=True, **kw):
        return _SciPyLinalg.eigh(a, b, lower=lower, eigvals_only=True)

    @staticmethod
    def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True,
            lapack_driver="gesdd"):
        res = _svd(_mat(a, "svd"), full_matrices, compute_uv, "scipy.linalg.svd")
        return res if not compute_uv else tuple(res)

    @staticmethod
    def svdvals(a, overwrite_a=False, check_finite=True):
        return W(apply("svdvals", _mat(a, "svdvals")))

    @staticmethod
    def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
        x = _mat(a, "qr")
        m, n = x.shape[-2:]
        if pivoting:
            _unsupported("scipy.linalg.qr(..., pivoting=True)", "the column pivoting depends on the values")
        if mode == "full" and m > n:
            _unsupported("scipy.linalg.qr(..., mode='full') of a tall matrix",
                         "the extra columns of Q are not unique; use mode='economic'")
        if mode not in ("full", "economic", "r"):
            _unsupported(f"scipy.linalg.qr(..., mode={mode!r})", "use mode='economic' or 'r'")
        q, r = _qr(x)
        return (W(r),) if mode == "r" else (W(q), W(r))

    @staticmethod
    def pinv(a, *, atol=None, rtol=None, return_rank=False, check_finite=True):
        if atol is not None or return_rank:
            _unsupported("scipy.linalg.pinv(..., atol=/return_rank=)", "use rtol=")
        return W(apply("pinv", _mat(a, "pinv"), rcond=None, rtol=None if rtol is None else float(rtol)))

    @staticmethod
    def norm(a, ord=None, axis=None, keepdims=False, check_finite=True):
        return globals()["norm"](a, ord, axis, keepdims)


def _scipy_lowerings(sla):
    """Return {name: lowering} for the scipy.linalg functions this SciPy has."""
    return {name: getattr(_SciPyLinalg, name) for name, fn in vars(_SciPyLinalg).items()
            if isinstance(fn, staticmethod) and hasattr(sla, name)}


try:
    import scipy.linalg as _sla
except ImportError:  # npdiff works without SciPy; scipy.linalg is then simply not intercepted
    _sla = None

if _sla is not None:
    for _name, _fn in _scipy_lowerings(_sla).items():
        EXTRA_PATCHES.append((_sla, _name, patch_when_traced(getattr(_sla, _name), _fn)))
