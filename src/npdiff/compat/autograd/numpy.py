"""``npdiff.compat.autograd.numpy`` is NumPy itself (``import npdiff.compat.autograd.numpy as np``).

npdiff differentiates plain NumPy code, so autograd's wrapped NumPy is not
needed: this module replaces itself in ``sys.modules`` with ``numpy``, and its
``random``, ``linalg`` and ``fft`` submodules with NumPy's.
"""
import sys

import numpy

for _sub in ("random", "linalg", "fft"):
    sys.modules[f"{__name__}.{_sub}"] = getattr(numpy, _sub)
sys.modules[__name__] = numpy
