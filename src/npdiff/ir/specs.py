"""Static-parameter languages of primitives: einsum subscripts and index specs (parse, build, shape)."""
from __future__ import annotations

import functools
import string

import numpy as np

LETTERS = string.ascii_lowercase + string.ascii_uppercase


def parse(spec):
    """Return (list of operand subscripts, output subscripts)."""
    ins, out = spec.split("->")
    return ins.split(","), out


def fresh(used, k):
    """Return k letters not in ``used``."""
    free = [c for c in LETTERS if c not in used]
    return "".join(free[:k])


def build_index(entries, arrays):
    """Return the Python index tuple for entries with the given index arrays."""
    out = []
    for e in entries:
        kind = e[0]
        if kind == "i":
            out.append(e[1])
        elif kind == "s":
            start, stop, step = e[1:]
            if step < 0 and stop < 0:
                stop = None
            out.append(slice(start, stop, step))
        elif kind == "n":
            out.append(None)
        else:
            out.append(arrays[e[1]])
    return tuple(out)


def _dummy(shape):
    return np.lib.stride_tricks.as_strided(np.zeros(1, np.int8), shape, (0,) * len(shape))


def _arr_stub(node):
    if node.op == "const":
        return node.value
    return np.zeros(node.shape, node.dtype)


def index_shape(shape, entries, arrays):
    """Return the shape of x[index] for an x of this shape."""
    if not arrays:  # basic indexing: the shape depends on (shape, entries) alone, asked again and again in loops
        return _basic_shape(tuple(shape), tuple(entries))
    return _dummy(shape)[build_index(entries, [_arr_stub(a) for a in arrays])].shape


@functools.lru_cache(maxsize=4096)
def _basic_shape(shape, entries):
    return _dummy(shape)[build_index(entries, [])].shape


def is_basic(entries) -> bool:
    """Return True if no entry is an index array."""
    return all(e[0] != "a" for e in entries)


def full_slices(shape):
    """Return entries selecting every element of axes with these sizes."""
    return tuple(("s", 0, d, 1) for d in shape)
