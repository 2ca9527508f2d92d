"""Array creation while tracing.

NumPy's creation functions do not dispatch, so ``trace.tracing()`` swaps them
for the wrappers below, which act only on the tracing thread and for user
code (``trace.intercepting``). With traced inputs (``np.array([t0, t1])``,
``np.full(n, t)``) they return Tracers; otherwise they return the array NumPy
would, as a ``TraceBuffer`` (a real ndarray) so that ``out = np.zeros(n);
out[i] = ...`` traces as functional updates while C code (``np.random``)
still receives ndarrays.
"""
from __future__ import annotations

import numpy as np

from ..errors import TracingError, user_frame_description
from ..ir.graph import const
from ..primitives import apply
from ..primitives.helpers import zeros as _zeros
from ..tracing import probe
from ..tracing.buffer import TraceBuffer, _unbuffer
from ..tracing.dispatch import _refuse_keyword
from ..tracing.tracer import _ORIG, _PATCHES, FUNCTIONS, Tracer, implements, intercepting, is_traced, node_of, scipy_converting, tracing_here


def _convert(node, dtype):
    if dtype is None or np.dtype(dtype) == node.dtype:
        return node
    return apply("convert", node, dtype=np.dtype(dtype))


def _buffer(out, source=None):
    """Return a fresh ndarray result as a TraceBuffer (results that are the input stay as they are)."""
    if source is not None and out is source:
        return out
    if type(out) is np.ndarray and not (isinstance(source, np.ndarray) and np.shares_memory(out, source)):
        return out.view(TraceBuffer)
    return out


def _traced_array(name, obj, dtype=None, copy=None, order=None, subok=False, ndmin=0, ndmax=0, like=None,
                  device=None):
    """Return np.array/asarray/asanyarray/ascontiguousarray of a traced obj, honouring each parameter or refusing it."""
    what = f"numpy.{name}"
    if like is not None:
        _refuse_keyword("like", what)
    if device not in (None, "cpu"):
        raise ValueError(f"Device not understood. Only \"cpu\" is allowed, but received: {device}")
    if ndmax:
        _refuse_keyword("ndmax", what)
    if order not in (None, "K", "A", "C", "F"):
        raise ValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    node = node_of(obj)
    if copy is False and dtype is not None and np.dtype(dtype) != node.dtype:
        raise ValueError("Unable to avoid copy while creating an array as requested.")
    node = _convert(node, dtype)
    want = max(int(ndmin), 1 if name == "ascontiguousarray" else 0)
    if node.ndim < want:
        node = apply("reshape", node, shape=(1,) * (want - node.ndim) + node.shape)
    return Tracer(node)


_CONVERTER_PARAMS = {  # the parameters after (object, dtype) each converter accepts, by keyword
    "array": ("copy", "order", "subok", "ndmin", "ndmax", "like"),
    "asarray": ("order", "device", "copy", "like"),
    "asanyarray": ("order", "device", "copy", "like"),
    "ascontiguousarray": ("like",),
}


def _converter(name):
    orig = _ORIG[name]

    def fn(obj, dtype=None, *args, **kwargs):
        if not intercepting():
            if is_traced(obj) and scipy_converting():  # scipy's xp.asarray(x) keeps a traced x
                return Tracer(_convert(node_of(obj), dtype))
            if (tracing_here() and not args and not set(kwargs) - {"copy", "order", "subok"} and is_traced(obj)
                    and (dtype is None or np.dtype(dtype).kind in "fc")):
                # NumPy/SciPy code converting a traced array (a trace buffer holding traced values too):
                # the probe array C code gets from Tracer.__array__, standing for the converted value
                return probe.probe(Tracer(_convert(node_of(obj), dtype)))
            return orig(obj, dtype, *args, **kwargs)
        if is_traced(obj):
            if name == "asarray" and args:
                kwargs = {"order": args[0], **kwargs}
            elif args:
                raise TypeError(f"{name}() takes from 1 to 2 positional arguments but {2 + len(args)} were given")
            bad = [k for k in kwargs if k not in _CONVERTER_PARAMS[name]]
            if bad:
                raise TypeError(f"{name}() got an unexpected keyword argument '{bad[0]}'")
            return _traced_array(name, obj, dtype, **kwargs)
        src = np.ndarray.view(obj, np.ndarray) if isinstance(obj, TraceBuffer) else _unbuffer(obj)
        out = orig(src, dtype, *args, **kwargs)
        if isinstance(obj, TraceBuffer) and out is src:
            return obj  # np.asarray(buffer) is the buffer itself
        return _buffer(out, src)
    fn.__name__ = name
    fn.__doc__ = orig.__doc__
    fn.__wrapped__ = orig
    fn.npdiff_honours = ("dtype",) + tuple(p for p in _CONVERTER_PARAMS[name] if p not in ("like", "ndmax"))
    return fn


def _maker(name):
    orig = _ORIG[name]

    def fn(*args, **kwargs):
        if not (intercepting() or scipy_converting()) or is_traced(args) or is_traced(tuple(kwargs.values())):
            return orig(*args, **kwargs)
        return _buffer(orig(*args, **kwargs))  # scipy's xp.zeros(n) too: it may receive traced values
    fn.__name__ = name
    fn.__doc__ = orig.__doc__
    fn.__wrapped__ = orig
    return fn


