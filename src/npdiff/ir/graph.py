"""Immutable hash-consed graph nodes and topological ordering: pure data, no operations.

A node is (op, args, params, shape, dtype). Nodes are interned: building the
same node twice returns the same object, so equal subexpressions are shared.
Symbolic zeros are represented by ``None`` wherever a derivative is expected.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import threading
import weakref
from collections.abc import Iterable
from types import MappingProxyType

import numpy as np

_table: weakref.WeakValueDictionary[tuple, Node] = weakref.WeakValueDictionary()
_refs = _table.data  # key -> weak reference (read directly by ``intern``, the hot path)
_counter = itertools.count()
SMALL_CONST = 64  # constants with at most this many elements are hashed by value
_local = threading.local()  # .shared: stack of {id: array} of closed-over arrays bound by reference


class Node:
    """One array-valued operation in a graph."""

    __slots__ = ("op", "args", "params", "p", "shape", "dtype", "value", "uid", "__weakref__")

    def __init__(self, op, args, params, shape, dtype, value=None):
        self.op = op
        self.args = args
        self.params = params
        self.p = MappingProxyType(dict(params))  # the params by name (read-only)
        self.shape = shape
        self.dtype = dtype
        self.value = value
        self.uid = next(_counter)

    # -- metadata ---------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def is_const(self) -> bool:
        return self.op == "const"

    @property
    def weak(self) -> bool:
        """True for Python-scalar constants, whose dtype yields to arrays'."""
        return self.op == "const" and not isinstance(self.value, np.ndarray)

    def __repr__(self):
        if self.op == "const":
            return f"const({_short(self.value)})"
        if self.op == "input":
            return f"input({self.p['name']}:{self.shape})"
        return f"{self.op}#{self.uid}{self.shape}"


def _short(v):
    a = np.asarray(v)
    return repr(v) if a.size <= 4 else f"array{a.shape}"


def _const_key(value):
    if isinstance(value, np.ndarray):
        if value.size <= SMALL_CONST:
            return ("const", value.dtype.str, value.shape, value.tobytes())
        return ("const-id", id(value))
    return ("const", type(value).__name__, value)


def const(value) -> Node:
    """Return the interned constant node holding ``value``."""
    if isinstance(value, (bool, int, float, complex)) and not isinstance(value, np.generic):
        key = _const_key(value)
        node = _table.get(key)
        if node is None:
            dt = np.result_type(value)
            node = Node("const", (), (), (), dt, value)
            _table[key] = node
        return node
    if isinstance(value, np.ndarray) and value.size > SMALL_CONST and _is_shared(value):
        return _shared_const(value)
    arr = np.asarray(value)
    if arr.size > SMALL_CONST and arr.dtype.kind in "biufcmM":
        # large arrays: one node per content (two copies of the same data are one constant); our
        # frozen copy is found again by identity without hashing its bytes a second time
        node = _table.get(("const-id", id(arr)))
        if node is not None and node.value is arr:
            return node
        key = ("const-bytes", arr.dtype.str, arr.shape, _digest(arr))
        node = _table.get(key)
        if node is None:
            node = Node("const", (), (), arr.shape, arr.dtype, _frozen(arr))
            _table[key] = node
            _table[("const-id", id(node.value))] = node
        return node
    arr = _frozen(arr)
    key = _const_key(arr)
    node = _table.get(key)
    if node is None:
        node = Node("const", (), (), arr.shape, arr.dtype, arr)
        _table[key] = node
    return node


def _digest(arr: np.ndarray) -> bytes:
    """Return a hash of the array's bytes (content key of large constants)."""
    return hashlib.blake2b(np.ascontiguousarray(arr).view(np.uint8).reshape(-1), digest_size=32).digest()


def _frozen(arr: np.ndarray) -> np.ndarray:
    """Return arr if it is read-only, else a read-only private copy: constants never change."""
    if arr.flags.writeable:
        arr = arr.copy()
        arr.flags.writeable = False
    return arr


def push_shared(arrays) -> None:
    """Bind these arrays (the traced function's closed-over data) by reference, not by copy, on this thread."""
    _local.shared = getattr(_local, "shared", []) + [{id(a): a for a in arrays}]


def pop_shared() -> None:
    """Undo the last ``push_shared`` on this thread."""
    _local.shared = _local.shared[:-1]


