"""The paths of one lazy operator for one argument key: one GeneratedFunction per path taken.

A function that branches on values gets one GeneratedFunction per path (each
checks its decisions and raises PathChangedError on another path); a path
whose trace read state that has changed since (``api/state.py``) is dropped.
"""
from __future__ import annotations

import inspect
import re
import threading
import warnings
from collections.abc import Callable

import numpy as np

from .. import config
from ..emit.generated import GeneratedFunction
from ..emit.writer import WRONG_PATH
from ..errors import PathChangedError, PathChurnWarning, TracingError


class Paths:
    """The generated code of one operator for one argument key: one GeneratedFunction per path.

    ``make(values)`` traces the function with these argument values and returns
    the GeneratedFunction of the path they take (its guards raise
    PathChangedError on other paths). The paths are kept most recently used
    first; past ``config.max_paths`` the least recently used is dropped.
    Thread-safe: the tuple of paths is replaced, never mutated, and new paths
    are traced under a lock.
    """

    __slots__ = ("make", "label", "gfs", "lock", "warned")

    def __init__(self, make: Callable, label: str):
        self.make, self.label = make, label
        self.gfs: tuple = ()
        self.lock = threading.RLock()
        self.warned = False

    def call(self, args, skip=None, make=None):
        """Return (GeneratedFunction used, its result) for these arguments, tracing a new path if needed.

        ``make`` (values -> GeneratedFunction) replaces the tracer given at construction (operators that
        share these paths pass their own, so the shared paths keep no operator alive).
        """
        self.drop_stale()
        for gf in self.gfs:
            if gf is not skip:
                out = gf.attempt(*args)
                if out is WRONG_PATH:
                    continue
                self.touch(gf)
                return gf, out
        gf = self.find_or_add(args, skip, make)
        try:
            return gf, gf(*args)
        except PathChangedError as e:
            raise TracingError(
                f"{self.label}: the code traced for these arguments does not accept them: a decision "
                f"on a value is too close to call (the traced and generated arithmetic differ in the "
                f"last bit).\n{e}") from None

    def touch(self, gf: GeneratedFunction) -> None:
        """Make gf the most recently used path."""
        gfs = self.gfs
        if gfs and gfs[0] is not gf:
            self.gfs = (gf,) + tuple(g for g in gfs if g is not gf)

    def drop_stale(self) -> None:
        """Forget the paths traced under state (globals, closures, attributes) that has changed since."""
        if any(gf._state is not None and not gf._state() for gf in self.gfs):
            with self.lock:
                self.gfs = tuple(gf for gf in self.gfs if gf._state is None or gf._state())

    def find_or_add(self, args, skip=None, make=None) -> GeneratedFunction:
        """Return the path for these argument values (traced, checked and cached if new)."""
        self.drop_stale()
        with self.lock:
            for gf in self.gfs:  # another thread may have added it meanwhile
                if gf is not skip and _accepts(gf, args):
                    return gf
            gf = (make or self.make)([np.asarray(a) for a in args])
            keep = max(int(config.max_paths), 1)
            if len(self.gfs) >= keep:
                self._churned(gf, self.gfs[keep - 1:], keep)
            self.gfs = (gf,) + self.gfs[:keep - 1]
            return gf

    def _churned(self, new: GeneratedFunction, dropped: tuple, keep: int) -> None:
        """Warn once that paths are being dropped, naming the decisions where the new path differs."""
        if self.warned:
            return
        self.warned = True
        old = set(_guard_lines(dropped[0], None))
        changed = list(dict.fromkeys(g for g in _guard_lines(new, None) if g not in old))[:8] \
            or list(dict.fromkeys(_guard_lines(new, None)))[:8]
        warnings.warn(
            f"{self.label}: more than {keep} different paths through the function for arguments of these "
            f"shapes (npdiff.config.max_paths); the least recently used is dropped and traced again when "
            f"it returns, so calls keep tracing new code. Write the value-dependent branches with "
            f"np.where(cond, a, b) (or np.maximum/np.clip), or bound the loop count, so one code path "
            f"covers the inputs; or raise npdiff.config.max_paths. The decisions that keep changing:\n  "
            + "\n  ".join(changed), PathChurnWarning, stacklevel=_user_stacklevel())


def stale(gf: GeneratedFunction) -> bool:
    """Return True if state the trace of gf read (globals, closures, attributes) has changed since."""
    return gf._state is not None and not gf._state()


def _accepts(gf: GeneratedFunction, args) -> bool:
    if not gf.guarded:  # one path covers every input
        return True
    return gf.attempt(*args) is not WRONG_PATH


def _user_stacklevel() -> int:
    """Return the warnings stacklevel of the first frame outside npdiff (the user's call)."""
    root = __file__.rsplit("api", 1)[0]
    frame, level = inspect.currentframe(), 1
    while frame is not None and frame.f_code.co_filename.startswith(root):
        frame, level = frame.f_back, level + 1
    return level - 1


def _guard_lines(gf: GeneratedFunction, most: int | None = 8) -> list[str]:
    """Return the guard lines (decisions) of a path's source."""
    found = re.findall(r"_path_changed\((.*)\)\s*$", gf.source, flags=re.M)
    return found[:most] if most is not None else found
