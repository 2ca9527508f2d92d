"""Operators as ordinary Python objects: shared specialisations, pickling, copying
and keyword arguments at call time.

Every public operator (``grad(f)``, ``hessian(f, argnums=1)``...) records its
*recipe*: the factory that made it, the function and the options. Operators with
the same recipe share one ``State`` (the generated code per argument key and the
paths traced), so ``grad(f)(x)`` written inside a loop traces once. A plain
function keeps the states of its operators itself (they live and die with it,
at most ``PER_FUNCTION`` option sets, least recently used dropped first); other
callables use a module-level cache weak in the callable (at most
``MAX_FUNCTIONS``). The recipe is also how an operator pickles (the factory and
the function travel by reference; the paths are traced again in the other
process) and what a keyword-argument call specialises: ``KwBound`` binds the
call's keyword values to the function.
"""
from __future__ import annotations

import inspect
import threading
import types
import weakref
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from ..tracing.tracer import tracing_alias

PER_FUNCTION = 16  # option sets remembered per function (least recently used dropped first)
MAX_FUNCTIONS = 256  # functions with shared specialisations (least recently used dropped first)
KW_VARIANTS = 32  # keyword-argument variants (static values) kept per operator


class State:
    """The specialisations of one operator recipe, shared by every operator object made from it."""

    __slots__ = ("cache", "paths", "tree_cache", "kw_ops", "lock", "ops")

    def __init__(self):
        self.cache: dict = {}  # key -> the GeneratedFunction tried first (the last path used)
        self.paths: dict = {}  # key -> core.Paths
        self.tree_cache: dict = {}  # argtrees.fast_key -> the GeneratedFunction last used
        self.kw_ops: OrderedDict = OrderedDict()  # keyword layout -> operator of the bound function
        self.lock = threading.RLock()
        self.ops = weakref.WeakSet()  # the operators sharing it (each remembers its last call: _one)

    def clear(self) -> None:
        """Drop every specialisation held."""
        with self.lock:
            for op in list(self.ops):
                op._one = None
            self.cache.clear()
            self.paths.clear()
            self.tree_cache.clear()
            self.kw_ops.clear()


_lock = threading.Lock()
_shared: dict = {}  # (id(callable),) -> (weakref, OrderedDict(options -> (None, State))); LRU order


def _drop(key, shared=_shared):  # bound early: the callback may run at interpreter shutdown
    shared.pop(key, None)  # a weakref callback (as WeakKeyDictionary's): a plain dict pop, no lock


_SLOT = "__npdiff_operators__"  # where a plain function keeps the states of its operators


def _states_of(func):
    """Return (OrderedDict(options -> State) of func's operators, extra key part), or None if unshareable.

    A plain Python function holds its operators' states itself (in its ``__dict__``, tagged with its id so
    that a ``functools.wraps`` copy is not mistaken for it): the states live exactly as long as the
    function, even though the state guards of their code refer back to it. A bound method uses its
    function's slot, keyed also by ``self``. Other callables (partials, callable objects) use the
    module-level cache, weak in the callable and bounded.
    """
    self = None
    if type(func) is types.MethodType and type(func.__func__) is types.FunctionType:
        func, self = func.__func__, func.__self__
    if type(func) is types.FunctionType:
        slot = func.__dict__.get(_SLOT)
        if slot is None or slot[0] != id(func):
            slot = (id(func), OrderedDict())
            func.__dict__[_SLOT] = slot
        return slot[1], (None if self is None else ("self", id(self)))
    key = (id(func),)
    entry = _shared.get(key)
    if entry is not None and entry[0]() is not func:  # an id reused
        entry = None
    if entry is None:
        try:
            ref = weakref.ref(func, lambda _r, key=key, drop=_drop: drop(key))
        except TypeError:  # not weakly referenceable (a builtin, a __slots__ object): no sharing
            return None
        entry = _shared[key] = (ref, OrderedDict())
        while len(_shared) > MAX_FUNCTIONS:
            _shared.pop(next(iter(_shared)), None)
    elif next(reversed(_shared), None) != key:
        _shared[key] = _shared.pop(key, entry)  # most recently used last
    return entry[1], None


def shared_state(factory: Callable, func: Callable, options: dict) -> State:
    """Return the State shared by operators made by factory from func with these options (a new one if unshareable)."""
    try:
        okey = (factory, tuple(sorted(options.items())))
        hash(okey)
    except TypeError:  # an unhashable option
        return State()
    with _lock:
        found = _states_of(func)
        if found is None:
            return State()
        states, extra = found
        if extra is not None:  # a bound method: also by self (checked against a reused id)
            okey = okey + (extra,)
        hit = states.get(okey)
        if hit is not None and hit[0] is not None and hit[0]() is not func.__self__:
            hit = None
        if hit is None:
            selfref = None
            if extra is not None:
                try:
                    selfref = weakref.ref(func.__self__)
                except TypeError:
                    selfref = (lambda obj: (lambda: obj))(func.__self__)
            hit = states[okey] = (selfref, State())
            while len(states) > PER_FUNCTION:
                states.popitem(last=False)
        elif len(states) > 1:
            states.move_to_end(okey)
        return hit[1]


def shared_count() -> int:
    """Return the number of functions with shared specialisations (for tests)."""
    return len(_shared)


def remake(factory: Callable, func: Callable, options: dict):
    """Return factory(func, **options): how an operator unpickles (sharing its specialisations)."""
    return factory(func, **options)


def hashable_option(value):
    """Return an option value in a hashable form (argnums given as a list become a tuple)."""
    return tuple(value) if isinstance(value, list) else value


