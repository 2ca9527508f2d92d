"""State guards: the values a trace may have read from outside the function's arguments.

Generated code is specialised: whatever the traced function read besides its
arguments (module globals, closure cells, default arguments, attributes of a
bound method's ``self`` and of objects reached from them) is baked into it.
``guard(funcs)`` walks the traced functions statically and records every such
binding with the object it held after the trace (arrays also with a copy of
their contents). The returned state guard is a small generated predicate,
called by the lazy operators before running a path: a few identity tests per
binding, an equality test for Python scalars, a byte comparison for arrays
(which can change in place). A ``False`` makes the operator drop that path
and trace again with the current state.

What is walked: the traced function (through ``functools.partial``, bound
methods and ``__wrapped__``), its globals named in its code (and in the code
of functions nested in it), its closure cells and defaults; recursively the
user functions, bound methods and callable objects found there (a few levels
deep); attributes (``obj.__dict__`` entries) named in the walked code of the
objects found there, and methods of their classes; items of dicts, lists and
tuples found there. Library modules (NumPy, SciPy, the standard library...),
classes and modules themselves are not walked.
"""
from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable

import numpy as np

MAX_DEPTH = 8  # levels of functions / objects / containers followed from the traced function
MAX_ITEMS = 256  # larger containers: lists by length and their first items, dicts by the keys the code names
SMALL_BYTES = 4096  # arrays up to this size are compared by their bytes, larger ones element-wise
COPY_BYTES = 1 << 20  # arrays up to this size are copied and compared in full; larger ones by a sample
SAMPLE = 4096  # elements of a larger array compared on each call
_LIBRARY = {"numpy", "scipy", "npdiff", "builtins", "mici", "jax", "torch", "numba", "pandas", "autograd"}
_SCALARS = (bool, int, float, complex, str, bytes, type(None), np.generic, np.dtype, slice, range)
_MISSING = object()


def _library(modname) -> bool:
    root = str(modname or "").split(".")[0]
    if root in ("__main__", "__mp_main__"):
        return False
    return root in _LIBRARY or root in getattr(sys, "stdlib_module_names", ()) or root.startswith("_")


def _code_names(code: types.CodeType) -> set:
    """Return the global and attribute names used by code and the code nested in it."""
    names, stack = set(), [code]
    while stack:
        c = stack.pop()
        names.update(c.co_names)
        names.update(k for k in c.co_consts if isinstance(k, str) and k.isidentifier())  # getattr(self, "W")
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return names


class _Walker:
    """Collects (expression, value, kind) bindings reachable from the traced functions."""

    def __init__(self):
        self.items: list = []  # (holder kind, holder, key, value)
        self.seen: set = set()
        self.names: set = set()
        self.objects: list = []  # (object, depth): attributes read once every name is known

    def function(self, f, depth: int) -> None:
        for _ in range(8):  # unwrap partials, bound methods, decorators
            if isinstance(f, functools.partial):
                self.container(f.args, depth)
                self.container(tuple(f.keywords.values()), depth)
                f = f.func
            elif isinstance(f, types.MethodType):
                self.obj(f.__self__, depth)
                f = f.__func__
            elif not isinstance(f, types.FunctionType) and hasattr(f, "__wrapped__"):
                f = f.__wrapped__
            else:
                break
        if not isinstance(f, types.FunctionType):
            if callable(f) and not isinstance(f, type) and not _library(type(f).__module__):
                self.obj(f, depth)  # a callable object: its __call__ and attributes
            return
        if id(f) in self.seen or depth > MAX_DEPTH or _library(getattr(f, "__module__", None)):
            return
        self.seen.add(id(f))
        code = f.__code__
        names = _code_names(code)
        self.names |= names
        g = f.__globals__
        if not _library(g.get("__name__")):
            for name in sorted(names):
                if name in g:
                    self.bind("dict", g, name, g[name], depth)
        for name, cell in zip(code.co_freevars, f.__closure__ or ()):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            self.bind("cell", cell, name, value, depth)
        if f.__defaults__:
            self.bind("attr", f, "__defaults__", f.__defaults__, depth)
        if f.__kwdefaults__:
            self.bind("attr", f, "__kwdefaults__", f.__kwdefaults__, depth)

    def bind(self, kind: str, holder, key, value, depth: int) -> None:
        if not isinstance(value, types.ModuleType):  # modules are not rebound in practice
            self.items.append((kind, holder, key, value))
        self.value(value, depth + 1)

    def value(self, v, depth: int) -> None:
        if isinstance(v, types.ModuleType) and not _library(v.__name__):
            self.obj(v, depth)  # a user module (``import mymodel``): its attributes the code names
            return
        if depth > MAX_DEPTH or isinstance(v, (_SCALARS, np.ndarray, types.ModuleType, type)):
            return
        if isinstance(v, (types.FunctionType, types.MethodType, functools.partial)):
            self.function(v, depth)
        elif isinstance(v, (list, tuple, dict)):
            self.container(v, depth)
        elif hasattr(v, "__dict__") and not _library(type(v).__module__):
            self.obj(v, depth)

    def container(self, c, depth: int) -> None:
        if id(c) in self.seen or depth > MAX_DEPTH:
            return
        self.seen.add(id(c))
        if isinstance(c, dict):
            keys = list(c) if len(c) <= MAX_ITEMS else [k for k in self.names if k in c]  # large: the keys named
            if len(c) > MAX_ITEMS:
                self.items.append(("len", c, None, len(c)))
            for k in keys:
                if isinstance(k, (str, int)):
                    self.bind("dict", c, k, c[k], depth)
        elif isinstance(c, list):
            self.items.append(("len", c, None, len(c)))
            for i, v in enumerate(c[:MAX_ITEMS]):
                self.bind("item", c, i, v, depth)
        else:  # a tuple is immutable: only its mutable contents (arrays, objects) can change
            for v in c[:MAX_ITEMS]:
                if isinstance(v, np.ndarray):
                    self.items.append(("self", v, None, v))
                else:
                    self.value(v, depth + 1)

    def obj(self, o, depth: int) -> None:
        if id(o) in self.seen or depth > MAX_DEPTH:
            return
        self.seen.add(id(o))
        self.objects.append((o, depth))

    def finish(self) -> None:
        """Read the attributes of the objects found, by the names the walked code uses (to a fixpoint).

        Walking a method found on an object's class can name more attributes (``self.helper()`` reading
        ``self.scale``), so every object is read again until no new name appears.
        """
        read: dict = {}  # id(object) -> names already read on it
        changed = True
        while changed:
            changed = False
            for o, depth in list(self.objects):
                names = self.names | {"__call__"}
                done = read.setdefault(id(o), set())
                new = names - done
                if not new:
                    continue
                changed = True
                done |= new
                d = getattr(o, "__dict__", None)
                owner = o if isinstance(o, type) else type(o)  # a class (cls.k in a classmethod) or o's class
                slots = _slot_names(type(o))
                for name in sorted(new):
                    if isinstance(d, dict) and name in d:
                        self.bind("dict", d, name, d[name], depth)
                        continue
                    attr = _class_attr(owner, name)
                    if name in slots or (attr is not _MISSING and not hasattr(attr, "__get__")):
                        value = getattr(o, name, _MISSING)  # a slot, or a plain class attribute (o.k, cls.k)
                        if value is not _MISSING:
                            self.bind("attr", o, name, value, depth)
                    elif isinstance(attr, (types.FunctionType, staticmethod, classmethod)):
                        fn = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
                        self.function(fn, depth + 1)
                    elif isinstance(attr, property) and attr.fget is not None:
                        self.function(attr.fget, depth + 1)


