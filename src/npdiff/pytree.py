"""Minimal pytrees: nested tuples, lists and dicts with array leaves."""
from __future__ import annotations

from typing import Any, Callable


def tree_flatten(tree) -> tuple[list, Any]:
    """Return (leaves, structure) of a nested tuple/list/dict."""
    leaves: list = []

    def rec(t):
        if isinstance(t, tuple) and hasattr(t, "_fields"):  # a namedtuple: a node, not a leaf
            return ("namedtuple", type(t), [rec(e) for e in t])
        if isinstance(t, tuple):
            return ("tuple", [rec(e) for e in t])
        if isinstance(t, list):
            return ("list", [rec(e) for e in t])
        if isinstance(t, dict):
            keys = list(t.keys())
            return ("dict", keys, [rec(t[k]) for k in keys])
        if t is None:
            return ("none",)
        leaves.append(t)
        return ("leaf",)

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
        if kind == "list":
            return [rec(e) for e in s[1]]
        return {k: rec(e) for k, e in zip(s[1], s[2])}

    return rec(structure)


def tree_map(fn: Callable, tree) -> Any:
    """Return tree with fn applied to every leaf."""
    leaves, s = tree_flatten(tree)
    return tree_unflatten(s, [fn(x) for x in leaves])
