"""scipy.linalg.solve_sylvester, sqrtm and solve_banded lowered onto the
primitives of ``primitives/scipy_linalg.py``.

Like the rest of scipy.linalg (``lower/linalg.py``) these functions do not
dispatch: they are swapped in ``scipy.linalg`` while tracing
(``trace.EXTRA_PATCHES``) by wrappers that call SciPy's original when no
argument is traced. ``sqrtm`` of a real matrix is real unless SciPy's root is
complex. When the values are known while tracing, that decision is taken on
them: a real root is traced in the real form, whose generated code reports a
path change (``PathChangedError``, so lazy operators retrace) if a later root is
complex; a complex root is traced as the root of A + 0j, as SciPy computes it,
behind a guard. With shapes only, the real form is traced and its generated
code raises ValueError if the root turns out complex.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError, user_line_short
from ..primitives import apply
from ..primitives.scipy_linalg import inexact_dtype, sqrtm_is_real
from ..tracing import guards
from ..tracing.tracer import EXTRA_PATCHES
from ._common import N, W, patch_when_traced


def _as_inexact(x):
    dt = inexact_dtype(x)
    return x if x.dtype == dt else apply("convert", x, dtype=dt)


def solve_sylvester(a, b, q):
    """Return the node of X with A X + X B = Q, the three in one common dtype.

    SciPy's own solver mixes a real Schur form (2x2 blocks for complex eigenvalues) with a complex
    LAPACK call when only some of the arguments are complex, and then returns a wrong X (SciPy 1.17);
    with a common dtype it solves the equation, whose derivative the primitive's rule is.
    """
    a, b, q = (N(v) for v in (a, b, q))
    dt = inexact_dtype(a, b, q)
    return W(apply("sylvester", *(v if v.dtype == dt else apply("convert", v, dtype=dt) for v in (a, b, q))))


def _known_value(x):
    """Return the value of node x if this trace knows it (guards.ValueTrace), else None."""
    vt = guards.current()
    if vt is None:
        return None
    try:
        return vt.value(x)
    except guards.NoValue:
        return None


def sqrtm(A, disp=None, blocksize=None):
    if disp is not None or blocksize is not None:
        raise UnsupportedOperationError("npdiff does not support the arguments disp= and blocksize= of "
                                        "scipy.linalg.sqrtm (deprecated by SciPy); leave them out")
    x = N(A)
    if x.ndim < 2:
        raise np.linalg.LinAlgError("The input array must be at least two-dimensional")
    x = _as_inexact(x)
    if x.dtype.kind == "c":
        return W(apply("sqrtm", x, where=None))
    value = _known_value(x)
    if value is None:  # shapes only: the generated code raises if the root is complex
        return W(apply("sqrtm", x, where=None))
    if sqrtm_is_real(value):  # the generated code takes another path if the root is complex
        return W(apply("sqrtm", x, where=user_line_short()))
    bool(W(apply("sqrtm_real", x)))  # False: recorded as a guard of the complex path
    return W(apply("sqrtm", apply("convert", x, dtype=np.result_type(x.dtype, np.complex64)), where=None))


def solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    l, u = (int(v) for v in l_and_u)
    ab, b = _as_inexact(N(ab)), _as_inexact(N(b))
    if b.ndim not in (1, 2):
        raise ValueError(f"solve_banded: b must be a vector or a matrix, got shape {b.shape}")
    bm = b if b.ndim == 2 else apply("reshape", b, shape=(b.shape[0], 1))
    x = apply("banded_solve", ab, bm, l=l, u=u)
    return W(x if b.ndim == 2 else apply("reshape", x, shape=b.shape))


try:
    import scipy.linalg as _sla
except ImportError:  # npdiff works without SciPy; scipy.linalg is then simply not intercepted
    _sla = None

if _sla is not None:
    for _fn in (solve_sylvester, sqrtm, solve_banded):
        EXTRA_PATCHES.append((_sla, _fn.__name__, patch_when_traced(getattr(_sla, _fn.__name__), _fn)))
