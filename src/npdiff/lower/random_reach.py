"""Random generators reached beyond a traced function's globals and closure.

``trace._cover`` swaps the Generators and RandomStates bound directly to a traced
function's global names and closure cells for their tracing stand-ins
(``random.tracing_version``). This module's cover hook reaches the others a
function can draw from: its default arguments, a bound method's ``self``, and the
attributes (instance ``__dict__`` entries, list items, dict values) of the user
objects reachable from the names its code reads (its globals, closure, defaults and
``self``), a few levels deep, including through the global functions it calls. Each is
swapped for its tracing stand-in while the trace runs and restored afterwards, so
``self.rs.randn(n)`` draws afresh on every call of the generated code.
"""
from __future__ import annotations

import functools
import types

import numpy as np

from ..tracing.tracer import COVER_HOOKS, Tracer
from .random import tracing_version

MAX_DEPTH = 3  # attribute levels followed from a function's names
MAX_OBJECTS = 2000  # objects visited per traced function
_RNG_TYPES = (np.random.Generator, np.random.RandomState)
_LIBRARIES = ("numpy", "scipy", "npdiff", "builtins", "mici", "dask", "torch", "jax", "pandas")
_SKIP = (type, types.ModuleType, np.ndarray, np.generic, Tracer, str, bytes, int, float, complex, bool,
         type(None), types.BuiltinFunctionType, types.MethodWrapperType)


def _code_names(code, out: set) -> set:
    out.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_names(c, out)
    return out


def _unwrap(func):
    """Return (plain function or None, bound self or None) of func (partials, methods, callables)."""
    self = None
    for _ in range(8):
        if isinstance(func, functools.partial):
            func = func.func
        elif isinstance(func, types.MethodType):
            self, func = func.__self__, func.__func__
        elif hasattr(func, "__wrapped__") and not hasattr(func, "__code__"):
            func = func.__wrapped__
        else:
            break
    if not isinstance(func, types.FunctionType):
        if callable(func) and not isinstance(func, _SKIP) and hasattr(func, "__dict__"):
            return getattr(type(func).__call__, "__func__", None) or getattr(type(func), "__call__", None), func  # noqa: B004 - reads the method
        return None, self
    return func, self


def _user_object(obj) -> bool:
    return hasattr(obj, "__dict__") and not isinstance(obj, _SKIP) and not isinstance(
        obj, (types.FunctionType, functools.partial)) and not (type(obj).__module__ or "").startswith(_LIBRARIES)


class _Walk:
    def __init__(self):
        self.undo: list = []
        self.seen: set = set()

    def swap(self, get, put, value):
        repl = tracing_version(value)
        if repl is not None:
            put(repl)
            self.undo.append(lambda: put(value) if get() is repl else None)
        return repl is not None

    def object(self, obj, depth):
        """Swap the generators among obj's attributes (list items, dict values), following user objects."""
        if depth > MAX_DEPTH or id(obj) in self.seen or len(self.seen) > MAX_OBJECTS:
            return
        self.seen.add(id(obj))
        if isinstance(obj, list):
            items = list(enumerate(obj))
            holder = obj
        elif isinstance(obj, dict):
            items = list(obj.items())
            holder = obj
        elif _user_object(obj):
            holder = vars(obj)
            if not isinstance(holder, dict):  # a mappingproxy (not a plain instance)
                return
            items = list(holder.items())
        else:
            return
        for k, v in items:
            if isinstance(v, _RNG_TYPES):
                self.swap(lambda h=holder, k=k: h[k], lambda r, h=holder, k=k: h.__setitem__(k, r), v)
            elif isinstance(v, (list, dict)) or _user_object(v):
                self.object(v, depth + 1)

    def function(self, func, depth=0):
        fn, self_obj = _unwrap(func)
        if self_obj is not None:
            self.object(self_obj, 1)
        if fn is None or not isinstance(fn, types.FunctionType) or id(fn) in self.seen or depth > 2:
            return
        self.seen.add(id(fn))
        if (fn.__module__ or "").startswith(_LIBRARIES):
            return
        if fn.__defaults__ and any(isinstance(d, _RNG_TYPES) for d in fn.__defaults__):
            old = fn.__defaults__
            new = tuple(tracing_version(d) or d if isinstance(d, _RNG_TYPES) else d for d in old)
            fn.__defaults__ = new
            self.undo.append(lambda: setattr(fn, "__defaults__", old) if fn.__defaults__ is new else None)
        kwd = fn.__kwdefaults__ or {}
        for k, d in list(kwd.items()):
            if isinstance(d, _RNG_TYPES):
                self.swap(lambda k=k: kwd[k], lambda r, k=k: kwd.__setitem__(k, r), d)
        values = [d for d in (fn.__defaults__ or ()) + tuple(kwd.values())]
        for cell in fn.__closure__ or ():
            try:
                values.append(cell.cell_contents)
            except ValueError:
                pass
        g = fn.__globals__
        names = [n for n in _code_names(fn.__code__, set()) if n in g]
        if depth:  # a function it calls: its own globals and closure (the traced function's are swapped by trace)
            for n in names:
                if isinstance(g[n], _RNG_TYPES):
                    self.swap(lambda n=n: g[n], lambda r, n=n: g.__setitem__(n, r), g[n])
            for cell in fn.__closure__ or ():
                v = cell.cell_contents if cell.cell_contents is not None else None
                if isinstance(v, _RNG_TYPES):
                    self.swap(lambda c=cell: c.cell_contents, lambda r, c=cell: setattr(c, "cell_contents", r), v)
        values += [g[n] for n in names]
        for v in values:
            if isinstance(v, (types.FunctionType, types.MethodType, functools.partial)):
                self.function(v, depth + 1)
            elif isinstance(v, (list, dict)) or _user_object(v):
                self.object(v, 1)


def cover_attributes(func) -> list:
    """Swap the generators reachable from func beyond its globals and closure; return the undo callables."""
    w = _Walk()
    w.function(func)
    return w.undo


COVER_HOOKS.append(cover_attributes)
