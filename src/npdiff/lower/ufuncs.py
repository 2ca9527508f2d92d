"""NumPy ufuncs (np.sin, np.add, ...) lowered onto the elementwise primitive of the same name, plus
the few ufuncs written as compositions (degrees, copysign, ldexp, divmod...).
"""
from __future__ import annotations

import numpy as np

from ..primitives import PRIMS, apply
from ..tracing.dispatch import _refuse_keyword
from ..tracing.tracer import UFUNCS, declare
from ._common import N, W, register_ufunc, to_float

# -- ufuncs ---------------------------------------------------------------------------

def _ufunc_lowering(name, ufunc=None):
    """Return the lowering of a ufunc onto the elementwise primitive ``name``.

    ``dtype=`` and ``casting=`` are checked against the ufunc's own loops (on one-element placeholders,
    so an invalid combination raises NumPy's error, and the result dtype is NumPy's); the operands are
    converted to a floating loop dtype before computing, as NumPy. ``order`` and ``subok`` do not
    change values.
    """
    def fn(*args, dtype=None, order="K", subok=True, casting="same_kind", **kwargs):
        nodes = [N(a) for a in args]
        if dtype is None and casting == "same_kind":
            return W(apply(name, *nodes))
        want = np.dtype(dtype) if dtype is not None else None
        if ufunc is not None:
            probe = [(a if isinstance(a, (bool, int, float, complex)) else np.ones((), n.dtype))
                     for a, n in zip(args, nodes)]
            with np.errstate(all="ignore"):
                want = np.asarray(ufunc(*probe, dtype=dtype, casting=casting)).dtype
        elif casting != "same_kind":
            _refuse_keyword("casting", name)
        if dtype is not None and want.kind in "fc":  # the loop computes in this dtype: convert first
            nodes = [n if n.dtype == want or n.weak else apply("convert", n, dtype=want) for n in nodes]
        out = apply(name, *nodes)
        return W(out if want is None or out.dtype == want else apply("convert", out, dtype=want))
    fn.__name__ = name
    return declare(fn, ("dtype", "order", "subok", "casting"))  # order and subok do not change values


for _name, _prim in PRIMS.items():
    _uf = getattr(np, _name, None)
    if isinstance(_uf, np.ufunc):
        UFUNCS[_uf] = _ufunc_lowering(_name, _uf)
UFUNCS[np.true_divide] = _ufunc_lowering("divide", np.true_divide)
UFUNCS[np.positive] = lambda x: W(N(x))
UFUNCS[np.conjugate] = lambda x: W(apply("conj", N(x))) if N(x).dtype.kind == "c" else W(N(x))
UFUNCS[np.deg2rad] = UFUNCS[np.radians] = lambda x: W(apply("multiply", N(x), np.pi / 180))
UFUNCS[np.rad2deg] = UFUNCS[np.degrees] = lambda x: W(apply("multiply", N(x), 180 / np.pi))
UFUNCS[np.float_power] = lambda a, b: W(apply("power", apply("convert", N(a), dtype=np.float64), N(b)))
UFUNCS[np.copysign] = lambda a, b: W(apply("multiply", apply("absolute", N(a)),
                                           apply("where", apply("signbit", N(b)), -1.0, 1.0)))
UFUNCS[np.mod] = _ufunc_lowering("remainder", np.mod)


register_ufunc(np.fabs, declare(lambda x, **kw: W(apply("absolute", N(x)))))
register_ufunc(np.divmod, declare(lambda a, b, **kw: (W(apply("floor_divide", N(a), N(b))),
                                               W(apply("remainder", N(a), N(b))))))


def _ldexp(x, i, **kw):
    v = to_float(N(x))
    scale = apply("exp2", apply("convert", N(i), dtype=v.dtype))
    return W(apply("multiply", v, scale))


register_ufunc(np.ldexp, declare(_ldexp))
