"""Exceptions raised by npdiff."""
from __future__ import annotations

import linecache
import os
import sys

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


class TracingError(Exception):
    """A traced value was used where a concrete Python value is needed."""


class UnsupportedOperationError(NotImplementedError):
    """An operation npdiff has no rule for."""


class PathChangedError(Exception):
    """The arguments take a path through the function that this generated code does not cover.

    Raised by a GeneratedFunction that cannot re-trace (``specialize(*example_arrays)``,
    unpickled, exported) when a guarded decision (``if x[0] > 0:``...) goes the
    other way; a subclass of ``Exception`` only (not ``ValueError``).
    """


class PathChurnWarning(RuntimeWarning):
    """A lazy operator keeps tracing new paths: more than ``npdiff.config.max_paths`` for one argument shape."""


def path_changed(where: str):
    """Raise PathChangedError for the guard at ``where`` (called by generated code)."""
    raise PathChangedError(
        f"these arguments take another path through the function than the one this code was generated "
        f"for: the decision at {where} goes the other way. Call the npdiff operator itself (it traces "
        f"and caches each new path), specialize(*example_arrays) with arrays on that path, or select "
        f"values with np.where(cond, a, b) so one code path covers every input.")


def _user_frame():
    frame = sys._getframe(2)
    while frame is not None:
        fname = os.path.abspath(frame.f_code.co_filename)
        skip = fname.startswith(_PKG_DIR) or os.sep + "numpy" + os.sep in fname
        skip = skip or os.sep + "scipy" + os.sep in fname or fname.startswith("<frozen")
        skip = skip or frame.f_code.co_filename.startswith("<npdiff:")  # generated code being traced
        if not skip:
            return frame
        frame = frame.f_back
    return None


def user_frame_description() -> str:
    """Return 'file:line in func: code' of the innermost frame outside npdiff and NumPy."""
    frame = _user_frame()
    if frame is None:
        return "<unknown location>"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}: {line}"


def user_line_short() -> str:
    """Return 'code  (file.py:line)' of the innermost frame outside npdiff and NumPy."""
    frame = _user_frame()
    if frame is None:
        return "<unknown location>"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    where = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
    return f"{line}  ({where})" if line else where