def _slot_names(cls: type) -> set:
    """Return the names of the __slots__ of cls and its bases."""
    out = set()
    for c in cls.__mro__:
        slots = c.__dict__.get("__slots__", ())
        out.update((slots,) if isinstance(slots, str) else slots)
    return out - {"__dict__", "__weakref__"}


def _class_attr(cls: type, name: str):
    """Return the raw entry of ``name`` in the dictionaries of cls's classes (not object's or type's), or _MISSING."""
    for c in cls.__mro__:
        if c is object or c is type:
            break
        if name in c.__dict__:
            return c.__dict__[name]
    return _MISSING


def _same(a, b) -> bool:
    """Return True if a (a scalar read now) stands for the same value as b (read after the trace)."""
    if type(a) is not type(b):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _compile(items) -> Callable[[], bool] | None:
    """Return the state guard testing these bindings (None when there are none): a function () -> bool.

    Its ``labels`` attribute names the bindings (for messages and tests).
    """
    ns: dict = {"_M": _MISSING, "_same": _same, "_eq": np.array_equal}
    terms, labels, done = [], [], set()
    for i, (kind, holder, key, value) in enumerate(items):
        if (kind, id(holder), key) in done:
            continue
        done.add((kind, id(holder), key))
        h, v = f"_h{i}", f"_v{i}"
        ns[h], ns[v] = holder, value
        if kind == "dict":
            ns[f"_k{i}"] = key
            read, label = f"{h}[_k{i}]", str(key)
        elif kind == "cell":
            read, label = f"{h}.cell_contents", str(key)
        elif kind == "attr":
            read, label = f"{h}.{key}", f"{getattr(holder, '__name__', '?')}.{key}"
        elif kind == "item":
            read, label = f"{h}[{int(key)}]", f"[{key}]"
        elif kind == "len":
            terms.append(f"len({h}) == {int(value)}")
            continue
        else:  # "self": an array held by an immutable container
            read, label = h, "array"
        labels.append(label)
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                terms.append(f"{read} is {v}")
                continue
            c = f"_c{i}"
            if value.nbytes <= SMALL_BYTES:
                ns[c] = value.tobytes()
                terms.append(f"({read} is {v} and {v}.tobytes() == {c})")
            elif value.nbytes <= COPY_BYTES:
                ns[c] = value.copy()
                terms.append(f"({read} is {v} and {v}.shape == {c}.shape and _eq({v}, {c}))")
            else:  # large data is never copied: compare a fixed sample of its elements
                idx = np.unique(np.linspace(0, value.size - 1, SAMPLE).astype(np.intp))
                ns[f"_i{i}"], ns[c] = idx, value.flat[idx].tobytes()
                terms.append(f"({read} is {v} and {v}.flat[_i{i}].tobytes() == {c})")
        elif isinstance(value, (bool, int, float, complex, np.generic, str, bytes)):
            terms.append(f"(({'_t'}:={read}) is {v} or _same(_t, {v}))")
        else:
            terms.append(f"{read} is {v}")
    if not terms:
        return None
    params = ", ".join(f"{k}={k}" for k in ns if (k.startswith("_") and k[1] in "hvkcdi" and k[2:].isdigit())
                       or k in ("_same", "_eq"))
    src = f"def _state_ok({params}):\n    try:\n        return (" + "\n                and ".join(terms) + \
        ")\n    except Exception:\n        return False\n"
    exec(compile(src, "<npdiff state guard>", "exec"), ns)
    fn = ns["_state_ok"]
    fn.labels = labels
    return fn


def guard(funcs) -> Callable[[], bool] | None:
    """Return the state guard (a function () -> bool) of the state the traced functions ``funcs`` may read (None if none)."""
    w = _Walker()
    for f in funcs:
        w.function(f, 0)
    w.finish()
    return _compile(w.items)
