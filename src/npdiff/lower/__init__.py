"""Lowerings: NumPy API functions as compositions of primitives."""
from . import api, creation, indexing  # noqa: F401
from . import special, more_numpy  # noqa: F401,E402
from . import linalg  # noqa: F401,E402  (numpy.linalg, scipy.linalg)
from . import random, index_tricks  # noqa: F401,E402  (np.random draws, np.r_ / np.c_)
