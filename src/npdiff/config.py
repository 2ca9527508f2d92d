"""Run-time settings of npdiff: plain module attributes, read when they are needed.

``npdiff.config.max_paths`` (default 64): how many paths through a function
(see guards: ``if x[0] > 0:`` on a traced value) a lazy operator keeps per
argument shapes and dtypes. Beyond it the least recently used path is dropped
(and traced again if it comes back), with one ``PathChurnWarning`` naming the
decisions that keep changing.

``npdiff.config.ode_adjoint_min_params`` (default 128): reverse mode through
``scipy.integrate.solve_ivp`` / ``odeint`` with at least this many parameters
(the traced values the right-hand side reads, plus the initial state) uses the
adjoint method (one backward solve) instead of forward sensitivities (one
augmented solve of ``n (1 + P)`` states). Read when the ODE call is traced.

``npdiff.config.self_check`` (default True; the environment variable
``NPDIFF_SELF_CHECK=0`` sets it False at import): when a lazy operator traces a
new path, run the plain function on the plain arguments and compare its value,
and a central difference along a random direction, with the trace's
(``api/selfcheck.py``; docs/state-and-self-checks.md). Read on each new path.

``npdiff.config.auto_numba_seconds`` (default 1.0) and
``npdiff.config.auto_numba_min_size`` (default 65536): with
``backend="auto"``, a specialisation with an argument of at least
``auto_numba_min_size`` elements moves to the numba backend (where numba is
installed) once its calls have spent ``auto_numba_seconds`` in NumPy code.

``npdiff.config.roll_loops`` (default True; ``NPDIFF_ROLL_LOOPS=0`` sets it
False at import): a gradient (``grad``, ``value_and_grad``) of a function whose
Python loop repeats the same body many times is generated with that body once,
as a ``for`` loop and its reverse sweep (``transforms/loops.py``), on the NumPy
backend; False unrolls every loop into straight-line code. Read on each new path.

``npdiff.config.block_min_size`` (default 65536) and ``npdiff.config.block_size``
(default 16384): the NumPy backend runs a chain of elementwise operations on
arrays of at least ``block_min_size`` elements (with the full reductions and
slice scatters of its values) block by block, ``block_size`` elements at a time
(whole rows for arrays of two or more dimensions), so that its temporaries stay
in cache (``emit/blocked.py``). Read when code is generated: a specialisation
keeps the code it was generated with. ``block_min_size = 0`` turns blocking off.
"""
from __future__ import annotations

import os

max_paths: int = 64
ode_adjoint_min_params: int = 128
self_check: bool = os.environ.get("NPDIFF_SELF_CHECK", "1").strip().lower() not in ("0", "false", "no", "off")
auto_numba_seconds: float = 1.0
auto_numba_min_size: int = 1 << 16
roll_loops: bool = os.environ.get("NPDIFF_ROLL_LOOPS", "1").strip().lower() not in ("0", "false", "no", "off")
block_min_size: int = 1 << 16
block_size: int = 1 << 14
