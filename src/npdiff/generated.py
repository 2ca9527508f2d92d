"""GeneratedFunction: a callable compiled from generated NumPy source."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import path_changed


def _bad_shape(name, expected, received):
    raise ValueError(f"argument {name!r} has shape {tuple(received)}, expected shape {tuple(expected)}")


def _namespace(consts: dict, source: str = "") -> dict:
    ns: dict[str, Any] = {"np": np, "math": math, "_bad_shape": _bad_shape, "_path_changed": path_changed}
    try:  # scipy is optional; generated code that needs it finds it here
        import scipy
        import scipy.special  # noqa: F401
        if "scipy.sparse" in source:
            import scipy.sparse  # noqa: F401
        ns["scipy"] = scipy
    except ImportError:
        pass
    ns.update(consts)
    return ns


class GeneratedFunction:
    """A function built from generated plain NumPy source.

    Attributes: ``source`` (the Python source), ``arg_shapes``, ``arg_dtypes``.
    Pickles by its source and constants, so it runs in processes where the
    original Python function cannot be imported.
    """

    def __init__(self, source: str, name: str, consts: dict, arg_shapes, arg_dtypes, arg_names=None):
        self.source = source
        self.__name__ = name
        self.consts = consts
        self.arg_shapes = tuple(tuple(s) for s in arg_shapes)
        self.arg_dtypes = tuple(np.dtype(d) for d in arg_dtypes)
        self.arg_names = tuple(arg_names or ())
        ns = _namespace(consts, source)
        exec(compile(source, f"<npdiff:{name}>", "exec"), ns)
        self._fn = ns[name]
        # tracing a generated function (to differentiate it again) uses the array version
        self._trace_target = ns.get(f"_{name}_array", self._fn)
        self.__doc__ = self._fn.__doc__

    def __call__(self, *args):
        if len(args) != len(self.arg_shapes):
            raise TypeError(f"{self.__name__}() takes {len(self.arg_shapes)} arguments, got {len(args)}")
        return self._fn(*args)

    @property
    def guarded(self) -> bool:
        """True if the code checks value-dependent decisions (raising PathChangedError on another path)."""
        return "_path_changed(" in self.source

    def __reduce__(self):
        return (GeneratedFunction, (self.source, self.__name__, self.consts, self.arg_shapes,
                                    self.arg_dtypes, self.arg_names))

    def __repr__(self):
        shapes = ", ".join(f"{n}{s}" for n, s in zip(self.arg_names or [""] * 9, self.arg_shapes))
        return f"<GeneratedFunction {self.__name__}({shapes})>"
