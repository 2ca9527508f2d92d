"""Random draws inside traced functions keep NumPy's meaning.

``np.random.normal(size=n)``, ``rng.uniform(...)`` (``rng`` a ``np.random.Generator``
made in the function with ``default_rng(seed)`` or closed over / global) become
``draw`` nodes: the generated code draws afresh on every call, from the same
generator and in the same order as the function would. Location and scale are
applied outside the draw (``loc + scale * standard_normal``, ``low + (high - low) *
random``), which is exactly how NumPy computes them, so values match NumPy's and
the derivative flows through traced ``loc``/``scale``/``low``/``high``
(reparameterisation, as in a Monte Carlo loss); the draw itself has a zero
derivative. Other distributions, ``np.random.seed`` and ``RandomState`` methods
called on a traced path are refused by name (their values would be frozen at trace
time).
"""
from __future__ import annotations

import itertools
from operator import index as _index

import numpy as np

from ..tracing import tracer as _trace
from ..errors import UnsupportedOperationError, user_frame_description
from ..ir.graph import const
from ..primitives import apply
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


def _uniform(gen, key, low, high, size):
    u = _draw(gen, key, "random" if gen is not None else "random_sample", _size(size, low, high))
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

    def __reduce__(self):
        return self._npdiff_real.__reduce__()


_SUPPORTED = {"normal", "standard_normal", "uniform", "random", "integers"}
for _name in dir(_Generator):
    if _name.startswith("_") or _name in _SUPPORTED or not callable(getattr(_Generator, _name)):
        continue

    def _refuse(self, *args, _name=_name, **kwargs):
        if not intercepting():
            return getattr(_Generator, _name)(self, *args, **kwargs)
        raise UnsupportedOperationError(
            f"Generator.{_name} inside a traced function is not supported: its value would be frozen at "
            "trace time (npdiff traces Generator.normal/standard_normal/uniform/random/integers). Draw "
            f"outside the function and pass the values in (at {user_frame_description()})")
    _refuse.__name__ = _name
    setattr(TracingGenerator, _name, _refuse)


def _tracing_generator(real, node):
    g = TracingGenerator(real.bit_generator)
    g._npdiff_real, g._npdiff_gen, g._npdiff_key = real, node, id(node)
    return g


def _object_const(obj):
    box = np.empty((), object)
    box[()] = obj
    return const(box)


def _generator_alias(value):
    """A Generator in the traced function's globals or closure is swapped for a tracing one."""
    if type(value) is _Generator:
        return _tracing_generator(value, _object_const(value))
    return None


ALIAS_HOOKS.append(_generator_alias)


def _refuse_random_state(name):
    raise UnsupportedOperationError(
        f"RandomState.{name} inside a traced function is not supported: its value would be frozen at trace "
        "time. Use np.random.default_rng(seed) (Generator.normal/standard_normal/uniform/random/integers) or "
        f"the np.random module functions, or draw outside the function (at {user_frame_description()})")


class _GuardedRandomState:
    """Stands for a RandomState in a traced function's globals/closure: draws on the tracing path refuse."""

    def __init__(self, real):
        object.__setattr__(self, "_real", real)

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if callable(attr) and not name.startswith("_") and name != "get_state" and intercepting():
            def refuse(*args, **kwargs):
                _refuse_random_state(name)
            return refuse
        return attr

    def __setattr__(self, name, value):
        setattr(self._real, name, value)


ALIAS_HOOKS.append(lambda v: _GuardedRandomState(v) if type(v) is np.random.RandomState else None)


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
