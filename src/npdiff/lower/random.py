"""Random draws inside traced functions keep NumPy's meaning.

``np.random.normal(size=n)``, ``rng.uniform(...)``, ``rs.randn(n)`` (``rng`` a
``np.random.Generator``, ``rs`` a ``np.random.RandomState``, made in the function,
closed over, global, a default argument, reached through attributes of such objects or
of a bound method's ``self``, or passed as a keyword argument) become ``draw`` nodes:
the generated code draws afresh on every call, from the same generator and in the same
order as the function would. Location and scale are applied outside the draw (``loc +
scale * standard_normal``, ``low + (high - low) * random``), which is exactly how NumPy
computes them, so values match NumPy's and the derivative flows through traced
``loc``/``scale``/``low``/``high`` (reparameterisation, as in a Monte Carlo loss); the
draw itself has a zero derivative. ``choice(a)`` and ``permutation(x)`` draw the index
as NumPy does and gather ``a[index]`` (NumPy computes them that way), so a traced ``a``
is differentiated through the gather. ``shuffle`` (in place), other distributions,
``seed`` and ``set_state`` on a traced path are refused by name (their values would be
frozen at trace time). ``random_reach.py`` finds the generators reached through attributes.
"""
from __future__ import annotations

import itertools
from operator import index as _index

import numpy as np

from ..errors import UnsupportedOperationError, user_frame_description
from ..ir.graph import const
from ..primitives import apply
from ..tracing import tracer as _trace
from ..tracing.tracer import (
    ALIAS_HOOKS,
    EXTRA_PATCHES,
    GUARD_PATCHES,
    Tracer,
    intercepting,
    is_traced,
)

_uid = itertools.count()
_Generator = np.random.Generator
_legacy = np.random.mtrand._rand
_default_rng = np.random.default_rng


def _size(size, *params) -> tuple:
    if size is None:
        return tuple(np.broadcast_shapes(*[np.shape(p) if not is_traced(p) else _trace.node_of(p).shape
                                           for p in params]))
    if np.ndim(size) == 0:
        return (_index(size),)
    return tuple(_index(s) for s in size)


def _draw(gen, key, method, size, dtype=np.float64, kw=()):
    """Return a Tracer for one draw (gen: None for the legacy global state, else a generator node)."""
    chains = getattr(_trace._local, "chains", None)
    if chains is None:
        chains = _trace._local.chains = {}
    prev = chains.get(key)
    args = ([] if gen is None else [gen]) + ([] if prev is None else [prev])
    node = apply("draw", *args, method=method, size=tuple(size), kw=tuple(kw), legacy=gen is None,
                 uid=next(_uid), dtype=np.dtype(dtype))
    chains[key] = node
    return Tracer(node)


def _float64_only(dtype, out, what):
    if out is not None:
        raise UnsupportedOperationError(f"{what}(..., out=...) inside a traced function; assign the result "
                                        f"instead (at {user_frame_description()})")
    if np.dtype(dtype) != np.float64:
        raise UnsupportedOperationError(f"{what}(dtype={np.dtype(dtype)}) inside a traced function: npdiff "
                                        f"supports float64 draws (at {user_frame_description()})")


def _normal(gen, key, loc, scale, size):
    if not is_traced(scale) and np.any(np.asarray(scale) < 0):
        raise ValueError("scale < 0")
    z = _draw(gen, key, "standard_normal", _size(size, loc, scale))
    if isinstance(scale, float) and scale == 1.0 and isinstance(loc, float) and loc == 0.0:
        return z
    return loc + scale * z


def _uniform(gen, key, low, high, size, method="random"):
    u = _draw(gen, key, method if gen is not None else "random_sample", _size(size, low, high))
    if isinstance(low, float) and low == 0.0 and isinstance(high, float) and high == 1.0:
        return u
    return low + (high - low) * u


def _integers(gen, key, method, low, high, size, dtype, endpoint=None):
    if is_traced(low) or is_traced(high):
        raise UnsupportedOperationError(f"{method}() with traced bounds has no derivative; pass constant "
                                        f"bounds (at {user_frame_description()})")
    if np.ndim(low) or np.ndim(high):
        raise UnsupportedOperationError(f"{method}() with array bounds inside a traced function; pass "
                                        f"scalar bounds (at {user_frame_description()})")
    kw = [("low", int(low))] + ([("high", int(high))] if high is not None else [])
    kw.append(("dtype", np.dtype(dtype)))
    if endpoint is not None:
        kw.append(("endpoint", bool(endpoint)))
    return _draw(gen, key, method, _size(size), dtype=dtype, kw=kw)


