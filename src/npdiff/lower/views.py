"""Memory-layout idioms on traced arrays: ``np.require``, ``x.flat``, ``x.strides``, ``x.flags``,
``np.lib.stride_tricks.as_strided`` and ``sliding_window_view``.

A traced array has no memory; it stands for a C-contiguous array of its shape and dtype (what the
generated code computes), so ``x.strides`` are C strides, ``x.flags`` say contiguous, aligned,
writeable and owning its data. ``as_strided`` reads that layout: each output element's byte offset
``sum(i_k * strides_k)`` names one element of ``x.ravel()``, so the result is a gather with a
constant index array (its derivative scatters back, adding overlapping windows), and offsets outside
the array, or not on an element boundary, are refused (NumPy would read foreign memory).
"""
from __future__ import annotations

import numpy as np
from numpy.lib import stride_tricks as _st

from ..errors import UnsupportedOperationError, user_frame_description
from ..ir.graph import const
from ..primitives import apply
from ..tracing.tracer import EXTRA_PATCHES, METHODS, Tracer, implements, intercepting, is_traced
from ._common import N, W


def c_strides(shape, itemsize: int) -> tuple:
    """Return the byte strides of a C-contiguous array of this shape and item size."""
    out, step = [], itemsize
    for d in reversed(shape):
        out.append(step)
        step *= max(int(d), 1)
    return tuple(reversed(out))


class TracedFlags:
    """The ``flags`` of a traced array: those of a fresh C-contiguous array of its shape."""

    _KEYS = {"C": "c_contiguous", "F": "f_contiguous", "W": "writeable", "A": "aligned", "O": "owndata",
             "X": "writebackifcopy", "CONTIGUOUS": "c_contiguous", "FORTRAN": "f_contiguous"}

    def __init__(self, shape):
        self.c_contiguous = True
        self.f_contiguous = sum(d > 1 for d in shape) <= 1 or 0 in shape
        self.contiguous, self.fortran = self.c_contiguous, self.f_contiguous
        self.writeable = self.aligned = self.owndata = True
        self.writebackifcopy = False
        self.behaved = self.carray = True
        self.farray = self.f_contiguous and not self.c_contiguous
        self.fnc = self.farray
        self.forc = True
        self.num = 0

    def __getitem__(self, key: str) -> bool:
        k = key.upper()
        name = self._KEYS.get(k, k.lower())
        if not hasattr(self, name):
            raise KeyError("Unknown flag")
        return getattr(self, name)

    def __repr__(self):
        return "\n".join(f"  {k.upper()} : {getattr(self, k)}" for k in
                         ("c_contiguous", "f_contiguous", "owndata", "writeable", "aligned", "writebackifcopy"))


Tracer.strides = property(lambda self: c_strides(self.shape, self.dtype.itemsize))
Tracer.flags = property(lambda self: TracedFlags(self.shape))
Tracer.itemsize = property(lambda self: self.dtype.itemsize)
Tracer.nbytes = property(lambda self: self.size * self.dtype.itemsize)


class FlatIter:
    """``x.flat`` of a traced array: reads and writes in C order through ``x.reshape(-1)``."""

    def __init__(self, base: Tracer):
        self.base = base

    def __len__(self):
        return self.base.size

    def __iter__(self):
        flat = W(apply("reshape", N(self.base), shape=(self.base.size,)))
        return (flat[i] for i in range(self.base.size))

    def __getitem__(self, index):
        flat = W(apply("reshape", N(self.base), shape=(self.base.size,)))
        return flat[index]

    def __setitem__(self, index, value):
        x = N(self.base)
        flat = W(apply("reshape", x, shape=(x.size,)))
        flat[index] = value
        self.base[...] = W(apply("reshape", N(flat), shape=x.shape))

    def copy(self):
        """Return a flattened copy (``x.flat.copy()``)."""
        return W(apply("reshape", N(self.base), shape=(self.base.size,)))

    def __array_function__(self, func, types, args, kwargs):  # np.sum(x.flat) and friends
        args = tuple(self.copy() if a is self else a for a in args)
        return func(*args, **kwargs)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(self.copy() if a is self else a for a in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)


