"""Immutable hash-consed graph nodes and topological ordering: pure data, no operations.

A node is (op, args, params, shape, dtype). Nodes are interned: building the
same node twice returns the same object, so equal subexpressions are shared.
Symbolic zeros are represented by ``None`` wherever a derivative is expected.
"""
from __future__ import annotations

import hashlib
import itertools
import weakref
from types import MappingProxyType
from typing import Iterable

import numpy as np

_table: "weakref.WeakValueDictionary[tuple, Node]" = weakref.WeakValueDictionary()
_counter = itertools.count()
SMALL_CONST = 64  # constants with at most this many elements are hashed by value


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
        return int(np.prod(self.shape, dtype=np.int64))

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
    arr = np.asarray(value)
    if arr.size > SMALL_CONST and arr.dtype.kind in "biufcmM":
        # large arrays: one node per content (two copies of the same data are one constant); our
        # frozen copy is found again by identity without hashing its bytes a second time
        node = _table.get(("const-id", id(arr)))
        if node is not None and node.value is arr:
            return node
        key = ("const-bytes", arr.dtype.str, arr.shape,
               hashlib.blake2b(np.ascontiguousarray(arr).view(np.uint8).reshape(-1), digest_size=32).digest())
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


def _frozen(arr: np.ndarray) -> np.ndarray:
    """Return arr if it is read-only, else a read-only private copy: constants never change."""
    if arr.flags.writeable:
        arr = arr.copy()
        arr.flags.writeable = False
    return arr


def make_input(name: str, shape, dtype) -> Node:
    """Return a fresh input node (never shared)."""
    node = Node("input", (), (("name", name),), tuple(shape), np.dtype(dtype))
    return node


def intern(op: str, args: tuple, params: tuple, shape: tuple, dtype) -> Node:
    """Return the unique node for this operation, creating it if needed."""
    key = (op, tuple(id(a) for a in args), params, shape, dtype)
    node = _table.get(key)
    if node is None:
        node = Node(op, args, params, shape, dtype)
        _table[key] = node
    return node


def toposort(outputs: Iterable[Node], stop: Iterable[Node] = (), args_of=None) -> list[Node]:
    """Return the nodes outputs depend on, each after its arguments.

    Nodes in ``stop`` are leaves; ``args_of(node)`` may restrict which
    arguments are followed (default: all).
    """
    order, seen = [], {id(s) for s in stop}
    stack = [(n, False) for n in outputs if n is not None]
    done = set()
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        if id(node) not in seen:
            for a in reversed(node.args if args_of is None else args_of(node)):
                if id(a) not in done:
                    stack.append((a, False))
    return order


def depends_on(outputs: Iterable[Node], sources: Iterable[Node]) -> set[int]:
    """Return ids of nodes (among outputs' ancestors) that depend on sources."""
    src = {id(s) for s in sources}
    dep = set(src)
    for node in toposort(outputs):
        if id(node) in src or any(id(a) in dep for a in node.args):
            dep.add(id(node))
    return dep