def _population(a, what):
    """Return (population size, traced/constant 1-d array or None) of choice's or permutation's ``a``."""
    if isinstance(a, (int, np.integer)) and not isinstance(a, bool):
        return int(a), None
    if not is_traced(a):
        a = np.asarray(a)
    if np.ndim(a) < 1:
        raise ValueError(f"{what}: a must be a positive integer or an array with at least one dimension")
    return int(np.shape(a)[0] if not is_traced(a) else _trace.node_of(a).shape[0]), a


def _take(a, idx):
    """Return a[idx] for a traced or constant array a and a traced index (a gather in the graph)."""
    return (a if is_traced(a) else Tracer(const(np.asarray(a))))[idx]


def _choice(gen, key, a, size, replace, p):
    """choice(a, size, replace, p): the index drawn as NumPy draws it, then a[index] (NumPy's own order)."""
    n, arr = _population(a, "choice")
    if is_traced(p):
        raise UnsupportedOperationError(f"choice(..., p=<traced>) has no derivative; pass constant "
                                        f"probabilities (at {user_frame_description()})")
    kw = [("a", n), ("replace", bool(replace))]
    if p is not None:
        kw.append(("p", tuple(float(v) for v in np.ravel(p))))
    idx = _draw(gen, key, "choice", _size(size), dtype=np.int64, kw=kw)
    return idx if arr is None else _take(arr, idx)


def _permutation(gen, key, x):
    """permutation(x): NumPy's permutation of range(len(x)), then x[perm] (the same draws NumPy makes)."""
    n, arr = _population(x, "permutation")
    perm = _draw(gen, key, "permutation", (n,), dtype=np.int64, kw=[("x", n)])
    return perm if arr is None else _take(arr, perm)


def _refuse_shuffle(*args, **kwargs):
    raise UnsupportedOperationError(
        "shuffle() inside a traced function is not supported: it permutes an array in place. Use "
        f"x = rng.permutation(x) (a fresh permutation on every call) (at {user_frame_description()})")


# -- the legacy global state (np.random.normal...) ---------------------------------------------------

def _legacy_patch(name, lowering):
    original = getattr(np.random, name)

    def fn(*args, **kwargs):
        if not intercepting():
            return original(*args, **kwargs)
        return lowering(*args, **kwargs)
    fn.__name__ = name
    fn.__doc__ = original.__doc__
    fn.__wrapped__ = original
    EXTRA_PATCHES.append((np.random, name, fn))


_LEGACY = {
    "normal": lambda loc=0.0, scale=1.0, size=None: _normal(None, "legacy", loc, scale, size),
    "standard_normal": lambda size=None: _draw(None, "legacy", "standard_normal", _size(size)),
    "uniform": lambda low=0.0, high=1.0, size=None: _uniform(None, "legacy", low, high, size),
    "randn": lambda *dims: _draw(None, "legacy", "standard_normal", _size(dims)),
    "rand": lambda *dims: _draw(None, "legacy", "random_sample", _size(dims)),
    "randint": lambda low, high=None, size=None, dtype=int: _integers(None, "legacy", "randint", low, high,
                                                                        size, dtype),
}
for _name in ("random", "random_sample", "ranf", "sample"):
    _LEGACY[_name] = lambda size=None: _draw(None, "legacy", "random_sample", _size(size))
_LEGACY["choice"] = lambda a, size=None, replace=True, p=None: _choice(None, "legacy", a, size, replace, p)
_LEGACY["permutation"] = lambda x: _permutation(None, "legacy", x)
_LEGACY["shuffle"] = _refuse_shuffle
for _name, _low in _LEGACY.items():
    if hasattr(np.random, _name):
        _legacy_patch(_name, _low)


def _refuser(original, what):
    def fn(*args, **kwargs):
        if not intercepting():
            return original(*args, **kwargs)
        raise UnsupportedOperationError(
            f"{what} inside a traced function is not supported: its value would be frozen at trace time "
            "(npdiff traces np.random.normal/standard_normal/uniform/random/rand/randn/randint and "
            "Generator.normal/standard_normal/uniform/random/integers). Draw outside the function and "
            f"pass the values in (at {user_frame_description()})")
    fn.__name__ = getattr(original, "__name__", what)
    fn.__wrapped__ = original
    return fn


for _name in dir(np.random):
    _obj = getattr(np.random, _name)
    if _name.startswith("_") or _name in _LEGACY or _name == "get_state":
        continue
    if getattr(_obj, "__self__", None) is _legacy or _name in ("seed", "set_state"):
        GUARD_PATCHES.append((np.random, _name, _refuser(_obj, f"numpy.random.{_name}")))


# -- Generators ------------------------------------------------------------------------------------

