"""Hypergeometric, zeta and Wright functions of scipy.special as elementwise primitives.

Each is differentiable in its last argument, where the derivative is again a function of the same
family (so every order works); the derivative in the other arguments (orders, parameters) has no
closed form, and a tangent reaching one is refused with ``UnsupportedOperationError`` naming the
function and the argument:

- ``zeta(s, q)`` (Hurwitz): d/dq = -s zeta(s + 1, q); the Riemann zeta(s) is zeta(s, 1) (no derivative in s).
- ``hyp1f1(a, b, z)``: d/dz = (a / b) hyp1f1(a + 1, b + 1, z).
- ``hyp2f1(a, b, c, z)``: d/dz = (a b / c) hyp2f1(a + 1, b + 1, c + 1, z).
- ``wright_bessel(a, b, x)``: d/dx = wright_bessel(a, a + b, x) (term by term: the derivative of
  x^k / (k! Gamma(a k + b)) is x^(k-1) / ((k-1)! Gamma(a (k-1) + a + b))).
- ``log_wright_bessel(a, b, x)``: d/dx = exp(log_wright_bessel(a, a + b, x) - out).
"""
from __future__ import annotations

from ..errors import UnsupportedOperationError
from . import ops
from .elementwise import defew
from .helpers import align, expand_to
from .registry import apply

try:
    import scipy.special as sc
    from scipy.special import _ufuncs as _scu
except ImportError:  # pragma: no cover - SciPy is optional
    sc = None


def _jvp_in(name, argnames, dfdx):
    """jvp of f(..., x) differentiable in its last argument; a tangent in another is refused by name."""
    def jvp(ts, *args, out, nb):
        for t, arg in zip(ts[:-1], argnames[:-1]):
            if t is not None:
                raise UnsupportedOperationError(
                    f"npdiff has no derivative of scipy.special.{name} in its argument {arg!r} (no closed form); "
                    f"differentiate in {argnames[-1]!r}, with {arg} a constant")
        if ts[-1] is None:
            return None
        d = dfdx(*args, out)
        if d.dtype != out.dtype:
            d = ops.convert(d, dtype=out.dtype)
        return expand_to(ops.mul(align(ts[-1], nb, out.ndim), d), out.shape, nb)
    return jvp


def _sp(name, nargs):
    return f"scipy.special.{name}(" + ", ".join(f"{{{i}}}" for i in range(nargs)) + ")"


if sc is not None:
    defew("zeta", _scu._zeta, None, _sp("zeta", 2),
          jvp=_jvp_in("zeta", ("x", "q"), lambda s, q, o: ops.neg(ops.mul(s, apply("zeta", ops.add(s, 1.0), q)))))
    defew("hyp1f1", sc.hyp1f1, None, _sp("hyp1f1", 3),
          jvp=_jvp_in("hyp1f1", ("a", "b", "z"), lambda a, b, z, o: ops.mul(
              ops.div(a, b), apply("hyp1f1", ops.add(a, 1.0), ops.add(b, 1.0), z))))
    defew("hyp2f1", sc.hyp2f1, None, _sp("hyp2f1", 4),
          jvp=_jvp_in("hyp2f1", ("a", "b", "c", "z"), lambda a, b, c, z, o: ops.mul(
              ops.div(ops.mul(a, b), c), apply("hyp2f1", ops.add(a, 1.0), ops.add(b, 1.0), ops.add(c, 1.0), z))))
    defew("wright_bessel", sc.wright_bessel, None, _sp("wright_bessel", 3),
          jvp=_jvp_in("wright_bessel", ("a", "b", "x"),
                      lambda a, b, x, o: apply("wright_bessel", a, ops.add(a, b), x)))
    defew("log_wright_bessel", sc.log_wright_bessel, None, _sp("log_wright_bessel", 3),
          jvp=_jvp_in("log_wright_bessel", ("a", "b", "x"),
                      lambda a, b, x, o: ops.exp(ops.sub(apply("log_wright_bessel", a, ops.add(a, b), x), o))))
