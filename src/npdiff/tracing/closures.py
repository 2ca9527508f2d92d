"""What a traced function closes over, and covering it: aliases of the patched NumPy functions in its
globals and closure cells are swapped for the tracing versions while a trace runs, and restored after.

The state is shared with ``tracer.py`` (which installs the patches): ``_REPLACE`` maps an original
to its replacement while installed, ``_aliases`` counts the swapped names, ``ALIAS_HOOKS`` give
replacements for objects (a random Generator, a scipy.stats method bound early).
"""
from __future__ import annotations

import functools
import threading
import types

import numpy as np

from ..ir.graph import SMALL_CONST

_lock = threading.RLock()
_REPLACE: dict[int, tuple] = {}  # id(original) -> (original, replacement) while installed
_aliases: dict[tuple, list] = {}  # (id(holder), name) -> [holder, original, replacement, count]
ALIAS_HOOKS: list = []  # callables value -> replacement or None, for objects in traced globals/closures


def _holders(func):
    """Return the globals dict and closure cells of func (unwrapping partials and methods)."""
    import functools
    seen = 0
    while seen < 8:
        seen += 1
        if isinstance(func, functools.partial):
            func = func.func
        elif hasattr(func, "__func__"):
            func = func.__func__
        elif hasattr(func, "__wrapped__") and not hasattr(func, "__code__"):
            func = func.__wrapped__
        else:
            break
    g = getattr(func, "__globals__", None)
    if g is None and callable(func):
        g = getattr(type(func).__call__, "__globals__", None)
    cells = [c for c in (getattr(func, "__closure__", None) or ())]
    return g, cells


def _closed_arrays(func) -> list:
    """Return the large arrays in func's globals and closure (bound by reference, never copied)."""
    g, cells = _holders(func)
    values = [] if not isinstance(g, dict) or str(g.get("__name__") or "").startswith(("numpy", "scipy")) \
        else list(g.values())
    for cell in cells:
        try:
            values.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    return [v for v in values if isinstance(v, np.ndarray) and v.size > SMALL_CONST]


_COVER_DEPTH = 4  # how many levels of closures (functions held by closures) are covered


def _replacement_for(value):
    hit = _REPLACE.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    for hook in ALIAS_HOOKS:
        r = hook(value)
        if r is not None:
            return r
    return None


def tracing_alias(value):
    """Return the stand-in the trace uses for value (a Generator's tracing version...), or value itself."""
    r = _replacement_for(value)
    return value if r is None else r


def _cover(func, depth=0, seen=None) -> list:
    """Swap aliases of the patched functions in func's globals and closure; return their keys.

    Functions held in the closure (a wrapper around ``fun=np.append``) are covered too, a few
    levels deep.
    """
    g, cells = _holders(func)
    keys = []
    seen = set() if seen is None else seen
    if id(func) in seen:
        return keys
    seen.add(id(func))
    with _lock:
        mod = str(g.get("__name__") or "") if isinstance(g, dict) else None
        # npdiff.compat wraps the user's functions in closures (compat.autograd's argnum handling): covered as user code
        library = mod is None or (mod.startswith(("npdiff.", "numpy", "scipy")) and not mod.startswith("npdiff.compat."))
        if not library and id(g) not in seen:
            seen.add(id(g))
            for name, value in list(g.items()):
                key = (id(g), name)
                if key in _aliases:
                    _aliases[key][3] += 1
                    keys.append(key)
                    continue
                if name.startswith("__"):
                    continue
                repl = _replacement_for(value)
                if repl is not None:
                    g[name] = repl
                    _aliases[key] = [g, value, repl, 1, name]
                    keys.append(key)
        for cell in cells if not library else ():
            key = (id(cell), None)
            if key in _aliases:
                _aliases[key][3] += 1
                keys.append(key)
                continue
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            repl = _replacement_for(value)
            if repl is not None:
                cell.cell_contents = repl
                _aliases[key] = [cell, value, repl, 1, None]
                keys.append(key)
    if depth < _COVER_DEPTH and not library:
        for cell in cells:
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, (types.FunctionType, functools.partial)):
                keys += _cover(value, depth + 1, seen)
    return keys


def _uncover(keys):
    with _lock:
        for key in keys:
            entry = _aliases[key]
            entry[3] -= 1
            if entry[3]:
                continue
            del _aliases[key]
            holder, orig, repl, _, name = entry
            if name is None:
                if holder.cell_contents is repl:
                    holder.cell_contents = orig
            elif holder.get(name) is repl:  # the user's code may have rebound the name
                holder[name] = orig
