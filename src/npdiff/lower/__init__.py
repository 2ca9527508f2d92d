"""Lowerings: NumPy API functions as compositions of primitives, one module per family."""
from . import (  # noqa: F401  (every family registers its lowerings on import)
    contractions,
    creation,
    cumulative,
    elementwise,
    grids,
    index_tricks,
    indexing,
    joining,
    linalg,
    polynomial,
    random,
    reductions,
    scipy_linalg,
    shape,
    sorting,
    special,
    stats,
    stats_mv,
    ufunc_methods,
    ufuncs,
)
reductions.alias_list_patches()  # after every family registered its lowerings
