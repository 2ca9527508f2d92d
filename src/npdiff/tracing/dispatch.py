"""Dispatch tables of the tracer and the keyword-argument contract of lowerings.

``UFUNCS``, ``FUNCTIONS`` and ``METHODS`` map NumPy ufuncs, API functions and
ndarray method names to their lowerings (filled by ``lower/``); ``implements``
and ``declare`` register a lowering with the optional parameters it honours, and
``check_keywords`` refuses, naming it, any other parameter set away from its
default. ``trace`` re-exports all of this.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..errors import UnsupportedOperationError, user_frame_description

UFUNCS: dict = {}  # np.ufunc -> lowering function
FUNCTIONS: dict = {}  # NumPy API function -> lowering function
METHODS: dict = {}  # ndarray method name -> lowering function


def implements(*funcs, honours=None):
    """Register a lowering for NumPy API functions (skipping absent names).

    ``honours`` names the optional parameters the lowering implements exactly;
    the dispatcher refuses a call that gives any other optional parameter a
    value other than its default (see ``check_keywords``). Every lowering
    with optional parameters declares it (``honours=()`` if it honours none).
    """
    def deco(fn):
        if honours is not None:
            declare(fn, honours)
        for f in funcs:
            if f is not None:
                FUNCTIONS[f] = fn
        return fn
    return deco


def declare(fn, honours=()):
    """Return fn marked as honouring the optional parameters named in ``honours`` (``fn.npdiff_honours``)."""
    old = tuple(getattr(fn, "npdiff_honours", ()))
    fn.npdiff_honours = old + tuple(h for h in honours if h not in old)
    return fn


# Defaults of the keyword arguments every ufunc call accepts (``out`` is handled separately).
UFUNC_DEFAULTS = {"where": True, "casting": "same_kind", "order": "K", "dtype": None, "subok": True,
                  "signature": None, "axes": None, "axis": None, "keepdims": False, "initial": np._NoValue}
_SIGNATURES: dict = {}  # lowering -> inspect.Signature (None if it has none)
_NP_DEFAULTS: dict = {}  # NumPy function -> {parameter: default}
_SIMPLE = (bool, int, float, complex, str, type(None), np.generic)


def _signature(fn):
    try:
        return _SIGNATURES[fn]
    except KeyError:
        pass
    except TypeError:  # unhashable callable
        return None
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    _SIGNATURES[fn] = sig
    return sig


def _at_default(value, default) -> bool:
    """Return True if an argument value is its parameter's default (identical, or an equal plain scalar)."""
    if value is default or value is np._NoValue:  # NumPy's own "argument not given"
        return True
    if default is inspect.Parameter.empty or not isinstance(value, _SIMPLE) or not isinstance(default, _SIMPLE):
        return False
    if (value is None) != (default is None) or isinstance(value, str) != isinstance(default, str):
        return False
    try:
        return bool(value == default)
    except Exception:  # noqa: BLE001 - an exotic __eq__ is not a default
        return False


_PLAIN: dict = {}  # id(signature) -> result of _plain_positional (signatures live in _SIGNATURES)


def _plain_positional(sig) -> float:
    """Return how many leading positional arguments bind to parameters without defaults (inf through *args)."""
    n = _PLAIN.get(id(sig))
    if n is None:
        n = 0
        for p in sig.parameters.values():
            if p.kind is p.VAR_POSITIONAL:
                n = float("inf")
                break
            if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) or p.default is not p.empty:
                break
            n += 1
        _PLAIN[id(sig)] = n
    return n


def check_keywords(fn, args, kwargs, what: str, defaults: dict | None = None) -> dict:
    """Return the keyword arguments to pass to lowering fn, refusing any optional parameter it does not honour.

    Every argument bound (by position or keyword) to a parameter of fn with a
    default, or caught by fn's ``**kwargs``, must be named in
    ``fn.npdiff_honours`` or equal its default. A keyword fn does not accept
    at all is dropped when it equals its NumPy default (``defaults``) and
    refused otherwise. Positional data (``*args``) is never checked.
    """
    honours = getattr(fn, "npdiff_honours", None)
    sig = _signature(fn)
    if sig is None or getattr(fn, "npdiff_refuses", False):
        return kwargs
    params = sig.parameters
    if not kwargs and len(args) <= _plain_positional(sig):
        return kwargs  # fast path: only required positional parameters (or *args) are bound
    if honours is None:  # undeclared: only a lowering without optional parameters (or creation.py's) may be
        if any(p.default is not p.empty or p.kind is p.VAR_KEYWORD for p in params.values()):
            return kwargs
        honours = ()
    defaults = defaults or {}
    if kwargs and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        extra = [k for k in kwargs if k not in params]
        for k in extra:
            if not _at_default(kwargs[k], defaults.get(k, inspect.Parameter.empty)):
                _refuse_keyword(k, what)
        if extra:
            kwargs = {k: v for k, v in kwargs.items() if k in params}
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return kwargs  # let the call raise NumPy's own TypeError
    for name, value in bound.arguments.items():
        p = params[name]
        if p.kind is p.VAR_POSITIONAL or name in honours:
            continue
        if p.kind is p.VAR_KEYWORD:
            for k, v in value.items():
                if k not in honours and not _at_default(v, defaults.get(k, inspect.Parameter.empty)):
                    _refuse_keyword(k, what)
        elif p.default is not p.empty and not _at_default(value, p.default):
            _refuse_keyword(name, what)
    return kwargs


