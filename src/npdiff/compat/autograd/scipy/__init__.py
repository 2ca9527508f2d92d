"""autograd.scipy as SciPy itself: ``special``, ``linalg``, ``integrate`` are SciPy's modules.

``stats`` holds SciPy's distribution objects under autograd's module names
(``autograd.scipy.stats.norm.logpdf(x, loc, scale)`` is ``scipy.stats.norm.logpdf``);
``misc.logsumexp`` is ``scipy.special.logsumexp``. npdiff differentiates the SciPy
calls it lists as supported (docs: Supported functions). ``signal.convolve`` is
autograd's own (``axes=``, ``dot_axes=``; not SciPy's), written in NumPy here.
"""
import sys

import scipy.integrate as integrate
import scipy.linalg as linalg
import scipy.special as special

from . import misc, signal, stats

for _name, _mod in (("special", special), ("linalg", linalg), ("integrate", integrate)):
    sys.modules[f"{__name__}.{_name}"] = _mod

__all__ = ["special", "linalg", "integrate", "signal", "stats", "misc"]
