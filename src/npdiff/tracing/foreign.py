"""Traced values reaching code that cannot trace them: compiled extensions (Cython, f2py/BLAS,
C), or Python libraries that convert their arguments to concrete arrays.

Such a call fails inside the library (``TypeError: Cannot convert Tracer to numpy.ndarray``, an
``AttributeError`` on the Tracer, or the conversion refused by ``Tracer.__array__``). These helpers
find the user's call that handed the traced value over (the innermost frame outside npdiff, NumPy and
SciPy, and the call expression it was executing, from the code object's column positions) so the
``TracingError`` names the callable.
"""
from __future__ import annotations

import dis
import linecache
import types

from ..errors import _PKG_DIR, TracingError

_ADVICE = ("npdiff treats the result of such a call as a constant only if it does not depend on traced values: "
           "compute its arguments from constants, or write the computation with NumPy functions on the traced "
           "arrays (or wrap it with npdiff.custom_jvp / custom_vjp and give its derivative).")


def _is_library(frame) -> bool:
    """Return True for a frame of npdiff, NumPy or SciPy (by module name, as the interception decides)."""
    name = frame.f_globals.get("__name__", "") or ""
    if name.startswith(("numpy", "scipy")) or (name.startswith("npdiff") and not name.startswith("npdiff.tests")):
        return True
    return frame.f_code.co_filename.startswith(("<frozen", "<npdiff:"))


def _is_call(code: types.CodeType, lasti: int) -> bool:
    """Return True if the instruction at ``lasti`` calls something."""
    op = next((i for i in dis.get_instructions(code) if i.offset == lasti), None) if lasti >= 0 else None
    return op is not None and op.opname.startswith("CALL")


def _callee(code: types.CodeType, lasti: int) -> str | None:
    """Return the source text of the callable called by the instruction at ``lasti`` (None if not a call)."""
    if not _is_call(code, lasti) or not hasattr(code, "co_positions"):  # column positions: Python 3.11+
        return None
    pos = list(code.co_positions())[lasti // 2]
    if None in pos:
        return None
    line0, line1, col0, col1 = pos
    lines = [linecache.getline(code.co_filename, n) for n in range(line0, line1 + 1)]
    text = "".join(lines)
    text = text[col0: len(text) - len(lines[-1]) + col1] if lines else ""
    text = text.strip()
    if text.endswith(")"):  # drop the argument list: the callee is what precedes its opening parenthesis
        depth = 0
        for k in range(len(text) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(text[k], 0)
            if depth == 0:
                return text[:k].strip() or None
    return text or None


def _site(code: types.CodeType, lineno: int) -> str:
    line = linecache.getline(code.co_filename, lineno).strip()
    return f"{code.co_filename}:{lineno} in {code.co_name}: {line}"


def conversion_site() -> tuple[str | None, str]:
    """Return (callee text, 'file:line in func: code') of the user call being executed now."""
    import sys
    frame = sys._getframe(1)
    while frame is not None and _is_library(frame):
        frame = frame.f_back
    if frame is None:
        return None, "<unknown location>"
    return _callee(frame.f_code, frame.f_lasti), _site(frame.f_code, frame.f_lineno)


def compiled_call_error(exc: BaseException) -> TracingError | None:
    """Return the TracingError for a library's TypeError/AttributeError on a Tracer, or None."""
    if not isinstance(exc, (TypeError, AttributeError)) or "Tracer" not in str(exc):
        return None
    entries = []
    tb = exc.__traceback__
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    if not entries or entries[-1].tb_frame.f_code.co_filename.startswith(_PKG_DIR):
        return None  # raised by npdiff itself (its NumPy-compatible errors)
    user = [tb for tb in entries if not _is_library(tb.tb_frame)]
    if not user:
        return None
    at = user[-1]
    if not _is_call(at.tb_frame.f_code, at.tb_lasti):
        return None  # the user's own statement failed, not a call into a library
    inner = entries[-1].tb_frame.f_code
    inner_name = getattr(inner, "co_qualname", inner.co_name)
    callee = _callee(at.tb_frame.f_code, at.tb_lasti) or (inner_name if inner is not at.tb_frame.f_code else None)
    if callee is None:
        callee = "a compiled function"
    inside = "" if inner is at.tb_frame.f_code or inner_name == callee else f" (inside {inner_name})"
    return TracingError(
        f"{callee} received a traced array and cannot trace it{inside}: {type(exc).__name__}: {exc}.\n"
        f"  at {_site(at.tb_frame.f_code, at.tb_lineno)}\n"
        f"Compiled code (Cython, C extensions, scipy.linalg.blas, scipy.spatial.cKDTree) and libraries that convert "
        f"their arguments to concrete arrays cannot see npdiff's traced values. {_ADVICE}")


def conversion_error(generic: str, hint: str) -> TracingError:
    """Return the TracingError for a traced array converted to a concrete ndarray, naming the call."""
    callee, where = conversion_site()
    if callee is None:
        return TracingError(f"{generic}\n  at {where}\n{hint}")
    return TracingError(f"{callee} converted a traced array to a concrete NumPy array, which npdiff cannot "
                        f"trace (it is compiled code or a routine npdiff does not intercept).\n  at {where}\n"
                        f"{_ADVICE}")