def numpy_defaults(func) -> dict:
    """Return {parameter: default} of a NumPy/SciPy function's own signature ({} if it has none)."""
    try:
        return _NP_DEFAULTS[func]
    except KeyError:
        pass
    try:
        out = {k: p.default for k, p in inspect.signature(func).parameters.items() if p.default is not p.empty}
    except (TypeError, ValueError):
        out = {}
    _NP_DEFAULTS[func] = out
    return out


def _refuse_keyword(name, what):
    raise UnsupportedOperationError(
        f"npdiff does not support the argument {name}= of {what} (at {user_frame_description()}); "
        f"leave it at its default or compute the result another way")


def refuses(fn):
    """Mark a lowering that only raises a helpful error (it is not listed as supported)."""
    fn.npdiff_refuses = True
    return fn


# -- the one table of ndarray's public methods and properties -----------------------------------
# How a traced array (a Tracer, or a trace buffer holding traced values) answers each public name of
# np.ndarray. trace.py builds the Tracer's methods and buffer.py the trace buffer's from this table, so the
# two never drift; tests/test_ndarray_methods.py walks dir(np.ndarray) and fails on a name missing here.
#   "method":   METHODS[name] (a lowering; its keyword contract is checked)
#   "inplace":  METHODS[name] replaces the array's value (sort, partition, fill)
#   "concrete": answered from the traced values, recording a guard (item, tolist)
#   "property": METHODS[name](self) (T, mT, real, imag)
#   "meta":     metadata the Tracer answers as a fresh C-contiguous ndarray of its shape would (shape, dtype,
#               itemsize, strides, flags, base None...; tracing/ndarray_attrs.py)
#   str:        refused by name with this reason (UnsupportedOperationError)
_MEMORY = "reads or writes the array's raw memory, which a traced array does not have"
NDARRAY_TABLE: dict[str, str] = {
    **{name: "method" for name in (
        "all", "any", "argmax", "argmin", "argpartition", "argsort", "astype", "clip", "compress", "conj",
        "conjugate", "copy", "cumprod", "cumsum", "diagonal", "dot", "flatten", "max", "mean", "min", "prod",
        "ravel", "repeat", "reshape", "round", "searchsorted", "squeeze", "std", "sum", "swapaxes", "take",
        "trace", "transpose", "var", "nonzero")},
    **{name: "inplace" for name in ("sort", "partition", "fill")},
    "item": "concrete", "tolist": "concrete",
    **{name: "property" for name in ("T", "mT", "real", "imag", "flat")},  # flat: lower/views.py
    **{name: "meta" for name in ("shape", "dtype", "ndim", "size", "itemsize", "nbytes", "device", "strides",
                                 "flags", "base")},
    "byteswap": _MEMORY, "ctypes": _MEMORY, "data": _MEMORY, "getfield": _MEMORY, "setfield": _MEMORY,
    "tobytes": _MEMORY, "tofile": _MEMORY, "view": _MEMORY, "setflags": _MEMORY, "dump": "pickles the values, which are not known while tracing",
    "dumps": "pickles the values, which are not known while tracing",
    "choose": "no derivative rule; use np.choose or np.select on the traced values",
    "put": "writes in place through flat indices; use x[np.unravel_index(ind, x.shape)] = v",
    "resize": "changes the array's size in place; use np.resize(x, shape) or np.reshape",
    "to_device": "npdiff traces on the CPU only; leave the array where it is",
}
METHOD_KINDS = ("method", "inplace", "concrete", "property", "meta")
# A trace buffer is a real ndarray and answers these itself (its memory is read-only once it holds traced
# values, which its flags say; SciPy's array-API helpers read them).
BUFFER_OWN = ("flags", "strides", "base")


def refusal(name: str) -> str:
    """Return the message refusing ndarray attribute ``name`` on a traced array."""
    return (f"npdiff does not support ndarray.{name} on a traced array: {NDARRAY_TABLE[name]} "
            f"(at {user_frame_description()})")