def full(shape, fill_value, dtype=None, order="C", **kwargs):
    if not (intercepting() or scipy_converting()) or not is_traced(fill_value):
        out = _ORIG["full"](shape, fill_value, dtype=dtype, order=order, **kwargs)
        return _buffer(out) if intercepting() or scipy_converting() else out
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)
    v = node_of(fill_value)
    if dtype is not None:
        v = _convert(v, dtype)
    elif v.weak:
        v = const(np.asarray(v.value))
    return Tracer(apply("broadcast_to", v, shape=shape))


full.__wrapped__ = _ORIG["full"]
_PATCHES.update({name: _converter(name) for name in ("array", "asarray", "asanyarray", "ascontiguousarray")})
_PATCHES.update({name: _maker(name) for name in ("zeros", "ones", "empty", "zeros_like", "ones_like",
                                                  "empty_like", "full_like", "eye", "identity")})
_PATCHES["full"] = full


# NumPy functions that make a fresh array from constants (they dispatch, so with traced arguments the
# lowerings answer): called from user code while tracing, their result is a trace buffer too, so that
# `Q = np.diag(d); Q[i, j] += q` with q traced is followed like `Q = np.zeros(...)`.
FRESH_RESULTS = ("copy", "diag", "diagflat", "outer", "kron", "concatenate", "hstack", "vstack", "column_stack",
                 "stack", "block", "tile", "repeat", "arange", "linspace", "tri", "triu", "tril")


def _fresh(name):
    orig = getattr(np, name)

    def fn(*args, **kwargs):
        out = orig(*args, **kwargs)
        if not isinstance(out, np.ndarray) or not intercepting() or is_traced(out) or any(
                isinstance(a, np.ndarray) and np.shares_memory(out, a) for a in args):
            return out
        if type(out) is np.ndarray and np.ndarray.base.__get__(out) is None:
            return out.view(TraceBuffer)
        return np.array(np.ndarray.view(out, np.ndarray), copy=True).view(TraceBuffer)  # np.tile: a view
    fn.__name__ = name
    fn.__doc__ = orig.__doc__
    fn.__wrapped__ = orig
    fn.__module__ = getattr(orig, "__module__", None) or "numpy"
    return fn


_PATCHES.update({name: _fresh(name) for name in FRESH_RESULTS if hasattr(np, name)})


def alias_fresh_patches():
    """Let FUNCTIONS[np.diag] (looked up by lowerings while np.diag is patched) find NumPy's lowering."""
    for name in FRESH_RESULTS:
        fn = _PATCHES.get(name)
        if fn is not None and fn.__wrapped__ in FUNCTIONS:
            FUNCTIONS[fn] = FUNCTIONS[fn.__wrapped__]
_FROMBUFFER = np.frombuffer


def frombuffer(buffer, *args, **kwargs):
    """np.frombuffer, refusing an array that holds traced values (its memory is stale)."""
    if is_traced(buffer):
        raise TracingError("np.frombuffer reads the raw memory of an array holding traced values, which is not "
                           "their value.\n  at " + user_frame_description()
                           + "\nUse the array itself (b, b.astype(...), b.reshape(...)).")
    return _FROMBUFFER(buffer, *args, **kwargs)


frombuffer.__wrapped__ = _FROMBUFFER
_PATCHES["frombuffer"] = frombuffer


def _like_shape(x, shape):
    if shape is None:
        return x.shape
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(s) for s in shape)


def _like_checks(order, device):
    if order not in ("K", "A", "C", "F", None):
        raise ValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    if device not in (None, "cpu"):
        raise ValueError(f"Device not understood. Only \"cpu\" is allowed, but received: {device}")


_LIKE = ("dtype", "order", "subok", "shape", "device")  # order/subok/device do not change values


@implements(np.zeros_like, np.empty_like, honours=_LIKE)
def zeros_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    _like_checks(order, device)
    x = node_of(a)
    return Tracer(_zeros(_like_shape(x, shape), np.dtype(dtype) if dtype is not None else x.dtype))


@implements(np.ones_like, honours=_LIKE)
def ones_like(a, dtype=None, order="K", subok=True, shape=None, *, device=None):
    _like_checks(order, device)
    x = node_of(a)
    return Tracer(apply("broadcast_to", const(np.array(1, dtype or x.dtype)), shape=_like_shape(x, shape)))


@implements(np.full_like, honours=_LIKE)
def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    _like_checks(order, device)
    x = node_of(a)
    dt = np.dtype(dtype) if dtype is not None else x.dtype
    v = node_of(fill_value)
    v = const(np.asarray(v.value, dt)) if v.op == "const" else _convert(v, dt)
    return Tracer(apply("broadcast_to", v, shape=_like_shape(x, shape)))


@implements(np.array, np.asarray, np.asanyarray, np.ascontiguousarray, honours=("dtype",))
def _array_dispatch(a, dtype=None, *args, **kwargs):
    """np.array(..., like=tracer): only reached through like=, which is refused by name."""
    return Tracer(_convert(node_of(a), dtype))
