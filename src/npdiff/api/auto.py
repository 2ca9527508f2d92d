"""``backend="auto"``: NumPy code that moves to the numba backend once that repays its compilation.

A specialisation of an operator made with ``backend="auto"`` starts as the
default NumPy code. When numba is installed, the code has no value guards and
an argument has at least ``config.auto_numba_min_size`` elements, its calls
are timed; once they have spent ``config.auto_numba_seconds`` in NumPy code
(the rent-or-buy rule: at most about twice the best cost whatever the number
of calls), the numba version is generated and compiled during that call. Its
next ``AUTO_TRIAL_CALLS`` calls are timed too, and if they are not faster than
the NumPy calls the NumPy code is kept for good. ``LazyFunction.cache_info()``
reports the state per specialisation in ``backends``.
"""
from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable

from .. import config

AUTO_TRIAL_CALLS = 3  # numba calls timed after the switch, against the NumPy calls before it


def numba_available() -> bool:
    """Return True if numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


class AutoState:
    """Which code a specialisation runs, and the time its calls spent so far."""

    def __init__(self, numpy_fn: Callable, make_numba: Callable):
        self.numpy_fn, self.make_numba = numpy_fn, make_numba
        self.backend = "numpy (timing for numba)"
        self.spent, self.calls = 0.0, 0  # NumPy code: seconds and calls
        self.nb_spent, self.nb_calls = 0.0, 0  # numba code after the switch (trial)
        self.compile_s = 0.0
        self.fn: Callable | None = None  # the numba function once switched
        self.lock = threading.Lock()

    def __call__(self, *args):
        fn = self.fn
        if fn is None:
            t0 = time.perf_counter()
            out = self.numpy_fn(*args)
            self.spent += time.perf_counter() - t0
            self.calls += 1
            if self.spent >= config.auto_numba_seconds and self.lock.acquire(blocking=False):
                try:
                    self._switch(args)
                finally:
                    self.lock.release()
            return out
        if self.nb_calls >= AUTO_TRIAL_CALLS:
            return fn(*args)
        t0 = time.perf_counter()
        out = fn(*args)
        self.nb_spent += time.perf_counter() - t0
        self.nb_calls += 1
        if self.nb_calls == AUTO_TRIAL_CALLS and self.nb_spent / self.nb_calls >= self.spent / self.calls:
            self._settle("numpy (numba measured slower)")
        elif self.nb_calls == AUTO_TRIAL_CALLS:
            self.backend = "numba"
        return out

    def _switch(self, args) -> None:
        """Generate and compile the numba code (one call on these arguments), or settle on NumPy."""
        if self.fn is not None or self.make_numba is None:
            return
        t0 = time.perf_counter()
        try:
            gf = self.make_numba()
        except Exception:  # an operation the numba backend does not cover: keep the NumPy code
            gf = None
        if gf is None or "numba.njit" not in gf.source:
            self._settle("numpy (nothing to fuse)")
            return
        gf._fn(*args)  # compiles each kernel now (numba compiles on first call)
        self.compile_s = time.perf_counter() - t0
        self.backend = "numba (on trial)"
        self.fn = gf._fn

    def _settle(self, label: str) -> None:
        """Keep the NumPy code for good (no more timing)."""
        self.backend, self.make_numba = label, None
        self.fn = self.numpy_fn
        self.nb_calls = AUTO_TRIAL_CALLS


def make_auto(gf, make_numba: Callable, sizes) -> None:
    """Make gf (NumPy code) an auto specialisation in place when numba may repay itself; else leave it."""
    if gf.guarded or max(sizes, default=0) < config.auto_numba_min_size or not numba_available():
        gf.auto = None
        return
    state = AutoState(gf._fn, make_numba)
    gf.auto = state
    gf._fn = gf._try = state  # unguarded code: the path-selection entry is the function itself


def backend_of(gf) -> str:
    """Return which code a specialisation runs, for ``cache_info()``."""
    state = getattr(gf, "auto", None)
    if state is None:
        return "numba" if "numba" in gf.modules else "numpy"
    return state.backend
