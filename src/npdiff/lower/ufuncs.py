"""NumPy ufuncs (np.sin, np.add, ...) lowered onto the elementwise primitive of the same name, plus
the few ufuncs written as compositions (degrees, copysign, ldexp, divmod...).
"""
from __future__ import annotations

import numpy as np

from ..primitives import PRIMS, apply
from ..trace import UFUNCS, declare
from ._common import N, W, register_ufunc, to_float

# -- ufuncs ---------------------------------------------------------------------------

def _ufunc_lowering(name):
    """Return the lowering of a ufunc onto the elementwise primitive ``name`` (dtype= converts the result)."""
    def fn(*args, dtype=None, order="K", subok=True, **kwargs):
        out = apply(name, *[N(a) for a in args])
        if dtype is not None:
            out = apply("convert", out, dtype=np.dtype(dtype))
        return W(out)
    fn.__name__ = name
    return declare(fn, ("dtype", "order", "subok"))  # order and subok do not change values


for _name, _prim in PRIMS.items():
    _uf = getattr(np, _name, None)
    if isinstance(_uf, np.ufunc):
        UFUNCS[_uf] = _ufunc_lowering(_name)
UFUNCS[np.true_divide] = _ufunc_lowering("divide")
UFUNCS[np.positive] = lambda x: W(N(x))
UFUNCS[np.conjugate] = lambda x: W(apply("conj", N(x))) if N(x).dtype.kind == "c" else W(N(x))
UFUNCS[np.deg2rad] = UFUNCS[np.radians] = lambda x: W(apply("multiply", N(x), np.pi / 180))
UFUNCS[np.rad2deg] = UFUNCS[np.degrees] = lambda x: W(apply("multiply", N(x), 180 / np.pi))
UFUNCS[np.float_power] = lambda a, b: W(apply("power", apply("convert", N(a), dtype=np.float64), N(b)))
UFUNCS[np.copysign] = lambda a, b: W(apply("multiply", apply("absolute", N(a)),
                                           apply("where", apply("signbit", N(b)), -1.0, 1.0)))
UFUNCS[np.mod] = _ufunc_lowering("remainder")


register_ufunc(np.fabs, declare(lambda x, **kw: W(apply("absolute", N(x)))))
register_ufunc(np.divmod, declare(lambda a, b, **kw: (W(apply("floor_divide", N(a), N(b))),
                                               W(apply("remainder", N(a), N(b))))))


def _ldexp(x, i, **kw):
    v = to_float(N(x))
    scale = apply("exp2", apply("convert", N(i), dtype=v.dtype))
    return W(apply("multiply", v, scale))


register_ufunc(np.ldexp, declare(_ldexp))
