"""Lowerings: NumPy API functions as compositions of primitives, one module per family."""
from . import ufuncs, reductions, contractions, shape, joining, cumulative, elementwise  # noqa: F401
from . import creation, indexing, sorting, polynomial, grids  # noqa: F401
from . import special  # noqa: F401  (scipy.special, scipy.stats)
from . import linalg  # noqa: F401  (numpy.linalg, scipy.linalg)
from . import random, index_tricks  # noqa: F401  (np.random draws, np.r_ / np.c_)
reductions.alias_list_patches()  # after every family registered its lowerings
