"""``no_derivative`` and ``betaincinv``: what scipy.stats needs beyond scipy.special's primitives.

``no_derivative`` is the identity on an argument that a scipy.stats function is not differentiated in.

A count (the ``k`` of ``poisson.pmf``) or a shape parameter whose derivative has
no closed form (the ``a`` of ``gamma.cdf``: d/da of the regularised incomplete
gamma function) passes through ``no_derivative(x, what=...)``. Its value is x;
asking for its derivative (a nonzero tangent reaching it) raises
UnsupportedOperationError with the message ``what``, so a derivative in the
other arguments works and one in this argument is refused, never silently zero.
"""
from __future__ import annotations

from ..errors import UnsupportedOperationError
from ..ir.indexsets import ELEMENTWISE
from .registry import Primitive, register


def _jvp(ts, x, out, nb, what):
    if ts[0] is not None:
        raise UnsupportedOperationError(what)
    return None


register(Primitive("no_derivative", lambda x, what="": (x.shape, x.dtype), lambda x, what="": x, "{0}", jvp=_jvp,
                   owns=False, elementwise=True, sparsity=ELEMENTWISE, scalar="{0}"))


try:
    import scipy.special as sc
except ImportError:  # pragma: no cover - SciPy is optional
    sc = None

if sc is not None:
    from . import ops
    from .elementwise import defew
    from .special import _dbetainc, _jvp_last_only, _sp

    # the inverse of the regularised incomplete beta function in y (the medians of beta.logcdf/logsf)
    defew("betaincinv", sc.betaincinv, None, _sp("betaincinv", 3),
          jvp=_jvp_last_only("betaincinv", lambda a, b, y, o: ops.reciprocal(_dbetainc(a, b, o, y))))