def _is_shared(arr) -> bool:
    return any(d.get(id(arr)) is arr for d in getattr(_local, "shared", ()))


def _shared_const(arr: np.ndarray) -> Node:
    """Return the constant node of a closed-over array: a read-only view of it, never a copy.

    Two closed-over arrays with the same content are one constant: the content key is only a hint,
    confirmed by comparing the data (a closed-over array may have changed since it was hashed).
    """
    key = ("const-ref", id(arr))
    node = _table.get(key)
    if node is not None:  # the same memory, layout and dtype (the id may have been reused)
        v = node.value
        if (v.__array_interface__["data"][0] == arr.__array_interface__["data"][0] and v.shape == arr.shape
                and v.strides == arr.strides and v.dtype == arr.dtype):
            return node
    ckey = ("const-bytes", arr.dtype.str, arr.shape, _digest(arr)) if arr.dtype.kind in "biufcmM" else None
    node = _table.get(ckey) if ckey is not None else None
    if node is None or not np.array_equal(node.value, arr):
        view = arr.view(np.ndarray)
        view.flags.writeable = False
        node = Node("const", (), (), view.shape, view.dtype, view)
        if ckey is not None:
            _table[ckey] = node
    _table[key] = node
    return node


def broadcast_shapes(*shapes: tuple) -> tuple:
    """Return the NumPy broadcast of shapes (as ``np.broadcast_shapes``, without allocating)."""
    first = shapes[0] if shapes else ()
    for s in shapes:
        if s != first:
            break
    else:
        return tuple(first)
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for s in shapes:
        off = ndim - len(s)
        for i, d in enumerate(s):
            o = out[off + i]
            if d != o:
                if o == 1:
                    out[off + i] = d
                elif d != 1:
                    raise ValueError(f"shape mismatch: objects cannot be broadcast to a single shape: "
                                     f"{', '.join(map(str, shapes))}")
    return tuple(out)


def make_input(name: str, shape, dtype) -> Node:
    """Return a fresh input node (never shared)."""
    node = Node("input", (), (("name", name),), tuple(shape), np.dtype(dtype))
    return node


def intern(op: str, args: tuple, params: tuple, shape: tuple, dtype) -> Node:
    """Return the unique node for this operation, creating it if needed."""
    key = (op, tuple(map(id, args)), params, shape, dtype)
    ref = _refs.get(key)  # the table's own dict of weak references: one Python call less per lookup
    if ref is not None:
        node = ref()
        if node is not None:
            return node
    node = Node(op, args, params, shape, dtype)
    _table[key] = node
    return node


def toposort(outputs: Iterable[Node], stop: Iterable[Node] = (), args_of=None) -> list[Node]:
    """Return the nodes outputs depend on, each after its arguments.

    Nodes in ``stop`` are leaves; ``args_of(node)`` may restrict which
    arguments are followed (default: all). Iterative (no recursion limit) and
    linear in the number of nodes; arguments are visited left to right.
    """
    order: list[Node] = []
    append = order.append
    stopped = set(stop)  # nodes hash by identity
    seen: set[Node] = set()
    add = seen.add
    plain = args_of is None
    for root in outputs:
        if root is None or root in seen:
            continue
        add(root)
        stack = [(root, iter(() if root in stopped else root.args if plain else args_of(root)))]
        push, top = stack.append, stack.pop
        while stack:
            node, it = stack[-1]
            for a in it:
                if a not in seen:
                    add(a)
                    push((a, iter(() if a in stopped else a.args if plain else args_of(a))))
                    break
            else:
                top()
                append(node)
    return order


def at_most(outputs: Iterable[Node], limit: int) -> bool:
    """Return True if outputs depend on at most ``limit`` nodes (stops counting past the limit)."""
    seen: set[Node] = set()
    stack = [o for o in outputs if o is not None]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            if len(seen) > limit:
                return False
            stack.extend(node.args)
    return True


def depends_on(outputs: Iterable[Node], sources: Iterable[Node]) -> set[int]:
    """Return ids of nodes (among outputs' ancestors) that depend on sources."""
    src = {id(s) for s in sources}
    dep = set(src)
    for node in toposort(outputs):
        if id(node) in src or any(id(a) in dep for a in node.args):
            dep.add(id(node))
    return dep
