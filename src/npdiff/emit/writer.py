"""ModuleWriter: the one builder of the Python source npdiff generates.

Every generated module or function (``GeneratedFunction`` via ``emit``, the
traced adjoint of ``transform``, ``export``, the command line's ``-o``) is
assembled here, so they share

- the imports: recorded while statements are added (``statements``), never
  found by scanning the finished text;
- one constants policy (``constant``): an array of at most ``LITERAL_MAX``
  elements (or a weak Python scalar) is printed as a literal; a larger one is
  *stored*: bound by name and pickled with a GeneratedFunction, or saved to an
  ``.npz`` file beside a module written to disk (``npz_prelude`` loads it);
- one shape-check prelude (``_bad_shape`` and ``arg_checks``).
"""
from __future__ import annotations

import importlib
import math
import os
import re

import numpy as np

from ..errors import path_changed
from ..primitives.helpers import dtype_name

__all__ = ["LITERAL_MAX", "PATH_CHANGED_PRELUDE", "SHAPE_PRELUDE", "TEXT_MAX", "ModuleWriter", "array_source", "bad_shape", "literal",
           "namespace", "npz_path", "npz_prelude"]

LITERAL_MAX = 16  # constants with at most this many elements are printed; larger ones are stored
TEXT_MAX = 10_000  # source returned as text only (no file to store beside) prints stored constants up to this

SHAPE_PRELUDE = '''def _bad_shape(name, expected, received):
    raise ValueError(f"argument {name!r} has shape {tuple(received)}, expected shape {tuple(expected)}")'''
_ns: dict = {}
exec(SHAPE_PRELUDE, _ns)  # the same definition runs in GeneratedFunctions and is printed into modules
bad_shape = _ns["_bad_shape"]
bad_shape.__module__ = __name__

PATH_CHANGED_PRELUDE = '''try:  # the same exception class as npdiff's when npdiff is installed
    from npdiff import PathChangedError
except ImportError:
    class PathChangedError(Exception):
        """The arguments take a path through the function that this code does not cover."""


def _path_changed(where):
    raise PathChangedError(f"these arguments take another path through the function than the one this "
                           f"code was generated for: the decision at {where} goes the other way")'''

XP_PRELUDE = '''def _xp_namespace(*args):
    """Return (xp, device, args): the namespace and device of the array arguments, NumPy arrays among
    arrays of another library converted into that library (as NumPy itself defers to Dask)."""
    arrays = [a for a in args if hasattr(a, "shape")]
    others = [a for a in arrays if not isinstance(a, (np.ndarray, np.generic))]
    ref = others or arrays or [np.empty(0)]
    xp, dev = array_api_compat.array_namespace(*ref), array_api_compat.device(ref[0])
    if others and len(others) < len(arrays):
        args = tuple(xp.asarray(a, device=dev) if isinstance(a, (np.ndarray, np.generic)) else a for a in args)
    return xp, dev, args'''

# modules generated statements may name, as they are written in the source
_MODULE_REF = re.compile(r"(?<![\w.])(math|os|npdiff\.primitives\.solvers|scipy(?:\.[a-z]\w*)?)\.")


def _float_source(value: float) -> str:
    if math.isfinite(value):
        return repr(value)
    return "np.inf" if value > 0 else "-np.inf" if value < 0 else "np.nan"


def literal(value) -> str | None:
    """Return Python source for a weak scalar constant, or None."""
    if isinstance(value, (bool, int)):
        return repr(value)
    if isinstance(value, float):
        return _float_source(value)
    if isinstance(value, complex):
        # a Python complex stays weak (float32 * 1j is complex64, as while tracing); signed zeros,
        # infinities and nans exactly (repr gives "infj", "nan+1j": not Python source)
        parts = (value.real, value.imag)
        if any(not math.isfinite(v) or (v == 0.0 and math.copysign(1.0, v) < 0) for v in parts):
            return f"complex({_float_source(value.real)}, {_float_source(value.imag)})"
        return repr(value)
    return None