class TracingGenerator(_Generator):
    """A Generator sharing another's bit generator whose draws become graph nodes while tracing."""

    def normal(self, loc=0.0, scale=1.0, size=None):
        if not intercepting():
            return super().normal(loc, scale, size)
        return _normal(self._npdiff_gen, self._npdiff_key, loc, scale, size)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        if not intercepting():
            return super().standard_normal(size, dtype, out)
        _float64_only(dtype, out, "Generator.standard_normal")
        return _draw(self._npdiff_gen, self._npdiff_key, "standard_normal", _size(size))

    def uniform(self, low=0.0, high=1.0, size=None):
        if not intercepting():
            return super().uniform(low, high, size)
        return _uniform(self._npdiff_gen, self._npdiff_key, low, high, size)

    def random(self, size=None, dtype=np.float64, out=None):
        if not intercepting():
            return super().random(size, dtype, out)
        _float64_only(dtype, out, "Generator.random")
        return _draw(self._npdiff_gen, self._npdiff_key, "random", _size(size))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        if not intercepting():
            return super().integers(low, high, size, dtype, endpoint)
        return _integers(self._npdiff_gen, self._npdiff_key, "integers", low, high, size, dtype, endpoint)

    def choice(self, a, size=None, replace=True, p=None, axis=0, shuffle=True):
        if not intercepting():
            return super().choice(a, size, replace, p, axis, shuffle)
        if axis != 0 or not shuffle:
            raise UnsupportedOperationError(f"Generator.choice(axis={axis!r}, shuffle={shuffle!r}) inside a traced "
                                            f"function; npdiff traces axis=0, shuffle=True "
                                            f"(at {user_frame_description()})")
        return _choice(self._npdiff_gen, self._npdiff_key, a, size, replace, p)

    def permutation(self, x, axis=0):
        if not intercepting():
            return super().permutation(x, axis)
        if axis != 0:
            raise UnsupportedOperationError(f"Generator.permutation(axis={axis!r}) inside a traced function; "
                                            f"npdiff traces axis=0 (at {user_frame_description()})")
        return _permutation(self._npdiff_gen, self._npdiff_key, x)

    def shuffle(self, x, axis=0):
        if not intercepting():
            return super().shuffle(x, axis)
        _refuse_shuffle()

    def __reduce__(self):
        return self._npdiff_real.__reduce__()


def _refuse_others(stand_in: type, real: type, supported, traced: str, call_real) -> None:
    """Give the stand-in class a method per other public method of ``real``: the real call when not
    tracing, else an UnsupportedOperationError naming the method and the methods npdiff traces."""
    for name in dir(real):
        if name.startswith("_") or name in supported or not callable(getattr(real, name)):
            continue

        def refuse(self, *args, _name=name, **kwargs):
            if not intercepting() or _name == "get_state":
                return call_real(self, _name)(*args, **kwargs)
            raise UnsupportedOperationError(
                f"{real.__name__}.{_name} inside a traced function is not supported: its value would be frozen "
                f"at trace time (npdiff traces {real.__name__}.{traced}). Draw outside the function and pass "
                f"the values in (at {user_frame_description()})")
        refuse.__name__ = name
        setattr(stand_in, name, refuse)


_refuse_others(TracingGenerator, _Generator,
               {"normal", "standard_normal", "uniform", "random", "integers", "choice", "permutation", "shuffle"},
               "normal/standard_normal/uniform/random/integers/choice/permutation",
               lambda self, name: getattr(_Generator, name).__get__(self))


def _tracing_generator(real, node):
    g = TracingGenerator(real.bit_generator)
    g._npdiff_real, g._npdiff_gen, g._npdiff_key = real, node, id(node)
    return g


def _object_const(obj):
    box = np.empty((), object)
    box[()] = obj
    return const(box)


_RealRandomState = np.random.RandomState


