"""Minimal pytrees: nested tuples, lists, dicts, namedtuples and registered classes with array leaves.

A structure is a hashable nested tuple: ``("leaf",)``, ``("none",)``,
``("tuple", children)``, ``("list", children)``, ``("dict", keys, children)``,
``("namedtuple", cls, children)`` or ``("node", cls, aux, children)`` for a
class registered with ``register_node`` (its ``aux`` data must be hashable);
two trees with the same leaf shapes but other keys or container types have
different structures.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

LEAF = ("leaf",)

# class -> (flatten(obj) -> (children, aux), unflatten(aux, children) -> obj)
NODES: dict[type, tuple[Callable, Callable]] = {}


def register_node(cls: type, flatten: Callable, unflatten: Callable) -> None:
    """Register cls as a pytree node: flatten(obj) -> (children, aux); unflatten(aux, children) -> obj."""
    if not isinstance(cls, type):
        raise TypeError(f"register_pytree_node: expected a class, got {cls!r}")
    if cls in (tuple, list, dict, type(None)):
        raise ValueError(f"register_pytree_node: {cls.__name__} is already a pytree node")
    NODES[cls] = (flatten, unflatten)


def is_node(x) -> bool:
    """Return True if x is an instance of a registered pytree node class."""
    return x.__class__ in NODES


def tree_flatten(tree, is_leaf: Callable | None = None) -> tuple[list, Any]:
    """Return (leaves, structure) of a nested tuple/list/dict/namedtuple (``is_leaf(x)``: keep x whole)."""
    leaves: list = []

    def rec(t):
        if is_leaf is not None and is_leaf(t):
            leaves.append(t)
            return LEAF
        node = NODES.get(t.__class__)
        if node is not None:
            kids, aux = node[0](t)
            return ("node", t.__class__, aux, tuple(rec(e) for e in kids))
        if isinstance(t, tuple) and hasattr(t, "_fields"):  # a namedtuple: a node, not a leaf
            return ("namedtuple", type(t), tuple(rec(e) for e in t))
        if isinstance(t, tuple):
            return ("tuple", tuple(rec(e) for e in t))
        if isinstance(t, list):
            return ("list", tuple(rec(e) for e in t))
        if isinstance(t, dict):
            keys = tuple(t.keys())
            return ("dict", keys, tuple(rec(t[k]) for k in keys))
        if t is None:
            return ("none",)
        leaves.append(t)
        return LEAF

    return leaves, rec(tree)


def tree_unflatten(structure, leaves) -> Any:
    """Return the tree of ``structure`` with leaves taken in order."""
    it = iter(leaves)

    def rec(s):
        kind = s[0]
        if kind == "leaf":
            return next(it)
        if kind == "none":
            return None
        if kind == "tuple":
            return tuple(rec(e) for e in s[1])
        if kind == "namedtuple":
            return s[1](*[rec(e) for e in s[2]])
        if kind == "node":
            return NODES[s[1]][1](s[2], [rec(e) for e in s[3]])
        if kind == "list":
            return [rec(e) for e in s[1]]
        return {k: rec(e) for k, e in zip(s[1], s[2])}

    return rec(structure)


def tree_map(fn: Callable, tree) -> Any:
    """Return tree with fn applied to every leaf."""
    leaves, s = tree_flatten(tree)
    return tree_unflatten(s, [fn(x) for x in leaves])


def children(structure) -> tuple:
    """Return the child structures of a container structure (none for a leaf or None)."""
    kind = structure[0]
    if kind in ("tuple", "list"):
        return structure[1]
    if kind in ("dict", "namedtuple"):
        return structure[2]
    if kind == "node":
        return structure[3]
    return ()


def num_leaves(structure) -> int:
    """Return the number of leaves of a structure."""
    if structure[0] == "leaf":
        return 1
    return sum(num_leaves(c) for c in children(structure))


def tree_paths(structure) -> list[tuple]:
    """Return, per leaf, its path: a tuple of dict keys, sequence indices and namedtuple field names."""
    out: list = []

    def rec(s, path):
        kind = s[0]
        if kind == "leaf":
            out.append(path)
        elif kind in ("tuple", "list", "node"):
            for i, c in enumerate(children(s)):
                rec(c, path + (i,))
        elif kind == "dict":
            for k, c in zip(s[1], s[2]):
                rec(c, path + (k,))
        elif kind == "namedtuple":
            for f, c in zip(s[1]._fields, s[2]):
                rec(c, path + (f,))

    rec(structure, ())
    return out


def has_namedtuple(structure) -> bool:
    """Return True if the structure holds a namedtuple or a registered node anywhere (generated code returns tuples)."""
    return structure[0] in ("namedtuple", "node") or any(has_namedtuple(c) for c in children(structure))


def plain_structure(structure):
    """Return the structure with every namedtuple or registered node replaced by a tuple (what generated code returns)."""
    kind = structure[0]
    if kind in ("namedtuple", "node"):
        return ("tuple", tuple(plain_structure(c) for c in children(structure)))
    if kind in ("tuple", "list"):
        return (kind, tuple(plain_structure(c) for c in structure[1]))
    if kind == "dict":
        return ("dict", structure[1], tuple(plain_structure(c) for c in structure[2]))
    return structure


def restore(tree, structure):
    """Return tree (as generated code returns it: namedtuples as tuples) rebuilt with ``structure``'s containers."""
    kind = structure[0]
    if kind in ("leaf", "none"):
        return tree
    if kind == "namedtuple":
        return structure[1](*[restore(e, c) for e, c in zip(tree, structure[2])])
    if kind == "node":
        return NODES[structure[1]][1](structure[2], [restore(e, c) for e, c in zip(tree, structure[3])])
    if kind == "tuple":
        return tuple(restore(e, c) for e, c in zip(tree, structure[1]))
    if kind == "list":
        return [restore(e, c) for e, c in zip(tree, structure[1])]
    return {k: restore(tree[k], c) for k, c in zip(structure[1], structure[2])}
