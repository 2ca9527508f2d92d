"""autograd.scipy.misc: ``logsumexp`` (SciPy's ``scipy.special.logsumexp``)."""
from scipy.special import logsumexp

__all__ = ["logsumexp"]
