"""The primitive registry and its rule files (imported for registration)."""
from . import ops  # noqa: F401  (operators on nodes, used by the rules)
from . import registry, elementwise, shape, indexing, contract  # noqa: F401
from .registry import NOT_SCALAR, PRIMS, Primitive, apply, register, short_name  # noqa: F401
from . import special  # noqa: F401  (scipy.special, sort/argsort/searchsorted, cumprod)
from . import linalg  # noqa: F401  (numpy.linalg / scipy.linalg)
from . import cholesky  # noqa: F401  (solves and log-diagonals through a Cholesky factor)
from . import scipy_linalg  # noqa: F401  (scipy.linalg: solve_sylvester, sqrtm, solve_banded)
from . import custom, sparse  # noqa: F401  (custom_jvp/custom_vjp outputs, to_csr)
from . import random  # noqa: F401  (random draws)
from . import dynamic  # noqa: F401  (slices with a run-time start)
from . import special_hyper  # noqa: F401  (zeta, hyp1f1, hyp2f1, wright_bessel)
from . import stats  # noqa: F401  (no_derivative: arguments scipy.stats is not differentiated in)
from . import fft  # noqa: F401  (numpy.fft: fft, rfft, irfft)
from . import solvers  # noqa: F401  (solver_call: SciPy solvers, ODEs and quadrature at run time)
from . import loops  # noqa: F401  (rolled Python loops: loop_scan and its reverse sweep)