def array_source(arr: np.ndarray) -> str:
    """Return a NumPy expression that rebuilds arr (its dtype included)."""
    if arr.ndim == 0:
        v = arr.item()
        if arr.dtype == np.bool_:
            return f"np.bool_({v})"
        return f"np.{dtype_name(arr.dtype)}({literal(v) if literal(v) else repr(v)})"
    if arr.size == 0:  # a nested empty list loses the shape ([] is (0,), never (0, 1))
        return f"np.empty({arr.shape}, dtype=np.{dtype_name(arr.dtype)})"
    if arr.dtype.kind == "c":  # element by element: repr of a complex inf / nan is not Python source
        body = "[" + ", ".join(literal(complex(v)) for v in arr.ravel().tolist()) + "]"
        return f"np.array({body}, dtype=np.{dtype_name(arr.dtype)}).reshape({arr.shape})"
    body = repr(arr.tolist()).replace("inf", "np.inf").replace("nan", "np.nan")
    return f"np.array({body}, dtype=np.{dtype_name(arr.dtype)})"


def printable(arr: np.ndarray, limit: int = LITERAL_MAX) -> bool:
    """Return True if arr may be printed as a literal (numeric and at most ``limit`` elements)."""
    return arr.size <= limit and arr.dtype.kind in "biufc"


def arg_checks(p: str, shape: tuple) -> list[str]:
    """Return the statements converting argument p to an array and checking its shape."""
    return [f"if {p}.__class__ is not np.ndarray: {p} = np.asarray({p})",
            f"if {p}.shape != {tuple(shape)}: _bad_shape({p!r}, {tuple(shape)}, {p}.shape)"]


def npz_prelude(npz_path: str, var: str = "_consts") -> str:
    """Return module source loading the .npz beside the module (by its basename) into dict ``var``."""
    base = os.path.basename(os.fspath(npz_path))
    return (f"with np.load(os.path.join(os.path.dirname(os.path.abspath(__file__)), {base!r})) as _npz:\n"
            f"    {var} = {{k: _npz[k] for k in _npz.files}}")


def npz_path(module_path) -> str:
    """Return the path of the .npz stored beside the module at module_path."""
    return os.path.splitext(os.fspath(module_path))[0] + ".npz"


class _WrongPath:
    """The type of ``WRONG_PATH``."""

    def __repr__(self) -> str:
        return "WRONG_PATH"


WRONG_PATH = _WrongPath()  # what a path's selection version returns for arguments taking another path


def namespace(modules, consts: dict | None = None) -> dict:
    """Return the globals a generated function runs in: its modules, ``_bad_shape`` and its constants."""
    ns: dict = {"np": np, "math": math, "_bad_shape": bad_shape, "_path_changed": path_changed,
                "_WRONG_PATH": WRONG_PATH}
    for mod in modules:
        if mod.startswith("scipy"):
            try:  # scipy is optional; code that needs it fails when it runs, not when it is loaded
                importlib.import_module(mod)
                ns["scipy"] = importlib.import_module("scipy")
            except ImportError:
                pass
        elif mod != "numpy":
            ns[mod.split(".")[0]] = importlib.import_module(mod.split(".")[0])
    if "array_api_compat" in modules:
        exec(XP_PRELUDE, ns)  # noqa: S102 - our own helper, run in the generated code's globals
    ns.update(consts or {})
    return ns


