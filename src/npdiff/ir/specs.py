"""Static-parameter languages of primitives: einsum subscripts and index specs (parse, build, shape, print)."""
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


def format_index(entries, names):
    """Return the source of an index spec (``names``: the index arrays' names), as inside ``x[...]``."""
    parts = []
    for e in entries:
        if e[0] == "i":
            parts.append(str(e[1]))
        elif e[0] == "n":
            parts.append("None")
        elif e[0] == "a":
            parts.append(names[e[1]])
        else:
            start, stop, step = e[1:]
            parts.append(format_slice(start, stop, step))
    while parts and parts[-1] == ":":
        parts.pop()
    return ", ".join(parts) if parts else "..."


def format_index_tuple(entries, names):
    """Return the index as a tuple expression (slices as slice(...)), for calls such as np.add.at."""
    parts = []
    for e in entries:
        if e[0] == "s":
            start, stop, step = e[1:]
            stop = None if step < 0 and stop < 0 else stop
            parts.append(f"slice({start}, {stop}, {step})")
        else:
            parts.append(format_index((e,), names))
    return "(" + "".join(p + ", " for p in parts) + ")"


def format_slice(start, stop, step):
    """Return the source of one slice (``a:b:c``)."""
    if step > 0:
        s = "" if start == 0 else str(start)
        t = "" if stop is None or stop >= BIG_STOP else str(stop)
        return f"{s}:{t}" + ("" if step == 1 else f":{step}")
    s = str(start)
    t = "" if stop < 0 else str(stop)
    return f"{s}:{t}:{step}"


BIG_STOP = 1 << 62


def full_stop(entries, shape):
    """Mark slices that run to the end so the printer can omit their stop."""
    out, axis = [], 0
    for e in entries:
        if e[0] == "s":
            start, stop, step = e[1:]
            if step > 0 and stop == shape[axis]:
                stop = BIG_STOP
            out.append(("s", start, stop, step))
            axis += 1
        elif e[0] == "n":
            out.append(e)
        else:
            out.append(e)
            axis += 1
    return out
