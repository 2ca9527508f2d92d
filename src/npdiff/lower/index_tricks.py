"""``np.r_[...]`` and ``np.c_[...]`` with traced parts, lowered onto concatenate.

They are index-tricks objects, not functions, so ``tracing()`` swaps them (on
the tracing thread, for user code) for objects whose ``__getitem__`` lowers
traced parts and hands anything else to NumPy's. The result's shape and dtype
are checked against NumPy's own answer on placeholder arrays; string
directives (``np.r_['0,2', ...]``) are refused.
"""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedOperationError, user_frame_description
from ..ir.graph import const
from ..primitives import apply
from ..tracing.tracer import _ORIG, _PATCHES, Tracer, intercepting, is_traced, node_of


class _Concatenator:
    """Stands for np.r_ / np.c_ while tracing."""

    def __init__(self, original, name):
        self._original, self._name = original, name

    def __getitem__(self, key):
        if not intercepting() or not is_traced(key):
            return self._original[key]
        return Tracer(_lower(self._original, self._name, key if isinstance(key, tuple) else (key,)))

    def __len__(self):
        return len(self._original)

    def __getattr__(self, name):
        return getattr(self._original, name)


def _lower(original, name, items):
    parts, probe = [], []
    for it in items:
        if isinstance(it, str):
            raise UnsupportedOperationError(f"np.{name}[...] with a string directive ({it!r}) and traced parts; "
                                            f"use np.concatenate / np.stack (at {user_frame_description()})")
        if isinstance(it, slice):
            value = original[it]
            parts.append(const(value))
            probe.append(it)
        elif is_traced(it):
            node = node_of(it)
            parts.append(node)
            probe.append(_ORIG["zeros"](node.shape, node.dtype))
        else:
            parts.append(node_of(it))
            probe.append(it)
    expected = original[tuple(probe)]
    out = []
    for p in parts:
        if p.weak:
            p = const(np.asarray(p.value))
        if name == "r_":
            p = apply("reshape", p, shape=(1,)) if p.ndim == 0 else p
        else:
            p = apply("reshape", p, shape=(p.size, 1) if p.ndim < 2 else p.shape)
        if p.dtype != expected.dtype:
            p = apply("convert", p, dtype=expected.dtype)
        out.append(p)
    try:
        node = apply("concatenate", *out, axis=0 if name == "r_" else out[0].ndim - 1)
    except (ValueError, IndexError) as e:
        raise ValueError(f"np.{name}[...]: {e}") from None
    if node.shape != expected.shape:
        raise UnsupportedOperationError(f"np.{name}[...] with these traced parts (at {user_frame_description()}); "
                                        "use np.concatenate / np.stack")
    return node


_PATCHES["r_"] = _Concatenator(_ORIG["r_"], "r_")
_PATCHES["c_"] = _Concatenator(_ORIG["c_"], "c_")