# -- keyword arguments at call time ------------------------------------------------------------

def _runtime(value) -> bool:
    """Return True if a keyword value is passed to the generated code at run time (arrays, floats, pytrees of them)."""
    if isinstance(value, (np.ndarray, float, complex, np.floating, np.complexfloating)):
        return True
    if isinstance(value, (list, tuple)) and value:
        return all(_runtime(v) for v in value)
    if isinstance(value, dict) and value:
        return all(_runtime(v) for v in value.values())
    return False


def kw_layout(kwargs: dict) -> tuple[tuple, tuple, tuple]:
    """Return (runtime names, static items, key) of a call's keyword arguments.

    Arrays, floats and pytrees of them are inputs of the generated code (read on
    every call); other values (ints, strings, None, objects) are fixed in the
    specialisation and part of the key, so a changed value specialises again.
    """
    runtime = tuple(sorted(k for k, v in kwargs.items() if _runtime(v)))
    static = tuple(sorted(((k, v) for k, v in kwargs.items() if k not in runtime), key=lambda kv: kv[0]))
    return runtime, static, (runtime, tuple((k, _snapshot(v)) for k, v in static))


_PLAIN = (bool, int, float, complex, str, bytes, type(None), np.generic, np.dtype, type, slice, range)


def _snapshot(v, depth: int = 0):
    """Return a hashable record of a static keyword value's contents, so a value changed in place (a list
    of indices, a dict of options, an object's attributes) specialises again; identity where contents
    cannot be read (functions, modules, random generators: their draws are fresh anyway)."""
    if isinstance(v, _PLAIN):
        return (type(v), v)
    if depth > 6:
        return ("id", id(v))
    if isinstance(v, np.ndarray):
        return ("array", v.shape, v.dtype.str, v.tobytes() if v.dtype != object else id(v))
    if isinstance(v, (list, tuple)):
        return (type(v), tuple(_snapshot(e, depth + 1) for e in v))
    if isinstance(v, dict):
        return (type(v), tuple((_snapshot(k, depth + 1), _snapshot(e, depth + 1)) for k, e in v.items()))
    if callable(v) or isinstance(v, (types.ModuleType, np.random.RandomState, np.random.Generator)):
        return ("id", id(v))
    state = getattr(v, "__dict__", None)
    slots = [n for c in type(v).__mro__ for n in getattr(c, "__slots__", ()) if isinstance(n, str)]
    if state is None and not slots:
        return ("id", id(v))
    attrs = dict(state or {})
    attrs.update((n, getattr(v, n)) for n in slots if n not in ("__dict__", "__weakref__") and hasattr(v, n))
    return ("object", type(v), id(v), _snapshot(attrs, depth + 1))


class KwBound:
    """``func`` with keyword arguments bound: the first ``nargs`` parameters, then the runtime keywords.

    The static keyword values are fixed, the runtime ones are positional
    parameters after the function's own. It holds func weakly where it can (it
    lives in the shared state, which must not keep the function alive).
    """

    def __init__(self, func: Callable, nargs: int, runtime: tuple, static: tuple):
        self.nargs, self.runtime, self.static = nargs, tuple(runtime), tuple(static)
        self._func = _weak_callable(func)
        self.__name__ = getattr(func, "__name__", type(func).__name__)
        self.__qualname__ = getattr(func, "__qualname__", self.__name__)

    @property
    def func(self) -> Callable:
        """Return the function whose keywords are bound."""
        return self._func()

    @property
    def __wrapped__(self) -> Callable:  # the tracer covers the function's globals and closure through this
        return self._func()

    def __call__(self, *args):
        n = self.nargs
        kw = {k: tracing_alias(v) for k, v in self.static}  # a generator passed by keyword: fresh draws
        kw.update(zip(self.runtime, args[n:]))
        return self._func()(*args[:n], **kw)

    @property
    def __signature__(self) -> inspect.Signature:
        try:
            params = [p for p in inspect.signature(self.func).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
        names = [p.name for p in params[:self.nargs]] + [f"x{i}" for i in range(len(params), self.nargs)]
        P = inspect.Parameter
        return inspect.Signature([P(nm, P.POSITIONAL_ONLY) for nm in names] +
                                 [P(nm, P.POSITIONAL_ONLY) for nm in self.runtime])


def _weak_callable(func: Callable) -> Callable:
    """Return a function returning func, holding it weakly where possible (a bound method by its parts)."""
    try:
        if inspect.ismethod(func):
            fref, sref = weakref.ref(func.__func__), weakref.ref(func.__self__)
            return lambda: fref().__get__(sref())
        ref = weakref.ref(func)
        return ref
    except TypeError:
        return lambda: func


def check_keywords(func: Callable, nargs: int, kwargs: dict, op: str) -> None:
    """Refuse keywords func cannot take with nargs positional arguments before them (TypeError as Python's)."""
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(*range(nargs), **kwargs)
    except TypeError as e:
        name = getattr(func, "__name__", type(func).__name__)
        raise TypeError(f"{op}: {name}{sig} cannot be called with {nargs} positional argument"
                        f"{'s' if nargs != 1 else ''} and keywords {sorted(kwargs)} ({e})") from None


def positional_argnums(argnums, nargs: int):
    """Return argnums with negative entries counted from the last positional argument (as JAX does)."""
    if isinstance(argnums, (int, np.integer)) and not isinstance(argnums, bool):
        return int(argnums) % nargs if -nargs <= argnums < 0 else argnums
    if isinstance(argnums, (tuple, list)):
        return tuple(int(a) % nargs if isinstance(a, (int, np.integer)) and -nargs <= a < 0 else a
                     for a in argnums)
    return argnums