class ModuleWriter:
    """Collects the imports, constants and preludes of one generated module."""

    def __init__(self):
        self.modules: set[str] = {"numpy"}
        self.header: list[str] = []  # module-level definitions of printed constants
        self.consts: dict[str, np.ndarray] = {}  # stored constants, by the name the source uses
        self.checks = False  # whether the source calls _bad_shape

    # -- recording -----------------------------------------------------------------
    def use(self, *modules: str) -> None:
        """Record that the source imports these modules (``"os"``, ``"scipy.special"``...)."""
        self.modules.update(modules)

    def statements(self, lines: list[str]) -> list[str]:
        """Record the modules these statements name; return them unchanged."""
        for line in lines:
            if "." in line:
                self.modules.update(m for m in _MODULE_REF.findall(line))
        return lines

    def constant(self, name: str, value) -> None:
        """Define constant ``name``: printed in the header if small, else stored."""
        arr = np.asarray(value)
        if arr.dtype == object and arr.ndim == 0:  # an object bound by name (a random Generator)
            self.consts[name] = arr[()]
        elif printable(arr):
            self.header.append(f"{name} = {array_source(arr)}")
        else:
            self.consts[name] = arr

    def arg_checks(self, p: str, shape: tuple) -> list[str]:
        """Return the argument conversion and shape check for parameter p (uses ``_bad_shape``)."""
        self.checks = True
        return arg_checks(p, shape)

    # -- output ----------------------------------------------------------------------
    def import_lines(self) -> list[str]:
        """Return the import statements for the recorded modules."""
        mods = set(self.modules)
        if any(m.startswith("scipy.") for m in mods):
            mods.discard("scipy")
        order = ["os", "math", "numpy", "numba"]
        lines = [("import numpy as np" if m == "numpy" else f"import {m}") for m in order if m in mods]
        return lines + [f"import {m}" for m in sorted(mods) if m not in order]  # scipy.*, array_api_compat

    def text_header(self, npz: str | None = None, limit: int = TEXT_MAX) -> list[str]:
        """Return header lines binding every constant for a module written as text.

        With ``npz`` (the path of the .npz beside the module) stored constants
        are saved there and loaded by the module; without it they are printed if
        they have at most ``limit`` elements, and a ValueError is raised otherwise.
        """
        lines = list(self.header)
        if not self.consts:
            return lines
        self._refuse_objects()
        if npz is None:
            big = {k: a for k, a in self.consts.items() if not printable(a, limit)}
            if big:
                sizes = ", ".join(f"{a.shape}" for a in big.values())
                raise ValueError(f"constant arrays too large to print into the source (shapes {sizes})")
            return lines + [f"{k} = {array_source(a)}" for k, a in self.consts.items()]
        return self.save(npz) + [f"{k} = _consts[{k!r}]" for k in self.consts] + lines

    def save(self, npz: str) -> list[str]:
        """Save the stored constants to ``npz``; return the prelude loading them into ``_consts``."""
        if not self.consts:
            return []
        self._refuse_objects()
        np.savez(npz, **self.consts)
        self.use("os")
        return [npz_prelude(npz)]

    def _refuse_objects(self) -> None:
        """Raise if a stored constant is an object (a random Generator) that no source file can hold."""
        for k, v in self.consts.items():
            if not isinstance(v, np.ndarray):
                raise ValueError(f"{type(v).__name__} objects (constant {k!r}) cannot be written into a "
                                 "standalone module; draw from np.random instead, or keep the GeneratedFunction "
                                 "(it pickles with the object)")

    def module(self, parts: list[str], doc: str | None = None, header: list[str] | None = None) -> str:
        """Return the text of a standalone module: docstring, imports, preludes, header, parts."""
        out = [doc] if doc else []
        out.append("\n".join(self.import_lines()))
        if self.checks:
            out.append(SHAPE_PRELUDE)
        if any("_path_changed(" in p for p in parts):  # guards (primitives/guard.py)
            out.append(PATH_CHANGED_PRELUDE)
        if any("_xp_namespace(" in p for p in parts):  # array-API code (emit_xp.py)
            out.append(XP_PRELUDE)
        if header:
            out.append("\n".join(header))
        out += [p.rstrip("\n") for p in parts]
        return "\n\n\n".join(out) + "\n"
