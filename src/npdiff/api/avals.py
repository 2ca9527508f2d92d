"""Argument shapes and names: what an operator's arguments look like before code is generated.

``aval`` reads a shape spec or an example (a ShapeDtype, a shape tuple, an int, an array of any
library), ``arg_names`` and ``func_name`` name the generated function and its parameters.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..tracing.tracer import Tracer
from .argtrees import arg_leaf


class ShapeDtype(NamedTuple):
    """Shape and dtype of an argument, standing in for an example array."""

    shape: tuple
    dtype: Any = np.float64


def aval(spec) -> tuple[tuple, np.dtype]:
    """Return (shape, dtype) from a shape tuple, ShapeDtype, int, or example array."""
    if isinstance(spec, ShapeDtype):
        return tuple(int(s) for s in spec.shape), np.dtype(spec.dtype)
    if isinstance(spec, (tuple, list)) and all(isinstance(s, (int, np.integer)) for s in spec):
        return tuple(int(s) for s in spec), np.dtype(np.float64)
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        return (int(spec),), np.dtype(np.float64)
    if isinstance(spec, Tracer):
        return spec.shape, spec.dtype
    if not isinstance(spec, np.ndarray) and hasattr(spec, "shape") and hasattr(spec, "dtype"):
        return array_aval(spec)  # another library's array: never converted (a Dask array stays lazy)
    arr = np.asarray(spec)
    if arr.dtype == object:
        raise TypeError(f"cannot use {type(spec).__name__} as an argument shape or example array")
    return arr.shape, arr.dtype


def array_aval(x) -> tuple[tuple, np.dtype]:
    """Return (shape, dtype) of an argument of any array library, without converting it to NumPy."""
    if isinstance(x, (np.ndarray, np.generic, float, int, complex, bool)):
        return value_aval(x)
    shape = tuple(int(s) for s in x.shape)
    try:
        return shape, np.dtype(x.dtype)
    except TypeError:
        return shape, np.dtype(str(x.dtype).rsplit(".", 1)[-1])  # torch.float32, array_api_strict.float64


def value_aval(x) -> tuple[tuple, np.dtype]:
    """Return (shape, dtype) of a concrete argument value."""
    if isinstance(x, np.ndarray):
        return x.shape, x.dtype
    if isinstance(x, float):
        return (), np.dtype(np.float64)
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"npdiff functions take arrays; got {type(x).__name__}")
    return arr.shape, arr.dtype


def arg_names(func: Callable, n: int) -> list[str]:
    """Return n argument names taken from func's signature where possible."""
    try:
        params = [p for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in params][:n]
    except (TypeError, ValueError):
        names = []
    names += [f"x{i}" for i in range(len(names), n)]
    seen, out = set(), []
    for nm in names:
        while nm in seen or nm in ("np", "math", "scipy"):
            nm += "_"
        seen.add(nm)
        out.append(nm)
    return out


def func_name(func: Callable) -> str:
    """Return a usable name for func."""
    return _clean_name(getattr(func, "__name__", None) or type(func).__name__)


@functools.lru_cache(maxsize=1024)
def _clean_name(name: str) -> str:
    """Return name as a Python identifier (a keyword or a lambda gets a prefix or becomes f)."""
    import keyword
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in name).strip("_") or "f"
    if keyword.iskeyword(name) or name[0].isdigit():
        name = "f" if name == "lambda" else "_" + name
    return name


def spec_leaf(x) -> bool:
    """Return True if x is one argument's shape spec or example (a ShapeDtype, shape tuple, array)."""
    return isinstance(x, ShapeDtype) or arg_leaf(x)


def has_values(specs) -> bool:
    """Return True if every spec is a concrete value (an array or Python/NumPy number), not a shape."""
    return bool(specs) and all(isinstance(s, (np.ndarray, np.generic, float, complex, bool)) for s in specs)
