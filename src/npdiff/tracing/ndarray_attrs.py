"""What a traced array answers where user code expects an ndarray: its class and memory attributes.

``class_seen_by_caller`` is the ``__class__`` of a Tracer: ``np.ndarray`` when read
from user code, so ``isinstance(t, np.ndarray)`` is True there, and the Tracer's own
class when read from NumPy, SciPy, npdiff or generated code (whose Python-level
checks expect concrete memory behind an ndarray). ``isinstance`` consults
``__class__`` only when the real type does not match, so ``isinstance(t, Tracer)``
and ``type(t)`` are unchanged everywhere. The answer is cached per code object.
"""
from __future__ import annotations

import sys
import weakref

import numpy as np

_getframe = sys._getframe
_SEEN_BY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # code object -> class it sees
_LIBRARIES = ("numpy", "npdiff", "scipy")


def class_seen_by_caller(self) -> type:
    """Return np.ndarray for a caller in user code, type(self) for library and generated code."""
    code = _getframe(1).f_code
    cls = _SEEN_BY.get(code)
    if cls is None:
        g = _getframe(1).f_globals.get("__name__")
        library = not isinstance(g, str) or (g.startswith(_LIBRARIES) and not g.startswith("npdiff.tests"))
        cls = _SEEN_BY[code] = type(self) if library else np.ndarray
    return cls


def c_strides(shape, itemsize) -> tuple:
    """Return the strides of a C-contiguous array of this shape and item size."""
    out, step = [], itemsize
    for n in reversed(shape):
        out.append(step)
        step *= n
    return tuple(reversed(out))


class Flags:
    """The ``flags`` of a traced array: a fresh C-contiguous, aligned, writeable array's."""

    c_contiguous = contiguous = aligned = writeable = owndata = True
    f_contiguous = fortran = writebackifcopy = False
    _NAMES = {"C_CONTIGUOUS": "c_contiguous", "C": "c_contiguous", "CONTIGUOUS": "c_contiguous",
              "F_CONTIGUOUS": "f_contiguous", "F": "f_contiguous", "FORTRAN": "f_contiguous",
              "ALIGNED": "aligned", "A": "aligned", "WRITEABLE": "writeable", "W": "writeable",
              "OWNDATA": "owndata", "O": "owndata", "WRITEBACKIFCOPY": "writebackifcopy", "X": "writebackifcopy"}

    def __getitem__(self, key):
        return getattr(self, self._NAMES[str(key).upper()])

    def __repr__(self):
        return "  C_CONTIGUOUS : True\n  F_CONTIGUOUS : False\n  OWNDATA : True\n  WRITEABLE : True"


FLAGS = Flags()