class TracingRandomState(_RealRandomState):
    """A RandomState whose draws become graph nodes while tracing (drawn from the real one in the code).

    Called from library code, or outside a trace, each method draws from the real RandomState (whose
    bit generator it shares), so the stream is the one the plain function would use.
    """

    def randn(self, *dims):
        if not intercepting():
            return self._npdiff_real.randn(*dims)
        return _draw(self._npdiff_gen, self._npdiff_key, "standard_normal", _size(dims))

    def rand(self, *dims):
        if not intercepting():
            return self._npdiff_real.rand(*dims)
        return _draw(self._npdiff_gen, self._npdiff_key, "random_sample", _size(dims))

    def standard_normal(self, size=None):
        if not intercepting():
            return self._npdiff_real.standard_normal(size)
        return _draw(self._npdiff_gen, self._npdiff_key, "standard_normal", _size(size))

    def normal(self, loc=0.0, scale=1.0, size=None):
        if not intercepting():
            return self._npdiff_real.normal(loc, scale, size)
        return _normal(self._npdiff_gen, self._npdiff_key, loc, scale, size)

    def uniform(self, low=0.0, high=1.0, size=None):
        if not intercepting():
            return self._npdiff_real.uniform(low, high, size)
        return _uniform(self._npdiff_gen, self._npdiff_key, low, high, size, "random_sample")

    def randint(self, low, high=None, size=None, dtype=int):
        if not intercepting():
            return self._npdiff_real.randint(low, high, size, dtype)
        return _integers(self._npdiff_gen, self._npdiff_key, "randint", low, high, size, dtype)

    def choice(self, a, size=None, replace=True, p=None):
        if not intercepting():
            return self._npdiff_real.choice(a, size, replace, p)
        return _choice(self._npdiff_gen, self._npdiff_key, a, size, replace, p)

    def permutation(self, x):
        if not intercepting():
            return self._npdiff_real.permutation(x)
        return _permutation(self._npdiff_gen, self._npdiff_key, x)

    def shuffle(self, x):
        if not intercepting():
            return self._npdiff_real.shuffle(x)
        _refuse_shuffle()

    def __reduce__(self):
        return self._npdiff_real.__reduce__()


for _name in ("random_sample", "random", "ranf", "sample"):
    def _sample(self, size=None, _name=_name):
        if not intercepting():
            return getattr(self._npdiff_real, _name)(size)
        return _draw(self._npdiff_gen, self._npdiff_key, "random_sample", _size(size))
    _sample.__name__ = _name
    setattr(TracingRandomState, _name, _sample)

_refuse_others(TracingRandomState, _RealRandomState, set(TracingRandomState.__dict__),
               "randn/rand/standard_normal/normal/uniform/random_sample/randint/choice/permutation",
               lambda self, name: getattr(self._npdiff_real, name))


def _tracing_random_state(real, node):
    rs = TracingRandomState(real._bit_generator)
    rs._npdiff_real, rs._npdiff_gen, rs._npdiff_key = real, node, id(node)
    return rs


def tracing_version(value):
    """Return the tracing stand-in of a Generator or RandomState (draws become nodes), or None for other values."""
    if type(value) is _Generator:
        return _tracing_generator(value, _object_const(value))
    if type(value) is _RealRandomState:
        return _tracing_random_state(value, _object_const(value))
    return None


ALIAS_HOOKS.append(tracing_version)


class _RandomStateType(type):
    """The metaclass of the stand-in for ``np.random.RandomState`` while tracing: isinstance still works."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, _RealRandomState)

    def __subclasscheck__(cls, sub):
        return issubclass(sub, _RealRandomState)

    def __call__(cls, seed=None):
        if not intercepting():
            return _RealRandomState(seed)
        if seed is not None and not (isinstance(seed, (int, np.integer)) or (
                isinstance(seed, (list, tuple, np.ndarray)) and not is_traced(seed))):
            raise UnsupportedOperationError(
                "np.random.RandomState(<BitGenerator/traced seed>) inside a traced function; pass an int "
                f"seed, or make the RandomState outside the function (at {user_frame_description()})")
        if seed is not None:
            seed = int(seed) if np.ndim(seed) == 0 else tuple(int(v) for v in np.ravel(seed))
        node = apply("rng_new", seed=seed, uid=next(_uid), kind="RandomState")
        return _tracing_random_state(_RealRandomState(seed), node)


class RandomStateWhileTracing(_RealRandomState, metaclass=_RandomStateType):
    """``np.random.RandomState`` while a trace runs: made in user code, its draws are fresh on every call."""


RandomStateWhileTracing.__module__ = _RealRandomState.__module__
EXTRA_PATCHES.append((np.random, "RandomState", RandomStateWhileTracing))


def default_rng(seed=None):
    if not intercepting():
        return _default_rng(seed)
    if isinstance(seed, (np.random.BitGenerator, np.random.SeedSequence, _Generator)):
        raise UnsupportedOperationError(
            "np.random.default_rng(<BitGenerator/SeedSequence/Generator>) inside a traced function; pass "
            f"an int seed, or make the generator outside the function (at {user_frame_description()})")
    if seed is not None:
        seed = int(seed) if np.ndim(seed) == 0 else tuple(int(s) for s in np.ravel(seed))
    node = apply("rng_new", seed=seed, uid=next(_uid))
    return _tracing_generator(_default_rng(seed), node)


default_rng.__wrapped__ = _default_rng
default_rng.__doc__ = _default_rng.__doc__
EXTRA_PATCHES.append((np.random, "default_rng", default_rng))
