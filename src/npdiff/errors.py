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


# -- shape errors raised while tracing, in NumPy's words -------------------------------------------

SHAPE_ERRORS = (ValueError, IndexError, AssertionError)  # caught at the dispatch of a traced call
_VALUE_LINALG = ("singular", "positive definite", "converge")  # LinAlgErrors about values, not shapes


STAND_IN_MAX = 1 << 22  # elements: larger traced arguments keep npdiff's message (no NumPy re-run)


def _stand_in(x):
    """Return x with every traced array (list and tuple items included) replaced by zeros of its shape."""
    if hasattr(x, "node") and hasattr(x, "shape"):  # a Tracer (duck-typed: this module imports nothing)
        import numpy as np
        if x.size > STAND_IN_MAX:
            raise MemoryError
        return np.zeros(x.shape, x.dtype)
    if type(x) in (list, tuple):
        return type(x)(_stand_in(v) for v in x)
    if type(x) is dict:
        return {k: _stand_in(v) for k, v in x.items()}
    return x


def _numpy_error(call, args, kwargs):
    """Return the shape error NumPy raises for call on stand-ins of args, or None when it raises none."""
    import warnings

    import numpy as np
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call(*_stand_in(tuple(args)), **_stand_in(dict(kwargs)))
    except (ValueError, IndexError) as exc:
        if isinstance(exc, np.linalg.LinAlgError) and any(w in str(exc).lower() for w in _VALUE_LINALG):
            return None
        return exc
    except Exception:  # noqa: BLE001 - NumPy fails otherwise on stand-ins: keep npdiff's own message
        return None
    return None


def _shape_of(x) -> str | None:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return str(tuple(x.shape))
    if type(x) in (list, tuple) and x and any(hasattr(v, "shape") for v in x):
        return "[" + ", ".join(_shape_of(v) or "()" for v in x) + "]"
    return None


def shape_error(exc: BaseException, what: str, call, args, kwargs=None) -> BaseException:
    """Return the exception to raise for a shape error of a traced call: NumPy's own message for the same
    shapes (found by calling NumPy on zeros of the arguments' shapes), the call with the arguments' shapes,
    and the user's line. Returns exc itself when it is not a shape error NumPy also raises."""
    exc = getattr(exc, "npdiff_raw", exc)  # an inner dispatch annotated it: the outer call names it again
    theirs = _numpy_error(call, args, kwargs or {}) if call is not None else None
    if theirs is None and isinstance(exc, AssertionError):
        return exc  # an internal check, not the user's shapes
    src = theirs if theirs is not None else exc
    shapes = [s for s in (_shape_of(a) for a in args) if s is not None]
    text = str(src).strip()
    if shapes:
        text += f"\n  in {what} with argument shape{'s' if len(shapes) > 1 else ''} {', '.join(shapes)}"
    text += "\n  at " + user_frame_description()
    try:
        new = type(src)(text)
    except TypeError:
        new = ValueError(text)
    new.npdiff_raw = exc
    return new


def current_opname() -> str | None:
    """Return the name of the bytecode instruction the innermost user frame is executing (None if unknown)."""
    import dis
    frame = _user_frame()
    if frame is None:
        return None
    for ins in dis.get_instructions(frame.f_code):
        if ins.offset == frame.f_lasti:
            return ins.opname
    return None


def plain_array_write_message() -> str:
    """Return the message refusing a traced value written into an ndarray npdiff does not follow."""
    return ("a traced value was written into an array npdiff does not follow (an array passed in, made by a "
            "library helper or by a NumPy function npdiff does not intercept), whose memory can only hold "
            "numbers.\n  at " + user_frame_description()
            + "\nCopy it first inside the traced function, where npdiff intercepts array creation, and write "
              "into the copy: A = np.array(A, dtype=float) (or start from np.zeros_like(A)).")