Tracer.flat = property(FlatIter)


def _require(a, dtype=None, requirements=None, *, like=None):
    """Return a traced array as np.require does: converted to dtype; layout requirements hold already."""
    reqs = {str(r).upper() for r in (requirements or ())}
    known = {"C", "C_CONTIGUOUS", "CONTIGUOUS", "F", "F_CONTIGUOUS", "FORTRAN", "A", "ALIGNED",
             "W", "WRITEABLE", "O", "OWNDATA", "E", "ENSUREARRAY"}
    if reqs - known:
        raise KeyError(f"Unknown requirement(s): {sorted(reqs - known)}")
    x = a if isinstance(a, Tracer) else W(N(a))
    if dtype is not None and np.dtype(dtype) != x.dtype:
        x = METHODS["astype"](x, dtype)
    return x


def _require_patch(original):
    def require(a, dtype=None, requirements=None, *, like=None):
        if intercepting() and is_traced(a):
            return _require(a, dtype, requirements)
        return original(a, dtype, requirements, like=like) if like is not None else original(a, dtype, requirements)
    require.__name__, require.__doc__, require.__wrapped__ = "require", original.__doc__, original
    return require


def as_strided(x, shape=None, strides=None, subok=False, writeable=True):
    """Return as_strided of a traced array as a gather with constant element offsets."""
    node = N(x)
    item = node.dtype.itemsize
    shape = tuple(node.shape if shape is None else (int(s) for s in shape))
    strides = c_strides(node.shape, item) if strides is None else tuple(int(s) for s in strides)
    if len(strides) != len(shape):
        raise ValueError("mismatch in length of strides and shape")
    offset = np.zeros(shape, dtype=np.int64)
    for k, (n, s) in enumerate(zip(shape, strides)):
        ax = [1] * len(shape)
        ax[k] = n
        offset = offset + (np.arange(n, dtype=np.int64) * s).reshape(ax)
    where = f"numpy.lib.stride_tricks.as_strided (at {user_frame_description()})"
    if offset.size and (np.any(offset % item) or offset.min() < 0 or offset.max() >= node.size * item):
        raise UnsupportedOperationError(
            f"{where}: the strides {strides} reach outside the traced array of shape {node.shape} (read as "
            f"C-contiguous with strides {c_strides(node.shape, item)}) or between its elements; npdiff "
            f"reads only its elements. Use sliding_window_view, or strides built from x.strides.")
    flat = apply("reshape", node, shape=(node.size,))
    return W(apply("gather", flat, const(offset // item), index=(("a", 0),)))


def _as_strided_patch(original):
    def patched(x, shape=None, strides=None, subok=False, writeable=True):
        if intercepting() and is_traced(x):
            return as_strided(x, shape, strides, subok, writeable)
        return original(x, shape, strides, subok, writeable)
    patched.__name__, patched.__doc__, patched.__wrapped__ = "as_strided", original.__doc__, original
    return patched


@implements(_st.sliding_window_view, honours=("axis", "subok", "writeable"))
def sliding_window_view(x, window_shape, axis=None, *, subok=False, writeable=False):
    """Return the sliding windows of a traced array: a gather with the window indices as constants."""
    node = N(x)
    idx = np.arange(node.size, dtype=np.int64).reshape(node.shape)
    windows = np.ascontiguousarray(_st.sliding_window_view(idx, window_shape, axis=axis))
    flat = apply("reshape", node, shape=(node.size,))
    return W(apply("gather", flat, const(windows), index=(("a", 0),)))


EXTRA_PATCHES.append((np, "require", _require_patch(np.require)))
EXTRA_PATCHES.append((_st, "as_strided", _as_strided_patch(_st.as_strided)))
