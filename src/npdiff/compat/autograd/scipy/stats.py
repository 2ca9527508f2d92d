"""autograd.scipy.stats: SciPy's distribution objects under autograd's names (``norm``, ``t``, ``multivariate_normal``...).

``import npdiff.compat.autograd.scipy.stats.norm as norm`` gives ``scipy.stats.norm``
(its ``pdf``, ``logpdf``, ``cdf``... take autograd's arguments).
"""
import sys

import scipy.stats as _stats

DISTRIBUTIONS = ("norm", "t", "beta", "gamma", "chi2", "poisson", "dirichlet", "multivariate_normal")
for _d in DISTRIBUTIONS:
    globals()[_d] = getattr(_stats, _d)
    sys.modules[f"{__name__}.{_d}"] = getattr(_stats, _d)
__path__: list = []  # a package: its distributions import as submodules
__all__ = list(DISTRIBUTIONS)
