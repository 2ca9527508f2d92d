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


def user_frame_description() -> str:
    """Return 'file:line: code' of the innermost frame outside npdiff and NumPy."""
    frame = sys._getframe(1)
    while frame is not None:
        fname = os.path.abspath(frame.f_code.co_filename)
        skip = fname.startswith(_PKG_DIR) or os.sep + "numpy" + os.sep in fname
        skip = skip or os.sep + "scipy" + os.sep in fname or fname.startswith("<frozen")
        if not skip:
            line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
            return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}: {line}"
        frame = frame.f_back
    return "<unknown location>"
