"""``npdiff.compat.jax.numpy`` is NumPy itself (``import npdiff.compat.jax.numpy as jnp``).

npdiff traces plain NumPy code: this module replaces itself in ``sys.modules``
with ``numpy`` (and ``.linalg``, ``.fft`` with NumPy's). JAX-only array methods
(``x.at[i].set(v)``) are not NumPy: write ``y = x.copy(); y[i] = v``.
"""
import sys

import numpy

for _sub in ("linalg", "fft"):
    sys.modules[f"{__name__}.{_sub}"] = getattr(numpy, _sub)
sys.modules[__name__] = numpy
